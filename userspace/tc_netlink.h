/* The two tc questions that libbpf's bpf_tc_* API cannot answer, asked over
 * rtnetlink: which qdisc holds an interface's ingress handle (clsact, or the
 * older ingress qdisc that excludes it), and whether a clsact hook still
 * holds any filter, so that a qdisc is never deleted under someone else's
 * filters. Used by userspace/net_tc.c. */
#ifndef VIGIL_TC_NETLINK_H
#define VIGIL_TC_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

/* Writes the kind of the qdisc at the interface's ingress handle (ffff:),
 * "clsact" or "ingress", into kind, or "" if there is none (or no such
 * interface). Returns 0 or -errno. */
int tc_ingress_qdisc_kind(int ifindex, char *kind, size_t len);

/* The number of filters on the ingress or egress hook of the interface's
 * clsact qdisc, all chains and priorities, as a filter dump lists them (one
 * entry per priority plus one per filter; 0 means none). Returns the count
 * or -errno (-ENODEV: no such interface; -EINVAL: no clsact qdisc). */
int tc_count_filters(int ifindex, bool egress);

/* --- exposed for the unit tests ------------------------------------------ */

/* Called for every message of a reply that is not a netlink control message
 * (done, error, noop). A negative return stops the walk with that value. */
typedef int (*tc_msg_fn)(const struct nlmsghdr *nh, void *ctx);

/* Walks one received buffer, skipping messages whose sequence number is not
 * seq. Returns 1 once the reply is complete (NLMSG_DONE, or an
 * acknowledgement), 0 if more is to come, or -errno: the kernel's error, or
 * -EBADMSG for a malformed buffer. */
int tc_nl_walk(const void *buf, size_t len, uint32_t seq, tc_msg_fn fn, void *ctx);

/* Copies the TCA_KIND attribute of a qdisc or filter message into kind.
 * Returns 0, -ENOENT if the message has none, or -EBADMSG. */
int tc_msg_kind(const struct nlmsghdr *nh, char *kind, size_t len);

#endif
