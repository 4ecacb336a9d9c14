/*
 * test_smsfw_conf.c — the configuration library: defaults, every error kind
 * naming its line, typed getters, derived paths, and the shipped example
 * file being exactly what the key table generates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smsfw_conf.h"

#ifndef EXAMPLE_PATH
#error "EXAMPLE_PATH must name controlplane/smsfw.conf.example"
#endif

static char tmpfile_path[64];

static const char *write_conf(const char *text)
{
	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/smsfw-conf-XXXXXX");
	int fd = mkstemp(tmpfile_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmpfile_path;
}

/* Load @p text; expect @p status and, for errors, ":LINE: " in the message. */
static void expect(const char *text, int status, int line, const char *needle)
{
	struct smsfw_conf *c = NULL;
	char err[1024], want[64];
	const char *p = write_conf(text);
	int rc = smsfw_conf_load(p, &c, err, sizeof(err));
	unlink(p);
	if (rc != status)
		fail_msg("expected status %d got %d (%s) for:\n%s", status, rc, err, text);
	if (status == 0) {
		assert_non_null(c);
		smsfw_conf_free(c);
		return;
	}
	assert_null(c);
	snprintf(want, sizeof(want), ":%d: ", line);
	if (!strstr(err, want))
		fail_msg("error '%s' does not name line %d", err, line);
	if (needle && !strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_errors_name_the_line(void **state)
{
	(void)state;
	expect("[general]\nmode = sideways\n", SMSFW_CONF_ERR_TYPE, 2, "inline|monitor");
	expect("[general]\n\n# c\nnope = 1\n", SMSFW_CONF_ERR_UNKNOWN, 4, "nope");
	expect("[nosuch]\nx = 1\n", SMSFW_CONF_ERR_UNKNOWN, 2, "[nosuch]");
	expect("mode = inline\n", SMSFW_CONF_ERR_UNKNOWN, 1, "outside");
	expect("[dataplane]\nflows_max = 1023\n", SMSFW_CONF_ERR_RANGE, 2, "1024");
	expect("[dataplane]\nflows_max = 67108865\n", SMSFW_CONF_ERR_RANGE, 2, NULL);
	expect("[dataplane]\nflows_max = 12k\n", SMSFW_CONF_ERR_TYPE, 2, "integer");
	expect("[dataplane]\nflows_max =\n", SMSFW_CONF_ERR_TYPE, 2, "empty");
	expect("[dataplane]\nsmpp_ports = 2775,70000\n", SMSFW_CONF_ERR_RANGE, 2, "70000");
	expect("[dataplane]\nsmpp_ports = 2775,,2776\n", SMSFW_CONF_ERR_TYPE, 2, "empty item");
	expect("[policy]\nreview = maybe\n", SMSFW_CONF_ERR_TYPE, 2, "true or false");
	expect("[policy]\nreview = yes\n\nreview = no\n", SMSFW_CONF_ERR_DUP, 4, "line 2");
	expect("[policy]\nthis line is not ini\n", SMSFW_CONF_ERR_SYNTAX, 2, NULL);
	expect("[general\n", SMSFW_CONF_ERR_SYNTAX, 1, NULL);
	/* a line longer than the parser's buffer is refused, not split */
	char longline[600];
	snprintf(longline, sizeof(longline), "[general]\nstate_dir = /%0400d\n", 0);
	expect(longline, SMSFW_CONF_ERR_SYNTAX, 2, "longer");
}

static void test_every_error_reported(void **state)
{
	(void)state;
	struct smsfw_conf *c;
	char err[2048];
	const char *p = write_conf("[general]\nmode = x\nfoo = 1\n[dataplane]\nflows_max = 1\n");
	assert_int_equal(smsfw_conf_load(p, &c, err, sizeof(err)), SMSFW_CONF_ERR_TYPE);
	unlink(p);
	assert_non_null(strstr(err, ":2: "));
	assert_non_null(strstr(err, ":3: "));
	assert_non_null(strstr(err, ":5: "));
}

static void test_missing_file(void **state)
{
	(void)state;
	struct smsfw_conf *c;
	char err[256];
	assert_int_equal(smsfw_conf_load("/nonexistent/smsfw.conf", &c, err, sizeof(err)),
			 SMSFW_CONF_ERR_NOENT);
	assert_null(c);
	assert_int_equal(smsfw_conf_load(NULL, NULL, err, sizeof(err)), SMSFW_CONF_ERR_INVAL);
}

static void test_defaults(void **state)
{
	(void)state;
	struct smsfw_conf *c;
	char err[256];
	assert_int_equal(smsfw_conf_load(NULL, &c, err, sizeof(err)), SMSFW_CONF_OK);
	assert_int_equal(smsfw_conf_enum(c, SMSFW_CONF_general_mode), 0);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_flows_max), 1048576);
	assert_int_equal(smsfw_conf_list_len(c, SMSFW_CONF_dataplane_smpp_ports), 1);
	assert_int_equal(smsfw_conf_intlist_item(c, SMSFW_CONF_dataplane_smpp_ports, 0), 2775);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_status_content), 0x45);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_status_sender), 0x0a);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_status_rate), 0x58);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_status_optout), 0x66);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_status_suspended), 0x45);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_status_bind_refused), 0x0d);
	assert_int_equal(smsfw_conf_enum(c, SMSFW_CONF_dataplane_uninspectable), 0); /* block */
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_idle_sleep_us), 0);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_policy_complaints_30d), 5);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_policy_complaints_90d), 10);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_policy_fraud_suspend), 5);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_policy_spam_warn), 50);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_policy_spam_suspend), 500);
	assert_false(smsfw_conf_bool(c, SMSFW_CONF_policy_review));
	assert_int_equal(smsfw_conf_list_len(c, SMSFW_CONF_dataplane_optout_keywords), 8);
	assert_string_equal(smsfw_conf_list_item(c, SMSFW_CONF_dataplane_optout_keywords, 0),
			    "STOP");
	assert_null(smsfw_conf_list_item(c, SMSFW_CONF_dataplane_optout_keywords, 8));
	assert_int_equal(smsfw_conf_list_len(c, SMSFW_CONF_controld_trusted_keys), 0);
	struct smsfw_conf_paths p;
	assert_int_equal(smsfw_conf_paths(c, &p), 0);
	assert_string_equal(p.lmdb, "/var/lib/smsfw/store");
	assert_string_equal(p.socket, "/run/smsfw/controld.sock");
	assert_string_equal(p.event_socket, "/run/smsfw/events.sock");
	smsfw_conf_free(c);
}

static void test_values_and_overrides(void **state)
{
	(void)state;
	struct smsfw_conf *c;
	char err[256];
	const char *p =
	    write_conf("; comment\n[general]\nmode = monitor\nstate_dir = /srv/x\n"
		       "socket = /tmp/s.sock\n[dataplane]\nsmpp_ports = 2775, 2776 ,0x0ad8\n"
		       "bridges = 0:1,2:3\nstatus_content = 0x08\n[policy]\nreview = on\n");
	assert_int_equal(smsfw_conf_load(p, &c, err, sizeof(err)), SMSFW_CONF_OK);
	unlink(p);
	assert_int_equal(smsfw_conf_enum(c, SMSFW_CONF_general_mode), 1);
	assert_int_equal(smsfw_conf_line(c, SMSFW_CONF_general_mode), 3);
	assert_int_equal(smsfw_conf_list_len(c, SMSFW_CONF_dataplane_smpp_ports), 3);
	assert_int_equal(smsfw_conf_intlist_item(c, SMSFW_CONF_dataplane_smpp_ports, 1), 2776);
	assert_int_equal(smsfw_conf_intlist_item(c, SMSFW_CONF_dataplane_smpp_ports, 2), 2776 + 0);
	assert_string_equal(smsfw_conf_list_item(c, SMSFW_CONF_dataplane_bridges, 1), "2:3");
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_status_content), 8);
	assert_true(smsfw_conf_bool(c, SMSFW_CONF_policy_review));
	struct smsfw_conf_paths paths;
	assert_int_equal(smsfw_conf_paths(c, &paths), 0);
	assert_string_equal(paths.lmdb, "/srv/x/store");
	assert_string_equal(paths.socket, "/tmp/s.sock");
	/* command-line override */
	assert_int_equal(smsfw_conf_set(c, "general", "run_dir", "/srv/run", err, sizeof(err)), 0);
	assert_int_equal(smsfw_conf_paths(c, &paths), 0);
	assert_string_equal(paths.event_socket, "/srv/run/events.sock");
	assert_int_equal(smsfw_conf_set(c, "general", "nope", "1", err, sizeof(err)),
			 SMSFW_CONF_ERR_UNKNOWN);
	assert_int_equal(smsfw_conf_set(c, "dataplane", "flows_max", "5", err, sizeof(err)),
			 SMSFW_CONF_ERR_RANGE);
	assert_int_equal(smsfw_conf_int(c, SMSFW_CONF_dataplane_flows_max), 1048576);
	smsfw_conf_free(c);
}

/* The shipped example is generated from the table, and loads. */
static void test_example_file(void **state)
{
	(void)state;
	char *gen = NULL, *shipped;
	size_t gl = 0;
	FILE *m = open_memstream(&gen, &gl);
	assert_int_equal(smsfw_conf_write(m, NULL), 0);
	fclose(m);
	FILE *f = fopen(EXAMPLE_PATH, "r");
	assert_non_null(f);
	shipped = calloc(1, gl + 2);
	size_t n = fread(shipped, 1, gl + 1, f);
	fclose(f);
	if (n != gl || memcmp(gen, shipped, gl) != 0)
		fail_msg("%s differs from `smsfwctl config example`: regenerate it", EXAMPLE_PATH);
	struct smsfw_conf *c;
	char err[512];
	assert_int_equal(smsfw_conf_load(EXAMPLE_PATH, &c, err, sizeof(err)), SMSFW_CONF_OK);
	for (int i = 0; i < SMSFW_CONF_COUNT; i++)
		assert_true(smsfw_conf_line(c, (enum smsfw_conf_id)i) > 0); /* every key present */
	smsfw_conf_free(c);
	free(gen);
	free(shipped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_errors_name_the_line),
	    cmocka_unit_test(test_every_error_reported),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_values_and_overrides),
	    cmocka_unit_test(test_example_file),
	};
	return cmocka_run_group_tests_name("smsfw_conf", tests, NULL, NULL);
}
