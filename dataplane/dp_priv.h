/* dp_priv.h — internals of the dataplane engine shared by its .c files. */
#ifndef SMSFW_DP_PRIV_H
#define SMSFW_DP_PRIV_H

#include "dp.h"

/* A fixed-size table of counters keyed by 64-bit hashes: token buckets,
 * bulk fingerprints, per-recipient velocity, learned opt-outs. Open
 * addressing with a short probe; when the probe finds no room the oldest
 * entry in it is replaced (counted), so it never allocates and never fails. */
struct dp_cslot {
	uint64_t key;      /**< 0 = empty */
	uint64_t t_ms;     /**< bucket: last refill; window: window start */
	double tokens;     /**< bucket tokens */
	uint32_t count;    /**< window count */
	uint32_t aux;      /**< bulk: hash of the last recipient */
};

struct dp_ctable {
	struct dp_cslot *slots;
	uint32_t mask;
	uint32_t used;     /**< slots holding a key (0: every lookup misses) */
	uint64_t *evicted; /**< counter of entries pushed out (its probe window full) */
};

/* Big-endian (network order) reads and writes at any alignment. */
static inline uint16_t dp_rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t dp_rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void dp_wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dp_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#define DP_CT_PROBE 8

/** Hint the slots a lookup of @p key may visit (its probe) into the cache. */
static inline void dp_ct_prefetch(const struct dp_ctable *t, uint64_t key)
{
	uint32_t i = (uint32_t)key;
	for (unsigned n = 0; n < DP_CT_PROBE; n += 2)
		__builtin_prefetch(&t->slots[(i + n) & t->mask]);
}

/* The policy's hashes of a system_id (one per use), cached per worker by
 * the id's 16 raw bytes: a customer's PDUs hash it once, not per step. */
enum { DP_SH_OPTOUT, DP_SH_FP, DP_SH_VELO, DP_SH_RATE, DP_SH_CONCAT, DP_SH__COUNT };
#define DP_SID_SETS 128
#define DP_SID_WAYS 4
struct dp_sid_hash {
	uint64_t w[2];     /**< the system_id's bytes */
	uint64_t h[DP_SH__COUNT];
	uint8_t valid;
	uint8_t next;      /**< way 0 only: the way replaced next */
};

struct dp_cslot *dp_ct_get(struct dp_ctable *t, uint64_t key, uint64_t now_ms, bool create);
void dp_ct_del(struct dp_ctable *t, uint64_t key);

/* A concatenated message in flight: one Hyperscan stream. */
struct dp_concat {
	uint64_t key;        /**< customer + sender + destination + reference; 0 = free */
	uint64_t t_ms;       /**< last part */
	const struct dp_rules *rules; /**< the ruleset the message started with */
	struct pat_stream *st;
	uint8_t total, seen; /**< seen: distinct parts (sequence numbers) */
	uint8_t blocked;     /**< a part already completed a match */
	uint8_t pad;
	uint32_t rule_num;
	uint8_t category;
	uint64_t part_bits[4]; /**< the sequence numbers seen (1..255) */
};

/* Inline enforcement (dp_inline.c). */
#define DP_CALL_PDUS 128      /* PDUs one frame can complete (replays included) */
#define DP_CALL_BYTES 65536   /* their bytes, kept for held ranges */
#define DP_CALL_INJ (DP_CALL_PDUS + 1) /* responses one frame can cause: one per PDU, and an unbind */
#define DP_CARRY 16           /* PDUs carried over per direction */
#define DP_CALL_INJ_BYTES 16384 /* bytes of those responses */
#define DP_CALL_MBYTES 16384  /* submit_multi rewrites one frame can cause */
#define DP_MULTI_DESTS 254    /* submit_multi destinations (SMPP 3.4 5.2.20) */
#define DP_MULTI_PEND 64      /* per flow: rewritten submit_multi awaiting the SMSC's answer */
#define DP_MULTI_PEND_BYTES 4096 /* their blocked destinations (raw unsuccess_sme entries) */

struct dp_call_pdu {
	uint32_t seq, len, off; /* off: in call_buf, UINT32_MAX when not kept */
	uint8_t dir, verdict;   /* enum dp_dir, enum dp_edit_verdict */
	/* verdict DP_EDIT_PDU_REPLACE (submit_multi, its response): in e->mbuf
	 * at moff the new PDU (mlen); toward the SMSC also the blocked
	 * destinations as unsuccess_sme entries (ulen bytes, ucnt of them) and
	 * the answer for the whole PDU if the rewrite cannot be made (flen). */
	uint8_t ucnt;
	uint16_t mlen, ulen, flen;
	uint32_t moff, sqn;
};

/* A submit_multi forwarded with destinations removed, until the SMSC answers. */
struct dp_multi_pend {
	uint32_t sqn;       /* sequence_number */
	uint16_t off, len;  /* its unsuccess_sme entries in mpend_buf */
	uint8_t n;          /* how many */
	uint8_t pad[3];
	uint64_t t_ns;      /* when it was forwarded */
};

struct dp_eslot {
	struct dp_edit_flow ef;
	struct dp_flow *flow;
	uint32_t next_free;     /* free list, or in-use list link */
	uint16_t pair;
	uint16_t ncarry[2];
	struct dp_edit_pdu carry[2][DP_CARRY];
	uint8_t in_use;
	uint8_t probe_pending;  /* an ACK probe went to the SMSC: its answer may repeat an ACK */
	uint8_t s2e_from_ack;   /* SMSC->ESME started at the ESME's ACK (mid-stream): unchecked */
	uint8_t mid_start;      /* started from one ESME segment of a flow picked up mid-stream */
	uint64_t probe_ns;      /* when it went */
	uint8_t ack_valid[2];   /* per edit direction: last_ack/last_win valid */
	uint16_t last_win[2];   /* window of the last segment sent that way */
	uint32_t last_ack[2];   /* ack of the last segment sent that way */
	uint32_t esme_raw_ack;  /* the ESME's last ack as it sent it */
	uint16_t seg_max[2];    /* per edit direction: largest payload seen (segment size) */
	uint8_t ts_seen[2];     /* per edit direction: ts_max valid */
	uint32_t ts_max[2];     /* highest TCP TSval sent that way (ts_monotonic) */
	uint16_t mpend_used;    /* bytes in mpend_buf */
	uint8_t mpend_n;        /* entries in mpend */
	struct dp_multi_pend mpend[DP_MULTI_PEND];
	uint8_t mpend_buf[DP_MULTI_PEND_BYTES];
};

struct dp_engine {
	unsigned id;
	const struct dp_settings *set;
	const struct dp_snapshot *snap;
	const struct dp_rules *rules; /**< snap->rules (published for the main lcore) */
	const struct dp_rules *rules_old; /**< the previous ruleset while messages
					   *   that started on it are in flight */
	uint32_t old_slots;           /**< concat slots still on rules_old */
	struct dp_flow_table *ft;
	struct dp_pool pool;
	void *pool_mem;
	struct dp_stream_ctx sctx;
	struct dp_counters c;
	dp_event_fn ev_fn;
	void *ev_arg;
	uint64_t now_ms;
	struct dp_ctable rate, bulk, velo, optout;
	struct dp_ctable binds;  /**< bound sessions per customer on this worker */
	struct dp_ctable frags;  /**< fragmented packets decided (addresses + id): aux = DP_FRAG_MARK_* */
	struct dp_frag *fg;      /**< packets in reassembly (dp_frag.c) */
	struct dp_rate_cell *rate_cells; /**< rate buckets shared by the engines of one settings */
	uint32_t rate_mask;
	struct dp_sid_hash sid_cache[DP_SID_SETS * DP_SID_WAYS];
	/* the submit being judged (dp_policy_submit): its session's system_id
	 * hashes and its destination's velocity key */
	uint64_t sh[DP_SH__COUNT];
	const uint8_t *velo_dest;
	uint32_t velo_len;
	uint64_t velo_key;
	struct dp_concat *concat;
	uint8_t *concat_mem;     /**< concat_max streams of stream_cap bytes */
	size_t stream_cap;
	uint32_t concat_cursor;
	/* inline enforcement */
	uint8_t monitor;         /* run-time mode (starts from set->monitor) */
	uint8_t collect;         /* on_pdu records PDUs for the frame being edited */
	uint16_t rx_pair, rx_side;
	uint64_t now_ns;
	dp_tx_fn tx_fn;
	void *tx_arg;
	struct dp_edit_ctx ectx;
	struct dp_eslot *slots;
	struct dp_edit_flow slots_tmp; /* restart probe: templates for its RSTs */
	uint32_t n_slots, slot_free, slots_used;
	uint32_t n_call, call_used, n_inj, inj_used;
	struct dp_call_pdu call[DP_CALL_PDUS];
	uint8_t call_buf[DP_CALL_BYTES];
	uint16_t inj_len[DP_CALL_INJ];
	uint16_t inj_off[DP_CALL_INJ];
	uint8_t inj_buf[DP_CALL_INJ_BYTES];
	uint32_t mbuf_used;
	uint8_t mbuf[DP_CALL_MBYTES];
	struct {                 /* verdict of the PDU being judged (from emit_verdict) */
		uint8_t verdict, category, set;
		uint32_t status;
		char rule[DP_RULE_ID_MAX];
		uint16_t ndest;  /* submit_multi: destinations judged, in order */
		uint32_t dest_status[DP_MULTI_DESTS]; /* 0 passed, else its command_status */
	} last;
	uint8_t impair_held[2048]; /* test impairer: the frame held back */
	uint32_t impair_held_len;
	uint8_t impair_flag;
	uint8_t out[2048];       /* frame being built */
	/* sessions remembered across a restart (dp_sessions.c) */
	struct dp_sess_table *restored;
	uint8_t sess_reset;      /* on_pdu: reset this frame's flow (unknown_session) */
	/* scratch buffers for the message being judged */
	uint8_t text[8192];
	uint8_t norm[8192];
};

/* dp_inline.c */
int dp_inline_init(struct dp_engine *e, int socket);
void dp_inline_free(struct dp_engine *e);
/* Called by on_pdu for every PDU while e->collect is set (after its verdict). */
void dp_inline_pdu(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir, const uint8_t *pdu,
		   uint32_t len, uint32_t seq, unsigned flags);
/* After the stream layer took the frame: edit, emit. */
struct dp_frame;
struct dp_inline_pre {
	uint32_t next_seq[2];
	uint8_t at_boundary[2];
};
enum dp_action dp_inline_frame(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
			       const struct dp_frame *fr, const uint8_t *p, uint8_t *wp,
			       uint32_t len, const struct dp_inline_pre *pre);
/* Restart probe of a flow picked up mid-stream: true = reset it (done). */
bool dp_inline_probe(struct dp_engine *e, struct dp_flow *f, enum dp_dir dir,
		     const struct dp_frame *fr, const uint8_t *p, uint32_t len);
void dp_inline_flow_gone(struct dp_engine *e, struct dp_flow *f);
/* Reset a flow toward both ends, with the headers of frame fr (seen in edit
 * direction ed) as templates: toward fr's receiver an RST|ACK carrying
 * rcv_seq/rcv_ack, toward fr's sender one carrying snd_seq/snd_ack. */
void dp_inline_reset_both(struct dp_engine *e, enum dp_edit_dir ed, const struct dp_frame *fr,
			  const uint8_t *p, uint32_t len, uint32_t rcv_seq, uint32_t rcv_ack,
			  uint32_t snd_seq, uint32_t snd_ack);

/* dp_engine.c */
/* One whole TCP segment: a frame, or a packet reassembled from fragments. */
enum dp_action dp_engine_tcp(struct dp_engine *e, const struct dp_frame *fr, const uint8_t *p,
			     uint8_t *wp, uint32_t len);
/* Is either port an SMPP or TLS port of the settings? */
bool dp_engine_smpp_port(const struct dp_settings *s, uint16_t a, uint16_t b);
/* An "uninspectable" event (f may be NULL). */
void dp_engine_emit_uninspectable(struct dp_engine *e, const struct dp_flow *f, bool block,
				  const char *rule, uint32_t bytes);

/* dp_frag.c: IP fragments. Packets of SMPP flows are held until whole, then
 * fed to dp_engine_tcp(); the others pass. */
enum { DP_FRAG_MARK_PASS = 1, DP_FRAG_MARK_REFUSED = 2, DP_FRAG_MARK_UNKNOWN = 3, DP_FRAG_MARK_SMPP = 4 };
int dp_frag_init(struct dp_engine *e, int socket);
void dp_frag_free(struct dp_engine *e);
enum dp_action dp_frag_frame(struct dp_engine *e, const struct dp_frame *fr, const uint8_t *p,
			     uint8_t *wp, uint32_t len);
/* Give up packets older than frag_timeout_ms (from dp_engine_expire). */
void dp_frag_expire(struct dp_engine *e);

/* dp_policy.c */
struct dp_msg;
void dp_policy_submit(struct dp_engine *e, struct dp_flow *f, const uint8_t *pdu, uint32_t len,
		      unsigned flags);
void dp_policy_deliver(struct dp_engine *e, struct dp_flow *f, const uint8_t *pdu, uint32_t len);
void dp_policy_close_streams(struct dp_engine *e, bool all);
int dp_policy_init(struct dp_engine *e, int socket);
void dp_policy_free(struct dp_engine *e);
void dp_event_emit(struct dp_engine *e, struct dp_event *ev);
const struct dp_customer *dp_engine_customer(struct dp_engine *e, struct dp_flow *f);

#endif
