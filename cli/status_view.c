#include "status_view.h"

#include <json-c/json.h>
#include <time.h>

static void format_age(char *buf, size_t len, int64_t now_ms, int64_t then_ms)
{
	int64_t s = (now_ms - then_ms) / 1000;
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%llds ago", (long long)s);
	else if (s < 7200)
		snprintf(buf, len, "%lldm ago", (long long)(s / 60));
	else
		snprintf(buf, len, "%lldh ago", (long long)(s / 3600));
}

static void format_pct(char *buf, size_t len, int has, double v)
{
	if (has)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "-");
}

void status_print_table(FILE *f, const Vigil__StatusReply *r)
{
	fprintf(f, "%-20s %-24s %-10s %7s %7s %5s  %s\n", "HOST", "VM", "STATE", "CPU%", "WAIT%", "VCPUS",
		"LAST SEEN");
	for (size_t i = 0; i < r->n_vms; i++) {
		const Vigil__VmStatus *v = r->vms[i];
		char cpu[16], wait[16], age[32];
		format_pct(cpu, sizeof(cpu), v->has_cpu, v->cpu_used_pct);
		format_pct(wait, sizeof(wait), v->has_cpu, v->cpu_wait_pct);
		format_age(age, sizeof(age), r->now_ms, v->last_seen_ms);
		fprintf(f, "%-20s %-24s %-10s %7s %7s %5u  %s\n", v->host, v->vm, v->state, cpu, wait, v->vcpus,
			age);
	}
	if (r->n_vms == 0)
		fprintf(f, "(no VMs reported yet)\n");
}

static void iso8601(char *buf, size_t len, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

static json_object *pct_or_null(int has, double v)
{
	return has ? json_object_new_double(v) : NULL;
}

static json_object *vm_json(const Vigil__VmStatus *v)
{
	char when[40];
	json_object *o = json_object_new_object();
	iso8601(when, sizeof(when), v->last_seen_ms);
	json_object_object_add(o, "host", json_object_new_string(v->host));
	json_object_object_add(o, "vm", json_object_new_string(v->vm));
	json_object_object_add(o, "uuid", json_object_new_string(v->uuid));
	json_object_object_add(o, "state", json_object_new_string(v->state));
	json_object_object_add(o, "cpu_used_pct", pct_or_null(v->has_cpu, v->cpu_used_pct));
	json_object_object_add(o, "cpu_wait_pct", pct_or_null(v->has_cpu, v->cpu_wait_pct));
	json_object_object_add(o, "vcpus", json_object_new_int((int32_t)v->vcpus));
	json_object_object_add(o, "last_seen", json_object_new_string(when));
	json_object_object_add(o, "last_seen_ms", json_object_new_int64(v->last_seen_ms));
	return o;
}

int status_print_json(FILE *f, const Vigil__StatusReply *r)
{
	json_object *root = json_object_new_object();
	json_object *vms = json_object_new_array();
	if (!root || !vms) {
		json_object_put(root);
		json_object_put(vms);
		return -1;
	}
	for (size_t i = 0; i < r->n_vms; i++)
		json_object_array_add(vms, vm_json(r->vms[i]));
	json_object_object_add(root, "vms", vms);
	json_object_object_add(root, "now_ms", json_object_new_int64(r->now_ms));
	fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
}
