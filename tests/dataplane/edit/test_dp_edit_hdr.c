/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw header helpers: parsing, seq/ack/SACK rewriting with the incremental
 * checksum update compared against a full recompute (IPv4 and IPv6, odd
 * payload lengths, random values with a fixed seed), payload trimming,
 * templates and segments built for injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_edit.h"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Reference checksum, written independently of the library: build the
 * pseudo header and the segment in one buffer and add 16-bit words. */
static uint16_t ref_tcp_csum(const uint8_t *l3, int v6, const uint8_t *tcp, uint32_t tl)
{
	static uint8_t buf[2048];
	uint32_t n = 0;
	if (v6) {
		memcpy(buf, l3 + 8, 32);
		wr32(buf + 32, tl);
		buf[36] = buf[37] = buf[38] = 0;
		buf[39] = 6;
		n = 40;
	} else {
		memcpy(buf, l3 + 12, 8);
		buf[8] = 0;
		buf[9] = 6;
		wr16(buf + 10, (uint16_t)tl);
		n = 12;
	}
	memcpy(buf + n, tcp, tl);
	buf[n + 16] = buf[n + 17] = 0;
	n += tl;
	if (n & 1)
		buf[n++] = 0;
	uint64_t s = 0;
	for (uint32_t i = 0; i < n; i += 2)
		s += (uint32_t)buf[i] << 8 | buf[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t ref_ipv4_csum(const uint8_t *ip)
{
	uint64_t s = 0;
	for (int i = 0; i < 20; i += 2)
		if (i != 10)
			s += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static const uint8_t MACS[14] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00};

/* Frame: Ethernet, IPv4 or IPv6 (+8-byte hop-by-hop), TCP with NOP NOP TS
 * and NOP NOP SACK(nblk), payload. Returns the frame length; *l3 offset 14. */
static uint32_t mk_frame(uint8_t *f, int v6, uint32_t seq, uint32_t ack, uint32_t nblk,
			 const uint32_t *blk, uint32_t plen, unsigned seed)
{
	memcpy(f, MACS, 14);
	if (v6) {
		f[12] = 0x86;
		f[13] = 0xdd;
	}
	uint8_t *ip = f + 14;
	uint32_t l3 = v6 ? 48 : 20;
	uint32_t optl = 12 + (nblk ? 4 + 8 * nblk : 0);
	uint32_t thl = 20 + optl;
	memset(ip, 0, l3 + thl);
	if (v6) {
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(8 + thl + plen));
		ip[6] = 0; /* hop-by-hop */
		ip[7] = 64;
		for (int i = 0; i < 16; i++) {
			ip[8 + i] = (uint8_t)(0x20 + i);
			ip[24 + i] = (uint8_t)(0x40 + i * 3);
		}
		ip[40] = 6; /* next: TCP */
		ip[41] = 0; /* 8 bytes */
		ip[42] = 1; /* PadN */
		ip[43] = 4;
	} else {
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(l3 + thl + plen));
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = 6;
		wr32(ip + 12, 0xc6120001u);
		wr32(ip + 16, 0xc6120002u);
		wr16(ip + 10, ref_ipv4_csum(ip));
	}
	uint8_t *t = ip + l3;
	wr16(t, 40000);
	wr16(t + 2, 2775);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = 0x18; /* PSH ACK */
	wr16(t + 14, 501);
	uint8_t *o = t + 20;
	o[0] = o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	wr32(o + 4, 0x11223344u + seed);
	wr32(o + 8, 0x55667788u ^ seed);
	if (nblk) {
		o[12] = o[13] = 1;
		o[14] = 5;
		o[15] = (uint8_t)(2 + 8 * nblk);
		for (uint32_t b = 0; b < nblk; b++) {
			wr32(o + 16 + 8 * b, blk[2 * b]);
			wr32(o + 20 + 8 * b, blk[2 * b + 1]);
		}
	}
	srand(seed);
	for (uint32_t i = 0; i < plen; i++)
		t[thl + i] = (uint8_t)rand();
	wr16(t + 16, ref_tcp_csum(ip, v6, t, thl + plen));
	return 14 + l3 + thl + plen;
}

/* ---- parse ---- */

static void test_parse_invalid(void **state)
{
	(void)state;
	uint8_t f[256];
	struct dp_edit_pkt pkt;
	uint32_t n = mk_frame(f, 0, 1, 2, 0, NULL, 10, 1);
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, 19), DP_EDIT_ETRUNC);
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 15), DP_EDIT_ETRUNC);
	assert_int_equal(dp_edit_pkt_parse(&pkt, NULL, 10), DP_EDIT_EINVAL);
	f[14 + 9] = 17; /* UDP */
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_EINVAL);
	f[14 + 9] = 6;
	f[14 + 7] = 8; /* fragment offset 8 */
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_EINVAL);
	f[14 + 7] = 0;
	f[14 + 20 + 12] = 0x40; /* data offset 4 words */
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_ETRUNC);
	f[14 + 20 + 12] = 0xf0; /* 60 bytes: beyond the packet */
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_ETRUNC);
	f[14] = 0x55; /* version 5 */
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_ETRUNC);
	/* IPv6 with a fragment header. */
	n = mk_frame(f, 1, 1, 2, 0, NULL, 10, 1);
	f[14 + 40] = 44;
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_EINVAL);
	/* IPv6 extension header longer than the packet. */
	f[14 + 40] = 6;
	f[14 + 41] = 200;
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_ETRUNC);
}

static void test_parse_valid(void **state)
{
	(void)state;
	uint8_t f[256];
	struct dp_edit_pkt pkt;
	uint32_t blk[2] = {5, 9};
	uint32_t n = mk_frame(f, 0, 1, 2, 1, blk, 37, 1);
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
	assert_int_equal(pkt.ipver, 4);
	assert_int_equal(pkt.l3_len, 20);
	assert_int_equal(pkt.l4_len, 44);
	assert_int_equal(pkt.payload_len, 37);
	assert_true(dp_edit_pkt_csum_ok(&pkt));
	n = mk_frame(f, 1, 1, 2, 1, blk, 37, 1);
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
	assert_int_equal(pkt.ipver, 6);
	assert_int_equal(pkt.l3_len, 48);
	assert_int_equal(pkt.payload_len, 37);
	assert_true(dp_edit_pkt_csum_ok(&pkt));
	f[n - 1] ^= 1;
	assert_false(dp_edit_pkt_csum_ok(&pkt));
}

/* ---- rewrite: incremental == full, SACK mapping, TS and window intact ---- */

static void flow_with_edits(struct dp_edit_flow *f, uint32_t base_e, uint32_t base_s)
{
	dp_edit_flow_init(f);
	/* ESME->SMSC: three removals; SMSC->ESME: three insertions. */
	dp_edit_seqadj_add(&f->h[DP_EDIT_E2S].sa, base_e + 100, 40, 0);
	dp_edit_seqadj_add(&f->h[DP_EDIT_E2S].sa, base_e + 300, 33, 0);
	dp_edit_seqadj_add(&f->h[DP_EDIT_E2S].sa, base_e + 900, 120, 0);
	dp_edit_seqadj_add(&f->h[DP_EDIT_S2E].sa, base_s + 50, 0, 17);
	dp_edit_seqadj_add(&f->h[DP_EDIT_S2E].sa, base_s + 400, 0, 33);
	dp_edit_seqadj_add(&f->h[DP_EDIT_S2E].sa, base_s + 700, 0, 17);
}

static void test_rewrite_checksum(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	struct dp_edit_flow *fl = malloc(sizeof(*fl));
	assert_non_null(fl);
	uint8_t f[512], before[512];
	srand(42);
	unsigned collapsed = 0, mapped = 0;
	for (unsigned it = 0; it < 4000; it++) {
		int v6 = it & 1;
		uint32_t base_e = (uint32_t)rand() * 7919u, base_s = (uint32_t)rand() * 104729u;
		if (it % 5 == 0)
			base_s = 0xffffffffu - (uint32_t)(rand() % 800); /* wraps */
		flow_with_edits(fl, base_e, base_s);
		uint32_t nblk = (uint32_t)(rand() % 4);
		uint32_t blk[6];
		for (uint32_t b = 0; b < nblk; b++) {
			uint32_t l = base_s + (uint32_t)(rand() % 1000);
			uint32_t len = 1 + (uint32_t)(rand() % 60);
			blk[2 * b] = l;
			blk[2 * b + 1] = l + len;
		}
		uint32_t ack = base_s + (uint32_t)(rand() % 1000);
		uint32_t plen = (uint32_t)(rand() % 300);
		uint32_t n = mk_frame(f, v6, base_e + 5, ack, nblk, blk, plen, it);
		memcpy(before, f, n);
		struct dp_edit_pkt pkt;
		assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
		uint32_t out_seq = dp_edit_seqadj_map(&fl->h[DP_EDIT_E2S].sa, base_e + 5);
		assert_int_equal(dp_edit_pkt_rewrite(&ctx, fl, DP_EDIT_E2S, &pkt, out_seq),
				 DP_EDIT_OK);
		uint8_t *t = pkt.l4;
		/* Incremental result equals a full recompute. */
		uint16_t have = (uint16_t)(t[16] << 8 | t[17]);
		uint16_t want = ref_tcp_csum(pkt.l3, v6, t, pkt.l4_len + plen);
		if (have != want && !(have == 0xffff && want == 0) &&
		    !(have == 0 && want == 0xffff))
			fail_msg("iteration %u (v%d): incremental %#x full %#x", it, v6 ? 6 : 4,
				 have, want);
		assert_true(dp_edit_pkt_csum_ok(&pkt));
		/* Fields. */
		const struct dp_edit_seqadj *rs = &fl->h[DP_EDIT_S2E].sa;
		assert_int_equal(rd32(t + 4), out_seq);
		assert_int_equal(rd32(t + 8), dp_edit_seqadj_unmap(rs, ack));
		/* Window, TS option, header length, payload untouched. */
		uint32_t l3 = v6 ? 48 : 20;
		const uint8_t *bt = before + 14 + l3;
		assert_memory_equal(t + 12, bt + 12, 4);
		assert_memory_equal(t + 20, bt + 20, 12);
		assert_memory_equal(t + pkt.l4_len, bt + pkt.l4_len, plen);
		/* SACK blocks: every block that survives is the mapped block,
		 * in order; collapsed ones are gone. */
		uint32_t want_blk[6], nw = 0;
		for (uint32_t b = 0; b < nblk; b++) {
			uint32_t l = dp_edit_seqadj_unmap(rs, blk[2 * b]);
			uint32_t r = dp_edit_seqadj_unmap(rs, blk[2 * b + 1]);
			if ((int32_t)(r - l) > 0) {
				want_blk[2 * nw] = l;
				want_blk[2 * nw + 1] = r;
				nw++;
			} else {
				collapsed++;
			}
		}
		if (nblk) {
			const uint8_t *o = t + 32;
			uint32_t i = 0;
			while (i < 4 + 8 * nblk && o[i] == 1)
				i++;
			if (nw == 0) {
				assert_int_equal(i, 4 + 8 * nblk);
			} else {
				mapped++;
				assert_int_equal(o[i], 5);
				assert_int_equal(o[i + 1], 2 + 8 * nw);
				for (uint32_t b = 0; b < nw; b++) {
					assert_int_equal(rd32(o + i + 2 + 8 * b), want_blk[2 * b]);
					assert_int_equal(rd32(o + i + 6 + 8 * b),
							 want_blk[2 * b + 1]);
				}
			}
		}
	}
	/* Both branches were exercised. */
	assert_true(collapsed > 50);
	assert_true(mapped > 500);
	free(fl);
}

static void test_set_seq_ack(void **state)
{
	(void)state;
	uint8_t f[256];
	srand(3);
	for (unsigned it = 0; it < 2000; it++) {
		int v6 = (int)(it % 2);
		uint32_t n = mk_frame(f, v6, (uint32_t)rand(), (uint32_t)rand(), 0, NULL,
				      (uint32_t)(rand() % 64), it);
		struct dp_edit_pkt pkt;
		assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
		dp_edit_tcp_set_seq_ack(pkt.l4, (uint32_t)rand() * 3u, it == 7 ? 0 : 0xffffffffu);
		assert_true(dp_edit_pkt_csum_ok(&pkt));
	}
}

/* Malformed options: seq/ack still rewritten, options untouched, checksum
 * still right. */
static void test_rewrite_bad_options(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	struct dp_edit_flow fl;
	flow_with_edits(&fl, 1000, 5000);
	uint8_t f[256];
	uint32_t blk[2] = {5100, 5200};
	uint32_t n = mk_frame(f, 0, 1005, 5500, 1, blk, 20, 9);
	struct dp_edit_pkt pkt;
	assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
	pkt.l4[20 + 15] = 40; /* SACK length past the header */
	pkt.l4[16] = 0;
	pkt.l4[17] = 0;
	dp_edit_pkt_csum_full(&pkt);
	assert_int_equal(dp_edit_pkt_rewrite(&ctx, &fl, DP_EDIT_E2S, &pkt, 999), DP_EDIT_ETRUNC);
	assert_int_equal(pkt.l4[20 + 15], 40);
	assert_int_equal(rd32(pkt.l4 + 4), 999);
	assert_true(dp_edit_pkt_csum_ok(&pkt));
}

/* ---- trimming ---- */

static void test_trim_payload(void **state)
{
	(void)state;
	uint8_t f[512];
	for (int v6 = 0; v6 < 2; v6++) {
		for (uint32_t keep = 0; keep <= 61; keep += 3) {
			uint32_t n = mk_frame(f, v6, 77, 88, 0, NULL, 61, keep);
			struct dp_edit_pkt pkt;
			assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
			dp_edit_pkt_set_payload_len(&pkt, keep);
			dp_edit_pkt_csum_full(&pkt);
			struct dp_edit_pkt again;
			uint32_t len = 14 + pkt.l3_len + pkt.l4_len + keep;
			assert_int_equal(dp_edit_pkt_parse(&again, f + 14, len - 14), DP_EDIT_OK);
			assert_int_equal(again.payload_len, keep);
			assert_true(dp_edit_pkt_csum_ok(&again));
			if (!v6)
				assert_int_equal((f[14 + 10] << 8 | f[14 + 11]),
						 ref_ipv4_csum(f + 14));
		}
	}
}

/* ---- emitting a range as its own frame ---- */

static void test_emit(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	struct dp_edit_flow fl;
	flow_with_edits(&fl, 1000, 5000);
	uint8_t f[512], g[512], out[512];
	uint32_t blk[4] = {5100, 5200, 5420, 5500};
	for (int v6 = 0; v6 < 2; v6++) {
		uint32_t n = mk_frame(f, v6, 1200, 5450, 2, blk, 61, 11);
		uint32_t l3 = v6 ? 48 : 20;
		f[14 + l3 + 13] |= DP_EDIT_TCP_FIN;
		/* Re-checksum after setting FIN. */
		struct dp_edit_pkt pkt;
		assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
		dp_edit_pkt_csum_full(&pkt);
		memcpy(g, f, n);
		/* The whole segment: same bytes as rewriting in place. */
		int len = dp_edit_emit(&ctx, &fl, DP_EDIT_E2S, f, &pkt, 1160, pkt.l4 + pkt.l4_len,
				       61, DP_EDIT_TCP_FIN, out, sizeof(out));
		assert_int_equal(len, (int)n);
		struct dp_edit_pkt in_place;
		assert_int_equal(dp_edit_pkt_parse(&in_place, g + 14, n - 14), DP_EDIT_OK);
		assert_int_equal(dp_edit_pkt_rewrite(&ctx, &fl, DP_EDIT_E2S, &in_place, 1160),
				 DP_EDIT_OK);
		assert_memory_equal(out, g, n);
		/* A middle part: 20 bytes from offset 10, FIN cleared. */
		len = dp_edit_emit(&ctx, &fl, DP_EDIT_E2S, f, &pkt, 1170, pkt.l4 + pkt.l4_len + 10,
				   20, 0, out, sizeof(out));
		assert_int_equal(len, (int)(n - 41));
		struct dp_edit_pkt b;
		assert_int_equal(dp_edit_pkt_parse(&b, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
		assert_int_equal(b.payload_len, 20);
		assert_true(dp_edit_pkt_csum_ok(&b));
		assert_int_equal(b.l4[13] & DP_EDIT_TCP_FIN, 0);
		assert_int_equal(rd32(b.l4 + 4), 1170);
		assert_int_equal(rd32(b.l4 + 8), dp_edit_seqadj_unmap(&fl.h[DP_EDIT_S2E].sa, 5450));
		assert_memory_equal(b.l4 + b.l4_len, pkt.l4 + pkt.l4_len + 10, 20);
		if (!v6)
			assert_int_equal((out[14 + 10] << 8 | out[14 + 11]),
					 ref_ipv4_csum(out + 14));
		/* Header only. */
		len = dp_edit_emit(&ctx, &fl, DP_EDIT_E2S, f, &pkt, 1180, NULL, 0, 0, out,
				   sizeof(out));
		assert_int_equal(dp_edit_pkt_parse(&b, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
		assert_int_equal(b.payload_len, 0);
		assert_true(dp_edit_pkt_csum_ok(&b));
		assert_int_equal(dp_edit_emit(&ctx, &fl, DP_EDIT_E2S, f, &pkt, 1, NULL, 0, 0, out,
					      (uint32_t)len - 1),
				 DP_EDIT_EFULL);
		assert_int_equal(
		    dp_edit_emit(&ctx, &fl, DP_EDIT_E2S, f, &pkt, 1, NULL, 5, 0, out, sizeof(out)),
		    DP_EDIT_EINVAL);
	}
}

/* ---- templates and built segments ---- */

static void test_build_from_template(void **state)
{
	(void)state;
	struct dp_edit_flow fl;
	dp_edit_flow_init(&fl);
	uint8_t f[512], out[512];
	static const uint8_t payload[17] = {0, 0, 0,	0x11, 0x80, 0, 0, 4, 0,
					    0, 0, 0x45, 0,    0,    0, 7, 0};
	for (int v6 = 0; v6 < 2; v6++) {
		dp_edit_flow_init(&fl);
		assert_int_equal(
		    dp_edit_build_seg(&fl, DP_EDIT_S2E, 1, 2, 0x18, NULL, 0, out, sizeof(out)),
		    DP_EDIT_ESTATE);
		uint32_t blk[2] = {1, 2};
		/* An SMSC->ESME segment is the template for injected ones. */
		uint32_t n = mk_frame(f, v6, 1000, 2000, 1, blk, 30, 5);
		struct dp_edit_pkt pkt;
		assert_int_equal(dp_edit_pkt_parse(&pkt, f + 14, n - 14), DP_EDIT_OK);
		assert_int_equal(dp_edit_tmpl_save(&fl, DP_EDIT_S2E, f, &pkt), DP_EDIT_OK);
		int len = dp_edit_build_seg(&fl, DP_EDIT_S2E, 0xfffffff0u, 0x12345678u, 0x18,
					    payload, 17, out, sizeof(out));
		assert_true(len > 0);
		assert_int_equal(dp_edit_build_seg(&fl, DP_EDIT_S2E, 1, 2, 0x18, payload, 17, out,
						   (uint32_t)len - 1),
				 DP_EDIT_EFULL);
		struct dp_edit_pkt b;
		assert_int_equal(dp_edit_pkt_parse(&b, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
		assert_int_equal(b.l3_len, v6 ? 40 : 20); /* ext header dropped */
		assert_int_equal(b.l4_len, 32);		  /* NOP NOP TS only */
		assert_int_equal(b.payload_len, 17);
		assert_true(dp_edit_pkt_csum_ok(&b));
		assert_memory_equal(out, f, 14);
		assert_int_equal(rd32(b.l4 + 4), 0xfffffff0u);
		assert_int_equal(rd32(b.l4 + 8), 0x12345678u);
		assert_int_equal(b.l4[13], 0x18);
		assert_memory_equal(b.l4, pkt.l4, 4);		 /* ports */
		assert_memory_equal(b.l4 + 22, pkt.l4 + 22, 10); /* TS option */
		assert_memory_equal(b.l4 + b.l4_len, payload, 17);
		if (!v6)
			assert_int_equal((out[14 + 10] << 8 | out[14 + 11]),
					 ref_ipv4_csum(out + 14));
		/* Only the ESME->SMSC template known: the segment toward the ESME
		 * is built from it with both ends swapped. */
		struct dp_edit_flow g;
		dp_edit_flow_init(&g);
		assert_int_equal(dp_edit_tmpl_save(&g, DP_EDIT_E2S, f, &pkt), DP_EDIT_OK);
		len = dp_edit_build_seg(&g, DP_EDIT_S2E, 5, 6, 0x10, NULL, 0, out, sizeof(out));
		assert_true(len > 0);
		assert_int_equal(dp_edit_pkt_parse(&b, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
		assert_true(dp_edit_pkt_csum_ok(&b));
		assert_memory_equal(out, f + 6, 6);
		assert_memory_equal(out + 6, f, 6);
		assert_memory_equal(b.l4, pkt.l4 + 2, 2);
		assert_memory_equal(b.l4 + 2, pkt.l4, 2);
		uint32_t ao = v6 ? 8 : 12, al = v6 ? 16 : 4;
		assert_memory_equal(b.l3 + ao, pkt.l3 + ao + al, al);
		assert_memory_equal(b.l3 + ao + al, pkt.l3 + ao, al);
		assert_memory_equal(b.l4 + 24, pkt.l4 + 28, 4); /* TSval <- TSecr */
		assert_memory_equal(b.l4 + 28, pkt.l4 + 24, 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_rewrite_checksum),
	    cmocka_unit_test(test_set_seq_ack),
	    cmocka_unit_test(test_rewrite_bad_options),
	    cmocka_unit_test(test_trim_payload),
	    cmocka_unit_test(test_emit),
	    cmocka_unit_test(test_build_from_template),
	};
	return cmocka_run_group_tests_name("dp_edit_hdr", tests, NULL, NULL);
}
