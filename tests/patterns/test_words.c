/*
 * test_words.c — whole-word rules (/\b(win|prize)\b/ on normalised text)
 * are matched in block mode by a word table instead of Hyperscan, while
 * the streaming databases keep them. A user notices only if the two ever
 * disagree, so every case here checks the block verdict and matches
 * against the expected ones AND against a one-part stream of the same
 * text; then the shipped rules over both shared corpora, message by
 * message.
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

static const char rules[] =
	"rule id=1 cat=spam target=norm action=score:1 pat=/\\b(gift\\s?card|i'?m|win)\\b/ desc=\"words\"\n"
	"rule id=2 cat=spam target=norm action=score:1 pat=/\\bcongrat(ulation)?s\\b|\\blucky\\b/ desc=\"branches\"\n"
	"rule id=3 cat=spam target=norm-subst action=score:1 pat=/\\b(free\\s(cash|entry)|t&c)\\b/ desc=\"subst words\"\n"
	"rule id=4 cat=spam target=norm action=score:1 pat=/\\b(games?|txts?)\\b/ desc=\"optional letter\"\n"
	/* not whole-word rules: stay in Hyperscan */
	"rule id=5 cat=spam target=norm action=score:1 pat=/\\b\\d{3}p\\b/ desc=\"class\"\n"
	"rule id=6 cat=spam target=norm action=score:1 pat=/\\b(www\\.)/ desc=\"open end\"\n"
	"rule id=7 cat=spam target=norm action=score:1 pat=/\\bwin/i desc=\"flags\"\n"
	"rule id=8 cat=spam target=text action=score:1 pat=/\\bWin\\b/ desc=\"raw text\"\n";

static struct pat_ruleset *rs;
static struct pat_scratch *sc;

static int load(const char *text, size_t len)
{
	struct pat_source s = { "w.rules", text, len };
	struct pat_error e;

	if (pat_ruleset_compile_sources(&s, 1, NULL, &rs, &e)) {
		print_error("%s:%u:%u %s\n", e.file, e.line, e.column, e.message);
		return -1;
	}
	return pat_scratch_alloc(rs, &sc);
}

static int setup(void **state)
{
	(void)state;
	return load(rules, sizeof(rules) - 1);
}

static int teardown(void **state)
{
	(void)state;
	pat_scratch_free(sc);
	pat_ruleset_free(rs);
	sc = NULL;
	rs = NULL;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Matched ids, sorted, as a comma list. */
static void ids(const struct pat_result *r, char *out, size_t cap)
{
	uint32_t v[PAT_MAX_MATCHES];
	size_t o = 0;

	memcpy(v, r->matches, r->n_matches * sizeof(uint32_t));
	qsort(v, r->n_matches, sizeof(uint32_t), cmp_u32);
	out[0] = '\0';
	for (unsigned i = 0; i < r->n_matches && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%u", i ? "," : "", v[i]);
}

/* Block and one-part stream of the same text: both results. */
static void both(const char *t, size_t n, struct pat_result *blk,
		 struct pat_result *str)
{
	struct pat_msg m = { .text = t, .text_len = n };
	size_t cap = pat_stream_size(rs);
	void *mem = aligned_alloc(8, (cap + 7) & ~(size_t)7);
	struct pat_stream *st;
	struct pat_result mid;

	assert_non_null(mem);
	assert_int_equal(pat_scan_msg(rs, sc, &m, blk), PAT_OK);
	assert_int_equal(pat_stream_open(rs, sc, mem, cap, &st), PAT_OK);
	assert_int_equal(pat_stream_scan(rs, sc, st, &m, &mid), PAT_OK);
	assert_int_equal(pat_stream_close(rs, sc, st, str), PAT_OK);
	free(mem);
}

static void test_word_cases(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "" },
		{ "a giftcard for you", "1" },
		{ "a gift card for you", "1" },
		{ "a GIFT   CARD", "1" },         /* normalised: lower, one space */
		{ "gift-card", "" },              /* \s is not '-' */
		{ "giftcards", "" },              /* no boundary after */
		{ "the gift cards", "" },
		{ "I'm in", "1" },
		{ "im in", "1" },
		{ "him", "" },                    /* no boundary before */
		{ "win win win", "1,7" },         /* counted once */
		{ "winner", "7" },                /* rule 7 has no \b at the end */
		{ "Win now", "1,7,8" },
		{ "congrats", "2" },
		{ "congratulations and good luck", "2" },
		{ "congratulation", "" },
		{ "lucky", "2" },
		{ "fr33 c@sh", "3" },             /* norm-subst: "free cash" */
		{ "free  cash", "3" },
		{ "fr33 entry", "3" },            /* norm-subst: fr33 → free */
		{ "t&c apply", "3" },
		{ "t&cs apply", "" },
		{ "game", "4" },
		{ "games and txts", "4" },
		{ "gamess", "" },
		{ "150p", "5" },
		{ "www.example.com", "6" },
		{ "_win_", "" },                  /* '_' is a word character */
		{ "(win)", "1,7" },
		{ "\xc3\xa9win\xc3\xa9", "" },    /* é folds to e: "ewine" */
		{ "x\xe2\x80\x8bwin", "" },       /* zero-width removed: "xwin" */
		{ "x\xe2\x80\x8b win", "1,7" },
	};
	char a[256], b[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pat_result blk, str;
		both(cases[i].text, strlen(cases[i].text), &blk, &str);
		ids(&blk, a, sizeof(a));
		ids(&str, b, sizeof(b));
		if (strcmp(a, cases[i].want) || strcmp(b, cases[i].want))
			fail_msg("case %zu \"%s\": block {%s} stream {%s} want {%s}",
				 i, cases[i].text, a, b, cases[i].want);
	}
}

/* The word table finds word runs 64 bytes at a time: words that end at,
 * start at or straddle a 64-byte boundary, runs longer than 64 bytes and
 * texts of every length around the boundaries must give what Hyperscan
 * gives in the stream. The words of the rules sit at every offset. */
static void test_chunk_boundaries(void **state)
{
	static const char *const words[] = { "win", "giftcard", "gift card", "congrats",
					      "lucky", "game", "txts", "i'm" };
	char text[300], a[256], b[256];
	unsigned hits = 0, cases = 0;

	(void)state;
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
		for (size_t off = 0; off < 140; off++)
			for (int pad = 0; pad < 3; pad++) {
				const char *fill = pad == 0 ? "x" : pad == 1 ? " " : "_";
				size_t wl = strlen(words[w]), n = 0;
				struct pat_result blk, str;
				for (size_t k = 0; k < off; k++)
					text[n++] = (k % 7 == 6 && pad != 1) ? ' ' : fill[0];
				memcpy(text + n, words[w], wl);
				n += wl;
				/* and after it: nothing, a boundary, or more word bytes */
				for (int k = 0; k < (int)(off % 3) * 30; k++)
					text[n++] = pad == 2 ? 'y' : ' ';
				both(text, n, &blk, &str);
				ids(&blk, a, sizeof(a));
				ids(&str, b, sizeof(b));
				if (strcmp(a, b) || blk.verdict != str.verdict)
					fail_msg("\"%s\" at %zu (fill %d, %zu bytes): block {%s} stream {%s}",
						 words[w], off, pad, n, a, b);
				hits += blk.n_matches > 0;
				cases++;
			}
	/* spaces around the word (fill " ") make it a whole word: a third
	 * of the cases at least must match, or this tests nothing */
	print_message("%u of %u texts matched a rule\n", hits, cases);
	assert_true(hits * 3 >= cases);
}

/* Fixed-seed random texts made of the rules' words, near misses and
 * filler, joined by random separators, up to ~300 bytes: block == stream. */
static void test_random_texts(void **state)
{
	static const char *const tok[] = {
		"win", "wins", "xwin", "win_", "WIN", "gift", "card", "giftcard", "gift card",
		"congrats", "congratulations", "lucky", "game", "games", "gamess", "txts",
		"i'm", "im", "I'M", "fr33", "free", "cash", "c@sh", "entry", "t&c", "t&cs",
		"150p", "www.", "hello", "0123456789", "\xc3\xa9", "zz",
	};
	static const char *const sep[] = { " ", "  ", "-", ".", "_", "", "\n", "!", "\xe2\x80\x8b" };
	uint32_t x = 0x5eed0003u;
	char text[400], a[256], b[256];
	unsigned hits = 0;

	(void)state;
	for (int round = 0; round < 4000; round++) {
		struct pat_result blk, str;
		size_t n = 0, want;
		x = x * 1103515245u + 12345u;
		want = (x >> 8) % 300;
		while (n < want) {
			x = x * 1103515245u + 12345u;
			const char *t = tok[(x >> 16) % (sizeof(tok) / sizeof(tok[0]))];
			x = x * 1103515245u + 12345u;
			const char *p = sep[(x >> 16) % (sizeof(sep) / sizeof(sep[0]))];
			size_t tl = strlen(t), pl = strlen(p);
			memcpy(text + n, t, tl);
			n += tl;
			memcpy(text + n, p, pl);
			n += pl;
		}
		both(text, n, &blk, &str);
		ids(&blk, a, sizeof(a));
		ids(&str, b, sizeof(b));
		if (strcmp(a, b) || blk.verdict != str.verdict)
			fail_msg("round %d (%zu bytes): block {%s} stream {%s}: %.*s", round, n, a, b,
				 (int)n, text);
		hits += blk.n_matches > 0;
	}
	print_message("%u of 4000 random texts matched a rule\n", hits);
	assert_true(hits >= 2000);
}

/* Shipped rules, both corpora, every message: block == stream. */
static void test_shipped_equivalence(void **state)
{
	static const char *names[] = { "uci-dev.tsv", "smishing-dev.tsv" };
	char path[4096], line[16384], a[512], b[512];
	struct pat_error e;
	unsigned n = 0, blocked = 0;

	(void)state;
	pat_scratch_free(sc);
	pat_ruleset_free(rs);
	sc = NULL;
	rs = NULL;
	assert_int_equal(pat_ruleset_compile_dir(PAT_RULES_DIR, NULL, &rs, &e), PAT_OK);
	assert_int_equal(pat_scratch_alloc(rs, &sc), PAT_OK);
	for (unsigned f = 0; f < 2; f++) {
		FILE *fp;
		snprintf(path, sizeof(path), "%s/%s", PAT_CORPUS_DIR, names[f]);
		fp = fopen(path, "r");
		if (!fp) {
			print_message("no corpus %s\n", path);
			skip();
		}
		while (fgets(line, sizeof(line), fp)) {
			char *t = strchr(line, '\t');
			struct pat_result blk, str;
			if (!t)
				continue;
			t++;
			both(t, strcspn(t, "\r\n"), &blk, &str);
			ids(&blk, a, sizeof(a));
			ids(&str, b, sizeof(b));
			if (strcmp(a, b) || blk.verdict != str.verdict)
				fail_msg("%s: block {%s} v%d, stream {%s} v%d: %s",
					 names[f], a, blk.verdict, b, str.verdict, t);
			blocked += blk.verdict == PAT_VERDICT_BLOCK;
			n++;
		}
		fclose(fp);
	}
	print_message("%u messages, %u blocked, block == stream for all\n", n, blocked);
	assert_true(n > 5000);
	assert_true(blocked > 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_word_cases),
		cmocka_unit_test(test_chunk_boundaries),
		cmocka_unit_test(test_random_texts),
		cmocka_unit_test(test_shipped_equivalence),
	};
	return cmocka_run_group_tests_name("pat_words", tests, setup, teardown);
}
