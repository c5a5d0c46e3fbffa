/* classifier.h - the image classifier (nn/cnn.h) as a model: trained on
 * labelled images (labelled.h), saved as one tensor-stream record, and
 * applied to streams: its logits, or its penultimate layer, the features
 * fid compares (issue 15).
 *
 * A model file holds the parameters and, as attributes (mattr.h), the
 * architecture, the fields it was trained on, the optimiser settings, the
 * seed and the steps taken.  It holds no optimiser moments: a trained
 * classifier is applied, not resumed. */
#ifndef CLASSIFIER_H
#define CLASSIFIER_H

#include <stdint.h>

#include "method/model.h"       /* MODEL_NAME_MAX */
#include "nn/cnn.h"
#include "nn/opt.h"

typedef struct {
    cnn net;
    opt_config oc;
    opt_state os;           /* clf_create's; empty in a loaded model */
    uint64_t seed;          /* the initialisation's and the batches' */
    int batch;              /* samples per training step */
    double loss_avg;        /* running average of the training loss, or NaN */
    char x[MODEL_NAME_MAX], label[MODEL_NAME_MAX];    /* the fields trained on */
    float *logits;          /* clf_step's logits and their gradient (2 cap K) */
    int cap;                /* the batch they fit */
} clf_model;

/* A new model: the network of c initialised from m->seed, AdamW's moments
 * zero.  The caller fills the other fields first.  0 or ERR_*. */
int clf_create(clf_model *m, const cnn_config *c);
void clf_free(clf_model *m);

/* One AdamW step (m->oc; the step's learning rate from its schedule) on
 * the batch x (B, C, H, W) with labels y.  Returns the mean cross-entropy
 * before the step, or ERR_IO (out of memory) as a negative number. */
double clf_step(clf_model *m, const float *x, const int32_t *y, int B);

/* Write m to path atomically ("-": standard output).  0 or ERR_*. */
int clf_save(const clf_model *m, const char *path, int level);
/* Read a classifier's model file: every attribute checked, and the
 * parameter count against the tensor, before anything is allocated.  0 or
 * ERR_* (the message names the file). */
int clf_load(clf_model *m, const char *path);

/* The network sees blocks of CLF_BLOCK rows, and the stream's sample g
 * sits at row g mod CLF_BLOCK of its block, whatever the record sizes, as
 * the transport's (si.c says why): so a sample's features and logits do
 * not depend on how its stream was batched. */
enum { CLF_BLOCK = 64 };

/* The features (n, F) and the logits (n, K) of the images x (n, C, H, W),
 * the first of which is the stream's sample `first`; feat or logits may
 * be NULL (not wanted).  0 or ERR_IO. */
int clf_apply(clf_model *m, const float *x, uint64_t n, uint64_t first, float *feat,
              float *logits);

#endif
