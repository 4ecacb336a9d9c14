/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for dataplane/edit: random segmentations, losses,
 * reorderings (before and after the dataplane) and retransmissions of an
 * ESME stream with passed and blocked PDUs, plus stale and fresh SMSC ACKs,
 * checked against the reference model in tests/dataplane/edit/edit_model.h:
 * the SMSC receives exactly the passed PDUs in order and never a blocked or
 * undecided byte, and the ESME never sees an ACK for a passed byte the SMSC
 * lacks; after recovery everything is delivered and acknowledged.
 *
 * Input: 4 bytes base sequence number, 1 byte PDU count, 2 bytes per PDU
 * (length, verdict), then 3-byte operations.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dataplane/edit/edit_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct em M;
static uint8_t sent[EM_MAX_BYTES];

static void check(int rc, const char *where)
{
	if (rc != 0) {
		fprintf(stderr, "fuzz_dp_seqadj: %s: %s\n", where, M.err);
		abort();
	}
}

static void send_seg(uint32_t off, uint32_t len, uint64_t now, enum em_mode mode)
{
	if (off >= M.total)
		return;
	if (len > M.total - off)
		len = M.total - off;
	if (len == 0)
		return;
	for (uint32_t i = off; i < off + len; i++)
		sent[i] = 1;
	check(em_segment_x(&M, off, len, now, mode), "segment");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy so an over-read faults under ASan. */
	uint8_t *in = malloc(size ? size : 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	if (size < 5) {
		free(in);
		return 0;
	}
	uint32_t base = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	/* At most 2 * DP_EDIT_MAX_EDITS - 1 PDUs: without any SMSC ACK the
	 * removals still fit the edit table (fail-closed is tested elsewhere). */
	uint32_t npdus = 1 + in[4] % (2 * DP_EDIT_MAX_EDITS - 1);
	size_t pos = 5;
	struct em_pdu pdus[2 * DP_EDIT_MAX_EDITS];
	uint32_t n = 0;
	for (; n < npdus && pos + 2 <= size; n++, pos += 2) {
		pdus[n].off = 0;
		pdus[n].len = 16 + in[pos] % 160;
		pdus[n].verdict = (in[pos + 1] & 1) ? DP_EDIT_PDU_BLOCK : DP_EDIT_PDU_PASS;
	}
	if (n == 0) {
		free(in);
		return 0;
	}
	em_init(&M, base, pdus, n, NULL);
	memset(sent, 0, sizeof(sent));
	uint64_t now = 1;
	uint32_t next = 0; /* lowest offset the ESME has not sent yet */

	for (; pos + 3 <= size; pos += 3) {
		uint8_t op = in[pos] % 8, a = in[pos + 1], b = in[pos + 2];
		enum em_mode mode = (b % 5) < 3 ? EM_DELIVER : (b % 5 == 3 ? EM_LOSE : EM_DELAY);
		now += 1000;
		while (next < M.total && sent[next])
			next++;
		switch (op) {
		case 0:
		case 1:
		case 2: /* next new segment */
			send_seg(next, 1 + a % 120u, now, mode);
			break;
		case 3: /* retransmission from the ESME's unacknowledged point */
			send_seg(M.esme_acked, 1 + (uint32_t)a * 2u, now, mode);
			break;
		case 4: /* any earlier range again (overlaps, partial edits) */
			if (next > 0)
				send_seg(((uint32_t)a * 257u + b) % next, 1 + b % 100u, now, mode);
			break;
		case 5: /* the SMSC acknowledges what it has */
			check(em_smsc_ack(&M, now), "ack");
			break;
		case 6: /* a stale ACK arrives late */
			check(em_smsc_ack_at(&M, M.rcv_nxt ? (uint32_t)a % (M.rcv_nxt + 1) : 0,
					     now),
			      "stale ack");
			break;
		case 7: /* a later segment overtakes an earlier one; delayed
			 * ranges reach the SMSC */
			if (a & 1)
				em_flush(&M);
			send_seg(next + 1 + a % 60u, 1 + b % 100u, now, mode);
			break;
		}
	}

	/* Recovery: delayed bytes arrive, then the ESME retransmits from its
	 * unacknowledged point until everything is acknowledged. */
	em_flush(&M);
	for (int round = 0; round < 64; round++) {
		check(em_smsc_ack(&M, now), "recovery ack");
		if (M.esme_acked == M.total)
			break;
		for (uint32_t off = M.esme_acked; off < M.total; off += 97)
			send_seg(off, 97, now, EM_DELIVER);
		now += 200000;
	}
	check(em_check_done(&M, now), "done");
	free(in);
	return 0;
}
