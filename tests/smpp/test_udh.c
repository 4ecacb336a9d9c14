/*
 * test_udh.c — smpp_udh_parse / iterate and smpp_pdu_concat (UDH IEI
 * 0x00 / 0x08, SAR TLVs). Malformed headers first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "smpp_test_util.h"

static int parse(const char *hex, struct smpp_udh *u)
{
	size_t len;
	uint8_t *b = hex_pdu(hex, &len);
	int rc = smpp_udh_parse(b, len, u);

	free(b);
	return rc;
}

static void malformed(void **state)
{
	struct smpp_udh u;
	uint8_t none = 0;

	(void)state;
	assert_int_equal(smpp_udh_parse(&none, 0, &u), SMPP_EUDH);   /* no UDHL */
	assert_int_equal(parse("05 000300", &u), SMPP_EUDH);         /* UDHL 5, 3 present */
	assert_int_equal(parse("03 00 05 01 41 42", &u), SMPP_EUDH);  /* IE length 5 past UDHL 3 */
	assert_int_equal(parse("01 00", &u), SMPP_EUDH);              /* IE header cut */
}

static void concat_and_ports(void **state)
{
	struct smpp_udh u;

	(void)state;
	/* 8-bit reference 0x2a, part 2 of 3, then text */
	assert_int_equal(parse("05 00 03 2a 03 02 4869", &u), SMPP_OK);
	assert_int_equal(u.len, 6);
	assert_true(u.concat.present);
	assert_false(u.concat.ref16);
	assert_int_equal(u.concat.ref, 0x2a);
	assert_int_equal(u.concat.total, 3);
	assert_int_equal(u.concat.seq, 2);
	/* 16-bit reference 0x1234, part 1 of 2 */
	assert_int_equal(parse("06 08 04 1234 02 01", &u), SMPP_OK);
	assert_true(u.concat.ref16);
	assert_int_equal(u.concat.ref, 0x1234);
	/* 16-bit ports 2948 -> 9200 (WAP push) plus an unknown IE 0x24 kept raw */
	assert_int_equal(parse("0b 05 04 0b84 23f0 24 03 010203", &u), SMPP_OK);
	assert_true(u.has_ports);
	assert_true(u.ports16);
	assert_int_equal(u.dst_port, 0x0b84);
	assert_int_equal(u.src_port, 0x23f0);
	assert_false(u.concat.present);
	assert_int_equal(u.n_ie, 2);
	/* IEI 0x00 with a wrong length is kept raw, not concatenation */
	assert_int_equal(parse("04 00 02 2a 03", &u), SMPP_OK);
	assert_false(u.concat.present);
	/* 8-bit ports */
	assert_int_equal(parse("04 04 02 10 20", &u), SMPP_OK);
	assert_false(u.ports16);
	assert_int_equal(u.dst_port, 0x10);
}

/*
 * 23.040 §9.2.3.24.1/.8: a concatenation IE whose total is 0, or whose
 * sequence number is 0 or above the total, is ignored by the receiving
 * entity; the handset shows that part as a message on its own. Taking it
 * as concatenation would scan its text inside another message's stream.
 */
static void concat_invalid_ignored(void **state)
{
	struct smpp_udh u;

	(void)state;
	assert_int_equal(parse("05 00 03 2a 00 01", &u), SMPP_OK);   /* total 0 */
	assert_false(u.concat.present);
	assert_int_equal(parse("05 00 03 2a 03 00", &u), SMPP_OK);   /* seq 0 */
	assert_false(u.concat.present);
	assert_int_equal(parse("05 00 03 2a 02 03", &u), SMPP_OK);   /* seq 3 of 2 */
	assert_false(u.concat.present);
	assert_int_equal(parse("06 08 04 1234 02 05", &u), SMPP_OK); /* 16-bit, seq 5 of 2 */
	assert_false(u.concat.present);
	assert_int_equal(parse("06 08 04 1234 00 00", &u), SMPP_OK); /* 16-bit, total 0 */
	assert_false(u.concat.present);
	/* boundaries that are valid: seq = total, and 1 of 1 */
	assert_int_equal(parse("05 00 03 2a 02 02", &u), SMPP_OK);
	assert_true(u.concat.present);
	assert_int_equal(u.concat.seq, 2);
	assert_int_equal(parse("05 00 03 2a 01 01", &u), SMPP_OK);
	assert_true(u.concat.present);
	/* an ignored IE does not hide a valid one after it */
	assert_int_equal(parse("0a 00 03 2a 00 01 00 03 2b 02 01", &u), SMPP_OK);
	assert_true(u.concat.present);
	assert_int_equal(u.concat.ref, 0x2b);
	assert_int_equal(u.concat.total, 2);
	assert_int_equal(u.concat.seq, 1);
	assert_int_equal(u.n_ie, 2);
}

/*
 * 23.040 §9.2.3.24: a repeated IE that is not repeatable, or IEs with
 * mutually exclusive meanings (8- and 16-bit concatenation, 8- and 16-bit
 * ports), count by their LAST occurrence, and handsets join parts that way.
 * Taking the first would put the firewall's stream under another reference
 * than the handset's: the parts of one message scanned as separate ones.
 */
static void repeated_ie_last_wins(void **state)
{
	struct smpp_udh u;

	(void)state;
	/* two 8-bit concatenation IEs: ref 0x2a part 1/2, then ref 0x2b part 2/3 */
	assert_int_equal(parse("0a 00 03 2a 02 01 00 03 2b 03 02", &u), SMPP_OK);
	assert_true(u.concat.present);
	assert_false(u.concat.ref16);
	assert_int_equal(u.concat.ref, 0x2b);
	assert_int_equal(u.concat.total, 3);
	assert_int_equal(u.concat.seq, 2);
	/* 8-bit then 16-bit reference: the 16-bit one */
	assert_int_equal(parse("0b 00 03 2a 02 01 08 04 1234 04 03", &u), SMPP_OK);
	assert_true(u.concat.ref16);
	assert_int_equal(u.concat.ref, 0x1234);
	assert_int_equal(u.concat.total, 4);
	assert_int_equal(u.concat.seq, 3);
	/* 16-bit then 8-bit reference: the 8-bit one, ref16 cleared */
	assert_int_equal(parse("0b 08 04 1234 04 03 00 03 2a 02 01", &u), SMPP_OK);
	assert_false(u.concat.ref16);
	assert_int_equal(u.concat.ref, 0x2a);
	/* a valid IE, then an invalid one (ignored): the valid one stays */
	assert_int_equal(parse("0a 00 03 2a 02 01 00 03 2b 02 07", &u), SMPP_OK);
	assert_true(u.concat.present);
	assert_int_equal(u.concat.ref, 0x2a);
	/* 16-bit ports then 8-bit ports: the 8-bit ones */
	assert_int_equal(parse("0a 05 04 0b84 23f0 04 02 10 20", &u), SMPP_OK);
	assert_true(u.has_ports);
	assert_false(u.ports16);
	assert_int_equal(u.dst_port, 0x10);
	assert_int_equal(u.src_port, 0x20);
	/* 8-bit ports then 16-bit ports: the 16-bit ones */
	assert_int_equal(parse("0a 04 02 10 20 05 04 0b84 23f0", &u), SMPP_OK);
	assert_true(u.ports16);
	assert_int_equal(u.dst_port, 0x0b84);
}

static void iterate(void **state)
{
	struct smpp_udh_iter it;
	struct smpp_udh_ie ie;
	size_t len;
	uint8_t *b = hex_pdu("0a 00 03 2a 02 01 24 03 010203 4869", &len);
	int n = 0;

	(void)state;
	smpp_udh_iter_init(&it, b, len);
	while (smpp_udh_next(&it, &ie)) {
		if (n == 1) {
			assert_int_equal(ie.iei, 0x24);
			assert_int_equal(ie.len, 3);
			assert_memory_equal(ie.data, "\x01\x02\x03", 3);
		}
		n++;
	}
	assert_int_equal(n, 2);
	free(b);
}

static void pdu_concat(void **state)
{
	struct smpp_concat c;
	struct smpp_pdu pdu;
	uint8_t *b;

	(void)state;
	/* UDH concat wins over SAR when both exist (UDHI set) */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 08 050003 2a0201 4869 "
				    "020c 0002 0007 020e 0001 05 020f 0001 04", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_OK);
	assert_true(c.present);
	assert_false(c.from_sar);
	assert_int_equal(c.ref, 0x2a);
	free(b);
	/* SAR only */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "00 00 00 00 00 00 00 00 00 02 4869 "
				    "020c 0002 0007 020e 0001 05 020f 0001 04", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_OK);
	assert_true(c.present);
	assert_true(c.from_sar);
	assert_int_equal(c.ref, 7);
	assert_int_equal(c.total, 5);
	assert_int_equal(c.seq, 4);
	free(b);
	/* no UDHI: UDH-looking bytes are just text */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "00 00 00 00 00 00 00 00 00 06 050003 2a0201", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_OK);
	assert_false(c.present);
	free(b);
	/* UDHI with a broken UDH */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 02 0500", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_EUDH);
	free(b);
}

/*
 * SMPP 3.4 §5.3.2.23-24: sar_total_segments and sar_segment_seqnum run
 * 1-255. The MC turns the SAR TLVs into the concatenation IE, so a segment
 * numbered 0 or past the total is a part the handset shows on its own (as
 * for the UDH): it must not join another message's stream.
 */
static void sar_invalid_ignored(void **state)
{
	static const char *const cases[] = {
		"020c 0002 0007 020e 0001 00 020f 0001 01",   /* total 0 */
		"020c 0002 0007 020e 0001 03 020f 0001 00",   /* seq 0 */
		"020c 0002 0007 020e 0001 02 020f 0001 03",   /* seq 3 of 2 */
	};
	struct smpp_concat c;
	struct smpp_pdu pdu;
	char hex[256];
	uint8_t *b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(hex, sizeof(hex), "LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 "
			 "3200 00 00 00 00 00 00 00 00 00 02 4869 %s", cases[i]);
		assert_int_equal(decode_hex(hex, &b, &pdu), SMPP_OK);
		assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_OK);
		if (c.present)
			fail_msg("case %zu: invalid SAR taken as concatenation", i);
		free(b);
	}
	/* seq = total is valid */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "00 00 00 00 00 00 00 00 00 02 4869 "
				    "020c 0002 0007 020e 0001 03 020f 0001 03", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_OK);
	assert_true(c.present);
	assert_int_equal(c.seq, 3);
	free(b);
}

/*
 * A handset reads the IEs of a header in order and keeps those before one
 * that runs past the header: a valid concatenation IE followed by a broken
 * IE still joins the part to its message. The firewall must join it too,
 * or a text split across such parts is scanned as separate messages.
 */
static void malformed_after_concat(void **state)
{
	struct smpp_concat c;
	struct smpp_pdu pdu;
	struct smpp_udh u;
	uint8_t *b;

	(void)state;
	/* UDHL 8: concat ref 0x2a part 1/2, then IE 0x70 claiming 5 octets (1 left) */
	assert_int_equal(parse("08 00 03 2a 02 01 70 05 41 4869", &u), SMPP_EUDH);
	assert_int_equal(u.len, 9);
	assert_true(u.concat.present);
	assert_int_equal(u.concat.ref, 0x2a);
	assert_int_equal(u.n_ie, 1);
	/* one stray octet after the concatenation IE */
	assert_int_equal(parse("06 00 03 2b 03 02 24 4869", &u), SMPP_EUDH);
	assert_true(u.concat.present);
	assert_int_equal(u.concat.ref, 0x2b);
	/* the same headers in submit_sm: concatenation found */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 0b 08 0003 2a0201 7005 41 4869",
				    &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_OK);
	assert_true(c.present);
	assert_false(c.from_sar);
	assert_int_equal(c.ref, 0x2a);
	assert_int_equal(c.total, 2);
	assert_int_equal(c.seq, 1);
	free(b);
	/* broken IE first: nothing before it, so no concatenation (SAR is used) */
	assert_int_equal(decode_hex("LLLLLLLL 00000004 00000000 00000001 00 0000 3100 0000 3200 "
				    "40 00 00 00 00 00 00 00 00 06 03 0005 41 4869 "
				    "020c 0002 0007 020e 0001 02 020f 0001 01", &b, &pdu), SMPP_OK);
	assert_int_equal(smpp_pdu_concat(&pdu, &c), SMPP_OK);
	assert_true(c.present);
	assert_true(c.from_sar);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(malformed),
		cmocka_unit_test(concat_and_ports),
		cmocka_unit_test(concat_invalid_ignored),
		cmocka_unit_test(repeated_ie_last_wins),
		cmocka_unit_test(iterate),
		cmocka_unit_test(pdu_concat),
		cmocka_unit_test(sar_invalid_ignored),
		cmocka_unit_test(malformed_after_concat),
	};

	return cmocka_run_group_tests_name("smpp_udh", tests, NULL, NULL);
}
