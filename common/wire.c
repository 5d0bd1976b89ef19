#include "wire.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int wire_pack(Vigil__Envelope *env, uint8_t **buf, size_t *len)
{
	env->version = VIGIL_WIRE_VERSION;
	*len = vigil__envelope__get_packed_size(env);
	/* malloc(0) may return NULL; an empty envelope still needs a buffer. */
	*buf = malloc(*len ? *len : 1);
	if (!*buf)
		return -ENOMEM;
	vigil__envelope__pack(env, *buf);
	return 0;
}

void wire_free(Vigil__Envelope *env)
{
	if (env)
		vigil__envelope__free_unpacked(env, NULL);
}

Vigil__Envelope *wire_unpack(const uint8_t *buf, size_t len, int64_t now_ms,
			     Vigil__Error__Code *code, char *err, size_t errlen)
{
	return wire_unpack_with(NULL, buf, len, now_ms, code, err, errlen);
}

Vigil__Envelope *wire_unpack_with(ProtobufCAllocator *alloc, const uint8_t *buf, size_t len, int64_t now_ms,
				  Vigil__Error__Code *code, char *err, size_t errlen)
{
	*code = VIGIL__ERROR__CODE__MALFORMED;
	if (len > WIRE_MAX_MESSAGE) {
		fail(err, errlen, "message of %zu bytes exceeds the %u-byte limit", len, WIRE_MAX_MESSAGE);
		return NULL;
	}
	Vigil__Envelope *env = vigil__envelope__unpack(alloc, len, buf);
	if (!env) {
		fail(err, errlen, "message of %zu bytes is not a valid vigil.Envelope", len);
		return NULL;
	}
	if (env->version != VIGIL_WIRE_VERSION) {
		*code = VIGIL__ERROR__CODE__VERSION;
		fail(err, errlen, "wire version %u is not supported (this side speaks version %d)",
		     env->version, VIGIL_WIRE_VERSION);
		vigil__envelope__free_unpacked(env, alloc);
		return NULL;
	}
	if (env->body_case == VIGIL__ENVELOPE__BODY__NOT_SET) {
		fail(err, errlen, "message has no body");
		vigil__envelope__free_unpacked(env, alloc);
		return NULL;
	}
	if (env->body_case == VIGIL__ENVELOPE__BODY_BATCH &&
	    wire_validate_batch(env->batch, now_ms, err, errlen) < 0) {
		vigil__envelope__free_unpacked(env, alloc);
		return NULL;
	}
	return env;
}

/* Bounded, printable, no control characters: safe to log and to print. */
static int valid_text(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++) {
		if (n >= max || iscntrl((unsigned char)s[n]))
			return 0;
	}
	return n > 0;
}

static int valid_identifier(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= max || !(islower(c) || isdigit(c) || c == '_' || c == '.'))
			return 0;
	}
	return n > 0;
}

int wire_valid_metric(const char *s)
{
	return valid_identifier(s, WIRE_MAX_METRIC);
}

int wire_valid_host(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= WIRE_MAX_HOST || !(isalnum(c) || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return n > 0;
}

int wire_valid_uuid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int valid_tag_value(const char *s)
{
	/* ',' and '=' delimit the canonical tag string. */
	return valid_text(s, WIRE_MAX_TAG_VALUE) && !strpbrk(s, ",=");
}

static int validate_sample(const Vigil__Sample *s, const char *vm, char *err, size_t errlen)
{
	if (!wire_valid_metric(s->metric))
		return fail(err, errlen, "vm '%s': metric name '%.64s' is invalid (want [a-z0-9_.], 1-%d bytes)",
			    vm, s->metric, WIRE_MAX_METRIC);
	if (!isfinite(s->value))
		return fail(err, errlen, "vm '%s': metric %s has a non-finite value", vm, s->metric);
	if (s->n_tags > WIRE_MAX_TAGS)
		return fail(err, errlen, "vm '%s': metric %s has %zu tags (limit %d)",
			    vm, s->metric, s->n_tags, WIRE_MAX_TAGS);
	for (size_t i = 0; i < s->n_tags; i++) {
		if (!valid_identifier(s->tags[i]->key, WIRE_MAX_TAG_KEY) || !valid_tag_value(s->tags[i]->value))
			return fail(err, errlen, "vm '%s': metric %s has an invalid tag '%.32s=%.32s'",
				    vm, s->metric, s->tags[i]->key, s->tags[i]->value);
	}
	char canon[WIRE_TAGS_MAX_LEN];
	if (wire_canonical_tags(s->tags, s->n_tags, canon, sizeof(canon)) < 0)
		return fail(err, errlen, "vm '%s': metric %s repeats a tag key", vm, s->metric);
	return 0;
}

static int validate_vm(const Vigil__VmSamples *vm, char *err, size_t errlen)
{
	if (!valid_text(vm->name, WIRE_MAX_VM_NAME))
		return fail(err, errlen, "vm name '%.128s' is empty, too long or has control characters", vm->name);
	if (!wire_valid_uuid(vm->uuid))
		return fail(err, errlen, "vm '%s': uuid '%.40s' is not a canonical UUID", vm->name, vm->uuid);
	if (!valid_text(vm->state, WIRE_MAX_STATE))
		return fail(err, errlen, "vm '%s': state '%.20s' is invalid", vm->name, vm->state);
	if (strcmp(vm->source, "libvirt") != 0 && strcmp(vm->source, "pid") != 0 && strcmp(vm->source, "host") != 0)
		return fail(err, errlen, "vm '%s': source '%.20s' is not 'libvirt', 'pid' or 'host'", vm->name,
			    vm->source);
	if (vm->n_samples > WIRE_MAX_SAMPLES)
		return fail(err, errlen, "vm '%s': %zu samples (limit %d)", vm->name, vm->n_samples, WIRE_MAX_SAMPLES);
	/* counters_reset is valid either way, also on a VM without samples (a
	 * first batch that found no process): it only says not to join. */
	for (size_t i = 0; i < vm->n_samples; i++) {
		if (validate_sample(vm->samples[i], vm->name, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int wire_validate_batch(const Vigil__Batch *b, int64_t now_ms, char *err, size_t errlen)
{
	if (!wire_valid_host(b->host))
		return fail(err, errlen, "host name '%.64s' is invalid (want [A-Za-z0-9._-], 1-%d bytes)",
			    b->host, WIRE_MAX_HOST);
	if (b->seq == 0)
		return fail(err, errlen, "host %s: sequence number 0 is reserved", b->host);
	if (b->interval_ms < WIRE_MIN_INTERVAL_MS || b->interval_ms > WIRE_MAX_INTERVAL_MS)
		return fail(err, errlen, "host %s: interval %u ms is outside %d..%d", b->host,
			    b->interval_ms, WIRE_MIN_INTERVAL_MS, WIRE_MAX_INTERVAL_MS);
	if (b->t_start_ms < WIRE_MIN_TIME_MS || b->t_end_ms <= b->t_start_ms)
		return fail(err, errlen, "host %s: interval times %lld..%lld are not a valid range",
			    b->host, (long long)b->t_start_ms, (long long)b->t_end_ms);
	if (b->t_end_ms > now_ms + WIRE_MAX_FUTURE_MS)
		return fail(err, errlen, "host %s: batch ends %lld ms in the future; check the probe's clock",
			    b->host, (long long)(b->t_end_ms - now_ms));
	if (b->t_end_ms - b->t_start_ms > 2LL * WIRE_MAX_INTERVAL_MS)
		return fail(err, errlen, "host %s: batch spans %lld ms, more than two maximum intervals",
			    b->host, (long long)(b->t_end_ms - b->t_start_ms));
	if (b->n_vms > WIRE_MAX_VMS)
		return fail(err, errlen, "host %s: %zu VMs (limit %d)", b->host, b->n_vms, WIRE_MAX_VMS);
	for (size_t i = 0; i < b->n_vms; i++) {
		if (validate_vm(b->vms[i], err, errlen) < 0)
			return -1;
	}
	return 0;
}

int wire_canonical_tags(Vigil__Tag *const *tags, size_t n, char *out, size_t outlen)
{
	Vigil__Tag *sorted[WIRE_MAX_TAGS];
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (n > WIRE_MAX_TAGS)
		return -1;
	/* Called for every sample of every batch, by the validator and by the
	 * writer: an insertion sort of at most WIRE_MAX_TAGS pointers and
	 * plain copies, no qsort and no formatting calls. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j > 0 && strcmp(sorted[j - 1]->key, tags[i]->key) > 0) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = tags[i];
	}
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(sorted[i - 1]->key, sorted[i]->key) == 0)
			goto fail;
		size_t kl = strlen(sorted[i]->key), vl = strlen(sorted[i]->value);
		/* The separator, "k=v" and the terminating NUL must fit. */
		if (used + (i > 0) + kl + 1 + vl >= outlen)
			goto fail;
		if (i > 0)
			out[used++] = ',';
		memcpy(out + used, sorted[i]->key, kl);
		used += kl;
		out[used++] = '=';
		memcpy(out + used, sorted[i]->value, vl);
		used += vl;
	}
	out[used] = '\0';
	return 0;
fail:
	out[0] = '\0';
	return -1;
}
