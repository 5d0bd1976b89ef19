/* Test driver for the network loader (userspace/net_tc.c).
 *
 *   netcount IFNAME
 *
 * Attaches to IFNAME and prints "ready IFNAME ifindex=N". Then:
 *   SIGUSR1, or a line on stdin: prints the counters (the guest's view, see
 *     net_tc_loader.h) as
 *     rx_bytes=.. rx_packets=.. tx_bytes=.. tx_packets=.. rx_drops=.. tx_drops=..
 *     or "read: MESSAGE" if they cannot be read;
 *   SIGUSR2: attaches again (idempotent) and prints "attached" or
 *     "attach: MESSAGE";
 *   SIGTERM, SIGINT, SIGHUP, or MAX_SECONDS after the start: detaches,
 *     prints "detached" or "detach: MESSAGE (errno N)", and exits.
 * Exit status: 0 when detached cleanly or the interface had vanished
 * (-ENODEV), 1 if opening, attaching or detaching failed, 2 on bad usage. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "bpf_loader.h"
#include "net_tc_loader.h"

#define MAX_SECONDS 600

static void print_counters(struct net_probe *p, int ifindex)
{
	struct net_if_counters c;
	int rc = net_probe_read(p, ifindex, &c);

	if (rc < 0) {
		printf("read: %s\n", strerror(-rc));
		return;
	}
	printf("rx_bytes=%llu rx_packets=%llu tx_bytes=%llu tx_packets=%llu rx_drops=%llu tx_drops=%llu\n",
	       (unsigned long long)c.rx_bytes, (unsigned long long)c.rx_packets,
	       (unsigned long long)c.tx_bytes, (unsigned long long)c.tx_packets,
	       (unsigned long long)c.rx_drops, (unsigned long long)c.tx_drops);
}

static void attach_again(struct net_probe *p, int ifindex)
{
	char err[512];

	if (net_probe_attach(p, ifindex, err, sizeof(err)) < 0)
		printf("attach: %s\n", err);
	else
		printf("attached\n");
}

/* Prints one counter line per newline read; stops reading stdin at its end
 * (a background job's stdin is /dev/null). */
static void on_stdin(struct net_probe *p, int ifindex, struct pollfd *in)
{
	char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0) {
		in->fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			print_counters(p, ifindex);
}

/* Serves signals and stdin until told to stop or MAX_SECONDS have passed. */
static void serve(struct net_probe *p, int ifindex, int sfd)
{
	time_t deadline = time(NULL) + MAX_SECONDS;
	struct pollfd fds[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};

	for (time_t now = time(NULL); now < deadline; now = time(NULL)) {
		struct signalfd_siginfo si;

		if (poll(fds, 2, (int)(deadline - now) * 1000) <= 0)
			continue;
		if (fds[1].revents)
			on_stdin(p, ifindex, &fds[1]);
		if (!(fds[0].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGUSR1)
			print_counters(p, ifindex);
		else if (si.ssi_signo == SIGUSR2)
			attach_again(p, ifindex);
		else
			return;
	}
}

int main(int argc, char **argv)
{
	struct net_probe *p;
	char err[512];
	sigset_t mask;
	int ifindex, sfd, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: netcount IFNAME\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* As vigil-probe does: the kernel's reasons go into the messages. */
	libbpf_set_print(bpf_loader_print);
	/* Blocked before anything else, so that an early signal waits. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "netcount: signalfd: %s\n", strerror(errno));
		return 1;
	}

	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "netcount: no interface %s\n", argv[1]);
		return 1;
	}
	if (net_probe_open(&p, err, sizeof(err)) < 0) {
		fprintf(stderr, "netcount: %s\n", err);
		return 1;
	}
	if (net_probe_attach(p, ifindex, err, sizeof(err)) < 0) {
		fprintf(stderr, "netcount: %s\n", err);
		net_probe_close(p);
		return 1;
	}
	printf("ready %s ifindex=%d\n", argv[1], ifindex);

	serve(p, ifindex, sfd);

	rc = net_probe_detach(p, ifindex, err, sizeof(err));
	if (rc < 0)
		printf("detach: %s (errno %d)\n", err, -rc);
	else
		printf("detached\n");
	net_probe_close(p);
	close(sfd);
	return rc < 0 && rc != -ENODEV ? 1 : 0;
}
