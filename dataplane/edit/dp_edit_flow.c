/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-segment editing: holding, trimming, removal of blocked PDUs, mapping of
 * retransmissions, ACK bookkeeping, FIN/RST, and the injected-response queue.
 * Runs on worker lcores: no allocation, no locks, every loop bounded by a
 * fixed-size table or by the caller's PDU list.
 */
#include "dp_edit_priv.h"

#include <string.h>

/* Per-flow state stays small enough to keep in a pool beside the flow. */
_Static_assert(sizeof(struct dp_edit_flow) <= 17408, "dp_edit_flow grew");
_Static_assert(DP_EDIT_INJ_BYTES <= UINT16_MAX, "inj offsets are 16-bit");
_Static_assert(DP_EDIT_REPL_BYTES <= UINT16_MAX, "repl offsets are 16-bit");

static const char *const status_text[] = {
    [0] = "ok",
    [1] = "nothing to do now",
    [2] = "invalid argument",
    [3] = "bounded table full",
    [4] = "not in stream order",
    [5] = "header truncated or malformed",
    [6] = "not valid in the flow's state",
    [7] = "sequence spaces do not match",
};

const char *dp_edit_strerror(int status)
{
	if (status > 0 || status < DP_EDIT_EMISMATCH)
		return "unknown dp_edit status";
	return status_text[-status];
}

void dp_edit_config_default(struct dp_edit_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_hold_bytes = 64 * 1024;
	cfg->hold_policy = DP_EDIT_FAIL_CLOSED;
	cfg->edits_policy = DP_EDIT_FAIL_CLOSED;
	cfg->inj_policy = DP_EDIT_FAIL_CLOSED;
	cfg->rto_initial_ns = 200ull * 1000 * 1000;
	cfg->rto_max_ns = 3200ull * 1000 * 1000;
	cfg->max_resends = 8;
	cfg->dupack_threshold = 3;
	cfg->probe_dupacks = 3;
}

void dp_edit_ctx_init(struct dp_edit_ctx *ctx, const struct dp_edit_config *cfg)
{
	memset(ctx, 0, sizeof(*ctx));
	if (cfg)
		ctx->cfg = *cfg;
	else
		dp_edit_config_default(&ctx->cfg);
	if (ctx->cfg.rto_initial_ns == 0)
		ctx->cfg.rto_initial_ns = 1;
	if (ctx->cfg.rto_max_ns < ctx->cfg.rto_initial_ns)
		ctx->cfg.rto_max_ns = ctx->cfg.rto_initial_ns;
	if (ctx->cfg.dupack_threshold == 0)
		ctx->cfg.dupack_threshold = 1;
}

void dp_edit_flow_init(struct dp_edit_flow *f)
{
	memset(f, 0, sizeof(*f));
}

int dp_edit_dir_start(struct dp_edit_flow *f, enum dp_edit_dir dir, uint32_t seq)
{
	struct dp_edit_half *h = &f->h[dir];
	if (h->sa.n > 0 || h->sa.base_delta != 0)
		return DP_EDIT_ESTATE;
	h->rel = seq;
	if (!(h->flags & DP_EDIT_HF_SENT) || dp_edit_seq_lt(h->snd_max, seq))
		h->snd_max = seq;
	if (!(h->flags & DP_EDIT_HF_SENT) || dp_edit_seq_lt(h->snd_nxt_new, seq))
		h->snd_nxt_new = seq;
	h->flags |= DP_EDIT_HF_SYNCED | DP_EDIT_HF_SENT;
	h->flags &= (uint16_t)~DP_EDIT_HF_MID;
	return DP_EDIT_OK;
}

int dp_edit_dir_start_mid(struct dp_edit_flow *f, enum dp_edit_dir dir, uint32_t seq)
{
	int rc = dp_edit_dir_start(f, dir, seq);
	if (rc == DP_EDIT_OK)
		f->h[dir].flags |= DP_EDIT_HF_MID;
	return rc;
}

bool dp_edit_dir_synced(const struct dp_edit_flow *f, enum dp_edit_dir dir)
{
	return (f->h[dir].flags & DP_EDIT_HF_SYNCED) != 0;
}

uint32_t dp_edit_dir_release_seq(const struct dp_edit_flow *f, enum dp_edit_dir dir)
{
	return f->h[dir].rel;
}

uint32_t dp_edit_ack_for(const struct dp_edit_flow *f, enum dp_edit_dir dir, bool *valid)
{
	/* A segment of `dir` acknowledges the other direction's data: the ack
	 * the other direction's receiver (our sender) would see is the unmapped
	 * last ack of that direction's receiver. */
	const struct dp_edit_half *o = &f->h[!dir];
	*valid = (o->flags & DP_EDIT_HF_ACK_VALID) != 0;
	return dp_edit_seqadj_unmap(&o->sa, o->rcv_ack);
}

uint32_t dp_edit_inj_outstanding(const struct dp_edit_flow *f)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < f->inj_n; i++)
		n += f->inj[i].len;
	return n;
}

bool dp_edit_flow_reset_pending(const struct dp_edit_flow *f)
{
	return (f->flags & DP_EDIT_FF_RESET) != 0;
}

bool dp_edit_flow_done(const struct dp_edit_flow *f)
{
	if (f->flags & DP_EDIT_FF_RST)
		return true;
	for (int d = 0; d < 2; d++)
		if (!(f->h[d].flags & DP_EDIT_HF_FIN_ACKED))
			return false;
	return f->inj_n == 0;
}

uint64_t dp_edit_next_deadline(const struct dp_edit_flow *f)
{
	return f->rto_deadline;
}

/* ---- output building ---- */

static void out_add(struct dp_edit_out *out, struct dp_edit_ctx *ctx, uint32_t seq, uint32_t len,
		    uint32_t out_seq, uint32_t src)
{
	if (len == 0)
		return;
	if (out->n > 0) {
		struct dp_edit_range *p = &out->r[out->n - 1];
		/* Contiguous in both spaces and from the same place: one range. */
		if (p->src == src && src != DP_EDIT_SRC_INJ && src != DP_EDIT_SRC_REPL &&
		    p->seq + p->len == seq &&
		    p->out_seq + p->len == out_seq) {
			p->len += len;
			return;
		}
	}
	if (out->n >= DP_EDIT_MAX_RANGES) {
		/* Cannot happen with the bounds of the callers below (at most
		 * one range per edit plus one per PDU boundary, and the edit
		 * table is smaller); counted if it ever does. */
		ctx->cnt.bad_pdu_list++;
		return;
	}
	out->r[out->n++] =
	    (struct dp_edit_range){.seq = seq, .len = len, .out_seq = out_seq, .src = src};
}

/* Bytes [lo, hi) that the stream layer or this segment holds: SEG for the
 * part inside the segment, HELD otherwise. */
static void emit_new(struct dp_edit_out *out, struct dp_edit_ctx *ctx, const struct dp_edit_half *h,
		     uint32_t lo, uint32_t hi, uint32_t s, uint32_t e)
{
	while (dp_edit_seq_lt(lo, hi)) {
		uint32_t end;
		uint32_t src;
		if (dp_edit_seq_lt(lo, s)) {
			end = dp_edit_seq_min(hi, s);
			src = DP_EDIT_SRC_HELD;
		} else if (dp_edit_seq_lt(lo, e)) {
			end = dp_edit_seq_min(hi, e);
			src = DP_EDIT_SRC_SEG;
		} else {
			end = hi;
			src = DP_EDIT_SRC_HELD;
		}
		out_add(out, ctx, lo, end - lo, dp_edit_seqadj_map(&h->sa, lo), src);
		if (src == DP_EDIT_SRC_HELD)
			ctx->cnt.bytes_released += end - lo;
		lo = end;
	}
}

/* Retransmitted bytes [lo, hi) of this segment, all before the release
 * point: forward them minus every removed range they overlap, split where
 * bytes were inserted (the part after an insertion point moves). */
static uint32_t emit_retrans(struct dp_edit_out *out, struct dp_edit_ctx *ctx,
			     const struct dp_edit_half *h, uint32_t lo, uint32_t hi)
{
	uint32_t removed = 0;
	bool edited = false;
	for (uint32_t i = 0; i < h->sa.n && dp_edit_seq_lt(lo, hi); i++) {
		const struct dp_edit_ent *ed = &h->sa.ent[i];
		uint32_t rs = ed->pos, re = ed->pos + ed->rm;
		if (dp_edit_seq_le(hi, rs))
			break;
		if (ed->ins > 0 && dp_edit_seq_lt(lo, rs)) {
			out_add(out, ctx, lo, rs - lo, dp_edit_seqadj_map(&h->sa, lo),
				DP_EDIT_SRC_SEG);
			lo = rs;
			edited = true;
		}
		if (ed->rm == 0 || dp_edit_seq_le(re, lo))
			continue;
		if (dp_edit_seq_lt(lo, rs))
			out_add(out, ctx, lo, rs - lo, dp_edit_seqadj_map(&h->sa, lo),
				DP_EDIT_SRC_SEG);
		if (ed->ins > 0) {
			/* A replaced PDU: any byte of it retransmitted brings
			 * the whole replacement again (the receiver keeps what
			 * it has). */
			out_add(out, ctx, rs, ed->ins, rs + (i == 0 ? h->sa.base_delta
								    : h->sa.ent[i - 1].delta),
				DP_EDIT_SRC_REPL);
			ctx->cnt.repl_resent++;
		}
		uint32_t cut_end = dp_edit_seq_min(re, hi);
		uint32_t cut_start = dp_edit_seq_max(rs, lo);
		removed += cut_end - cut_start;
		edited = true;
		lo = cut_end;
	}
	if (dp_edit_seq_lt(lo, hi))
		out_add(out, ctx, lo, hi - lo, dp_edit_seqadj_map(&h->sa, lo), DP_EDIT_SRC_SEG);
	if (edited)
		ctx->cnt.retrans_edited++;
	return removed;
}

/* ---- replaced PDUs ---- */

static struct dp_edit_repl *repl_find(struct dp_edit_flow *f, enum dp_edit_dir dir, uint32_t pos)
{
	for (uint32_t i = 0; i < f->repl_n; i++)
		if (f->repl[i].dir == dir && f->repl[i].pos == pos)
			return &f->repl[i];
	return NULL;
}

static void repl_drop(struct dp_edit_flow *f, uint32_t i)
{
	struct dp_edit_repl *r = &f->repl[i];
	uint32_t off = r->off, len = r->len;
	memmove(f->repl_buf + off, f->repl_buf + off + len, f->repl_used - off - len);
	f->repl_used -= len;
	memmove(&f->repl[i], &f->repl[i + 1], (f->repl_n - i - 1) * sizeof(f->repl[0]));
	f->repl_n--;
	for (uint32_t k = 0; k < f->repl_n; k++)
		if (f->repl[k].off > off)
			f->repl[k].off = (uint16_t)(f->repl[k].off - len);
}

/* The receiver of `dir` acknowledged up to `floor` (orig): replacements it
 * has in full are never sent again. */
static void repl_acked(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		       uint32_t floor)
{
	for (uint32_t i = 0; i < f->repl_n;) {
		const struct dp_edit_repl *r = &f->repl[i];
		if (r->dir == dir && dp_edit_seq_le(r->pos + r->rm, floor)) {
			repl_drop(f, i);
			ctx->cnt.repl_freed++;
		} else {
			i++;
		}
	}
}

int dp_edit_replace(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		    uint32_t pdu_seq, uint32_t pdu_len, const uint8_t *bytes, uint32_t len)
{
	if (!ctx || !f || !bytes || len == 0 || len > DP_EDIT_REPL_BYTES || pdu_len == 0 ||
	    pdu_len >= (1u << 30) || (dir != DP_EDIT_E2S && dir != DP_EDIT_S2E))
		return DP_EDIT_EINVAL;
	const struct dp_edit_half *h = &f->h[dir];
	if (!(h->flags & DP_EDIT_HF_SYNCED))
		return DP_EDIT_ESTATE;
	if (dp_edit_seq_lt(pdu_seq, h->rel))
		return DP_EDIT_EORDER;
	struct dp_edit_repl *r = repl_find(f, dir, pdu_seq);
	if (r != NULL) {
		if (r->applied)
			return DP_EDIT_EORDER;
		repl_drop(f, (uint32_t)(r - f->repl)); /* staged again: the new bytes win */
	}
	if (f->repl_n >= DP_EDIT_MAX_REPL || f->repl_used + len > DP_EDIT_REPL_BYTES)
		return DP_EDIT_EFULL;
	r = &f->repl[f->repl_n++];
	memset(r, 0, sizeof(*r));
	r->pos = pdu_seq;
	r->rm = pdu_len;
	r->off = (uint16_t)f->repl_used;
	r->len = (uint16_t)len;
	r->dir = (uint8_t)dir;
	memcpy(f->repl_buf + f->repl_used, bytes, len);
	f->repl_used += len;
	ctx->cnt.repl_staged++;
	return DP_EDIT_OK;
}

const uint8_t *dp_edit_repl_data(const struct dp_edit_flow *f, enum dp_edit_dir dir,
				 const struct dp_edit_range *r)
{
	if (!f || !r || r->src != DP_EDIT_SRC_REPL)
		return NULL;
	for (uint32_t i = 0; i < f->repl_n; i++) {
		const struct dp_edit_repl *p = &f->repl[i];
		if (p->dir == dir && p->pos == r->seq && p->applied && p->len == r->len)
			return f->repl_buf + p->off;
	}
	return NULL;
}

uint32_t dp_edit_repl_outstanding(const struct dp_edit_flow *f)
{
	return f->repl_used;
}

/* ---- injected responses ---- */

/* Place every waiting injection at S2E sender position `pos` (a PDU
 * boundary). If `out` is given, report INJ ranges. */
static void inj_place(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, uint32_t pos,
		      struct dp_edit_out *out)
{
	struct dp_edit_half *h = &f->h[DP_EDIT_S2E];
	for (uint32_t i = 0; i < f->inj_n; i++) {
		struct dp_edit_inj *in = &f->inj[i];
		if (in->placed)
			continue;
		uint32_t at = dp_edit_seqadj_map(&h->sa, pos);
		int rc = dp_edit_seqadj_add(&h->sa, pos, 0, in->len);
		if (rc != DP_EDIT_OK) {
			/* Edit table full: the response cannot be placed. Drop it
			 * (fail-open) or reset the flow (fail-closed). */
			if (ctx->cfg.edits_policy == DP_EDIT_FAIL_CLOSED) {
				ctx->cnt.edits_closed++;
				f->flags |= DP_EDIT_FF_RESET;
			} else {
				ctx->cnt.edits_open++;
			}
			/* Remove this and later waiting entries' bytes from the
			 * buffer: they are the tail of the buffer. */
			f->inj_used = in->off;
			f->inj_n = i;
			return;
		}
		in->pos = pos;
		in->out_seq = at;
		in->placed = 1;
		if (dp_edit_seq_lt(h->snd_nxt_new, at + in->len))
			h->snd_nxt_new = at + in->len;
		if (out)
			out_add(out, ctx, pos, in->len, at, DP_EDIT_SRC_INJ);
	}
}

static bool inj_waiting(const struct dp_edit_flow *f)
{
	return f->inj_n > 0 && !f->inj[f->inj_n - 1].placed;
}

static bool s2e_closing(const struct dp_edit_flow *f)
{
	return (f->flags & (DP_EDIT_FF_RST | DP_EDIT_FF_RESET)) ||
	       (f->h[DP_EDIT_S2E].flags & DP_EDIT_HF_FIN);
}

int dp_edit_inject(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, const uint8_t *pdu,
		   uint32_t len, uint64_t now)
{
	(void)now;
	if (!ctx || !f || !pdu || len == 0 || len > DP_EDIT_INJ_BYTES)
		return DP_EDIT_EINVAL;
	int rc = DP_EDIT_OK;
	if (!dp_edit_dir_synced(f, DP_EDIT_S2E) || s2e_closing(f))
		rc = DP_EDIT_ESTATE;
	else if (f->inj_n >= DP_EDIT_MAX_INJ || f->inj_used + len > DP_EDIT_INJ_BYTES)
		rc = DP_EDIT_EFULL;
	if (rc != DP_EDIT_OK) {
		if (ctx->cfg.inj_policy == DP_EDIT_FAIL_CLOSED) {
			ctx->cnt.inj_closed++;
			f->flags |= DP_EDIT_FF_RESET;
		} else {
			ctx->cnt.inj_open++;
		}
		return rc;
	}
	struct dp_edit_inj *in = &f->inj[f->inj_n++];
	memset(in, 0, sizeof(*in));
	in->off = (uint16_t)f->inj_used;
	in->len = (uint16_t)len;
	memcpy(&f->inj_buf[f->inj_used], pdu, len);
	f->inj_used += len;
	ctx->cnt.inj_queued++;
	if (!(f->h[DP_EDIT_S2E].flags & DP_EDIT_HF_MID))
		inj_place(ctx, f, f->h[DP_EDIT_S2E].rel, NULL);
	return DP_EDIT_OK;
}

/* The ESME acknowledged S2E up to `ack` (new space): drop what it covers. */
static void inj_acked(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, uint32_t ack, uint64_t now)
{
	uint32_t k = 0;
	while (k < f->inj_n && f->inj[k].placed &&
	       dp_edit_seq_le(f->inj[k].out_seq + f->inj[k].len, ack))
		k++;
	if (k == 0)
		return;
	ctx->cnt.inj_acked += k;
	uint32_t shift = k < f->inj_n ? f->inj[k].off : f->inj_used;
	memmove(f->inj_buf, f->inj_buf + shift, f->inj_used - shift);
	f->inj_used -= shift;
	memmove(&f->inj[0], &f->inj[k], (f->inj_n - k) * sizeof(f->inj[0]));
	f->inj_n -= k;
	for (uint32_t i = 0; i < f->inj_n; i++)
		f->inj[i].off = (uint16_t)(f->inj[i].off - shift);
	f->rs_next = (uint16_t)(f->rs_next > k ? f->rs_next - k : 0);
	f->rs_end = (uint16_t)(f->rs_end > k ? f->rs_end - k : 0);
	/* Progress: the backoff starts over. */
	f->resends = 0;
	f->rto_cur = ctx->cfg.rto_initial_ns;
	f->rto_deadline = (f->inj_n > 0 && f->inj[0].sent) ? now + f->rto_cur : 0;
	f->h[DP_EDIT_S2E].dup_cnt = 0;
}

static void tx_fill(struct dp_edit_flow *f, uint32_t i, struct dp_edit_tx *tx, bool resend)
{
	const struct dp_edit_inj *in = &f->inj[i];
	tx->data = &f->inj_buf[in->off];
	tx->len = in->len;
	tx->seq = in->out_seq;
	tx->ack = dp_edit_ack_for(f, DP_EDIT_S2E, &tx->ack_valid);
	tx->resend = resend;
}

int dp_edit_tx_next(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, uint64_t now,
		    struct dp_edit_tx *tx)
{
	if (!ctx || !f || !tx)
		return DP_EDIT_EINVAL;
	if (f->flags & DP_EDIT_FF_RST)
		return DP_EDIT_AGAIN;
	if (f->flags & DP_EDIT_FF_EXHAUST)
		return DP_EDIT_EMISMATCH;
	/* First copies, oldest first. */
	for (uint32_t i = 0; i < f->inj_n; i++) {
		struct dp_edit_inj *in = &f->inj[i];
		if (!in->placed)
			break;
		if (in->sent)
			continue;
		in->sent = 1;
		if (f->rto_cur == 0)
			f->rto_cur = ctx->cfg.rto_initial_ns;
		if (f->rto_deadline == 0)
			f->rto_deadline = now + f->rto_cur;
		ctx->cnt.inj_sent++;
		tx_fill(f, i, tx, false);
		return DP_EDIT_OK;
	}
	if (f->inj_n == 0 || !f->inj[0].sent) {
		f->flags &= ~(uint32_t)DP_EDIT_FF_DUPACK;
		return DP_EDIT_AGAIN;
	}
	/* Duplicate ACKs: the ESME is missing the oldest injected bytes. */
	if (f->flags & DP_EDIT_FF_DUPACK) {
		f->flags &= ~(uint32_t)DP_EDIT_FF_DUPACK;
		ctx->cnt.inj_resent_dupack++;
		f->rto_deadline = now + f->rto_cur;
		tx_fill(f, 0, tx, true);
		return DP_EDIT_OK;
	}
	/* A resend round in progress (timer): every sent injection once. */
	while (f->rs_next < f->rs_end && f->rs_next < f->inj_n) {
		uint32_t i = f->rs_next++;
		if (!f->inj[i].sent)
			break;
		ctx->cnt.inj_resent_timer++;
		tx_fill(f, i, tx, true);
		return DP_EDIT_OK;
	}
	f->rs_next = f->rs_end = 0;
	if (f->rto_deadline != 0 && now >= f->rto_deadline) {
		if (f->resends >= ctx->cfg.max_resends) {
			ctx->cnt.resend_exhausted++;
			f->flags |= DP_EDIT_FF_EXHAUST | DP_EDIT_FF_RESET;
			f->rto_deadline = 0;
			return DP_EDIT_EMISMATCH;
		}
		f->resends++;
		f->rto_cur =
		    f->rto_cur * 2 > ctx->cfg.rto_max_ns ? ctx->cfg.rto_max_ns : f->rto_cur * 2;
		f->rto_deadline = now + f->rto_cur;
		uint32_t n = 0;
		while (n < f->inj_n && f->inj[n].sent)
			n++;
		f->rs_next = 1;
		f->rs_end = (uint16_t)n;
		ctx->cnt.inj_resent_timer++;
		tx_fill(f, 0, tx, true);
		return DP_EDIT_OK;
	}
	return DP_EDIT_AGAIN;
}

/* ---- per segment ---- */

/* The segment of direction `dir` carries an ACK for the other direction. */
static void on_ack(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		   const struct dp_edit_seg *seg, uint64_t now)
{
	struct dp_edit_half *o = &f->h[!dir];
	uint32_t ack = seg->ack;
	if ((o->flags & DP_EDIT_HF_SENT) && dp_edit_seq_lt(o->snd_nxt_new + 1, ack)) {
		/* Acknowledges bytes never sent in this direction (+1 for a FIN):
		 * not trusted for pruning or injection bookkeeping. */
		ctx->cnt.ack_invalid++;
		return;
	}
	if (!(o->flags & DP_EDIT_HF_ACK_VALID) || dp_edit_seq_lt(o->rcv_ack, ack)) {
		o->rcv_ack = ack;
		o->flags |= DP_EDIT_HF_ACK_VALID;
		o->dup_cnt = 0;
		ctx->cnt.edits_pruned += dp_edit_seqadj_prune(&o->sa, ack);
		o->floor = dp_edit_seqadj_unmap(&o->sa, ack);
		if (f->repl_n > 0)
			repl_acked(ctx, f, !dir, o->floor);
		if ((o->flags & DP_EDIT_HF_FIN) && dp_edit_seq_lt(o->fin_seq, o->floor))
			o->flags |= DP_EDIT_HF_FIN_ACKED;
		if (dir == DP_EDIT_E2S)
			inj_acked(ctx, f, ack, now);
		return;
	}
	if (ack != o->rcv_ack || seg->len != 0 ||
	    (seg->flags & (DP_EDIT_TCP_SYN | DP_EDIT_TCP_FIN | DP_EDIT_TCP_RST)))
		return;
	/* A duplicate ACK from the ESME stuck at (or inside) injected bytes. */
	if (dir == DP_EDIT_E2S && f->inj_n > 0 && f->inj[0].sent &&
	    dp_edit_seq_le(f->inj[0].out_seq, ack)) {
		if (++o->dup_cnt == ctx->cfg.dupack_threshold)
			f->flags |= DP_EDIT_FF_DUPACK;
	}
}

void dp_edit_take_ack(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		      const struct dp_edit_seg *seg, uint64_t now)
{
	if (!ctx || !f || !seg || (dir != DP_EDIT_E2S && dir != DP_EDIT_S2E) || seg->len == 0 ||
	    (f->flags & DP_EDIT_FF_RESET) || !(seg->flags & DP_EDIT_TCP_ACK) ||
	    (seg->flags & DP_EDIT_TCP_RST))
		return;
	/* A second on_ack() for the same data segment changes nothing: the
	 * ack is no longer new, and data segments are never duplicate ACKs. */
	on_ack(ctx, f, dir, seg, now);
}

static void out_hdr(struct dp_edit_out *out, uint32_t seq, uint32_t extra)
{
	out->action |= DP_EDIT_ACT_FORWARD | DP_EDIT_ACT_HDR_ONLY | extra;
	out->hdr_seq = seq;
}

static int fail_closed(struct dp_edit_flow *f, struct dp_edit_out *out)
{
	f->flags |= DP_EDIT_FF_RESET;
	out->action = DP_EDIT_ACT_RESET_BOTH;
	out->n = 0;
	return DP_EDIT_EFULL;
}

int dp_edit_segment(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		    const struct dp_edit_seg *seg, const struct dp_edit_pdu *pdus, uint32_t npdus,
		    uint64_t now, struct dp_edit_out *out)
{
	if (!ctx || !f || !seg || !out || (npdus > 0 && !pdus) ||
	    (dir != DP_EDIT_E2S && dir != DP_EDIT_S2E))
		return DP_EDIT_EINVAL;
	memset(out, 0, offsetof(struct dp_edit_out, r));
	ctx->cnt.segments++;
	struct dp_edit_half *h = &f->h[dir];
	const uint32_t s = seg->seq, e = seg->seq + seg->len;
	const bool fin = (seg->flags & DP_EDIT_TCP_FIN) != 0;

	if (f->flags & DP_EDIT_FF_RESET) {
		out->action = DP_EDIT_ACT_RESET_BOTH;
		return DP_EDIT_OK;
	}
	if ((seg->flags & DP_EDIT_TCP_ACK) && !(seg->flags & DP_EDIT_TCP_RST))
		on_ack(ctx, f, dir, seg, now);

	if (seg->flags & DP_EDIT_TCP_RST) {
		/* RFC 5961: only a RST at exactly rcv_nxt resets at once; the
		 * receiver's last ACK tells its rcv_nxt in its own space. */
		uint32_t rs =
		    (h->flags & DP_EDIT_HF_ACK_VALID) ? h->rcv_ack : dp_edit_seqadj_map(&h->sa, s);
		out_hdr(out, rs, DP_EDIT_ACT_RST);
		if (f->inj_n > 0)
			ctx->cnt.close_with_inj++;
		f->inj_n = 0;
		f->inj_used = 0;
		f->rto_deadline = 0;
		f->flags |= DP_EDIT_FF_RST;
		ctx->cnt.rst_forwarded++;
		return DP_EDIT_OK;
	}

	if (!(h->flags & DP_EDIT_HF_SYNCED) || (seg->flags & DP_EDIT_TCP_SYN)) {
		/* Not editing this direction (yet): pass unchanged, but keep
		 * what a later RST or injection needs. */
		ctx->cnt.passthrough++;
		uint32_t end = e + (fin || (seg->flags & DP_EDIT_TCP_SYN) ? 1 : 0);
		if (!(h->flags & DP_EDIT_HF_SENT) || dp_edit_seq_lt(h->snd_max, e))
			h->snd_max = e;
		if (!(h->flags & DP_EDIT_HF_SENT) || dp_edit_seq_lt(h->snd_nxt_new, end))
			h->snd_nxt_new = dp_edit_seqadj_map(&h->sa, end);
		h->flags |= DP_EDIT_HF_SENT;
		if (fin) {
			h->flags |= DP_EDIT_HF_FIN;
			h->fin_seq = e;
		}
		if (seg->len > 0) {
			out->action = DP_EDIT_ACT_FORWARD | (fin ? DP_EDIT_ACT_FIN : 0);
			out_add(out, ctx, s, seg->len, dp_edit_seqadj_map(&h->sa, s),
				DP_EDIT_SRC_SEG);
		} else {
			out_hdr(out, dp_edit_seqadj_map(&h->sa, s), fin ? DP_EDIT_ACT_FIN : 0);
		}
		return DP_EDIT_OK;
	}

	/* Only payload counts toward what is held: a pure ACK's seq says
	 * nothing about bytes the stream layer has. */
	if (seg->len > 0 && dp_edit_seq_lt(h->snd_max, e))
		h->snd_max = e;
	int rc = DP_EDIT_OK;
	uint32_t below = 0, removed = 0;

	/* 1. Retransmitted bytes, before the release point. */
	if (seg->len > 0 && dp_edit_seq_lt(s, h->rel)) {
		uint32_t lo = s, hi = dp_edit_seq_min(e, h->rel);
		if ((h->flags & DP_EDIT_HF_ACK_VALID) && dp_edit_seq_lt(lo, h->floor)) {
			/* The receiver has these bytes; older edits may be
			 * pruned, so they are never forwarded again. */
			uint32_t fl = dp_edit_seq_min(h->floor, hi);
			below = fl - lo;
			ctx->cnt.retrans_below_floor += below;
			lo = fl;
		}
		if (dp_edit_seq_lt(lo, hi))
			removed += emit_retrans(out, ctx, h, lo, hi);
	}

	/* 2. New bytes: walk the PDUs from the release point. */
	uint32_t cur = h->rel;
	bool mid = (h->flags & DP_EDIT_HF_MID) != 0;
	if (dir == DP_EDIT_S2E && !mid && inj_waiting(f))
		inj_place(ctx, f, cur, out);
	for (uint32_t k = 0; k < npdus; k++) {
		const struct dp_edit_pdu *p = &pdus[k];
		uint32_t ps = p->seq, pe = p->seq + p->len;
		if (p->len == 0 || p->avail > p->len || p->verdict > DP_EDIT_PDU_REPLACE) {
			ctx->cnt.bad_pdu_list++;
			rc = DP_EDIT_EINVAL;
			break;
		}
		if (dp_edit_seq_le(pe, cur))
			continue;
		if (dp_edit_seq_lt(cur, ps)) {
			/* A gap in the description: stop, hold the rest. */
			ctx->cnt.bad_pdu_list++;
			rc = DP_EDIT_EORDER;
			break;
		}
		if (p->verdict == DP_EDIT_PDU_PENDING ||
		    (p->verdict == DP_EDIT_PDU_REPLACE && p->avail < p->len &&
		     !dp_edit_seq_lt(ps, cur)))
			break; /* a replacement needs the whole PDU */
		if (out->n + 4 > DP_EDIT_MAX_RANGES) {
			/* No room to report this PDU's ranges: it stays held
			 * and is released by the next call (not reached with
			 * the edit table's bound; counted if it ever is). */
			ctx->cnt.ranges_full++;
			break;
		}
		if (p->verdict == DP_EDIT_PDU_REPLACE && !dp_edit_seq_lt(ps, cur)) {
			struct dp_edit_repl *rp = repl_find(f, dir, ps);
			int arc = DP_EDIT_ESTATE;
			if (rp != NULL && rp->rm == p->len && !rp->applied) {
				uint32_t at = dp_edit_seqadj_map(&h->sa, ps);
				arc = dp_edit_seqadj_add(&h->sa, ps, p->len, rp->len);
				if (arc == DP_EDIT_OK) {
					rp->applied = 1;
					ctx->cnt.repl_applied++;
					uint32_t a = dp_edit_seq_max(ps, s), b = dp_edit_seq_min(pe, e);
					if (seg->len > 0 && dp_edit_seq_lt(a, b))
						removed += b - a;
					out_add(out, ctx, ps, rp->len, at, DP_EDIT_SRC_REPL);
					cur = pe;
					mid = false;
					goto boundary;
				}
			} else {
				ctx->cnt.repl_missing++;
			}
			if (ctx->cfg.edits_policy == DP_EDIT_FAIL_CLOSED) {
				ctx->cnt.edits_closed++;
				return fail_closed(f, out);
			}
			ctx->cnt.edits_open++;
			rc = DP_EDIT_EFULL;
		} else if (p->verdict != DP_EDIT_PDU_PASS && dp_edit_seq_lt(ps, cur)) {
			/* Part of it already went out (fail-open or a PASS
			 * forwarded while incomplete): cannot be enforced. */
			ctx->cnt.late_block++;
		} else if (p->verdict == DP_EDIT_PDU_BLOCK) {
			int arc = dp_edit_seqadj_add(&h->sa, ps, p->len, 0);
			if (arc == DP_EDIT_OK) {
				ctx->cnt.bytes_removed += p->len;
				/* Count the part of the PDU in this segment. */
				uint32_t a = dp_edit_seq_max(ps, s), b = dp_edit_seq_min(pe, e);
				if (dp_edit_seq_lt(a, b))
					removed += b - a;
				cur = pe;
				mid = false;
				goto boundary;
			}
			if (ctx->cfg.edits_policy == DP_EDIT_FAIL_CLOSED) {
				ctx->cnt.edits_closed++;
				return fail_closed(f, out);
			}
			ctx->cnt.edits_open++;
			rc = DP_EDIT_EFULL;
		}
		/* PASS (or a block that cannot be enforced): forward what is here. */
		{
			uint32_t have = ps + p->avail;
			if (dp_edit_seq_lt(have, cur))
				have = cur;
			emit_new(out, ctx, h, cur, have, s, e);
			cur = have;
			if (cur != pe) {
				mid = dp_edit_seq_lt(ps, cur);
				break;
			}
			mid = false;
		}
	boundary:
		if (dir == DP_EDIT_S2E && inj_waiting(f))
			inj_place(ctx, f, cur, out);
	}

	/* 3. Holding bound. */
	if (seg->len > 0 && dp_edit_seq_lt(cur, h->snd_max) &&
	    h->snd_max - cur > ctx->cfg.max_hold_bytes) {
		if (ctx->cfg.hold_policy == DP_EDIT_FAIL_CLOSED) {
			ctx->cnt.hold_closed++;
			return fail_closed(f, out);
		}
		ctx->cnt.hold_open++;
		/* Release what this segment brings, unverified. */
		if (dp_edit_seq_lt(cur, e)) {
			emit_new(out, ctx, h, cur, e, s, e);
			cur = e;
			mid = true;
		}
		rc = DP_EDIT_EFULL;
	}
	h->rel = cur;
	if (mid)
		h->flags |= DP_EDIT_HF_MID;
	else
		h->flags &= (uint16_t)~DP_EDIT_HF_MID;

	if (seg->len > 0 && dp_edit_seq_lt(dp_edit_seq_max(s, cur), e)) {
		out->held = e - dp_edit_seq_max(s, cur);
		ctx->cnt.bytes_held += out->held;
	}
	out->removed = removed + below;

	for (uint32_t i = 0; i < out->n; i++) {
		const struct dp_edit_range *r = &out->r[i];
		if (r->src != DP_EDIT_SRC_INJ &&
		    dp_edit_seq_lt(h->snd_nxt_new, r->out_seq + r->len))
			h->snd_nxt_new = r->out_seq + r->len;
	}

	/* 4. FIN: only once every byte before it was decided; a FIN held
	 * that way goes out with the segment that decides the last of them. */
	uint32_t fin_flag = 0, fe = e;
	bool fin_now = fin;
	if (!fin && (h->flags & DP_EDIT_HF_FIN_HELD) && !(h->flags & DP_EDIT_HF_FIN) &&
	    h->rel == h->fin_seq) {
		fin_now = true;
		fe = h->fin_seq;
	}
	if (fin_now) {
		if (h->rel == fe) {
			fin_flag = DP_EDIT_ACT_FIN;
			if (!(h->flags & DP_EDIT_HF_FIN) && f->inj_n > 0 && dir == DP_EDIT_S2E) {
				ctx->cnt.close_with_inj++;
				/* Responses still waiting for a boundary never get
				 * one (the SMSC ended inside a PDU): drop them; the
				 * placed ones are resent until acknowledged. */
				while (f->inj_n > 0 && !f->inj[f->inj_n - 1].placed)
					f->inj_used = f->inj[--f->inj_n].off;
			}
			h->flags |= DP_EDIT_HF_FIN;
			h->flags &= (uint16_t)~DP_EDIT_HF_FIN_HELD;
			h->fin_seq = fe;
			uint32_t fn = dp_edit_seqadj_map(&h->sa, fe) + 1;
			if (dp_edit_seq_lt(h->snd_nxt_new, fn))
				h->snd_nxt_new = fn;
		} else if ((h->flags & DP_EDIT_HF_FIN) && h->fin_seq == e) {
			fin_flag = DP_EDIT_ACT_FIN; /* retransmitted FIN */
		} else {
			ctx->cnt.fin_held++;
			if (!(h->flags & DP_EDIT_HF_FIN)) {
				h->flags |= DP_EDIT_HF_FIN_HELD;
				h->fin_seq = e;
			}
		}
	}

	/* 5. Header bits: ranges, or a header-only segment, or nothing. INJ
	 * ranges are informative (dp_edit_tx_next() sends them). */
	uint32_t a_un = dp_edit_seqadj_unmap(&f->h[!dir].sa, seg->ack);
	bool ack_new = (seg->flags & DP_EDIT_TCP_ACK) &&
		       (!(h->flags & DP_EDIT_HF_FWD_ACK) || dp_edit_seq_lt(h->fwd_ack, a_un));
	uint32_t nfwd = 0;
	for (uint32_t i = 0; i < out->n; i++)
		nfwd += out->r[i].src != DP_EDIT_SRC_INJ;
	if (nfwd > 0) {
		out->action |= DP_EDIT_ACT_FORWARD | fin_flag;
		if (fin_flag)
			out->hdr_seq = dp_edit_seqadj_map(&h->sa, fe);
	} else if (fin_flag) {
		out_hdr(out, dp_edit_seqadj_map(&h->sa, fe), fin_flag);
	} else if (seg->len == 0) {
		/* Pure ACK or window update: forward at the receiver's rcv_nxt
		 * or beyond (held bytes are not in its sequence space yet).
		 * After the sender's FIN went out, its segments carry fin + 1
		 * (the FIN takes a sequence number): so must the forwarded one,
		 * or the receiver takes it for an old segment and never sees
		 * the ACK of its own FIN. */
		uint32_t q = dp_edit_seqadj_map(&h->sa, dp_edit_seq_min(s, h->rel));
		if ((h->flags & DP_EDIT_HF_FIN) && dp_edit_seq_lt(h->fin_seq, s))
			q = dp_edit_seqadj_map(&h->sa, h->fin_seq) + 1;
		out_hdr(out, q, 0);
	} else if (out->held == 0) {
		/* Only removed or already acknowledged bytes: a zero-length
		 * segment one below rcv_nxt makes the receiver answer with its
		 * ACK (as a keepalive does), which reaches the sender mapped
		 * and acknowledges the removed bytes. */
		out_hdr(out, dp_edit_seqadj_map(&h->sa, h->rel) - 1, 0);
		ctx->cnt.ack_probes++;
	} else if (ack_new) {
		out_hdr(out, dp_edit_seqadj_map(&h->sa, h->rel), 0);
	} else {
		ctx->cnt.hdr_suppressed++;
	}
	if ((out->action & DP_EDIT_ACT_FORWARD) && (seg->flags & DP_EDIT_TCP_ACK)) {
		if (ack_new)
			h->fwd_ack = a_un;
		h->flags |= DP_EDIT_HF_FWD_ACK;
	}
	return rc;
}
