/* labelled.h - labelled images from tensor streams, for the classifier
 * (classifier.h): the checks each record's fields get, the training set
 * held in memory, and its seeded batches.
 *
 * Images are an f32 field of shape (N, C, H, W); labels an integer field
 * of shape (N) (any dtype holding whole numbers: tzdata writes i32,
 * tzimport u8 or i64) with values in [0, K).  Training step k draws its
 * batch uniformly from the whole set with rng keys (seed, k), so the
 * batches do not depend on how the input was cut into records. */
#ifndef LABELLED_H
#define LABELLED_H

#include <stddef.h>
#include <stdint.h>

#include "formats/batch.h"
#include "formats/tz.h"

/* 0, or ERR_DATA naming `where` and the field if t is not an f32 field of
 * images (N, C, H, W), or, if chw is not NULL, not of that (C, H, W),
 * which the message gives after `whose` ("the classifier takes"). */
int lab_check_images(const tz_tensor *t, const int chw[3], const char *whose,
                     const char *where);

/* The n labels of rec's field `field` as int32 into y.  0, or ERR_DATA
 * naming `where`: no such field, not of shape (n), not whole numbers, or
 * a label outside [0, K) (the message names the sample and the value). */
int lab_labels(const tz_record *rec, const char *field, uint64_t n, int K, int32_t *y,
               const char *where);

typedef struct {
    batch_acc acc;          /* fields: the images, the labels as i32 */
    uint64_t n;             /* samples */
    int chw[3];             /* the images' shape */
    size_t d;               /* values per image */
    const float *x;         /* (n, d), in acc */
    const int32_t *y;       /* (n), in acc */
} lab_set;

/* Read the batch records of files (nfiles; none: standard input) into s:
 * the images of field xf and the labels of field yf, checked as above
 * (labels in [0, K)), the images of one shape throughout.  0, or ERR_DATA
 * / ERR_IO with the message naming the file and record (s then holds
 * nothing).  On success the caller frees s with lab_free. */
int lab_load(lab_set *s, char *const *files, int nfiles, const char *xf, const char *yf,
             int K);
void lab_free(lab_set *s);

/* x (B, d) and y (B): the batch of training step k, B uniform draws from
 * s by rng keys (seed, k). */
void lab_draw(const lab_set *s, uint64_t seed, uint64_t k, int B, float *x, int32_t *y);

#endif
