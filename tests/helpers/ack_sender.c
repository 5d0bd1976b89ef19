/* ack_sender: a probe stand-in for the crash tests. It sends N batches of
 * deterministic readings for V VMs, one after the other, resending each
 * until the collector acknowledges it (across collector restarts), and
 * prints what it sent: one "total VM BYTES" line per VM with the sum of the
 * disk.write_bytes deltas, and "acked N" at the end.
 *   ack_sender URL HOST BATCHES VMS [PAUSE_MS]
 * Bounded: it gives up (exit 1) after 120 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "rpc.h"
#include "wire.h"

#define GIVE_UP_MS 120000

static double delta_of(unsigned k, unsigned vm)
{
	/* Runs of repeated deltas (so rows coalesce), different per VM. */
	return (double)(((k / 3) * 7919u + vm * 104729u) % 5u) * 512.0;
}

static Vigil__Batch *make_batch(const char *host, uint64_t seq, int64_t t0, unsigned vms, char uuids[][40],
				char names[][16], Vigil__VmSamples *vs, Vigil__VmSamples **vps, Vigil__Sample *smp,
				Vigil__Sample **sps, Vigil__Tag *tag, Vigil__Tag **tps)
{
	static Vigil__Batch b;
	vigil__batch__init(&b);
	b.host = (char *)host;
	b.seq = seq;
	b.interval_ms = 1000;
	b.t_start_ms = t0 + (int64_t)(seq - 1) * 1000;
	b.t_end_ms = b.t_start_ms + 1000;
	b.n_vms = vms;
	b.vms = vps;
	for (unsigned v = 0; v < vms; v++) {
		vigil__vm_samples__init(&vs[v]);
		vs[v].name = names[v];
		vs[v].uuid = uuids[v];
		vs[v].state = "running";
		vs[v].source = "pid";
		vs[v].n_samples = 2;
		vs[v].samples = &sps[2 * v];
		vps[v] = &vs[v];
		vigil__sample__init(&smp[2 * v]);
		smp[2 * v].metric = "disk.write_bytes";
		smp[2 * v].value = delta_of((unsigned)seq - 1, v);
		vigil__tag__init(&tag[v]);
		tag[v].key = "dev";
		tag[v].value = "vda";
		tps[v] = &tag[v];
		smp[2 * v].tags = &tps[v];
		smp[2 * v].n_tags = 1;
		vigil__sample__init(&smp[2 * v + 1]);
		smp[2 * v + 1].metric = "cpu.used_pct";
		smp[2 * v + 1].value = (double)((seq / 5) % 4) * 12.5;
		sps[2 * v] = &smp[2 * v];
		sps[2 * v + 1] = &smp[2 * v + 1];
	}
	return &b;
}

static int acked(nng_socket sock, const uint8_t *buf, size_t len, uint64_t seq)
{
	char err[256];
	Vigil__Envelope *reply = NULL;
	if (rpc_call_packed(sock, buf, len, &reply, err, sizeof(err)) < 0)
		return 0;
	int ok = reply->body_case == VIGIL__ENVELOPE__BODY_ACK && reply->ack->seq == seq;
	wire_free(reply);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: ack_sender URL HOST BATCHES VMS [PAUSE_MS]\n");
		return 2;
	}
	const char *url = argv[1], *host = argv[2];
	unsigned n = (unsigned)atoi(argv[3]), vms = (unsigned)atoi(argv[4]);
	long pause_ms = argc > 5 ? atol(argv[5]) : 0;
	if (vms == 0 || vms > 256 || n == 0)
		return 2;
	char (*uuids)[40] = calloc(vms, 40), (*names)[16] = calloc(vms, 16);
	Vigil__VmSamples *vs = calloc(vms, sizeof(*vs)), **vps = calloc(vms, sizeof(*vps));
	Vigil__Sample *smp = calloc(2 * vms, sizeof(*smp)), **sps = calloc(2 * vms, sizeof(*sps));
	Vigil__Tag *tag = calloc(vms, sizeof(*tag)), **tps = calloc(vms, sizeof(*tps));
	double *total = calloc(vms, sizeof(*total));
	for (unsigned v = 0; v < vms; v++) {
		snprintf(uuids[v], 40, "aaaaaaaa-0000-4000-8000-%012u", v);
		snprintf(names[v], 16, "vm%u", v);
	}
	int64_t start = clock_realtime_ms();
	int64_t t0 = start - (int64_t)n * 1000 - 60000;
	t0 -= t0 % 1000;
	nng_socket sock;
	char err[256];
	/* A short timeout: a request lost with a killed collector is resent. */
	if (rpc_open(&sock, url, 1000, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "ack_sender: %s\n", err);
		return 1;
	}
	for (uint64_t seq = 1; seq <= n; seq++) {
		Vigil__Batch *b = make_batch(host, seq, t0, vms, uuids, names, vs, vps, smp, sps, tag, tps);
		Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
		env.body_case = VIGIL__ENVELOPE__BODY_BATCH;
		env.batch = b;
		uint8_t *buf;
		size_t len;
		if (wire_pack(&env, &buf, &len) < 0)
			return 1;
		while (!acked(sock, buf, len, seq)) {
			if (clock_realtime_ms() - start > GIVE_UP_MS) {
				fprintf(stderr, "ack_sender: batch %llu never acknowledged\n", (unsigned long long)seq);
				return 1;
			}
		}
		free(buf);
		for (unsigned v = 0; v < vms; v++)
			total[v] += delta_of((unsigned)seq - 1, v);
		if (pause_ms) {
			struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000 };
			nanosleep(&ts, NULL);
		}
	}
	nng_close(sock);
	for (unsigned v = 0; v < vms; v++)
		printf("total %s %.0f\n", names[v], total[v]);
	printf("acked %u\n", n);
	return 0;
}
