/*
 * fuzz_smpp_text.c — libFuzzer target for the text decoders and encoders.
 * Oracles: decoder output is always valid UTF-8 and never longer than
 * SMPP_TEXT_UTF8_MAX; a UTF-8 input the GSM or UCS-2 encoder accepts decodes
 * back to itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = p[i], cp, min;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; min = 0x80; }
		else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; min = 0x800; }
		else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; min = 0x10000; }
		else return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (p[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum smpp_charset cs[] = { SMPP_CS_GSM7, SMPP_CS_IA5, SMPP_CS_LATIN1,
						SMPP_CS_UCS2, SMPP_CS_BINARY, SMPP_CS_ISO8859_5,
						SMPP_CS_ISO8859_8 };
	struct smpp_text_info info;
	uint8_t *in, *out, *enc;
	size_t cap, udh, n, sept;
	uint32_t flags;
	int rc;

	if (size < 2)
		return 0;
	flags = (data[0] & 0x08) ? SMPP_TEXT_GSM_PACKED : 0;
	udh = data[1] % 16;
	in = malloc(size - 2 ? size - 2 : 1);
	memcpy(in, data + 2, size - 2);
	size -= 2;
	cap = SMPP_TEXT_UTF8_MAX(size);
	if (data[0] & 0x10)
		cap = size / 3;   /* exercise the short-output path */
	out = malloc(cap ? cap : 1);
	rc = smpp_text_decode(cs[data[0] % (sizeof(cs) / sizeof(cs[0]))], in, size, udh, flags,
			      out, cap, &info);
	if (info.out_len > cap || !valid_utf8(out, info.out_len))
		abort();
	if (rc == SMPP_OK && (data[0] & 0x10) == 0 && info.out_len > SMPP_TEXT_UTF8_MAX(size))
		abort();

	/* encoders, with the input read as UTF-8 */
	enc = malloc(4 * size + 8);
	if (smpp_text_encode_ucs2(in, size, enc, 4 * size + 8, &n) == SMPP_OK) {
		uint8_t *back = malloc(SMPP_TEXT_UTF8_MAX(n));

		if (smpp_text_decode(SMPP_CS_UCS2, enc, n, 0, 0, back, SMPP_TEXT_UTF8_MAX(n),
				     &info) != SMPP_OK ||
		    info.out_len != size || memcmp(back, in, size) != 0)
			abort();
		free(back);
	}
	if (smpp_text_encode_gsm7(in, size, flags, 0, enc, 4 * size + 8, &n, &sept) == SMPP_OK &&
	    !(flags && size && in[size - 1] == '@')) {
		uint8_t *back = malloc(SMPP_TEXT_UTF8_MAX(n));

		if (smpp_text_decode(SMPP_CS_GSM7, enc, n, 0, flags, back, SMPP_TEXT_UTF8_MAX(n),
				     &info) != SMPP_OK ||
		    info.out_len != size || memcmp(back, in, size) != 0)
			abort();
		free(back);
	}
	free(enc);
	free(out);
	free(in);
	return 0;
}
