/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dp_edit.h
 * @brief Stream editing for inline SMPP enforcement: keeps two TCP connections
 *        consistent while blocked PDUs are removed from the ESME->SMSC stream
 *        and response PDUs are inserted into the SMSC->ESME stream.
 *
 * Pure C, no DPDK. A worker owns one `struct dp_edit_ctx` (configuration and
 * counters, never shared) and one `struct dp_edit_flow` per SMPP flow. Nothing
 * here allocates, blocks or takes a lock; every table is a fixed-size array.
 *
 * Vocabulary
 * ----------
 * Each direction (DP_EDIT_E2S: ESME->SMSC, DP_EDIT_S2E: SMSC->ESME) has two
 * sequence spaces: the sender's ("orig") and the receiver's ("new"). A
 * per-direction list of edits (`struct dp_edit_seqadj`) maps between them:
 * seq numbers of segments travel orig->new, ack numbers and SACK blocks coming
 * back from the receiver travel new->orig. Removing a blocked PDU is an edit
 * with `rm` bytes on E2S; injecting a response is an edit with `ins` bytes on
 * S2E. All comparisons are modulo 2^32 (RFC 1982 style), valid while the
 * edits of a direction span less than 2^31 bytes, which TCP windows ensure.
 *
 * What the dataplane does per TCP segment of an SMPP flow
 * -------------------------------------------------------
 *  1. Feed the payload to its stream layer, which cuts PDUs and gives
 *     verdicts. Describe the PDUs from the direction's release point onward
 *     (`dp_edit_dir_release_seq()`) as `struct dp_edit_pdu` entries.
 *  2. For every PDU of E2S that is blocked, build the response PDU (smpp/)
 *     and call dp_edit_inject() (it is placed into the S2E stream at the next
 *     SMPP PDU boundary of that stream). For every complete PDU of either
 *     direction that is to be rewritten (submit_multi with some destinations
 *     removed, its response with entries added), stage the new bytes with
 *     dp_edit_replace() and give the PDU the verdict DP_EDIT_PDU_REPLACE
 *     (keep it PENDING while incomplete).
 *  3. Call dp_edit_segment(). It returns what to forward: a list of byte
 *     ranges with their rewritten sequence numbers (payload from this
 *     segment, or held bytes from the stream layer's buffer), or a
 *     header-only segment, or nothing, or "reset both ends".
 *  4. A single SEG range covering the whole payload (the common case):
 *     dp_edit_pkt_rewrite() in place (seq, ack, SACK, incremental checksum).
 *     Otherwise build one frame per SEG/HELD/REPL range with dp_edit_emit()
 *     (the received headers, the range's bytes — REPL bytes from
 *     dp_edit_repl_data(), split to the path's segment size — lengths and
 *     checksum fixed); a
 *     header-only result is dp_edit_emit() with no payload at hdr_seq. FIN
 *     stays only if DP_EDIT_ACT_FIN is set, and only on the last range; when
 *     that range is an INJ one (the sender's FIN follows a response placed
 *     at its last PDU boundary), the FIN goes on a header-only segment at
 *     hdr_seq after the injected bytes are sent.
 *  5. Call dp_edit_tmpl_save() with every SMSC->ESME segment forwarded (a
 *     header copy): injected segments take the SMSC's latest TCP timestamp
 *     from it, and an older one would fail the ESME's PAWS check.
 *  6. Call dp_edit_tx_next() until it returns DP_EDIT_AGAIN and send every
 *     injected segment it yields (new responses and resends) with
 *     dp_edit_build_seg(); call it again from the worker's timer tick with
 *     the current clock. If dp_edit_flow_reset_pending() or an action says
 *     RESET_BOTH, send dp_edit_build_rst() both ways and forget the flow.
 *
 * Restarts: a flow picked up mid-stream has no edit history; a direction whose
 * PDU boundaries are not known yet (dp_edit_dir_start() not called) passes
 * segments through unchanged. `struct dp_edit_probe` recognises a flow whose
 * two sequence spaces no longer match (it was edited before the restart) and
 * dp_edit_build_rst() resets it toward both ends.
 *
 * Not handled (documented policy): the ESME's advertised window is not
 * reduced by injected bytes in flight (the SMSC may overrun it by at most
 * DP_EDIT_INJ_BYTES; the ESME drops the excess and it is resent); URG data
 * is not adjusted; an IPv6 routing header's final destination is not used in
 * the pseudo header of built segments (the template drops ext headers).
 *
 * Fail-open / fail-closed: every bound (held bytes, edits, injected bytes,
 * resends) has a named policy in `struct dp_edit_config` and a counter in
 * `struct dp_edit_counters`. FAIL_OPEN forwards what cannot be edited
 * (counted); FAIL_CLOSED resets the flow toward both ends (counted).
 */
#ifndef DP_EDIT_H
#define DP_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Edits remembered per direction (pruned as the receiver acknowledges). */
#define DP_EDIT_MAX_EDITS  64
/** Injected response PDUs outstanding per flow (placed or waiting). */
#define DP_EDIT_MAX_INJ	   64
/** Bytes of injected response PDUs outstanding per flow. */
#define DP_EDIT_INJ_BYTES  4096
/** Byte ranges dp_edit_segment() can return for one segment: a range per
 *  edit retransmitted and two per PDU edited in new bytes (replacements and
 *  injected responses are ranges of their own) fit, edits being bounded by
 *  DP_EDIT_MAX_EDITS per direction. */
#define DP_EDIT_MAX_RANGES (3 * DP_EDIT_MAX_EDITS + 8)
/** Bytes of L2+L3+L4 header kept per direction as a template for injection. */
#define DP_EDIT_TMPL_MAX   160
/** Replaced PDUs per flow (both directions) kept until acknowledged. */
#define DP_EDIT_MAX_REPL   64
/** Bytes of replacement PDUs per flow (both directions) kept until acknowledged. */
#define DP_EDIT_REPL_BYTES 8192

/** Library status: 0 OK, negative errors. */
enum dp_edit_status {
	DP_EDIT_OK = 0,
	DP_EDIT_AGAIN = -1,    /**< nothing (more) to do now */
	DP_EDIT_EINVAL = -2,   /**< invalid argument */
	DP_EDIT_EFULL = -3,    /**< a bounded table is full (policy applied, counted) */
	DP_EDIT_EORDER = -4,   /**< edit or PDU list not in stream order */
	DP_EDIT_ETRUNC = -5,   /**< header truncated or malformed */
	DP_EDIT_ESTATE = -6,   /**< operation not valid in the flow's state */
	DP_EDIT_EMISMATCH = -7 /**< sequence spaces do not match (reset the flow) */
};

/** @return static English text for a dp_edit_status value (never NULL). */
const char *dp_edit_strerror(int status);

/** Direction of a segment. */
enum dp_edit_dir {
	DP_EDIT_E2S = 0, /**< ESME -> SMSC: blocked PDUs are removed here */
	DP_EDIT_S2E = 1	 /**< SMSC -> ESME: responses are inserted here */
};

/** What to do past a bound. */
enum dp_edit_policy {
	DP_EDIT_FAIL_OPEN = 0,	/**< forward unedited, count */
	DP_EDIT_FAIL_CLOSED = 1 /**< reset the flow toward both ends, count */
};

/** Per-worker configuration; defaults from dp_edit_config_default(). */
struct dp_edit_config {
	uint32_t max_hold_bytes;	  /**< undecided bytes held per direction */
	enum dp_edit_policy hold_policy;  /**< past max_hold_bytes */
	enum dp_edit_policy edits_policy; /**< edit list full, or block on a flow not synced */
	enum dp_edit_policy inj_policy;	  /**< injection buffer full */
	uint64_t rto_initial_ns;	  /**< first resend of an injected segment */
	uint64_t rto_max_ns;		  /**< backoff ceiling (doubling) */
	uint32_t max_resends;		  /**< then the flow is reset toward both ends */
	uint32_t dupack_threshold;	  /**< ESME dup ACKs that trigger a resend */
	uint32_t probe_dupacks;		  /**< restart probe: stuck dup ACKs before mismatch */
};

/** Counters, one set per worker (plain integers: the worker owns them). */
struct dp_edit_counters {
	uint64_t segments;	      /**< segments seen by dp_edit_segment() */
	uint64_t passthrough;	      /**< segments of unsynced directions passed unchanged */
	uint64_t bytes_removed;	      /**< blocked bytes removed (first time) */
	uint64_t bytes_held;	      /**< bytes held because their PDU was undecided */
	uint64_t bytes_released;      /**< held bytes released from the stream buffer */
	uint64_t retrans_edited;      /**< retransmissions that covered an edited range */
	uint64_t retrans_below_floor; /**< retransmitted bytes the receiver had acked: dropped */
	uint64_t hdr_suppressed;      /**< header-only segments not forwarded (nothing new) */
	uint64_t ack_probes;	      /**< header-only probes sent to elicit the receiver's ACK */
	uint64_t acks_mapped;	      /**< ack fields rewritten */
	uint64_t sack_mapped;	      /**< SACK blocks rewritten */
	uint64_t sack_dropped;	      /**< SACK blocks that mapped to nothing (NOP-filled) */
	uint64_t ack_invalid;	      /**< acks outside the sent range, not used for pruning */
	uint64_t edits_pruned;	      /**< edit entries pruned after acknowledgement */
	uint64_t edits_merged;	      /**< adjacent removals merged into one entry */
	uint64_t inj_queued;	      /**< responses queued for injection */
	uint64_t inj_sent;	      /**< injected segments sent first time */
	uint64_t inj_resent_timer;    /**< injected segments resent on the timer */
	uint64_t inj_resent_dupack;   /**< injected segments resent on duplicate ACKs */
	uint64_t inj_acked;	      /**< injected responses acknowledged by the ESME */
	uint64_t fin_held;	      /**< FIN held back because bytes before it were held */
	uint64_t rst_forwarded;	      /**< RST forwarded (seq set to the receiver's rcv_nxt) */
	uint64_t close_with_inj;      /**< FIN/RST while injected bytes were outstanding */
	uint64_t late_block;	      /**< BLOCK for bytes already forwarded (after fail-open) */
	uint64_t hold_open;	      /**< hold bound hit, policy FAIL_OPEN */
	uint64_t hold_closed;	      /**< hold bound hit, policy FAIL_CLOSED */
	uint64_t edits_open;	      /**< edit table full or unsynced, FAIL_OPEN (PDU passed) */
	uint64_t edits_closed;	      /**< edit table full or unsynced, FAIL_CLOSED */
	uint64_t inj_open;	      /**< injection buffer full, FAIL_OPEN (no response) */
	uint64_t inj_closed;	      /**< injection buffer full, FAIL_CLOSED */
	uint64_t resend_exhausted;    /**< max_resends reached: flow reset toward both ends */
	uint64_t probe_mismatch;      /**< restart probe found mismatched sequence spaces */
	uint64_t bad_pdu_list;	      /**< PDU descriptions not contiguous from the release point */
	uint64_t repl_staged;	      /**< replacements staged with dp_edit_replace() */
	uint64_t repl_applied;	      /**< PDUs replaced (first time) */
	uint64_t repl_resent;	      /**< replacements sent again for a retransmission */
	uint64_t repl_missing;	      /**< REPLACE verdict without a staged replacement (edits policy) */
	uint64_t repl_freed;	      /**< replacements dropped after the receiver acknowledged them */
	uint64_t ranges_full;	      /**< PDUs left undecided (held) for want of output ranges */
};

/** Worker context: configuration and counters. */
struct dp_edit_ctx {
	struct dp_edit_config cfg;
	struct dp_edit_counters cnt;
};

/** One edit at sender position `pos`: `rm` sender bytes removed from there,
 *  `ins` bytes inserted before the sender byte at `pos`. */
struct dp_edit_ent {
	uint32_t pos;	/**< sender (orig) sequence number of the edit */
	uint32_t rm;	/**< sender bytes removed from pos */
	uint32_t ins;	/**< bytes inserted at pos */
	uint32_t delta; /**< cumulative new - orig (mod 2^32) for sender bytes after it */
};

/** Bounded list of edits of one direction, in stream order. */
struct dp_edit_seqadj {
	uint32_t base_delta; /**< delta before the first entry (from pruned entries) */
	uint32_t n;	     /**< entries in use */
	struct dp_edit_ent ent[DP_EDIT_MAX_EDITS];
};

/** Verdict of one PDU as the stream layer knows it. */
enum dp_edit_verdict {
	DP_EDIT_PDU_PENDING = 0, /**< not complete or not decided: its bytes are held */
	DP_EDIT_PDU_PASS = 1,	 /**< forward (S2E PDUs may be PASS while incomplete) */
	DP_EDIT_PDU_BLOCK = 2,	 /**< remove from the stream (E2S only) */
	DP_EDIT_PDU_REPLACE = 3	 /**< complete PDU replaced by the bytes staged for it with
				      dp_edit_replace() (either direction) */
};

/** One PDU of a direction's stream, in the sender's sequence space. */
struct dp_edit_pdu {
	uint32_t seq;	  /**< first byte (its command_length) */
	uint32_t len;	  /**< command_length */
	uint32_t avail;	  /**< bytes from seq the stream layer holds contiguously
			       (this segment included); len once complete */
	uint32_t verdict; /**< enum dp_edit_verdict */
};

/** TCP flag bits as in the header's flags byte. */
#define DP_EDIT_TCP_FIN 0x01
#define DP_EDIT_TCP_SYN 0x02
#define DP_EDIT_TCP_RST 0x04
#define DP_EDIT_TCP_PSH 0x08
#define DP_EDIT_TCP_ACK 0x10

/** The parts of a segment's TCP header the edit logic needs (host order). */
struct dp_edit_seg {
	uint32_t seq;  /**< sequence number */
	uint32_t ack;  /**< acknowledgement number (if flags & ACK) */
	uint32_t len;  /**< payload length */
	uint8_t flags; /**< DP_EDIT_TCP_* */
};

/** Where the bytes of an output range come from. */
enum dp_edit_src {
	DP_EDIT_SRC_SEG = 0,  /**< this segment's payload, at offset seq - seg.seq */
	DP_EDIT_SRC_HELD = 1, /**< the stream layer's buffer (bytes held earlier) */
	DP_EDIT_SRC_INJ = 2,  /**< injected bytes: send with dp_edit_tx_next() */
	DP_EDIT_SRC_REPL = 3  /**< a whole replacement PDU: seq is the replaced PDU's first
				   byte, len the replacement's length; bytes from
				   dp_edit_repl_data() */
};

/** One byte range to forward, each becomes (part of) one outgoing segment. */
struct dp_edit_range {
	uint32_t seq;	  /**< sender sequence number of the first byte (orig) */
	uint32_t len;	  /**< bytes */
	uint32_t out_seq; /**< sequence number to put in the outgoing header (new) */
	uint32_t src;	  /**< enum dp_edit_src */
};

/** Action bits of struct dp_edit_out. */
#define DP_EDIT_ACT_FORWARD    0x01 /**< forward ranges (or a header-only segment) */
#define DP_EDIT_ACT_HDR_ONLY   0x02 /**< n == 0: forward the header alone at hdr_seq */
#define DP_EDIT_ACT_FIN	       0x04 /**< set FIN on the last forwarded segment */
#define DP_EDIT_ACT_RST	       0x08 /**< forward as RST at hdr_seq (no payload) */
#define DP_EDIT_ACT_RESET_BOTH 0x10 /**< drop the segment; dp_edit_build_rst() both ways */

/** Result of dp_edit_segment(). The ack/SACK/window fields of every forwarded
 *  segment are rewritten by dp_edit_pkt_rewrite(); FIN/RST/PSH other than what
 *  the action bits say are to be cleared. */
struct dp_edit_out {
	uint32_t action;  /**< DP_EDIT_ACT_* bits; 0 = drop the segment */
	uint32_t n;	  /**< ranges in use */
	uint32_t hdr_seq; /**< seq of a header-only or RST segment, or of the FIN
			       with DP_EDIT_ACT_FIN (new space) */
	uint32_t held;	  /**< bytes of this segment held (not forwarded yet) */
	uint32_t removed; /**< bytes of this segment removed (blocked or below floor) */
	struct dp_edit_range r[DP_EDIT_MAX_RANGES];
};

/** State of one direction. */
struct dp_edit_half {
	struct dp_edit_seqadj sa; /**< edits of this direction */
	uint32_t rel;	      /**< orig: every byte before was decided and forwarded or removed */
	uint32_t snd_max;     /**< orig: highest sequence number + len seen from the sender */
	uint32_t floor;	      /**< orig: what the receiver has acknowledged (unmapped) */
	uint32_t rcv_ack;     /**< new: last ack seen from the receiver */
	uint32_t fwd_ack;     /**< last ack forwarded to the receiver (sender's ack, unmapped) */
	uint32_t snd_nxt_new; /**< new: highest sequence number sent toward the receiver */
	uint32_t fin_seq;     /**< orig: sequence number of the sender's FIN */
	uint32_t dup_ack;     /**< receiver ack value being counted as duplicate */
	uint16_t dup_cnt;     /**< duplicate ACKs at dup_ack */
	uint16_t flags;	      /**< DP_EDIT_HF_* (internal) */
};

/** One injected response PDU (internal bookkeeping, read-only to callers). */
struct dp_edit_inj {
	uint32_t pos;	  /**< S2E orig position it was inserted at (placed only) */
	uint32_t out_seq; /**< S2E new sequence number of its first byte */
	uint16_t off;	  /**< offset in dp_edit_flow.inj_buf */
	uint16_t len;	  /**< bytes */
	uint16_t placed;  /**< 0 = waiting for an S2E PDU boundary */
	uint16_t sent;	  /**< 0 = never sent */
};

/** One replacement PDU (internal bookkeeping, read-only to callers). */
struct dp_edit_repl {
	uint32_t pos;	 /**< sender (orig) sequence number of the replaced PDU */
	uint32_t rm;	 /**< its length */
	uint16_t off;	 /**< offset in dp_edit_flow.repl_buf */
	uint16_t len;	 /**< replacement bytes */
	uint8_t dir;	 /**< enum dp_edit_dir */
	uint8_t applied; /**< 0 = staged, 1 = in the edit list */
	uint16_t pad;
};

/** Raw header template of one direction (last segment seen). */
struct dp_edit_tmpl {
	uint8_t hdr[DP_EDIT_TMPL_MAX]; /**< L2 + IP (no options/ext hdrs) + TCP */
	uint8_t l2_len;
	uint8_t l3_len;
	uint8_t l4_len;
	uint8_t ipver; /**< 0 = none saved, 4 or 6 */
};

/** Edit state of one flow (about 16.5 KiB: sized for an ESME window of 64
 *  outstanding submits all blocked, plus 64 replaced PDUs (of both
 *  directions, DP_EDIT_REPL_BYTES in all) in flight; checked at compile
 *  time). Keep it in a
 *  pool beside the flow table and attach one to each SMPP flow in inline
 *  mode; a flow that gets none is handled as monitor-only (count it under
 *  the edits policy). */
struct dp_edit_flow {
	struct dp_edit_half h[2];		 /**< indexed by enum dp_edit_dir */
	struct dp_edit_inj inj[DP_EDIT_MAX_INJ]; /**< FIFO, inj[0] oldest */
	uint8_t inj_buf[DP_EDIT_INJ_BYTES];
	uint32_t inj_n;		     /**< entries in inj[] */
	uint32_t inj_used;	     /**< bytes used in inj_buf (compacted on ack) */
	uint64_t rto_deadline;	     /**< clock value of the next timer resend (0 = none) */
	uint64_t rto_cur;	     /**< current backoff interval */
	uint32_t resends;	     /**< consecutive resends without progress */
	uint16_t rs_next;	     /**< resend round: next inj[] index to resend */
	uint16_t rs_end;	     /**< resend round: end index (exclusive) */
	uint32_t flags;		     /**< DP_EDIT_FF_* (internal) */
	struct dp_edit_tmpl tmpl[2]; /**< last headers per direction */
	struct dp_edit_repl repl[DP_EDIT_MAX_REPL]; /**< in staging order */
	uint32_t repl_n;			    /**< entries in repl[] */
	uint32_t repl_used;			    /**< bytes used in repl_buf */
	uint8_t repl_buf[DP_EDIT_REPL_BYTES];
};

/** Fill `cfg` with defaults: hold 64 KiB fail-closed, edits fail-closed,
 *  injection fail-closed, RTO 200 ms doubling to 3.2 s, 8 resends,
 *  3 dup ACKs, probe 3 dup ACKs. */
void dp_edit_config_default(struct dp_edit_config *cfg);

/** Initialise a worker context with `cfg` (NULL = defaults), counters zero. */
void dp_edit_ctx_init(struct dp_edit_ctx *ctx, const struct dp_edit_config *cfg);

/** Initialise a flow: no edits, both directions unsynced (pass-through). */
void dp_edit_flow_init(struct dp_edit_flow *f);

/**
 * Start editing one direction at a PDU boundary: `seq` is the sender sequence
 * number of the first byte of the first PDU the stream layer will describe
 * (ISN+1 after a handshake, or the resynchronisation point of a flow picked
 * up mid-stream). Before this, segments of the direction pass unchanged.
 * @return DP_EDIT_OK; DP_EDIT_ESTATE if the direction already has edits.
 */
int dp_edit_dir_start(struct dp_edit_flow *f, enum dp_edit_dir dir, uint32_t seq);

/**
 * Like dp_edit_dir_start(), for a `seq` that starts a PDU whose first bytes
 * the receiver already has (forwarded before the flow was edited): the PDU
 * is described and forwarded as usual, but responses injected into S2E wait
 * for its end instead of being placed at `seq`, inside bytes the ESME
 * already received.
 * @return as dp_edit_dir_start().
 */
int dp_edit_dir_start_mid(struct dp_edit_flow *f, enum dp_edit_dir dir, uint32_t seq);

/** @return true once dp_edit_dir_start() was called for `dir`. */
bool dp_edit_dir_synced(const struct dp_edit_flow *f, enum dp_edit_dir dir);

/**
 * Release point of a direction: every sender byte before it was decided and
 * forwarded or removed; the PDU list given to dp_edit_segment() starts here.
 * The stream layer may free its buffer below this point.
 */
uint32_t dp_edit_dir_release_seq(const struct dp_edit_flow *f, enum dp_edit_dir dir);

/* ---- sequence adjustment list (one direction) ---- */

/** Empty list with delta 0. */
void dp_edit_seqadj_init(struct dp_edit_seqadj *sa);

/**
 * Append an edit at sender position `pos`: remove `rm` bytes from there and
 * insert `ins` bytes before it. Edits must come in stream order: `pos` at or
 * after the previous entry's pos + rm. A removal that starts where the last
 * one ended (and inserts nothing) is merged into it.
 * @return DP_EDIT_OK; DP_EDIT_EINVAL if rm == ins == 0 or rm/ins >= 2^30;
 *         DP_EDIT_EORDER if pos is before the last edit's end;
 *         DP_EDIT_EFULL if DP_EDIT_MAX_EDITS entries are in use.
 */
int dp_edit_seqadj_add(struct dp_edit_seqadj *sa, uint32_t pos, uint32_t rm, uint32_t ins);

/**
 * Map a sender sequence number to the receiver's space (for seq fields).
 * A position inside a removed range maps to where the range collapsed to
 * (after any bytes inserted at its start).
 */
uint32_t dp_edit_seqadj_map(const struct dp_edit_seqadj *sa, uint32_t orig);

/**
 * Map a receiver sequence number back to the sender's space (for ack fields
 * and SACK edges). A position inside or at the start of inserted bytes maps to
 * the insertion point; a collapsed removal maps to its end (the removed bytes
 * count as delivered once the bytes before them are).
 */
uint32_t dp_edit_seqadj_unmap(const struct dp_edit_seqadj *sa, uint32_t new_seq);

/**
 * Forget entries the receiver has acknowledged: `acked_new` is the
 * receiver's ack (its own space). Every leading entry whose inserted bytes
 * are acknowledged and whose removed range ends at or before the unmapped ack
 * is folded into base_delta; later positions map as before.
 * @return number of entries pruned.
 */
uint32_t dp_edit_seqadj_prune(struct dp_edit_seqadj *sa, uint32_t acked_new);

/* ---- per segment ---- */

/**
 * Decide what of one segment is forwarded, held or removed, record the
 * removals of BLOCK PDUs as edits, translate the segment's ACK for the
 * reverse direction's bookkeeping (prunes its edits, injected responses
 * acknowledged, duplicate ACKs), and track FIN/RST.
 *
 * `pdus` describes the stream from dp_edit_dir_release_seq() onward, in
 * order and contiguous (the first entry may start before the release point
 * if the release point is inside a PASS PDU forwarded while incomplete);
 * bytes past the last entry are unknown and held. Bytes the stream layer
 * cannot cut into PDUs (lost alignment, not SMPP) are described as one
 * pseudo-PDU with the configured verdict for them, so the list stays
 * contiguous; at FIN, a truncated last PDU gets a verdict the same way
 * (otherwise the FIN is held with it). Bytes before the release
 * point are a retransmission: they are forwarded again with the same edits
 * (removed ranges stay removed, also on partial overlap); bytes the receiver
 * already acknowledged and that lie before the oldest remembered edit are
 * dropped. A segment that ends inside an undecided PDU is trimmed; the held
 * bytes are returned as DP_EDIT_SRC_HELD ranges by the call that decides
 * them. Bytes of S2E are not held unless the caller marks their PDUs PENDING.
 * Injected responses waiting for a boundary are placed at the first S2E PDU
 * boundary at or after the release point (DP_EDIT_SRC_INJ ranges tell where).
 * Past the hold bound with FAIL_OPEN, the held bytes up to this segment's end
 * are released as HELD ranges; HELD bytes the stream layer does not have (a
 * gap) are simply not sent: the sender retransmits them, and they are then
 * forwarded as a retransmission.
 *
 * @param ctx   worker context (policy, counters)
 * @param f     flow
 * @param dir   direction of the segment
 * @param seg   seq/ack/len/flags of the segment as received
 * @param pdus  PDU descriptions (may be NULL if npdus == 0)
 * @param npdus number of entries
 * @param now   caller's clock (ns), for dup-ACK resends of injected data
 * @param out   result
 * @return DP_EDIT_OK (see out->action); DP_EDIT_EINVAL on NULL arguments;
 *         DP_EDIT_EORDER if the PDU list is not contiguous from the release
 *         point (nothing is released, the segment's new bytes are held);
 *         DP_EDIT_EFULL if a bound was hit (out->action says what the policy
 *         decided: forwarded unedited, or RESET_BOTH).
 */
int dp_edit_segment(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		    const struct dp_edit_seg *seg, const struct dp_edit_pdu *pdus, uint32_t npdus,
		    uint64_t now, struct dp_edit_out *out);

/* ---- replaced PDUs (either direction) ---- */

/**
 * Stage the replacement of one complete PDU of `dir` (e.g. a submit_multi
 * with some destinations removed, or a response rewritten): `pdu_seq` and
 * `pdu_len` as in the PDU list, `bytes` (copied, `len` > 0). Then describe
 * that PDU with the verdict DP_EDIT_PDU_REPLACE. When dp_edit_segment()
 * decides it, its bytes are removed and the replacement inserted in their
 * place: one edit (rm = pdu_len, ins = len); later sequence numbers shift by
 * len - pdu_len and the receiver's ACKs map back (an ACK inside the
 * replacement maps to the PDU's start). The replacement is returned as one
 * DP_EDIT_SRC_REPL range by that call, and again, whole, by every later call
 * whose segment retransmits any byte of the replaced PDU, until the receiver
 * acknowledges all of it; then its bytes are dropped.
 * @return DP_EDIT_OK; DP_EDIT_EINVAL (len 0 or > DP_EDIT_REPL_BYTES, or
 *         pdu_len 0); DP_EDIT_ESTATE if `dir` is not synced;
 *         DP_EDIT_EORDER if the PDU starts before the release point (already
 *         forwarded or decided); DP_EDIT_EFULL if the replacement table or
 *         buffer is full (nothing staged: the caller decides, e.g. blocks
 *         the whole PDU).
 */
int dp_edit_replace(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		    uint32_t pdu_seq, uint32_t pdu_len, const uint8_t *bytes, uint32_t len);

/**
 * Take the ACK of a segment that carries data before dp_edit_segment() is
 * called for it, with the same effect it has there (edits acknowledged are
 * pruned, replacements and injected responses the receiver has are
 * dropped): call it before dp_edit_replace() for PDUs the segment
 * completes, so that the room its ACK frees is there. Segments without
 * payload (their ACK may be a duplicate ACK, which must be counted once) and
 * RSTs are ignored; dp_edit_segment() takes those.
 */
void dp_edit_take_ack(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, enum dp_edit_dir dir,
		      const struct dp_edit_seg *seg, uint64_t now);

/**
 * Bytes of a DP_EDIT_SRC_REPL range returned by dp_edit_segment() for `dir`
 * (r->len of them), valid until the next call on the flow.
 * @return pointer into the flow's replacement buffer; NULL if `r` is not a
 *         REPL range of a replacement the flow still keeps.
 */
const uint8_t *dp_edit_repl_data(const struct dp_edit_flow *f, enum dp_edit_dir dir,
				 const struct dp_edit_range *r);

/** @return bytes of replacement PDUs the flow keeps (staged or unacknowledged). */
uint32_t dp_edit_repl_outstanding(const struct dp_edit_flow *f);

/* ---- injected responses (SMSC -> ESME) ---- */

/**
 * Queue a response PDU for the ESME. Its bytes are copied; they are placed
 * into the S2E sequence space at the next SMPP PDU boundary of that stream
 * (at once if the S2E stream is at a boundary) and kept until the ESME
 * acknowledges them.
 * @return DP_EDIT_OK; DP_EDIT_EINVAL (len 0 or > DP_EDIT_INJ_BYTES);
 *         DP_EDIT_ESTATE if S2E is not synced or the flow is closing
 *         (counted like a full buffer under inj_policy);
 *         DP_EDIT_EFULL if the buffer or table is full: with FAIL_CLOSED the
 *         flow is marked for reset (dp_edit_flow_reset_pending() becomes
 *         true), with FAIL_OPEN the response is dropped (counted).
 */
int dp_edit_inject(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, const uint8_t *pdu,
		   uint32_t len, uint64_t now);

/** An injected segment to send toward the ESME. */
struct dp_edit_tx {
	const uint8_t *data; /**< bytes (valid until the next call on the flow) */
	uint32_t len;	     /**< bytes */
	uint32_t seq;	     /**< S2E new sequence number */
	uint32_t ack;	     /**< ack toward the ESME (SMSC's last ack, unmapped) */
	bool ack_valid;	     /**< false: the SMSC has not acknowledged anything yet */
	bool resend;	     /**< this is a resend */
};

/**
 * Next injected segment due now: a placed response never sent, or the oldest
 * unacknowledged one when the timer expired (then the timer backs off) or
 * the ESME sent dupack_threshold duplicate ACKs. Call until DP_EDIT_AGAIN.
 * Build the frame with dp_edit_build_seg().
 * @return DP_EDIT_OK with *tx filled; DP_EDIT_AGAIN if nothing is due;
 *         DP_EDIT_EMISMATCH if max_resends was reached: reset the flow
 *         toward both ends (counted once).
 */
int dp_edit_tx_next(struct dp_edit_ctx *ctx, struct dp_edit_flow *f, uint64_t now,
		    struct dp_edit_tx *tx);

/** @return clock value at which dp_edit_tx_next() has a resend due, 0 if none. */
uint64_t dp_edit_next_deadline(const struct dp_edit_flow *f);

/** @return bytes of injected responses not yet acknowledged by the ESME. */
uint32_t dp_edit_inj_outstanding(const struct dp_edit_flow *f);

/** @return true if a fail-closed policy decided this flow must be reset. */
bool dp_edit_flow_reset_pending(const struct dp_edit_flow *f);

/** @return true when both directions have FIN'd, all acked, or a RST passed:
 *  the caller may drop the flow's edit state. */
bool dp_edit_flow_done(const struct dp_edit_flow *f);

/* ---- raw header helpers ---- */

/** A parsed packet: pointers into the caller's frame (host-order lengths). */
struct dp_edit_pkt {
	uint8_t *l3;	      /**< IPv4 or IPv6 header */
	uint8_t *l4;	      /**< TCP header */
	uint32_t l3_len;      /**< bytes from l3 to l4 (IPv4 options, IPv6 ext headers) */
	uint32_t l4_len;      /**< TCP header length incl. options (data offset * 4) */
	uint32_t payload_len; /**< TCP payload bytes following the header */
	uint8_t ipver;	      /**< 4 or 6 */
};

/**
 * Fill `pkt` from an IP packet starting at `l3` with `len` bytes available.
 * IPv6 extension headers (hop-by-hop, routing, destination options) are
 * skipped; fragments are refused.
 * @return DP_EDIT_OK; DP_EDIT_ETRUNC if a header does not fit or is malformed;
 *         DP_EDIT_EINVAL if it is not TCP.
 */
int dp_edit_pkt_parse(struct dp_edit_pkt *pkt, uint8_t *l3, uint32_t len);

/**
 * Rewrite a forwarded segment's TCP header in place: seq := `out_seq`; the
 * ack number and the SACK blocks (which refer to the reverse direction)
 * are mapped back through the reverse direction's edits. SACK blocks that
 * collapse to nothing are removed from the option (replaced by NOPs, header
 * length unchanged). Timestamps and the window are left as they are. The
 * TCP checksum is updated incrementally (RFC 1624); nothing else changes.
 * @return DP_EDIT_OK; DP_EDIT_ETRUNC on malformed options (header untouched
 *         except seq/ack).
 */
int dp_edit_pkt_rewrite(struct dp_edit_ctx *ctx, const struct dp_edit_flow *f, enum dp_edit_dir dir,
			struct dp_edit_pkt *pkt, uint32_t out_seq);

/**
 * Build one outgoing frame for a forwarded range: the headers of the received
 * frame `frame` (parsed as `pkt`: L2, IP with its options or extension
 * headers, TCP with its options) followed by `payload` (`len` bytes: the
 * range's bytes from the segment or from the stream layer's buffer), with IP
 * lengths fixed, seq := `out_seq`, ack and SACK mapped as by
 * dp_edit_pkt_rewrite(), FIN and RST exactly as in `keep_flags` (set even if
 * the received frame had none: a FIN held earlier goes out on the frame that
 * releases the bytes before it), and a
 * full TCP checksum. When a range is the whole segment, rewriting in place
 * with dp_edit_pkt_rewrite() is cheaper.
 * @param keep_flags DP_EDIT_TCP_FIN and/or DP_EDIT_TCP_RST for the frame
 * @return frame length (> 0); DP_EDIT_EINVAL on bad arguments;
 *         DP_EDIT_EFULL if `cap` is too small.
 */
int dp_edit_emit(struct dp_edit_ctx *ctx, const struct dp_edit_flow *f, enum dp_edit_dir dir,
		 const uint8_t *frame, const struct dp_edit_pkt *pkt, uint32_t out_seq,
		 const uint8_t *payload, uint32_t len, uint8_t keep_flags, uint8_t *buf,
		 uint32_t cap);

/** Set seq and ack fields with an incremental checksum update (RFC 1624). */
void dp_edit_tcp_set_seq_ack(uint8_t *l4, uint32_t seq, uint32_t ack);
/** Set the 4 header bytes at @p l4 + @p off (any alignment, inside the
 *  header: a TCP option's value) to @p v, checksum updated incrementally. */
void dp_edit_tcp_put32(uint8_t *l4, uint32_t off, uint32_t v);

/**
 * After trimming a segment's payload to `payload_len` bytes (payload directly
 * after the TCP header): update the IPv4 total length and header checksum, or
 * the IPv6 payload length, and pkt->payload_len. The TCP checksum must then
 * be recomputed with dp_edit_pkt_csum_full().
 */
void dp_edit_pkt_set_payload_len(struct dp_edit_pkt *pkt, uint32_t payload_len);

/** Recompute the TCP checksum over pseudo header, header and payload. */
void dp_edit_pkt_csum_full(struct dp_edit_pkt *pkt);

/** @return true if the TCP checksum of `pkt` verifies. */
bool dp_edit_pkt_csum_ok(const struct dp_edit_pkt *pkt);

/**
 * Remember the headers of a segment of `dir` as the template for segments the
 * library originates (injected responses, RSTs). `frame` starts at L2 and
 * `pkt` points into it. IPv4 options and IPv6 extension headers are dropped;
 * of the TCP options only the timestamp option is kept.
 * @return DP_EDIT_OK; DP_EDIT_EFULL if the headers exceed DP_EDIT_TMPL_MAX.
 */
int dp_edit_tmpl_save(struct dp_edit_flow *f, enum dp_edit_dir dir, const uint8_t *frame,
		      const struct dp_edit_pkt *pkt);

/**
 * Build a segment travelling in direction `dir` (DP_EDIT_S2E: toward the
 * ESME, as if from the SMSC) into `buf`: L2 and IP from the template of `dir`
 * (or, if none, of the reverse direction with addresses, ports and MACs
 * swapped and the timestamp values exchanged), then TCP with `seq`, `ack`,
 * `flags`, and `payload` copied after it. IP and TCP checksums are complete.
 * @param flags DP_EDIT_TCP_* bits
 * @return frame length (> 0); DP_EDIT_ESTATE if no template exists;
 *         DP_EDIT_EFULL if `cap` is too small.
 */
int dp_edit_build_seg(const struct dp_edit_flow *f, enum dp_edit_dir dir, uint32_t seq,
		      uint32_t ack, uint8_t flags, const uint8_t *payload, uint32_t len,
		      uint8_t *buf, uint32_t cap);

/**
 * Build the RST for direction `dir` that the receiver accepts at once: its
 * seq is the receiver's rcv_nxt as its last ACK showed (RFC 5961 exact
 * match), or the sender's highest sequence mapped when no ACK was seen.
 * @return frame length; errors as dp_edit_build_seg().
 */
int dp_edit_build_rst(const struct dp_edit_flow *f, enum dp_edit_dir dir, uint8_t *buf,
		      uint32_t cap);

/* ---- restart probe (flows picked up mid-stream) ---- */

/** Observations of a flow picked up without edit history. */
struct dp_edit_probe {
	uint32_t snd_max[2];   /**< highest seq+len seen per direction */
	uint32_t lo_seq[2];    /**< lowest data seq seen per direction */
	uint32_t ack[2];       /**< last ack seen from the receiver of each direction */
	uint32_t stuck_ack[2]; /**< receiver ack that stays below the sender's data */
	uint16_t stuck_cnt[2];
	uint16_t unsent_cnt[2]; /**< new data segments below what the peer acked */
	uint16_t flags;
};

/** Start observing (all unknown). */
void dp_edit_probe_init(struct dp_edit_probe *p);

/**
 * Feed one segment of a flow picked up mid-stream. Recognises sequence spaces
 * that cannot belong to one unedited connection: an ACK of bytes the other
 * side provably never sent (a zero-length segment showing its snd_nxt below
 * the ack seen earlier, or two new data segments starting below it: bytes
 * were injected), or a receiver that keeps
 * acknowledging a point below every byte the sender sends and the sender
 * never goes back to it (bytes were removed): `probe_dupacks` such ACKs.
 * @return DP_EDIT_OK (consistent so far); DP_EDIT_EMISMATCH (reset the flow
 *         with dp_edit_build_rst() both ways, counted).
 */
int dp_edit_probe_segment(struct dp_edit_ctx *ctx, struct dp_edit_probe *p, enum dp_edit_dir dir,
			  const struct dp_edit_seg *seg);

#ifdef __cplusplus
}
#endif

#endif /* DP_EDIT_H */
