/*
 * fuzz_pat_normalise — pat_normalise() and the scan path (URL hosts, the
 * word table, Hyperscan) on arbitrary bytes. The first byte chooses the
 * flags and the output capacity; the output buffer is exactly that size so
 * an overrun faults. Normalised output fed back is never longer than the
 * first pass. The block scan (whole-word rules in the word table) and a
 * one-part stream of the same text (every rule in Hyperscan) must report
 * the same rules and verdict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pat_ruleset *rs;
static struct pat_scratch *sc;

static void init(void)
{
	static const char rules[] =
		"rule id=1 cat=malware target=url action=block pat=/^bit\\.ly$/ desc=\"x\"\n"
		"rule id=2 cat=malware target=url action=block list=l.txt desc=\"x\"\n"
		"rule id=3 cat=spam target=norm-subst action=score:1 pat=/free/ desc=\"x\"\n"
		/* whole-word rules: the word table in block mode */
		"rule id=4 cat=spam target=norm action=score:1 pat=/\\b(win|prize|gift\\s?card|i'?m|congrat(ulation)?s|a\\sb\\sc)\\b/ desc=\"x\"\n"
		"rule id=5 cat=spam target=norm-subst action=score:1 pat=/\\b(free\\s(cash|entry)|t&c|cash)\\b/ desc=\"x\"\n"
		"rule id=6 cat=spam target=norm action=score:1 pat=/\\b(x|_|0|zz|abcdefghijklmnopq)\\b/ desc=\"x\"\n";
	struct pat_source s[2] = { { "r.rules", rules, sizeof(rules) - 1 },
				   { "l.txt", "evil.example\n", 13 } };
	if (pat_ruleset_compile_sources(s, 2, NULL, &rs, NULL) ||
	    pat_scratch_alloc(rs, &sc))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rs)
		init();
	if (size < 1)
		return 0;
	unsigned flags = data[0] & 3;
	size_t cap = (data[0] >> 2) == 63 ? 3 * size + 8 : (data[0] >> 2);
	char *in = malloc(size - 1 ? size - 1 : 1);
	char *out = malloc(cap ? cap : 1);
	if (!in || !out)
		abort();
	memcpy(in, data + 1, size - 1);
	size_t n = pat_normalise(in, size - 1, out, cap, flags);
	if (n > cap)
		abort();
	char *again = malloc(n ? n : 1);
	if (!again)
		abort();
	if (pat_normalise(out, n, again, n, flags) > n)
		abort();

	struct pat_msg m = { .text = in, .text_len = size - 1 };
	struct pat_result r, mid, str;
	if (pat_scan_msg(rs, sc, &m, &r) != PAT_OK)
		abort();
	size_t cap_st = pat_stream_size(rs);
	void *mem = aligned_alloc(8, (cap_st + 7) & ~(size_t)7);
	struct pat_stream *st;
	if (!mem || pat_stream_open(rs, sc, mem, cap_st, &st) != PAT_OK ||
	    pat_stream_scan(rs, sc, st, &m, &mid) != PAT_OK ||
	    pat_stream_close(rs, sc, st, &str) != PAT_OK)
		abort();
	/* same rules (as sets) and verdict */
	if (r.verdict != str.verdict || r.n_matches != str.n_matches)
		abort();
	for (unsigned i = 0; i < r.n_matches; i++) {
		unsigned k = 0;
		while (k < str.n_matches && str.matches[k] != r.matches[i])
			k++;
		if (k == str.n_matches)
			abort();
	}
	free(mem);
	free(again);
	free(out);
	free(in);
	return 0;
}
