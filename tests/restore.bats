#!/usr/bin/env bats
# tests: restore
# also requires: tzdata, tzcat, tzinfo, tzexport, simulate, si-train, pushback,
# /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

# 2-D pairs of the Gaussian mixture (x0 clean, x1 = x0 + noise), and the
# observations with the clean points kept as the reference field 'clean'.
pairs() {
  tzdata gmm -c "${1:-200}" | tzcat -R x=x0 | simulate awgn:sigma=0.5 -o pairs.tz
  tzcat -R x0=clean pairs.tz -o obs.tz
}

# Fashion-MNIST images, half their pixels masked out (side field 'mask').
images() {
  tzdata fashion-mnist --split test -c "${1:-16}" | tzcat -R x=x0 |
    simulate mask:p=0.5 -o ipairs.tz
  tzcat -R x0=clean ipairs.tz -o iobs.tz
}

# A tiny U-Net on the masked images; $1 SGD steps.
unet() {
  si-train --steps "$1" --batch 4 --cond mask --widths 8,16 --mid 1 --groups 4 --temb 16 \
    ipairs.tz -o "$2" -q
}

# An SDE model of the 2-D pairs.
sde_model() { si-train --steps 20 --batch 32 --combined --gamma 0.5 pairs.tz -o sde.tz -q; }

@test "one sample is pushback's output, byte for byte; the scores do not change it" {
  pairs
  si-train --steps 30 --batch 32 pairs.tz -o m.tz -q
  pushback -m m.tz -n 10 obs.tz -o p.tz
  restore -m m.tz -n 10 obs.tz -o a.tz
  cmp a.tz p.tz
  restore -m m.tz -n 10 -r clean --metrics m.tsv obs.tz -o b.tz -q
  cmp b.tz p.tz
  # and an image model with side fields, Heun's method
  images 8
  unet 2 u.tz
  pushback -m u.tz -n 4 --method heun iobs.tz | tzcat -f x0 -o px.tz
  restore -m u.tz -n 4 --method heun iobs.tz | tzcat -f x0 -o rx.tz
  cmp px.tz rx.tz
  # the model did move the observations: this is not the identity
  run ! cmp -s <(tzexport npy -f x0 rx.tz) <(tzexport npy -f x1 iobs.tz)
}

@test "an untrained model restores each observation to itself: the scores are the observation's" {
  images 16
  unet 0 u0.tz
  run --separate-stderr restore -m u0.tz -n 5 -r clean --metrics m.tsv iobs.tz -o r.tz
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"16 samples: PSNR "*" dB restored, "*" dB observed; SSIM "* ]]
  cmp <(tzexport npy -f x0 r.tz) <(tzexport npy -f x1 r.tz)
  [ "$(head -1 m.tsv)" = "$(printf 'index\tmse\tpsnr\tssim\tmse_obs\tpsnr_obs\tssim_obs')" ]
  [ "$(wc -l <m.tsv)" -eq 18 ]
  [ "$(tail -1 m.tsv | cut -f1)" = mean ]
  # every row, the mean too: restoration = observation, and real numbers
  awk -F'\t' 'NR > 1 { if ($2 != $5 || $3 != $6 || $4 != $7) exit 1
                       if ($2 !~ /^[0-9]/ || $3 !~ /^[0-9]/ || $4 ~ /nan|inf/) exit 1 }' m.tsv
  # --quiet drops the summary, not the scores
  run --separate-stderr restore -q -m u0.tz -n 5 -r clean --metrics m2.tsv iobs.tz -o r2.tz
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  cmp m.tsv m2.tsv
}

@test "the scores: MSE, PSNR and SSIM recomputed with numpy; the mean row is the column means" {
  images 12
  unet 2 u.tz
  tzcat -n 5 iobs.tz | restore -q -m u.tz -n 6 -r clean --data-range 2 --metrics m.tsv -o r.tz
  tzexport npy -f x0 r.tz -o x.npy
  tzexport npy -f x1 r.tz -o y.npy
  tzexport npy -f clean r.tz -o c.npy
  $PY - <<'PY'
import numpy as np
L = 2.0
x, y, c = (np.load(f + ".npy").astype(np.float64) for f in "xyc")
assert x.shape == (12, 1, 28, 28) and not np.array_equal(x, y)

def ssim(a, b):
    w = 11
    g = np.exp(-(np.arange(w) - 5.0) ** 2 / (2 * 1.5 ** 2)); g /= g.sum()
    def f(z):                       # the valid Gaussian filter, rows then columns
        H, W = z.shape[-2:]
        z = sum(g[u] * z[..., u:u + H - w + 1, :] for u in range(w))
        return sum(g[v] * z[..., v:v + W - w + 1] for v in range(w))
    C1, C2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    ma, mb = f(a), f(b)
    va, vb, cab = f(a * a) - ma ** 2, f(b * b) - mb ** 2, f(a * b) - ma * mb
    s = (2 * ma * mb + C1) * (2 * cab + C2) / ((ma ** 2 + mb ** 2 + C1) * (va + vb + C2))
    return s.mean()

def scores(a):
    mse = ((a - c) ** 2).reshape(len(a), -1).mean(1)
    return [mse, 10 * np.log10(L ** 2 / mse), np.array([ssim(a[i], c[i]) for i in range(len(a))])]

want = np.stack(scores(x) + scores(y), 1)
rows = [l.rstrip("\n").split("\t") for l in open("m.tsv")][1:]
got = np.array([[float(v) for v in r[1:]] for r in rows])
assert [r[0] for r in rows] == [str(i) for i in range(12)] + ["mean"], rows
close = lambda a, b: np.all(np.abs(a - b) <= 1e-4 * np.abs(b) + 1e-9)
assert close(got[:12], want), (got[:12], want)
assert close(got[12], got[:12].mean(0)), (got[12], got[:12].mean(0))
assert close(got[12], want.mean(0))
PY
}

@test "usage errors (status 1) and data errors (status 2, naming the file and record)" {
  pairs 100
  si-train --steps 1 pairs.tz -o ode.tz -q
  run --separate-stderr restore -m ode.tz --samples 3 obs.tz -o out.tz
  fails_with 1 "--samples 3 needs --sde"
  run --separate-stderr restore -m ode.tz --sde obs.tz -o out.tz
  fails_with 1 "--sde needs a model trained with --gamma > 0"
  run --separate-stderr restore -m ode.tz --metrics m.tsv obs.tz -o out.tz
  fails_with 1 "--metrics needs --reference NAME"
  tzcat -R x=x0 <(tzdata gmm -c 50) -o g.tz
  si-train --generative --steps 0 g.tz -o gen.tz -q
  run --separate-stderr restore -m gen.tz obs.tz -o out.tz
  fails_with 1 "gen.tz is a generative model: it restores nothing but with --dps"
  run --separate-stderr restore -m ode.tz -r nope --metrics m.tsv obs.tz -o out.tz
  fails_with 2 "obs.tz: record 0: need an f32 reference field 'nope'"
  # the second input lacks the reference: it is the one named
  tzcat -d clean obs.tz -o noref.tz
  run --separate-stderr restore -m ode.tz -r clean --metrics m.tsv obs.tz noref.tz -o out.tz
  fails_with 2 "noref.tz: record 0: need an f32 reference field 'clean'"
  tzcat -d x1 obs.tz -o nox1.tz
  run --separate-stderr restore -m ode.tz nox1.tz -o out.tz
  fails_with 2 "nox1.tz: record 0: need an f32 field 'x1'"
  run --separate-stderr restore -m ode.tz pairs.tz -o out.tz
  fails_with 2 "pairs.tz: record 0: field 'x0' is already there"
  [ ! -e out.tz ]
  [ ! -e m.tsv ]
}

@test "SDE posterior samples: K samples kept, x0 is their mean, sample 0 is --samples 1's" {
  pairs 200
  sde_model
  restore -m sde.tz --sde -k 4 --keep-samples s -n 10 --seed 3 obs.tz -o r4.tz
  run tzinfo r4.tz
  [[ "$output" == *"s            f32  [200,4,2]"* && "$output" == *"x0           f32  [200,2]"* ]]
  restore -m sde.tz --sde -k 1 -n 10 --seed 3 obs.tz -o r1.tz
  pushback -m sde.tz --sde -n 10 --seed 3 obs.tz -o p1.tz
  cmp r1.tz p1.tz
  tzexport npy -f s r4.tz -o s.npy
  tzexport npy -f x0 r4.tz -o x4.npy
  tzexport npy -f x0 r1.tz -o x1.npy
  $PY - <<'PY'
import numpy as np
s, x4, x1 = np.load("s.npy"), np.load("x4.npy"), np.load("x1.npy")
assert s.shape == (200, 4, 2) and s.dtype == np.float32
m = s.astype(np.float64).mean(1)
assert np.allclose(x4, m, rtol=1e-6, atol=1e-6), np.abs(x4 - m).max()
assert np.array_equal(s[:, 0], x1)
for k in range(1, 4):                      # other noise for each sample
    assert (s[:, k] != s[:, 0]).all(1).mean() > 0.9
PY
}

@test "the same bytes whatever the records and threads; another seed, other samples" {
  pairs 150
  sde_model
  opts=(-m sde.tz --sde -k 3 --keep-samples s -n 10 --seed 4 -r clean)
  restore "${opts[@]}" --threads 1 --metrics a.tsv -q obs.tz | tzcat -n 150 -o a.tz
  tzcat -n 7 obs.tz | restore "${opts[@]}" --threads 2 --metrics b.tsv -q | tzcat -n 150 -o b.tz
  cmp a.tz b.tz
  cmp a.tsv b.tsv
  restore "${opts[@]}" --seed 5 --metrics c.tsv -q obs.tz -o c.tz
  run ! cmp -s a.tz c.tz
  run ! cmp -s <(tzexport npy -f s a.tz) <(tzexport npy -f s c.tz)
  run ! cmp -s a.tsv c.tsv
}

@test "--keep-samples with one sample keeps that sample, equal to x0" {
  pairs 100
  sde_model
  restore -m sde.tz --sde --keep-samples s -n 10 obs.tz -o r.tz
  run tzinfo r.tz
  [[ "$output" == *"s            f32  [100,1,2]"* ]]
  tzexport npy -f s r.tz -o s.npy
  tzexport npy -f x0 r.tz -o x.npy
  $PY -c "
import numpy as np; s, x = np.load('s.npy'), np.load('x.npy')
assert np.array_equal(s[:, 0], x), 'the kept sample is not x0'"
}

# Fashion-MNIST images through $1 (observations x1, the clean kept as
# 'clean'), and an untrained generative U-Net of the clean images.
dps_setup() {
  tzdata fashion-mnist --split test -c "${2:-32}" | tzcat -R x=x0 | simulate "$1" -o dp.tz
  tzcat -R x0=clean dp.tz -o do.tz
  si-train --generative --steps 0 --batch 4 --widths 8,16 --mid 1 --groups 4 --temb 16 \
    dp.tz -o g0.tz -q
}

@test "DPS: with an untrained prior (drift 0) it is a normalised descent on |y - A x|: the residual on the observed pixels falls 5-fold" {
  dps_setup mask:p=0.5:noise=0.05
  restore -m g0.tz --dps mask:p=0.5:noise=0.05 --zeta 0 -n 40 do.tz -o z0.tz -q
  restore -m g0.tz --dps mask:p=0.5:noise=0.05 --zeta 1 -n 40 do.tz -o z1.tz -q
  for f in z0 z1; do
    tzexport npy -f x0 $f.tz -o $f-x.npy
    tzexport npy -f x1 $f.tz -o $f-y.npy
    tzexport npy -f mask $f.tz -o $f-m.npy
  done
  $PY - <<'PY'
import numpy as np
def resid(f):
    x, y, m = np.load(f + "-x.npy"), np.load(f + "-y.npy"), np.load(f + "-m.npy")
    r = (x - y) * m.reshape(x.shape)
    return np.sqrt((r.astype(np.float64) ** 2).reshape(len(x), -1).sum(1))
r0, r1 = resid("z0"), resid("z1")
print("residual: zeta 0 %.3f, zeta 1 %.3f" % (r0.mean(), r1.mean()))
# zeta 0 leaves the start, N(0, I) noise, untouched: about sqrt(392); each
# step of zeta 1 moves x by 1 straight towards y, 40 in all
assert 15 < r0.mean() < 25, r0.mean()
assert (r1 < r0 / 5).all(), (r0, r1)
# and what was not observed is not guided: the unobserved pixels keep the start
x0, x1 = np.load("z0-x.npy"), np.load("z1-x.npy")
m = np.load("z1-m.npy").reshape(x0.shape)
assert np.array_equal(x0[m == 0], x1[m == 0])
PY
}

@test "DPS: the same bytes whatever the records and threads; K runs' mean; blur and motion run" {
  dps_setup motion:k=5:noise=0.05 24
  opts=(-m g0.tz --dps motion:k=5:noise=0.05 --zeta 0.3 -n 6 -k 2 --keep-samples s --seed 2)
  restore "${opts[@]}" --threads 1 -q do.tz -o a.tz
  tzcat -n 5 do.tz | restore "${opts[@]}" --threads 2 -q | tzcat -n 24 -o b.tz
  cmp a.tz b.tz
  tzexport npy -f s a.tz -o s.npy
  tzexport npy -f x0 a.tz -o x.npy
  $PY -c "
import numpy as np; s, x = np.load('s.npy'), np.load('x.npy')
assert s.shape == (24, 2, 1, 28, 28)
assert np.allclose(x, s.astype(np.float64).mean(1), atol=1e-6)
assert (s[:, 0] != s[:, 1]).any(axis=(1, 2, 3)).all(), 'the two runs start alike'"
  dps_setup blur:sigma=1:noise=0.05 8
  restore -m g0.tz --dps blur:sigma=1:noise=0.05 -n 4 -r clean --metrics m.tsv do.tz -o c.tz -q
  [ "$(wc -l < m.tsv)" -eq 10 ]
}

@test "DPS: usage and data errors" {
  dps_setup mask:p=0.5 8
  run --separate-stderr restore -m g0.tz --dps jpeg:q=30 do.tz -o out.tz
  fails_with 1 "--dps: jpeg is not a linear operator"
  run --separate-stderr restore -m g0.tz --dps awgn:sigma=0.1,blur do.tz -o out.tz
  fails_with 1 "not white at the output"
  run --separate-stderr restore -m g0.tz --dps mask --sde do.tz -o out.tz
  fails_with 1 "--dps is a method of its own"
  si-train --steps 0 --batch 4 --cond mask --widths 8,16 --mid 1 --groups 4 --temb 16 \
    dp.tz -o cond.tz -q
  run --separate-stderr restore -m cond.tz --dps mask do.tz -o out.tz
  fails_with 1 "cond.tz: DPS needs a generative model"
  si-train --generative --gamma 0.5 --steps 0 --batch 4 --widths 8,16 --mid 1 --groups 4 \
    --temb 16 dp.tz -o gg.tz -q
  run --separate-stderr restore -m gg.tz --dps mask do.tz -o out.tz
  fails_with 1 "DPS needs the plain drift of gamma 0"
  tzcat -d mask do.tz -o nomask.tz
  run --separate-stderr restore -m g0.tz --dps mask nomask.tz -o out.tz
  fails_with 2 "nomask.tz: record 0: DPS needs an f32 field 'mask'"
  [ ! -e out.tz ]
}

@test "--means K1,K2: the means of the first K1, K2 samples as fields x0_meanK, from the kept samples" {
  pairs 120
  sde_model
  restore -m sde.tz --sde -k 4 --keep-samples s --means 1,3,4 -n 10 --seed 6 obs.tz -o r.tz
  for f in s x0 x0_mean1 x0_mean3 x0_mean4; do tzexport npy -f $f r.tz -o $f.npy; done
  $PY - <<'PY'
import numpy as np
s = np.load("s.npy").astype(np.float64)
for k in (1, 3, 4):
    m = np.load("x0_mean%d.npy" % k)
    assert np.array_equal(m, s[:, :k].mean(1).astype(np.float32)), k
assert np.array_equal(np.load("x0_mean1.npy"), np.load("s.npy")[:, 0])
assert np.allclose(np.load("x0.npy"), np.load("x0_mean4.npy"), atol=1e-6)
PY
  # the same without --keep-samples
  restore -m sde.tz --sde -k 4 --means 3 -n 10 --seed 6 obs.tz | tzexport npy -f x0_mean3 -o m3.npy
  cmp m3.npy x0_mean3.npy
  run --separate-stderr restore -m sde.tz --sde -k 4 --means 5 obs.tz -o out.tz
  fails_with 1 "--means needs up to 16 counts from 1 to --samples .4."
  run --separate-stderr restore --classic harmonic --means 1 obs.tz -o out.tz
  fails_with 1 "--means is for samples"
}
