/*
 * cp_engine.c — the AUP policy engine and controld's writes.
 *
 * Windows are half-open on the old side: a fact counts in a window of W
 * seconds at time `now` when its time is > now - W. A complaint exactly 30
 * days old therefore no longer counts in the 30-day window.
 *
 * Window counts use the per-customer indexes and stop at the threshold, so
 * one violation costs at most `threshold` cursor steps however many facts
 * the customer has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_engine.h"

static uint64_t real_clock(void *arg)
{
	(void)arg;
	return (uint64_t)time(NULL);
}

uint64_t cp_engine_now(const struct cp_engine *e)
{
	return e->clock(e->clock_arg);
}

void cp_engine_init(struct cp_engine *e, struct cp_store *s, const struct cp_policy_cfg *cfg,
		    cp_clock_fn clock, void *clock_arg)
{
	memset(e, 0, sizeof(*e));
	e->store = s;
	e->cfg = *cfg;
	e->clock = clock ? clock : real_clock;
	e->clock_arg = clock_arg;
}

void cp_engine_fini(struct cp_engine *e)
{
	free(e->pend);
	e->pend = NULL;
	e->n_pend = e->cap_pend = 0;
}

void cp_engine_set_notify(struct cp_engine *e, cp_notice_fn fn, void *arg)
{
	e->notify = fn;
	e->notify_arg = arg;
}

void cp_engine_notice(struct cp_engine *e, const struct cp_notice *n)
{
	if (!e->notify)
		return;
	if (e->n_pend == e->cap_pend) {
		size_t nc = e->cap_pend ? e->cap_pend * 2 : 64;
		struct cp_notice *np = realloc(e->pend, nc * sizeof(*np));
		if (!np) {
			e->notices_lost++;
			return;
		}
		e->pend = np;
		e->cap_pend = nc;
	}
	e->pend[e->n_pend++] = *n;
}

struct engine_txn {
	struct cp_engine *e;
	cp_store_fn fn;
	void *arg;
};

/* A transaction may run again after the map grew: what a previous run
 * queued is forgotten first. */
static int engine_txn_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct engine_txn *t = arg;

	t->e->n_pend = 0;
	return t->fn(s, txn, t->arg);
}

int cp_engine_write(struct cp_engine *e, cp_store_fn fn, void *arg)
{
	struct engine_txn t = {e, fn, arg};
	int rc = cp_store_write(e->store, engine_txn_fn, &t);

	if (rc == CP_OK && e->notify)
		for (size_t i = 0; i < e->n_pend; i++)
			e->notify(e->notify_arg, &e->pend[i]);
	e->n_pend = 0;
	return rc;
}

static void notice_str(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* A subscriber number for a notice, masked when the log masks them. */
static void notice_subscriber(const struct cp_engine *e, char out[CP_ADDR_MAX], const char *p,
			      size_t len)
{
	if (len >= CP_ADDR_MAX)
		len = CP_ADDR_MAX - 1;
	if (e->cfg.mask_destinations)
		cp_mask_destination(p, len, out, CP_ADDR_MAX);
	else
		notice_str(out, CP_ADDR_MAX, p, len);
}

void cp_policy_cfg_from_conf(struct cp_policy_cfg *p, const struct smsfw_conf *c)
{
#define I(k) ((uint32_t)smsfw_conf_int(c, SMSFW_CONF_policy_##k))
	memset(p, 0, sizeof(*p));
	p->complaints_30d = I(complaints_30d);
	p->complaints_90d = I(complaints_90d);
	p->window = (uint64_t)smsfw_conf_int(c, SMSFW_CONF_policy_window);
	p->warn[CP_CAT_FRAUD] = I(fraud_warn);
	p->suspend[CP_CAT_FRAUD] = I(fraud_suspend);
	p->warn[CP_CAT_SPAM] = I(spam_warn);
	p->suspend[CP_CAT_SPAM] = I(spam_suspend);
	p->warn[CP_CAT_HARASSMENT] = I(harassment_warn);
	p->suspend[CP_CAT_HARASSMENT] = I(harassment_suspend);
	p->warn[CP_CAT_SPOOFING] = I(spoofing_warn);
	p->suspend[CP_CAT_SPOOFING] = I(spoofing_suspend);
	p->warn[CP_CAT_FLOOD] = I(flood_warn);
	p->suspend[CP_CAT_FLOOD] = I(flood_suspend);
	p->warn[CP_CAT_BULK] = I(bulk_warn);
	p->suspend[CP_CAT_BULK] = I(bulk_suspend);
	p->window_cat[CP_CAT_FRAUD] = I(fraud_window);
	p->window_cat[CP_CAT_SPAM] = I(spam_window);
	p->window_cat[CP_CAT_HARASSMENT] = I(harassment_window);
	p->window_cat[CP_CAT_SPOOFING] = I(spoofing_window);
	p->window_cat[CP_CAT_FLOOD] = I(flood_window);
	p->window_cat[CP_CAT_BULK] = I(bulk_window);
	p->warn[CP_CAT_COMPLAINTS] = I(complaints_warn);
	p->suspend[CP_CAT_COMPLAINTS] = I(complaints_suspend);
	p->warning_expiry = (uint64_t)I(warning_expiry_days) * CP_DAY;
	p->review = smsfw_conf_bool(c, SMSFW_CONF_policy_review);
#undef I
	p->evidence_all = smsfw_conf_bool(c, SMSFW_CONF_controld_evidence_all);
	p->mask_destinations = smsfw_conf_bool(c, SMSFW_CONF_controld_mask_destinations);
	p->messages_retention =
	    (uint64_t)smsfw_conf_int(c, SMSFW_CONF_controld_messages_retention_days) * CP_DAY;
	p->evidence_retention =
	    (uint64_t)smsfw_conf_int(c, SMSFW_CONF_controld_evidence_retention_days) * CP_DAY;
}

uint64_t cp_dest_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void cp_mask_destination(const char *in, size_t len, char *out, size_t cap)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = (len > 6 && i >= 4 && i + 2 < len) ? 'x' : in[i];
	out[n] = 0;
}

/* ------------------------------------------------------------------------- */
/* Keys and window counts                                                    */
/* ------------------------------------------------------------------------- */

static void id_field(char out[CP_SYSTEM_ID_MAX], const char *id)
{
	cp_field_set(out, CP_SYSTEM_ID_MAX, id, strnlen(id, CP_SYSTEM_ID_MAX - 1));
}

/* Count index entries under @p prefix whose following u64 BE time is >
 * since and <= until, stopping at @p limit. Optionally return the first id
 * in range. */
static int count_since(struct cp_store *s, MDB_txn *txn, enum cp_db db, const uint8_t *prefix,
		       size_t plen, uint64_t since, uint64_t until, uint32_t limit,
		       uint32_t *count, uint64_t *first_id)
{
	uint8_t key[64];
	MDB_cursor *cur;
	MDB_val k = {plen + 8, key}, v;
	uint32_t n = 0;
	int rc;

	*count = 0;
	if (first_id)
		*first_id = 0;
	if (limit == 0)
		return CP_OK;
	memcpy(key, prefix, plen);
	cp_key_u64(key + plen, since + 1);
	if (mdb_cursor_open(txn, s->dbi[db], &cur))
		return CP_ERR_STORE;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < limit;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen + 16 || memcmp(k.mv_data, prefix, plen) != 0 ||
		    cp_key_get_u64((const uint8_t *)k.mv_data + plen) > until)
			break;
		if (n == 0 && first_id)
			*first_id = cp_key_get_u64((const uint8_t *)k.mv_data + plen + 8);
		n++;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return CP_ERR_STORE;
	*count = n;
	return CP_OK;
}

static int put_empty(struct cp_store *s, MDB_txn *txn, enum cp_db db, const uint8_t *key,
		     size_t klen)
{
	MDB_val k = {klen, (void *)key}, v = {0, (void *)""};
	return mdb_put(txn, s->dbi[db], &k, &v, 0);
}

static int put_u64key_flags(struct cp_store *s, MDB_txn *txn, enum cp_db db, uint64_t id,
			    const void *val, size_t vlen, unsigned flags)
{
	uint8_t key[8];
	MDB_val k = {8, key}, v = {vlen, (void *)val};

	cp_key_u64(key, id);
	return mdb_put(txn, s->dbi[db], &k, &v, flags);
}

static int put_u64key(struct cp_store *s, MDB_txn *txn, enum cp_db db, uint64_t id, const void *val,
		      size_t vlen)
{
	return put_u64key_flags(s, txn, db, id, val, vlen, 0);
}

/* ------------------------------------------------------------------------- */
/* Standing changes                                                          */
/* ------------------------------------------------------------------------- */

struct change {
	enum cp_standing to;
	uint8_t source, category;
	bool pending;
	uint32_t n_facts;
	uint64_t first_fact, last_fact;
	const char *actor;
	const char *reason;
};

/* Apply and record one standing change (or a proposal in review mode).
 * The caller writes the customer record afterwards. */
static int record_change(struct cp_engine *e, MDB_txn *txn, struct cp_customer_rec *c,
			 const struct change *ch, uint64_t now)
{
	struct cp_history_rec h;
	uint64_t id;
	int rc;

	memset(&h, 0, sizeof(h));
	h.schema = CP_SCHEMA_VERSION;
	h.from = c->standing;
	h.to = (uint8_t)ch->to;
	h.source = ch->source;
	h.pending = ch->pending;
	h.category = ch->category;
	h.n_facts = ch->n_facts;
	h.time = now;
	h.first_fact = ch->first_fact;
	h.last_fact = ch->last_fact;
	memcpy(h.customer, c->system_id, CP_SYSTEM_ID_MAX);
	cp_field_set(h.actor, sizeof(h.actor), ch->actor, strnlen(ch->actor, sizeof(h.actor)));
	cp_field_set(h.reason, sizeof(h.reason), ch->reason, strnlen(ch->reason, sizeof(h.reason)));
	if ((rc = cp_store_next_id(e->store, txn, CP_DBI_HISTORY, &id)))
		return rc;
	if ((rc = put_u64key(e->store, txn, CP_DBI_HISTORY, id, &h, sizeof(h))))
		return rc;
	struct cp_notice n = {.kind = CP_NOTICE_STANDING,
			      .source = ch->source,
			      .category = ch->category,
			      .from = c->standing,
			      .to = (uint8_t)ch->to,
			      .pending = ch->pending,
			      .n_facts = ch->n_facts,
			      .id = id,
			      .time_ms = now * 1000,
			      .first_fact = ch->first_fact,
			      .last_fact = ch->last_fact};
	notice_str(n.customer, sizeof(n.customer), c->system_id,
		   cp_field_len(c->system_id, CP_SYSTEM_ID_MAX));
	notice_str(n.actor, sizeof(n.actor), h.actor, cp_field_len(h.actor, sizeof(h.actor)));
	notice_str(n.reason, sizeof(n.reason), h.reason, cp_field_len(h.reason, sizeof(h.reason)));
	cp_engine_notice(e, &n);
	if (ch->pending) {
		c->pending_standing = (uint8_t)ch->to;
		c->flags |= CP_CUST_F_REVIEW;
	} else {
		/* Only an operator settles a proposal waiting for review; a
		 * policy change below it (a warning, a warning's expiry)
		 * leaves it waiting. */
		bool keep = ch->source == CP_SRC_POLICY && (c->flags & CP_CUST_F_REVIEW) &&
			    c->pending_standing > ch->to;
		c->standing = (uint8_t)ch->to;
		if (!keep) {
			c->pending_standing = (uint8_t)ch->to;
			c->flags &= (uint8_t)~CP_CUST_F_REVIEW;
		}
		c->standing_since = now;
		c->warn_expires = ch->to == CP_STANDING_WARNED ? now + e->cfg.warning_expiry : 0;
	}
	return cp_store_bump_generation(e->store, txn);
}

/* The ladder: a violation of @p cat (id @p vid) that happened at @p when
 * (<= now) was just recorded and indexed for customer @p c. The window is
 * the one ending at @p when, so facts that arrive late (spooled by a
 * dataplane while controld was away) count as they would have live. */
static int apply_ladder(struct cp_engine *e, MDB_txn *txn, struct cp_customer_rec *c, unsigned cat,
			uint64_t vid, uint64_t when, uint64_t now)
{
	uint8_t prefix[CP_SYSTEM_ID_MAX + 1];
	uint64_t window = cat == CP_CAT_COMPLAINTS ? 90 * (uint64_t)CP_DAY
			  : e->cfg.window_cat[cat] ? e->cfg.window_cat[cat]
						   : e->cfg.window;
	uint32_t warn = e->cfg.warn[cat], susp = e->cfg.suspend[cat];
	uint32_t limit = warn > susp ? warn : susp, n;
	uint64_t first;
	enum cp_standing to;
	char reason[CP_REASON_MAX];
	int rc;

	if (c->standing >= CP_STANDING_SUSPENDED || limit == 0)
		return CP_OK;
	memcpy(prefix, c->system_id, CP_SYSTEM_ID_MAX);
	prefix[CP_SYSTEM_ID_MAX] = (uint8_t)cat;
	rc = count_since(e->store, txn, CP_DBI_VIOL_IDX, prefix, sizeof(prefix),
			 when > window ? when - window : 0, when, limit, &n, &first);
	if (rc)
		return rc;
	to = c->standing;
	if (susp && n >= susp)
		to = CP_STANDING_SUSPENDED;
	else if (warn && n >= warn && c->standing == CP_STANDING_ACTIVE)
		to = CP_STANDING_WARNED;
	/* A new violation renews a warning, also one that reached the suspend
	 * threshold while review mode keeps the customer warned. */
	if (c->standing == CP_STANDING_WARNED && when + e->cfg.warning_expiry > c->warn_expires)
		c->warn_expires = when + e->cfg.warning_expiry;
	if (to == c->standing)
		return CP_OK;
	if (to == CP_STANDING_SUSPENDED && e->cfg.review && c->pending_standing == to)
		return CP_OK; /* already proposed, waiting for an operator */
	snprintf(reason, sizeof(reason),
		 "%u %s violations within %llu s reached the %s threshold %u", n,
		 cp_category_name(cat), (unsigned long long)window,
		 to == CP_STANDING_SUSPENDED ? "suspend" : "warn",
		 to == CP_STANDING_SUSPENDED ? susp : warn);
	struct change ch = {
	    .to = to,
	    .source = CP_SRC_POLICY,
	    .category = (uint8_t)cat,
	    .pending = to == CP_STANDING_SUSPENDED && e->cfg.review,
	    .n_facts = n,
	    .first_fact = first,
	    .last_fact = vid,
	    .actor = "policy",
	    .reason = reason,
	};
	return record_change(e, txn, c, &ch, now);
}

static bool exempt(const struct cp_customer_rec *c, unsigned cat, uint32_t rule)
{
	if (cat < 32 && (c->exempt_categories & (1u << cat)))
		return true;
	for (unsigned i = 0; rule && i < c->n_exceptions; i++)
		if (c->exempt_rules[i] == rule)
			return true;
	return false;
}

/* Record a violation for customer @p c (record written back by caller)
 * that happened at @p when (<= now). */
static int add_violation(struct cp_engine *e, MDB_txn *txn, struct cp_customer_rec *c, unsigned cat,
			 uint32_t rule, uint8_t source, uint64_t msg_id, uint64_t when, uint64_t now,
			 const struct cp_ev_message *m, uint64_t *out_id)
{
	struct cp_violation_rec v;
	uint8_t ikey[CP_SYSTEM_ID_MAX + 1 + 16];
	uint64_t id;
	int rc;

	if ((rc = cp_store_next_id(e->store, txn, CP_DBI_VIOLATIONS, &id)))
		return rc;
	memset(&v, 0, sizeof(v));
	v.schema = CP_SCHEMA_VERSION;
	v.category = (uint8_t)cat;
	v.source = source;
	v.rule_id = rule;
	v.time = when;
	v.message_id = msg_id;
	memcpy(v.customer, c->system_id, CP_SYSTEM_ID_MAX);
	if ((rc = put_u64key(e->store, txn, CP_DBI_VIOLATIONS, id, &v, sizeof(v))))
		return rc;
	if (out_id)
		*out_id = id;
	c->violations++;
	struct cp_notice n = {.kind = CP_NOTICE_VIOLATION,
			      .source = source,
			      .category = (uint8_t)cat,
			      .rule_id = rule,
			      .id = id,
			      .time_ms = m ? m->time_ms : when * 1000,
			      .message_id = msg_id,
			      .exempt = exempt(c, cat, rule),
			      .verdict = m ? m->verdict : CP_VERDICT_BLOCK};
	notice_str(n.customer, sizeof(n.customer), c->system_id,
		   cp_field_len(c->system_id, CP_SYSTEM_ID_MAX));
	if (m) {
		notice_str(n.sender, sizeof(n.sender), (const char *)m->sender.p, m->sender.len);
		notice_subscriber(e, n.subscriber, (const char *)m->destination.p,
				  m->destination.len);
	}
	cp_engine_notice(e, &n);
	/* An exempt rule or category is recorded (the operator sees it) but
	 * never moves the customer down the ladder. */
	if (n.exempt)
		return CP_OK;
	memcpy(ikey, c->system_id, CP_SYSTEM_ID_MAX);
	ikey[CP_SYSTEM_ID_MAX] = (uint8_t)cat;
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX + 1, when);
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX + 9, id);
	if ((rc = put_empty(e->store, txn, CP_DBI_VIOL_IDX, ikey, sizeof(ikey))))
		return rc;
	return apply_ladder(e, txn, c, cat, id, when, now);
}

/* ------------------------------------------------------------------------- */
/* Customers                                                                 */
/* ------------------------------------------------------------------------- */

static bool id_ok(const char *id)
{
	size_t n = id ? strnlen(id, CP_SYSTEM_ID_MAX) : 0;
	return n > 0 && n < CP_SYSTEM_ID_MAX;
}

static void apply_patch(struct cp_customer_rec *c, const struct cp_customer_patch *p)
{
	if (!p)
		return;
	if (p->mask & CP_PATCH_RATE)
		c->rate_per_sec = p->v.rate_per_sec;
	if (p->mask & CP_PATCH_BURST)
		c->rate_burst = p->v.rate_burst;
	if (p->mask & CP_PATCH_SENDER_RATE)
		c->sender_rate_per_sec = p->v.sender_rate_per_sec;
	if (p->mask & CP_PATCH_SENDER_BURST)
		c->sender_burst = p->v.sender_burst;
	if (p->mask & CP_PATCH_SENDERS) {
		memcpy(c->senders, p->v.senders, sizeof(c->senders));
		c->n_senders = p->v.n_senders;
	}
	if (p->mask & CP_PATCH_IPRANGES) {
		memcpy(c->ipranges, p->v.ipranges, sizeof(c->ipranges));
		c->n_ipranges = p->v.n_ipranges;
	}
	if (p->mask & CP_PATCH_MAX_BINDS)
		c->max_binds = p->v.max_binds;
	if (p->mask & CP_PATCH_BINDS_PER_MIN)
		c->binds_per_min = p->v.binds_per_min;
	if (p->mask & CP_PATCH_BULK)
		c->flags = (uint8_t)((c->flags & ~CP_CUST_F_BULK_OPTIN) |
				     (p->v.flags & CP_CUST_F_BULK_OPTIN));
	if (p->mask & CP_PATCH_EXEMPT_RULES) {
		memcpy(c->exempt_rules, p->v.exempt_rules, sizeof(c->exempt_rules));
		c->n_exceptions = p->v.n_exceptions;
	}
	if (p->mask & CP_PATCH_EXEMPT_CATS)
		c->exempt_categories = p->v.exempt_categories;
}

struct cust_op {
	struct cp_engine *e;
	const char *id;
	const struct cp_customer_patch *patch;
	bool add;
};

static int cust_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct cust_op *o = arg;
	struct cp_customer_rec c;
	int rc = cp_customer_get(s, txn, o->id, &c);

	if (o->add) {
		if (rc == CP_OK)
			return CP_ERR_EXISTS;
		if (rc != CP_ERR_NOTFOUND)
			return rc;
		cp_customer_init(&c, o->id, strlen(o->id), cp_engine_now(o->e));
	} else if (rc) {
		return rc;
	}
	apply_patch(&c, o->patch);
	if ((rc = cp_customer_put(s, txn, &c)))
		return rc;
	return cp_store_bump_generation(s, txn);
}

static int cust_write(struct cp_engine *e, const char *id, const struct cp_customer_patch *patch,
		      bool add)
{
	struct cust_op o = {e, id, patch, add};

	if (!id_ok(id))
		return CP_ERR_INVAL;
	return cp_engine_write(e, cust_fn, &o);
}

int cp_engine_customer_add(struct cp_engine *e, const char *id,
			   const struct cp_customer_patch *patch)
{
	return cust_write(e, id, patch, true);
}

int cp_engine_customer_set(struct cp_engine *e, const char *id,
			   const struct cp_customer_patch *patch)
{
	return cust_write(e, id, patch, false);
}

struct standing_op {
	struct cp_engine *e;
	const char *id, *actor, *reason;
	enum cp_standing to;
	bool force, changed;
};

static int standing_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct standing_op *o = arg;
	struct cp_customer_rec c;
	int rc = cp_customer_get(s, txn, o->id, &c);

	o->changed = false;
	if (rc)
		return rc;
	if (c.standing == CP_STANDING_TERMINATED && o->to != CP_STANDING_TERMINATED && !o->force)
		return CP_ERR_REFUSED;
	if (c.standing == o->to && !(c.flags & CP_CUST_F_REVIEW))
		return CP_OK;
	struct change ch = {
	    .to = o->to,
	    .source = CP_SRC_OPERATOR,
	    .actor = o->actor,
	    .reason = o->reason,
	};
	if (c.standing == o->to) {
		/* Only the pending review is settled (e.g. resume of an active
		 * customer rejects a proposed suspension). */
		c.flags &= (uint8_t)~CP_CUST_F_REVIEW;
		c.pending_standing = c.standing;
	}
	if ((rc = record_change(o->e, txn, &c, &ch, cp_engine_now(o->e))))
		return rc;
	o->changed = true;
	return cp_customer_put(s, txn, &c);
}

int cp_engine_set_standing(struct cp_engine *e, const char *id, enum cp_standing to,
			   const char *actor, const char *reason, bool force, bool *changed)
{
	struct standing_op o = {e,     id,   actor && *actor ? actor : "operator", reason, to,
				force, false};
	int rc;

	/* Reason and actor must fit the history whole (with a NUL for notices). */
	if (!id_ok(id) || !reason || !*reason || strlen(reason) >= CP_REASON_MAX ||
	    strlen(o.actor) >= CP_ACTOR_MAX || (unsigned)to > CP_STANDING_TERMINATED)
		return CP_ERR_INVAL;
	rc = cp_engine_write(e, standing_fn, &o);
	if (changed)
		*changed = rc == CP_OK && o.changed;
	return rc;
}

struct viol_op {
	struct cp_engine *e;
	const char *id;
	unsigned cat;
	uint32_t rule;
	uint64_t vid;
};

static int viol_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct viol_op *o = arg;
	struct cp_customer_rec c;
	int rc = cp_customer_get(s, txn, o->id, &c);

	if (rc)
		return rc;
	uint64_t now = cp_engine_now(o->e);
	rc = add_violation(o->e, txn, &c, o->cat, o->rule, CP_SRC_OPERATOR, 0, now, now, NULL,
			   &o->vid);
	if (rc)
		return rc;
	return cp_customer_put(s, txn, &c);
}

int cp_engine_violation(struct cp_engine *e, const char *id, unsigned category, uint32_t rule_id,
			uint64_t *violation_id)
{
	struct viol_op o = {e, id, category, rule_id, 0};
	int rc;

	if (!id_ok(id) || category == CP_CAT_NONE || category >= CP_CAT_COUNT)
		return CP_ERR_INVAL;
	rc = cp_engine_write(e, viol_fn, &o);
	if (rc == CP_OK && violation_id)
		*violation_id = o.vid;
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Complaints                                                                */
/* ------------------------------------------------------------------------- */

/* Newest message from customer to destination with time in (since, until]
 * (milliseconds). */
static int find_message(struct cp_store *s, MDB_txn *txn, const char cust[CP_SYSTEM_ID_MAX],
			const char *dest, uint64_t since_ms, uint64_t until_ms, uint64_t *msg_id)
{
	uint8_t key[CP_SYSTEM_ID_MAX + 24];
	MDB_cursor *cur;
	MDB_val k = {CP_SYSTEM_ID_MAX + 16, key}, v;
	int rc;

	*msg_id = 0;
	memcpy(key, cust, CP_SYSTEM_ID_MAX);
	cp_key_u64(key + CP_SYSTEM_ID_MAX, cp_dest_hash(dest, strlen(dest)));
	cp_key_u64(key + CP_SYSTEM_ID_MAX + 8, until_ms + 1);
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_MSG_IDX], &cur))
		return CP_ERR_STORE;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
	if (rc == 0 && k.mv_size == CP_SYSTEM_ID_MAX + 24 &&
	    memcmp(k.mv_data, key, CP_SYSTEM_ID_MAX + 8) == 0) {
		uint64_t t = cp_key_get_u64((const uint8_t *)k.mv_data + CP_SYSTEM_ID_MAX + 8);
		if (t > since_ms)
			*msg_id =
			    cp_key_get_u64((const uint8_t *)k.mv_data + CP_SYSTEM_ID_MAX + 16);
	}
	mdb_cursor_close(cur);
	return CP_OK;
}

_Static_assert(sizeof(((struct cp_complaint_rec *)0)->text) == CP_COMPLAINT_TEXT_MAX,
	       "complaint text bound");
_Static_assert(sizeof(((struct cp_complaint_rec *)0)->source) == CP_COMPLAINT_SOURCE_MAX + 1,
	       "complaint source bound");

struct compl_op {
	struct cp_engine *e;
	const char *id, *msisdn, *text, *source;
	uint64_t cid, mid;
};

static int compl_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct compl_op *o = arg;
	struct cp_customer_rec c;
	struct cp_complaint_rec r;
	uint8_t ikey[CP_SYSTEM_ID_MAX + 16];
	uint64_t now = cp_engine_now(o->e);
	uint32_t n;
	int rc = cp_customer_get(s, txn, o->id, &c);

	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.schema = CP_SCHEMA_VERSION;
	r.time = now;
	memcpy(r.customer, c.system_id, CP_SYSTEM_ID_MAX);
	cp_field_set(r.msisdn, sizeof(r.msisdn), o->msisdn,
		     strnlen(o->msisdn, sizeof(r.msisdn) - 1));
	cp_field_set(r.source, sizeof(r.source), o->source,
		     strnlen(o->source, sizeof(r.source) - 1));
	r.text_len = (uint16_t)strnlen(o->text, sizeof(r.text));
	memcpy(r.text, o->text, r.text_len);
	if ((rc = find_message(s, txn, c.system_id, r.msisdn,
			       now > 7 * CP_DAY ? (now - 7 * CP_DAY) * 1000 : 0, now * 1000 + 999,
			       &o->mid)))
		return rc;
	r.message_id = o->mid;
	if ((rc = cp_store_next_id(s, txn, CP_DBI_COMPLAINTS, &o->cid)))
		return rc;
	if ((rc = put_u64key(s, txn, CP_DBI_COMPLAINTS, o->cid, &r, sizeof(r))))
		return rc;
	memcpy(ikey, c.system_id, CP_SYSTEM_ID_MAX);
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX, now);
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX + 8, o->cid);
	if ((rc = put_empty(s, txn, CP_DBI_COMPL_IDX, ikey, sizeof(ikey))))
		return rc;
	struct cp_notice cn = {.kind = CP_NOTICE_COMPLAINT,
			       .source = CP_SRC_OPERATOR,
			       .id = o->cid,
			       .time_ms = now * 1000,
			       .message_id = o->mid};
	notice_str(cn.customer, sizeof(cn.customer), c.system_id,
		   cp_field_len(c.system_id, CP_SYSTEM_ID_MAX));
	notice_subscriber(o->e, cn.subscriber, r.msisdn, cp_field_len(r.msisdn, sizeof(r.msisdn)));
	notice_str(cn.actor, sizeof(cn.actor), r.source, cp_field_len(r.source, sizeof(r.source)));
	cp_engine_notice(o->e, &cn);
	/* One violation each time a threshold is crossed: the count in the
	 * window has just become threshold + 1. A complaint that crosses both
	 * thresholds at once is still one violation (one complaint, one fact
	 * on the ladder). */
	static const uint64_t windows[2] = {30 * (uint64_t)CP_DAY, 90 * (uint64_t)CP_DAY};
	const uint32_t thr[2] = {o->e->cfg.complaints_30d, o->e->cfg.complaints_90d};
	for (int i = 0; i < 2; i++) {
		rc = count_since(s, txn, CP_DBI_COMPL_IDX, (const uint8_t *)c.system_id,
				 CP_SYSTEM_ID_MAX, now > windows[i] ? now - windows[i] : 0,
				 UINT64_MAX, thr[i] + 2, &n, NULL);
		if (rc)
			return rc;
		if (n == thr[i] + 1) {
			rc = add_violation(o->e, txn, &c, CP_CAT_COMPLAINTS, 0, CP_SRC_POLICY,
					   o->mid, now, now, NULL, NULL);
			if (rc)
				return rc;
			break;
		}
	}
	return cp_customer_put(s, txn, &c);
}

int cp_engine_complaint_add(struct cp_engine *e, const char *id, const char *msisdn,
			    const char *text, const char *source, uint64_t *complaint_id,
			    uint64_t *message_id)
{
	struct compl_op o = {e, id, msisdn, text ? text : "", source ? source : "", 0, 0};
	int rc;

	/* Fields the record cannot hold whole are refused, not cut. */
	if (!id_ok(id) || !msisdn || !*msisdn || strlen(msisdn) >= CP_ADDR_MAX ||
	    strlen(o.text) > CP_COMPLAINT_TEXT_MAX || strlen(o.source) > CP_COMPLAINT_SOURCE_MAX)
		return CP_ERR_INVAL;
	rc = cp_engine_write(e, compl_fn, &o);
	if (rc == CP_OK) {
		if (complaint_id)
			*complaint_id = o.cid;
		if (message_id)
			*message_id = o.mid;
	}
	return rc;
}

int cp_engine_complaints_count(struct cp_engine *e, const char *id, uint64_t seconds,
			       uint32_t *count)
{
	MDB_txn *txn;
	char cust[CP_SYSTEM_ID_MAX];
	uint64_t now = cp_engine_now(e);
	int rc;

	id_field(cust, id);
	if (mdb_txn_begin(e->store->env, NULL, MDB_RDONLY, &txn))
		return CP_ERR_STORE;
	rc = count_since(e->store, txn, CP_DBI_COMPL_IDX, (const uint8_t *)cust, CP_SYSTEM_ID_MAX,
			 now > seconds ? now - seconds : 0, UINT64_MAX, UINT32_MAX, count, NULL);
	mdb_txn_abort(txn);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Warning expiry                                                            */
/* ------------------------------------------------------------------------- */

struct tick_op {
	struct cp_engine *e;
	int changed;
};

static int tick_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct tick_op *o = arg;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t now = cp_engine_now(o->e);
	int rc, st = CP_OK;

	o->changed = 0;
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_CUSTOMERS], &cur))
		return CP_ERR_STORE;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct cp_customer_rec c;
		char reason[CP_REASON_MAX];
		if (cp_customer_from_val(&v, &c))
			continue;
		if (c.standing != CP_STANDING_WARNED || c.warn_expires == 0 || c.warn_expires > now)
			continue;
		snprintf(reason, sizeof(reason),
			 "warning expired after %llu days without violations",
			 (unsigned long long)(o->e->cfg.warning_expiry / CP_DAY));
		struct change ch = {.to = CP_STANDING_ACTIVE,
				    .source = CP_SRC_POLICY,
				    .actor = "policy",
				    .reason = reason};
		if ((st = record_change(o->e, txn, &c, &ch, now)))
			break;
		MDB_val nv = {sizeof(c), &c};
		if ((st = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT)))
			break;
		o->changed++;
	}
	mdb_cursor_close(cur);
	if (st)
		return st;
	return rc == MDB_NOTFOUND || rc == 0 ? CP_OK : CP_ERR_STORE;
}

int cp_engine_tick(struct cp_engine *e)
{
	struct tick_op o = {e, 0};
	int rc = cp_engine_write(e, tick_fn, &o);

	return rc ? rc : o.changed;
}

/* ------------------------------------------------------------------------- */
/* Opt-outs                                                                  */
/* ------------------------------------------------------------------------- */

static void optout_key(struct cp_optout_key *k, const char *c, size_t cl, const char *sub,
		       size_t sl, const char *snd, size_t nl)
{
	cp_field_set(k->customer, sizeof(k->customer), c, cl);
	cp_field_set(k->subscriber, sizeof(k->subscriber), sub, sl);
	cp_field_set(k->sender, sizeof(k->sender), snd, nl);
}

static int optout_put(struct cp_engine *e, MDB_txn *txn, const struct cp_optout_key *key,
		      bool add, uint8_t source, uint64_t now_ms)
{
	struct cp_store *s = e->store;
	MDB_val k = {sizeof(*key), (void *)key};
	uint64_t now = now_ms / 1000;
	int rc;

	if (add) {
		struct cp_optout_rec r = {
		    .schema = CP_SCHEMA_VERSION, .source = source, .time = now};
		MDB_val v = {sizeof(r), &r};
		rc = mdb_put(txn, s->dbi[CP_DBI_OPTOUTS], &k, &v, 0);
	} else {
		rc = mdb_del(txn, s->dbi[CP_DBI_OPTOUTS], &k, NULL);
	}
	if (rc)
		return rc == MDB_NOTFOUND ? CP_ERR_NOTFOUND : rc;
	struct cp_notice n = {.kind = add ? CP_NOTICE_OPTOUT : CP_NOTICE_OPTIN,
			      .source = source,
			      .time_ms = now_ms};
	notice_str(n.customer, sizeof(n.customer), key->customer,
		   cp_field_len(key->customer, sizeof(key->customer)));
	notice_subscriber(e, n.subscriber, key->subscriber,
			  cp_field_len(key->subscriber, sizeof(key->subscriber)));
	notice_str(n.sender, sizeof(n.sender), key->sender,
		   cp_field_len(key->sender, sizeof(key->sender)));
	cp_engine_notice(e, &n);
	return cp_store_bump_generation(s, txn);
}

struct optout_op {
	struct cp_engine *e;
	struct cp_optout_key key;
	bool add;
	uint64_t now;
};

static int optout_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct optout_op *o = arg;
	(void)s;
	return optout_put(o->e, txn, &o->key, o->add, CP_SRC_OPERATOR, o->now * 1000);
}

int cp_engine_optout(struct cp_engine *e, const char *customer, const char *subscriber,
		     const char *sender, bool add)
{
	struct optout_op o = {.e = e, .add = add, .now = cp_engine_now(e)};

	if (!id_ok(customer) || !subscriber || !*subscriber || strlen(subscriber) >= CP_ADDR_MAX ||
	    (sender && strlen(sender) >= CP_ADDR_MAX))
		return CP_ERR_INVAL;
	optout_key(&o.key, customer, strlen(customer), subscriber, strlen(subscriber),
		   sender ? sender : "", sender ? strlen(sender) : 0);
	return cp_engine_write(e, optout_fn, &o);
}

/* ------------------------------------------------------------------------- */
/* Event ingestion                                                           */
/* ------------------------------------------------------------------------- */

struct ingest_op {
	struct cp_engine *e;
	uint64_t instance;
	const uint8_t *const *batches;
	const uint32_t *lens;
	size_t n;
	struct cp_ingest_result res;
	uint64_t by_cat[CP_CAT_COUNT];
	uint64_t blocked, passed;
	struct cp_ev_stats stats;
	bool have_stats;
	/* message counts of this transaction, merged into the engine once
	 * it committed */
	uint64_t msgs[4][CP_CAT_COUNT];
	struct cp_rule_hits hits[256];
	uint32_t n_hits, last_hit;
	uint64_t hits_overflow;
};

static void op_count_hit(struct ingest_op *o, uint32_t rule, uint8_t cat, uint8_t verdict)
{
	struct cp_rule_hits *h = &o->hits[o->last_hit];

	if (o->n_hits && h->rule_id == rule && h->category == cat && h->verdict == verdict) {
		h->n++;
		return;
	}
	for (uint32_t i = 0; i < o->n_hits; i++) {
		h = &o->hits[i];
		if (h->rule_id == rule && h->category == cat && h->verdict == verdict) {
			h->n++;
			o->last_hit = i;
			return;
		}
	}
	if (o->n_hits == sizeof(o->hits) / sizeof(o->hits[0])) {
		o->hits_overflow++;
		return;
	}
	o->hits[o->n_hits] = (struct cp_rule_hits){rule, cat, verdict, 1};
	o->last_hit = o->n_hits++;
}

/* Open-addressed table of (rule, category, verdict) counts; full = overflow. */
static void engine_add_hits(struct cp_engine *e, const struct cp_rule_hits *h)
{
	uint32_t k = (h->rule_id * 2654435761u) ^ ((uint32_t)h->category << 8) ^ h->verdict;

	for (uint32_t i = 0; i < CP_RULE_HITS_MAX; i++) {
		struct cp_rule_hits *t = &e->hits[(k + i) % CP_RULE_HITS_MAX];
		if (t->rule_id == 0) {
			if (e->n_hits >= CP_RULE_HITS_MAX - CP_RULE_HITS_MAX / 8)
				break; /* keep probes short */
			*t = *h;
			e->n_hits++;
			return;
		}
		if (t->rule_id == h->rule_id && t->category == h->category &&
		    t->verdict == h->verdict) {
			t->n += h->n;
			return;
		}
	}
	e->hits_overflow += h->n;
}

/* Store one message (log + index + evidence when kept). */
static int store_message(struct ingest_op *o, MDB_txn *txn, const struct cp_ev_message *m,
			 uint64_t *next_msg, uint64_t *msg_id)
{
	struct cp_store *s = o->e->store;
	struct cp_message_rec r;
	char dest[CP_ADDR_MAX];
	uint8_t ikey[CP_SYSTEM_ID_MAX + 24];
	uint64_t id = (*next_msg)++;
	bool keep_text =
	    m->text.len && (o->e->cfg.evidence_all || m->verdict != CP_VERDICT_PASS || m->rule_id);
	int rc;

	memset(&r, 0, sizeof(r));
	r.schema = CP_SCHEMA_VERSION;
	r.verdict = m->verdict;
	r.category = m->category < CP_CAT_COUNT ? m->category : CP_CAT_NONE;
	r.rule_id = m->rule_id;
	r.time_ms = m->time_ms;
	r.content_hash = m->content_hash;
	r.command_status = m->command_status;
	r.data_coding = m->data_coding;
	r.parts = m->parts;
	r.has_evidence = keep_text;
	cp_field_set(r.customer, sizeof(r.customer), (const char *)m->customer.p, m->customer.len);
	cp_field_set(r.sender, sizeof(r.sender), (const char *)m->sender.p, m->sender.len);
	cp_field_set(dest, sizeof(dest), (const char *)m->destination.p, m->destination.len);
	r.dest_hash = cp_dest_hash(dest, m->destination.len);
	if (o->e->cfg.mask_destinations) {
		cp_mask_destination(dest, m->destination.len, r.destination, sizeof(r.destination));
		r.dest_masked = 1;
	} else {
		memcpy(r.destination, dest, sizeof(dest));
	}
	/* Message ids only grow (meta "msg-id"), so the log is appended. */
	if ((rc = put_u64key_flags(s, txn, CP_DBI_MESSAGES, id, &r, sizeof(r), MDB_APPEND)))
		return rc;
	memcpy(ikey, r.customer, CP_SYSTEM_ID_MAX);
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX, r.dest_hash);
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX + 8, r.time_ms);
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX + 16, id);
	if ((rc = put_empty(s, txn, CP_DBI_MSG_IDX, ikey, sizeof(ikey))))
		return rc;
	if (keep_text) {
		uint8_t buf[sizeof(struct cp_evidence_rec) + CP_EV_TEXT_MAX + CP_ADDR_MAX];
		struct cp_evidence_rec ev = {.schema = CP_SCHEMA_VERSION,
					     .text_len = m->text.len,
					     .dest_len = (uint8_t)m->destination.len,
					     .time_ms = m->time_ms};
		memcpy(buf, &ev, sizeof(ev));
		memcpy(buf + sizeof(ev), m->text.p, m->text.len);
		memcpy(buf + sizeof(ev) + m->text.len, m->destination.p, m->destination.len);
		rc = put_u64key_flags(s, txn, CP_DBI_EVIDENCE, id, buf,
				      sizeof(ev) + m->text.len + m->destination.len, MDB_APPEND);
		if (rc)
			return rc;
	}
	*msg_id = id;
	if (r.verdict <= CP_VERDICT_THROTTLE) { /* wire value: unknown ones not counted */
		o->msgs[r.verdict][r.category]++;
		if (r.rule_id)
			op_count_hit(o, r.rule_id, r.category, r.verdict);
	}
	if (r.category < CP_CAT_COUNT && m->verdict != CP_VERDICT_PASS)
		o->by_cat[r.category]++;
	if (m->verdict == CP_VERDICT_PASS)
		o->passed++;
	else
		o->blocked++;
	return CP_OK;
}

static int ingest_violation(struct ingest_op *o, MDB_txn *txn, const struct cp_ev_message *m,
			    uint64_t msg_id, uint64_t now)
{
	struct cp_store *s = o->e->store;
	struct cp_customer_rec c;
	char id[CP_SYSTEM_ID_MAX];
	int rc;

	if (m->customer.len == 0 || m->category == CP_CAT_NONE || m->category >= CP_CAT_COUNT) {
		o->res.bad++;
		return CP_OK;
	}
	cp_field_set(id, sizeof(id), (const char *)m->customer.p, m->customer.len);
	rc = cp_customer_get(s, txn, id, &c);
	if (rc == CP_ERR_NOTFOUND) {
		/* The default profile let an unknown system_id bind; it now has
		 * a record so the ladder can act on it. */
		cp_customer_init(&c, id, m->customer.len, now);
		if ((rc = cp_store_bump_generation(s, txn)))
			return rc;
	} else if (rc) {
		return rc;
	}
	/* The fact counts when it happened (the dataplane's stamp); one from
	 * the future (a clock ahead) or without a stamp counts as now. */
	uint64_t when = m->time_ms && m->time_ms / 1000 < now ? m->time_ms / 1000 : now;
	rc = add_violation(o->e, txn, &c, m->category, m->rule_id, CP_SRC_DATAPLANE, msg_id, when,
			   now, m, NULL);
	if (rc)
		return rc;
	return cp_customer_put(s, txn, &c);
}

static int ingest_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct ingest_op *o = arg;
	char seqkey[64];
	uint64_t seq, next_msg, now = cp_engine_now(o->e);
	int rc;

	memset(&o->res, 0, sizeof(o->res));
	memset(o->by_cat, 0, sizeof(o->by_cat));
	o->blocked = o->passed = 0;
	o->have_stats = false;
	memset(o->msgs, 0, sizeof(o->msgs));
	o->n_hits = o->last_hit = 0;
	o->hits_overflow = 0;
	snprintf(seqkey, sizeof(seqkey), CP_META_DPSEQ_PREFIX "%016llx",
		 (unsigned long long)o->instance);
	if ((rc = cp_meta_get_u64(s, txn, seqkey, &seq)))
		return rc;
	if ((rc = cp_store_next_id(s, txn, CP_DBI_MESSAGES, &next_msg)))
		return rc;
	/* After a purge emptied the log, ids must not start again at 1: old
	 * complaints still name the messages they were linked to. */
	uint64_t floor_id;
	if ((rc = cp_meta_get_u64(s, txn, CP_META_MSG_ID, &floor_id)))
		return rc;
	if (floor_id > next_msg)
		next_msg = floor_id;
	uint64_t first_msg = next_msg;
	o->res.max_fact_seq = seq;
	for (size_t b = 0; b < o->n; b++) {
		struct cp_ev_iter it;
		struct cp_event ev;
		cp_ev_iter_init(&it, o->batches[b], o->lens[b]);
		while ((rc = cp_ev_iter_next(&it, &ev)) == CP_OK) {
			uint64_t mid = 0;
			if (cp_ev_is_fact(ev.type)) {
				if (ev.seq <= o->res.max_fact_seq) {
					o->res.duplicates++;
					continue;
				}
				o->res.max_fact_seq = ev.seq;
				o->res.facts++;
			}
			switch (ev.type) {
			case CP_EV_OBSERVATION:
				o->res.observations++;
				rc = store_message(o, txn, &ev.u.msg, &next_msg, &mid);
				break;
			case CP_EV_VIOLATION:
				rc = store_message(o, txn, &ev.u.msg, &next_msg, &mid);
				if (!rc)
					rc = ingest_violation(o, txn, &ev.u.msg, mid, now);
				break;
			case CP_EV_OPTOUT:
			case CP_EV_OPTIN: {
				struct cp_optout_key k;
				const struct cp_ev_optout *x = &ev.u.optout;
				if (!x->customer.len || !x->subscriber.len) {
					o->res.bad++;
					break;
				}
				optout_key(&k, (const char *)x->customer.p, x->customer.len,
					   (const char *)x->subscriber.p, x->subscriber.len,
					   (const char *)x->sender.p, x->sender.len);
				rc = optout_put(o->e, txn, &k, ev.type == CP_EV_OPTOUT,
						CP_SRC_DATAPLANE, x->time_ms);
				if (rc == CP_ERR_NOTFOUND) /* opt-in without opt-out */
					rc = CP_OK;
				break;
			}
			case CP_EV_STATS:
				o->stats = ev.u.stats;
				o->have_stats = true;
				break;
			default:
				break; /* HELLO handled by the caller; unknown skipped */
			}
			if (rc)
				return rc;
		}
		if (rc != CP_AGAIN) {
			o->res.bad++;
			return CP_ERR_FORMAT;
		}
	}
	if (o->res.max_fact_seq != seq &&
	    (rc = cp_meta_put_u64(s, txn, seqkey, o->res.max_fact_seq)))
		return rc;
	if (next_msg != first_msg && (rc = cp_meta_put_u64(s, txn, CP_META_MSG_ID, next_msg)))
		return rc;
	return CP_OK;
}

int cp_engine_ingest(struct cp_engine *e, uint64_t instance, const uint8_t *const *batches,
		     const uint32_t *lens, size_t n, struct cp_ingest_result *res)
{
	struct ingest_op o = {
	    .e = e, .instance = instance, .batches = batches, .lens = lens, .n = n};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = cp_engine_write(e, ingest_fn, &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	o.res.generation_bumped = e->store->gen_bumped;
	if (res)
		*res = o.res;
	if (rc)
		return rc;
	e->ingested_obs += o.res.observations;
	e->ingested_facts += o.res.facts;
	e->duplicate_facts += o.res.duplicates;
	e->bad_events += o.res.bad;
	e->blocked += o.blocked;
	e->passed += o.passed;
	for (int i = 0; i < CP_CAT_COUNT; i++)
		e->by_category[i] += o.by_cat[i];
	if (o.have_stats)
		e->dp_stats = o.stats;
	for (int v = 0; v < 4; v++)
		for (int c = 0; c < CP_CAT_COUNT; c++)
			e->msgs[v][c] += o.msgs[v][c];
	for (uint32_t i = 0; i < o.n_hits; i++)
		engine_add_hits(e, &o.hits[i]);
	e->hits_overflow += o.hits_overflow;
	e->ingest_commits++;
	e->ingest_commit_us += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
					  (t1.tv_nsec - t0.tv_nsec) / 1000);
	return CP_OK;
}

/* ------------------------------------------------------------------------- */
/* Retention                                                                 */
/* ------------------------------------------------------------------------- */

struct purge_op {
	struct cp_engine *e;
	uint64_t msg_cut_ms, ev_cut_ms;
	int64_t deleted;
	bool more;
};

#define PURGE_CHUNK 10000

static int purge_fn(struct cp_store *s, MDB_txn *txn, void *arg)
{
	struct purge_op *o = arg;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, n = 0;

	o->more = false;
	o->deleted = 0;
	/* Evidence first: its retention may differ from the log's. */
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_EVIDENCE], &cur))
		return CP_ERR_STORE;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < PURGE_CHUNK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct cp_evidence_rec ev;
		if (v.mv_size < sizeof(ev))
			continue;
		memcpy(&ev, v.mv_data, sizeof(ev));
		if (ev.time_ms >= o->ev_cut_ms)
			break;
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		n++;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_MESSAGES], &cur))
		return CP_ERR_STORE;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < PURGE_CHUNK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct cp_message_rec m;
		uint8_t ikey[CP_SYSTEM_ID_MAX + 24];
		MDB_val ik = {sizeof(ikey), ikey};
		if (v.mv_size < sizeof(m))
			continue;
		memcpy(&m, v.mv_data, sizeof(m));
		if (m.time_ms >= o->msg_cut_ms)
			break;
		if (m.has_evidence && m.time_ms >= o->ev_cut_ms)
			continue; /* the row leads to evidence still kept */
		memcpy(ikey, m.customer, CP_SYSTEM_ID_MAX);
		cp_key_u64(ikey + CP_SYSTEM_ID_MAX, m.dest_hash);
		cp_key_u64(ikey + CP_SYSTEM_ID_MAX + 8, m.time_ms);
		memcpy(ikey + CP_SYSTEM_ID_MAX + 16, k.mv_data, 8);
		mdb_del(txn, s->dbi[CP_DBI_MSG_IDX], &ik, NULL);
		mdb_del(txn, s->dbi[CP_DBI_EVIDENCE], &k, NULL);
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		n++;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	o->deleted = n;
	o->more = n >= PURGE_CHUNK;
	return CP_OK;
}

int64_t cp_engine_purge(struct cp_engine *e)
{
	uint64_t now = cp_engine_now(e);
	struct purge_op o = {
	    .e = e,
	    .msg_cut_ms =
		(now > e->cfg.messages_retention ? now - e->cfg.messages_retention : 0) * 1000,
	    .ev_cut_ms =
		(now > e->cfg.evidence_retention ? now - e->cfg.evidence_retention : 0) * 1000,
	};
	int64_t total = 0;

	do {
		int rc = cp_store_write(e->store, purge_fn, &o);
		if (rc)
			return rc;
		total += o.deleted;
	} while (o.more);
	return total;
}

int cp_engine_violations_count(struct cp_engine *e, const char *id, unsigned cat, uint64_t seconds,
			       uint32_t limit, uint32_t *count)
{
	MDB_txn *txn;
	uint8_t prefix[CP_SYSTEM_ID_MAX + 1];
	uint64_t now = cp_engine_now(e);
	int rc;

	id_field((char *)prefix, id);
	prefix[CP_SYSTEM_ID_MAX] = (uint8_t)cat;
	if (mdb_txn_begin(e->store->env, NULL, MDB_RDONLY, &txn))
		return CP_ERR_STORE;
	rc = count_since(e->store, txn, CP_DBI_VIOL_IDX, prefix, sizeof(prefix),
			 now > seconds ? now - seconds : 0, UINT64_MAX, limit, count, NULL);
	mdb_txn_abort(txn);
	return rc;
}

int cp_engine_instance_seq(struct cp_engine *e, uint64_t instance, uint64_t *seq)
{
	char key[64];
	MDB_txn *txn;
	int rc;

	snprintf(key, sizeof(key), CP_META_DPSEQ_PREFIX "%016llx", (unsigned long long)instance);
	if (mdb_txn_begin(e->store->env, NULL, MDB_RDONLY, &txn))
		return CP_ERR_STORE;
	rc = cp_meta_get_u64(e->store, txn, key, seq);
	mdb_txn_abort(txn);
	return rc;
}
