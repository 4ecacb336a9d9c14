/* dp_frag.c — IP fragment reassembly for SMPP flows (IPv4, IPv6).
 *
 * Only TCP fragments are candidates (IPv6: every fragment until its first
 * one shows the protocol, past any extension headers); the others never
 * reach this file's tables. A TCP fragment is held, as the whole frame it
 * arrived in, in a per-engine table keyed by (family, addresses, id, VLAN)
 * until the packet's first fragment shows its ports:
 *  - not an SMPP or TLS port: the held fragments leave unchanged through the
 *    engine's dp_tx_fn, in arrival order, before the current frame; later
 *    fragments of that id pass unheld (a "pass" mark in e->frags);
 *  - SMPP: held until every byte is there. The packet is then rebuilt (L2
 *    header of the first fragment, IPv4 total length, flags and offset
 *    cleared, header checksum; IPv6 payload length, the fragment header
 *    removed and the next-header chain fixed) and fed to dp_engine_tcp(), so
 *    streams, PDUs, verdicts and inline edits see one TCP segment. Then:
 *     forwarded unchanged   → the original fragments, byte-identical, in
 *                             arrival order (the last one is the current
 *                             frame, returned DP_ACT_FORWARD);
 *     forwarded, rewritten  → the original fragments, each carrying its slice
 *                             of the rewritten packet (inline seq/ack mapping);
 *     consumed (DROP)       → nothing of the originals; frames the inline
 *                             layer sent instead went through a shim that
 *                             fragments those longer than the longest
 *                             original fragment frame.
 * Bounds (settings): packets in reassembly (frag_packets), bytes of held
 * frames (frag_bytes), frag_timeout_ms; fixed: 64 fragments per packet, held
 * frames of at most 2,048 bytes, 65,535 bytes of IP packet. Past a bound, a
 * timeout, or overlapping fragments whose bytes differ (builtin:
 * ip-fragment-overlap), an SMPP packet gets an "uninspectable" event and the
 * `uninspectable` policy (block drops its fragments in inline mode); all
 * counted. Held fragments are not "dropped" frames: they leave later.
 */
#include <string.h>

#include <rte_malloc.h>

#include "dp_priv.h"

#define FRAG_PER_PKT 64       /* fragments of one packet (65,535 / 1,280-byte MTU ≈ 52) */
#define FRAG_FRAME_MAX 2048   /* a held frame: one mbuf's data room */
/* Decided ids are remembered this long: receivers keep fragments up to
 * 60 s (Linux ip6frag_time; ipfrag_time is 30 s). */
#define FRAG_MARK_MS 60000
#define FRAG_IP_MAX 65535u

enum { PK_FREE = 0, PK_WAIT = 1, PK_SMPP = 2 };

struct frag_piece {
	uint32_t off, len;     /* its data in the packet */
	uint16_t chunk;        /* the whole frame, in the pool */
	uint16_t data_off;     /* where its data starts in that frame */
	uint16_t flen;         /* frame length */
	uint16_t pair;
	uint8_t side;
};

struct frag_pkt {
	uint64_t key;          /* hash of the identity below */
	uint64_t t_ms;         /* first fragment's arrival */
	uint8_t state, conflict, have_last, family;
	uint8_t smpp_id;       /* the id's last packet was SMPP (DP_FRAG_MARK_SMPP) */
	uint8_t odd;           /* a non-last fragment's length is not a multiple of 8 */
	uint8_t saddr[16], daddr[16];
	uint32_t id;
	uint16_t vlan;
	uint16_t n;            /* pieces held, in arrival order */
	uint16_t max_flen;     /* longest frame held */
	uint32_t total;        /* data bytes (when have_last) */
	uint32_t bytes;        /* frame bytes held */
	struct dp_frame first; /* the first fragment's parse (ports; pointers stale) */
	struct frag_piece pc[FRAG_PER_PKT];
};

struct dp_frag {
	struct frag_pkt *pkts;
	uint32_t n_pkts, used;
	struct dp_pool pool;
	void *pool_mem;
	uint32_t held_bytes;
	uint8_t *buf;          /* the packet being reassembled (L2 + 65,535 + IPv6 header) */
	dp_tx_fn tx_fn;        /* the real tx while the shim is in place */
	void *tx_arg;
	uint16_t shim_mtu;     /* longest original fragment frame of the packet processed */
	uint32_t shim_id;      /* id of the packet processed (re-fragmented frames) */
	uint32_t shim_n;       /* frames fragmented again for it */
	uint8_t out[FRAG_FRAME_MAX + 64];
};

#define FRAG_BUF_LEN (64u + 40u + FRAG_IP_MAX + 64u)

/* Bytes of the IPv6 extension header @p nh whose length octet is @p l
 * (AH counts 4-octet units less 2, the others 8-octet units less 1). */
static inline uint32_t v6_ext_len(uint8_t nh, uint8_t l)
{
	return nh == 51 ? ((uint32_t)l + 2) * 4 : ((uint32_t)l + 1) * 8;
}

/* Set the IPv4 header checksum of the @p ihl bytes at @p ip. */
static void ip4_csum(uint8_t *ip, uint32_t ihl)
{
	uint32_t sum = 0;
	dp_wr16(ip + 10, 0);
	for (uint32_t i = 0; i < ihl; i += 2)
		sum += dp_rd16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	dp_wr16(ip + 10, ~sum & 0xffff);
}

int dp_frag_init(struct dp_engine *e, int socket)
{
	const struct dp_settings *s = e->set;
	struct dp_frag *g = rte_zmalloc_socket("dp_frag", sizeof(*g), 64, socket);
	if (g == NULL)
		return DP_ENOMEM;
	e->fg = g;
	if (s->frag_packets == 0)
		return DP_OK; /* reassembly off: every SMPP fragment is refused */
	uint32_t chunks = s->frag_packets * 4;
	if (chunks >= DP_STREAM_NOBUF)
		chunks = DP_STREAM_NOBUF - 1;
	g->pkts = rte_zmalloc_socket("dp_frag_pkts", (size_t)s->frag_packets * sizeof(*g->pkts), 64,
				     socket);
	g->pool_mem = rte_malloc_socket("dp_frag_pool", dp_pool_mem_size(chunks, FRAG_FRAME_MAX), 64,
					socket);
	g->buf = rte_malloc_socket("dp_frag_buf", FRAG_BUF_LEN, 64, socket);
	if (g->pkts == NULL || g->pool_mem == NULL || g->buf == NULL) {
		dp_frag_free(e);
		return DP_ENOMEM;
	}
	dp_pool_init(&g->pool, g->pool_mem, chunks, FRAG_FRAME_MAX);
	g->n_pkts = s->frag_packets;
	return DP_OK;
}

void dp_frag_free(struct dp_engine *e)
{
	struct dp_frag *g = e->fg;
	if (g == NULL)
		return;
	rte_free(g->pkts);
	rte_free(g->pool_mem);
	rte_free(g->buf);
	rte_free(g);
	e->fg = NULL;
}

/* ------------------------------------------------------------ the table */

static size_t alen(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

static uint64_t frag_key(const struct dp_frame *fr)
{
	uint64_t k = dp_hash64(fr->saddr, alen(fr->family),
			       ((uint64_t)fr->frag_id << 20) ^ ((uint64_t)dp_frame_vlan(fr) << 4) ^ fr->family);
	return dp_hash64(fr->daddr, alen(fr->family), k);
}

static struct frag_pkt *pkt_find(struct dp_frag *g, const struct dp_frame *fr, uint64_t key)
{
	if (g->used == 0)
		return NULL;
	for (uint32_t i = 0; i < g->n_pkts; i++) {
		struct frag_pkt *k = &g->pkts[i];
		if (k->state != PK_FREE && k->key == key && k->family == fr->family &&
		    k->id == fr->frag_id && k->vlan == dp_frame_vlan(fr) &&
		    memcmp(k->saddr, fr->saddr, alen(fr->family)) == 0 &&
		    memcmp(k->daddr, fr->daddr, alen(fr->family)) == 0)
			return k;
	}
	return NULL;
}

static struct frag_pkt *pkt_new(struct dp_engine *e, const struct dp_frame *fr, uint64_t key)
{
	struct dp_frag *g = e->fg;
	if (g->used >= g->n_pkts)
		return NULL;
	for (uint32_t i = 0; i < g->n_pkts; i++) {
		struct frag_pkt *k = &g->pkts[i];
		if (k->state != PK_FREE)
			continue;
		memset(k, 0, offsetof(struct frag_pkt, pc));
		k->key = key;
		k->t_ms = e->now_ms;
		k->state = PK_WAIT;
		k->family = fr->family;
		memcpy(k->saddr, fr->saddr, 16);
		memcpy(k->daddr, fr->daddr, 16);
		k->id = fr->frag_id;
		k->vlan = dp_frame_vlan(fr);
		g->used++;
		return k;
	}
	return NULL;
}

static void pkt_free(struct dp_engine *e, struct frag_pkt *k)
{
	struct dp_frag *g = e->fg;
	for (uint16_t i = 0; i < k->n; i++)
		dp_pool_put(&g->pool, k->pc[i].chunk);
	g->held_bytes -= k->bytes;
	k->n = 0;
	k->bytes = 0;
	k->state = PK_FREE;
	g->used--;
}

static const uint8_t *piece_frame(const struct dp_engine *e, const struct frag_piece *pc)
{
	return dp_pool_chunk(&e->fg->pool, pc->chunk)->data;
}

/* Send the held fragments on unchanged, in arrival order, except the last
 * @p skip_last (the current frame, which the caller returns). */
static void pkt_release(struct dp_engine *e, struct frag_pkt *k, uint16_t skip_last)
{
	for (uint16_t i = 0; i + skip_last < k->n; i++) {
		const struct frag_piece *pc = &k->pc[i];
		if (e->tx_fn != NULL)
			e->tx_fn(e->tx_arg, pc->pair, pc->side == 0, piece_frame(e, pc), pc->flen);
		e->c.frag_released++;
	}
}

static void mark(struct dp_engine *e, uint64_t key, uint32_t what)
{
	struct dp_cslot *m = dp_ct_get(&e->frags, key, e->now_ms, true);
	m->aux = what;
	m->t_ms = e->now_ms;
}

/* A packet not (or not yet known to be) SMPP: the fragments it held go on
 * unchanged, its id is marked @p what and its entry freed. */
static void pkt_pass(struct dp_engine *e, struct frag_pkt *k, uint32_t what)
{
	pkt_release(e, k, 0);
	mark(e, k->key, what);
	pkt_free(e, k);
}

/* The `uninspectable` policy for one fragment of an SMPP packet. */
static enum dp_action refuse_act(struct dp_engine *e)
{
	e->c.smpp_frags++;
	if (!e->monitor && e->set->uninspectable_block) {
		e->c.dropped++;
		return DP_ACT_DROP;
	}
	return DP_ACT_FORWARD;
}

/* The flow a fragment's addresses and ports name, if it is known. */
static const struct dp_flow *frame_flow(struct dp_engine *e, const struct dp_frame *fr)
{
	struct dp_flow_key fk;
	dp_flow_key_make(fr, &fk);
	return dp_flow_lookup(e->ft, &fk, false, e->now_ms);
}

/* An SMPP fragment that cannot be reassembled (a first one, or any of an
 * id marked SMPP; its id is marked refused): the event, and the
 * uninspectable policy for the frame. */
static enum dp_action refuse_first(struct dp_engine *e, const struct dp_frame *fr, uint64_t key)
{
	mark(e, key, DP_FRAG_MARK_REFUSED);
	dp_engine_emit_uninspectable(e, frame_flow(e, fr), e->set->uninspectable_block,
				     "builtin:ip-fragment", 0);
	return refuse_act(e);
}

/* An SMPP packet that cannot be inspected: the event (with the session's
 * system_id when its flow is known), then the policy for what is held.
 * @p cur_held: the current frame is the packet's last piece. */
static enum dp_action pkt_refuse(struct dp_engine *e, struct frag_pkt *k, const char *rule,
				 bool cur_held)
{
	const struct dp_flow *f = k->first.family != 0 ? frame_flow(e, &k->first) : NULL;
	bool block = e->set->uninspectable_block;
	dp_engine_emit_uninspectable(e, f, block, rule, k->bytes);
	bool drop = !e->monitor && block;
	if (drop)
		e->c.dropped += k->n; /* the current frame too when it is held */
	else
		pkt_release(e, k, cur_held ? 1 : 0);
	mark(e, k->key, DP_FRAG_MARK_REFUSED);
	pkt_free(e, k);
	return drop ? DP_ACT_DROP : DP_ACT_FORWARD;
}

/* ------------------------------------------------------- reassembly */

/* Does a piece overlap held ones? Sets k->conflict when bytes differ.
 * @return true when it overlaps them with the same bytes (a duplicate, in
 * part or whole). */
static bool overlap_check(struct dp_engine *e, struct frag_pkt *k, const struct dp_frame *fr,
			  const uint8_t *p)
{
	bool any = false, differ = false;
	const uint8_t *d = p + fr->frag_data_off;
	uint32_t a = fr->frag_off, b = fr->frag_off + fr->frag_data_len;
	for (uint16_t i = 0; i < k->n; i++) {
		const struct frag_piece *pc = &k->pc[i];
		uint32_t lo = a > pc->off ? a : pc->off;
		uint32_t hi = b < pc->off + pc->len ? b : pc->off + pc->len;
		if (lo >= hi)
			continue;
		any = true;
		const uint8_t *h = piece_frame(e, pc) + pc->data_off;
		if (memcmp(d + (lo - a), h + (lo - pc->off), hi - lo) != 0)
			differ = true;
	}
	if (differ)
		k->conflict = 1;
	return any && !differ;
}

static bool pkt_complete(const struct frag_pkt *k)
{
	if (!k->have_last)
		return false;
	uint32_t cur = 0;
	for (bool grew = true; grew && cur < k->total;) {
		grew = false;
		for (uint16_t i = 0; i < k->n; i++) {
			const struct frag_piece *pc = &k->pc[i];
			if (pc->off <= cur && pc->off + pc->len > cur) {
				cur = pc->off + pc->len;
				grew = true;
			}
		}
	}
	return cur >= k->total;
}

/* Rebuild the packet in g->buf from the first fragment's headers and every
 * piece's data. @return its length with *hdr (where the data starts), or 0
 * when it would exceed 65,535 bytes of IP packet. */
static uint32_t pkt_build(struct dp_engine *e, const struct frag_pkt *k, uint32_t *hdr)
{
	struct dp_frag *g = e->fg;
	const struct frag_piece *first = NULL;
	for (uint16_t i = 0; i < k->n && first == NULL; i++)
		if (k->pc[i].off == 0)
			first = &k->pc[i];
	const uint8_t *fp = piece_frame(e, first);
	const struct dp_frame *fr = &k->first;
	uint32_t l3 = fr->l3_off, h;
	if (k->family == 4) {
		h = fr->frag_data_off;
		uint32_t ihl = h - l3;
		if (ihl + k->total > FRAG_IP_MAX)
			return 0;
		memcpy(g->buf, fp, h);
		uint8_t *ip = g->buf + l3;
		dp_wr16(ip + 2, ihl + k->total);
		dp_wr16(ip + 6, 0);
		ip4_csum(ip, ihl);
	} else {
		h = fr->frag_hdr_off; /* the fragment header goes away */
		uint32_t ext = h - l3 - 40;
		if (ext + k->total > FRAG_IP_MAX)
			return 0;
		memcpy(g->buf, fp, h);
		g->buf[fr->frag_nh_off] = fp[fr->frag_hdr_off]; /* its next header */
		dp_wr16(g->buf + l3 + 4, ext + k->total);
	}
	for (uint16_t i = 0; i < k->n; i++) {
		const struct frag_piece *pc = &k->pc[i]; /* none past total (conflict) */
		memcpy(g->buf + h + pc->off, piece_frame(e, pc) + pc->data_off, pc->len);
	}
	*hdr = h;
	return h + k->total;
}

/* The tx function while a reassembled packet is processed: frames longer
 * than the longest original fragment frame are fragmented again (IPv4:
 * flags and offset, checksum; IPv6: a fragment header before TCP), with the
 * original packet's id for the first such frame and the ids after it for
 * the next ones. */
static void shim_tx(void *arg, unsigned pair, int to_smsc, const uint8_t *frame, uint32_t len)
{
	struct dp_engine *e = arg;
	struct dp_frag *g = e->fg;
	struct dp_frame fr;
	if (len <= g->shim_mtu || g->tx_fn == NULL ||
	    dp_frame_parse(frame, len, &fr) != DP_FRAME_TCP) {
		if (g->tx_fn != NULL)
			g->tx_fn(g->tx_arg, pair, to_smsc, frame, len);
		return;
	}
	uint32_t l3 = fr.l3_off, l4 = fr.l4_off;
	uint32_t dlen = (uint32_t)(fr.payload + fr.payload_len - (frame + l4));
	uint32_t hdr = fr.family == 4 ? l4 : l4 + 8;
	uint32_t mtu = g->shim_mtu < sizeof(g->out) ? g->shim_mtu : (uint32_t)sizeof(g->out);
	if (mtu < hdr + 8) {
		g->tx_fn(g->tx_arg, pair, to_smsc, frame, len);
		return;
	}
	uint32_t step = (mtu - hdr) & ~7u;
	uint32_t id = g->shim_id + g->shim_n++;
	uint32_t nh_at = l3 + 6;
	if (fr.family == 6) {
		/* The byte naming TCP: the last extension header before it. */
		uint32_t cur = l3 + 40;
		uint8_t nh = frame[l3 + 6];
		while (nh != 6 && cur + 8 <= l4) {
			nh_at = cur;
			nh = frame[cur];
			cur += v6_ext_len(nh, frame[cur + 1]);
		}
	}
	for (uint32_t off = 0; off < dlen; off += step) {
		uint32_t n = dlen - off < step ? dlen - off : step;
		bool more = off + n < dlen;
		uint8_t *o = g->out;
		memcpy(o, frame, l4);
		if (fr.family == 4) {
			uint8_t *ip = o + l3;
			dp_wr16(ip + 2, l4 - l3 + n);
			dp_wr16(ip + 4, id);
			dp_wr16(ip + 6, (more ? 0x2000u : 0) | (off >> 3));
			ip4_csum(ip, l4 - l3);
		} else {
			o[nh_at] = 44;
			uint8_t *fh = o + l4;
			fh[0] = 6;
			fh[1] = 0;
			dp_wr16(fh + 2, off | (more ? 1u : 0));
			dp_wr32(fh + 4, id);
			dp_wr16(o + l3 + 4, l4 - l3 - 40 + 8 + n);
		}
		memcpy(o + hdr, frame + l4 + off, n);
		g->tx_fn(g->tx_arg, pair, to_smsc, o, hdr + n);
		e->c.frag_refragmented++;
	}
}

/* The packet is whole: feed it to the TCP path, then send the originals
 * (unchanged or carrying their slice of the rewritten packet) or nothing. */
static enum dp_action pkt_process(struct dp_engine *e, struct frag_pkt *k, uint8_t *wp)
{
	struct dp_frag *g = e->fg;
	uint32_t hdr = 0;
	uint32_t len = pkt_build(e, k, &hdr);
	struct dp_frame fr;
	if (len == 0) {
		e->c.frag_refused += k->n;
		return pkt_refuse(e, k, "builtin:ip-fragment", true);
	}
	if (dp_frame_parse(g->buf, len, &fr) != DP_FRAME_TCP)
		return pkt_refuse(e, k, "builtin:ip-fragment", true); /* e.g. a cut TCP header */
	e->c.frag_reassembled++;
	g->tx_fn = e->tx_fn;
	g->tx_arg = e->tx_arg;
	g->shim_mtu = k->max_flen;
	g->shim_id = k->id;
	g->shim_n = 0;
	e->tx_fn = shim_tx;
	e->tx_arg = e;
	enum dp_action act = dp_engine_tcp(e, &fr, g->buf, wp != NULL ? g->buf : NULL, len);
	e->tx_fn = g->tx_fn;
	e->tx_arg = g->tx_arg;
	/* Fragments of this id that come later are not harmless duplicates:
	 * the receiver may not have completed the packet (it drops fragments
	 * this bridge takes, e.g. an IPv6 middle one not a multiple of 8). */
	if (dp_engine_smpp_port(e->set, fr.sport, fr.dport))
		mark(e, k->key, DP_FRAG_MARK_SMPP);
	if (act == DP_ACT_FORWARD) {
		bool changed = false;
		for (uint16_t i = 0; i < k->n && !changed; i++) {
			const struct frag_piece *pc = &k->pc[i];
			changed = memcmp(g->buf + hdr + pc->off, piece_frame(e, pc) + pc->data_off,
					 pc->len) != 0;
		}
		if (!changed || wp == NULL) {
			pkt_release(e, k, 1);
		} else {
			for (uint16_t i = 0; i < k->n; i++) {
				const struct frag_piece *pc = &k->pc[i];
				bool cur = i + 1 == k->n;
				uint8_t *o = cur ? wp : g->out;
				if (!cur)
					memcpy(o, piece_frame(e, pc), pc->flen);
				memcpy(o + pc->data_off, g->buf + hdr + pc->off, pc->len);
				if (!cur && e->tx_fn != NULL)
					e->tx_fn(e->tx_arg, pc->pair, pc->side == 0, o, pc->flen);
				e->c.frag_rewritten++;
			}
		}
	}
	pkt_free(e, k);
	return act;
}

/* A first fragment that may belong to an SMPP flow: it names an SMPP or
 * TLS port, or is too short to name ports at all (then the reassembled
 * packet decides). */
static bool first_smpp(const struct dp_engine *e, const struct dp_frame *fr)
{
	return fr->frag_first &&
	       (fr->frag_data_len < 4 || dp_engine_smpp_port(e->set, fr->sport, fr->dport));
}

/* IPv6 extension headers that may follow the fragment header before TCP
 * (a destination options header belongs there, RFC 8200 §4.1; a second,
 * atomic, fragment header is skipped by receivers, RFC 6946): the ones
 * dp_frame_parse() walks in a whole packet, but hop-by-hop (only valid
 * first). */
static bool v6_ext(uint8_t nh)
{
	return nh == 43 || nh == 60 || nh == 135 || nh == 51 || nh == 44;
}

/* An IPv6 fragment whose fragment header does not name TCP: the packet may
 * be TCP all the same (a later fragment's next header means nothing; a
 * first one's may name extension headers before TCP). A first fragment's
 * data is walked to TCP (then @p f gets l4proto 6 and the ports).
 * @return first_smpp()'s answer: true for a first fragment naming an SMPP
 * or TLS port, or whose chain or TCP ports go on past its data, or whose
 * chain is longer than dp_frame_parse() accepts, or holds a fragment header
 * that is not atomic (the reassembled packet decides); false for later
 * fragments and for a chain ending in another protocol. */
static bool ext_first_smpp(const struct dp_engine *e, struct dp_frame *f, const uint8_t *p)
{
	if (!f->frag_first)
		return false;
	uint32_t cur = f->frag_data_off, end = cur + f->frag_data_len;
	uint8_t nh = f->l4proto;
	for (int i = 0; v6_ext(nh); i++) {
		if (i == 8)
			return true;
		if (end - cur < 8)
			return true;
		uint32_t elen = v6_ext_len(nh, p[cur + 1]);
		if (nh == 44) {
			if ((dp_rd16(p + cur + 2) & 0xfff9) != 0)
				return true; /* fragmented twice */
			elen = 8;
		}
		nh = p[cur];
		if (elen > end - cur)
			return true;
		cur += elen;
	}
	if (nh != 6)
		return false;
	if (end - cur < 4)
		return true;
	f->l4proto = 6;
	f->sport = dp_rd16(p + cur);
	f->dport = dp_rd16(p + cur + 2);
	return dp_engine_smpp_port(e->set, f->sport, f->dport);
}

/* A fragment of an id already decided (e->frags); @p smpp_first: first_smpp(). */
static enum dp_action marked(struct dp_engine *e, struct dp_cslot *m, const struct dp_frame *fr,
			     uint64_t key, bool smpp_first)
{
	if (m->aux == DP_FRAG_MARK_REFUSED)
		return refuse_act(e);
	if (!fr->frag_first) {
		/* Passed unheld: not SMPP (PASS), or a bound was reached or the
		 * packet timed out before its first fragment came (UNKNOWN). */
		if (m->aux == DP_FRAG_MARK_UNKNOWN)
			e->c.frag_refused++;
		return DP_ACT_FORWARD;
	}
	if (!smpp_first) {
		mark(e, key, DP_FRAG_MARK_PASS);
		return DP_ACT_FORWARD;
	}
	/* An SMPP first fragment whose other fragments already passed (or, under
	 * a PASS mark, a second packet reusing the id of a non-SMPP one): it
	 * cannot be reassembled, and is never passed silently. */
	e->c.frag_refused++;
	return refuse_first(e, fr, key);
}

enum dp_action dp_frag_frame(struct dp_engine *e, const struct dp_frame *fr, const uint8_t *p,
			     uint8_t *wp, uint32_t len)
{
	struct dp_frag *g = e->fg;
	e->c.ip_frags++;
	struct dp_frame f6;
	bool smpp_first;
	if (fr->l4proto == 6) {
		smpp_first = first_smpp(e, fr);
	} else if (fr->family == 6) {
		/* IPv6 receivers take the protocol from the first fragment (RFC
		 * 8200 §4.5: later ones' next header is ignored), which may name
		 * extension headers before TCP. */
		f6 = *fr;
		smpp_first = ext_first_smpp(e, &f6, p);
		fr = &f6;
	} else {
		return DP_ACT_FORWARD; /* IPv4: the protocol is part of the id; only TCP can carry SMPP */
	}
	uint64_t key = frag_key(fr);
	struct frag_pkt *k = pkt_find(g, fr, key);
	bool smpp_id = k != NULL && k->smpp_id;
	if (k == NULL) {
		struct dp_cslot *m = dp_ct_get(&e->frags, key, e->now_ms, false);
		if (m != NULL && e->now_ms - m->t_ms < FRAG_MARK_MS) {
			if (m->aux != DP_FRAG_MARK_SMPP)
				return marked(e, m, fr, key, smpp_first);
			smpp_id = true;
		}
	}
	/* An id whose last packet was SMPP: a first fragment is held whatever
	 * it names (IPv6: even another protocol; the reassembled packet
	 * decides), later ones get the policy if their packet never
	 * completes. */
	if (smpp_id && fr->frag_first)
		smpp_first = true;
	if (k == NULL) {
		if (fr->frag_first && !smpp_first) {
			mark(e, key, DP_FRAG_MARK_PASS);
			return DP_ACT_FORWARD;
		}
		k = pkt_new(e, fr, key);
		if (k == NULL) {
			/* No room for one more packet. */
			e->c.frag_refused++;
			if (!smpp_first && !smpp_id) {
				mark(e, key, DP_FRAG_MARK_UNKNOWN);
				return DP_ACT_FORWARD;
			}
			return refuse_first(e, fr, key);
		}
		k->smpp_id = smpp_id;
	} else if (fr->frag_first && k->state == PK_WAIT && !smpp_first) {
		/* Not SMPP after all: what waited goes first, unchanged. */
		pkt_pass(e, k, DP_FRAG_MARK_PASS);
		return DP_ACT_FORWARD;
	}
	/* Hold it, if the bounds allow. */
	uint32_t end = fr->frag_off + fr->frag_data_len;
	uint16_t chunk = DP_STREAM_NOBUF;
	if (len <= FRAG_FRAME_MAX && k->n < FRAG_PER_PKT && g->held_bytes + len <= e->set->frag_bytes &&
	    end <= FRAG_IP_MAX)
		chunk = dp_pool_get(&g->pool);
	if (chunk == DP_STREAM_NOBUF) {
		e->c.frag_refused++;
		if (k->state == PK_SMPP || smpp_first || k->smpp_id) {
			if (smpp_first)
				k->first = *fr;
			e->c.smpp_frags += k->state == PK_SMPP ? 0 : k->n;
			pkt_refuse(e, k, "builtin:ip-fragment", false);
			return refuse_act(e); /* the same policy for the current frame */
		}
		/* Unknown yet: let it all pass; the first fragment decides. */
		pkt_pass(e, k, DP_FRAG_MARK_UNKNOWN);
		return DP_ACT_FORWARD;
	}
	if (overlap_check(e, k, fr, p))
		e->c.frag_dups++;
	if (!fr->frag_more) {
		if (k->have_last && k->total != end)
			k->conflict = 1; /* two different ends */
		k->have_last = 1;
		k->total = end;
		for (uint16_t i = 0; i < k->n; i++)
			if (k->pc[i].off + k->pc[i].len > end)
				k->conflict = 1; /* a piece held past this end */
	}
	if (k->have_last && end > k->total)
		k->conflict = 1; /* bytes past the end */
	/* Receivers drop such a fragment (IPv6, RFC 8200 §4.5) or cut it
	 * (Linux, IPv4): they would not reassemble what is inspected. */
	if (fr->frag_more && fr->frag_data_len % 8 != 0)
		k->odd = 1;
	struct frag_piece *pc = &k->pc[k->n++];
	pc->off = fr->frag_off;
	pc->len = fr->frag_data_len;
	pc->chunk = chunk;
	pc->data_off = fr->frag_data_off;
	pc->flen = (uint16_t)len;
	pc->pair = e->rx_pair;
	pc->side = (uint8_t)e->rx_side;
	memcpy(dp_pool_chunk(&g->pool, chunk)->data, p, len);
	k->bytes += len;
	g->held_bytes += len;
	if (len > k->max_flen)
		k->max_flen = (uint16_t)len;
	if (smpp_first && k->state == PK_WAIT) {
		k->state = PK_SMPP;
		k->first = *fr;
		e->c.smpp_frags += k->n;
	} else if (k->state == PK_SMPP) {
		e->c.smpp_frags++;
	}
	if (k->state == PK_SMPP && k->conflict) {
		e->c.frag_overlaps++;
		return pkt_refuse(e, k, "builtin:ip-fragment-overlap", true);
	}
	if (k->state == PK_SMPP && k->odd) {
		e->c.frag_refused += k->n;
		return pkt_refuse(e, k, "builtin:ip-fragment", true);
	}
	if (k->state == PK_SMPP && pkt_complete(k))
		return pkt_process(e, k, wp);
	e->c.frag_held++;
	return DP_ACT_DROP; /* held: it leaves with its packet */
}

void dp_frag_expire(struct dp_engine *e)
{
	struct dp_frag *g = e->fg;
	if (g == NULL || g->used == 0)
		return;
	for (uint32_t i = 0; i < g->n_pkts; i++) {
		struct frag_pkt *k = &g->pkts[i];
		if (k->state == PK_FREE || e->now_ms - k->t_ms < e->set->frag_timeout_ms)
			continue;
		e->c.frag_timeouts++;
		if (k->state == PK_SMPP || k->smpp_id) {
			pkt_refuse(e, k, "builtin:ip-fragment", false);
			continue;
		}
		/* Its first fragment never came: what waited goes on (useless
		 * to a receiver without it); if it comes, it decides. */
		pkt_pass(e, k, DP_FRAG_MARK_UNKNOWN);
	}
}
