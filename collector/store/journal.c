#include "journal.h"

#include <stdlib.h>
#include <string.h>

enum { REC_BATCH = 1, REC_DERIVED = 2, REC_SNAPSHOT = 3, REC_PACKED = 4 };

/* Snapshot series bits. */
#define SS_OPEN    1u
#define SS_DERIVED 2u
#define SS_ACC0    4u
#define SS_ACC1    8u

void jvm_init(struct jvm *vm, int64_t vm_id)
{
	memset(vm, 0, sizeof(*vm));
	vm->vm_id = vm_id;
}

void jvm_free(struct jvm *vm)
{
	free(vm->series);
	vm->series = NULL;
	vm->n_series = vm->cap_series = 0;
}

size_t jvm_find(const struct jvm *vm, int64_t id)
{
	for (size_t i = 0; i < vm->n_series; i++)
		if (vm->series[i].id == id)
			return i;
	return (size_t)-1;
}

/* Buckets before this are in segments, for a series the snapshot did not
 * list (it had nothing pending then). */
static int64_t default_rolled(const struct jvm *vm, int tier)
{
	if (!vm->has_snapshot || vm->horizon == INT64_MIN)
		return INT64_MIN;
	return bucket_floor(vm->horizon, tier_resolution_ms[tier + 1]);
}

int64_t jvm_rolled_until(const struct jvm *vm, int64_t id, int tier)
{
	size_t i = jvm_find(vm, id);
	return i == (size_t)-1 ? default_rolled(vm, tier - 1) : vm->series[i].rolled_until[tier - 1];
}

size_t jvm_series(struct jvm *vm, int64_t id)
{
	size_t i = jvm_find(vm, id);
	if (i != (size_t)-1)
		return i;
	if (vm->n_series == vm->cap_series) {
		size_t cap = vm->cap_series ? vm->cap_series * 2 : 16;
		struct jseries *s = realloc(vm->series, cap * sizeof(*s));
		if (!s)
			return (size_t)-1;
		vm->series = s;
		vm->cap_series = cap;
	}
	struct jseries *s = &vm->series[vm->n_series];
	memset(s, 0, sizeof(*s));
	s->id = id;
	for (int t = 0; t < 2; t++)
		s->rolled_until[t] = default_rolled(vm, t);
	return vm->n_series++;
}

static void close_series(struct jvm *vm, struct jseries *s, int64_t t_end)
{
	if (!s->open)
		return;
	s->open = 0;
	s->cur.t_end_ms = t_end;
	if (vm->on_close)
		vm->on_close(vm, s, &s->cur, vm->arg);
}

static void open_series(struct jseries *s, int64_t t_start, int64_t t_end, double value, uint32_t n,
			uint8_t flags)
{
	s->open = 1;
	s->cur.t_start_ms = t_start;
	s->cur.t_end_ms = t_end;
	s->cur.value = value;
	s->cur.n = n;
	s->cur.flags = flags;
}

void journal_apply_batch(struct jvm *vm, const struct jbatch *b, const struct jevent *ev, size_t n)
{
	int64_t prev_end = vm->clock_end;
	if (b->flags & (JB_BREAK | JB_RESET)) {
		for (size_t i = 0; i < vm->n_series; i++)
			if (!vm->series[i].derived)
				close_series(vm, &vm->series[i], prev_end);
	}
	for (size_t k = 0; k < n; k++) {
		struct jseries *s = &vm->series[ev[k].idx];
		s->derived = 0;
		close_series(vm, s, prev_end);
		if (ev[k].op == JOP_NEW)
			open_series(s, b->t_start_ms, b->t_start_ms, ev[k].value, 0, ev[k].flags);
	}
	for (size_t i = 0; i < vm->n_series; i++) {
		struct jseries *s = &vm->series[i];
		if (!s->open || s->derived)
			continue;
		s->cur.n++;
		s->cur.t_end_ms = b->t_end_ms;
		if (vm->on_sample)
			vm->on_sample(vm, s, b->t_start_ms, b->t_end_ms, b->flags & JB_RESET ? IV_RESET : 0, vm->arg);
	}
	vm->has_clock = 1;
	vm->clock_start = b->t_start_ms;
	vm->clock_end = b->t_end_ms;
	vm->interval_ms = b->interval_ms;
}

void journal_apply_derived(struct jvm *vm, const struct jbatch *b, const struct jevent *ev, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct jseries *s = &vm->series[ev[k].idx];
		if (ev[k].op == JOP_EXTEND && s->open) {
			s->cur.n++;
			s->cur.t_end_ms = b->t_end_ms;
			continue;
		}
		/* A new derived interval starts after the previous one's end, so a
		 * gap in the evaluations stays visible. */
		close_series(vm, s, s->cur.t_end_ms);
		s->derived = 1;
		open_series(s, b->t_start_ms, b->t_end_ms, ev[k].value, 1, ev[k].flags);
	}
	for (size_t k = 0; k < n && vm->on_sample; k++)
		vm->on_sample(vm, &vm->series[ev[k].idx], b->t_start_ms, b->t_end_ms, 0, vm->arg);
}

/* ---- encoding --------------------------------------------------------- */

static void put_events(struct buf *out, const struct jvm *vm, const struct jevent *ev, size_t n)
{
	int64_t prev_id = 0;
	buf_uvarint(out, n);
	for (size_t k = 0; k < n; k++) {
		const struct jseries *s = &vm->series[ev[k].idx];
		buf_svarint(out, s->id - prev_id);
		prev_id = s->id;
		buf_u8(out, (uint8_t)(ev[k].op | ev[k].flags << 2));
		if (ev[k].op == JOP_NEW) {
			struct value_ctx ctx = { s->open ? s->cur.value : 0 };
			value_put(out, &ctx, ev[k].value);
		}
	}
}

static void put_header(struct buf *out, uint8_t type, int64_t ref, const struct jbatch *b)
{
	buf_u8(out, (uint8_t)(type | b->flags << 4));
	buf_svarint(out, b->t_start_ms - ref);
	buf_uvarint(out, (uint64_t)(b->t_end_ms - b->t_start_ms));
	buf_uvarint(out, b->interval_ms);
}

void journal_put_batch(struct buf *out, const struct jvm *vm, const struct jbatch *b, const struct jevent *ev,
		       size_t n)
{
	put_header(out, REC_BATCH, vm->has_clock ? vm->clock_end : 0, b);
	put_events(out, vm, ev, n);
}

void journal_put_derived(struct buf *out, const struct jvm *vm, const struct jbatch *b, const struct jevent *ev,
			 size_t n)
{
	put_header(out, REC_DERIVED, 0, b);
	put_events(out, vm, ev, n);
}

static void put_acc(struct buf *out, const struct rollup_acc *a)
{
	buf_svarint(out, a->cur.start_ms);
	buf_svarint(out, a->cur.covered_ms);
	buf_f64(out, a->cur.min);
	buf_f64(out, a->cur.max);
	buf_f64(out, a->integral);
	buf_f64(out, a->cur.last);
	buf_f64(out, a->cur.sum);
	buf_svarint(out, a->last_t);
	buf_u8(out, a->cur.flags);
}

static void get_acc(struct cursor *c, struct rollup_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->has = 1;
	a->cur.start_ms = cur_svarint(c);
	a->cur.covered_ms = cur_svarint(c);
	a->cur.min = cur_f64(c);
	a->cur.max = cur_f64(c);
	a->integral = cur_f64(c);
	a->cur.last = cur_f64(c);
	a->cur.sum = cur_f64(c);
	a->last_t = cur_svarint(c);
	a->cur.flags = cur_u8(c);
}

static int64_t snapshot_horizon(const struct jvm *vm)
{
	int64_t h = vm->has_clock ? vm->clock_end : INT64_MIN;
	for (size_t i = 0; i < vm->n_series; i++) {
		const struct jseries *s = &vm->series[i];
		if (s->open && s->derived && s->cur.t_end_ms > h)
			h = s->cur.t_end_ms;
	}
	return h;
}

static void put_snapshot_plain(struct buf *out, const struct jvm *vm);

/* Snapshots are written once per VM per flush and are mostly repeated
 * doubles: compressed, they are several times smaller. */
void journal_put_snapshot(struct buf *out, const struct jvm *vm)
{
	struct buf plain = { 0 }, packed = { 0 };
	put_snapshot_plain(&plain, vm);
	if (plain.failed || blob_pack(&plain, &packed) < 0) {
		out->failed = 1;
	} else {
		buf_u8(out, REC_PACKED);
		buf_put(out, packed.data, packed.len);
	}
	buf_free(&plain);
	buf_free(&packed);
}

static void put_snapshot_plain(struct buf *out, const struct jvm *vm)
{
	int64_t horizon = snapshot_horizon(vm);
	size_t n = 0;
	for (size_t i = 0; i < vm->n_series; i++)
		n += vm->series[i].open || vm->series[i].acc[0].has || vm->series[i].acc[1].has;
	buf_u8(out, REC_SNAPSHOT);
	buf_u8(out, (uint8_t)vm->has_clock);
	buf_svarint(out, vm->clock_start);
	buf_svarint(out, vm->clock_end - vm->clock_start);
	buf_uvarint(out, vm->interval_ms);
	buf_svarint(out, horizon);
	buf_uvarint(out, n);
	int64_t prev_id = 0;
	for (size_t i = 0; i < vm->n_series; i++) {
		const struct jseries *s = &vm->series[i];
		if (!(s->open || s->acc[0].has || s->acc[1].has))
			continue;
		uint8_t bits = (uint8_t)((s->open ? SS_OPEN : 0) | (s->derived ? SS_DERIVED : 0) |
					 (s->acc[0].has ? SS_ACC0 : 0) | (s->acc[1].has ? SS_ACC1 : 0));
		buf_svarint(out, s->id - prev_id);
		prev_id = s->id;
		buf_u8(out, bits);
		if (s->open) {
			buf_svarint(out, s->cur.t_start_ms);
			buf_svarint(out, s->cur.t_end_ms - s->cur.t_start_ms);
			buf_f64(out, s->cur.value);
			buf_uvarint(out, s->cur.n);
			buf_u8(out, s->cur.flags);
		}
		for (int t = 0; t < 2; t++) {
			int64_t res = tier_resolution_ms[t + 1];
			buf_svarint(out, s->acc[t].has ? s->acc[t].cur.start_ms
						       : (horizon == INT64_MIN ? INT64_MIN : bucket_floor(horizon, res)));
			if (s->acc[t].has)
				put_acc(out, &s->acc[t]);
		}
	}
}

/* ---- decoding --------------------------------------------------------- */

/* Reads n events into ev (caller frees), creating series as needed. */
static struct jevent *get_events(struct cursor *c, struct jvm *vm, size_t *n_out)
{
	uint64_t n = cur_uvarint(c);
	if (c->bad || n > (uint64_t)(c->end - c->p))
		return NULL;
	struct jevent *ev = calloc(n ? n : 1, sizeof(*ev));
	if (!ev)
		return NULL;
	int64_t id = 0;
	for (uint64_t k = 0; k < n && !c->bad; k++) {
		id += cur_svarint(c);
		uint8_t op = cur_u8(c);
		ev[k].idx = jvm_series(vm, id);
		ev[k].op = op & 3u;
		ev[k].flags = op >> 2;
		if (ev[k].idx == (size_t)-1 || ev[k].op > JOP_EXTEND) {
			c->bad = 1;
			break;
		}
		if (ev[k].op == JOP_NEW) {
			const struct jseries *s = &vm->series[ev[k].idx];
			struct value_ctx ctx = { s->open ? s->cur.value : 0 };
			/* Two events for one series in a record would see a stale
			 * context; the writer never emits them. */
			ev[k].value = value_get(c, &ctx);
		}
	}
	if (c->bad) {
		free(ev);
		return NULL;
	}
	*n_out = n;
	return ev;
}

static int replay_events(struct cursor *c, struct jvm *vm, uint8_t head)
{
	struct jbatch b;
	b.flags = head >> 4;
	int64_t ref = (head & 15u) == REC_BATCH && vm->has_clock ? vm->clock_end : 0;
	b.t_start_ms = ref + cur_svarint(c);
	b.t_end_ms = b.t_start_ms + (int64_t)cur_uvarint(c);
	b.interval_ms = (uint32_t)cur_uvarint(c);
	size_t n = 0;
	struct jevent *ev = get_events(c, vm, &n);
	if (!ev)
		return -1;
	if ((head & 15u) == REC_BATCH)
		journal_apply_batch(vm, &b, ev, n);
	else
		journal_apply_derived(vm, &b, ev, n);
	free(ev);
	return 0;
}

static int replay_snapshot(struct cursor *c, struct jvm *vm)
{
	/* Series keep their indexes (the writer maps them); only their state
	 * is replaced. */
	for (size_t i = 0; i < vm->n_series; i++) {
		int64_t id = vm->series[i].id;
		memset(&vm->series[i], 0, sizeof(vm->series[i]));
		vm->series[i].id = id;
	}
	vm->has_clock = cur_u8(c);
	vm->clock_start = cur_svarint(c);
	vm->clock_end = vm->clock_start + cur_svarint(c);
	vm->interval_ms = (uint32_t)cur_uvarint(c);
	vm->horizon = cur_svarint(c);
	vm->has_snapshot = 1;
	for (size_t i = 0; i < vm->n_series; i++)
		for (int t = 0; t < 2; t++)
			vm->series[i].rolled_until[t] = default_rolled(vm, t);
	uint64_t n = cur_uvarint(c);
	int64_t id = 0;
	for (uint64_t k = 0; k < n && !c->bad; k++) {
		id += cur_svarint(c);
		uint8_t bits = cur_u8(c);
		size_t i = jvm_series(vm, id);
		if (i == (size_t)-1)
			return -1;
		struct jseries *s = &vm->series[i];
		s->derived = (bits & SS_DERIVED) != 0;
		if (bits & SS_OPEN) {
			int64_t t0 = cur_svarint(c);
			int64_t t1 = t0 + cur_svarint(c);
			double v = cur_f64(c);
			uint32_t cnt = (uint32_t)cur_uvarint(c);
			open_series(s, t0, t1, v, cnt, cur_u8(c));
		}
		for (int t = 0; t < 2; t++) {
			s->rolled_until[t] = cur_svarint(c);
			if (bits & (t ? SS_ACC1 : SS_ACC0))
				get_acc(c, &s->acc[t]);
		}
	}
	return c->bad ? -1 : 0;
}

/* The rest of the row is one compressed run of records. */
static int replay_packed(struct cursor *c, struct jvm *vm)
{
	struct buf plain = { 0 };
	int rc = blob_unpack(c->p, (size_t)(c->end - c->p), &plain) < 0 ? -1 : journal_replay(vm, plain.data, plain.len);
	c->p = c->end;
	buf_free(&plain);
	return rc;
}

int journal_replay(struct jvm *vm, const void *data, size_t len)
{
	struct cursor c = { data, (const uint8_t *)data + len, 0 };
	while (cur_more(&c)) {
		uint8_t head = cur_u8(&c);
		int rc;
		switch (head & 15u) {
		case REC_PACKED:
			rc = replay_packed(&c, vm);
			break;
		case REC_BATCH:
		case REC_DERIVED:
			rc = replay_events(&c, vm, head);
			break;
		case REC_SNAPSHOT:
			rc = replay_snapshot(&c, vm);
			break;
		default:
			rc = -1;
		}
		if (rc < 0 || c.bad)
			return -1;
	}
	return 0;
}

/* ---- rows ----------------------------------------------------------------- */

#define JROW_VERSION 1

void jrow_reset(struct jrow_builder *b)
{
	buf_reset(&b->dir);
	buf_reset(&b->body);
	b->n = 0;
	b->prev_vm = 0;
}

void jrow_free(struct jrow_builder *b)
{
	buf_free(&b->dir);
	buf_free(&b->body);
}

void jrow_add(struct jrow_builder *b, int64_t vm_id, const struct buf *records)
{
	buf_svarint(&b->dir, vm_id - b->prev_vm);
	buf_uvarint(&b->dir, records->len);
	buf_put(&b->body, records->data, records->len);
	b->prev_vm = vm_id;
	b->n++;
}

int jrow_finish(struct jrow_builder *b, struct buf *out)
{
	buf_reset(out);
	buf_u8(out, JROW_VERSION);
	buf_uvarint(out, b->n);
	buf_put(out, b->dir.data, b->dir.len);
	buf_put(out, b->body.data, b->body.len);
	return out->failed || b->dir.failed || b->body.failed ? -1 : 0;
}

int jrow_sections(const void *row, size_t len, int64_t vm_id,
		  int (*fn)(int64_t vm_id, const uint8_t *data, size_t len, void *arg), void *arg)
{
	struct cursor c = { row, (const uint8_t *)row + len, 0 };
	if (cur_u8(&c) != JROW_VERSION)
		return -1;
	uint64_t n = cur_uvarint(&c);
	if (c.bad || n > len)
		return -1;
	/* The directory first, to find where the bodies start. */
	struct cursor dir = c;
	for (uint64_t i = 0; i < n; i++) {
		cur_svarint(&c);
		cur_uvarint(&c);
	}
	if (c.bad)
		return -1;
	const uint8_t *body = c.p;
	int64_t vm = 0;
	for (uint64_t i = 0; i < n; i++) {
		vm += cur_svarint(&dir);
		uint64_t l = cur_uvarint(&dir);
		if (l > (uint64_t)(c.end - body))
			return -1;
		if (vm_id < 0 || vm == vm_id) {
			int rc = fn(vm, body, (size_t)l, arg);
			if (rc)
				return rc;
		}
		body += l;
	}
	return 0;
}
