#!/usr/bin/env bats
# tests: si-train --shards, si-train-mpi under mpirun, pushback and
# simulate --shard, pipelines/scsi.mk with SHARDS and MPIRUN
# also requires: tzdata, tzcat, tzinfo, the Fashion-MNIST data set, make;
# Open MPI's mpirun and bin/si-train-mpi for the tests that run processes
# (skipped, saying why, without them)

bats_require_minimum_version 1.5.0
load helpers

# Open MPI refuses to start as root without these (CI runs as root), and
# gives a machine as many slots as cores unless told to oversubscribe.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# A container may forbid the cross-process copy that Open MPI's shared
# memory uses for large messages (process_vm_readv): copy through the
# shared segment instead, which works everywhere.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi() { mpirun --oversubscribe -np "$@"; }

need_mpi() {
  command -v mpirun >/dev/null ||
    skip "no mpirun: Open MPI is not installed (scripts/install-deps --tests installs it)"
  [ -x "$BIN/si-train-mpi" ] ||
    skip "no $BIN/si-train-mpi: make builds it only where mpicc is found, and not with SAN=1"
}

# 2000 noisy moons as pairs (x0, x1).
pairs() { tzdata moons -c 2000 | tzcat -R x=x0 | simulate awgn:sigma=0.3 -o p.tz; }

# The process of MPI rank $2 among the children of mpirun $1.
rank_pid() {
  local p
  # cat, not awk on the files: awk stops at a process that has just gone
  for p in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v pp="$1" '$4 == pp { print $1 }'); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" &&
      { echo "$p"; return; }
  done
}

# A test that fails with mpirun in the background stops it: its pid is in bg.
teardown() {
  [ -z "${bg:-}" ] || kill "$bg" 2>/dev/null || true
}

# Wait (at most 60 s) until file $1 has $2 lines.
wait_lines() {
  local i
  for i in $(seq 600); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return
    sleep 0.1
  done
  echo "$1 never got $2 lines"; return 1
}

@test "--shards in one process: the same bytes whatever the threads; the first step is the batch's" {
  pairs
  si-train --steps 30 --batch 64 --shards 4 --threads 1 --log a.tsv --log-every 1 p.tz -o a.tz -q
  si-train --steps 30 --batch 64 --shards 4 --threads 2 --log b.tsv --log-every 1 p.tz -o b.tz -q
  cmp a.tz b.tz
  cmp a.tsv b.tsv
  # --shards 1 is the run without the option
  si-train --steps 30 --batch 64 --log c.tsv --log-every 1 p.tz -o c.tz -q
  si-train --steps 30 --batch 64 --shards 1 p.tz -o d.tz -q
  cmp c.tz d.tz
  # Step 0 starts from the same weights: the four shards' loss and gradient
  # are the batch's, to rounding (a shard's own mean would give 4 times the
  # gradient norm).
  paste <(sed -n 2p a.tsv) <(sed -n 2p c.tsv) |
    awk -F'\t' '{ exit !(($2 - $6) ^ 2 < 1e-10 * $6 ^ 2 && ($4 - $8) ^ 2 < 1e-8 * $8 ^ 2) }'
  # and later steps go their own way, but as well
  paste <(tail -1 a.tsv) <(tail -1 c.tsv) | awk -F'\t' '{ exit !($2 < 1.2 * $6 && $6 < 1.2 * $2) }'
}

@test "mpirun -np 2: the model and the log of one process, an MLP" {
  need_mpi
  pairs
  si-train --steps 40 --batch 60 --shards 2 --threads 1 --log one.tsv --log-every 5 p.tz \
    -o one.tz -q
  mpi 2 si-train-mpi --steps 40 --batch 60 --shards 2 --threads 1 --log two.tsv --log-every 5 \
    p.tz -o two.tz -q
  cmp one.tz two.tz
  cmp one.tsv two.tsv
  [ "$(wc -l < two.tsv)" -eq 10 ]
  # 3 processes, 7 shards of 8 or 9 samples: 2, 2 and 3 shards each, so
  # that the tree adds within a process and across them
  si-train --steps 20 --batch 60 --shards 7 --threads 1 p.tz -o one7.tz -q
  mpi 3 si-train-mpi --steps 20 --batch 60 --shards 7 --threads 1 p.tz -o three7.tz -q
  cmp one7.tz three7.tz
  # si-train-mpi without mpirun is one process
  si-train-mpi --steps 20 --batch 60 --shards 7 --threads 1 p.tz -o solo7.tz -q
  cmp one7.tz solo7.tz
}

@test "mpirun -np 2: the model and the log of one process, a small U-Net with side channels" {
  need_mpi
  tzdata fashion-mnist --split test -c 96 | tzcat -R x=x0 | simulate mask:p=0.5 -o ip.tz
  set -- --steps 4 --batch 24 --shards 4 --widths 8,16 --mid 1 --temb 16 --cond mask \
    --gamma 1 --denoiser --log-every 1 ip.tz -q
  si-train --threads 2 --log one.tsv "$@" -o one.tz
  mpi 2 si-train-mpi --threads 1 --log two.tsv "$@" -o two.tz
  cmp one.tz two.tz
  cmp one.tsv two.tsv
  [[ "$(tzinfo one.tz)" == *"@arch=unet"* ]]
}

@test "mpirun -np 2: each process holds only its shards' part of the data (peak memory), the same model" {
  need_mpi
  [ -x /usr/bin/time ] || skip "no /usr/bin/time (Debian's time): peak memory cannot be read"
  # 20,000 images as pairs: 125 MB of x0 and x1, of which each of two
  # processes holds half
  tzdata fashion-mnist -c 20000 | tzcat -R x=x0 -d label | simulate awgn:sigma=0.1 -o big.tz
  set -- --steps 2 --batch 16 --shards 2 --arch mlp --width 16 --hidden 1 big.tz -q
  /usr/bin/time -f %M -o rss.one si-train --threads 1 "$@" -o one.tz
  mpi 2 sh -c '/usr/bin/time -f %M -o rss.$OMPI_COMM_WORLD_RANK "$0" "$@"' \
    si-train-mpi --threads 1 "$@" -o two.tz
  cmp one.tz two.tz
  one=$(tail -1 rss.one) r0=$(tail -1 rss.0) r1=$(tail -1 rss.1)
  echo "peak KB: one process $one; processes 0 and 1: $r0, $r1"
  # half the 122,500 KB of samples less, with 20 MB to spare for the rest
  [ "$r0" -lt $((one - 40000)) ] && [ "$r1" -lt $((one - 40000)) ]
}

@test "a process killed mid-run: a clean error, no model; resuming gives the same bytes" {
  need_mpi
  pairs
  set -- --batch 32 --shards 2 --threads 1 -q p.tz
  si-train --steps 40 "$@" -o whole.tz
  mpi 2 si-train-mpi --steps 15 "$@" -o part.tz
  # the checkpoint resumes under mpirun as in one process
  mpi 2 si-train-mpi -m part.tz --steps 25 "$@" -o rest.tz
  cmp whole.tz rest.tz
  # a run from the checkpoint, rank 1 killed once it has logged 3 lines
  # (mpirun itself, not the function mpi, so that $! is mpirun's pid)
  mpirun --oversubscribe -np 2 si-train-mpi -m part.tz --steps 100000000 --log k.tsv \
    --log-every 10 "$@" -o k.tz 2> k.err &
  bg=$!
  wait_lines k.tsv 3
  victim=$(rank_pid "$bg" 1)
  [ -n "$victim" ]
  kill -KILL "$victim"
  st=0; wait "$bg" || st=$?
  bg=
  [ "$st" -eq 137 ] || { echo "mpirun status $st"; cat k.err; return 1; }
  grep -q "rank 1" k.err && grep -q "signal 9" k.err
  [ ! -e k.tz ]
  [ -z "$(ls | grep '\.tmp\.')" ]
  # and from the checkpoint again: the bytes of the run never killed
  mpi 2 si-train-mpi -m part.tz --steps 25 "$@" -o again.tz
  cmp whole.tz again.tz
}

@test "si-train-mpi: more processes than shards, or standard input, are usage errors" {
  need_mpi
  pairs
  run --separate-stderr mpi 3 si-train-mpi --steps 1 --shards 2 p.tz -o x.tz
  fails_with 1 "3 processes share 2 shards"
  run --separate-stderr mpi 2 si-train-mpi --steps 1 --shards 2 -o x.tz < p.tz
  fails_with 1 "give FILEs, not standard input"
  [ ! -e x.tz ]
}

@test "--shards outside 1 to the batch size is a usage error, and writes nothing" {
  pairs
  run --separate-stderr si-train --steps 1 --batch 8 --shards 9 p.tz -o x.tz
  fails_with 1 "--shards must be 1 to the batch size \(8\)"
  run --separate-stderr si-train --steps 1 --shards 0 p.tz -o x.tz
  fails_with 1 "shards"
  run --separate-stderr si-train --steps 1 --shards 4097 p.tz -o x.tz
  fails_with 1 "shards"
  [ ! -e x.tz ]
}

@test "pushback --shard: the shards, joined by tzcat, are the whole output (ODE, SDE, --count)" {
  pairs
  si-train --steps 30 --batch 64 --gamma 1 --denoiser p.tz -o m.tz -q
  # 10 records of 100, 9 of 100 and one of 40 at the end
  tzcat -n 100 --head 940 -d x0 p.tz -o obs.tz
  for sde in "" --sde; do
    pushback -m m.tz $sde --seed 3 obs.tz -o whole.tz
    for i in 0 1 2; do pushback -m m.tz $sde --seed 3 --shard $i/3 obs.tz -o s$i.tz; done
    tzcat s0.tz s1.tz s2.tz | cmp - whole.tz
    # records [R i / N, R (i+1) / N): 3, 3 and 4 of the 10
    [ "$(tzinfo s0.tz | grep -c '^record')" -eq 3 ]
    [ "$(tzinfo s2.tz | grep -c '^record')" -eq 4 ]
  done
  # more shards than records: some shards are empty streams
  tzcat -n 400 obs.tz -o three.tz
  pushback -m m.tz --sde three.tz -o whole3.tz
  for i in 0 1 2 3 4; do pushback -m m.tz --sde --shard $i/5 three.tz -o t$i.tz; done
  [ "$(tzinfo t0.tz | grep -c '^record')" -eq 0 ]
  tzcat t0.tz t1.tz t2.tz t3.tz t4.tz | cmp - whole3.tz
  # a generative model's samples from noise, the shards at once as
  # pushback(1) shows
  si-train --generative --steps 10 --batch 64 p.tz -o g.tz -q
  pushback -m g.tz -c 1000 -b 128 --seed 2 -o gw.tz
  seq 0 2 | xargs -P 3 -I{} pushback -m g.tz -c 1000 -b 128 --seed 2 --threads 1 \
    --shard {}/3 -o g{}.tz
  tzcat g0.tz g1.tz g2.tz | cmp - gw.tz
}

@test "simulate --shard: the shards, joined by tzcat, are the whole output (built-in, --exec)" {
  EX=${SCSI_EXAMPLES:-$ROOT/build/rel/examples}
  tzdata moons -c 1000 -n 90 | tzcat -R x=x0 -o c.tz
  simulate awgn:sigma=0.3 -K 3 --seed 5 c.tz -o whole.tz
  for i in 0 1 2 3; do simulate awgn:sigma=0.3 -K 3 --seed 5 --shard $i/4 c.tz -o s$i.tz; done
  tzcat s0.tz s1.tz s2.tz s3.tz | cmp - whole.tz
  simulate --exec "$EX/sim_awgn 0.3" -K 2 --seed 5 c.tz -o ew.tz
  for i in 0 1; do simulate --exec "$EX/sim_awgn 0.3" -K 2 --seed 5 --shard $i/2 c.tz -o e$i.tz; done
  tzcat e0.tz e1.tz | cmp - ew.tz
}

@test "--shard: bad specs and standard input are usage errors" {
  tzdata moons -c 100 -n 10 | tzcat -R x=x0 -o c.tz
  for spec in 2/2 1/0 x/2 1/ /2 -1/2 1/2/3 "1/2 " 0/65537; do
    run --separate-stderr simulate awgn:sigma=0.1 --shard "$spec" c.tz
    fails_with 1 "--shard wants I/N"
    [ -z "$output" ]
  done
  run --separate-stderr simulate awgn:sigma=0.1 --shard 0/2 < c.tz
  fails_with 1 "give FILEs, not standard input"
  run --separate-stderr simulate awgn:sigma=0.1 --shard 0/2 c.tz - < c.tz
  fails_with 1 "give FILEs, not standard input"
}

@test "scsi.mk with MPIRUN: the files of a run without it, at the same SHARDS" {
  need_mpi
  tzdata moons -c 1200 -n 100 --seed 1 | tzcat -R x=x0 | simulate --seed 100 awgn:sigma=0.5 -o obs.tz
  loop=(make -s -f "$ROOT/pipelines/scsi.mk" BIN="$BIN" OBS=obs.tz SIM=awgn:sigma=0.5 WIDTH=32
        ITERS=2 INNER=20 BATCH=64 THREADS=1 CHECK=0)
  "${loop[@]}" SHARDS=2 OUT=m MPIRUN="mpirun --oversubscribe -np 2"
  "${loop[@]}" SHARDS=2 OUT=s
  for f in iter-001/candidates.tz iter-001/pairs.tz iter-002/candidates.tz iter-002/pairs.tz \
           iter-001/model.tz iter-002/model.tz iter-002/loss.tsv hparams.txt; do
    cmp "m/$f" "s/$f"
  done
  grep -qx SHARDS=2 s/hparams.txt
  [ -z "$(find m s -name '*.tmp.*')" ]
  # SHARDS 1 keeps the settings file of the runs made before it existed
  "${loop[@]}" OUT=one ITERS=0
  ! grep -q SHARDS one/hparams.txt
  run --separate-stderr "${loop[@]}" OUT=bad MPIRUN="mpirun -np 2"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"give SHARDS"* ]]
}
