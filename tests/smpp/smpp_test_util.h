/*
 * smpp_test_util.h — helpers for the smpp/ tests: hex PDUs, view checks.
 * Hex strings may contain spaces; "LLLLLLLL" as the first 8 digits is
 * replaced by the PDU's real length, so bodies can be edited by hand.
 */
#ifndef SMSFW_SMPP_TEST_UTIL_H
#define SMSFW_SMPP_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp.h"

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse hex (spaces ignored) into a malloc'd exact-size buffer. */
static inline uint8_t *hex_pdu(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1, n = 0;
	uint8_t *tmp = malloc(cap), *out;
	int auto_len = strncmp(hex, "LLLLLLLL", 8) == 0;
	const char *s = hex;

	if (auto_len) {
		memset(tmp, 0, 4);
		n = 4;
		s += 8;
	}
	while (*s) {
		int hi, lo;

		if (*s == ' ' || *s == '\n' || *s == '\t') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hexval(s[1]);
		if (hi < 0 || lo < 0) {
			fprintf(stderr, "bad hex at '%s'\n", s);
			abort();
		}
		tmp[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (auto_len) {
		tmp[0] = (uint8_t)(n >> 24);
		tmp[1] = (uint8_t)(n >> 16);
		tmp[2] = (uint8_t)(n >> 8);
		tmp[3] = (uint8_t)n;
	}
	out = malloc(n ? n : 1);
	memcpy(out, tmp, n);
	free(tmp);
	*len = n;
	return out;
}

static inline int view_is(struct smpp_view v, const char *s)
{
	size_t n = strlen(s);

	return v.len == n && (n == 0 || memcmp(v.p, s, n) == 0);
}

static inline struct smpp_view sv(const char *s)
{
	struct smpp_view v = { (const uint8_t *)s, (uint32_t)strlen(s) };

	return v;
}

/* Decode hex with default options; returns the status, frees nothing (the
 * caller frees *buf after using the views). */
static inline int decode_hex(const char *hex, uint8_t **buf, struct smpp_pdu *pdu)
{
	size_t len;

	*buf = hex_pdu(hex, &len);
	return smpp_pdu_decode(*buf, len, NULL, pdu);
}

#define assert_view(v, s) assert_true(view_is((v), (s)))

#endif
