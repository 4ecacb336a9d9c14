/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restart probe: after a dataplane restart a flow that was edited before has
 * two sequence spaces that no longer meet, and it would stall (the SMSC drops
 * segments that acknowledge bytes it never sent; the ESME ignores ACKs below
 * what it believes acknowledged). Recognise it from the first segments so the
 * dataplane can reset both ends at once and the ESME rebinds.
 */
#include "dp_edit_priv.h"

#include <string.h>

#define PF_SEEN(d)  (0x01u << (d)) /* any segment of direction d */
#define PF_DATA(d)  (0x04u << (d)) /* a data segment of direction d */
#define PF_ACK(d)   (0x10u << (d)) /* ack[d] valid */
#define PF_STUCK(d) (0x40u << (d)) /* stuck_ack[d] valid */

void dp_edit_probe_init(struct dp_edit_probe *p)
{
	memset(p, 0, sizeof(*p));
}

int dp_edit_probe_segment(struct dp_edit_ctx *ctx, struct dp_edit_probe *p, enum dp_edit_dir dir,
			  const struct dp_edit_seg *seg)
{
	if (!ctx || !p || !seg || (dir != DP_EDIT_E2S && dir != DP_EDIT_S2E))
		return DP_EDIT_EINVAL;
	if (seg->flags & (DP_EDIT_TCP_SYN | DP_EDIT_TCP_RST))
		return DP_EDIT_OK;
	const unsigned d = dir, o = !dir;
	const uint32_t s = seg->seq, e = seg->seq + seg->len;
	bool retrans = (p->flags & PF_SEEN(d)) && seg->len > 0 && dp_edit_seq_lt(s, p->snd_max[d]);

	/* Injected bytes before the restart: the other side acknowledged
	 * `ack[d]`, yet this pure segment shows the sender's snd_nxt below it
	 * (keepalives sit one below snd_una: allowed). */
	if (seg->len == 0 && !(seg->flags & DP_EDIT_TCP_FIN) && (p->flags & PF_ACK(d)) &&
	    dp_edit_seq_lt(s + 1, p->ack[d])) {
		ctx->cnt.probe_mismatch++;
		return DP_EDIT_EMISMATCH;
	}
	/* The same from new data: a segment past everything seen from this
	 * sender starts at its snd_nxt, which cannot be below what the peer
	 * acknowledged. Two of them, since the first segment after pick-up
	 * may be a retransmission of bytes sent before it. */
	if (seg->len > 0 && (p->flags & PF_ACK(d)) && (p->flags & PF_SEEN(d)) &&
	    !dp_edit_seq_lt(s, p->snd_max[d]) && dp_edit_seq_lt(s + 1, p->ack[d])) {
		if (++p->unsent_cnt[d] >= 2) {
			ctx->cnt.probe_mismatch++;
			return DP_EDIT_EMISMATCH;
		}
	}
	/* Removed bytes before the restart: the receiver is stuck at A, the
	 * sender never sent byte A since pick-up and retransmits data above
	 * it only. */
	if (seg->len > 0) {
		if ((p->flags & PF_STUCK(d)) && dp_edit_seq_le(s, p->stuck_ack[d]) &&
		    dp_edit_seq_lt(p->stuck_ack[d], e)) {
			p->flags &= ~PF_STUCK(d); /* the sender is recovering A */
			p->stuck_cnt[d] = 0;
		} else if (retrans && (p->flags & PF_STUCK(d)) &&
			   dp_edit_seq_lt(p->stuck_ack[d], p->lo_seq[d]) &&
			   dp_edit_seq_lt(p->stuck_ack[d], s)) {
			if (++p->stuck_cnt[d] >= ctx->cfg.probe_dupacks) {
				ctx->cnt.probe_mismatch++;
				return DP_EDIT_EMISMATCH;
			}
		}
		if (!(p->flags & PF_DATA(d)) || dp_edit_seq_lt(s, p->lo_seq[d]))
			p->lo_seq[d] = s;
		p->flags |= PF_DATA(d);
	}
	if (!(p->flags & PF_SEEN(d)) || dp_edit_seq_lt(p->snd_max[d], e))
		p->snd_max[d] = e;
	p->flags |= PF_SEEN(d);

	/* This segment's ACK acknowledges the other direction's data. */
	if (seg->flags & DP_EDIT_TCP_ACK) {
		uint32_t a = seg->ack;
		if (!(p->flags & PF_ACK(o)) || dp_edit_seq_lt(p->ack[o], a)) {
			p->ack[o] = a;
			p->flags |= PF_ACK(o);
			p->flags &= ~PF_STUCK(o);
			p->stuck_cnt[o] = 0;
		} else if (a == p->ack[o] && (p->flags & PF_DATA(o)) &&
			   dp_edit_seq_lt(a, p->lo_seq[o])) {
			/* Stays below every byte the other side sent. */
			p->stuck_ack[o] = a;
			p->flags |= PF_STUCK(o);
		}
	}
	return DP_EDIT_OK;
}
