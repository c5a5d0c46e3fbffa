#!/usr/bin/env bats
# tests: the network engine (libcommon/nn/: nn.c, mlp.c, opt.c) against its
#        PyTorch mirror, tests/torch/check_mlp.py, its conv2d and
#        conv1d and GroupNorm against torch.nn.functional
#        (tests/torch/check_layers.py), and the U-Net (libcommon/nn/unet.c),
#        2-D and 1-D, against its mirror, tests/torch/check_unet.py, and
#        the classifier (libcommon/nn/cnn.c) against tests/torch/check_cnn.py
# also requires: Debian's python3-torch under /usr/bin/python3 (a missing
#        torch fails these tests; it does not skip them), build/*/nn-dump,
#        build/*/layer-dump, build/*/unet-dump, build/*/cnn-dump

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

@test "conv2d (3x3, stride 2), conv1d (3 taps, stride 1 and 2) and GroupNorm agree with PyTorch, outputs and gradients" {
  run --separate-stderr bash -c "'${SCSI_TEST_BIN:-$BATS_TEST_DIRNAME/../build/rel}/layer-dump' | /usr/bin/python3 '$BATS_TEST_DIRNAME/torch/check_layers.py'"
  echo "$output" "$stderr"
  [ "$status" -eq 0 ]
  [ "$(grep -c 'max relative error' <<<"$output")" -eq 16 ]
}

UDUMP=${SCSI_TEST_BIN:-$BATS_TEST_DIRNAME/../build/rel}/unet-dump
UCHECK=$BATS_TEST_DIRNAME/torch/check_unet.py

# The measured errors (check_unet.py's standard error) go to the TAP stream.
show() { sed 's/^/# /' <<<"$1" >&3; }

# A dump program's step through its mirror: DUMP CHECK ARGS...
mirror() {
  local dump=$1 check=$2
  shift 2
  run --separate-stderr bash -c "set -o pipefail; '$dump' $* | /usr/bin/python3 '$check'"
  echo "$output" "$stderr"
  show "$stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"adamw step"* ]]
}

ucheck() {  # C H W E S LEVELS W1,W2,.. NMID TEMB GROUPS HEADS BATCH SEED
  mirror "$UDUMP" "$UCHECK" "$@"
}

# Flip the sign of the largest of the last $3 values of tensor 'grads' in
# the step record $1 (all of them if $3 is 0), writing $2.
flip_grad() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys, struct
import numpy as np
src, dst, last = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = bytearray(open(src, "rb").read())
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
        i = len(g) - last if last else 0
        g[i + np.argmax(np.abs(g[i:]))] *= -1
        b[off:off + g.nbytes] = g.tobytes()
    off += (n + 63) // 64 * 64
open(dst, "wb").write(b)
PY
}

@test "U-Net: the mirror's UNet-S is torch_ref.py's UNetS (names, shapes, order, function) or has 497,474 parameters" {
  run --separate-stderr /usr/bin/python3 "$UCHECK" --structure 1 28 28
  echo "$output" "$stderr"
  show "$stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"497474 parameters"* ]]
}

@test "UNet-S (28x28x1, batch 4): forward, gradients, AdamW agree with PyTorch" {
  ucheck 1 28 28 0 0 2 32,64 2 128 8 2 4 1
  [[ "$stderr" == *"structure: "* ]]
}

@test "U-Net with side inputs (mask channel, 2 scalars; 16x16x3) agrees with PyTorch" {
  ucheck 3 16 16 1 2 2 16,32 1 32 4 1 3 2
  [[ "$stderr" == *"worst of 74 tensors"* ]]
}

@test "1-D U-Net (signals: C=2, L=32, mask channel, 1 scalar) agrees with PyTorch" {
  ucheck 2 1 32 1 1 2 8,16 1 16 4 2 3 1
  [[ "$stderr" == *"1-D L=32"* ]]
  [[ "$stderr" == *"worst of 74 tensors"* ]]
}

# The mirror $1 on the step record $2 with a gradient's sign flipped (the
# largest of the last $3 values, flip_grad's): it must fail on the gradients.
catches() {
  flip_grad "$2" bad.tz "$3"
  run --separate-stderr /usr/bin/python3 "$1" < bad.tz
  echo "$output" "$stderr"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"MISMATCH: gradients"* ]]
}

@test "the U-Net mirror catches a wrong engine: a corrupted gradient fails, tensor by tensor" {
  "$UDUMP" 3 16 16 1 2 2 16,32 1 32 4 1 3 2 > step.tz
  /usr/bin/python3 "$UCHECK" < step.tz
  # the largest gradient of all
  catches "$UCHECK" step.tz 0
  # one value of the last, smallest tensor (side.2.bias): caught on its own scale
  catches "$UCHECK" step.tz 32
  [[ "$stderr" == *"worst of 74 tensors: side.2.bias"* ]]
}

CDUMP=${SCSI_TEST_BIN:-$BATS_TEST_DIRNAME/../build/rel}/cnn-dump
CCHECK=$BATS_TEST_DIRNAME/torch/check_cnn.py

ccheck() {  # C H W W1,W2,.. S1,S2,.. F K BATCH SEED
  mirror "$CDUMP" "$CCHECK" "$@"
}

@test "classifier (fid's features; 28x28x1, batch 20): logits, features, loss, gradients, AdamW agree with PyTorch" {
  ccheck 1 28 28 32,64,64 1,2,2 128 10 20 1
  [[ "$stderr" == *"worst of 10 tensors"* ]]
  # the unit test's parameter count is PyTorch's
  [ "$(/usr/bin/python3 "$CCHECK" --count 1 28 28 10)" = 458570 ]
}

@test "classifier of odd shapes (3x9x7, four convolutions, stride 2 first) agrees with PyTorch" {
  ccheck 3 9 7 4,6,5,3 2,1,2,2 12 5 11 3
  [[ "$stderr" == *"worst of 12 tensors"* ]]
}

@test "the classifier mirror catches a wrong engine: a corrupted gradient fails" {
  "$CDUMP" 1 12 12 4,8 1,2 6 3 4 2 > step.tz
  /usr/bin/python3 "$CCHECK" < step.tz
  catches "$CCHECK" step.tz 0
  # one value of the smallest tensor, the last (out.bias: 3 values)
  catches "$CCHECK" step.tz 3
  [[ "$stderr" == *"worst of 8 tensors: out.bias"* ]]
}

# OpenBLAS 0.3.21 does not know CPUs newer than itself and runs its generic
# SSE3 kernels on them (an Emerald Rapids Xeon: "Prescott", 4.7x slower on
# sgemm); the tools then load it again with kernels that fit (tool/blas.h).
@test "OpenBLAS runs kernels that fit the CPU: AVX2 or wider where the CPU has AVX2 and FMA" {
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]] ||
    skip "this CPU has no AVX2 and FMA: OpenBLAS's choice is not checked"
  run --separate-stderr env -u OPENBLAS_CORETYPE tzcat --version
  [ "$status" -eq 0 ]
  core=${output##*kernels }
  echo "kernels: $core ($output)"
  case $core in
    Haswell | Zen | Excavator | SkylakeX | Cooperlake | SapphireRapids) ;;
    *) return 1 ;;
  esac
}

@test "OpenBLAS: the user's OPENBLAS_CORETYPE is kept, and a re-executed tool still reads all of its input" {
  run --separate-stderr env OPENBLAS_CORETYPE=Prescott tzcat --version
  [ "$status" -eq 0 ]
  [[ "$output" == *"kernels Prescott" ]]
  # re-executed or not (the environment decides), the pipe's bytes pass whole
  tzdata moons -q -c 5000 -n 7 -o m.tz
  env -u OPENBLAS_CORETYPE tzcat -q < m.tz > a.tz
  OPENBLAS_CORETYPE=Prescott tzcat -q < m.tz > b.tz
  cmp a.tz b.tz
  [ "$(tzinfo --brief a.tz | head -1)" = "$(tzinfo --brief m.tz | head -1)" ]
}
