/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dp_edit_replace(): a complete PDU replaced by other bytes (a submit_multi
 * with destinations removed toward the SMSC, a submit_multi_resp with
 * entries added toward the ESME). Table-driven: one stream of PDUs
 * (pass, replace, pass, block, pass) cut into segments in many ways, with
 * retransmissions of the replaced range (whole, partial, spanning its
 * edges, after the receiver acknowledged it); the receiver's buffer must
 * hold exactly the passed PDUs with the replacement in place of the
 * replaced one, every retransmitted byte must equal the first copy, and the
 * receiver's ACKs must map back to the sender's space as documented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_edit.h"
#include "edit_model.h"

#define NPDU 5
#define MAXB 512

enum { PA = DP_EDIT_PDU_PASS, BL = DP_EDIT_PDU_BLOCK, RE = DP_EDIT_PDU_REPLACE };

/* Stream: A pass 40, B replaced (60 -> 30 bytes, or 60 -> 90 when growing),
 * C pass 50, D blocked 20, E pass 30. */
static const uint32_t plen[NPDU] = {40, 60, 50, 20, 30};
static const uint32_t pver[NPDU] = {PA, RE, PA, BL, PA};

struct fx {
	struct dp_edit_ctx ctx;
	struct dp_edit_flow f;
	enum dp_edit_dir dir;
	uint32_t base;
	uint8_t data[MAXB];
	uint32_t total;
	uint32_t poff[NPDU];
	uint8_t got[MAXB];
	uint32_t R; /* contiguous bytes the stream layer holds */
	uint8_t repl[128];
	uint32_t repl_len;
	int staged;
	uint8_t rx[2 * MAXB]; /* receiver, offsets in its (new) space */
	uint8_t rxhave[2 * MAXB];
	int conflicts;
	uint32_t repl_ranges; /* REPL ranges seen */
	uint32_t repl_out;    /* out_seq of the last REPL range */
};

static struct fx X;

static void fx_init(enum dp_edit_dir dir, uint32_t base, uint32_t repl_len)
{
	memset(&X, 0, sizeof(X));
	dp_edit_ctx_init(&X.ctx, NULL);
	dp_edit_flow_init(&X.f);
	X.dir = dir;
	X.base = base;
	uint32_t off = 0;
	for (int i = 0; i < NPDU; i++) {
		X.poff[i] = off;
		X.data[off] = (uint8_t)(plen[i] >> 24); /* command_length, big-endian */
		X.data[off + 1] = 0;
		X.data[off + 2] = 0;
		X.data[off + 3] = (uint8_t)plen[i];
		for (uint32_t k = 4; k < plen[i]; k++)
			X.data[off + k] = (uint8_t)('a' + i * 5 + (k % 5));
		off += plen[i];
	}
	X.total = off;
	X.repl_len = repl_len;
	for (uint32_t k = 0; k < repl_len; k++)
		X.repl[k] = (uint8_t)('R' + (k % 7));
	X.repl[3] = (uint8_t)repl_len;
	assert_int_equal(dp_edit_dir_start(&X.f, dir, base), DP_EDIT_OK);
	if (dir == DP_EDIT_S2E)
		assert_int_equal(dp_edit_dir_start(&X.f, DP_EDIT_E2S, 1000), DP_EDIT_OK);
}

/* What the receiver must end up with (new space from offset 0). */
static uint32_t expected(uint8_t *out)
{
	uint32_t n = 0;
	for (int i = 0; i < NPDU; i++) {
		if (pver[i] == PA) {
			memcpy(out + n, X.data + X.poff[i], plen[i]);
			n += plen[i];
		} else if (pver[i] == RE) {
			memcpy(out + n, X.repl, X.repl_len);
			n += X.repl_len;
		}
	}
	return n;
}

static void rx_put(uint32_t new_off, const uint8_t *b, uint32_t len)
{
	assert_true(new_off + len <= sizeof(X.rx));
	for (uint32_t k = 0; k < len; k++) {
		if (X.rxhave[new_off + k] && X.rx[new_off + k] != b[k])
			X.conflicts++;
		X.rx[new_off + k] = b[k];
		X.rxhave[new_off + k] = 1;
	}
}

/* The sender sends [off, off+len); the stream layer keeps it and describes
 * the PDUs from the release point; the ranges reach the receiver. */
static struct dp_edit_out send_seg(uint32_t off, uint32_t len)
{
	for (uint32_t k = off; k < off + len; k++)
		X.got[k] = 1;
	while (X.R < X.total && X.got[X.R])
		X.R++;
	uint32_t rel = dp_edit_dir_release_seq(&X.f, X.dir) - X.base;
	struct dp_edit_pdu pd[NPDU];
	uint32_t n = 0;
	for (int i = 0; i < NPDU; i++) {
		uint32_t ps = X.poff[i], pe = ps + plen[i];
		if (pe <= rel)
			continue;
		uint32_t avail = X.R > ps ? (X.R - ps < plen[i] ? X.R - ps : plen[i]) : 0;
		if (avail == 0)
			break;
		uint32_t v = avail == plen[i] ? pver[i] : DP_EDIT_PDU_PENDING;
		if (v == RE && !X.staged) {
			assert_int_equal(dp_edit_replace(&X.ctx, &X.f, X.dir, X.base + ps, plen[i],
							 X.repl, X.repl_len),
					 DP_EDIT_OK);
			X.staged = 1;
		}
		pd[n++] = (struct dp_edit_pdu){X.base + ps, plen[i], avail, v};
		if (avail < plen[i])
			break;
	}
	struct dp_edit_seg s = {.seq = X.base + off, .ack = 1000, .len = len,
				.flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, X.dir, &s, pd, n, 0, &o), DP_EDIT_OK);
	for (uint32_t i = 0; i < o.n; i++) {
		const struct dp_edit_range *r = &o.r[i];
		const uint8_t *b = NULL;
		if (r->src == DP_EDIT_SRC_INJ)
			continue;
		if (r->src == DP_EDIT_SRC_REPL) {
			b = dp_edit_repl_data(&X.f, X.dir, r);
			assert_non_null(b);
			assert_int_equal(r->len, X.repl_len);
			X.repl_ranges++;
			X.repl_out = r->out_seq;
		} else {
			uint32_t so = r->seq - X.base;
			for (uint32_t k = so; k < so + r->len; k++)
				assert_true(X.got[k]); /* never bytes the stream layer lacks */
			b = X.data + so;
		}
		rx_put(r->out_seq - X.base, b, r->len);
	}
	return o;
}

/* The receiver acknowledges `new_off` of its space (a pure ACK in the
 * reverse direction). */
static void recv_ack(uint32_t new_off)
{
	enum dp_edit_dir rev = X.dir == DP_EDIT_E2S ? DP_EDIT_S2E : DP_EDIT_E2S;
	struct dp_edit_seg s = {.seq = 1000, .ack = X.base + new_off, .len = 0,
				.flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, rev, &s, NULL, 0, 0, &o), DP_EDIT_OK);
}

static void check_rx(void)
{
	uint8_t want[2 * MAXB];
	uint32_t n = expected(want);
	assert_int_equal(X.conflicts, 0);
	for (uint32_t k = 0; k < n; k++)
		assert_true(X.rxhave[k]);
	assert_memory_equal(X.rx, want, n);
	assert_false(X.rxhave[n]); /* nothing past the edited stream */
}

/* ---- segmentation table ---- */

struct seg_case {
	const char *name;
	uint32_t base;
	uint32_t repl_len;
	uint32_t cuts[16]; /* segment ends, ascending, last == total (200) */
	/* then retransmissions [off, off+len) */
	uint32_t rt[4][2];
	uint32_t n_rt;
	uint32_t want_resent; /* repl_resent after the retransmissions */
};

static const struct seg_case seg_cases[] = {
    {"one segment", 1000, 30, {200}, {{0}}, 0, 0},
    {"one per PDU", 1000, 30, {40, 100, 150, 170, 200}, {{0}}, 0, 0},
    {"replaced PDU split in three", 1000, 30, {45, 70, 99, 200}, {{0}}, 0, 0},
    {"small segments", 0xffffff90u, 30, {7, 14, 41, 60, 61, 101, 120, 149, 151, 169, 171, 200},
     {{0}}, 0, 0},
    {"replacement longer than the PDU", 0xffffffc0u, 90, {30, 100, 130, 200}, {{0}}, 0, 0},
    {"retransmit the replaced PDU whole", 1000, 30, {40, 100, 200}, {{40, 60}}, 1, 1},
    {"retransmit part of the replaced PDU", 1000, 30, {200}, {{55, 20}}, 1, 1},
    {"retransmit across both edges", 0xfffffff0u, 30, {40, 100, 200}, {{30, 90}}, 1, 1},
    {"retransmit everything twice", 1000, 90, {100, 200}, {{0, 200}, {0, 120}}, 2, 2},
    {"retransmit around but not into it", 1000, 30, {200}, {{0, 40}, {100, 50}}, 2, 0},
};

static void test_segmentations(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(seg_cases) / sizeof(seg_cases[0]); c++) {
		const struct seg_case *t = &seg_cases[c];
		print_message("case: %s\n", t->name);
		fx_init(DP_EDIT_E2S, t->base, t->repl_len);
		uint32_t prev = 0;
		for (int i = 0; i < 16 && prev < X.total; i++) {
			send_seg(prev, t->cuts[i] - prev);
			prev = t->cuts[i];
		}
		assert_int_equal(prev, X.total);
		assert_int_equal(X.ctx.cnt.repl_applied, 1);
		assert_int_equal(X.repl_ranges, 1);
		assert_int_equal(X.repl_out, t->base + 40); /* right after A */
		check_rx();
		uint32_t held = X.repl_ranges;
		for (uint32_t r = 0; r < t->n_rt; r++)
			send_seg(t->rt[r][0], t->rt[r][1]);
		assert_int_equal(X.ctx.cnt.repl_resent, t->want_resent);
		assert_int_equal(X.repl_ranges, held + t->want_resent);
		assert_int_equal(X.repl_out, t->base + 40); /* same place again */
		check_rx();
		assert_int_equal(X.ctx.cnt.repl_applied, 1);
	}
}

/* ---- ACK translation table (receiver's ack -> sender's space) ---- */

struct ack_case {
	uint32_t repl_len;
	uint32_t ack_new; /* receiver's ack, offset in its space */
	uint32_t want_orig;
	uint32_t want_outstanding; /* replacement bytes still kept after it */
};

/* new space: A [0,40) R [40,40+r) C [.., +50) E [.., +30) (D removed). */
static const struct ack_case ack_cases[] = {
    {30, 0, 0, 30},	 {30, 40, 40, 30},    {30, 41, 40, 30},	  {30, 69, 40, 30},
    {30, 70, 100, 0},	 {30, 119, 149, 0},   {30, 120, 170, 0},  {30, 150, 200, 0},
    {90, 40, 40, 90},	 {90, 129, 40, 90},   {90, 130, 100, 0},  {90, 180, 170, 0},
};

static void test_ack_translation(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(ack_cases) / sizeof(ack_cases[0]); c++) {
		const struct ack_case *t = &ack_cases[c];
		fx_init(DP_EDIT_E2S, 0xffffffe0u, t->repl_len);
		send_seg(0, 120);
		send_seg(120, 80);
		check_rx();
		const struct dp_edit_seqadj *sa = &X.f.h[DP_EDIT_E2S].sa;
		assert_int_equal(dp_edit_seqadj_unmap(sa, X.base + t->ack_new), X.base + t->want_orig);
		assert_int_equal(dp_edit_repl_outstanding(&X.f), t->repl_len);
		recv_ack(t->ack_new);
		/* after pruning the mapping of what is still in flight holds */
		assert_int_equal(dp_edit_seqadj_unmap(sa, X.base + t->ack_new), X.base + t->want_orig);
		assert_int_equal(dp_edit_repl_outstanding(&X.f), t->want_outstanding);
		/* a retransmission of the replaced PDU after that: sent again
		 * only while the receiver lacks part of it */
		uint64_t before = X.ctx.cnt.repl_resent;
		struct dp_edit_out o = send_seg(40, 60);
		assert_int_equal(X.ctx.cnt.repl_resent - before, t->want_outstanding ? 1 : 0);
		if (t->want_outstanding == 0)
			assert_int_equal(o.n, 0);
		check_rx();
	}
}

/* Toward the ESME: a response replaced by a longer one, after a response
 * the dataplane injected at the boundary before it; ESME ACKs map back. */
static void test_s2e_growth_after_injection(void **state)
{
	(void)state;
	fx_init(DP_EDIT_S2E, 0xfffffff8u, 90);
	send_seg(0, 40); /* A: boundary at 40 */
	static const uint8_t resp[17] = {0, 0, 0, 17, 0x80, 0, 0, 4, 0, 0, 0, 0x45, 0, 0, 0, 9, 0};
	assert_int_equal(dp_edit_inject(&X.ctx, &X.f, resp, 17, 0), DP_EDIT_OK);
	struct dp_edit_tx tx;
	assert_int_equal(dp_edit_tx_next(&X.ctx, &X.f, 0, &tx), DP_EDIT_OK);
	assert_int_equal(tx.seq, X.base + 40);
	rx_put(40, resp, 17);
	struct dp_edit_out o = send_seg(40, 160);
	assert_int_equal(X.repl_out, X.base + 57); /* after the injected response */
	assert_int_equal(o.r[0].src, DP_EDIT_SRC_REPL);
	const struct dp_edit_seqadj *sa = &X.f.h[DP_EDIT_S2E].sa;
	/* inside the injected response or the replacement: their starts */
	assert_int_equal(dp_edit_seqadj_unmap(sa, X.base + 50), X.base + 40);
	assert_int_equal(dp_edit_seqadj_unmap(sa, X.base + 57), X.base + 40);
	assert_int_equal(dp_edit_seqadj_unmap(sa, X.base + 146), X.base + 40);
	assert_int_equal(dp_edit_seqadj_unmap(sa, X.base + 147), X.base + 100);
	/* C moved by 17 + 30 */
	assert_int_equal(dp_edit_seqadj_map(sa, X.base + 100), X.base + 147);
	/* ESME acks the injected response only: replacement still kept */
	recv_ack(57);
	assert_int_equal(dp_edit_inj_outstanding(&X.f), 0);
	assert_int_equal(dp_edit_repl_outstanding(&X.f), 90);
	recv_ack(147);
	assert_int_equal(dp_edit_repl_outstanding(&X.f), 0);
	assert_int_equal(X.ctx.cnt.repl_freed, 1);
}

/* A replacement toward the ESME waits for its whole PDU (the caller marks
 * it PENDING until complete): nothing of it goes out early. */
static void test_replace_waits_for_whole_pdu(void **state)
{
	(void)state;
	fx_init(DP_EDIT_E2S, 5000, 30);
	struct dp_edit_out o = send_seg(0, 70);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.r[0].len, 40); /* A only; 30 bytes of B held */
	assert_int_equal(o.held, 30);
	assert_int_equal(X.repl_ranges, 0);
	o = send_seg(70, 30);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.r[0].src, DP_EDIT_SRC_REPL);
	assert_int_equal(o.removed, 30); /* B's bytes in this segment */
}

/* Errors and the edits policy for a REPLACE verdict without bytes. */
static void test_replace_errors(void **state)
{
	(void)state;
	fx_init(DP_EDIT_E2S, 100, 30);
	uint8_t b[8] = {0};
	struct dp_edit_flow g;
	dp_edit_flow_init(&g);
	assert_int_equal(dp_edit_replace(&X.ctx, &g, DP_EDIT_E2S, 100, 40, b, 8), DP_EDIT_ESTATE);
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100, 40, b, 0), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100, 0, b, 8), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100, 40, b,
					 DP_EDIT_REPL_BYTES + 1),
			 DP_EDIT_EINVAL);
	/* the table fills up: nothing staged past it */
	for (uint32_t i = 0; i < DP_EDIT_MAX_REPL; i++)
		assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100 + i * 50, 40, b, 8),
				 DP_EDIT_OK);
	assert_int_equal(
	    dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100 + DP_EDIT_MAX_REPL * 50, 40, b, 8),
	    DP_EDIT_EFULL);
	/* staged again for the same PDU: replaces the earlier bytes */
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100, 40, b, 4), DP_EDIT_OK);
	assert_int_equal(dp_edit_repl_outstanding(&X.f), (DP_EDIT_MAX_REPL - 1) * 8 + 4);
	/* the buffer fills up */
	fx_init(DP_EDIT_E2S, 100, 30);
	static uint8_t big[DP_EDIT_REPL_BYTES];
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100, 40, big, sizeof(big) - 4),
			 DP_EDIT_OK);
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 140, 40, b, 8), DP_EDIT_EFULL);

	/* REPLACE verdict with nothing staged: fail-closed resets the flow */
	fx_init(DP_EDIT_E2S, 100, 30);
	struct dp_edit_pdu p = {100, 40, 40, DP_EDIT_PDU_REPLACE};
	struct dp_edit_seg s = {.seq = 100, .ack = 1000, .len = 40, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &s, &p, 1, 0, &o),
			 DP_EDIT_EFULL);
	assert_true(o.action & DP_EDIT_ACT_RESET_BOTH);
	assert_int_equal(X.ctx.cnt.repl_missing, 1);
	/* fail-open: the PDU passes unchanged (counted) */
	fx_init(DP_EDIT_E2S, 100, 30);
	X.ctx.cfg.edits_policy = DP_EDIT_FAIL_OPEN;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &s, &p, 1, 0, &o),
			 DP_EDIT_EFULL);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.r[0].src, DP_EDIT_SRC_SEG);
	assert_int_equal(o.r[0].len, 40);
	assert_int_equal(X.ctx.cnt.edits_open, 1);
	/* staging before the release point is refused */
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, 100, 40, b, 8), DP_EDIT_EORDER);
}

/* Against the reference model (edit_model.h): random streams of passed,
 * blocked and replaced PDUs (replacements shorter and longer), random
 * segmentation, loss after the dataplane, retransmissions and SMSC ACKs;
 * fixed seeds. The SMSC must end with exactly the passed PDUs and the
 * replacements, the ESME fully acknowledged, and no reset. */
static struct em M;

static uint32_t rnd(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return (*st >> 8) & 0xffffff;
}

static void test_model_random(void **state)
{
	(void)state;
	uint64_t applied = 0, resent = 0, s2e_applied = 0;
	for (uint32_t seed = 1; seed <= 300; seed++) {
		uint32_t st = seed;
		struct em_pdu pd[12];
		for (int i = 0; i < 12; i++) {
			uint32_t v = rnd(&st) % 3;
			pd[i] = (struct em_pdu){0, 16 + rnd(&st) % 100,
						v == 0	 ? DP_EDIT_PDU_PASS
						: v == 1 ? DP_EDIT_PDU_BLOCK
							 : DP_EDIT_PDU_REPLACE,
						8 + rnd(&st) % 200, 0};
		}
		struct dp_edit_config cfg;
		dp_edit_config_default(&cfg);
		cfg.rto_initial_ns = 5000;
		cfg.rto_max_ns = 40000;
		cfg.max_resends = 100000;
		em_init(&M, 0xffffff00u + seed * 977u, pd, 12, &cfg);
		/* Every other seed: the SMSC answers too, some answers rewritten
		 * (longer or shorter), blocked PDUs answered by injection. */
		bool s2e = seed & 1;
		if (s2e) {
			struct em_pdu sp[6];
			for (int i = 0; i < 6; i++)
				sp[i] = (struct em_pdu){0, 16 + rnd(&st) % 80,
							rnd(&st) % 2 ? DP_EDIT_PDU_REPLACE
								     : DP_EDIT_PDU_PASS,
							16 + rnd(&st) % 120, 0};
			em_init_s2e(&M, seed * 2654435761u, sp, 6);
		}
		uint64_t now = 1;
		uint32_t next = 0, snext = 0;
		for (int op = 0; op < 80 && (next < M.total || (s2e && snext < M.stotal)); op++) {
			uint32_t r = rnd(&st) % (s2e ? 14 : 10), len = 1 + rnd(&st) % 150;
			enum em_mode mode = rnd(&st) % 5 == 0 ? EM_LOSE : EM_DELIVER;
			if (r < 6) {
				if (len > M.total - next)
					len = M.total - next;
				assert_int_equal(em_segment_x(&M, next, len, now, mode), 0);
				next += len;
			} else if (r < 8 && next > M.esme_acked) {
				uint32_t o = M.esme_acked + rnd(&st) % (next - M.esme_acked);
				if (len > next - o)
					len = next - o;
				assert_int_equal(em_segment_x(&M, o, len, now, mode), 0);
			} else if (r < 10) {
				assert_int_equal(em_smsc_ack(&M, now), 0);
			} else if (r < 12) {
				if (len > M.stotal - snext)
					len = M.stotal - snext;
				if (len > 0)
					assert_int_equal(em_smsc_segment_x(&M, snext, len, now, mode), 0);
				snext += len;
			} else if (r < 13 && snext > M.smsc_acked) {
				uint32_t o = M.smsc_acked + rnd(&st) % (snext - M.smsc_acked);
				assert_int_equal(
				    em_smsc_segment_x(&M, o, len < snext - o ? len : snext - o, now, mode),
				    0);
			} else {
				assert_int_equal(em_esme_ack(&M, now), 0);
			}
			if (s2e)
				assert_int_equal(em_tx(&M, now, mode), 0);
			now += 1000;
		}
		for (int round = 0;
		     round < 200 && (M.esme_acked != M.total || M.rcv_nxt != M.expect_len ||
				     (s2e && (M.smsc_acked != M.stotal || M.ercv != em_s2e_want(&M) ||
					      dp_edit_inj_outstanding(&M.f) != 0)));
		     round++) {
			assert_int_equal(em_smsc_ack(&M, now), 0);
			if (s2e) {
				assert_int_equal(em_esme_ack(&M, now), 0);
				assert_int_equal(em_tx(&M, now, EM_DELIVER), 0);
				for (uint32_t off = M.smsc_acked; off < M.stotal; off += 61)
					assert_int_equal(em_smsc_segment_x(&M, off,
									   M.stotal - off < 61
									       ? M.stotal - off
									       : 61,
									   now, EM_DELIVER),
							 0);
			}
			for (uint32_t off = M.esme_acked; off < M.total; off += 97)
				assert_int_equal(
				    em_segment_x(&M, off, M.total - off < 97 ? M.total - off : 97, now,
						 EM_DELIVER),
				    0);
		}
		if (M.err[0])
			print_message("seed %u: %s\n", seed, M.err);
		assert_false(M.reset);
		assert_int_equal(em_check_done(&M, now), 0);
		if (s2e) {
			assert_int_equal(em_check_done_s2e(&M), 0);
			for (uint32_t i = 0; i < M.nspdus; i++)
				s2e_applied += M.sstaged[i];
		}
		applied += M.ctx.cnt.repl_applied;
		resent += M.ctx.cnt.repl_resent;
	}
	print_message("replacements applied %llu (toward the ESME %llu), resent %llu\n",
		      (unsigned long long)applied, (unsigned long long)s2e_applied,
		      (unsigned long long)resent);
	assert_true(applied > 300);
	assert_true(s2e_applied > 100);
	assert_true(resent > 0);
}

/* dp_edit_take_ack(): the ACK a data segment carries frees the
 * replacements its receiver has before the segment's own PDUs are staged
 * (the SMSC's answers carry the ACK of the rewritten requests). */
static void test_take_ack_frees_room(void **state)
{
	(void)state;
	fx_init(DP_EDIT_E2S, 0xfffffff0u, 30);
	assert_int_equal(dp_edit_dir_start(&X.f, DP_EDIT_S2E, 7000), DP_EDIT_OK);
	/* DP_EDIT_MAX_REPL requests of 20 bytes, each replaced by 10 */
	uint8_t r[10] = {0, 0, 0, 10};
	for (uint32_t i = 0; i < DP_EDIT_MAX_REPL; i++) {
		uint32_t seq = X.base + i * 20;
		assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_E2S, seq, 20, r, 10), DP_EDIT_OK);
		struct dp_edit_pdu p = {seq, 20, 20, DP_EDIT_PDU_REPLACE};
		struct dp_edit_seg s = {.seq = seq, .ack = 7000, .len = 20, .flags = DP_EDIT_TCP_ACK};
		struct dp_edit_out o;
		assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_E2S, &s, &p, 1, 0, &o), 0);
		assert_int_equal(o.r[0].src, DP_EDIT_SRC_REPL);
		assert_int_equal(o.r[0].out_seq, X.base + i * 10);
	}
	assert_int_equal(dp_edit_repl_outstanding(&X.f), DP_EDIT_MAX_REPL * 10);
	/* The SMSC's answer (40 bytes, rewritten to 50) acknowledges them all. */
	uint8_t big[50] = {0, 0, 0, 50};
	struct dp_edit_seg a = {.seq = 7000, .ack = X.base + DP_EDIT_MAX_REPL * 10, .len = 40,
				.flags = DP_EDIT_TCP_ACK};
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_S2E, 7000, 40, big, 50), DP_EDIT_EFULL);
	/* a pure ACK is left to dp_edit_segment() (it may be a duplicate) */
	struct dp_edit_seg pure = a;
	pure.len = 0;
	dp_edit_take_ack(&X.ctx, &X.f, DP_EDIT_S2E, &pure, 0);
	assert_int_equal(dp_edit_repl_outstanding(&X.f), DP_EDIT_MAX_REPL * 10);
	dp_edit_take_ack(&X.ctx, &X.f, DP_EDIT_S2E, &a, 0);
	assert_int_equal(dp_edit_repl_outstanding(&X.f), 0);
	assert_int_equal(X.ctx.cnt.repl_freed, DP_EDIT_MAX_REPL);
	assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_S2E, 7000, 40, big, 50), DP_EDIT_OK);
	/* the segment itself: its ACK again changes nothing, the answer is
	 * replaced */
	uint64_t pruned = X.ctx.cnt.edits_pruned;
	struct dp_edit_pdu p = {7000, 40, 40, DP_EDIT_PDU_REPLACE};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &a, &p, 1, 0, &o), 0);
	assert_int_equal(X.ctx.cnt.edits_pruned, pruned);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.r[0].src, DP_EDIT_SRC_REPL);
	assert_int_equal(o.r[0].len, 50);
	/* the ESME side: its acks map back through the grown answer */
	assert_int_equal(dp_edit_seqadj_unmap(&X.f.h[DP_EDIT_S2E].sa, 7050), 7040);
}

/* One segment completing many PDUs, every other one replaced (a window of
 * submit_multi answers in one segment): every range is reported. */
static void test_many_in_one_segment(void **state)
{
	(void)state;
	enum { N = 60 };
	fx_init(DP_EDIT_S2E, 0xffffff00u, 30);
	struct dp_edit_pdu pd[N];
	uint8_t r[N][24];
	for (uint32_t i = 0; i < N; i++) {
		uint32_t seq = X.base + i * 20;
		pd[i] = (struct dp_edit_pdu){seq, 20, 20, i % 2 ? DP_EDIT_PDU_PASS : DP_EDIT_PDU_REPLACE};
		memset(r[i], (int)i, sizeof(r[i]));
		if (!(i % 2))
			assert_int_equal(dp_edit_replace(&X.ctx, &X.f, DP_EDIT_S2E, seq, 20, r[i], 24),
					 DP_EDIT_OK);
	}
	struct dp_edit_seg s = {.seq = X.base, .ack = 1000, .len = N * 20, .flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out o;
	assert_int_equal(dp_edit_segment(&X.ctx, &X.f, DP_EDIT_S2E, &s, pd, N, 0, &o), DP_EDIT_OK);
	assert_int_equal(o.n, N);
	assert_int_equal(o.held, 0);
	uint32_t at = X.base;
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(o.r[i].src, i % 2 ? DP_EDIT_SRC_SEG : DP_EDIT_SRC_REPL);
		assert_int_equal(o.r[i].out_seq, at);
		at += i % 2 ? 20 : 24;
	}
	assert_int_equal(X.ctx.cnt.ranges_full, 0);
	assert_int_equal(dp_edit_dir_release_seq(&X.f, DP_EDIT_S2E), X.base + N * 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_segmentations),
	    cmocka_unit_test(test_ack_translation),
	    cmocka_unit_test(test_s2e_growth_after_injection),
	    cmocka_unit_test(test_replace_waits_for_whole_pdu),
	    cmocka_unit_test(test_replace_errors),
	    cmocka_unit_test(test_take_ack_frees_room),
	    cmocka_unit_test(test_many_in_one_segment),
	    cmocka_unit_test(test_model_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
