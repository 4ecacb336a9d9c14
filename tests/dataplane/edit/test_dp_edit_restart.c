/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restarts: a flow picked up mid-stream with no edit history passes; the
 * probe tells an unedited flow (including loss, fast retransmit and
 * keepalives) from one whose sequence spaces were shifted by edits before
 * the restart (bytes injected, bytes removed); the RSTs built for both ends
 * carry exactly the receivers' rcv_nxt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dp_edit.h"

#define E DP_EDIT_E2S
#define S DP_EDIT_S2E
#define A DP_EDIT_TCP_ACK

struct step {
	int dir;
	uint32_t seq, ack, len;
	uint8_t flags;
};

static int run(const struct step *st, size_t n, struct dp_edit_ctx *ctx)
{
	struct dp_edit_probe p;
	dp_edit_probe_init(&p);
	for (size_t i = 0; i < n; i++) {
		struct dp_edit_seg s = {st[i].seq, st[i].ack, st[i].len, st[i].flags};
		int rc = dp_edit_probe_segment(ctx, &p, st[i].dir, &s);
		if (rc != DP_EDIT_OK)
			return (int)i;
	}
	return -1;
}

/* ESME seq from 1000, SMSC seq from 90000: a normal exchange seen from the
 * middle, with a lost segment, dup ACKs, fast retransmit, and keepalives. */
static const struct step consistent[] = {
    {E, 1000, 90000, 100, A},
    {S, 90000, 1100, 0, A},
    {S, 90000, 1100, 40, A},
    {E, 1100, 90040, 0, A},
    {E, 1100, 90040, 100, A}, /* lost toward the SMSC */
    {E, 1200, 90040, 100, A},
    {S, 90040, 1100, 0, A}, /* dup */
    {E, 1300, 90040, 100, A},
    {S, 90040, 1100, 0, A}, /* dup */
    {E, 1400, 90040, 100, A},
    {S, 90040, 1100, 0, A}, /* dup */
    {E, 1500, 90040, 100, A},
    {S, 90040, 1100, 0, A},   /* dup */
    {E, 1100, 90040, 100, A}, /* fast retransmit of the hole */
    {S, 90040, 1600, 0, A},
    {E, 1599, 90040, 0, A}, /* keepalive: snd_una - 1 */
    {S, 90039, 1600, 0, A}, /* keepalive from the SMSC */
    {E, 1600, 90040, 0, A | DP_EDIT_TCP_FIN},
    {S, 90040, 1601, 0, A | DP_EDIT_TCP_FIN},
};

/* Before the restart 17 response bytes were injected toward the ESME: the
 * ESME acknowledges 90057, the SMSC's own snd_nxt is 90040. */
static const struct step injected[] = {
    {E, 1000, 90057, 100, A},
    {S, 90040, 1100, 0, A},
};

/* The same seen from the SMSC's data: it sends enquire_links (16 bytes) at
 * its own snd_nxt, below what the ESME acknowledged. */
static const struct step injected_data[] = {
    {S, 90000, 1000, 20, A},
    {E, 1000, 90057, 16, A},
    {S, 90020, 1000, 16, A},
    {S, 90036, 1000, 16, A},
};

/* Before the restart 33 blocked bytes were removed: the SMSC expects 1067
 * in its space, the ESME sends from 1100 and believes 1100 acknowledged. */
static const struct step removed[] = {
    {E, 1100, 90000, 100, A},
    {S, 90000, 1067, 0, A},
    {E, 1200, 90000, 100, A},
    {S, 90000, 1067, 0, A},
    {S, 90000, 1067, 0, A},
    {E, 1100, 90000, 100, A}, /* RTO retransmission above the stuck point */
    {E, 1100, 90000, 100, A},
    {E, 1100, 90000, 100, A},
};

static void test_probe_invalid(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	struct dp_edit_probe p;
	dp_edit_probe_init(&p);
	struct dp_edit_seg s = {1, 2, 0, A};
	assert_int_equal(dp_edit_probe_segment(NULL, &p, E, &s), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_probe_segment(&ctx, &p, 3, &s), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_probe_segment(&ctx, &p, E, NULL), DP_EDIT_EINVAL);
}

static void test_probe_consistent(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	assert_int_equal(run(consistent, sizeof(consistent) / sizeof(consistent[0]), &ctx), -1);
	assert_int_equal(ctx.cnt.probe_mismatch, 0);
}

static void test_probe_injected(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	assert_int_equal(run(injected, 2, &ctx), 1);
	assert_int_equal(ctx.cnt.probe_mismatch, 1);
}

static void test_probe_injected_data(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	assert_int_equal(run(injected_data, 4, &ctx), 3);
	assert_int_equal(ctx.cnt.probe_mismatch, 1);
}

static void test_probe_removed(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	/* Mismatch on the third retransmission (probe_dupacks = 3). */
	assert_int_equal(run(removed, sizeof(removed) / sizeof(removed[0]), &ctx), 7);
	assert_int_equal(ctx.cnt.probe_mismatch, 1);
}

/* The RSTs for both ends after a mismatch, from a flow that passed its
 * segments through dp_edit_segment() unsynced. */
static void test_rst_both_ends(void **state)
{
	(void)state;
	struct dp_edit_ctx ctx;
	dp_edit_ctx_init(&ctx, NULL);
	struct dp_edit_flow f;
	dp_edit_flow_init(&f);
	/* Frames: IPv4 ESME 198.18.0.1:40000 -> SMSC 198.18.0.2:2775. */
	uint8_t fr[74] = {0};
	fr[12] = 0x08;
	uint8_t *ip = fr + 14, *t = ip + 20;
	ip[0] = 0x45;
	ip[3] = 40 + 20;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 198, ip[13] = 18, ip[15] = 1;
	ip[16] = 198, ip[17] = 18, ip[19] = 2;
	t[0] = 0x9c, t[1] = 0x40, t[2] = 0x0a, t[3] = 0xd7;
	t[12] = 0x50;
	t[13] = A;
	struct dp_edit_pkt pkt;
	assert_int_equal(dp_edit_pkt_parse(&pkt, ip, 60), DP_EDIT_OK);
	assert_int_equal(dp_edit_tmpl_save(&f, E, fr, &pkt), DP_EDIT_OK);
	struct dp_edit_out o;
	for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
		struct dp_edit_seg s = {removed[i].seq, removed[i].ack, removed[i].len,
					removed[i].flags};
		assert_int_equal(dp_edit_segment(&ctx, &f, removed[i].dir, &s, NULL, 0, 0, &o), 0);
		assert_int_equal(o.action & DP_EDIT_ACT_FORWARD, DP_EDIT_ACT_FORWARD);
	}
	assert_int_equal(ctx.cnt.passthrough, sizeof(removed) / sizeof(removed[0]));
	uint8_t out[128];
	/* Toward the SMSC: seq 1067, its rcv_nxt. */
	int len = dp_edit_build_rst(&f, E, out, sizeof(out));
	assert_true(len > 0);
	struct dp_edit_pkt b;
	assert_int_equal(dp_edit_pkt_parse(&b, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
	assert_true(dp_edit_pkt_csum_ok(&b));
	assert_int_equal(b.l4[13] & DP_EDIT_TCP_RST, DP_EDIT_TCP_RST);
	assert_int_equal((uint32_t)b.l4[4] << 24 | b.l4[5] << 16 | b.l4[6] << 8 | b.l4[7], 1067);
	assert_memory_equal(b.l3 + 16, ip + 16, 4); /* to the SMSC */
	/* Toward the ESME: seq 90000 (its last ACK), built from the swapped
	 * template. */
	len = dp_edit_build_rst(&f, S, out, sizeof(out));
	assert_true(len > 0);
	assert_int_equal(dp_edit_pkt_parse(&b, out + 14, (uint32_t)len - 14), DP_EDIT_OK);
	assert_true(dp_edit_pkt_csum_ok(&b));
	assert_int_equal((uint32_t)b.l4[4] << 24 | b.l4[5] << 16 | b.l4[6] << 8 | b.l4[7], 90000);
	assert_memory_equal(b.l3 + 16, ip + 12, 4); /* to the ESME */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_invalid),  cmocka_unit_test(test_probe_consistent),
	    cmocka_unit_test(test_probe_injected), cmocka_unit_test(test_probe_injected_data),
	    cmocka_unit_test(test_probe_removed),  cmocka_unit_test(test_rst_both_ends),
	};
	return cmocka_run_group_tests_name("dp_edit_restart", tests, NULL, NULL);
}
