#!/usr/bin/python3
"""sim_saturate - an external simulator for simulate(1), in Python with
NumPy: a detector that saturates.  Each value of the candidate field (x0
by default: simulate -f) gets sensor noise of std NOISE (default 0.5), is
clipped to [-LIMIT, LIMIT] (the full well, default 6), then gets read
noise of std READ (default 0.1); the answer is the observation field (x1
by default: simulate -y).  Usage: sim_saturate.py [LIMIT [NOISE [READ]]]

Nonlinear and not invertible: every value beyond the limit reads the same.
Unlike sim_clip.py, whose noise comes after the clip and which so loses
what lies beyond for good, the sensor noise comes first: the observations'
law inside the box is that of x0 blurred by a Gaussian, an analytic density
that determines the blurred law everywhere, and so the law of x0 (a
Gaussian blur has no zeros in its Fourier transform).  In practice the
part far beyond the limit is recovered only as far as the clipped counts
along each edge constrain it.

Its randomness is keyed by the "seed" and "first" attributes simulate
sends, per row, so the answer does not depend on the batching.  The tz(5)
reader, writer and serving loop (which reads the field names simulate
sends) are sim_clip.py's.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_clip import serve  # noqa: E402


def saturate(x, seed, first):
    x = x.astype(np.float64)
    y = np.empty_like(x)
    for i in range(len(x)):
        g = np.random.default_rng([seed, first + i])
        sensor, read = g.standard_normal((2,) + x.shape[1:])
        y[i] = np.clip(x[i] + NOISE * sensor, -LIMIT, LIMIT) + READ * read
    return y


if __name__ == "__main__":
    given = [float(a) for a in sys.argv[1:4]]
    LIMIT, NOISE, READ = given + [6.0, 0.5, 0.1][len(given):]
    serve(saturate)
