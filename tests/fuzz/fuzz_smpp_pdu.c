/*
 * fuzz_smpp_pdu.c — libFuzzer target for smpp_pdu_decode and everything
 * that walks a decoded PDU (TLVs, lists, visitor, UDH, concat, text), plus an
 * oracle: a decoded PDU re-encodes to the same octets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void visit(void *ctx, const struct smpp_field *f)
{
	size_t *sum = ctx;

	*sum += f->u8 + f->v.len;
	if (f->v.len)   /* touch the first and last octet of every view */
		*sum += f->v.p[0] + f->v.p[f->v.len - 1];
}

static void walk(const struct smpp_pdu *pdu)
{
	struct smpp_tlv_iter ti;
	struct smpp_tlv t;
	struct smpp_list_iter li;
	struct smpp_dest d;
	struct smpp_unsuccess u;
	struct smpp_concat cc;
	struct smpp_text_info info;
	struct smpp_view ud = smpp_pdu_user_data(pdu);
	size_t sum = 0, n = 0;
	uint8_t *txt;

	smpp_tlv_iter_init(&ti, pdu);
	while (smpp_tlv_next(&ti, &t))
		n++;
	if (n != pdu->n_tlvs)
		abort();
	smpp_dest_iter_init(&li, pdu);
	for (n = 0; smpp_dest_next(&li, &d); n++)
		;
	if (n != pdu->number_of_dests)
		abort();
	smpp_unsuccess_iter_init(&li, pdu);
	for (n = 0; smpp_unsuccess_next(&li, &u); n++)
		;
	if (n != pdu->no_unsuccess)
		abort();
	smpp_pdu_visit(pdu, visit, &sum);
	smpp_pdu_concat(pdu, &cc);
	txt = malloc(SMPP_TEXT_UTF8_MAX(ud.len));
	smpp_pdu_text(pdu, 0, txt, SMPP_TEXT_UTF8_MAX(ud.len), &info);
	smpp_pdu_text(pdu, SMPP_TEXT_GSM_PACKED, txt, SMPP_TEXT_UTF8_MAX(ud.len), &info);
	smpp_pdu_text(pdu, 0, txt, ud.len / 2, &info);   /* short output */
	free(txt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpp_decode_opts strict = { .max_pdu = 0, .flags = 0 };
	struct smpp_decode_opts relax = { .max_pdu = 4096, .flags = SMPP_DEC_RELAX_CSTR_MAX };
	struct smpp_pdu pdu;
	struct smpp_hdr h;
	uint8_t *p = malloc(size ? size : 1);   /* exact size: over-reads fault */

	memcpy(p, data, size);
	smpp_hdr_peek(p, size, 0, &h);
	if (smpp_pdu_decode(p, size, &strict, &pdu) == SMPP_OK) {
		uint8_t *re = malloc(pdu.hdr.command_length);
		size_t n;

		walk(&pdu);
		/* strict decode: the encoder must reproduce the octets exactly */
		if (smpp_pdu_encode(&pdu, re, pdu.hdr.command_length, &n) != SMPP_OK ||
		    n != pdu.hdr.command_length || memcmp(re, p, n) != 0)
			abort();
		free(re);
	}
	if (smpp_pdu_decode(p, size, &relax, &pdu) == SMPP_OK)
		walk(&pdu);
	free(p);
	return 0;
}
