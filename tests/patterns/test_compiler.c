/*
 * test_compiler.c — compiled rulesets: the source hash, the serialised blob
 * (round trip; every header check refuses a damaged blob), files and
 * directories, and the shipped rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pat.h"

static const char rules_a[] =
	"threshold cat=spam block=3\n"
	"rule id=10 cat=spam target=norm action=score:2 pat=/\\bprize\\b/ desc=\"prize\"\n"
	"rule id=11 cat=spam target=norm action=score:2 pat=/\\bclaim\\b/ desc=\"claim\"\n"
	"rule id=12 cat=fraud target=url action=block list=bad.txt desc=\"bad host\"\n"
	"rule id=13 cat=fraud target=text action=monitor pat=/PIN/ desc=\"pin\"\n";
static const char list_bad[] = "evil.example\n";

static int compile_ab(const char *a, const char *b, struct pat_ruleset **rs)
{
	struct pat_source s[2] = {
		{ "a.rules", a, strlen(a) },
		{ "bad.txt", b, strlen(b) },
	};
	return pat_ruleset_compile_sources(s, 2, NULL, rs, NULL);
}

static void scan_text(const struct pat_ruleset *rs, const char *t,
		      struct pat_result *r)
{
	struct pat_scratch *s;
	struct pat_msg m = { .text = t, .text_len = strlen(t) };

	assert_int_equal(pat_scratch_alloc(rs, &s), PAT_OK);
	assert_int_equal(pat_scan_msg(rs, s, &m, r), PAT_OK);
	pat_scratch_free(s);
}

static void test_source_hash(void **state)
{
	struct pat_ruleset *x, *y, *z;
	struct pat_source fwd[2] = { { "a.rules", rules_a, strlen(rules_a) },
				     { "bad.txt", list_bad, strlen(list_bad) } };
	struct pat_source rev[2] = { fwd[1], fwd[0] };
	char hx[65], hy[65];

	(void)state;
	assert_int_equal(pat_ruleset_compile_sources(fwd, 2, NULL, &x, NULL), PAT_OK);
	assert_int_equal(pat_ruleset_compile_sources(rev, 2, NULL, &y, NULL), PAT_OK);
	assert_memory_equal(pat_ruleset_source_hash(x), pat_ruleset_source_hash(y), 32);
	pat_ruleset_source_hash_hex(x, hx);
	pat_ruleset_source_hash_hex(y, hy);
	assert_string_equal(hx, hy);
	assert_int_equal(strlen(hx), 64);
	/* one byte more in the list: another hash */
	assert_int_equal(compile_ab(rules_a, "evil.example\nx.example\n", &z), PAT_OK);
	assert_memory_not_equal(pat_ruleset_source_hash(x), pat_ruleset_source_hash(z), 32);
	pat_ruleset_free(x);
	pat_ruleset_free(y);
	pat_ruleset_free(z);
}

static void test_roundtrip(void **state)
{
	struct pat_compile_opts o = { .version = 42 };
	struct pat_source s[2] = { { "a.rules", rules_a, strlen(rules_a) },
				   { "bad.txt", list_bad, strlen(list_bad) } };
	struct pat_ruleset *rs, *back;
	struct pat_result r1, r2;
	struct pat_error e;
	void *blob;
	size_t len;

	(void)state;
	assert_int_equal(pat_ruleset_compile_sources(s, 2, &o, &rs, NULL), PAT_OK);
	assert_int_equal(pat_ruleset_serialize(rs, &blob, &len), PAT_OK);
	assert_memory_equal(blob, PAT_BLOB_MAGIC, 8);
	assert_int_equal(pat_ruleset_load(blob, len, &back, &e), PAT_OK);
	assert_int_equal(pat_ruleset_version(back), 42);
	assert_int_equal(pat_ruleset_rule_count(back), 4);
	assert_memory_equal(pat_ruleset_source_hash(rs), pat_ruleset_source_hash(back), 32);
	const char *texts[] = { "claim your prize", "see http://www.evil.example/x",
				"your PIN", "hello" };
	for (unsigned i = 0; i < 4; i++) {
		scan_text(rs, texts[i], &r1);
		scan_text(back, texts[i], &r2);
		assert_int_equal(r1.verdict, r2.verdict);
		assert_int_equal(r1.rule_id, r2.rule_id);
		assert_int_equal(r1.n_matches, r2.n_matches);
	}
	/* serialising the loaded copy gives the same bytes */
	void *blob2;
	size_t len2;
	assert_int_equal(pat_ruleset_serialize(back, &blob2, &len2), PAT_OK);
	assert_int_equal(len, len2);
	assert_memory_equal(blob, blob2, len);
	free(blob2);

	/* save/load through a file */
	char path[] = "/tmp/pat_test_blob_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pat_ruleset_save_file(rs, path), PAT_OK);
	pat_ruleset_free(back);
	assert_int_equal(pat_ruleset_load_file(path, &back, &e), PAT_OK);
	assert_int_equal(pat_ruleset_version(back), 42);
	unlink(path);
	assert_int_equal(pat_ruleset_load_file(path, &back, &e), PAT_EIO);

	pat_ruleset_free(back);
	pat_ruleset_free(rs);
	free(blob);
}

/* Offsets into the blob header: magic 0, format 8, hdr_len 12, hs_version
 * 16..80, tune 80, cpu_features 88, version 96, source hash 104, payload
 * length 136, checksum 144; payload from 160. */
static void test_blob_refused(void **state)
{
	struct pat_ruleset *rs, *back = (void *)1;
	struct pat_error e;
	unsigned char *blob, *bad;
	size_t len;

	(void)state;
	assert_int_equal(compile_ab(rules_a, list_bad, &rs), PAT_OK);
	assert_int_equal(pat_ruleset_serialize(rs, (void **)&blob, &len), PAT_OK);
	bad = malloc(len);

	memcpy(bad, blob, len);
	bad[0] ^= 1;
	assert_int_equal(pat_ruleset_load(bad, len, &back, &e), PAT_EFORMAT);
	assert_non_null(strstr(e.message, "magic"));
	assert_null(back);

	memcpy(bad, blob, len);
	bad[8] = 99;
	assert_int_equal(pat_ruleset_load(bad, len, &back, &e), PAT_EFORMAT);
	assert_non_null(strstr(e.message, "format"));

	memcpy(bad, blob, len);
	bad[88] ^= 0x10; /* another CPU's features */
	assert_int_equal(pat_ruleset_load(bad, len, &back, &e), PAT_EPLATFORM);

	memcpy(bad, blob, len);
	bad[20] ^= 1; /* Hyperscan version string */
	assert_int_equal(pat_ruleset_load(bad, len, &back, &e), PAT_EPLATFORM);

	/* any payload byte changed: checksum */
	for (size_t off = 160; off < len; off += 97) {
		memcpy(bad, blob, len);
		bad[off] ^= 0x40;
		assert_int_equal(pat_ruleset_load(bad, len, &back, &e), PAT_ECHECKSUM);
	}
	/* truncated anywhere */
	for (size_t n = 0; n < len; n += 61)
		assert_int_equal(pat_ruleset_load(blob, n, &back, &e), PAT_ETRUNCATED);
	/* trailing garbage */
	unsigned char *longer = calloc(1, len + 1);
	memcpy(longer, blob, len);
	assert_int_equal(pat_ruleset_load(longer, len + 1, &back, &e), PAT_EFORMAT);
	free(longer);
	assert_int_equal(pat_ruleset_load(NULL, len, &back, &e), PAT_EINVAL);
	free(bad);
	free(blob);
	pat_ruleset_free(rs);
}

static void test_files_and_dirs(void **state)
{
	struct pat_ruleset *rs;
	struct pat_error e;
	char dir[] = "/tmp/pat_test_dir_XXXXXX", p1[256], p2[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p1, sizeof(p1), "%s/a.rules", dir);
	snprintf(p2, sizeof(p2), "%s/bad.txt", dir);
	f = fopen(p1, "w");
	fputs(rules_a, f);
	fclose(f);
	f = fopen(p2, "w");
	fputs(list_bad, f);
	fclose(f);
	assert_int_equal(pat_ruleset_compile_dir(dir, NULL, &rs, &e), PAT_OK);
	assert_int_equal(pat_ruleset_rule_count(rs), 4);
	pat_ruleset_free(rs);
	const char *paths[] = { p1, p2 };
	assert_int_equal(pat_ruleset_compile_files(paths, 2, NULL, &rs, &e), PAT_OK);
	pat_ruleset_free(rs);
	/* without the list the rule that names it fails, at its line */
	assert_int_equal(pat_ruleset_compile_files(paths, 1, NULL, &rs, &e), PAT_ESYNTAX);
	assert_string_equal(e.file, "a.rules");
	assert_int_equal(e.line, 4);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

/* The shipped rules compile, with every category present, and the dir hash
 * is stable from one compile to the next. */
static void test_shipped(void **state)
{
	struct pat_ruleset *a, *b;
	struct pat_error e;

	(void)state;
	if (pat_ruleset_compile_dir(PAT_RULES_DIR, NULL, &a, &e) != PAT_OK) {
		print_error("%s:%u:%u: %s\n", e.file, e.line, e.column, e.message);
		fail();
	}
	assert_int_equal(pat_ruleset_compile_dir(PAT_RULES_DIR, NULL, &b, &e), PAT_OK);
	assert_memory_equal(pat_ruleset_source_hash(a), pat_ruleset_source_hash(b), 32);
	assert_true(pat_ruleset_rule_count(a) >= 50);
	pat_ruleset_free(a);
	pat_ruleset_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_refused),
		cmocka_unit_test(test_source_hash),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_files_and_dirs),
		cmocka_unit_test(test_shipped),
	};
	return cmocka_run_group_tests_name("pat_compiler", tests, NULL, NULL);
}
