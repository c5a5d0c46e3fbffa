#!/usr/bin/python3
"""check_unet - the PyTorch mirror of the C engine's U-Net (libcommon/nn/unet.c),
checked on one training step that tests/torch/unet_dump.c wrote.

Usage:
  unet-dump ... | /usr/bin/python3 check_unet.py
      Loads the parameters p0 into the mirror (in the C arena's order, which
      is the mirror's registration order) and compares the forward output,
      the loss, each parameter tensor's gradient, the loss's gradient at the
      input x (guidance needs it) and each tensor's change
      p1 - p0 under one torch.optim.AdamW step (lr 1e-2, weight decay 0.1)
      with the C values: relative error at most 1e-4 (max |a - b| over max |b|
      of each tensor).  For the UNet-S configuration it also runs the
      structure check below.  A dump with H = 1 is of the 1-D U-Net for
      signals (C, L = W): the mirror is then built of Conv1d (3 taps, the
      1x1 skips 1 tap), upsamples along the length and takes x, the mask
      channels and the output as (B, C, L) (the dump's (B, C, 1, L)).
      The structure check is of the 2-D net only.
  /usr/bin/python3 check_unet.py --structure [C H W]
      Only the structure check, for UNet-S of C channels (default 1 28 28).

The structure check: the mirror's UNet-S has the parameter names and
shapes, in named_parameters() order, of UNetS in the benchmark reference
/work/shared/bench/torch_ref.py (or $TORCH_REF), and computes the same
function with the same parameters.  Where that file is missing (CI
machines), only the parameter count is checked: 497,474 for C = 1.

Measured errors go to standard error, one line per check.  Exits 1 on a
mismatch.  Needs Debian's python3-torch (run with /usr/bin/python3); a
missing torch is an error, not a skip.
"""
import importlib.util
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from sim_clip import records  # noqa: E402  (the raw tz(5) reader)

TOL = 1e-4
SINUSOID = 64
TORCH_REF = os.environ.get("TORCH_REF", "/work/shared/bench/torch_ref.py")
UNETS_PARAMS_C1 = 497474
VERBOSE = os.environ.get("CHECK_UNET_VERBOSE") == "1"   # every tensor's gradient error


class Sinusoid(nn.Module):
    """sin then cos of t f_k, f geometric from 1 to 1000; in double, as the
    C engine (nn_temb_forward) computes it before rounding to float."""

    def __init__(self, dim):
        super().__init__()
        self.register_buffer("f", torch.exp(torch.linspace(0, math.log(1000.0), dim // 2,
                                                           dtype=torch.float64)))

    def forward(self, t):
        a = t.double()[:, None] * self.f[None, :]
        return torch.cat([torch.sin(a), torch.cos(a)], 1).float()


class ResBlock(nn.Module):
    """h = conv3x3(SiLU(GN(x))) + Linear(SiLU(temb));
    y = conv3x3(SiLU(GN(h))) + (x if i == o else conv1x1(x)).
    Conv is nn.Conv2d, or nn.Conv1d for the 1-D net (3 taps, 1 tap)."""

    def __init__(self, ci, co, T, groups, Conv=nn.Conv2d):
        super().__init__()
        self.n1 = nn.GroupNorm(groups, ci)
        self.c1 = Conv(ci, co, 3, padding=1)
        self.t = nn.Linear(T, co)
        self.n2 = nn.GroupNorm(groups, co)
        self.c2 = Conv(co, co, 3, padding=1)
        self.skip = Conv(ci, co, 1) if ci != co else None

    def forward(self, x, temb):
        tp = self.t(F.silu(temb))
        h = self.c1(F.silu(self.n1(x))) + tp.view(tp.shape + (1,) * (x.dim() - 2))
        y = self.c2(F.silu(self.n2(h)))
        return y + (x if self.skip is None else self.skip(x))


class UNet(nn.Module):
    """The general U-Net of libcommon/nn/unet.h.  Modules are named as in
    torch_ref.py's UNetS: temb, cin, r1 d1 .. rL dL (down: ResBlock, then a
    stride-2 convolution, per level), m1 .. (middle), u1 .. uL (up, from the
    coarsest), nout, cout; then side, the embedding of the S scalars.

    oned: the 1-D U-Net of unet.c (a config with H = 1): every convolution
    a Conv1d, x (B, C, L), the same parameters in the same order with the
    kernels (O, C, 3) and (O, C, 1)."""

    def __init__(self, C, E=0, S=0, heads=2, widths=(32, 64), nmid=2, temb=128, groups=8,
                 oned=False):
        super().__init__()
        self.C, self.E, self.S, self.L = C, E, S, len(widths)
        T, w0 = temb, widths[0]
        Conv = nn.Conv1d if oned else nn.Conv2d
        self.temb = nn.Sequential(Sinusoid(SINUSOID), nn.Linear(SINUSOID, T), nn.SiLU(),
                                  nn.Linear(T, T))
        self.cin = Conv(C + E, w0, 3, padding=1)
        ch = w0
        for l, w in enumerate(widths):
            setattr(self, "r%d" % (l + 1), ResBlock(ch, w, T, groups, Conv))
            setattr(self, "d%d" % (l + 1), Conv(w, w, 3, stride=2, padding=1))
            ch = w
        self.nmid = nmid
        for i in range(nmid):
            setattr(self, "m%d" % (i + 1), ResBlock(ch, ch, T, groups, Conv))
        for k, l in enumerate(reversed(range(self.L))):
            setattr(self, "u%d" % (k + 1), ResBlock(ch + widths[l], widths[l], T, groups, Conv))
            ch = widths[l]
        self.nout = nn.GroupNorm(groups, w0)
        self.cout = Conv(w0, heads * C, 3, padding=1)
        if S:
            self.side = nn.Sequential(nn.Linear(S, T), nn.SiLU(), nn.Linear(T, T))

    def forward(self, x, t, cond=None):
        """x (B, C, H, W), or (B, C, L) in 1-D; cond (B, E H W + S) or
        (B, E L + S): the mask channels, then the scalars."""
        B, sp = x.shape[0], tuple(x.shape[2:])
        ne = self.E * math.prod(sp)
        te = self.temb(t)
        if self.S:
            te = te + self.side(cond[:, ne:ne + self.S])
        h = x if not self.E else torch.cat([x, cond[:, :ne].reshape((B, self.E) + sp)], 1)
        h = self.cin(h)
        skips = []
        for l in range(self.L):
            s = getattr(self, "r%d" % (l + 1))(h, te)
            skips.append(s)
            h = getattr(self, "d%d" % (l + 1))(s)
        for i in range(self.nmid):
            h = getattr(self, "m%d" % (i + 1))(h, te)
        for k, l in enumerate(reversed(range(self.L))):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = getattr(self, "u%d" % (k + 1))(torch.cat([h, skips[l]], 1), te)
        return self.cout(F.silu(self.nout(h)))

    def load_flat(self, p, attr="data"):
        """Values (or, attr="grad", gradients) in the C arena's order, which
        is the registration order: each module's weight then its bias."""
        off = 0
        for _, t in self.named_parameters():
            n = t.numel()
            if attr == "grad":
                t.grad = torch.zeros_like(t)
            getattr(t, attr).copy_(torch.from_numpy(np.array(p[off:off + n])).view_as(t))
            off += n
        assert off == p.size, (off, p.size)

    def split(self, p):
        """A flat C vector as {name: array shaped like the parameter}."""
        out, off = {}, 0
        for name, t in self.named_parameters():
            n = t.numel()
            out[name] = np.asarray(p[off:off + n]).reshape(tuple(t.shape))
            off += n
        assert off == p.size, (off, p.size)
        return out


def rel(a, b):
    """max |a - b| over max |b|: an error relative to the tensor's scale."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def worst(pairs):
    """(error, name) of the worst tensor of {name: (a, b)}."""
    return max((rel(a, b), name) for name, (a, b) in pairs.items())


def report(checks):
    """checks: {label: (error, tolerance, detail)}.  Print each to stderr;
    return the labels over their tolerance."""
    for k, (v, tol, detail) in checks.items():
        print("%-22s max relative error %.3g%s" % (k, v, "  (" + detail + ")" if detail else ""),
              file=sys.stderr)
    return [k for k, (v, tol, _) in checks.items() if not v <= tol]


def conclude(checks):
    """Report checks (see report); exit 1 naming those over their tolerance."""
    bad = report(checks)
    if bad:
        print("MISMATCH:", ", ".join(bad), file=sys.stderr)
        sys.exit(1)


def adamw_error(net, d):
    """(error, name) of the worst tensor of one torch.optim.AdamW step (lr 1e-2,
    weight decay 0.1) from the dump's p0 and C gradients, against the C step:
    the step itself, p1 - p0, not p1, which p0 would hide the errors of.  The
    step is taken from the C gradients (as check_mlp.py explains: near AdamW's
    eps the update magnifies rounding the gradient check bounds).  Leaves the
    stepped parameters in net."""
    net.load_flat(d["p0"])
    net.load_flat(d["grads"], "grad")
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.1)
    opt.step()
    p0, c1 = net.split(d["p0"]), net.split(d["p1"])
    return worst({n: (c1[n] - p0[n].astype(np.float64),
                      p.detach().numpy() - p0[n].astype(np.float64))
                  for n, p in net.named_parameters()})


def names_shapes(m):
    return [(n, tuple(p.shape)) for n, p in m.named_parameters()]


def structure(C, H, W):
    """The mirror's UNet-S against torch_ref.py's UNetS (see the module
    docstring).  Returns {label: (error, tolerance, detail)}; exits on a
    structural difference."""
    torch.manual_seed(0)
    mine = UNet(C)
    n = sum(p.numel() for p in mine.parameters())
    if not os.path.exists(TORCH_REF):
        print("structure: %s absent; parameter count only" % TORCH_REF, file=sys.stderr)
        if C == 1 and n != UNETS_PARAMS_C1:
            raise SystemExit("MISMATCH: UNet-S has %d parameters, not %d" % (n, UNETS_PARAMS_C1))
        print("structure: UNet-S (C=%d) has %d parameters" % (C, n), file=sys.stderr)
        return {}
    spec = importlib.util.spec_from_file_location("torch_ref", TORCH_REF)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _, UNetS = mod.build(torch)
    ref = UNetS(C)
    a, b = names_shapes(mine), names_shapes(ref)
    if a != b:
        diff = [(x, y) for x, y in zip(a, b) if x != y][:3]
        raise SystemExit("MISMATCH: parameters differ from torch_ref.py's UNetS (%d vs %d "
                         "tensors; first differences %s)" % (len(a), len(b), diff))
    print("structure: %d tensors, %d parameters, names and shapes as torch_ref.py's UNetS"
          % (len(a), n), file=sys.stderr)
    # The same function: the reference's parameters in the mirror.  The
    # sinusoid is compared on its own: the reference computes it in float
    # (arguments up to 1000, so errors near 1e-4), the mirror in double.
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        x = torch.randn(3, C, H, W, generator=g)
        t = torch.rand(3, generator=g)
        sin_err = rel(ref.temb[0](t), mine.temb[0](t))
        ref.temb[0] = mine.temb[0]
        # Move every parameter off its initialisation (GroupNorm's 1 and 0).
        for p in ref.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
        for (_, p), (_, q) in zip(mine.named_parameters(), ref.named_parameters()):
            p.copy_(q)
        out_err = rel(mine(x, t).numpy(), ref(x, t).numpy())
    return {"sinusoid vs torch_ref": (sin_err, 1e-2, "float there, double here"),
            "forward vs torch_ref": (out_err, TOL, "same parameters")}


def is_unets(C, E, S, heads, widths, nmid, temb, groups):
    return (E, S, heads, widths, nmid, temb, groups) == (0, 0, 2, (32, 64), 2, 128, 8)


def main():
    torch.set_num_threads(1)
    if sys.argv[1:2] == ["--structure"]:
        C, H, W = (map(int, sys.argv[2:5]) if len(sys.argv) >= 5 else (1, 28, 28))
        conclude(structure(C, H, W))
        return
    (_, d, attrs), = [r for r in records(sys.stdin.buffer) if r[0] != 3]
    C, H, W, E, S, heads, levels, nmid, temb, groups = map(int, attrs["unet"].split(","))
    widths = tuple(map(int, attrs["widths"].split(",")))
    assert len(widths) == levels, attrs
    size = "1-D L=%d" % W if H == 1 else "%dx%d" % (H, W)
    print("U-Net C=%d %s E=%d S=%d heads=%d widths=%s nmid=%d temb=%d groups=%d batch=%d"
          % (C, size, E, S, heads, ",".join(map(str, widths)), nmid, temb, groups,
             d["x"].shape[0]), file=sys.stderr)
    checks = {}
    oned = H == 1
    if is_unets(C, E, S, heads, widths, nmid, temb, groups) and not oned:
        checks.update(structure(C, H, W))
    net = UNet(C, E, S, heads, widths, nmid, temb, groups, oned)
    net.load_flat(d["p0"])
    f = {k: torch.from_numpy(np.array(d[k])) for k in ("x", "cond", "t", "target")}
    if oned:        # (B, C, 1, L) -> (B, C, L)
        f["x"], f["target"] = f["x"].squeeze(2), f["target"].squeeze(2)
    f["x"].requires_grad_(True)     # the input-gradient, for guidance (DPS)
    out = net(f["x"], f["t"], f["cond"])
    loss = F.mse_loss(out, f["target"])
    loss.backward()
    cg = net.split(d["grads"])
    pairs = {n: (cg[n], p.grad.numpy()) for n, p in net.named_parameters()}
    grad_err = worst(pairs)
    if VERBOSE:
        for n, (a, b) in pairs.items():
            print("  grad %-16s %-18s %.3g" % (n, tuple(b.shape), rel(a, b)), file=sys.stderr)
    step_err = adamw_error(net, d)
    checks.update({
        "output": (rel(np.reshape(d["out"], out.shape), out.detach().numpy()), TOL, ""),
        "loss": (rel(d["loss"], loss.item()), TOL, ""),
        "gradients": (grad_err[0], TOL, "worst of %d tensors: %s" % (len(cg), grad_err[1])),
        "input gradient": (rel(np.reshape(d["dx"], f["x"].shape), f["x"].grad.numpy()), TOL, ""),
        "adamw step": (step_err[0], TOL, "worst: %s" % step_err[1]),
    })
    conclude(checks)


if __name__ == "__main__":
    main()
