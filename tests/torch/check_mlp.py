#!/usr/bin/python3
"""check_mlp - the PyTorch mirror of the C engine's MLP (libcommon/nn/mlp.c),
checked on one training step that tests/torch/nn_dump.c wrote.

Reads the step record on standard input, loads the parameters p0 into the
mirror, and compares the forward output, the loss, every parameter
gradient and the parameters after one torch.optim.AdamW step with the C
values: relative error at most 1e-4 (max |a - b| over max |b| of each tensor;
for the AdamW step, of the change p1 - p0).  Exits 1
on a mismatch.  Needs Debian's python3-torch (run with /usr/bin/python3).
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from sim_clip import records  # noqa: E402  (the raw tz(5) reader)


class Temb(torch.nn.Module):
    """Sinusoidal embedding: sin then cos of t * f_k, f geometric 1..1000."""

    def __init__(self, dim):
        super().__init__()
        half = dim // 2
        self.register_buffer("f", torch.exp(torch.linspace(0, math.log(1000.0), half,
                                                           dtype=torch.float64)))

    def forward(self, t):
        a = t.double()[:, None] * self.f[None, :]
        return torch.cat([torch.sin(a), torch.cos(a)], 1).float()


class Mirror(torch.nn.Module):
    """[x ++ cond ++ temb(t)] -> width (SiLU) x hidden -> dim."""

    def __init__(self, dim, cond, temb, width, hidden):
        super().__init__()
        self.temb = Temb(temb)
        sizes = [dim + cond + temb] + [width] * hidden + [dim]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x, cond, t):
        h = torch.cat([x, cond, self.temb(t)], 1)
        for i, lin in enumerate(self.layers):
            h = lin(h)
            if i < len(self.layers) - 1:
                h = torch.nn.functional.silu(h)
        return h

    def load_flat(self, p, attr="data"):
        """Values (or, attr="grad", gradients) in the C arena's order: each
        layer's weight, then its bias."""
        off = 0
        for lin in self.layers:
            for t in (lin.weight, lin.bias):
                n = t.numel()
                getattr(t, attr).copy_(torch.from_numpy(p[off:off + n].copy()).view_as(t))
                off += n
        assert off == p.size, (off, p.size)

    def flat(self, attr):
        return np.concatenate([getattr(t, attr).detach().numpy().ravel()
                               for lin in self.layers for t in (lin.weight, lin.bias)])


def rel(a, b):
    """max |a - b| over max |b|: an error relative to the tensor's scale."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def main():
    torch.set_num_threads(1)
    (_, d, attrs), = [r for r in records(sys.stdin.buffer) if r[0] != 3]
    dim, cond, temb, width, hidden = map(int, attrs["mlp"].split(","))
    net = Mirror(dim, cond, temb, width, hidden)
    net.load_flat(d["p0"])
    f = {k: torch.from_numpy(np.array(d[k])) for k in ("x", "cond", "t", "target")}
    out = net(f["x"], f["cond"], f["t"])
    loss = torch.nn.functional.mse_loss(out, f["target"])
    loss.backward()
    grads = net.flat("grad")
    # The step is taken from the C gradients: where a gradient is near
    # AdamW's eps (1e-8) the update g / (|g| + eps) magnifies rounding that
    # the gradient check above already bounds, so feeding torch its own
    # gradients would test summation order, not the optimiser.
    net.load_flat(d["grads"], "grad")
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.1)
    opt.step()
    p0 = np.asarray(d["p0"], np.float64)
    checks = {
        "output": rel(d["out"], out.detach().numpy()),
        "loss": rel(d["loss"], loss.item()),
        "gradients": rel(d["grads"], grads),
        # the step itself, p1 - p0, not p1: p0 would hide its errors
        "adamw step": rel(d["p1"] - p0, net.flat("data") - p0),
    }
    bad = {k: v for k, v in checks.items() if not v <= 1e-4}
    for k, v in checks.items():
        print("%-10s max relative error %.3g" % (k, v))
    if bad:
        print("MISMATCH:", ", ".join(bad), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
