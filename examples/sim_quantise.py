#!/usr/bin/python3
"""sim_quantise - an external simulator for simulate(1), in Python with
NumPy: an instrument that quantises, as every analogue-to-digital converter
does.  Each value of the candidate field (x0 by default: simulate -f) gets
Gaussian noise of std NOISE (default 0.25) and is rounded to the nearest
multiple of STEP (default 0.5); with DITHER = 1 (default 0) a uniform draw
on (-STEP/2, STEP/2) is then added, which spreads each reading over its
bin: the dequantised instrument.  The answer is the observation field (x1
by default: simulate -y).  Usage: sim_quantise.py [NOISE [STEP [DITHER]]]

Not invertible: the observations take a countable set of values, and a
deterministic transport (the ODE) maps each of them to one point, so what
it carries back is a cloud of atoms.  Dequantising keeps the simulator the
instrument: the dither is part of the instrument the loop simulates, and is
applied the same way to the real readings (sim_quantise.py 0 STEP 1 on
readings already on the grid adds the dither alone), so both sides of the
fixed point see one known continuous law.  What the readings pin down: the
mass of each bin under the clean law blurred by the noise, that is the
blurred law (times the bin's box) sampled on the grid, so what varies
faster than the grid is aliased and lost; a noise not much thinner than
STEP leaves little there (at NOISE 0.25 and STEP 0.5 a Gaussian blur keeps
29% of the amplitude at the grid's half frequency, 1 per unit, and a clean
law as smooth as this experiment's anisotropic Gaussian, thinnest std 0.3,
keeps about 5% there after the blur).

Its randomness is keyed by the "seed" and "first" attributes simulate
sends, per row, so the answer does not depend on the batching.  The tz(5)
reader, writer and serving loop are sim_clip.py's.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_clip import serve  # noqa: E402


def quantise(x, seed, first):
    x = x.astype(np.float64)
    y = np.empty_like(x)
    for i in range(len(x)):
        g = np.random.default_rng([seed, first + i])
        noise, dither = g.standard_normal(x.shape[1:]), g.uniform(-0.5, 0.5, x.shape[1:])
        y[i] = STEP * np.round((x[i] + NOISE * noise) / STEP)
        if DITHER:
            y[i] += STEP * dither
    return y


if __name__ == "__main__":
    given = [float(a) for a in sys.argv[1:4]]
    NOISE, STEP, DITHER = given + [0.25, 0.5, 0.0][len(given):]
    if not STEP > 0:
        sys.exit("sim_quantise: STEP must be > 0")
    serve(quantise)
