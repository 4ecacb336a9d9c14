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

/** What the stream layer needs; one per worker. */
struct dp_stream_ctx {
	struct dp_pool *pool;
	struct dp_stream_stats *st;
	dp_pdu_fn on_pdu;
	void *arg;
	uint32_t pdu_max;     /**< longest PDU reassembled (≤ pool chunk_cap) */
	uint32_t hold_window; /**< farthest ahead of next_seq a segment is held */
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
 * DP_OOO_MAX, within ctx->hold_window); recognises retransmissions; on
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

/* --------------------------------------------------------------- timestamps */

/** Update the flow's TCP state and timestamp from a segment's flags. */
void dp_flow_track(struct dp_flow *f, enum dp_dir dir, uint8_t tcp_flags, uint64_t now_ms);

#endif
