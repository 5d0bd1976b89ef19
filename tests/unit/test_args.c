/* Command-line parsing of the three programs: defaults, valid forms, and
 * usage errors that must exit 2 with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector_args.h"
#include "config.h"
#include "log.h"
#include "ctl_args.h"
#include "probe_args.h"
#include "server.h"
#include "storage_config.h"
#include "timeparse.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static FILE *sink(void)
{
	FILE *f = fopen("/dev/null", "w");
	assert_non_null(f);
	return f;
}

static enum args_result probe_parse(int argc, char **argv, struct probe_args *a)
{
	FILE *null = sink();
	enum args_result r = probe_args_parse(argc, argv, a, null, null);
	fclose(null);
	return r;
}

static void test_probe_defaults(void **state)
{
	(void)state;
	struct probe_args a;
	char *argv[] = { "vigil-probe", NULL };
	assert_int_equal(probe_parse(ARGC(argv), argv, &a), ARGS_RUN);
	assert_int_equal(a.interval_ms, 1000);
	assert_string_equal(a.libvirt_uri, "qemu:///system");
	assert_string_equal(a.collector, "tcp://127.0.0.1:7450");
	assert_int_equal(a.n_pids, 0);
	assert_false(a.once);
}

static void test_probe_full_command_line(void **state)
{
	(void)state;
	struct probe_args a;
	char *argv[] = { "vigil-probe", "--pid", "busy=123", "-p", "half=4567", "--interval", "0.5",
			 "--libvirt", "test:///default", "--collector", "ipc:///tmp/v.sock", "--once",
			 "--stdout", "--host", "hv-7", NULL };
	assert_int_equal(probe_parse(ARGC(argv), argv, &a), ARGS_RUN);
	assert_int_equal(a.n_pids, 2);
	assert_string_equal(a.pids[0].name, "busy");
	assert_int_equal(a.pids[0].pid, 123);
	assert_string_equal(a.pids[1].name, "half");
	assert_int_equal(a.pids[1].pid, 4567);
	assert_int_equal(a.interval_ms, 500);
	assert_string_equal(a.libvirt_uri, "test:///default");
	assert_string_equal(a.collector, "ipc:///tmp/v.sock");
	assert_true(a.once && a.to_stdout);
	assert_string_equal(a.host, "hv-7");
}

static void test_probe_usage_errors(void **state)
{
	(void)state;
	struct probe_args a;
	char *bad[][4] = {
		{ "vigil-probe", "--pid", "noequals", NULL }, { "vigil-probe", "--pid", "=12", NULL },
		{ "vigil-probe", "--pid", "x=0", NULL },      { "vigil-probe", "--pid", "x=12abc", NULL },
		{ "vigil-probe", "--interval", "0", NULL },   { "vigil-probe", "--interval", "abc", NULL },
		{ "vigil-probe", "--interval", "5000", NULL }, { "vigil-probe", "--bogus", NULL, NULL },
		{ "vigil-probe", "--interval", NULL, NULL },  { "vigil-probe", "stray", NULL, NULL },
		{ "vigil-probe", "--host", "bad host", NULL }, { "vigil-probe", "--queue-max", "1", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;
		while (bad[i][argc])
			argc++;
		if (probe_parse(argc, bad[i], &a) != ARGS_USAGE_ERROR)
			fail_msg("accepted: %s %s", bad[i][1], bad[i][2] ? bad[i][2] : "");
	}
	char *dup[] = { "vigil-probe", "--pid", "a=1", "--pid", "a=2", NULL };
	assert_int_equal(probe_parse(ARGC(dup), dup, &a), ARGS_USAGE_ERROR);
}

/* --disk names a disk of the --pid before it. */
static void test_probe_pid_disks(void **state)
{
	(void)state;
	static struct probe_args a;
	char *argv[] = { "vigil-probe", "--pid", "one=10", "--disk", "vda=/img/a=b.raw", "--disk", "vdb=/img/c",
			 "--pid", "two=20", "--disk", "sda1=/dev/sdz", NULL };
	assert_int_equal(probe_parse(ARGC(argv), argv, &a), ARGS_RUN);
	assert_int_equal(a.pids[0].n_disks, 2);
	assert_string_equal(a.pids[0].disks[0].dev, "vda");
	assert_string_equal(a.pids[0].disks[0].path, "/img/a=b.raw");
	assert_string_equal(a.pids[0].disks[1].dev, "vdb");
	assert_int_equal(a.pids[1].n_disks, 1);
	assert_string_equal(a.pids[1].disks[0].path, "/dev/sdz");

	char *bad[][6] = {
		{ "vigil-probe", "--disk", "vda=/x", NULL },			     /* no --pid before */
		{ "vigil-probe", "--pid", "a=1", "--disk", "vda", NULL },	     /* no FILE */
		{ "vigil-probe", "--pid", "a=1", "--disk", "=/x", NULL },	     /* no DEV */
		{ "vigil-probe", "--pid", "a=1", "--disk", "vda=rel/x", NULL },     /* not absolute */
		{ "vigil-probe", "--pid", "a=1", "--disk", "v/a=/x", NULL },	     /* DEV not a name */
		{ "vigil-probe", "--pid", "a=1", "--disk", "waytoolongdevname=/x", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;
		while (bad[i][argc])
			argc++;
		if (probe_parse(argc, bad[i], &a) != ARGS_USAGE_ERROR)
			fail_msg("accepted: --disk %s", bad[i][argc - 1]);
	}
	char *dup[] = { "vigil-probe", "--pid", "a=1", "--disk", "vda=/x", "--disk", "vda=/y", NULL };
	assert_int_equal(probe_parse(ARGC(dup), dup, &a), ARGS_USAGE_ERROR);
	char *many[] = { "vigil-probe", "--pid", "a=1", "--disk", "d1=/x", "--disk", "d2=/x", "--disk", "d3=/x",
			 "--disk", "d4=/x", "--disk", "d5=/x", "--disk", "d6=/x", "--disk", "d7=/x", "--disk", "d8=/x",
			 "--disk", "d9=/x", NULL };
	assert_int_equal(probe_parse(ARGC(many), many, &a), ARGS_USAGE_ERROR);
	many[ARGC(many) - 2] = NULL;
	assert_int_equal(probe_parse(ARGC(many) - 2, many, &a), ARGS_RUN);
	assert_int_equal(a.pids[0].n_disks, 8);
}

static void test_probe_pid_file_target(void **state)
{
	(void)state;
	struct probe_args a;
	char *argv[] = { "vigil-probe", "--pid", "web1=/run/qemu/web1.pid", "--pid", "db=42", NULL };
	assert_int_equal(probe_parse(ARGC(argv), argv, &a), ARGS_RUN);
	assert_int_equal(a.n_pids, 2);
	assert_string_equal(a.pids[0].name, "web1");
	assert_string_equal(a.pids[0].pid_file, "/run/qemu/web1.pid");
	assert_int_equal(a.pids[0].pid, 0);
	assert_string_equal(a.pids[1].pid_file, "");
	assert_int_equal(a.pids[1].pid, 42);

	/* Relative, or longer than we keep: refused. */
	char long_arg[PROBE_PID_FILE_MAX + 8] = "x=/";
	memset(long_arg + 3, 'p', sizeof(long_arg) - 4);
	long_arg[sizeof(long_arg) - 1] = '\0';
	char *bad[][3] = { { "vigil-probe", "--pid", "x=run/web1.pid" }, { "vigil-probe", "--pid", long_arg } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(probe_parse(3, bad[i], &a), ARGS_USAGE_ERROR);
}

static void test_probe_help_exits_zero(void **state)
{
	(void)state;
	struct probe_args a;
	char *argv[] = { "vigil-probe", "--help", NULL };
	assert_int_equal(probe_parse(ARGC(argv), argv, &a), ARGS_EXIT_OK);
}

static void test_collector_args(void **state)
{
	(void)state;
	struct collector_args a;
	FILE *null = sink();
	char *ok[] = { "vigil-collector", "--listen", "tcp://127.0.0.1:9999", "--db", "/tmp/x.db", NULL };
	assert_int_equal(collector_args_parse(ARGC(ok), ok, &a, null, null), ARGS_RUN);
	assert_string_equal(a.listen, "tcp://127.0.0.1:9999");
	assert_string_equal(a.db, "/tmp/x.db");
	char *def[] = { "vigil-collector", NULL };
	assert_int_equal(collector_args_parse(ARGC(def), def, &a, null, null), ARGS_RUN);
	assert_string_equal(a.db, VIGIL_DEFAULT_DB);
	char *bad[] = { "vigil-collector", "--db", NULL };
	assert_int_equal(collector_args_parse(ARGC(bad), bad, &a, null, null), ARGS_USAGE_ERROR);
	char *lvl[] = { "vigil-collector", "--log-level", "loud", NULL };
	assert_int_equal(collector_args_parse(ARGC(lvl), lvl, &a, null, null), ARGS_USAGE_ERROR);
	fclose(null);
}

/* Writes text to a temporary config file; its path goes into path. */
static void write_config(char *path, const char *text)
{
	strcpy(path, "/tmp/vigil-conf-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Applies a config file's text on top of argv; returns what apply said. */
static int config_over_args(const char *text, char **argv, int argc, struct collector_args *a, config_t *cfg)
{
	FILE *null = sink();
	assert_int_equal(collector_args_parse(argc, argv, a, null, null), ARGS_RUN);
	fclose(null);
	char path[64], err[256];
	write_config(path, text);
	int rc = conffile_load(cfg, path, 1, err, sizeof(err));
	if (rc == 0)
		rc = collector_config_apply(cfg, a, err, sizeof(err));
	unlink(path);
	return rc;
}

static void test_collector_config(void **state)
{
	(void)state;
	struct collector_args a;
	config_t cfg;
	char *plain[] = { "vigil-collector", NULL };
	assert_int_equal(config_over_args("# comment\ndb = \"/tmp/c.db\"; log_level = \"debug\";\n", plain,
					  ARGC(plain), &a, &cfg),
			 0);
	assert_string_equal(a.db, "/tmp/c.db");
	assert_string_equal(a.listen, VIGIL_DEFAULT_LISTEN);
	assert_int_equal(a.log_level, LOG_LVL_DEBUG);
	config_destroy(&cfg);

	char *cli_db[] = { "vigil-collector", "--db", "/tmp/cli.db", NULL };
	assert_int_equal(config_over_args("db = \"/tmp/c.db\";\n", cli_db, ARGC(cli_db), &a, &cfg), 0);
	assert_string_equal(a.db, "/tmp/cli.db"); /* the command line wins */
	config_destroy(&cfg);

	assert_int_equal(config_over_args("dbb = \"/tmp/c.db\";\n", plain, ARGC(plain), &a, &cfg), -1);
	config_destroy(&cfg);
	assert_int_equal(config_over_args("db = \"\";\n", plain, ARGC(plain), &a, &cfg), -1);
	config_destroy(&cfg);
	assert_int_equal(config_over_args("log_level = \"loud\";\n", plain, ARGC(plain), &a, &cfg), -1);
	config_destroy(&cfg);
	assert_int_equal(config_over_args("db = ;\n", plain, ARGC(plain), &a, &cfg), -1); /* syntax */
	config_destroy(&cfg);

	char err[256];
	assert_int_equal(conffile_load(&cfg, "/nonexistent/vigil.conf", 0, err, sizeof(err)), 0);
	config_destroy(&cfg);
	assert_int_equal(conffile_load(&cfg, "/nonexistent/vigil.conf", 1, err, sizeof(err)), -1);
	config_destroy(&cfg);
}

static void test_vigilctl_args(void **state)
{
	(void)state;
	struct ctl_args a;
	FILE *null = sink();
	char *ok[] = { "vigilctl", "status", "--json", "--db", "/tmp/v.db", NULL };
	assert_int_equal(ctl_args_parse(ARGC(ok), ok, &a, null, null), ARGS_RUN);
	assert_int_equal(a.command, CTL_STATUS);
	assert_true(a.json);
	assert_string_equal(a.db, "/tmp/v.db");
	char *metrics[] = { "vigilctl", "metrics", "--json", NULL };
	assert_int_equal(ctl_args_parse(ARGC(metrics), metrics, &a, null, null), ARGS_RUN);
	assert_int_equal(a.command, CTL_METRICS);
	assert_true(a.json);
	char *none[] = { "vigilctl", NULL };
	assert_int_equal(ctl_args_parse(ARGC(none), none, &a, null, null), ARGS_USAGE_ERROR);
	char *unknown[] = { "vigilctl", "frobnicate", NULL };
	assert_int_equal(ctl_args_parse(ARGC(unknown), unknown, &a, null, null), ARGS_USAGE_ERROR);
	char *extra[] = { "vigilctl", "status", "now", NULL };
	assert_int_equal(ctl_args_parse(ARGC(extra), extra, &a, null, null), ARGS_USAGE_ERROR);
	char *timeout[] = { "vigilctl", "--timeout", "-5", "status", NULL };
	assert_int_equal(ctl_args_parse(ARGC(timeout), timeout, &a, null, null), ARGS_USAGE_ERROR);
	fclose(null);
}

static void test_vigilctl_history_args(void **state)
{
	(void)state;
	struct ctl_args a;
	FILE *null = sink();
	const int64_t now = 1790000000000LL;
	char *ok[] = { "vigilctl", "history", "vm1", "cpu.used_pct", "--tag", "vcpu=0", "--since", "-1h",
		       "--until", "2026-09-21T14:00:00Z", "--step", "15m", "--csv", NULL };
	assert_int_equal(ctl_args_parse_at(ARGC(ok), ok, &a, now, null, null), ARGS_RUN);
	assert_int_equal(a.command, CTL_HISTORY);
	assert_string_equal(a.vm, "vm1");
	assert_string_equal(a.metric, "cpu.used_pct");
	assert_int_equal(a.n_tags, 1);
	assert_string_equal(a.tags[0].key, "vcpu");
	assert_string_equal(a.tags[0].value, "0");
	assert_int_equal(a.since_ms, now - 3600000);
	assert_int_equal(a.until_ms, 1789999200000LL);
	assert_int_equal(a.step_ms, 900000);
	assert_true(a.csv);
	/* Defaults: the last hour, intervals. */
	char *plain[] = { "vigilctl", "--db", "x.db", "history", "vm1", NULL };
	assert_int_equal(ctl_args_parse_at(ARGC(plain), plain, &a, now, null, null), ARGS_RUN);
	assert_null(a.metric);
	assert_int_equal(a.since_ms, now - 3600000);
	assert_int_equal(a.step_ms, 0);
	char *vms[] = { "vigilctl", "vms", "--host", "hv1", "--json", NULL };
	assert_int_equal(ctl_args_parse_at(ARGC(vms), vms, &a, now, null, null), ARGS_RUN);
	assert_int_equal(a.command, CTL_VMS);
	assert_string_equal(a.host, "hv1");
	char *show[] = { "vigilctl", "show", "vm1", NULL };
	assert_int_equal(ctl_args_parse_at(ARGC(show), show, &a, now, null, null), ARGS_RUN);
	assert_int_equal(a.command, CTL_SHOW);
	char *hosts[] = { "vigilctl", "hosts", NULL };
	assert_int_equal(ctl_args_parse_at(ARGC(hosts), hosts, &a, now, null, null), ARGS_RUN);
	assert_int_equal(a.command, CTL_HOSTS);

	/* Usage errors. */
	char *bad[][8] = {
		{ "vigilctl", "history", NULL },				   /* no VM */
		{ "vigilctl", "history", "vm1", "cpu.used_pct", "extra", NULL },	   /* too many */
		{ "vigilctl", "history", "vm1", "--since", "yesterday", NULL },	   /* not a time */
		{ "vigilctl", "history", "vm1", "--step", "fast", NULL },	   /* not a duration */
		{ "vigilctl", "history", "vm1", "--tag", "vcpu", NULL },	   /* no value */
		{ "vigilctl", "history", "vm1", "--csv", "--json", NULL },	   /* two formats */
		{ "vigilctl", "history", "vm1", "--host", "hv1", NULL },	   /* a vms option */
		{ "vigilctl", "status", "--since", "-1h", NULL },		   /* a history option */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = 0;
		while (bad[i][n])
			n++;
		assert_int_equal(ctl_args_parse_at(n, bad[i], &a, now, null, null), ARGS_USAGE_ERROR);
	}
	char *backwards[] = { "vigilctl", "history", "vm1", "--since", "-1h", "--until", "-2h", NULL };
	assert_int_equal(ctl_args_parse_at(ARGC(backwards), backwards, &a, now, null, null), ARGS_USAGE_ERROR);
	char *show_none[] = { "vigilctl", "show", NULL };
	assert_int_equal(ctl_args_parse_at(ARGC(show_none), show_none, &a, now, null, null), ARGS_USAGE_ERROR);
	fclose(null);
}

/* Every form of the time grammar (common/timeparse.h), as --since,
 * --until and alerts --since take it. */
static void test_time_parsing(void **state)
{
	(void)state;
	const int64_t now = 1790000000000LL;
	const int64_t day = 1772323200000LL; /* 2026-03-01T00:00:00Z */
	static const struct {
		const char *text;
		int64_t want;
	} good[] = {
		/* ISO 8601: dates, times, seconds, fractions and zones */
		{ "2026-03-01", day },
		{ "2026-3-1", day },
		{ "2026-03-01Z", day },
		{ "2026-03-01T12:30", day + (12 * 3600 + 30 * 60) * 1000LL },
		{ "2026-03-01t12:30Z", day + (12 * 3600 + 30 * 60) * 1000LL },
		{ "2026-03-01 12:30", day + (12 * 3600 + 30 * 60) * 1000LL },
		{ "2026-03-01T9:05", day + (9 * 3600 + 5 * 60) * 1000LL },
		{ "2026-03-01T12:30:15Z", day + (12 * 3600 + 30 * 60 + 15) * 1000LL },
		{ "2026-03-01T12:30:15", day + (12 * 3600 + 30 * 60 + 15) * 1000LL },
		{ "2026-03-01 12:30:15", day + (12 * 3600 + 30 * 60 + 15) * 1000LL },
		{ "2026-03-01 12:30:15.25+02:00", day + (10 * 3600 + 30 * 60 + 15) * 1000LL + 250 },
		{ "2026-03-01T12:30:15.123456Z", day + (12 * 3600 + 30 * 60 + 15) * 1000LL + 123 },
		{ "2026-03-01T12:30-0130", day + (14 * 3600) * 1000LL },
		{ "2026-03-01T12:30+02", day + (10 * 3600 + 30 * 60) * 1000LL },
		{ "2024-02-29", 1709164800000LL },
		/* now, and times ago: with a unit, or with a minus */
		{ "now", now },
		{ "-1h", now - 3600000 },
		{ "30m", now - 1800000 },
		{ "30min", now - 1800000 },
		{ "2h", now - 7200000 },
		{ "1.5h", now - 5400000 },
		{ "-1.5h", now - 5400000 },
		{ ".5h", now - 1800000 },
		{ "-2d12h", now - 60 * 3600000LL },
		{ "2d12h", now - 60 * 3600000LL },
		{ "1h30min", now - 5400000 },
		{ "2w", now - 14 * 86400000LL },
		{ "1y", now - 365 * 86400000LL },
		{ "250ms", now - 250 },
		{ "2026s", now - 2026000 },
		{ "-90", now - 90000 },
		{ "0s", now },
		/* Unix seconds */
		{ "@1767225600", 1767225600000LL },
		{ "@1767225600.5", 1767225600500LL },
		{ "@0", 0 },
		{ "1767225600", 1767225600000LL },
		{ "100000000", 100000000000LL },
	};
	int64_t t;
	char err[300];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		if (timeparse_time_ms(good[i].text, now, &t, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", good[i].text, err);
		if (t != good[i].want)
			fail_msg("'%s': %lld, want %lld", good[i].text, (long long)t, (long long)good[i].want);
	}
	const char *bad[] = { "", "yesterday", "2026-13-01", "2026-02-30", "2025-02-29", "2026-02-30x", "12:00",
			      "-", "-1x", "@x", "@-5", "@", "2026-03-01T25:00", "2026-03-01T12:60", "2026-03-01T12:00+5",
			      "2026-03-01T12", "2026-03-01T12:00:", "2026-03-01T12:00:00.", "26-03-01", "NOW", "1h30",
			      "1H", "5 m", "+5m", "1e3s", "0x10s", "--1h", "1.5.5h", "now-1h", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (timeparse_time_ms(bad[i], now, &t, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted as %lld", bad[i], (long long)t);
		if (!strstr(err, "ISO 8601"))
			fail_msg("'%s': the error '%s' does not name the forms", bad[i], err);
	}
	/* A bare small number could be a year or seconds ago: refused, saying how to write either. */
	const char *ambiguous[] = { "2026", "90", "0", "1.5", "99999999" };
	for (size_t i = 0; i < sizeof(ambiguous) / sizeof(ambiguous[0]); i++) {
		assert_int_equal(timeparse_time_ms(ambiguous[i], now, &t, err, sizeof(err)), -1);
		if (!strstr(err, "ambiguous") || !strstr(err, "s) or a minus"))
			fail_msg("'%s': %s", ambiguous[i], err);
	}
}

/* Every form of the duration grammar (--step, --window, --slice, and the
 * collector's storage settings). */
static void test_duration_parsing(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int64_t want;
	} good[] = {
		{ "90s", 90000 },	     { "15", 15000 },	       { "1.5", 1500 },	       { "250ms", 250 },
		{ "15m", 900000 },	     { "15min", 900000 },      { "1h30m", 5400000 },   { "1h30min", 5400000 },
		{ "30m1h", 5400000 },	     { "1.5h", 5400000 },      { ".5h", 1800000 },     { "0.5s", 500 },
		{ "2d", 172800000 },	     { "14d", 14 * 86400000LL }, { "2w", 14 * 86400000LL },
		{ "2y", 730 * 86400000LL }, { "1d12h30m15s500ms", 131415500 },
	};
	int64_t d;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (timeparse_duration_ms(good[i].text, &d) != 0)
			fail_msg("'%s' refused", good[i].text);
		if (d != good[i].want)
			fail_msg("'%s': %lld, want %lld", good[i].text, (long long)d, (long long)good[i].want);
	}
	const char *bad[] = { "", "0", "0s", "0.0001s", "1x", "-5m", "+5m", "1h30", "m", "5 m", " 5m", "5m ",
			      "1H", "1e3", "1e3s", "0x10", "inf", "nan", "1.5.5h", "1hh", "mins", "1mins",
			      "99999999999999999999y" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (timeparse_duration_ms(bad[i], &d) != -1)
			fail_msg("'%s' accepted as %lld", bad[i], (long long)d);
	char buf[32];
	timeparse_format_duration(buf, sizeof(buf), 5400000);
	assert_string_equal(buf, "1h30m");
	timeparse_format_duration(buf, sizeof(buf), 730 * 86400000LL);
	assert_string_equal(buf, "2y");
	timeparse_format_duration(buf, sizeof(buf), 14 * 86400000LL + 250);
	assert_string_equal(buf, "14d250ms");
	timeparse_format_iso(buf, sizeof(buf), 1772323200250LL);
	assert_string_equal(buf, "2026-03-01T00:00:00.250Z");
}

static int storage_from(const char *text, struct storage_config *c, char *err, size_t errlen)
{
	config_t cfg;
	config_init(&cfg);
	int rc = config_read_string(&cfg, text) == CONFIG_TRUE ? storage_config_read(&cfg, c, err, errlen) : -2;
	config_destroy(&cfg);
	return rc;
}

static void test_storage_config(void **state)
{
	(void)state;
	struct storage_config c;
	char err[300];
	assert_int_equal(storage_from("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.retention_ms[0], 14 * 86400000LL);
	assert_int_equal(c.retention_ms[1], 90 * 86400000LL);
	assert_int_equal(c.retention_ms[2], 730 * 86400000LL);
	assert_int_equal(c.n_deadbands, 0);
	storage_config_free(&c);
	assert_int_equal(storage_from("storage = { retention = { raw = \"7d\"; minute = \"30d\"; };\n"
				      "  deadband = ( { metric = \"cpu.used_pct\"; absolute = 0.5; },\n"
				      "               { metric = \"mem.rss_bytes\"; relative = 0.01; } );\n"
				      "  commit_max_ms = 20; flush_journal_mb = 8; flush_interval = \"5m\"; };",
				      &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.retention_ms[0], 7 * 86400000LL);
	assert_int_equal(c.retention_ms[1], 30 * 86400000LL);
	assert_int_equal(c.n_deadbands, 2);
	assert_true(deadband_accepts(storage_deadband(&c, "cpu.used_pct"), 10, 10.5));
	assert_false(deadband_accepts(storage_deadband(&c, "cpu.used_pct"), 10, 10.51));
	assert_true(deadband_accepts(storage_deadband(&c, "mem.rss_bytes"), 1000, 990));
	assert_false(deadband_accepts(storage_deadband(&c, "cpu.wait_pct"), 1, 1.0001));
	assert_int_equal(c.commit_max_ms, 20);
	assert_int_equal(c.flush_bytes, 8u << 20);
	assert_int_equal(c.flush_ms, 300000);
	storage_config_free(&c);
	/* Errors name the line and the problem. */
	const char *bad[][2] = {
		{ "storage = { typo = 1; };", "unknown setting 'typo'" },
		{ "storage = { deadband = ( { metric = \"cpu.preempted\"; absolute = 1; } ); };", "only gauges" },
		{ "storage = { deadband = ( { metric = \"no.such\"; absolute = 1; } ); };", "catalogue" },
		{ "storage = { deadband = ( { metric = \"cpu.used_pct\"; relative = 2.0; } ); };", "fraction" },
		{ "storage = { deadband = ( { metric = \"cpu.used_pct\"; } ); };", "exactly one" },
		{ "storage = {\n retention = { raw = \"100d\"; }; };", "line 2" },
		{ "storage = { retention = { raw = \"soon\"; }; };", "duration" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(storage_from(bad[i][0], &c, err, sizeof(err)), -1);
		if (!strstr(err, bad[i][1]))
			fail_msg("'%s': error '%s' lacks '%s'", bad[i][0], err, bad[i][1]);
		storage_config_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_defaults),	      cmocka_unit_test(test_probe_full_command_line),
		cmocka_unit_test(test_probe_usage_errors),    cmocka_unit_test(test_probe_help_exits_zero),
		cmocka_unit_test(test_probe_pid_disks),
		cmocka_unit_test(test_probe_pid_file_target),
		cmocka_unit_test(test_collector_args),	      cmocka_unit_test(test_collector_config),
		cmocka_unit_test(test_vigilctl_args),	      cmocka_unit_test(test_vigilctl_history_args),
		cmocka_unit_test(test_time_parsing),	      cmocka_unit_test(test_duration_parsing),
		cmocka_unit_test(test_storage_config),
	};
	return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
