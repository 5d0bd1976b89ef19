/* One bit per id of the kernel's pid space (thread or process ids), in a
 * BPF array of __u64 words, for a first test that is far cheaper than a hash
 * lookup: the verifier inlines array lookups. Most events on a host are of
 * threads and processes that are not watched, and they stop here.
 *
 * The loader sizes the array to kernel.pid_max before loading
 * (userspace/pid_bitmap.c); PID_MAX_LIMIT, 4M ids, is 512 KiB. An id beyond
 * its end (pid_max raised later) is treated as possibly watched, so the
 * caller falls back to its hash. Both sides change bits with atomic or/and;
 * the loader through a shared mapping, hence BPF_F_MMAPABLE. */
#ifndef VIGIL_PID_BITS_H
#define VIGIL_PID_BITS_H

#define VIGIL_PID_BITS_PER_WORD 64
#define VIGIL_PID_WORDS_MAX     (4194304 / VIGIL_PID_BITS_PER_WORD)

#ifdef __BPF__
/* Declares a bitmap map named name, sized by the loader. */
#define VIGIL_PID_BITMAP(name)                                          \
	struct {                                                        \
		__uint(type, BPF_MAP_TYPE_ARRAY);                       \
		__uint(max_entries, VIGIL_PID_WORDS_MAX);               \
		__uint(map_flags, BPF_F_MMAPABLE);                      \
		__type(key, __u32);                                     \
		__type(value, __u64);                                   \
	} name SEC(".maps")

static __always_inline __u64 *pid_word(void *bitmap, __u32 id)
{
	__u32 word = id / VIGIL_PID_BITS_PER_WORD;

	return bpf_map_lookup_elem(bitmap, &word);
}

static __always_inline __u64 pid_bit(__u32 id)
{
	return 1ULL << (id % VIGIL_PID_BITS_PER_WORD);
}

/* False only when id is certainly not in the set. */
static __always_inline bool pid_maybe_in(void *bitmap, __u32 id)
{
	__u64 *word = pid_word(bitmap, id);

	return !word || (*word & pid_bit(id));
}

static __always_inline void pid_mark(void *bitmap, __u32 id, bool in)
{
	__u64 *word = pid_word(bitmap, id);

	if (!word)
		return;
	if (in)
		__sync_fetch_and_or(word, pid_bit(id));
	else
		__sync_fetch_and_and(word, ~pid_bit(id));
}
#endif

#endif
