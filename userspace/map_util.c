#include "map_util.h"

#include <errno.h>
#include <stdlib.h>

#include <bpf/bpf.h>

int map_keys_list(int fd, size_t key_size, size_t max_entries, void **out)
{
	size_t n = 0, cap = 64;
	char *keys = malloc(cap * key_size), *grown;

	if (!keys)
		return -ENOMEM;
	while (n < 2 * max_entries) {
		if (n == cap) {
			cap *= 2;
			grown = realloc(keys, cap * key_size);
			if (!grown) {
				free(keys);
				return -ENOMEM;
			}
			keys = grown;
		}
		if (bpf_map_get_next_key(fd, n ? keys + (n - 1) * key_size : NULL, keys + n * key_size)) {
			int rc = -errno;

			if (rc == -ENOENT)
				break;
			free(keys);
			return rc;
		}
		n++;
	}
	*out = keys;
	return (int)n;
}

int map_delete_key(int fd, const void *key)
{
	if (bpf_map_delete_elem(fd, key) && errno != ENOENT)
		return -errno;
	return 0;
}

int map_forget_u32_value(int fd, size_t max_entries, uint32_t value)
{
	void *keys = NULL;
	int n = map_keys_list(fd, sizeof(uint32_t), max_entries, &keys);
	const uint32_t *k = keys;
	uint32_t v;
	int rc = n < 0 ? n : 0;

	for (int i = 0; i < n && !rc; i++)
		if (bpf_map_lookup_elem(fd, &k[i], &v) == 0 && v == value)
			rc = map_delete_key(fd, &k[i]);
	free(keys);
	return rc;
}

int map_set_u32(int fd, uint32_t key, uint32_t value)
{
	if (key == 0)
		return -EINVAL;
	if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
		return -errno;
	return 0;
}

int map_sum_percpu_u64(int fd, const void *key, uint64_t *percpu, int ncpus, uint64_t *out)
{
	if (bpf_map_lookup_elem(fd, key, percpu))
		return -errno;
	*out = 0;
	for (int cpu = 0; cpu < ncpus; cpu++)
		*out += percpu[cpu];
	return 0;
}
