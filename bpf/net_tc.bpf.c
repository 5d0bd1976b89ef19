// SPDX-License-Identifier: GPL-2.0
/* Bytes and packets per interface, counted at the tc clsact hooks.
 *
 * The programs only count: they return TC_ACT_UNSPEC, which tells tc to go
 * on with the next filter as if this one had not matched, so traffic and
 * every other filter on the hook behave exactly as without them. See
 * net_tc.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "net_tc.h"

/* From include/uapi/linux/pkt_cls.h: macros are not part of the kernel's BTF. */
#define TC_ACT_UNSPEC (-1)

char LICENSE[] SEC("license") = "GPL";

/* Not preallocated: a preallocated per-CPU map would reserve
 * max_entries * value * nr_cpus bytes up front, while a host has a few
 * hundred taps at most. Only the loader inserts, so the programs never
 * pay for an allocation. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, NET_TC_MAX_IFACES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct net_tc_counters);
} iface_counters SEC(".maps");

/* This CPU's counters of the interface, or NULL if it is not monitored (the
 * loader removed its entry while a packet was on its way). */
static __always_inline struct net_tc_counters *counters_of(const struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;

	return bpf_map_lookup_elem(&iface_counters, &ifindex);
}

/* Plain adds are enough: the values are per CPU, and tc runs with bottom
 * halves disabled, so nothing else on this CPU touches them meanwhile. */
static __always_inline void count(struct net_tc_dir *dir, const struct __sk_buff *skb)
{
	dir->bytes += skb->len;
	dir->packets++;
}

SEC("tc")
int vigil_net_in(struct __sk_buff *skb)
{
	struct net_tc_counters *c = counters_of(skb);

	if (c)
		count(&c->ingress, skb);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int vigil_net_out(struct __sk_buff *skb)
{
	struct net_tc_counters *c = counters_of(skb);

	if (c)
		count(&c->egress, skb);
	return TC_ACT_UNSPEC;
}
