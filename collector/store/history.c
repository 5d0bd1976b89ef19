#include "history.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "journal.h"
#include "rollup.h"
#include "segment.h"

static const char series_sql[] =
	"SELECT s.id, s.vm_id, h.name, v.name, v.uuid, m.name, m.layer, m.unit, m.kind, s.tags "
	"FROM series s JOIN vms v ON v.id = s.vm_id JOIN hosts h ON h.id = v.host_id "
	"JOIN metrics m ON m.id = s.metric_id "
	"WHERE (?1 IS NULL OR h.name = ?1) AND (?2 IS NULL OR v.name = ?2 OR v.uuid = ?2) "
	"AND (?3 IS NULL OR m.name = ?3) AND (?4 IS NULL OR s.tags = ?4) "
	"ORDER BY h.name, v.name, v.uuid, m.name, s.tags";

static const char journal_sql[] = "SELECT data FROM journal ORDER BY id";

static const char segments_sql[] = "SELECT id, data FROM segments WHERE vm_id = ?1 AND tier = ?2 "
				   "AND t_last >= ?3 AND t_first <= ?4 ORDER BY t_first, id";


/* ---- one VM's journal, replayed ---------------------------------------------- */

struct closed {
	int64_t series_id;
	struct interval iv;
};

struct vm_view {
	int64_t vm_id;
	int loaded;
	struct jvm log;
	struct closed *closed; /* intervals closed since the last flush, in order */
	size_t n_closed, cap_closed;
	int oom;
};

static void collect_close(struct jvm *log, struct jseries *s, const struct interval *iv, void *arg)
{
	(void)log;
	struct vm_view *vv = arg;
	if (vv->n_closed == vv->cap_closed) {
		size_t cap = vv->cap_closed ? vv->cap_closed * 2 : 256;
		struct closed *c = realloc(vv->closed, cap * sizeof(*c));
		if (!c) {
			vv->oom = 1;
			return;
		}
		vv->closed = c;
		vv->cap_closed = cap;
	}
	vv->closed[vv->n_closed++] = (struct closed){ s->id, *iv };
}

static void vm_view_free(struct vm_view *vv)
{
	jvm_free(&vv->log);
	free(vv->closed);
	memset(vv, 0, sizeof(*vv));
}

/* Decoded segments, so the series of one VM a query asks for decompress
 * each segment once. Buffers are reused. */
#define SEG_CACHE 8

struct seg_slot {
	int64_t id; /* 0: empty */
	uint64_t used;
	struct seg_view view;
};

/* The query's prepared statements and scratch buffers. */
struct reader {
	sqlite3 *db;
	sqlite3_stmt *series, *journal, *segments;
	struct seg_slot cache[SEG_CACHE];
	uint64_t clock;
	struct vm_view vm;
	struct interval *ivs; /* one series' rows */
	size_t n_ivs, cap_ivs;
	int began;
	char *err;
	size_t errlen;
};

static int replay_one(int64_t vm_id, const uint8_t *data, size_t len, void *arg)
{
	(void)vm_id;
	return journal_replay(arg, data, len) < 0 ? -1 : 0;
}

static int vm_view_load(struct reader *r, int64_t vm_id)
{
	if (r->vm.loaded && r->vm.vm_id == vm_id)
		return 0;
	vm_view_free(&r->vm);
	jvm_init(&r->vm.log, vm_id);
	r->vm.vm_id = vm_id;
	r->vm.log.on_close = collect_close;
	r->vm.log.arg = &r->vm;
	sqlite3_reset(r->journal);
	int rc;
	while ((rc = sqlite3_step(r->journal)) == SQLITE_ROW) {
		if (jrow_sections(sqlite3_column_blob(r->journal, 0), (size_t)sqlite3_column_bytes(r->journal, 0), vm_id,
				  replay_one, &r->vm.log) != 0)
			return errmsg_set(r->err, r->errlen, "the journal of VM %lld is corrupt", (long long)vm_id);
	}
	if (rc != SQLITE_DONE)
		return errmsg_set(r->err, r->errlen, "reading the journal: %s", sqlite3_errmsg(r->db));
	if (r->vm.oom)
		return errmsg_set(r->err, r->errlen, "out of memory");
	r->vm.loaded = 1;
	return 0;
}

static int reader_open(struct reader *r, sqlite3 *db, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->db = db;
	r->err = err;
	r->errlen = errlen;
	if (sqlite3_prepare_v2(db, series_sql, -1, &r->series, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, journal_sql, -1, &r->journal, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, segments_sql, -1, &r->segments, NULL) != SQLITE_OK)
		return errmsg_set(err, errlen, "history query: %s", sqlite3_errmsg(db));
	/* One snapshot of the file for the whole query, unless the caller
	 * already holds one. */
	if (sqlite3_get_autocommit(db)) {
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
			return errmsg_set(err, errlen, "history query: %s", sqlite3_errmsg(db));
		r->began = 1;
	}
	return 0;
}

static void reader_close(struct reader *r)
{
	sqlite3_finalize(r->series);
	sqlite3_finalize(r->journal);
	sqlite3_finalize(r->segments);
	if (r->began)
		sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	vm_view_free(&r->vm);
	for (int i = 0; i < SEG_CACHE; i++)
		seg_view_free(&r->cache[i].view);
	free(r->ivs);
}

static void bind_optional(sqlite3_stmt *st, int idx, const char *value)
{
	if (value)
		sqlite3_bind_text(st, idx, value, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static const char *text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

static void identity_from(sqlite3_stmt *st, struct history_row *row)
{
	memset(row, 0, sizeof(*row));
	row->host = text(st, 2);
	row->vm = text(st, 3);
	row->vm_uuid = text(st, 4);
	row->metric = text(st, 5);
	row->layer = text(st, 6);
	row->unit = text(st, 7);
	row->kind = text(st, 8);
	row->tags = text(st, 9);
}

/* ---- raw intervals of one series ------------------------------------------------ */

static int push_interval(struct reader *r, const struct interval *iv)
{
	if (r->n_ivs == r->cap_ivs) {
		size_t cap = r->cap_ivs ? r->cap_ivs * 2 : 256;
		struct interval *g = realloc(r->ivs, cap * sizeof(*g));
		if (!g)
			return errmsg_set(r->err, r->errlen, "out of memory");
		r->ivs = g;
		r->cap_ivs = cap;
	}
	r->ivs[r->n_ivs++] = *iv;
	return 0;
}

static int overlaps(const struct interval *iv, int64_t since, int64_t until)
{
	return iv->t_end_ms >= since && iv->t_start_ms <= until;
}

static int section_intervals(struct reader *r, const struct seg_section *sec, int64_t since, int64_t until)
{
	struct seg_reader rd;
	struct interval iv;
	int rc = seg_reader_open(&rd, sec, 0);
	while (rc >= 0 && (rc = seg_read_interval(&rd, &iv)) == 1)
		if (overlaps(&iv, since, until) && push_interval(r, &iv) < 0)
			return -1;
	if (rc < 0)
		return errmsg_set(r->err, r->errlen, "a segment of series %lld is corrupt", (long long)sec->series_id);
	return 0;
}

/* The decoded segment of the current row of r->segments. */
static struct seg_view *segment_view(struct reader *r)
{
	int64_t id = sqlite3_column_int64(r->segments, 0);
	struct seg_slot *victim = &r->cache[0];
	for (int i = 0; i < SEG_CACHE; i++) {
		if (r->cache[i].id == id) {
			r->cache[i].used = ++r->clock;
			return &r->cache[i].view;
		}
		if (r->cache[i].used < victim->used)
			victim = &r->cache[i];
	}
	victim->id = 0;
	if (seg_open(&victim->view, sqlite3_column_blob(r->segments, 1), (size_t)sqlite3_column_bytes(r->segments, 1)) < 0)
		return NULL;
	victim->id = id;
	victim->used = ++r->clock;
	return &victim->view;
}

/* Calls fn on series_id's section of every segment of tier overlapping the
 * window. */
static int for_sections(struct reader *r, int64_t vm_id, int64_t series_id, int tier, int64_t since, int64_t until,
			int (*fn)(struct reader *, const struct seg_section *, int64_t, int64_t, void *), void *arg)
{
	sqlite3_reset(r->segments);
	sqlite3_bind_int64(r->segments, 1, vm_id);
	sqlite3_bind_int(r->segments, 2, tier);
	sqlite3_bind_int64(r->segments, 3, since);
	sqlite3_bind_int64(r->segments, 4, until);
	int rc, out = 0;
	while (out == 0 && (rc = sqlite3_step(r->segments)) == SQLITE_ROW) {
		struct seg_section sec;
		struct seg_view *view = segment_view(r);
		int found;
		if (!view || (found = seg_find(view, series_id, &sec)) < 0) {
			out = errmsg_set(r->err, r->errlen, "a segment of VM %lld is corrupt", (long long)vm_id);
			break;
		}
		if (found)
			out = fn(r, &sec, since, until, arg);
	}
	if (out == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return errmsg_set(r->err, r->errlen, "reading segments: %s", sqlite3_errmsg(r->db));
	return out;
}

static int raw_section(struct reader *r, const struct seg_section *sec, int64_t since, int64_t until, void *arg)
{
	(void)arg;
	return section_intervals(r, sec, since, until);
}

static int by_start(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;
	return (x->t_start_ms > y->t_start_ms) - (x->t_start_ms < y->t_start_ms);
}

/* Every raw interval of the series overlapping [since, until], in start
 * order, into r->ivs; *open_idx is the open one's index or -1. */
static int series_intervals(struct reader *r, int64_t vm_id, int64_t series_id, int64_t since, int64_t until,
			    long *open_idx)
{
	r->n_ivs = 0;
	*open_idx = -1;
	if (vm_view_load(r, vm_id) < 0 ||
	    for_sections(r, vm_id, series_id, TIER_RAW, since, until, raw_section, NULL) < 0)
		return -1;
	for (size_t k = 0; k < r->vm.n_closed; k++)
		if (r->vm.closed[k].series_id == series_id && overlaps(&r->vm.closed[k].iv, since, until) &&
		    push_interval(r, &r->vm.closed[k].iv) < 0)
			return -1;
	size_t i = jvm_find(&r->vm.log, series_id);
	if (i != (size_t)-1 && r->vm.log.series[i].open) {
		const struct jseries *s = &r->vm.log.series[i];
		struct interval iv = s->cur;
		if (!s->derived)
			iv.t_end_ms = r->vm.log.clock_end;
		if (overlaps(&iv, since, until)) {
			if (push_interval(r, &iv) < 0)
				return -1;
			*open_idx = (long)r->n_ivs - 1;
		}
	}
	for (size_t k = 1; k < r->n_ivs; k++) {
		if (r->ivs[k].t_start_ms < r->ivs[k - 1].t_start_ms) {
			/* A probe's clock stepped back; keep the open row findable. */
			struct interval open = *open_idx >= 0 ? r->ivs[*open_idx] : (struct interval){ 0 };
			qsort(r->ivs, r->n_ivs, sizeof(*r->ivs), by_start);
			for (size_t j = 0; *open_idx >= 0 && j < r->n_ivs; j++)
				if (!memcmp(&r->ivs[j], &open, sizeof(open)))
					*open_idx = (long)j;
			break;
		}
	}
	return 0;
}

int tags_contain(const char *have, const char *want)
{
	const char *p = want;
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *h = have;
		int found = 0;
		while (*h && !found) {
			size_t m = strcspn(h, ",");
			found = m == n && strncmp(h, p, n) == 0;
			h += m + (h[m] == ',');
		}
		if (!found)
			return 0;
		p += n + (p[n] == ',');
	}
	return 1;
}

static void bind_filter(struct reader *r, const struct history_filter *f)
{
	sqlite3_reset(r->series);
	bind_optional(r->series, 1, f->host);
	bind_optional(r->series, 2, f->vm);
	bind_optional(r->series, 3, f->metric);
	bind_optional(r->series, 4, f->tags_subset ? NULL : f->tags);
}

/* The next series row the filter selects: SQLITE_ROW or the step's end. */
static int next_series(struct reader *r, const struct history_filter *f)
{
	int rc;
	while ((rc = sqlite3_step(r->series)) == SQLITE_ROW)
		if (!f->tags_subset || !f->tags || tags_contain(text(r->series, 9), f->tags))
			break;
	return rc;
}

int history_scan(sqlite3 *db, const struct history_filter *f, history_cb cb, void *arg, char *err, size_t errlen)
{
	struct reader r;
	int rc = reader_open(&r, db, err, errlen), step = SQLITE_DONE;
	if (rc == 0)
		bind_filter(&r, f);
	while (rc == 0 && (step = next_series(&r, f)) == SQLITE_ROW) {
		struct history_row row;
		long open_idx;
		identity_from(r.series, &row);
		rc = series_intervals(&r, sqlite3_column_int64(r.series, 1), sqlite3_column_int64(r.series, 0),
				      f->since_ms, f->until_ms, &open_idx);
		for (size_t k = 0; rc == 0 && k < r.n_ivs; k++) {
			const struct interval *iv = &r.ivs[k];
			row.t_start_ms = iv->t_start_ms;
			row.t_end_ms = iv->t_end_ms;
			row.value = iv->value;
			row.samples = iv->n;
			row.flags = iv->flags;
			row.open = (long)k == open_idx;
			rc = cb(&row, arg);
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = errmsg_set(err, errlen, "history query: %s", sqlite3_errmsg(db));
	reader_close(&r);
	return rc;
}

/* ---- rollups ---------------------------------------------------------------------- */

struct step_out {
	const struct history_row *id;
	int64_t step_ms, since, until;
	history_bucket_cb cb;
	void *arg;
	int rc;
};

static void step_emit(const struct rollup *ru, void *arg)
{
	struct step_out *o = arg;
	if (o->rc || ru->start_ms + o->step_ms <= o->since || ru->start_ms > o->until)
		return;
	struct history_bucket b = { o->id, ru->start_ms, o->step_ms, ru->covered_ms, ru->min, ru->max,
				    ru->mean, ru->last, ru->sum, ru->flags };
	o->rc = o->cb(&b, o->arg);
}

struct tier_feed {
	struct rollup_acc *acc;
	struct step_out *out;
	int64_t res_ms, until_bucket; /* records from this bucket on come from raw */
};

static int tier_section(struct reader *r, const struct seg_section *sec, int64_t since, int64_t until, void *arg)
{
	struct tier_feed *tf = arg;
	struct seg_reader rd;
	struct rollup ru;
	int rc = seg_reader_open(&rd, sec, tf->res_ms);
	while (rc >= 0 && (rc = seg_read_rollup(&rd, &ru)) == 1) {
		if (ru.start_ms >= tf->until_bucket || ru.start_ms + tf->res_ms <= since || ru.start_ms > until)
			continue;
		rollup_compose(tf->acc, tf->out->step_ms, &ru, step_emit, tf->out);
	}
	if (rc < 0)
		return errmsg_set(r->err, r->errlen, "a segment of series %lld is corrupt", (long long)sec->series_id);
	return tf->out->rc;
}

static int series_rollups(struct reader *r, const struct history_row *id, int64_t vm_id, int64_t series_id,
			  enum tier tier, const struct history_filter *f, struct step_out *out)
{
	struct rollup_acc acc = { 0 };
	int counter = strcmp(id->kind, "counter") == 0;
	int64_t from_raw = INT64_MIN;
	if (vm_view_load(r, vm_id) < 0)
		return -1;
	/* Whole steps: from the start of the first to the end of the last. */
	int64_t since = bucket_floor(f->since_ms, out->step_ms);
	int64_t until = bucket_floor(f->until_ms, out->step_ms) + out->step_ms - 1;
	if (tier != TIER_RAW) {
		struct tier_feed tf = { &acc, out, tier_resolution_ms[tier], jvm_rolled_until(&r->vm.log, series_id, tier) };
		from_raw = tf.until_bucket;
		if (for_sections(r, vm_id, series_id, tier, since, until, tier_section, &tf) < 0)
			return -1;
	}
	long open_idx;
	int64_t lo = from_raw > since ? from_raw : since;
	if (lo <= until) {
		if (series_intervals(r, vm_id, series_id, lo, until, &open_idx) < 0)
			return -1;
		for (size_t k = 0; k < r->n_ivs && out->rc == 0; k++) {
			const struct interval *iv = &r->ivs[k];
			int64_t t0 = iv->t_start_ms, t1 = iv->t_end_ms;
			double total = counter ? iv->value * iv->n : 0;
			/* Only the part not already covered by stored buckets. */
			if (t0 < from_raw) {
				total *= t1 > t0 ? (double)(t1 - from_raw) / (double)(t1 - t0) : 0;
				t0 = from_raw;
			}
			rollup_feed(&acc, out->step_ms, t0, t1, iv->value, total, iv->flags & IV_RESET, step_emit, out);
		}
	}
	rollup_flush_before(&acc, out->step_ms, INT64_MAX, step_emit, out);
	return out->rc;
}

int history_rollups(sqlite3 *db, const struct history_filter *f, enum tier tier, int64_t step_ms,
		    history_bucket_cb cb, void *arg, char *err, size_t errlen)
{
	struct reader r;
	if (step_ms <= 0 || (tier != TIER_RAW && step_ms % tier_resolution_ms[tier] != 0))
		return errmsg_set(err, errlen, "step %lld ms is not a multiple of the %s tier's resolution",
			       (long long)step_ms, tier_name[tier]);
	int rc = reader_open(&r, db, err, errlen), step = SQLITE_DONE;
	if (rc == 0)
		bind_filter(&r, f);
	while (rc == 0 && (step = next_series(&r, f)) == SQLITE_ROW) {
		struct history_row id;
		identity_from(r.series, &id);
		struct step_out out = { &id, step_ms, f->since_ms, f->until_ms, cb, arg, 0 };
		rc = series_rollups(&r, &id, sqlite3_column_int64(r.series, 1), sqlite3_column_int64(r.series, 0), tier,
				    f, &out);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = errmsg_set(err, errlen, "history query: %s", sqlite3_errmsg(db));
	reader_close(&r);
	return rc;
}

enum tier history_choose_tier(const int64_t retention_ms[TIER_COUNT], int64_t now_ms, int64_t since_ms,
			      int64_t *step_ms)
{
	int covers[TIER_COUNT];
	for (int t = 0; t < TIER_COUNT; t++)
		covers[t] = since_ms >= now_ms - retention_ms[t];
	if (*step_ms <= 0 && covers[TIER_RAW])
		return TIER_RAW;
	int best = -1;
	for (int t = TIER_RAW; t < TIER_COUNT; t++) {
		int64_t res = tier_resolution_ms[t];
		if (covers[t] && *step_ms > 0 && (res == 0 || *step_ms % res == 0))
			best = t;
	}
	if (best >= 0)
		return (enum tier)best;
	/* No covering tier fits the step: use the finest that covers the
	 * window (the coarsest of all when none does) at its resolution. */
	int t = TIER_1M;
	while (t < TIER_1H && !covers[t])
		t++;
	if (*step_ms < tier_resolution_ms[t] || *step_ms % tier_resolution_ms[t] != 0)
		*step_ms = (*step_ms / tier_resolution_ms[t] + 1) * tier_resolution_ms[t];
	if (*step_ms <= 0)
		*step_ms = tier_resolution_ms[t];
	return (enum tier)t;
}

/* ---- current readings ---------------------------------------------------------------- */

int history_current(sqlite3 *db, const char *vm, history_cb cb, void *arg, char *err, size_t errlen)
{
	struct reader r;
	struct history_filter f = { .vm = vm };
	int rc = reader_open(&r, db, err, errlen), step = SQLITE_DONE;
	if (rc == 0)
		bind_filter(&r, &f);
	while (rc == 0 && (step = next_series(&r, &f)) == SQLITE_ROW) {
		struct history_row row;
		identity_from(r.series, &row);
		if ((rc = vm_view_load(&r, sqlite3_column_int64(r.series, 1))) < 0)
			break;
		size_t i = jvm_find(&r.vm.log, sqlite3_column_int64(r.series, 0));
		if (i == (size_t)-1 || !r.vm.log.series[i].open)
			continue;
		const struct jseries *s = &r.vm.log.series[i];
		row.t_start_ms = s->cur.t_start_ms;
		row.t_end_ms = s->derived ? s->cur.t_end_ms : r.vm.log.clock_end;
		row.value = s->cur.value;
		row.samples = s->cur.n;
		row.flags = s->cur.flags;
		row.open = 1;
		rc = cb(&row, arg);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = errmsg_set(err, errlen, "history query: %s", sqlite3_errmsg(db));
	reader_close(&r);
	return rc;
}

static int scan_db(void *ctx, const struct history_filter *f, history_cb cb, void *arg, char *err, size_t errlen)
{
	return history_scan(ctx, f, cb, arg, err, errlen);
}

struct history_source history_db_source(sqlite3 *db)
{
	struct history_source s = { scan_db, db };
	return s;
}
