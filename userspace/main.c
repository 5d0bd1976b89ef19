/* vigil-probe: per-hypervisor daemon. Finds the VMs, counts their activity
 * in the kernel, and ships one batch per interval to the collector. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "batch.h"
#include "bpf_loader.h"
#include "clock.h"
#include "cpu_sched_loader.h"
#include "discovery.h"
#include "host_metrics.h"
#include "kvm_exit_loader.h"
#include "net_tc_loader.h"
#include "disk_io_loader.h"
#include "log.h"
#include "probe_args.h"
#include "sampler.h"
#include "shipper.h"
#include "wire.h"

#define FIRST_LISTING_WAIT_MS 3000
#define STOP_DRAIN_MS 2000
#define ONCE_DRAIN_MS 10000

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	/* No SA_RESTART: a signal must cut the interval sleep short. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct probe {
	struct probe_args args;
	char host[WIRE_MAX_HOST + 1];
	struct vm_target pid_targets[PROBE_MAX_PID_TARGETS];
	struct cpu_probe *cpu;
	struct kvm_probe *kvm;          /* NULL: KVM exits not counted */
	struct net_probe *net;          /* NULL: network not counted */
	struct disk_probe *disk;        /* NULL: disks not counted */
	struct discovery *discovery;
	struct shipper *shipper;
	struct sampler *sampler;
	struct host_metrics host_metrics;
	uint64_t next_seq;
};

static int resolve_host(struct probe *p)
{
	if (p->args.host) {
		snprintf(p->host, sizeof(p->host), "%s", p->args.host);
		return 0;
	}
	if (gethostname(p->host, sizeof(p->host)) < 0 || !wire_valid_host(p->host)) {
		log_error("this host's name '%s' cannot be reported; give one with --host", p->host);
		return -1;
	}
	return 0;
}

static int init_pid_targets(struct probe *p)
{
	for (size_t i = 0; i < p->args.n_pids; i++) {
		const struct pid_target_arg *a = &p->args.pids[i];
		if (a->pid_file[0]) {
			if (pid_target_init_file(&p->pid_targets[i], p->host, a->name, a->pid_file) < 0) {
				fprintf(stderr, "vigil-probe: --pid %s=%s: unusable name or pid file path\n", a->name,
					a->pid_file);
				return -1;
			}
			if (p->pid_targets[i].pid <= 0)
				log_warn("--pid %s=%s: no running process yet; listed as no-process until there is",
					 a->name, a->pid_file);
		} else if (pid_target_init(&p->pid_targets[i], p->host, a->name, a->pid) < 0) {
			fprintf(stderr, "vigil-probe: --pid %s=%d: no such process\n", a->name, a->pid);
			return -1;
		}
		memcpy(p->pid_targets[i].disks, a->disks, sizeof(a->disks));
		p->pid_targets[i].n_disks = a->n_disks;
	}
	return 0;
}

/* A --pid target whose process ended stays listed, as "no-process"; one
 * given by a pid file follows the file. */
static void check_pid_targets(struct probe *p)
{
	for (size_t i = 0; i < p->args.n_pids; i++) {
		struct vm_target *t = &p->pid_targets[i];
		if (p->args.pids[i].pid_file[0]) {
			pid_target_follow(t, p->host, p->args.pids[i].pid_file);
			continue;
		}
		if (t->pid > 0 && kill(t->pid, 0) < 0 && errno == ESRCH) {
			log_info("--pid %s=%d: the process has exited", t->name, t->pid);
			t->pid = 0;
			snprintf(t->state, sizeof(t->state), "no-process");
		}
	}
}

/* The monitored set: --pid targets plus libvirt's latest listing. Never
 * waits on libvirt. */
static void sync_targets(struct probe *p)
{
	struct vm_list domains = { NULL, 0 };
	check_pid_targets(p);
	discovery_latest(p->discovery, &domains);
	size_t n = p->args.n_pids + domains.count;
	struct vm_target *all = calloc(n ? n : 1, sizeof(*all));
	if (all) {
		memcpy(all, p->pid_targets, p->args.n_pids * sizeof(*all));
		if (domains.count)
			memcpy(all + p->args.n_pids, domains.vms, domains.count * sizeof(*all));
		sampler_sync(p->sampler, all, n);
		free(all);
	}
	vm_list_free(&domains);
}

static void emit_batch(struct probe *p, Vigil__Batch *b)
{
	if (p->args.to_stdout) {
		batch_print(stdout, b);
		return;
	}
	uint8_t *buf;
	size_t len;
	if (batch_pack(b, &buf, &len) < 0) {
		log_error("out of memory packing batch %llu; skipped", (unsigned long long)b->seq);
		return;
	}
	shipper_enqueue(p->shipper, b->seq, buf, len);
}

static void sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = { (time_t)(deadline_ns / 1000000000ull), (long)(deadline_ns % 1000000000ull) };
	while (!stop_requested && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* One interval: read, build, hand over, then refresh the monitored set so
 * new VMs count from the interval that is starting. */
static void run_interval(struct probe *p, uint64_t start_ns, uint64_t end_ns, int64_t t_start_ms, int64_t t_end_ms)
{
	Vigil__Batch *b = batch_new(p->host, p->next_seq++, t_start_ms, t_end_ms, p->args.interval_ms);
	if (!b) {
		log_error("out of memory building a batch; interval skipped");
		return;
	}
	int rc = sampler_collect(p->sampler, end_ns, end_ns - start_ns, b);
	if (rc == 0)
		rc = host_metrics_emit(&p->host_metrics, b, p->host, (unsigned)b->n_vms, end_ns - start_ns);
	if (rc < 0)
		log_error("reading the kernel counters failed: %s; interval skipped", strerror(-rc));
	else
		emit_batch(p, b);
	batch_free(b);
	sync_targets(p);
}

static void run_loop(struct probe *p)
{
	uint64_t step = (uint64_t)p->args.interval_ms * 1000000ull;
	uint64_t start_ns = clock_monotonic_ns();
	int64_t t_start_ms = clock_realtime_ms();
	for (uint64_t deadline = start_ns + step; !stop_requested; deadline += step) {
		sleep_until(deadline);
		if (stop_requested)
			break;
		uint64_t end_ns = clock_monotonic_ns();
		int64_t t_end_ms = clock_realtime_ms();
		run_interval(p, start_ns, end_ns, t_start_ms, t_end_ms);
		start_ns = end_ns;
		t_start_ms = t_end_ms;
		if (p->args.once)
			break;
		/* After a long stall (suspend, debugger), skip missed ticks. */
		if (clock_monotonic_ns() > deadline + step)
			deadline = clock_monotonic_ns() - step;
	}
}

static int start_components(struct probe *p)
{
	char err[512];
	if (cpu_probe_open(&p->cpu, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	/* Optional: TCG-only hosts and hosts without the kvm module have no
	 * exits to count; everything else still runs. */
	if (kvm_probe_open(&p->kvm, err, sizeof(err)) < 0)
		log_warn("KVM exits not counted: %s", err);
	if (net_probe_open(&p->net, err, sizeof(err)) < 0)
		log_warn("network traffic not counted: %s", err);
	if (disk_probe_open(&p->disk, err, sizeof(err)) < 0)
		log_warn("disk I/O not counted: %s", err);
	if (discovery_start(&p->discovery, p->args.libvirt_uri, p->args.rediscover_ms) < 0) {
		log_error("cannot start VM discovery");
		return -1;
	}
	if (!p->args.to_stdout && shipper_start(&p->shipper, p->args.collector, p->args.queue_max, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	p->host_metrics.family_counted[PROBE_FAMILY_CPU] = true;
	p->host_metrics.family_counted[PROBE_FAMILY_KVM] = p->kvm != NULL;
	p->host_metrics.family_counted[PROBE_FAMILY_NET] = p->net != NULL;
	p->host_metrics.family_counted[PROBE_FAMILY_DISK] = p->disk != NULL;
	const struct sampler_probes optional = { .kvm = p->kvm, .net = p->net, .disk = p->disk };
	if (sampler_new(&p->sampler, p->cpu, &optional) < 0) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

static int finish(struct probe *p)
{
	int rc = 0;
	if (p->shipper) {
		size_t left = shipper_drain(p->shipper, p->args.once ? ONCE_DRAIN_MS : STOP_DRAIN_MS);
		if (left && p->args.once) {
			log_error("the batch was not acknowledged by %s", p->args.collector);
			rc = EXIT_RUNTIME;
		}
		shipper_stop(p->shipper);
	}
	sampler_free(p->sampler);
	host_metrics_free(&p->host_metrics);
	if (p->discovery)
		discovery_stop(p->discovery);
	kvm_probe_close(p->kvm);
	net_probe_close(p->net);
	disk_probe_close(p->disk);
	cpu_probe_close(p->cpu);
	return rc;
}

int main(int argc, char **argv)
{
	static struct probe p;
	switch (probe_args_parse(argc, argv, &p.args, stdout, stderr)) {
	case ARGS_EXIT_OK:
		return 0;
	case ARGS_USAGE_ERROR:
		return EXIT_USAGE;
	case ARGS_RUN:
		break;
	}
	log_init("vigil-probe", p.args.log_level);
	/* Once, for every loader: library code never sets it. */
	libbpf_set_print(bpf_loader_print);
	if (resolve_host(&p) < 0 || init_pid_targets(&p) < 0)
		return EXIT_USAGE;
	install_signals();
	/* Sequence numbers start at the wall clock in microseconds, so they keep
	 * increasing across probe restarts without any state on disk. */
	struct timeval tv;
	gettimeofday(&tv, NULL);
	p.next_seq = (uint64_t)tv.tv_sec * 1000000ull + (uint64_t)tv.tv_usec;

	if (start_components(&p) < 0) {
		finish(&p);
		return EXIT_RUNTIME;
	}
	discovery_wait_first(p.discovery, FIRST_LISTING_WAIT_MS);
	sync_targets(&p);
	log_info("host %s: sampling every %u ms%s%s", p.host, p.args.interval_ms,
		 p.args.to_stdout ? ", printing to stdout" : ", sending to ",
		 p.args.to_stdout ? "" : p.args.collector);
	run_loop(&p);
	return finish(&p);
}
