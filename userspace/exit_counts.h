/* Turns the kernel's cumulative KVM exit counts of one VM (by ISA and exit
 * reason) into per-interval kvm.exits samples. A VM that never exited (a TCG
 * guest, or no KVM module) gets no kvm.exits samples at all. */
#ifndef VIGIL_EXIT_COUNTS_H
#define VIGIL_EXIT_COUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm_exit_loader.h"
#include "vigil.pb-c.h"

struct exit_count {
	uint32_t isa;
	uint32_t reason;
	uint64_t cumulative;  /* as last read */
	uint64_t read_now;    /* this reading, summed over raw reasons */
	bool in_reading;      /* the reason is in this reading at all */
	uint64_t delta;       /* in the interval being emitted */
};

struct exit_counts {
	struct exit_count *v;
	size_t n;
};

void exit_counts_free(struct exit_counts *c);

/* Emits, for the readings of vm_slot among r[0..n): kvm.exits per reason
 * (tag reason=NAME, every reason seen so far, 0 when idle) and the VM's
 * untagged total. A count below the last one (its kernel entry recreated)
 * adds what it counted since and sets vm->counters_reset; a reason missing
 * from this reading adds nothing and keeps its count. Returns 0 or -ENOMEM. */
int exit_counts_emit(struct exit_counts *c, const struct kvm_exit_reading *r, size_t n, uint32_t vm_slot,
		     Vigil__VmSamples *vm);

#endif
