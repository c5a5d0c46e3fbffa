#!/usr/bin/env bats
# tests: tzplot
# also requires: tzdata, tzcat, tzimport, /usr/bin/python3 with numpy (the
# PNGs are decoded here with zlib and the PNG row filters, not with libpng)

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3
INK='(im[..., 2].astype(int) - im[..., 0] > 30)'   # the blue of the dots

png_size() {  # width height of a PNG, from its IHDR
  od -An -tu1 -j 16 -N 8 "$1" | awk '{ print $3 * 256 + $4, $7 * 256 + $8 }'
}

# A valid PNG: the signature, then an IHDR chunk of 8-bit RGB.
is_rgb_png() {
  [ "$(od -An -tx1 -N 16 "$1" | tr -d ' \n')" = 89504e470d0a1a0a0000000d49484452 ]
  [ "$(od -An -tu1 -j 24 -N 2 "$1" | tr -s ' ')" = " 8 2" ]
}

# png.py: read_png(path), the image as an (H, W, 3) uint8 array, decoded
# with zlib, undoing the five PNG row filters; the CRCs are checked.
png_py() {
  cat > "$T/png.py" <<'EOF'
import struct, zlib
import numpy as np
def read_png(path):
    d = open(path, 'rb').read()
    assert d[:8] == b'\x89PNG\r\n\x1a\n', 'no PNG signature'
    pos, idat, end = 8, b'', False
    while pos < len(d):
        n, = struct.unpack('>I', d[pos:pos + 4]); kind = d[pos + 4:pos + 8]
        body = d[pos + 8:pos + 8 + n]
        assert struct.unpack('>I', d[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
        if kind == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
            assert (depth, ctype, interlace) == (8, 2, 0)
        elif kind == b'IDAT':
            idat += body
        elif kind == b'IEND':
            end = True
        pos += 12 + n
    assert end, 'no IEND'
    raw = zlib.decompress(idat); s = 3 * w
    assert len(raw) == h * (s + 1)
    img = np.zeros((h, s), np.uint8); prev = bytes(s)
    for y in range(h):
        f = raw[y * (s + 1)]; line = raw[y * (s + 1) + 1:(y + 1) * (s + 1)]
        cur = np.frombuffer(line, np.uint8)
        if f == 0:
            out = cur
        elif f == 1:
            out = np.cumsum(cur.reshape(w, 3).astype(np.int64), 0).astype(np.uint8).ravel()
        elif f == 2:
            out = cur + np.frombuffer(prev, np.uint8)
        else:
            o = bytearray(s)
            for i in range(s):
                a = o[i - 3] if i >= 3 else 0; b = prev[i]; c = prev[i - 3] if i >= 3 else 0
                if f == 3:
                    p = (a + b) >> 1
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                o[i] = (line[i] + p) & 255
            out = np.frombuffer(bytes(o), np.uint8)
        img[y] = out; prev = img[y].tobytes()
    return img.reshape(h, w, 3)
EOF
}

# points OUT.tz EXPR [BATCH]: the (N, 2) numpy array EXPR (rng is seeded) as
# field x0 of a stream, BATCH samples a record.
points() {
  $PY -c "import numpy as np; rng = np.random.default_rng(1)
np.save('p.npy', np.asarray($2, np.float32))"
  tzimport npy --name x0 -n "${3:-1024}" p.npy -o "$1"
  rm p.npy
}

# Nothing but the files named is in the directory (no output, no FILE.tmp.PID;
# bats keeps the standard error of `run --separate-stderr` there too).
only() {
  local have want
  have=$(ls -A | grep -v '^separate-stderr-' | sort | tr '\n' ' ')
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  [ "$have" = "$want" ] || { echo "files: $have; expected: $want"; return 1; }
}

@test "scatter: a valid PNG, one --size panel per FILE, side by side" {
  tzdata moons -c 500 | tzcat -R x=x0 -o a.tz
  tzdata gmm -c 500 | tzcat -R x=x0 -o b.tz
  tzplot scatter a.tz b.tz a.tz -o s.png
  is_rgb_png s.png
  [ "$(png_size s.png)" = "960 320" ]
  tzplot scatter --size 200 a.tz b.tz -o t.png
  [ "$(png_size t.png)" = "400 200" ]
  png_py
  $PY -c "
from png import *; im = read_png('t.png')
assert im.shape == (200, 400, 3), im.shape
assert (im[0, 0] == 255).all() and $INK.sum() > 300"
  tzcat a.tz | tzplot scatter -o u.png      # standard input
  [ "$(png_size u.png)" = "320 320" ]
}

@test "scatter: points in one corner of --range darken that corner of the panel only" {
  points a.tz '0.8 + 0.15 * rng.random((1000, 2))'      # top right
  points b.tz '0.05 + 0.15 * rng.random((1000, 2))'     # bottom left
  tzplot scatter --range 0:1:0:1 --size 300 a.tz b.tz -o c.png
  png_py
  $PY -c "
from png import *; im = read_png('c.png'); ink = $INK
lum = im.astype(int).sum(2) / 3
for p, (right, top) in enumerate([(True, True), (False, False)]):
    ys, xs = np.nonzero(ink[:, 300 * p:300 * (p + 1)])
    assert len(xs) > 300, len(xs)
    assert ((xs > 150) == right).all() and ((ys < 150) == top).all(), (xs.min(), xs.max(), ys.min(), ys.max())
    # dark where the points are dense: the density look saturates to ink
    assert lum[ys, xs + 300 * p].min() < 110, lum[ys, xs + 300 * p].min()"
}

@test "scatter: the default axes are the 0.5..99.5% quantile box of all the files, shared" {
  points a.tz 'np.concatenate([rng.random((1000, 2)), [[50, 50], [60, -40]]])'
  points b.tz '0.5 * rng.random((1000, 2))'
  tzplot scatter --size 300 a.tz b.tz -o q.png
  tzplot scatter --size 300 --range -50:70:-50:70 a.tz b.tz -o r.png
  png_py
  $PY -c "
from png import *
def spans(path):
    im = read_png(path); ink = $INK; out = []
    for p in range(2):
        ys, xs = np.nonzero(ink[:, 300 * p:300 * (p + 1)])
        # between the 2nd and 98th percentiles: the bulk, not the outliers
        out.append(tuple(np.diff(np.percentile(v, [2, 98]))[0] for v in (xs, ys)))
    return out
(ax, ay), (bx, by) = spans('q.png')
# the outliers do not shrink the unit square: it fills most of the panel
assert ax > 180 and ay > 180, (ax, ay)
# the same axes on both panels: the half square is half as wide
assert abs(bx / ax - 0.5) < 0.1 and abs(by / ay - 0.5) < 0.1, (ax, bx, ay, by)
# a box around the outliers squeezes the square into a few pixels
n = [int($INK[:, :300].sum()) for im in (read_png('q.png'), read_png('r.png'))]
assert n[0] > 3000 and n[1] < 300, n"
}

@test "scatter: --max takes the first N points, across records" {
  points a.tz 'np.concatenate([0.8 + 0.15 * rng.random((300, 2)), 0.05 + 0.15 * rng.random((300, 2))])' 128
  tzplot scatter --range 0:1:0:1 --max 300 a.tz -o m.png
  tzplot scatter --range 0:1:0:1 a.tz -o all.png
  png_py
  $PY -c "
from png import *
im = read_png('m.png'); ys, xs = np.nonzero($INK)
assert len(xs) > 100 and (xs > 160).all() and (ys < 160).all()
im = read_png('all.png'); ys, xs = np.nonzero($INK)
assert (xs < 160).any() and (xs > 160).any()"
}

@test "scatter: --titles go on top of the panels; the plots are the same" {
  tzdata moons -c 300 | tzcat -R x=x0 -o a.tz
  tzplot scatter --titles data a.tz -o t1.png
  tzplot scatter --titles noise a.tz -o t2.png
  ! cmp -s t1.png t2.png
  png_py
  $PY -c "
from png import *
a, b = read_png('t1.png').astype(int), read_png('t2.png').astype(int)
rows = np.nonzero((a != b).any(axis=(1, 2)))[0]
assert len(rows) and rows.max() < 20, rows"
}

@test "lines: --group draws one line per value, each in its own colour" {
  { printf 'iter\tcase\tmmd2\tnote\n'
    for c in 1:mask 2:blur 3:jpeg; do
      for i in 0 1 2 3 4 5 6 7 8 9; do printf '%s\t%s\t%s\tok\n' $i ${c#*:} ${c%%:*}; done
    done
    printf '4\tblur\tnan\t\n5\tblur\t\t\nmean\tall\t9\t\n'; } > runs.tsv
  tzplot lines -x iter -y mmd2 --group case runs.tsv -o g.png
  is_rgb_png g.png
  [ "$(png_size g.png)" = "640 400" ]
  tzplot lines -x iter -y mmd2 runs.tsv -o one.png --width 500 --height 300
  [ "$(png_size one.png)" = "500 300" ]
  png_py
  $PY -c "
from png import *
pal = [(0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e), (0x2c, 0xa0, 0x2c)]
def rows_of(path, c):
    im = read_png(path)[:, :300]       # the plot, left of the legend
    ys, xs = np.nonzero((im == np.array(c, np.uint8)).all(2))
    return ys
r = [rows_of('g.png', c) for c in pal]
assert all(len(ys) > 30 for ys in r), [len(ys) for ys in r]
# mask (y = 1) lowest, blur (2) in the middle, jpeg (3) on top
m = [np.median(ys) for ys in r]
assert m[0] > m[1] > m[2], m
# without --group: one line, one colour
assert len(rows_of('one.png', pal[0])) > 30 and len(rows_of('one.png', pal[1])) == 0"
}

@test "lines: --logy, nan, empty and text cells are skipped; no number at all is an error" {
  printf 'step\tloss\tlr\n1\t0.9\t1e-3\n2\t0.1\t\n3\tnan\t1e-3\n4\t0.001\t-1\nmean\t0.3\tx\n' > l.tsv
  tzplot lines --logy --title 'training loss' l.tsv -o l.png
  is_rgb_png l.png
  printf 'a\tb\n1\tx\n2\tnan\n\n' > bad.tsv
  run --separate-stderr tzplot lines bad.tsv -o bad.png
  fails_with 2 "bad.tsv: no row has a number in the x column 'a'"
  printf 'a\tb\n1\t-1\n' > neg.tsv
  run --separate-stderr tzplot lines --logy neg.tsv -o neg.png
  fails_with 2 "> 0 with --logy"
  printf '' > empty.tsv
  run --separate-stderr tzplot lines empty.tsv -o e.png
  fails_with 2 "empty.tsv: empty: no header row"
  only bad.tsv empty.tsv l.png l.tsv neg.tsv
}

@test "errors: a missing field names the file and the record, and nothing is left behind" {
  tzdata moons -c 300 | tzcat -R x=x0 -o a.tz
  tzdata moons -c 300 -n 100 -o m.tz
  run --separate-stderr tzplot scatter -f nope a.tz -o out.png
  fails_with 2 "^tzplot: a.tz: record 0: no field 'nope'$"
  run --separate-stderr tzplot scatter a.tz m.tz -o out.png
  fails_with 2 "m.tz: record 0: no field 'x0'"
  tzdata gaussian -d 3 -c 10 -o g.tz
  run --separate-stderr tzplot scatter -f x g.tz -o out.png
  fails_with 2 "g.tz: record 0: field 'x' is not a batch of 2-D points"
  printf 'junk' > j.tz
  run --separate-stderr tzplot scatter a.tz j.tz -o out.png
  [ "$status" -eq 2 ]
  only a.tz g.tz j.tz m.tz
  echo old > out.png                 # a failed run leaves an old file as it was
  run --separate-stderr tzplot scatter a.tz m.tz -o out.png
  [ "$status" -eq 2 ] && [ "$(cat out.png)" = old ]
}

@test "errors: a TSV column that is not in the header is named" {
  printf 'iter\tcase\tmmd2\n1\tmask\t0.5\n' > r.tsv
  run --separate-stderr tzplot lines -x iter -y mmd2,nope r.tsv -o o.png
  fails_with 2 "r.tsv: no column 'nope' \(-y\); the columns are: iter, case, mmd2"
  run --separate-stderr tzplot lines -x time r.tsv -o o.png
  fails_with 2 "no column 'time' \(-x\)"
  run --separate-stderr tzplot lines --group run r.tsv -o o.png
  fails_with 2 "no column 'run' \(--group\)"
  printf 'a\tb\n1\t2\n1\t2\t3\n' > wide.tsv
  run --separate-stderr tzplot lines wide.tsv -o o.png
  fails_with 2 "wide.tsv: line 3: 3 cells, but the header has 2"
  only r.tsv wide.tsv
}

@test "usage errors exit 1 before reading anything" {
  tzdata moons -c 100 | tzcat -R x=x0 -o a.tz
  run --separate-stderr tzplot scatter a.tz
  fails_with 1 "-o FILE is required"
  run --separate-stderr tzplot lines -x a < /dev/null
  fails_with 1 "-o FILE is required"
  run --separate-stderr tzplot -o x.png
  fails_with 1 "need a mode"
  run --separate-stderr tzplot pie a.tz -o x.png
  fails_with 1 "unknown mode 'pie'"
  run --separate-stderr tzplot scatter --range 0:1:0 a.tz -o x.png
  fails_with 1 "--range needs XMIN:XMAX:YMIN:YMAX"
  run --separate-stderr tzplot scatter --range 1:0:0:1 a.tz -o x.png
  fails_with 1 "XMIN < XMAX"
  run --separate-stderr tzplot scatter --titles a,b a.tz -o x.png
  fails_with 1 "--titles needs one title per FILE \(1\)"
  run --separate-stderr tzplot scatter --size 64 a.tz -o x.png
  fails_with 1 "--size must be between 128 and 4096"
  run --separate-stderr tzplot lines a.tsv b.tsv -o x.png
  fails_with 1 "lines takes one TSV file; got 2"
  run --separate-stderr tzplot scatter --size 4096 a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz a.tz -o x.png
  fails_with 1 "wider than 65535"
  run --separate-stderr tzplot scatter a.tz -o nodir/x.png
  fails_with 3 "nodir/x.png"
  only a.tz
}

@test "the examples of the manual page run" {
  sed -n '/^\.EX$/,/^\.EE$/p' "$ROOT/man/man1/tzplot.1" | sed '/^\.E[XE]$/d' |
    sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g' > ex.sh
  bash -e ex.sh
  for f in scatter box loss runs; do is_rgb_png $f.png; done
  [ "$(png_size scatter.png)" = "640 320" ] && [ "$(png_size box.png)" = "960 480" ]
}
