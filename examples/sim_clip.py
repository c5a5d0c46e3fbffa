#!/usr/bin/python3
"""sim_clip - an external simulator for simulate(1), in Python with NumPy:
a nonlinear, non-invertible instrument.  Each value of the candidate field
is clipped to [-LIMIT, LIMIT] (default 1) and Gaussian noise of std SIGMA
(default 0.1) is added; the answer is the observation field.
Usage: sim_clip.py [LIMIT [SIGMA]]

simulate sends raw records (tz(5)); this file reads and writes them with
nothing but struct and numpy, following the byte layout of tz(5).  It
reads the field named by the "field" attribute simulate sends and answers
the one named by "out_field" (simulate -f and -y; x0 and x1 without them),
and keys its noise by the "seed" and "first" attributes.
"""
import os
import struct
import sys

import numpy as np

MAGIC = b"\x89TZ1\r\n\x1a\n"
DTYPES = {1: "<f4", 2: "<f8", 3: "u1", 4: "<i4", 5: "<i8"}


def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        sys.exit("sim_clip: truncated input")
    return b


def records(f):
    """Yield (kind, tensors, attributes) for each raw record."""
    while True:
        fixed = f.read(48)
        if not fixed:
            return
        if len(fixed) != 48 or fixed[:8] != MAGIC:
            sys.exit("sim_clip: input is not a raw tensor stream")
        _, _, kind, hlen, plen, nt, na, _, _ = struct.unpack("<8sHHIQIIQQ", fixed)
        head = fixed + read_exact(f, hlen - 48)
        p, shapes, attrs = 48, [], {}
        for _ in range(nt):
            dt, rank, nl = struct.unpack_from("<BBH", head, p)
            name = head[p + 4:p + 4 + nl].decode()
            p += 4 + nl
            dims = struct.unpack_from("<%dQ" % rank, head, p)
            p += 8 * rank
            shapes.append((name, dt, dims))
        for _ in range(na):
            kl, vl = struct.unpack_from("<HI", head, p)
            attrs[head[p + 6:p + 6 + kl].decode()] = head[p + 6 + kl:p + 6 + kl + vl].decode()
            p += 6 + kl + vl
        payload = read_exact(f, plen)
        tensors, off = {}, 0
        for name, dt, dims in shapes:
            t = np.dtype(DTYPES[dt])
            count = int(np.prod(dims, dtype=np.int64))
            tensors[name] = np.frombuffer(payload, t, count, off).reshape(dims)
            off += (count * t.itemsize + 63) // 64 * 64
        yield kind, tensors, attrs


def pad64(b):
    return b + b"\0" * (-len(b) % 64)


def encode(kind, tensors, count=0):
    """One raw record of the given kind with tensors {name: f32 array}."""
    desc, payload = b"", b""
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        desc += struct.pack("<BBH", 1, a.ndim, len(name)) + name.encode()
        desc += struct.pack("<%dQ" % a.ndim, *a.shape)
        payload += pad64(a.tobytes())
    hlen = (48 + len(desc) + 63) // 64 * 64
    fixed = struct.pack("<8sHHIQIIQQ", MAGIC, 1, kind, hlen, len(payload),
                        len(tensors), 0, count, 0)
    return pad64(fixed + desc) + payload


def serve(answer):
    """Answer each batch record of standard input with one record, and close
    with an end record counting them: the protocol of simulate(1).
    answer(x, seed, first) gets the candidate field (the attribute "field",
    x0 without it) and returns the observation, or (observation, {name:
    side field}); the observation goes out under the attribute "out_field"
    (x1 without it).  Each answer is flushed at once: simulate waits for
    it."""
    out, sent = sys.stdout.buffer, 0
    for kind, tensors, attrs in records(sys.stdin.buffer):
        if kind == 3:           # the end record closes the input
            continue
        field, name = attrs.get("field", "x0"), attrs.get("out_field", "x1")
        if field not in tensors:
            sys.exit("%s: no field '%s'" % (os.path.basename(sys.argv[0]), field))
        first, seed = int(attrs.get("first", "0")), int(attrs.get("seed", "0"))
        y = answer(tensors[field], seed, first)
        fields = dict(y[1]) if isinstance(y, tuple) else {}
        fields = {name: y[0] if isinstance(y, tuple) else y, **fields}
        out.write(encode(1, fields))
        out.flush()
        sent += 1
    out.write(encode(3, {}, count=sent))
    out.flush()


def main():
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    sigma = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1

    def clip(x, seed, first):
        x = x.astype(np.float32)
        noise = np.stack([np.random.default_rng([seed, first + i]).standard_normal(x.shape[1:])
                          for i in range(x.shape[0])]) if x.shape[0] else np.zeros_like(x)
        return np.clip(x, -limit, limit) + sigma * noise

    serve(clip)


if __name__ == "__main__":
    main()
