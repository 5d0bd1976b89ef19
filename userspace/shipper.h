/* Delivery of batches to the collector: a bounded in-memory queue and a
 * thread that sends the oldest batch until the collector acknowledges it.
 * Sampling never waits on the network. */
#ifndef VIGIL_SHIPPER_H
#define VIGIL_SHIPPER_H

#include <stddef.h>
#include <stdint.h>

struct shipper;

/* Connects (in the background) to url. max_queued bounds the batches kept
 * while the collector is away; past it the oldest is dropped, and said so. */
int shipper_start(struct shipper **out, const char *url, size_t max_queued, char *err, size_t errlen);

/* Queues a packed Envelope; takes ownership of buf. */
void shipper_enqueue(struct shipper *sh, uint64_t seq, uint8_t *buf, size_t len);

/* Waits up to timeout_ms for every queued batch to be acknowledged.
 * Returns how many are still queued. */
size_t shipper_drain(struct shipper *sh, int timeout_ms);

/* Stops the thread; batches still queued are dropped (and counted). */
void shipper_stop(struct shipper *sh);

#endif
