/*
 * fuzz_pat_rules — the rule parser and compiler on arbitrary rule files.
 * The input is one rule file "f.rules" beside a small list "l.txt". When it
 * compiles, the ruleset goes through serialise → load and two scans (a
 * fixed text, and the input itself as text, so whole-word rules find their
 * words), so the metadata the parser produced is exercised end to end; the
 * loaded ruleset (word table rebuilt from the patterns) must decide as the
 * compiled one did.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char list[] = "evil.example\nHSBC\n";
	char *copy = malloc(size ? size : 1);
	struct pat_source s[2];
	struct pat_compile_opts o = { .no_streaming = 1 };
	struct pat_ruleset *rs = NULL, *back = NULL;
	struct pat_error e;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	s[0].name = "f.rules";
	s[0].data = copy;
	s[0].len = size;
	s[1].name = "l.txt";
	s[1].data = list;
	s[1].len = sizeof(list) - 1;
	if (pat_ruleset_compile_sources(s, 2, &o, &rs, &e) == PAT_OK) {
		void *blob;
		size_t len;
		if (pat_ruleset_serialize(rs, &blob, &len) == PAT_OK) {
			if (pat_ruleset_load(blob, len, &back, &e) == PAT_OK) {
				struct pat_scratch *sc, *sc0;
				if (pat_scratch_alloc(back, &sc) == PAT_OK) {
					static const char t[] = "Claim your prize at http://evil.example/x now";
					struct pat_msg m = { .text = t, .text_len = sizeof(t) - 1,
							     .sender = "HSBC", .sender_len = 4,
							     .system_id = "acme", .system_id_len = 4 };
					struct pat_result r, r0;
					pat_scan_msg(back, sc, &m, &r);
					m.text = copy;
					m.text_len = size;
					if (pat_scan_msg(back, sc, &m, &r) == PAT_OK &&
					    pat_scratch_alloc(rs, &sc0) == PAT_OK) {
						if (pat_scan_msg(rs, sc0, &m, &r0) != PAT_OK ||
						    r0.verdict != r.verdict ||
						    r0.n_matches != r.n_matches)
							abort();
						pat_scratch_free(sc0);
					}
					pat_scratch_free(sc);
				}
				pat_ruleset_free(back);
			}
			free(blob);
		}
		pat_ruleset_free(rs);
	} else {
		/* an error always says where and why */
		if (!e.message[0])
			abort();
	}
	free(copy);
	return 0;
}
