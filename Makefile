# Makefile - the SCSI toolkit.  `make` builds bin/; `make check` runs every
# test; `make install PREFIX=...`; `make SAN=1 check` is the sanitizer run;
# `make classifier` trains fid's classifier.  With Open MPI's mpicc on the
# PATH, bin/si-train-mpi too (MPI=0: not).
# `make deps` installs what the build and the demo need, `make test-deps`
# that and what the tests need (scripts/install-deps).  See README.md.

CC ?= cc
PREFIX ?= /usr/local
OPT ?= -O3
CFLAGS ?= -g
CFLAGS += $(OPT) -fno-math-errno -std=c11 -Wall -Wextra -pedantic -Wshadow -Wno-unused-parameter \
          -D_DEFAULT_SOURCE -Ilibcommon -I. $(shell pkg-config --cflags openblas 2>/dev/null)
LDLIBS += $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lzstd -lpng -ljpeg -lz -lm -lpthread

ifeq ($(SAN),1)
  BUILD := build/san
  CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
  BIN := $(BUILD)/bin
else
  BUILD := build/rel
  BIN := bin
endif

# libcommon/mpi/ is the MPI build's alone (below).
LIB_SRC := $(filter-out libcommon/mpi/%,$(wildcard libcommon/*/*.c)) $(wildcard formats/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB := $(BUILD)/libscsi.a
TOOLS := $(basename $(notdir $(wildcard tools/*.c)))
TOOL_BINS := $(addprefix $(BIN)/,$(TOOLS))
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/unit-tests
HEADERS := $(wildcard libcommon/*/*.h) $(wildcard formats/*.h)
EXAMPLES := $(BUILD)/examples/sim_awgn
TEST_BINS := $(BUILD)/nn-dump $(BUILD)/layer-dump $(BUILD)/unet-dump $(BUILD)/cnn-dump \
             $(BUILD)/bench-nn

# The MPI build, optional: when mpicc (Open MPI's, Debian's openmpi-bin and
# libopenmpi-dev) is found, bin/si-train-mpi, data-parallel si-train under
# mpirun (si-train(1), MPI).  Only the tool, with SCSI_MPI, and
# libcommon/mpi/ go through mpicc; the library is the same.  Not under
# SAN=1: Open MPI's own allocations would fail the leak check.
MPICC ?= mpicc
ifneq ($(MPI),0)
ifneq ($(SAN),1)
HAVE_MPI := $(shell command -v $(MPICC) 2>/dev/null)
endif
endif
MPI_TOOLS := $(if $(HAVE_MPI),si-train-mpi)
MPI_BINS := $(addprefix $(BIN)/,$(MPI_TOOLS))

.PHONY: all check unit bats layers deps test-deps depcheck install clean bench fuzz \
        demo sanitize experiments classifier
.DELETE_ON_ERROR:
.SECONDARY:

all: $(TOOL_BINS) $(EXAMPLES) $(MPI_BINS)

$(BUILD)/obj/%.o: %.c $(HEADERS) | depcheck
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/obj-mpi/%.o: %.c $(HEADERS) | depcheck
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) -DSCSI_MPI -c -o $@ $<

$(BIN)/%-mpi: $(BUILD)/obj-mpi/tools/%.o $(BUILD)/obj-mpi/libcommon/mpi/ranks.o $(LIB)
	@mkdir -p $(dir $@)
	$(MPICC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/nn-dump: $(BUILD)/obj/tests/torch/nn_dump.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/layer-dump: $(BUILD)/obj/tests/torch/layer_dump.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unet-dump: $(BUILD)/obj/tests/torch/unet_dump.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cnn-dump: $(BUILD)/obj/tests/torch/cnn_dump.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT_BIN): $(patsubst %.c,$(BUILD)/obj/%.o,$(UNIT_SRC)) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Before anything is compiled, once per make: the compiler and the libraries
# (pkg-config, a few milliseconds).  If one is missing, a message naming it
# and the command that installs it, rather than a compiler error.
# DEPCHECK=0 skips it (libraries without pkg-config files).
depcheck:
ifneq ($(DEPCHECK),0)
	@scripts/install-deps --check-build $(firstword $(CC))
endif

# Install the Debian packages, if missing: deps those to build and run the
# demo (the C toolchain, the libraries, the data set, man); test-deps those
# and bats, NumPy, SciPy and PyTorch, which only the tests use.
deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --tests

unit: $(UNIT_BIN)
	$(UNIT_BIN)

bats: all $(EXAMPLES) $(TEST_BINS)
	SCSI_BIN=$(abspath $(BIN)) SCSI_EXAMPLES=$(abspath $(BUILD)/examples) \
	  SCSI_TEST_BIN=$(abspath $(BUILD)) scripts/run-bats tests

# No library file includes a layer above its own (libcommon/README.md).
layers:
	scripts/check-layers

check: test-deps
	@$(MAKE) --no-print-directory layers all unit
	@$(MAKE) --no-print-directory bats

sanitize:
	@$(MAKE) --no-print-directory SAN=1 check

$(BUILD)/bench-codec: $(BUILD)/obj/tests/bench/bench_codec.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench-nn: $(BUILD)/obj/tests/bench/bench_nn.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: test-deps all $(BUILD)/bench-codec $(BUILD)/bench-nn
	BENCH_CODEC=$(BUILD)/bench-codec SCSI_BIN=$(abspath $(BIN)) scripts/bench-codec
	SCSI_BIN=$(abspath $(BIN)) SCSI_EXAMPLES=$(abspath $(BUILD)/examples) scripts/bench-fwd
	BENCH_NN=$(BUILD)/bench-nn SCSI_BIN=$(abspath $(BIN)) scripts/bench-nn

FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz $(FUZZ_SECONDS)

demo: deps
	@$(MAKE) --no-print-directory all
	scripts/demo

# The classifier of fid's features (fid --classifier): trained from the
# Debian data set into build/classifier/, deterministically; its test
# accuracy printed and in results/classifier/report.md.
classifier: deps
	@$(MAKE) --no-print-directory all
	scripts/classifier

# Each writes results/NAME/ (report.md, metrics.tsv); QUICK=1 for the
# few-minute variants that tests/experiments.bats runs.
EXPERIMENTS := toy2d gaussian restoration jpeg inner-steps generation diagnostic tilt \
               tilt-inpaint spectra
experiments: $(addprefix experiment-,$(EXPERIMENTS))
experiment-%: test-deps all
	scripts/exp-$*

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	           $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
	           $(DESTDIR)$(PREFIX)/share/scsi/pipelines
	install -m 755 $(TOOL_BINS) $(MPI_BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 man/man5/*.5 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 man/man7/*.7 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 644 pipelines/*.mk $(DESTDIR)$(PREFIX)/share/scsi/pipelines

clean:
	rm -rf build bin
