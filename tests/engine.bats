#!/usr/bin/env bats
# tests: the network engine (libcommon/nn.c, mlp.c, opt.c) against its
#        PyTorch mirror, tests/torch/check_mlp.py, and its conv2d and
#        GroupNorm against torch.nn.functional (tests/torch/check_layers.py)
# also requires: Debian's python3-torch under /usr/bin/python3 (a missing
#        torch fails these tests; it does not skip them), build/*/nn-dump

bats_require_minimum_version 1.5.0
load helpers

DUMP=${SCSI_TEST_BIN:-$BATS_TEST_DIRNAME/../build/rel}/nn-dump
CHECK=$BATS_TEST_DIRNAME/torch/check_mlp.py

check() {  # DIM COND WIDTH HIDDEN BATCH SEED
  run --separate-stderr bash -c "'$DUMP' $* | /usr/bin/python3 '$CHECK'"
  echo "$output" "$stderr"
  [ "$status" -eq 0 ]
  [[ "$output" == *"adamw step"* ]]
}

@test "torch is there: a missing python3-torch is a failure" {
  run /usr/bin/python3 -c "import torch; print(torch.__version__)"
  [ "$status" -eq 0 ]
}

@test "MLP-2D (2 -> 256 x 3 -> 2): forward, gradients, AdamW agree with PyTorch" {
  check 2 0 256 3 64 1
}

@test "MLP-784 (784 -> 1024 x 4 -> 784): forward, gradients, AdamW agree with PyTorch" {
  check 784 0 1024 4 16 2
}

@test "MLP with side-information inputs agrees with PyTorch" {
  check 5 3 32 2 7 3
}

@test "the mirror catches a wrong engine: a corrupted gradient fails" {
  # Flip the sign of the stored gradients' first element: the check must fail.
  "$DUMP" 5 3 32 2 7 3 > step.tz
  /usr/bin/python3 - <<'PY'
import numpy as np, struct
b = bytearray(open("step.tz", "rb").read())
# locate the 'grads' payload: parse the header like tz(5) says
hlen, plen, nt = struct.unpack_from("<IQI", b, 12)
p, shapes = 48, []
for _ in range(nt):
    dt, rank, nl = struct.unpack_from("<BBH", b, p); name = b[p+4:p+4+nl].decode(); p += 4 + nl
    dims = struct.unpack_from("<%dQ" % rank, b, p); p += 8 * rank; shapes.append((name, dt, dims))
off = hlen
for name, dt, dims in shapes:
    n = int(np.prod(dims)) * (8 if dt == 2 else 4)
    if name == "grads":
        g = np.frombuffer(b, "<f4", int(np.prod(dims)), off).copy()
        g[np.argmax(np.abs(g))] *= -1
        b[off:off + g.nbytes] = g.tobytes()
    off += (n + 63) // 64 * 64
open("bad.tz", "wb").write(b)
PY
  run /usr/bin/python3 "$CHECK" < bad.tz
  [ "$status" -eq 1 ]
  [[ "$output" == *"MISMATCH"*"gradients"* ]] || [[ "$stderr" == *"gradients"* ]]
}

@test "conv2d (3x3, stride 2) and GroupNorm agree with PyTorch, outputs and gradients" {
  run --separate-stderr bash -c "'${SCSI_TEST_BIN:-$BATS_TEST_DIRNAME/../build/rel}/layer-dump' | /usr/bin/python3 '$BATS_TEST_DIRNAME/torch/check_layers.py'"
  echo "$output" "$stderr"
  [ "$status" -eq 0 ]
  [ "$(grep -c 'max relative error' <<<"$output")" -eq 8 ]
}
