#!/usr/bin/env bats
# tests: simulate, the built-in and the external-simulator paths, and the
#        two example simulators
# also requires: tzdata, tzcat, tzinfo, tzexport, corrupt, /usr/bin/python3
#        with numpy, build/*/examples/sim_awgn (from `make`)

bats_require_minimum_version 1.5.0
load helpers

EX=${SCSI_EXAMPLES:-$BATS_TEST_DIRNAME/../build/rel/examples}
FAULTY=$BATS_TEST_DIRNAME/sims/faulty.py

cands() { tzdata moons -c "${1:-50}" -n "${2:-20}" | tzcat -R x=x0 -o "${3:-c.tz}"; }

@test "built-in: x1 appended, other fields kept, K re-corruptions candidate-major" {
  cands 50 20
  simulate -K 3 awgn:sigma=0.5 c.tz -o s.tz
  run tzinfo -b s.tz
  [[ "$output" == *"150 samples"* ]]
  # rows i*3..i*3+2 share x0 and label; their x1 differ
  tzexport csv -f x0,label,x1 s.tz | awk -F, '
    { i = int((NR - 1) / 3); key = $1 "," $2 "," $3
      if (NR % 3 == 1) { k = key; a = $4 } else if (key != k || $4 == a) bad++ }
    END { exit bad > 0 }'
  diff <(tzexport csv -f x0 c.tz) <(tzexport csv -f x0 s.tz | awk 'NR % 3 == 1')
}

@test "built-in: same seed, same bytes whatever the batching and threads" {
  cands 60 7 a.tz
  tzcat -n 60 a.tz -o b.tz
  simulate --seed 3 -K 2 --threads 1 mask:p=0.5,awgn:sigma=0.1 a.tz | tzcat -n 120 -o s1.tz
  simulate --seed 3 -K 2 --threads 2 mask:p=0.5,awgn:sigma=0.1 b.tz -o s2.tz
  cmp s1.tz s2.tz
  simulate --seed 4 -K 2 mask:p=0.5,awgn:sigma=0.1 b.tz -o s3.tz
  ! cmp -s s2.tz s3.tz
}

@test "built-in simulate and corrupt agree" {
  tzdata fashion-mnist --split test -c 20 -o f.tz
  tzcat -R x=x0 f.tz | simulate --seed 2 blur:sigma=1:noise=0.1 | tzexport npy -f x1 -o a.npy
  corrupt --seed 2 -f x blur:sigma=1:noise=0.1 f.tz | tzexport npy -f y -o b.npy
  cmp a.npy b.npy
}

@test "external C simulator: the protocol end to end, K and determinism" {
  cands 40 16
  simulate --exec "$EX/sim_awgn 0.3" -K 2 --seed 5 c.tz -o s.tz
  run tzinfo -b s.tz
  [[ "$output" == *"80 samples"* && "$output" == *"x1"* ]]
  tzcat -n 40 c.tz | simulate --exec "$EX/sim_awgn 0.3" -K 2 --seed 5 -o t.tz
  diff <(tzexport csv s.tz) <(tzexport csv t.tz)
  # the noise it adds has the std asked for
  tzexport csv -f x0,x1 s.tz | awk -F, '{ d = $3 - $1; s += d * d; n++ }
    END { v = sqrt(s / n); exit !(v > 0.25 && v < 0.35) }'
}

@test "external Python simulator: a nonlinear, non-invertible instrument" {
  cands 200 64
  simulate --exec "$ROOT/examples/sim_clip.py 0.5 0" c.tz -o s.tz
  tzexport csv -f x0,x1 s.tz | awk -F, '{
      for (j = 1; j <= 2; j++) { w = $j > 0.5 ? 0.5 : $j < -0.5 ? -0.5 : $j
        if ((w - $(j + 2))^2 > 1e-10) bad++ } }
    END { exit bad > 0 }'
}

@test "any tool that writes a stream can be the simulator" {
  cands 30 10
  run --separate-stderr bash -c "simulate --exec 'corrupt -f x0 -y x1 -L 0 awgn:sigma=0.1' c.tz | tzinfo -b"
  [ "$status" -eq 0 ]
  [[ "$output" == *"30 samples"* ]]
}

@test "the external simulator is started once for the whole stream" {
  cands 100 10
  simulate --exec "echo started >> starts.log; exec $EX/sim_awgn" c.tz -o s.tz
  [ "$(wc -l < starts.log)" -eq 1 ]
}

# Each fault: a clear message naming the simulator and the record, a
# non-zero status, no output file, and on a pipe no end record.
fault() {  # mode expected-status message-regex
  cands 30 10
  run --separate-stderr simulate --exec "$FAULTY $1" --timeout 3 c.tz -o out.tz
  fails_with "$2" "$3"
  [ ! -e out.tz ]
  [ -z "$(ls | grep tmp)" ]
  run --separate-stderr bash -c "simulate --exec '$FAULTY $1' --timeout 3 c.tz | tzinfo -b"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"tzinfo: <stdin>"*"no end record"* || "$stderr" == *"tzinfo: <stdin>: empty input"* ]]
}

@test "fault: the simulator exits non-zero" {
  cands 30 10
  run --separate-stderr simulate --exec 'exit 3' c.tz -o out.tz
  fails_with 5 "simulator 'exit 3': record 0: (no answer|could not be sent): it exited with status 3"
  [ ! -e out.tz ]
  fault exit3 5 "simulator '.*faulty.py exit3': at the end: it exited with status 3"
}

@test "fault: the simulator crashes" {
  fault crash 5 "simulator '.*faulty.py crash': record 1: no answer: it (was killed by signal 11|exited with status 139)"
}

@test "fault: the wrong number of rows" {
  fault rows 5 "simulator '.*': record 0: answered 9 rows for 10"
}

@test "fault: the wrong dtype" {
  fault dtype 5 "simulator '.*': record 0: field 'x1' is f64, not f32"
}

@test "fault: a missing field" {
  cands 30 10
  run --separate-stderr simulate --exec 'tzcat -L 0' c.tz -o out.tz
  fails_with 5 "simulator 'tzcat -L 0': record 0: the answer has no field 'x1'"
  [ ! -e out.tz ]
}

@test "fault: NaN in the answer is a numerical failure" {
  fault nan 4 "simulator '.*': record 0: field 'x1' holds NaN or Inf at element 18"
}

@test "fault: more records than were sent" {
  fault extra 5 "simulator '.*faulty.py extra': wrote more records than it was sent"
}

@test "fault: no end record from the simulator" {
  fault noend 5 "simulator '.*': .*no end record"
}

@test "fault: no answer within the timeout" {
  cands 30 10
  SECONDS=0
  run --separate-stderr simulate --exec "$FAULTY late" --timeout 1 c.tz -o out.tz
  fails_with 5 "simulator '.*': record 0: no answer: no answer within 1 s \(killed\)"
  [ "$SECONDS" -lt 20 ]
  [ ! -e out.tz ]
}

@test "fault: a simulator that cannot be run" {
  cands 30 10
  run --separate-stderr simulate --exec '/nonexistent/sim' c.tz -o out.tz
  fails_with 5 "record 0: (no answer|could not be sent): it exited with status 127"
}

@test "bad arguments and input" {
  cands 10 10
  run --separate-stderr simulate c.tz
  fails_with 1 "unknown operator 'c.tz'"
  run --separate-stderr simulate
  fails_with 1 "need a forward-model SPEC or --exec"
  run --separate-stderr simulate -K 0 awgn c.tz
  fails_with 1 "--resamples must be between"
  run --separate-stderr simulate -f nope awgn c.tz -o out.tz
  fails_with 2 "c.tz: record 0: no field 'nope'"
  run --separate-stderr simulate --exec "$EX/sim_awgn" -f nope c.tz -o out.tz
  fails_with 2 "c.tz: record 0: no field 'nope'"
  run --separate-stderr simulate -y x0 awgn c.tz
  fails_with 2 "field 'x0' is already there"
}

@test "--exec: an input that already holds the observation field is refused" {
  cands 10 10
  simulate awgn c.tz -o s.tz
  run --separate-stderr simulate --exec "$EX/sim_awgn" -f x0 s.tz -o out.tz
  fails_with 2 "s.tz: record 0: field 'x1' is already there"
  [ ! -e out.tz ]
}

@test "--exec: the protocol attributes seed and first stay out of the output" {
  cands 10 10
  simulate --exec "$EX/sim_awgn" c.tz -o s.tz
  run tzinfo s.tz
  [[ "$output" != *"@seed="* && "$output" != *"@first="* ]]
}

@test "fault: a program that stops reading is killed after the timeout" {
  tzdata gaussian -d 4000 --no-rotate -c 400 -n 200 | tzcat -R x=x0 -o big.tz  # 3.2 MB records
  SECONDS=0
  run --separate-stderr simulate --exec 'sleep 30' --timeout 1 big.tz -o out.tz
  [ "$status" -eq 5 ]
  [[ "$stderr" == *"no answer within 1 s (killed)"* ]]
  [ "$SECONDS" -lt 15 ]
  [ ! -e out.tz ]
}

@test "examples/sim_project.py: unit directions and their line as side fields, x1 on the line, keyed by row" {
  tzdata moons -c 300 | tzcat -R x=x0 -o c.tz
  simulate --exec "exec /usr/bin/python3 $ROOT/examples/sim_project.py 0.1" --seed 4 c.tz -o a.tz
  tzcat -n 7 c.tz | simulate --exec "exec /usr/bin/python3 $ROOT/examples/sim_project.py 0.1" \
    --seed 4 | tzcat -n 300 -o b.tz
  cmp <(tzcat -f x1,direction a.tz | tzexport csv -f x1,direction) \
      <(tzcat -f x1,direction b.tz | tzexport csv -f x1,direction)
  tzexport npy -f x0 a.tz -o x0.npy; tzexport npy -f x1 a.tz -o x1.npy
  tzexport npy -f direction a.tz -o u.npy; tzexport npy -f line a.tz -o l.npy
  /usr/bin/python3 -c "
import numpy as np
x, y, u, l = (np.load(f).astype(np.float64) for f in ('x0.npy', 'x1.npy', 'u.npy', 'l.npy'))
assert np.allclose((u * u).sum(1), 1, atol=1e-6)
a = np.arctan2(u[:, 1], u[:, 0])                    # the line as the doubled angle
assert np.allclose(l, np.stack([np.cos(2 * a), np.sin(2 * a)], 1), atol=1e-5)
r = y - (u * x).sum(1, keepdims=True) * u          # the noise alone
assert 0.08 < r.std() < 0.12, r.std()
assert abs(np.arctan2(u[:, 1], u[:, 0]) % np.pi).std() > 0.7   # directions spread
"
}

@test "examples/sim_saturate.py: sensor noise, clip at the full well, read noise, keyed by row" {
  tzdata moons --scale 4 -c 300 | tzcat -R x=x0 -o c.tz
  sat="exec /usr/bin/python3 $ROOT/examples/sim_saturate.py 3 0.5 0.01"
  simulate --exec "$sat" --seed 4 c.tz -o a.tz
  tzcat -n 7 c.tz | simulate --exec "$sat" --seed 4 | tzcat -n 300 -o b.tz
  cmp <(tzexport csv -f x1 a.tz) <(tzexport csv -f x1 b.tz)
  tzexport npy -f x0 a.tz -o x0.npy; tzexport npy -f x1 a.tz -o x1.npy
  /usr/bin/python3 -c "
import numpy as np
x, y = (np.load(f).astype(np.float64) for f in ('x0.npy', 'x1.npy'))
assert np.abs(y).max() < 3.1, np.abs(y).max()        # nothing reads beyond the well and a little
inside = np.abs(x).max(1) < 2                        # far from the limit: x0 plus the noises
assert 0.45 < (y - x)[inside].std() < 0.55, (y - x)[inside].std()
assert (np.abs(y) > 2.95).mean() > 0.05              # values pile up at the well
"
}
