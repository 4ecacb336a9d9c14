/*
 * fuzz_cp_event — controld's event socket input: a byte stream of batches
 * (cp.h) checked and decoded exactly as controld does, plus a re-encode of
 * every decoded record that must decode to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(const struct cp_event *ev)
{
	static uint8_t buf[CP_EV_BATCH_MAX];
	struct cp_ev_batch b;
	struct cp_ev_iter it;
	struct cp_event back;
	uint32_t total;

	cp_ev_batch_init(&b, buf, sizeof(buf));
	if (cp_ev_batch_add(&b, ev) != CP_OK)
		return; /* unknown type: nothing to compare */
	uint32_t len = cp_ev_batch_finish(&b);
	if (cp_ev_batch_check(buf, len, &total) != CP_OK)
		abort();
	cp_ev_iter_init(&it, buf, total);
	if (cp_ev_iter_next(&it, &back) != CP_OK || back.type != ev->type || back.seq != ev->seq)
		abort();
	if (ev->type == CP_EV_OBSERVATION || ev->type == CP_EV_VIOLATION) {
		if (back.u.msg.text.len != ev->u.msg.text.len ||
		    memcmp(back.u.msg.text.p, ev->u.msg.text.p, ev->u.msg.text.len) ||
		    back.u.msg.customer.len != ev->u.msg.customer.len ||
		    back.u.msg.time_ms != ev->u.msg.time_ms)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy so any over-read faults under ASan */
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	while (off < size) {
		uint32_t total;
		int rc = cp_ev_batch_check(buf + off, size - off, &total);
		if (rc == CP_ERR_CHECKSUM) {
			/* Mutations almost never keep the CRC right; fix it up
			 * so the record decoder behind it gets fuzzed too. */
			uint32_t crc = cp_crc32c(buf + off + CP_EV_HDR_LEN, total - CP_EV_HDR_LEN);
			for (int i = 0; i < 4; i++)
				buf[off + 16 + i] = (uint8_t)(crc >> (8 * i));
			rc = cp_ev_batch_check(buf + off, size - off, &total);
		}
		if (rc != CP_OK)
			break;
		struct cp_ev_iter it;
		struct cp_event ev;
		cp_ev_iter_init(&it, buf + off, total);
		while ((rc = cp_ev_iter_next(&it, &ev)) == CP_OK)
			reencode(&ev);
		off += total;
	}
	free(buf);
	return 0;
}
