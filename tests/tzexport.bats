#!/usr/bin/env bats
# tests: tzexport
# also requires: tzdata, tzimport, tzinfo, tzcat, /usr/bin/python3 with numpy

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

png_size() {  # width height of a PNG, from its IHDR
  od -An -tu1 -j 16 -N 8 "$1" | awk '{ print $3 * 256 + $4, $7 * 256 + $8 }'
}

@test "sheet: a grid of --count images with --cols columns and --pad" {
  tzdata fashion-mnist --split test -c 100 -n 30 -o f.tz
  tzexport sheet -c 10 --cols 5 --pad 2 f.tz -o s.png
  [ "$(png_size s.png)" = "$((5 * 28 + 6 * 2)) $((2 * 28 + 3 * 2))" ]
  tzexport sheet f.tz -o d.png      # 64 images, 8 x 8 by default
  [ "$(png_size d.png)" = "$((8 * 28 + 9 * 2)) $((8 * 28 + 9 * 2))" ]
  # the sheet's first image is sample 0, exactly
  tzimport png s.png | tzexport npy -o s.npy
  tzcat --head 1 f.tz | tzexport npy -o x0.npy
  $PY -c "
import numpy as np; s = np.load('s.npy')[0, 0]; x = np.load('x0.npy')[0, 0]
assert (s[2:30, 2:30] == x).all() and (s[0] == 1).all() and (s[:, 0] == 1).all()"
}

@test "png --index picks a sample across record boundaries" {
  tzdata fashion-mnist --split test -c 20 -n 6 -o f.tz
  tzexport png -i 13 f.tz -o a.png
  tzcat --range 13:14 f.tz | tzexport png -o b.png
  cmp a.png b.png
  run --separate-stderr tzexport png -i 20 f.tz -o c.png
  fails_with 2 "--index 20 is past the last sample \(20\)"
  [ ! -e c.png ]
}

@test "jpeg needs 1 or 3 channels; png takes 1 to 4" {
  $PY -c "import numpy as np; np.save('a.npy', np.full((1, 2, 4, 4), 0.5, np.float32))"
  tzimport npy a.npy -o a.tz
  tzexport png a.tz -o a.png
  run --separate-stderr tzexport jpeg a.tz -o a.jpg
  fails_with 2 "2 channels; JPEG takes 1 or 3"
}

@test "a field that is not a batch of images is refused" {
  tzdata moons -c 4 -o m.tz
  run --separate-stderr tzexport png m.tz -o m.png
  fails_with 2 "field 'x' is not a batch of images"
  run --separate-stderr tzexport png -f nope m.tz -o m.png
  fails_with 2 "m.tz: record 0: no field 'nope'"
}

@test "npy of a plain record and of a field spread over records" {
  tzdata gaussian -d 3 -c 10 -n 4 -p p.tz -o g.tz
  tzexport npy -f cov p.tz -o cov.npy
  tzexport npy g.tz -o x.npy
  $PY -c "
import numpy as np; c = np.load('cov.npy'); x = np.load('x.npy')
assert c.shape == (3, 3) and c.dtype == np.float64 and np.allclose(c, c.T)
assert x.shape == (10, 3) and x.dtype == np.float32"
}

@test "csv: one line per sample, fields side by side, optional header" {
  tzdata moons -c 5 -o m.tz
  run tzexport csv -H -f label,x m.tz
  [ "${#lines[@]}" -eq 6 ]
  [ "${lines[0]}" = "label,x[0],x[1]" ]
  [[ "${lines[1]}" =~ ^[01],-?[0-9.e-]+,-?[0-9.e-]+$ ]]
  run tzexport csv m.tz        # every field, in record order
  [[ "${lines[0]}" =~ ^-?[0-9.e-]+,-?[0-9.e-]+,[01]$ ]]
}

@test "idx: --idx-type converts, values that do not fit are refused" {
  printf '1,2\n3,300\n' | tzimport csv --dtype f64 -o a.tz
  tzexport idx --idx-type i16 a.tz -o a.idx
  [ "$(od -An -tx1 -N 4 a.idx | tr -d ' ')" = 00000b02 ]
  run --separate-stderr tzexport idx --idx-type i8 a.tz -o b.idx
  [ "$status" -eq 2 ]
  [ ! -e b.idx ]
  run --separate-stderr tzexport idx --idx-type u16 a.tz -o b.idx
  fails_with 1 "--idx-type must be"
}

@test "bad arguments" {
  run --separate-stderr tzexport
  fails_with 1 "need a FORMAT"
  run --separate-stderr tzexport tiff /dev/null
  fails_with 1 "unknown FORMAT 'tiff'"
  run --separate-stderr tzexport png -f x,y /dev/null
  fails_with 1 "takes one field"
  run --separate-stderr tzexport png --depth 12 /dev/null
  fails_with 1 "--depth must be 8 or 16"
  run --separate-stderr tzexport jpeg -Q 0 /dev/null
  fails_with 1 "between 1 and 100"
}
