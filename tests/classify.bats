#!/usr/bin/env bats
# tests: classify (train, eval, features), fid --classifier, and the QUICK
#   variant of scripts/classifier (make classifier)
# also requires: tzdata, tzcat, tzinfo, tzexport, tzimport, fid, si-train,
#   tests/npy2tz.py, /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3
# A small network for the tests that are not about accuracy: seconds, not
# minutes.
SMALL="--widths 8,16 --strides 2,2 --features 16"

metric() { awk -F'\t' -v m="$1" '$1 == m { print $2 }' <<<"$2"; }

# $1 training images and $2 test images of Fashion-MNIST, as train.tz and
# test.tz.
data() {
  tzdata -q fashion-mnist -c "$1" -n 256 -o train.tz
  tzdata -q fashion-mnist --split test -c "$2" -n 256 -o test.tz
}

@test "a short training classifies held-out images far above chance (the default network)" {
  data 2000 500
  classify train -q --threads 1 --seed 1 --steps 300 --batch 64 train.tz -o m.tz
  run --separate-stderr classify eval --threads 1 -m m.tz test.tz
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(cut -f1 <<<"$output" | tr '\n' ' ')" = "metric n correct accuracy loss " ]
  [ "$(metric n "$output")" = 500 ]
  # Chance is 0.1.  The threshold, fixed before this configuration was
  # run: 50 steps of 64 on these 2,000 images already gave 0.754 on these
  # 500 test images, and 300 steps must not do worse; the test split's
  # sampling error at about 0.8 is 0.018, so a working classifier clears
  # 0.75 by several of those and a broken gradient does not come near it.
  acc=$(metric accuracy "$output")
  awk -v a="$acc" 'BEGIN { exit !(a > 0.75) }'
  # the loss is the mean cross-entropy: below chance's ln 10 = 2.30
  awk -v l="$(metric loss "$output")" 'BEGIN { exit !(l > 0 && l < 1) }'
  [ "$(metric correct "$output")" = "$(awk -v a="$acc" 'BEGIN { printf "%d", a * 500 + 0.5 }')" ]
}

@test "the same seed gives the same bytes: --threads 1 and 2, re-batched input, models, features and eval" {
  data 300 130
  classify train -q --threads 1 --seed 3 --steps 20 --batch 16 $SMALL train.tz -o m1.tz
  classify train -q --threads 2 --seed 3 --steps 20 --batch 16 $SMALL train.tz -o m2.tz
  tzcat -q -n 7 train.tz | classify train -q --threads 2 --seed 3 --steps 20 --batch 16 $SMALL \
    -o m3.tz
  cmp m1.tz m2.tz
  cmp m1.tz m3.tz
  # another seed, another model: the comparison can fail
  classify train -q --threads 1 --seed 4 --steps 20 --batch 16 $SMALL train.tz -o m4.tz
  ! cmp -s m1.tz m4.tz
  classify features -q --threads 1 -m m1.tz --logits logits test.tz -o f1.tz
  tzcat -q -n 7 test.tz | classify features -q --threads 2 -m m1.tz --logits logits -o f2.tz
  for f in features logits; do
    tzexport -q npy -f "$f" f1.tz -o "a-$f.npy"
    tzexport -q npy -f "$f" f2.tz -o "b-$f.npy"
    cmp "a-$f.npy" "b-$f.npy"
  done
  [ "$(tzinfo f2.tz | grep -c '^record')" -eq 19 ]     # 130 samples in records of 7
  classify eval -q --threads 1 -m m1.tz test.tz > e1.tsv
  tzcat -q -n 7 test.tz | classify eval -q --threads 2 -m m1.tz > e2.tsv
  cmp e1.tsv e2.tsv
}

@test "features: (N, F) added to every record; eval's accuracy and loss recomputed from the logits in numpy" {
  data 300 150
  classify train -q --seed 1 --steps 30 --batch 16 $SMALL train.tz -o m.tz
  classify features -q -m m.tz --logits logits test.tz -o f.tz
  info=$(tzinfo f.tz)
  echo "$info"
  [[ "$info" == *"features     f32  per-sample [16], 150 rows"* ]]
  [[ "$info" == *"logits       f32  per-sample [10], 150 rows"* ]]
  [[ "$info" == *"x            f32  per-sample [1,28,28], 150 rows"* ]]
  [ "$(grep -c '^record' <<<"$info")" -eq 1 ]
  # the default name, and no logits unless asked
  classify features -q -m m.tz test.tz -o g.tz
  [ "$(tzinfo g.tz | grep -c 'features     f32  per-sample \[16\]')" -eq 1 ]
  ! tzinfo g.tz | grep -q logits
  out=$(classify eval -q -m m.tz test.tz)
  for f in features logits label; do tzexport -q npy -f "$f" f.tz -o "$f.npy"; done
  tzexport -q npy -f params m.tz -o params.npy
  $PY - "$(metric correct "$out")" "$(metric loss "$out")" <<'PY'
import sys, numpy as np
correct, loss = int(sys.argv[1]), float(sys.argv[2])
z = np.load("logits.npy").astype(np.float64); y = np.load("label.npy")
f = np.load("features.npy").astype(np.float64); p = np.load("params.npy").astype(np.float64)
assert (z.argmax(1) == y).sum() == correct, ((z.argmax(1) == y).sum(), correct)
top = z.max(1, keepdims=True)
ce = (np.log(np.exp(z - top).sum(1)) + top[:, 0] - z[np.arange(len(y)), y]).mean()
assert abs(ce - loss) <= 1e-6 * loss, (ce, loss)
# the features are the penultimate layer: the logits are its Linear, the
# parameters' last 16 x 10 weights and 10 biases; after a SiLU, so some
# are negative, none below SiLU's minimum -0.2785
w, b = p[-170:-10].reshape(10, 16), p[-10:]
assert np.abs(f @ w.T + b - z).max() < 1e-4 * np.abs(z).max(), np.abs(f @ w.T + b - z).max()
assert f.min() >= -0.2785 and f.min() < 0 and f.max() > 0
print("ok: %d of %d correct, loss %.6f" % (correct, len(y), ce))
PY
}

@test "fid --classifier: the features' FID and KID, the same bytes as fid on classify's features" {
  data 300 400
  classify train -q --seed 1 --steps 30 --batch 16 $SMALL train.tz -o m.tz
  tzcat -q --head 200 test.tz -o a.tz
  tzcat -q --range 200:400 test.tz -o b.tz
  fid -q --threads 1 --kid-subsets 5 --kid-subset-size 50 --classifier m.tz a.tz b.tz > c.tsv
  for s in a b; do classify features -q -m m.tz "$s.tz" -o "$s-f.tz"; done
  fid -q --threads 1 --kid-subsets 5 --kid-subset-size 50 -f features a-f.tz b-f.tz > f.tsv
  cat c.tsv
  cmp c.tsv f.tsv
  [ "$(metric dim "$(cat c.tsv)")" = 16 ]
  # re-batched input and two threads: the same figures
  tzcat -q -n 7 b.tz | fid -q --threads 2 --kid-subsets 5 --kid-subset-size 50 --classifier m.tz \
    a.tz - > d.tsv
  cmp c.tsv d.tsv
  # a set against itself: 0
  out=$(fid -q --kid-subsets 0 --classifier m.tz a.tz a.tz)
  awk -v f="$(metric fid "$out")" 'BEGIN { exit !(f < 1e-6 && f > -1e-6) }'
  # images of another size: status 2 naming the input and the record
  $PY -c 'import numpy as np; np.save("s.npy", np.zeros((30, 1, 14, 14), np.float32))'
  tzimport -q npy --name x s.npy -o small.tz
  run --separate-stderr fid --classifier m.tz a.tz small.tz
  fails_with 2 "small.tz: record 0: field 'x' holds images of \[1,14,14\]; the classifier takes \[1,28,28\]"
  [ -z "$output" ]
}

@test "errors: missing labels, labels out of range, wrong image shapes, NaN: status 2 or 4 naming the file and record" {
  data 100 50
  classify train -q --steps 2 --batch 8 $SMALL train.tz -o m.tz
  tzcat -q -n 40 -d label train.tz -o nolabel.tz
  run --separate-stderr classify train --steps 1 $SMALL nolabel.tz -o out.tz
  fails_with 2 "nolabel.tz: record 0: no label field 'label'"
  [ ! -e out.tz ]
  run --separate-stderr classify eval -m m.tz nolabel.tz
  fails_with 2 "nolabel.tz: record 0: no label field 'label'"
  [ -z "$output" ]
  # labels 0..9, said to be 0..4: the first 5 or more is named
  tzcat -q -n 40 train.tz -o t40.tz
  run --separate-stderr classify train --steps 1 --classes 5 $SMALL t40.tz -o out.tz
  fails_with 2 "t40.tz: record 0: label field 'label': sample [0-9]+ has label [5-9], outside 0..4"
  [ ! -e out.tz ]
  # labels of another kind: whole f32 numbers pass, 2.5 and -1 do not
  $PY - <<'PY'
import numpy as np
np.save("x.npy", np.random.default_rng(0).random((6, 1, 28, 28), dtype=np.float32))
np.save("y.npy", np.array([0, 1, 2, 3, 4, 9], np.float32))
np.save("yh.npy", np.array([0, 1, 2.5, 3, 4, 9], np.float32))
np.save("yn.npy", np.array([0, 1, 2, -1, 4, 9], np.float32))
np.save("x2.npy", np.random.default_rng(0).random((6, 28, 28), dtype=np.float32))
x = np.random.default_rng(0).random((6, 1, 28, 28), dtype=np.float32); x[4, 0, 3, 3] = np.nan
np.save("xn.npy", x)
PY
  $PY "$ROOT/tests/npy2tz.py" f.tz x=x.npy label=y.npy
  classify eval -q -m m.tz f.tz > /dev/null
  $PY "$ROOT/tests/npy2tz.py" h.tz x=x.npy label=yh.npy
  run --separate-stderr classify eval -m m.tz h.tz
  fails_with 2 "h.tz: record 0: label field 'label'"
  $PY "$ROOT/tests/npy2tz.py" n.tz x=x.npy label=yn.npy
  run --separate-stderr classify train --steps 1 n.tz -o out.tz
  fails_with 2 "n.tz: record 0: label field 'label': sample 3 has label -1, outside 0..9"
  # images without a channel axis, images of another size
  $PY "$ROOT/tests/npy2tz.py" r3.tz x=x2.npy label=y.npy
  for action in "train --steps 1 -o out.tz" "eval -m m.tz" "features -m m.tz -o out.tz"; do
    run --separate-stderr classify $action r3.tz
    fails_with 2 "r3.tz: record 0: field 'x' is f32 \[6,28,28\]; images are f32 \(N, C, H, W\)"
    [ ! -e out.tz ]
  done
  tzimport -q npy --name x x.npy -o x.tz
  $PY -c 'import numpy as np; np.save("s.npy", np.zeros((3, 1, 14, 14), np.float32))'
  tzimport -q npy --name x s.npy -o s.tz
  run --separate-stderr classify features -m m.tz x.tz s.tz -o out.tz
  fails_with 2 "s.tz: record 0: field 'x' holds images of \[1,14,14\]; the classifier takes \[1,28,28\]"
  [ ! -e out.tz ]
  # a record of other images in the training set
  run --separate-stderr classify train --steps 1 f.tz s.tz -o out.tz
  fails_with 2 "s.tz: record 0: field 'x' holds images of \[1,14,14\]; the first record holds \[1,28,28\]"
  # NaN: status 4, the sample named
  $PY "$ROOT/tests/npy2tz.py" nan.tz x=xn.npy label=y.npy
  run --separate-stderr classify features -m m.tz nan.tz -o out.tz
  fails_with 4 "nan.tz: record 0: field 'x' holds NaN \(sample 4 of the input\)"
  [ ! -e out.tz ]
  # a log that cannot be written stops the run: status 3, no model
  run --separate-stderr classify train --steps 3 --batch 4 --log-every 1 --log /dev/full $SMALL \
    f.tz -o out.tz
  fails_with 3 "^classify: /dev/full: write failed: No space left on device$"
  [ ! -e out.tz ]
  classify train -q --steps 3 --batch 4 --log-every 2 --log l.tsv $SMALL f.tz -o out.tz
  [ "$(cut -f1 l.tsv | tr '\n' ' ')" = "step 0 2 " ]
  rm out.tz
  # the field is already there
  classify features -q -m m.tz f.tz -o ff.tz
  run --separate-stderr classify features -m m.tz ff.tz -o out.tz
  fails_with 2 "ff.tz: record 0: field 'features' is already there"
}

@test "usage errors: status 1; a model that is not a classifier: status 2" {
  data 40 10
  classify train -q --steps 1 --batch 4 $SMALL train.tz -o m.tz
  for args in "" "fit train.tz" "eval test.tz" "features test.tz" \
      "train -m m.tz train.tz -o o.tz" "train --widths 8,x train.tz -o o.tz" \
      "train --widths 8,16 --strides 2 train.tz -o o.tz" "train --strides 3,2,2 train.tz -o o.tz" \
      "train --classes 1 train.tz -o o.tz" "features -m m.tz --logits features test.tz" \
      "features -m m.tz --name a=b test.tz" "train --batch 0 train.tz -o o.tz" \
      "train --label $(printf 'l%.0s' {1..64}) train.tz -o o.tz"; do
    run --separate-stderr classify $args
    [ "$status" -eq 1 ] || { echo "classify $args: status $status: $stderr"; return 1; }
    [ -n "$stderr" ] && [ ! -e o.tz ]
  done
  tzdata -q gmm -c 64 | tzcat -q -R x=x0 -o g.tz
  si-train -q --generative --steps 1 --batch 8 g.tz -o si.tz
  run --separate-stderr classify eval -m si.tz test.tz
  fails_with 2 "si.tz: model attribute 'arch' is 'mlp', not cnn: not a classifier"
  run --separate-stderr fid --classifier si.tz test.tz test.tz
  fails_with 2 "not a classifier"
  run --separate-stderr classify eval -m missing.tz test.tz
  fails_with 3 "missing.tz"
}

@test "hostile classifier files: attributes checked before anything is allocated" {
  data 40 10
  classify train -q -L 0 --steps 1 --batch 4 $SMALL train.tz -o m.tz
  classify eval -q -m m.tz test.tz > /dev/null
  # attribute, its value, a bad value of the same length, the message
  while IFS='|' read -r key old new msg; do
    $PY - m.tz "$key" "$old" "$new" <<'PY'
import sys
path, key, old, new = sys.argv[1:]
d = open(path, "rb").read()
a, b = (key + old).encode(), (key + new).encode()
assert len(a) == len(b) and d.count(a) == 1, (a, d.count(a))
open("bad.tz", "wb").write(d.replace(a, b))
PY
    run --separate-stderr classify eval -m bad.tz test.tz
    fails_with 2 "bad.tz: .*$msg" || { echo "$key=$new"; return 1; }
  done <<'CASES'
widths|8,16|9,16|tensor 'params' is missing or not the
widths|8,16|8,1x|model attribute 'widths' is missing or not 2 numbers
strides|2,2|2,3|model attribute 'strides' is missing or not 2 numbers in 1..2
convs|2|9|model attribute 'convs' is 9, outside 1..8
classes|10|99|tensor 'params' is missing or not the
height|28|99|tensor 'params' is missing or not the
features|16|-1|model attribute 'features' is not a whole number
arch|cnn|unt|model attribute 'arch' is 'unt', not cnn
CASES
}

@test "scripts/classifier QUICK (make classifier): trains, reports the test accuracy" {
  mkdir -p tree && ln -s "$BIN" tree/bin && ln -s "$ROOT/scripts" tree/scripts
  run --separate-stderr bash -c "cd tree && THREADS=1 QUICK=1 scripts/classifier"
  echo "$output" "$stderr"
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^"test accuracy: "0\.[0-9]+$ ]]
  r=tree/build/classifier/quick/report.md
  cat "$r"
  grep -q "^| test | 500 | ${output#test accuracy: } |" "$r"
  grep -q "^| training | 2000 | 0\.[0-9]* |" "$r"
  grep -q "Wall time: training [0-9.]* s" "$r"
  grep -q "classify train --threads 1 --seed 1 --steps 100 --batch 64" "$r"
  grep -q "^Command: \`QUICK=1 scripts/classifier\`" "$r"
  [ -s tree/build/classifier/quick/model.tz ]
  # 100 steps of 64 on 2,000 images: far above chance (50 gave 0.754)
  awk -v a="${output#test accuracy: }" 'BEGIN { exit !(a > 0.6) }'
}
