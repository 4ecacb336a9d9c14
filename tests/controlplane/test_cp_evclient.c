/*
 * test_cp_evclient.c — the dataplane's event client against a real
 * smsfw-controld (spawned): facts spooled while controld is away and
 * delivered when it comes, exactly once across controld kill -9 and client
 * restarts, observations dropped and counted when they cannot be sent, the
 * spool bound, a torn spool tail, and the generation notice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "cp_evclient.h"
#include "cp_test_util.h"

#ifndef CONTROLD_PATH
#error "CONTROLD_PATH must name the smsfw-controld binary"
#endif

struct efx {
	char dir[128], sock[160], evsock[160], spool[160], store[160], conf[160];
	pid_t pid;
};

static void start_controld(struct efx *f)
{
	unlink(f->sock);
	unlink(f->evsock);
	f->pid = fork();
	if (f->pid == 0) {
		char log[200];
		snprintf(log, sizeof(log), "%s/controld.log", f->dir);
		if (!freopen(log, "a", stderr))
			_exit(126);
		execl(CONTROLD_PATH, CONTROLD_PATH, "--foreground", "--state-dir", f->dir,
		      "--config", f->conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (access(f->sock, F_OK) == 0 && access(f->evsock, F_OK) == 0)
			return;
		usleep(10000);
	}
	fail_msg("controld did not start");
}

static void stop_controld(struct efx *f, int sig)
{
	if (f->pid > 0) {
		kill(f->pid, sig);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
}

static int setup(void **state)
{
	struct efx *f = calloc(1, sizeof(*f));
	test_tmpdir(f->dir, sizeof(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/controld.sock", f->dir);
	snprintf(f->evsock, sizeof(f->evsock), "%s/events.sock", f->dir);
	snprintf(f->spool, sizeof(f->spool), "%s/facts.spool", f->dir);
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	snprintf(f->conf, sizeof(f->conf), "%s/smsfw.conf", f->dir);
	FILE *c = fopen(f->conf, "w");
	if (!c)
		return -1;
	fputs("[controld]\nbatch_max_ms = 5\n", c);
	fclose(c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct efx *f = *state;
	stop_controld(f, SIGTERM);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static struct cp_evclient *open_client(struct efx *f, uint64_t spool_max)
{
	struct cp_evclient *c;
	struct cp_evclient_cfg cfg = {.socket_path = f->evsock,
				      .spool_path = f->spool,
				      .spool_max_bytes = spool_max,
				      .workers = 1,
				      .reconnect_ms = 20};
	assert_int_equal(cp_evclient_open(&cfg, &c), CP_OK);
	return c;
}

static struct cp_event optout(const char *sub)
{
	struct cp_event ev = {.type = CP_EV_OPTOUT};
	ev.u.optout.time_ms = 1700000000000ull;
	ev.u.optout.customer = (struct cp_view){(const uint8_t *)"acme", 4};
	ev.u.optout.subscriber = (struct cp_view){(const uint8_t *)sub, (uint16_t)strlen(sub)};
	return ev;
}

static struct cp_event violation(const char *dst)
{
	struct cp_event ev = {.type = CP_EV_VIOLATION};
	ev.u.msg.time_ms = (uint64_t)time(NULL) * 1000;
	ev.u.msg.verdict = CP_VERDICT_BLOCK;
	ev.u.msg.category = CP_CAT_SPAM;
	ev.u.msg.rule_id = 7;
	ev.u.msg.customer = (struct cp_view){(const uint8_t *)"acme", 4};
	ev.u.msg.destination = (struct cp_view){(const uint8_t *)dst, (uint16_t)strlen(dst)};
	ev.u.msg.text = (struct cp_view){(const uint8_t *)"win a prize", 11};
	return ev;
}

/* Entries of a named database, read the way any other reader would. */
static size_t db_count(struct efx *f, const char *name)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st = {0};
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, CP_DB_MAX);
	assert_int_equal(mdb_env_open(env, f->store, MDB_RDONLY | MDB_NOTLS, 0), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
	mdb_stat(txn, dbi, &st);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

/* Run the client loop until every fact is acknowledged (or time is up). */
static void drive(struct cp_evclient *c, int max_ms)
{
	struct cp_evclient_stats st;
	uint64_t gen;
	for (int t = 0; t < max_ms; t += 5) {
		cp_evclient_poll(c, &gen);
		cp_evclient_stats(c, &st);
		if (st.connected && st.spool_bytes == 0 && st.generation)
			return;
		struct pollfd pf = {.fd = cp_evclient_fd(c), .events = POLLIN};
		poll(&pf, pf.fd >= 0 ? 1 : 0, 5);
	}
}

static int count_optouts(const struct cp_optout_key *k, const struct cp_optout_rec *r, void *arg)
{
	(void)k;
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int stored_optouts(struct efx *f)
{
	struct cp_reader *r;
	int n = 0;
	assert_int_equal(cp_reader_open(f->store, &r), CP_OK);
	assert_int_equal(cp_reader_optouts_each(r, count_optouts, &n, NULL), CP_OK);
	cp_reader_close(r);
	return n;
}

static void test_invalid(void **state)
{
	struct efx *f = *state;
	struct cp_evclient *c;
	struct cp_evclient_cfg cfg = {.socket_path = f->evsock, .spool_path = NULL};
	assert_int_equal(cp_evclient_open(&cfg, &c), CP_ERR_INVAL);
	cfg.spool_path = "/nonexistent-dir/spool";
	assert_int_equal(cp_evclient_open(&cfg, &c), CP_ERR_IO);
	c = open_client(f, 0);
	struct cp_event obs = {.type = CP_EV_VIOLATION};
	assert_int_equal(cp_evclient_observe(c, &obs), CP_ERR_INVAL);
	struct cp_event fact = {.type = CP_EV_OBSERVATION};
	assert_int_equal(cp_evclient_fact(c, &fact), CP_ERR_INVAL);
	cp_evclient_close(c);
}

static void test_spool_while_away_then_deliver(void **state)
{
	struct efx *f = *state;
	struct cp_evclient *c = open_client(f, 0);
	struct cp_evclient_stats st;
	char sub[24];
	uint64_t gen;

	/* controld is not running: facts are spooled, observations dropped */
	for (int i = 0; i < 100; i++) {
		struct cp_event ev = optout((snprintf(sub, sizeof(sub), "44770%07d", i), sub));
		assert_int_equal(cp_evclient_fact(c, &ev), CP_OK);
		assert_int_equal(ev.seq, (uint64_t)i + 1);
		struct cp_event obs = {.type = CP_EV_OBSERVATION};
		obs.u.msg.customer = (struct cp_view){(const uint8_t *)"acme", 4};
		assert_int_equal(cp_evclient_observe(c, &obs), CP_OK);
	}
	cp_evclient_poll(c, &gen);
	cp_evclient_stats(c, &st);
	assert_false(st.connected);
	assert_int_equal(st.facts_spooled, 100);
	assert_int_equal(st.obs_dropped, 100);
	assert_true(st.spool_bytes > 0);
	assert_int_equal(gen, 0);

	start_controld(f);
	drive(c, 5000);
	cp_evclient_stats(c, &st);
	assert_true(st.connected);
	assert_int_equal(st.spool_bytes, 0);
	assert_int_equal(st.facts_acked, 100);
	assert_int_equal(st.acked_seq, 100);
	assert_true(st.generation > 0);
	assert_int_equal(stored_optouts(f), 100);

	/* observations flow while connected */
	for (int i = 0; i < 10; i++) {
		struct cp_event obs = {.type = CP_EV_OBSERVATION};
		obs.u.msg.customer = (struct cp_view){(const uint8_t *)"acme", 4};
		assert_int_equal(cp_evclient_observe(c, &obs), CP_OK);
	}
	cp_evclient_flush(c);
	cp_evclient_stats(c, &st);
	assert_int_equal(st.obs_sent, 10);
	cp_evclient_close(c);
}

/* controld killed with unacknowledged facts; a client restart in between;
 * everything arrives exactly once. */
static void test_exactly_once_across_restarts(void **state)
{
	struct efx *f = *state;
	struct cp_evclient *c;
	struct cp_evclient_stats st;
	char sub[24];

	start_controld(f);
	c = open_client(f, 0);
	drive(c, 5000);
	cp_evclient_stats(c, &st);
	uint64_t instance = st.instance;
	for (int i = 0; i < 300; i++) {
		struct cp_event ev = violation((snprintf(sub, sizeof(sub), "44771%07d", i), sub));
		assert_int_equal(cp_evclient_fact(c, &ev), CP_OK);
		if (i == 150) {
			cp_evclient_flush(c);
			/* controld commits them, but the client never reads
			 * the ACK: committed, unacknowledged, sent again later */
			usleep(200000);
			stop_controld(f, SIGKILL);
		}
	}
	uint64_t gen;
	cp_evclient_poll(c, &gen);
	cp_evclient_close(c); /* the dataplane restarts too */

	c = open_client(f, 0);
	cp_evclient_stats(c, &st);
	assert_int_equal(st.instance, instance); /* same instance from the spool */
	assert_int_equal(st.next_seq, 301);	 /* sequences continue */
	start_controld(f);
	drive(c, 5000);
	cp_evclient_stats(c, &st);
	assert_int_equal(st.spool_bytes, 0);
	assert_int_equal(st.acked_seq, 300);
	/* every violation exactly once, though some were sent twice */
	assert_int_equal(db_count(f, CP_DB_VIOLATIONS), 300);
	assert_int_equal(db_count(f, CP_DB_MESSAGES), 300);
	cp_evclient_close(c);
}

static void test_spool_bound(void **state)
{
	struct efx *f = *state;
	struct cp_evclient *c = open_client(f, 1000);
	struct cp_evclient_stats st;
	int ok = 0, refused = 0;
	for (int i = 0; i < 100; i++) {
		struct cp_event ev = optout("447700000001");
		int rc = cp_evclient_fact(c, &ev);
		if (rc == CP_OK)
			ok++;
		else if (rc == CP_ERR_TOOBIG)
			refused++;
	}
	cp_evclient_stats(c, &st);
	assert_true(ok > 0 && refused > 0 && ok + refused == 100);
	assert_int_equal(st.facts_refused, (uint64_t)refused);
	assert_true(st.spool_bytes <= 1000);
	cp_evclient_close(c);
}

static void test_torn_tail(void **state)
{
	struct efx *f = *state;
	struct cp_evclient *c = open_client(f, 0);
	struct cp_evclient_stats st;
	for (int i = 0; i < 5; i++) {
		struct cp_event ev = optout("447700000002");
		assert_int_equal(cp_evclient_fact(c, &ev), CP_OK);
	}
	cp_evclient_close(c);
	/* a crash in the middle of the 6th append */
	FILE *sp = fopen(f->spool, "ab");
	assert_non_null(sp);
	fwrite("SFEV\x01\x00\x00\x00\x90\x00", 1, 10, sp);
	fclose(sp);
	c = open_client(f, 0);
	cp_evclient_stats(c, &st);
	assert_int_equal(st.next_seq, 6);
	struct cp_event ev = optout("447700000003");
	assert_int_equal(cp_evclient_fact(c, &ev), CP_OK);
	assert_int_equal(ev.seq, 6);
	start_controld(f);
	drive(c, 5000);
	cp_evclient_stats(c, &st);
	assert_int_equal(st.acked_seq, 6);
	assert_int_equal(stored_optouts(f), 2); /* two distinct subscribers */
	cp_evclient_close(c);
}

/* A standing change made through the store reaches the client as a new
 * generation. */
static void test_generation_notice(void **state)
{
	struct efx *f = *state;
	struct cp_evclient *c;
	struct cp_evclient_stats st;
	uint64_t g0, g1 = 0;

	start_controld(f);
	c = open_client(f, 0);
	drive(c, 5000);
	cp_evclient_stats(c, &st);
	g0 = st.generation;
	assert_true(g0 > 0);
	struct cp_event ev = optout("447700000009"); /* an opt-out bumps the generation */
	assert_int_equal(cp_evclient_fact(c, &ev), CP_OK);
	for (int t = 0; t < 2000 && g1 <= g0; t += 5) {
		cp_evclient_poll(c, &g1);
		struct pollfd pf = {.fd = cp_evclient_fd(c), .events = POLLIN};
		poll(&pf, 1, 5);
	}
	assert_true(g1 > g0);
	struct cp_reader *r;
	uint64_t gs;
	assert_int_equal(cp_reader_open(f->store, &r), CP_OK);
	assert_int_equal(cp_reader_generation(r, &gs), CP_OK);
	assert_int_equal(gs, g1);
	cp_reader_close(r);
	cp_evclient_close(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_while_away_then_deliver, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exactly_once_across_restarts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spool_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generation_notice, setup, teardown),
	};
	return cmocka_run_group_tests_name("cp_evclient", tests, NULL, NULL);
}
