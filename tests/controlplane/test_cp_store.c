/*
 * test_cp_store.c — the shared contract: event wire format (encode, decode,
 * hostile input), the read API the dataplane uses, schema migration and
 * refusal, map growth under ingestion, exactly-once fact ingestion,
 * complaint-to-evidence links and retention purge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cp_test_util.h"

/* ------------------------------------------------------------------------- */
/* Event wire format                                                         */
/* ------------------------------------------------------------------------- */

#define V(s) ((struct cp_view){(const uint8_t *)(s), (uint16_t)strlen(s)})

static struct cp_event msg_event(uint16_t type, uint64_t seq, const char *cust, const char *dst,
				 const char *text)
{
	struct cp_event ev = {.type = type, .seq = seq};
	ev.u.msg.time_ms = 1700000000123ull;
	ev.u.msg.content_hash = 0x1122334455667788ull;
	ev.u.msg.rule_id = type == CP_EV_VIOLATION ? 1001 : 0;
	ev.u.msg.command_status = type == CP_EV_VIOLATION ? 0x45 : 0;
	ev.u.msg.verdict = type == CP_EV_VIOLATION ? CP_VERDICT_BLOCK : CP_VERDICT_PASS;
	ev.u.msg.category = type == CP_EV_VIOLATION ? CP_CAT_FRAUD : CP_CAT_NONE;
	ev.u.msg.data_coding = 8;
	ev.u.msg.parts = 2;
	ev.u.msg.customer = V(cust);
	ev.u.msg.sender = V("ACMEBANK");
	ev.u.msg.destination = V(dst);
	ev.u.msg.text = V(text);
	return ev;
}

static void test_ev_bounds(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct cp_ev_batch b;
	assert_int_equal(cp_ev_batch_init(&b, buf, 10), CP_ERR_INVAL);
	assert_int_equal(cp_ev_batch_init(&b, buf, CP_EV_BATCH_MAX + 1), CP_ERR_INVAL);
	assert_int_equal(cp_ev_batch_init(&b, buf, sizeof(buf)), CP_OK);
	/* a 16-octet system_id is over the SMPP bound: refused, not truncated */
	struct cp_event ev = msg_event(CP_EV_OBSERVATION, 0, "0123456789abcdef", "4477", "");
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_ERR_INVAL);
	ev = msg_event(CP_EV_OBSERVATION, 0, "acme", "447700900123456789012", "");
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_ERR_INVAL);
	ev.type = 999;
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_ERR_INVAL);
	/* fills up: TOOBIG, and the batch stays valid */
	ev = msg_event(CP_EV_OBSERVATION, 0, "acme", "4477",
		       "0123456789012345678901234567890123456789");
	int added = 0;
	while (cp_ev_batch_add(&b, &ev) == CP_OK)
		added++;
	assert_true(added >= 1);
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_ERR_TOOBIG);
	uint32_t len = cp_ev_batch_finish(&b), total;
	assert_int_equal(cp_ev_batch_check(buf, len, &total), CP_OK);
	assert_int_equal(total, len);
}

static void test_ev_roundtrip(void **state)
{
	(void)state;
	static uint8_t buf[CP_EV_BATCH_MAX];
	struct cp_ev_batch b;
	struct cp_event in[6], out;
	assert_int_equal(cp_ev_batch_init(&b, buf, sizeof(buf)), CP_OK);
	in[0] = (struct cp_event){.type = CP_EV_HELLO};
	in[0].u.hello = (struct cp_ev_hello){0xdeadbeefcafef00dull, 1234, 3};
	in[1] = msg_event(CP_EV_OBSERVATION, 0, "acme", "447700900123", "");
	in[2] = msg_event(CP_EV_VIOLATION, 7, "acme", "447700900123", "Pay now: http://x.example");
	in[3] = (struct cp_event){.type = CP_EV_OPTOUT, .seq = 8};
	in[3].u.optout =
	    (struct cp_ev_optout){1700000000000ull, V("acme"), V("447700900999"), V("")};
	in[4] = (struct cp_event){.type = CP_EV_STATS};
	in[4].u.stats = (struct cp_ev_stats){1, 2, 3, 4, 5, 6, 7, 8};
	in[5] = (struct cp_event){.type = CP_EV_GENERATION, .seq = 42};
	for (int i = 0; i < 6; i++)
		assert_int_equal(cp_ev_batch_add(&b, &in[i]), CP_OK);
	uint32_t len = cp_ev_batch_finish(&b), total;
	assert_int_equal(cp_ev_batch_check(buf, len, &total), CP_OK);
	struct cp_ev_iter it;
	cp_ev_iter_init(&it, buf, total);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_HELLO);
	assert_int_equal(out.u.hello.instance, 0xdeadbeefcafef00dull);
	assert_int_equal(out.u.hello.workers, 3);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_OBSERVATION);
	assert_int_equal(out.u.msg.text.len, 0);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_VIOLATION);
	assert_int_equal(out.seq, 7);
	assert_int_equal(out.u.msg.time_ms, 1700000000123ull);
	assert_int_equal(out.u.msg.content_hash, 0x1122334455667788ull);
	assert_int_equal(out.u.msg.rule_id, 1001);
	assert_int_equal(out.u.msg.category, CP_CAT_FRAUD);
	assert_int_equal(out.u.msg.parts, 2);
	assert_memory_equal(out.u.msg.customer.p, "acme", 4);
	assert_int_equal(out.u.msg.destination.len, 12);
	assert_memory_equal(out.u.msg.text.p, "Pay now: http://x.example", 25);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_OPTOUT);
	assert_int_equal(out.u.optout.sender.len, 0);
	assert_memory_equal(out.u.optout.subscriber.p, "447700900999", 12);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.u.stats.obs_dropped, 6);
	assert_int_equal(out.u.stats.errors, 8);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_GENERATION);
	assert_int_equal(out.seq, 42);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_AGAIN);
	assert_true(cp_ev_is_fact(CP_EV_OPTIN) && !cp_ev_is_fact(CP_EV_OBSERVATION));
}

/* STATS_EXT: entries round-trip; bounds; a layout version this build does
 * not know decodes to no entries; a length that does not match the count
 * is malformed; an old STATS record still decodes beside it. */
static void test_ev_stats_ext(void **state)
{
	(void)state;
	uint8_t buf[CP_EV_BATCH_MAX];
	struct cp_ev_batch b;
	struct cp_stat st[3] = {{CP_STAT_WORKER_FLOWS, 3, 77},
				{CP_STAT_PORT_RX_BYTES, 1, 0x1122334455667788ull},
				{999, 0, 5}};
	struct cp_event ev = {.type = CP_EV_STATS_EXT}, out;
	struct cp_ev_iter it;
	struct cp_stat got;
	uint32_t len, total;

	assert_int_equal(cp_ev_batch_init(&b, buf, sizeof(buf)), CP_OK);
	ev.u.ext.count = 3; /* entries missing */
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_ERR_INVAL);
	ev.u.ext.entries = st;
	ev.u.ext.count = CP_EV_STATS_EXT_MAX + 1;
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_ERR_INVAL);
	ev.u.ext.count = 3;
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_OK);
	struct cp_event v1 = {.type = CP_EV_STATS};
	v1.u.stats.rx_pdus = 9;
	assert_int_equal(cp_ev_batch_add(&b, &v1), CP_OK);
	len = cp_ev_batch_finish(&b);
	assert_int_equal(len, CP_EV_HDR_LEN + CP_EV_REC_HDR_LEN + 8 + 3 * CP_EV_STAT_LEN +
				  CP_EV_REC_HDR_LEN + 64);
	assert_int_equal(cp_ev_batch_check(buf, len, &total), CP_OK);
	cp_ev_iter_init(&it, buf, total);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_STATS_EXT);
	assert_int_equal(out.u.ext.version, CP_EV_STATS_EXT_VERSION);
	assert_int_equal(out.u.ext.count, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(cp_ev_stat_get(&out, i, &got), CP_OK);
		assert_int_equal(got.id, st[i].id);
		assert_int_equal(got.index, st[i].index);
		assert_true(got.value == st[i].value);
	}
	assert_int_equal(cp_ev_stat_get(&out, 3, &got), CP_ERR_INVAL);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_STATS);
	assert_int_equal(out.u.stats.rx_pdus, 9);
	assert_int_equal(cp_ev_stat_get(&out, 0, &got), CP_ERR_INVAL); /* not STATS_EXT */

	/* layout version 2 (some future build): no entries, not an error */
	uint8_t copy[CP_EV_BATCH_MAX];
	memcpy(copy, buf, len);
	copy[CP_EV_HDR_LEN + CP_EV_REC_HDR_LEN] = 2;
	uint32_t crc = cp_crc32c(copy + CP_EV_HDR_LEN, len - CP_EV_HDR_LEN);
	for (int i = 0; i < 4; i++)
		copy[16 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_OK);
	cp_ev_iter_init(&it, copy, total);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	assert_int_equal(out.type, CP_EV_STATS_EXT);
	assert_int_equal(out.u.ext.count, 0);
	assert_int_equal(cp_ev_stat_get(&out, 0, &got), CP_ERR_INVAL);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK); /* the STATS after it */

	/* count says 4 entries but the record holds 3: malformed */
	memcpy(copy, buf, len);
	copy[CP_EV_HDR_LEN + CP_EV_REC_HDR_LEN + 2] = 4;
	crc = cp_crc32c(copy + CP_EV_HDR_LEN, len - CP_EV_HDR_LEN);
	for (int i = 0; i < 4; i++)
		copy[16 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_OK);
	cp_ev_iter_init(&it, copy, total);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_ERR_FORMAT);
}

static void test_ev_hostile(void **state)
{
	(void)state;
	uint8_t buf[512], copy[512];
	struct cp_ev_batch b;
	struct cp_event ev = msg_event(CP_EV_VIOLATION, 1, "acme", "4477", "text");
	uint32_t total;
	cp_ev_batch_init(&b, buf, sizeof(buf));
	cp_ev_batch_add(&b, &ev);
	uint32_t len = cp_ev_batch_finish(&b);

	/* every truncation asks for more bytes, never reads past them */
	for (uint32_t n = 0; n < len; n++) {
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, buf, n);
		assert_int_equal(cp_ev_batch_check(p, n, &total), CP_AGAIN);
		free(p);
	}
	memcpy(copy, buf, len);
	copy[0] ^= 1;
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_ERR_FORMAT);
	memcpy(copy, buf, len);
	copy[4] = 9; /* version */
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_ERR_VERSION);
	memcpy(copy, buf, len);
	copy[len - 1] ^= 0x20; /* one bit of text */
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_ERR_CHECKSUM);
	memcpy(copy, buf, len);
	copy[8] = 3; /* length below the header */
	copy[9] = copy[10] = copy[11] = 0;
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_ERR_FORMAT);

	/* a record whose inner string length lies: FORMAT from the iterator
	 * even with a correct checksum (the sender is not trusted either) */
	memcpy(copy, buf, len);
	copy[CP_EV_HDR_LEN + CP_EV_REC_HDR_LEN + 28] = 200; /* customer length */
	uint32_t crc = cp_crc32c(copy + CP_EV_HDR_LEN, len - CP_EV_HDR_LEN);
	for (int i = 0; i < 4; i++)
		copy[16 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_OK);
	struct cp_ev_iter it;
	cp_ev_iter_init(&it, copy, total);
	assert_int_equal(cp_ev_iter_next(&it, &ev), CP_ERR_FORMAT);

	/* unknown record types are skipped */
	memcpy(copy, buf, len);
	copy[CP_EV_HDR_LEN] = 0x77;
	crc = cp_crc32c(copy + CP_EV_HDR_LEN, len - CP_EV_HDR_LEN);
	for (int i = 0; i < 4; i++)
		copy[16 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(cp_ev_batch_check(copy, len, &total), CP_OK);
	cp_ev_iter_init(&it, copy, total);
	assert_int_equal(cp_ev_iter_next(&it, &ev), CP_OK);
	assert_int_equal(ev.type, 0x77);
	assert_int_equal(cp_ev_iter_next(&it, &ev), CP_AGAIN);
	/* known CRC-32C check value */
	assert_int_equal(cp_crc32c("123456789", 9), 0xE3069283u);
}

/* ------------------------------------------------------------------------- */
/* Store                                                                     */
/* ------------------------------------------------------------------------- */

struct sfx {
	char dir[128];
	struct cp_store *store;
	struct cp_engine e;
	struct fake_clock clk;
};

static int s_setup(void **state)
{
	struct sfx *f = calloc(1, sizeof(*f));
	struct cp_policy_cfg cfg;
	char err[256];
	test_tmpdir(f->dir, sizeof(f->dir));
	if (cp_store_open(f->dir, 1 << 20, &f->store, err, sizeof(err)))
		return -1;
	test_policy_defaults(&cfg);
	f->clk.now = 1700000000;
	cp_engine_init(&f->e, f->store, &cfg, fake_now, &f->clk);
	*state = f;
	return 0;
}

static int s_teardown(void **state)
{
	struct sfx *f = *state;
	cp_engine_fini(&f->e);
	cp_store_close(f->store);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static int count_cb(const struct cp_customer_rec *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static int optout_cb(const struct cp_optout_key *k, const struct cp_optout_rec *r, void *arg)
{
	(void)r;
	if (strcmp(k->subscriber, "447700900999") == 0)
		(*(int *)arg)++;
	return 0;
}

static void test_reader_api(void **state)
{
	struct sfx *f = *state;
	struct cp_reader *r;
	struct cp_customer_rec c;
	uint64_t g0, g1;
	int n = 0;
	char empty[128];

	test_tmpdir(empty, sizeof(empty));
	assert_int_equal(cp_reader_open(empty, &r), CP_ERR_NOSTORE);
	test_rmdir(empty);
	assert_int_equal(cp_reader_open(f->dir, &r), CP_OK);
	assert_int_equal(cp_reader_generation(r, &g0), CP_OK);
	assert_int_equal(cp_reader_customer_get(r, "acme", 4, &c), CP_ERR_NOTFOUND);
	assert_int_equal(cp_reader_customer_get(r, "", 0, &c), CP_ERR_INVAL);
	assert_int_equal(cp_engine_customer_add(&f->e, "acme", NULL), CP_OK);
	assert_int_equal(cp_engine_customer_add(&f->e, "beta", NULL), CP_OK);
	assert_int_equal(cp_reader_customers_each(r, count_cb, &n, &g1), CP_OK);
	assert_int_equal(n, 2);
	assert_true(g1 >= g0 + 2);
	assert_int_equal(cp_reader_customer_get(r, "beta", 4, &c), CP_OK);
	assert_string_equal(c.system_id, "beta");
	assert_int_equal(c.schema, CP_SCHEMA_VERSION);
	n = 0;
	assert_int_equal(cp_engine_optout(&f->e, "acme", "447700900999", NULL, true), CP_OK);
	assert_int_equal(cp_reader_optouts_each(r, optout_cb, &n, NULL), CP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cp_engine_optout(&f->e, "acme", "447700900999", NULL, false), CP_OK);
	assert_int_equal(cp_engine_optout(&f->e, "acme", "447700900999", NULL, false),
			 CP_ERR_NOTFOUND);
	n = 0;
	assert_int_equal(cp_reader_optouts_each(r, optout_cb, &n, NULL), CP_OK);
	assert_int_equal(n, 0);
	void *blob;
	size_t bl;
	assert_int_equal(cp_reader_ruleset_load(r, NULL, &blob, &bl), CP_ERR_NOTFOUND);
	cp_reader_close(r);
}

/* A store written before schema versioning: no meta "schema", customer
 * records shorter than today's. controld migrates; the reader sees the
 * upgraded records. */
static void test_migration(void **state)
{
	(void)state;
	char dir[128], err[256];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	struct cp_customer_rec old;
	const size_t old_size = offsetof(struct cp_customer_rec, senders);

	test_tmpdir(dir, sizeof(dir));
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, CP_DB_MAX);
	assert_int_equal(mdb_env_open(env, dir, 0, 0640), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (int i = 0; i < CP_DBI_COUNT; i++)
		assert_int_equal(mdb_dbi_open(txn, cp_db_names[i], MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_dbi_open(txn, CP_DB_CUSTOMERS, 0, &dbi), 0);
	memset(&old, 0, sizeof(old));
	old.schema = 0;
	old.size = (uint16_t)old_size;
	old.standing = CP_STANDING_WARNED;
	old.rate_per_sec = 77;
	memcpy(old.system_id, "legacy", 6);
	MDB_val k = {6, "legacy"}, v = {old_size, &old};
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	struct cp_store *s;
	assert_int_equal(cp_store_open(dir, 1 << 20, &s, err, sizeof(err)), CP_OK);
	assert_int_equal(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), 0);
	uint64_t schema;
	assert_int_equal(cp_meta_get_u64(s, txn, CP_META_SCHEMA, &schema), CP_OK);
	assert_int_equal(schema, CP_SCHEMA_VERSION);
	assert_int_equal(mdb_get(txn, s->dbi[CP_DBI_CUSTOMERS], &k, &v), 0);
	assert_int_equal(v.mv_size, sizeof(struct cp_customer_rec)); /* rewritten in place */
	mdb_txn_abort(txn);
	cp_store_close(s);

	struct cp_reader *r;
	struct cp_customer_rec c;
	assert_int_equal(cp_reader_open(dir, &r), CP_OK);
	assert_int_equal(cp_reader_customer_get(r, "legacy", 6, &c), CP_OK);
	assert_int_equal(c.standing, CP_STANDING_WARNED);
	assert_int_equal(c.pending_standing, CP_STANDING_WARNED);
	assert_int_equal(c.rate_per_sec, 77);
	assert_int_equal(c.n_senders, 0);
	cp_reader_close(r);
	test_rmdir(dir);
}

/* A store from a newer smsfw is refused by writer and reader alike. */
static void test_newer_schema_refused(void **state)
{
	struct sfx *f = *state;
	char err[256];
	MDB_txn *txn;
	struct cp_store *s2;
	struct cp_reader *r;

	assert_int_equal(mdb_txn_begin(f->store->env, NULL, 0, &txn), 0);
	assert_int_equal(cp_meta_put_u64(f->store, txn, CP_META_SCHEMA, CP_SCHEMA_VERSION + 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	cp_store_close(f->store);
	f->store = NULL;
	assert_int_equal(cp_store_open(f->dir, 1 << 20, &s2, err, sizeof(err)), CP_ERR_SCHEMA);
	assert_non_null(strstr(err, "schema 2"));
	assert_non_null(strstr(err, "refusing"));
	assert_int_equal(cp_reader_open(f->dir, &r), CP_ERR_SCHEMA);
}

/* Records of a newer schema inside an accepted store are refused too. */
static void test_newer_record_refused(void **state)
{
	struct sfx *f = *state;
	struct cp_reader *r;
	MDB_txn *txn;
	struct cp_customer_rec c;
	int n = 0;

	assert_int_equal(cp_engine_customer_add(&f->e, "future", NULL), CP_OK);
	assert_int_equal(mdb_txn_begin(f->store->env, NULL, 0, &txn), 0);
	assert_int_equal(cp_customer_get(f->store, txn, "future", &c), CP_OK);
	c.schema = CP_SCHEMA_VERSION + 1;
	MDB_val k = {6, "future"}, v = {sizeof(c), &c};
	assert_int_equal(mdb_put(txn, f->store->dbi[CP_DBI_CUSTOMERS], &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(cp_reader_open(f->dir, &r), CP_OK);
	assert_int_equal(cp_reader_customers_each(r, count_cb, &n, NULL), CP_ERR_SCHEMA);
	assert_int_equal(cp_reader_customer_get(r, "future", 6, &c), CP_ERR_SCHEMA);
	cp_reader_close(r);
}

/* Build @p n batches of @p per events (1 violation in 10) into bufs. */
static size_t make_batches(uint8_t **bufs, uint32_t *lens, size_t n, unsigned per, uint64_t *seq,
			   uint64_t time_ms)
{
	char dst[24], text[120];
	for (size_t i = 0; i < n; i++) {
		struct cp_ev_batch b;
		bufs[i] = malloc(CP_EV_BATCH_MAX);
		cp_ev_batch_init(&b, bufs[i], CP_EV_BATCH_MAX);
		for (unsigned j = 0; j < per; j++) {
			bool viol = j % 10 == 0;
			snprintf(dst, sizeof(dst), "4477009%05u", (unsigned)(i * per + j) % 1000);
			snprintf(text, sizeof(text), "message %zu/%u with some words to take space",
				 i, j);
			struct cp_event ev = msg_event(viol ? CP_EV_VIOLATION : CP_EV_OBSERVATION,
						       viol ? ++*seq : 0, "bulk", dst, text);
			ev.u.msg.time_ms = time_ms;
			ev.u.msg.category = viol ? CP_CAT_SPAM : CP_CAT_NONE;
			if (cp_ev_batch_add(&b, &ev))
				fail_msg("batch overflow");
		}
		lens[i] = cp_ev_batch_finish(&b);
	}
	return n;
}

static uint64_t db_entries(struct cp_store *s, enum cp_db db)
{
	MDB_txn *txn;
	MDB_stat st;
	mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	mdb_stat(txn, s->dbi[db], &st);
	mdb_txn_abort(txn);
	return st.ms_entries;
}

struct notices {
	unsigned by_kind[8];
	unsigned standing_to[4];
	uint64_t last_violation_id;
	bool ordered;
};

static void count_notice(void *arg, const struct cp_notice *n)
{
	struct notices *c = arg;
	c->by_kind[n->kind & 7]++;
	if (n->kind == CP_NOTICE_STANDING)
		c->standing_to[n->to & 3]++;
	if (n->kind == CP_NOTICE_VIOLATION) {
		if (n->id != c->last_violation_id + 1)
			c->ordered = false;
		c->last_violation_id = n->id;
	}
}

/* 1 MiB map, ~40k events with text: MDB_MAP_FULL must grow the map, not
 * fail; a reader opened before the growth keeps working. A transaction run
 * again after the growth must not deliver its notices twice. */
static void test_map_growth_and_exactly_once(void **state)
{
	struct sfx *f = *state;
	struct notices nc = {.ordered = true};
	enum { NB = 100, PER = 400 };
	uint8_t *bufs[NB];
	uint32_t lens[NB];
	uint64_t seq = 0, g;
	struct cp_ingest_result res;
	struct cp_reader *r;

	assert_int_equal(cp_reader_open(f->dir, &r), CP_OK);
	cp_engine_set_notify(&f->e, count_notice, &nc);
	make_batches(bufs, lens, NB, PER, &seq, f->clk.now * 1000);
	size_t maps0 = f->store->map_size;
	for (size_t i = 0; i < NB; i += 10) {
		assert_int_equal(cp_engine_ingest(&f->e, 7, (const uint8_t *const *)bufs + i,
						  lens + i, 10, &res),
				 CP_OK);
		assert_int_equal(res.observations + res.facts, 10 * PER);
	}
	assert_true(f->store->map_grows > 0);
	assert_true(f->store->map_size > maps0);
	assert_int_equal(db_entries(f->store, CP_DBI_MESSAGES), NB * PER);
	assert_int_equal(db_entries(f->store, CP_DBI_VIOLATIONS), NB * PER / 10);
	assert_int_equal(db_entries(f->store, CP_DBI_EVIDENCE), NB * PER / 10); /* blocked only */
	assert_int_equal(cp_reader_generation(r, &g), CP_OK);
	/* the auto-created customer went down the spam ladder to suspended */
	struct cp_customer_rec c;
	assert_int_equal(cp_reader_customer_get(r, "bulk", 4, &c), CP_OK);
	assert_int_equal(c.standing, CP_STANDING_SUSPENDED);
	assert_int_equal(c.violations, NB * PER / 10);
	/* one notice per committed violation, in id order, none twice although
	 * transactions ran again after map growth; warned then suspended */
	assert_int_equal(nc.by_kind[CP_NOTICE_VIOLATION], NB * PER / 10);
	assert_true(nc.ordered);
	assert_int_equal(nc.by_kind[CP_NOTICE_STANDING], 2);
	assert_int_equal(nc.standing_to[CP_STANDING_WARNED], 1);
	assert_int_equal(nc.standing_to[CP_STANDING_SUSPENDED], 1);
	/* message counters: by verdict and category, and by rule */
	assert_int_equal(f->e.msgs[CP_VERDICT_PASS][CP_CAT_NONE], NB * PER * 9 / 10);
	assert_int_equal(f->e.msgs[CP_VERDICT_BLOCK][CP_CAT_SPAM], NB * PER / 10);
	unsigned rules = 0;
	for (unsigned i = 0; i < CP_RULE_HITS_MAX; i++) {
		if (!f->e.hits[i].rule_id)
			continue;
		rules++;
		assert_int_equal(f->e.hits[i].rule_id, 1001);
		assert_int_equal(f->e.hits[i].category, CP_CAT_SPAM);
		assert_int_equal(f->e.hits[i].verdict, CP_VERDICT_BLOCK);
		assert_int_equal(f->e.hits[i].n, NB * PER / 10);
	}
	assert_int_equal(rules, 1);
	/* replay of already committed facts: duplicates, nothing new */
	assert_int_equal(cp_engine_ingest(&f->e, 7, (const uint8_t *const *)bufs, lens, 1, &res),
			 CP_OK);
	assert_int_equal(res.duplicates, PER / 10);
	assert_int_equal(res.facts, 0);
	assert_int_equal(nc.by_kind[CP_NOTICE_VIOLATION], NB * PER / 10); /* none for duplicates */
	assert_int_equal(res.max_fact_seq, seq);
	assert_int_equal(db_entries(f->store, CP_DBI_VIOLATIONS), NB * PER / 10);
	/* the same sequence numbers from another instance are new facts */
	assert_int_equal(cp_engine_ingest(&f->e, 8, (const uint8_t *const *)bufs, lens, 1, &res),
			 CP_OK);
	assert_int_equal(res.facts, PER / 10);
	for (size_t i = 0; i < NB; i++)
		free(bufs[i]);
	cp_reader_close(r);
}

static void test_complaint_links_evidence_and_purge(void **state)
{
	struct sfx *f = *state;
	uint8_t *bufs[1];
	uint32_t lens[1];
	uint64_t seq = 0, cid, mid;
	struct cp_ingest_result res;

	/* 40 messages to 447700900000..039, 1 in 10 a violation with text */
	make_batches(bufs, lens, 1, 40, &seq, (f->clk.now - 3600) * 1000);
	assert_int_equal(cp_engine_ingest(&f->e, 1, (const uint8_t *const *)bufs, lens, 1, &res),
			 CP_OK);
	free(bufs[0]);
	assert_int_equal(
	    cp_engine_complaint_add(&f->e, "bulk", "447700900010", "got spam", "7726", &cid, &mid),
	    CP_OK);
	assert_int_equal(cid, 1);
	assert_true(mid > 0);
	/* message ids are 1-based in ingestion order: #11 went to ...010 */
	assert_int_equal(mid, 11);
	assert_int_equal(cp_engine_complaint_add(&f->e, "bulk", "447700900999", "", "", &cid, &mid),
			 CP_OK);
	assert_int_equal(mid, 0); /* no message to that subscriber */
	/* nothing expires yet */
	assert_int_equal(cp_engine_purge(&f->e), 0);
	/* past message retention (30 d) but not evidence retention (90 d):
	 * plain messages go, those with evidence stay */
	f->clk.now += 31 * CP_DAY;
	assert_int_equal(cp_engine_purge(&f->e), 36);
	assert_int_equal(db_entries(f->store, CP_DBI_MESSAGES), 4);
	assert_int_equal(db_entries(f->store, CP_DBI_MSG_IDX), 4);
	f->clk.now += 60 * CP_DAY;
	assert_int_equal(cp_engine_purge(&f->e), 4 + 4);
	assert_int_equal(db_entries(f->store, CP_DBI_MESSAGES), 0);
	assert_int_equal(db_entries(f->store, CP_DBI_EVIDENCE), 0);
	/* an emptied log does not hand out old ids again: complaint 1 still
	 * names message 11, which must never become another message */
	make_batches(bufs, lens, 1, 5, &seq, f->clk.now * 1000);
	assert_int_equal(cp_engine_ingest(&f->e, 1, (const uint8_t *const *)bufs, lens, 1, &res),
			 CP_OK);
	free(bufs[0]);
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	assert_int_equal(mdb_txn_begin(f->store->env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, f->store->dbi[CP_DBI_MESSAGES], &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	assert_int_equal(cp_key_get_u64(k.mv_data), 41);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
}

static void test_masking(void **state)
{
	(void)state;
	char out[CP_ADDR_MAX];
	cp_mask_destination("447700900123", 12, out, sizeof(out));
	assert_string_equal(out, "4477xxxxxx23");
	cp_mask_destination("12345", 5, out, sizeof(out));
	assert_string_equal(out, "12345"); /* short codes stay */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ev_bounds),
	    cmocka_unit_test(test_ev_roundtrip),
	    cmocka_unit_test(test_ev_stats_ext),
	    cmocka_unit_test(test_ev_hostile),
	    cmocka_unit_test_setup_teardown(test_reader_api, s_setup, s_teardown),
	    cmocka_unit_test(test_migration),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_newer_record_refused, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_map_growth_and_exactly_once, s_setup, s_teardown),
	    cmocka_unit_test_setup_teardown(test_complaint_links_evidence_and_purge, s_setup,
					    s_teardown),
	    cmocka_unit_test(test_masking),
	};
	return cmocka_run_group_tests_name("cp_store", tests, NULL, NULL);
}
