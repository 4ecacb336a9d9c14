/*
 * test_roundtrip.c — every PDU in smpp_pdus.def: random field values (fixed
 * seeds) encode -> decode to the same fields, and re-encoding the decoded
 * PDU gives the same octets. Also: every strict prefix of an encoded PDU
 * (with command_length patched) decodes to an error, never out of bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "smpp_test_util.h"

static const uint32_t all_cmds[] = {
#define SMPP_PDU(UP, lo, id, fields) id,
#include "smpp_pdus.def"
#undef SMPP_PDU
};
#define N_CMDS (sizeof(all_cmds) / sizeof(all_cmds[0]))

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	/* xorshift32 */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Scratch storage for one random PDU's strings and lists. */
struct scratch {
	uint8_t str[20][80];
	int n_str;
	uint8_t sm[254];
	uint8_t dests[254 * 24];
	uint8_t unsucc[254 * 28];
	uint8_t tlvs[2048];
	uint8_t payload[600];
};

static struct smpp_view rnd_cstr(struct scratch *s, uint32_t max)
{
	uint8_t *p = s->str[s->n_str++];
	uint32_t n = rnd() % max;   /* max includes the NUL */

	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(0x20 + rnd() % 95);
	return (struct smpp_view){ p, n };
}

#define RND_U8(nm, max) pdu->nm = (uint8_t)rnd();
#define RND_CSTR(nm, max) pdu->nm = rnd_cstr(s, max);
#define RND_SM(nm, max)                                              \
	pdu->short_message.len = rnd() % 3 == 0 ? 0 : rnd() % 255;    \
	pdu->sm_length = (uint8_t)pdu->short_message.len;             \
	for (uint32_t i = 0; i < pdu->short_message.len; i++)         \
		s->sm[i] = (uint8_t)rnd();                            \
	pdu->short_message.p = s->sm;
#define RND_DESTS(nm, max) rnd_dests(s, pdu);
#define RND_UNSUCC(nm, max) rnd_unsucc(s, pdu);
#define RND_FIELD(kind, nm, max) RND_##kind(nm, max)

static void rnd_dests(struct scratch *s, struct smpp_pdu *pdu)
{
	unsigned n = rnd() % 8 == 0 ? 254 : rnd() % 6;
	size_t off = 0;

	pdu->number_of_dests = 0;
	for (unsigned i = 0; i < n; i++) {
		struct smpp_dest d = { .dest_flag = (uint8_t)(1 + rnd() % 2),
				       .dest_addr_ton = (uint8_t)rnd(),
				       .dest_addr_npi = (uint8_t)rnd() };

		if (d.dest_flag == SMPP_DEST_SME)
			d.destination_addr = rnd_cstr(s, 21);
		else
			d.dl_name = rnd_cstr(s, 21);
		s->n_str = 10;   /* reuse the same slots; contents are copied */
		assert_int_equal(smpp_dest_put(s->dests, sizeof(s->dests), &off,
					       &pdu->number_of_dests, &d), SMPP_OK);
	}
	pdu->dests.p = s->dests;
	pdu->dests.len = (uint32_t)off;
}

static void rnd_unsucc(struct scratch *s, struct smpp_pdu *pdu)
{
	unsigned n = rnd() % 8 == 0 ? 254 : rnd() % 6;
	size_t off = 0;

	pdu->no_unsuccess = 0;
	for (unsigned i = 0; i < n; i++) {
		struct smpp_unsuccess u = { .dest_addr_ton = (uint8_t)rnd(),
					    .dest_addr_npi = (uint8_t)rnd(),
					    .error_status_code = rnd() };

		u.destination_addr = rnd_cstr(s, 21);
		s->n_str = 10;
		assert_int_equal(smpp_unsuccess_put(s->unsucc, sizeof(s->unsucc), &off,
						    &pdu->no_unsuccess, &u), SMPP_OK);
	}
	pdu->unsuccess.p = s->unsucc;
	pdu->unsuccess.len = (uint32_t)off;
}

/* Random TLVs: vendor tags, SAR (right sizes), message_payload when legal. */
static void rnd_tlvs(struct scratch *s, struct smpp_pdu *pdu)
{
	size_t off = 0;
	unsigned n = rnd() % 4;
	uint8_t val[64];

	for (unsigned i = 0; i < n; i++) {
		uint16_t len = (uint16_t)(rnd() % sizeof(val));

		for (unsigned j = 0; j < len; j++)
			val[j] = (uint8_t)rnd();
		/* 0x1400-0x3FFF are vendor tags: never interpreted */
		assert_int_equal(smpp_tlv_put(s->tlvs, sizeof(s->tlvs), &off,
					      (uint16_t)(0x1400 + rnd() % 0x2c00), val, len), SMPP_OK);
	}
	if (rnd() % 2) {
		uint8_t ref[2] = { (uint8_t)rnd(), (uint8_t)rnd() }, tot = (uint8_t)rnd(),
			seq = (uint8_t)rnd();

		smpp_tlv_put(s->tlvs, sizeof(s->tlvs), &off, SMPP_TLV_SAR_MSG_REF_NUM, ref, 2);
		smpp_tlv_put(s->tlvs, sizeof(s->tlvs), &off, SMPP_TLV_SAR_TOTAL_SEGMENTS, &tot, 1);
		smpp_tlv_put(s->tlvs, sizeof(s->tlvs), &off, SMPP_TLV_SAR_SEGMENT_SEQNUM, &seq, 1);
	}
	if (pdu->short_message.len == 0 && rnd() % 2) {
		uint16_t len = (uint16_t)(rnd() % sizeof(s->payload));

		for (unsigned j = 0; j < len; j++)
			s->payload[j] = (uint8_t)rnd();
		smpp_tlv_put(s->tlvs, sizeof(s->tlvs), &off, SMPP_TLV_MESSAGE_PAYLOAD, s->payload, len);
	}
	pdu->tlvs.p = s->tlvs;
	pdu->tlvs.len = (uint32_t)off;
}

static void rnd_pdu(uint32_t cmd, struct scratch *s, struct smpp_pdu *pdu)
{
	memset(pdu, 0, sizeof(*pdu));
	s->n_str = 0;
	pdu->hdr.command_id = cmd;
	pdu->hdr.command_status = rnd() % 4 ? 0 : rnd();
	pdu->hdr.sequence_number = rnd();
	switch (cmd) {
#define SMPP_PDU(UP, lo, id, fields) case id: { fields(RND_FIELD) } break;
#include "smpp_pdus.def"
#undef SMPP_PDU
	}
	rnd_tlvs(s, pdu);
}

/* Collect visited fields to compare two PDUs through the same table. */
struct fields {
	struct smpp_field f[24];
	int n;
};

static void collect(void *ctx, const struct smpp_field *f)
{
	struct fields *fs = ctx;

	fs->f[fs->n++] = *f;
}

static void assert_same_fields(const struct smpp_pdu *a, const struct smpp_pdu *b)
{
	struct fields fa = { .n = 0 }, fb = { .n = 0 };

	assert_int_equal(a->hdr.command_id, b->hdr.command_id);
	assert_int_equal(a->hdr.command_status, b->hdr.command_status);
	assert_int_equal(a->hdr.sequence_number, b->hdr.sequence_number);
	assert_int_equal(smpp_pdu_visit(a, collect, &fa), SMPP_OK);
	assert_int_equal(smpp_pdu_visit(b, collect, &fb), SMPP_OK);
	assert_int_equal(fa.n, fb.n);
	for (int i = 0; i < fa.n; i++) {
		assert_string_equal(fa.f[i].name, fb.f[i].name);
		assert_int_equal(fa.f[i].kind, fb.f[i].kind);
		if (fa.f[i].kind != SMPP_FIELD_CSTR)
			assert_int_equal(fa.f[i].u8, fb.f[i].u8);
		assert_int_equal(fa.f[i].v.len, fb.f[i].v.len);
		if (fa.f[i].v.len)
			assert_memory_equal(fa.f[i].v.p, fb.f[i].v.p, fa.f[i].v.len);
	}
	assert_int_equal(a->tlvs.len, b->tlvs.len);
	if (a->tlvs.len)
		assert_memory_equal(a->tlvs.p, b->tlvs.p, a->tlvs.len);
}

static void roundtrip_all(void **state)
{
	static struct scratch s;
	static uint8_t wire[16384], wire2[16384];

	(void)state;
	rnd_state = 0x2775u;
	for (size_t c = 0; c < N_CMDS; c++) {
		for (int iter = 0; iter < 300; iter++) {
			struct smpp_pdu in, out;
			size_t n, n2;

			rnd_pdu(all_cmds[c], &s, &in);
			assert_int_equal(smpp_pdu_encode(&in, wire, sizeof(wire), &n), SMPP_OK);
			assert_int_equal(smpp_pdu_decode(wire, n, NULL, &out), SMPP_OK);
			assert_int_equal(out.hdr.command_length, n);
			assert_same_fields(&in, &out);
			if (in.sm_length == 0 && out.has_message_payload)
				assert_true(out.message_payload.len < sizeof(s.payload));
			/* decoded PDU re-encodes to the same octets */
			assert_int_equal(smpp_pdu_encode(&out, wire2, sizeof(wire2), &n2), SMPP_OK);
			assert_int_equal(n2, n);
			assert_memory_equal(wire, wire2, n);
			/* a strict prefix, relabelled as complete, never decodes as
			 * the same PDU and never reads past its end (ASan build) */
			if (iter < 20 && n > SMPP_HDR_LEN) {
				size_t cut = SMPP_HDR_LEN + rnd() % (n - SMPP_HDR_LEN);
				uint8_t *p = malloc(cut);
				struct smpp_pdu cutp;
				int rc;

				memcpy(p, wire, cut);
				p[0] = (uint8_t)(cut >> 24);
				p[1] = (uint8_t)(cut >> 16);
				p[2] = (uint8_t)(cut >> 8);
				p[3] = (uint8_t)cut;
				rc = smpp_pdu_decode(p, cut, NULL, &cutp);
				/* only a cut between TLVs, or a response cut to its
				 * header while carrying an error status, is whole */
				if (rc == SMPP_OK)
					assert_true(cut >= n - in.tlvs.len ||
						    (cut == SMPP_HDR_LEN && in.hdr.command_status &&
						     (in.hdr.command_id & SMPP_CMD_RESP_BIT)));
				free(p);
			}
		}
	}
}

/* The response encoders give what the general encoder and decoder agree on. */
static void roundtrip_responses(void **state)
{
	static const uint32_t reqs[] = { SMPP_CMD_SUBMIT_SM, SMPP_CMD_DELIVER_SM, SMPP_CMD_DATA_SM,
					 SMPP_CMD_BROADCAST_SM };
	uint8_t out[512];

	(void)state;
	rnd_state = 0x0a0au;
	for (int iter = 0; iter < 500; iter++) {
		struct scratch s;
		struct smpp_pdu pdu;
		uint32_t req = reqs[rnd() % 4], seq = rnd(), st = rnd() % 0x120;
		struct smpp_view id;
		size_t n;

		s.n_str = 0;
		id = rnd_cstr(&s, 65);
		assert_int_equal(smpp_encode_msgid_resp(req, seq, st, id, sv(""), out, sizeof(out), &n),
				 SMPP_OK);
		assert_int_equal(smpp_pdu_decode(out, n, NULL, &pdu), SMPP_OK);
		assert_int_equal(pdu.hdr.command_id, req | SMPP_CMD_RESP_BIT);
		assert_int_equal(pdu.hdr.sequence_number, seq);
		assert_int_equal(pdu.hdr.command_status, st);
		assert_int_equal(pdu.body_absent, st != 0);
		if (st != 0)
			continue;
		assert_int_equal(pdu.message_id.len, id.len);
		if (id.len)
			assert_memory_equal(pdu.message_id.p, id.p, id.len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_all),
		cmocka_unit_test(roundtrip_responses),
	};

	return cmocka_run_group_tests_name("smpp_roundtrip", tests, NULL, NULL);
}
