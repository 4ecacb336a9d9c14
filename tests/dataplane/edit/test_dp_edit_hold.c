/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dp_edit_segment(): holding and trimming at every byte boundary of a
 * multi-PDU ESME stream with passed and blocked PDUs, in order, out of order,
 * with retransmissions (whole, partial, across edited ranges), and the
 * bounds with their fail-open / fail-closed policies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "edit_model.h"

#define P DP_EDIT_PDU_PASS
#define B DP_EDIT_PDU_BLOCK

/* submit_sm-like lengths; blocked PDUs first, adjacent and last. */
static const struct em_pdu stream[] = {
    {0, 33, B}, {0, 40, P}, {0, 17, P}, {0, 50, B}, {0, 16, B}, {0, 60, P}, {0, 16, P}, {0, 21, B},
};
#define NSTREAM (sizeof(stream) / sizeof(stream[0]))

static const uint32_t bases[] = {1000u, 0xffffff80u, 0xfffffff0u, 0x7fffffc0u};

static struct em *M;

static int setup(void **state)
{
	(void)state;
	M = malloc(sizeof(*M));
	return M ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(M);
	return 0;
}

#define RUN(expr)                                                                                  \
	do {                                                                                       \
		if ((expr) != 0)                                                                   \
			fail_msg("%s: %s", #expr, M->err);                                         \
	} while (0)

/* Bytes of the segment [0, c) that belong to an incomplete PDU. */
static uint32_t held_after_cut(uint32_t c)
{
	uint32_t off = 0;
	for (size_t i = 0; i < NSTREAM; i++) {
		if (c > off && c < off + stream[i].len)
			return c - off;
		off += stream[i].len;
	}
	return 0;
}

static void test_invalid(void **state)
{
	(void)state;
	em_init(M, 1000, stream, NSTREAM, NULL);
	struct dp_edit_seg s = {.seq = 1000, .len = 10, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out out;
	assert_int_equal(dp_edit_segment(NULL, &M->f, DP_EDIT_E2S, &s, NULL, 0, 0, &out),
			 DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s, NULL, 1, 0, &out),
			 DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, 2, &s, NULL, 0, 0, &out), DP_EDIT_EINVAL);
	/* A PDU list with a gap after the release point: nothing released. */
	struct dp_edit_pdu gap = {.seq = 1005, .len = 33, .avail = 33, .verdict = P};
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s, &gap, 1, 0, &out),
			 DP_EDIT_EORDER);
	assert_int_equal(out.n, 0);
	assert_int_equal(out.held, 10);
	assert_int_equal(dp_edit_dir_release_seq(&M->f, DP_EDIT_E2S), 1000);
	/* avail larger than len is refused too. */
	struct dp_edit_pdu bad = {.seq = 1000, .len = 33, .avail = 34, .verdict = P};
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s, &bad, 1, 0, &out),
			 DP_EDIT_EINVAL);
	assert_true(M->ctx.cnt.bad_pdu_list >= 2);
}

/* One segment per PDU stream, split in two at every byte, in order. */
static void test_every_cut_in_order(void **state)
{
	(void)state;
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		em_init(M, bases[b], stream, NSTREAM, NULL);
		uint32_t total = M->total;
		for (uint32_t c = 1; c < total; c++) {
			em_init(M, bases[b], stream, NSTREAM, NULL);
			RUN(em_segment(M, 0, c, 0));
			/* The undecided tail of the first segment is held. */
			assert_int_equal(M->last_held, held_after_cut(c));
			RUN(em_smsc_ack(M, 0));
			RUN(em_segment(M, c, total - c, 0));
			assert_int_equal(M->last_held, 0);
			RUN(em_check_done(M, 0));
		}
	}
}

/* Three segments, every pair of cut points, in order and with the first
 * segments retransmitted after the last one (before and after the SMSC's
 * ACK, so below-floor and edited-range retransmissions both occur). */
static void test_every_double_cut(void **state)
{
	(void)state;
	em_init(M, bases[1], stream, NSTREAM, NULL);
	uint32_t total = M->total;
	for (uint32_t c1 = 1; c1 < total; c1++) {
		for (uint32_t c2 = c1 + 1; c2 < total; c2++) {
			em_init(M, bases[(c1 + c2) % 4], stream, NSTREAM, NULL);
			RUN(em_segment(M, 0, c1, 0));
			RUN(em_segment(M, c1, c2 - c1, 0));
			RUN(em_segment(M, c2, total - c2, 0));
			RUN(em_segment(M, c1, c2 - c1, 0)); /* retransmission, no ACK yet */
			RUN(em_smsc_ack(M, 0));
			RUN(em_segment(M, 0, c2, 0)); /* below the floor: dropped */
			RUN(em_check_done(M, 0));
		}
	}
	assert_true(M->ctx.cnt.retrans_below_floor > 0);
}

/* Out of order: the later part arrives first and is held whole. */
static void test_every_cut_reordered(void **state)
{
	(void)state;
	em_init(M, bases[0], stream, NSTREAM, NULL);
	uint32_t total = M->total;
	for (uint32_t c = 1; c < total; c++) {
		em_init(M, bases[c % 4], stream, NSTREAM, NULL);
		RUN(em_segment(M, c, total - c, 0));
		assert_int_equal(M->last_held, total - c);
		RUN(em_smsc_ack(M, 0));
		RUN(em_segment(M, 0, c, 0));
		RUN(em_check_done(M, 0));
		/* The held part went out from the stream buffer. */
		assert_true(M->ctx.cnt.bytes_released > 0 || c >= M->total - 21);
	}
}

/* Retransmission that overlaps an edited range partially, at every offset
 * and length, before any ACK: only passed bytes go out, at the same place. */
static void test_retrans_partial_overlap(void **state)
{
	(void)state;
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		em_init(M, bases[b], stream, NSTREAM, NULL);
		uint32_t total = M->total;
		RUN(em_segment(M, 0, total, 0));
		uint64_t edited0 = M->ctx.cnt.retrans_edited;
		for (uint32_t o = 0; o < total; o += 3)
			for (uint32_t l = 1; o + l <= total; l += 5)
				RUN(em_segment(M, o, l, 0));
		assert_true(M->ctx.cnt.retrans_edited > edited0);
		RUN(em_check_done(M, 0));
	}
}

/* A segment carrying only blocked bytes: nothing of it reaches the SMSC, a
 * header-only probe one below rcv_nxt makes the SMSC answer, and the ACK it
 * answers with covers the blocked bytes for the ESME. */
static void test_blocked_only_segment_acked(void **state)
{
	(void)state;
	static const struct em_pdu s2[] = {{0, 40, P}, {0, 33, B}, {0, 20, P}};
	em_init(M, 5000, s2, 3, NULL);
	RUN(em_segment(M, 0, 40, 0));
	RUN(em_smsc_ack(M, 0));
	assert_int_equal(M->esme_acked, 40);
	RUN(em_segment(M, 40, 33, 0));
	assert_int_equal(M->last_action, DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_HDR_ONLY);
	assert_int_equal(M->ctx.cnt.ack_probes, 1);
	RUN(em_smsc_ack(M, 0));
	assert_int_equal(M->esme_acked, 73);
	RUN(em_segment(M, 73, 20, 0));
	RUN(em_check_done(M, 0));
}

/* Holding bound: fail-closed resets, fail-open forwards unverified. */
static void test_hold_bound(void **state)
{
	(void)state;
	static const struct em_pdu big[] = {{0, 300, B}, {0, 20, P}};
	struct dp_edit_config cfg;
	dp_edit_config_default(&cfg);
	cfg.max_hold_bytes = 100;

	cfg.hold_policy = DP_EDIT_FAIL_CLOSED;
	em_init(M, 77, big, 2, &cfg);
	RUN(em_segment(M, 0, 90, 0));
	assert_int_equal(M->last_held, 90);
	struct dp_edit_seg s = {.seq = 77 + 90, .len = 90, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_pdu p = {.seq = 77, .len = 300, .avail = 180, .verdict = 0};
	struct dp_edit_out out;
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s, &p, 1, 0, &out),
			 DP_EDIT_EFULL);
	assert_int_equal(out.action, DP_EDIT_ACT_RESET_BOTH);
	assert_int_equal(M->ctx.cnt.hold_closed, 1);
	assert_true(dp_edit_flow_reset_pending(&M->f));

	/* A pure ACK far ahead holds nothing: no reset. */
	em_init(M, 77, big, 2, &cfg);
	struct dp_edit_seg pa = {.seq = 77 + 100000, .len = 0, .flags = DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &pa, NULL, 0, 0, &out), 0);
	assert_int_equal(out.action, DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_HDR_ONLY);
	assert_int_equal(out.hdr_seq, 77);
	assert_false(dp_edit_flow_reset_pending(&M->f));

	cfg.hold_policy = DP_EDIT_FAIL_OPEN;
	em_init(M, 77, big, 2, &cfg);
	RUN(em_segment(M, 0, 90, 0));
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s, &p, 1, 0, &out),
			 DP_EDIT_EFULL);
	assert_int_equal(M->ctx.cnt.hold_open, 1);
	assert_int_equal(out.action & DP_EDIT_ACT_FORWARD, DP_EDIT_ACT_FORWARD);
	assert_int_equal(out.n, 2); /* 90 held bytes from the buffer, 90 from this segment */
	assert_int_equal(out.r[0].src, DP_EDIT_SRC_HELD);
	assert_int_equal(out.r[0].len, 90);
	assert_int_equal(out.r[1].src, DP_EDIT_SRC_SEG);
	/* The block verdict arriving later cannot be enforced: counted. */
	struct dp_edit_seg s3 = {.seq = 77 + 180, .len = 120, .flags = DP_EDIT_TCP_ACK};
	p.avail = 300;
	p.verdict = B;
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s3, &p, 1, 0, &out),
			 DP_EDIT_OK);
	assert_int_equal(M->ctx.cnt.late_block, 1);
}

/* Edit table full: fail-open passes the PDU (counted), fail-closed resets. */
static void test_edits_full(void **state)
{
	(void)state;
	static struct em_pdu many[2 * DP_EDIT_MAX_EDITS + 2];
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = (struct em_pdu){0, 16, (i % 2) ? B : P};
	for (int pol = 0; pol < 2; pol++) {
		struct dp_edit_config cfg;
		dp_edit_config_default(&cfg);
		cfg.edits_policy = pol ? DP_EDIT_FAIL_CLOSED : DP_EDIT_FAIL_OPEN;
		em_init(M, 1, many, sizeof(many) / sizeof(many[0]), &cfg);
		/* No ACK from the SMSC: nothing is pruned. */
		struct dp_edit_pdu list[2 * DP_EDIT_MAX_EDITS + 2];
		for (uint32_t i = 0; i < M->npdus; i++)
			list[i] =
			    (struct dp_edit_pdu){1 + M->pdus[i].off, 16, 16, M->pdus[i].verdict};
		struct dp_edit_seg s = {.seq = 1, .len = M->total, .flags = DP_EDIT_TCP_ACK};
		struct dp_edit_out out;
		int rc = dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s, list, M->npdus, 0, &out);
		assert_int_equal(rc, DP_EDIT_EFULL);
		if (pol) {
			assert_int_equal(out.action, DP_EDIT_ACT_RESET_BOTH);
			assert_int_equal(M->ctx.cnt.edits_closed, 1);
		} else {
			assert_int_equal(M->ctx.cnt.edits_open, 1);
			assert_int_equal(M->f.h[DP_EDIT_E2S].sa.n, DP_EDIT_MAX_EDITS);
		}
	}
}

/* FIN after held bytes waits; FIN after a blocked tail goes out alone. */
static void test_fin(void **state)
{
	(void)state;
	static const struct em_pdu s2[] = {{0, 40, P}, {0, 30, B}};
	em_init(M, 900, s2, 2, NULL);
	struct dp_edit_out out;
	struct dp_edit_pdu l1[] = {{900, 40, 40, P}, {940, 30, 10, 0}};
	struct dp_edit_seg s = {.seq = 900, .len = 50, .flags = DP_EDIT_TCP_ACK | DP_EDIT_TCP_FIN};
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s, l1, 2, 0, &out), 0);
	assert_int_equal(out.action & DP_EDIT_ACT_FIN, 0);
	assert_int_equal(M->ctx.cnt.fin_held, 1);
	/* The stream layer decides the truncated PDU at FIN (block): now the
	 * FIN goes out on its own at the collapsed position. */
	struct dp_edit_pdu l2[] = {{940, 30, 30, B}};
	struct dp_edit_seg s2b = {
	    .seq = 940, .len = 30, .flags = DP_EDIT_TCP_ACK | DP_EDIT_TCP_FIN};
	assert_int_equal(dp_edit_segment(&M->ctx, &M->f, DP_EDIT_E2S, &s2b, l2, 1, 0, &out), 0);
	assert_int_equal(out.action, DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_HDR_ONLY | DP_EDIT_ACT_FIN);
	assert_int_equal(out.hdr_seq, 940);
	/* The SMSC acks the FIN (new 941): the ESME sees 971. */
	assert_int_equal(dp_edit_seqadj_unmap(&M->f.h[DP_EDIT_E2S].sa, 941), 971);
}

/* A direction picked up mid-stream and never synced passes unchanged. */
static void test_unsynced_passthrough(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	struct dp_edit_flow f;
	dp_edit_ctx_init(&ctx, NULL);
	dp_edit_flow_init(&f);
	struct dp_edit_seg s = {.seq = 0xfffffff0u, .len = 100, .flags = DP_EDIT_TCP_ACK, .ack = 7};
	struct dp_edit_out out;
	assert_int_equal(dp_edit_segment(&ctx, &f, DP_EDIT_E2S, &s, NULL, 0, 0, &out), 0);
	assert_int_equal(out.action, DP_EDIT_ACT_FORWARD);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.r[0].out_seq, 0xfffffff0u);
	assert_int_equal(out.r[0].len, 100);
	assert_int_equal(ctx.cnt.passthrough, 1);
	assert_false(dp_edit_dir_synced(&f, DP_EDIT_E2S));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_every_cut_in_order),
	    cmocka_unit_test(test_every_double_cut),
	    cmocka_unit_test(test_every_cut_reordered),
	    cmocka_unit_test(test_retrans_partial_overlap),
	    cmocka_unit_test(test_blocked_only_segment_acked),
	    cmocka_unit_test(test_hold_bound),
	    cmocka_unit_test(test_edits_full),
	    cmocka_unit_test(test_fin),
	    cmocka_unit_test(test_unsynced_passthrough),
	};
	return cmocka_run_group_tests_name("dp_edit_hold", tests, setup, teardown);
}
