/* Keeps the kernel's BPF run-time statistics on for as long as it runs
 * (tests/integration/host.sh): BPF_ENABLE_STATS returns a file descriptor
 * that holds them on until it is closed, so they go off again however this
 * process ends, even by SIGKILL. Unlike writing the sysctl
 * kernel.bpf_stats_enabled, it leaves the sysctl alone and counts along
 * with any other holder (another test run, bpftool, a person's sysctl).
 *
 *   bpf_stats_on        prints "ready" once they are on, then waits for a
 *                       signal; exits 1 with the reason if they cannot be
 *                       turned on (not root, a kernel before 5.8)
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	int fd = (int)syscall(__NR_bpf, BPF_ENABLE_STATS, &attr, sizeof(attr));
	if (fd < 0) {
		fprintf(stderr, "bpf_stats_on: BPF_ENABLE_STATS: %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
