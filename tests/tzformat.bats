#!/usr/bin/env bats
# tests: the rules of tz(5) that the stream reader checks, one by one, on
# records built here byte by byte (through tzinfo, which reads with it)
# also requires: tzinfo, tzcat, tzdata, zstd, /usr/bin/python3

bats_require_minimum_version 1.5.0
load helpers

PY=/usr/bin/python3

# mk OUT [KEY=VALUE]... - write a raw stream of one batch record and its
# end record.  By default the record holds x (f32 [2,3]) and the attribute
# seed=7, as the EXAMPLE of tz(5); the keys change one thing:
#   tensors=NAME:DTYPE:DIMS;...  attrs=KEY:VALUE;...  (VALUE may use \n, \x00)
#   kind= version= reserved= count= (of the data record)  endcount=
#   hlen=+N (add N bytes to header_len)  nt=+N na=+N (to the counts)
#   hpad=BYTE (last header padding byte)  ppad=BYTE (last payload byte)
#   vlen=N (the first attribute's val_len field)  noend=1
mk() {
  "$PY" - "$@" <<'PY'
import struct, sys
out, args = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
esize = {1: 4, 2: 8, 3: 1, 4: 4, 5: 8, 6: 2, 7: 2, 9: 1}
tensors = [t.split(":") for t in args.get("tensors", "x:1:2,3").split(";") if t]
attrs = [a.split(":", 1) for a in args.get("attrs", "seed:7").split(";") if a]
desc, payload = b"", b""
for name, dt, dims in tensors:
    dims = [int(d) for d in dims.split(",") if d != ""]
    desc += struct.pack("<BBH", int(dt), len(dims), len(name)) + name.encode()
    desc += struct.pack("<%dQ" % len(dims), *dims)
    n = esize[int(dt)]
    for d in dims:
        n *= d
    n = n if n < 1 << 20 else 0
    payload += bytes(i % 255 + 1 for i in range(n)) + bytes(-n % 64)
for i, (k, v) in enumerate(attrs):
    v = v.encode().decode("unicode_escape").encode("latin-1")
    vl = int(args["vlen"]) if i == 0 and "vlen" in args else len(v)
    desc += struct.pack("<HI", len(k), vl) + k.encode() + v
hlen = -(-(48 + len(desc)) // 64) * 64 + int(args.get("hlen", "+0"))
g = lambda k, d: int(args.get(k, d))
fixed = struct.pack("<8sHHIQIIQQ", b"\x89TZ1\r\n\x1a\n", g("version", 1),
                    g("kind", 1), hlen, len(payload),
                    len(tensors) + int(args.get("nt", "+0")),
                    len(attrs) + int(args.get("na", "+0")),
                    g("count", 0), g("reserved", 0))
head = bytearray((fixed + desc).ljust(max(hlen, 48), b"\0"))
if "hpad" in args:
    head[-1] = int(args["hpad"], 16)
payload = bytearray(payload)
if "ppad" in args:
    payload[-1] = int(args["ppad"], 16)
end = struct.pack("<8sHHIQIIQQ", b"\x89TZ1\r\n\x1a\n", 1, 3, 64, 0, 0, 0,
                  g("endcount", 1), 0).ljust(64, b"\0")
with open(out, "wb") as f:
    f.write(bytes(head[:hlen]) + bytes(payload))
    if "noend" not in args:
        f.write(end)
PY
}

# A skippable frame of N bytes of content.
skippable() { printf '\x50\x2a\x4d\x18'; printf "\\x$(printf %02x "$1")\\x00\\x00\\x00"; head -c "$1" /dev/zero; }

@test "the builder's default record reads, and matches the tz(5) example" {
  mk ok.tz
  printf '0,1,2\n3,4,5\n' | tzimport csv -L 0 --attr seed=7 -o ex.tz
  run --separate-stderr tzinfo ok.tz
  [ "$status" -eq 0 ]
  [[ "$output" == *"record 0: batch of 2, 1 tensor, 1 attribute"* ]]
  [ "$(head -c 128 ok.tz | od -An -tx1)" = "$(head -c 128 ex.tz | od -An -tx1)" ]
}

@test "rule: the whole magic, version 1, a known kind, a zero reserved field" {
  mk v.tz version=2
  run --separate-stderr tzinfo v.tz
  fails_with 2 "record 0: format version 2 is not supported"
  mk k.tz kind=4
  run --separate-stderr tzinfo k.tz
  fails_with 2 "record 0: unknown record kind 4"
  mk r.tz reserved=1
  run --separate-stderr tzinfo r.tz
  fails_with 2 "record 0: reserved header field is not zero"
  mk m.tz
  poke m.tz 5 0d
  run --separate-stderr tzinfo m.tz
  fails_with 2 "record 0: bad record magic"
}

@test "rule: header_len is a multiple of 64 from 64, so 48 is refused" {
  mk e.tz tensors= attrs=
  run --separate-stderr tzinfo e.tz
  [ "$status" -eq 0 ]
  [ "$(stat -c %s e.tz)" -eq 128 ]          # the smallest record, twice
  poke e.tz 12 30                           # header_len 48
  run --separate-stderr tzinfo e.tz
  fails_with 2 "record 0: header length 48 is not a multiple of 64 from 64 to 1048576"
}

@test "rule: a larger header_len than needed is valid padding" {
  mk big.tz hlen=+256
  run --separate-stderr tzinfo big.tz
  [ "$status" -eq 0 ]
}

@test "rule: a data record has count 0" {
  mk c.tz count=5
  run --separate-stderr tzinfo c.tz
  fails_with 2 "record 0: data record has count 5"
}

@test "rule: an end record's count is the segment's data records" {
  mk c.tz endcount=2
  run --separate-stderr tzinfo c.tz
  fails_with 2 "record 1: end record counts 2 records but its segment has 1"
}

@test "rule: at most 64 tensors and 64 attributes" {
  mk n.tz nt=+64
  run --separate-stderr tzinfo n.tz
  fails_with 2 "record 0: 65 tensors and 1 attributes exceed the caps"
}

@test "rule: descriptors and attributes lie within header_len" {
  # x's descriptor takes 4 + 60 + 16 bytes: the header's 128 exactly
  mk d.tz "tensors=$(printf 'x%.0s' {1..60}):1:2,3" attrs= nt=+1
  run --separate-stderr tzinfo d.tz
  fails_with 2 "record 0: tensor 1 of 2: descriptor at byte 128 does not fit in header_len 128"
  # the attribute takes 6 + 1 + 52 bytes, from byte 69 to 128
  mk a.tz "attrs=k:$(printf 'v%.0s' {1..52})" na=+1
  run --separate-stderr tzinfo a.tz
  fails_with 2 "record 0: attribute 1 of 2: entry at byte 128 does not fit in header_len 128"
  # dims that would run into the payload
  mk s.tz "tensors=$(printf 'x%.0s' {1..60}):1:2,3" attrs=
  poke s.tz 49 03                                   # rank 3
  run --separate-stderr tzinfo s.tz
  fails_with 2 "record 0: tensor '.*': the 3 dims at byte 112 do not fit in header_len 128"
}

@test "rule: names and keys are valid, each unique in its own namespace" {
  mk dup.tz 'tensors=x:1:2;x:1:2'
  run --separate-stderr tzinfo dup.tz
  fails_with 2 "record 0: duplicate tensor name 'x'"
  mk dupa.tz 'attrs=k:1;k:2'
  run --separate-stderr tzinfo dupa.tz
  fails_with 2 "record 0: duplicate attribute 'k'"
  mk bad.tz 'tensors=a=b:1:2'
  run --separate-stderr tzinfo bad.tz
  fails_with 2 "record 0: tensor 0: invalid name"
  mk badk.tz 'attrs=a,b:1'
  run --separate-stderr tzinfo badk.tz
  fails_with 2 "record 0: attribute 0: invalid key"
  # An attribute may have a tensor's name.
  mk same.tz 'tensors=x:1:2' 'attrs=x:shared'
  run --separate-stderr tzinfo same.tz
  [ "$status" -eq 0 ]
  [[ "$output" == *"@x=shared"* ]]
}

@test "rule: dtype codes 1 to 5; 6 and 7 are reserved, so refused" {
  mk h.tz 'tensors=x:6:4'
  run --separate-stderr tzinfo h.tz
  fails_with 2 "record 0: tensor 'x': unknown dtype code 6"
}

@test "rule: the size cap counts the non-zero dims, even of an empty tensor" {
  mk ok.tz 'tensors=x:3:0,1099511627776'        # u8 [0, 2^40]: 0 bytes, allowed
  run --separate-stderr tzinfo ok.tz
  [ "$status" -eq 0 ]
  mk big.tz 'tensors=x:3:0,1125899906842624'    # u8 [0, 2^50]
  run --separate-stderr tzinfo big.tz
  fails_with 2 "record 0: tensor 'x': shape overflows"
}

@test "rule: a value is at most 65535 bytes, without NUL" {
  mk nul.tz 'attrs=k:a\x00b'
  run --separate-stderr tzinfo nul.tz
  fails_with 2 "record 0: attribute 0: NUL byte in value"
  mk long.tz vlen=65536 hlen=+65536
  run --separate-stderr tzinfo long.tz
  fails_with 2 "record 0: attribute 0: value of 65536 bytes exceeds 65535"
}

@test "rule: the header padding is zero" {
  mk h.tz hpad=01
  run --separate-stderr tzinfo h.tz
  fails_with 2 "record 0: non-zero byte at 127 in the header padding"
}

@test "rule: the payload padding is zero" {
  mk p.tz ppad=01
  run --separate-stderr tzinfo p.tz
  fails_with 2 "record 0: tensor 'x': non-zero byte in the payload padding"
  # and the writers' own output passes
  tzdata moons -c 10 -n 3 -L 0 -o m.tz
  run tzinfo -b m.tz
  [ "$status" -eq 0 ]
}

@test "rule: the batch rule" {
  mk b.tz 'tensors=x:1:2,3;y:1:3'
  run --separate-stderr tzinfo b.tz
  fails_with 2 "record 0: tensor 'y' has batch size 3"
  mk s.tz 'tensors=x:1:'
  run --separate-stderr tzinfo s.tz
  fails_with 2 "record 0: tensor 'x': a batch record's tensors need a leading batch axis"
  mk p.tz kind=2 'tensors=x:1:;y:1:3'
  run --separate-stderr tzinfo p.tz
  [ "$status" -eq 0 ]
}

@test "empty records: no tensors is a batch of 0; the smallest record is 64 bytes" {
  mk e.tz tensors= attrs=
  [ "$(stat -c %s e.tz)" -eq 128 ]
  run --separate-stderr tzinfo e.tz
  [ "$status" -eq 0 ]
  [[ "$output" == *"record 0: batch of 0, 0 tensors, 0 attributes"* ]]
}

@test "skippable frames may stand before, between and after records" {
  mk full.tz
  { skippable 3; head -c -64 full.tz; skippable 0; tail -c 64 full.tz; skippable 10; } > s.tz
  run --separate-stderr tzinfo s.tz
  [ "$status" -eq 0 ]
  [[ "$output" == *"record 0: batch of 2"* ]]
  [[ "$output" == *"1 record, 2 samples"* ]]
  # a skippable frame cut short is a truncated stream
  head -c -3 s.tz > cut.tz
  run --separate-stderr tzinfo cut.tz
  fails_with 2 "cut.tz: record 2: truncated skippable frame"
  # skippable frames alone are no stream
  skippable 4 > only.tz
  run --separate-stderr tzinfo only.tz
  fails_with 2 "only.tz: empty input"
}

@test "input that is neither a record nor a frame is refused, so is a short tail" {
  mk ok.tz
  { cat ok.tz; printf 'abc'; } > t.tz
  run --separate-stderr tzinfo t.tz
  fails_with 2 "t.tz: record 2: truncated: 3 stray bytes"
  { cat ok.tz; printf 'abcd'; } > t.tz
  run --separate-stderr tzinfo t.tz
  fails_with 2 "t.tz: record 2: bad magic"
}

@test "zstd -dc gives the raw layer only when every record is a frame" {
  tzdata moons -c 8 -n 4 -o z.tz
  tzdata moons -c 8 -n 4 -L 0 -o r.tz
  zstd -q -dc z.tz | cmp - r.tz
  cat z.tz r.tz > mix.tz
  run tzinfo -b mix.tz
  [ "$status" -eq 0 ]
  run zstd -q -dc mix.tz
  [ "$status" -ne 0 ]
  tzcat -L 0 mix.tz -o raw.tz
  diff <(tzinfo -s mix.tz | tail -3) <(tzinfo -s raw.tz | tail -3)
}

@test "frames: content size and checksum flags, the 128 MiB window" {
  mk r.tz noend=1
  mk full.tz
  tail -c 64 full.tz > end.raw
  zstd -q -c end.raw > end.zst
  zstd -q --no-check -c r.tz > nock.zst
  cat nock.zst end.zst > nock.tz
  run --separate-stderr tzinfo nock.tz
  fails_with 2 "record 0: zstd frame has no content checksum"
  zstd -q -c < r.tz > nosize.zst          # from a pipe: no content size
  cat nosize.zst end.zst > nosize.tz
  run --separate-stderr tzinfo nosize.tz
  fails_with 2 "record 0: zstd frame does not declare its content size"
  # a frame header declaring a 2^28-byte window (Window_Descriptor 0x90)
  printf '\x28\xb5\x2f\xfd\x84\x90\x40\x00\x00\x00' > w.tz
  cat end.zst >> w.tz
  run --separate-stderr tzinfo w.tz
  fails_with 2 "record 0: zstd frame needs a window larger than the 134217728 bytes"
}
