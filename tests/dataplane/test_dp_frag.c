/* IP fragment reassembly (dp_frag.c) on the engine in process: SMPP
 * submit_sm segments cut into IPv4 and IPv6 fragments (802.1Q/QinQ, IPv6
 * extension headers before the fragment header), fed in order, reversed and
 * shuffled, in monitor and inline mode; non-SMPP fragments released once
 * their first fragment shows the ports; duplicates, overlaps that differ,
 * timeouts and the bounds. Frames leaving through the engine's tx function
 * are captured and compared byte for byte with what was fed. */
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
#include "dp_testkit.h"
#include "pat.h"
#include "smpp.h"

/* ------------------------------------------------------------ frames */

#define FMAX 2048

struct fb {
	uint8_t b[FMAX];
	uint32_t len;
};

/* How frames of a test look. */
struct shape {
	int v6;        /* 0: IPv4 */
	int n_vlan;    /* 0..2 */
	int v6_ext;    /* IPv6: hop-by-hop and destination options in front */
	uint16_t cport, sport; /* ESME's port, SMSC's port */
};

/* The offset of the IP header and, in *fh, of what follows the IP headers
 * (IPv4 header, or IPv6 header and its extension headers). */
static uint32_t l3_of(const struct shape *sh, uint32_t *fh)
{
	uint32_t l3 = 14 + 4u * (uint32_t)sh->n_vlan;
	*fh = l3 + (sh->v6 ? 40u + (sh->v6_ext ? 16u : 0u) : 20u);
	return l3;
}

/* One's-complement sum of the big-endian 16-bit words of p[0..n) (an odd
 * last octet padded with zero) added to acc, and that sum folded to 16 bits. */
static uint32_t sum_be(const uint8_t *p, uint32_t n, uint32_t acc)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold16(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static void ip4_csum(uint8_t *ip)
{
	ip[10] = ip[11] = 0;
	dp_tk_put16(ip + 10, (uint16_t)~fold16(sum_be(ip, 20, 0)));
}

/* A whole TCP segment from the ESME (to_smsc) or the SMSC. */
static void mk_seg(struct fb *f, const struct shape *sh, bool to_smsc, uint32_t seq, uint32_t ack,
		   uint8_t flags, const uint8_t *pl, uint32_t plen)
{
	uint8_t *p = f->b;
	memset(p, 0, sizeof(f->b));
	memcpy(p, to_smsc ? "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01"
			  : "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	uint32_t o = 12;
	for (int i = 0; i < sh->n_vlan; i++) {
		dp_tk_put16(p + o, i == 0 && sh->n_vlan == 2 ? 0x88a8 : 0x8100);
		dp_tk_put16(p + o + 2, (uint16_t)(100 + i));
		o += 4;
	}
	dp_tk_put16(p + o, sh->v6 ? 0x86dd : 0x0800);
	o += 2;
	uint8_t src = to_smsc ? 1 : 2, dst = to_smsc ? 2 : 1;
	uint32_t tcp_len = 20 + plen;
	if (!sh->v6) {
		p[o] = 0x45;
		dp_tk_put16(p + o + 2, (uint16_t)(20 + tcp_len));
		dp_tk_put16(p + o + 4, 0x1234);
		p[o + 8] = 64;
		p[o + 9] = 6;
		memcpy(p + o + 12, "\xc6\x12\x00", 3);
		p[o + 15] = src;
		memcpy(p + o + 16, "\xc6\x12\x00", 3);
		p[o + 19] = dst;
		ip4_csum(p + o);
		o += 20;
	} else {
		uint32_t ext = sh->v6_ext ? 16 : 0;
		p[o] = 0x60;
		dp_tk_put16(p + o + 4, (uint16_t)(ext + tcp_len));
		p[o + 6] = sh->v6_ext ? 0 : 6;
		p[o + 7] = 64;
		memcpy(p + o + 8, "\x20\x01\x0d\xb8", 4);
		p[o + 23] = src;
		memcpy(p + o + 24, "\x20\x01\x0d\xb8", 4);
		p[o + 39] = dst;
		o += 40;
		if (sh->v6_ext) {
			p[o] = 60; /* hop-by-hop → destination options → TCP */
			p[o + 2] = 1;
			p[o + 3] = 4;
			p[o + 8] = 6;
			p[o + 10] = 1;
			p[o + 11] = 4;
			o += 16;
		}
	}
	dp_tk_put16(p + o, to_smsc ? sh->cport : sh->sport);
	dp_tk_put16(p + o + 2, to_smsc ? sh->sport : sh->cport);
	dp_tk_put32(p + o + 4, seq);
	dp_tk_put32(p + o + 8, ack);
	p[o + 12] = 0x50;
	p[o + 13] = flags;
	dp_tk_put16(p + o + 14, 65535);
	o += 20;
	if (plen > 0)
		memcpy(p + o, pl, plen);
	f->len = o + plen;
	/* the TCP checksum (pseudo-header: addresses, protocol, length) */
	const uint8_t *addrs = p + 14 + 4u * (uint32_t)sh->n_vlan + (sh->v6 ? 8 : 12);
	const uint8_t *t = p + o - 20;
	uint32_t acc = 6 + tcp_len;
	for (uint32_t i = 0; i < (sh->v6 ? 32u : 8u); i += 2)
		acc += (uint32_t)(addrs[i] << 8 | addrs[i + 1]);
	for (uint32_t i = 0; i < tcp_len; i += 2)
		acc += (uint32_t)(t[i] << 8 | (i + 1 < tcp_len ? t[i + 1] : 0));
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	dp_tk_put16(p + o - 4, (uint16_t)~acc);
	if (f->len < 60)
		f->len = 60;
}

/* One fragment of a whole segment: bytes [off, end) of its IP payload,
 * more-fragments flag `more`, fragment id `id`. */
static void frag_one(const struct fb *w, const struct shape *sh, uint32_t off, uint32_t end,
		     bool more, uint32_t id, struct fb *f)
{
	uint32_t fh;
	uint32_t l3 = l3_of(sh, &fh);
	memset(f, 0, sizeof(*f));
	memcpy(f->b, w->b, fh);
	uint32_t o = fh;
	if (!sh->v6) {
		dp_tk_put16(f->b + l3 + 2, (uint16_t)(20 + end - off));
		dp_tk_put16(f->b + l3 + 4, (uint16_t)id);
		dp_tk_put16(f->b + l3 + 6, (uint16_t)((more ? 0x2000 : 0) | off / 8));
		ip4_csum(f->b + l3);
	} else {
		f->b[sh->v6_ext ? l3 + 48 : l3 + 6] = 44; /* the last header names it */
		f->b[o] = 6;
		dp_tk_put16(f->b + o + 2, (uint16_t)(off | (more ? 1 : 0)));
		dp_tk_put32(f->b + o + 4, id);
		o += 8;
		dp_tk_put16(f->b + l3 + 4, (uint16_t)(o - l3 - 40 + end - off));
	}
	memcpy(f->b + o, w->b + fh + off, end - off);
	f->len = o + end - off;
	if (f->len < 60)
		f->len = 60;
}

/* The length of a whole segment's IP payload (past extension headers). */
static uint32_t ip_data_len(const struct fb *w, const struct shape *sh)
{
	uint32_t fh;
	uint32_t l3 = l3_of(sh, &fh);
	return sh->v6 ? (uint32_t)(w->b[l3 + 4] << 8 | w->b[l3 + 5]) - (fh - l3 - 40)
		      : (uint32_t)(w->b[l3 + 2] << 8 | w->b[l3 + 3]) - 20;
}

/* Cut a whole segment into fragments at the given offsets of its IP
 * payload (multiples of 8; cuts[0] = 0), fragment id `id`. */
static unsigned fragment(const struct fb *w, const struct shape *sh, const uint32_t *cuts,
			 unsigned n, uint32_t id, struct fb *out)
{
	uint32_t dlen = ip_data_len(w, sh);
	for (unsigned i = 0; i < n; i++)
		frag_one(w, sh, cuts[i], i + 1 < n ? cuts[i + 1] : dlen, i + 1 < n, id, &out[i]);
	return n;
}

/* ------------------------------------------------------------- PDUs */

static uint32_t mk_bind(uint8_t *p, uint32_t seq, const char *sid)
{
	return dp_tk_bind(p, seq, sid, "s3cr3tpw");
}

/* submit_sm 447700900001 → 447700900002, IA5 text. */
static uint32_t mk_submit(uint8_t *p, uint32_t seq, const char *text)
{
	uint32_t n = dp_tk_submit(p, 1024, seq, text);
	assert_true(n > 0);
	return n;
}

/* ----------------------------------------------------------- fixture */

#define MAXEV 32
#define MAXTX 32

struct fx {
	struct dp_settings s;
	struct dp_engine *e;
	struct dp_event ev[MAXEV];
	unsigned n_ev;
	struct fb tx[MAXTX];
	int tx_to_smsc[MAXTX];
	unsigned n_tx;
	unsigned id;
	struct shape sh;
	uint32_t cseq, sseq, pseq;
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

static void tx_cb(void *arg, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len)
{
	struct fx *x = arg;
	(void)pair;
	assert_true(x->n_tx < MAXTX && len <= FMAX);
	memcpy(x->tx[x->n_tx].b, fr, len);
	x->tx[x->n_tx].len = len;
	x->tx_to_smsc[x->n_tx] = to_smsc;
	x->n_tx++;
}

static const char rules_src[] =
	"rule id=9002 cat=spam target=norm action=block pat=/win a free (iphone|prize)/ desc=\"prize spam\"\n";

static struct fx *fx_new(bool monitor, void (*tune)(struct dp_settings *))
{
	struct fx *x = calloc(1, sizeof(*x));
	dp_tk_settings(&x->s);
	x->s.edit_flows = 4;
	x->s.monitor = monitor;
	if (tune)
		tune(&x->s);
	static unsigned next_id;
	x->id = next_id++ % DP_MAX_WORKERS;
	x->e = dp_engine_create(x->id, &x->s, 0);
	assert_non_null(x->e);
	dp_engine_set_event_sink(x->e, sink, x);
	dp_engine_set_tx(x->e, tx_cb, x);
	x->now = 1000000;
	dp_engine_set_time(x->e, x->now);
	struct pat_error err;
	assert_int_equal(dp_tk_rules_load(&x->rules, &x->rs, x->id, x->s.concat_max, "frag.rules",
					  rules_src, sizeof(rules_src) - 1, &err),
			 PAT_OK);
	x->snap.generation = 1;
	x->snap.rules = &x->rules;
	dp_engine_set_snapshot(x->e, &x->snap);
	x->sh = (struct shape){ .cport = 40000, .sport = 2775 };
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

/* Feed one frame (a copy: the engine may rewrite it) from a side. */
static enum dp_action feed(struct fx *x, bool from_esme, const struct fb *f, struct fb *after)
{
	struct fb c = *f;
	dp_engine_set_rx(x->e, 0, from_esme ? 0 : 1);
	enum dp_action a = dp_engine_frame_rw(x->e, c.b, c.len);
	if (after != NULL)
		*after = c;
	return a;
}

/* A whole segment, advancing the sender's sequence number. */
static enum dp_action seg(struct fx *x, bool from_esme, uint8_t flags, const uint8_t *pl,
			  uint32_t n, struct fb *after)
{
	struct fb f;
	mk_seg(&f, &x->sh, from_esme, from_esme ? x->cseq : x->sseq, from_esme ? x->sseq : x->cseq,
	       flags, pl, n);
	uint32_t adv = n + ((flags & (DP_TCP_SYN | DP_TCP_FIN)) ? 1 : 0);
	if (from_esme)
		x->cseq += adv;
	else
		x->sseq += adv;
	return feed(x, from_esme, &f, after);
}

static void connect_and_bind(struct fx *x)
{
	x->cseq = 1000;
	x->sseq = 5000;
	assert_int_equal(seg(x, true, DP_TCP_SYN, NULL, 0, NULL), DP_ACT_FORWARD);
	assert_int_equal(seg(x, false, DP_TCP_SYN | DP_TCP_ACK, NULL, 0, NULL), DP_ACT_FORWARD);
	assert_int_equal(seg(x, true, DP_TCP_ACK, NULL, 0, NULL), DP_ACT_FORWARD);
	uint8_t p[256];
	uint32_t n = mk_bind(p, 1, "fragco");
	assert_int_equal(seg(x, true, DP_TCP_ACK | DP_TCP_PSH, p, n, NULL), DP_ACT_FORWARD);
	n = 16 + dp_tk_cstr(p + 16, "SMSC");
	dp_tk_put32(p, n);
	dp_tk_put32(p + 4, 0x80000009);
	dp_tk_put32(p + 8, 0);
	dp_tk_put32(p + 12, 1);
	assert_int_equal(seg(x, false, DP_TCP_ACK | DP_TCP_PSH, p, n, NULL), DP_ACT_FORWARD);
	x->pseq = 1;
	x->n_ev = 0;
	x->n_tx = 0;
}

/* The ESME's next submit_sm as a whole segment in *w (cseq advanced). */
static uint32_t submit_seg(struct fx *x, const char *text, struct fb *w)
{
	uint8_t p[1024];
	uint32_t n = mk_submit(p, ++x->pseq, text);
	mk_seg(w, &x->sh, true, x->cseq, x->sseq, DP_TCP_ACK | DP_TCP_PSH, p, n);
	x->cseq += n;
	return n;
}

static unsigned count_ev(const struct fx *x, uint16_t type, const char *rule)
{
	unsigned n = 0;
	for (unsigned i = 0; i < x->n_ev; i++)
		if (x->ev[i].type == type && (rule == NULL || strcmp(x->ev[i].rule_id, rule) == 0))
			n++;
	return n;
}

static const char *PASS_TEXT = "Your parcel is on its way, tracking code 12345, see you soon";
static const char *SPAM_TEXT = "Congratulations! Reply now to win a free prize, offer ends today";

/* --------------------------------------------------------- the tests */

static const unsigned order_in[3] = { 0, 1, 2 }, order_rev[3] = { 2, 1, 0 },
		      order_mix[3] = { 1, 2, 0 }, order_mix2[2] = { 1, 0 };

/* One packet in n fragments fed in `order`: every fragment but the last is
 * held (DROP), the last completes it; the held ones leave first through tx,
 * byte-identical, in arrival order; the current one is forwarded unchanged. */
static void one_case(bool monitor, const struct shape *sh, unsigned n, const unsigned *order,
		     const char *text, uint8_t want_verdict)
{
	struct fx *x = fx_new(monitor, NULL);
	x->sh = *sh;
	connect_and_bind(x);
	struct fb w, fr[3], last;
	submit_seg(x, text, &w);
	const uint32_t cuts3[3] = { 0, 40, 96 }, cuts2[2] = { 0, 64 };
	fragment(&w, sh, n == 3 ? cuts3 : cuts2, n, 0xbeef, fr);
	for (unsigned i = 0; i < n; i++) {
		enum dp_action a = feed(x, true, &fr[order[i]], &last);
		assert_int_equal(a, i + 1 < n ? DP_ACT_DROP : DP_ACT_FORWARD);
		if (i + 1 < n)
			assert_int_equal(x->n_ev, 0); /* nothing judged before it is whole */
	}
	/* the last fragment went through unchanged */
	assert_int_equal(last.len, fr[order[n - 1]].len);
	assert_memory_equal(last.b, fr[order[n - 1]].b, last.len);
	assert_int_equal(x->n_tx, n - 1);
	for (unsigned i = 0; i + 1 < n; i++) {
		assert_int_equal(x->tx_to_smsc[i], 1);
		assert_int_equal(x->tx[i].len, fr[order[i]].len);
		assert_memory_equal(x->tx[i].b, fr[order[i]].b, x->tx[i].len);
	}
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 1);
	assert_int_equal(x->ev[0].verdict, want_verdict);
	assert_int_equal(x->ev[0].sequence, x->pseq);
	assert_string_equal(x->ev[0].system_id, "fragco");
	if (want_verdict == DP_VERDICT_BLOCK)
		assert_string_equal(x->ev[0].rule_id, "9002");
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->frag_reassembled, 1);
	assert_int_equal(c->frag_held, n - 1);
	assert_int_equal(c->frag_released, n - 1);
	assert_int_equal(c->ip_frags, n);
	assert_int_equal(c->smpp_frags, n);
	assert_int_equal(c->submits, 1);
	/* The stream continues: the next submit, whole, is judged too. */
	submit_seg(x, PASS_TEXT, &w);
	assert_int_equal(feed(x, true, &w, NULL), DP_ACT_FORWARD);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 2);
	fx_free(x);
}

static void test_orders_ipv4_ipv6(void **state)
{
	(void)state;
	const struct shape shapes[] = {
		{ .cport = 40000, .sport = 2775 },
		{ .n_vlan = 2, .cport = 40001, .sport = 2775 },             /* QinQ */
		{ .v6 = 1, .cport = 40002, .sport = 2775 },
		{ .v6 = 1, .v6_ext = 1, .n_vlan = 1, .cport = 40003, .sport = 2775 },
	};
	for (unsigned s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		for (int mon = 0; mon < 2; mon++) {
			one_case(mon, &shapes[s], 2, order_in, PASS_TEXT, DP_VERDICT_PASS);
			one_case(mon, &shapes[s], 2, order_mix2, PASS_TEXT, DP_VERDICT_PASS);
			one_case(mon, &shapes[s], 3, order_in, PASS_TEXT, DP_VERDICT_PASS);
			one_case(mon, &shapes[s], 3, order_rev, PASS_TEXT, DP_VERDICT_PASS);
			one_case(mon, &shapes[s], 3, order_mix, PASS_TEXT, DP_VERDICT_PASS);
		}
		/* monitor mode: a would-be block is recorded, the fragments go on */
		one_case(true, &shapes[s], 3, order_rev, SPAM_TEXT, DP_VERDICT_BLOCK);
		one_case(true, &shapes[s], 3, order_mix, SPAM_TEXT, DP_VERDICT_BLOCK);
	}
}

/* The TCP payload of a frame sent toward the ESME: a submit_sm_resp? */
static bool is_submit_resp(const struct fb *f, uint32_t sqn, uint32_t status)
{
	struct dp_frame fr;
	if (dp_frame_parse(f->b, f->len, &fr) != DP_FRAME_TCP || fr.payload_len < 16)
		return false;
	return dp_tk_get32(fr.payload + 4) == 0x80000004u && dp_tk_get32(fr.payload + 8) == status &&
	       dp_tk_get32(fr.payload + 12) == sqn;
}

/* Reassemble what was sent toward the SMSC (fragments or whole frames),
 * from tx[from..], into the TCP payload bytes; @return their count, and the
 * first TCP sequence number in *seq. */
static uint32_t smsc_payload(const struct fx *x, unsigned from, uint8_t *out, uint32_t cap,
			     uint32_t *seq, unsigned *n_frags)
{
	uint8_t pkt[4096];
	uint32_t have = 0, total = 0;
	*n_frags = 0;
	for (unsigned i = from; i < x->n_tx; i++) {
		if (!x->tx_to_smsc[i])
			continue;
		struct dp_frame fr;
		enum dp_frame_kind k = dp_frame_parse(x->tx[i].b, x->tx[i].len, &fr);
		if (k == DP_FRAME_TCP) {
			assert_true(fr.payload_len <= cap);
			memcpy(out, fr.payload, fr.payload_len);
			*seq = fr.seq;
			return fr.payload_len;
		}
		assert_int_equal(k, DP_FRAME_FRAG);
		(*n_frags)++;
		assert_true(fr.frag_off + fr.frag_data_len <= sizeof(pkt));
		memcpy(pkt + fr.frag_off, x->tx[i].b + fr.frag_data_off, fr.frag_data_len);
		have += fr.frag_data_len;
		if (!fr.frag_more)
			total = fr.frag_off + fr.frag_data_len;
	}
	assert_true(total > 20 && have == total);
	*seq = dp_tk_get32(pkt + 4);
	uint32_t doff = (uint32_t)(pkt[12] >> 4) * 4;
	assert_true(total - doff <= cap);
	memcpy(out, pkt + doff, total - doff);
	return total - doff;
}

/* The TCP checksum of segment t[0..n) between the addresses of fr verifies. */
static void assert_tcp_sum(const struct dp_frame *fr, const uint8_t *t, uint32_t n)
{
	uint32_t alen = fr->family == 6 ? 16 : 4;
	uint32_t acc = sum_be(fr->saddr, alen, 0);
	acc = sum_be(fr->daddr, alen, acc);
	acc += 6 + (n & 0xffff) + (n >> 16);
	assert_int_equal(fold16(sum_be(t, n, acc)), 0xffff);
}

/* Every frame sent from tx[from..] has right checksums: the IPv4 header
 * checksum of each frame (fragments included), and the TCP checksum of each
 * segment, whole or once its fragments (one id per packet, data from 0) are
 * put together. @return the number of fragmented packets checked. */
static unsigned assert_tx_sums(const struct fx *x, unsigned from)
{
	struct { uint32_t id, have, total; struct dp_frame fr; uint8_t d[4096]; } *pk = calloc(4, sizeof(*pk));
	unsigned n_pk = 0, done = 0;
	for (unsigned i = from; i < x->n_tx; i++) {
		const struct fb *f = &x->tx[i];
		struct dp_frame fr;
		enum dp_frame_kind k = dp_frame_parse(f->b, f->len, &fr);
		assert_true(k == DP_FRAME_TCP || k == DP_FRAME_FRAG);
		if (fr.family == 4) {
			uint32_t ihl = (uint32_t)(f->b[fr.l3_off] & 15) * 4;
			assert_int_equal(fold16(sum_be(f->b + fr.l3_off, ihl, 0)), 0xffff);
		}
		if (k == DP_FRAME_TCP) {
			assert_tcp_sum(&fr, f->b + fr.l4_off,
				       (uint32_t)(fr.payload + fr.payload_len - (f->b + fr.l4_off)));
			continue;
		}
		unsigned j = 0;
		while (j < n_pk && pk[j].id != fr.frag_id)
			j++;
		if (j == n_pk) {
			assert_true(n_pk < 4);
			n_pk++;
			pk[j].id = fr.frag_id;
		}
		assert_true(fr.frag_off % 8 == 0 && fr.frag_off + fr.frag_data_len <= sizeof(pk[j].d));
		if (fr.frag_more)
			assert_true(fr.frag_data_len % 8 == 0);
		else
			pk[j].total = fr.frag_off + fr.frag_data_len;
		if (fr.frag_first)
			pk[j].fr = fr;
		memcpy(pk[j].d + fr.frag_off, f->b + fr.frag_data_off, fr.frag_data_len);
		pk[j].have += fr.frag_data_len;
	}
	for (unsigned j = 0; j < n_pk; j++) {
		assert_true(pk[j].total > 0 && pk[j].have == pk[j].total && pk[j].fr.family != 0);
		assert_tcp_sum(&pk[j].fr, pk[j].d, pk[j].total);
		done++;
	}
	free(pk);
	return done;
}

/* Inline: a fragmented spam submit is removed and answered like a whole
 * one; later traffic is mapped (fragments carrying their slice of the
 * rewritten packet); a fragmented segment holding a blocked and a passed
 * PDU leaves as re-fragmented frames no longer than the originals. */
static void inline_block(const struct shape *sh)
{
	struct fx *x = fx_new(false, NULL);
	x->sh = *sh;
	connect_and_bind(x);
	struct fb w, fr[3], out;
	uint32_t spam_len = submit_seg(x, SPAM_TEXT, &w);
	const uint32_t cuts[3] = { 0, 40, 96 };
	fragment(&w, sh, cuts, 3, 0x51, fr);
	assert_int_equal(feed(x, true, &fr[2], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_DROP); /* consumed */
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 1);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_BLOCK);
	assert_string_equal(x->ev[0].rule_id, "9002");
	/* the ESME got its answer, the SMSC nothing of the PDU */
	unsigned resp = 0;
	for (unsigned i = 0; i < x->n_tx; i++) {
		if (!x->tx_to_smsc[i])
			resp += is_submit_resp(&x->tx[i], x->pseq, 0x45);
		else
			assert_null(memmem(x->tx[i].b, x->tx[i].len, "free prize", 10));
	}
	assert_int_equal(resp, 1);
	assert_int_equal(dp_engine_counters(x->e)->frag_released, 0);

	/* The next submit, fragmented and passed: the original fragments with
	 * their slice of the rewritten packet (seq lowered by the removed PDU). */
	x->n_tx = 0;
	uint32_t pass_len = submit_seg(x, PASS_TEXT, &w);
	struct fb orig[3];
	fragment(&w, sh, cuts, 3, 0x52, orig);
	assert_int_equal(feed(x, true, &orig[1], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &orig[2], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &orig[0], &out), DP_ACT_FORWARD);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 2);
	assert_int_equal(x->ev[1].verdict, DP_VERDICT_PASS);
	assert_true(x->n_tx >= 2);
	x->tx[x->n_tx] = out; /* the current frame last, as it leaves */
	x->tx_to_smsc[x->n_tx++] = 1;
	uint8_t got[2048];
	uint32_t seq = 0;
	unsigned nf = 0;
	uint32_t glen = smsc_payload(x, 0, got, sizeof(got), &seq, &nf);
	assert_int_equal(nf, 3);
	assert_int_equal(glen, pass_len);
	assert_int_equal(seq, x->cseq - pass_len - spam_len); /* mapped */
	struct dp_frame a, b;
	uint32_t fh;
	l3_of(sh, &fh);
	assert_memory_equal(got, w.b + fh + 20, pass_len);
	/* fragments not holding the TCP header are byte-identical */
	assert_int_equal(dp_frame_parse(x->tx[0].b, x->tx[0].len, &a), DP_FRAME_FRAG);
	assert_int_equal(dp_frame_parse(orig[1].b, orig[1].len, &b), DP_FRAME_FRAG);
	assert_memory_equal(x->tx[0].b, orig[1].b, orig[1].len);
	assert_true(dp_engine_counters(x->e)->frag_rewritten == 3);
	assert_int_equal(assert_tx_sums(x, 0), 1);

	/* One fragmented segment: a spam PDU then a passed one. */
	x->n_tx = 0;
	uint8_t p[1024];
	uint32_t n1 = mk_submit(p, ++x->pseq, SPAM_TEXT);
	uint32_t n2 = mk_submit(p + n1, ++x->pseq, PASS_TEXT);
	mk_seg(&w, sh, true, x->cseq, x->sseq, DP_TCP_ACK | DP_TCP_PSH, p, n1 + n2);
	x->cseq += n1 + n2;
	const uint32_t cuts5[5] = { 0, 56, 112, 168, 224 };
	assert_true(20 + n1 + n2 > 224);
	struct fb small[5];
	fragment(&w, sh, cuts5, 5, 0x53, small);
	uint32_t maxlen = 0;
	for (int i = 0; i < 5; i++) {
		maxlen = small[i].len > maxlen ? small[i].len : maxlen;
		assert_int_equal(feed(x, true, &small[i], NULL), DP_ACT_DROP); /* the last: consumed */
	}
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 4);
	resp = 0;
	for (unsigned i = 0; i < x->n_tx; i++) {
		if (!x->tx_to_smsc[i])
			resp += is_submit_resp(&x->tx[i], x->pseq - 1, 0x45);
		else
			assert_true(x->tx[i].len <= maxlen);
	}
	assert_int_equal(resp, 1);
	glen = smsc_payload(x, 0, got, sizeof(got), &seq, &nf);
	assert_true(nf >= 2); /* fragmented again */
	assert_int_equal(glen, n2);
	assert_memory_equal(got, p + n1, n2);
	assert_int_equal(seq, x->cseq - n2 - spam_len - n1); /* both spams removed */
	assert_int_equal(dp_engine_counters(x->e)->frag_refragmented, nf);
	assert_int_equal(assert_tx_sums(x, 0), 1); /* fragmented again: MF, offsets, sums */
	fx_free(x);
}

static void test_inline_block(void **state)
{
	(void)state;
	const struct shape v4 = { .n_vlan = 1, .cport = 40010, .sport = 2775 };
	const struct shape v6 = { .v6 = 1, .v6_ext = 1, .cport = 40011, .sport = 2775 };
	inline_block(&v4);
	inline_block(&v6);
}

/* Fragments of another service: the ones that came before the first are
 * held, then released unchanged in arrival order before it; later ones
 * pass unheld. Non-TCP fragments are never held. */
static void test_non_smpp_released(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, NULL);
	x->sh = (struct shape){ .cport = 41000, .sport = 80 };
	struct fb w, fr[3], out;
	uint8_t body[200];
	memset(body, 'h', sizeof(body));
	mk_seg(&w, &x->sh, true, 1, 1, DP_TCP_ACK, body, sizeof(body));
	const uint32_t cuts[3] = { 0, 64, 128 };
	fragment(&w, &x->sh, cuts, 3, 0x77, fr);
	assert_int_equal(feed(x, true, &fr[2], NULL), DP_ACT_DROP); /* not known yet: held */
	assert_int_equal(feed(x, true, &fr[0], &out), DP_ACT_FORWARD);
	assert_memory_equal(out.b, fr[0].b, fr[0].len);
	assert_int_equal(x->n_tx, 1);
	assert_memory_equal(x->tx[0].b, fr[2].b, fr[2].len);
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_FORWARD); /* unheld */
	assert_int_equal(x->n_tx, 1);
	assert_int_equal(x->n_ev, 0);
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->frag_held, 1);
	assert_int_equal(c->frag_released, 1);
	assert_int_equal(c->smpp_frags, 0);
	assert_int_equal(c->ip_frags, 3);
	/* An SMPP packet reusing that id: its later fragment passes under the
	 * id's mark, its first one cannot be reassembled any more and gets the
	 * policy with an event (never passed silently). */
	struct fx *y = x;
	struct fb sw, sf[2];
	const uint32_t cuts2[2] = { 0, 64 };
	struct shape smpp = { .cport = 41000, .sport = 2775 };
	uint8_t pdu[256];
	uint32_t pn = mk_submit(pdu, 9, SPAM_TEXT);
	mk_seg(&sw, &smpp, true, 500, 1, DP_TCP_ACK, pdu, pn);
	fragment(&sw, &smpp, cuts2, 2, 0x77, sf);
	assert_int_equal(feed(y, true, &sf[1], NULL), DP_ACT_FORWARD);
	assert_int_equal(feed(y, true, &sf[0], NULL), DP_ACT_DROP);
	assert_int_equal(count_ev(y, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	assert_int_equal(count_ev(y, DP_EV_VERDICT, NULL), 0);
	x->n_ev = 0;
	/* UDP fragments: untouched, whatever their order */
	fragment(&w, &x->sh, cuts, 3, 0x78, fr);
	for (int i = 2; i >= 0; i--) {
		fr[i].b[14 + 9] = 17;
		assert_int_equal(feed(x, true, &fr[i], NULL), DP_ACT_FORWARD);
	}
	assert_int_equal(c->frag_held, 1);
	assert_int_equal(x->n_tx, 1);
	fx_free(x);
}

/* A first fragment too short to name the ports (IPv4: no data, MF set)
 * does not make the packet "not SMPP": it is held, and the reassembled
 * packet is judged. */
static void test_tiny_first(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, NULL);
	connect_and_bind(x);
	struct fb w, fr[2], tiny;
	submit_seg(x, SPAM_TEXT, &w);
	const uint32_t cuts[2] = { 0, 64 };
	fragment(&w, &x->sh, cuts, 2, 0x88, fr);
	tiny = fr[0];
	dp_tk_put16(tiny.b + 14 + 2, 20); /* IPv4 header only, MF, offset 0 */
	tiny.b[14 + 10] = tiny.b[14 + 11] = 0;
	tiny.len = 60;
	assert_int_equal(feed(x, true, &tiny, NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_DROP);
	assert_int_equal(x->n_ev, 0);
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_DROP); /* blocked, consumed */
	assert_int_equal(count_ev(x, DP_EV_VERDICT, "9002"), 1);
	assert_int_equal(dp_engine_counters(x->e)->frag_reassembled, 1);
	fx_free(x);
}

/* A duplicate fragment: held with the others and sent on with them (a
 * transparent bridge), the packet judged once. */
static void test_duplicate(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, NULL);
	connect_and_bind(x);
	struct fb w, fr[3];
	submit_seg(x, PASS_TEXT, &w);
	const uint32_t cuts[3] = { 0, 40, 96 };
	fragment(&w, &x->sh, cuts, 3, 0x99, fr);
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[2], NULL), DP_ACT_FORWARD);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 1);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_PASS);
	assert_int_equal(x->n_tx, 3);
	assert_memory_equal(x->tx[1].b, fr[1].b, fr[1].len);
	assert_memory_equal(x->tx[2].b, fr[1].b, fr[1].len);
	assert_int_equal(dp_engine_counters(x->e)->frag_dups, 1);
	assert_int_equal(dp_engine_counters(x->e)->frag_overlaps, 0);
	fx_free(x);
}

/* Overlapping fragments whose bytes differ: the overlap verdict, the
 * uninspectable policy (inline block: everything of the id dropped;
 * monitor: recorded and forwarded). Neither copy is judged as a message. */
static void overlap_case(bool monitor)
{
	struct fx *x = fx_new(monitor, NULL);
	connect_and_bind(x);
	struct fb w, fr[3], evil;
	submit_seg(x, SPAM_TEXT, &w);
	const uint32_t cuts[3] = { 0, 40, 96 };
	fragment(&w, &x->sh, cuts, 3, 0x66, fr);
	evil = fr[1];
	uint32_t fh;
	l3_of(&x->sh, &fh);
	memset(evil.b + fh + 8, 'x', 16); /* same place, other bytes */
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_DROP);
	enum dp_action a = feed(x, true, &evil, NULL);
	assert_int_equal(a, monitor ? DP_ACT_FORWARD : DP_ACT_DROP);
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment-overlap"), 1);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 0);
	assert_string_equal(x->ev[0].system_id, "fragco");
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_BLOCK);
	assert_int_equal(x->n_tx, monitor ? 2 : 0);
	/* the rest of the packet gets the same policy, without a second event */
	assert_int_equal(feed(x, true, &fr[2], NULL), monitor ? DP_ACT_FORWARD : DP_ACT_DROP);
	assert_int_equal(x->n_ev, 1);
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->frag_overlaps, 1);
	assert_int_equal(c->frag_reassembled, 0);
	assert_int_equal(c->smpp_frags, 4);
	fx_free(x);
}

static void test_overlap_conflict(void **state)
{
	(void)state;
	overlap_case(false);
	overlap_case(true);
}

static void one_packet(struct dp_settings *s)
{
	s->frag_packets = 1;
}

/* A missing fragment: after frag_timeout_ms the packet is given up with an
 * event (inline block: its fragments dropped, monitor: sent on), its room
 * is free again, and the late fragment gets the policy. */
static void timeout_case(bool monitor)
{
	struct fx *x = fx_new(monitor, one_packet);
	connect_and_bind(x);
	struct fb w, fr[2], w2, fr2[2];
	uint32_t lost = submit_seg(x, PASS_TEXT, &w);
	const uint32_t cuts[2] = { 0, 64 };
	fragment(&w, &x->sh, cuts, 2, 0x31, fr);
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_DROP);
	advance(x, x->s.frag_timeout_ms - 1);
	dp_engine_expire(x->e, 16);
	assert_int_equal(x->n_ev, 0);
	advance(x, 1);
	dp_engine_expire(x->e, 16);
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	assert_int_equal(x->n_tx, monitor ? 1 : 0);
	if (monitor)
		assert_memory_equal(x->tx[0].b, fr[0].b, fr[0].len);
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->frag_timeouts, 1);
	assert_int_equal(feed(x, true, &fr[1], NULL), monitor ? DP_ACT_FORWARD : DP_ACT_DROP);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 0);
	/* nothing leaked: the one packet of room takes the next one (the
	 * ESME's retransmission of the lost segment) */
	x->cseq -= lost;
	x->pseq--;
	submit_seg(x, PASS_TEXT, &w2);
	fragment(&w2, &x->sh, cuts, 2, 0x32, fr2);
	assert_int_equal(feed(x, true, &fr2[1], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr2[0], NULL), DP_ACT_FORWARD);
	assert_int_equal(c->frag_reassembled, 1);
	assert_int_equal(c->frag_refused, 0);
	fx_free(x);
}

static void test_timeout(void **state)
{
	(void)state;
	timeout_case(false);
	timeout_case(true);
}

static void two_packets(struct dp_settings *s)
{
	s->frag_packets = 2;
	s->frag_bytes = 600;
}

/* Bounds: packets in reassembly, held bytes, a packet over 65,535 bytes:
 * the SMPP packet refused under the uninspectable policy, with an event. */
static void test_caps(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, two_packets);
	connect_and_bind(x);
	struct fb w, fr[3][2];
	const uint32_t cuts[2] = { 0, 64 };
	for (int i = 0; i < 3; i++) {
		submit_seg(x, PASS_TEXT, &w);
		fragment(&w, &x->sh, cuts, 2, 0x40 + (uint32_t)i, fr[i]);
	}
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(feed(x, true, &fr[0][0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[1][0], NULL), DP_ACT_DROP);
	assert_int_equal(c->frag_held, 2);
	/* a third packet: no room */
	assert_int_equal(feed(x, true, &fr[2][0], NULL), DP_ACT_DROP);
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	assert_int_equal(c->frag_refused, 1);
	assert_int_equal(feed(x, true, &fr[2][1], NULL), DP_ACT_DROP); /* same id: same policy */
	assert_int_equal(x->n_ev, 1);
	/* the two held ones complete normally */
	assert_int_equal(feed(x, true, &fr[0][1], NULL), DP_ACT_FORWARD);
	assert_int_equal(feed(x, true, &fr[1][1], NULL), DP_ACT_FORWARD);
	assert_int_equal(c->frag_reassembled, 2);

	/* a fragment reaching past 65,535 bytes */
	struct fb huge[2];
	submit_seg(x, PASS_TEXT, &w);
	fragment(&w, &x->sh, cuts, 2, 0x60, huge);
	uint32_t l3 = 14;
	dp_tk_put16(huge[1].b + l3 + 6, 65528 / 8);
	ip4_csum(huge[1].b + l3);
	x->n_ev = 0;
	assert_int_equal(feed(x, true, &huge[0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &huge[1], NULL), DP_ACT_DROP);
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	assert_int_equal(c->frag_refused, 2);
	fx_free(x);
}

static void few_bytes(struct dp_settings *s)
{
	s->frag_bytes = 300;
}

/* Held bytes: a packet whose fragments would hold more than frag_bytes. */
static void test_byte_cap(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, few_bytes);
	connect_and_bind(x);
	struct fb big, bf[3];
	uint8_t p[1024];
	uint32_t n = mk_submit(p, ++x->pseq, "a longer message to hold: 0123456789abcdef0123456789abcdef"
					     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	mk_seg(&big, &x->sh, true, x->cseq, x->sseq, DP_TCP_ACK | DP_TCP_PSH, p, n);
	x->cseq += n;
	const uint32_t cuts3[3] = { 0, 96, 192 };
	assert_true(20 + n > 192);
	fragment(&big, &x->sh, cuts3, 3, 0x50, bf);
	assert_true(bf[0].len + bf[1].len <= 300 && bf[0].len + bf[1].len + bf[2].len > 300);
	assert_int_equal(feed(x, true, &bf[0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &bf[1], NULL), DP_ACT_DROP);
	assert_int_equal(x->n_ev, 0);
	assert_int_equal(feed(x, true, &bf[2], NULL), DP_ACT_DROP); /* over 300 bytes held */
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 0);
	assert_int_equal(x->n_tx, 0);
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->frag_refused, 1);
	assert_int_equal(c->dropped, 3);
	fx_free(x);
}

/* frag_packets = 0: no reassembly, every SMPP fragment refused by policy
 * (the behaviour before reassembly), others pass. */
static void no_reassembly(struct dp_settings *s)
{
	s->frag_packets = 0;
}

static void test_reassembly_off(void **state)
{
	(void)state;
	struct fx *x = fx_new(true, no_reassembly);
	connect_and_bind(x);
	struct fb w, fr[2];
	submit_seg(x, SPAM_TEXT, &w);
	const uint32_t cuts[2] = { 0, 64 };
	fragment(&w, &x->sh, cuts, 2, 0x70, fr);
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_FORWARD); /* monitor: recorded */
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_FORWARD);
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 0);
	assert_int_equal(dp_engine_counters(x->e)->smpp_frags, 2);
	fx_free(x);
}

/* IPv6 fragments whose fragment header is followed by another header and
 * then TCP: a destination options header (RFC 8200 §4.1 puts it there) or
 * an atomic fragment header (offset 0, M clear: RFC 6946, a receiver skips
 * it). The TCP segment is in the fragments all the same, and a receiver
 * reassembles it. Cut the whole segment *w (no extension headers) into n
 * fragments of [that header (`ext`: 60 or 44), TCP header and payload] at
 * `cuts` (cuts[0] = 0). */
static void frag_v6_ext(const struct fb *w, uint8_t ext, const uint32_t *cuts, unsigned n, uint32_t id,
			struct fb *out)
{
	const uint32_t l3 = 14;
	uint8_t data[1200];
	uint32_t tcp_len = (uint32_t)(w->b[l3 + 4] << 8 | w->b[l3 + 5]);
	assert_true(8 + tcp_len <= sizeof(data) && cuts[n - 1] % 8 == 0 && cuts[n - 1] < 8 + tcp_len);
	memset(data, 0, 8);
	data[0] = 6; /* next: TCP */
	if (ext == 60) {
		data[2] = 1; /* PadN, 4 bytes */
		data[3] = 4;
	} else {
		dp_tk_put32(data + 4, id ^ 0x5a5a); /* offset 0, M clear */
	}
	memcpy(data + 8, w->b + l3 + 40, tcp_len);
	uint32_t dlen = 8 + tcp_len;
	for (unsigned i = 0; i < n; i++) {
		uint32_t off = cuts[i], end = i + 1 < n ? cuts[i + 1] : dlen;
		struct fb *f = &out[i];
		memset(f, 0, sizeof(*f));
		memcpy(f->b, w->b, l3 + 40);
		f->b[l3 + 6] = 44;
		uint8_t *fh = f->b + l3 + 40;
		fh[0] = ext; /* a header between the fragment header and TCP */
		dp_tk_put16(fh + 2, (uint16_t)(off | (i + 1 < n ? 1 : 0)));
		dp_tk_put32(fh + 4, id);
		memcpy(fh + 8, data + off, end - off);
		dp_tk_put16(f->b + l3 + 4, (uint16_t)(8 + end - off));
		f->len = l3 + 48 + end - off;
	}
}

/* Such fragments are SMPP fragments like the others: a spam submit in them
 * is reassembled and blocked (inline), a passed one released unchanged.
 * They used to pass unheld and uninspected (next header 60 or 44 is not
 * TCP). */
static void v6_ext_case(uint8_t ext)
{
	struct fx *x = fx_new(false, NULL);
	x->sh = (struct shape){ .v6 = 1, .cport = 40020, .sport = 2775 };
	connect_and_bind(x);
	struct fb w, fr[2], out;
	submit_seg(x, SPAM_TEXT, &w);
	const uint32_t cut64[2] = { 0, 64 }, cut48[2] = { 0, 48 };
	frag_v6_ext(&w, ext, cut64, 2, 0x6001, fr);
	assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_DROP); /* held */
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_DROP); /* blocked, consumed */
	assert_int_equal(count_ev(x, DP_EV_VERDICT, "9002"), 1);
	unsigned resp = 0;
	for (unsigned i = 0; i < x->n_tx; i++) {
		if (!x->tx_to_smsc[i])
			resp += is_submit_resp(&x->tx[i], x->pseq, 0x45);
		else
			assert_null(memmem(x->tx[i].b, x->tx[i].len, "free prize", 10));
	}
	assert_int_equal(resp, 1); /* the ESME answered, the SMSC got none of it */
	x->n_ev = 0;
	x->n_tx = 0;
	submit_seg(x, PASS_TEXT, &w);
	frag_v6_ext(&w, ext, cut48, 2, 0x6002, fr);
	assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fr[1], &out), DP_ACT_FORWARD);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 1);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_PASS);
	assert_int_equal(x->n_tx, 1);
	const struct dp_counters *c = dp_engine_counters(x->e);
	assert_int_equal(c->frag_reassembled, 2);
	assert_int_equal(c->smpp_frags, 4);
	/* A spam PDU then a passed one in five small fragments: what leaves
	 * toward the SMSC is fragmented again, right (the passed PDU, sums). */
	x->n_tx = 0;
	uint8_t p[1024];
	uint32_t n1 = mk_submit(p, ++x->pseq, SPAM_TEXT);
	uint32_t n2 = mk_submit(p + n1, ++x->pseq, PASS_TEXT);
	mk_seg(&w, &x->sh, true, x->cseq, x->sseq, DP_TCP_ACK | DP_TCP_PSH, p, n1 + n2);
	x->cseq += n1 + n2;
	const uint32_t cuts5[5] = { 0, 56, 112, 168, 224 };
	struct fb small[5];
	frag_v6_ext(&w, ext, cuts5, 5, 0x6003, small);
	uint32_t maxlen = 0;
	for (int i = 0; i < 5; i++) {
		maxlen = small[i].len > maxlen ? small[i].len : maxlen;
		assert_int_equal(feed(x, true, &small[i], NULL), DP_ACT_DROP); /* the last: consumed */
	}
	for (unsigned i = 0; i < x->n_tx; i++)
		if (x->tx_to_smsc[i])
			assert_true(x->tx[i].len <= maxlen);
	uint8_t got[2048];
	uint32_t seq = 0;
	unsigned nf = 0;
	assert_int_equal(smsc_payload(x, 0, got, sizeof(got), &seq, &nf), n2);
	assert_true(nf >= 2);
	assert_memory_equal(got, p + n1, n2);
	assert_int_equal(assert_tx_sums(x, 0), 1);
	fx_free(x);
}

static void test_v6_ext_after_frag_header(void **state)
{
	(void)state;
	v6_ext_case(60);
	v6_ext_case(44);
}

/* An IPv6 atomic fragment (RFC 6946: a fragment header with offset 0 and
 * M clear, in front of TCP) is a whole packet, as receivers treat it: a
 * spam submit in one is blocked inline like any other (it used to be
 * judged "block" and forwarded: the edit layer could not parse it). */
static void test_v6_atomic_fragment(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, NULL);
	x->sh = (struct shape){ .v6 = 1, .cport = 40030, .sport = 2775 };
	connect_and_bind(x);
	struct fb w, a;
	submit_seg(x, SPAM_TEXT, &w);
	const uint32_t l3 = 14, tcp = l3 + 40;
	memset(&a, 0, sizeof(a));
	memcpy(a.b, w.b, tcp);
	a.b[l3 + 6] = 44;
	a.b[tcp] = 6;           /* then TCP; offset 0, M clear */
	dp_tk_put32(a.b + tcp + 4, 0x7001);
	memcpy(a.b + tcp + 8, w.b + tcp, w.len - tcp);
	a.len = w.len + 8;
	dp_tk_put16(a.b + l3 + 4, (uint16_t)(a.len - tcp));
	struct dp_frame fr;
	assert_int_equal(dp_frame_parse(a.b, a.len, &fr), DP_FRAME_TCP);
	assert_int_equal(feed(x, true, &a, NULL), DP_ACT_DROP);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, "9002"), 1);
	unsigned resp = 0;
	for (unsigned i = 0; i < x->n_tx; i++) {
		if (!x->tx_to_smsc[i])
			resp += is_submit_resp(&x->tx[i], x->pseq, 0x45);
		else
			assert_null(memmem(x->tx[i].b, x->tx[i].len, "free prize", 10));
	}
	assert_int_equal(resp, 1);
	assert_int_equal(dp_engine_counters(x->e)->ip_frags, 0);
	fx_free(x);
}

/* IPv6 receivers take the protocol from the first fragment only (RFC 8200
 * §4.5: the next header of later fragments may differ and is ignored), so a
 * later fragment naming UDP is still part of the TCP packet. An attacker
 * sends the first fragment, then the rest with spam under next header 17,
 * then the rest with harmless text under next header 6: the receiver
 * reassembles the spam. That later fragment must be held and inspected
 * like the others (it used to pass unheld). */
static void test_v6_later_fragment_other_next_header(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, NULL);
	x->sh = (struct shape){ .v6 = 1, .cport = 40040, .sport = 2775 };
	connect_and_bind(x);
	struct fb spam, calm, fs[2], fc[2];
	uint32_t seq = x->cseq;
	submit_seg(x, SPAM_TEXT, &spam);
	char calm_text[128];
	snprintf(calm_text, sizeof(calm_text), "%s", SPAM_TEXT);
	memcpy(strstr(calm_text, "prize"), "pizza", 5);
	uint8_t pdu[1024];
	uint32_t n = mk_submit(pdu, x->pseq, calm_text);
	mk_seg(&calm, &x->sh, true, seq, x->sseq, DP_TCP_ACK | DP_TCP_PSH, pdu, n);
	const uint32_t cuts[2] = { 0, 64 };
	fragment(&spam, &x->sh, cuts, 2, 0x7100, fs);
	fragment(&calm, &x->sh, cuts, 2, 0x7100, fc);
	/* the text is past the first fragment; only the TCP checksum differs
	 * (the spam's is sent: an attacker could balance it in the harmless
	 * text) */
	assert_memory_equal(fs[0].b, fc[0].b, 14 + 40 + 8 + 16);
	fs[1].b[14 + 40] = 17; /* the spam's rest under "UDP" */
	assert_int_equal(feed(x, true, &fs[0], NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fs[1], NULL), DP_ACT_DROP); /* held: blocked */
	feed(x, true, &fc[1], NULL);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, "9002"), 1);
	for (unsigned i = 0; i < x->n_tx; i++)
		if (x->tx_to_smsc[i])
			assert_null(memmem(x->tx[i].b, x->tx[i].len, "free prize", 10));
	/* UDP over IPv6 (every fragment naming 17): in order, nothing is held;
	 * a later fragment before the first waits for it, then leaves first */
	struct fb u, uf[3], out;
	struct shape ush = { .v6 = 1, .cport = 5353, .sport = 53 };
	uint8_t body[200];
	memset(body, 'u', sizeof(body));
	mk_seg(&u, &ush, true, 1, 1, DP_TCP_ACK, body, sizeof(body));
	const uint32_t ucuts[3] = { 0, 64, 128 };
	for (uint32_t id = 0x7200; id < 0x7202; id++) {
		fragment(&u, &ush, ucuts, 3, id, uf);
		for (int i = 0; i < 3; i++)
			uf[i].b[14 + 40] = 17;
		x->n_tx = 0;
		if (id == 0x7200) {
			for (int i = 0; i < 3; i++)
				assert_int_equal(feed(x, true, &uf[i], NULL), DP_ACT_FORWARD);
			assert_int_equal(x->n_tx, 0);
		} else {
			assert_int_equal(feed(x, true, &uf[2], NULL), DP_ACT_DROP);
			assert_int_equal(feed(x, true, &uf[0], &out), DP_ACT_FORWARD);
			assert_int_equal(x->n_tx, 1);
			assert_memory_equal(x->tx[0].b, uf[2].b, uf[2].len);
			assert_memory_equal(out.b, uf[0].b, uf[0].len);
			assert_int_equal(feed(x, true, &uf[1], NULL), DP_ACT_FORWARD);
			assert_int_equal(x->n_tx, 1);
		}
	}
	fx_free(x);
}

/* A fragment arriving after its SMPP packet completed is not harmless: the
 * receiver may not have completed it (a fragment lost after the bridge, or
 * one the receiver drops and the bridge took: an IPv6 middle fragment whose
 * length is not a multiple of 8, before such fragments were refused). The
 * first fragment, a middle one and the last, harmless text, are
 * reassembled, judged and released; the receiver keeps the first and the
 * last and waits for the middle, which the attacker sends again with spam.
 * It used to wait for a first fragment that never comes and leave
 * unchanged at the timeout, with no event. It is an SMPP fragment (the
 * id's packet was SMPP): event and policy at the timeout. With
 * `udp_first`, a first fragment naming UDP comes before it (it used to
 * mark the id "passed", and the spam passed unheld; receivers that keep
 * the first of overlapping fragments still have the SMPP one). */
static void late_case(bool udp_first)
{
	struct fx *x = fx_new(false, NULL);
	x->sh = (struct shape){ .v6 = 1, .cport = 40050, .sport = 2775 };
	const struct shape *sh = &x->sh;
	connect_and_bind(x);
	struct fb spam, calm, f0, fm, f2, evil;
	uint32_t seq = x->cseq;
	submit_seg(x, SPAM_TEXT, &spam);
	char calm_text[128];
	snprintf(calm_text, sizeof(calm_text), "%s", SPAM_TEXT);
	memcpy(strstr(calm_text, "prize"), "pizza", 5);
	uint8_t pdu[1024];
	uint32_t n = mk_submit(pdu, x->pseq, calm_text);
	mk_seg(&calm, sh, true, seq, x->sseq, DP_TCP_ACK | DP_TCP_PSH, pdu, n);
	uint32_t fh;
	l3_of(sh, &fh);
	const uint8_t *pz = memmem(spam.b, spam.len, "prize", 5);
	uint32_t a = ((uint32_t)(pz + 5 - spam.b) - fh + 7) & ~7u; /* past the spam's word */
	uint32_t dlen = ip_data_len(&spam, sh);
	assert_true(a > 72 && a + 8 < dlen);
	const uint32_t id = 0x7300;
	frag_one(&spam, sh, 0, 64, true, id, &f0);      /* the text is past it */
	frag_one(&calm, sh, 64, a, true, id, &fm);      /* lost after the bridge */
	frag_one(&calm, sh, a, dlen, false, id, &f2);
	frag_one(&spam, sh, 64, a, true, id, &evil);
	assert_int_equal(feed(x, true, &f0, NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &fm, NULL), DP_ACT_DROP);
	assert_int_equal(feed(x, true, &f2, NULL), DP_ACT_FORWARD);
	assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 1);
	assert_int_equal(x->ev[0].verdict, DP_VERDICT_PASS);
	x->n_ev = 0;
	x->n_tx = 0;
	if (udp_first) {
		struct fb u = f0;
		u.b[14 + 40] = 17;
		assert_int_equal(feed(x, true, &u, NULL), DP_ACT_DROP);
	}
	assert_int_equal(feed(x, true, &evil, NULL), DP_ACT_DROP);
	advance(x, x->s.frag_timeout_ms);
	dp_engine_expire(x->e, 16);
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	for (unsigned i = 0; i < x->n_tx; i++)
		if (x->tx_to_smsc[i])
			assert_null(memmem(x->tx[i].b, x->tx[i].len, "prize", 5));
	/* a new packet reusing the id of one just completed is judged as usual */
	const uint32_t cuts[2] = { 0, 64 };
	for (int round = 0; round < 2; round++) {
		x->n_ev = 0;
		x->n_tx = 0;
		struct fb w, fr[2];
		submit_seg(x, PASS_TEXT, &w);
		fragment(&w, sh, cuts, 2, id + 1, fr);
		assert_int_equal(feed(x, true, &fr[1], NULL), DP_ACT_DROP);
		assert_int_equal(feed(x, true, &fr[0], NULL), DP_ACT_FORWARD);
		assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 1);
		assert_int_equal(x->n_tx, 1);
	}
	fx_free(x);
}

static void test_late_fragment_after_completion(void **state)
{
	(void)state;
	late_case(false);
	late_case(true);
}

/* A non-last fragment whose length is not a multiple of 8: IPv6 receivers
 * drop it (RFC 8200 §4.5), Linux cuts an IPv4 one to a multiple of 8; what
 * they reassemble is not what the bridge would inspect (a receiver left
 * waiting for the dropped part takes it later from the attacker). Such an
 * SMPP packet is refused: event and policy, no verdict (it used to be
 * reassembled and judged). */
static void test_middle_fragment_not_multiple_of_8(void **state)
{
	(void)state;
	for (int v6 = 0; v6 < 2; v6++) {
		struct fx *x = fx_new(false, NULL);
		x->sh = (struct shape){ .v6 = v6, .cport = 40060, .sport = 2775 };
		connect_and_bind(x);
		struct fb w, f[3];
		submit_seg(x, PASS_TEXT, &w);
		uint32_t dlen = ip_data_len(&w, &x->sh);
		const uint32_t id = 0x7400;
		frag_one(&w, &x->sh, 0, 64, true, id, &f[0]);
		frag_one(&w, &x->sh, 64, 125, true, id, &f[1]); /* 61 bytes, more follow */
		frag_one(&w, &x->sh, 120, dlen, false, id, &f[2]);
		assert_int_equal(feed(x, true, &f[0], NULL), DP_ACT_DROP);
		feed(x, true, &f[1], NULL);
		assert_int_equal(feed(x, true, &f[2], NULL), DP_ACT_DROP); /* refused, block */
		assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
		assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 0);
		assert_int_equal(x->n_tx, 0);
		assert_int_equal(dp_engine_counters(x->e)->frag_reassembled, 0);
		fx_free(x);
	}
}

/* README claims: a packet whose first fragment has not come is not judged
 * before it does. At the timeout what waited leaves unchanged (no event),
 * and past a bound (here the held bytes) what was held leaves unchanged and
 * the rest passes unheld; either way the SMPP first fragment, when it comes,
 * gets the event and the policy (it cannot be reassembled any more). */
static void bytes_200(struct dp_settings *s)
{
	s->frag_bytes = 200;
}

static void test_first_fragment_late(void **state)
{
	(void)state;
	for (int bound = 0; bound < 2; bound++) {
		struct fx *x = fx_new(false, bound ? bytes_200 : NULL);
		connect_and_bind(x);
		struct fb w, f[3], out;
		uint8_t p[1024];
		uint32_t n = mk_submit(p, ++x->pseq, "a longer message to hold: 0123456789abcdef0123456789abcdef"
						     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
		mk_seg(&w, &x->sh, true, x->cseq, x->sseq, DP_TCP_ACK | DP_TCP_PSH, p, n);
		x->cseq += n;
		const uint32_t cuts[3] = { 0, 24, 112 };
		fragment(&w, &x->sh, cuts, 3, 0x7500, f);
		const struct dp_counters *c = dp_engine_counters(x->e);
		assert_int_equal(feed(x, true, &f[1], NULL), DP_ACT_DROP);
		if (!bound) {
			advance(x, x->s.frag_timeout_ms);
			dp_engine_expire(x->e, 16);
			assert_int_equal(c->frag_timeouts, 1);
			assert_int_equal(x->n_tx, 1);
			assert_memory_equal(x->tx[0].b, f[1].b, f[1].len);
			assert_int_equal(feed(x, true, &f[2], &out), DP_ACT_FORWARD); /* unheld */
		} else {
			assert_true(f[1].len <= 200 && f[1].len + f[2].len > 200);
			assert_int_equal(feed(x, true, &f[2], &out), DP_ACT_FORWARD); /* over the bound */
			assert_int_equal(x->n_tx, 1);
			assert_memory_equal(x->tx[0].b, f[1].b, f[1].len);
			assert_int_equal(c->frag_refused, 1);
		}
		assert_memory_equal(out.b, f[2].b, f[2].len);
		assert_int_equal(x->n_ev, 0);
		assert_int_equal(feed(x, true, &f[0], NULL), DP_ACT_DROP);
		assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
		assert_int_equal(count_ev(x, DP_EV_VERDICT, NULL), 0);
		assert_int_equal(x->n_tx, 1);
		fx_free(x);
	}
}

/* Fragments released without their first one stay in the receiver's
 * reassembly queue for its timeout: 60 s for IPv6 in Linux (ip6frag_time),
 * 60 s in Windows. The id's mark must last as long: an SMPP first fragment
 * 45 s later still gets the event and the policy (it used to start a new
 * packet once the 30-s mark expired: with a harmless rest the bridge would
 * judge it and release the first fragment, which the receiver completes
 * with the rest it kept, if it keeps the first of overlapping fragments). */
static void test_mark_outlives_receiver_queue(void **state)
{
	(void)state;
	struct fx *x = fx_new(false, NULL);
	x->sh = (struct shape){ .v6 = 1, .cport = 40070, .sport = 2775 };
	connect_and_bind(x);
	struct fb w, f[2];
	submit_seg(x, SPAM_TEXT, &w);
	const uint32_t cuts[2] = { 0, 64 };
	fragment(&w, &x->sh, cuts, 2, 0x7600, f);
	assert_int_equal(feed(x, true, &f[1], NULL), DP_ACT_DROP);
	advance(x, x->s.frag_timeout_ms);
	dp_engine_expire(x->e, 16);
	assert_int_equal(x->n_tx, 1); /* released, without an event */
	assert_int_equal(x->n_ev, 0);
	advance(x, 45000 - x->s.frag_timeout_ms);
	dp_engine_expire(x->e, 16);
	assert_int_equal(feed(x, true, &f[0], NULL), DP_ACT_DROP);
	assert_int_equal(count_ev(x, DP_EV_UNINSPECTABLE, "builtin:ip-fragment"), 1);
	fx_free(x);
}

int main(void)
{
	if (dp_tk_eal_init("test_dp_frag", "dpfrag", "256") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders_ipv4_ipv6),
		cmocka_unit_test(test_inline_block),
		cmocka_unit_test(test_non_smpp_released),
		cmocka_unit_test(test_tiny_first),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_overlap_conflict),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_byte_cap),
		cmocka_unit_test(test_reassembly_off),
		cmocka_unit_test(test_v6_atomic_fragment),
		cmocka_unit_test(test_v6_ext_after_frag_header),
		cmocka_unit_test(test_v6_later_fragment_other_next_header),
		cmocka_unit_test(test_late_fragment_after_completion),
		cmocka_unit_test(test_middle_fragment_not_multiple_of_8),
		cmocka_unit_test(test_first_fragment_late),
		cmocka_unit_test(test_mark_outlives_receiver_queue),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
