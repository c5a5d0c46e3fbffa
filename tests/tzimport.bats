#!/usr/bin/env bats
# tests: tzimport (and the exact round trips through tzexport)
# also requires: tzexport, tzinfo, tzdata, tzcat, /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist

@test "the tz(5) worked example is what tzimport writes, byte for byte" {
  printf '0,1,2\n3,4,5\n' | tzimport csv -L 0 --attr seed=7 -o ex.tz
  z() { printf '00%.0s' $(seq "$1"); }     # n zero bytes in hex
  # the lines of EXAMPLE in man/man5/tz.5, in order
  want="89545a310d0a1a0a"
  want+="0100 0100 80000000 4000000000000000 01000000 01000000"
  want+="$(z 8)$(z 8)"
  want+="01 02 0100 78 0200000000000000 0300000000000000"
  want+="0400 01000000 73656564 37 $(z 48)"
  want+="00000000 0000803f 00000040 00004040 00008040 0000a040 $(z 40)"
  end="89545a310d0a1a0a 0100 0300 40000000 $(z 8) $(z 8) 0100000000000000 $(z 24)"
  [ "$(od -An -v -tx1 ex.tz | tr -d ' \n')" = "$(tr -d ' ' <<<"$want$end")" ]
}

@test "idx round trip is exact against Debian's files" {
  for f in t10k-labels-idx1-ubyte t10k-images-idx3-ubyte; do
    tzimport idx "$FM/$f.gz" -o a.tz
    tzexport idx a.tz -o back.idx
    cmp back.idx <(zcat "$FM/$f.gz")
  done
  run tzinfo -b a.tz
  [[ "$output" == *"10000 samples"* && "$output" == *"u8"*"[28,28]"* ]]
}

@test "PNG round trip is exact, grey and RGB, 8 and 16 bits" {
  tzdata fashion-mnist --split test -c 3 -o f.tz
  tzexport png -i 2 f.tz -o a.png
  tzimport png a.png -o a.tz
  tzexport png a.tz -o b.png
  cmp a.png b.png
  diff <(tzcat --range 2:3 f.tz | tzexport csv -f x) <(tzexport csv -f x a.tz)
  $PY -c "
import numpy as np; r = np.random.default_rng(1)
np.save('rgb.npy', (r.integers(0, 256, (1, 3, 5, 7)) / 255).astype(np.float32))
np.save('g16.npy', (r.integers(0, 65536, (1, 1, 4, 6)) / 65535).astype(np.float32))"
  tzimport npy rgb.npy -o rgb.tz
  tzexport png rgb.tz -o rgb.png
  tzimport png rgb.png | tzexport npy -o rgb2.npy
  $PY -c "import numpy as np; assert (np.load('rgb.npy') == np.load('rgb2.npy')).all()"
  tzimport npy g16.npy | tzexport png --depth 16 -o g16.png
  tzimport png g16.png | tzexport npy -o g16b.npy
  $PY -c "import numpy as np; assert (np.load('g16.npy') == np.load('g16b.npy')).all()"
}

@test "npy round trip is exact for every dtype and numpy reads what we write" {
  for dt in float32 float64 uint8 int32 int64; do
    $PY -c "import numpy as np; np.save('a.npy', (np.arange(24).reshape(2,3,4) * 3 - 7).astype('$dt'))"
    tzimport npy -n 1 a.npy -o a.tz
    [ "$(tzinfo -b a.tz | head -1)" = "2 records, 2 samples in batch records" ]
    tzexport npy a.tz -o b.npy
    cmp a.npy b.npy
  done
  tzdata moons -c 10 -o m.tz
  tzexport npy -f label m.tz -o l.npy
  $PY -c "import numpy as np; a = np.load('l.npy'); assert a.dtype == np.int32 and a.shape == (10,)"
}

@test "csv round trip keeps f32 values exactly" {
  tzdata gaussian -d 3 -c 50 -o g.tz
  tzexport csv g.tz > g.csv
  tzimport csv g.csv | tzexport csv > g2.csv
  cmp g.csv g2.csv
  run tzexport csv -H -f x g.tz
  [ "${lines[0]}" = "x[0],x[1],x[2]" ]
}

@test "JPEG import decodes and error falls with quality" {
  tzdata fashion-mnist --split test -c 1 -o f.tz
  for q in 10 50 95; do tzexport jpeg -Q $q f.tz -o q$q.jpg; done
  for q in 10 50 95; do
    tzimport jpeg q$q.jpg | tzexport csv -f x > q$q.csv
  done
  tzexport csv -f x f.tz > ref.csv
  mse() { paste -d, ref.csv "$1" | awk -F, '{ n = NF / 2; for (i = 1; i <= n; i++) { d = $i - $(i + n); s += d * d } } END { print s / n }'; }
  e10=$(mse q10.csv); e50=$(mse q50.csv); e95=$(mse q95.csv)
  awk -v a="$e10" -v b="$e50" -v c="$e95" 'BEGIN { exit !(a > b && b > c && c < 0.001) }'
}

@test "several images make one batch; mismatched sizes are an error" {
  tzdata fashion-mnist --split test -c 3 -o f.tz
  for i in 0 1 2; do tzexport png -i $i f.tz -o $i.png; done
  run tzinfo <(tzimport png 0.png 1.png 2.png -n 2)
  [[ "$output" == *"batch of 2"* && "$output" == *"batch of 1"* ]]
  $PY -c "import numpy as np; np.save('o.npy', np.zeros((1,1,5,5), np.float32))"
  tzimport npy o.npy | tzexport png -o odd.png
  run --separate-stderr tzimport png 0.png odd.png -o out.tz
  fails_with 2 "odd.png: image is 5x5"
  [ ! -e out.tz ]
}

@test "corrupt PNG and JPEG files are data errors naming the file" {
  tzdata fashion-mnist --split test -c 1 -o f.tz
  tzexport png f.tz -o a.png
  tzexport jpeg f.tz -o a.jpg
  head -c 60 a.png > cut.png
  head -c 200 a.jpg > cut.jpg
  printf 'GIF89a' > not.png
  for f in cut.png cut.jpg not.png; do
    run --separate-stderr tzimport image $f -o out.tz
    fails_with 2 "^tzimport: $f: "
    [ ! -e out.tz ]
  done
}

@test "an image too large to decode says 'bad PNG:' or 'bad JPEG:' once, cleanly" {
  # The header claims 60000x60000 pixels, past the 1 GiB cap: the decoder's
  # message is the shape check's, with the format in front of it once (it
  # was formatted into its own buffer: "bad JPEG: bad JPEG: 0000x6...").
  tzdata fashion-mnist --split test -c 1 -o f.tz
  tzexport png f.tz -o a.png
  tzexport jpeg f.tz -o a.jpg
  $PY - <<'PY'
import struct, zlib
d = bytearray(open("a.jpg", "rb").read())
i = d.find(b"\xff\xc0")                  # SOF0: length, precision, height, width
d[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)
open("big.jpg", "wb").write(d)
d = bytearray(open("a.png", "rb").read())
d[16:24] = struct.pack(">II", 60000, 60000)     # IHDR width, height
d[29:33] = struct.pack(">I", zlib.crc32(bytes(d[12:29])))
open("big.png", "wb").write(d)
PY
  for f in big.jpg big.png; do
    kind=JPEG; [ $f = big.png ] && kind=PNG
    run --separate-stderr tzimport image $f -o out.tz
    fails_with 2 "^tzimport: $f: bad $kind: image of 60000x60000x1 at 8 bits exceeds the 1024 MiB cap\$"
    [ "$(grep -o "bad $kind" <<<"$stderr" | wc -l)" -eq 1 ]
    [ ! -e out.tz ]
  done
}

@test "a CSV header line is never dropped unsaid" {
  printf 'time,flux\n0,1.5\n1,2.5\n' > h.csv
  # guessed (no field is a number): skipped, with a note naming the line
  run --separate-stderr tzimport csv h.csv -o a.tz
  [ "$status" -eq 0 ]
  [ "$stderr" = "tzimport: h.csv: line 1 skipped as a header: 'time,flux' (--header to say so, --no-header to refuse)" ]
  [ "$(tzexport csv a.tz)" = "$(printf '0,1.5\n1,2.5')" ]
  # --quiet and --header silence the note; the data are the same
  run --separate-stderr tzimport csv -q h.csv -o q.tz
  [ "$status" -eq 0 ] && [ -z "$stderr" ] && cmp a.tz q.tz
  run --separate-stderr tzimport csv --header h.csv -o b.tz
  [ "$status" -eq 0 ] && [ -z "$stderr" ] && cmp a.tz b.tz
  # --header skips a first line of numbers too; --no-header refuses a header
  printf '9,9\n0,1.5\n1,2.5\n' | tzimport csv --header -o c.tz
  cmp a.tz c.tz
  run --separate-stderr tzimport csv --no-header h.csv -o d.tz
  fails_with 2 "h.csv: line 1, column 1: not a number: 'time'"
  [ ! -e d.tz ]
  # a first line with numbers among its fields is a bad row, not a header
  printf '1,2,x\n3,4,5\n' > m.csv
  run --separate-stderr tzimport csv m.csv -o e.tz
  fails_with 2 "m.csv: line 1, column 3: not a number: 'x' \\(nor a header"
  # a header has as many fields as the rows: a title line is no header
  printf 'my table\n1,2\n' > t.csv
  run --separate-stderr tzimport csv t.csv -o e.tz
  fails_with 2 "t.csv: line 2: 2 columns, expected 1 as in the header \\(line 1\\)"
  [ ! -e e.tz ]
  # a table without a header says nothing
  run --separate-stderr tzimport csv -o f.tz <<<$'1,2\n3,4'
  [ "$status" -eq 0 ] && [ -z "$stderr" ]
  run --separate-stderr tzimport csv --header --no-header h.csv
  fails_with 1 "contradict"
  run --separate-stderr tzimport npy --header h.csv
  fails_with 1 "csv only"
}

@test "hostile npy headers are data errors" {
  $PY -c "import numpy as np; np.save('f.npy', np.zeros((2,2), np.float32, order='F').T.copy(order='F'))"
  run --separate-stderr tzimport npy f.npy
  fails_with 2 "f.npy: .*fortran"
  $PY -c "import numpy as np; np.save('b.npy', np.zeros(3, '>f4'))"
  run --separate-stderr tzimport npy b.npy
  fails_with 2 "b.npy: .*>f4"
  head -c 100 "$(ls *.npy | head -1)" > cut.npy
  run --separate-stderr tzimport npy cut.npy
  fails_with 2 "cut.npy: "
}

@test "malformed CSV rows are data errors with the line number" {
  printf '1,2\n3\n' > a.csv
  run --separate-stderr tzimport csv a.csv
  fails_with 2 "a.csv: line 2"
  printf '1,2\n3,zz\n' > b.csv
  run --separate-stderr tzimport csv b.csv
  fails_with 2 "b.csv: line 2, column 2: not a number"
}

@test "bad arguments" {
  run --separate-stderr tzimport
  fails_with 1 "need a FORMAT"
  run --separate-stderr tzimport gif x
  fails_with 1 "unknown FORMAT 'gif'"
  run --separate-stderr tzimport npy a b
  fails_with 1 "takes one FILE"
  run --separate-stderr tzimport csv --dtype u8 x
  fails_with 1 "does not apply"
  run --separate-stderr tzimport csv --attr novalue x
  fails_with 1 "KEY=VALUE"
}

@test "--attr values too long, alone or together, are usage errors (status 1)" {
  v=$(head -c 65536 /dev/zero | tr '\0' a)
  run --separate-stderr bash -c 'printf "1\n" | tzimport csv --attr "k=$1" -o out.tz' _ "$v"
  fails_with 1 "--attr k: value of 65536 bytes exceeds 65535"
  [ ! -e out.tz ]
  # 15 values of 65535 bytes fit in the 1 MiB header, 16 do not
  v=${v:1}
  args=()
  for i in $(seq 10 24); do args+=(--attr "k$i=$v"); done
  printf '1\n' | tzimport csv "${args[@]}" -o ok.tz
  run tzinfo -b ok.tz
  [ "$status" -eq 0 ]
  run --separate-stderr bash -c 'printf "1\n" | tzimport csv "$@" -o out.tz' _ "${args[@]}" --attr "k25=$v"
  fails_with 1 "--attr: the attributes take .* bytes of record header; at most .* fit"
  [ ! -e out.tz ]
  # a KEY given twice counts once
  run --separate-stderr bash -c 'printf "1\n" | tzimport csv "$@" -o twice.tz' _ "${args[@]}" --attr "k24=$v"
  [ "$status" -eq 0 ]
}
