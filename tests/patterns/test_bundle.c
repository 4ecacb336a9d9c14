/*
 * test_bundle.c — signed rule bundles: a good bundle opens with the signer's
 * key and compiles; any changed byte, any truncation, another key → refused
 * with a reason.
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
#include <sodium.h>

#include "pat.h"

static const char rules[] =
	"rule id=1 cat=fraud target=url action=block list=hosts.txt desc=\"bad host\"\n"
	"rule id=2 cat=spam target=norm action=block pat=/free entry/ desc=\"free entry\"\n";
static const char hosts[] = "evil.example\n";

static uint8_t pk[PAT_BUNDLE_PUBLICKEY_BYTES], sk[PAT_BUNDLE_SECRETKEY_BYTES];
static unsigned char *bundle;
static size_t blen;

static int setup(void **state)
{
	struct pat_source s[2] = { { "t.rules", rules, sizeof(rules) - 1 },
				   { "hosts.txt", hosts, sizeof(hosts) - 1 } };
	(void)state;
	if (pat_bundle_keygen(pk, sk))
		return -1;
	return pat_bundle_create(s, 2, sk, (void **)&bundle, &blen);
}

static int teardown(void **state)
{
	(void)state;
	free(bundle);
	return 0;
}

static void test_good(void **state)
{
	struct pat_bundle_contents c;
	struct pat_error e;
	struct pat_ruleset *rs;

	(void)state;
	assert_memory_equal(bundle, PAT_BUNDLE_MAGIC, 8);
	assert_int_equal(pat_bundle_open(bundle, blen, pk, &c, &e), PAT_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.srcs[0].name, "t.rules");
	assert_int_equal(c.srcs[0].len, sizeof(rules) - 1);
	assert_memory_equal(c.srcs[0].data, rules, sizeof(rules) - 1);
	assert_string_equal(c.srcs[1].name, "hosts.txt");
	assert_int_equal(pat_ruleset_compile_sources(c.srcs, c.n, NULL, &rs, &e), PAT_OK);
	assert_int_equal(pat_ruleset_rule_count(rs), 2);
	pat_ruleset_free(rs);
	pat_bundle_contents_free(&c);
}

/* Every single byte of the bundle, flipped, makes it refused. */
static void test_every_byte_tampered(void **state)
{
	unsigned char *bad = malloc(blen);
	struct pat_bundle_contents c;
	struct pat_error e;

	(void)state;
	for (size_t i = 0; i < blen; i++) {
		memcpy(bad, bundle, blen);
		bad[i] ^= 0x01;
		int rc = pat_bundle_open(bad, blen, pk, &c, &e);
		if (i < 8) {
			assert_int_equal(rc, PAT_EFORMAT);
		} else {
			assert_int_equal(rc, PAT_ESIGNATURE);
			assert_non_null(strstr(e.message, "signature does not verify"));
		}
		assert_null(c.srcs);
	}
	free(bad);
}

static void test_truncated(void **state)
{
	struct pat_bundle_contents c;
	struct pat_error e;

	(void)state;
	for (size_t n = 0; n < blen; n++) {
		unsigned char *cut = malloc(n ? n : 1);
		memcpy(cut, bundle, n);
		int rc = pat_bundle_open(cut, n, pk, &c, &e);
		assert_true(rc == PAT_ETRUNCATED || rc == PAT_ESIGNATURE);
		if (n < 8 + 4 + 64)
			assert_int_equal(rc, PAT_ETRUNCATED);
		free(cut);
	}
}

static void test_wrong_key(void **state)
{
	uint8_t pk2[PAT_BUNDLE_PUBLICKEY_BYTES], sk2[PAT_BUNDLE_SECRETKEY_BYTES];
	struct pat_bundle_contents c;
	struct pat_error e;

	(void)state;
	assert_int_equal(pat_bundle_keygen(pk2, sk2), PAT_OK);
	assert_int_equal(pat_bundle_open(bundle, blen, pk2, &c, &e), PAT_ESIGNATURE);
	assert_non_null(strstr(e.message, "another key"));
}

static void write_file(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

static void test_files(void **state)
{
	char bpath[] = "/tmp/pat_bundle_XXXXXX", kpath[64], hex[2 * PAT_BUNDLE_PUBLICKEY_BYTES + 2];
	uint8_t back[PAT_BUNDLE_PUBLICKEY_BYTES];
	struct pat_ruleset *rs;
	struct pat_error e;
	int fd = mkstemp(bpath);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(bpath, bundle, blen);
	assert_int_equal(pat_ruleset_compile_bundle(bpath, pk, NULL, &rs, &e), PAT_OK);
	assert_int_equal(pat_ruleset_rule_count(rs), 2);
	pat_ruleset_free(rs);
	/* one byte changed in the file: refused, names the file */
	unsigned char *bad = malloc(blen);
	memcpy(bad, bundle, blen);
	bad[blen / 2] ^= 0x80;
	write_file(bpath, bad, blen);
	assert_int_equal(pat_ruleset_compile_bundle(bpath, pk, NULL, &rs, &e), PAT_ESIGNATURE);
	assert_string_equal(e.file, bpath);
	free(bad);
	unlink(bpath);

	/* key files: hex text; a bad one is refused */
	snprintf(kpath, sizeof(kpath), "%s.pub", bpath);
	for (unsigned i = 0; i < sizeof(pk); i++)
		snprintf(hex + 2 * i, 3, "%02x", pk[i]);
	hex[2 * sizeof(pk)] = '\n';
	write_file(kpath, hex, 2 * sizeof(pk) + 1);
	assert_int_equal(pat_key_load(kpath, back, sizeof(back)), PAT_OK);
	assert_memory_equal(back, pk, sizeof(pk));
	assert_int_equal(pat_key_load(kpath, back, PAT_BUNDLE_SECRETKEY_BYTES), PAT_EFORMAT);
	hex[5] = 'g';
	write_file(kpath, hex, 2 * sizeof(pk) + 1);
	assert_int_equal(pat_key_load(kpath, back, sizeof(back)), PAT_EFORMAT);
	unlink(kpath);
	assert_int_equal(pat_key_load(kpath, back, sizeof(back)), PAT_EIO);
}

static void test_bad_names(void **state)
{
	struct pat_source s = { "../etc/passwd", "x", 1 };
	void *out;
	size_t n;

	(void)state;
	assert_int_equal(pat_bundle_create(&s, 1, sk, &out, &n), PAT_EINVAL);
	s.name = "";
	assert_int_equal(pat_bundle_create(&s, 1, sk, &out, &n), PAT_EINVAL);
}

/* A bundle signed with the trusted key but naming a file "../x.rules",
 * "/etc/x.rules", ".hidden" or "a\\b" (made by hand, as a compromised or
 * careless signer could): the signature holds, the names are refused. */
static void test_signed_bad_names(void **state)
{
	static const char *const bad[] = { "../x.rules", "/etc/x.rules", ".hidden",
					   "a\\b.txt", "a\nb.txt", "" };

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		unsigned char b[256];
		uint32_t cnt = 1, nl = (uint32_t)strlen(bad[k]);
		uint64_t dl = 2;
		size_t o = 0;
		struct pat_bundle_contents c;
		struct pat_error e;

		memcpy(b, PAT_BUNDLE_MAGIC, 8);
		o = 8;
		memcpy(b + o, &cnt, 4);
		o += 4;
		memcpy(b + o, &nl, 4);
		o += 4;
		memcpy(b + o, bad[k], nl);
		o += nl;
		memcpy(b + o, &dl, 8);
		o += 8;
		memcpy(b + o, "x\n", 2);
		o += 2;
		crypto_sign_detached(b + o, NULL, b, o, sk);
		o += crypto_sign_BYTES;
		assert_int_equal(pat_bundle_open(b, o, pk, &c, &e), PAT_EFORMAT);
		assert_non_null(strstr(e.message, "malformed"));
		assert_null(c.srcs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_signed_bad_names),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_every_byte_tampered),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests_name("pat_bundle", tests, setup, teardown);
}
