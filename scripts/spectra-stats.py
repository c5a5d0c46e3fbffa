#!/usr/bin/python3
"""spectra-stats.py - the scores of scripts/exp-spectra: restored quasar
spectra against their clean copies, one spectrum at a time and as a
population.

    spectra-stats.py DIR REGIME METHOD=FILE.npy...

DIR holds clean.npy (n, 1, 1024), z.npy and civ_fwhm.npy (n), from the test
file; each FILE.npy holds a method's n spectra (the observation, a
restoration), in the order of clean.npy.  Prints one TSV row per method
(no header): regime, method, mse, line_width_error, mean_spectrum_error,
width_median_rel_error, n; and a row for the clean spectra themselves,
method "clean (the estimator's floor)".  Writes to DIR, for tzplot: mean.tsv
(the mean spectrum of each), widths.tsv (the quantiles of the measured C IV
widths, and the true ones), example-0.tsv and example-1.tsv (the first two
spectra); their columns are the methods' names up to " (", spaces as _.

  mse                     mean over spectra and pixels of (x - clean)^2
  mean_spectrum_error     mean over pixels of (mean_x - mean_clean)^2, the
                          means over the n spectra
  line_width_error        Wasserstein-1 distance (km/s) between the C IV
                          FWHMs measured on the method's spectra and the
                          true ones (civ_fwhm): mean |sorted - sorted|
  width_median_rel_error  median over spectra of |measured / true - 1|

The C IV width is measured on any spectrum alike, the redshift known (as a
survey's catalogue gives it): in the rest frame, the continuum is the power
law through the medians of the flux in 1455-1475 A and 1680-1720 A (lines
between them but for C IV: Si IV's 1400 A lies 3 widths or more below the
first window), or the straight line through them if a median is not
positive; then over ln(lambda / 1549.06) in [-0.06, 0.07] the flux above it
is fitted, by least squares, with a Gaussian of FWHM F (on a grid of 400
values from 500 to 30000 km/s, log-spaced) times a free amplitude plus a
free constant, and the F of the least residual is the width.  The grid of
wavelengths is tzdata(1)'s: 3600 2^(j / 1023) A.  The clean row shows what
the estimator itself gets wrong."""
import os
import sys

import numpy as np

C_KMS = 299792.458
CIV = 1549.06
LAM = 3600 * 2 ** (np.arange(1024) / 1023)
FWHM_GRID = np.exp(np.linspace(np.log(500), np.log(30000), 400))


def continuum(x, rest):
    """The power law (or line) through the medians of the two windows."""
    out = np.empty_like(x)
    for i in range(len(x)):
        pts = []
        for lo, hi in ((1455, 1475), (1680, 1720)):
            w = (rest[i] > lo) & (rest[i] < hi)
            pts.append((np.exp(np.log(rest[i][w]).mean()), np.median(x[i][w])))
        (l1, f1), (l2, f2) = pts
        if f1 > 0 and f2 > 0:
            k = np.log(f2 / f1) / np.log(l2 / l1)
            out[i] = f1 * (rest[i] / l1) ** k
        else:
            out[i] = f1 + (f2 - f1) * (rest[i] - l1) / (l2 - l1)
    return out


def civ_fwhm(x, z):
    """The C IV FWHM (km/s) of each spectrum x (n, 1024) at redshift z."""
    rest = LAM[None, :] / (1 + z[:, None])
    p = x - continuum(x, rest)
    u = np.log(rest / CIV)
    s = FWHM_GRID / C_KMS / (2 * np.sqrt(2 * np.log(2)))
    out = np.empty(len(x))
    for i in range(len(x)):
        w = (u[i] > -0.06) & (u[i] < 0.07)
        g = np.exp(-0.5 * (u[i][w][None, :] / s[:, None]) ** 2)      # (grid, m)
        y = p[i][w]
        # least squares of y on (g, 1) for every width at once
        m = w.sum()
        sg, sgg, sy, sgy = g.sum(1), (g * g).sum(1), y.sum(), (g * y).sum(1)
        det = sgg * m - sg * sg
        a = (sgy * m - sg * sy) / det
        c = (sgg * sy - sg * sgy) / det
        res = ((y[None, :] - a[:, None] * g - c[:, None]) ** 2).sum(1)
        out[i] = FWHM_GRID[np.argmin(res)]
    return out


def scores(x, clean, true_w, z):
    w = civ_fwhm(x, z)
    return {
        "mse": ((x - clean) ** 2).mean(),
        "line_width_error": abs(np.sort(w) - np.sort(true_w)).mean(),
        "mean_spectrum_error": ((x.mean(0) - clean.mean(0)) ** 2).mean(),
        "width_median_rel_error": np.median(abs(w / true_w - 1)),
    }, w


def label(name):
    """A column name for tzplot: the method's name up to " (", spaces as _."""
    return name.split(" (")[0].replace(" ", "_")


def table(path, x, cols):
    with open(path + ".tmp", "w") as f:
        f.write("\t".join(c for c, _ in cols) + "\n")
        for j in range(len(x)):
            f.write("\t".join("%.6g" % v[j] for _, v in cols) + "\n")
    os.replace(path + ".tmp", path)


def main():
    d, regime = sys.argv[1], sys.argv[2]
    clean = np.load(os.path.join(d, "clean.npy"))[:, 0].astype(np.float64)
    z = np.load(os.path.join(d, "z.npy")).astype(np.float64)
    true_w = np.load(os.path.join(d, "civ_fwhm.npy")).astype(np.float64)
    methods = [("clean (the estimator's floor)", clean)]
    for arg in sys.argv[3:]:
        name, path = arg.split("=", 1)
        x = np.load(path).astype(np.float64)
        methods.append((name, x.reshape(len(clean), -1)))
    widths = [("quantile", np.linspace(0, 1, len(clean))), ("true", np.sort(true_w))]
    for name, x in methods:
        s, w = scores(x, clean, true_w, z)
        print("\t".join([regime, name] + ["%.6g" % s[k] for k in
                        ("mse", "line_width_error", "mean_spectrum_error",
                         "width_median_rel_error")] + [str(len(x))]))
        widths.append((label(name), np.sort(w)))
    table(os.path.join(d, "widths.tsv"), widths[0][1], widths)
    short = [(label(name), x) for name, x in methods]
    table(os.path.join(d, "mean.tsv"), LAM, [("lambda", LAM)] + [(n, x.mean(0)) for n, x in short])
    for k in range(min(2, len(clean))):
        table(os.path.join(d, "example-%d.tsv" % k), LAM,
              [("lambda", LAM)] + [(n, x[k]) for n, x in short])


if __name__ == "__main__":
    main()
