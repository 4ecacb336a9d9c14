/* dp_telemetry.c — DPDK telemetry commands, so dpdk-telemetry.py shows:
 *   /smsfw/stats      totals, per worker, per port, per category and command
 *   /smsfw/flows      flow table use per worker, stream and pool counters
 *   /smsfw/ruleset    the active ruleset and swap counts
 *   /smsfw/customers  the customer snapshot (system_id, standing)
 * Callbacks run on the telemetry thread: they read counters that one worker
 * writes (64-bit aligned loads, a consistent enough view for monitoring)
 * and the snapshot under the app lock, never worker-private tables.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "dp_app.h"

/* Telemetry dictionary names accept letters, digits and a few marks only:
 * anything else in a system_id or rule id becomes '_'. */
static const char *tel_name(char *out, size_t cap, const char *prefix, const char *s, size_t max)
{
	size_t o = (size_t)snprintf(out, cap, "%s", prefix);
	for (size_t i = 0; i < max && s[i] && o + 1 < cap; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_';
		out[o++] = ok ? c : '_';
	}
	out[o] = '\0';
	return out;
}

static void add_u64(struct rte_tel_data *d, const char *name, uint64_t v)
{
	rte_tel_data_add_dict_u64(d, name, v);
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_app *a = &dp_app;
	(void)cmd;
	(void)params;
	struct dp_counters t;
	memset(&t, 0, sizeof(t));
	for (unsigned w = 0; w < a->n_workers; w++) {
		const uint64_t *s = (const uint64_t *)dp_engine_counters(a->eng[w]);
		uint64_t *x = (uint64_t *)&t;
		for (size_t i = 0; i < sizeof(t) / sizeof(uint64_t); i++)
			x[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
	}
	rte_tel_data_start_dict(d);
	add_u64(d, "workers", a->n_workers);
	add_u64(d, "rx_frames", t.rx_frames);
	add_u64(d, "tx_frames", t.tx_frames);
	add_u64(d, "dropped", t.dropped);
	add_u64(d, "other_frames", t.other_frames);
	add_u64(d, "bad_frames", t.bad_frames);
	add_u64(d, "ip_frags", t.ip_frags);
	add_u64(d, "smpp_frags", t.smpp_frags);
	add_u64(d, "frag_held", t.frag_held);
	add_u64(d, "frag_reassembled", t.frag_reassembled);
	add_u64(d, "frag_released", t.frag_released);
	add_u64(d, "frag_rewritten", t.frag_rewritten);
	add_u64(d, "frag_refragmented", t.frag_refragmented);
	add_u64(d, "frag_dups", t.frag_dups);
	add_u64(d, "frag_overlaps", t.frag_overlaps);
	add_u64(d, "frag_timeouts", t.frag_timeouts);
	add_u64(d, "frag_refused", t.frag_refused);
	add_u64(d, "non_smpp_tcp", t.non_smpp_tcp);
	add_u64(d, "smpp_frames", t.smpp_frames);
	add_u64(d, "smpp_bytes", t.smpp_bytes);
	add_u64(d, "smpp_rst", t.smpp_rst);
	/* inline enforcement */
	add_u64(d, "mode_inline", a->monitor ? 0 : 1);
	add_u64(d, "edit_slots_alloc", t.edit_slots_alloc);
	add_u64(d, "edit_pool_empty", t.edit_pool_empty);
	add_u64(d, "edit_pdus_removed", t.edit_pdus_removed);
	add_u64(d, "edit_resp_injected", t.edit_resp_injected);
	add_u64(d, "edit_resp_failed", t.edit_resp_failed);
	add_u64(d, "edit_inj_resent", t.edit.inj_resent_timer + t.edit.inj_resent_dupack);
	add_u64(d, "edit_retrans_edited", t.edit.retrans_edited);
	add_u64(d, "edit_resets", t.edit_resets);
	add_u64(d, "edit_probe_resets", t.edit_probe_resets);
	add_u64(d, "edit_mid_unplaced_resets", t.edit_mid_unplaced_resets);
	add_u64(d, "edit_mid_acked_resets", t.edit_mid_acked_resets);
	add_u64(d, "sessions_restored", t.sessions_restored);
	{
		uint64_t loaded, refused;
		dp_main_sessions_counters(&loaded, &refused);
		add_u64(d, "sessions_loaded", loaded);
		add_u64(d, "sessions_file_refused", refused);
	}
	add_u64(d, "unknown_session_submits", t.sess_unknown_submits);
	add_u64(d, "unknown_session_resets", t.sess_unknown_resets);
	add_u64(d, "edit_tx_nombuf", t.edit_tx_nombuf);
	add_u64(d, "edit_multi_partial", t.edit_multi_partial);
	add_u64(d, "edit_multi_merged", t.edit_multi_merged);
	add_u64(d, "edit_multi_fallback", t.edit_multi_fallback);
	add_u64(d, "edit_multi_unmerged", t.edit_multi_unmerged);
	add_u64(d, "edit_repl_resent", t.edit.repl_resent);
	add_u64(d, "tls_flows", t.tls_flows);
	add_u64(d, "pdus", t.stream.pdus);
	add_u64(d, "binds", t.binds);
	add_u64(d, "bind_ok", t.bind_ok);
	add_u64(d, "bind_failed", t.bind_failed);
	add_u64(d, "unbinds", t.unbinds);
	add_u64(d, "submits", t.submits);
	add_u64(d, "replaces", t.replaces);
	add_u64(d, "broadcasts", t.broadcasts);
	add_u64(d, "delivers", t.delivers);
	add_u64(d, "malformed", t.malformed);
	add_u64(d, "pass", t.verdicts[DP_VERDICT_PASS]);
	add_u64(d, "block", t.verdicts[DP_VERDICT_BLOCK]);
	add_u64(d, "throttle", t.verdicts[DP_VERDICT_THROTTLE]);
	for (unsigned c = 1; c < DP_CAT__COUNT; c++) {
		char n[48];
		snprintf(n, sizeof(n), "cat_%s", dp_category_name(c));
		add_u64(d, n, t.cat[c]);
	}
	for (unsigned i = 1; dp_cmd_index_name(i) != NULL; i++) {
		char n[48];
		snprintf(n, sizeof(n), "pdu_%s", dp_cmd_index_name(i));
		add_u64(d, n, t.pdus_by_cmd[i]);
	}
	add_u64(d, "optouts", t.optouts);
	add_u64(d, "optins", t.optins);
	add_u64(d, "events", t.events);
	add_u64(d, "events_dropped", t.events_dropped);
	add_u64(d, "facts_dropped", t.facts_dropped);
	add_u64(d, "events_written", a->events_written);
	add_u64(d, "concat_parts", t.concat_parts);
	add_u64(d, "concat_evicted", t.concat_evicted);
	add_u64(d, "evict_rate", t.evict_rate);
	add_u64(d, "evict_bulk", t.evict_bulk);
	add_u64(d, "evict_velocity", t.evict_velocity);
	add_u64(d, "evict_optout", t.evict_optout);
	add_u64(d, "evict_binds", t.evict_binds);
	add_u64(d, "evict_frag_ids", t.evict_frag_ids);
	add_u64(d, "syn_ignored", t.syn_ignored);
	add_u64(d, "rst_ignored", t.rst_ignored);
	add_u64(d, "fin_ignored", t.fin_ignored);
	add_u64(d, "syn_data", t.syn_data);
	add_u64(d, "concat_expired", t.concat_expired);
	add_u64(d, "scan_errors", t.scan_errors);
	uint64_t os, od, fs, fa, fr;
	int conn;
	dp_ctl_counters(&os, &od, &fs, &fa, &fr, &conn);
	add_u64(d, "controld_connected", (uint64_t)conn);
	add_u64(d, "controld_observations_sent", os);
	add_u64(d, "controld_observations_dropped", od);
	add_u64(d, "controld_facts_spooled", fs);
	add_u64(d, "controld_facts_acked", fa);
	add_u64(d, "controld_facts_refused", fr);
	add_u64(d, "unscanned_no_ruleset", t.unscanned_no_ruleset);
	/* Privileges as this (telemetry) thread holds them; after start every
	 * thread holds the same (dp_main.c checks): uid, gid, effective
	 * capabilities (a bit mask, 0 once dropped) and no_new_privs. */
	add_u64(d, "uid", (uint64_t)getuid());
	add_u64(d, "gid", (uint64_t)getgid());
	add_u64(d, "cap_effective", dp_main_cap_effective());
	add_u64(d, "no_new_privs", (uint64_t)prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	for (unsigned p = 0; p < a->n_pairs; p++)
		for (int s = 0; s < 2; s++) {
			struct rte_eth_stats es;
			uint16_t port = a->pair[p][s];
			if (rte_eth_stats_get(port, &es) != 0)
				continue;
			char n[48];
			snprintf(n, sizeof(n), "port%u_ipackets", port);
			add_u64(d, n, es.ipackets);
			snprintf(n, sizeof(n), "port%u_opackets", port);
			add_u64(d, n, es.opackets);
			snprintf(n, sizeof(n), "port%u_imissed", port);
			add_u64(d, n, es.imissed);
		}
	for (unsigned w = 0; w < a->n_workers; w++) {
		char n[48];
		snprintf(n, sizeof(n), "worker%u_rx_frames", w);
		add_u64(d, n, dp_engine_counters(a->eng[w])->rx_frames);
		snprintf(n, sizeof(n), "worker%u_idle_sleeps", w);
		add_u64(d, n, a->worker_idle_sleeps[w]);
		snprintf(n, sizeof(n), "worker%u_tx_drops", w);
		add_u64(d, n, a->tx_drops[w]);
	}
	return 0;
}

struct sess_out {
	struct rte_tel_data *d;
	unsigned n;
};

/* One line per SMPP session. Read while the worker runs: a monitoring
 * view (plain counters, no pointers followed), not an atomic snapshot. */
static void sess_line(void *arg, const struct dp_flow *f)
{
	static const char *const st[] = { "open", "binding", "bound", "unbound" };
	struct sess_out *o = arg;
	if (!f->smpp || o->n >= 200)
		return;
	char k[64], v[RTE_TEL_MAX_STRING_LEN];
	const uint8_t *ea = f->esme_dir == DP_DIR_LO ? f->key.lo_addr : f->key.hi_addr;
	uint16_t ep = f->esme_dir == DP_DIR_LO ? f->key.lo_port : f->key.hi_port;
	if (f->key.family == 4)
		snprintf(k, sizeof(k), "esme_%u_%u_%u_%u_%u", ea[0], ea[1], ea[2], ea[3], ep);
	else
		snprintf(k, sizeof(k), "esme_v6_%02x%02x_%u_%u", ea[14], ea[15], ep, o->n);
	char sid[DP_SYSTEM_ID_MAX];
	memcpy(sid, f->sess.system_id, sizeof(sid));
	sid[sizeof(sid) - 1] = '\0';
	snprintf(v, sizeof(v), "%s %s pdus_from_esme=%u pdus_to_esme=%u submits=%u would_block=%u%s",
		 sid[0] ? sid : "-", st[f->sess.state & 3], f->sess.pdus[0], f->sess.pdus[1],
		 f->sess.submits, f->sess.blocked_would, f->tls ? " tls" : "");
	rte_tel_data_add_dict_string(o->d, k, v);
	o->n++;
}

static int cmd_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_app *a = &dp_app;
	(void)cmd;
	rte_tel_data_start_dict(d);
	if (params != NULL && strcmp(params, "sessions") == 0) {
		/* /smsfw/flows,sessions: the SMPP sessions and their counters. */
		struct sess_out o = { d, 0 };
		for (unsigned w = 0; w < a->n_workers; w++)
			dp_flow_foreach(dp_engine_flows(a->eng[w]), sess_line, &o);
		return 0;
	}
	uint64_t active = 0, created = 0, expired = 0, closed = 0, full = 0, cap = 0, chunks = 0;
	struct dp_stream_stats st;
	memset(&st, 0, sizeof(st));
	for (unsigned w = 0; w < a->n_workers; w++) {
		struct dp_flow_table *t = dp_engine_flows(a->eng[w]);
		const struct dp_flow_stats *fs = dp_flow_table_stats(t);
		active += fs->active;
		created += fs->created;
		expired += fs->expired;
		closed += fs->closed;
		full += fs->table_full;
		cap += dp_flow_table_capacity(t);
		chunks += dp_engine_pool(a->eng[w])->in_use;
		const uint64_t *s = (const uint64_t *)&dp_engine_counters(a->eng[w])->stream;
		uint64_t *x = (uint64_t *)&st;
		for (size_t i = 0; i < sizeof(st) / sizeof(uint64_t); i++)
			x[i] += s[i];
		char n[48];
		snprintf(n, sizeof(n), "worker%u_active", w);
		add_u64(d, n, fs->active);
	}
	add_u64(d, "capacity", cap);
	add_u64(d, "active", active);
	add_u64(d, "created", created);
	add_u64(d, "expired", expired);
	add_u64(d, "closed", closed);
	add_u64(d, "table_full", full);
	add_u64(d, "reassembly_chunks_in_use", chunks);
	add_u64(d, "pdus_reassembled", st.pdus_reassembled);
	add_u64(d, "ooo_held", st.ooo_held);
	add_u64(d, "ooo_replayed", st.ooo_replayed);
	add_u64(d, "ooo_overflow", st.ooo_overflow);
	add_u64(d, "gap_bytes", st.gap_bytes);
	add_u64(d, "retrans", st.retrans);
	add_u64(d, "overlap", st.overlap);
	add_u64(d, "overlap_conflict", st.overlap_conflict);
	add_u64(d, "resync", st.resync);
	add_u64(d, "resync_bytes", st.resync_bytes);
	add_u64(d, "desync", st.desync);
	add_u64(d, "oversize", st.oversize);
	add_u64(d, "nomem", st.nomem);
	add_u64(d, "tls", st.tls);
	return 0;
}

struct cust_out {
	struct rte_tel_data *d;
	const struct dp_snapshot *snap;
	unsigned n;
};

static const char *const standing_name[] = { "active", "warned", "suspended", "terminated" };

static void cust_line(void *arg, const struct dp_cust_stats *c)
{
	struct cust_out *o = arg;
	if (o->n >= RTE_TEL_MAX_DICT_ENTRIES - 8)
		return;
	const struct dp_customer *dc = o->snap && c->system_id[0] ?
		dp_snapshot_customer(o->snap, c->system_id) : NULL;
	char v[RTE_TEL_MAX_STRING_LEN];
	snprintf(v, sizeof(v), "%s submits=%" PRIu64 " pass=%" PRIu64 " block=%" PRIu64
		 " throttle=%" PRIu64 " binds=%" PRIu64 " optouts=%" PRIu64,
		 dc ? standing_name[dc->standing & 3] : "default-profile", c->submits, c->verdicts[0],
		 c->verdicts[1], c->verdicts[2], c->binds, c->optouts);
	char k[48];
	tel_name(k, sizeof(k), "traffic_", c->system_id[0] ? c->system_id : "nobind", DP_SYSTEM_ID_MAX);
	rte_tel_data_add_dict_string(o->d, k, v);
	o->n++;
}

static int cmd_customers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_app *a = &dp_app;
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&a->lock);
	const struct dp_snapshot *s = a->snap;
	add_u64(d, "count", s ? s->n_cust : 0);
	add_u64(d, "optouts", s ? s->n_optouts : 0);
	struct cust_out o = { d, s, 2 };
	/* Customers of the snapshot first (standing), then the traffic seen. */
	for (uint32_t i = 0; s != NULL && i < s->n_cust && o.n < RTE_TEL_MAX_DICT_ENTRIES / 2; i++, o.n++) {
		char k[48];
		rte_tel_data_add_dict_string(d, tel_name(k, sizeof(k), "", s->cust[i].system_id,
							 DP_SYSTEM_ID_MAX),
					     standing_name[s->cust[i].standing & 3]);
	}
	dp_stats_each(cust_line, NULL, &o);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static void rule_line(void *arg, const struct dp_rule_stats *r)
{
	struct cust_out *o = arg;
	if (o->n >= RTE_TEL_MAX_DICT_ENTRIES - 16)
		return;
	char k[64];
	add_u64(o->d, tel_name(k, sizeof(k), "hits_", r->rule, DP_RULE_ID_MAX), r->hits);
	o->n++;
}

static int cmd_ruleset(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_app *a = &dp_app;
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&a->lock);
	bool loaded = a->snap != NULL && a->snap->rules != NULL;
	rte_tel_data_add_dict_string(d, "loaded", loaded ? "yes" : "no");
	rte_tel_data_add_dict_string(d, "source_sha256", loaded ? a->ruleset_hash : "");
	add_u64(d, "version", loaded ? a->ruleset_version : 0);
	add_u64(d, "rules", loaded ? a->ruleset_rules : 0);
	add_u64(d, "generation", a->snap ? a->snap->generation : 0);
	pthread_mutex_unlock(&a->lock);
	add_u64(d, "swaps", a->swaps);
	add_u64(d, "swap_failures", a->swap_failures);
	rte_tel_data_add_dict_string(d, "source", a->store_rs_known ? "store" : a->rules);
	struct cust_out o = { d, NULL, 10 };
	pthread_mutex_lock(&a->lock);
	dp_stats_each(NULL, rule_line, &o);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int dp_telemetry_register(struct dp_app *a)
{
	(void)a;
	int rc = 0;
	rc |= rte_telemetry_register_cmd("/smsfw/stats", cmd_stats,
					 "Dataplane counters: totals, categories, commands, ports, workers");
	rc |= rte_telemetry_register_cmd("/smsfw/flows", cmd_flows,
					 "Flow table and stream reassembly counters; param 'sessions' lists SMPP sessions");
	rc |= rte_telemetry_register_cmd("/smsfw/ruleset", cmd_ruleset,
					 "Active ruleset: hash, version, rule count, swaps");
	rc |= rte_telemetry_register_cmd("/smsfw/customers", cmd_customers,
					 "Customer snapshot: system_id -> standing");
	return rc;
}
