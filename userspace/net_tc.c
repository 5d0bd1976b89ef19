/* Loader and reader for bpf/net_tc.bpf.c. */
#include "net_tc_loader.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "net_tc.h"
#include "net_tc.skel.h"
#include "bpf_loader.h"
#include "tc_netlink.h"

/* Our program on one clsact hook. */
struct net_hook {
	enum bpf_tc_attach_point point; /* BPF_TC_INGRESS or BPF_TC_EGRESS */
	const char *dir;                /* "ingress" or "egress", for messages */
	int prog_fd;
	__u32 prog_id;
	char prog_name[BPF_OBJ_NAME_LEN]; /* as the kernel knows it */
};

/* An interface we are attached to. */
struct net_iface {
	int ifindex;
	char name[IF_NAMESIZE];       /* at attach time, for messages */
	bool created_qdisc;           /* the clsact qdisc is ours to remove */
	struct net_tap_totals at_attach; /* the tc totals start at 0 */
};

struct net_probe {
	struct net_tc *skel;
	int counters_fd;
	int ncpus;
	struct net_tc_counters *percpu; /* lookup buffer, one value per CPU */
	struct net_hook hooks[2];
	struct net_iface *ifaces;
	size_t nifaces, cap;
};

/* Writes "WHAT: strerror (kernel: REASON)" into err and returns rc (a
 * negative errno). The reason is the kernel's for the last tc request,
 * which is the failed one when the reason was cleared before it. libbpf
 * passes it on as a warning, also for lookups that are expected to find
 * nothing; bpf_loader_print keeps it rather than printing it. */
__attribute__((format(printf, 4, 5)))
static int fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	const char *reason = bpf_loader_kernel_reason();
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (reason[0])
		snprintf(err, errlen, "%s: %s (kernel: %s)", what, strerror(-rc), reason);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-rc));
	bpf_loader_clear_kernel_reason();
	return rc;
}

static uint64_t growth(uint64_t from, uint64_t to)
{
	return to > from ? to - from : 0;
}

void net_guest_counters(const struct net_tap_totals *at_attach, const struct net_tap_totals *now,
			struct net_if_counters *out)
{
	/* The tap's ingress is what the guest sent, its egress what the
	 * guest received; its own tx drops are frames the guest never got. */
	out->tx_bytes = growth(at_attach->ingress_bytes, now->ingress_bytes);
	out->tx_packets = growth(at_attach->ingress_packets, now->ingress_packets);
	out->rx_bytes = growth(at_attach->egress_bytes, now->egress_bytes);
	out->rx_packets = growth(at_attach->egress_packets, now->egress_packets);
	out->rx_drops = growth(at_attach->tx_dropped, now->tx_dropped);
	out->tx_drops = growth(at_attach->rx_dropped, now->rx_dropped);
}

/* --- open and close ------------------------------------------------------ */

static int init_hook(struct net_hook *hook, const struct bpf_program *prog,
		     enum bpf_tc_attach_point point, const char *dir)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	hook->point = point;
	hook->dir = dir;
	hook->prog_fd = bpf_program__fd(prog);
	if (bpf_obj_get_info_by_fd(hook->prog_fd, &info, &len))
		return -errno;
	hook->prog_id = info.id;
	snprintf(hook->prog_name, sizeof(hook->prog_name), "%s", info.name);
	return 0;
}

static struct bpf_object_skeleton *open_skeleton(void *ctx)
{
	struct net_probe *p = ctx;

	p->skel = net_tc__open();
	return p->skel ? p->skel->skeleton : NULL;
}

/* Who our filters are: found again by program id and name on every
 * interface, also those a previous probe left behind. */
static int init_hooks(void *ctx)
{
	struct net_probe *p = ctx;
	int rc = init_hook(&p->hooks[0], p->skel->progs.vigil_net_in, BPF_TC_INGRESS, "ingress");

	return rc ? rc : init_hook(&p->hooks[1], p->skel->progs.vigil_net_out, BPF_TC_EGRESS, "egress");
}

static const struct bpf_loader_ops net_tc_ops = {
	.program = "net_tc",
	.open = open_skeleton,
	.prepare = init_hooks,
	.prepare_step = "reading the loaded programs' ids",
	.load_hint = " (is this root? is BTF at /sys/kernel/btf/vmlinux?)",
	.attach_later = true, /* per interface, by net_probe_attach() */
};

int net_probe_open(struct net_probe **out, char *err, size_t errlen)
{
	struct net_probe *p;
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "allocating the network probe: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = bpf_loader_start(&net_tc_ops, p, err, errlen);
	if (rc < 0) {
		net_probe_close(p);
		return rc;
	}
	p->ncpus = rc;
	p->percpu = calloc((size_t)p->ncpus, sizeof(*p->percpu));
	if (!p->percpu) {
		snprintf(err, errlen, "net_tc: allocating the per-CPU read buffer: %s", strerror(ENOMEM));
		net_probe_close(p);
		return -ENOMEM;
	}
	p->counters_fd = bpf_map__fd(p->skel->maps.iface_counters);
	*out = p;
	return 0;
}

void net_probe_close(struct net_probe *p)
{
	char ignored[256];

	if (!p)
		return;
	/* Detaching drops the entry, so always take the last one. */
	while (p->nifaces)
		net_probe_detach(p, p->ifaces[p->nifaces - 1].ifindex, ignored, sizeof(ignored));
	net_tc__destroy(p->skel);
	free(p->ifaces);
	free(p->percpu);
	free(p);
}

/* --- the interface table ------------------------------------------------- */

static struct net_iface *find_iface(struct net_probe *p, int ifindex)
{
	for (size_t i = 0; i < p->nifaces; i++)
		if (p->ifaces[i].ifindex == ifindex)
			return &p->ifaces[i];
	return NULL;
}

static struct net_iface *add_iface(struct net_probe *p, const struct net_iface *iface)
{
	if (p->nifaces == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		struct net_iface *grown = realloc(p->ifaces, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		p->ifaces = grown;
		p->cap = cap;
	}
	p->ifaces[p->nifaces] = *iface;
	return &p->ifaces[p->nifaces++];
}

/* Stops counting and forgets the interface; iface is invalid afterwards. */
static void forget_iface(struct net_probe *p, struct net_iface *iface)
{
	__u32 key = (__u32)iface->ifindex;

	bpf_map_delete_elem(p->counters_fd, &key);
	*iface = p->ifaces[--p->nifaces];
}

/* --- /sys/class/net statistics ------------------------------------------- */

/* -ENODEV if the interface has gone meanwhile. */
static int read_stat(const char *ifname, const char *stat, uint64_t *out)
{
	char path[128];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, stat);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENODEV : -errno;
	n = fscanf(f, "%" SCNu64, out);
	fclose(f);
	return n == 1 ? 0 : -EIO;
}

static int read_drops(const char *ifname, struct net_tap_totals *t)
{
	int rc = read_stat(ifname, "rx_dropped", &t->rx_dropped);

	return rc ? rc : read_stat(ifname, "tx_dropped", &t->tx_dropped);
}

/* --- attach and detach --------------------------------------------------- */

/* Is program id the one a previous probe left at our place on this hook? */
static bool left_by_previous_probe(const struct net_hook *hook, __u32 id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ours;

	if (fd < 0)
		return false;
	ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && strcmp(info.name, hook->prog_name) == 0;
	close(fd);
	return ours;
}

/* Creates the clsact qdisc unless there is one, remembering if we did. */
static int ensure_clsact(struct net_iface *iface, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = iface->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	char kind[32];
	int rc;

	bpf_loader_clear_kernel_reason();
	rc = bpf_tc_hook_create(&hook);
	if (rc == 0) {
		iface->created_qdisc = true;
		return 0;
	}
	if (rc != -EEXIST)
		return fail(rc, err, errlen, "creating a clsact qdisc on %s", iface->name);
	bpf_loader_clear_kernel_reason(); /* "exclusivity flag on": expected */
	/* The older ingress qdisc holds the same handle: filters meant for
	 * egress would land on its only (ingress) hook. */
	rc = tc_ingress_qdisc_kind(iface->ifindex, kind, sizeof(kind));
	if (rc < 0)
		return fail(rc, err, errlen, "checking which qdisc %s has at ffff:", iface->name);
	if (strcmp(kind, "clsact") == 0)
		return 0;
	if (!kind[0])
		return fail(-EAGAIN, err, errlen, "the qdisc at ffff: of %s vanished while attaching", iface->name);
	return fail(-EBUSY, err, errlen,
		    "%s has an \"%s\" qdisc (a libvirt bandwidth limit sets one), which excludes the clsact qdisc counting needs",
		    iface->name, kind);
}

/* Puts our program on one hook unless it is there; takes over what a dead
 * probe left at our place, never another program. */
static int ensure_filter(struct net_iface *iface, const struct net_hook *hook, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, tch, .ifindex = iface->ifindex, .attach_point = hook->point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, found, .handle = NET_PROBE_TC_HANDLE, .priority = NET_PROBE_TC_PRIORITY);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = hook->prog_fd, .handle = NET_PROBE_TC_HANDLE,
			    .priority = NET_PROBE_TC_PRIORITY);
	int rc;

	/* ENOENT (no such filter) and EINVAL (no filter chain yet, or our
	 * priority taken by another kind) both leave it to the attach. */
	rc = bpf_tc_query(&tch, &found);
	if (rc == 0 && found.prog_id == hook->prog_id)
		return 0;
	if (rc == 0 && !left_by_previous_probe(hook, found.prog_id))
		return fail(-EBUSY, err, errlen,
			    "the %s filter at priority %d handle 0x%x on %s runs another program (id %u); not replacing it",
			    hook->dir, NET_PROBE_TC_PRIORITY, NET_PROBE_TC_HANDLE, iface->name, found.prog_id);
	if (rc == 0)
		opts.flags = BPF_TC_F_REPLACE;

	bpf_loader_clear_kernel_reason();
	rc = bpf_tc_attach(&tch, &opts);
	if (rc == -EINVAL)
		return fail(rc, err, errlen, "attaching the %s filter on %s (are there non-bpf filters at priority %d?)",
			    hook->dir, iface->name, NET_PROBE_TC_PRIORITY);
	if (rc)
		return fail(rc, err, errlen, "attaching the %s filter on %s", hook->dir, iface->name);
	return 0;
}

static int ensure_attached(struct net_probe *p, struct net_iface *iface, char *err, size_t errlen)
{
	int rc = ensure_clsact(iface, err, errlen);

	for (size_t i = 0; i < 2 && !rc; i++)
		rc = ensure_filter(iface, &p->hooks[i], err, errlen);
	return rc;
}

static int first_attach(struct net_probe *p, int ifindex, char *err, size_t errlen)
{
	struct net_iface fresh = { .ifindex = ifindex };
	struct net_iface *iface;
	__u32 key = (__u32)ifindex;
	char ignored[256];
	int rc;

	if (ifindex <= 0 || !if_indextoname((unsigned int)ifindex, fresh.name))
		return fail(-ENODEV, err, errlen, "looking up interface %d", ifindex);
	rc = read_drops(fresh.name, &fresh.at_attach);
	if (rc)
		return fail(rc, err, errlen, "reading the drop counters of %s", fresh.name);
	/* Before the filters, so that their first packet finds it. The
	 * per-CPU map copies the zero to every CPU. */
	memset(p->percpu, 0, (size_t)p->ncpus * sizeof(*p->percpu));
	if (bpf_map_update_elem(p->counters_fd, &key, p->percpu, BPF_ANY))
		return fail(-errno, err, errlen, "creating the counters of %s", fresh.name);
	iface = add_iface(p, &fresh);
	if (!iface) {
		bpf_map_delete_elem(p->counters_fd, &key);
		return fail(-ENOMEM, err, errlen, "remembering %s", fresh.name);
	}
	rc = ensure_attached(p, iface, err, errlen);
	if (rc)
		net_probe_detach(p, ifindex, ignored, sizeof(ignored));
	return rc;
}

int net_probe_attach(struct net_probe *p, int ifindex, char *err, size_t errlen)
{
	struct net_iface *iface = find_iface(p, ifindex);

	if (!iface)
		return first_attach(p, ifindex, err, errlen);
	/* Someone may have deleted the qdisc, or moved the interface to
	 * another namespace, which takes its qdiscs away. */
	return ensure_attached(p, iface, err, errlen);
}

/* Removes our program from one hook, if it is still ours that sits there. */
static int remove_filter(const struct net_iface *iface, const struct net_hook *hook, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, tch, .ifindex = iface->ifindex, .attach_point = hook->point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, found, .handle = NET_PROBE_TC_HANDLE, .priority = NET_PROBE_TC_PRIORITY);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, ours, .handle = NET_PROBE_TC_HANDLE, .priority = NET_PROBE_TC_PRIORITY);
	int rc;

	rc = bpf_tc_query(&tch, &found);
	/* ENOENT: no such filter; EINVAL: no clsact qdisc, or not ours at
	 * that priority. Either way there is nothing of ours to remove. */
	if (rc == -ENOENT || rc == -EINVAL || (rc == 0 && found.prog_id != hook->prog_id))
		return 0;
	if (rc == 0) {
		bpf_loader_clear_kernel_reason();
		rc = bpf_tc_detach(&tch, &ours);
	}
	if (rc == 0 || rc == -ENOENT)
		return 0;
	if (rc == -ENODEV)
		return fail(rc, err, errlen, "%s (ifindex %d) is gone, and our filters with it", iface->name,
			    iface->ifindex);
	return fail(rc, err, errlen, "removing our %s filter from %s", hook->dir, iface->name);
}

/* Deletes the clsact qdisc we created, unless a filter is left on it. A
 * filter added between the count and the deletion would go with it; the
 * window is one netlink round trip. */
static int remove_qdisc_if_unused(const struct net_iface *iface, char *err, size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = iface->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int rc;

	for (int egress = 0; egress < 2; egress++) {
		rc = tc_count_filters(iface->ifindex, egress);
		if (rc == -EINVAL) /* the qdisc is gone already */
			return 0;
		if (rc < 0)
			return fail(rc, err, errlen, "counting the %s filters left on %s (its clsact qdisc stays)",
				    egress ? "egress" : "ingress", iface->name);
		if (rc > 0)
			return 0;
	}
	bpf_loader_clear_kernel_reason();
	rc = bpf_tc_hook_destroy(&hook);
	if (rc && rc != -EINVAL && rc != -ENOENT)
		return fail(rc, err, errlen, "removing the clsact qdisc we created on %s", iface->name);
	return 0;
}

int net_probe_detach(struct net_probe *p, int ifindex, char *err, size_t errlen)
{
	struct net_iface *iface = find_iface(p, ifindex);
	char name[IF_NAMESIZE];
	int rc = 0;

	if (!iface)
		return 0;
	if (!if_indextoname((unsigned int)ifindex, name)) {
		rc = fail(-ENODEV, err, errlen, "%s (ifindex %d) is gone, and our filters with it", iface->name,
			  ifindex);
	} else {
		/* Both hooks are tried; the first failure is reported. */
		for (size_t i = 0; i < 2; i++) {
			char msg[256];
			int one = remove_filter(iface, &p->hooks[i], msg, sizeof(msg));

			if (one && !rc) {
				rc = one;
				snprintf(err, errlen, "%s", msg);
			}
		}
		if (!rc && iface->created_qdisc)
			rc = remove_qdisc_if_unused(iface, err, errlen);
	}
	forget_iface(p, iface);
	return rc;
}

/* --- read ---------------------------------------------------------------- */

int net_probe_read(struct net_probe *p, int ifindex, struct net_if_counters *out)
{
	const struct net_iface *iface = find_iface(p, ifindex);
	struct net_tap_totals now = { 0 };
	char name[IF_NAMESIZE];
	__u32 key = (__u32)ifindex;
	int rc;

	if (!iface)
		return -ENOENT;
	if (bpf_map_lookup_elem(p->counters_fd, &key, p->percpu))
		return -errno;
	for (int cpu = 0; cpu < p->ncpus; cpu++) {
		now.ingress_bytes += p->percpu[cpu].ingress.bytes;
		now.ingress_packets += p->percpu[cpu].ingress.packets;
		now.egress_bytes += p->percpu[cpu].egress.bytes;
		now.egress_packets += p->percpu[cpu].egress.packets;
	}
	/* By index: the interface may have been renamed since. */
	if (!if_indextoname((unsigned int)ifindex, name))
		return -ENODEV;
	rc = read_drops(name, &now);
	if (rc)
		return rc;
	net_guest_counters(&iface->at_attach, &now, out);
	return 0;
}
