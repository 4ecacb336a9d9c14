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
	uint64_t evictions;
};

#define DP_CT_PROBE 8

struct dp_cslot *dp_ct_get(struct dp_ctable *t, uint64_t key, uint64_t now_ms, bool create);
void dp_ct_del(struct dp_ctable *t, uint64_t key);

/* A concatenated message in flight: one Hyperscan stream. */
struct dp_concat {
	uint64_t key;        /**< customer + sender + destination + reference; 0 = free */
	uint64_t t_ms;       /**< last part */
	const struct dp_rules *rules; /**< the ruleset the message started with */
	struct pat_stream *st;
	uint8_t total, seen;
	uint8_t blocked;     /**< a part already completed a match */
	uint8_t pad;
	uint32_t rule_num;
	uint8_t category;
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
	struct dp_ctable frags;  /**< fragmented SMPP packets (addresses + id) */
	struct dp_concat *concat;
	uint8_t *concat_mem;     /**< concat_max streams of stream_cap bytes */
	size_t stream_cap;
	uint32_t concat_cursor;
	/* scratch buffers for the message being judged */
	uint8_t text[8192];
	uint8_t norm[8192];
};

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
