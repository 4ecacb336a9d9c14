/* libFuzzer target: random segment sequences into the stream layer (and
 * the input as a frame into the frame parser).
 *
 * Input: a byte stream B (the first half of the input) and a script (the
 * second half) of segment operations over it: each op takes an offset and a
 * length in B and an opcode — in order, ahead (out of order), retransmit,
 * overlap with altered bytes. The stream layer must never read or write out
 * of bounds, must deliver PDUs whose length equals their command_length (or
 * 16 when truncated), in increasing sequence order, and must return every
 * chunk to the pool when the flow is released. Then segmentation
 * invariance: B fed in order as one segment and B fed in order in pieces cut
 * where the script says must give the same PDUs (sequence, length, bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <unistd.h>

#include "dp.h"
#include "pat.h"
#include "../dataplane/dp_testkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXREC 512

struct check {
	uint32_t last_seq;
	int have_last;
	uint32_t n;
	uint32_t rec_seq[MAXREC], rec_len[MAXREC], rec_sum[MAXREC];
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
	uint32_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = sum * 31 + pdu[i]; /* touch every byte: ASan checks the bounds */
	if (c->n < MAXREC) {
		c->rec_seq[c->n] = seq;
		c->rec_len[c->n] = len;
		c->rec_sum[c->n] = sum;
	}
	if (c->have_last && (int32_t)(seq - c->last_seq) <= 0)
		abort(); /* stream order */
	c->last_seq = seq;
	c->have_last = 1;
	c->n++;
}

static void flow_init(struct dp_flow *f)
{
	memset(f, 0, sizeof(*f));
	for (int d = 0; d < 2; d++) {
		f->dir[d].buf = DP_STREAM_NOBUF;
		for (int i = 0; i < DP_OOO_MAX; i++)
			f->dir[d].ooo[i] = DP_STREAM_NOBUF;
	}
}

/* Feed b in order, cut at the given points; record the PDUs in *chk. */
static void feed_in_order(struct dp_stream_ctx *ctx, const uint8_t *b, size_t blen,
			  const uint32_t *cuts, unsigned n_cuts, uint32_t isn, struct check *chk)
{
	struct dp_flow f;
	flow_init(&f);
	memset(chk, 0, sizeof(*chk));
	ctx->arg = chk;
	dp_stream_syn(&f, DP_DIR_LO, isn - 1);
	uint32_t prev = 0;
	for (unsigned i = 0; i <= n_cuts; i++) {
		uint32_t end = i < n_cuts ? cuts[i] : (uint32_t)blen;
		if (end < prev)
			end = prev;
		dp_stream_segment(ctx, &f, DP_DIR_LO, isn + prev, b + prev, end - prev);
		prev = end;
	}
	dp_stream_release(ctx, &f);
}

/* The whole input as one frame: the parser must stay inside it and report
 * a payload inside it. */
static void fuzz_frame(const uint8_t *data, size_t size)
{
	uint8_t *fb = malloc(size ? size : 1);
	memcpy(fb, data, size);
	struct dp_frame fr;
	enum dp_frame_kind k = dp_frame_parse(fb, (uint32_t)size, &fr);
	if (k == DP_FRAME_TCP) {
		if (fr.payload < fb || fr.payload + fr.payload_len > fb + size)
			abort();
		struct dp_flow_key key;
		dp_flow_key_make(&fr, &key);
		volatile uint8_t x = 0;
		for (uint32_t i = 0; i < fr.payload_len; i++)
			x ^= fr.payload[i];
		(void)x;
	}
	free(fb);
}

/* ------------------------------------------------------------------
 * The stream's PDUs through a whole engine (session, SMPP decode, text,
 * verdict pipeline with a small ruleset), both directions, in segments. */

static struct dp_engine *eng;
static struct dp_settings eset;
static struct dp_rules erules;
static struct dp_snapshot esnap;

/* Inline mode: every frame the engine builds must be a well-formed TCP
 * segment with a valid checksum. */
static void tx_check(void *arg, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len)
{
	(void)arg;
	(void)pair;
	(void)to_smsc;
	static uint8_t copy[2048];
	if (len < 14 || len > sizeof(copy))
		abort();
	memcpy(copy, fr, len);
	struct dp_edit_pkt pkt;
	if (dp_edit_pkt_parse(&pkt, copy + 14, len - 14) != DP_EDIT_OK || !dp_edit_pkt_csum_ok(&pkt))
		abort();
}

static void engine_init(void)
{
	if (dp_tk_eal_init("fuzz_dp_stream", "fzdp", "128") < 0)
		abort();
	dp_tk_settings(&eset);
	eset.pdu_max = 1024;
	eset.bulk_recipients = 3;
	eset.velocity_max = 3;
	eset.default_customer.rate_per_s = 50;
	eset.edit_flows = 8;
	eng = dp_engine_create(0, &eset, 0);
	if (eng != NULL)
		dp_engine_set_tx(eng, tx_check, NULL);
	static const char rules[] =
		"rule id=1 cat=spam target=norm action=block pat=/free/ desc=\"f\"\n"
		"rule id=2 cat=fraud target=text action=block pat=/http/ desc=\"u\"\n"
		"rule id=3 cat=spoofing target=sender action=block pat=/^bank$/i desc=\"s\"\n";
	struct pat_ruleset *rs;
	struct pat_error err;
	if (eng == NULL || dp_tk_rules_load(&erules, &rs, 0, eset.concat_max, "f.rules", rules,
					    sizeof(rules) - 1, &err) != PAT_OK)
		abort();
	esnap.generation = 1;
	esnap.rules = &erules;
	dp_engine_set_snapshot(eng, &esnap);
}

static uint32_t mk_frame(uint8_t *f, bool from_esme, uint32_t seq, uint8_t flags, const uint8_t *pl,
			 uint32_t n)
{
	static const uint8_t hdr[34] = {
		2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
	};
	memcpy(f, hdr, sizeof(hdr));
	if (!from_esme) {
		f[29] = 2;
		f[33] = 1;
	}
	uint32_t tot = 20 + 20 + n;
	f[16] = (uint8_t)(tot >> 8);
	f[17] = (uint8_t)tot;
	uint8_t *t = f + 34;
	memset(t, 0, 20);
	uint16_t sp = from_esme ? 40000 : 2775, dp = from_esme ? 2775 : 40000;
	t[0] = (uint8_t)(sp >> 8); t[1] = (uint8_t)sp; t[2] = (uint8_t)(dp >> 8); t[3] = (uint8_t)dp;
	t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16); t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
	t[12] = 0x50;
	t[13] = flags;
	if (n != 0)
		memcpy(t + 20, pl, n);
	return 54 + n;
}

static void fuzz_engine(const uint8_t *b, size_t blen, const uint8_t *script, size_t slen)
{
	if (eng == NULL)
		engine_init();
	static uint8_t frame[2048];
	static uint64_t now = 1000;
	now += 1000;
	dp_engine_set_time(eng, now);
	/* Inline (editing) or monitor, by the input's length. */
	dp_engine_set_monitor(eng, (blen & 1) != 0);
	/* A new connection on the same 5-tuple each time (SYN resets it). */
	uint32_t cseq = 1000 + (uint32_t)now, sseq = 9000;
	dp_engine_frame(eng, frame, mk_frame(frame, true, cseq - 1, DP_TCP_SYN, NULL, 0));
	dp_engine_frame(eng, frame, mk_frame(frame, false, sseq - 1, DP_TCP_SYN | DP_TCP_ACK, NULL, 0));
	/* The script's first byte splits B between the two directions. */
	size_t split = slen ? (size_t)script[0] * blen / 255 : blen;
	size_t off[2] = { 0, split }, end[2] = { split, blen };
	uint32_t seq[2] = { cseq, sseq };
	for (size_t i = 1; i < slen; i++) {
		int d = script[i] & 1;
		uint32_t n = (uint32_t)(script[i] >> 1) * 8 + 1;
		if (off[d] >= end[d])
			continue;
		if (n > end[d] - off[d])
			n = (uint32_t)(end[d] - off[d]);
		if (n > 1400)
			n = 1400;
		dp_engine_frame(eng, frame, mk_frame(frame, d == 0, seq[d], DP_TCP_ACK, b + off[d], n));
		off[d] += n;
		seq[d] += n;
	}
	dp_engine_frame(eng, frame, mk_frame(frame, true, seq[0], DP_TCP_RST, NULL, 0));
	dp_engine_expire(eng, 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frame(data, size);
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
	flow_init(&f);
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

	/* Segmentation invariance (in order, enough memory for any PDU). */
	static struct check whole, pieces;
	struct dp_stream_stats st_whole;
	memset(&st_whole, 0, sizeof(st_whole));
	ctx.st = &st_whole;
	uint32_t cuts[64];
	unsigned n_cuts = 0;
	for (size_t i = 3; i + 4 <= slen && n_cuts < 64; i += 4) {
		uint32_t c = ((uint32_t)script[i] << 8 | script[i + 1]) % (uint32_t)(blen + 1);
		if (n_cuts == 0 || c >= cuts[n_cuts - 1])
			cuts[n_cuts++] = c;
	}
	feed_in_order(&ctx, b, blen, NULL, 0, isn, &whole);
	if (pool.in_use != 0)
		abort();
	struct dp_stream_stats st_pieces;
	memset(&st_pieces, 0, sizeof(st_pieces));
	ctx.st = &st_pieces;
	feed_in_order(&ctx, b, blen, cuts, n_cuts, isn, &pieces);
	if (pool.in_use != 0)
		abort();
	/* A well-formed stream (no junk to resynchronise over, no TLS) must
	 * give the same PDUs however it is cut. Resynchronisation depends on
	 * what one segment shows, so junk is excluded. */
	if (st_whole.desync == 0 && st_whole.resync == 0 && st_whole.tls == 0 &&
	    st_whole.nomem == 0 && st_pieces.nomem == 0) {
		if (whole.n != pieces.n)
			abort();
		for (uint32_t i = 0; i < whole.n && i < MAXREC; i++)
			if (whole.rec_seq[i] != pieces.rec_seq[i] || whole.rec_len[i] != pieces.rec_len[i] ||
			    whole.rec_sum[i] != pieces.rec_sum[i])
				abort();
	}
	free(mem);
	fuzz_engine(b, blen, script, slen);
	free(script);
	free(b);
	return 0;
}
