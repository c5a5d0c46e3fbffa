#!/usr/bin/env bats
# tests: tzexport
# also requires: tzdata, tzimport, tzinfo, tzcat, corrupt, /usr/bin/python3
# with numpy; scripts/demo --grid (the demo's grid, README.md's first picture)

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

@test "sheet and png read their input to the end: no SIGPIPE upstream, a damaged tail is an error" {
  tzdata fashion-mnist --split test -c 2000 -n 100 -o f.tz
  # 20 records, more than a pipe holds; the sheet takes 10 images and the
  # png one.  Under pipefail a producer killed by SIGPIPE fails the pipe.
  run -0 bash -o pipefail -c 'tzcat f.tz | tzexport sheet -c 10 -o s.png'
  run -0 bash -o pipefail -c 'tzcat f.tz | tzexport png --index 3 -o p.png'
  [ -s s.png ] && [ -s p.png ]
  # a damaged tail, far after the samples taken: an error, and no image
  head -c $(($(stat -c %s f.tz) - 100)) f.tz > cut.tz
  run tzexport sheet -c 10 cut.tz -o c.png
  [ "$status" -ne 0 ] && [ ! -e c.png ]
  [[ $output == *cut.tz* ]]
  run tzexport png --index 0 cut.tz -o c.png
  [ "$status" -ne 0 ] && [ ! -e c.png ]
}

@test "sheet --scale: each pixel an N x N block, the padding unscaled" {
  tzdata fashion-mnist --split test -c 10 -o f.tz
  tzexport sheet -c 10 --cols 5 f.tz -o s1.png
  tzexport sheet -c 10 --cols 5 --scale 3 f.tz -o s3.png
  [ "$(png_size s3.png)" = "$((5 * 3 * 28 + 6 * 2)) $((2 * 3 * 28 + 3 * 2))" ]
  tzexport sheet -c 10 --cols 5 --scale 1 f.tz -o d.png
  cmp s1.png d.png                  # --scale 1 is the default
  tzimport png s1.png | tzexport npy -o s1.npy
  tzimport png s3.png | tzexport npy -o s3.npy
  $PY -c "
import numpy as np; a = np.load('s1.npy')[0, 0]; b = np.load('s3.npy')[0, 0]
for r in range(2):
    for c in range(5):
        x = a[2 + r * 30:][:28, 2 + c * 30:][:, :28]
        y = b[2 + r * 86:][:84, 2 + c * 86:][:, :84]
        assert (np.kron(x, np.ones((3, 3), np.float32)) == y).all(), (r, c)
        assert (b[r * 86:][:2] == 1).all() and (b[:, c * 86:][:, :2] == 1).all()"
}

@test "sheet --labels: a label column at the left, the grid unchanged beside it" {
  tzdata fashion-mnist --split test -c 12 -o f.tz
  tzexport sheet -c 12 --cols 4 --scale 2 f.tz -o plain.png
  tzexport sheet -c 12 --cols 4 --scale 2 --labels 'top,,row 3' f.tz -o lab.png
  # font scale 2 * 28 / 32 = 1; "row 3" is 5 characters: 5 * 6 - 1 + 2 * 6
  [ "$(png_size lab.png)" = "$((41 + 4 * 56 + 5 * 2)) $((3 * 56 + 4 * 2))" ]
  tzimport png plain.png | tzexport npy -o plain.npy
  tzimport png lab.png | tzexport npy -o lab.npy
  $PY -c "
import numpy as np; p = np.load('plain.npy')[0, 0]; l = np.load('lab.npy')[0, 0]
assert (l[:, 41:] == p).all()
col = l[:, :41]
ink = [(col[2 + r * 58:][:56] < 0.5).any() for r in range(3)]
assert ink == [True, False, True], ink         # the empty label draws nothing
assert (col[:2] == 1).all() and (col[:, :6] == 1).all()"
}

@test "the demo's grid: clean, observed and restored rows, labelled, 4x" {
  tzdata fashion-mnist --split test -c 12 -q | tzcat -q -R x=clean |
    corrupt -q --seed 2 -f clean -y x1 -k mask:p=0.5 |
    corrupt -q -f clean -y x0 -k blur:sigma=1 -o r.tz    # x0: a stand-in restoration
  "$ROOT/scripts/demo" --grid r.tz grid.png
  # 10 columns of 4 x 28 pixels; "observed" at font scale 4 * 28 / 32 = 3
  [ "$(png_size grid.png)" = "$((8 * 18 - 3 + 2 * 18 + 10 * 112 + 11 * 2)) $((3 * 112 + 4 * 2))" ]
  [ ! -e results ] && [ ! -e build ]      # --grid makes nothing else
  for f in clean x1 x0; do tzcat -f $f -R $f=x --head 10 r.tz; done |
    tzexport sheet --cols 10 --scale 4 -o plain.png
  tzimport png plain.png | tzexport npy -o plain.npy
  tzimport png grid.png | tzexport npy -o grid.npy
  $PY -c "
import numpy as np; p = np.load('plain.npy')[0, 0]; g = np.load('grid.npy')[0, 0]
w = g.shape[1] - p.shape[1]
assert w == 177 and (g[:, w:] == p).all()
assert all((g[2 + r * 114:][:112, :w] < 0.5).any() for r in range(3))"
}

@test "sheet: bad --scale and --labels are usage errors" {
  tzdata fashion-mnist --split test -c 40 -o f.tz
  for s in 0 65 -1 2x; do
    run --separate-stderr tzexport sheet --scale "$s" f.tz -o s.png
    fails_with 1 "--scale"
  done
  run --separate-stderr tzexport sheet --labels "$(printf 'caf\xc3\xa9')" f.tz -o s.png
  fails_with 1 "--labels: .*not printable ASCII"
  run --separate-stderr tzexport sheet --labels "$(printf 'a\tb')" f.tz -o s.png
  fails_with 1 "not printable ASCII"
  # 8 images on 3 columns make 3 rows: a fourth label is one too many
  run --separate-stderr tzexport sheet -c 8 --cols 3 --labels a,b,c,d f.tz -o s.png
  fails_with 1 "4 row labels for a sheet of 3 rows"
  [ ! -e s.png ]
  tzexport sheet -c 8 --cols 3 --labels a,b,c f.tz -o s.png
  # a valid scale that makes the sheet too wide: 40 * 64 * 28 > 65535
  run --separate-stderr tzexport sheet -c 40 --cols 40 --scale 64 f.tz -o t.png
  fails_with 2 "exceeds 65535 pixels"
  [ ! -e t.png ]
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
