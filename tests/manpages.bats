#!/usr/bin/env bats
# tests: the manual pages of every tool in bin/ against the tools themselves,
# the format page, and scsi(7) against pipelines/scsi.mk
# also requires: man (man-db), groff

bats_require_minimum_version 1.5.0
load helpers

tools() { ls "$BIN" | grep -v '\.'; }

# A tool's page, read from man/ so that a page that is another's alias
# (".so man1/si-train.1", as si-train-mpi.1 is) finds it, as an installed
# one does.
manpage() { (cd "$ROOT/man" && man "$@"); }

@test "every tool has a manual page that renders without warnings" {
  for t in $(tools); do
    [ -f "$ROOT/man/man1/$t.1" ] || { echo "no man/man1/$t.1"; return 1; }
    out=$(MANWIDTH=80 manpage --warnings -l "man1/$t.1" 2>&1 >/dev/null)
    [ -z "$out" ] || { echo "$t.1: $out"; return 1; }
  done
}

@test "every option that --help lists is documented in the manual page" {
  for t in $(tools); do
    page=$(MANWIDTH=200 manpage -l "man1/$t.1" 2>/dev/null)
    for opt in $("$t" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
      grep -q -- "$opt" <<<"$page" || { echo "$t.1 lacks $opt"; return 1; }
    done
  done
}

@test "every manual page and --help give the shared exit-status table" {
  for t in $(tools); do
    page=$(MANWIDTH=200 manpage -l "man1/$t.1" 2>/dev/null | tr -s ' ')
    help=$("$t" --help)
    while read -r code meaning; do
      [[ "$help" == *"$code"*"$meaning"* ]] || { echo "$t --help lacks $code"; return 1; }
      grep -qF -- "$meaning" <<<"$page" || { echo "$t.1 lacks: $meaning"; return 1; }
    done < <(tzinfo --help | sed -n '/^Exit status:/,/^$/p' | sed '1d;/^$/d' | sed 's/^ *//; s/  */ /')
  done
}

@test "the format page exists and documents the magic and every dtype" {
  page=$(MANWIDTH=200 man -l "$ROOT/man/man5/tz.5")
  [[ "$page" == *"89 54 5A 31 0D 0A 1A 0A"* ]]
  for d in f32 f64 u8 i32 i64; do [[ "$page" == *" $d "* ]]; done
}

@test "the pages of sections 5 and 7 render without warnings" {
  for p in "$ROOT"/man/man5/*.5 "$ROOT"/man/man7/*.7; do
    out=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
    [ -z "$out" ] || { echo "$p: $out"; return 1; }
  done
}

@test "scsi(7) documents every variable and target of pipelines/scsi.mk" {
  page=$(MANWIDTH=200 man -l "$ROOT/man/man7/scsi.7" 2>/dev/null)
  vars=$(sed -n '/^# ---- settings/,/^# ----/s/^\([A-Z_][A-Z_]*\) =.*/\1/p' "$ROOT/pipelines/scsi.mk")
  [ "$(wc -w <<<"$vars")" -ge 30 ]
  for v in $vars; do
    grep -q -- "$v=" <<<"$page" || { echo "scsi.7 lacks $v="; return 1; }
  done
  for t in all clean iter-N; do
    grep -qE "^ +$t( |$)" <<<"$page" || { echo "scsi.7 lacks the target $t"; return 1; }
  done
}
