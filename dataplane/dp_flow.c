/* dp_flow.c — the per-worker flow table.
 *
 * An rte_hash maps the normalised 5-tuple to a slot; the flows live in one
 * array indexed by that slot, so creating a flow never allocates. The table
 * is written by one worker only (no RW concurrency flags), and sized at
 * start-up: when it is full a new flow is refused and counted, and the worker
 * applies the configured table-full policy to its packets.
 */
#include <errno.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dp.h"

struct dp_flow_table {
	struct rte_hash *h;
	struct dp_flow *flows;
	uint32_t entries;
	uint32_t cursor;
	struct dp_flow_stats st;
};

struct dp_flow_table *dp_flow_table_create(const char *name, uint32_t entries, int socket)
{
	if (name == NULL || entries < 8)
		return NULL;
	struct dp_flow_table *t = rte_zmalloc_socket("dp_flow_table", sizeof(*t), 64, socket);
	if (t == NULL)
		return NULL;
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(struct dp_flow_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0x5eed,
		.socket_id = socket,
		/* Extendable buckets: the table really holds `entries` flows
		 * instead of failing early on a crowded bucket. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	t->h = rte_hash_create(&hp);
	if (t->h == NULL)
		goto fail;
	t->flows = rte_zmalloc_socket("dp_flows", (size_t)entries * sizeof(struct dp_flow), 64,
				      socket);
	if (t->flows == NULL)
		goto fail_hash;
	t->entries = entries;
	return t;
fail_hash:
	rte_hash_free(t->h);
fail:
	rte_free(t);
	return NULL;
}

void dp_flow_table_free(struct dp_flow_table *t)
{
	if (t == NULL)
		return;
	rte_free(t->flows);
	rte_hash_free(t->h);
	rte_free(t);
}

uint32_t dp_flow_table_capacity(const struct dp_flow_table *t)
{
	return t->entries;
}

struct dp_flow_stats *dp_flow_table_stats(struct dp_flow_table *t)
{
	return &t->st;
}

static void flow_init(struct dp_flow *f, const struct dp_flow_key *k, uint64_t now_ms)
{
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->created_ms = now_ms;
	f->last_ms = now_ms;
	f->in_use = 1;
	f->sess.customer = DP_CUST_DEFAULT;
	for (int d = 0; d < 2; d++) {
		f->dir[d].buf = DP_STREAM_NOBUF;
		for (int i = 0; i < DP_OOO_MAX; i++)
			f->dir[d].ooo[i] = DP_STREAM_NOBUF;
	}
}

struct dp_flow *dp_flow_lookup(struct dp_flow_table *t, const struct dp_flow_key *k,
			       bool create, uint64_t now_ms)
{
	int32_t pos = rte_hash_lookup(t->h, k);
	if (pos >= 0)
		return &t->flows[pos];
	if (!create)
		return NULL;
	pos = rte_hash_add_key(t->h, k);
	if (pos < 0 || (uint32_t)pos >= t->entries) {
		if (pos >= 0)
			rte_hash_del_key(t->h, k);
		t->st.table_full++;
		return NULL;
	}
	struct dp_flow *f = &t->flows[pos];
	flow_init(f, k, now_ms);
	t->st.created++;
	t->st.active++;
	return f;
}

void dp_flow_remove(struct dp_flow_table *t, struct dp_flow *f)
{
	if (!f->in_use)
		return;
	rte_hash_del_key(t->h, &f->key);
	f->in_use = 0;
	t->st.active--;
}

void dp_flow_track(struct dp_flow *f, enum dp_dir dir, uint8_t fl, uint64_t now_ms)
{
	f->last_ms = now_ms;
	if (fl & DP_TCP_RST) {
		f->tcp_state = DP_TCP_CLOSED;
		return;
	}
	if (fl & DP_TCP_FIN) {
		f->fin_seen |= (uint8_t)(1u << dir);
		f->tcp_state = f->fin_seen == 3 ? DP_TCP_CLOSED : DP_TCP_CLOSING;
		return;
	}
	if (f->tcp_state == DP_TCP_NEW && (!(fl & DP_TCP_SYN) || (fl & DP_TCP_ACK)))
		f->tcp_state = DP_TCP_ESTABLISHED;
	else if (f->tcp_state == DP_TCP_CLOSED && (fl & DP_TCP_SYN) && !(fl & DP_TCP_ACK)) {
		/* Port reuse: a new connection on the same 5-tuple. */
		f->tcp_state = DP_TCP_NEW;
		f->fin_seen = 0;
	}
}

static uint32_t timeout_of(const struct dp_flow *f, const struct dp_flow_timeouts *to)
{
	switch (f->tcp_state) {
	case DP_TCP_NEW:
		return to->new_ms;
	case DP_TCP_ESTABLISHED:
		return to->established_ms;
	default:
		return to->closing_ms;
	}
}

uint32_t dp_flow_expire(struct dp_flow_table *t, const struct dp_flow_timeouts *to,
			uint64_t now_ms, uint32_t budget,
			void (*on_expire)(void *arg, struct dp_flow *f), void *arg)
{
	uint32_t removed = 0;
	if (budget > t->entries)
		budget = t->entries;
	for (uint32_t i = 0; i < budget; i++) {
		struct dp_flow *f = &t->flows[t->cursor];
		if (++t->cursor == t->entries)
			t->cursor = 0;
		if (!f->in_use || now_ms - f->last_ms < timeout_of(f, to))
			continue;
		if (on_expire)
			on_expire(arg, f);
		if (f->tcp_state == DP_TCP_CLOSED || f->tcp_state == DP_TCP_CLOSING)
			t->st.closed++;
		else
			t->st.expired++;
		dp_flow_remove(t, f);
		removed++;
	}
	return removed;
}

uint32_t dp_flow_foreach(struct dp_flow_table *t, void (*fn)(void *arg, const struct dp_flow *f),
			 void *arg)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->entries; i++) {
		if (!t->flows[i].in_use)
			continue;
		fn(arg, &t->flows[i]);
		n++;
	}
	return n;
}
