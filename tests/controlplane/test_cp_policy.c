/*
 * test_cp_policy.c — the AUP policy engine against a real LMDB store with a
 * fake clock: complaint thresholds (5 vs 6 in 30 days, 10 vs 11 in 90 days,
 * window edges to the second), the ladder per category, review mode, rule
 * exceptions, warning expiry, manual actions and terminate finality.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cp_test_util.h"

#define T0 1700000000ull /* an arbitrary fixed start time */

struct fx {
	char dir[128];
	struct cp_store *store;
	struct cp_engine e;
	struct fake_clock clk;
	struct cp_policy_cfg cfg;
};

static int fx_open(struct fx *f, bool review)
{
	char err[256];
	test_tmpdir(f->dir, sizeof(f->dir));
	if (cp_store_open(f->dir, 8 << 20, &f->store, err, sizeof(err)))
		return -1;
	test_policy_defaults(&f->cfg);
	f->cfg.review = review;
	f->clk.now = T0;
	cp_engine_init(&f->e, f->store, &f->cfg, fake_now, &f->clk);
	return cp_engine_customer_add(&f->e, "acme", NULL);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || fx_open(f, false))
		return -1;
	*state = f;
	return 0;
}

static int setup_review(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || fx_open(f, true))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cp_store_close(f->store);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static struct cp_customer_rec get(struct fx *f, const char *id)
{
	struct cp_customer_rec c;
	MDB_txn *txn;
	assert_int_equal(mdb_txn_begin(f->store->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(cp_customer_get(f->store, txn, id, &c), CP_OK);
	mdb_txn_abort(txn);
	return c;
}

/* Complaint offsets (seconds after T0) and what the last one must do. */
struct compl_case {
	const char *name;
	unsigned n;
	uint64_t offsets[12];
	uint32_t expect_violations; /* after all complaints */
	enum cp_standing expect;
};

static const struct compl_case compl_cases[] = {
    {"5 in a day", 5, {0, 10, 20, 30, 40}, 0, CP_STANDING_ACTIVE},
    {"6 in a day", 6, {0, 10, 20, 30, 40, 50}, 1, CP_STANDING_WARNED},
    /* The 6th lands exactly 30 days after the 1st: the 1st has left
     * the window (time > now - 30 d), so only 5 count. */
    {"6th at +30d exactly", 6, {0, 1, 2, 3, 4, 30 * CP_DAY}, 0, CP_STANDING_ACTIVE},
    {"6th at +30d - 1s", 6, {0, 1, 2, 3, 4, 30 * CP_DAY - 1}, 1, CP_STANDING_WARNED},
    /* 8 days apart: never more than 4 in 30 days. */
    {"10 in 90 days",
     10,
     {0, 8 * CP_DAY, 16 * CP_DAY, 24 * CP_DAY, 32 * CP_DAY, 40 * CP_DAY, 48 * CP_DAY, 56 * CP_DAY,
      64 * CP_DAY, 72 * CP_DAY},
     0,
     CP_STANDING_ACTIVE},
    {"11 in 90 days",
     11,
     {0, 8 * CP_DAY, 16 * CP_DAY, 24 * CP_DAY, 32 * CP_DAY, 40 * CP_DAY, 48 * CP_DAY, 56 * CP_DAY,
      64 * CP_DAY, 72 * CP_DAY, 80 * CP_DAY},
     1,
     CP_STANDING_WARNED},
    {"11th at +90d exactly",
     11,
     {0, 8 * CP_DAY, 16 * CP_DAY, 24 * CP_DAY, 32 * CP_DAY, 40 * CP_DAY, 48 * CP_DAY, 56 * CP_DAY,
      64 * CP_DAY, 72 * CP_DAY, 90 * CP_DAY},
     0,
     CP_STANDING_ACTIVE},
    {"11th at +90d - 1s",
     11,
     {0, 8 * CP_DAY, 16 * CP_DAY, 24 * CP_DAY, 32 * CP_DAY, 40 * CP_DAY, 48 * CP_DAY, 56 * CP_DAY,
      64 * CP_DAY, 72 * CP_DAY, 90 * CP_DAY - 1},
     1,
     CP_STANDING_WARNED},
    /* 7 in a day: one crossing, one violation, not two. */
    {"7 in a day", 7, {0, 1, 2, 3, 4, 5, 6}, 1, CP_STANDING_WARNED},
    /* 5 early ones, then 6 more 40 days later: the last complaint is the
     * 6th in 30 days and the 11th in 90 days at once. One complaint is
     * one violation, not two. */
    {"6th in 30 d is the 11th in 90 d",
     11,
     {0, 1, 2, 3, 4, 40 * CP_DAY, 40 * CP_DAY + 1, 40 * CP_DAY + 2, 40 * CP_DAY + 3,
      40 * CP_DAY + 4, 40 * CP_DAY + 5},
     1,
     CP_STANDING_WARNED},
};

static void test_complaint_thresholds(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(compl_cases) / sizeof(compl_cases[0]); i++) {
		const struct compl_case *k = &compl_cases[i];
		struct fx f = {0};
		assert_int_equal(fx_open(&f, false), 0);
		for (unsigned j = 0; j < k->n; j++) {
			f.clk.now = T0 + k->offsets[j];
			assert_int_equal(cp_engine_complaint_add(&f.e, "acme", "447700900123",
								 "spam", "7726", NULL, NULL),
					 CP_OK);
		}
		struct cp_customer_rec c = get(&f, "acme");
		if (c.violations != k->expect_violations || c.standing != k->expect)
			fail_msg("case '%s': violations %u standing %s, expected %u %s", k->name,
				 c.violations, cp_standing_name(c.standing), k->expect_violations,
				 cp_standing_name(k->expect));
		cp_store_close(f.store);
		test_rmdir(f.dir);
	}
}

/* The complaints ladder (README: complaint violations 1 -> warn, 3 ->
 * suspend, 90 d): three threshold crossings 31 days apart suspend; the
 * same with the third 91 days after the first leaves two in the window. */
static void test_complaint_ladder(void **state)
{
	(void)state;
	static const struct {
		uint64_t third_day;
		enum cp_standing expect;
	} cases[] = {{62, CP_STANDING_SUSPENDED}, {92, CP_STANDING_WARNED}};
	for (size_t i = 0; i < 2; i++) {
		struct fx f = {0};
		assert_int_equal(fx_open(&f, false), 0);
		f.e.cfg.complaints_90d = 1000; /* only the 30-day threshold */
		const uint64_t days[3] = {0, 31, cases[i].third_day};
		for (int d = 0; d < 3; d++) {
			for (int j = 0; j < 6; j++) {
				f.clk.now = T0 + days[d] * CP_DAY + (uint64_t)j;
				assert_int_equal(cp_engine_complaint_add(&f.e, "acme", "447700900123",
									 "spam", "7726", NULL,
									 NULL),
						 CP_OK);
			}
			struct cp_customer_rec c = get(&f, "acme");
			assert_int_equal(c.violations, (uint32_t)d + 1);
			assert_int_equal(c.standing,
					 d < 2 ? CP_STANDING_WARNED : cases[i].expect);
		}
		cp_store_close(f.store);
		test_rmdir(f.dir);
	}
}

static void test_complaint_unknown_customer(void **state)
{
	struct fx *f = *state;
	assert_int_equal(cp_engine_complaint_add(&f->e, "nobody", "4477", "", "", NULL, NULL),
			 CP_ERR_NOTFOUND);
	assert_int_equal(cp_engine_complaint_add(&f->e, "acme", "", "", "", NULL, NULL),
			 CP_ERR_INVAL);
}

/* The complaint record keeps 160 bytes of text and 15 of source. Longer
 * input is refused, not cut: a cut text loses what the subscriber sent and
 * may end inside a UTF-8 sequence, and a cut source names another one. */
static void test_complaint_field_bounds(void **state)
{
	struct fx *f = *state;
	char text[162], source[17];
	uint64_t cid = 0;
	uint32_t n;

	/* 159 ASCII bytes and a 2-byte 'é': 161 bytes */
	memset(text, 'a', 159);
	memcpy(text + 159, "\xc3\xa9", 3);
	memset(source, 's', 16);
	source[16] = 0;
	assert_int_equal(cp_engine_complaint_add(&f->e, "acme", "447700900123", text, "7726",
						 &cid, NULL),
			 CP_ERR_INVAL);
	assert_int_equal(cp_engine_complaint_add(&f->e, "acme", "447700900123", "spam", source,
						 &cid, NULL),
			 CP_ERR_INVAL);
	assert_int_equal(cp_engine_complaints_count(&f->e, "acme", 30 * CP_DAY, &n), CP_OK);
	assert_int_equal(n, 0); /* nothing recorded */
	/* the largest values fit and are kept whole */
	text[158] = 0;
	memcpy(text + 158, "\xc3\xa9", 3); /* 158 + 2 = 160 bytes */
	source[15] = 0;
	assert_int_equal(cp_engine_complaint_add(&f->e, "acme", "447700900123", text, source,
						 &cid, NULL),
			 CP_OK);
	MDB_txn *txn;
	uint8_t key[8];
	MDB_val k = {8, key}, v;
	struct cp_complaint_rec r;
	cp_key_u64(key, cid);
	assert_int_equal(mdb_txn_begin(f->store->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_get(txn, f->store->dbi[CP_DBI_COMPLAINTS], &k, &v), 0);
	memcpy(&r, v.mv_data, sizeof(r));
	mdb_txn_abort(txn);
	assert_int_equal(r.text_len, 160);
	assert_memory_equal(r.text, text, 160);
	assert_int_equal(cp_field_len(r.source, sizeof(r.source)), 15);
}

/* Ladder steps: n violations of a category within the window. */
struct ladder_case {
	const char *name;
	unsigned cat;
	unsigned n;
	uint64_t spacing;
	enum cp_standing expect;
};

static const struct ladder_case ladder_cases[] = {
    {"4 fraud", CP_CAT_FRAUD, 4, 60, CP_STANDING_ACTIVE},
    {"5 fraud in 24h", CP_CAT_FRAUD, 5, 60, CP_STANDING_SUSPENDED},
    /* 5 fraud but 6 h apart: the 5th is 24 h after the 1st, outside. */
    {"5 fraud over 24h", CP_CAT_FRAUD, 5, 6 * 3600, CP_STANDING_ACTIVE},
    {"5 fraud just inside 24h", CP_CAT_FRAUD, 5, 6 * 3600 - 1, CP_STANDING_SUSPENDED},
    {"49 spam", CP_CAT_SPAM, 49, 1, CP_STANDING_ACTIVE},
    {"50 spam", CP_CAT_SPAM, 50, 1, CP_STANDING_WARNED},
    {"499 spam", CP_CAT_SPAM, 499, 1, CP_STANDING_WARNED},
    {"500 spam", CP_CAT_SPAM, 500, 1, CP_STANDING_SUSPENDED},
    {"20 spoofing", CP_CAT_SPOOFING, 20, 1, CP_STANDING_WARNED},
    /* One false positive of each kind trips nothing. */
    {"1 spam", CP_CAT_SPAM, 1, 1, CP_STANDING_ACTIVE},
    {"1 fraud", CP_CAT_FRAUD, 1, 1, CP_STANDING_ACTIVE},
};

static void test_ladder(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ladder_cases) / sizeof(ladder_cases[0]); i++) {
		const struct ladder_case *k = &ladder_cases[i];
		struct fx f = {0};
		assert_int_equal(fx_open(&f, false), 0);
		for (unsigned j = 0; j < k->n; j++) {
			f.clk.now = T0 + j * k->spacing;
			assert_int_equal(cp_engine_violation(&f.e, "acme", k->cat, 7, NULL), CP_OK);
		}
		struct cp_customer_rec c = get(&f, "acme");
		if (c.standing != k->expect || c.violations != k->n)
			fail_msg("case '%s': standing %s violations %u, expected %s", k->name,
				 cp_standing_name(c.standing), c.violations,
				 cp_standing_name(k->expect));
		cp_store_close(f.store);
		test_rmdir(f.dir);
	}
}

/* A category with its own window: spam counted over 1 hour only. */
static void test_category_window(void **state)
{
	struct fx *f = *state;
	f->e.cfg.window_cat[CP_CAT_SPAM] = 3600;
	/* 49 spam in the first hour, 1 more just after it: 49 in the window */
	for (int j = 0; j < 49; j++) {
		f->clk.now = T0 + (uint64_t)j;
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_SPAM, 1, NULL), CP_OK);
	}
	f->clk.now = T0 + 3600;
	assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_SPAM, 1, NULL), CP_OK);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_ACTIVE);
	f->clk.now = T0 + 3601;
	assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_SPAM, 1, NULL), CP_OK);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_ACTIVE);
	/* fraud still uses the 24 h default */
	for (int j = 0; j < 5; j++) {
		f->clk.now = T0 + 3601 + (uint64_t)j * 3600;
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	}
	assert_int_equal(get(f, "acme").standing, CP_STANDING_SUSPENDED);
}

/* Ingest fraud VIOLATION facts stamped @p times (unix seconds, the
 * dataplane's clock) in one batch, as a dataplane's spool resends them. */
static void ingest_fraud(struct fx *f, uint64_t *seq, const uint64_t *times, unsigned n)
{
	static uint8_t buf[CP_EV_BATCH_MAX];
	struct cp_ev_batch b;
	struct cp_ingest_result res;
	assert_int_equal(cp_ev_batch_init(&b, buf, sizeof(buf)), CP_OK);
	for (unsigned i = 0; i < n; i++) {
		struct cp_event ev = {.type = CP_EV_VIOLATION, .seq = ++*seq};
		ev.u.msg.time_ms = times[i] * 1000;
		ev.u.msg.rule_id = 1001;
		ev.u.msg.verdict = CP_VERDICT_BLOCK;
		ev.u.msg.category = CP_CAT_FRAUD;
		ev.u.msg.parts = 1;
		ev.u.msg.customer = (struct cp_view){(const uint8_t *)"acme", 4};
		ev.u.msg.sender = (struct cp_view){(const uint8_t *)"BANK", 4};
		ev.u.msg.destination = (struct cp_view){(const uint8_t *)"447700900123", 12};
		assert_int_equal(cp_ev_batch_add(&b, &ev), CP_OK);
	}
	const uint8_t *bp = buf;
	uint32_t len = cp_ev_batch_finish(&b);
	assert_int_equal(cp_engine_ingest(&f->e, 1, &bp, &len, 1, &res), CP_OK);
	assert_int_equal(res.facts, n);
}

/* Facts the dataplane spooled while controld was away arrive together.
 * The ladder counts them at the time they happened (the dataplane's
 * stamp; one from the future counts as now), not all at the moment they
 * arrived. */
static void test_ladder_uses_fact_time(void **state)
{
	struct fx *f = *state;
	uint64_t seq = 0;
	/* 5 fraud, 7 hours apart: never 5 within 24 h */
	const uint64_t spread[5] = {T0, T0 + 7 * 3600, T0 + 14 * 3600, T0 + 21 * 3600,
				    T0 + 28 * 3600};
	f->clk.now = T0 + 30 * 3600;
	ingest_fraud(f, &seq, spread, 5);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.violations, 5);
	assert_int_equal(c.standing, CP_STANDING_ACTIVE);
	uint32_t n;
	assert_int_equal(cp_engine_violations_count(&f->e, "acme", CP_CAT_FRAUD, CP_DAY, 100, &n),
			 CP_OK);
	assert_int_equal(n, 4); /* T0 + 7 h .. T0 + 28 h are in the last 24 h */
	/* 5 fraud within an hour, two days before they arrive: that was 5
	 * within 24 h, and it suspends */
	const uint64_t burst[5] = {T0 + 40 * 3600, T0 + 40 * 3600 + 600, T0 + 40 * 3600 + 1200,
				   T0 + 40 * 3600 + 1800, T0 + 40 * 3600 + 2400};
	f->clk.now = T0 + 88 * 3600;
	ingest_fraud(f, &seq, burst, 5);
	c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_SUSPENDED);
	/* a stamp from the future counts as now */
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_ACTIVE, "ops", "test",
						false, NULL),
			 CP_OK);
	const uint64_t future[1] = {T0 + 400 * 3600};
	ingest_fraud(f, &seq, future, 1);
	assert_int_equal(cp_engine_violations_count(&f->e, "acme", CP_CAT_FRAUD, 1, 100, &n),
			 CP_OK);
	assert_int_equal(n, 1);
}

/* Termination is never automatic, however many violations. */
static void test_no_automatic_termination(void **state)
{
	struct fx *f = *state;
	for (int j = 0; j < 30; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_SUSPENDED);
}

static void test_history_records_facts(void **state)
{
	struct fx *f = *state;
	uint64_t first = 0, last = 0, vid;
	for (int j = 0; j < 5; j++) {
		f->clk.now = T0 + (uint64_t)j;
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 9, &vid), CP_OK);
		if (j == 0)
			first = vid;
		last = vid;
	}
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	struct cp_history_rec h;
	assert_int_equal(mdb_txn_begin(f->store->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, f->store->dbi[CP_DBI_HISTORY], &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_LAST), 0);
	memcpy(&h, v.mv_data, sizeof(h));
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	assert_int_equal(h.from, CP_STANDING_ACTIVE);
	assert_int_equal(h.to, CP_STANDING_SUSPENDED);
	assert_string_equal(h.actor, "policy");
	assert_int_equal(h.time, T0 + 4);
	assert_int_equal(h.n_facts, 5);
	assert_int_equal(h.first_fact, first);
	assert_int_equal(h.last_fact, last);
	assert_int_equal(h.category, CP_CAT_FRAUD);
	assert_non_null(strstr(h.reason, "fraud"));
}

static void test_generation_bumps_on_change(void **state)
{
	struct fx *f = *state;
	struct cp_reader *r;
	uint64_t g0, g1, g2;
	assert_int_equal(cp_reader_open(f->dir, &r), CP_OK);
	assert_int_equal(cp_reader_generation(r, &g0), CP_OK);
	/* a violation below every threshold changes nothing the dataplane reads */
	assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	assert_int_equal(cp_reader_generation(r, &g1), CP_OK);
	assert_int_equal(g1, g0);
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_SUSPENDED, "ops", "test",
						false, NULL),
			 CP_OK);
	assert_int_equal(cp_reader_generation(r, &g2), CP_OK);
	assert_true(g2 > g1);
	struct cp_customer_rec c;
	assert_int_equal(cp_reader_customer_get(r, "acme", 4, &c), CP_OK);
	assert_int_equal(c.standing, CP_STANDING_SUSPENDED);
	cp_reader_close(r);
}

static void test_review_mode(void **state)
{
	struct fx *f = *state;
	for (int j = 0; j < 5; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_ACTIVE);
	assert_int_equal(c.pending_standing, CP_STANDING_SUSPENDED);
	assert_true(c.flags & CP_CUST_F_REVIEW);
	/* the operator confirms */
	bool changed;
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_SUSPENDED, "alice",
						"confirmed fraud", false, &changed),
			 CP_OK);
	assert_true(changed);
	c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_SUSPENDED);
	assert_false(c.flags & CP_CUST_F_REVIEW);
}

static void test_review_reject(void **state)
{
	struct fx *f = *state;
	for (int j = 0; j < 5; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	bool changed;
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_ACTIVE, "alice",
						"false positive", false, &changed),
			 CP_OK);
	assert_true(changed);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_ACTIVE);
	assert_int_equal(c.pending_standing, CP_STANDING_ACTIVE);
	assert_false(c.flags & CP_CUST_F_REVIEW);
}

/* Review mode, a warned customer: fraud that reaches the suspend threshold
 * is only proposed, so the customer stays warned, and the fraud that goes
 * on while the proposal waits is violations like any other: it renews the
 * warning ("warnings expire after 30 days without violations"). */
static void test_review_pending_violations_renew_warning(void **state)
{
	struct fx *f = *state;
	assert_int_equal(
	    cp_engine_set_standing(&f->e, "acme", CP_STANDING_WARNED, "ops", "test", false, NULL),
	    CP_OK);
	f->clk.now = T0 + CP_DAY;
	for (int j = 0; j < 5; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_WARNED);
	assert_int_equal(c.pending_standing, CP_STANDING_SUSPENDED);
	/* 23 hours later, a 6th fraud within the 24 h window while the
	 * proposal waits */
	f->clk.now = T0 + CP_DAY + 23 * 3600;
	assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	assert_int_equal(get(f, "acme").warn_expires, T0 + 31 * CP_DAY + 23 * 3600);
	/* 30 days after the 5th fraud, 29 days and 1 hour after the 6th:
	 * still warned, the proposal still waiting */
	f->clk.now = T0 + 31 * CP_DAY;
	assert_int_equal(cp_engine_tick(&f->e), 0);
	c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_WARNED);
	assert_true(c.flags & CP_CUST_F_REVIEW);
	assert_int_equal(c.pending_standing, CP_STANDING_SUSPENDED);
}

/* Review mode: a suspension proposal waits for an operator. The warning it
 * was proposed under may expire meanwhile; the proposal stays until
 * `customers suspend` confirms or `customers resume` rejects it. */
static void test_review_proposal_survives_warning_expiry(void **state)
{
	struct fx *f = *state;
	assert_int_equal(
	    cp_engine_set_standing(&f->e, "acme", CP_STANDING_WARNED, "ops", "test", false, NULL),
	    CP_OK);
	f->clk.now = T0 + CP_DAY;
	for (int j = 0; j < 5; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	f->clk.now = T0 + 31 * CP_DAY;
	assert_int_equal(cp_engine_tick(&f->e), 1);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_ACTIVE);
	assert_true(c.flags & CP_CUST_F_REVIEW);
	assert_int_equal(c.pending_standing, CP_STANDING_SUSPENDED);
	/* the operator still has it to confirm */
	bool changed;
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_SUSPENDED, "alice",
						"confirmed fraud", false, &changed),
			 CP_OK);
	assert_true(changed);
	c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_SUSPENDED);
	assert_false(c.flags & CP_CUST_F_REVIEW);
}

/* Review mode: a policy warning (another category) reached while a
 * suspension proposal waits does not settle the proposal. */
static void test_review_proposal_survives_policy_warning(void **state)
{
	struct fx *f = *state;
	for (int j = 0; j < 5; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	for (int j = 0; j < 50; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_SPAM, 2, NULL), CP_OK);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_WARNED);
	assert_true(c.flags & CP_CUST_F_REVIEW);
	assert_int_equal(c.pending_standing, CP_STANDING_SUSPENDED);
}

static void test_exceptions(void **state)
{
	struct fx *f = *state;
	struct cp_customer_patch p = {.mask = CP_PATCH_EXEMPT_RULES};
	p.v.exempt_rules[0] = 42;
	p.v.n_exceptions = 1;
	assert_int_equal(cp_engine_customer_set(&f->e, "acme", &p), CP_OK);
	for (int j = 0; j < 10; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 42, NULL), CP_OK);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.standing, CP_STANDING_ACTIVE);
	assert_int_equal(c.violations, 10); /* recorded, not counted */
	for (int j = 0; j < 5; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 43, NULL), CP_OK);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_SUSPENDED);
}

static void test_exempt_category(void **state)
{
	struct fx *f = *state;
	struct cp_customer_patch p = {.mask = CP_PATCH_EXEMPT_CATS};
	p.v.exempt_categories = 1u << CP_CAT_SPAM;
	assert_int_equal(cp_engine_customer_set(&f->e, "acme", &p), CP_OK);
	for (int j = 0; j < 60; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_SPAM, 3, NULL), CP_OK);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_ACTIVE);
}

static void test_warning_expiry(void **state)
{
	struct fx *f = *state;
	assert_int_equal(
	    cp_engine_set_standing(&f->e, "acme", CP_STANDING_WARNED, "ops", "test", false, NULL),
	    CP_OK);
	assert_int_equal(get(f, "acme").warn_expires, T0 + 30 * CP_DAY);
	f->clk.now = T0 + 30 * CP_DAY - 1;
	assert_int_equal(cp_engine_tick(&f->e), 0);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_WARNED);
	f->clk.now = T0 + 30 * CP_DAY;
	assert_int_equal(cp_engine_tick(&f->e), 1);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_ACTIVE);
	assert_int_equal(cp_engine_tick(&f->e), 0);
}

static void test_warning_renewed_by_violation(void **state)
{
	struct fx *f = *state;
	assert_int_equal(
	    cp_engine_set_standing(&f->e, "acme", CP_STANDING_WARNED, "ops", "test", false, NULL),
	    CP_OK);
	f->clk.now = T0 + 20 * CP_DAY;
	assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_SPAM, 1, NULL), CP_OK);
	f->clk.now = T0 + 30 * CP_DAY;
	assert_int_equal(cp_engine_tick(&f->e), 0);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_WARNED);
	f->clk.now = T0 + 50 * CP_DAY;
	assert_int_equal(cp_engine_tick(&f->e), 1);
}

static void test_manual_actions(void **state)
{
	struct fx *f = *state;
	bool changed;
	/* invalid first */
	assert_int_equal(
	    cp_engine_set_standing(&f->e, "acme", CP_STANDING_SUSPENDED, "ops", "", false, NULL),
	    CP_ERR_INVAL);
	assert_int_equal(
	    cp_engine_set_standing(&f->e, "ghost", CP_STANDING_SUSPENDED, "ops", "r", false, NULL),
	    CP_ERR_NOTFOUND);
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_ACTIVE, "ops", "noop",
						false, &changed),
			 CP_OK);
	assert_false(changed);
	static const enum cp_standing steps[] = {CP_STANDING_WARNED, CP_STANDING_SUSPENDED,
						 CP_STANDING_ACTIVE, CP_STANDING_TERMINATED};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(cp_engine_set_standing(&f->e, "acme", steps[i], "bob", "manual",
							false, &changed),
				 CP_OK);
		assert_true(changed);
		assert_int_equal(get(f, "acme").standing, steps[i]);
	}
	/* terminate is final unless forced */
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_ACTIVE, "bob", "oops",
						false, &changed),
			 CP_ERR_REFUSED);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_TERMINATED);
	/* violations of a terminated customer change nothing */
	for (int j = 0; j < 6; j++)
		assert_int_equal(cp_engine_violation(&f->e, "acme", CP_CAT_FRAUD, 1, NULL), CP_OK);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_TERMINATED);
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_ACTIVE, "bob",
						"court order", true, &changed),
			 CP_OK);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_ACTIVE);
}

/* The history keeps 127 bytes of reason and 31 of actor (NUL-terminated in
 * notices too). Longer input is refused, not cut: a cut may end inside a
 * UTF-8 sequence, and `customers show` then loses the whole reason. */
static void test_standing_reason_bounds(void **state)
{
	struct fx *f = *state;
	char reason[CP_REASON_MAX + 2], actor[CP_ACTOR_MAX + 1];
	bool changed = false;

	/* 126 ASCII bytes and a 2-byte 'é': 128 bytes */
	memset(reason, 'r', CP_REASON_MAX - 2);
	memcpy(reason + CP_REASON_MAX - 2, "\xc3\xa9", 3);
	memset(actor, 'a', CP_ACTOR_MAX);
	actor[CP_ACTOR_MAX] = 0;
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_SUSPENDED, "ops",
						reason, false, &changed),
			 CP_ERR_INVAL);
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_SUSPENDED, actor,
						"fraud", false, &changed),
			 CP_ERR_INVAL);
	assert_int_equal(get(f, "acme").standing, CP_STANDING_ACTIVE);
	/* 125 + 2 = 127 bytes of reason and 31 of actor are kept whole */
	memcpy(reason + CP_REASON_MAX - 3, "\xc3\xa9", 3);
	actor[CP_ACTOR_MAX - 1] = 0;
	assert_int_equal(cp_engine_set_standing(&f->e, "acme", CP_STANDING_SUSPENDED, actor,
						reason, false, &changed),
			 CP_OK);
	assert_true(changed);
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	struct cp_history_rec h;
	assert_int_equal(mdb_txn_begin(f->store->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, f->store->dbi[CP_DBI_HISTORY], &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_LAST), 0);
	memcpy(&h, v.mv_data, sizeof(h));
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	assert_string_equal(h.reason, reason);
	assert_string_equal(h.actor, actor);
}

static void test_customer_add_set(void **state)
{
	struct fx *f = *state;
	assert_int_equal(cp_engine_customer_add(&f->e, "acme", NULL), CP_ERR_EXISTS);
	assert_int_equal(cp_engine_customer_add(&f->e, "", NULL), CP_ERR_INVAL);
	assert_int_equal(cp_engine_customer_add(&f->e, "0123456789abcdef", NULL), CP_ERR_INVAL);
	assert_int_equal(cp_engine_customer_add(&f->e, "0123456789abcde", NULL), CP_OK);
	struct cp_customer_patch p = {.mask = CP_PATCH_RATE | CP_PATCH_SENDERS | CP_PATCH_BULK};
	p.v.rate_per_sec = 100;
	memcpy(p.v.senders[0], "ACMEBANK", 8);
	p.v.n_senders = 1;
	p.v.flags = CP_CUST_F_BULK_OPTIN;
	assert_int_equal(cp_engine_customer_set(&f->e, "acme", &p), CP_OK);
	assert_int_equal(cp_engine_customer_set(&f->e, "ghost", &p), CP_ERR_NOTFOUND);
	struct cp_customer_rec c = get(f, "acme");
	assert_int_equal(c.rate_per_sec, 100);
	assert_int_equal(c.n_senders, 1);
	assert_string_equal(c.senders[0], "ACMEBANK");
	assert_true(c.flags & CP_CUST_F_BULK_OPTIN);
	assert_int_equal(c.rate_burst, 0); /* untouched */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_complaint_thresholds),
	    cmocka_unit_test(test_complaint_ladder),
	    cmocka_unit_test_setup_teardown(test_complaint_unknown_customer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_complaint_field_bounds, setup, teardown),
	    cmocka_unit_test(test_ladder),
	    cmocka_unit_test_setup_teardown(test_category_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ladder_uses_fact_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_automatic_termination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_records_facts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generation_bumps_on_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_review_mode, setup_review, teardown),
	    cmocka_unit_test_setup_teardown(test_review_reject, setup_review, teardown),
	    cmocka_unit_test_setup_teardown(test_review_pending_violations_renew_warning,
					    setup_review, teardown),
	    cmocka_unit_test_setup_teardown(test_review_proposal_survives_warning_expiry,
					    setup_review, teardown),
	    cmocka_unit_test_setup_teardown(test_review_proposal_survives_policy_warning,
					    setup_review, teardown),
	    cmocka_unit_test_setup_teardown(test_exceptions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exempt_category, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warning_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warning_renewed_by_violation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_manual_actions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_standing_reason_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_customer_add_set, setup, teardown),
	};
	return cmocka_run_group_tests_name("cp_policy", tests, NULL, NULL);
}
