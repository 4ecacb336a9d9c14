/*
 * cp_evtool — plays the dataplane's side of the event socket for tests:
 *
 *   cp_evtool SOCKET INSTANCE KIND COUNT [CUSTOMER]
 *
 * KIND is obs (observations), viol (fraud violations with evidence text),
 * optout (opt-out facts, subscriber = 4470000 + sequence) or mix (one
 * violation in ten, the rest observations). Sends HELLO, then COUNT events
 * in full batches, then waits until every fact is acknowledged. Prints
 * "ack N" on stdout each time controld acknowledges (flushed, so a test that
 * kills controld knows exactly what was acknowledged), "gen G" for
 * generation notices, and "done" at the end. Exit 0 when all facts were
 * acknowledged, 1 when controld went away first.
 *
 * KIND stats plays a dataplane's counters for COUNT seconds: HELLO, then a
 * STATS record and a STATS_EXT record with the fixed values below (two
 * workers, two ports, an entry id no controld knows), and after every
 * GENERATION notice a STATS_EXT saying the workers applied it now
 * ("applied G" on stdout), as a dataplane does after its RCU step.
 *
 * KIND ports is stats with moving port counters: the same records, sent
 * again every second for COUNT seconds, each time with port P's
 * rx_packets +(100 + P), tx_packets +(200 + P) and rx_missed +1 (port 1
 * only), for a live view whose per-port rates must show.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cp.h"

static uint8_t rbuf[4 * CP_EV_BATCH_MAX];
static size_t rlen;
static uint64_t acked;
static uint64_t last_gen;
static uint64_t port_ticks; /* KIND ports: seconds of port counters sent */

/* Read whatever controld sent; returns -1 when the connection closed. */
static int pump(int fd, int timeout_ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	int pr = poll(&pf, 1, timeout_ms);

	if (pr <= 0)
		return 0;
	ssize_t n = recv(fd, rbuf + rlen, sizeof(rbuf) - rlen, 0);
	if (n <= 0)
		return -1;
	rlen += (size_t)n;
	size_t off = 0;
	for (;;) {
		uint32_t total;
		int rc = cp_ev_batch_check(rbuf + off, rlen - off, &total);
		if (rc == CP_AGAIN)
			break;
		if (rc)
			return -1;
		struct cp_ev_iter it;
		struct cp_event ev;
		cp_ev_iter_init(&it, rbuf + off, total);
		while (cp_ev_iter_next(&it, &ev) == CP_OK) {
			if (ev.type == CP_EV_ACK) {
				acked = ev.seq;
				printf("ack %" PRIu64 "\n", ev.seq);
			} else if (ev.type == CP_EV_GENERATION) {
				printf("gen %" PRIu64 "\n", ev.seq);
				last_gen = ev.seq;
			}
		}
		fflush(stdout);
		off += total;
	}
	memmove(rbuf, rbuf + off, rlen - off);
	rlen -= off;
	return 0;
}

static int send_all(int fd, const uint8_t *p, size_t n);

/* STATS (fixed values) and STATS_EXT (fixed values + generation applied). */
static int send_stats(int fd, bool with_v1, uint64_t gen)
{
	static uint8_t buf[CP_EV_BATCH_MAX];
	struct cp_stat st[32];
	unsigned n = 0;
	struct cp_ev_batch b;
	struct cp_event ev;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	cp_ev_batch_init(&b, buf, sizeof(buf));
	if (with_v1) {
		memset(&ev, 0, sizeof(ev));
		ev.type = CP_EV_STATS;
		ev.u.stats = (struct cp_ev_stats){1000, 900, 80, 0, 20, 7, 42, 3};
		cp_ev_batch_add(&b, &ev);
	}
	for (uint16_t w = 0; w < 2; w++) {
		st[n++] = (struct cp_stat){CP_STAT_WORKER_RX_PACKETS, w, 100u + w};
		st[n++] = (struct cp_stat){CP_STAT_WORKER_TX_PACKETS, w, 200u + w};
		st[n++] = (struct cp_stat){CP_STAT_WORKER_PDUS, w, 500u + w};
		st[n++] = (struct cp_stat){CP_STAT_WORKER_FLOWS, w, 10u + w};
		st[n++] = (struct cp_stat){CP_STAT_WORKER_FLOWS_MAX, w, 16384};
	}
	for (uint16_t p = 0; p < 2; p++) {
		st[n++] = (struct cp_stat){CP_STAT_PORT_RX_PACKETS, p,
					   1000u + p + port_ticks * (100u + p)};
		st[n++] = (struct cp_stat){CP_STAT_PORT_TX_PACKETS, p,
					   2000u + p + port_ticks * (200u + p)};
		st[n++] = (struct cp_stat){CP_STAT_PORT_RX_MISSED, p, p + port_ticks * p};
	}
	st[n++] = (struct cp_stat){CP_STAT_SPOOL_FACTS, 0, 5};
	st[n++] = (struct cp_stat){CP_STAT_OBS_SENT, 0, 900};
	st[n++] = (struct cp_stat){999, 0, 12345}; /* an id from a newer dataplane */
	if (gen) {
		st[n++] = (struct cp_stat){CP_STAT_GENERATION_APPLIED, 0, gen};
		st[n++] = (struct cp_stat){CP_STAT_GENERATION_APPLIED_MS, 0,
					   (uint64_t)ts.tv_sec * 1000 +
					       (uint64_t)ts.tv_nsec / 1000000};
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = CP_EV_STATS_EXT;
	ev.u.ext.count = (uint16_t)n;
	ev.u.ext.entries = st;
	if (cp_ev_batch_add(&b, &ev) != CP_OK)
		return -1;
	return send_all(fd, buf, cp_ev_batch_finish(&b));
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[CP_EV_BATCH_MAX];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct cp_ev_batch b;
	struct cp_event ev;
	const char *kind, *cust;
	uint64_t instance, count, seq = 0, facts = 0;
	char text[200], sub[24];
	int fd;

	if (argc < 5) {
		fprintf(stderr,
			"usage: cp_evtool SOCKET INSTANCE obs|viol|optout|mix|stats|ports COUNT "
			"[CUSTOMER]\n");
		return 2;
	}
	instance = strtoull(argv[2], NULL, 0);
	kind = argv[3];
	count = strtoull(argv[4], NULL, 0);
	cust = argc > 5 ? argv[5] : "evcust";
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		return 1;
	}
	cp_ev_batch_init(&b, buf, sizeof(buf));
	memset(&ev, 0, sizeof(ev));
	ev.type = CP_EV_HELLO;
	ev.u.hello.instance = instance;
	ev.u.hello.pid = (uint32_t)getpid();
	ev.u.hello.workers = 1;
	cp_ev_batch_add(&b, &ev);
	if (!strcmp(kind, "stats") || !strcmp(kind, "ports")) {
		bool moving = !strcmp(kind, "ports");
		uint64_t seen = 0;
		struct timespec t0, t;
		if (send_all(fd, buf, cp_ev_batch_finish(&b)) || pump(fd, 1000))
			goto gone;
		seen = last_gen; /* the start-up load: not a propagation */
		if (send_stats(fd, true, seen))
			goto gone;
		printf("stats\n");
		fflush(stdout);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((uint64_t)(t.tv_sec - t0.tv_sec) >= count)
				break;
			if (moving && (uint64_t)(t.tv_sec - t0.tv_sec) > port_ticks) {
				port_ticks = (uint64_t)(t.tv_sec - t0.tv_sec);
				/* no generation entry: that is not a new propagation */
				if (send_stats(fd, true, 0))
					goto gone;
			}
			if (pump(fd, 50))
				goto gone;
			if (last_gen != seen) {
				seen = last_gen;
				if (send_stats(fd, false, seen))
					goto gone;
				printf("applied %" PRIu64 "\n", seen);
				fflush(stdout);
			}
		}
		printf("done 0\n");
		close(fd);
		return 0;
	}
	for (uint64_t i = 0; i < count; i++) {
		bool viol = !strcmp(kind, "viol") || (!strcmp(kind, "mix") && i % 10 == 0);
		bool optout = !strcmp(kind, "optout");
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memset(&ev, 0, sizeof(ev));
		if (optout) {
			ev.type = CP_EV_OPTOUT;
			ev.seq = ++seq;
			facts++;
			snprintf(sub, sizeof(sub), "%" PRIu64, (uint64_t)4470000000u + ev.seq);
			ev.u.optout.time_ms = (uint64_t)ts.tv_sec * 1000;
			ev.u.optout.customer =
			    (struct cp_view){(const uint8_t *)cust, (uint16_t)strlen(cust)};
			ev.u.optout.subscriber =
			    (struct cp_view){(const uint8_t *)sub, (uint16_t)strlen(sub)};
		} else {
			ev.type = viol ? CP_EV_VIOLATION : CP_EV_OBSERVATION;
			if (viol) {
				ev.seq = ++seq;
				facts++;
			}
			snprintf(sub, sizeof(sub), "4477009%05" PRIu64, i % 100000);
			snprintf(text, sizeof(text),
				 "Your parcel is waiting, pay the fee at http://x%" PRIu64
				 ".example",
				 i % 977);
			struct cp_ev_message *m = &ev.u.msg;
			m->time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
			m->content_hash = i * 0x9E3779B97F4A7C15ull;
			m->rule_id = viol ? 1001 : 0;
			m->command_status = viol ? 0x45 : 0;
			m->verdict = viol ? CP_VERDICT_BLOCK : CP_VERDICT_PASS;
			m->category = viol ? CP_CAT_FRAUD : CP_CAT_NONE;
			m->parts = 1;
			m->customer =
			    (struct cp_view){(const uint8_t *)cust, (uint16_t)strlen(cust)};
			m->sender = (struct cp_view){(const uint8_t *)"PARCELS", 7};
			m->destination =
			    (struct cp_view){(const uint8_t *)sub, (uint16_t)strlen(sub)};
			m->text = (struct cp_view){(const uint8_t *)text, (uint16_t)strlen(text)};
		}
		if (cp_ev_batch_add(&b, &ev) == CP_ERR_TOOBIG) {
			if (send_all(fd, buf, cp_ev_batch_finish(&b)))
				goto gone;
			cp_ev_batch_init(&b, buf, sizeof(buf));
			cp_ev_batch_add(&b, &ev);
			if (pump(fd, 0))
				goto gone;
		}
	}
	if (b.count && send_all(fd, buf, cp_ev_batch_finish(&b)))
		goto gone;
	/* wait for the last acknowledgement (facts), or a short settle time */
	for (int waited = 0; facts ? acked < seq : waited < 1; waited++) {
		if (pump(fd, 1000))
			goto gone;
		if (waited > 120)
			goto gone;
	}
	printf("done %" PRIu64 "\n", acked);
	close(fd);
	return 0;
gone:
	printf("gone %" PRIu64 "\n", acked);
	return 1;
}
