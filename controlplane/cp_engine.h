/*
 * cp_engine.h — the AUP policy engine and everything controld writes:
 * customers, standing changes, violations, complaints, the message log and
 * evidence, opt-outs, event ingestion. Private to controlplane/ and its
 * tests. Every state change goes through cp_store_write (one durable LMDB
 * transaction) and bumps the generation when the dataplane must look.
 *
 * Time comes from an injectable clock (unix seconds) so tests can walk
 * windows to the second.
 */
#ifndef SMSFW_CP_ENGINE_H
#define SMSFW_CP_ENGINE_H

#include "cp.h"
#include "cp_store.h"
#include "smsfw_conf.h"

#define CP_DAY 86400u

/** Policy thresholds (from [policy]). Zero thresholds are off. */
struct cp_policy_cfg {
	uint32_t complaints_30d;	   /**< violation when count > this in 30 d */
	uint32_t complaints_90d;	   /**< violation when count > this in 90 d */
	uint64_t window;		   /**< seconds, default per-category block window */
	uint64_t window_cat[CP_CAT_COUNT]; /**< per-category window (0 = window) */
	uint32_t warn[CP_CAT_COUNT];	   /**< count within window that warns */
	uint32_t suspend[CP_CAT_COUNT];	   /**< count within window that suspends */
	uint64_t warning_expiry;	   /**< seconds */
	bool review;			   /**< automatic suspensions wait for an operator */
	bool evidence_all;		   /**< keep text of every message */
	bool mask_destinations;
	uint64_t messages_retention; /**< seconds */
	uint64_t evidence_retention; /**< seconds */
};

/** Fill @p p from a loaded configuration. */
void cp_policy_cfg_from_conf(struct cp_policy_cfg *p, const struct smsfw_conf *c);

/** Clock: unix seconds. */
typedef uint64_t (*cp_clock_fn)(void *arg);

/** What a notice reports (SIEM export, metrics). */
enum cp_notice_kind {
	CP_NOTICE_STANDING = 1,	 /**< a standing change or a review proposal */
	CP_NOTICE_VIOLATION = 2, /**< a violation recorded */
	CP_NOTICE_COMPLAINT = 3, /**< a complaint recorded */
	CP_NOTICE_OPTOUT = 4,	 /**< an opt-out added */
	CP_NOTICE_OPTIN = 5,	 /**< an opt-out removed (opt-in, operator) */
	CP_NOTICE_RULES = 6,	 /**< a ruleset published or rolled back */
};

/**
 * One committed fact worth telling a SIEM about. Text fields are
 * NUL-terminated copies (customer ids come from the wire: the exporters
 * sanitise them). Which fields are set depends on @c kind:
 *  STANDING  id (history), customer, from, to, source, pending, category,
 *            n_facts, first_fact, last_fact, actor, reason
 *  VIOLATION id, customer, category, rule_id, source, message_id, exempt,
 *            sender, subscriber (masked as configured), verdict
 *  COMPLAINT id, customer, subscriber (masked as configured), actor
 *            (complaint source), message_id
 *  OPTOUT / OPTIN  customer, subscriber (masked), sender, source
 *  RULES     version, previous, rollback, n_rules, signer, sha256, actor, reason
 */
struct cp_notice {
	uint8_t kind; /**< enum cp_notice_kind */
	uint8_t source; /**< CP_SRC_* */
	uint8_t category;
	uint8_t from, to;
	uint8_t verdict;
	bool pending, exempt, rollback;
	uint32_t rule_id, n_facts, n_rules;
	uint64_t id;
	uint64_t time_ms; /**< unix milliseconds of the fact */
	uint64_t message_id, first_fact, last_fact;
	uint64_t version, previous;
	char customer[CP_SYSTEM_ID_MAX];
	char subscriber[CP_ADDR_MAX];
	char sender[CP_ADDR_MAX];
	char actor[CP_ACTOR_MAX];
	char reason[CP_REASON_MAX];
	char signer[CP_SIGNER_MAX];
	char sha256[65];
};

/** Receives each notice after its transaction committed, in order. */
typedef void (*cp_notice_fn)(void *arg, const struct cp_notice *n);

/** One (rule, category, verdict) message count. */
struct cp_rule_hits {
	uint32_t rule_id; /**< 0 = slot free */
	uint8_t category, verdict;
	uint64_t n;
};

/** Distinct (rule, category, verdict) triples counted; the rest overflow. */
#define CP_RULE_HITS_MAX 1024

struct cp_engine {
	struct cp_store *store;
	struct cp_policy_cfg cfg;
	cp_clock_fn clock;
	void *clock_arg;
	/* counters since start (controld status) */
	uint64_t ingested_obs, ingested_facts, duplicate_facts, bad_events;
	uint64_t by_category[CP_CAT_COUNT];
	uint64_t blocked, passed;
	struct cp_ev_stats dp_stats; /**< last STATS from the dataplane */
	/** messages committed to the log, by verdict and category */
	uint64_t msgs[4][CP_CAT_COUNT];
	/** messages with a rule id, by rule, category and verdict (hash) */
	struct cp_rule_hits hits[CP_RULE_HITS_MAX];
	uint32_t n_hits;
	uint64_t hits_overflow; /**< messages whose triple found no free slot */
	uint64_t ingest_commits;
	uint64_t ingest_commit_us; /**< sum of durable commit times */
	/* notices queued by the running transaction (see cp_engine_write) */
	cp_notice_fn notify;
	void *notify_arg;
	struct cp_notice *pend;
	size_t n_pend, cap_pend;
	uint64_t notices_lost; /**< could not be queued (no memory) */
};

/** Initialise an engine on an open store. @p clock NULL = real time. */
void cp_engine_init(struct cp_engine *e, struct cp_store *s, const struct cp_policy_cfg *cfg,
		    cp_clock_fn clock, void *clock_arg);
uint64_t cp_engine_now(const struct cp_engine *e);

/** Free what the engine allocated (queued notices); the store stays open. */
void cp_engine_fini(struct cp_engine *e);

/** Receive a notice for every committed standing change, violation,
 *  complaint, opt-out/opt-in and rules publish/rollback (NULL = none). */
void cp_engine_set_notify(struct cp_engine *e, cp_notice_fn fn, void *arg);

/**
 * cp_store_write for engine operations: notices queued by @p fn (with
 * cp_engine_notice) are delivered to the notify callback once the
 * transaction committed, and dropped when it aborted or is run again.
 * @return as cp_store_write.
 */
int cp_engine_write(struct cp_engine *e, cp_store_fn fn, void *arg);

/** Queue a notice inside a cp_engine_write transaction (no-op without a
 *  notify callback). */
void cp_engine_notice(struct cp_engine *e, const struct cp_notice *n);

/** Which customer fields a patch sets. */
#define CP_PATCH_RATE	       0x001
#define CP_PATCH_BURST	       0x002
#define CP_PATCH_SENDER_RATE   0x004
#define CP_PATCH_SENDER_BURST  0x008
#define CP_PATCH_SENDERS       0x010
#define CP_PATCH_IPRANGES      0x020
#define CP_PATCH_MAX_BINDS     0x040
#define CP_PATCH_BINDS_PER_MIN 0x080
#define CP_PATCH_BULK	       0x100
#define CP_PATCH_EXEMPT_RULES  0x200
#define CP_PATCH_EXEMPT_CATS   0x400

/** Fields to set on a customer; only those named in @c mask are applied. */
struct cp_customer_patch {
	uint32_t mask;
	struct cp_customer_rec v; /**< values (senders, ranges, exceptions incl. counts) */
};

/** Add a customer (defaults for every field not in @p patch).
 *  @return CP_OK; CP_ERR_EXISTS; CP_ERR_INVAL (bad id); CP_ERR_STORE. */
int cp_engine_customer_add(struct cp_engine *e, const char *id,
			   const struct cp_customer_patch *patch);
/** Change fields of a customer. @return CP_OK; CP_ERR_NOTFOUND; CP_ERR_STORE. */
int cp_engine_customer_set(struct cp_engine *e, const char *id,
			   const struct cp_customer_patch *patch);

/**
 * An operator changes a customer's standing by hand. @p reason must not be
 * empty and is at most CP_REASON_MAX - 1 bytes, @p actor at most
 * CP_ACTOR_MAX - 1 (longer ones are refused, not cut). Leaving TERMINATED
 * needs @p force. Setting the standing it already has changes nothing
 * (*changed = false). An operator suspend confirms a suspension pending
 * review; resume rejects it.
 * @return CP_OK; CP_ERR_NOTFOUND; CP_ERR_INVAL (no reason, reason or actor
 *         too long, bad standing);
 *         CP_ERR_REFUSED (terminated and not forced); CP_ERR_STORE.
 */
int cp_engine_set_standing(struct cp_engine *e, const char *id, enum cp_standing to,
			   const char *actor, const char *reason, bool force, bool *changed);

/**
 * Record a violation observed outside the dataplane (tests, operator import).
 * Applies the ladder as an ingested VIOLATION would.
 * @return CP_OK; CP_ERR_NOTFOUND (unknown customer); CP_ERR_INVAL; CP_ERR_STORE.
 */
int cp_engine_violation(struct cp_engine *e, const char *id, unsigned category, uint32_t rule_id,
			uint64_t *violation_id);

/** Bytes of complaint text and source a complaint record keeps. */
#define CP_COMPLAINT_TEXT_MAX	160 /* sizeof cp_complaint_rec.text */
#define CP_COMPLAINT_SOURCE_MAX 15  /* sizeof cp_complaint_rec.source - 1 */

/**
 * Add a complaint received now. Links it to the newest message from the
 * customer to that subscriber within the 7 days before (0 = none found).
 * Crossing the 30-day or 90-day threshold records a COMPLAINTS violation.
 * @return CP_OK; CP_ERR_NOTFOUND (customer); CP_ERR_INVAL (bad id, empty or
 *         too long msisdn, text over CP_COMPLAINT_TEXT_MAX bytes, source
 *         over CP_COMPLAINT_SOURCE_MAX: refused, not cut); CP_ERR_STORE.
 */
int cp_engine_complaint_add(struct cp_engine *e, const char *id, const char *msisdn,
			    const char *text, const char *source, uint64_t *complaint_id,
			    uint64_t *message_id);

/** Complaints of @p id within the last @p seconds (time > now - seconds). */
int cp_engine_complaints_count(struct cp_engine *e, const char *id, uint64_t seconds,
			       uint32_t *count);

/** Counted (non-exempt) violations of @p cat within the last @p seconds,
 *  stopping at @p limit. */
int cp_engine_violations_count(struct cp_engine *e, const char *id, unsigned cat, uint64_t seconds,
			       uint32_t limit, uint32_t *count);

/** Expire warnings whose time has come (warned -> active, recorded).
 *  @return number of customers changed, or a negative cp_status. */
int cp_engine_tick(struct cp_engine *e);

/** Opt-out by an operator (@p add false removes). Bumps the generation.
 *  @return CP_OK; CP_ERR_NOTFOUND (remove of an absent opt-out); CP_ERR_INVAL. */
int cp_engine_optout(struct cp_engine *e, const char *customer, const char *subscriber,
		     const char *sender, bool add);

/** Result of ingesting one or more event batches. */
struct cp_ingest_result {
	uint64_t max_fact_seq; /**< highest fact seq now committed (ACK it) */
	uint32_t observations, facts, duplicates, bad;
	bool generation_bumped;
};

/**
 * Ingest @p n checked batches from dataplane @p instance in ONE durable
 * transaction: message log, evidence, violations (with the ladder), opt-outs.
 * Facts at or below the instance's committed sequence are duplicates and
 * skipped (exactly-once across reconnects).
 * @return CP_OK or a cp_status; on error nothing was committed (do not ACK).
 */
int cp_engine_ingest(struct cp_engine *e, uint64_t instance, const uint8_t *const *batches,
		     const uint32_t *lens, size_t n, struct cp_ingest_result *res);

/** Highest fact sequence committed from dataplane @p instance (0 = none). */
int cp_engine_instance_seq(struct cp_engine *e, uint64_t instance, uint64_t *seq);

/** Delete messages and evidence past their retention. @return records
 *  deleted or a negative cp_status. */
int64_t cp_engine_purge(struct cp_engine *e);

/** Mask a destination for display: keep 4 leading and 2 trailing digits. */
void cp_mask_destination(const char *in, size_t len, char *out, size_t cap);

/** FNV-1a 64 of a destination (index key). */
uint64_t cp_dest_hash(const char *p, size_t len);

#endif
