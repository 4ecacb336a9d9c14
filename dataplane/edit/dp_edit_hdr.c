/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw IPv4/IPv6/TCP header helpers: parse, rewrite seq/ack/SACK with an
 * incremental checksum update (RFC 1624), full checksums after a payload
 * change, and header templates for segments the library originates.
 * All multi-byte fields are read and written bytewise (no alignment needs).
 */
#include "dp_edit_priv.h"

#include <string.h>

#define TCPOPT_EOL  0
#define TCPOPT_NOP  1
#define TCPOPT_SACK 5
#define TCPOPT_TS   8

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One's-complement sum of `len` bytes as big-endian 16-bit words (an odd
 * last byte is padded with zero), not folded beyond 32 bits. */
static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t acc)
{
	for (; len >= 2; p += 2, len -= 2)
		acc += rd16(p);
	if (len)
		acc += (uint32_t)p[0] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* RFC 1624 eqn. 3 over whole regions: HC' = ~(~HC + ~m + m'), where m and m'
 * are the folded sums of the old and new contents (same alignment). */
static uint16_t csum_update(uint16_t hc, uint16_t m_old, uint16_t m_new)
{
	uint32_t acc = (uint16_t)~hc;
	acc += (uint16_t)~m_old;
	acc += m_new;
	return (uint16_t)~fold(acc);
}

int dp_edit_pkt_parse(struct dp_edit_pkt *pkt, uint8_t *l3, uint32_t len)
{
	if (!pkt || !l3 || len < 1)
		return DP_EDIT_EINVAL;
	memset(pkt, 0, sizeof(*pkt));
	uint32_t ip_total, off;
	uint8_t proto;
	if ((l3[0] >> 4) == 4) {
		if (len < 20)
			return DP_EDIT_ETRUNC;
		off = (uint32_t)(l3[0] & 0x0f) * 4;
		ip_total = rd16(l3 + 2);
		if (off < 20 || ip_total < off || ip_total > len)
			return DP_EDIT_ETRUNC;
		if (rd16(l3 + 6) & 0x3fff)
			return DP_EDIT_EINVAL; /* a fragment */
		proto = l3[9];
		pkt->ipver = 4;
	} else if ((l3[0] >> 4) == 6) {
		if (len < 40)
			return DP_EDIT_ETRUNC;
		ip_total = 40u + rd16(l3 + 4);
		if (ip_total > len)
			return DP_EDIT_ETRUNC;
		proto = l3[6];
		off = 40;
		/* Hop-by-hop, routing, destination options, an atomic fragment
		 * header (RFC 6946: receivers skip it, as dp_frame_parse does): skip. */
		for (int guard = 0; proto == 0 || proto == 43 || proto == 60 || proto == 44; guard++) {
			if (guard >= 8 || off + 8 > ip_total)
				return DP_EDIT_ETRUNC;
			uint32_t el = ((uint32_t)l3[off + 1] + 1) * 8;
			if (proto == 44) {
				if (rd16(l3 + off + 2) & 0xfff9)
					return DP_EDIT_EINVAL; /* a fragment */
				el = 8;
			}
			if (off + el > ip_total)
				return DP_EDIT_ETRUNC;
			proto = l3[off];
			off += el;
		}
		pkt->ipver = 6;
	} else {
		return DP_EDIT_ETRUNC;
	}
	if (proto != 6)
		return DP_EDIT_EINVAL;
	if (off + 20 > ip_total)
		return DP_EDIT_ETRUNC;
	uint32_t thl = (uint32_t)(l3[off + 12] >> 4) * 4;
	if (thl < 20 || off + thl > ip_total)
		return DP_EDIT_ETRUNC;
	pkt->l3 = l3;
	pkt->l4 = l3 + off;
	pkt->l3_len = off;
	pkt->l4_len = thl;
	pkt->payload_len = ip_total - off - thl;
	return DP_EDIT_OK;
}

void dp_edit_tcp_set_seq_ack(uint8_t *l4, uint32_t seq, uint32_t ack)
{
	uint16_t m_old = fold(sum16(l4 + 4, 8, 0));
	wr32(l4 + 4, seq);
	wr32(l4 + 8, ack);
	uint16_t m_new = fold(sum16(l4 + 4, 8, 0));
	wr16(l4 + 16, csum_update(rd16(l4 + 16), m_old, m_new));
}

void dp_edit_tcp_put32(uint8_t *l4, uint32_t off, uint32_t v)
{
	/* the 16-bit words (from the header's start) the 4 bytes touch */
	uint32_t a = off & ~1u, n = ((off + 5) & ~1u) - a;
	uint16_t m_old = fold(sum16(l4 + a, n, 0));
	wr32(l4 + off, v);
	uint16_t m_new = fold(sum16(l4 + a, n, 0));
	wr16(l4 + 16, csum_update(rd16(l4 + 16), m_old, m_new));
}

/* Rewrite the SACK blocks of the option area in place (unmapped through
 * `sa`); blocks that collapse are dropped and their room becomes NOPs. */
static int sack_rewrite(struct dp_edit_ctx *ctx, const struct dp_edit_seqadj *sa, uint8_t *opt,
			uint32_t olen)
{
	uint32_t i = 0;
	while (i < olen) {
		uint8_t kind = opt[i];
		if (kind == TCPOPT_EOL)
			return DP_EDIT_OK;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= olen)
			return DP_EDIT_ETRUNC;
		uint32_t l = opt[i + 1];
		if (l < 2 || i + l > olen)
			return DP_EDIT_ETRUNC;
		if (kind == TCPOPT_SACK) {
			if (l < 10 || (l - 2) % 8 != 0)
				return DP_EDIT_ETRUNC;
			uint32_t nb = (l - 2) / 8, keep = 0;
			uint32_t blk[4][2];
			for (uint32_t b = 0; b < nb && b < 4; b++) {
				uint32_t le = dp_edit_seqadj_unmap(sa, rd32(opt + i + 2 + 8 * b));
				uint32_t re = dp_edit_seqadj_unmap(sa, rd32(opt + i + 6 + 8 * b));
				if (dp_edit_seq_lt(le, re)) {
					blk[keep][0] = le;
					blk[keep][1] = re;
					keep++;
					ctx->cnt.sack_mapped++;
				} else {
					ctx->cnt.sack_dropped++;
				}
			}
			if (keep == 0) {
				memset(opt + i, TCPOPT_NOP, l);
			} else {
				uint32_t nl = 2 + 8 * keep;
				opt[i + 1] = (uint8_t)nl;
				for (uint32_t b = 0; b < keep; b++) {
					wr32(opt + i + 2 + 8 * b, blk[b][0]);
					wr32(opt + i + 6 + 8 * b, blk[b][1]);
				}
				/* Shorter option: NOPs before it keep the rest
				 * aligned where it was. */
				if (nl < l) {
					memmove(opt + i + (l - nl), opt + i, nl);
					memset(opt + i, TCPOPT_NOP, l - nl);
				}
			}
		}
		i += l;
	}
	return DP_EDIT_OK;
}

/* @return true if the option area holds a SACK option (well-formed or not). */
static bool has_sack(const uint8_t *opt, uint32_t olen)
{
	uint32_t i = 0;
	while (i < olen && opt[i] != TCPOPT_EOL) {
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (opt[i] == TCPOPT_SACK)
			return true;
		if (i + 1 >= olen || opt[i + 1] < 2)
			return true; /* malformed: let sack_rewrite() say so */
		i += opt[i + 1];
	}
	return false;
}

int dp_edit_pkt_rewrite(struct dp_edit_ctx *ctx, const struct dp_edit_flow *f, enum dp_edit_dir dir,
			struct dp_edit_pkt *pkt, uint32_t out_seq)
{
	if (!ctx || !f || !pkt || !pkt->l4 || pkt->l4_len < 20 || pkt->l4_len > 60)
		return DP_EDIT_EINVAL;
	uint8_t *t = pkt->l4;
	const struct dp_edit_seqadj *rsa = &f->h[!dir].sa;
	const bool ack = (t[13] & DP_EDIT_TCP_ACK) != 0;
	if (!ack || pkt->l4_len == 20 || !has_sack(t + 20, pkt->l4_len - 20)) {
		/* Common case: only seq and ack change (8 bytes, aligned). */
		uint32_t a = rd32(t + 8);
		uint32_t na = ack ? dp_edit_seqadj_unmap(rsa, a) : a;
		if (na != a)
			ctx->cnt.acks_mapped++;
		if (na != a || rd32(t + 4) != out_seq)
			dp_edit_tcp_set_seq_ack(t, out_seq, na);
		return DP_EDIT_OK;
	}
	uint8_t old[60];
	memcpy(old, t, pkt->l4_len);
	wr32(t + 4, out_seq);
	uint32_t a = rd32(t + 8);
	uint32_t na = dp_edit_seqadj_unmap(rsa, a);
	if (na != a)
		ctx->cnt.acks_mapped++;
	wr32(t + 8, na);
	int rc = sack_rewrite(ctx, rsa, t + 20, pkt->l4_len - 20);
	if (rc != DP_EDIT_OK)
		memcpy(t + 20, old + 20, pkt->l4_len - 20);
	/* Sum the header without its checksum field, before and after. */
	uint16_t m_old = fold(sum16(old + 18, pkt->l4_len - 18, sum16(old, 16, 0)));
	uint16_t m_new = fold(sum16(t + 18, pkt->l4_len - 18, sum16(t, 16, 0)));
	wr16(t + 16, csum_update(rd16(t + 16), m_old, m_new));
	return rc;
}

int dp_edit_emit(struct dp_edit_ctx *ctx, const struct dp_edit_flow *f, enum dp_edit_dir dir,
		 const uint8_t *frame, const struct dp_edit_pkt *pkt, uint32_t out_seq,
		 const uint8_t *payload, uint32_t len, uint8_t keep_flags, uint8_t *buf,
		 uint32_t cap)
{
	if (!ctx || !f || !frame || !pkt || !pkt->l3 || !pkt->l4 || pkt->l3 < frame ||
	    pkt->l4 != pkt->l3 + pkt->l3_len || (len > 0 && !payload) || !buf)
		return DP_EDIT_EINVAL;
	uint32_t hl = (uint32_t)(pkt->l4 - frame) + pkt->l4_len;
	if (len > 65535 - pkt->l3_len - pkt->l4_len)
		return DP_EDIT_EINVAL;
	if (hl + len > cap)
		return DP_EDIT_EFULL;
	memcpy(buf, frame, hl);
	if (len)
		memcpy(buf + hl, payload, len);
	struct dp_edit_pkt o = *pkt;
	o.l3 = buf + (pkt->l3 - frame);
	o.l4 = o.l3 + pkt->l3_len;
	o.l4[13] = (uint8_t)((o.l4[13] & ~(DP_EDIT_TCP_FIN | DP_EDIT_TCP_RST)) |
			     (keep_flags & (DP_EDIT_TCP_FIN | DP_EDIT_TCP_RST)));
	int rc = dp_edit_pkt_rewrite(ctx, f, dir, &o, out_seq);
	if (rc != DP_EDIT_OK && rc != DP_EDIT_ETRUNC)
		return rc;
	dp_edit_pkt_set_payload_len(&o, len);
	dp_edit_pkt_csum_full(&o);
	return (int)(hl + len);
}

static void ipv4_csum(uint8_t *ip)
{
	uint32_t hl = (uint32_t)(ip[0] & 0x0f) * 4;
	wr16(ip + 10, 0);
	wr16(ip + 10, (uint16_t)~fold(sum16(ip, hl, 0)));
}

void dp_edit_pkt_set_payload_len(struct dp_edit_pkt *pkt, uint32_t payload_len)
{
	pkt->payload_len = payload_len;
	uint32_t l = pkt->l3_len + pkt->l4_len + payload_len;
	if (pkt->ipver == 4) {
		wr16(pkt->l3 + 2, (uint16_t)l);
		ipv4_csum(pkt->l3);
	} else {
		wr16(pkt->l3 + 4, (uint16_t)(l - 40));
	}
}

static uint16_t tcp_csum(const struct dp_edit_pkt *pkt)
{
	uint32_t tl = pkt->l4_len + pkt->payload_len;
	uint32_t acc;
	if (pkt->ipver == 4) {
		acc = sum16(pkt->l3 + 12, 8, 0);
	} else {
		acc = sum16(pkt->l3 + 8, 32, 0);
		acc += tl >> 16;
	}
	acc += 6;
	acc += tl & 0xffff;
	acc = sum16(pkt->l4, 16, acc);
	acc = sum16(pkt->l4 + 18, tl - 18, acc);
	return (uint16_t)~fold(acc);
}

void dp_edit_pkt_csum_full(struct dp_edit_pkt *pkt)
{
	wr16(pkt->l4 + 16, tcp_csum(pkt));
}

bool dp_edit_pkt_csum_ok(const struct dp_edit_pkt *pkt)
{
	/* The sum over everything, checksum field included, is all ones. */
	uint32_t tl = pkt->l4_len + pkt->payload_len;
	uint32_t acc =
	    pkt->ipver == 4 ? sum16(pkt->l3 + 12, 8, 0) : sum16(pkt->l3 + 8, 32, 0) + (tl >> 16);
	acc += 6 + (tl & 0xffff);
	return fold(sum16(pkt->l4, tl, acc)) == 0xffff;
}

int dp_edit_tmpl_save(struct dp_edit_flow *f, enum dp_edit_dir dir, const uint8_t *frame,
		      const struct dp_edit_pkt *pkt)
{
	if (!f || !frame || !pkt || !pkt->l3 || pkt->l3 < frame)
		return DP_EDIT_EINVAL;
	struct dp_edit_tmpl *t = &f->tmpl[dir];
	uint32_t l2 = (uint32_t)(pkt->l3 - frame);
	uint32_t l3 = pkt->ipver == 4 ? 20 : 40;
	if (l2 + l3 + 32 > DP_EDIT_TMPL_MAX)
		return DP_EDIT_EFULL;
	memcpy(t->hdr, frame, l2);
	memcpy(t->hdr + l2, pkt->l3, l3);
	uint8_t *ip = t->hdr + l2;
	if (pkt->ipver == 4) {
		ip[0] = 0x45;
	} else {
		/* The TCP header follows the fixed header directly. */
		ip[6] = 6;
	}
	uint8_t *tcp = ip + l3;
	memcpy(tcp, pkt->l4, 20);
	uint32_t tl = 20;
	const uint8_t *o = pkt->l4 + 20;
	uint32_t ol = pkt->l4_len - 20, i = 0;
	while (i < ol && o[i] != TCPOPT_EOL) {
		if (o[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= ol || o[i + 1] < 2 || i + o[i + 1] > ol)
			break;
		if (o[i] == TCPOPT_TS && o[i + 1] == 10) {
			tcp[20] = TCPOPT_NOP;
			tcp[21] = TCPOPT_NOP;
			memcpy(tcp + 22, o + i, 10);
			tl = 32;
			break;
		}
		i += o[i + 1];
	}
	tcp[12] = (uint8_t)((tl / 4) << 4);
	t->l2_len = (uint8_t)l2;
	t->l3_len = (uint8_t)l3;
	t->l4_len = (uint8_t)tl;
	t->ipver = pkt->ipver;
	return DP_EDIT_OK;
}

int dp_edit_build_seg(const struct dp_edit_flow *f, enum dp_edit_dir dir, uint32_t seq,
		      uint32_t ack, uint8_t flags, const uint8_t *payload, uint32_t len,
		      uint8_t *buf, uint32_t cap)
{
	if (!f || !buf || (len > 0 && !payload) || len > 65000)
		return DP_EDIT_EINVAL;
	const struct dp_edit_tmpl *t = &f->tmpl[dir];
	bool swap = false;
	if (t->ipver == 0) {
		t = &f->tmpl[!dir];
		swap = true;
		if (t->ipver == 0)
			return DP_EDIT_ESTATE;
	}
	uint32_t hl = (uint32_t)t->l2_len + t->l3_len + t->l4_len;
	if (hl + len > cap)
		return DP_EDIT_EFULL;
	memcpy(buf, t->hdr, hl);
	uint8_t *ip = buf + t->l2_len, *tcp = ip + t->l3_len;
	uint8_t tmp[16];
	if (swap) {
		if (t->l2_len >= 12) {
			memcpy(tmp, buf, 6);
			memmove(buf, buf + 6, 6);
			memcpy(buf + 6, tmp, 6);
		}
		uint32_t ao = t->ipver == 4 ? 12 : 8, al = t->ipver == 4 ? 4 : 16;
		memcpy(tmp, ip + ao, al);
		memmove(ip + ao, ip + ao + al, al);
		memcpy(ip + ao + al, tmp, al);
		memcpy(tmp, tcp, 2);
		memmove(tcp, tcp + 2, 2);
		memcpy(tcp + 2, tmp, 2);
		if (t->l4_len == 32) {
			memcpy(tmp, tcp + 24, 4);
			memmove(tcp + 24, tcp + 28, 4);
			memcpy(tcp + 28, tmp, 4);
		}
	}
	wr32(tcp + 4, seq);
	wr32(tcp + 8, ack);
	tcp[13] = flags;
	wr16(tcp + 18, 0);
	if (len)
		memcpy(tcp + t->l4_len, payload, len);
	struct dp_edit_pkt pkt = {.l3 = ip,
				  .l4 = tcp,
				  .l3_len = t->l3_len,
				  .l4_len = t->l4_len,
				  .payload_len = len,
				  .ipver = t->ipver};
	dp_edit_pkt_set_payload_len(&pkt, len);
	dp_edit_pkt_csum_full(&pkt);
	return (int)(hl + len);
}

int dp_edit_build_rst(const struct dp_edit_flow *f, enum dp_edit_dir dir, uint8_t *buf,
		      uint32_t cap)
{
	if (!f || !buf)
		return DP_EDIT_EINVAL;
	const struct dp_edit_half *h = &f->h[dir];
	uint32_t seq =
	    (h->flags & DP_EDIT_HF_ACK_VALID) ? h->rcv_ack : dp_edit_seqadj_map(&h->sa, h->snd_max);
	bool valid;
	uint32_t ack = dp_edit_ack_for(f, dir, &valid);
	uint8_t flags = DP_EDIT_TCP_RST | (valid ? DP_EDIT_TCP_ACK : 0);
	return dp_edit_build_seg(f, dir, seq, valid ? ack : 0, flags, NULL, 0, buf, cap);
}
