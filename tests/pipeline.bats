#!/usr/bin/env bats
# tests: pipelines/scsi.mk, the SCSI fixed-point loop (man 7 scsi)
# also requires: make, tzdata, tzcat, tzshuf, tzexport, pushback, simulate,
# si-train; /usr/bin/python3 with NumPy; tests/sims/faulty.py

bats_require_minimum_version 1.5.0
load helpers

# The loop with the tools under test; the settings of a small, quick run.
scsi() { make -s -f "$ROOT/pipelines/scsi.mk" BIN="$BIN" "$@"; }
SMALL=(SIM=awgn:sigma=0.5 WIDTH=64 BATCH=256)

# 2000 points of the two moons seen through awgn sigma 0.5, as x1; the
# clean points stay in the stream as x0, which the loop drops.
observe() {
  tzdata moons -c "${1:-2000}" --seed 1 | tzcat -R x=x0 |
    simulate --seed 100 awgn:sigma=0.5 -o obs.tz
}

# mmd2 A.npy B.npy: the squared MMD of two 2-D samples, RBF kernel of
# bandwidth 0.5.
mmd2() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys
import numpy as np
a, b = (np.load(f).reshape(-1, 2).astype(np.float64) for f in sys.argv[1:3])
def k(x, y):
    return np.exp(-((x[:, None] - y[None]) ** 2).sum(-1) / (2 * 0.5 ** 2)).mean()
print("%.6f" % (k(a, a) + k(b, b) - 2 * k(a, b)))
EOF
}

@test "smoke: four iterations on the moons bring the candidates nearer the clean law" {
  observe
  scsi OBS=obs.tz OUT=run/ ITERS=4 INNER=300 "${SMALL[@]}" 2> log
  cat log
  [ "$(grep -c '^scsi: iteration [0-4]/4' log)" -eq 5 ]
  for i in 001 002 003 004; do
    for f in candidates.tz pairs.tz loss.tsv model.tz; do [ -s "run/iter-$i/$f" ]; done
  done
  [ "$(readlink run/final.tz)" = iter-004/model.tz ]
  grep -qx 'ALPHA=0.9' run/hparams.txt
  [ "$(head -1 run/iter-004/loss.tsv)" = "$(printf 'step\tloss\tlr\tgrad_norm')" ]
  # the model's steps go on across the iterations: 4 x 300
  tzinfo run/final.tz | grep -qx '  @step=1200'
  # pairs: y the real observation, x1 the new one, RESAMPLES=2 of each x0;
  # the observations' other fields renamed as theirs
  run tzinfo -b run/iter-004/pairs.tz
  [[ "$output" == *"4000 samples"* ]]
  [ "$(tzinfo -b run/iter-004/pairs.tz | awk 'NR > 1 { print $1 }' | paste -sd,)" = y_label,y,x0,x1 ]

  tzdata moons -c 2000 --seed 9 | tzexport npy -f x -o clean.npy
  tzexport npy -f x1 obs.tz -o obs.npy
  tzcat -d x0 obs.tz | pushback -m run/final.tz | tzexport npy -f x0 -o rec.npy
  before=$(mmd2 obs.npy clean.npy)
  after=$(mmd2 rec.npy clean.npy)
  echo "MMD^2 to the clean law: observations $before, after the loop $after"
  /usr/bin/python3 -c "import sys; sys.exit(not $after < 0.6 * $before)"
}

@test "resume: a run killed with SIGKILL mid-iteration ends with the same bytes; reruns" {
  observe 1500
  set=(OBS=obs.tz ITERS=3 INNER=700 PER_ITER=1000 "${SMALL[@]}")
  scsi -j2 OUT=A THREADS=1 "${set[@]}" 2>/dev/null

  setsid make -s -f "$ROOT/pipelines/scsi.mk" BIN="$BIN" OUT=B THREADS=2 "${set[@]}" \
    2>/dev/null &
  pid=$!
  [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]
  for _ in $(seq 600); do [ -e B/iter-002/loss.tsv.tmp ] && break; sleep 0.05; done
  [ -e B/iter-002/loss.tsv.tmp ]        # killed while si-train trains
  kill -9 -- "-$pid"
  wait "$pid" || true
  [ -e B/iter-001/model.tz ] && [ ! -e B/iter-002/model.tz ] && [ ! -e B/final.tz ]
  scsi OUT=B THREADS=2 "${set[@]}" 2> log
  ! grep -q 'iteration 1/' log            # iteration 1 was whole: not redone
  grep -q 'iteration 2/' log
  cmp A/final.tz B/final.tz
  [ -z "$(find B -name '*.tmp*')" ]

  # A finished run is up to date; a rerun changes nothing.
  scsi -q OUT=A "${set[@]}"
  before=$(stat -c %Y.%y A/*/* A/hparams.txt | sha256sum)
  run --separate-stderr scsi OUT=A "${set[@]}"
  [ "$status" -eq 0 ] && [ -z "$stderr" ]
  [ "$(stat -c %Y.%y A/*/* A/hparams.txt | sha256sum)" = "$before" ]

  # One more iteration goes on from the last.
  cp A/iter-003/model.tz three.tz
  scsi OUT=A "${set[@]/ITERS=3/ITERS=4}" 2> log
  [ "$(grep -c '^scsi: iteration' log)" -eq 1 ] && grep -q 'iteration 4/4' log
  cmp three.tz A/iter-003/model.tz
  [ "$(readlink A/final.tz)" = iter-004/model.tz ]

  # Another learning rate: hparams.txt changes and every iteration reruns.
  run scsi -q OUT=A LR=2e-3 "${set[@]}"
  [ "$status" -eq 1 ]
  grep -qx 'LR=1e-3' A/hparams.txt          # make -q only looked
  scsi OUT=A LR=2e-3 "${set[@]}" 2> log
  [ "$(grep -c '^scsi: iteration' log)" -eq 4 ]
  grep -qx 'LR=2e-3' A/hparams.txt
  ! cmp -s three.tz A/iter-003/model.tz
  [ "$(readlink A/final.tz)" = iter-003/model.tz ]
}

@test "the loop depends on the simulator program's content, not its path, and on SIM_VERSION" {
  observe 300
  mkdir a b
  cp "$SCSI_EXAMPLES/sim_awgn" a/sim
  cp a/sim b/sim
  set=(OBS=obs.tz OUT=run ITERS=1 INNER=5 WIDTH=16 BATCH=64)
  scsi "${set[@]}" SIM_EXEC="a/sim 0.5" 2>/dev/null
  scsi -q "${set[@]}" SIM_EXEC="a/sim 0.5"
  grep -qx "SIM_EXEC=sim@$(sha256sum <a/sim | cut -c1-16) 0.5" run/hparams.txt
  scsi -q "${set[@]}" SIM_EXEC="'$PWD/b/sim' 0.5"        # the same program elsewhere
  run scsi -q "${set[@]}" SIM_EXEC="a/sim 0.6"            # another argument
  [ "$status" -eq 1 ]
  run scsi -q "${set[@]}" SIM_EXEC="a/sim 0.5" SIM_VERSION=2
  [ "$status" -eq 1 ]
  printf '\0' >> a/sim                                   # the program edited
  run scsi -q "${set[@]}" SIM_EXEC="a/sim 0.5"
  [ "$status" -eq 1 ]
  scsi "${set[@]}" SIM_EXEC="a/sim 0.5" 2> log
  grep -q 'iteration 1/1' log
}

@test "COND of two side fields: the model takes both, the real pairs theirs" {
  S=tilt:a=0.05,smooth:sigma=1:jitter=0.2,snr:min=5:max=20
  tzdata gaussian -d 16 --mean 1 --spectrum const:0.01 -c 300 | tzcat -R x=x0 |
    simulate --seed 1 $S | tzcat -d x0,tilt -o obs.tz
  scsi OBS=obs.tz SIM=$S COND=smooth,snr OUT=run ITERS=1 INNER=5 WIDTH=32 BATCH=64 2>/dev/null
  tzinfo run/final.tz | grep -qx '  @cond=smooth,snr'
  tzinfo run/final.tz | grep -qx '  @cond_dim=2'
  [ "$(tzinfo -b run/iter-001/pairs.tz | awk 'NR > 1 { print $1 }' | sort | paste -sd,)" = \
    smooth,snr,tilt,x0,x1,y,y_smooth,y_snr ]
}

@test "a side field of the simulator outside COND: the pairs hold the observation's and a new one" {
  tzdata moons -c 200 | tzcat -R x=x0 | simulate --seed 1 mask:p=0.4 | tzcat -d x0 -o obs.tz
  scsi OBS=obs.tz SIM=mask:p=0.4 OUT=run ITERS=1 INNER=5 WIDTH=16 BATCH=64 2>/dev/null
  [ "$(tzinfo -b run/iter-001/pairs.tz | awk 'NR > 1 { print $1 }' | sort | paste -sd,)" = \
    mask,x0,x1,y,y_label,y_mask ]
  # the first resample of each candidate: y_mask is the observation's, mask
  # the simulator's new draw (40% of 400 entries each: they differ)
  tzcat -n 400 run/iter-001/pairs.tz | tzexport csv -H -f y_mask,mask > m.csv
  awk -F, 'NR > 1 && NR % 2 == 0 { n++; d += ($1 != $3 || $2 != $4) } END { exit !(n == 200 && d > 20) }' m.csv
  tzcat -f mask obs.tz | tzexport csv -H > o.csv
  [ "$(awk -F, 'NR % 2 == 0' m.csv | cut -d, -f1,2)" = "$(sed 1d o.csv)" ]
}

@test "KEEP=0 deletes the intermediates of the iteration before, and they are not remade" {
  observe 500
  scsi OBS=obs.tz OUT=run ITERS=3 INNER=50 KEEP=0 "${SMALL[@]}" 2>/dev/null
  [ ! -e run/iter-002/pairs.tz ] && [ ! -e run/iter-002/candidates.tz ]
  [ -e run/iter-002/model.tz ] && [ -e run/iter-002/loss.tsv ] && [ -e run/iter-003/pairs.tz ]
  scsi -q OBS=obs.tz OUT=run ITERS=3 INNER=50 KEEP=0 "${SMALL[@]}"
}

@test "a failing simulator fails make and leaves no model for the iteration" {
  observe
  run --separate-stderr scsi OBS=obs.tz OUT=run ITERS=2 INNER=20 SIM_EXEC='exit 3' WIDTH=64
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"simulator 'exit 3'"* ]]
  [ -e run/iter-001/candidates.tz ]
  [ ! -e run/iter-001/pairs.tz ] && [ ! -e run/iter-001/model.tz ] && [ ! -e run/final.tz ]

  # This one answers the first record (of two), then dies of SIGSEGV.
  run --separate-stderr scsi OBS=obs.tz OUT=crash ITERS=2 INNER=20 WIDTH=64 \
    SIM_EXEC="exec '$ROOT/tests/sims/faulty.py' crash"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"record 1: no answer: it was killed by signal 11"* ]]
  [ ! -e crash/iter-001/pairs.tz ] && [ ! -e crash/iter-001/model.tz ]
  [ -z "$(find crash -name '*.tmp*')" ]
}

@test "pipefail: a producer that fails after a whole stream fails the target" {
  observe 500
  mkdir fake
  ln -s "$BIN"/* fake/
  rm fake/tzcat
  printf '#!/bin/bash\n"%s/tzcat" "$@"\nexit 9\n' "$BIN" > fake/tzcat
  chmod +x fake/tzcat
  # tzcat | simulate | si-train makes the untrained model
  run make -s -f "$ROOT/pipelines/scsi.mk" BIN="$T/fake" OBS=obs.tz OUT=run ITERS=1 "${SMALL[@]}"
  [ "$status" -ne 0 ]
  [ ! -e run/iter-000/model.tz ]
  # tzcat | pushback makes the candidates
  si-train --steps 0 --width 64 -q <(tzcat -R x1=x0 -f x1 obs.tz | simulate awgn:sigma=0) -o warm.tz
  run make -s -f "$ROOT/pipelines/scsi.mk" BIN="$T/fake" OBS=obs.tz OUT=run ITERS=1 WARM=warm.tz \
    "${SMALL[@]}"
  [ "$status" -ne 0 ]
  [ -e run/iter-000/model.tz ] && [ ! -e run/iter-001/candidates.tz ]
}

@test "usage: OBS and one simulator are required; SDE goes with COMBINED" {
  observe 100
  run scsi OUT=run SIM=awgn
  [ "$status" -ne 0 ] && [[ "$output" == *"give the observations, OBS=FILE"* ]]
  run scsi OBS=obs.tz OUT=run
  [ "$status" -ne 0 ] && [[ "$output" == *"SIM=SPEC or SIM_EXEC=COMMAND"* ]]
  run scsi OBS=obs.tz OUT=run SIM=awgn SIM_EXEC=cat
  [ "$status" -ne 0 ] && [[ "$output" == *"not both"* ]]
  run scsi OBS=obs.tz OUT=run SIM=awgn SDE=1
  [ "$status" -ne 0 ] && [[ "$output" == *"SDE=1 goes with COMBINED=1"* ]]
  run scsi OBS=obs.tz OUT=run SIM=awgn ITERS=1000
  [ "$status" -ne 0 ] && [[ "$output" == *"ITERS must be 0 to 999"* ]]
  [ ! -e run/hparams.txt ]
}

@test "oracle: the loop's network and settings, ITERS x INNER steps on clean pairs; the same bytes for any THREADS; CLEAN required" {
  observe 600
  tzcat -f x0 obs.tz -o clean.tz
  scsi OBS=obs.tz OUT=run ITERS=2 INNER=150 "${SMALL[@]}" GAMMA=0.3 THREADS=1 CLEAN=clean.tz oracle all
  scsi OBS=obs.tz OUT=run2 ITERS=2 INNER=150 "${SMALL[@]}" GAMMA=0.3 THREADS=2 CLEAN=clean.tz oracle
  cmp run/oracle.tz run2/oracle.tz
  # the loop's model and the oracle: the same settings, the same step count
  a() { tzinfo "$1" | grep -E '^  @(arch|width|hidden|gamma|step|lr|temb|ema_decay|clip)=' | sort; }
  diff <(a run/final.tz) <(a run/oracle.tz)
  tzinfo run/oracle.tz | grep -q '^  @step=300$'
  # it learned from clean pairs: its restorations beat the observations
  tzcat -d x0 obs.tz | restore -m run/oracle.tz -n 20 -o r.tz -q
  tzexport npy -f x0 r.tz -o r.npy
  tzexport npy -f x0 obs.tz -o c.npy
  tzexport npy -f x1 obs.tz -o y.npy
  /usr/bin/python3 -c "
import numpy as np; r, c, y = (np.load(f) for f in ('r.npy', 'c.npy', 'y.npy'))
assert ((r - c) ** 2).mean() < 0.8 * ((y - c) ** 2).mean(), (((r - c) ** 2).mean(), ((y - c) ** 2).mean())"
  run --separate-stderr scsi OBS=obs.tz OUT=run3 ITERS=2 INNER=15 "${SMALL[@]}" oracle
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"the target oracle needs CLEAN=FILE"* ]]
  [ ! -e run3/oracle.tz ]
}

@test "self-consistency: each iteration's diagnostic, the gathered table and plot; a wrong simulator raises the alarm" {
  observe
  scsi OBS=obs.tz OUT=good ITERS=3 INNER=300 "${SMALL[@]}" 2> log
  cat log
  for i in 001 002 003; do
    [ "$(head -1 good/iter-$i/consistency.tsv)" = "$(printf 'iteration\tmodel\tmmd2\tmmd2_se\tfloor\tfloor_se\texcess\texcess_se\tn')" ]
  done
  # one row per iteration, each of the model before it, on half of the
  # 2000 candidates; excess = mmd2 - floor; errors above 0
  [ "$(tail -n +2 good/consistency.tsv | cut -f1,2,9 | tr '\t\n' ':,')" = "1:0:1000,2:1:1000,3:2:1000," ]
  awk -F'\t' 'NR > 1 { d = $3 - $5 - $7; if (d > 1e-9 || d < -1e-9 || !($4 > 0) || !($8 > 0)) exit 1 }' good/consistency.tsv
  [ -s good/consistency.png ]
  # the widths: the median distance and its halves
  awk -F, 'NF != 4 || ($2 - $1 / 2) ^ 2 > (1e-5 * $1) ^ 2 || ($4 - $1 / 8) ^ 2 > (1e-5 * $1) ^ 2 { exit 1 }' good/check-bandwidth.txt
  grep -q '^scsi: self-consistency: MMD^2 .* at the last iteration; the last 3 ' log

  # a simulator four times as noisy as the data's cannot reproduce them
  scsi OBS=obs.tz OUT=bad ITERS=3 INNER=300 SIM=awgn:sigma=2 WIDTH=64 BATCH=256 2> log2
  grep -q 'the simulated observations do not match the real ones; check the simulator' log2
  ! grep -q 'do not match' log
  good=$(tail -1 good/consistency.tsv | cut -f7) bad=$(tail -1 bad/consistency.tsv | cut -f7)
  awk -v g="$good" -v b="$bad" 'BEGIN { exit !(b > 10 * g && b > 0) }'
}

@test "self-consistency: CHECK=0 makes none; too few candidates is a clear error; the same bytes on a rerun with other threads" {
  observe 400
  scsi OBS=obs.tz OUT=off ITERS=1 INNER=20 CHECK=0 "${SMALL[@]}"
  [ ! -e off/iter-001/consistency.tsv ] && [ ! -e off/consistency.tsv ]
  scsi OBS=obs.tz OUT=t1 ITERS=2 INNER=20 THREADS=1 "${SMALL[@]}"
  scsi OBS=obs.tz OUT=t2 ITERS=2 INNER=20 THREADS=2 "${SMALL[@]}"
  cmp t1/consistency.tsv t2/consistency.tsv
  run -2 scsi OBS=obs.tz OUT=few ITERS=1 INNER=20 PER_ITER=6 "${SMALL[@]}"
  [[ "$output" == *"iteration 1: 6 candidates are too few for the diagnostic (8 at least; or CHECK=0)"* ]]
}

@test "calibrate: a loop per simulator, their verdicts in one table, the least excess named" {
  observe
  scsi OBS=obs.tz OUT=cal ITERS=2 INNER=300 WIDTH=64 BATCH=256 CALIBRATE="awgn:sigma=2 awgn:sigma=0.5" calibrate 2> log
  cat log
  [ "$(head -1 cal/calibration.tsv)" = "$(printf 'sim\texcess\texcess_se\titerations\tverdict')" ]
  [ "$(tail -n +2 cal/calibration.tsv | cut -f1,4,5 | tr '\t\n' ':,')" = "awgn:sigma=2:2:alarm,awgn:sigma=0.5:2:consistent," ]
  # each run whole, in its own directory, as scsi.mk alone makes it
  for k in 1 2; do [ -L cal/calibrate/$k/final.tz ] && [ -s cal/calibrate/$k/verdict.tsv ]; done
  grep -qx 'SIM=awgn:sigma=2' cal/calibrate/1/hparams.txt
  grep -qx 'scsi: calibrate: least excess with awgn:sigma=0.5; consistent: awgn:sigma=0.5' log
  run -2 scsi OBS=obs.tz OUT=cal2 calibrate
  [[ "$output" == *"the target calibrate needs CALIBRATE='SPEC SPEC ...'"* ]]
}
