#!/usr/bin/python3
"""forest-split.py - where a regime's MSE lies: inside the Lyman-alpha forest
(rest wavelength below 1216 A) or redward of it.  Run after exp-spectra on
its work directory:  results/spectra/forest-split.py build/spectra/REGIME/stats
(noticed after the lowres run; not one of the issue's targets)."""
import glob
import os
import sys

import numpy as np

d = sys.argv[1]
lam = 3600 * 2 ** (np.arange(1024) / 1023)
clean = np.load(os.path.join(d, "clean.npy"))[:, 0].astype(np.float64)
z = np.load(os.path.join(d, "z.npy")).astype(np.float64)
forest = lam[None, :] / (1 + z[:, None]) < 1216
print("file\tmse\tmse_forest\tmse_red\tshare_forest")
for f in sorted(glob.glob(os.path.join(d, "*.npy"))):
    if os.path.basename(f) in ("clean.npy", "z.npy", "civ_fwhm.npy"):
        continue
    e = (np.load(f).astype(np.float64).reshape(len(clean), -1) - clean) ** 2
    print("%s\t%.4g\t%.4g\t%.4g\t%.2f" % (os.path.basename(f), e.mean(), e[forest].mean(),
                                        e[~forest].mean(), e[forest].sum() / e.sum()))
