#!/usr/bin/env bats
# tests: restore --classic (neighbour fill, harmonic inpainting, linear
# MMSE) and tzdist --images --summary, the documented way to score them
# also requires: tzmoments, tzdist, tzcat, tzexport, tests/npy2tz.py,
#   /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

# 50 correlated 6x6 images (clean), masked (x1) with their masks: data.tz.
fixture() {
  $PY - <<'PY'
import numpy as np
r = np.random.default_rng(9)
z = r.standard_normal((50, 1, 8, 8))
c = (z[:, :, :6, :6] + z[:, :, 1:7, 1:7] + 0.5 * z[:, :, 2:, 2:]) * 0.2 + 0.5
m = (r.random((50, 1, 6, 6)) < 0.5).astype(np.float32)
np.save("clean.npy", c.astype(np.float32))
np.save("x1.npy", (c * m).astype(np.float32))
np.save("mask.npy", m)
PY
  $PY "$ROOT/tests/npy2tz.py" data.tz clean=clean.npy x1=x1.npy mask=mask.npy
}

@test "neighbour: the 4x4 case worked by hand" {
  $PY - <<'PY'
import numpy as np
y = np.zeros((1, 1, 4, 4), np.float32); m = np.zeros_like(y)
y[0, 0, 0, 0], y[0, 0, 3, 3] = 1, 5
m[0, 0, 0, 0] = m[0, 0, 3, 3] = 1
np.save("y.npy", y); np.save("m.npy", m)
PY
  $PY "$ROOT/tests/npy2tz.py" in.tz x1=y.npy mask=m.npy
  restore -q --classic neighbour in.tz -o out.tz
  tzexport -q npy -f x0 out.tz -o x.npy
  $PY -c "
import numpy as np
want = [[1, 1, 1, 3], [1, 1, 3, 5], [1, 3, 5, 5], [3, 5, 5, 5]]
assert (np.load('x.npy')[0, 0] == np.array(want, np.float32)).all(), np.load('x.npy')"
}

@test "harmonic: residual below 1e-6 at masked pixels, observed pixels untouched" {
  fixture
  restore -q --classic harmonic data.tz -o out.tz
  tzexport -q npy -f x0 out.tz -o x.npy
  $PY - <<'PY'
import numpy as np
x = np.load("x.npy").astype(np.float64)[:, 0]; m = np.load("mask.npy")[:, 0] > 0
y = np.load("x1.npy")[:, 0]
assert (x[m] == y[m]).all()
p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
deg = np.pad(np.ones(x.shape), ((0, 0), (1, 1), (1, 1)))
nb = lambda a: a[:, :-2, 1:-1] + a[:, 2:, 1:-1] + a[:, 1:-1, :-2] + a[:, 1:-1, 2:]
res = abs(nb(deg) * x - nb(p))[~m]
assert res.max() < 1e-6, res.max()
PY
}

@test "lmmse: numpy's estimate, noiseless and noisy, to 1e-5" {
  fixture
  tzmoments -q -f clean data.tz -o prior.tz
  for s2 in 0 0.01; do
    restore -q --classic lmmse --prior prior.tz --noise-var $s2 data.tz -o out.tz
    tzexport -q npy -f x0 out.tz -o x.npy
    $PY - $s2 <<'PY'
import sys, numpy as np
s2 = float(sys.argv[1])
c = np.load("clean.npy").reshape(50, -1).astype(np.float64)
y = np.load("x1.npy").reshape(50, -1).astype(np.float64)
m = np.load("mask.npy").reshape(50, -1) > 0
mu, C = c.mean(0), np.cov(c.T)
x = np.load("x.npy").reshape(50, -1)
for i in range(50):
    o = m[i]
    a = np.linalg.solve(C[np.ix_(o, o)] + (s2 + 1e-6) * np.eye(o.sum()), y[i, o] - mu[o])
    e = mu + C[:, o] @ a
    if s2 == 0:
        e[o] = y[i, o]
    assert abs(x[i] - e).max() < 1e-5, (i, abs(x[i] - e).max())
PY
  done
}

@test "the same bytes for any --threads and any records; fields pass through" {
  fixture
  tzmoments -q -f x1 --mask mask data.tz -o prior.tz
  for c in neighbour harmonic lmmse; do
    p=; [ $c = lmmse ] && p="--prior prior.tz"
    restore -q --classic $c $p --threads 1 data.tz -o a.tz
    tzcat -q -n 7 data.tz | restore -q --classic $c $p --threads 3 | tzcat -q -n 50 -o b.tz
    cmp a.tz b.tz
  done
  run tzinfo a.tz
  [[ "$output" == *clean*x1*mask*x0* ]]
}

@test "--metrics: restore's table, and tzdist --images --summary scores the stream" {
  fixture
  restore -q --classic harmonic -r clean --metrics m.tsv data.tz -o out.tz
  [ "$(head -1 m.tsv)" = "$(printf 'index\tmse\tpsnr\tssim\tmse_obs\tpsnr_obs\tssim_obs')" ]
  [ "$(wc -l < m.tsv)" -eq 52 ]
  run --separate-stderr tzdist --images --summary -f x0 --field-b clean out.tz
  [ "$status" -eq 0 ]
  [ "$(cut -f1 <<<"$output" | tr '\n' ' ')" = "metric n mse psnr psnr_of_mse ssim " ]
  mse=$(awk -F'\t' '$1 == "mse" { print $2 }' <<<"$output")
  psnr=$(awk -F'\t' '$1 == "psnr" { print $2 }' <<<"$output")
  pm=$(awk -F'\t' '$1 == "psnr_of_mse" { print $2 }' <<<"$output")
  awk -F'\t' -v a="$mse" -v b="$psnr" '$1 == "mean" { exit !((a - $2)^2 < 1e-12 && (b - $3)^2 < 1e-6) }' m.tsv
  awk -v m="$mse" -v p="$pm" 'BEGIN { d = 10 * log(1 / m) / log(10) - p; exit !(d < 1e-6 && -d < 1e-6) }'
  # one input holding both fields, from standard input
  cat out.tz | tzdist --images --summary -f x0 --field-b clean - | cmp - <(printf '%s\n' "$output")
}

@test "errors: prior of another size, no mask field, NaN, mask not 0/1, usage" {
  fixture
  $PY -c "import numpy as np; np.save('z.npy', np.zeros((3, 1, 4, 4), np.float32))"
  $PY "$ROOT/tests/npy2tz.py" small.tz clean=z.npy
  tzmoments -q -f clean small.tz -o p16.tz
  run --separate-stderr restore --classic lmmse --prior p16.tz data.tz -o out.tz
  fails_with 2 "data.tz: record 0: 'x1' has 36 values per sample, the prior 16"
  [ ! -e out.tz ]
  $PY "$ROOT/tests/npy2tz.py" nomask.tz x1=x1.npy
  run --separate-stderr restore --classic harmonic nomask.tz -o out.tz
  fails_with 2 "nomask.tz: record 0: need an f32 mask field 'mask'"
  $PY -c "import numpy as np; x = np.load('x1.npy'); x[7, 0, 0, 1] = np.nan; np.save('n.npy', x)"
  $PY "$ROOT/tests/npy2tz.py" nan.tz x1=n.npy mask=mask.npy
  run --separate-stderr restore --classic neighbour nan.tz -o out.tz
  fails_with 4 "nan.tz: record 0: field 'x1' holds NaN \(sample 7 of the record\)"
  $PY -c "import numpy as np; m = np.load('mask.npy'); m[2, 0, 0, 0] = 2; np.save('m2.npy', m)"
  $PY "$ROOT/tests/npy2tz.py" bad.tz x1=x1.npy mask=m2.npy
  run --separate-stderr restore --classic neighbour bad.tz -o out.tz
  fails_with 2 "bad.tz: record 0: mask 'mask' holds 2, neither 0 nor 1 \(sample 2"
  $PY -c "import numpy as np; np.save('y4.npy', np.zeros((2, 4, 6, 6), np.float32)); np.save('m2c.npy', np.ones((2, 2, 6, 6), np.float32))"
  $PY "$ROOT/tests/npy2tz.py" c4.tz x1=y4.npy mask=m2c.npy
  run --separate-stderr restore --classic harmonic c4.tz -o out.tz
  fails_with 2 "c4.tz: record 0: mask 'mask' has 72 values per sample: need 144 .* or 36"
  run --separate-stderr restore --classic lmmse --prior data.tz data.tz -o out.tz
  fails_with 2 "data.tz: record 0: not a moments file"
  run --separate-stderr restore --classic lmmse data.tz -o out.tz
  fails_with 1 "--prior FILE goes with --classic lmmse"
  run --separate-stderr restore --classic median data.tz -o out.tz
  fails_with 1 "--classic needs neighbour, harmonic, lmmse, deblock or tikhonov; got 'median'"
  run --separate-stderr restore --classic harmonic -m x.tz data.tz -o out.tz
  fails_with 1 "not with -m"
  run --separate-stderr restore data.tz -o out.tz
  fails_with 1 "need -m MODEL or --classic NAME"
  [ ! -e out.tz ]
}

@test "deblock: numpy's filter across the 8x8 block edges; small steps smoothed, real edges and T 0 kept" {
  $PY - <<'PY'
import numpy as np
r = np.random.default_rng(3)
# 2-channel 20x27 images: constant 8x8 blocks (steps between them) plus a
# little noise, and one large step (a real edge) inside
b = r.uniform(0.3, 0.7, (6, 2, 3, 4))
y = np.kron(b, np.ones((8, 8)))[:, :, :20, :27] + 0.01 * r.standard_normal((6, 2, 20, 27))
y[:, :, :, 8:] += 0.6 * (r.random((6, 1, 1, 1)) < 0.5)     # a real edge at column 8 in some
np.save("y.npy", y.astype(np.float32))
PY
  $PY "$ROOT/tests/npy2tz.py" j.tz x1=y.npy
  restore --classic deblock --threshold 0.15 j.tz -o d.tz -q
  restore --classic deblock --threshold 0 j.tz -o d0.tz -q
  tzexport npy -f x0 d.tz -o d.npy
  tzexport npy -f x0 d0.tz -o d0.npy
  $PY - <<'PY'
import numpy as np
y = np.load("y.npy"); d = np.load("d.npy"); d0 = np.load("d0.npy")
assert np.array_equal(d0, y), "threshold 0 is not the identity"
def one_pass(src, t):           # across the edges along the last axis
    out = src.copy(); n = src.shape[-1]
    for e in range(8, n, 8):
        p0, q0 = src[..., e - 1], src[..., e]
        p1 = src[..., e - 2] if e >= 2 else p0
        q1 = src[..., e + 1] if e + 1 < n else q0
        s = np.abs(q0 - p0) < t
        out[..., e - 1] = np.where(s, (p1 + 2 * p0 + q0) / 4, p0)
        out[..., e] = np.where(s, (p0 + 2 * q0 + q1) / 4, q0)
    return out
ref = one_pass(y.astype(np.float32), np.float32(0.15))
ref = one_pass(ref.swapaxes(-1, -2), np.float32(0.15)).swapaxes(-1, -2)
assert np.allclose(d, ref, atol=1e-6), np.abs(d - ref).max()
# away from the horizontal edges (rows 7, 8, 15, 16), a column-8 step of
# 0.15 or more (the real edge) is kept and a smaller one smoothed
rows = [i for i in range(20) if i not in (7, 8, 15, 16)]
step = np.abs(y[..., rows, 8] - y[..., rows, 7])
keep, smooth = step >= 0.15, step < 0.15
assert keep.sum() > 10 and smooth.sum() > 10, (keep.sum(), smooth.sum())
assert np.array_equal(d[..., rows, 7][keep], y[..., rows, 7][keep])
assert (d[..., rows, 7][smooth] != y[..., rows, 7][smooth]).all()
# inside a block, away from its edges, nothing moves
assert np.array_equal(d[..., 2:6, 2:6], y[..., 2:6, 2:6])
PY
  run --separate-stderr restore --classic deblock <(tzdata gmm -c 5 | tzcat -R x=x1) -o out.tz
  fails_with 2 "deblock needs f32 images"
}
