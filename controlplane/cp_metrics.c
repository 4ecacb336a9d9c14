/*
 * cp_metrics.c — Prometheus metrics of smsfw-controld (see cp_metrics.h).
 *
 * Every family is written as HELP, TYPE, then all its samples together, as
 * the text format requires. Label values are escaped (backslash, double
 * quote, newline) even where they come from fixed tables, so a future
 * label from the wire cannot break the exposition.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "cp_metrics.h"

#define MAX_DP	       8   /* dataplane instances remembered */
#define GEN_RING       256 /* committed generations remembered for propagation */
#define N_BUCKETS      13
#define STAT_ID_LIMIT  256

static const double bucket_le[N_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					    0.25,  0.5,	   1,	  2.5,	5,     10};

struct hist {
	uint64_t b[N_BUCKETS]; /* non-cumulative */
	uint64_t count;
	double sum;
};

struct dp_inst {
	bool used, connected;
	uint64_t instance;
	uint32_t pid, workers;
	bool has_stats;
	struct cp_ev_stats stats;
	uint64_t stats_wall_ms;
	struct cp_stat ext[CP_EV_STATS_EXT_MAX];
	uint16_t n_ext;
	uint64_t gen_seen; /* highest generation already measured */
	uint64_t last_seen_ms;
};

struct gen_rec {
	uint64_t gen, commit_ms;
	bool standing;
};

struct cp_metrics {
	struct MHD_Daemon *mhd;
	cp_metrics_fill_fn fill;
	void *fill_arg;
	struct dp_inst dp[MAX_DP];
	struct gen_rec ring[GEN_RING];
	unsigned ring_head; /* next slot */
	struct hist prop[2]; /* [0] other changes, [1] standing changes */
	/* from notices */
	uint64_t viol[CP_CAT_COUNT][4]; /* by category, source */
	uint64_t standing[4][4][4];	/* from, to, source */
	uint64_t proposals;
	uint64_t complaints;
	uint64_t optouts[2][4]; /* [0] opt-out, [1] opt-in; by source */
	uint64_t rules[2];	/* publish, rollback */
	uint64_t scrapes;
	/* customers by standing, recounted when the generation changes */
	uint64_t cust_gen;
	bool cust_valid;
	uint64_t cust[4], cust_review, cust_total;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------- */
/* Feeding                                                                   */
/* ------------------------------------------------------------------------- */

static struct dp_inst *dp_find(struct cp_metrics *m, uint64_t instance, bool create)
{
	struct dp_inst *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < MAX_DP; i++) {
		struct dp_inst *d = &m->dp[i];
		if (d->used && d->instance == instance)
			return d;
		if (!d->used && !free_slot)
			free_slot = d;
		if (d->used && !d->connected && (!oldest || d->last_seen_ms < oldest->last_seen_ms))
			oldest = d;
	}
	if (!create)
		return NULL;
	if (!free_slot)
		free_slot = oldest; /* forget the longest-gone instance */
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->instance = instance;
	return free_slot;
}

void cp_metrics_dp_hello(struct cp_metrics *m, uint64_t instance, uint32_t pid, uint32_t workers,
			 uint64_t generation)
{
	struct dp_inst *d = dp_find(m, instance, true);

	if (!d)
		return;
	d->connected = true;
	d->pid = pid;
	d->workers = workers;
	d->last_seen_ms = wall_ms();
	/* The load right after HELLO is a start-up, not a propagation. */
	if (d->gen_seen < generation)
		d->gen_seen = generation;
}

void cp_metrics_dp_gone(struct cp_metrics *m, uint64_t instance)
{
	struct dp_inst *d = dp_find(m, instance, false);

	if (d) {
		d->connected = false;
		d->last_seen_ms = wall_ms();
	}
}

static void hist_observe(struct hist *h, double v)
{
	for (int i = 0; i < N_BUCKETS; i++) {
		if (v <= bucket_le[i]) {
			h->b[i]++;
			break;
		}
	}
	h->count++;
	h->sum += v;
}

/* Dataplane @p d applied generation @p gen at unix ms @p at: every
 * generation committed since the last one measured reached it then. */
static void propagation(struct cp_metrics *m, struct dp_inst *d, uint64_t gen, uint64_t at)
{
	if (gen <= d->gen_seen)
		return;
	for (unsigned i = 0; i < GEN_RING; i++) {
		const struct gen_rec *g = &m->ring[i];
		if (g->gen == 0 || g->gen <= d->gen_seen || g->gen > gen)
			continue;
		double s = at > g->commit_ms ? (double)(at - g->commit_ms) / 1000.0 : 0.0;
		hist_observe(&m->prop[g->standing ? 1 : 0], s);
	}
	d->gen_seen = gen;
}

void cp_metrics_dp_stats(struct cp_metrics *m, uint64_t instance, const struct cp_event *ev)
{
	struct dp_inst *d = dp_find(m, instance, true);
	uint64_t gen = 0, gen_ms = 0;

	if (!d)
		return;
	d->last_seen_ms = wall_ms();
	if (ev->type == CP_EV_STATS) {
		d->stats = ev->u.stats;
		d->has_stats = true;
		d->stats_wall_ms = d->last_seen_ms;
		return;
	}
	if (ev->type != CP_EV_STATS_EXT)
		return;
	d->n_ext = 0;
	for (unsigned i = 0; i < ev->u.ext.count && d->n_ext < CP_EV_STATS_EXT_MAX; i++) {
		struct cp_stat st;
		if (cp_ev_stat_get(ev, i, &st))
			break;
		if (st.id == CP_STAT_GENERATION_APPLIED)
			gen = st.value;
		else if (st.id == CP_STAT_GENERATION_APPLIED_MS)
			gen_ms = st.value;
		d->ext[d->n_ext++] = st;
	}
	d->stats_wall_ms = d->last_seen_ms;
	if (gen && gen_ms)
		propagation(m, d, gen, gen_ms);
}

/* Per-port counters of the connected dataplanes, for `smsfwctl status`. */
json_t *cp_metrics_ports_json(const struct cp_metrics *m)
{
	static const struct {
		uint16_t id;
		const char *name;
	} cols[] = {
	    {CP_STAT_PORT_RX_PACKETS, "rx_packets"}, {CP_STAT_PORT_TX_PACKETS, "tx_packets"},
	    {CP_STAT_PORT_RX_BYTES, "rx_bytes"},     {CP_STAT_PORT_TX_BYTES, "tx_bytes"},
	    {CP_STAT_PORT_RX_MISSED, "rx_missed"},   {CP_STAT_PORT_RX_ERRORS, "rx_errors"},
	    {CP_STAT_PORT_TX_ERRORS, "tx_errors"},
	};
	json_t *a = json_array();
	uint64_t now = wall_ms();

	for (int i = 0; a && i < MAX_DP; i++) {
		const struct dp_inst *d = &m->dp[i];
		char inst[17];

		if (!d->used || !d->connected)
			continue;
		snprintf(inst, sizeof(inst), "%016llx", (unsigned long long)d->instance);
		/* Ports in the order the dataplane sent them (pair by pair). */
		for (unsigned k = 0; k < d->n_ext; k++) {
			const struct cp_stat *st = &d->ext[k];
			bool seen = false;
			json_t *p;

			if (st->id != CP_STAT_PORT_RX_PACKETS)
				continue;
			for (unsigned j = 0; j < k && !seen; j++)
				seen = d->ext[j].id == CP_STAT_PORT_RX_PACKETS &&
				       d->ext[j].index == st->index;
			if (seen)
				continue;
			p = json_object();
			json_object_set_new(p, "port", json_integer(st->index));
			for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
				for (unsigned j = 0; j < d->n_ext; j++)
					if (d->ext[j].id == cols[c].id && d->ext[j].index == st->index) {
						json_object_set_new(p, cols[c].name,
								    json_integer((json_int_t)d->ext[j].value));
						break;
					}
			json_object_set_new(p, "age_ms", json_integer((json_int_t)(
							       now > d->stats_wall_ms ? now - d->stats_wall_ms : 0)));
			json_object_set_new(p, "instance", json_string(inst));
			json_array_append_new(a, p);
		}
	}
	return a;
}

void cp_metrics_generation(struct cp_metrics *m, uint64_t gen, uint64_t commit_ms, bool standing)
{
	m->ring[m->ring_head] = (struct gen_rec){gen, commit_ms, standing};
	m->ring_head = (m->ring_head + 1) % GEN_RING;
}

void cp_metrics_notice(struct cp_metrics *m, const struct cp_notice *n)
{
	unsigned src = n->source < 4 ? n->source : 0;

	switch (n->kind) {
	case CP_NOTICE_STANDING:
		if (n->pending)
			m->proposals++;
		else if (n->from < 4 && n->to < 4)
			m->standing[n->from][n->to][src]++;
		break;
	case CP_NOTICE_VIOLATION:
		if (n->category < CP_CAT_COUNT)
			m->viol[n->category][src]++;
		break;
	case CP_NOTICE_COMPLAINT:
		m->complaints++;
		break;
	case CP_NOTICE_OPTOUT:
	case CP_NOTICE_OPTIN:
		m->optouts[n->kind == CP_NOTICE_OPTIN][src]++;
		break;
	case CP_NOTICE_RULES:
		m->rules[n->rollback ? 1 : 0]++;
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------------- */
/* Exposition text                                                           */
/* ------------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value escaped for the exposition format. */
static const char *esc(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (const char *p = in; *p && o + 2 < cap; p++) {
		if (*p == '\\' || *p == '"') {
			out[o++] = '\\';
			out[o++] = *p;
		} else if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *p;
		}
	}
	out[o] = 0;
	return out;
}

static void sample_u(struct buf *b, const char *name, const char *labels, uint64_t v)
{
	bprintf(b, "%s%s %llu\n", name, labels, (unsigned long long)v);
}

static void sample_d(struct buf *b, const char *name, const char *labels, double v)
{
	bprintf(b, "%s%s %.9g\n", name, labels, v);
}

/* One-sample family. */
static void single(struct buf *b, const char *name, const char *type, const char *help,
		   uint64_t v)
{
	family(b, name, type, help);
	sample_u(b, name, "", v);
}

static const char *src_label(unsigned s)
{
	static const char *const n[] = {"unknown", "dataplane", "operator", "policy"};
	return s < 4 ? n[s] : "unknown";
}

static const char *verdict_label(unsigned v)
{
	static const char *const n[] = {"pass", "block", "monitor", "throttle"};
	return v < 4 ? n[v] : "unknown";
}

/* STATS_EXT entries: how each id is exposed. */
struct ext_desc {
	uint16_t id;
	const char *name, *type, *help;
	const char *index_label; /* "worker", "port" or NULL */
	const char *dir;	 /* value of a dir="" label, or NULL */
	double scale;		 /* value multiplier (0 = 1) */
};

static const struct ext_desc ext_descs[] = {
    {CP_STAT_WORKER_RX_PACKETS, "smsfw_dataplane_worker_packets_total", "counter",
     "Frames a worker received (dir=rx) or sent (dir=tx).", "worker", "rx", 0},
    {CP_STAT_WORKER_TX_PACKETS, "smsfw_dataplane_worker_packets_total", "counter", NULL,
     "worker", "tx", 0},
    {CP_STAT_WORKER_DROPPED, "smsfw_dataplane_worker_dropped_total", "counter",
     "Frames a worker dropped (fail-closed policies, tx ring full).", "worker", NULL, 0},
    {CP_STAT_WORKER_PDUS, "smsfw_dataplane_worker_pdus_total", "counter",
     "SMPP PDUs a worker parsed.", "worker", NULL, 0},
    {CP_STAT_WORKER_FLOWS, "smsfw_dataplane_worker_flows", "gauge",
     "Flows in a worker's flow table.", "worker", NULL, 0},
    {CP_STAT_WORKER_FLOWS_MAX, "smsfw_dataplane_worker_flows_max", "gauge",
     "Capacity of a worker's flow table.", "worker", NULL, 0},
    {CP_STAT_WORKER_TABLE_FULL, "smsfw_dataplane_worker_flow_table_full_total", "counter",
     "New flows a worker could not track because its table was full.", "worker", NULL, 0},
    {CP_STAT_PORT_RX_PACKETS, "smsfw_dataplane_port_packets_total", "counter",
     "Frames a DPDK port received (dir=rx) or sent (dir=tx).", "port", "rx", 0},
    {CP_STAT_PORT_TX_PACKETS, "smsfw_dataplane_port_packets_total", "counter", NULL, "port",
     "tx", 0},
    {CP_STAT_PORT_RX_BYTES, "smsfw_dataplane_port_bytes_total", "counter",
     "Bytes a DPDK port received (dir=rx) or sent (dir=tx).", "port", "rx", 0},
    {CP_STAT_PORT_TX_BYTES, "smsfw_dataplane_port_bytes_total", "counter", NULL, "port", "tx",
     0},
    {CP_STAT_PORT_RX_MISSED, "smsfw_dataplane_port_rx_missed_total", "counter",
     "Frames a port dropped because its rx queue was full (imissed).", "port", NULL, 0},
    {CP_STAT_PORT_RX_ERRORS, "smsfw_dataplane_port_errors_total", "counter",
     "Receive (dir=rx) and transmit (dir=tx) errors of a DPDK port.", "port", "rx", 0},
    {CP_STAT_PORT_TX_ERRORS, "smsfw_dataplane_port_errors_total", "counter", NULL, "port", "tx",
     0},
    {CP_STAT_SPOOL_FACTS, "smsfw_dataplane_spool_facts", "gauge",
     "Facts spooled by the dataplane and not yet acknowledged by controld.", NULL, NULL, 0},
    {CP_STAT_SPOOL_BYTES, "smsfw_dataplane_spool_bytes", "gauge",
     "Bytes of the dataplane's fact spool.", NULL, NULL, 0},
    {CP_STAT_SPOOL_REFUSED, "smsfw_dataplane_spool_refused_total", "counter",
     "Facts the dataplane refused because its spool was full.", NULL, NULL, 0},
    {CP_STAT_OBS_SENT, "smsfw_dataplane_observations_sent_total", "counter",
     "Observations the dataplane sent to controld.", NULL, NULL, 0},
    {CP_STAT_GENERATION_APPLIED, "smsfw_dataplane_generation_applied", "gauge",
     "Store generation the dataplane's workers use.", NULL, NULL, 0},
    {CP_STAT_GENERATION_APPLIED_MS, "smsfw_dataplane_generation_applied_timestamp_seconds",
     "gauge", "When the dataplane's workers switched to that generation (unix time).", NULL,
     NULL, 0.001},
    {CP_STAT_RULESET_VERSION, "smsfw_dataplane_ruleset_version", "gauge",
     "Ruleset version the dataplane's workers use.", NULL, NULL, 0},
    {CP_STAT_CONCAT_OPEN, "smsfw_dataplane_concat_open", "gauge",
     "Concatenated messages in flight in the dataplane.", NULL, NULL, 0},
};

static void render_dataplane(struct cp_metrics *m, struct buf *b)
{
	char lab[256];
	uint64_t now = wall_ms();

#define EACH_DP for (int i = 0; i < MAX_DP; i++) if (m->dp[i].used)
#define INST(d) (snprintf(lab, sizeof(lab), "{instance=\"%016llx\"}", \
			  (unsigned long long)(d)->instance), lab)
	family(b, "smsfw_dataplane_up", "gauge",
	       "1 while the dataplane instance is connected to controld's event socket.");
	EACH_DP sample_u(b, "smsfw_dataplane_up", INST(&m->dp[i]), m->dp[i].connected);
	family(b, "smsfw_dataplane_workers", "gauge", "Worker lcores of the dataplane instance.");
	EACH_DP sample_u(b, "smsfw_dataplane_workers", INST(&m->dp[i]), m->dp[i].workers);
	family(b, "smsfw_dataplane_stats_age_seconds", "gauge",
	       "Seconds since the dataplane instance last sent its counters.");
	EACH_DP if (m->dp[i].stats_wall_ms) sample_d(
	    b, "smsfw_dataplane_stats_age_seconds", INST(&m->dp[i]),
	    now > m->dp[i].stats_wall_ms ? (double)(now - m->dp[i].stats_wall_ms) / 1000.0 : 0.0);

	static const struct {
		const char *name, *help;
		size_t off;
	} v1[] = {
	    {"smsfw_dataplane_pdus_total", "SMPP PDUs the dataplane parsed.",
	     offsetof(struct cp_ev_stats, rx_pdus)},
	    {"smsfw_dataplane_observations_dropped_total",
	     "Observations (message log records) the dataplane dropped before they reached "
	     "controld.",
	     offsetof(struct cp_ev_stats, obs_dropped)},
	    {"smsfw_dataplane_flows_created_total", "Flows the dataplane's flow tables created.",
	     offsetof(struct cp_ev_stats, flows)},
	    {"smsfw_dataplane_errors_total",
	     "Malformed PDUs, scan errors and facts the dataplane dropped.",
	     offsetof(struct cp_ev_stats, errors)},
	};
	for (size_t k = 0; k < sizeof(v1) / sizeof(v1[0]); k++) {
		family(b, v1[k].name, "counter", v1[k].help);
		EACH_DP if (m->dp[i].has_stats) {
			uint64_t v;
			memcpy(&v, (const uint8_t *)&m->dp[i].stats + v1[k].off, sizeof(v));
			sample_u(b, v1[k].name, INST(&m->dp[i]), v);
		}
	}
	family(b, "smsfw_dataplane_verdicts_total", "counter",
	       "Verdicts of the dataplane's policy (monitor = would block, passed in monitor "
	       "mode).");
	EACH_DP if (m->dp[i].has_stats) {
		const struct cp_ev_stats *s = &m->dp[i].stats;
		const uint64_t v[4] = {s->passed, s->blocked, s->monitored, s->throttled};
		for (int k = 0; k < 4; k++) {
			snprintf(lab, sizeof(lab), "{instance=\"%016llx\",verdict=\"%s\"}",
				 (unsigned long long)m->dp[i].instance, verdict_label((unsigned)k));
			sample_u(b, "smsfw_dataplane_verdicts_total", lab, v[k]);
		}
	}
#undef INST
	/* STATS_EXT families, in table order, each family once */
	for (size_t k = 0; k < sizeof(ext_descs) / sizeof(ext_descs[0]); k++) {
		const struct ext_desc *fd = &ext_descs[k];
		if (!fd->help)
			continue; /* a later row of a family already written */
		family(b, fd->name, fd->type, fd->help);
		for (size_t r = k; r < sizeof(ext_descs) / sizeof(ext_descs[0]); r++) {
			const struct ext_desc *rd = &ext_descs[r];
			if (strcmp(rd->name, fd->name) != 0)
				continue;
			EACH_DP for (unsigned e = 0; e < m->dp[i].n_ext; e++) {
				const struct cp_stat *st = &m->dp[i].ext[e];
				int n;
				if (st->id != rd->id)
					continue;
				n = snprintf(lab, sizeof(lab), "{instance=\"%016llx\"",
					     (unsigned long long)m->dp[i].instance);
				if (rd->index_label)
					n += snprintf(lab + n, sizeof(lab) - (size_t)n,
						      ",%s=\"%u\"", rd->index_label, st->index);
				if (rd->dir)
					n += snprintf(lab + n, sizeof(lab) - (size_t)n,
						      ",dir=\"%s\"", rd->dir);
				snprintf(lab + n, sizeof(lab) - (size_t)n, "}");
				if (rd->scale)
					sample_d(b, rd->name, lab, (double)st->value * rd->scale);
				else
					sample_u(b, rd->name, lab, st->value);
			}
		}
	}
#undef EACH_DP
}

/* Customers by standing, recounted only when the generation moved. */
static void count_customers(struct cp_metrics *m, struct cp_store *s, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, v;

	if (m->cust_valid && m->cust_gen == s->generation)
		return;
	memset(m->cust, 0, sizeof(m->cust));
	m->cust_review = m->cust_total = 0;
	if (mdb_cursor_open(txn, s->dbi[CP_DBI_CUSTOMERS], &cur))
		return;
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		struct cp_customer_rec c;
		if (cp_customer_from_val(&v, &c) || c.standing > CP_STANDING_TERMINATED)
			continue;
		m->cust[c.standing]++;
		m->cust_review += !!(c.flags & CP_CUST_F_REVIEW);
		m->cust_total++;
	}
	mdb_cursor_close(cur);
	m->cust_gen = s->generation;
	m->cust_valid = true;
}

static void render_store(struct cp_metrics *m, struct buf *b, struct cp_engine *e)
{
	struct cp_store *s = e->store;
	MDB_txn *txn;
	MDB_envinfo info;
	MDB_stat st;
	char lab[128], tmp[64];
	uint64_t rs_version = 0;
	struct cp_ruleset_rec h;
	bool have_rs = false;
	static const struct {
		enum cp_db db;
		const char *name;
	} dbs[] = {{CP_DBI_CUSTOMERS, "customers"},   {CP_DBI_MESSAGES, "messages"},
		   {CP_DBI_EVIDENCE, "evidence"},     {CP_DBI_VIOLATIONS, "violations"},
		   {CP_DBI_COMPLAINTS, "complaints"}, {CP_DBI_OPTOUTS, "optouts"},
		   {CP_DBI_RULESETS, "rulesets"},     {CP_DBI_HISTORY, "history"}};
	size_t entries[sizeof(dbs) / sizeof(dbs[0])] = {0};

	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn))
		return;
	count_customers(m, s, txn);
	if (cp_meta_get_u64(s, txn, CP_META_RULESET, &rs_version) == CP_OK && rs_version) {
		uint8_t key[8];
		MDB_val k = {8, key}, v;
		cp_key_u64(key, rs_version);
		if (mdb_get(txn, s->dbi[CP_DBI_RULESETS], &k, &v) == 0 && v.mv_size >= sizeof(h)) {
			memcpy(&h, v.mv_data, sizeof(h));
			have_rs = true;
		}
	}
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (mdb_stat(txn, s->dbi[dbs[i].db], &st) == 0)
			entries[i] = st.ms_entries;
	mdb_txn_abort(txn);
	mdb_env_info(s->env, &info);

	family(b, "smsfw_customers", "gauge", "Customers by standing.");
	for (unsigned i = 0; i < 4; i++) {
		snprintf(lab, sizeof(lab), "{standing=\"%s\"}",
			 esc(cp_standing_name(i), tmp, sizeof(tmp)));
		sample_u(b, "smsfw_customers", lab, m->cust[i]);
	}
	single(b, "smsfw_customers_pending_review", "gauge",
	       "Customers with an automatic suspension waiting for an operator (review mode).",
	       m->cust_review);
	single(b, "smsfw_ruleset_version", "gauge", "Version of the current ruleset (0 = none).",
	       have_rs ? rs_version : 0);
	if (have_rs) {
		single(b, "smsfw_ruleset_rules", "gauge", "Rules in the current ruleset.",
		       h.n_rules);
		single(b, "smsfw_ruleset_published_timestamp_seconds", "gauge",
		       "When the current ruleset was published or rolled back to (unix time).",
		       h.published);
		uint64_t now = cp_engine_now(e);
		single(b, "smsfw_ruleset_age_seconds", "gauge",
		       "Seconds since the current ruleset was published.",
		       now > h.published ? now - h.published : 0);
	}
	single(b, "smsfw_store_map_size_bytes", "gauge", "Size of the LMDB map.", s->map_size);
	single(b, "smsfw_store_used_bytes", "gauge", "Bytes of the LMDB map in use (pages).",
	       (uint64_t)(info.me_last_pgno + 1) * 4096);
	single(b, "smsfw_store_map_grows_total", "counter",
	       "Times a full LMDB map was doubled since controld started.", s->map_grows);
	family(b, "smsfw_store_records", "gauge", "Records in each LMDB database.");
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		snprintf(lab, sizeof(lab), "{db=\"%s\"}", dbs[i].name);
		sample_u(b, "smsfw_store_records", lab, entries[i]);
	}
}

static void render_hist(struct buf *b, const char *name, const char *label,
			const char *const values[], const struct hist *h, int n)
{
	char lab[128];

	for (int k = 0; k < n; k++) {
		uint64_t cum = 0;
		for (int i = 0; i < N_BUCKETS; i++) {
			cum += h[k].b[i];
			snprintf(lab, sizeof(lab), "{%s=\"%s\",le=\"%g\"}", label, values[k],
				 bucket_le[i]);
			bprintf(b, "%s_bucket%s %llu\n", name, lab, (unsigned long long)cum);
		}
		snprintf(lab, sizeof(lab), "{%s=\"%s\",le=\"+Inf\"}", label, values[k]);
		bprintf(b, "%s_bucket%s %llu\n", name, lab, (unsigned long long)h[k].count);
		snprintf(lab, sizeof(lab), "{%s=\"%s\"}", label, values[k]);
		bprintf(b, "%s_sum%s %.9g\n", name, lab, h[k].sum);
		bprintf(b, "%s_count%s %llu\n", name, lab, (unsigned long long)h[k].count);
	}
}

char *cp_metrics_render(struct cp_metrics *m, size_t *len)
{
	struct cp_metrics_src src = {0};
	struct buf b = {malloc(65536), 0, 65536, false};
	char lab[256], t1[64], t2[64];
	struct cp_engine *e;

	if (!b.p)
		return NULL;
	b.p[0] = 0;
	if (m->fill)
		m->fill(m->fill_arg, &src);
	e = src.eng;
	m->scrapes++;

	uint64_t now_s = (uint64_t)time(NULL);
	single(&b, "smsfw_controld_start_time_seconds", "gauge",
	       "When smsfw-controld started (unix time).", src.started);
	single(&b, "smsfw_controld_uptime_seconds", "gauge", "Seconds smsfw-controld has run.",
	       now_s > src.started ? now_s - src.started : 0);
	single(&b, "smsfw_metrics_scrapes_total", "counter", "Scrapes of this endpoint.",
	       m->scrapes);
	if (e) {
		single(&b, "smsfw_generation", "gauge",
		       "Store generation last committed (bumped by every change the dataplane "
		       "must see).",
		       e->store->generation);
		family(&b, "smsfw_messages_total", "counter",
		       "Messages in the message log (dataplane observations and violations), by "
		       "verdict and category.");
		for (unsigned v = 0; v < 4; v++)
			for (unsigned c = 0; c < CP_CAT_COUNT; c++)
				if (e->msgs[v][c]) {
					snprintf(lab, sizeof(lab),
						 "{verdict=\"%s\",category=\"%s\"}",
						 verdict_label(v),
						 esc(cp_category_name(c), t1, sizeof(t1)));
					sample_u(&b, "smsfw_messages_total", lab, e->msgs[v][c]);
				}
		family(&b, "smsfw_rule_hits_total", "counter",
		       "Messages that matched a rule, by rule id, category and verdict.");
		for (unsigned i = 0; i < CP_RULE_HITS_MAX; i++) {
			const struct cp_rule_hits *h = &e->hits[i];
			if (!h->rule_id)
				continue;
			snprintf(lab, sizeof(lab), "{rule=\"%u\",category=\"%s\",verdict=\"%s\"}",
				 h->rule_id, esc(cp_category_name(h->category), t1, sizeof(t1)),
				 verdict_label(h->verdict));
			sample_u(&b, "smsfw_rule_hits_total", lab, h->n);
		}
		single(&b, "smsfw_rule_hits_overflow_total", "counter",
		       "Rule matches not broken down by rule (too many distinct rules).",
		       e->hits_overflow);
		family(&b, "smsfw_events_ingested_total", "counter",
		       "Dataplane events committed by controld: observations, facts, duplicate "
		       "facts skipped, bad records.");
		const uint64_t iv[4] = {e->ingested_obs, e->ingested_facts, e->duplicate_facts,
					e->bad_events};
		static const char *const ik[4] = {"observation", "fact", "duplicate", "bad"};
		for (int k = 0; k < 4; k++) {
			snprintf(lab, sizeof(lab), "{kind=\"%s\"}", ik[k]);
			sample_u(&b, "smsfw_events_ingested_total", lab, iv[k]);
		}
		single(&b, "smsfw_ingest_commits_total", "counter",
		       "Durable LMDB transactions of event ingestion.", e->ingest_commits);
		family(&b, "smsfw_ingest_commit_seconds_total", "counter",
		       "Time spent in event ingestion transactions, fsync included.");
		sample_d(&b, "smsfw_ingest_commit_seconds_total", "",
			 (double)e->ingest_commit_us / 1e6);
		single(&b, "smsfw_notices_lost_total", "counter",
		       "Events for the SIEM export and these metrics lost for lack of memory.",
		       e->notices_lost);
	}
	single(&b, "smsfw_event_batches_total", "counter",
	       "Event batches received on the event socket.", src.event_batches);
	single(&b, "smsfw_event_acks_sent_total", "counter", "ACKs sent to dataplanes.",
	       src.acks_sent);
	single(&b, "smsfw_generation_notices_sent_total", "counter",
	       "GENERATION notices sent to dataplanes.", src.gens_sent);
	single(&b, "smsfw_dataplane_connects_total", "counter",
	       "Connections accepted on the event socket.", src.dp_connects);
	single(&b, "smsfw_dataplanes_connected", "gauge",
	       "Dataplanes connected now (after HELLO).", src.dp_connected);

	family(&b, "smsfw_violations_total", "counter",
	       "Violations recorded, by category and source (dataplane, operator, policy).");
	for (unsigned c = 0; c < CP_CAT_COUNT; c++)
		for (unsigned s = 0; s < 4; s++)
			if (m->viol[c][s]) {
				snprintf(lab, sizeof(lab), "{category=\"%s\",source=\"%s\"}",
					 esc(cp_category_name(c), t1, sizeof(t1)), src_label(s));
				sample_u(&b, "smsfw_violations_total", lab, m->viol[c][s]);
			}
	family(&b, "smsfw_standing_changes_total", "counter",
	       "Customer standing changes, by from, to and source (operator or policy).");
	for (unsigned f = 0; f < 4; f++)
		for (unsigned t = 0; t < 4; t++)
			for (unsigned s = 0; s < 4; s++)
				if (m->standing[f][t][s]) {
					snprintf(lab, sizeof(lab),
						 "{from=\"%s\",to=\"%s\",source=\"%s\"}",
						 esc(cp_standing_name(f), t1, sizeof(t1)),
						 esc(cp_standing_name(t), t2, sizeof(t2)),
						 src_label(s));
					sample_u(&b, "smsfw_standing_changes_total", lab,
						 m->standing[f][t][s]);
				}
	single(&b, "smsfw_standing_proposals_total", "counter",
	       "Automatic suspensions proposed for an operator's review.", m->proposals);
	single(&b, "smsfw_complaints_total", "counter", "Complaints recorded.", m->complaints);
	family(&b, "smsfw_optouts_total", "counter",
	       "Opt-outs added (action=optout) and removed (action=optin), by source.");
	for (int a = 0; a < 2; a++)
		for (unsigned s = 0; s < 4; s++)
			if (m->optouts[a][s]) {
				snprintf(lab, sizeof(lab), "{action=\"%s\",source=\"%s\"}",
					 a ? "optin" : "optout", src_label(s));
				sample_u(&b, "smsfw_optouts_total", lab, m->optouts[a][s]);
			}
	family(&b, "smsfw_ruleset_changes_total", "counter",
	       "Rulesets published (action=publish) and rolled back to (action=rollback).");
	sample_u(&b, "smsfw_ruleset_changes_total", "{action=\"publish\"}", m->rules[0]);
	sample_u(&b, "smsfw_ruleset_changes_total", "{action=\"rollback\"}", m->rules[1]);

	family(&b, "smsfw_propagation_delay_seconds", "histogram",
	       "From the commit of a generation to the dataplane reporting its workers use it "
	       "(change=standing: the generation carried a standing change).");
	static const char *const pk[2] = {"other", "standing"};
	render_hist(&b, "smsfw_propagation_delay_seconds", "change", pk, m->prop, 2);

	family(&b, "smsfw_export_events_total", "counter",
	       "SIEM events exported (result=sent) or dropped, by sink.");
	sample_u(&b, "smsfw_export_events_total", "{sink=\"syslog\",result=\"sent\"}",
		 src.exp.syslog_sent);
	sample_u(&b, "smsfw_export_events_total", "{sink=\"syslog\",result=\"dropped\"}",
		 src.exp.syslog_dropped);
	sample_u(&b, "smsfw_export_events_total", "{sink=\"json\",result=\"sent\"}",
		 src.exp.json_sent);
	sample_u(&b, "smsfw_export_events_total", "{sink=\"json\",result=\"dropped\"}",
		 src.exp.json_dropped);
	if (e)
		render_store(m, &b, e);
	render_dataplane(m, &b);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ------------------------------------------------------------------------- */
/* HTTP                                                                      */
/* ------------------------------------------------------------------------- */

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct cp_metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result rc;
	unsigned status = MHD_HTTP_OK;
	char *text = NULL;
	size_t len = 0;
	const char *ctype = "text/plain; version=0.0.4; charset=utf-8";

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "only GET\n";
		r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						    MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	} else if (strcmp(url, "/metrics") == 0) {
		text = cp_metrics_render(m, &len);
		if (!text) {
			static const char msg[] = "out of memory\n";
			r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
							    MHD_RESPMEM_PERSISTENT);
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		} else {
			r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		}
	} else if (strcmp(url, "/") == 0) {
		static const char msg[] = "smsfw-controld: metrics at /metrics\n";
		r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						    MHD_RESPMEM_PERSISTENT);
	} else {
		static const char msg[] = "not found\n";
		r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						    MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_FOUND;
	}
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

int cp_metrics_open(const char *addr, unsigned port, cp_metrics_fill_fn fill, void *arg,
		    struct cp_metrics **out, char *err, size_t errlen)
{
	struct cp_metrics *m = calloc(1, sizeof(*m));
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	const struct sockaddr *sa;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	*out = NULL;
	if (!m)
		return CP_ERR_NOMEM;
	m->fill = fill;
	m->fill_arg = arg;
	if (port == 0) {
		*out = m;
		return CP_OK;
	}
	if (port > 65535) {
		snprintf(err, errlen, "metrics_port %u out of range", port);
		free(m);
		return CP_ERR_INVAL;
	}
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "metrics_address '%s' is not an IPv4 or IPv6 address", addr);
		free(m);
		return CP_ERR_INVAL;
	}
	m->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, m,
				  MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				  MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, errlen, "cannot serve metrics on %s port %u: %s", addr, port,
			 errno ? strerror(errno) : "libmicrohttpd failed");
		free(m);
		return CP_ERR_IO;
	}
	*out = m;
	return CP_OK;
}

void cp_metrics_close(struct cp_metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	free(m);
}

int cp_metrics_fd(const struct cp_metrics *m)
{
	const union MHD_DaemonInfo *i;

	if (!m || !m->mhd)
		return -1;
	i = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return i ? i->epoll_fd : -1;
}

int cp_metrics_timeout_ms(const struct cp_metrics *m)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (!m || !m->mhd || MHD_get_timeout(m->mhd, &t) != MHD_YES)
		return -1;
	return t > 1000 ? 1000 : (int)t;
}

void cp_metrics_run(struct cp_metrics *m)
{
	if (m && m->mhd)
		MHD_run(m->mhd);
}
