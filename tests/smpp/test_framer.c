/*
 * test_framer.c — smpp_framer_*: bounds and errors first, then any
 * segmentation (one octet at a time included) of a stream of PDUs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "smpp_test_util.h"

/* enquire_link seq 1, submit_sm seq 2 ("Hi"), unbind seq 3 */
#define STREAM "00000010 00000015 00000000 00000001 " \
	"00000025 00000004 00000000 00000002 00 0000 3100 0000 3200 00 00 00 00 00 00 00 00 00 " \
	"02 4869 " \
	"00000010 00000006 00000000 00000003"

static void init_errors(void **state)
{
	struct smpp_framer f;
	uint8_t buf[16];

	(void)state;
	assert_int_equal(smpp_framer_init(&f, buf, 15, 0), SMPP_EINVAL);
	assert_int_equal(smpp_framer_init(&f, NULL, 64, 0), SMPP_EINVAL);
	assert_int_equal(smpp_framer_init(&f, buf, 16, 0), SMPP_OK);
	assert_int_equal(f.bound, 16);
}

static void too_big(void **state)
{
	struct smpp_framer f;
	struct smpp_view v;
	uint8_t buf[64];
	size_t len;
	/* submit_sm header announcing 65 octets into a 64-octet framer */
	uint8_t *pdu = hex_pdu("00000041 00000004 00000000 00000001", &len);

	(void)state;
	assert_int_equal(smpp_framer_init(&f, buf, sizeof(buf), 0), SMPP_OK);
	assert_int_equal(smpp_framer_push(&f, pdu, len), len);
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_ETOOBIG);
	/* sticky until resync */
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_ETOOBIG);
	assert_int_equal(smpp_framer_push(&f, pdu, len), 0);
	free(pdu);
	/* max_pdu tighter than the buffer */
	pdu = hex_pdu("00000021 00000004 00000000 00000001", &len);
	assert_int_equal(smpp_framer_init(&f, buf, sizeof(buf), 32), SMPP_OK);
	smpp_framer_push(&f, pdu, len);
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_ETOOBIG);
	free(pdu);
}

static void bad_header_resync(void **state)
{
	struct smpp_framer f;
	struct smpp_view v;
	uint8_t buf[256];
	size_t len, glen;
	/* 5 octets of garbage, then the three-PDU stream */
	uint8_t *junk = hex_pdu("0000000a00", &glen);
	uint8_t *s = hex_pdu(STREAM, &len);

	(void)state;
	assert_int_equal(smpp_framer_init(&f, buf, sizeof(buf), 0), SMPP_OK);
	smpp_framer_push(&f, junk, glen);
	smpp_framer_push(&f, s, len);
	/* the garbage makes command_length 0x0000000a: below 16 */
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_ECMDLEN_SHORT);
	assert_int_equal(smpp_framer_resync(&f), 5);
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_OK);
	assert_int_equal(v.len, 16);
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_OK);
	assert_int_equal(v.len, 37);
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_OK);
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_AGAIN);
	free(junk);
	free(s);
	/* unknown command_id 0x0000000c */
	s = hex_pdu("00000010 0000000c 00000000 00000001", &len);
	smpp_framer_init(&f, buf, sizeof(buf), 0);
	smpp_framer_push(&f, s, len);
	assert_int_equal(smpp_framer_pop(&f, &v), SMPP_ECMDID);
	free(s);
}

/* Push the stream in chunks of every size from 1 to its length. */
static void any_segmentation(void **state)
{
	size_t len;
	uint8_t *s = hex_pdu(STREAM, &len);

	(void)state;
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct smpp_framer f;
		struct smpp_view v;
		uint8_t buf[64];
		uint32_t seqs[3];
		int got = 0;

		assert_int_equal(smpp_framer_init(&f, buf, sizeof(buf), 0), SMPP_OK);
		for (size_t off = 0; off < len;) {
			size_t n = len - off < chunk ? len - off : chunk;
			size_t k = smpp_framer_push(&f, s + off, n);
			int rc;

			off += k;
			while ((rc = smpp_framer_pop(&f, &v)) == SMPP_OK) {
				struct smpp_pdu pdu;

				assert_int_equal(smpp_pdu_decode(v.p, v.len, NULL, &pdu), SMPP_OK);
				assert_true(got < 3);
				seqs[got++] = pdu.hdr.sequence_number;
			}
			assert_int_equal(rc, SMPP_AGAIN);
		}
		assert_int_equal(got, 3);
		assert_int_equal(seqs[0], 1);
		assert_int_equal(seqs[1], 2);
		assert_int_equal(seqs[2], 3);
		assert_int_equal(smpp_framer_pending(&f), 0);
	}
	free(s);
}

/* A buffer exactly one PDU large takes pushes larger than itself in parts. */
static void full_buffer(void **state)
{
	struct smpp_framer f;
	struct smpp_view v;
	uint8_t buf[37];
	size_t len, off = 0;
	int got = 0;
	uint8_t *s = hex_pdu(STREAM, &len);

	(void)state;
	assert_int_equal(smpp_framer_init(&f, buf, sizeof(buf), 0), SMPP_OK);
	while (off < len) {
		off += smpp_framer_push(&f, s + off, len - off);
		while (smpp_framer_pop(&f, &v) == SMPP_OK)
			got++;
	}
	assert_int_equal(got, 3);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_errors),
		cmocka_unit_test(too_big),
		cmocka_unit_test(bad_header_resync),
		cmocka_unit_test(any_segmentation),
		cmocka_unit_test(full_buffer),
	};

	return cmocka_run_group_tests_name("smpp_framer", tests, NULL, NULL);
}
