#!/usr/bin/python3
"""reward_quad - an external reward for tilt(1) --exec, in Python with
NumPy: r(x) = -|x - c|^2 / (2 VAR), its gradient -(x - c) / VAR and its
Laplacian -d / VAR, for each row of the particle field tilt sends.
Usage: reward_quad.py VAR C1 [C2 ...]   (one value of c: every coordinate)

tilt speaks simulate(1)'s protocol: it sends the particles as the field
named by the "field" attribute (x0) and wants the answer under the one
named by "out_field" (reward), with the side fields reward_grad (a
sample's shape per row) and, if the program can, reward_lap.  The tz(5)
reader, writer and serving loop are sim_clip.py's.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_clip import serve  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: reward_quad.py VAR C1 [C2 ...]")
    var = float(sys.argv[1])
    c = np.array([float(v) for v in sys.argv[2:]])

    def reward(x, seed, first):
        x = x.astype(np.float64)
        flat = x.reshape(len(x), -1)
        d = flat.shape[1]
        if c.size not in (1, d):
            sys.exit("reward_quad: %d centre values for samples of %d" % (c.size, d))
        u = flat - c
        r = -0.5 * np.sum(u * u, axis=1) / var
        grad = (-u / var).reshape(x.shape)
        lap = np.full(len(x), -d / var)
        return r, {"reward_grad": grad, "reward_lap": lap}

    serve(reward)


if __name__ == "__main__":
    main()
