#!/usr/bin/env bats
# tests: pushback
# also requires: tzdata, tzcat, tzexport, si-train, simulate

bats_require_minimum_version 1.5.0
load helpers

pairs() {
  tzdata gmm -c "${1:-500}" | tzcat -R x=x0 | simulate awgn:sigma=0.5 -o pairs.tz
  tzcat -f x1,label pairs.tz -o obs.tz
}

@test "an untrained model is the identity: x0 = x1 exactly" {
  pairs
  si-train --steps 0 pairs.tz -o m0.tz -q
  pushback -m m0.tz obs.tz -o out.tz
  diff <(tzexport csv -f x0 out.tz) <(tzexport csv -f x1 out.tz)
}

@test "observations and other fields pass through; x0 is added" {
  pairs
  si-train --steps 50 --batch 32 pairs.tz -o m.tz -q
  pushback -m m.tz obs.tz -o out.tz
  diff <(tzexport csv -f x1,label out.tz) <(tzexport csv -f x1,label obs.tz)
  run tzinfo -b out.tz
  [[ "$output" == *"x0 "* && "$output" == *"500 samples"* ]]
}

@test "same bytes whatever the batching; Euler and Heun differ" {
  pairs 300
  si-train --steps 50 --batch 32 pairs.tz -o m.tz -q
  pushback -m m.tz obs.tz | tzcat -n 300 -o a.tz
  tzcat -n 7 obs.tz | pushback -m m.tz | tzcat -n 300 -o b.tz
  cmp a.tz b.tz
  pushback -m m.tz --method heun obs.tz | tzcat -n 300 -o c.tz
  ! cmp -s a.tz c.tz
}

@test "the SDE needs a combined model, and is keyed by the seed" {
  pairs 300
  si-train --steps 30 --batch 32 pairs.tz -o ode.tz -q
  run --separate-stderr pushback -m ode.tz --sde obs.tz
  fails_with 1 "--sde needs a model trained with --gamma > 0 and --combined"
  si-train --steps 30 --batch 32 --combined --gamma 0.5 pairs.tz -o sde.tz -q
  pushback -m sde.tz --sde --seed 1 obs.tz -o s1.tz
  pushback -m sde.tz --sde --seed 1 obs.tz -o s1b.tz
  pushback -m sde.tz --sde --seed 2 obs.tz -o s2.tz
  cmp s1.tz s1b.tz
  ! cmp -s s1.tz s2.tz
}

@test "errors: no model, a missing field, x0 already there, a bad method" {
  pairs 100
  si-train --steps 1 pairs.tz -o m.tz -q
  run --separate-stderr pushback obs.tz
  fails_with 1 "need -m MODEL"
  run --separate-stderr pushback -m m.tz --method rk4 obs.tz
  fails_with 1 "--method must be euler or heun"
  tzcat -R x1=y obs.tz -o noy.tz
  run --separate-stderr pushback -m m.tz noy.tz -o out.tz
  fails_with 2 "noy.tz: record 0: need an f32 field 'x1'"
  [ ! -e out.tz ]
  run --separate-stderr pushback -m m.tz pairs.tz -o out.tz
  fails_with 2 "pairs.tz: record 0: field 'x0' is already there"
  run --separate-stderr pushback -m m.tz -c 10
  fails_with 1 "--count needs a generative model"
}

@test "a combined model needs --sde; --count takes no FILE; a generative model needs --count" {
  pairs 100
  si-train --steps 1 --combined --gamma 0.5 pairs.tz -o c.tz -q
  run --separate-stderr pushback -m c.tz obs.tz
  fails_with 1 "trained with --combined needs --sde"
  tzdata gmm -c 100 | tzcat -R x=x0 -o g.tz
  si-train --generative --steps 1 g.tz -o gen.tz -q
  run --separate-stderr pushback -m gen.tz -c 5 obs.tz
  fails_with 1 "takes no FILE"
  run --separate-stderr pushback -m gen.tz obs.tz
  fails_with 1 "samples with --count N"
}

@test "a U-Net's samples: the same bytes whatever the records and threads" {
  # 28x28 images through the levels 28, 14 and 7: the im2col, Winograd
  # and grouped small-output convolutions all run, with each sample at
  # another place in its blocks and groups when the records change.
  tzdata fashion-mnist --split test -c 70 | tzcat -R x=x0 | simulate mask:p=0.5 -o ip.tz
  si-train --steps 2 --batch 4 --cond mask --widths 8,16 --mid 1 --groups 4 --temb 16 \
    ip.tz -o u.tz -q
  tzcat -f x1,mask ip.tz -o obs.tz
  pushback -m u.tz -n 3 --threads 1 obs.tz | tzcat -n 70 -o a.tz
  tzcat -n 7 obs.tz | pushback -m u.tz -n 3 --threads 2 | tzcat -n 70 -o b.tz
  cmp a.tz b.tz
  run ! cmp -s <(tzexport npy -f x0 a.tz) <(tzexport npy -f x1 a.tz)
}

# Replace attribute KEY's value OLD by NEW (the same length) in raw model $1.
patch_attr() {
  python3 - "$@" <<'PY'
import sys
path, key, old, new = sys.argv[1:]
assert len(old) == len(new)
d = open(path, 'rb').read()
a, b = (key + old).encode(), (key + new).encode()
assert d.count(a) == 1, (a, d.count(a))
open(path, 'wb').write(d.replace(a, b))
PY
}

@test "hostile model files: every attribute checked, the sizes against the tensors, before allocating" {
  pairs 64
  si-train --steps 1 --batch 8 --width 10000 --hidden 1 --gamma 0.5 --combined pairs.tz \
    -o m.tz -q -L 0
  pushback -m m.tz --sde obs.tz -o /dev/null
  # attribute, its value, a bad value, the message
  while IFS='|' read -r key old new msg; do
    cp m.tz bad.tz
    patch_attr bad.tz "$key" "$old" "$new"
    for tool in "pushback -m bad.tz --sde obs.tz" "restore -m bad.tz --sde obs.tz" \
                "si-train -m bad.tz --steps 1 pairs.tz"; do
      run --separate-stderr $tool -o out.tz
      fails_with 2 "model attribute '$key' $msg" || { echo "$tool, $key=$new"; return 1; }
      [ ! -e out.tz ]
    done
  done <<'CASES'
width|10000|1e+04|is not a whole number
width|10000|-1000|is not a whole number
width|10000|99999|is 99999, outside 1..65536
gamma|0.5|nan|is nan, outside
gamma|0.5|inf|is inf, outside
gamma|0.5|-.5|is -.5, outside
combined|1|7|is 7, outside
dim|2|0|is 0, outside 1..
seed|0|x|is not a whole number
CASES
  # A width of 65536 in 9 hidden layers declares 34e9 parameters (137 GB)
  # beside a tensor of 690,002: refused from the declared sizes alone.
  cp m.tz big.tz
  patch_attr big.tz width 10000 65536
  patch_attr big.tz hidden 1 9
  run --separate-stderr pushback -m big.tz --sde obs.tz -o out.tz
  fails_with 2 "tensor 'params' is missing or not the [0-9]+ f32 values the model's attributes make"
}
