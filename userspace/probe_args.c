#include "probe_args.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "defaults.h"
#include "wire.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil-probe [OPTIONS]\n"
		"\n"
		"Counts each VM's CPU activity in the kernel (eBPF) and ships it to a\n"
		"vigil-collector every interval. VMs are found through libvirt and/or\n"
		"given with --pid.\n"
		"\n"
		"Options:\n"
		"  -c, --collector URL     collector to send to (default %s)\n"
		"  -l, --libvirt URI       libvirt connection, read-only (default %s)\n"
		"      --no-libvirt        do not use libvirt; monitor --pid targets only\n"
		"  -p, --pid NAME=PID      also monitor process PID as VM NAME; threads\n"
		"                          named 'CPU N/KVM' or 'CPU N/TCG' are its vCPUs\n"
		"                          (repeatable, up to %d)\n"
		"      --pid NAME=/PIDFILE  the same, for the process a pid file names\n"
		"                          (e.g. QEMU's -pidfile), re-read every interval:\n"
		"                          a new process there is VM NAME restarted\n"
		"      --disk DEV=FILE     a disk of the --pid target just before: its\n"
		"                          reads and writes on FILE (system calls and\n"
		"                          io_uring) are disk DEV (repeatable, up to %d)\n"
		"  -i, --interval SECONDS  sampling interval, 0.1-3600 (default 1)\n"
		"      --rediscover SECONDS  how often to re-list libvirt domains (default 5)\n"
		"  -H, --host NAME         host name to report (default: this host's name)\n"
		"      --queue-max N       batches kept while the collector is away\n"
		"                          (default %d; the oldest is dropped past it)\n"
		"      --once              sample one interval, deliver it, and exit\n"
		"      --stdout            print each interval as a table instead of\n"
		"                          sending it (no collector needed)\n"
		"      --log-level LVL     error, warning, info (default) or debug\n"
		"  -h, --help              show this help\n"
		"  -V, --version           show the version\n"
		"\n"
		"Needs root (or CAP_BPF+CAP_PERFMON) to load the kernel programs.\n"
		"Exit status: 0 success, 1 runtime error, 2 usage error.\n",
		VIGIL_DEFAULT_LISTEN, PROBE_DEFAULT_LIBVIRT, PROBE_MAX_PID_TARGETS, VM_MAX_DISKS, PROBE_DEFAULT_QUEUE);
}

int parse_pid_target(const char *text, struct pid_target_arg *t)
{
	const char *eq = strrchr(text, '=');
	if (!eq || eq == text || (size_t)(eq - text) >= sizeof(t->name))
		return -1;
	unsigned long pid = 0;
	t->pid_file[0] = '\0';
	if (eq[1] == '/') {
		/* A pid file: absolute, so that it does not depend on where the
		 * daemon was started from. */
		if (strlen(eq + 1) >= sizeof(t->pid_file))
			return -1;
		memcpy(t->pid_file, eq + 1, strlen(eq + 1) + 1);
	} else if (cli_parse_uint(eq + 1, 1, 4194304, &pid) < 0) {
		return -1;
	}
	memcpy(t->name, text, (size_t)(eq - text));
	t->name[eq - text] = '\0';
	for (const char *c = t->name; *c; c++) {
		if (iscntrl((unsigned char)*c))
			return -1;
	}
	t->pid = (pid_t)pid;
	return 0;
}

int parse_disk_arg(const char *text, struct vm_disk *d)
{
	const char *eq = strchr(text, '=');
	size_t dev_len = eq ? (size_t)(eq - text) : 0;

	if (!dev_len || dev_len >= sizeof(d->dev) || eq[1] != '/' || strlen(eq + 1) >= sizeof(d->path))
		return -1;
	for (size_t i = 0; i < dev_len; i++) {
		if (!isalnum((unsigned char)text[i]))
			return -1;
	}
	memset(d, 0, sizeof(*d));
	memcpy(d->dev, text, dev_len);
	memcpy(d->path, eq + 1, strlen(eq + 1));
	return 0;
}

int parse_interval(const char *text, unsigned *ms)
{
	char *end;
	errno = 0;
	double s = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(s) || s < WIRE_MIN_INTERVAL_MS / 1000.0 ||
	    s > WIRE_MAX_INTERVAL_MS / 1000.0)
		return -1;
	*ms = (unsigned)lround(s * 1000.0);
	return 0;
}

static enum args_result usage_error(FILE *err, const char *fmt, const char *what)
{
	fprintf(err, "vigil-probe: ");
	fprintf(err, fmt, what);
	fprintf(err, "\n");
	return ARGS_USAGE_ERROR;
}

static enum args_result add_pid_target(struct probe_args *a, const char *text, FILE *err)
{
	if (a->n_pids == PROBE_MAX_PID_TARGETS)
		return usage_error(err, "too many --pid targets (limit 64) at '%s'", text);
	if (parse_pid_target(text, &a->pids[a->n_pids]) < 0)
		return usage_error(err,
				   "--pid '%s': want NAME=PID or NAME=/PIDFILE, e.g. --pid web1=4242 or "
				   "--pid web1=/run/qemu/web1.pid",
				   text);
	for (size_t i = 0; i < a->n_pids; i++) {
		if (strcmp(a->pids[i].name, a->pids[a->n_pids].name) == 0)
			return usage_error(err, "--pid '%s': that NAME is already used", text);
	}
	a->n_pids++;
	return ARGS_RUN;
}

/* A disk belongs to the --pid target given last, as libvirt's <disk>
 * elements belong to their domain. */
static enum args_result add_pid_disk(struct probe_args *a, const char *text, FILE *err)
{
	struct pid_target_arg *t = a->n_pids ? &a->pids[a->n_pids - 1] : NULL;

	if (!t)
		return usage_error(err, "--disk '%s': give it after the --pid it belongs to", text);
	if (t->n_disks == VM_MAX_DISKS)
		return usage_error(err, "--disk '%s': too many disks for one --pid (limit 8)", text);
	if (parse_disk_arg(text, &t->disks[t->n_disks]) < 0)
		return usage_error(err, "--disk '%s': want DEV=/path/to/image, e.g. --disk vda=/var/lib/vm/web1.img", text);
	for (unsigned i = 0; i < t->n_disks; i++) {
		if (strcmp(t->disks[i].dev, t->disks[t->n_disks].dev) == 0)
			return usage_error(err, "--disk '%s': that DEV is already given for this --pid", text);
	}
	t->n_disks++;
	return ARGS_RUN;
}

static void set_defaults(struct probe_args *a)
{
	memset(a, 0, sizeof(*a));
	a->collector = VIGIL_DEFAULT_LISTEN;
	a->libvirt_uri = PROBE_DEFAULT_LIBVIRT;
	a->interval_ms = 1000;
	a->rediscover_ms = 5000;
	a->queue_max = PROBE_DEFAULT_QUEUE;
	a->log_level = LOG_LVL_INFO;
}

enum { OPT_NO_LIBVIRT = 256, OPT_REDISCOVER, OPT_QUEUE_MAX, OPT_ONCE, OPT_STDOUT, OPT_LOG_LEVEL, OPT_DISK };

static enum args_result apply_option(int c, const char *arg, struct probe_args *a, FILE *err)
{
	unsigned long v;
	switch (c) {
	case 'c':
		a->collector = arg;
		return ARGS_RUN;
	case 'l':
		a->libvirt_uri = arg;
		return ARGS_RUN;
	case OPT_NO_LIBVIRT:
		a->libvirt_uri = NULL;
		return ARGS_RUN;
	case 'p':
		return add_pid_target(a, arg, err);
	case OPT_DISK:
		return add_pid_disk(a, arg, err);
	case 'i':
		return parse_interval(arg, &a->interval_ms) < 0
			       ? usage_error(err, "--interval '%s': want seconds between 0.1 and 3600", arg)
			       : ARGS_RUN;
	case OPT_REDISCOVER:
		return parse_interval(arg, &a->rediscover_ms) < 0
			       ? usage_error(err, "--rediscover '%s': want seconds between 0.1 and 3600", arg)
			       : ARGS_RUN;
	case 'H':
		return wire_valid_host(arg) ? (a->host = arg, ARGS_RUN)
					    : usage_error(err, "--host '%s': use letters, digits, '.', '-', '_'", arg);
	case OPT_QUEUE_MAX:
		if (cli_parse_uint(arg, 2, 1000000, &v) < 0)
			return usage_error(err, "--queue-max '%s': want a number of batches, 2-1000000", arg);
		a->queue_max = (unsigned)v;
		return ARGS_RUN;
	case OPT_ONCE:
		a->once = 1;
		return ARGS_RUN;
	case OPT_STDOUT:
		a->to_stdout = 1;
		return ARGS_RUN;
	case OPT_LOG_LEVEL:
		a->log_level = cli_parse_log_level(arg);
		return a->log_level < 0 ? usage_error(err, "--log-level '%s': use error, warning, info or debug", arg)
					: ARGS_RUN;
	}
	return ARGS_USAGE_ERROR;
}

enum args_result probe_args_parse(int argc, char **argv, struct probe_args *a, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "collector", required_argument, NULL, 'c' },
		{ "libvirt", required_argument, NULL, 'l' },
		{ "no-libvirt", no_argument, NULL, OPT_NO_LIBVIRT },
		{ "pid", required_argument, NULL, 'p' },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "interval", required_argument, NULL, 'i' },
		{ "rediscover", required_argument, NULL, OPT_REDISCOVER },
		{ "host", required_argument, NULL, 'H' },
		{ "queue-max", required_argument, NULL, OPT_QUEUE_MAX },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "stdout", no_argument, NULL, OPT_STDOUT },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	set_defaults(a);
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":c:l:p:i:H:hV", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(out);
			return ARGS_EXIT_OK;
		}
		if (c == 'V') {
			fprintf(out, "vigil-probe %s\n", VIGIL_VERSION);
			return ARGS_EXIT_OK;
		}
		if (c == ':')
			return usage_error(err, "option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			return usage_error(err, "unknown option '%s'; see --help", argv[optind - 1]);
		if (apply_option(c, optarg, a, err) != ARGS_RUN)
			return ARGS_USAGE_ERROR;
	}
	if (optind < argc)
		return usage_error(err, "unexpected argument '%s'; see --help", argv[optind]);
	return ARGS_RUN;
}
