/*
 * pat_normalise.c — UTF-8 text to the skeleton that normalised-text rules
 * match. One forward pass maps each character (ASCII through a 256-entry
 * table, everything else through the generated look-alike table), then two
 * in-place passes collapse separators between single letters and, when asked,
 * substitute digits and symbols inside words.
 */
#include <string.h>

#include "pat.h"
#include "pat_lookalike.h"
#include "pat_priv.h"

/* ASCII byte → output byte: lower case, controls and whitespace → ' '. */
static unsigned char ascii_map[128];
static int ascii_ready;

static void ascii_init(void)
{
	for (unsigned c = 0; c < 128; c++) {
		unsigned char m = (unsigned char)c;
		if (c < 0x20 || c == 0x7f)
			m = ' ';
		else if (c >= 'A' && c <= 'Z')
			m = (unsigned char)(c - 'A' + 'a');
		ascii_map[c] = m;
	}
	__atomic_store_n(&ascii_ready, 1, __ATOMIC_RELEASE);
}

static const struct pat_lookalike *lookalike_find(uint32_t cp)
{
	unsigned lo = 0, hi = pat_lookalike_count;

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

/* "f r e e", "f.r.e.e" → "free": runs of at least three single letters
 * joined by one repeated separator lose the separator. In place; returns the
 * new length. */
static size_t collapse_singles(char *s, size_t n)
{
	unsigned char *b = (unsigned char *)s;
	size_t i = 0, w = 0;
	unsigned char prev = ' ';

	while (i < n) {
		if (is_alnum(b[i]) && is_sep(prev) &&
		    (i + 1 == n || is_sep(b[i + 1]))) {
			size_t j = i, count = 1;
			unsigned char sep = i + 1 < n ? b[i + 1] : 0;

			while (j + 2 < n && b[j + 1] == sep && is_alnum(b[j + 2]) &&
			       (j + 3 == n || is_sep(b[j + 3]))) {
				j += 2;
				count++;
			}
			if (count >= 3) {
				for (size_t k = i; k <= j; k += 2)
					b[w++] = b[k];
				prev = b[j];
				i = j + 1;
				continue;
			}
		}
		prev = b[i];
		b[w++] = b[i++];
	}
	return w;
}

static const unsigned char subst_map[128] = {
	['0'] = 'o', ['1'] = 'i', ['3'] = 'e', ['4'] = 'a',
	['5'] = 's', ['7'] = 't', ['@'] = 'a', ['$'] = 's',
};

/* Digit/symbol → letter inside every space-delimited word that holds at
 * least one letter ("fr33" → "free", "c@sh" → "cash"; "1000" stays). */
void pat_normalise_subst(char *s, size_t n)
{
	unsigned char *b = (unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		int letter = 0;

		while (j < n && b[j] != ' ') {
			if (b[j] >= 'a' && b[j] <= 'z')
				letter = 1;
			j++;
		}
		if (letter)
			for (size_t k = i; k < j; k++)
				if (b[k] < 128 && subst_map[b[k]])
					b[k] = subst_map[b[k]];
		i = j + 1;
	}
}

size_t pat_normalise(const char *utf8, size_t len, char *out, size_t cap,
		     unsigned flags)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t i = 0, o = 0;
	int space = 1; /* no leading space, no double space */

	if (!__atomic_load_n(&ascii_ready, __ATOMIC_ACQUIRE))
		ascii_init();
	if (!utf8 || !out)
		return 0;
	while (i < len) {
		unsigned char c = p[i];

		if (c < 0x80) {
			unsigned char m = ascii_map[c];
			i++;
			if (m == ' ') {
				if (!space) {
					if (o >= cap)
						break;
					out[o++] = ' ';
					space = 1;
				}
				continue;
			}
			if (o >= cap)
				break;
			out[o++] = (char)m;
			space = 0;
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
