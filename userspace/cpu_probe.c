/* Loader and reader for bpf/cpu_sched.bpf.c. */
#include "cpu_probe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cpu_sched.h"
#include "cpu_sched.skel.h"
#include "map_util.h"
#include "pid_bitmap.h"

struct cpu_probe {
	struct cpu_sched *skel;
	int threads_fd;
	int processes_fd;
	int totals_fd;
	struct pid_bitmap watched; /* the kernel's first test: is a tid watched */
	int ncpus;
	/* The previous snapshot, sorted by bucket: readings never go below. */
	struct cpu_bucket_reading *last;
	size_t nlast;
};

int cpu_probe_open(struct cpu_probe **out, char *err, size_t errlen)
{
	static const char hint_root_btf[] = " (is this root? is BTF at /sys/kernel/btf/vmlinux?)";
	struct cpu_probe *p;
	const char *step, *hint = "";
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "allocating the CPU probe: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	libbpf_warnings_only();

	step = "opening BPF skeleton";
	p->skel = cpu_sched__open();
	if (!p->skel) {
		rc = errno ? -errno : -EINVAL;
		goto fail;
	}
	step = "sizing the thread bitmap";
	rc = pid_bitmap_size(p->skel->maps.watched_tids);
	if (rc)
		goto fail;
	step = "loading BPF programs";
	hint = hint_root_btf;
	rc = cpu_sched__load(p->skel);
	if (rc)
		goto fail;
	step = "mapping the thread bitmap";
	hint = "";
	rc = pid_bitmap_map(&p->watched, p->skel->maps.watched_tids);
	if (rc)
		goto fail;
	step = "attaching BPF programs";
	rc = cpu_sched__attach(p->skel);
	if (rc)
		goto fail;
	step = "counting possible CPUs";
	rc = libbpf_num_possible_cpus();
	if (rc < 0)
		goto fail;

	p->ncpus = rc;
	p->threads_fd = bpf_map__fd(p->skel->maps.threads);
	p->processes_fd = bpf_map__fd(p->skel->maps.processes);
	p->totals_fd = bpf_map__fd(p->skel->maps.cpu_totals);
	*out = p;
	return 0;

fail:
	snprintf(err, errlen, "%s: %s%s", step, strerror(-rc), hint);
	cpu_probe_close(p);
	return rc;
}

void cpu_probe_close(struct cpu_probe *p)
{
	if (!p)
		return;
	pid_bitmap_unmap(&p->watched);
	cpu_sched__destroy(p->skel);
	free(p->last);
	free(p);
}

int cpu_probe_watch_process(struct cpu_probe *p, pid_t tgid, uint32_t vm_slot)
{
	return tgid > 0 ? map_set_u32(p->processes_fd, (uint32_t)tgid, vm_slot) : -EINVAL;
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

/* Changes the owner of an existing entry, keeping its timestamps: the
 * interval in progress is then counted for the new owner. Returns -ENOENT if
 * there is no entry. */
static int reassign_thread(struct cpu_probe *p, __u32 tid, uint32_t vm_slot, int32_t vcpu)
{
	struct vigil_thread t;

	if (bpf_map_lookup_elem(p->threads_fd, &tid, &t))
		return -errno;
	/* Rewriting an entry can undo a fold the kernel makes at that very
	 * moment (that slice would then count twice), so an unchanged entry is
	 * left alone; a vCPU thread is renamed once, just after it starts. */
	if (t.vm_slot == vm_slot && t.vcpu == vcpu)
		return 0;
	t.vm_slot = vm_slot;
	t.vcpu = vcpu;
	if (bpf_map_update_elem(p->threads_fd, &tid, &t, BPF_EXIST))
		return -errno;
	return 0;
}

/* A thread is counted from now: what its scheduler counters hold already is
 * marked as seen. Returns -EEXIST if the thread has an entry already. */
static int insert_thread(struct cpu_probe *p, pid_t tid, uint32_t vm_slot, int32_t vcpu)
{
	struct vigil_thread fresh = { .vm_slot = vm_slot, .vcpu = vcpu };
	__u32 key = (__u32)tid;
	struct task_sched now;
	struct task_stat stat;

	if (!thread_alive(thread_state(tid)) || read_task_sched(tid, &now) < 0)
		return -ESRCH;
	fresh.seen_exec_ns = now.exec_ns;
	fresh.seen_delay_ns = now.delay_ns;
	fresh.seen_nivcsw = read_nivcsw(tid);
	if (read_task_stat(tid, &stat) == 0) {
		fresh.seen_minflt = stat.minflt;
		fresh.seen_majflt = stat.majflt;
	}
	/* The bit first: a bit without an entry only costs a lookup, while an
	 * entry without its bit would not be counted. */
	pid_bitmap_set(&p->watched, tid);
	if (bpf_map_update_elem(p->threads_fd, &key, &fresh, BPF_NOEXIST))
		return -errno;
	/* The kernel drops an entry at its thread's last context switch; a
	 * thread that exited in between has had that switch already. */
	if (!thread_alive(thread_state(tid))) {
		bpf_map_delete_elem(p->threads_fd, &key);
		pid_bitmap_clear(&p->watched, tid);
		return -ESRCH;
	}
	return 0;
}

/* Returns -ESRCH if the thread has exited. */
int cpu_probe_watch_thread(struct cpu_probe *p, pid_t tid, uint32_t vm_slot, int32_t vcpu)
{
	int rc;

	if (tid <= 0)
		return -EINVAL;
	rc = reassign_thread(p, (__u32)tid, vm_slot, vcpu);
	if (rc == -ENOENT)
		rc = insert_thread(p, tid, vm_slot, vcpu);
	/* The kernel added it in between, at the thread's first wakeup. */
	if (rc == -EEXIST)
		rc = reassign_thread(p, (__u32)tid, vm_slot, vcpu);
	if (rc == 0)
		pid_bitmap_set(&p->watched, tid);
	return rc == -ENOENT ? -ESRCH : rc;
}

static int forget_threads(struct cpu_probe *p, uint32_t vm_slot)
{
	void *keys = NULL;
	int n = map_keys_list(p->threads_fd, sizeof(__u32), VIGIL_MAX_THREADS, &keys);
	const __u32 *tids = keys;
	struct vigil_thread t;
	int rc = n < 0 ? n : 0;

	for (int i = 0; i < n && !rc; i++)
		if (bpf_map_lookup_elem(p->threads_fd, &tids[i], &t) == 0 && t.vm_slot == vm_slot) {
			rc = map_delete_key(p->threads_fd, &tids[i]);
			pid_bitmap_clear(&p->watched, (pid_t)tids[i]);
		}
	free(keys);
	return rc;
}

static int forget_processes(struct cpu_probe *p, uint32_t vm_slot)
{
	return map_forget_u32_value(p->processes_fd, VIGIL_MAX_PROCESSES, vm_slot);
}

static int forget_buckets(struct cpu_probe *p, uint32_t vm_slot)
{
	void *keys = NULL;
	int n = map_keys_list(p->totals_fd, sizeof(struct vigil_bucket_key), VIGIL_MAX_BUCKETS, &keys);
	const struct vigil_bucket_key *buckets = keys;
	int rc = n < 0 ? n : 0;
	size_t kept = 0;

	for (int i = 0; i < n && !rc; i++)
		if (buckets[i].vm_slot == vm_slot)
			rc = map_delete_key(p->totals_fd, &buckets[i]);
	free(keys);

	for (size_t i = 0; i < p->nlast; i++)
		if (p->last[i].vm_slot != vm_slot)
			p->last[kept++] = p->last[i];
	p->nlast = kept;
	return rc;
}

/* Threads first, so that no watched thread recreates a bucket that has just
 * been deleted. A thread already inside a tracepoint can still do so; the
 * bucket then holds at most that one interval. */
int cpu_probe_forget_slot(struct cpu_probe *p, uint32_t vm_slot)
{
	int rc = forget_threads(p, vm_slot);

	if (!rc)
		rc = forget_processes(p, vm_slot);
	if (!rc)
		rc = forget_buckets(p, vm_slot);
	return rc;
}

/* --- snapshot ------------------------------------------------------------ */

/* How often a bucket is read again when one of its threads changed state
 * during the read. */
#define READ_ATTEMPTS 4

/* A growable array of readings, sorted by (vm_slot, vcpu). */
struct readings {
	struct cpu_bucket_reading *v;
	size_t n, cap;
};

/* A watched thread, listed under the bucket it counts for. */
struct listed_thread {
	struct vigil_bucket_key bucket;
	__u32 tid;
};

static int cmp_bucket(const struct vigil_bucket_key *a, const struct vigil_bucket_key *b)
{
	if (a->vm_slot != b->vm_slot)
		return a->vm_slot < b->vm_slot ? -1 : 1;
	if (a->vcpu != b->vcpu)
		return a->vcpu < b->vcpu ? -1 : 1;
	return 0;
}

static int cmp_bucket_keys(const void *a, const void *b)
{
	return cmp_bucket(a, b);
}

static int cmp_listed_threads(const void *a, const void *b)
{
	const struct listed_thread *x = a, *y = b;
	int c = cmp_bucket(&x->bucket, &y->bucket);

	return c ? c : (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

static struct vigil_bucket_key bucket_of_reading(const struct cpu_bucket_reading *r)
{
	return (struct vigil_bucket_key){ .vm_slot = r->vm_slot, .vcpu = r->vcpu };
}

/* Sorts and drops the duplicates a restarted map walk may have listed. */
static size_t sort_unique(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *v = base;
	size_t kept = 0;

	qsort(base, n, size, cmp);
	for (size_t i = 0; i < n; i++) {
		if (kept && cmp(v + (kept - 1) * size, v + i * size) == 0)
			continue;
		memmove(v + kept * size, v + i * size, size);
		kept++;
	}
	return kept;
}

/* Index of the first reading not below key. */
static size_t lower_bound(const struct cpu_bucket_reading *v, size_t n, const struct vigil_bucket_key *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct vigil_bucket_key k = bucket_of_reading(&v[mid]);

		if (cmp_bucket(&k, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool reading_is(const struct cpu_bucket_reading *r, const struct vigil_bucket_key *key)
{
	return r->vm_slot == key->vm_slot && r->vcpu == key->vcpu;
}

/* The reading of a bucket in a sorted array, or NULL. */
static const struct cpu_bucket_reading *find_reading(const struct cpu_bucket_reading *v, size_t n,
						     const struct vigil_bucket_key *key)
{
	size_t i = lower_bound(v, n, key);

	return i < n && reading_is(&v[i], key) ? &v[i] : NULL;
}

/* Adds a bucket with zero counters unless it is listed already. */
static int add_bucket(struct readings *r, const struct vigil_bucket_key *key)
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

/* Lists the buckets the kernel has created. */
static int list_buckets(struct cpu_probe *p, struct readings *r)
{
	void *keys = NULL;
	int n = map_keys_list(p->totals_fd, sizeof(struct vigil_bucket_key), VIGIL_MAX_BUCKETS, &keys);
	const struct vigil_bucket_key *buckets = keys;
	int rc = n < 0 ? n : 0;

	/* Sorted first, so that every bucket is appended at the end. */
	if (n > 0)
		n = (int)sort_unique(keys, (size_t)n, sizeof(*buckets), cmp_bucket_keys);
	for (int i = 0; i < n && !rc; i++)
		rc = add_bucket(r, &buckets[i]);
	free(keys);
	return rc;
}

/* Lists the watched threads sorted by bucket, and adds the buckets that only
 * have a thread so far. *out is malloc'd. Returns the count or -errno. */
/* Whether the thread has exited. /proc/TID resolves any thread id. */
static bool thread_gone(__u32 tid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u", tid);
	return access(path, F_OK) != 0 && errno == ENOENT;
}

/* The kernel drops a thread's entry at its last context switch, but the
 * tracepoint does not report every switch (docs/cpu-accounting.md). An entry
 * left behind would count an unrelated task that is later given the same
 * id, so it is dropped here once the thread is gone. What that thread ran
 * after its last fold is lost: at most one slice. */
static void drop_gone_thread(struct cpu_probe *p, __u32 tid)
{
	bpf_map_delete_elem(p->threads_fd, &tid);
	pid_bitmap_clear(&p->watched, (pid_t)tid);
}

static int list_threads(struct cpu_probe *p, struct readings *r, struct listed_thread **out)
{
	void *keys = NULL;
	int n = map_keys_list(p->threads_fd, sizeof(__u32), VIGIL_MAX_THREADS, &keys);
	const __u32 *tids = keys;
	struct listed_thread *listed;
	size_t count = 0;
	int rc = 0;

	if (n < 0)
		return n;
	n = (int)sort_unique(keys, (size_t)n, sizeof(*tids), cmp_u32);
	listed = malloc(((size_t)n + 1) * sizeof(*listed));
	if (!listed) {
		free(keys);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		struct vigil_thread t;

		if (bpf_map_lookup_elem(p->threads_fd, &tids[i], &t))
			continue; /* exited meanwhile */
		if (thread_gone(tids[i])) {
			drop_gone_thread(p, tids[i]);
			continue;
		}
		listed[count++] = (struct listed_thread){
			.bucket = { .vm_slot = t.vm_slot, .vcpu = t.vcpu },
			.tid = tids[i],
		};
	}
	free(keys);
	qsort(listed, count, sizeof(*listed), cmp_listed_threads);
	for (size_t i = 0; i < count && !rc; i++)
		rc = add_bucket(r, &listed[i].bucket);
	if (rc) {
		free(listed);
		return rc;
	}
	*out = listed;
	return (int)count;
}

/* A thread that has no entry reads as never running nor waiting. */
static void read_thread(struct cpu_probe *p, __u32 tid, struct vigil_thread *t)
{
	if (bpf_map_lookup_elem(p->threads_fd, &tid, t))
		memset(t, 0, sizeof(*t));
}

/* Sums the per-CPU counters of a bucket into out. */
static int read_totals(struct cpu_probe *p, const struct vigil_bucket_key *key,
		       struct vigil_cpu_counters *percpu, struct cpu_bucket_reading *out)
{
	out->on_cpu_ns = out->wait_ns = out->nr_preempted = 0;
	out->minor_faults = out->major_faults = 0;
	if (bpf_map_lookup_elem(p->totals_fd, key, percpu))
		return errno == ENOENT ? 0 : -errno; /* not created yet */
	for (int cpu = 0; cpu < p->ncpus; cpu++) {
		out->on_cpu_ns += percpu[cpu].on_cpu_ns;
		out->wait_ns += percpu[cpu].wait_ns;
		out->nr_preempted += percpu[cpu].nr_preempted;
		out->minor_faults += percpu[cpu].minor_faults;
		out->major_faults += percpu[cpu].major_faults;
	}
	return 0;
}

/* Adds what the thread's scheduler counters gained since the kernel last
 * folded them: the slice running now, and any fold a missed context switch
 * has put off. A wait still in progress is not in run_delay yet; it is the
 * time since the wakeup or preemption, as long as the thread has not got a
 * CPU since (pcount unchanged). */
static void add_unfolded(struct cpu_bucket_reading *out, __u32 tid, const struct vigil_thread *t, uint64_t now)
{
	struct task_sched cur;
	struct task_stat stat;

	if (read_task_sched((pid_t)tid, &cur) < 0)
		return; /* exited: its last switch folded everything */
	if (cur.exec_ns > t->seen_exec_ns)
		out->on_cpu_ns += cur.exec_ns - t->seen_exec_ns;
	if (cur.delay_ns > t->seen_delay_ns)
		out->wait_ns += cur.delay_ns - t->seen_delay_ns;
	if (t->queued_since && t->queued_since < now && cur.pcount == t->queued_pcount)
		out->wait_ns += now - t->queued_since;
	if (read_task_stat((pid_t)tid, &stat) < 0)
		return;
	if (stat.minflt > t->seen_minflt)
		out->minor_faults += stat.minflt - t->seen_minflt;
	if (stat.majflt > t->seen_majflt)
		out->major_faults += stat.majflt - t->seen_majflt;
}

static bool same_fold(const struct vigil_thread *a, const struct vigil_thread *b)
{
	return a->seen_exec_ns == b->seen_exec_ns && a->seen_delay_ns == b->seen_delay_ns &&
	       a->seen_nivcsw == b->seen_nivcsw && a->seen_minflt == b->seen_minflt &&
	       a->seen_majflt == b->seen_majflt && a->queued_since == b->queued_since;
}

/* Reads one bucket: its totals plus what its threads have not folded yet. A
 * fold between the two reads would count in both or neither, so the threads
 * are read before and after the totals and the read is repeated until none
 * of them was folded in between. before has room for n threads. */
static int read_bucket(struct cpu_probe *p, uint64_t now, const struct listed_thread *threads, size_t n,
		       struct vigil_cpu_counters *percpu, struct vigil_thread *before,
		       struct cpu_bucket_reading *out)
{
	struct vigil_bucket_key key = bucket_of_reading(out);

	for (int attempt = 1;; attempt++) {
		bool stable = true;
		int rc;

		for (size_t i = 0; i < n; i++)
			read_thread(p, threads[i].tid, &before[i]);
		rc = read_totals(p, &key, percpu, out);
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++) {
			struct vigil_thread after;

			read_thread(p, threads[i].tid, &after);
			stable = stable && same_fold(&after, &before[i]);
			/* Skipped if reassigned meanwhile: its time belongs elsewhere. */
			if (after.vm_slot == key.vm_slot && after.vcpu == key.vcpu)
				add_unfolded(out, threads[i].tid, &after, now);
		}
		/* Unstable after several tries means threads that switch
		 * very often, so what a read may miss is short; the next
		 * snapshot has it, and hold_monotonic() bridges the gap. */
		if (stable || attempt == READ_ATTEMPTS)
			return 0;
	}
}

/* Reads every listed bucket, walking the buckets and the threads (both
 * sorted by bucket) side by side. */
static int read_buckets(struct cpu_probe *p, uint64_t now, struct readings *r,
			const struct listed_thread *threads, size_t nthreads)
{
	struct vigil_cpu_counters *percpu = calloc((size_t)p->ncpus, sizeof(*percpu));
	struct vigil_thread *before = calloc(nthreads + 1, sizeof(*before));
	size_t t = 0;
	int rc = percpu && before ? 0 : -ENOMEM;

	for (size_t i = 0; i < r->n && !rc; i++) {
		struct vigil_bucket_key key = bucket_of_reading(&r->v[i]);
		size_t first = t;

		while (t < nthreads && cmp_bucket(&threads[t].bucket, &key) == 0)
			t++;
		rc = read_bucket(p, now, threads + first, t - first, percpu, before, &r->v[i]);
	}
	free(before);
	free(percpu);
	return rc;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Keeps readings from going below the previous snapshot (a bucket read after
 * READ_ATTEMPTS unstable attempts may miss an interval until the next one),
 * then remembers them for the next snapshot. */
static int hold_monotonic(struct cpu_probe *p, struct readings *r)
{
	struct cpu_bucket_reading *copy;

	for (size_t i = 0; i < r->n; i++) {
		struct cpu_bucket_reading *b = &r->v[i];
		struct vigil_bucket_key key = bucket_of_reading(b);
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
	struct listed_thread *threads = NULL;
	int nthreads, rc;

	*out = NULL;
	rc = list_buckets(p, &r);
	if (!rc) {
		nthreads = list_threads(p, &r, &threads);
		rc = nthreads < 0 ? nthreads : read_buckets(p, now_mono_ns, &r, threads, (size_t)nthreads);
	}
	if (!rc)
		rc = hold_monotonic(p, &r);
	free(threads);
	if (rc) {
		free(r.v);
		return rc;
	}
	/* An empty result is still a valid allocation for the caller to free. */
	*out = r.v ? r.v : calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	return (int)r.n;
}
