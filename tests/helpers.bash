# helpers.bash - loaded by every tests/*.bats.
# The tools under test come from $SCSI_BIN (set by `make bats`), else bin/.

setup() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  BIN=${SCSI_BIN:-$ROOT/bin}
  PATH=$BIN:$PATH
  T=$BATS_TEST_TMPDIR
  cd "$T"
}

# sha256 of a file, for byte-identity checks.
digest() { sha256sum "$1" | cut -d' ' -f1; }

# A small raw (uncompressed) stream of moons, for byte surgery.
raw_moons() { tzdata moons -c "${1:-8}" -n "${2:-4}" -L 0 -o "$3"; }

# Overwrite byte at offset $2 of file $1 with hex value $3.
poke() { printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

# Write a little-endian u64 at offset $2 of file $1 (value $3, decimal).
poke64() {
  local v=$3 i
  for i in 0 1 2 3 4 5 6 7; do
    poke "$1" $(($2 + i)) "$(printf %02x $((v & 255)))"
    v=$((v >> 8))
  done
}

# Assert the last command failed with status $1, said nothing on stdout
# beyond what $2 allows, and named the reason matching regex $3 on stderr.
fails_with() {
  [ "$status" -eq "$1" ] || { echo "status $status, expected $1: $output $stderr"; return 1; }
  [[ "$stderr" =~ $2 ]] || { echo "stderr does not match '$2': $stderr"; return 1; }
}
