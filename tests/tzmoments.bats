#!/usr/bin/env bats
# tests: tzmoments
# also requires: tzexport, tzinfo, tests/npy2tz.py, /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

# 50 correlated 6x6 images (clean), their masked copies (x1, zeros where
# unobserved) and masks: data.tz, and the arrays as .npy.
fixture() {
  $PY - <<'PY'
import numpy as np
r = np.random.default_rng(5)
z = r.standard_normal((50, 1, 8, 8))
c = (z[:, :, :6, :6] + z[:, :, 1:7, 1:7] + 0.5 * z[:, :, 2:, 2:]) * 0.2 + 0.5
m = (r.random((50, 1, 6, 6)) < 0.6).astype(np.float32)
np.save("clean.npy", c.astype(np.float32))
np.save("x1.npy", (c * m).astype(np.float32))
np.save("mask.npy", m)
PY
  $PY "$ROOT/tests/npy2tz.py" data.tz clean=clean.npy x1=x1.npy mask=mask.npy
}

# Compare moments file $1's mean and cov with numpy's estimate ($2: full or
# pairwise) to 1e-9 of the largest value.
check_numpy() {
  tzexport -q npy -f mean "$1" -o mean.npy
  tzexport -q npy -f cov "$1" -o cov.npy
  $PY - "$2" <<'PY'
import sys, numpy as np
mean, cov = np.load("mean.npy"), np.load("cov.npy")
assert mean.dtype == np.float64 and cov.shape == (36, 36), (mean.dtype, cov.shape)
if sys.argv[1] == "full":
    x = np.load("clean.npy").reshape(50, -1).astype(np.float64)
    mu, C = x.mean(0), np.cov(x.T)
else:
    y = np.load("x1.npy").reshape(50, -1).astype(np.float64)
    k = np.load("mask.npy").reshape(50, -1).astype(np.float64)
    mu = (y * k).sum(0) / k.sum(0)
    z = (y - mu) * k
    N = k.T @ k
    C = np.where(N >= 2, z.T @ z / np.maximum(N - 1, 1), 0)
    w, V = np.linalg.eigh(C)
    assert (w < 0).any()            # the clipping is tested, not idle
    C = (V * np.maximum(w, 0)) @ V.T
for a, b in ((mean, mu), (cov, C)):
    e = abs(a - b).max() / abs(b).max()
    assert e < 1e-9, e
PY
}

@test "the full estimator is numpy's mean and np.cov (n - 1) to 1e-9" {
  fixture
  run --separate-stderr tzmoments -f clean data.tz -o m.tz
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"50 samples of 36 values: full estimator"* ]]
  check_numpy m.tz full
  run tzinfo m.tz
  [[ "$output" == *"mean         f64  [36]"* ]]
  [[ "$output" == *"cov          f64  [36,36]"* ]]
  [[ "$output" == *"@count=50"* && "$output" == *"@estimator=full"* ]]
}

@test "--mask: the pairwise estimator, clipped to PSD, is numpy's to 1e-9" {
  fixture
  tzmoments -q -f x1 --mask mask data.tz -o m.tz
  check_numpy m.tz pairwise
  run tzinfo m.tz
  [[ "$output" == *"@estimator=pairwise"* && "$output" == *"@mask=mask"* ]]
}

@test "records cut otherwise give the same bytes (blocks of 64, not records)" {
  fixture
  tzcat -q data.tz data.tz data.tz -o three.tz     # 150 samples: 3 blocks
  tzmoments -q -f x1 --mask mask three.tz -o a.tz
  tzcat -q -n 7 three.tz | tzmoments -q -f x1 --mask mask -o b.tz
  cmp a.tz b.tz
}

@test "errors: no field, no mask field, a mask not 0/1, NaN, no samples" {
  fixture
  run --separate-stderr tzmoments -f nope data.tz -o m.tz
  fails_with 2 "data.tz: record 0: no field 'nope'"
  run --separate-stderr tzmoments -f x1 --mask masque data.tz -o m.tz
  fails_with 2 "data.tz: record 0: no field 'masque'"
  $PY -c "import numpy as np; m = np.load('mask.npy'); m[3, 0, 2, 2] = 0.5; np.save('m2.npy', m)"
  $PY "$ROOT/tests/npy2tz.py" bad.tz x1=x1.npy mask=m2.npy
  run --separate-stderr tzmoments -f x1 --mask mask bad.tz -o m.tz
  fails_with 2 "bad.tz: record 0: mask 'mask' holds 0.5, neither 0 nor 1 \(sample 3"
  $PY -c "import numpy as np; x = np.load('x1.npy'); x[4, 0, 1, 1] = np.nan; np.save('n.npy', x)"
  $PY "$ROOT/tests/npy2tz.py" nan.tz x1=n.npy
  run --separate-stderr tzmoments -f x1 nan.tz -o m.tz
  fails_with 4 "nan.tz: record 0: field 'x1' holds NaN \(sample 4 of the input\)"
  [ ! -e m.tz ]
  tzcat -q --head 0 data.tz -o empty.tz
  run --separate-stderr tzmoments -f x1 empty.tz -o m.tz
  fails_with 2 "no samples of 'x1'"
}
