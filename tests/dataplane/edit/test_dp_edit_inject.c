/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Injected responses: placement at SMPP PDU boundaries of the SMSC->ESME
 * stream, the shift of later SMSC bytes and of the ESME's ACKs, resend on a
 * timer with backoff (fake clock) and on duplicate ACKs, the ACK they carry
 * for blocked bytes, FIN/RST with injected bytes outstanding, and bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_edit.h"

#define MS 1000000ull
#define P  DP_EDIT_PDU_PASS
#define B  DP_EDIT_PDU_BLOCK

static const uint32_t ESME0 = 0xfffffe00u; /* ESME stream crosses 2^32 */
static const uint32_t SMSC0 = 0xffffffd0u;

struct fx {
	struct dp_edit_ctx ctx;
	struct dp_edit_flow f;
	uint64_t now;
};

static struct fx X;

/* submit_sm_resp, sequence_number 7, ESME_RSUBMITFAIL (0x45), empty message_id */
static const uint8_t resp[17] = {0x00, 0x00, 0x00, 0x11, 0x80, 0x00, 0x00, 0x04, 0x00,
				 0x00, 0x00, 0x45, 0x00, 0x00, 0x00, 0x07, 0x00};

static int setup(void **state)
{
	(void)state;
	dp_edit_ctx_init(&X.ctx, NULL);
	dp_edit_flow_init(&X.f);
	X.now = 1000 * MS;
	dp_edit_dir_start(&X.f, DP_EDIT_E2S, ESME0);
	dp_edit_dir_start(&X.f, DP_EDIT_S2E, SMSC0);
	return 0;
}

/* The SMSC sends complete PASS PDUs [off, off+len) (offsets from SMSC0);
 * `avail` < len marks the last one incomplete (forwarded as it comes). */
static struct dp_edit_out smsc_data(uint32_t off, uint32_t len, uint32_t pdu_off, uint32_t pdu_len,
				    uint32_t avail, uint32_t esme_ack)
{
	struct dp_edit_pdu p = {SMSC0 + pdu_off, pdu_len, avail, P};
	struct dp_edit_seg s = {
	    .seq = SMSC0 + off, .ack = esme_ack, .len = len, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out out;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &s, &p, 1, X.now, &out),
			 DP_EDIT_OK);
	return out;
}

/* The ESME sends a pure ACK for SMSC->ESME bytes (ESME's space). */
static struct dp_edit_out esme_ack(uint32_t seq, uint32_t ack)
{
	struct dp_edit_seg s = {.seq = seq, .ack = ack, .len = 0, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out out;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &s, NULL, 0, X.now, &out),
			 DP_EDIT_OK);
	return out;
}

static void test_inject_invalid(void **state)
{
	(void)state;
	uint8_t big[DP_EDIT_INJ_BYTES + 1] = {0};
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 0, X.now), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, big, sizeof(big), X.now), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_inject(&X.ctx, NULL, resp, 17, X.now), DP_EDIT_EINVAL);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_AGAIN);
	/* Not synced toward the ESME: refused and counted under the policy. */
	struct dp_edit_flow g;
	dp_edit_flow_init(&g);
	X.ctx.cfg.inj_policy = DP_EDIT_FAIL_OPEN;
	assert_int_equal(dp_edit_inject(&X.ctx, &g, resp, 17, X.now), DP_EDIT_ESTATE);
	assert_int_equal(X.ctx.cnt.inj_open, 1);
	assert_false(dp_edit_flow_reset_pending(&g));
	X.ctx.cfg.inj_policy = DP_EDIT_FAIL_CLOSED;
	assert_int_equal(dp_edit_inject(&X.ctx, &g, resp, 17, X.now), DP_EDIT_ESTATE);
	assert_int_equal(X.ctx.cnt.inj_closed, 1);
	assert_true(dp_edit_flow_reset_pending(&g));
}

/* Placed at once at a boundary; later SMSC bytes shift; ESME ACKs map back. */
static void test_inject_shift(void **state)
{
	(void)state;
	smsc_data(0, 100, 0, 100, 100, ESME0);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_int_equal(tx.seq, SMSC0 + 100);
	assert_int_equal(tx.len, 17);
	assert_memory_equal(tx.data, resp, 17);
	assert_false(tx.resend);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_AGAIN);
	struct dp_edit_out o = smsc_data(100, 50, 100, 50, 50, ESME0);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.r[0].out_seq, SMSC0 + 117);
	/* ESME ACKs in its space: inside the response -> its start; after it
	 * -> shifted back by 17. */
	const struct dp_edit_seqadj *sa = &X.f.h[DP_EDIT_S2E].sa;
	assert_int_equal(dp_edit_seqadj_unmap(sa, SMSC0 + 110), SMSC0 + 100);
	assert_int_equal(dp_edit_seqadj_unmap(sa, SMSC0 + 167), SMSC0 + 150);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 17);
	esme_ack(ESME0, SMSC0 + 117);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 0);
	assert_int_equal(X.ctx.cnt.inj_acked, 1);
	assert_int_equal(dp_edit_next_deadline(&X.f), 0);
}

/* The SMSC stream is inside a PDU: the response waits for the boundary and
 * goes between the two SMSC PDUs. */
static void test_inject_waits_for_boundary(void **state)
{
	(void)state;
	struct dp_edit_out o = smsc_data(0, 30, 0, 60, 30, ESME0);
	assert_int_equal(o.n, 1);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_AGAIN);
	/* Rest of PDU 1 (30 bytes) and 20 bytes of PDU 2 in one segment. */
	struct dp_edit_pdu p[2] = {{SMSC0, 60, 60, P}, {SMSC0 + 60, 40, 20, P}};
	struct dp_edit_seg s = {
	    .seq = SMSC0 + 30, .ack = ESME0, .len = 50, .flags = DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &s, p, 2, X.now, &o), 0);
	assert_int_equal(o.n, 3);
	assert_int_equal(o.r[0].src, DP_EDIT_SRC_SEG);
	assert_int_equal(o.r[0].out_seq, SMSC0 + 30);
	assert_int_equal(o.r[0].len, 30);
	assert_int_equal(o.r[1].src, DP_EDIT_SRC_INJ);
	assert_int_equal(o.r[1].out_seq, SMSC0 + 60);
	assert_int_equal(o.r[2].src, DP_EDIT_SRC_SEG);
	assert_int_equal(o.r[2].seq, SMSC0 + 60);
	assert_int_equal(o.r[2].out_seq, SMSC0 + 77);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_int_equal(tx.seq, SMSC0 + 60);
}

/* An SMSC retransmission that spans the insertion point is split: the part
 * after it moves by the response's length (found by fuzz_dp_seqadj). */
static void test_retrans_across_insertion(void **state)
{
	(void)state;
	smsc_data(0, 30, 0, 30, 30, ESME0);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	smsc_data(30, 40, 30, 40, 40, ESME0);
	struct dp_edit_pdu p = {SMSC0, 30, 30, P};
	struct dp_edit_seg s = {
	    .seq = SMSC0 + 10, .ack = ESME0, .len = 50, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &s, &p, 1, X.now, &o), 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.r[0].seq, SMSC0 + 10);
	assert_int_equal(o.r[0].len, 20);
	assert_int_equal(o.r[0].out_seq, SMSC0 + 10);
	assert_int_equal(o.r[1].seq, SMSC0 + 30);
	assert_int_equal(o.r[1].len, 30);
	assert_int_equal(o.r[1].out_seq, SMSC0 + 47);
}

/* Timer resend with exponential backoff up to the ceiling, then reset. */
static void test_resend_timer_backoff(void **state)
{
	(void)state;
	X.ctx.cfg.rto_initial_ns = 200 * MS;
	X.ctx.cfg.rto_max_ns = 1600 * MS;
	X.ctx.cfg.max_resends = 6;
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	struct dp_edit_tx tx;
	uint64_t t0 = X.now;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, t0, &tx), DP_EDIT_OK);
	assert_int_equal(dp_edit_next_deadline(&X.f), t0 + 200 * MS);
	/* Expected gaps between resends: 200, 400, 800, 1600, 1600, 1600 ms. */
	static const uint64_t gaps[] = {200, 400, 800, 1600, 1600, 1600};
	uint64_t t = t0;
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, t + gaps[i] * MS - 1, &tx),
				 DP_EDIT_AGAIN);
		t += gaps[i] * MS;
		assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, t, &tx), DP_EDIT_OK);
		assert_true(tx.resend);
		assert_int_equal(tx.seq, SMSC0);
		assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, t, &tx), DP_EDIT_AGAIN);
	}
	assert_int_equal(X.ctx.cnt.inj_resent_timer, 6);
	/* Seventh expiry: out of resends, reset toward both ends, once. */
	t += 1600 * MS;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, t, &tx), DP_EDIT_EMISMATCH);
	assert_true(dp_edit_flow_reset_pending(&X.f));
	assert_int_equal(X.ctx.cnt.resend_exhausted, 1);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, t + 10000 * MS, &tx), DP_EDIT_EMISMATCH);
	assert_int_equal(X.ctx.cnt.resend_exhausted, 1);
}

/* An ACK that acknowledges the response stops the resends and the backoff
 * starts over for the next one. */
static void test_resend_stops_on_ack(void **state)
{
	(void)state;
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_int_equal(tx.seq, SMSC0 + 17);
	/* Timer: both are resent in one round. */
	X.now += 200 * MS;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_int_equal(tx.seq, SMSC0);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_int_equal(tx.seq, SMSC0 + 17);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_AGAIN);
	/* The ESME acknowledges the first: the second is timed from now with
	 * the initial RTO again. */
	X.now += 50 * MS;
	esme_ack(ESME0, SMSC0 + 17);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 17);
	assert_int_equal(dp_edit_next_deadline(&X.f), X.now + 200 * MS);
	esme_ack(ESME0, SMSC0 + 34);
	assert_int_equal(dp_edit_next_deadline(&X.f), 0);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now + 100000 * MS, &tx), DP_EDIT_AGAIN);
}

/* Duplicate ACKs at the response's start make it go out again at once. */
static void test_resend_dupack(void **state)
{
	(void)state;
	smsc_data(0, 40, 0, 40, 40, ESME0);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	/* The SMSC's next PDU arrives at the ESME, the response was lost: the
	 * ESME acks 40 (new ack), then two duplicates: not yet. */
	smsc_data(40, 30, 40, 30, 30, ESME0);
	esme_ack(ESME0, SMSC0 + 40);
	esme_ack(ESME0, SMSC0 + 40);
	esme_ack(ESME0, SMSC0 + 40);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_AGAIN);
	/* Data from the ESME with the same ack is not a duplicate ACK. */
	struct dp_edit_seg d = {
	    .seq = ESME0, .ack = SMSC0 + 40, .len = 5, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &d, NULL, 0, X.now, &o), 0);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_AGAIN);
	esme_ack(ESME0, SMSC0 + 40);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_true(tx.resend);
	assert_int_equal(tx.seq, SMSC0 + 40);
	assert_int_equal(X.ctx.cnt.inj_resent_dupack, 1);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_AGAIN);
	/* The ESME got it and the next PDU: all acknowledged. */
	esme_ack(ESME0, SMSC0 + 87);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 0);
	/* SMSC sees the ESME's ACK mapped back to its own space. */
	assert_int_equal(dp_edit_seqadj_unmap(&X.f.h[DP_EDIT_S2E].sa, SMSC0 + 87), SMSC0 + 70);
}

/* A segment of only blocked bytes: the response carries the ACK that covers
 * them, as soon as the SMSC acked what came before. */
static void test_blocked_only_acked_by_response(void **state)
{
	(void)state;
	struct dp_edit_out o;
	struct dp_edit_pdu p1 = {ESME0, 40, 40, P};
	struct dp_edit_seg s1 = {.seq = ESME0, .ack = SMSC0, .len = 40, .flags = DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &s1, &p1, 1, X.now, &o), 0);
	/* SMSC acks the 40 bytes. */
	struct dp_edit_seg a = {
	    .seq = SMSC0, .ack = ESME0 + 40, .len = 0, .flags = DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &a, NULL, 0, X.now, &o), 0);
	/* The blocked submit_sm (33 bytes) alone in a segment. */
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	struct dp_edit_pdu p2 = {ESME0 + 40, 33, 33, B};
	struct dp_edit_seg s2 = {
	    .seq = ESME0 + 40, .ack = SMSC0, .len = 33, .flags = DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &s2, &p2, 1, X.now, &o), 0);
	assert_int_equal(o.n, 0);
	assert_int_equal(o.removed, 33);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	assert_true(tx.ack_valid);
	assert_int_equal(tx.ack, ESME0 + 73);
}

/* SMSC FIN with a response outstanding: FIN after the response in the
 * ESME's space, resends continue; the flow is done once all is acked. */
static void test_fin_with_injection(void **state)
{
	(void)state;
	smsc_data(0, 20, 0, 20, 20, ESME0);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	struct dp_edit_seg fin = {
	    .seq = SMSC0 + 20, .ack = ESME0, .len = 0, .flags = DP_EDIT_TCP_ACK | DP_EDIT_TCP_FIN};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &fin, NULL, 0, X.now, &o), 0);
	assert_int_equal(o.action, DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_HDR_ONLY | DP_EDIT_ACT_FIN);
	assert_int_equal(o.hdr_seq, SMSC0 + 37);
	assert_int_equal(X.ctx.cnt.close_with_inj, 1);
	/* No more injection after the SMSC's FIN. */
	X.ctx.cfg.inj_policy = DP_EDIT_FAIL_OPEN;
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_ESTATE);
	/* The response is still resent. */
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now + 200 * MS, &tx), DP_EDIT_OK);
	assert_true(tx.resend);
	/* ESME acks everything and the FIN (ESME space 38), then closes. */
	struct dp_edit_seg ef = {
	    .seq = ESME0, .ack = SMSC0 + 38, .len = 0, .flags = DP_EDIT_TCP_ACK | DP_EDIT_TCP_FIN};
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &ef, NULL, 0, X.now, &o), 0);
	assert_int_equal(o.action & DP_EDIT_ACT_FIN, DP_EDIT_ACT_FIN);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 0);
	assert_false(dp_edit_flow_done(&X.f));
	struct dp_edit_seg sa = {
	    .seq = SMSC0 + 21, .ack = ESME0 + 1, .len = 0, .flags = DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &sa, NULL, 0, X.now, &o), 0);
	assert_true(dp_edit_flow_done(&X.f));
}

/* The SMSC closes inside a PDU while a response waits for a boundary: the
 * response is dropped (counted) and nothing is left outstanding. */
static void test_fin_mid_pdu_drops_waiting(void **state)
{
	(void)state;
	smsc_data(0, 30, 0, 60, 30, ESME0);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 17);
	struct dp_edit_pdu p = {SMSC0, 60, 40, P};
	struct dp_edit_seg fin = {
	    .seq = SMSC0 + 30, .ack = ESME0, .len = 10, .flags = DP_EDIT_TCP_ACK | DP_EDIT_TCP_FIN};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &fin, &p, 1, X.now, &o), 0);
	assert_int_equal(o.action, DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_FIN);
	assert_int_equal(X.ctx.cnt.close_with_inj, 1);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 0);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now + 1000 * MS, &tx), DP_EDIT_AGAIN);
}

/* RST from the SMSC with a response outstanding: the RST reaches the ESME
 * at exactly its rcv_nxt (its last ACK) and nothing more is sent. */
static void test_rst_with_injection(void **state)
{
	(void)state;
	smsc_data(0, 20, 0, 20, 20, ESME0);
	esme_ack(ESME0, SMSC0 + 20);
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now), DP_EDIT_OK);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now, &tx), DP_EDIT_OK);
	struct dp_edit_seg rst = {
	    .seq = SMSC0 + 20, .ack = ESME0, .len = 0, .flags = DP_EDIT_TCP_ACK | DP_EDIT_TCP_RST};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &rst, NULL, 0, X.now, &o), 0);
	assert_int_equal(o.action, DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_HDR_ONLY | DP_EDIT_ACT_RST);
	assert_int_equal(o.hdr_seq, SMSC0 + 20);
	assert_int_equal(X.ctx.cnt.close_with_inj, 1);
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, X.now + 1000 * MS, &tx), DP_EDIT_AGAIN);
	assert_true(dp_edit_flow_done(&X.f));
}

/* Injection buffer bounds under both policies. */
static void test_inject_full(void **state)
{
	(void)state;
	uint8_t pdu[300];
	memset(pdu, 0x5a, sizeof(pdu));
	X.ctx.cfg.inj_policy = DP_EDIT_FAIL_OPEN;
	uint32_t ok = 0;
	while (dp_edit_inject(&X.ctx, &X.f, pdu, sizeof(pdu), X.now) == DP_EDIT_OK)
		ok++;
	assert_int_equal(ok, DP_EDIT_INJ_BYTES / sizeof(pdu));
	assert_int_equal(X.ctx.cnt.inj_open, 1);
	assert_false(dp_edit_flow_reset_pending(&X.f));
	X.ctx.cfg.inj_policy = DP_EDIT_FAIL_CLOSED;
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, pdu, sizeof(pdu), X.now), DP_EDIT_EFULL);
	assert_true(dp_edit_flow_reset_pending(&X.f));
	/* A flow marked for reset says so on its next segment. */
	struct dp_edit_out o = esme_ack(ESME0, SMSC0);
	assert_int_equal(o.action, DP_EDIT_ACT_RESET_BOTH);
	/* Entries are bounded too. */
	setup(NULL);
	X.ctx.cfg.inj_policy = DP_EDIT_FAIL_OPEN;
	ok = 0;
	while (dp_edit_inject(&X.ctx, &X.f, resp, 17, X.now) == DP_EDIT_OK)
		ok++;
	assert_int_equal(ok, DP_EDIT_MAX_INJ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_inject_invalid, setup),
	    cmocka_unit_test_setup(test_inject_shift, setup),
	    cmocka_unit_test_setup(test_inject_waits_for_boundary, setup),
	    cmocka_unit_test_setup(test_retrans_across_insertion, setup),
	    cmocka_unit_test_setup(test_resend_timer_backoff, setup),
	    cmocka_unit_test_setup(test_resend_stops_on_ack, setup),
	    cmocka_unit_test_setup(test_resend_dupack, setup),
	    cmocka_unit_test_setup(test_blocked_only_acked_by_response, setup),
	    cmocka_unit_test_setup(test_fin_with_injection, setup),
	    cmocka_unit_test_setup(test_fin_mid_pdu_drops_waiting, setup),
	    cmocka_unit_test_setup(test_rst_with_injection, setup),
	    cmocka_unit_test_setup(test_inject_full, setup),
	};
	return cmocka_run_group_tests_name("dp_edit_inject", tests, NULL, NULL);
}
