# Vigil build.
#   make            build the BPF objects, skeletons and build/bin/{vigil-probe,vigil-collector,vigilctl}
#   make deps       install the Debian packages needed (apt-get, idempotent)
#   make test       unit tests (ASan/UBSan) and integration tests; needs root
#   make check      the unit tests only; any user, installs nothing
#   make demo       boot two tiny VMs, run the collector and a probe, show vigilctl status
#   make guest      build the tiny test guest (Debian kernel + busybox initramfs)
#   make bench      cost per event of the kernel programs, next to empty programs,
#                   and the SLA check per VM per tick (make bench-sla alone)
#   make vmlinux    regenerate vmlinux/vmlinux.h from the running kernel's BTF
#   make clean

# V=1 shows full command lines.
Q        := $(if $(V),,@)
CC       ?= gcc
CLANG    ?= clang
# Debian installs bpftool in /usr/sbin, which an ordinary user's PATH lacks.
BPFTOOL  ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
BUILD    := build
WERROR   ?= -Werror

WARNINGS := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes
PKGS     := libbpf sqlite3 libprotobuf-c json-c libvirt libxml-2.0 libconfig libzstd
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -MMD -MP \
            -I$(BUILD)/gen -I$(BUILD)/bpf -Icommon -Ibpf -Iuserspace -Icollector -Icli \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnng -lcsv -lpthread -lm
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror -Ivmlinux -Ibpf

BPF_SRC   := $(wildcard bpf/*.bpf.c)
BPF_OBJ   := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRC))
BPF_SKEL  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRC))

GEN_SRC   := $(BUILD)/gen/vigil.pb-c.c $(BUILD)/gen/migrations.c $(BUILD)/gen/catalogue.c
MIGRATIONS := $(sort $(wildcard schema/[0-9][0-9][0-9]_*.sql))
# The default SLA network, embedded like the migrations.
GEN_SRC   += $(BUILD)/gen/sla_default_net.c

COMMON_SRC    := $(wildcard common/*.c)
PROBE_LIB_SRC := $(filter-out userspace/main.c,$(wildcard userspace/*.c))
COLL_LIB_SRC  := $(filter-out collector/main.c,$(wildcard collector/*.c))
CLI_LIB_SRC   := $(filter-out cli/main.c,$(wildcard cli/*.c))

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(patsubst $(BUILD)/gen/%,gen/%,$(2)))

# Two object trees: "rel" for the shipped binaries, "san" (ASan+UBSan) for tests.
REL_COMMON := $(call obj,rel,$(COMMON_SRC) $(GEN_SRC))
REL_PROBE  := $(call obj,rel,$(PROBE_LIB_SRC))
REL_COLL   := $(call obj,rel,$(COLL_LIB_SRC))
REL_CLI    := $(call obj,rel,$(CLI_LIB_SRC))
SAN_COMMON := $(call obj,san,$(COMMON_SRC) $(GEN_SRC))
SAN_PROBE  := $(call obj,san,$(PROBE_LIB_SRC))
SAN_COLL   := $(call obj,san,$(COLL_LIB_SRC))
SAN_CLI    := $(call obj,san,$(CLI_LIB_SRC))

BINS := $(BUILD)/bin/vigil-probe $(BUILD)/bin/vigil-collector $(BUILD)/bin/vigilctl

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(HELPER_SRC))

.PHONY: all deps test test-unit test-integration demo guest bench vmlinux clean
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BINS)

deps:
	@bash scripts/deps.sh

# --- generated sources ------------------------------------------------------
$(BUILD)/gen/vigil.pb-c.c $(BUILD)/gen/vigil.pb-c.h: schema/vigil.proto
	@mkdir -p $(BUILD)/gen
	@echo '  PROTOC  $<'
	$(Q)protoc-c --c_out=$(BUILD)/gen --proto_path=schema $<

$(BUILD)/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(BUILD)/gen
	@echo '  EMBED   $@'
	$(Q)bash scripts/embed-migrations.sh $(MIGRATIONS) > $@

$(BUILD)/gen/catalogue.c: schema/metrics.tsv scripts/embed-catalogue.sh
	@mkdir -p $(BUILD)/gen
	@echo '  EMBED   $@'
	$(Q)bash scripts/embed-catalogue.sh $< > $@

$(BUILD)/gen/sla_default_net.c: schema/sla/default.net scripts/embed-sla-net.sh
	@mkdir -p $(BUILD)/gen
	@echo '  EMBED   $@'
	$(Q)bash scripts/embed-sla-net.sh $< > $@

# --- kernel programs --------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/vmlinux.h
	@mkdir -p $(BUILD)/bpf
	@echo '  BPF     $<'
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	@echo '  SKEL    $@'
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# --- userspace objects ------------------------------------------------------
# Every object waits for the generated headers and skeletons.
GEN_HDRS := $(BUILD)/gen/vigil.pb-c.h $(BPF_SKEL)

$(BUILD)/rel/gen/%.o: $(BUILD)/gen/%.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -c $< -o $@
$(BUILD)/san/gen/%.o: $(BUILD)/gen/%.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Wno-missing-prototypes -c $< -o $@
$(BUILD)/rel/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/san/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -c $< -o $@

# --- binaries ---------------------------------------------------------------
$(BUILD)/bin/vigil-probe: $(BUILD)/rel/userspace/main.o $(REL_PROBE) $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/vigil-collector: $(BUILD)/rel/collector/main.o $(REL_COLL) $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/vigilctl: $(BUILD)/rel/cli/main.o $(REL_CLI) $(REL_COLL) $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# --- tests ------------------------------------------------------------------
$(BUILD)/tests/test_%: tests/unit/test_%.c $(SAN_PROBE) $(SAN_COLL) $(SAN_CLI) $(SAN_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -Wno-missing-prototypes -o $@ $(filter %.c %.o,$^) $(LDLIBS) -lcmocka

# Test drivers that link a loader (and through it the skeleton and libbpf);
# the other helpers stand alone.
$(BUILD)/tests/kvmcount: tests/helpers/kvmcount.c $(BUILD)/rel/userspace/kvm_exit.o $(BUILD)/rel/userspace/map_util.o
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ $(LDLIBS)

# netcount drives the network loader, so it links the loader's objects
# (the skeleton is embedded in net_probe.o) rather than being one file.
NETCOUNT_OBJ := $(call obj,rel,userspace/net_probe.c userspace/tc_netlink.c)
$(BUILD)/tests/netcount: tests/helpers/netcount.c $(NETCOUNT_OBJ)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ $(LDLIBS)

# uring_io drives io_uring through liburing (liburing-dev); nothing else
# links it.
$(BUILD)/tests/uring_io: tests/helpers/uring_io.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)

# The crash tests' sender speaks the wire format, so it links the common code.
$(BUILD)/tests/ack_sender: tests/helpers/ack_sender.c $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< -lpthread

# --- tiny guest for VM tests and the demo ---------------------------------------
GUEST := $(BUILD)/guest
$(GUEST)/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@ (static, runs in the guest)'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -static -o $@ $< -lpthread

guest: $(GUEST)/burn $(GUEST)/rawsend
	@bash scripts/vm/build-guest.sh $(GUEST) $(GUEST)/burn $(GUEST)/rawsend

# --- benchmarks ---------------------------------------------------------------
# The io_uring disk programs' cost (bench/uring_cost.c, linked with
# liburing) is one more part of make bench.
.PHONY: bench-uring
bench: bench-uring
bench-uring: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/uring_cost
	@$(BUILD)/bench/uring_cost

$(BUILD)/bench/uring_cost: bench/uring_cost.c $(BUILD)/rel/userspace/pid_bitmap.o $(BUILD)/bpf/disk_io.skel.h $(BUILD)/bench/empty_uring.skel.h
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -I$(BUILD)/bench -Wno-missing-prototypes -o $@ $(filter %.c %.o,$^) $(LDLIBS) \
		$(shell pkg-config --libs liburing 2>/dev/null || echo -luring)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(BUILD)/bench
	@echo '  BPF     $<'
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	@echo '  SKEL    $@'
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(BUILD)/bench/sched_cost: bench/sched_cost.c $(REL_PROBE) $(REL_COMMON) $(BUILD)/bpf/cpu_sched.skel.h \
			   $(BUILD)/bpf/disk_io.skel.h $(BUILD)/bench/empty_sched.skel.h
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -I$(BUILD)/bench -Wno-missing-prototypes -o $@ $(filter %.c %.o,$^) $(LDLIBS)

$(BUILD)/bench/tc_cost: bench/tc_cost.c $(BUILD)/bpf/net_tc.skel.h $(BUILD)/bench/empty_tc.skel.h
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -I$(BUILD)/bench -Wno-missing-prototypes -o $@ $(filter %.c %.o,$^) $(LDLIBS)

# The SLA check's cost per VM per tick (needs no root); run as part of bench.
$(BUILD)/bench/sla_eval: bench/sla_eval.c $(REL_COLL) $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ $(LDLIBS)

.PHONY: bench-sla
bench-sla: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/sla_eval
	@$(BUILD)/bench/sla_eval
bench: bench-sla

# The interval store's own load generator (bench/store_load.sh).
$(BUILD)/bench/store_load: bench/store_load.c $(call obj,rel,bench/trace.c) $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $^ $(LDLIBS)

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/sched_cost $(BUILD)/bench/tc_cost
	@$(BUILD)/bench/sched_cost
	@$(BUILD)/bench/tc_cost

test-unit: $(UNIT_BINS)
test-integration: $(BINS) $(HELPER_BINS)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(HELPER_BINS) guest
	@bash tests/run.sh

# The unit tests alone, as any user: no deps (no apt, no root).
.PHONY: check
check: $(UNIT_BINS)
	@bash tests/run.sh --unit

demo: deps
	@$(MAKE) --no-print-directory all $(HELPER_BINS) guest
	@bash scripts/demo.sh $(DEMO_ARGS)

# --- store benchmark ---------------------------------------------------------
# The collector end to end: a trace generator, simulated probes over nng and
# a driver that runs real collectors (docs/benchmarks.md). Part of make
# bench; make bench-store runs it alone (no root). BENCH_FULL=1 uses the
# issue's reference trace (1 hour of 1 s intervals, 108 M samples).
STORE_BENCH_SRC := $(addprefix bench/,store_bench.c trace.c sim_probes.c sqlite_baseline.c bench_proc.c \
		     bench_stats.c bench_report.c bench_ingest.c bench_queries.c bench_scale.c)
STORE_BENCH_ARGS ?= $(if $(BENCH_FULL),--full)
$(BUILD)/bench/store_bench: $(call obj,rel,$(STORE_BENCH_SRC)) $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The generator's unit test links it.
$(BUILD)/tests/test_trace: CFLAGS += -Ibench
$(BUILD)/tests/test_trace: $(BUILD)/san/bench/trace.o

.PHONY: bench-store
bench-store: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/store_bench $(BINS)
	@$(BUILD)/bench/store_bench --bin $(BUILD)/bin $(STORE_BENCH_ARGS)
bench: bench-store

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
