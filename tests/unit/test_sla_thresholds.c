/* Thresholds to evidence states: hysteresis, lower-is-worse rules, per-vCPU
 * and per-second scaling, tag selection, absent readings; and the "sla"
 * configuration group with its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch.h"
#include "sla_config.h"
#include "sla_eval.h"
#include "sla_live.h"

static void test_hysteresis(void **state)
{
	(void)state;
	struct sla_rule r = { .warning = 50, .critical = 80 };
	double h = 0.1; /* falling needs 45 / 72 */
	assert_int_equal(sla_rule_level(&r, 40, -1, h), SLA_OK);
	assert_int_equal(sla_rule_level(&r, 50, SLA_OK, h), SLA_WARNING);   /* rising: at once */
	assert_int_equal(sla_rule_level(&r, 85, SLA_WARNING, h), SLA_CRITICAL);
	assert_int_equal(sla_rule_level(&r, 75, SLA_CRITICAL, h), SLA_CRITICAL); /* hovering below 80 */
	assert_int_equal(sla_rule_level(&r, 72, SLA_CRITICAL, h), SLA_CRITICAL);
	assert_int_equal(sla_rule_level(&r, 71.9, SLA_CRITICAL, h), SLA_WARNING);
	assert_int_equal(sla_rule_level(&r, 47, SLA_WARNING, h), SLA_WARNING);
	assert_int_equal(sla_rule_level(&r, 44, SLA_WARNING, h), SLA_OK);
	assert_int_equal(sla_rule_level(&r, 10, SLA_CRITICAL, h), SLA_OK); /* a big drop goes all the way */
	assert_int_equal(sla_rule_level(&r, 75, SLA_CRITICAL, 0), SLA_WARNING); /* no hysteresis */
	/* A value flapping around the threshold changes state once. */
	double flap[] = { 79, 81, 79, 81, 78, 80.5, 77 };
	int level = SLA_WARNING, changes = 0;
	for (size_t i = 0; i < sizeof(flap) / sizeof(flap[0]); i++) {
		int next = sla_rule_level(&r, flap[i], level, h);
		changes += next != level;
		level = next;
	}
	assert_int_equal(changes, 1);
	assert_int_equal(level, SLA_CRITICAL);
}

static void test_lower_is_worse(void **state)
{
	(void)state;
	/* Free memory: WARNING under 1 GiB, CRITICAL under 256 MiB. */
	struct sla_rule r = { .warning = 1024, .critical = 256 };
	assert_int_equal(sla_rule_level(&r, 2048, -1, 0.1), SLA_OK);
	assert_int_equal(sla_rule_level(&r, 1000, SLA_OK, 0.1), SLA_WARNING);
	assert_int_equal(sla_rule_level(&r, 200, SLA_WARNING, 0.1), SLA_CRITICAL);
	assert_int_equal(sla_rule_level(&r, 270, SLA_CRITICAL, 0.1), SLA_CRITICAL); /* needs > 281.6 */
	assert_int_equal(sla_rule_level(&r, 290, SLA_CRITICAL, 0.1), SLA_WARNING);
}

struct model_fixture {
	struct sla_config cfg;
	struct sla_model model;
	struct sla_ruleset rules;
};

static void load_config(struct sla_config *c, const char *text)
{
	config_t cfg;
	char err[512];
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE)
		fail_msg("libconfig: line %d: %s", config_error_line(&cfg), config_error_text(&cfg));
	if (sla_config_read(&cfg, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	config_destroy(&cfg);
}

static void build(struct model_fixture *f, const char *config_text)
{
	char err[512];
	struct bn net;
	load_config(&f->cfg, config_text);
	assert_int_equal(bn_load_model(&net, NULL, err, sizeof(err)), 0);
	if (sla_model_init(&f->model, &net, "default", &f->cfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	struct sla_rule rules[SLA_MAX_RULES];
	int n = sla_config_rules_for(&f->cfg, "hv1", "vm1", "11111111-2222-4333-8444-555555555555", rules);
	if (sla_ruleset_compile(&f->rules, &f->model, rules, n, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

static void release(struct model_fixture *f)
{
	sla_model_free(&f->model);
	sla_config_free(&f->cfg);
}

static Vigil__VmSamples *vm_with(Vigil__Batch *b, unsigned vcpus)
{
	struct vm_target t = { .name = "vm1", .uuid = "11111111-2222-4333-8444-555555555555", .state = "running",
			       .source = VM_SOURCE_LIBVIRT, .pid = 1 };
	return batch_add_vm(b, &t, vcpus);
}

static int node_of(struct model_fixture *f, const char *name)
{
	return bn_find_node(&f->model.net, name);
}

static void test_default_rules_scale_and_select(void **state)
{
	(void)state;
	struct model_fixture f;
	build(&f, "");
	Vigil__Batch *b = batch_new("hv1", 1, 1790000000000LL, 1790000002000LL, 2000);
	Vigil__VmSamples *vm = vm_with(b, 4);
	/* 4 vCPUs: 360% of one core is 90% per vCPU -> WARNING (85..95). */
	batch_add_sample(vm, "cpu.used_pct", 360, NULL, NULL);
	batch_add_sample(vm, "cpu.used_pct", 99, "vcpu", "0"); /* tagged: not the untagged rule's series */
	batch_add_sample(vm, "cpu.wait_pct", 8, NULL, NULL);    /* 2% per vCPU: OK */
	/* 1000 faults in 2 s = 500/s: CRITICAL (>= 200/s). */
	batch_add_sample(vm, "mem.major_faults", 1000, NULL, NULL);
	/* The worst disk counts: vdb's 30 ms p99 is WARNING. */
	batch_add_sample(vm, "disk.read_lat_p99_us", 900, "dev", "vda");
	batch_add_sample(vm, "disk.read_lat_p99_us", 30000, "dev", "vdb");
	/* No network samples: absent = ok. */
	signed char levels[SLA_MAX_RULES];
	int evidence[BN_MAX_NODES];
	struct sla_driver drv[BN_MAX_NODES];
	memset(levels, -1, sizeof(levels));
	for (int i = 0; i < BN_MAX_NODES; i++)
		evidence[i] = -1;
	sla_eval_levels(&f.model, &f.rules, f.cfg.hysteresis, vm, b->interval_ms, levels, evidence, drv);
	assert_int_equal(evidence[node_of(&f, "PROCESSING")], SLA_WARNING);
	assert_int_equal(evidence[node_of(&f, "MEMORY")], SLA_CRITICAL);
	assert_int_equal(evidence[node_of(&f, "STORAGE")], SLA_WARNING);
	assert_int_equal(evidence[node_of(&f, "BANDWIDTH")], SLA_OK);
	assert_int_equal(evidence[node_of(&f, "HOST")], -1); /* not a threshold node */
	const struct sla_driver *d = &drv[node_of(&f, "STORAGE")];
	assert_true(d->value == 30000 && d->threshold == 20000);
	assert_string_equal(d->sample->tags[0]->value, "vdb");
	assert_true(drv[node_of(&f, "PROCESSING")].value == 90);
	batch_free(b);

	/* Without any CPU reading, PROCESSING is unobserved (absent = unknown). */
	b = batch_new("hv1", 2, 1790000002000LL, 1790000004000LL, 2000);
	vm = vm_with(b, 4);
	batch_add_sample(vm, "mem.major_faults", 0, NULL, NULL);
	sla_eval_levels(&f.model, &f.rules, f.cfg.hysteresis, vm, b->interval_ms, levels, evidence, drv);
	assert_int_equal(evidence[node_of(&f, "PROCESSING")], -1);
	assert_int_equal(evidence[node_of(&f, "MEMORY")], SLA_OK);
	batch_free(b);
	release(&f);
}

static void test_overrides_and_combine(void **state)
{
	(void)state;
	struct model_fixture f;
	build(&f, "sla = {\n"
		  "  combine = { STORAGE = \"best\"; };\n"
		  "  thresholds = (\n"
		  "    { node = \"PROCESSING\"; metric = \"cpu.used_pct\"; warning = 50; critical = 80; },\n"
		  "    { node = \"STORAGE\"; metric = \"disk.read_lat_p99_us\"; tags = \"dev=*\"; warning = 10.0; critical = 20.0; },\n"
		  "    { node = \"STORAGE\"; metric = \"disk.write_lat_p99_us\"; tags = \"dev=*\"; warning = 10; critical = 20; }\n"
		  "  );\n"
		  "  hosts = ( { host = \"hv1\"; thresholds = ( { metric = \"cpu.used_pct\"; critical = 60; } ); } );\n"
		  "  vms = ( { vm = \"vm1\"; thresholds = ( { metric = \"cpu.used_pct\"; warning = 55; } ); } );\n"
		  "};\n");
	assert_int_equal(f.rules.n, 3);
	/* Global 50/80, host sets critical 60, VM sets warning 55. */
	assert_true(f.rules.rule[0].warning == 55 && f.rules.rule[0].critical == 60);
	struct sla_rule other[SLA_MAX_RULES];
	int n = sla_config_rules_for(&f.cfg, "hv2", "vm9", "x", other);
	assert_int_equal(n, 3);
	assert_true(other[0].warning == 50 && other[0].critical == 80);

	Vigil__Batch *b = batch_new("hv1", 1, 1790000000000LL, 1790000001000LL, 1000);
	Vigil__VmSamples *vm = vm_with(b, 1);
	batch_add_sample(vm, "cpu.used_pct", 58, NULL, NULL);
	batch_add_sample(vm, "disk.read_lat_p99_us", 25, "dev", "vda");
	batch_add_sample(vm, "disk.write_lat_p99_us", 5, "dev", "vda");
	signed char levels[SLA_MAX_RULES];
	int evidence[BN_MAX_NODES];
	memset(levels, -1, sizeof(levels));
	for (int i = 0; i < BN_MAX_NODES; i++)
		evidence[i] = -1;
	sla_eval_levels(&f.model, &f.rules, f.cfg.hysteresis, vm, 1000, levels, evidence, NULL);
	assert_int_equal(evidence[node_of(&f, "PROCESSING")], SLA_WARNING);
	assert_int_equal(evidence[node_of(&f, "STORAGE")], SLA_OK); /* best of CRITICAL and OK */
	/* Nodes no rule feeds are left unobserved. */
	assert_int_equal(evidence[node_of(&f, "MEMORY")], -1);
	batch_free(b);
	release(&f);
}

static void expect_config_error(const char *text, const char *message)
{
	config_t cfg;
	struct sla_config c;
	char err[512] = "";
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE)
		fail_msg("libconfig: %s", config_error_text(&cfg));
	int rc = sla_config_read(&cfg, &c, err, sizeof(err));
	struct sla_engine *e = NULL;
	if (rc == 0)
		rc = sla_engine_new(&c, &e, err, sizeof(err));
	else
		sla_config_free(&c);
	sla_engine_free(e);
	config_destroy(&cfg);
	assert_int_equal(rc, -1);
	if (!strstr(err, message))
		fail_msg("got \"%s\", want \"%s\"", err, message);
}

static void test_config_errors(void **state)
{
	(void)state;
	expect_config_error("sla = {\n  alert_levle = 0.6;\n};", "line 2: unknown setting 'alert_levle' in sla");
	expect_config_error("sla = { alert_level = 1.5; };", "line 1: sla.alert_level must be above 0 and below 1");
	expect_config_error("sla = { alert_level = 0.5; clear_level = 0.7; };",
			    "sla.clear_level (0.7) must not be above sla.alert_level (0.5)");
	expect_config_error("sla = {\n thresholds = (\n { node = \"PROCESSING\"; metric = \"cpu.used_pct\";\n"
			    "   warning = 50; critical = 50; } ); };",
			    "line 3: thresholds for cpu.used_pct: warning and critical must differ");
	expect_config_error("sla = { thresholds = ( { node = \"PROCESSING\"; metric = \"cpu.used_pct\"; "
			    "tags = \"vcpu\"; warning = 1; critical = 2; } ); };",
			    "thresholds.tags 'vcpu': want");
	expect_config_error("sla = { thresholds = ( { metric = \"cpu.used_pct\"; warning = 1; critical = 2; } ); };",
			    "needs node = \"NODE\"");
	expect_config_error("sla = { hook = { command = \"x\"; timeout = 0; }; };",
			    "sla.hook.timeout must be a whole number from 1 to 86400");
	expect_config_error("sla = {\n\n thresholds = ( { node = \"RUNQUEUE\"; metric = \"cpu.wait_pct\"; "
			    "warning = 1; critical = 2; } ); };",
			    "line 3: thresholds for cpu.wait_pct feed node RUNQUEUE, which the SLA network does not have");
	expect_config_error("sla = { model = \"/nonexistent/model.net\"; };", "/nonexistent/model.net: cannot open");
	expect_config_error("sla = { target = \"SLO\"; };", "the network has no node SLO (sla.target)");
	expect_config_error("sla = { hosts = ( { host = \"hv1\"; thresholds = ( { metric = \"net.rx_bytes\"; "
			    "warning = 1; } ); } ); };",
			    "thresholds entry for net.rx_bytes needs warning and critical");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hysteresis),
		cmocka_unit_test(test_lower_is_worse),
		cmocka_unit_test(test_default_rules_scale_and_select),
		cmocka_unit_test(test_overrides_and_combine),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests_name("sla_thresholds", tests, NULL, NULL);
}
