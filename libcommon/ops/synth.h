/* synth.h - synthetic data sets with known distributions.
 *
 * Every sample is a function of (seed, sample index) alone, through rng.h,
 * so a data set is the same whatever the batching.  Two moons follow
 * scikit-learn's make_moons (evenly spaced angles, shuffled, then noise),
 * or, with synth_moons_iid, draw each point's moon and angle at random;
 * the others draw each sample independently. */
#ifndef SYNTH_H
#define SYNTH_H

#include <stdint.h>

/* rng streams (purposes) used here; other modules use other numbers. */
enum { SYNTH_RNG_SAMPLE = 0x5301, SYNTH_RNG_SHUFFLE, SYNTH_RNG_ROTATION };

/* Two interleaving half circles: n points into xy (n x 2) and label (n),
 * Gaussian noise of std noise, then xy = scale * (xy + shift).  0, or
 * ERR_IO when out of memory. */
int synth_moons(uint64_t n, double noise, double shift, double scale,
                 uint64_t seed, float *xy, int32_t *label);

/* Sample index of the i.i.d. two moons: the moon (label) 0 or 1 with
 * probability 1/2 each, the angle uniform on [0, pi], then the noise, shift
 * and scale of synth_moons.  The law make_moons' grid stands for, without
 * the grid: two draws of any sizes are independent samples of it. */
void synth_moons_iid(double noise, double shift, double scale, uint64_t seed,
                     uint64_t index, float *xy, int32_t *label);

/* Sample index of a mixture of k equal-weight isotropic Gaussians of std
 * std whose means sit evenly on a circle of the given radius. */
void synth_gmm(int k, double radius, double std, uint64_t seed,
               uint64_t index, float *xy, int32_t *label);

/* Sample index of the uniform distribution on the 8 black squares of a
 * 4x4 checkerboard covering [-2, 2]^2, times scale; label is the square. */
void synth_checkerboard(double scale, uint64_t seed, uint64_t index,
                        float *xy, int32_t *label);

#define SYNTH_GAUSS_DIM_MAX 4096

/* N(mu, Sigma) in d dimensions with Sigma = U diag(eig) U^T, U a random
 * rotation drawn from seed (or the identity). */
typedef struct {
    int d;
    double *mu;     /* d */
    double *eig;    /* d */
    double *rot;    /* d x d, row-major; columns are eigenvectors */
} synth_gauss;

/* Owns copies of mu and eig.  0 or ERR_*. */
int synth_gauss_init(synth_gauss *g, int d, const double *mu,
                     const double *eig, int rotate, uint64_t seed);
void synth_gauss_free(synth_gauss *g);
/* x = mu + U diag(sqrt(eig)) z for the sample's z.  x has d entries. */
void synth_gauss_sample(const synth_gauss *g, uint64_t seed, uint64_t index,
                        float *x);
/* Sigma into cov (d x d, row-major). */
void synth_gauss_cov(const synth_gauss *g, double *cov);

/* Parse a spectrum of d eigenvalues: "v1,v2,...,vd", "const:A",
 * "geom:A:B" (geometric from A to B) or "linear:A:B".  All must be > 0.
 * 0 or ERR_USAGE. */
int synth_parse_spectrum(const char *spec, int d, double *eig);

#endif
