/* Cost per packet of the tc programs (bpf/net_tc.bpf.c), next to an empty
 * tc program on the same hooks.
 *
 * The bench moves itself into a network namespace of its own, so nothing
 * outside it is touched and everything it attached vanishes with it. There
 * it attaches both programs to loopback's clsact ingress and egress (the
 * empty one behind, which runs because the counting program returns
 * TC_ACT_UNSPEC) and sends a bounded number of UDP datagrams to itself:
 * each one passes both hooks. Run twice: loopback not monitored (no entry:
 * one lookup, the cost on every interface that is not a VM's tap), then
 * monitored. bpf_stats are on only while this runs.
 *
 *   tc_cost [PACKETS]   (default 200000) */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "net_tc.h"
#include "net_tc.skel.h"
#include "empty_tc.skel.h"

struct prog_stats {
	__u64 run_time_ns, run_cnt;
};

static struct prog_stats stats_of(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return (struct prog_stats){ 0, 0 };
	return (struct prog_stats){ info.run_time_ns, info.run_cnt };
}

static double ns_per_run(struct prog_stats a, struct prog_stats b)
{
	return b.run_cnt > a.run_cnt ? (double)(b.run_time_ns - a.run_time_ns) / (double)(b.run_cnt - a.run_cnt) : -1;
}

/* A new network namespace whose loopback is up. */
static int private_loopback(void)
{
	struct ifreq ifr = { 0 };
	int s, rc;

	if (unshare(CLONE_NEWNET))
		return -errno;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!rc)
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	rc = rc ? -errno : 0;
	close(s);
	return rc;
}

/* The clsact qdisc is created once, with the ingress hook; it holds both. */
static int attach(int ifindex, enum bpf_tc_attach_point where, int prog_fd, __u32 prio)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .priority = prio, .handle = prio);

	if (where == BPF_TC_INGRESS && prio == 1) {
		int rc = bpf_tc_hook_create(&hook);
		if (rc)
			return rc;
	}
	return bpf_tc_attach(&hook, &opts);
}

/* Sends n datagrams over loopback and reads each back. */
static int send_datagrams(long n)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	char buf[64] = { 0 };
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0), rc = 0;

	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(rx, (struct sockaddr *)&addr, &len))
		rc = -errno;
	for (long i = 0; i < n && !rc; i++)
		if (sendto(tx, buf, sizeof(buf), 0, (struct sockaddr *)&addr, len) < 0 ||
		    recv(rx, buf, sizeof(buf), 0) < 0)
			rc = -errno;
	close(rx);
	close(tx);
	return rc;
}

static int run(struct net_tc *vigil, struct empty_tc *empty, long packets, const char *label)
{
	int fds[3] = { bpf_program__fd(vigil->progs.vigil_net_in), bpf_program__fd(vigil->progs.vigil_net_out),
		       bpf_program__fd(empty->progs.empty_tc) };
	struct prog_stats before[3], after[3];

	for (int i = 0; i < 3; i++)
		before[i] = stats_of(fds[i]);
	int rc = send_datagrams(packets);
	for (int i = 0; i < 3; i++)
		after[i] = stats_of(fds[i]);
	if (rc)
		return rc;
	double in = ns_per_run(before[0], after[0]), out = ns_per_run(before[1], after[1]);
	double floor = ns_per_run(before[2], after[2]);
	printf("%-22s tc ingress %6.1f ns/packet, egress %6.1f (empty %5.1f, ratios %.2f / %.2f, %llu packets)\n",
	       label, in, out, floor, in / floor, out / floor, (unsigned long long)(after[0].run_cnt - before[0].run_cnt));
	return 0;
}

/* Gives loopback the zeroed per-CPU entry the probe creates for a tap. */
static int monitor(struct net_tc *vigil, int ifindex)
{
	int ncpus = libbpf_num_possible_cpus();
	struct net_tc_counters *zero = ncpus > 0 ? calloc((size_t)ncpus, sizeof(*zero)) : NULL;
	__u32 key = (__u32)ifindex;
	int rc = zero ? bpf_map_update_elem(bpf_map__fd(vigil->maps.iface_counters), &key, zero, BPF_ANY) : -ENOMEM;

	free(zero);
	return rc;
}

int main(int argc, char **argv)
{
	long packets = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	struct net_tc *vigil = NULL;
	struct empty_tc *empty = NULL;
	int stats_fd = -1, rc = 1, lo;

	if (packets <= 0 || packets > 10000000) {
		fprintf(stderr, "usage: tc_cost [PACKETS 1-10000000]\n");
		return 2;
	}
	if (private_loopback()) {
		fprintf(stderr, "tc_cost: cannot create a network namespace: %s (root?)\n", strerror(errno));
		return 1;
	}
	lo = (int)if_nametoindex("lo");
	vigil = net_tc__open_and_load();
	empty = empty_tc__open_and_load();
	if (!vigil || !empty)
		goto load_failed;
	for (int hook = 0; hook < 2; hook++) {
		enum bpf_tc_attach_point where = hook ? BPF_TC_EGRESS : BPF_TC_INGRESS;
		int prog = bpf_program__fd(hook ? vigil->progs.vigil_net_out : vigil->progs.vigil_net_in);
		if (attach(lo, where, prog, 1) || attach(lo, where, bpf_program__fd(empty->progs.empty_tc), 2))
			goto load_failed;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "tc_cost: enabling bpf_stats failed: %s\n", strerror(errno));
		goto out;
	}
	printf("%ld UDP datagrams over a private loopback per run, bpf_stats on\n", packets);
	rc = run(vigil, empty, packets, "interface unmonitored:") || monitor(vigil, lo) ||
	     run(vigil, empty, packets, "interface monitored:");
	if (rc)
		fprintf(stderr, "tc_cost: a run failed\n");
	goto out;
load_failed:
	fprintf(stderr, "tc_cost: loading or attaching the programs failed (root? BTF?)\n");
out:
	if (stats_fd >= 0)
		close(stats_fd);
	net_tc__destroy(vigil);
	empty_tc__destroy(empty);
	return rc ? 1 : 0;
}
