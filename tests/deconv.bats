#!/usr/bin/env bats
# tests: restore --classic lmmse --instrument SPEC (the linear MMSE through a
# known linear instrument), restore --classic tikhonov --instrument SPEC
# (per-signal Tikhonov deconvolution through a spectral instrument) and
# tzmoments --stationary SPEC (the stationary prior from blurred
# observations), against numpy (tests/deconv_ref.py)
# also requires: tzdata, tzcat, tzexport, tzmoments, simulate, tests/npy2tz.py,
#   /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

# $1.tz: $2 correlated (C=$3, H=$4, W=$5) images around 0.5 (field x0),
# seed $6; and their moments $1.mom, a full-rank prior when $2 > C H W.
synth() {
  $PY - "$@" <<'PY'
import sys, numpy as np
name, n, C, H, W, seed = sys.argv[1], *map(int, sys.argv[2:])
z = np.random.default_rng(seed).standard_normal((n, C, H + 2, W + 2))
x = (z[:, :, :H, :W] + z[:, :, 1:H + 1, 1:W + 1] + z[:, :, 2:, 2:] + 0.7 * z[:, :, 2:, :W]) * 0.15
x[:, 1:] += 0.5 * x[:, :1]          # channels correlated
np.save(name + ".npy", (x + 0.5).astype(np.float32))
PY
  $PY "$ROOT/tests/npy2tz.py" "$1.tz" x0="$1.npy"
  tzmoments -q -f x0 "$1.tz" -o "$1.mom"
}

# The first $3 samples of $2.tz through the instrument $1, the clean images
# renamed 'clean': obs.tz.
observe() { simulate -q "$1" "$2.tz" | tzcat -q --head "$3" -R x0=clean -o obs.tz; }

# Restored stream $1 (x1, x0 and the side fields), prior $2, instrument $3,
# noise variance plus ridge $4: numpy's linear MMSE image by image, with A
# built from the documented kernels; the worst error relative to the
# image's largest value must be below 1e-5.
check_lmmse() {
  for f in x1 x0 mask angle; do
    rm -f $f.npy
    tzexport -q npy -f $f "$1" -o $f.npy 2>/dev/null || true
  done
  tzexport -q npy -f mean "$2" -o mean.npy
  tzexport -q npy -f cov "$2" -o cov.npy
  $PY - "$3" "$4" <<PY
import sys, os, numpy as np
sys.path.insert(0, "$ROOT/tests")
import deconv_ref as R
spec, s2 = sys.argv[1], float(sys.argv[2])
y, x = np.load("x1.npy").astype(np.float64), np.load("x0.npy")
n, C, H, W = y.shape
mu, S = np.load("mean.npy").reshape(-1), np.load("cov.npy")
m = np.load("mask.npy") if "mask" in spec else None
a = np.load("angle.npy") if "motion" in spec else None
worst, moved = 0, 0
if m is None and a is None:         # one A for all
    E = R.lmmse(R.chain_matrix(spec, C, H, W), mu, S, y.reshape(n, -1), s2)
for i in range(n):
    if m is None and a is None:
        e = E[i]
    else:
        A = R.chain_matrix(spec, C, H, W, None if m is None else m[i], None if a is None else a[i])
        obs = None if m is None else np.tile(m[i].reshape(-1), C) > 0
        e = R.lmmse(A, mu, S, y[i].reshape(-1), s2, obs)
    worst = max(worst, abs(x[i].reshape(-1) - e).max() / abs(e).max())
    moved = max(moved, abs(e - y[i].reshape(-1)).max())
print(spec, "worst relative error", worst)
assert worst < 1e-5, worst
assert moved > 0.05, moved          # the restoration is not the observation
PY
}

@test "lmmse --instrument blur, down: numpy's estimate with A from the kernels, to 1e-5" {
  synth s 300 1 9 11 1
  observe blur:sigma=1:noise=0.05 s 30
  # the instrument's noise variance by default, plus the default ridge 1e-6
  restore -q --classic lmmse --prior s.mom --instrument blur:sigma=1:noise=0.05 obs.tz -o r.tz
  check_lmmse r.tz s.mom blur:sigma=1:noise=0.05 0.002501
  # --noise-var and --ridge replace them
  restore -q --classic lmmse --prior s.mom --instrument blur:sigma=1:noise=0.05 \
    --noise-var 0.01 --ridge 0.002 obs.tz -o r.tz
  check_lmmse r.tz s.mom blur:sigma=1:noise=0.05 0.012
  # (N, H, W) images: one channel, the same values
  tzexport -q npy -f x1 obs.tz -o y4.npy
  $PY -c "import numpy as np; np.save('y3.npy', np.load('y4.npy')[:, 0])"
  $PY "$ROOT/tests/npy2tz.py" obs3.tz x1=y3.npy
  restore -q --classic lmmse --prior s.mom --instrument blur:sigma=1:noise=0.05 \
    --noise-var 0.01 --ridge 0.002 obs3.tz | tzexport -q npy -f x0 -o x3.npy
  $PY -c "import numpy as np; assert (np.load('x3.npy') == np.load('x0.npy')[:, 0]).all()"
  # a kernel wider than the image (radius 9 on 7 x 6) reflects again; 2 channels
  synth c 400 2 7 6 2
  observe blur:sigma=3:noise=0.05 c 20
  restore -q --classic lmmse --prior c.mom --instrument blur:sigma=3:noise=0.05 obs.tz -o r.tz
  check_lmmse r.tz c.mom blur:sigma=3:noise=0.05 0.002501
  # a blur, then 2 x 2 block means
  synth d 300 1 6 8 10
  observe blur:sigma=0.6,down:f=2,awgn:sigma=0.05 d 20
  restore -q --classic lmmse --prior d.mom --instrument blur:sigma=0.6,down:f=2,awgn:sigma=0.05 \
    obs.tz -o r.tz
  check_lmmse r.tz d.mom blur:sigma=0.6,down:f=2,awgn:sigma=0.05 0.002501
}

@test "lmmse --instrument blur on Fashion-MNIST (28 x 28, one gain for all): numpy's, to 1e-5" {
  S=blur:sigma=1:noise=0.05
  tzdata fashion-mnist -c 300 | tzcat -q -R x=x0 -o tr.tz
  tzmoments -q -f x0 tr.tz -o fm.mom
  tzdata fashion-mnist --split test -c 20 | tzcat -q -R x=x0 | simulate -q $S |
    tzcat -q -R x0=clean -o te.tz
  restore -q --classic lmmse --prior fm.mom --instrument $S te.tz -o r.tz
  check_lmmse r.tz fm.mom $S 0.002501
}

@test "lmmse --instrument motion: A per image from its angle, numpy's, to 1e-5" {
  synth s 300 1 9 11 3
  observe motion:k=5:noise=0.05 s 20
  restore -q --classic lmmse --prior s.mom --instrument motion:k=5:noise=0.05 obs.tz -o r.tz
  check_lmmse r.tz s.mom motion:k=5:noise=0.05 0.002501
  # a kernel wider than the image, 2 channels, the noise from awgn
  synth c 400 2 7 6 4
  observe motion:k=9,awgn:sigma=0.1 c 20
  restore -q --classic lmmse --prior c.mom --instrument motion:k=9,awgn:sigma=0.1 obs.tz -o r.tz
  check_lmmse r.tz c.mom motion:k=9,awgn:sigma=0.1 0.010001
}

@test "lmmse --instrument mask: numpy's, to 1e-5; unobserved pixels carry nothing" {
  synth c 400 2 7 6 5
  observe mask:p=0.5:noise=0.05 c 20
  restore -q --classic lmmse --prior c.mom --instrument mask:p=0.5:noise=0.05 obs.tz -o r.tz
  check_lmmse r.tz c.mom mask:p=0.5:noise=0.05 0.002501
  # anything at the unobserved pixels: the same bytes
  tzexport -q npy -f clean obs.tz -o clean.npy
  $PY -c "
import numpy as np
y, m = np.load('x1.npy'), np.load('mask.npy')
assert (y[np.broadcast_to(m, y.shape) == 0] == 0).all() and 0 < m.mean() < 1
np.save('junk.npy', np.where(m > 0, y, 7 + np.arange(y.size).reshape(y.shape) % 5).astype(np.float32))"
  $PY "$ROOT/tests/npy2tz.py" junk.tz clean=clean.npy x1=junk.npy mask=mask.npy
  $PY "$ROOT/tests/npy2tz.py" same.tz clean=clean.npy x1=x1.npy mask=mask.npy
  restore -q --classic lmmse --prior c.mom --instrument mask:p=0.5:noise=0.05 junk.tz | tzcat -q -f x0 -o a.tz
  restore -q --classic lmmse --prior c.mom --instrument mask:p=0.5:noise=0.05 same.tz | tzcat -q -f x0 -o b.tz
  cmp a.tz b.tz
  # a blur then a mask
  synth s 300 1 9 11 6
  observe blur:sigma=0.7,mask:p=0.3:noise=0.05 s 20
  restore -q --classic lmmse --prior s.mom --instrument blur:sigma=0.7,mask:p=0.3:noise=0.05 obs.tz -o r.tz
  check_lmmse r.tz s.mom blur:sigma=0.7,mask:p=0.3:noise=0.05 0.002501
}

@test "a huge noise variance gives the prior's mean; without noise a mask's pixels are kept" {
  synth s 300 1 9 11 7
  tzexport -q npy -f mean s.mom -o mean.npy
  for S in blur:sigma=1:noise=0.05 motion:k=5:noise=0.05 mask:p=0.5:noise=0.05; do
    observe $S s 10
    restore -q --classic lmmse --prior s.mom --instrument $S --noise-var 1e10 obs.tz |
      tzexport -q npy -f x0 -o x.npy
    $PY -c "
import numpy as np
x, mu = np.load('x.npy'), np.load('mean.npy')
assert abs(x - mu.reshape(x.shape[1:])).max() < 1e-6, abs(x - mu.reshape(x.shape[1:])).max()"
  done
  # noiseless observations, s2 = 0 and a tiny ridge: the observed pixels
  # come back, the others are filled (the prior is full rank: 300 > 99)
  observe mask:p=0.5 s 10
  restore -q --classic lmmse --prior s.mom --instrument mask:p=0.5 --ridge 1e-9 obs.tz -o r.tz
  for f in x0 x1 mask; do tzexport -q npy -f $f r.tz -o $f.npy; done
  $PY -c "
import numpy as np
x, y, m = np.load('x0.npy'), np.load('x1.npy'), np.load('mask.npy') > 0
assert abs(x - y)[m].max() < 1e-4, abs(x - y)[m].max()
assert abs(x - y)[~m].min() > 1e-3"
}

@test "the same bytes for --threads 1 and 2 and for the input cut into records of 7" {
  synth s 300 1 9 11 8
  for S in blur:sigma=1:noise=0.05 motion:k=5:noise=0.05 mask:p=0.5:noise=0.05; do
    observe $S s 30
    restore -q --classic lmmse --prior s.mom --instrument $S --threads 1 obs.tz -o a.tz
    tzcat -q -n 7 obs.tz | restore -q --classic lmmse --prior s.mom --instrument $S --threads 2 |
      tzcat -q -n 30 -o b.tz
    cmp a.tz b.tz
  done
  # Fashion-MNIST's size: BLAS and LAPACK at 784
  tzdata fashion-mnist -c 300 | tzcat -q -R x=x0 -o tr.tz
  tzmoments -q -f x0 tr.tz -o fm.mom
  for S in blur:sigma=1:noise=0.05 motion:k=5:noise=0.05; do
    tzdata fashion-mnist --split test -c 4 | tzcat -q -R x=x0 | simulate -q $S |
      tzcat -q -R x0=clean -o te.tz
    restore -q --classic lmmse --prior fm.mom --instrument $S --threads 1 te.tz -o a.tz
    restore -q --classic lmmse --prior fm.mom --instrument $S --threads 2 te.tz -o b.tz
    cmp a.tz b.tz
  done
}

@test "restore --instrument errors: no prior, nonlinear, wrong prior, side field missing" {
  synth s 60 1 9 11 9
  synth c 60 2 7 6 9
  observe blur:sigma=1:noise=0.05 s 10
  run --separate-stderr restore --classic lmmse --instrument blur obs.tz -o out.tz
  fails_with 1 "--prior FILE goes with --classic lmmse"
  run --separate-stderr restore --classic harmonic --instrument blur obs.tz -o out.tz
  fails_with 1 "--instrument goes with --classic lmmse --prior FILE"
  run --separate-stderr restore -m m.tz --instrument blur obs.tz -o out.tz
  fails_with 1 "--instrument goes with --classic lmmse --prior FILE"
  run --separate-stderr restore --classic lmmse --prior s.mom --instrument blur,jpeg obs.tz -o out.tz
  fails_with 1 "--instrument: jpeg is not a linear operator"
  run --separate-stderr restore --classic lmmse --prior s.mom --instrument blur,awgn,blur obs.tz -o out.tz
  fails_with 1 "--instrument: blur after awgn's noise"
  # a prior of 2 x 7 x 6 images for 1 x 9 x 11 ones
  run --separate-stderr restore --classic lmmse --prior c.mom --instrument blur obs.tz -o out.tz
  fails_with 2 "obs.tz: record 0: 'x1' holds 1 x 9 x 11 images, the prior 2 x 7 x 6"
  # as many values, another shape: 11 x 9 images
  $PY -c "import numpy as np; np.save('t.npy', np.load('s.npy').transpose(0, 1, 3, 2).copy())"
  $PY "$ROOT/tests/npy2tz.py" t.tz x0=t.npy
  tzmoments -q -f x0 t.tz -o t.mom
  run --separate-stderr restore --classic lmmse --prior t.mom --instrument blur obs.tz -o out.tz
  fails_with 2 "obs.tz: record 0: 'x1' holds 1 x 9 x 11 images, the prior 1 x 11 x 9"
  # a prior of vectors
  tzdata moons -c 20 | tzmoments -q -f x -o v.mom
  run --separate-stderr restore --classic lmmse --prior v.mom --instrument blur obs.tz -o out.tz
  fails_with 2 "v.mom: --instrument needs a prior of images"
  # the side fields the instrument needs
  observe motion:k=5:noise=0.05 s 10
  tzcat -q -d angle obs.tz -o noangle.tz
  run --separate-stderr restore --classic lmmse --prior s.mom --instrument motion:k=5 noangle.tz -o out.tz
  fails_with 2 "noangle.tz: record 0: need an f32 field 'angle' of 1 values per sample"
  run --separate-stderr restore --classic lmmse --prior s.mom --instrument mask obs.tz -o out.tz
  fails_with 2 "obs.tz: record 0: need an f32 field 'mask' of 99 values per sample"
  # NaN in the observations
  observe blur:sigma=1:noise=0.05 s 10
  tzexport -q npy -f x1 obs.tz -o y.npy
  tzexport -q npy -f clean obs.tz -o clean.npy
  $PY -c "import numpy as np; y = np.load('y.npy'); y[3, 0, 2, 2] = np.nan; np.save('y.npy', y)"
  $PY "$ROOT/tests/npy2tz.py" nan.tz clean=clean.npy x1=y.npy
  run --separate-stderr restore --classic lmmse --prior s.mom --instrument blur nan.tz -o out.tz
  fails_with 4 "nan.tz: record 0: 'x1' holds NaN or Inf \(sample 3\)"
  # no noise and no ridge: unobserved pixels make A S A^T singular
  observe mask:p=0.5 s 10
  run --separate-stderr restore --classic lmmse --prior s.mom --instrument mask --ridge 0 obs.tz -o out.tz
  fails_with 4 "obs.tz: record 0: sample 0: linear MMSE: A S A\^T \+ \(s2 \+ ridge\) I is not positive definite"
  [ ! -e out.tz ]
}

@test "the Wiener filter on Fashion-MNIST: the stationary prior gains on the observation, the clean one more" {
  S=blur:sigma=1:noise=0.05
  tzdata fashion-mnist -c 1000 | tzcat -q -R x=x0 | simulate -q $S -o tr.tz
  tzmoments -q -f x0 tr.tz -o clean.mom
  tzmoments -q --stationary $S -f x1 tr.tz -o stat.mom
  tzdata fashion-mnist --split test -c 100 | tzcat -q -R x=x0 | simulate -q $S |
    tzcat -q -R x0=clean -o te.tz
  restore -q --classic lmmse --prior clean.mom --instrument $S -r clean --metrics c.tsv te.tz -o /dev/null
  restore -q --classic lmmse --prior stat.mom --instrument $S -r clean --metrics s.tsv te.tz -o /dev/null
  # mean PSNR: restored (column 3) against observed (column 6)
  obs=$(awk -F'\t' '$1 == "mean" { print $6 }' s.tsv)
  sta=$(awk -F'\t' '$1 == "mean" { print $3 }' s.tsv)
  cln=$(awk -F'\t' '$1 == "mean" { print $3 }' c.tsv)
  echo "observed $obs, stationary prior $sta, clean prior $cln"
  awk -v o="$obs" -v s="$sta" -v c="$cln" 'BEGIN { exit !(s > o + 0.8 && c > s + 0.5) }'
}

# ---- tzmoments --stationary ------------------------------------------------

# tzmoments --stationary $1 on x1 of obs.tz against numpy's estimator: the
# mean to 1e-12, the covariance to 1e-8 of its largest value, exactly
# symmetric; the threshold Py > 2 s2 both keeps and drops frequencies, none
# of them within 1e-6 of it.
check_stationary() {
  tzmoments -q --stationary "$1" -f x1 obs.tz -o st.mom
  tzexport -q npy -f x1 obs.tz -o y.npy
  rm -f angle.npy
  tzexport -q npy -f angle obs.tz -o angle.npy 2>/dev/null || true
  tzexport -q npy -f mean st.mom -o mean.npy
  tzexport -q npy -f cov st.mom -o cov.npy
  $PY - "$1" <<PY
import sys, os, numpy as np
sys.path.insert(0, "$ROOT/tests")
import deconv_ref as R
spec = sys.argv[1]
y = np.load("y.npy").astype(np.float64)
if y.ndim == 3:
    y = y[:, None]
a = np.load("angle.npy") if "motion" in spec else None
mean, Py, Px, cov = R.stationary(y, spec, a)
m, c = np.load("mean.npy"), np.load("cov.npy")
assert m.size == y[0].size and c.shape == (m.size, m.size), (m.shape, c.shape)
em = abs(m.reshape(-1) - mean.reshape(-1)).max() / abs(mean).max()
ec = abs(c - cov).max() / abs(cov).max()
print(spec, "mean", em, "cov", ec, "kept", (Px > 0).mean())
assert em < 1e-12 and ec < 1e-8, (em, ec)
assert (c == c.T).all()
assert 0 < (Px > 0).mean() < 1
s2 = R.noise_var(spec)
assert (abs(Py - 2 * s2) > 1e-6 * s2).all()
PY
}

# $1.tz: $2 (C=$3, H=$4, W=$5) images, correlated along the rows, seed $6.
rough() {
  $PY - "$@" <<'PY'
import sys, numpy as np
name, n, C, H, W, seed = sys.argv[1], *map(int, sys.argv[2:])
z = np.random.default_rng(seed).standard_normal((n, C, H + 2, W + 2))
x = (z[:, :, :H, :W] + z[:, :, 1:H + 1, 1:W + 1] + z[:, :, 2:, 2:]) * 0.2 + 0.5
np.save(name + ".npy", x.astype(np.float32))
PY
  $PY "$ROOT/tests/npy2tz.py" "$1.tz" x0="$1.npy"
}

@test "--stationary: numpy's estimator (taper, periodogram, |H|^2, the rule, the torus) to 1e-8" {
  rough s 60 2 10 12 1
  for S in blur:sigma=0.8:noise=0.05 motion:k=5:noise=0.05 blur:sigma=0.5,motion:k=3,awgn:sigma=0.03; do
    simulate -q $S s.tz -o obs.tz
    check_stationary $S
  done
  # kernels wider than the images: they wrap around the torus
  rough t 60 1 6 7 3
  for S in motion:k=9:noise=0.1 blur:sigma=2:noise=0.01; do
    simulate -q $S t.tz -o obs.tz
    check_stationary $S
  done
  # images of rank 3 (N, H, W): one channel
  rough g 40 1 9 8 2
  $PY -c "import numpy as np; np.save('g3.npy', np.load('g.npy')[:, 0])"
  $PY "$ROOT/tests/npy2tz.py" g3.tz x0=g3.npy
  simulate -q blur:sigma=1:noise=0.05 g3.tz -o obs.tz
  check_stationary blur:sigma=1:noise=0.05
}

@test "--stationary on white noise: c(0) is v where the blur passes all; the expected spectrum" {
  # 500 images of white noise of variance v = 1
  $PY -c "
import numpy as np
r = np.random.default_rng(11)
np.save('w.npy', (0.5 + r.standard_normal((500, 1, 16, 16))).astype(np.float32))"
  $PY "$ROOT/tests/npy2tz.py" w.tz x0=w.npy
  for S in blur:sigma=0.5:noise=0.05 blur:sigma=1:noise=0.05; do
    simulate -q $S w.tz | tzmoments -q --stationary $S -f x1 -o st.mom
    tzexport -q npy -f cov st.mom -o cov.npy
    $PY - $S <<PY
import sys, numpy as np
sys.path.insert(0, "$ROOT/tests")
import deconv_ref as R
spec = sys.argv[1]; s2 = R.noise_var(spec); H = W = 16
cov = np.load("cov.npy")
# stationary on the torus: every row is the first one, shifted
c = cov[0].reshape(H, W)
for p in range(H * W):
    assert (cov[p] == np.roll(np.roll(c, p // W, 0), p % W, 1).reshape(-1)).all(), p
P = np.fft.fft2(c).real             # S's eigenvalues: the clean spectrum
H2 = R.torus_response(spec, H, W)
if spec.startswith("blur:sigma=0.5"):
    # |H|^2 >= 0.108 > 20 (2 s2): every frequency passes, c(0) is v
    assert H2.min() > 40 * s2
    print(spec, "c(0)", c[0, 0], "the largest other", abs(c.reshape(-1)[1:]).max())
    assert abs(c[0, 0] - 1) < 0.05, c[0, 0]
    assert abs(c.reshape(-1)[1:]).max() < 0.05
    assert P.min() > 0.6
    sys.exit(0)
# The estimator's expectation, exactly: the observations' covariance is
# v B B^T + s2 I (B the blur with its reflected edges), so E[Py(w)] =
# f_w^H D_h (B B^T + s2 I) D_h f_w / sum h^2; through the taper it leaks
# (E[Px] runs from 0.9 v to 1.5 v where it passes).  Where E[Py] > 4 s2 the
# frequency passes and Px estimates E[Px] (7% noise with 500 images);
# where E[Py] < 1.5 s2 the noise swamps it and Px is 0.
B = R.chain_matrix(spec, 1, H, W)
h = R.hann(H, W).reshape(-1)
iy, ix = np.divmod(np.arange(H * W), W)
G = np.exp(-2j * np.pi * (np.outer(iy, iy) / H + np.outer(ix, ix) / W)) * h
EPy = (np.einsum("ij,jk,ik->i", G, B @ B.T, G.conj()).real / (h**2).sum() + s2).reshape(H, W)
EPx = np.where(EPy > 2 * s2, (EPy - s2) / H2, 0)
sure, swamped = EPy > 4 * s2, EPy < 1.5 * s2
r = P[sure] / EPx[sure]
print(spec, "Px / E[Px] where it passes:", r.mean(), r.min(), r.max(), "c(0)", c[0, 0], EPx.mean())
assert sure.sum() > 50 and swamped.sum() > 50
assert abs(r.mean() - 1) < 0.04 and abs(r - 1).max() < 0.25
assert abs(P[swamped]).max() < 1e-12
assert abs(c[0, 0] / EPx.mean() - 1) < 0.05
PY
  done
}

@test "--stationary: copies of one image give no covariance; a constant moves the mean only; any records" {
  rough s 50 1 8 10 3
  simulate -q blur:noise=0.05 s.tz -o obs.tz
  tzmoments -q --stationary blur:noise=0.05 -f x1 obs.tz -o a.mom
  tzcat -q -n 7 obs.tz | tzmoments -q --stationary blur:noise=0.05 -f x1 -o b.mom
  cmp a.mom b.mom
  simulate -q motion:k=3:noise=0.05 s.tz -o mobs.tz
  tzmoments -q --stationary motion:k=3:noise=0.05 -f x1 mobs.tz -o a.mom
  tzcat -q -n 7 mobs.tz | tzmoments -q --stationary motion:k=3:noise=0.05 -f x1 -o b.mom
  cmp a.mom b.mom
  # on multiples of 2^-12, so that adding 0.25 is exact in f32
  tzexport -q npy -f x1 obs.tz -o y.npy
  $PY -c "
import numpy as np
y = np.round(np.load('y.npy') * 4096) / 4096
np.save('y.npy', y); np.save('same.npy', np.repeat(y[:1], 5, 0)); np.save('shift.npy', y + 0.25)"
  $PY "$ROOT/tests/npy2tz.py" base.tz x1=y.npy
  $PY "$ROOT/tests/npy2tz.py" same.tz x1=same.npy
  $PY "$ROOT/tests/npy2tz.py" shift.tz x1=shift.npy
  tzmoments -q --stationary blur:noise=0.05 -f x1 base.tz -o a.mom
  tzmoments -q --stationary blur:noise=0.05 -f x1 same.tz -o same.mom
  tzmoments -q --stationary blur:noise=0.05 -f x1 shift.tz -o shift.mom
  for f in same shift a; do
    tzexport -q npy -f mean $f.mom -o $f-mean.npy
    tzexport -q npy -f cov $f.mom -o $f-cov.npy
  done
  $PY -c "
import numpy as np
y = np.load('y.npy').astype(np.float64)
assert (np.load('same-cov.npy') == 0).all()
assert (np.load('same-mean.npy') == y[0].reshape(-1)).all()
a, s = np.load('a-cov.npy'), np.load('shift-cov.npy')
assert abs(a).max() > 1e-3 and abs(a - s).max() < 1e-10 * abs(a).max(), abs(a - s).max()
dm = np.load('shift-mean.npy') - np.load('a-mean.npy')
assert abs(dm - 0.25).max() < 1e-6, abs(dm - 0.25).max()"
}

@test "tzmoments --stationary errors: with --mask, a mask or nonlinear spec, vectors, one image" {
  rough s 10 1 8 10 4
  simulate -q mask:p=0.5:noise=0.05 s.tz -o obs.tz
  run --separate-stderr tzmoments --stationary blur:noise=0.05 --mask mask -f x1 obs.tz -o o.mom
  fails_with 1 "--stationary and --mask are two estimators"
  run --separate-stderr tzmoments --stationary mask:p=0.5:noise=0.05 -f x1 obs.tz -o o.mom
  fails_with 1 "--stationary needs a blur \(blur, motion and noise\); 'mask:p=0.5:noise=0.05' has more"
  run --separate-stderr tzmoments --stationary blur,down:f=2 -f x1 obs.tz -o o.mom
  fails_with 1 "--stationary needs a blur"
  run --separate-stderr tzmoments --stationary blur,jpeg -f x1 obs.tz -o o.mom
  fails_with 1 "--stationary: jpeg is not a linear operator"
  tzdata moons -c 20 -o moons.tz
  run --separate-stderr tzmoments --stationary blur:noise=0.05 -f x moons.tz -o o.mom
  fails_with 2 "moons.tz: record 0: --stationary needs images \(N, H, W\) or \(N, C, H, W\); 'x' has rank 2"
  tzcat -q --head 1 obs.tz -o one.tz
  run --separate-stderr tzmoments --stationary blur:noise=0.05 -f x1 one.tz -o o.mom
  fails_with 2 "needs at least 2 observations; got 1"
  simulate -q motion:k=5 s.tz | tzcat -q -d angle -o noangle.tz
  run --separate-stderr tzmoments --stationary motion:k=5 -f x1 noangle.tz -o o.mom
  fails_with 2 "noangle.tz: record 0: no field 'angle'"
  [ ! -e o.mom ]
}

# ---- restore --classic tikhonov ---------------------------------------------

# sig.tz: $1 smooth signals (field x0, shape (n, $2, $3)) around 1 with
# narrow dips, seed $4.
signals() {
  $PY - "$@" <<'PY'
import sys, numpy as np
n, H, L, seed = map(int, sys.argv[1:])
g = np.random.default_rng(seed)
j = np.arange(L)
x = 1 + 0.3 * np.sin(j / 7.0 + g.uniform(0, 6, (n, H, 1))) * g.uniform(0.5, 1.5, (n, H, 1))
for _ in range(4):
    c = g.uniform(0, L, (n, H, 1))
    x = x * (1 - 0.6 * np.exp(-0.5 * ((j - c) / 1.5) ** 2))
np.save("sig.npy", x.astype(np.float32))
PY
  $PY "$ROOT/tests/npy2tz.py" sig.tz x0=sig.npy
}

# Restored stream $1 (x1, x0, side fields), instrument $2, lambda $3, order
# $4, noise variance $5 (- for the instrument's): numpy's
# (A^T A + lambda s2 D^T D)^-1 A^T y sample by sample, A from the
# documented kernels with the sample's smooth and tilt (none if the field
# is absent), s2 = (|mean y| / snr + 1e-4)^2 plus awgn's; the worst error
# relative to the largest value must be below 1e-5.
check_tikhonov() {
  for f in x1 x0 smooth tilt snr mask; do
    rm -f $f.npy
    tzexport -q npy -f $f "$1" -o $f.npy 2>/dev/null || true
  done
  $PY - "$2" "$3" "$4" "$5" <<PY
import sys, os, numpy as np
sys.path.insert(0, "$ROOT/tests")
import deconv_ref as R
spec, lam, order, nv = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
y, x = np.load("x1.npy").astype(np.float64), np.load("x0.npy")
n, H, L = y.shape
side = lambda f: np.load(f + ".npy") if os.path.exists(f + ".npy") else None
sm, ti, snr, m = side("smooth"), side("tilt"), side("snr"), side("mask")
worst = moved = 0
for i in range(n):
    A = R.chain_matrix(spec, 1, H, L, None if m is None else m[i],
                       smooth=None if sm is None else float(sm[i]),
                       tilt=None if ti is None else float(ti[i]))
    if nv != "-":
        s2 = float(nv)
    else:
        s2 = R.noise_var(spec) + ((abs(y[i].mean()) / snr[i] + 1e-4) ** 2 if "snr" in spec else 0)
    for h in range(H):
        Ah = A[h * L:(h + 1) * L, h * L:(h + 1) * L]
        e = R.tikhonov(Ah, y[i, h], s2, lam, order)
        worst = max(worst, abs(x[i, h] - e).max() / abs(e).max())
        moved = max(moved, abs(e - y[i, h]).max())
print(spec, lam, order, "worst relative error", worst)
assert worst < 1e-5, worst
assert moved > 0.02, moved          # the restoration is not the observation
PY
}

@test "tikhonov --instrument tilt, smooth, snr: numpy's estimate per signal, orders 0-2, to 1e-5" {
  S=tilt:a=0.05,smooth:sigma=2:jitter=0.1,snr:min=5:max=20
  signals 12 1 96 1
  simulate -q "$S" sig.tz | tzcat -q -R x0=clean -o obs.tz
  for k in 0 1 2; do
    restore -q --classic tikhonov --instrument $S --lambda 0.3 --order $k obs.tz -o r.tz
    check_tikhonov r.tz $S 0.3 $k -
  done
  # the default: order 2, lambda 1
  restore -q --classic tikhonov --instrument $S obs.tz -o r.tz
  check_tikhonov r.tz $S 1 2 -
  # no tilt field (the calibration unknown), a given noise variance; the
  # smoothing nominal without its field
  tzcat -q -d tilt obs.tz -o notilt.tz
  restore -q --classic tikhonov --instrument $S --noise-var 0.004 --lambda 5 notilt.tz -o r.tz
  check_tikhonov r.tz $S 5 2 0.004
  tzcat -q -d tilt,smooth obs.tz -o nominal.tz
  restore -q --classic tikhonov --instrument $S --lambda 5 nominal.tz -o r.tz
  check_tikhonov r.tz $S 5 2 -
  # rows of (n, 3, L) signals each on their own, a mask, awgn's noise; a
  # kernel wider than the signal (radius 28 on 20 values) reflects again
  signals 6 3 40 2
  S=smooth:sigma=1.5,mask:p=0.2,awgn:sigma=0.05
  simulate -q "$S" sig.tz | tzcat -q -R x0=clean -o obs.tz
  restore -q --classic tikhonov --instrument $S --lambda 2 --order 1 obs.tz -o r.tz
  check_tikhonov r.tz $S 2 1 -
  signals 6 1 20 3
  S=smooth:sigma=7,awgn:sigma=0.01
  simulate -q "$S" sig.tz | tzcat -q -R x0=clean -o obs.tz
  restore -q --classic tikhonov --instrument $S --lambda 10 obs.tz -o r.tz
  check_tikhonov r.tz $S 10 2 -
}

@test "tikhonov limits: a noiseless invertible smoothing undone; a huge penalty leaves a straight line" {
  signals 8 1 64 4
  simulate -q smooth:sigma=0.5 sig.tz | tzcat -q -R x0=clean -o obs.tz
  restore -q --classic tikhonov --instrument smooth:sigma=0.5 obs.tz -o r.tz
  for f in x0 x1 clean; do tzexport -q npy -f $f r.tz -o $f.npy; done
  $PY -c "
import numpy as np
x, y, c = np.load('x0.npy'), np.load('x1.npy'), np.load('clean.npy')
assert abs(y - c).max() > 0.05                      # the smoothing did something
assert abs(x - c).max() < 1e-4, abs(x - c).max()    # and is undone"
  simulate -q smooth:sigma=2,awgn:sigma=0.05 sig.tz | tzcat -q -R x0=clean -o obs.tz
  restore -q --classic tikhonov --instrument smooth:sigma=2,awgn:sigma=0.05 --lambda 1e12 obs.tz |
    tzexport -q npy -f x0 -o x.npy
  $PY -c "
import numpy as np
x = np.load('x.npy').astype(np.float64)
assert abs(np.diff(x, 2, axis=-1)).max() < 1e-5, abs(np.diff(x, 2, axis=-1)).max()
assert abs(np.diff(x, 1, axis=-1)).max() > 1e-4     # a line, not a constant"
}

@test "tikhonov: the same bytes for --threads 1 and 2 and for records of 5" {
  S=tilt:a=0.05,smooth:sigma=3:jitter=0.05,snr:min=5:max=20
  signals 23 1 128 5
  simulate -q "$S" sig.tz | tzcat -q -R x0=clean -o obs.tz
  restore -q --classic tikhonov --instrument $S --threads 1 obs.tz -o a.tz
  tzcat -q -n 5 obs.tz | restore -q --classic tikhonov --instrument $S --threads 2 |
    tzcat -q -n 23 -o b.tz
  cmp a.tz b.tz
}

@test "tikhonov errors: no instrument, image operators, a missing side field, NaN, bad options" {
  S=tilt:a=0.05,smooth:sigma=2,snr:min=5:max=20
  signals 6 1 32 6
  simulate -q "$S" sig.tz | tzcat -q -R x0=clean -o obs.tz
  run --separate-stderr restore --classic tikhonov obs.tz -o out.tz
  fails_with 1 "--classic tikhonov needs --instrument SPEC"
  run --separate-stderr restore --classic tikhonov --instrument blur:sigma=1 obs.tz -o out.tz
  fails_with 1 "obs.tz: record 0: Tikhonov deconvolves 1-D signals: not through blur"
  run --separate-stderr restore --classic tikhonov --instrument smooth,jpeg obs.tz -o out.tz
  fails_with 1 "--instrument: jpeg is not a linear operator"
  run --separate-stderr restore --classic tikhonov --instrument $S --order 3 obs.tz -o out.tz
  fails_with 1 "--order"
  run --separate-stderr restore --classic tikhonov --instrument $S --lambda -1 obs.tz -o out.tz
  fails_with 1 "--lambda"
  # the spectral operators are tikhonov's: not lmmse's, nor DPS's
  run --separate-stderr restore --classic lmmse --prior p.mom --instrument $S obs.tz -o out.tz
  fails_with 1 "--instrument: smooth, tilt and snr are for --classic tikhonov"
  run --separate-stderr restore --dps $S -m m.tz obs.tz -o out.tz
  fails_with 1 "--dps: smooth, tilt and snr are for --classic tikhonov"
  # snr's noise level needs its field
  tzcat -q -d snr obs.tz -o nosnr.tz
  run --separate-stderr restore --classic tikhonov --instrument $S nosnr.tz -o out.tz
  fails_with 2 "nosnr.tz: record 0: the instrument needs the side field 'snr'"
  # NaN in the observations
  tzexport -q npy -f x1 obs.tz -o y.npy
  for f in tilt smooth snr; do tzexport -q npy -f $f obs.tz -o $f.npy; done
  $PY -c "import numpy as np; y = np.load('y.npy'); y[4, 0, 7] = np.nan; np.save('y.npy', y)"
  $PY "$ROOT/tests/npy2tz.py" nan.tz x1=y.npy tilt=tilt.npy smooth=smooth.npy snr=snr.npy
  run --separate-stderr restore --classic tikhonov --instrument $S nan.tz -o out.tz
  fails_with 4 "nan.tz: record 0: field 'x1' holds NaN \(sample 4 of the record\)"
  # no noise, so no penalty: the values a mask dropped before the smoothing
  # are not determined
  simulate -q mask:p=0.5,smooth:sigma=2 sig.tz | tzcat -q -R x0=clean -o quiet.tz
  run --separate-stderr restore --classic tikhonov --instrument mask:p=0.5,smooth:sigma=2 quiet.tz -o out.tz
  fails_with 4 "quiet.tz: record 0: sample 0: Tikhonov: A\^T A \+ lambda s2 D\^T D is not positive definite"
  [ ! -e out.tz ]
}

