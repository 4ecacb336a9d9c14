/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frames end to end, as the dataplane uses the library: a segment from the
 * ESME carrying submit_sm PDUs (pass, block, pass) becomes two frames toward
 * the SMSC with contiguous sequence numbers and valid checksums; the SMSC's
 * ACK frame reaches the ESME covering every byte it sent; the injected
 * submit_sm_resp frame toward the ESME comes from the SMSC's template with
 * the right seq/ack; the SMSC's next frame is shifted past it; the ESME's ACK
 * reaches the SMSC shifted back. IPv4 and IPv6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

/* An Ethernet/IP/TCP frame with NOP NOP TS and `plen` payload bytes. */
static uint32_t frame(uint8_t *f, int v6, int from_esme, uint32_t seq, uint32_t ack, uint32_t tsval,
		      const uint8_t *payload, uint32_t plen)
{
	memset(f, 0, 14 + 40 + 32);
	for (int i = 0; i < 6; i++) {
		f[i] = (uint8_t)(from_esme ? 0xb0 + i : 0xa0 + i);
		f[6 + i] = (uint8_t)(from_esme ? 0xa0 + i : 0xb0 + i);
	}
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	uint8_t *ip = f + 14;
	uint32_t l3 = v6 ? 40 : 20;
	uint8_t a = from_esme ? 1 : 2, b = from_esme ? 2 : 1;
	if (v6) {
		ip[0] = 0x60;
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0x20, ip[9] = 0x01, ip[23] = a;
		ip[24] = 0x20, ip[25] = 0x01, ip[39] = b;
	} else {
		ip[0] = 0x45;
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 198, ip[13] = 18, ip[15] = a;
		ip[16] = 198, ip[17] = 18, ip[19] = b;
	}
	uint8_t *t = ip + l3;
	t[0] = from_esme ? 0x9c : 0x0a, t[1] = from_esme ? 0x40 : 0xd7;
	t[2] = from_esme ? 0x0a : 0x9c, t[3] = from_esme ? 0xd7 : 0x40;
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = 0x80;
	t[13] = DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH;
	t[14] = 0x01;
	t[20] = t[21] = 1;
	t[22] = 8;
	t[23] = 10;
	wr32(t + 24, tsval);
	wr32(t + 28, tsval ^ 0x5a5a);
	if (plen != 0)
		memcpy(t + 32, payload, plen);
	struct dp_edit_pkt pkt;
	uint32_t n = l3 + 32 + plen;
	if (v6) {
		ip[4] = (uint8_t)((n - 40) >> 8);
		ip[5] = (uint8_t)(n - 40);
	} else {
		ip[2] = (uint8_t)(n >> 8);
		ip[3] = (uint8_t)n;
	}
	assert_int_equal(dp_edit_pkt_parse(&pkt, ip, n), DP_EDIT_OK);
	dp_edit_pkt_set_payload_len(&pkt, plen);
	dp_edit_pkt_csum_full(&pkt);
	return 14 + n;
}

/* submit_sm-shaped PDUs: command_length, submit_sm id, status 0, seq no. */
static void pdu(uint8_t *p, uint32_t len, uint32_t seqno)
{
	memset(p, 0x41 + (int)seqno, len);
	wr32(p, len);
	wr32(p + 4, 4);
	wr32(p + 8, 0);
	wr32(p + 12, seqno);
}

static void run(int v6)
{
	struct dp_edit_ctx ctx;
	struct dp_edit_flow fl;
	dp_edit_ctx_init(&ctx, NULL);
	dp_edit_flow_init(&fl);
	const uint32_t E0 = 0xffffff00u, S0 = 0x7fffff00u;
	dp_edit_dir_start(&fl, DP_EDIT_E2S, E0);
	dp_edit_dir_start(&fl, DP_EDIT_S2E, S0);
	uint8_t in[512], out[512], pl[400];
	struct dp_edit_pkt pkt, o;
	struct dp_edit_out res;

	/* The SMSC's bind_resp-sized PDU (30 bytes) first: template saved. */
	uint8_t sp[30];
	pdu(sp, 30, 1);
	uint32_t n = frame(in, v6, 0, S0, E0, 1000, sp, 30);
	assert_int_equal(dp_edit_pkt_parse(&pkt, in + 14, n - 14), DP_EDIT_OK);
	struct dp_edit_seg sg = {S0, E0, 30, DP_EDIT_TCP_ACK};
	struct dp_edit_pdu sd = {S0, 30, 30, DP_EDIT_PDU_PASS};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_S2E, &sg, &sd, 1, 0, &res), 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(dp_edit_tmpl_save(&fl, DP_EDIT_S2E, in, &pkt), DP_EDIT_OK);

	/* ESME: pass (100), block (120, seqno 7), pass (80) in one segment. */
	pdu(pl, 100, 6);
	pdu(pl + 100, 120, 7);
	pdu(pl + 220, 80, 8);
	n = frame(in, v6, 1, E0, S0 + 30, 5000, pl, 300);
	assert_int_equal(dp_edit_pkt_parse(&pkt, in + 14, n - 14), DP_EDIT_OK);
	static const uint8_t resp[17] = {0, 0, 0, 17, 0x80, 0, 0, 4, 0, 0, 0, 0x45, 0, 0, 0, 7, 0};
	assert_int_equal(dp_edit_inject(&ctx, &fl, resp, 17, 0), DP_EDIT_OK);
	struct dp_edit_seg eg = {E0, S0 + 30, 300, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH};
	struct dp_edit_pdu ed[3] = {{E0, 100, 100, DP_EDIT_PDU_PASS},
				    {E0 + 100, 120, 120, DP_EDIT_PDU_BLOCK},
				    {E0 + 220, 80, 80, DP_EDIT_PDU_PASS}};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_E2S, &eg, ed, 3, 0, &res), 0);
	assert_int_equal(res.n, 2);
	assert_int_equal(res.removed, 120);
	uint32_t next = E0;
	for (uint32_t r = 0; r < res.n; r++) {
		const struct dp_edit_range *g = &res.r[r];
		assert_int_equal(g->src, DP_EDIT_SRC_SEG);
		int len =
		    dp_edit_emit(&ctx, &fl, DP_EDIT_E2S, in, &pkt, g->out_seq,
				 pkt.l4 + pkt.l4_len + (g->seq - E0), g->len, 0, out, sizeof(out));
		assert_true(len > 0);
		assert_int_equal(dp_edit_pkt_parse(&o, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
		assert_true(dp_edit_pkt_csum_ok(&o));
		/* The SMSC sees contiguous bytes: 100 then 80, no blocked text. */
		assert_int_equal(rd32(o.l4 + 4), next);
		assert_int_equal(rd32(o.l4 + 8), S0 + 30);
		assert_int_equal(rd32(o.l4 + o.l4_len + 12), r == 0 ? 6 : 8);
		assert_memory_equal(o.l4 + 20, pkt.l4 + 20, 12); /* TS untouched */
		next += g->len;
	}
	assert_int_equal(next, E0 + 180);

	/* The injected response: from the SMSC's template, after its 30 bytes,
	 * acknowledging what the SMSC acknowledged (nothing of this yet). */
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&ctx, &fl, 0, &tx), DP_EDIT_OK);
	assert_int_equal(tx.seq, S0 + 30);
	int len =
	    dp_edit_build_seg(&fl, DP_EDIT_S2E, tx.seq, tx.ack_valid ? tx.ack : E0,
			      DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, tx.data, tx.len, out, sizeof(out));
	assert_true(len > 0);
	assert_int_equal(dp_edit_pkt_parse(&o, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
	assert_true(dp_edit_pkt_csum_ok(&o));
	assert_int_equal(out[0], 0xa0);		 /* toward the ESME's MAC */
	assert_int_equal(rd32(o.l4 + 24), 1000); /* the SMSC's TSval */
	assert_memory_equal(o.l4 + o.l4_len, resp, 17);

	/* The SMSC acknowledges all 180 bytes with its next PDU (40 bytes):
	 * toward the ESME its seq moves past the response and its ack covers
	 * all 300 bytes the ESME sent. */
	uint8_t sp2[40];
	pdu(sp2, 40, 2);
	n = frame(in, v6, 0, S0 + 30, E0 + 180, 1001, sp2, 40);
	assert_int_equal(dp_edit_pkt_parse(&pkt, in + 14, n - 14), DP_EDIT_OK);
	struct dp_edit_seg sg2 = {S0 + 30, E0 + 180, 40, DP_EDIT_TCP_ACK};
	struct dp_edit_pdu sd2 = {S0 + 30, 40, 40, DP_EDIT_PDU_PASS};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_S2E, &sg2, &sd2, 1, 0, &res), 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.r[0].out_seq, S0 + 47);
	assert_int_equal(dp_edit_pkt_rewrite(&ctx, &fl, DP_EDIT_S2E, &pkt, res.r[0].out_seq),
			 DP_EDIT_OK);
	assert_true(dp_edit_pkt_csum_ok(&pkt));
	assert_int_equal(rd32(pkt.l4 + 4), S0 + 47);
	assert_int_equal(rd32(pkt.l4 + 8), E0 + 300);
	assert_int_equal(dp_edit_tmpl_save(&fl, DP_EDIT_S2E, in, &pkt), DP_EDIT_OK);

	/* The ESME acknowledges everything (30 + 17 + 40 = 87 bytes in its
	 * space): the SMSC sees 70, all of its own bytes. */
	n = frame(in, v6, 1, E0 + 300, S0 + 87, 5001, NULL, 0);
	assert_int_equal(dp_edit_pkt_parse(&pkt, in + 14, n - 14), DP_EDIT_OK);
	struct dp_edit_seg ea = {E0 + 300, S0 + 87, 0, DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_E2S, &ea, NULL, 0, 0, &res), 0);
	assert_int_equal(res.action, DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_HDR_ONLY);
	assert_int_equal(dp_edit_pkt_rewrite(&ctx, &fl, DP_EDIT_E2S, &pkt, res.hdr_seq), 0);
	assert_true(dp_edit_pkt_csum_ok(&pkt));
	assert_int_equal(rd32(pkt.l4 + 4), E0 + 180);
	assert_int_equal(rd32(pkt.l4 + 8), S0 + 70);
	assert_int_equal(dp_edit_inj_outstanding(&fl), 0);
	assert_int_equal(dp_edit_tx_next(&ctx, &fl, 1000000000ull, &tx), DP_EDIT_AGAIN);
}

static void test_frames_ipv4(void **state)
{
	(void)state;
	run(0);
}

static void test_frames_ipv6(void **state)
{
	(void)state;
	run(1);
}

/* After the ESME's FIN went out, its ACK of the SMSC's FIN carries FIN + 1:
 * forwarded at FIN + 1 (mapped), never at the FIN's own number, which the
 * SMSC would take for an old segment (it then resends its FIN forever). */
static void test_ack_after_fin(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	struct dp_edit_flow fl;
	struct dp_edit_out res;
	dp_edit_ctx_init(&ctx, NULL);
	dp_edit_flow_init(&fl);
	const uint32_t E0 = 0xfffffff0u, S0 = 5000;
	dp_edit_dir_start(&fl, DP_EDIT_E2S, E0);
	dp_edit_dir_start(&fl, DP_EDIT_S2E, S0);
	/* 48 bytes: pass (16), block (16), pass (16). */
	struct dp_edit_pdu ed[3] = {{E0, 16, 16, DP_EDIT_PDU_PASS},
				    {E0 + 16, 16, 16, DP_EDIT_PDU_BLOCK},
				    {E0 + 32, 16, 16, DP_EDIT_PDU_PASS}};
	struct dp_edit_seg eg = {E0, S0, 48, DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_E2S, &eg, ed, 3, 0, &res), 0);
	/* The ESME's FIN at E0 + 48 goes out at E0 + 32 (16 bytes removed). */
	struct dp_edit_seg fin = {E0 + 48, S0, 0, DP_EDIT_TCP_ACK | DP_EDIT_TCP_FIN};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_E2S, &fin, NULL, 0, 0, &res), 0);
	assert_true(res.action & DP_EDIT_ACT_FIN);
	assert_int_equal(res.hdr_seq, E0 + 32);
	/* The SMSC's FIN, then the ESME's ACK of it at E0 + 49. */
	struct dp_edit_seg sfin = {S0, E0 + 33, 0, DP_EDIT_TCP_ACK | DP_EDIT_TCP_FIN};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_S2E, &sfin, NULL, 0, 0, &res), 0);
	assert_true(res.action & DP_EDIT_ACT_FIN);
	struct dp_edit_seg ack = {E0 + 49, S0 + 1, 0, DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&ctx, &fl, DP_EDIT_E2S, &ack, NULL, 0, 0, &res), 0);
	assert_true(res.action & DP_EDIT_ACT_FORWARD);
	assert_int_equal(res.hdr_seq, E0 + 33);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_ipv4),
	    cmocka_unit_test(test_frames_ipv6),
	    cmocka_unit_test(test_ack_after_fin),
	};
	return cmocka_run_group_tests_name("dp_edit_frames", tests, NULL, NULL);
}
