#!/usr/bin/python3
"""faulty MODE [ARG] - a deliberately broken external simulator for the
tests of simulate(1).  MODE: nan (answers NaN), extra (two answers per
record), rows (one row too few), dtype (the observation as f64), late
(sleeps before answering), crash (answers the first record, then dies of
SIGSEGV), noend (never writes its end record), exit3 (answers everything,
then exits 3), noflush (answers without flushing its standard output),
orphan PIDFILE (ignores SIGTERM, starts a process in a session of its own
that keeps its standard output open and ignores SIGTERM too, and a plain
child, writes the pids of all four to PIDFILE, and never answers).  Any
other MODE (ok, say): a correct simulator, x1 = x0 + 0.1.

It reads and writes the fields simulate names in the attributes field and
out_field (x0 and x1 without them)."""
import io
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from sim_clip import encode, records  # noqa: E402


def encode_f64(name, a):
    """A batch record holding a as f64: a dtype simulate must refuse."""
    a = np.ascontiguousarray(a, "<f8")
    desc = struct.pack("<BBH", 2, a.ndim, len(name)) + name.encode()
    desc += struct.pack("<%dQ" % a.ndim, *a.shape)
    payload = a.tobytes() + b"\0" * (-a.nbytes % 64)
    hlen = (48 + len(desc) + 63) // 64 * 64
    head = struct.pack("<8sHHIQIIQQ", b"\x89TZ1\r\n\x1a\n", 1, 1, hlen,
                       len(payload), 1, 0, 0, 0) + desc
    return head + b"\0" * (hlen - len(head)) + payload


mode = sys.argv[1]
if mode == "orphan":
    pidfile = sys.argv[2]
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # SIGKILL, after the grace
    # In a session of its own: out of simulate's reach by process group.
    # Its shell and the sleep it starts ignore SIGTERM (inherited).
    escaped = subprocess.Popen(
        ["sh", "-c", 'sleep 300 & echo $! >> "$0"; wait', pidfile],
        start_new_session=True)
    plain = subprocess.Popen(["sleep", "301"], start_new_session=False)
    with open(pidfile, "a") as f:
        f.write("%d\n%d\n%d\n" % (os.getpid(), escaped.pid, plain.pid))
    time.sleep(300)
    sys.exit(0)

out, sent = sys.stdout.buffer, 0
if mode == "noflush":   # block-buffered, even with PYTHONUNBUFFERED set
    out = io.BufferedWriter(io.FileIO(sys.stdout.fileno(), "wb", closefd=False), 1 << 16)
for kind, tensors, attrs in records(sys.stdin.buffer):
    if kind == 3:
        continue
    name = attrs.get("out_field", "x1")
    x = tensors[attrs.get("field", "x0")].astype(np.float32)
    y = x + 0.1
    if mode == "crash" and sent == 1:
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "late":
        time.sleep(30)
    if mode == "nan":
        y[-1].flat[0] = np.nan
    if mode == "rows":
        y = y[:-1]
    rec = encode(1, {name: y})
    if mode == "dtype":
        rec = encode_f64(name, y)
    out.write(rec)
    if mode == "extra":
        out.write(rec)
        sent += 1
    if mode != "noflush":
        out.flush()
    sent += 1
if mode != "noend":
    out.write(encode(3, {}, count=sent))
out.flush()
sys.exit(3 if mode == "exit3" else 0)
