/* dp_types.h — types and constants of the smsfw dataplane core.
 *
 * Shared by the fast path (dp_frame.c, dp_flow.c, dp_stream.c, dp_session.c,
 * dp_policy.c, dp_worker.c) and the control path (dp_main.c, dp_telemetry.c).
 * Functions live in dp.h; this file only holds layouts so that both can be
 * included in any order.
 */
#ifndef SMSFW_DP_TYPES_H
#define SMSFW_DP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_edit.h"

/** Library status codes: 0 OK, negative errors. */
enum dp_status {
	DP_OK = 0,
	DP_AGAIN = -1,     /**< need more bytes */
	DP_EINVAL = -2,    /**< invalid argument or malformed input */
	DP_ENOMEM = -3,    /**< a bounded pool or table is exhausted */
	DP_EFULL = -4,     /**< table full */
	DP_ENOENT = -5,    /**< not found */
	DP_EIO = -6,       /**< file or socket error */
	DP_ECONFIG = -7,   /**< invalid configuration */
};

/* ------------------------------------------------------------------ frames */

/** What dp_frame_parse() found in a frame. */
enum dp_frame_kind {
	DP_FRAME_OTHER = 0, /**< not IP/TCP (ARP, ND, UDP, ...): forward untouched */
	DP_FRAME_TCP,       /**< a complete TCP segment */
	DP_FRAME_FRAG,      /**< an IP fragment (first or later) */
	DP_FRAME_BAD,       /**< truncated or inconsistent headers */
};

#define DP_MAX_VLAN 2

/** A parsed frame: offsets and views into the caller's buffer. */
struct dp_frame {
	const uint8_t *payload;   /**< TCP payload */
	uint32_t payload_len;
	uint32_t seq, ack;        /**< TCP sequence and acknowledgement (host order) */
	uint16_t sport, dport;    /**< TCP ports (host order) */
	uint16_t l3_off, l4_off;  /**< offsets of the IP and TCP headers */
	uint16_t vlan[DP_MAX_VLAN]; /**< VLAN TCIs, outer first */
	uint8_t n_vlan;
	uint8_t family;           /**< 4 or 6; 0 when not IP */
	uint8_t l4proto;          /**< IPPROTO_* after extension headers */
	uint8_t tcp_flags;        /**< DP_TCP_* */
	uint8_t frag_first;       /**< DP_FRAME_FRAG: offset 0 (ports set when TCP) */
	uint8_t frag_more;        /**< DP_FRAME_FRAG: more fragments follow (IPv4 MF, IPv6 M) */
	uint32_t frag_id;         /**< DP_FRAME_FRAG: IPv4 identification / IPv6 fragment id */
	uint32_t frag_off;        /**< DP_FRAME_FRAG: offset of its data in the packet (bytes) */
	uint16_t frag_data_off;   /**< DP_FRAME_FRAG: where its data starts in the frame */
	uint16_t frag_data_len;   /**< DP_FRAME_FRAG: its data bytes */
	uint16_t frag_hdr_off;    /**< DP_FRAME_FRAG: IPv6 fragment header (IPv4: l3_off) */
	uint16_t frag_nh_off;     /**< DP_FRAME_FRAG, IPv6: the next-header byte naming the
				   *   fragment header (IPv6 header or previous extension) */
	uint8_t saddr[16], daddr[16]; /**< IPv4 in the first 4 bytes */
};

/** The VLAN id a flow is keyed by: the innermost tag's, 0 untagged. */
static inline uint16_t dp_frame_vlan(const struct dp_frame *f)
{
	return f->n_vlan ? (uint16_t)(f->vlan[f->n_vlan - 1] & 0x0fff) : 0;
}

#define DP_TCP_FIN 0x01
#define DP_TCP_SYN 0x02
#define DP_TCP_RST 0x04
#define DP_TCP_PSH 0x08
#define DP_TCP_ACK 0x10

/* ------------------------------------------------------------------- flows */

/** Flow key: the 5-tuple normalised so both directions give the same key
 *  (the lower (address, port) first). Hashed as raw bytes, so fully zeroed. */
struct dp_flow_key {
	uint8_t lo_addr[16];
	uint8_t hi_addr[16];
	uint16_t lo_port;
	uint16_t hi_port;
	uint8_t family;
	uint8_t proto;
	uint16_t vlan; /**< innermost VLAN id: separates tenants with overlapping addresses */
};
_Static_assert(sizeof(struct dp_flow_key) == 40, "flow key is hashed as raw bytes");

/** Directions inside a flow: from the lo side of the key or from the hi side. */
enum dp_dir { DP_DIR_LO = 0, DP_DIR_HI = 1 };

/** TCP state of a flow, coarse: enough for timeouts. */
enum dp_tcp_state {
	DP_TCP_NEW = 0,     /**< first packet seen was not a SYN or only a SYN */
	DP_TCP_ESTABLISHED, /**< data or a handshake seen */
	DP_TCP_CLOSING,     /**< FIN seen */
	DP_TCP_CLOSED,      /**< RST, or FIN both ways */
};

/** Inline-editing state of a flow (dp_inline.c). */
enum dp_edit_fstate {
	DP_EDIT_FS_NONE = 0,  /**< nothing edited (yet): frames pass unchanged */
	DP_EDIT_FS_ACTIVE,    /**< an edit slot is attached (dp_flow.edit) */
	DP_EDIT_FS_DONE,      /**< edited, closed cleanly: slot released */
	DP_EDIT_FS_RESET,     /**< reset toward both ends: later frames are dropped */
	DP_EDIT_FS_NOSLOT,    /**< needed a slot, the pool was empty (policy applied) */
};

/** Per-direction stream state. */
enum dp_stream_state {
	DP_STREAM_NONE = 0, /**< nothing seen yet */
	DP_STREAM_SYNCED,   /**< next_seq is the first byte of a PDU or inside one */
	DP_STREAM_RESYNC,   /**< looking for a valid PDU header */
	DP_STREAM_BYPASS,   /**< uninspectable (TLS, garbage): policy applied, no parsing */
};

#define DP_STREAM_NOBUF 0xffffu
#define DP_OOO_MAX 16 /**< most out-of-order segments held per direction (ooo_max ≤ this) */

/** Where the bytes of a PDU that spans segments wait, and the held
 *  out-of-order segments. Chunks come from a per-worker pool. */
struct dp_stream_dir {
	uint32_t next_seq;     /**< next in-order byte expected */
	uint32_t skip;         /**< bytes of an uninspected PDU still to pass over */
	uint32_t pdu_seq;      /**< sequence number of the PDU being assembled */
	uint16_t buf;          /**< chunk with the partial PDU, or DP_STREAM_NOBUF */
	uint16_t buf_len;      /**< bytes in it */
	uint16_t ooo[DP_OOO_MAX]; /**< chunks with held segments */
	uint8_t n_ooo;
	uint8_t state;         /**< enum dp_stream_state */
	uint8_t fin;
	uint8_t pad;
};

/** SMPP session state of a flow. */
enum dp_sess_state {
	DP_SESS_OPEN = 0,  /**< no bind yet */
	DP_SESS_BINDING,   /**< bind seen, no bind_resp yet */
	DP_SESS_BOUND,     /**< bind_resp with status 0 */
	DP_SESS_UNBOUND,   /**< unbind seen, or bind refused */
};

#define DP_SYSTEM_ID_MAX 16 /**< SMPP system_id: 15 characters and the NUL */

/** What the session knows. The bind's password is never copied anywhere. */
struct dp_session {
	char system_id[DP_SYSTEM_ID_MAX]; /**< NUL-terminated, printable ASCII only */
	uint32_t customer;     /**< index into the customer snapshot; DP_CUST_DEFAULT */
	uint32_t bind_seq;     /**< sequence_number of the pending bind */
	uint32_t bind_cmd;     /**< command_id of the pending or accepted bind */
	uint8_t state;         /**< enum dp_sess_state */
	uint8_t version;       /**< interface_version from the bind */
	uint8_t known;         /**< system_id found in the customer snapshot */
	uint8_t cust_valid;    /**< customer and known are looked up for cust_gen */
	uint8_t bind_slot;     /**< holds one of its system_id's concurrent-bind slots */
	uint32_t cust_gen;     /**< snapshot generation `customer` indexes */
	uint32_t pdus[2];      /**< PDUs seen, per direction (lo, hi) */
	uint32_t submits, blocked_would;
	uint64_t bind_ms;      /**< when the bind was accepted (or the session restored) */
};

#define DP_CUST_DEFAULT 0xffffffffu

/** A flow: one per TCP connection, ≤ 1 KiB without reassembly chunks. */
struct dp_flow {
	struct dp_flow_key key;
	uint64_t last_ms;      /**< time of the last packet */
	uint64_t created_ms;
	struct dp_stream_dir dir[2];
	struct dp_session sess;
	uint64_t bytes[2];
	uint32_t pkts[2];
	uint8_t tcp_state;     /**< enum dp_tcp_state */
	uint8_t smpp;          /**< 1 when a side of it is a configured SMPP port */
	uint8_t esme_dir;      /**< direction whose sender is the ESME (toward the SMSC) */
	uint8_t fin_seen;      /**< bit per direction */
	uint8_t tls;           /**< a TLS record was seen on it */
	uint8_t in_use;
	uint8_t junk;          /**< bytes that are not SMPP were reported for this flow */
	uint8_t edit_state;    /**< enum dp_edit_fstate (inline mode, dp_inline.c) */
	uint16_t edit;         /**< edit slot index + 1 (0: none attached) */
	uint8_t unbind_inj;    /**< an unbind was injected toward the ESME (terminated) */
	uint8_t syn_seen;      /**< bit per direction: the SYN was seen (not mid-stream) */
	uint32_t probe_segs;   /**< segments fed to the restart probe */
	struct dp_edit_probe probe; /**< restart probe (flows picked up mid-stream) */
};
_Static_assert(sizeof(struct dp_flow) <= 1024, "issue 4: per-flow memory at most 1 KiB");

/* ---------------------------------------------------------------- verdicts */

enum dp_verdict {
	DP_VERDICT_PASS = 0,
	DP_VERDICT_BLOCK,
	DP_VERDICT_THROTTLE,
};

/** Verdict categories: each has its own configured response status. */
enum dp_category {
	DP_CAT_NONE = 0,
	DP_CAT_STANDING,  /**< suspended or terminated customer */
	DP_CAT_RATE,      /**< token bucket empty */
	DP_CAT_OPTOUT,    /**< subscriber opted out of this customer */
	DP_CAT_SENDER,    /**< sender-ID rule (spoofing, TON/NPI, allow-list) */
	DP_CAT_CONTENT,   /**< content rule (spam, fraud, phishing, ...) */
	DP_CAT_BULK,      /**< same text to many recipients, no bulk flag */
	DP_CAT_VELOCITY,  /**< many messages to one subscriber (harassment) */
	DP_CAT_UNINSPECTABLE, /**< TLS, garbage, oversize: policy applied */
	DP_CAT_BIND,      /**< bind refused: source address, bind rate, concurrent binds */
	DP_CAT__COUNT
};

/** Customer standing, as the control plane defines it. */
enum dp_standing {
	DP_STANDING_ACTIVE = 0,
	DP_STANDING_WARNED,
	DP_STANDING_SUSPENDED,
	DP_STANDING_TERMINATED,
};

#define DP_SENDER_MAX 21 /**< source_addr: 20 characters and the NUL */
#define DP_ALLOWED_SENDERS 8
#define DP_IPRANGES 8
#define DP_EXEMPT_RULES 16

/** A customer as the workers see it (immutable inside a snapshot). */
struct dp_customer {
	char system_id[DP_SYSTEM_ID_MAX];
	uint8_t standing;        /**< enum dp_standing */
	uint8_t bulk_ok;         /**< bulk / opt-in flag: bulk fingerprint does not apply */
	uint8_t any_sender;      /**< no sender allow-list */
	uint8_t n_senders;
	uint32_t rate_per_s;     /**< token bucket rate per customer; 0 = unlimited */
	uint32_t burst;          /**< bucket depth */
	uint32_t sender_rate_per_s; /**< per customer + sender; 0 = unlimited */
	uint32_t sender_burst;   /**< its bucket depth (0 = the rate) */
	uint32_t exempt_categories; /**< bit (1 << cp category): never blocked for */
	uint32_t exempt_rules[DP_EXEMPT_RULES]; /**< rule ids never blocked for (0 = unused) */
	char senders[DP_ALLOWED_SENDERS][DP_SENDER_MAX];
	uint16_t max_binds;      /**< concurrent binds; 0 = unlimited */
	uint8_t n_ipranges;      /**< 0 = binds from anywhere */
	uint8_t pad2;
	uint32_t binds_per_min;  /**< bind attempts per minute; 0 = unlimited */
	struct {
		uint8_t addr[16];    /**< IPv6, or IPv4-mapped ::ffff:a.b.c.d */
		uint8_t prefix_len;  /**< on the 128-bit address */
	} ipranges[DP_IPRANGES];
};

/* ------------------------------------------------------------------ events */

enum dp_event_type {
	DP_EV_VERDICT = 1,  /**< a message verdict (observation) */
	DP_EV_OPTOUT,       /**< a subscriber opted out or back in (fact) */
	DP_EV_BIND,         /**< a bind and its outcome (observation) */
	DP_EV_UNINSPECTABLE, /**< a flow that cannot be inspected (observation) */
};

#define DP_TEXT_SAMPLE 160
#define DP_RULE_ID_MAX 32

/** One event from a worker to the main lcore. Fixed size, copied into a ring
 *  slot pool; no pointers, so it may cross to the control plane as is. */
struct dp_event {
	uint64_t time_ms;
	uint16_t type;           /**< enum dp_event_type */
	uint8_t verdict;         /**< enum dp_verdict */
	uint8_t category;        /**< enum dp_category */
	uint8_t worker;
	uint8_t standing;
	uint8_t data_coding;
	uint8_t optout_on;       /**< DP_EV_OPTOUT: 1 stop, 0 start */
	uint32_t command_id;
	uint32_t sequence;       /**< sequence_number of the PDU */
	uint32_t command_status;
	uint16_t text_len;
	uint16_t msg_ref;        /**< concatenation reference (0 single part) */
	uint8_t part, parts;
	uint8_t cp_category;     /**< the control plane's enum cp_category */
	uint8_t monitor;         /**< 1: the verdict was only recorded (monitor mode) */
	uint32_t rule_num;       /**< numeric rule id of a content/sender rule, 0 for built-in steps */
	uint32_t flow_hash;      /**< identifies the connection in logs */
	char system_id[DP_SYSTEM_ID_MAX];
	char rule_id[DP_RULE_ID_MAX];
	char src[DP_SENDER_MAX];
	char dst[DP_SENDER_MAX];
	char text[DP_TEXT_SAMPLE]; /**< UTF-8, truncated; for evidence of blocks */
};

#endif
