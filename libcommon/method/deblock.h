/* deblock.h - a classical deblocking filter for JPEG-compressed images,
 * the baseline a learned JPEG restorer is compared with.
 *
 * JPEG codes 8 x 8 blocks apart, so its artefacts are steps at the
 * blocks' edges.  Across every edge between two blocks (columns 8k-1 and
 * 8k, then rows the same way, on the result), a step d = q0 - p0 between
 * the pixels either side (p1 p0 | q0 q1) smaller than the threshold T is
 * taken for an artefact and smoothed,
 *
 *   p0 <- (p1 + 2 p0 + q0) / 4,   q0 <- (p0 + 2 q0 + q1) / 4,
 *
 * from the values before the pass; a larger step is taken for a real edge
 * of the image and kept.  Channels are filtered alone.  At the image's
 * border a missing p1 or q1 is the pixel itself. */
#ifndef DEBLOCK_H
#define DEBLOCK_H

#include "formats/tz.h"

/* x (C, H, W) = y filtered with threshold t; x may not alias y; tmp holds
 * H W floats. */
void dbk_filter(const float *y, int C, int H, int W, double t, float *x, float *tmp);

/* A batch record's f32 images `y` ((n, C, H, W) or (n, H, W)) filtered into
 * the new field `x`.  0; ERR_DATA (not images, x already there),
 * ERR_NUMERIC (NaN or Inf, naming the sample), ERR_IO. */
int dbk_restore_record(tz_record *rec, const char *y, const char *x, double t);

#endif
