#!/usr/bin/python3
"""bench_mlp - the PyTorch side of `make bench` for the MLPs: the same
networks as tests/torch/check_mlp.py's mirror, the same step (forward,
MSE, backward, AdamW) and batch as tests/bench/bench_nn.c, median of 5 runs
after a warm-up.  Usage: bench_mlp.py mlp2d|mlp784 THREADS
Run with OPENBLAS_NUM_THREADS=1, torch's best 2-thread setting here."""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from check_mlp import Mirror  # noqa: E402


def measure(net, opt, train_args, target, infer_args, steps, passes):
    """Median samples/s of training steps (forward, MSE, backward, AdamW)
    on train_args and of inference passes on infer_args, over 5 runs after
    one of warm-up; the batch is the first argument's length."""
    train, infer = [], []
    for run in range(6):
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(*train_args), target).backward()
            opt.step()
        t1 = time.perf_counter()
        with torch.no_grad():
            for _ in range(passes):
                net(*infer_args)
        t2 = time.perf_counter()
        if run:
            train.append(steps * len(train_args[0]) / (t1 - t0))
            infer.append(passes * len(infer_args[0]) / (t2 - t1))
    return statistics.median(train), statistics.median(infer)


def forward_flops(net, args):
    """Multiply-adds of one forward pass per sample, times 2: every
    Linear's in x out and every convolution's (in / groups) kh kw per
    output element, counted by hooks on one pass of args."""
    macs = []

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Linear):
            macs.append(mod.in_features * mod.out_features * out.numel() // mod.out_features)
        else:
            k = mod.in_channels // mod.groups
            for n in mod.kernel_size:
                k *= n
            macs.append(out.numel() * k)

    kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, kinds)]
    with torch.no_grad():
        net(*args)
    for h in hooks:
        h.remove()
    return 2 * sum(macs) / len(args[0])


def main():
    net_name, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    big = net_name == "mlp784"
    dim, width, hidden, B, steps = (784, 1024, 4, 128, 20) if big else (2, 256, 3, 1024, 100)
    net = Mirror(dim, 0, 64, width, hidden)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, y = torch.randn(B, dim), torch.randn(B, dim)
    cond, t = torch.zeros(B, 0), torch.rand(B)
    train, infer = measure(net, opt, (x, cond, t), y, (x, cond, t), steps, steps)
    print("train %.0f\ninfer %.0f" % (train, infer))
    print("flops %.0f" % forward_flops(net, (x, cond, t)))


if __name__ == "__main__":
    main()
