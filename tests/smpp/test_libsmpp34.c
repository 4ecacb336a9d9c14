/*
 * test_libsmpp34.c — differential test: PDUs packed by libsmpp34
 * (smpp34_pack) from random field values (fixed seeds) decode with smpp/ to
 * the same fields, TLVs included. libsmpp34 is a third-party SMPP 3.4
 * implementation; where both agree, neither is likely to be wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "smpp_test_util.h"

#include <libsmpp34/smpp34.h>
#include <libsmpp34/smpp34_structs.h>
#include <libsmpp34/smpp34_params.h>

static uint32_t rs;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 17;
	rs ^= rs << 5;
	return rs;
}

/* libsmpp34 refuses TON/NPI values the spec does not list. */
static uint8_t rton(void)
{
	return (uint8_t)(rnd() % 7);
}

static uint8_t rnpi(void)
{
	static const uint8_t npis[] = { 0, 1, 3, 4, 6, 8, 9, 10, 14, 18 };

	return npis[rnd() % sizeof(npis)];
}

/* Random printable C-Octet string of at most max-1 characters. */
static void rstr(uint8_t *dst, size_t max)
{
	size_t n = rnd() % max;

	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(0x21 + rnd() % 94);
	dst[n] = 0;
}

#define RSTR(field) rstr((field), sizeof(field))

/* libsmpp34 writes a time field only when it is a valid SMPP time:
 * "" or YYMMDDhhmmsstnnp (absolute +/-, or relative R). */
static void rtime(uint8_t *dst)
{
	static const char sign[] = "+-R";
	char p = sign[rnd() % 3];

	if (rnd() % 3 == 0) {
		dst[0] = 0;
		return;
	}
	snprintf((char *)dst, 17, "%02u%02u%02u%02u%02u%02u%u%02u%c", rnd() % 100,
		 1 + rnd() % 12, 1 + rnd() % 28, rnd() % 24, rnd() % 60, rnd() % 60,
		 p == 'R' ? 0 : rnd() % 10, p == 'R' ? 0 : rnd() % 48, p);
}
/* libsmpp34 keeps C-Octet strings NUL-terminated in fixed arrays. */
#define assert_cstr(view, arr) assert_true(view_is((view), (const char *)(arr)))

static void hdr_fill(uint32_t *len, uint32_t *id, uint32_t *st, uint32_t *seq, uint32_t cmd)
{
	*len = 0;
	*id = cmd;
	static const uint32_t st_ok[] = { 0x00, 0x08, 0x0a, 0x0d, 0x45, 0x58, 0x66 };

	*st = (cmd & SMPP_CMD_RESP_BIT) ? st_ok[rnd() % 7] : 0;
	*seq = 1 + rnd() % 0x7ffffffe;
}

static void pack_decode(uint32_t cmd, void *t, uint8_t *buf, size_t cap, struct smpp_pdu *pdu)
{
	int len = 0;

	if (smpp34_pack(cmd, buf, (int)cap, &len, t) != 0)
		fail_msg("smpp34_pack: %s", smpp34_strerror);
	assert_int_equal(smpp_pdu_decode(buf, (size_t)len, NULL, pdu), SMPP_OK);
	assert_int_equal(pdu->hdr.command_length, (uint32_t)len);
	assert_int_equal(pdu->hdr.command_id, cmd);
}

#define ASSERT_HDR(pdu, s)                                                 \
	do {                                                               \
		assert_int_equal((pdu).hdr.command_status, (s).command_status); \
		assert_int_equal((pdu).hdr.sequence_number, (s).sequence_number); \
	} while (0)

static void diff_bind(void **state)
{
	static const uint32_t cmds[] = { BIND_TRANSMITTER, BIND_RECEIVER, BIND_TRANSCEIVER };
	uint8_t buf[512];

	(void)state;
	rs = 0x34343434u;
	for (int i = 0; i < 300; i++) {
		bind_transmitter_t b;   /* all three binds share one layout */
		struct smpp_pdu pdu;
		uint32_t cmd = cmds[i % 3];

		memset(&b, 0, sizeof(b));
		hdr_fill(&b.command_length, &b.command_id, &b.command_status, &b.sequence_number, cmd);
		RSTR(b.system_id);
		RSTR(b.password);
		RSTR(b.system_type);
		b.interface_version = 0x34;
		b.addr_ton = rton();
		b.addr_npi = rnpi();
		RSTR(b.address_range);
		pack_decode(cmd, &b, buf, sizeof(buf), &pdu);
		ASSERT_HDR(pdu, b);
		assert_cstr(pdu.system_id, b.system_id);
		assert_cstr(pdu.password, b.password);
		assert_cstr(pdu.system_type, b.system_type);
		assert_int_equal(pdu.interface_version, b.interface_version);
		assert_int_equal(pdu.addr_ton, b.addr_ton);
		assert_int_equal(pdu.addr_npi, b.addr_npi);
		assert_cstr(pdu.address_range, b.address_range);
	}
	/* bind_transmitter_resp with sc_interface_version */
	for (int i = 0; i < 100; i++) {
		bind_transmitter_resp_t r;
		tlv_t tlv;
		struct smpp_pdu pdu;
		struct smpp_tlv t;

		memset(&r, 0, sizeof(r));
		hdr_fill(&r.command_length, &r.command_id, &r.command_status, &r.sequence_number,
			 BIND_TRANSMITTER_RESP);
		RSTR(r.system_id);
		memset(&tlv, 0, sizeof(tlv));
		tlv.tag = TLVID_sc_interface_version;
		tlv.length = 1;
		tlv.value.val08 = 0x34;
		build_tlv(&r.tlv, &tlv);
		pack_decode(BIND_TRANSMITTER_RESP, &r, buf, sizeof(buf), &pdu);
		destroy_tlv(r.tlv);
		ASSERT_HDR(pdu, r);
		assert_cstr(pdu.system_id, r.system_id);
		assert_true(smpp_tlv_find(&pdu, SMPP_TLV_SC_INTERFACE_VERSION, &t));
		assert_int_equal(t.val[0], 0x34);
	}
}

/*
 * submit_sm and deliver_sm: one layout in smpp/; libsmpp34 has two structs
 * (deliver_sm's schedule/validity are 1-octet arrays: always NULL), so the
 * fill and the checks are macros over either struct.
 */
#define FILL_SM(s, cmd, with_payload, umr, times)                                   \
	do {                                                                         \
		tlv_t tlv;                                                           \
		memset(&(s), 0, sizeof(s));                                          \
		hdr_fill(&(s).command_length, &(s).command_id, &(s).command_status,  \
			 &(s).sequence_number, (cmd));                               \
		RSTR((s).service_type);                                              \
		(s).source_addr_ton = rton();                                        \
		(s).source_addr_npi = rnpi();                                        \
		RSTR((s).source_addr);                                               \
		(s).dest_addr_ton = rton();                                          \
		(s).dest_addr_npi = rnpi();                                          \
		RSTR((s).destination_addr);                                          \
		(s).esm_class = (uint8_t)rnd();                                      \
		(s).protocol_id = (uint8_t)rnd();                                    \
		(s).priority_flag = (uint8_t)(rnd() % 4);                            \
		if (times) {                                                         \
			rtime((s).schedule_delivery_time);                           \
			rtime((s).validity_period);                                  \
		}                                                                    \
		(s).registered_delivery = (uint8_t)rnd();                            \
		(s).replace_if_present_flag = (uint8_t)(rnd() % 2);                  \
		(s).data_coding = (uint8_t)rnd();                                    \
		(s).sm_default_msg_id = (uint8_t)rnd();                              \
		(s).sm_length = (with_payload) ? 0 : (uint8_t)(rnd() % 254);         \
		for (int j = 0; j < (s).sm_length; j++)                              \
			(s).short_message[j] = (uint8_t)rnd();                       \
		memset(&tlv, 0, sizeof(tlv));                                        \
		tlv.tag = TLVID_user_message_reference;                              \
		tlv.length = 2;                                                      \
		tlv.value.val16 = (umr);                                             \
		build_tlv(&(s).tlv, &tlv);                                           \
		if (with_payload) {                                                  \
			memset(&tlv, 0, sizeof(tlv));                                \
			tlv.tag = TLVID_message_payload;                             \
			tlv.length = (uint16_t)(rnd() % 1024);                       \
			for (int j = 0; j < tlv.length; j++)                         \
				tlv.value.octet[j] = (uint8_t)rnd();                 \
			build_tlv(&(s).tlv, &tlv);                                   \
		}                                                                    \
	} while (0)

#define CHECK_SM(pdu, s, with_payload, umr)                                              \
	do {                                                                              \
		struct smpp_tlv t;                                                        \
		ASSERT_HDR(pdu, s);                                                       \
		assert_cstr((pdu).service_type, (s).service_type);                        \
		assert_int_equal((pdu).source_addr_ton, (s).source_addr_ton);             \
		assert_int_equal((pdu).source_addr_npi, (s).source_addr_npi);             \
		assert_cstr((pdu).source_addr, (s).source_addr);                          \
		assert_int_equal((pdu).dest_addr_ton, (s).dest_addr_ton);                 \
		assert_int_equal((pdu).dest_addr_npi, (s).dest_addr_npi);                 \
		assert_cstr((pdu).destination_addr, (s).destination_addr);                \
		assert_int_equal((pdu).esm_class, (s).esm_class);                         \
		assert_int_equal((pdu).protocol_id, (s).protocol_id);                     \
		assert_int_equal((pdu).priority_flag, (s).priority_flag);                 \
		assert_cstr((pdu).schedule_delivery_time, (s).schedule_delivery_time);    \
		assert_cstr((pdu).validity_period, (s).validity_period);                  \
		assert_int_equal((pdu).registered_delivery, (s).registered_delivery);     \
		assert_int_equal((pdu).replace_if_present_flag, (s).replace_if_present_flag); \
		assert_int_equal((pdu).data_coding, (s).data_coding);                     \
		assert_int_equal((pdu).sm_default_msg_id, (s).sm_default_msg_id);         \
		assert_int_equal((pdu).sm_length, (s).sm_length);                         \
		if ((s).sm_length)                                                        \
			assert_memory_equal((pdu).short_message.p, (s).short_message,     \
					    (s).sm_length);                               \
		assert_true(smpp_tlv_find(&(pdu), SMPP_TLV_USER_MESSAGE_REFERENCE, &t));  \
		assert_int_equal(t.len, 2);                                               \
		assert_int_equal(t.val[0] << 8 | t.val[1], (umr));                        \
		assert_int_equal((pdu).has_message_payload, (with_payload));              \
		if (with_payload) {                                                       \
			const tlv_t *pl = (s).tlv;                                        \
			while (pl->tag != TLVID_message_payload)                          \
				pl = pl->next;                                            \
			assert_int_equal((pdu).message_payload.len, pl->length);          \
			assert_memory_equal((pdu).message_payload.p, pl->value.octet,     \
					    (pdu).message_payload.len);                   \
		}                                                                         \
	} while (0)

static void diff_submit_deliver(void **state)
{
	uint8_t buf[2048];

	(void)state;
	rs = 0x5b5b5b5bu;
	for (int i = 0; i < 1000; i++) {
		struct smpp_pdu pdu;
		uint16_t umr = (uint16_t)rnd();
		int with_payload = rnd() % 3 == 0;

		if (i % 2) {
			deliver_sm_t d;

			FILL_SM(d, DELIVER_SM, with_payload, umr, 0);
			pack_decode(DELIVER_SM, &d, buf, sizeof(buf), &pdu);
			CHECK_SM(pdu, d, with_payload, umr);
			destroy_tlv(d.tlv);
		} else {
			submit_sm_t s;

			FILL_SM(s, SUBMIT_SM, with_payload, umr, 1);
			pack_decode(SUBMIT_SM, &s, buf, sizeof(buf), &pdu);
			CHECK_SM(pdu, s, with_payload, umr);
			destroy_tlv(s.tlv);
		}
	}
}

static void diff_submit_multi(void **state)
{
	uint8_t buf[8192];

	(void)state;
	rs = 0x21212121u;
	for (int i = 0; i < 300; i++) {
		submit_multi_t m;
		struct smpp_pdu pdu;
		struct smpp_list_iter it;
		struct smpp_dest d;
		dad_t *cur;
		unsigned n = rnd() % 20;

		memset(&m, 0, sizeof(m));
		hdr_fill(&m.command_length, &m.command_id, &m.command_status, &m.sequence_number,
			 SUBMIT_MULTI);
		RSTR(m.service_type);
		m.source_addr_ton = rton();
		m.source_addr_npi = rnpi();
		RSTR(m.source_addr);
		for (unsigned j = 0; j < n; j++) {
			dad_t dd;

			memset(&dd, 0, sizeof(dd));
			dd.dest_flag = (uint8_t)(1 + rnd() % 2);
			if (dd.dest_flag == 1) {
				dd.value.sme.dest_addr_ton = rton();
				dd.value.sme.dest_addr_npi = rnpi();
				RSTR(dd.value.sme.destination_addr);
			} else {
				RSTR(dd.value.dl_name);
			}
			build_dad(&m.dest_addr_def, &dd);
		}
		m.number_of_dests = (uint8_t)n;
		m.esm_class = (uint8_t)rnd();
		m.data_coding = 8;
		m.sm_length = (uint8_t)(rnd() % 100);
		for (int j = 0; j < m.sm_length; j++)
			m.short_message[j] = (uint8_t)rnd();
		pack_decode(SUBMIT_MULTI, &m, buf, sizeof(buf), &pdu);
		ASSERT_HDR(pdu, m);
		assert_cstr(pdu.source_addr, m.source_addr);
		assert_int_equal(pdu.number_of_dests, n);
		assert_int_equal(pdu.esm_class, m.esm_class);
		assert_int_equal(pdu.sm_length, m.sm_length);
		smpp_dest_iter_init(&it, &pdu);
		for (cur = m.dest_addr_def; cur; cur = cur->next) {
			assert_true(smpp_dest_next(&it, &d));
			assert_int_equal(d.dest_flag, cur->dest_flag);
			if (cur->dest_flag == 1) {
				assert_int_equal(d.dest_addr_ton, cur->value.sme.dest_addr_ton);
				assert_int_equal(d.dest_addr_npi, cur->value.sme.dest_addr_npi);
				assert_cstr(d.destination_addr, cur->value.sme.destination_addr);
			} else {
				assert_cstr(d.dl_name, cur->value.dl_name);
			}
		}
		assert_false(smpp_dest_next(&it, &d));
		destroy_dad(m.dest_addr_def);
	}
}

static void diff_submit_multi_resp(void **state)
{
	uint8_t buf[8192];

	(void)state;
	rs = 0x80808080u;
	for (int i = 0; i < 300; i++) {
		submit_multi_resp_t r;
		struct smpp_pdu pdu;
		struct smpp_list_iter it;
		struct smpp_unsuccess u;
		udad_t *cur;
		unsigned n = rnd() % 20;

		memset(&r, 0, sizeof(r));
		hdr_fill(&r.command_length, &r.command_id, &r.command_status, &r.sequence_number,
			 SUBMIT_MULTI_RESP);
		RSTR(r.message_id);
		for (unsigned j = 0; j < n; j++) {
			udad_t uu;

			memset(&uu, 0, sizeof(uu));
			uu.dest_addr_ton = rton();
			uu.dest_addr_npi = rnpi();
			RSTR(uu.destination_addr);
			uu.error_status_code = rnd();
			build_udad(&r.unsuccess_smes, &uu);
		}
		r.no_unsuccess = (uint8_t)n;
		pack_decode(SUBMIT_MULTI_RESP, &r, buf, sizeof(buf), &pdu);
		ASSERT_HDR(pdu, r);
		assert_cstr(pdu.message_id, r.message_id);
		assert_int_equal(pdu.no_unsuccess, n);
		smpp_unsuccess_iter_init(&it, &pdu);
		for (cur = r.unsuccess_smes; cur; cur = cur->next) {
			assert_true(smpp_unsuccess_next(&it, &u));
			assert_int_equal(u.dest_addr_ton, cur->dest_addr_ton);
			assert_cstr(u.destination_addr, cur->destination_addr);
			assert_int_equal(u.error_status_code, cur->error_status_code);
		}
		assert_false(smpp_unsuccess_next(&it, &u));
		destroy_udad(r.unsuccess_smes);
	}
}

static void diff_others(void **state)
{
	uint8_t buf[2048];

	(void)state;
	rs = 0x0dd0dd0du;
	for (int i = 0; i < 200; i++) {
		struct smpp_pdu pdu;

		{	/* data_sm with message_payload */
			data_sm_t d;
			tlv_t tlv;

			memset(&d, 0, sizeof(d));
			hdr_fill(&d.command_length, &d.command_id, &d.command_status,
				 &d.sequence_number, DATA_SM);
			RSTR(d.service_type);
			d.source_addr_ton = rton();
			RSTR(d.source_addr);
			d.dest_addr_npi = rnpi();
			RSTR(d.destination_addr);
			d.esm_class = (uint8_t)rnd();
			d.registered_delivery = (uint8_t)rnd();
			d.data_coding = (uint8_t)rnd();
			memset(&tlv, 0, sizeof(tlv));
			tlv.tag = TLVID_message_payload;
			tlv.length = (uint16_t)(rnd() % 300);
			for (int j = 0; j < tlv.length; j++)
				tlv.value.octet[j] = (uint8_t)rnd();
			build_tlv(&d.tlv, &tlv);
			pack_decode(DATA_SM, &d, buf, sizeof(buf), &pdu);
			ASSERT_HDR(pdu, d);
			assert_cstr(pdu.source_addr, d.source_addr);
			assert_cstr(pdu.destination_addr, d.destination_addr);
			assert_int_equal(pdu.source_addr_ton, d.source_addr_ton);
			assert_int_equal(pdu.dest_addr_npi, d.dest_addr_npi);
			assert_int_equal(pdu.esm_class, d.esm_class);
			assert_int_equal(pdu.data_coding, d.data_coding);
			assert_int_equal(pdu.message_payload.len, tlv.length);
			if (tlv.length)
				assert_memory_equal(pdu.message_payload.p, tlv.value.octet, tlv.length);
			destroy_tlv(d.tlv);
		}
		{	/* query_sm_resp */
			query_sm_resp_t q;

			memset(&q, 0, sizeof(q));
			hdr_fill(&q.command_length, &q.command_id, &q.command_status,
				 &q.sequence_number, QUERY_SM_RESP);
			RSTR(q.message_id);
			rtime(q.final_date);
			q.message_state = (uint8_t)rnd();
			q.error_code = (uint8_t)rnd();
			pack_decode(QUERY_SM_RESP, &q, buf, sizeof(buf), &pdu);
			ASSERT_HDR(pdu, q);
			assert_cstr(pdu.message_id, q.message_id);
			assert_cstr(pdu.final_date, q.final_date);
			assert_int_equal(pdu.message_state, q.message_state);
			assert_int_equal(pdu.error_code, q.error_code);
		}
		{	/* cancel_sm */
			cancel_sm_t c;

			memset(&c, 0, sizeof(c));
			hdr_fill(&c.command_length, &c.command_id, &c.command_status,
				 &c.sequence_number, CANCEL_SM);
			RSTR(c.service_type);
			RSTR(c.message_id);
			c.source_addr_ton = rton();
			RSTR(c.source_addr);
			c.dest_addr_ton = rton();
			RSTR(c.destination_addr);
			pack_decode(CANCEL_SM, &c, buf, sizeof(buf), &pdu);
			assert_cstr(pdu.message_id, c.message_id);
			assert_cstr(pdu.source_addr, c.source_addr);
			assert_cstr(pdu.destination_addr, c.destination_addr);
			assert_int_equal(pdu.dest_addr_ton, c.dest_addr_ton);
		}
		{	/* replace_sm */
			replace_sm_t r;

			memset(&r, 0, sizeof(r));
			hdr_fill(&r.command_length, &r.command_id, &r.command_status,
				 &r.sequence_number, REPLACE_SM);
			RSTR(r.message_id);
			RSTR(r.source_addr);
			rtime(r.schedule_delivery_time);
			rtime(r.validity_period);
			r.registered_delivery = (uint8_t)rnd();
			r.sm_length = (uint8_t)(rnd() % 254);   /* libsmpp34 refuses 254 */
			for (int j = 0; j < r.sm_length; j++)
				r.short_message[j] = (uint8_t)rnd();
			pack_decode(REPLACE_SM, &r, buf, sizeof(buf), &pdu);
			assert_cstr(pdu.message_id, r.message_id);
			assert_cstr(pdu.validity_period, r.validity_period);
			assert_int_equal(pdu.registered_delivery, r.registered_delivery);
			assert_int_equal(pdu.sm_length, r.sm_length);
			if (r.sm_length)
				assert_memory_equal(pdu.short_message.p, r.short_message, r.sm_length);
		}
		{	/* alert_notification */
			alert_notification_t a;

			memset(&a, 0, sizeof(a));
			hdr_fill(&a.command_length, &a.command_id, &a.command_status,
				 &a.sequence_number, ALERT_NOTIFICATION);
			a.source_addr_ton = rton();
			RSTR(a.source_addr);
			a.esme_addr_npi = rnpi();
			RSTR(a.esme_addr);
			pack_decode(ALERT_NOTIFICATION, &a, buf, sizeof(buf), &pdu);
			assert_cstr(pdu.source_addr, a.source_addr);
			assert_cstr(pdu.esme_addr, a.esme_addr);
			assert_int_equal(pdu.esme_addr_npi, a.esme_addr_npi);
		}
		{	/* submit_sm_resp, outbind, query_sm, generic_nack, enquire_link */
			submit_sm_resp_t sr;
			outbind_t o;
			query_sm_t q;
			generic_nack_t g;
			enquire_link_t e;

			memset(&sr, 0, sizeof(sr));
			hdr_fill(&sr.command_length, &sr.command_id, &sr.command_status,
				 &sr.sequence_number, SUBMIT_SM_RESP);
			RSTR(sr.message_id);
			pack_decode(SUBMIT_SM_RESP, &sr, buf, sizeof(buf), &pdu);
			ASSERT_HDR(pdu, sr);
			/* libsmpp34 omits the body of an error response */
			if (sr.command_status)
				assert_true(pdu.body_absent);
			else
				assert_cstr(pdu.message_id, sr.message_id);

			memset(&o, 0, sizeof(o));
			hdr_fill(&o.command_length, &o.command_id, &o.command_status,
				 &o.sequence_number, OUTBIND);
			RSTR(o.system_id);
			RSTR(o.password);
			pack_decode(OUTBIND, &o, buf, sizeof(buf), &pdu);
			assert_cstr(pdu.system_id, o.system_id);
			assert_cstr(pdu.password, o.password);

			memset(&q, 0, sizeof(q));
			hdr_fill(&q.command_length, &q.command_id, &q.command_status,
				 &q.sequence_number, QUERY_SM);
			RSTR(q.message_id);
			RSTR(q.source_addr);
			pack_decode(QUERY_SM, &q, buf, sizeof(buf), &pdu);
			assert_cstr(pdu.message_id, q.message_id);
			assert_cstr(pdu.source_addr, q.source_addr);

			memset(&g, 0, sizeof(g));
			hdr_fill(&g.command_length, &g.command_id, &g.command_status,
				 &g.sequence_number, GENERIC_NACK);
			pack_decode(GENERIC_NACK, &g, buf, sizeof(buf), &pdu);
			ASSERT_HDR(pdu, g);

			memset(&e, 0, sizeof(e));
			hdr_fill(&e.command_length, &e.command_id, &e.command_status,
				 &e.sequence_number, ENQUIRE_LINK);
			pack_decode(ENQUIRE_LINK, &e, buf, sizeof(buf), &pdu);
			ASSERT_HDR(pdu, e);
		}
	}
}

/* And the other way: what smpp/ encodes, libsmpp34 unpacks to the same. */
static void diff_reverse(void **state)
{
	uint8_t out[512];
	size_t n;
	submit_sm_resp_t r;
	bind_transceiver_resp_t b;
	struct smpp_bind_resp_opts o = { .sc_interface_version = 0x34,
					 .additional_status_info_text = sv("") };

	(void)state;
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_SUBMIT_SM, 77, SMPP_ESME_RSUBMITFAIL, sv("x1"),
						sv(""), out, sizeof(out), &n), SMPP_OK);
	memset(&r, 0, sizeof(r));
	if (smpp34_unpack(SUBMIT_SM_RESP, &r, out, (int)n) != 0)
		fail_msg("smpp34_unpack: %s", smpp34_strerror);
	assert_int_equal(r.command_status, 0x45);
	assert_int_equal(r.sequence_number, 77);
	assert_string_equal((char *)r.message_id, "");
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_SUBMIT_SM, 78, SMPP_ESME_ROK, sv("x1"),
						sv(""), out, sizeof(out), &n), SMPP_OK);
	memset(&r, 0, sizeof(r));
	if (smpp34_unpack(SUBMIT_SM_RESP, &r, out, (int)n) != 0)
		fail_msg("smpp34_unpack: %s", smpp34_strerror);
	assert_int_equal(r.sequence_number, 78);
	assert_string_equal((char *)r.message_id, "x1");

	assert_int_equal(smpp_encode_bind_resp(SMPP_CMD_BIND_TRANSCEIVER, 5, SMPP_ESME_ROK,
					       sv("smsfw"), &o, out, sizeof(out), &n), SMPP_OK);
	memset(&b, 0, sizeof(b));
	assert_int_equal(smpp34_unpack(BIND_TRANSCEIVER_RESP, &b, out, (int)n), 0);
	assert_int_equal(b.command_status, 0);
	assert_string_equal((char *)b.system_id, "smsfw");
	assert_non_null(b.tlv);
	assert_int_equal(b.tlv->tag, TLVID_sc_interface_version);
	assert_int_equal(b.tlv->value.val08, 0x34);
	destroy_tlv(b.tlv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(diff_bind),
		cmocka_unit_test(diff_submit_deliver),
		cmocka_unit_test(diff_submit_multi),
		cmocka_unit_test(diff_submit_multi_resp),
		cmocka_unit_test(diff_others),
		cmocka_unit_test(diff_reverse),
	};

	return cmocka_run_group_tests_name("smpp_libsmpp34", tests, NULL, NULL);
}
