/*
 * test_cp_export.c — the SIEM encoders and the metrics renderer without
 * sockets: refused destinations first, then exact RFC 5424 bytes (escaping,
 * hostile strings, a buffer too small), JSON keys, and the exposition text
 * after notices, STATS and STATS_EXT (propagation measured once per
 * generation, the start-up load not counted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>

#include "cp_export.h"
#include "cp_metrics.h"
#include "cp_test_util.h"

static struct smsfw_conf *conf_with(const char *key, const char *val)
{
	struct smsfw_conf *c;
	char err[256];
	assert_int_equal(smsfw_conf_load(NULL, &c, err, sizeof(err)), 0);
	if (key)
		assert_int_equal(smsfw_conf_set(c, "controld", key, val, err, sizeof(err)), 0);
	return c;
}

static void test_export_open_refuses(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
	    {"events_syslog", "tcp:host:514"}, {"events_syslog", "udp:nohostport"},
	    {"events_syslog", "unix:"},	       {"events_json", "unix:"},
	    {"events_kinds", "standing,gossip"},
	};
	struct cp_export *x;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct smsfw_conf *c = conf_with(bad[i][0], bad[i][1]);
		err[0] = 0;
		assert_int_equal(cp_export_open(c, &x, err, sizeof(err)), CP_ERR_INVAL);
		assert_null(x);
		assert_non_null(strstr(err, bad[i][0]));
		smsfw_conf_free(c);
	}
	struct smsfw_conf *c = conf_with("events_json", "/nonexistent-dir/x/events.jsonl");
	assert_int_equal(cp_export_open(c, &x, err, sizeof(err)), CP_ERR_IO);
	smsfw_conf_free(c);
	/* nothing configured: an exporter that does nothing */
	c = conf_with(NULL, NULL);
	assert_int_equal(cp_export_open(c, &x, err, sizeof(err)), CP_OK);
	struct cp_notice n = {.kind = CP_NOTICE_COMPLAINT};
	cp_export_notice(x, &n);
	struct cp_export_stats st;
	cp_export_get_stats(x, &st);
	assert_true(st.syslog_sent + st.syslog_dropped + st.json_sent + st.json_dropped == 0);
	assert_false(cp_export_pending(x));
	cp_export_close(x);
	smsfw_conf_free(c);
}

static struct cp_notice standing_notice(void)
{
	struct cp_notice n = {.kind = CP_NOTICE_STANDING,
			      .source = CP_SRC_OPERATOR,
			      .from = CP_STANDING_ACTIVE,
			      .to = CP_STANDING_SUSPENDED,
			      .id = 7,
			      .time_ms = 1700000000123ull};
	snprintf(n.customer, sizeof(n.customer), "a\xff\x01"
						 "b");
	snprintf(n.actor, sizeof(n.actor), "alice");
	snprintf(n.reason, sizeof(n.reason), "x\"y\\z]w");
	return n;
}

static void test_syslog_format(void **state)
{
	(void)state;
	struct cp_notice n = standing_notice();
	char buf[1024];
	int len;

	/* too small: refused, never a cut message */
	assert_int_equal(cp_export_syslog_format(&n, 3, "host", 42, buf, 40), -1);
	len = cp_export_syslog_format(&n, 20, "ho st\x01", 42, buf, sizeof(buf));
	assert_true(len > 0 && (size_t)len < sizeof(buf));
	static const char want[] =
	    "<164>1 2023-11-14T22:13:20.123Z host smsfw-controld 42 standing [smsfw@32473 id=\"7\" "
	    "customer=\"a??b\" from=\"active\" to=\"suspended\" source=\"operator\" "
	    "pending_review=\"false\" actor=\"alice\" reason=\"x\\\"y\\\\z\\]w\"] "
	    "\xEF\xBB\xBF"
	    "customer a??b: active -> suspended by alice: x\"y\\z]w";
	assert_int_equal(len, (int)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	/* severity follows the change: warned is notice (5), active info (6) */
	n.to = CP_STANDING_WARNED;
	cp_export_syslog_format(&n, 3, "h", 1, buf, sizeof(buf));
	assert_memory_equal(buf, "<29>1 ", 6);
	n.to = CP_STANDING_ACTIVE;
	cp_export_syslog_format(&n, 3, "", 1, buf, sizeof(buf));
	assert_memory_equal(buf, "<30>1 2023-11-14T22:13:20.123Z - ", 33); /* empty host: - */
}

static void test_json_format(void **state)
{
	(void)state;
	struct cp_notice n = {.kind = CP_NOTICE_RULES,
			      .source = CP_SRC_OPERATOR,
			      .rollback = true,
			      .version = 4,
			      .previous = 9,
			      .n_rules = 120,
			      .time_ms = 1700000000000ull};
	snprintf(n.sha256, sizeof(n.sha256), "%064d", 0);
	snprintf(n.actor, sizeof(n.actor), "bob");
	snprintf(n.reason, sizeof(n.reason), "bad rule\nline two");
	char *line = cp_export_json_format(&n, "h\xc3");
	json_error_t je;

	assert_non_null(line);
	size_t l = strlen(line);
	assert_true(l > 2 && line[l - 1] == '\n' && memchr(line, '\n', l - 1) == NULL);
	json_t *o = json_loads(line, 0, &je);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "rules");
	assert_string_equal(json_string_value(json_object_get(o, "action")), "rollback");
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 4);
	assert_int_equal(json_integer_value(json_object_get(o, "previous")), 9);
	assert_string_equal(json_string_value(json_object_get(o, "signer")), "(unsigned)");
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "bad rule?line two");
	assert_string_equal(json_string_value(json_object_get(o, "host")), "h?");
	assert_string_equal(json_string_value(json_object_get(o, "time")),
			    "2023-11-14T22:13:20.000Z");
	json_decref(o);
	free(line);
}

struct src_arg {
	struct cp_engine *eng;
};

static void fill(void *arg, struct cp_metrics_src *src)
{
	src->eng = ((struct src_arg *)arg)->eng;
	src->started = 1700000000;
	src->exp.json_sent = 3;
}

static void test_metrics_render(void **state)
{
	(void)state;
	char dir[256], err[256];
	struct cp_store *s;
	struct cp_engine e;
	struct cp_policy_cfg cfg;
	struct cp_metrics *m;
	struct src_arg a;
	size_t len;

	assert_int_equal(cp_metrics_open("127.0.0.1", 0, NULL, NULL, &m, err, sizeof(err)), CP_OK);
	assert_int_equal(cp_metrics_fd(m), -1); /* HTTP off */
	char *t = cp_metrics_render(m, &len);
	assert_non_null(t);
	assert_non_null(strstr(t, "# TYPE smsfw_controld_uptime_seconds gauge\n"));
	free(t);
	cp_metrics_close(m);
	assert_int_equal(cp_metrics_open("not-an-address", 9327, NULL, NULL, &m, err, sizeof(err)),
			 CP_ERR_INVAL);
	assert_int_equal(cp_metrics_open("127.0.0.1", 70000, NULL, NULL, &m, err, sizeof(err)),
			 CP_ERR_INVAL);

	test_tmpdir(dir, sizeof(dir));
	assert_int_equal(cp_store_open(dir, 1 << 20, &s, err, sizeof(err)), CP_OK);
	test_policy_defaults(&cfg);
	cp_engine_init(&e, s, &cfg, NULL, NULL);
	a.eng = &e;
	assert_int_equal(cp_metrics_open("127.0.0.1", 0, fill, &a, &m, err, sizeof(err)), CP_OK);
	assert_int_equal(cp_engine_customer_add(&e, "acme", NULL), CP_OK);

	struct cp_notice n = standing_notice();
	cp_metrics_notice(m, &n);
	n.pending = true;
	cp_metrics_notice(m, &n);
	n = (struct cp_notice){.kind = CP_NOTICE_VIOLATION, .source = CP_SRC_DATAPLANE,
			       .category = CP_CAT_SPAM};
	cp_metrics_notice(m, &n);
	cp_metrics_notice(m, &n);

	/* generations 5 (standing) and 6 committed; the dataplane said HELLO
	 * at generation 4 and then applied 6: both measured, once */
	cp_metrics_dp_hello(m, 0xab, 1, 2, 4);
	cp_metrics_generation(m, 4, 1000, false);
	cp_metrics_generation(m, 5, 2000, true);
	cp_metrics_generation(m, 6, 2500, false);
	struct cp_stat st[3] = {{CP_STAT_GENERATION_APPLIED, 0, 6},
				{CP_STAT_GENERATION_APPLIED_MS, 0, 2520},
				{CP_STAT_WORKER_FLOWS, 1, 33}};
	uint8_t buf[1024];
	struct cp_ev_batch b;
	struct cp_event ev = {.type = CP_EV_STATS_EXT}, out;
	struct cp_ev_iter it;
	uint32_t total;
	ev.u.ext.count = 3;
	ev.u.ext.entries = st;
	cp_ev_batch_init(&b, buf, sizeof(buf));
	assert_int_equal(cp_ev_batch_add(&b, &ev), CP_OK);
	assert_int_equal(cp_ev_batch_check(buf, cp_ev_batch_finish(&b), &total), CP_OK);
	cp_ev_iter_init(&it, buf, total);
	assert_int_equal(cp_ev_iter_next(&it, &out), CP_OK);
	cp_metrics_dp_stats(m, 0xab, &out);
	cp_metrics_dp_stats(m, 0xab, &out); /* the same report again: nothing new */

	t = cp_metrics_render(m, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	static const char *const want[] = {
	    "smsfw_standing_changes_total{from=\"active\",to=\"suspended\",source=\"operator\"} 1\n",
	    "smsfw_standing_proposals_total 1\n",
	    "smsfw_violations_total{category=\"spam\",source=\"dataplane\"} 2\n",
	    "smsfw_customers{standing=\"active\"} 1\n",
	    "smsfw_export_events_total{sink=\"json\",result=\"sent\"} 3\n",
	    "smsfw_propagation_delay_seconds_count{change=\"standing\"} 1\n",
	    "smsfw_propagation_delay_seconds_sum{change=\"standing\"} 0.52\n",
	    "smsfw_propagation_delay_seconds_bucket{change=\"standing\",le=\"0.5\"} 0\n",
	    "smsfw_propagation_delay_seconds_bucket{change=\"standing\",le=\"1\"} 1\n",
	    "smsfw_propagation_delay_seconds_count{change=\"other\"} 1\n",
	    "smsfw_propagation_delay_seconds_bucket{change=\"other\",le=\"0.025\"} 1\n",
	    "smsfw_dataplane_up{instance=\"00000000000000ab\"} 1\n",
	    "smsfw_dataplane_workers{instance=\"00000000000000ab\"} 2\n",
	    "smsfw_dataplane_worker_flows{instance=\"00000000000000ab\",worker=\"1\"} 33\n",
	    "smsfw_dataplane_generation_applied{instance=\"00000000000000ab\"} 6\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(t, want[i]))
			fail_msg("missing: %s", want[i]);
	free(t);
	cp_metrics_dp_gone(m, 0xab);
	t = cp_metrics_render(m, &len);
	assert_non_null(strstr(t, "smsfw_dataplane_up{instance=\"00000000000000ab\"} 0\n"));
	free(t);
	cp_metrics_close(m);
	cp_engine_fini(&e);
	cp_store_close(s);
	test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_export_open_refuses),
	    cmocka_unit_test(test_syslog_format),
	    cmocka_unit_test(test_json_format),
	    cmocka_unit_test(test_metrics_render),
	};
	return cmocka_run_group_tests_name("cp_export", tests, NULL, NULL);
}
