#!/usr/bin/env bats
# tests: the QUICK=1 variants of the experiment scripts and of the demo
# (scripts/exp-*, scripts/demo) run end to end and report what they
# measured.  The full runs are `make experiments` and `make demo`.
# also requires: /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

ROOT=$BATS_TEST_DIRNAME/..

quick() {   # run a script in a scratch copy of the tree's layout
  mkdir -p tree && ln -s "$SCSI_BIN" tree/bin && ln -s "$ROOT/scripts" tree/scripts
  ln -s "$ROOT/pipelines" tree/pipelines && ln -s "$ROOT/examples" tree/examples
  (cd tree && QUICK=1 "scripts/$1")
}

@test "exp-toy2d QUICK: seeds x repeats scored against i.i.d. references, the floor near 0, SCSI beats the observations" {
  quick exp-toy2d
  t=tree/build/toy2d/quick/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'case\tseed\trepeat\tmodel\tmmd\tswd\tloop_s\trun_s')" ]
  # 2 seeds x 2 repeats of SCSI, 2 repeats each of the floor and the observations
  [ "$(awk -F'\t' '$4 == "scsi"' "$t" | wc -l)" -eq 4 ]
  [ "$(awk -F'\t' '$4 == "clean"' "$t" | wc -l)" -eq 2 ]
  [ "$(awk -F'\t' '$4 == "observed"' "$t" | wc -l)" -eq 2 ]
  # wall times to the millisecond, the whole run at least the loop
  awk -F'\t' '$4 == "scsi" { if ($7 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ || $8 < $7) bad++ } END { exit bad > 0 }' "$t"
  # means: the floor (two independent clean samples) well below the
  # observations, and SCSI after two short iterations below the observations
  awk -F'\t' '{ s[$4] += $5; n[$4]++ } END { f = s["clean"] / n["clean"]; o = s["observed"] / n["observed"]
      m = s["scsi"] / n["scsi"]; exit !(f < o / 5 && f > -o / 5 && m < o) }' "$t"
  [ "$(tail -n +2 tree/build/toy2d/quick/curve.tsv | wc -l)" -eq 2 ]
  grep -q "| moons_awgn | 2 |" tree/build/toy2d/quick/report.md
  grep -q "reference implementation, 5,000 steps" tree/build/toy2d/quick/report.md
}

@test "exp-gaussian QUICK: factors are measured and predicted for each quantity" {
  quick exp-gaussian
  t=tree/build/gaussian/quick/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'snr\tmethod\tquantity\tmeasured_factor\tpredicted_factor')" ]
  # ODE and EM, mean and precision, each a number
  [ "$(tail -n +2 "$t" | wc -l)" -eq 4 ]
  awk -F'\t' 'NR > 1 && $3 == "precision" && $2 == "ode" { ok = ($5 == 0.5) } END { exit !ok }' "$t"
  awk -F'\t' 'NR > 1 && $2 == "em" && $3 == "mean" { ok = ($4 > 0 && $4 < 1) } END { exit !ok }' "$t"
}

@test "demo QUICK: restorations score a higher PSNR than the observations" {
  quick demo
  t=tree/build/demo/quick/metrics.tsv
  [ -s tree/build/demo/quick/grid.png ]
  awk -F'\t' '$1 == "mean" { exit !($3 > $6 + 1) }' "$t"
}
