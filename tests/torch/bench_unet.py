#!/usr/bin/python3
"""bench_unet - the PyTorch side of `make bench` for the U-Net: UNet-S on
1 x 28 x 28 with two heads (tests/torch/check_unet.py's mirror), the same
step (forward, MSE, backward, AdamW) and batches as tests/bench/bench_nn.c's
unet28 (training at 64, inference at 256), median of 5 runs after a
warm-up.  Usage: bench_unet.py unet28 THREADS
Run with OPENBLAS_NUM_THREADS=1, torch's best 2-thread setting here."""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from check_unet import UNet  # noqa: E402


def main():
    net_name, threads = sys.argv[1], int(sys.argv[2])
    assert net_name == "unet28", net_name
    torch.set_num_threads(threads)
    C, H, W, B, B_infer, steps, passes = 1, 28, 28, 64, 256, 4, 2
    torch.manual_seed(0)
    net = UNet(C)                       # UNet-S: widths 32,64, 2 middle blocks, 2 heads
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, y = torch.randn(B_infer, C, H, W), torch.randn(B_infer, 2 * C, H, W)
    t = torch.rand(B_infer)
    train, infer = [], []
    for run in range(6):                # run 0 warms up
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            loss = F.mse_loss(net(x[:B], t[:B]), y[:B])
            loss.backward()
            opt.step()
        t1 = time.perf_counter()
        with torch.no_grad():
            for _ in range(passes):
                net(x, t)
        t2 = time.perf_counter()
        if run:
            train.append(steps * B / (t1 - t0))
            infer.append(passes * B_infer / (t2 - t1))
    print("train %.1f\ninfer %.1f" % (statistics.median(train), statistics.median(infer)))


if __name__ == "__main__":
    main()
