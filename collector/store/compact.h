/* Writing a flush's segments, with hourly merging (docs/storage.md,
 * "Compaction"). A flush hands over one VM's tier as plain data: its id,
 * its clock and the pending row stream of each of its series. Compaction
 * merges those streams with the segments of the hour that is due, read
 * from the segments table, and writes the result there; it never reaches
 * back into the writer that owns the streams. */
#ifndef VIGIL_COMPACT_H
#define VIGIL_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "period.h"
#include "segtable.h"

/* One VM's tier as a flush hands it over. */
struct compact_input {
	int64_t vm_id;
	int tier;
	int has_clock;     /* the VM has had a batch */
	int64_t clock_end; /* the end of its latest batch */
	int closing;       /* the flush at a clean stop: merges the hour in progress too */
	/* Every series of the VM the writer knows, in the writer's order,
	 * with its pending stream of this tier (possibly empty). */
	const struct series_pending *series;
	size_t n_series;
};

/* Writes in's pending data as segments of its tier, through segs, in the
 * caller's transaction: merged with the segments of the hour that is due
 * (the last whole hour of the VM's clock not merged yet, past a per-VM
 * delay; at a clean stop the current one too), or as it is, cut by period.
 * *compacted_until (per VM and tier, kept by the caller; 0 at first) is
 * the end of the last hour merged, and is advanced here; the one-hour
 * tier is never merged, and its *compacted_until is not used. scratch holds the
 * segments being built. 0, or -1 with a message in err. */
int compact_write(struct segtable *segs, struct period_set *scratch, const struct compact_input *in,
		  int64_t *compacted_until, char *err, size_t errlen);

#endif
