#!/usr/bin/python3
"""bench_mlp - the PyTorch side of `make bench` for the MLPs: the same
networks as tests/torch/check_mlp.py's mirror, the same step (forward,
MSE, backward, AdamW), batch and protocol as tests/bench/bench_nn.c: each
figure over whole steps for at least SECONDS (default 2; 0: one step)
after one warm-up step, one case per process.
Usage: bench_mlp.py mlp2d|mlp784 THREADS [SECONDS]
Run with OPENBLAS_NUM_THREADS=1, torch's best 2-thread setting here."""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from check_mlp import Mirror  # noqa: E402


def rate(step, batch, seconds):
    """Samples/s of step(), batch samples a call, over whole calls for at
    least seconds after one warm-up call: bench_nn.c's rate()."""
    step()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return n * batch / el


def measure(net, opt, train_args, target, infer_args, seconds):
    """Samples/s of training steps (forward, MSE, backward, AdamW) on
    train_args and of inference passes on infer_args; the batch is the
    first argument's length."""
    def train():
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(*train_args), target).backward()
        opt.step()

    def infer():
        with torch.no_grad():
            net(*infer_args)

    return (rate(train, len(train_args[0]), seconds),
            rate(infer, len(infer_args[0]), seconds))


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


def args():
    """(case, threads, seconds) from the command line; torch set to the
    threads."""
    case, threads = sys.argv[1], int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    torch.set_num_threads(threads)
    return case, threads, seconds


def report(train, infer, flops):
    print("train %.1f\ninfer %.1f\nflops %.0f\ntorch %s" % (train, infer, flops,
                                                           torch.__version__))


def main():
    case, _, seconds = args()
    big = case == "mlp784"
    dim, width, hidden, B = (784, 1024, 4, 128) if big else (2, 256, 3, 1024)
    net = Mirror(dim, 0, 64, width, hidden)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, y = torch.randn(B, dim), torch.randn(B, dim)
    cond, t = torch.zeros(B, 0), torch.rand(B)
    train, infer = measure(net, opt, (x, cond, t), y, (x, cond, t), seconds)
    report(train, infer, forward_flops(net, (x, cond, t)))


if __name__ == "__main__":
    main()
