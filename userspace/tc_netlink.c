/* rtnetlink queries about tc qdiscs and filters; see tc_netlink.h. */
#include "tc_netlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

/* A dump part is at most 32 KiB (the kernel sizes it to the reader's buffer
 * up to that); twice that leaves room. */
#define RECV_BUF_SIZE 65536
/* The kernel answers at once; this only bounds a wait that should not
 * happen, so that no caller can hang on it. */
#define RECV_TIMEOUT_S 5

/* Kernel errors travel as negative errno values in the reply. */
static int control_msg(const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);
	int code;

	switch (nh->nlmsg_type) {
	case NLMSG_DONE:
		/* A failed dump puts its error in the payload of DONE. */
		if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
			memcpy(&code, NLMSG_DATA(nh), sizeof(code));
			if (code < 0)
				return code;
		}
		return 1;
	case NLMSG_ERROR:
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return -EBADMSG;
		return e->error < 0 ? e->error : 1; /* 0: an acknowledgement */
	default: /* NLMSG_NOOP, NLMSG_OVERRUN */
		return 0;
	}
}

int tc_nl_walk(const void *buf, size_t len, uint32_t seq, tc_msg_fn fn, void *ctx)
{
	const char *at = buf;
	size_t left = len;

	while (left >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nh = (const void *)at;
		size_t step = NLMSG_ALIGN(nh->nlmsg_len);
		int rc = 0;

		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > left)
			return -EBADMSG;
		if (nh->nlmsg_seq == seq)
			rc = nh->nlmsg_type < NLMSG_MIN_TYPE ? control_msg(nh) : fn(nh, ctx);
		if (rc)
			return rc < 0 ? rc : 1;
		if (step >= left)
			return 0;
		at += step;
		left -= step;
	}
	return left ? -EBADMSG : 0;
}

int tc_msg_kind(const struct nlmsghdr *nh, char *kind, size_t len)
{
	size_t hdr = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct tcmsg)));
	const char *at = (const char *)nh + hdr;
	size_t left;

	if (nh->nlmsg_len < hdr)
		return -EBADMSG;
	left = nh->nlmsg_len - hdr;
	while (left >= sizeof(struct rtattr)) {
		const struct rtattr *rta = (const void *)at;
		size_t step = RTA_ALIGN(rta->rta_len);

		if (rta->rta_len < sizeof(*rta) || rta->rta_len > left)
			return -EBADMSG;
		if ((rta->rta_type & NLA_TYPE_MASK) == TCA_KIND) {
			size_t n = rta->rta_len - RTA_LENGTH(0);
			const char *s = RTA_DATA(rta);

			/* A NUL-terminated string; the length bounds the copy
			 * even if the terminator is missing. */
			snprintf(kind, len, "%.*s", (int)strnlen(s, n), s);
			return 0;
		}
		if (step >= left)
			break;
		at += step;
		left -= step;
	}
	return -ENOENT;
}

/* Sends one tc request and hands every message of the reply to fn. */
static int tc_request(uint16_t type, uint16_t flags, const struct tcmsg *tcm, tc_msg_fn fn, void *ctx)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval timeout = { .tv_sec = RECV_TIMEOUT_S };
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = {
			.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			.nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | flags,
			.nlmsg_seq = (uint32_t)time(NULL),
		},
		.tc = *tcm,
	};
	char *buf = NULL;
	int fd, rc = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		rc = -errno;
		goto out;
	}
	buf = malloc(RECV_BUF_SIZE);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (rc == 0) {
		ssize_t n = recv(fd, buf, RECV_BUF_SIZE, MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
		else if (n > RECV_BUF_SIZE)
			rc = -EMSGSIZE;
		else if (n == 0)
			rc = -EBADMSG;
		else
			rc = tc_nl_walk(buf, (size_t)n, req.nh.nlmsg_seq, fn, ctx);
	}
out:
	free(buf);
	close(fd);
	return rc < 0 ? rc : 0;
}

struct qdisc_query {
	int ifindex;
	char *kind;
	size_t len;
};

static int match_ingress_qdisc(const struct nlmsghdr *nh, void *ctx)
{
	struct qdisc_query *q = ctx;
	const struct tcmsg *tcm = NLMSG_DATA(nh);

	if (nh->nlmsg_type != RTM_NEWQDISC || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*tcm)))
		return 0;
	if (tcm->tcm_ifindex != q->ifindex || tcm->tcm_parent != TC_H_INGRESS)
		return 0;
	return tc_msg_kind(nh, q->kind, q->len);
}

/* A qdisc dump lists every interface's qdiscs (the kernel does not filter
 * it by interface), so the interface is picked out here. It is only asked
 * when attaching, never on a read. */
int tc_ingress_qdisc_kind(int ifindex, char *kind, size_t len)
{
	struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex };
	struct qdisc_query q = { .ifindex = ifindex, .kind = kind, .len = len };

	if (len)
		kind[0] = '\0';
	return tc_request(RTM_GETQDISC, NLM_F_DUMP, &tcm, match_ingress_qdisc, &q);
}

static int count_filter(const struct nlmsghdr *nh, void *ctx)
{
	int *count = ctx;

	if (nh->nlmsg_type == RTM_NEWTFILTER)
		(*count)++;
	return 0;
}

int tc_count_filters(int ifindex, bool egress)
{
	struct tcmsg tcm = {
		.tcm_family = AF_UNSPEC,
		.tcm_ifindex = ifindex,
		.tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS),
	};
	int count = 0, rc;

	rc = tc_request(RTM_GETTFILTER, NLM_F_DUMP, &tcm, count_filter, &count);
	return rc < 0 ? rc : count;
}
