/* Small helpers over libbpf, shared by the loaders. */
#ifndef VIGIL_MAP_UTIL_H
#define VIGIL_MAP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Every key of a map. A delete during bpf_map_get_next_key() (by us, or by
 * the kernel) makes the walk start over, so a key may be listed twice; the
 * walk stops after twice the map's capacity. On success *out is malloc'd
 * (free() it) and the count is returned; on failure -errno, and *out is left
 * alone. */
int map_keys_list(int fd, size_t key_size, size_t max_entries, void **out);

/* Deletes a key; a key already gone is not an error. 0 or -errno. */
int map_delete_key(int fd, const void *key);

/* In a map of u32 keys and u32 values (tgid -> VM slot), deletes every entry
 * whose value is value. 0 or -errno. */
int map_forget_u32_value(int fd, size_t max_entries, uint32_t value);

/* Sets key to value in a map of u32 keys and u32 values (tgid -> VM slot).
 * 0, -EINVAL for a key of 0, or -errno. */
int map_set_u32(int fd, uint32_t key, uint32_t value);

/* The sum over CPUs of a per-CPU u64 value; percpu has room for ncpus.
 * Returns -ENOENT if the key is gone, or -errno. */
int map_sum_percpu_u64(int fd, const void *key, uint64_t *percpu, int ncpus, uint64_t *out);

#endif
