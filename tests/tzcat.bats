#!/usr/bin/env bats
# tests: tzcat
# also requires: tzdata, tzinfo, tzexport

bats_require_minimum_version 1.5.0
load helpers

# The samples of a stream as CSV text, whatever its batching.
rows() { tzexport csv -f "${2:-x}" "$1"; }

@test "re-batching keeps every sample, in order" {
  tzdata moons -c 100 -n 7 -o a.tz
  tzcat -n 32 a.tz -o b.tz
  run tzinfo -b b.tz
  [[ "$output" == *"4 records, 100 samples"* ]]
  [ "$(tzinfo b.tz | grep -c 'batch of 32')" -eq 3 ]
  diff <(rows a.tz) <(rows b.tz)
}

@test "re-batching then re-batching back is byte-identical" {
  tzdata gmm -c 50 -n 10 -o a.tz
  tzcat -n 3 a.tz | tzcat -n 10 -o b.tz
  cmp a.tz b.tz
}

@test "cat a b then split is the same as the parts" {
  tzdata gmm -c 30 -n 8 -o a.tz
  tzdata gmm -c 20 -n 8 --seed 5 -o b.tz
  tzcat a.tz b.tz -o ab.tz
  diff <(rows ab.tz) <(cat <(rows a.tz) <(rows b.tz))
  diff <(tzcat --head 30 ab.tz | rows -) <(rows a.tz)
  diff <(tzcat --range 30: ab.tz | rows -) <(rows b.tz)
  diff <(tzcat --tail 20 ab.tz | rows -) <(rows b.tz)
}

@test "--range picks samples A to B-1 across record boundaries" {
  tzdata moons -c 40 -n 6 -o a.tz
  diff <(tzcat --range 5:17 a.tz | rows -) <(rows a.tz | sed -n '6,17p')
  run tzinfo -b <(tzcat --range 5:17 -n 100 a.tz)
  [[ "$output" == *"1 record, 12 samples"* ]]
}

@test "--head 0 gives an empty but valid stream" {
  tzdata moons -c 10 -o a.tz
  run --separate-stderr bash -c 'tzcat --head 0 a.tz | tzinfo -b'
  [ "$status" -eq 0 ]
  [[ "$output" == *"0 records, 0 samples"* ]]
}

@test "--head 0 still reads and checks its whole input, as tzcat(1) says" {
  run --separate-stderr bash -o pipefail -c \
    'tzdata moons -c 100000 | tzcat --head 0 | tzinfo -b'
  [ "$status" -eq 0 ]
  [[ "$output" == *"0 records, 0 samples"* ]]
  run --separate-stderr tzcat --head 0 -o out.tz < /dev/null
  fails_with 2 "<stdin>: empty input"
  [ ! -e out.tz ]
  MANWIDTH=200 man -l "$ROOT/man/man1/tzcat.1" 2>/dev/null | grep -q -- '--head 0 writes an empty stream'
  ! MANWIDTH=200 man -l "$ROOT/man/man1/tzcat.1" 2>/dev/null | grep -q 'reads no input'
}

@test "--fields selects and orders, --drop removes, --rename renames" {
  tzdata moons -c 10 -o a.tz
  run tzinfo <(tzcat -f label,x a.tz)
  [[ "$(grep -n label <<<"$output" | head -1)" == 2:* ]]
  run tzinfo <(tzcat --drop label a.tz)
  [[ "$output" != *label* ]]
  run tzinfo <(tzcat -R x=x0 -R label=y a.tz)
  [[ "$output" == *"x0 "* && "$output" == *"y "* ]]
}

@test "a missing field is a data error and leaves no output file" {
  tzdata moons -c 10 -o a.tz
  run --separate-stderr tzcat -f nope a.tz -o out.tz
  fails_with 2 "a.tz: record 0: no field 'nope'"
  [ ! -e out.tz ]
  [ -z "$(ls | grep tmp)" ]
}

@test "a damaged input leaves no output file, and the message names it" {
  tzdata moons -c 100 -n 10 -o a.tz
  head -c 500 a.tz > cut.tz
  run --separate-stderr tzcat a.tz cut.tz -o out.tz
  fails_with 2 "cut.tz: record"
  [ ! -e out.tz ]
  [ -z "$(ls | grep tmp)" ]
}

@test "on a pipe, a failing tzcat leaves the stream without its end record" {
  tzdata moons -c 100 -n 10 -o a.tz
  head -c 500 a.tz > cut.tz
  run --separate-stderr bash -c 'tzcat a.tz cut.tz | tzinfo -b'
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"tzinfo: <stdin>: record"*"no end record"* ]]
}

@test "an interrupted run leaves no output file" {
  tzdata gaussian -d 64 -c 200000 -n 1000 -o big.tz
  tzcat -n 7 -L 19 big.tz -o out.tz &
  pid=$!
  sleep 0.3
  kill -TERM $pid
  wait $pid || true
  [ ! -e out.tz ]
  [ -z "$(ls | grep tmp)" ]
}

@test "refuses to write a binary stream to a terminal" {
  command -v script >/dev/null || skip "script(1) not installed"
  tzdata moons -c 4 -o a.tz
  run script -qec "$BIN/tzcat a.tz" /dev/null
  [ "$status" -ne 0 ]
  [[ "$output" == *"refusing to write a binary tensor stream to a terminal"* ]]
}

@test "bad arguments are usage errors" {
  run --separate-stderr tzcat --range 9:3 /dev/null
  fails_with 1 "ends before it begins"
  run --separate-stderr tzcat --head 1 --tail 1 /dev/null
  fails_with 1 "exclude each other"
  run --separate-stderr tzcat -R oops /dev/null
  fails_with 1 "OLD=NEW"
  run --separate-stderr tzcat -n abc /dev/null
  fails_with 1 "needs an integer"
}

@test "--head on a pipe reads on, so a pipefail pipeline succeeds" {
  run --separate-stderr bash -o pipefail -c \
    'tzdata fashion-mnist --split test | tzcat --head 5 | tzinfo -b'
  [ "$status" -eq 0 ]
  [[ "$output" == *"1 record, 5 samples"* ]]
}

@test "--head still reports damage after the cut" {
  tzdata moons -c 100 -n 10 -o a.tz
  head -c -10 a.tz > cut.tz
  run --separate-stderr tzcat --head 5 cut.tz -o out.tz
  fails_with 2 "cut.tz: record"
  [ ! -e out.tz ]
}

@test "progress meter only on a terminal, and never with --quiet" {
  tzdata moons -c 100 -o a.tz
  run --separate-stderr tzcat a.tz -o b.tz
  [ -z "$stderr" ]
  SCSI_FAKE_TTY=1 run --separate-stderr tzcat a.tz -o b.tz
  [[ "$stderr" == *"tzcat: samples: 100"* ]]
  SCSI_FAKE_TTY=1 run --separate-stderr tzcat -q a.tz -o b.tz
  [ -z "$stderr" ]
}

@test "-o onto a device or a FIFO writes in place: the node stays what it was" {
  # A temporary renamed over it would turn /dev/null into a plain file.
  mknod -m 666 nul c 1 3
  tzdata moons -c 10 | tzcat -o nul
  [ -c nul ]
  mkfifo pipe
  tzdata moons -c 10 | tzcat -o pipe &
  run tzinfo pipe
  wait
  [ "$status" -eq 0 ] && [[ "$output" == *"batch of 10"* ]]
  [ -p pipe ]
  [ -z "$(ls | grep tmp)" ]
}
