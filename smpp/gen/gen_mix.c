/*
 * gen_mix.c — message mixes: parse the mix file, encode each message's text
 * in its data_coding, split it into concatenated parts, and encode every
 * part once as a submit_sm (ESME) or deliver_sm (SMSC MO) template.
 *
 * Part sizes follow what handsets and SMSCs expect: GSM 7-bit and IA5 160
 * characters single / 153 per UDH part (152 with a 16-bit reference),
 * Latin-1 and UCS-2 140 octets single / 134 (132) per part. A part never
 * ends inside a GSM escape sequence or a UTF-16 surrogate pair.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define GEN_MAX_TEXT  8192u /* octets of encoded text per message */
#define GEN_MAX_PARTS 255u

struct coding {
	uint8_t dc;
	enum smpp_charset cs;
	unsigned single; /* units in a one-part message */
	unsigned unit;	 /* octets per unit */
};

static int coding_parse(const char *s, struct coding *c)
{
	if (!s || !*s || !strcmp(s, "gsm") || !strcmp(s, "0"))
		*c = (struct coding){0, SMPP_CS_GSM7, 160, 1};
	else if (!strcmp(s, "ia5") || !strcmp(s, "ascii") || !strcmp(s, "1"))
		*c = (struct coding){1, SMPP_CS_IA5, 160, 1};
	else if (!strcmp(s, "latin1") || !strcmp(s, "3"))
		*c = (struct coding){3, SMPP_CS_LATIN1, 140, 1};
	else if (!strcmp(s, "ucs2") || !strcmp(s, "8"))
		*c = (struct coding){8, SMPP_CS_UCS2, 70, 2};
	else
		return -1;
	return 0;
}

static int concat_parse(const char *s, enum gen_concat *c)
{
	if (!s || !*s || !strcmp(s, "udh8"))
		*c = GEN_CONCAT_UDH8;
	else if (!strcmp(s, "udh16"))
		*c = GEN_CONCAT_UDH16;
	else if (!strcmp(s, "sar"))
		*c = GEN_CONCAT_SAR;
	else if (!strcmp(s, "payload"))
		*c = GEN_CONCAT_PAYLOAD;
	else
		return -1;
	return 0;
}

/* Decode one UTF-8 sequence at @p (a mix file is local input, but is still
 * checked); returns its length, 0 when invalid. */
static unsigned utf8_next(const uint8_t *p, size_t len, uint32_t *cp)
{
	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xE0) == 0xC0 && len >= 2 && (p[1] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
		return *cp >= 0x80 ? 2 : 0;
	}
	if ((p[0] & 0xF0) == 0xE0 && len >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) |
		      (p[2] & 0x3F);
		return *cp >= 0x800 ? 3 : 0;
	}
	if ((p[0] & 0xF8) == 0xF0 && len >= 4 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
	    (p[3] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
		      ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
		return *cp >= 0x10000 && *cp <= 0x10FFFF ? 4 : 0;
	}
	return 0;
}

/* UTF-8 → one octet per character (IA5: < 0x80, Latin-1: < 0x100), others '?'. */
static int encode_8bit(const uint8_t *s, size_t len, uint32_t limit, uint8_t *out, size_t cap,
		       size_t *out_len)
{
	size_t i = 0, o = 0;
	uint32_t cp;

	while (i < len) {
		unsigned n = utf8_next(s + i, len - i, &cp);

		if (n == 0)
			return -1;
		if (o == cap)
			return -1;
		out[o++] = cp < limit ? (uint8_t)cp : '?';
		i += n;
	}
	*out_len = o;
	return 0;
}

/* Where the part that starts at @off (units) may end, at most @max units on. */
static size_t part_end(const struct coding *c, const uint8_t *t, size_t len, size_t off, size_t max)
{
	size_t units = len / c->unit;
	size_t end = off + max < units ? off + max : units;

	if (end == units)
		return end;
	if (c->cs == SMPP_CS_GSM7 && t[end - 1] == 0x1B)
		end--; /* keep ESC with the character it escapes */
	if (c->cs == SMPP_CS_UCS2) {
		uint16_t u = (uint16_t)(t[2 * (end - 1)] << 8 | t[2 * (end - 1) + 1]);

		if (u >= 0xD800 && u <= 0xDBFF)
			end--; /* keep a surrogate pair together */
	}
	return end;
}

static uint8_t ton_of(const char *a, uint8_t *npi)
{
	size_t i = a[0] == '+' ? 1 : 0;

	if (a[i] == '\0') {
		*npi = 0;
		return 0;
	}
	for (; a[i]; i++)
		if (a[i] < '0' || a[i] > '9') {
			*npi = 0;
			return 5; /* alphanumeric */
		}
	*npi = 1;
	return 1; /* international, E.164 */
}

static int part_store(struct gen_part *part, const struct smpp_pdu *pdu, uint32_t ref_off,
		      bool ref16, char *err, size_t errlen)
{
	uint8_t buf[SMPP_DEFAULT_MAX_PDU];
	size_t n;
	int rc = smpp_pdu_encode(pdu, buf, sizeof(buf), &n);

	if (rc != SMPP_OK) {
		snprintf(err, errlen, "cannot encode: %s", smpp_strerror(rc));
		return -1;
	}
	part->pdu = malloc(n);
	if (!part->pdu) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(part->pdu, buf, n);
	part->len = (uint32_t)n;
	part->ref_off = ref_off;
	part->ref16 = ref16;
	return 0;
}

/* Encode one message into its parts. */
static int msg_build(const struct gen_mix_line *l, const struct gen_mix_opts *o, struct gen_msg *m,
		     char *err, size_t errlen)
{
	uint8_t text[GEN_MAX_TEXT];
	struct coding c;
	enum gen_concat cc;
	size_t tlen = 0, sep = 0, units, off, per;
	const uint8_t *utf8 = (const uint8_t *)l->text;
	size_t ulen = strlen(l->text);
	int rc = 0;
	struct smpp_pdu pdu;
	uint8_t ton, npi;
	unsigned n_parts, i;

	if (coding_parse(l->coding, &c) < 0) {
		snprintf(err, errlen,
			 "unknown data_coding '%s' (gsm, ia5, latin1, ucs2 or 0, 1, 3, 8)",
			 l->coding);
		return -1;
	}
	if (concat_parse(l->concat, &cc) < 0) {
		snprintf(err, errlen, "unknown concatenation '%s' (udh8, udh16, sar, payload)",
			 l->concat);
		return -1;
	}
	if (strlen(l->sender) > 20 || strlen(l->dest) > 20) {
		snprintf(err, errlen, "address longer than 20 characters");
		return -1;
	}
	switch (c.cs) {
	case SMPP_CS_GSM7:
		rc = smpp_text_encode_gsm7(utf8, ulen, SMPP_TEXT_REPLACE, 0, text, sizeof(text),
					   &tlen, &sep);
		break;
	case SMPP_CS_UCS2:
		rc = smpp_text_encode_ucs2(utf8, ulen, text, sizeof(text), &tlen);
		break;
	case SMPP_CS_IA5:
		rc = encode_8bit(utf8, ulen, 0x80, text, sizeof(text), &tlen) ? SMPP_EUTF8 : 0;
		break;
	default:
		rc = encode_8bit(utf8, ulen, 0x100, text, sizeof(text), &tlen) ? SMPP_EUTF8 : 0;
		break;
	}
	if (rc != SMPP_OK) {
		snprintf(err, errlen, "text: %s",
			 rc == SMPP_EUTF8 ? "not UTF-8, or too long" : smpp_strerror(rc));
		return -1;
	}
	units = tlen / c.unit;
	if (units <= c.single || cc == GEN_CONCAT_PAYLOAD) {
		n_parts = 1;
		per = units;
	} else {
		/* UDH: 6 octets (8-bit ref) or 7 (16-bit), rounded up to units */
		unsigned udh = cc == GEN_CONCAT_UDH8 ? 6 : cc == GEN_CONCAT_UDH16 ? 7 : 0;

		if (c.cs == SMPP_CS_GSM7)
			per = c.single - (udh * 8 + 6) / 7;
		else
			per = (c.single * c.unit - udh) / c.unit;
		n_parts = 0;
		for (off = 0; off < units; n_parts++)
			off = part_end(&c, text, tlen, off, per);
	}
	if (n_parts > GEN_MAX_PARTS) {
		snprintf(err, errlen, "text needs more than %u parts", GEN_MAX_PARTS);
		return -1;
	}
	m->parts = calloc(n_parts, sizeof(*m->parts));
	if (!m->parts) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->n_parts = n_parts;

	memset(&pdu, 0, sizeof(pdu));
	pdu.hdr.command_id = o->command_id;
	pdu.hdr.sequence_number = 1;
	pdu.source_addr =
	    (struct smpp_view){(const uint8_t *)l->sender, (uint32_t)strlen(l->sender)};
	if (l->sender[0] == '+')
		pdu.source_addr.p++, pdu.source_addr.len--;
	ton = ton_of(l->sender, &npi);
	pdu.source_addr_ton = ton;
	pdu.source_addr_npi = npi;
	pdu.destination_addr =
	    (struct smpp_view){(const uint8_t *)l->dest, (uint32_t)strlen(l->dest)};
	if (l->dest[0] == '+')
		pdu.destination_addr.p++, pdu.destination_addr.len--;
	pdu.dest_addr_ton = ton_of(l->dest, &npi);
	pdu.dest_addr_npi = npi;
	pdu.data_coding = c.dc;
	pdu.registered_delivery = o->registered_delivery;

	if (n_parts == 1) {
		uint8_t tlv[GEN_MAX_TEXT + 8];
		size_t tl = 0;

		if (tlen > SMPP_MAX_SM || cc == GEN_CONCAT_PAYLOAD) {
			if (smpp_tlv_put(tlv, sizeof(tlv), &tl, SMPP_TLV_MESSAGE_PAYLOAD, text,
					 (uint16_t)tlen) != SMPP_OK) {
				snprintf(err, errlen, "text too long");
				return -1;
			}
			pdu.tlvs = (struct smpp_view){tlv, (uint32_t)tl};
		} else {
			pdu.short_message = (struct smpp_view){text, (uint32_t)tlen};
		}
		return part_store(&m->parts[0], &pdu, 0, false, err, errlen);
	}

	off = 0;
	for (i = 0; i < n_parts; i++) {
		uint8_t ud[SMPP_MAX_SM], tlv[16];
		size_t end = part_end(&c, text, tlen, off, per), tl = 0, ulen2 = 0;
		size_t bytes = (end - off) * c.unit;
		uint32_t ref_off;
		bool ref16 = false;
		uint8_t tot = (uint8_t)n_parts, sq = (uint8_t)(i + 1);
		uint16_t zero = 0;

		pdu.esm_class = 0;
		pdu.tlvs = (struct smpp_view){NULL, 0};
		if (cc == GEN_CONCAT_SAR) {
			smpp_tlv_put(tlv, sizeof(tlv), &tl, SMPP_TLV_SAR_MSG_REF_NUM, &zero, 2);
			smpp_tlv_put(tlv, sizeof(tlv), &tl, SMPP_TLV_SAR_TOTAL_SEGMENTS, &tot, 1);
			smpp_tlv_put(tlv, sizeof(tlv), &tl, SMPP_TLV_SAR_SEGMENT_SEQNUM, &sq, 1);
			pdu.tlvs = (struct smpp_view){tlv, (uint32_t)tl};
			memcpy(ud, text + off * c.unit, bytes);
			ulen2 = bytes;
		} else if (cc == GEN_CONCAT_UDH8) {
			const uint8_t h[6] = {5, 0x00, 3, 0, tot, sq};

			memcpy(ud, h, 6);
			memcpy(ud + 6, text + off * c.unit, bytes);
			ulen2 = 6 + bytes;
			pdu.esm_class = SMPP_ESM_UDHI;
		} else {
			const uint8_t h[7] = {6, 0x08, 4, 0, 0, tot, sq};

			memcpy(ud, h, 7);
			memcpy(ud + 7, text + off * c.unit, bytes);
			ulen2 = 7 + bytes;
			pdu.esm_class = SMPP_ESM_UDHI;
			ref16 = true;
		}
		pdu.short_message = (struct smpp_view){ud, (uint32_t)ulen2};
		if (part_store(&m->parts[i], &pdu, 0, false, err, errlen) < 0)
			return -1;
		/* The reference sits at a fixed place of the encoded PDU. */
		if (cc == GEN_CONCAT_SAR) {
			ref_off = m->parts[i].len - (uint32_t)tl + 4;
			ref16 = true;
		} else {
			ref_off = m->parts[i].len - (uint32_t)ulen2 + 3;
		}
		m->parts[i].ref_off = ref_off;
		m->parts[i].ref16 = ref16;
		off = end;
	}
	return 0;
}

void gen_part_emit(const struct gen_part *part, uint32_t seq, uint16_t ref, uint8_t *out)
{
	memcpy(out, part->pdu, part->len);
	out[12] = (uint8_t)(seq >> 24);
	out[13] = (uint8_t)(seq >> 16);
	out[14] = (uint8_t)(seq >> 8);
	out[15] = (uint8_t)seq;
	if (part->ref_off) {
		if (part->ref16) {
			out[part->ref_off] = (uint8_t)(ref >> 8);
			out[part->ref_off + 1] = (uint8_t)ref;
		} else {
			out[part->ref_off] = (uint8_t)ref;
		}
	}
}

static int mix_add(struct gen_mix *mix, const struct gen_mix_line *l, const struct gen_mix_opts *o,
		   char *err, size_t errlen)
{
	struct gen_msg *m = realloc(mix->msgs, (mix->n + 1) * sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mix->msgs = m;
	memset(&m[mix->n], 0, sizeof(*m));
	if (msg_build(l, o, &m[mix->n], err, errlen) < 0) {
		for (unsigned j = 0; j < m[mix->n].n_parts; j++)
			free(m[mix->n].parts[j].pdu);
		free(m[mix->n].parts);
		return -1;
	}
	mix->n++;
	return 0;
}

int gen_mix_one(const struct gen_mix_line *l, const struct gen_mix_opts *o, struct gen_mix *mix,
		char *err, size_t errlen)
{
	memset(mix, 0, sizeof(*mix));
	if (mix_add(mix, l, o, err, errlen) < 0) {
		gen_mix_free(mix);
		return -1;
	}
	return 0;
}

/* In place: \t \n \r \\ → the character; other escapes are errors. */
static int unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		switch (*++s) {
		case 't':
			*w++ = '\t';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case '\\':
			*w++ = '\\';
			break;
		default:
			return -1;
		}
	}
	*w = '\0';
	return 0;
}

int gen_mix_load(const char *path, const struct gen_mix_opts *o, struct gen_mix *mix, char *err,
		 size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, e2[200];
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;

	memset(mix, 0, sizeof(*mix));
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *field[6] = {0};
		unsigned nf = 0;
		char *p = line;
		struct gen_mix_line l;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		while (p && nf < 6) {
			field[nf++] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		if (nf < 3 || nf > 5) {
			snprintf(
			    err, errlen,
			    "%s:%u: expected SENDER<TAB>DEST<TAB>TEXT[<TAB>CODING[<TAB>CONCAT]]",
			    path, lineno);
			goto fail;
		}
		if (unescape(field[2]) < 0) {
			snprintf(err, errlen, "%s:%u: unknown escape in text (\\t \\n \\r \\\\)",
				 path, lineno);
			goto fail;
		}
		l = (struct gen_mix_line){field[0], field[1], field[2], field[3], field[4]};
		if (mix_add(mix, &l, o, e2, sizeof(e2)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, e2);
			goto fail;
		}
	}
	free(line);
	fclose(f);
	if (mix->n == 0) {
		snprintf(err, errlen, "%s: no messages", path);
		return -1;
	}
	return 0;
fail:
	free(line);
	fclose(f);
	gen_mix_free(mix);
	return -1;
}

void gen_mix_free(struct gen_mix *mix)
{
	for (unsigned i = 0; i < mix->n; i++) {
		for (unsigned j = 0; j < mix->msgs[i].n_parts; j++)
			free(mix->msgs[i].parts[j].pdu);
		free(mix->msgs[i].parts);
	}
	free(mix->msgs);
	mix->msgs = NULL;
	mix->n = 0;
}
