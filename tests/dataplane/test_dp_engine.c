/* The engine end to end on crafted frames (no ports): frame parsing
 * (802.1Q, QinQ, IPv6 extension headers, fragments), flows (table full,
 * timeouts), sessions, and every verdict step with a fake clock. */
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
#include <rte_hash_crc.h>

#include "dp.h"
#include "dp_testkit.h"
#include "pat.h"
#include "smpp.h"

/* ------------------------------------------------------------ frames */

struct fb {
	uint8_t b[2048];
	uint32_t len;
};

struct tcp_spec {
	int v6;             /* 0: IPv4 */
	int n_vlan;         /* 0..2 */
	int v6_ext;         /* IPv6: add hop-by-hop and destination options */
	int frag;           /* IPv4 MF / IPv6 fragment header */
	uint8_t src_last, dst_last; /* last address byte: 198.18.0.x / 2001:db8::x */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
};

static void mk_tcp(struct fb *f, const struct tcp_spec *t, const uint8_t *pl, uint32_t plen)
{
	uint8_t *p = f->b;
	memset(p, 0, sizeof(f->b));
	memcpy(p, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	uint32_t o = 12;
	for (int i = 0; i < t->n_vlan; i++) {
		dp_tk_put16(p + o, i == 0 && t->n_vlan == 2 ? 0x88a8 : 0x8100);
		dp_tk_put16(p + o + 2, (uint16_t)(100 + i));
		o += 4;
	}
	dp_tk_put16(p + o, t->v6 ? 0x86dd : 0x0800);
	o += 2;
	uint32_t l3 = o;
	uint32_t tcp_len = 20 + plen;
	if (!t->v6) {
		p[o] = 0x45;
		dp_tk_put16(p + o + 2, (uint16_t)(20 + tcp_len));
		if (t->frag)
			dp_tk_put16(p + o + 6, 0x2000); /* MF */
		p[o + 8] = 64;
		p[o + 9] = 6;
		memcpy(p + o + 12, "\xc6\x12\x00", 3);
		p[o + 15] = t->src_last;
		memcpy(p + o + 16, "\xc6\x12\x00", 3);
		p[o + 19] = t->dst_last;
		o += 20;
	} else {
		uint32_t ext = (t->v6_ext ? 16 : 0) + (t->frag ? 8 : 0);
		p[o] = 0x60;
		dp_tk_put16(p + o + 4, (uint16_t)(ext + tcp_len));
		p[o + 6] = t->v6_ext ? 0 : t->frag ? 44 : 6;
		p[o + 7] = 64;
		memcpy(p + o + 8, "\x20\x01\x0d\xb8", 4);
		p[o + 23] = t->src_last;
		memcpy(p + o + 24, "\x20\x01\x0d\xb8", 4);
		p[o + 39] = t->dst_last;
		o += 40;
		if (t->v6_ext) {
			p[o] = 60; /* hop-by-hop → destination options */
			p[o + 1] = 0;
			p[o + 2] = 1; p[o + 3] = 4; /* PadN */
			o += 8;
			p[o] = t->frag ? 44 : 6;
			p[o + 1] = 0;
			p[o + 2] = 1; p[o + 3] = 4;
			o += 8;
		}
		if (t->frag) {
			p[o] = 6;
			dp_tk_put16(p + o + 2, 0x0001); /* offset 0, M set */
			o += 8;
		}
	}
	(void)l3;
	dp_tk_put16(p + o, t->sport);
	dp_tk_put16(p + o + 2, t->dport);
	dp_tk_put32(p + o + 4, t->seq);
	dp_tk_put32(p + o + 8, t->ack);
	p[o + 12] = 0x50;
	p[o + 13] = t->flags;
	dp_tk_put16(p + o + 14, 65535);
	o += 20;
	if (plen > 0)
		memcpy(p + o, pl, plen);
	f->len = o + plen;
	if (f->len < 60)
		f->len = 60; /* Ethernet padding: must not be taken as payload */
}

/* ------------------------------------------------------------- PDUs */

static uint32_t mk_hdr(uint8_t *p, uint32_t len, uint32_t cmd, uint32_t status, uint32_t seq)
{
	dp_tk_put32(p, len);
	dp_tk_put32(p + 4, cmd);
	dp_tk_put32(p + 8, status);
	dp_tk_put32(p + 12, seq);
	return 16;
}

/* submit_sm or deliver_sm (same body). */
/* A submit_sm / deliver_sm / data_sm body through smpp/'s encoder (data_sm
 * has no short_message: callers give it text in a TLV of their own). */
static uint32_t mk_sm(uint8_t *p, uint32_t cmd, uint32_t seq, uint8_t src_ton, const char *src,
		      const char *dst, uint8_t esm, uint8_t dcs, const uint8_t *ud, uint32_t udlen)
{
	struct smpp_pdu pdu = {
		.hdr = { .command_id = cmd, .sequence_number = seq },
		.source_addr_ton = src_ton,
		.source_addr_npi = src_ton == 5 ? 0 : 1,
		.source_addr = { (const uint8_t *)src, (uint32_t)strlen(src) },
		.dest_addr_ton = 1,
		.dest_addr_npi = 1,
		.destination_addr = { (const uint8_t *)dst, (uint32_t)strlen(dst) },
		.esm_class = esm,
		.data_coding = dcs,
		.short_message = { ud, udlen },
	};
	uint8_t tmp[512];
	size_t n = 0;

	assert_int_equal(smpp_pdu_encode(&pdu, tmp, sizeof(tmp), &n), SMPP_OK);
	memcpy(p, tmp, n);
	return (uint32_t)n;
}

static uint32_t mk_text(uint8_t *p, uint32_t cmd, uint32_t seq, uint8_t ton, const char *src,
			const char *dst, const char *text)
{
	return mk_sm(p, cmd, seq, ton, src, dst, 0, 1, (const uint8_t *)text, (uint32_t)strlen(text));
}

/* ----------------------------------------------------------- fixture */

#define MAXEV 64

struct fx {
	struct dp_settings s;
	struct dp_engine *e;
	struct dp_event ev[MAXEV];
	unsigned n_ev;
	uint32_t cseq, sseq; /* next client / server TCP sequence numbers */
	uint32_t pseq;       /* SMPP sequence_number of the next submit */
	unsigned id;         /* engine id: each test its own, so a failed one leaks alone */
	uint16_t cport;
	struct tcp_spec t;
	struct pat_ruleset *rs;
	struct dp_rules rules;
	struct dp_snapshot snap;
	uint64_t now;
};

static void sink(void *arg, const struct dp_event *ev)
{
	struct fx *x = arg;
	if (x->n_ev < MAXEV)
		x->ev[x->n_ev++] = *ev;
}

static const char lab_rules[] =
	"rule id=9001 cat=fraud target=norm action=block pat=/verify now at secure-bank\\.example/ desc=\"phishing URL\"\n"
	"rule id=9002 cat=spam target=norm action=block pat=/win a free (iphone|prize)/ desc=\"prize spam\"\n"
	"rule id=9004 cat=spoofing target=sender action=block pat=/^(hsbc|paypal)$/i desc=\"protected brand\"\n";

static struct fx *fx_new(void (*tune)(struct dp_settings *))
{
	struct fx *x = calloc(1, sizeof(*x));
	dp_tk_settings(&x->s);
	if (tune)
		tune(&x->s);
	static unsigned next_id;
	x->id = next_id++ % DP_MAX_WORKERS;
	x->e = dp_engine_create(x->id, &x->s, 0);
	assert_non_null(x->e);
	dp_engine_set_event_sink(x->e, sink, x);
	x->now = 1000000;
	dp_engine_set_time(x->e, x->now);
	struct pat_error err;
	int rc = dp_tk_rules_load(&x->rules, &x->rs, x->id, x->s.concat_max, "lab.rules", lab_rules,
				  sizeof(lab_rules) - 1, &err);
	if (rc != PAT_OK)
		fprintf(stderr, "rules: %s line %u: %s\n", pat_strerror(rc), err.line, err.message);
	assert_int_equal(rc, PAT_OK);
	x->snap.generation = 1;
	x->snap.rules = &x->rules;
	dp_engine_set_snapshot(x->e, &x->snap);
	x->t = (struct tcp_spec){ .src_last = 1, .dst_last = 2, .sport = 40000, .dport = 2775 };
	return x;
}

static void fx_free(struct fx *x)
{
	dp_engine_free(x->e);
	dp_tk_rules_free(&x->rules, x->rs, x->id);
	free(x);
}

static void advance(struct fx *x, uint64_t ms)
{
	x->now += ms;
	dp_engine_set_time(x->e, x->now);
}

/* Send a segment from the client (ESME) or the server (SMSC). */
static void seg(struct fx *x, bool from_client, uint8_t flags, const uint8_t *pl, uint32_t n)
{
	struct tcp_spec t = x->t;
	if (!from_client) {
		t.src_last = x->t.dst_last;
		t.dst_last = x->t.src_last;
		t.sport = x->t.dport;
		t.dport = x->t.sport;
	}
	t.seq = from_client ? x->cseq : x->sseq;
	t.ack = from_client ? x->sseq : x->cseq;
	t.flags = flags;
	struct fb f;
	mk_tcp(&f, &t, pl, n);
	assert_int_equal(dp_engine_frame(x->e, f.b, f.len), DP_ACT_FORWARD);
	uint32_t adv = n + ((flags & (DP_TCP_SYN | DP_TCP_FIN)) ? 1 : 0);
	if (from_client)
		x->cseq += adv;
	else
		x->sseq += adv;
}

static void handshake(struct fx *x)
{
	x->cseq = 1000;
	x->sseq = 5000;
	seg(x, true, DP_TCP_SYN, NULL, 0);
	seg(x, false, DP_TCP_SYN | DP_TCP_ACK, NULL, 0);
	seg(x, true, DP_TCP_ACK, NULL, 0);
}

static void bind_status(struct fx *x, const char *sid, uint32_t status)
{
	uint8_t p[256];
	uint32_t n = dp_tk_bind(p, 1, sid, "s3cr3tpw");
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, n);
	n = mk_hdr(p, 16, 0x80000009, status, 1);
	n += dp_tk_cstr(p + n, "SMSC");
	dp_tk_put32(p, n);
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
}

static void bind_ok(struct fx *x, const char *sid)
{
	bind_status(x, sid, 0);
}

static const struct dp_event *submit(struct fx *x, uint8_t ton, const char *src, const char *dst,
				     const char *text)
{
	uint8_t p[512];
	uint32_t n = mk_text(p, 0x04, ++x->pseq, ton, src, dst, text);
	unsigned before = x->n_ev;
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(x->n_ev, before + 1);
	return &x->ev[x->n_ev - 1];
}

/* ------------------------------------------------------ frame tests */

static void test_frame_kinds(void **state)
{
	(void)state;
	struct fb f;
	struct dp_frame fr;
	static const uint8_t pl[] = "hello";
	struct tcp_spec t = { .src_last = 1, .dst_last = 2, .sport = 1, .dport = 2775, .seq = 7 };

	t.n_vlan = 1; /* 802.1Q */
	mk_tcp(&f, &t, pl, 5);
	assert_int_equal(dp_frame_parse(f.b, f.len, &fr), DP_FRAME_TCP);
	assert_int_equal(fr.n_vlan, 1);
	assert_int_equal(fr.vlan[0], 100);
	assert_int_equal(fr.payload_len, 5); /* padding to 60 bytes not counted */
	assert_int_equal(fr.dport, 2775);

	t.n_vlan = 2; /* QinQ: 0x88a8 outer, 0x8100 inner */
	mk_tcp(&f, &t, pl, 5);
	assert_int_equal(dp_frame_parse(f.b, f.len, &fr), DP_FRAME_TCP);
	assert_int_equal(fr.n_vlan, 2);
	assert_int_equal(fr.vlan[1], 101);
	assert_memory_equal(fr.payload, "hello", 5);

	t.n_vlan = 0;
	t.v6 = 1;
	t.v6_ext = 1; /* hop-by-hop + destination options */
	mk_tcp(&f, &t, pl, 5);
	assert_int_equal(dp_frame_parse(f.b, f.len, &fr), DP_FRAME_TCP);
	assert_int_equal(fr.family, 6);
	assert_int_equal(fr.seq, 7);
	assert_memory_equal(fr.payload, "hello", 5);

	t.frag = 1; /* IPv6 fragment header, more fragments */
	mk_tcp(&f, &t, pl, 5);
	assert_int_equal(dp_frame_parse(f.b, f.len, &fr), DP_FRAME_FRAG);
	assert_int_equal(fr.frag_first, 1);
	assert_int_equal(fr.dport, 2775); /* the first fragment names the ports */
	t.v6 = 0;
	t.v6_ext = 0; /* IPv4 MF */
	mk_tcp(&f, &t, pl, 5);
	assert_int_equal(dp_frame_parse(f.b, f.len, &fr), DP_FRAME_FRAG);

	/* ARP: forwarded untouched */
	uint8_t arp[60] = { 0 };
	arp[12] = 0x08;
	arp[13] = 0x06;
	assert_int_equal(dp_frame_parse(arp, sizeof(arp), &fr), DP_FRAME_OTHER);
	/* IPv4 total length beyond the frame: BAD, never read past it */
	t.frag = 0;
	mk_tcp(&f, &t, pl, 5);
	assert_int_equal(dp_frame_parse(f.b, 14 + 20 + 10, &fr), DP_FRAME_BAD);
	assert_int_equal(dp_frame_parse(f.b, 10, &fr), DP_FRAME_BAD);
}

static void test_flow_key_symmetric(void **state)
{
	(void)state;
	struct fb f;
	struct dp_frame a, b;
	struct dp_flow_key ka, kb;
	struct tcp_spec t = { .src_last = 9, .dst_last = 2, .sport = 40000, .dport = 2775 };
	mk_tcp(&f, &t, NULL, 0);
	dp_frame_parse(f.b, f.len, &a);
	struct tcp_spec r = { .src_last = 2, .dst_last = 9, .sport = 2775, .dport = 40000 };
	mk_tcp(&f, &r, NULL, 0);
	dp_frame_parse(f.b, f.len, &b);
	assert_int_not_equal(dp_flow_key_make(&a, &ka), dp_flow_key_make(&b, &kb));
	assert_memory_equal(&ka, &kb, sizeof(ka));
}

/* ------------------------------------------------------- flow tests */

static void small_table(struct dp_settings *s)
{
	s->flows_max = 16;
}

static void test_flow_table_full_and_timeouts(void **state)
{
	(void)state;
	struct fx *x = fx_new(small_table);
	struct dp_flow_table *t = dp_engine_flows(x->e);
	for (int i = 0; i < 20; i++) {
		x->t.sport = (uint16_t)(30000 + i);
		handshake(x);
	}
	struct dp_flow_stats *st = dp_flow_table_stats(t);
	assert_int_equal(st->created, 16);
	assert_int_equal(st->active, 16);
	assert_true(st->table_full >= 4);
	assert_true(dp_engine_counters(x->e)->table_full_frames >= 4); /* forwarded, counted */
	/* Idle established flows live 300 s. */
	advance(x, 299000);
	assert_int_equal(dp_engine_expire(x->e, 64), 0);
	advance(x, 2000);
	assert_int_equal(dp_engine_expire(x->e, 64), 16);
	assert_int_equal(st->active, 0);
	assert_int_equal(st->expired, 16);
	/* A closed flow goes after the closing timeout (10 s). */
	handshake(x);
	seg(x, true, DP_TCP_FIN | DP_TCP_ACK, NULL, 0);
	seg(x, false, DP_TCP_FIN | DP_TCP_ACK, NULL, 0);
	advance(x, 9000);
	assert_int_equal(dp_engine_expire(x->e, 64), 0);
	advance(x, 2000);
	assert_int_equal(dp_engine_expire(x->e, 64), 1);
	assert_int_equal(st->closed, 1);
	fx_free(x);
}

/* ---------------------------------------------------- session tests */

static void test_session_bind(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	x->t.n_vlan = 1;
	handshake(x);
	bind_ok(x, "alpha");
	struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->binds, 1);
	assert_int_equal(c->bind_ok, 1);
	assert_int_equal(x->n_ev, 1);
	assert_int_equal(x->ev[0].type, DP_EV_BIND);
	assert_string_equal(x->ev[0].system_id, "alpha");
	/* The password is nowhere in the flow's memory. */
	struct dp_frame fr;
	struct dp_flow_key k;
	struct fb f;
	mk_tcp(&f, &x->t, NULL, 0);
	dp_frame_parse(f.b, f.len, &fr);
	dp_flow_key_make(&fr, &k);
	struct dp_flow *fl = dp_flow_lookup(dp_engine_flows(x->e), &k, false, 0);
	assert_non_null(fl);
	assert_int_equal(fl->sess.state, DP_SESS_BOUND);
	assert_null(memmem(fl, sizeof(*fl), "s3cr3tpw", 8));
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900002", "hello there");
	assert_int_equal(ev->verdict, DP_VERDICT_PASS);
	assert_string_equal(ev->system_id, "alpha");
	assert_string_equal(ev->text, "hello there");
	fx_free(x);
}

/* A flow picked up mid-stream: the first segment starts inside a PDU. */
static void test_midstream_flow(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	x->t.v6 = 1;
	x->t.v6_ext = 1;
	x->cseq = 777;
	x->sseq = 999;
	uint8_t p[512];
	uint32_t n = mk_text(p, 0x04, 41, 1, "447700900001", "447700900002", "first one");
	uint32_t n2 = mk_text(p + n, 0x04, 42, 1, "447700900001", "447700900003", "win a free prize now");
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p + 10, n - 10 + n2);
	assert_int_equal(x->n_ev, 1);
	assert_int_equal(x->ev[0].sequence, 42);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_BLOCK);
	assert_int_equal(x->ev[0].rule_num, 9002);
	assert_int_equal(dp_engine_counters(x->e)->stream.resync, 1);
	fx_free(x);
}

static void test_tls_on_smpp_port(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03 };
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, hello, sizeof(hello));
	assert_int_equal(dp_engine_counters(x->e)->tls_flows, 1);
	assert_int_equal(x->n_ev, 1);
	assert_int_equal(x->ev[0].type, DP_EV_UNINSPECTABLE);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_BLOCK); /* default policy: block */
	assert_string_equal(x->ev[0].rule_id, "builtin:tls");
	fx_free(x);
}

/* Not SMPP on the SMPP port: reported once per flow under `uninspectable`. */
static void test_not_smpp_on_smpp_port(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	static const char get[] = "GET /index.html HTTP/1.1\r\nHost: smsc\r\n\r\n";
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, (const uint8_t *)get, sizeof(get) - 1);
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, (const uint8_t *)get, sizeof(get) - 1);
	unsigned n = 0;
	for (unsigned i = 0; i < x->n_ev; i++)
		if (x->ev[i].type == DP_EV_UNINSPECTABLE && !strcmp(x->ev[i].rule_id, "builtin:not-smpp")) {
			n++;
			assert_int_equal(x->ev[i].verdict, DP_VERDICT_BLOCK);
		}
	assert_int_equal(n, 1);
	assert_true(dp_engine_counters(x->e)->stream.desync >= 1);
	fx_free(x);
}

static void ooo1(struct dp_settings *s)
{
	s->ooo_max = 1;
}

/* Past the hold bound the missing bytes are given up: an uninspectable
 * event under failure_ooo (closed by default), and the stream goes on. */
static void test_ooo_gap_policy(void **state)
{
	(void)state;
	struct fx *x = fx_new(ooo1);
	handshake(x);
	bind_ok(x, "alpha");
	uint8_t p[256];
	uint32_t n = mk_text(p, 0x04, 50, 1, "447700900001", "447700900002", "lost one");
	uint32_t base = x->cseq;
	x->cseq = base + n; /* the first submit is lost */
	uint8_t q[256];
	uint32_t m = mk_text(q, 0x04, 51, 1, "447700900001", "447700900002", "held one");
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, q, m); /* held */
	uint8_t r[256];
	uint32_t k = mk_text(r, 0x04, 52, 1, "447700900001", "447700900002", "win a free prize");
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, r, k); /* past the bound */
	struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->stream.ooo_overflow, 1);
	assert_int_equal(c->stream.gap_bytes, n);
	bool gap_ev = false, last_blocked = false;
	for (unsigned i = 0; i < x->n_ev; i++) {
		if (x->ev[i].type == DP_EV_UNINSPECTABLE && !strcmp(x->ev[i].rule_id, "builtin:ooo-gap"))
			gap_ev = x->ev[i].verdict == DP_VERDICT_BLOCK && x->ev[i].sequence == n;
		if (x->ev[i].type == DP_EV_VERDICT && x->ev[i].sequence == 52)
			last_blocked = x->ev[i].rule_num == 9002;
	}
	assert_true(gap_ev);
	assert_true(last_blocked); /* the stream went on after the gap */
	fx_free(x);
}

/* ---------------------------------------------------- verdict steps */

static struct dp_customer custs[2];

static void test_standing_first(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	memset(custs, 0, sizeof(custs));
	snprintf(custs[0].system_id, DP_SYSTEM_ID_MAX, "alpha");
	custs[0].any_sender = 1;
	snprintf(custs[1].system_id, DP_SYSTEM_ID_MAX, "bad");
	custs[1].standing = DP_STANDING_SUSPENDED;
	custs[1].any_sender = 1;
	static struct dp_snapshot s2;
	s2 = x->snap;
	s2.generation = 2;
	s2.cust = custs;
	s2.n_cust = 2;
	dp_engine_set_snapshot(x->e, &s2);
	handshake(x);
	bind_ok(x, "bad");
	/* Spam from a suspended customer: standing decides, before content. */
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900002", "win a free iphone");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_STANDING);
	assert_int_equal(ev->command_status, 0x45);
	/* The standing changes (a new snapshot): the live session follows. */
	custs[1].standing = DP_STANDING_WARNED;
	static struct dp_snapshot s3;
	s3 = s2;
	s3.generation = 3;
	dp_engine_set_snapshot(x->e, &s3);
	ev = submit(x, 1, "447700900001", "447700900002", "hello");
	assert_int_equal(ev->verdict, DP_VERDICT_PASS);
	ev = submit(x, 1, "447700900001", "447700900002", "WIN a FREE iPhone");
	assert_int_equal(ev->category, DP_CAT_CONTENT);
	assert_int_equal(ev->rule_num, 9002);
	assert_string_equal(ev->rule_id, "9002");
	fx_free(x);
}

static void rate2(struct dp_settings *s)
{
	s->default_customer.rate_per_s = 2;
	s->default_customer.burst = 2;
}

static void test_rate_limit_fake_clock(void **state)
{
	(void)state;
	struct fx *x = fx_new(rate2);
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "a")->verdict, DP_VERDICT_PASS);
	assert_int_equal(submit(x, 1, "447700900001", "447700900003", "b")->verdict, DP_VERDICT_PASS);
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900004", "win a free prize");
	/* Rate comes before content: throttled, not blocked. */
	assert_int_equal(ev->verdict, DP_VERDICT_THROTTLE);
	assert_string_equal(ev->rule_id, "builtin:rate.customer");
	assert_int_equal(ev->command_status, 0x58);
	advance(x, 499);
	assert_int_equal(submit(x, 1, "447700900001", "447700900005", "c")->verdict, DP_VERDICT_THROTTLE);
	advance(x, 2);
	assert_int_equal(submit(x, 1, "447700900001", "447700900006", "d")->verdict, DP_VERDICT_PASS);
	fx_free(x);
}

/* A second engine (another worker) made with the same settings as @p a:
 * its own flow (another client port), no ruleset. Free it before @p a. */
static struct fx *fx_twin(struct fx *a, uint16_t cport)
{
	struct fx *b = calloc(1, sizeof(*b));
	/* Any free worker id but a's (the flow table's name carries it). */
	for (unsigned k = 1; k < DP_MAX_WORKERS && b->e == NULL; k++) {
		b->id = (a->id + k) % DP_MAX_WORKERS;
		b->e = dp_engine_create(b->id, &a->s, 0);
	}
	assert_non_null(b->e);
	dp_engine_set_event_sink(b->e, sink, b);
	b->now = a->now;
	dp_engine_set_time(b->e, b->now);
	b->snap.generation = 1;
	dp_engine_set_snapshot(b->e, &b->snap);
	b->t = a->t;
	b->t.sport = cport;
	return b;
}

static void rate4_two_workers(struct dp_settings *s)
{
	s->n_workers = 2;
	s->default_customer.rate_per_s = 4;
	s->default_customer.burst = 4;
}

/* The customer's rate is one budget for all workers: connections on one
 * worker can use all of it, and what one worker used the other cannot. */
static void test_rate_shared_between_workers(void **state)
{
	(void)state;
	struct fx *a = fx_new(rate4_two_workers);
	struct fx *b = fx_twin(a, 40001);
	handshake(a);
	bind_ok(a, "alpha");
	handshake(b);
	bind_ok(b, "alpha");
	/* Worker A alone: the whole burst of 4 (not its half). */
	for (int i = 0; i < 4; i++)
		assert_int_equal(submit(a, 1, "447700900001", "447700900002", "a")->verdict,
				 DP_VERDICT_PASS);
	/* Worker B finds the budget spent. */
	const struct dp_event *ev = submit(b, 1, "447700900001", "447700900003", "b");
	assert_int_equal(ev->verdict, DP_VERDICT_THROTTLE);
	assert_string_equal(ev->rule_id, "builtin:rate.customer");
	/* A quarter second refills one token, for whichever worker asks first. */
	advance(a, 250);
	advance(b, 250);
	assert_int_equal(submit(b, 1, "447700900001", "447700900004", "c")->verdict, DP_VERDICT_PASS);
	assert_int_equal(submit(a, 1, "447700900001", "447700900005", "d")->verdict,
			 DP_VERDICT_THROTTLE);
	/* Another customer has its own budget. */
	struct fx *c = fx_twin(a, 40002);
	handshake(c);
	bind_ok(c, "beta");
	assert_int_equal(submit(c, 1, "447700900001", "447700900006", "e")->verdict, DP_VERDICT_PASS);
	dp_engine_free(c->e);
	free(c);
	dp_engine_free(b->e);
	free(b);
	fx_free(a);
}

static void test_optout_then_optin(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	uint8_t p[256];
	/* The subscriber answers "Stop" to a short code (deliver_sm from the SMSC). */
	uint32_t n = mk_text(p, 0x05, 900, 1, "+447700900999", "70123", "Stop ");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(x->ev[x->n_ev - 1].type, DP_EV_OPTOUT);
	assert_int_equal(x->ev[x->n_ev - 1].optout_on, 1);
	const struct dp_event *ev = submit(x, 5, "AlphaShop", "447700900999", "hello again");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_OPTOUT);
	assert_int_equal(ev->command_status, 0x66);
	/* Other subscribers are not affected; a sentence with STOP in it is not a STOP. */
	assert_int_equal(submit(x, 5, "AlphaShop", "447700900998", "hi")->verdict, DP_VERDICT_PASS);
	n = mk_text(p, 0x05, 901, 1, "447700900998", "70123", "please do not stop");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(submit(x, 5, "AlphaShop", "447700900998", "hi")->verdict, DP_VERDICT_PASS);
	n = mk_text(p, 0x05, 902, 1, "447700900999", "70123", "START");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(submit(x, 5, "AlphaShop", "447700900999", "welcome back")->verdict,
			 DP_VERDICT_PASS);
	assert_int_equal(dp_engine_counters(x->e)->optouts, 1);
	assert_int_equal(dp_engine_counters(x->e)->optins, 1);
	fx_free(x);
}

static void test_sender_rules(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	const struct dp_event *ev = submit(x, 1, "AlphaShop", "447700900002", "hi");
	assert_int_equal(ev->category, DP_CAT_SENDER);
	assert_string_equal(ev->rule_id, "builtin:sender.ton"); /* alphanumeric needs TON 5 */
	ev = submit(x, 5, "AlphaShopping", "447700900002", "hi");
	assert_string_equal(ev->rule_id, "builtin:sender.length"); /* 13 > 11 */
	ev = submit(x, 1, "0123", "447700900002", "hi");
	assert_string_equal(ev->rule_id, "builtin:sender.e164");
	ev = submit(x, 5, "PayPal", "447700900002", "win a free iphone");
	/* Sender rules come before content rules. */
	assert_int_equal(ev->category, DP_CAT_SENDER);
	assert_int_equal(ev->rule_num, 9004);
	assert_int_equal(ev->command_status, 0x0a);
	assert_int_equal(submit(x, 5, "AlphaShop", "447700900002", "hi")->verdict, DP_VERDICT_PASS);
	fx_free(x);
}

static void allow_list(struct dp_settings *s)
{
	s->default_customer.any_sender = 0;
	s->default_customer.n_senders = 1;
	snprintf(s->default_customer.senders[0], DP_SENDER_MAX, "AlphaShop");
}

static void test_sender_allow_list(void **state)
{
	(void)state;
	struct fx *x = fx_new(allow_list);
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(submit(x, 5, "AlphaShop", "447700900002", "hi")->verdict, DP_VERDICT_PASS);
	assert_string_equal(submit(x, 5, "OtherShop", "447700900002", "hi")->rule_id,
			    "builtin:sender.allow");
	fx_free(x);
}

static const struct dp_event *part(struct fx *x, uint8_t ref, uint8_t i, const char *text)
{
	uint8_t ud[200] = { 5, 0, 3, ref, 2, i };
	size_t n = strlen(text);
	memcpy(ud + 6, text, n);
	uint8_t p[512];
	uint32_t len = mk_sm(p, 0x04, ++x->pseq, 1, "447700900001", "447700900002", 0x40, 1, ud,
			     (uint32_t)(6 + n));
	unsigned before = x->n_ev;
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, len);
	assert_int_equal(x->n_ev, before + 1);
	return &x->ev[x->n_ev - 1];
}

static void test_concat_split_url_and_expiry(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	/* The URL is split across the parts: part 2 completes the match. */
	assert_int_equal(part(x, 7, 1, "Your account is locked. Verify now at secure-")->verdict,
			 DP_VERDICT_PASS);
	const struct dp_event *ev = part(x, 7, 2, "bank.example/login today");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->rule_num, 9001);
	assert_int_equal(ev->part, 2);
	assert_int_equal(ev->parts, 2);
	/* Each part alone is harmless. */
	assert_int_equal(part(x, 8, 2, "bank.example/login today")->verdict, DP_VERDICT_PASS);
	/* A message whose next part comes after concat_timeout starts over. */
	part(x, 9, 1, "Your account is locked. Verify now at secure-");
	advance(x, x->s.concat_timeout_ms + 1);
	for (int i = 0; i < 64; i++)
		dp_engine_expire(x->e, 1);
	assert_true(dp_engine_counters(x->e)->concat_expired >= 1);
	assert_int_equal(part(x, 9, 2, "bank.example/login today")->verdict, DP_VERDICT_PASS);
	fx_free(x);
}

/* Concatenated messages in flight are bounded (concat_max 16): past it the
 * oldest are evicted, counted, and new ones are still judged. */
static void many_to_one(struct dp_settings *s)
{
	s->velocity_max = 1000; /* every part goes to one subscriber here */
}

static void test_concat_bound(void **state)
{
	(void)state;
	struct fx *x = fx_new(many_to_one);
	handshake(x);
	bind_ok(x, "alpha");
	for (uint8_t ref = 0; ref < 40; ref++)
		assert_int_equal(part(x, ref, 1, "first half of something")->verdict, DP_VERDICT_PASS);
	struct dp_counters *c = dp_engine_counters(x->e);
	assert_true(c->concat_evicted >= 40 - 16);
	assert_int_equal(c->concat_open, 40);
	part(x, 200, 1, "Your account is locked. Verify now at secure-");
	assert_int_equal(part(x, 200, 2, "bank.example/login today")->rule_num, 9001);
	fx_free(x);
}

/* A ruleset swap in the middle of a concatenated message: the message
 * finishes on the ruleset it started with, and the engine reports the old
 * ruleset in use until then. */
static void test_concat_across_swap(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	static const char only_spam[] =
		"rule id=9002 cat=spam target=norm action=block pat=/win a free (iphone|prize)/ desc=\"s\"\n";
	struct pat_error err;
	struct pat_ruleset *rsb;
	static struct dp_rules rb;
	memset(&rb, 0, sizeof(rb));
	assert_int_equal(dp_tk_rules_load(&rb, &rsb, x->id, x->s.concat_max, "b.rules", only_spam,
					  sizeof(only_spam) - 1, &err),
			 PAT_OK);
	static struct dp_snapshot sb;
	sb.generation = 2;
	sb.rules = &rb;

	handshake(x);
	bind_ok(x, "alpha");
	part(x, 11, 1, "Your account is locked. Verify now at secure-");
	dp_engine_set_snapshot(x->e, &sb); /* swap between the parts */
	const struct dp_rules *cur, *old;
	dp_engine_rules_in_use(x->e, &cur, &old);
	assert_ptr_equal(cur, &rb);
	assert_ptr_equal(old, &x->rules);
	const struct dp_event *ev = part(x, 11, 2, "bank.example/login today");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK); /* judged by the old ruleset */
	assert_int_equal(ev->rule_num, 9001);
	dp_engine_rules_in_use(x->e, &cur, &old);
	assert_null(old); /* the old ruleset may go now */
	/* A message that starts after the swap uses the new ruleset only. */
	part(x, 12, 1, "Your account is locked. Verify now at secure-");
	assert_int_equal(part(x, 12, 2, "bank.example/login today")->verdict, DP_VERDICT_PASS);
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "win a free iphone")->rule_num, 9002);
	unsigned id = x->id;
	fx_free(x);
	dp_tk_rules_free(&rb, rsb, id);
}

/* submit_multi: one verdict per destination; data_sm: text in message_payload. */
static void test_submit_multi_and_data_sm(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	uint8_t p[512];
	/* The subscriber ...999 opts out first. */
	uint32_t n = mk_text(p, 0x05, 900, 1, "447700900999", "70123", "STOP");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	/* submit_multi to ...998 and ...999 */
	uint32_t o = 16;
	o += dp_tk_cstr(p + o, "");
	p[o++] = 5; p[o++] = 0;
	o += dp_tk_cstr(p + o, "AlphaShop");
	p[o++] = 2; /* number_of_dests */
	p[o++] = 1; p[o++] = 1; p[o++] = 1; o += dp_tk_cstr(p + o, "447700900998");
	p[o++] = 1; p[o++] = 1; p[o++] = 1; o += dp_tk_cstr(p + o, "447700900999");
	p[o++] = 0; p[o++] = 0; p[o++] = 0;
	o += dp_tk_cstr(p + o, "");
	o += dp_tk_cstr(p + o, "");
	p[o++] = 0; p[o++] = 0; p[o++] = 1; p[o++] = 0;
	static const char txt[] = "sale today";
	p[o++] = sizeof(txt) - 1;
	memcpy(p + o, txt, sizeof(txt) - 1);
	o += sizeof(txt) - 1;
	mk_hdr(p, o, 0x21, 0, 77);
	unsigned before = x->n_ev;
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, o);
	assert_int_equal(x->n_ev, before + 2);
	assert_string_equal(x->ev[before].dst, "447700900998");
	assert_int_equal(x->ev[before].verdict, DP_VERDICT_PASS);
	assert_string_equal(x->ev[before + 1].dst, "447700900999");
	assert_int_equal(x->ev[before + 1].category, DP_CAT_OPTOUT);
	assert_int_equal(x->ev[before + 1].sequence, 77);
	/* data_sm with the text in message_payload (TLV 0x0424) */
	o = 16;
	o += dp_tk_cstr(p + o, "");
	p[o++] = 1; p[o++] = 1;
	o += dp_tk_cstr(p + o, "447700900001");
	p[o++] = 1; p[o++] = 1;
	o += dp_tk_cstr(p + o, "447700900002");
	p[o++] = 0; p[o++] = 0; p[o++] = 1; /* esm_class, registered_delivery, data_coding */
	static const char spam[] = "You could WIN A FREE PRIZE tonight";
	dp_tk_put16(p + o, 0x0424);
	dp_tk_put16(p + o + 2, sizeof(spam) - 1);
	memcpy(p + o + 4, spam, sizeof(spam) - 1);
	o += 4 + sizeof(spam) - 1;
	mk_hdr(p, o, 0x103, 0, 78);
	before = x->n_ev;
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, o);
	assert_int_equal(x->n_ev, before + 1);
	assert_int_equal(x->ev[before].command_id, 0x103);
	assert_int_equal(x->ev[before].rule_num, 9002);
	fx_free(x);
}

static void long_pdus(struct dp_settings *s)
{
	s->pdu_max = 16384;
}

static void long_pdus_pass(struct dp_settings *s)
{
	s->pdu_max = 16384;
	s->uninspectable_block = 0;
}

/* A data_sm whose message_payload holds 9,000 bytes of text, the spam past
 * the 8 KiB the scan takes, sent in 1,000-byte segments. */
static const struct dp_event *long_payload(struct fx *x, uint32_t seq)
{
	static uint8_t p[9200];
	uint32_t o = 16;
	o += dp_tk_cstr(p + o, "");
	p[o++] = 1; p[o++] = 1;
	o += dp_tk_cstr(p + o, "447700900001");
	p[o++] = 1; p[o++] = 1;
	o += dp_tk_cstr(p + o, "447700900002");
	p[o++] = 0; p[o++] = 0; p[o++] = 1; /* esm_class, registered_delivery, data_coding */
	static const char spam[] = " win a free prize";
	const uint32_t tl = 9000;
	dp_tk_put16(p + o, 0x0424);
	dp_tk_put16(p + o + 2, (uint16_t)tl);
	memset(p + o + 4, 'a', tl);
	for (uint32_t i = 4; i < tl; i += 5)
		p[o + 4 + i] = ' '; /* words of four letters */
	memcpy(p + o + 4 + tl - (sizeof(spam) - 1), spam, sizeof(spam) - 1);
	o += 4 + tl;
	mk_hdr(p, o, 0x103, 0, seq);
	unsigned before = x->n_ev;
	for (uint32_t k = 0; k < o; k += 1000)
		seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p + k, o - k < 1000 ? o - k : 1000);
	assert_int_equal(x->n_ev, before + 1);
	return &x->ev[before];
}

/* Text past what one scan takes is never passed unseen by default: the
 * uninspectable policy blocks it (rule builtin:text-too-long); with that
 * policy set to pass, the first 8 KiB are scanned and the rest is not. */
static void test_text_too_long(void **state)
{
	(void)state;
	struct fx *x = fx_new(long_pdus);
	handshake(x);
	bind_ok(x, "alpha");
	const struct dp_event *ev = long_payload(x, 90);
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_UNINSPECTABLE);
	assert_string_equal(ev->rule_id, "builtin:text-too-long");
	assert_int_equal(dp_engine_counters(x->e)->text_truncated, 1);
	fx_free(x);

	x = fx_new(long_pdus_pass);
	handshake(x);
	bind_ok(x, "alpha");
	ev = long_payload(x, 91);
	assert_int_equal(ev->verdict, DP_VERDICT_PASS);
	assert_int_equal(dp_engine_counters(x->e)->text_truncated, 1);
	fx_free(x);
}

static void small_tables(struct dp_settings *s)
{
	s->table_slots = 64;
}

/* Entries pushed out of a full table are counted per table: 300 texts to
 * 300 recipients through 64-slot velocity and bulk tables push out at
 * least 236 entries of each. */
static void test_table_evictions_counted(void **state)
{
	(void)state;
	struct fx *x = fx_new(small_tables);
	handshake(x);
	bind_ok(x, "alpha");
	char dst[16], text[32];
	for (unsigned i = 0; i < 300; i++) {
		snprintf(dst, sizeof(dst), "4477009%05u", i);
		/* a text of its own (digits are masked in the bulk fingerprint) */
		snprintf(text, sizeof(text), "see you at the %c%c", 'a' + i % 26, 'a' + i / 26);
		x->n_ev = 0; /* the fixture keeps 64 events */
		assert_int_equal(submit(x, 1, "447700900001", dst, text)->verdict, DP_VERDICT_PASS);
	}
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_true(c->evict_velocity >= 300 - 64);
	assert_true(c->evict_velocity < 300);
	assert_true(c->evict_bulk >= 300 - 64);
	assert_int_equal(c->evict_optout, 0);
	assert_int_equal(c->evict_binds, 0);
	fx_free(x);
}

/* A segment from the ESME at sequence number `seq`, the fixture's own
 * sequence left where it was. */
static void seg_at(struct fx *x, uint32_t seq, uint8_t flags, const uint8_t *pl, uint32_t n)
{
	uint32_t keep = x->cseq;
	x->cseq = seq;
	seg(x, true, flags, pl, n);
	x->cseq = keep;
}

/* A SYN inside an established connection (its receiver ignores it,
 * RFC 5961) does not move the expected sequence number: the spam sent at
 * the real sequence number after it is judged, not taken for a
 * retransmission. */
static void test_syn_in_established_ignored(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	seg_at(x, x->cseq + 0x80000000u, DP_TCP_SYN, NULL, 0);
	assert_int_equal(dp_engine_counters(x->e)->syn_ignored, 1);
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900002", "win a free prize");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_string_equal(ev->system_id, "alpha");
	fx_free(x);
}

/* A RST at a sequence number its receiver would not take leaves the flow
 * and its session as they were: a submit cut in two segments after it is
 * reassembled and judged. A RST at the next expected byte ends them. */
static void test_rst_out_of_sequence_ignored(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	seg_at(x, x->cseq + 5000, DP_TCP_RST, NULL, 0);
	assert_int_equal(dp_engine_counters(x->e)->rst_ignored, 1);
	/* the flow is not closing: 11 s later it is still there, session and all */
	advance(x, 11000);
	dp_engine_expire(x->e, 1u << 20);
	uint8_t p[512];
	uint32_t n = mk_text(p, 0x04, 40, 1, "447700900001", "447700900002", "win a free prize");
	unsigned before = x->n_ev;
	seg(x, true, DP_TCP_ACK, p, 20);
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p + 20, n - 20);
	assert_int_equal(x->n_ev, before + 1);
	assert_int_equal(x->ev[before].verdict, DP_VERDICT_BLOCK);
	assert_string_equal(x->ev[before].system_id, "alpha");
	/* a FIN far ahead of the data is not taken either */
	seg_at(x, x->cseq + 7000, DP_TCP_FIN | DP_TCP_ACK, NULL, 0);
	assert_int_equal(dp_engine_counters(x->e)->fin_ignored, 1);
	advance(x, 11000);
	dp_engine_expire(x->e, 1u << 20);
	assert_string_equal(submit(x, 1, "447700900001", "447700900002", "hello")->system_id, "alpha");
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_submits, 0);
	/* the RST a closing ESME sends, at the next byte: taken */
	seg_at(x, x->cseq, DP_TCP_RST, NULL, 0);
	assert_int_equal(dp_engine_counters(x->e)->rst_ignored, 1);
	assert_int_equal(dp_engine_counters(x->e)->fin_ignored, 1);
	fx_free(x);
}

/* Data on the SYN is not taken into the stream (a receiver without TCP
 * Fast Open drops it): the bytes sent after the handshake at the same
 * sequence numbers are the ones judged. */
static void test_syn_data_not_inspected(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	uint8_t p[512], q[512];
	x->cseq = 1000;
	x->sseq = 5000;
	uint32_t n = mk_text(p, 0x04, 41, 1, "447700900001", "447700900002", "see you at the game");
	seg_at(x, 1000, DP_TCP_SYN, p, n); /* the fixture's own sequence stays at 1000 */
	x->cseq = 1001;
	seg(x, false, DP_TCP_SYN | DP_TCP_ACK, NULL, 0);
	seg(x, true, DP_TCP_ACK, NULL, 0);
	assert_int_equal(dp_engine_counters(x->e)->syn_data, 1);
	assert_int_equal(x->n_ev, 0); /* the SYN's copy was not judged */
	/* the first data after the handshake, at the SYN data's sequence numbers */
	uint32_t m = mk_text(q, 0x04, 41, 1, "447700900001", "447700900002", "win a free prize");
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, q, m);
	assert_int_equal(x->n_ev, 1);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_BLOCK);
	assert_int_equal(dp_engine_counters(x->e)->stream.overlap_conflict, 0);
	fx_free(x);
}

static void two_chunks(struct dp_settings *s)
{
	s->pool_chunks = 2;
}

/* The reassembly pool empty (two chunks, each holding a submit's first
 * bytes) and a third connection's PDU header cut across segments: that PDU
 * cannot be inspected, and failure_reassembly (closed) reports it as a
 * blocking uninspectable event instead of losing it silently. */
static void test_header_split_pool_empty_reported(void **state)
{
	(void)state;
	struct fx *x = fx_new(two_chunks);
	uint8_t p[512];
	assert_true(mk_text(p, 0x04, 50, 1, "447700900001", "447700900002", "win a free prize") > 30);
	for (uint16_t port = 33000; port < 33002; port++) {
		x->t.sport = port;
		handshake(x);
		seg(x, true, DP_TCP_ACK, p, 30); /* the rest never comes: a chunk held */
	}
	assert_int_equal(x->n_ev, 0);
	x->t.sport = 33002;
	handshake(x);
	seg(x, true, DP_TCP_ACK, p, 10);
	assert_int_equal(x->n_ev, 1);
	assert_int_equal(x->ev[0].type, DP_EV_UNINSPECTABLE);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_BLOCK);
	assert_string_equal(x->ev[0].rule_id, "builtin:reassembly-memory");
	assert_int_equal(x->ev[0].sequence, 10);
	fx_free(x);
}

static void exempt(struct dp_settings *s)
{
	s->default_customer.exempt_rules[0] = 9002;
	s->default_customer.exempt_categories = 1u << 4; /* CP_CAT_SPOOFING */
}

/* Exceptions from the customer record: the message passes, the rule is named. */
static void test_exemptions(void **state)
{
	(void)state;
	struct fx *x = fx_new(exempt);
	handshake(x);
	bind_ok(x, "alpha");
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900002", "win a free prize");
	assert_int_equal(ev->verdict, DP_VERDICT_PASS);
	assert_string_equal(ev->rule_id, "exempt:9002");
	assert_int_equal(ev->command_status, 0);
	ev = submit(x, 5, "PayPal", "447700900003", "hello");
	assert_int_equal(ev->verdict, DP_VERDICT_PASS);
	assert_string_equal(ev->rule_id, "exempt:9004");
	/* Not exempt: fraud still blocks. */
	ev = submit(x, 1, "447700900001", "447700900004", "verify now at secure-bank.example");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	fx_free(x);
}

static void bulk5(struct dp_settings *s)
{
	s->bulk_recipients = 5;
	s->bulk_window_ms = 60000;
}

static void test_bulk_fingerprint(void **state)
{
	(void)state;
	struct fx *x = fx_new(bulk5);
	handshake(x);
	bind_ok(x, "alpha");
	char dst[32], text[64];
	for (int i = 0; i < 4; i++) {
		snprintf(dst, sizeof(dst), "4477009000%02d", i);
		snprintf(text, sizeof(text), "Your code is %d", 1000 + i); /* digits vary */
		assert_int_equal(submit(x, 1, "447700900001", dst, text)->verdict, DP_VERDICT_PASS);
	}
	/* A repeat to the same recipient does not count as another recipient. */
	assert_int_equal(submit(x, 1, "447700900001", dst, "Your code is 77")->verdict, DP_VERDICT_PASS);
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900099", "Your code is 5");
	assert_int_equal(ev->category, DP_CAT_BULK);
	/* A different text is not bulk; after the window the count restarts. */
	assert_int_equal(submit(x, 1, "447700900001", "447700900098", "Another text")->verdict,
			 DP_VERDICT_PASS);
	advance(x, 60001);
	assert_int_equal(submit(x, 1, "447700900001", "447700900097", "Your code is 6")->verdict,
			 DP_VERDICT_PASS);
	fx_free(x);
}

/* dp_hash64 keys the policy tables and the snapshot's opt-outs: two
 * CRC32C lanes with seeds derived from the 64-bit seed, whatever the
 * length and alignment. */
static void test_hash64_is_two_crc_lanes(void **state)
{
	(void)state;
	uint8_t buf[80];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	const uint64_t seeds[] = { 0, 7, 0x0b7001, 0x123456789abcdef0ull };
	for (unsigned s = 0; s < 4; s++) {
		for (uint32_t off = 0; off < 3; off++) {
			for (uint32_t len = 0; len <= 70; len++) {
				/* rte_hash_crc reads words: give it an aligned copy. */
				uint64_t al[10];
				memcpy(al, buf + off, len);
				uint32_t a = rte_hash_crc(al, len, (uint32_t)seeds[s] ^ 0x9e3779b9u);
				uint32_t b = rte_hash_crc(al, len, (uint32_t)(seeds[s] >> 32) ^ 0x85ebca6bu);
				uint64_t want = ((uint64_t)a << 32) | b;
				assert_int_equal(dp_hash64(buf + off, len, seeds[s]), want ? want : 1);
			}
		}
	}
}

/* Long texts: digit runs far into the text, at the end and after a
 * literal '#' fold; a text that differs elsewhere does
 * not share the fingerprint. */
static void test_bulk_fingerprint_long_texts(void **state)
{
	(void)state;
	struct fx *x = fx_new(bulk5);
	handshake(x);
	bind_ok(x, "alpha");
	char dst[32], text[128];
	for (int i = 0; i < 4; i++) {
		snprintf(dst, sizeof(dst), "4477009001%02d", i);
		snprintf(text, sizeof(text),
			 "Dear customer, your parcel #%d is waiting; pay %d.%02d GBP within %d days %d",
			 123 + i * 1000, 1 + i, 99 - i, 2 + i, 5000 + i);
		assert_int_equal(submit(x, 1, "447700900001", dst, text)->verdict, DP_VERDICT_PASS);
	}
	/* Same shape, but a letter differs far into the text: not the same text. */
	assert_int_equal(submit(x, 1, "447700900001", "447700900190",
				"Dear customer, your parcel #9 is waiting; pay 1.00 GBP within 3 dayz 4")
				 ->verdict,
			 DP_VERDICT_PASS);
	const struct dp_event *ev = submit(
		x, 1, "447700900001", "447700900191",
		"Dear customer, your parcel #5 is waiting; pay 120.5 GBP within 30 days 1");
	assert_int_equal(ev->category, DP_CAT_BULK);
	fx_free(x);
}

/* Per-command counters: the fast path for submit_sm and its response
 * names the same slots as the table. */
static void test_cmd_index_names(void **state)
{
	(void)state;
	assert_string_equal(dp_cmd_index_name(dp_cmd_index(0x00000004u)), "submit_sm");
	assert_string_equal(dp_cmd_index_name(dp_cmd_index(0x80000004u)), "submit_sm_resp");
	assert_string_equal(dp_cmd_index_name(dp_cmd_index(0x00000103u)), "data_sm");
	assert_string_equal(dp_cmd_index_name(dp_cmd_index(0x12345678u)), "other");
}

/* A session of a system_id the snapshot does not know uses the default
 * profile; when a later snapshot adds it, its record applies at once. */
static void test_unknown_customer_then_known(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "gamma");
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "hello")->verdict,
			 DP_VERDICT_PASS);
	assert_int_equal(submit(x, 1, "447700900001", "447700900003", "hello")->verdict,
			 DP_VERDICT_PASS);
	memset(custs, 0, sizeof(custs));
	snprintf(custs[0].system_id, DP_SYSTEM_ID_MAX, "gamma");
	custs[0].standing = DP_STANDING_SUSPENDED;
	custs[0].any_sender = 1;
	static struct dp_snapshot s2;
	s2 = x->snap;
	s2.generation = 7;
	s2.cust = custs;
	s2.n_cust = 1;
	dp_engine_set_snapshot(x->e, &s2);
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900004", "hello");
	assert_int_equal(ev->category, DP_CAT_STANDING);
	fx_free(x);
}

/* Events carry addresses as printable ASCII: other octets become '?'
 * (before, in and after the first 8 octets). */
static void test_event_addresses_printable(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	const struct dp_event *ev = submit(x, 5, "Shop\x7f\x01X", "447700900002", "hi");
	assert_string_equal(ev->src, "Shop??X");
	assert_string_equal(ev->dst, "447700900002");
	ev = submit(x, 5, "ShopA", "44770090000212345678", "hi");
	assert_string_equal(ev->src, "ShopA");
	assert_string_equal(ev->dst, "44770090000212345678");
	ev = submit(x, 5, "Shop", "44770090000212\x80", "hi");
	assert_string_equal(ev->dst, "44770090000212?");
	fx_free(x);
}

/* Opt-outs from the snapshot (none learned by this worker) still block. */
static void test_optout_from_snapshot(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	static uint64_t keys[2];
	keys[0] = dp_optout_key("alpha", (const uint8_t *)"447700900999", 12, NULL, 0);
	keys[1] = dp_optout_key("beta", (const uint8_t *)"447700900998", 12, NULL, 0);
	if (keys[0] > keys[1]) {
		uint64_t t = keys[0];
		keys[0] = keys[1];
		keys[1] = t;
	}
	static struct dp_snapshot s2;
	s2 = x->snap;
	s2.generation = 2;
	s2.optouts = keys;
	s2.n_optouts = 2;
	dp_engine_set_snapshot(x->e, &s2);
	handshake(x);
	bind_ok(x, "alpha");
	const struct dp_event *ev = submit(x, 1, "447700900001", "+447700900999", "hello");
	assert_int_equal(ev->category, DP_CAT_OPTOUT);
	/* beta's opt-out is not alpha's. */
	assert_int_equal(submit(x, 1, "447700900001", "447700900998", "hello")->verdict,
			 DP_VERDICT_PASS);
	fx_free(x);
}

static void velo3(struct dp_settings *s)
{
	s->velocity_max = 3;
	s->velocity_window_ms = 60000;
}

static void test_velocity(void **state)
{
	(void)state;
	struct fx *x = fx_new(velo3);
	handshake(x);
	bind_ok(x, "alpha");
	const char *texts[] = { "one", "two", "three", "four" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(submit(x, 1, "447700900001", "447700900002", texts[i])->verdict,
				 DP_VERDICT_PASS);
	const struct dp_event *ev = submit(x, 1, "447700900001", "447700900002", texts[3]);
	assert_int_equal(ev->category, DP_CAT_VELOCITY);
	assert_int_equal(submit(x, 1, "447700900001", "447700900003", "other")->verdict, DP_VERDICT_PASS);
	advance(x, 60001);
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "later")->verdict, DP_VERDICT_PASS);
	fx_free(x);
}

static void test_no_ruleset_fail_policy(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	static struct dp_snapshot empty;
	empty.generation = 9;
	dp_engine_set_snapshot(x->e, &empty);
	handshake(x);
	bind_ok(x, "alpha");
	/* failure_no_ruleset defaults to open: passed, and counted. */
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "win a free iphone")->verdict,
			 DP_VERDICT_PASS);
	assert_int_equal(dp_engine_counters(x->e)->unscanned_no_ruleset, 1);
	fx_free(x);
}

static void bind_limits(struct dp_settings *s)
{
	s->default_customer.max_binds = 1;
	s->default_customer.binds_per_min = 3;
}

static const struct dp_event *last_bind(struct fx *x)
{
	for (unsigned i = x->n_ev; i > 0; i--)
		if (x->ev[i - 1].type == DP_EV_BIND)
			return &x->ev[i - 1];
	fail();
	return NULL;
}

/* Concurrent binds and bind attempts per minute (default profile: 1 and 3).
 * All connections have the same byte history, so the fixture's sequence
 * numbers fit whichever connection is picked by its port. */
static void test_bind_limits(void **state)
{
	(void)state;
	struct fx *x = fx_new(bind_limits);
	x->t.sport = 31000; /* A: attempt 1 */
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(last_bind(x)->verdict, DP_VERDICT_PASS);
	x->t.sport = 31001; /* B: attempt 2, A still bound */
	handshake(x);
	bind_status(x, "alpha", 0x0d); /* refused (as enforcement will answer) */
	assert_string_equal(last_bind(x)->rule_id, "builtin:bind.max");
	assert_int_equal(last_bind(x)->command_status, 0x0d);
	assert_int_equal(last_bind(x)->category, DP_CAT_BIND);
	x->t.sport = 31002; /* C: attempt 3 */
	handshake(x);
	bind_status(x, "alpha", 0x0d);
	assert_string_equal(last_bind(x)->rule_id, "builtin:bind.max");
	x->t.sport = 31003; /* D: attempt 4 in the same minute */
	handshake(x);
	bind_status(x, "alpha", 0x0d);
	assert_string_equal(last_bind(x)->rule_id, "builtin:bind.rate");
	advance(x, 60000);
	x->t.sport = 31000; /* A unbinds */
	uint8_t p[16];
	uint32_t n = mk_hdr(p, 16, 0x06, 0, 9);
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, n);
	x->t.sport = 31004; /* E: allowed again */
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(last_bind(x)->verdict, DP_VERDICT_PASS);
	assert_int_equal(dp_engine_counters(x->e)->binds_refused, 3);
	fx_free(x);
}

/* Binds sent at once on several connections count before they are
 * answered: with max_binds 1 the second of two unanswered binds is refused;
 * a bind the SMSC refuses gives its slot back. */
static void test_bind_max_unanswered(void **state)
{
	(void)state;
	struct fx *x = fx_new(bind_limits);
	uint8_t p[256];
	uint32_t n;
	x->t.sport = 31100; /* A: bind, no answer yet */
	handshake(x);
	n = dp_tk_bind(p, 1, "alpha", "s3cr3tpw");
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(last_bind(x)->verdict, DP_VERDICT_PASS);
	uint32_t a_cseq = x->cseq, a_sseq = x->sseq;
	x->t.sport = 31101; /* B: bind while A's is pending */
	handshake(x);
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_string_equal(last_bind(x)->rule_id, "builtin:bind.max");
	x->t.sport = 31100; /* the SMSC refuses A's bind */
	x->cseq = a_cseq;
	x->sseq = a_sseq;
	n = mk_hdr(p, 16, 0x80000009, 0x0d, 1);
	n += dp_tk_cstr(p + n, "SMSC");
	dp_tk_put32(p, n);
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(dp_engine_counters(x->e)->bind_failed, 1);
	x->t.sport = 31102; /* C: the slot is free again */
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(last_bind(x)->verdict, DP_VERDICT_PASS);
	assert_int_equal(dp_engine_counters(x->e)->binds_refused, 1);
	fx_free(x);
}

static void ip_range(struct dp_settings *s)
{
	s->default_customer.n_ipranges = 1;
	/* ::ffff:198.18.0.0/112 (198.18.0.0/16 mapped) */
	memset(s->default_customer.ipranges[0].addr, 0, 16);
	s->default_customer.ipranges[0].addr[10] = 0xff;
	s->default_customer.ipranges[0].addr[11] = 0xff;
	s->default_customer.ipranges[0].addr[12] = 198;
	s->default_customer.ipranges[0].addr[13] = 18;
	s->default_customer.ipranges[0].prefix_len = 112;
}

static void test_bind_source_range(void **state)
{
	(void)state;
	struct fx *x = fx_new(ip_range);
	handshake(x);
	bind_ok(x, "alpha"); /* from 198.18.0.1 */
	assert_int_equal(last_bind(x)->verdict, DP_VERDICT_PASS);
	x->t.v6 = 1; /* from 2001:db8::1: outside */
	x->t.sport = 32000;
	handshake(x);
	bind_ok(x, "alpha");
	assert_string_equal(last_bind(x)->rule_id, "builtin:bind.ip");
	fx_free(x);
}

/* ------------------------------------------- review of the verdict steps */

/* Part `i` of `total` of concatenated message `ref` (8-bit reference UDH). */
static const struct dp_event *part_of(struct fx *x, uint8_t ref, uint8_t total, uint8_t i,
				      const char *text)
{
	uint8_t ud[200] = { 5, 0, 3, ref, total, i };
	size_t n = strlen(text);
	memcpy(ud + 6, text, n);
	uint8_t p[512];
	uint32_t len = mk_sm(p, 0x04, ++x->pseq, 1, "447700900001", "447700900002", 0x40, 1, ud,
			     (uint32_t)(6 + n));
	unsigned before = x->n_ev;
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, len);
	assert_int_equal(x->n_ev, before + 1);
	return &x->ev[x->n_ev - 1];
}

/* A part sent twice (an ESME resending a part that was throttled or not
 * answered) is one part: the message's stream stays open until every part
 * was seen, so a URL split across the last two parts is still found. */
static void test_concat_repeated_part(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(part_of(x, 21, 3, 1, "Dear customer, ")->verdict, DP_VERDICT_PASS);
	assert_int_equal(part_of(x, 21, 3, 1, "Dear customer, ")->verdict, DP_VERDICT_PASS);
	assert_int_equal(part_of(x, 21, 3, 2, "your account is locked. Verify now at secure-")->verdict,
			 DP_VERDICT_PASS);
	const struct dp_event *ev = part_of(x, 21, 3, 3, "bank.example/login today");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->rule_num, 9001);
	assert_int_equal(ev->part, 3);
	fx_free(x);
}

/* A part arriving after concat_timeout starts a new message even when the
 * periodic sweep has not visited the old one yet. */
static void test_concat_late_part_before_sweep(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	part_of(x, 9, 2, 1, "Your account is locked. Verify now at secure-");
	advance(x, x->s.concat_timeout_ms + 1);
	/* No dp_engine_expire(): the slot is still there. */
	assert_int_equal(part_of(x, 9, 2, 2, "bank.example/login today")->verdict, DP_VERDICT_PASS);
	assert_int_equal(dp_engine_counters(x->e)->concat_expired, 1);
	/* Within the timeout the parts still join. */
	part_of(x, 10, 2, 1, "Your account is locked. Verify now at secure-");
	advance(x, x->s.concat_timeout_ms - 1);
	assert_int_equal(part_of(x, 10, 2, 2, "bank.example/login today")->rule_num, 9001);
	fx_free(x);
}

/* Alphanumeric senders: at most 11 GSM characters, counted in septets
 * (an extension character such as '[' or '{' takes two; 'é' is one). */
static void test_sender_length_septets(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(submit(x, 5, "AlphaShop12", "447700900002", "hi")->verdict, DP_VERDICT_PASS);
	const struct dp_event *ev = submit(x, 5, "AlphaShop[1", "447700900002", "hi");
	assert_int_equal(ev->category, DP_CAT_SENDER);
	assert_string_equal(ev->rule_id, "builtin:sender.length"); /* 12 septets */
	ev = submit(x, 5, "Shop{Alpha}", "447700900002", "hi");
	assert_string_equal(ev->rule_id, "builtin:sender.length"); /* 13 septets */
	assert_int_equal(submit(x, 5, "AlphaShop[", "447700900002", "hi")->verdict,
			 DP_VERDICT_PASS); /* 11 septets */
	/* "Café Paris!" is 11 GSM characters in 12 octets of UTF-8. */
	assert_int_equal(submit(x, 5, "Caf\xc3\xa9 Paris!", "447700900002", "hi")->verdict,
			 DP_VERDICT_PASS);
	fx_free(x);
}

/* The bulk fingerprint belongs to the customer that sent the message:
 * two system_ids on the default profile (not in the store) sending the
 * same text are two customers, as they are for rate limits and velocity. */
static void test_bulk_per_system_id_default_profile(void **state)
{
	(void)state;
	struct fx *x = fx_new(bulk5);
	handshake(x);
	bind_ok(x, "shop-one");
	char dst[32];
	for (int i = 0; i < 3; i++) {
		snprintf(dst, sizeof(dst), "4477009002%02d", i);
		assert_int_equal(submit(x, 1, "447700900001", dst, "Your parcel is waiting")->verdict,
				 DP_VERDICT_PASS);
	}
	x->t.sport = 40001; /* another connection, another customer */
	handshake(x);
	bind_ok(x, "shop-two");
	for (int i = 0; i < 3; i++) {
		snprintf(dst, sizeof(dst), "4477009003%02d", i);
		const struct dp_event *ev = submit(x, 1, "447700900001", dst, "Your parcel is waiting");
		assert_int_equal(ev->verdict, DP_VERDICT_PASS);
		assert_string_equal(ev->system_id, "shop-two");
	}
	fx_free(x);
}

/* A STOP from 44... covers the subscriber written +44... and 0044... (the
 * international prefix) in later submits, and the other way round. */
static void test_optout_subscriber_forms(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	uint8_t p[256];
	uint32_t n = mk_text(p, 0x05, 900, 1, "447700900999", "70123", "STOP");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(submit(x, 5, "AlphaShop", "447700900999", "a")->category, DP_CAT_OPTOUT);
	assert_int_equal(submit(x, 5, "AlphaShop", "+447700900999", "b")->category, DP_CAT_OPTOUT);
	assert_int_equal(submit(x, 5, "AlphaShop", "00447700900999", "c")->category, DP_CAT_OPTOUT);
	n = mk_text(p, 0x05, 901, 0, "00447700900888", "70123", "stop.");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(submit(x, 5, "AlphaShop", "447700900888", "d")->category, DP_CAT_OPTOUT);
	/* A national number (one 0) is not an international one. */
	assert_int_equal(submit(x, 5, "AlphaShop", "07700900999", "e")->verdict, DP_VERDICT_PASS);
	fx_free(x);
}

/* Velocity counts messages to a subscriber: the parts of one concatenated
 * message are one message (a part sent again is not another), and once the
 * limit is passed every part of a later message is refused. */
static void test_velocity_counts_messages_not_parts(void **state)
{
	(void)state;
	struct fx *x = fx_new(velo3);
	handshake(x);
	bind_ok(x, "alpha");
	/* Three messages of four parts each (part 2 sent twice): all pass. */
	static const uint8_t order[] = { 1, 2, 2, 3, 4 };
	for (uint8_t ref = 30; ref < 33; ref++)
		for (unsigned i = 0; i < sizeof(order); i++)
			assert_int_equal(part_of(x, ref, 4, order[i], "part of a long message")->verdict,
					 DP_VERDICT_PASS);
	/* The fourth message: each of its parts is refused. */
	for (uint8_t i = 1; i <= 4; i++)
		assert_int_equal(part_of(x, 33, 4, i, "part of a long message")->category,
				 DP_CAT_VELOCITY);
	/* Single messages count one each. */
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "short")->category,
			 DP_CAT_VELOCITY);
	fx_free(x);
}

/* submit_multi from AlphaShop with `n` SME destinations 4477009004<i>. */
static uint32_t mk_multi(uint8_t *p, uint32_t seq, unsigned n, const char *text)
{
	uint32_t o = 16;
	o += dp_tk_cstr(p + o, "");
	p[o++] = 5; p[o++] = 0;
	o += dp_tk_cstr(p + o, "AlphaShop");
	p[o++] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		char d[16];
		snprintf(d, sizeof(d), "4477009004%02u", i);
		p[o++] = 1; p[o++] = 1; p[o++] = 1;
		o += dp_tk_cstr(p + o, d);
	}
	p[o++] = 0; p[o++] = 0; p[o++] = 0;
	o += dp_tk_cstr(p + o, "");
	o += dp_tk_cstr(p + o, "");
	p[o++] = 0; p[o++] = 0; p[o++] = 1; p[o++] = 0;
	size_t tl = strlen(text);
	p[o++] = (uint8_t)tl;
	memcpy(p + o, text, tl);
	o += (uint32_t)tl;
	mk_hdr(p, o, 0x21, 0, seq);
	return o;
}

static void rate3(struct dp_settings *s)
{
	s->default_customer.rate_per_s = 3;
	s->default_customer.burst = 3;
}

/* A submit_multi sends a message to each destination: each takes a token
 * of the customer's rate, so a customer limited to 3 per second cannot send
 * 5 in one PDU (the destinations past the budget are throttled). */
static void test_rate_submit_multi_per_destination(void **state)
{
	(void)state;
	struct fx *x = fx_new(rate3);
	handshake(x);
	bind_ok(x, "alpha");
	uint8_t p[512];
	uint32_t n = mk_multi(p, 80, 5, "sale today");
	unsigned before = x->n_ev;
	seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(x->n_ev, before + 5);
	for (unsigned i = 0; i < 5; i++) {
		char d[16];
		snprintf(d, sizeof(d), "4477009004%02u", i);
		assert_string_equal(x->ev[before + i].dst, d);
		assert_int_equal(x->ev[before + i].verdict,
				 i < 3 ? DP_VERDICT_PASS : DP_VERDICT_THROTTLE);
	}
	assert_string_equal(x->ev[before + 4].rule_id, "builtin:rate.customer");
	/* The budget is spent: a submit_sm right after is throttled too. */
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "a")->verdict,
			 DP_VERDICT_THROTTLE);
	advance(x, 334);
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "b")->verdict, DP_VERDICT_PASS);
	fx_free(x);
}

static void allow_numeric(struct dp_settings *s)
{
	s->default_customer.any_sender = 0;
	s->default_customer.n_senders = 2;
	snprintf(s->default_customer.senders[0], DP_SENDER_MAX, "447700900001");
	snprintf(s->default_customer.senders[1], DP_SENDER_MAX, "+447700900050");
}

/* A numeric sender on the allow-list is the same number with or without
 * its leading '+', on either side; other numbers are still refused. */
static void test_sender_allow_list_plus(void **state)
{
	(void)state;
	struct fx *x = fx_new(allow_numeric);
	handshake(x);
	bind_ok(x, "alpha");
	assert_int_equal(submit(x, 1, "447700900001", "447700900002", "a")->verdict, DP_VERDICT_PASS);
	assert_int_equal(submit(x, 1, "+447700900001", "447700900002", "b")->verdict, DP_VERDICT_PASS);
	assert_int_equal(submit(x, 1, "447700900050", "447700900002", "c")->verdict, DP_VERDICT_PASS);
	assert_string_equal(submit(x, 1, "+447700900002", "447700900002", "d")->rule_id,
			    "builtin:sender.allow");
	assert_string_equal(submit(x, 1, "4477009000", "447700900002", "e")->rule_id,
			    "builtin:sender.allow");
	fx_free(x);
}

/* Opt-out keywords with the punctuation and blanks subscribers type around
 * them ("STOP,", "Stop?", "\"STOP\"", a trailing tab); a keyword followed
 * by other words or inside a word is not one. */
static void test_optout_keyword_punctuation(void **state)
{
	(void)state;
	struct fx *x = fx_new(NULL);
	handshake(x);
	bind_ok(x, "alpha");
	static const char *const yes[] = { "STOP,", "Stop?", "\"STOP\"", "stop\t", "'Stop'!", "(STOP)" };
	static const char *const no[] = { "Stop please", "NONSTOP", "stopped", "stop 2", "stop stop" };
	uint8_t p[256];
	for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		unsigned before = x->n_ev;
		uint32_t n = mk_text(p, 0x05, 900 + i, 1, "447700900999", "70123", yes[i]);
		seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
		assert_int_equal(x->n_ev, before + 1);
		assert_int_equal(x->ev[before].type, DP_EV_OPTOUT);
	}
	for (unsigned i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		unsigned before = x->n_ev;
		uint32_t n = mk_text(p, 0x05, 920 + i, 1, "447700900998", "70123", no[i]);
		seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
		assert_int_equal(x->n_ev, before);
	}
	fx_free(x);
}

static void scope_sender(struct dp_settings *s)
{
	s->optout_scope_sender = 1;
}

/* Sender-scoped opt-outs: a STOP sent to the long number 447700900100
 * covers submits from that number written +447700900100 (and the other way
 * round), not those from another sender. */
static void test_optout_sender_scope_number_forms(void **state)
{
	(void)state;
	struct fx *x = fx_new(scope_sender);
	handshake(x);
	bind_ok(x, "alpha");
	uint8_t p[256];
	uint32_t n = mk_text(p, 0x05, 900, 1, "447700900999", "447700900100", "STOP");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(submit(x, 1, "447700900100", "447700900999", "a")->category, DP_CAT_OPTOUT);
	assert_int_equal(submit(x, 1, "+447700900100", "447700900999", "b")->category, DP_CAT_OPTOUT);
	assert_int_equal(submit(x, 1, "447700900101", "447700900999", "c")->verdict, DP_VERDICT_PASS);
	n = mk_text(p, 0x05, 901, 1, "447700900998", "+447700900100", "STOP");
	seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n);
	assert_int_equal(submit(x, 1, "447700900100", "447700900998", "d")->category, DP_CAT_OPTOUT);
	fx_free(x);
}

/* Parts are joined in sequence order, as the handset joins them: a URL
 * split across parts is found whatever order the parts come in; the part
 * that arrives to complete it is blocked, an early part is judged alone. */
static void test_concat_parts_out_of_order(void **state)
{
	(void)state;
	struct fx *x = fx_new(many_to_one);
	handshake(x);
	bind_ok(x, "alpha");
	/* 2 before 1. */
	assert_int_equal(part_of(x, 40, 2, 2, "bank.example/login today")->verdict, DP_VERDICT_PASS);
	const struct dp_event *ev =
		part_of(x, 40, 2, 1, "Your account is locked. Verify now at secure-");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->rule_num, 9001);
	assert_int_equal(ev->part, 1);
	/* 3, 1, 2 with the URL across parts 2 and 3: part 2 completes it. */
	assert_int_equal(part_of(x, 41, 3, 3, "bank.example/login today")->verdict, DP_VERDICT_PASS);
	assert_int_equal(part_of(x, 41, 3, 1, "Dear customer, ")->verdict, DP_VERDICT_PASS);
	ev = part_of(x, 41, 3, 2, "your account is locked. Verify now at secure-");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->rule_num, 9001);
	/* An early part that matches alone is blocked on its own. */
	assert_int_equal(part_of(x, 42, 2, 2, "win a free iphone")->rule_num, 9002);
	/* Harmless parts stay harmless. */
	assert_int_equal(part_of(x, 43, 2, 2, "see you")->verdict, DP_VERDICT_PASS);
	assert_int_equal(part_of(x, 43, 2, 1, "bank.example/login is ")->verdict, DP_VERDICT_PASS);
	/* More early text than the hold area keeps (1 KiB): the rest is fed as
	 * it comes, every part still judged. */
	char big[160];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (uint8_t i = 10; i >= 2; i--)
		assert_int_equal(part_of(x, 44, 10, i, big)->verdict, DP_VERDICT_PASS);
	assert_int_equal(part_of(x, 44, 10, 1, "win a free iphone")->rule_num, 9002);
	fx_free(x);
}

int main(void)
{
	if (dp_tk_eal_init("test_dp_engine", "dpeng", "256") < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_kinds),
		cmocka_unit_test(test_flow_key_symmetric),
		cmocka_unit_test(test_flow_table_full_and_timeouts),
		cmocka_unit_test(test_session_bind),
		cmocka_unit_test(test_midstream_flow),
		cmocka_unit_test(test_tls_on_smpp_port),
		cmocka_unit_test(test_ooo_gap_policy),
		cmocka_unit_test(test_not_smpp_on_smpp_port),
		cmocka_unit_test(test_standing_first),
		cmocka_unit_test(test_rate_limit_fake_clock),
		cmocka_unit_test(test_optout_then_optin),
		cmocka_unit_test(test_sender_rules),
		cmocka_unit_test(test_sender_allow_list),
		cmocka_unit_test(test_concat_split_url_and_expiry),
		cmocka_unit_test(test_concat_across_swap),
		cmocka_unit_test(test_concat_bound),
		cmocka_unit_test(test_exemptions),
		cmocka_unit_test(test_submit_multi_and_data_sm),
		cmocka_unit_test(test_bulk_fingerprint),
		cmocka_unit_test(test_velocity),
		cmocka_unit_test(test_no_ruleset_fail_policy),
		cmocka_unit_test(test_bind_limits),
		cmocka_unit_test(test_bind_max_unanswered),
		cmocka_unit_test(test_text_too_long),
		cmocka_unit_test(test_table_evictions_counted),
		cmocka_unit_test(test_syn_in_established_ignored),
		cmocka_unit_test(test_rst_out_of_sequence_ignored),
		cmocka_unit_test(test_syn_data_not_inspected),
		cmocka_unit_test(test_header_split_pool_empty_reported),
		cmocka_unit_test(test_bind_source_range),
		cmocka_unit_test(test_hash64_is_two_crc_lanes),
		cmocka_unit_test(test_bulk_fingerprint_long_texts),
		cmocka_unit_test(test_optout_from_snapshot),
		cmocka_unit_test(test_cmd_index_names),
		cmocka_unit_test(test_unknown_customer_then_known),
		cmocka_unit_test(test_event_addresses_printable),
		cmocka_unit_test(test_rate_shared_between_workers),
		cmocka_unit_test(test_concat_repeated_part),
		cmocka_unit_test(test_concat_late_part_before_sweep),
		cmocka_unit_test(test_sender_length_septets),
		cmocka_unit_test(test_bulk_per_system_id_default_profile),
		cmocka_unit_test(test_optout_subscriber_forms),
		cmocka_unit_test(test_velocity_counts_messages_not_parts),
		cmocka_unit_test(test_rate_submit_multi_per_destination),
		cmocka_unit_test(test_sender_allow_list_plus),
		cmocka_unit_test(test_optout_keyword_punctuation),
		cmocka_unit_test(test_optout_sender_scope_number_forms),
		cmocka_unit_test(test_concat_parts_out_of_order),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dp_eal_cleanup();
	return rc;
}
