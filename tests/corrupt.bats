#!/usr/bin/env bats
# tests: corrupt
# also requires: tzdata, tzcat, tzinfo, tzexport, /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

fm() { tzdata fashion-mnist --split test -c "${1:-64}" -n "${2:-32}" -o "${3:-f.tz}"; }

@test "the observation replaces the clean field unless --keep; other fields pass" {
  fm 10
  run tzinfo -b <(corrupt awgn:sigma=0.1 f.tz)
  [[ "$output" == *"y "* && "$output" == *"label"* && "$output" != *"  x "* ]]
  run tzinfo -b <(corrupt --keep awgn:sigma=0.1 f.tz)
  [[ "$output" == *"  x "* && "$output" == *"  y "* ]]
  run tzinfo <(corrupt --keep -y obs jpeg:q=30 f.tz)
  [[ "$output" == *"@forward=jpeg:q=30"* && "$output" == *"@forward_seed=0"* ]]
  [[ "$output" == *"obs "*"f32  [10,1,28,28]"* && "$output" == *"quality "*"f32  [10]"* ]]
}

@test "side fields: mask (N,1,H,W), angle and quality (N)" {
  fm 8
  run tzinfo <(corrupt mask:p=0.5,motion:k=5,jpeg:q=10-50 f.tz)
  [[ "$output" == *"mask         f32  [8,1,28,28]"* ]]
  [[ "$output" == *"angle        f32  [8]"* ]]
  [[ "$output" == *"quality      f32  [8]"* ]]
}

@test "mask drops the asked fraction of pixels" {
  fm 500 100
  corrupt mask:p=0.25 f.tz | tzexport npy -f mask -o m.npy
  # 392000 pixels, binomial sd 271: allow 5 sd
  $PY -c "import numpy as np; m = np.load('m.npy'); k = (m == 1).sum(); assert abs(k - 0.75 * m.size) < 5 * 271, k"
}

@test "the same seed gives the same bytes whatever batching and threads" {
  fm 64 64 a.tz
  tzcat -n 5 a.tz -o b.tz
  spec=mask:p=0.5:noise=0.05,motion:k=5,jpeg:q=10-50,poisson:gain=30
  corrupt --seed 8 --threads 1 $spec a.tz -o s1.tz
  corrupt --seed 8 --threads 2 $spec b.tz | tzcat -n 64 -o s2.tz
  cmp s1.tz s2.tz
  corrupt --seed 9 $spec a.tz -o s3.tz
  ! cmp -s s1.tz s3.tz
}

@test "JPEG error falls as quality rises" {
  fm 64
  prev=1
  for q in 10 30 60 90; do
    corrupt --keep jpeg:q=$q f.tz | tzexport npy -f x -o x.npy
    corrupt jpeg:q=$q f.tz | tzexport npy -f y -o y.npy
    e=$($PY -c "import numpy as np; print(((np.load('x.npy') - np.load('y.npy'))**2).mean())")
    awk -v e="$e" -v p="$prev" 'BEGIN { exit !(e < p) }'
    prev=$e
  done
}

@test "measured noise std matches awgn's sigma" {
  fm 200 100
  corrupt --keep awgn:sigma=0.07 f.tz | tzexport npy -f x -o x.npy
  corrupt awgn:sigma=0.07 f.tz | tzexport npy -f y -o y.npy
  # 156800 values: the sample std is within 1% of sigma with margin
  $PY -c "import numpy as np; d = np.load('y.npy') - np.load('x.npy'); assert abs(d.std() - 0.07) < 0.0014, d.std()"
}

@test "1-D spectral operators on (N, L) signals" {
  tzdata gaussian -d 128 --mean 1 --spectrum const:0.0001 -c 50 -o s.tz
  run --separate-stderr tzinfo <(corrupt -L 0 tilt:a=0.05,smooth:sigma=2:jitter=0.05,snr:min=10:max=30 s.tz)
  [ "$status" -eq 0 ]
  [[ "$output" == *"tilt "*"[50]"* && "$output" == *"smooth "*"[50]"* && "$output" == *"snr "*"[50]"* ]]
}

@test "snr: per spectrum, noise of std |mean| / SNR + 1e-4, SNR uniform in [min, max]" {
  tzdata quasar -q -c 400 --seed 1 | tzcat -q -R x=clean -d z,amp,slope,civ_fwhm -o q.tz
  corrupt -q --seed 3 -f clean -y x1 -k snr:min=5:max=20 q.tz -o o.tz
  for f in clean x1 snr; do tzexport -q npy -f $f o.tz -o $f.npy; done
  $PY -c "
import numpy as np
c, y, s = np.load('clean.npy')[:, 0].astype(np.float64), np.load('x1.npy')[:, 0], np.load('snr.npy')
want = abs(c.mean(1)) / s + 1e-4
ratio = (y - c).std(1) / want
print('noise std / predicted: mean', ratio.mean(), 'range', ratio.min(), ratio.max())
assert abs(ratio.mean() - 1) < 0.01 and abs(ratio - 1).max() < 0.15
assert abs((y - c).mean(1) / want).max() < 0.15       # zero mean
assert s.min() >= 5 and s.max() <= 20 and abs(s.mean() - 12.5) < 4 * 15 / np.sqrt(12 * 400)"
}

@test "smooth: the Gaussian of the recorded std, radius ceil(4 std), jittered as asked" {
  $PY -c "
import numpy as np
x = np.zeros((300, 1, 201), np.float32); x[:, 0, 100] = 1
np.save('spike.npy', x)"
  $PY "$ROOT/tests/npy2tz.py" spike.tz x=spike.npy
  corrupt -q smooth:sigma=3:jitter=0.2 spike.tz -o o.tz
  for f in y smooth; do tzexport -q npy -f $f o.tz -o $f.npy; done
  $PY -c "
import numpy as np
y, s = np.load('y.npy')[:, 0].astype(np.float64), np.load('smooth.npy').astype(np.float64)
j = np.arange(201) - 100
var = (y * j ** 2).sum(1)
assert abs(y.sum(1) - 1).max() < 1e-5
assert abs(var / s ** 2 - 1).max() < 5e-3, abs(var / s ** 2 - 1).max()
r = np.ceil(4 * s).astype(int)
assert all((y[i, abs(j) > r[i]] == 0).all() and (y[i, abs(j) == r[i]] > 0).all() for i in range(300))
assert s.min() >= 2.4 - 1e-6 and s.max() <= 3.6 + 1e-6
assert abs(s.mean() - 3) < 4 * 1.2 / np.sqrt(12 * 300) and s.std() > 0.3"
}

@test "tilt: 1 + s (j - mid) / mid for the recorded s, s uniform in (-a, a)" {
  $PY -c "import numpy as np; np.save('ones.npy', np.ones((300, 1, 101), np.float32))"
  $PY "$ROOT/tests/npy2tz.py" ones.tz x=ones.npy
  corrupt -q tilt:a=0.05 ones.tz -o o.tz
  for f in y tilt; do tzexport -q npy -f $f o.tz -o $f.npy; done
  $PY -c "
import numpy as np
y, t = np.load('y.npy')[:, 0], np.load('tilt.npy').astype(np.float64)
want = 1 + t[:, None] * (np.arange(101) - 50) / 50
assert abs(y - want).max() < 1e-6
assert abs(t).max() <= 0.05 and abs(t.mean()) < 4 * 0.1 / np.sqrt(12 * 300)
assert abs(t.std() - 0.1 / np.sqrt(12)) < 0.003"
}

@test "the spectra's instrument: the same bytes whatever the threads and records" {
  S=tilt:a=0.05,smooth:sigma=6:jitter=0.05,snr:min=20:max=50
  tzdata quasar -q -c 50 -n 50 --seed 2 -o q.tz
  corrupt -q --threads 1 --seed 4 $S q.tz -o a.tz
  tzcat -q -n 7 q.tz | corrupt -q --threads 2 --seed 4 $S | tzcat -q -n 50 -o b.tz
  cmp a.tz b.tz
}

@test "plain records pass through; operators refuse shapes they cannot take" {
  tzdata gaussian -d 2 -c 10 -p p.tz -o g.tz
  cat p.tz g.tz > pg.tz
  run tzinfo <(corrupt awgn:sigma=1 pg.tz)
  [[ "$output" == *"record 0: plain"* ]]
  run --separate-stderr corrupt blur:sigma=1 g.tz -o out.tz
  fails_with 2 "g.tz: record 0: blur needs images"
  [ ! -e out.tz ]
  $PY -c "import numpy as np; np.save('c2.npy', np.zeros((2, 2, 8, 8), np.float32))"
  tzimport npy c2.npy -o c2.tz
  run --separate-stderr corrupt jpeg c2.tz
  fails_with 2 "jpeg needs 1 or 3 channels; field 'x' has 2"
  run --separate-stderr corrupt down:f=3 c2.tz
  fails_with 2 "down: f=3 does not divide 8x8 images"
}

@test "bad specs are usage errors naming the operator or key" {
  fm 4
  run --separate-stderr corrupt f.tz
  fails_with 1 "unknown operator 'f.tz'"
  run --separate-stderr corrupt
  fails_with 1 "need a forward-model SPEC"
  run --separate-stderr corrupt blur:size=3 f.tz
  fails_with 1 "blur has no parameter 'size'"
  run --separate-stderr corrupt mask:p=2 f.tz
  fails_with 1 "mask: p must be a number in \[0, 1\]; got '2'"
  run --separate-stderr corrupt jpeg:q=0-10 f.tz
  fails_with 1 "jpeg: q must be"
  run --separate-stderr corrupt mask,mask f.tz
  fails_with 1 "appears twice"
  # the spectral operators
  run --separate-stderr corrupt smooth:sigma=0 f.tz
  fails_with 1 "smooth: sigma must be a number in \[0.001, 1000\]; got '0'"
  run --separate-stderr corrupt smooth:jitter=1 f.tz
  fails_with 1 "smooth: jitter must be a number in \[0, 0.99\]"
  run --separate-stderr corrupt smooth:width=2 f.tz
  fails_with 1 "smooth has no parameter 'width'"
  run --separate-stderr corrupt tilt:a=2 f.tz
  fails_with 1 "tilt: a must be a number in \[0, 1\]"
  run --separate-stderr corrupt snr:min=20:max=10 f.tz
  fails_with 1 "snr: min must not exceed max"
  run --separate-stderr corrupt snr:min=0 f.tz
  fails_with 1 "snr: min must be a number"
  run --separate-stderr corrupt tilt,smooth,tilt f.tz
  fails_with 1 "operator 'tilt' appears twice"
  run --separate-stderr corrupt smooth:sigma=1000:jitter=0.5 f.tz -o out.tz
  fails_with 2 "f.tz: record 0: smooth: sigma too large"
  run --separate-stderr corrupt -f nope awgn f.tz -o out.tz
  fails_with 2 "f.tz: record 0: no field 'nope'"
  [ ! -e out.tz ]
}

@test "--help lists every operator" {
  run corrupt --help
  for op in mask blur motion jpeg awgn poisson down smooth tilt snr clip project; do
    [[ "$output" == *"  $op"* ]]
  done
}
