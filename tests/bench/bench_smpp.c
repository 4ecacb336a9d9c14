/*
 * bench_smpp.c — `smsfw-bench smpp`: the SMPP codec against libsmpp34.
 *
 * Builds a fixed corpus of submit_sm PDUs (mixed sizes, with and without
 * TLVs, GSM 7-bit and UCS-2 text; fixed seed), then times in the same run:
 *   1. field decoding with smpp_pdu_decode (zero-copy views),
 *   2. field decoding with libsmpp34's smpp34_unpack (which copies every
 *      field into its struct and mallocs its TLV list; the list is freed
 *      inside the timed loop, since a caller has to),
 *   3. smpp/'s text decoding to UTF-8 per message (UDH skipped).
 * Each figure is the best of several rounds. The last line is
 *   speedup=N text_ns=T
 * N = libsmpp34 ns/PDU / smpp/ ns/PDU, T = text decoding ns per 160
 * characters. Targets: N >= 50, T <= 150.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smpp.h"

#include <libsmpp34/smpp34.h>
#include <libsmpp34/smpp34_structs.h>
#include <libsmpp34/smpp34_params.h>

#define N_PDUS 1000
#define ROUNDS_FAST 200
#define ROUNDS_SLOW 10
#define ROUNDS 5   /* best of */

struct item {
	uint8_t *p;
	size_t len;
	uint32_t chars;
};

static uint32_t rs = 0x5eed2775u;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 17;
	rs ^= rs << 5;
	return rs;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char *words[] = {
	"your", "account", "has", "been", "suspended", "verify", "now", "at", "bank", "delivery",
	"parcel", "code", "is", "meet", "me", "tomorrow", "thanks", "call", "back", "please",
	"win", "a", "free", "prize", "today", "{promo}", "10€", "ok", "see", "you",
};

/* UTF-8 text of about `target` characters from the word list. */
static size_t make_text(char *out, size_t target, int ucs2)
{
	size_t n = 0, chars = 0;

	while (chars < target) {
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		size_t wl = strlen(w);

		if (ucs2 && rnd() % 4 == 0)
			w = "Привет", wl = strlen(w);
		memcpy(out + n, w, wl);
		n += wl;
		out[n++] = ' ';
		chars += wl + 1;
	}
	return n;
}

static void build_corpus(struct item *items, size_t *total_bytes, unsigned *n_ucs2,
			 unsigned *n_tlv)
{
	static const uint8_t umr[2] = { 0x12, 0x34 }, port[2] = { 0x0b, 0x84 };

	*total_bytes = 0;
	*n_ucs2 = *n_tlv = 0;
	for (int i = 0; i < N_PDUS; i++) {
		struct smpp_pdu pdu;
		char text[800];
		uint8_t sm[300], tlvs[64];
		size_t tl, sml, septets, off = 0;
		int ucs2 = rnd() % 10 < 3;
		struct smpp_text_info info;
		uint8_t scratch[2048];

		memset(&pdu, 0, sizeof(pdu));
		pdu.hdr.command_id = SMPP_CMD_SUBMIT_SM;
		pdu.hdr.sequence_number = (uint32_t)i + 1;
		pdu.source_addr_ton = 5;
		pdu.source_addr = (struct smpp_view){ (const uint8_t *)"MyBank", 6 };
		pdu.dest_addr_ton = 1;
		pdu.dest_addr_npi = 1;
		pdu.destination_addr = (struct smpp_view){ (const uint8_t *)"447700900123", 12 };
		pdu.registered_delivery = 1;
		if (ucs2) {
			tl = make_text(text, 30 + rnd() % 40, 1);
			while (smpp_text_encode_ucs2((uint8_t *)text, tl, sm, 140, &sml) != SMPP_OK)
				tl--;
			pdu.data_coding = 8;
			(*n_ucs2)++;
		} else {
			tl = make_text(text, 90 + rnd() % 70, 0);
			if (tl > 160)
				tl = 160;
			while (smpp_text_encode_gsm7((uint8_t *)text, tl, 0, 0, sm, 160, &sml,
						     &septets) != SMPP_OK)
				tl--;
		}
		pdu.short_message = (struct smpp_view){ sm, (uint32_t)sml };
		if (rnd() % 2) {
			smpp_tlv_put(tlvs, sizeof(tlvs), &off, SMPP_TLV_USER_MESSAGE_REFERENCE, umr, 2);
			smpp_tlv_put(tlvs, sizeof(tlvs), &off, SMPP_TLV_SOURCE_PORT, port, 2);
			(*n_tlv)++;
		}
		pdu.tlvs = (struct smpp_view){ tlvs, (uint32_t)off };
		items[i].p = malloc(512);
		if (smpp_pdu_encode(&pdu, items[i].p, 512, &items[i].len) != SMPP_OK)
			abort();
		smpp_text_decode(ucs2 ? SMPP_CS_UCS2 : SMPP_CS_GSM7, sm, sml, 0, 0, scratch,
				 sizeof(scratch), &info);
		items[i].chars = info.chars;
		*total_bytes += items[i].len;
	}
}

int main(void)
{
	static struct item items[N_PDUS];
	static struct smpp_pdu decoded[N_PDUS];
	static uint8_t textbuf[SMPP_TEXT_UTF8_MAX(SMPP_MAX_SM)];
	size_t total_bytes;
	unsigned n_ucs2, n_tlv;
	uint64_t chars = 0, sink = 0;
	double best_fast = 1e300, best_slow = 1e300, best_text = 1e300;
	double ns_fast, ns_slow, ns_text_msg, ns_text_160;
	int r;

	build_corpus(items, &total_bytes, &n_ucs2, &n_tlv);
	for (int i = 0; i < N_PDUS; i++) {
		chars += items[i].chars;
		/* text timing starts from decoded PDUs: only the text is timed */
		if (smpp_pdu_decode(items[i].p, items[i].len, NULL, &decoded[i]) != SMPP_OK)
			abort();
	}

	printf("smsfw-bench smpp\n");
	printf("corpus: %d submit_sm, %u GSM 7-bit (unpacked) / %u UCS-2, %u with TLVs "
	       "(user_message_reference, source_port), mean %.0f octets, mean %.0f characters\n",
	       N_PDUS, N_PDUS - n_ucs2, n_ucs2, n_tlv, (double)total_bytes / N_PDUS,
	       (double)chars / N_PDUS);
	printf("iterations: smpp/ %d x %d PDUs, libsmpp34 %d x %d PDUs, text %d x %d messages; "
	       "best of %d rounds\n", ROUNDS_FAST, N_PDUS, ROUNDS_SLOW, N_PDUS, ROUNDS_FAST, N_PDUS,
	       ROUNDS);
	fflush(stdout);

	for (r = 0; r < ROUNDS; r++) {
		double t0 = now_ns(), t;

		for (int k = 0; k < ROUNDS_FAST; k++) {
			for (int i = 0; i < N_PDUS; i++) {
				struct smpp_pdu pdu;

				if (smpp_pdu_decode(items[i].p, items[i].len, NULL, &pdu) != SMPP_OK)
					abort();
				sink += pdu.sm_length + pdu.source_addr.len + pdu.n_tlvs;
			}
		}
		t = (now_ns() - t0) / ((double)ROUNDS_FAST * N_PDUS);
		if (t < best_fast)
			best_fast = t;

		t0 = now_ns();
		for (int k = 0; k < ROUNDS_SLOW; k++) {
			for (int i = 0; i < N_PDUS; i++) {
				submit_sm_t s;

				s.tlv = NULL;   /* unpack leaves it alone without TLVs */
				if (smpp34_unpack(SUBMIT_SM, &s, items[i].p, (int)items[i].len) != 0) {
					fprintf(stderr, "smpp34_unpack: %s\n", smpp34_strerror);
					return 1;
				}
				sink += s.sm_length;
				destroy_tlv(s.tlv);
			}
		}
		t = (now_ns() - t0) / ((double)ROUNDS_SLOW * N_PDUS);
		if (t < best_slow)
			best_slow = t;

		t0 = now_ns();
		for (int k = 0; k < ROUNDS_FAST; k++) {
			for (int i = 0; i < N_PDUS; i++) {
				struct smpp_text_info info;

				smpp_pdu_text(&decoded[i], 0, textbuf, sizeof(textbuf), &info);
				sink += info.out_len;
			}
		}
		t = (now_ns() - t0) / ((double)ROUNDS_FAST * N_PDUS);
		if (t < best_text)
			best_text = t;
	}
	ns_fast = best_fast;
	ns_slow = best_slow;
	ns_text_msg = best_text;
	ns_text_160 = ns_text_msg * N_PDUS / (double)chars * 160.0;

	printf("smpp/ field decode:        %8.1f ns/PDU\n", ns_fast);
	printf("libsmpp34 smpp34_unpack:   %8.1f ns/PDU\n", ns_slow);
	printf("smpp/ text decode:         %8.1f ns/message (%.2f ns/character)\n", ns_text_msg,
	       ns_text_msg * N_PDUS / (double)chars);
	for (int cs = 0; cs < 2; cs++) {   /* the two charsets on their own */
		double best = 1e300;
		uint64_t cch = 0;
		unsigned nm = 0;

		for (int i = 0; i < N_PDUS; i++)
			if ((decoded[i].data_coding == 8) == cs) {
				cch += items[i].chars;
				nm++;
			}
		for (r = 0; r < ROUNDS; r++) {
			double t0 = now_ns(), t;

			for (int k = 0; k < ROUNDS_FAST; k++) {
				for (int i = 0; i < N_PDUS; i++) {
					struct smpp_text_info info;

					if ((decoded[i].data_coding == 8) != cs)
						continue;
					smpp_pdu_text(&decoded[i], 0, textbuf, sizeof(textbuf), &info);
					sink += info.out_len;
				}
			}
			t = (now_ns() - t0) / ((double)ROUNDS_FAST * cch);
			if (t < best)
				best = t;
		}
		printf("  %-6s %4u messages: %.2f ns/character, %.0f ns per 160 characters\n",
		       cs ? "UCS-2" : "GSM", nm, best, best * 160);
	}
	printf("(checksum %llu)\n", (unsigned long long)sink);
	printf("speedup=%.0f text_ns=%.0f\n", ns_slow / ns_fast, ns_text_160);
	for (int i = 0; i < N_PDUS; i++)
		free(items[i].p);
	return 0;
}
