/*
 * framer.c — incremental PDU framing over a caller-provided bounded buffer,
 * for tools and tests (the dataplane cuts PDUs with smpp_hdr_peek on its own
 * per-flow buffers). Accepts any segmentation, one byte at a time included.
 */
#include <string.h>

#include "smpp_priv.h"

int smpp_framer_init(struct smpp_framer *f, uint8_t *buf, size_t cap, uint32_t max_pdu)
{
	if (!buf || cap < SMPP_HDR_LEN || cap > UINT32_MAX)
		return SMPP_EINVAL;
	if (max_pdu == 0)
		max_pdu = SMPP_DEFAULT_MAX_PDU;
	f->buf = buf;
	f->cap = (uint32_t)cap;
	f->bound = max_pdu < cap ? max_pdu : (uint32_t)cap;
	f->head = f->tail = 0;
	f->err = SMPP_OK;
	return SMPP_OK;
}

size_t smpp_framer_pending(const struct smpp_framer *f)
{
	return f->tail - f->head;
}

size_t smpp_framer_push(struct smpp_framer *f, const uint8_t *p, size_t n)
{
	size_t room;

	if (f->err != SMPP_OK)
		return 0;
	/* Popped PDUs are gone: slide the unconsumed tail to the front. */
	if (f->head > 0) {
		memmove(f->buf, f->buf + f->head, f->tail - f->head);
		f->tail -= f->head;
		f->head = 0;
	}
	room = f->cap - f->tail;
	if (n > room)
		n = room;
	memcpy(f->buf + f->tail, p, n);
	f->tail += (uint32_t)n;
	return n;
}

int smpp_framer_pop(struct smpp_framer *f, struct smpp_view *pdu)
{
	struct smpp_hdr h;
	int rc;

	if (f->err != SMPP_OK)
		return f->err;
	rc = smpp_hdr_peek(f->buf + f->head, f->tail - f->head, UINT32_MAX, &h);
	if (rc == SMPP_AGAIN)
		return SMPP_AGAIN;
	if (rc == SMPP_OK && h.command_length > f->bound)
		rc = SMPP_ETOOBIG;
	if (rc != SMPP_OK) {
		f->err = rc;
		return rc;
	}
	if (f->tail - f->head < h.command_length)
		return SMPP_AGAIN;
	pdu->p = f->buf + f->head;
	pdu->len = h.command_length;
	f->head += h.command_length;
	return SMPP_OK;
}

size_t smpp_framer_resync(struct smpp_framer *f)
{
	struct smpp_hdr h;
	size_t dropped = 0;

	f->err = SMPP_OK;
	while (f->tail - f->head >= SMPP_HDR_LEN) {
		if (smpp_hdr_peek(f->buf + f->head, f->tail - f->head, f->bound, &h) == SMPP_OK)
			break;
		f->head++;
		dropped++;
	}
	return dropped;
}
