#!/usr/bin/python3
"""bench_unet - the PyTorch side of `make bench` for the U-Net: UNet-S with
two heads (tests/torch/check_unet.py's mirror) on 1 x 28 x 28 (unet28) or
3 x 32 x 32 (unet32), the same step (forward, MSE, backward, AdamW),
batches (training at 64, inference at 256) and protocol as
tests/bench/bench_nn.c's (bench_mlp.py's rate()).
Usage: bench_unet.py unet28|unet32 THREADS [SECONDS]
Run with OPENBLAS_NUM_THREADS=1, torch's best 2-thread setting here."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from bench_mlp import args, forward_flops, measure, report  # noqa: E402
from check_unet import UNet  # noqa: E402


def main():
    case, _, seconds = args()
    C, H, W = {"unet28": (1, 28, 28), "unet32": (3, 32, 32)}[case]
    B, B_infer = 64, 256
    torch.manual_seed(0)
    net = UNet(C)                       # UNet-S: widths 32,64, 2 middle blocks, 2 heads
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, y = torch.randn(B_infer, C, H, W), torch.randn(B_infer, 2 * C, H, W)
    t = torch.rand(B_infer)
    train, infer = measure(net, opt, (x[:B], t[:B]), y[:B], (x, t), seconds)
    report(train, infer, forward_flops(net, (x[:B], t[:B])))


if __name__ == "__main__":
    main()
