/* dp_stream.c — per-direction TCP byte stream to SMPP PDUs.
 *
 * Accepts segments in any order and any segmentation; delivers each PDU once,
 * in stream order, with the sequence number of its first byte, so that a later
 * editing layer (dataplane/edit/) can hold, remove or answer it by position.
 *
 * Memory: a flow owns at most one reassembly chunk and DP_OOO_MAX held
 * segments per direction, all from the worker's fixed chunk pool. Every
 * bound that is hit is counted; the stream then resynchronises (fail-open for
 * the skipped bytes, which the counters report).
 */
#include <string.h>

#include "dp_priv.h"

/* ------------------------------------------------------------ chunk pool */

size_t dp_pool_mem_size(uint32_t n, uint32_t cap)
{
	size_t stride = (sizeof(struct dp_chunk) + cap + 63) & ~(size_t)63;
	return stride * n;
}

int dp_pool_init(struct dp_pool *pool, void *mem, uint32_t n, uint32_t cap)
{
	if (pool == NULL || mem == NULL || n == 0 || n >= DP_STREAM_NOBUF || cap == 0)
		return DP_EINVAL;
	memset(pool, 0, sizeof(*pool));
	pool->mem = mem;
	pool->chunk_cap = cap;
	pool->stride = (uint32_t)((sizeof(struct dp_chunk) + cap + 63) & ~(size_t)63);
	pool->n = n;
	for (uint32_t i = 0; i < n; i++) {
		struct dp_chunk *c = dp_pool_chunk(pool, (uint16_t)i);
		c->next_free = (uint16_t)(i + 1 < n ? i + 1 : DP_STREAM_NOBUF);
	}
	pool->free_head = 0;
	return DP_OK;
}

struct dp_chunk *dp_pool_chunk(const struct dp_pool *pool, uint16_t idx)
{
	return (struct dp_chunk *)(void *)(pool->mem + (size_t)idx * pool->stride);
}

uint16_t dp_pool_get(struct dp_pool *pool)
{
	uint16_t idx = pool->free_head;
	if (idx == DP_STREAM_NOBUF)
		return idx;
	struct dp_chunk *c = dp_pool_chunk(pool, idx);
	pool->free_head = c->next_free;
	c->len = 0;
	c->seq = 0;
	if (++pool->in_use > pool->high_water)
		pool->high_water = pool->in_use;
	return idx;
}

void dp_pool_put(struct dp_pool *pool, uint16_t idx)
{
	if (idx == DP_STREAM_NOBUF)
		return;
	struct dp_chunk *c = dp_pool_chunk(pool, idx);
	c->next_free = pool->free_head;
	pool->free_head = idx;
	pool->in_use--;
}

/* ---------------------------------------------------------- SMPP header */

/* command_ids of SMPP 3.4 and 5.0 requests; responses have bit 31 set. */
static bool cmd_known(uint32_t id)
{
	uint32_t base = id & 0x7fffffffu;
	bool resp = (id & 0x80000000u) != 0;
	switch (base) {
	case 0x00000000: /* generic_nack */
		return resp;
	case 0x0000000b: /* outbind */
	case 0x00000102: /* alert_notification */
		return !resp;
	case 0x00000001: case 0x00000002: case 0x00000003: case 0x00000004:
	case 0x00000005: case 0x00000006: case 0x00000007: case 0x00000008:
	case 0x00000009: case 0x00000015: case 0x00000021: case 0x00000103:
	case 0x00000111: case 0x00000112: case 0x00000113:
		return true;
	default:
		return false;
	}
}

int dp_smpp_hdr_check(const uint8_t *p, uint32_t len, uint32_t *cmd_len)
{
	if (len < DP_SMPP_HDR_LEN)
		return DP_AGAIN;
	uint32_t l = dp_rd32(p);
	if (l < DP_SMPP_HDR_LEN || l > DP_SMPP_MAX_PDU || !cmd_known(dp_rd32(p + 4)))
		return DP_EINVAL;
	*cmd_len = l;
	return DP_OK;
}

/* ---------------------------------------------------------------- stream */

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

void dp_stream_syn(struct dp_flow *f, enum dp_dir dir, uint32_t isn)
{
	struct dp_stream_dir *s = &f->dir[dir];
	if (s->state != DP_STREAM_NONE && s->next_seq == isn + 1)
		return; /* retransmitted SYN */
	s->next_seq = isn + 1;
	s->skip = 0;
	s->state = DP_STREAM_SYNCED;
}

static void buf_free(struct dp_stream_ctx *ctx, struct dp_stream_dir *s)
{
	dp_pool_put(ctx->pool, s->buf);
	s->buf = DP_STREAM_NOBUF;
	s->buf_len = 0;
}

void dp_stream_release(struct dp_stream_ctx *ctx, struct dp_flow *f)
{
	for (int d = 0; d < 2; d++) {
		struct dp_stream_dir *s = &f->dir[d];
		buf_free(ctx, s);
		for (unsigned i = 0; i < s->n_ooo; i++)
			dp_pool_put(ctx->pool, s->ooo[i]);
		s->n_ooo = 0;
	}
}

static bool looks_tls(const uint8_t *p, uint32_t len)
{
	/* TLS record: content type 20..23, version 3.x; handshake is 22. */
	return len >= 3 && p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 0x03 && p[2] <= 0x04;
}

/* Find a header in [p, p+len) to resynchronise on. A candidate whose PDU ends
 * inside the segment must be followed by another valid header (or the end of
 * the segment), which makes a false match on message text unlikely.
 * Returns the offset, or len when none is found. */
static uint32_t resync_find(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i + DP_SMPP_HDR_LEN <= len; i++) {
		uint32_t l;
		if (dp_smpp_hdr_check(p + i, len - i, &l) != DP_OK)
			continue;
		if (l < len - i) {
			uint32_t l2;
			if (dp_smpp_hdr_check(p + i + l, len - i - l, &l2) == DP_EINVAL)
				continue;
		}
		return i;
	}
	return len;
}

/* While resynchronising, the last bytes of a segment (fewer than a header)
 * wait in the direction's chunk, so that a header cut in two by the
 * segmentation is found: otherwise a sender that cuts every header in two
 * keeps the stream blind for the whole connection. Returns true when a
 * header starting in those bytes is found in them and @p p; the stream is
 * then SYNCED with that header's first bytes in the chunk. */
static bool resync_tail(struct dp_stream_ctx *ctx, struct dp_stream_dir *s, const uint8_t *p,
			uint32_t len)
{
	if (s->buf == DP_STREAM_NOBUF || s->buf_len == 0)
		return false;
	struct dp_chunk *c = dp_pool_chunk(ctx->pool, s->buf);
	uint32_t t = s->buf_len;
	uint32_t k = ctx->pool->chunk_cap - t;
	if (k > len)
		k = len;
	memcpy(c->data + t, p, k);
	uint32_t i = resync_find(c->data, t + k);
	if (i >= t)
		return false; /* none starts in the kept bytes; @p p is scanned next */
	ctx->st->resync_bytes -= t - i; /* counted as skipped when kept */
	memmove(c->data, c->data + i, t - i);
	s->buf_len = (uint16_t)(t - i);
	s->pdu_seq = s->next_seq - s->buf_len;
	s->state = DP_STREAM_SYNCED;
	return true;
}

/* No header found in @p p: keep its last bytes (after those kept before,
 * which resync_tail() appended to the chunk) for the next segment. A chunk
 * is taken for it when the pool has one (none: such headers are missed,
 * counted as nomem). */
static void keep_tail(struct dp_stream_ctx *ctx, struct dp_stream_dir *s, const uint8_t *p,
		      uint32_t len)
{
	const uint32_t most = DP_SMPP_HDR_LEN - 1;
	if (ctx->pool->chunk_cap < 2 * DP_SMPP_HDR_LEN)
		return;
	uint32_t t = s->buf == DP_STREAM_NOBUF ? 0 : s->buf_len;
	if (s->buf == DP_STREAM_NOBUF) {
		s->buf = dp_pool_get(ctx->pool);
		if (s->buf == DP_STREAM_NOBUF) {
			ctx->st->nomem++;
			return;
		}
	}
	struct dp_chunk *c = dp_pool_chunk(ctx->pool, s->buf);
	uint32_t keep;
	if (len >= most) {
		keep = most;
		memcpy(c->data, p + len - keep, keep);
	} else {
		/* resync_tail() put the old bytes and all of @p p in the
		 * chunk (t + len < 2 * most fits): keep the last ones. */
		if (t > 0 && t + len > ctx->pool->chunk_cap)
			t = 0;
		if (t == 0)
			memcpy(c->data, p, len);
		keep = t + len < most ? t + len : most;
		memmove(c->data, c->data + (t + len - keep), keep);
	}
	s->buf_len = (uint16_t)keep;
	s->pdu_seq = s->next_seq - keep;
}

static void deliver(struct dp_stream_ctx *ctx, struct dp_flow *f, enum dp_dir dir,
		    const uint8_t *pdu, uint32_t len, uint32_t seq, unsigned flags)
{
	ctx->st->pdus++;
	if (ctx->on_pdu)
		ctx->on_pdu(ctx->arg, f, dir, pdu, len, seq, flags);
}

/* Consume in-order bytes: seq == s->next_seq. */
static void consume(struct dp_stream_ctx *ctx, struct dp_flow *f, enum dp_dir dir,
		    const uint8_t *p, uint32_t len)
{
	struct dp_stream_dir *s = &f->dir[dir];
	unsigned flags = 0;

	ctx->st->bytes += len;
	while (len > 0) {
		uint32_t seq = s->next_seq;
		if (s->state == DP_STREAM_BYPASS) {
			s->next_seq += len;
			return;
		}
		if (s->skip > 0) {
			uint32_t n = s->skip < len ? s->skip : len;
			s->skip -= n;
			s->next_seq += n;
			p += n;
			len -= n;
			continue;
		}
		if (s->state == DP_STREAM_RESYNC) {
			if (resync_tail(ctx, s, p, len)) {
				/* A header that began in the kept bytes: go on
				 * assembling it (SYNCED, buffered). */
				ctx->st->resync++;
				flags |= DP_PDU_RESYNCED;
				continue;
			}
			uint32_t off = resync_find(p, len);
			ctx->st->resync_bytes += off;
			s->next_seq += off;
			if (off == len) {
				keep_tail(ctx, s, p, len);
				return;
			}
			buf_free(ctx, s);
			p += off;
			len -= off;
			s->state = DP_STREAM_SYNCED;
			ctx->st->resync++;
			flags |= DP_PDU_RESYNCED;
			continue;
		}
		/* SYNCED: at a PDU boundary or inside a buffered PDU. */
		if (s->buf != DP_STREAM_NOBUF) {
			struct dp_chunk *c = dp_pool_chunk(ctx->pool, s->buf);
			uint32_t want = DP_SMPP_HDR_LEN;
			uint32_t l = 0;
			if (s->buf_len >= DP_SMPP_HDR_LEN) {
				dp_smpp_hdr_check(c->data, s->buf_len, &l);
				want = l;
			}
			uint32_t n = want - s->buf_len;
			if (n > len)
				n = len;
			memcpy(c->data + s->buf_len, p, n);
			s->buf_len = (uint16_t)(s->buf_len + n);
			s->next_seq += n;
			p += n;
			len -= n;
			if (s->buf_len < want)
				return;
			if (want == DP_SMPP_HDR_LEN && l == 0) {
				int rc = dp_smpp_hdr_check(c->data, s->buf_len, &l);
				if (rc != DP_OK) {
					/* The header straddled segments and is junk.
					 * Look again from its second byte, as when it
					 * comes in one segment: its last 15 bytes are
					 * kept for resync_tail(). */
					ctx->st->desync++;
					if (ctx->on_junk)
						ctx->on_junk(ctx->arg, f, dir, 0);
					ctx->st->resync_bytes += DP_SMPP_HDR_LEN;
					if (ctx->pool->chunk_cap >= 2 * DP_SMPP_HDR_LEN) {
						memmove(c->data, c->data + 1, DP_SMPP_HDR_LEN - 1);
						s->buf_len = DP_SMPP_HDR_LEN - 1;
						s->pdu_seq = s->next_seq - s->buf_len;
					} else {
						buf_free(ctx, s);
					}
					s->state = DP_STREAM_RESYNC;
					continue;
				}
				if (l > ctx->pdu_max) {
					ctx->st->oversize++;
					deliver(ctx, f, dir, c->data, DP_SMPP_HDR_LEN, s->pdu_seq,
						flags | DP_PDU_TRUNCATED);
					flags = 0;
					s->skip = l - DP_SMPP_HDR_LEN;
					buf_free(ctx, s);
					continue;
				}
				if (l > s->buf_len)
					continue; /* copy the body on the next turn */
			}
			ctx->st->pdus_reassembled++;
			deliver(ctx, f, dir, c->data, s->buf_len, s->pdu_seq, flags);
			flags = 0;
			buf_free(ctx, s);
			continue;
		}
		/* A TLS record cannot be an SMPP header (command_length's first
		 * octet is 0 below 16 MiB): check it first, even on 3 bytes. */
		if (looks_tls(p, len)) {
			ctx->st->tls++;
			f->tls = 1;
			s->state = DP_STREAM_BYPASS;
			continue;
		}
		uint32_t l = 0;
		int rc = dp_smpp_hdr_check(p, len, &l);
		if (rc == DP_EINVAL) {
			ctx->st->desync++;
			if (ctx->on_junk)
				ctx->on_junk(ctx->arg, f, dir, 0);
			s->state = DP_STREAM_RESYNC;
			/* Do not match the same junk header again. */
			s->next_seq++;
			p++;
			len--;
			ctx->st->resync_bytes++;
			continue;
		}
		/* Oversize is judged on command_length alone, so that how the
		 * PDU happens to be segmented cannot change what is inspected. */
		if (rc == DP_OK && l > ctx->pdu_max) {
			ctx->st->oversize++;
			deliver(ctx, f, dir, p, DP_SMPP_HDR_LEN, seq, flags | DP_PDU_TRUNCATED);
			flags = 0;
			s->skip = l;
			continue;
		}
		if (rc == DP_OK && l <= len) {
			deliver(ctx, f, dir, p, l, seq, flags);
			flags = 0;
			s->next_seq += l;
			p += l;
			len -= l;
			continue;
		}
		/* A PDU (or its header) continues in a later segment. */
		s->buf = dp_pool_get(ctx->pool);
		if (s->buf == DP_STREAM_NOBUF) {
			ctx->st->nomem++;
			if (rc == DP_OK) {
				deliver(ctx, f, dir, p, DP_SMPP_HDR_LEN, seq, flags | DP_PDU_TRUNCATED);
				s->skip = l;
			} else {
				/* The header's first bytes cannot be kept: this
				 * PDU is lost to inspection, reported. */
				s->state = DP_STREAM_RESYNC;
				if (ctx->on_nomem)
					ctx->on_nomem(ctx->arg, f, dir, len);
			}
			flags = 0;
			continue;
		}
		struct dp_chunk *c = dp_pool_chunk(ctx->pool, s->buf);
		memcpy(c->data, p, len);
		s->buf_len = (uint16_t)len;
		s->pdu_seq = seq;
		s->next_seq += len;
		return;
	}
}

/* Compare the part of [seq, seq+len) that lies inside the partial PDU
 * buffer, i.e. in [next_seq - buf_len, next_seq). */
static void compare_with_buf(struct dp_stream_ctx *ctx, struct dp_stream_dir *s,
			     uint32_t seq, const uint8_t *p, uint32_t len)
{
	if (s->buf == DP_STREAM_NOBUF || s->buf_len == 0)
		return;
	uint32_t bstart = s->next_seq - s->buf_len;
	const uint8_t *bd = dp_pool_chunk(ctx->pool, s->buf)->data;
	int32_t lo = seq_diff(seq, bstart) > 0 ? seq_diff(seq, bstart) : 0;
	int32_t hi = seq_diff(seq + len, bstart);
	if (hi > (int32_t)s->buf_len)
		hi = s->buf_len;
	if (hi <= lo)
		return;
	const uint8_t *q = p + (uint32_t)(bstart + (uint32_t)lo - seq);
	if (memcmp(q, bd + lo, (size_t)(hi - lo)) != 0)
		ctx->st->overlap_conflict++;
}

/* The part of [seq, seq+len) that held chunk @p o also covers: offsets
 * [*lo, *hi) into the new bytes, and a pointer to the held copy of them;
 * NULL when they do not overlap. */
static inline const uint8_t *held_overlap(const struct dp_chunk *o, uint32_t seq, uint32_t len,
					  int32_t *lo, int32_t *hi)
{
	*lo = seq_diff(o->seq, seq) > 0 ? seq_diff(o->seq, seq) : 0;
	*hi = seq_diff(o->seq + o->len, seq);
	if (*hi > (int32_t)len)
		*hi = (int32_t)len;
	if (*hi <= *lo)
		return NULL;
	return o->data + (uint32_t)(seq + (uint32_t)*lo - o->seq);
}

/* Hold a future segment. Overlaps with segments already held are resolved in
 * favour of the held bytes (first data wins) by copying them over the new
 * segment's copy, so replay order cannot change what is inspected.
 * Returns false when the bound is hit. */
static bool hold(struct dp_stream_ctx *ctx, struct dp_stream_dir *s, uint32_t seq,
		 const uint8_t *p, uint32_t len)
{
	for (unsigned i = 0; i < s->n_ooo; i++) {
		struct dp_chunk *o = dp_pool_chunk(ctx->pool, s->ooo[i]);
		if (o->seq == seq && o->len >= len) {
			/* A retransmission of a held segment. */
			if (memcmp(o->data, p, len) != 0)
				ctx->st->overlap_conflict++;
			ctx->st->retrans++;
			return true;
		}
	}
	if (s->n_ooo >= ctx->ooo_max || s->n_ooo >= DP_OOO_MAX || len > ctx->pool->chunk_cap)
		return false;
	uint16_t idx = dp_pool_get(ctx->pool);
	if (idx == DP_STREAM_NOBUF) {
		ctx->st->nomem++;
		return false;
	}
	struct dp_chunk *c = dp_pool_chunk(ctx->pool, idx);
	c->seq = seq;
	c->len = len;
	memcpy(c->data, p, len);
	for (unsigned i = 0; i < s->n_ooo; i++) {
		int32_t lo, hi;
		const uint8_t *od = held_overlap(dp_pool_chunk(ctx->pool, s->ooo[i]), seq, len, &lo, &hi);
		if (!od)
			continue;
		ctx->st->overlap++;
		if (memcmp(c->data + lo, od, (size_t)(hi - lo)) != 0) {
			ctx->st->overlap_conflict++;
			memcpy(c->data + lo, od, (size_t)(hi - lo));
		}
	}
	/* Keep the held list sorted by sequence number. */
	unsigned pos = s->n_ooo;
	while (pos > 0 && seq_diff(dp_pool_chunk(ctx->pool, s->ooo[pos - 1])->seq, seq) > 0) {
		s->ooo[pos] = s->ooo[pos - 1];
		pos--;
	}
	s->ooo[pos] = idx;
	s->n_ooo++;
	ctx->st->ooo_held++;
	return true;
}

static void segment(struct dp_stream_ctx *ctx, struct dp_flow *f, enum dp_dir dir,
		    uint32_t seq, const uint8_t *p, uint32_t len, int depth);

/* Count the bytes of [seq, seq+len) that differ from held segments over the
 * same range; those held bytes are what gets inspected. */
static void compare_with_held(struct dp_stream_ctx *ctx, struct dp_stream_dir *s,
			      uint32_t seq, const uint8_t *p, uint32_t len)
{
	bool differ = false;
	for (unsigned i = 0; i < s->n_ooo; i++) {
		int32_t lo, hi;
		const uint8_t *od = held_overlap(dp_pool_chunk(ctx->pool, s->ooo[i]), seq, len, &lo, &hi);
		if (!od)
			continue;
		if (memcmp(p + lo, od, (size_t)(hi - lo)) != 0)
			differ = true;
	}
	ctx->st->overlap++;
	if (differ)
		ctx->st->overlap_conflict++;
}

/* Consume held segments that the stream has reached. */
static void replay(struct dp_stream_ctx *ctx, struct dp_flow *f, enum dp_dir dir, int depth)
{
	struct dp_stream_dir *s = &f->dir[dir];
	while (s->n_ooo > 0) {
		uint16_t idx = s->ooo[0];
		struct dp_chunk *c = dp_pool_chunk(ctx->pool, idx);
		if (seq_diff(c->seq, s->next_seq) > 0)
			return;
		memmove(&s->ooo[0], &s->ooo[1], (size_t)(s->n_ooo - 1) * sizeof(s->ooo[0]));
		s->n_ooo--;
		ctx->st->ooo_replayed++;
		/* The chunk goes back to the pool after use: consume() may take
		 * a reassembly chunk meanwhile, never this one. */
		segment(ctx, f, dir, c->seq, c->data, c->len, depth + 1);
		dp_pool_put(ctx->pool, idx);
	}
}

static void segment(struct dp_stream_ctx *ctx, struct dp_flow *f, enum dp_dir dir,
		    uint32_t seq, const uint8_t *p, uint32_t len, int depth)
{
	struct dp_stream_dir *s = &f->dir[dir];
	if (len == 0)
		return;
	if (s->state == DP_STREAM_NONE) {
		/* Picked up mid-stream: no SYN seen for this direction. */
		s->state = looks_tls(p, len) ? DP_STREAM_SYNCED : DP_STREAM_RESYNC;
		s->next_seq = seq;
	}
	int32_t d = seq_diff(seq, s->next_seq);
	if (d > 0) {
		if ((uint32_t)d <= ctx->hold_window && hold(ctx, s, seq, p, len))
			return;
		/* Past the bound: give up on the gap, counted, and go on from the
		 * earliest data we have (fail-open for the missing bytes). When
		 * this segment still cannot be held after the held ones were
		 * replayed, the next gap is given up the same way: every byte
		 * skipped is reported. */
		ctx->st->ooo_overflow++;
		do {
			uint32_t from = seq;
			if (s->n_ooo > 0) {
				uint32_t first = dp_pool_chunk(ctx->pool, s->ooo[0])->seq;
				if (seq_diff(first, from) < 0 && seq_diff(first, s->next_seq) > 0)
					from = first;
			}
			uint32_t gap = (uint32_t)seq_diff(from, s->next_seq);
			ctx->st->gap_bytes += gap;
			if (ctx->on_gap && s->state != DP_STREAM_BYPASS)
				ctx->on_gap(ctx->arg, f, dir, gap);
			buf_free(ctx, s);
			s->skip = 0;
			s->next_seq = from;
			if (s->state != DP_STREAM_BYPASS)
				s->state = DP_STREAM_RESYNC;
			if (depth < 2 * DP_OOO_MAX)
				replay(ctx, f, dir, depth);
			d = seq_diff(seq, s->next_seq);
		} while (d > 0 && !hold(ctx, s, seq, p, len));
		if (d > 0)
			return;
	}
	if (d < 0) {
		uint32_t old = (uint32_t)-d;
		compare_with_buf(ctx, s, seq, p, len < old ? len : old);
		if (old >= len) {
			ctx->st->retrans++;
			return;
		}
		ctx->st->overlap++;
		seq += old;
		p += old;
		len -= old;
	}
	/* In order. Stop at the first held segment so that its (earlier) bytes
	 * win over this segment's copy of the same range. */
	uint32_t cut = len;
	if (s->n_ooo > 0 && depth < 2 * DP_OOO_MAX) {
		int32_t gap = seq_diff(dp_pool_chunk(ctx->pool, s->ooo[0])->seq, seq);
		if (gap >= 0 && (uint32_t)gap < len) {
			cut = (uint32_t)gap;
			compare_with_held(ctx, s, seq + cut, p + cut, len - cut);
		}
	}
	consume(ctx, f, dir, p, cut);
	if (s->n_ooo > 0 && depth < 2 * DP_OOO_MAX)
		replay(ctx, f, dir, depth);
	if (cut < len)
		segment(ctx, f, dir, seq + cut, p + cut, len - cut, depth + 1);
}

void dp_stream_segment(struct dp_stream_ctx *ctx, struct dp_flow *f, enum dp_dir dir,
		       uint32_t seq, const uint8_t *p, uint32_t len)
{
	segment(ctx, f, dir, seq, p, len, 0);
}
