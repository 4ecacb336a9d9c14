/* dp_engine.c — one worker's frame → flow → stream → session path.
 *
 * dp_engine_frame() is the whole fast path for one frame except rx/tx: it
 * classifies the frame, finds the flow, feeds the TCP payload to the stream
 * layer and, through on_pdu(), tracks the SMPP session and hands messages to
 * the policy (dp_policy.c). It never allocates: everything was sized in
 * dp_engine_create().
 */
#include <string.h>

#include <rte_malloc.h>

#include "dp_priv.h"
#include "dp_sessions.h"

/* -------------------------------------------------------------- names */

static const struct {
	uint32_t id;
	const char *name;
} cmd_slots[] = {
	{ 0, "other" },
	{ 0x80000000u, "generic_nack" },
	{ 0x00000001u, "bind_receiver" },
	{ 0x80000001u, "bind_receiver_resp" },
	{ 0x00000002u, "bind_transmitter" },
	{ 0x80000002u, "bind_transmitter_resp" },
	{ 0x00000009u, "bind_transceiver" },
	{ 0x80000009u, "bind_transceiver_resp" },
	{ 0x0000000bu, "outbind" },
	{ 0x00000004u, "submit_sm" },
	{ 0x80000004u, "submit_sm_resp" },
	{ 0x00000005u, "deliver_sm" },
	{ 0x80000005u, "deliver_sm_resp" },
	{ 0x00000006u, "unbind" },
	{ 0x80000006u, "unbind_resp" },
	{ 0x00000015u, "enquire_link" },
	{ 0x80000015u, "enquire_link_resp" },
	{ 0x00000021u, "submit_multi" },
	{ 0x80000021u, "submit_multi_resp" },
	{ 0x00000103u, "data_sm" },
	{ 0x80000103u, "data_sm_resp" },
	{ 0x00000003u, "query_sm" },
	{ 0x80000003u, "query_sm_resp" },
	{ 0x00000007u, "replace_sm" },
	{ 0x80000007u, "replace_sm_resp" },
	{ 0x00000111u, "broadcast_sm" },
	{ 0x80000111u, "broadcast_sm_resp" },
};
_Static_assert(sizeof(cmd_slots) / sizeof(cmd_slots[0]) > 10, "submit_sm at 9, its response at 10");
_Static_assert(sizeof(cmd_slots) / sizeof(cmd_slots[0]) <=
		       sizeof(((struct dp_counters *)0)->pdus_by_cmd) / sizeof(uint64_t),
	       "one counter per named command");

unsigned dp_cmd_index(uint32_t id)
{
	/* The commonest first, then the table. */
	if (id == 0x00000004u)
		return 9; /* submit_sm */
	if (id == 0x80000004u)
		return 10; /* submit_sm_resp */
	for (unsigned i = 1; i < sizeof(cmd_slots) / sizeof(cmd_slots[0]); i++)
		if (cmd_slots[i].id == id)
			return i;
	return 0;
}

const char *dp_cmd_index_name(unsigned idx)
{
	if (idx >= sizeof(cmd_slots) / sizeof(cmd_slots[0]))
		return NULL;
	return cmd_slots[idx].name;
}

const char *dp_category_name(unsigned cat)
{
	static const char *const n[DP_CAT__COUNT] = {
		"none", "standing", "rate", "optout", "sender", "content", "bulk", "velocity",
		"uninspectable", "bind",
	};
	return cat < DP_CAT__COUNT ? n[cat] : "unknown";
}

const char *dp_verdict_name(unsigned v)
{
	static const char *const n[] = { "pass", "block", "throttle" };
	return v < 3 ? n[v] : "unknown";
}

/* ----------------------------------------------------------- settings */

static void kw_set(char kw[][DP_KEYWORD_LEN], uint8_t *n, const char *const *words, unsigned cnt)
{
	*n = 0;
	for (unsigned i = 0; i < cnt && i < DP_KEYWORDS_MAX; i++) {
		snprintf(kw[i], DP_KEYWORD_LEN, "%s", words[i]);
		(*n)++;
	}
}

void dp_settings_default(struct dp_settings *s)
{
	static const char *const out[] = { "STOP", "UNSUBSCRIBE", "END", "QUIT",
					   "STOPALL", "REVOKE", "OPTOUT", "CANCEL" };
	static const char *const in[] = { "START", "UNSTOP" };
	memset(s, 0, sizeof(*s));
	s->smpp_ports[0] = 2775;
	s->n_smpp_ports = 1;
	s->tls_ports[0] = 3550;
	s->n_tls_ports = 1;
	s->monitor = 1;
	s->uninspectable_block = 1;
	s->fail_table = DP_FAIL_OPEN;
	s->fail_reassembly = DP_FAIL_CLOSED;
	s->fail_ooo = DP_FAIL_CLOSED;
	s->fail_scan = DP_FAIL_CLOSED;
	s->fail_no_ruleset = DP_FAIL_OPEN;
	s->n_workers = 1;
	s->flows_max = 16384;
	s->timeouts.new_ms = 30000;
	s->timeouts.established_ms = 300000;
	s->timeouts.closing_ms = 10000;
	s->pdu_max = 4096;
	s->pool_chunks = 2048;
	s->hold_window = 1u << 20;
	s->ooo_max = 8;
	s->status[DP_CAT_STANDING] = 0x45;
	s->status[DP_CAT_RATE] = 0x58;
	s->status[DP_CAT_OPTOUT] = 0x66;
	s->status[DP_CAT_SENDER] = 0x0a;
	s->status[DP_CAT_CONTENT] = 0x45;
	s->status[DP_CAT_BULK] = 0x45;
	s->status[DP_CAT_VELOCITY] = 0x45;
	s->status[DP_CAT_UNINSPECTABLE] = 0x45;
	s->status_bind_refused = 0x0d;
	s->status[DP_CAT_BIND] = 0x0d;
	s->accept_unknown = 1;
	s->default_alnum_senders = 1;
	s->default_customer.any_sender = 1;
	s->concat_max = 1024;
	s->concat_timeout_ms = 60000;
	s->bulk_window_ms = 300000;
	s->bulk_recipients = 200;
	s->velocity_window_ms = 3600000;
	s->velocity_max = 30;
	s->table_slots = 16384;
	kw_set(s->optout_kw, &s->n_optout_kw, out, 8);
	kw_set(s->optin_kw, &s->n_optin_kw, in, 2);
	s->event_ring_size = 4096;
	s->edit_flows = 1024;
	s->fail_edit_pool = DP_FAIL_CLOSED;
	s->frag_packets = 64;
	s->frag_bytes = 256u << 10;
	s->frag_timeout_ms = 2000;
}

/* ------------------------------------------------------------- engine */

static void on_pdu(void *arg, struct dp_flow *f, enum dp_dir dir, const uint8_t *pdu,
		   uint32_t len, uint32_t seq, unsigned flags);
static void on_gap(void *arg, struct dp_flow *f, enum dp_dir dir, uint32_t bytes);
static void on_nomem(void *arg, struct dp_flow *f, enum dp_dir dir, uint32_t bytes);
static void sess_end(struct dp_engine *e, struct dp_flow *f);
static void on_junk(void *arg, struct dp_flow *f, enum dp_dir dir, uint32_t bytes);

struct dp_engine *dp_engine_create(unsigned id, const struct dp_settings *s, int socket)
{
	if (s == NULL || id >= DP_MAX_WORKERS || s->pdu_max < DP_SMPP_HDR_LEN ||
	    s->pdu_max > 65535 || s->pool_chunks == 0 || s->pool_chunks >= DP_STREAM_NOBUF)
		return NULL;
	struct dp_engine *e = rte_zmalloc_socket("dp_engine", sizeof(*e), 64, socket);
	if (e == NULL)
		return NULL;
	e->id = id;
	e->set = s;
	char name[32];
	snprintf(name, sizeof(name), "dp_flows_%u", id);
	e->ft = dp_flow_table_create(name, s->flows_max, socket);
	if (e->ft == NULL)
		goto fail;
	e->pool_mem = rte_malloc_socket("dp_pool", dp_pool_mem_size(s->pool_chunks, s->pdu_max),
					64, socket);
	if (e->pool_mem == NULL)
		goto fail_ft;
	dp_pool_init(&e->pool, e->pool_mem, s->pool_chunks, s->pdu_max);
	e->sctx.pool = &e->pool;
	e->sctx.st = &e->c.stream;
	e->sctx.on_pdu = on_pdu;
	e->sctx.on_gap = on_gap;
	e->sctx.on_nomem = on_nomem;
	e->sctx.on_junk = on_junk;
	e->sctx.arg = e;
	e->sctx.pdu_max = s->pdu_max;
	e->sctx.hold_window = s->hold_window;
	e->sctx.ooo_max = s->ooo_max;
	if (dp_policy_init(e, socket) != DP_OK)
		goto fail_pool;
	if (dp_inline_init(e, socket) != DP_OK) {
		dp_policy_free(e);
		goto fail_pool;
	}
	if (dp_frag_init(e, socket) != DP_OK) {
		dp_inline_free(e);
		dp_policy_free(e);
		goto fail_pool;
	}
	return e;
fail_pool:
	rte_free(e->pool_mem);
fail_ft:
	dp_flow_table_free(e->ft);
fail:
	rte_free(e);
	return NULL;
}

void dp_engine_free(struct dp_engine *e)
{
	if (e == NULL)
		return;
	dp_policy_close_streams(e, true);
	dp_policy_free(e);
	dp_inline_free(e);
	dp_frag_free(e);
	dp_flow_table_free(e->ft);
	rte_free(e->pool_mem);
	rte_free(e);
}

void dp_engine_set_event_sink(struct dp_engine *e, dp_event_fn fn, void *arg)
{
	e->ev_fn = fn;
	e->ev_arg = arg;
}

void dp_engine_set_snapshot(struct dp_engine *e, const struct dp_snapshot *snap)
{
	if (snap == e->snap)
		return;
	const struct dp_rules *r = snap ? snap->rules : NULL;
	if (r != e->rules && e->concat != NULL) {
		uint32_t on_cur = 0;
		for (uint32_t i = 0; i < e->set->concat_max; i++) {
			struct dp_concat *c = &e->concat[i];
			if (c->key == 0)
				continue;
			if (c->rules == e->rules_old) {
				/* A second change while these are in flight: give up
				 * on the oldest (their memory may go away). */
				memset(c, 0, sizeof(*c));
				e->c.concat_evicted++;
			} else {
				on_cur++;
			}
		}
		/* Old before current: the main lcore reads current first, so
		 * it can never miss both (see dp_engine_rules_in_use). */
		__atomic_store_n(&e->rules_old, on_cur ? e->rules : NULL, __ATOMIC_RELEASE);
		e->old_slots = on_cur;
	}
	e->snap = snap;
	__atomic_store_n(&e->rules, r, __ATOMIC_RELEASE);
	e->c.snapshot_changes++;
}

void dp_engine_rules_in_use(const struct dp_engine *e, const struct dp_rules **cur,
			    const struct dp_rules **old)
{
	*cur = __atomic_load_n(&e->rules, __ATOMIC_ACQUIRE);
	*old = __atomic_load_n(&e->rules_old, __ATOMIC_ACQUIRE);
}

void dp_engine_set_time(struct dp_engine *e, uint64_t now_ms)
{
	e->now_ms = now_ms;
	e->now_ns = now_ms * 1000000ull;
}

struct dp_counters *dp_engine_counters(struct dp_engine *e)
{
	return &e->c;
}

void dp_engine_sync_counters(struct dp_engine *e)
{
	e->c.edit = e->ectx.cnt;
}

struct dp_flow_table *dp_engine_flows(struct dp_engine *e)
{
	return e->ft;
}

const struct dp_pool *dp_engine_pool(const struct dp_engine *e)
{
	return &e->pool;
}

static bool port_in(const uint16_t *ports, unsigned n, uint16_t p)
{
	for (unsigned i = 0; i < n; i++)
		if (ports[i] == p)
			return true;
	return false;
}

bool dp_engine_smpp_port(const struct dp_settings *s, uint16_t a, uint16_t b)
{
	return port_in(s->smpp_ports, s->n_smpp_ports, a) || port_in(s->smpp_ports, s->n_smpp_ports, b) ||
	       port_in(s->tls_ports, s->n_tls_ports, a) || port_in(s->tls_ports, s->n_tls_ports, b);
}

/* An "uninspectable" event; f may be NULL (no flow known: fragments). */
void dp_engine_emit_uninspectable(struct dp_engine *e, const struct dp_flow *f, bool block,
				  const char *rule, uint32_t bytes)
{
	struct dp_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_UNINSPECTABLE;
	ev.category = DP_CAT_UNINSPECTABLE;
	ev.cp_category = 10; /* CP_CAT_UNINSPECTABLE */
	ev.verdict = block ? DP_VERDICT_BLOCK : DP_VERDICT_PASS;
	ev.sequence = bytes;
	snprintf(ev.rule_id, sizeof(ev.rule_id), "%s", rule);
	if (f != NULL)
		memcpy(ev.system_id, f->sess.system_id, sizeof(ev.system_id));
	dp_event_emit(e, &ev);
}

static void emit_uninspectable(struct dp_engine *e, struct dp_flow *f)
{
	dp_engine_emit_uninspectable(e, f, e->set->uninspectable_block,
				f->tls ? "builtin:tls" : "builtin:not-smpp", 0);
}

/* Bytes on an SMPP port that are not SMPP: reported once per flow, under
 * the `uninspectable` policy (the stream keeps looking for a header). */
static void on_junk(void *arg, struct dp_flow *f, enum dp_dir dir, uint32_t bytes)
{
	struct dp_engine *e = arg;
	(void)dir;
	(void)bytes;
	if (f->junk)
		return;
	f->junk = 1;
	dp_engine_emit_uninspectable(e, f, e->set->uninspectable_block, "builtin:not-smpp", 0);
}

/* Bytes given up past the out-of-order bound: failure_ooo decides. */
static void on_gap(void *arg, struct dp_flow *f, enum dp_dir dir, uint32_t bytes)
{
	struct dp_engine *e = arg;
	(void)dir;
	dp_engine_emit_uninspectable(e, f, e->set->fail_ooo == DP_FAIL_CLOSED, "builtin:ooo-gap", bytes);
}

/* A PDU header cut across segments while the reassembly pool is empty:
 * that PDU cannot be inspected; failure_reassembly decides (an event like
 * every other reassembly failure). */
static void on_nomem(void *arg, struct dp_flow *f, enum dp_dir dir, uint32_t bytes)
{
	struct dp_engine *e = arg;
	(void)dir;
	dp_engine_emit_uninspectable(e, f, e->set->fail_reassembly == DP_FAIL_CLOSED,
				     "builtin:reassembly-memory", bytes);
}

static enum dp_action frame_impl(struct dp_engine *e, const uint8_t *p, uint8_t *wp, uint32_t len);
static inline __attribute__((always_inline)) enum dp_action
tcp_segment(struct dp_engine *e, const struct dp_frame *fr, const uint8_t *p, uint8_t *wp,
	    uint32_t len);

enum dp_action dp_engine_frame(struct dp_engine *e, const uint8_t *p, uint32_t len)
{
	return frame_impl(e, p, NULL, len);
}

enum dp_action dp_engine_frame_rw(struct dp_engine *e, uint8_t *p, uint32_t len)
{
	return frame_impl(e, p, p, len);
}

static enum dp_action frame_impl(struct dp_engine *e, const uint8_t *p, uint8_t *wp, uint32_t len)
{
	struct dp_frame fr;

	e->c.rx_frames++;
	enum dp_frame_kind k = dp_frame_parse(p, len, &fr);
	switch (k) {
	case DP_FRAME_OTHER:
		e->c.other_frames++;
		return DP_ACT_FORWARD;
	case DP_FRAME_BAD:
		/* A transparent bridge passes what it cannot parse. */
		e->c.bad_frames++;
		return DP_ACT_FORWARD;
	case DP_FRAME_FRAG:
		/* Held until the packet is whole, then fed to dp_engine_tcp(). */
		return dp_frag_frame(e, &fr, p, wp, len);
	case DP_FRAME_TCP:
		break;
	}
	return tcp_segment(e, &fr, p, wp, len);
}

/* Packets reassembled from fragments (dp_frag.c) take the same path. */
enum dp_action dp_engine_tcp(struct dp_engine *e, const struct dp_frame *fr, const uint8_t *p,
			     uint8_t *wp, uint32_t len)
{
	return tcp_segment(e, fr, p, wp, len);
}

/* The control flags of a segment the flow's state takes from it, as the
 * receiver's TCP would (RFC 5961): a SYN only on a new or closed
 * connection (a SYN inside an established one would otherwise move the
 * expected sequence number to where the sender likes, so later data would
 * pass as retransmission); a RST only at the next expected sequence
 * number; a FIN only where it joins the data seen (a forged one would cut
 * the idle timeout and forget the session). A direction whose sequence is
 * not tracked yet takes any RST and FIN. Ignored flags are counted; the
 * segment itself is forwarded as it is. */
static uint8_t tcp_flags_accepted(struct dp_engine *e, const struct dp_flow *f, enum dp_dir dir,
				  const struct dp_frame *fr)
{
	uint8_t fl = fr->tcp_flags;
	const struct dp_stream_dir *sd = &f->dir[dir];
	bool tracked = sd->state == DP_STREAM_SYNCED;

	if ((fl & DP_TCP_SYN) && f->tcp_state != DP_TCP_NEW && f->tcp_state != DP_TCP_CLOSED) {
		fl &= (uint8_t)~DP_TCP_SYN;
		e->c.syn_ignored++;
	}
	if ((fl & DP_TCP_RST) && tracked && fr->seq != sd->next_seq) {
		fl &= (uint8_t)~DP_TCP_RST;
		e->c.rst_ignored++;
	}
	if ((fl & DP_TCP_FIN) && tracked && !(fl & DP_TCP_SYN)) {
		/* the segment starts at or before the next expected byte and
		 * its FIN (after its data) at or after it */
		int32_t start = (int32_t)(fr->seq - sd->next_seq);
		int32_t end = (int32_t)(fr->seq + fr->payload_len - sd->next_seq);
		if (start > 0 || end < 0) {
			fl &= (uint8_t)~DP_TCP_FIN;
			e->c.fin_ignored++;
		}
	}
	return fl;
}

/* One whole TCP segment: flow, stream, PDUs, inline edits. Inlined into
 * frame_impl so the per-frame path has no extra call. */
static inline __attribute__((always_inline)) enum dp_action
tcp_segment(struct dp_engine *e, const struct dp_frame *fr, const uint8_t *p, uint8_t *wp,
	    uint32_t len)
{
	const struct dp_settings *s = e->set;
	bool smpp_dst = port_in(s->smpp_ports, s->n_smpp_ports, fr->dport);
	bool smpp_src = port_in(s->smpp_ports, s->n_smpp_ports, fr->sport);
	bool tls_dst = port_in(s->tls_ports, s->n_tls_ports, fr->dport);
	bool tls_src = port_in(s->tls_ports, s->n_tls_ports, fr->sport);
	if (!smpp_dst && !smpp_src && !tls_dst && !tls_src) {
		e->c.non_smpp_tcp++;
		return DP_ACT_FORWARD;
	}
	e->c.smpp_frames++;
	e->c.smpp_bytes += fr->payload_len;

	struct dp_flow_key key;
	enum dp_dir dir = dp_flow_key_make(fr, &key);
	struct dp_flow *f = dp_flow_lookup(e->ft, &key, true, e->now_ms);
	if (f == NULL) {
		e->c.table_full_frames++;
		if (!e->monitor && s->fail_table == DP_FAIL_CLOSED) {
			e->c.dropped++;
			return DP_ACT_DROP;
		}
		return DP_ACT_FORWARD;
	}
	if (f->pkts[0] + f->pkts[1] == 0) {
		/* The ESME is the side that talks to the SMPP port. */
		f->smpp = 1;
		f->esme_dir = (uint8_t)((smpp_dst || tls_dst) ? dir : !dir);
		if ((tls_dst || tls_src) && !(smpp_dst || smpp_src)) {
			f->tls = 1;
			f->dir[0].state = f->dir[1].state = DP_STREAM_BYPASS;
			e->c.tls_flows++;
			emit_uninspectable(e, f);
		}
		/* Picked up mid-stream: a session remembered across a restart. */
		if (e->restored != NULL && !(fr->tcp_flags & DP_TCP_SYN) && !f->tls)
			dp_sess_restore(e, f);
	}
	f->pkts[dir]++;
	f->bytes[dir] += fr->payload_len;
	uint8_t was_tls = f->tls;
	uint8_t tfl = tcp_flags_accepted(e, f, dir, fr);
	dp_flow_track(f, dir, tfl, e->now_ms);
	if (tfl & DP_TCP_SYN) {
		if (f->dir[dir].state != DP_STREAM_NONE && f->dir[dir].next_seq != fr->seq + 1) {
			/* A SYN taken (tcp_flags_accepted: the flow was new or
			 * closed) with another ISN: a new connection on a reused
			 * 5-tuple, or a new attempt before the handshake ended.
			 * Start afresh. */
			dp_stream_release(&e->sctx, f);
			dp_inline_flow_gone(e, f);
			f->syn_seen = 0;
			f->probe_segs = 0;
			f->unbind_inj = 0;
			memset(&f->dir[dir], 0, sizeof(f->dir[dir]));
			f->dir[dir].buf = DP_STREAM_NOBUF;
			if (!(fr->tcp_flags & DP_TCP_ACK)) {
				sess_end(e, f);
				memset(&f->sess, 0, sizeof(f->sess));
				f->sess.customer = DP_CUST_DEFAULT;
			}
		}
		if (f->dir[dir].state != DP_STREAM_BYPASS)
			dp_stream_syn(f, dir, fr->seq);
		f->syn_seen |= (uint8_t)(1u << dir);
	}
	/* Inline: remember where both streams stood, collect this frame's
	 * PDUs with their verdicts, then edit (dp_inline.c). */
	bool edit = (!e->monitor || f->edit != 0 || f->edit_state == DP_EDIT_FS_RESET) && !f->tls &&
		    e->n_slots > 0;
	struct dp_inline_pre pre;
	if (edit) {
		for (int d = 0; d < 2; d++) {
			const struct dp_stream_dir *sd = &f->dir[d];
			pre.next_seq[d] = sd->next_seq;
			pre.at_boundary[d] = sd->state == DP_STREAM_SYNCED && sd->buf == DP_STREAM_NOBUF &&
					     sd->skip == 0 && sd->n_ooo == 0;
		}
		e->collect = 1;
		e->n_call = e->call_used = e->n_inj = 0;
		if (f->syn_seen == 0 && f->edit == 0 && f->edit_state == DP_EDIT_FS_NONE &&
		    dp_inline_probe(e, f, dir, fr, p, len)) {
			e->collect = 0;
			e->c.dropped++;
			return DP_ACT_DROP;
		}
	}
	if (fr->payload_len > 0 && (fr->tcp_flags & DP_TCP_SYN)) {
		/* Data on a SYN: a receiver without TCP Fast Open drops it and
		 * the sender sends it again after the handshake, where it is
		 * inspected; taking it here would make that copy look like a
		 * retransmission. Counted. */
		e->c.syn_data++;
	} else if (fr->payload_len > 0) {
		dp_stream_segment(&e->sctx, f, dir, fr->seq, fr->payload, fr->payload_len);
		if (f->tls && !was_tls) {
			e->c.tls_flows++;
			emit_uninspectable(e, f);
		}
	}
	enum dp_action act = DP_ACT_FORWARD;
	if (e->sess_reset) {
		/* unknown_session = reset: the segment with the submit goes
		 * nowhere; RST both ways, later frames dropped (dp_inline.c). */
		e->sess_reset = 0;
		e->collect = 0;
		dp_sess_reset_unknown(e, f, dir, fr, p, len);
		e->c.dropped++;
		return DP_ACT_DROP;
	}
	if (edit) {
		e->collect = 0;
		if (!f->tls)
			act = dp_inline_frame(e, f, dir, fr, p, wp, len, &pre);
		/* c.edit is refreshed by the tick (dp_engine_sync_counters). */
	}
	if (fr->tcp_flags & DP_TCP_RST)
		e->c.smpp_rst++;
	if ((tfl & DP_TCP_RST) || f->tcp_state == DP_TCP_CLOSED) {
		sess_end(e, f);
		dp_stream_release(&e->sctx, f); /* chunks back now; the flow expires later */
	}
	/* Monitor mode forwards everything; inline enforcement of TLS/junk is
	 * the editing layer's job (dataplane/edit/). */
	if (!e->monitor && f->tls && s->uninspectable_block) {
		e->c.dropped++;
		return DP_ACT_DROP;
	}
	return act;
}

static void on_expire(void *arg, struct dp_flow *f)
{
	struct dp_engine *e = arg;
	sess_end(e, f);
	dp_stream_release(&e->sctx, f);
	dp_inline_flow_gone(e, f);
}

uint32_t dp_engine_expire(struct dp_engine *e, uint32_t budget)
{
	uint32_t n = dp_flow_expire(e->ft, &e->set->timeouts, e->now_ms, budget, on_expire, e);
	dp_policy_close_streams(e, false);
	dp_frag_expire(e);
	return n;
}

/* ------------------------------------------------------------ session */

static bool is_bind(uint32_t id)
{
	return id == 0x1 || id == 0x2 || id == 0x9;
}

/* Copy the bind's system_id (the first C-Octet string of the body) as
 * printable ASCII; the password that follows is never read. */
static void bind_system_id(struct dp_session *ss, const uint8_t *pdu, uint32_t len)
{
	const uint8_t *b = pdu + DP_SMPP_HDR_LEN;
	uint32_t blen = len - DP_SMPP_HDR_LEN;
	uint32_t max = blen < DP_SYSTEM_ID_MAX ? blen : DP_SYSTEM_ID_MAX;
	const uint8_t *nul = memchr(b, 0, max);
	uint32_t n = nul ? (uint32_t)(nul - b) : 0; /* no NUL within 16: malformed */
	for (uint32_t i = 0; i < n; i++)
		ss->system_id[i] = (b[i] >= 0x20 && b[i] < 0x7f) ? (char)b[i] : '?';
	ss->system_id[n] = '\0';
	/* interface_version: after system_id, password (≤ 9), system_type (≤ 13). */
	const uint8_t *q = nul ? nul + 1 : NULL;
	for (int field = 0; q != NULL && field < 2; field++) {
		uint32_t left = (uint32_t)(pdu + len - q);
		const uint8_t *z = memchr(q, 0, left);
		q = z ? z + 1 : NULL;
	}
	ss->version = (q != NULL && q < pdu + len) ? *q : 0;
}

const struct dp_customer *dp_engine_customer(struct dp_engine *e, struct dp_flow *f)
{
	struct dp_session *ss = &f->sess;
	const struct dp_snapshot *snap = e->snap;
	uint32_t gen = snap ? (uint32_t)snap->generation : 0;
	if (!ss->cust_valid || ss->cust_gen != gen) {
		/* Once per bind and snapshot, also for an unknown system_id. */
		const struct dp_customer *c =
			(snap && ss->system_id[0]) ? dp_snapshot_customer(snap, ss->system_id) : NULL;
		ss->cust_gen = gen;
		ss->cust_valid = 1;
		ss->known = c != NULL;
		ss->customer = c ? (uint32_t)(c - snap->cust) : DP_CUST_DEFAULT;
	}
	if (ss->customer != DP_CUST_DEFAULT && snap && ss->customer < snap->n_cust)
		return &snap->cust[ss->customer];
	return &e->set->default_customer;
}

/* The ESME's address as a 128-bit (IPv4-mapped) address. */
static void esme_addr(const struct dp_flow *f, uint8_t out[16])
{
	const uint8_t *a = f->esme_dir == DP_DIR_LO ? f->key.lo_addr : f->key.hi_addr;
	if (f->key.family == 6) {
		memcpy(out, a, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned len)
{
	if (len > 128)
		return false;
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a[full] & m) == (net[full] & m);
}

static uint64_t binds_key(const struct dp_session *ss)
{
	return dp_hash64(ss->system_id, strnlen(ss->system_id, DP_SYSTEM_ID_MAX), 0xb1d5);
}

/* The session takes one of its system_id's concurrent-bind slots: when the
 * firewall lets its bind through (so binds sent at once on several
 * connections count before their answers), or when it is bound without
 * one (monitor mode, a restored session). */
static void slot_take(struct dp_engine *e, struct dp_flow *f)
{
	struct dp_session *ss = &f->sess;
	if (ss->bind_slot || !ss->system_id[0])
		return;
	struct dp_cslot *b = dp_ct_get(&e->binds, binds_key(ss) ^ 0x5e55, e->now_ms, true);
	b->count++;
	b->t_ms = e->now_ms;
	ss->bind_slot = 1;
}

/* Its slot back: the bind refused by the SMSC, unbind, reset, expiry. */
static void slot_release(struct dp_engine *e, struct dp_flow *f)
{
	struct dp_session *ss = &f->sess;
	if (!ss->bind_slot)
		return;
	struct dp_cslot *s = dp_ct_get(&e->binds, binds_key(ss) ^ 0x5e55, e->now_ms, false);
	if (s != NULL && s->count > 0)
		s->count--;
	ss->bind_slot = 0;
}

static void sess_bound(struct dp_engine *e, struct dp_flow *f)
{
	f->sess.state = DP_SESS_BOUND;
	slot_take(e, f);
}

void dp_sess_restore(struct dp_engine *e, struct dp_flow *f)
{
	int32_t i = dp_sess_table_find(e->restored, &f->key);
	if (i < 0)
		return;
	const struct dp_sess_rec *r = dp_sess_table_rec(e->restored, (uint32_t)i);
	/* Idle longer than a flow lives: the session is not trusted. */
	if (r->last_ms + e->set->timeouts.established_ms < e->now_ms || r->esme_dir != f->esme_dir)
		return;
	struct dp_session *ss = &f->sess;
	memcpy(ss->system_id, r->system_id, sizeof(ss->system_id));
	ss->system_id[DP_SYSTEM_ID_MAX - 1] = '\0';
	ss->bind_cmd = r->bind_cmd;
	ss->version = r->version;
	ss->bind_ms = r->bind_ms;
	ss->customer = DP_CUST_DEFAULT;
	ss->cust_valid = 0;
	sess_bound(e, f);
	dp_sess_table_take(e->restored, (uint32_t)i);
	e->c.sessions_restored++;
}

/* A session ends (unbind, reset, expiry, a rebind): its bind slot is free;
 * a bound one is unbound. */
static void sess_end(struct dp_engine *e, struct dp_flow *f)
{
	slot_release(e, f);
	if (f->sess.state == DP_SESS_BOUND)
		f->sess.state = DP_SESS_UNBOUND;
}

/* Bind controls, in order: standing, unknown customer, source address,
 * bind attempts per minute, concurrent binds. Limits are per worker share
 * (RSS spreads a customer's connections): max_binds and binds_per_min are
 * divided between the workers, rounded up. */
static const char *bind_refusal(struct dp_engine *e, struct dp_flow *f, const struct dp_customer *c)
{
	unsigned nw = e->set->n_workers ? e->set->n_workers : 1;
	if (c->standing >= DP_STANDING_SUSPENDED)
		return "builtin:standing";
	if (!f->sess.known && !e->set->accept_unknown)
		return "builtin:unknown-customer";
	if (c->n_ipranges > 0) {
		uint8_t a[16];
		esme_addr(f, a);
		bool ok = false;
		for (unsigned i = 0; i < c->n_ipranges && i < DP_IPRANGES && !ok; i++)
			ok = prefix_match(a, c->ipranges[i].addr, c->ipranges[i].prefix_len);
		if (!ok)
			return "builtin:bind.ip";
	}
	if (c->binds_per_min > 0) {
		double cap = (double)((c->binds_per_min + nw - 1) / nw);
		uint64_t k = binds_key(&f->sess) ^ 0xa77e;
		struct dp_cslot *s = dp_ct_get(&e->rate, k, e->now_ms, false);
		if (s == NULL) {
			s = dp_ct_get(&e->rate, k, e->now_ms, true);
			s->tokens = cap;
		}
		double add = (double)(e->now_ms - s->t_ms) * cap / 60000.0;
		s->tokens = s->tokens + add > cap ? cap : s->tokens + add;
		s->t_ms = e->now_ms;
		if (s->tokens < 1.0)
			return "builtin:bind.rate";
		s->tokens -= 1.0;
	}
	if (c->max_binds > 0) {
		struct dp_cslot *s = dp_ct_get(&e->binds, binds_key(&f->sess) ^ 0x5e55, e->now_ms, true);
		if (s->count >= (c->max_binds + nw - 1) / nw)
			return "builtin:bind.max";
	}
	return NULL;
}

/* The bind's event; true when the bind controls refuse it. */
static bool emit_bind(struct dp_engine *e, struct dp_flow *f, uint32_t cmd, uint32_t seq,
		      uint32_t status)
{
	struct dp_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_BIND;
	ev.command_id = cmd;
	ev.sequence = seq;
	ev.command_status = status;
	memcpy(ev.system_id, f->sess.system_id, sizeof(ev.system_id));
	const struct dp_customer *c = dp_engine_customer(e, f);
	ev.standing = c->standing;
	const char *refusal = bind_refusal(e, f, c);
	ev.verdict = refusal ? DP_VERDICT_BLOCK : DP_VERDICT_PASS;
	ev.category = !refusal ? DP_CAT_NONE
		      : (strcmp(refusal, "builtin:standing") == 0 ? DP_CAT_STANDING : DP_CAT_BIND);
	ev.cp_category = !refusal ? 0 : ev.category == DP_CAT_STANDING ? 8 : 9;
	if (refusal) {
		snprintf(ev.rule_id, sizeof(ev.rule_id), "%s", refusal);
		ev.command_status = e->set->status_bind_refused;
		e->c.binds_refused++;
		e->last.set = 1;
		e->last.verdict = DP_VERDICT_BLOCK;
		e->last.category = ev.category;
		e->last.status = ev.command_status;
		memcpy(e->last.rule, ev.rule_id, sizeof(e->last.rule));
	}
	dp_event_emit(e, &ev);
	return refusal != NULL;
}

static void on_pdu_inner(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
			 const uint8_t *pdu, uint32_t len, unsigned flags);

static void on_pdu(void *arg, struct dp_flow *f, enum dp_dir dir, const uint8_t *pdu,
		   uint32_t len, uint32_t seq, unsigned flags)
{
	struct dp_engine *e = arg;
	e->last.set = 0;
	on_pdu_inner(e, f, dir, pdu, len, flags);
	if (e->collect)
		dp_inline_pdu(e, f, dir, pdu, len, seq, flags);
}

static void on_pdu_inner(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
			 const uint8_t *pdu, uint32_t len, unsigned flags)
{
	struct dp_session *ss = &f->sess;
	uint32_t cmd = dp_rd32(pdu + 4);
	uint32_t status = dp_rd32(pdu + 8);
	uint32_t sqn = dp_rd32(pdu + 12);
	bool from_esme = dir == f->esme_dir;

	e->c.pdus_by_cmd[dp_cmd_index(cmd)]++;
	ss->pdus[dir == f->esme_dir ? 0 : 1]++;

	if (is_bind(cmd) && from_esme) {
		e->c.binds++;
		sess_end(e, f); /* a rebind on the same connection: the old system_id's slot */
		if (!(flags & DP_PDU_TRUNCATED))
			bind_system_id(ss, pdu, len);
		ss->state = DP_SESS_BINDING;
		ss->bind_seq = sqn;
		ss->bind_cmd = cmd;
		ss->customer = DP_CUST_DEFAULT;
		ss->cust_valid = 0;
		if (!emit_bind(e, f, cmd, sqn, 0))
			slot_take(e, f);
		return;
	}
	if (is_bind(cmd & 0x7fffffffu) && (cmd & 0x80000000u) && !from_esme) {
		if (status == 0 && ss->state != DP_SESS_BOUND) {
			e->c.bind_ok++;
			ss->bind_ms = e->now_ms;
			sess_bound(e, f);
		} else if (status == 0) {
			e->c.bind_ok++;
		} else {
			slot_release(e, f);
			ss->state = DP_SESS_UNBOUND;
			e->c.bind_failed++;
		}
		return;
	}
	switch (cmd) {
	case 0x00000006: /* unbind */
		e->c.unbinds++;
		sess_end(e, f);
		return;
	case 0x80000006: /* unbind_resp */
		sess_end(e, f);
		return;
	case 0x00000004: /* submit_sm */
	case 0x00000021: /* submit_multi */
	case 0x00000103: /* data_sm */
	case 0x00000007: /* replace_sm: new text for a message not yet delivered */
	case 0x00000111: /* broadcast_sm: text for every handset in a cell area */
		if (from_esme) {
			if (ss->state == DP_SESS_OPEN) {
				/* No bind seen on this connection: picked up
				 * mid-stream and not remembered. */
				e->c.sess_unknown_submits++;
				if (e->set->unknown_session_reset && e->collect && !e->monitor &&
				    f->edit == 0 && f->edit_state == DP_EDIT_FS_NONE) {
					e->sess_reset = 1; /* frame_impl resets the flow */
					return;
				}
			}
			if (cmd == 0x00000007)
				e->c.replaces++;
			else if (cmd == 0x00000111)
				e->c.broadcasts++;
			else
				e->c.submits++;
			ss->submits++; /* the session's messages judged (its would_block's base) */
			dp_policy_submit(e, f, pdu, len, flags);
		} else if (cmd == 0x00000103) {
			e->c.delivers++; /* data_sm toward the ESME: a mobile-originated message */
			if (!(flags & DP_PDU_TRUNCATED))
				dp_policy_deliver(e, f, pdu, len);
		}
		return;
	case 0x00000005: /* deliver_sm */
		if (!from_esme) {
			e->c.delivers++;
			if (!(flags & DP_PDU_TRUNCATED))
				dp_policy_deliver(e, f, pdu, len);
		}
		return;
	default:
		return; /* enquire_link, generic_nack, outbind, responses: counted above */
	}
}
