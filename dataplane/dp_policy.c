/* dp_policy.c — the verdict pipeline of one worker.
 *
 * For submit_sm, data_sm and each destination of submit_multi, in order:
 * customer standing → rate limits (token buckets per customer and per
 * customer + sender) → opt-outs → sender-ID rules → content (block mode for
 * single-part messages, one Hyperscan stream per concatenated message in
 * flight) → bulk fingerprint → per-recipient velocity. The first step that
 * objects decides; every verdict carries its rule id and category.
 * deliver_sm (and data_sm toward the ESME) teach opt-outs from keywords.
 *
 * All state lives in fixed tables made at creation; nothing here allocates,
 * blocks or locks.
 */
#include <pthread.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dp_priv.h"
#include "pat.h"
#include "smpp.h"

#define SMSFW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ------------------------------------------------------------- hashing */

/* Two CRC32C lanes over the same bytes (the values rte_hash_crc gives with
 * the two seeds), computed in one pass so the two dependency chains overlap.
 * Built for SSE4.2 whatever the build's -march, used when the CPU has it. */
__attribute__((target("sse4.2"))) static uint64_t crc_lanes_sse42(const uint8_t *q, size_t n,
								   uint32_t a, uint32_t b)
{
	uint64_t a64 = a, b64 = b;
	for (; n >= 8; n -= 8, q += 8) {
		uint64_t w;
		memcpy(&w, q, 8);
		a64 = __builtin_ia32_crc32di(a64, w);
		b64 = __builtin_ia32_crc32di(b64, w);
	}
	a = (uint32_t)a64;
	b = (uint32_t)b64;
	if (n & 4) {
		uint32_t w;
		memcpy(&w, q, 4);
		a = __builtin_ia32_crc32si(a, w);
		b = __builtin_ia32_crc32si(b, w);
		q += 4;
	}
	if (n & 2) {
		uint16_t w;
		memcpy(&w, q, 2);
		a = __builtin_ia32_crc32hi(a, w);
		b = __builtin_ia32_crc32hi(b, w);
		q += 2;
	}
	if (n & 1) {
		a = __builtin_ia32_crc32qi(a, *q);
		b = __builtin_ia32_crc32qi(b, *q);
	}
	return ((uint64_t)a << 32) | b;
}

uint64_t dp_hash64(const void *p, size_t len, uint64_t seed)
{
	static int sse42 = -1;
	uint32_t a = (uint32_t)seed ^ 0x9e3779b9u;
	uint32_t b = (uint32_t)(seed >> 32) ^ 0x85ebca6bu;
	int have = __atomic_load_n(&sse42, __ATOMIC_RELAXED);
	if (SMSFW_UNLIKELY(have < 0)) {
		have = __builtin_cpu_supports("sse4.2") ? 1 : 0;
		__atomic_store_n(&sse42, have, __ATOMIC_RELAXED);
	}
	uint64_t h;
	if (have) {
		h = crc_lanes_sse42(p, len, a, b);
	} else {
		a = rte_hash_crc(p, (uint32_t)len, a);
		b = rte_hash_crc(p, (uint32_t)len, b);
		h = ((uint64_t)a << 32) | b;
	}
	return h ? h : 1; /* 0 marks an empty slot */
}

static uint64_t hash_str(const char *s, uint64_t seed)
{
	return dp_hash64(s, strnlen(s, DP_SYSTEM_ID_MAX), seed);
}

/* Subscriber numbers are compared without a leading '+'. */
static void addr_norm(const uint8_t **p, uint32_t *len)
{
	if (*len > 0 && (*p)[0] == '+') {
		(*p)++;
		(*len)--;
	}
}

/* A subscriber number as opt-outs key it: without a leading '+' or the
 * international prefix "00" ("+4477...", "004477..." and "4477..." are one
 * subscriber; a national "077..." stays as it is). */
static void subscriber_norm(const uint8_t **p, uint32_t *len)
{
	if (*len > 2 && (*p)[0] == '0' && (*p)[1] == '0') {
		*p += 2;
		*len -= 2;
	} else {
		addr_norm(p, len);
	}
}

/* dp_optout_key() from the system_id's hash (hash_str(id, sid_seed[DP_SH_OPTOUT])). */
static uint64_t optout_key_h(uint64_t h, const uint8_t *sub, uint32_t sub_len,
			     const uint8_t *sender, uint32_t sender_len)
{
	subscriber_norm(&sub, &sub_len);
	h = dp_hash64(sub, sub_len, h);
	if (sender != NULL) {
		/* A numeric sender in either form ("+4477..." or "4477..."). */
		subscriber_norm(&sender, &sender_len);
		h = dp_hash64(sender, sender_len, h ^ 0x5e4de2);
	}
	return h;
}

/* The seed of each hash of a system_id (DP_SH_*). */
static const uint64_t sid_seed[DP_SH__COUNT] = {
	[DP_SH_OPTOUT] = 0x0b7001, [DP_SH_FP] = 0xb01c, [DP_SH_VELO] = 0x7e10,
	[DP_SH_RATE] = 0x4a7e, [DP_SH_CONCAT] = 0xc0ca7,
};

uint64_t dp_optout_key(const char *system_id, const uint8_t *sub, uint32_t sub_len,
		       const uint8_t *sender, uint32_t sender_len)
{
	return optout_key_h(hash_str(system_id, sid_seed[DP_SH_OPTOUT]), sub, sub_len, sender,
			    sender_len);
}

/* hash_str(sid, seed) for each DP_SH_* seed, from the worker's cache (the
 * pointer is good until the next call). @p sid is a DP_SYSTEM_ID_MAX array
 * (NUL-terminated or full). */
static const uint64_t *sid_hashes(struct dp_engine *e, const char *sid)
{
	_Static_assert(DP_SYSTEM_ID_MAX == 16, "the cache keys on 16 bytes");
	uint64_t w[2];
	memcpy(w, sid, sizeof(w));
	uint32_t set = (uint32_t)(((w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull) >> 57) &
		       (DP_SID_SETS - 1);
	struct dp_sid_hash *way = &e->sid_cache[set * DP_SID_WAYS];
	for (unsigned k = 0; k < DP_SID_WAYS; k++)
		if (way[k].valid && way[k].w[0] == w[0] && way[k].w[1] == w[1])
			return way[k].h;
	/* Replace the ways in turn. */
	struct dp_sid_hash *c = &way[way[0].next];
	way[0].next = (uint8_t)((way[0].next + 1) % DP_SID_WAYS);
	size_t len = strnlen(sid, DP_SYSTEM_ID_MAX);
	for (unsigned k = 0; k < DP_SH__COUNT; k++)
		c->h[k] = dp_hash64(sid, len, sid_seed[k]);
	c->w[0] = w[0];
	c->w[1] = w[1];
	c->valid = 1;
	return c->h;
}

const struct dp_customer *dp_snapshot_customer(const struct dp_snapshot *snap,
					       const char *system_id)
{
	uint32_t lo = 0, hi = snap->n_cust;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = strncmp(system_id, snap->cust[mid].system_id, DP_SYSTEM_ID_MAX);
		if (c == 0)
			return &snap->cust[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool snapshot_optout(const struct dp_snapshot *snap, uint64_t key)
{
	if (snap == NULL)
		return false;
	uint32_t lo = 0, hi = snap->n_optouts;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (snap->optouts[mid] == key)
			return true;
		if (snap->optouts[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Bytes of text of early parts a message in flight may hold (concat_feed). */
#define DP_CONCAT_HOLD 1024u

/* -------------------------------------------------------------- ctable */

struct dp_cslot *dp_ct_get(struct dp_ctable *t, uint64_t key, uint64_t now_ms, bool create)
{
	uint32_t i = (uint32_t)key & t->mask;
	struct dp_cslot *oldest = NULL;
	for (unsigned n = 0; n < DP_CT_PROBE; n++, i = (i + 1) & t->mask) {
		struct dp_cslot *s = &t->slots[i];
		if (s->key == key)
			return s;
		if (s->key == 0) {
			if (!create)
				return NULL;
			oldest = s;
			break;
		}
		if (oldest == NULL || s->t_ms < oldest->t_ms)
			oldest = s;
	}
	if (!create)
		return NULL;
	if (oldest->key != 0)
		++*t->evicted;
	else
		t->used++;
	memset(oldest, 0, sizeof(*oldest));
	oldest->key = key;
	oldest->t_ms = now_ms;
	return oldest;
}

void dp_ct_del(struct dp_ctable *t, uint64_t key)
{
	struct dp_cslot *s = dp_ct_get(t, key, 0, false);
	if (s != NULL) {
		s->key = 0;
		t->used--;
	}
	/* A hole inside a probe run only shortens later probes: a moved entry
	 * is at worst re-created (a bucket refilled, a window restarted). */
}

static int ct_init(struct dp_ctable *t, uint32_t slots, int socket, uint64_t *evicted)
{
	uint32_t n = 64;
	while (n < slots)
		n <<= 1;
	t->slots = rte_zmalloc_socket("dp_ctable", (size_t)n * sizeof(struct dp_cslot), 64, socket);
	t->mask = n - 1;
	t->evicted = evicted;
	return t->slots ? DP_OK : DP_ENOMEM;
}

/* ------------------------------------------------------------ lifetime */

/* ---------------------------------------------- shared rate buckets */

/* The customer and customer+sender token buckets are one table for all the
 * engines made with the same settings (the workers of one dataplane): a
 * customer gets its rate whichever workers RSS gives its connections to.
 * Each bucket is a GCRA cell, its theoretical arrival time in ns, updated
 * with compare-and-swap: a token bucket of `burst` tokens refilled at `rate`
 * per second. A slot is claimed by CAS on its key; a slot whose bucket is
 * full again (tat more than a second in the past) may be taken over by
 * another key. When the probe finds no slot the worker falls back to its
 * own bucket with its share of the rate (rate / workers). */
struct dp_rate_cell {
	uint64_t key; /* 0 = free */
	uint64_t tat; /* ns */
};

struct rate_reg {
	const struct dp_settings *set;
	struct dp_rate_cell *cells;
	uint32_t mask;
	unsigned refs;
	struct rate_reg *next;
};

static pthread_mutex_t rate_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rate_reg *rate_regs;

static int rate_attach(struct dp_engine *e, int socket)
{
	int rc = DP_OK;
	pthread_mutex_lock(&rate_mu);
	struct rate_reg *r = rate_regs;
	while (r != NULL && r->set != e->set)
		r = r->next;
	if (r == NULL) {
		uint32_t n = 64;
		while (n < e->set->table_slots)
			n <<= 1;
		r = rte_zmalloc_socket("dp_rate_reg", sizeof(*r), 64, socket);
		struct dp_rate_cell *c =
			r ? rte_zmalloc_socket("dp_rate_cells", (size_t)n * sizeof(*c), 64, socket) : NULL;
		if (c == NULL) {
			rte_free(r);
			rc = DP_ENOMEM;
			goto out;
		}
		r->set = e->set;
		r->cells = c;
		r->mask = n - 1;
		r->next = rate_regs;
		rate_regs = r;
	}
	r->refs++;
	e->rate_cells = r->cells;
	e->rate_mask = r->mask;
out:
	pthread_mutex_unlock(&rate_mu);
	return rc;
}

static void rate_detach(struct dp_engine *e)
{
	if (e->rate_cells == NULL)
		return;
	pthread_mutex_lock(&rate_mu);
	for (struct rate_reg **pp = &rate_regs; *pp != NULL; pp = &(*pp)->next) {
		struct rate_reg *r = *pp;
		if (r->cells != e->rate_cells)
			continue;
		if (--r->refs == 0) {
			*pp = r->next;
			rte_free(r->cells);
			rte_free(r);
		}
		break;
	}
	pthread_mutex_unlock(&rate_mu);
	e->rate_cells = NULL;
}

/* A token taken by bucket_take(), so that it can be given back. */
struct rate_token {
	struct dp_rate_cell *cell; /* shared bucket: its cell ... */
	uint64_t key, T;           /* ... key and the period it charged */
	struct dp_cslot *slot;     /* the worker's own bucket (fallback) */
};

/* The shared bucket of @p key: 1 a token was taken (@p tok says where),
 * 0 none left, -1 no cell (the caller uses the worker's share). */
static int rate_shared_take(struct dp_engine *e, uint64_t key, uint32_t rate, uint32_t burst,
			    struct rate_token *tok)
{
	const uint64_t now = e->now_ms * 1000000ull;
	struct dp_rate_cell *cell = NULL;
	uint32_t i = (uint32_t)key & e->rate_mask;
	for (unsigned n = 0; n < DP_CT_PROBE && cell == NULL; n++, i = (i + 1) & e->rate_mask) {
		struct dp_rate_cell *c = &e->rate_cells[i];
		uint64_t k = __atomic_load_n(&c->key, __ATOMIC_ACQUIRE);
		if (k == key) {
			cell = c;
		} else if (k == 0) {
			if (__atomic_compare_exchange_n(&c->key, &k, key, false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE) ||
			    k == key)
				cell = c;
		}
	}
	i = (uint32_t)key & e->rate_mask;
	for (unsigned n = 0; n < DP_CT_PROBE && cell == NULL; n++, i = (i + 1) & e->rate_mask) {
		/* No free cell: take over one whose bucket is full again. */
		struct dp_rate_cell *c = &e->rate_cells[i];
		uint64_t k = __atomic_load_n(&c->key, __ATOMIC_ACQUIRE);
		uint64_t t = __atomic_load_n(&c->tat, __ATOMIC_ACQUIRE);
		if (k != key && t + 1000000000ull < now &&
		    __atomic_compare_exchange_n(&c->key, &k, key, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			cell = c;
		else if (k == key)
			cell = c;
	}
	if (cell == NULL)
		return -1;
	uint64_t T = 1000000000ull / rate;
	if (T == 0)
		T = 1;
	uint64_t cap = burst ? burst : rate;
	uint64_t tau = (cap - 1) * T; /* cap >= 1 */
	uint64_t old = __atomic_load_n(&cell->tat, __ATOMIC_ACQUIRE);
	for (;;) {
		uint64_t tat = old > now ? old : now;
		if (tat - now > tau)
			return 0;
		if (__atomic_compare_exchange_n(&cell->tat, &old, tat + T, true, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			tok->cell = cell;
			tok->key = key;
			tok->T = T;
			return 1;
		}
	}
}

int dp_policy_init(struct dp_engine *e, int socket)
{
	uint32_t n = e->set->table_slots;
	if (ct_init(&e->rate, n, socket, &e->c.evict_rate) ||
	    ct_init(&e->bulk, n, socket, &e->c.evict_bulk) ||
	    ct_init(&e->velo, n, socket, &e->c.evict_velocity) ||
	    ct_init(&e->optout, n, socket, &e->c.evict_optout) ||
	    ct_init(&e->binds, 4096, socket, &e->c.evict_binds) ||
	    ct_init(&e->frags, 1024, socket, &e->c.evict_frag_ids)) {
		dp_policy_free(e);
		return DP_ENOMEM;
	}
	/* The slots, then each slot's hold area (concat_feed). */
	e->concat = rte_zmalloc_socket("dp_concat",
				       (size_t)e->set->concat_max * (sizeof(*e->concat) + DP_CONCAT_HOLD),
				       64, socket);
	if (e->concat == NULL || rate_attach(e, socket) != DP_OK) {
		dp_policy_free(e);
		return DP_ENOMEM;
	}
	return DP_OK;
}

void dp_policy_free(struct dp_engine *e)
{
	rte_free(e->rate.slots);
	rte_free(e->bulk.slots);
	rte_free(e->velo.slots);
	rte_free(e->optout.slots);
	rte_free(e->binds.slots);
	rte_free(e->frags.slots);
	rte_free(e->concat);
	e->rate.slots = e->bulk.slots = e->velo.slots = e->optout.slots = e->binds.slots =
		e->frags.slots = NULL;
	e->concat = NULL;
	rate_detach(e);
}

void dp_event_emit(struct dp_engine *e, struct dp_event *ev)
{
	ev->time_ms = e->now_ms;
	ev->worker = (uint8_t)e->id;
	ev->monitor = e->monitor;
	e->c.events++;
	if (e->ev_fn)
		e->ev_fn(e->ev_arg, ev);
}

/* ------------------------------------------------------------- concat */

static struct pat_scratch *scratch_of(const struct dp_engine *e)
{
	return e->rules ? e->rules->scratch[e->id] : NULL;
}

static const struct pat_ruleset *rs_of(const struct dp_engine *e)
{
	return e->rules ? e->rules->rs : NULL;
}

/* A slot is done: when it was the last message on the previous ruleset,
 * tell the main lcore that ruleset may go. */
static void concat_release(struct dp_engine *e, struct dp_concat *c)
{
	if (c->rules != NULL && c->rules == e->rules_old && c->rules != e->rules &&
	    e->old_slots > 0 && --e->old_slots == 0)
		__atomic_store_n(&e->rules_old, NULL, __ATOMIC_RELEASE);
	memset(c, 0, sizeof(*c));
}

static void concat_free(struct dp_engine *e, struct dp_concat *c, bool expired)
{
	if (c->st != NULL && c->rules != NULL && c->rules->rs != NULL) {
		struct pat_result res;
		pat_stream_close(c->rules->rs, c->rules->scratch[e->id], c->st, &res);
	}
	if (expired)
		e->c.concat_expired++;
	concat_release(e, c);
}

void dp_policy_close_streams(struct dp_engine *e, bool all)
{
	if (e->concat == NULL)
		return;
	/* The periodic sweep visits a slice per call; a ruleset change closes all. */
	uint32_t n = all ? e->set->concat_max : (e->set->concat_max < 64 ? e->set->concat_max : 64);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = all ? i : e->concat_cursor;
		if (!all && ++e->concat_cursor >= e->set->concat_max)
			e->concat_cursor = 0;
		struct dp_concat *c = &e->concat[k];
		if (c->key == 0)
			continue;
		if (all || e->now_ms - c->t_ms >= e->set->concat_timeout_ms)
			concat_free(e, c, !all);
	}
}

static struct dp_concat *concat_get(struct dp_engine *e, uint64_t key, bool *fresh)
{
	uint32_t n = e->set->concat_max;
	uint32_t i = (uint32_t)(key % n);
	struct dp_concat *victim = NULL;
	*fresh = false;
	for (unsigned p = 0; p < DP_CT_PROBE; p++, i = (i + 1) % n) {
		struct dp_concat *c = &e->concat[i];
		if (c->key == key) {
			if (e->now_ms < c->t_ms || e->now_ms - c->t_ms < e->set->concat_timeout_ms)
				return c;
			/* Expired but not swept yet: this part starts anew. */
			concat_free(e, c, true);
			victim = c;
			break;
		}
		if (c->key == 0) {
			victim = c;
			break;
		}
		if (victim == NULL || c->t_ms < victim->t_ms)
			victim = c;
	}
	if (victim->key != 0) {
		e->c.concat_evicted++;
		concat_free(e, victim, false);
	}
	/* Stream memory belongs to the snapshot, sized for its ruleset. */
	if (e->rules == NULL || e->rules->concat_mem[e->id] == NULL)
		return NULL;
	uint8_t *mem = e->rules->concat_mem[e->id];
	size_t cap = e->rules->stream_size;
	if (pat_stream_open(rs_of(e), scratch_of(e), mem + (size_t)(victim - e->concat) * cap,
			    cap, &victim->st) != PAT_OK)
		return NULL;
	victim->key = key;
	victim->rules = e->rules;
	*fresh = true;
	e->c.concat_open++;
	return victim;
}

/* -------------------------------------------------------------- verdict */

struct verdict {
	uint8_t verdict, category, cp_category;
	uint32_t rule_num;
	char rule[DP_RULE_ID_MAX];
};

static void set_v(struct verdict *v, uint8_t verdict, uint8_t cat, const char *rule)
{
	v->verdict = verdict;
	v->category = cat;
	size_t n = strlen(rule); /* a built-in name (a literal) */
	if (n > sizeof(v->rule) - 1)
		n = sizeof(v->rule) - 1;
	memcpy(v->rule, rule, n);
	v->rule[n] = '\0';
}

/* v->rule = the decimal rule id (what snprintf "%u" gives). */
static void set_rule_num(struct verdict *v, uint32_t id)
{
	char t[12];
	size_t n = 0;
	do {
		t[n++] = (char)('0' + id % 10);
		id /= 10;
	} while (id != 0);
	for (size_t i = 0; i < n; i++)
		v->rule[i] = t[n - 1 - i];
	v->rule[n] = '\0';
}

/* The control plane's category for a built-in step (content rules map by
 * their pattern category instead). */
static uint8_t cp_cat_of(uint8_t cat)
{
	switch (cat) {
	case DP_CAT_STANDING: return 8;  /* CP_CAT_SUSPENDED */
	case DP_CAT_RATE: return 5;      /* CP_CAT_FLOOD */
	case DP_CAT_OPTOUT: return 7;    /* CP_CAT_OPTOUT */
	case DP_CAT_SENDER: return 4;    /* CP_CAT_SPOOFING */
	case DP_CAT_BULK: return 6;      /* CP_CAT_BULK */
	case DP_CAT_VELOCITY: return 3;  /* CP_CAT_HARASSMENT */
	case DP_CAT_UNINSPECTABLE: return 10;
	default: return 0;
	}
}

static uint8_t cp_cat_of_pattern(const struct pat_ruleset *rs, int pcat)
{
	const char *n = pcat >= 0 ? pat_category_name(rs, (unsigned)pcat) : NULL;
	if (n == NULL)
		return 1; /* spam */
	if (!strcmp(n, "fraud") || !strcmp(n, "malware") || !strcmp(n, "phishing"))
		return 2;
	if (!strcmp(n, "harassment"))
		return 3;
	if (!strcmp(n, "spoofing"))
		return 4;
	return 1;
}

static bool bucket_take(struct dp_engine *e, uint64_t key, uint32_t rate, uint32_t burst,
			struct rate_token *tok)
{
	memset(tok, 0, sizeof(*tok));
	if (rate == 0)
		return true;
	int r_shared = e->rate_cells ? rate_shared_take(e, key, rate, burst, tok) : -1;
	if (r_shared >= 0)
		return r_shared == 1;
	/* No shared cell: the worker enforces its share (RSS spreads a
	 * customer's flows). */
	double r = (double)rate / (e->set->n_workers ? e->set->n_workers : 1);
	double cap = (double)(burst ? burst : rate) / (e->set->n_workers ? e->set->n_workers : 1);
	if (cap < 1.0)
		cap = 1.0;
	struct dp_cslot *s = dp_ct_get(&e->rate, key, e->now_ms, false);
	if (s == NULL) {
		s = dp_ct_get(&e->rate, key, e->now_ms, true);
		s->tokens = cap;
	}
	/* A clock behind the bucket's (another reading, a test clock) adds
	 * nothing: the unsigned difference would refill the bucket. */
	if (e->now_ms > s->t_ms) {
		double add = (double)(e->now_ms - s->t_ms) * r / 1000.0;
		s->tokens = s->tokens + add > cap ? cap : s->tokens + add;
		s->t_ms = e->now_ms;
	}
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	tok->slot = s;
	tok->key = key;
	return true;
}

/* Give back a token bucket_take() granted (a later step throttled the
 * message: what was not sent does not count). A cell or slot that has
 * changed hands since is left alone. */
static void bucket_give_back(const struct rate_token *tok)
{
	if (tok->cell != NULL) {
		struct dp_rate_cell *c = tok->cell;
		uint64_t old = __atomic_load_n(&c->tat, __ATOMIC_ACQUIRE);
		while (__atomic_load_n(&c->key, __ATOMIC_ACQUIRE) == tok->key && old >= tok->T &&
		       !__atomic_compare_exchange_n(&c->tat, &old, old - tok->T, true,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			;
	} else if (tok->slot != NULL && tok->slot->key == tok->key) {
		tok->slot->tokens += 1.0;
	}
}

static bool all_digits(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return n > 0;
}

/* The length of an alphanumeric sender in GSM 7-bit septets (what the
 * handset shows is at most 11 of them): an extension character ('[', '{',
 * '€'...) takes two, a UTF-8 character of the alphabet ('é') one. Octets
 * that are not UTF-8 count one each; characters outside the alphabet one
 * each (the SMSC substitutes them). */
static size_t sender_septets(const uint8_t *p, uint32_t n)
{
	uint8_t out[32];
	size_t ol = 0, septets = 0;
	int rc = smpp_text_encode_gsm7(p, n, SMPP_TEXT_REPLACE, 0, out, sizeof(out), &ol, &septets);
	if (rc == SMPP_OK)
		return septets;
	if (rc == SMPP_ENOSPACE)
		return sizeof(out) + 1; /* longer than any sender */
	return n;
}

/* Sender-ID checks that need no rules: TON/NPI consistency and allow-lists. */
static bool sender_check(struct dp_engine *e, const struct dp_flow *f, const struct dp_customer *c,
			 const struct smpp_pdu *m, struct verdict *v)
{
	const uint8_t *sa = m->source_addr.p;
	uint32_t sl = m->source_addr.len;
	if (sl == 0)
		return true; /* the SMSC applies the bind's default */
	const uint8_t *d = sa;
	uint32_t dl = sl;
	addr_norm(&d, &dl);
	if (all_digits(d, dl)) {
		if (m->source_addr_ton == 5) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_SENDER, "builtin:sender.ton");
			return false;
		}
		if (m->source_addr_ton == 1 && (dl < 7 || dl > 15 || d[0] == '0')) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_SENDER, "builtin:sender.e164");
			return false;
		}
	} else {
		if (m->source_addr_ton != 5) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_SENDER, "builtin:sender.ton");
			return false;
		}
		if (sl > 5 && sender_septets(sa, sl) > 11) { /* 6 extension characters: 12 */
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_SENDER, "builtin:sender.length");
			return false;
		}
		if (!f->sess.known && !e->set->default_alnum_senders) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_SENDER, "builtin:sender.alnum");
			return false;
		}
	}
	if (!c->any_sender && c->n_senders > 0) {
		/* A number is the same with or without its '+' (either side). */
		bool num = all_digits(d, dl);
		for (unsigned i = 0; i < c->n_senders && i < DP_ALLOWED_SENDERS; i++) {
			const uint8_t *a = (const uint8_t *)c->senders[i];
			uint32_t al = (uint32_t)strnlen(c->senders[i], DP_SENDER_MAX);
			if (al == sl && memcmp(a, sa, sl) == 0)
				return true;
			if (num) {
				addr_norm(&a, &al);
				if (al == dl && memcmp(a, d, dl) == 0)
					return true;
			}
		}
		set_v(v, DP_VERDICT_BLOCK, DP_CAT_SENDER, "builtin:sender.allow");
		return false;
	}
	return true;
}

/* Content: scan once per PDU (shared by submit_multi's destinations). */
struct content {
	bool done;
	bool cc_done;         /**< cc is parsed */
	bool have_text;
	size_t text_len;
	struct smpp_concat cc;
	struct pat_result res;
	bool blocked;         /**< the message (or this part) is blocked */
	bool sender_rule;     /**< the deciding rule matches the sender ID */
	bool later_part;      /**< a part of a message already in flight (counted once) */
	bool no_dest;         /**< replace_sm, broadcast_sm: no destination, so no
			       *   opt-out, bulk or velocity step */
	uint64_t fp;          /**< bulk fingerprint, 0 without text */
	const struct pat_ruleset *rs; /**< the ruleset that judged the message */
	struct verdict fail;  /**< no ruleset / scan error under a fail-closed policy */
};

/* Index of the first ASCII digit in p[0, n), or n. */
static size_t first_digit(const uint8_t *p, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	/* Signed compare: octets >= 0x80 are negative, never digits. */
	const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i d = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
		int m = _mm_movemask_epi8(d);
		if (m != 0)
			return i + (size_t)__builtin_ctz((unsigned)m);
	}
#endif
	for (; i < n; i++)
		if (p[i] >= '0' && p[i] <= '9')
			break;
	return i;
}

static void fingerprint(struct dp_engine *e, struct content *ct, const struct dp_customer *c)
{
	if (!ct->have_text || ct->text_len == 0 || c->bulk_ok || ct->no_dest)
		return; /* bulk_ok, no destination: the fingerprint is not consulted */
	size_t n = pat_normalise((const char *)e->text, ct->text_len, (char *)e->norm,
				 sizeof(e->norm), 0);
	/* Codes and amounts vary between copies, in value and in length: a
	 * run of digits becomes one '#'. Up to the first digit the text is
	 * its own fold. */
	size_t o = first_digit(e->norm, n);
	for (size_t i = o; i < n; i++) {
		bool digit = e->norm[i] >= '0' && e->norm[i] <= '9';
		if (!digit)
			e->norm[o++] = e->norm[i];
		else if (o == 0 || e->norm[o - 1] != '#')
			e->norm[o++] = '#';
	}
	/* Keyed by the session's system_id (e->sh), like rate, velocity and
	 * opt-outs: system_ids on the default profile are not one customer. */
	ct->fp = dp_hash64(e->norm, o, e->sh[DP_SH_FP]);
	dp_ct_prefetch(&e->bulk, ct->fp);
}

/* Parts are fed to a message's stream in sequence order, as the handset
 * joins them: a part that comes early is scanned alone (block mode) and its
 * text held in the slot's hold area until the parts before it came (then
 * fed after them, the verdict going to the part that completed the match).
 * A part sent again (resent after a throttle or a lost answer) is scanned
 * alone and is not another part: the stream stays open until every part
 * was seen. A part that does not fit the hold area is fed as it comes. */
#define CONCAT_HOLD_HDR 4u

static uint8_t *concat_hold(struct dp_engine *e, const struct dp_concat *cs)
{
	return (uint8_t *)(e->concat + e->set->concat_max) +
	       (size_t)(cs - e->concat) * DP_CONCAT_HOLD;
}

/* The entry of part @p seq among the @p used bytes held after the hold
 * area's header @p h, or NULL. */
static uint8_t *concat_held(uint8_t *h, uint16_t used, uint8_t seq)
{
	for (uint32_t o = 0; o < used;) {
		uint8_t *en = h + CONCAT_HOLD_HDR + o;
		if (en[0] == seq)
			return en;
		uint16_t l16;
		memcpy(&l16, en + 2, 2);
		o += 4u + l16;
	}
	return NULL;
}

static int concat_feed(struct dp_engine *e, struct dp_concat *cs, bool fresh, uint8_t seq,
		       const struct pat_ruleset *rs, struct pat_scratch *scr,
		       const struct pat_msg *pm, struct pat_result *res)
{
	/* Hold area: next sequence number to feed (1 octet), pad, bytes held
	 * (u16); then entries of sequence number, pad, length (u16), text. */
	uint8_t *h = concat_hold(e, cs);
	uint16_t used = 0;
	if (fresh) {
		h[0] = 1;
		memcpy(h + 2, &used, 2);
	} else {
		memcpy(&used, h + 2, 2);
	}
	uint64_t bit = 1ull << (seq & 63);
	if (cs->part_bits[seq >> 6] & bit)
		return pat_scan_msg(rs, scr, pm, res); /* a repeat */
	cs->part_bits[seq >> 6] |= bit;
	cs->seen++;
	size_t tl = pm->text_len;
	if (seq > h[0] && CONCAT_HOLD_HDR + used + 4 + tl <= DP_CONCAT_HOLD) {
		uint8_t *en = h + CONCAT_HOLD_HDR + used;
		uint16_t l16 = (uint16_t)tl;
		en[0] = seq;
		en[1] = 0;
		memcpy(en + 2, &l16, 2);
		if (tl > 0)
			memcpy(en + 4, pm->text, tl);
		used = (uint16_t)(used + 4 + tl);
		memcpy(h + 2, &used, 2);
		return pat_scan_msg(rs, scr, pm, res);
	}
	int rc = pat_stream_scan(rs, scr, cs->st, pm, res);
	if (seq != h[0])
		return rc; /* no room to hold it: fed as it came */
	h[0]++;
	/* The parts held for after this one, in order. */
	for (uint8_t *en; rc == PAT_OK && (en = concat_held(h, used, h[0])) != NULL;) {
		uint16_t l16;
		memcpy(&l16, en + 2, 2);
		uint32_t sz = 4u + l16, o = (uint32_t)(en - (h + CONCAT_HOLD_HDR));
		struct pat_msg held = *pm;
		held.text = l16 ? (const char *)en + 4 : NULL;
		held.text_len = l16;
		rc = pat_stream_scan(rs, scr, cs->st, &held, res);
		memmove(en, en + sz, used - o - sz);
		used = (uint16_t)(used - sz);
		h[0]++;
	}
	memcpy(h + 2, &used, 2);
	return rc;
}

static void content_scan(struct dp_engine *e, struct dp_flow *f, const struct dp_customer *c,
			 const struct smpp_pdu *m, const uint8_t *dest, uint32_t dest_len,
			 struct content *ct)
{
	struct verdict *v = &ct->fail;
	ct->done = true;
	struct smpp_text_info ti;
	int rc = smpp_pdu_text(m, e->set->gsm_packed ? SMPP_TEXT_GSM_PACKED : 0, e->text,
			       sizeof(e->text), &ti);
	if (rc == SMPP_OK || rc == SMPP_ENOSPACE) {
		ct->have_text = true;
		ct->text_len = ti.out_len;
	}
	if (rc == SMPP_ENOSPACE) {
		/* Text longer than the scan buffer (a message_payload of
		 * several KiB): what lies past it cannot be scanned, so the
		 * uninspectable policy decides; pass scans the first part. */
		e->c.text_truncated++;
		if (e->set->uninspectable_block) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_UNINSPECTABLE, "builtin:text-too-long");
			return;
		}
	}
	if (!ct->cc_done && smpp_pdu_concat(m, &ct->cc) != SMPP_OK)
		ct->cc.present = false;
	fingerprint(e, ct, c);

	const struct pat_ruleset *rs = rs_of(e);
	if (rs == NULL || scratch_of(e) == NULL) {
		e->c.unscanned_no_ruleset++;
		if (e->set->fail_no_ruleset == DP_FAIL_CLOSED)
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_UNINSPECTABLE, "builtin:no-ruleset");
		return;
	}
	struct pat_msg pm = {
		.text = ct->have_text ? (const char *)e->text : NULL,
		.text_len = ct->have_text ? ct->text_len : 0,
		.sender = (const char *)m->source_addr.p,
		.sender_len = m->source_addr.len,
		.dest = (const char *)dest,
		.dest_len = dest_len,
		.system_id = f->sess.system_id,
		.system_id_len = strnlen(f->sess.system_id, DP_SYSTEM_ID_MAX),
	};
	if (ct->cc.present && ct->cc.total > 1) {
		e->c.concat_parts++;
		uint64_t key = e->sh[DP_SH_CONCAT];
		key = dp_hash64(m->source_addr.p, m->source_addr.len, key);
		key = dp_hash64(dest, dest_len, key);
		key = dp_hash64(&ct->cc.ref, sizeof(ct->cc.ref), key);
		bool fresh;
		struct dp_concat *cs = concat_get(e, key, &fresh);
		if (cs == NULL) {
			/* No stream memory: scan this part alone (still scanned). */
			rc = pat_scan_msg(rs, scratch_of(e), &pm, &ct->res);
		} else {
			if (fresh)
				cs->total = ct->cc.total;
			else
				ct->later_part = true;
			cs->t_ms = e->now_ms;
			/* The message finishes on the ruleset it started with. */
			rs = cs->rules->rs;
			struct pat_scratch *scr = cs->rules->scratch[e->id];
			rc = concat_feed(e, cs, fresh, ct->cc.seq, rs, scr, &pm, &ct->res);
			if (rc == PAT_OK && cs->seen >= cs->total) {
				/* Last part: end-of-data matches, then the slot is free. */
				rc = pat_stream_close(rs, scr, cs->st, &ct->res);
				cs->st = NULL;
			}
			if (rc == PAT_OK && ct->res.verdict == PAT_VERDICT_BLOCK && !cs->blocked) {
				/* This part completes the match: it and later parts block. */
				cs->blocked = 1;
				cs->rule_num = ct->res.rule_id;
				cs->category = (uint8_t)(ct->res.category < 0 ? 0 : ct->res.category);
			}
			if (cs->blocked) {
				ct->res.verdict = PAT_VERDICT_BLOCK;
				ct->res.rule_id = cs->rule_num;
				ct->res.category = cs->category;
			}
			if (cs->st == NULL)
				concat_release(e, cs);
		}
	} else {
		rc = pat_scan_msg(rs, scratch_of(e), &pm, &ct->res);
	}
	ct->rs = rs;
	if (rc != PAT_OK) {
		e->c.scan_errors++;
		if (e->set->fail_scan == DP_FAIL_CLOSED)
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_UNINSPECTABLE, "builtin:scan-error");
		return;
	}
	if (ct->res.verdict == PAT_VERDICT_BLOCK)
		ct->blocked = true;
	/* A blocking sender-ID rule decides before content rules, whichever
	 * rule the scan reported as deciding. */
	for (unsigned i = 0; ct->blocked && i < ct->res.n_matches && i < PAT_MAX_MATCHES; i++) {
		struct pat_rule_info ri;
		if (pat_rule_info(rs, ct->res.matches[i], &ri) == PAT_OK &&
		    ri.target == PAT_TARGET_SENDER && ri.action == PAT_ACTION_BLOCK) {
			ct->sender_rule = true;
			ct->res.rule_id = ct->res.matches[i];
			break;
		}
	}
}

static void judge(struct dp_engine *e, struct dp_flow *f, const struct dp_customer *c,
		  const struct smpp_pdu *m, const uint8_t *dest, uint32_t dest_len, bool rate_ok,
		  const struct verdict *rate_v, struct content *ct, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	/* 1. standing */
	if (c->standing >= DP_STANDING_SUSPENDED) {
		set_v(v, DP_VERDICT_BLOCK, DP_CAT_STANDING, "builtin:standing");
		goto out;
	}
	if (!f->sess.known && !e->set->accept_unknown && f->sess.system_id[0]) {
		set_v(v, DP_VERDICT_BLOCK, DP_CAT_STANDING, "builtin:unknown-customer");
		goto out;
	}
	/* 2. rate limits (taken by the caller: per PDU, per destination of a
	 * submit_multi) */
	if (!rate_ok) {
		*v = *rate_v;
		goto out;
	}
	/* 3. opt-outs (none learned and none in the snapshot: nothing to look up;
	 * no destination: nobody to look up) */
	if (!ct->no_dest && (e->optout.used != 0 || (e->snap != NULL && e->snap->n_optouts != 0))) {
		const uint8_t *snd = e->set->optout_scope_sender ? m->source_addr.p : NULL;
		uint64_t k = optout_key_h(e->sh[DP_SH_OPTOUT], dest, dest_len,
					  snd, m->source_addr.len);
		struct dp_cslot *s = e->optout.used ? dp_ct_get(&e->optout, k, e->now_ms, false) : NULL;
		bool out = s != NULL ? s->count != 0 : snapshot_optout(e->snap, k);
		if (out) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_OPTOUT, "builtin:optout");
			goto out;
		}
	}
	/* 4. sender ID: built-in checks, then sender rules of the ruleset */
	if (!sender_check(e, f, c, m, v))
		goto out;
	if (!ct->done)
		content_scan(e, f, c, m, dest, dest_len, ct);
	if (ct->fail.verdict != DP_VERDICT_PASS) {
		*v = ct->fail;
		goto out;
	}
	if (ct->blocked && ct->sender_rule) {
		set_v(v, DP_VERDICT_BLOCK, DP_CAT_SENDER, "");
		goto rule;
	}
	/* 5. content */
	if (ct->blocked) {
		set_v(v, DP_VERDICT_BLOCK, DP_CAT_CONTENT, "");
		goto rule;
	}
	/* 6. bulk fingerprint: one text to many recipients */
	if (ct->fp != 0 && !c->bulk_ok) {
		struct dp_cslot *s = dp_ct_get(&e->bulk, ct->fp, e->now_ms, true);
		if (e->now_ms - s->t_ms >= e->set->bulk_window_ms) {
			s->t_ms = e->now_ms;
			s->count = 0;
		}
		uint32_t rh = (uint32_t)dp_hash64(dest, dest_len, 7);
		if (s->aux != rh) { /* a repeat to the same recipient is not bulk */
			s->aux = rh;
			s->count++;
		}
		if (s->count >= e->set->bulk_recipients) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_BULK, "builtin:bulk");
			goto out;
		}
	}
	/* 7. per-recipient velocity */
	if (!ct->no_dest) {
		uint64_t k = e->velo_dest != NULL && dest == e->velo_dest && dest_len == e->velo_len
				     ? e->velo_key
				     : dp_hash64(dest, dest_len, e->sh[DP_SH_VELO]);
		struct dp_cslot *s = dp_ct_get(&e->velo, k, e->now_ms, true);
		if (e->now_ms - s->t_ms >= e->set->velocity_window_ms) {
			s->t_ms = e->now_ms;
			s->count = 0;
		}
		/* A message counts once: its later parts only see the count. */
		if (!ct->later_part)
			s->count++;
		if (s->count > e->set->velocity_max) {
			set_v(v, DP_VERDICT_BLOCK, DP_CAT_VELOCITY, "builtin:velocity");
			goto out;
		}
	}
	/* Monitor-action rules that matched still name themselves. */
	if (ct->res.n_matches > 0 && ct->res.rule_id != 0) {
		v->rule_num = ct->res.rule_id;
		set_rule_num(v, ct->res.rule_id);
	}
	return;
rule:
	v->rule_num = ct->res.rule_id;
	set_rule_num(v, ct->res.rule_id);
	v->cp_category = v->category == DP_CAT_SENDER ? 4 : cp_cat_of_pattern(ct->rs,
									     ct->res.category);
	return;
out:
	v->cp_category = cp_cat_of(v->category);
}

/* replace_sm names no data_coding and was read in the SMSC default
 * alphabet, but the message it replaces may be UCS-2 (data_coding 8), and so
 * its new text: spam in UCS-2 read as GSM is '@'-separated letters no rule
 * matches. A replacement of even length that passed is read again as UCS-2;
 * a block on that reading stands (its event shows that reading and data_coding
 * 8). A GSM text read as UCS-2 is CJK-range code points (ASCII octet pairs)
 * that no rule matches. On a pass the GSM reading's event sample is put back
 * (content_scan decodes into e->text). */
static void replace_ucs2(struct dp_engine *e, struct dp_flow *f, const struct dp_customer *c,
			 struct smpp_pdu *m, struct content *ct, struct verdict *v)
{
	struct smpp_view ud = smpp_pdu_user_data(m);
	if (v->verdict != DP_VERDICT_PASS || ct->rs == NULL || ud.len == 0 || ud.len % 2 != 0)
		return;
	uint8_t sample[DP_TEXT_SAMPLE];
	size_t sl = ct->have_text && ct->text_len < sizeof(sample) ? ct->text_len : sizeof(sample);
	memcpy(sample, e->text, sl);
	struct content ct2;
	struct verdict v2;
	memset(&ct2, 0, sizeof(ct2));
	ct2.no_dest = true;
	ct2.cc_done = true;
	m->data_coding = 0x08;
	judge(e, f, c, m, NULL, 0, true, v, &ct2, &v2);
	if (v2.verdict != DP_VERDICT_PASS) {
		*ct = ct2;
		*v = v2;
		return;
	}
	m->data_coding = 0;
	memcpy(e->text, sample, sl);
}

/* The customer record's exceptions: a rule id or a category the operator
 * exempted this customer from turns the objection into a pass that still
 * names the rule (rule "exempt:<rule>"), so the message log shows it. */
static void apply_exemptions(const struct dp_customer *c, struct verdict *v)
{
	if (v->verdict == DP_VERDICT_PASS)
		return;
	bool exempt = v->cp_category < 32 && (c->exempt_categories & (1u << v->cp_category));
	for (unsigned i = 0; !exempt && v->rule_num != 0 && i < DP_EXEMPT_RULES; i++)
		exempt = c->exempt_rules[i] == v->rule_num;
	if (!exempt)
		return;
	char r[DP_RULE_ID_MAX];
	snprintf(r, sizeof(r), "exempt:%.20s", v->rule);
	memcpy(v->rule, r, sizeof(v->rule));
	v->verdict = DP_VERDICT_PASS;
}

/* True when the 8 octets of @p w are all printable ASCII (0x20..0x7e). */
static inline bool printable8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t below = (w - 0x20 * ones) & ~w & high; /* some octet < 0x20 */
	uint64_t above = ((w + ones) | w) & high;       /* some octet >= 0x7f */
	return (below | above) == 0;
}

static void view_copy(char *dst, size_t cap, const uint8_t *p, uint32_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;
	size_t i = 0;
	/* Addresses are short and printable: 8 octets at a time while they
	 * are, then octet by octet. */
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (!printable8(w))
			break;
		memcpy(dst + i, &w, 8);
	}
	if (i < n && n >= 8 && i == (n & ~(size_t)7)) {
		/* The tail as the last 8 octets (overlapping what is done). */
		uint64_t w;
		memcpy(&w, p + n - 8, 8);
		if (printable8(w)) {
			memcpy(dst + n - 8, &w, 8);
			i = n;
		}
	}
	for (; i < n; i++)
		dst[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	dst[n] = '\0';
}

/* Copy at most cap-1 bytes of UTF-8 without cutting a character. */
static uint16_t text_copy(char *dst, size_t cap, const uint8_t *p, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;
	if (n < len)
		while (n > 0 && (p[n] & 0xc0) == 0x80)
			n--;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return (uint16_t)n;
}

static void emit_verdict(struct dp_engine *e, struct dp_flow *f, const struct smpp_pdu *m,
			 const uint8_t *dest, uint32_t dest_len, const struct content *ct,
			 const struct verdict *v, uint8_t standing)
{
	struct dp_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_VERDICT;
	ev.verdict = v->verdict;
	ev.category = v->category;
	ev.cp_category = v->cp_category;
	ev.rule_num = v->rule_num;
	ev.standing = standing;
	ev.command_id = m->hdr.command_id;
	ev.sequence = m->hdr.sequence_number;
	ev.command_status = v->verdict != DP_VERDICT_PASS ? e->set->status[v->category] : 0;
	ev.data_coding = m->data_coding;
	if (ct->cc.present && ct->cc.total > 1) {
		ev.msg_ref = ct->cc.ref;
		ev.part = ct->cc.seq;
		ev.parts = ct->cc.total;
	}
	memcpy(ev.system_id, f->sess.system_id, sizeof(ev.system_id));
	memcpy(ev.rule_id, v->rule, sizeof(ev.rule_id));
	view_copy(ev.src, sizeof(ev.src), m->source_addr.p, m->source_addr.len);
	view_copy(ev.dst, sizeof(ev.dst), dest, dest_len);
	if (ct->have_text)
		ev.text_len = text_copy(ev.text, sizeof(ev.text), e->text, ct->text_len);
	e->c.verdicts[v->verdict]++;
	e->c.cat[v->category]++;
	/* Inline: the PDU's verdict (submit_multi: the first destination
	 * blocked gives the status of an answer for the whole PDU; the
	 * destinations' own verdicts are in e->last.dest_status). */
	if (!e->last.set || (e->last.verdict == DP_VERDICT_PASS && v->verdict != DP_VERDICT_PASS)) {
		e->last.set = 1;
		e->last.verdict = v->verdict;
		e->last.category = v->category;
		e->last.status = ev.command_status;
		memcpy(e->last.rule, v->rule, sizeof(e->last.rule));
		e->last.rule[sizeof(e->last.rule) - 1] = '\0';
	}
	if (v->verdict != DP_VERDICT_PASS)
		f->sess.blocked_would++;
	dp_event_emit(e, &ev);
}

/* Rate limits for one message (a submit_sm, data_sm or one destination of
 * a submit_multi): a token of the customer's bucket, then of the customer +
 * sender bucket. False with *rate_v set when either has none left. */
static bool rate_take(struct dp_engine *e, const struct dp_customer *c, const struct smpp_pdu *m,
		      struct verdict *rate_v)
{
	if (c->standing >= DP_STANDING_SUSPENDED || (c->rate_per_s == 0 && c->sender_rate_per_s == 0))
		return true;
	uint64_t kc = e->sh[DP_SH_RATE];
	struct rate_token tc, ts;
	if (!bucket_take(e, kc, c->rate_per_s, c->burst, &tc)) {
		set_v(rate_v, DP_VERDICT_THROTTLE, DP_CAT_RATE, "builtin:rate.customer");
		return false;
	}
	if (c->sender_rate_per_s != 0) {
		uint64_t ks = dp_hash64(m->source_addr.p, m->source_addr.len, kc);
		if (!bucket_take(e, ks, c->sender_rate_per_s, c->sender_burst, &ts)) {
			/* Throttled for its sender: the customer's token goes
			 * back (the message is not sent). */
			bucket_give_back(&tc);
			set_v(rate_v, DP_VERDICT_THROTTLE, DP_CAT_RATE, "builtin:rate.sender");
			return false;
		}
	}
	return true;
}

void dp_policy_submit(struct dp_engine *e, struct dp_flow *f, const uint8_t *pdu, uint32_t len,
		      unsigned flags)
{
	const struct dp_customer *c = dp_engine_customer(e, f);
	struct smpp_pdu m;
	struct content ct;
	struct verdict v, rate_v;
	bool rate_ok = true;
	memset(&ct, 0, sizeof(ct));
	memset(&rate_v, 0, sizeof(rate_v));

	struct smpp_decode_opts opts = { .max_pdu = DP_SMPP_MAX_PDU, .flags = SMPP_DEC_RELAX_CSTR_MAX };
	int rc = (flags & DP_PDU_TRUNCATED) ? SMPP_ETRUNC : smpp_pdu_decode(pdu, len, &opts, &m);
	if (rc != SMPP_OK) {
		/* Oversize, no reassembly memory, or undecodable: cannot judge. */
		if (flags & DP_PDU_TRUNCATED)
			e->c.truncated_submits++;
		else
			e->c.malformed++;
		memset(&m, 0, sizeof(m));
		m.hdr.command_id = dp_rd32(pdu + 4);
		m.hdr.sequence_number = dp_rd32(pdu + 12);
		memset(&v, 0, sizeof(v));
		uint8_t pol = (flags & DP_PDU_TRUNCATED) ? e->set->fail_reassembly : e->set->fail_scan;
		if (pol == DP_FAIL_CLOSED)
			set_v(&v, DP_VERDICT_BLOCK, DP_CAT_UNINSPECTABLE,
			      (flags & DP_PDU_TRUNCATED) ? "builtin:oversize" : "builtin:malformed");
		v.cp_category = cp_cat_of(v.category);
		emit_verdict(e, f, &m, NULL, 0, &ct, &v, c->standing);
		return;
	}
	/* The session's system_id hashes for this PDU's steps. */
	memcpy(e->sh, sid_hashes(e, f->sess.system_id), sizeof(e->sh));
	e->velo_dest = NULL;
	/* replace_sm and broadcast_sm name no destination: standing, rate,
	 * sender and content only, the text judged alone (not concatenated).
	 * replace_sm carries no data_coding: m.data_coding stays 0, and its text
	 * is decoded as the SMSC default alphabet. */
	ct.no_dest = m.hdr.command_id == 0x00000007u || m.hdr.command_id == 0x00000111u;
	if (m.hdr.command_id != 0x00000021u && !ct.no_dest) {
		/* The velocity slot is needed later: start loading it while
		 * the text is decoded. */
		e->velo_dest = m.destination_addr.p;
		e->velo_len = m.destination_addr.len;
		e->velo_key = dp_hash64(e->velo_dest, e->velo_len, e->sh[DP_SH_VELO]);
		dp_ct_prefetch(&e->velo, e->velo_key);
	}
	if (m.hdr.command_id != 0x00000021u)
		rate_ok = rate_take(e, c, &m, &rate_v);
	/* Every part of a concatenated message feeds its stream, whatever an
	 * earlier step decides, so the text stays continuous across parts. */
	if (m.hdr.command_id != 0x00000021u) {
		/* Parsed once: content_scan uses it. */
		if (ct.no_dest || smpp_pdu_concat(&m, &ct.cc) != SMPP_OK)
			ct.cc.present = false;
		ct.cc_done = true;
		if (ct.cc.present && ct.cc.total > 1)
			content_scan(e, f, c, &m, m.destination_addr.p, m.destination_addr.len, &ct);
	}
	if (m.hdr.command_id == 0x00000021u) {
		/* submit_multi: a verdict per destination. */
		struct smpp_list_iter it;
		struct smpp_dest d;
		smpp_dest_iter_init(&it, &m);
		e->last.ndest = 0;
		while (smpp_dest_next(&it, &d)) {
			const uint8_t *dp = d.dest_flag == SMPP_DEST_SME ? d.destination_addr.p : d.dl_name.p;
			uint32_t dl = d.dest_flag == SMPP_DEST_SME ? d.destination_addr.len : d.dl_name.len;
			/* Each destination is a message: a token each. */
			rate_ok = rate_take(e, c, &m, &rate_v);
			judge(e, f, c, &m, dp, dl, rate_ok, &rate_v, &ct, &v);
			apply_exemptions(c, &v);
			emit_verdict(e, f, &m, dp, dl, &ct, &v, c->standing);
			/* Inline: per destination, for the rewrite (dp_inline.c). */
			if (e->last.ndest < DP_MULTI_DESTS)
				e->last.dest_status[e->last.ndest++] =
				    v.verdict != DP_VERDICT_PASS ? e->set->status[v.category] : 0;
		}
		return;
	}
	judge(e, f, c, &m, m.destination_addr.p, m.destination_addr.len, rate_ok, &rate_v, &ct, &v);
	if (m.hdr.command_id == 0x00000007u)
		replace_ucs2(e, f, c, &m, &ct, &v);
	apply_exemptions(c, &v);
	emit_verdict(e, f, &m, m.destination_addr.p, m.destination_addr.len, &ct, &v, c->standing);
}

/* What may surround a keyword: ASCII blanks and punctuation (not letters
 * or digits: "STOP 2" and "stop stop" are not a keyword alone). */
static bool kw_filler(uint8_t ch)
{
	return ch < 0x80 && !(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'z') &&
	       !(ch >= 'A' && ch <= 'Z');
}

/* An MO text that is a keyword alone, upper-cased, matched against keywords. */
static int keyword_match(const struct dp_engine *e, const uint8_t *t, size_t n)
{
	size_t i = 0;
	while (i < n && kw_filler(t[i]))
		i++;
	char w[DP_KEYWORD_LEN];
	size_t k = 0;
	while (i < n && k < sizeof(w) - 1 &&
	       ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')))
		w[k++] = (char)(t[i] >= 'a' ? t[i] - 32 : t[i]), i++;
	w[k] = '\0';
	/* Only the keyword, with blanks or punctuation around it: "STOP",
	 * "Stop.", "STOP,", "\"Stop\"". */
	while (i < n && kw_filler(t[i]))
		i++;
	if (k == 0 || i != n)
		return 0;
	for (unsigned j = 0; j < e->set->n_optout_kw; j++)
		if (!strcmp(w, e->set->optout_kw[j]))
			return 1;
	for (unsigned j = 0; j < e->set->n_optin_kw; j++)
		if (!strcmp(w, e->set->optin_kw[j]))
			return -1;
	return 0;
}

void dp_policy_deliver(struct dp_engine *e, struct dp_flow *f, const uint8_t *pdu, uint32_t len)
{
	struct smpp_pdu m;
	struct smpp_decode_opts opts = { .max_pdu = DP_SMPP_MAX_PDU, .flags = SMPP_DEC_RELAX_CSTR_MAX };
	if (smpp_pdu_decode(pdu, len, &opts, &m) != SMPP_OK) {
		e->c.malformed++;
		return;
	}
	if (m.esm_class & 0x3c)
		return; /* delivery receipts and other non-MO messages */
	struct smpp_text_info ti;
	int rc = smpp_pdu_text(&m, e->set->gsm_packed ? SMPP_TEXT_GSM_PACKED : 0, e->text,
			       sizeof(e->text), &ti);
	if (rc != SMPP_OK)
		return;
	int kw = keyword_match(e, e->text, ti.out_len);
	if (kw == 0)
		return;
	/* The subscriber is the MO's source; the sender it answered is the
	 * MO's destination (often a short code, not the alphanumeric sender). */
	const uint8_t *snd = e->set->optout_scope_sender ? m.destination_addr.p : NULL;
	uint64_t k = dp_optout_key(f->sess.system_id, m.source_addr.p, m.source_addr.len, snd,
				   m.destination_addr.len);
	struct dp_cslot *s = dp_ct_get(&e->optout, k, e->now_ms, true);
	s->count = kw > 0 ? 1 : 0; /* kept as an explicit opt-in over the snapshot */
	if (kw > 0)
		e->c.optouts++;
	else
		e->c.optins++;
	struct dp_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_OPTOUT;
	ev.optout_on = kw > 0;
	ev.command_id = m.hdr.command_id;
	ev.sequence = m.hdr.sequence_number;
	memcpy(ev.system_id, f->sess.system_id, sizeof(ev.system_id));
	view_copy(ev.src, sizeof(ev.src), m.source_addr.p, m.source_addr.len);
	view_copy(ev.dst, sizeof(ev.dst), m.destination_addr.p, m.destination_addr.len);
	ev.text_len = text_copy(ev.text, sizeof(ev.text), e->text, ti.out_len);
	dp_event_emit(e, &ev);
}
