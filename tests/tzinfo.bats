#!/usr/bin/env bats
# tests: tzinfo, and the stream reader's handling of damaged input
# also requires: tzdata, tzcat, zstd

bats_require_minimum_version 1.5.0
load helpers

@test "tzinfo lists records, fields, shapes and attributes" {
  tzdata moons -c 10 -n 4 -o m.tz
  run --separate-stderr tzinfo m.tz
  [ "$status" -eq 0 ]
  [[ "$output" == *"record 0: batch of 4, 2 tensors, 1 attribute"* ]]
  [[ "$output" == *"x            f32  [4,2]"* ]]
  [[ "$output" == *"record 2: batch of 2"* ]]
  [[ "$output" == *"@source=tzdata moons n=10 seed=0"* ]]
  [[ "$output" == *"3 records, 10 samples"* ]]
}

@test "tzinfo --stats gives min, max, mean, std and counts NaN" {
  printf '1,2\n3,4\nnan,inf\n' > v.csv
  tzimport csv v.csv -o v.tz
  run --separate-stderr tzinfo -b -s v.tz
  [ "$status" -eq 0 ]
  line=$(grep '^x ' <<<"$output")
  read -r name type shape count min max mean std nan inf <<<"$line"
  [ "$count" = 6 ] && [ "$min" = 1 ] && [ "$max" = 4 ] && [ "$mean" = 2.5 ]
  [ "$nan" = 1 ] && [ "$inf" = 1 ]
  awk -v s="$std" 'BEGIN { exit !(s > 1.1180 && s < 1.1181) }'
}

@test "totals are per field name, with the first tensor's dtype and shape" {
  printf '1,2\n' | tzimport csv -o a.tz
  printf '1,2,3\n4,5,6\n' | tzimport csv --dtype f64 -o b.tz
  run --separate-stderr tzinfo -b a.tz b.tz
  [ "$status" -eq 0 ]
  [ "$(grep -c '^  x ' <<<"$output")" -eq 1 ]
  [[ "$output" == *"  x            f32  per-sample [2], 3 rows"* ]]
  run --separate-stderr tzinfo -b -s a.tz b.tz
  [ "$status" -eq 0 ]
  [ "$(grep -c '^x ' <<<"$output")" -eq 1 ]
  read -r name type shape count min max _ <<<"$(grep '^x ' <<<"$output")"
  [ "$type" = f32 ] && [ "$shape" = "[2]" ] && [ "$count" = 8 ]
  [ "$min" = 1 ] && [ "$max" = 6 ]
}

@test "attribute values print on one line, escaped" {
  printf '1\n' | tzimport csv --attr "$(printf 'note=a\nb\\c\td\re\001f\177g\303\251')" -o a.tz
  run --separate-stderr tzinfo a.tz
  [ "$status" -eq 0 ]
  [ "$(wc -l <<<"$output")" -eq 5 ]
  grep -qxF '  @note=a\nb\\c\td\re\x01f\x7fg'$'\303\251' <<<"$output"
}

@test "tzinfo reads standard input, and concatenated streams" {
  tzdata gmm -c 5 -o a.tz
  tzdata gmm -c 7 --seed 1 -o b.tz
  run --separate-stderr bash -c 'cat a.tz b.tz | tzinfo -b'
  [ "$status" -eq 0 ]
  [[ "$output" == *"2 records, 12 samples"* ]]
}

@test "zstd -dc gives the raw layer, which reads the same" {
  tzdata moons -c 20 -n 8 -o z.tz
  zstd -q -dc z.tz > raw.tz
  [ "$(head -c 4 raw.tz | od -An -tx1 | tr -d ' ')" = 89545a31 ]
  diff <(tzinfo -s z.tz) <(tzinfo -s raw.tz)
  tzcat -L 0 z.tz -o raw2.tz
  cmp raw.tz raw2.tz
}

@test "bad magic: one-line error naming file and record, status 2" {
  printf 'this is not a tensor stream at all' > bad.tz
  run --separate-stderr tzinfo bad.tz
  fails_with 2 "^tzinfo: bad.tz: record 0: bad magic"
  [ "$(wc -l <<<"$stderr")" -eq 1 ]
}

@test "empty input is an error, not an empty stream" {
  : > empty.tz
  run --separate-stderr tzinfo empty.tz
  fails_with 2 "empty.tz: empty input"
}

@test "a stream without its end record is truncated" {
  raw_moons 8 4 r.tz
  head -c -64 r.tz > cut.tz
  run --separate-stderr tzinfo cut.tz
  fails_with 2 "cut.tz: record 1: truncated stream: no end record"
}

@test "a truncated zstd frame is reported" {
  tzdata moons -c 100 -n 50 -o z.tz
  head -c 300 z.tz > cut.tz
  run --separate-stderr tzinfo cut.tz
  fails_with 2 "cut.tz: record 0: truncated zstd frame"
}

@test "a truncated raw record is reported" {
  raw_moons 8 4 r.tz
  head -c 100 r.tz > cut.tz
  run --separate-stderr tzinfo cut.tz
  fails_with 2 "cut.tz: record 0: truncated record"
}

@test "a checksum mismatch is reported" {
  raw_moons 8 8 r.tz
  head -c -64 r.tz > rec.raw
  tail -c 64 r.tz > end.raw
  zstd -q -c rec.raw > f1
  zstd -q -c end.raw > f2
  cat f1 f2 > ok.tz
  run tzinfo -b ok.tz
  [ "$status" -eq 0 ]
  size=$(stat -c %s f1)
  poke f1 $((size - 1)) 00
  poke f1 $((size - 2)) 00
  cat f1 f2 > bad.tz
  run --separate-stderr tzinfo bad.tz
  fails_with 2 "bad.tz: record 0: checksum mismatch"
}

@test "an unknown dtype is reported" {
  raw_moons 8 4 r.tz
  poke r.tz 48 09          # first tensor descriptor's dtype byte
  run --separate-stderr tzinfo r.tz
  fails_with 2 "r.tz: record 0: tensor 'x': unknown dtype code 9"
}

@test "an absurd shape that overflows is reported" {
  raw_moons 8 4 r.tz
  poke64 r.tz 53 4611686018427387904     # dims[0] of 'x' = 2^62
  run --separate-stderr tzinfo r.tz
  fails_with 2 "r.tz: record 0: tensor 'x': shape overflows"
}

@test "a payload that does not match the shapes is reported" {
  raw_moons 8 4 r.tz
  poke r.tz 53 05          # 'x' claims 5 rows instead of 4
  run --separate-stderr tzinfo r.tz
  fails_with 2 "r.tz: record 0: .*(batch size|payload|shape)"
}

@test "a payload length that does not match the shapes is reported" {
  raw_moons 8 4 r.tz
  poke r.tz 16 40          # payload_len 64 instead of 128
  run --separate-stderr tzinfo r.tz
  fails_with 2 "r.tz: record 0: tensor 'label': shape needs 16 bytes but only 0 of the payload remain"
}

@test "a rank above the cap is reported" {
  raw_moons 8 4 r.tz
  poke r.tz 49 09
  run --separate-stderr tzinfo r.tz
  fails_with 2 "r.tz: record 0: tensor 'x': rank 9 exceeds 8"
}

@test "a lying header length is reported" {
  raw_moons 8 4 r.tz
  poke r.tz 13 ff          # header_len = 0xff00 + ...
  run --separate-stderr tzinfo r.tz
  fails_with 2 "r.tz: record 0: "
}

@test "a header too short for its descriptors says so, with the numbers" {
  # a descriptor of 4 + 60 + 16 bytes fills the 128-byte header
  printf '1,2\n' | tzimport csv -L 0 --name "$(printf 'x%.0s' {1..60})" -o r.tz
  poke r.tz 24 02          # ntensors 2: the second would start at byte 128
  run --separate-stderr tzinfo r.tz
  fails_with 2 "r.tz: record 0: tensor 1 of 2: descriptor at byte 128 does not fit in header_len 128"
  [[ "$stderr" != *"runs past"* ]]
}

@test "a missing file is an I/O error, status 3" {
  run --separate-stderr tzinfo nowhere.tz
  fails_with 3 "nowhere.tz: cannot open"
}

@test "unknown option: usage error, status 1, nothing on stdout" {
  run --separate-stderr tzinfo --frobnicate
  fails_with 1 "unknown option '--frobnicate'"
  [ -z "$output" ]
}

@test "--help and --version" {
  run --separate-stderr tzinfo --help
  [ "$status" -eq 0 ]
  [[ "$output" == "Usage: tzinfo"* ]]
  [[ "$output" == *"Exit status:"* ]]
  run tzinfo --version
  [ "$status" -eq 0 ]
  [[ "$output" == "tzinfo (scsi toolkit) "* ]]
}
