#!/usr/bin/python3
"""sim_project - an external simulator for simulate(1), in Python with
NumPy: each 2-D sample x0 (the candidate field, x0 by default: simulate
-f) is seen along one random direction u = (cos a, sin a), a uniform in
[0, pi), drawn per sample: x1 = (u . x0) u + SIGMA n (default SIGMA 0.1;
x1 is the observation field, x1 by default: simulate -y).  The direction
is returned as the side field `direction` (2 values per sample), for the
network to condition on, and the line it spans as `line` = (cos 2a,
sin 2a): u and -u are the same line, and this encoding, unlike u, does not
jump where a wraps from pi to 0.  A single observation cannot be inverted
(a whole line maps to one point); the distribution can, since it is seen
along every direction.

Usage: sim_project.py [SIGMA]

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


def project(x0, seed, first):
    x = x0.astype(np.float64).reshape(len(x0), -1)
    if x.shape[1] != 2:
        sys.exit("sim_project: the candidate field must hold 2 values per sample")
    u, y = np.zeros_like(x), np.zeros_like(x)
    for i in range(len(x)):
        g = np.random.default_rng([seed, first + i])
        a = np.pi * g.random()
        u[i] = np.cos(a), np.sin(a)
        y[i] = (u[i] @ x[i]) * u[i] + SIGMA * g.standard_normal(2)
    line = np.stack([u[:, 0] ** 2 - u[:, 1] ** 2, 2 * u[:, 0] * u[:, 1]], 1)
    return y, {"direction": u, "line": line}


if __name__ == "__main__":
    SIGMA = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    serve(project)
