/* Types shared by bpf/net_tc.bpf.c and its loader userspace/net_tc.c.
 *
 * The loader attaches the two tc programs to each monitored interface (a
 * VM's tap) and creates that interface's entry in iface_counters first; the
 * programs only add to an existing entry, so an interface nobody asked for
 * is never counted and the hot path never allocates.
 *
 * The counters are in the interface's own directions: ingress is what the
 * host received on it, egress what the host sent out of it. For a tap that
 * is the guest's tx and rx; the loader turns them around. */
#ifndef VIGIL_NET_TC_H
#define VIGIL_NET_TC_H

#define NET_TC_MAX_IFACES 4096

/* One direction. bytes is skb->len, Ethernet header included, as the
 * interface's own statistics count it; a GSO packet counts once, as there. */
struct net_tc_dir {
	__u64 bytes;
	__u64 packets;
};

/* iface_counters map value, keyed by ifindex (__u32), per CPU; the loader
 * sums the CPUs. Cumulative since the loader created the entry. */
struct net_tc_counters {
	struct net_tc_dir ingress;
	struct net_tc_dir egress;
};

#endif
