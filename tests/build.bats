#!/usr/bin/env bats
# tests: the Makefile's check of the build's libraries (scripts/install-deps
# --check-build), before anything is compiled
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
