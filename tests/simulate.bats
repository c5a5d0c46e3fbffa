#!/usr/bin/env bats
# tests: simulate, the built-in and the external-simulator paths, and the
#        example simulators
# also requires: tzdata, tzcat, tzinfo, tzexport, corrupt, /usr/bin/python3
#        with numpy, build/*/examples/sim_awgn (from `make`), sh, env,
#        timeout

bats_require_minimum_version 1.5.0
load helpers

EX=${SCSI_EXAMPLES:-$BATS_TEST_DIRNAME/../build/rel/examples}
FAULTY=$BATS_TEST_DIRNAME/sims/faulty.py

cands() { tzdata moons -c "${1:-50}" -n "${2:-20}" | tzcat -R x=x0 -o "${3:-c.tz}"; }
# Records of 2.4 MB, more than the pipes to and from a simulator hold.
big() { tzdata moons -c 600000 -n 200000 | tzcat -R x=x0 -o big.tz; }

# 1 if process $1 is running (a zombie is not).
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$st" && "$st" != Z* && "$st" != X* ]]
}

# Fails naming the processes of file $1 (one pid a line) that still run.
none_alive() {
  local p bad=
  for p in $(cat "$1"); do alive "$p" && bad+=" $p"; done
  [ -z "$bad" ] || { echo "still running:$bad"; ps -o pid,ppid,pgid,sid,stat,args -p "${bad# }"; return 1; }
}

# Wait up to 20 s for file $1 to hold $2 lines.
wait_lines() {
  local i
  for i in $(seq 200); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "$1: not $2 lines after 20 s"; return 1
}

# What a test started and left running (a failed run, before the fix).
teardown() {
  local p
  if [ -f "$T/pids" ]; then
    for p in $(cat "$T/pids"); do alive "$p" && kill -9 "$p"; done
  fi
  return 0
}

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
  fails_with 5 "simulator '.*': record 0: no answer within 1 s \(killed\)"
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

@test "--exec: the protocol attributes stay out of the output" {
  cands 10 10
  simulate --exec "$EX/sim_awgn" c.tz -o s.tz
  run tzinfo s.tz
  [[ "$output" != *"@seed="* && "$output" != *"@first="* && "$output" != *"@field="* ]]
  [[ "$output" != *"@out_field="* && "$output" != *"@resamples="* && "$output" != *"@shape="* ]]
}

@test "fault: a program that stops reading is killed after the timeout" {
  big
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

@test "examples/sim_quantise.py: noise, then rounding to the grid; the dither spreads a reading over its bin; keyed by row" {
  tzdata gmm --std 1 -c 400 | tzcat -R x=x0 -o c.tz
  q="exec /usr/bin/python3 $ROOT/examples/sim_quantise.py 0.25 0.5"
  simulate --exec "$q" --seed 4 c.tz -o a.tz
  tzcat -n 7 c.tz | simulate --exec "$q" --seed 4 | tzcat -n 400 -o b.tz
  cmp <(tzexport csv -f x1 a.tz) <(tzexport csv -f x1 b.tz)
  simulate --exec "$q 1" --seed 4 c.tz -o d.tz
  tzexport npy -f x0 a.tz -o x0.npy; tzexport npy -f x1 a.tz -o x1.npy; tzexport npy -f x1 d.tz -o xd.npy
  /usr/bin/python3 -c "
import numpy as np
x, y, z = (np.load(f).astype(np.float64) for f in ('x0.npy', 'x1.npy', 'xd.npy'))
assert np.abs(y / 0.5 - np.round(y / 0.5)).max() < 1e-6       # on the grid
# noise 0.25 plus the rounding's uniform error of variance 0.5^2 / 12
assert 0.26 < (y - x).std() < 0.32, (y - x).std()
assert len(np.unique(y)) < 60 and len(np.unique(z)) > 700     # atoms, then a density
assert np.abs(z - y).max() <= 0.25 + 1e-6                      # the same rounding, dithered within its bin
assert 0.12 < (z - y).std() < 0.17, (z - y).std()              # uniform on a bin: 0.5 / sqrt(12) = 0.144
"
}

# ---- the simulator's processes: timeout and signals end them all ---------

@test "--timeout ends the simulator and what it started, even outside its process group" {
  cands 30 10
  # faulty.py orphan: ignores SIGTERM, never answers, and starts a process
  # in a session of its own (setsid) that holds its standard output
  SECONDS=0
  run --separate-stderr timeout -s KILL 30 \
    simulate --exec "$FAULTY orphan $T/pids" --timeout 1 c.tz -o out.tz
  fails_with 5 "simulator '.*faulty.py orphan .*': record 0: no answer within 1 s \(killed\)"
  [ "$SECONDS" -lt 15 ]
  [ "$(wc -l < pids)" -eq 4 ]
  none_alive pids
  [ ! -e out.tz ]
}

# Start simulate in the background with SIGINT, SIGHUP and SIGTERM at
# their defaults (a script's background job ignores SIGINT, and a suite run
# under nohup ignores SIGHUP: simulate keeps a signal ignored, as every
# program should) and wait for the simulator's 4 pids.
start_orphan() {
  /usr/bin/python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
    signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' \
    simulate --exec "$FAULTY orphan $T/pids" --timeout 0 c.tz "$@" 2> err.txt &
  pid=$!
  wait_lines pids 4
}

@test "SIGTERM, SIGINT, SIGHUP to simulate end the simulator and all it started" {
  cands 30 10
  for sig in TERM INT HUP; do
    rm -f pids
    start_orphan -o out.tz
    kill -s "$sig" "$pid"
    st=0; wait "$pid" || st=$?
    [ "$st" -eq $((128 + $(kill -l "$sig"))) ] || { echo "$sig: status $st"; cat err.txt; false; }
    none_alive pids
    [ ! -e out.tz ]
    [ -z "$(ls | grep tmp)" ]
  done
  # to standard output as well (no temporary file to remove)
  rm -f pids
  start_orphan > out.tz
  kill -s TERM "$pid"
  st=0; wait "$pid" || st=$?
  [ "$st" -eq 143 ]
  none_alive pids
}

# ---- SIGPIPE --------------------------------------------------------------

@test "simulate dies quietly of SIGPIPE when its reader goes, as every tool does" {
  big
  run --separate-stderr bash -c \
    'simulate --exec "echo \$\$ >> pids; exec $0/sim_awgn" -L 0 big.tz | head -c 1 > /dev/null
     echo "${PIPESTATUS[0]}"' "$EX"
  [ "$output" = 141 ] || { echo "status $output: $stderr"; false; }
  [ -z "$stderr" ]
  none_alive pids
  run --separate-stderr bash -c 'simulate -L 0 awgn big.tz | head -c 1 > /dev/null
     echo "${PIPESTATUS[0]}"'
  [ "$output" = 141 ] && [ -z "$stderr" ]
}

@test "a simulator that closes its standard input is the simulator's fault, not a SIGPIPE" {
  big
  run --separate-stderr simulate --timeout 20 \
    --exec "/usr/bin/python3 -c 'import os, time; os.close(0); time.sleep(30)'" big.tz -o out.tz
  fails_with 5 "record 0: could not be sent: it closed its standard input"
  [ ! -e out.tz ]
}

# ---- the simulator's own exit status --------------------------------------

@test "the status reported is the simulator's own, not its shell's" {
  cands 30 10
  run --separate-stderr simulate --exec "/usr/bin/python3 $FAULTY crash" c.tz -o out.tz
  fails_with 5 "simulator '/usr/bin/python3 .*faulty.py crash': record 1: no answer: it was killed by signal 11"
  # a compound command keeps its shell, whose status says what it means
  run --separate-stderr simulate --exec ": ; /usr/bin/python3 $FAULTY crash" c.tz -o out.tz
  fails_with 5 "record 1: no answer: it exited with status 139 \(the shell's: 139 = 128 \+ 11"
  # shell builtins and quoting still work
  run --separate-stderr simulate --exec 'exit 3' c.tz -o out.tz
  fails_with 5 "it exited with status 3"
  simulate --exec "\"$EX/sim_awgn\" '0.3'" c.tz -o s.tz
}

# ---- messages that name the mistake --------------------------------------

@test "fault: text on the simulator's standard output is named as such" {
  cands 30 10
  run --separate-stderr simulate --exec "echo processing; exec $EX/sim_awgn" c.tz -o out.tz
  fails_with 5 "simulator '.*': record 0: it wrote text to its standard output \(\"processing\"\).*standard error"
  [[ "$stderr" != *"bad magic"* ]]
}

@test "fault: a missing end record is not blamed on an answered record" {
  cands 30 10
  run --separate-stderr simulate --exec "$FAULTY noend" c.tz -o out.tz
  fails_with 5 "simulator '.*faulty.py noend': no end record: its output ended after its 3 answers without one"
  [[ "$stderr" != *"record 2"* ]]
}

@test "fault: a simulator that does not flush times out with a hint" {
  cands 30 10
  run --separate-stderr simulate --exec "$FAULTY noflush" --timeout 1 c.tz -o out.tz
  fails_with 5 "record 0: no answer within 1 s \(killed\): it had written nothing at all.*must flush its standard output after each answer"
}

# ---- the field names reach the simulator ---------------------------------

@test "--exec: the simulator is told the fields, the shape, K and the seed" {
  tzdata moons -c 40 -n 16 | tzcat -R x=cand -o c.tz
  simulate -f cand -y obs -K 2 --seed 7 c.tz -o out.tz \
    --exec "env > env.txt; tee sent.tz | $EX/sim_awgn 0.3"
  run tzinfo sent.tz
  [[ "$output" == *"@field=cand"* && "$output" == *"@out_field=obs"* ]]
  [[ "$output" == *"@resamples=2"* && "$output" == *"@seed=7"* && "$output" == *"@shape=2"* ]]
  [[ "$output" == *"@first=0"* && "$output" == *"@first=32"* ]]
  grep -qx SCSI_SIM_FIELD=cand env.txt
  grep -qx SCSI_SIM_OUT_FIELD=obs env.txt
  grep -qx SCSI_SIM_RESAMPLES=2 env.txt
  grep -qx SCSI_SIM_SEED=7 env.txt
}

@test "--exec: the shipped simulators read and answer the fields of -f and -y" {
  tzdata moons -c 40 -n 16 | tzcat -R x=cand -o c.tz
  for sim in "$EX/sim_awgn 0.3" "$ROOT/examples/sim_clip.py 1 0.1" \
             "$ROOT/examples/sim_saturate.py 1 0.5 0.1" "$ROOT/examples/sim_project.py 0.1" \
             "$FAULTY ok" \
             'corrupt -f "$SCSI_SIM_FIELD" -y "$SCSI_SIM_OUT_FIELD" -L 0 awgn:sigma=0.1'; do
    simulate -f cand -y obs --exec "$sim" c.tz -o s.tz
    run tzinfo -b s.tz
    [[ "$output" == *"40 samples"* && "$output" == *"obs "* ]] || { echo "$sim: $output"; false; }
  done
}

# ---- provenance -----------------------------------------------------------

@test "the output records say how they were made, as corrupt's do" {
  cands 20 10
  simulate -K 2 --seed 3 awgn:sigma=0.5 c.tz -o b.tz
  run tzinfo b.tz
  [[ "$output" == *"@forward=awgn:sigma=0.5"* && "$output" == *"@forward_seed=3"* ]]
  [[ "$output" == *"@forward_resamples=2"* && "$output" != *"@forward_exec"* ]]
  # an input that was itself corrupted keeps no stale @forward
  corrupt -k -f x0 -y y0 awgn c.tz -o k.tz
  simulate --seed 4 --exec "$EX/sim_awgn 0.1" k.tz -o e.tz
  run tzinfo e.tz
  [[ "$output" == *"@forward_exec=$EX/sim_awgn 0.1"* && "$output" == *"@forward_seed=4"* ]]
  [[ "$output" == *"@forward_resamples=1"* && "$output" != *"@forward="* ]]
}
