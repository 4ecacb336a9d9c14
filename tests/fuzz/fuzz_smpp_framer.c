/*
 * fuzz_smpp_framer.c — libFuzzer target for the stream framer. The first
 * octet picks the segmentation and the buffer bound; the rest is the stream.
 * Oracle: the framer yields exactly the PDUs a straight cut of the whole
 * stream with smpp_hdr_peek yields, until the first error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpp_framer f;
	struct smpp_view v;
	size_t chunk, cap, off = 0, cut = 0;
	uint8_t *s, *buf;
	bool stopped = false;

	if (size < 1)
		return 0;
	chunk = 1 + (data[0] & 0x0f) * 7;
	cap = 16 + (size_t)(data[0] >> 4) * 64;
	s = malloc(size - 1 ? size - 1 : 1);
	memcpy(s, data + 1, size - 1);
	size--;
	buf = malloc(cap);
	if (smpp_framer_init(&f, buf, cap, 0) != SMPP_OK)
		abort();
	while (off < size && !stopped) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t k = smpp_framer_push(&f, s + off, n);
		int rc;

		off += k;
		while ((rc = smpp_framer_pop(&f, &v)) == SMPP_OK) {
			struct smpp_hdr h;
			struct smpp_pdu pdu;

			/* the same PDU a straight cut finds at `cut` */
			if (smpp_hdr_peek(s + cut, size - cut, (uint32_t)cap, &h) != SMPP_OK ||
			    h.command_length != v.len || memcmp(s + cut, v.p, v.len) != 0)
				abort();
			cut += v.len;
			smpp_pdu_decode(v.p, v.len, NULL, &pdu);
		}
		if (rc != SMPP_AGAIN)
			stopped = true;   /* a header the straight cut refuses too */
		else if (k == 0)
			abort();          /* full buffer without a complete PDU */
	}
	if (stopped) {
		struct smpp_hdr h;
		int rc = smpp_hdr_peek(s + cut, size - cut, UINT32_MAX, &h);

		if (rc == SMPP_OK && h.command_length <= f.bound)
			abort();
		smpp_framer_resync(&f);
		while (smpp_framer_pop(&f, &v) == SMPP_OK)
			;
	}
	free(buf);
	free(s);
	return 0;
}
