/* dp_ctl.c — the main lcore's link to smsfw-controld (cp.h event protocol).
 *
 * Worker events arrive here from the rings (dp_main.c). Observations (the
 * message log: passes, and in monitor mode what would have been blocked)
 * are batched and sent when the socket can take them, else dropped and
 * counted. Facts (violations in inline mode, opt-outs and opt-ins) get a
 * sequence number and stay in a bounded spool until controld acknowledges
 * them; they are sent again after a reconnect. A full spool is logged
 * loudly and counted: the oldest fact is never silently overwritten, the new
 * one is refused and counted instead.
 *
 * controld → dataplane: ACK (drop facts up to seq from the spool) and
 * GENERATION (look at the store again now). The socket is non-blocking and
 * polled from the main loop; nothing here runs on a worker.
 *
 * The spool is also a file (<state_dir>/dataplane.spool): a header with the
 * instance id, then one record per fact, appended as facts arrive and
 * synced once per tick. A restarted dataplane reloads the unacknowledged
 * facts with the same instance id, so controld ingests each exactly once;
 * a spool with nothing pending gives no instance to continue (its last
 * sequence number is unknown), so that run starts a new instance.
 * The file is truncated when everything is acknowledged, and rewritten with
 * only the pending facts when it reaches spool_max_bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_log.h>

#include "cp.h"
#include "dp_app.h"

#define SPOOL_MAX 65536 /**< facts kept until acknowledged */

struct spooled {
	uint64_t seq;
	struct dp_event ev;
};

#define SPOOL_MAGIC "SMSFWSPL"
#define SPOOL_VERSION 1

struct spool_hdr {
	char magic[8];
	uint32_t version;
	uint32_t rec_size;
	uint64_t instance;
};
_Static_assert(sizeof(struct spool_hdr) == 24, "spool file header layout");

struct dp_ctl {
	char path[256];
	char spool_path[512];
	int spool_fd;
	uint64_t spool_bytes, spool_max;
	int spool_dirty;
	int fd;
	uint64_t instance;
	uint64_t next_seq, acked;
	struct spooled *spool; /* ring of facts not yet acknowledged */
	uint32_t head, n;      /* oldest, count */
	uint32_t resend_from;  /* index (from head) of the first fact not sent on this connection */
	uint8_t out[CP_EV_BATCH_MAX];
	struct cp_ev_batch batch;
	uint8_t pending[CP_EV_BATCH_MAX]; /* a finished batch not fully written */
	uint32_t pending_len, pending_off;
	uint8_t in[CP_EV_BATCH_MAX];
	uint32_t in_len;
	uint64_t last_try_ms, last_stats_ms;
	/* counters */
	uint64_t obs_sent, obs_dropped, facts_sent, facts_refused, reconnects, generations;
	int spool_full_logged;
};

static struct dp_ctl ctl = { .fd = -1, .spool_fd = -1 };

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Write the header and the pending facts to a fresh file, atomically. */
static int spool_rewrite(void)
{
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", ctl.spool_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	struct spool_hdr h = { .version = SPOOL_VERSION, .rec_size = sizeof(struct spooled),
			       .instance = ctl.instance };
	memcpy(h.magic, SPOOL_MAGIC, 8);
	bool ok = write(fd, &h, sizeof(h)) == (ssize_t)sizeof(h);
	for (uint32_t i = 0; ok && i < ctl.n; i++)
		ok = write(fd, &ctl.spool[(ctl.head + i) % SPOOL_MAX], sizeof(struct spooled)) ==
		     (ssize_t)sizeof(struct spooled);
	if (!ok || fdatasync(fd) != 0 || rename(tmp, ctl.spool_path) != 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (ctl.spool_fd >= 0)
		close(ctl.spool_fd);
	ctl.spool_fd = fd;
	lseek(fd, 0, SEEK_END);
	ctl.spool_bytes = sizeof(h) + (uint64_t)ctl.n * sizeof(struct spooled);
	ctl.spool_dirty = 0;
	return 0;
}

/* Reload the facts a previous run left unacknowledged. */
static void spool_load(void)
{
	int fd = open(ctl.spool_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct spool_hdr h;
	if (read(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) && memcmp(h.magic, SPOOL_MAGIC, 8) == 0 &&
	    h.version == SPOOL_VERSION && h.rec_size == sizeof(struct spooled)) {
		/* The instance id goes with the facts: controld knows which of its
		 * sequence numbers it committed. With nothing pending the file says
		 * nothing about the last sequence number used, so this run takes
		 * the fresh id (a new sequence space) rather than reuse numbers
		 * controld has already committed and would take for duplicates. */
		uint64_t fresh = ctl.instance;
		ctl.instance = h.instance;
		struct spooled r;
		while (ctl.n < SPOOL_MAX && read(fd, &r, sizeof(r)) == (ssize_t)sizeof(r)) {
			ctl.spool[(ctl.head + ctl.n) % SPOOL_MAX] = r;
			ctl.n++;
			if (r.seq >= ctl.next_seq)
				ctl.next_seq = r.seq + 1;
		}
		if (ctl.n)
			RTE_LOG(NOTICE, USER1, "smsfw: %u unacknowledged facts reloaded from %s\n", ctl.n,
				ctl.spool_path);
		else
			ctl.instance = fresh;
	} else {
		RTE_LOG(WARNING, USER1, "smsfw: %s is not a fact spool of this version: ignored\n",
			ctl.spool_path);
	}
	close(fd);
}

int dp_ctl_init(const char *event_socket, const char *state_dir, uint64_t spool_max)
{
	if (event_socket == NULL || event_socket[0] == '\0')
		return DP_OK;
	if (strlen(event_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		RTE_LOG(ERR, USER1, "smsfw: event socket path too long: %s\n", event_socket);
		return DP_ECONFIG;
	}
	snprintf(ctl.path, sizeof(ctl.path), "%s", event_socket);
	ctl.spool = calloc(SPOOL_MAX, sizeof(*ctl.spool));
	if (ctl.spool == NULL)
		return DP_ENOMEM;
	uint64_t r = 0;
	int fd = open("/dev/urandom", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			r = 0;
		close(fd);
	}
	ctl.instance = r ? r : ((uint64_t)getpid() << 32 | (uint64_t)mono_ms());
	ctl.next_seq = 1;
	ctl.spool_max = spool_max;
	if (state_dir != NULL && state_dir[0] != '\0') {
		snprintf(ctl.spool_path, sizeof(ctl.spool_path), "%s/dataplane.spool", state_dir);
		spool_load();
		if (spool_rewrite() != 0)
			RTE_LOG(WARNING, USER1, "smsfw: fact spool %s: %s: facts kept in memory only\n",
				ctl.spool_path, strerror(errno));
	}
	cp_ev_batch_init(&ctl.batch, ctl.out, sizeof(ctl.out));
	return DP_OK;
}

static void disconnect(void)
{
	if (ctl.fd >= 0)
		close(ctl.fd);
	ctl.fd = -1;
	ctl.pending_len = ctl.pending_off = 0;
	ctl.in_len = 0;
	ctl.resend_from = 0;
	cp_ev_batch_init(&ctl.batch, ctl.out, sizeof(ctl.out));
}

/* Write what is pending. @return false when the socket failed. */
static bool flush_pending(void)
{
	while (ctl.pending_off < ctl.pending_len) {
		ssize_t w = send(ctl.fd, ctl.pending + ctl.pending_off, ctl.pending_len - ctl.pending_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			return false;
		}
		ctl.pending_off += (uint32_t)w;
	}
	ctl.pending_len = ctl.pending_off = 0;
	return true;
}

/* Move the batch being built to the pending buffer (if that is free). */
static bool seal_batch(void)
{
	if (ctl.batch.count == 0)
		return true;
	if (ctl.pending_len != 0)
		return false;
	uint32_t len = cp_ev_batch_finish(&ctl.batch);
	memcpy(ctl.pending, ctl.out, len);
	ctl.pending_len = len;
	ctl.pending_off = 0;
	cp_ev_batch_init(&ctl.batch, ctl.out, sizeof(ctl.out));
	return true;
}

/* Append one record; seals and starts a new batch when full.
 * @return false when neither the batch nor the pending buffer has room. */
static bool add(const struct cp_event *ev)
{
	int rc = cp_ev_batch_add(&ctl.batch, ev);
	if (rc == CP_OK)
		return true;
	if (rc != CP_ERR_TOOBIG || !seal_batch())
		return false;
	return cp_ev_batch_add(&ctl.batch, ev) == CP_OK;
}

static struct cp_view view(const char *s, size_t max)
{
	struct cp_view v = { (const uint8_t *)s, (uint16_t)strnlen(s, max) };
	return v;
}

static uint8_t cp_verdict_of(const struct dp_event *e)
{
	if (e->verdict == DP_VERDICT_PASS)
		return CP_VERDICT_PASS;
	if (e->monitor)
		return CP_VERDICT_MONITOR;
	return e->verdict == DP_VERDICT_THROTTLE ? CP_VERDICT_THROTTLE : CP_VERDICT_BLOCK;
}

/* Encode a dataplane event as a cp record (views into *e). */
static void encode(const struct dp_event *e, uint64_t seq, struct cp_event *out)
{
	memset(out, 0, sizeof(*out));
	out->seq = seq;
	if (e->type == DP_EV_OPTOUT) {
		out->type = e->optout_on ? CP_EV_OPTOUT : CP_EV_OPTIN;
		out->u.optout.time_ms = e->time_ms;
		out->u.optout.customer = view(e->system_id, DP_SYSTEM_ID_MAX);
		out->u.optout.subscriber = view(e->src, DP_SENDER_MAX);
		out->u.optout.sender = view("", 0);
		return;
	}
	bool fact = e->verdict != DP_VERDICT_PASS && !e->monitor;
	out->type = fact ? CP_EV_VIOLATION : CP_EV_OBSERVATION;
	struct cp_ev_message *m = &out->u.msg;
	m->time_ms = e->time_ms;
	m->content_hash = e->text_len ? dp_hash64(e->text, e->text_len, 0xc0de) : 0;
	m->rule_id = e->rule_num;
	m->command_status = e->command_status;
	m->verdict = cp_verdict_of(e);
	m->category = e->cp_category;
	m->data_coding = e->data_coding;
	m->parts = e->parts ? e->parts : 1;
	m->customer = view(e->system_id, DP_SYSTEM_ID_MAX);
	m->sender = view(e->src, DP_SENDER_MAX);
	m->destination = view(e->dst, DP_SENDER_MAX);
	m->text = (struct cp_view){ (const uint8_t *)e->text, e->text_len };
}

static bool is_fact(const struct dp_event *e)
{
	return e->type == DP_EV_OPTOUT || (e->type == DP_EV_VERDICT && e->verdict != DP_VERDICT_PASS &&
					   !e->monitor);
}

void dp_ctl_event(const struct dp_event *e)
{
	if (ctl.path[0] == '\0')
		return;
	if (e->type != DP_EV_VERDICT && e->type != DP_EV_OPTOUT)
		return; /* binds and uninspectable flows stay in the local log */
	if (is_fact(e)) {
		if (ctl.n == SPOOL_MAX) {
			ctl.facts_refused++;
			if (!ctl.spool_full_logged)
				RTE_LOG(ERR, USER1, "smsfw: FACT SPOOL FULL (%u facts unacknowledged by "
					"controld): new facts are refused and counted\n", SPOOL_MAX);
			ctl.spool_full_logged = 1;
			return;
		}
		struct spooled *s = &ctl.spool[(ctl.head + ctl.n) % SPOOL_MAX];
		s->seq = ctl.next_seq++;
		s->ev = *e;
		ctl.n++;
		if (ctl.spool_fd >= 0) {
			if (ctl.spool_bytes + sizeof(*s) > ctl.spool_max)
				spool_rewrite(); /* keep only what is pending */
			if (write(ctl.spool_fd, s, sizeof(*s)) == (ssize_t)sizeof(*s)) {
				ctl.spool_bytes += sizeof(*s);
				ctl.spool_dirty = 1;
			}
		}
		return; /* sent from the spool by dp_ctl_poll */
	}
	if (ctl.fd < 0) {
		ctl.obs_dropped++;
		return;
	}
	struct cp_event ce;
	encode(e, 0, &ce);
	if (add(&ce))
		ctl.obs_sent++;
	else
		ctl.obs_dropped++;
}

static void try_connect(struct dp_app *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t pl = strnlen(ctl.path, sizeof(ctl.path));
	if (pl >= sizeof(sa.sun_path)) {
		close(fd);
		return; /* dp_ctl_init refused it already */
	}
	memcpy(sa.sun_path, ctl.path, pl);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return;
	}
	ctl.fd = fd;
	ctl.reconnects++;
	ctl.resend_from = 0;
	struct cp_event h;
	memset(&h, 0, sizeof(h));
	h.type = CP_EV_HELLO;
	h.u.hello.instance = ctl.instance;
	h.u.hello.pid = (uint32_t)getpid();
	h.u.hello.workers = a->n_workers;
	add(&h);
	RTE_LOG(INFO, USER1, "smsfw: connected to controld at %s (%u facts to send)\n", ctl.path, ctl.n);
}

static void handle_input(struct dp_app *a)
{
	for (;;) {
		ssize_t r = recv(ctl.fd, ctl.in + ctl.in_len, sizeof(ctl.in) - ctl.in_len, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			RTE_LOG(WARNING, USER1, "smsfw: controld connection lost\n");
			disconnect();
			return;
		}
		if (r < 0)
			break;
		ctl.in_len += (uint32_t)r;
		uint32_t total;
		int rc;
		while ((rc = cp_ev_batch_check(ctl.in, ctl.in_len, &total)) == CP_OK) {
			struct cp_ev_iter it;
			struct cp_event ev;
			cp_ev_iter_init(&it, ctl.in, total);
			while (cp_ev_iter_next(&it, &ev) == CP_OK) {
				if (ev.type == CP_EV_ACK && ev.seq > ctl.acked) {
					ctl.acked = ev.seq;
					while (ctl.n > 0 && ctl.spool[ctl.head].seq <= ctl.acked) {
						ctl.head = (ctl.head + 1) % SPOOL_MAX;
						ctl.n--;
						if (ctl.resend_from > 0)
							ctl.resend_from--;
					}
					if (ctl.n < SPOOL_MAX)
						ctl.spool_full_logged = 0;
					if (ctl.n == 0 && ctl.spool_fd >= 0 &&
					    ftruncate(ctl.spool_fd, sizeof(struct spool_hdr)) == 0) {
						lseek(ctl.spool_fd, 0, SEEK_END);
						ctl.spool_bytes = sizeof(struct spool_hdr);
					}
				} else if (ev.type == CP_EV_GENERATION) {
					ctl.generations++;
					a->reload_store = 1;
				}
			}
			memmove(ctl.in, ctl.in + total, ctl.in_len - total);
			ctl.in_len -= total;
		}
		if (rc != CP_AGAIN) {
			RTE_LOG(ERR, USER1, "smsfw: bad batch from controld (%s): reconnecting\n",
				cp_strerror(rc));
			disconnect();
			return;
		}
	}
}

static void stat_put(struct cp_stat *e, unsigned *n, uint16_t id, uint16_t index, uint64_t v)
{
	if (*n < CP_EV_STATS_EXT_MAX)
		e[(*n)++] = (struct cp_stat){ .id = id, .index = index, .value = v };
}

/*
 * The per-worker, per-port and spool figures controld exports as metrics
 * (STATS_EXT, sent right after STATS). The flow-table counters are read
 * from the workers' tables without synchronisation: each is a 64-bit word
 * written by one worker, so a read is at worst one tick old.
 */
static void add_stats_ext(struct dp_app *a)
{
	static struct cp_stat e[CP_EV_STATS_EXT_MAX];
	struct cp_event ev;
	unsigned n = 0;

	for (unsigned w = 0; w < a->n_workers; w++) {
		struct dp_flow_table *ft = dp_engine_flows(a->eng[w]);
		const struct dp_flow_stats *fs = dp_flow_table_stats(ft);

		stat_put(e, &n, CP_STAT_WORKER_FLOWS, (uint16_t)w, fs->active);
		stat_put(e, &n, CP_STAT_WORKER_FLOWS_MAX, (uint16_t)w, dp_flow_table_capacity(ft));
		stat_put(e, &n, CP_STAT_WORKER_TABLE_FULL, (uint16_t)w, fs->table_full);
	}
	for (unsigned p = 0; p < a->n_pairs; p++) {
		for (unsigned side = 0; side < 2; side++) {
			uint16_t port = a->pair[p][side];
			struct rte_eth_stats es;

			if (rte_eth_stats_get(port, &es) != 0)
				continue;
			stat_put(e, &n, CP_STAT_PORT_RX_PACKETS, port, es.ipackets);
			stat_put(e, &n, CP_STAT_PORT_TX_PACKETS, port, es.opackets);
			stat_put(e, &n, CP_STAT_PORT_RX_BYTES, port, es.ibytes);
			stat_put(e, &n, CP_STAT_PORT_TX_BYTES, port, es.obytes);
			stat_put(e, &n, CP_STAT_PORT_RX_MISSED, port, es.imissed);
			stat_put(e, &n, CP_STAT_PORT_RX_ERRORS, port, es.ierrors);
			stat_put(e, &n, CP_STAT_PORT_TX_ERRORS, port, es.oerrors);
		}
	}
	stat_put(e, &n, CP_STAT_SPOOL_FACTS, 0, ctl.n);
	stat_put(e, &n, CP_STAT_SPOOL_BYTES, 0, ctl.spool_bytes);
	stat_put(e, &n, CP_STAT_SPOOL_REFUSED, 0, ctl.facts_refused);
	stat_put(e, &n, CP_STAT_OBS_SENT, 0, ctl.obs_sent);
	stat_put(e, &n, CP_STAT_RULESET_VERSION, 0, a->ruleset_version);

	memset(&ev, 0, sizeof(ev));
	ev.type = CP_EV_STATS_EXT;
	ev.u.ext.count = (uint16_t)n;
	ev.u.ext.entries = e;
	add(&ev);
}

void dp_ctl_poll(struct dp_app *a, const struct dp_counters *t)
{
	if (ctl.path[0] == '\0')
		return;
	if (ctl.spool_dirty && ctl.spool_fd >= 0) {
		fdatasync(ctl.spool_fd); /* facts survive a crash from here on */
		ctl.spool_dirty = 0;
	}
	uint64_t now = mono_ms();
	if (ctl.fd < 0) {
		if (now - ctl.last_try_ms < 1000)
			return;
		ctl.last_try_ms = now;
		try_connect(a);
		if (ctl.fd < 0)
			return;
	}
	handle_input(a);
	if (ctl.fd < 0)
		return;
	/* Facts not yet sent on this connection, oldest first. */
	while (ctl.resend_from < ctl.n) {
		const struct spooled *s = &ctl.spool[(ctl.head + ctl.resend_from) % SPOOL_MAX];
		struct cp_event ce;
		encode(&s->ev, s->seq, &ce);
		if (!add(&ce))
			break; /* next tick */
		ctl.resend_from++;
		ctl.facts_sent++;
	}
	if (now - ctl.last_stats_ms >= 1000 && t != NULL) {
		ctl.last_stats_ms = now;
		struct cp_event st;
		memset(&st, 0, sizeof(st));
		st.type = CP_EV_STATS;
		st.u.stats.rx_pdus = t->stream.pdus;
		st.u.stats.passed = t->verdicts[DP_VERDICT_PASS];
		st.u.stats.blocked = a->monitor ? 0 : t->verdicts[DP_VERDICT_BLOCK];
		st.u.stats.monitored = a->monitor ? t->verdicts[DP_VERDICT_BLOCK] : 0;
		st.u.stats.throttled = t->verdicts[DP_VERDICT_THROTTLE];
		st.u.stats.obs_dropped = ctl.obs_dropped + t->events_dropped;
		st.u.stats.flows = 0;
		for (unsigned w = 0; w < a->n_workers; w++)
			st.u.stats.flows += dp_flow_table_stats(dp_engine_flows(a->eng[w]))->created;
		st.u.stats.errors = t->malformed + t->scan_errors + t->facts_dropped;
		add(&st);
		add_stats_ext(a);
	}
	if (!flush_pending() || (seal_batch() && !flush_pending())) {
		RTE_LOG(WARNING, USER1, "smsfw: controld write failed: reconnecting\n");
		disconnect();
	}
}

void dp_ctl_counters(uint64_t *obs_sent, uint64_t *obs_dropped, uint64_t *facts_spooled,
		     uint64_t *facts_acked, uint64_t *facts_refused, int *connected)
{
	*obs_sent = ctl.obs_sent;
	*obs_dropped = ctl.obs_dropped;
	*facts_spooled = ctl.n;
	*facts_acked = ctl.acked;
	*facts_refused = ctl.facts_refused;
	*connected = ctl.fd >= 0;
}

void dp_ctl_close(void)
{
	if (ctl.fd >= 0) {
		seal_batch();
		flush_pending();
	}
	if (ctl.n > 0)
		RTE_LOG(WARNING, USER1, "smsfw: %u facts not acknowledged by controld at exit\n", ctl.n);
	disconnect();
	if (ctl.spool_fd >= 0) {
		fdatasync(ctl.spool_fd);
		close(ctl.spool_fd);
		ctl.spool_fd = -1;
	}
	free(ctl.spool);
	ctl.spool = NULL;
}
