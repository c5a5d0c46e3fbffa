/* quasar.c - synthetic quasar spectra; see quasar.h.
 *
 * The typical equivalent widths are of the order of those of the SDSS
 * composite quasar (Vanden Berk et al. 2001, AJ 122, 549, table 2), whose
 * continuum index alpha_lambda is -1.56, inside the range drawn here.  The
 * forest's density and optical depths give a mean transmission near 0.7
 * at z = 3 (tests/tzdata.bats measures it), about what is observed there
 * (Faucher-Giguere et al. 2008, ApJ 681, 831); its absorbers are broader
 * than real ones (b of 150-350 km/s, not 20-40) so that the 203 km/s
 * pixels resolve them, as a clean spectrum on this grid should. */
#include <math.h>
#include <string.h>

#include "base/rng.h"
#include "ops/quasar.h"

const qso_line qso_lines[QSO_NLINES] = {
    [QSO_LYA_LINE] = { "Lyman-alpha", 1215.67, 70 },
    [QSO_NV] = { "N V", 1240.14, 15 },
    [QSO_SIIV] = { "Si IV", 1399.8, 8 },
    [QSO_CIV] = { "C IV", 1549.06, 30 },
    [QSO_CIII] = { "C III]", 1908.73, 20 },
    [QSO_MGII] = { "Mg II", 2798.75, 30 },
};

/* ln lambda step of a pixel. */
static double dlog(void)
{
    return log(QSO_LAMBDA_MAX / QSO_LAMBDA_MIN) / (QSO_PIXELS - 1);
}

double qso_lambda(int j)
{
    return QSO_LAMBDA_MIN * exp(j * dlog());
}

static double uniform(rng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform(r);
}

static double log_uniform(rng_t *r, double lo, double hi)
{
    return exp(uniform(r, log(lo), log(hi)));
}

/* FWHM = this times a Gaussian's std. */
#define FWHM_PER_SIGMA 2.3548200450309493

/* Optical depth of the forest, added into tau (QSO_PIXELS values). */
static void forest(rng_t *r, double z, double *tau, int *count)
{
    double dl = dlog(), dv = QSO_C_KMS * dl;   /* km/s per pixel */
    double z_lo = QSO_LAMBDA_MIN * exp(-QSO_FOREST_MARGIN / QSO_C_KMS) / QSO_LYA - 1;
    int n = (int)rng_poisson(r, QSO_FOREST_DENSITY * (z - z_lo));
    for (int k = 0; k < n; k++) {
        double zk = uniform(r, z_lo, z);
        double t0 = log_uniform(r, QSO_TAU_MIN, QSO_TAU_MAX);
        double b = uniform(r, QSO_B_MIN, QSO_B_MAX);
        /* the line centre in pixels; beyond 5 b the depth is below e^-25 */
        double at = log(QSO_LYA * (1 + zk) / QSO_LAMBDA_MIN) / dl, reach = 5 * b / dv;
        int lo = (int)ceil(at - reach), hi = (int)floor(at + reach);
        for (int j = lo < 0 ? 0 : lo; j <= hi && j < QSO_PIXELS; j++) {
            double v = (j - at) * dv / b;
            tau[j] += t0 * exp(-v * v);
        }
    }
    *count = n;
}

void qso_sample(uint64_t seed, uint64_t index, float *flux, qso_info *info)
{
    rng_t r;
    rng_init(&r, seed, QSO_RNG_SAMPLE, index);
    qso_info q;
    memset(&q, 0, sizeof q);
    q.z = uniform(&r, QSO_Z_MIN, QSO_Z_MAX);
    q.amp = log_uniform(&r, QSO_AMP_MIN, QSO_AMP_MAX);
    q.slope = uniform(&r, QSO_SLOPE_MIN, QSO_SLOPE_MAX);
    double v = log_uniform(&r, QSO_FWHM_MIN, QSO_FWHM_MAX);
    for (int l = 0; l < QSO_NLINES; l++) {
        q.fwhm[l] = v * uniform(&r, QSO_FWHM_RATIO_MIN, QSO_FWHM_RATIO_MAX);
        q.ew[l] = qso_lines[l].ew * uniform(&r, QSO_EW_RATIO_MIN, QSO_EW_RATIO_MAX);
    }
    double tau[QSO_PIXELS] = { 0 };
    forest(&r, q.z, tau, &q.absorbers);
    /* per line: its std in ln lambda, and the area factor EW C(lambda_l) */
    double s[QSO_NLINES], area[QSO_NLINES];
    for (int l = 0; l < QSO_NLINES; l++) {
        s[l] = q.fwhm[l] / QSO_C_KMS / FWHM_PER_SIGMA;
        area[l] = q.ew[l] * q.amp * pow(qso_lines[l].rest / 1450, q.slope);
    }
    double dl = dlog(), norm = 1 / sqrt(2 * M_PI);
    for (int j = 0; j < QSO_PIXELS; j++) {
        double lr = QSO_LAMBDA_MIN * exp(j * dl) / (1 + q.z);
        double f = q.amp * pow(lr / 1450, q.slope);
        for (int l = 0; l < QSO_NLINES; l++) {
            /* unit area in lambda_r: a Gaussian in ln lambda_r over lambda_r */
            double u = log(lr / qso_lines[l].rest) / s[l];
            if (fabs(u) < 10)
                f += area[l] * norm * exp(-0.5 * u * u) / (s[l] * lr);
        }
        flux[j] = (float)(f * exp(-tau[j]));
    }
    if (info)
        *info = q;
}
