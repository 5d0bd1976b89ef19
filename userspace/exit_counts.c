#include "exit_counts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "batch.h"
#include "counter_delta.h"

void exit_counts_free(struct exit_counts *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static struct exit_count *find_or_add(struct exit_counts *c, uint32_t isa, uint32_t reason)
{
	struct exit_count *grown;

	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].isa == isa && c->v[i].reason == reason)
			return &c->v[i];
	grown = realloc(c->v, (c->n + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	c->v = grown;
	/* Counted from zero: the kernel's count starts when the VM is watched. */
	c->v[c->n] = (struct exit_count){ .isa = isa, .reason = reason };
	return &c->v[c->n++];
}

/* Counts only grow while the VM is watched. A reason whose entry is missing
 * this time (its slot being forgotten) is no reading at all rather than a
 * zero, or it would count its whole history again when it reappears. */
static void advance(struct exit_count *e, Vigil__VmSamples *vm)
{
	char reason[48];

	e->delta = 0;
	if (!e->in_reading)
		return;
	snprintf(reason, sizeof(reason), "isa=%u reason=%u", e->isa, e->reason);
	e->delta = counter_advance(&e->cumulative, e->read_now, COUNTER_WIDTH_64, vm, "kvm.exits", reason);
}

static int emit_reason(const struct exit_count *e, Vigil__VmSamples *vm)
{
	const char *name = kvm_exit_reason_name(e->isa, e->reason);
	char unknown[32];

	if (!name) {
		snprintf(unknown, sizeof(unknown), "unknown_%u", e->reason);
		name = unknown;
	}
	return batch_add_sample(vm, "kvm.exits", (double)e->delta, "reason", name);
}

int exit_counts_emit(struct exit_counts *c, const struct kvm_exit_reading *r, size_t n, uint32_t vm_slot,
		     Vigil__VmSamples *vm)
{
	uint64_t total = 0;

	for (size_t i = 0; i < c->n; i++) {
		c->v[i].read_now = 0;
		c->v[i].in_reading = false;
	}
	for (size_t i = 0; i < n; i++) {
		struct exit_count *e;
		uint32_t reason = r[i].exit_reason;

		if (r[i].vm_slot != vm_slot)
			continue;
		/* VMX flag bits (e.g. "failed VM entry") make separate raw
		 * readings of one basic reason: one series per name. */
		if (r[i].isa == KVM_EXIT_ISA_VMX)
			reason &= KVM_EXIT_VMX_BASIC_MASK;
		e = find_or_add(c, r[i].isa, reason);
		if (!e)
			return -ENOMEM;
		e->read_now += r[i].count;
		e->in_reading = true;
	}
	for (size_t i = 0; i < c->n; i++)
		advance(&c->v[i], vm);
	if (c->n == 0)
		return 0;
	for (size_t i = 0; i < c->n; i++) {
		total += c->v[i].delta;
		if (emit_reason(&c->v[i], vm) < 0)
			return -ENOMEM;
	}
	return batch_add_sample(vm, "kvm.exits", (double)total, NULL, NULL) < 0 ? -ENOMEM : 0;
}
