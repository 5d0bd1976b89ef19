/* Test traffic generator: sends exactly N Ethernet frames of S bytes out of
 * one interface through an AF_PACKET socket, with no IP in them.
 *
 *   rawsend --ifname IF --count N --size S [--dst MAC] [--ethertype HEX]
 *
 * Run it as "ip netns exec NS rawsend ..." to send from inside a namespace.
 * Frames go to the broadcast address by default, with EtherType 0x88b5
 * (IEEE 802 local experimental), so that no protocol stack takes them for
 * its own. S counts the Ethernet header, not the FCS.
 *
 * Prints "sent N frames of S bytes on IF (K dropped downstream)". A frame
 * the kernel reports as dropped after it left the socket (ENOBUFS: the
 * device or its qdisc dropped it, after tc egress saw it) counts as sent
 * and is not sent again. Exits 0 when all N left, 1 on an error or after
 * MAX_SECONDS, 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_packet.h>

#define MAX_COUNT       1000000
#define MIN_SIZE        ETH_ZLEN /* 60: the shortest frame on the wire */
#define MAX_SIZE        9216
#define MAX_SECONDS     60
#define LOCAL_ETHERTYPE 0x88b5

struct send_config {
	const char *ifname;
	long count;
	int size;
	uint8_t dst[ETH_ALEN];
	uint16_t ethertype;
};

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	char extra;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != ETH_ALEN)
		return false;
	for (int i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return false;
		mac[i] = (uint8_t)b[i];
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rawsend --ifname IF --count N --size S [--dst MAC] [--ethertype HEX]\n"
		   "  --count N       frames to send, 1-%d\n"
		   "  --size S        frame size in bytes with the Ethernet header, %d-%d\n"
		   "  --dst MAC       destination (default ff:ff:ff:ff:ff:ff)\n"
		   "  --ethertype HEX EtherType (default 0x%04x)\n",
		MAX_COUNT, MIN_SIZE, MAX_SIZE, LOCAL_ETHERTYPE);
}

/* Returns 0, or 2 (the exit status for bad usage). */
static int parse_args(int argc, char **argv, struct send_config *cfg)
{
	static const struct option options[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "ethertype", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long size = 0, ethertype = LOCAL_ETHERTYPE;
	int opt, idx = 0;

	*cfg = (struct send_config){ .count = 0 };
	memset(cfg->dst, 0xff, sizeof(cfg->dst));
	while ((opt = getopt_long(argc, argv, "", options, &idx)) != -1) {
		bool ok = true;

		switch (opt) {
		case 'i':
			cfg->ifname = optarg;
			break;
		case 'c':
			ok = parse_long(optarg, 1, MAX_COUNT, &cfg->count);
			break;
		case 's':
			ok = parse_long(optarg, MIN_SIZE, MAX_SIZE, &size);
			break;
		case 'd':
			ok = parse_mac(optarg, cfg->dst);
			break;
		case 'e':
			ok = parse_long(optarg, 0x600, 0xffff, &ethertype);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "rawsend: bad value for --%s: %s\n", options[idx].name, optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !cfg->ifname || !cfg->count || !size) {
		usage(stderr);
		return 2;
	}
	cfg->size = (int)size;
	cfg->ethertype = (uint16_t)ethertype;
	return 0;
}

static int own_mac(int fd, const char *ifname, uint8_t mac[ETH_ALEN])
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

/* Header, then a payload that counts up, so frames are easy to spot in a
 * capture. */
static void build_frame(const struct send_config *cfg, const uint8_t src[ETH_ALEN], uint8_t *frame)
{
	struct ether_header *eh = (struct ether_header *)frame;

	memcpy(eh->ether_dhost, cfg->dst, ETH_ALEN);
	memcpy(eh->ether_shost, src, ETH_ALEN);
	eh->ether_type = htons(cfg->ethertype);
	for (int i = ETH_HLEN; i < cfg->size; i++)
		frame[i] = (uint8_t)i;
}

int main(int argc, char **argv)
{
	struct send_config cfg;
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	uint8_t src[ETH_ALEN], *frame;
	time_t deadline = time(NULL) + MAX_SECONDS;
	long sent = 0, dropped = 0;
	int fd, rc;

	rc = parse_args(argc, argv, &cfg);
	if (rc)
		return rc;
	to.sll_ifindex = (int)if_nametoindex(cfg.ifname);
	if (!to.sll_ifindex) {
		fprintf(stderr, "rawsend: no interface %s\n", cfg.ifname);
		return 1;
	}
	memcpy(to.sll_addr, cfg.dst, ETH_ALEN);
	/* Protocol 0: this socket sends only and receives nothing. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "rawsend: opening a packet socket: %s\n", strerror(errno));
		return 1;
	}
	rc = own_mac(fd, cfg.ifname, src);
	frame = malloc((size_t)cfg.size);
	if (rc || !frame) {
		fprintf(stderr, "rawsend: preparing frames for %s: %s\n", cfg.ifname, strerror(rc ? -rc : ENOMEM));
		return 1;
	}
	build_frame(&cfg, src, frame);

	while (sent < cfg.count && time(NULL) < deadline) {
		ssize_t n = sendto(fd, frame, (size_t)cfg.size, 0, (struct sockaddr *)&to, sizeof(to));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			dropped++;
			sent++;
			continue;
		}
		if (n != cfg.size) {
			fprintf(stderr, "rawsend: sending frame %ld on %s: %s\n", sent + 1, cfg.ifname,
				n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		sent++;
	}
	free(frame);
	close(fd);
	if (sent < cfg.count) {
		fprintf(stderr, "rawsend: only %ld of %ld frames sent in %d s\n", sent, cfg.count, MAX_SECONDS);
		return 1;
	}
	printf("sent %ld frames of %d bytes on %s (%ld dropped downstream)\n", sent, cfg.size, cfg.ifname, dropped);
	return 0;
}
