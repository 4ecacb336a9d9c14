/* dp_main.c — smsfw-dataplane: EAL, ports, workers, and the main lcore.
 *
 *   smsfw-dataplane [EAL options] -- [--config FILE] [--events FILE]
 *                   [--rules PATH] [--lmdb DIR | --no-lmdb] [--monitor]
 *                   [--idle-sleep-us N] [--stats-interval S]
 *
 * The main lcore does the slow work: it turns the configuration into worker
 * settings, configures the bridge ports (symmetric RSS where the PMD has
 * it), builds and swaps snapshots (rules, customers, opt-outs) by RCU,
 * drains the workers' event rings into the event log, answers telemetry,
 * and on SIGINT/SIGTERM stops the workers and prints the final counters.
 * It sleeps between ticks; it never spins.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "cp.h"
#include "dp_app.h"
#include "dp_sessions.h"
#include "smsfw_conf.h"

struct dp_app dp_app;

/* Sessions remembered across a restart (dp_sessions.h): the file, the table
 * loaded at start, the buffer the main lcore collects into, counters. */
static struct {
	char path[256];
	struct dp_sess_table *restored;
	struct dp_sess_rec *buf;
	uint64_t loaded, refused;
	int failing, over_warned;
	char made_dir[256]; /* the file's directory, when this run created it */
} sess;

void dp_main_sessions_counters(uint64_t *loaded, uint64_t *file_refused)
{
	*loaded = __atomic_load_n(&sess.loaded, __ATOMIC_RELAXED);
	*file_refused = __atomic_load_n(&sess.refused, __ATOMIC_RELAXED);
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		dp_app.reload = 1;
	else
		dp_app.quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smsfw-dataplane [EAL options] -- [options]\n"
		"  --config FILE        smsfw.conf (default: built-in defaults)\n"
		"  --events FILE        append verdict events as JSON lines ('-' = stdout)\n"
		"  --rules PATH         standalone rules: compiled ruleset file or rule directory\n"
		"  --lmdb DIR           the control plane's store (default: from the config)\n"
		"  --no-lmdb            do not read the store: default customer profile only\n"
		"  --event-socket PATH  controld's event socket (default: from the config)\n"
		"  --no-controld        standalone: send no events to controld\n"
		"  --monitor            record verdicts only, forward everything (the default\n"
		"                       until inline enforcement lands)\n"
		"  --idle-sleep-us N    worker back-off when idle (0 = busy poll)\n"
		"  --stats-interval S   log counters every S seconds (0 = never)\n");
}

/* ------------------------------------------------------------ config */

static int fail_of(const struct smsfw_conf *c, enum smsfw_conf_id id)
{
	return smsfw_conf_enum(c, id) == 0 ? DP_FAIL_OPEN : DP_FAIL_CLOSED;
}

static int settings_from_conf(struct dp_app *a, const struct smsfw_conf *c, char *err, size_t errlen)
{
	struct dp_settings *s = &a->set;
	dp_settings_default(s);
	/* [general] mode: inline (0) or monitor (1); SIGHUP rereads it. */
	s->monitor = smsfw_conf_enum(c, SMSFW_CONF_general_mode) != 0;
	a->monitor = s->monitor;
	s->n_smpp_ports = 0;
	for (size_t i = 0; i < smsfw_conf_list_len(c, SMSFW_CONF_dataplane_smpp_ports) &&
			   i < DP_MAX_PORTS_CFG; i++)
		s->smpp_ports[s->n_smpp_ports++] =
			(uint16_t)smsfw_conf_intlist_item(c, SMSFW_CONF_dataplane_smpp_ports, i);
	s->n_tls_ports = 0;
	for (size_t i = 0; i < smsfw_conf_list_len(c, SMSFW_CONF_dataplane_tls_ports) &&
			   i < DP_MAX_PORTS_CFG; i++)
		s->tls_ports[s->n_tls_ports++] =
			(uint16_t)smsfw_conf_intlist_item(c, SMSFW_CONF_dataplane_tls_ports, i);
	s->flows_max = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_flows_max);
	s->timeouts.established_ms = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_flow_idle_timeout) * 1000;
	s->timeouts.closing_ms = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_flow_closed_timeout) * 1000;
	s->timeouts.new_ms = s->timeouts.closing_ms * 3;
	int64_t per_flow = smsfw_conf_int(c, SMSFW_CONF_dataplane_reassembly_per_flow);
	s->pdu_max = (uint32_t)(per_flow > 65535 ? 65535 : per_flow);
	int64_t chunks = smsfw_conf_int(c, SMSFW_CONF_dataplane_reassembly_global) / s->pdu_max /
			 (a->n_workers ? a->n_workers : 1);
	s->pool_chunks = (uint32_t)(chunks < 16 ? 16 : chunks > 65534 ? 65534 : chunks);
	int64_t ooo = smsfw_conf_int(c, SMSFW_CONF_dataplane_ooo_segments_max);
	s->ooo_max = (uint32_t)(ooo < 1 ? 1 : ooo > DP_OOO_MAX ? DP_OOO_MAX : ooo);
	s->frag_packets = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_ip_reassembly_packets);
	s->frag_bytes = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_ip_reassembly_bytes);
	s->frag_timeout_ms = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_ip_reassembly_timeout_ms);
	a->idle_sleep_us = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_idle_sleep_us);
	s->fail_table = (uint8_t)fail_of(c, SMSFW_CONF_dataplane_failure_flow_table);
	s->fail_reassembly = (uint8_t)fail_of(c, SMSFW_CONF_dataplane_failure_reassembly);
	s->fail_ooo = (uint8_t)fail_of(c, SMSFW_CONF_dataplane_failure_ooo);
	s->fail_scan = (uint8_t)fail_of(c, SMSFW_CONF_dataplane_failure_scan);
	s->fail_no_ruleset = (uint8_t)fail_of(c, SMSFW_CONF_dataplane_failure_no_ruleset);
	s->uninspectable_block = smsfw_conf_enum(c, SMSFW_CONF_dataplane_uninspectable) == 0;
	s->status[DP_CAT_CONTENT] = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_status_content);
	s->status[DP_CAT_BULK] = s->status[DP_CAT_CONTENT];
	s->status[DP_CAT_VELOCITY] = s->status[DP_CAT_CONTENT];
	s->status[DP_CAT_UNINSPECTABLE] = s->status[DP_CAT_CONTENT];
	s->status[DP_CAT_SENDER] = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_status_sender);
	s->status[DP_CAT_RATE] = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_status_rate);
	s->status[DP_CAT_OPTOUT] = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_status_optout);
	s->status[DP_CAT_STANDING] = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_status_suspended);
	s->status_bind_refused = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_status_bind_refused);
	/* Edit slots (2.3 KiB each) follow the flow table: one per 16 flows,
	 * at least 256; an empty pool follows failure_reassembly. */
	s->edit_flows = s->flows_max / 16 < 256 ? 256 : s->flows_max / 16;
	if (s->edit_flows > 65535)
		s->edit_flows = 65535;
	s->fail_edit_pool = s->fail_reassembly;
	s->status[DP_CAT_BIND] = s->status_bind_refused;
	s->accept_unknown = smsfw_conf_bool(c, SMSFW_CONF_dataplane_default_accept_unknown);
	s->default_alnum_senders = smsfw_conf_bool(c, SMSFW_CONF_dataplane_default_alnum_senders);
	memset(&s->default_customer, 0, sizeof(s->default_customer));
	s->default_customer.any_sender = 1;
	s->default_customer.rate_per_s = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_default_rate_per_sec);
	s->default_customer.burst = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_default_rate_burst);
	s->default_customer.max_binds = (uint16_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_default_max_binds);
	s->default_customer.binds_per_min =
		(uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_default_binds_per_min);
	int64_t cmax = smsfw_conf_int(c, SMSFW_CONF_dataplane_concat_streams_max) /
		       (a->n_workers ? a->n_workers : 1);
	s->concat_max = (uint32_t)(cmax < 16 ? 16 : cmax);
	s->concat_timeout_ms = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_concat_timeout) * 1000;
	s->bulk_window_ms = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_bulk_window) * 1000;
	s->bulk_recipients = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_bulk_recipients);
	s->velocity_window_ms = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_velocity_window) * 1000;
	s->velocity_max = (uint32_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_velocity_max);
	s->optout_scope_sender = smsfw_conf_enum(c, SMSFW_CONF_dataplane_optout_scope) == 1;
	s->n_optout_kw = 0;
	for (size_t i = 0; i < smsfw_conf_list_len(c, SMSFW_CONF_dataplane_optout_keywords) &&
			   i < DP_KEYWORDS_MAX; i++)
		snprintf(s->optout_kw[s->n_optout_kw++], DP_KEYWORD_LEN, "%s",
			 smsfw_conf_list_item(c, SMSFW_CONF_dataplane_optout_keywords, i));
	s->n_optin_kw = 0;
	for (size_t i = 0; i < smsfw_conf_list_len(c, SMSFW_CONF_dataplane_optin_keywords) &&
			   i < DP_KEYWORDS_MAX; i++)
		snprintf(s->optin_kw[s->n_optin_kw++], DP_KEYWORD_LEN, "%s",
			 smsfw_conf_list_item(c, SMSFW_CONF_dataplane_optin_keywords, i));
	s->table_slots = s->flows_max < 65536 ? 16384 : 262144;
	s->n_workers = (uint8_t)a->n_workers;

	a->n_pairs = 0;
	for (size_t i = 0; i < smsfw_conf_list_len(c, SMSFW_CONF_dataplane_bridges); i++) {
		const char *b = smsfw_conf_list_item(c, SMSFW_CONF_dataplane_bridges, i);
		unsigned x, y;
		char tail;
		if (sscanf(b, "%u:%u%c", &x, &y, &tail) != 2 || x >= RTE_MAX_ETHPORTS ||
		    y >= RTE_MAX_ETHPORTS || x == y || a->n_pairs == DP_MAX_PAIRS) {
			snprintf(err, errlen, "bridges: '%s' is not esme_port:smsc_port", b);
			return DP_ECONFIG;
		}
		a->pair[a->n_pairs][0] = (uint16_t)x;
		a->pair[a->n_pairs][1] = (uint16_t)y;
		a->n_pairs++;
	}
	if (a->n_pairs == 0) {
		snprintf(err, errlen, "bridges: no port pair configured");
		return DP_ECONFIG;
	}
	snprintf(a->rules, sizeof(a->rules), "%s", smsfw_conf_str(c, SMSFW_CONF_dataplane_rules));
	snprintf(a->state_dir, sizeof(a->state_dir), "%s", smsfw_conf_str(c, SMSFW_CONF_general_state_dir));
	a->spool_max_bytes = (uint64_t)smsfw_conf_int(c, SMSFW_CONF_dataplane_spool_max_bytes);
	struct smsfw_conf_paths paths;
	if (smsfw_conf_paths(c, &paths) == SMSFW_CONF_OK) {
		snprintf(a->lmdb, sizeof(a->lmdb), "%s", paths.lmdb);
		snprintf(a->event_socket, sizeof(a->event_socket), "%s", paths.event_socket);
		snprintf(sess.path, sizeof(sess.path), "%s", paths.sessions);
	}
	s->unknown_session_reset = smsfw_conf_enum(c, SMSFW_CONF_dataplane_unknown_session) == 1;
	return DP_OK;
}

/* ---------------------------------------------------------- sessions */

/* At start, before the workers run: the sessions of the last run. */
static int sessions_load(struct dp_app *a)
{
	if (sess.path[0] == '\0') {
		RTE_LOG(INFO, USER1, "smsfw: sessions_file off: sessions are not remembered "
			"across a restart\n");
		return DP_OK;
	}
	sess.buf = malloc((size_t)DP_SESSFILE_MAX * sizeof(*sess.buf));
	if (sess.buf == NULL)
		return DP_ENOMEM;
	/* The state directory may not exist yet (standalone, first start). */
	char d[sizeof(sess.path)];
	snprintf(d, sizeof(d), "%s", sess.path);
	char *slash = strrchr(d, '/');
	if (slash != NULL && slash != d) {
		*slash = '\0';
		if (mkdir(d, 0750) == 0)
			snprintf(sess.made_dir, sizeof(sess.made_dir), "%s", d);
	}
	struct dp_sessfile_info info;
	int rc = dp_sessfile_load(sess.path, dp_app_now_ms(a), a->set.timeouts.established_ms,
				  &sess.restored, &info);
	switch (rc) {
	case DP_OK:
		__atomic_store_n(&sess.loaded, info.loaded, __ATOMIC_RELAXED);
		RTE_LOG(NOTICE, USER1, "smsfw: %s: %u bound session(s) remembered (%u stale, %u "
			"invalid ignored; written %" PRId64 " ms ago)\n", sess.path, info.loaded,
			info.stale, info.invalid, (int64_t)(dp_app_now_ms(a) - info.written_ms));
		break;
	case DP_ENOENT:
		RTE_LOG(INFO, USER1, "smsfw: %s: no sessions remembered\n", sess.path);
		break;
	case DP_ENOMEM:
		return rc;
	default:
		__atomic_fetch_add(&sess.refused, 1, __ATOMIC_RELAXED);
		RTE_LOG(WARNING, USER1, "smsfw: session file %s refused: %s; sessions picked up "
			"mid-stream are judged without their identity\n", sess.path,
			info.why[0] ? info.why : dp_strerror(rc));
		break;
	}
	for (unsigned w = 0; w < a->n_workers; w++)
		dp_engine_set_restored(a->eng[w], sess.restored);
	return DP_OK;
}

static int rec_key_cmp(const void *x, const void *y)
{
	return memcmp(&((const struct dp_sess_rec *)x)->key, &((const struct dp_sess_rec *)y)->key,
		      sizeof(struct dp_flow_key));
}

/* Each second and at clean shutdown: the bound sessions of every worker,
 * and the remembered ones no flow has taken yet (still fresh), so a second
 * restart soon after the first forgets no idle session. */
static void sessions_save(struct dp_app *a)
{
	if (sess.path[0] == '\0' || sess.buf == NULL)
		return;
	uint64_t now = dp_app_now_ms(a), more = 0;
	uint32_t n = 0;
	for (unsigned w = 0; w < a->n_workers; w++)
		n += dp_sess_collect(dp_engine_flows(a->eng[w]), sess.buf + n, DP_SESSFILE_MAX - n,
				     &more);
	uint32_t live = n;
	if (sess.restored != NULL) {
		qsort(sess.buf, live, sizeof(*sess.buf), rec_key_cmp);
		for (uint32_t i = 0; i < dp_sess_table_count(sess.restored); i++) {
			const struct dp_sess_rec *r = dp_sess_table_rec(sess.restored, i);
			if (dp_sess_table_taken(sess.restored, i) ||
			    r->last_ms + a->set.timeouts.established_ms < now ||
			    bsearch(r, sess.buf, live, sizeof(*sess.buf), rec_key_cmp) != NULL)
				continue;
			if (n >= DP_SESSFILE_MAX) {
				more++;
				continue;
			}
			sess.buf[n++] = *r;
		}
	}
	if (more != 0 && !sess.over_warned) {
		RTE_LOG(WARNING, USER1, "smsfw: session file %s holds at most %u sessions: %" PRIu64
			" not saved (they are judged without their identity after a restart)\n",
			sess.path, DP_SESSFILE_MAX, more);
		sess.over_warned = 1;
	}
	if (dp_sessfile_write(sess.path, sess.buf, n, now) != DP_OK) {
		if (!sess.failing)
			RTE_LOG(WARNING, USER1, "smsfw: session file %s not written (%s): sessions "
				"will not be remembered across a restart\n", sess.path, strerror(errno));
		sess.failing = 1;
		return;
	}
	if (sess.failing)
		RTE_LOG(NOTICE, USER1, "smsfw: session file %s written again\n", sess.path);
	sess.failing = 0;
}

/* ------------------------------------------------------------- ports */

/* A symmetric Toeplitz key: the same hash for (a, b) and (b, a). */
static uint8_t sym_rss_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static int port_setup(struct dp_app *a, uint16_t port, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	if (!rte_eth_dev_is_valid_port(port) || rte_eth_dev_info_get(port, &info) != 0) {
		snprintf(err, errlen, "port %u does not exist (check the --vdev options)", port);
		return -1;
	}
	uint16_t q = (uint16_t)a->n_workers;
	if (info.max_rx_queues < q || info.max_tx_queues < q) {
		snprintf(err, errlen, "port %u (%s) has %u rx / %u tx queues, %u workers need one each",
			 port, info.driver_name, info.max_rx_queues, info.max_tx_queues, q);
		return -1;
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	uint64_t hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP);
	if (q > 1 && hf != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = sym_rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(sym_rss_key);
		conf.rx_adv_conf.rss_conf.rss_hf = hf;
	}
	int rc = rte_eth_dev_configure(port, q, q, &conf);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: configure: %s", port, strerror(-rc));
		return -1;
	}
	uint16_t nrx = 512, ntx = 512;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	for (uint16_t i = 0; i < q; i++) {
		int sock = rte_eth_dev_socket_id(port);
		if ((rc = rte_eth_rx_queue_setup(port, i, nrx, sock, NULL, a->mp)) != 0 ||
		    (rc = rte_eth_tx_queue_setup(port, i, ntx, sock, NULL)) != 0) {
			snprintf(err, errlen, "port %u queue %u: %s", port, i, strerror(-rc));
			return -1;
		}
	}
	if ((rc = rte_eth_dev_start(port)) != 0) {
		snprintf(err, errlen, "port %u: start: %s", port, strerror(-rc));
		return -1;
	}
	rte_eth_promiscuous_enable(port);
	RTE_LOG(INFO, USER1, "smsfw: port %u (%s) up, %u queue(s)%s\n", port, info.driver_name, q,
		conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? ", symmetric RSS" : "");
	return 0;
}

/* ------------------------------------------------------------ events */

static json_t *event_json(const struct dp_event *ev)
{
	json_t *o = json_object();
	static const char *const types[] = { "?", "verdict", "optout", "bind", "uninspectable" };
	json_object_set_new(o, "type", json_string(ev->type < 5 ? types[ev->type] : "?"));
	json_object_set_new(o, "time_ms", json_integer((json_int_t)ev->time_ms));
	json_object_set_new(o, "worker", json_integer(ev->worker));
	json_object_set_new(o, "system_id", json_stringn(ev->system_id, strnlen(ev->system_id, sizeof(ev->system_id))));
	if (ev->type == DP_EV_OPTOUT) {
		json_object_set_new(o, "optout", json_boolean(ev->optout_on));
		json_object_set_new(o, "subscriber", json_string(ev->src));
		json_object_set_new(o, "sender", json_string(ev->dst));
		return o;
	}
	const char *cmd = NULL;
	for (unsigned i = 1; dp_cmd_index_name(i) != NULL; i++)
		if (dp_cmd_index(ev->command_id) == i)
			cmd = dp_cmd_index_name(i);
	if (cmd != NULL)
		json_object_set_new(o, "command", json_string(cmd));
	json_object_set_new(o, "sequence", json_integer(ev->sequence));
	json_object_set_new(o, "verdict", json_string(dp_verdict_name(ev->verdict)));
	json_object_set_new(o, "category", json_string(dp_category_name(ev->category)));
	json_object_set_new(o, "cp_category", json_integer(ev->cp_category));
	json_object_set_new(o, "rule", json_string(ev->rule_id));
	json_object_set_new(o, "monitor", json_boolean(ev->monitor));
	if (ev->type == DP_EV_VERDICT) {
		json_object_set_new(o, "status", json_integer(ev->command_status));
		json_object_set_new(o, "src", json_string(ev->src));
		json_object_set_new(o, "dst", json_string(ev->dst));
		json_object_set_new(o, "data_coding", json_integer(ev->data_coding));
		if (ev->parts) {
			json_object_set_new(o, "ref", json_integer(ev->msg_ref));
			json_object_set_new(o, "part", json_integer(ev->part));
			json_object_set_new(o, "parts", json_integer(ev->parts));
		}
		json_object_set_new(o, "text", json_stringn(ev->text, ev->text_len));
	}
	return o;
}

static unsigned drain_events(struct dp_app *a)
{
	struct dp_event ev[64];
	unsigned total = 0;
	for (unsigned w = 0; w < a->n_workers; w++) {
		unsigned n;
		while ((n = rte_ring_dequeue_burst_elem(a->ring[w], ev, sizeof(ev[0]), 64, NULL)) > 0) {
			total += n;
			for (unsigned i = 0; i < n; i++) {
				dp_ctl_event(&ev[i]);
				dp_stats_event(a, &ev[i]);
			}
			for (unsigned i = 0; i < n && a->events != NULL; i++) {
				json_t *o = event_json(&ev[i]);
				json_dumpf(o, a->events, JSON_COMPACT);
				fputc('\n', a->events);
				json_decref(o);
				a->events_written++;
			}
		}
	}
	if (total && a->events)
		fflush(a->events);
	return total;
}

/* ----------------------------------------------------------- counters */

static void counters_sum(const struct dp_app *a, struct dp_counters *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned w = 0; w < a->n_workers; w++) {
		const uint64_t *s = (const uint64_t *)dp_engine_counters(a->eng[w]);
		uint64_t *d = (uint64_t *)t;
		for (size_t i = 0; i < sizeof(*t) / sizeof(uint64_t); i++)
			d[i] += s[i];
	}
}

/* SIGHUP: the mode may change without a restart (flows already edited keep
 * being mapped until they close). */
static void reload_mode(struct dp_app *a)
{
	if (a->config_path[0] == '\0')
		return;
	struct smsfw_conf *conf = NULL;
	char err[256];
	if (smsfw_conf_load(a->config_path, &conf, err, sizeof(err)) != SMSFW_CONF_OK) {
		RTE_LOG(WARNING, USER1, "smsfw: reload %s: %s (mode unchanged)\n", a->config_path, err);
		return;
	}
	uint8_t mon = smsfw_conf_enum(conf, SMSFW_CONF_general_mode) != 0;
	smsfw_conf_free(conf);
	if (mon != a->monitor) {
		RTE_LOG(NOTICE, USER1, "smsfw: mode %s -> %s\n", a->monitor ? "monitor" : "inline",
			mon ? "monitor" : "inline");
		__atomic_store_n(&a->monitor, mon, __ATOMIC_RELAXED);
	}
}

static void print_counters(struct dp_app *a, FILE *f, const char *what)
{
	struct dp_counters t;
	counters_sum(a, &t);
	uint64_t flows = 0;
	for (unsigned w = 0; w < a->n_workers; w++)
		flows += dp_flow_table_stats(dp_engine_flows(a->eng[w]))->created;
	fprintf(f,
		"smsfw-dataplane %s: rx %" PRIu64 " tx %" PRIu64 " dropped %" PRIu64
		" smpp_frames %" PRIu64 " other %" PRIu64 " flows %" PRIu64 " pdus %" PRIu64
		" submits %" PRIu64 " replaces %" PRIu64 " broadcasts %" PRIu64
		" pass %" PRIu64 " block %" PRIu64 " throttle %" PRIu64
		" events %" PRIu64 " events_dropped %" PRIu64 " facts_dropped %" PRIu64
		" retrans %" PRIu64 " ooo_held %" PRIu64 " overlap_conflict %" PRIu64
		" resync %" PRIu64 " tls %" PRIu64 " unscanned %" PRIu64 " scan_errors %" PRIu64
		" swaps %" PRIu64 " smpp_rst %" PRIu64 " mode %s edit_slots %" PRIu64
		" edit_pool_empty %" PRIu64 " removed %" PRIu64 " injected %" PRIu64
		" inj_resent %" PRIu64 " retrans_edited %" PRIu64 " edit_resets %" PRIu64
		" probe_resets %" PRIu64 " sessions_restored %" PRIu64 " sessions_loaded %" PRIu64
		" sessions_file_refused %" PRIu64 " unknown_session_submits %" PRIu64
		" unknown_session_resets %" PRIu64 " mid_unplaced_resets %" PRIu64
		" mid_acked_resets %" PRIu64 " ip_frags %" PRIu64 " smpp_frags %" PRIu64
		" frag_reassembled %" PRIu64 " frag_refused %" PRIu64 " frag_timeouts %" PRIu64
		" frag_overlaps %" PRIu64 " text_truncated %" PRIu64 " evicted %" PRIu64 "\n",
		what, t.rx_frames, t.tx_frames, t.dropped, t.smpp_frames,
		t.other_frames + t.non_smpp_tcp, flows, t.stream.pdus, t.submits, t.replaces,
		t.broadcasts, t.verdicts[DP_VERDICT_PASS], t.verdicts[DP_VERDICT_BLOCK],
		t.verdicts[DP_VERDICT_THROTTLE], t.events, t.events_dropped, t.facts_dropped,
		t.stream.retrans, t.stream.ooo_held, t.stream.overlap_conflict, t.stream.resync,
		t.stream.tls, t.unscanned_no_ruleset, t.scan_errors, a->swaps, t.smpp_rst,
		a->monitor ? "monitor" : "inline", t.edit_slots_alloc, t.edit_pool_empty,
		t.edit_pdus_removed, t.edit_resp_injected,
		t.edit.inj_resent_timer + t.edit.inj_resent_dupack, t.edit.retrans_edited,
		t.edit_resets, t.edit_probe_resets, t.sessions_restored, sess.loaded, sess.refused,
		t.sess_unknown_submits, t.sess_unknown_resets, t.edit_mid_unplaced_resets,
		t.edit_mid_acked_resets, t.ip_frags, t.smpp_frags, t.frag_reassembled, t.frag_refused,
		t.frag_timeouts, t.frag_overlaps, t.text_truncated,
		t.evict_rate + t.evict_bulk + t.evict_velocity + t.evict_optout + t.evict_binds +
			t.evict_frag_ids);
	fflush(f);
}

/* Log the bounds hit since the last call (flow table, reassembly memory,
 * hold bound, event rings, scan errors): never silent, at most once a
 * second per kind. */
static void report_bounds(struct dp_app *a, const struct dp_counters *t, struct dp_counters *prev)
{
	(void)a;
#define DP_BOUND(field, what)                                                                 \
	if (t->field > prev->field)                                                           \
		RTE_LOG(WARNING, USER1, "smsfw: %s: %" PRIu64 " in the last second (%" PRIu64  \
			" in all)\n", what, t->field - prev->field, t->field);
	DP_BOUND(table_full_frames, "flow table full, frames not inspected (failure_flow_table)")
	DP_BOUND(stream.nomem, "reassembly memory exhausted (failure_reassembly)")
	DP_BOUND(stream.ooo_overflow, "out-of-order bound exceeded, gaps skipped (failure_ooo)")
	DP_BOUND(stream.oversize, "PDUs longer than reassembly_per_flow (failure_reassembly)")
	DP_BOUND(events_dropped, "observations dropped (event ring full)")
	DP_BOUND(facts_dropped, "FACTS DROPPED (event ring full)")
	DP_BOUND(scan_errors, "scan errors (failure_scan)")
	DP_BOUND(frag_refused, "IP fragments not held: reassembly bound reached (uninspectable)")
	DP_BOUND(frag_timeouts, "fragmented packets incomplete after the reassembly timeout")
	DP_BOUND(frag_overlaps, "fragmented packets with overlapping fragments that differ (uninspectable)")
#undef DP_BOUND
	*prev = *t;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ privileges */

/*
 * Once EAL is up and the ports are started (af_packet and pcap vdevs need
 * CAP_NET_RAW only to open their sockets; hugepages, PCI BARs and DMA are
 * mapped by then), nothing the dataplane does needs a capability: the
 * event socket, the store, the spool and the rules are reached through file
 * permissions, the telemetry socket is already listening. So every thread
 * of the process drops its capabilities (effective, permitted, inheritable,
 * ambient and the bounding set) and sets PR_SET_NO_NEW_PRIVS, and when
 * [dataplane] user / group name an account, the process switches to it.
 *
 * Capabilities are per thread and EAL started its threads (workers,
 * interrupts, telemetry) before we get here, so each thread is asked by a
 * signal to drop its own; glibc's setres[ug]id already applies to all
 * threads. Afterwards /proc/self/task/{*}/status is read back: a thread
 * that kept anything is a startup error, not a warning.
 */
struct dp_privs {
	bool switch_user, switch_group;
	uid_t uid;
	gid_t gid;
	char user[64];
};

static struct dp_privs privs;
static volatile sig_atomic_t drop_phase; /* 1: bounding/ambient/nnp, 2: capset */
static int drop_setpcap;		 /* CAP_SETPCAP held: the bounding set can go */
static int drop_cap_last = 40;
static unsigned drop_acks, drop_errors;
static int runtime_dirfd = -1; /* EAL's runtime directory, opened while root */

/* Runs in each thread (from the signal handler, or directly in main):
 * raw syscalls only. */
static void drop_this_thread(void)
{
	int bad = 0;
	if (drop_phase == 1) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
			bad = 1;
		for (int c = 0; drop_setpcap && c <= drop_cap_last; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
				bad = 1;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			bad = 1;
	} else {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
		struct __user_cap_data_struct d[2];
		memset(d, 0, sizeof(d));
		if (syscall(SYS_capset, &h, d) != 0)
			bad = 1;
	}
	if (bad)
		__atomic_add_fetch(&drop_errors, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&drop_acks, 1, __ATOMIC_SEQ_CST);
}

static void on_drop_signal(int sig)
{
	(void)sig;
	int saved = errno;
	drop_this_thread();
	errno = saved;
}

/* Run drop_this_thread in every thread of the process. @return 0 or -1. */
static int drop_all_threads(int phase, char *err, size_t errlen)
{
	int sig = SIGRTMIN + 7;
	pid_t me = (pid_t)syscall(SYS_gettid);
	pid_t done[256];
	unsigned n_done = 0, sent = 0;

	drop_phase = phase;
	__atomic_store_n(&drop_acks, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&drop_errors, 0, __ATOMIC_SEQ_CST);
	drop_this_thread();
	sent = 1;
	/* Threads may start while we look: scan until a pass finds none new. */
	for (int pass = 0; pass < 5; pass++) {
		unsigned fresh = 0;
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		if (d == NULL) {
			snprintf(err, errlen, "/proc/self/task: %s", strerror(errno));
			return -1;
		}
		while ((e = readdir(d)) != NULL) {
			char *end;
			long tid = strtol(e->d_name, &end, 10);
			if (e->d_name[0] == '.' || *end != '\0' || tid <= 0 || (pid_t)tid == me)
				continue;
			bool seen = false;
			for (unsigned i = 0; i < n_done && !seen; i++)
				seen = done[i] == (pid_t)tid;
			if (seen)
				continue;
			if (n_done == sizeof(done) / sizeof(done[0])) {
				closedir(d);
				snprintf(err, errlen, "more than %u threads", n_done);
				return -1;
			}
			done[n_done++] = (pid_t)tid;
			if (syscall(SYS_tgkill, getpid(), (pid_t)tid, sig) == 0) {
				sent++;
				fresh++;
			}
		}
		closedir(d);
		uint64_t t0 = mono_ms();
		while (__atomic_load_n(&drop_acks, __ATOMIC_SEQ_CST) < sent && mono_ms() - t0 < 2000)
			usleep(1000);
		if (__atomic_load_n(&drop_acks, __ATOMIC_SEQ_CST) < sent) {
			snprintf(err, errlen, "%u of %u threads did not drop their capabilities "
				 "(signal %d blocked?)", sent - drop_acks, sent, sig);
			return -1;
		}
		if (fresh == 0)
			break;
	}
	if (drop_errors) {
		snprintf(err, errlen, "%u threads failed to drop (phase %d)", drop_errors, phase);
		return -1;
	}
	return 0;
}

/* Read back every thread's status. @return 0 when all dropped. */
static int privs_verify(char *err, size_t errlen)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned threads = 0;
	int rc = 0;
	if (d == NULL) {
		snprintf(err, errlen, "/proc/self/task: %s", strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], line[256];
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue; /* the thread ended */
		threads++;
		unsigned long long v;
		unsigned u[4];
		while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
			bool capline = sscanf(line, "CapEff: %llx", &v) == 1 ||
				       sscanf(line, "CapPrm: %llx", &v) == 1 ||
				       sscanf(line, "CapInh: %llx", &v) == 1 ||
				       sscanf(line, "CapAmb: %llx", &v) == 1 ||
				       (drop_setpcap && sscanf(line, "CapBnd: %llx", &v) == 1);
			if (capline && v != 0)
				rc = -1;
			else if (sscanf(line, "NoNewPrivs: %llu", &v) == 1 && v != 1)
				rc = -1;
			else if (sscanf(line, "Uid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4 &&
				 privs.switch_user &&
				 (u[0] != privs.uid || u[1] != privs.uid || u[2] != privs.uid))
				rc = -1;
			else if (sscanf(line, "Gid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4 &&
				 privs.switch_group &&
				 (u[0] != privs.gid || u[1] != privs.gid || u[2] != privs.gid))
				rc = -1;
			if (rc != 0) {
				size_t l = strcspn(line, "\n");
				snprintf(err, errlen, "thread %s kept privileges: %.*s", e->d_name,
					 (int)l, line);
			}
		}
		fclose(f);
	}
	closedir(d);
	if (rc == 0 && threads == 0) {
		snprintf(err, errlen, "no thread status readable");
		rc = -1;
	}
	return rc;
}

/* Resolve [dataplane] user / group (before EAL touches anything else). */
static int privs_from_conf(const struct smsfw_conf *c, char *err, size_t errlen)
{
	const char *user = smsfw_conf_str(c, SMSFW_CONF_dataplane_user);
	const char *group = smsfw_conf_str(c, SMSFW_CONF_dataplane_group);
	memset(&privs, 0, sizeof(privs));
	if (user != NULL && user[0] != '\0') {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL) {
			snprintf(err, errlen, "[dataplane] user: no user '%s'", user);
			return DP_ECONFIG;
		}
		privs.switch_user = privs.switch_group = true;
		privs.uid = pw->pw_uid;
		privs.gid = pw->pw_gid;
		snprintf(privs.user, sizeof(privs.user), "%s", user);
	}
	if (group != NULL && group[0] != '\0') {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			snprintf(err, errlen, "[dataplane] group: no group '%s'", group);
			return DP_ECONFIG;
		}
		privs.switch_group = true;
		privs.gid = gr->gr_gid;
	}
	if ((privs.switch_user && privs.uid == 0) || (privs.switch_group && privs.gid == 0 &&
						     !privs.switch_user)) {
		snprintf(err, errlen, "[dataplane] user/group: root is not a user to switch to");
		return DP_ECONFIG;
	}
	return DP_OK;
}

static void chown_quiet(const char *path)
{
	if (chown(path, privs.switch_user ? privs.uid : (uid_t)-1,
		  privs.switch_group ? privs.gid : (gid_t)-1) != 0 && errno != ENOENT)
		RTE_LOG(WARNING, USER1, "smsfw: chown %s: %s\n", path, strerror(errno));
}

uint64_t dp_main_cap_effective(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) != 0)
		return UINT64_MAX;
	return (uint64_t)d[1].effective << 32 | d[0].effective;
}

/* Drop what the dataplane no longer needs. @return 0, or -1 with @p err. */
static int privs_drop(const struct dp_app *a, char *err, size_t errlen)
{
	uint64_t eff = dp_main_cap_effective();
	if (eff != UINT64_MAX)
		drop_setpcap = (eff >> CAP_SETPCAP) & 1;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	if (f != NULL) {
		if (fscanf(f, "%d", &drop_cap_last) != 1 || drop_cap_last < 0 || drop_cap_last > 63)
			drop_cap_last = 40;
		fclose(f);
	}

	if (privs.switch_user || privs.switch_group) {
		/* What this run made and must still remove or rewrite as the new
		 * user: EAL's runtime directory (telemetry socket, unlinked at
		 * exit) and the fact spool (rewritten in place of the old one). */
		const char *rt = rte_eal_get_runtime_dir();
		DIR *dir = rt != NULL ? opendir(rt) : NULL;
		/* /var/run/dpdk is root's (0700): the new user reaches its
		 * runtime directory only through a descriptor kept from now. */
		if (rt != NULL)
			runtime_dirfd = open(rt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct dirent *e;
		while (dir != NULL && (e = readdir(dir)) != NULL) {
			char p[PATH_MAX];
			if (strcmp(e->d_name, "..") == 0)
				continue;
			if (snprintf(p, sizeof(p), "%s/%s", rt, e->d_name) < (int)sizeof(p))
				chown_quiet(p);
		}
		if (dir != NULL)
			closedir(dir);
		if (a->state_dir[0] != '\0' && a->event_socket[0] != '\0') {
			char p[PATH_MAX];
			if (snprintf(p, sizeof(p), "%s/dataplane.spool", a->state_dir) < (int)sizeof(p))
				chown_quiet(p);
		}
		/* The session file is replaced by rename: its directory must be
		 * writable by the new user when this run made it. */
		if (sess.made_dir[0] != '\0')
			chown_quiet(sess.made_dir);
	}
	/* Phase 1 needs CAP_SETPCAP for the bounding set, so it comes first. */
	if (drop_all_threads(1, err, errlen) != 0)
		return -1;
	if (privs.switch_group) {
		int rc = privs.switch_user ? initgroups(privs.user, privs.gid)
					   : setgroups(1, &privs.gid);
		if (rc != 0 || setresgid(privs.gid, privs.gid, privs.gid) != 0) {
			snprintf(err, errlen, "switching to group %u: %s", (unsigned)privs.gid,
				 strerror(errno));
			return -1;
		}
	}
	if (privs.switch_user && setresuid(privs.uid, privs.uid, privs.uid) != 0) {
		snprintf(err, errlen, "switching to user %s: %s", privs.user, strerror(errno));
		return -1;
	}
	if (drop_all_threads(2, err, errlen) != 0 || privs_verify(err, errlen) != 0)
		return -1;
	RTE_LOG(NOTICE, USER1, "smsfw: privileges dropped: uid %u gid %u, no capabilities, "
		"no_new_privs\n", (unsigned)getuid(), (unsigned)getgid());
	if (a->state_dir[0] != '\0' && a->event_socket[0] != '\0' && access(a->state_dir, W_OK) != 0)
		RTE_LOG(WARNING, USER1, "smsfw: state_dir %s is not writable after the switch: the "
			"fact spool cannot be rewritten\n", a->state_dir);
	return 0;
}

/* After a user switch dp_eal_cleanup cannot reach EAL's runtime directory
 * by its path: remove the telemetry sockets through the kept descriptor.
 * The (empty) directory stays; it is reused by the next start, and the
 * systemd unit's RuntimeDirectory= removes it. */
static void privs_cleanup_runtime(void)
{
	if (runtime_dirfd < 0)
		return;
	int fd = dup(runtime_dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "dpdk_telemetry", 14) == 0)
			(void)unlinkat(runtime_dirfd, e->d_name, 0);
	if (d != NULL)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	close(runtime_dirfd);
	runtime_dirfd = -1;
}

/* --------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	struct dp_app *a = &dp_app;
	char err[1024] = "";
	int ret = 1;

	/* DPDK 22.11 makes --no-huge imply legacy memory, which --in-memory
	 * refuses; without hugepages, --no-shconf gives the same "nothing on
	 * disk" run. Accept the documented --no-pci --no-huge --in-memory. */
	bool no_huge = false;
	int in_mem = -1;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--no-huge") == 0)
			no_huge = true;
		else if (strcmp(argv[i], "--in-memory") == 0)
			in_mem = i;
	}
	if (no_huge && in_mem > 0) {
		static char no_shconf[] = "--no-shconf";
		argv[in_mem] = no_shconf;
		fprintf(stderr, "smsfw-dataplane: --in-memory with --no-huge: using --no-shconf "
				"(DPDK 22.11 refuses the pair)\n");
	}
	int n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "smsfw-dataplane: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'e' },
		{ "rules", required_argument, NULL, 'r' },
		{ "lmdb", required_argument, NULL, 'l' },
		{ "no-lmdb", no_argument, NULL, 'L' },
		{ "event-socket", required_argument, NULL, 'E' },
		{ "no-controld", no_argument, NULL, 'C' },
		{ "monitor", no_argument, NULL, 'm' },
		{ "idle-sleep-us", required_argument, NULL, 'i' },
		{ "stats-interval", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *events = NULL, *rules = NULL, *lmdb = NULL;
	bool no_lmdb = false, no_controld = false, force_monitor = false;
	const char *evsock = NULL;
	long idle_override = -1, stats_interval = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'e': events = optarg; break;
		case 'r': rules = optarg; break;
		case 'l': lmdb = optarg; break;
		case 'L': no_lmdb = true; break;
		case 'E': evsock = optarg; break;
		case 'C': no_controld = true; break;
		case 'm': force_monitor = true; break;
		case 'i': idle_override = strtol(optarg, NULL, 10); break;
		case 's': stats_interval = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); dp_eal_cleanup(); return 0;
		default: usage(stderr); dp_eal_cleanup(); return 2;
		}
	}

	unsigned lc;
	RTE_LCORE_FOREACH_WORKER(lc) {
		if (a->n_workers == DP_MAX_WORKERS)
			break;
		a->worker_lcore[a->n_workers++] = lc;
	}
	if (a->n_workers == 0) {
		fprintf(stderr, "smsfw-dataplane: needs a worker lcore besides the main one "
				"(e.g. -l 0-1 or --lcores 0@0,1@0)\n");
		goto out_eal;
	}

	struct smsfw_conf *conf = NULL;
	int rc = smsfw_conf_load(config, &conf, err, sizeof(err));
	if (rc != SMSFW_CONF_OK) {
		fprintf(stderr, "smsfw-dataplane: %s\n", err);
		goto out_eal;
	}
	rc = settings_from_conf(a, conf, err, sizeof(err));
	if (rc == DP_OK)
		rc = privs_from_conf(conf, err, sizeof(err));
	smsfw_conf_free(conf);
	if (config)
		snprintf(a->config_path, sizeof(a->config_path), "%s", config);
	if (force_monitor)
		a->set.monitor = a->monitor = 1;
	{
		/* Test-only impairer of the inline path (lab tests): never set it
		 * in production. */
		const char *imp = getenv("SMSFW_TEST_IMPAIR");
		if (imp != NULL && *imp) {
			a->set.test_impair = (uint8_t)strtoul(imp, NULL, 0);
			RTE_LOG(WARNING, USER1, "smsfw: TEST IMPAIRER ON (0x%x): not for production\n",
				a->set.test_impair);
		}
	}
	if (rc != DP_OK) {
		fprintf(stderr, "smsfw-dataplane: %s: %s\n", config ? config : "defaults", err);
		goto out_eal;
	}
	if (rules)
		snprintf(a->rules, sizeof(a->rules), "%s", rules);
	if (lmdb)
		snprintf(a->lmdb, sizeof(a->lmdb), "%s", lmdb);
	if (no_lmdb)
		a->lmdb[0] = '\0';
	if (evsock)
		snprintf(a->event_socket, sizeof(a->event_socket), "%s", evsock);
	if (no_controld || (no_lmdb && !evsock))
		a->event_socket[0] = '\0';
	if (idle_override >= 0)
		a->idle_sleep_us = (uint32_t)idle_override;
	pthread_mutex_init(&a->lock, NULL);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	a->tsc_hz = rte_get_tsc_hz();
	a->tsc0 = rte_get_tsc_cycles();
	a->unix_ms0 = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;

	if (events != NULL) {
		a->events = strcmp(events, "-") == 0 ? stdout : fopen(events, "a");
		if (a->events == NULL) {
			fprintf(stderr, "smsfw-dataplane: %s: %s\n", events, strerror(errno));
			goto out_eal;
		}
	}

	unsigned n_ports = 2 * a->n_pairs;
	a->mp = rte_pktmbuf_pool_create("dp_mbufs", n_ports * a->n_workers * 1024 + 4096, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (a->mp == NULL) {
		fprintf(stderr, "smsfw-dataplane: mbuf pool: %s (give EAL more memory with -m)\n",
			rte_strerror(rte_errno));
		goto out_eal;
	}
	for (unsigned p = 0; p < a->n_pairs; p++)
		for (int s = 0; s < 2; s++)
			if (port_setup(a, a->pair[p][s], err, sizeof(err)) != 0) {
				fprintf(stderr, "smsfw-dataplane: %s\n", err);
				goto out_ports;
			}

	size_t qsz = rte_rcu_qsbr_get_memsize(a->n_workers);
	a->qsv = rte_zmalloc("dp_rcu", qsz, RTE_CACHE_LINE_SIZE);
	if (a->qsv == NULL || rte_rcu_qsbr_init(a->qsv, a->n_workers) != 0) {
		fprintf(stderr, "smsfw-dataplane: RCU init failed\n");
		goto out_ports;
	}
	for (unsigned w = 0; w < a->n_workers; w++) {
		int sock = (int)rte_lcore_to_socket_id(a->worker_lcore[w]);
		a->eng[w] = dp_engine_create(w, &a->set, sock);
		char name[32];
		snprintf(name, sizeof(name), "dp_events_%u", w);
		a->ring[w] = rte_ring_create_elem(name, sizeof(struct dp_event), a->set.event_ring_size,
						  sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (a->eng[w] == NULL || a->ring[w] == NULL) {
			fprintf(stderr, "smsfw-dataplane: worker %u: no memory for %u flows "
					"(lower flows_max or raise -m)\n", w, a->set.flows_max);
			goto out_workers;
		}
	}
	if (sessions_load(a) != DP_OK) {
		fprintf(stderr, "smsfw-dataplane: no memory for the session file\n");
		goto out_workers;
	}
	if (a->lmdb[0] != '\0') {
		rc = cp_reader_open(a->lmdb, &a->reader);
		if (rc == CP_OK)
			RTE_LOG(INFO, USER1, "smsfw: store %s opened read-only\n", a->lmdb);
		else
			RTE_LOG(NOTICE, USER1, "smsfw: store %s: %s: default customer profile\n",
				a->lmdb, cp_strerror(rc));
	}
	a->reload = 1;
	if (dp_snapshot_publish(a) != DP_OK) {
		fprintf(stderr, "smsfw-dataplane: no initial snapshot (see the log above)\n");
		goto out_workers;
	}
	if (a->snap->rules == NULL)
		RTE_LOG(WARNING, USER1, "smsfw: no ruleset: content is not scanned (failure_no_ruleset=%s)\n",
			a->set.fail_no_ruleset == DP_FAIL_OPEN ? "open" : "closed");
	dp_telemetry_register(a);
	if (dp_ctl_init(a->event_socket, a->state_dir, a->spool_max_bytes) != DP_OK) {
		fprintf(stderr, "smsfw-dataplane: controld link: bad socket path or no memory\n");
		goto out_workers;
	}
	if (a->event_socket[0])
		RTE_LOG(INFO, USER1, "smsfw: events to controld at %s\n", a->event_socket);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* Ports are up, memory is allocated, the spool and the store are open:
	 * from here on no capability is needed (see privs_drop). */
	sa.sa_handler = on_drop_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGRTMIN + 7, &sa, NULL);
	if (privs_drop(a, err, sizeof(err)) != 0) {
		fprintf(stderr, "smsfw-dataplane: dropping privileges: %s\n", err);
		goto out_workers;
	}

	for (unsigned w = 0; w < a->n_workers; w++)
		rte_eal_remote_launch(dp_worker_main, (void *)(uintptr_t)w, a->worker_lcore[w]);
	RTE_LOG(INFO, USER1, "smsfw: %u worker(s), %u bridge pair(s), %s mode, ready\n",
		a->n_workers, a->n_pairs, a->monitor ? "monitor" : "inline");
	fprintf(stderr, "smsfw-dataplane: ready (%u workers, %u bridge pairs)\n", a->n_workers,
		a->n_pairs);

	uint64_t last_gen_check = 0, last_stats = mono_ms(), last_store_try = 0, last_alarm = 0;
	uint64_t last_sess = mono_ms();
	struct dp_counters prev_alarm;
	memset(&prev_alarm, 0, sizeof(prev_alarm));
	while (!a->quit) {
		usleep(10000); /* the main lcore sleeps between ticks */
		drain_events(a);
		uint64_t now = mono_ms();
		if (a->reader == NULL && a->lmdb[0] != '\0' && now - last_store_try >= 1000) {
			last_store_try = now;
			if (cp_reader_open(a->lmdb, &a->reader) == CP_OK) {
				RTE_LOG(INFO, USER1, "smsfw: store %s appeared\n", a->lmdb);
				a->reload = 1;
			}
		}
		struct dp_counters totals;
		counters_sum(a, &totals);
		dp_ctl_poll(a, &totals);
		if (a->reload_store || (now - last_gen_check >= 50 && a->reader != NULL)) {
			a->reload_store = 0;
			/* Standing changes reach live sessions within 100 ms. */
			last_gen_check = now;
			uint64_t gen;
			if (a->reader != NULL && cp_reader_generation(a->reader, &gen) == CP_OK &&
			    gen != a->lmdb_gen)
				dp_snapshot_publish(a);
		}
		if (a->reload) {
			reload_mode(a);
			dp_snapshot_publish(a);
		}
		dp_snapshot_reap(a, false);
		if (now - last_alarm >= 1000) {
			/* Bounds that were hit are said out loud, once a second. */
			last_alarm = now;
			report_bounds(a, &totals, &prev_alarm);
		}
		if (now - last_sess >= 1000) {
			last_sess = now;
			sessions_save(a);
		}
		if (stats_interval > 0 && now - last_stats >= (uint64_t)stats_interval * 1000) {
			last_stats = now;
			print_counters(a, stderr, "stats");
		}
	}
	ret = 0;
	fprintf(stderr, "smsfw-dataplane: stopping\n");
	rte_eal_mp_wait_lcore();
	sessions_save(a); /* the workers stopped: an exact copy */
	drain_events(a);
	{
		struct dp_counters totals;
		counters_sum(a, &totals);
		dp_ctl_poll(a, &totals);
	}
	dp_ctl_close();
	print_counters(a, stdout, "final");
	dp_snapshot_reap(a, true);

out_workers:
	if (ret != 0) {
		a->quit = 1;
		rte_eal_mp_wait_lcore();
	}
	for (unsigned w = 0; w < a->n_workers; w++) {
		dp_engine_free(a->eng[w]);
		a->eng[w] = NULL;
		rte_ring_free(a->ring[w]);
	}
	struct dp_snapshot *cur = a->snap, *old = a->retired;
	a->snap = a->retired = NULL; /* shutdown: every ruleset goes */
	if (old != NULL && cur != NULL && old->rules == cur->rules)
		old->rules = NULL; /* shared: freed once, with cur */
	dp_snapshot_free(a, old);
	dp_snapshot_free(a, cur);
	dp_snapshot_reap(a, false); /* rulesets kept for messages in flight */
	cp_reader_close(a->reader);
	dp_sess_table_free(sess.restored);
	free(sess.buf);
	rte_free(a->qsv);
out_ports:
	for (unsigned p = 0; p < a->n_pairs; p++)
		for (int s = 0; s < 2; s++) {
			rte_eth_dev_stop(a->pair[p][s]);
			rte_eth_dev_close(a->pair[p][s]);
		}
	if (a->events && a->events != stdout)
		fclose(a->events);
out_eal:
	dp_eal_cleanup();
	privs_cleanup_runtime();
	return ret;
}
