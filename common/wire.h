/* The wire format (schema/vigil.proto): packing, unpacking and validation.
 * Both the probe and the collector go through these functions, so the
 * rules for a well-formed batch live in one place. */
#ifndef VIGIL_WIRE_H
#define VIGIL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.pb-c.h"

#define VIGIL_WIRE_VERSION 1

/* Limits a batch must respect; the collector rejects anything beyond. */
#define WIRE_MAX_MESSAGE      (16u << 20)
#define WIRE_MAX_HOST         255
#define WIRE_MAX_VMS          10000
#define WIRE_MAX_VM_NAME      128
#define WIRE_MAX_STATE        15
#define WIRE_MAX_SAMPLES      4096     /* per VM */
#define WIRE_MAX_METRIC       64
#define WIRE_MAX_TAGS         4        /* per sample */
#define WIRE_MAX_TAG_KEY      32
#define WIRE_MAX_TAG_VALUE    128
#define WIRE_MIN_INTERVAL_MS  100
#define WIRE_MAX_INTERVAL_MS  3600000
#define WIRE_MIN_TIME_MS      946684800000LL  /* 2000-01-01: older is a clock fault */
#define WIRE_MAX_FUTURE_MS    86400000LL      /* a batch may not end >1 day ahead */

/* Tags rendered canonically: "k=v,k=v", keys sorted; "" when none. */
#define WIRE_TAGS_MAX_LEN (WIRE_MAX_TAGS * (WIRE_MAX_TAG_KEY + WIRE_MAX_TAG_VALUE + 2))

/* Packs env (its version is set here) into a malloc'd buffer. 0 or -ENOMEM. */
int wire_pack(Vigil__Envelope *env, uint8_t **buf, size_t *len);

/* Unpacks and validates a message. On failure returns NULL, sets *code and
 * writes a message for the sender into err. Free with wire_free(). */
Vigil__Envelope *wire_unpack(const uint8_t *buf, size_t len, int64_t now_ms,
			     Vigil__Error__Code *code, char *err, size_t errlen);
void wire_free(Vigil__Envelope *env);

/* As wire_unpack, allocating through alloc (NULL: malloc), for a caller
 * that releases a whole request's memory at once. */
Vigil__Envelope *wire_unpack_with(ProtobufCAllocator *alloc, const uint8_t *buf, size_t len, int64_t now_ms,
				  Vigil__Error__Code *code, char *err, size_t errlen);

/* Checks every field of a batch against the limits above. now_ms bounds
 * timestamps from the future. 0, or -1 with a message naming the field. */
int wire_validate_batch(const Vigil__Batch *b, int64_t now_ms, char *err, size_t errlen);

/* The canonical form of a sample's tags, the series key the store matches
 * and keeps in series.tags (so part of the database format): "k=v,k=v"
 * with the keys in strcmp order, "" for no tag. Keys and values are
 * copied as they are, without escaping: the validator (wire_validate_batch)
 * keeps ',' and '=' out of values and allows only [a-z0-9_.] in keys. The
 * one encoder, for the write path (validation, the store's series lookup)
 * and the read path (queries naming tags).
 * 0, or -1 with out set to "" when a key repeats, when there are more than
 * WIRE_MAX_TAGS tags, or when the result and its NUL do not fit in outlen
 * (WIRE_TAGS_MAX_LEN holds any validated tag set). */
int wire_canonical_tags(Vigil__Tag *const *tags, size_t n, char *out, size_t outlen);

/* Small validators shared with the CLI and the probe. */
int wire_valid_uuid(const char *s);
int wire_valid_host(const char *s);
int wire_valid_metric(const char *s);

#endif
