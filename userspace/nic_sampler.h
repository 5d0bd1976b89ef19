/* A VM's network interfaces in the sampler: the tc counters on each tap
 * (userspace/net_tc.c) turned into per-interval net.* samples tagged with
 * the interface's host device and the guest's MAC. */
#ifndef VIGIL_NIC_SAMPLER_H
#define VIGIL_NIC_SAMPLER_H

#include <stdbool.h>

#include "discovery.h"
#include "net_tc_loader.h"
#include "vigil.pb-c.h"

struct nic_state {
	struct vm_nic nic;
	int ifindex;
	struct net_if_counters last;  /* cumulative, as last read */
	bool vanished;                /* the last read found the interface gone */
	bool restarted;               /* the interface was recreated; not read since */
};

struct vm_nics {
	struct nic_state v[VM_MAX_NICS];
	unsigned n;
	/* Interfaces that could not be attached: not tried (and logged) again
	 * every interval. */
	struct vm_nic refused[VM_MAX_NICS];
	unsigned n_refused;
};

/* Attaches to the target's interfaces not yet counted and detaches from the
 * ones it no longer has. An interface whose device name now has another
 * ifindex (deleted and created again) is counted afresh, and its first
 * reading sets counters_reset. net may be NULL (network not counted here). */
void vm_nics_sync(struct vm_nics *s, struct net_probe *net, const struct vm_target *t);

/* Detaches from every interface of the VM. */
void vm_nics_release(struct vm_nics *s, struct net_probe *net);

/* net.{rx,tx}_{bytes,packets,drops} per interface for the interval.
 * Returns 0 or -ENOMEM. */
int vm_nics_emit(struct vm_nics *s, struct net_probe *net, Vigil__VmSamples *vm);

#endif
