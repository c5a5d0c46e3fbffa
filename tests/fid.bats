#!/usr/bin/env bats
# tests: fid
# also requires: tzdata, tzimport, tzexport, tzcat, tzshuf, tzmoments,
#   tests/npy2tz.py, /usr/bin/python3 with numpy and scipy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

# The value of metric $1 in fid's output $2.
metric() { awk -F'\t' -v m="$1" '$1 == m { print $2 }' <<<"$2"; }

# |$1 - $2| <= $3 max(|$2|, $4): relative, with a floor $4 (default 0).
rel_near() {
  awk -v a="$1" -v b="$2" -v t="$3" -v f="${4:-0}" \
    'BEGIN { d = a - b; m = b < 0 ? -b : b; if (m < f) m = f; exit !(d <= t * m && -d <= t * m) }'
}

# Correlated Gaussian features from elsewhere: $1 samples of $2 values,
# shifted by $3 and scaled by $4, seed $5, as the (N, F) field x of $6
# (through a float32 .npy, as a user would bring them; also kept).
features() {
  $PY - "$@" <<'PY'
import sys, numpy as np
n, f, shift, scale, seed, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), \
    float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
r = np.random.default_rng(seed)
mix = np.random.default_rng(99).standard_normal((f, f)) / np.sqrt(f) + np.eye(f)
x = (r.standard_normal((n, f)) @ mix) * scale + shift + 0.1 * np.arange(f)
np.save(out.replace(".tz", ".npy"), x.astype(np.float32))
PY
  tzimport -q npy "${6%.tz}.npy" -o "$6"
}

# The figures of fid(1) in numpy and scipy, from two .npy files: FID by
# scipy.linalg.sqrtm (the usual way: the root of S1 S2), and KID on one
# subset of all samples (both sets of the same size).
numpy_full() {
  $PY - "$1" "$2" <<'PY'
import sys, numpy as np, scipy.linalg
x = np.load(sys.argv[1]).astype(np.float64); y = np.load(sys.argv[2]).astype(np.float64)
x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
m1, m2, S1, S2 = x.mean(0), y.mean(0), np.cov(x.T), np.cov(y.T)
root = scipy.linalg.sqrtm(S1 @ S2).real
print("fid %.15g" % (((m1 - m2) ** 2).sum() + np.trace(S1) + np.trace(S2) - 2 * np.trace(root)))
if len(x) == len(y):
    m, d = len(x), x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3
    kxx, kyy = k(x, x), k(y, y)
    print("kid %.15g" % ((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                         - 2 * k(x, y).mean()))
PY
}

@test "FID and KID of (N, F) features agree with scipy.linalg.sqrtm and numpy to 1e-6" {
  features 500 24 0 1 1 a.tz
  features 500 24 0.15 1.2 2 b.tz
  run --separate-stderr fid --threads 1 --kid-subsets 1 a.tz b.tz
  [ "$status" -eq 0 ]
  echo "$output"
  [ "$(cut -f1 <<<"$output" | tr '\n' ' ')" = \
    "metric n_a n_b dim fid kid kid_se kid_sd kid_subsets kid_subset_size " ]
  [ "$(metric n_a "$output")" = 500 ] && [ "$(metric dim "$output")" = 24 ]
  [ "$(metric kid_subset_size "$output")" = 500 ] && [ "$(metric kid_se "$output")" = nan ]
  ref=$(numpy_full a.npy b.npy)
  echo "$ref"
  f=$(awk '$1 == "fid" { print $2 }' <<<"$ref") k=$(awk '$1 == "kid" { print $2 }' <<<"$ref")
  awk -v f="$f" -v k="$k" 'BEGIN { exit !(f > 1 && k > 0.01) }'    # far apart: a real test
  rel_near "$(metric fid "$output")" "$f" 1e-6
  rel_near "$(metric kid "$output")" "$k" 1e-6
}

@test "pixel FID and KID of Fashion-MNIST agree with scipy and numpy to 1e-6" {
  tzdata -q fashion-mnist -c 1000 -o a.tz
  tzdata -q fashion-mnist --split test -c 1000 -o b.tz
  tzexport -q npy -f x a.tz -o a.npy
  tzexport -q npy -f x b.tz -o b.npy
  out=$(fid --threads 1 --kid-subsets 1 a.tz b.tz)
  ref=$(numpy_full a.npy b.npy)
  echo "$out"; echo "$ref"
  [ "$(metric dim "$out")" = 784 ]
  rel_near "$(metric fid "$out")" "$(awk '$1 == "fid" { print $2 }' <<<"$ref")" 1e-6
  rel_near "$(metric kid "$out")" "$(awk '$1 == "kid" { print $2 }' <<<"$ref")" 1e-6
}

@test "KID over seeded subsets of reservoir pools is kid.h's draw, recomputed in numpy" {
  features 150 8 0 1 3 a.tz
  features 130 8 0.3 1 4 b.tz
  out=$(fid --threads 1 --seed 7 --kid-pool 100 --kid-subsets 5 --kid-subset-size 40 a.tz b.tz)
  echo "$out"
  [ "$(metric kid_subsets "$out")" = 5 ] && [ "$(metric kid_subset_size "$out")" = 40 ]
  # Philox4x32-10 as rng.h keys it, Algorithm R and the partial
  # Fisher-Yates shuffle as kid.h documents them, written again here.
  ref=$($PY - <<'PY'
import numpy as np
M = 0xFFFFFFFF
def philox(c, k):
    c0, c1, c2, c3 = c; k0, k1 = k
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M, p1 & M, ((p0 >> 32) ^ c3 ^ k1) & M, p0 & M
        k0, k1 = (k0 + 0x9E3779B9) & M, (k1 + 0xBB67AE85) & M
    return [c0, c1, c2, c3]
class Rng:
    def __init__(s, seed, stream, index):
        s.key, s.ctr, s.out = [seed & M, seed >> 32], [0, stream, index & M, index >> 32], []
    def u64(s):
        w = []
        for _ in range(2):
            if not s.out:
                s.out = philox(s.ctr, s.key); s.ctr[0] += 1
            w.append(s.out.pop(0))
        return w[0] << 32 | w[1]
    def below(s, n):
        lim = 2 ** 64 - 1 - (2 ** 64 - 1) % n
        while True:
            v = s.u64()
            if v < lim:
                return v % n
seed, cap, K, m = 7, 100, 5, 40
def pool(x, side):
    p = list(x[:cap])
    for i in range(cap, len(x)):
        j = Rng(seed, 0x4B494400 + side, i).below(i + 1)
        if j < cap:
            p[j] = x[i]
    return np.array(p)
def subset(p, side, k):
    r, slot = Rng(seed, 0x4B494410 + side, k), list(range(len(p)))
    for t in range(m):
        u = t + r.below(len(p) - t)
        slot[t], slot[u] = slot[u], slot[t]
    return p[slot[:m]]
x = np.load("a.npy").astype(np.float64); y = np.load("b.npy").astype(np.float64)
px, py = pool(x, 0), pool(y, 1)
d = x.shape[1]
kern = lambda a, b: (a @ b.T / d + 1) ** 3
v = []
for k in range(K):
    a, b = subset(px, 0, k), subset(py, 1, k)
    kxx, kyy = kern(a, a), kern(b, b)
    v.append((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
             - 2 * kern(a, b).mean())
v = np.array(v)
print("%.15g %.15g %.15g" % (v.mean(), v.std(ddof=1), v.std(ddof=1) / np.sqrt(K)))
PY
)
  echo "numpy: $ref"
  read -r k sd se <<<"$ref"
  rel_near "$(metric kid "$out")" "$k" 1e-6
  rel_near "$(metric kid_sd "$out")" "$sd" 1e-6
  rel_near "$(metric kid_se "$out")" "$se" 1e-6
  # another seed, other subsets
  [ "$(metric kid "$(fid --threads 1 --seed 8 --kid-pool 100 --kid-subsets 5 \
       --kid-subset-size 40 a.tz b.tz)")" != "$(metric kid "$out")" ]
}

@test "a set against itself: FID 0 within 1e-6, from two streams or two fields of one" {
  tzdata -q fashion-mnist -c 1000 -o a.tz
  out=$(fid --threads 1 --kid-subsets 0 a.tz a.tz)
  echo "$out"
  [ "$(cut -f1 <<<"$out" | tr '\n' ' ')" = "metric n_a n_b dim fid " ]
  awk -v f="$(metric fid "$out")" 'BEGIN { exit !(f < 1e-6 && f > -1e-6) }'
  features 300 16 0 1 5 g.tz
  $PY -c 'import numpy as np; np.save("y.npy", np.load("g.npy"))'
  $PY "$ROOT/tests/npy2tz.py" two.tz x=g.npy y=g.npy
  out=$(fid --threads 1 --kid-subsets 0 --field-b y two.tz)
  echo "$out"
  awk -v f="$(metric fid "$out")" 'BEGIN { exit !(f < 1e-6 && f > -1e-6) }'
  # and a shifted copy by exactly the shift's square: |mu1 - mu2|^2 = 16 * 0.5^2
  $PY -c 'import numpy as np; np.save("y.npy", np.load("g.npy") + np.float32(0.5))'
  $PY "$ROOT/tests/npy2tz.py" two.tz x=g.npy y=y.npy
  rel_near "$(metric fid "$(fid --threads 1 --kid-subsets 0 --field-b y two.tz)")" 4 1e-6
}

@test "the same bytes whatever the records; FID and whole-set KID whatever the order" {
  features 700 20 0 1 6 a.tz
  features 600 20 0.2 1 7 b.tz
  fid --threads 1 --kid-subsets 4 --kid-subset-size 200 --kid-pool 500 a.tz b.tz -o one.tsv
  tzcat -q -n 7 a.tz -o a7.tz
  tzcat -q -n 33 b.tz -o b33.tz
  fid --threads 1 --kid-subsets 4 --kid-subset-size 200 --kid-pool 500 a7.tz - < b33.tz \
    -o two.tsv
  cmp one.tsv two.tsv
  tzcat -q --head 600 a.tz -o a6.tz
  tzshuf -q --seed 3 a6.tz -o as.tz
  tzshuf -q --seed 4 b.tz -o bs.tz
  ordered=$(fid --threads 1 --kid-subsets 1 --kid-subset-size 600 a6.tz b.tz)
  shuffled=$(fid --threads 1 --kid-subsets 1 --kid-subset-size 600 as.tz bs.tz)
  echo "$ordered"; echo "$shuffled"
  [ "$(metric n_a "$shuffled")" = 600 ]
  rel_near "$(metric fid "$shuffled")" "$(metric fid "$ordered")" 1e-9
  rel_near "$(metric kid "$shuffled")" "$(metric kid "$ordered")" 1e-9
}

@test "--save-stats writes tzmoments's file; --stats with it gives the two streams' FID" {
  features 400 12 0 1 8 a.tz
  features 300 12 0.1 0.9 9 b.tz
  two=$(fid --threads 1 --kid-subsets 0 --save-stats ref.tz a.tz b.tz)
  tzmoments -q -f x a.tz -o m.tz
  cmp ref.tz m.tz
  run --separate-stderr fid --threads 1 --stats ref.tz b.tz
  [ "$status" -eq 0 ]
  [ "$output" = "$two" ]                  # the same lines, FID to the last digit
  [ "$(metric n_a "$output")" = 400 ]
  # a moments file from tzmoments serves as well, and KID is not printed
  [ "$(fid --threads 1 --stats m.tz b.tz | cut -f1 | tr '\n' ' ')" = "metric n_a n_b dim fid " ]
}

@test "KID: subsets that are the whole pools draw a warning; --kid-subsets 0 none" {
  features 100 4 0 1 1 a.tz
  features 100 4 0 1 2 b.tz
  run --separate-stderr fid --threads 1 --kid-subsets 3 a.tz b.tz
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"KID's subsets are the whole pools (100 samples)"* ]]
  run --separate-stderr fid --threads 1 -q --kid-subsets 0 a.tz b.tz
  [ "$status" -eq 0 ] && [ -z "$stderr" ]
}

@test "errors: field, dimensions, too few samples, NaN and Inf, dtype, stats file; nothing written" {
  features 300 6 0 1 1 a.tz
  features 300 5 0 1 2 b.tz
  run --separate-stderr fid -f nope a.tz a.tz -o out.tsv
  fails_with 2 "fid: a.tz: record 0: no field 'nope'"
  run --separate-stderr fid --field-b label a.tz a.tz
  fails_with 2 "no field 'label'"
  run --separate-stderr fid --save-stats s.tz a.tz b.tz -o out.tsv
  fails_with 2 "feature dimensions differ: a.tz 'x' has 6 values per sample \[6\], b.tz 'x' has 5 \[5\]"
  [ ! -e out.tsv ] && [ ! -e s.tz ]
  tzmoments -q -f x b.tz -o m5.tz
  run --separate-stderr fid --stats m5.tz a.tz
  fails_with 2 "feature dimensions differ: m5.tz 'x' has 5 values per sample \[5\], a.tz 'x' has 6"
  # n > d: 6 samples of 6 values are too few, 7 are enough
  tzcat -q --head 6 a.tz -o a6.tz
  run --separate-stderr fid a6.tz a.tz
  fails_with 2 "a6.tz: 6 samples of 'x' of 6 values each; FID needs at least 7"
  tzcat -q --head 5 b.tz -o b5.tz
  tzmoments -q -f x b5.tz -o few.tz
  run --separate-stderr fid --stats few.tz b.tz
  fails_with 2 "few.tz: 5 samples of 'x' of 5 values each; FID needs at least 6"
  tzcat -q --head 7 a.tz -o a7.tz
  fid -q --kid-subsets 0 a7.tz a.tz > /dev/null
  $PY -c 'import numpy as np; x = np.load("a.npy"); x[204, 3] = np.nan; np.save("n.npy", x)'
  tzimport -q npy -n 100 n.npy -o nan.tz
  run --separate-stderr fid a.tz nan.tz -o out.tsv
  fails_with 4 "nan.tz: record 2: field 'x' holds NaN \(sample 204 of the input\)"
  [ ! -e out.tsv ]
  $PY -c 'import numpy as np; x = np.load("a.npy"); x[5, 0] = -np.inf; np.save("i.npy", x)'
  tzimport -q npy i.npy -o inf.tz
  run --separate-stderr fid inf.tz a.tz
  fails_with 4 "inf.tz: record 0: field 'x' holds Inf \(sample 5 of the input\)"
  tzdata -q fashion-mnist -c 20 -o f.tz
  run --separate-stderr fid -f label f.tz f.tz
  fails_with 2 "f.tz: record 0: field 'label' is i32 of rank 1; fid needs f32 samples"
  run --separate-stderr fid --stats a.tz b.tz
  fails_with 2 "a.tz: record 0: not a moments file"
  tzcat -q --head 0 a.tz -o empty.tz
  run --separate-stderr fid empty.tz a.tz
  fails_with 2 "empty.tz: no samples of 'x'"
}

@test "usage errors: operands, --stats with two inputs or --save-stats, one input alone" {
  features 50 3 0 1 1 a.tz
  run --separate-stderr fid a.tz
  fails_with 1 "one input holds both fields: give --field-b"
  run --separate-stderr fid --stats a.tz a.tz a.tz
  fails_with 1 "--stats takes the place of A: give one input, B; got 2"
  run --separate-stderr fid --stats m.tz --save-stats s.tz a.tz
  fails_with 1 "with --stats there is no stream A"
  run --separate-stderr fid - -
  fails_with 1 "A and B cannot both be standard input"
  run --separate-stderr fid a.tz a.tz a.tz
  fails_with 1 "needs two inputs, A and B, or one holding both fields; got 3"
  run --separate-stderr fid --kid-subset-size 1 a.tz a.tz
  [ "$status" -eq 1 ]
}
