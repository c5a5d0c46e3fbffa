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
