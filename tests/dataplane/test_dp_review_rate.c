/* Rate limits shared across workers (dp_policy.c): GCRA cells in one table
 * for every engine made with the same settings, updated with compare and
 * swap; a worker falls back to its share (rate / workers) only when the
 * shared table has no cell for the key.
 *
 * What a user notices is how many submits of a customer are throttled
 * (ESME_RTHROTTLED, rule builtin:rate.customer) over a fake clock, so the
 * tests drive whole engines with TCP frames: a flow per client port, a bind
 * per customer (system_id), submit_sm after submit_sm, and count the rate
 * verdicts their events carry. No ruleset: the rate step comes first.
 *
 * Invariants pinned here:
 *  - at a fixed time a full bucket grants exactly `burst` tokens (the rate
 *    when burst is 0), then one per 1/rate seconds, never more than burst;
 *  - one budget for all workers, also when two threads take tokens from
 *    one cell at once (the CAS loop loses no update and grants no extra);
 *  - a clock that goes backwards grants nothing; one that jumps forward
 *    refills to the burst and no further; extreme rates and bursts do not
 *    overflow the theoretical arrival time;
 *  - the shared table full: a worker grants its share only (burst/workers),
 *    so the workers together still grant at most the burst; a cell idle for
 *    a second past full is taken over by another customer;
 *  - a submit throttled by its sender's bucket costs the customer nothing.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>

#include "dp.h"
#include "dp_testkit.h"
#include "smpp.h"

#define NCUST 120

/* ------------------------------------------------------------ engines */

struct wk {
	struct dp_engine *e;
	struct dp_snapshot snap;
	uint64_t now_ms;
	/* rate verdicts of this engine's events */
	uint64_t passed, throttled;
};

static void sink(void *arg, const struct dp_event *ev)
{
	struct wk *w = arg;
	if (ev->type != DP_EV_VERDICT)
		return;
	if (ev->verdict == DP_VERDICT_THROTTLE && strncmp(ev->rule_id, "builtin:rate.", 13) == 0)
		w->throttled++;
	else
		w->passed++;
}

static unsigned next_id;

static void wk_new(struct wk *w, const struct dp_settings *s)
{
	memset(w, 0, sizeof(*w));
	for (unsigned k = 0; k < DP_MAX_WORKERS && w->e == NULL; k++)
		w->e = dp_engine_create(next_id++ % DP_MAX_WORKERS, s, 0);
	assert_non_null(w->e);
	dp_engine_set_event_sink(w->e, sink, w);
	w->snap.generation = 1;
	dp_engine_set_snapshot(w->e, &w->snap);
	w->now_ms = 1000000;
	dp_engine_set_time(w->e, w->now_ms);
}

static void wk_time(struct wk *w, uint64_t now_ms)
{
	w->now_ms = now_ms;
	dp_engine_set_time(w->e, now_ms);
}

static void settings(struct dp_settings *s, uint8_t workers, uint32_t rate, uint32_t burst)
{
	dp_settings_default(s);
	s->flows_max = 512;
	s->pool_chunks = 64;
	s->concat_max = 16;
	s->table_slots = 64; /* the shared rate table: 64 cells */
	s->n_workers = workers;
	s->default_customer.rate_per_s = rate;
	s->default_customer.burst = burst;
}

/* ------------------------------------------------------------- frames */

struct conn {
	struct wk *w;
	uint16_t port;
	uint32_t cseq, sseq, pseq, ndst;
};

/* One frame of connection c through its engine; no cmocka assertion here
 * (the contention test calls it from two threads). */
static enum dp_action frame_raw(struct conn *c, bool from_client, uint8_t flags, const uint8_t *pl,
				uint32_t n)
{
	uint8_t f[1024];
	if (n > sizeof(f) - 54)
		return DP_ACT_DROP;
	memset(f, 0, sizeof(f));
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	dp_tk_put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	dp_tk_put16(ip + 2, (uint16_t)(40 + n));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, from_client ? "\xc6\x12\x00\x01\xc6\x12\x00\x02" : "\xc6\x12\x00\x02\xc6\x12\x00\x01",
	       8);
	uint8_t *t = ip + 20;
	dp_tk_put16(t, from_client ? c->port : 2775);
	dp_tk_put16(t + 2, from_client ? 2775 : c->port);
	dp_tk_put32(t + 4, from_client ? c->cseq : c->sseq);
	dp_tk_put32(t + 8, from_client ? c->sseq : c->cseq);
	t[12] = 0x50;
	t[13] = flags;
	dp_tk_put16(t + 14, 65535);
	if (n > 0)
		memcpy(t + 20, pl, n);
	uint32_t len = 54 + n < 60 ? 60 : 54 + n;
	enum dp_action a = dp_engine_frame(c->w->e, f, len);
	uint32_t adv = n + ((flags & (DP_TCP_SYN | DP_TCP_FIN)) ? 1 : 0);
	if (from_client)
		c->cseq += adv;
	else
		c->sseq += adv;
	return a;
}

static void frame(struct conn *c, bool from_client, uint8_t flags, const uint8_t *pl, uint32_t n)
{
	assert_int_equal(frame_raw(c, from_client, flags, pl, n), DP_ACT_FORWARD);
}

static void send_pdu(struct conn *c, bool from_client, const struct smpp_pdu *m)
{
	uint8_t b[512];
	size_t n = 0;
	assert_int_equal(smpp_pdu_encode(m, b, sizeof(b), &n), SMPP_OK);
	frame(c, from_client, DP_TCP_ACK | DP_TCP_PSH, b, (uint32_t)n);
}

/* A connection of customer `sid` on engine `w`: handshake and bind. */
static void conn_open(struct conn *c, struct wk *w, uint16_t port, const char *sid)
{
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->port = port;
	c->cseq = 1000;
	c->sseq = 5000;
	frame(c, true, DP_TCP_SYN, NULL, 0);
	frame(c, false, DP_TCP_SYN | DP_TCP_ACK, NULL, 0);
	frame(c, true, DP_TCP_ACK, NULL, 0);
	struct smpp_pdu b = { .hdr = { .command_id = 0x09, .sequence_number = 1 },
			      .system_id = dp_tk_sv(sid),
			      .password = dp_tk_sv("pw"),
			      .interface_version = 0x34 };
	send_pdu(c, true, &b);
	struct smpp_pdu r = { .hdr = { .command_id = 0x80000009u, .sequence_number = 1 },
			      .system_id = dp_tk_sv("SMSC") };
	send_pdu(c, false, &r);
	c->pseq = 1;
}

/* One submit_sm (each to another recipient: no velocity verdict).
 * @return 1 if the rate step let it through, 0 if it throttled it, -1 if
 * the frame was not forwarded or did not give exactly one verdict. */
static int submit_from(struct conn *c, const char *src);

static int submit_raw(struct conn *c)
{
	return submit_from(c, "447700900001");
}

/* The same from sender `src`. */
static int submit_from(struct conn *c, const char *src)
{
	char dst[24];
	snprintf(dst, sizeof(dst), "4477%08u", (unsigned)(c->port * 10000u + c->ndst++));
	struct smpp_pdu m = { .hdr = { .command_id = 0x04, .sequence_number = ++c->pseq },
			      .source_addr_ton = 1,
			      .source_addr_npi = 1,
			      .source_addr = dp_tk_sv(src),
			      .dest_addr_ton = 1,
			      .dest_addr_npi = 1,
			      .destination_addr = dp_tk_sv(dst),
			      .data_coding = 1,
			      .short_message = dp_tk_sv("see you at eight") };
	uint8_t b[512];
	size_t n = 0;
	if (smpp_pdu_encode(&m, b, sizeof(b), &n) != SMPP_OK)
		return -1;
	uint64_t th = c->w->throttled, ps = c->w->passed;
	if (frame_raw(c, true, DP_TCP_ACK | DP_TCP_PSH, b, (uint32_t)n) != DP_ACT_FORWARD ||
	    c->w->throttled + c->w->passed != th + ps + 1)
		return -1;
	return c->w->passed != ps;
}

static bool submit(struct conn *c)
{
	int r = submit_raw(c);
	assert_true(r >= 0);
	return r == 1;
}

static unsigned submits(struct conn *c, unsigned n)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++)
		ok += submit(c);
	return ok;
}

/* ------------------------------------------------------------- tests */

/* Burst, then the rate, never more than the burst; burst 0 = the rate. */
static void test_burst_then_rate(void **state)
{
	(void)state;
	struct dp_settings s;
	settings(&s, 1, 10, 5);
	struct wk w;
	wk_new(&w, &s);
	struct conn c;
	conn_open(&c, &w, 41000, "alpha");
	assert_int_equal(submits(&c, 8), 5);   /* the burst */
	wk_time(&w, w.now_ms + 99);
	assert_int_equal(submits(&c, 3), 0);   /* 99 ms: not yet a token (100 ms each) */
	wk_time(&w, w.now_ms + 1);
	assert_int_equal(submits(&c, 3), 1);
	wk_time(&w, w.now_ms + 250);
	assert_int_equal(submits(&c, 5), 2);   /* 250 ms: two tokens */
	wk_time(&w, w.now_ms + 60000);
	assert_int_equal(submits(&c, 20), 5);  /* a minute idle: the burst, not 600 */
	dp_engine_free(w.e);
	/* burst 0: the bucket holds one second of the rate */
	settings(&s, 1, 10, 0);
	wk_new(&w, &s);
	conn_open(&c, &w, 41001, "beta");
	assert_int_equal(submits(&c, 15), 10);
	dp_engine_free(w.e);
}

/* Rates that do not divide a second and rates beyond a token per
 * nanosecond; the largest burst with the slowest rate (the theoretical
 * arrival time then reaches 2^32 seconds ahead) at a clock of 30 years. */
static void test_rate_extremes(void **state)
{
	(void)state;
	struct dp_settings s;
	settings(&s, 1, 3, 1);
	struct wk w;
	wk_new(&w, &s);
	struct conn c;
	conn_open(&c, &w, 41010, "gamma");
	assert_int_equal(submits(&c, 2), 1);
	wk_time(&w, w.now_ms + 333); /* a token every 333.33 ms */
	assert_int_equal(submits(&c, 1), 0);
	wk_time(&w, w.now_ms + 1);
	assert_int_equal(submits(&c, 2), 1);
	dp_engine_free(w.e);

	settings(&s, 1, 4000000000u, 0); /* 4e9/s, burst = the rate */
	wk_new(&w, &s);
	conn_open(&c, &w, 41011, "delta");
	assert_int_equal(submits(&c, 300), 300);
	dp_engine_free(w.e);

	settings(&s, 1, 1, UINT32_MAX);
	wk_new(&w, &s);
	wk_time(&w, 30ull * 365 * 86400 * 1000); /* 9.46e11 ms */
	conn_open(&c, &w, 41012, "epsilon");
	assert_int_equal(submits(&c, 300), 300);
	wk_time(&w, w.now_ms + 1000);
	assert_int_equal(submits(&c, 10), 10);
	dp_engine_free(w.e);
}

/* The clock goes backwards (a worker's reading behind another's, a test
 * clock): no token is granted for it, and forward again the refill counts
 * from the latest time seen; a jump forward refills to the burst, no more. */
static void test_clock_steps_shared(void **state)
{
	(void)state;
	struct dp_settings s;
	settings(&s, 1, 4, 4);
	struct wk w;
	wk_new(&w, &s);
	struct conn c;
	conn_open(&c, &w, 41020, "zeta");
	uint64_t t0 = w.now_ms;
	assert_int_equal(submits(&c, 6), 4);
	wk_time(&w, t0 - 10000);
	assert_int_equal(submits(&c, 3), 0);
	wk_time(&w, t0 + 249);
	assert_int_equal(submits(&c, 2), 0);
	wk_time(&w, t0 + 250);
	assert_int_equal(submits(&c, 2), 1);
	wk_time(&w, t0 + 3600 * 1000);
	assert_int_equal(submits(&c, 10), 4);
	dp_engine_free(w.e);
}

/* A customer's rate lowered by a new snapshot (the control plane changed
 * the record): the cell stays the customer's and the new rate applies at
 * once: the next token comes when the theoretical arrival time the old rate
 * left is reached (100 tokens at 100/s: one second), then one per new
 * period. Raised again, the new burst is there once the debt is paid. */
static void test_customer_rate_change(void **state)
{
	(void)state;
	struct dp_settings s;
	settings(&s, 1, 0, 0);
	struct wk w;
	wk_new(&w, &s);
	static struct dp_customer cu[2];
	memset(cu, 0, sizeof(cu));
	for (int i = 0; i < 2; i++) {
		snprintf(cu[i].system_id, sizeof(cu[i].system_id), "omega");
		cu[i].standing = DP_STANDING_ACTIVE;
		cu[i].any_sender = 1;
		cu[i].bulk_ok = 1;
	}
	cu[0].rate_per_s = 100;
	cu[0].burst = 100;
	cu[1].rate_per_s = 1;
	cu[1].burst = 1;
	struct dp_snapshot s1 = { .generation = 2, .cust = &cu[0], .n_cust = 1 };
	struct dp_snapshot s2 = { .generation = 3, .cust = &cu[1], .n_cust = 1 };
	dp_engine_set_snapshot(w.e, &s1);
	struct conn c;
	conn_open(&c, &w, 41030, "omega");
	uint64_t t0 = w.now_ms;
	assert_int_equal(submits(&c, 120), 100);
	dp_engine_set_snapshot(w.e, &s2);
	wk_time(&w, t0 + 999);
	assert_int_equal(submits(&c, 3), 0);
	wk_time(&w, t0 + 1000);
	assert_int_equal(submits(&c, 3), 1);
	wk_time(&w, t0 + 1999);
	assert_int_equal(submits(&c, 3), 0);
	wk_time(&w, t0 + 2000);
	assert_int_equal(submits(&c, 3), 1);
	/* raised again */
	dp_engine_set_snapshot(w.e, &s1);
	wk_time(&w, t0 + 4000);
	assert_int_equal(submits(&c, 120), 100);
	dp_engine_free(w.e);
}

struct table_fx {
	struct dp_settings s;
	struct wk a, b;
	struct conn ca[NCUST], cb[NCUST];
	char sid[NCUST][16];
	unsigned got_a[NCUST];
};

/* NCUST customers, one connection each on worker A, all at one instant:
 * the 64 shared cells run out. Each customer asks A for 6 tokens. */
static struct table_fx *table_fill(void)
{
	struct table_fx *t = calloc(1, sizeof(*t));
	settings(&t->s, 2, 4, 4);
	wk_new(&t->a, &t->s);
	wk_new(&t->b, &t->s);
	wk_time(&t->b, t->a.now_ms);
	for (unsigned i = 0; i < NCUST; i++) {
		snprintf(t->sid[i], sizeof(t->sid[i]), "cust%03u", i);
		conn_open(&t->ca[i], &t->a, (uint16_t)(42000 + i), t->sid[i]);
		conn_open(&t->cb[i], &t->b, (uint16_t)(43000 + i), t->sid[i]);
	}
	for (unsigned i = 0; i < NCUST; i++)
		t->got_a[i] = submits(&t->ca[i], 6);
	return t;
}

static void table_free(struct table_fx *t)
{
	dp_engine_free(t->b.e);
	dp_engine_free(t->a.e);
	free(t);
}

/* The shared table full: a customer without a cell gets its worker's share
 * (burst / workers) on each worker; one with a cell gets the whole burst
 * once, whichever worker asks. Either way the workers together grant the
 * burst, never more. */
static void test_table_full_share(void **state)
{
	(void)state;
	struct table_fx *t = table_fill();
	unsigned shared = 0, share = 0;
	for (unsigned i = 0; i < NCUST; i++) {
		assert_true(t->got_a[i] == 4 || t->got_a[i] == 2);
		unsigned got_b = submits(&t->cb[i], 6);
		assert_int_equal(t->got_a[i] + got_b, 4);
		if (t->got_a[i] == 4)
			shared++;
		else
			share++;
	}
	assert_true(shared <= 64);
	assert_true(shared >= 32); /* most cells were found */
	assert_true(share >= NCUST - 64);
	table_free(t);
}

/* A customer on its worker's share: the clock going backwards grants
 * nothing; forward, the share refills at rate / workers from the latest
 * time seen. Two seconds on, the cells are idle past full: the customer
 * takes one over and gets the whole burst, once for both workers. */
static void test_table_full_clock_and_takeover(void **state)
{
	(void)state;
	struct table_fx *t = table_fill();
	unsigned k = 0;
	while (k < NCUST && t->got_a[k] != 2)
		k++;
	assert_true(k < NCUST);
	uint64_t t0 = t->a.now_ms;
	wk_time(&t->a, t0 - 10000);
	assert_int_equal(submits(&t->ca[k], 3), 0);
	wk_time(&t->a, t0 + 499); /* the share: 2 per second, 500 ms a token */
	assert_int_equal(submits(&t->ca[k], 3), 0);
	wk_time(&t->a, t0 + 500);
	assert_int_equal(submits(&t->ca[k], 3), 1);
	/* Every cell's bucket has been full for more than a second. */
	wk_time(&t->a, t0 + 2100);
	wk_time(&t->b, t0 + 2100);
	assert_int_equal(submits(&t->ca[k], 6), 4);
	assert_int_equal(submits(&t->cb[k], 6), 0);
	table_free(t);
}

/* Two threads, each a worker with its own connection of one customer,
 * take tokens from the same cell at the same fake instants (both spin
 * until a round starts; the main thread moves the clock between rounds): over
 * the rounds exactly the burst, then rate x time, is granted (a lost CAS
 * update would grant more). One worker asks for more than its share
 * (rate / 2), so the per-worker fallback would grant fewer. */
#define ROUNDS 200

struct hammer {
	struct conn *c;
	unsigned per_round;
	unsigned granted[ROUNDS], errors;
	uint64_t t_first[ROUNDS], t_last[ROUNDS]; /* ns: first and last grant of the round */
	unsigned *go, *done; /* rounds started by the main thread, finished by the workers */
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	/* The EAL pinned the main thread (and so its children) to lcore 0:
	 * let the two workers run on every CPU, at the same time. */
	cpu_set_t all;
	CPU_ZERO(&all);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	for (long i = 0; i < ncpu && i < CPU_SETSIZE; i++)
		CPU_SET((int)i, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	for (unsigned r = 0; r < ROUNDS; r++) {
		while (__atomic_load_n(h->go, __ATOMIC_ACQUIRE) != r + 1)
			; /* spinning: both workers on a CPU when the round starts */
		for (unsigned i = 0; i < h->per_round; i++) {
			int v = submit_raw(h->c);
			if (v < 0) {
				h->errors++;
			} else if (v == 1) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
				if (h->granted[r]++ == 0)
					h->t_first[r] = t;
				h->t_last[r] = t;
			}
		}
		__atomic_add_fetch(h->done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_cas_two_threads(void **state)
{
	(void)state;
	struct dp_settings s;
	settings(&s, 2, 10000, 500);
	struct wk a, b;
	wk_new(&a, &s);
	wk_new(&b, &s);
	wk_time(&b, a.now_ms);
	struct conn ca, cb;
	conn_open(&ca, &a, 44000, "hammer");
	conn_open(&cb, &b, 44001, "hammer");
	unsigned go = 0, done = 0;
	struct hammer *h = calloc(2, sizeof(*h));
	h[0] = (struct hammer){ .c = &ca, .per_round = 450, .go = &go, .done = &done };
	h[1] = (struct hammer){ .c = &cb, .per_round = 100, .go = &go, .done = &done };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	unsigned both = 0; /* rounds where both threads got tokens */
	for (unsigned r = 0; r < ROUNDS; r++) {
		if (r > 0) {
			/* 40 ms: 400 tokens (the burst is 500) */
			wk_time(&a, a.now_ms + 40);
			wk_time(&b, a.now_ms);
		}
		__atomic_store_n(&go, r + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) != 2 * (r + 1))
			sched_yield(); /* the CPUs are the workers' */
		/* the two workers' grants interleaved in time */
		both += h[0].granted[r] > 0 && h[1].granted[r] > 0 &&
			h[0].t_first[r] < h[1].t_last[r] && h[1].t_first[r] < h[0].t_last[r];
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(h[0].errors + h[1].errors, 0);
	for (unsigned r = 0; r < ROUNDS; r++)
		assert_int_equal(h[0].granted[r] + h[1].granted[r], r == 0 ? 500 : 400);
	printf("cas: rounds where the workers' grants overlapped in time: %u of %u\n", both, ROUNDS);
	free(h);
	dp_engine_free(b.e);
	dp_engine_free(a.e);
}

/* A submit throttled by its sender's bucket does not spend the customer's
 * token: customer 10/s burst 10, each sender 2/s burst 2. Five submits from
 * one sender pass 2, twelve from another pass 2; the customer still has 6
 * for other senders (none if the throttled ones had been charged). */
static void test_sender_throttle_refunds(void **state)
{
	(void)state;
	struct dp_settings s;
	settings(&s, 1, 10, 10);
	s.default_customer.sender_rate_per_s = 2;
	s.default_customer.sender_burst = 2;
	struct wk w;
	wk_new(&w, &s);
	struct conn c;
	conn_open(&c, &w, 42000, "eta");
	unsigned a = 0, b = 0, rest = 0;
	for (int i = 0; i < 5; i++)
		a += submit_from(&c, "447700900011") == 1;
	for (int i = 0; i < 12; i++)
		b += submit_from(&c, "447700900022") == 1;
	assert_int_equal(a, 2);
	assert_int_equal(b, 2);
	for (int i = 0; i < 12; i++) {
		char src[16];
		snprintf(src, sizeof(src), "4477009001%02d", i);
		rest += submit_from(&c, src) == 1;
	}
	assert_int_equal(rest, 6);
	dp_engine_free(w.e);
}

int main(void)
{
	if (dp_tk_eal_init("test_dp_review_rate", "dprrate", "256") < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_rate_extremes),
		cmocka_unit_test(test_clock_steps_shared),
		cmocka_unit_test(test_customer_rate_change),
		cmocka_unit_test(test_table_full_share),
		cmocka_unit_test(test_table_full_clock_and_takeover),
		cmocka_unit_test(test_cas_two_threads),
		cmocka_unit_test(test_sender_throttle_refunds),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dp_eal_cleanup();
	return rc;
}
