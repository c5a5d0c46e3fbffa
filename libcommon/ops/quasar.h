/* quasar.h - synthetic quasar spectra: the clean data of the 1-D
 * experiment (issue 17), standing in for SDSS spectra at 2.75 < z < 3.25.
 *
 * A spectrum is QSO_PIXELS fluxes on a logarithmic grid of observed
 * wavelengths from QSO_LAMBDA_MIN to QSO_LAMBDA_MAX Angstrom (one octave:
 * pixel j at QSO_LAMBDA_MIN 2^(j / (QSO_PIXELS - 1)), 203 km/s a pixel).
 * In the quasar's rest frame, lambda_r = lambda / (1 + z):
 *
 *   f(lambda) = [ C(lambda_r) + sum_l EW_l C(lambda_l) g_l(lambda_r) ] T(lambda)
 *
 *   C(lambda_r) = A (lambda_r / 1450)^alpha        the power-law continuum
 *   g_l          a Gaussian in ln lambda_r about the line's rest wavelength
 *                lambda_l, of the line's FWHM in velocity, unit area in
 *                lambda_r: EW_l is the line's rest equivalent width
 *   T(lambda)    = exp(-sum_k tau_k exp(-(v_k / b_k)^2)): the Lyman-alpha
 *                forest, absorbers k at redshifts z_k < z, v_k = c ln(lambda
 *                / (1215.67 (1 + z_k))) the velocity offset from absorber k
 *
 * The parameters' distributions, drawn per spectrum (QSO_* below and the
 * table qso_lines; tzdata(1) documents them):
 *
 *   z      uniform on [QSO_Z_MIN, QSO_Z_MAX]
 *   A      log-uniform on [QSO_AMP_MIN, QSO_AMP_MAX]
 *   alpha  uniform on [QSO_SLOPE_MIN, QSO_SLOPE_MAX]  (F_lambda's index)
 *   V      log-uniform on [QSO_FWHM_MIN, QSO_FWHM_MAX] km/s, the broad-line
 *          region's velocity; line l's FWHM is V times its own factor,
 *          uniform on [QSO_FWHM_RATIO_MIN, QSO_FWHM_RATIO_MAX]
 *   EW_l   the line's typical EW times a factor uniform on
 *          [QSO_EW_RATIO_MIN, QSO_EW_RATIO_MAX]
 *   forest Poisson(QSO_FOREST_DENSITY (z - z_lo)) absorbers, z_lo the
 *          redshift whose Lyman alpha falls QSO_FOREST_MARGIN km/s below
 *          the grid's first pixel; each with z_k uniform on (z_lo, z),
 *          tau_k log-uniform on [QSO_TAU_MIN, QSO_TAU_MAX], b_k uniform on
 *          [QSO_B_MIN, QSO_B_MAX] km/s
 *
 * Every draw of spectrum `index` comes from rng keys (seed,
 * QSO_RNG_SAMPLE, index) alone: a spectrum does not depend on how many
 * are made, nor on the batching or the threads.  Arithmetic in double,
 * the fluxes rounded to float last. */
#ifndef QUASAR_H
#define QUASAR_H

#include <stdint.h>

#define QSO_PIXELS 1024
#define QSO_LAMBDA_MIN 3600.0
#define QSO_LAMBDA_MAX 7200.0
#define QSO_C_KMS 299792.458            /* the speed of light, km/s */
#define QSO_LYA 1215.67                 /* Lyman alpha, rest Angstrom */

#define QSO_Z_MIN 2.75
#define QSO_Z_MAX 3.25
#define QSO_AMP_MIN 0.5
#define QSO_AMP_MAX 2.0
#define QSO_SLOPE_MIN -2.0
#define QSO_SLOPE_MAX -1.0
#define QSO_FWHM_MIN 2000.0
#define QSO_FWHM_MAX 8000.0
#define QSO_FWHM_RATIO_MIN 0.8
#define QSO_FWHM_RATIO_MAX 1.25
#define QSO_EW_RATIO_MIN 0.5
#define QSO_EW_RATIO_MAX 1.5
#define QSO_FOREST_DENSITY 100.0        /* absorbers per unit redshift */
#define QSO_FOREST_MARGIN 2000.0        /* km/s */
#define QSO_TAU_MIN 0.05
#define QSO_TAU_MAX 5.0
#define QSO_B_MIN 150.0
#define QSO_B_MAX 350.0

/* rng purpose of a spectrum's draws (synth.h's numbers are 0x5301..). */
enum { QSO_RNG_SAMPLE = 0x5310 };

enum { QSO_LYA_LINE, QSO_NV, QSO_SIIV, QSO_CIV, QSO_CIII, QSO_MGII, QSO_NLINES };

typedef struct {
    const char *name;
    double rest;        /* rest wavelength, Angstrom */
    double ew;          /* typical rest equivalent width, Angstrom */
} qso_line;

/* The broad emission lines, indexed by the enum above. */
extern const qso_line qso_lines[QSO_NLINES];

/* What a spectrum was drawn with. */
typedef struct {
    double z, amp, slope;
    double fwhm[QSO_NLINES];    /* km/s */
    double ew[QSO_NLINES];      /* rest Angstrom */
    int absorbers;              /* in the forest */
} qso_info;

/* The observed wavelength of pixel j (Angstrom). */
double qso_lambda(int j);

/* Spectrum `index` of `seed` into flux (QSO_PIXELS floats); its
 * parameters into info (may be NULL).  No allocation, no failure. */
void qso_sample(uint64_t seed, uint64_t index, float *flux, qso_info *info);

#endif
