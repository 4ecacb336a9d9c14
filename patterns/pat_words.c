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
#include <emmintrin.h>
#include <stdlib.h>
#include <string.h>

#include "pat_priv.h"

#define PAT_WORDS_MAX_EXPANSIONS 512
#define PAT_WORDS_MAX_LEN 120
#define BOUND '\x01' /* \b while expanding */

struct pat_word_var {
	uint32_t hash;      /* key: first word, or first and second word */
	uint16_t first_len; /* first word run */
	uint8_t multi;      /* more than one word run */
	uint8_t tmask;      /* 1: a norm rule, 2: a norm-subst rule */
	uint16_t len;       /* whole string */
	uint32_t slot;      /* dense word-rule number (dedupe stamps) */
	uint32_t rule;      /* rule index */
	uint32_t off;       /* into arena */
};

/* Both targets in one table (one probe per word). Variants are grouped by
 * bucket: bucket b owns var[start[b] .. start[b + 1]). */
#define MULTI_FILTER_BITS 1024u

struct pat_words {
	/* bit (first word's hash % MULTI_FILTER_BITS): some string of
	 * several words starts with that word; the two-word probe is only
	 * made for those */
	uint64_t multi_first[MULTI_FILTER_BITS / 64];
	uint32_t *start; /* mask + 2 entries */
	uint32_t mask;
	struct pat_word_var *var;
	uint32_t n_var, cap_var;
	char *arena;
	size_t arena_len, arena_cap;
};

/* Hyperscan's \w without UCP: [0-9A-Za-z_] */
static const unsigned char word_tab[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['_'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
};

static inline int is_word(unsigned char c)
{
	return word_tab[c];
}

/* Up to 8 bytes at p as a little-endian number; p must be readable 8
 * bytes on (the scanned buffers carry PAT_WORDS_PAD bytes after the text,
 * for these loads and the 64-byte word masks; the builder hashes from a
 * padded copy). */
static inline uint64_t load_le(const char *p, size_t len)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return len >= 8 ? v : v & ((1ull << (8 * len)) - 1);
}

/* A word's hash from 8-byte loads: no per-byte multiply chain (the FNV
 * loop this replaces cost ~4 cycles a byte in latency alone). */
static inline uint32_t hash_word(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n > 8) {
		h = (h ^ load_le(p, 8)) * 0xc2b2ae3d27d4eb4full;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	h = (h ^ load_le(p, n)) * 0x165667b19e3779f9ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* p[0..n) == q[0..n), 8 bytes at a time (both readable 8 bytes on: the
 * text is padded, and so is the arena). */
static inline int same_bytes(const char *p, const char *q, size_t n)
{
	while (n >= 8) {
		if (load_le(p, 8) != load_le(q, 8))
			return 0;
		p += 8;
		q += 8;
		n -= 8;
	}
	return n == 0 || load_le(p, n) == load_le(q, n);
}

static uint32_t hash_bytes(const char *p, size_t n)
{
	char buf[PAT_WORDS_MAX_LEN + 3 + 8];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, p, n);
	return hash_word(buf, n);
}

/* Key of a string of several words: its first two word runs. */
static inline uint32_t mix(uint32_t h1, uint32_t h2)
{
	return (h1 * 0x9e3779b1u) ^ h2;
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
	free(w->start);
	free(w->var);
	free(w->arena);
	free(w);
}

void pat_words_free(struct pat_ruleset *rs)
{
	words_free(rs->words);
	rs->words = NULL;
	rs->word_targets = 0;
	rs->n_word_rules = 0;
}

static int words_add(struct pat_words *w, const char *s, size_t n,
		     uint32_t rule, uint32_t slot, uint8_t tmask)
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
	v->multi = fl < n;
	if (v->multi) {
		uint32_t f = v->hash % MULTI_FILTER_BITS;
		w->multi_first[f / 64] |= 1ull << (f % 64);
		size_t b = fl, e;
		while (b < n && !is_word((unsigned char)s[b]))
			b++;
		e = b;
		while (e < n && is_word((unsigned char)s[e]))
			e++;
		v->hash = mix(v->hash, hash_bytes(s + b, e - b));
	}
	v->rule = rule;
	v->slot = slot;
	v->len = (uint16_t)n;
	v->first_len = (uint16_t)fl;
	v->tmask = tmask;
	v->off = (uint32_t)w->arena_len;
	memcpy(w->arena + w->arena_len, s, n);
	w->arena_len += n;
	return PAT_OK;
}

static int cmp_var(const void *x, const void *y, void *ctx)
{
	const struct pat_word_var *a = x, *b = y;
	uint32_t m = *(const uint32_t *)ctx;
	uint32_t ba = a->hash & m, bb = b->hash & m;

	if (ba != bb)
		return ba < bb ? -1 : 1;
	/* stable within a bucket: rule order, then expansion order */
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

static int words_index(struct pat_words *w)
{
	uint32_t nb = 16;
	void *ar;

	/* 8 zero bytes after the last string: same_bytes reads 8 at a time */
	ar = realloc(w->arena, w->arena_len + 8);
	if (!ar)
		return PAT_ENOMEM;
	w->arena = ar;
	w->arena_cap = w->arena_len + 8;
	memset(w->arena + w->arena_len, 0, 8);

	while (nb < 2 * w->n_var)
		nb *= 2;
	w->mask = nb - 1;
	w->start = calloc((size_t)nb + 1, sizeof(uint32_t));
	if (!w->start)
		return PAT_ENOMEM;
	qsort_r(w->var, w->n_var, sizeof(*w->var), cmp_var, &w->mask);
	for (uint32_t i = 0; i < w->n_var; i++)
		w->start[(w->var[i].hash & w->mask) + 1]++;
	for (uint32_t b = 0; b < nb; b++)
		w->start[b + 1] += w->start[b];
	return PAT_OK;
}

int pat_words_build(struct pat_ruleset *rs)
{
	int rc = PAT_OK;

	pat_words_free(rs);
	for (uint32_t i = 0; i < rs->n_rules && !rc; i++) {
		const struct pat_rule *r = &rs->rules[i];
		struct strset s;
		uint8_t tm;

		if (expand_rule(r, &s))
			continue;
		tm = r->target == PAT_TARGET_NORM ? 1 : 2;
		if (!rs->words) {
			rs->words = calloc(1, sizeof(struct pat_words));
			if (!rs->words) {
				set_free(&s);
				rc = PAT_ENOMEM;
				break;
			}
		}
		for (unsigned k = 0; k < s.n && !rc; k++)
			rc = words_add(rs->words, s.s[k], s.len[k], i,
				       rs->n_word_rules, tm);
		rs->word_targets |= tm;
		rs->n_word_rules++;
		set_free(&s);
	}
	if (!rc && rs->words)
		rc = words_index(rs->words);
	if (rc)
		pat_words_free(rs);
	return rc;
}

/* Bit i set: p[i] is a word byte ([0-9A-Za-z_]), for 64 bytes (SSE2). */
static inline uint64_t word_bits64(const char *p)
{
	const __m128i bias = _mm_set1_epi8((char)0x80);
	uint64_t m = 0;

	for (int k = 0; k < 4; k++) {
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
		__m128i lo = _mm_or_si128(c, _mm_set1_epi8(0x20));
		/* unsigned x - a < n, as a signed compare after flipping the sign bit */
		__m128i alpha = _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(lo, _mm_set1_epi8('a')), bias),
					       _mm_set1_epi8((char)(26 ^ 0x80)));
		__m128i digit = _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(c, _mm_set1_epi8('0')), bias),
					       _mm_set1_epi8((char)(10 ^ 0x80)));
		__m128i us = _mm_cmpeq_epi8(c, _mm_set1_epi8('_'));
		__m128i w = _mm_or_si128(_mm_or_si128(alpha, digit), us);
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(w) << (16 * k);
	}
	return m;
}

/* Word runs of a text, in order, from 64-byte word-byte masks. */
struct tokit {
	const char *t;
	size_t n, base;
	uint64_t m; /* word bits of the chunk at base not yet consumed */
};

static inline uint64_t chunk_bits(const struct tokit *it)
{
	uint64_t m = word_bits64(it->t + it->base);
	size_t left = it->n - it->base;
	return left >= 64 ? m : m & ((1ull << left) - 1);
}

static inline void tok_init(struct tokit *it, const char *t, size_t n)
{
	it->t = t;
	it->n = n;
	it->base = 0;
	it->m = n ? chunk_bits(it) : 0;
}

/* The next word run: start, length and hash; 0 at the end. */
static inline __attribute__((always_inline)) int
next_token(struct tokit *it, size_t *a, size_t *l, uint32_t *h)
{
	unsigned s;
	size_t start;
	uint64_t z;

	while (it->m == 0) {
		it->base += 64;
		if (it->base >= it->n)
			return 0;
		it->m = chunk_bits(it);
	}
	s = (unsigned)__builtin_ctzll(it->m);
	start = it->base + s;
	z = ~it->m & (~0ull << s); /* non-word bytes from the start on */
	while (z == 0) {           /* the run goes on into the next chunk */
		it->base += 64;
		if (it->base >= it->n) {
			it->m = 0;
			*a = start;
			*l = it->n - start;
			*h = hash_word(it->t + start, *l);
			return 1;
		}
		it->m = chunk_bits(it);
		z = ~it->m;
	}
	unsigned e = (unsigned)__builtin_ctzll(z);
	it->m &= ~0ull << e;
	*a = start;
	*l = it->base + e - start;
	*h = hash_word(it->t + start, *l);
	return 1;
}

int pat_words_scan(const struct pat_ruleset *rs, unsigned tables,
		   const char *txt, size_t n, uint32_t *stamp, uint32_t epoch,
		   int (*cb)(unsigned rule, void *ctx), void *ctx)
{
	const struct pat_words *w = rs->words;
	size_t a, l, a2 = 0, l2 = 0;
	uint32_t h, h2 = 0;
	int have, have2;
	struct tokit it;

	if (!w || !(tables & rs->word_targets))
		return 0;
	tok_init(&it, txt, n);
	have = next_token(&it, &a, &l, &h);
	while (have) {
		have2 = next_token(&it, &a2, &l2, &h2);
		uint32_t f = h % MULTI_FILTER_BITS;
		int multi = have2 && ((w->multi_first[f / 64] >> (f % 64)) & 1u);
		/* probe 0: one-word strings keyed on this word; probe 1:
		 * longer strings keyed on this word and the next */
		for (int probe = 0; probe < 1 + multi; probe++) {
			uint32_t key = probe ? mix(h, h2) : h;
			uint32_t e = w->start[(key & w->mask) + 1];
			for (uint32_t v = w->start[key & w->mask]; v < e; v++) {
				const struct pat_word_var *x = &w->var[v];
				if (x->hash != key || x->first_len != l ||
				    x->multi != probe || !(x->tmask & tables) ||
				    stamp[x->slot] == epoch)
					continue;
				/* one word: the token is maximal, so the
				 * boundary after it holds */
				if (x->len > n - a ||
				    !same_bytes(txt + a, w->arena + x->off, x->len) ||
				    (a + x->len < n && is_word((unsigned char)txt[a + x->len])))
					continue;
				stamp[x->slot] = epoch;
				if (cb(x->rule, ctx))
					return 1;
			}
		}
		a = a2;
		l = l2;
		h = h2;
		have = have2;
	}
	return 0;
}
