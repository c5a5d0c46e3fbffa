#!/usr/bin/python3
"""bench_unet - the PyTorch side of `make bench` for the U-Net: UNet-S on
1 x 28 x 28 with two heads (tests/torch/check_unet.py's mirror), the same
step (forward, MSE, backward, AdamW) and batches as tests/bench/bench_nn.c's
unet28 (training at 64, inference at 256), median of 5 runs after a
warm-up.  Usage: bench_unet.py unet28 THREADS
Run with OPENBLAS_NUM_THREADS=1, torch's best 2-thread setting here."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from bench_mlp import forward_flops, measure  # noqa: E402
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
    train, infer = measure(net, opt, (x[:B], t[:B]), y[:B], (x, t), steps, passes)
    print("train %.1f\ninfer %.1f" % (train, infer))
    print("flops %.0f" % forward_flops(net, (x[:B], t[:B])))


if __name__ == "__main__":
    main()
