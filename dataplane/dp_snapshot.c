/* dp_snapshot.c — the main lcore builds what workers read, and swaps it.
 *
 * A snapshot = the loaded ruleset (with one scratch and one concatenation
 * stream area per worker), the customers and the opt-outs. Sources, in this
 * order: the compiled ruleset in the control plane's LMDB store, else the
 * standalone `rules` path (a compiled ruleset file or a rule directory);
 * customers and opt-outs from the store when it exists; unknown system_ids
 * get the configured default profile.
 *
 * Swap (rte_rcu_qsbr): allocate everything, publish the pointer with a
 * release store, take a grace-period token, and free the old snapshot only
 * when every worker has reported a quiescent state after the token. The
 * main lcore checks the token from its timer loop; it never spins on it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_log.h>
#include <rte_malloc.h>

#include "cp.h"
#include "dp_app.h"
#include "pat.h"

static void rules_free(struct dp_app *a, struct dp_rules *r)
{
	if (r == NULL)
		return;
	for (unsigned w = 0; w < a->n_workers; w++) {
		pat_scratch_free(r->scratch[w]);
		rte_free(r->concat_mem[w]);
	}
	pat_ruleset_free((struct pat_ruleset *)(uintptr_t)r->rs);
	free(r);
}

/* Load the ruleset: the store's current one, else the standalone path.
 * With @p only_if_changed, return 1 (and nothing in *out) when the store's
 * ruleset is the one already running, or when there is none in the store
 * (the standalone rules only reload on SIGHUP). */
static int rules_load(struct dp_app *a, struct pat_ruleset **out, bool only_if_changed, char *err,
		      size_t errlen)
{
	struct pat_error pe;
	memset(&pe, 0, sizeof(pe));
	*out = NULL;
	if (a->reader != NULL) {
		void *blob = NULL;
		size_t len = 0;
		struct cp_ruleset_rec hdr;
		if (cp_reader_ruleset_load(a->reader, &hdr, &blob, &len) == CP_OK) {
			if (only_if_changed && a->store_rs_known && hdr.version == a->store_rs_version &&
			    memcmp(hdr.src_sha256, a->store_rs_sha, sizeof(a->store_rs_sha)) == 0) {
				free(blob);
				return 1;
			}
			int rc = pat_ruleset_load(blob, len, out, &pe);
			free(blob);
			if (rc == PAT_OK) {
				a->store_rs_known = 1;
				a->store_rs_version = hdr.version;
				memcpy(a->store_rs_sha, hdr.src_sha256, sizeof(a->store_rs_sha));
				return 0;
			}
			snprintf(err, errlen, "store ruleset: %s %s", pat_strerror(rc), pe.message);
			return -1;
		}
	}
	if (only_if_changed)
		return 1;
	if (a->rules[0] == '\0')
		return 0; /* no rules: failure_no_ruleset applies */
	struct stat st;
	if (stat(a->rules, &st) != 0) {
		snprintf(err, errlen, "rules %s: not found", a->rules);
		return -1;
	}
	int rc = S_ISDIR(st.st_mode) ? pat_ruleset_compile_dir(a->rules, NULL, out, &pe)
				     : pat_ruleset_load_file(a->rules, out, &pe);
	if (rc != PAT_OK) {
		snprintf(err, errlen, "rules %s: %s: %s:%u: %s", a->rules, pat_strerror(rc), pe.file,
			 pe.line, pe.message);
		return -1;
	}
	return 0;
}

static struct dp_rules *rules_make(struct dp_app *a, struct pat_ruleset *rs, char *err,
				   size_t errlen)
{
	struct dp_rules *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		pat_ruleset_free(rs);
		return NULL;
	}
	r->rs = rs;
	r->version = pat_ruleset_version(rs);
	r->stream_size = (pat_stream_size(rs) + 7) & ~(size_t)7;
	for (unsigned w = 0; w < a->n_workers; w++) {
		int rc = pat_scratch_alloc(rs, &r->scratch[w]);
		if (rc != PAT_OK) {
			snprintf(err, errlen, "scratch: %s", pat_strerror(rc));
			goto fail;
		}
		r->concat_mem[w] = rte_zmalloc("dp_concat_streams",
					       r->stream_size * a->set.concat_max, 64);
		if (r->concat_mem[w] == NULL) {
			snprintf(err, errlen, "no memory for %u concatenation streams of %zu bytes",
				 a->set.concat_max, r->stream_size);
			goto fail;
		}
	}
	return r;
fail:
	rules_free(a, r);
	return NULL;
}

struct cust_acc {
	struct dp_customer *v;
	uint32_t n, cap;
};

static int cust_visit(const struct cp_customer_rec *rec, void *arg)
{
	struct cust_acc *acc = arg;
	if (acc->n == acc->cap) {
		uint32_t cap = acc->cap ? acc->cap * 2 : 64;
		struct dp_customer *v = realloc(acc->v, cap * sizeof(*v));
		if (v == NULL)
			return 1;
		acc->v = v;
		acc->cap = cap;
	}
	struct dp_customer *c = &acc->v[acc->n++];
	memset(c, 0, sizeof(*c));
	memcpy(c->system_id, rec->system_id, sizeof(c->system_id) - 1);
	c->standing = rec->standing;
	c->bulk_ok = (rec->flags & CP_CUST_F_BULK_OPTIN) != 0;
	c->rate_per_s = rec->rate_per_sec;
	c->burst = rec->rate_burst;
	c->sender_rate_per_s = rec->sender_rate_per_sec;
	c->sender_burst = rec->sender_burst;
	c->exempt_categories = rec->exempt_categories;
	for (unsigned i = 0; i < rec->n_exceptions && i < DP_EXEMPT_RULES && i < CP_MAX_EXCEPTIONS; i++)
		c->exempt_rules[i] = rec->exempt_rules[i];
	c->n_senders = rec->n_senders < DP_ALLOWED_SENDERS ? rec->n_senders : DP_ALLOWED_SENDERS;
	c->any_sender = rec->n_senders == 0;
	c->max_binds = rec->max_binds;
	c->binds_per_min = rec->binds_per_min;
	c->n_ipranges = rec->n_ipranges < DP_IPRANGES ? rec->n_ipranges : DP_IPRANGES;
	for (unsigned i = 0; i < c->n_ipranges; i++) {
		memcpy(c->ipranges[i].addr, rec->ipranges[i].addr, 16);
		c->ipranges[i].prefix_len = rec->ipranges[i].prefix_len;
	}
	for (unsigned i = 0; i < c->n_senders; i++)
		snprintf(c->senders[i], DP_SENDER_MAX, "%.*s", (int)strnlen(rec->senders[i], CP_ADDR_MAX),
			 rec->senders[i]);
	return 0;
}

struct opt_acc {
	uint64_t *v;
	uint32_t n, cap;
	bool sender_scope;
};

static int optout_visit(const struct cp_optout_key *key, const struct cp_optout_rec *rec, void *arg)
{
	struct opt_acc *acc = arg;
	(void)rec;
	if (acc->n == acc->cap) {
		uint32_t cap = acc->cap ? acc->cap * 2 : 256;
		uint64_t *v = realloc(acc->v, cap * sizeof(*v));
		if (v == NULL)
			return 1;
		acc->v = v;
		acc->cap = cap;
	}
	char sid[DP_SYSTEM_ID_MAX];
	snprintf(sid, sizeof(sid), "%.*s", (int)strnlen(key->customer, CP_SYSTEM_ID_MAX), key->customer);
	size_t sl = strnlen(key->sender, CP_ADDR_MAX);
	const uint8_t *snd = acc->sender_scope && sl ? (const uint8_t *)key->sender : NULL;
	acc->v[acc->n++] = dp_optout_key(sid, (const uint8_t *)key->subscriber,
					 (uint32_t)strnlen(key->subscriber, CP_ADDR_MAX), snd, (uint32_t)sl);
	return 0;
}

static int cmp_cust(const void *x, const void *y)
{
	return strncmp(((const struct dp_customer *)x)->system_id,
		       ((const struct dp_customer *)y)->system_id, DP_SYSTEM_ID_MAX);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

int dp_snapshot_build(struct dp_app *a, struct dp_snapshot **out, char *err, size_t errlen)
{
	struct dp_snapshot *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return DP_ENOMEM;
	/* Keep the ruleset of the current snapshot unless asked to reload it. */
	const struct dp_snapshot *cur = a->snap;
	uint64_t gen = 0;
	if (a->reader != NULL)
		cp_reader_generation(a->reader, &gen);
	bool reload_rules = cur == NULL || a->reload || cur->rules == NULL;
	/* A new store generation may carry a new ruleset: load it only if its
	 * version or source hash differs from the running one. */
	bool maybe = !reload_rules && a->reader != NULL && gen != a->lmdb_gen;
	if (reload_rules || maybe) {
		struct pat_ruleset *rs = NULL;
		int rc = rules_load(a, &rs, maybe, err, errlen);
		if (rc < 0) {
			free(s);
			return DP_ECONFIG;
		}
		if (rc == 1) {
			s->rules = cur->rules;
		} else if (rs != NULL) {
			s->rules = rules_make(a, rs, err, errlen);
			if (s->rules == NULL) {
				free(s);
				return DP_ENOMEM;
			}
		}
	} else {
		s->rules = cur->rules;
	}
	if (a->reader != NULL) {
		struct cust_acc ca = { 0 };
		struct opt_acc oa = { .sender_scope = a->set.optout_scope_sender };
		cp_reader_customers_each(a->reader, cust_visit, &ca, NULL);
		cp_reader_optouts_each(a->reader, optout_visit, &oa, NULL);
		if (ca.n)
			qsort(ca.v, ca.n, sizeof(*ca.v), cmp_cust);
		if (oa.n)
			qsort(oa.v, oa.n, sizeof(*oa.v), cmp_u64);
		s->cust = ca.v;
		s->n_cust = ca.n;
		s->optouts = oa.v;
		s->n_optouts = oa.n;
		a->lmdb_gen = gen;
	}
	s->generation = ++a->generation;
	*out = s;
	return DP_OK;
}

static bool rules_in_use(const struct dp_app *a, const struct dp_rules *r)
{
	for (unsigned w = 0; w < a->n_workers; w++) {
		const struct dp_rules *cur, *old;
		if (a->eng[w] == NULL)
			continue;
		dp_engine_rules_in_use(a->eng[w], &cur, &old);
		if (cur == r || old == r)
			return true;
	}
	return false;
}

/* Free a replaced ruleset, or keep it until the concatenated messages that
 * started on it are done (the workers say so). */
static void rules_release(struct dp_app *a, struct dp_rules *r)
{
	for (unsigned i = 0; i < sizeof(a->zombies) / sizeof(a->zombies[0]); i++)
		if (a->zombies[i] == r)
			return; /* already waiting */
	if (!rules_in_use(a, r)) {
		rules_free(a, r);
		return;
	}
	for (unsigned i = 0; i < sizeof(a->zombies) / sizeof(a->zombies[0]); i++)
		if (a->zombies[i] == NULL) {
			a->zombies[i] = r;
			return;
		}
	/* Eight rulesets replaced within one concat_timeout: the workers
	 * abandon all but the previous one, so this is not reached; keep the
	 * memory rather than risk a use after free. */
	RTE_LOG(WARNING, USER1, "smsfw: replaced ruleset kept (too many swaps in flight)\n");
}

void dp_snapshot_free(struct dp_app *a, struct dp_snapshot *s)
{
	if (s == NULL)
		return;
	/* The ruleset is shared with the next snapshot unless it changed. */
	if (s->rules != NULL && (a->snap == NULL || a->snap->rules != s->rules))
		rules_release(a, (struct dp_rules *)(uintptr_t)s->rules);
	free((void *)(uintptr_t)s->cust);
	free((void *)(uintptr_t)s->optouts);
	free(s);
}

void dp_snapshot_reap(struct dp_app *a, bool wait)
{
	for (unsigned i = 0; i < sizeof(a->zombies) / sizeof(a->zombies[0]); i++)
		if (a->zombies[i] != NULL && (a->snap == NULL || !rules_in_use(a, a->zombies[i]))) {
			rules_free(a, a->zombies[i]);
			a->zombies[i] = NULL;
		}
	if (a->retired == NULL)
		return;
	if (rte_rcu_qsbr_check(a->qsv, a->retire_token, wait) != 1)
		return;
	pthread_mutex_lock(&a->lock);
	dp_snapshot_free(a, a->retired);
	a->retired = NULL;
	pthread_mutex_unlock(&a->lock);
}

int dp_snapshot_publish(struct dp_app *a)
{
	char err[512] = "";
	/* One swap at a time: the previous grace period must be over (the
	 * main loop retries on its next tick, so a swap is never lost). */
	dp_snapshot_reap(a, false);
	if (a->retired != NULL)
		return DP_AGAIN;
	struct dp_snapshot *s;
	int rc = dp_snapshot_build(a, &s, err, sizeof(err));
	a->reload = 0;
	if (rc != DP_OK) {
		a->swap_failures++;
		RTE_LOG(ERR, USER1, "smsfw: snapshot not replaced: %s\n", err);
		return rc;
	}
	pthread_mutex_lock(&a->lock);
	struct dp_snapshot *old = a->snap;
	/* Release: workers that see the pointer see the snapshot's contents. */
	__atomic_store_n(&a->snap, s, __ATOMIC_RELEASE);
	if (s->rules != NULL && (old == NULL || old->rules != s->rules)) {
		a->ruleset_version = s->rules->version;
		a->ruleset_rules = pat_ruleset_rule_count(s->rules->rs);
		pat_ruleset_source_hash_hex(s->rules->rs, a->ruleset_hash);
		a->swaps++;
		RTE_LOG(INFO, USER1, "smsfw: ruleset %s (%zu rules, version %" PRIu64 ") active\n",
			a->ruleset_hash, a->ruleset_rules, a->ruleset_version);
	}
	pthread_mutex_unlock(&a->lock);
	if (old != NULL) {
		a->retired = old;
		/* Token after the store: workers reporting past it no longer
		 * hold the old pointer. */
		a->retire_token = rte_rcu_qsbr_start(a->qsv);
	}
	return DP_OK;
}
