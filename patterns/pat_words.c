/*
 * pat_words.c — whole-word rules matched without Hyperscan in block mode.
 *
 * Most score rules are word lists: /\b(win|prize|lottery)\b/. Hyperscan
 * runs every such rule on every byte (its literal matcher fires on "in" in
 * "winning", then checks), and ~100 of them cost ~2 µs per short message.
 * A rule whose pattern is only whole words is a finite set of strings S:
 * it matches iff one s in S stands in the text between word boundaries.
 * Normalised text is cut into word runs ([0-9A-Za-z_], Hyperscan's \w
 * without UCP), each run is looked up once in a hash table keyed on the
 * first word of every s, and a candidate is confirmed with memcmp and a
 * boundary check after it. The cost no longer grows with the number of
 * word rules.
 *
 * Accepted, and only for target=norm / norm-subst, no flags: a pattern
 * that is one or more top-level branches, each \b … \b, built of literal
 * characters, escaped punctuation, \s (normalised text has no whitespace
 * but single spaces, so \s is ' '), groups (…) / (?:…) with alternation,
 * and ? after any item; at most PAT_WORDS_MAX_EXPANSIONS strings of at
 * most PAT_WORDS_MAX_LEN bytes, each starting and ending with a word
 * character. Anything else stays a Hyperscan rule. The same rules stay in
 * the streaming databases (concatenated messages), so block and stream
 * results are the same.
 */
#include <stdlib.h>
#include <string.h>

#include "pat_priv.h"

#define PAT_WORDS_MAX_EXPANSIONS 512
#define PAT_WORDS_MAX_LEN 120
#define BOUND '\x01' /* \b while expanding */

struct pat_word_var {
	uint32_t next;      /* chain in the bucket, UINT32_MAX ends */
	uint32_t hash;      /* of the first word */
	uint32_t rule;      /* rule index */
	uint32_t slot;      /* dense word-rule number (dedupe stamps) */
	uint16_t len;       /* whole string */
	uint16_t first_len; /* first word run */
	uint32_t off;       /* into arena */
};

struct pat_words {
	uint32_t *bucket; /* head index per bucket, UINT32_MAX empty */
	uint32_t mask;
	struct pat_word_var *var;
	uint32_t n_var, cap_var;
	char *arena;
	size_t arena_len, arena_cap;
};

static int is_word(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '_';
}

static uint32_t hash_bytes(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/* ------------------------------------------------------------------ */
/* Expansion of the regex subset into a set of strings                 */
/* ------------------------------------------------------------------ */

struct strset {
	char (*s)[PAT_WORDS_MAX_LEN + 3];
	uint16_t *len;
	unsigned n;
};

struct expander {
	const char *p, *end;
	int bad;
};

static int set_alloc(struct strset *a)
{
	a->s = malloc(sizeof(*a->s) * PAT_WORDS_MAX_EXPANSIONS);
	a->len = malloc(sizeof(*a->len) * PAT_WORDS_MAX_EXPANSIONS);
	a->n = 0;
	return a->s && a->len ? 0 : -1;
}

static void set_free(struct strset *a)
{
	free(a->s);
	free(a->len);
	a->s = NULL;
	a->len = NULL;
}

/* a := a × b (concatenation of every pair) */
static int set_concat(struct strset *a, const struct strset *b)
{
	struct strset r;

	if ((size_t)a->n * b->n > PAT_WORDS_MAX_EXPANSIONS)
		return -1;
	if (set_alloc(&r))
		return -1;
	for (unsigned i = 0; i < a->n; i++)
		for (unsigned j = 0; j < b->n; j++) {
			size_t l = (size_t)a->len[i] + b->len[j];
			if (l > PAT_WORDS_MAX_LEN + 2) {
				set_free(&r);
				return -1;
			}
			memcpy(r.s[r.n], a->s[i], a->len[i]);
			memcpy(r.s[r.n] + a->len[i], b->s[j], b->len[j]);
			r.len[r.n++] = (uint16_t)l;
		}
	set_free(a);
	*a = r;
	return 0;
}

/* a := a ∪ b */
static int set_union(struct strset *a, const struct strset *b)
{
	if (a->n + b->n > PAT_WORDS_MAX_EXPANSIONS)
		return -1;
	for (unsigned j = 0; j < b->n; j++) {
		memcpy(a->s[a->n], b->s[j], b->len[j]);
		a->len[a->n++] = b->len[j];
	}
	return 0;
}

static int set_one(struct strset *a, const char *s, size_t n)
{
	if (set_alloc(a))
		return -1;
	memcpy(a->s[0], s, n);
	a->len[0] = (uint16_t)n;
	a->n = 1;
	return 0;
}

static int parse_alt(struct expander *x, struct strset *out);

/* One item (atom with an optional '?') into out. */
static int parse_item(struct expander *x, struct strset *out)
{
	char c = *x->p;
	char lit[1];

	if (c == '(') {
		x->p++;
		if (x->end - x->p >= 2 && x->p[0] == '?' && x->p[1] == ':')
			x->p += 2;
		if (parse_alt(x, out))
			return -1;
		if (x->p >= x->end || *x->p != ')') {
			set_free(out);
			return -1;
		}
		x->p++;
	} else if (c == '\\') {
		if (x->end - x->p < 2)
			return -1;
		char e = x->p[1];
		x->p += 2;
		if (e == 'b')
			lit[0] = BOUND;
		else if (e == 's')
			lit[0] = ' ';
		else if (strchr("/.-'&:!,+*?()[]{}|$^#@\"", e) && e)
			lit[0] = e;
		else
			return -1; /* classes (\d, \w…) and other escapes */
		if (set_one(out, lit, 1))
			return -1;
	} else if (strchr(".[]{}*+^$|)?", c)) {
		return -1;
	} else if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) {
		return -1;
	} else {
		lit[0] = c;
		x->p++;
		if (set_one(out, lit, 1))
			return -1;
	}
	if (x->p < x->end && *x->p == '?') {
		x->p++;
		if (out->n + 1 > PAT_WORDS_MAX_EXPANSIONS) {
			set_free(out);
			return -1;
		}
		out->len[out->n++] = 0; /* the empty string */
	}
	if (x->p < x->end && strchr("*+{", *x->p)) {
		set_free(out);
		return -1;
	}
	return 0;
}

static int parse_seq(struct expander *x, struct strset *out)
{
	if (set_one(out, "", 0))
		return -1;
	while (x->p < x->end && *x->p != '|' && *x->p != ')') {
		struct strset it;
		if (parse_item(x, &it)) {
			set_free(out);
			return -1;
		}
		int rc = set_concat(out, &it);
		set_free(&it);
		if (rc) {
			set_free(out);
			return -1;
		}
	}
	return 0;
}

static int parse_alt(struct expander *x, struct strset *out)
{
	if (parse_seq(x, out))
		return -1;
	while (x->p < x->end && *x->p == '|') {
		struct strset b;
		x->p++;
		if (parse_seq(x, &b)) {
			set_free(out);
			return -1;
		}
		int rc = set_union(out, &b);
		set_free(&b);
		if (rc) {
			set_free(out);
			return -1;
		}
	}
	return 0;
}

/* Expand the rule's pattern ("/re/flags" source form) into out: the
 * strings without their \b marks. 0 if the rule is a whole-word rule. */
static int expand_rule(const struct pat_rule *r, struct strset *out)
{
	const char *pat = r->pattern;
	struct expander x;
	size_t n;

	if (r->is_list || !pat || pat[0] != '/' ||
	    (r->target != PAT_TARGET_NORM && r->target != PAT_TARGET_NORM_SUBST))
		return -1;
	n = strlen(pat);
	if (n < 3 || pat[n - 1] != '/')
		return -1; /* flags present: left to Hyperscan */
	x.p = pat + 1;
	x.end = pat + n - 1;
	x.bad = 0;
	if (parse_alt(&x, out))
		return -1;
	if (x.p != x.end || out->n == 0) {
		set_free(out);
		return -1;
	}
	for (unsigned i = 0; i < out->n; i++) {
		char *s = out->s[i];
		unsigned l = out->len[i];
		if (l < 3 || s[0] != BOUND || s[l - 1] != BOUND ||
		    !is_word((unsigned char)s[1]) || !is_word((unsigned char)s[l - 2]) ||
		    memchr(s + 1, BOUND, l - 2)) {
			set_free(out);
			return -1;
		}
		memmove(s, s + 1, l - 2);
		out->len[i] = (uint16_t)(l - 2);
	}
	return 0;
}

int pat_words_rule(const struct pat_rule *r)
{
	struct strset s;

	if (expand_rule(r, &s))
		return 0;
	set_free(&s);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Table                                                               */
/* ------------------------------------------------------------------ */

static void words_free(struct pat_words *w)
{
	if (!w)
		return;
	free(w->bucket);
	free(w->var);
	free(w->arena);
	free(w);
}

void pat_words_free(struct pat_ruleset *rs)
{
	for (unsigned t = 0; t < 2; t++) {
		words_free(rs->words[t]);
		rs->words[t] = NULL;
	}
	rs->n_word_rules = 0;
}

static int words_add(struct pat_words *w, const char *s, size_t n,
		     uint32_t rule, uint32_t slot)
{
	struct pat_word_var *v;
	size_t fl = 0;

	if (w->n_var == w->cap_var) {
		uint32_t nc = w->cap_var ? 2 * w->cap_var : 64;
		void *p = realloc(w->var, nc * sizeof(*w->var));
		if (!p)
			return PAT_ENOMEM;
		w->var = p;
		w->cap_var = nc;
	}
	if (w->arena_len + n > w->arena_cap) {
		size_t nc = w->arena_cap ? 2 * w->arena_cap : 4096;
		while (nc < w->arena_len + n)
			nc *= 2;
		void *p = realloc(w->arena, nc);
		if (!p)
			return PAT_ENOMEM;
		w->arena = p;
		w->arena_cap = nc;
	}
	while (fl < n && is_word((unsigned char)s[fl]))
		fl++;
	v = &w->var[w->n_var++];
	v->hash = hash_bytes(s, fl);
	v->rule = rule;
	v->slot = slot;
	v->len = (uint16_t)n;
	v->first_len = (uint16_t)fl;
	v->off = (uint32_t)w->arena_len;
	memcpy(w->arena + w->arena_len, s, n);
	w->arena_len += n;
	return PAT_OK;
}

static int words_index(struct pat_words *w)
{
	uint32_t nb = 16;

	while (nb < 2 * w->n_var)
		nb *= 2;
	w->bucket = malloc(nb * sizeof(uint32_t));
	if (!w->bucket)
		return PAT_ENOMEM;
	memset(w->bucket, 0xff, nb * sizeof(uint32_t));
	w->mask = nb - 1;
	/* insert back to front so a chain lists variants in rule order */
	for (uint32_t i = w->n_var; i-- > 0;) {
		uint32_t b = w->var[i].hash & w->mask;
		w->var[i].next = w->bucket[b];
		w->bucket[b] = i;
	}
	return PAT_OK;
}

int pat_words_build(struct pat_ruleset *rs)
{
	int rc = PAT_OK;

	pat_words_free(rs);
	for (uint32_t i = 0; i < rs->n_rules && !rc; i++) {
		const struct pat_rule *r = &rs->rules[i];
		struct strset s;
		unsigned t;

		if (expand_rule(r, &s))
			continue;
		t = r->target == PAT_TARGET_NORM ? 0 : 1;
		if (!rs->words[t]) {
			rs->words[t] = calloc(1, sizeof(struct pat_words));
			if (!rs->words[t]) {
				set_free(&s);
				rc = PAT_ENOMEM;
				break;
			}
		}
		for (unsigned k = 0; k < s.n && !rc; k++)
			rc = words_add(rs->words[t], s.s[k], s.len[k], i,
				       rs->n_word_rules);
		rs->n_word_rules++;
		set_free(&s);
	}
	for (unsigned t = 0; t < 2 && !rc; t++)
		if (rs->words[t])
			rc = words_index(rs->words[t]);
	if (rc)
		pat_words_free(rs);
	return rc;
}

int pat_words_scan(const struct pat_ruleset *rs, unsigned target,
		   const char *txt, size_t n, uint32_t *stamp, uint32_t epoch,
		   int (*cb)(unsigned rule, void *ctx), void *ctx)
{
	const struct pat_words *w;
	size_t i = 0;

	if (target != PAT_TARGET_NORM && target != PAT_TARGET_NORM_SUBST)
		return 0;
	w = rs->words[target == PAT_TARGET_NORM ? 0 : 1];
	if (!w)
		return 0;
	while (i < n) {
		size_t a, l;
		uint32_t h;

		while (i < n && !is_word((unsigned char)txt[i]))
			i++;
		if (i >= n)
			break;
		a = i;
		h = 2166136261u;
		while (i < n && is_word((unsigned char)txt[i])) {
			h = (h ^ (unsigned char)txt[i]) * 16777619u;
			i++;
		}
		l = i - a;
		for (uint32_t v = w->bucket[h & w->mask]; v != UINT32_MAX;
		     v = w->var[v].next) {
			const struct pat_word_var *x = &w->var[v];
			if (x->hash != h || x->first_len != l || x->len > n - a ||
			    stamp[x->slot] == epoch)
				continue;
			if (memcmp(txt + a, w->arena + x->off, x->len) != 0)
				continue;
			if (a + x->len < n && is_word((unsigned char)txt[a + x->len]))
				continue;
			stamp[x->slot] = epoch;
			if (cb(x->rule, ctx))
				return 1;
		}
	}
	return 0;
}
