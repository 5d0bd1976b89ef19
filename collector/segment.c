#include "segment.h"

#include <string.h>

#define SEG_VERSION 1

void seg_builder_reset(struct seg_builder *b)
{
	buf_reset(&b->dir);
	buf_reset(&b->body);
	b->n = 0;
	b->prev_id = 0;
	b->t_first = INT64_MAX;
	b->t_last = INT64_MIN;
}

void seg_builder_free(struct seg_builder *b)
{
	buf_free(&b->dir);
	buf_free(&b->body);
}

void seg_add(struct seg_builder *b, const struct seg_section *s, int64_t t_first, int64_t t_last)
{
	buf_svarint(&b->dir, s->series_id - b->prev_id);
	buf_uvarint(&b->dir, s->count);
	buf_svarint(&b->dir, s->origin);
	buf_uvarint(&b->dir, s->base_ms);
	buf_uvarint(&b->dir, s->len);
	buf_put(&b->body, s->data, s->len);
	b->prev_id = s->series_id;
	b->n++;
	if (t_first < b->t_first)
		b->t_first = t_first;
	if (t_last > b->t_last)
		b->t_last = t_last;
}

int seg_finish(struct seg_builder *b, struct buf *blob)
{
	struct buf plain = { 0 };
	buf_u8(&plain, SEG_VERSION);
	buf_uvarint(&plain, b->n);
	buf_uvarint(&plain, b->dir.len);
	buf_put(&plain, b->dir.data, b->dir.len);
	buf_put(&plain, b->body.data, b->body.len);
	int rc = plain.failed || b->dir.failed || b->body.failed ? -1 : blob_pack(&plain, blob);
	buf_free(&plain);
	return rc;
}

int seg_open(struct seg_view *v, const void *blob, size_t len)
{
	if (blob_unpack(blob, len, &v->plain) < 0)
		return -1;
	struct cursor c = { v->plain.data, v->plain.data + v->plain.len, 0 };
	if (cur_u8(&c) != SEG_VERSION)
		return -1;
	v->n = (size_t)cur_uvarint(&c);
	uint64_t dir_len = cur_uvarint(&c);
	const uint8_t *dir = cur_bytes(&c, (size_t)dir_len);
	if (c.bad || !dir)
		return -1;
	v->dir = (struct cursor){ dir, dir + dir_len, 0 };
	v->body = c.p;
	return 0;
}

int seg_next(struct seg_view *v, size_t *pos, struct cursor *dir, struct seg_section *out)
{
	if (*pos == 0) {
		*dir = v->dir;
		out->series_id = 0;
		out->data = v->body;
		out->len = 0;
	}
	if (*pos >= v->n)
		return 0;
	const uint8_t *end = v->plain.data + v->plain.len;
	out->data += out->len;
	out->series_id += cur_svarint(dir);
	out->count = (uint32_t)cur_uvarint(dir);
	out->origin = cur_svarint(dir);
	out->base_ms = (uint32_t)cur_uvarint(dir);
	out->len = (size_t)cur_uvarint(dir);
	if (dir->bad || out->len > (size_t)(end - out->data))
		return -1;
	(*pos)++;
	return 1;
}

int seg_find(struct seg_view *v, int64_t series_id, struct seg_section *out)
{
	size_t pos = 0;
	struct cursor dir;
	int rc;
	while ((rc = seg_next(v, &pos, &dir, out)) == 1)
		if (out->series_id == series_id)
			return 1;
	return rc;
}

void seg_view_free(struct seg_view *v)
{
	buf_free(&v->plain);
}
