#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "engine.h"
#include "errmsg.h"
#include "log.h"
#include "migrate.h"
#include "reader.h"
#include "sla_rows.h"

enum req_kind {
	REQ_BATCH = STORE_REQ_BATCH,
	REQ_DERIVED = STORE_REQ_DERIVED,
	REQ_SLA_MODEL = STORE_REQ_SLA_MODEL,
	REQ_ALERT_OPEN = STORE_REQ_ALERT_OPEN,
	REQ_ALERT_PEAK = STORE_REQ_ALERT_PEAK,
	REQ_ALERT_CLOSE = STORE_REQ_ALERT_CLOSE,
	REQ_FLUSH,
	REQ_SYNC
};

/* The group commit takes at most this many samples, bounding the memory
 * the requests it holds can pin. */
#define GROUP_MAX_SAMPLES (4u << 20)

struct store {
	char *path;
	int readonly;
	/* The writer thread's connection: the only one that writes. */
	sqlite3 *wdb;
	struct sla_rows *sla_rows; /* the SLA rows' statements on wdb */
	/* store_db(): read-only, for queries and tests, never the writer's. */
	struct store_reader *reader;
	struct engine eng;

	pthread_t writer;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t work;  /* a request was queued, or stop */
	pthread_cond_t done;  /* a synchronous request finished */
	struct store_req *head, *tail;
	int stop;
	int64_t last_flush_ms; /* monotonic */
	struct store_stats stats; /* copied from the engine under mu */
};


/* Copies a message, cut to fit. */
static void copy_msg(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(src, n - 1);
	memmove(dst, src, len);
	dst[len] = '\0';
}

sqlite3 *store_db(struct store *s)
{
	return store_reader_db(s->reader);
}

static struct store *store_alloc(const char *path)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (!(s->path = strdup(path))) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	/* The writer's wait is on the monotonic clock: a wall clock set back
	 * must not hold back the flushes. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->done, NULL);
	return s;
}

static void *writer_main(void *arg);

static int copy_config(struct storage_config *dst, const struct storage_config *src)
{
	*dst = *src;
	dst->deadbands = NULL;
	if (src->n_deadbands) {
		dst->deadbands = malloc(src->n_deadbands * sizeof(*dst->deadbands));
		if (!dst->deadbands)
			return -1;
		memcpy(dst->deadbands, src->deadbands, src->n_deadbands * sizeof(*dst->deadbands));
	}
	return 0;
}

/* Readers choose tiers with the retention the collector applies. */
static int record_tiers(sqlite3 *db, const struct storage_config *cfg, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "UPDATE storage_tiers SET retention_ms = ?2 WHERE tier = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return errmsg_set(err, errlen, "recording retention: %s", sqlite3_errmsg(db));
	int rc = SQLITE_DONE;
	for (int t = 0; t < TIER_COUNT && rc == SQLITE_DONE; t++) {
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, t);
		sqlite3_bind_int64(st, 2, cfg->retention_ms[t]);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : errmsg_set(err, errlen, "recording retention: %s", sqlite3_errmsg(db));
}

static int open_writer(struct store *s, const struct storage_config *cfg, char *err, size_t errlen)
{
	struct storage_config copy;
	if (db_open(&s->wdb, s->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen) < 0 ||
	    migrate_writer_setup(s->wdb, s->path, err, errlen) < 0)
		return -1;
	if (copy_config(&copy, cfg) < 0)
		return errmsg_set(err, errlen, "out of memory");
	if (engine_load(&s->eng, s->wdb, &copy, err, errlen) < 0) {
		char why[400];
		copy_msg(why, sizeof(why), err);
		return errmsg_set(err, errlen, "%s: %s", s->path, why);
	}
	if (record_tiers(s->wdb, cfg, err, errlen) < 0 || sla_rows_open(&s->sla_rows, s->wdb, err, errlen) < 0 ||
	    store_reader_open(&s->reader, s->path, err, errlen) < 0)
		return -1;
	s->last_flush_ms = clock_monotonic_ms();
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
		return errmsg_set(err, errlen, "cannot start the writer thread: %s", strerror(errno));
	s->running = 1;
	return 0;
}

int store_open_config(struct store **out, const char *path, const struct storage_config *cfg, char *err,
		      size_t errlen)
{
	struct store *s = store_alloc(path);
	if (!s)
		return errmsg_set(err, errlen, "out of memory");
	if (open_writer(s, cfg, err, errlen) < 0) {
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int store_open(struct store **out, const char *path, int readonly, char *err, size_t errlen)
{
	if (!readonly) {
		struct storage_config cfg;
		storage_config_defaults(&cfg);
		return store_open_config(out, path, &cfg, err, errlen);
	}
	struct store *s = store_alloc(path);
	if (!s)
		return errmsg_set(err, errlen, "out of memory");
	s->readonly = 1;
	if (store_reader_open(&s->reader, path, err, errlen) < 0) {
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* ---- the writer thread ------------------------------------------------------ */

static void finish(struct store_req *r, enum store_result res, const char *err)
{
	r->result = res;
	if (err && res == STORE_FAILED && err != r->err)
		copy_msg(r->err, sizeof(r->err), err);
	r->done(r, res, res == STORE_FAILED ? r->err : NULL);
}

static void fail_group(struct store_req *group, const char *why)
{
	while (group) {
		struct store_req *next = group->next;
		finish(group, STORE_FAILED, why);
		group = next;
	}
}

static void complete_group(struct store_req *group)
{
	while (group) {
		struct store_req *next = group->next;
		finish(group, group->result, group->err);
		group = next;
	}
}

/* After a failure the memory may be ahead of the database: reload it. */
static int ensure_loaded(struct store *s, char *err, size_t errlen)
{
	if (!s->eng.broken)
		return 0;
	if (engine_reload(&s->eng, err, errlen) < 0) {
		log_error("%s: reloading the store after a failure: %s", s->path, err);
		return -1;
	}
	log_warn("%s: store state reloaded from the database after a failed commit", s->path);
	return 0;
}

static void publish_stats(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	s->stats = s->eng.stats;
	pthread_mutex_unlock(&s->mu);
}

/* One SLA row, written on the writer's connection in the open group. */
static int sla_row(struct store *s, struct store_req *r, char *err, size_t errlen)
{
	switch (r->kind) {
	case REQ_SLA_MODEL:
		return sla_rows_model(s->sla_rows, r->model, err, errlen);
	case REQ_ALERT_OPEN:
		return sla_rows_alert_open(s->sla_rows, r->alert, err, errlen);
	case REQ_ALERT_PEAK:
		return sla_rows_alert_peak(s->sla_rows, r->alert, err, errlen);
	case REQ_ALERT_CLOSE:
		return sla_rows_alert_close(s->sla_rows, r->alert, err, errlen);
	}
	return errmsg_set(err, errlen, "unknown store request kind %d", r->kind);
}

static int is_sla_row(int kind)
{
	return kind == REQ_SLA_MODEL || kind == REQ_ALERT_OPEN || kind == REQ_ALERT_PEAK || kind == REQ_ALERT_CLOSE;
}

/* Runs one batch, derived or SLA row request into the open group. -1 fails
 * the whole group (the memory is then reloaded). */
static int process(struct store *s, struct store_req *r, char *err, size_t errlen)
{
	if (ensure_loaded(s, err, errlen) < 0 || engine_begin(&s->eng, err, errlen) < 0)
		return -1;
	if (is_sla_row(r->kind)) {
		if (sla_row(s, r, r->err, sizeof(r->err)) < 0) {
			r->result = STORE_FAILED;
			/* A statement error leaves the group's transaction open;
			 * one SQLite had to roll back takes the group with it. */
			if (sqlite3_get_autocommit(s->wdb))
				return errmsg_set(err, errlen, "%s", r->err);
			return 0;
		}
		r->result = STORE_STORED;
		return 0;
	}
	if (r->kind == REQ_DERIVED) {
		char why[256];
		if (engine_derived(&s->eng, r->vm_uuid, r->t_start_ms, r->t_end_ms, r->interval_ms, r->samples,
				   r->n_samples, why, sizeof(why)) < 0) {
			/* An unknown VM or a bad reading fails only this request. */
			r->result = STORE_FAILED;
			snprintf(r->err, sizeof(r->err), "derived readings of %.36s: %.180s", r->vm_uuid, why);
			return s->eng.broken ? -1 : 0;
		}
		r->result = STORE_STORED;
		return 0;
	}
	const Vigil__Batch *b = r->batch;
	r->result = engine_batch(&s->eng, b, err, errlen);
	if (r->result == STORE_FAILED) {
		char why[400];
		copy_msg(why, sizeof(why), err);
		errmsg_set(err, errlen, "host %s seq %llu: %s", b->host, (unsigned long long)b->seq, why);
		return -1;
	}
	return 0;
}

static void commit_group(struct store *s, struct store_req **group)
{
	char err[512];
	uint64_t t0 = clock_monotonic_ns();
	if (engine_commit(&s->eng, err, sizeof(err)) < 0) {
		log_error("%s: group commit failed: %s", s->path, err);
		engine_rollback(&s->eng);
		fail_group(*group, err);
	} else {
		s->eng.stats.commit_ns += clock_monotonic_ns() - t0;
		publish_stats(s);
		complete_group(*group);
	}
	*group = NULL;
}

static int flush_due(struct store *s)
{
	return s->eng.journal_bytes >= s->eng.cfg.flush_bytes || clock_monotonic_ms() - s->last_flush_ms >= s->eng.cfg.flush_ms;
}

static int do_flush(struct store *s, int64_t now_ms, char *err, size_t errlen)
{
	uint64_t t0 = clock_monotonic_ns();
	if (ensure_loaded(s, err, errlen) < 0)
		return -1;
	int rc = engine_flush(&s->eng, now_ms ? now_ms : clock_realtime_ms(), err, errlen);
	s->last_flush_ms = clock_monotonic_ms();
	if (rc < 0) {
		log_error("%s: flush failed: %s", s->path, err);
		return -1;
	}
	s->eng.stats.flush_ns += clock_monotonic_ns() - t0;
	log_debug("%s: journal flushed into segments", s->path);
	publish_stats(s);
	return 0;
}

static struct store_req *take_queue(struct store *s, int wait, int *stop)
{
	pthread_mutex_lock(&s->mu);
	if (wait && !s->head && !s->stop) {
		/* At least once a second, so a due flush is not missed. */
		struct timespec until = clock_deadline_after_ms(1000);
		pthread_cond_timedwait(&s->work, &s->mu, &until);
	}
	struct store_req *r = s->head;
	s->head = s->tail = NULL;
	*stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return r;
}

static int queue_empty(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	int empty = s->head == NULL;
	pthread_mutex_unlock(&s->mu);
	return empty;
}

static size_t request_samples(const struct store_req *r)
{
	size_t n = 0;
	for (size_t i = 0; r->batch && i < r->batch->n_vms; i++)
		n += r->batch->vms[i]->n_samples;
	return n + r->n_samples;
}

struct group {
	struct store_req *head, **tail;
	int64_t started_ms;
	size_t samples;
};

static void group_add(struct group *g, struct store_req *r)
{
	if (!g->head)
		g->started_ms = clock_monotonic_ms();
	r->next = NULL;
	*g->tail = r;
	g->tail = &r->next;
	g->samples += request_samples(r);
}

static void group_commit(struct store *s, struct group *g)
{
	if (g->head)
		commit_group(s, &g->head);
	g->head = NULL;
	g->tail = &g->head;
	g->samples = 0;
}

static void handle(struct store *s, struct group *g, struct store_req *r)
{
	char err[512];
	if (r->kind == REQ_FLUSH) {
		group_commit(s, g);
		int rc = do_flush(s, r->t_end_ms, err, sizeof(err));
		finish(r, rc < 0 ? STORE_FAILED : STORE_STORED, err);
		return;
	}
	r->err[0] = '\0';
	if (r->kind == REQ_SYNC) {
		/* Done with the open group's commit, or now when none is open. */
		r->result = STORE_STORED;
		if (g->head)
			group_add(g, r);
		else
			finish(r, STORE_STORED, NULL);
		return;
	}
	if (process(s, r, err, sizeof(err)) < 0) {
		log_error("%s: %s", s->path, err);
		engine_rollback(&s->eng);
		fail_group(g->head, err);
		g->head = NULL;
		g->tail = &g->head;
		g->samples = 0;
		finish(r, STORE_FAILED, err);
		return;
	}
	group_add(g, r);
}

/* Group commit: requests that arrive while a group is being built join it;
 * the group commits when nothing more is waiting, when it is older than
 * commit_max_ms, or when it holds GROUP_MAX_SAMPLES. Each request's done
 * is called after the commit that holds it. */
static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct group g = { NULL, &g.head, 0, 0 };
	int stop = 0;
	for (;;) {
		struct store_req *r = take_queue(s, g.head == NULL, &stop);
		while (r) {
			struct store_req *next = r->next;
			handle(s, &g, r);
			r = next;
		}
		if (g.head && (queue_empty(s) || clock_monotonic_ms() - g.started_ms >= s->eng.cfg.commit_max_ms ||
			       g.samples >= GROUP_MAX_SAMPLES))
			group_commit(s, &g);
		char err[512];
		if (!g.head && flush_due(s))
			do_flush(s, 0, err, sizeof(err));
		if (stop && !g.head && queue_empty(s))
			break;
	}
	char err[512];
	s->eng.closing = 1;
	do_flush(s, 0, err, sizeof(err));
	const struct store_stats *st = &s->eng.stats;
	log_info("%s: %llu batches (%llu samples, %llu repeats) in %llu group commits (%.2f ms each), %llu flushes "
		 "(%.0f ms each)",
		 s->path, (unsigned long long)st->batches, (unsigned long long)st->samples,
		 (unsigned long long)st->duplicates, (unsigned long long)st->commits,
		 st->commits ? (double)st->commit_ns / 1e6 / (double)st->commits : 0.0, (unsigned long long)st->flushes,
		 st->flushes ? (double)st->flush_ns / 1e6 / (double)st->flushes : 0.0);
	return NULL;
}

void store_submit(struct store *s, struct store_req *r)
{
	r->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->tail)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
}

/* ---- synchronous requests ----------------------------------------------------- */

static void sync_done(struct store_req *r, enum store_result res, const char *err)
{
	(void)res;
	(void)err;
	struct store *s = r->arg;
	pthread_mutex_lock(&s->mu);
	r->kind = -1; /* finished */
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->mu);
}

static enum store_result run_sync(struct store *s, struct store_req *r, char *err, size_t errlen)
{
	if (s->readonly || !s->running) {
		errmsg_set(err, errlen, "%s is open read-only", s->path);
		return STORE_FAILED;
	}
	r->done = sync_done;
	r->arg = s;
	store_submit(s, r);
	pthread_mutex_lock(&s->mu);
	while (r->kind != -1)
		pthread_cond_wait(&s->done, &s->mu);
	pthread_mutex_unlock(&s->mu);
	if (r->result == STORE_FAILED)
		errmsg_set(err, errlen, "%s", r->err);
	return r->result;
}

enum store_result store_batch(struct store *s, const Vigil__Batch *b, char *err, size_t errlen)
{
	struct store_req r;
	memset(&r, 0, sizeof(r));
	r.kind = REQ_BATCH;
	r.batch = b;
	return run_sync(s, &r, err, errlen);
}

int store_derived(struct store *s, const char *vm_uuid, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms,
		  Vigil__Sample *const *samples, size_t n, char *err, size_t errlen)
{
	struct store_req r;
	memset(&r, 0, sizeof(r));
	r.kind = REQ_DERIVED;
	r.vm_uuid = vm_uuid;
	r.samples = samples;
	r.n_samples = n;
	r.t_start_ms = t_start_ms;
	r.t_end_ms = t_end_ms;
	r.interval_ms = interval_ms;
	return run_sync(s, &r, err, errlen) == STORE_FAILED ? -1 : 0;
}

int store_sla_model(struct store *s, const struct sla_model_row *m, char *err, size_t errlen)
{
	struct store_req r;
	memset(&r, 0, sizeof(r));
	r.kind = REQ_SLA_MODEL;
	r.model = m;
	return run_sync(s, &r, err, errlen) == STORE_FAILED ? -1 : 0;
}

int store_sla_alert(struct store *s, enum store_req_kind kind, struct sla_alert_row *a, char *err, size_t errlen)
{
	if (!is_sla_row((int)kind) || kind == STORE_REQ_SLA_MODEL)
		return errmsg_set(err, errlen, "store_sla_alert: request kind %d is not an alert's", (int)kind);
	struct store_req r;
	memset(&r, 0, sizeof(r));
	r.kind = (int)kind;
	r.alert = a;
	return run_sync(s, &r, err, errlen) == STORE_FAILED ? -1 : 0;
}

int store_sync(struct store *s, char *err, size_t errlen)
{
	struct store_req r;
	memset(&r, 0, sizeof(r));
	r.kind = REQ_SYNC;
	return run_sync(s, &r, err, errlen) == STORE_FAILED ? -1 : 0;
}

int store_flush(struct store *s, int64_t now_ms, char *err, size_t errlen)
{
	struct store_req r;
	memset(&r, 0, sizeof(r));
	r.kind = REQ_FLUSH;
	r.t_end_ms = now_ms;
	return run_sync(s, &r, err, errlen) == STORE_FAILED ? -1 : 0;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->stats;
	pthread_mutex_unlock(&s->mu);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->writer, NULL);
		/* Give space freed by flushes back, and leave no WAL behind. */
		sqlite3_exec(s->wdb, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
		sqlite3_exec(s->wdb, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	}
	if (s->wdb)
		engine_free(&s->eng);
	store_reader_close(s->reader);
	sla_rows_close(s->sla_rows);
	sqlite3_close(s->wdb);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->done);
	free(s->path);
	free(s);
}
