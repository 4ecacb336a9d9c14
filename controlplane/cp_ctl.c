/*
 * cp_ctl.c — controld's answers to smsfwctl (see cp_ctl.h). Reads use
 * short read transactions; writes go through the engine (durable commits).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cp_ctl.h"

json_t *cp_ctl_error(const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message", msg);
}

static json_t *ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_null());
}

/* Map a cp_status onto an answer. */
static json_t *status_error(int rc, const char *what)
{
	switch (rc) {
	case CP_ERR_NOTFOUND:
		return cp_ctl_error("not_found", "%s: not found", what);
	case CP_ERR_EXISTS:
		return cp_ctl_error("exists", "%s: already exists", what);
	case CP_ERR_REFUSED:
		return cp_ctl_error("refused", "%s: refused", what);
	case CP_ERR_INVAL:
		return cp_ctl_error("usage", "%s: invalid argument", what);
	default:
		return cp_ctl_error("internal", "%s: %s", what, cp_strerror(rc));
	}
}

/* ------------------------------------------------------------------------- */
/* Argument helpers                                                          */
/* ------------------------------------------------------------------------- */

static const char *arg_str(json_t *args, const char *k)
{
	json_t *v = json_object_get(args, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool arg_bool(json_t *args, const char *k)
{
	json_t *v = json_object_get(args, k);
	return json_is_true(v);
}

static bool arg_int(json_t *args, const char *k, long long *out)
{
	json_t *v = json_object_get(args, k);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static void fmt_time(uint64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *jtime(uint64_t t)
{
	char b[32];
	if (!t)
		return json_null();
	fmt_time(t, b, sizeof(b));
	return json_string(b);
}

static json_t *jfield(const char *f, size_t cap)
{
	return json_stringn(f, strnlen(f, cap));
}

static json_t *jmasked(const char *f, size_t cap, bool unmask)
{
	char out[CP_ADDR_MAX + 1];
	size_t n = strnlen(f, cap);
	if (unmask)
		return json_stringn(f, n);
	cp_mask_destination(f, n, out, sizeof(out));
	return json_string(out);
}

/* ------------------------------------------------------------------------- */
/* Customers                                                                 */
/* ------------------------------------------------------------------------- */

static void range_text(const struct cp_ip_range *r, char *out, size_t cap)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char a[INET6_ADDRSTRLEN];
	if (memcmp(r->addr, mapped, 12) == 0 && r->prefix_len >= 96) {
		inet_ntop(AF_INET, r->addr + 12, a, sizeof(a));
		snprintf(out, cap, "%s/%u", a, r->prefix_len - 96);
	} else {
		inet_ntop(AF_INET6, r->addr, a, sizeof(a));
		snprintf(out, cap, "%s/%u", a, r->prefix_len);
	}
}

/* Prefix length: 1..3 decimal digits, at most @p max. */
static int prefix_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (n >= 3 || s[n] < '0' || s[n] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
	}
	if (n == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int range_parse(const char *s, struct cp_ip_range *r)
{
	char a[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned len;

	if (n >= sizeof(a))
		return -1;
	memcpy(a, s, n);
	a[n] = 0;
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, a, r->addr + 12) == 1) {
		r->addr[10] = r->addr[11] = 0xff;
		len = 32;
		if (slash && prefix_parse(slash + 1, 32, &len))
			return -1;
		r->prefix_len = (uint8_t)(96 + len);
		return 0;
	}
	if (inet_pton(AF_INET6, a, r->addr) == 1) {
		len = 128;
		if (slash && prefix_parse(slash + 1, 128, &len))
			return -1;
		r->prefix_len = (uint8_t)len;
		return 0;
	}
	return -1;
}

static json_t *customer_json(const struct cp_customer_rec *c)
{
	json_t *o = json_object(), *a;
	char b[64];

	json_object_set_new(o, "id", jfield(c->system_id, CP_SYSTEM_ID_MAX));
	json_object_set_new(o, "standing", json_string(cp_standing_name(c->standing)));
	json_object_set_new(o, "review_pending", json_boolean(c->flags & CP_CUST_F_REVIEW));
	if (c->flags & CP_CUST_F_REVIEW)
		json_object_set_new(o, "pending_standing",
				    json_string(cp_standing_name(c->pending_standing)));
	json_object_set_new(o, "violations", json_integer(c->violations));
	json_object_set_new(o, "created", jtime(c->created));
	json_object_set_new(o, "standing_since", jtime(c->standing_since));
	json_object_set_new(o, "warning_expires", jtime(c->warn_expires));
	json_object_set_new(o, "rate", json_integer(c->rate_per_sec));
	json_object_set_new(o, "burst", json_integer(c->rate_burst));
	json_object_set_new(o, "sender_rate", json_integer(c->sender_rate_per_sec));
	json_object_set_new(o, "sender_burst", json_integer(c->sender_burst));
	json_object_set_new(o, "max_binds", json_integer(c->max_binds));
	json_object_set_new(o, "binds_per_min", json_integer(c->binds_per_min));
	json_object_set_new(o, "bulk_optin", json_boolean(c->flags & CP_CUST_F_BULK_OPTIN));
	a = json_array();
	for (unsigned i = 0; i < c->n_senders; i++)
		json_array_append_new(a, jfield(c->senders[i], CP_ADDR_MAX));
	json_object_set_new(o, "senders", a);
	a = json_array();
	for (unsigned i = 0; i < c->n_ipranges; i++) {
		range_text(&c->ipranges[i], b, sizeof(b));
		json_array_append_new(a, json_string(b));
	}
	json_object_set_new(o, "ip_ranges", a);
	a = json_array();
	for (unsigned i = 0; i < c->n_exceptions; i++)
		json_array_append_new(a, json_integer(c->exempt_rules[i]));
	json_object_set_new(o, "exempt_rules", a);
	a = json_array();
	for (unsigned i = 0; i < CP_CAT_COUNT; i++)
		if (c->exempt_categories & (1u << i))
			json_array_append_new(a, json_string(cp_category_name(i)));
	json_object_set_new(o, "exempt_categories", a);
	return o;
}

/* Build a patch from the request's optional fields. */
static json_t *patch_from_args(json_t *args, struct cp_customer_patch *p)
{
	long long v;
	json_t *a;

	memset(p, 0, sizeof(*p));
#define INTF(name, field, flag, max)                                                               \
	if (json_object_get(args, name)) {                                                         \
		if (!arg_int(args, name, &v) || v < 0 || v > (max))                                \
			return cp_ctl_error("usage", "%s must be an integer 0..%lld", name,        \
					    (long long)(max));                                     \
		p->v.field = (typeof(p->v.field))v;                                                \
		p->mask |= flag;                                                                   \
	}
	INTF("rate", rate_per_sec, CP_PATCH_RATE, 0xffffffffLL)
	INTF("burst", rate_burst, CP_PATCH_BURST, 0xffffffffLL)
	INTF("sender_rate", sender_rate_per_sec, CP_PATCH_SENDER_RATE, 0xffffffffLL)
	INTF("sender_burst", sender_burst, CP_PATCH_SENDER_BURST, 0xffffffffLL)
	INTF("max_binds", max_binds, CP_PATCH_MAX_BINDS, 65535)
	INTF("binds_per_min", binds_per_min, CP_PATCH_BINDS_PER_MIN, 0xffffffffLL)
#undef INTF
	if ((a = json_object_get(args, "bulk_optin"))) {
		if (!json_is_boolean(a))
			return cp_ctl_error("usage", "bulk_optin must be true or false");
		p->v.flags = json_is_true(a) ? CP_CUST_F_BULK_OPTIN : 0;
		p->mask |= CP_PATCH_BULK;
	}
	if ((a = json_object_get(args, "senders"))) {
		size_t i;
		json_t *x;
		if (!json_is_array(a) || json_array_size(a) > CP_MAX_SENDERS)
			return cp_ctl_error("usage", "senders: at most %d sender IDs",
					    CP_MAX_SENDERS);
		json_array_foreach(a, i, x)
		{
			const char *s = json_string_value(x);
			if (!s || !*s || strlen(s) > 20)
				return cp_ctl_error("usage", "sender ID must be 1..20 characters");
			cp_field_set(p->v.senders[i], CP_ADDR_MAX, s, strlen(s));
		}
		p->v.n_senders = (uint8_t)json_array_size(a);
		p->mask |= CP_PATCH_SENDERS;
	}
	if ((a = json_object_get(args, "ip_ranges"))) {
		size_t i;
		json_t *x;
		if (!json_is_array(a) || json_array_size(a) > CP_MAX_IPRANGES)
			return cp_ctl_error("usage", "ip_ranges: at most %d prefixes",
					    CP_MAX_IPRANGES);
		json_array_foreach(a, i, x)
		{
			const char *s = json_string_value(x);
			if (!s || range_parse(s, &p->v.ipranges[i]))
				return cp_ctl_error("usage", "'%s' is not an address/prefix",
						    s ? s : "?");
		}
		p->v.n_ipranges = (uint8_t)json_array_size(a);
		p->mask |= CP_PATCH_IPRANGES;
	}
	if ((a = json_object_get(args, "exempt_rules"))) {
		size_t i;
		json_t *x;
		if (!json_is_array(a) || json_array_size(a) > CP_MAX_EXCEPTIONS)
			return cp_ctl_error("usage", "exempt_rules: at most %d rule ids",
					    CP_MAX_EXCEPTIONS);
		json_array_foreach(a, i, x)
		{
			if (!json_is_integer(x) || json_integer_value(x) <= 0 ||
			    json_integer_value(x) > 0xffffffffLL)
				return cp_ctl_error("usage", "rule ids are positive integers");
			p->v.exempt_rules[i] = (uint32_t)json_integer_value(x);
		}
		p->v.n_exceptions = (uint8_t)json_array_size(a);
		p->mask |= CP_PATCH_EXEMPT_RULES;
	}
	if ((a = json_object_get(args, "exempt_categories"))) {
		size_t i;
		json_t *x;
		if (!json_is_array(a))
			return cp_ctl_error("usage", "exempt_categories must be a list");
		json_array_foreach(a, i, x)
		{
			const char *s = json_string_value(x);
			int cat = s ? cp_category_parse(s) : -1;
			if (cat <= 0)
				return cp_ctl_error("usage", "unknown category '%s'", s ? s : "?");
			p->v.exempt_categories |= 1u << cat;
		}
		p->mask |= CP_PATCH_EXEMPT_CATS;
	}
	return NULL;
}

static int get_customer(struct cp_ctl_ctx *x, const char *id, struct cp_customer_rec *c)
{
	MDB_txn *txn;
	int rc;
	if (mdb_txn_begin(x->eng->store->env, NULL, MDB_RDONLY, &txn))
		return CP_ERR_STORE;
	rc = cp_customer_get(x->eng->store, txn, id, c);
	mdb_txn_abort(txn);
	return rc;
}

static json_t *history_json(struct cp_ctl_ctx *x, const char *id)
{
	json_t *a = json_array();
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	char cust[CP_SYSTEM_ID_MAX];

	cp_field_set(cust, sizeof(cust), id, strnlen(id, sizeof(cust)));
	if (mdb_txn_begin(x->eng->store->env, NULL, MDB_RDONLY, &txn))
		return a;
	if (mdb_cursor_open(txn, x->eng->store->dbi[CP_DBI_HISTORY], &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			struct cp_history_rec h;
			if (v.mv_size < sizeof(h))
				continue;
			memcpy(&h, v.mv_data, sizeof(h));
			if (memcmp(h.customer, cust, sizeof(cust)) != 0)
				continue;
			json_t *e = json_object();
			json_object_set_new(e, "time", jtime(h.time));
			json_object_set_new(e, "actor", jfield(h.actor, sizeof(h.actor)));
			json_object_set_new(e, "reason", jfield(h.reason, sizeof(h.reason)));
			json_object_set_new(e, "from", json_string(cp_standing_name(h.from)));
			json_object_set_new(e, "to", json_string(cp_standing_name(h.to)));
			json_object_set_new(
			    e, "source",
			    json_string(h.source == CP_SRC_POLICY ? "policy" : "operator"));
			json_object_set_new(e, "pending_review", json_boolean(h.pending));
			if (h.category)
				json_object_set_new(e, "category",
						    json_string(cp_category_name(h.category)));
			if (h.n_facts) {
				json_object_set_new(e, "facts", json_integer(h.n_facts));
				json_object_set_new(e, "first_violation",
						    json_integer((json_int_t)h.first_fact));
				json_object_set_new(e, "last_violation",
						    json_integer((json_int_t)h.last_fact));
			}
			json_array_append_new(a, e);
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return a;
}

static json_t *cmd_customers_show(struct cp_ctl_ctx *x, json_t *args)
{
	const char *id = arg_str(args, "id");
	struct cp_customer_rec c;
	uint32_t n30 = 0, n90 = 0;
	json_t *o, *w;
	int rc;

	if (!id)
		return cp_ctl_error("usage", "customers show needs an ID");
	rc = get_customer(x, id, &c);
	if (rc)
		return status_error(rc, id);
	o = customer_json(&c);
	cp_engine_complaints_count(x->eng, id, 30 * (uint64_t)CP_DAY, &n30);
	cp_engine_complaints_count(x->eng, id, 90 * (uint64_t)CP_DAY, &n90);
	json_object_set_new(o, "complaints_30d", json_integer(n30));
	json_object_set_new(o, "complaints_90d", json_integer(n90));
	w = json_object();
	for (unsigned cat = 1; cat < CP_CAT_COUNT; cat++) {
		uint32_t n = 0;
		uint64_t win =
		    x->eng->cfg.window_cat[cat] ? x->eng->cfg.window_cat[cat] : x->eng->cfg.window;
		if (cat == CP_CAT_COMPLAINTS)
			win = 90 * (uint64_t)CP_DAY;
		cp_engine_violations_count(x->eng, id, cat, win, 1000000, &n);
		if (n)
			json_object_set_new(w, cp_category_name(cat), json_integer(n));
	}
	json_object_set_new(o, "violations_in_window", w);
	json_object_set_new(o, "history", history_json(x, id));
	return ok(o);
}

static json_t *cmd_customers_list(struct cp_ctl_ctx *x, json_t *args)
{
	const char *want = arg_str(args, "standing");
	int ws = want ? cp_standing_parse(want) : -1;
	json_t *a = json_array();
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	if (want && ws < 0) {
		json_decref(a);
		return cp_ctl_error("usage", "unknown standing '%s'", want);
	}
	if (mdb_txn_begin(x->eng->store->env, NULL, MDB_RDONLY, &txn)) {
		json_decref(a);
		return cp_ctl_error("internal", "store");
	}
	if (mdb_cursor_open(txn, x->eng->store->dbi[CP_DBI_CUSTOMERS], &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			struct cp_customer_rec c;
			if (cp_customer_from_val(&v, &c))
				continue;
			if (ws >= 0 && c.standing != ws)
				continue;
			json_array_append_new(a, customer_json(&c));
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return ok(a);
}

static json_t *cmd_customers_addset(struct cp_ctl_ctx *x, json_t *args, bool add)
{
	const char *id = arg_str(args, "id");
	struct cp_customer_patch p;
	json_t *err;
	int rc;

	if (!id || !*id || strlen(id) >= CP_SYSTEM_ID_MAX)
		return cp_ctl_error("usage", "customer ID must be 1..%d characters",
				    CP_SYSTEM_ID_MAX - 1);
	if ((err = patch_from_args(args, &p)))
		return err;
	rc = add ? cp_engine_customer_add(x->eng, id, &p) : cp_engine_customer_set(x->eng, id, &p);
	if (rc)
		return status_error(rc, id);
	json_t *show = json_pack("{s:s}", "id", id);
	json_t *r = cmd_customers_show(x, show);
	json_decref(show);
	return r;
}

static json_t *cmd_customers_standing(struct cp_ctl_ctx *x, json_t *args)
{
	const char *id = arg_str(args, "id"), *to = arg_str(args, "to");
	const char *reason = arg_str(args, "reason");
	int st = to ? cp_standing_parse(to) : -1;
	bool changed = false;
	char actor[CP_ACTOR_MAX];
	int rc;

	if (!id || st < 0)
		return cp_ctl_error("usage", "needs an ID and a standing");
	if (!reason || !*reason)
		return cp_ctl_error("usage", "a reason is required (--reason TEXT)");
	if (strlen(reason) >= CP_REASON_MAX)
		return cp_ctl_error("usage", "the reason is %zu bytes; the history keeps at most %d",
				    strlen(reason), CP_REASON_MAX - 1);
	if (snprintf(actor, sizeof(actor), "%s",
		     arg_str(args, "actor") ? arg_str(args, "actor") : x->actor) >=
	    (int)sizeof(actor))
		return cp_ctl_error("usage", "the actor name is longer than %d bytes",
				    CP_ACTOR_MAX - 1);
	rc = cp_engine_set_standing(x->eng, id, (enum cp_standing)st, actor, reason,
				    arg_bool(args, "force"), &changed);
	if (rc == CP_ERR_REFUSED)
		return cp_ctl_error(
		    "refused", "%s is terminated; termination is final unless --force is given",
		    id);
	if (rc)
		return status_error(rc, id);
	struct cp_customer_rec c;
	get_customer(x, id, &c);
	json_t *o = customer_json(&c);
	json_object_set_new(o, "changed", json_boolean(changed));
	json_object_set_new(o, "generation", json_integer((json_int_t)x->eng->store->generation));
	return ok(o);
}

/* ------------------------------------------------------------------------- */
/* Complaints, evidence, events                                              */
/* ------------------------------------------------------------------------- */

static json_t *complaint_json(uint64_t id, const struct cp_complaint_rec *r, bool unmask)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer((json_int_t)id));
	json_object_set_new(o, "time", jtime(r->time));
	json_object_set_new(o, "customer", jfield(r->customer, sizeof(r->customer)));
	json_object_set_new(o, "msisdn", jmasked(r->msisdn, sizeof(r->msisdn), unmask));
	json_object_set_new(o, "source", jfield(r->source, sizeof(r->source)));
	json_object_set_new(
	    o, "text",
	    json_stringn(r->text, r->text_len <= sizeof(r->text) ? r->text_len : sizeof(r->text)));
	json_object_set_new(o, "message_id",
			    r->message_id ? json_integer((json_int_t)r->message_id) : json_null());
	return o;
}

static json_t *cmd_complaints_add(struct cp_ctl_ctx *x, json_t *args)
{
	const char *id = arg_str(args, "customer"), *msisdn = arg_str(args, "msisdn");
	const char *text = arg_str(args, "text"), *source = arg_str(args, "source");
	uint64_t cid, mid;
	struct cp_customer_rec before, after;
	int rc;

	if (!id || !msisdn || !*msisdn)
		return cp_ctl_error("usage", "complaints add needs --customer and --msisdn");
	if (strlen(msisdn) > 20)
		return cp_ctl_error("usage", "msisdn longer than 20 digits");
	if (text && !json_is_string(json_object_get(args, "text")))
		return cp_ctl_error("usage", "text must be a string");
	if (text && strlen(text) > CP_COMPLAINT_TEXT_MAX)
		return cp_ctl_error("usage", "complaint text is %zu bytes; a complaint keeps at most %d",
				    strlen(text), CP_COMPLAINT_TEXT_MAX);
	if (source && strlen(source) > CP_COMPLAINT_SOURCE_MAX)
		return cp_ctl_error("usage", "complaint source longer than %d characters",
				    CP_COMPLAINT_SOURCE_MAX);
	rc = get_customer(x, id, &before);
	if (rc)
		return status_error(rc, id);
	rc = cp_engine_complaint_add(x->eng, id, msisdn, text ? text : "",
				     source ? source : "operator", &cid, &mid);
	if (rc)
		return status_error(rc, id);
	get_customer(x, id, &after);
	uint32_t n30 = 0, n90 = 0;
	cp_engine_complaints_count(x->eng, id, 30 * (uint64_t)CP_DAY, &n30);
	cp_engine_complaints_count(x->eng, id, 90 * (uint64_t)CP_DAY, &n90);
	return ok(json_pack("{s:I, s:o, s:s, s:i, s:i, s:b}", "id", (json_int_t)cid, "message_id",
			    mid ? json_integer((json_int_t)mid) : json_null(), "standing",
			    cp_standing_name(after.standing), "complaints_30d", (int)n30,
			    "complaints_90d", (int)n90, "violation",
			    after.violations > before.violations));
}

static json_t *cmd_complaints_list(struct cp_ctl_ctx *x, json_t *args)
{
	const char *id = arg_str(args, "customer");
	bool unmask = arg_bool(args, "unmask");
	long long limit = 1000;
	json_t *a = json_array();
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	arg_int(args, "limit", &limit);
	if (mdb_txn_begin(x->eng->store->env, NULL, MDB_RDONLY, &txn)) {
		json_decref(a);
		return cp_ctl_error("internal", "store");
	}
	if (mdb_cursor_open(txn, x->eng->store->dbi[CP_DBI_COMPLAINTS], &cur) == 0) {
		while ((long long)json_array_size(a) < limit &&
		       mdb_cursor_get(cur, &k, &v, MDB_PREV) == 0) {
			struct cp_complaint_rec r;
			if (v.mv_size < sizeof(r) || k.mv_size != 8)
				continue;
			memcpy(&r, v.mv_data, sizeof(r));
			if (id && strncmp(r.customer, id, sizeof(r.customer)) != 0)
				continue;
			json_array_append_new(
			    a, complaint_json(cp_key_get_u64(k.mv_data), &r, unmask));
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return ok(a);
}

static json_t *message_json(MDB_txn *txn, struct cp_store *s, uint64_t id,
			    const struct cp_message_rec *m, bool unmask)
{
	json_t *o = json_object();
	uint8_t key[8];
	MDB_val k = {8, key}, v;

	json_object_set_new(o, "id", json_integer((json_int_t)id));
	json_object_set_new(o, "time", jtime(m->time_ms / 1000));
	json_object_set_new(o, "time_ms", json_integer((json_int_t)m->time_ms));
	json_object_set_new(o, "customer", jfield(m->customer, sizeof(m->customer)));
	json_object_set_new(o, "sender", jfield(m->sender, sizeof(m->sender)));
	json_object_set_new(o, "verdict",
			    json_string(m->verdict == CP_VERDICT_PASS	   ? "pass"
					: m->verdict == CP_VERDICT_BLOCK   ? "block"
					: m->verdict == CP_VERDICT_MONITOR ? "monitor"
									   : "throttle"));
	json_object_set_new(o, "category", json_string(cp_category_name(m->category)));
	json_object_set_new(o, "rule_id", json_integer(m->rule_id));
	json_object_set_new(o, "command_status", json_integer(m->command_status));
	char hash[17];
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)m->content_hash);
	json_object_set_new(o, "content_hash", json_string(hash));
	json_t *dest = NULL, *text = json_null();
	cp_key_u64(key, id);
	if (m->has_evidence && mdb_get(txn, s->dbi[CP_DBI_EVIDENCE], &k, &v) == 0 &&
	    v.mv_size >= sizeof(struct cp_evidence_rec)) {
		struct cp_evidence_rec ev;
		memcpy(&ev, v.mv_data, sizeof(ev));
		if (sizeof(ev) + ev.text_len + ev.dest_len <= v.mv_size) {
			const char *p = (const char *)v.mv_data + sizeof(ev);
			text = json_stringn(p, ev.text_len);
			if (!text)
				text = json_string("(text is not valid UTF-8)");
			if (unmask)
				dest = json_stringn(p + ev.text_len, ev.dest_len);
		}
	}
	if (!dest)
		dest = m->dest_masked && unmask ? json_string("(clear number not kept)")
		       : unmask			? jfield(m->destination, sizeof(m->destination))
				: jmasked(m->destination, sizeof(m->destination), false);
	json_object_set_new(o, "destination", dest);
	json_object_set_new(o, "text", text);
	return o;
}

/* Messages from a customer to a subscriber in [from_ms, to_ms]. */
static json_t *cmd_evidence(struct cp_ctl_ctx *x, json_t *args)
{
	struct cp_store *s = x->eng->store;
	const char *id = arg_str(args, "customer"), *msisdn = arg_str(args, "msisdn");
	long long around = (long long)cp_engine_now(x->eng), hours = 24, cid;
	bool unmask = arg_bool(args, "unmask");
	char cust[CP_SYSTEM_ID_MAX], dest[CP_ADDR_MAX];
	json_t *a, *res;
	MDB_txn *txn;

	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
		return cp_ctl_error("internal", "store");
	if (arg_int(args, "complaint", &cid)) {
		uint8_t key[8];
		MDB_val k = {8, key}, v;
		struct cp_complaint_rec r;
		cp_key_u64(key, (uint64_t)cid);
		if (mdb_get(txn, s->dbi[CP_DBI_COMPLAINTS], &k, &v) || v.mv_size < sizeof(r)) {
			mdb_txn_abort(txn);
			return cp_ctl_error("not_found", "complaint %lld: not found", cid);
		}
		memcpy(&r, v.mv_data, sizeof(r));
		memcpy(cust, r.customer, sizeof(cust));
		memcpy(dest, r.msisdn, sizeof(dest));
		around = (long long)r.time;
	} else {
		if (!id || !msisdn) {
			mdb_txn_abort(txn);
			return cp_ctl_error("usage",
					    "needs --complaint ID, or --customer and --msisdn");
		}
		cp_field_set(cust, sizeof(cust), id, strnlen(id, sizeof(cust) - 1));
		cp_field_set(dest, sizeof(dest), msisdn, strnlen(msisdn, sizeof(dest) - 1));
	}
	arg_int(args, "around", &around);
	arg_int(args, "hours", &hours);
	if (hours <= 0 || hours > 24 * 365) {
		mdb_txn_abort(txn);
		return cp_ctl_error("usage", "--hours must be 1..8760");
	}
	uint64_t from_ms = (uint64_t)(around > hours * 3600 ? around - hours * 3600 : 0) * 1000;
	uint64_t to_ms = (uint64_t)(around + hours * 3600) * 1000 + 999;
	uint8_t ikey[CP_SYSTEM_ID_MAX + 24];
	MDB_val k = {CP_SYSTEM_ID_MAX + 16, ikey}, v;
	MDB_cursor *cur;
	a = json_array();
	memcpy(ikey, cust, CP_SYSTEM_ID_MAX);
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX, cp_dest_hash(dest, strnlen(dest, sizeof(dest))));
	cp_key_u64(ikey + CP_SYSTEM_ID_MAX + 8, from_ms);
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_MSG_IDX], &cur) == 0) {
		int rc;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size != sizeof(ikey) ||
			    memcmp(k.mv_data, ikey, CP_SYSTEM_ID_MAX + 8))
				break;
			uint64_t t =
			    cp_key_get_u64((const uint8_t *)k.mv_data + CP_SYSTEM_ID_MAX + 8);
			if (t > to_ms)
				break;
			uint64_t mid =
			    cp_key_get_u64((const uint8_t *)k.mv_data + CP_SYSTEM_ID_MAX + 16);
			uint8_t mk[8];
			MDB_val mkv = {8, mk}, mv;
			struct cp_message_rec m;
			cp_key_u64(mk, mid);
			if (mdb_get(txn, s->dbi[CP_DBI_MESSAGES], &mkv, &mv) ||
			    mv.mv_size < sizeof(m))
				continue;
			memcpy(&m, mv.mv_data, sizeof(m));
			json_array_append_new(a, message_json(txn, s, mid, &m, unmask));
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	res = json_object();
	json_object_set_new(res, "customer", jfield(cust, sizeof(cust)));
	json_object_set_new(res, "msisdn", jmasked(dest, sizeof(dest), unmask));
	json_object_set_new(res, "from", jtime(from_ms / 1000));
	json_object_set_new(res, "to", jtime(to_ms / 1000));
	json_object_set_new(res, "messages", a);
	return ok(res);
}

static json_t *cmd_events(struct cp_ctl_ctx *x, json_t *args, bool tail)
{
	struct cp_store *s = x->eng->store;
	const char *id = arg_str(args, "customer");
	bool unmask = arg_bool(args, "unmask");
	long long limit = tail ? 20 : 100000, since = 0, until = 0;
	json_t *a = json_array();
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	arg_int(args, "limit", &limit);
	arg_int(args, "since", &since);
	arg_int(args, "until", &until);
	if (limit <= 0 || limit > 1000000) {
		json_decref(a);
		return cp_ctl_error("usage", "limit must be 1..1000000");
	}
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) {
		json_decref(a);
		return cp_ctl_error("internal", "store");
	}
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_MESSAGES], &cur) == 0) {
		MDB_cursor_op op = tail ? MDB_PREV : MDB_NEXT;
		while ((long long)json_array_size(a) < limit &&
		       mdb_cursor_get(cur, &k, &v, op) == 0) {
			struct cp_message_rec m;
			if (v.mv_size < sizeof(m) || k.mv_size != 8)
				continue;
			memcpy(&m, v.mv_data, sizeof(m));
			if (id && strncmp(m.customer, id, sizeof(m.customer)) != 0)
				continue;
			if (since && m.time_ms < (uint64_t)since * 1000)
				continue;
			if (until && m.time_ms >= (uint64_t)until * 1000)
				continue;
			json_array_append_new(
			    a, message_json(txn, s, cp_key_get_u64(k.mv_data), &m, unmask));
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return ok(a);
}

/* ------------------------------------------------------------------------- */
/* Opt-outs                                                                  */
/* ------------------------------------------------------------------------- */

static json_t *cmd_optouts_list(struct cp_ctl_ctx *x, json_t *args)
{
	const char *id = arg_str(args, "customer");
	bool unmask = arg_bool(args, "unmask");
	json_t *a = json_array();
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	if (mdb_txn_begin(x->eng->store->env, NULL, MDB_RDONLY, &txn)) {
		json_decref(a);
		return cp_ctl_error("internal", "store");
	}
	if (mdb_cursor_open(txn, x->eng->store->dbi[CP_DBI_OPTOUTS], &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			struct cp_optout_key ok_;
			struct cp_optout_rec r;
			if (k.mv_size != sizeof(ok_) || v.mv_size < sizeof(r))
				continue;
			memcpy(&ok_, k.mv_data, sizeof(ok_));
			memcpy(&r, v.mv_data, sizeof(r));
			if (id && strncmp(ok_.customer, id, sizeof(ok_.customer)) != 0)
				continue;
			json_t *o = json_object();
			json_object_set_new(o, "customer",
					    jfield(ok_.customer, sizeof(ok_.customer)));
			json_object_set_new(
			    o, "subscriber",
			    jmasked(ok_.subscriber, sizeof(ok_.subscriber), unmask));
			json_object_set_new(o, "sender",
					    ok_.sender[0] ? jfield(ok_.sender, sizeof(ok_.sender))
							  : json_null());
			json_object_set_new(
			    o, "source",
			    json_string(r.source == CP_SRC_DATAPLANE ? "subscriber" : "operator"));
			json_object_set_new(o, "time", jtime(r.time));
			json_array_append_new(a, o);
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return ok(a);
}

static json_t *cmd_optouts_change(struct cp_ctl_ctx *x, json_t *args, bool add)
{
	const char *id = arg_str(args, "customer"), *msisdn = arg_str(args, "msisdn");
	const char *sender = arg_str(args, "sender");
	int rc;

	if (!id || !msisdn)
		return cp_ctl_error("usage", "needs --customer and --msisdn");
	rc = cp_engine_optout(x->eng, id, msisdn, sender, add);
	if (rc == CP_ERR_NOTFOUND)
		return cp_ctl_error("not_found", "no such opt-out");
	if (rc)
		return status_error(rc, id);
	return ok(json_pack("{s:I}", "generation", (json_int_t)x->eng->store->generation));
}

/* ------------------------------------------------------------------------- */
/* Rules                                                                     */
/* ------------------------------------------------------------------------- */

static json_t *ruleset_json(const struct cp_ruleset_rec *h, uint64_t current)
{
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h->src_sha256[i]);
	return json_pack("{s:I, s:o, s:s, s:i, s:s, s:I, s:I, s:b}", "version",
			 (json_int_t)h->version, "published", jtime(h->published), "signer",
			 h->signer[0] ? h->signer : "(unsigned)", "rules", (int)h->n_rules,
			 "sha256", hex, "compiled_bytes", (json_int_t)h->blob_len, "source_bytes",
			 (json_int_t)h->src_len, "current", h->version == current);
}

static uint64_t current_ruleset(struct cp_store *s, MDB_txn *txn)
{
	uint64_t v = 0;
	cp_meta_get_u64(s, txn, CP_META_RULESET, &v);
	return v;
}

static json_t *cmd_rules_list(struct cp_ctl_ctx *x, json_t *args, bool show)
{
	struct cp_store *s = x->eng->store;
	long long want = 0;
	json_t *a = json_array(), *found = NULL;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;

	arg_int(args, "version", &want);
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) {
		json_decref(a);
		return cp_ctl_error("internal", "store");
	}
	uint64_t cur_v = current_ruleset(s, txn);
	if (show && want == 0)
		want = (long long)cur_v;
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_RULESETS], &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			struct cp_ruleset_rec h;
			if (v.mv_size < sizeof(h))
				continue;
			memcpy(&h, v.mv_data, sizeof(h));
			if (show && (long long)h.version == want)
				found = ruleset_json(&h, cur_v);
			else if (!show)
				json_array_append_new(a, ruleset_json(&h, cur_v));
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	if (!show)
		return ok(a);
	json_decref(a);
	if (!found)
		return want ? cp_ctl_error("not_found", "ruleset %lld: not found", want)
			    : cp_ctl_error("not_found", "no ruleset published yet");
	json_object_set_new(found, "history", history_json(x, "#rules"));
	return ok(found);
}

static json_t *cmd_rules_publish(struct cp_ctl_ctx *x, json_t *args)
{
	const char *path = arg_str(args, "path");
	struct cp_publish_result res;
	char err[1024];
	int rc;

	if (!path)
		return cp_ctl_error("usage", "rules publish needs a bundle path");
	rc = cp_rules_publish(x->eng, path, x->keys, x->n_keys, arg_bool(args, "allow_downgrade"),
			      x->actor, &res, err, sizeof(err));
	if (rc == CP_ERR_REFUSED || rc == CP_ERR_FORMAT)
		return cp_ctl_error("refused", "%s", err);
	if (rc == CP_ERR_IO)
		return cp_ctl_error("not_found", "%s", err);
	if (rc)
		return cp_ctl_error("internal", "%s", err);
	return ok(json_pack("{s:I, s:I, s:i, s:s, s:s, s:I}", "version", (json_int_t)res.version,
			    "previous", (json_int_t)res.previous, "rules", (int)res.n_rules,
			    "signer", res.signer[0] ? res.signer : "(unsigned)", "sha256",
			    res.sha256, "generation", (json_int_t)x->eng->store->generation));
}

static json_t *cmd_rules_rollback(struct cp_ctl_ctx *x, json_t *args)
{
	long long v;
	const char *reason = arg_str(args, "reason");
	int rc;

	if (!arg_int(args, "version", &v) || v <= 0)
		return cp_ctl_error("usage", "rules rollback needs a VERSION");
	if (!reason || !*reason)
		return cp_ctl_error("usage", "a reason is required (--reason TEXT)");
	rc = cp_rules_rollback(x->eng, (uint64_t)v, x->actor, reason);
	if (rc == CP_ERR_NOTFOUND)
		return cp_ctl_error("not_found", "ruleset %lld is not stored", v);
	if (rc)
		return status_error(rc, "rollback");
	return ok(json_pack("{s:I, s:I}", "version", (json_int_t)v, "generation",
			    (json_int_t)x->eng->store->generation));
}

/* ------------------------------------------------------------------------- */
/* Status                                                                    */
/* ------------------------------------------------------------------------- */

/* The @p n (rule, category, verdict) triples with the most messages. */
static json_t *top_rules(const struct cp_engine *e, unsigned n)
{
	const struct cp_rule_hits *best[8] = {0};
	json_t *a = json_array();

	if (n > 8)
		n = 8;
	for (unsigned i = 0; i < CP_RULE_HITS_MAX; i++) {
		const struct cp_rule_hits *h = &e->hits[i];
		if (!h->rule_id)
			continue;
		for (unsigned k = 0; k < n; k++) {
			if (!best[k] || h->n > best[k]->n ||
			    (h->n == best[k]->n && h->rule_id < best[k]->rule_id)) {
				memmove(&best[k + 1], &best[k], (n - 1 - k) * sizeof(best[0]));
				best[k] = h;
				break;
			}
		}
	}
	static const char *const verdicts[] = {"pass", "block", "monitor", "throttle"};
	for (unsigned k = 0; k < n && best[k]; k++)
		json_array_append_new(
		    a, json_pack("{s:I, s:s, s:s, s:I}", "rule", (json_int_t)best[k]->rule_id,
				 "category", cp_category_name(best[k]->category), "verdict",
				 verdicts[best[k]->verdict & 3], "messages", (json_int_t)best[k]->n));
	return a;
}

static json_t *cmd_status(struct cp_ctl_ctx *x)
{
	struct cp_engine *e = x->eng;
	struct cp_store *s = e->store;
	unsigned by[4] = {0}, review = 0;
	json_t *o = json_object(), *cust, *cats, *rs = json_null(), *dp, *ing, *store;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	MDB_envinfo info;
	MDB_stat st;

	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) {
		json_decref(o);
		return cp_ctl_error("internal", "store");
	}
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_CUSTOMERS], &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			struct cp_customer_rec c;
			if (cp_customer_from_val(&v, &c) == 0 && c.standing <= 3) {
				by[c.standing]++;
				review += !!(c.flags & CP_CUST_F_REVIEW);
			}
		}
		mdb_cursor_close(cur);
	}
	uint64_t cv = current_ruleset(s, txn);
	if (cv) {
		uint8_t key[8];
		MDB_val rk = {8, key}, rv;
		struct cp_ruleset_rec h;
		cp_key_u64(key, cv);
		if (mdb_get(txn, s->dbi[CP_DBI_RULESETS], &rk, &rv) == 0 &&
		    rv.mv_size >= sizeof(h)) {
			memcpy(&h, rv.mv_data, sizeof(h));
			rs = ruleset_json(&h, cv);
			json_object_set_new(
			    rs, "age_seconds",
			    json_integer((json_int_t)(cp_engine_now(e) - h.published)));
		}
	}
	size_t counts[3] = {0};
	enum cp_db dbs[3] = {CP_DBI_MESSAGES, CP_DBI_VIOLATIONS, CP_DBI_COMPLAINTS};
	for (int i = 0; i < 3; i++)
		if (mdb_stat(txn, s->dbi[dbs[i]], &st) == 0)
			counts[i] = st.ms_entries;
	mdb_txn_abort(txn);
	mdb_env_info(s->env, &info);

	cust = json_pack("{s:i, s:i, s:i, s:i, s:i}", "active", by[0], "warned", by[1], "suspended",
			 by[2], "terminated", by[3], "pending_review", review);
	cats = json_object();
	for (unsigned i = 1; i < CP_CAT_COUNT; i++)
		if (e->by_category[i])
			json_object_set_new(cats, cp_category_name(i),
					    json_integer((json_int_t)e->by_category[i]));
	dp = json_pack(
	    "{s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "up", x->dp_connected > 0,
	    "connected", x->dp_connected, "connects", (json_int_t)x->dp_connects, "rx_pdus",
	    (json_int_t)e->dp_stats.rx_pdus, "passed", (json_int_t)e->dp_stats.passed, "blocked",
	    (json_int_t)e->dp_stats.blocked, "throttled", (json_int_t)e->dp_stats.throttled,
	    "observations_dropped", (json_int_t)e->dp_stats.obs_dropped, "flows",
	    (json_int_t)e->dp_stats.flows, "errors", (json_int_t)e->dp_stats.errors);
	ing = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "observations",
			(json_int_t)e->ingested_obs, "facts", (json_int_t)e->ingested_facts,
			"duplicate_facts", (json_int_t)e->duplicate_facts, "bad_events",
			(json_int_t)e->bad_events, "passed", (json_int_t)e->passed, "blocked",
			(json_int_t)e->blocked, "acks_sent", (json_int_t)x->acks_sent,
			"generations_sent", (json_int_t)x->gens_sent);
	store =
	    json_pack("{s:s, s:I, s:I, s:i, s:I, s:I, s:I, s:i}", "path", x->lmdb_path, "map_size",
		      (json_int_t)s->map_size, "map_used",
		      (json_int_t)(info.me_last_pgno + 1) * 4096, "map_grows", (int)s->map_grows,
		      "messages", (json_int_t)counts[0], "violations", (json_int_t)counts[1],
		      "complaints", (json_int_t)counts[2], "schema", CP_SCHEMA_VERSION);
	json_object_set_new(
	    o, "mode",
	    json_string(smsfw_conf_enum(x->conf, SMSFW_CONF_general_mode) ? "monitor" : "inline"));
	json_object_set_new(o, "generation", json_integer((json_int_t)s->generation));
	json_object_set_new(o, "uptime_seconds",
			    json_integer((json_int_t)((uint64_t)time(NULL) - x->started)));
	json_object_set_new(o, "dataplane", dp);
	json_object_set_new(o, "ports", x->met ? cp_metrics_ports_json(x->met) : json_array());
	json_object_set_new(o, "ruleset", rs);
	json_object_set_new(o, "customers", cust);
	json_object_set_new(o, "blocked_by_category", cats);
	json_object_set_new(o, "ingest", ing);
	json_object_set_new(o, "store", store);
	json_object_set_new(o, "review_mode", json_boolean(e->cfg.review));
	json_object_set_new(o, "top_rules", top_rules(e, 5));
	return ok(o);
}

json_t *cp_ctl_dispatch(struct cp_ctl_ctx *x, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *args = json_object_get(req, "args");
	json_t *empty = NULL, *r;

	if (!cmd)
		return cp_ctl_error("usage", "request has no \"cmd\"");
	if (!json_is_object(args))
		args = empty = json_object();
	if (strcmp(cmd, "status") == 0)
		r = cmd_status(x);
	else if (strcmp(cmd, "customers.list") == 0)
		r = cmd_customers_list(x, args);
	else if (strcmp(cmd, "customers.show") == 0)
		r = cmd_customers_show(x, args);
	else if (strcmp(cmd, "customers.add") == 0)
		r = cmd_customers_addset(x, args, true);
	else if (strcmp(cmd, "customers.set") == 0)
		r = cmd_customers_addset(x, args, false);
	else if (strcmp(cmd, "customers.standing") == 0)
		r = cmd_customers_standing(x, args);
	else if (strcmp(cmd, "complaints.add") == 0)
		r = cmd_complaints_add(x, args);
	else if (strcmp(cmd, "complaints.list") == 0)
		r = cmd_complaints_list(x, args);
	else if (strcmp(cmd, "evidence.show") == 0 || strcmp(cmd, "evidence.export") == 0)
		r = cmd_evidence(x, args);
	else if (strcmp(cmd, "events.tail") == 0)
		r = cmd_events(x, args, true);
	else if (strcmp(cmd, "events.export") == 0)
		r = cmd_events(x, args, false);
	else if (strcmp(cmd, "optouts.list") == 0)
		r = cmd_optouts_list(x, args);
	else if (strcmp(cmd, "optouts.add") == 0)
		r = cmd_optouts_change(x, args, true);
	else if (strcmp(cmd, "optouts.remove") == 0)
		r = cmd_optouts_change(x, args, false);
	else if (strcmp(cmd, "rules.publish") == 0)
		r = cmd_rules_publish(x, args);
	else if (strcmp(cmd, "rules.list") == 0)
		r = cmd_rules_list(x, args, false);
	else if (strcmp(cmd, "rules.show") == 0)
		r = cmd_rules_list(x, args, true);
	else if (strcmp(cmd, "rules.rollback") == 0)
		r = cmd_rules_rollback(x, args);
	else
		r = cp_ctl_error("usage", "unknown command '%s'", cmd);
	json_decref(empty);
	return r;
}
