#!/usr/bin/env bats
# tests: tzdata
# also requires: tzinfo, tzexport, tzcat, /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

mean_std() {  # field column -> "mean std" of that CSV column
  tzexport csv -f "$2" "$1" | awk -F, -v c="$3" '{ s += $c; q += $c * $c; n++ }
    END { m = s / n; printf "%.6f %.6f\n", m, sqrt(q / n - m * m) }'
}

@test "fashion-mnist: 60000 train and 10000 test images in [0,1] with labels" {
  run --separate-stderr bash -c 'tzdata fashion-mnist | tzinfo -b -s'
  [ "$status" -eq 0 ]
  [[ "$output" == *"60000 samples"* ]]
  [[ "$(grep '^x ' <<<"$output")" =~ f32\ +\[1,28,28\]\ +47040000\ +0\ +1 ]]
  [[ "$(grep '^label ' <<<"$output")" =~ i32\ +\[\]\ +60000\ +0\ +9\ +4.5 ]]
  run bash -c 'tzdata fashion-mnist --split test -c 100 | tzinfo -b'
  [[ "$output" == *"100 samples"* ]]
}

@test "fashion-mnist pixels are the idx bytes divided by 255" {
  tzdata fashion-mnist --split test -c 2 -o f.tz
  first=$(tzexport csv -f x f.tz | head -1 | tr , '\n' | awk '{ printf "%d\n", $1 * 255 + 0.5 }' | md5sum)
  want=$(zcat /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | tail -c +17 | head -c 784 | od -An -v -tu1 -w1 | tr -d ' ' | md5sum)
  [ "$first" = "$want" ]
}

@test "moons: make_moons geometry, shift and scale" {
  tzdata moons -c 1000 --noise 0 -o m.tz
  # noise 0: every point on a unit half circle centred (0,0) or (1,0.5)
  tzexport csv -f x,label m.tz | awk -F, '{
      cx = $3 == 0 ? 0 : 1; cy = $3 == 0 ? 0 : 0.5
      r = sqrt(($1 - cx)^2 + ($2 - cy)^2); if (r < 0.9999 || r > 1.0001) bad++ }
    END { exit bad > 0 }'
  tzdata moons -c 1000 --noise 0 --shift -0.5 --scale 4 -o s.tz
  paste -d, <(tzexport csv -f x m.tz) <(tzexport csv -f x s.tz) | awk -F, '{
      if (($1 - 0.5) * 4 - $3 > 1e-5 || ($1 - 0.5) * 4 - $3 < -1e-5) bad++ }
    END { exit bad > 0 }'
}

@test "moons --iid: two draws are independent samples; make_moons' grid draws are not" {
  # The unbiased MMD^2 of two independent samples of one law has mean 0; at
  # n = 4000 per set, s = 0.1 (the moons' noise), its spread from draw to
  # draw is about 7e-5 (measured over 12 pairs), so the mean of 6 pairs has
  # a standard error of about 3e-5: the bound 9e-5 is 3 of them.  Two grid
  # draws share the angles and come out closer than independent samples
  # (about -1.7e-4 each), so the same bound rejects them.
  mmd_mean() {  # mmd_mean FLAG...: the mean MMD^2 of 6 pairs of draws, and of 6 pairs of halves
    for s in 1 2 3 4 5 6; do
      tzdata moons "$@" -c 4000 --seed "$s" | tzcat -R x=x0 -o a.tz
      tzdata moons "$@" -c 4000 --seed $((s + 10)) | tzcat -R x=x0 -o b.tz
      tzdata moons "$@" -c 8000 --seed $((s + 20)) | tzcat -R x=x0 -o c.tz
      tzcat --head 4000 c.tz -o c1.tz
      tzcat --tail 4000 c.tz -o c2.tz
      echo "$(tzdist --threads 1 -s 0.1 a.tz b.tz | awk '$1 == "mmd2" { print $2 }')" \
        "$(tzdist --threads 1 -s 0.1 c1.tz c2.tz | awk '$1 == "mmd2" { print $2 }')"
    done | awk '{ d += $1; h += $2 } END { printf "%.9f %.9f\n", d / NR, h / NR }'
  }
  read -r draws halves < <(mmd_mean --iid)
  awk -v d="$draws" -v h="$halves" 'BEGIN { exit !(d < 9e-5 && d > -9e-5 && h < 9e-5 && h > -9e-5) }'
  read -r draws halves < <(mmd_mean)
  awk -v d="$draws" 'BEGIN { exit !(d < -9e-5) }'
  # every point still on its moon, with the label of its moon
  tzdata moons --iid -c 1000 --noise 0 -o m.tz
  tzexport csv -f x,label m.tz | awk -F, '{
      cx = $3 == 0 ? 0 : 1; cy = $3 == 0 ? 0 : 0.5
      r = sqrt(($1 - cx)^2 + ($2 - cy)^2); if (r < 0.9999 || r > 1.0001) bad++
      if (($3 == 0 && $2 < -1e-6) || ($3 == 1 && $2 > 0.5 + 1e-6)) bad++; n1 += $3 }
    END { exit bad > 0 || n1 < 430 || n1 > 570 }'
  # the first n samples do not depend on --count
  tzdata moons --iid -c 10 --seed 3 -o a.tz
  tzdata moons --iid -c 20 --seed 3 | tzcat --head 10 -o b.tz
  [ "$(tzexport csv -f x a.tz)" = "$(tzexport csv -f x b.tz)" ]
}

@test "gmm: component means on the circle, std as asked" {
  tzdata gmm -c 20000 --components 4 --radius 3 --std 0.2 -o g.tz
  tzexport csv -f x,label g.tz | awk -F, '{
      a = $3 * 3.14159265358979 / 2; dx = $1 - 3 * cos(a); dy = $2 - 3 * sin(a)
      s += dx * dx + dy * dy; n++ }
    END { v = s / (2 * n); exit !(v > 0.038 && v < 0.042) }'
}

@test "checkerboard: points only on black squares" {
  tzdata checkerboard -c 5000 -o c.tz
  tzexport csv -f x c.tz | awk -F, '{
      i = int($1 + 2); j = int($2 + 2)
      if ($1 < -2 || $1 > 2 || $2 < -2 || $2 > 2 || (i + j) % 2) bad++ }
    END { exit bad > 0 }'
}

@test "gaussian: sample covariance matches the params file within 3 standard errors" {
  tzdata gaussian -d 2 --spectrum 4,0.25 --mean 1,-2 -c 40000 -p p.tz -o g.tz
  run tzinfo p.tz
  [[ "$output" == *"cov"*"f64  [2,2]"* ]]
  cov=($(tzexport csv -f cov p.tz | tr , ' '))
  tzexport csv -f x g.tz | awk -F, -v c00="${cov[0]}" -v c01="${cov[1]}" -v c11="${cov[3]}" '
    { s0 += $1; s1 += $2; q00 += $1 * $1; q01 += $1 * $2; q11 += $2 * $2; n++ }
    END { m0 = s0 / n; m1 = s1 / n
      v00 = q00 / n - m0 * m0; v01 = q01 / n - m0 * m1; v11 = q11 / n - m1 * m1
      # standard errors: mean sqrt(c/n) <= 0.01; variance c*sqrt(2/n) <= 0.03
      ok = (m0 - 1)^2 < 0.03^2 && (m1 + 2)^2 < 0.03^2
      ok = ok && (v00 - c00)^2 < 0.09^2 && (v11 - c11)^2 < 0.09^2 && (v01 - c01)^2 < 0.09^2
      exit !ok }'
}

@test "same seed, same samples whatever --batch; other seed, other samples" {
  tzdata gmm -c 100 -n 7 --seed 4 -o a.tz
  tzdata gmm -c 100 -n 100 --seed 4 -o b.tz
  tzcat -n 100 a.tz -o a100.tz
  cmp a100.tz b.tz
  tzdata gmm -c 100 -n 100 --seed 5 -o c.tz
  ! cmp -s b.tz c.tz
}

# ---- quasar spectra -------------------------------------------------------

PY=/usr/bin/python3

# q.tz: $1 spectra of seed $2, and each field as FIELD.npy.
quasars() {
  tzdata quasar -q -c "$1" --seed "${2:-0}" -o q.tz
  for f in x z amp slope civ_fwhm; do tzexport -q npy -f $f q.tz -o $f.npy; done
}

# Python with the documented grid and line list (tzdata(1), QUASAR
# SPECTRA), the spectra as x, z, amp, slope, civ, the continuum cont.
qso_py() {
  $PY - <<PY
import numpy as np
c_kms = 299792.458
lam = 3600 * 2 ** (np.arange(1024) / 1023)
x, z = np.load("x.npy")[:, 0].astype(np.float64), np.load("z.npy").astype(np.float64)
amp, slope = np.load("amp.npy").astype(np.float64), np.load("slope.npy").astype(np.float64)
civ = np.load("civ_fwhm.npy").astype(np.float64)
rest = lam[None, :] / (1 + z[:, None])
cont = amp[:, None] * (rest / 1450) ** slope[:, None]
$1
PY
}

@test "quasar: shapes, fields, the grid's attributes; the continuum as documented between the lines" {
  quasars 300 1
  run tzinfo q.tz
  [[ "$output" == *"x            f32  [300,1,1024]"* ]]
  for f in z amp slope civ_fwhm; do [[ "$output" == *"$f "*"f32  [300]"* ]]; done
  [[ "$output" == *"@lambda_min=3600"* && "$output" == *"@lambda_max=7200"* ]]
  [[ "$output" == *"@source=tzdata quasar n=300 seed=1"* ]]
  # rest 1700-1800 A lies 6 line widths or more from C IV and C III]: the
  # continuum alone, amp (lambda_r / 1450)^slope, to 1e-3
  qso_py '
w = (rest > 1700) & (rest < 1800)
err = abs(x[w] / cont[w] - 1).max()
print("continuum", err, w.sum())
assert err < 1e-3 and w.sum() > 300 * 40'
}

@test "quasar: Si IV, C IV and C III] peak within a pixel of (1 + z) lambda_rest; C IV's width and strength" {
  quasars 500 2
  qso_py '
lines = {"Si IV": 1399.8, "C IV": 1549.06, "C III]": 1908.73}
for name, lr in lines.items():
    at = 1023 * np.log2((1 + z) * lr / 3600)         # the expected pixel
    seen = 0
    for i in range(len(z)):
        a = int(round(at[i]))
        if a < 20 or a > 1021:                       # its peak off the grid
            continue
        lo = a - 20
        peak = lo + np.argmax((x[i] - cont[i])[lo:a + 21])
        assert abs(peak - at[i]) <= 1, (name, i, peak, at[i])
        seen += 1
    print(name, "checked on", seen)
    assert seen >= (5 if name == "C III]" else 500)     # C III]: at z < 2.766
# C IV: its FWHM from the second moment of its profile in ln lambda, against
# civ_fwhm (2 %); its rest EW, the flux of the line over the continuum at
# 1549.06 A, within the documented 30 x [0.5, 1.5]
u = np.log(rest / 1549.06)
w = abs(u) < 0.06
f = np.where(w, x - cont, 0)
m2 = (f * u ** 2).sum(1) / f.sum(1)
fwhm = 2.3548200450309493 * np.sqrt(m2) * c_kms
err = abs(fwhm / civ - 1)
print("C IV FWHM from the profile: worst relative error", err.max())
assert err.max() < 0.02
ew = (f * np.gradient(rest, axis=1)).sum(1) / (amp * (1549.06 / 1450) ** slope)
print("C IV EW", ew.min(), ew.max())
assert ew.min() > 14 and ew.max() < 46'
}

@test "quasar: the documented distributions of z, amp, slope, the C IV width, and the forest's mean transmission" {
  quasars 2000 3
  qso_py '
n = len(z)
def near(v, want, se, what):
    print(what, v, want, se)
    assert abs(v - want) < 4 * se, (what, v, want)
assert z.min() >= 2.75 and z.max() <= 3.25
near(z.mean(), 3.0, 0.5 / np.sqrt(12 * n), "z mean")
near(z.std(), 0.5 / np.sqrt(12), 0.5 / np.sqrt(12) / np.sqrt(1.25 * n), "z std")
la = np.log(amp)
assert la.min() >= np.log(0.5) - 1e-6 and la.max() <= np.log(2) + 1e-6
near(la.mean(), 0, np.log(4) / np.sqrt(12 * n), "ln amp mean")
assert slope.min() >= -2 and slope.max() <= -1
near(slope.mean(), -1.5, 1 / np.sqrt(12 * n), "slope mean")
# civ_fwhm = V r: V log-uniform on [2000, 8000], r uniform on [0.8, 1.25]
assert civ.min() >= 1600 * (1 - 1e-6) and civ.max() <= 10000 * (1 + 1e-6)
r = np.random.default_rng(0).uniform(0.8, 1.25, 10 ** 6)
v = np.exp(np.random.default_rng(1).uniform(np.log(2000), np.log(8000), 10 ** 6))
ref = np.log(v * r)
near(np.log(civ).mean(), ref.mean(), ref.std() / np.sqrt(n), "ln C IV FWHM mean")
near(np.log(civ).std(), ref.std(), ref.std() / np.sqrt(2 * n), "ln C IV FWHM std")
# the forest: x / continuum at rest 1040-1140 A (no line within 4 widths),
# observed above 3700 A, against the Poisson prediction exp(-density int
# (1 + z_k) / c E[1 - exp(-tau exp(-(v/b)^2))] dv) from the documented
# distributions of tau (log-uniform 0.05-5) and b (uniform 150-350 km/s)
w = (rest > 1040) & (rest < 1140) & (lam[None, :] > 3700)
tau = np.exp(np.linspace(np.log(0.05), np.log(5), 300))
b = np.linspace(150, 350, 101)
vv = np.linspace(-2500, 2500, 2001)
T, B = np.meshgrid(tau, b, indexing="ij")
I = np.trapz(1 - np.exp(-T[..., None] * np.exp(-(vv / B[..., None]) ** 2)), vv, axis=-1).mean()
za = np.broadcast_to(lam[None, :] / 1215.67 - 1, x.shape)[w]
pred = np.exp(-100 * (1 + za) / c_kms * I).mean()
seen = (x / cont)[w].mean()
print("forest transmission", seen, "predicted", pred)
assert abs(seen - pred) < 0.01 and 0.6 < seen < 0.85'
}

@test "quasar: the same spectra whatever --batch and --count; another seed, others" {
  tzdata quasar -c 40 -n 7 --seed 4 | tzcat -n 40 -o a.tz
  tzdata quasar -c 40 --seed 4 -o b.tz
  cmp a.tz b.tz
  tzdata quasar -c 90 --seed 4 | tzcat --head 40 | tzcat -n 40 -o c.tz
  tzexport npy -f x b.tz -o b.npy
  tzexport npy -f x c.tz -o c.npy
  cmp b.npy c.npy
  tzdata quasar -c 40 --seed 5 -o d.tz
  tzexport npy -f x d.tz -o d.npy
  ! cmp -s b.npy d.npy
}

@test "bad arguments" {
  run --separate-stderr tzdata
  fails_with 1 "need exactly one SET"
  run --separate-stderr tzdata spirals
  fails_with 1 "unknown set 'spirals'"
  run --separate-stderr tzdata gaussian -d 3 --spectrum 1,2
  fails_with 1 "need 3 positive values"
  run --separate-stderr tzdata fashion-mnist --dir /nonexistent
  fails_with 3 "/nonexistent/train-images-idx3-ubyte.gz"
}
