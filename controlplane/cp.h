/**
 * @file cp.h
 * @brief smsfw control plane: the shared contract between smsfw-controld and
 *        smsfw-dataplane.
 *
 * Three things live here and nowhere else:
 *
 *  1. The LMDB schema: named databases, record layouts (fixed width, with a
 *     schema version in every record) and the meta keys.
 *  2. The READ API the dataplane's main lcore uses. It opens the environment
 *     with MDB_RDONLY|MDB_NOTLS and never holds a read transaction across a
 *     wait: every call below begins a transaction, copies or visits what it
 *     needs, and ends it before returning.
 *  3. The EVENT wire format spoken on controld's event socket, with the
 *     encode/decode functions both processes use.
 *
 * No DPDK here: the header is plain C11 and links against liblmdb only.
 *
 * Byte order. LMDB files are host-native (LMDB itself stores page headers in
 * host order), so records are host order and the build refuses a big-endian
 * host. The event wire format is explicitly little-endian and is encoded and
 * decoded field by field, never by casting a struct onto the bytes.
 */
#ifndef SMSFW_CP_H
#define SMSFW_CP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "smsfw control plane records assume a little-endian host"
#endif

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

/** One status enum for the control-plane library: 0 OK, errors negative. */
enum cp_status {
	CP_OK = 0,
	CP_AGAIN = -1,	      /**< need more bytes (event decoder) */
	CP_ERR_INVAL = -2,    /**< bad argument */
	CP_ERR_NOMEM = -3,    /**< allocation failed */
	CP_ERR_IO = -4,	      /**< system call failed (see errno at call site) */
	CP_ERR_STORE = -5,    /**< LMDB error */
	CP_ERR_NOTFOUND = -6, /**< no such record */
	CP_ERR_SCHEMA = -7,   /**< store or record written by a newer smsfw */
	CP_ERR_FORMAT = -8,   /**< malformed record or event bytes */
	CP_ERR_CHECKSUM = -9, /**< event batch checksum mismatch */
	CP_ERR_VERSION = -10, /**< unknown event format version */
	CP_ERR_TOOBIG = -11,  /**< does not fit the bound */
	CP_ERR_REFUSED = -12, /**< policy refused the operation */
	CP_ERR_EXISTS = -13,  /**< record already exists */
	CP_ERR_NOSTORE = -14, /**< store not created yet (controld never ran) */
};

/**
 * Human-readable text for a cp_status.
 * @return a static string; never NULL (unknown codes give "unknown status").
 */
const char *cp_strerror(int status);

/* ------------------------------------------------------------------------- */
/* LMDB schema                                                               */
/* ------------------------------------------------------------------------- */

/** Store schema this build writes. A newer store is refused, older migrated. */
#define CP_SCHEMA_VERSION 1

/** Named databases in the environment (mdb_dbi_open names). */
#define CP_DB_CUSTOMERS	 "customers"  /**< system_id -> struct cp_customer_rec */
#define CP_DB_VIOLATIONS "violations" /**< u64 BE id -> struct cp_violation_rec */
#define CP_DB_COMPLAINTS "complaints" /**< u64 BE id -> struct cp_complaint_rec */
#define CP_DB_MESSAGES	 "messages"   /**< u64 BE id -> struct cp_message_rec */
#define CP_DB_EVIDENCE	 "evidence"   /**< u64 BE message id -> cp_evidence_rec + text */
#define CP_DB_OPTOUTS	 "optouts"    /**< struct cp_optout_key -> cp_optout_rec */
#define CP_DB_RULESETS	 "rulesets"   /**< u64 BE version -> cp_ruleset_rec + blob + source */
#define CP_DB_HISTORY	 "history"    /**< u64 BE id -> struct cp_history_rec */
#define CP_DB_META	 "meta"	      /**< ASCII key -> value, see CP_META_* */
/** Index: customer[16] + category u8 + time u64 BE + violation id u64 BE -> "" */
#define CP_DB_VIOL_IDX	 "violations_by_customer"
/** Index: customer[16] + time u64 BE + complaint id u64 BE -> "" */
#define CP_DB_COMPL_IDX	 "complaints_by_customer"
/** Index: customer[16] + FNV-1a 64 of the destination (BE) + time_ms u64 BE +
 *  message id u64 BE -> "" (finds a subscriber's messages for a complaint) */
#define CP_DB_MSG_IDX	 "messages_by_destination"
/** Number of named databases (for mdb_env_set_maxdbs, with headroom). */
#define CP_DB_MAX	 16

/** meta "schema": uint32_t, the store's schema version. */
#define CP_META_SCHEMA	     "schema"
/** meta "generation": uint64_t, bumped by every commit the dataplane must see
 *  (customers, opt-outs, current ruleset). */
#define CP_META_GENERATION   "generation"
/** meta "ruleset": uint64_t, version of the current ruleset (0 = none). */
#define CP_META_RULESET	     "ruleset"
/** meta "dp-seq:<instance hex>": uint64_t, last fact sequence committed
 *  from that dataplane instance (exactly-once ingestion across reconnects). */
#define CP_META_DPSEQ_PREFIX "dp-seq:"

/** meta "msg-id": uint64_t, the next message id (ids are never reused,
 *  even after retention emptied the message log). */
#define CP_META_MSG_ID "msg-id"

/** LMDB file name inside the store directory. */
#define CP_STORE_FILE "data.mdb"

/** Sizes of the fixed-width text fields (NUL padded, not necessarily
 *  NUL-terminated when full: always use the paired length or strnlen). */
#define CP_SYSTEM_ID_MAX  16 /**< SMPP system_id is at most 15 octets + NUL */
#define CP_ADDR_MAX	  24 /**< SMPP source/destination addr: 20 octets + NUL */
#define CP_MAX_SENDERS	  16 /**< allowed sender IDs per customer */
#define CP_MAX_IPRANGES	  8  /**< allowed source prefixes per customer */
#define CP_MAX_EXCEPTIONS 16 /**< rule exceptions per customer */
#define CP_ACTOR_MAX	  32
#define CP_REASON_MAX	  128
#define CP_SIGNER_MAX	  64

/** Customer standing, ordered by severity. */
enum cp_standing {
	CP_STANDING_ACTIVE = 0,	    /**< pass */
	CP_STANDING_WARNED = 1,	    /**< pass, on notice */
	CP_STANDING_SUSPENDED = 2,  /**< binds refused, submits refused */
	CP_STANDING_TERMINATED = 3, /**< final unless an operator forces */
};

/** Verdict categories carried by events and used by policy thresholds.
 *  The dataplane maps its rule categories onto these. */
enum cp_category {
	CP_CAT_NONE = 0,
	CP_CAT_SPAM = 1,
	CP_CAT_FRAUD = 2,	   /**< phishing, scams */
	CP_CAT_HARASSMENT = 3,	   /**< per-recipient velocity, abusive content */
	CP_CAT_SPOOFING = 4,	   /**< forged or disallowed sender ID */
	CP_CAT_FLOOD = 5,	   /**< rate limit */
	CP_CAT_BULK = 6,	   /**< bulk without opt-in flag */
	CP_CAT_OPTOUT = 7,	   /**< submit to a subscriber who opted out */
	CP_CAT_SUSPENDED = 8,	   /**< customer not in good standing */
	CP_CAT_BIND = 9,	   /**< bind refused (IP, count, attempts) */
	CP_CAT_UNINSPECTABLE = 10, /**< TLS / not SMPP on an SMPP port */
	CP_CAT_COMPLAINTS = 11,	   /**< complaint threshold crossed (controld only) */
	CP_CAT_COUNT
};

/** Name of a category ("spam", "fraud", ...); "unknown" when out of range. */
const char *cp_category_name(unsigned cat);
/** Parse a category name. @return the category or -1. */
int cp_category_parse(const char *name);
/** Name of a standing ("active", ...); "unknown" when out of range. */
const char *cp_standing_name(unsigned standing);
/** Parse a standing name. @return the standing or -1. */
int cp_standing_parse(const char *name);

/** Customer flags. */
#define CP_CUST_F_BULK_OPTIN 0x01 /**< may send bulk (has opt-in evidence) */
#define CP_CUST_F_GSM_PACKED 0x02 /**< data_coding 0 arrives packed */
#define CP_CUST_F_REVIEW     0x04 /**< automatic suspension awaits operator */

/** An allowed source prefix for binds (IPv4 as ::ffff:a.b.c.d/96+len). */
struct cp_ip_range {
	uint8_t addr[16];   /**< network order, IPv4-mapped for IPv4 */
	uint8_t prefix_len; /**< 0..128, on the mapped address */
	uint8_t pad[3];
};
_Static_assert(sizeof(struct cp_ip_range) == 20, "cp_ip_range layout");

/**
 * A customer (key: system_id bytes, no NUL, 1..15 octets).
 * Zero in a rate or count field means "unlimited".
 */
struct cp_customer_rec {
	uint16_t schema;		  /**< CP_SCHEMA_VERSION at write time */
	uint16_t size;			  /**< sizeof(struct cp_customer_rec) at write time */
	uint8_t standing;		  /**< enum cp_standing */
	uint8_t flags;			  /**< CP_CUST_F_* */
	uint8_t n_senders;		  /**< used entries of senders[] (0 = any sender) */
	uint8_t n_ipranges;		  /**< used entries of ipranges[] (0 = any source) */
	uint8_t n_exceptions;		  /**< used entries of exempt_rules[] */
	uint8_t pending_standing;	  /**< review mode: proposed standing, else = standing */
	uint16_t max_binds;		  /**< concurrent binds */
	uint32_t binds_per_min;		  /**< bind attempts per minute */
	uint32_t rate_per_sec;		  /**< submits per second, whole customer */
	uint32_t rate_burst;		  /**< token bucket depth, whole customer */
	uint32_t sender_rate_per_sec;	  /**< submits per second per sender ID */
	uint32_t sender_burst;		  /**< token bucket depth per sender ID */
	uint32_t exempt_categories;	  /**< bit (1 << cp_category): never blocked for */
	uint32_t violations;		  /**< lifetime violation count */
	uint64_t created;		  /**< unix seconds */
	uint64_t standing_since;	  /**< unix seconds */
	uint64_t warn_expires;		  /**< unix seconds; 0 = no expiry pending */
	char system_id[CP_SYSTEM_ID_MAX]; /**< same bytes as the key */
	char senders[CP_MAX_SENDERS][CP_ADDR_MAX];    /**< allowed sender IDs */
	struct cp_ip_range ipranges[CP_MAX_IPRANGES]; /**< allowed bind sources */
	uint32_t exempt_rules[CP_MAX_EXCEPTIONS];     /**< rule ids never blocked */
};
_Static_assert(sizeof(struct cp_customer_rec) == 64 + 16 + 16 * 24 + 8 * 20 + 16 * 4,
	       "cp_customer_rec layout");

/** A violation (key: u64 big-endian id, increasing). */
struct cp_violation_rec {
	uint16_t schema;
	uint8_t category; /**< enum cp_category */
	uint8_t source;	  /**< CP_SRC_* */
	uint32_t rule_id;
	uint64_t time;	     /**< unix seconds */
	uint64_t message_id; /**< messages/evidence key, 0 if none */
	char customer[CP_SYSTEM_ID_MAX];
};
_Static_assert(sizeof(struct cp_violation_rec) == 40, "cp_violation_rec layout");

#define CP_SRC_DATAPLANE 1
#define CP_SRC_OPERATOR	 2
#define CP_SRC_POLICY	 3

/** A complaint (key: u64 big-endian id). */
struct cp_complaint_rec {
	uint16_t schema;
	uint16_t text_len; /**< used bytes of text[] */
	uint32_t pad0;
	uint64_t time;	     /**< unix seconds the complaint was received */
	uint64_t message_id; /**< matching evidence, 0 if none found */
	char customer[CP_SYSTEM_ID_MAX];
	char msisdn[CP_ADDR_MAX]; /**< the complaining subscriber */
	char source[16];	  /**< "7726", "email", ... */
	char text[160];		  /**< what the subscriber forwarded */
};
_Static_assert(sizeof(struct cp_complaint_rec) == 24 + 16 + 24 + 16 + 160,
	       "cp_complaint_rec layout");

/** Message log verdicts. */
enum cp_verdict {
	CP_VERDICT_PASS = 0,
	CP_VERDICT_BLOCK = 1,
	CP_VERDICT_MONITOR = 2, /**< would block; monitor mode passed it */
	CP_VERDICT_THROTTLE = 3,
};

/** One message the dataplane saw (key: u64 big-endian id, time ordered). */
struct cp_message_rec {
	uint16_t schema;
	uint8_t verdict;  /**< enum cp_verdict */
	uint8_t category; /**< enum cp_category */
	uint32_t rule_id;
	uint64_t time_ms;	 /**< unix milliseconds */
	uint64_t content_hash;	 /**< of the decoded text */
	uint32_t command_status; /**< SMPP status answered, 0 if passed */
	uint8_t has_evidence;	 /**< evidence DB holds the text under the same key */
	uint8_t dest_masked;	 /**< destination[] is masked */
	uint8_t data_coding;
	uint8_t parts;
	uint64_t dest_hash; /**< FNV-1a 64 of the clear destination (index key) */
	char customer[CP_SYSTEM_ID_MAX];
	char sender[CP_ADDR_MAX];
	char destination[CP_ADDR_MAX];
};
_Static_assert(sizeof(struct cp_message_rec) == 40 + 16 + 24 + 24, "cp_message_rec layout");

/** Evidence header; followed in the same value by text_len bytes of UTF-8
 *  and then the destination in clear (dest_len bytes) for complaint lookup. */
struct cp_evidence_rec {
	uint16_t schema;
	uint16_t text_len;
	uint8_t dest_len;
	uint8_t pad[3];
	uint64_t time_ms;
};
_Static_assert(sizeof(struct cp_evidence_rec) == 16, "cp_evidence_rec layout");

/** Opt-out key: fixed width so a customer's opt-outs are one key range.
 *  sender all NUL = the opt-out covers every sender of the customer. */
struct cp_optout_key {
	char customer[CP_SYSTEM_ID_MAX];
	char subscriber[CP_ADDR_MAX];
	char sender[CP_ADDR_MAX];
};
_Static_assert(sizeof(struct cp_optout_key) == 64, "cp_optout_key layout");

struct cp_optout_rec {
	uint16_t schema;
	uint8_t source; /**< CP_SRC_DATAPLANE (STOP keyword) or CP_SRC_OPERATOR */
	uint8_t pad[5];
	uint64_t time; /**< unix seconds */
};
_Static_assert(sizeof(struct cp_optout_rec) == 16, "cp_optout_rec layout");

/** Ruleset header; followed in the same value by blob_len bytes of compiled
 *  ruleset (the patterns library's serialised form) and src_len bytes of the
 *  source bundle it was compiled from. */
struct cp_ruleset_rec {
	uint16_t schema;
	uint16_t flags;
	uint32_t blob_len;
	uint32_t src_len;
	uint32_t n_rules;
	uint64_t version;	    /**< signed version of the bundle */
	uint64_t published;	    /**< unix seconds */
	uint8_t src_sha256[32];	    /**< of the source bundle */
	char signer[CP_SIGNER_MAX]; /**< key name, "" when unsigned */
};
_Static_assert(sizeof(struct cp_ruleset_rec) == 32 + 32 + 64, "cp_ruleset_rec layout");

/** A standing change (key: u64 big-endian id). */
struct cp_history_rec {
	uint16_t schema;
	uint8_t from;	  /**< enum cp_standing */
	uint8_t to;	  /**< enum cp_standing */
	uint8_t source;	  /**< CP_SRC_OPERATOR or CP_SRC_POLICY */
	uint8_t pending;  /**< 1 = proposed, awaiting review */
	uint8_t category; /**< triggering category (policy changes) */
	uint8_t pad;
	uint32_t n_facts; /**< how many facts crossed the threshold */
	uint32_t pad1;
	uint64_t time;	     /**< unix seconds */
	uint64_t first_fact; /**< first violation id of the window, 0 if none */
	uint64_t last_fact;  /**< last violation id of the window */
	char customer[CP_SYSTEM_ID_MAX];
	char actor[CP_ACTOR_MAX]; /**< "policy" or the operator's name */
	char reason[CP_REASON_MAX];
};
_Static_assert(sizeof(struct cp_history_rec) == 40 + 16 + 32 + 128, "cp_history_rec layout");

/* ------------------------------------------------------------------------- */
/* Read API (dataplane main lcore, smsfwctl, tests)                          */
/* ------------------------------------------------------------------------- */

/** Read-only handle on the store. Not for use from worker lcores. */
struct cp_reader;

/**
 * Open the store at @p dir (the directory holding data.mdb) read-only with
 * MDB_RDONLY|MDB_NOTLS. The store's schema version must not be newer than
 * CP_SCHEMA_VERSION.
 * @return CP_OK; CP_ERR_NOSTORE when the directory has no store;
 *         CP_ERR_SCHEMA when the store is newer than this build;
 *         CP_ERR_STORE on other LMDB errors; CP_ERR_NOMEM.
 */
int cp_reader_open(const char *dir, struct cp_reader **out);

/** Close a reader (NULL is fine). */
void cp_reader_close(struct cp_reader *r);

/**
 * Read the generation counter. A value different from the last one seen
 * means customers, opt-outs or the current ruleset changed.
 * @return CP_OK or CP_ERR_STORE.
 */
int cp_reader_generation(struct cp_reader *r, uint64_t *gen);

/** Visitor for customers; return non-zero to stop the iteration early. */
typedef int (*cp_customer_fn)(const struct cp_customer_rec *rec, void *arg);
/** Visitor for opt-outs; return non-zero to stop the iteration early. */
typedef int (*cp_optout_fn)(const struct cp_optout_key *key, const struct cp_optout_rec *rec,
			    void *arg);

/**
 * Visit every customer inside one read transaction, then end it. @p gen
 * (optional) receives the generation read in the same transaction, so the
 * caller's snapshot is labelled consistently. Records of an older schema are
 * upgraded in a copy before the visitor sees them. The visitor must not
 * block: it copies what it needs.
 * @return CP_OK; the visitor's non-zero value when it stopped early (> 0);
 *         CP_ERR_SCHEMA for a record written by a newer build;
 *         CP_ERR_FORMAT for a truncated record; CP_ERR_STORE.
 */
int cp_reader_customers_each(struct cp_reader *r, cp_customer_fn fn, void *arg, uint64_t *gen);

/**
 * Look up one customer by system_id (bytes, no NUL needed).
 * @return CP_OK; CP_ERR_NOTFOUND; CP_ERR_INVAL (empty or too long id);
 *         CP_ERR_SCHEMA; CP_ERR_FORMAT; CP_ERR_STORE.
 */
int cp_reader_customer_get(struct cp_reader *r, const char *system_id, size_t len,
			   struct cp_customer_rec *out);

/**
 * Visit every opt-out in one read transaction (see cp_reader_customers_each).
 * @return as cp_reader_customers_each.
 */
int cp_reader_optouts_each(struct cp_reader *r, cp_optout_fn fn, void *arg, uint64_t *gen);

/**
 * Copy the current compiled ruleset out of the store. On CP_OK, *blob is a
 * malloc'd copy of blob_len bytes the caller frees, and *hdr (optional) the
 * record header.
 * @return CP_OK; CP_ERR_NOTFOUND when no ruleset was ever published;
 *         CP_ERR_SCHEMA; CP_ERR_FORMAT; CP_ERR_NOMEM; CP_ERR_STORE.
 */
int cp_reader_ruleset_load(struct cp_reader *r, struct cp_ruleset_rec *hdr, void **blob,
			   size_t *blob_len);

/* ------------------------------------------------------------------------- */
/* Event wire format (dataplane <-> controld, Unix stream socket)            */
/* ------------------------------------------------------------------------- */
/*
 * The dataplane connects to controld's event socket (config [general]
 * event_socket) and both sides exchange BATCHES:
 *
 *   batch header, 24 bytes, little-endian:
 *     u32 magic   = CP_EV_MAGIC ("SFEV")
 *     u16 version = CP_EV_VERSION
 *     u16 flags   = 0
 *     u32 length  = total bytes of the batch, header included
 *                   (CP_EV_HDR_LEN .. CP_EV_BATCH_MAX)
 *     u32 count   = number of records
 *     u32 crc     = CRC-32C over the bytes after the header
 *     u32 reserved = 0
 *   then `count` records, each:
 *     u16 type    (enum cp_ev_type)
 *     u16 length  record bytes, this 12-byte record header included
 *     u64 seq     (facts: sequence; ACK: acked seq; GENERATION: generation;
 *                  otherwise 0)
 *     ... type-specific body, all integers little-endian, strings as
 *         u8 length + bytes (no NUL), text as u16 length + bytes:
 *     HELLO        u64 instance, u32 pid, u32 workers
 *     OBSERVATION, VIOLATION
 *                  u64 time_ms, u64 content_hash, u32 rule_id,
 *                  u32 command_status, u8 verdict, u8 category,
 *                  u8 data_coding, u8 parts, str customer (<=15),
 *                  str sender (<=20), str destination (<=20), text (<=4096)
 *     OPTOUT, OPTIN u64 time_ms, str customer, str subscriber, str sender
 *     STATS        8 x u64 in the order of struct cp_ev_stats
 *     STATS_EXT    u16 version (CP_EV_STATS_EXT_VERSION), u16 count,
 *                  u32 reserved = 0, then count entries of 16 bytes:
 *                  u16 id (enum cp_stat_id), u16 index (worker or port
 *                  id, 0 for whole-dataplane values), u32 reserved = 0,
 *                  u64 value; count <= CP_EV_STATS_EXT_MAX
 *     ACK, GENERATION  no body
 *
 * Dataplane -> controld: HELLO first (instance id, so fact sequences survive
 * a dataplane restart and are ingested exactly once), then OBSERVATION
 * records (message log and counters; may be dropped under overload and the
 * number dropped is reported in STATS) and FACT records (VIOLATION, OPTOUT,
 * OPTIN; never dropped: the dataplane spools them until acknowledged).
 * Every fact carries a sequence number, strictly increasing per instance.
 *
 * Controld -> dataplane: ACK (highest fact sequence durably committed; all
 * facts up to it may be dropped from the spool; cumulative) and GENERATION
 * ("look again at the store, generation G is committed"). Right after HELLO
 * controld sends ACK with the instance's committed sequence (when it has
 * one) and GENERATION, so a fresh dataplane loads immediately and never
 * reuses a sequence number. cp_evclient.h implements the dataplane side.
 *
 * STATS_EXT (added after format version 1 shipped, so the batch version
 * did not change) carries the counters STATS has no room for: per worker,
 * per port, flow-table use, the spool and the generation the dataplane has
 * applied. A dataplane sends STATS and then STATS_EXT in the same batch
 * about once a second; a controld that predates STATS_EXT skips it as an
 * unknown type. Entry ids are only ever added (a controld skips ids it does
 * not know); CP_EV_STATS_EXT_VERSION changes only if the entry layout does,
 * and a controld skips a STATS_EXT record of a version it does not know.
 *
 * Unknown record types in a valid batch are skipped (forward compatibility);
 * a bad magic, version, length or checksum closes the connection.
 */

#define CP_EV_MAGIC	  0x56454653u /* "SFEV" read as little-endian u32 */
#define CP_EV_VERSION	  1
#define CP_EV_HDR_LEN	  24
#define CP_EV_REC_HDR_LEN 12
#define CP_EV_BATCH_MAX	  65536 /**< bytes, header included */
#define CP_EV_TEXT_MAX	  4096	/**< evidence text bytes kept per message */

enum cp_ev_type {
	CP_EV_HELLO = 1,       /**< dp -> cd: instance, pid, last-spooled seq */
	CP_EV_OBSERVATION = 2, /**< dp -> cd: message record, droppable */
	CP_EV_VIOLATION = 3,   /**< dp -> cd: fact, message record + evidence */
	CP_EV_OPTOUT = 4,      /**< dp -> cd: fact */
	CP_EV_OPTIN = 5,       /**< dp -> cd: fact */
	CP_EV_STATS = 6,       /**< dp -> cd: counters snapshot */
	CP_EV_STATS_EXT = 7,   /**< dp -> cd: per-worker/port counters, gauges */
	CP_EV_ACK = 16,	       /**< cd -> dp: facts <= seq committed */
	CP_EV_GENERATION = 17, /**< cd -> dp: look again at generation */
};

/** Is this type a fact (acknowledged, never dropped)? */
static inline bool cp_ev_is_fact(unsigned type)
{
	return type == CP_EV_VIOLATION || type == CP_EV_OPTOUT || type == CP_EV_OPTIN;
}

/** A byte view: pointer into a buffer plus length; not NUL-terminated. */
struct cp_view {
	const uint8_t *p;
	uint16_t len;
};

/** Message body shared by OBSERVATION and VIOLATION. */
struct cp_ev_message {
	uint64_t time_ms; /**< unix milliseconds */
	uint64_t content_hash;
	uint32_t rule_id;	 /**< 0 = no rule */
	uint32_t command_status; /**< SMPP status answered (0 = passed) */
	uint8_t verdict;	 /**< enum cp_verdict */
	uint8_t category;	 /**< enum cp_category */
	uint8_t data_coding;
	uint8_t parts;		    /**< concatenated parts, 1 for single */
	struct cp_view customer;    /**< system_id, <= 15 */
	struct cp_view sender;	    /**< source_addr, <= 20 */
	struct cp_view destination; /**< destination_addr in clear, <= 20 */
	struct cp_view text;	    /**< UTF-8, <= CP_EV_TEXT_MAX; may be empty */
};

/** OPTOUT / OPTIN body. */
struct cp_ev_optout {
	uint64_t time_ms;
	struct cp_view customer;   /**< whose session received the deliver_sm */
	struct cp_view subscriber; /**< the subscriber who sent STOP */
	struct cp_view sender;	   /**< empty = all senders of the customer */
};

/** HELLO body. */
struct cp_ev_hello {
	uint64_t instance; /**< random per spool (survives dataplane restarts) */
	uint32_t pid;
	uint32_t workers;
};

/** STATS body: counters since dataplane start. */
struct cp_ev_stats {
	uint64_t rx_pdus, passed, blocked, monitored, throttled;
	uint64_t obs_dropped; /**< observations dropped before reaching controld */
	uint64_t flows, errors;
};

/** Layout version of STATS_EXT entries. */
#define CP_EV_STATS_EXT_VERSION 1
/** Most entries in one STATS_EXT record. */
#define CP_EV_STATS_EXT_MAX 1024
/** Bytes of one STATS_EXT entry on the wire. */
#define CP_EV_STAT_LEN 16

/**
 * STATS_EXT entry ids. "counter" values only grow while the dataplane runs
 * (they restart from 0 with it); "gauge" values are the current level.
 * The index is the worker id for CP_STAT_WORKER_*, the DPDK port id for
 * CP_STAT_PORT_*, and 0 for the rest.
 */
enum cp_stat_id {
	CP_STAT_WORKER_RX_PACKETS = 1,	 /**< counter: frames a worker received */
	CP_STAT_WORKER_TX_PACKETS = 2,	 /**< counter: frames a worker sent */
	CP_STAT_WORKER_DROPPED = 3,	 /**< counter: frames a worker dropped (fail-closed, tx full) */
	CP_STAT_WORKER_PDUS = 4,	 /**< counter: SMPP PDUs a worker parsed */
	CP_STAT_WORKER_FLOWS = 5,	 /**< gauge: flows in the worker's table */
	CP_STAT_WORKER_FLOWS_MAX = 6,	 /**< gauge: capacity of the worker's table */
	CP_STAT_WORKER_TABLE_FULL = 7,	 /**< counter: flows refused, table full */
	CP_STAT_PORT_RX_PACKETS = 32,	 /**< counter: rte_eth_stats ipackets */
	CP_STAT_PORT_TX_PACKETS = 33,	 /**< counter: opackets */
	CP_STAT_PORT_RX_BYTES = 34,	 /**< counter: ibytes */
	CP_STAT_PORT_TX_BYTES = 35,	 /**< counter: obytes */
	CP_STAT_PORT_RX_MISSED = 36,	 /**< counter: imissed (rx queue full) */
	CP_STAT_PORT_RX_ERRORS = 37,	 /**< counter: ierrors */
	CP_STAT_PORT_TX_ERRORS = 38,	 /**< counter: oerrors */
	CP_STAT_SPOOL_FACTS = 64,	 /**< gauge: facts spooled, not yet acknowledged */
	CP_STAT_SPOOL_BYTES = 65,	 /**< gauge: bytes of the spool */
	CP_STAT_SPOOL_REFUSED = 66,	 /**< counter: facts refused, spool full */
	CP_STAT_OBS_SENT = 67,		 /**< counter: observations sent to controld */
	CP_STAT_GENERATION_APPLIED = 68, /**< gauge: store generation the workers now use */
	CP_STAT_GENERATION_APPLIED_MS = 69, /**< gauge: unix ms when that generation was
					       published to the workers (RCU done) */
	CP_STAT_RULESET_VERSION = 70,	 /**< gauge: ruleset version the workers use */
	CP_STAT_CONCAT_OPEN = 71,	 /**< gauge: concatenated messages in flight */
};

/** One STATS_EXT entry. */
struct cp_stat {
	uint16_t id;	/**< enum cp_stat_id */
	uint16_t index; /**< worker or port id; 0 otherwise */
	uint64_t value;
};

/** STATS_EXT body. Encoding reads @c count entries from @c entries; a
 *  decoded record leaves @c entries NULL and @c raw pointing at the wire
 *  entries (read them with cp_ev_stat_get). */
struct cp_ev_stats_ext {
	uint16_t version; /**< CP_EV_STATS_EXT_VERSION (set by the encoder) */
	uint16_t count;
	const struct cp_stat *entries; /**< encode */
	const uint8_t *raw;	       /**< decode: count * CP_EV_STAT_LEN bytes */
};

/** One decoded (or to-be-encoded) record. Views point into the batch. */
struct cp_event {
	uint16_t type; /**< enum cp_ev_type */
	uint64_t seq;  /**< facts: sequence; ACK: acked seq; GENERATION: generation */
	union {
		struct cp_ev_message msg;   /**< OBSERVATION, VIOLATION */
		struct cp_ev_optout optout; /**< OPTOUT, OPTIN */
		struct cp_ev_hello hello;   /**< HELLO */
		struct cp_ev_stats stats;   /**< STATS */
		struct cp_ev_stats_ext ext; /**< STATS_EXT */
	} u;
};

/** Batch builder: a caller-owned buffer of CP_EV_BATCH_MAX bytes. */
struct cp_ev_batch {
	uint8_t *buf;	/**< caller's buffer */
	uint32_t cap;	/**< its size (CP_EV_HDR_LEN .. CP_EV_BATCH_MAX) */
	uint32_t len;	/**< bytes used, header included */
	uint32_t count; /**< records appended */
};

/**
 * Start a batch in @p buf of @p cap bytes.
 * @return CP_OK; CP_ERR_INVAL when cap is outside CP_EV_HDR_LEN..CP_EV_BATCH_MAX.
 */
int cp_ev_batch_init(struct cp_ev_batch *b, uint8_t *buf, uint32_t cap);

/**
 * Append one record. Views longer than their field's bound are refused,
 * not truncated.
 * @return CP_OK; CP_ERR_TOOBIG when the batch is full (finish and send it,
 *         then start a new one); CP_ERR_INVAL for an unknown type or a view
 *         over its bound.
 */
int cp_ev_batch_add(struct cp_ev_batch *b, const struct cp_event *ev);

/**
 * Write the header (length, count, checksum). The batch is then
 * buf[0..len) and ready to send.
 * @return the batch length in bytes (> 0).
 */
uint32_t cp_ev_batch_finish(struct cp_ev_batch *b);

/**
 * Check a batch header at the front of @p buf (@p len bytes available).
 * @param total receives the batch length once the header is complete.
 * @return CP_OK when the whole batch (total bytes) is present and its
 *         checksum is right; CP_AGAIN when more bytes are needed (*total
 *         says how many once known); CP_ERR_FORMAT (bad magic or length);
 *         CP_ERR_VERSION; CP_ERR_CHECKSUM.
 */
int cp_ev_batch_check(const uint8_t *buf, size_t len, uint32_t *total);

/** Iterator over a checked batch. */
struct cp_ev_iter {
	const uint8_t *p;
	uint32_t left;
	uint32_t count;
};

/** Start iterating a batch already accepted by cp_ev_batch_check. */
void cp_ev_iter_init(struct cp_ev_iter *it, const uint8_t *batch, uint32_t total);

/**
 * Decode the next record into @p ev (views into the batch).
 * @return CP_OK; CP_AGAIN at the end; CP_ERR_FORMAT when a record is
 *         malformed (the rest of the batch is unusable); unknown types come
 *         back with ev->type set and nothing else filled (skip them).
 */
int cp_ev_iter_next(struct cp_ev_iter *it, struct cp_event *ev);

/**
 * Entry @p i of a decoded STATS_EXT record (@p ev->type == CP_EV_STATS_EXT).
 * @return CP_OK; CP_ERR_INVAL when @p i is out of range or @p ev is not a
 *         decoded STATS_EXT record.
 */
int cp_ev_stat_get(const struct cp_event *ev, unsigned i, struct cp_stat *out);

/** CRC-32C (Castagnoli) of @p len bytes, as used by the batch header. */
uint32_t cp_crc32c(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* SMSFW_CP_H */
