#include "pid_bitmap.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/libbpf.h>

#include "pid_bits.h"

/* kernel.pid_max, or the largest value it can take when unreadable. */
static unsigned long pid_max(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	if (v == 0 || v > (unsigned long)VIGIL_PID_WORDS_MAX * VIGIL_PID_BITS_PER_WORD)
		v = (unsigned long)VIGIL_PID_WORDS_MAX * VIGIL_PID_BITS_PER_WORD;
	return v;
}

int pid_bitmap_size(struct bpf_map *map)
{
	unsigned long words = (pid_max() + VIGIL_PID_BITS_PER_WORD - 1) / VIGIL_PID_BITS_PER_WORD;

	return bpf_map__set_max_entries(map, (__u32)words);
}

int pid_bitmap_map(struct pid_bitmap *b, struct bpf_map *map)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	b->nwords = bpf_map__max_entries(map);
	b->mapped_len = (b->nwords * sizeof(uint64_t) + page - 1) / page * page;
	b->words = mmap(NULL, b->mapped_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (b->words == MAP_FAILED) {
		b->words = NULL;
		return -errno;
	}
	return 0;
}

void pid_bitmap_unmap(struct pid_bitmap *b)
{
	if (b->words)
		munmap(b->words, b->mapped_len);
	b->words = NULL;
}

static uint64_t *word_of(struct pid_bitmap *b, pid_t id, uint64_t *bit)
{
	size_t w = (size_t)id / VIGIL_PID_BITS_PER_WORD;

	if (!b->words || id < 0 || w >= b->nwords)
		return NULL;
	*bit = 1ULL << ((size_t)id % VIGIL_PID_BITS_PER_WORD);
	return &b->words[w];
}

void pid_bitmap_set(struct pid_bitmap *b, pid_t id)
{
	uint64_t bit, *w = word_of(b, id, &bit);

	if (w)
		__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST);
}

void pid_bitmap_clear(struct pid_bitmap *b, pid_t id)
{
	uint64_t bit, *w = word_of(b, id, &bit);

	if (w)
		__atomic_fetch_and(w, ~bit, __ATOMIC_SEQ_CST);
}
