/* submit_multi in inline mode, on the engine in process: a model ESME and a
 * model SMSC exchange TCP segments through dp_engine_frame_rw(); what each
 * of them receives is reassembled by sequence number in its own space.
 *
 *  - some destinations blocked: the SMSC receives the submit_multi with
 *    exactly the passed destinations; the ESME receives the SMSC's
 *    submit_multi_resp with the SMSC's unsuccess_sme entries followed by the
 *    blocked ones; later PDUs, retransmissions and ACKs stay consistent;
 *  - every destination blocked: nothing reaches the SMSC, the ESME gets the
 *    dataplane's submit_multi_resp listing every destination;
 *  - none blocked: forwarded byte for byte;
 *  - monitor mode: forwarded byte for byte, a verdict per destination.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>

#include "dp.h"
#include "dp_edit.h"
#include "dp_testkit.h"
#include "pat.h"
#include "smpp.h"

/* ---------------------------------------------------------- the peers */

#define RXCAP 16384

struct peer {
	uint32_t isn;	      /* own ISN */
	uint32_t snd_nxt;     /* own next sequence number */
	uint32_t peer_isn;    /* the other side's ISN as this peer saw it */
	uint8_t rx[RXCAP];    /* received stream, offset 0 = peer_isn + 1 */
	uint8_t have[RXCAP];
	uint32_t rcv_len;     /* contiguous bytes received */
	uint32_t last_ack;    /* ack field of the last segment received */
	uint32_t segs;	      /* segments received */
	uint32_t conflicts;   /* a byte received twice with different values */
	uint32_t bad_csum;
	uint32_t max_payload; /* the largest segment payload received */
	/* TCP timestamps (RFC 7323), when ts_on: the TSval this peer sends
	 * next, and what it received: the last TSval, the highest (ts_max),
	 * how many frames carried one and how many went backwards (PAWS would
	 * drop those) */
	bool ts_on;
	uint32_t tsval, ts_last, ts_max, ts_frames, ts_back;
	uint32_t ts_ecr_last; /* TSecr of the last frame received with the option */
	uint32_t fins;	      /* segments received with FIN */
	uint32_t rsts;	      /* segments received with RST */
	uint32_t fin_end;     /* the sequence number after the last FIN received */
};

struct fx {
	struct dp_settings s;
	struct dp_engine *e;
	struct peer esme, smsc;
	struct dp_event ev[64];
	unsigned n_ev;
	struct pat_ruleset *rs;
	struct dp_rules rules;
	struct dp_snapshot snap;
	unsigned id;
	uint64_t now_ms;
};

static void sink(void *arg, const struct dp_event *ev)
{
	struct fx *x = arg;
	if (x->n_ev < 64)
		x->ev[x->n_ev++] = *ev;
}

/* A frame arrives at `to` (the ESME or the SMSC). */
/* Frames the peers send: IPv4 (default) or IPv6, with or without an 802.1Q
 * tag (set before the fixture's handshake). */
static bool g_ipv6, g_vlan;

static void arrive(struct peer *to, const uint8_t *fr, uint32_t len)
{
	assert_true(len >= 14 + 20 + 20);
	uint32_t l2 = fr[12] == 0x81 && fr[13] == 0x00 ? 18 : 14;
	assert_true(l2 == (g_vlan ? 18u : 14u));
	assert_int_equal(fr[l2 - 2], g_ipv6 ? 0x86 : 0x08);
	struct dp_edit_pkt pkt;
	uint8_t cp[9200]; /* up to a jumbo frame */
	assert_true(len <= sizeof(cp));
	memcpy(cp, fr, len);
	assert_int_equal(dp_edit_pkt_parse(&pkt, cp + l2, len - l2), DP_EDIT_OK);
	assert_int_equal(pkt.ipver, g_ipv6 ? 6 : 4);
	if (!dp_edit_pkt_csum_ok(&pkt))
		to->bad_csum++;
	const uint8_t *l4 = pkt.l4;
	uint32_t seq = dp_tk_get32(l4 + 4), ack = dp_tk_get32(l4 + 8);
	uint8_t flags = l4[13];
	to->segs++;
	if (pkt.payload_len > to->max_payload)
		to->max_payload = pkt.payload_len;
	for (uint32_t i = 20; i + 1 < pkt.l4_len;) {
		if (pkt.l4[i] == 0)
			break;
		if (pkt.l4[i] == 1) {
			i++;
			continue;
		}
		if (pkt.l4[i] == 8 && pkt.l4[i + 1] == 10 && i + 10 <= pkt.l4_len) {
			uint32_t v = dp_tk_get32(pkt.l4 + i + 2);
			if (to->ts_frames > 0 && (int32_t)(v - to->ts_max) < 0)
				to->ts_back++;
			if (to->ts_frames == 0 || (int32_t)(v - to->ts_max) > 0)
				to->ts_max = v;
			to->ts_last = v;
			to->ts_ecr_last = dp_tk_get32(pkt.l4 + i + 6);
			to->ts_frames++;
			break;
		}
		if (pkt.l4[i + 1] < 2)
			break;
		i += pkt.l4[i + 1];
	}
	if (flags & DP_EDIT_TCP_ACK)
		to->last_ack = ack;
	if (flags & DP_EDIT_TCP_RST)
		to->rsts++;
	if (flags & DP_EDIT_TCP_FIN) {
		to->fins++;
		to->fin_end = seq + pkt.payload_len + 1;
	}
	if (flags & DP_EDIT_TCP_SYN)
		return;
	uint32_t off = seq - (to->peer_isn + 1);
	assert_true(dp_tk_rx_place(to->rx, to->have, RXCAP, off, pkt.l4 + pkt.l4_len,
				   pkt.payload_len, &to->conflicts, &to->rcv_len));
}

static void tx_cb(void *arg, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len)
{
	struct fx *x = arg;
	(void)pair;
	arrive(to_smsc ? &x->smsc : &x->esme, fr, len);
}

/* One segment from the ESME (from_esme) or the SMSC, through the engine. */
static enum dp_action send_raw(struct fx *x, bool from_esme, uint32_t seq, uint8_t flags,
			       const uint8_t *pl, uint32_t n)
{
	struct peer *me = from_esme ? &x->esme : &x->smsc;
	struct peer *other = from_esme ? &x->smsc : &x->esme;
	uint8_t fr[9200];
	memset(fr, 0, sizeof(fr));
	memcpy(fr, from_esme ? "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
			     : "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	uint32_t l2 = g_vlan ? 18 : 14, l3 = g_ipv6 ? 40 : 20;
	if (g_vlan) {
		dp_tk_put16(fr + 12, 0x8100);
		dp_tk_put16(fr + 14, 100); /* VLAN 100 */
	}
	dp_tk_put16(fr + l2 - 2, g_ipv6 ? 0x86dd : 0x0800);
	uint8_t *ip = fr + l2;
	uint32_t th = me->ts_on ? 32 : 20; /* NOP NOP TS(TSval, TSecr) */
	if (g_ipv6) {
		/* 2001:db8::1 (ESME) <-> 2001:db8::2 (SMSC) */
		ip[0] = 0x60;
		dp_tk_put16(ip + 4, (uint16_t)(th + n));
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = ip[24] = 0x20;
		ip[9] = ip[25] = 0x01;
		ip[10] = ip[26] = 0x0d;
		ip[11] = ip[27] = 0xb8;
		ip[23] = from_esme ? 1 : 2;
		ip[39] = from_esme ? 2 : 1;
	} else {
		ip[0] = 0x45;
		dp_tk_put16(ip + 2, (uint16_t)(20 + th + n));
		ip[8] = 64;
		ip[9] = 6;
		/* 198.18.0.1 (ESME) <-> 198.18.0.2 (SMSC) */
		memcpy(ip + 12,
		       from_esme ? "\xc6\x12\x00\x01\xc6\x12\x00\x02"
				 : "\xc6\x12\x00\x02\xc6\x12\x00\x01",
		       8);
		uint32_t s = 0;
		for (int i = 0; i < 20; i += 2)
			s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		dp_tk_put16(ip + 10, (uint16_t)~s);
	}
	uint8_t *t = ip + l3;
	dp_tk_put16(t, from_esme ? 40000 : 2775);
	dp_tk_put16(t + 2, from_esme ? 2775 : 40000);
	dp_tk_put32(t + 4, seq);
	/* the ack: what this peer received contiguously, in its space */
	dp_tk_put32(t + 8, (flags & DP_EDIT_TCP_ACK) ? me->peer_isn + 1 + me->rcv_len : 0);
	t[12] = (uint8_t)((th / 4) << 4);
	t[13] = flags;
	dp_tk_put16(t + 14, 65535);
	if (me->ts_on) {
		memcpy(t + 20, "\x01\x01\x08\x0a", 4);
		dp_tk_put32(t + 24, me->tsval);
		dp_tk_put32(t + 28, me->ts_last); /* TSecr: the last TSval received */
	}
	if (n != 0)
		memcpy(t + th, pl, n);
	uint32_t len = l2 + l3 + th + n;
	struct dp_edit_pkt pkt;
	assert_int_equal(dp_edit_pkt_parse(&pkt, ip, len - l2), DP_EDIT_OK);
	dp_edit_pkt_csum_full(&pkt);
	dp_engine_set_rx(x->e, 0, from_esme ? 0 : 1);
	enum dp_action a = dp_engine_frame_rw(x->e, fr, len);
	if (a == DP_ACT_FORWARD)
		arrive(other, fr, len);
	return a;
}

static enum dp_action send_data(struct fx *x, bool from_esme, const uint8_t *pl, uint32_t n)
{
	struct peer *me = from_esme ? &x->esme : &x->smsc;
	enum dp_action a = send_raw(x, from_esme, me->snd_nxt, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH,
				    pl, n);
	me->snd_nxt += n;
	return a;
}

/* A pure ACK of everything this peer received. */
static void send_ack(struct fx *x, bool from_esme)
{
	struct peer *me = from_esme ? &x->esme : &x->smsc;
	send_raw(x, from_esme, me->snd_nxt, DP_EDIT_TCP_ACK, NULL, 0);
}

static const char rules_txt[] =
    "rule id=9002 cat=spam target=norm action=block pat=/win a free (iphone|prize)/ "
    "desc=\"prize spam\"\n";

/* ts: both peers send TCP timestamps from the SYN on, starting at these
 * TSvals (NULL: no timestamps). */
static struct fx *fx_new_ts(bool monitor, const uint32_t *ts)
{
	struct fx *x = calloc(1, sizeof(*x));
	if (ts != NULL) {
		x->esme.ts_on = x->smsc.ts_on = true;
		x->esme.tsval = ts[0];
		x->smsc.tsval = ts[1];
	}
	dp_tk_settings(&x->s);
	x->s.edit_flows = 8;
	x->s.monitor = monitor;
	static unsigned next_id;
	x->id = next_id++ % DP_MAX_WORKERS;
	x->e = dp_engine_create(x->id, &x->s, 0);
	assert_non_null(x->e);
	dp_engine_set_event_sink(x->e, sink, x);
	dp_engine_set_tx(x->e, tx_cb, x);
	x->now_ms = 1000000;
	dp_engine_set_time(x->e, x->now_ms);
	dp_engine_set_time_ns(x->e, x->now_ms * 1000000ull);
	struct pat_error err;
	assert_int_equal(dp_tk_rules_load(&x->rules, &x->rs, x->id, x->s.concat_max, "t.rules",
					  rules_txt, sizeof(rules_txt) - 1, &err),
			 PAT_OK);
	x->snap.generation = 1;
	x->snap.rules = &x->rules;
	dp_engine_set_snapshot(x->e, &x->snap);

	/* handshake */
	x->esme.isn = 0x7ffffff0u; /* the ESME's stream crosses 2^31 */
	x->smsc.isn = 0xfffffff8u; /* the SMSC's crosses 2^32 */
	x->esme.snd_nxt = x->esme.isn + 1;
	x->smsc.snd_nxt = x->smsc.isn + 1;
	x->smsc.peer_isn = x->esme.isn;
	x->esme.peer_isn = x->smsc.isn;
	send_raw(x, true, x->esme.isn, DP_EDIT_TCP_SYN, NULL, 0);
	send_raw(x, false, x->smsc.isn, DP_EDIT_TCP_SYN | DP_EDIT_TCP_ACK, NULL, 0);
	send_ack(x, true);
	return x;
}

static struct fx *fx_new(bool monitor)
{
	return fx_new_ts(monitor, NULL);
}

static void advance(struct fx *x, uint64_t ms)
{
	x->now_ms += ms;
	dp_engine_set_time(x->e, x->now_ms);
	dp_engine_set_time_ns(x->e, x->now_ms * 1000000ull);
}

static void fx_free(struct fx *x)
{
	dp_engine_free(x->e);
	dp_tk_rules_free(&x->rules, x->rs, x->id);
	free(x);
}

/* ------------------------------------------------------------- PDUs */

static uint32_t enc(const struct smpp_pdu *m, uint8_t *out, size_t cap)
{
	size_t n = 0;
	assert_int_equal(smpp_pdu_encode(m, out, cap, &n), SMPP_OK);
	return (uint32_t)n;
}

static void bind_ver(struct fx *x, uint8_t version)
{
	uint8_t b[256];
	struct smpp_pdu m = {.hdr = {.command_id = 0x09, .sequence_number = 1},
			     .system_id = dp_tk_sv("alpha"),
			     .password = dp_tk_sv("pw"),
			     .interface_version = version};
	send_data(x, true, b, enc(&m, b, sizeof(b)));
	struct smpp_pdu r = {.hdr = {.command_id = 0x80000009u, .sequence_number = 1},
			     .system_id = dp_tk_sv("SMSC")};
	send_data(x, false, b, enc(&r, b, sizeof(b)));
}

static void bind_ok(struct fx *x)
{
	bind_ver(x, 0x34);
}

/* The subscriber answers STOP (deliver_sm from the SMSC): opted out. */
static void opt_out(struct fx *x, const char *msisdn, uint32_t seq)
{
	uint8_t b[256];
	struct smpp_pdu m = {.hdr = {.command_id = 0x05, .sequence_number = seq},
			     .source_addr_ton = 1,
			     .source_addr_npi = 1,
			     .source_addr = dp_tk_sv(msisdn),
			     .dest_addr_ton = 1,
			     .dest_addr_npi = 1,
			     .destination_addr = dp_tk_sv("70123"),
			     .data_coding = 1,
			     .short_message = dp_tk_sv("STOP")};
	send_data(x, false, b, enc(&m, b, sizeof(b)));
	struct smpp_pdu r = {.hdr = {.command_id = 0x80000005u, .sequence_number = seq}};
	send_data(x, true, b, enc(&r, b, sizeof(b)));
}

/* The fixture most tests start from: bound, 447700900999 opted out. */
static struct fx *fx_bound_opted_out(bool monitor)
{
	struct fx *x = fx_new(monitor);
	bind_ok(x);
	opt_out(x, "447700900999", 900);
	return x;
}

static uint32_t mk_multi(uint8_t *out, size_t cap, uint32_t seq, const char *const *dests,
			 unsigned nd)
{
	uint8_t list[4096];
	size_t off = 0;
	uint8_t cnt = 0;
	for (unsigned i = 0; i < nd; i++) {
		struct smpp_dest d = {.dest_flag = SMPP_DEST_SME,
				      .dest_addr_ton = 1,
				      .dest_addr_npi = 1,
				      .destination_addr = dp_tk_sv(dests[i])};
		if (dests[i][0] == '@') /* a distribution list */
			d = (struct smpp_dest){.dest_flag = SMPP_DEST_DL,
					       .dl_name = dp_tk_sv(dests[i] + 1)};
		assert_int_equal(smpp_dest_put(list, sizeof(list), &off, &cnt, &d), SMPP_OK);
	}
	uint8_t tlv[16];
	size_t tl = 0;
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x020c, "\x00\x2a", 2), SMPP_OK);
	struct smpp_pdu m = {.hdr = {.command_id = 0x21, .sequence_number = seq},
			     .service_type = dp_tk_sv("CMT"),
			     .source_addr_ton = 5,
			     .source_addr = dp_tk_sv("AlphaShop"),
			     .number_of_dests = cnt,
			     .dests = {list, (uint32_t)off},
			     .registered_delivery = 1,
			     .data_coding = 1,
			     .short_message = dp_tk_sv("Sale today only"),
			     .tlvs = {tlv, (uint32_t)tl}};
	return enc(&m, out, cap);
}

struct uns {
	const char *addr;
	uint32_t status;
};

static uint32_t mk_multi_resp(uint8_t *out, size_t cap, uint32_t seq, uint32_t status,
			      const char *msgid, const struct uns *u, unsigned n)
{
	uint8_t list[512];
	size_t off = 0;
	uint8_t cnt = 0;
	for (unsigned i = 0; i < n; i++) {
		bool dl = u[i].addr[0] == '@';
		struct smpp_unsuccess e = {dl ? 0 : 1, dl ? 0 : 1,
					   dp_tk_sv(u[i].addr + (dl ? 1 : 0)), u[i].status};
		assert_int_equal(smpp_unsuccess_put(list, sizeof(list), &off, &cnt, &e), SMPP_OK);
	}
	struct smpp_pdu m = {.hdr = {.command_id = 0x80000021u, .command_status = status,
				     .sequence_number = seq},
			     .message_id = dp_tk_sv(msgid),
			     .no_unsuccess = cnt,
			     .unsuccess = {list, (uint32_t)off}};
	return enc(&m, out, cap);
}

static uint32_t mk_submit(uint8_t *out, size_t cap, uint32_t seq, const char *dst)
{
	struct smpp_pdu m = {.hdr = {.command_id = 0x04, .sequence_number = seq},
			     .source_addr_ton = 5,
			     .source_addr = dp_tk_sv("AlphaShop"),
			     .dest_addr_ton = 1,
			     .dest_addr_npi = 1,
			     .destination_addr = dp_tk_sv(dst),
			     .data_coding = 1,
			     .short_message = dp_tk_sv("see you soon")};
	return enc(&m, out, cap);
}

static uint32_t mk_submit_resp(uint8_t *out, uint32_t seq, const char *id)
{
	size_t n = 0;
	assert_int_equal(smpp_encode_msgid_resp(0x04, seq, 0, dp_tk_sv(id),
						(struct smpp_view){NULL, 0}, out, 128, &n),
			 SMPP_OK);
	return (uint32_t)n;
}

/* The receiver's stream, from `from` on, is exactly `want`. */
static void assert_stream(const struct peer *p, uint32_t from, const uint8_t *want, uint32_t n)
{
	assert_int_equal(p->conflicts, 0);
	assert_int_equal(p->bad_csum, 0);
	assert_int_equal(p->rcv_len, from + n);
	assert_memory_equal(p->rx + from, want, n);
	assert_false(p->have[from + n]);
}

/* Both sides acknowledge everything: each sees, in its own space, an ACK of
 * everything it sent. */
static void assert_acks_consistent(struct fx *x)
{
	send_ack(x, false);
	send_ack(x, true);
	assert_int_equal(x->esme.last_ack, x->esme.snd_nxt);
	assert_int_equal(x->smsc.last_ack, x->smsc.snd_nxt);
}

/* ------------------------------------------------------------ tests */

static const char *const three[] = {"447700900998", "447700900999", "447700900997"};

static void test_partial_block(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	uint8_t b[1024], want[1024];

	/* ESME: submit_multi to 998, 999 (opted out), 997. */
	uint32_t n = mk_multi(b, sizeof(b), 77, three, 3);
	unsigned ev0 = x->n_ev;
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP); /* rewritten: sent anew */
	/* a verdict per destination */
	assert_int_equal(x->n_ev, ev0 + 3);
	assert_int_equal(x->ev[ev0 + 1].category, DP_CAT_OPTOUT);
	assert_int_equal(x->ev[ev0].verdict, DP_VERDICT_PASS);
	assert_int_equal(x->ev[ev0 + 2].verdict, DP_VERDICT_PASS);
	/* SMSC: exactly the passed destinations, everything else unchanged */
	static const char *const passed[] = {"447700900998", "447700900997"};
	uint32_t wn = mk_multi(want, sizeof(want), 77, passed, 2);
	assert_true(wn < n);
	assert_stream(&x->smsc, s0, want, wn);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_partial, 1);
	/* The ESME retransmits it: the same rewritten bytes again, nothing more. */
	uint32_t segs = x->smsc.segs;
	send_raw(x, true, x->esme.snd_nxt - n, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, b, n);
	assert_true(x->smsc.segs > segs);
	assert_stream(&x->smsc, s0, want, wn);

	/* SMSC: submit_multi_resp with an unsuccess entry of its own. */
	static const struct uns smsc_u[] = {{"447700900997", 0x0b}};
	n = mk_multi_resp(b, sizeof(b), 77, 0, "MID-1", smsc_u, 1);
	assert_int_equal(send_data(x, false, b, n), DP_ACT_DROP);
	/* ESME: the SMSC's entry, then the blocked destination with its status */
	static const struct uns merged[] = {{"447700900997", 0x0b}, {"447700900999", 0x66}};
	wn = mk_multi_resp(want, sizeof(want), 77, 0, "MID-1", merged, 2);
	assert_stream(&x->esme, e0, want, wn);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 1);
	/* The SMSC retransmits its answer: the ESME gets the merged one again. */
	send_raw(x, false, x->smsc.snd_nxt - n, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, b, n);
	assert_stream(&x->esme, e0, want, wn);
	uint32_t e1 = e0 + wn;

	/* Later PDUs: both streams continue right after the rewritten PDUs. */
	uint32_t s1 = x->smsc.rcv_len;
	n = mk_submit(b, sizeof(b), 78, "447700900998");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD); /* rewritten in place */
	assert_stream(&x->smsc, s1, b, n);
	n = mk_submit_resp(b, 78, "MID-2");
	assert_int_equal(send_data(x, false, b, n), DP_ACT_FORWARD);
	assert_stream(&x->esme, e1, b, n);
	assert_acks_consistent(x);
	/* and once more after the edits were acknowledged (pruned) */
	s1 = x->smsc.rcv_len;
	n = mk_submit(b, sizeof(b), 79, "447700900997");
	send_data(x, true, b, n);
	assert_stream(&x->smsc, s1, b, n);
	assert_acks_consistent(x);
	fx_free(x);
}

/* The same with both rewritten PDUs arriving in two segments, split at
 * every interesting point (inside the header, inside the lists, one byte
 * before the end): nothing of either goes out before it is complete. */
static void test_partial_split(void **state)
{
	(void)state;
	static const uint32_t cuts[] = {1, 10, 16, 17, 40, 0 /* n - 1 */};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct fx *x = fx_bound_opted_out(false);
		uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
		uint8_t b[1024], want[1024];
		uint32_t n = mk_multi(b, sizeof(b), 77, three, 3);
		uint32_t c = cuts[i] ? cuts[i] : n - 1;
		send_data(x, true, b, c);
		assert_int_equal(x->smsc.rcv_len, s0); /* held */
		send_data(x, true, b + c, n - c);
		static const char *const passed[] = {"447700900998", "447700900997"};
		uint32_t wn = mk_multi(want, sizeof(want), 77, passed, 2);
		assert_stream(&x->smsc, s0, want, wn);
		static const struct uns smsc_u[] = {{"447700900998", 0x0b}};
		n = mk_multi_resp(b, sizeof(b), 77, 0, "MID-7", smsc_u, 1);
		c = cuts[i] ? cuts[i] : n - 1;
		send_data(x, false, b, c);
		assert_int_equal(x->esme.rcv_len, e0); /* held */
		send_data(x, false, b + c, n - c);
		static const struct uns merged[] = {{"447700900998", 0x0b}, {"447700900999", 0x66}};
		wn = mk_multi_resp(want, sizeof(want), 77, 0, "MID-7", merged, 2);
		assert_stream(&x->esme, e0, want, wn);
		uint32_t s1 = x->smsc.rcv_len;
		n = mk_submit(b, sizeof(b), 78, "447700900998");
		send_data(x, true, b, n);
		assert_stream(&x->smsc, s1, b, n);
		assert_acks_consistent(x);
		fx_free(x);
	}
}

/* The SMSC refuses a rewritten submit_multi as a whole (an answer without
 * a body) or with generic_nack: the answer reaches the ESME unchanged. */
static void test_smsc_refuses(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t b[1024];
	for (uint32_t k = 0; k < 2; k++) {
		uint32_t n = mk_multi(b, sizeof(b), 60 + k, three, 3);
		send_data(x, true, b, n);
		uint32_t e0 = x->esme.rcv_len;
		if (k == 0) {
			size_t rn = 0;
			assert_int_equal(smpp_encode_submit_multi_resp(60, 0x58, dp_tk_sv(""), NULL,
								       0, b, sizeof(b), &rn),
					 SMPP_OK);
			n = (uint32_t)rn;
		} else {
			size_t rn = 0;
			assert_int_equal(smpp_encode_empty(0x80000000u, 61, 0x03, b, sizeof(b), &rn),
					 SMPP_OK);
			n = (uint32_t)rn;
		}
		assert_int_equal(send_data(x, false, b, n), DP_ACT_FORWARD);
		assert_stream(&x->esme, e0, b, n);
	}
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_partial, 2);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 0);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_unmerged, 1);
	/* nothing left waiting: a later answer with the same sequence_number
	 * is not merged */
	uint32_t e0 = x->esme.rcv_len;
	uint32_t n = mk_multi_resp(b, sizeof(b), 60, 0, "MID-60", NULL, 0);
	assert_int_equal(send_data(x, false, b, n), DP_ACT_FORWARD);
	assert_stream(&x->esme, e0, b, n);
	assert_acks_consistent(x);
	fx_free(x);
}

/* More partly blocked submit_multi awaiting the SMSC's answer than a slot
 * keeps (64): the next one is blocked whole and answered with every
 * destination listed (the passed ones with the PDU's status). */
static void test_pending_full(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t b[1024], want[1024];
	enum { PEND = 64 };
	/* other recipients each time (per-recipient velocity: 30 an hour) */
	char d1[PEND + 1][16], d3[PEND + 1][16];
	const char *dk[PEND + 1][3];
	for (uint32_t k = 0; k <= PEND; k++) {
		snprintf(d1[k], sizeof(d1[k]), "4477009%05u", 20000 + k);
		snprintf(d3[k], sizeof(d3[k]), "4477009%05u", 30000 + k);
		dk[k][0] = d1[k];
		dk[k][1] = "447700900999";
		dk[k][2] = d3[k];
	}
	for (uint32_t k = 0; k < PEND; k++) {
		uint32_t n = mk_multi(b, sizeof(b), 100 + k, dk[k], 3);
		send_data(x, true, b, n);
		send_ack(x, false); /* the SMSC acknowledges, it does not answer yet */
		advance(x, 50);	    /* within the customer's rate limit */
	}
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_partial, PEND);
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	uint32_t n = mk_multi(b, sizeof(b), 100 + PEND, dk[PEND], 3);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	assert_int_equal(x->smsc.rcv_len, s0);
	const struct uns all[] = {{d1[PEND], 0x66}, {"447700900999", 0x66}, {d3[PEND], 0x66}};
	uint32_t wn = mk_multi_resp(want, sizeof(want), 100 + PEND, 0x66, "", all, 3);
	assert_stream(&x->esme, e0, want, wn);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_fallback, 1);
	/* the others are answered and merged */
	for (uint32_t k = 0; k < PEND; k++) {
		uint32_t e1 = x->esme.rcv_len;
		n = mk_multi_resp(b, sizeof(b), 100 + k, 0, "M", NULL, 0);
		send_data(x, false, b, n);
		static const struct uns merged[] = {{"447700900999", 0x66}};
		wn = mk_multi_resp(want, sizeof(want), 100 + k, 0, "M", merged, 1);
		assert_stream(&x->esme, e1, want, wn);
		send_ack(x, true);
	}
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, PEND);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_unmerged, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

static void test_all_blocked(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	opt_out(x, "447700900996", 901);
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	uint8_t b[1024], want[1024];
	static const char *const both[] = {"447700900999", "447700900996"};
	uint32_t n = mk_multi(b, sizeof(b), 80, both, 2);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	/* nothing toward the SMSC */
	assert_int_equal(x->smsc.rcv_len, s0);
	/* the dataplane's answer lists both destinations with their status */
	static const struct uns all[] = {{"447700900999", 0x66}, {"447700900996", 0x66}};
	uint32_t wn = mk_multi_resp(want, sizeof(want), 80, 0x66, "", all, 2);
	assert_stream(&x->esme, e0, want, wn);
	struct smpp_pdu d;
	assert_int_equal(smpp_pdu_decode(x->esme.rx + e0, wn, NULL, &d), SMPP_OK);
	assert_int_equal(d.no_unsuccess, 2);
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 1);
	/* a later submit passes; sequence spaces stay consistent */
	n = mk_submit(b, sizeof(b), 81, "447700900998");
	send_data(x, true, b, n);
	assert_stream(&x->smsc, s0, b, n);
	n = mk_submit_resp(b, 81, "MID-3");
	send_data(x, false, b, n);
	assert_stream(&x->esme, e0 + wn, b, n);
	assert_acks_consistent(x);
	fx_free(x);
}

/* SMPP 5.0: the dataplane's answer also names the rule
 * (additional_status_info_text), after the unsuccess_sme list. */
static void test_all_blocked_v50(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_ver(x, 0x50);
	uint32_t e0 = x->esme.rcv_len;
	uint8_t b0[1024], b[1024];
	static const char *const two[] = {"447700900991", "447700900992"};
	uint32_t n = mk_multi(b0, sizeof(b0), 82, two, 2);
	/* the text the lab rules block as prize spam, for every destination */
	struct smpp_pdu m;
	assert_int_equal(smpp_pdu_decode(b0, n, NULL, &m), SMPP_OK);
	m.short_message = dp_tk_sv("You could win a free prize");
	n = enc(&m, b, sizeof(b));
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	struct smpp_pdu d;
	assert_true(x->esme.rcv_len > e0);
	assert_int_equal(smpp_pdu_decode(x->esme.rx + e0, x->esme.rcv_len - e0, NULL, &d), SMPP_OK);
	assert_int_equal(d.hdr.command_id, 0x80000021u);
	assert_int_equal(d.hdr.command_status, 0x45);
	assert_int_equal(d.hdr.sequence_number, 82);
	assert_int_equal(d.no_unsuccess, 2);
	struct smpp_list_iter it;
	struct smpp_unsuccess u;
	smpp_unsuccess_iter_init(&it, &d);
	for (int i = 0; i < 2; i++) {
		assert_true(smpp_unsuccess_next(&it, &u));
		assert_int_equal(u.destination_addr.len, 12);
		assert_memory_equal(u.destination_addr.p, two[i], 12);
		assert_int_equal(u.error_status_code, 0x45);
	}
	struct smpp_tlv t;
	assert_true(smpp_tlv_find(&d, 0x001d, &t));
	assert_memory_equal(t.val, "smsfw: 9002", 11);
	assert_acks_consistent(x);
	fx_free(x);
}

/* A blocked distribution list is listed under its name. */
static void test_distribution_list(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	uint8_t b[1024], want[1024];
	static const char *const mix[] = {"@friends", "447700900999"};
	uint32_t n = mk_multi(b, sizeof(b), 90, mix, 2);
	send_data(x, true, b, n);
	static const char *const passed[] = {"@friends"};
	uint32_t wn = mk_multi(want, sizeof(want), 90, passed, 1);
	assert_stream(&x->smsc, s0, want, wn);
	n = mk_multi_resp(b, sizeof(b), 90, 0, "MID-9", NULL, 0);
	send_data(x, false, b, n);
	static const struct uns merged[] = {{"447700900999", 0x66}};
	wn = mk_multi_resp(want, sizeof(want), 90, 0, "MID-9", merged, 1);
	assert_stream(&x->esme, e0, want, wn);
	assert_acks_consistent(x);
	fx_free(x);
}

static void none_blocked(bool monitor)
{
	struct fx *x = fx_bound_opted_out(monitor);
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	uint8_t b[1024];
	/* inline: no destination blocked; monitor: one would be */
	static const char *const ok[] = {"447700900998", "447700900997"};
	uint32_t n = monitor ? mk_multi(b, sizeof(b), 91, three, 3) : mk_multi(b, sizeof(b), 91, ok, 2);
	unsigned ev0 = x->n_ev;
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_int_equal(x->n_ev, ev0 + (monitor ? 3 : 2));
	if (monitor)
		assert_int_equal(x->ev[ev0 + 1].verdict, DP_VERDICT_BLOCK);
	assert_stream(&x->smsc, s0, b, n);
	static const struct uns smsc_u[] = {{"447700900997", 0x0b}};
	n = mk_multi_resp(b, sizeof(b), 91, 0, "MID-4", smsc_u, 1);
	assert_int_equal(send_data(x, false, b, n), DP_ACT_FORWARD);
	assert_stream(&x->esme, e0, b, n);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_partial, 0);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

static void test_none_blocked(void **state)
{
	(void)state;
	none_blocked(false);
}

static void test_monitor(void **state)
{
	(void)state;
	none_blocked(true);
}

/* ------------------------------------------ second review (submit_multi) */

/* Bytes from `from_esme`'s side in segments of at most `chunk` bytes. */
static void send_chunks(struct fx *x, bool from_esme, const uint8_t *b, uint32_t n, uint32_t chunk)
{
	for (uint32_t o = 0; o < n; o += chunk)
		send_data(x, from_esme, b + o, n - o < chunk ? n - o : chunk);
}

/* A partly blocked submit_multi (998 passes, 999 opted out) the SMSC has
 * received rewritten: what most tests below answer. */
static void partial_sent(struct fx *x, uint32_t sqn)
{
	static const char *const two[] = {"447700900998", "447700900999"};
	uint8_t b[1024];
	uint32_t n = mk_multi(b, sizeof(b), sqn, two, 2);
	uint64_t p0 = dp_engine_counters(x->e)->edit_multi_partial;
	send_data(x, true, b, n);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_partial, p0 + 1);
	send_ack(x, false);
}

/* The merged answer the ESME must get for partial_sent(): the SMSC's own
 * entries (u, nu) then 999 with the opt-out status. */
static uint32_t want_merged(uint8_t *out, size_t cap, uint32_t sqn, uint32_t status,
			    const char *msgid, const struct uns *u, unsigned nu)
{
	struct uns all[8];
	assert_true(nu < 8);
	if (nu > 0)
		memcpy(all, u, nu * sizeof(*u));
	all[nu] = (struct uns){"447700900999", 0x66};
	return mk_multi_resp(out, cap, sqn, status, msgid, all, nu + 1);
}

/* The SMSC's answer cut in two at every byte, and sent one byte per
 * segment: the ESME gets the merged answer once, whole, and nothing of it
 * before the last byte arrived. */
static void test_review_resp_every_byte(void **state)
{
	(void)state;
	uint8_t b[1024], want[1024];
	static const struct uns smsc_u[] = {{"447700900998", 0x0b}};
	uint32_t n = mk_multi_resp(b, sizeof(b), 77, 0, "MID-77", smsc_u, 1);
	uint32_t wn = want_merged(want, sizeof(want), 77, 0, "MID-77", smsc_u, 1);
	for (uint32_t c = 0; c < n; c++) { /* c == 0: one byte per segment */
		struct fx *x = fx_bound_opted_out(false);
		partial_sent(x, 77);
		uint32_t e0 = x->esme.rcv_len;
		if (c == 0) {
			for (uint32_t k = 0; k + 1 < n; k++) {
				send_data(x, false, b + k, 1);
				assert_int_equal(x->esme.rcv_len, e0);
			}
			send_data(x, false, b + n - 1, 1);
		} else {
			send_data(x, false, b, c);
			assert_int_equal(x->esme.rcv_len, e0); /* held */
			send_data(x, false, b + c, n - c);
		}
		assert_stream(&x->esme, e0, want, wn);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 1);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_unmerged, 0);
		assert_acks_consistent(x);
		fx_free(x);
	}
}

/* no_unsuccess 0, 1 and 5 from the SMSC, and an error status with a body
 * (the SMSC refused some destinations and says so in the status too): the
 * SMSC's entries first, then the blocked one; the status is the SMSC's. */
static void test_review_resp_lists(void **state)
{
	(void)state;
	static const struct uns five[] = {{"447700900901", 0x0b}, {"447700900902", 0x0b},
					  {"447700900903", 0x0c}, {"@staff", 0x44},
					  {"447700900905", 0x0b}};
	static const unsigned counts[] = {0, 1, 5, 5};
	for (unsigned i = 0; i < 4; i++) {
		struct fx *x = fx_bound_opted_out(false);
		uint8_t b[1024], want[1024];
		uint32_t st = i == 3 ? 0x45 : 0;
		partial_sent(x, 200 + i);
		uint32_t e0 = x->esme.rcv_len;
		uint32_t n = mk_multi_resp(b, sizeof(b), 200 + i, st, "M", five, counts[i]);
		send_data(x, false, b, n);
		uint32_t wn = want_merged(want, sizeof(want), 200 + i, st, "M", five, counts[i]);
		assert_stream(&x->esme, e0, want, wn);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 1);
		assert_acks_consistent(x);
		fx_free(x);
	}
}

/* An answer that grows past the SMSC's segment size when merged: the ESME
 * gets it in segments no larger than the SMSC's largest (here 600 bytes),
 * reassembled byte for byte. The SMSC lists 40 destinations of its own. */
static void test_review_resp_grows_past_segment(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	opt_out(x, "447700900996", 901);
	static const char *const dests[] = {"447700900998", "447700900999", "447700900996"};
	uint8_t b[4096], want[4096];
	uint32_t n = mk_multi(b, sizeof(b), 300, dests, 3);
	send_data(x, true, b, n);
	send_ack(x, false);
	/* the SMSC refuses 40 numbers of a (made-up) list of its own */
	uint8_t list[2048];
	size_t off = 0;
	uint8_t cnt = 0;
	char num[40][16];
	for (unsigned i = 0; i < 40; i++) {
		snprintf(num[i], sizeof(num[i]), "4477009%05u", 50000 + i);
		struct smpp_unsuccess u = {1, 1, dp_tk_sv(num[i]), 0x0b};
		assert_int_equal(smpp_unsuccess_put(list, sizeof(list), &off, &cnt, &u), SMPP_OK);
	}
	size_t wl = off;
	uint8_t wc = cnt;
	uint8_t wlist[2048];
	memcpy(wlist, list, off);
	struct smpp_unsuccess b1 = {1, 1, dp_tk_sv("447700900999"), 0x66},
			      b2 = {1, 1, dp_tk_sv("447700900996"), 0x66};
	assert_int_equal(smpp_unsuccess_put(wlist, sizeof(wlist), &wl, &wc, &b1), SMPP_OK);
	assert_int_equal(smpp_unsuccess_put(wlist, sizeof(wlist), &wl, &wc, &b2), SMPP_OK);
	struct smpp_pdu r = {.hdr = {.command_id = 0x80000021u, .sequence_number = 300},
			     .message_id = dp_tk_sv("MID-300"),
			     .no_unsuccess = cnt,
			     .unsuccess = {list, (uint32_t)off}};
	n = enc(&r, b, sizeof(b));
	assert_true(n > 600 && n < 1200);
	r.no_unsuccess = wc;
	r.unsuccess = (struct smpp_view){wlist, (uint32_t)wl};
	uint32_t wn = enc(&r, want, sizeof(want));
	assert_true(wn > n);
	uint32_t e0 = x->esme.rcv_len;
	x->esme.max_payload = 0;
	send_chunks(x, false, b, n, 600);
	assert_stream(&x->esme, e0, want, wn);
	assert_true(x->esme.max_payload <= 600);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 1);
	assert_acks_consistent(x);
	fx_free(x);
}

/* SMPP 5.0: the SMSC's answer carries TLVs after the list
 * (delivery_failure_reason, additional_status_info_text): the blocked
 * entries go between the list and the TLVs, which stay as they were. */
static void test_review_resp_v50_tlvs(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_ver(x, 0x50);
	opt_out(x, "447700900999", 900);
	partial_sent(x, 310);
	uint8_t tlv[64], b[1024], want[1024];
	size_t tl = 0;
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x0425, "\x01", 1), SMPP_OK);
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x001d, "partly", 7), SMPP_OK);
	static const struct uns smsc_u[] = {{"447700900998", 0x0b}};
	uint32_t n = mk_multi_resp(b, sizeof(b), 310, 0, "MID-310", smsc_u, 1);
	struct smpp_pdu r;
	assert_int_equal(smpp_pdu_decode(b, n, NULL, &r), SMPP_OK);
	r.tlvs = (struct smpp_view){tlv, (uint32_t)tl};
	uint8_t b2[1024];
	n = enc(&r, b2, sizeof(b2));
	uint32_t wn = want_merged(want, sizeof(want), 310, 0, "MID-310", smsc_u, 1);
	assert_int_equal(smpp_pdu_decode(want, wn, NULL, &r), SMPP_OK);
	r.tlvs = (struct smpp_view){tlv, (uint32_t)tl};
	uint8_t want2[1024];
	wn = enc(&r, want2, sizeof(want2));
	uint32_t e0 = x->esme.rcv_len;
	send_data(x, false, b2, n);
	assert_stream(&x->esme, e0, want2, wn);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 1);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Malformed answers to a rewritten submit_multi: the dataplane does not
 * crash and emits nothing of its own making: the SMSC's bytes reach the
 * ESME unchanged, edit_multi_unmerged counts them, the slot forgets the
 * entry, and the next rewritten submit_multi is merged as usual. */
static void test_review_resp_malformed(void **state)
{
	(void)state;
	uint8_t good[1024];
	static const struct uns smsc_u[] = {{"447700900998", 0x0b}};
	uint32_t gn = mk_multi_resp(good, sizeof(good), 400, 0, "MID-400", smsc_u, 1);
	/* good: header, "MID-400\0" (8), no_unsuccess 1 (1), entry: ton npi
	 * "447700900998\0" status (1 + 1 + 13 + 4) */
	assert_int_equal(gn, 16 + 8 + 1 + 19);
	for (unsigned k = 0; k < 4; k++) {
		struct fx *x = fx_bound_opted_out(false);
		partial_sent(x, 400);
		uint8_t b[1024];
		uint32_t n = gn;
		memcpy(b, good, gn);
		switch (k) {
		case 0: /* message_id without its NUL: the body ends inside it */
			n = 16 + 7;
			break;
		case 1: /* no_unsuccess 3, one entry */
			b[24] = 3;
			break;
		case 2: /* the length cuts the entry inside its address */
			n = 16 + 8 + 1 + 8;
			break;
		case 3: /* no_unsuccess 0 and an entry after it */
			b[24] = 0;
			break;
		}
		dp_tk_put32(b, n);
		uint32_t e0 = x->esme.rcv_len;
		send_data(x, false, b, n);
		assert_stream(&x->esme, e0, b, n);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 0);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_unmerged, 1);
		/* the next rewritten submit_multi is merged */
		partial_sent(x, 401);
		e0 = x->esme.rcv_len;
		uint8_t r[1024], want[1024];
		uint32_t rn = mk_multi_resp(r, sizeof(r), 401, 0, "MID-401", NULL, 0);
		send_data(x, false, r, rn);
		uint32_t wn = want_merged(want, sizeof(want), 401, 0, "MID-401", NULL, 0);
		assert_stream(&x->esme, e0, want, wn);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 1);
		assert_acks_consistent(x);
		fx_free(x);
	}
}

/* More entries than a submit_multi_resp can list (254) once merged (the
 * SMSC lists 254 short numbers of its own); and an answer longer than the
 * reassembly bound (4,096 bytes here: 254 long numbers). Both reach the
 * ESME unchanged and are counted, and the entry is forgotten: a second
 * answer with that sequence_number is not merged. */
static void test_review_resp_over_254(void **state)
{
	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		struct fx *x = fx_bound_opted_out(false);
		partial_sent(x, 500);
		uint8_t list[254 * 20], b[8192];
		size_t off = 0;
		uint8_t cnt = 0;
		char num[254][16];
		for (unsigned i = 0; i < 254; i++) {
			if (k == 0)
				snprintf(num[i], sizeof(num[i]), "%u", 1000 + i);
			else
				snprintf(num[i], sizeof(num[i]), "4477%08u", 10000000 + i);
			struct smpp_unsuccess u = {1, 1, dp_tk_sv(num[i]), 0x0b};
			assert_int_equal(smpp_unsuccess_put(list, sizeof(list), &off, &cnt, &u), SMPP_OK);
		}
		struct smpp_pdu r = {.hdr = {.command_id = 0x80000021u, .sequence_number = 500},
				     .message_id = dp_tk_sv("MID-500"),
				     .no_unsuccess = cnt,
				     .unsuccess = {list, (uint32_t)off}};
		uint32_t n = enc(&r, b, sizeof(b));
		assert_true(k == 0 ? n < 4096 : n > 4096);
		uint32_t e0 = x->esme.rcv_len;
		send_chunks(x, false, b, n, 1400);
		assert_stream(&x->esme, e0, b, n);
		assert_true(x->esme.max_payload <= 1400);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_unmerged, 1);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 0);
		e0 = x->esme.rcv_len;
		n = mk_multi_resp(b, sizeof(b), 500, 0, "MID-500", NULL, 0);
		send_data(x, false, b, n);
		assert_stream(&x->esme, e0, b, n);
		assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 0);
		assert_acks_consistent(x);
		fx_free(x);
	}
}

/* A PDU longer than a segment, nothing blocked (a submit_multi to 150
 * destinations, 2.5 KB, sent in 1000-byte segments): its bytes are held
 * until it is complete and judged, then go out in segments no larger than
 * the ESME's, the SMSC gets it byte for byte at once (no retransmission
 * needed). The same for the SMSC's answer held for a merge that cannot be
 * made (no body: an error status). */
static void test_review_long_pdu_held(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	partial_sent(x, 800); /* the flow has an edit slot: its bytes are held */
	char num[150][16];
	const char *dl[150];
	for (unsigned i = 0; i < 150; i++) {
		snprintf(num[i], sizeof(num[i]), "4477009%05u", 60000 + i);
		dl[i] = num[i];
	}
	static uint8_t b[4096];
	uint32_t n = mk_multi(b, sizeof(b), 801, dl, 150);
	assert_true(n > 2000 && n < 4096);
	uint32_t s0 = x->smsc.rcv_len;
	x->smsc.max_payload = 0;
	send_chunks(x, true, b, n, 1000);
	assert_stream(&x->smsc, s0, b, n);
	assert_true(x->smsc.max_payload <= 1000);
	/* the answer to the rewritten one: no body, 1 byte per segment */
	size_t rn = 0;
	uint8_t r[64];
	assert_int_equal(
	    smpp_encode_submit_multi_resp(800, 0x58, dp_tk_sv(""), NULL, 0, r, sizeof(r), &rn),
	    SMPP_OK);
	uint32_t e0 = x->esme.rcv_len;
	send_chunks(x, false, r, (uint32_t)rn, 1);
	assert_stream(&x->esme, e0, r, (uint32_t)rn);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Two rewritten submit_multi outstanding with the same sequence_number
 * (an ESME that reuses one; each blocks another destination): the SMSC
 * answers both, in order; each answer lists the destination its own
 * request lost, the first the first's. */
static void test_review_duplicate_sequence(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	opt_out(x, "447700900996", 901);
	uint8_t b[1024], want[1024];
	static const char *const first[] = {"447700900998", "447700900999"};
	static const char *const second[] = {"447700900997", "447700900996"};
	uint32_t n = mk_multi(b, sizeof(b), 600, first, 2);
	send_data(x, true, b, n);
	n = mk_multi(b, sizeof(b), 600, second, 2);
	send_data(x, true, b, n);
	send_ack(x, false);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_partial, 2);
	static const struct uns want1[] = {{"447700900999", 0x66}};
	static const struct uns want2[] = {{"447700900996", 0x66}};
	uint32_t e0 = x->esme.rcv_len;
	n = mk_multi_resp(b, sizeof(b), 600, 0, "MID-A", NULL, 0);
	send_data(x, false, b, n);
	uint32_t wn = mk_multi_resp(want, sizeof(want), 600, 0, "MID-A", want1, 1);
	assert_stream(&x->esme, e0, want, wn);
	e0 += wn;
	n = mk_multi_resp(b, sizeof(b), 600, 0, "MID-B", NULL, 0);
	send_data(x, false, b, n);
	wn = mk_multi_resp(want, sizeof(want), 600, 0, "MID-B", want2, 1);
	assert_stream(&x->esme, e0, want, wn);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 2);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_unmerged, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Answers that never come: the 64 entries of a slot are full, so the next
 * partly blocked submit_multi is blocked whole; five minutes later they
 * are dropped, the next one is rewritten again, and a late answer to a
 * dropped one reaches the ESME unchanged. */
static void test_review_pending_lifetime(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t b[1024];
	char d1[66][16];
	const char *dk[66][2];
	for (uint32_t k = 0; k < 66; k++) {
		snprintf(d1[k], sizeof(d1[k]), "4477009%05u", 40000 + k);
		dk[k][0] = d1[k];
		dk[k][1] = "447700900999";
	}
	for (uint32_t k = 0; k < 64; k++) {
		uint32_t n = mk_multi(b, sizeof(b), 700 + k, dk[k], 2);
		send_data(x, true, b, n);
		send_ack(x, false);
		advance(x, 50);
	}
	uint32_t n = mk_multi(b, sizeof(b), 764, dk[64], 2);
	send_data(x, true, b, n);
	send_ack(x, false);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_fallback, 1);
	advance(x, 300001);
	n = mk_multi(b, sizeof(b), 765, dk[65], 2);
	send_data(x, true, b, n);
	send_ack(x, false);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_fallback, 1);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_partial, 65);
	uint32_t e0 = x->esme.rcv_len;
	n = mk_multi_resp(b, sizeof(b), 700, 0, "LATE", NULL, 0);
	send_data(x, false, b, n);
	assert_stream(&x->esme, e0, b, n);
	assert_int_equal(dp_engine_counters(x->e)->edit_multi_merged, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

/* ------------------------------------ second review (TCP timestamps) */

/* A flow whose ESME and SMSC both send TCP timestamps, with an edit slot
 * (a submit to the opted-out 999 removed and answered). */
static struct fx *fx_ts(uint32_t esme_ts, uint32_t smsc_ts)
{
	const uint32_t ts[2] = {esme_ts, smsc_ts};
	struct fx *x = fx_new_ts(false, ts);
	bind_ok(x);
	opt_out(x, "447700900999", 900);
	uint8_t b[256];
	uint32_t e0 = x->esme.rcv_len;
	uint32_t n = mk_submit(b, sizeof(b), 10, "447700900999");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	assert_true(x->esme.rcv_len > e0); /* answered */
	return x;
}

/* Two ESME data segments reordered on the way: the later one (higher
 * TSval) reaches the dataplane first and is held out of order, but its ACK
 * (of an enquire_link the SMSC just sent) goes on at once, header only,
 * with its TSval: the SMSC takes that as TS.Recent. The earlier one,
 * released with the held bytes, must not carry its older TSval to the SMSC
 * (PAWS would drop it until the ESME's RTO). `t1`, `t2`: their TSvals. */
static void reorder_two(struct fx *x, uint32_t t1, uint32_t t2)
{
	uint8_t b1[256], b2[256], both[512];
	uint32_t el = x->smsc.isn; /* any sequence_number */
	size_t en = 0;
	assert_int_equal(smpp_encode_empty(0x15, el, 0, b1, sizeof(b1), &en), SMPP_OK);
	uint32_t e0 = x->esme.rcv_len;
	send_data(x, false, b1, (uint32_t)en);
	assert_int_equal(x->esme.rcv_len, e0 + en);
	uint32_t n1 = mk_submit(b1, sizeof(b1), 20, "447700900998");
	uint32_t n2 = mk_submit(b2, sizeof(b2), 21, "447700900997");
	uint32_t s0 = x->smsc.rcv_len, seq = x->esme.snd_nxt;
	x->esme.tsval = t2;
	send_raw(x, true, seq + n1, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, b2, n2);
	x->esme.tsval = t1;
	send_raw(x, true, seq, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, b1, n1);
	x->esme.snd_nxt = seq + n1 + n2;
	x->esme.tsval = t2;
	memcpy(both, b1, n1);
	memcpy(both + n1, b2, n2);
	assert_stream(&x->smsc, s0, both, n1 + n2);
}

static void test_review_ts_reordered(void **state)
{
	(void)state;
	struct fx *x = fx_ts(1000, 7000);
	uint32_t f0 = x->smsc.ts_frames;
	reorder_two(x, 1100, 1200);
	assert_true(x->smsc.ts_frames > f0);
	assert_int_equal(x->smsc.ts_back, 0);
	assert_int_equal(x->smsc.ts_max, 1200);
	/* later segments carry their own TSval again */
	uint8_t b[256];
	x->esme.tsval = 1300;
	uint32_t n = mk_submit(b, sizeof(b), 22, "447700900996");
	send_data(x, true, b, n);
	assert_int_equal(x->smsc.ts_last, 1300);
	assert_int_equal(x->esme.ts_back, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

/* TSval wrapping at 2^32: a value past the wrap is newer (forwarded as
 * it is), and the reordered earlier segment just before the wrap is raised
 * to it. */
static void test_review_ts_wrap(void **state)
{
	(void)state;
	struct fx *x = fx_ts(0xfffffff0u, 0xfffffff8u);
	uint8_t b[256];
	x->esme.tsval = 0xfffffff6u;
	uint32_t n = mk_submit(b, sizeof(b), 30, "447700900998");
	send_data(x, true, b, n);
	assert_int_equal(x->smsc.ts_last, 0xfffffff6u);
	reorder_two(x, 0xfffffffcu, 0x00000004u);
	assert_int_equal(x->smsc.ts_back, 0);
	assert_int_equal(x->smsc.ts_max, 4);
	x->esme.tsval = 9;
	n = mk_submit(b, sizeof(b), 31, "447700900997");
	send_data(x, true, b, n);
	assert_int_equal(x->smsc.ts_last, 9);
	/* the SMSC's side across the wrap too */
	x->smsc.tsval = 0x00000003u;
	n = mk_submit_resp(b, 31, "MID-31");
	uint32_t e0 = x->esme.rcv_len;
	send_data(x, false, b, n);
	assert_int_equal(x->esme.rcv_len, e0 + n);
	assert_int_equal(x->esme.ts_last, 3);
	assert_int_equal(x->esme.ts_back, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

/* A segment without the option on a flow that uses timestamps passes
 * without one (the dataplane adds none); the highest TSval sent is still
 * the floor for the next segment that has one. */
static void test_review_ts_missing_option(void **state)
{
	(void)state;
	struct fx *x = fx_ts(5000, 9000);
	uint8_t b[256];
	x->esme.tsval = 5100;
	uint32_t n = mk_submit(b, sizeof(b), 40, "447700900998");
	send_data(x, true, b, n);
	assert_int_equal(x->smsc.ts_last, 5100);
	uint32_t f0 = x->smsc.ts_frames, s0 = x->smsc.rcv_len;
	x->esme.ts_on = false;
	n = mk_submit(b, sizeof(b), 41, "447700900997");
	send_data(x, true, b, n);
	assert_stream(&x->smsc, s0, b, n);
	assert_int_equal(x->smsc.ts_frames, f0); /* none added */
	x->esme.ts_on = true;
	reorder_two(x, 5050, 5200); /* 5050: older than 5100, already sent */
	assert_int_equal(x->smsc.ts_back, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Responses the dataplane injects toward the ESME are built from the
 * SMSC's latest header. When that header is older than what the ESME has
 * already received (a late SMSC segment), the injected frame must not take
 * the ESME's TS.Recent backwards; its TSecr is one the ESME sent. */
static void test_review_ts_injected(void **state)
{
	(void)state;
	struct fx *x = fx_ts(100, 7000);
	uint8_t b[256];
	/* the SMSC answers a passed submit: TSval 7100 */
	x->esme.tsval = 110;
	uint32_t n = mk_submit(b, sizeof(b), 50, "447700900998");
	send_data(x, true, b, n);
	x->smsc.tsval = 7100;
	n = mk_submit_resp(b, 50, "MID-50");
	send_data(x, false, b, n);
	assert_int_equal(x->esme.ts_last, 7100);
	/* a late SMSC segment: an ACK sent before that answer (TSval 7050) */
	x->smsc.tsval = 7050;
	send_ack(x, false);
	x->smsc.tsval = 7100;
	/* a blocked submit: answered by the dataplane */
	x->esme.tsval = 120;
	uint32_t e0 = x->esme.rcv_len, f0 = x->esme.ts_frames;
	n = mk_submit(b, sizeof(b), 51, "447700900999");
	send_data(x, true, b, n);
	assert_true(x->esme.rcv_len > e0);
	assert_true(x->esme.ts_frames > f0);
	assert_int_equal(x->esme.ts_back, 0);
	assert_int_equal(x->esme.ts_last, 7100);
	assert_true(x->esme.ts_ecr_last >= 100 && x->esme.ts_ecr_last <= 120);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Third review. A blocked submit while the SMSC is in the middle of one of
 * its own PDUs (the first part of a deliver_sm already went to the ESME, the
 * flow had no edit slot yet): the answer goes after that PDU, never into
 * bytes the ESME already has. */
static void test_review3_answer_after_partial_smsc_pdu(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t d[256], b[256], want[512];
	uint32_t e0 = x->esme.rcv_len;
	struct smpp_pdu m = {.hdr = {.command_id = 0x05, .sequence_number = 901},
			     .source_addr_ton = 1,
			     .source_addr_npi = 1,
			     .source_addr = dp_tk_sv("447700900998"),
			     .dest_addr_ton = 1,
			     .dest_addr_npi = 1,
			     .destination_addr = dp_tk_sv("70123"),
			     .data_coding = 1,
			     .short_message = dp_tk_sv("hello there")};
	uint32_t dn = enc(&m, d, sizeof(d));
	/* the SMSC: the first 20 bytes of a deliver_sm (no slot: forwarded) */
	assert_int_equal(send_data(x, false, d, 20), DP_ACT_FORWARD);
	assert_int_equal(x->esme.rcv_len, e0 + 20);
	/* the ESME: a submit to the opted-out number, removed and answered */
	uint32_t s0 = x->smsc.rcv_len;
	uint32_t n = mk_submit(b, sizeof(b), 60, "447700900999");
	send_data(x, true, b, n);
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 1);
	/* the SMSC: the rest of its deliver_sm */
	send_data(x, false, d + 20, dn - 20);
	/* the ESME: the deliver_sm whole, then the answer */
	memcpy(want, d, dn);
	size_t rn = 0;
	assert_int_equal(smpp_encode_msgid_resp(0x04, 60, 0x66, (struct smpp_view){NULL, 0},
						(struct smpp_view){NULL, 0}, want + dn,
						sizeof(want) - dn, &rn),
			 SMPP_OK);
	assert_stream(&x->esme, e0, want, dn + (uint32_t)rn);
	assert_acks_consistent(x);
	fx_free(x);
}

/* The same, with the rest of the SMSC's PDU carrying its FIN: the answer
 * goes after the PDU and the FIN after the answer (the FIN was set on no
 * frame when the answer was the last range of the segment). */
static void test_review3_fin_after_waiting_answer(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t d[256], b[256];
	uint32_t e0 = x->esme.rcv_len;
	uint32_t dn = mk_submit_resp(d, 59, "MID-59");
	assert_int_equal(send_data(x, false, d, 10), DP_ACT_FORWARD);
	uint32_t n = mk_submit(b, sizeof(b), 60, "447700900999");
	send_data(x, true, b, n);
	assert_int_equal(x->esme.rcv_len, e0 + 10);
	/* the rest of the SMSC's submit_sm_resp, with FIN */
	send_raw(x, false, x->smsc.snd_nxt, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH | DP_EDIT_TCP_FIN,
		 d + 10, dn - 10);
	x->smsc.snd_nxt += dn - 10 + 1;
	size_t rn = 0;
	uint8_t want[256];
	memcpy(want, d, dn);
	assert_int_equal(smpp_encode_msgid_resp(0x04, 60, 0x66, (struct smpp_view){NULL, 0},
						(struct smpp_view){NULL, 0}, want + dn,
						sizeof(want) - dn, &rn),
			 SMPP_OK);
	assert_stream(&x->esme, e0, want, dn + (uint32_t)rn);
	assert_int_equal(x->esme.fins, 1);
	assert_int_equal(x->esme.fin_end, x->esme.peer_isn + 1 + x->esme.rcv_len + 1);
	fx_free(x);
}

/* A blocked submit while the SMSC is in the middle of a PDU longer than the
 * reassembly bound (passed uninspected, its rest skipped by the stream
 * layer): the answer goes after that PDU, not at the point the skipping had
 * reached. */
static void test_review3_answer_after_skipped_smsc_pdu(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	static uint8_t d[5000];
	uint8_t b[256], want[5200];
	uint32_t e0 = x->esme.rcv_len;
	memset(d, 'x', sizeof(d));
	dp_tk_put32(d, sizeof(d));
	dp_tk_put32(d + 4, 0x05); /* deliver_sm, over pdu_max (4096) */
	dp_tk_put32(d + 8, 0);
	dp_tk_put32(d + 12, 902);
	assert_int_equal(send_data(x, false, d, 1000), DP_ACT_FORWARD);
	uint32_t n = mk_submit(b, sizeof(b), 61, "447700900999");
	send_data(x, true, b, n);
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 1);
	for (uint32_t o = 1000; o < sizeof(d); o += 1000)
		send_data(x, false, d + o, 1000);
	memcpy(want, d, sizeof(d));
	size_t rn = 0;
	assert_int_equal(smpp_encode_msgid_resp(0x04, 61, 0x66, (struct smpp_view){NULL, 0},
						(struct smpp_view){NULL, 0}, want + sizeof(d),
						sizeof(want) - sizeof(d), &rn),
			 SMPP_OK);
	assert_stream(&x->esme, e0, want, (uint32_t)(sizeof(d) + rn));
	assert_acks_consistent(x);
	fx_free(x);
}

/* A jumbo segment (MTU 9000) whose passed bytes around a blocked submit
 * are longer than one built frame (2,048 bytes): they reach the SMSC, in
 * segments, instead of being dropped on every retransmission. */
static void test_review3_jumbo_segment_around_block(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	static uint8_t seg[8000], want[8000];
	uint32_t n = 0, wn = 0, s0 = x->smsc.rcv_len;
	static const char text[] =
	    "Your table for four is booked for Friday at eight. Reply with the number of "
	    "guests if that changes; we keep the booking for fifteen minutes after the "
	    "time. Parking is free after six in the square. See you soon.";
	for (uint32_t k = 0; k < 20; k++) {
		uint8_t b[512];
		bool blocked = k == 12;
		struct smpp_pdu m = {.hdr = {.command_id = 0x04, .sequence_number = 100 + k},
				     .source_addr_ton = 5,
				     .source_addr = dp_tk_sv("AlphaShop"),
				     .dest_addr_ton = 1,
				     .dest_addr_npi = 1,
				     .destination_addr =
					 dp_tk_sv(blocked ? "447700900999" : "447700900998"),
				     .data_coding = 1,
				     .short_message = dp_tk_sv(text)};
		uint32_t l = enc(&m, b, sizeof(b));
		memcpy(seg + n, b, l);
		n += l;
		if (!blocked) {
			memcpy(want + wn, b, l);
			wn += l;
		}
	}
	assert_true(n > 4000 && n < 8000);
	send_data(x, true, seg, n);
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 1);
	assert_stream(&x->smsc, s0, want, wn);
	assert_true(x->smsc.max_payload < 2048 - 54); /* each fits the 2 KiB output frame */
	assert_acks_consistent(x);
	fx_free(x);
}

/* One segment of 38 short submits to an opted-out number (an ESME with a
 * window of 38; 38 x 38 bytes fit a standard 1,460-byte segment): each is
 * removed and each gets its own answer. */
static void test_review3_many_answers_one_segment(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	opt_out(x, "1234", 901);
	static uint8_t seg[4096], want[4096];
	uint32_t n = 0, wn = 0, s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	for (uint32_t k = 0; k < 38; k++) {
		struct smpp_pdu m = {.hdr = {.command_id = 0x04, .sequence_number = 200 + k},
				     .dest_addr_ton = 1,
				     .dest_addr_npi = 1,
				     .destination_addr = dp_tk_sv("1234"),
				     .data_coding = 1,
				     .short_message = dp_tk_sv("x")};
		n += enc(&m, seg + n, sizeof(seg) - n);
		size_t rn = 0;
		assert_int_equal(smpp_encode_msgid_resp(0x04, 200 + k, 0x66,
							(struct smpp_view){NULL, 0},
							(struct smpp_view){NULL, 0}, want + wn,
							sizeof(want) - wn, &rn),
				 SMPP_OK);
		wn += (uint32_t)rn;
	}
	assert_true(n <= 1460);
	send_data(x, true, seg, n);
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 38);
	assert_int_equal(dp_engine_counters(x->e)->edit_resp_failed, 0);
	assert_stream(&x->esme, e0, want, wn);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Every destination of a submit_multi blocked and the answer listing them
 * longer than the 4 KiB an edit slot can inject (160 destinations): the
 * README's policy is fail-closed, both ends reset (the ESME learns at once
 * instead of waiting forever for an answer that never comes). */
static void test_review3_all_blocked_answer_too_long(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	opt_out(x, "44770090099912345678", 901);
	static const char *dests[160];
	for (unsigned i = 0; i < 160; i++)
		dests[i] = "44770090099912345678";
	static uint8_t b[8192];
	uint32_t n = mk_multi(b, sizeof(b), 82, dests, 160);
	assert_true(n > 3000);
	uint64_t resets = dp_engine_counters(x->e)->edit_resets;
	for (uint32_t o = 0; o < n; o += 1400)
		send_data(x, true, b + o, n - o < 1400 ? n - o : 1400);
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 1);
	assert_int_equal(dp_engine_counters(x->e)->edit_resets, resets + 1);
	assert_int_equal(x->esme.rsts, 1);
	assert_int_equal(x->smsc.rsts, 1);
	fx_free(x);
}

/* An edited flow, then a jumbo segment from the SMSC with more PDUs than
 * one frame's list holds (200 submit_sm_resp): every byte reaches the ESME
 * (the PDUs past the list were never described, so their bytes stayed
 * held, and each retransmission was held again). */
static void test_review3_jumbo_many_pdus(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t b[256];
	uint32_t n = mk_submit(b, sizeof(b), 70, "447700900999");
	send_data(x, true, b, n); /* blocked: the flow has an edit slot now */
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 1);
	uint32_t e0 = x->esme.rcv_len;
	static uint8_t seg[8192];
	uint32_t sn = 0;
	for (uint32_t k = 0; k < 200; k++)
		sn += mk_submit_resp(seg + sn, 1000 + k, "M");
	assert_true(sn < 8192);
	send_data(x, false, seg, sn);
	/* and its retransmission */
	send_raw(x, false, x->smsc.snd_nxt - sn, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, seg, sn);
	assert_stream(&x->esme, e0, seg, sn);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Every rewrite path with IPv6 and with 802.1Q frames (the other tests are
 * untagged IPv4): in-place rewrites, segments rebuilt around a removed
 * PDU, a segment of blocked bytes only (ACK probe), held bytes released,
 * injected answers built from the template, a retransmission across the
 * edit, ACKs mapped both ways; every frame's checksum is checked on
 * arrival (assert_stream) and both streams must be exact. */
static void test_review3_ipv6_vlan_paths(void **state)
{
	(void)state;
	static const bool v6[] = {true, true, false}, tag[] = {true, false, true};
	for (unsigned v = 0; v < 3; v++) {
		g_ipv6 = v6[v];
		g_vlan = tag[v];
		struct fx *x = fx_bound_opted_out(false);
		uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
		uint8_t seg[1024], sm[1024], em[1024], b[256];
		uint32_t n = 0, sn = 0, en = 0, l;
		/* passed, blocked, passed in one segment */
		l = mk_submit(b, sizeof(b), 10, "447700900998");
		memcpy(seg + n, b, l), n += l, memcpy(sm + sn, b, l), sn += l;
		l = mk_submit(b, sizeof(b), 11, "447700900999");
		memcpy(seg + n, b, l), n += l;
		l = mk_submit(b, sizeof(b), 12, "447700900997");
		memcpy(seg + n, b, l), n += l, memcpy(sm + sn, b, l), sn += l;
		send_data(x, true, seg, n);
		size_t rn = 0;
		assert_int_equal(smpp_encode_msgid_resp(0x04, 11, 0x66, (struct smpp_view){NULL, 0},
							(struct smpp_view){NULL, 0}, em + en,
							sizeof(em) - en, &rn),
				 SMPP_OK);
		en += (uint32_t)rn;
		/* the ESME retransmits that segment: nothing new anywhere */
		send_raw(x, true, x->esme.snd_nxt - n, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, seg, n);
		/* a segment with only a blocked submit */
		l = mk_submit(b, sizeof(b), 13, "447700900999");
		send_data(x, true, b, l);
		assert_int_equal(smpp_encode_msgid_resp(0x04, 13, 0x66, (struct smpp_view){NULL, 0},
							(struct smpp_view){NULL, 0}, em + en,
							sizeof(em) - en, &rn),
				 SMPP_OK);
		en += (uint32_t)rn;
		/* a passed submit in two segments (held, then released) */
		l = mk_submit(b, sizeof(b), 14, "447700900998");
		send_data(x, true, b, 7);
		send_data(x, true, b + 7, l - 7);
		memcpy(sm + sn, b, l), sn += l;
		/* the SMSC answers the passed ones (rewritten in place) */
		static const uint32_t ok[] = {10, 12, 14};
		for (unsigned k = 0; k < 3; k++) {
			l = mk_submit_resp(b, ok[k], "M");
			send_data(x, false, b, l);
			memcpy(em + en, b, l), en += l;
		}
		assert_stream(&x->smsc, s0, sm, sn);
		assert_stream(&x->esme, e0, em, en);
		assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 2);
		assert_acks_consistent(x);
		assert_int_equal(x->esme.bad_csum + x->smsc.bad_csum, 0);
		fx_free(x);
	}
	g_ipv6 = g_vlan = false;
}

/* A flow reset toward both ends by the frame that gave it its edit slot
 * (here: a blocked submit while the SMSC's stream is not synchronised, so
 * the answer has no place: fail-closed): both ends get their RST (no
 * header template had been saved yet, so none was built, and the flow's
 * later frames were dropped: both connections hung). */
static void test_review3_reset_on_first_edited_frame(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t junk[24], b[256];
	memset(junk, 0xff, sizeof(junk));
	send_data(x, false, junk, sizeof(junk)); /* not SMPP: the SMSC side resynchronises */
	uint32_t n = mk_submit(b, sizeof(b), 60, "447700900999");
	uint32_t s0 = x->smsc.rcv_len;
	send_data(x, true, b, n);
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_int_equal(dp_engine_counters(x->e)->edit_resets, 1);
	assert_int_equal(x->esme.rsts, 1);
	assert_int_equal(x->smsc.rsts, 1);
	fx_free(x);
}

/* The dataplane saw the SMSC's segments out of order before the flow had an
 * edit slot (the later one went to the ESME at once), then a blocked submit:
 * the answer must not be placed in the SMSC's gap, under bytes the ESME
 * already has. Either the ESME's stream stays exact or, if the answer cannot
 * be placed, the flow is reset: never a stream with conflicting bytes. */
static void test_review3_answer_with_smsc_gap(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t a[128], bb[128], b[256], want[512];
	uint32_t e0 = x->esme.rcv_len;
	uint32_t an = mk_submit_resp(a, 58, "MID-58"), bn = mk_submit_resp(bb, 59, "MID-59");
	uint32_t sa = x->smsc.snd_nxt;
	/* B before A */
	send_raw(x, false, sa + an, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, bb, bn);
	uint32_t n = mk_submit(b, sizeof(b), 60, "447700900999");
	send_data(x, true, b, n);
	send_raw(x, false, sa, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, a, an);
	x->smsc.snd_nxt = sa + an + bn;
	send_raw(x, false, sa + an, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, bb, bn); /* resent */
	assert_int_equal(x->esme.conflicts, 0);
	if (dp_engine_counters(x->e)->edit_resets == 0) {
		memcpy(want, a, an);
		memcpy(want + an, bb, bn);
		size_t rn = 0;
		assert_int_equal(smpp_encode_msgid_resp(0x04, 60, 0x66, (struct smpp_view){NULL, 0},
							(struct smpp_view){NULL, 0}, want + an + bn,
							sizeof(want) - an - bn, &rn),
				 SMPP_OK);
		assert_stream(&x->esme, e0, want, an + bn + (uint32_t)rn);
	} else {
		assert_int_equal(x->esme.rsts, 1);
		assert_int_equal(x->smsc.rsts, 1);
	}
	fx_free(x);
}

/* Two segments of blocked bytes only, 200 ms apart at most (the second ACK
 * probe is suppressed), the second one acknowledging a deliver_sm the SMSC
 * sent in between: that ACK still reaches the SMSC (the whole frame was
 * dropped, so the SMSC resent its deliver_sm after its RTO). */
static void test_review3_suppressed_probe_keeps_ack(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t b[256], d[256];
	uint32_t n = mk_submit(b, sizeof(b), 60, "447700900999");
	send_data(x, true, b, n); /* blocked: ACK probe toward the SMSC */
	struct smpp_pdu m = {.hdr = {.command_id = 0x05, .sequence_number = 903},
			     .source_addr_ton = 1,
			     .source_addr_npi = 1,
			     .source_addr = dp_tk_sv("447700900998"),
			     .dest_addr_ton = 1,
			     .dest_addr_npi = 1,
			     .destination_addr = dp_tk_sv("70123"),
			     .data_coding = 1,
			     .short_message = dp_tk_sv("hello")};
	send_data(x, false, d, enc(&m, d, sizeof(d)));
	advance(x, 10);
	n = mk_submit(b, sizeof(b), 61, "447700900999");
	send_data(x, true, b, n); /* blocked too; carries the ACK of the deliver_sm */
	assert_int_equal(x->smsc.last_ack, x->smsc.snd_nxt);
	assert_acks_consistent(x);
	fx_free(x);
}

/* The ESME's last segment, with its FIN, reaches the dataplane before the
 * segment in front of it (an edited flow): the README says the held FIN
 * goes out when the bytes before it are decided, i.e. with the segment that
 * fills the gap, not only when the ESME retransmits it. */
static void test_review3_held_fin_released(void **state)
{
	(void)state;
	struct fx *x = fx_bound_opted_out(false);
	uint8_t b[256], c[256];
	uint32_t n = mk_submit(b, sizeof(b), 60, "447700900999");
	send_data(x, true, b, n); /* blocked: the flow is edited */
	uint32_t s0 = x->smsc.rcv_len;
	uint32_t bn = mk_submit(b, sizeof(b), 61, "447700900998");
	uint32_t cn = mk_submit(c, sizeof(c), 62, "447700900997");
	uint32_t q = x->esme.snd_nxt;
	send_raw(x, true, q + bn, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH | DP_EDIT_TCP_FIN, c, cn);
	assert_int_equal(x->smsc.fins, 0); /* held with its bytes */
	send_raw(x, true, q, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, b, bn);
	x->esme.snd_nxt = q + bn + cn + 1;
	uint8_t want[512];
	memcpy(want, b, bn);
	memcpy(want + bn, c, cn);
	assert_stream(&x->smsc, s0, want, bn + cn);
	assert_int_equal(x->smsc.fins, 1);
	assert_int_equal(x->smsc.fin_end, x->smsc.peer_isn + 1 + x->smsc.rcv_len + 1);
	fx_free(x);
}

int main(void)
{
	if (dp_tk_eal_init("test_dp_inline_multi", "dpmulti", "256") < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_partial_block),
	    cmocka_unit_test(test_partial_split),
	    cmocka_unit_test(test_smsc_refuses),
	    cmocka_unit_test(test_pending_full),
	    cmocka_unit_test(test_all_blocked),
	    cmocka_unit_test(test_all_blocked_v50),
	    cmocka_unit_test(test_distribution_list),
	    cmocka_unit_test(test_none_blocked),
	    cmocka_unit_test(test_monitor),
	    cmocka_unit_test(test_review_resp_every_byte),
	    cmocka_unit_test(test_review_resp_lists),
	    cmocka_unit_test(test_review_resp_grows_past_segment),
	    cmocka_unit_test(test_review_resp_v50_tlvs),
	    cmocka_unit_test(test_review_resp_malformed),
	    cmocka_unit_test(test_review_resp_over_254),
	    cmocka_unit_test(test_review_long_pdu_held),
	    cmocka_unit_test(test_review_duplicate_sequence),
	    cmocka_unit_test(test_review_pending_lifetime),
	    cmocka_unit_test(test_review_ts_reordered),
	    cmocka_unit_test(test_review_ts_wrap),
	    cmocka_unit_test(test_review_ts_missing_option),
	    cmocka_unit_test(test_review_ts_injected),
	    cmocka_unit_test(test_review3_answer_after_partial_smsc_pdu),
	    cmocka_unit_test(test_review3_fin_after_waiting_answer),
	    cmocka_unit_test(test_review3_answer_after_skipped_smsc_pdu),
	    cmocka_unit_test(test_review3_jumbo_segment_around_block),
	    cmocka_unit_test(test_review3_many_answers_one_segment),
	    cmocka_unit_test(test_review3_all_blocked_answer_too_long),
	    cmocka_unit_test(test_review3_jumbo_many_pdus),
	    cmocka_unit_test(test_review3_ipv6_vlan_paths),
	    cmocka_unit_test(test_review3_reset_on_first_edited_frame),
	    cmocka_unit_test(test_review3_answer_with_smsc_gap),
	    cmocka_unit_test(test_review3_suppressed_probe_keeps_ack),
	    cmocka_unit_test(test_review3_held_fin_released),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dp_eal_cleanup();
	return rc;
}
