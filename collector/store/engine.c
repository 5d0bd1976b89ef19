#include "engine.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "compact.h"
#include "errmsg.h"
#include "log.h"
#include "wire.h"

static const char *const engine_sql[EST_COUNT] = {
	[EST_HOST_ADD] = "INSERT INTO hosts (name, first_seen, last_seen) VALUES (?1, ?2, ?2)",
	[EST_HOST_SET] = "UPDATE hosts SET last_seq = ?2, last_seen = ?3, interval_ms = ?4 WHERE id = ?1",
	[EST_VM_ADD] = "INSERT INTO vms (uuid, host_id, name, source, state, vcpus, first_seen, last_seen) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
	[EST_VM_SET] = "UPDATE vms SET host_id = ?2, name = ?3, source = ?4, state = ?5, vcpus = ?6, last_seen = ?7, "
		       "cpu_used_pct = ?8, cpu_wait_pct = ?9 WHERE id = ?1",
	[EST_VM_NAME] = "INSERT INTO vm_names (vm_id, name, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3) "
			"ON CONFLICT (vm_id, name) DO UPDATE SET last_seen = ?3",
	[EST_METRIC_ADD] = "INSERT INTO metrics (name, unit, layer) VALUES (?1, '', ?2)",
	[EST_SERIES_ADD] = "INSERT INTO series (vm_id, metric_id, tags) VALUES (?1, ?2, ?3)",
	[EST_JOURNAL_ADD] = "INSERT INTO journal (id, data) VALUES (?1, ?2)",
	[EST_JOURNAL_CLEAR] = "DELETE FROM journal",
};


/* ---- hashing -------------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* FNV-1a, then a final mix so the low bits (the table index) depend on
 * every input bit. */
static uint64_t hash_str(uint64_t seed, const char *s)
{
	uint64_t h = hash_bytes(seed ^ 0xcbf29ce484222325ull, s, strlen(s));
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static int htab_grow(struct htab *t)
{
	size_t n = t->slots ? (t->mask + 1) * 2 : 64;
	struct hnode **slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		struct hnode *e = t->slots[i];
		while (e) {
			struct hnode *next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->mask = n - 1;
	return 0;
}

static int htab_add(struct htab *t, struct hnode *node)
{
	if ((!t->slots || t->count >= t->mask) && htab_grow(t) < 0)
		return -1;
	node->next = t->slots[node->hash & t->mask];
	t->slots[node->hash & t->mask] = node;
	t->count++;
	return 0;
}

static struct hnode *htab_first(const struct htab *t, uint64_t hash)
{
	return t->slots ? t->slots[hash & t->mask] : NULL;
}

/* ---- small helpers -------------------------------------------------------- */

static sqlite3_stmt *stmt(struct engine *e, enum engine_stmt id)
{
	sqlite3_reset(e->st[id]);
	sqlite3_clear_bindings(e->st[id]);
	return e->st[id];
}

static int step_done(struct engine *e, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return errmsg_set(err, errlen, "%s: %s", what, sqlite3_errmsg(e->db));
	return 0;
}

static uint8_t kind_of(const char *kind)
{
	if (kind && strcmp(kind, "counter") == 0)
		return KIND_COUNTER;
	if (kind && strcmp(kind, "state") == 0)
		return KIND_STATE;
	return KIND_GAUGE;
}

/* ---- the model ------------------------------------------------------------ */

static struct metric_info *metric_new(struct engine *e, int64_t id, const char *name, const char *kind)
{
	struct metric_info *m = calloc(1, sizeof(*m));
	if (!m || !(m->name = strdup(name))) {
		free(m);
		return NULL;
	}
	m->id = id;
	m->kind = kind_of(kind);
	m->deadband = m->kind == KIND_GAUGE ? storage_deadband(&e->cfg, name) : NULL;
	m->node.hash = hash_str(0, name);
	if (htab_add(&e->metrics, &m->node) < 0) {
		free(m->name);
		free(m);
		return NULL;
	}
	if (strcmp(name, "cpu.used_pct") == 0)
		e->cpu_used = m;
	if (strcmp(name, "cpu.wait_pct") == 0)
		e->cpu_wait = m;
	return m;
}

static struct metric_info *metric_find(struct engine *e, const char *name)
{
	uint64_t h = hash_str(0, name);
	for (struct hnode *n = htab_first(&e->metrics, h); n; n = n->next) {
		struct metric_info *m = (struct metric_info *)n;
		if (n->hash == h && strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}

/* The catalogue grows by itself: a metric a newer probe sends is recorded
 * with its layer taken from the name's prefix ("disk.read_bytes" -> disk). */
static struct metric_info *metric_get(struct engine *e, const char *name, char *err, size_t errlen)
{
	struct metric_info *m = metric_find(e, name);
	if (m)
		return m;
	const char *dot = strchr(name, '.');
	int layer_len = dot ? (int)(dot - name) : (int)strlen(name);
	sqlite3_stmt *st = stmt(e, EST_METRIC_ADD);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, layer_len, SQLITE_STATIC);
	if (step_done(e, st, "adding a metric", err, errlen) < 0)
		return NULL;
	log_info("metric %s added to the catalogue (layer %.*s, unit unknown)", name, layer_len, name);
	m = metric_new(e, sqlite3_last_insert_rowid(e->db), name, "gauge");
	if (!m)
		errmsg_set(err, errlen, "out of memory");
	return m;
}

static struct host_info *host_new(struct engine *e, int64_t id, const char *name)
{
	struct host_info *h = calloc(1, sizeof(*h));
	if (!h || !(h->name = strdup(name))) {
		free(h);
		return NULL;
	}
	h->id = id;
	h->node.hash = hash_str(1, name);
	if (htab_add(&e->hosts, &h->node) < 0) {
		free(h->name);
		free(h);
		return NULL;
	}
	return h;
}

static struct host_info *host_get(struct engine *e, const char *name, int64_t t_ms, char *err, size_t errlen)
{
	uint64_t hash = hash_str(1, name);
	for (struct hnode *n = htab_first(&e->hosts, hash); n; n = n->next)
		if (n->hash == hash && strcmp(((struct host_info *)n)->name, name) == 0)
			return (struct host_info *)n;
	sqlite3_stmt *st = stmt(e, EST_HOST_ADD);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t_ms);
	if (step_done(e, st, "adding a host", err, errlen) < 0)
		return NULL;
	struct host_info *h = host_new(e, sqlite3_last_insert_rowid(e->db), name);
	if (!h)
		errmsg_set(err, errlen, "out of memory");
	return h;
}

static void host_dirty(struct engine *e, struct host_info *h)
{
	if (!h->dirty) {
		h->dirty = 1;
		h->dirty_next = e->dirty_hosts;
		e->dirty_hosts = h;
	}
}

static void vm_dirty(struct engine *e, struct vm_info *v)
{
	if (!v->dirty) {
		v->dirty = 1;
		v->dirty_next = e->dirty_vms;
		e->dirty_vms = v;
	}
}

static void on_close(struct jvm *log, struct jseries *js, const struct interval *iv, void *arg);
static void on_sample(struct jvm *log, struct jseries *js, int64_t t0, int64_t t1, uint8_t flags, void *arg);

static struct vm_info *vm_new(struct engine *e, int64_t id, const char *uuid, const char *name)
{
	struct vm_info *v = calloc(1, sizeof(*v));
	if (!v || !(v->name = strdup(name))) {
		free(v);
		return NULL;
	}
	if (e->n_vms == e->cap_vms) {
		size_t cap = e->cap_vms ? e->cap_vms * 2 : 64;
		struct vm_info **all = realloc(e->all_vms, cap * sizeof(*all));
		if (!all)
			goto fail;
		e->all_vms = all;
		e->cap_vms = cap;
	}
	v->id = id;
	snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
	jvm_init(&v->log, id);
	v->log.on_close = on_close;
	v->log.on_sample = on_sample;
	v->log.arg = v;
	v->node.hash = hash_str(2, uuid);
	if (htab_add(&e->vms, &v->node) < 0)
		goto fail;
	e->all_vms[e->n_vms++] = v;
	return v;
fail:
	free(v->name);
	free(v);
	return NULL;
}

static struct vm_info *vm_find(struct engine *e, const char *uuid)
{
	uint64_t hash = hash_str(2, uuid);
	for (struct hnode *n = htab_first(&e->vms, hash); n; n = n->next)
		if (n->hash == hash && strcmp(((struct vm_info *)n)->uuid, uuid) == 0)
			return (struct vm_info *)n;
	return NULL;
}

static int vm_name_set(struct vm_info *v, const char *name)
{
	if (strcmp(v->name, name) == 0)
		return 0;
	char *copy = strdup(name);
	if (!copy)
		return -1;
	free(v->name);
	v->name = copy;
	v->name_dirty = 1;
	return 0;
}

static struct vm_info *vm_get(struct engine *e, struct host_info *h, const Vigil__VmSamples *vs, int64_t t_ms,
			      char *err, size_t errlen)
{
	struct vm_info *v = vm_find(e, vs->uuid);
	if (!v) {
		sqlite3_stmt *st = stmt(e, EST_VM_ADD);
		sqlite3_bind_text(st, 1, vs->uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, h->id);
		sqlite3_bind_text(st, 3, vs->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, vs->source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, vs->state, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, vs->vcpus);
		sqlite3_bind_int64(st, 7, t_ms);
		if (step_done(e, st, "adding a VM", err, errlen) < 0)
			return NULL;
		if (!(v = vm_new(e, sqlite3_last_insert_rowid(e->db), vs->uuid, vs->name))) {
			errmsg_set(err, errlen, "out of memory");
			return NULL;
		}
		v->first_seen = t_ms;
		v->name_dirty = 1;
	} else if (vm_name_set(v, vs->name) < 0) {
		errmsg_set(err, errlen, "out of memory");
		return NULL;
	}
	v->host = h;
	snprintf(v->state, sizeof(v->state), "%s", vs->state);
	snprintf(v->source, sizeof(v->source), "%s", vs->source);
	v->vcpus = vs->vcpus;
	v->last_seen = t_ms;
	return v;
}

static uint64_t series_hash(const struct vm_info *v, const struct metric_info *m, const char *tags)
{
	return hash_str((uint64_t)v->id * 0x9e3779b97f4a7c15ull ^ (uint64_t)m->id, tags);
}

/* Links a series object to its slot in the VM's journal state. */
static struct series_info *series_new(struct engine *e, struct vm_info *v, struct metric_info *m, const char *tags,
				      int64_t id)
{
	struct series_info *s = calloc(1, sizeof(*s));
	if (!s || !(s->tags = strdup(tags))) {
		free(s);
		return NULL;
	}
	size_t idx = jvm_series(&v->log, id);
	if (idx == (size_t)-1)
		goto fail;
	if (idx >= v->cap_series) {
		size_t cap = v->cap_series ? v->cap_series * 2 : 16;
		while (cap <= idx)
			cap *= 2;
		struct series_info **grown = realloc(v->series, cap * sizeof(*grown));
		if (!grown)
			goto fail;
		memset(grown + v->cap_series, 0, (cap - v->cap_series) * sizeof(*grown));
		v->series = grown;
		v->cap_series = cap;
	}
	s->vm = v;
	s->metric = m;
	s->untagged = tags[0] == '\0';
	s->id = id;
	s->idx = idx;
	s->node.hash = series_hash(v, m, tags);
	if (htab_add(&e->series, &s->node) < 0)
		goto fail;
	v->series[idx] = s;
	return s;
fail:
	free(s->tags);
	free(s);
	return NULL;
}

static struct series_info *series_get(struct engine *e, struct vm_info *v, const char *metric, const char *tags,
				      char *err, size_t errlen)
{
	struct metric_info *m = metric_get(e, metric, err, errlen);
	if (!m)
		return NULL;
	uint64_t hash = series_hash(v, m, tags);
	for (struct hnode *n = htab_first(&e->series, hash); n; n = n->next) {
		struct series_info *s = (struct series_info *)n;
		if (n->hash == hash && s->vm == v && s->metric == m && strcmp(s->tags, tags) == 0)
			return s;
	}
	sqlite3_stmt *st = stmt(e, EST_SERIES_ADD);
	sqlite3_bind_int64(st, 1, v->id);
	sqlite3_bind_int64(st, 2, m->id);
	sqlite3_bind_text(st, 3, tags, -1, SQLITE_STATIC);
	if (step_done(e, st, "adding a series", err, errlen) < 0)
		return NULL;
	struct series_info *s = series_new(e, v, m, tags, sqlite3_last_insert_rowid(e->db));
	if (!s)
		errmsg_set(err, errlen, "out of memory");
	return s;
}

/* ---- what a flush will write ---------------------------------------------- */

static void pending_note(struct pending *p, int64_t first, int64_t last)
{
	if (p->count == 0 || first < p->first)
		p->first = first;
	if (p->count == 0 || last > p->last)
		p->last = last;
	p->count++;
}

static void on_close(struct jvm *log, struct jseries *js, const struct interval *iv, void *arg)
{
	struct vm_info *v = arg;
	struct series_info *s = v->series[js - log->series];
	if (!s)
		return; /* a corrupt journal named a series that does not exist; caught by the loader */
	if (s->raw.count == 0) {
		uint32_t base = iv->n ? (uint32_t)((iv->t_end_ms - iv->t_start_ms) / iv->n) : 0;
		interval_enc_init(&s->raw_enc, iv->t_start_ms, base ? base : 1);
	}
	interval_put(&s->raw.data, &s->raw_enc, iv);
	pending_note(&s->raw, iv->t_start_ms, iv->t_end_ms);
}

static void pending_rollup(struct series_info *s, int tier, const struct rollup *r)
{
	struct pending *p = &s->roll[tier];
	if (p->count == 0)
		rollup_enc_init(&s->roll_enc[tier], r->start_ms, tier_resolution_ms[tier + 1]);
	rollup_put(&p->data, &s->roll_enc[tier], r);
	pending_note(p, r->start_ms, r->start_ms + tier_resolution_ms[tier + 1]);
}

static void emit_hour(const struct rollup *r, void *arg)
{
	pending_rollup(arg, 1, r);
}

static void emit_minute(const struct rollup *r, void *arg)
{
	struct series_info *s = arg;
	pending_rollup(s, 0, r);
	rollup_compose(&s->vm->log.series[s->idx].acc[1], tier_resolution_ms[TIER_1H], r, emit_hour, s);
}

static void on_sample(struct jvm *log, struct jseries *js, int64_t t0, int64_t t1, uint8_t flags, void *arg)
{
	struct vm_info *v = arg;
	struct series_info *s = v->series[js - log->series];
	if (!s)
		return;
	rollup_feed(&js->acc[0], tier_resolution_ms[TIER_1M], t0, t1, js->cur.value,
		    s->metric->kind == KIND_COUNTER ? js->cur.value : 0, flags, emit_minute, s);
}

/* ---- ingest ----------------------------------------------------------------- */

static int ensure_events(struct vm_info *v, size_t n)
{
	if (n <= v->ev_cap)
		return 0;
	struct jevent *ev = realloc(v->ev, n * sizeof(*ev));
	if (!ev)
		return -1;
	v->ev = ev;
	v->ev_cap = n;
	return 0;
}

static void note_cpu(struct engine *e, struct vm_info *v, const struct series_info *s, double value)
{
	if (s->tags[0])
		return;
	if (s->metric == e->cpu_used) {
		v->cpu_used = value;
		v->has_cpu_used = 1;
	} else if (s->metric == e->cpu_wait) {
		v->cpu_wait = value;
		v->has_cpu_wait = 1;
	}
}

/* Whether sample smp is series s, without building its canonical tags
 * in the usual cases (no tag, one tag). */
static int sample_is(const struct series_info *s, const Vigil__Sample *smp)
{
	if (strcmp(s->metric->name, smp->metric) != 0)
		return 0;
	if (smp->n_tags == 0)
		return s->untagged;
	if (smp->n_tags == 1) {
		size_t kl = strlen(smp->tags[0]->key);
		return strncmp(s->tags, smp->tags[0]->key, kl) == 0 && s->tags[kl] == '=' &&
		       strcmp(s->tags + kl + 1, smp->tags[0]->value) == 0;
	}
	char tags[WIRE_TAGS_MAX_LEN];
	return wire_canonical_tags(smp->tags, smp->n_tags, tags, sizeof(tags)) == 0 && strcmp(s->tags, tags) == 0;
}

/* Remembers s as the series at position pos; the cache is only an
 * accelerator, so running out of memory here costs nothing but speed. */
static void order_note(struct series_order *o, size_t pos, struct series_info *s)
{
	if (pos >= o->cap) {
		size_t cap = o->cap ? o->cap : 32;
		while (cap <= pos)
			cap *= 2;
		struct series_info **g = realloc(o->at, cap * sizeof(*g));
		if (!g)
			return;
		memset(g + o->cap, 0, (cap - o->cap) * sizeof(*g));
		o->at = g;
		o->cap = cap;
	}
	o->at[pos] = s;
}

static struct series_info *order_hit(const struct series_order *o, size_t pos, const Vigil__Sample *smp)
{
	return pos < o->cap && o->at[pos] && sample_is(o->at[pos], smp) ? o->at[pos] : NULL;
}

static struct series_info *sample_series(struct engine *e, struct vm_info *v, size_t pos, const Vigil__Sample *smp,
					 const char *vm_name, char *err, size_t errlen)
{
	struct series_info *s = order_hit(&v->order, pos, smp);
	if (s)
		return s;
	char tags[WIRE_TAGS_MAX_LEN];
	if (wire_canonical_tags(smp->tags, smp->n_tags, tags, sizeof(tags)) < 0) {
		errmsg_set(err, errlen, "vm %s: metric %s: invalid tags", vm_name, smp->metric);
		return NULL;
	}
	if ((s = series_get(e, v, smp->metric, tags, err, errlen)))
		order_note(&v->order, pos, s);
	return s;
}

/* Decides each sample's event: a restart (break or reset) or a series that
 * was not open starts a new interval; otherwise an equal value (or one
 * within the gauge's deadband) extends it. Open series the batch lacks are
 * closed. */
static int vm_events(struct engine *e, struct vm_info *v, const Vigil__VmSamples *vs, const struct jbatch *jb,
		     uint64_t gen, size_t *n_ev, char *err, size_t errlen)
{
	int restart = jb->flags != 0;
	size_t n = 0;
	/* At most one NEW per sample and one CLOSE per series, old or new. */
	if (ensure_events(v, v->log.n_series + 2 * vs->n_samples) < 0)
		return errmsg_set(err, errlen, "out of memory");
	for (size_t j = 0; j < vs->n_samples; j++) {
		const Vigil__Sample *smp = vs->samples[j];
		struct series_info *s = sample_series(e, v, j, smp, vs->name, err, errlen);
		if (!s)
			return -1;
		if (s->seen_gen == gen)
			continue; /* the same series twice in one batch: the first reading counts */
		s->seen_gen = gen;
		note_cpu(e, v, s, smp->value);
		const struct jseries *js = &v->log.series[s->idx];
		uint8_t flags = 0;
		if (!restart && js->open && !js->derived) {
			if (deadband_accepts(s->metric->deadband, js->cur.value, smp->value))
				continue;
		} else {
			flags = (uint8_t)((jb->flags & JB_BREAK || !js->open || js->derived || !v->log.has_clock ? IV_GAP : 0) |
					  (jb->flags & JB_RESET ? IV_RESET : 0));
		}
		v->ev[n++] = (struct jevent){ .idx = s->idx, .op = JOP_NEW, .flags = flags, .value = smp->value };
	}
	if (!restart) {
		for (size_t i = 0; i < v->log.n_series; i++) {
			const struct jseries *js = &v->log.series[i];
			if (js->open && !js->derived && v->series[i]->seen_gen != gen)
				v->ev[n++] = (struct jevent){ .idx = i, .op = JOP_CLOSE };
		}
	}
	*n_ev = n;
	return 0;
}

static int vm_batch(struct engine *e, struct host_info *h, const Vigil__Batch *b, const Vigil__VmSamples *vs,
		    char *err, size_t errlen)
{
	struct vm_info *v = vm_get(e, h, vs, b->t_end_ms, err, errlen);
	if (!v)
		return -1;
	struct jbatch jb = { 0, b->t_start_ms, b->t_end_ms, b->interval_ms };
	if (v->log.has_clock && !interval_continues(v->log.clock_end, b->t_start_ms, b->t_end_ms, b->interval_ms))
		jb.flags |= JB_BREAK;
	if (vs->counters_reset)
		jb.flags |= JB_RESET;
	size_t n_ev = 0;
	if (vm_events(e, v, vs, &jb, ++e->gen, &n_ev, err, errlen) < 0)
		return -1;
	journal_put_batch(&v->jbuf, &v->log, &jb, v->ev, n_ev);
	journal_apply_batch(&v->log, &jb, v->ev, n_ev);
	if (v->jbuf.failed)
		return errmsg_set(err, errlen, "out of memory");
	vm_dirty(e, v);
	e->stats.samples += vs->n_samples;
	return 0;
}

enum store_result engine_batch(struct engine *e, const Vigil__Batch *b, char *err, size_t errlen)
{
	struct host_info *h = host_get(e, b->host, b->t_end_ms, err, errlen);
	if (!h)
		return STORE_FAILED;
	if (b->seq <= h->last_seq) {
		e->stats.duplicates++;
		return STORE_DUPLICATE;
	}
	for (size_t i = 0; i < b->n_vms; i++)
		if (vm_batch(e, h, b, b->vms[i], err, errlen) < 0)
			return STORE_FAILED;
	h->last_seq = b->seq;
	h->last_seen = b->t_end_ms;
	h->interval_ms = b->interval_ms;
	host_dirty(e, h);
	e->stats.batches++;
	return STORE_STORED;
}

/* A derived reading's series. A cache hit matched an existing series'
 * name and tags, which were checked when it was made. */
static struct series_info *derived_series(struct engine *e, struct vm_info *v, size_t pos, const Vigil__Sample *smp,
					  char *err, size_t errlen)
{
	char tags[WIRE_TAGS_MAX_LEN];
	if (!isfinite(smp->value)) {
		errmsg_set(err, errlen, "vm %s: derived reading '%.64s' is not a finite number", v->uuid, smp->metric);
		return NULL;
	}
	struct series_info *s = order_hit(&v->derived_order, pos, smp);
	if (s)
		return s;
	if (!wire_valid_metric(smp->metric) || wire_canonical_tags(smp->tags, smp->n_tags, tags, sizeof(tags)) < 0) {
		errmsg_set(err, errlen, "vm %s: derived reading '%.64s' is invalid", v->uuid, smp->metric);
		return NULL;
	}
	if ((s = series_get(e, v, smp->metric, tags, err, errlen)))
		order_note(&v->derived_order, pos, s);
	return s;
}

int engine_derived(struct engine *e, const char *vm_uuid, int64_t t_start_ms, int64_t t_end_ms, uint32_t interval_ms,
		   Vigil__Sample *const *samples, size_t n, char *err, size_t errlen)
{
	struct vm_info *v = vm_find(e, vm_uuid);
	if (!v)
		return errmsg_set(err, errlen, "vm %s is not known", vm_uuid);
	if (t_end_ms <= t_start_ms || interval_ms == 0)
		return errmsg_set(err, errlen, "vm %s: derived readings need t_start < t_end and an interval", vm_uuid);
	uint64_t gen = ++e->gen;
	size_t n_ev = 0;
	if (ensure_events(v, n) < 0)
		return errmsg_set(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct series_info *s = derived_series(e, v, i, samples[i], err, errlen);
		if (!s)
			return -1;
		if (s->seen_gen == gen)
			continue;
		s->seen_gen = gen;
		const struct jseries *js = &v->log.series[s->idx];
		struct open_interval prev = { js->cur.value, js->cur.t_end_ms };
		int open = js->open && js->derived;
		enum interval_action a = interval_decide(open ? &prev : NULL, samples[i]->value, t_start_ms, t_end_ms,
							 interval_ms);
		uint8_t flags = open && interval_continues(js->cur.t_end_ms, t_start_ms, t_end_ms, interval_ms) ? 0 : IV_GAP;
		v->ev[n_ev++] = (struct jevent){ .idx = s->idx,
						 .op = a == INTERVAL_EXTEND ? JOP_EXTEND : JOP_NEW,
						 .flags = flags,
						 .value = samples[i]->value };
	}
	struct jbatch jb = { 0, t_start_ms, t_end_ms, interval_ms };
	journal_put_derived(&v->jbuf, &v->log, &jb, v->ev, n_ev);
	journal_apply_derived(&v->log, &jb, v->ev, n_ev);
	vm_dirty(e, v);
	return v->jbuf.failed ? errmsg_set(err, errlen, "out of memory") : 0;
}

/* ---- transactions ------------------------------------------------------------ */

static int exec(struct engine *e, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(e->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		errmsg_set(err, errlen, "%s: %s", sql, msg ? msg : sqlite3_errmsg(e->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int engine_begin(struct engine *e, char *err, size_t errlen)
{
	if (e->in_txn)
		return 0;
	if (exec(e, "BEGIN IMMEDIATE", err, errlen) < 0)
		return -1;
	e->in_txn = 1;
	return 0;
}

void engine_rollback(struct engine *e)
{
	if (e->in_txn)
		sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
	e->in_txn = 0;
	e->broken = 1;
}

static int bind_or_null(sqlite3_stmt *st, int idx, int has, double v)
{
	return has ? sqlite3_bind_double(st, idx, v) : sqlite3_bind_null(st, idx);
}

static int vm_write(struct engine *e, struct vm_info *v, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(e, EST_VM_SET);
	sqlite3_bind_int64(st, 1, v->id);
	sqlite3_bind_int64(st, 2, v->host ? v->host->id : 0);
	sqlite3_bind_text(st, 3, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, v->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, v->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, v->vcpus);
	sqlite3_bind_int64(st, 7, v->last_seen);
	bind_or_null(st, 8, v->has_cpu_used, v->cpu_used);
	bind_or_null(st, 9, v->has_cpu_wait, v->cpu_wait);
	if (v->host && step_done(e, st, "updating a VM", err, errlen) < 0)
		return -1;
	if (v->name_dirty) {
		st = stmt(e, EST_VM_NAME);
		sqlite3_bind_int64(st, 1, v->id);
		sqlite3_bind_text(st, 2, v->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, v->last_seen);
		if (step_done(e, st, "recording a VM name", err, errlen) < 0)
			return -1;
	}
	if (v->jbuf.len)
		jrow_add(&e->jrow, v->id, &v->jbuf);
	return 0;
}

/* One journal row for everything the builder holds. */
static int jrow_write(struct engine *e, uint64_t *bytes, char *err, size_t errlen)
{
	if (e->jrow.n == 0)
		return 0;
	if (jrow_finish(&e->jrow, &e->blob) < 0)
		return errmsg_set(err, errlen, "out of memory");
	sqlite3_stmt *st = stmt(e, EST_JOURNAL_ADD);
	sqlite3_bind_int64(st, 1, ++e->journal_seq);
	sqlite3_bind_blob(st, 2, e->blob.data, (int)e->blob.len, SQLITE_STATIC);
	*bytes += e->blob.len;
	jrow_reset(&e->jrow);
	return step_done(e, st, "writing the journal", err, errlen);
}

static int host_write(struct engine *e, struct host_info *h, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(e, EST_HOST_SET);
	sqlite3_bind_int64(st, 1, h->id);
	sqlite3_bind_int64(st, 2, (int64_t)h->last_seq);
	sqlite3_bind_int64(st, 3, h->last_seen);
	sqlite3_bind_int64(st, 4, h->interval_ms);
	return step_done(e, st, "updating a host", err, errlen);
}

int engine_commit(struct engine *e, char *err, size_t errlen)
{
	uint64_t written = 0;
	jrow_reset(&e->jrow);
	for (struct vm_info *v = e->dirty_vms; v; v = v->dirty_next)
		if (vm_write(e, v, err, errlen) < 0)
			return -1;
	if (jrow_write(e, &written, err, errlen) < 0)
		return -1;
	for (struct host_info *h = e->dirty_hosts; h; h = h->dirty_next)
		if (host_write(e, h, err, errlen) < 0)
			return -1;
	if (exec(e, "COMMIT", err, errlen) < 0)
		return -1;
	e->in_txn = 0;
	for (struct vm_info *v = e->dirty_vms; v; v = v->dirty_next) {
		v->dirty = v->name_dirty = 0;
		buf_reset(&v->jbuf);
	}
	for (struct host_info *h = e->dirty_hosts; h; h = h->dirty_next)
		h->dirty = 0;
	e->dirty_vms = NULL;
	e->dirty_hosts = NULL;
	e->journal_bytes += written;
	e->stats.journal_bytes += written;
	e->stats.commits++;
	return 0;
}

/* ---- flush -------------------------------------------------------------------- */

/* Hands out the buckets a series' clock has passed, so a series that
 * stopped still has its last complete buckets written. */
static void close_finished_buckets(struct vm_info *v)
{
	for (size_t i = 0; i < v->log.n_series; i++) {
		struct jseries *js = &v->log.series[i];
		struct series_info *s = v->series[i];
		int64_t clock = js->derived ? (js->open ? js->cur.t_end_ms : INT64_MIN)
					    : (v->log.has_clock ? v->log.clock_end : INT64_MIN);
		if (!s || clock == INT64_MIN)
			continue;
		rollup_flush_before(&js->acc[0], tier_resolution_ms[TIER_1M], clock, emit_minute, s);
		rollup_flush_before(&js->acc[1], tier_resolution_ms[TIER_1H], clock, emit_hour, s);
	}
}

static struct pending *pending_of(struct series_info *s, int tier)
{
	return tier == TIER_RAW ? &s->raw : &s->roll[tier - 1];
}

/* Hands v's streams of one tier, with its clock, to compaction, which
 * writes them as segments (merged with the hour that is due, if any). */
static int tier_write(struct engine *e, struct vm_info *v, int tier, char *err, size_t errlen)
{
	if (v->log.n_series > e->cap_flushing) {
		struct series_pending *g = realloc(e->flushing, v->log.n_series * sizeof(*g));
		if (!g)
			return errmsg_set(err, errlen, "out of memory");
		e->flushing = g;
		e->cap_flushing = v->log.n_series;
	}
	size_t n = 0;
	for (size_t i = 0; i < v->log.n_series; i++) {
		struct series_info *s = v->series[i];
		if (s)
			e->flushing[n++] = (struct series_pending){ s->id, pending_of(s, tier),
								    tier == TIER_RAW ? s->raw_enc.base_ms : 0 };
	}
	struct compact_input in = { .vm_id = v->id, .tier = tier, .has_clock = v->log.has_clock,
				    .clock_end = v->log.clock_end, .closing = e->closing,
				    .series = e->flushing, .n_series = n };
	return compact_write(&e->segs, &e->periods, &in, &v->compacted_until[tier], err, errlen);
}

static void pending_clear(struct vm_info *v)
{
	for (size_t i = 0; i < v->log.n_series; i++) {
		struct series_info *s = v->series[i];
		for (int t = 0; s && t < TIER_COUNT; t++) {
			struct pending *p = pending_of(s, t);
			buf_reset(&p->data);
			p->count = 0;
		}
	}
}

static int snapshot_add(struct engine *e, struct vm_info *v, char *err, size_t errlen)
{
	buf_reset(&v->jbuf);
	journal_put_snapshot(&v->jbuf, &v->log);
	if (v->jbuf.failed)
		return errmsg_set(err, errlen, "out of memory");
	jrow_add(&e->jrow, v->id, &v->jbuf);
	buf_reset(&v->jbuf);
	return 0;
}

static int retention_apply(struct engine *e, int64_t now_ms, char *err, size_t errlen)
{
	for (int t = 0; t < TIER_COUNT; t++)
		if (segtable_expire(&e->segs, t, now_ms - e->cfg.retention_ms[t], err, errlen) < 0)
			return -1;
	return 0;
}

static int segments_write(struct engine *e, char *err, size_t errlen)
{
	for (size_t i = 0; i < e->n_vms; i++) {
		struct vm_info *v = e->all_vms[i];
		close_finished_buckets(v);
		for (int t = 0; t < TIER_COUNT; t++)
			if (tier_write(e, v, t, err, errlen) < 0)
				return -1;
	}
	return 0;
}

/* The flush's writes, inside the caller's transaction. */
static int flush_write(struct engine *e, int64_t now_ms, uint64_t *snap_bytes, char *err, size_t errlen)
{
	int rc = segments_write(e, err, errlen);
	e->stats.segment_bytes += e->segs.bytes_written;
	e->segs.bytes_written = 0;
	if (rc < 0)
		return -1;
	if (step_done(e, stmt(e, EST_JOURNAL_CLEAR), "clearing the journal", err, errlen) < 0)
		return -1;
	jrow_reset(&e->jrow);
	for (size_t i = 0; i < e->n_vms; i++) {
		struct vm_info *v = e->all_vms[i];
		if ((v->log.has_clock || v->log.n_series) && snapshot_add(e, v, err, errlen) < 0)
			return -1;
	}
	if (jrow_write(e, snap_bytes, err, errlen) < 0)
		return -1;
	return now_ms ? retention_apply(e, now_ms, err, errlen) : 0;
}

int engine_flush(struct engine *e, int64_t now_ms, char *err, size_t errlen)
{
	uint64_t snap = 0;
	if (e->in_txn)
		return errmsg_set(err, errlen, "flush inside a group commit");
	if (engine_begin(e, err, errlen) < 0)
		return -1;
	if (flush_write(e, now_ms, &snap, err, errlen) < 0 || exec(e, "COMMIT", err, errlen) < 0) {
		engine_rollback(e);
		return -1;
	}
	e->in_txn = 0;
	for (size_t i = 0; i < e->n_vms; i++)
		pending_clear(e->all_vms[i]);
	e->journal_bytes = snap;
	e->stats.flushes++;
	return 0;
}

/* ---- loading -------------------------------------------------------------------- */

static int prepare_all(struct engine *e, char *err, size_t errlen)
{
	for (int i = 0; i < EST_COUNT; i++)
		if (sqlite3_prepare_v3(e->db, engine_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &e->st[i], NULL) != SQLITE_OK)
			return errmsg_set(err, errlen, "preparing statement %d: %s", i, sqlite3_errmsg(e->db));
	return segtable_open(&e->segs, e->db, err, errlen);
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

static int load_metrics(struct engine *e, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db, "SELECT id, name, kind FROM metrics", -1, &st, NULL) != SQLITE_OK)
		return errmsg_set(err, errlen, "loading metrics: %s", sqlite3_errmsg(e->db));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!metric_new(e, sqlite3_column_int64(st, 0), col_text(st, 1), col_text(st, 2)))
			break;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : errmsg_set(err, errlen, "loading metrics: %s", sqlite3_errmsg(e->db));
}

static int load_hosts(struct engine *e, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db, "SELECT id, name, last_seq, last_seen, interval_ms FROM hosts", -1, &st,
			       NULL) != SQLITE_OK)
		return errmsg_set(err, errlen, "loading hosts: %s", sqlite3_errmsg(e->db));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct host_info *h = host_new(e, sqlite3_column_int64(st, 0), col_text(st, 1));
		if (!h)
			break;
		h->last_seq = (uint64_t)sqlite3_column_int64(st, 2);
		h->last_seen = sqlite3_column_int64(st, 3);
		h->interval_ms = (uint32_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : errmsg_set(err, errlen, "loading hosts: %s", sqlite3_errmsg(e->db));
}

static struct host_info *host_by_id(struct engine *e, int64_t id)
{
	for (size_t i = 0; e->hosts.slots && i <= e->hosts.mask; i++)
		for (struct hnode *n = e->hosts.slots[i]; n; n = n->next)
			if (((struct host_info *)n)->id == id)
				return (struct host_info *)n;
	return NULL;
}

static int load_vms(struct engine *e, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db,
			       "SELECT id, uuid, host_id, name, source, state, vcpus, first_seen, last_seen, "
			       "cpu_used_pct, cpu_wait_pct FROM vms ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return errmsg_set(err, errlen, "loading VMs: %s", sqlite3_errmsg(e->db));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct vm_info *v = vm_new(e, sqlite3_column_int64(st, 0), col_text(st, 1), col_text(st, 3));
		if (!v)
			break;
		v->host = host_by_id(e, sqlite3_column_int64(st, 2));
		snprintf(v->source, sizeof(v->source), "%s", col_text(st, 4));
		snprintf(v->state, sizeof(v->state), "%s", col_text(st, 5));
		v->vcpus = (uint32_t)sqlite3_column_int64(st, 6);
		v->first_seen = sqlite3_column_int64(st, 7);
		v->last_seen = sqlite3_column_int64(st, 8);
		v->has_cpu_used = sqlite3_column_type(st, 9) != SQLITE_NULL;
		v->cpu_used = sqlite3_column_double(st, 9);
		v->has_cpu_wait = sqlite3_column_type(st, 10) != SQLITE_NULL;
		v->cpu_wait = sqlite3_column_double(st, 10);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : errmsg_set(err, errlen, "loading VMs: %s", sqlite3_errmsg(e->db));
}

static struct vm_info *vm_by_id(struct engine *e, int64_t id)
{
	/* all_vms is in id order (loaded ORDER BY id, added with growing ids). */
	size_t lo = 0, hi = e->n_vms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->all_vms[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->n_vms && e->all_vms[lo]->id == id ? e->all_vms[lo] : NULL;
}

static struct metric_info *metric_by_id(struct engine *e, int64_t id)
{
	for (size_t i = 0; e->metrics.slots && i <= e->metrics.mask; i++)
		for (struct hnode *n = e->metrics.slots[i]; n; n = n->next)
			if (((struct metric_info *)n)->id == id)
				return (struct metric_info *)n;
	return NULL;
}

static int load_series(struct engine *e, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db, "SELECT id, vm_id, metric_id, tags FROM series ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK)
		return errmsg_set(err, errlen, "loading series: %s", sqlite3_errmsg(e->db));
	int rc;
	struct metric_info *m = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct vm_info *v = vm_by_id(e, sqlite3_column_int64(st, 1));
		int64_t metric_id = sqlite3_column_int64(st, 2);
		if (!m || m->id != metric_id)
			m = metric_by_id(e, metric_id);
		if (!v || !m) {
			sqlite3_finalize(st);
			return errmsg_set(err, errlen, "series %lld names a VM or metric that does not exist",
				       (long long)sqlite3_column_int64(st, 0));
		}
		if (!series_new(e, v, m, col_text(st, 3), sqlite3_column_int64(st, 0)))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : errmsg_set(err, errlen, "loading series: %s", sqlite3_errmsg(e->db));
}

static int replay_section(int64_t vm_id, const uint8_t *data, size_t len, void *arg)
{
	struct engine *e = arg;
	struct vm_info *v = vm_by_id(e, vm_id);
	if (!v || journal_replay(&v->log, data, len) < 0 || v->log.n_series > v->cap_series)
		return -1;
	return 0;
}

static int replay_journal(struct engine *e, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db, "SELECT id, data FROM journal ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return errmsg_set(err, errlen, "reading the journal: %s", sqlite3_errmsg(e->db));
	int rc;
	e->journal_bytes = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e->journal_seq = sqlite3_column_int64(st, 0);
		const void *data = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		if (jrow_sections(data, (size_t)len, -1, replay_section, e) != 0) {
			sqlite3_finalize(st);
			return errmsg_set(err, errlen, "journal row %lld is corrupt", (long long)e->journal_seq);
		}
		e->journal_bytes += (uint64_t)len;
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < e->n_vms; i++) {
		struct vm_info *v = e->all_vms[i];
		for (size_t k = 0; k < v->log.n_series; k++)
			if (!v->series[k])
				return errmsg_set(err, errlen, "the journal of VM %s names an unknown series", v->uuid);
	}
	return rc == SQLITE_DONE ? 0 : errmsg_set(err, errlen, "reading the journal: %s", sqlite3_errmsg(e->db));
}

/* ---- schema version 2 rows ------------------------------------------------------- */

static void legacy_row(struct series_info *s, int64_t t0, int64_t t1, double value, uint32_t interval_ms,
		       int64_t *prev_end)
{
	struct vm_info *v = s->vm;
	struct jseries *js = &v->log.series[s->idx];
	int64_t dur = t1 - t0;
	uint32_t n = interval_ms ? (uint32_t)llround((double)dur / interval_ms) : 1;
	if (n == 0)
		n = 1;
	int gap = *prev_end == INT64_MIN || 2 * (t0 - *prev_end) > (int64_t)interval_ms;
	struct interval iv = { t0, t1, value, n, (uint8_t)(gap ? IV_GAP : 0) };
	js->cur = iv;
	/* One sample at a time, so a counter's sum is n * value. */
	for (uint32_t k = 0; k < n; k++)
		on_sample(&v->log, js, t0 + dur * k / n, t0 + dur * (k + 1) / n, 0, v);
	on_close(&v->log, js, &iv, v);
	*prev_end = t1;
}

/* Schema version 2 kept one row per interval; they become segments, in the
 * same transaction that drops the old table. */
static int convert_legacy(struct engine *e, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db,
			       "SELECT l.series_id, l.t_start, l.t_end, l.value, h.interval_ms, s.vm_id "
			       "FROM legacy_intervals l "
			       "JOIN series s ON s.id = l.series_id JOIN vms v ON v.id = s.vm_id "
			       "JOIN hosts h ON h.id = v.host_id ORDER BY l.series_id, l.t_start",
			       -1, &st, NULL) != SQLITE_OK)
		return 0; /* no such table: nothing to convert */
	if (engine_begin(e, err, errlen) < 0) {
		sqlite3_finalize(st);
		return -1;
	}
	int rc;
	uint64_t rows = 0, snap = 0;
	int64_t series = -1, prev_end = INT64_MIN;
	struct series_info *s = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) != series) {
			series = sqlite3_column_int64(st, 0);
			struct vm_info *v = vm_by_id(e, sqlite3_column_int64(st, 5));
			size_t k = v ? jvm_find(&v->log, series) : (size_t)-1;
			s = k == (size_t)-1 ? NULL : v->series[k];
			prev_end = INT64_MIN;
		}
		if (s)
			legacy_row(s, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
				   sqlite3_column_double(st, 3), (uint32_t)sqlite3_column_int64(st, 4), &prev_end);
		rows++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || flush_write(e, 0, &snap, err, errlen) < 0 ||
	    exec(e, "DROP TABLE legacy_intervals", err, errlen) < 0 || exec(e, "COMMIT", err, errlen) < 0) {
		if (rc != SQLITE_DONE)
			errmsg_set(err, errlen, "reading version 2 intervals: %s", sqlite3_errmsg(e->db));
		engine_rollback(e);
		return -1;
	}
	e->in_txn = 0;
	for (size_t i = 0; i < e->n_vms; i++)
		pending_clear(e->all_vms[i]);
	e->journal_bytes = snap;
	if (rows)
		log_info("converted %llu interval rows of schema version 2 into segments", (unsigned long long)rows);
	return 0;
}

static int load_all(struct engine *e, char *err, size_t errlen)
{
	if (prepare_all(e, err, errlen) < 0 || load_metrics(e, err, errlen) < 0 || load_hosts(e, err, errlen) < 0 ||
	    load_vms(e, err, errlen) < 0 || load_series(e, err, errlen) < 0 || replay_journal(e, err, errlen) < 0 ||
	    convert_legacy(e, err, errlen) < 0)
		return -1;
	e->broken = 0;
	return 0;
}

int engine_load(struct engine *e, sqlite3 *db, const struct storage_config *cfg, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	e->db = db;
	e->cfg = *cfg;
	return load_all(e, err, errlen);
}

static void free_series(struct series_info *s)
{
	buf_free(&s->raw.data);
	buf_free(&s->roll[0].data);
	buf_free(&s->roll[1].data);
	free(s->tags);
	free(s);
}

static void free_model(struct engine *e)
{
	for (size_t i = 0; i < e->n_vms; i++) {
		struct vm_info *v = e->all_vms[i];
		for (size_t k = 0; k < v->log.n_series; k++)
			if (v->series[k])
				free_series(v->series[k]);
		jvm_free(&v->log);
		buf_free(&v->jbuf);
		free(v->series);
		free(v->order.at);
		free(v->derived_order.at);
		free(v->ev);
		free(v->name);
		free(v);
	}
	/* Series a failed load left unlinked are still in the table. */
	for (size_t i = 0; e->hosts.slots && i <= e->hosts.mask; i++) {
		struct hnode *n = e->hosts.slots[i];
		while (n) {
			struct hnode *next = n->next;
			free(((struct host_info *)n)->name);
			free(n);
			n = next;
		}
	}
	for (size_t i = 0; e->metrics.slots && i <= e->metrics.mask; i++) {
		struct hnode *n = e->metrics.slots[i];
		while (n) {
			struct hnode *next = n->next;
			free(((struct metric_info *)n)->name);
			free(n);
			n = next;
		}
	}
	free(e->all_vms);
	free(e->metrics.slots);
	free(e->hosts.slots);
	free(e->vms.slots);
	free(e->series.slots);
	for (int i = 0; i < EST_COUNT; i++)
		sqlite3_finalize(e->st[i]);
	segtable_close(&e->segs);
	period_set_free(&e->periods);
	free(e->flushing);
	jrow_free(&e->jrow);
	buf_free(&e->blob);
}

void engine_free(struct engine *e)
{
	free_model(e);
	storage_config_free(&e->cfg);
}

int engine_reload(struct engine *e, char *err, size_t errlen)
{
	sqlite3 *db = e->db;
	struct storage_config cfg = e->cfg;
	struct store_stats stats = e->stats;
	int64_t seq = e->journal_seq;
	free_model(e);
	memset(e, 0, sizeof(*e));
	e->db = db;
	e->cfg = cfg;
	e->stats = stats;
	e->journal_seq = seq;
	e->broken = 1;
	return load_all(e, err, errlen);
}
