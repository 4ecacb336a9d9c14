/*
 * test_parser.c — the rule language's parser: every error it reports, with
 * file:line:column and message, then the valid forms (comments, escapes,
 * categories, thresholds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pat.h"

#define BASE "rule id=1 cat=spam target=norm action=block pat=/x/ desc=\"d\""

/* Compile one rule file "t.rules" beside the lists l.txt and empty.txt. */
static int compile1(const char *rules, size_t len, struct pat_ruleset **rs,
		    struct pat_error *e)
{
	struct pat_source s[3] = {
		{ "t.rules", rules, len },
		{ "l.txt", "one\n# comment\n  two  \n", 22 },
		{ "empty.txt", "# nothing here\n\n   \n", 20 },
	};
	return pat_ruleset_compile_sources(s, 3, NULL, rs, e);
}

struct ecase {
	const char *src;
	int status;
	unsigned line;
	const char *marker; /* the column points here (+off); NULL: column 1 */
	int off;
	const char *msg;
};

static const struct ecase errors[] = {
	{ "bogus id=1", PAT_ESYNTAX, 1, "bogus", 0, "unknown directive" },
	{ "rule id=1 cat", PAT_ESYNTAX, 1, "cat", 0, "expected key=value" },
	{ "rule id=1 cat=spam target=norm action=block pat=/x/ desc=\"d", PAT_ESYNTAX, 1,
	  "\"d", 0, "unterminated string" },
	{ "rule id=1 cat=spam target=norm action=block desc=\"d\" pat=/x", PAT_ESYNTAX, 1,
	  "/x", 0, "unterminated /pattern/" },
	{ BASE " colour=red", PAT_ESYNTAX, 1, "colour", 0, "unknown key 'colour'" },
	{ "rule id=1 id=2 cat=spam target=norm action=block pat=/x/ desc=\"d\"",
	  PAT_ESYNTAX, 1, "id=2", 0, "duplicate key 'id'" },
	{ "rule id=1 cat=spam target=norm action=block pat=/x/", PAT_ESYNTAX, 1, NULL, 0,
	  "lacks required key 'desc'" },
	{ "rule id=1 cat=spam action=block pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1, NULL, 0,
	  "lacks required key 'target'" },
	{ BASE " list=l.txt", PAT_ESYNTAX, 1, NULL, 0, "exactly one of" },
	{ "rule id=1 cat=spam target=norm action=block desc=\"d\"", PAT_ESYNTAX, 1, NULL, 0,
	  "exactly one of" },
	{ "rule id=0 cat=spam target=norm action=block pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "id=0", 3, "id must be" },
	{ "rule id=12a cat=spam target=norm action=block pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "id=12a", 3, "id must be" },
	{ "rule id=4294967296 cat=spam target=norm action=block pat=/x/ desc=\"d\"",
	  PAT_ESYNTAX, 1, "id=4", 3, "id must be" },
	{ "rule id=1 cat=sp@m target=norm action=block pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "sp@m", 0, "bad category name" },
	{ "rule id=1 cat=lottery target=norm action=block pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "lottery", 0, "unknown category 'lottery'" },
	{ "rule id=1 cat=spam target=body action=block pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "body", 0, "target must be" },
	{ "rule id=1 cat=spam target=norm action=drop pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "drop", 0, "action must be" },
	{ "rule id=1 cat=spam target=norm action=score:abc pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "abc", 0, "weight" },
	{ "rule id=1 cat=spam target=norm action=score:0 pat=/x/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "0 pat", 0, "weight" },
	/* scores are summed in millionths: a seventh decimal would be lost */
	{ "rule id=1 cat=spam target=norm action=score:0.0000001 pat=/x/ desc=\"d\"", PAT_ESYNTAX,
	  1, "0.0000001", 0, "at most six decimals" },
	{ "threshold cat=spam block=1.2345678", PAT_ESYNTAX, 1, "1.2", 0, "at most six decimals" },
	{ "rule id=1 cat=spam target=norm action=block pat=/x/ desc=\"\"", PAT_ESYNTAX, 1,
	  "\"\"", 0, "empty description" },
	{ "rule id=1 cat=spam target=norm action=block pat=x desc=\"d\"", PAT_ESYNTAX, 1,
	  "x desc", 0, "pat must be written" },
	{ "rule id=1 cat=spam target=norm action=block pat=// desc=\"d\"", PAT_ESYNTAX, 1,
	  "//", 0, "empty pattern" },
	{ BASE " match=exact", PAT_ESYNTAX, 1, "match", 0, "match= applies" },
	{ "rule id=1 cat=spam target=norm action=block pat=/x/iq desc=\"d\"", PAT_ESYNTAX, 1,
	  "q desc", 0, "unknown pattern flag 'q'" },
	/* a '/' inside a class ends the pattern: the error says how to write it */
	{ "rule id=1 cat=spam target=norm action=block pat=/a[/]b/ desc=\"d\"", PAT_ESYNTAX, 1,
	  "]b/", 0, "write a '/' inside the pattern as \\/" },
	{ "rule id=1 cat=spam target=norm action=block pat=/x/ desc=/d/", PAT_ESYNTAX, 1,
	  "/d/", 0, "only pat=" },
	{ "rule id=1 cat=spam target=norm action=block list=nope.txt desc=\"d\"", PAT_ESYNTAX,
	  1, "nope", 0, "not found" },
	{ "rule id=1 cat=spam target=norm action=block list=empty.txt desc=\"d\"", PAT_ESYNTAX,
	  1, "empty.txt", 0, "is empty" },
	{ "rule id=1 cat=spam target=url action=block list=l.txt match=exact desc=\"d\"",
	  PAT_ESYNTAX, 1, "exact", 0, "match must be" },
	{ "# first\n" BASE "\n\nrule id=1 cat=fraud target=text action=block pat=/y/ desc=\"e\"",
	  PAT_EDUPID, 4, "id=1 cat=fraud", 3, "duplicate rule id 1 (first at t.rules:2)" },
	{ "category name=spam", PAT_ESYNTAX, 1, "spam", 0, "already defined" },
	{ "category foo=bar", PAT_ESYNTAX, 1, "foo", 0, "category takes exactly name=NAME" },
	{ "category name=c1\ncategory name=c2\ncategory name=c3\ncategory name=c4\n"
	  "category name=c5\ncategory name=c6\ncategory name=c7\ncategory name=c8\n"
	  "category name=c9\ncategory name=c10\ncategory name=c11\ncategory name=c12",
	  PAT_ELIMIT, 12, "c12", 0, "too many categories" },
	{ "threshold cat=spam blok=3", PAT_ESYNTAX, 1, "blok", 0, "unknown or repeated key" },
	{ "threshold cat=spam", PAT_ESYNTAX, 1, NULL, 0, "needs cat= and block=" },
	{ "threshold cat=spam block=-1", PAT_ESYNTAX, 1, "-1", 0, "positive decimal" },
	{ "threshold cat=nope block=1", PAT_ESYNTAX, 1, "nope", 0, "unknown category 'nope'" },
	{ "threshold cat=spam block=1\nthreshold cat=spam monitor=2", PAT_ESYNTAX, 2,
	  "spam", 0, "second threshold" },
	{ "threshold cat=* block=1\nthreshold cat=* block=2", PAT_ESYNTAX, 2, "*", 0,
	  "second threshold" },
	{ BASE " scope=some", PAT_ESYNTAX, 1, "some", 0, "scope must be" },
	{ BASE " scope=only:a,,b", PAT_ESYNTAX, 1, ",b", 0, "bad system_id" },
	{ "rule id=1 cat=spam target=norm action=block pat=/(unclosed/ desc=\"d\"",
	  PAT_ECOMPILE, 1, "/(unclosed", 0, "Hyperscan: Missing close parenthesis" },
	{ "rule id=1 cat=spam target=norm action=block pat=/a{99999}/ desc=\"d\"",
	  PAT_ECOMPILE, 1, "/a{", 0, "Hyperscan: " },
	{ BASE " a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1", PAT_ESYNTAX, 1, "k=1", 0,
	  "too many fields" },
	{ BASE "x", PAT_ESYNTAX, 1, "\"x", 1, "expected space after value" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		const struct ecase *c = &errors[i];
		struct pat_ruleset *rs = (void *)1;
		struct pat_error e;
		unsigned col = 1;
		int rc = compile1(c->src, strlen(c->src), &rs, &e);

		if (c->marker) {
			/* column within the error's line */
			const char *ls = c->src;
			for (unsigned l = 1; l < c->line; l++)
				ls = strchr(ls, '\n') + 1;
			const char *m = strstr(ls, c->marker);
			assert_non_null(m);
			col = (unsigned)(m - ls) + 1 + (unsigned)c->off;
		}
		if (rc != c->status || e.line != c->line || e.column != col ||
		    strcmp(e.file, "t.rules") != 0 || !strstr(e.message, c->msg)) {
			print_error("case %zu: rc %d (%s) at %s:%u:%u \"%s\"; want %d at t.rules:%u:%u \"%s\"\n",
				    i, rc, pat_strerror(rc), e.file, e.line, e.column,
				    e.message, c->status, c->line, col, c->msg);
			fail();
		}
		assert_null(rs);
	}
}

/* NUL inside a rule file is refused at its column. */
static void test_nul_byte(void **state)
{
	static const char src[] = "# ok\nrule id=1\0 cat=spam";
	struct pat_ruleset *rs;
	struct pat_error e;

	(void)state;
	assert_int_equal(compile1(src, sizeof(src) - 1, &rs, &e), PAT_ESYNTAX);
	assert_int_equal(e.line, 2);
	assert_int_equal(e.column, 10);
	assert_non_null(strstr(e.message, "NUL"));
}

/* Files saved by editors that write a UTF-8 byte-order mark (and CRLF):
 * the mark is not part of the first directive or the first literal. It
 * made line 1 an "unknown directive", and the first literal of a list
 * never matched (the mark was part of it) without any error. */
static void test_bom(void **state)
{
	static const char rules[] =
		"\xef\xbb\xbfrule id=1 cat=malware target=url action=block list=hosts.txt desc=\"h\"\r\n"
		"rule id=2 cat=spam target=norm action=block list=words.txt desc=\"w\"\r\n";
	static const char hosts[] = "\xef\xbb\xbf" "evil.example\r\nbad.example\r\n";
	static const char words[] = "\xef\xbb\xbf" "free cash\r\n";
	struct pat_source s[3] = {
		{ "t.rules", rules, sizeof(rules) - 1 },
		{ "hosts.txt", hosts, sizeof(hosts) - 1 },
		{ "words.txt", words, sizeof(words) - 1 },
	};
	struct pat_ruleset *rs;
	struct pat_scratch *sc;
	struct pat_error e;
	struct pat_result r;
	struct pat_msg m = { 0 };

	(void)state;
	assert_int_equal(pat_ruleset_compile_sources(s, 3, NULL, &rs, &e), PAT_OK);
	assert_int_equal(pat_scratch_alloc(rs, &sc), PAT_OK);
	m.text = "go to http://evil.example/x";
	m.text_len = strlen(m.text);
	assert_int_equal(pat_scan_msg(rs, sc, &m, &r), PAT_OK);
	assert_int_equal(r.rule_id, 1);
	m.text = "go to http://bad.example/x";
	m.text_len = strlen(m.text);
	assert_int_equal(pat_scan_msg(rs, sc, &m, &r), PAT_OK);
	assert_int_equal(r.rule_id, 1);
	m.text = "get FREE cash";
	m.text_len = strlen(m.text);
	assert_int_equal(pat_scan_msg(rs, sc, &m, &r), PAT_OK);
	assert_int_equal(r.rule_id, 2);
	pat_scratch_free(sc);
	pat_ruleset_free(rs);

	/* columns of line 1 count from after the mark */
	static const char bad[] = "\xef\xbb\xbfrule id=1 cat=sp@m target=norm action=block pat=/x/ desc=\"d\"";
	assert_int_equal(compile1(bad, sizeof(bad) - 1, &rs, &e), PAT_ESYNTAX);
	assert_int_equal(e.line, 1);
	assert_int_equal(e.column, 15);
	assert_non_null(strstr(e.message, "bad category name"));

	/* a list holding only the mark and blank lines is empty */
	struct pat_source s2[2] = {
		{ "t.rules", "rule id=1 cat=spam target=norm action=block list=b.txt desc=\"d\"", 63 },
		{ "b.txt", "\xef\xbb\xbf\r\n\r\n", 7 },
	};
	assert_int_equal(pat_ruleset_compile_sources(s2, 2, NULL, &rs, &e), PAT_ESYNTAX);
	assert_non_null(strstr(e.message, "is empty"));
}

static void test_bad_args(void **state)
{
	struct pat_ruleset *rs;
	struct pat_source s = { NULL, "", 0 };

	(void)state;
	assert_int_equal(pat_ruleset_compile_sources(NULL, 1, NULL, &rs, NULL), PAT_EINVAL);
	assert_int_equal(pat_ruleset_compile_sources(&s, 1, NULL, &rs, NULL), PAT_EINVAL);
	assert_int_equal(pat_ruleset_compile_sources(&s, 0, NULL, NULL, NULL), PAT_EINVAL);
	assert_int_equal(pat_ruleset_compile_dir("/nonexistent/dir", NULL, &rs, NULL), PAT_EIO);
	/* two sources with one name */
	struct pat_source two[2] = { { "a.rules", "", 0 }, { "a.rules", "", 0 } };
	assert_int_equal(pat_ruleset_compile_sources(two, 2, NULL, &rs, NULL), PAT_EINVAL);
}

/* The valid forms: comments, blank lines, escapes, categories, thresholds. */
static void test_valid(void **state)
{
	static const char src[] =
		"# a comment line\n"
		"\n"
		"   # indented comment\n"
		"category name=lottery\n"
		"threshold cat=lottery block=2.5 monitor=1\n"
		"threshold cat=* block=10\n"
		"rule id=7 cat=lottery target=norm action=score:1.25 pat=/a\\/b/i desc=\"say \\\"hi\\\"\" ref=\"RFC 1\"   # trailing comment\n"
		"rule id=8 cat=spam target=sender action=block list=l.txt match=exact desc=\"x\" scope=except:c1,c2\n"
		"rule id=9 cat=spam target=norm action=score:-0.5 pat=/z/ desc=\"negative\"\n"
		"rule id=10 cat=spam target=text desc=\"c\" action=block pat=/Q/i# comment after the flags\n";
	struct pat_ruleset *rs;
	struct pat_error e;
	struct pat_rule_info ri;

	(void)state;
	assert_int_equal(compile1(src, strlen(src), &rs, &e), PAT_OK);
	assert_int_equal(pat_ruleset_rule_count(rs), 4);
	assert_int_equal(pat_ruleset_category_count(rs), 6);
	assert_int_equal(pat_category_id(rs, "lottery", 7), 5);
	assert_string_equal(pat_category_name(rs, 5), "lottery");
	assert_string_equal(pat_category_name(rs, PAT_CAT_SPOOFING), "spoofing");
	assert_null(pat_category_name(rs, 6));
	assert_true(pat_category_threshold(rs, 5) == 2.5);
	assert_true(pat_ruleset_total_threshold(rs) == 10);
	assert_int_equal(pat_rule_info(rs, 7, &ri), PAT_OK);
	assert_string_equal(ri.description, "say \"hi\"");
	assert_string_equal(ri.reference, "RFC 1");
	assert_string_equal(ri.pattern, "/a/b/i");
	assert_int_equal(ri.action, PAT_ACTION_SCORE);
	assert_true(ri.weight == 1.25);
	assert_int_equal(ri.category, 5);
	assert_int_equal(pat_rule_info(rs, 8, &ri), PAT_OK);
	assert_true(ri.is_list);
	assert_int_equal(ri.target, PAT_TARGET_SENDER);
	assert_int_equal(pat_rule_info(rs, 9, &ri), PAT_OK);
	assert_true(ri.weight == -0.5);
	assert_int_equal(pat_rule_info(rs, 10, &ri), PAT_OK);
	assert_string_equal(ri.pattern, "/Q/i");
	assert_int_equal(pat_rule_info(rs, 11, &ri), PAT_EINVAL);
	pat_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_bom),
	};
	return cmocka_run_group_tests_name("pat_parser", tests, NULL, NULL);
}
