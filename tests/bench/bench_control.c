/*
 * smsfw-bench control — the control plane's two figures, measured against a
 * real smsfw-controld (spawned here, default configuration, store in a
 * temporary directory on disk so every commit pays its fsync):
 *
 *  1. Event ingestion rate into LMDB: one fake dataplane streams N events
 *     (90 % observations, 10 % fraud violations with evidence text, spread
 *     over 100 customers) over the event socket; the clock stops when the
 *     ACK for the last fact arrives, which means every event before it is
 *     durably committed.
 *  2. Standing-change propagation WITHOUT the dataplane: an operator's
 *     suspend/resume over the CLI socket, timed from the request to
 *     (a) the "look again at generation G" notice received by a connected
 *     event-socket reader, (b) that reader seeing the new standing through
 *     the read API the dataplane uses (cp_reader_customer_get), and (c) the
 *     CLI's answer. The dataplane's own step (snapshot rebuild + RCU publish
 *     to the workers) is not included.
 *
 * Environment: SMSFW_CONTROLD (path of smsfw-controld; default: next to this
 * build's tests, then $PATH), SMSFW_BENCH_DIR (parent of the temporary
 * store, default /var/tmp), SMSFW_BENCH_EVENTS (default 200000).
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cp.h"

#define CHANGES 200

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Incoming control records from controld (ACK / GENERATION). */
struct evconn {
	int fd;
	uint8_t buf[2 * CP_EV_BATCH_MAX];
	size_t len;
	uint64_t acked, gen;
};

/* Read what is there (waiting up to timeout_ms); -1 when closed. */
static int ev_pump(struct evconn *c, int timeout_ms)
{
	struct pollfd pf = {.fd = c->fd, .events = POLLIN};

	if (poll(&pf, 1, timeout_ms) <= 0)
		return 0;
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	size_t off = 0;
	for (;;) {
		uint32_t total;
		int rc = cp_ev_batch_check(c->buf + off, c->len - off, &total);
		if (rc == CP_AGAIN)
			break;
		if (rc)
			return -1;
		struct cp_ev_iter it;
		struct cp_event ev;
		cp_ev_iter_init(&it, c->buf + off, total);
		while (cp_ev_iter_next(&it, &ev) == CP_OK) {
			if (ev.type == CP_EV_ACK)
				c->acked = ev.seq;
			else if (ev.type == CP_EV_GENERATION)
				c->gen = ev.seq;
		}
		off += total;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return 0;
}

static int ev_hello(struct evconn *c, uint64_t instance)
{
	uint8_t buf[128];
	struct cp_ev_batch b;
	struct cp_event ev = {.type = CP_EV_HELLO};

	ev.u.hello.instance = instance;
	ev.u.hello.pid = (uint32_t)getpid();
	ev.u.hello.workers = 1;
	cp_ev_batch_init(&b, buf, sizeof(buf));
	cp_ev_batch_add(&b, &ev);
	return send_all(c->fd, buf, cp_ev_batch_finish(&b));
}

/* One JSON request to the CLI socket; waits for the answer line. */
static int cli_request(int fd, const char *json, char *resp, size_t cap)
{
	size_t len = 0;
	if (send_all(fd, json, strlen(json)))
		return -1;
	for (;;) {
		ssize_t n = recv(fd, resp + len, cap - len - 1, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		resp[len] = 0;
		if (memchr(resp, '\n', len))
			return strstr(resp, "\"ok\":true") ? 0 : -1;
		if (len + 1 >= cap)
			return -1;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void pct(const char *what, uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("  %-44s p50 %7.3f ms   p99 %7.3f ms   max %7.3f ms\n", what, v[n / 2] / 1e6,
	       v[(n * 99) / 100] / 1e6, v[n - 1] / 1e6);
}

static void find_controld(char *out, size_t cap)
{
	const char *env = getenv("SMSFW_CONTROLD");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		snprintf(out, cap, "%s/../../controlplane/smsfw-controld", dirname(self));
		if (access(out, X_OK) == 0)
			return;
	}
	snprintf(out, cap, "smsfw-controld");
}

int main(void)
{
	static uint8_t batch[CP_EV_BATCH_MAX];
	char controld[PATH_MAX], dir[PATH_MAX], sock[PATH_MAX + 32], evsock[PATH_MAX + 32],
	    store[PATH_MAX + 32], logp[PATH_MAX + 32], conf[PATH_MAX + 32], text[160], dst[24],
	    cust[16];
	const char *parent = getenv("SMSFW_BENCH_DIR") ? getenv("SMSFW_BENCH_DIR") : "/var/tmp";
	long nev = getenv("SMSFW_BENCH_EVENTS") ? atol(getenv("SMSFW_BENCH_EVENTS")) : 200000;
	struct statfs sfs;
	pid_t pid;
	int rc = 1;

	if (nev < 1000)
		nev = 1000;
	find_controld(controld, sizeof(controld));
	snprintf(dir, sizeof(dir), "%s/smsfw-bench-control-XXXXXX", parent);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/controld.sock", dir);
	snprintf(evsock, sizeof(evsock), "%s/events.sock", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(logp, sizeof(logp), "%s/controld.log", dir);
	statfs(dir, &sfs);

	printf("smsfw-bench control\n");
	printf("  controld:        %s (spawned, built-in default configuration)\n", controld);
	printf("  store:           %s (%s; every commit fsyncs)\n", store,
	       sfs.f_type == 0x01021994 ? "tmpfs: fsync is free here, figures optimistic"
					: "disk filesystem");
	printf(
	    "  ingestion:       %ld events over the event socket, 90%% observations, 10%% fraud\n"
	    "                   violations with evidence text, 100 customers; batches of up to\n"
	    "                   %d bytes; controld commits <= 4096 events per transaction\n",
	    nev, CP_EV_BATCH_MAX);
	printf("  propagation:     %d operator suspend/resume changes over the CLI socket;\n"
	       "                   NO dataplane: measured up to the notice on the event socket\n"
	       "                   and the read API seeing it (the dataplane's snapshot + RCU\n"
	       "                   publish step is not included)\n",
	       CHANGES);
	fflush(stdout);

	/* An empty configuration file: built-in defaults whatever /etc holds. */
	snprintf(conf, sizeof(conf), "%s/bench.conf", dir);
	FILE *cf = fopen(conf, "w");
	if (!cf || fclose(cf)) {
		perror(conf);
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		if (!freopen(logp, "w", stderr))
			_exit(126);
		execl(controld, controld, "--foreground", "--state-dir", dir, "--config", conf,
		      (char *)NULL);
		execlp(controld, controld, "--foreground", "--state-dir", dir, "--config", conf,
		       (char *)NULL);
		_exit(127);
	}
	struct evconn *ing = calloc(1, sizeof(*ing)), *watch = calloc(1, sizeof(*watch));
	int cli = -1;
	for (int i = 0; i < 300; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "bench: %s exited; log in %s\n", controld, logp);
			pid = -1;
			break;
		}
		if (access(sock, F_OK) == 0 && access(evsock, F_OK) == 0)
			break;
		usleep(10000);
	}
	ing->fd = connect_unix(evsock);
	watch->fd = connect_unix(evsock);
	cli = connect_unix(sock);
	if (ing->fd < 0 || watch->fd < 0 || cli < 0) {
		fprintf(stderr, "bench: cannot connect to controld (%s); log in %s\n", controld,
			logp);
		goto out;
	}

	/* ---- 1. ingestion ---------------------------------------------------- */
	if (ev_hello(ing, 0xb0b0) || ev_hello(watch, 0xcafe))
		goto out;
	struct cp_ev_batch b;
	uint64_t seq = 0, t0 = now_ns(), bytes = 0;
	cp_ev_batch_init(&b, batch, sizeof(batch));
	for (long i = 0; i < nev; i++) {
		/* the last event is a fact, so its ACK covers everything */
		bool viol = i % 10 == 0 || i == nev - 1;
		struct cp_event ev = {.type = viol ? CP_EV_VIOLATION : CP_EV_OBSERVATION};
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (viol)
			ev.seq = ++seq;
		snprintf(cust, sizeof(cust), "bench%03ld", i % 100);
		snprintf(dst, sizeof(dst), "4477009%05ld", i % 100000);
		snprintf(text, sizeof(text), "Hello, your code is %06ld. Reply STOP to opt out.",
			 i);
		ev.u.msg.time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		ev.u.msg.content_hash = (uint64_t)i * 0x9E3779B97F4A7C15ull;
		ev.u.msg.rule_id = viol ? 2001 : 0;
		ev.u.msg.verdict = viol ? CP_VERDICT_BLOCK : CP_VERDICT_PASS;
		ev.u.msg.category = viol ? CP_CAT_FRAUD : CP_CAT_NONE;
		ev.u.msg.parts = 1;
		ev.u.msg.customer = (struct cp_view){(const uint8_t *)cust, (uint16_t)strlen(cust)};
		ev.u.msg.sender = (struct cp_view){(const uint8_t *)"BRAND", 5};
		ev.u.msg.destination =
		    (struct cp_view){(const uint8_t *)dst, (uint16_t)strlen(dst)};
		ev.u.msg.text = (struct cp_view){(const uint8_t *)text, (uint16_t)strlen(text)};
		if (cp_ev_batch_add(&b, &ev) == CP_ERR_TOOBIG) {
			uint32_t l = cp_ev_batch_finish(&b);
			bytes += l;
			if (send_all(ing->fd, batch, l) || ev_pump(ing, 0))
				goto out;
			cp_ev_batch_init(&b, batch, sizeof(batch));
			cp_ev_batch_add(&b, &ev);
		}
	}
	bytes += b.len;
	if (send_all(ing->fd, batch, cp_ev_batch_finish(&b)))
		goto out;
	while (ing->acked < seq)
		if (ev_pump(ing, 5000))
			goto out;
	uint64_t t1 = now_ns();
	double secs = (double)(t1 - t0) / 1e9;
	double rate = (double)nev / secs;
	printf("\ningestion (events durably in LMDB, end to end through the socket):\n");
	printf("  %ld events (%" PRIu64 " facts) in %.3f s = %.0f events/s, %.1f MB/s of batches\n",
	       nev, seq, secs, rate, (double)bytes / secs / 1e6);

	/* ---- 2. propagation ---------------------------------------------------- */
	struct cp_reader *r = NULL;
	char resp[65536], req[256];
	uint64_t d_gen[CHANGES], d_read[CHANGES], d_cli[CHANGES];
	if (cli_request(cli, "{\"cmd\":\"customers.add\",\"args\":{\"id\":\"prop\"}}\n", resp,
			sizeof(resp))) {
		fprintf(stderr, "bench: customers add failed: %s\n", resp);
		goto out;
	}
	if (cp_reader_open(store, &r)) {
		fprintf(stderr, "bench: cp_reader_open %s failed\n", store);
		goto out;
	}
	while (ev_pump(watch, 0) == 0 && watch->len) /* drain earlier notices */
		;
	ev_pump(watch, 50);
	for (int i = 0; i < CHANGES; i++) {
		bool suspend = i % 2 == 0;
		uint64_t g0 = watch->gen, s = now_ns();
		struct cp_customer_rec c;
		snprintf(req, sizeof(req),
			 "{\"cmd\":\"customers.standing\",\"args\":{\"id\":\"prop\",\"to\":\"%s\","
			 "\"reason\":\"bench %d\"}}\n",
			 suspend ? "suspended" : "active", i);
		if (send_all(cli, req, strlen(req)))
			goto out;
		while (watch->gen == g0)
			if (ev_pump(watch, 2000))
				goto out;
		d_gen[i] = now_ns() - s;
		for (;;) {
			if (cp_reader_customer_get(r, "prop", 4, &c))
				goto out;
			if (c.standing == (suspend ? CP_STANDING_SUSPENDED : CP_STANDING_ACTIVE))
				break;
		}
		d_read[i] = now_ns() - s;
		size_t len = 0;
		while (!memchr(resp, '\n', len)) {
			ssize_t n = recv(cli, resp + len, sizeof(resp) - len - 1, 0);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		d_cli[i] = now_ns() - s;
	}
	cp_reader_close(r);
	printf("\nstanding-change propagation without the dataplane (%d changes):\n", CHANGES);
	pct("request -> generation notice at a reader", d_gen, CHANGES);
	pct("request -> new standing via cp_reader", d_read, CHANGES);
	pct("request -> CLI answer (durable commit)", d_cli, CHANGES);
	printf("\ningest_events_per_sec=%.0f propagation_notice_p99_ms=%.3f\n", rate,
	       d_gen[(CHANGES * 99) / 100] / 1e6);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench: failed; controld log: %s\n", logp);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	if (rc == 0) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: could not remove %s\n", dir);
	}
	free(ing);
	free(watch);
	return rc;
}
