#!/usr/bin/env bats
# tests: tzshuf
# also requires: tzdata, tzinfo, tzexport, tzcat

bats_require_minimum_version 1.5.0
load helpers

@test "a shuffle is a permutation of the samples" {
  tzdata gmm -c 500 -n 64 -o a.tz
  tzshuf --seed 1 a.tz -o s.tz
  ! cmp -s <(tzexport csv -f x a.tz) <(tzexport csv -f x s.tz)
  diff <(tzexport csv -f x,label a.tz | sort) <(tzexport csv -f x,label s.tz | sort)
}

@test "rows stay together across fields" {
  tzdata moons -c 200 -n 50 -o a.tz
  tzshuf --seed 2 a.tz -o s.tz
  diff <(tzexport csv -f x,label a.tz | sort) <(tzexport csv -f x,label s.tz | sort)
}

@test "the same seed gives the same bytes whatever the input batching" {
  tzdata gmm -c 300 -n 64 -o a.tz
  tzcat -n 7 a.tz -o b.tz
  tzshuf --seed 9 -n 64 a.tz -o s1.tz
  tzshuf --seed 9 -n 64 b.tz -o s2.tz
  cmp s1.tz s2.tz
  tzshuf --seed 10 -n 64 a.tz -o s3.tz
  ! cmp -s s1.tz s3.tz
}

@test "--count N: the shuffle's first N samples, the bytes of tzshuf | tzcat --head N" {
  tzdata gmm -c 300 -n 64 -o a.tz
  for n in 1 64 100 300 1000; do
    tzshuf --seed 4 -c "$n" a.tz -o c.tz
    tzshuf --seed 4 a.tz | tzcat --head "$n" -o h.tz
    cmp c.tz h.tz
  done
  [ "$(tzexport csv -f x c.tz | wc -l)" -eq 300 ]
  tzshuf --seed 4 -c 0 a.tz -o z.tz
  [ "$(tzexport csv -f x z.tz | wc -l)" -eq 0 ]
}

@test "output records take the first input record's batch size by default" {
  tzdata gmm -c 100 -n 30 -o a.tz
  run tzinfo <(tzshuf a.tz)
  [ "$(grep -c 'batch of 30' <<<"$output")" -eq 3 ]
  [[ "$output" == *"batch of 10"* ]]
}

@test "different fields in the input are a data error" {
  tzdata gmm -c 10 -o a.tz
  tzdata gaussian -d 3 -c 10 -o b.tz
  run --separate-stderr tzshuf a.tz b.tz -o out.tz
  fails_with 2 "b.tz: record 0: fields differ"
  [ ! -e out.tz ]
}
