/* Loader and reader for the tc counting programs (bpf/net_tc.bpf.c).
 *
 * Lifecycle: net_probe_open() loads the programs without attaching them;
 * net_probe_attach() hooks them on one interface (a VM's tap);
 * net_probe_read() returns what passed since; net_probe_detach() and
 * net_probe_close() unhook them again. Not thread-safe: one caller at a time.
 *
 * What is left on an interface: on its clsact qdisc (created if missing),
 * one cls_bpf filter on ingress and one on egress, at priority
 * NET_PROBE_TC_PRIORITY with handle NET_PROBE_TC_HANDLE. Priority 1 runs
 * before the filters of every later priority, so the count is complete even
 * when one of them ends classification (pass, drop, redirect); the programs
 * return TC_ACT_UNSPEC, so every later filter still runs and no packet is
 * changed or dropped. Filters of
 * others are never replaced or removed. A filter of a previous probe that
 * died without detaching (same place, program named vigil_net_in or
 * vigil_net_out) is taken over. */
#ifndef VIGIL_NET_TC_LOADER_H
#define VIGIL_NET_TC_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define NET_PROBE_TC_PRIORITY 1
#define NET_PROBE_TC_HANDLE   0x56494749 /* "VIGI" */

struct net_probe;

/* Cumulative counters of one tap since net_probe_attach(), in the GUEST's
 * point of view:
 *
 *   field        source on the host side of the tap
 *   tx_bytes     tc ingress skb->len (what the host received from the guest)
 *   tx_packets   tc ingress packets
 *   rx_bytes     tc egress skb->len (what the host sent towards the guest)
 *   rx_packets   tc egress packets
 *   rx_drops     growth of /sys/class/net/IF/statistics/tx_dropped: frames
 *                the host could not hand to the guest (queue full, guest not
 *                reading). They passed tc egress first, so they are in
 *                rx_packets too. Drops in a qdisc of the tap are not in
 *                tx_dropped; they are in rx_packets only.
 *   tx_drops     growth of /sys/class/net/IF/statistics/rx_dropped: frames
 *                from the guest the host dropped. This includes frames the
 *                host stack had no handler for (e.g. an unknown EtherType
 *                on an unbridged tap), which did pass tc ingress and are in
 *                tx_packets; drops before tc are not.
 *
 * This is the mapping libvirt's domifstat uses for taps. Bytes include the
 * Ethernet header, not the FCS; a GSO packet counts as one packet, as in the
 * tap's own statistics. */
struct net_if_counters {
	uint64_t rx_bytes;
	uint64_t rx_packets;
	uint64_t tx_bytes;
	uint64_t tx_packets;
	uint64_t rx_drops;
	uint64_t tx_drops;
};

/* Opens and loads the programs; attaches nothing. On failure returns a
 * negative errno and writes a message naming the failed step into err. */
int net_probe_open(struct net_probe **out, char *err, size_t errlen);

/* Detaches from every interface still attached (see net_probe_detach) and
 * unloads the programs. Accepts NULL. */
void net_probe_close(struct net_probe *p);

/* Starts counting on interface ifindex (of the caller's network namespace).
 * Idempotent: on an interface already attached, it only puts back what
 * someone removed meanwhile (the qdisc, a filter) and keeps the counters.
 * Returns 0 or a negative errno with a message naming the step and the
 * interface in err:
 *   -ENODEV  no such interface;
 *   -EBUSY   the interface has an "ingress" qdisc (which excludes clsact),
 *            or another program sits at our priority and handle;
 *   -EINVAL  our priority holds filters of another kind (e.g. u32).
 * Nothing of ours is left on the interface after a failed first attach. */
int net_probe_attach(struct net_probe *p, int ifindex, char *err, size_t errlen);

/* Stops counting on ifindex: removes our two filters, and the clsact qdisc
 * if this probe created it and no other filter remains on it (otherwise,
 * or if that cannot be checked, the qdisc stays). Returns 0 (also when the
 * interface was not attached), -ENODEV if the interface has vanished (the
 * kernel removed everything with it; worth a debug line at most), or
 * another negative errno with a message in err. The interface counts as
 * detached afterwards in every case. */
int net_probe_detach(struct net_probe *p, int ifindex, char *err, size_t errlen);

/* Reads the counters of an attached interface, summed over CPUs. Returns 0,
 * -ENOENT if it is not attached, -ENODEV if it has vanished, or another
 * negative errno. */
int net_probe_read(struct net_probe *p, int ifindex, struct net_if_counters *out);

/* --- exposed for the unit tests ------------------------------------------ */

/* What the host side of a tap shows, in its own directions. */
struct net_tap_totals {
	uint64_t ingress_bytes;
	uint64_t ingress_packets;
	uint64_t egress_bytes;
	uint64_t egress_packets;
	uint64_t rx_dropped; /* /sys/class/net/IF/statistics */
	uint64_t tx_dropped;
};

/* The guest's counters from the tap's totals at attach and now. A total
 * below its value at attach (a counter reset) reads as 0. */
void net_guest_counters(const struct net_tap_totals *at_attach, const struct net_tap_totals *now,
			struct net_if_counters *out);

#endif
