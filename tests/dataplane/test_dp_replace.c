/* replace_sm and broadcast_sm from the ESME are judged like a submit, on the
 * engine in process: a model ESME and a model SMSC exchange TCP segments
 * through dp_engine_frame_rw(); what each receives is reassembled by
 * sequence number in its own space.
 *
 *  - replace_sm with spam (the text of a scheduled clean message replaced):
 *    a block event naming replace_sm; inline, nothing reaches the SMSC and
 *    the ESME gets replace_sm_resp (header only) with the category's status
 *    and the request's sequence_number; later PDUs and ACKs stay consistent;
 *  - a clean replace_sm passes byte for byte; monitor mode forwards spam;
 *  - a suspended customer cannot replace; sender-ID checks and rate limits
 *    apply; the text is read in the SMSC default alphabet; the steps that
 *    need a destination (velocity, bulk) do not refuse it;
 *  - broadcast_sm the same, its text decoded by its data_coding, answered
 *    with broadcast_sm_resp (empty message_id, the rule named in
 *    additional_status_info_text on an SMPP 5.0 bind).
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

#define RXCAP 8192

struct peer {
	uint32_t isn;	   /* own ISN */
	uint32_t snd_nxt;  /* own next sequence number */
	uint32_t peer_isn; /* the other side's ISN */
	uint8_t rx[RXCAP]; /* received stream, offset 0 = peer_isn + 1 */
	uint8_t have[RXCAP];
	uint32_t rcv_len;  /* contiguous bytes received */
	uint32_t last_ack; /* ack field of the last segment received */
	uint32_t conflicts; /* a byte received twice with different values */
	uint32_t bad_csum;
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
	struct dp_customer cust[2]; /* "alpha" active, "bad" suspended */
	unsigned id;
};

static void sink(void *arg, const struct dp_event *ev)
{
	struct fx *x = arg;
	if (x->n_ev < 64)
		x->ev[x->n_ev++] = *ev;
}

/* A frame arrives at `to`: its payload lands at its place in the stream. */
static void arrive(struct peer *to, const uint8_t *fr, uint32_t len)
{
	assert_true(len >= 14 + 20 + 20);
	struct dp_edit_pkt pkt;
	uint8_t cp[2048];
	assert_true(len <= sizeof(cp));
	memcpy(cp, fr, len);
	assert_int_equal(dp_edit_pkt_parse(&pkt, cp + 14, len - 14), DP_EDIT_OK);
	if (!dp_edit_pkt_csum_ok(&pkt))
		to->bad_csum++;
	const uint8_t *l4 = pkt.l4;
	uint8_t flags = l4[13];
	if (flags & DP_EDIT_TCP_ACK)
		to->last_ack = dp_tk_get32(l4 + 8);
	if (flags & DP_EDIT_TCP_SYN)
		return;
	uint32_t off = dp_tk_get32(l4 + 4) - (to->peer_isn + 1);
	assert_true(dp_tk_rx_place(to->rx, to->have, RXCAP, off, pkt.l4 + pkt.l4_len,
				   pkt.payload_len, &to->conflicts, &to->rcv_len));
}

static void tx_cb(void *arg, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len)
{
	struct fx *x = arg;
	(void)pair;
	arrive(to_smsc ? &x->smsc : &x->esme, fr, len);
}

/* One IPv4 segment 198.18.0.1:40000 (ESME) <-> 198.18.0.2:2775 (SMSC)
 * through the engine; forwarded frames reach the other peer. */
static enum dp_action send_raw(struct fx *x, bool from_esme, uint32_t seq, uint8_t flags,
			       const uint8_t *pl, uint32_t n)
{
	struct peer *me = from_esme ? &x->esme : &x->smsc;
	struct peer *other = from_esme ? &x->smsc : &x->esme;
	uint8_t fr[2048];
	assert_true(n <= sizeof(fr) - 54);
	memset(fr, 0, sizeof(fr));
	memcpy(fr, from_esme ? "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
			     : "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	dp_tk_put16(fr + 12, 0x0800);
	uint8_t *ip = fr + 14;
	ip[0] = 0x45;
	dp_tk_put16(ip + 2, (uint16_t)(40 + n));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12,
	       from_esme ? "\xc6\x12\x00\x01\xc6\x12\x00\x02" : "\xc6\x12\x00\x02\xc6\x12\x00\x01", 8);
	uint8_t *t = ip + 20;
	dp_tk_put16(t, from_esme ? 40000 : 2775);
	dp_tk_put16(t + 2, from_esme ? 2775 : 40000);
	dp_tk_put32(t + 4, seq);
	/* the ack: what this peer received contiguously, in its space */
	dp_tk_put32(t + 8, (flags & DP_EDIT_TCP_ACK) ? me->peer_isn + 1 + me->rcv_len : 0);
	t[12] = 5 << 4;
	t[13] = flags;
	dp_tk_put16(t + 14, 65535);
	if (n != 0)
		memcpy(t + 20, pl, n);
	uint32_t len = 54 + n;
	struct dp_edit_pkt pkt;
	assert_int_equal(dp_edit_pkt_parse(&pkt, ip, len - 14), DP_EDIT_OK);
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

static void send_ack(struct fx *x, bool from_esme)
{
	struct peer *me = from_esme ? &x->esme : &x->smsc;
	send_raw(x, from_esme, me->snd_nxt, DP_EDIT_TCP_ACK, NULL, 0);
}

static const char rules_txt[] =
    "rule id=9002 cat=spam target=norm action=block pat=/win a free (iphone|prize)/ "
    "desc=\"prize spam\"\n";

static uint32_t enc(const struct smpp_pdu *m, uint8_t *out, size_t cap)
{
	size_t n = 0;
	assert_int_equal(smpp_pdu_encode(m, out, cap, &n), SMPP_OK);
	return (uint32_t)n;
}

/* An engine in inline (monitor false) or monitor mode with the prize-spam
 * rule, customers "alpha" (active) and "bad" (suspended), after the TCP
 * handshake. `tune` may change the settings first (NULL: defaults). */
static struct fx *fx_new_tuned(bool monitor, void (*tune)(struct dp_settings *))
{
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	dp_tk_settings(&x->s);
	x->s.edit_flows = 8;
	x->s.monitor = monitor;
	if (tune != NULL)
		tune(&x->s);
	static unsigned next_id;
	x->id = next_id++ % DP_MAX_WORKERS;
	x->e = dp_engine_create(x->id, &x->s, 0);
	assert_non_null(x->e);
	dp_engine_set_event_sink(x->e, sink, x);
	dp_engine_set_tx(x->e, tx_cb, x);
	dp_engine_set_time(x->e, 1000000);
	dp_engine_set_time_ns(x->e, 1000000ull * 1000000ull);
	struct pat_error err;
	assert_int_equal(dp_tk_rules_load(&x->rules, &x->rs, x->id, x->s.concat_max, "t.rules",
					  rules_txt, sizeof(rules_txt) - 1, &err),
			 PAT_OK);
	snprintf(x->cust[0].system_id, DP_SYSTEM_ID_MAX, "alpha");
	x->cust[0].any_sender = 1;
	snprintf(x->cust[1].system_id, DP_SYSTEM_ID_MAX, "bad");
	x->cust[1].any_sender = 1;
	x->cust[1].standing = DP_STANDING_SUSPENDED;
	x->snap.generation = 1;
	x->snap.rules = &x->rules;
	x->snap.cust = x->cust;
	x->snap.n_cust = 2;
	dp_engine_set_snapshot(x->e, &x->snap);

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
	return fx_new_tuned(monitor, NULL);
}

static void fx_free(struct fx *x)
{
	dp_engine_free(x->e);
	dp_tk_rules_free(&x->rules, x->rs, x->id);
	free(x);
}

/* bind_transceiver as `sid` with interface_version `version`, answered OK. */
static void bind_as(struct fx *x, const char *sid, uint8_t version)
{
	uint8_t b[256];
	struct smpp_pdu m = {.hdr = {.command_id = 0x09, .sequence_number = 1},
			     .system_id = dp_tk_sv(sid),
			     .password = dp_tk_sv("pw"),
			     .interface_version = version};
	send_data(x, true, b, enc(&m, b, sizeof(b)));
	struct smpp_pdu r = {.hdr = {.command_id = 0x80000009u, .sequence_number = 1},
			     .system_id = dp_tk_sv("SMSC")};
	send_data(x, false, b, enc(&r, b, sizeof(b)));
}

/* ------------------------------------------------------------- PDUs */

/* replace_sm of message `msgid` from `src` (TON `ton`) with user data
 * `ud` (n octets, in the SMSC default alphabet: replace_sm names no
 * data_coding), scheduled for later. */
static uint32_t mk_replace(uint8_t *out, size_t cap, uint32_t seq, uint8_t ton, const char *src,
			   const char *ud, uint32_t n)
{
	struct smpp_pdu m = {.hdr = {.command_id = 0x07, .sequence_number = seq},
			     .message_id = dp_tk_sv("MID-100"),
			     .source_addr_ton = ton,
			     .source_addr_npi = ton == 1 ? 1 : 0,
			     .source_addr = dp_tk_sv(src),
			     .schedule_delivery_time = dp_tk_sv("261129090000000+"),
			     .registered_delivery = 1,
			     .short_message = {(const uint8_t *)ud, n}};
	return enc(&m, out, cap);
}

static uint32_t mk_replace_text(uint8_t *out, size_t cap, uint32_t seq, const char *text)
{
	return mk_replace(out, cap, seq, 5, "AlphaShop", text, (uint32_t)strlen(text));
}

/* submit_sm scheduled for later: the message a replace_sm changes. */
static uint32_t mk_submit(uint8_t *out, size_t cap, uint32_t seq, const char *text)
{
	struct smpp_pdu m = {.hdr = {.command_id = 0x04, .sequence_number = seq},
			     .source_addr_ton = 5,
			     .source_addr = dp_tk_sv("AlphaShop"),
			     .dest_addr_ton = 1,
			     .dest_addr_npi = 1,
			     .destination_addr = dp_tk_sv("447700900002"),
			     .schedule_delivery_time = dp_tk_sv("261129090000000+"),
			     .registered_delivery = 1,
			     .data_coding = 0,
			     .short_message = dp_tk_sv(text)};
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

/* broadcast_sm (SMPP 5.0) from AlphaShop: the text in message_payload with
 * `dc`, the mandatory broadcast TLVs (one cell area). */
static uint32_t mk_broadcast(uint8_t *out, size_t cap, uint32_t seq, const char *sid_src,
			     uint8_t dc, const uint8_t *payload, uint16_t plen)
{
	uint8_t tlv[512];
	size_t tl = 0;
	/* broadcast_area_identifier: format 0 (alias), "CELL-17" */
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x0606, "\x00" "CELL-17", 8), SMPP_OK);
	/* broadcast_content_type: network 1 (GSM), service 0x0001 */
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x0601, "\x01\x00\x01", 3), SMPP_OK);
	/* broadcast_rep_num 1, broadcast_frequency_interval 10 minutes */
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x0604, "\x00\x01", 2), SMPP_OK);
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x0605, "\x09\x00\x0a", 3), SMPP_OK);
	assert_int_equal(smpp_tlv_put(tlv, sizeof(tlv), &tl, 0x0424, payload, plen), SMPP_OK);
	struct smpp_pdu m = {.hdr = {.command_id = 0x111, .sequence_number = seq},
			     .service_type = dp_tk_sv("CMT"),
			     .source_addr_ton = 5,
			     .source_addr = dp_tk_sv(sid_src),
			     .message_id = dp_tk_sv("BC-1"),
			     .data_coding = dc,
			     .tlvs = {tlv, (uint32_t)tl}};
	return enc(&m, out, cap);
}

/* `s` (ASCII) as UCS-2 big-endian in out; returns the octets. */
static uint16_t ucs2(uint8_t *out, const char *s)
{
	uint16_t n = 0;
	for (; *s; s++) {
		out[n++] = 0;
		out[n++] = (uint8_t)*s;
	}
	return n;
}

/* ------------------------------------------------------------ checks */

/* The receiver's stream, from `from` on, is exactly `want`. */
static void assert_stream(const struct peer *p, uint32_t from, const uint8_t *want, uint32_t n)
{
	assert_int_equal(p->conflicts, 0);
	assert_int_equal(p->bad_csum, 0);
	assert_int_equal(p->rcv_len, from + n);
	assert_memory_equal(p->rx + from, want, n);
	assert_false(p->have[from + n]);
}

/* Both sides acknowledge everything: each sees, in its own space, an ACK
 * of everything it sent. */
static void assert_acks_consistent(struct fx *x)
{
	send_ack(x, false);
	send_ack(x, true);
	assert_int_equal(x->esme.last_ack, x->esme.snd_nxt);
	assert_int_equal(x->smsc.last_ack, x->smsc.snd_nxt);
}

/* The last verdict event since event index `from`; fails if there is none. */
static const struct dp_event *last_verdict(const struct fx *x, unsigned from)
{
	for (unsigned i = x->n_ev; i-- > from;)
		if (x->ev[i].type == DP_EV_VERDICT)
			return &x->ev[i];
	fail_msg("no verdict event");
	return NULL;
}

static unsigned verdicts_since(const struct fx *x, unsigned from)
{
	unsigned n = 0;
	for (unsigned i = from; i < x->n_ev; i++)
		n += x->ev[i].type == DP_EV_VERDICT;
	return n;
}

/* The name the event log gives the event's PDU. */
static const char *kind(const struct dp_event *ev)
{
	return dp_cmd_index_name(dp_cmd_index(ev->command_id));
}

/* The ESME's stream from `from` holds one header-only PDU `cmd`. */
static void assert_header_resp(const struct peer *p, uint32_t from, uint32_t cmd,
			       uint32_t status, uint32_t seq)
{
	assert_int_equal(p->rcv_len, from + 16);
	assert_int_equal(dp_tk_get32(p->rx + from), 16);
	assert_int_equal(dp_tk_get32(p->rx + from + 4), cmd);
	assert_int_equal(dp_tk_get32(p->rx + from + 8), status);
	assert_int_equal(dp_tk_get32(p->rx + from + 12), seq);
}

/* ------------------------------------------------------ replace_sm */

/* A clean scheduled message passes; its replacement with prize spam is
 * blocked: removed from the SMSC's stream, answered by replace_sm_resp. */
static void test_replace_spam_inline(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_as(x, "alpha", 0x34);
	uint8_t b[512];
	uint32_t s0 = x->smsc.rcv_len;
	uint32_t n = mk_submit(b, sizeof(b), 10, "See you at the shop tomorrow");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_stream(&x->smsc, s0, b, n);
	uint32_t e0 = x->esme.rcv_len;
	n = mk_submit_resp(b, 10, "MID-100");
	assert_int_equal(send_data(x, false, b, n), DP_ACT_FORWARD);
	assert_stream(&x->esme, e0, b, n);

	s0 = x->smsc.rcv_len;
	e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	n = mk_replace_text(b, sizeof(b), 11, "You could WIN a free iPhone, reply now");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(verdicts_since(x, ev0), 1);
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_CONTENT);
	assert_int_equal(ev->rule_num, 9002);
	assert_int_equal(ev->command_id, 0x07);
	assert_string_equal(kind(ev), "replace_sm");
	assert_int_equal(ev->sequence, 11);
	assert_int_equal(ev->command_status, 0x45);
	assert_string_equal(ev->src, "AlphaShop");
	assert_string_equal(ev->dst, "");
	assert_string_equal(ev->text, "You could WIN a free iPhone, reply now");
	/* nothing toward the SMSC; the ESME's answer: replace_sm_resp, 0x45, seq 11 */
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_header_resp(&x->esme, e0, 0x80000007u, 0x45, 11);
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->replaces, 1);
	assert_int_equal(c->submits, 1);
	assert_int_equal(c->edit_pdus_removed, 1);
	assert_int_equal(c->pdus_by_cmd[dp_cmd_index(0x07)], 1);

	/* The ESME retransmits it before the answer's ACK: still nothing for the SMSC. */
	send_raw(x, true, x->esme.snd_nxt - n, DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, b, n);
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_int_equal(x->esme.conflicts, 0);

	/* Later PDUs: both streams continue right after the edit. */
	e0 += 16;
	n = mk_replace_text(b, sizeof(b), 12, "Opening at 9 tomorrow");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_stream(&x->smsc, s0, b, n);
	size_t rn = 0;
	assert_int_equal(smpp_encode_empty(0x80000007u, 12, 0, b, sizeof(b), &rn), SMPP_OK);
	assert_int_equal(send_data(x, false, b, (uint32_t)rn), DP_ACT_FORWARD);
	assert_stream(&x->esme, e0, b, (uint32_t)rn);
	assert_acks_consistent(x);
	fx_free(x);
}

/* A clean replace_sm passes byte for byte, in one segment or split at
 * every byte (held until whole, then sent unchanged); spam split the same
 * way never reaches the SMSC, not even its first bytes. */
static void test_replace_clean_and_split(void **state)
{
	(void)state;
	uint8_t clean[512], spam[512];
	uint32_t cn = mk_replace_text(clean, sizeof(clean), 20, "Doors open at 9, see you there");
	uint32_t sn = mk_replace_text(spam, sizeof(spam), 21, "win a free prize today!");
	for (uint32_t cut = 0; cut < cn; cut += 7) {
		struct fx *x = fx_new(false);
		bind_as(x, "alpha", 0x34);
		uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
		unsigned ev0 = x->n_ev;
		if (cut == 0) {
			assert_int_equal(send_data(x, true, clean, cn), DP_ACT_FORWARD);
		} else {
			send_data(x, true, clean, cut);
			assert_int_equal(x->smsc.rcv_len, s0); /* held */
			send_data(x, true, clean + cut, cn - cut);
		}
		assert_stream(&x->smsc, s0, clean, cn);
		assert_int_equal(last_verdict(x, ev0)->verdict, DP_VERDICT_PASS);
		assert_string_equal(kind(last_verdict(x, ev0)), "replace_sm");
		size_t rn = 0;
		uint8_t r[32];
		assert_int_equal(smpp_encode_empty(0x80000007u, 20, 0, r, sizeof(r), &rn), SMPP_OK);
		send_data(x, false, r, (uint32_t)rn);
		assert_stream(&x->esme, e0, r, (uint32_t)rn);

		s0 = x->smsc.rcv_len;
		e0 = x->esme.rcv_len;
		uint32_t c2 = cut < sn ? cut : sn - 1;
		if (c2 == 0) {
			send_data(x, true, spam, sn);
		} else {
			send_data(x, true, spam, c2);
			send_data(x, true, spam + c2, sn - c2);
		}
		assert_int_equal(x->smsc.rcv_len, s0);
		assert_header_resp(&x->esme, e0, 0x80000007u, 0x45, 21);
		assert_acks_consistent(x);
		fx_free(x);
	}
}

/* Monitor mode: the spam replacement is forwarded unchanged, and its
 * verdict recorded. */
static void test_replace_monitor(void **state)
{
	(void)state;
	struct fx *x = fx_new(true);
	bind_as(x, "alpha", 0x34);
	uint8_t b[512];
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	uint32_t n = mk_replace_text(b, sizeof(b), 30, "win a free iphone now");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_stream(&x->smsc, s0, b, n);
	assert_int_equal(x->esme.rcv_len, e0);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_CONTENT);
	assert_true(ev->monitor);
	assert_string_equal(kind(ev), "replace_sm");
	assert_int_equal(dp_engine_counters(x->e)->edit_pdus_removed, 0);
	assert_acks_consistent(x);
	fx_free(x);
}

/* A suspended customer cannot replace either: standing decides, before
 * the text, and the answer carries the standing category's status. */
static void tune_standing_status(struct dp_settings *s)
{
	s->status[DP_CAT_STANDING] = 0x61; /* configured: not the content status */
}

static void test_replace_suspended(void **state)
{
	(void)state;
	struct fx *x = fx_new_tuned(false, tune_standing_status);
	bind_as(x, "bad", 0x34);
	uint8_t b[512];
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	uint32_t n = mk_replace_text(b, sizeof(b), 40, "Doors open at 9");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_STANDING);
	assert_string_equal(ev->rule_id, "builtin:standing");
	assert_int_equal(ev->command_status, 0x61);
	assert_string_equal(ev->system_id, "bad");
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_header_resp(&x->esme, e0, 0x80000007u, 0x61, 40);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Sender-ID checks on source_addr, and rate limits counted with submits. */
static void test_replace_sender_and_rate(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	x->cust[0].rate_per_s = 2;
	x->cust[0].burst = 2;
	x->snap.generation = 2;
	dp_engine_set_snapshot(x->e, &x->snap);
	bind_as(x, "alpha", 0x34);
	uint8_t b[512];

	/* An alphanumeric sender with TON 1 (international) is refused. */
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	uint32_t n = mk_replace(b, sizeof(b), 50, 1, "AlphaShop", "Doors open at 9", 15);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->category, DP_CAT_SENDER);
	assert_string_equal(ev->rule_id, "builtin:sender.ton");
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_header_resp(&x->esme, e0, 0x80000007u, 0x0a, 50);

	/* Two tokens a second: that refusal took one; a submit takes the
	 * other; the replace_sm after it is throttled. */
	s0 = x->smsc.rcv_len;
	n = mk_submit(b, sizeof(b), 51, "Doors open at 9");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_stream(&x->smsc, s0, b, n);
	e0 = x->esme.rcv_len;
	n = mk_submit_resp(b, 51, "MID-51");
	send_data(x, false, b, n);
	e0 += n;
	s0 = x->smsc.rcv_len;
	ev0 = x->n_ev;
	n = mk_replace_text(b, sizeof(b), 52, "Doors open at 10");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	ev = last_verdict(x, ev0);
	assert_int_equal(ev->verdict, DP_VERDICT_THROTTLE);
	assert_int_equal(ev->category, DP_CAT_RATE);
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_header_resp(&x->esme, e0, 0x80000007u, 0x58, 52);
	assert_acks_consistent(x);
	fx_free(x);
}

/* replace_sm names no data_coding: its text is read in the SMSC default
 * alphabet (GSM 03.38), so 0x02 is '$' and 0x00 '@', and a rule sees the
 * text the handset would show. */
static void test_replace_gsm_default_text(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_as(x, "alpha", 0x34);
	uint8_t b[512];
	/* "Only $5 at shop@home" in GSM 7-bit, one septet per octet */
	static const char ud[] = "Only \x02" "5 at shop\x00home";
	unsigned ev0 = x->n_ev;
	uint32_t s0 = x->smsc.rcv_len;
	uint32_t n = mk_replace(b, sizeof(b), 60, 5, "AlphaShop", ud, sizeof(ud) - 1);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_stream(&x->smsc, s0, b, n);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->verdict, DP_VERDICT_PASS);
	assert_int_equal(ev->data_coding, 0);
	assert_string_equal(ev->text, "Only $5 at shop@home");
	/* GSM '@' (0x00) between words still lets the rule match */
	static const char spam[] = "win\x00" "a free prize";
	ev0 = x->n_ev;
	n = mk_replace(b, sizeof(b), 61, 5, "AlphaShop", spam, sizeof(spam) - 1);
	send_data(x, true, b, n);
	ev = last_verdict(x, ev0);
	assert_string_equal(ev->text, "win@a free prize");
	assert_int_equal(ev->verdict, DP_VERDICT_PASS); /* "win@a" is not "win a" */
	static const char spam2[] = "Claim \x02" "0: win a free prize";
	ev0 = x->n_ev;
	n = mk_replace(b, sizeof(b), 62, 5, "AlphaShop", spam2, sizeof(spam2) - 1);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	ev = last_verdict(x, ev0);
	assert_string_equal(ev->text, "Claim $0: win a free prize");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_acks_consistent(x);
	fx_free(x);
}

/* The steps that need a destination are skipped: with a velocity limit of
 * one message per recipient and bulk at two recipients, repeated identical
 * replacements (no recipient at all) all pass, while the same text as
 * submits to one subscriber is refused as velocity. */
static void tune_tight(struct dp_settings *s)
{
	s->velocity_max = 1;
	s->bulk_recipients = 2;
}

static void test_replace_no_destination_steps(void **state)
{
	(void)state;
	struct fx *x = fx_new_tuned(false, tune_tight);
	bind_as(x, "alpha", 0x34);
	uint8_t b[512];
	for (uint32_t i = 0; i < 4; i++) {
		unsigned ev0 = x->n_ev;
		uint32_t s0 = x->smsc.rcv_len;
		uint32_t n = mk_replace_text(b, sizeof(b), 70 + i, "Doors open at 9");
		assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
		assert_stream(&x->smsc, s0, b, n);
		assert_int_equal(last_verdict(x, ev0)->verdict, DP_VERDICT_PASS);
	}
	assert_int_equal(dp_engine_counters(x->e)->replaces, 4);
	/* the same text submitted twice to one subscriber: velocity */
	unsigned ev0 = x->n_ev;
	uint32_t n = mk_submit(b, sizeof(b), 80, "Doors open at 9");
	send_data(x, true, b, n);
	assert_int_equal(last_verdict(x, ev0)->verdict, DP_VERDICT_PASS);
	ev0 = x->n_ev;
	n = mk_submit(b, sizeof(b), 81, "Doors open at 9");
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	assert_int_equal(last_verdict(x, ev0)->category, DP_CAT_VELOCITY);
	fx_free(x);
}

/* A message submitted in UCS-2 replaced with UCS-2 spam: read as GSM it
 * is '@'-separated letters, so an even-length replacement that passes is
 * read again as UCS-2, and blocked on that reading. A clean UCS-2
 * replacement still passes, byte for byte. */
static void test_replace_ucs2(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_as(x, "alpha", 0x34);
	uint8_t b[512], ud[256];
	uint16_t un = ucs2(ud, "See you at the shop tomorrow");
	struct smpp_pdu m = {.hdr = {.command_id = 0x04, .sequence_number = 86},
			     .source_addr_ton = 5,
			     .source_addr = dp_tk_sv("AlphaShop"),
			     .dest_addr_ton = 1,
			     .dest_addr_npi = 1,
			     .destination_addr = dp_tk_sv("447700900002"),
			     .schedule_delivery_time = dp_tk_sv("261129090000000+"),
			     .data_coding = 0x08,
			     .short_message = {ud, un}};
	uint32_t n = enc(&m, b, sizeof(b));
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);

	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	un = ucs2(ud, "You WIN a free iPhone");
	n = mk_replace(b, sizeof(b), 87, 5, "AlphaShop", (const char *)ud, un);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	assert_int_equal(verdicts_since(x, ev0), 1);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->rule_num, 9002);
	assert_int_equal(ev->data_coding, 0x08);
	assert_string_equal(ev->text, "You WIN a free iPhone");
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_header_resp(&x->esme, e0, 0x80000007u, 0x45, 87);

	s0 = x->smsc.rcv_len;
	ev0 = x->n_ev;
	un = ucs2(ud, "Doors open at 9");
	n = mk_replace(b, sizeof(b), 88, 5, "AlphaShop", (const char *)ud, un);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_stream(&x->smsc, s0, b, n);
	ev = last_verdict(x, ev0);
	assert_int_equal(ev->verdict, DP_VERDICT_PASS);
	assert_int_equal(ev->data_coding, 0); /* the GSM reading is recorded */
	assert_int_equal(ev->text[0], '@');
	assert_acks_consistent(x);
	fx_free(x);
}

/* A replace_sm that does not decode (sm_length past the PDU) cannot be
 * judged: failure_scan (closed by default) blocks it, and it is answered
 * like any other blocked replace_sm. */
static void test_replace_malformed(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_as(x, "alpha", 0x34);
	uint8_t b[512];
	uint32_t n = mk_replace_text(b, sizeof(b), 85, "Doors open at 9");
	b[n - 15 - 1] = 200; /* sm_length: 200 octets, 15 follow */
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->category, DP_CAT_UNINSPECTABLE);
	assert_string_equal(ev->rule_id, "builtin:malformed");
	assert_string_equal(kind(ev), "replace_sm");
	assert_int_equal(dp_engine_counters(x->e)->malformed, 1);
	assert_int_equal(x->smsc.rcv_len, s0);
	assert_header_resp(&x->esme, e0, 0x80000007u, 0x45, 85);
	assert_acks_consistent(x);
	fx_free(x);
}

/* ---------------------------------------------------- broadcast_sm */

/* Prize spam to every handset of a cell, in UCS-2 (found only when the text
 * is decoded by the PDU's data_coding): removed, answered with
 * broadcast_sm_resp: the status, the sequence_number, an empty message_id
 * and (SMPP 5.0) the rule in additional_status_info_text. */
static void test_broadcast_spam_inline(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_as(x, "alpha", 0x50);
	uint8_t b[512], pl[256];
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	uint16_t pn = ucs2(pl, "Everyone can WIN A FREE IPHONE today");
	uint32_t n = mk_broadcast(b, sizeof(b), 90, "AlphaShop", 0x08, pl, pn);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	assert_int_equal(verdicts_since(x, ev0), 1);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_CONTENT);
	assert_int_equal(ev->rule_num, 9002);
	assert_int_equal(ev->data_coding, 0x08);
	assert_string_equal(kind(ev), "broadcast_sm");
	assert_string_equal(ev->text, "Everyone can WIN A FREE IPHONE today");
	assert_int_equal(x->smsc.rcv_len, s0);
	/* the answer */
	assert_true(x->esme.rcv_len > e0);
	uint32_t rl = dp_tk_get32(x->esme.rx + e0);
	assert_int_equal(x->esme.rcv_len, e0 + rl);
	struct smpp_pdu d;
	assert_int_equal(smpp_pdu_decode(x->esme.rx + e0, rl, NULL, &d), SMPP_OK);
	assert_int_equal(d.hdr.command_id, 0x80000111u);
	assert_int_equal(d.hdr.command_status, 0x45);
	assert_int_equal(d.hdr.sequence_number, 90);
	assert_false(d.body_absent);
	assert_int_equal(d.message_id.len, 0);
	assert_int_equal(x->esme.rx[e0 + 16], 0); /* the empty C-Octet string */
	struct smpp_tlv t;
	assert_true(smpp_tlv_find(&d, 0x001d, &t));
	assert_memory_equal(t.val, "smsfw: 9002", 11);
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->broadcasts, 1);
	assert_int_equal(c->submits, 0);
	assert_int_equal(c->edit_pdus_removed, 1);

	/* the streams continue: a clean broadcast passes byte for byte */
	e0 += rl;
	s0 = x->smsc.rcv_len;
	pn = ucs2(pl, "Road closed on Main St until 6pm");
	n = mk_broadcast(b, sizeof(b), 91, "AlphaShop", 0x08, pl, pn);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_FORWARD);
	assert_stream(&x->smsc, s0, b, n);
	size_t rn = 0;
	assert_int_equal(smpp_encode_msgid_resp(0x111, 91, 0, dp_tk_sv("BC-91"),
						(struct smpp_view){NULL, 0}, b, sizeof(b), &rn),
			 SMPP_OK);
	assert_int_equal(send_data(x, false, b, (uint32_t)rn), DP_ACT_FORWARD);
	assert_stream(&x->esme, e0, b, (uint32_t)rn);
	assert_acks_consistent(x);
	fx_free(x);
}

/* Monitor mode forwards a spam broadcast and records it; SMPP 3.4 binds
 * get the answer without the TLV (inline). */
static void test_broadcast_monitor_and_v34(void **state)
{
	(void)state;
	uint8_t b[512], pl[256];
	uint16_t pn = ucs2(pl, "win a free prize in the mall");
	for (int monitor = 1; monitor >= 0; monitor--) {
		struct fx *x = fx_new(monitor != 0);
		bind_as(x, "alpha", 0x34);
		uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
		unsigned ev0 = x->n_ev;
		uint32_t n = mk_broadcast(b, sizeof(b), 95, "AlphaShop", 0x08, pl, pn);
		enum dp_action a = send_data(x, true, b, n);
		const struct dp_event *ev = last_verdict(x, ev0);
		assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
		assert_string_equal(kind(ev), "broadcast_sm");
		if (monitor) {
			assert_int_equal(a, DP_ACT_FORWARD);
			assert_true(ev->monitor);
			assert_stream(&x->smsc, s0, b, n);
			assert_int_equal(x->esme.rcv_len, e0);
		} else {
			assert_int_equal(a, DP_ACT_DROP);
			assert_int_equal(x->smsc.rcv_len, s0);
			/* header + the empty message_id, no TLV */
			assert_int_equal(x->esme.rcv_len, e0 + 17);
			assert_int_equal(dp_tk_get32(x->esme.rx + e0), 17);
			assert_int_equal(dp_tk_get32(x->esme.rx + e0 + 4), 0x80000111u);
			assert_int_equal(dp_tk_get32(x->esme.rx + e0 + 8), 0x45);
			assert_int_equal(dp_tk_get32(x->esme.rx + e0 + 12), 95);
			assert_int_equal(x->esme.rx[e0 + 16], 0);
		}
		assert_acks_consistent(x);
		fx_free(x);
	}
}

/* A suspended customer cannot broadcast, even a clean text. */
static void test_broadcast_suspended(void **state)
{
	(void)state;
	struct fx *x = fx_new(false);
	bind_as(x, "bad", 0x50);
	uint8_t b[512], pl[256];
	uint32_t s0 = x->smsc.rcv_len, e0 = x->esme.rcv_len;
	unsigned ev0 = x->n_ev;
	uint16_t pn = ucs2(pl, "Road closed on Main St");
	uint32_t n = mk_broadcast(b, sizeof(b), 99, "AlphaShop", 0x08, pl, pn);
	assert_int_equal(send_data(x, true, b, n), DP_ACT_DROP);
	const struct dp_event *ev = last_verdict(x, ev0);
	assert_int_equal(ev->category, DP_CAT_STANDING);
	assert_int_equal(x->smsc.rcv_len, s0);
	struct smpp_pdu d;
	assert_true(x->esme.rcv_len > e0);
	assert_int_equal(smpp_pdu_decode(x->esme.rx + e0, x->esme.rcv_len - e0, NULL, &d), SMPP_OK);
	assert_int_equal(d.hdr.command_id, 0x80000111u);
	assert_int_equal(d.hdr.command_status, 0x45);
	assert_int_equal(d.hdr.sequence_number, 99);
	struct smpp_tlv t;
	assert_true(smpp_tlv_find(&d, 0x001d, &t));
	assert_memory_equal(t.val, "smsfw: builtin:standing", 23);
	assert_acks_consistent(x);
	fx_free(x);
}

int main(void)
{
	if (dp_tk_eal_init("test_dp_replace", "dprepl", "256") < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replace_spam_inline),
	    cmocka_unit_test(test_replace_clean_and_split),
	    cmocka_unit_test(test_replace_monitor),
	    cmocka_unit_test(test_replace_suspended),
	    cmocka_unit_test(test_replace_sender_and_rate),
	    cmocka_unit_test(test_replace_gsm_default_text),
	    cmocka_unit_test(test_replace_no_destination_steps),
	    cmocka_unit_test(test_replace_malformed),
	    cmocka_unit_test(test_replace_ucs2),
	    cmocka_unit_test(test_broadcast_spam_inline),
	    cmocka_unit_test(test_broadcast_monitor_and_v34),
	    cmocka_unit_test(test_broadcast_suspended),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dp_eal_cleanup();
	return rc;
}
