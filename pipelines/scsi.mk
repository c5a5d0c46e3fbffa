# pipelines/scsi.mk - the SCSI fixed-point loop as a Makefile (man 7 scsi).
#
#   make -f pipelines/scsi.mk OBS=obs.tz SIM=awgn:sigma=0.5 OUT=run ITERS=10
#
# Iteration i (1..ITERS) takes the model of iteration i-1 and writes, in
# $(OUT)/iter-NNN/ (NNN = i on three digits):
#   candidates.tz  the observations of the iteration (field x1, side fields)
#                  and their candidates x0, carried back by pushback
#   pairs.tz       the observations renamed to y (every other field f of
#                  theirs to y_f, so that none meets the simulator's), and
#                  RESAMPLES fresh simulated observations x1 of each x0
#   loss.tsv       si-train's log: step, loss, lr, grad_norm
#   model.tz       the model, trained INNER more steps on pairs.tz
#   consistency.tsv  the self-consistency diagnostic of the model that made
#                  the candidates (iteration i-1's), unless CHECK=0: half of
#                  the candidates through the simulator once more, against
#                  the other half's real observations, by tzdist
#                  --features; and the floor, the real observations of the
#                  two halves against each other (man 7 scsi)
# $(OUT)/consistency.tsv and consistency.png gather the diagnostic of every
# iteration; $(OUT)/iter-000/model.tz is the start: WARM copied, or a new untrained
# model (zero last layer: its pushback is the identity).  $(OUT)/final.tz is
# a symbolic link to the last model; $(OUT)/hparams.txt records every
# setting that changes the results, and is rewritten only when one changes,
# which makes every iteration run again.
#
# Variables (NAME=value on the command line; the environment is not read):
#   OBS        the observations: a tensor stream whose field x1 holds them;
#              other fields pass through (x0, if any, is dropped).  Required.
#   OUT        the run's directory.  Default: run
#   SIM        the simulator, a built-in forward-model spec (simulate(1)),
#   SIM_EXEC   or an external command run by simulate --exec.  One of the
#              two is required.
#   SIM_TIMEOUT  simulate --timeout, for SIM_EXEC.  Default: 60
#   SIM_VERSION  any text naming the version of an external simulator, for
#              what its program's file does not show (modules it imports,
#              data files it reads): changing it reruns the loop.  Default: none
#   ITERS      outer iterations.  Default: 10 (at most 999)
#   INNER      si-train steps per iteration.  Default: 500
#   PER_ITER   observations per iteration, drawn afresh each iteration (tzshuf
#              then tzcat --head); 0 means all of them, in order.  Default: 0
#   RESAMPLES  simulated observations per candidate (simulate -K).  Default: 2
#   ALPHA      per sample drawn, the probability of the simulated x1 rather
#              than the real observation y (si-train --alpha).  Default: 0.9
#   BATCH      si-train --batch.  Default: 256
#   ODE_STEPS  pushback --steps.  Default: 40
#   SDE        1: pushback --sde (needs COMBINED=1 and GAMMA above 0).  Default: 0
#   METHOD     pushback --method, euler or heun.  Default: euler
#   RAW        1: pushback --raw, transport with the raw weights, not the
#              EMA.  Default: 0
#   WIDTH HIDDEN TEMB    the MLP (si-train --width --hidden --temb).
#              Defaults: 256 3 64
#   LR WARMUP DECAY      the learning rate, its warm-up steps and the step at
#              which its cosine decay reaches 0 (si-train --lr --warmup
#              --decay-steps; steps count over the whole run).  Defaults: 1e-3 0 0
#   WEIGHT_DECAY CLIP EMA  si-train --weight-decay --clip --ema.  Defaults: 0 1 0.999
#   GAMMA COMBINED       the interpolant (si-train --gamma, --combined if 1).
#              Defaults: 0 0
#   NET        more si-train options for the new model, e.g. the U-Net's
#              "--widths 16,32 --mid 1" (images get the U-Net).  Default: none
#   COND       side fields fed to the network, comma-separated (si-train
#              --cond); the simulator must make them.  Default: none
#   SEED       the model's seed; the seeds of iteration i are derived from
#              SEED and i alone (see SEEDS below).  Default: 0
#   WARM       a model file to start from instead of an untrained model; the
#              network and optimiser settings then come from it.  Default: none
#   THREADS    --threads of the tools; the results do not depend on it.
#              Default: the tools' own (every processor)
#   SHARDS     si-train --shards: each step's batch in SHARDS micro-batches
#              whose gradients are summed in a fixed order; it changes the
#              models' bytes (so it is among the settings when not 1), and
#              with MPIRUN it must be at least the number of processes (a
#              multiple of it shares evenly).  Default: 1
#   MPIRUN     a command that starts MPI processes, "mpirun -np 4" say: the
#              training step runs si-train-mpi under it (the processes
#              share the SHARDS shards; the same bytes as one process with
#              SHARDS), and pushback and simulate run as one shard
#              (--shard) per process, their outputs joined by tzcat: the
#              same bytes as one process.  The tools, OUT and OBS must be
#              at the same paths on every machine.  Default: none (one
#              process each)
#   KEEP       0: delete candidates.tz and pairs.tz of iteration i-1 once
#              iteration i is done.  Default: 1 (keep everything)
#   LOG_EVERY  si-train --log-every.  Default: 10
#   V          1: show the commands as they run.  Default: 0 (one line per
#              iteration, on standard error)
#   CHECK      0: no self-consistency diagnostic.  Default: 1
#   CHECK_FEATURES CHECK_GROUPS  tzdist --features --groups of the
#              diagnostic (the groups at most a quarter of the candidates).
#              Defaults: 1000 10
#   CHECK_BANDWIDTH  its kernel's widths (tzdist -s, a comma-separated
#              list); empty: m, m/2, m/4 and m/8, m the median distance
#              between the first 1000 observations and the next 1000 (tzdist
#              -s median), found once per run in $(OUT)/check-bandwidth.txt.
#              Default: empty
#   CALIBRATE  for the target calibrate only: simulator specs separated by
#              blanks (SIM values), one loop each.  Default: none
#   CLEAN      for the target oracle only: a stream of clean samples (field
#              x0, and nothing the simulator would add).  Default: none
#   ORACLE_K   for the target oracle: simulated observations per clean
#              sample.  Default: 4
#   BIN        the directory of the tools.  Default: ../bin beside this file
#              if it holds them (a source tree after make), else empty: the
#              tools found on PATH.
#
# SEEDS: iteration i uses SEED*10^6 + i*10^3 + s, with s = 1 for the draw of
# PER_ITER observations (tzshuf), 2 for pushback (the SDE's noise), 3
# for simulate and 4 for the diagnostic's simulate; the diagnostic's
# random features use SEED in every iteration, so that iterations differ
# by their samples only.  si-train draws its batches from the model's seed (SEED) and
# its step count, which goes on across iterations.  So each file is the same
# bytes whatever THREADS, MPIRUN, -j and interruptions.
#
# Targets: all (the default: every iteration and final.tz), iter-N (the
# iterations up to N), oracle ($(OUT)/oracle.tz: the SI-Oracle, the
# reference that saw clean data: a new model with the loop's settings,
# trained for ITERS x INNER steps of BATCH on clean pairs, CLEAN's samples
# through the simulator ORACLE_K times each; seed SEED, the pairs' seed
# SEED*10^6 + 999999), calibrate (a loop per simulator of CALIBRATE, and
# $(OUT)/calibration.tsv: which of them the diagnostic can tell from the
# data), clean (remove the run's files from OUT).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
# make -n and make -q: read before MAKEFLAGS changes below.
MODE_FLAGS := $(filter-out --%,$(firstword -$(MAKEFLAGS)))
DRY_RUN := $(findstring n,$(MODE_FLAGS))$(findstring q,$(MODE_FLAGS))
MAKEFLAGS += --no-builtin-rules --no-builtin-variables

# ---- settings -----------------------------------------------------------

OBS =
OUT = run
SIM =
SIM_EXEC =
SIM_TIMEOUT = 60
ITERS = 10
INNER = 500
PER_ITER = 0
RESAMPLES = 2
ALPHA = 0.9
BATCH = 256
ODE_STEPS = 40
SDE = 0
METHOD = euler
RAW = 0
WIDTH = 256
HIDDEN = 3
TEMB = 64
LR = 1e-3
WARMUP = 0
DECAY = 0
WEIGHT_DECAY = 0
CLIP = 1
EMA = 0.999
GAMMA = 0
COND =
SEED = 0
COMBINED = 0
WARM =
THREADS =
SHARDS = 1
MPIRUN =
KEEP = 1
CLEAN =
ORACLE_K = 4
LOG_EVERY = 10
V = 0
CHECK = 1
CHECK_FEATURES = 1000
CHECK_GROUPS = 10
CHECK_BANDWIDTH =
CALIBRATE =

SCSI_MK := $(realpath $(lastword $(MAKEFILE_LIST)))
SCSI_MK_DIR := $(dir $(SCSI_MK))
BIN = $(if $(wildcard $(SCSI_MK_DIR)../bin/si-train),$(realpath $(SCSI_MK_DIR)../bin))

override OUT := $(patsubst %/,%,$(OUT))
comma := ,
define newline


endef
T := $(if $(BIN),$(BIN)/)
THR := $(if $(THREADS),--threads $(THREADS))
LAST := $(shell printf %03d $(ITERS))
ITER_NUMS := $(shell seq -f %03g 0 $(ITERS))
HP := $(OUT)/hparams.txt
CK := $(OUT)/check.txt
export SIM_EXEC

# ---- checks and hparams.txt, unless only cleaning -----------------------

ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),all)),)
ifeq ($(OBS),)
$(error scsi.mk: give the observations, OBS=FILE)
endif
ifeq ($(wildcard $(OBS)),)
$(error scsi.mk: OBS=$(OBS): no such file)
endif
endif
# calibrate runs this file again for each simulator: its own checks there
ifneq ($(filter-out clean calibrate,$(or $(MAKECMDGOALS),all)),)
ifeq ($(SIM)$(SIM_EXEC),)
$(error scsi.mk: give the simulator, SIM=SPEC or SIM_EXEC=COMMAND)
endif
ifneq ($(SIM),)
ifneq ($(SIM_EXEC),)
$(error scsi.mk: give SIM or SIM_EXEC, not both)
endif
endif
ifneq ($(shell [[ "$(ITERS)" =~ ^[0-9]+$$ ]] && (( 10#$(ITERS) <= 999 )) && echo ok),ok)
$(error scsi.mk: ITERS must be 0 to 999; got '$(ITERS)')
endif
ifneq ($(shell [[ "$(SHARDS)" =~ ^[1-9][0-9]*$$ ]] && echo ok),ok)
$(error scsi.mk: SHARDS must be a positive whole number; got '$(SHARDS)')
endif
ifneq ($(MPIRUN),)
ifeq ($(SHARDS),1)
$(error scsi.mk: MPIRUN shares each training step's SHARDS shards among its processes: give SHARDS, at least their number)
endif
endif
ifneq ($(filter-out 0 1,$(SDE) $(COMBINED) $(RAW) $(KEEP) $(CHECK)),)
$(error scsi.mk: SDE, COMBINED, RAW, KEEP and CHECK take 0 or 1)
endif
ifneq ($(WARM),)
ifeq ($(wildcard $(WARM)),)
$(error scsi.mk: WARM=$(WARM): no such file)
endif
else ifneq ($(SDE),$(COMBINED))
$(error scsi.mk: SDE=1 goes with COMBINED=1 (and GAMMA above 0): pushback integrates a combined model as an SDE only)
endif

# SIM_EXEC as the results depend on it: of its words (split at blanks,
# quotes around a word ignored), each that names a file (the first also
# looked up in PATH) becomes NAME@DIGEST, the file's base name and the
# start of its SHA-256.  Editing the program reruns the loop; moving it
# elsewhere (or calling it by another path) does not.
sq = '$(subst ','\'',$(1))'
H := \#
SIM_ID := $(if $(SIM_EXEC),$(shell set -f; s=$(call sq,$(SIM_EXEC)); first=1; \
  for w in $$s; do w=$${w$(H)[\"\']}; w=$${w%[\"\']}; f=$$w; \
  [ $$first = 1 ] && [ "$${w$(H)*/}" = "$$w" ] && f=$$(command -v -- "$$w"); first=0; \
  if [ -n "$$f" ] && [ -f "$$f" ]; then \
    printf '%s@%s ' "$${w$(H)$(H)*/}" "$$(sha256sum < "$$f" | cut -c1-16)"; \
  else printf '%s ' "$$w"; fi; done))

# Everything that changes the results, one NAME=value a line.  ITERS is not
# here: more iterations go on from the last, fewer stop earlier.  OBS and
# WARM are prerequisites too, so that newer files rerun the loop.
define HPARAMS
# pipelines/scsi.mk: the settings of this run; any change reruns it
OBS=$(abspath $(OBS))
SIM=$(SIM)
SIM_EXEC=$(strip $(SIM_ID))
SIM_VERSION=$(SIM_VERSION)
INNER=$(INNER)
PER_ITER=$(PER_ITER)
RESAMPLES=$(RESAMPLES)
ALPHA=$(ALPHA)
BATCH=$(BATCH)
ODE_STEPS=$(ODE_STEPS)
SDE=$(SDE)
METHOD=$(METHOD)
RAW=$(RAW)
WIDTH=$(WIDTH)
HIDDEN=$(HIDDEN)
TEMB=$(TEMB)
LR=$(LR)
WARMUP=$(WARMUP)
DECAY=$(DECAY)
WEIGHT_DECAY=$(WEIGHT_DECAY)
CLIP=$(CLIP)
EMA=$(EMA)
GAMMA=$(GAMMA)
COMBINED=$(COMBINED)$(if $(filter-out 1,$(SHARDS)),$(newline)SHARDS=$(SHARDS))
COND=$(COND)
NET=$(NET)
SEED=$(SEED)
WARM=$(if $(WARM),$(abspath $(WARM)))
endef

# The text is compared when the makefile is read; if it changed, the rule
# of hparams.txt below puts the new text in place (once per make run, so no
# two jobs of make -j race on it), and every iteration is out of date.
# make -n and make -q only compare.
HP_TMP := $(HP).tmp.$(shell echo $$PPID)
$(shell mkdir -p $(OUT))
$(file >$(HP_TMP),$(HPARAMS))
HP_CHANGED := $(shell cmp -s $(HP_TMP) $(HP) || echo yes)
ifeq ($(HP_CHANGED),)
$(shell rm -f $(HP_TMP))
else ifneq ($(DRY_RUN),)
$(shell rm -f $(HP_TMP))
endif

# The diagnostic's settings: they change its tables, not the loop's models.
define CHECK_SETTINGS
# pipelines/scsi.mk: the self-consistency diagnostic's settings
CHECK_FEATURES=$(CHECK_FEATURES)
CHECK_GROUPS=$(CHECK_GROUPS)
CHECK_BANDWIDTH=$(CHECK_BANDWIDTH)
endef
ifeq ($(CHECK)$(DRY_RUN),1)
ifneq ($(file <$(CK)),$(CHECK_SETTINGS))
$(file >$(CK),$(CHECK_SETTINGS))
endif
endif
endif

# ---- the commands ------------------------------------------------------

# seed STAGE: the seed of stage STAGE of iteration $i (a shell variable).
seed = $$(( $(SEED) * 1000000 + i * 1000 + $(1) ))

# The observations of iteration $i, on standard output.
ifeq ($(filter-out 0,$(PER_ITER)),)
select = $(T)tzcat -q -d x0 $(OBS)
else
select = $(T)tzshuf -q --seed $(call seed,1) -c $(PER_ITER) $(OBS) | $(T)tzcat -q -d x0
endif

PUSHBACK = $(T)pushback -q $(THR) --steps $(ODE_STEPS) --method $(METHOD) \
  $(if $(filter 1,$(SDE)),--sde) $(if $(filter 1,$(RAW)),--raw)
SIM_ARGS = $(if $(SIM_EXEC),--exec "$$SIM_EXEC" --timeout $(SIM_TIMEOUT),'$(SIM)')
SIMULATE = $(T)simulate -q $(THR) -K $(RESAMPLES) $(SIM_ARGS)
# si-train, or with MPIRUN si-train-mpi on its processes; --shards unless 1.
TRAIN = $(if $(MPIRUN),$(MPIRUN) $(T)si-train-mpi,$(T)si-train) \
  $(if $(filter-out 1,$(SHARDS)),--shards $(SHARDS))
# Step 3's renaming of the observations' fields in the candidates $<
# (tzcat options, into the shell's $rename): x1 to y, every other field f
# but the candidate x0 to y_f: the side fields of COND, any other field
# the simulator makes anew for x1, and whatever rides along.
RENAME = rename=$$($(T)tzinfo -b $< | awk 'NR > 1 && $$1 != "x0" { \
  printf " -R %s=%s", $$1, ($$1 == "x1" ? "y" : "y_" $$1) }')
NEW_MODEL = --width $(WIDTH) --hidden $(HIDDEN) --temb $(TEMB) --lr $(LR) \
  --warmup $(WARMUP) --decay-steps $(DECAY) --weight-decay $(WEIGHT_DECAY) \
  --clip $(CLIP) --ema $(EMA) --gamma $(GAMMA) $(if $(filter 1,$(COMBINED)),--combined) \
  $(if $(COND),--cond $(COND)) $(NET)

# $(call sharded,COMMAND): with MPIRUN, COMMAND on each of its processes,
# reading $@.tmp.in.tz with --shard RANK/SIZE (Open MPI's names for them,
# or MPICH's) and writing $@.tmp.shard.RANK, then the shards joined in
# order into $@.  In the quoted script, make's $@ is the target and the
# shell's "$$@" the command's arguments.
sharded = $(MPIRUN) /bin/sh -c 'r=$${OMPI_COMM_WORLD_RANK:-$${PMI_RANK:?no MPI rank}}; \
    n=$${OMPI_COMM_WORLD_SIZE:-$$PMI_SIZE}; \
    exec "$$0" "$$@" --shard "$$r/$$n" -o "$$(printf %s.tmp.shard.%05d "$@" "$$r")"' \
  $(1) $@.tmp.in.tz; \
  $(T)tzcat -q $@.tmp.shard.* -o $@; rm -f $@.tmp.in.tz $@.tmp.shard.*

# The commands are shown with V=1; else only the line of each iteration.
Q := $(if $(filter 1,$(V)),,@)

# Each recipe starts by removing the temporary files that a killed run of
# it may have left (the tools remove theirs unless killed by SIGKILL).
clear_tmp = rm -f $@.tmp.* $@.new $@.new.tmp.*

# ---- targets -----------------------------------------------------------

.PHONY: all clean oracle calibrate FORCE $(addprefix iter-,$(shell seq 0 $(ITERS)))
all: $(OUT)/final.tz $(if $(filter 1,$(CHECK)),$(if $(filter-out 000,$(LAST)),$(OUT)/consistency.png))

FORCE:

$(HP): $(if $(HP_CHANGED),FORCE)
	$(Q)mv -f $(HP_TMP) $@

# The iterations hold their intermediates as files, never deleted by make;
# with KEEP=0 they are deleted by hand, and missing, are not remade unless
# something they come from changed.
.SECONDARY: $(foreach n,$(ITER_NUMS),$(OUT)/iter-$(n)/candidates.tz $(OUT)/iter-$(n)/pairs.tz)

$(OUT)/iter-000/model.tz: $(or $(WARM),$(OBS)) $(HP)
	$(Q)mkdir -p $(@D); $(clear_tmp)
ifneq ($(WARM),)
	$(Q)cp $(WARM) $@.tmp.copy && mv -f $@.tmp.copy $@
else
	$(Q)$(T)tzcat -q --head 1 -f x1$(if $(COND),$(comma)$(COND)) -R x1=x0 $(OBS) | \
	  $(T)simulate -q awgn:sigma=0 | \
	  $(T)si-train -q $(THR) --steps 0 --seed $(SEED) $(NEW_MODEL) -o $@
endif
	@echo "scsi: iteration 0/$(ITERS): $(if $(WARM),$(WARM),an untrained model) -> $@" >&2

# Step 1 and 2: the observations of the iteration, carried back.
$(OUT)/iter-%/candidates.tz: $(OBS) $(HP)
	$(Q)mkdir -p $(@D); $(clear_tmp)
	$(Q)i=$$((10#$*)); prev=$$(printf %03d $$((i - 1))); \
	$(if $(MPIRUN),$(select) > $@.tmp.in.tz; \
	  $(call sharded,$(PUSHBACK) --seed $(call seed,2) -m $(OUT)/iter-$$prev/model.tz),\
	$(select) | $(PUSHBACK) --seed $(call seed,2) -m $(OUT)/iter-$$prev/model.tz -o $@)

# Step 3: y the real observation, x1 the simulated one.
$(OUT)/iter-%/pairs.tz: $(OUT)/iter-%/candidates.tz $(HP)
	$(Q)$(clear_tmp)
	$(Q)i=$$((10#$*)); $(RENAME); \
	$(if $(MPIRUN),$(T)tzcat -q $$rename $< -o $@.tmp.in.tz; \
	  $(call sharded,$(SIMULATE) --seed $(call seed,3)),\
	$(T)tzcat -q $$rename $< | $(SIMULATE) --seed $(call seed,3) -o $@)

# Step 4: the model, INNER steps further.  The log is renamed first and
# the model last, so that a model in place means a whole iteration.
$(OUT)/iter-%/model.tz: $(OUT)/iter-%/pairs.tz $(HP)
	$(Q)$(clear_tmp); rm -f $(@D)/loss.tsv.tmp
	$(Q)i=$$((10#$*)); prev=$$(printf %03d $$((i - 1))); SECONDS=0; \
	$(TRAIN) -q $(THR) -m $(OUT)/iter-$$prev/model.tz --steps $(INNER) \
	  --batch $(BATCH) --alpha $(ALPHA) --real y $(if $(COND),--real-prefix y_) --log $(@D)/loss.tsv.tmp \
	  --log-every $(LOG_EVERY) -o $@.new $<; \
	mv -f $(@D)/loss.tsv.tmp $(@D)/loss.tsv; mv -f $@.new $@; \
	loss=$$(awk -F'\t' 'NR > 1 { s += $$2; n++; last = $$2 } \
	  END { if (n) printf "loss %.4g (mean of %d logged steps), last %.4g", s / n, n, last }' \
	  $(@D)/loss.tsv); \
	echo "scsi: iteration $$i/$(ITERS): $$loss, $${SECONDS}s training -> $@" >&2; \
	if [ "$(KEEP)" = 0 ]; then \
	  rm -f $(OUT)/iter-$$prev/candidates.tz $(OUT)/iter-$$prev/pairs.tz; fi

# Each iteration's model needs the model before it.
$(foreach n,$(wordlist 2,999,$(ITER_NUMS)), \
  $(eval $(OUT)/iter-$(n)/candidates.tz: $(OUT)/iter-$(shell printf %03d $$((10#$(n) - 1)))/model.tz))

$(foreach n,$(ITER_NUMS),$(eval iter-$(shell echo $$((10#$(n)))): $(OUT)/iter-$(n)/model.tz))

# ---- the self-consistency diagnostic (man 7 scsi) ----------------------

# The kernel's width, once per run: CHECK_BANDWIDTH, or the median distance
# between two halves of the first 2000 observations.
$(OUT)/check-bandwidth.txt: $(OBS) $(CK)
	$(Q)$(clear_tmp)
	$(Q)$(if $(CHECK_BANDWIDTH),echo '$(CHECK_BANDWIDTH)' > $@.tmp.bw,\
	n=$$($(T)tzinfo $(OBS) | awk '/samples in batch records/ { print $$3 }'); \
	h=$$(( (n < 2000 ? n : 2000) / 2 )); \
	$(T)tzcat -q -f x1 --head $$h $(OBS) -o $@.tmp.a.tz; \
	$(T)tzcat -q -f x1 -r $$h:$$((2 * h)) $(OBS) -o $@.tmp.b.tz; \
	$(T)tzdist -q -s median --mmd-max 2 -k 1 $@.tmp.a.tz $@.tmp.b.tz -f x1 | \
	  awk -F'\t' '$$1 == "bandwidth" { m = $$2; printf "%.6g,%.6g,%.6g,%.6g\n", m, m / 2, m / 4, m / 8 }' \
	  > $@.tmp.bw; rm -f $@.tmp.a.tz $@.tmp.b.tz)
	$(Q)mv -f $@.tmp.bw $@

# The candidates of iteration i (made by model i-1) in two halves A, B: A's
# candidates simulated once more against B's real observations, and the
# floor, A's real observations against B's.
$(OUT)/iter-%/consistency.tsv: $(OUT)/iter-%/candidates.tz $(OUT)/check-bandwidth.txt $(CK)
	$(Q)$(clear_tmp)
	$(Q)i=$$((10#$*)); c=$<; t=$@.tmp; \
	n=$$($(T)tzinfo $$c | awk '/samples in batch records/ { print $$3 }'); h=$$((n / 2)); \
	g=$(CHECK_GROUPS); (( g <= h / 2 )) || g=$$((h / 2)); \
	if (( g < 2 )); then \
	  echo "scsi.mk: iteration $$i: $$n candidates are too few for the diagnostic (8 at least; or CHECK=0)" >&2; \
	  exit 2; fi; \
	$(T)tzcat -q -f x0 --head $$h $$c | \
	  $(T)simulate -q $(THR) --seed $(call seed,4) $(SIM_ARGS) -o $$t.a.tz; \
	$(T)tzcat -q -f x1 --head $$h $$c -o $$t.r.tz; \
	$(T)tzcat -q -f x1 -r $$h: $$c -o $$t.b.tz; \
	$(T)tzdist -q $(THR) --seed $(SEED) -F $(CHECK_FEATURES) --groups $$g \
	  -s "$$(cat $(OUT)/check-bandwidth.txt)" -f x1 --floor $$t.r.tz $$t.a.tz $$t.b.tz > $$t.d; \
	rm -f $$t.a.tz $$t.r.tz $$t.b.tz; \
	awk -F'\t' -v i=$$i -v h=$$h '{ v[$$1] = $$2 } END { \
	  print "iteration\tmodel\tmmd2\tmmd2_se\tfloor\tfloor_se\texcess\texcess_se\tn"; \
	  printf "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", i, i - 1, v["mmd2"], v["mmd2_se"], \
	    v["floor"], v["floor_se"], v["excess"], v["excess_se"], h }' $$t.d > $$t.tsv; \
	rm -f $$t.d; mv -f $$t.tsv $@

# Every iteration's diagnostic in one table and plot, and the verdict on
# the last three iterations (or fewer).  The alarm rule, fixed in scsi(7)
# before any experiment: their mean excess over the floor above 3 times
# the root mean square of its standard errors.
$(OUT)/consistency.tsv: $(foreach n,$(wordlist 2,999,$(ITER_NUMS)),$(OUT)/iter-$(n)/consistency.tsv)
	$(Q)$(clear_tmp); rm -f $(OUT)/verdict.tsv.tmp
	$(Q)awk 'FNR > 1 || NR == 1' $^ > $@.tmp.all
	$(Q)awk -F'\t' 'NR > 1 { n++; e[n] = $$7; v[n] = $$8 * $$8; m = $$3; f = $$5 } \
	  END { k = n < 3 ? n : 3; for (j = n - k + 1; j <= n; j++) { s += e[j]; w += v[j] } \
	    s /= k; w = sqrt(w / k); bad = s > 3 * w; \
	    printf "excess\texcess_se\titerations\tverdict\n%.6g\t%.6g\t%d\t%s\n", s, w, k, \
	      (bad ? "alarm" : "consistent") > "$(OUT)/verdict.tsv.tmp"; \
	    printf "scsi: self-consistency: MMD^2 %.3g against the floor %.3g at the last iteration; ", m, f > "/dev/stderr"; \
	    if (bad) printf "the last %d are %.3g above the floor, %.1f times its error: the simulated observations do not match the real ones; check the simulator (man 7 scsi, SELF-CONSISTENCY)\n", k, s, s / w > "/dev/stderr"; \
	    else printf "the last %d are within 3 errors of the floor\n", k > "/dev/stderr" }' $@.tmp.all
	$(Q)mv -f $(OUT)/verdict.tsv.tmp $(OUT)/verdict.tsv && mv -f $@.tmp.all $@

# Calibration: the loop once per simulator of CALIBRATE, each in
# $(OUT)/calibrate/K (K = 1, 2, ... in the list's order; every other
# setting as given), then $(OUT)/calibration.tsv: each one's verdict, and
# on standard error the one of least final excess and the range the
# verdict calls consistent (man 7 scsi, CALIBRATION).
calibrate: $(OUT)/calibration.tsv

$(OUT)/calibration.tsv: $(OBS) FORCE
	$(Q)$(if $(strip $(CALIBRATE)),,echo "scsi.mk: the target calibrate needs CALIBRATE='SPEC SPEC ...'" >&2; exit 2;) \
	  $(if $(filter 1,$(CHECK)),,echo "scsi.mk: the target calibrate needs CHECK=1" >&2; exit 2;) $(clear_tmp)
	$(Q)mkdir -p $(OUT); k=0; printf 'sim\texcess\texcess_se\titerations\tverdict\n' > $@.tmp.cal; \
	for s in $(CALIBRATE); do k=$$((k + 1)); \
	  $(MAKE) -s -f $(SCSI_MK) SIM="$$s" OUT=$(OUT)/calibrate/$$k CALIBRATE= all 2> $(OUT)/calibrate-$$k.log || \
	    { cat $(OUT)/calibrate-$$k.log >&2; exit 2; }; \
	  printf '%s\t%s\n' "$$s" "$$(tail -1 $(OUT)/calibrate/$$k/verdict.tsv)" >> $@.tmp.cal; \
	  echo "scsi: calibrate: $$s: $$(tail -1 $(OUT)/calibrate/$$k/verdict.tsv | cut -f1,2,4 | tr '\t' ' ')" >&2; \
	done; mv -f $@.tmp.cal $@
	$(Q)awk -F'\t' 'NR > 1 { if (b == "" || $$2 < be) { b = $$1; be = $$2 } if ($$5 == "consistent") { c = c sep $$1; sep = " " } } \
	  END { printf "scsi: calibrate: least excess with %s; consistent: %s\n", b, (c == "" ? "none" : c) > "/dev/stderr" }' $@

$(OUT)/consistency.png: $(OUT)/consistency.tsv
	$(Q)$(clear_tmp)
	$(Q)$(T)tzplot lines -q -x iteration -y mmd2,floor \
	  --title "self-consistency: MMD^2 of F(T(y)) and y, and the floor (y against y)" -o $@ $<

ifeq ($(CHECK),1)
# With KEEP=0 the candidates of iteration i-1 go once iteration i is done:
# their diagnostic first.
$(foreach n,$(wordlist 3,999,$(ITER_NUMS)), \
  $(eval $(OUT)/iter-$(n)/model.tz: | $(OUT)/iter-$(shell printf %03d $$((10#$(n) - 1)))/consistency.tsv))
endif

# The SI-Oracle: the loop's network, optimiser and step count on clean pairs.
oracle: $(OUT)/oracle.tz

$(OUT)/oracle.tz: $(CLEAN) $(HP)
	$(Q)$(if $(CLEAN),,echo "scsi.mk: the target oracle needs CLEAN=FILE" >&2; exit 2;) $(clear_tmp)
	$(Q)SECONDS=0; $(T)simulate -q $(THR) -K $(ORACLE_K) --seed $$(( $(SEED) * 1000000 + 999999 )) \
	  $(SIM_ARGS) $(CLEAN) $(if $(MPIRUN),-o $@.tmp.pairs.tz;,|) \
	  $(TRAIN) -q $(THR) --steps $$(( $(ITERS) * $(INNER) )) --batch $(BATCH) --seed $(SEED) \
	  $(NEW_MODEL) -o $@ $(if $(MPIRUN),$@.tmp.pairs.tz; rm -f $@.tmp.pairs.tz); \
	echo "scsi: the SI-Oracle, $$(( $(ITERS) * $(INNER) )) steps on clean pairs of $(CLEAN), $${SECONDS}s -> $@" >&2

# final.tz links to the last model; it is remade when it links elsewhere
# (after a change of ITERS) or the last model is newer.
$(OUT)/final.tz: $(OUT)/iter-$(LAST)/model.tz $(if $(filter-out iter-$(LAST)/model.tz,$(shell readlink $(OUT)/final.tz 2>/dev/null)),FORCE)
	$(Q)ln -sfn iter-$(LAST)/model.tz $@.tmp.link && mv -fT $@.tmp.link $@

clean:
	$(Q)rm -rf $(OUT)/iter-[0-9][0-9][0-9] $(OUT)/hparams.txt $(OUT)/hparams.txt.tmp.* $(OUT)/final.tz $(OUT)/final.tz.tmp.* \
	  $(OUT)/check.txt $(OUT)/check-bandwidth.txt* $(OUT)/consistency.tsv* $(OUT)/consistency.png* \
	  $(OUT)/verdict.tsv* $(OUT)/calibrate $(OUT)/calibrate-*.log $(OUT)/calibration.tsv*
	$(Q)rmdir $(OUT) 2>/dev/null || true
