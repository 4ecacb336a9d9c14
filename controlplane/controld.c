/*
 * smsfw-controld — owns the LMDB store (the only writer), runs the AUP
 * policy engine, ingests the dataplane's events, publishes rulesets and
 * serves smsfwctl.
 *
 * One thread, one poll() loop: the CLI socket (newline-delimited JSON
 * requests and answers), the event socket (binary batches, cp.h), a
 * signalfd (SIGTERM/SIGINT stop, SIGHUP republishes the watched rule
 * directory), an inotify watch on that directory, and timers (event flush,
 * warning expiry, retention purge). Every state change is committed durably
 * before it is answered or acknowledged; after a commit that bumped the
 * generation every connected dataplane gets "look again at generation G".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cp_ctl.h"
#include "cp_engine.h"
#include "cp_export.h"
#include "cp_metrics.h"
#include "cp_rules.h"

#define MAX_CLIENTS 64
#define CLI_BUF_MAX (1 << 20)
#define MAX_KEYS    16

enum client_kind { CL_NONE, CL_CLI, CL_EVENT };

struct pending_batch {
	uint8_t *buf;
	uint32_t len;
};

struct client {
	enum client_kind kind;
	int fd;
	uid_t uid;
	char actor[CP_ACTOR_MAX];
	uint8_t *buf;
	size_t len, cap;
	/* event clients */
	uint64_t instance;
	bool hello;
	struct pending_batch *pend;
	size_t n_pend, cap_pend;
	uint32_t pend_events;
	uint64_t pend_since_ms;
	uint64_t batches, events;
};

struct server {
	struct smsfw_conf *conf;
	struct smsfw_conf_paths paths;
	struct cp_store *store;
	struct cp_engine eng;
	struct cp_trusted_key keys[MAX_KEYS];
	size_t n_keys;
	int cli_fd, ev_fd, sig_fd, ino_fd;
	struct client cl[MAX_CLIENTS];
	uint64_t announced_gen;
	uint64_t started;
	uint64_t next_tick, next_purge;
	uint32_t batch_max_events, batch_max_ms;
	int log_level;
	bool use_syslog;
	bool stop;
	uint64_t dp_connects, acks_sent, gens_sent, event_batches;
	struct cp_export *exp;	 /* SIEM events out */
	struct cp_metrics *met;	 /* Prometheus /metrics */
	bool gen_standing;	 /* a standing change since the last announced generation */
};

static struct server S;

/* ------------------------------------------------------------------------- */
/* Logging                                                                   */
/* ------------------------------------------------------------------------- */

enum { L_DEBUG, L_INFO, L_NOTICE, L_WARN, L_ERR };

__attribute__((format(printf, 2, 3))) static void logm(int level, const char *fmt, ...)
{
	static const char *const names[] = {"debug", "info", "notice", "warning", "error"};
	static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR};
	char msg[1024];
	va_list ap;

	if (level < S.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "smsfw-controld: %s: %s\n", names[level], msg);
	if (S.use_syslog)
		syslog(prio[level], "%s", msg);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every committed notice: to the SIEM exporters and the metrics. */
static void on_notice(void *arg, const struct cp_notice *n)
{
	(void)arg;
	cp_export_notice(S.exp, n);
	cp_metrics_notice(S.met, n);
	if (n->kind == CP_NOTICE_STANDING && !n->pending)
		S.gen_standing = true;
}

static unsigned dp_connected(void)
{
	unsigned n = 0;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (S.cl[i].kind == CL_EVENT && S.cl[i].hello)
			n++;
	return n;
}

static void metrics_fill(void *arg, struct cp_metrics_src *src)
{
	(void)arg;
	src->eng = &S.eng;
	src->started = S.started;
	src->dp_connected = dp_connected();
	src->dp_connects = S.dp_connects;
	src->acks_sent = S.acks_sent;
	src->gens_sent = S.gens_sent;
	src->event_batches = S.event_batches;
	cp_export_get_stats(S.exp, &src->exp);
}

/* ------------------------------------------------------------------------- */
/* Sockets                                                                   */
/* ------------------------------------------------------------------------- */

static int mkdir_parent(const char *path)
{
	char dir[256];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash || slash == path)
		return 0;
	n = (size_t)(slash - path);
	if (n >= sizeof(dir))
		return -1;
	memcpy(dir, path, n);
	dir[n] = 0;
	for (char *p = dir + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(dir, 0755);
			*p = '/';
		}
	}
	if (mkdir(dir, 0750) && errno != EEXIST)
		return -1;
	return 0;
}

/* Listen on a Unix socket that only root and the configured group may use. */
static int listen_unix(const char *path, const char *group)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		logm(L_ERR, "socket path too long: %s", path);
		return -1;
	}
	if (mkdir_parent(path)) {
		logm(L_ERR, "cannot create the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path); /* a stale socket of a previous run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		logm(L_ERR, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (group && *group) {
		struct group *g = getgrnam(group);
		if (!g) {
			logm(L_ERR, "socket_group '%s' does not exist", group);
			close(fd);
			return -1;
		}
		if (chown(path, 0, g->gr_gid) && geteuid() == 0) {
			logm(L_ERR, "chown %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		chmod(path, 0660);
	} else {
		chmod(path, 0600);
	}
	return fd;
}

static void client_close(struct client *c)
{
	if (c->kind == CL_NONE)
		return;
	if (c->kind == CL_EVENT && c->hello)
		cp_metrics_dp_gone(S.met, c->instance);
	close(c->fd);
	free(c->buf);
	for (size_t i = 0; i < c->n_pend; i++)
		free(c->pend[i].buf);
	free(c->pend);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void client_accept(int lfd, enum client_kind kind)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (fd < 0)
		return;
	/* Belt and braces behind the socket's file mode: root, our own uid,
	 * or a member of the configured group. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.uid != 0 &&
	    cred.uid != geteuid()) {
		const char *gname = smsfw_conf_str(S.conf, SMSFW_CONF_controld_socket_group);
		struct group *g = *gname ? getgrnam(gname) : NULL;
		if (!g || cred.gid != g->gr_gid) {
			logm(L_WARN, "refused connection from uid %u", (unsigned)cred.uid);
			close(fd);
			return;
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &S.cl[i];
		if (c->kind != CL_NONE)
			continue;
		memset(c, 0, sizeof(*c));
		c->kind = kind;
		c->fd = fd;
		c->uid = cred.uid;
		struct passwd *pw = getpwuid(cred.uid);
		snprintf(c->actor, sizeof(c->actor), "%s", pw ? pw->pw_name : "uid");
		if (kind == CL_EVENT) {
			S.dp_connects++;
			logm(L_INFO, "dataplane connected");
		}
		return;
	}
	logm(L_WARN, "too many clients, connection refused");
	close(fd);
}

/* Write everything, waiting for a slow reader; give up (and let the caller
 * drop the client) after 5 s without any progress. */
static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int stalls = 0;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			if (++stalls > 50 || poll(&pf, 1, 100) < 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		stalls = 0;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Events                                                                    */
/* ------------------------------------------------------------------------- */

static int send_control(struct client *c, uint16_t type, uint64_t seq)
{
	uint8_t buf[CP_EV_HDR_LEN + CP_EV_REC_HDR_LEN];
	struct cp_ev_batch b;
	struct cp_event ev = {.type = type, .seq = seq};

	cp_ev_batch_init(&b, buf, sizeof(buf));
	cp_ev_batch_add(&b, &ev);
	return write_all(c->fd, buf, cp_ev_batch_finish(&b));
}

/* Tell every dataplane about a new generation (once per generation). */
static void announce_generation(void)
{
	uint64_t g = S.store->generation;

	if (g == S.announced_gen)
		return;
	S.announced_gen = g;
	/* The commit is durable by now: propagation is measured from here. */
	cp_metrics_generation(S.met, g, wall_ms(), S.gen_standing);
	S.gen_standing = false;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &S.cl[i];
		if (c->kind != CL_EVENT)
			continue;
		if (send_control(c, CP_EV_GENERATION, g))
			client_close(c);
		else
			S.gens_sent++;
	}
	logm(L_DEBUG, "generation %llu announced", (unsigned long long)g);
}

static void event_flush(struct client *c)
{
	const uint8_t *bufs[4096];
	uint32_t lens[4096];
	struct cp_ingest_result res;
	size_t done = 0;

	while (done < c->n_pend) {
		size_t n = c->n_pend - done;
		if (n > 4096)
			n = 4096;
		for (size_t i = 0; i < n; i++) {
			bufs[i] = c->pend[done + i].buf;
			lens[i] = c->pend[done + i].len;
		}
		int rc = cp_engine_ingest(&S.eng, c->instance, bufs, lens, n, &res);
		if (rc) {
			/* Nothing committed, nothing acknowledged: the dataplane
			 * keeps its facts and sends them again. */
			logm(L_ERR, "event ingestion failed: %s; dropping the connection",
			     cp_strerror(rc));
			client_close(c);
			return;
		}
		if (res.facts || res.duplicates) {
			if (send_control(c, CP_EV_ACK, res.max_fact_seq)) {
				client_close(c);
				return;
			}
			S.acks_sent++;
		}
		done += n;
	}
	for (size_t i = 0; i < c->n_pend; i++)
		free(c->pend[i].buf);
	c->n_pend = 0;
	c->pend_events = 0;
	announce_generation();
}

static void event_batch(struct client *c, const uint8_t *buf, uint32_t len)
{
	struct cp_ev_iter it;
	struct cp_event ev;
	uint8_t *copy;
	bool peer_gone = false;
	int rc;

	/* HELLO first: it names the instance whose sequence numbers follow. */
	cp_ev_iter_init(&it, buf, len);
	while ((rc = cp_ev_iter_next(&it, &ev)) == CP_OK) {
		if (ev.type == CP_EV_HELLO) {
			if (c->n_pend)
				event_flush(c);
			if (c->kind != CL_EVENT)
				return;
			c->instance = ev.u.hello.instance;
			c->hello = true;
			cp_metrics_dp_hello(S.met, c->instance, ev.u.hello.pid, ev.u.hello.workers,
					    S.store->generation);
			logm(L_INFO, "dataplane instance %016llx pid %u workers %u",
			     (unsigned long long)c->instance, ev.u.hello.pid, ev.u.hello.workers);
			/* What is already committed from this instance, so a
			 * dataplane whose spool lost its tail never reuses those
			 * sequence numbers; then where the store stands. */
			uint64_t committed = 0;
			cp_engine_instance_seq(&S.eng, c->instance, &committed);
			/* A peer that hung up after sending still has its
			 * events ingested below before the connection closes:
			 * what was received is never dropped. */
			if (!peer_gone &&
			    ((committed && send_control(c, CP_EV_ACK, committed)) ||
			     send_control(c, CP_EV_GENERATION, S.store->generation)))
				peer_gone = true;
		} else if (ev.type == CP_EV_STATS || ev.type == CP_EV_STATS_EXT) {
			cp_metrics_dp_stats(S.met, c->instance, &ev);
		}
	}
	if (rc != CP_AGAIN) {
		logm(L_WARN, "malformed event record; dropping the connection");
		client_close(c);
		return;
	}
	if (c->n_pend == c->cap_pend) {
		size_t nc = c->cap_pend ? c->cap_pend * 2 : 16;
		struct pending_batch *np = realloc(c->pend, nc * sizeof(*np));
		if (!np) {
			client_close(c);
			return;
		}
		c->pend = np;
		c->cap_pend = nc;
	}
	copy = malloc(len);
	if (!copy) {
		client_close(c);
		return;
	}
	memcpy(copy, buf, len);
	if (c->n_pend == 0)
		c->pend_since_ms = now_ms();
	c->pend[c->n_pend].buf = copy;
	c->pend[c->n_pend].len = len;
	c->n_pend++;
	c->batches++;
	S.event_batches++;
	cp_ev_iter_init(&it, buf, len);
	c->pend_events += it.count;
	c->events += it.count;
	if (c->pend_events >= S.batch_max_events || peer_gone)
		event_flush(c);
	if (peer_gone)
		client_close(c);
}

/* Room for @p want more octets in c->buf, doubling from @p first up to @p max.
 * 0, 1 when the buffer is already @p max, -1 when out of memory. */
static int client_room(struct client *c, size_t want, size_t first, size_t max)
{
	size_t nc = c->cap ? c->cap * 2 : first;
	uint8_t *nb;

	if (c->cap - c->len >= want)
		return 0;
	if (nc > max)
		nc = max;
	if (nc <= c->cap)
		return 1;
	nb = realloc(c->buf, nc);
	if (!nb)
		return -1;
	c->buf = nb;
	c->cap = nc;
	return 0;
}

static void event_read(struct client *c)
{
	for (;;) {
		int room = client_room(c, 8192, 2 * CP_EV_BATCH_MAX, 4 * CP_EV_BATCH_MAX);
		if (room < 0) {
			client_close(c);
			return;
		}
		if (room > 0)
			break;
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			if (c->n_pend)
				event_flush(c);
			if (c->kind == CL_EVENT) {
				logm(L_INFO, "dataplane disconnected");
				client_close(c);
			}
			return;
		}
		if (n < 0)
			break;
		c->len += (size_t)n;
		size_t off = 0;
		for (;;) {
			uint32_t total;
			int rc = cp_ev_batch_check(c->buf + off, c->len - off, &total);
			if (rc == CP_AGAIN)
				break;
			if (rc) {
				logm(L_WARN, "bad event batch (%s); dropping the connection",
				     cp_strerror(rc));
				S.eng.bad_events++;
				if (c->n_pend)
					event_flush(c);
				client_close(c);
				return;
			}
			event_batch(c, c->buf + off, total);
			if (c->kind != CL_EVENT)
				return;
			off += total;
		}
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
}

/* ------------------------------------------------------------------------- */
/* CLI                                                                       */
/* ------------------------------------------------------------------------- */

static void cli_handle_line(struct client *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, 0, &jerr), *resp;
	char *out;

	if (!req || !json_is_object(req)) {
		resp = cp_ctl_error("usage", "request is not a JSON object");
	} else {
		struct cp_ctl_ctx ctx = {
		    .eng = &S.eng,
		    .conf = S.conf,
		    .keys = S.keys,
		    .n_keys = S.n_keys,
		    .actor = c->actor,
		    .started = S.started,
		    .dp_connected = dp_connected(),
		};
		ctx.dp_connects = S.dp_connects;
		ctx.acks_sent = S.acks_sent;
		ctx.gens_sent = S.gens_sent;
		ctx.lmdb_path = S.paths.lmdb;
		ctx.met = S.met;
		resp = cp_ctl_dispatch(&ctx, req);
		announce_generation();
	}
	json_decref(req);
	out = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (!out || write_all(c->fd, out, strlen(out)) || write_all(c->fd, "\n", 1))
		client_close(c);
	free(out);
}

static void cli_read(struct client *c)
{
	for (;;) {
		int room = client_room(c, 4096, 16384, CLI_BUF_MAX);
		if (room) {
			if (room > 0)
				logm(L_WARN, "CLI request too long; closing");
			client_close(c);
			return;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		uint8_t *nl;
		while (c->kind == CL_CLI && (nl = memchr(c->buf, '\n', c->len))) {
			size_t ll = (size_t)(nl - c->buf);
			cli_handle_line(c, (const char *)c->buf, ll);
			if (c->kind != CL_CLI)
				return;
			memmove(c->buf, nl + 1, c->len - ll - 1);
			c->len -= ll + 1;
		}
	}
}

/* ------------------------------------------------------------------------- */
/* Rules directory                                                           */
/* ------------------------------------------------------------------------- */

static void republish(const char *why)
{
	const char *dir = smsfw_conf_str(S.conf, SMSFW_CONF_controld_rules_watch_dir);
	struct cp_publish_result res;
	char err[512];

	if (!*dir) {
		logm(L_INFO, "%s: no rules_watch_dir configured, nothing to republish", why);
		return;
	}
	/* With trusted keys the directory holds signed bundles; publish the
	 * newest-versioned one that verifies (older ones are refused as
	 * downgrades, which is the point). Without keys it is a rule dir. */
	if (S.n_keys == 0) {
		int rc = cp_rules_publish(&S.eng, dir, NULL, 0, false, "rules_watch_dir", &res, err,
					  sizeof(err));
		if (rc)
			logm(rc == CP_ERR_REFUSED ? L_INFO : L_ERR, "%s: %s: %s", why, dir, err);
		else
			logm(L_NOTICE, "%s: published ruleset %llu from %s", why,
			     (unsigned long long)res.version, dir);
	} else {
		DIR *d = opendir(dir);
		struct dirent *de;
		char path[512];
		if (!d) {
			logm(L_ERR, "%s: %s: %s", why, dir, strerror(errno));
			return;
		}
		while ((de = readdir(d))) {
			size_t nl = strlen(de->d_name);
			if (nl < 8 || strcmp(de->d_name + nl - 7, ".bundle") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			int rc = cp_rules_publish(&S.eng, path, S.keys, S.n_keys, false,
						  "rules_watch_dir", &res, err, sizeof(err));
			if (rc)
				logm(rc == CP_ERR_REFUSED ? L_INFO : L_ERR, "%s: %s", why, err);
			else
				logm(L_NOTICE, "%s: published ruleset %llu from %s", why,
				     (unsigned long long)res.version, path);
		}
		closedir(d);
	}
	announce_generation();
}

/* ------------------------------------------------------------------------- */
/* Main                                                                      */
/* ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smsfw-controld [--foreground] [--config FILE] [--state-dir DIR]\n"
		"                      [--socket PATH] [--event-socket PATH]\n"
		"\n"
		"  -f, --foreground       stay in the foreground (log to stderr)\n"
		"  -c, --config FILE      configuration file (default %s;\n"
		"                         built-in defaults when that file does not exist)\n"
		"  -d, --state-dir DIR    LMDB store and sockets under DIR\n"
		"                         (default /var/lib/smsfw and /run/smsfw)\n"
		"  -s, --socket PATH      smsfwctl socket\n"
		"  -e, --event-socket PATH  dataplane event socket\n"
		"  -h, --help             this text\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop cleanly; SIGHUP republishes rules_watch_dir.\n"
		"Exit: 0 clean stop, 1 runtime failure, 2 usage or configuration error.\n",
		SMSFW_CONF_PATH);
}

static int timeout_ms(void)
{
	uint64_t now = now_ms();
	int64_t t = 1000;
	int mt = cp_metrics_timeout_ms(S.met);

	if (mt >= 0 && mt < t)
		t = mt;
	if (cp_export_pending(S.exp) && t > 10)
		t = 10; /* a SIEM receiver is draining a burst */

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &S.cl[i];
		if (c->kind == CL_EVENT && c->n_pend) {
			int64_t d = (int64_t)(c->pend_since_ms + S.batch_max_ms) - (int64_t)now;
			if (d < t)
				t = d;
		}
	}
	return t < 0 ? 0 : (int)t;
}

static void timers(void)
{
	uint64_t now = now_ms();
	uint64_t wall = (uint64_t)time(NULL);

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &S.cl[i];
		if (c->kind == CL_EVENT && c->n_pend && now >= c->pend_since_ms + S.batch_max_ms)
			event_flush(c);
	}
	if (wall >= S.next_tick) {
		int n = cp_engine_tick(&S.eng), dead = 0;
		if (n > 0)
			logm(L_NOTICE, "%d warning(s) expired", n);
		/* A reader killed mid-transaction (a dataplane crash) would pin
		 * old pages and make the file grow: clear its slot. */
		if (mdb_reader_check(S.store->env, &dead) == 0 && dead > 0)
			logm(L_WARN, "cleared %d stale LMDB reader slot(s)", dead);
		S.next_tick = wall + 60;
		announce_generation();
	}
	if (wall >= S.next_purge) {
		int64_t n = cp_engine_purge(&S.eng);
		if (n > 0)
			logm(L_INFO, "retention purge removed %lld records", (long long)n);
		S.next_purge =
		    wall + (uint64_t)smsfw_conf_int(S.conf, SMSFW_CONF_controld_purge_interval);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"foreground", no_argument, NULL, 'f'},
	    {"config", required_argument, NULL, 'c'},
	    {"state-dir", required_argument, NULL, 'd'},
	    {"socket", required_argument, NULL, 's'},
	    {"event-socket", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *state_dir = NULL, *sock = NULL, *evsock = NULL;
	bool foreground = false;
	char err[4096];
	int o, rc;
	sigset_t mask;
	struct cp_policy_cfg pcfg;

	while ((o = getopt_long(argc, argv, "fc:d:s:e:h", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			foreground = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'd':
			state_dir = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'e':
			evsock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	S.log_level = L_INFO;
	rc = smsfw_conf_load(config ? config : SMSFW_CONF_PATH, &S.conf, err, sizeof(err));
	if (rc == SMSFW_CONF_ERR_NOENT && !config) {
		rc = smsfw_conf_load(NULL, &S.conf, err, sizeof(err));
		if (!rc)
			logm(L_INFO, "no %s: running on built-in defaults", SMSFW_CONF_PATH);
	}
	if (rc) {
		fprintf(stderr, "smsfw-controld: %s\n", err);
		return 2;
	}
	if ((state_dir &&
	     (smsfw_conf_set(S.conf, "general", "state_dir", state_dir, err, sizeof(err)) ||
	      smsfw_conf_set(S.conf, "general", "run_dir", state_dir, err, sizeof(err)))) ||
	    (sock && smsfw_conf_set(S.conf, "general", "socket", sock, err, sizeof(err))) ||
	    (evsock &&
	     smsfw_conf_set(S.conf, "general", "event_socket", evsock, err, sizeof(err)))) {
		fprintf(stderr, "smsfw-controld: %s\n", err);
		return 2;
	}
	if (smsfw_conf_paths(S.conf, &S.paths)) {
		fprintf(stderr, "smsfw-controld: a configured path is too long\n");
		return 2;
	}
	S.log_level = smsfw_conf_enum(S.conf, SMSFW_CONF_general_log_level);
	S.use_syslog = smsfw_conf_bool(S.conf, SMSFW_CONF_general_syslog) || !foreground;
	if (S.use_syslog)
		openlog("smsfw-controld", LOG_PID, LOG_DAEMON);
	rc = cp_rules_load_keys(S.conf, S.keys, MAX_KEYS, err, sizeof(err));
	if (rc < 0) {
		logm(L_ERR, "%s", err);
		return 2;
	}
	S.n_keys = (size_t)rc;
	S.batch_max_events = (uint32_t)smsfw_conf_int(S.conf, SMSFW_CONF_controld_batch_max_events);
	S.batch_max_ms = (uint32_t)smsfw_conf_int(S.conf, SMSFW_CONF_controld_batch_max_ms);

	rc = cp_store_open(S.paths.lmdb,
			   (size_t)smsfw_conf_int(S.conf, SMSFW_CONF_controld_map_size_mb) << 20,
			   &S.store, err, sizeof(err));
	if (rc) {
		logm(L_ERR, "%s", err);
		return rc == CP_ERR_SCHEMA ? 2 : 1;
	}
	cp_policy_cfg_from_conf(&pcfg, S.conf);
	cp_engine_init(&S.eng, S.store, &pcfg, NULL, NULL);
	S.announced_gen = S.store->generation;
	rc = cp_export_open(S.conf, &S.exp, err, sizeof(err));
	if (rc) {
		logm(L_ERR, "%s", err);
		cp_store_close(S.store);
		return rc == CP_ERR_INVAL ? 2 : 1;
	}
	cp_engine_set_notify(&S.eng, on_notice, NULL);
	if (smsfw_conf_int(S.conf, SMSFW_CONF_controld_metrics_port)) {
		const char *ma = smsfw_conf_str(S.conf, SMSFW_CONF_controld_metrics_address);
		if (strncmp(ma, "127.", 4) != 0 && strcmp(ma, "::1") != 0)
			logm(L_WARN,
			     "metrics_address %s is not loopback: /metrics has no "
			     "authentication",
			     ma);
	}
	rc = cp_metrics_open(smsfw_conf_str(S.conf, SMSFW_CONF_controld_metrics_address),
			     (unsigned)smsfw_conf_int(S.conf, SMSFW_CONF_controld_metrics_port),
			     metrics_fill, NULL, &S.met, err, sizeof(err));
	if (rc) {
		logm(L_ERR, "%s", err);
		cp_export_close(S.exp);
		cp_store_close(S.store);
		return rc == CP_ERR_INVAL ? 2 : 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	S.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	const char *group = smsfw_conf_str(S.conf, SMSFW_CONF_controld_socket_group);
	S.cli_fd = listen_unix(S.paths.socket, group);
	S.ev_fd = listen_unix(S.paths.event_socket, group);
	if (S.cli_fd < 0 || S.ev_fd < 0 || S.sig_fd < 0) {
		cp_store_close(S.store);
		return 1;
	}
	S.ino_fd = -1;
	const char *wdir = smsfw_conf_str(S.conf, SMSFW_CONF_controld_rules_watch_dir);
	if (*wdir) {
		S.ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (S.ino_fd >= 0 &&
		    inotify_add_watch(S.ino_fd, wdir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
			logm(L_WARN, "cannot watch %s: %s", wdir, strerror(errno));
			close(S.ino_fd);
			S.ino_fd = -1;
		}
	}
	if (!foreground && daemon(0, 0)) {
		logm(L_ERR, "daemon: %s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		S.cl[i].fd = -1;
	S.started = (uint64_t)time(NULL);
	S.next_tick = 0;
	S.next_purge = S.started + 60;
	logm(L_NOTICE,
	     "ready: store %s (generation %llu), socket %s, events %s, %zu trusted key(s)",
	     S.paths.lmdb, (unsigned long long)S.store->generation, S.paths.socket,
	     S.paths.event_socket, S.n_keys);

	while (!S.stop) {
		struct pollfd pf[5 + MAX_CLIENTS];
		int idx[5 + MAX_CLIENTS];
		nfds_t n = 0;
		pf[n] = (struct pollfd){.fd = S.sig_fd, .events = POLLIN};
		idx[n++] = -1;
		pf[n] = (struct pollfd){.fd = S.cli_fd, .events = POLLIN};
		idx[n++] = -2;
		pf[n] = (struct pollfd){.fd = S.ev_fd, .events = POLLIN};
		idx[n++] = -3;
		if (S.ino_fd >= 0) {
			pf[n] = (struct pollfd){.fd = S.ino_fd, .events = POLLIN};
			idx[n++] = -4;
		}
		if (cp_metrics_fd(S.met) >= 0) {
			pf[n] = (struct pollfd){.fd = cp_metrics_fd(S.met), .events = POLLIN};
			idx[n++] = -5;
		}
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (S.cl[i].kind == CL_NONE)
				continue;
			pf[n] = (struct pollfd){.fd = S.cl[i].fd, .events = POLLIN};
			idx[n++] = i;
		}
		int pr = poll(pf, n, timeout_ms());
		if (pr < 0 && errno != EINTR) {
			logm(L_ERR, "poll: %s", strerror(errno));
			break;
		}
		for (nfds_t i = 0; pr > 0 && i < n; i++) {
			if (!pf[i].revents)
				continue;
			switch (idx[i]) {
			case -1: {
				struct signalfd_siginfo si;
				while (read(S.sig_fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						cp_export_reopen(S.exp);
						republish("SIGHUP");
					} else
						S.stop = true;
				}
				break;
			}
			case -2:
				client_accept(S.cli_fd, CL_CLI);
				break;
			case -3:
				client_accept(S.ev_fd, CL_EVENT);
				break;
			case -4: {
				char buf[4096];
				while (read(S.ino_fd, buf, sizeof(buf)) > 0)
					;
				republish("rules_watch_dir changed");
				break;
			}
			case -5:
				break; /* served below, with MHD's own timers */
			default: {
				struct client *c = &S.cl[idx[i]];
				if (c->kind == CL_CLI)
					cli_read(c);
				else if (c->kind == CL_EVENT)
					event_read(c);
			}
			}
		}
		cp_metrics_run(S.met);
		cp_export_flush(S.exp);
		timers();
	}
	logm(L_NOTICE, "stopping");
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (S.cl[i].kind == CL_EVENT && S.cl[i].n_pend)
			event_flush(&S.cl[i]);
		client_close(&S.cl[i]);
	}
	close(S.cli_fd);
	close(S.ev_fd);
	unlink(S.paths.socket);
	unlink(S.paths.event_socket);
	if (S.ino_fd >= 0)
		close(S.ino_fd);
	close(S.sig_fd);
	cp_metrics_close(S.met);
	cp_export_close(S.exp);
	cp_engine_fini(&S.eng);
	cp_store_close(S.store);
	smsfw_conf_free(S.conf);
	return 0;
}
