/*
 * fuzz_pat_normalise — pat_normalise() and the URL-host extraction of the
 * scan path on arbitrary bytes. The first byte chooses the flags and the
 * output capacity; the output buffer is exactly that size so an overrun
 * faults. Normalised output fed back is never longer than the first pass.
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
		"rule id=3 cat=spam target=norm-subst action=score:1 pat=/free/ desc=\"x\"\n";
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
	struct pat_result r;
	if (pat_scan_msg(rs, sc, &m, &r) != PAT_OK)
		abort();
	free(again);
	free(out);
	free(in);
	return 0;
}
