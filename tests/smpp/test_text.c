/*
 * test_text.c — smpp_charset_of, smpp_text_decode (GSM 03.38 unpacked and
 * packed, IA5, Latin-1, ISO-8859-5, ISO-8859-8, UCS-2), the UTF-8 encoders,
 * and smpp_pdu_text.
 * Invalid and boundary input first.
 */
#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "smpp_test_util.h"

static int dec(enum smpp_charset cs, const char *in, size_t n, size_t udh, uint32_t flags,
	       char *out, size_t cap, struct smpp_text_info *info)
{
	return smpp_text_decode(cs, (const uint8_t *)in, n, udh, flags, (uint8_t *)out, cap, info);
}

#define assert_text(out, info, s) do {                                 \
	assert_int_equal((info).out_len, strlen(s));                   \
	assert_memory_equal((out), (s), strlen(s));                    \
} while (0)

static void charset_map(void **state)
{
	(void)state;
	assert_int_equal(smpp_charset_of(0x00), SMPP_CS_GSM7);
	assert_int_equal(smpp_charset_of(0x01), SMPP_CS_IA5);
	assert_int_equal(smpp_charset_of(0x02), SMPP_CS_BINARY);
	assert_int_equal(smpp_charset_of(0x03), SMPP_CS_LATIN1);
	assert_int_equal(smpp_charset_of(0x04), SMPP_CS_BINARY);
	assert_int_equal(smpp_charset_of(0x05), SMPP_CS_BINARY); /* JIS */
	assert_int_equal(smpp_charset_of(0x06), SMPP_CS_ISO8859_5);
	assert_int_equal(smpp_charset_of(0x07), SMPP_CS_ISO8859_8);
	assert_int_equal(smpp_charset_of(0x08), SMPP_CS_UCS2);
	assert_int_equal(smpp_charset_of(0x09), SMPP_CS_BINARY); /* pictogram */
	assert_int_equal(smpp_charset_of(0x10), SMPP_CS_GSM7);   /* class 0, GSM */
	assert_int_equal(smpp_charset_of(0x18), SMPP_CS_UCS2);   /* class 0, UCS-2 */
	assert_int_equal(smpp_charset_of(0x14), SMPP_CS_BINARY); /* 8-bit data */
	assert_int_equal(smpp_charset_of(0x30), SMPP_CS_BINARY); /* compressed */
	assert_int_equal(smpp_charset_of(0xF0), SMPP_CS_GSM7);   /* flash SMS */
	assert_int_equal(smpp_charset_of(0xF4), SMPP_CS_BINARY);
	assert_int_equal(smpp_charset_of(0xE0), SMPP_CS_UCS2);
}

/*
 * 23.038 §4: coding group 01xx ("message marked for automatic deletion",
 * 0x40-0x7F) codes bits 5..0 exactly as group 00xx: bit 5 compressed, bits
 * 3..2 the alphabet. Handsets show 0x40 as GSM text and 0x48 as UCS-2 text;
 * taken as binary, that text would pass unscanned.
 */
static void charset_auto_deletion_group(void **state)
{
	struct smpp_text_info info;
	struct smpp_pdu pdu;
	char out[64];
	uint8_t *b;

	(void)state;
	assert_int_equal(smpp_charset_of(0x40), SMPP_CS_GSM7);
	assert_int_equal(smpp_charset_of(0x43), SMPP_CS_GSM7);   /* class bits ignored */
	assert_int_equal(smpp_charset_of(0x50), SMPP_CS_GSM7);   /* class 0 */
	assert_int_equal(smpp_charset_of(0x48), SMPP_CS_UCS2);
	assert_int_equal(smpp_charset_of(0x5a), SMPP_CS_UCS2);   /* class 2 */
	assert_int_equal(smpp_charset_of(0x44), SMPP_CS_BINARY); /* 8-bit data */
	assert_int_equal(smpp_charset_of(0x4c), SMPP_CS_BINARY); /* reserved alphabet */
	assert_int_equal(smpp_charset_of(0x60), SMPP_CS_BINARY); /* compressed */
	assert_int_equal(smpp_charset_of(0x78), SMPP_CS_BINARY); /* compressed, class, UCS-2 */
	/* the 0x80-0xBF groups are reserved: no text */
	assert_int_equal(smpp_charset_of(0x80), SMPP_CS_BINARY);
	assert_int_equal(smpp_charset_of(0xbf), SMPP_CS_BINARY);
	/* submit_sm dc 0x48: UCS-2 "Win" reaches the rules as text */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "00 00 00 00 00 00 00 48 00 06 0057 0069 006e", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "Win");
	free(b);
}

static void decode_errors(void **state)
{
	struct smpp_text_info info;
	char out[64];

	(void)state;
	/* binary data_coding: nothing decoded */
	assert_int_equal(dec(SMPP_CS_BINARY, "abc", 3, 0, 0, out, sizeof(out), &info), SMPP_EBINARY);
	assert_int_equal(info.out_len, 0);
	/* UDH longer than the user data */
	assert_int_equal(dec(SMPP_CS_GSM7, "abc", 3, 4, 0, out, sizeof(out), &info), SMPP_EUDH);
	/* output too small: stops at a character boundary ("é" is 2 octets) */
	assert_int_equal(dec(SMPP_CS_GSM7, "a\x05", 2, 0, 0, out, 2, &info), SMPP_ENOSPACE);
	assert_int_equal(info.out_len, 1);
	assert_int_equal(dec(SMPP_CS_UCS2, "\xd8\x3d\xde\x00", 4, 0, 0, out, 3, &info),
			 SMPP_ENOSPACE);
	assert_int_equal(info.out_len, 0);
	/* exact fit is not an error */
	assert_int_equal(dec(SMPP_CS_GSM7, "a\x05", 2, 0, 0, out, 3, &info), SMPP_OK);
	assert_text(out, info, "a\xc3\xa9");
}

static void gsm_unpacked(void **state)
{
	struct smpp_text_info info;
	char out[256];

	(void)state;
	/* "@£$¥ Hello" : 00 01 02 03 then ASCII */
	assert_int_equal(dec(SMPP_CS_GSM7, "\x00\x01\x02\x03 Hello", 10, 0, 0, out, sizeof(out), &info),
			 SMPP_OK);
	assert_text(out, info, "@\xc2\xa3$\xc2\xa5 Hello");
	assert_int_equal(info.chars, 10);
	/* Greek capitals and the ¤ / § / à positions */
	assert_int_equal(dec(SMPP_CS_GSM7, "\x10\x12\x24\x5f\x7f", 5, 0, 0, out, sizeof(out), &info),
			 SMPP_OK);
	assert_text(out, info, "\xce\x94\xce\xa6\xc2\xa4\xc2\xa7\xc3\xa0");
	/* extension table: { } [ ] ~ \ ^ | € and form feed */
	assert_int_equal(dec(SMPP_CS_GSM7, "\x1b\x28\x1b\x29\x1b\x3c\x1b\x3e\x1b\x3d\x1b\x2f\x1b\x14"
				 "\x1b\x40\x1b\x65\x1b\x0a", 20, 0, 0, out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "{}[]~\\^|\xe2\x82\xac\x0c");
	assert_int_equal(info.chars, 10);
	assert_int_equal(info.replaced, 0);
	/* undefined extension code 0x41 shows the base character 'A' */
	assert_int_equal(dec(SMPP_CS_GSM7, "\x1b\x41", 2, 0, 0, out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "A");
	/* trailing lone escape and an octet with bit 7 set are replaced */
	assert_int_equal(dec(SMPP_CS_GSM7, "a\x80" "b\x1b", 4, 0, 0, out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	assert_int_equal(info.replaced, 2);
	/* skip a 6-octet UDH */
	assert_int_equal(dec(SMPP_CS_GSM7, "\x05\x00\x03\x01\x02\x01Hi", 8, 6, 0, out, sizeof(out),
			     &info), SMPP_OK);
	assert_text(out, info, "Hi");
}

/*
 * The GSM 7-bit default alphabet, 3GPP TS 23.038 §6.2.1, as Unicode code
 * points, copied from the specification's table (0x1B is the escape).
 */
static const uint32_t spec_gsm_base[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,  /* @ £ $ ¥ è é ù ì */
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,  /* ò Ç LF Ø ø CR Å å */
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,  /* Δ _ Φ Γ Λ Ω Π Ψ */
	0x03A3, 0x0398, 0x039E, 0x0000, 0x00C6, 0x00E6, 0x00DF, 0x00C9,  /* Σ Θ Ξ ESC Æ æ ß É */
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,  /* SP ! " # ¤ % & ' */
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,  /* ¡ A-G */
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,  /* X Y Z Ä Ö Ñ Ü § */
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,  /* ¿ a-g */
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,  /* x y z ä ö ñ ü à */
};

/* The extension table, 23.038 §6.2.1.1: the codes it defines after 0x1B. */
static const struct { uint8_t code; uint32_t cp; } spec_gsm_ext[] = {
	{ 0x0A, 0x000C }, { 0x14, 0x005E }, { 0x28, 0x007B }, { 0x29, 0x007D },
	{ 0x2F, 0x005C }, { 0x3C, 0x005B }, { 0x3D, 0x007E }, { 0x3E, 0x005D },
	{ 0x40, 0x007C }, { 0x65, 0x20AC },
};

static size_t utf8_of(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	o[0] = (char)(0xE0 | cp >> 12);
	o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

/* Pack septets LSB first after udh_len octets and the fill bits (23.040). */
static size_t test_pack(const uint8_t *sept, size_t n, size_t udh_len, uint8_t *out, size_t cap)
{
	size_t k0 = (udh_len * 8 + 6) / 7, bits = (k0 + n) * 7, len = (bits + 7) / 8;

	assert_true(len <= cap);
	memset(out + udh_len, 0, len - udh_len);
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < 7; b++)
			if (sept[i] >> b & 1) {
				size_t bit = (k0 + i) * 7 + b;

				out[bit / 8] |= (uint8_t)(1u << (bit % 8));
			}
	return len;
}

/* Every base and extension code against the specification's table. */
static void gsm_spec_table(void **state)
{
	struct smpp_text_info info;
	char out[1024], want[1024];
	uint8_t in[300], packed[300];
	size_t wl = 0, n = 0;

	(void)state;
	/* each base character alone */
	for (unsigned c = 0; c < 128; c++) {
		char one[4];
		size_t ol;
		uint8_t u = (uint8_t)c;

		if (c == 0x1B)
			continue;
		ol = utf8_of(spec_gsm_base[c], one);
		assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, &u, 1, 0, 0, (uint8_t *)out,
						  sizeof(out), &info), SMPP_OK);
		if (info.out_len != ol || memcmp(out, one, ol) != 0)
			fail_msg("GSM 0x%02x: got %zu octets, want U+%04X", c, info.out_len,
				 (unsigned)spec_gsm_base[c]);
	}
	/* the whole table in one message (fast paths), unpacked then packed */
	for (unsigned c = 0; c < 128; c++) {
		if (c == 0x1B)
			continue;
		in[n++] = (uint8_t)c;
		wl += utf8_of(spec_gsm_base[c], want + wl);
	}
	in[n++] = 'x';   /* a final '@' would be ambiguous in packed form */
	want[wl++] = 'x';
	assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, in, n, 0, 0, (uint8_t *)out, sizeof(out),
					  &info), SMPP_OK);
	assert_int_equal(info.out_len, wl);
	assert_memory_equal(out, want, wl);
	assert_int_equal(info.chars, 128);
	{
		size_t pl = test_pack(in, n, 0, packed, sizeof(packed));

		assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, packed, pl, 0, SMPP_TEXT_GSM_PACKED,
						  (uint8_t *)out, sizeof(out), &info), SMPP_OK);
		assert_int_equal(info.out_len, wl);
		assert_memory_equal(out, want, wl);
	}
	/* every extension code: defined ones their symbol; the others, 0x1B
	 * (reserved, shown as a space) included, the base table's character */
	for (unsigned c = 0; c < 128; c++) {
		uint8_t esc[2] = { 0x1B, (uint8_t)c };
		uint32_t cp = c == 0x1B ? 0x20 : spec_gsm_base[c];
		char one[4];
		size_t ol;

		for (size_t i = 0; i < sizeof(spec_gsm_ext) / sizeof(spec_gsm_ext[0]); i++)
			if (spec_gsm_ext[i].code == c)
				cp = spec_gsm_ext[i].cp;
		ol = utf8_of(cp, one);
		assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, esc, 2, 0, 0, (uint8_t *)out,
						  sizeof(out), &info), SMPP_OK);
		if (info.out_len != ol || memcmp(out, one, ol) != 0 || info.chars != 1)
			fail_msg("GSM 1B %02x: got %zu octets, want U+%04X", c, info.out_len,
				 (unsigned)cp);
	}
}

/* The encoder is the table's inverse: every spec character to its code. */
static void gsm_spec_table_encode(void **state)
{
	uint8_t out[8];
	size_t n, sep;

	(void)state;
	for (unsigned c = 0; c < 128; c++) {
		char in[4];
		size_t il;

		if (c == 0x1B)
			continue;
		il = utf8_of(spec_gsm_base[c], in);
		assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)in, il, 0, 0, out, sizeof(out),
						       &n, &sep), SMPP_OK);
		if (n != 1 || out[0] != c)
			fail_msg("U+%04X: got %zu septets, first 0x%02x, want 0x%02x",
				 (unsigned)spec_gsm_base[c], n, out[0], c);
	}
	for (size_t i = 0; i < sizeof(spec_gsm_ext) / sizeof(spec_gsm_ext[0]); i++) {
		char in[4];
		size_t il = utf8_of(spec_gsm_ext[i].cp, in);

		assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)in, il, 0, 0, out, sizeof(out),
						       &n, &sep), SMPP_OK);
		assert_int_equal(n, 2);
		assert_int_equal(out[0], 0x1B);
		assert_int_equal(out[1], spec_gsm_ext[i].code);
	}
}

/*
 * Packed septets after every UDH length 0-12 (fill bits 0-6) and every
 * septet count 1-24 (the last octet filled by 1-7 bits): the text decodes
 * whole, nothing lost, nothing added.
 */
static void gsm_packed_fill_bits(void **state)
{
	struct smpp_text_info info;
	uint8_t sept[24], buf[64];
	char out[256], want[256];

	(void)state;
	for (size_t udh = 0; udh <= 12; udh++) {
		for (size_t n = 1; n <= 24; n++) {
			size_t wl = 0, len;

			for (size_t i = 0; i < n; i++) {
				/* letters only: no escape, no '@' at the end */
				sept[i] = (uint8_t)('A' + (udh + i) % 26);
				wl += utf8_of(sept[i], want + wl);
			}
			memset(buf, 0xEE, sizeof(buf));
			if (udh > 0) {
				buf[0] = (uint8_t)(udh - 1);
				if (udh > 2) {   /* one IE 0x70 filling the header */
					buf[1] = 0x70;
					buf[2] = (uint8_t)(udh - 3);
				}
			}
			len = test_pack(sept, n, udh, buf, sizeof(buf));
			assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, buf, len, udh,
							  SMPP_TEXT_GSM_PACKED, (uint8_t *)out,
							  sizeof(out), &info), SMPP_OK);
			if (info.out_len != wl || memcmp(out, want, wl) != 0)
				fail_msg("UDH %zu octets, %zu septets: got %zu octets, want %zu",
					 udh, n, info.out_len, wl);
			assert_int_equal(info.chars, n);
		}
	}
}

static void gsm_packed(void **state)
{
	struct smpp_text_info info;
	char out[256];

	(void)state;
	/* the 23.038 example: "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37 */
	assert_int_equal(dec(SMPP_CS_GSM7, "\xe8\x32\x9b\xfd\x46\x97\xd9\xec\x37", 9, 0,
			     SMPP_TEXT_GSM_PACKED, out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "hellohello");
	/* 7 septets fill 7 octets with 7 spare bits: no phantom '@' */
	{
		uint8_t p[16];
		size_t n, s;

		assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"ABCDEFG", 7,
						       SMPP_TEXT_GSM_PACKED, 0, p, sizeof(p), &n, &s),
				 SMPP_OK);
		assert_int_equal(n, 7);
		assert_int_equal(s, 7);
		assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, p, n, 0, SMPP_TEXT_GSM_PACKED,
						  (uint8_t *)out, sizeof(out), &info), SMPP_OK);
		assert_text(out, info, "ABCDEFG");
	}
	/* after a 6-octet UDH, one fill bit: 'A' (0x41) lands as 0x82 */
	{
		uint8_t p[32] = { 0x05, 0x00, 0x03, 0x2a, 0x02, 0x01 };
		size_t n, s;

		assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"A{", 2, SMPP_TEXT_GSM_PACKED, 6,
						       p, sizeof(p), &n, &s), SMPP_OK);
		assert_int_equal(s, 3);
		assert_int_equal(p[6], 0x82);
		assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, p, 6 + n, 6, SMPP_TEXT_GSM_PACKED,
						  (uint8_t *)out, sizeof(out), &info), SMPP_OK);
		assert_text(out, info, "A{");
	}
	/* 7-octet UDH (16-bit reference): no fill bits needed, 8 septets */
	{
		uint8_t p[32] = { 0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01 };
		size_t n, s;

		assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"ok", 2, SMPP_TEXT_GSM_PACKED, 7,
						       p, sizeof(p), &n, &s), SMPP_OK);
		assert_int_equal(p[7] & 0x7f, 'o');   /* septet 8 starts at octet 7, bit 0 */
		assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, p, 7 + n, 7, SMPP_TEXT_GSM_PACKED,
						  (uint8_t *)out, sizeof(out), &info), SMPP_OK);
		assert_text(out, info, "ok");
	}
}

static void ia5_latin1(void **state)
{
	struct smpp_text_info info;
	char out[64];

	(void)state;
	assert_int_equal(dec(SMPP_CS_LATIN1, "caf\xe9 \xa3", 6, 0, 0, out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "caf\xc3\xa9 \xc2\xa3");
	assert_int_equal(info.replaced, 0);
	assert_int_equal(dec(SMPP_CS_IA5, "caf\xe9", 4, 0, 0, out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "caf\xef\xbf\xbd");
	assert_int_equal(info.replaced, 1);
}

/*
 * Every octet of a one-octet charset against glibc's iconv (a mapping
 * written independently of ours): an octet iconv converts decodes to the
 * same UTF-8, an octet iconv refuses as unassigned decodes to U+FFFD and is
 * counted. Then all 256 octets in one message, through the ASCII fast path.
 */
static void check_against_iconv(enum smpp_charset cs, const char *name, unsigned *refused)
{
	char want_all[256 * 4], out[256 * 4 + 8];
	struct smpp_text_info info;
	size_t want_len = 0;
	uint8_t all[256];
	iconv_t cd = iconv_open("UTF-8", name);

	if (cd == (iconv_t)-1)
		fail_msg("iconv_open(\"UTF-8\", \"%s\"): %s", name, strerror(errno));
	*refused = 0;
	for (unsigned b = 0; b < 256; b++) {
		uint8_t in = (uint8_t)b;
		char want[8], *ip = (char *)&in, *op = want;
		size_t il = 1, ol = sizeof(want), r;

		all[b] = in;
		iconv(cd, NULL, NULL, NULL, NULL);
		r = iconv(cd, &ip, &il, &op, &ol);
		assert_int_equal(dec(cs, (const char *)&in, 1, 0, 0, out, sizeof(out), &info), SMPP_OK);
		assert_int_equal(info.chars, 1);
		if (r == (size_t)-1) {
			if (errno != EILSEQ)
				fail_msg("%s octet 0x%02x: iconv %s", name, b, strerror(errno));
			(*refused)++;
			if (info.replaced != 1)
				fail_msg("%s octet 0x%02x: iconv refuses it, we did not replace it",
					 name, b);
			assert_text(out, info, "\xef\xbf\xbd");
			memcpy(want_all + want_len, "\xef\xbf\xbd", 3);
			want_len += 3;
			continue;
		}
		if (info.replaced != 0 || info.out_len != sizeof(want) - ol ||
		    memcmp(out, want, info.out_len) != 0)
			fail_msg("%s octet 0x%02x: %zu octets from us, %zu from iconv", name, b,
				 info.out_len, sizeof(want) - ol);
		memcpy(want_all + want_len, want, sizeof(want) - ol);
		want_len += sizeof(want) - ol;
	}
	iconv_close(cd);
	assert_int_equal(dec(cs, (const char *)all, sizeof(all), 0, 0, out, sizeof(out), &info),
			 SMPP_OK);
	assert_int_equal(info.chars, 256);
	assert_int_equal(info.replaced, *refused);
	assert_int_equal(info.out_len, want_len);
	assert_memory_equal(out, want_all, want_len);
}

static void iso8859_5_iconv(void **state)
{
	unsigned refused;

	(void)state;
	check_against_iconv(SMPP_CS_ISO8859_5, "ISO-8859-5", &refused);
	assert_int_equal(refused, 0);   /* every code of ISO-8859-5 is assigned */
}

static void iso8859_8_iconv(void **state)
{
	unsigned refused;

	(void)state;
	check_against_iconv(SMPP_CS_ISO8859_8, "ISO-8859-8", &refused);
	assert_true(refused > 0);       /* the unassigned codes were exercised */
}

/*
 * data_coding 6 and 7 reach the rules as text through smpp_pdu_text (what
 * the dataplane calls): a Cyrillic and a Hebrew phishing text.
 */
static void pdu_text_iso8859(void **state)
{
	struct smpp_text_info info;
	struct smpp_pdu pdu;
	char out[128];
	uint8_t *b;

	(void)state;
	/* submit_sm dc 6, "Ваша карта заблокирована №5" in ISO-8859-5 */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "00 00 00 00 00 00 00 06 00 1b "
				    "b2d0e8d0 20 dad0e0e2d0 20 d7d0d1dbdedad8e0ded2d0ddd0 20 f035",
				    &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "Ваша карта заблокирована №5");
	assert_int_equal(info.charset, SMPP_CS_ISO8859_5);
	assert_int_equal(info.chars, 27);
	assert_int_equal(info.replaced, 0);
	/* output for one character and a half: stops after "В" */
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, 3, &info), SMPP_ENOSPACE);
	assert_text(out, info, "В");
	free(b);
	/* submit_sm dc 7 with UDHI, UDH 05 00 03 2a 02 01, then
	 * "החשבון שלך נחסם" in ISO-8859-8 */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 07 00 15 050003 2a0201 "
				    "e4e7f9e1e5ef 20 f9ecea 20 f0e7f1ed", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "החשבון שלך נחסם");
	assert_int_equal(info.charset, SMPP_CS_ISO8859_8);
	assert_int_equal(info.replaced, 0);
	free(b);
	/* dc 7 with an unassigned code (0xFF) between two letters */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "00 00 00 00 00 00 00 07 00 03 e0ffe1", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "א\xef\xbf\xbdב");
	assert_int_equal(info.replaced, 1);
	free(b);
}

static void ucs2(void **state)
{
	struct smpp_text_info info;
	char out[64];

	(void)state;
	/* "Hi" U+00E9 U+20AC and U+1F600 as D83D DE00 */
	assert_int_equal(dec(SMPP_CS_UCS2, "\x00H\x00i\x00\xe9\x20\xac\xd8\x3d\xde\x00", 12, 0, 0, out,
			     sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "Hi\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_int_equal(info.chars, 5);
	assert_int_equal(info.replaced, 0);
	/* lone high surrogate before 'A', lone low surrogate, odd final octet */
	assert_int_equal(dec(SMPP_CS_UCS2, "\xd8\x3d\x00" "A\xde\x00\x00", 7, 0, 0, out, sizeof(out),
			     &info), SMPP_OK);
	assert_text(out, info, "\xef\xbf\xbd" "A\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(info.replaced, 3);
	/* high surrogate as the last unit */
	assert_int_equal(dec(SMPP_CS_UCS2, "\xd8\x3d", 2, 0, 0, out, sizeof(out), &info), SMPP_OK);
	assert_int_equal(info.replaced, 1);
}

static void encoders(void **state)
{
	uint8_t out[64];
	size_t n, s;

	(void)state;
	/* invalid UTF-8: overlong NUL, encoded surrogate, truncated sequence */
	assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"\xc0\x80", 2, 0, 0, out, sizeof(out),
					       &n, &s), SMPP_EUTF8);
	assert_int_equal(smpp_text_encode_ucs2((const uint8_t *)"\xed\xa0\x80", 3, out, sizeof(out), &n),
			 SMPP_EUTF8);
	assert_int_equal(smpp_text_encode_ucs2((const uint8_t *)"\xe2\x82", 2, out, sizeof(out), &n),
			 SMPP_EUTF8);
	/* "✓" has no GSM form; with SMPP_TEXT_REPLACE it becomes '?' */
	assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"\xe2\x9c\x93", 3, 0, 0, out,
					       sizeof(out), &n, &s), SMPP_ETEXT);
	assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"\xe2\x9c\x93", 3, SMPP_TEXT_REPLACE, 0,
					       out, sizeof(out), &n, &s), SMPP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], '?');
	/* no room */
	assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"abc", 3, 0, 0, out, 2, &n, &s),
			 SMPP_ENOSPACE);
	assert_int_equal(smpp_text_encode_ucs2((const uint8_t *)"\xf0\x9f\x98\x80", 4, out, 3, &n),
			 SMPP_ENOSPACE);
	/* "€{é@" -> 1B 65 1B 28 05 00 */
	assert_int_equal(smpp_text_encode_gsm7((const uint8_t *)"\xe2\x82\xac{\xc3\xa9@", 7, 0, 0, out,
					       sizeof(out), &n, &s), SMPP_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "\x1b\x65\x1b\x28\x05\x00", 6);
	/* U+1F600 -> D83D DE00 */
	assert_int_equal(smpp_text_encode_ucs2((const uint8_t *)"a\xf0\x9f\x98\x80", 5, out,
					       sizeof(out), &n), SMPP_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "\x00\x61\xd8\x3d\xde\x00", 6);
}

/* Random GSM-representable strings survive encode -> decode, both packings. */
static void gsm_roundtrip_random(void **state)
{
	static const char *alphabet[] = { "a", "Z", "0", " ", "@", "\xc2\xa3", "\xe2\x82\xac", "{",
					  "}", "\\", "\xce\xa9", "\xc3\xa9", "\n", "~", "|", "^",
					  "\xc3\x9f", "?", "\xc2\xbf", "[" };
	uint32_t seed = 0x5eed0001;

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		char text[600];
		size_t tl = 0, nch, n, s;
		uint8_t enc[400];
		char back[1200];
		struct smpp_text_info info;
		int packed = iter & 1;

		seed = seed * 1103515245u + 12345u;
		nch = 1 + (seed >> 16) % 150;
		for (size_t i = 0; i < nch; i++) {
			const char *c;

			seed = seed * 1103515245u + 12345u;
			c = alphabet[(seed >> 16) % 20];
			memcpy(text + tl, c, strlen(c));
			tl += strlen(c);
		}
		/* A final '@' in packed form is indistinguishable from padding
		 * when the septets exactly fill the octets (documented). */
		if (packed && text[tl - 1] == '@')
			text[tl - 1] = 'x';
		assert_int_equal(smpp_text_encode_gsm7((uint8_t *)text, tl,
						       packed ? SMPP_TEXT_GSM_PACKED : 0, 0, enc,
						       sizeof(enc), &n, &s), SMPP_OK);
		assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, enc, n, 0,
						  packed ? SMPP_TEXT_GSM_PACKED : 0, (uint8_t *)back,
						  sizeof(back), &info), SMPP_OK);
		assert_int_equal(info.out_len, tl);
		assert_memory_equal(back, text, tl);
		assert_int_equal(info.replaced, 0);
	}
}

/* Long runs take the 16-at-a-time paths; breaks inside them must not. */
static void long_runs(void **state)
{
	char text[400], back[1700];
	uint8_t enc[800];
	struct smpp_text_info info;
	size_t tl = 0, n, s;

	(void)state;
	for (int i = 0; i < 5; i++) {
		memcpy(text + tl, "The quick brown fox jumps over 13 lazy dogs", 43);
		tl += 43;
		/* a break at a different offset of each 16-octet block */
		memcpy(text + tl, i % 2 ? "\xe2\x82\xac" : "{\xc3\xa9}", i % 2 ? 3 : 4);
		tl += i % 2 ? 3 : 4;
	}
	assert_int_equal(smpp_text_encode_gsm7((uint8_t *)text, tl, 0, 0, enc, sizeof(enc), &n, &s),
			 SMPP_OK);
	assert_int_equal(smpp_text_decode(SMPP_CS_GSM7, enc, n, 0, 0, (uint8_t *)back, sizeof(back),
					  &info), SMPP_OK);
	assert_int_equal(info.out_len, tl);
	assert_memory_equal(back, text, tl);
	assert_int_equal(info.chars, 5 * 43 + 2 * 1 + 3 * 3);
	/* UCS-2: ASCII runs with an emoji and a Cyrillic letter between */
	assert_int_equal(smpp_text_encode_ucs2((uint8_t *)text, 43, enc, sizeof(enc), &n), SMPP_OK);
	memcpy(enc + n, "\xd8\x3d\xde\x00\x04\x1f", 6);
	assert_int_equal(smpp_text_encode_ucs2((uint8_t *)text, 43, enc + n + 6, sizeof(enc) - n - 6,
					       &s), SMPP_OK);
	n += 6 + s;
	assert_int_equal(smpp_text_decode(SMPP_CS_UCS2, enc, n, 0, 0, (uint8_t *)back, sizeof(back),
					  &info), SMPP_OK);
	assert_int_equal(info.out_len, 43 + 4 + 2 + 43);
	assert_memory_equal(back, text, 43);
	assert_memory_equal(back + 43, "\xf0\x9f\x98\x80\xd0\x9f", 6);
	assert_memory_equal(back + 49, text, 43);
	assert_int_equal(info.chars, 43 + 1 + 1 + 43);
}

static void pdu_text(void **state)
{
	struct smpp_text_info info;
	struct smpp_pdu pdu;
	char out[128];
	uint8_t *b;

	(void)state;
	/* submit_sm esm_class 0x40, dc 0: UDH 05 00 03 2a 02 01 then "Hi" */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 08 050003 2a0201 4869", &b, &pdu),
			 SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "Hi");
	free(b);
	/* same with esm_class 0x43 (UDHI plus store-and-forward bits) */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "43 00 00 00 00 00 00 00 00 08 050003 2a0201 4869", &b, &pdu),
			 SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "Hi");
	free(b);
	/* UDHI set but UDHL 9 overruns the 4-octet message */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 04 09000300", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_EUDH);
	free(b);
	/* UCS-2 in message_payload (dc 8): "€1" */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "00 00 00 00 00 00 00 08 00 00 0424 0004 20ac0031", &b, &pdu),
			 SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "\xe2\x82\xac" "1");
	assert_int_equal(info.charset, SMPP_CS_UCS2);
	free(b);
}

/*
 * The text starts after UDHL + 1 octets whatever the IEs inside say: a
 * handset skips the header by its length and shows the rest even when an
 * IE in it is malformed. Refusing the text there would let it pass unread.
 */
static void pdu_text_malformed_ie(void **state)
{
	struct smpp_text_info info;
	struct smpp_pdu pdu;
	char out[128];
	uint8_t *b;

	(void)state;
	/* UDHL 3, IE 0x00 claims 5 octets (2 left in the header), then "Free prize" */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 0e 03000541 46726565207072697a65",
				    &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "Free prize");
	free(b);
	/* UDHL 1 with a lone IEI octet (IE header cut), UCS-2 "Hi" */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 08 00 06 0100 00480069", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_OK);
	assert_text(out, info, "Hi");
	free(b);
	/* packed GSM after a malformed 4-octet UDH: the fill bits still apply */
	{
		static const uint8_t sept[] = { 'W', 'i', 'n' };
		uint8_t sm[16] = { 0x03, 0x00, 0x07, 0x2a };
		size_t n = test_pack(sept, 3, 4, sm, sizeof(sm));
		struct smpp_pdu m;

		memset(&m, 0, sizeof(m));
		m.hdr.command_id = SMPP_CMD_SUBMIT_SM;
		m.esm_class = SMPP_ESM_UDHI;
		m.short_message.p = sm;
		m.short_message.len = (uint32_t)n;
		m.sm_length = (uint8_t)n;
		assert_int_equal(smpp_pdu_text(&m, SMPP_TEXT_GSM_PACKED, (uint8_t *)out, sizeof(out),
					       &info), SMPP_OK);
		assert_text(out, info, "Win");
	}
	/* UDHL past the user data: no text boundary, still refused */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 03 0a0003", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_text(&pdu, 0, (uint8_t *)out, sizeof(out), &info), SMPP_EUDH);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(charset_map),
		cmocka_unit_test(charset_auto_deletion_group),
		cmocka_unit_test(decode_errors),
		cmocka_unit_test(gsm_unpacked),
		cmocka_unit_test(gsm_spec_table),
		cmocka_unit_test(gsm_spec_table_encode),
		cmocka_unit_test(gsm_packed),
		cmocka_unit_test(gsm_packed_fill_bits),
		cmocka_unit_test(ia5_latin1),
		cmocka_unit_test(iso8859_5_iconv),
		cmocka_unit_test(iso8859_8_iconv),
		cmocka_unit_test(ucs2),
		cmocka_unit_test(encoders),
		cmocka_unit_test(gsm_roundtrip_random),
		cmocka_unit_test(long_runs),
		cmocka_unit_test(pdu_text),
		cmocka_unit_test(pdu_text_malformed_ie),
		cmocka_unit_test(pdu_text_iso8859),
	};

	return cmocka_run_group_tests_name("smpp_text", tests, NULL, NULL);
}
