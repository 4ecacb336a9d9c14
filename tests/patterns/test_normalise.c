/*
 * test_normalise.c — pat_normalise(): table-driven cases for each fold the
 * README promises, boundary handling (invalid UTF-8, tiny output buffers),
 * and a differential sample against ICU's own confusable skeleton and NFKC
 * for the non-ASCII → ASCII mappings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "pat.h"

struct ncase {
	const char *in;
	unsigned flags;
	const char *want;
};

static const struct ncase cases[] = {
	/* ASCII: lower case, whitespace runs, trimming */
	{ "Hello  WORLD", 0, "hello world" },
	{ "  \t lead and trail \n ", 0, "lead and trail" },
	{ "tab\tand\r\nnewline", 0, "tab and newline" },
	/* longer than one 16-byte chunk: upper case, double spaces at and
	 * across chunk boundaries, controls, a space ending a chunk */
	{ "THIS IS A LONG UPPER-CASE MESSAGE  WITH  DOUBLE SPACES\tAND\x01TABS", 0,
	  "this is a long upper-case message with double spaces and tabs" },
	{ "ABCDEFGHIJKLMNO  PQRSTUVWXYZ[\\]^_`{|}~@ abcdefghijklmnop", 0,
	  "abcdefghijklmno pqrstuvwxyz[\\]^_`{|}~@ abcdefghijklmnop" },
	{ "0123456789ABCDE fghijklmnopqrst \x7f" "end of text", 0,
	  "0123456789abcde fghijklmnopqrst end of text" },
	/* Cyrillic and Greek homoglyphs */
	{ "\xd0\xa0\xd0\xb0y\xd0\xa0\xd0\xb0l", 0, "paypal" },              /* РаyРаl */
	{ "\xd0\xb0\xd1\x81\xd1\x81\xd0\xbeunt", 0, "account" },            /* аccоunt */
	{ "\xce\x91\xce\x9c\xce\x91\xce\x96\xce\x9f\xce\x9d", 0, "amazon" }, /* ΑΜΑΖΟΝ */
	/* full-width, mathematical, enclosed */
	{ "\xef\xbc\xa6\xef\xbd\x92\xef\xbd\x85\xef\xbd\x85", 0, "free" },  /* Ｆｒｅｅ */
	{ "\xf0\x9d\x90\x96\xf0\x9d\x90\xa2\xf0\x9d\x90\xa7", 0, "win" },   /* 𝐖𝐢𝐧 */
	{ "\xe2\x93\x92\xe2\x93\x90\xe2\x93\xa2\xe2\x93\x97", 0, "cash" },  /* ⓒⓐⓢⓗ */
	{ "\xe2\x91\xa0\xe2\x91\xa1", 0, "12" },                            /* ①② */
	/* accents dropped */
	{ "Caf\xc3\xa9 \xc3\x80 la cr\xc3\xa8me", 0, "cafe a la creme" },
	/* zero-width and format characters removed */
	{ "fr\xe2\x80\x8b" "ee", 0, "free" },           /* U+200B */
	{ "fr\xe2\x80\x8c" "e\xe2\x80\x8d" "e", 0, "free" }, /* U+200C U+200D */
	{ "cl\xc2\xad" "aim", 0, "claim" },             /* soft hyphen */
	{ "pri\xe2\x81\xa0ze", 0, "prize" },            /* U+2060 */
	{ "\xef\xbb\xbfwin", 0, "win" },                /* BOM */
	{ "wi\xef\xb8\x8fn", 0, "win" },                /* VS16 */
	{ "a\xe2\x80\x8e" "b", 0, "ab" },               /* LRM */
	/* Unicode spaces are word separators */
	{ "no\xc2\xa0" "break\xe3\x80\x80space", 0, "no break space" },
	/* separators between single letters collapse */
	{ "f r e e entry", 0, "free entry" },
	{ "F.R.E.E", 0, "free" },
	{ "c-l-a-i-m now", 0, "claim now" },
	{ "w_i_n", 0, "win" },
	{ "u r ok", 0, "u r ok" },            /* two letters: left alone */
	{ "a b c", PAT_NORM_NO_COLLAPSE, "a b c" },
	{ "a.b c.d", 0, "a.b c.d" },          /* mixed separators: no run */
	/* digit / symbol substitution, only when asked, only in words */
	{ "fr33 c@sh w1n $ave 4ll", PAT_NORM_SUBST, "free cash win save all" },
	{ "fr33 c@sh", 0, "fr33 c@sh" },
	{ "call 0800 123 now", PAT_NORM_SUBST, "call 0800 123 now" },
	{ "5t0p", PAT_NORM_SUBST, "stop" },
	{ "Ｆ ｒ ３ ３", PAT_NORM_SUBST, "free" },
	/* invalid UTF-8 → U+FFFD per bad byte */
	{ "a\xff" "b", 0, "a\xef\xbf\xbd" "b" },
	{ "\xc3", 0, "\xef\xbf\xbd" },                 /* cut sequence */
	{ "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
	{ "\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong */
	/* non-ASCII without ASCII look-alike passes through */
	{ "\xe4\xbd\xa0\xe5\xa5\xbd", 0, "\xe4\xbd\xa0\xe5\xa5\xbd" },
	{ "", 0, "" },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];
		size_t n = pat_normalise(cases[i].in, strlen(cases[i].in), out,
					 sizeof(out), cases[i].flags);
		if (n != strlen(cases[i].want) || memcmp(out, cases[i].want, n) != 0) {
			print_error("case %zu \"%s\": got \"%.*s\" want \"%s\"\n", i,
				    cases[i].in, (int)n, out, cases[i].want);
			fail();
		}
	}
}

/* A run of single letters is collapsed wherever it sits in a long text
 * (the prefilter works on overlapping 64-byte windows), and text without
 * such a run comes out unchanged however long it is. */
static void test_collapse_offsets(void **state)
{
	(void)state;
	for (size_t off = 0; off < 140; off++) {
		char in[256], want[256], out[256];
		if (off == 1)
			continue; /* "x f r e e": the x is a single letter too */
		memset(in, 'x', off);
		memcpy(in + off, " f r e e ", 9);
		memset(in + off + 9, 'y', 20);
		size_t n = off + 29, w = 0;
		memset(want, 'x', off);
		w = off;
		if (off)
			want[w++] = ' ';
		memcpy(want + w, "free ", 5);
		w += 5;
		memset(want + w, 'y', 20);
		w += 20;
		size_t got = pat_normalise(in, n, out, sizeof(out), 0);
		if (got != w || memcmp(out, want, w) != 0) {
			print_error("offset %zu: got \"%.*s\"\n", off, (int)got, out);
			fail();
		}
		/* two single letters only: nothing collapses */
		memcpy(in + off, " f r eee ", 9);
		got = pat_normalise(in, n, out, sizeof(out), 0);
		assert_non_null(memmem(out, got, "f r eee", 7));
	}
}

/* Output is cut on a character boundary and never overruns the buffer. */
static void test_small_buffer(void **state)
{
	const char *in = "\xd0\xb0\xe4\xbd\xa0 hello";
	char out[8];

	(void)state;
	for (size_t cap = 0; cap <= sizeof(out); cap++) {
		memset(out, 'X', sizeof(out));
		size_t n = pat_normalise(in, strlen(in), out, cap, 0);
		assert_true(n <= cap);
		for (size_t k = cap; k < sizeof(out); k++)
			assert_int_equal(out[k], 'X');
	}
	/* cap 2: "a" fits, the 3-byte CJK character does not: "a" only */
	assert_int_equal(pat_normalise(in, strlen(in), out, 2, 0), 1);
	assert_int_equal(out[0], 'a');
	assert_int_equal(pat_normalise(NULL, 3, out, 8, 0), 0);
}

/*
 * Differential sample against ICU, computed here at test time from ICU
 * itself (not from the generated table). For every 5th code point of the
 * BMP and of the mathematical alphanumerics:
 *  - when NFKC turns it into ASCII letters/digits, the normaliser must give
 *    exactly that, lower-cased;
 *  - otherwise, when ICU's confusable skeleton of it is ASCII letters/digits,
 *    the normaliser must give ASCII letters/digits that ICU holds confusable
 *    with it: skeleton(output) or skeleton(upper-cased output) equals
 *    skeleton(code point).
 * ICU's skeleton itself is not the expected output (it maps "I" to "l" and
 * keeps case); only the confusability relation is compared.
 */
static int ascii_alnum_lower(const UChar *u, int32_t n, char *out)
{
	if (n <= 0 || n > 4)
		return 0;
	for (int32_t i = 0; i < n; i++) {
		UChar c = u[i];
		if (c >= 'A' && c <= 'Z')
			c = (UChar)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
		out[i] = (char)c;
	}
	out[n] = 0;
	return 1;
}

static int32_t skel_of(USpoofChecker *sc, const UChar *in, int32_t n, UChar *out)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t k = uspoof_getSkeleton(sc, 0, in, n, out, 64, &st);
	return U_SUCCESS(st) ? k : -1;
}

static void check_cp(USpoofChecker *sc, const UNormalizer2 *nfkc, UChar32 cp,
		     unsigned *n_nfkc, unsigned *n_skel)
{
	UChar in[2], a[64], sk[64], so[64], su[64], ou[8];
	int32_t n = 0, na, ns, k = 0;
	UErrorCode st = U_ZERO_ERROR;
	char want[8], u8[8], out[32];

	if (U_IS_SURROGATE(cp) || !u_isdefined(cp))
		return;
	U16_APPEND_UNSAFE(in, n, cp);
	U8_APPEND_UNSAFE(u8, k, cp);
	size_t got = pat_normalise(u8, (size_t)k, out, sizeof(out), PAT_NORM_NO_COLLAPSE);

	na = unorm2_normalize(nfkc, in, n, a, 64, &st);
	if (U_FAILURE(st))
		return;
	if (ascii_alnum_lower(a, na, want)) {
		if (got != strlen(want) || memcmp(out, want, got) != 0) {
			print_error("U+%04X: got \"%.*s\", NFKC gives \"%s\"\n",
				    (unsigned)cp, (int)got, out, want);
			fail();
		}
		(*n_nfkc)++;
		return;
	}
	if (na != n || memcmp(a, in, (size_t)n * sizeof(UChar)) != 0)
		return; /* NFKC changes it to non-ASCII: accent folding decides */
	ns = skel_of(sc, in, n, sk);
	if (ns <= 0 || !ascii_alnum_lower(sk, ns, want))
		return;
	if (got > 4) {
		print_error("U+%04X: got \"%.*s\", too long\n", (unsigned)cp, (int)got, out);
		fail();
	}
	for (size_t i = 0; i < got; i++) {
		char c = out[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			print_error("U+%04X: got \"%.*s\", ICU skeleton is ASCII \"%s\"\n",
				    (unsigned)cp, (int)got, out, want);
			fail();
		}
		ou[i] = (UChar)c;
	}
	if (got == 0) {
		print_error("U+%04X: removed, ICU skeleton is \"%s\"\n", (unsigned)cp, want);
		fail();
	}
	int32_t nso = skel_of(sc, ou, (int32_t)got, so);
	for (size_t i = 0; i < got; i++)
		su[i] = (ou[i] >= 'a' && ou[i] <= 'z') ? (UChar)(ou[i] - 32) : ou[i];
	int32_t nsu = skel_of(sc, su, (int32_t)got, su + 8);
	if (!((nso == ns && memcmp(so, sk, (size_t)ns * sizeof(UChar)) == 0) ||
	      (nsu == ns && memcmp(su + 8, sk, (size_t)ns * sizeof(UChar)) == 0))) {
		print_error("U+%04X: got \"%.*s\", not confusable with it per ICU\n",
			    (unsigned)cp, (int)got, out);
		fail();
	}
	(*n_skel)++;
}

static void test_icu_differential(void **state)
{
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&st);
	USpoofChecker *sc = uspoof_open(&st);
	unsigned n_nfkc = 0, n_skel = 0;

	(void)state;
	assert_true(U_SUCCESS(st));
	for (UChar32 cp = 0x80; cp < 0x10000; cp += 5)
		check_cp(sc, nfkc, cp, &n_nfkc, &n_skel);
	for (UChar32 cp = 0x1D400; cp < 0x1D800; cp += 5)
		check_cp(sc, nfkc, cp, &n_nfkc, &n_skel);
	uspoof_close(sc);
	/* the sample must actually hold both kinds of look-alike */
	print_message("checked %u NFKC and %u skeleton mappings\n", n_nfkc, n_skel);
	assert_true(n_nfkc > 100);
	assert_true(n_skel > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_collapse_offsets),
		cmocka_unit_test(test_icu_differential),
	};
	return cmocka_run_group_tests_name("pat_normalise", tests, NULL, NULL);
}
