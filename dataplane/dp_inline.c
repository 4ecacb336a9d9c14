/* dp_inline.c — inline enforcement: the edit library (dataplane/edit/) wired
 * into the worker's frame path.
 *
 * Per frame of an SMPP flow in inline mode, dp_engine_frame_rw() saves the
 * stream position of both directions, feeds the payload to the stream layer
 * (which cuts PDUs and has them judged synchronously: on_pdu() → policy →
 * dp_inline_pdu() records each PDU with its verdict and keeps its bytes),
 * then calls dp_inline_frame(). A flow gets an edit slot (struct dp_eslot,
 * 23 KiB, from a bounded per-worker pool) the first time it needs one: a
 * blocked PDU, or a segment that leaves a PDU undecided (it ends inside one,
 * or arrives out of order). Until then its frames pass unchanged, and they
 * contained only whole, passed PDUs, so the edit library can start at the
 * stream position saved before this frame. From then on every segment of
 * the flow goes through dp_edit_segment(): the frame is rewritten in place
 * when it is forwarded whole, otherwise it is consumed and the ranges to
 * forward are built as new frames (held bytes come from this frame's PDUs,
 * kept in e->call_buf). Responses for blocked PDUs are injected toward the
 * ESME; resends are driven by dp_engine_edit_tick() from the worker loop.
 * The slot is released when both directions closed and everything was
 * acknowledged; a flow reset toward both ends drops its later frames.
 *
 * submit_multi is judged per destination. All blocked: removed and answered
 * like any blocked PDU, the answer listing every destination in
 * unsuccess_sme with its status. Some blocked: the PDU is replaced toward
 * the SMSC by one without them (dp_edit_replace()), the blocked entries wait
 * in the slot (mpend, by sequence_number) and the SMSC's submit_multi_resp
 * is replaced toward the ESME by one whose unsuccess_sme list has the
 * SMSC's entries followed by the blocked ones.
 */
#include <inttypes.h>
#include <string.h>

#include <rte_malloc.h>

#include "dp_priv.h"
#include "smpp.h"

static inline int32_t sdiff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

int dp_inline_init(struct dp_engine *e, int socket)
{
	const struct dp_settings *s = e->set;
	struct dp_edit_config cfg;
	dp_edit_config_default(&cfg);
	dp_edit_ctx_init(&e->ectx, &cfg);
	e->monitor = s->monitor;
	e->n_slots = s->edit_flows;
	e->slot_free = UINT32_MAX;
	if (e->n_slots == 0)
		return DP_OK;
	e->slots = rte_zmalloc_socket("dp_eslots", sizeof(struct dp_eslot) * e->n_slots, 64, socket);
	if (e->slots == NULL)
		return DP_ENOMEM;
	for (uint32_t i = e->n_slots; i-- > 0;) {
		e->slots[i].next_free = e->slot_free;
		e->slot_free = i;
	}
	return DP_OK;
}

void dp_inline_free(struct dp_engine *e)
{
	rte_free(e->slots);
	e->slots = NULL;
}

void dp_engine_set_tx(struct dp_engine *e, dp_tx_fn fn, void *arg)
{
	e->tx_fn = fn;
	e->tx_arg = arg;
}

void dp_engine_set_rx(struct dp_engine *e, unsigned pair, unsigned side)
{
	e->rx_pair = (uint16_t)pair;
	e->rx_side = (uint16_t)side;
}

void dp_engine_set_monitor(struct dp_engine *e, bool monitor)
{
	e->monitor = monitor;
}

bool dp_engine_monitor(const struct dp_engine *e)
{
	return e->monitor;
}

void dp_engine_set_time_ns(struct dp_engine *e, uint64_t now_ns)
{
	e->now_ns = now_ns;
}

bool dp_engine_impair_take_dup(struct dp_engine *e)
{
	if (e->impair_flag != 1)
		return false;
	e->impair_flag = 2; /* the duplicate itself is not duplicated again */
	return true;
}

void dp_engine_impair_done(struct dp_engine *e)
{
	e->impair_flag = 0;
}

/* Test impairer DP_IMPAIR_REORDER: after an ESME->SMSC segment that lost a
 * blocked PDU (the flow is "armed": e->impair_held keeps that frame for its
 * addresses and ports), the flow's next data segment is held back
 * (e->impair_held) and fed after the one that follows it. States of
 * e->impair_flag (0 idle; 1, 2 belong to DP_IMPAIR_DUP_BLOCK): */
enum { IMPAIR_ARMED = 3, IMPAIR_HOLDING = 4, IMPAIR_DUE = 5 };

static void tx(struct dp_engine *e, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len);

/* The same direction of the same connection (dp_frame_parse() sets only the
 * address bytes of the family). */
static bool impair_same_dir(const struct dp_frame *a, const struct dp_frame *b)
{
	size_t alen = a->family == 4 ? 4 : 16;
	return a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
	       memcmp(a->saddr, b->saddr, alen) == 0 && memcmp(a->daddr, b->daddr, alen) == 0;
}

bool dp_engine_impair_hold(struct dp_engine *e, const uint8_t *p, uint32_t len)
{
	if (!(e->set->test_impair & DP_IMPAIR_REORDER) ||
	    (e->impair_flag != IMPAIR_ARMED && e->impair_flag != IMPAIR_HOLDING))
		return false;
	struct dp_frame a, b;
	if (dp_frame_parse(p, len, &b) != DP_FRAME_TCP || b.payload_len == 0 ||
	    dp_frame_parse(e->impair_held, e->impair_held_len, &a) != DP_FRAME_TCP ||
	    !impair_same_dir(&a, &b))
		return false;
	if (e->impair_flag == IMPAIR_HOLDING) {
		e->impair_flag = IMPAIR_DUE; /* this one overtakes the held one */
		return false;
	}
	if (len > sizeof(e->impair_held))
		return false;
	memcpy(e->impair_held, p, len);
	e->impair_held_len = len;
	e->impair_flag = IMPAIR_HOLDING;
	return true;
}

void dp_engine_impair_release(struct dp_engine *e)
{
	if (e->impair_flag != IMPAIR_DUE)
		return;
	e->impair_flag = 0;
	/* It arrives from the side the segment that overtook it came from. */
	if (dp_engine_frame_rw(e, e->impair_held, e->impair_held_len) == DP_ACT_FORWARD)
		tx(e, e->rx_pair, e->rx_side == 0, e->impair_held, e->impair_held_len);
}

uint32_t dp_engine_edit_slots_used(const struct dp_engine *e)
{
	return e->slots_used;
}

static struct dp_eslot *slot_of(struct dp_engine *e, const struct dp_flow *f)
{
	if (f->edit == 0 || f->edit > e->n_slots)
		return NULL;
	return &e->slots[f->edit - 1];
}

static struct dp_eslot *slot_alloc(struct dp_engine *e, struct dp_flow *f)
{
	if (e->slot_free == UINT32_MAX)
		return NULL;
	uint32_t i = e->slot_free;
	struct dp_eslot *sl = &e->slots[i];
	e->slot_free = sl->next_free;
	memset(sl, 0, sizeof(*sl));
	dp_edit_flow_init(&sl->ef);
	sl->flow = f;
	sl->in_use = 1;
	sl->pair = e->rx_pair;
	f->edit = (uint16_t)(i + 1);
	f->edit_state = DP_EDIT_FS_ACTIVE;
	e->slots_used++;
	e->c.edit_slots_alloc++;
	return sl;
}

static void slot_release(struct dp_engine *e, struct dp_flow *f, uint8_t state)
{
	struct dp_eslot *sl = slot_of(e, f);
	if (sl != NULL) {
		uint32_t i = (uint32_t)(sl - e->slots);
		sl->in_use = 0;
		sl->flow = NULL;
		sl->next_free = e->slot_free;
		e->slot_free = i;
		e->slots_used--;
		e->c.edit_slots_free++;
	}
	f->edit = 0;
	f->edit_state = state;
}

void dp_inline_flow_gone(struct dp_engine *e, struct dp_flow *f)
{
	if (f->edit != 0)
		slot_release(e, f, DP_EDIT_FS_NONE);
	f->edit_state = DP_EDIT_FS_NONE;
}

/* ------------------------------------------------------------ output */

static void tx(struct dp_engine *e, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len)
{
	if (e->tx_fn == NULL || len == 0)
		return;
	e->c.edit_frames_emitted++;
	e->tx_fn(e->tx_arg, pair, to_smsc, fr, len);
}

/* The TSval forwarded in an edited direction never goes backwards. A
 * header-only segment is forwarded at the release point (the receiver's
 * rcv_nxt), so the receiver takes its TSval as TS.Recent; a segment that
 * reached the dataplane late (reordered before it) and the held bytes
 * released with it would carry an older TSval and be dropped (PAWS) until
 * the sender's RTO. Such frames get the highest TSval sent that way. */
static void ts_monotonic(struct dp_eslot *sl, enum dp_edit_dir ed, uint8_t *l4, uint32_t avail)
{
	uint32_t hl = (uint32_t)(l4[12] >> 4) * 4;
	if (avail < 20 || hl < 20 || hl > avail || (l4[13] & DP_TCP_RST))
		return;
	for (uint32_t i = 20; i + 1 < hl;) {
		if (l4[i] == 0)
			return;
		if (l4[i] == 1) {
			i++;
			continue;
		}
		uint32_t ol = l4[i + 1];
		if (ol < 2 || i + ol > hl)
			return;
		if (l4[i] == 8 && ol == 10) {
			uint32_t v = dp_rd32(l4 + i + 2);
			if (sl->ts_seen[ed] && sdiff(v, sl->ts_max[ed]) < 0) {
				dp_edit_tcp_put32(l4, i + 2, sl->ts_max[ed]);
			} else {
				sl->ts_max[ed] = v;
				sl->ts_seen[ed] = 1;
			}
			return;
		}
		i += ol;
	}
}

static void note_sent(struct dp_eslot *sl, enum dp_edit_dir ed, uint8_t *l4, uint32_t avail)
{
	ts_monotonic(sl, ed, l4, avail);
	sl->last_ack[ed] = dp_rd32(l4 + 8);
	sl->last_win[ed] = dp_rd16(l4 + 14);
	sl->ack_valid[ed] = 1;
}

/* Frames of edit direction `ed` travel toward the SMSC when ed is E2S.
 * `l4_off`: where the TCP header starts in `fr` (0: unknown). */
static void tx_dir_l4(struct dp_engine *e, struct dp_eslot *sl, enum dp_edit_dir ed,
		      const uint8_t *fr, uint32_t len, uint32_t l4_off)
{
	if (l4_off != 0 && l4_off + 20 <= len && fr == e->out)
		note_sent(sl, ed, e->out + l4_off, len - l4_off);
	tx(e, sl->pair, ed == DP_EDIT_E2S, fr, len);
}

static void tx_dir(struct dp_engine *e, struct dp_eslot *sl, enum dp_edit_dir ed,
		   const uint8_t *fr, uint32_t len)
{
	tx_dir_l4(e, sl, ed, fr, len, 0);
}

/* Payload bytes per segment the dataplane builds in direction `ed` (a
 * replacement or an injected response): no more than the largest segment the
 * sender of that direction sent, at least 536 (RFC 879), at most 1400. */
static uint32_t seg_chunk(const struct dp_eslot *sl, enum dp_edit_dir ed)
{
	uint32_t m = sl->seg_max[ed];
	return m < 536 ? 536 : m > 1400 ? 1400 : m;
}

/* The bytes `b` of output range `r` in frames of at most `chunk` payload
 * bytes built on the template `pkt`; `keep` (FIN) on the last one. */
static void emit_chunked(struct dp_engine *e, struct dp_eslot *sl, enum dp_edit_dir ed,
			 const uint8_t *p, const struct dp_edit_pkt *pkt,
			 const struct dp_edit_range *r, const uint8_t *b, uint32_t chunk,
			 uint8_t keep, uint32_t l4o)
{
	for (uint32_t o = 0; o < r->len; o += chunk) {
		uint32_t l = r->len - o < chunk ? r->len - o : chunk;
		int n = dp_edit_emit(&e->ectx, &sl->ef, ed, p, pkt, r->out_seq + o, b + o, l,
				     o + l == r->len ? keep : 0, e->out, sizeof(e->out));
		if (n > 0)
			tx_dir_l4(e, sl, ed, e->out, (uint32_t)n, l4o);
	}
}

/* RST toward both ends; the flow's later frames are dropped. */
static void reset_both(struct dp_engine *e, struct dp_flow *f, struct dp_eslot *sl)
{
	for (int d = 0; d < 2; d++) {
		int n = dp_edit_build_rst(&sl->ef, (enum dp_edit_dir)d, e->out, sizeof(e->out));
		if (n > 0)
			tx_dir(e, sl, (enum dp_edit_dir)d, e->out, (uint32_t)n);
	}
	e->c.edit_resets++;
	if (f->syn_seen == 0 && dp_edit_dir_synced(&sl->ef, DP_EDIT_E2S) &&
	    !dp_edit_dir_synced(&sl->ef, DP_EDIT_S2E))
		e->c.edit_mid_unplaced_resets++; /* picked up mid-stream, SMSC side not placed */
	const struct dp_edit_counters *k = &e->ectx.cnt;
	RTE_LOG(NOTICE, USER1,
		"smsfw: worker %u: inline flow of %s reset toward both ends (worker totals: "
		"hold_closed %" PRIu64 " edits_closed %" PRIu64 " inj_closed %" PRIu64
		" resend_exhausted %" PRIu64 " list_overflow %" PRIu64 " inj queued %" PRIu64
		" acked %" PRIu64 " outstanding %u bytes)\n",
		e->id, f->sess.system_id[0] ? f->sess.system_id : "(unbound)", k->hold_closed,
		k->edits_closed, k->inj_closed, k->resend_exhausted, e->c.edit_list_overflow,
		k->inj_queued, k->inj_acked, dp_edit_inj_outstanding(&sl->ef));
	slot_release(e, f, DP_EDIT_FS_RESET);
}

/* Injected segments due now (new responses, resends) toward the ESME. */
static bool send_injected(struct dp_engine *e, struct dp_flow *f, struct dp_eslot *sl)
{
	struct dp_edit_tx t;
	int rc;
	while ((rc = dp_edit_tx_next(&e->ectx, &sl->ef, e->now_ns, &t)) == DP_EDIT_OK) {
		uint32_t ack = t.ack_valid ? t.ack : dp_edit_dir_release_seq(&sl->ef, DP_EDIT_E2S);
		if ((e->set->test_impair & DP_IMPAIR_DROP_INJ1) && !t.resend) {
			continue; /* test only: the first copy is lost */
		}
		/* A long response (submit_multi_resp listing many destinations)
		 * goes out in several segments. */
		uint32_t chunk = seg_chunk(sl, DP_EDIT_S2E);
		for (uint32_t o = 0; o < t.len; o += chunk) {
			uint32_t l = t.len - o < chunk ? t.len - o : chunk;
			int n = dp_edit_build_seg(&sl->ef, DP_EDIT_S2E, t.seq + o, ack,
						  DP_EDIT_TCP_ACK | DP_EDIT_TCP_PSH, t.data + o, l,
						  e->out, sizeof(e->out));
			if (n <= 0)
				break;
			tx_dir_l4(e, sl, DP_EDIT_S2E, e->out, (uint32_t)n,
				  (uint32_t)sl->ef.tmpl[DP_EDIT_S2E].l2_len +
				      sl->ef.tmpl[DP_EDIT_S2E].l3_len);
		}
	}
	if (rc == DP_EDIT_EMISMATCH || dp_edit_flow_reset_pending(&sl->ef)) {
		reset_both(e, f, sl);
		return false;
	}
	return true;
}

uint32_t dp_engine_edit_tick(struct dp_engine *e)
{
	uint32_t sent = 0;
	if (e->slots_used == 0)
		return 0;
	uint64_t before = e->c.edit_frames_emitted;
	for (uint32_t i = 0; i < e->n_slots; i++) {
		struct dp_eslot *sl = &e->slots[i];
		if (!sl->in_use)
			continue;
		uint64_t dl = dp_edit_next_deadline(&sl->ef);
		if (dl != 0 && dl <= e->now_ns)
			send_injected(e, sl->flow, sl);
	}
	e->c.edit = e->ectx.cnt;
	sent = (uint32_t)(e->c.edit_frames_emitted - before);
	return sent;
}

/* ------------------------------------------------------- responses */

/* SMPP 5.0 additional_status_info_text (0x001D) naming the rule. */
static uint32_t status_tlv(uint8_t *out, uint32_t cap, const char *rule)
{
	char txt[64];
	int n = snprintf(txt, sizeof(txt), "smsfw: %s", rule[0] ? rule : "policy");
	if (n < 0)
		return 0;
	uint32_t l = (uint32_t)n + 1; /* C-Octet string with its NUL */
	if (l > sizeof(txt))
		l = sizeof(txt);
	if (4 + l > cap)
		return 0;
	out[0] = 0x00;
	out[1] = 0x1d;
	out[2] = (uint8_t)(l >> 8);
	out[3] = (uint8_t)l;
	memcpy(out + 4, txt, l - 1);
	out[4 + l - 1] = 0;
	return 4 + l;
}

static void queue_resp(struct dp_engine *e, const uint8_t *b, size_t n)
{
	if (e->n_inj == 0)
		e->inj_used = 0;
	if (e->n_inj >= DP_CALL_INJ || n > DP_CALL_INJ_BYTES - e->inj_used) {
		e->c.edit_resp_failed++;
		return;
	}
	memcpy(e->inj_buf + e->inj_used, b, n);
	e->inj_off[e->n_inj] = (uint16_t)e->inj_used;
	e->inj_len[e->n_inj++] = (uint16_t)n;
	e->inj_used += (uint32_t)n;
}

/* The response to a blocked request from the ESME. */
static void build_resp(struct dp_engine *e, struct dp_flow *f, uint32_t cmd, uint32_t sqn)
{
	uint8_t b[128], tlv[80];
	size_t n = 0;
	int rc = SMPP_EINVAL;
	uint32_t status = e->last.status;
	uint32_t tl = 0;
	if (f->sess.version >= 0x50)
		tl = status_tlv(tlv, sizeof(tlv), e->last.rule);
	struct smpp_view empty = { NULL, 0 };
	struct smpp_view tv = { tlv, tl };
	switch (cmd) {
	case 0x00000004: /* submit_sm */
	case 0x00000103: /* data_sm */
		rc = smpp_encode_msgid_resp(cmd, sqn, status, empty, tv, b, sizeof(b), &n);
		if (rc != SMPP_OK)
			rc = smpp_encode_msgid_resp(cmd, sqn, status, empty, empty, b, sizeof(b), &n);
		break;
	case 0x00000021: /* submit_multi */
		rc = smpp_encode_submit_multi_resp(sqn, status, empty, NULL, 0, b, sizeof(b), &n);
		break;
	case 0x00000007: /* replace_sm: replace_sm_resp is a header (3.4 §4.10.2) */
		rc = smpp_encode_empty(0x80000007u, sqn, status, b, sizeof(b), &n);
		break;
	case 0x00000111: { /* broadcast_sm (5.0 only): the body is kept with the error
			    * status, message_id an empty C-Octet string, then the TLV;
			    * a reader that skips error bodies ignores it */
		struct smpp_pdu r;
		memset(&r, 0, sizeof(r));
		r.hdr.command_id = 0x80000111u;
		r.hdr.command_status = status;
		r.hdr.sequence_number = sqn;
		r.tlvs = tv;
		rc = smpp_pdu_encode(&r, b, sizeof(b), &n);
		break;
	}
	case 0x00000001:
	case 0x00000002:
	case 0x00000009: { /* binds */
		struct smpp_bind_resp_opts o;
		memset(&o, 0, sizeof(o));
		if (f->sess.version >= 0x50) {
			o.sc_interface_version = 0x50;
			if (tl > 5)
				o.additional_status_info_text = (struct smpp_view){ tlv + 4, tl - 5 };
		}
		rc = smpp_encode_bind_resp(cmd, sqn, status, empty, &o, b, sizeof(b), &n);
		break;
	}
	default:
		break;
	}
	if (rc != SMPP_OK) {
		e->c.edit_resp_failed++;
		return;
	}
	queue_resp(e, b, n);
}

/* ------------------------------------------------------ submit_multi */

static const struct smpp_decode_opts multi_opts = { .max_pdu = DP_SMPP_MAX_PDU,
						    .flags = SMPP_DEC_RELAX_CSTR_MAX };

/* submit_multi_resp with a body even when the status is not 0: the
 * unsuccess_sme list is what tells the ESME which destinations failed. */
static int encode_multi_resp(uint32_t sqn, uint32_t status, const uint8_t *ulist, uint32_t ulen,
			     unsigned ucnt, struct smpp_view tlvs, uint8_t *out, size_t cap,
			     size_t *n)
{
	struct smpp_pdu r;
	memset(&r, 0, sizeof(r));
	r.hdr.command_id = 0x80000021u;
	r.hdr.command_status = status;
	r.hdr.sequence_number = sqn;
	r.unsuccess = (struct smpp_view){ ulist, ulen };
	r.no_unsuccess = (uint8_t)ucnt;
	r.tlvs = tlvs;
	return smpp_pdu_encode(&r, out, cap, n);
}

/* A submit_multi from the ESME with at least one destination blocked (per
 * destination statuses in e->last). All blocked: answered with every
 * destination listed. Some: c becomes DP_EDIT_PDU_REPLACE with the new PDU,
 * the blocked entries and a whole-PDU answer in e->mbuf (dp_inline_frame()
 * stages them). @return false if the PDU cannot be taken apart (the caller
 * blocks it whole, as any PDU). */
static bool multi_request(struct dp_engine *e, struct dp_flow *f, struct dp_call_pdu *c,
			  const uint8_t *pdu, uint32_t len, uint32_t sqn)
{
	struct smpp_pdu m;
	if (smpp_pdu_decode(pdu, len, &multi_opts, &m) != SMPP_OK || e->last.ndest == 0 ||
	    m.number_of_dests != e->last.ndest)
		return false;
	/* Destination lists: the passed ones (the new PDU), every one with its
	 * status (the answer for the whole PDU), the blocked ones. */
	uint8_t keep[DP_MULTI_DESTS * 24], all[DP_MULTI_DESTS * 27], blk[DP_MULTI_DESTS * 27];
	size_t nkeep = 0, nall = 0, nblk = 0;
	uint8_t ckeep = 0, call = 0, cblk = 0;
	struct smpp_list_iter it;
	struct smpp_dest d;
	unsigned i = 0;
	smpp_dest_iter_init(&it, &m);
	while (smpp_dest_next(&it, &d) && i < e->last.ndest) {
		uint32_t st = e->last.dest_status[i++];
		struct smpp_unsuccess u = { d.dest_addr_ton, d.dest_addr_npi, d.destination_addr,
					    st ? st : e->last.status };
		if (d.dest_flag != SMPP_DEST_SME) /* a distribution list: its name */
			u = (struct smpp_unsuccess){ 0, 0, d.dl_name, u.error_status_code };
		if (smpp_unsuccess_put(all, sizeof(all), &nall, &call, &u) != SMPP_OK)
			return false;
		int rc = st ? smpp_unsuccess_put(blk, sizeof(blk), &nblk, &cblk, &u)
			    : smpp_dest_put(keep, sizeof(keep), &nkeep, &ckeep, &d);
		if (rc != SMPP_OK)
			return false;
	}
	uint8_t tlv[80];
	uint32_t tl = f->sess.version >= 0x50 ? status_tlv(tlv, sizeof(tlv), e->last.rule) : 0;
	struct smpp_view tv = { tlv, tl };
	if (ckeep == 0) {
		uint8_t b[16 + 1 + 1 + sizeof(all) + sizeof(tlv)];
		size_t n = 0;
		if (encode_multi_resp(sqn, e->last.status, all, (uint32_t)nall, call, tv, b, sizeof(b),
				      &n) != SMPP_OK)
			return false;
		c->verdict = DP_EDIT_PDU_BLOCK;
		queue_resp(e, b, n);
		return true;
	}
	uint32_t room = DP_CALL_MBYTES - e->mbuf_used;
	uint8_t *b = e->mbuf + e->mbuf_used;
	size_t np = 0, nf = 0;
	m.dests = (struct smpp_view){ keep, (uint32_t)nkeep };
	m.number_of_dests = ckeep;
	if (nblk > room || smpp_pdu_encode(&m, b, room - nblk, &np) != SMPP_OK || np > UINT16_MAX)
		return false;
	memcpy(b + np, blk, nblk);
	if (encode_multi_resp(sqn, e->last.status, all, (uint32_t)nall, call, tv, b + np + nblk,
			      room - np - nblk, &nf) != SMPP_OK || nf > UINT16_MAX)
		return false;
	c->verdict = DP_EDIT_PDU_REPLACE;
	c->moff = e->mbuf_used;
	c->mlen = (uint16_t)np;
	c->ulen = (uint16_t)nblk;
	c->ucnt = cblk;
	c->flen = (uint16_t)nf;
	c->sqn = sqn;
	e->mbuf_used += (uint32_t)(np + nblk + nf);
	return true;
}

static void pend_drop(struct dp_eslot *sl, uint32_t k)
{
	struct dp_multi_pend *p = &sl->mpend[k];
	uint32_t off = p->off, len = p->len;
	memmove(sl->mpend_buf + off, sl->mpend_buf + off + len, sl->mpend_used - off - len);
	sl->mpend_used = (uint16_t)(sl->mpend_used - len);
	memmove(p, p + 1, (sl->mpend_n - k - 1) * sizeof(*p));
	sl->mpend_n--;
	for (uint32_t i = 0; i < sl->mpend_n; i++)
		if (sl->mpend[i].off > off)
			sl->mpend[i].off = (uint16_t)(sl->mpend[i].off - len);
}

/* The oldest entry for @p sqn: an ESME that reuses a sequence_number while
 * the first request is outstanding gets the answers matched in order. */
static int pend_find(const struct dp_eslot *sl, uint32_t sqn)
{
	for (uint32_t i = 0; i < sl->mpend_n; i++)
		if (sl->mpend[i].sqn == sqn)
			return (int)i;
	return -1;
}

/* Remember the blocked destinations of a rewritten submit_multi until the
 * SMSC answers it, after those already waiting (also one with the same
 * sequence_number: each answer takes the oldest). Entries the SMSC never
 * answered (5 minutes) make room. The new entry is the last. */
static bool pend_add(struct dp_engine *e, struct dp_eslot *sl, const struct dp_call_pdu *c)
{
	for (uint32_t i = 0; i < sl->mpend_n;) {
		if (e->now_ns - sl->mpend[i].t_ns > 300000000000ull)
			pend_drop(sl, i);
		else
			i++;
	}
	if (sl->mpend_n >= DP_MULTI_PEND || c->ulen > DP_MULTI_PEND_BYTES - sl->mpend_used)
		return false;
	struct dp_multi_pend *p = &sl->mpend[sl->mpend_n++];
	memset(p, 0, sizeof(*p));
	p->sqn = c->sqn;
	p->off = sl->mpend_used;
	p->len = c->ulen;
	p->n = c->ucnt;
	p->t_ns = e->now_ns;
	memcpy(sl->mpend_buf + sl->mpend_used, e->mbuf + c->moff + c->mlen, c->ulen);
	sl->mpend_used = (uint16_t)(sl->mpend_used + c->ulen);
	return true;
}

/* The SMSC's answer to a rewritten submit_multi: its unsuccess_sme list
 * followed by the destinations the dataplane removed. An answer without a
 * body (the whole submit failed), one longer than the reassembly bound
 * (@p truncated: only its start is here) and a generic_nack pass unchanged;
 * the entry is forgotten either way. */
static void multi_response(struct dp_engine *e, struct dp_flow *f, struct dp_call_pdu *c,
			   const uint8_t *pdu, uint32_t len, uint32_t cmd, uint32_t sqn,
			   bool truncated)
{
	struct dp_eslot *sl = slot_of(e, f);
	int k = sl != NULL ? pend_find(sl, sqn) : -1;
	if (k < 0)
		return;
	const struct dp_multi_pend *p = &sl->mpend[k];
	struct smpp_pdu m;
	uint8_t ul[DP_MULTI_DESTS * 27];
	size_t n = 0;
	if (cmd != 0x80000021u || truncated ||
	    smpp_pdu_decode(pdu, len, &multi_opts, &m) != SMPP_OK || m.body_absent ||
	    (uint32_t)m.no_unsuccess + p->n > DP_MULTI_DESTS ||
	    (size_t)m.unsuccess.len + p->len > sizeof(ul))
		goto unmerged;
	if (m.unsuccess.len > 0)
		memcpy(ul, m.unsuccess.p, m.unsuccess.len);
	memcpy(ul + m.unsuccess.len, sl->mpend_buf + p->off, p->len);
	m.unsuccess = (struct smpp_view){ ul, m.unsuccess.len + p->len };
	m.no_unsuccess = (uint8_t)(m.no_unsuccess + p->n);
	if (smpp_pdu_encode(&m, e->mbuf + e->mbuf_used, DP_CALL_MBYTES - e->mbuf_used, &n) !=
		SMPP_OK || n > UINT16_MAX)
		goto unmerged;
	c->verdict = DP_EDIT_PDU_REPLACE;
	c->moff = e->mbuf_used;
	c->mlen = (uint16_t)n;
	c->ulen = c->flen = 0;
	c->sqn = sqn;
	e->mbuf_used += (uint32_t)n;
	pend_drop(sl, (uint32_t)k);
	return;
unmerged:
	if (cmd == 0x80000021u)
		e->c.edit_multi_unmerged++;
	pend_drop(sl, (uint32_t)k);
}

/* The frame's PDU list is full (a jumbo segment of small PDUs): merge
 * neighbours the edit library treats alike (same direction, both passed or
 * both removed, contiguous in sequence and in call_buf). */
static void call_compact(struct dp_engine *e)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < e->n_call; i++) {
		const struct dp_call_pdu *c = &e->call[i];
		struct dp_call_pdu *p = k > 0 ? &e->call[k - 1] : NULL;
		if (p != NULL && p->dir == c->dir && p->verdict == c->verdict &&
		    (c->verdict == DP_EDIT_PDU_PASS || c->verdict == DP_EDIT_PDU_BLOCK) &&
		    p->seq + p->len == c->seq &&
		    ((p->off == UINT32_MAX && c->off == UINT32_MAX) ||
		     (p->off != UINT32_MAX && c->off == p->off + p->len))) {
			p->len += c->len;
			continue;
		}
		if (k != i)
			e->call[k] = *c;
		k++;
	}
	e->n_call = k;
}

void dp_inline_pdu(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir, const uint8_t *pdu,
		   uint32_t len, uint32_t seq, unsigned flags)
{
	if (e->n_call >= DP_CALL_PDUS)
		call_compact(e);
	if (e->n_call >= DP_CALL_PDUS) {
		e->c.edit_list_overflow++;
		return;
	}
	struct dp_call_pdu *c = &e->call[e->n_call++];
	bool from_esme = dir == f->esme_dir;
	uint32_t full = dp_rd32(pdu);
	c->seq = seq;
	c->len = (flags & DP_PDU_TRUNCATED) ? full : len;
	c->dir = (uint8_t)dir;
	c->verdict = DP_EDIT_PDU_PASS;
	c->off = UINT32_MAX;
	if (e->n_call == 1)
		e->mbuf_used = 0; /* the frame's first PDU: the rewrite arena starts over */
	if (!(flags & DP_PDU_TRUNCATED) && e->call_used + len <= DP_CALL_BYTES) {
		memcpy(e->call_buf + e->call_used, pdu, len);
		c->off = e->call_used;
		e->call_used += len;
	}
	uint32_t cmd = dp_rd32(pdu + 4), sqn = dp_rd32(pdu + 12);
	if (!from_esme) {
		/* Even in monitor mode: the SMSC got a rewritten submit_multi. */
		if ((cmd == 0x80000021u || cmd == 0x80000000u) && f->edit != 0)
			multi_response(e, f, c, pdu, len, cmd, sqn, (flags & DP_PDU_TRUNCATED) != 0);
		return;
	}
	if (e->monitor)
		return;
	if (f->unbind_inj && cmd == 0x80000006u) {
		/* The ESME's answer to our unbind: the SMSC never asked. */
		c->verdict = DP_EDIT_PDU_BLOCK;
		return;
	}
	if (!e->last.set || e->last.verdict == DP_VERDICT_PASS)
		return;
	/* submit_multi: per destination (answered by multi_request() when
	 * every destination is blocked). */
	bool answered = cmd == 0x00000021u && !(flags & DP_PDU_TRUNCATED) &&
			multi_request(e, f, c, pdu, len, sqn);
	if (answered && c->verdict == DP_EDIT_PDU_REPLACE)
		return;
	c->verdict = DP_EDIT_PDU_BLOCK;
	e->c.edit_pdus_removed++;
	if (!answered)
		build_resp(e, f, cmd, sqn);
	if (e->last.category == DP_CAT_STANDING && !f->unbind_inj && f->sess.state == DP_SESS_BOUND) {
		const struct dp_customer *cu = dp_engine_customer(e, f);
		if (cu->standing == DP_STANDING_TERMINATED) {
			/* A terminated customer's live session is unbound. */
			uint8_t b[16];
			size_t n = 0;
			if (smpp_encode_empty(0x00000006u, 0x7ffffff0u, 0, b, sizeof(b), &n) ==
			    SMPP_OK) {
				queue_resp(e, b, n);
				f->unbind_inj = 1;
				e->c.edit_unbind_injected++;
			}
		}
	}
}

/* ----------------------------------------------------------- frames */

/* Bytes [seq, seq+len) of direction `dir` kept for this frame: this
 * frame's PDUs, or the stream layer's partial PDU. */
static const uint8_t *held_bytes(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
				 uint32_t seq, uint32_t len)
{
	for (uint32_t i = 0; i < e->n_call; i++) {
		const struct dp_call_pdu *c = &e->call[i];
		if (c->dir != dir || c->off == UINT32_MAX)
			continue;
		if (sdiff(seq, c->seq) >= 0 && sdiff(seq + len, c->seq + c->len) <= 0)
			return e->call_buf + c->off + (seq - c->seq);
	}
	const struct dp_stream_dir *s = &f->dir[dir];
	if (s->buf != DP_STREAM_NOBUF && sdiff(seq, s->pdu_seq) >= 0 &&
	    sdiff(seq + len, s->pdu_seq + s->buf_len) <= 0)
		return dp_pool_chunk(&e->pool, s->buf)->data + (seq - s->pdu_seq);
	return NULL;
}

/* Does the segment carry a SACK option? */
static bool has_sack(const struct dp_edit_pkt *pkt)
{
	const uint8_t *o = pkt->l4 + 20, *end = pkt->l4 + pkt->l4_len;
	while (o < end) {
		if (*o == 0)
			break;
		if (*o == 1) {
			o++;
			continue;
		}
		if (o + 1 >= end || o[1] < 2)
			break;
		if (*o == 5)
			return true;
		o += o[1];
	}
	return false;
}

/* Emit a held range, PDU by PDU when it spans several. */
static void emit_held(struct dp_engine *e, struct dp_flow *f, struct dp_eslot *sl,
		      enum dp_dir dir, enum dp_edit_dir ed, const uint8_t *p,
		      const struct dp_edit_pkt *pkt, const struct dp_edit_range *r, uint8_t keep)
{
	uint32_t seq = r->seq, left = r->len, out = r->out_seq;
	while (left > 0) {
		uint32_t n = left;
		const uint8_t *b = held_bytes(e, f, dir, seq, n);
		while (b == NULL && n > 1) {
			/* Shrink to the end of the PDU that holds seq. */
			uint32_t best = 0;
			for (uint32_t i = 0; i < e->n_call; i++) {
				const struct dp_call_pdu *c = &e->call[i];
				if (c->dir == dir && c->off != UINT32_MAX && sdiff(seq, c->seq) >= 0 &&
				    sdiff(seq, c->seq + c->len) < 0)
					best = c->seq + c->len - seq;
			}
			if (best == 0 || best >= n)
				break;
			n = best;
			b = held_bytes(e, f, dir, seq, n);
		}
		if (b == NULL)
			return; /* not kept: the sender retransmits it */
		/* A PDU longer than a segment was held across several: it goes
		 * out in segments no larger than the sender's (one frame would
		 * exceed the MTU, or e->out). */
		uint32_t chunk = seg_chunk(sl, ed);
		for (uint32_t o = 0; o < n; o += chunk) {
			uint32_t l = n - o < chunk ? n - o : chunk;
			int len = dp_edit_emit(&e->ectx, &sl->ef, ed, p, pkt, out + o, b + o, l,
					       n == left && o + l == n ? keep : 0, e->out,
					       sizeof(e->out));
			uint32_t l4o = (uint32_t)(pkt->l4 - p); /* the frame's headers, copied */
			if (len > 0 && l4o < (uint32_t)len)
				ts_monotonic(sl, ed, e->out + l4o, (uint32_t)len - l4o);
			if (len > 0)
				tx_dir(e, sl, ed, e->out, (uint32_t)len);
		}
		seq += n;
		out += n;
		left -= n;
	}
}

static uint32_t build_list(struct dp_engine *e, struct dp_flow *f, struct dp_eslot *sl,
			   enum dp_dir dir, enum dp_edit_dir ed, struct dp_edit_pdu *pd, uint32_t cap)
{
	uint32_t rel = dp_edit_dir_release_seq(&sl->ef, ed), n = 0;
	for (uint32_t i = 0; i < sl->ncarry[ed] && n < cap; i++)
		if (sdiff(sl->carry[ed][i].seq + sl->carry[ed][i].len, rel) > 0)
			pd[n++] = sl->carry[ed][i];
	for (uint32_t i = 0; i < e->n_call && n < cap; i++) {
		const struct dp_call_pdu *c = &e->call[i];
		if (c->dir != dir || sdiff(c->seq + c->len, rel) <= 0)
			continue;
		if (n > 0 && sdiff(c->seq, pd[n - 1].seq) <= 0)
			continue; /* already carried */
		pd[n++] = (struct dp_edit_pdu){ c->seq, c->len, c->len, c->verdict };
	}
	const struct dp_stream_dir *s = &f->dir[dir];
	if (n < cap && s->state == DP_STREAM_SYNCED && s->buf != DP_STREAM_NOBUF &&
	    s->buf_len >= DP_SMPP_HDR_LEN && s->skip == 0) {
		const uint8_t *h = dp_pool_chunk(&e->pool, s->buf)->data;
		uint32_t l = dp_rd32(h);
		/* The SMSC's answer to a rewritten submit_multi is rewritten too:
		 * held until complete. */
		bool hold = ed == DP_EDIT_E2S ||
			    (sl->mpend_n > 0 && dp_rd32(h + 4) == 0x80000021u && pend_find(sl, dp_rd32(h + 12)) >= 0);
		if (n == 0 || sdiff(s->pdu_seq, pd[n - 1].seq) > 0)
			pd[n++] = (struct dp_edit_pdu){
				s->pdu_seq, l, s->buf_len,
				hold ? DP_EDIT_PDU_PENDING : DP_EDIT_PDU_PASS
			};
	}
	return n;
}

static void keep_carry(struct dp_eslot *sl, enum dp_edit_dir ed, const struct dp_edit_pdu *pd,
		       uint32_t n, struct dp_engine *e)
{
	uint32_t rel = dp_edit_dir_release_seq(&sl->ef, ed), k = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (pd[i].verdict == DP_EDIT_PDU_PENDING || pd[i].avail < pd[i].len)
			continue; /* the stream layer describes it again */
		if (sdiff(pd[i].seq + pd[i].len, rel) <= 0)
			continue;
		if (k >= DP_CARRY) {
			e->c.edit_list_overflow++;
			break;
		}
		sl->carry[ed][k++] = pd[i];
	}
	sl->ncarry[ed] = (uint16_t)k;
}

/* Does this frame leave something an unedited flow cannot handle? */
static bool needs_edit(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir)
{
	if (e->n_inj > 0)
		return true;
	for (uint32_t i = 0; i < e->n_call; i++)
		if (e->call[i].verdict == DP_EDIT_PDU_BLOCK || e->call[i].verdict == DP_EDIT_PDU_REPLACE)
			return true;
	if (dir != f->esme_dir || e->monitor)
		return false;
	const struct dp_stream_dir *s = &f->dir[dir];
	return s->state == DP_STREAM_SYNCED && (s->buf != DP_STREAM_NOBUF || s->n_ooo > 0);
}

static void start_dirs(struct dp_engine *e, struct dp_flow *f, struct dp_eslot *sl,
		       const struct dp_inline_pre *pre, enum dp_dir dir, const struct dp_frame *fr)
{
	for (int d = 0; d < 2; d++) {
		enum dp_edit_dir ed = d == f->esme_dir ? DP_EDIT_E2S : DP_EDIT_S2E;
		const struct dp_stream_dir *s = &f->dir[d];
		if (pre->at_boundary[d]) {
			dp_edit_dir_start(&sl->ef, ed, pre->next_seq[d]);
		} else if (ed == DP_EDIT_S2E && s->state == DP_STREAM_SYNCED && s->n_ooo == 0) {
			/* (With segments of the SMSC's held out of order, which
			 * went to the ESME unedited, no point before them is
			 * safe for an answer: the direction is not started, an
			 * answer cannot be injected and the flow is reset under
			 * the fail-closed injection policy.) */
			/* The SMSC's side: a partial PDU it already sent passes,
			 * and an answer injected now waits for its end (the
			 * ESME has its first bytes). */
			if (s->buf != DP_STREAM_NOBUF)
				dp_edit_dir_start_mid(&sl->ef, ed, s->pdu_seq);
			else /* after a PDU over pdu_max, passed uninspected */
				dp_edit_dir_start(&sl->ef, ed, s->next_seq + s->skip);
		}
	}
	/* A flow picked up mid-stream (no SYN seen) whose directions were not
	 * both at a PDU boundary before this ESME segment — typically its very
	 * first segment after a restart. That one segment is enough:
	 *  - ESME->SMSC: the stream layer synchronised on a header in this
	 *    frame; the first PDU it cut (or the one it is assembling) starts
	 *    the direction; bytes of the segment before it pass unchanged.
	 *  - SMSC->ESME: nothing seen from the SMSC yet (stream state NONE: no
	 *    partial PDU of its own that we know of), so the ESME's ACK number
	 *    is the next byte it expects from the SMSC. It is taken for a PDU
	 *    boundary (SMSCs answer in whole segments); the SMSC's first data
	 *    segment checks it (s2e_from_ack, dp_inline_frame) and the flow is
	 *    reset if its bytes at that point are not a PDU header.
	 * Without the ACK flag, or when the SMSC's stream is in some other
	 * state (bytes seen that did not synchronise), the direction is not
	 * started: an injection then fails and the flow is reset (fail-closed).
	 * Window scaling is not known mid-stream: the edit library keeps no
	 * window state (windows of forwarded segments pass unchanged), and an
	 * injected response, built from the ESME's headers while no SMSC
	 * header was seen, carries the ESME's own window field: the ESME reads
	 * it with the SMSC's scale until the SMSC's next segment (the answer
	 * to the ACK probe, one round trip later) sets it again. */
	if (f->syn_seen != 0 || dir != f->esme_dir)
		return;
	const struct dp_stream_dir *es = &f->dir[dir];
	if (!dp_edit_dir_synced(&sl->ef, DP_EDIT_E2S) && es->state == DP_STREAM_SYNCED &&
	    es->skip == 0) {
		bool started = false;
		for (uint32_t i = 0; i < e->n_call && !started; i++)
			if (e->call[i].dir == dir) {
				dp_edit_dir_start(&sl->ef, DP_EDIT_E2S, e->call[i].seq);
				started = true;
			}
		if (!started && es->buf != DP_STREAM_NOBUF)
			dp_edit_dir_start(&sl->ef, DP_EDIT_E2S, es->pdu_seq);
	}
	const struct dp_stream_dir *ss = &f->dir[1 - (int)dir];
	if (!dp_edit_dir_synced(&sl->ef, DP_EDIT_S2E) && (fr->tcp_flags & DP_TCP_ACK) &&
	    ss->state == DP_STREAM_NONE && dp_edit_dir_synced(&sl->ef, DP_EDIT_E2S)) {
		dp_edit_dir_start(&sl->ef, DP_EDIT_S2E, fr->ack);
		sl->s2e_from_ack = 1;
		sl->mid_start = 1;
	}
}

/* The SMSC->ESME direction was started at the ESME's ACK number (a flow
 * picked up mid-stream): the SMSC's first segment that covers that point
 * must have a PDU starting exactly there. @return false if it has not (the
 * point was inside one of its PDUs: the flow is reset). */
static bool s2e_start_ok(struct dp_engine *e, struct dp_flow *f, struct dp_eslot *sl,
			 enum dp_dir dir, const struct dp_frame *fr)
{
	uint32_t rel = dp_edit_dir_release_seq(&sl->ef, DP_EDIT_S2E);
	if (fr->payload_len == 0 || sdiff(rel, fr->seq) < 0 ||
	    sdiff(fr->seq + fr->payload_len, rel) <= 0)
		return true; /* does not reach that point (yet) */
	sl->s2e_from_ack = 0;
	for (uint32_t i = 0; i < e->n_call; i++)
		if (e->call[i].dir == dir && e->call[i].seq == rel)
			return true;
	const struct dp_stream_dir *s = &f->dir[dir];
	if (s->state == DP_STREAM_SYNCED && s->buf != DP_STREAM_NOBUF && s->pdu_seq == rel)
		return true;
	RTE_LOG(NOTICE, USER1,
		"smsfw: worker %u: flow picked up mid-stream: the SMSC's bytes at the point the "
		"ESME acknowledged are not a PDU boundary\n", e->id);
	return false;
}

enum dp_action dp_inline_frame(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
			       const struct dp_frame *fr, const uint8_t *p, uint8_t *wp,
			       uint32_t len, const struct dp_inline_pre *pre)
{
	if (f->edit_state == DP_EDIT_FS_RESET) {
		e->c.edit_dead_frames++;
		return DP_ACT_DROP;
	}
	struct dp_eslot *sl = slot_of(e, f);
	if (sl == NULL) {
		if (!needs_edit(e, f, dir))
			return DP_ACT_FORWARD;
		if (f->tcp_state == DP_TCP_CLOSED)
			return DP_ACT_FORWARD;
		sl = slot_alloc(e, f);
		if (sl == NULL) {
			e->c.edit_pool_empty++;
			f->edit_state = DP_EDIT_FS_NOSLOT;
			if (e->set->fail_edit_pool == DP_FAIL_CLOSED) {
				/* The segment is dropped: the ESME resends it, and a
				 * slot may be free by then. */
				e->c.edit_pool_closed++;
				e->c.edit_frames_dropped++;
				return DP_ACT_DROP;
			}
			e->c.edit_pool_open++;
			return DP_ACT_FORWARD;
		}
		start_dirs(e, f, sl, pre, dir, fr);
	}
	if (sl->s2e_from_ack && dir != f->esme_dir && !s2e_start_ok(e, f, sl, dir, fr)) {
		e->c.edit_mid_unplaced_resets++;
		reset_both(e, f, sl);
		return DP_ACT_DROP;
	}
	if (fr->tcp_flags & DP_TCP_SYN)
		return DP_ACT_FORWARD; /* a retransmitted SYN: nothing to map */

	enum dp_edit_dir ed = dir == f->esme_dir ? DP_EDIT_E2S : DP_EDIT_S2E;
	struct dp_edit_pkt pkt;
	uint8_t *l3 = (uint8_t *)(uintptr_t)(p + fr->l3_off);
	if (dp_edit_pkt_parse(&pkt, l3, len - fr->l3_off) != DP_EDIT_OK)
		return DP_ACT_FORWARD;
	/* The ESME's headers first: a reset caused by this very frame (the
	 * flow's first edited one) needs a template to build its RSTs. */
	if (ed == DP_EDIT_E2S)
		dp_edit_tmpl_save(&sl->ef, ed, p, &pkt);

	if (fr->payload_len > sl->seg_max[ed])
		sl->seg_max[ed] = fr->payload_len > UINT16_MAX ? UINT16_MAX : (uint16_t)fr->payload_len;
	/* Rewritten submit_multi and their answers: stage the new bytes (after
	 * this segment's ACK freed what the peer has). A submit_multi that
	 * cannot be rewritten is blocked whole. */
	for (uint32_t i = 0; i < e->n_call; i++) {
		if (e->call[i].verdict == DP_EDIT_PDU_REPLACE) {
			struct dp_edit_seg aseg = { fr->seq, fr->ack, fr->payload_len, fr->tcp_flags };
			dp_edit_take_ack(&e->ectx, &sl->ef, ed, &aseg, e->now_ns);
			break;
		}
	}
	for (uint32_t i = 0; i < e->n_call; i++) {
		struct dp_call_pdu *c = &e->call[i];
		if (c->verdict != DP_EDIT_PDU_REPLACE)
			continue;
		enum dp_edit_dir ced = c->dir == f->esme_dir ? DP_EDIT_E2S : DP_EDIT_S2E;
		bool pend = ced == DP_EDIT_E2S && pend_add(e, sl, c);
		if ((ced == DP_EDIT_S2E || pend) &&
		    dp_edit_replace(&e->ectx, &sl->ef, ced, c->seq, c->len, e->mbuf + c->moff,
				    c->mlen) == DP_EDIT_OK) {
			if (ced == DP_EDIT_E2S)
				e->c.edit_multi_partial++;
			else
				e->c.edit_multi_merged++;
			continue;
		}
		if (ced == DP_EDIT_S2E) {
			c->verdict = DP_EDIT_PDU_PASS;
			e->c.edit_multi_unmerged++;
			continue;
		}
		if (pend) /* the entry pend_add() just made (not an older one
			   * with the same sequence_number) */
			pend_drop(sl, sl->mpend_n - 1u);
		c->verdict = DP_EDIT_PDU_BLOCK;
		e->c.edit_multi_fallback++;
		e->c.edit_pdus_removed++;
		queue_resp(e, e->mbuf + c->moff + c->mlen + c->ulen, c->flen);
	}
	/* Responses for this frame's blocked PDUs, then the segment. */
	for (uint32_t i = 0; i < e->n_inj; i++) {
		int irc = dp_edit_inject(&e->ectx, &sl->ef, e->inj_buf + e->inj_off[i],
					 e->inj_len[i], e->now_ns);
		if (irc == DP_EDIT_OK) {
			e->c.edit_resp_injected++;
			continue;
		}
		e->c.edit_resp_failed++;
		if (irc == DP_EDIT_EINVAL && e->ectx.cfg.inj_policy == DP_EDIT_FAIL_CLOSED) {
			/* An answer longer than an edit slot holds (a submit_multi
			 * with ~150 destinations, all blocked): the ESME would wait
			 * for it forever. The library applies the policy itself
			 * to a full buffer, not to this. */
			reset_both(e, f, sl);
			return DP_ACT_DROP;
		}
	}
	struct dp_edit_pdu pd[DP_CALL_PDUS + DP_CARRY + 1];
	uint32_t npd = build_list(e, f, sl, dir, ed, pd, DP_CALL_PDUS + DP_CARRY + 1);
	struct dp_edit_seg seg = { fr->seq, fr->ack, fr->payload_len, fr->tcp_flags };
	struct dp_edit_out out;
	uint64_t probes = e->ectx.cnt.ack_probes, bad_acks = e->ectx.cnt.ack_invalid;
	uint32_t l4o = (uint32_t)fr->l3_off + pkt.l3_len;
	dp_edit_segment(&e->ectx, &sl->ef, ed, &seg, pd, npd, e->now_ns, &out);
	bool probe = e->ectx.cnt.ack_probes != probes;
	bool ack_hdr = false; /* a header sent only for the ESME's new ACK */
	if (probe && sl->probe_pending && e->now_ns - sl->probe_ns < 200000000ull) {
		/* The SMSC has not answered the last probe yet: a second one
		 * would only draw a duplicate ACK (a lost answer: the next
		 * probe after 200 ms). */
		e->c.edit_probe_suppressed++;
		probe = false;
		if (ed == DP_EDIT_E2S && (fr->tcp_flags & DP_TCP_ACK) && fr->ack != sl->esme_raw_ack) {
			out.hdr_seq++; /* at rcv_nxt: carries the ESME's new ACK, asks nothing */
			ack_hdr = true;
		} else
			out.action = 0;
	}
	if (probe) {
		sl->probe_pending = 1;
		sl->probe_ns = e->now_ns;
	}
	keep_carry(sl, ed, pd, npd, e);
	if (sl->mid_start && ed == DP_EDIT_S2E && e->ectx.cnt.ack_invalid != bad_acks) {
		/* Started from the ESME's first segment after a pick-up, and the
		 * SMSC acknowledges ESME bytes beyond those forwarded: it already
		 * had what was removed (that segment was a retransmission of
		 * bytes the dataplane forwarded before the restart). */
		RTE_LOG(NOTICE, USER1,
			"smsfw: worker %u: flow picked up mid-stream: the SMSC already had the "
			"bytes removed from the ESME's first segment\n", e->id);
		e->c.edit_mid_acked_resets++;
		reset_both(e, f, sl);
		return DP_ACT_DROP;
	}

	if ((out.action & DP_EDIT_ACT_RESET_BOTH) || dp_edit_flow_reset_pending(&sl->ef)) {
		reset_both(e, f, sl);
		return DP_ACT_DROP;
	}
	if (ed == DP_EDIT_S2E && out.action != 0)
		dp_edit_tmpl_save(&sl->ef, ed, p, &pkt);

	enum dp_action act = DP_ACT_DROP;
	uint8_t fin = fr->tcp_flags & DP_TCP_FIN;
	if (out.action == 0) {
		e->c.edit_frames_dropped++;
	} else if (out.action & DP_EDIT_ACT_RST) {
		int n = dp_edit_emit(&e->ectx, &sl->ef, ed, p, &pkt, out.hdr_seq, NULL, 0,
				     DP_EDIT_TCP_RST, e->out, sizeof(e->out));
		if (n > 0)
			tx_dir_l4(e, sl, ed, e->out, (uint32_t)n, l4o);
	} else if (out.n == 0) {
		/* Header only (an ACK, or a FIN, or the probe for the SMSC's ACK). */
		uint8_t keep = (out.action & DP_EDIT_ACT_FIN) ? DP_EDIT_TCP_FIN : 0;
		bool esme_new_ack = ed == DP_EDIT_E2S && fr->ack != sl->esme_raw_ack;
		if (((ed == DP_EDIT_S2E && sl->probe_pending) || esme_new_ack) &&
		    (fr->payload_len == 0 || ack_hdr) && !fin && sl->ack_valid[ed]) {
			/* The SMSC's answer to an ACK probe: when, mapped, it only
			 * repeats what the ESME already has (the injected response
			 * carried that ACK), it would be a duplicate ACK there. */
			int n = dp_edit_emit(&e->ectx, &sl->ef, ed, p, &pkt, out.hdr_seq, NULL, 0, 0,
					     e->out, sizeof(e->out));
			/* Likewise an ESME ACK that only acknowledges injected
			 * bytes: mapped, it repeats the SMSC's last ACK (also
			 * the header sent for a segment of blocked bytes only
			 * in place of a suppressed probe). */
			if (ed == DP_EDIT_S2E)
				sl->probe_pending = 0;
			if (n > 0 && dp_rd32(e->out + l4o + 8) == sl->last_ack[ed] &&
			    dp_rd16(e->out + l4o + 14) == sl->last_win[ed] &&
			    !has_sack(&pkt)) {
				e->c.edit_dupack_suppressed++;
				goto done;
			}
		}
		if (wp != NULL && fr->payload_len == 0 && (fin != 0) == (keep != 0)) {
			struct dp_edit_pkt wpkt;
			dp_edit_pkt_parse(&wpkt, wp + fr->l3_off, len - fr->l3_off);
			dp_edit_pkt_rewrite(&e->ectx, &sl->ef, ed, &wpkt, out.hdr_seq);
			note_sent(sl, ed, wpkt.l4, wpkt.l4_len + wpkt.payload_len);
			e->c.edit_frames_rewritten++;
			act = DP_ACT_FORWARD;
		} else {
			int n = dp_edit_emit(&e->ectx, &sl->ef, ed, p, &pkt, out.hdr_seq, NULL, 0,
					     keep, e->out, sizeof(e->out));
			if (n > 0)
				tx_dir_l4(e, sl, ed, e->out, (uint32_t)n, l4o);
		}
	} else if (out.n == 1 && out.r[0].src == DP_EDIT_SRC_SEG && out.r[0].seq == fr->seq &&
		   out.r[0].len == fr->payload_len && wp != NULL &&
		   (fin != 0) == ((out.action & DP_EDIT_ACT_FIN) != 0)) {
		/* The whole segment, unchanged but for seq/ack/SACK. */
		struct dp_edit_pkt wpkt;
		dp_edit_pkt_parse(&wpkt, wp + fr->l3_off, len - fr->l3_off);
		dp_edit_pkt_rewrite(&e->ectx, &sl->ef, ed, &wpkt, out.r[0].out_seq);
		note_sent(sl, ed, wpkt.l4, wpkt.l4_len + wpkt.payload_len);
		e->c.edit_frames_rewritten++;
		act = DP_ACT_FORWARD;
	} else {
		for (uint32_t i = 0; i < out.n; i++) {
			const struct dp_edit_range *r = &out.r[i];
			uint8_t keep = (i + 1 == out.n && (out.action & DP_EDIT_ACT_FIN))
					       ? DP_EDIT_TCP_FIN : 0;
			if (r->src == DP_EDIT_SRC_INJ) {
				if (!send_injected(e, f, sl))
					return DP_ACT_DROP;
			} else if (r->src == DP_EDIT_SRC_REPL) {
				/* A rewritten PDU, in segments no larger than the
				 * sender's. */
				const uint8_t *b = dp_edit_repl_data(&sl->ef, ed, r);
				if (b != NULL)
					emit_chunked(e, sl, ed, p, &pkt, r, b, seg_chunk(sl, ed),
						     keep, l4o);
			} else if (r->src == DP_EDIT_SRC_SEG) {
				/* As one frame when it fits e->out, else (a jumbo
				 * frame's range) in segments of seg_chunk(). */
				uint32_t chunk = l4o + pkt.l4_len + r->len <= sizeof(e->out)
						     ? r->len
						     : seg_chunk(sl, ed);
				emit_chunked(e, sl, ed, p, &pkt, r, fr->payload + (r->seq - fr->seq),
					     chunk, keep, l4o);
			} else {
				emit_held(e, f, sl, dir, ed, p, &pkt, r, keep);
			}
		}
		if ((out.action & DP_EDIT_ACT_FIN) && out.r[out.n - 1].src == DP_EDIT_SRC_INJ) {
			/* The FIN comes after a response placed at the
			 * sender's last PDU boundary: a header of its own. */
			int n = dp_edit_emit(&e->ectx, &sl->ef, ed, p, &pkt, out.hdr_seq, NULL, 0,
					     DP_EDIT_TCP_FIN, e->out, sizeof(e->out));
			if (n > 0)
				tx_dir_l4(e, sl, ed, e->out, (uint32_t)n, l4o);
		}
	}
	if ((e->set->test_impair & DP_IMPAIR_DUP_BLOCK) && ed == DP_EDIT_E2S && out.removed > 0 &&
	    !e->impair_flag) {
		/* test only: the worker feeds this segment (as received) again */
		e->impair_flag = 1;
	}
done:
	if (ed == DP_EDIT_E2S)
		sl->esme_raw_ack = fr->ack;
	if ((e->set->test_impair & DP_IMPAIR_REORDER) && ed == DP_EDIT_E2S && out.removed > 0 &&
	    (e->impair_flag == 0 || e->impair_flag == IMPAIR_ARMED) &&
	    len <= sizeof(e->impair_held)) {
		/* test only: arm dp_engine_impair_hold() for this flow (also when
		 * the segment carried only blocked bytes) */
		memmove(e->impair_held, p, len); /* p may be impair_held */
		e->impair_held_len = len;
		e->impair_flag = IMPAIR_ARMED;
	}
	/* A closed flow keeps its slot until the flow table forgets it
	 * (closing timeout): a FIN or its ACK retransmitted after the close
	 * is still mapped. */
	send_injected(e, f, sl);
	return act;
}

/* ----------------------------------------------------- restart probe */

void dp_inline_reset_both(struct dp_engine *e, enum dp_edit_dir ed, const struct dp_frame *fr,
			  const uint8_t *p, uint32_t len, uint32_t rcv_seq, uint32_t rcv_ack,
			  uint32_t snd_seq, uint32_t snd_ack)
{
	enum dp_edit_dir od = ed == DP_EDIT_E2S ? DP_EDIT_S2E : DP_EDIT_E2S;
	struct dp_edit_flow *tmp = &e->slots_tmp;
	dp_edit_flow_init(tmp);
	struct dp_edit_pkt pkt;
	if (dp_edit_pkt_parse(&pkt, (uint8_t *)(uintptr_t)(p + fr->l3_off), len - fr->l3_off) ==
	    DP_EDIT_OK)
		dp_edit_tmpl_save(tmp, ed, p, &pkt);
	int n = dp_edit_build_seg(tmp, ed, rcv_seq, rcv_ack, DP_EDIT_TCP_RST | DP_EDIT_TCP_ACK,
				  NULL, 0, e->out, sizeof(e->out));
	if (n > 0)
		tx(e, e->rx_pair, ed == DP_EDIT_E2S, e->out, (uint32_t)n);
	n = dp_edit_build_seg(tmp, od, snd_seq, snd_ack, DP_EDIT_TCP_RST | DP_EDIT_TCP_ACK, NULL,
			      0, e->out, sizeof(e->out));
	if (n > 0)
		tx(e, e->rx_pair, od == DP_EDIT_E2S, e->out, (uint32_t)n);
}

bool dp_inline_probe(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
		     const struct dp_frame *fr, const uint8_t *p, uint32_t len)
{
	if (f->probe_segs == 0)
		dp_edit_probe_init(&f->probe);
	/* Only flows picked up with data in flight: the tail of a connection
	 * (pure ACKs, FIN, RST after the flow was forgotten) proves nothing. */
	if (f->probe_segs == 0 && fr->payload_len == 0)
		return false;
	if (f->probe_segs >= 4096 || (fr->tcp_flags & (DP_TCP_SYN | DP_TCP_RST | DP_TCP_FIN)) ||
	    f->fin_seen) {
		f->probe_segs = 4096;
		return false;
	}
	f->probe_segs++;
	enum dp_edit_dir ed = dir == f->esme_dir ? DP_EDIT_E2S : DP_EDIT_S2E;
	struct dp_edit_seg seg = { fr->seq, fr->ack, fr->payload_len, fr->tcp_flags };
	if (dp_edit_probe_segment(&e->ectx, &f->probe, ed, &seg) != DP_EDIT_EMISMATCH)
		return false;
	/* Sequence spaces that an edit before a restart made different: reset
	 * both ends at the points each of them expects. Toward this frame's
	 * receiver: its last ACK is its rcv_nxt; toward this frame's sender:
	 * its ACK field is its rcv_nxt. */
	uint32_t to_rcv = f->probe.ack[ed];
	dp_inline_reset_both(e, ed, fr, p, len, to_rcv, fr->seq + fr->payload_len, fr->ack, to_rcv);
	e->c.edit_probe_resets++;
	RTE_LOG(NOTICE, USER1,
		"smsfw: worker %u: flow picked up mid-stream was edited before a restart "
		"(sequence spaces differ): reset toward both ends\n", e->id);
	f->edit_state = DP_EDIT_FS_RESET;
	return true;
}
