/* pat_priv.h — private to patterns/: ruleset layout shared by the compiler,
 * the loader and the scanner. */
#ifndef PAT_PRIV_H
#define PAT_PRIV_H

#include <hs/hs.h>

#include "pat.h"

enum pat_scope_mode {
	PAT_SCOPE_ALL = 0,
	PAT_SCOPE_ONLY = 1,
	PAT_SCOPE_EXCEPT = 2,
};

/* How a list's literals meet the scanned buffer (see pat_compile.c). */
enum pat_list_match {
	PAT_LIST_CONTAINS = 0,
	PAT_LIST_EXACT = 1,  /* sender/dest: "\nVALUE\n" */
	PAT_LIST_DOMAIN = 2, /* url: "\n" reversed host "." (see pat_url.c) */
};

struct pat_rule {
	uint32_t id;
	uint8_t category;
	uint8_t target;
	uint8_t action;
	uint8_t is_list;
	uint8_t list_match;
	uint8_t scope_mode;
	uint16_t scope_n;
	uint32_t scope_off; /* index into ruleset scope_names */
	float weight;
	char *pattern; /* "/re/flags" source form or list name */
	char *desc;
	char *ref;
};

enum { PAT_KIND_RE = 0, PAT_KIND_LIT = 1, PAT_KIND_COUNT = 2 };
enum { PAT_MODE_BLOCK = 0, PAT_MODE_STREAM = 1, PAT_MODE_COUNT = 2 };

/* Targets 0..PAT_STREAM_TARGETS-1 (text, norm, norm-subst) also stream. */
#define PAT_STREAM_TARGETS 3
#define PAT_SCOPE_NAME_MAX 32

struct pat_ruleset {
	uint64_t version;
	uint8_t source_hash[32];
	struct pat_rule *rules; /* hs id = index */
	uint32_t n_rules;
	char cat_names[PAT_MAX_CATEGORIES][PAT_CATEGORY_NAME_MAX + 1];
	float cat_block[PAT_MAX_CATEGORIES];   /* 0: no threshold */
	float cat_monitor[PAT_MAX_CATEGORIES]; /* 0: no threshold */
	float total_block, total_monitor;      /* cat=*: sum over categories */
	unsigned n_cats;
	char (*scope_names)[PAT_SCOPE_NAME_MAX + 1];
	uint32_t n_scope_names;
	hs_database_t *db[PAT_TARGET_COUNT][PAT_KIND_COUNT][PAT_MODE_COUNT];
	size_t stream_bytes; /* sum of hs_stream_size over stream dbs */
	uint32_t *by_id;     /* rule indexes sorted by id */
	/* List literals carry their own Hyperscan ids, n_rules + k (one shared
	 * id for 100k literals makes Hyperscan's compile explode); lit_rule[k]
	 * is the rule index of literal k. */
	uint32_t *lit_rule;
	uint32_t n_lits;
	/* Whole-word rules of norm / norm-subst, matched by pat_words_scan
	 * in block mode instead of Hyperscan (pat_words.c); rebuilt from the
	 * rules' patterns by pat_ruleset_finish, never serialised. */
	struct pat_words *words;
	uint8_t word_targets; /* bit 0: norm rules present, bit 1: norm-subst */
	uint32_t n_word_rules;
};

/* Lookup id → index (binary search over a sorted index). */
int pat_rule_index(const struct pat_ruleset *rs, uint32_t rule_id);

/* Fill err (may be NULL). */
void pat_error_set(struct pat_error *err, const char *file, unsigned line,
		   unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Read a whole file into a malloc'd buffer. */
int pat_file_read(const char *path, void **data, size_t *len);

/* URL hosts are looked for in tokens: runs of bytes between separators
 * (pat_url_sep). Only the first PAT_URL_TOKEN_MAX bytes of a token are
 * examined — room for "https://", user information as long as Android
 * links it (64 bytes, ':', 25 bytes, '@'), the longest host name (253) and
 * the byte after it — so a stream that carries an unfinished token into the
 * next part needs to keep no more than that and still agrees with block
 * mode. */
#define PAT_URL_TOKEN_MAX (8 + 91 + 253 + 1)

/* 1 when c ends a URL token. */
int pat_url_sep(unsigned char c);

/* Extract URL hosts from text; writes "host\n" lines to re_out and
 * "\n" + reversed host + "." per host to lit_out. Returns number of hosts;
 * hosts that do not fit are left out. */
unsigned pat_url_hosts(const char *text, size_t len, char *re_out,
		       size_t re_cap, size_t *re_len, char *lit_out,
		       size_t lit_cap, size_t *lit_len);

/* The PAT_NORM_SUBST pass alone, in place, over already normalised text. */
void pat_normalise_subst(char *s, size_t n);

void pat_ruleset_free_parts(struct pat_ruleset *rs);

/* Whole-word rules (pat_words.c). pat_words_rule: 1 if the rule is one
 * (it then stays out of the block-mode Hyperscan database). build/free:
 * the per-target tables. scan: calls cb(rule index) once per matching
 * word rule (stamp[slot] == epoch marks a rule already reported; stamp
 * holds n_word_rules entries); tables: bit 0 the norm rules, bit 1 the
 * norm-subst rules; returns 1 if cb asked to stop. */
int pat_words_rule(const struct pat_rule *r);
int pat_words_build(struct pat_ruleset *rs);
void pat_words_free(struct pat_ruleset *rs);
#define PAT_WORDS_PAD 64 /* txt of pat_words_scan: readable this far past n */
int pat_words_scan(const struct pat_ruleset *rs, unsigned tables,
		   const char *txt, size_t n, uint32_t *stamp, uint32_t epoch,
		   int (*cb)(unsigned rule, void *ctx), void *ctx);

/* Build the id index and the stream size (compiler and loader). */
int pat_ruleset_finish(struct pat_ruleset *rs);

#endif
