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
  # every threshold of the time-to-quality scoring met, so that SW2 is scored at every iteration
  TTQ_MMD=1 TTQ_SWD=0 quick exp-toy2d
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
  # time to quality: 2 seeds x 2 iterations x 2 repeats, the whole run's
  # wall time growing with the iterations, and the last iteration's scores
  # those of the final models
  q=tree/build/toy2d/quick/ttq.tsv
  [ "$(head -1 "$q")" = "$(printf 'case\tseed\titeration\trepeat\trun_s\tmmd\tswd_100k')" ]
  [ "$(tail -n +2 "$q" | wc -l)" -eq 8 ]
  awk -F'\t' 'NR > 1 { k = $2 " " $4; if ($3 == 2 && !($5 > w[k])) bad++; w[k] = $5
      if ($7 !~ /^[0-9.e-]+$/ || $7 <= 0) bad++ } END { exit bad > 0 }' "$q"
  diff <(awk -F'\t' 'NR > 1 && $3 == 2 { print $2, $4, $6 }' "$q" | sort) \
    <(awk -F'\t' '$4 == "scsi" { print $2, $3, $5 }' "$t" | sort)
  diff <(awk -F'\t' 'NR > 1 && $3 == 2 { print $2, $4, $7 }' "$q" | sort) \
    <(awk -F'\t' '$4 == "scsi" { print $2, $3, $5 }' tree/build/toy2d/quick/reference.tsv | sort)
  grep -q "Not reached\*\* in 2 iterations" tree/build/toy2d/quick/report.md
  [ -s tree/build/toy2d/quick/ttq.png ]
}

@test "exp-gaussian QUICK: the theory checks out, and factors are measured and predicted under the rule" {
  quick exp-gaussian
  t=tree/build/gaussian/quick/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'snr\tmethod\tquantity\tsteps_counted\tmeasured_factor\tpredicted_factor\tpredicted_euler\toff_by\twithin_15pct')" ]
  # ODE and EM, mean and precision, each a number
  [ "$(tail -n +2 "$t" | wc -l)" -eq 4 ]
  # EM is computed in closed form: measured and predicted agree
  awk -F'\t' 'NR > 1 && $2 == "em" { n++; ok += ($4 > 0 && $5 > 0 && $5 < 1 && ($5 - $6) ^ 2 < 1e-8) } END { exit !(n == 2 && ok == 2) }' "$t"
  # the ODE's precision factor is 1/(1+r) = 0.5 at SNR 1 whatever the model
  awk -F'\t' 'NR > 1 && $2 == "ode" && $3 == "precision" { ok = ($6 > 0.49 && $6 < 0.51) } END { exit !ok }' "$t"
  # every step is listed, counted or not
  [ "$(tail -n +2 tree/build/gaussian/quick/steps.tsv | wc -l)" -eq 8 ]
  grep -q "^difference [0-9.]*e-[0-9]* over" tree/build/gaussian/quick/report.md
}

@test "gaussian-theory: the closed-form step agrees with the integrated moment equations" {
  run /usr/bin/python3 "$ROOT/scripts/gaussian-theory.py" check
  [ "$status" -eq 0 ]
  # the SDE with gamma: the closed form's kappa includes gamma(t)^2 in the
  # variance; without it this row's phi would differ in the third digit
  echo "$output" | awk -F'\t' '$1 == 10 && $2 == 1 && $3 == 1 { d = $4 / $5 - 1; exit !(d * d < 1e-12) }'
}

@test "demo QUICK: restorations score a higher PSNR than the observations" {
  quick demo
  t=tree/build/demo/quick/metrics.tsv
  [ -s tree/build/demo/quick/grid.png ]
  awk -F'\t' '$1 == "mean" { exit !($3 > $6 + 1) }' "$t"
  # every method scored on the same images: the observation, four
  # baselines, SCSI, the clean-covariance LMMSE and the SI-Oracle
  m=tree/build/demo/quick/methods.tsv
  [ "$(tail -n +2 "$m" | wc -l)" -eq 8 ]
  # the PSNR of the mean MSE is at most the mean PSNR (Jensen), and the
  # classical fills beat the zero-filled observation
  awk -F'\t' 'NR > 1 && $5 > $4 + 1e-9 { exit 1 }' "$m"
  awk -F'\t' 'NR == 2 { o = $4 } NR > 2 && $1 ~ /neighbour|harmonic/ { n++; if (!($4 > o + 3)) exit 1 } END { exit n != 2 }' "$m"
  grep -q "PSNR convention" tree/build/demo/quick/report.md
}

@test "exp-restoration QUICK: every method on the same test images, three tasks, DPS tuned on validation images" {
  quick exp-restoration
  q=tree/build/restoration/quick
  t=$q/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'task\tmethod\testimate\tneeds\tmse\tpsnr\tpsnr_of_mse\tssim\twall_s')" ]
  # mask: observation, 3 classical, SCSI ode, clean LMMSE, DPS 2 means,
  # the oracle's ode = 9 rows; each blur: the same with one classical
  [ "$(awk -F'\t' '$1 == "mask"' "$t" | wc -l)" -eq 9 ]
  [ "$(awk -F'\t' '$1 == "gblur"' "$t" | wc -l)" -eq 7 ]
  [ "$(awk -F'\t' '$1 == "motion"' "$t" | wc -l)" -eq 7 ]
  # Jensen: the PSNR of the mean MSE is at most the mean PSNR, every row
  awk -F'\t' 'NR > 1 && $7 > $6 + 1e-9 { exit 1 }' "$t"
  # the classical baselines beat the observation (the fills by 3 dB on
  # masks, the Wiener filter on the blurs)
  awk -F'\t' '$3 == "-" && $2 == "observation" { o[$1] = $6 }
      $2 ~ /harmonic|neighbour/ { if (!($6 > o[$1] + 3)) bad++; n++ }
      $2 ~ /^Wiener/ { if (!($6 > o[$1])) bad++; n++ } END { exit bad || n != 4 }' "$t"
  # the mean of two samples scores above one sample (PSNR rewards the mean)
  awk -F'\t' '$3 == "mean-1" { a[$1 $2] = $6 } $3 == "mean-2" { b[$1 $2] = $6 }
      END { for (k in a) { n++; if (!(b[k] > a[k])) bad++ } exit bad || n != 3 }' "$t"
  # DPS's zeta from the validation images: both tried, per task
  [ "$(tail -n +2 "$q/tuning.tsv" | wc -l)" -eq 6 ]
  for k in mask gblur motion; do [ -s "$q/grid-$k.png" ]; done
  grep -q "PSNR convention" "$q/report.md"
  grep -q "masking: SCSI (ode) at or above" "$q/report.md"
  # KEEP_DPS=1: the mask task again with DPS's rows and tuning taken from
  # its last report, and its settings saying so
  ! grep -q "DPS rows from the run of" "$q/tasks/mask/settings.txt"
  grep "^mask$(printf '\t')DPS" "$t" > dps-before.tsv
  cp "$q/tuning.tsv" tuning-before.tsv
  (cd tree && QUICK=1 KEEP_DPS=1 TASKS=mask scripts/exp-restoration)
  grep "^mask$(printf '\t')DPS" "$t" | cmp - dps-before.tsv
  cmp "$q/tuning.tsv" tuning-before.tsv
  grep -q "DPS rows from the run of $(date -u +%Y-%m-%d) (KEEP_DPS=1)" "$q/tasks/mask/settings.txt"
  [ "$(awk -F'\t' '$1 == "mask"' "$t" | wc -l)" -eq 9 ]
}

@test "exp-jpeg QUICK: five qualities, the deblocking threshold tuned on validation images, the target stated" {
  quick exp-jpeg
  q=tree/build/jpeg/quick
  t=$q/metrics.tsv
  [ "$(head -1 "$t" | cut -f1-9)" = "$(printf 'quality\tin_training_range\tpsnr_observed\tpsnr_deblock\tthreshold\tpsnr_scsi\tssim_observed\tssim_deblock\tssim_scsi')" ]
  [ "$(tail -n +2 "$t" | cut -f1,2 | tr '\t\n' ':,')" = "10:yes,30:yes,50:yes,70:no,90:no," ]
  # the JPEG image gets better with the quality; the tuned filter is at
  # least the image (threshold 0, no filter, is among those tried)
  awk -F'\t' 'NR > 2 && !($3 > p) { exit 1 } NR > 1 { p = $3; if ($4 < $3 - 1e-9) exit 1 }' "$t"
  # 5 thresholds x 5 qualities tried
  [ "$(tail -n +2 "$q/tuning.tsv" | wc -l)" -eq 25 ]
  [ -s "$q/grid.png" ]
  grep -Eq "^Met at (all 5 qualities|[0-4] of 5; missed at quality [0-9])" "$q/report.md"
}

@test "exp-inner-steps QUICK: PSNR checkpoints against the loop's wall time, ODE and SDE, each budget spent" {
  quick exp-inner-steps
  q=tree/build/inner-steps/quick
  t=$q/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'transport\tinner\titeration\tsgd_steps\tloop_s\tpsnr\tssim')" ]
  # 4 configurations, each with checkpoints; SGD steps = iterations x inner;
  # the loop time grows along a configuration and its last checkpoint is
  # past the budget (6 s)
  [ "$(tail -n +2 "$t" | cut -f1,2 | sort -u | wc -l)" -eq 4 ]
  awk -F'\t' 'NR > 1 { if ($4 != $3 * $2) exit 1; k = $1 $2; if (k == pk && !($5 > pl)) exit 1
      pk = k; pl = $5; last[k] = $5 } END { for (k in last) if (last[k] < 6) exit 1 }' "$t"
  [ -s "$q/psnr-wall.png" ]
  grep -q "| ode | 10 |" "$q/report.md"
  grep -q "^- ODE, at the end of the budget: best" "$q/report.md"
  # the report again from metrics.tsv alone: the same text
  cp "$q/report.md" first.md
  (cd tree && QUICK=1 REPORT_ONLY=1 scripts/exp-inner-steps)
  diff first.md "$q/report.md"
}

@test "exp-generation QUICK: three training sets per task and the floor, scored by fid, the target checked" {
  quick exp-generation
  q=tree/build/generation/quick
  t=$q/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'task\ttraining_data\tfid\tkid\tkid_se\twall_s')" ]
  [ "$(tail -n +2 "$t" | cut -f1,2 | tr '\t\n' ':,')" = "mask:clean,mask:restored,mask:corrupted,mask:floor: the training split itself,gblur:clean,gblur:restored,gblur:corrupted,gblur:floor: the training split itself," ]
  # every FID a finite non-negative number; the floor (real images against
  # real images) below every generative model's
  awk -F'\t' 'NR > 1 { if ($3 !~ /^[0-9.e+-]+$/ || !($3 >= 0)) exit 1
      if ($2 ~ /^floor/) fl[$1] = $3; else if (!($1 in lo) || $3 < lo[$1]) lo[$1] = $3 }
      END { for (k in fl) if (!(fl[k] < lo[k])) exit 1 }' "$t"
  [ -s "$q/grid-mask.png" ] && [ -s "$q/grid-gblur.png" ]
  grep -Eq "^- mask: restored/clean FID ratio [0-9.]+ \((within 15%|missed)\)" "$q/report.md"
}

@test "exp-diagnostic QUICK: a run per simulator with its verdict, the curves, the calibration grid and its estimate" {
  quick exp-diagnostic
  q=tree/build/diagnostic/quick
  [ "$(head -1 $q/metrics.tsv)" = "$(printf 'part\tsimulator\ttrue\texcess\texcess_se\tverdict')" ]
  [ "$(tail -n +2 $q/metrics.tsv | cut -f1-3 | tr '\t\n' ':,')" = "moons:sigma=0.5:yes,moons:sigma=1.0:no,mask:p=0.3:no,mask:p=0.5:yes,mask:p=0.7:no,blur:sigma=1.0:yes,blur:sigma=1.3:no," ]
  # the verdict follows the rule: alarm exactly when excess > 3 errors
  awk -F'\t' 'NR > 1 { if (($4 > 3 * $5) != ($6 == "alarm") || !($5 > 0)) exit 1 }' $q/metrics.tsv
  [ "$(tail -n +2 $q/calibration.tsv | cut -f1-3 | tr '\t\n' ':,')" = "moons:0.5:mmd2_to_clean,moons:1.0:mmd2_to_clean,blur:1.0:psnr_test,blur:1.3:psnr_test," ]
  for p in moons mask blur; do [ -s $q/curve-$p.png ]; done
  grep -Eq "^Met in ([0-9]+ of 7 runs; missed: |all 7 runs)" $q/report.md
  grep -Eq "^- moons: estimate (0.5|1.0) \(the grid value of least excess\)" $q/report.md
  # each part's tables kept apart: a run of one part (its loops found
  # done) or none (REPORT_ONLY) gathers the same tables
  for p in moons mask blur; do
    [ -s $q/parts/$p/metrics.tsv ] && grep -q "PARTS=$p scripts/exp-diagnostic" $q/parts/$p/settings.txt
  done
  cp $q/metrics.tsv all.tsv
  cp $q/calibration.tsv calib.tsv
  (cd tree && QUICK=1 PARTS=moons scripts/exp-diagnostic)
  cmp all.tsv $q/metrics.tsv
  cmp calib.tsv $q/calibration.tsv
  rm -r $q/parts/blur
  (cd tree && QUICK=1 REPORT_ONLY=1 scripts/exp-diagnostic)
  [ "$(grep -c "^blur" $q/metrics.tsv)" -eq 0 ] && [ "$(grep -c "^mask" $q/metrics.tsv)" -eq 3 ]
  grep -q "Parts not yet run: blur." $q/report.md
}

@test "exp-tilt QUICK: every method at every size and seed, exact draws as the floor, the targets stated" {
  quick exp-tilt
  q=tree/build/tilt/quick
  t=$q/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'task\tdim\tmethod\tparticles\tmmd_mean\tmmd_std\tswd_mean\twall_s')" ]
  # 2 dimensions x (anneal: exact, pg, gsmc, vcg; tilt: and boost) x N = 64, 256
  [ "$(tail -n +2 "$t" | wc -l)" -eq 36 ]
  [ "$(awk -F'\t' '$3 == "boost"' "$t" | cut -f1 | sort -u)" = tilt ]
  # 2 seeds each, every figure a number, every run timed
  [ "$(tail -n +2 "$q/runs.tsv" | wc -l)" -eq 72 ]
  awk -F'\t' 'NR > 1 && !($6 + 0 == $6 && $7 > 0 && $8 > 0) { bad++ } END { exit bad > 0 }' "$q/runs.tsv"
  # the scores tell a biased sampler from the floor: in d = 30 guidance
  # alone is further from the target than exact draws are
  awk -F'\t' '$2 == 30 && $4 == 256 { m[$1 "," $3] = $5 }
      END { exit !(m["anneal,pg"] > 3 * m["anneal,exact"] + 0.01 && m["tilt,pg"] > 3 * m["tilt,exact"] + 0.01) }' "$t"
  for f in mmd-anneal-2 swd-tilt-30 mmd-tilt-30 ess-anneal-30; do [ -s "$q/$f.png" ]; done
  grep -Eq "^- anneal, d = 30, N = 256: MMD G-SMC [0-9.]+, VCG-SMC [0-9.]+: VCG-SMC lower by [0-9.inf]+x" "$q/report.md"
  grep -q "bandwidth the median distance" "$q/report.md"
}

@test "exp-tilt-inpaint QUICK: tilt's three samplers and DPS on the same masked images, DPS tuned on validation images" {
  quick exp-tilt-inpaint
  q=tree/build/tilt-inpaint/quick
  t=$q/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'method\testimate\tparticles\tmse\tpsnr\tpsnr_of_mse\tssim\twall_s')" ]
  # the observation, DPS's sample and mean, and a sample and a weighted
  # mean for each of tilt's samplers, every score a number
  [ "$(tail -n +2 "$t" | wc -l)" -eq 9 ]
  [ "$(awk -F'\t' '$1 ~ /^tilt / { print $1 }' "$t" | sort -u | tr '\n' ,)" = "tilt gsmc,tilt pg,tilt vcg," ]
  awk -F'\t' 'NR > 1 && !($4 > 0 && $5 + 0 == $5 && $7 + 0 == $7) { bad++ } END { exit bad > 0 }' "$t"
  [ "$(tail -n +2 "$q/tuning.tsv" | wc -l)" -eq 2 ]
  [ -s "$q/grid.png" ]
  grep -q "Mean ESS over the steps and images: PG 4.0" "$q/report.md"
}

@test "exp-spectra QUICK: two regimes, every method on the same test spectra, Tikhonov tuned on validation spectra" {
  quick exp-spectra
  q=tree/build/spectra/quick
  t=$q/metrics.tsv
  [ "$(head -1 "$t")" = "$(printf 'regime\tmethod\tmse\tline_width_error\tmean_spectrum_error\twidth_median_rel_error\tn')" ]
  # per regime: the clean floor, the observation, Tikhonov, SCSI ode and
  # the means of 1 and 2 SDE samples, each on the 24 test spectra
  for r in hires lowres; do
    [ "$(awk -F'\t' -v r=$r '$1 == r { printf "%s:%s,", $2, $7 }' "$t" | sed 's/(order [12], lambda [0-9.]*)/(tuned)/')" = \
      "clean (the estimator's floor):24,observation:24,Tikhonov (tuned):24,SCSI ode:24,SCSI mean-1:24,SCSI mean-2:24," ]
  done
  # every score a finite number; the clean row's MSE 0 and its width error
  # (the estimator's own) under 50 km/s; the tuned Tikhonov below the
  # observation's MSE; the low-resolution observation's C IV widths
  # broadened (above 500 km/s off), Tikhonov's deconvolved (below 300)
  awk -F'\t' 'NR > 1 { for (c = 3; c <= 6; c++) if ($c !~ /^[0-9.e+-]+$/) exit 1 }' "$t"
  awk -F'\t' '$2 ~ /^clean/ { if ($3 != 0 || !($4 < 50)) exit 1 }
      $2 == "observation" { o[$1] = $3; w[$1] = $4 } $2 ~ /^Tikhonov/ { k[$1] = $3; tw[$1] = $4 }
      END { exit !(k["hires"] < o["hires"] && k["lowres"] < o["lowres"] && w["lowres"] > 500 && tw["lowres"] < 300) }' "$t"
  # 2 orders x 3 lambdas per regime tried on the validation spectra, the
  # chosen one the least MSE of them
  [ "$(tail -n +2 "$q/tuning.tsv" | wc -l)" -eq 12 ]
  for r in hires lowres; do
    best=$(awk -F'\t' -v r=$r '$1 == r && (m == "" || $5 < m) { m = $5; b = "order " $2 ", lambda " $3 } END { print b }' "$q/tuning.tsv")
    grep -q "^$r	Tikhonov ($best)" "$t"
    for p in example-0 mean widths; do [ -s "$q/$p-$r.png" ]; done
  done
  grep -Eq "^\| lowres \| MSE: SCSI.s best \(SCSI (ode|mean-[12])\) <= 0.5 Tikhonov \| [0-9.e+-]+ against [0-9.e+-]+ \(ratio [0-9.]+\): (met|missed) \|$" "$q/report.md"
}
