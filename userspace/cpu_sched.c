/* Loader and reader for bpf/cpu_sched.bpf.c. */
#include "cpu_sched_loader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu_sched.h"
#include "cpu_sched.skel.h"
#include "bpf_loader.h"
#include "clock.h"
#include "log.h"
#include "map_util.h"
#include "pid_bitmap.h"
#include "thread_table.h"

/* A thread's five counters: raw (the kernel's cumulative figures) or
 * counted (since the thread was first counted for its bucket). */
struct thread_counts {
	uint64_t on_cpu_ns;
	uint64_t wait_ns;
	uint64_t nr_preempted;
	uint64_t minor_faults;
	uint64_t major_faults;
};

/* What the loader keeps of a table entry, by position. */
struct thread_rec {
	uint32_t pos, tid;
	struct thread_counts base; /* raw counters when first counted for its bucket */
	struct thread_counts last; /* counted at the previous read: never reported lower */
};

/* A (VM slot, vCPU) bucket: what a reading is of. */
struct bucket_key {
	uint32_t vm_slot;
	int32_t vcpu;
};

/* A growable array of readings, sorted by (vm_slot, vcpu). */
struct readings {
	struct cpu_bucket_reading *v;
	size_t n, cap;
};

struct cpu_probe {
	struct cpu_sched *skel;
	int processes_fd;
	int lost_fd;
	struct pid_bitmap watched; /* the kernel's first test: is a tid watched */
	struct pid_bitmap used;    /* positions of the table in use */
	struct thread_table table;
	size_t table_len;          /* bytes mapped */
	/* Known entries, sorted by position. */
	struct thread_rec *recs;
	size_t nrecs, caprecs;
	/* Per bucket, what threads no longer counted there had counted. */
	struct readings retired;
	int ncpus;
	uint64_t lost_reported;
	/* The previous snapshot, sorted by bucket: readings never go below. */
	struct cpu_bucket_reading *last;
	size_t nlast;
};

/* Maps the threads array, shared with the kernel. */
static int map_table(struct cpu_probe *p)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)VIGIL_THREAD_ENTRIES * sizeof(struct vigil_thread);
	void *m;

	len = (len + page - 1) / page * page;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(p->skel->maps.threads), 0);
	if (m == MAP_FAILED)
		return -errno;
	p->table.entries = m;
	p->table_len = len;
	return 0;
}

static struct bpf_object_skeleton *open_skeleton(void *ctx)
{
	struct cpu_probe *p = ctx;

	p->skel = cpu_sched__open();
	return p->skel ? p->skel->skeleton : NULL;
}

static int size_bitmaps(void *ctx)
{
	struct cpu_probe *p = ctx;

	return pid_bitmap_size(p->skel->maps.watched_tids);
}

/* Both sides share the bitmaps and the table; the kernel may use them from
 * the moment the programs are attached. */
static int map_shared_memory(void *ctx)
{
	struct cpu_probe *p = ctx;
	int rc = pid_bitmap_map(&p->watched, p->skel->maps.watched_tids);

	if (!rc)
		rc = pid_bitmap_map(&p->used, p->skel->maps.threads_used);
	if (!rc)
		rc = map_table(p);
	if (!rc)
		p->table.used = p->used.words;
	return rc;
}

static const struct bpf_loader_ops cpu_sched_ops = {
	.program = "cpu_sched",
	.open = open_skeleton,
	.configure = size_bitmaps,
	.configure_step = "sizing the thread bitmap",
	.prepare = map_shared_memory,
	.prepare_step = "mapping the thread table",
	.load_hint = " (is this root? is BTF at /sys/kernel/btf/vmlinux?)",
};

int cpu_probe_open(struct cpu_probe **out, char *err, size_t errlen)
{
	struct cpu_probe *p;
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "allocating the CPU probe: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = bpf_loader_start(&cpu_sched_ops, p, err, errlen);
	if (rc < 0) {
		cpu_probe_close(p);
		return rc;
	}
	p->ncpus = rc;
	p->processes_fd = bpf_map__fd(p->skel->maps.processes);
	p->lost_fd = bpf_map__fd(p->skel->maps.threads_lost);
	*out = p;
	return 0;
}

void cpu_probe_close(struct cpu_probe *p)
{
	if (!p)
		return;
	if (p->table.entries)
		munmap(p->table.entries, p->table_len);
	pid_bitmap_unmap(&p->used);
	pid_bitmap_unmap(&p->watched);
	cpu_sched__destroy(p->skel);
	free(p->recs);
	free(p->retired.v);
	free(p->last);
	free(p);
}

struct cpu_sched *cpu_probe_skeleton(struct cpu_probe *p)
{
	return p->skel;
}

/* The scheduler's own counters of a thread, as /proc shows them. */
struct task_sched {
	uint64_t exec_ns;  /* se.sum_exec_runtime, up to the last tick if running */
	uint64_t delay_ns; /* sched_info.run_delay */
	uint64_t pcount;   /* sched_info.pcount: times it got a CPU */
};

/* /proc/TID/schedstat: "exec_ns run_delay_ns pcount". /proc/TID resolves any
 * thread id, not only process ids. Returns -ESRCH if the thread is gone. */
static int read_task_sched(pid_t tid, struct task_sched *out)
{
	unsigned long long exec_ns, delay_ns, pcount;
	char path[40];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	n = fscanf(f, "%llu %llu %llu", &exec_ns, &delay_ns, &pcount);
	fclose(f);
	if (n != 3)
		return -ESRCH;
	*out = (struct task_sched){ exec_ns, delay_ns, pcount };
	return 0;
}

/* nonvoluntary_ctxt_switches of /proc/TID/status, or 0 if unreadable. */
static uint64_t read_nivcsw(pid_t tid)
{
	static const char field[] = "nonvoluntary_ctxt_switches:";
	unsigned long long n = 0;
	char path[40], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, sizeof(field) - 1) == 0 &&
		    sscanf(line + sizeof(field) - 1, "%llu", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* What /proc/TID/stat says of a thread: its state letter ('R', 'S', 'Z',
 * ...) and its page faults. */
struct task_stat {
	char state;
	uint64_t minflt;
	uint64_t majflt;
};

/* Returns -ESRCH if there is no such thread. */
static int read_task_stat(pid_t tid, struct task_stat *out)
{
	unsigned long long minflt, majflt;
	char path[32], buf[512], state;
	const char *paren;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "TID (COMM) S ppid pgrp session tty tpgid flags minflt cminflt majflt",
	 * where COMM may itself hold ')'. */
	paren = strrchr(buf, ')');
	if (!paren || sscanf(paren + 1, " %c %*d %*d %*d %*d %*d %*u %llu %*u %llu", &state, &minflt, &majflt) != 3)
		return -ESRCH;
	*out = (struct task_stat){ state, minflt, majflt };
	return 0;
}

static char thread_state(pid_t tid)
{
	struct task_stat st;

	return read_task_stat(tid, &st) == 0 ? st.state : 0;
}

/* An exiting thread shows 'Z' or 'X' once it is past the point of no return. */
static bool thread_alive(char state)
{
	return state && state != 'Z' && state != 'X' && state != 'x';
}

/* --- counters of one thread ------------------------------------------------ */

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The counters as the kernel last copied them into the entry. */
static struct thread_counts entry_raw(const struct vigil_thread *e)
{
	return (struct thread_counts){ e->exec_ns, e->delay_ns, e->nivcsw, e->minflt, e->majflt };
}

/* The counters now: the entry, plus what /proc shows beyond it (the slice
 * running now, and any copy a missed context switch has put off), plus a
 * wait still in progress, which run_delay only counts once it ends: the
 * time since the wakeup or preemption, as long as the thread has not got a
 * CPU since (pcount unchanged). -ESRCH if the thread is gone. */
static int live_raw(const struct vigil_thread *e, uint64_t now, struct thread_counts *out)
{
	struct task_sched cur;
	struct task_stat stat;

	*out = entry_raw(e);
	if (read_task_sched((pid_t)e->tid, &cur) < 0)
		return -ESRCH;
	out->on_cpu_ns = max_u64(out->on_cpu_ns, cur.exec_ns);
	out->wait_ns = max_u64(out->wait_ns, cur.delay_ns);
	if (e->queued_since && e->queued_since < now && cur.pcount == e->queued_pcount)
		out->wait_ns += now - e->queued_since;
	if (read_task_stat((pid_t)e->tid, &stat) == 0) {
		out->minor_faults = max_u64(out->minor_faults, stat.minflt);
		out->major_faults = max_u64(out->major_faults, stat.majflt);
	}
	return 0;
}

static uint64_t counted_one(uint64_t raw, uint64_t base, uint64_t *last)
{
	uint64_t v = raw > base ? raw - base : 0;

	*last = max_u64(*last, v);
	return *last;
}

/* What the thread counted for its bucket, never below the previous read. */
static struct thread_counts counted(struct thread_rec *rec, const struct thread_counts *raw)
{
	return (struct thread_counts){
		counted_one(raw->on_cpu_ns, rec->base.on_cpu_ns, &rec->last.on_cpu_ns),
		counted_one(raw->wait_ns, rec->base.wait_ns, &rec->last.wait_ns),
		counted_one(raw->nr_preempted, rec->base.nr_preempted, &rec->last.nr_preempted),
		counted_one(raw->minor_faults, rec->base.minor_faults, &rec->last.minor_faults),
		counted_one(raw->major_faults, rec->base.major_faults, &rec->last.major_faults),
	};
}

/* --- readings by bucket ------------------------------------------------------ */

static int cmp_bucket(const struct bucket_key *a, const struct bucket_key *b)
{
	if (a->vm_slot != b->vm_slot)
		return a->vm_slot < b->vm_slot ? -1 : 1;
	if (a->vcpu != b->vcpu)
		return a->vcpu < b->vcpu ? -1 : 1;
	return 0;
}

static struct bucket_key bucket_of_reading(const struct cpu_bucket_reading *r)
{
	return (struct bucket_key){ .vm_slot = r->vm_slot, .vcpu = r->vcpu };
}

/* Index of the first reading not below key. */
static size_t lower_bound(const struct cpu_bucket_reading *v, size_t n, const struct bucket_key *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct bucket_key k = bucket_of_reading(&v[mid]);

		if (cmp_bucket(&k, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool reading_is(const struct cpu_bucket_reading *r, const struct bucket_key *key)
{
	return r->vm_slot == key->vm_slot && r->vcpu == key->vcpu;
}

/* The reading of a bucket in a sorted array, or NULL. */
static const struct cpu_bucket_reading *find_reading(const struct cpu_bucket_reading *v, size_t n,
						     const struct bucket_key *key)
{
	size_t i = lower_bound(v, n, key);

	return i < n && reading_is(&v[i], key) ? &v[i] : NULL;
}

/* Adds a bucket with zero counters unless it is listed already. */
static int add_bucket(struct readings *r, const struct bucket_key *key)
{
	size_t i = lower_bound(r->v, r->n, key);

	if (i < r->n && reading_is(&r->v[i], key))
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct cpu_bucket_reading *grown = realloc(r->v, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		r->v = grown;
		r->cap = cap;
	}
	memmove(&r->v[i + 1], &r->v[i], (r->n - i) * sizeof(r->v[0]));
	r->v[i] = (struct cpu_bucket_reading){ .vm_slot = key->vm_slot, .vcpu = key->vcpu };
	r->n++;
	return 0;
}

/* The bucket's reading, added with zero counters if it is not there yet. */
static struct cpu_bucket_reading *bucket_reading(struct readings *r, const struct bucket_key *key)
{
	size_t i;

	if (add_bucket(r, key) < 0)
		return NULL;
	i = lower_bound(r->v, r->n, key);
	return &r->v[i];
}

static int add_counts(struct readings *r, const struct bucket_key *key, const struct thread_counts *c)
{
	struct cpu_bucket_reading *b = bucket_reading(r, key);

	if (!b)
		return -ENOMEM;
	b->on_cpu_ns += c->on_cpu_ns;
	b->wait_ns += c->wait_ns;
	b->nr_preempted += c->nr_preempted;
	b->minor_faults += c->minor_faults;
	b->major_faults += c->major_faults;
	return 0;
}

static int readings_copy(struct readings *dst, const struct readings *src)
{
	dst->v = malloc((src->n + 1) * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	if (src->n)
		memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	dst->cap = src->n + 1;
	return 0;
}

/* Drops every reading of a VM slot. */
static void readings_forget_slot(struct cpu_bucket_reading *v, size_t *n, uint32_t vm_slot)
{
	size_t kept = 0;

	for (size_t i = 0; i < *n; i++)
		if (v[i].vm_slot != vm_slot)
			v[kept++] = v[i];
	*n = kept;
}

/* --- the loader's records of table entries ---------------------------------- */

static size_t rec_lower_bound(const struct cpu_probe *p, uint32_t pos)
{
	size_t lo = 0, hi = p->nrecs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->recs[mid].pos < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The record of entry pos for tid; a new one (counting from base) if there
 * is none, or if it was of an earlier thread at that position. */
static struct thread_rec *rec_for(struct cpu_probe *p, uint32_t pos, uint32_t tid, const struct thread_counts *base)
{
	size_t i = rec_lower_bound(p, pos);
	struct thread_rec *rec;

	if (i == p->nrecs || p->recs[i].pos != pos) {
		if (p->nrecs == p->caprecs) {
			size_t cap = p->caprecs ? 2 * p->caprecs : 64;
			struct thread_rec *grown = realloc(p->recs, cap * sizeof(*grown));

			if (!grown)
				return NULL;
			p->recs = grown;
			p->caprecs = cap;
		}
		memmove(&p->recs[i + 1], &p->recs[i], (p->nrecs - i) * sizeof(p->recs[0]));
		p->nrecs++;
		p->recs[i].tid = 0;
	}
	rec = &p->recs[i];
	if (rec->tid != tid)
		*rec = (struct thread_rec){ .pos = pos, .tid = tid, .base = *base };
	return rec;
}

static void rec_drop(struct cpu_probe *p, uint32_t pos)
{
	size_t i = rec_lower_bound(p, pos);

	if (i == p->nrecs || p->recs[i].pos != pos)
		return;
	memmove(&p->recs[i], &p->recs[i + 1], (p->nrecs - i - 1) * sizeof(p->recs[0]));
	p->nrecs--;
}

/* Frees a table entry and forgets its record. */
static void entry_free(struct cpu_probe *p, uint32_t pos)
{
	thread_table_free(&p->table, pos);
	rec_drop(p, pos);
}

/* --- registration ---------------------------------------------------------- */

int cpu_probe_watch_process(struct cpu_probe *p, pid_t tgid, uint32_t vm_slot)
{
	return tgid > 0 ? map_set_u32(p->processes_fd, (uint32_t)tgid, vm_slot) : -EINVAL;
}

/* Moves a watched thread to another bucket. What it counted so far stays
 * with the old bucket; the new one counts it from now. */
static int reassign_thread(struct cpu_probe *p, uint32_t pos, uint32_t vm_slot, int32_t vcpu)
{
	static const struct thread_counts zero;
	struct bucket_key old;
	struct thread_counts raw, so_far;
	struct vigil_thread e;
	struct thread_rec *rec;

	thread_table_read(&p->table, pos, &e);
	if (e.vm_slot == vm_slot && e.vcpu == vcpu)
		return 0;
	rec = rec_for(p, pos, e.tid, &zero);
	if (!rec)
		return -ENOMEM;
	if (live_raw(&e, clock_monotonic_ns(), &raw) < 0)
		raw = entry_raw(&e);
	so_far = counted(rec, &raw);
	old = (struct bucket_key){ .vm_slot = e.vm_slot, .vcpu = e.vcpu };
	if (add_counts(&p->retired, &old, &so_far) < 0)
		return -ENOMEM;
	rec->base = raw;
	rec->last = zero;
	thread_table_assign(&p->table, pos, vm_slot, vcpu);
	return 0;
}

/* The counters a thread has now, from /proc, as the baseline it is counted
 * from. -ESRCH if it is gone or exiting. */
static int thread_baseline(pid_t tid, struct thread_counts *out)
{
	struct task_sched now;
	struct task_stat stat;

	if (!thread_alive(thread_state(tid)) || read_task_sched(tid, &now) < 0)
		return -ESRCH;
	*out = (struct thread_counts){ .on_cpu_ns = now.exec_ns, .wait_ns = now.delay_ns };
	out->nr_preempted = read_nivcsw(tid);
	if (read_task_stat(tid, &stat) == 0) {
		out->minor_faults = stat.minflt;
		out->major_faults = stat.majflt;
	}
	return 0;
}

/* A thread is counted from now: what its scheduler counters hold already is
 * its baseline. */
static int insert_thread(struct cpu_probe *p, pid_t tid, uint32_t vm_slot, int32_t vcpu)
{
	struct thread_counts base;
	struct vigil_thread init = { .tid = (__u32)tid, .vm_slot = vm_slot, .vcpu = vcpu };
	long pos, first;

	if (thread_baseline(tid, &base) < 0)
		return -ESRCH;
	init.exec_ns = base.on_cpu_ns;
	init.delay_ns = base.wait_ns;
	init.nivcsw = base.nr_preempted;
	init.minflt = base.minor_faults;
	init.majflt = base.major_faults;
	pos = thread_table_insert(&p->table, &init);
	if (pos < 0) {
		log_warn("thread %d: not counted, the thread table is full around its position", (int)tid);
		return (int)pos;
	}
	/* The kernel claimed an entry too, at the thread's first wakeup: its
	 * own (counting a new thread from zero) is the one it uses. */
	first = thread_table_first(&p->table, (__u32)tid);
	if (first != pos) {
		thread_table_free(&p->table, (uint32_t)pos);
		pos = thread_table_find(&p->table, (__u32)tid);
		return pos < 0 ? 0 : reassign_thread(p, (uint32_t)pos, vm_slot, vcpu);
	}
	if (!rec_for(p, (uint32_t)pos, (__u32)tid, &base)) {
		entry_free(p, (uint32_t)pos);
		return -ENOMEM;
	}
	pid_bitmap_set(&p->watched, tid);
	/* A thread that exited meanwhile is freed at the next snapshot, having
	 * counted nothing. */
	return thread_alive(thread_state(tid)) ? 0 : -ESRCH;
}

/* Returns -ESRCH if the thread has exited. */
int cpu_probe_watch_thread(struct cpu_probe *p, pid_t tid, uint32_t vm_slot, int32_t vcpu)
{
	long pos;

	if (tid <= 0)
		return -EINVAL;
	pos = thread_table_find(&p->table, (__u32)tid);
	if (pos >= 0)
		return reassign_thread(p, (uint32_t)pos, vm_slot, vcpu);
	return insert_thread(p, tid, vm_slot, vcpu);
}

/* Processes first, so that the kernel adds no new thread of the slot once
 * its threads are gone. A thread already inside sched_wakeup_new can still
 * be added; it then counts toward the slot's next VM until it exits. */
int cpu_probe_forget_slot(struct cpu_probe *p, uint32_t vm_slot)
{
	int rc = map_forget_u32_value(p->processes_fd, VIGIL_MAX_PROCESSES, vm_slot);

	for (long pos = thread_table_next_used(&p->table, 0); pos >= 0;
	     pos = thread_table_next_used(&p->table, (uint32_t)pos + 1)) {
		struct vigil_thread e;

		thread_table_read(&p->table, (uint32_t)pos, &e);
		if (!e.tid || !(e.flags & VIGIL_THREAD_READY) || e.vm_slot != vm_slot)
			continue;
		pid_bitmap_clear(&p->watched, (pid_t)e.tid);
		entry_free(p, (uint32_t)pos);
	}
	readings_forget_slot(p->retired.v, &p->retired.n, vm_slot);
	readings_forget_slot(p->last, &p->nlast, vm_slot);
	return rc;
}

/* --- snapshot ------------------------------------------------------------ */

/* Adds one entry's counters to its bucket. A thread that is gone (its last
 * switch seen, or no longer in /proc) adds them to its bucket's retired
 * total too, and its entry is freed. A second entry of the same thread
 * (claimed by both sides at once) is freed unused. */
static int count_entry(struct cpu_probe *p, uint32_t pos, uint64_t now, struct readings *r)
{
	static const struct thread_counts zero;
	struct vigil_thread e;
	struct thread_counts raw, c;
	struct bucket_key key;
	struct thread_rec *rec;
	long first;
	bool gone;
	int rc;

	thread_table_read(&p->table, pos, &e);
	if (!e.tid || !(e.flags & VIGIL_THREAD_READY))
		return 0;
	first = thread_table_first(&p->table, e.tid);
	if (first != (long)pos) {
		if (first >= 0 && thread_table_find(&p->table, e.tid) == first)
			entry_free(p, pos);
		return 0;
	}
	/* An entry the loader did not claim is a new thread: from zero. */
	rec = rec_for(p, pos, e.tid, &zero);
	if (!rec)
		return -ENOMEM;
	gone = (e.flags & VIGIL_THREAD_DEAD) || live_raw(&e, now, &raw) < 0;
	if (gone)
		raw = entry_raw(&e);
	c = counted(rec, &raw);
	key = (struct bucket_key){ .vm_slot = e.vm_slot, .vcpu = e.vcpu };
	rc = add_counts(r, &key, &c);
	if (rc || !gone)
		return rc;
	/* What ran after the last copy of a thread whose final switch was not
	 * reported is lost: at most one slice. */
	rc = add_counts(&p->retired, &key, &c);
	if (rc)
		return rc;
	if (!(e.flags & VIGIL_THREAD_DEAD))
		pid_bitmap_clear(&p->watched, (pid_t)e.tid);
	entry_free(p, pos);
	return 0;
}

/* Logs when more new threads found the table full. */
static void report_lost(struct cpu_probe *p)
{
	uint64_t *percpu = calloc((size_t)p->ncpus, sizeof(*percpu));
	uint64_t lost = 0;
	__u32 zero = 0;

	if (percpu && map_sum_percpu_u64(p->lost_fd, &zero, percpu, p->ncpus, &lost) == 0 && lost > p->lost_reported) {
		log_warn("%llu new threads of watched VMs are not counted: the thread table was full around their "
			 "positions", (unsigned long long)(lost - p->lost_reported));
		p->lost_reported = lost;
	}
	free(percpu);
}

/* Keeps readings from going below the previous snapshot (a bucket read after
 * READ_ATTEMPTS unstable attempts may miss an interval until the next one),
 * then remembers them for the next snapshot. */
static int hold_monotonic(struct cpu_probe *p, struct readings *r)
{
	struct cpu_bucket_reading *copy;

	for (size_t i = 0; i < r->n; i++) {
		struct cpu_bucket_reading *b = &r->v[i];
		struct bucket_key key = bucket_of_reading(b);
		const struct cpu_bucket_reading *prev = find_reading(p->last, p->nlast, &key);

		if (!prev)
			continue;
		b->on_cpu_ns = max_u64(b->on_cpu_ns, prev->on_cpu_ns);
		b->wait_ns = max_u64(b->wait_ns, prev->wait_ns);
		b->nr_preempted = max_u64(b->nr_preempted, prev->nr_preempted);
		b->minor_faults = max_u64(b->minor_faults, prev->minor_faults);
		b->major_faults = max_u64(b->major_faults, prev->major_faults);
	}
	copy = malloc((r->n + 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	if (r->n)
		memcpy(copy, r->v, r->n * sizeof(*copy));
	free(p->last);
	p->last = copy;
	p->nlast = r->n;
	return 0;
}

int cpu_probe_snapshot(struct cpu_probe *p, uint64_t now_mono_ns, struct cpu_bucket_reading **out)
{
	struct readings r = { 0 };
	int rc;

	*out = NULL;
	rc = readings_copy(&r, &p->retired);
	for (long pos = thread_table_next_used(&p->table, 0); pos >= 0 && !rc;
	     pos = thread_table_next_used(&p->table, (uint32_t)pos + 1))
		rc = count_entry(p, (uint32_t)pos, now_mono_ns, &r);
	report_lost(p);
	if (!rc)
		rc = hold_monotonic(p, &r);
	if (rc) {
		free(r.v);
		return rc;
	}
	*out = r.v;
	return (int)r.n;
}
