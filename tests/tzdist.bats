#!/usr/bin/env bats
# tests: tzdist
# also requires: tzdata, tzcat, tzimport, tzexport, simulate, corrupt,
#   /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

# Two moons of $1 samples from seed $2 as field x0, into $3.
moons() { tzdata moons -c "$1" --seed "$2" | tzcat -R x=x0 -o "$3"; }

# The value of metric $1 in tzdist's default output $2.
metric() { awk -F'\t' -v m="$1" '$1 == m { print $2 }' <<<"$2"; }

# |$1 - $2| <= $3, for decimal numbers.
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !(d <= t && -d <= t) }'; }

# The formulas of tzdist(1) in numpy, from npy files: A B BANDWIDTH.
# Prints mmd2, the 1-D SWD (where every direction is +-1, so no random
# direction is needed) when the points are 1-D, and the median bandwidth.
numpy_dist() {
  /usr/bin/python3 - "$@" <<'PY'
import sys, numpy as np
x = np.load(sys.argv[1]).astype(np.float64); y = np.load(sys.argv[2]).astype(np.float64)
x, y, s = x.reshape(len(x), -1), y.reshape(len(y), -1), float(sys.argv[3])
k = lambda a, b: np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / (2 * s * s))
n, m = len(x), len(y)
kxx, kyy = k(x, x), k(y, y)
mmd2 = ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * k(x, y).mean())
print("mmd2 %.12g" % mmd2)
if x.shape[1] == 1:
    M = max(n, m); q = (np.arange(M) + 0.5) / M
    # the inverse of the step CDF: the ceil(q n)-th smallest
    qx = np.sort(x[:, 0])[np.ceil(q * n).astype(int) - 1]
    qy = np.sort(y[:, 0])[np.ceil(q * m).astype(int) - 1]
    print("swd %.12g" % np.sqrt(np.mean((qx - qy) ** 2)))
p = np.concatenate([x, y]); kk = min(len(p), 1000)
p = p[(np.arange(kk) * len(p)) // kk]
i, j = np.triu_indices(kk, 1)
print("median %.12g" % np.median(np.sqrt(((p[i] - p[j]) ** 2).sum(-1))))
PY
}

@test "identical inputs: mmd2 about 0, swd exactly 0" {
  moons 1000 1 a.tz
  run --separate-stderr tzdist a.tz a.tz
  [ "$status" -eq 0 ]
  [ "$(cut -f1 <<<"$output" | tr '\n' ' ')" = "metric n_a n_b mmd2 swd bandwidth " ]
  [ "$(metric n_a "$output")" = 1000 ] && [ "$(metric n_b "$output")" = 1000 ]
  [ "$(metric swd "$output")" = 0 ]
  # A set against itself: 2 (A - 1) / n, between -2/n and 0.
  d=$(metric mmd2 "$output")
  awk -v d="$d" 'BEGIN { exit !(d <= 0 && d > -0.002) }'
  [ -z "$stderr" ]
}

@test "moons against noisy moons: far larger mmd2 and swd than a fresh draw" {
  moons 2000 1 a.tz
  moons 2000 2 b.tz
  simulate --seed 3 awgn:sigma=0.5 b.tz -o noisy.tz
  fresh=$(tzdist a.tz noisy.tz)              # x0 of both: two clean draws
  noisy=$(tzdist --field-b x1 a.tz noisy.tz)
  echo "fresh: $fresh"; echo "noisy: $noisy"
  f=$(metric mmd2 "$fresh") n=$(metric mmd2 "$noisy")
  # Measured: fresh -4.8e-4 (moons share their grid of angles, so the cross
  # pairs include near twins and the estimate leans below 0), noisy 0.0118;
  # swd 0.012 and 0.206.
  awk -v f="$f" -v n="$n" 'BEGIN { f = f < 0 ? -f : f; exit !(n > 0.005 && n > 10 * f) }'
  awk -v f="$(metric swd "$fresh")" -v n="$(metric swd "$noisy")" 'BEGIN { exit !(n > 0.1 && n > 5 * f) }'
}

@test "mmd2, the 1-D swd and the median bandwidth agree with numpy" {
  /usr/bin/python3 -c '
import numpy as np
r = np.random.default_rng(4)
np.save("x.npy", r.normal(0, 1, (700, 1)).astype(np.float32))
np.save("y.npy", r.normal(0.4, 1.3, (450, 1)).astype(np.float32))'
  tzimport npy --name x0 x.npy -o x.tz
  tzimport npy --name x0 y.npy -o y.tz
  ours=$(tzdist -s 0.7 x.tz y.tz)
  ref=$(numpy_dist x.npy y.npy 0.7)
  echo "$ours"; echo "$ref"
  near "$(metric mmd2 "$ours")" "$(awk '$1 == "mmd2" { print $2 }' <<<"$ref")" 1e-9
  near "$(metric swd "$ours")" "$(awk '$1 == "swd" { print $2 }' <<<"$ref")" 1e-8
  med=$(tzdist -s median x.tz y.tz)
  near "$(metric bandwidth "$med")" "$(awk '$1 == "median" { print $2 }' <<<"$ref")" 1e-8
  # and in 2-D, where the swd is random but the mmd2 is not
  moons 1200 1 a.tz
  moons 900 2 b.tz
  simulate --seed 1 awgn:sigma=0.3 b.tz -o b1.tz
  tzexport npy -f x0 a.tz -o a.npy
  tzexport npy -f x1 b1.tz -o b.npy
  ours=$(tzdist -s median --field-b x1 a.tz b1.tz)
  med=$(metric bandwidth "$ours")
  ref=$(numpy_dist a.npy b.npy "$med")
  echo "$ours"; echo "$ref"
  near "$med" "$(awk '$1 == "median" { print $2 }' <<<"$ref")" 1e-8
  near "$(metric mmd2 "$ours")" "$(awk '$1 == "mmd2" { print $2 }' <<<"$ref")" 1e-9
}

@test "swd of a set against the set shifted by v is about |v|/sqrt(d)" {
  /usr/bin/python3 -c '
import numpy as np
x = np.random.default_rng(1).normal(0, 1, (1000, 3)).astype(np.float32)
np.save("x.npy", x); np.save("y.npy", x + np.float32([0.6, -0.8, 0.0]))'
  tzimport npy --name x0 x.npy -o x.tz
  tzimport npy --name x0 y.npy -o y.tz
  out=$(tzdist -k 3000 x.tz y.tz)
  echo "$out"
  # |v| = 1, d = 3; the mean of (u.v)^2 over 3000 directions is within
  # 1.5% (1 sd) of 1/3, so the swd within about 1% of 0.577.
  near "$(metric swd "$out")" 0.57735 0.02
}

@test "the same seed gives the same output on any thread count; another seed another swd" {
  moons 1500 1 a.tz
  moons 1500 2 b.tz
  one=$(tzdist --threads 1 --seed 4 a.tz b.tz)
  [ "$(tzdist --threads 2 --seed 4 a.tz b.tz)" = "$one" ]
  other=$(tzdist --threads 2 --seed 5 a.tz b.tz)
  [ "$(metric mmd2 "$other")" = "$(metric mmd2 "$one")" ]
  [ "$(metric swd "$other")" != "$(metric swd "$one")" ]
}

@test "--max takes the first N samples of each input" {
  moons 500 1 a.tz
  moons 400 2 b.tz
  tzcat --head 100 a.tz -o a100.tz
  tzcat --head 100 b.tz -o b100.tz
  out=$(tzdist --max 100 a.tz b.tz)
  [ "$(metric n_a "$out")" = 100 ] && [ "$(metric n_b "$out")" = 100 ]
  [ "$out" = "$(tzdist a100.tz b100.tz)" ]
  # and -o writes the same text to a file; - reads standard input
  tzdist -n 100 -o out.tsv a.tz - < b.tz
  [ "$(cat out.tsv)" = "$out" ]
}

@test "--images: one row per pair, a mean row, values as numpy computes them" {
  tzdata fashion-mnist --split test -c 12 | corrupt --keep blur:sigma=1:noise=0.1 -o obs.tz
  run --separate-stderr tzdist --images -f x --field-b y obs.tz obs.tz
  [ "$status" -eq 0 ]
  echo "$output" > ours.tsv
  [ "$(head -1 ours.tsv)" = "$(printf 'index\tmse\tpsnr\tssim')" ]
  [ "$(wc -l < ours.tsv)" -eq 14 ]
  [ "$(cut -f1 ours.tsv | sed -n '2p;13p;14p' | tr '\n' ' ')" = "0 11 mean " ]
  tzexport npy -f x obs.tz -o x.npy
  tzexport npy -f y obs.tz -o y.npy
  # SSIM by the formula of tzdist(1), the 11 x 11 window written out in 2-D.
  /usr/bin/python3 - <<'PY'
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view as windows
x = np.load("x.npy").astype(np.float64); y = np.load("y.npy").astype(np.float64)
rows = [l.split("\t") for l in open("ours.tsv").read().split("\n")[1:] if l]
g = np.exp(-(np.arange(11) - 5.0) ** 2 / (2 * 1.5 ** 2)); g /= g.sum(); G = np.outer(g, g)
E = lambda im: np.einsum("chwij,ij->chw", windows(im, (11, 11), axis=(1, 2)), G)
c1, c2 = 0.01 ** 2, 0.03 ** 2
ref = []
for a, b in zip(x, y):
    ma, mb = E(a), E(b)
    va, vb, cov = E(a * a) - ma ** 2, E(b * b) - mb ** 2, E(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2))).mean()
    mse = ((a - b) ** 2).mean()
    ref.append((mse, 10 * np.log10(1 / mse), s))
ref = np.array(ref)
ours = np.array([[float(v) for v in r[1:]] for r in rows])
assert ours.shape == (13, 3), ours.shape
print(np.abs(ours[:12] - ref).max(axis=0))
assert np.allclose(ours[:12], ref, rtol=0, atol=1e-5), (ours, ref)
assert np.allclose(ours[12], ours[:12].mean(0), rtol=0, atol=1e-6)
assert 0.2 < ours[:, 2].min() and ours[:, 2].max() < 0.95
PY
}

@test "--images of an image against itself: MSE 0, PSNR inf, SSIM 1" {
  tzdata fashion-mnist --split test -c 3 -o a.tz
  out=$(tzdist --images -f x a.tz a.tz)
  [ "$(sed -n 2p <<<"$out")" = "$(printf '0\t0\tinf\t1')" ]
  [ "$(tail -1 <<<"$out")" = "$(printf 'mean\t0\tinf\t1')" ]
}

@test "--data-range scales PSNR and SSIM's constants" {
  tzdata fashion-mnist --split test -c 4 | corrupt --keep awgn:sigma=0.1 -o obs.tz
  one=$(tzdist --images -f x --field-b y obs.tz obs.tz | tail -1)
  two=$(tzdist --images -r 2 -f x --field-b y obs.tz obs.tz | tail -1)
  # PSNR grows by 20 log10(2) = 6.0206 dB; the MSE stays.
  [ "$(cut -f2 <<<"$one")" = "$(cut -f2 <<<"$two")" ]
  near "$(cut -f3 <<<"$two")" "$(awk -v p="$(cut -f3 <<<"$one")" 'BEGIN { print p + 6.0206 }')" 1e-3
  [ "$(cut -f4 <<<"$one")" != "$(cut -f4 <<<"$two")" ]
}

@test "a missing field is a data error naming the file and the record" {
  tzdata moons -c 10 -n 5 -o a.tz
  moons 10 1 b.tz
  run --separate-stderr tzdist a.tz b.tz
  fails_with 2 "a.tz: record 0: no field 'x0'"
  [ -z "$output" ]
  run --separate-stderr tzdist -f x a.tz b.tz
  fails_with 2 "b.tz: record 0: no field 'x'"
  # The field vanishing in a later segment: records 0 and 1, the end
  # record 2, then record 3 without x.
  { tzcat a.tz; tzcat -d x a.tz; } > c.tz
  run --separate-stderr tzdist -f x c.tz c.tz
  fails_with 2 "c.tz: record 3: no field 'x'"
}

@test "a field that is not f32 is a data error" {
  tzdata moons -c 10 -o a.tz
  run --separate-stderr tzdist -f label a.tz a.tz
  fails_with 2 "a.tz: record 0: field 'label' is i32; tzdist needs f32"
  [ -z "$output" ]
}

@test "different per-sample shapes are a data error" {
  tzdata moons -c 10 -o a.tz
  tzdata gaussian -d 3 -c 10 -o b.tz
  run --separate-stderr tzdist -f x a.tz b.tz
  fails_with 2 "per-sample shapes differ: a.tz 'x' is \[2\], b.tz 'x' is \[3\]"
  [ -z "$output" ]
  tzdata fashion-mnist --split test -c 4 -o f.tz
  run --separate-stderr tzdist --images -f x a.tz a.tz
  fails_with 2 "a.tz: 'x' is \[2\] per sample; --images needs \(C,H,W\) or \(H,W\)"
  tzcat --head 3 f.tz -o f3.tz
  run --separate-stderr tzdist --images -f x f.tz f3.tz
  fails_with 2 "f.tz has 4 samples of 'x', f3.tz has 3 of 'x'"
}

@test "NaN in the input is a numerical failure naming the sample" {
  /usr/bin/python3 -c '
import numpy as np
x = np.zeros((6, 2), np.float32); x[4, 1] = np.nan
np.save("x.npy", x)'
  tzimport npy --name x0 -n 3 x.npy -o x.tz
  moons 10 1 b.tz
  run --separate-stderr tzdist x.tz b.tz
  fails_with 4 "x.tz: record 1: field 'x0' holds NaN \(sample 4 of the input\)"
  [ -z "$output" ]
  # beyond --max it is never read
  run --separate-stderr tzdist --max 3 x.tz b.tz
  [ "$status" -eq 0 ]
}

@test "usage errors exit 1 and print nothing on standard output" {
  moons 10 1 a.tz
  run --separate-stderr tzdist a.tz
  fails_with 1 "one input holds both fields: give --field-b, another field than --field's 'x0'"
  [ -z "$output" ]
  run --separate-stderr tzdist a.tz a.tz a.tz
  fails_with 1 "needs two inputs, A and B, or one holding both fields; got 3"
  run --separate-stderr tzdist --summary a.tz a.tz
  fails_with 1 "--summary needs --images"
  run --separate-stderr tzdist -s wide a.tz a.tz
  fails_with 1 "--bandwidth needs a number > 0 or 'median'; got 'wide'"
  run --separate-stderr tzdist -s -1 a.tz a.tz
  fails_with 1 "--bandwidth needs a number > 0"
  run --separate-stderr tzdist -k 0 a.tz a.tz
  fails_with 1 "--directions must be between 1 and"
  run --separate-stderr tzdist - - < a.tz
  fails_with 1 "cannot both be standard input"
  [ -z "$output" ]
}

@test "a missing file is an I/O error; one sample is too few for the MMD" {
  moons 10 1 a.tz
  run --separate-stderr tzdist a.tz nothere.tz
  fails_with 3 "nothere.tz"
  [ -z "$output" ]
  tzcat --head 1 a.tz -o one.tz
  run --separate-stderr tzdist a.tz one.tz
  fails_with 2 "one.tz: 1 sample of 'x0'; the MMD needs at least 2"
  [ -z "$output" ]
}

@test "--features: the MMD^2 by random features agrees with the exact one within 10% (20,000 features, 3 draws of them)" {
  moons 1000 1 a.tz
  tzdata moons -c 1000 --seed 2 --noise 0.3 | tzcat -R x=x0 -o b.tz
  exact=$(metric mmd2 "$(tzdist -s 0.5 a.tz b.tz)")
  for s in 1 2 3; do
    out=$(tzdist --seed $s -s 0.5 -F 20000 a.tz b.tz)
    [ "$(metric features "$out")" = 20000 ] && [ "$(metric groups "$out")" = 20 ]
    [ "$(metric n_a "$out")" = 1000 ] && [ "$(metric n_b "$out")" = 1000 ]
    near "$(metric mmd2 "$out")" "$exact" "$(awk -v e="$exact" 'BEGIN { print 0.1 * e }')"
  done
  # far from 0: the noisier moons are told apart (exact 2.9e-3)
  awk -v e="$exact" 'BEGIN { exit !(e > 1e-3) }'
}

@test "--features: the same bytes on any thread count and record size; one input's two fields as two inputs" {
  moons 700 1 a.tz
  moons 700 2 b.tz
  tzdist --threads 1 -s 0.5 -F 300 a.tz b.tz > t1
  tzdist --threads 2 -s 0.5 -F 300 a.tz b.tz > t2
  tzcat -n 7 a.tz -o a7.tz
  tzdist --threads 2 -s 0.5 -F 300 a7.tz b.tz > t3
  cmp t1 t2 && cmp t1 t3
  simulate --seed 3 awgn:sigma=0.2 a.tz -o ab.tz
  tzdist -s 0.5 -F 300 -f x0 --field-b x1 ab.tz > one
  tzdist -s 0.5 -F 300 -f x0 --field-b x1 ab.tz ab.tz > two
  cmp one two
  # and another feature seed, another estimate
  tzdist --seed 9 -s 0.5 -F 300 a.tz b.tz > t5
  ! cmp -s t1 t5
}

@test "--features: the jackknife standard error matches the spread of the estimate over fresh draws" {
  # 24 pairs of independent draws of one law: the estimates' std against
  # the mean reported standard error (a chi-square spread of about 15% on
  # 24 draws; the band allows for it)
  for s in $(seq 1 24); do
    tzdata moons --iid -c 800 --seed $s | tzcat -R x=x0 -o u.tz
    tzdata moons --iid -c 800 --seed $((s + 1000)) | tzcat -R x=x0 -o v.tz
    out=$(tzdist -s 0.5 -F 500 u.tz v.tz)
    echo "$(metric mmd2 "$out") $(metric mmd2_se "$out")"
  done > est
  awk '{ s += $1; ss += $1 * $1; se += $2; n++ }
       END { m = s / n; sd = sqrt((ss - n * m * m) / (n - 1)); r = sd / (se / n)
             print "sd/se", r; exit !(r > 0.6 && r < 1.5) }' est
}

@test "--features: usage and data errors" {
  moons 100 1 a.tz
  run -1 tzdist -F 100 -s median a.tz a.tz
  [[ "$output" == *"needs --bandwidth as numbers"* ]]
  run -1 tzdist -F 100 -s 1 --images a.tz a.tz
  run -2 tzdist -F 100 -s 1 --groups 60 a.tz a.tz
  [[ "$output" == *"set A has 100 samples; the jackknife over 60 groups needs at least 120"* ]]
  tzdata gaussian -c 100 -d 3 | tzcat -R x=x0 -o g3.tz
  run -2 tzdist -F 100 -s 1 a.tz g3.tz
  [[ "$output" == *"g3.tz: record 0: 'x0' is "*" per sample, a.tz 'x0' is "* ]]
}

@test "--features --floor: the floor, and the excess with its own error, which pairing makes small" {
  moons 2000 1 r.tz
  moons 2000 2 b.tz
  # A: R's samples through more noise, one for one
  simulate --seed 5 awgn:sigma=0.3 r.tz | tzcat -d x0 -R x1=x0 -o a.tz
  out=$(tzdist -s 1,0.5 -F 2000 --floor r.tz a.tz b.tz)
  [ "$(metric n_r "$out")" = 2000 ] && [ "$(metric bandwidth "$out")" = 1,0.5 ]
  m=$(metric mmd2 "$out") f=$(metric floor "$out") e=$(metric excess "$out")
  near "$e" "$(awk -v m="$m" -v f="$f" 'BEGIN { printf "%.12g", m - f }')" 1e-12
  # the floor is R against B as the plain mode computes it
  [ "$f" = "$(metric mmd2 "$(tzdist -s 1,0.5 -F 2000 r.tz b.tz)")" ]
  # the extra noise is seen: the excess many errors above 0
  awk -v e="$e" -v se="$(metric excess_se "$out")" 'BEGIN { exit !(se > 0 && e > 5 * se) }'
  # A nearly R: the excess's error a small part of either estimate's, as
  # the two share their noise (B's, and R's through A)
  simulate --seed 5 awgn:sigma=0.01 r.tz | tzcat -d x0 -R x1=x0 -o a2.tz
  out=$(tzdist -s 1,0.5 -F 2000 --floor r.tz a2.tz b.tz)
  awk -v se="$(metric excess_se "$out")" -v s1="$(metric mmd2_se "$out")" \
      -v s2="$(metric floor_se "$out")" 'BEGIN { exit !(se > 0 && se < 0.2 * s1 && se < 0.2 * s2) }'
  run -1 tzdist -s 1 --floor r.tz a.tz b.tz
  [[ "$output" == *"--floor needs --features"* ]]
  run -1 tzdist -F 10 -s 1,x a.tz b.tz
  [[ "$output" == *"--bandwidth needs 1 to 16 comma-separated numbers > 0; got '1,x'"* ]]
}
