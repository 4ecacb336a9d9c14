/*
 * text.c — user data to UTF-8 (GSM 03.38 unpacked/packed, IA5, Latin-1,
 * ISO-8859-5, ISO-8859-8, UCS-2/UTF-16BE) and UTF-8 to GSM 7-bit / UCS-2.
 *
 * The GSM decoders are table-driven: each septet indexes a table holding its
 * UTF-8 octets and their count, written with one 4-octet store while the
 * output has room (the fast path), one checked character at a time near the
 * end of the output.
 */
#include <string.h>

#include "smpp_priv.h"
#include "gsm_tables.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define UTF8_REPLACEMENT 0x03bdbfefu  /* U+FFFD: EF BF BD, 3 octets */

/* data_coding -> charset, by the SMPP 3.4 table and the 23.038 coding groups. */
enum smpp_charset smpp_charset_of(uint8_t dc)
{
	switch (dc) {
	case 0x00: return SMPP_CS_GSM7;
	case 0x01: return SMPP_CS_IA5;
	case 0x03: return SMPP_CS_LATIN1;
	case 0x06: return SMPP_CS_ISO8859_5;
	case 0x07: return SMPP_CS_ISO8859_8;
	case 0x08: return SMPP_CS_UCS2;
	}
	/* 23.038 §4: the general group 00xx (0x10-0x3F here: SMPP keeps 0x00-0x0F
	 * for its own table) and the automatic deletion group 01xx (0x40-0x7F),
	 * whose bits 5..0 are coded exactly as in group 00xx: bit 5 compressed,
	 * bits 3..2 the alphabet. */
	if (dc >= 0x10 && dc <= 0x7F && !(dc & 0x20)) {
		switch ((dc >> 2) & 3) {
		case 0: return SMPP_CS_GSM7;
		case 2: return SMPP_CS_UCS2;
		default: return SMPP_CS_BINARY;
		}
	}
	if (dc >= 0xC0 && dc <= 0xDF)            /* message waiting, GSM 7-bit */
		return SMPP_CS_GSM7;
	if (dc >= 0xE0 && dc <= 0xEF)            /* message waiting, UCS-2 */
		return SMPP_CS_UCS2;
	if (dc >= 0xF0)                          /* message class group */
		return (dc & 0x04) ? SMPP_CS_BINARY : SMPP_CS_GSM7;
	return SMPP_CS_BINARY;
}

/* Output cursor; `room4` is true while 4 octets can be stored unchecked. */
struct out {
	uint8_t *p, *end;
	int err;
};

/* Write one packed table entry (octets LE in bits 0-23, count in 24-31). */
static inline void put_entry(struct out *o, uint32_t e)
{
	size_t n = e >> 24;

	if (SMPP_LIKELY((size_t)(o->end - o->p) >= 4)) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		memcpy(o->p, &e, 4);
#else
		o->p[0] = (uint8_t)e;
		o->p[1] = (uint8_t)(e >> 8);
		o->p[2] = (uint8_t)(e >> 16);
#endif
		o->p += n;
		return;
	}
	if ((size_t)(o->end - o->p) < n) {
		o->err = SMPP_ENOSPACE;
		o->end = o->p;   /* nothing more fits: stop at a character boundary */
		return;
	}
	for (size_t i = 0; i < n; i++)
		o->p[i] = (uint8_t)(e >> (8 * i));
	o->p += n;
}

/* Encode a code point (< 0x110000, not a surrogate) as a table entry. */
static inline uint32_t cp_entry(uint32_t cp)
{
	if (cp < 0x80)
		return 0x01000000u | cp;
	if (cp < 0x800)
		return 0x02000000u | (0xC0 | cp >> 6) | (uint32_t)(0x80 | (cp & 0x3F)) << 8;
	if (cp < 0x10000)
		return 0x03000000u | (0xE0 | cp >> 12) | (uint32_t)(0x80 | ((cp >> 6) & 0x3F)) << 8 |
		       (uint32_t)(0x80 | (cp & 0x3F)) << 16;
	return 0;   /* 4-octet sequences go through put_cp4 */
}

static inline void put_cp4(struct out *o, uint32_t cp)
{
	if ((size_t)(o->end - o->p) < 4) {
		o->err = SMPP_ENOSPACE;
		o->end = o->p;
		return;
	}
	o->p[0] = (uint8_t)(0xF0 | cp >> 18);
	o->p[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
	o->p[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	o->p[3] = (uint8_t)(0x80 | (cp & 0x3F));
	o->p += 4;
}

/*
 * GSM septets to UTF-8. The escape 0x1B selects the extension table for the
 * following septet (undefined codes show their base character, 23.038
 * §6.2.1.1); a final lone escape and octets with bit 7 set are replaced.
 */
#define GSM_SLOW 0x80000000u

static inline uint32_t gsm_ext_entry(uint8_t c2, struct smpp_text_info *info)
{
	uint32_t e;

	if (c2 >= 0x80) {
		info->replaced++;
		return UTF8_REPLACEMENT;
	}
	e = gsm_ext_utf8[c2];
	return e ? e : gsm_dec256[c2] & ~GSM_SLOW;
}

/*
 * Septets from `sept(i)` for i in [k, total): each is a table lookup and,
 * while 4 octets of output remain, one unchecked 4-octet store.
 */
#define GSM_DECODE_LOOP(SEPT)                                                    \
	do {                                                                     \
		while (k < total) {                                              \
			uint8_t c = SEPT(k);                                     \
			uint32_t e = gsm_dec256[c];                              \
			k++;                                                     \
			if (SMPP_UNLIKELY(e & GSM_SLOW)) {                       \
				if (c != 0x1B) {                                 \
					info->replaced++;                        \
					e = UTF8_REPLACEMENT;                    \
				} else if (k < total) {                          \
					e = gsm_ext_entry(SEPT(k), info);        \
					k++;                                     \
				} else {                                         \
					info->replaced++;                        \
					e = UTF8_REPLACEMENT;                    \
				}                                                \
			}                                                        \
			info->chars++;                                           \
			put_entry(o, e & ~GSM_SLOW);                             \
			if (SMPP_UNLIKELY(o->err))                               \
				return;                                          \
		}                                                                \
	} while (0)

static inline void store4(uint8_t *q, uint32_t e)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(q, &e, 4);
#else
	q[0] = (uint8_t)e;
	q[1] = (uint8_t)(e >> 8);
	q[2] = (uint8_t)(e >> 16);
	q[3] = (uint8_t)(e >> 24);
#endif
}

#ifdef __SSE2__
/* Per octet: 0xFF where the GSM septet equals its ASCII character. */
static inline __m128i in_range(__m128i v, uint8_t lo, uint8_t hi)
{
	__m128i d = _mm_sub_epi8(v, _mm_set1_epi8((char)lo));

	/* unsigned d <= hi - lo  <=>  min(d, hi - lo) == d */
	return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8((char)(hi - lo))), d);
}

static inline __m128i gsm_ascii_run16(__m128i v)
{
	return _mm_or_si128(_mm_or_si128(in_range(v, 0x20, 0x23), in_range(v, 0x25, 0x3F)),
			    _mm_or_si128(in_range(v, 0x41, 0x5A), in_range(v, 0x61, 0x7A)));
}
#endif

static void dec_gsm_unpacked(struct out *o, const uint8_t *p, size_t n, struct smpp_text_info *info)
{
	size_t k = 0, total = n;

	/*
	 * Fast path: with room for 4 octets per septet (every character
	 * needs at most 3, the store writes 4) nothing inside is checked.
	 */
	if ((size_t)(o->end - o->p) >= 4 * n + 4) {
		uint8_t *q = o->p;
		uint32_t chars = 0;

		while (k < n) {
			uint8_t c;
			uint32_t e;

#ifdef __SSE2__
			/* 16 septets at a time while they are characters that
			 * GSM and ASCII share (space to '#', '%' to '?', 'A' to
			 * 'Z', 'a' to 'z'): those copy through unchanged. */
			while (n - k >= 16) {
				__m128i v = _mm_loadu_si128((const __m128i *)(p + k));
				__m128i ok = gsm_ascii_run16(v);

				if (_mm_movemask_epi8(ok) != 0xFFFF)
					break;
				_mm_storeu_si128((__m128i *)q, v);
				q += 16;
				k += 16;
				chars += 16;
			}
			if (k >= n)
				break;
#endif
			c = p[k++];
			e = gsm_dec256[c];

			if (SMPP_UNLIKELY(e & GSM_SLOW)) {
				if (c == 0x1B && k < n) {
					e = gsm_ext_entry(p[k++], info);
				} else {
					info->replaced++;
					e = UTF8_REPLACEMENT;
				}
			}
			store4(q, e);
			q += (e >> 24) & 0x7F;
			chars++;
		}
		o->p = q;
		info->chars += chars;
		return;
	}
#define SEPT_UNPACKED(i) (p[i])
	GSM_DECODE_LOOP(SEPT_UNPACKED);
#undef SEPT_UNPACKED
}

/* Septet i of packed user data: bits 7i..7i+6, least significant first. */
static inline uint8_t packed_septet(const uint8_t *p, size_t n, size_t i)
{
	size_t b = i * 7, j = b >> 3;
	uint32_t w = p[j];

	if (j + 1 < n)
		w |= (uint32_t)p[j + 1] << 8;
	return (uint8_t)((w >> (b & 7)) & 0x7F);
}

/*
 * Packed septets. Decoding starts at the first septet after the UDH's
 * `hdr` octets, which skips the fill bits. A zero septet that only fills
 * the 7 spare bits of the last octet is padding, not '@'.
 */
static void dec_gsm_packed(struct out *o, const uint8_t *p, size_t n, size_t hdr,
			   struct smpp_text_info *info)
{
	size_t total = n * 8 / 7;
	size_t k = (hdr * 8 + 6) / 7;

	if (total > k && (n * 8) % 7 == 0 && packed_septet(p, n, total - 1) == 0)
		total--;
#define SEPT_PACKED(i) packed_septet(p, n, (i))
	GSM_DECODE_LOOP(SEPT_PACKED);
#undef SEPT_PACKED
}

/*
 * Code points of 0xA0-0xFF in ISO-8859-5 and ISO-8859-8 (0: unassigned).
 * Generated from the code charts as the Unicode Consortium publishes them
 * (MAPPINGS/ISO8859/8859-5.TXT, 8859-8.TXT; here through Python's codecs,
 * which are built from those files):
 *   for b in range(0xA0, 0x100): bytes([b]).decode("iso8859_5")
 * test_text.c checks every octet against glibc's iconv.
 */
static const uint16_t iso8859_5_upper[96] = {
	0x00a0, 0x0401, 0x0402, 0x0403, 0x0404, 0x0405, 0x0406, 0x0407,  /* A0 */
	0x0408, 0x0409, 0x040a, 0x040b, 0x040c, 0x00ad, 0x040e, 0x040f,  /* A8 */
	0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,  /* B0 */
	0x0418, 0x0419, 0x041a, 0x041b, 0x041c, 0x041d, 0x041e, 0x041f,  /* B8 */
	0x0420, 0x0421, 0x0422, 0x0423, 0x0424, 0x0425, 0x0426, 0x0427,  /* C0 */
	0x0428, 0x0429, 0x042a, 0x042b, 0x042c, 0x042d, 0x042e, 0x042f,  /* C8 */
	0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437,  /* D0 */
	0x0438, 0x0439, 0x043a, 0x043b, 0x043c, 0x043d, 0x043e, 0x043f,  /* D8 */
	0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,  /* E0 */
	0x0448, 0x0449, 0x044a, 0x044b, 0x044c, 0x044d, 0x044e, 0x044f,  /* E8 */
	0x2116, 0x0451, 0x0452, 0x0453, 0x0454, 0x0455, 0x0456, 0x0457,  /* F0 */
	0x0458, 0x0459, 0x045a, 0x045b, 0x045c, 0x00a7, 0x045e, 0x045f,  /* F8 */
};

static const uint16_t iso8859_8_upper[96] = {
	0x00a0, 0x0000, 0x00a2, 0x00a3, 0x00a4, 0x00a5, 0x00a6, 0x00a7,  /* A0 */
	0x00a8, 0x00a9, 0x00d7, 0x00ab, 0x00ac, 0x00ad, 0x00ae, 0x00af,  /* A8 */
	0x00b0, 0x00b1, 0x00b2, 0x00b3, 0x00b4, 0x00b5, 0x00b6, 0x00b7,  /* B0 */
	0x00b8, 0x00b9, 0x00f7, 0x00bb, 0x00bc, 0x00bd, 0x00be, 0x0000,  /* B8 */
	0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  /* C0 */
	0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  /* C8 */
	0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000,  /* D0 */
	0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x0000, 0x2017,  /* D8 */
	0x05d0, 0x05d1, 0x05d2, 0x05d3, 0x05d4, 0x05d5, 0x05d6, 0x05d7,  /* E0 */
	0x05d8, 0x05d9, 0x05da, 0x05db, 0x05dc, 0x05dd, 0x05de, 0x05df,  /* E8 */
	0x05e0, 0x05e1, 0x05e2, 0x05e3, 0x05e4, 0x05e5, 0x05e6, 0x05e7,  /* F0 */
	0x05e8, 0x05e9, 0x05ea, 0x0000, 0x0000, 0x200e, 0x200f, 0x0000,  /* F8 */
};

/*
 * Code point of an octet >= 0x80 in a one-octet charset, 0 when it has
 * none there: IA5 is 7-bit; Latin-1 is U+0080-U+00FF; the other ISO 8859
 * parts leave 0x80-0x9F to the C1 controls, as Latin-1 does.
 */
static inline uint32_t upper_cp(enum smpp_charset cs, uint8_t c)
{
	switch (cs) {
	case SMPP_CS_LATIN1:
		return c;
	case SMPP_CS_ISO8859_5:
		return c < 0xA0 ? c : iso8859_5_upper[c - 0xA0];
	case SMPP_CS_ISO8859_8:
		return c < 0xA0 ? c : iso8859_8_upper[c - 0xA0];
	default:
		return 0;
	}
}

/* One octet per character: ASCII below 0x80, upper_cp above (0: U+FFFD). */
static void dec_8bit(struct out *o, const uint8_t *p, size_t n, struct smpp_text_info *info,
		     enum smpp_charset cs)
{
	size_t i = 0;

#ifdef __SSE2__
	/* Fast path: 16 octets at a time while they are ASCII (they copy
	 * through unchanged) and the output has room for them. */
	while (n - i >= 16 && (size_t)(o->end - o->p) >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));

		if (_mm_movemask_epi8(v) != 0)
			break;
		_mm_storeu_si128((__m128i *)o->p, v);
		o->p += 16;
		i += 16;
		info->chars += 16;
	}
#endif
	for (; i < n && !o->err; i++) {
		uint8_t c = p[i];
		uint32_t cp;

		if (c < 0x80) {
			put_entry(o, 0x01000000u | c);
		} else if ((cp = upper_cp(cs, c)) != 0) {
			put_entry(o, cp_entry(cp));
		} else {
			put_entry(o, UTF8_REPLACEMENT);
			info->replaced++;
		}
		info->chars++;
	}
}

/*
 * One UTF-16 code unit (not a surrogate) as a table-style entry, without
 * branches: messages mix ASCII and other scripts unpredictably.
 */
static inline uint32_t bmp_entry(uint32_t u)
{
	uint32_t e1 = u;
	uint32_t e2 = (0xC0 | u >> 6) | (uint32_t)(0x80 | (u & 0x3F)) << 8;
	uint32_t e3 = (0xE0 | u >> 12) | (uint32_t)(0x80 | ((u >> 6) & 0x3F)) << 8 |
		      (uint32_t)(0x80 | (u & 0x3F)) << 16;
	uint32_t n = 1 + (u >= 0x80) + (u >= 0x800);
	uint32_t e = u >= 0x800 ? e3 : e2;

	e = u < 0x80 ? e1 : e;
	return e | n << 24;
}

static void dec_ucs2(struct out *o, const uint8_t *p, size_t n, struct smpp_text_info *info)
{
	size_t i = 0;

	/* Fast path: 2 input octets never give more than 3 output octets, and
	 * a surrogate pair (4 in) gives 4 out: room for 2n + 4 needs no checks. */
	if ((size_t)(o->end - o->p) >= 2 * n + 4) {
		uint8_t *q = o->p;

		for (; i + 1 < n; i += 2) {
			uint32_t u, e;

#ifdef __SSE2__
			/* 8 units at a time while all are ASCII: 00 xx -> xx */
			while (n - i >= 16) {
				__m128i v = _mm_loadu_si128((const __m128i *)(p + i));

				/* little-endian lanes hold (hi | lo << 8) of each BE unit */
				if (_mm_movemask_epi8(_mm_cmpeq_epi16(
					    _mm_and_si128(v, _mm_set1_epi16((short)0x80FF)),
					    _mm_setzero_si128())) != 0xFFFF)
					break;
				_mm_storel_epi64((__m128i *)q,
						 _mm_packus_epi16(_mm_srli_epi16(v, 8), _mm_setzero_si128()));
				q += 8;
				i += 16;
				info->chars += 8;
			}
			if (i + 1 >= n)
				break;
#endif
			u = smpp_rd16(p + i);

			info->chars++;
			if (SMPP_LIKELY(u < 0xD800 || u > 0xDFFF)) {
				e = bmp_entry(u);
			} else if (u <= 0xDBFF && i + 3 < n &&
				   smpp_rd16(p + i + 2) >= 0xDC00 && smpp_rd16(p + i + 2) <= 0xDFFF) {
				uint32_t cp = 0x10000 + ((u - 0xD800) << 10) + (smpp_rd16(p + i + 2) - 0xDC00);

				q[0] = (uint8_t)(0xF0 | cp >> 18);
				q[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
				q[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
				q[3] = (uint8_t)(0x80 | (cp & 0x3F));
				q += 4;
				i += 2;
				continue;
			} else {
				e = UTF8_REPLACEMENT;   /* lone surrogate */
				info->replaced++;
			}
			store4(q, e);
			q += e >> 24;
		}
		o->p = q;
	}
	for (; i + 1 < n && !o->err; i += 2) {
		uint32_t u = smpp_rd16(p + i);

		info->chars++;
		if (SMPP_LIKELY(u < 0xD800 || u > 0xDFFF)) {
			put_entry(o, cp_entry(u));
			continue;
		}
		if (u <= 0xDBFF && i + 3 < n) {
			uint32_t lo = smpp_rd16(p + i + 2);

			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				put_cp4(o, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
				i += 2;
				continue;
			}
		}
		put_entry(o, UTF8_REPLACEMENT);   /* lone surrogate */
		info->replaced++;
	}
	if (i < n && !o->err) {                   /* odd final octet */
		put_entry(o, UTF8_REPLACEMENT);
		info->replaced++;
		info->chars++;
	}
}

int smpp_text_decode(enum smpp_charset cs, const uint8_t *ud, size_t len, size_t udh_len,
		     uint32_t flags, uint8_t *out, size_t cap, struct smpp_text_info *info)
{
	struct out o = { .p = out, .end = out + cap, .err = SMPP_OK };

	info->out_len = 0;
	info->chars = 0;
	info->replaced = 0;
	info->charset = cs;
	if (udh_len > len)
		return SMPP_EUDH;
	if (cs == SMPP_CS_BINARY)
		return SMPP_EBINARY;
	if (len == 0)      /* empty views may carry a NULL pointer */
		return SMPP_OK;
	switch (cs) {
	case SMPP_CS_GSM7:
		if (flags & SMPP_TEXT_GSM_PACKED)
			dec_gsm_packed(&o, ud, len, udh_len, info);
		else
			dec_gsm_unpacked(&o, ud + udh_len, len - udh_len, info);
		break;
	case SMPP_CS_IA5:
	case SMPP_CS_LATIN1:
	case SMPP_CS_ISO8859_5:
	case SMPP_CS_ISO8859_8:
		dec_8bit(&o, ud + udh_len, len - udh_len, info, cs);
		break;
	case SMPP_CS_UCS2:
		dec_ucs2(&o, ud + udh_len, len - udh_len, info);
		break;
	default:
		return SMPP_EBINARY;
	}
	info->out_len = (size_t)(o.p - out);
	return o.err;
}

/* ------------------------------------------------------------------------ */
/* Encoders (tools and tests)                                               */
/* ------------------------------------------------------------------------ */

/* Next code point of strict UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int utf8_next(const uint8_t **pp, const uint8_t *end, uint32_t *cp)
{
	const uint8_t *p = *pp;
	uint32_t c = *p, min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		*pp = p + 1;
		return SMPP_OK;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1; c &= 0x1F; min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2; c &= 0x0F; min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3; c &= 0x07; min = 0x10000;
	} else {
		return SMPP_EUTF8;
	}
	if ((size_t)(end - p) < n + 1)
		return SMPP_EUTF8;
	for (i = 1; i <= n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return SMPP_EUTF8;
		c = c << 6 | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return SMPP_EUTF8;
	*cp = c;
	*pp = p + n + 1;
	return SMPP_OK;
}

/* GSM code for a code point: 0..0x7F base, 0x80|code extension, -1 none. */
static int gsm_code(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(gsm_from_other) / sizeof(gsm_from_other[0]);

	if (cp < 0x80)
		return gsm_from_ascii[cp] == 0xFF ? -1 : gsm_from_ascii[cp];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (gsm_from_other[mid].cp == cp)
			return gsm_from_other[mid].gsm;
		if (gsm_from_other[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int smpp_text_encode_gsm7(const uint8_t *utf8, size_t len, uint32_t flags, size_t udh_len,
			  uint8_t *out, size_t cap, size_t *out_len, size_t *septets)
{
	const uint8_t *p = utf8, *end = utf8 + len;
	bool packed = flags & SMPP_TEXT_GSM_PACKED;
	size_t k0 = packed ? (udh_len * 8 + 6) / 7 : 0;   /* first septet index */
	size_t n = 0;                                     /* septets written */
	int rc;

	if (packed) {
		if (udh_len > cap)
			return SMPP_ENOSPACE;
		memset(out + udh_len, 0, cap - udh_len);
	}
	while (p < end) {
		uint32_t cp;
		uint8_t sept[2];
		size_t ns, j;
		int g;

		rc = utf8_next(&p, end, &cp);
		if (rc != SMPP_OK)
			return rc;
		g = gsm_code(cp);
		if (g < 0) {
			if (!(flags & SMPP_TEXT_REPLACE))
				return SMPP_ETEXT;
			g = '?';
		}
		if (g & 0x80) {
			sept[0] = 0x1B;
			sept[1] = (uint8_t)(g & 0x7F);
			ns = 2;
		} else {
			sept[0] = (uint8_t)g;
			ns = 1;
		}
		for (j = 0; j < ns; j++, n++) {
			if (!packed) {
				if (udh_len + n >= cap)
					return SMPP_ENOSPACE;
				out[udh_len + n] = sept[j];
			} else {
				size_t b = (k0 + n) * 7, i = b >> 3;
				unsigned sh = b & 7;

				if (i >= cap || (sh > 1 && i + 1 >= cap))
					return SMPP_ENOSPACE;
				out[i] |= (uint8_t)(sept[j] << sh);
				if (sh > 1)
					out[i + 1] |= (uint8_t)(sept[j] >> (8 - sh));
			}
		}
	}
	*septets = n;
	if (packed)
		*out_len = ((k0 + n) * 7 + 7) / 8 - udh_len;
	else
		*out_len = n;
	return SMPP_OK;
}

int smpp_text_encode_ucs2(const uint8_t *utf8, size_t len, uint8_t *out, size_t cap,
			  size_t *out_len)
{
	const uint8_t *p = utf8, *end = utf8 + len;
	size_t o = 0;
	int rc;

	while (p < end) {
		uint32_t cp;

		rc = utf8_next(&p, end, &cp);
		if (rc != SMPP_OK)
			return rc;
		if (cp < 0x10000) {
			if (cap - o < 2)
				return SMPP_ENOSPACE;
			smpp_wr16(out + o, (uint16_t)cp);
			o += 2;
		} else {
			if (cap - o < 4)
				return SMPP_ENOSPACE;
			cp -= 0x10000;
			smpp_wr16(out + o, (uint16_t)(0xD800 | cp >> 10));
			smpp_wr16(out + o + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
			o += 4;
		}
	}
	*out_len = o;
	return SMPP_OK;
}
