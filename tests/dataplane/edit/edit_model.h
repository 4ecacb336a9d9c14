/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test model around dp_edit for the ESME->SMSC direction: a minimal stream
 * layer (contiguous reassembly, PDU verdicts known once a PDU is complete)
 * feeds dp_edit_segment(); the ranges it returns are applied to a model SMSC
 * receive buffer in the SMSC's sequence space. The reference is simple: the
 * SMSC must receive exactly the passed PDUs in order, never a byte of a
 * blocked or undecided PDU, and the acknowledgements the ESME sees must never
 * cover a passed byte the SMSC does not have. Used by the cmocka tests and by
 * the libFuzzer target.
 */
#ifndef EDIT_MODEL_H
#define EDIT_MODEL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_edit.h"

#define EM_MAX_PDUS 64
#define EM_MAX_BYTES 4096

struct em_pdu {
	uint32_t off, len;
	uint32_t verdict; /* final: DP_EDIT_PDU_PASS or DP_EDIT_PDU_BLOCK */
};

struct em {
	struct dp_edit_ctx ctx;
	struct dp_edit_flow f;
	uint32_t base;      /* ESME sequence number of stream offset 0 */
	uint32_t smsc_seq;  /* SMSC's own sequence number (no data in this model) */
	uint8_t data[EM_MAX_BYTES];
	uint32_t total;
	struct em_pdu pdus[EM_MAX_PDUS];
	uint32_t npdus;
	uint8_t got[EM_MAX_BYTES]; /* stream layer holds orig byte */
	uint32_t R;                /* contiguous bytes held by the stream layer */
	uint8_t rx[EM_MAX_BYTES];  /* SMSC receive buffer (new space offsets) */
	uint8_t rxhave[EM_MAX_BYTES];
	uint32_t rcv_nxt;          /* SMSC rcv_nxt, new offset */
	uint8_t expect[EM_MAX_BYTES];
	uint32_t expect_len;
	uint32_t esme_acked;       /* ESME's view: orig offset acknowledged */
	uint32_t last_held;        /* out.held of the last segment */
	uint32_t last_action;
	/* Ranges forwarded but delayed in the network toward the SMSC. */
	struct {
		uint32_t no, o, len;
	} delayed[64];
	uint32_t ndelayed;
	char err[256];
};

enum em_mode {
	EM_DELIVER = 0, /* forwarded ranges reach the SMSC */
	EM_LOSE = 1,    /* forwarded ranges are lost after the dataplane */
	EM_DELAY = 2    /* forwarded ranges reach the SMSC later (reordering) */
};

static inline int em_fail(struct em *m, const char *what, uint32_t a, uint32_t b)
{
	if (!m->err[0])
		snprintf(m->err, sizeof(m->err), "%s (%u, %u)", what, a, b);
	return -1;
}

/* PDU lengths and verdicts; contents are a pattern that tells the PDU. */
static inline void em_init(struct em *m, uint32_t base, const struct em_pdu *pdus, uint32_t n,
			   const struct dp_edit_config *cfg)
{
	memset(m, 0, sizeof(*m));
	dp_edit_ctx_init(&m->ctx, cfg);
	dp_edit_flow_init(&m->f);
	m->base = base;
	m->smsc_seq = 0x12345678u;
	uint32_t off = 0;
	for (uint32_t i = 0; i < n && i < EM_MAX_PDUS; i++) {
		if (off + pdus[i].len > EM_MAX_BYTES)
			break;
		m->pdus[i] = pdus[i];
		m->pdus[i].off = off;
		for (uint32_t k = 0; k < pdus[i].len; k++)
			m->data[off + k] = (uint8_t)(i * 31 + k * 7 + (pdus[i].verdict << 6));
		if (pdus[i].verdict == DP_EDIT_PDU_PASS) {
			memcpy(m->expect + m->expect_len, m->data + off, pdus[i].len);
			m->expect_len += pdus[i].len;
		}
		off += pdus[i].len;
		m->npdus = i + 1;
	}
	m->total = off;
	dp_edit_dir_start(&m->f, DP_EDIT_E2S, base);
}

static inline const struct em_pdu *em_pdu_at(const struct em *m, uint32_t off)
{
	for (uint32_t i = 0; i < m->npdus; i++)
		if (off >= m->pdus[i].off && off < m->pdus[i].off + m->pdus[i].len)
			return &m->pdus[i];
	return NULL;
}

/* The SMSC acknowledges `ack_off` (new offset, at most its rcv_nxt; an
 * older value models a reordered ACK) with a pure ACK (SMSC->ESME). */
static inline int em_smsc_ack_at(struct em *m, uint32_t ack_off, uint64_t now)
{
	if (ack_off > m->rcv_nxt)
		return em_fail(m, "model: ack beyond rcv_nxt", ack_off, m->rcv_nxt);
	struct dp_edit_seg s = {.seq = m->smsc_seq,
				.ack = m->base + ack_off,
				.len = 0,
				.flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out out;
	if (dp_edit_segment(&m->ctx, &m->f, DP_EDIT_S2E, &s, NULL, 0, now, &out) != DP_EDIT_OK)
		return em_fail(m, "smsc ack refused", ack_off, 0);
	if (!(out.action & DP_EDIT_ACT_FORWARD))
		return em_fail(m, "smsc ack not forwarded", ack_off, out.action);
	/* What the ESME receives: the ack mapped back. */
	uint32_t a = dp_edit_seqadj_unmap(&m->f.h[DP_EDIT_E2S].sa, m->base + ack_off) - m->base;
	if (a > m->total)
		return em_fail(m, "ESME ack beyond the stream", a, m->total);
	/* Every passed byte below the ack is at the SMSC; everything below it
	 * was decided. */
	if (a > dp_edit_dir_release_seq(&m->f, DP_EDIT_E2S) - m->base)
		return em_fail(m, "ESME ack covers undecided bytes", a, 0);
	uint32_t mapped = dp_edit_seqadj_map(&m->f.h[DP_EDIT_E2S].sa, m->base + a) - m->base;
	if (mapped > ack_off)
		return em_fail(m, "ESME ack covers bytes the SMSC lacks", a, ack_off);
	/* The ESME ignores ACKs below what it has seen acknowledged. */
	if (a > m->esme_acked)
		m->esme_acked = a;
	return 0;
}

static inline int em_smsc_ack(struct em *m, uint64_t now)
{
	return em_smsc_ack_at(m, m->rcv_nxt, now);
}

static inline void em_rx(struct em *m, uint32_t no, uint32_t o, uint32_t len)
{
	for (uint32_t j = 0; j < len; j++) {
		m->rx[no + j] = m->data[o + j];
		m->rxhave[no + j] = 1;
	}
	while (m->rcv_nxt < m->expect_len && m->rxhave[m->rcv_nxt])
		m->rcv_nxt++;
}

/* Delayed ranges arrive at the SMSC. */
static inline void em_flush(struct em *m)
{
	for (uint32_t i = 0; i < m->ndelayed; i++)
		em_rx(m, m->delayed[i].no, m->delayed[i].o, m->delayed[i].len);
	m->ndelayed = 0;
}

/* The ESME sends stream bytes [off, off+len); the stream layer takes them
 * (holding out-of-order bytes) and the edit library decides. */
static inline int em_segment_x(struct em *m, uint32_t off, uint32_t len, uint64_t now,
			       enum em_mode mode)
{
	if (off + len > m->total)
		return em_fail(m, "model: segment beyond stream", off, len);
	for (uint32_t k = off; k < off + len; k++)
		m->got[k] = 1;
	while (m->R < m->total && m->got[m->R])
		m->R++;
	uint32_t rel = dp_edit_dir_release_seq(&m->f, DP_EDIT_E2S) - m->base;
	struct dp_edit_pdu list[EM_MAX_PDUS];
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->npdus; i++) {
		const struct em_pdu *p = &m->pdus[i];
		if (p->off + p->len <= rel || p->off > m->R)
			continue;
		bool complete = p->off + p->len <= m->R;
		list[n].seq = m->base + p->off;
		list[n].len = p->len;
		list[n].avail = complete ? p->len : m->R - p->off;
		list[n].verdict = complete ? p->verdict : DP_EDIT_PDU_PENDING;
		n++;
		if (!complete)
			break;
	}
	struct dp_edit_seg s = {.seq = m->base + off,
				.ack = m->smsc_seq,
				.len = len,
				.flags = DP_EDIT_TCP_ACK | (len ? DP_EDIT_TCP_PSH : 0)};
	struct dp_edit_out out;
	int rc = dp_edit_segment(&m->ctx, &m->f, DP_EDIT_E2S, &s, list, n, now, &out);
	if (rc != DP_EDIT_OK)
		return em_fail(m, "dp_edit_segment failed", (uint32_t)-rc, off);
	m->last_held = out.held;
	m->last_action = out.action;
	if (out.held > len || out.removed > len)
		return em_fail(m, "held/removed larger than the segment", out.held, out.removed);
	for (uint32_t r = 0; r < out.n; r++) {
		const struct dp_edit_range *g = &out.r[r];
		if (g->src == DP_EDIT_SRC_INJ)
			continue;
		uint32_t o = g->seq - m->base, no = g->out_seq - m->base;
		if (o > m->total || g->len > m->total - o)
			return em_fail(m, "range outside the stream", o, g->len);
		if (g->src == DP_EDIT_SRC_SEG && (o < off || o + g->len > off + len))
			return em_fail(m, "SEG range outside the segment", o, g->len);
		for (uint32_t j = 0; j < g->len; j++) {
			const struct em_pdu *p = em_pdu_at(m, o + j);
			if (!m->got[o + j])
				return em_fail(m, "forwarded a byte never received", o + j, 0);
			if (!p || p->verdict != DP_EDIT_PDU_PASS)
				return em_fail(m, "forwarded a blocked byte", o + j, 0);
			if (p->off + p->len > m->R)
				return em_fail(m, "forwarded a byte of an undecided PDU", o + j, 0);
			if (no + j >= m->expect_len)
				return em_fail(m, "forwarded beyond the passed stream", no + j, o + j);
			if (m->expect[no + j] != m->data[o + j])
				return em_fail(m, "byte at the wrong SMSC position", no + j, o + j);
		}
		if (mode == EM_DELIVER) {
			em_rx(m, no, o, g->len);
		} else if (mode == EM_DELAY) {
			if (m->ndelayed == sizeof(m->delayed) / sizeof(m->delayed[0]))
				em_flush(m);
			m->delayed[m->ndelayed].no = no;
			m->delayed[m->ndelayed].o = o;
			m->delayed[m->ndelayed].len = g->len;
			m->ndelayed++;
		}
	}
	return 0;
}

static inline int em_segment(struct em *m, uint32_t off, uint32_t len, uint64_t now)
{
	return em_segment_x(m, off, len, now, EM_DELIVER);
}

/* After the whole stream arrived: the SMSC has exactly the passed PDUs and
 * the ESME sees every byte acknowledged. */
static inline int em_check_done(struct em *m, uint64_t now)
{
	if (em_smsc_ack(m, now))
		return -1;
	if (m->rcv_nxt != m->expect_len)
		return em_fail(m, "SMSC stream incomplete", m->rcv_nxt, m->expect_len);
	if (memcmp(m->rx, m->expect, m->expect_len) != 0)
		return em_fail(m, "SMSC bytes differ", 0, 0);
	if (m->esme_acked != m->total)
		return em_fail(m, "ESME not fully acknowledged", m->esme_acked, m->total);
	return 0;
}

#endif /* EDIT_MODEL_H */
