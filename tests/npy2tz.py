#!/usr/bin/python3
"""npy2tz.py OUT.tz NAME=FILE.npy... - the arrays as the f32 fields of one
batch record (raw, the stream format of tz(5), through the encoder of
examples/sim_clip.py): a test fixture of several fields, which tzimport
(one field a file) does not make."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from sim_clip import encode  # noqa: E402

fields = {}
for arg in sys.argv[2:]:
    name, path = arg.split("=", 1)
    fields[name] = np.load(path)
with open(sys.argv[1], "wb") as f:
    f.write(encode(1, fields))
    f.write(encode(3, {}, count=1))
