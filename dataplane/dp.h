/* dp.h — the smsfw dataplane core: frames, flows, streams, SMPP sessions and
 * verdicts, usable without EAL ports (the flow table needs an initialised EAL
 * because it is an rte_hash; everything else runs on plain memory).
 *
 * Threading: every object below belongs to one worker lcore (shared-nothing;
 * symmetric RSS puts both directions of a flow on the same worker), except
 * the snapshots (struct dp_snapshot), which the main lcore publishes by RCU
 * and workers only read. Nothing here blocks, locks, or allocates from the
 * heap after creation.
 */
#ifndef SMSFW_DP_H
#define SMSFW_DP_H

#include "dp_types.h"

/** @return a static English description of a dp_status (never NULL). */
const char *dp_strerror(int status);

/**
 * rte_eal_cleanup(), then remove the EAL runtime directory of this process's
 * file prefix when it is left empty. Call once, at exit, instead of
 * rte_eal_cleanup().
 * @return what rte_eal_cleanup() returned.
 */
int dp_eal_cleanup(void);

/* ------------------------------------------------------------------ frames */

/**
 * Parse one Ethernet frame (up to two VLAN tags, IPv4 or IPv6 with extension
 * headers, TCP). Reads only [p, p+len).
 * @return DP_FRAME_TCP with every field of @p f set; DP_FRAME_FRAG for an IP
 *         fragment (addresses and l4proto set); DP_FRAME_OTHER for anything
 *         that is not TCP over IP (forward untouched); DP_FRAME_BAD when the
 *         headers are truncated or inconsistent.
 */
enum dp_frame_kind dp_frame_parse(const uint8_t *p, uint32_t len, struct dp_frame *f);

/**
 * Build the normalised flow key of a parsed TCP frame.
 * @return the direction of this frame inside the flow (DP_DIR_LO when its
 *         source is the lower (address, port)).
 */
enum dp_dir dp_flow_key_make(const struct dp_frame *f, struct dp_flow_key *k);

/* ----------------------------------------------------------- chunk pool */

/** A fixed pool of fixed-size chunks for reassembly and held segments. */
struct dp_pool {
	uint8_t *mem;
	uint32_t chunk_cap;   /**< data bytes per chunk */
	uint32_t stride;
	uint32_t n;           /**< number of chunks (< 65535) */
	uint32_t in_use;
	uint32_t high_water;
	uint16_t free_head;
};

/** Header in front of each chunk's data. */
struct dp_chunk {
	uint32_t seq;
	uint32_t len;
	uint16_t next_free;
	uint16_t pad[3];
	uint8_t data[];
};

/** @return bytes of memory dp_pool_init() needs for @p n chunks of @p cap bytes. */
size_t dp_pool_mem_size(uint32_t n, uint32_t cap);
/**
 * Lay a pool out in caller memory of dp_pool_mem_size(n, cap) bytes.
 * @return DP_OK, DP_EINVAL (n is 0 or ≥ 65535, cap is 0 or mem NULL).
 */
int dp_pool_init(struct dp_pool *pool, void *mem, uint32_t n, uint32_t cap);
/** @return a chunk index, or DP_STREAM_NOBUF when the pool is empty. */
uint16_t dp_pool_get(struct dp_pool *pool);
/** Return chunk @p idx to the pool (DP_STREAM_NOBUF is ignored). */
void dp_pool_put(struct dp_pool *pool, uint16_t idx);
/** @return the chunk with index @p idx. */
struct dp_chunk *dp_pool_chunk(const struct dp_pool *pool, uint16_t idx);

/* ------------------------------------------------------------------ streams */

/** Counters of the stream layer (per worker). */
struct dp_stream_stats {
	uint64_t pdus;           /**< PDUs cut */
	uint64_t pdus_reassembled; /**< PDUs that spanned segments */
	uint64_t bytes;          /**< in-order payload bytes */
	uint64_t ooo_held;       /**< out-of-order segments held */
	uint64_t ooo_replayed;   /**< held segments consumed once the gap filled */
	uint64_t ooo_overflow;   /**< past the hold bound: gap skipped (fail-open) */
	uint64_t gap_bytes;      /**< bytes never seen because of ooo_overflow */
	uint64_t retrans;        /**< segments entirely before next_seq */
	uint64_t overlap;        /**< segments partly before next_seq, or overlapping held ones */
	uint64_t overlap_conflict; /**< overlapping bytes that differ (evasion): first data won */
	uint64_t resync;         /**< times a stream (re)gained PDU alignment */
	uint64_t resync_bytes;   /**< bytes skipped while looking for a header */
	uint64_t desync;         /**< invalid header where one was expected */
	uint64_t oversize;       /**< PDUs longer than the reassembly cap */
	uint64_t nomem;          /**< chunk pool empty */
	uint64_t tls;            /**< directions recognised as TLS */
};

/** Flags passed with each PDU. */
#define DP_PDU_TRUNCATED 0x1u /**< only the header is present (oversize or no memory) */
#define DP_PDU_RESYNCED 0x2u  /**< first PDU after a resync */

/**
 * Called for every PDU cut from a stream, in stream order. @p pdu points at
 * the PDU's bytes (in the segment or in a reassembly chunk; valid only during
 * the call), @p len is command_length (or the header length when
 * DP_PDU_TRUNCATED), @p seq the TCP sequence number of its first byte.
 */
typedef void (*dp_pdu_fn)(void *arg, struct dp_flow *f, enum dp_dir dir,
			  const uint8_t *pdu, uint32_t len, uint32_t seq, unsigned flags);

/** Called when a gap of @p bytes is given up (past the hold bound): those
 *  bytes will never be inspected. */
typedef void (*dp_gap_fn)(void *arg, struct dp_flow *f, enum dp_dir dir, uint32_t bytes);

/** Called when bytes where a PDU header should be are not one (the stream
 *  then resynchronises); @p bytes is 0. */
typedef dp_gap_fn dp_junk_fn;

/** What the stream layer needs; one per worker. */
struct dp_stream_ctx {
	struct dp_pool *pool;
	struct dp_stream_stats *st;
	dp_pdu_fn on_pdu;
	dp_gap_fn on_gap;     /**< may be NULL */
	dp_junk_fn on_junk;   /**< may be NULL */
	dp_gap_fn on_nomem;   /**< a PDU header cut across segments and no chunk to keep its
			       *   first bytes: that PDU cannot be inspected (@p bytes: those
			       *   bytes); may be NULL */
	void *arg;
	uint32_t pdu_max;     /**< longest PDU reassembled (≤ pool chunk_cap) */
	uint32_t hold_window; /**< farthest ahead of next_seq a segment is held */
	uint32_t ooo_max;     /**< segments held per direction (1..DP_OOO_MAX) */
};

/** The minimal SMPP header check used for cutting and resync. */
#define DP_SMPP_HDR_LEN 16
#define DP_SMPP_MAX_PDU 70000u

/**
 * Check that @p p holds a plausible SMPP header (command_length in range,
 * known command_id).
 * @return DP_OK with *cmd_len set; DP_AGAIN when fewer than 16 bytes are
 *         given; DP_EINVAL when it cannot be a header.
 */
int dp_smpp_hdr_check(const uint8_t *p, uint32_t len, uint32_t *cmd_len);

/** A SYN (or SYN-ACK) with initial sequence number @p isn was seen. */
void dp_stream_syn(struct dp_flow *f, enum dp_dir dir, uint32_t isn);

/**
 * Feed one TCP segment's payload for direction @p dir. Cuts PDUs in stream
 * order and calls ctx->on_pdu for each; holds out-of-order segments (up to
 * ctx->ooo_max, within ctx->hold_window); recognises retransmissions; on
 * overlap the bytes seen first win; resynchronises on a valid header when
 * the stream started mid-way or went astray. Never fails: every exception is
 * counted in ctx->st.
 */
void dp_stream_segment(struct dp_stream_ctx *ctx, struct dp_flow *f, enum dp_dir dir,
		       uint32_t seq, const uint8_t *p, uint32_t len);

/** Return every chunk a flow holds to the pool (flow expiry or close). */
void dp_stream_release(struct dp_stream_ctx *ctx, struct dp_flow *f);

/* -------------------------------------------------------------------- flows */

struct dp_flow_table;

/** Flow table timeouts in milliseconds. */
struct dp_flow_timeouts {
	uint32_t new_ms;         /**< only a SYN seen */
	uint32_t established_ms; /**< idle established flow */
	uint32_t closing_ms;     /**< after FIN or RST */
};

/** Counters of a flow table. */
struct dp_flow_stats {
	uint64_t created, expired, closed, table_full, active;
};

/**
 * Create a flow table for @p entries flows (needs an initialised EAL: the
 * index is an rte_hash, the flows one array allocated here).
 * @return the table, or NULL (bad size, no memory).
 */
struct dp_flow_table *dp_flow_table_create(const char *name, uint32_t entries, int socket);
/** Free a table (NULL is fine). The caller releases stream chunks first. */
void dp_flow_table_free(struct dp_flow_table *t);
/** @return the capacity given at creation. */
uint32_t dp_flow_table_capacity(const struct dp_flow_table *t);
/** @return the table's counters (live; owned by the table). */
struct dp_flow_stats *dp_flow_table_stats(struct dp_flow_table *t);

/**
 * Look a flow up, creating it when @p create is true.
 * @return the flow, or NULL when absent (create false) or the table is full
 *         (counted in table_full).
 */
struct dp_flow *dp_flow_lookup(struct dp_flow_table *t, const struct dp_flow_key *k,
			       bool create, uint64_t now_ms);

/** Remove a flow (its chunks must have been released). */
void dp_flow_remove(struct dp_flow_table *t, struct dp_flow *f);

/**
 * Visit at most @p budget slots from the table's cursor and remove flows
 * idle past their timeout, calling @p on_expire before each removal.
 * @return the number of flows removed.
 */
uint32_t dp_flow_expire(struct dp_flow_table *t, const struct dp_flow_timeouts *to,
			uint64_t now_ms, uint32_t budget,
			void (*on_expire)(void *arg, struct dp_flow *f), void *arg);

/**
 * Call @p fn for each flow in use (not for the fast path: telemetry, tests).
 * @return the number of flows visited.
 */
uint32_t dp_flow_foreach(struct dp_flow_table *t, void (*fn)(void *arg, const struct dp_flow *f),
			 void *arg);

/** Update the flow's TCP state and timestamp from a segment's flags. */
void dp_flow_track(struct dp_flow *f, enum dp_dir dir, uint8_t tcp_flags, uint64_t now_ms);

/* ------------------------------------------------------------ settings */

#define DP_MAX_PORTS_CFG 8
#define DP_MAX_WORKERS 16
#define DP_KEYWORDS_MAX 16
#define DP_KEYWORD_LEN 16

/** Failure policies: what happens to traffic that cannot be inspected. */
enum dp_fail { DP_FAIL_OPEN = 0, DP_FAIL_CLOSED = 1 };

/** Everything the workers need from the configuration (read-only for them). */
struct dp_settings {
	uint16_t smpp_ports[DP_MAX_PORTS_CFG];
	uint16_t tls_ports[DP_MAX_PORTS_CFG];
	uint8_t n_smpp_ports, n_tls_ports;
	uint8_t monitor;            /**< 1: record verdicts, forward everything */
	uint8_t uninspectable_block; /**< TLS / junk on an SMPP port: block (1) or pass */
	uint8_t fail_table, fail_reassembly, fail_ooo, fail_scan, fail_no_ruleset; /**< enum dp_fail */
	uint8_t optout_scope_sender; /**< opt-outs cover only the sender answered */
	uint8_t gsm_packed;         /**< data_coding 0 arrives packed */
	uint8_t n_workers;          /**< rate limits are split between workers */
	uint32_t flows_max;
	struct dp_flow_timeouts timeouts;
	uint32_t pdu_max;           /**< longest PDU reassembled */
	uint32_t pool_chunks;       /**< reassembly chunks per worker */
	uint32_t hold_window;       /**< bytes ahead of next_seq a segment may be held */
	uint32_t ooo_max;           /**< out-of-order segments held per direction */
	uint32_t status[DP_CAT__COUNT]; /**< command_status per category */
	uint32_t status_bind_refused;
	struct dp_customer default_customer; /**< profile of system_ids not in the store */
	uint8_t accept_unknown;     /**< unknown system_ids get the default profile */
	uint8_t default_alnum_senders; /**< default profile accepts alphanumeric senders */
	uint32_t concat_max;        /**< concatenated messages in flight per worker */
	uint32_t concat_timeout_ms;
	uint32_t bulk_window_ms, bulk_recipients;
	uint32_t velocity_window_ms, velocity_max;
	uint32_t table_slots;       /**< rate/bulk/velocity/opt-out table slots per worker */
	char optout_kw[DP_KEYWORDS_MAX][DP_KEYWORD_LEN];
	char optin_kw[DP_KEYWORDS_MAX][DP_KEYWORD_LEN];
	uint8_t n_optout_kw, n_optin_kw;
	uint32_t event_ring_size;   /**< slots of each worker's event rings */
	uint32_t edit_flows;        /**< inline: edit slots per worker (23 KiB each) */
	uint8_t fail_edit_pool;     /**< inline: edit slot pool empty (enum dp_fail) */
	uint8_t test_impair;        /**< test only: DP_IMPAIR_* bits (never in production) */
	uint8_t unknown_session_reset; /**< inline: a submit on a session with no known bind
					*   resets the flow toward both ends (dp_sessions.h) */
	uint32_t frag_packets;      /**< IP packets in reassembly per worker (0: fragments of
				     *   SMPP flows are refused, the `uninspectable` policy) */
	uint32_t frag_bytes;        /**< bytes of fragment frames held per worker */
	uint32_t frag_timeout_ms;   /**< a packet not complete by then is given up */
};

/** Test-only impairments of the inline path (lab tests of retransmission). */
#define DP_IMPAIR_DROP_INJ1  0x1u /**< drop the first copy of each injected response */
#define DP_IMPAIR_DUP_BLOCK  0x2u /**< deliver a segment holding a blocked PDU twice */
#define DP_IMPAIR_REORDER    0x4u /**< deliver the ESME's next segment after a blocked PDU
				       *   after the one that follows it */

/** Fill @p s with the built-in defaults of the lab/CI profile. */
void dp_settings_default(struct dp_settings *s);

/* ------------------------------------------------------------ snapshots */

struct pat_ruleset;
struct pat_scratch;

/**
 * A loaded ruleset with what each worker needs to scan with it. Shared by
 * consecutive snapshots while the ruleset does not change, so a customer
 * update does not disturb concatenated messages in flight.
 */
struct dp_rules {
	const struct pat_ruleset *rs;
	struct pat_scratch *scratch[DP_MAX_WORKERS]; /**< one per worker */
	size_t stream_size;                /**< pat_stream_size(rs), rounded to 8 */
	uint8_t *concat_mem[DP_MAX_WORKERS]; /**< concat_max streams per worker */
	uint64_t version;
};

/**
 * What the main lcore publishes to the workers: immutable once published,
 * freed only after every worker passed an RCU quiescent state. A worker
 * never dereferences a snapshot it has replaced.
 */
struct dp_snapshot {
	uint64_t generation;
	const struct dp_rules *rules;      /**< NULL: no ruleset (failure_no_ruleset) */
	const struct dp_customer *cust;    /**< sorted by system_id */
	uint32_t n_cust;
	const uint64_t *optouts;           /**< sorted dp_optout_key() values */
	uint32_t n_optouts;
};

/** @return the customer with @p system_id in @p snap, or NULL. */
const struct dp_customer *dp_snapshot_customer(const struct dp_snapshot *snap,
					       const char *system_id);

/** A 64-bit hash (two CRC32C lanes), never 0: table keys and content hashes. */
uint64_t dp_hash64(const void *p, size_t len, uint64_t seed);

/** Key of an opt-out: customer, subscriber and (with sender scope) sender,
 *  the numbers without a leading "+" or "00". */
uint64_t dp_optout_key(const char *system_id, const uint8_t *subscriber, uint32_t sub_len,
		       const uint8_t *sender, uint32_t sender_len);

/* --------------------------------------------------------------- engine */

struct dp_engine;

/** Per-worker counters (read by telemetry, written by the worker only). */
struct dp_counters {
	uint64_t rx_frames, tx_frames, dropped;
	uint64_t other_frames, bad_frames, ip_frags, smpp_frags, non_smpp_tcp;
	/* IP fragment reassembly (dp_frag.c): ip_frags counts every fragment,
	 * smpp_frags those of packets of SMPP flows (ports of the first one). */
	uint64_t frag_held;        /**< fragments held while their packet was incomplete */
	uint64_t frag_reassembled; /**< packets of SMPP flows reassembled and inspected */
	uint64_t frag_released;    /**< held fragments sent on unchanged (through dp_tx_fn) */
	uint64_t frag_rewritten;   /**< held fragments sent with their slice of a rewritten packet */
	uint64_t frag_refragmented; /**< fragments made of frames built from a reassembled packet */
	uint64_t frag_dups;        /**< fragments overlapping held ones with the same bytes */
	uint64_t frag_overlaps;    /**< packets with overlapping fragments that differ (evasion) */
	uint64_t frag_timeouts;    /**< packets given up incomplete after frag_timeout_ms */
	uint64_t frag_refused;     /**< fragments not held: packet, byte or per-packet cap, frame
				    *   too long, packet over 65,535 bytes */
	uint64_t smpp_frames, smpp_bytes, smpp_rst;
	uint64_t tls_flows, table_full_frames;
	uint64_t pdus_by_cmd[28];  /**< index from dp_cmd_index() */
	uint64_t binds, bind_ok, bind_failed, unbinds, binds_refused;
	uint64_t submits, delivers, malformed, truncated_submits;
	uint64_t replaces;         /**< replace_sm from the ESME (judged like a submit) */
	uint64_t broadcasts;       /**< broadcast_sm from the ESME (judged like a submit) */
	uint64_t verdicts[3];      /**< per enum dp_verdict */
	uint64_t cat[DP_CAT__COUNT];
	uint64_t optouts, optins;
	uint64_t events, events_dropped, facts_dropped;
	uint64_t concat_parts, concat_open, concat_evicted, concat_expired;
	uint64_t scan_errors, unscanned_no_ruleset, text_truncated;
	/* Entries pushed out of the worker's small tables when a key's probe
	 * window (8 slots) is full: its state starts again (a rate bucket
	 * full, a bulk or velocity count at 0, a learned opt-out forgotten
	 * until the snapshot carries it, a bind slot uncounted). */
	uint64_t evict_rate, evict_bulk, evict_velocity, evict_optout, evict_binds, evict_frag_ids;
	/* TCP control flags a receiver would not take (tcp_flags_accepted in
	 * dp_engine.c): the segment is forwarded, the flow's state ignores
	 * the flag. syn_data: SYN segments carrying data (not inspected; the
	 * data comes again after the handshake). */
	uint64_t syn_ignored, rst_ignored, fin_ignored, syn_data;
	uint64_t snapshot_changes;
	struct dp_stream_stats stream;
	/* inline enforcement (dp_inline.c) */
	uint64_t edit_slots_alloc, edit_slots_free, edit_pool_empty, edit_pool_open, edit_pool_closed;
	uint64_t edit_frames_emitted, edit_frames_rewritten, edit_frames_dropped, edit_tx_nombuf;
	uint64_t edit_resp_injected, edit_resp_failed, edit_unbind_injected, edit_pdus_removed;
	uint64_t edit_resets, edit_probe_resets, edit_dead_frames, edit_list_overflow;
	uint64_t edit_probe_suppressed;  /**< ACK probes not sent: the last one is unanswered */
	uint64_t edit_dupack_suppressed; /**< the SMSC's answers to ACK probes that repeated an ACK */
	uint64_t edit_multi_partial;  /**< submit_multi forwarded with its blocked destinations removed */
	uint64_t edit_multi_merged;   /**< submit_multi_resp given the blocked destinations */
	uint64_t edit_multi_fallback; /**< partly blocked submit_multi blocked whole (no room to rewrite) */
	uint64_t edit_multi_unmerged; /**< SMSC answers passed without the blocked destinations */
	uint64_t sessions_restored;    /**< flows picked up mid-stream given their remembered session */
	uint64_t sess_unknown_submits; /**< submits on sessions with no known bind (mid-stream) */
	uint64_t sess_unknown_resets;  /**< of those, flows reset (unknown_session = reset, inline) */
	/** Of edit_resets: flows picked up mid-stream whose SMSC side could not
	 *  be placed (the ESME's segment had no ACK flag, or the SMSC's bytes at
	 *  the point the ESME acknowledged are not a PDU boundary). */
	uint64_t edit_mid_unplaced_resets;
	/** Of edit_resets: flows picked up mid-stream whose SMSC acknowledged the
	 *  bytes removed from the ESME's first segment (it already had them). */
	uint64_t edit_mid_acked_resets;
	struct dp_edit_counters edit;   /**< the edit library's counters (copied each tick) */
};

/** Frames the inline path originates or rewrites leave through this:
 *  @p pair the bridge pair, @p to_smsc 1 toward the SMSC side port, 0 toward
 *  the ESME side port; the bytes are copied before it returns. */
typedef void (*dp_tx_fn)(void *arg, unsigned pair, int to_smsc, const uint8_t *frame, uint32_t len);

/** Events leave the engine through this (the worker's ring push, or a test). */
typedef void (*dp_event_fn)(void *arg, const struct dp_event *ev);

/**
 * Create a worker engine: flow table, chunk pool, policy tables, concat
 * streams. Needs an initialised EAL. @p id is the worker index (< DP_MAX_WORKERS).
 * @return the engine or NULL.
 */
struct dp_engine *dp_engine_create(unsigned id, const struct dp_settings *s, int socket);
/** Free an engine (NULL is fine). */
void dp_engine_free(struct dp_engine *e);
/** Where events go. */
void dp_engine_set_event_sink(struct dp_engine *e, dp_event_fn fn, void *arg);
/**
 * Switch to snapshot @p snap. The previous snapshot is not dereferenced.
 * When the ruleset changes, concatenated messages in flight finish on the
 * ruleset they started with: the engine keeps using the previous dp_rules
 * (published through dp_engine_rules_in_use()) until its last such message
 * completes or expires. A second change while that is going on abandons the
 * oldest messages (counted in concat_evicted); their remaining parts are
 * scanned as new messages, so nothing goes unscanned.
 */
void dp_engine_set_snapshot(struct dp_engine *e, const struct dp_snapshot *snap);
/**
 * The rulesets this engine may still dereference: the current one and the
 * one that messages in flight started with. For the main lcore: a dp_rules
 * may be freed only once no engine reports it (read after an RCU grace
 * period; the engine stores old before current, so read current first).
 */
void dp_engine_rules_in_use(const struct dp_engine *e, const struct dp_rules **cur,
			    const struct dp_rules **old);
/** Set the engine's clock (milliseconds; tests use a fake clock). */
void dp_engine_set_time(struct dp_engine *e, uint64_t now_ms);
/** @return the engine's counters. */
struct dp_counters *dp_engine_counters(struct dp_engine *e);
/** @return the engine's flow table. */
struct dp_flow_table *dp_engine_flows(struct dp_engine *e);
/** @return the engine's chunk pool. */
const struct dp_pool *dp_engine_pool(const struct dp_engine *e);

/** What to do with a frame. */
enum dp_action { DP_ACT_FORWARD = 0, DP_ACT_DROP = 1 };

/**
 * Process one frame (its bytes are never modified in monitor mode).
 * @return DP_ACT_FORWARD or DP_ACT_DROP (only for fail-closed policies in
 *         inline mode).
 */
enum dp_action dp_engine_frame(struct dp_engine *e, const uint8_t *p, uint32_t len);

/**
 * Process one frame the caller may modify in place (the worker's mbuf). In
 * inline mode an edited flow's frame is rewritten in place (seq, ack, SACK,
 * checksum) and forwarded, or consumed (DP_ACT_DROP) after the frames to
 * send instead went out through the dp_tx_fn, in stream order.
 */
enum dp_action dp_engine_frame_rw(struct dp_engine *e, uint8_t *p, uint32_t len);
/** Where originated and rewritten frames go (inline mode); NULL: nowhere. */
void dp_engine_set_tx(struct dp_engine *e, dp_tx_fn fn, void *arg);
/** The bridge pair and side (0 ESME, 1 SMSC) the next frames arrived on. */
void dp_engine_set_rx(struct dp_engine *e, unsigned pair, unsigned side);
/** Switch between monitor (1) and inline (0) at run time; edited flows keep
 *  being mapped in monitor mode until they close. */
void dp_engine_set_monitor(struct dp_engine *e, bool monitor);
/** @return 1 in monitor mode, 0 inline. */
bool dp_engine_monitor(const struct dp_engine *e);
/** Set the engine's fine clock (ns, TSC based) for the resend timers. */
void dp_engine_set_time_ns(struct dp_engine *e, uint64_t now_ns);
/** Resend timers of injected responses, due at the clock: visit the edit
 *  slots in use. @return frames sent. */
uint32_t dp_engine_edit_tick(struct dp_engine *e);
/** Copy the edit library's counters into dp_counters.edit (the tick does it
 *  every millisecond; call it after the last frame before reading them). */
void dp_engine_sync_counters(struct dp_engine *e);
/** Test impairer (DP_IMPAIR_DUP_BLOCK): true once after a frame that lost a
 *  blocked PDU; the caller feeds a copy of that frame as received again,
 *  then calls dp_engine_impair_done(). */
bool dp_engine_impair_take_dup(struct dp_engine *e);
void dp_engine_impair_done(struct dp_engine *e);
/** Test impairer (DP_IMPAIR_REORDER), called by the worker before it feeds a
 *  frame: true when the engine kept a copy of the frame to feed later (the
 *  caller drops it). After an ESME->SMSC segment that lost a blocked PDU, the
 *  flow's next data segment is kept; the one after it is fed first. */
bool dp_engine_impair_hold(struct dp_engine *e, const uint8_t *p, uint32_t len);
/** Test impairer (DP_IMPAIR_REORDER), called after each frame was fed and
 *  queued: feeds the kept frame once the segment that overtook it went. */
void dp_engine_impair_release(struct dp_engine *e);
/** @return edit slots in use. */
uint32_t dp_engine_edit_slots_used(const struct dp_engine *e);

/** Expire idle flows: visit at most @p budget table slots. @return flows removed. */
uint32_t dp_engine_expire(struct dp_engine *e, uint32_t budget);

/** @return a dense index for an SMPP command_id (for pdus_by_cmd), 0 = other. */
unsigned dp_cmd_index(uint32_t command_id);
/** @return the name of a dp_cmd_index() slot. */
const char *dp_cmd_index_name(unsigned idx);
/** @return "none", "standing", "rate", ... */
const char *dp_category_name(unsigned cat);
/** @return "pass", "block", "throttle". */
const char *dp_verdict_name(unsigned v);

#endif
