// SPDX-License-Identifier: GPL-2.0
/* The floor for bench/tc_cost.c: a tc program that does nothing and, like
 * bpf/net_tc.bpf.c, lets the packet go on (TC_ACT_UNSPEC). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC */
}
