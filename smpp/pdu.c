/*
 * pdu.c — header peek, PDU decode/encode, TLVs, submit_multi lists, the field
 * visitor and the name tables, all generated from smpp_pdus.def,
 * smpp_tlvs.def and smpp_status.def.
 *
 * Every read is bounded by the PDU's command_length and by the buffer the
 * caller passed; nothing here allocates or keeps state between calls.
 */
#include <string.h>

#include "smpp_priv.h"

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

const char *smpp_strerror(int status)
{
	switch (status) {
	case SMPP_OK: return "success";
	case SMPP_AGAIN: return "need more bytes";
	case SMPP_ECMDLEN_SHORT: return "command_length below 16";
	case SMPP_ECMDLEN_LONG: return "command_length above the maximum PDU size";
	case SMPP_ECMDID: return "unknown command_id";
	case SMPP_ETRUNC: return "PDU body ends inside a mandatory field";
	case SMPP_ECSTR: return "C-Octet string not terminated within its maximum length";
	case SMPP_ESMLEN: return "sm_length runs past the PDU body";
	case SMPP_ETLVHDR: return "stray octets after the last TLV";
	case SMPP_ETLVLEN: return "TLV length runs past the PDU";
	case SMPP_ETLVSIZE: return "TLV length not allowed for its tag";
	case SMPP_ETLVDUP: return "TLV present twice";
	case SMPP_EPAYLOAD: return "short_message and message_payload both present";
	case SMPP_EDESTS: return "too many destinations";
	case SMPP_EDESTFLAG: return "invalid dest_flag";
	case SMPP_ENOSPACE: return "output buffer too small";
	case SMPP_EINVAL: return "invalid argument";
	case SMPP_ETOOBIG: return "PDU larger than the framer bound";
	case SMPP_EUDH: return "malformed user data header";
	case SMPP_ETEXT: return "character not representable in the target alphabet";
	case SMPP_EBINARY: return "data_coding is binary";
	case SMPP_EUTF8: return "invalid UTF-8";
	}
	return "unknown smpp status";
}

const char *smpp_cmd_name(uint32_t command_id)
{
	switch (command_id) {
#define SMPP_PDU(UP, lo, id, fields) case id: return #lo;
#include "smpp_pdus.def"
#undef SMPP_PDU
	}
	return NULL;
}

/* Number of mandatory fields of a command (0 for header-only PDUs). */
#define COUNT_FIELD(kind, name, max) +1
static unsigned cmd_n_fields(uint32_t command_id)
{
	switch (command_id) {
#define SMPP_PDU(UP, lo, id, fields) case id: return 0 fields(COUNT_FIELD);
#include "smpp_pdus.def"
#undef SMPP_PDU
	}
	return 0;
}

bool smpp_cmd_known(uint32_t command_id)
{
	switch (command_id) {
#define SMPP_PDU(UP, lo, id, fields) case id:
#include "smpp_pdus.def"
#undef SMPP_PDU
		return true;
	}
	return false;
}

const char *smpp_tlv_name(uint16_t tag)
{
	switch (tag) {
#define SMPP_TLV(UP, lo, tag, min, max) case tag: return #lo;
#include "smpp_tlvs.def"
#undef SMPP_TLV
	}
	return NULL;
}

const char *smpp_esme_name(uint32_t command_status)
{
	switch (command_status) {
#define SMPP_ESME(UP, val, text) case val: return "ESME_" #UP;
#include "smpp_status.def"
#undef SMPP_ESME
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Header                                                                   */
/* ------------------------------------------------------------------------ */

int smpp_hdr_peek(const uint8_t *p, size_t len, uint32_t max_pdu, struct smpp_hdr *out)
{
	uint32_t cl, id;

	if (len < SMPP_HDR_LEN)
		return SMPP_AGAIN;
	if (max_pdu == 0)
		max_pdu = SMPP_DEFAULT_MAX_PDU;
	cl = smpp_rd32(p);
	id = smpp_rd32(p + 4);
	if (cl < SMPP_HDR_LEN)
		return SMPP_ECMDLEN_SHORT;
	if (cl > max_pdu)
		return SMPP_ECMDLEN_LONG;
	if (!smpp_cmd_known(id))
		return SMPP_ECMDID;
	out->command_length = cl;
	out->command_id = id;
	out->command_status = smpp_rd32(p + 8);
	out->sequence_number = smpp_rd32(p + 12);
	return SMPP_OK;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

struct rd {
	const uint8_t *p, *end;
	uint32_t relax;   /* SMPP_DEC_RELAX_CSTR_MAX */
};

/*
 * A C-Octet string of at most @max octets including its NUL. Accepts only a
 * NUL found inside both the body and the maximum; an empty body here is
 * truncation, bytes without a NUL are an unterminated string.
 */
static inline int rd_cstr_as(struct rd *r, struct smpp_view *v, uint32_t max, uint32_t relax)
{
	size_t avail = (size_t)(r->end - r->p);
	size_t lim = avail, i;

	if (SMPP_UNLIKELY(avail == 0))
		return SMPP_ETRUNC;
	if (lim > max && !relax)
		lim = max;
	for (i = 0; i < lim; i++)
		if (r->p[i] == 0)
			break;
	if (SMPP_UNLIKELY(i == lim))
		return SMPP_ECSTR;
	v->p = r->p;
	v->len = (uint32_t)i;
	r->p += i + 1;
	return SMPP_OK;
}

static inline int rd_cstr(struct rd *r, struct smpp_view *v, uint32_t max)
{
	return rd_cstr_as(r, v, max, r->relax);
}

/* sm_length then that many octets of short_message. */
static inline int rd_sm(struct rd *r, struct smpp_pdu *o)
{
	uint8_t n;

	if (SMPP_UNLIKELY(r->p >= r->end))
		return SMPP_ETRUNC;
	n = *r->p++;
	if (SMPP_UNLIKELY(n > SMPP_MAX_SM || n > (size_t)(r->end - r->p)))
		return SMPP_ESMLEN;
	o->sm_length = n;
	o->short_message.p = r->p;
	o->short_message.len = n;
	r->p += n;
	return SMPP_OK;
}

/*
 * One SME address of a submit_multi list: ton, npi, 21-octet C string.
 * List entries are always held to the spec maximum, relaxed or not, so
 * the list iterators (which know no options) agree with the decoder.
 */
static int rd_sme(struct rd *r, uint8_t *ton, uint8_t *npi, struct smpp_view *addr)
{
	if ((size_t)(r->end - r->p) < 2)
		return SMPP_ETRUNC;
	*ton = r->p[0];
	*npi = r->p[1];
	r->p += 2;
	return rd_cstr_as(r, addr, 21, 0);
}

/* number_of_dests and the dest_address list of submit_multi. */
static int rd_dests(struct rd *r, struct smpp_pdu *o)
{
	const uint8_t *start;
	struct smpp_dest d;
	unsigned i;
	int rc;

	if (r->p >= r->end)
		return SMPP_ETRUNC;
	o->number_of_dests = *r->p++;
	if (o->number_of_dests > SMPP_MAX_DESTS)
		return SMPP_EDESTS;
	start = r->p;
	for (i = 0; i < o->number_of_dests; i++) {
		if (r->p >= r->end)
			return SMPP_ETRUNC;
		d.dest_flag = *r->p++;
		if (d.dest_flag == SMPP_DEST_SME)
			rc = rd_sme(r, &d.dest_addr_ton, &d.dest_addr_npi, &d.destination_addr);
		else if (d.dest_flag == SMPP_DEST_DL)
			rc = rd_cstr_as(r, &d.dl_name, 21, 0);
		else
			rc = SMPP_EDESTFLAG;
		if (rc)
			return rc;
	}
	o->dests.p = start;
	o->dests.len = (uint32_t)(r->p - start);
	return SMPP_OK;
}

/* no_unsuccess and the unsuccess_sme list of submit_multi_resp. */
static int rd_unsucc(struct rd *r, struct smpp_pdu *o)
{
	const uint8_t *start;
	struct smpp_unsuccess u;
	unsigned i;
	int rc;

	if (r->p >= r->end)
		return SMPP_ETRUNC;
	o->no_unsuccess = *r->p++;
	if (o->no_unsuccess > SMPP_MAX_DESTS)
		return SMPP_EDESTS;
	start = r->p;
	for (i = 0; i < o->no_unsuccess; i++) {
		rc = rd_sme(r, &u.dest_addr_ton, &u.dest_addr_npi, &u.destination_addr);
		if (rc)
			return rc;
		if ((size_t)(r->end - r->p) < 4)
			return SMPP_ETRUNC;
		r->p += 4;
	}
	o->unsuccess.p = start;
	o->unsuccess.len = (uint32_t)(r->p - start);
	return SMPP_OK;
}

#define DEC_U8(name, max)                                   \
	if (SMPP_UNLIKELY(r->p >= r->end))                   \
		return SMPP_ETRUNC;                          \
	o->name = *r->p++;
#define DEC_CSTR(name, max)                                 \
	if ((rc = rd_cstr(r, &o->name, max)) != SMPP_OK)     \
		return rc;
#define DEC_SM(name, max)                                   \
	if ((rc = rd_sm(r, o)) != SMPP_OK)                   \
		return rc;
#define DEC_DESTS(name, max)                                \
	if ((rc = rd_dests(r, o)) != SMPP_OK)                \
		return rc;
#define DEC_UNSUCC(name, max)                               \
	if ((rc = rd_unsucc(r, o)) != SMPP_OK)               \
		return rc;
#define DEC_FIELD(kind, name, max) DEC_##kind(name, max)

/* One straight-line decoder per PDU, generated from its field list. */
#define SMPP_PDU(UP, lo, id, fields)                                    \
	static inline int dec_##lo(struct rd *r, struct smpp_pdu *o)     \
	{                                                                \
		int rc = SMPP_OK;                                        \
		(void)r;                                                 \
		(void)o;                                                 \
		fields(DEC_FIELD) return rc;                             \
	}
#include "smpp_pdus.def"
#undef SMPP_PDU

/*
 * Walk and validate the TLV region; pick out the TLVs the codec interprets.
 * Known-size checks apply only to those, so unusual but harmless vendor use
 * of other tags never makes a PDU undecodable.
 */
static int dec_tlvs(const uint8_t *p, const uint8_t *end, struct smpp_pdu *o)
{
	bool have_ref = false, have_tot = false, have_seq = false;

	o->tlvs.p = p;
	o->tlvs.len = (uint32_t)(end - p);
	while ((size_t)(end - p) >= 4) {
		uint16_t tag = smpp_rd16(p), len = smpp_rd16(p + 2);
		const uint8_t *val = p + 4;

		if (SMPP_UNLIKELY(len > (size_t)(end - val)))
			return SMPP_ETLVLEN;
		switch (tag) {
		case SMPP_TLV_MESSAGE_PAYLOAD:
			if (o->has_message_payload)
				return SMPP_ETLVDUP;
			o->has_message_payload = true;
			o->message_payload.p = val;
			o->message_payload.len = len;
			break;
		case SMPP_TLV_SAR_MSG_REF_NUM:
			if (len != 2)
				return SMPP_ETLVSIZE;
			if (have_ref)
				return SMPP_ETLVDUP;
			have_ref = true;
			o->sar.ref = smpp_rd16(val);
			break;
		case SMPP_TLV_SAR_TOTAL_SEGMENTS:
			if (len != 1)
				return SMPP_ETLVSIZE;
			if (have_tot)
				return SMPP_ETLVDUP;
			have_tot = true;
			o->sar.total = val[0];
			break;
		case SMPP_TLV_SAR_SEGMENT_SEQNUM:
			if (len != 1)
				return SMPP_ETLVSIZE;
			if (have_seq)
				return SMPP_ETLVDUP;
			have_seq = true;
			o->sar.seq = val[0];
			break;
		default:
			break;
		}
		o->n_tlvs++;
		p = val + len;
	}
	if (SMPP_UNLIKELY(p != end))
		return SMPP_ETLVHDR;
	o->sar.present = have_ref && have_tot && have_seq;
	return SMPP_OK;
}

int smpp_pdu_decode(const uint8_t *p, size_t len, const struct smpp_decode_opts *opts,
		    struct smpp_pdu *out)
{
	const uint8_t *body;
	bool err_resp;
	struct rd r;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = smpp_hdr_peek(p, len, opts ? opts->max_pdu : 0, &out->hdr);
	if (rc != SMPP_OK)
		return rc;
	if (len < out->hdr.command_length)
		return SMPP_AGAIN;
	r.p = p + SMPP_HDR_LEN;
	r.end = p + out->hdr.command_length;
	r.relax = opts ? (opts->flags & SMPP_DEC_RELAX_CSTR_MAX) : 0;

	err_resp = (out->hdr.command_id & SMPP_CMD_RESP_BIT) && out->hdr.command_status != 0 &&
		   cmd_n_fields(out->hdr.command_id) > 0;
	if (err_resp && r.p == r.end) {
		out->body_absent = true;
		return SMPP_OK;
	}
	body = r.p;
	switch (out->hdr.command_id) {
#define SMPP_PDU(UP, lo, id, fields) case id: rc = dec_##lo(&r, out); break;
#include "smpp_pdus.def"
#undef SMPP_PDU
	default:
		return SMPP_ECMDID;
	}
	if (rc == SMPP_OK)
		rc = dec_tlvs(r.p, r.end, out);
	if (rc != SMPP_OK && err_resp) {
		/* An error response may omit its mandatory body and still carry
		 * TLVs (additional_status_info_text, ...): try that reading. */
		struct smpp_hdr h = out->hdr;

		memset(out, 0, sizeof(*out));
		out->hdr = h;
		if (dec_tlvs(body, r.end, out) == SMPP_OK) {
			out->body_absent = true;
			return SMPP_OK;
		}
	}
	if (rc != SMPP_OK)
		return rc;
	/* 3.4 §5.3.2.32: with message_payload, sm_length must be 0. */
	if (out->has_message_payload && out->sm_length != 0)
		return SMPP_EPAYLOAD;
	return SMPP_OK;
}

/* ------------------------------------------------------------------------ */
/* TLVs and lists                                                           */
/* ------------------------------------------------------------------------ */

void smpp_tlv_iter_init(struct smpp_tlv_iter *it, const struct smpp_pdu *pdu)
{
	it->p = pdu->tlvs.p;
	it->end = pdu->tlvs.p ? pdu->tlvs.p + pdu->tlvs.len : NULL;
}

bool smpp_tlv_next(struct smpp_tlv_iter *it, struct smpp_tlv *out)
{
	uint16_t len;

	if (!it->p || (size_t)(it->end - it->p) < 4)
		return false;
	len = smpp_rd16(it->p + 2);
	if (len > (size_t)(it->end - it->p - 4))
		return false;
	out->tag = smpp_rd16(it->p);
	out->len = len;
	out->val = it->p + 4;
	it->p += 4 + (size_t)len;
	return true;
}

bool smpp_tlv_find(const struct smpp_pdu *pdu, uint16_t tag, struct smpp_tlv *out)
{
	struct smpp_tlv_iter it;

	smpp_tlv_iter_init(&it, pdu);
	while (smpp_tlv_next(&it, out))
		if (out->tag == tag)
			return true;
	return false;
}

int smpp_tlv_put(uint8_t *buf, size_t cap, size_t *off, uint16_t tag, const void *val,
		 uint16_t len)
{
	if (*off > cap || cap - *off < 4u + len)
		return SMPP_ENOSPACE;
	smpp_wr16(buf + *off, tag);
	smpp_wr16(buf + *off + 2, len);
	if (len)
		memcpy(buf + *off + 4, val, len);
	*off += 4u + len;
	return SMPP_OK;
}

void smpp_dest_iter_init(struct smpp_list_iter *it, const struct smpp_pdu *pdu)
{
	it->p = pdu->dests.p;
	it->end = pdu->dests.p ? pdu->dests.p + pdu->dests.len : NULL;
}

bool smpp_dest_next(struct smpp_list_iter *it, struct smpp_dest *out)
{
	struct rd r = { .p = it->p, .end = it->end, .relax = 0 };

	if (!it->p || it->p >= it->end)
		return false;
	memset(out, 0, sizeof(*out));
	out->dest_flag = *r.p++;
	if (out->dest_flag == SMPP_DEST_SME) {
		if (rd_sme(&r, &out->dest_addr_ton, &out->dest_addr_npi, &out->destination_addr))
			return false;
	} else if (out->dest_flag == SMPP_DEST_DL) {
		if (rd_cstr(&r, &out->dl_name, 21))
			return false;
	} else {
		return false;
	}
	it->p = r.p;
	return true;
}

void smpp_unsuccess_iter_init(struct smpp_list_iter *it, const struct smpp_pdu *pdu)
{
	it->p = pdu->unsuccess.p;
	it->end = pdu->unsuccess.p ? pdu->unsuccess.p + pdu->unsuccess.len : NULL;
}

bool smpp_unsuccess_next(struct smpp_list_iter *it, struct smpp_unsuccess *out)
{
	struct rd r = { .p = it->p, .end = it->end, .relax = 0 };

	if (!it->p || it->p >= it->end)
		return false;
	if (rd_sme(&r, &out->dest_addr_ton, &out->dest_addr_npi, &out->destination_addr))
		return false;
	if ((size_t)(r.end - r.p) < 4)
		return false;
	out->error_status_code = smpp_rd32(r.p);
	it->p = r.p + 4;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Visitor                                                                  */
/* ------------------------------------------------------------------------ */

#define VIS_U8(nm, max) f.name = #nm; f.kind = SMPP_FIELD_U8; f.u8 = pdu->nm; \
	f.v.p = NULL; f.v.len = 0; fn(ctx, &f);
#define VIS_CSTR(nm, max) f.name = #nm; f.kind = SMPP_FIELD_CSTR; f.u8 = 0; \
	f.v = pdu->nm; fn(ctx, &f);
#define VIS_SM(nm, max) f.name = #nm; f.kind = SMPP_FIELD_SM; \
	f.u8 = pdu->sm_length; f.v = pdu->short_message; fn(ctx, &f);
#define VIS_DESTS(nm, max) f.name = #nm; f.kind = SMPP_FIELD_DESTS; \
	f.u8 = pdu->number_of_dests; f.v = pdu->dests; fn(ctx, &f);
#define VIS_UNSUCC(nm, max) f.name = #nm; f.kind = SMPP_FIELD_UNSUCC; \
	f.u8 = pdu->no_unsuccess; f.v = pdu->unsuccess; fn(ctx, &f);
#define VIS_FIELD(kind, name, max) VIS_##kind(name, max)

int smpp_pdu_visit(const struct smpp_pdu *pdu,
		   void (*fn)(void *ctx, const struct smpp_field *f), void *ctx)
{
	struct smpp_field f;

	(void)f;
	if (!smpp_cmd_known(pdu->hdr.command_id))
		return SMPP_ECMDID;
	if (pdu->body_absent)
		return SMPP_OK;
	switch (pdu->hdr.command_id) {
#define SMPP_PDU(UP, lo, id, fields) case id: { fields(VIS_FIELD) } break;
#include "smpp_pdus.def"
#undef SMPP_PDU
	}
	return SMPP_OK;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

struct wr {
	uint8_t *p, *end;
};

static inline int wr_u8(struct wr *w, uint8_t v)
{
	if (w->p >= w->end)
		return SMPP_ENOSPACE;
	*w->p++ = v;
	return SMPP_OK;
}

static inline int wr_bytes(struct wr *w, const uint8_t *p, size_t n)
{
	if ((size_t)(w->end - w->p) < n)
		return SMPP_ENOSPACE;
	if (n)
		memcpy(w->p, p, n);
	w->p += n;
	return SMPP_OK;
}

/* A C-Octet string: refuses an embedded NUL and a string over @max with its NUL. */
static int wr_cstr(struct wr *w, struct smpp_view v, uint32_t max)
{
	int rc;

	if (v.len + 1u > max || (v.len && memchr(v.p, 0, v.len)))
		return SMPP_EINVAL;
	rc = wr_bytes(w, v.p, v.len);
	return rc ? rc : wr_u8(w, 0);
}

#define ENC_U8(nm, max) if ((rc = wr_u8(w, pdu->nm)) != SMPP_OK) return rc;
#define ENC_CSTR(nm, max) if ((rc = wr_cstr(w, pdu->nm, max)) != SMPP_OK) return rc;
#define ENC_SM(nm, max)                                                   \
	if (pdu->short_message.len > SMPP_MAX_SM)                          \
		return SMPP_EINVAL;                                        \
	if ((rc = wr_u8(w, (uint8_t)pdu->short_message.len)) != SMPP_OK)   \
		return rc;                                                 \
	if ((rc = wr_bytes(w, pdu->short_message.p, pdu->short_message.len)) != SMPP_OK) \
		return rc;
#define ENC_DESTS(nm, max)                                                \
	if (pdu->number_of_dests > SMPP_MAX_DESTS)                         \
		return SMPP_EINVAL;                                        \
	if ((rc = wr_u8(w, pdu->number_of_dests)) != SMPP_OK)              \
		return rc;                                                 \
	if ((rc = wr_bytes(w, pdu->dests.p, pdu->dests.len)) != SMPP_OK)   \
		return rc;
#define ENC_UNSUCC(nm, max)                                               \
	if (pdu->no_unsuccess > SMPP_MAX_DESTS)                            \
		return SMPP_EINVAL;                                        \
	if ((rc = wr_u8(w, pdu->no_unsuccess)) != SMPP_OK)                 \
		return rc;                                                 \
	if ((rc = wr_bytes(w, pdu->unsuccess.p, pdu->unsuccess.len)) != SMPP_OK) \
		return rc;
#define ENC_FIELD(kind, name, max) ENC_##kind(name, max)

#define SMPP_PDU(UP, lo, id, fields)                                          \
	static int enc_##lo(struct wr *w, const struct smpp_pdu *pdu)          \
	{                                                                      \
		int rc = SMPP_OK;                                              \
		(void)w;                                                       \
		(void)pdu;                                                     \
		fields(ENC_FIELD) return rc;                                   \
	}
#include "smpp_pdus.def"
#undef SMPP_PDU

int smpp_pdu_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap, size_t *out_len)
{
	struct wr w;
	size_t total;
	int rc;

	if (cap < SMPP_HDR_LEN)
		return SMPP_ENOSPACE;
	w.p = out + SMPP_HDR_LEN;
	w.end = out + cap;
	if (pdu->body_absent) {
		rc = smpp_cmd_known(pdu->hdr.command_id) ? SMPP_OK : SMPP_ECMDID;
	} else {
		switch (pdu->hdr.command_id) {
#define SMPP_PDU(UP, lo, id, fields) case id: rc = enc_##lo(&w, pdu); break;
#include "smpp_pdus.def"
#undef SMPP_PDU
		default:
			rc = SMPP_ECMDID;
		}
	}
	if (rc != SMPP_OK)
		return rc;
	rc = wr_bytes(&w, pdu->tlvs.p, pdu->tlvs.len);
	if (rc != SMPP_OK)
		return rc;
	total = (size_t)(w.p - out);
	if (total > UINT32_MAX)
		return SMPP_EINVAL;
	smpp_wr32(out, (uint32_t)total);
	smpp_wr32(out + 4, pdu->hdr.command_id);
	smpp_wr32(out + 8, pdu->hdr.command_status);
	smpp_wr32(out + 12, pdu->hdr.sequence_number);
	*out_len = total;
	return SMPP_OK;
}

int smpp_dest_put(uint8_t *buf, size_t cap, size_t *off, uint8_t *count,
		  const struct smpp_dest *d)
{
	struct wr w;
	int rc;

	if (*count >= SMPP_MAX_DESTS || *off > cap)
		return SMPP_EINVAL;
	w.p = buf + *off;
	w.end = buf + cap;
	if (d->dest_flag == SMPP_DEST_SME) {
		if ((rc = wr_u8(&w, SMPP_DEST_SME)) || (rc = wr_u8(&w, d->dest_addr_ton)) ||
		    (rc = wr_u8(&w, d->dest_addr_npi)) || (rc = wr_cstr(&w, d->destination_addr, 21)))
			return rc;
	} else if (d->dest_flag == SMPP_DEST_DL) {
		if ((rc = wr_u8(&w, SMPP_DEST_DL)) || (rc = wr_cstr(&w, d->dl_name, 21)))
			return rc;
	} else {
		return SMPP_EINVAL;
	}
	*off = (size_t)(w.p - buf);
	(*count)++;
	return SMPP_OK;
}

int smpp_unsuccess_put(uint8_t *buf, size_t cap, size_t *off, uint8_t *count,
		       const struct smpp_unsuccess *u)
{
	struct wr w;
	uint8_t code[4];
	int rc;

	if (*count >= SMPP_MAX_DESTS || *off > cap)
		return SMPP_EINVAL;
	w.p = buf + *off;
	w.end = buf + cap;
	smpp_wr32(code, u->error_status_code);
	if ((rc = wr_u8(&w, u->dest_addr_ton)) || (rc = wr_u8(&w, u->dest_addr_npi)) ||
	    (rc = wr_cstr(&w, u->destination_addr, 21)) || (rc = wr_bytes(&w, code, 4)))
		return rc;
	*off = (size_t)(w.p - buf);
	(*count)++;
	return SMPP_OK;
}

/* Header only, any command (error responses carry no body). */
static int encode_header_only(uint32_t command_id, uint32_t seq, uint32_t status,
				 uint8_t *out, size_t cap, size_t *out_len)
{
	if (cap < SMPP_HDR_LEN)
		return SMPP_ENOSPACE;
	smpp_wr32(out, SMPP_HDR_LEN);
	smpp_wr32(out + 4, command_id);
	smpp_wr32(out + 8, status);
	smpp_wr32(out + 12, seq);
	*out_len = SMPP_HDR_LEN;
	return SMPP_OK;
}

/* ------------------------------------------------------------------------ */
/* Responses the firewall sends                                             */
/* ------------------------------------------------------------------------ */

int smpp_encode_msgid_resp(uint32_t req_cmd, uint32_t seq, uint32_t status,
			   struct smpp_view message_id, struct smpp_view tlvs,
			   uint8_t *out, size_t cap, size_t *out_len)
{
	struct smpp_pdu pdu;

	switch (req_cmd) {
	case SMPP_CMD_SUBMIT_SM:
	case SMPP_CMD_DELIVER_SM:
	case SMPP_CMD_DATA_SM:
	case SMPP_CMD_BROADCAST_SM:
		break;
	default:
		return SMPP_EINVAL;
	}
	memset(&pdu, 0, sizeof(pdu));
	pdu.hdr.command_id = req_cmd | SMPP_CMD_RESP_BIT;
	pdu.hdr.command_status = status;
	pdu.hdr.sequence_number = seq;
	pdu.message_id = message_id;
	pdu.tlvs = tlvs;
	pdu.body_absent = status != 0;
	return smpp_pdu_encode(&pdu, out, cap, out_len);
}

int smpp_encode_submit_multi_resp(uint32_t seq, uint32_t status, struct smpp_view message_id,
				  const struct smpp_unsuccess *list, unsigned n,
				  uint8_t *out, size_t cap, size_t *out_len)
{
	struct wr w;
	uint8_t *count;
	size_t off;
	unsigned i;
	int rc;

	if (n > SMPP_MAX_DESTS)
		return SMPP_EINVAL;
	if (cap < SMPP_HDR_LEN)
		return SMPP_ENOSPACE;
	w.p = out + SMPP_HDR_LEN;
	w.end = out + cap;
	if (status != 0)   /* no body on error (3.4 §4.5.2) */
		return encode_header_only(SMPP_CMD_SUBMIT_MULTI_RESP, seq, status, out, cap,
					  out_len);
	if ((rc = wr_cstr(&w, message_id, 65)) != SMPP_OK || (rc = wr_u8(&w, 0)) != SMPP_OK)
		return rc;
	count = w.p - 1;
	off = (size_t)(w.p - out);
	for (i = 0; i < n; i++) {
		rc = smpp_unsuccess_put(out, cap, &off, count, &list[i]);
		if (rc != SMPP_OK)
			return rc;
	}
	smpp_wr32(out, (uint32_t)off);
	smpp_wr32(out + 4, SMPP_CMD_SUBMIT_MULTI_RESP);
	smpp_wr32(out + 8, status);
	smpp_wr32(out + 12, seq);
	*out_len = off;
	return SMPP_OK;
}

int smpp_encode_bind_resp(uint32_t req_cmd, uint32_t seq, uint32_t status,
			  struct smpp_view system_id, const struct smpp_bind_resp_opts *opts,
			  uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t tlv[4 + 1 + 4 + 256];
	size_t off = 0;
	struct smpp_pdu pdu;
	int rc;

	switch (req_cmd) {
	case SMPP_CMD_BIND_RECEIVER:
	case SMPP_CMD_BIND_TRANSMITTER:
	case SMPP_CMD_BIND_TRANSCEIVER:
		break;
	default:
		return SMPP_EINVAL;
	}
	if (opts && opts->additional_status_info_text.len) {
		struct smpp_view t = opts->additional_status_info_text;

		/* A C-Octet string of at most 256 octets with its NUL. */
		if (t.len > 255 || memchr(t.p, 0, t.len))
			return SMPP_EINVAL;
		smpp_wr16(tlv + off, SMPP_TLV_ADDITIONAL_STATUS_INFO_TEXT);
		smpp_wr16(tlv + off + 2, (uint16_t)(t.len + 1));
		memcpy(tlv + off + 4, t.p, t.len);
		tlv[off + 4 + t.len] = 0;
		off += 4u + t.len + 1u;
	}
	if (opts && opts->sc_interface_version) {
		rc = smpp_tlv_put(tlv, sizeof(tlv), &off, SMPP_TLV_SC_INTERFACE_VERSION,
				  &opts->sc_interface_version, 1);
		if (rc)
			return rc;
	}
	memset(&pdu, 0, sizeof(pdu));
	pdu.hdr.command_id = req_cmd | SMPP_CMD_RESP_BIT;
	pdu.hdr.command_status = status;
	pdu.hdr.sequence_number = seq;
	pdu.system_id = system_id;
	pdu.body_absent = status != 0;
	pdu.tlvs.p = tlv;
	pdu.tlvs.len = (uint32_t)off;
	return smpp_pdu_encode(&pdu, out, cap, out_len);
}

int smpp_encode_empty(uint32_t command_id, uint32_t seq, uint32_t status,
		      uint8_t *out, size_t cap, size_t *out_len)
{
	switch (command_id) {
	case SMPP_CMD_GENERIC_NACK:
	case SMPP_CMD_UNBIND:
	case SMPP_CMD_UNBIND_RESP:
	case SMPP_CMD_ENQUIRE_LINK:
	case SMPP_CMD_ENQUIRE_LINK_RESP:
	case SMPP_CMD_CANCEL_SM_RESP:
	case SMPP_CMD_REPLACE_SM_RESP:
	case SMPP_CMD_CANCEL_BROADCAST_SM_RESP:
		break;
	default:
		return SMPP_EINVAL;
	}
	return encode_header_only(command_id, seq, status, out, cap, out_len);
}
