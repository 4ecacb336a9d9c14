/*
 * pat_normalise.c — UTF-8 text to the skeleton that normalised-text rules
 * match. One forward pass maps each character (ASCII through a 256-entry
 * table, everything else through the generated look-alike table), then two
 * in-place passes collapse separators between single letters and, when asked,
 * substitute digits and symbols inside words.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pat.h"
#include "pat_lookalike.h"
#include "pat_priv.h"

/* ASCII byte → output byte: lower case, controls and whitespace → ' '. */
static unsigned char ascii_map[128];
static unsigned char subst_map[256]; /* identity except the substitutions */
static unsigned char sub_flags[256]; /* 1: a-z, 2: substitutable */

/* The tables are filled once, before main(), so concurrent scanners only
 * ever read them. */
/* Basic Multilingual Plane code point → 1 + its look-alike table index
 * (0: none); the table's entries above U+FFFF are binary-searched. */
static uint16_t bmp_slot[0x10000];
static void tables_init(void) __attribute__((constructor));

static void tables_init(void)
{
	for (unsigned c = 0; c < 256; c++) {
		subst_map[c] = (unsigned char)c;
		sub_flags[c] = c >= 'a' && c <= 'z';
	}
	subst_map['0'] = 'o';
	subst_map['1'] = 'i';
	subst_map['3'] = 'e';
	subst_map['4'] = 'a';
	subst_map['5'] = 's';
	subst_map['7'] = 't';
	subst_map['@'] = 'a';
	subst_map['$'] = 's';
	for (unsigned c = 0; c < 256; c++)
		if (subst_map[c] != c)
			sub_flags[c] |= 2;
	for (unsigned c = 0; c < 128; c++) {
		unsigned char m = (unsigned char)c;
		if (c < 0x20 || c == 0x7f)
			m = ' ';
		else if (c >= 'A' && c <= 'Z')
			m = (unsigned char)(c - 'A' + 'a');
		ascii_map[c] = m;
	}
	for (unsigned k = 0; k < pat_lookalike_count && pat_lookalike_table[k].cp < 0x10000; k++)
		bmp_slot[pat_lookalike_table[k].cp] = (uint16_t)(k + 1);
}

/*
 * Copy one 16-byte chunk of plain ASCII text lower-cased, when that is all
 * the chunk needs: no control character, no byte >= 0x80, and no space that
 * follows a space (counting the previous output byte). Returns 1 when the
 * chunk was written to out, 0 when the caller must take the byte loop.
 */
static inline int ascii_chunk(const unsigned char *in, char *out, int space)
{
#ifdef __SSE2__
	__m128i c = _mm_loadu_si128((const __m128i *)(const void *)in);
	/* signed compare: bytes >= 0x80 are negative, controls < 0x20 */
	__m128i bad = _mm_or_si128(_mm_cmplt_epi8(c, _mm_set1_epi8(0x20)),
				   _mm_cmpeq_epi8(c, _mm_set1_epi8(0x7f)));
	__m128i sp = _mm_cmpeq_epi8(c, _mm_set1_epi8(' '));
	/* lane i of prev = lane i-1 of sp; lane 0 = the byte before the chunk */
	__m128i prev = _mm_or_si128(_mm_slli_si128(sp, 1),
				    _mm_cvtsi32_si128(space ? 0xff : 0));
	if (_mm_movemask_epi8(_mm_or_si128(bad, _mm_and_si128(sp, prev))))
		return 0;
	__m128i up = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('A' - 1)),
				   _mm_cmplt_epi8(c, _mm_set1_epi8('Z' + 1)));
	c = _mm_or_si128(c, _mm_and_si128(up, _mm_set1_epi8(0x20)));
	_mm_storeu_si128((__m128i *)(void *)out, c);
	return 1;
#else
	(void)in;
	(void)out;
	(void)space;
	return 0;
#endif
}

static const struct pat_lookalike *lookalike_find(uint32_t cp)
{
	unsigned lo = 0, hi = pat_lookalike_count;

	if (cp < 0x10000)
		return bmp_slot[cp] ? &pat_lookalike_table[bmp_slot[cp] - 1] : NULL;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		uint32_t v = pat_lookalike_table[mid].cp;
		if (v == cp)
			return &pat_lookalike_table[mid];
		if (v < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Unicode spaces that NFKC turns into U+0020 (not letters, so not in the
 * generated table): they separate words like an ASCII space. */
static int is_unicode_space(uint32_t cp)
{
	return cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
	       (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Decode one UTF-8 sequence at p (n bytes left). Returns its length, or 0
 * for an invalid sequence (overlong, surrogate, > U+10FFFF, cut short). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char c = p[0];
	uint32_t v;
	size_t k;

	if (c >= 0xC2 && c <= 0xDF) {
		k = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if ((k == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
	    (k == 4 && (v < 0x10000 || v > 0x10FFFF)))
		return 0;
	*cp = v;
	return k;
}

static inline int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static inline int is_sep(unsigned char c)
{
	return c == ' ' || c == '.' || c == '-' || c == '_' || c == '*';
}

/* Character classes for the collapse prefilter: 1 letter/digit, 2 separator. */
static const unsigned char cls_map[256] = {
	[' '] = 2, ['.'] = 2, ['-'] = 2, ['_'] = 2, ['*'] = 2,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

/* The collapse prefilter, next_run(): SSE2 class masks 64 bytes at a time,
 * else a byte loop. */
#ifdef __SSE2__
/* Bit j set: byte j of w[0..64) is a separator / a letter or digit. */
static inline void class_masks(const unsigned char *w, uint64_t *sep, uint64_t *aln)
{
	uint64_t s = 0, a = 0;

	for (unsigned k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(w + 16 * k));
		__m128i m = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
				     _mm_cmpeq_epi8(v, _mm_set1_epi8('.'))),
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')),
						  _mm_cmpeq_epi8(v, _mm_set1_epi8('_'))),
				     _mm_cmpeq_epi8(v, _mm_set1_epi8('*'))));
		/* signed compares: bytes >= 0x80 are negative, in no range */
		__m128i l = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
					  _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
		__m128i d = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
					  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
		s |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << (16 * k);
		a |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(l, d)) << (16 * k);
	}
	*sep = s;
	*aln = a;
}

/* The first position >= from where a run of three single letters may
 * start: j, j+2, j+4 each a letter or digit with separators (or the ends)
 * around it; n when there is none. Collapse_singles() checks each
 * candidate exactly; most messages have none and are not rewritten. Works
 * on 64-byte windows that overlap by 16 so a run is never cut. b[from - 1]
 * must still be the input's byte. */
static size_t next_run(const unsigned char *b, size_t n, size_t from)
{
	unsigned char tail[64];

	for (size_t i = from; i < n; i += 48) {
		const unsigned char *w = b + i;
		uint64_t sep, aln, before, single, start;

		if (n - i < 64) {
			memset(tail, ' ', sizeof(tail)); /* the end counts as a separator */
			memcpy(tail, b + i, n - i);
			w = tail;
		}
		class_masks(w, &sep, &aln);
		before = (sep << 1) | (i == 0 ? 1u : (cls_map[b[i - 1]] == 2));
		single = aln & before & (sep >> 1);
		start = single & (single >> 2) & (single >> 4) & ((1ull << 48) - 1);
		if (start)
			return i + (size_t)__builtin_ctzll(start);
	}
	return n;
}
#else
static size_t next_run(const unsigned char *b, size_t n, size_t from)
{
	for (size_t i = from; i + 4 < n; i++) {
		unsigned before = i ? cls_map[b[i - 1]] == 2 : 1;
		if (before & (cls_map[b[i]] == 1) & (cls_map[b[i + 1]] == 2) &
		    (cls_map[b[i + 2]] == 1) & (cls_map[b[i + 3]] == 2) &
		    (cls_map[b[i + 4]] == 1))
			return i;
	}
	return n;
}
#endif

/* "f r e e", "f.r.e.e" → "free": runs of at least three single letters
 * joined by one repeated separator lose the separator. In place; returns the
 * new length. */
static size_t collapse_singles(char *s, size_t n)
{
	unsigned char *b = (unsigned char *)s;
	size_t i = next_run(b, n, 0), w = i;

	/* Bytes between candidates move down as a block. Writes stay below
	 * i - 1 once anything was removed, so b[i - 1] and b[i..n) are still
	 * the input's when next_run() reads them. */
	while (i < n) {
		size_t j = i, count = 1, next;
		unsigned char sep = i + 1 < n ? b[i + 1] : 0;

		while (j + 2 < n && b[j + 1] == sep && is_alnum(b[j + 2]) &&
		       (j + 3 == n || is_sep(b[j + 3]))) {
			j += 2;
			count++;
		}
		if (count >= 3) {
			for (size_t k = i; k <= j; k += 2)
				b[w++] = b[k];
			i = j + 1;
		} else {
			b[w++] = b[i++];
		}
		next = next_run(b, n, i);
		memmove(b + w, b + i, next - i);
		w += next - i;
		i = next;
	}
	return w;
}



#ifdef __SSE2__
/* Bit k set: in[k] is one of the substituted bytes 0 1 3 4 5 7 @ $. */
static inline unsigned subst_mask16(const unsigned char *in)
{
	__m128i c = _mm_loadu_si128((const __m128i *)(const void *)in);
	__m128i d = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)),
				  _mm_cmplt_epi8(c, _mm_set1_epi8('7' + 1)));
	d = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('2')),
					  _mm_cmpeq_epi8(c, _mm_set1_epi8('6'))), d);
	d = _mm_or_si128(d, _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('@')),
					 _mm_cmpeq_epi8(c, _mm_set1_epi8('$'))));
	return (unsigned)_mm_movemask_epi8(d);
}
#endif

/* Digit/symbol → letter inside every space-delimited word that holds at
 * least one letter ("fr33" → "free", "c@sh" → "cash"; "1000" stays). */
void pat_normalise_subst(char *s, size_t n)
{
	unsigned char *b = (unsigned char *)s;
	size_t i = 0;

	/* Walk to the next substitutable byte; only its word is examined
	 * (most bytes are letters and spaces, so the loop rarely stops). */
	while (i < n) {
#ifdef __SSE2__
		if (i + 16 <= n) {
			unsigned m = subst_mask16(b + i);
			if (m == 0) {
				i += 16;
				continue;
			}
			i += (size_t)__builtin_ctz(m);
		}
#endif
		if (!(sub_flags[b[i]] & 2)) {
			i++;
			continue;
		}
		size_t ws = i, we = i;
		unsigned f = 0;
		while (ws > 0 && b[ws - 1] != ' ')
			ws--;
		while (we < n && b[we] != ' ')
			we++;
		for (size_t k = ws; k < we; k++)
			f |= sub_flags[b[k]];
		if (f == 3) /* a letter and something to substitute */
			for (size_t k = ws; k < we; k++)
				b[k] = subst_map[b[k]];
		i = we + 1;
	}
}

size_t pat_normalise(const char *utf8, size_t len, char *out, size_t cap,
		     unsigned flags)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t i = 0, o = 0;
	int space = 1; /* no leading space, no double space */

	if (!utf8 || !out)
		return 0;
	while (i < len) {
		unsigned char c = p[i];

		if (c < 0x80) {
			/* ASCII run: store every mapped byte, advance the output
			 * unless it is a space after a space. No data-dependent
			 * branch per byte; the capacity is checked once per run. */
			size_t room = cap - o, end = len - i < room ? len : i + room;
			if (room == 0)
				break;
			while (i + 16 <= end && ascii_chunk(p + i, out + o, space)) {
				space = p[i + 15] == ' ';
				i += 16;
				o += 16;
			}
			while (i < end && p[i] < 0x80) {
				unsigned char m = ascii_map[p[i++]];
				int sp = m == ' ';
				out[o] = (char)m;
				o += !(sp & space);
				space = sp;
			}
			continue;
		}

		uint32_t cp = 0xFFFD;
		size_t k = utf8_decode(p + i, len - i, &cp);
		const struct pat_lookalike *lk;
		int invalid = k == 0;

		if (invalid) {
			/* Invalid byte: one U+FFFD per byte, then resync. */
			k = 1;
			cp = 0xFFFD;
		}
		if (is_unicode_space(cp)) {
			i += k;
			if (!space) {
				if (o >= cap)
					break;
				out[o++] = ' ';
				space = 1;
			}
			continue;
		}
		lk = lookalike_find(cp);
		if (lk) {
			if (o + lk->len > cap)
				break;
			memcpy(out + o, lk->s, lk->len);
			o += lk->len;
			if (lk->len)
				space = 0;
			i += k;
			continue;
		}
		if (invalid) {
			if (o + 3 > cap)
				break;
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
		} else {
			if (o + k > cap)
				break;
			memcpy(out + o, p + i, k);
			o += k;
		}
		space = 0;
		i += k;
	}
	if (o > 0 && out[o - 1] == ' ')
		o--;
	if (!(flags & PAT_NORM_NO_COLLAPSE))
		o = collapse_singles(out, o);
	if (flags & PAT_NORM_SUBST)
		pat_normalise_subst(out, o);
	return o;
}
