#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole-VM (untagged) reading of a metric, from the series' open row. */
#define LATEST_VALUE(metric)                                                      \
	"(SELECT i.value FROM series s JOIN intervals i ON i.id = s.last_row "    \
	"  WHERE s.vm_id = v.id AND s.tags = '' AND s.metric_id = "               \
	"    (SELECT id FROM metrics WHERE name = '" metric "'))"

static const char status_sql[] =
	"SELECT h.name, v.name, v.uuid, v.state, v.vcpus, v.last_seen, h.last_seen, h.interval_ms, "
	LATEST_VALUE("cpu.used_pct") ", " LATEST_VALUE("cpu.wait_pct") " "
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
