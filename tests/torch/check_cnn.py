#!/usr/bin/python3
"""check_cnn - the PyTorch mirror of the C engine's classifier
(libcommon/nn/cnn.c), checked on one training step that
tests/torch/cnn_dump.c wrote.

Usage:
  cnn-dump ... | /usr/bin/python3 check_cnn.py
      Loads the parameters p0 into the mirror (in the C arena's order,
      which is the mirror's registration order) and compares the logits,
      the features (the penultimate layer), the mean cross-entropy loss,
      each parameter tensor's gradient and each tensor's change p1 - p0
      under one torch.optim.AdamW step (lr 1e-2, weight decay 0.1) with the
      C values: relative error at most 1e-4 (max |a - b| over max |b| of
      each tensor).  It also checks that each tensor of p0 is drawn as
      PyTorch's default initialisation draws it: within +-1/sqrt(fan_in),
      fan_in as torch.nn.init computes it, and spread over that range.
  /usr/bin/python3 check_cnn.py --count [C H W K]
      Print the parameter count of the default classifier (widths 32,64,64,
      strides 1,2,2, 128 features) for C x H x W images and K classes
      (default 1 28 28 10).

Measured errors go to standard error, one line per check.  Exits 1 on a
mismatch.  Needs Debian's python3-torch (run with /usr/bin/python3); a
missing torch is an error, not a skip.
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from check_unet import TOL, UNet, adamw_error, conclude, records, rel, worst


class CNN(nn.Module):
    """conv3x3 (stride s_l, padding 1) + SiLU per width, flatten,
    Linear(F) + SiLU (the features), Linear(K) (the logits)."""

    def __init__(self, C, H, W, widths=(32, 64, 64), strides=(1, 2, 2), features=128,
                 classes=10):
        super().__init__()
        self.conv = nn.ModuleList()
        ch = C
        for w, s in zip(widths, strides):
            self.conv.append(nn.Conv2d(ch, w, 3, stride=s, padding=1))
            H, W, ch = (H + 2 - 3) // s + 1, (W + 2 - 3) // s + 1, w
        self.feat = nn.Linear(ch * H * W, features)
        self.out = nn.Linear(features, classes)

    def features(self, x):
        for c in self.conv:
            x = F.silu(c(x))
        return F.silu(self.feat(x.flatten(1)))

    def forward(self, x):
        return self.out(self.features(x))

    # a flat C vector in and out, in registration order, as the U-Net's
    load_flat = UNet.load_flat
    split = UNet.split


def init_check(net, p0):
    """The worst of each tensor's max |p| over 1/sqrt(fan_in) (at most 1)
    and the least of its range over 2/sqrt(fan_in) (near 1 for a uniform
    draw of many values; tensors of fewer than 50 values are skipped)."""
    over, spread = 0.0, 1.0
    for name, t in net.split(p0).items():
        p = net.get_parameter(name)
        # a bias's fan-in is its layer's: its weight's
        wt = p if p.dim() > 1 else net.get_parameter(name.rsplit(".", 1)[0] + ".weight")
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(wt)
        bound = 1 / math.sqrt(fan_in)
        over = max(over, float(np.max(np.abs(t))) / bound)
        if t.size >= 50:
            spread = min(spread, float(np.ptp(t)) / (2 * bound))
    return over, spread


def main():
    torch.set_num_threads(1)
    if sys.argv[1:2] == ["--count"]:
        C, H, W, K = (map(int, sys.argv[2:6]) if len(sys.argv) >= 6 else (1, 28, 28, 10))
        print(sum(p.numel() for p in CNN(C, H, W, classes=K).parameters()))
        return
    (_, d, attrs), = [r for r in records(sys.stdin.buffer) if r[0] != 3]
    C, H, W, Fw, K = map(int, attrs["cnn"].split(","))
    widths = tuple(map(int, attrs["widths"].split(",")))
    strides = tuple(map(int, attrs["strides"].split(",")))
    print("classifier C=%d %dx%d widths=%s strides=%s F=%d K=%d batch=%d"
          % (C, H, W, ",".join(map(str, widths)), ",".join(map(str, strides)), Fw, K,
             d["x"].shape[0]), file=sys.stderr)
    net = CNN(C, H, W, widths, strides, Fw, K)
    over, spread = init_check(net, d["p0"])
    net.load_flat(d["p0"])
    x = torch.from_numpy(np.array(d["x"]))
    y = torch.from_numpy(np.array(d["labels"])).long()
    feat = net.features(x)
    logits = net.out(feat)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    cg = net.split(d["grads"])
    grad_err = worst({n: (cg[n], p.grad.numpy()) for n, p in net.named_parameters()})
    step_err = adamw_error(net, d)
    checks = {
        "logits": (rel(d["logits"], logits.detach().numpy()), TOL, ""),
        "features": (rel(d["features"], feat.detach().numpy()), TOL, ""),
        "loss": (rel(d["loss"], loss.item()), TOL, ""),
        "gradients": (grad_err[0], TOL, "worst of %d tensors: %s" % (len(cg), grad_err[1])),
        "adamw step": (step_err[0], TOL, "worst: %s" % step_err[1]),
        "init within bound": (max(over - 1, 0), 1e-6, "max |p| sqrt(fan_in) = %.4f" % over),
        "init spread": (max(0.9 - spread, 0), 0, "least range / 2 bound = %.3f" % spread),
    }
    conclude(checks)


if __name__ == "__main__":
    main()
