#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "wire.h"

/* The latest whole-VM CPU readings are kept on the VM's row by the writer,
 * so this reads one row per VM and nothing else. */
static const char status_sql[] =
	"SELECT h.name, v.name, v.uuid, v.state, v.vcpus, v.last_seen, h.last_seen, h.interval_ms, "
	"v.cpu_used_pct, v.cpu_wait_pct "
	"FROM vms v JOIN hosts h ON h.id = v.host_id "
	/* The hypervisor's own entry carries host.* metrics; it is not a VM. */
	"WHERE v.source <> 'host' ORDER BY h.name, v.name";

static char *column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	return strdup(text ? (const char *)text : "");
}

static const char *derived_state(sqlite3_stmt *st, int64_t now_ms)
{
	int64_t vm_seen = sqlite3_column_int64(st, 5);
	int64_t host_seen = sqlite3_column_int64(st, 6);
	int64_t interval = sqlite3_column_int64(st, 7);
	if (now_ms - host_seen > STATUS_STALE_INTERVALS * interval)
		return "stale";
	if (vm_seen < host_seen)
		return "gone";
	return NULL;
}

static Vigil__VmStatus *status_row(sqlite3_stmt *st, int64_t now_ms)
{
	Vigil__VmStatus *row = malloc(sizeof(*row));
	if (!row)
		return NULL;
	vigil__vm_status__init(row);
	const char *state = derived_state(st, now_ms);
	row->host = column_dup(st, 0);
	row->vm = column_dup(st, 1);
	row->uuid = column_dup(st, 2);
	row->state = state ? strdup(state) : column_dup(st, 3);
	row->vcpus = (uint32_t)sqlite3_column_int(st, 4);
	row->last_seen_ms = sqlite3_column_int64(st, 5);
	row->has_cpu = sqlite3_column_type(st, 8) != SQLITE_NULL;
	row->cpu_used_pct = sqlite3_column_double(st, 8);
	row->cpu_wait_pct = sqlite3_column_double(st, 9);
	if (!row->host || !row->vm || !row->uuid || !row->state) {
		vigil__vm_status__free_unpacked(row, NULL);
		return NULL;
	}
	return row;
}

static int append_row(Vigil__StatusReply *r, Vigil__VmStatus *row)
{
	Vigil__VmStatus **grown = realloc(r->vms, (r->n_vms + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	r->vms = grown;
	r->vms[r->n_vms++] = row;
	return 0;
}

int query_status(sqlite3 *db, int64_t now_ms, Vigil__StatusReply **out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	Vigil__StatusReply *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vigil__status_reply__init(r);
	r->now_ms = now_ms;
	if (sqlite3_prepare_v2(db, status_sql, -1, &st, NULL) != SQLITE_OK)
		goto sql_error;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Vigil__VmStatus *row = status_row(st, now_ms);
		if (!row || append_row(r, row) < 0) {
			if (row)
				vigil__vm_status__free_unpacked(row, NULL);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (rc != SQLITE_DONE)
		goto sql_error;
	sqlite3_finalize(st);
	*out = r;
	return 0;
sql_error:
	snprintf(err, errlen, "status query: %s", sqlite3_errmsg(db));
fail:
	sqlite3_finalize(st);
	status_reply_free(r);
	return -1;
}

/* Every field was malloc'd with the default allocator, which is what
 * protobuf-c's free_unpacked releases. */
void status_reply_free(Vigil__StatusReply *r)
{
	if (r)
		vigil__status_reply__free_unpacked(r, NULL);
}

/* ---- history ------------------------------------------------------------- */

/* Retention per tier as the collector recorded it. */
static void read_retention(sqlite3 *db, int64_t out[TIER_COUNT])
{
	static const int64_t defaults[TIER_COUNT] = { 14 * 86400000LL, 90 * 86400000LL, 730 * 86400000LL };
	sqlite3_stmt *st;
	memcpy(out, defaults, sizeof(defaults));
	if (sqlite3_prepare_v2(db, "SELECT tier, retention_ms FROM storage_tiers", -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int t = sqlite3_column_int(st, 0);
		if (t >= 0 && t < TIER_COUNT)
			out[t] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
}

static int64_t first_data_ms(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t first = INT64_MIN;
	if (sqlite3_prepare_v2(db, "SELECT min(first_seen) FROM hosts", -1, &st, NULL) != SQLITE_OK)
		return first;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		first = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return first;
}

struct row_sink {
	Vigil__HistoryRow **rows;
	size_t n, cap, max;
	int truncated, oom;
	const Vigil__HistoryRow *names; /* the last row that carries names */
	int elide;                      /* leave repeated names out (history_reply_free) */
};

/* Whether row r names the series id names. */
static int same_series(const Vigil__HistoryRow *r, const struct history_row *id)
{
	return strcmp(r->metric, id->metric) == 0 && strcmp(r->tags, id->tags) == 0 &&
	       strcmp(r->vm_uuid, id->vm_uuid) == 0 && strcmp(r->vm, id->vm) == 0 &&
	       strcmp(r->host, id->host) == 0 && strcmp(r->layer, id->layer) == 0 &&
	       strcmp(r->unit, id->unit) == 0 && strcmp(r->kind, id->kind ? id->kind : "") == 0;
}

/* The names of a row that continues the previous row's series. */
static char no_name[] = "";

const Vigil__HistoryRow *history_row_names(const Vigil__HistoryRow *row, const Vigil__HistoryRow *prev)
{
	return row->metric[0] || !prev ? row : prev;
}

static void row_names_free(Vigil__HistoryRow *r)
{
	free(r->host);
	free(r->vm);
	free(r->vm_uuid);
	free(r->metric);
	free(r->layer);
	free(r->unit);
	free(r->tags);
	free(r->kind);
}

static int row_names_dup(Vigil__HistoryRow *r, const struct history_row *id)
{
	r->host = strdup(id->host);
	r->vm = strdup(id->vm);
	r->vm_uuid = strdup(id->vm_uuid);
	r->metric = strdup(id->metric);
	r->layer = strdup(id->layer);
	r->unit = strdup(id->unit);
	r->tags = strdup(id->tags);
	r->kind = strdup(id->kind ? id->kind : "");
	return r->host && r->vm && r->vm_uuid && r->metric && r->layer && r->unit && r->tags && r->kind ? 0 : -1;
}

/* A row of the same series as the previous one carries no names (see
 * HistoryRow): a 30-day history has thousands of rows of a few series, and
 * copying, packing and unpacking eight strings per row was most of the
 * query's time. */
static void row_names_elide(Vigil__HistoryRow *r)
{
	r->host = r->vm = r->vm_uuid = r->metric = no_name;
	r->layer = r->unit = r->tags = r->kind = no_name;
}

static Vigil__HistoryRow *row_new(struct row_sink *k, const struct history_row *id)
{
	if (k->max && k->n >= k->max) {
		k->truncated = 1;
		return NULL;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		Vigil__HistoryRow **g = realloc(k->rows, cap * sizeof(*g));
		if (!g) {
			k->oom = 1;
			return NULL;
		}
		k->rows = g;
		k->cap = cap;
	}
	Vigil__HistoryRow *r = malloc(sizeof(*r));
	if (!r) {
		k->oom = 1;
		return NULL;
	}
	vigil__history_row__init(r);
	if (k->elide && k->names && same_series(k->names, id)) {
		row_names_elide(r);
	} else if (row_names_dup(r, id) < 0) {
		row_names_free(r);
		free(r);
		k->oom = 1;
		return NULL;
	}
	if (r->metric != no_name)
		k->names = r;
	k->rows[k->n++] = r;
	return r;
}

static void rows_free(Vigil__HistoryRow **rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rows[i]->metric != no_name)
			row_names_free(rows[i]);
		free(rows[i]);
	}
	free(rows);
}

/* Made by query_history, whose rows may point at no_name: not free_unpacked. */
void history_reply_free(Vigil__HistoryReply *r)
{
	if (!r)
		return;
	rows_free(r->rows, r->n_rows);
	r->rows = NULL;
	r->n_rows = 0;
	vigil__history_reply__free_unpacked(r, NULL);
}

static int interval_row(const struct history_row *h, void *arg)
{
	struct row_sink *k = arg;
	Vigil__HistoryRow *r = row_new(k, h);
	if (!r)
		return 1;
	r->t_start_ms = h->t_start_ms;
	r->t_end_ms = h->t_end_ms;
	r->value = h->value;
	r->samples = h->samples;
	r->gap = (h->flags & IV_GAP) != 0;
	r->reset = (h->flags & IV_RESET) != 0;
	r->open = h->open;
	return 0;
}

static int bucket_row(const struct history_bucket *b, void *arg)
{
	struct row_sink *k = arg;
	Vigil__HistoryRow *r = row_new(k, b->id);
	if (!r)
		return 1;
	r->t_start_ms = b->start_ms;
	r->t_end_ms = b->start_ms + b->step_ms;
	r->value = b->mean;
	r->min = b->min;
	r->max = b->max;
	r->last = b->last;
	r->sum = b->sum;
	r->covered_ms = b->covered_ms;
	r->gap = (b->flags & IV_GAP) != 0;
	r->reset = (b->flags & IV_RESET) != 0;
	return 0;
}

static Vigil__HistoryReply *history_reply_new(int64_t now_ms)
{
	Vigil__HistoryReply *r = malloc(sizeof(*r));
	if (!r)
		return NULL;
	vigil__history_reply__init(r);
	r->now_ms = now_ms;
	return r;
}

int query_history(sqlite3 *db, int64_t now_ms, const Vigil__HistoryQuery *q, size_t max_rows,
		  Vigil__HistoryReply **out, char *err, size_t errlen)
{
	char tags[WIRE_TAGS_MAX_LEN];
	if (q->has_tags && wire_canonical_tags(q->tags, q->n_tags, tags, sizeof(tags)) < 0) {
		snprintf(err, errlen, "tags: a key is given twice");
		return -1;
	}
	struct history_filter f = {
		.host = q->host && q->host[0] ? q->host : NULL,
		.vm = q->vm && q->vm[0] ? q->vm : NULL,
		.metric = q->metric && q->metric[0] ? q->metric : NULL,
		.tags = q->has_tags ? tags : NULL,
		.tags_subset = 1,
		.since_ms = q->since_ms,
		.until_ms = q->until_ms ? q->until_ms : now_ms,
	};
	if (f.until_ms < f.since_ms) {
		snprintf(err, errlen, "the window ends before it starts");
		return -1;
	}
	int64_t retention[TIER_COUNT], step = q->step_ms;
	read_retention(db, retention);
	/* A window reaching back before anything was stored is covered by a
	 * tier whose retention has removed nothing yet. */
	int64_t first = first_data_ms(db), since = f.since_ms > first ? f.since_ms : first;
	enum tier tier = history_choose_tier(retention, now_ms, since, &step);
	struct row_sink sink = { .max = max_rows, .elide = 1 };
	int rc = tier == TIER_RAW && step <= 0 ? history_scan(db, &f, interval_row, &sink, err, errlen)
					       : history_rollups(db, &f, tier, step, bucket_row, &sink, err, errlen);
	Vigil__HistoryReply *r = history_reply_new(now_ms);
	if (rc < 0 || sink.oom || !r || !(r->tier = strdup(tier_name[tier]))) {
		if (rc >= 0)
			snprintf(err, errlen, "out of memory");
		rows_free(sink.rows, sink.n);
		if (r)
			vigil__history_reply__free_unpacked(r, NULL);
		return -1;
	}
	r->step_ms = tier == TIER_RAW && step <= 0 ? 0 : step;
	r->rows = sink.rows;
	r->n_rows = sink.n;
	r->truncated = sink.truncated;
	*out = r;
	return 0;
}

/* ---- hosts and VMs --------------------------------------------------------- */

static const char hosts_sql[] =
	"SELECT h.name, h.last_seq, h.interval_ms, h.first_seen, h.last_seen, "
	"(SELECT count(*) FROM vms v WHERE v.host_id = h.id AND v.last_seen >= h.last_seen AND v.source <> 'host'), "
	/* The hypervisor's own entry, which carries probe.family_counted. */
	"(SELECT v.uuid FROM vms v WHERE v.host_id = h.id AND v.source = 'host' ORDER BY v.last_seen DESC LIMIT 1) "
	"FROM hosts h ORDER BY h.name";

static int grow(void *arrp, size_t n, size_t size)
{
	void **arr = arrp;
	if (n & (n - 1))
		return 0; /* only at powers of two */
	void *g = realloc(*arr, (n ? n * 2 : 1) * size);
	if (!g)
		return -1;
	*arr = g;
	return 0;
}

static int add_string(char ***arr, size_t *n, const char *s)
{
	char *copy = strdup(s);
	if (!copy || grow(arr, *n, sizeof(**arr)) < 0) {
		free(copy);
		return -1;
	}
	(*arr)[(*n)++] = copy;
	return 0;
}

/* history_current callback: files a probe.family_counted reading under
 * counted or absent. Non-zero (out of memory) stops the scan. */
static int note_family(const struct history_row *row, void *arg)
{
	static const char tag[] = "family=";
	Vigil__HostInfo *h = arg;
	if (strcmp(row->metric, "probe.family_counted") != 0 || strncmp(row->tags, tag, sizeof(tag) - 1) != 0)
		return 0;
	const char *name = row->tags + sizeof(tag) - 1;
	return row->value != 0 ? add_string(&h->families_counted, &h->n_families_counted, name)
			       : add_string(&h->families_absent, &h->n_families_absent, name);
}

/* The families of each host, from the open intervals of its own entry
 * (entry_uuids[i], NULL when it has none). */
static int hosts_families(sqlite3 *db, Vigil__HostsReply *r, char **entry_uuids, char *err, size_t errlen)
{
	for (size_t i = 0; i < r->n_hosts; i++) {
		int rc = entry_uuids[i] ? history_current(db, entry_uuids[i], note_family, r->hosts[i], err, errlen) : 0;
		if (rc > 0)
			snprintf(err, errlen, "hosts query: out of memory");
		if (rc)
			return -1;
	}
	return 0;
}

static Vigil__HostInfo *host_info_row(sqlite3_stmt *st, int64_t now_ms)
{
	Vigil__HostInfo *h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	vigil__host_info__init(h);
	h->name = column_dup(st, 0);
	h->last_seq = (uint64_t)sqlite3_column_int64(st, 1);
	h->interval_ms = (uint32_t)sqlite3_column_int64(st, 2);
	h->first_seen_ms = sqlite3_column_int64(st, 3);
	h->last_seen_ms = sqlite3_column_int64(st, 4);
	h->vms = (uint32_t)sqlite3_column_int64(st, 5);
	h->state = strdup(now_ms - h->last_seen_ms > STATUS_STALE_INTERVALS * (int64_t)h->interval_ms ? "stale" : "up");
	if (!h->name || !h->state) {
		vigil__host_info__free_unpacked(h, NULL);
		return NULL;
	}
	return h;
}

/* Appends a host and its own entry's UUID (NULL: none). */
static int append_host(Vigil__HostsReply *r, char ***uuids, Vigil__HostInfo *h, const unsigned char *uuid)
{
	char *copy = uuid ? strdup((const char *)uuid) : NULL;
	if ((uuid && !copy) || grow(&r->hosts, r->n_hosts, sizeof(*r->hosts)) < 0 ||
	    grow(uuids, r->n_hosts, sizeof(**uuids)) < 0) {
		free(copy);
		return -1;
	}
	(*uuids)[r->n_hosts] = copy;
	r->hosts[r->n_hosts++] = h;
	return 0;
}

int query_hosts(sqlite3 *db, int64_t now_ms, Vigil__HostsReply **out, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	Vigil__HostsReply *r = calloc(1, sizeof(*r));
	if (!r || sqlite3_prepare_v2(db, hosts_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "hosts query: %s", r ? sqlite3_errmsg(db) : "out of memory");
		free(r);
		return -1;
	}
	vigil__hosts_reply__init(r);
	r->now_ms = now_ms;
	char **uuids = NULL;
	int rc, oom = 0;
	while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		Vigil__HostInfo *h = host_info_row(st, now_ms);
		oom = !h || append_host(r, &uuids, h, sqlite3_column_text(st, 6)) < 0;
		if (oom && h)
			vigil__host_info__free_unpacked(h, NULL);
	}
	sqlite3_finalize(st);
	if (oom || rc != SQLITE_DONE)
		snprintf(err, errlen, "hosts query: %s", oom ? "out of memory" : sqlite3_errmsg(db));
	int failed = oom || rc != SQLITE_DONE || hosts_families(db, r, uuids, err, errlen) < 0;
	for (size_t i = 0; i < r->n_hosts; i++)
		free(uuids[i]);
	free(uuids);
	if (failed) {
		vigil__hosts_reply__free_unpacked(r, NULL);
		return -1;
	}
	*out = r;
	return 0;
}

static const char vms_sql[] =
	"SELECT h.name, v.name, v.uuid, v.state, v.source, v.vcpus, v.first_seen, v.last_seen, h.last_seen, "
	"h.interval_ms FROM vms v JOIN hosts h ON h.id = v.host_id "
	"WHERE (?1 IS NULL OR h.name = ?1) AND (?2 IS NULL OR v.name = ?2 OR v.uuid = ?2) "
	"ORDER BY h.name, v.name, v.uuid";

static Vigil__VmInfo *vm_info_row(sqlite3_stmt *st, int64_t now_ms)
{
	Vigil__VmInfo *v = malloc(sizeof(*v));
	if (!v)
		return NULL;
	vigil__vm_info__init(v);
	int64_t vm_seen = sqlite3_column_int64(st, 7), host_seen = sqlite3_column_int64(st, 8);
	int64_t interval = sqlite3_column_int64(st, 9);
	const char *state = now_ms - host_seen > STATUS_STALE_INTERVALS * interval ? "stale"
			    : vm_seen < host_seen				   ? "gone"
										   : NULL;
	v->host = column_dup(st, 0);
	v->name = column_dup(st, 1);
	v->uuid = column_dup(st, 2);
	v->state = state ? strdup(state) : column_dup(st, 3);
	v->source = column_dup(st, 4);
	v->vcpus = (uint32_t)sqlite3_column_int64(st, 5);
	v->first_seen_ms = sqlite3_column_int64(st, 6);
	v->last_seen_ms = vm_seen;
	if (!v->host || !v->name || !v->uuid || !v->state || !v->source) {
		vigil__vm_info__free_unpacked(v, NULL);
		return NULL;
	}
	return v;
}

static int vms_select(sqlite3 *db, int64_t now_ms, const char *host, const char *vm, Vigil__VmsReply *r, char *err,
		      size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, vms_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "VM query: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (host && host[0])
		sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	if (vm)
		sqlite3_bind_text(st, 2, vm, -1, SQLITE_STATIC);
	int rc, oom = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Vigil__VmInfo *v = vm_info_row(st, now_ms);
		if (!v || grow(&r->vms, r->n_vms, sizeof(*r->vms)) < 0) {
			if (v)
				vigil__vm_info__free_unpacked(v, NULL);
			oom = 1;
			break;
		}
		r->vms[r->n_vms++] = v;
	}
	sqlite3_finalize(st);
	if (oom || rc != SQLITE_DONE) {
		snprintf(err, errlen, "VM query: %s", oom ? "out of memory" : sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

int query_vms(sqlite3 *db, int64_t now_ms, const char *host, Vigil__VmsReply **out, char *err, size_t errlen)
{
	Vigil__VmsReply *r = malloc(sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vigil__vms_reply__init(r);
	r->now_ms = now_ms;
	if (vms_select(db, now_ms, host, NULL, r, err, errlen) < 0) {
		vigil__vms_reply__free_unpacked(r, NULL);
		return -1;
	}
	*out = r;
	return 0;
}

int query_show(sqlite3 *db, int64_t now_ms, const char *vm, Vigil__ShowReply **out, char *err, size_t errlen)
{
	Vigil__VmsReply found = VIGIL__VMS_REPLY__INIT;
	if (vms_select(db, now_ms, NULL, vm, &found, err, errlen) < 0)
		return -1;
	if (found.n_vms != 1) {
		if (found.n_vms == 0)
			snprintf(err, errlen, "no VM named '%s' (see vigilctl vms)", vm);
		else
			snprintf(err, errlen, "%zu VMs are named '%s'; give the UUID (see vigilctl vms)", found.n_vms, vm);
		for (size_t i = 0; i < found.n_vms; i++)
			vigil__vm_info__free_unpacked(found.vms[i], NULL);
		free(found.vms);
		return -1;
	}
	Vigil__ShowReply *r = malloc(sizeof(*r));
	struct row_sink sink = { 0 };
	int rc = r ? history_current(db, found.vms[0]->uuid, interval_row, &sink, err, errlen) : -1;
	if (!r || rc < 0 || sink.oom) {
		if (!r || sink.oom)
			snprintf(err, errlen, "out of memory");
		for (size_t i = 0; i < sink.n; i++)
			vigil__history_row__free_unpacked(sink.rows[i], NULL);
		free(sink.rows);
		free(r);
		vigil__vm_info__free_unpacked(found.vms[0], NULL);
		free(found.vms);
		return -1;
	}
	vigil__show_reply__init(r);
	r->vm = found.vms[0];
	free(found.vms);
	r->current = sink.rows;
	r->n_current = sink.n;
	r->now_ms = now_ms;
	*out = r;
	return 0;
}
