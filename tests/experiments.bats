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

@test "exp-toy2d QUICK: the metrics table has every column, and SCSI beats the observations" {
  quick exp-toy2d
  t=tree/build/toy2d/quick/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'case\titeration\twall_s\tmmd\tswd\tmmd_observed')" ]
  [ "$(tail -n +2 "$t" | wc -l)" -eq 2 ]
  # after two short iterations the pushed-back observations are already
  # closer to the clean pool than the observations themselves
  awk -F'\t' 'END { exit !($4 < $6) }' "$t"
  grep -q "moons_awgn" tree/build/toy2d/quick/report.md
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
