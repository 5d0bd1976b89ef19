#include "memory.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int read_u64_file(const char *path, uint64_t *out)
{
	unsigned long long v;
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	*out = v;
	return 0;
}

int proc_rss_bytes(pid_t pid, uint64_t *out)
{
	unsigned long long size, resident;
	char path[40];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2)
		return -EINVAL;
	*out = resident * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}
