/*
 * udh.c — User Data Header (3GPP TS 23.040 §9.2.3.24), concatenation from a
 * UDH or the SAR TLVs, and a PDU's text.
 */
#include <string.h>

#include "smpp_priv.h"

#define IEI_CONCAT8 0x00
#define IEI_PORTS8 0x04
#define IEI_PORTS16 0x05
#define IEI_CONCAT16 0x08

/*
 * 23.040 §9.2.3.24.1 / .8: with a total of 0, or a sequence number of 0 or
 * above the total, the receiving entity ignores the whole IE (the part is
 * shown on its own), so the firewall must not join it to other parts.
 */
static bool concat_valid(uint8_t total, uint8_t seq)
{
	return total != 0 && seq != 0 && seq <= total;
}

int smpp_udh_parse(const uint8_t *ud, size_t len, struct smpp_udh *out)
{
	struct smpp_udh_iter it;
	struct smpp_udh_ie ie;

	memset(out, 0, sizeof(*out));
	if (len == 0 || (size_t)ud[0] + 1 > len)
		return SMPP_EUDH;
	out->len = (uint32_t)ud[0] + 1;
	/*
	 * 23.040 §9.2.3.24: of repeated IEs, and of IEs with mutually exclusive
	 * meanings (8- and 16-bit concatenation or ports), the last one counts;
	 * handsets join parts by it, so the firewall must too.
	 */
	smpp_udh_iter_init(&it, ud, len);
	while (smpp_udh_next(&it, &ie)) {
		out->n_ie++;
		switch (ie.iei) {
		case IEI_CONCAT8:
			if (ie.len == 3 && concat_valid(ie.data[1], ie.data[2])) {
				out->concat.present = true;
				out->concat.ref16 = false;
				out->concat.ref = ie.data[0];
				out->concat.total = ie.data[1];
				out->concat.seq = ie.data[2];
			}
			break;
		case IEI_CONCAT16:
			if (ie.len == 4 && concat_valid(ie.data[2], ie.data[3])) {
				out->concat.present = true;
				out->concat.ref16 = true;
				out->concat.ref = smpp_rd16(ie.data);
				out->concat.total = ie.data[2];
				out->concat.seq = ie.data[3];
			}
			break;
		case IEI_PORTS8:
			if (ie.len == 2) {
				out->has_ports = true;
				out->ports16 = false;
				out->dst_port = ie.data[0];
				out->src_port = ie.data[1];
			}
			break;
		case IEI_PORTS16:
			if (ie.len == 4) {
				out->has_ports = true;
				out->ports16 = true;
				out->dst_port = smpp_rd16(ie.data);
				out->src_port = smpp_rd16(ie.data + 2);
			}
			break;
		default:
			break;
		}
	}
	/* smpp_udh_next stops at an IE that runs past the header: the header
	 * is malformed, but the IEs before it stay filled in (handsets read
	 * them too, and join the part by a concatenation IE among them). */
	return it.p == it.end ? SMPP_OK : SMPP_EUDH;
}

void smpp_udh_iter_init(struct smpp_udh_iter *it, const uint8_t *ud, size_t len)
{
	if (len == 0 || (size_t)ud[0] + 1 > len) {
		it->p = it->end = NULL;
		return;
	}
	it->p = ud + 1;
	it->end = ud + 1 + ud[0];
}

bool smpp_udh_next(struct smpp_udh_iter *it, struct smpp_udh_ie *out)
{
	if (!it->p || (size_t)(it->end - it->p) < 2 || (size_t)(it->end - it->p) < 2u + it->p[1])
		return false;
	out->iei = it->p[0];
	out->len = it->p[1];
	out->data = it->p + 2;
	it->p += 2u + it->p[1];
	return true;
}

struct smpp_view smpp_pdu_user_data(const struct smpp_pdu *pdu)
{
	return pdu->has_message_payload ? pdu->message_payload : pdu->short_message;
}

int smpp_pdu_concat(const struct smpp_pdu *pdu, struct smpp_concat *out)
{
	memset(out, 0, sizeof(*out));
	if (pdu->esm_class & SMPP_ESM_UDHI) {
		struct smpp_view ud = smpp_pdu_user_data(pdu);
		struct smpp_udh udh;
		int rc = smpp_udh_parse(ud.p, ud.len, &udh);

		/* A broken IE keeps the IEs before it (see smpp_udh_parse);
		 * only a UDHL past the user data is an error here. */
		if (rc != SMPP_OK && udh.len == 0)
			return rc;
		if (udh.concat.present) {
			*out = udh.concat;
			return SMPP_OK;
		}
	}
	/* SAR values 1-255 (3.4 §5.3.2.23-24); the MC builds the concatenation
	 * IE from them, which the handset ignores when it is not valid. */
	if (pdu->sar.present && concat_valid(pdu->sar.total, pdu->sar.seq)) {
		out->present = true;
		out->ref16 = true;
		out->from_sar = true;
		out->ref = pdu->sar.ref;
		out->total = pdu->sar.total;
		out->seq = pdu->sar.seq;
	}
	return SMPP_OK;
}

int smpp_pdu_text(const struct smpp_pdu *pdu, uint32_t flags, uint8_t *out, size_t cap,
		  struct smpp_text_info *info)
{
	struct smpp_view ud = smpp_pdu_user_data(pdu);
	enum smpp_charset cs = smpp_charset_of(pdu->data_coding);
	size_t udh_len = 0;

	/* data_coding 0 honours the caller's packing; the other GSM groups
	 * are the 23.038 ones, always packed on the air but usually sent
	 * unpacked over SMPP: follow the same flag.
	 * The header is skipped by its UDHL alone, as handsets do: a malformed
	 * IE inside it does not hide the text after it. Only a UDHL past the
	 * user data leaves no text boundary. */
	if (pdu->esm_class & SMPP_ESM_UDHI) {
		if (ud.len == 0 || (size_t)ud.p[0] + 1 > ud.len) {
			memset(info, 0, sizeof(*info));
			info->charset = cs;
			return SMPP_EUDH;
		}
		udh_len = (size_t)ud.p[0] + 1;
	}
	return smpp_text_decode(cs, ud.p, ud.len, udh_len, flags, out, cap, info);
}
