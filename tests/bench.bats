#!/usr/bin/env bats
# tests: scripts/bench-nn's QUICK=1 variant end to end (tests/bench/bench_nn.c,
#        tests/torch/bench_mlp.py, bench_unet.py, bench_push.py, pushback):
#        a row per case and figure, medians of the pairs within their
#        ranges, si-train's memory, the profiles and the report.  The full run
#        is `make bench`.
# also requires: Debian's python3-torch under /usr/bin/python3 (skipped,
#        saying why, without it), build/*/bench-nn, /usr/bin/time

bats_require_minimum_version 1.5.0
load helpers

@test "bench-nn QUICK: every case paired with PyTorch, medians within [min, max], the report" {
  /usr/bin/python3 -c "import torch" 2> /dev/null ||
    skip "no python3-torch under /usr/bin/python3: the PyTorch side cannot run"
  # two pairs: the median of an even count is the two middle runs' mean
  run --separate-stderr env PAIRS=2 THREADS=1 QUICK=1 OUT_DIR="$T/out" SCSI_BIN="$BIN" \
    BENCH_NN="${SCSI_TEST_BIN:-$ROOT/build/rel}/bench-nn" "$ROOT/scripts/bench-nn"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  t=$T/out/bench.tsv
  [ "$(head -1 "$t")" = "$(printf 'name\tmetric\tthreads\tvalue\ttorch_value\tratio\tpairs\tc_min\tc_max\ttorch_min\ttorch_max')" ]
  # the networks' five figures, the transport's two, the sgemm line: once each
  for c in mlp2d mlp784 unet28 unet32; do
    for m in train_samples_per_s infer_samples_per_s peak_rss_mb train_gflops train_sgemm_fraction; do
      [ "$(awk -F'\t' -v c=$c -v m=$m '$1 == c && $2 == m && $3 == 1' "$t" | wc -l)" -eq 1 ]
    done
  done
  for m in images_per_s peak_rss_mb; do
    [ "$(awk -F'\t' -v m=$m '$1 == "push28" && $2 == m && $3 == 1' "$t" | wc -l)" -eq 1 ]
  done
  [ "$(awk -F'\t' '$1 == "openblas_sgemm_2048" && $4 > 0' "$t" | wc -l)" -eq 1 ]
  [ "$(wc -l < "$t")" -eq 24 ]
  # every paired row: 2 pairs, positive medians within their ranges; the
  # throughputs' ratio theirs, but for the rounding of the three
  awk -F'\t' 'NR > 1 && $1 != "openblas_sgemm_2048" {
      num = "^[0-9]+(\\.[0-9]+)?$"
      for (i = 4; i <= 11; i++) if ($i !~ num) bad++
      if ($7 != 2 || !($4 > 0 && $5 > 0)) bad++
      if ($4 < $8 || $4 > $9 || $5 < $10 || $5 > $11 || $8 > $9 || $10 > $11) bad++
      d = $4 / $5 - $6; tol = $6 * (0.05 / $4 + 0.05 / $5) + 0.006
      if ($2 ~ /_per_s$/ && d * d > tol * tol) bad++
    } END { exit bad > 0 }' "$t"
  grep -q "^step	step	" "$T/out/profile-unet28.tsv"
  grep -q "^step	step	" "$T/out/profile-unet28-t1.tsv"
  r=$T/out/report.md
  grep -q '^Command: `PAIRS=2 THREADS=1 QUICK=1 make bench`' "$r"
  grep -q "^OpenBLAS core type: .*; configuration: OpenBLAS " "$r"
  grep -q "median of PAIRS = 2 interleaved pairs" "$r"
  grep -q "^| UNet-S 3x32x32, batch 64 | train samples/s | 1 | [0-9.]* ([0-9.]*-[0-9.]*) | " "$r"
  grep -q "^| transport, UNet-S 1x28x28 | images/s | 1 | " "$r"
  # si-train's memory: both networks on the 1,000 images, a peak in MB
  m=$T/out/memory.tsv
  [ "$(head -1 "$m")" = "$(printf 'network\tbatch\timages\tthreads\tpeak_rss_mb')" ]
  [ "$(awk -F'\t' 'NR > 1 && $3 == 1000 && $4 == 1 && $5 > 10' "$m" | wc -l)" -eq 2 ]
  grep -q "^| UNet-S | 64 | 1000 | [0-9]* |$" "$r"
  # nothing left behind but the outputs
  [ "$(ls "$T/out")" = "$(printf 'bench.tsv\nmemory.tsv\nprofile-unet28-t1.tsv\nprofile-unet28.tsv\nreport.md')" ]
}
