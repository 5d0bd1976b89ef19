/* Loader and reader for bpf/kvm_exit.bpf.c, and exit reason names. */
#include "kvm_exit_loader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kvm_exit.h"
#include "kvm_exit.skel.h"
#include "bpf_loader.h"
#include "map_util.h"
#include "tracefs.h"

_Static_assert(KVM_EXIT_ISA_VMX == VIGIL_KVM_ISA_VMX && KVM_EXIT_ISA_SVM == VIGIL_KVM_ISA_SVM,
	       "the loader and the kernel program must agree on ISA values");

/* --- exit reason names ---------------------------------------------------- */

struct exit_name {
	uint32_t code;
	const char *name;
};

/* VMX basic exit reasons: VMX_EXIT_REASONS of arch/x86/include/uapi/asm/vmx.h
 * as of Linux 6.18, plus SEAMCALL (76), named since. */
static const struct exit_name vmx_exits[] = {
	{ 0, "exception_nmi" },
	{ 1, "external_interrupt" },
	{ 2, "triple_fault" },
	{ 3, "init_signal" },
	{ 4, "sipi_signal" },
	{ 7, "interrupt_window" },
	{ 8, "nmi_window" },
	{ 9, "task_switch" },
	{ 10, "cpuid" },
	{ 12, "hlt" },
	{ 13, "invd" },
	{ 14, "invlpg" },
	{ 15, "rdpmc" },
	{ 16, "rdtsc" },
	{ 18, "vmcall" },
	{ 19, "vmclear" },
	{ 20, "vmlaunch" },
	{ 21, "vmptrld" },
	{ 22, "vmptrst" },
	{ 23, "vmread" },
	{ 24, "vmresume" },
	{ 25, "vmwrite" },
	{ 26, "vmoff" },
	{ 27, "vmon" },
	{ 28, "cr_access" },
	{ 29, "dr_access" },
	{ 30, "io_instruction" },
	{ 31, "msr_read" },
	{ 32, "msr_write" },
	{ 33, "invalid_state" },
	{ 34, "msr_load_fail" },
	{ 36, "mwait_instruction" },
	{ 37, "monitor_trap_flag" },
	{ 39, "monitor_instruction" },
	{ 40, "pause_instruction" },
	{ 41, "mce_during_vmentry" },
	{ 43, "tpr_below_threshold" },
	{ 44, "apic_access" },
	{ 45, "eoi_induced" },
	{ 46, "gdtr_idtr" },
	{ 47, "ldtr_tr" },
	{ 48, "ept_violation" },
	{ 49, "ept_misconfig" },
	{ 50, "invept" },
	{ 51, "rdtscp" },
	{ 52, "preemption_timer" },
	{ 53, "invvpid" },
	{ 54, "wbinvd" },
	{ 55, "xsetbv" },
	{ 56, "apic_write" },
	{ 57, "rdrand" },
	{ 58, "invpcid" },
	{ 59, "vmfunc" },
	{ 60, "encls" },
	{ 61, "rdseed" },
	{ 62, "pml_full" },
	{ 63, "xsaves" },
	{ 64, "xrstors" },
	{ 67, "umwait" },
	{ 68, "tpause" },
	{ 74, "bus_lock" },
	{ 75, "notify" },
	{ 76, "seamcall" },
	{ 77, "tdcall" },
	{ 84, "msr_read_imm" },
	{ 85, "msr_write_imm" },
};

/* SVM exit codes: SVM_EXIT_REASONS of arch/x86/include/uapi/asm/svm.h
 * (Linux 6.18). The kernel spells the TR read and write exits "read_rt" and
 * "write_rt"; kept, so that the names match what perf and tracefs print. */
static const struct exit_name svm_exits[] = {
	{ 0x000, "read_cr0" },
	{ 0x002, "read_cr2" },
	{ 0x003, "read_cr3" },
	{ 0x004, "read_cr4" },
	{ 0x008, "read_cr8" },
	{ 0x010, "write_cr0" },
	{ 0x012, "write_cr2" },
	{ 0x013, "write_cr3" },
	{ 0x014, "write_cr4" },
	{ 0x018, "write_cr8" },
	{ 0x020, "read_dr0" },
	{ 0x021, "read_dr1" },
	{ 0x022, "read_dr2" },
	{ 0x023, "read_dr3" },
	{ 0x024, "read_dr4" },
	{ 0x025, "read_dr5" },
	{ 0x026, "read_dr6" },
	{ 0x027, "read_dr7" },
	{ 0x030, "write_dr0" },
	{ 0x031, "write_dr1" },
	{ 0x032, "write_dr2" },
	{ 0x033, "write_dr3" },
	{ 0x034, "write_dr4" },
	{ 0x035, "write_dr5" },
	{ 0x036, "write_dr6" },
	{ 0x037, "write_dr7" },
	/* Intercepted exceptions: 0x040 + vector. */
	{ 0x040 + 0, "de_excp" },
	{ 0x040 + 1, "db_excp" },
	{ 0x040 + 3, "bp_excp" },
	{ 0x040 + 4, "of_excp" },
	{ 0x040 + 5, "br_excp" },
	{ 0x040 + 6, "ud_excp" },
	{ 0x040 + 7, "nm_excp" },
	{ 0x040 + 8, "df_excp" },
	{ 0x040 + 10, "ts_excp" },
	{ 0x040 + 11, "np_excp" },
	{ 0x040 + 12, "ss_excp" },
	{ 0x040 + 13, "gp_excp" },
	{ 0x040 + 14, "pf_excp" },
	{ 0x040 + 16, "mf_excp" },
	{ 0x040 + 17, "ac_excp" },
	{ 0x040 + 18, "mc_excp" },
	{ 0x040 + 19, "xf_excp" },
	{ 0x060, "interrupt" },
	{ 0x061, "nmi" },
	{ 0x062, "smi" },
	{ 0x063, "init" },
	{ 0x064, "vintr" },
	{ 0x065, "cr0_sel_write" },
	{ 0x066, "read_idtr" },
	{ 0x067, "read_gdtr" },
	{ 0x068, "read_ldtr" },
	{ 0x069, "read_rt" },
	{ 0x06a, "write_idtr" },
	{ 0x06b, "write_gdtr" },
	{ 0x06c, "write_ldtr" },
	{ 0x06d, "write_rt" },
	{ 0x06e, "rdtsc" },
	{ 0x06f, "rdpmc" },
	{ 0x070, "pushf" },
	{ 0x071, "popf" },
	{ 0x072, "cpuid" },
	{ 0x073, "rsm" },
	{ 0x074, "iret" },
	{ 0x075, "swint" },
	{ 0x076, "invd" },
	{ 0x077, "pause" },
	{ 0x078, "hlt" },
	{ 0x079, "invlpg" },
	{ 0x07a, "invlpga" },
	{ 0x07b, "io" },
	{ 0x07c, "msr" },
	{ 0x07d, "task_switch" },
	{ 0x07e, "ferr_freeze" },
	{ 0x07f, "shutdown" },
	{ 0x080, "vmrun" },
	{ 0x081, "hypercall" },
	{ 0x082, "vmload" },
	{ 0x083, "vmsave" },
	{ 0x084, "stgi" },
	{ 0x085, "clgi" },
	{ 0x086, "skinit" },
	{ 0x087, "rdtscp" },
	{ 0x088, "icebp" },
	{ 0x089, "wbinvd" },
	{ 0x08a, "monitor" },
	{ 0x08b, "mwait" },
	{ 0x08d, "xsetbv" },
	{ 0x08f, "write_efer_trap" },
	{ 0x090, "write_cr0_trap" },
	{ 0x094, "write_cr4_trap" },
	{ 0x098, "write_cr8_trap" },
	{ 0x0a2, "invpcid" },
	{ 0x0a5, "buslock" },
	{ 0x0a6, "idle_halt" },
	{ 0x400, "npf" },
	{ 0x401, "avic_incomplete_ipi" },
	{ 0x402, "avic_unaccelerated_access" },
	{ 0x403, "vmgexit" },
	/* SEV-ES software-defined VMGEXIT events. */
	{ 0x80000001, "vmgexit_mmio_read" },
	{ 0x80000002, "vmgexit_mmio_write" },
	{ 0x80000003, "vmgexit_nmi_complete" },
	{ 0x80000004, "vmgexit_ap_hlt_loop" },
	{ 0x80000005, "vmgexit_ap_jump_table" },
	{ 0x80000010, "vmgexit_page_state_change" },
	{ 0x80000011, "vmgexit_guest_request" },
	{ 0x80000012, "vmgexit_ext_guest_request" },
	{ 0x80000013, "vmgexit_ap_creation" },
	{ 0x8000fffd, "vmgexit_hypervisor_feature" },
	{ 0xffffffff, "invalid_guest_state" }, /* SVM_EXIT_ERR, -1 */
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A linear search: names are looked up once per reading, off the hot path. */
static const char *find_name(const struct exit_name *table, size_t n, uint32_t code)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].code == code)
			return table[i].name;
	return NULL;
}

const char *kvm_exit_reason_name(unsigned isa, uint32_t reason)
{
	switch (isa) {
	case KVM_EXIT_ISA_VMX:
		return find_name(vmx_exits, ARRAY_LEN(vmx_exits), reason & KVM_EXIT_VMX_BASIC_MASK);
	case KVM_EXIT_ISA_SVM:
		return find_name(svm_exits, ARRAY_LEN(svm_exits), reason);
	default:
		return NULL;
	}
}

const char *kvm_exit_isa_name(unsigned isa)
{
	switch (isa) {
	case KVM_EXIT_ISA_VMX:
		return "vmx";
	case KVM_EXIT_ISA_SVM:
		return "svm";
	default:
		return NULL;
	}
}

/* --- loader --------------------------------------------------------------- */

struct kvm_probe {
	struct kvm_exit *skel;
	int processes_fd;
	int counts_fd;
	int lost_fd;
	int ncpus;
};

/* 0 if path is a directory, else a negative errno. */
static int stat_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Checks that tracefs shows the kvm:kvm_exit event, mounting tracefs first
 * on a host that has not. Without the event, loading the program would fail
 * on a missing BTF type (KVM's types are not in the kernel) and attaching on
 * a missing event, both with messages that do not say "KVM is not loaded";
 * this says it first. */
static int check_kvm_exit_event(char *err, size_t errlen)
{
	static const char step[] = "checking for the kvm:kvm_exit tracepoint";
	char tracefs[64], event[96], why[400];
	int rc = tracefs_ensure_mounted(tracefs, sizeof(tracefs), why, sizeof(why));

	if (rc) {
		snprintf(err, errlen, "%s: %s", step, why);
		return -ENODEV;
	}
	snprintf(event, sizeof(event), "%s/events/kvm/kvm_exit", tracefs);
	rc = stat_dir(event);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		snprintf(err, errlen, "%s: no %s: KVM is not loaded on this host", step, event);
		return -ENOENT;
	}
	if (rc)
		snprintf(err, errlen, "%s: %s: %s (is this root?)", step, event, strerror(-rc));
	return rc;
}

static struct bpf_object_skeleton *open_skeleton(void *ctx)
{
	struct kvm_probe *p = ctx;

	p->skel = kvm_exit__open();
	return p->skel ? p->skel->skeleton : NULL;
}

static const struct bpf_loader_ops kvm_exit_ops = {
	.program = "kvm_exit",
	.open = open_skeleton,
	.load_hint = " (is this root? is there BTF in /sys/kernel/btf/, for vmlinux and, if KVM is a module, for kvm?)",
};

int kvm_probe_open(struct kvm_probe **out, char *err, size_t errlen)
{
	struct kvm_probe *p;
	int rc;

	*out = NULL;
	rc = check_kvm_exit_event(err, errlen);
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "allocating the KVM exit probe: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = bpf_loader_start(&kvm_exit_ops, p, err, errlen);
	if (rc < 0) {
		kvm_probe_close(p);
		return rc;
	}
	p->ncpus = rc;
	p->processes_fd = bpf_map__fd(p->skel->maps.kvm_processes);
	p->counts_fd = bpf_map__fd(p->skel->maps.kvm_exit_counts);
	p->lost_fd = bpf_map__fd(p->skel->maps.kvm_exit_lost);
	*out = p;
	return 0;
}

void kvm_probe_close(struct kvm_probe *p)
{
	if (!p)
		return;
	kvm_exit__destroy(p->skel);
	free(p);
}

int kvm_probe_watch_process(struct kvm_probe *p, pid_t tgid, uint32_t vm_slot)
{
	return tgid > 0 ? map_set_u32(p->processes_fd, (uint32_t)tgid, vm_slot) : -EINVAL;
}

static int forget_processes(struct kvm_probe *p, uint32_t vm_slot)
{
	return map_forget_u32_value(p->processes_fd, VIGIL_KVM_MAX_PROCESSES, vm_slot);
}

static int forget_counts(struct kvm_probe *p, uint32_t vm_slot)
{
	void *keys = NULL;
	int n = map_keys_list(p->counts_fd, sizeof(struct vigil_kvm_exit_key), VIGIL_KVM_MAX_COUNTERS, &keys);
	const struct vigil_kvm_exit_key *counts = keys;
	int rc = n < 0 ? n : 0;

	for (int i = 0; i < n && !rc; i++)
		if (counts[i].vm_slot == vm_slot)
			rc = map_delete_key(p->counts_fd, &counts[i]);
	free(keys);
	return rc;
}

/* Processes first, so that no new exit of the slot creates a count that has
 * just been deleted. An exit already inside the program can still do so;
 * that count then holds at most that one exit. */
int kvm_probe_forget_slot(struct kvm_probe *p, uint32_t vm_slot)
{
	int rc = forget_processes(p, vm_slot);

	return rc ? rc : forget_counts(p, vm_slot);
}

static int cmp_keys(const void *a, const void *b)
{
	const struct vigil_kvm_exit_key *x = a, *y = b;

	if (x->vm_slot != y->vm_slot)
		return x->vm_slot < y->vm_slot ? -1 : 1;
	if (x->isa != y->isa)
		return x->isa < y->isa ? -1 : 1;
	return (x->exit_reason > y->exit_reason) - (x->exit_reason < y->exit_reason);
}

/* Sorts and drops the duplicates a restarted map walk may have listed. */
static size_t sort_unique_keys(struct vigil_kvm_exit_key *keys, size_t n)
{
	size_t kept = 0;

	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (size_t i = 0; i < n; i++)
		if (!kept || cmp_keys(&keys[kept - 1], &keys[i]) != 0)
			keys[kept++] = keys[i];
	return kept;
}

int kvm_probe_snapshot(struct kvm_probe *p, struct kvm_exit_reading **out)
{
	void *raw = NULL;
	int n = map_keys_list(p->counts_fd, sizeof(struct vigil_kvm_exit_key), VIGIL_KVM_MAX_COUNTERS, &raw);
	struct vigil_kvm_exit_key *keys = raw;
	struct kvm_exit_reading *readings;
	uint64_t *percpu;
	size_t count = 0, nkeys;
	int rc = 0;

	*out = NULL;
	if (n < 0)
		return n;
	nkeys = sort_unique_keys(keys, (size_t)n);
	/* One more than needed: an empty result is still a valid allocation. */
	readings = calloc(nkeys + 1, sizeof(*readings));
	percpu = calloc((size_t)p->ncpus, sizeof(*percpu));
	if (!readings || !percpu)
		rc = -ENOMEM;
	for (size_t i = 0; i < nkeys && !rc; i++) {
		struct kvm_exit_reading *r = &readings[count];

		rc = map_sum_percpu_u64(p->counts_fd, &keys[i], percpu, p->ncpus, &r->count);
		if (rc == -ENOENT) {
			rc = 0; /* its slot was forgotten meanwhile */
			continue;
		}
		r->vm_slot = keys[i].vm_slot;
		r->isa = keys[i].isa;
		r->exit_reason = keys[i].exit_reason;
		count++;
	}
	free(percpu);
	free(keys);
	if (rc) {
		free(readings);
		return rc;
	}
	*out = readings;
	return (int)count;
}

int kvm_probe_lost(struct kvm_probe *p, uint64_t *out)
{
	uint64_t *percpu = calloc((size_t)p->ncpus, sizeof(*percpu));
	__u32 zero = 0;
	int rc;

	if (!percpu)
		return -ENOMEM;
	rc = map_sum_percpu_u64(p->lost_fd, &zero, percpu, p->ncpus, out);
	free(percpu);
	return rc;
}
