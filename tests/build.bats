#!/usr/bin/env bats
# tests: the build's checks: the libraries (scripts/install-deps
# --check-build) before anything is compiled, and the library's layers
# (scripts/check-layers)
# also requires: make, pkg-config

bats_require_minimum_version 1.5.0
load helpers

@test "make names the missing libraries and the one command that installs them" {
  # pkg-config finds nothing: every library is reported missing, with make deps
  run --separate-stderr env PKG_CONFIG_LIBDIR=/nonexistent make -s -C "$ROOT" depcheck
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"missing: libzstd (libzstd-dev)"* ]]
  [[ "$stderr" == *"openblas (libopenblas-dev)"* ]]
  [[ "$stderr" == *"run: make deps"* ]]
  # no compiler of that name: named too
  run --separate-stderr make -s -C "$ROOT" depcheck CC=no-such-cc
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"the C compiler no-such-cc"* ]]
  # with them all, nothing is said
  run --separate-stderr make -s -C "$ROOT" depcheck
  [ "$status" -eq 0 ] && [ -z "$stderr" ]
}

@test "check-layers: the tree keeps its layers; an include upward or sideways fails, named" {
  "$ROOT/scripts/check-layers" "$ROOT"
  mkdir t && cp -r "$ROOT/libcommon" "$ROOT/formats" t/
  "$ROOT/scripts/check-layers" t
  cp -r t u && echo '#include "nn/nn.h"' >> u/formats/tz.c            # formats on the engine
  run --separate-stderr "$ROOT/scripts/check-layers" u
  fails_with 1 "formats/tz.c:[0-9]+: the formats layer includes \"nn/nn.h\" of the nn layer"
  rm -r u && cp -r t u && echo '#include "method/si.h"' >> u/libcommon/nn/net.c   # upward
  run --separate-stderr "$ROOT/scripts/check-layers" u
  fails_with 1 "nn/net.c:[0-9]+: the nn layer includes \"method/si.h\""
  rm -r u && cp -r t u && echo '#include "eval/dist.h"' >> u/libcommon/ops/fwd.c  # sideways
  run --separate-stderr "$ROOT/scripts/check-layers" u
  fails_with 1 "ops/fwd.c:[0-9]+: the ops layer includes \"eval/dist.h\""
  rm -r u && cp -r t u && echo '#include "err.h"' >> u/libcommon/nn/opt.c          # no layer named
  run --separate-stderr "$ROOT/scripts/check-layers" u
  fails_with 1 "nn/opt.c:[0-9]+: #include \"err.h\" names no layer"
}

@test "MPI is optional: without mpicc (or with MPI=0) nothing goes through it; the library never does" {
  # what make would run from scratch, without running it
  none=$(make -s -n -B -C "$ROOT" all MPICC=no-such-mpicc)
  [[ "$none" == *"bin/si-train "* ]]
  [[ "$none" != *"mpi"* ]]
  [[ "$(make -s -n -B -C "$ROOT" all MPI=0)" != *"mpicc"* ]]
  command -v mpicc >/dev/null || skip "no mpicc: the MPI build is not tried"
  some=$(make -s -n -B -C "$ROOT" all)
  # only the tool with SCSI_MPI and libcommon/mpi/ through mpicc, and
  # libcommon/mpi/ never into the library
  [ "$(grep '^mpicc .* -c ' <<<"$some" | grep -c -e '-DSCSI_MPI')" -eq 2 ]
  grep -q '^mpicc .*-o bin/si-train-mpi ' <<<"$some"
  ! grep '^ar ' <<<"$some" | grep -q 'mpi/'
}
