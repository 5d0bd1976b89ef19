/* Simulated probes: each is one host of a trace with its own nng req socket
 * (its own connection, as a real vigil-probe has), its own strictly
 * increasing sequence numbers, and one batch in flight at a time. A batch
 * counts as ingested only when the collector acknowledges it, which it does
 * after its commit. Like userspace/shipper.c, a probe resends the same batch
 * after a STORAGE error or a reply timeout, with backoff; any other error
 * reply is a rejection and stops that probe.
 *
 * All probes run on nng's aio callbacks, so 1,000 probes need no thread
 * each; the next batch is generated on the callback that received the
 * previous batch's ack. */
#ifndef VIGIL_BENCH_SIM_PROBES_H
#define VIGIL_BENCH_SIM_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

struct load_spec {
	const char *url;           /* the collector: ipc:// or tcp://127.0.0.1 */
	struct trace_shape shape;  /* shape.hosts probes, shape.intervals batches each at most */
	double min_seconds;        /* keep sending (within the trace) until this long */
	double max_seconds;        /* start no batch after this long: bounds the run */
	uint32_t min_intervals;    /* ... and until each probe had this many acknowledged */
	int reply_timeout_ms;      /* then resend */
	uint64_t seq_base;         /* batch k of a probe has sequence seq_base + k + 1 */
	/* Called about every 200 ms from the waiting thread. A non-zero return
	 * stops the run: no new batch is sent, those in flight complete. */
	int (*progress)(uint64_t samples_acked, void *arg);
	void *progress_arg;
};

struct load_result {
	uint64_t batches;          /* acknowledged as stored */
	uint64_t samples;          /* in those batches */
	uint64_t duplicates;       /* acknowledged as repeats (after a resend) */
	uint64_t storage_retries;  /* STORAGE errors, resent */
	uint64_t timeouts;         /* no reply in time, resent */
	uint64_t rejected;         /* other error replies: the run is invalid */
	int stopped_early;         /* progress asked to stop */
	char first_rejection[256];
	double elapsed_s;          /* first send to last acknowledgement */
	double sender_cpu_s;       /* this process's CPU time over the run */
	/* Request -> acknowledgement, per batch, first send to final ack. */
	double *latency_us;
	size_t n_latency;
};

/* Connects every probe, runs the load and fills out. 0, or -1 with a
 * message in err (a probe could not connect). Free with load_result_free. */
int load_run(const struct load_spec *spec, struct load_result *out, char *err, size_t errlen);
void load_result_free(struct load_result *r);

#endif
