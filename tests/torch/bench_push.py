#!/usr/bin/python3
"""bench_push - the PyTorch side of `make bench` for the SCSI transport:
pushback's ODE (libcommon/method/si.c, Euler) through the mirror of the
model's U-Net (tests/torch/check_unet.py) with the model's weights (its
EMA, as pushback takes them).  Blocks of 64 rows, as pushback's
transport runs the network; in each, STEPS steps x <- x - dt b(t, x) from
t = 1 down to t = 0, dt = 1 / STEPS, b the drift head.
Usage: bench_push.py MODEL OBS STEPS THREADS
  MODEL: a U-Net model of si-train without side fields; OBS: observations
  in the model's x1 field; both raw tz(5) streams (-L 0).
Prints "images IMAGES_PER_S", timed from the observations and the model
in memory to the last block's x0 in memory: unlike pushback's whole-process
wall time, without start-up, reading or writing.
Run with OPENBLAS_NUM_THREADS=1, torch's best 2-thread setting here."""
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from check_unet import UNet, records  # noqa: E402

BLOCK = 64          # SI_CHUNK of libcommon/method/si.c


def load(path):
    """(tensors, attributes) of a model file's record."""
    with open(path, "rb") as f:
        return next((t, a) for _, t, a in records(f) if "params" in t)


def main():
    model, obs, steps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    p, a = load(model)
    if a.get("arch") != "unet" or a["side_channels"] != "0" or a["side_scalars"] != "0":
        sys.exit("bench_push: need a U-Net model without side fields")
    C = int(a["channels"])
    net = UNet(C, heads=2 if a["denoiser"] == "1" else 1,
               widths=tuple(int(w) for w in a["widths"].split(",")), nmid=int(a["mid"]),
               temb=int(a["temb"]), groups=int(a["groups"]))
    net.load_flat(p["ema"] if "ema" in p else p["params"])
    net.eval()
    with open(obs, "rb") as f:
        x1 = np.concatenate([t[a["x1"]] for _, t, _ in records(f) if a["x1"] in t])
    n = len(x1)
    x = torch.zeros((n + BLOCK - 1) // BLOCK * BLOCK, *x1.shape[1:])   # the last block padded
    x[:n] = torch.from_numpy(x1.copy())
    dt = 1.0 / steps
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in range(0, len(x), BLOCK):
            xb = x[b:b + BLOCK]
            for s in range(steps):
                t = torch.full((BLOCK,), 1 - s * dt)
                xb -= dt * net(xb, t)[:, :C]
    print("images %.1f" % (n / (time.perf_counter() - t0)))


if __name__ == "__main__":
    main()
