/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test model around dp_edit. ESME->SMSC: a minimal stream layer (contiguous
 * reassembly, PDU verdicts known once a PDU is complete) feeds
 * dp_edit_segment(); the ranges it returns are applied to a model SMSC
 * receive buffer in the SMSC's sequence space. Optionally SMSC->ESME too:
 * the SMSC sends its own PDUs, every blocked ESME PDU gets an injected
 * response, and a model ESME receive buffer collects both.
 *
 * PDUs may also be replaced (DP_EDIT_PDU_REPLACE, dp_edit_replace()): the
 * model stages the replacement bytes once the PDU is complete; if the
 * library has no room it blocks the PDU instead (as the dataplane does).
 *
 * The reference is simple: the SMSC receives exactly the passed PDUs and
 * the replacements of the replaced ones in order, never a byte of a blocked,
 * replaced or undecided PDU; the ESME receives the
 * SMSC's PDUs in order with each response exactly once, whole, between
 * them; no ACK either side sees covers a byte its peer lacks. Used by the
 * cmocka tests and by the libFuzzer target.
 */
#ifndef EDIT_MODEL_H
#define EDIT_MODEL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_edit.h"

#define EM_MAX_PDUS  160
#define EM_MAX_BYTES 4096
#define EM_RESP_LEN  17

struct em_pdu {
	uint32_t off, len;
	uint32_t verdict; /* final: DP_EDIT_PDU_PASS, _BLOCK or _REPLACE */
	uint32_t rlen;	  /* REPLACE: replacement bytes (1..255) */
	uint32_t roff;	  /* their offset in em.rdata (set by em_init) */
};

enum em_mode {
	EM_DELIVER = 0, /* forwarded bytes reach the peer */
	EM_LOSE = 1,	/* forwarded bytes are lost after the dataplane */
	EM_DELAY = 2	/* forwarded bytes reach the peer later (reordering) */
};

struct em_delayed {
	uint32_t no, len;
	const uint8_t *src;
	int to_esme;
};

struct em {
	struct dp_edit_ctx ctx;
	struct dp_edit_flow f;
	/* ESME -> SMSC */
	uint32_t base; /* ESME sequence number of stream offset 0 */
	uint8_t data[EM_MAX_BYTES];
	uint32_t total;
	struct em_pdu pdus[EM_MAX_PDUS];
	uint32_t npdus;
	uint8_t got[EM_MAX_BYTES]; /* the stream layer holds orig byte */
	uint32_t R;		   /* contiguous bytes held by the stream layer */
	uint32_t esme_snd_max;	   /* highest offset the ESME sent */
	uint8_t rx[EM_MAX_BYTES];  /* SMSC receive buffer (new space offsets) */
	uint8_t rxhave[EM_MAX_BYTES];
	uint32_t rcv_nxt; /* SMSC rcv_nxt, new offset */
	uint8_t expect[EM_MAX_BYTES];
	uint32_t expect_len;
	uint8_t rdata[EM_MAX_BYTES]; /* replacement bytes of REPLACE PDUs */
	uint8_t staged[EM_MAX_PDUS]; /* replacement staged with the library */
	uint32_t esme_acked; /* ESME's view: orig offset acknowledged */
	/* SMSC -> ESME (when s2e) */
	int s2e;
	uint32_t sbase; /* SMSC sequence number of its offset 0 */
	uint8_t sdata[EM_MAX_BYTES];
	uint32_t stotal;
	struct em_pdu spdus[EM_MAX_PDUS]; /* PASS, or REPLACE (a response rewritten) */
	uint32_t nspdus;
	uint8_t srdata[EM_MAX_BYTES];	   /* replacement bytes of REPLACE SMSC PDUs */
	uint8_t sstaged[EM_MAX_PDUS];
	uint8_t sgot[EM_MAX_BYTES];
	uint32_t sR;
	uint32_t smsc_snd_max;
	uint8_t erx[2 * EM_MAX_BYTES]; /* ESME receive buffer (new space offsets) */
	uint8_t erxhave[2 * EM_MAX_BYTES];
	uint32_t ercv;			/* ESME rcv_nxt, new offset */
	uint32_t smsc_acked;		/* SMSC's view: its offset acknowledged */
	uint8_t responded[EM_MAX_PDUS]; /* 1 injected, 2 refused (fail-open) */
	uint8_t resp[EM_MAX_PDUS][EM_RESP_LEN];
	uint32_t nresp; /* responses injected */
	int reset;	/* the library asked for a reset: run over */
	/* Bytes forwarded but delayed in the network. */
	struct em_delayed delayed[64];
	uint32_t ndelayed;
	uint32_t last_held; /* out.held of the last ESME segment */
	uint32_t last_action;
	char err[256];
};

static inline int em_fail(struct em *m, const char *what, uint32_t a, uint32_t b)
{
	if (!m->err[0])
		snprintf(m->err, sizeof(m->err), "%s (%u, %u)", what, a, b);
	return -1;
}

static inline uint32_t em_layout(struct em_pdu *dst, uint32_t *ndst, uint8_t *bytes,
				 const struct em_pdu *pdus, uint32_t n, uint8_t tag)
{
	uint32_t off = 0;
	*ndst = 0;
	for (uint32_t i = 0; i < n && i < EM_MAX_PDUS; i++) {
		if (off + pdus[i].len > EM_MAX_BYTES)
			break;
		dst[i] = pdus[i];
		dst[i].off = off;
		/* First byte 0 as in every real command_length; the rest tells
		 * stream, PDU and offset apart. */
		bytes[off] = 0;
		for (uint32_t k = 1; k < pdus[i].len; k++)
			bytes[off + k] = (uint8_t)(tag + i * 31 + k * 7 + (pdus[i].verdict << 6));
		off += pdus[i].len;
		*ndst = i + 1;
	}
	return off;
}

/* What the SMSC must receive: passed PDUs and replacements, in order. A
 * replacement that would not fit makes its PDU blocked. */
static inline void em_expect(struct em *m)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < m->npdus; i++) {
		const struct em_pdu *p = &m->pdus[i];
		sum += p->verdict == DP_EDIT_PDU_PASS ? p->len
		       : p->verdict == DP_EDIT_PDU_REPLACE ? p->rlen : 0;
	}
	for (uint32_t i = m->npdus; i-- > 0 && sum > EM_MAX_BYTES;) {
		struct em_pdu *p = &m->pdus[i];
		if (p->verdict == DP_EDIT_PDU_REPLACE && !m->staged[i]) {
			p->verdict = DP_EDIT_PDU_BLOCK;
			sum -= p->rlen;
		}
	}
	m->expect_len = 0;
	for (uint32_t i = 0; i < m->npdus; i++) {
		struct em_pdu *p = &m->pdus[i];
		if (p->verdict == DP_EDIT_PDU_REPLACE && p->rlen == 0)
			p->verdict = DP_EDIT_PDU_BLOCK;
		if (p->verdict == DP_EDIT_PDU_PASS) {
			memcpy(m->expect + m->expect_len, m->data + p->off, p->len);
			m->expect_len += p->len;
		} else if (p->verdict == DP_EDIT_PDU_REPLACE) {
			memcpy(m->expect + m->expect_len, m->rdata + p->roff, p->rlen);
			m->expect_len += p->rlen;
		}
	}
}

/* ESME PDUs with their verdicts; `cfg` NULL = defaults. */
static inline void em_init(struct em *m, uint32_t base, const struct em_pdu *pdus, uint32_t n,
			   const struct dp_edit_config *cfg)
{
	memset(m, 0, sizeof(*m));
	dp_edit_ctx_init(&m->ctx, cfg);
	dp_edit_flow_init(&m->f);
	m->base = base;
	m->sbase = 0x12345678u;
	m->total = em_layout(m->pdus, &m->npdus, m->data, pdus, n, 0x11);
	/* Replacement bytes: distinct from every stream byte pattern. */
	uint32_t ro = 0;
	for (uint32_t i = 0; i < m->npdus; i++) {
		struct em_pdu *p = &m->pdus[i];
		if (p->verdict != DP_EDIT_PDU_REPLACE)
			continue;
		if (p->rlen == 0 || ro + p->rlen > EM_MAX_BYTES) {
			p->verdict = DP_EDIT_PDU_BLOCK;
			continue;
		}
		p->roff = ro;
		for (uint32_t k = 0; k < p->rlen; k++)
			m->rdata[ro + k] = (uint8_t)(0xa5 ^ (i * 11 + k * 3));
		ro += p->rlen;
	}
	em_expect(m);
	dp_edit_dir_start(&m->f, DP_EDIT_E2S, base);
}

/* Where the SMSC's stream stands once the ESME's bytes before orig offset
 * `a` are delivered (passed bytes and whole replacements before it). */
static inline uint32_t em_new_of(const struct em *m, uint32_t a)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->npdus && m->pdus[i].off < a; i++) {
		const struct em_pdu *p = &m->pdus[i];
		if (p->verdict == DP_EDIT_PDU_PASS)
			n += a - p->off < p->len ? a - p->off : p->len;
		else if (p->verdict == DP_EDIT_PDU_REPLACE && p->off + p->len <= a)
			n += p->rlen;
	}
	return n;
}

/* Stage the replacements of REPLACE PDUs that just became complete; without
 * room the PDU is blocked instead (nothing after it went out yet). */
static inline void em_stage(struct em *m)
{
	bool changed = false;
	for (uint32_t i = 0; i < m->npdus; i++) {
		struct em_pdu *p = &m->pdus[i];
		if (p->verdict != DP_EDIT_PDU_REPLACE || m->staged[i] || p->off + p->len > m->R)
			continue;
		int rc = dp_edit_replace(&m->ctx, &m->f, DP_EDIT_E2S, m->base + p->off, p->len,
					 m->rdata + p->roff, p->rlen);
		if (rc == DP_EDIT_OK) {
			m->staged[i] = 1;
		} else {
			p->verdict = DP_EDIT_PDU_BLOCK;
			changed = true;
		}
	}
	if (changed)
		em_expect(m);
}

/* Model the SMSC->ESME direction too: the SMSC's PDUs (all passed). */
static inline void em_init_s2e(struct em *m, uint32_t sbase, const struct em_pdu *spdus, uint32_t n)
{
	m->s2e = 1;
	m->sbase = sbase;
	m->stotal = em_layout(m->spdus, &m->nspdus, m->sdata, spdus, n, 0x77);
	/* Replacements start with 0 as a command_length does (injected
	 * responses start with 0xee); the ESME's stream must stay within
	 * em.erx. */
	uint32_t ro = 0, want = 0;
	for (uint32_t i = 0; i < m->nspdus; i++) {
		struct em_pdu *p = &m->spdus[i];
		if (p->verdict == DP_EDIT_PDU_REPLACE &&
		    (p->rlen == 0 || ro + p->rlen > EM_MAX_BYTES || want + p->rlen > EM_MAX_BYTES))
			p->verdict = DP_EDIT_PDU_PASS;
		if (p->verdict != DP_EDIT_PDU_REPLACE) {
			p->verdict = DP_EDIT_PDU_PASS;
			want += p->len;
			continue;
		}
		p->roff = ro;
		m->srdata[ro] = 0;
		for (uint32_t k = 1; k < p->rlen; k++)
			m->srdata[ro + k] = (uint8_t)(0x5a ^ (i * 17 + k * 5));
		ro += p->rlen;
		want += p->rlen;
	}
	dp_edit_dir_start(&m->f, DP_EDIT_S2E, sbase);
}

static inline const struct em_pdu *em_pdu_at(const struct em *m, uint32_t off)
{
	for (uint32_t i = 0; i < m->npdus; i++)
		if (off >= m->pdus[i].off && off < m->pdus[i].off + m->pdus[i].len)
			return &m->pdus[i];
	return NULL;
}

static inline void em_rx(struct em *m, uint32_t no, const uint8_t *src, uint32_t len)
{
	for (uint32_t j = 0; j < len; j++) {
		m->rx[no + j] = src[j];
		m->rxhave[no + j] = 1;
	}
	while (m->rcv_nxt < m->expect_len && m->rxhave[m->rcv_nxt])
		m->rcv_nxt++;
}

static inline int em_erx(struct em *m, uint32_t no, const uint8_t *src, uint32_t len)
{
	if (no > sizeof(m->erx) || len > sizeof(m->erx) - no)
		return em_fail(m, "ESME byte beyond any stream", no, len);
	for (uint32_t j = 0; j < len; j++) {
		if (m->erxhave[no + j] && m->erx[no + j] != src[j])
			return em_fail(m, "ESME got two different bytes at one place", no + j,
				       src[j]);
		m->erx[no + j] = src[j];
		m->erxhave[no + j] = 1;
	}
	while (m->ercv < sizeof(m->erx) && m->erxhave[m->ercv])
		m->ercv++;
	return 0;
}

static inline int em_put(struct em *m, int to_esme, uint32_t no, const uint8_t *src, uint32_t len,
			 enum em_mode mode)
{
	if (mode == EM_LOSE)
		return 0;
	if (mode == EM_DELAY && m->ndelayed < sizeof(m->delayed) / sizeof(m->delayed[0])) {
		m->delayed[m->ndelayed++] = (struct em_delayed){no, len, src, to_esme};
		return 0;
	}
	if (to_esme)
		return em_erx(m, no, src, len);
	em_rx(m, no, src, len);
	return 0;
}

/* Delayed bytes arrive. Injected bytes are copied when delayed (the library
 * reuses its buffer), so only stream bytes are delayed by pointer. */
static inline int em_flush(struct em *m)
{
	for (uint32_t i = 0; i < m->ndelayed; i++) {
		const struct em_delayed *d = &m->delayed[i];
		if (d->to_esme) {
			if (em_erx(m, d->no, d->src, d->len))
				return -1;
		} else {
			em_rx(m, d->no, d->src, d->len);
		}
	}
	m->ndelayed = 0;
	return 0;
}

/* What the ESME makes of an ACK it receives (ESME space offset `a`). */
static inline int em_esme_sees_ack(struct em *m, uint32_t a, uint32_t smsc_has)
{
	if (a > m->total)
		return em_fail(m, "ESME ack beyond the stream", a, m->total);
	if (a > dp_edit_dir_release_seq(&m->f, DP_EDIT_E2S) - m->base)
		return em_fail(m, "ESME ack covers undecided bytes", a, 0);
	uint32_t mapped = em_new_of(m, a);
	if (mapped > smsc_has)
		return em_fail(m, "ESME ack covers bytes the SMSC lacks", a, smsc_has);
	/* The ESME ignores ACKs below what it has seen acknowledged. */
	if (a > m->esme_acked)
		m->esme_acked = a;
	return 0;
}

/* The SMSC acknowledges `ack_off` (new offset, at most its rcv_nxt; an
 * older value models a reordered ACK) with a pure ACK (SMSC->ESME). */
static inline int em_smsc_ack_at(struct em *m, uint32_t ack_off, uint64_t now)
{
	if (ack_off > m->rcv_nxt)
		return em_fail(m, "model: ack beyond rcv_nxt", ack_off, m->rcv_nxt);
	struct dp_edit_seg s = {.seq = m->sbase + m->smsc_snd_max,
				.ack = m->base + ack_off,
				.len = 0,
				.flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out out;
	if (dp_edit_segment(&m->ctx, &m->f, DP_EDIT_S2E, &s, NULL, 0, now, &out) != DP_EDIT_OK)
		return em_fail(m, "smsc ack refused", ack_off, 0);
	if (out.action & DP_EDIT_ACT_RESET_BOTH) {
		m->reset = 1;
		return 0;
	}
	if (!(out.action & DP_EDIT_ACT_FORWARD))
		return em_fail(m, "smsc ack not forwarded", ack_off, out.action);
	uint32_t a = dp_edit_seqadj_unmap(&m->f.h[DP_EDIT_E2S].sa, m->base + ack_off) - m->base;
	/* A stale ACK that does not advance the ESME is ignored there (RFC 793;
	 * after edits were pruned it maps by the pruned delta, so it may land
	 * somewhat above or below its own value, never above what the ESME was
	 * already told); one that advances the ESME must be covered by itself. */
	if ((int32_t)(a - m->esme_acked) <= 0) {
		/* RFC 5961 5.2: within MAX.SND.WND below SND.UNA it is
		 * ignored; beyond, it would draw a challenge ACK. */
		if (m->esme_acked - a > 65535)
			return em_fail(m, "stale ACK far below the ESME's snd_una", a,
				       m->esme_acked);
		return 0;
	}
	return em_esme_sees_ack(m, a, ack_off);
}

static inline int em_smsc_ack(struct em *m, uint64_t now)
{
	return em_smsc_ack_at(m, m->rcv_nxt, now);
}

/* The ESME acknowledges what it has (ESME->SMSC pure ACK). */
static inline int em_esme_ack(struct em *m, uint64_t now)
{
	struct dp_edit_seg s = {.seq = m->base + m->esme_snd_max,
				.ack = m->sbase + m->ercv,
				.len = 0,
				.flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out out;
	if (dp_edit_segment(&m->ctx, &m->f, DP_EDIT_E2S, &s, NULL, 0, now, &out) != DP_EDIT_OK)
		return em_fail(m, "esme ack refused", m->ercv, 0);
	if (out.action & DP_EDIT_ACT_RESET_BOTH) {
		m->reset = 1;
		return 0;
	}
	uint32_t a = dp_edit_seqadj_unmap(&m->f.h[DP_EDIT_S2E].sa, m->sbase + m->ercv) - m->sbase;
	if (a > m->stotal)
		return em_fail(m, "SMSC ack beyond its stream", a, m->stotal);
	/* The SMSC's last acknowledged byte (a - 1) is at the ESME. Bytes
	 * inserted before `a` need not be: they are not the SMSC's. */
	if (a > 0) {
		uint32_t last = dp_edit_seqadj_map(&m->f.h[DP_EDIT_S2E].sa, m->sbase + a - 1);
		/* a - 1 in a replaced response: it maps past its replacement,
		 * whose last byte is one before */
		for (uint32_t i = 0; i < m->nspdus; i++) {
			const struct em_pdu *p = &m->spdus[i];
			if (p->verdict == DP_EDIT_PDU_REPLACE && a - 1 >= p->off &&
			    a - 1 < p->off + p->len)
				last -= 1;
		}
		if (last - m->sbase >= m->ercv)
			return em_fail(m, "SMSC ack covers bytes the ESME lacks", a, m->ercv);
	}
	if (a > m->smsc_acked)
		m->smsc_acked = a;
	return 0;
}

/* Injected segments due now go toward the ESME. */
static inline int em_tx(struct em *m, uint64_t now, enum em_mode mode)
{
	struct dp_edit_tx tx;
	for (int guard = 0; guard < 4 * DP_EDIT_MAX_INJ + 4; guard++) {
		int rc = dp_edit_tx_next(&m->ctx, &m->f, now, &tx);
		if (rc == DP_EDIT_AGAIN)
			return 0;
		if (rc == DP_EDIT_EMISMATCH) {
			m->reset = 1;
			return 0;
		}
		if (rc != DP_EDIT_OK)
			return em_fail(m, "tx_next failed", (uint32_t)-rc, 0);
		if (tx.len != EM_RESP_LEN || tx.data[0] != 0xee)
			return em_fail(m, "injected segment is not a whole response", tx.len, 0);
		if (tx.ack_valid) {
			uint32_t a = tx.ack - m->base;
			if (em_esme_sees_ack(m, a, m->rcv_nxt))
				return -1;
		}
		if (mode == EM_DELIVER || mode == EM_DELAY) {
			if (em_erx(m, tx.seq - m->sbase, tx.data, tx.len))
				return -1;
		}
	}
	return em_fail(m, "tx_next never said AGAIN", 0, 0);
}

/* Responses for blocked PDUs that just became complete, in stream order. */
static inline int em_respond(struct em *m, uint64_t now)
{
	if (!m->s2e)
		return 0;
	for (uint32_t i = 0; i < m->npdus; i++) {
		const struct em_pdu *p = &m->pdus[i];
		if (p->verdict != DP_EDIT_PDU_BLOCK || m->responded[i] || p->off + p->len > m->R)
			continue;
		uint8_t *r = m->resp[i];
		memset(r, 0, EM_RESP_LEN);
		r[0] = 0xee;
		r[1] = (uint8_t)i;
		r[2] = (uint8_t)(m->base >> 3);
		r[EM_RESP_LEN - 1] = (uint8_t)(i * 13);
		int rc = dp_edit_inject(&m->ctx, &m->f, r, EM_RESP_LEN, now);
		if (rc == DP_EDIT_OK) {
			m->responded[i] = 1;
			m->nresp++;
		} else if (rc == DP_EDIT_EFULL || rc == DP_EDIT_ESTATE) {
			m->responded[i] = 2;
			if (dp_edit_flow_reset_pending(&m->f))
				m->reset = 1;
		} else {
			return em_fail(m, "inject failed", (uint32_t)-rc, i);
		}
	}
	return 0;
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
	if (off + len > m->esme_snd_max)
		m->esme_snd_max = off + len;
	while (m->R < m->total && m->got[m->R])
		m->R++;
	em_stage(m);
	if (em_respond(m, now))
		return -1;
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
				.ack = m->sbase + m->ercv,
				.len = len,
				.flags = DP_EDIT_TCP_ACK | (len ? DP_EDIT_TCP_PSH : 0)};
	struct dp_edit_out out;
	int rc = dp_edit_segment(&m->ctx, &m->f, DP_EDIT_E2S, &s, list, n, now, &out);
	if (out.action & DP_EDIT_ACT_RESET_BOTH) {
		m->reset = 1;
		return 0;
	}
	if (rc != DP_EDIT_OK)
		return em_fail(m, "dp_edit_segment failed", (uint32_t)-rc, off);
	m->last_held = out.held;
	m->last_action = out.action;
	if (out.held > len || out.removed > len)
		return em_fail(m, "held/removed larger than the segment", out.held, out.removed);
	for (uint32_t r = 0; r < out.n; r++) {
		const struct dp_edit_range *g = &out.r[r];
		if (g->src == DP_EDIT_SRC_INJ)
			return em_fail(m, "INJ range on the ESME->SMSC direction", g->seq, 0);
		uint32_t o = g->seq - m->base, no = g->out_seq - m->base;
		if (g->src == DP_EDIT_SRC_REPL) {
			const struct em_pdu *p = em_pdu_at(m, o);
			if (!p || p->off != o || p->verdict != DP_EDIT_PDU_REPLACE ||
			    g->len != p->rlen)
				return em_fail(m, "REPL range not a replaced PDU", o, g->len);
			const uint8_t *lib = dp_edit_repl_data(&m->f, DP_EDIT_E2S, g);
			if (!lib || memcmp(lib, m->rdata + p->roff, p->rlen) != 0)
				return em_fail(m, "replacement bytes differ", o, g->len);
			if (p->off + p->len > m->R)
				return em_fail(m, "replaced an undecided PDU", o, 0);
			if (no > m->expect_len || p->rlen > m->expect_len - no ||
			    memcmp(m->expect + no, m->rdata + p->roff, p->rlen) != 0)
				return em_fail(m, "replacement at the wrong SMSC position", no, o);
			em_put(m, 0, no, m->rdata + p->roff, g->len, mode);
			continue;
		}
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
				return em_fail(m, "forwarded beyond the passed stream", no + j,
					       o + j);
			if (m->expect[no + j] != m->data[o + j])
				return em_fail(m, "byte at the wrong SMSC position", no + j, o + j);
		}
		em_put(m, 0, no, m->data + o, g->len, mode);
	}
	return 0;
}

static inline int em_segment(struct em *m, uint32_t off, uint32_t len, uint64_t now)
{
	return em_segment_x(m, off, len, now, EM_DELIVER);
}

/* The SMSC sends its bytes [off, off+len) toward the ESME. Its PDUs pass
 * (an incomplete one is forwarded as far as it goes: PASS with avail), or
 * are replaced once complete (held until then). */
static inline int em_smsc_segment_x(struct em *m, uint32_t off, uint32_t len, uint64_t now,
				    enum em_mode mode)
{
	if (off + len > m->stotal)
		return em_fail(m, "model: SMSC segment beyond stream", off, len);
	for (uint32_t k = off; k < off + len; k++)
		m->sgot[k] = 1;
	if (off + len > m->smsc_snd_max)
		m->smsc_snd_max = off + len;
	while (m->sR < m->stotal && m->sgot[m->sR])
		m->sR++;
	/* Complete responses to rewrite: staged; without room they pass
	 * unchanged (as the dataplane does; nothing of them went out yet). */
	for (uint32_t i = 0; i < m->nspdus; i++) {
		struct em_pdu *p = &m->spdus[i];
		if (p->verdict != DP_EDIT_PDU_REPLACE || m->sstaged[i] || p->off + p->len > m->sR)
			continue;
		if (dp_edit_replace(&m->ctx, &m->f, DP_EDIT_S2E, m->sbase + p->off, p->len,
				    m->srdata + p->roff, p->rlen) == DP_EDIT_OK)
			m->sstaged[i] = 1;
		else
			p->verdict = DP_EDIT_PDU_PASS;
	}
	uint32_t rel = dp_edit_dir_release_seq(&m->f, DP_EDIT_S2E) - m->sbase;
	struct dp_edit_pdu list[EM_MAX_PDUS];
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nspdus; i++) {
		const struct em_pdu *p = &m->spdus[i];
		if (p->off + p->len <= rel || p->off > m->sR)
			continue;
		bool complete = p->off + p->len <= m->sR;
		list[n].seq = m->sbase + p->off;
		list[n].len = p->len;
		list[n].avail = complete ? p->len : m->sR - p->off;
		/* a response to rewrite is held until complete */
		list[n].verdict = p->verdict == DP_EDIT_PDU_REPLACE
				      ? (complete ? DP_EDIT_PDU_REPLACE : DP_EDIT_PDU_PENDING)
				      : DP_EDIT_PDU_PASS;
		n++;
		if (!complete)
			break;
	}
	struct dp_edit_seg s = {.seq = m->sbase + off,
				.ack = m->base + m->rcv_nxt,
				.len = len,
				.flags = DP_EDIT_TCP_ACK};
	struct dp_edit_out out;
	int rc = dp_edit_segment(&m->ctx, &m->f, DP_EDIT_S2E, &s, list, n, now, &out);
	if (out.action & DP_EDIT_ACT_RESET_BOTH) {
		m->reset = 1;
		return 0;
	}
	if (rc != DP_EDIT_OK)
		return em_fail(m, "dp_edit_segment (SMSC) failed", (uint32_t)-rc, off);
	for (uint32_t r = 0; r < out.n; r++) {
		const struct dp_edit_range *g = &out.r[r];
		if (g->src == DP_EDIT_SRC_INJ)
			continue; /* sent by em_tx() */
		uint32_t o = g->seq - m->sbase, no = g->out_seq - m->sbase;
		if (g->src == DP_EDIT_SRC_REPL) {
			const struct em_pdu *p = NULL;
			for (uint32_t i = 0; i < m->nspdus; i++)
				if (m->spdus[i].off == o)
					p = &m->spdus[i];
			if (!p || p->verdict != DP_EDIT_PDU_REPLACE || g->len != p->rlen ||
			    p->off + p->len > m->sR)
				return em_fail(m, "S2E REPL range not a replaced response", o, g->len);
			const uint8_t *lib = dp_edit_repl_data(&m->f, DP_EDIT_S2E, g);
			if (!lib || memcmp(lib, m->srdata + p->roff, p->rlen) != 0)
				return em_fail(m, "S2E replacement bytes differ", o, g->len);
			if (em_put(m, 1, no, m->srdata + p->roff, g->len, mode))
				return -1;
			continue;
		}
		for (uint32_t j = 0; j < g->len; j++) {
			const struct em_pdu *p = NULL;
			for (uint32_t i = 0; i < m->nspdus; i++)
				if (o + j >= m->spdus[i].off && o + j < m->spdus[i].off + m->spdus[i].len)
					p = &m->spdus[i];
			if (p && p->verdict == DP_EDIT_PDU_REPLACE)
				return em_fail(m, "forwarded a byte of a replaced response", o + j, 0);
		}
		if (o > m->stotal || g->len > m->stotal - o)
			return em_fail(m, "SMSC range outside its stream", o, g->len);
		for (uint32_t j = 0; j < g->len; j++)
			if (!m->sgot[o + j])
				return em_fail(m, "forwarded an SMSC byte never received", o + j,
					       0);
		if (em_put(m, 1, no, m->sdata + o, g->len, mode))
			return -1;
	}
	/* The SMSC's segment also acknowledged ESME bytes. */
	uint32_t a = dp_edit_seqadj_unmap(&m->f.h[DP_EDIT_E2S].sa, m->base + m->rcv_nxt) - m->base;
	return em_esme_sees_ack(m, a, m->rcv_nxt);
}

/* After the whole ESME stream arrived: the SMSC has exactly the passed PDUs
 * and the ESME sees every byte acknowledged. */
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

/* Bytes the ESME must end up with: the SMSC's PDUs (rewritten ones as
 * their replacements) and the injected responses. */
static inline uint32_t em_s2e_want(const struct em *m)
{
	uint32_t want = m->nresp * EM_RESP_LEN;
	for (uint32_t i = 0; i < m->nspdus; i++)
		want += m->spdus[i].verdict == DP_EDIT_PDU_REPLACE ? m->spdus[i].rlen : m->spdus[i].len;
	return want;
}

/* After everything arrived toward the ESME: its stream is the SMSC's PDUs in
 * order with each injected response once, whole, at a PDU boundary; the
 * SMSC sees all its bytes acknowledged; nothing is outstanding. */
static inline int em_check_done_s2e(struct em *m)
{
	uint32_t want = em_s2e_want(m);
	if (m->ercv != want)
		return em_fail(m, "ESME stream incomplete", m->ercv, want);
	uint32_t pos = 0, sp = 0, seen = 0, last_resp = 0;
	while (pos < want) {
		if (m->erx[pos] == 0xee) {
			uint32_t i = m->erx[pos + 1];
			if (i >= m->npdus || m->responded[i] != 1 ||
			    memcmp(m->erx + pos, m->resp[i], EM_RESP_LEN) != 0)
				return em_fail(m, "ESME got a broken response", pos, i);
			if (seen && i <= last_resp)
				return em_fail(m, "responses out of order or twice", i, last_resp);
			last_resp = i;
			seen++;
			pos += EM_RESP_LEN;
			continue;
		}
		if (sp >= m->nspdus)
			return em_fail(m, "ESME stream longer than the SMSC's PDUs", pos, sp);
		const struct em_pdu *q = &m->spdus[sp];
		bool rp = q->verdict == DP_EDIT_PDU_REPLACE;
		const uint8_t *w = rp ? m->srdata + q->roff : m->sdata + q->off;
		uint32_t wl = rp ? q->rlen : q->len;
		if (pos + wl > want || memcmp(m->erx + pos, w, wl) != 0)
			return em_fail(m, "ESME stream is not the SMSC's PDUs (rewritten)", pos, sp);
		pos += wl;
		sp++;
	}
	if (sp != m->nspdus || seen != m->nresp)
		return em_fail(m, "ESME missed PDUs or responses", sp, seen);
	if (m->smsc_acked != m->stotal)
		return em_fail(m, "SMSC not fully acknowledged", m->smsc_acked, m->stotal);
	if (dp_edit_inj_outstanding(&m->f) != 0)
		return em_fail(m, "responses still outstanding", dp_edit_inj_outstanding(&m->f), 0);
	return 0;
}

#endif /* EDIT_MODEL_H */
