/* Unit tests for the exit reason names of userspace/kvm_exit.c: known codes
 * of both ISAs, VMX flag bits, unknown codes and the edges of each table.
 * The numbers are the kernel's (arch/x86/include/uapi/asm/vmx.h, svm.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "kvm_exit_loader.h"

struct known {
	uint32_t reason;
	const char *name;
};

static void assert_names(unsigned isa, const struct known *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = kvm_exit_reason_name(isa, k[i].reason);

		if (!got || strcmp(got, k[i].name) != 0)
			fail_msg("isa %u reason 0x%x: expected \"%s\", got \"%s\"", isa, k[i].reason,
				 k[i].name, got ? got : "(null)");
	}
}

static void assert_unnamed(unsigned isa, const uint32_t *reasons, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = kvm_exit_reason_name(isa, reasons[i]);

		if (got)
			fail_msg("isa %u reason 0x%x: expected no name, got \"%s\"", isa, reasons[i], got);
	}
}

#define ASSERT_NAMES(isa, k) assert_names(isa, k, sizeof(k) / sizeof((k)[0]))
#define ASSERT_UNNAMED(isa, r) assert_unnamed(isa, r, sizeof(r) / sizeof((r)[0]))

/* ---- VMX ------------------------------------------------------------------ */

static void test_vmx_known(void **state)
{
	static const struct known k[] = {
		{ 0, "exception_nmi" },    { 1, "external_interrupt" }, { 2, "triple_fault" },
		{ 7, "interrupt_window" }, { 10, "cpuid" },             { 12, "hlt" },
		{ 18, "vmcall" },          { 28, "cr_access" },         { 30, "io_instruction" },
		{ 31, "msr_read" },        { 32, "msr_write" },         { 40, "pause_instruction" },
		{ 44, "apic_access" },     { 48, "ept_violation" },     { 49, "ept_misconfig" },
		{ 52, "preemption_timer" }, { 55, "xsetbv" },           { 62, "pml_full" },
		{ 77, "tdcall" },
	};
	(void)state;
	ASSERT_NAMES(KVM_EXIT_ISA_VMX, k);
}

/* The upper 16 bits are flags; the name is the basic reason's. */
static void test_vmx_flag_bits_masked(void **state)
{
	static const struct known k[] = {
		{ 0x80000000u | 33, "invalid_state" },  /* failed VM entry, bad guest state */
		{ 0x80000000u | 34, "msr_load_fail" },  /* failed VM entry, MSR loading */
		{ 0x80000000u | 41, "mce_during_vmentry" },
		{ 0x08000000u | 12, "hlt" },            /* bit 27: from enclave mode */
		{ 0x10000000u | 48, "ept_violation" },  /* bit 28: pending MTF */
		{ 0x20000000u | 30, "io_instruction" }, /* bit 29: from VMX root */
		{ 0xffff0000u | 32, "msr_write" },      /* every flag bit at once */
		{ 0x00010000u | 0, "exception_nmi" },   /* the lowest flag bit */
	};
	(void)state;
	ASSERT_NAMES(KVM_EXIT_ISA_VMX, k);
}

static void test_vmx_unknown(void **state)
{
	/* Holes in the numbering, and codes past the last one. */
	static const uint32_t r[] = {
		5, 6, 11, 17, 35, 38, 42, 65, 66, 69, 73, 78, 83, 86, 100, 0xffff,
		0x80000000u | 5, 0x80000000u | 0xffff, 0xffffffffu,
	};
	(void)state;
	ASSERT_UNNAMED(KVM_EXIT_ISA_VMX, r);
}

/* The first and last codes of the table, their neighbours, and the newest
 * codes. */
static void test_vmx_boundaries(void **state)
{
	static const struct known k[] = {
		{ 0, "exception_nmi" }, { 4, "sipi_signal" },     { 64, "xrstors" },    { 67, "umwait" },
		{ 74, "bus_lock" },     { 76, "seamcall" },        { 84, "msr_read_imm" }, { 85, "msr_write_imm" },
		{ 0x10000u | 85, "msr_write_imm" },
	};
	static const uint32_t r[] = { 86, 0x10000u | 86, 0xfffe };
	(void)state;
	ASSERT_NAMES(KVM_EXIT_ISA_VMX, k);
	ASSERT_UNNAMED(KVM_EXIT_ISA_VMX, r);
}

/* ---- SVM ------------------------------------------------------------------ */

static void test_svm_known(void **state)
{
	static const struct known k[] = {
		{ 0x000, "read_cr0" },   { 0x013, "write_cr3" },  { 0x027, "read_dr7" },
		{ 0x04e, "pf_excp" },    { 0x04d, "gp_excp" },    { 0x053, "xf_excp" },
		{ 0x060, "interrupt" },  { 0x061, "nmi" },        { 0x064, "vintr" },
		{ 0x069, "read_rt" },    { 0x072, "cpuid" },      { 0x077, "pause" },
		{ 0x078, "hlt" },        { 0x07b, "io" },         { 0x07c, "msr" },
		{ 0x07f, "shutdown" },   { 0x081, "hypercall" },  { 0x08d, "xsetbv" },
		{ 0x08f, "write_efer_trap" },                     { 0x0a2, "invpcid" },
		{ 0x0a6, "idle_halt" },
	};
	(void)state;
	ASSERT_NAMES(KVM_EXIT_ISA_SVM, k);
}

/* Nested page fault and the codes above it: AVIC, SEV-ES VMGEXIT, and -1. */
static void test_svm_npf_avic_vmgexit(void **state)
{
	static const struct known k[] = {
		{ 0x400, "npf" },
		{ 0x401, "avic_incomplete_ipi" },
		{ 0x402, "avic_unaccelerated_access" },
		{ 0x403, "vmgexit" },
		{ 0x80000001u, "vmgexit_mmio_read" },
		{ 0x80000002u, "vmgexit_mmio_write" },
		{ 0x80000005u, "vmgexit_ap_jump_table" },
		{ 0x80000010u, "vmgexit_page_state_change" },
		{ 0x80000013u, "vmgexit_ap_creation" },
		{ 0x8000fffdu, "vmgexit_hypervisor_feature" },
		{ 0xffffffffu, "invalid_guest_state" },
	};
	static const uint32_t r[] = { 0x3ff, 0x404, 0x80000000u, 0x80000006u, 0x80000014u, 0x8000ffffu };
	(void)state;
	ASSERT_NAMES(KVM_EXIT_ISA_SVM, k);
	ASSERT_UNNAMED(KVM_EXIT_ISA_SVM, r);
}

/* All 32 bits are the exit code: nothing is masked on SVM. */
static void test_svm_not_masked(void **state)
{
	static const uint32_t r[] = { 0x10078, 0x80000078u, 0x10400, 0xffff0400u };
	(void)state;
	ASSERT_UNNAMED(KVM_EXIT_ISA_SVM, r);
}

static void test_svm_unknown(void **state)
{
	/* Holes: CR1 reads, exception vectors the kernel does not name (NMI
	 * is 2, 9 and 15 are reserved, 20+ the newer ones), MWAIT_COND and
	 * RDPRU (defined but not named), CR1-3 write traps, INVLPGB. */
	static const uint32_t r[] = {
		0x001, 0x011, 0x028, 0x038, 0x042, 0x049, 0x04f, 0x054, 0x05f,
		0x08c, 0x08e, 0x091, 0x093, 0x0a0, 0x0a7, 0x100,
	};
	(void)state;
	ASSERT_UNNAMED(KVM_EXIT_ISA_SVM, r);
}

/* ---- both ------------------------------------------------------------------ */

/* The same number means different exits: the ISA picks the table. */
static void test_isa_picks_the_table(void **state)
{
	(void)state;
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_ISA_VMX, 12), "hlt");
	assert_null(kvm_exit_reason_name(KVM_EXIT_ISA_SVM, 12));
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_ISA_SVM, 0x78), "hlt");
	assert_null(kvm_exit_reason_name(KVM_EXIT_ISA_VMX, 0x78));
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_ISA_VMX, 0x10), "rdtsc");
	assert_string_equal(kvm_exit_reason_name(KVM_EXIT_ISA_SVM, 0x10), "write_cr0");
}

static void test_unknown_isa(void **state)
{
	(void)state;
	for (unsigned isa = 0; isa < 8; isa++) {
		if (isa == KVM_EXIT_ISA_VMX || isa == KVM_EXIT_ISA_SVM)
			continue;
		assert_null(kvm_exit_reason_name(isa, 12));
		assert_null(kvm_exit_reason_name(isa, 0x78));
		assert_null(kvm_exit_isa_name(isa));
	}
	assert_string_equal(kvm_exit_isa_name(KVM_EXIT_ISA_VMX), "vmx");
	assert_string_equal(kvm_exit_isa_name(KVM_EXIT_ISA_SVM), "svm");
}

static bool is_metric_name(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Every name is a short lowercase identifier, and the tables hold as many
 * codes as the kernel names: 66 for VMX, 99 SVM codes below 0x1000 (plus
 * the 10 VMGEXIT events and -1 checked above). */
static void test_every_name_well_formed(void **state)
{
	size_t vmx = 0, svm = 0;

	(void)state;
	for (uint32_t r = 0; r <= 0xffff; r++) {
		const char *v = kvm_exit_reason_name(KVM_EXIT_ISA_VMX, r);
		const char *s = kvm_exit_reason_name(KVM_EXIT_ISA_SVM, r);

		if (v) {
			assert_true(is_metric_name(v));
			vmx++;
		}
		if (s) {
			assert_true(is_metric_name(s));
			svm++;
		}
	}
	assert_int_equal(vmx, 66);
	assert_int_equal(svm, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmx_known),
		cmocka_unit_test(test_vmx_flag_bits_masked),
		cmocka_unit_test(test_vmx_unknown),
		cmocka_unit_test(test_vmx_boundaries),
		cmocka_unit_test(test_svm_known),
		cmocka_unit_test(test_svm_npf_avic_vmgexit),
		cmocka_unit_test(test_svm_not_masked),
		cmocka_unit_test(test_svm_unknown),
		cmocka_unit_test(test_isa_picks_the_table),
		cmocka_unit_test(test_unknown_isa),
		cmocka_unit_test(test_every_name_well_formed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
