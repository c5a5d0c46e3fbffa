#!/usr/bin/env bats
# tests: what every tool shares about its outputs (libcommon/base/out.c, tool/cli.c):
# no temporary left behind by a signal or a failed write, status 128+N for
# a signal N, status 3 and a message naming the file for any write error.
# also requires: coreutils' env --default-signal, /dev/full, mkfifo

bats_require_minimum_version 1.5.0
load helpers

# No temporary output left in the current directory.
no_temporaries() {
  local left
  left=$(ls -a | grep '\.tmp\.' || true)
  [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# Run "$@" in a subshell under a 10 KiB file-size limit (ulimit -f).
limited() { (ulimit -f 10; "$@"); }

@test "a file-size limit (ulimit -f) is a write error: status 3, the file named, no temporary" {
  tzdata moons -c 20000 -L 0 -o big.tz             # about 240 KB each
  tzexport csv big.tz -o big.csv
  tzcat -R x=x0 big.tz -o pairs.tz
  si-train --generative --steps 1 pairs.tz -o model.tz -q
  while read -r out cmd; do
    run --separate-stderr limited $cmd
    [ "$status" -eq 3 ] || { echo "$cmd: status $status: $stderr"; return 1; }
    [[ "$stderr" == *": $out: write failed: File too large"* ]] ||
      { echo "$cmd: $stderr"; return 1; }
    [ ! -e "$out" ] || { echo "$cmd: left $out"; return 1; }
    no_temporaries
  done <<'EOF'
out.tz tzdata moons -c 20000 -L 0 -o out.tz
out.tz tzcat big.tz -L 0 -o out.tz
out.tz tzshuf big.tz -L 0 -o out.tz
out.tz tzimport csv -L 0 big.csv -o out.tz
out.tz corrupt -L 0 awgn:sigma=0.1 big.tz -o out.tz
out.csv tzexport csv big.tz -o out.csv
out.npy tzexport npy big.tz -o out.npy
out.tz si-train --generative --steps 1 -q pairs.tz -o out.tz
out.tz pushback -m model.tz --count 20000 -L 0 -o out.tz
EOF
}

@test "every terminating signal removes the temporary and ends with status 128+N" {
  tzdata moons -c 64 -n 16 -o m.tz
  mkfifo in.fifo
  ulimit -c 0                       # SIGQUIT and SIGABRT would dump core
  for sig in HUP INT QUIT ABRT PIPE ALRM TERM USR1 USR2 XCPU; do
    # tzcat has created its temporary and waits for input on the FIFO.
    # env --default-signal: a shell starts background jobs with SIGINT and
    # SIGQUIT ignored, which the tools respect.
    sleep 60 >in.fifo 3>&- &
    holder=$!
    env --default-signal tzcat in.fifo -o out.tz 3>&- &
    pid=$!
    for _ in $(seq 100); do
      ls | grep -q '^out\.tz\.tmp\.' && break
      sleep 0.1
    done
    ls | grep -q '^out\.tz\.tmp\.'
    kill -s "$sig" "$pid"
    st=0
    wait "$pid" || st=$?
    kill "$holder"
    wait "$holder" || true
    [ "$st" -eq $((128 + $(kill -l "$sig"))) ] || { echo "SIG$sig: status $st"; return 1; }
    [ ! -e out.tz ]
    no_temporaries
  done
}

@test "a signal the tool was started with ignored stays ignored (nohup)" {
  mkfifo in.fifo
  sleep 60 >in.fifo 3>&- &
  holder=$!
  env --default-signal --ignore-signal=HUP tzcat in.fifo -o out.tz 3>&- &
  pid=$!
  for _ in $(seq 100); do ls | grep -q '^out\.tz\.tmp\.' && break; sleep 0.1; done
  kill -HUP "$pid"
  sleep 0.3
  kill -0 "$pid"                    # still running, its temporary in place
  ls | grep -q '^out\.tz\.tmp\.'
  kill -TERM "$pid"
  st=0
  wait "$pid" || st=$?
  kill "$holder"
  wait "$holder" || true
  [ "$st" -eq 143 ]
  no_temporaries
}

@test "a pipe whose reader has gone ends the writer by SIGPIPE" {
  run bash -c 'set -o pipefail; tzdata moons -c 1000000 | head -c 100 >/dev/null'
  [ "$status" -eq 141 ]
}

@test "a full or closed standard output is an error: status 3, 'standard output' named" {
  tzdata moons -c 64 -n 16 -o m.tz
  tzdata fashion-mnist --split test -c 1 -o f.tz
  while read -r cmd; do
    run --separate-stderr bash -c "exec $cmd >/dev/full"
    [ "$status" -eq 3 ] || { echo "$cmd: status $status: $stderr"; return 1; }
    [[ "$stderr" == *": standard output: write failed: No space left on device" ]] ||
      { echo "$cmd: $stderr"; return 1; }
  done <<'EOF'
tzinfo m.tz
tzinfo --stats --brief m.tz
tzinfo --help
tzcat --version
tzdata moons -c 100
tzcat m.tz
tzexport csv m.tz
tzexport npy m.tz
tzexport png f.tz
tzdist -f x m.tz m.tz
tzdist -f x --images f.tz f.tz
EOF
  run --separate-stderr bash -c 'exec tzinfo m.tz >&-'
  fails_with 3 "^tzinfo: standard output: write failed: Bad file descriptor$"
}

@test "a full output file is an error: status 3, the file named" {
  tzdata moons -c 64 -n 16 -o m.tz
  for cmd in "tzdata moons -c 100" "tzcat m.tz" "tzexport csv m.tz" "tzexport idx m.tz"; do
    run --separate-stderr $cmd -o /dev/full
    [ "$status" -eq 3 ] || { echo "$cmd: status $status: $stderr"; return 1; }
    [[ "$stderr" == *": /dev/full: "*"No space left on device" ]] ||
      { echo "$cmd: $stderr"; return 1; }
  done
}

@test "si-train --log on a full disk stops the run: status 3, the log named, no model" {
  tzdata moons -c 256 | tzcat -R x=x0 -o g.tz
  run --separate-stderr si-train --generative --steps 5 --log-every 1 --log /dev/full g.tz -o m.tz
  fails_with 3 "^si-train: /dev/full: write failed: No space left on device$"
  [ ! -e m.tz ]
  no_temporaries
  # and under a file-size limit the log that stops growing stops the run too
  run --separate-stderr limited si-train --generative --steps 2000 --log-every 1 --log loss.tsv g.tz -o m.tz -q
  fails_with 3 "^si-train: loss.tsv: write failed: File too large$"
  [ ! -e m.tz ]
  [ "$(wc -c < loss.tsv)" -le 10240 ]
  no_temporaries
}
