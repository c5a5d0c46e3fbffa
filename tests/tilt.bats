#!/usr/bin/env bats
# tests: tilt, its mixture specs, rewards (Gaussian, likelihood, external
#        program) and methods, and examples/reward_quad.py
# also requires: tzdata, tzcat, tzinfo, tzexport, tzdist, corrupt, si-train,
#        pushback, /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3
EX=$BATS_TEST_DIRNAME/../examples

# A Gaussian prior N((1, -1), diag(1, 2)) and a Gaussian reward centred on
# (2, 2) of covariance 0.5 I: the target is N(m', S'), S' = (S^-1 + C^-1)^-1,
# m' = S' (S^-1 m + C^-1 c) = (5/3, 7/5), S' = diag(1/3, 2/5).
specs() {
  printf 'dim 2\ncomponent 1 mean 1 -1 cov 1 2\n' > prior.spec
  printf '# the reward\ndim 2\ncomponent 1\n  mean 2 2\n  cov 0.5\n' > reward.spec
  printf 'dim 2\ncomponent 0.3 mean -4 0 cov 1\ncomponent 0.7 mean 4 0 cov 0.5 1.5\n' > two.spec
}

# Weighted mean and covariance of x0 in $1 against the tilted Gaussian,
# each within 5 standard errors of a self-normalised importance estimate
# (independent particles: --ess 0, no resampling).  The standard errors
# come from the weights (the delta method: sqrt(sum w_i^2 (f_i - F)^2)),
# so a run whose weights carry the correction has a small one, and a
# biased run (guidance alone) fails.  The Euler bias at 400 noise levels
# (about 0.006 in the mean and 1% in the covariance, measured with 10^5
# particles) stays below a standard error at 20,000 particles.
moments_ok() {
  tzexport csv -f x0,weight "$1" | $PY -c '
import sys, numpy as np
a = np.loadtxt(sys.stdin, delimiter=","); x, w = a[:, :2], a[:, 2] / a[:, 2].sum()
Sp = np.diag([1/3, 2/5]); mp = np.array([5/3, 7/5])
m = w @ x; d = x - m; C = (w[:, None] * d).T @ d
se_m = np.sqrt(w**2 @ d**2)
f = d[:, :, None] * d[:, None, :]
se_C = np.sqrt(np.einsum("i,ijk->jk", w**2, (f - C)**2))
ess = 1 / np.sum(w**2)
print("ess %.0f mean %s (se %s) cov %s (se %s)" % (ess, m, se_m, C.ravel(), se_C.ravel()))
ok = np.all(np.abs(m - mp) < 5 * se_m) and np.all(np.abs(C - Sp) < 5 * se_C + 1e-12)
sys.exit(0 if ok and ess > 20 else 1)'
}

@test "SMC weights recover the tilted Gaussian's mean and covariance; guidance alone does not" {
  specs
  for m in gsmc vcg; do
    tilt -q --gmm prior.spec --gauss reward.spec --method $m --ess 0 -N 20000 -n 400 -o $m.tz
    moments_ok $m.tz
  done
  # PG's particles carry equal weights: its bias shows at the same tolerance
  tilt -q --gmm prior.spec --gauss reward.spec --method pg -N 20000 -n 400 -o pg.tz
  ! moments_ok pg.tz
  # VCG's control takes the weights' variance: its effective sample size
  # beats G-SMC's by far
  ess() { tzexport csv -f weight "$1" | awk '{ s += $1; q += $1 * $1 } END { print int(s * s / q) }'; }
  [ "$(ess vcg.tz)" -gt $((10 * $(ess gsmc.tz))) ]
}

@test "exact draws: the tilted Gaussian in closed form, and an annealed mixture by rejection" {
  specs
  tilt -q --gmm prior.spec --gauss reward.spec --method exact -N 20000 -o ex.tz
  tzinfo -b ex.tz | grep -q "20000 samples"
  moments_ok ex.tz
  # p^2 of two separated modes: weights w_k^2 det(S_k)^(-1/2) and
  # covariances S_k / 2 (up to e^-16 overlap): 0.7^2 / sqrt(0.75) against
  # 0.3^2 / 1 on the right, 0.8628 of the mass
  tilt -q --gmm two.spec -g 2 --method exact -N 20000 -o an.tz
  tzexport csv -f x0 an.tz | $PY -c '
import sys, numpy as np
x = np.loadtxt(sys.stdin, delimiter=","); r = x[:, 0] > 0; n = len(x)
p = 0.49 / np.sqrt(0.75); p /= p + 0.09
assert abs(r.mean() - p) < 4 * np.sqrt(p * (1 - p) / n), r.mean()
for sel, var in ((r, [0.25, 0.75]), (~r, [0.5, 0.5])):
    v = x[sel].var(0); k = sel.sum()
    assert np.all(np.abs(v - var) < 5 * np.array(var) * np.sqrt(2 / k)), v'
}

@test "annealing a mixture: every method runs; VCG's control lowers the increments' variance at every step" {
  specs
  for m in pg gsmc vcg; do
    tilt -q --gmm two.spec -g 2 --method $m -N 500 -n 50 --trace $m.tsv -o $m.tz
    [ "$(head -1 $m.tsv)" = "$(printf 'population\tstep\tkappa\tbeta\tess\tvar_g\tvar_phi\ttheta_reward\ttheta_score\ttheta_drift\taccept\tresampled')" ]
    [ "$(tail -n +2 $m.tsv | wc -l)" -eq 50 ]
    tzinfo -b $m.tz | grep -q "500 samples"
  done
  # G-SMC resamples; the weights sum to 1 and the ESS never exceeds N
  awk -F'\t' 'NR > 1 { r += $12; if ($5 > 500.001 || $5 < 1) bad++ } END { exit !(r > 0 && !bad) }' gsmc.tsv
  tzexport csv -f weight gsmc.tz | awk '{ s += $1 } END { exit !(s > 0.999 && s < 1.001) }'
  # the least-squares control never raises the variance (theta = 0 is
  # feasible), and lowers it overall by a large factor
  awk -F'\t' 'NR > 1 { g += $6; p += $7; if ($7 > $6 * (1 + 1e-6) + 1e-300) bad++ } END { exit !(!bad && p < g / 10) }' vcg.tsv
  # PG has no weights: equal, no resampling, theta 0
  awk -F'\t' 'NR > 1 && ($12 || $8 || $9 || $10) { bad++ } END { exit bad > 0 }' pg.tsv
  tzexport csv -f weight pg.tz | sort -u | wc -l | grep -qx 1
}

@test "same bytes whatever the threads and the records; another seed, other particles" {
  specs
  tilt -q --gmm two.spec -g 2 --gauss reward.spec --reward-scale 2 -N 300 -n 30 --threads 1 -b 300 -o a.tz --trace a.tsv
  tilt -q --gmm two.spec -g 2 --gauss reward.spec --reward-scale 2 -N 300 -n 30 --threads 2 -b 7 --trace b.tsv | tzcat -n 300 -o b.tz
  cmp a.tz b.tz
  cmp a.tsv b.tsv
  tilt -q --gmm two.spec -g 2 --gauss reward.spec --reward-scale 2 -N 300 -n 30 --seed 1 -b 300 -o c.tz
  ! cmp -s a.tz c.tz
}

@test "a likelihood: a population per observation, fields pass through, the posterior mean matches the Gaussian's" {
  printf 'dim 6\ncomponent 1 mean 0 0 0 0 0 0 cov 1\n' > g6.spec
  tilt -q --gmm g6.spec --method exact -N 12 -b 12 | tzcat -R x0=clean -d weight |
    corrupt -q -f clean -y x1 -k mask:p=0.5:noise=0.1 -o obs.tz
  tilt -q --gmm g6.spec --likelihood mask:p=0.5:noise=0.1 --mean -N 2000 -n 60 obs.tz -o post.tz
  diff <(tzexport csv -f clean,x1,mask post.tz) <(tzexport csv -f clean,x1,mask obs.tz)
  # N(0, I) prior, noise 0.1 on the kept values: the posterior mean is
  # y / 1.01 there and 0 elsewhere, its variance 0.0099 and 1; the weighted
  # mean of 2,000 particles (ESS above 1,000) is within 0.15 of it
  tzexport csv -f x1,mask,x0_mean post.tz | $PY -c '
import sys, numpy as np
a = np.loadtxt(sys.stdin, delimiter=","); y, m, xm = a[:, :6], a[:, 6:12], a[:, 12:]
err = np.abs(xm - m * y / 1.01)
assert err.max() < 0.15 and err[m == 1].max() < 0.02, err'
  # the records' batching does not matter
  tzcat -n 5 obs.tz | tilt -q --gmm g6.spec --likelihood mask:p=0.5:noise=0.1 --mean -N 2000 -n 60 |
    tzcat -n 12 -o post2.tz
  cmp <(tzcat -n 12 post.tz) post2.tz
}

@test "an external reward program gives what the built-in Gaussian gives" {
  specs
  tilt -q --gmm prior.spec --gauss reward.spec -N 400 -n 40 -o g.tz
  tilt -q --gmm prior.spec --exec "$EX/reward_quad.py 0.5 2 2" --reward-scale 0.7071067811865476 \
    -N 400 -n 40 -o e.tz
  # the particles travel as f32 to the program: equal to about 1e-5
  paste -d, <(tzexport csv -f x0 g.tz) <(tzexport csv -f x0 e.tz) |
    awk -F, '{ for (i = 1; i <= 2; i++) { d = $i - $(i + 2); if (d * d > 1e-8) bad++ } } END { exit bad > 0 }'
}

@test "a generative model as the prior: unguided it samples what pushback does; same bytes across threads" {
  tzdata gmm -c 3000 | tzcat -R x=x0 -o data.tz
  si-train -q --threads 1 --generative --steps 400 --batch 256 --lr 2e-3 data.tz -o m.tz
  tilt -q -m m.tz --method pg -N 1500 -n 60 -o t.tz
  pushback -q -m m.tz -c 1500 -o p.tz
  tzdata gmm -c 1500 --seed 9 | tzcat -R x=x0 -o ref.tz
  t=$(tzdist -q -s 0.5 t.tz ref.tz | awk '$1 == "mmd2" { print $2 }')
  p=$(tzdist -q -s 0.5 p.tz ref.tz | awk '$1 == "mmd2" { print $2 }')
  o=$(tzdist -q -s 0.5 <(tzdata gmm -c 1500 --std 1.5 | tzcat -R x=x0) ref.tz | awk '$1 == "mmd2" { print $2 }')
  echo "tilt $t pushback $p broad $o"
  awk -v t="$t" -v p="$p" -v o="$o" 'BEGIN { exit !(t < 3 * p + 2e-3 && t < o / 3) }'
  # VCG on the model: Hutchinson's divergence, keyed by the seed
  tilt -q -m m.tz -g 2 -N 200 -n 20 --threads 1 -o v1.tz
  tilt -q -m m.tz -g 2 -N 200 -n 20 --threads 2 -b 50 | tzcat -n 200 -o v2.tz
  cmp v1.tz v2.tz
}

@test "the boosted start: the tilted Gaussian, equal weights" {
  specs
  tilt -q --gmm prior.spec --gauss reward.spec --method boost -N 20000 -n 400 -o b.tz --trace b.tsv
  moments_ok b.tz
  # its MCMC row: step -1, MALA (a mixture has a density) accepting most moves
  awk -F'\t' '$2 == -1 { n++; ok = $11 > 0.5 && $11 <= 1 } END { exit !(n == 1 && ok) }' b.tsv
}

@test "errors: one line, the status of the table, nothing on standard output" {
  specs
  run --separate-stderr tilt -N 10
  fails_with 1 "need one prior"; [ -z "$output" ]
  run --separate-stderr tilt --gmm prior.spec -m x.tz -N 10
  fails_with 1 "need one prior"; [ -z "$output" ]
  run --separate-stderr tilt --gmm prior.spec --gauss reward.spec --exec cat -N 10
  fails_with 1 "one reward at most"
  run --separate-stderr tilt --gmm prior.spec --method smc -N 10
  fails_with 1 "--method must be pg, gsmc, vcg, boost or exact; got 'smc'"
  run --separate-stderr tilt --gmm prior.spec prior.spec
  fails_with 1 "only --likelihood reads input"
  run --separate-stderr tilt --gmm prior.spec --method boost -N 10
  fails_with 1 "the boosted start needs a quadratic reward"
  run --separate-stderr tilt --gmm prior.spec --gauss reward.spec -g 2 --method boost -N 10
  fails_with 1 "gamma must be 1"
  run --separate-stderr tilt --gmm prior.spec --likelihood blur:sigma=1 -N 10 prior.spec
  fails_with 1 "--likelihood: 'blur:sigma=1' adds no noise"
  run --separate-stderr tilt --gmm prior.spec --likelihood smooth:sigma=1,awgn:sigma=0.1 -N 10 prior.spec
  fails_with 1 "the likelihood takes mask, blur, motion and down, not smooth, tilt or snr"
  run --separate-stderr tilt --gmm nothere.spec -N 10
  fails_with 3 "nothere.spec: No such file"; [ -z "$output" ]
  printf 'dim 2\ncomponent 1 mean 0 0 cov 1 0.5 0.4 1\n' > asym.spec
  run --separate-stderr tilt --gmm asym.spec -N 10
  fails_with 2 "asym.spec: line 2: component 1: cov is not symmetric"
  printf 'dim 3\ncomponent 1 mean 0 0 0 cov 1\n' > r3.spec
  run --separate-stderr tilt --gmm prior.spec --gauss r3.spec -N 10
  fails_with 2 "r3.spec: a reward of dimension 3 for a prior of dimension 2"
  run --separate-stderr tilt --gmm prior.spec --gauss two.spec -N 10
  fails_with 2 "two.spec: a Gaussian reward has one component; this spec has 2"
  tzdata gmm -c 10 | tzcat -R x=clean -o noobs.tz
  run --separate-stderr tilt --gmm prior.spec --likelihood mask:p=0.5:noise=0.1 noobs.tz -o o.tz
  fails_with 2 "noobs.tz: record 0: --likelihood needs an f32 field 'x1' of 2 values per sample"
  [ ! -e o.tz ]
  tzdata gmm -c 200 | tzcat -R x=x0 | simulate -q awgn:sigma=0.5 -o pairs.tz
  si-train -q --steps 1 pairs.tz -o notgen.tz
  run --separate-stderr tilt -m notgen.tz -N 10
  fails_with 1 "notgen.tz: the prior must be a generative model"
}

@test "explicit steps too large for a stiff reward: status 4 naming the step, nothing written" {
  printf 'dim 2\ncomponent 1 mean 0 0 cov 1\n' > n2.spec
  printf 'dim 2\ncomponent 1 mean 1 1 cov 0.0001\n' > stiff.spec
  # switched on at noise 1 while its curvature is 10^4: the steps overshoot
  run --separate-stderr tilt --gmm n2.spec --gauss stiff.spec --reward-scale 1 -n 10 -N 10 -o out.tz
  fails_with 4 "step [0-9]+: particle [0-9]+ diverged"
  [ ! -e out.tz ]
  # the default scale (the reward's own, 0.01) keeps them stable
  tilt -q --gmm n2.spec --gauss stiff.spec -n 10 -N 10 -o out.tz
  [ -s out.tz ]
}

@test "a failing reward program: status 5, no output published, no trace" {
  specs
  run --separate-stderr tilt --gmm prior.spec --exec "exit 3" -N 10 -o out.tz --trace t.tsv
  fails_with 5 "exit"
  [ ! -e out.tz ] && [ ! -e t.tsv ] && [ -z "$(ls | grep tmp)" ]
  # an answer without the gradient
  cat > nograd.py <<'EOF'
import os, sys
sys.path.insert(0, sys.argv[1])
from sim_clip import serve
serve(lambda x, seed, first: x.reshape(len(x), -1)[:, 0])
EOF
  run --separate-stderr tilt --gmm prior.spec --exec "$PY nograd.py $EX" -N 10 -o out.tz
  fails_with 5 "needs an f32 field 'reward_grad' of 2 values per row"
  [ ! -e out.tz ]
  cat > nan.py <<'EOF'
import os, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from sim_clip import serve
serve(lambda x, seed, first: (np.full(len(x), np.nan), {"reward_grad": x}))
EOF
  run --separate-stderr tilt --gmm prior.spec --exec "$PY nan.py $EX" -N 10 -o out.tz
  fails_with 4 "NaN"
}

@test "progress on a terminal only, and never with --quiet" {
  specs
  run --separate-stderr tilt --gmm prior.spec -N 10 -n 5 -o a.tz
  [ -z "$stderr" ]
  SCSI_FAKE_TTY=1 run --separate-stderr tilt --gmm prior.spec -N 10 -n 5 -o a.tz
  [[ "$stderr" == *"tilt: steps"* ]]
  SCSI_FAKE_TTY=1 run --separate-stderr tilt -q --gmm prior.spec -N 10 -n 5 -o a.tz
  [ -z "$stderr" ]
}

@test "the manual's first example runs as written, and VCG-SMC lands near the exact draws" {
  sed -n '/^\.SH EXAMPLES/,/^\.SH OPTIONS/p' "$BATS_TEST_DIRNAME/../man/man1/tilt.1" |
    sed -n '/^\.EX/,/^\.EE/{/^\.E[XE]/d;p}' | sed '/^tzdata/,$d' |
    sed 's/\\-/-/g; s/\\(aq/'"'"'/g; s/\\en/\\n/g' > example.sh
  [ "$(grep -c '^tilt' example.sh)" -eq 2 ]
  bash -e example.sh > dist.tsv
  awk -F'\t' '$1 == "mmd2" { exit !($2 < 2e-3) }' dist.tsv
}
