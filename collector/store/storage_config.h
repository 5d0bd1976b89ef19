/* The collector configuration file's `storage { }` group: retention per
 * tier, gauge deadbands per metric, group commit and journal flushing.
 * Every setting is documented in collector/vigil-collector.conf. */
#ifndef VIGIL_STORAGE_CONFIG_H
#define VIGIL_STORAGE_CONFIG_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* A gauge's coalescing tolerance: a reading within it of the open
 * interval's value extends the interval. */
struct deadband {
	char metric[65];
	double absolute; /* |v - stored| <= absolute, when > 0 */
	double relative; /* |v - stored| <= relative * |stored|, when > 0 */
};

struct storage_config {
	int64_t retention_ms[TIER_COUNT];
	uint32_t commit_max_ms;  /* a batch waits at most this long for its group commit */
	uint64_t flush_bytes;    /* journal bytes that trigger a flush into segments */
	int64_t flush_ms;        /* and the longest time between flushes */
	struct deadband *deadbands;
	size_t n_deadbands;
};

#define STORAGE_DEFAULT_RETENTION_RAW (14 * 86400000LL)
#define STORAGE_DEFAULT_RETENTION_1M (90 * 86400000LL)
#define STORAGE_DEFAULT_RETENTION_1H (730 * 86400000LL)
#define STORAGE_DEFAULT_COMMIT_MAX_MS 100
#define STORAGE_DEFAULT_FLUSH_BYTES (16u << 20)
#define STORAGE_DEFAULT_FLUSH_MS (600 * 1000LL)

void storage_config_defaults(struct storage_config *c);
void storage_config_free(struct storage_config *c);

/* Reads the storage group of cfg (absent: defaults). 0, or -1 with
 * "line N: what" in err. */
int storage_config_read(const config_t *cfg, struct storage_config *c, char *err, size_t errlen);

/* The deadband of a metric, or NULL (exact). */
const struct deadband *storage_deadband(const struct storage_config *c, const char *metric);

/* Whether value v is within db of stored (db NULL: exact equality). The
 * error of a coalesced reading is therefore at most the deadband. */
int deadband_accepts(const struct deadband *db, double stored, double v);

#endif
