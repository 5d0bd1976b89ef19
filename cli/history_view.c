#include "history_view.h"

#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "query.h"
#include "timeparse.h"

void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static void when(char *buf, size_t len, int64_t ms)
{
	timeparse_format_iso(buf, len, ms);
}

/* A counter's total over an interval: each of its samples counted value. */
static int is_counter(const Vigil__HistoryRow *row)
{
	return strcmp(row->kind, "counter") == 0;
}

static void flags_text(char *buf, size_t len, const Vigil__HistoryRow *row)
{
	snprintf(buf, len, "%s%s%s", row->gap ? "gap " : "", row->reset ? "reset " : "", row->open ? "open" : "");
	size_t n = strlen(buf);
	if (n && buf[n - 1] == ' ')
		buf[n - 1] = '\0';
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* ---- tables -------------------------------------------------------------- */

static void intervals_table(FILE *f, const Vigil__HistoryReply *r)
{
	fprintf(f, "%-22s %-20s %-24s %-24s %14s %7s  %s\n", "METRIC", "TAGS", "START", "END", "VALUE", "SAMPLES",
		"FLAGS");
	const Vigil__HistoryRow *names = NULL;
	for (size_t i = 0; i < r->n_rows; i++) {
		const Vigil__HistoryRow *row = r->rows[i];
		char t0[40], t1[40], fl[32];
		names = history_row_names(row, names);
		when(t0, sizeof(t0), row->t_start_ms);
		when(t1, sizeof(t1), row->t_end_ms);
		flags_text(fl, sizeof(fl), row);
		fprintf(f, "%-22s %-20s %-24s %-24s %14.6g %7u  %s\n", names->metric, or_dash(names->tags), t0, t1,
			row->value, row->samples, fl);
	}
}

/* A step's mean, min, max and last as text. A steady step's four are one
 * number, formatted once: printing doubles is most of the command's time
 * on a long history. */
static void step_numbers(const Vigil__HistoryRow *row, char out[4][32])
{
	const double v[4] = { row->value, row->min, row->max, row->last };
	for (int i = 0; i < 4; i++) {
		if (i > 0 && v[i] == v[i - 1] && signbit(v[i]) == signbit(v[i - 1]))
			memcpy(out[i], out[i - 1], sizeof(out[i]));
		else
			snprintf(out[i], sizeof(out[i]), "%.6g", v[i]);
	}
}

static void rollups_table(FILE *f, const Vigil__HistoryReply *r)
{
	fprintf(f, "%-22s %-20s %-24s %12s %12s %12s %12s %14s %8s  %s\n", "METRIC", "TAGS", "START", "MEAN", "MIN",
		"MAX", "LAST", "SUM", "COVERED", "FLAGS");
	const Vigil__HistoryRow *names = NULL;
	for (size_t i = 0; i < r->n_rows; i++) {
		const Vigil__HistoryRow *row = r->rows[i];
		char t0[40], sum[32], cov[16], fl[32], num[4][32];
		names = history_row_names(row, names);
		when(t0, sizeof(t0), row->t_start_ms);
		if (is_counter(names))
			snprintf(sum, sizeof(sum), "%.6g", row->sum);
		else
			snprintf(sum, sizeof(sum), "-");
		timeparse_format_duration(cov, sizeof(cov), row->covered_ms);
		flags_text(fl, sizeof(fl), row);
		step_numbers(row, num);
		fprintf(f, "%-22s %-20s %-24s %12s %12s %12s %12s %14s %8s  %s\n", names->metric, or_dash(names->tags), t0,
			num[0], num[1], num[2], num[3], sum, cov, fl);
	}
}

static void history_header(FILE *f, const Vigil__HistoryReply *r)
{
	char step[32];
	if (r->n_rows == 0) {
		fprintf(f, "(no stored readings in this window)\n");
		return;
	}
	const Vigil__HistoryRow *first = r->rows[0];
	if (r->step_ms) {
		timeparse_format_duration(step, sizeof(step), r->step_ms);
		fprintf(f, "%s on %s (%s): %s rollups, step %s\n", first->vm, first->host, first->vm_uuid, r->tier, step);
	} else {
		fprintf(f, "%s on %s (%s): intervals\n", first->vm, first->host, first->vm_uuid);
	}
}

/* ---- JSON ----------------------------------------------------------------- */

static json_object *tags_json(const char *canonical)
{
	json_object *o = json_object_new_object();
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", canonical);
	char *save = NULL;
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq = '\0';
		json_object_object_add(o, kv, json_object_new_string(eq + 1));
	}
	return o;
}

static void add_time(json_object *o, const char *name, int64_t ms)
{
	char buf[40], key[48];
	when(buf, sizeof(buf), ms);
	json_object_object_add(o, name, json_object_new_string(buf));
	snprintf(key, sizeof(key), "%s_ms", name);
	json_object_object_add(o, key, json_object_new_int64(ms));
}

/* names: the row that carries row's names (history_row_names). */
static json_object *row_json(const Vigil__HistoryRow *row, const Vigil__HistoryRow *names, int rollup)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(names->host));
	json_object_object_add(o, "vm", json_object_new_string(names->vm));
	json_object_object_add(o, "vm_uuid", json_object_new_string(names->vm_uuid));
	json_object_object_add(o, "layer", json_object_new_string(names->layer));
	json_object_object_add(o, "metric", json_object_new_string(names->metric));
	json_object_object_add(o, "tags", tags_json(names->tags));
	json_object_object_add(o, "unit", json_object_new_string(names->unit));
	json_object_object_add(o, "kind", json_object_new_string(names->kind));
	add_time(o, "t_start", row->t_start_ms);
	add_time(o, "t_end", row->t_end_ms);
	if (rollup) {
		json_object_object_add(o, "mean", json_object_new_double(row->value));
		json_object_object_add(o, "min", json_object_new_double(row->min));
		json_object_object_add(o, "max", json_object_new_double(row->max));
		json_object_object_add(o, "last", json_object_new_double(row->last));
		if (is_counter(names))
			json_object_object_add(o, "sum", json_object_new_double(row->sum));
		json_object_object_add(o, "covered_ms", json_object_new_int64(row->covered_ms));
	} else {
		json_object_object_add(o, "value", json_object_new_double(row->value));
		json_object_object_add(o, "samples", json_object_new_int64(row->samples));
		if (is_counter(names))
			json_object_object_add(o, "total", json_object_new_double(row->value * row->samples));
		json_object_object_add(o, "open", json_object_new_boolean(row->open));
	}
	json_object_object_add(o, "gap", json_object_new_boolean(row->gap));
	json_object_object_add(o, "reset", json_object_new_boolean(row->reset));
	return o;
}

static int print_json(FILE *f, json_object *root)
{
	if (!root)
		return -1;
	fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
}

static json_object *rows_json(Vigil__HistoryRow *const *rows, size_t n, int rollup)
{
	json_object *a = json_object_new_array();
	const Vigil__HistoryRow *names = NULL;
	for (size_t i = 0; a && i < n; i++) {
		names = history_row_names(rows[i], names);
		json_object_array_add(a, row_json(rows[i], names, rollup));
	}
	return a;
}

/* ---- CSV ------------------------------------------------------------------- */

static void csv_identity(FILE *f, const Vigil__HistoryRow *row, const Vigil__HistoryRow *names)
{
	char t0[40], t1[40];
	const char *fields[] = { names->host, names->vm,   names->vm_uuid, names->layer,
				 names->metric, names->tags, names->unit, names->kind };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		csv_field(f, fields[i]);
		fputc(',', f);
	}
	when(t0, sizeof(t0), row->t_start_ms);
	when(t1, sizeof(t1), row->t_end_ms);
	fprintf(f, "%s,%s,%lld,%lld,", t0, t1, (long long)row->t_start_ms, (long long)row->t_end_ms);
}

static void history_csv(FILE *f, const Vigil__HistoryReply *r)
{
	static const char id[] = "host,vm,vm_uuid,layer,metric,tags,unit,kind,t_start,t_end,t_start_ms,t_end_ms,";
	if (r->step_ms)
		fprintf(f, "%smean,min,max,last,sum,covered_ms,gap,reset\n", id);
	else
		fprintf(f, "%svalue,samples,total,gap,reset,open\n", id);
	const Vigil__HistoryRow *names = NULL;
	for (size_t i = 0; i < r->n_rows; i++) {
		const Vigil__HistoryRow *row = r->rows[i];
		names = history_row_names(row, names);
		csv_identity(f, row, names);
		if (r->step_ms) {
			fprintf(f, "%.17g,%.17g,%.17g,%.17g,", row->value, row->min, row->max, row->last);
			if (is_counter(names))
				fprintf(f, "%.17g", row->sum);
			fprintf(f, ",%lld,%d,%d\n", (long long)row->covered_ms, row->gap, row->reset);
		} else {
			fprintf(f, "%.17g,%u,", row->value, row->samples);
			if (is_counter(names))
				fprintf(f, "%.17g", row->value * row->samples);
			fprintf(f, ",%d,%d,%d\n", row->gap, row->reset, row->open);
		}
	}
}

int history_print(FILE *f, const Vigil__HistoryReply *r, enum view_format fmt)
{
	if (fmt == VIEW_CSV) {
		history_csv(f, r);
	} else if (fmt == VIEW_JSON) {
		json_object *root = json_object_new_object();
		if (!root)
			return -1;
		json_object_object_add(root, "tier", json_object_new_string(r->tier));
		json_object_object_add(root, "step_ms", json_object_new_int64(r->step_ms));
		json_object_object_add(root, "truncated", json_object_new_boolean(r->truncated));
		json_object_object_add(root, "rows", rows_json(r->rows, r->n_rows, r->step_ms != 0));
		return print_json(f, root);
	} else {
		history_header(f, r);
		if (r->n_rows)
			(r->step_ms ? rollups_table : intervals_table)(f, r);
	}
	if (r->truncated)
		fprintf(stderr, "vigilctl: only the first %zu rows were sent; narrow the window or use --db\n", r->n_rows);
	return 0;
}

/* ---- hosts, vms, show -------------------------------------------------------- */

static json_object *vm_info_json(const Vigil__VmInfo *v)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(v->host));
	json_object_object_add(o, "vm", json_object_new_string(v->name));
	json_object_object_add(o, "uuid", json_object_new_string(v->uuid));
	json_object_object_add(o, "state", json_object_new_string(v->state));
	json_object_object_add(o, "source", json_object_new_string(v->source));
	json_object_object_add(o, "vcpus", json_object_new_int((int32_t)v->vcpus));
	add_time(o, "first_seen", v->first_seen_ms);
	add_time(o, "last_seen", v->last_seen_ms);
	return o;
}

static json_object *strings_json(char **v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* "kvm,net", or "-" when no family is absent (or the probe does not say). */
static void families_text(char *buf, size_t len, char **v, size_t n)
{
	size_t used = 0;
	snprintf(buf, len, "-");
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", v[i]);
}

int hosts_print(FILE *f, const Vigil__HostsReply *r, enum view_format fmt)
{
	if (fmt == VIEW_JSON) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; a && i < r->n_hosts; i++) {
			const Vigil__HostInfo *h = r->hosts[i];
			json_object *o = json_object_new_object();
			json_object_object_add(o, "host", json_object_new_string(h->name));
			json_object_object_add(o, "state", json_object_new_string(h->state));
			json_object_object_add(o, "vms", json_object_new_int((int32_t)h->vms));
			json_object_object_add(o, "interval_ms", json_object_new_int((int32_t)h->interval_ms));
			json_object_object_add(o, "last_seq", json_object_new_uint64(h->last_seq));
			add_time(o, "first_seen", h->first_seen_ms);
			add_time(o, "last_seen", h->last_seen_ms);
			json_object_object_add(o, "families_counted",
					       strings_json(h->families_counted, h->n_families_counted));
			json_object_object_add(o, "families_absent", strings_json(h->families_absent, h->n_families_absent));
			json_object_array_add(a, o);
		}
		json_object *root = json_object_new_object();
		json_object_object_add(root, "hosts", a);
		json_object_object_add(root, "now_ms", json_object_new_int64(r->now_ms));
		return print_json(f, root);
	}
	fprintf(f, "%-24s %-6s %5s %9s  %-24s %-24s %s\n", "HOST", "STATE", "VMS", "INTERVAL", "LAST SEEN",
		"FIRST SEEN", "ABSENT");
	for (size_t i = 0; i < r->n_hosts; i++) {
		const Vigil__HostInfo *h = r->hosts[i];
		char last[40], first[40], iv[16], absent[64];
		when(last, sizeof(last), h->last_seen_ms);
		when(first, sizeof(first), h->first_seen_ms);
		timeparse_format_duration(iv, sizeof(iv), h->interval_ms);
		families_text(absent, sizeof(absent), h->families_absent, h->n_families_absent);
		fprintf(f, "%-24s %-6s %5u %9s  %-24s %-24s %s\n", h->name, h->state, h->vms, iv, last, first, absent);
	}
	if (r->n_hosts == 0)
		fprintf(f, "(no host has reported yet)\n");
	return 0;
}

int vms_print(FILE *f, const Vigil__VmsReply *r, enum view_format fmt)
{
	if (fmt == VIEW_JSON) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; a && i < r->n_vms; i++)
			json_object_array_add(a, vm_info_json(r->vms[i]));
		json_object *root = json_object_new_object();
		json_object_object_add(root, "vms", a);
		json_object_object_add(root, "now_ms", json_object_new_int64(r->now_ms));
		return print_json(f, root);
	}
	fprintf(f, "%-20s %-24s %-36s %-10s %-7s %5s  %s\n", "HOST", "VM", "UUID", "STATE", "SOURCE", "VCPUS",
		"LAST SEEN");
	for (size_t i = 0; i < r->n_vms; i++) {
		const Vigil__VmInfo *v = r->vms[i];
		char last[40];
		when(last, sizeof(last), v->last_seen_ms);
		fprintf(f, "%-20s %-24s %-36s %-10s %-7s %5u  %s\n", v->host, v->name, v->uuid, v->state, v->source,
			v->vcpus, last);
	}
	if (r->n_vms == 0)
		fprintf(f, "(no VMs reported yet)\n");
	return 0;
}

int show_print(FILE *f, const Vigil__ShowReply *r, enum view_format fmt)
{
	if (fmt == VIEW_JSON) {
		json_object *root = vm_info_json(r->vm);
		if (!root)
			return -1;
		json_object_object_add(root, "current", rows_json(r->current, r->n_current, 0));
		json_object_object_add(root, "now_ms", json_object_new_int64(r->now_ms));
		return print_json(f, root);
	}
	const Vigil__VmInfo *v = r->vm;
	char last[40];
	when(last, sizeof(last), v->last_seen_ms);
	fprintf(f, "%s (%s) on %s: %s, %u vCPUs, source %s, last seen %s\n", v->name, v->uuid, v->host, v->state,
		v->vcpus, v->source, last);
	fprintf(f, "%-28s %-24s %16s %-8s %-24s %7s  %s\n", "METRIC", "TAGS", "VALUE", "UNIT", "SINCE", "SAMPLES",
		"FLAGS");
	for (size_t i = 0; i < r->n_current; i++) {
		const Vigil__HistoryRow *row = r->current[i];
		char since[40], fl[32];
		when(since, sizeof(since), row->t_start_ms);
		flags_text(fl, sizeof(fl), row);
		fprintf(f, "%-28s %-24s %16.6g %-8s %-24s %7u  %s\n", row->metric, or_dash(row->tags), row->value,
			or_dash(row->unit), since, row->samples, fl);
	}
	if (r->n_current == 0)
		fprintf(f, "(no current readings)\n");
	return 0;
}
