#!/usr/bin/python3
"""check_layers - conv2d, conv1d (3 taps, padding 1, stride 1 and 2) and
GroupNorm of the C engine (tests/torch/layer_dump.c) against
torch.nn.functional.conv2d, conv1d and group_norm, outputs and every
gradient, relative error at most 1e-4 of each tensor's scale.
Reads the dump on standard input; exits 1 on a mismatch."""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from sim_clip import records  # noqa: E402


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def main():
    (_, d, _), = [r for r in records(sys.stdin.buffer) if r[0] != 3]
    t = {k: torch.tensor(np.array(v), requires_grad=True) for k, v in d.items()}
    cy = F.conv2d(t["cx"], t["cw"], t["cb"], stride=2, padding=1)
    (cy * t["cg"]).sum().backward()
    gy = F.group_norm(t["gx"], 4, t["gg"], t["gb"], eps=1e-5)
    (gy * t["gd"]).sum().backward()
    conv1d = {}
    for s in (1, 2):
        p = "s%d" % s
        y = F.conv1d(t[p + "x"], t[p + "w"], t[p + "b"], stride=s, padding=1)
        (y * t[p + "g"]).sum().backward()
        name = "conv1d s%d " % s
        conv1d.update({name + "out": rel(d[p + "y"], y.detach()),
                       name + "dx": rel(d[p + "dx"], t[p + "x"].grad),
                       name + "dw": rel(d[p + "dw"], t[p + "w"].grad),
                       name + "db": rel(d[p + "db"], t[p + "b"].grad)})
    checks = {
        "conv2d out": rel(d["cy"], cy.detach()), "conv2d dx": rel(d["cdx"], t["cx"].grad),
        "conv2d dw": rel(d["cdw"], t["cw"].grad), "conv2d db": rel(d["cdb"], t["cb"].grad),
        "groupnorm out": rel(d["gy"], gy.detach()), "groupnorm dx": rel(d["gdx"], t["gx"].grad),
        "groupnorm dgamma": rel(d["gdg"], t["gg"].grad), "groupnorm dbeta": rel(d["gdb"], t["gb"].grad),
        **conv1d,
    }
    for k, v in checks.items():
        print("%-16s max relative error %.3g" % (k, v))
    bad = [k for k, v in checks.items() if not v <= 1e-4]
    if bad:
        print("MISMATCH:", ", ".join(bad), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
