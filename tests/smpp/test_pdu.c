/*
 * test_pdu.c — smpp_hdr_peek, smpp_pdu_decode, the TLV and list iterators,
 * the encoders and the name tables. Malformed and boundary input first, each
 * asserting the exact error; then every PDU type decoded field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "smpp_test_util.h"

/* A submit_sm body: service_type "", source 5/0 "Bank", destination 1/1
 * "447700900123", esm_class 0, protocol_id 0, priority 0, no schedule, no
 * validity, registered_delivery 1, replace 0, data_coding 0, default id 0. */
#define SUBMIT_HEAD "LLLLLLLL 00000004 00000000 00000002 "
#define SUBMIT_FIELDS                                       \
	"00 "                               /* service_type "" */ \
	"05 00 42616e6b00 "                 /* 5/0 "Bank" */       \
	"01 01 34343737303039303031323300 " /* 1/1 "447700900123" */ \
	"00 00 00 "                         /* esm, pid, priority */ \
	"00 00 "                            /* schedule, validity */ \
	"01 00 00 00 "                      /* regdel 1, replace, dc 0, default */
#define HELLO "05 48656c6c6f "              /* sm_length 5 "Hello" */

static void expect_decode(const char *hex, int want)
{
	struct smpp_pdu pdu;
	uint8_t *buf;

	assert_int_equal(decode_hex(hex, &buf, &pdu), want);
	free(buf);
}

/* ---- smpp_hdr_peek ---- */

static void hdr_peek_bounds(void **state)
{
	struct smpp_hdr h;
	size_t len;
	uint8_t *b;

	(void)state;
	/* 15 octets of an enquire_link header: need more */
	b = hex_pdu("00000010 00000015 00000000 000000", &len);
	assert_int_equal(smpp_hdr_peek(b, len, 0, &h), SMPP_AGAIN);
	free(b);
	/* command_length 15 */
	b = hex_pdu("0000000f 00000015 00000000 00000001", &len);
	assert_int_equal(smpp_hdr_peek(b, len, 0, &h), SMPP_ECMDLEN_SHORT);
	free(b);
	/* command_length 65537 > default 64 KiB */
	b = hex_pdu("00010001 00000004 00000000 00000001", &len);
	assert_int_equal(smpp_hdr_peek(b, len, 0, &h), SMPP_ECMDLEN_LONG);
	/* ... but accepted under a larger configured bound */
	assert_int_equal(smpp_hdr_peek(b, len, 0x20000, &h), SMPP_OK);
	assert_int_equal(h.command_length, 65537);
	free(b);
	/* exactly 64 KiB is allowed by default */
	b = hex_pdu("00010000 00000004 00000000 00000001", &len);
	assert_int_equal(smpp_hdr_peek(b, len, 0, &h), SMPP_OK);
	free(b);
	/* command_id 0x0000000A is reserved */
	b = hex_pdu("00000010 0000000a 00000000 00000001", &len);
	assert_int_equal(smpp_hdr_peek(b, len, 0, &h), SMPP_ECMDID);
	free(b);
	/* alert_notification has no response PDU */
	b = hex_pdu("00000010 80000102 00000000 00000001", &len);
	assert_int_equal(smpp_hdr_peek(b, len, 0, &h), SMPP_ECMDID);
	free(b);
	/* enquire_link_resp seq 0x01020304, status 0 */
	b = hex_pdu("00000010 80000015 00000000 01020304", &len);
	assert_int_equal(smpp_hdr_peek(b, len, 16, &h), SMPP_OK);
	assert_int_equal(h.command_id, SMPP_CMD_ENQUIRE_LINK_RESP);
	assert_int_equal(h.sequence_number, 0x01020304);
	free(b);
}

/* ---- decode: malformed ---- */

static void decode_truncated(void **state)
{
	(void)state;
	/* submit_sm whose body stops after source_addr */
	expect_decode("LLLLLLLL 00000004 00000000 00000002 00 0500 42616e6b00", SMPP_ETRUNC);
	/* submit_sm stopping right before sm_length */
	expect_decode(SUBMIT_HEAD "00 0500 42616e6b00 0101 34343737303039303031323300 000000 0000 "
		      "01000000", SMPP_ETRUNC);
	/* bind_transmitter with an empty body */
	expect_decode("LLLLLLLL 00000002 00000000 00000001", SMPP_ETRUNC);
	/* submit_sm_resp, status 0, no message_id: the body is required */
	expect_decode("LLLLLLLL 80000004 00000000 00000002", SMPP_ETRUNC);
}

static void decode_need_more(void **state)
{
	struct smpp_pdu pdu;
	size_t len;
	uint8_t *b = hex_pdu(SUBMIT_HEAD SUBMIT_FIELDS HELLO, &len);

	(void)state;
	assert_int_equal(smpp_pdu_decode(b, len - 1, NULL, &pdu), SMPP_AGAIN);
	assert_int_equal(smpp_pdu_decode(b, 15, NULL, &pdu), SMPP_AGAIN);
	assert_int_equal(smpp_pdu_decode(b, len, NULL, &pdu), SMPP_OK);
	free(b);
}

static void decode_max_pdu(void **state)
{
	struct smpp_decode_opts o = { .max_pdu = 32, .flags = 0 };
	struct smpp_pdu pdu;
	size_t len;
	uint8_t *b = hex_pdu(SUBMIT_HEAD SUBMIT_FIELDS HELLO, &len);

	(void)state;
	assert_true(len > 32);
	assert_int_equal(smpp_pdu_decode(b, len, &o, &pdu), SMPP_ECMDLEN_LONG);
	o.max_pdu = (uint32_t)len;
	assert_int_equal(smpp_pdu_decode(b, len, &o, &pdu), SMPP_OK);
	free(b);
}

static void decode_cstr_bounds(void **state)
{
	struct smpp_decode_opts relax = { .max_pdu = 0, .flags = SMPP_DEC_RELAX_CSTR_MAX };
	struct smpp_pdu pdu;
	size_t len;
	uint8_t *b;

	(void)state;
	/* source_addr of 21 'A' + NUL: 22 octets where the spec allows 21 */
	b = hex_pdu(SUBMIT_HEAD "00 0500 414141414141414141414141414141414141414141 00 "
		    "0101 34343737303039303031323300 000000 0000 01000000" HELLO, &len);
	assert_int_equal(smpp_pdu_decode(b, len, NULL, &pdu), SMPP_ECSTR);
	assert_int_equal(smpp_pdu_decode(b, len, &relax, &pdu), SMPP_OK);
	assert_int_equal(pdu.source_addr.len, 21);
	free(b);
	/* 20 'A' + NUL is the longest legal source_addr */
	expect_decode(SUBMIT_HEAD "00 0500 4141414141414141414141414141414141414141 00 "
		      "0101 34343737303039303031323300 000000 0000 01000000" HELLO, SMPP_OK);
	/* service_type "ABCDEF" needs 7 octets, max is 6 */
	expect_decode(SUBMIT_HEAD "41424344454600 0500 42616e6b00 0101 3400 000000 0000 01000000"
		      HELLO, SMPP_ECSTR);
	/* source_addr runs to the end of the PDU without a NUL */
	expect_decode(SUBMIT_HEAD "00 0500 42616e6b", SMPP_ECSTR);
	/* bind_transmitter, system_id of 16 chars (max 15 + NUL) */
	expect_decode("LLLLLLLL 00000002 00000000 00000001 "
		      "41414141414141414141414141414141 00 00 00 34 00 00 00", SMPP_ECSTR);
	/* message_id of 65 chars in submit_sm_resp (max 64 + NUL) */
	expect_decode("LLLLLLLL 80000004 00000000 00000001 "
		      "41414141414141414141414141414141414141414141414141414141414141414141"
		      "41414141414141414141414141414141414141414141414141414141414141 00",
		      SMPP_ECSTR);
}

static void decode_sm_length(void **state)
{
	(void)state;
	/* sm_length 6 with 5 octets left */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS "06 48656c6c6f", SMPP_ESMLEN);
	/* sm_length 1 with nothing left */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS "01", SMPP_ESMLEN);
	/* sm_length 0: empty message, fine */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS "00", SMPP_OK);
}

static void decode_sm_255(void **state)
{
	char hex[1024];
	size_t n;

	(void)state;
	/* sm_length 255 with 255 octets present: above the spec's 254 */
	n = (size_t)snprintf(hex, sizeof(hex), "%s%s ff ", SUBMIT_HEAD, SUBMIT_FIELDS);
	for (int i = 0; i < 255; i++)
		n += (size_t)snprintf(hex + n, sizeof(hex) - n, "41");
	expect_decode(hex, SMPP_ESMLEN);
}

static void decode_tlv_bounds(void **state)
{
	(void)state;
	/* three stray octets after the mandatory part */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS HELLO "0424 00", SMPP_ETLVHDR);
	/* enquire_link with one body octet */
	expect_decode("LLLLLLLL 00000015 00000000 00000001 01", SMPP_ETLVHDR);
	/* message_payload claiming 5 octets, 2 present */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS "00 0424 0005 4142", SMPP_ETLVLEN);
	/* sar_msg_ref_num must be 2 octets */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS HELLO "020c 0001 01", SMPP_ETLVSIZE);
	/* sar_total_segments must be 1 octet */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS HELLO "020e 0002 0001", SMPP_ETLVSIZE);
	/* two message_payload TLVs: which text is real? refused */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS "00 0424 0001 41 0424 0001 42", SMPP_ETLVDUP);
	/* sar_segment_seqnum twice */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS HELLO "020f 0001 01 020f 0001 02", SMPP_ETLVDUP);
	/* short_message "Hello" and message_payload "Hi" */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS HELLO "0424 0002 4869", SMPP_EPAYLOAD);
	/* an unknown tag of length 0 at the very end is fine */
	expect_decode(SUBMIT_HEAD SUBMIT_FIELDS HELLO "1400 0000", SMPP_OK);
}

static void decode_submit_multi_bounds(void **state)
{
	(void)state;
	/* submit_multi, number_of_dests 255 (max 254) */
	expect_decode("LLLLLLLL 00000021 00000000 00000003 00 0101 313200 ff", SMPP_EDESTS);
	/* dest_flag 3 */
	expect_decode("LLLLLLLL 00000021 00000000 00000003 00 0101 313200 01 03 0101 313300",
		      SMPP_EDESTFLAG);
	/* two dests announced, one present, then the body ends */
	expect_decode("LLLLLLLL 00000021 00000000 00000003 00 0101 313200 02 01 0101 313300",
		      SMPP_ETRUNC);
	/* dl_name of 21 chars (max 20 + NUL) */
	expect_decode("LLLLLLLL 00000021 00000000 00000003 00 0101 313200 01 02 "
		      "414141414141414141414141414141414141414141 00", SMPP_ECSTR);
	/* submit_multi_resp with no_unsuccess 255 */
	expect_decode("LLLLLLLL 80000021 00000000 00000003 00 ff", SMPP_EDESTS);
	/* unsuccess_sme without its 4-octet error_status_code */
	expect_decode("LLLLLLLL 80000021 00000000 00000003 00 01 0101 313300 0000", SMPP_ETRUNC);
}

static void decode_resp_body_absent(void **state)
{
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* submit_sm_resp seq 9, ESME_RSUBMITFAIL, no body (3.4 §4.4.2) */
	assert_int_equal(decode_hex("LLLLLLLL 80000004 00000045 00000009", &b, &pdu), SMPP_OK);
	assert_true(pdu.body_absent);
	assert_int_equal(pdu.hdr.command_status, SMPP_ESME_RSUBMITFAIL);
	assert_int_equal(pdu.message_id.len, 0);
	free(b);
	/* bind_transmitter_resp, ESME_RBINDFAIL, no body */
	assert_int_equal(decode_hex("LLLLLLLL 80000002 0000000d 00000001", &b, &pdu), SMPP_OK);
	assert_true(pdu.body_absent);
	free(b);
	/* bind_transceiver_resp, ESME_RBINDFAIL, no system_id, only
	 * additional_status_info_text "no" (SMPP 5.0) */
	assert_int_equal(decode_hex("LLLLLLLL 80000009 0000000d 00000001 001d 0003 6e6f00", &b, &pdu),
			 SMPP_OK);
	assert_true(pdu.body_absent);
	assert_int_equal(pdu.n_tlvs, 1);
	free(b);
	/* with status 0 the body must start with system_id: 00 ends it at
	 * once, then the misaligned TLV "1d00 036e" overruns */
	expect_decode("LLLLLLLL 80000009 00000000 00000001 001d 0003 6e6f00", SMPP_ETLVLEN);
	/* submit_sm_resp with an error status and a message_id: kept */
	assert_int_equal(decode_hex("LLLLLLLL 80000004 00000045 00000009 616200", &b, &pdu), SMPP_OK);
	assert_false(pdu.body_absent);
	assert_view(pdu.message_id, "ab");
	free(b);
}

/* ---- decode: every PDU ---- */

static void decode_bind(void **state)
{
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* bind_transmitter seq 1: system_id "smppclient1", password "password",
	 * system_type "", interface_version 0x34, addr 1/1, address_range "" */
	assert_int_equal(decode_hex("LLLLLLLL 00000002 00000000 00000001 "
				    "736d7070636c69656e743100 70617373776f726400 00 34 01 01 00",
				    &b, &pdu), SMPP_OK);
	assert_int_equal(pdu.hdr.command_id, SMPP_CMD_BIND_TRANSMITTER);
	assert_view(pdu.system_id, "smppclient1");
	assert_view(pdu.password, "password");
	assert_view(pdu.system_type, "");
	assert_int_equal(pdu.interface_version, 0x34);
	assert_int_equal(pdu.addr_ton, 1);
	assert_int_equal(pdu.addr_npi, 1);
	assert_view(pdu.address_range, "");
	assert_int_equal(pdu.n_tlvs, 0);
	free(b);
	/* bind_receiver and bind_transceiver share the layout */
	expect_decode("LLLLLLLL 00000001 00000000 00000001 4100 4200 4300 34 00 00 4400", SMPP_OK);
	expect_decode("LLLLLLLL 00000009 00000000 00000001 4100 4200 4300 50 00 00 4400", SMPP_OK);
	/* bind_transceiver_resp "SMSC" with sc_interface_version 0x34 */
	assert_int_equal(decode_hex("LLLLLLLL 80000009 00000000 00000001 534d534300 0210 0001 34",
				    &b, &pdu), SMPP_OK);
	{
		struct smpp_tlv t;

		assert_view(pdu.system_id, "SMSC");
		assert_true(smpp_tlv_find(&pdu, SMPP_TLV_SC_INTERFACE_VERSION, &t));
		assert_int_equal(t.len, 1);
		assert_int_equal(t.val[0], 0x34);
		assert_false(smpp_tlv_find(&pdu, SMPP_TLV_MESSAGE_PAYLOAD, &t));
	}
	free(b);
	/* outbind "smsc" / "pw" */
	assert_int_equal(decode_hex("LLLLLLLL 0000000b 00000000 00000001 736d736300 707700",
				    &b, &pdu), SMPP_OK);
	assert_view(pdu.system_id, "smsc");
	assert_view(pdu.password, "pw");
	free(b);
}

static void decode_submit_sm(void **state)
{
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	assert_int_equal(decode_hex(SUBMIT_HEAD SUBMIT_FIELDS HELLO, &b, &pdu), SMPP_OK);
	assert_int_equal(pdu.hdr.command_id, SMPP_CMD_SUBMIT_SM);
	assert_int_equal(pdu.hdr.sequence_number, 2);
	assert_view(pdu.service_type, "");
	assert_int_equal(pdu.source_addr_ton, 5);
	assert_int_equal(pdu.source_addr_npi, 0);
	assert_view(pdu.source_addr, "Bank");
	assert_int_equal(pdu.dest_addr_ton, 1);
	assert_int_equal(pdu.dest_addr_npi, 1);
	assert_view(pdu.destination_addr, "447700900123");
	assert_int_equal(pdu.registered_delivery, 1);
	assert_int_equal(pdu.data_coding, 0);
	assert_int_equal(pdu.sm_length, 5);
	assert_view(pdu.short_message, "Hello");
	assert_false(pdu.has_message_payload);
	/* views point into the caller's buffer */
	assert_true(pdu.short_message.p > b && pdu.short_message.p < b + pdu.hdr.command_length);
	free(b);
}

static void decode_submit_sm_tlvs(void **state)
{
	struct smpp_tlv_iter it;
	struct smpp_tlv t;
	struct smpp_pdu pdu;
	uint8_t *b;
	int n = 0;

	(void)state;
	/* submit_sm, sm_length 0, message_payload "Hi there", SAR ref 0x1234
	 * part 2 of 3, and a vendor TLV 0x1400 kept raw */
	assert_int_equal(decode_hex(SUBMIT_HEAD SUBMIT_FIELDS "00 "
				    "0424 0008 4869207468657265 "
				    "020c 0002 1234 020e 0001 03 020f 0001 02 "
				    "1400 0003 abcdef", &b, &pdu), SMPP_OK);
	assert_true(pdu.has_message_payload);
	assert_view(pdu.message_payload, "Hi there");
	assert_view(smpp_pdu_user_data(&pdu), "Hi there");
	assert_true(pdu.sar.present);
	assert_int_equal(pdu.sar.ref, 0x1234);
	assert_int_equal(pdu.sar.total, 3);
	assert_int_equal(pdu.sar.seq, 2);
	assert_int_equal(pdu.n_tlvs, 5);
	smpp_tlv_iter_init(&it, &pdu);
	while (smpp_tlv_next(&it, &t)) {
		if (n == 4) {
			assert_int_equal(t.tag, 0x1400);
			assert_int_equal(t.len, 3);
			assert_memory_equal(t.val, "\xab\xcd\xef", 3);
			assert_null(smpp_tlv_name(t.tag));
		}
		n++;
	}
	assert_int_equal(n, 5);
	free(b);
	/* SAR with only two of three TLVs is not concatenation info */
	assert_int_equal(decode_hex(SUBMIT_HEAD SUBMIT_FIELDS HELLO "020c 0002 1234 020e 0001 03",
				    &b, &pdu), SMPP_OK);
	assert_false(pdu.sar.present);
	free(b);
}

static void decode_submit_multi(void **state)
{
	struct smpp_list_iter it;
	struct smpp_dest d;
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* submit_multi seq 3: source 1/1 "12345", dests: SME 1/1
	 * "447700900001" and DL "friends"; dc 8, sm "Hi" in UCS-2 */
	assert_int_equal(decode_hex("LLLLLLLL 00000021 00000000 00000003 00 0101 313233343500 02 "
				    "01 0101 34343737303039303030303100 "
				    "02 667269656e647300 "
				    "000000 00 00 00 00 08 00 04 00480069", &b, &pdu), SMPP_OK);
	assert_view(pdu.source_addr, "12345");
	assert_int_equal(pdu.number_of_dests, 2);
	assert_int_equal(pdu.data_coding, 8);
	assert_int_equal(pdu.sm_length, 4);
	smpp_dest_iter_init(&it, &pdu);
	assert_true(smpp_dest_next(&it, &d));
	assert_int_equal(d.dest_flag, SMPP_DEST_SME);
	assert_int_equal(d.dest_addr_ton, 1);
	assert_view(d.destination_addr, "447700900001");
	assert_true(smpp_dest_next(&it, &d));
	assert_int_equal(d.dest_flag, SMPP_DEST_DL);
	assert_view(d.dl_name, "friends");
	assert_false(smpp_dest_next(&it, &d));
	free(b);
}

static void decode_submit_multi_resp(void **state)
{
	struct smpp_list_iter it;
	struct smpp_unsuccess u;
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* submit_multi_resp "m1", two unsuccess_sme: 1/1 "447700900001"
	 * ESME_RSUBMITFAIL and 0/0 "999" ESME_RINVDSTADR */
	assert_int_equal(decode_hex("LLLLLLLL 80000021 00000000 00000003 6d3100 02 "
				    "0101 34343737303039303030303100 00000045 "
				    "0000 39393900 0000000b", &b, &pdu), SMPP_OK);
	assert_view(pdu.message_id, "m1");
	assert_int_equal(pdu.no_unsuccess, 2);
	smpp_unsuccess_iter_init(&it, &pdu);
	assert_true(smpp_unsuccess_next(&it, &u));
	assert_view(u.destination_addr, "447700900001");
	assert_int_equal(u.error_status_code, SMPP_ESME_RSUBMITFAIL);
	assert_true(smpp_unsuccess_next(&it, &u));
	assert_view(u.destination_addr, "999");
	assert_int_equal(u.error_status_code, SMPP_ESME_RINVDSTADR);
	assert_false(smpp_unsuccess_next(&it, &u));
	free(b);
}

static void decode_deliver_receipt(void **state)
{
	struct smpp_tlv t;
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* deliver_sm seq 5, esm_class 0x04 (delivery receipt), text
	 * "id:abc stat:DELIVRD", receipted_message_id "abc", message_state 2 */
	assert_int_equal(decode_hex("LLLLLLLL 00000005 00000000 00000005 00 0101 34343700 0000 31323300 "
				    "04 00 00 00 00 00 00 00 00 13 69643a6162632073746174"
				    "3a44454c49565244 001e 0004 61626300 0427 0001 02",
				    &b, &pdu), SMPP_OK);
	assert_int_equal(pdu.esm_class, 0x04);
	assert_view(pdu.short_message, "id:abc stat:DELIVRD");
	assert_true(smpp_tlv_find(&pdu, SMPP_TLV_RECEIPTED_MESSAGE_ID, &t));
	assert_int_equal(t.len, 4);
	assert_true(smpp_tlv_find(&pdu, SMPP_TLV_MESSAGE_STATE, &t));
	assert_int_equal(t.val[0], 2);
	free(b);
	/* deliver_sm_resp with an empty message_id */
	expect_decode("LLLLLLLL 80000005 00000000 00000005 00", SMPP_OK);
}

static void decode_data_sm(void **state)
{
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* data_sm: service "", 1/1 "123" -> 1/1 "456", esm 0, regdel 0, dc 0,
	 * message_payload "Hi there" */
	assert_int_equal(decode_hex("LLLLLLLL 00000103 00000000 00000007 00 0101 31323300 0101 34353600 "
				    "00 00 00 0424 0008 4869207468657265", &b, &pdu), SMPP_OK);
	assert_view(pdu.source_addr, "123");
	assert_view(pdu.destination_addr, "456");
	assert_view(pdu.message_payload, "Hi there");
	free(b);
	/* data_sm addresses may be 64 characters (65 with NUL) */
	expect_decode("LLLLLLLL 00000103 00000000 00000007 00 0101 "
		      "31313131313131313131313131313131313131313131313131313131313131313131"
		      "313131313131313131313131313131313131313131313131313131313131 00 "
		      "0101 34353600 00 00 00", SMPP_OK);
	/* data_sm_resp "id7" with additional_status_info_text "ok" */
	expect_decode("LLLLLLLL 80000103 00000000 00000007 69643700 001d 0003 6f6b00", SMPP_OK);
}

static void decode_query_cancel_replace(void **state)
{
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* query_sm "abc" from 1/1 "123" */
	assert_int_equal(decode_hex("LLLLLLLL 00000003 00000000 00000008 61626300 0101 31323300",
				    &b, &pdu), SMPP_OK);
	assert_view(pdu.message_id, "abc");
	assert_view(pdu.source_addr, "123");
	free(b);
	/* query_sm_resp "abc", final_date "", state 2 (DELIVERED), error 0 */
	assert_int_equal(decode_hex("LLLLLLLL 80000003 00000000 00000008 61626300 00 02 00",
				    &b, &pdu), SMPP_OK);
	assert_int_equal(pdu.message_state, 2);
	free(b);
	/* cancel_sm service "", "abc", 1/1 "123" -> 1/1 "456" */
	assert_int_equal(decode_hex("LLLLLLLL 00000008 00000000 00000009 00 61626300 0101 31323300 "
				    "0101 34353600", &b, &pdu), SMPP_OK);
	assert_view(pdu.destination_addr, "456");
	free(b);
	expect_decode("LLLLLLLL 80000008 00000000 00000009", SMPP_OK);
	/* replace_sm "abc" 1/1 "123", no times, regdel 0, default 0, "New" */
	assert_int_equal(decode_hex("LLLLLLLL 00000007 00000000 0000000a 61626300 0101 31323300 00 00 "
				    "00 00 03 4e6577", &b, &pdu), SMPP_OK);
	assert_view(pdu.short_message, "New");
	free(b);
	expect_decode("LLLLLLLL 80000007 00000000 0000000a", SMPP_OK);
}

static void decode_session_pdus(void **state)
{
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* generic_nack seq 4, ESME_RINVCMDID */
	assert_int_equal(decode_hex("LLLLLLLL 80000000 00000003 00000004", &b, &pdu), SMPP_OK);
	assert_int_equal(pdu.hdr.command_status, SMPP_ESME_RINVCMDID);
	free(b);
	expect_decode("LLLLLLLL 00000006 00000000 00000005", SMPP_OK); /* unbind */
	expect_decode("LLLLLLLL 80000006 00000000 00000005", SMPP_OK); /* unbind_resp */
	expect_decode("LLLLLLLL 00000015 00000000 00000006", SMPP_OK); /* enquire_link */
	expect_decode("LLLLLLLL 80000015 00000000 00000006", SMPP_OK); /* enquire_link_resp */
	/* alert_notification 1/1 "123" esme 1/1 "456", ms_availability_status 0 */
	assert_int_equal(decode_hex("LLLLLLLL 00000102 00000000 00000007 0101 31323300 0101 34353600 "
				    "0422 0001 00", &b, &pdu), SMPP_OK);
	assert_view(pdu.esme_addr, "456");
	assert_int_equal(pdu.esme_addr_ton, 1);
	free(b);
}

static void decode_smpp50(void **state)
{
	struct smpp_tlv t;
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* broadcast_sm: service "", 1/1 "123", message_id "", priority 0, no
	 * times, replace 0, dc 0, default 0, broadcast_area_identifier 00 01 */
	assert_int_equal(decode_hex("LLLLLLLL 00000111 00000000 0000000b 00 0101 31323300 00 00 00 00 "
				    "00 00 00 0606 0002 0001", &b, &pdu), SMPP_OK);
	assert_true(smpp_tlv_find(&pdu, SMPP_TLV_BROADCAST_AREA_IDENTIFIER, &t));
	assert_string_equal(smpp_tlv_name(t.tag), "broadcast_area_identifier");
	free(b);
	expect_decode("LLLLLLLL 80000111 00000000 0000000b 6200", SMPP_OK);
	expect_decode("LLLLLLLL 00000112 00000000 0000000b 6200 0101 31323300", SMPP_OK);
	expect_decode("LLLLLLLL 80000112 00000000 0000000b 6200 0427 0001 01", SMPP_OK);
	expect_decode("LLLLLLLL 00000113 00000000 0000000b 00 6200 0101 31323300", SMPP_OK);
	expect_decode("LLLLLLLL 80000113 00000000 0000000b", SMPP_OK);
}

/* ---- visitor ---- */

struct visit_log {
	char names[32][32];
	int n;
};

static void visit_cb(void *ctx, const struct smpp_field *f)
{
	struct visit_log *l = ctx;

	snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", f->name);
}

static void visit_order(void **state)
{
	struct visit_log log = { .n = 0 };
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	assert_int_equal(decode_hex(SUBMIT_HEAD SUBMIT_FIELDS HELLO, &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_visit(&pdu, visit_cb, &log), SMPP_OK);
	assert_int_equal(log.n, 17);
	assert_string_equal(log.names[0], "service_type");
	assert_string_equal(log.names[3], "source_addr");
	assert_string_equal(log.names[6], "destination_addr");
	assert_string_equal(log.names[16], "short_message");
	free(b);
}

/* ---- encoders ---- */

static void encode_errors(void **state)
{
	struct smpp_pdu pdu;
	uint8_t out[64];
	size_t n;

	(void)state;
	/* only header-only commands are "empty" */
	assert_int_equal(smpp_encode_empty(SMPP_CMD_SUBMIT_SM, 1, 0, out, sizeof(out), &n),
			 SMPP_EINVAL);
	assert_int_equal(smpp_encode_empty(SMPP_CMD_GENERIC_NACK, 1, 0, out, 15, &n), SMPP_ENOSPACE);
	/* message_id responses exist only for message requests */
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_BIND_TRANSMITTER, 1, 0, sv(""), sv(""),
						out, sizeof(out), &n), SMPP_EINVAL);
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_SUBMIT_SM, 1, 0, sv("abcdef"), sv(""),
						out, 20, &n), SMPP_ENOSPACE);
	assert_int_equal(smpp_encode_bind_resp(SMPP_CMD_SUBMIT_SM, 1, 0, sv("x"), NULL,
					       out, sizeof(out), &n), SMPP_EINVAL);
	/* a 21-character source_addr does not fit the 21-octet field */
	memset(&pdu, 0, sizeof(pdu));
	pdu.hdr.command_id = SMPP_CMD_SUBMIT_SM;
	pdu.source_addr = sv("123456789012345678901");
	assert_int_equal(smpp_pdu_encode(&pdu, out, sizeof(out), &n), SMPP_EINVAL);
	/* an embedded NUL would end the C-Octet string early */
	pdu.source_addr.len = 3;
	pdu.source_addr.p = (const uint8_t *)"a\0b";
	assert_int_equal(smpp_pdu_encode(&pdu, out, sizeof(out), &n), SMPP_EINVAL);
	pdu.hdr.command_id = 0x0000000a;
	assert_int_equal(smpp_pdu_encode(&pdu, out, sizeof(out), &n), SMPP_ECMDID);
}

static void encode_firewall_responses(void **state)
{
	struct smpp_pdu pdu;
	struct smpp_tlv t;
	uint8_t out[SMPP_RESP_MAX + 300];
	size_t n;

	(void)state;
	/* submit_sm_resp seq 7, ESME_RSUBMITFAIL, message_id "" */
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_SUBMIT_SM, 7, SMPP_ESME_RSUBMITFAIL, sv(""),
						sv(""), out, sizeof(out), &n), SMPP_OK);
	assert_int_equal(n, 16);   /* no body with an error status */
	assert_memory_equal(out, "\x00\x00\x00\x10\x80\x00\x00\x04\x00\x00\x00\x45"
				 "\x00\x00\x00\x07", 16);
	/* submit_sm_resp seq 7, ESME_ROK, message_id "m7" */
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_SUBMIT_SM, 7, SMPP_ESME_ROK, sv("m7"),
						sv(""), out, sizeof(out), &n), SMPP_OK);
	assert_int_equal(n, 19);
	assert_memory_equal(out, "\x00\x00\x00\x13\x80\x00\x00\x04\x00\x00\x00\x00"
				 "\x00\x00\x00\x07m7\x00", 19);
	/* data_sm_resp and deliver_sm_resp */
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_DATA_SM, 8, SMPP_ESME_RTHROTTLED, sv("x"),
						sv(""), out, sizeof(out), &n), SMPP_OK);
	assert_int_equal(smpp_pdu_decode(out, n, NULL, &pdu), SMPP_OK);
	assert_int_equal(pdu.hdr.command_id, SMPP_CMD_DATA_SM_RESP);
	assert_int_equal(pdu.hdr.command_status, SMPP_ESME_RTHROTTLED);
	assert_true(pdu.body_absent);
	assert_int_equal(smpp_encode_msgid_resp(SMPP_CMD_DELIVER_SM, 9, SMPP_ESME_RX_R_APPN, sv(""),
						sv(""), out, sizeof(out), &n), SMPP_OK);
	assert_int_equal(smpp_pdu_decode(out, n, NULL, &pdu), SMPP_OK);
	assert_int_equal(pdu.hdr.command_id, SMPP_CMD_DELIVER_SM_RESP);
	assert_int_equal(pdu.hdr.command_status, 0x66);
	/* bind_transceiver_resp ESME_RBINDFAIL, "smsfw", 5.0 TLVs */
	{
		struct smpp_bind_resp_opts o = { .sc_interface_version = SMPP_VERSION_50,
						 .additional_status_info_text = sv("suspended") };

		assert_int_equal(smpp_encode_bind_resp(SMPP_CMD_BIND_TRANSCEIVER, 1,
						       SMPP_ESME_RBINDFAIL, sv("smsfw"), &o, out,
						       sizeof(out), &n), SMPP_OK);
		assert_int_equal(smpp_pdu_decode(out, n, NULL, &pdu), SMPP_OK);
		assert_int_equal(pdu.hdr.command_id, SMPP_CMD_BIND_TRANSCEIVER_RESP);
		assert_int_equal(pdu.hdr.command_status, SMPP_ESME_RBINDFAIL);
		assert_true(pdu.body_absent);   /* error: TLVs only */
		assert_int_equal(pdu.n_tlvs, 2);
		assert_true(smpp_tlv_find(&pdu, SMPP_TLV_SC_INTERFACE_VERSION, &t));
		assert_int_equal(t.val[0], 0x50);
		assert_true(smpp_tlv_find(&pdu, SMPP_TLV_ADDITIONAL_STATUS_INFO_TEXT, &t));
		assert_int_equal(t.len, 10);
		assert_memory_equal(t.val, "suspended\0", 10);
		/* with ESME_ROK the system_id is sent */
		assert_int_equal(smpp_encode_bind_resp(SMPP_CMD_BIND_RECEIVER, 2, 0, sv("smsfw"), &o,
						       out, sizeof(out), &n), SMPP_OK);
		assert_int_equal(smpp_pdu_decode(out, n, NULL, &pdu), SMPP_OK);
		assert_false(pdu.body_absent);
		assert_view(pdu.system_id, "smsfw");
		assert_true(smpp_tlv_find(&pdu, SMPP_TLV_SC_INTERFACE_VERSION, &t));
	}
	/* header-only PDUs */
	{
		static const uint32_t ids[] = { SMPP_CMD_GENERIC_NACK, SMPP_CMD_UNBIND,
						SMPP_CMD_UNBIND_RESP, SMPP_CMD_ENQUIRE_LINK,
						SMPP_CMD_ENQUIRE_LINK_RESP };

		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			assert_int_equal(smpp_encode_empty(ids[i], 42, 3, out, sizeof(out), &n),
					 SMPP_OK);
			assert_int_equal(n, 16);
			assert_int_equal(smpp_pdu_decode(out, n, NULL, &pdu), SMPP_OK);
			assert_int_equal(pdu.hdr.command_id, ids[i]);
			assert_int_equal(pdu.hdr.sequence_number, 42);
		}
	}
	/* submit_multi_resp with one unsuccess_sme */
	{
		struct smpp_unsuccess u = { .dest_addr_ton = 1, .dest_addr_npi = 1,
					    .destination_addr = sv("447700900001"),
					    .error_status_code = SMPP_ESME_RSUBMITFAIL };
		struct smpp_list_iter it;
		struct smpp_unsuccess got;

		assert_int_equal(smpp_encode_submit_multi_resp(3, 0, sv("m9"), &u, 1, out,
							       sizeof(out), &n), SMPP_OK);
		assert_int_equal(smpp_pdu_decode(out, n, NULL, &pdu), SMPP_OK);
		assert_view(pdu.message_id, "m9");
		assert_int_equal(pdu.no_unsuccess, 1);
		smpp_unsuccess_iter_init(&it, &pdu);
		assert_true(smpp_unsuccess_next(&it, &got));
		assert_view(got.destination_addr, "447700900001");
		assert_int_equal(got.error_status_code, 0x45);
		assert_false(smpp_unsuccess_next(&it, &got));
	}
}

/* ---- names ---- */

static void names(void **state)
{
	(void)state;
	assert_string_equal(smpp_cmd_name(SMPP_CMD_SUBMIT_MULTI_RESP), "submit_multi_resp");
	assert_string_equal(smpp_cmd_name(SMPP_CMD_GENERIC_NACK), "generic_nack");
	assert_string_equal(smpp_cmd_name(0x00000113), "cancel_broadcast_sm");
	assert_null(smpp_cmd_name(0x0000000a));
	assert_string_equal(smpp_tlv_name(0x0424), "message_payload");
	assert_string_equal(smpp_tlv_name(0x0613), "dest_addr_np_country");
	assert_null(smpp_tlv_name(0x1400));
	assert_string_equal(smpp_esme_name(0x58), "ESME_RTHROTTLED");
	assert_string_equal(smpp_esme_name(0x0d), "ESME_RBINDFAIL");
	assert_null(smpp_esme_name(0x09));
	/* every library status has its own text */
	for (int a = SMPP_EUTF8; a <= SMPP_OK; a++) {
		assert_string_not_equal(smpp_strerror(a), "unknown smpp status");
		for (int b2 = a + 1; b2 <= SMPP_OK; b2++)
			assert_string_not_equal(smpp_strerror(a), smpp_strerror(b2));
	}
	assert_string_equal(smpp_strerror(-999), "unknown smpp status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hdr_peek_bounds),
		cmocka_unit_test(decode_truncated),
		cmocka_unit_test(decode_need_more),
		cmocka_unit_test(decode_max_pdu),
		cmocka_unit_test(decode_cstr_bounds),
		cmocka_unit_test(decode_sm_length),
		cmocka_unit_test(decode_sm_255),
		cmocka_unit_test(decode_tlv_bounds),
		cmocka_unit_test(decode_submit_multi_bounds),
		cmocka_unit_test(decode_resp_body_absent),
		cmocka_unit_test(decode_bind),
		cmocka_unit_test(decode_submit_sm),
		cmocka_unit_test(decode_submit_sm_tlvs),
		cmocka_unit_test(decode_submit_multi),
		cmocka_unit_test(decode_submit_multi_resp),
		cmocka_unit_test(decode_deliver_receipt),
		cmocka_unit_test(decode_data_sm),
		cmocka_unit_test(decode_query_cancel_replace),
		cmocka_unit_test(decode_session_pdus),
		cmocka_unit_test(decode_smpp50),
		cmocka_unit_test(visit_order),
		cmocka_unit_test(encode_errors),
		cmocka_unit_test(encode_firewall_responses),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests_name("smpp_pdu", tests, NULL, NULL);
}
