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

# V=1 shows full command lines. CPPFLAGS, CFLAGS and LDFLAGS from the
# environment or the command line (dpkg-buildflags, say) are honoured; the
# project's own flags are added to them.
Q        := $(if $(V),,@)
CC       ?= gcc
AR       ?= ar
CLANG    ?= clang
# Debian installs bpftool in /usr/sbin, which an ordinary user's PATH lacks.
BPFTOOL  ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
BUILD    := build
WERROR   ?= -Werror

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share
DOCDIR     ?= $(DATADIR)/doc/vigil
MANDIR     ?= $(DATADIR)/man
SYSCONFDIR ?= /etc

WARNINGS := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes
PKGS     := libbpf sqlite3 libprotobuf-c json-c libvirt libxml-2.0 libconfig libzstd
CFLAGS   ?= -O2 -g
# Hardening, as Debian's dpkg-buildflags gives it: fortified libc calls,
# stack protector, read-only relocations bound at start.
HARDEN_CPPFLAGS := -D_FORTIFY_SOURCE=2
HARDEN_CFLAGS   := -fstack-protector-strong -Wformat -Werror=format-security
HARDEN_LDFLAGS  := -Wl,-z,relro -Wl,-z,now
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
VIGIL_CPPFLAGS = -D_GNU_SOURCE -I$(BUILD)/gen $(LAYER_INC) $(PKG_CFLAGS) $(HARDEN_CPPFLAGS) $(CPPFLAGS)
VIGIL_CFLAGS   = -std=gnu11 $(WARNINGS) -MMD -MP $(HARDEN_CFLAGS) $(CFLAGS)
VIGIL_LDFLAGS  = $(HARDEN_LDFLAGS) $(LDFLAGS)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnng -lcsv -lpthread -lm
# The sanitizer build undoes _FORTIFY_SOURCE: ASan checks those calls itself.
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -U_FORTIFY_SOURCE

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror -Ivmlinux -Ibpf

BPF_SRC   := $(wildcard bpf/*.bpf.c)
BPF_OBJ   := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRC))
BPF_SKEL  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRC))

MIGRATIONS := $(sort $(wildcard schema/[0-9][0-9][0-9]_*.sql))

# --- layers -------------------------------------------------------------------
# Each layer is a folder and a static library; a layer includes its own
# headers and those of the layers it is built on, nothing above
# (docs/architecture.md; make check-layers proves it from the sources).
#   common -> store -> sla -> query -> live -> server -> vigil-collector
#   common -> store -> sla -> query -> vigilctl
#   common -> probe (userspace/, with bpf/ skeletons) -> vigil-probe
LAYERS := common store sla query live server probe

common_DIR := common
store_DIR  := collector/store
sla_DIR    := collector/sla
query_DIR  := collector/query
live_DIR   := collector/live
server_DIR := collector/server
probe_DIR  := userspace
app_DIR    := collector
cli_DIR    := cli

common_DEPS :=
store_DEPS  := common
sla_DEPS    := store common
query_DEPS  := sla store common
live_DEPS   := query sla store common
server_DEPS := live query sla store common
probe_DEPS  := common
app_DEPS    := server live query sla store common
cli_DEPS    := query sla store common

common_GEN := $(BUILD)/gen/vigil.pb-c.c $(BUILD)/gen/catalogue.c
store_GEN  := $(BUILD)/gen/migrations.c
sla_GEN    := $(BUILD)/gen/sla_default_net.c

layer_src = $(filter-out %/main.c,$(wildcard $($(1)_DIR)/*.c))
layer_inc = $(addprefix -I,$(foreach l,$(1) $($(1)_DEPS),$($(l)_DIR)))
obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(patsubst $(BUILD)/gen/%,gen/%,$(2)))
# lib VARIANT LAYER: the layer's archive in the rel or san tree.
lib = $(BUILD)/$(1)/lib/libvigil_$(2).a
# libs VARIANT LAYER: the layer's archive and those below it, in link order.
libs = $(foreach l,$(2) $($(2)_DEPS),$(call lib,$(1),$(l)))

# Include paths per folder (the layer's and those below it).
probe_INC := $(call layer_inc,probe) -Ibpf -I$(BUILD)/bpf
app_INC   := -Icollector $(foreach l,$(app_DEPS),-I$($(l)_DIR))
cli_INC   := -Icli $(foreach l,$(cli_DEPS),-I$($(l)_DIR))
$(foreach l,common store sla query live server,$(eval $(l)_INC := $(call layer_inc,$(l))))

define layer_rules
$(1)_SRC := $$(call layer_src,$(1)) $$($(1)_GEN)
$$(call lib,rel,$(1)): $$(call obj,rel,$$($(1)_SRC))
$$(call lib,san,$(1)): $$(call obj,san,$$($(1)_SRC))
$$(foreach v,rel san,$(BUILD)/$$(v)/$$($(1)_DIR)/%.o): LAYER_INC = $$($(1)_INC)
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rules,$(l))))
$(foreach v,rel san,$(BUILD)/$(v)/gen/%.o): LAYER_INC = $(common_INC) $(store_INC) $(sla_INC)
$(foreach v,rel san,$(BUILD)/$(v)/collector/%.o): LAYER_INC = $(app_INC)
$(foreach v,rel san,$(BUILD)/$(v)/cli/%.o): LAYER_INC = $(cli_INC)

CLI_LIB_SRC  := $(filter-out cli/main.c,$(wildcard cli/*.c))
APP_LIB_SRC  := $(filter-out collector/main.c,$(wildcard collector/*.c))
REL_CLI      := $(call obj,rel,$(CLI_LIB_SRC))
REL_APP      := $(call obj,rel,$(APP_LIB_SRC))
REL_COMMON   := $(call lib,rel,common)
REL_PROBE    := $(call libs,rel,probe)

BINS := $(BUILD)/bin/vigil-probe $(BUILD)/bin/vigil-collector $(BUILD)/bin/vigilctl

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(HELPER_SRC))

.PHONY: all deps test test-unit test-integration check check-layers check-vigilctl-links demo guest bench vmlinux install clean
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BINS)

deps:
	@bash scripts/deps.sh

# The layering rule, checked from the sources (scripts/check-layers.sh),
# and the one-writer rule: no SQL write or read-write open outside the
# store's writer (scripts/check-writers.sh).
check-layers:
	@bash scripts/check-layers.sh
	@bash scripts/check-writers.sh

# vigilctl is a pure reader: no writer, engine, compaction, server or hook
# code in the binary (scripts/check-vigilctl-links.sh; also run by
# tests/integration/query_both_ways.sh).
check-vigilctl-links: $(BUILD)/bin/vigilctl
	@bash scripts/check-vigilctl-links.sh $<

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

# --- objects and libraries ------------------------------------------------------
# Every object waits for the generated headers and skeletons.
GEN_HDRS := $(BUILD)/gen/vigil.pb-c.h $(BPF_SKEL)
CC_REL = $(CC) $(VIGIL_CPPFLAGS) $(VIGIL_CFLAGS)
CC_SAN = $(CC) $(VIGIL_CPPFLAGS) $(VIGIL_CFLAGS) $(SANFLAGS)
# Objects outside the layers (tests, helpers, benchmarks) see every layer.
ALL_INC := -Icollector -Icli $(foreach l,$(LAYERS),-I$($(l)_DIR)) -Ibpf -I$(BUILD)/bpf

$(BUILD)/rel/gen/%.o: $(BUILD)/gen/%.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC_REL) -Wno-missing-prototypes -c $< -o $@
$(BUILD)/san/gen/%.o: $(BUILD)/gen/%.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC_SAN) -Wno-missing-prototypes -c $< -o $@
$(BUILD)/rel/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC_REL) -c $< -o $@
$(BUILD)/san/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC_SAN) -c $< -o $@
$(BUILD)/rel/bench/%.o $(BUILD)/san/bench/%.o: LAYER_INC = $(ALL_INC)

%.a:
	@mkdir -p $(dir $@)
	@echo '  AR      $@'
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# --- binaries ---------------------------------------------------------------
LINK = $(CC) $(VIGIL_CFLAGS) $(VIGIL_LDFLAGS)

$(BUILD)/bin/vigil-probe: $(BUILD)/rel/userspace/main.o $(call libs,rel,probe)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(LINK) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/vigil-collector: $(BUILD)/rel/collector/main.o $(REL_APP) $(foreach l,$(app_DEPS),$(call lib,rel,$(l)))
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(LINK) -o $@ $^ $(LDLIBS)
# vigilctl: the read side only (query, sla, store's reader, common).
$(BUILD)/bin/vigilctl: $(BUILD)/rel/cli/main.o $(REL_CLI) $(foreach l,$(cli_DEPS),$(call lib,rel,$(l)))
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(LINK) -o $@ $^ $(LDLIBS)

# --- tests ------------------------------------------------------------------
# Each unit test links the library it tests and those below it (TEST_LAYER,
# default common), under ASan and UBSan. A test of the probe's code or of a
# front end's arguments names its objects in TEST_OBJS.
TEST_LAYER_test_interval_store := query
# The dispatcher's test feeds a live engine for its SLA data and state.
TEST_LAYER_test_query_dispatch := live
TEST_LAYER_test_store          := query
TEST_LAYER_test_server         := server
TEST_LAYER_test_server_stats   := server
TEST_LAYER_test_sla_alerts     := live
TEST_LAYER_test_sla_avail      := sla
TEST_LAYER_test_sla_learn      := sla
TEST_LAYER_test_sla_net        := sla
TEST_LAYER_test_sla_thresholds := live
$(foreach t,cgroups counter_delta discovery disk_sampler exit_counts host_metrics kvm_exit net_probe sampler \
	thread_table,$(eval TEST_LAYER_test_$(t) := probe))
# Tests that build batches with the probe's builder take its object as a fixture.
BATCH_FIXTURE := $(BUILD)/san/userspace/batch.o
$(foreach t,query_dispatch server server_stats sla_alerts sla_thresholds store wire,\
	$(eval $(BUILD)/tests/test_$(t): TEST_OBJS += $(BATCH_FIXTURE)))
$(foreach t,query_dispatch server server_stats sla_alerts sla_thresholds store wire,\
	$(eval $(BUILD)/tests/test_$(t): $(BATCH_FIXTURE)))
# The argument parsers of the three front ends.
TEST_LAYER_test_args := server
ARGS_OBJS := $(call obj,san,userspace/probe_args.c $(CLI_LIB_SRC) $(APP_LIB_SRC))
$(BUILD)/tests/test_args: TEST_OBJS += $(ARGS_OBJS)
$(BUILD)/tests/test_args: $(ARGS_OBJS) $(call libs,san,probe)
$(BUILD)/tests/test_args: TEST_LIBS_EXTRA = $(call libs,san,probe)

test_libs = $(call libs,san,$(or $(TEST_LAYER_$(1)),common))
.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(call test_libs,test_$$*)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(VIGIL_CPPFLAGS) $(ALL_INC) -DVIGIL_TEST_DATA='"$(CURDIR)/tests/data"' $(VIGIL_CFLAGS) $(SANFLAGS) \
		$(VIGIL_LDFLAGS) -Wno-missing-prototypes \
		-o $@ $< $(TEST_OBJS) $(call test_libs,test_$*) $(TEST_LIBS_EXTRA) $(LDLIBS) -lcmocka

# Test drivers that link a loader (and through it the skeleton and libbpf);
# the other helpers stand alone.
HELPER_CC = $(CC) $(VIGIL_CPPFLAGS) $(ALL_INC) $(VIGIL_CFLAGS) $(VIGIL_LDFLAGS) -Wno-missing-prototypes
$(BUILD)/tests/kvmcount: tests/helpers/kvmcount.c $(REL_PROBE)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -o $@ $^ $(LDLIBS)

# netcount drives the network loader.
$(BUILD)/tests/netcount: tests/helpers/netcount.c $(REL_PROBE)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -o $@ $^ $(LDLIBS)

# uring_io drives io_uring through liburing (liburing-dev); nothing else
# links it.
$(BUILD)/tests/uring_io: tests/helpers/uring_io.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	$(Q)$(HELPER_CC) -o $@ $< $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)

# The crash tests' sender speaks the wire format, so it links the common code.
$(BUILD)/tests/ack_sender: tests/helpers/ack_sender.c $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@'
	$(Q)$(HELPER_CC) -o $@ $< -lpthread

# --- tiny guest for VM tests and the demo ---------------------------------------
GUEST := $(BUILD)/guest
$(GUEST)/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	@echo '  CC      $@ (static, runs in the guest)'
	$(Q)$(CC) $(VIGIL_CPPFLAGS) $(VIGIL_CFLAGS) -Wno-missing-prototypes -static -o $@ $< -lpthread

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

$(BUILD)/bench/uring_cost: bench/uring_cost.c $(REL_PROBE) $(BUILD)/bpf/disk_io.skel.h $(BUILD)/bench/empty_uring.skel.h
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -I$(BUILD)/bench -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS) \
		$(shell pkg-config --libs liburing 2>/dev/null || echo -luring)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(BUILD)/bench
	@echo '  BPF     $<'
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	@echo '  SKEL    $@'
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

$(BUILD)/bench/sched_cost: bench/sched_cost.c $(REL_PROBE) $(BUILD)/bpf/cpu_sched.skel.h \
			   $(BUILD)/bpf/disk_io.skel.h $(BUILD)/bench/empty_sched.skel.h
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -I$(BUILD)/bench -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

$(BUILD)/bench/tc_cost: bench/tc_cost.c $(BUILD)/bpf/net_tc.skel.h $(BUILD)/bench/empty_tc.skel.h
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -I$(BUILD)/bench -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

# The SLA check's cost per VM per tick (needs no root); run as part of bench.
$(BUILD)/bench/sla_eval: bench/sla_eval.c $(call libs,rel,live)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -o $@ $^ $(LDLIBS)

.PHONY: bench-sla
bench-sla: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/sla_eval
	@$(BUILD)/bench/sla_eval
bench: bench-sla

# The interval store's own load generator (bench/store_load.sh).
$(BUILD)/bench/store_load: bench/store_load.c $(call obj,rel,bench/trace.c) $(REL_COMMON)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(HELPER_CC) -o $@ $^ $(LDLIBS)

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
	$(Q)$(LINK) -o $@ $^ $(LDLIBS)

# The generator's unit test links it.
$(BUILD)/tests/test_trace: TEST_OBJS += -Ibench $(BUILD)/san/bench/trace.o
$(BUILD)/tests/test_trace: $(BUILD)/san/bench/trace.o

.PHONY: bench-store
bench-store: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/store_bench $(BINS)
	@$(BUILD)/bench/store_bench --bin $(BUILD)/bin $(STORE_BENCH_ARGS)
bench: bench-store

# --- install -------------------------------------------------------------------
# make install DESTDIR=... PREFIX=...: daemons in sbin, vigilctl in bin, the
# commented example config in /etc/vigil (an existing one is kept), the
# contract files (schema/) under share/vigil, the docs under share/doc/vigil.
install: $(BINS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/vigil \
		$(DESTDIR)$(DATADIR)/vigil/schema/sla $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(BUILD)/bin/vigil-probe $(BUILD)/bin/vigil-collector $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/bin/vigilctl $(DESTDIR)$(BINDIR)/
	install -m 0644 collector/vigil-collector.conf $(DESTDIR)$(DOCDIR)/examples/collector.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/vigil/collector.conf || \
		install -m 0644 collector/vigil-collector.conf $(DESTDIR)$(SYSCONFDIR)/vigil/collector.conf
	install -m 0644 schema/*.sql schema/*.proto schema/*.tsv $(DESTDIR)$(DATADIR)/vigil/schema/
	install -m 0644 schema/sla/* $(DESTDIR)$(DATADIR)/vigil/schema/sla/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
