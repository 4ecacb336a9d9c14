/* Sessions remembered across a dataplane restart (dp_sessions.h):
 *  - the session file: round trip, refused when corrupt, truncated, of
 *    another version, with bad magic, over the size bound; stale records
 *    ignored; the bind password never in it;
 *  - the engine: a flow picked up mid-stream after a "restart" (a new
 *    engine) regains its customer from the file, so a suspended customer's
 *    submit is blocked for standing — without the file it is judged as "";
 *  - unknown_session = reset: inline, a submit on a session with no known
 *    bind is answered by a RST toward each end at the sequence numbers each
 *    expects, and the flow's later frames are dropped; monitor mode and the
 *    default policy only count;
 *  - a blocked submit on the VERY FIRST segment of a flow picked up
 *    mid-stream is removed and answered at the ESME's ACK, not reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>

#include "dp.h"
#include "dp_testkit.h"
#include "dp_sessions.h"
#include "pat.h"
#include "smpp.h"

static char dir[64];

static void path_of(char *out, size_t cap, const char *leaf)
{
	snprintf(out, cap, "%s/%s", dir, leaf);
}

/* ------------------------------------------------------- session file */

static void rec_make(struct dp_sess_rec *r, unsigned i, uint64_t last_ms)
{
	memset(r, 0, sizeof(*r));
	r->key.family = 4;
	r->key.proto = 6;
	r->key.lo_addr[0] = 198;
	r->key.lo_addr[1] = 18;
	r->key.lo_addr[3] = 1;
	r->key.hi_addr[0] = 198;
	r->key.hi_addr[1] = 18;
	r->key.hi_addr[3] = 2;
	r->key.lo_port = 2775;
	r->key.hi_port = (uint16_t)(30000 + i);
	r->key.vlan = (uint16_t)(i % 3);
	snprintf(r->system_id, sizeof(r->system_id), "cust%u", i);
	r->bind_cmd = i % 2 ? 0x9 : 0x2;
	r->version = 0x34;
	r->esme_dir = DP_DIR_HI;
	r->bind_ms = last_ms - 5000;
	r->last_ms = last_ms;
}

static void test_file_round_trip(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "rt.sessions");
	uint64_t now = 1700000000000ull;
	static struct dp_sess_rec r[300];
	for (unsigned i = 0; i < 300; i++)
		rec_make(&r[299 - i], i, now - 1000);
	assert_int_equal(dp_sessfile_write(p, r, 300, now), DP_OK);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 64 + 300 * 88);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	assert_int_not_equal(access(tmp, F_OK), 0); /* renamed, not left behind */
	struct dp_sess_table *t = NULL;
	struct dp_sessfile_info info;
	assert_int_equal(dp_sessfile_load(p, now + 2000, 300000, &t, &info), DP_OK);
	assert_non_null(t);
	assert_int_equal(info.records, 300);
	assert_int_equal(info.loaded, 300);
	assert_int_equal(info.stale, 0);
	assert_int_equal(info.written_ms, now);
	assert_string_equal(info.why, "");
	assert_int_equal(dp_sess_table_count(t), 300);
	for (unsigned i = 0; i < 300; i++) {
		struct dp_sess_rec want;
		rec_make(&want, i, now - 1000);
		int32_t k = dp_sess_table_find(t, &want.key);
		assert_true(k >= 0);
		assert_memory_equal(dp_sess_table_rec(t, (uint32_t)k), &want, sizeof(want));
		assert_false(dp_sess_table_taken(t, (uint32_t)k));
	}
	struct dp_sess_rec other;
	rec_make(&other, 300, now);
	assert_int_equal(dp_sess_table_find(t, &other.key), -1);
	dp_sess_table_take(t, 7);
	assert_true(dp_sess_table_taken(t, 7));
	dp_sess_table_free(t);
	/* An empty file is a valid file: no session remembered. */
	assert_int_equal(dp_sessfile_write(p, NULL, 0, now), DP_OK);
	assert_int_equal(dp_sessfile_load(p, now, 300000, &t, &info), DP_OK);
	assert_int_equal(dp_sess_table_count(t), 0);
	assert_int_equal(dp_sess_table_find(t, &other.key), -1);
	dp_sess_table_free(t);
	unlink(p);
}

static void write_file(const char *p, const void *b, size_t n)
{
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static size_t read_file(const char *p, uint8_t *b, size_t cap)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	size_t n = fread(b, 1, cap, f);
	fclose(f);
	return n;
}

/* Each damaged file is refused (no table), with a reason naming the damage. */
static void expect_refused(const char *p, const char *why)
{
	struct dp_sess_table *t = (struct dp_sess_table *)(uintptr_t)1;
	struct dp_sessfile_info info;
	assert_int_equal(dp_sessfile_load(p, 1700000000000ull, 300000, &t, &info), DP_EINVAL);
	assert_null(t);
	if (strstr(info.why, why) == NULL)
		fail_msg("refused for '%s', expected '%s'", info.why, why);
}

static void test_file_refused(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "bad.sessions");
	uint64_t now = 1700000000000ull;
	struct dp_sess_rec r[4];
	for (unsigned i = 0; i < 4; i++)
		rec_make(&r[i], i, now - 1000);
	assert_int_equal(dp_sessfile_write(p, r, 4, now), DP_OK);
	static uint8_t good[64 + 4 * 88], b[64 + 4 * 88 + 100];
	assert_int_equal(read_file(p, good, sizeof(good)), sizeof(good));

	/* One bit of a system_id flipped. */
	memcpy(b, good, sizeof(good));
	b[64 + 88 + 40] ^= 0x01;
	write_file(p, b, sizeof(good));
	expect_refused(p, "checksum");
	/* A bit of the header's time flipped. */
	memcpy(b, good, sizeof(good));
	b[24] ^= 0x80;
	write_file(p, b, sizeof(good));
	expect_refused(p, "checksum");
	/* Truncated inside the records, and inside the header. */
	write_file(p, good, sizeof(good) - 1);
	expect_refused(p, "truncated");
	write_file(p, good, 63);
	expect_refused(p, "truncated header");
	write_file(p, good, 0);
	expect_refused(p, "truncated header");
	/* Longer than the header says. */
	memcpy(b, good, sizeof(good));
	write_file(p, b, sizeof(good) + 7);
	expect_refused(p, "the header announces");
	/* Another version; another record size. */
	memcpy(b, good, sizeof(good));
	b[8] = 2;
	write_file(p, b, sizeof(good));
	expect_refused(p, "version 2");
	memcpy(b, good, sizeof(good));
	b[12] = 96;
	write_file(p, b, sizeof(good));
	expect_refused(p, "record size 96");
	/* Not a session file at all. */
	memcpy(b, good, sizeof(good));
	memcpy(b, "SMSFWSPL", 8);
	write_file(p, b, sizeof(good));
	expect_refused(p, "bad magic");
	/* A count over the bound, in a file that is not long. */
	memcpy(b, good, sizeof(good));
	uint32_t big = DP_SESSFILE_MAX + 1;
	memcpy(b + 16, &big, 4);
	write_file(p, b, sizeof(good));
	expect_refused(p, "over the bound");
	/* No file: not an error. */
	unlink(p);
	struct dp_sess_table *t;
	assert_int_equal(dp_sessfile_load(p, now, 300000, &t, NULL), DP_ENOENT);
	assert_null(t);
}

static void test_file_size_bound(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "big.sessions");
	uint64_t now = 1700000000000ull;
	size_t n = DP_SESSFILE_MAX + 1;
	struct dp_sess_rec *r = calloc(n, sizeof(*r));
	assert_non_null(r);
	for (size_t i = 0; i < n; i++) {
		rec_make(&r[i], 0, now);
		memcpy(r[i].key.lo_addr + 8, &i, sizeof(i)); /* distinct keys */
	}
	/* The writer keeps the bound; a file at the bound loads. */
	assert_int_equal(dp_sessfile_write(p, r, (uint32_t)n, now), DP_EINVAL);
	assert_int_equal(dp_sessfile_write(p, r, DP_SESSFILE_MAX, now), DP_OK);
	struct dp_sess_table *t;
	struct dp_sessfile_info info;
	assert_int_equal(dp_sessfile_load(p, now, 300000, &t, &info), DP_OK);
	assert_int_equal(dp_sess_table_count(t), DP_SESSFILE_MAX);
	dp_sess_table_free(t);
	/* A file larger than any valid one is refused before it is read. */
	FILE *f = fopen(p, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(r, sizeof(*r), 1, f), 1);
	fclose(f);
	expect_refused(p, "larger than");
	free(r);
	unlink(p);
}

static void test_file_stale(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "stale.sessions");
	uint64_t now = 1700000000000ull;
	struct dp_sess_rec r[3];
	rec_make(&r[0], 0, now - 1000);    /* fresh */
	rec_make(&r[1], 1, now - 400000);  /* idle past the 300 s bound */
	rec_make(&r[2], 2, now - 299000);  /* just within */
	assert_int_equal(dp_sessfile_write(p, r, 3, now), DP_OK);
	struct dp_sess_table *t;
	struct dp_sessfile_info info;
	assert_int_equal(dp_sessfile_load(p, now + 500, 300000, &t, &info), DP_OK);
	assert_int_equal(info.loaded, 2);
	assert_int_equal(info.stale, 1);
	assert_true(dp_sess_table_find(t, &r[0].key) >= 0);
	assert_int_equal(dp_sess_table_find(t, &r[1].key), -1);
	assert_true(dp_sess_table_find(t, &r[2].key) >= 0);
	dp_sess_table_free(t);
	/* A file written longer ago than the bound: every record is stale. */
	assert_int_equal(dp_sessfile_load(p, now + 300001, 300000, &t, &info), DP_OK);
	assert_int_equal(info.loaded, 0);
	assert_int_equal(info.stale, 3);
	dp_sess_table_free(t);
	/* Invalid records (empty or unprintable system_id) are not loaded. */
	r[0].system_id[0] = '\0';
	r[2].system_id[1] = '\n';
	rec_make(&r[1], 1, now);
	assert_int_equal(dp_sessfile_write(p, r, 3, now), DP_OK);
	assert_int_equal(dp_sessfile_load(p, now, 300000, &t, &info), DP_OK);
	assert_int_equal(info.loaded, 1);
	assert_int_equal(info.invalid, 2);
	dp_sess_table_free(t);
	unlink(p);
}

/* ------------------------------------------------------------ frames */

/* An IPv4 TCP frame 198.18.0.a:sp -> 198.18.0.b:dp. */
static uint32_t mk_tcp(uint8_t *p, uint8_t a, uint8_t b, uint16_t sp, uint16_t dp, uint32_t seq,
		       uint32_t ack, uint8_t flags, const uint8_t *pl, uint32_t n)
{
	memset(p, 0, 60);
	memcpy(p, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	uint8_t *ip = p + 14;
	ip[0] = 0x45;
	dp_tk_put16(ip + 2, (uint16_t)(40 + n));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\xc6\x12\x00", 3);
	ip[15] = a;
	memcpy(ip + 16, "\xc6\x12\x00", 3);
	ip[19] = b;
	uint8_t *t = ip + 20;
	dp_tk_put16(t, sp);
	dp_tk_put16(t + 2, dp);
	dp_tk_put32(t + 4, seq);
	dp_tk_put32(t + 8, ack);
	t[12] = 0x50;
	t[13] = flags;
	dp_tk_put16(t + 14, 65535);
	if (n)
		memcpy(t + 20, pl, n);
	uint32_t len = 54 + n;
	return len < 60 ? 60 : len;
}

static uint32_t mk_submit(uint8_t *p, uint32_t sqn, const char *text)
{
	uint32_t n = dp_tk_submit(p, 512, sqn, text);
	assert_true(n > 0);
	return n;
}

/* ----------------------------------------------------------- fixture */

#define MAXEV 32
#define MAXTX 8

struct fx {
	struct dp_settings s;
	struct dp_engine *e;
	struct dp_event ev[MAXEV];
	unsigned n_ev;
	struct { uint8_t b[256]; uint32_t len; int to_smsc; } tx[MAXTX];
	unsigned n_tx;
	unsigned id;
	uint64_t now;
};

/* One TCP connection, both peers' next sequence numbers (shared by the
 * engines of a test: the connection outlives a restart). */
struct conn {
	uint32_t cseq, sseq, pseq;
};

static struct dp_customer custs[2];
static struct dp_snapshot snap;

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
	assert_true(x->n_tx < MAXTX && len <= sizeof(x->tx[0].b));
	memcpy(x->tx[x->n_tx].b, fr, len);
	x->tx[x->n_tx].len = len;
	x->tx[x->n_tx].to_smsc = to_smsc;
	x->n_tx++;
}

static struct fx *fx_new(bool monitor, bool reset, uint64_t now)
{
	struct fx *x = calloc(1, sizeof(*x));
	dp_tk_settings(&x->s);
	x->s.edit_flows = 4;
	x->s.monitor = monitor;
	x->s.unknown_session_reset = reset;
	static unsigned next_id;
	x->id = next_id++ % DP_MAX_WORKERS;
	x->e = dp_engine_create(x->id, &x->s, 0);
	assert_non_null(x->e);
	dp_engine_set_event_sink(x->e, sink, x);
	dp_engine_set_tx(x->e, tx_cb, x);
	x->now = now;
	dp_engine_set_time(x->e, now);
	dp_engine_set_snapshot(x->e, &snap);
	return x;
}

static void fx_free(struct fx *x)
{
	dp_engine_free(x->e);
	free(x);
}

/* A fresh engine at `now` with the sessions of file `p` restored into it
 * (the table left in *t for the caller to free after the engine). */
static struct fx *fx_restored(const char *p, uint64_t now, bool reset, struct dp_sess_table **t)
{
	assert_int_equal(dp_sessfile_load(p, now, 300000, t, NULL), DP_OK);
	struct fx *x = fx_new(false, reset, now);
	dp_engine_set_restored(x->e, *t);
	return x;
}

static enum dp_action seg(struct fx *x, struct conn *c, bool from_esme, uint8_t flags,
			  const uint8_t *pl, uint32_t n)
{
	uint8_t f[1024];
	uint32_t len = from_esme
		? mk_tcp(f, 1, 2, 40000, 2775, c->cseq, c->sseq, flags, pl, n)
		: mk_tcp(f, 2, 1, 2775, 40000, c->sseq, c->cseq, flags, pl, n);
	dp_engine_set_rx(x->e, 0, from_esme ? 0 : 1);
	enum dp_action a = dp_engine_frame_rw(x->e, f, len);
	uint32_t adv = n + ((flags & (DP_TCP_SYN | DP_TCP_FIN)) ? 1 : 0);
	if (from_esme)
		c->cseq += adv;
	else
		c->sseq += adv;
	return a;
}

static void connect_and_bind(struct fx *x, struct conn *c, const char *sid)
{
	c->cseq = 1000;
	c->sseq = 5000;
	seg(x, c, true, DP_TCP_SYN, NULL, 0);
	seg(x, c, false, DP_TCP_SYN | DP_TCP_ACK, NULL, 0);
	seg(x, c, true, DP_TCP_ACK, NULL, 0);
	uint8_t p[256];
	uint32_t n = dp_tk_bind(p, 1, sid, "s3cr3tpw");
	assert_int_equal(seg(x, c, true, DP_TCP_ACK | DP_TCP_PSH, p, n), DP_ACT_FORWARD);
	n = 16 + dp_tk_cstr(p + 16, "SMSC");
	dp_tk_put32(p, n);
	dp_tk_put32(p + 4, 0x80000009);
	dp_tk_put32(p + 8, 0);
	dp_tk_put32(p + 12, 1);
	assert_int_equal(seg(x, c, false, DP_TCP_ACK | DP_TCP_PSH, p, n), DP_ACT_FORWARD);
	c->pseq = 1;
}

/* A submit from the ESME: the action taken on its frame. */
static enum dp_action send_submit(struct fx *x, struct conn *c, const char *text)
{
	uint8_t p[512];
	uint32_t n = mk_submit(p, ++c->pseq, text);
	return seg(x, c, true, DP_TCP_ACK | DP_TCP_PSH, p, n);
}

/* enquire_link from the ESME and its answer. */
static void enquire_link(struct fx *x, struct conn *c)
{
	uint8_t el[16];
	dp_tk_put32(el, 16);
	dp_tk_put32(el + 4, 0x15);
	dp_tk_put32(el + 8, 0);
	dp_tk_put32(el + 12, ++c->pseq);
	assert_int_equal(seg(x, c, true, DP_TCP_ACK | DP_TCP_PSH, el, 16), DP_ACT_FORWARD);
	dp_tk_put32(el + 4, 0x80000015);
	assert_int_equal(seg(x, c, false, DP_TCP_ACK | DP_TCP_PSH, el, 16), DP_ACT_FORWARD);
}

static const struct dp_event *last_verdict(struct fx *x)
{
	for (unsigned i = x->n_ev; i-- > 0;)
		if (x->ev[i].type == DP_EV_VERDICT)
			return &x->ev[i];
	fail_msg("no verdict event");
	return NULL;
}

static void snap_init(uint8_t standing)
{
	memset(custs, 0, sizeof(custs));
	snprintf(custs[0].system_id, DP_SYSTEM_ID_MAX, "alpha");
	custs[0].any_sender = 1;
	snprintf(custs[1].system_id, DP_SYSTEM_ID_MAX, "bad");
	custs[1].standing = standing;
	custs[1].any_sender = 1;
	memset(&snap, 0, sizeof(snap));
	snap.generation = 1;
	snap.cust = custs;
	snap.n_cust = 2;
}

/* "Before the restart": bind "bad" (active), pass a message, save the
 * sessions as the main lcore does. @return the connection's state. */
static struct conn before_restart(const char *file, uint64_t now)
{
	snap_init(DP_STANDING_ACTIVE);
	struct fx *x = fx_new(true, false, now);
	struct conn c;
	connect_and_bind(x, &c, "bad");
	assert_int_equal(send_submit(x, &c, "hello before the restart"), DP_ACT_FORWARD);
	assert_int_equal(last_verdict(x)->verdict, DP_VERDICT_PASS);
	assert_string_equal(last_verdict(x)->system_id, "bad");
	struct dp_sess_rec r[4];
	uint64_t more = 0;
	assert_int_equal(dp_sess_collect(dp_engine_flows(x->e), r, 4, &more), 1);
	assert_int_equal(more, 0);
	assert_string_equal(r[0].system_id, "bad");
	assert_int_equal(r[0].bind_cmd, 0x09);
	assert_int_equal(r[0].version, 0x34);
	assert_int_equal(r[0].bind_ms, now);
	assert_int_equal(dp_sessfile_write(file, r, 1, now), DP_OK);
	fx_free(x);
	return c;
}

static void test_restart_regains_customer(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "restart.sessions");
	uint64_t now = 1700000000000ull;
	struct conn c = before_restart(p, now);
	/* The password is not in the file. */
	static uint8_t raw[4096];
	size_t n = read_file(p, raw, sizeof(raw));
	assert_null(memmem(raw, n, "s3cr3tpw", 8));
	assert_non_null(memmem(raw, n, "bad", 3));

	/* While the dataplane was down the customer was suspended. */
	snap_init(DP_STANDING_SUSPENDED);
	now += 3000;
	struct dp_sess_table *t;
	struct dp_sessfile_info info;
	assert_int_equal(dp_sessfile_load(p, now, 300000, &t, &info), DP_OK);
	assert_int_equal(info.loaded, 1);

	/* Without the file (today's behaviour): judged as "", passed. */
	struct conn c2 = c;
	struct fx *y = fx_new(true, false, now);
	assert_int_equal(send_submit(y, &c2, "hello after the restart"), DP_ACT_FORWARD);
	assert_string_equal(last_verdict(y)->system_id, "");
	assert_int_equal(last_verdict(y)->verdict, DP_VERDICT_PASS);
	assert_int_equal(dp_engine_counters(y->e)->sessions_restored, 0);
	assert_int_equal(dp_engine_counters(y->e)->sess_unknown_submits, 1);
	fx_free(y);

	/* With it: the flow picked up mid-stream is "bad" again, blocked for
	 * standing; the ESME's enquire_link first (the flow's first frame). */
	struct fx *x = fx_new(true, false, now);
	dp_engine_set_restored(x->e, t);
	enquire_link(x, &c);
	assert_int_equal(dp_engine_counters(x->e)->sessions_restored, 1);
	assert_true(dp_sess_table_taken(t, 0));
	assert_int_equal(send_submit(x, &c, "hello after the restart"), DP_ACT_FORWARD);
	const struct dp_event *ev = last_verdict(x);
	assert_string_equal(ev->system_id, "bad");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	assert_int_equal(ev->category, DP_CAT_STANDING);
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_submits, 0);
	/* Written again by the next save: still bound, same bind time. */
	struct dp_sess_rec r[2];
	assert_int_equal(dp_sess_collect(dp_engine_flows(x->e), r, 2, NULL), 1);
	assert_string_equal(r[0].system_id, "bad");
	assert_int_equal(r[0].bind_ms, now - 3000);
	assert_int_equal(r[0].last_ms, now);
	fx_free(x);

	/* A new connection (SYN), even on the same addresses and ports, is not
	 * given the session. */
	x = fx_new(true, false, now);
	dp_engine_set_restored(x->e, t);
	struct conn c3;
	connect_and_bind(x, &c3, "alpha");
	assert_int_equal(send_submit(x, &c3, "hi"), DP_ACT_FORWARD);
	assert_string_equal(last_verdict(x)->system_id, "alpha");
	assert_int_equal(dp_engine_counters(x->e)->sessions_restored, 0);
	fx_free(x);
	dp_sess_table_free(t);
	unlink(p);
}

/* The table outlives the flow table's idle bound: a record idle past it
 * is not trusted at pick-up even when it was loaded fresh. */
static void test_restart_stale_not_restored(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "stale2.sessions");
	uint64_t now = 1700000000000ull;
	struct conn c = before_restart(p, now);
	snap_init(DP_STANDING_SUSPENDED);
	struct dp_sess_table *t;
	assert_int_equal(dp_sessfile_load(p, now + 1000, 300000, &t, NULL), DP_OK);
	assert_int_equal(dp_sess_table_count(t), 1);
	struct fx *x = fx_new(true, false, now + 300001);
	dp_engine_set_restored(x->e, t);
	assert_int_equal(send_submit(x, &c, "hello much later"), DP_ACT_FORWARD);
	assert_string_equal(last_verdict(x)->system_id, "");
	assert_int_equal(dp_engine_counters(x->e)->sessions_restored, 0);
	fx_free(x);
	dp_sess_table_free(t);
	unlink(p);
}

static void test_unknown_session_reset(void **state)
{
	(void)state;
	snap_init(DP_STANDING_SUSPENDED);
	uint64_t now = 1700000000000ull;
	/* Inline, reset: a flow picked up mid-stream, no session remembered. */
	struct fx *x = fx_new(false, true, now);
	struct conn c = { 70000, 90000, 10 };
	assert_int_equal(send_submit(x, &c, "who am I"), DP_ACT_DROP);
	struct dp_counters *k = dp_engine_counters(x->e);
	assert_int_equal(k->sess_unknown_submits, 1);
	assert_int_equal(k->sess_unknown_resets, 1);
	assert_int_equal(k->submits, 0); /* not judged: it went nowhere */
	assert_int_equal(x->n_tx, 2);
	for (unsigned i = 0; i < 2; i++) {
		struct dp_frame fr;
		assert_int_equal(dp_frame_parse(x->tx[i].b, x->tx[i].len, &fr), DP_FRAME_TCP);
		assert_true(fr.tcp_flags & DP_TCP_RST);
		assert_int_equal(fr.payload_len, 0);
		if (x->tx[i].to_smsc) {
			/* toward the SMSC, from the ESME: at the dropped segment's start */
			assert_int_equal(fr.sport, 40000);
			assert_int_equal(fr.seq, 70000);
			assert_int_equal(fr.ack, 90000);
		} else {
			/* toward the ESME, from the SMSC: at the ESME's rcv_nxt */
			assert_int_equal(fr.sport, 2775);
			assert_int_equal(fr.seq, 90000);
			assert_int_equal(fr.ack, c.cseq);
			assert_int_equal(dp_tk_get32(x->tx[i].b + 14 + 12),
					 dp_tk_get32((const uint8_t *)"\xc6\x12\x00\x02"));
		}
	}
	assert_true(x->tx[0].to_smsc != x->tx[1].to_smsc);
	/* The flow's later frames go nowhere. */
	assert_int_equal(send_submit(x, &c, "again"), DP_ACT_DROP);
	assert_int_equal(k->sess_unknown_resets, 1);
	fx_free(x);

	/* A remembered session is not reset: judged as its customer. */
	char p[128];
	path_of(p, sizeof(p), "reset.sessions");
	struct conn c2 = before_restart(p, now);
	snap_init(DP_STANDING_SUSPENDED);
	struct dp_sess_table *t;
	x = fx_restored(p, now + 10, true, &t);
	/* enquire_link and its answer first: both directions are in sync at
	 * a PDU boundary (a block on the flow's very first segment:
	 * test_restart_first_segment_block) */
	enquire_link(x, &c2);
	assert_int_equal(send_submit(x, &c2, "hello"), DP_ACT_DROP); /* blocked: answered */
	assert_string_equal(last_verdict(x)->system_id, "bad");
	assert_int_equal(last_verdict(x)->category, DP_CAT_STANDING);
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_resets, 0);
	assert_int_equal(dp_engine_counters(x->e)->edit_resp_injected, 1);
	assert_int_equal(dp_engine_counters(x->e)->edit_resets, 0);
	fx_free(x);
	dp_sess_table_free(t);
	unlink(p);

	/* Monitor mode with reset configured: counted, forwarded, judged. */
	x = fx_new(true, true, now);
	struct conn c3 = { 70000, 90000, 10 };
	assert_int_equal(send_submit(x, &c3, "who am I"), DP_ACT_FORWARD);
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_submits, 1);
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_resets, 0);
	assert_int_equal(x->n_tx, 0);
	assert_string_equal(last_verdict(x)->system_id, "");
	fx_free(x);

	/* Inline, default policy: counted, judged with the default profile. */
	x = fx_new(false, false, now);
	struct conn c4 = { 70000, 90000, 10 };
	assert_int_equal(send_submit(x, &c4, "who am I"), DP_ACT_FORWARD);
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_submits, 1);
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_resets, 0);
	assert_int_equal(x->n_tx, 0);
	fx_free(x);

	/* Inline, reset: a session bound on this connection is not touched. */
	x = fx_new(false, true, now);
	snap_init(DP_STANDING_ACTIVE);
	struct conn c5;
	connect_and_bind(x, &c5, "alpha");
	assert_int_equal(send_submit(x, &c5, "hello"), DP_ACT_FORWARD);
	assert_int_equal(dp_engine_counters(x->e)->sess_unknown_submits, 0);
	assert_int_equal(x->n_tx, 0);
	fx_free(x);
}

/* One frame with explicit sequence numbers, kept in `f` (rewritten in place
 * when the engine forwards it). */
static enum dp_action raw_seg(struct fx *x, uint8_t *f, bool from_esme, uint32_t seq,
			      uint32_t ack, uint8_t flags, const uint8_t *pl, uint32_t n)
{
	uint32_t len = from_esme ? mk_tcp(f, 1, 2, 40000, 2775, seq, ack, flags, pl, n)
				 : mk_tcp(f, 2, 1, 2775, 40000, seq, ack, flags, pl, n);
	dp_engine_set_rx(x->e, 0, from_esme ? 0 : 1);
	return dp_engine_frame_rw(x->e, f, len);
}

/* The flow picked up mid-stream after a restart (session remembered,
 * customer suspended meanwhile) and its VERY FIRST segment is a blocked
 * submit: removed toward the SMSC and answered toward the ESME (0x45) at the
 * sequence number the ESME's ACK expects; the next submit (passed) and the
 * SMSC's answer flow with consistent translated numbers. Without the ACK
 * flag, when the SMSC's bytes at that point are not a PDU boundary, or when
 * the SMSC already had the removed bytes, the flow is reset (fail-closed). */
static void test_restart_first_segment_block(void **state)
{
	(void)state;
	char p[128];
	path_of(p, sizeof(p), "first.sessions");
	uint64_t now = 1700000000000ull;
	struct conn c = before_restart(p, now);
	snap_init(DP_STANDING_SUSPENDED);
	struct dp_sess_table *t;
	struct fx *x = fx_restored(p, now + 10, false, &t);

	uint8_t f[1024], pl[512];
	const uint32_t c0 = c.cseq, s0 = c.sseq;
	uint32_t bn = mk_submit(pl, 77, "first after the restart");
	assert_int_equal(raw_seg(x, f, true, c0, s0, DP_TCP_ACK | DP_TCP_PSH, pl, bn), DP_ACT_DROP);
	const struct dp_event *ev = last_verdict(x);
	assert_string_equal(ev->system_id, "bad");
	assert_int_equal(ev->verdict, DP_VERDICT_BLOCK);
	struct dp_counters *k = dp_engine_counters(x->e);
	assert_int_equal(k->sessions_restored, 1);
	assert_int_equal(k->edit_resets, 0);
	assert_int_equal(k->edit_resp_injected, 1);
	assert_int_equal(k->edit_pdus_removed, 1);
	/* Toward the SMSC: nothing of the submit (at most a header-only ACK
	 * probe below its rcv_nxt); toward the ESME: the submit_sm_resp. */
	unsigned n_resp = 0;
	uint32_t rl = 0;
	for (unsigned i = 0; i < x->n_tx; i++) {
		struct dp_frame fr;
		assert_int_equal(dp_frame_parse(x->tx[i].b, x->tx[i].len, &fr), DP_FRAME_TCP);
		assert_false(fr.tcp_flags & DP_TCP_RST);
		if (x->tx[i].to_smsc) {
			assert_int_equal(fr.sport, 40000);
			assert_int_equal(fr.payload_len, 0);
			assert_int_equal(fr.seq, c0 - 1);
			assert_int_equal(fr.ack, s0);
			continue;
		}
		n_resp++;
		assert_int_equal(fr.sport, 2775);
		assert_int_equal(fr.dport, 40000);
		assert_true(fr.tcp_flags & DP_TCP_ACK);
		assert_int_equal(fr.seq, s0);	   /* the ESME's rcv_nxt */
		assert_int_equal(fr.ack, c0 + bn); /* the blocked bytes acknowledged */
		assert_true(fr.payload_len >= 16); /* an error answer may have no body */
		rl = fr.payload_len;
		assert_int_equal(dp_tk_get32(fr.payload), rl);
		assert_int_equal(dp_tk_get32(fr.payload + 4), 0x80000004u);
		assert_int_equal(dp_tk_get32(fr.payload + 8), 0x45);
		assert_int_equal(dp_tk_get32(fr.payload + 12), 77);
	}
	assert_int_equal(n_resp, 1);
	/* The SMSC answers the probe with its rcv_nxt (it never had the
	 * submit): consistent, no reset. */
	raw_seg(x, f, false, s0, c0, DP_TCP_ACK, NULL, 0);
	assert_int_equal(k->edit_resets, 0);

	/* The ESME acknowledges the response and sends a submit that passes
	 * (the customer is active again): toward the SMSC, the blocked bytes
	 * are gone from the sequence space and the injected ones from the ACK. */
	custs[1].standing = DP_STANDING_ACTIVE;
	x->n_tx = 0;
	uint32_t pn = mk_submit(pl, 78, "second, passed");
	assert_int_equal(raw_seg(x, f, true, c0 + bn, s0 + rl, DP_TCP_ACK | DP_TCP_PSH, pl, pn),
			 DP_ACT_FORWARD);
	assert_int_equal(last_verdict(x)->verdict, DP_VERDICT_PASS);
	struct dp_frame fr;
	assert_int_equal(dp_frame_parse(f, 54 + pn, &fr), DP_FRAME_TCP);
	assert_int_equal(fr.seq, c0);
	assert_int_equal(fr.ack, s0);
	assert_int_equal(fr.payload_len, pn);
	assert_int_equal(dp_tk_get32(fr.payload + 12), 78);
	/* The SMSC's answer: shifted past the injected bytes toward the ESME,
	 * its ACK translated into the ESME's space. */
	uint8_t r[17] = { 0 };
	dp_tk_put32(r, 17);
	dp_tk_put32(r + 4, 0x80000004u);
	dp_tk_put32(r + 12, 78);
	assert_int_equal(raw_seg(x, f, false, s0, c0 + pn, DP_TCP_ACK | DP_TCP_PSH, r, 17),
			 DP_ACT_FORWARD);
	assert_int_equal(dp_frame_parse(f, 60 > 54 + 17 ? 60 : 54 + 17, &fr), DP_FRAME_TCP);
	assert_int_equal(fr.seq, s0 + rl);
	assert_int_equal(fr.ack, c0 + bn + pn);
	assert_int_equal(k->edit_resets, 0);
	assert_int_equal(k->edit_mid_unplaced_resets, 0);
	assert_int_equal(k->edit_mid_acked_resets, 0);
	fx_free(x);
	dp_sess_table_free(t);

	/* The same first segment without the ACK flag: the SMSC's side cannot
	 * be placed, the flow is reset (fail-closed). */
	snap_init(DP_STANDING_SUSPENDED);
	x = fx_restored(p, now + 10, false, &t);
	bn = mk_submit(pl, 77, "first after the restart");
	assert_int_equal(raw_seg(x, f, true, c0, 0, DP_TCP_PSH, pl, bn), DP_ACT_DROP);
	k = dp_engine_counters(x->e);
	assert_int_equal(k->edit_resets, 1);
	assert_int_equal(k->edit_mid_unplaced_resets, 1); /* its own cause */
	assert_int_equal(k->edit_mid_acked_resets, 0);
	fx_free(x);
	dp_sess_table_free(t);

	/* The ESME's ACK pointed inside an SMSC PDU: the SMSC's first segment
	 * reaching that point has no header there, the flow is reset. */
	x = fx_restored(p, now + 10, false, &t);
	assert_int_equal(raw_seg(x, f, true, c0, s0, DP_TCP_ACK | DP_TCP_PSH, pl, bn), DP_ACT_DROP);
	k = dp_engine_counters(x->e);
	assert_int_equal(k->edit_resp_injected, 1);
	assert_int_equal(k->edit_resets, 0);
	uint8_t tail[40];
	memset(tail, 'z', sizeof(tail)); /* the end of a deliver_sm's text */
	assert_int_equal(raw_seg(x, f, false, s0 - 10, c0, DP_TCP_ACK | DP_TCP_PSH, tail, 40),
			 DP_ACT_DROP);
	assert_int_equal(k->edit_resets, 1);
	assert_int_equal(k->edit_mid_unplaced_resets, 1);
	assert_int_equal(k->edit_mid_acked_resets, 0);
	fx_free(x);
	dp_sess_table_free(t);

	/* The first segment was a retransmission of a submit the dataplane
	 * passed before the restart: the SMSC, answering the ACK probe,
	 * acknowledges the removed bytes. The spaces cannot be reconciled:
	 * the flow is reset toward both ends. */
	x = fx_restored(p, now + 10, false, &t);
	assert_int_equal(raw_seg(x, f, true, c0, s0, DP_TCP_ACK | DP_TCP_PSH, pl, bn), DP_ACT_DROP);
	k = dp_engine_counters(x->e);
	assert_int_equal(k->edit_resets, 0);
	x->n_tx = 0;
	assert_int_equal(raw_seg(x, f, false, s0, c0 + bn, DP_TCP_ACK, NULL, 0), DP_ACT_DROP);
	assert_int_equal(k->edit_resets, 1);
	assert_int_equal(k->edit_mid_acked_resets, 1);
	assert_int_equal(k->edit_mid_unplaced_resets, 0);
	unsigned n_rst = 0;
	for (unsigned i = 0; i < x->n_tx; i++) {
		struct dp_frame rf;
		assert_int_equal(dp_frame_parse(x->tx[i].b, x->tx[i].len, &rf), DP_FRAME_TCP);
		n_rst += (rf.tcp_flags & DP_TCP_RST) != 0;
	}
	assert_int_equal(n_rst, 2);
	fx_free(x);
	dp_sess_table_free(t);
	unlink(p);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_dp_sessions.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	if (dp_tk_eal_init("test_dp_sessions", "dpsess", "256") < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_file_refused),
		cmocka_unit_test(test_file_size_bound),
		cmocka_unit_test(test_file_stale),
		cmocka_unit_test(test_restart_regains_customer),
		cmocka_unit_test(test_restart_stale_not_restored),
		cmocka_unit_test(test_unknown_session_reset),
		cmocka_unit_test(test_restart_first_segment_block),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dp_eal_cleanup();
	rmdir(dir);
	return rc;
}
