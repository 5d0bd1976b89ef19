/* The pure parts of the network probe: turning a tap's host-side totals into
 * the guest's counters (userspace/net_tc.c), and walking rtnetlink
 * replies (userspace/tc_netlink.c). The kernel side is covered by
 * tests/integration/net_tc.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <linux/rtnetlink.h>

#include "net_tc_loader.h"
#include "tc_netlink.h"

#define SEQ 4242

/* --- guest counters ------------------------------------------------------ */

static void test_tap_directions_are_turned_around(void **state)
{
	struct net_tap_totals at_attach = { 0 };
	struct net_tap_totals now = {
		.ingress_bytes = 1000, .ingress_packets = 10,
		.egress_bytes = 7000, .egress_packets = 7,
		.rx_dropped = 3, .tx_dropped = 5,
	};
	struct net_if_counters c;

	(void)state;
	net_guest_counters(&at_attach, &now, &c);
	/* What the tap received is what the guest sent, and the reverse. */
	assert_int_equal(c.tx_bytes, 1000);
	assert_int_equal(c.tx_packets, 10);
	assert_int_equal(c.rx_bytes, 7000);
	assert_int_equal(c.rx_packets, 7);
	/* The tap's tx drops are frames the guest never received. */
	assert_int_equal(c.rx_drops, 5);
	assert_int_equal(c.tx_drops, 3);
}

static void test_drops_count_from_attach(void **state)
{
	struct net_tap_totals at_attach = { .rx_dropped = 100, .tx_dropped = 40 };
	struct net_tap_totals now = { .rx_dropped = 103, .tx_dropped = 41 };
	struct net_if_counters c;

	(void)state;
	net_guest_counters(&at_attach, &now, &c);
	assert_int_equal(c.tx_drops, 3);
	assert_int_equal(c.rx_drops, 1);
}

static void test_counter_below_its_start_reads_zero(void **state)
{
	struct net_tap_totals at_attach = { .rx_dropped = 100, .tx_dropped = 40, .ingress_packets = 9 };
	struct net_tap_totals now = { .rx_dropped = 2, .tx_dropped = 40, .ingress_packets = 1 };
	struct net_if_counters c;

	(void)state;
	net_guest_counters(&at_attach, &now, &c);
	assert_int_equal(c.tx_drops, 0);
	assert_int_equal(c.rx_drops, 0);
	assert_int_equal(c.tx_packets, 0);
}

/* --- rtnetlink replies --------------------------------------------------- */

/* A reply buffer built message by message, aligned as the kernel's is. */
struct reply {
	union {
		uint32_t align;
		char bytes[4096];
	} buf;
	size_t len;
};

static struct nlmsghdr *add_msg(struct reply *r, uint16_t type, uint32_t seq, const void *payload, size_t plen)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(r->buf.bytes + r->len);

	assert_true(r->len + NLMSG_SPACE(plen) <= sizeof(r->buf.bytes));
	memset(nh, 0, NLMSG_SPACE(plen));
	nh->nlmsg_len = NLMSG_LENGTH(plen);
	nh->nlmsg_type = type;
	nh->nlmsg_seq = seq;
	if (plen)
		memcpy(NLMSG_DATA(nh), payload, plen);
	r->len += NLMSG_SPACE(plen);
	return nh;
}

/* A tc message (qdisc or filter) with a TCA_KIND attribute, or none if kind
 * is NULL. */
static void add_tc_msg(struct reply *r, uint16_t type, uint32_t seq, const char *kind)
{
	char payload[128] = { 0 };
	size_t plen = NLMSG_ALIGN(sizeof(struct tcmsg));

	if (kind) {
		struct rtattr *rta = (struct rtattr *)(payload + plen);

		rta->rta_type = TCA_KIND;
		rta->rta_len = (unsigned short)RTA_LENGTH(strlen(kind) + 1);
		memcpy(RTA_DATA(rta), kind, strlen(kind) + 1);
		plen += RTA_ALIGN(rta->rta_len);
	}
	add_msg(r, type, seq, payload, plen);
}

static void add_error(struct reply *r, uint32_t seq, int error)
{
	struct nlmsgerr e = { .error = error };

	add_msg(r, NLMSG_ERROR, seq, &e, sizeof(e));
}

static int count_msgs(const struct nlmsghdr *nh, void *ctx)
{
	(void)nh;
	(*(int *)ctx)++;
	return 0;
}

static void test_dump_ends_at_done(void **state)
{
	struct reply r = { .len = 0 };
	int done = 0, n = 0;

	(void)state;
	add_tc_msg(&r, RTM_NEWTFILTER, SEQ, "bpf");
	add_tc_msg(&r, RTM_NEWTFILTER, SEQ, "u32");
	add_msg(&r, NLMSG_DONE, SEQ, &done, sizeof(done));
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), 1);
	assert_int_equal(n, 2);
}

static void test_dump_part_without_done_asks_for_more(void **state)
{
	struct reply r = { .len = 0 };
	int n = 0;

	(void)state;
	add_tc_msg(&r, RTM_NEWTFILTER, SEQ, "bpf");
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), 0);
	assert_int_equal(n, 1);
}

static void test_other_sequence_numbers_are_skipped(void **state)
{
	struct reply r = { .len = 0 };
	int n = 0;

	(void)state;
	add_tc_msg(&r, RTM_NEWTFILTER, SEQ + 1, "bpf");
	add_error(&r, SEQ + 1, -EPERM);
	add_tc_msg(&r, RTM_NEWTFILTER, SEQ, "bpf");
	add_error(&r, SEQ, 0);
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), 1);
	assert_int_equal(n, 1);
}

static void test_kernel_errors_are_returned(void **state)
{
	struct reply r = { .len = 0 };
	int n = 0, failed = -ENODEV;

	(void)state;
	add_error(&r, SEQ, -ENODEV);
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), -ENODEV);

	/* A dump that fails midway says so in the payload of DONE. */
	r.len = 0;
	add_msg(&r, NLMSG_DONE, SEQ, &failed, sizeof(failed));
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), -ENODEV);
	assert_int_equal(n, 0);
}

static int read_kind(const struct nlmsghdr *nh, void *ctx)
{
	return tc_msg_kind(nh, ctx, 16);
}

static void test_callback_error_stops_the_walk(void **state)
{
	struct reply r = { .len = 0 };
	char kind[16] = "";

	(void)state;
	add_tc_msg(&r, RTM_NEWQDISC, SEQ, NULL);
	add_tc_msg(&r, RTM_NEWQDISC, SEQ, "clsact");
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, read_kind, kind), -ENOENT);
	assert_string_equal(kind, "");
}

static void test_malformed_replies_are_rejected(void **state)
{
	struct reply r = { .len = 0 };
	struct nlmsghdr *nh;
	int n = 0;

	(void)state;
	nh = add_msg(&r, RTM_NEWTFILTER, SEQ, NULL, 0);
	nh->nlmsg_len = 4096; /* longer than the buffer */
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), -EBADMSG);

	nh->nlmsg_len = 3; /* shorter than its own header */
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), -EBADMSG);

	/* A short error message. */
	r.len = 0;
	add_msg(&r, NLMSG_ERROR, SEQ, NULL, 0);
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len, SEQ, count_msgs, &n), -EBADMSG);

	/* Bytes left over that cannot hold a header. */
	r.len = 0;
	add_tc_msg(&r, RTM_NEWTFILTER, SEQ, "bpf");
	assert_int_equal(tc_nl_walk(r.buf.bytes, r.len + 8, SEQ, count_msgs, &n), -EBADMSG);
}

static void test_kind_is_read(void **state)
{
	struct reply r = { .len = 0 };
	char kind[16], tiny[4];

	(void)state;
	add_tc_msg(&r, RTM_NEWQDISC, SEQ, "clsact");
	assert_int_equal(tc_msg_kind((struct nlmsghdr *)r.buf.bytes, kind, sizeof(kind)), 0);
	assert_string_equal(kind, "clsact");
	/* Truncated to the caller's buffer, still terminated. */
	assert_int_equal(tc_msg_kind((struct nlmsghdr *)r.buf.bytes, tiny, sizeof(tiny)), 0);
	assert_string_equal(tiny, "cls");
}

static void test_kind_missing_or_malformed(void **state)
{
	struct reply r = { .len = 0 };
	struct nlmsghdr *nh;
	struct rtattr *rta;
	char kind[16];

	(void)state;
	add_tc_msg(&r, RTM_NEWQDISC, SEQ, NULL);
	assert_int_equal(tc_msg_kind((struct nlmsghdr *)r.buf.bytes, kind, sizeof(kind)), -ENOENT);

	r.len = 0;
	add_tc_msg(&r, RTM_NEWQDISC, SEQ, "ingress");
	nh = (struct nlmsghdr *)r.buf.bytes;
	rta = (struct rtattr *)((char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct tcmsg)));
	rta->rta_len = 200; /* beyond the message */
	assert_int_equal(tc_msg_kind(nh, kind, sizeof(kind)), -EBADMSG);

	nh->nlmsg_len = NLMSG_LENGTH(4); /* too short for a tcmsg */
	assert_int_equal(tc_msg_kind(nh, kind, sizeof(kind)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_directions_are_turned_around),
		cmocka_unit_test(test_drops_count_from_attach),
		cmocka_unit_test(test_counter_below_its_start_reads_zero),
		cmocka_unit_test(test_dump_ends_at_done),
		cmocka_unit_test(test_dump_part_without_done_asks_for_more),
		cmocka_unit_test(test_other_sequence_numbers_are_skipped),
		cmocka_unit_test(test_kernel_errors_are_returned),
		cmocka_unit_test(test_callback_error_stops_the_walk),
		cmocka_unit_test(test_malformed_replies_are_rejected),
		cmocka_unit_test(test_kind_is_read),
		cmocka_unit_test(test_kind_missing_or_malformed),
	};
	return cmocka_run_group_tests_name("net_probe", tests, NULL, NULL);
}
