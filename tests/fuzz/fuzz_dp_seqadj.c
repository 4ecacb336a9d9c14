/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for dataplane/edit: random segmentations, losses,
 * reorderings (before and after the dataplane) and retransmissions of an
 * ESME stream with passed, blocked and replaced PDUs (dp_edit_replace(): a
 * replacement shorter or longer than the PDU), plus stale and fresh SMSC ACKs,
 * checked against the reference model in tests/dataplane/edit/edit_model.h:
 * the SMSC receives exactly the passed PDUs in order and never a blocked or
 * undecided byte, and the ESME never sees an ACK for a passed byte the SMSC
 * lacks; after recovery everything is delivered and acknowledged.
 *
 * With a non-zero SMSC PDU count the SMSC->ESME direction is modelled too:
 * the SMSC sends PDUs, every blocked ESME PDU gets an injected response, and
 * the injected segments are lost, delayed and resent (timer, dup ACKs).
 *
 * Input: 4 bytes base sequence number, 1 byte ESME PDU count, 2 bytes per
 * PDU (length, verdict: bit 0 block, else bits 1-2 both set replace with
 * 8 * (1 + verdict >> 3) bytes), 1 byte SMSC PDU count, 1 byte per SMSC PDU
 * (length; bit 7: the dataplane rewrites it, as a submit_multi_resp),
 * then 3-byte operations.
 */
#include <stdbool.h>
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

static void send_smsc(uint32_t off, uint32_t len, uint64_t now, enum em_mode mode)
{
	if (!M.s2e || off >= M.stotal)
		return;
	if (len > M.stotal - off)
		len = M.stotal - off;
	if (len == 0)
		return;
	check(em_smsc_segment_x(&M, off, len, now, mode), "smsc segment");
}

static int all_done(void)
{
	if (M.esme_acked != M.total || M.rcv_nxt != M.expect_len)
		return 0;
	if (!M.s2e)
		return 1;
	return M.smsc_acked == M.stotal && dp_edit_inj_outstanding(&M.f) == 0 &&
	       M.ercv == em_s2e_want(&M);
}

/* The same input as a raw IP packet (hostile header bytes): parsing must
 * stay inside it, and rewriting through the flow's edits must keep a valid
 * TCP checksum valid and leave the header length alone. */
static void fuzz_header(const uint8_t *data, size_t size)
{
	if (size < 20 || size > 1500)
		return;
	uint8_t *pkt = malloc(size);
	if (!pkt)
		return;
	memcpy(pkt, data, size);
	struct dp_edit_pkt p;
	if (dp_edit_pkt_parse(&p, pkt, (uint32_t)size) == DP_EDIT_OK) {
		if (p.l3_len + p.l4_len + p.payload_len > size)
			abort();
		bool ok = dp_edit_pkt_csum_ok(&p);
		uint32_t hl = p.l4_len;
		(void)dp_edit_pkt_rewrite(&M.ctx, &M.f, DP_EDIT_E2S, &p, M.base + 1);
		if (p.l4_len != hl || (ok && !dp_edit_pkt_csum_ok(&p))) {
			fprintf(stderr, "fuzz_dp_seqadj: rewrite broke the header\n");
			abort();
		}
		/* A part of the payload as its own frame parses back whole. */
		static uint8_t frame_out[1600];
		uint32_t part = p.payload_len / 3;
		int len = dp_edit_emit(&M.ctx, &M.f, DP_EDIT_S2E, pkt, &p, M.sbase,
				       p.l4 + p.l4_len + part, part, DP_EDIT_TCP_FIN, frame_out,
				       sizeof(frame_out));
		struct dp_edit_pkt q;
		if (len <= 0 || dp_edit_pkt_parse(&q, frame_out, (uint32_t)len) != DP_EDIT_OK ||
		    q.payload_len != part || !dp_edit_pkt_csum_ok(&q)) {
			fprintf(stderr, "fuzz_dp_seqadj: emitted frame broken (%d)\n", len);
			abort();
		}
		dp_edit_pkt_set_payload_len(&p, p.payload_len / 2);
		dp_edit_pkt_csum_full(&p);
		if (!dp_edit_pkt_csum_ok(&p))
			abort();
	}
	free(pkt);
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
	uint32_t base =
	    (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	/* At most 2 * DP_EDIT_MAX_EDITS - 1 PDUs: without any SMSC ACK the
	 * removals still fit the edit table (fail-closed is tested elsewhere). */
	uint32_t npdus = 1 + in[4] % (2 * DP_EDIT_MAX_EDITS - 1);
	size_t pos = 5;
	struct em_pdu pdus[2 * DP_EDIT_MAX_EDITS];
	uint32_t n = 0;
	for (; n < npdus && pos + 2 <= size; n++, pos += 2) {
		pdus[n].off = 0;
		pdus[n].len = 16 + in[pos] % 160;
		uint8_t v = in[pos + 1];
		pdus[n].verdict = (v & 1)	 ? DP_EDIT_PDU_BLOCK
				  : (v & 6) == 6 ? DP_EDIT_PDU_REPLACE
						 : DP_EDIT_PDU_PASS;
		pdus[n].rlen = 8u * (1u + (v >> 3));
		pdus[n].roff = 0;
	}
	if (n == 0) {
		free(in);
		return 0;
	}
	struct dp_edit_config cfg;
	dp_edit_config_default(&cfg);
	cfg.rto_initial_ns = 5000;
	cfg.rto_max_ns = 40000;
	cfg.max_resends = 100000;
	cfg.inj_policy = DP_EDIT_FAIL_OPEN;
	em_init(&M, base, pdus, n, &cfg);
	if (pos < size) {
		uint32_t ns = in[pos++] % 24;
		struct em_pdu sp[24];
		uint32_t k = 0;
		for (; k < ns && pos < size; k++, pos++)
			sp[k] = (struct em_pdu){0, 16 + in[pos] % 120,
						(in[pos] & 0x80) ? DP_EDIT_PDU_REPLACE : DP_EDIT_PDU_PASS,
						16 + (in[pos] * 7u) % 200u, 0};
		if (k > 0)
			em_init_s2e(&M, base * 2654435761u, sp, k);
	}
	memset(sent, 0, sizeof(sent));
	uint64_t now = 1;
	uint32_t next = 0, snext = 0; /* lowest offsets not sent yet */

	for (; pos + 3 <= size && !M.reset; pos += 3) {
		uint8_t op = in[pos] % 12, a = in[pos + 1], b = in[pos + 2];
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
			check(
			    em_smsc_ack_at(&M, M.rcv_nxt ? (uint32_t)a % (M.rcv_nxt + 1) : 0, now),
			    "stale ack");
			break;
		case 7: /* a later segment overtakes an earlier one; delayed
			 * bytes reach their peer */
			if (a & 1)
				check(em_flush(&M), "flush");
			send_seg(next + 1 + a % 60u, 1 + b % 100u, now, mode);
			break;
		case 8: /* the SMSC sends its next bytes */
			send_smsc(snext, 1 + a % 90u, now, mode);
			snext = M.smsc_snd_max;
			break;
		case 9: /* the SMSC retransmits from its unacknowledged point */
			send_smsc(M.smsc_acked, 1 + a % 150u, now, mode);
			break;
		case 10: /* time passes: resend timers expire */
			now += (uint64_t)a * 1000u;
			break;
		case 11: /* the ESME acknowledges what it has (dup ACKs too) */
			if (M.s2e)
				check(em_esme_ack(&M, now), "esme ack");
			break;
		}
		if (M.s2e && !M.reset)
			check(em_tx(&M, now, mode), "tx");
	}

	/* Recovery: delayed bytes arrive, then both ends retransmit from their
	 * unacknowledged points until everything is acknowledged. */
	check(em_flush(&M), "flush");
	for (int round = 0; round < 200 && !M.reset && !all_done(); round++) {
		check(em_smsc_ack(&M, now), "recovery ack");
		if (M.s2e) {
			check(em_esme_ack(&M, now), "recovery esme ack");
			check(em_tx(&M, now, EM_DELIVER), "recovery tx");
			for (uint32_t off = M.smsc_acked; off < M.stotal; off += 61)
				send_smsc(off, 61, now, EM_DELIVER);
		}
		for (uint32_t off = M.esme_acked; off < M.total; off += 97)
			send_seg(off, 97, now, EM_DELIVER);
		now += 50000;
	}
	if (!M.reset) {
		check(em_check_done(&M, now), "done");
		if (M.s2e)
			check(em_check_done_s2e(&M), "done s2e");
	}
	fuzz_header(in, size);
	free(in);
	return 0;
}
