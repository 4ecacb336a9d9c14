/*
 * gen_esme.c — the ESME role: connect, bind, submit the mix with a window of
 * outstanding submit_sm per connection and an optional target rate, answer
 * deliver_sm (receipts and MO), enquire_link, drain, unbind, report.
 *
 * Only the header of a submit_sm_resp is read (status, sequence): the
 * latency of a submit is the time from queuing its bytes to reading its
 * response, including the generator's own batching.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>

#include "gen.h"

enum esme_state { ES_BINDING, ES_BOUND, ES_UNBINDING, ES_DONE };

struct slot {
	uint32_t seq;
	uint64_t t; /* 0: free */
};

struct esme_conn {
	struct gen_conn io;
	enum esme_state state;
	uint32_t outstanding;
	struct slot *slots;
	uint32_t mask;
	uint64_t enquire_next;
	const struct gen_msg *msg; /* message being sent, NULL between messages */
	unsigned part;
	uint16_t ref;
	bool closed;
};

struct esme {
	const struct gen_opts *o;
	struct gen_mix mix;
	struct esme_conn *c;
	unsigned nc;
	int epfd;
	FILE *rec;
	uint64_t t0, t_first, t_last, t_stop, t_unbind;
	double tokens;
	uint64_t t_tokens;
	uint64_t msgs, sent, answered, ok, receipts, mo, enq_sent, enq_answered;
	uint64_t unexpected, stalls, decode_errors, lost;
	unsigned cursor;
	uint16_t ref;
	bool sending_done;
	int errors;
	struct gen_status_count st;
	struct gen_hist lat;
};

static int esme_connect(const struct gen_opts *o, char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	uint64_t until = gen_now_ns() + (uint64_t)(o->connect_wait * 1e9);
	int fd = -1, one = 1, last = 0;

	res = gen_resolve(o->addr, "127.0.0.1", "HOST:PORT", 0, err, errlen);
	if (!res)
		return -1;
	for (;;) {
		for (ai = res; ai; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd < 0)
				continue;
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
			last = errno;
			close(fd);
			fd = -1;
		}
		if (fd >= 0 || gen_now_ns() >= until || gen_stop)
			break;
		usleep(50000);
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "connect %s: %s", o->addr, strerror(last));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int esme_send_bind(struct esme *e, struct esme_conn *c)
{
	struct smpp_pdu pdu;
	uint8_t *p = gen_conn_reserve(&c->io, 256);
	size_t n;
	const char *sid = e->o->system_id, *pw = e->o->password, *st = e->o->system_type;

	if (!p)
		return -1;
	memset(&pdu, 0, sizeof(pdu));
	pdu.hdr.command_id = e->o->bind_cmd;
	pdu.hdr.sequence_number = gen_conn_next_seq(&c->io);
	pdu.system_id = (struct smpp_view){(const uint8_t *)sid, (uint32_t)strlen(sid)};
	pdu.password = (struct smpp_view){(const uint8_t *)pw, (uint32_t)strlen(pw)};
	pdu.system_type = (struct smpp_view){(const uint8_t *)st, (uint32_t)strlen(st)};
	pdu.interface_version = SMPP_VERSION_34;
	if (smpp_pdu_encode(&pdu, p, 256, &n) != SMPP_OK)
		return -1;
	gen_conn_commit(&c->io, n);
	return 0;
}

static void esme_answer(struct esme *e, struct esme_conn *c, uint32_t seq, uint32_t status,
			uint64_t now)
{
	struct slot *s = &c->slots[seq & c->mask];

	if (s->seq != seq || s->t == 0) {
		e->unexpected++;
		return;
	}
	gen_hist_add(&e->lat, now - s->t);
	s->t = 0;
	c->outstanding--;
	e->answered++;
	e->t_last = now;
	gen_status_add(&e->st, status);
	if (status == SMPP_ESME_ROK)
		e->ok++;
}

static void esme_pdu(struct esme *e, struct esme_conn *c, struct smpp_view v, uint64_t now)
{
	struct smpp_hdr h;
	struct smpp_pdu pdu;
	uint8_t *p;
	size_t n;

	if (smpp_hdr_peek(v.p, v.len, 0, &h) != SMPP_OK)
		return;
	switch (h.command_id) {
	case SMPP_CMD_SUBMIT_SM_RESP:
		esme_answer(e, c, h.sequence_number, h.command_status, now);
		break;
	case SMPP_CMD_GENERIC_NACK:
		esme_answer(e, c, h.sequence_number, h.command_status, now);
		break;
	case SMPP_CMD_BIND_TRANSMITTER_RESP:
	case SMPP_CMD_BIND_TRANSCEIVER_RESP:
	case SMPP_CMD_BIND_RECEIVER_RESP:
		if (c->state != ES_BINDING)
			break;
		if (h.command_status != SMPP_ESME_ROK) {
			const char *name = smpp_esme_name(h.command_status);

			fprintf(stderr, "smsfw-gen: bind refused: %s (0x%08" PRIx32 ")\n",
				name ? name : "unknown status", h.command_status);
			e->errors++;
			c->state = ES_DONE;
			break;
		}
		c->state = ES_BOUND;
		c->enquire_next = now + (uint64_t)(e->o->enquire * 1e9);
		if (e->t_unbind) { /* bound after everything was sent: leave */
			gen_conn_send_empty(&c->io, SMPP_CMD_UNBIND, gen_conn_next_seq(&c->io), 0);
			c->state = ES_UNBINDING;
		}
		break;
	case SMPP_CMD_DELIVER_SM:
	case SMPP_CMD_DATA_SM:
		if (smpp_pdu_decode(v.p, v.len, NULL, &pdu) != SMPP_OK) {
			e->decode_errors++;
			gen_conn_send_empty(&c->io, SMPP_CMD_GENERIC_NACK, h.sequence_number,
					    SMPP_ESME_RSYSERR);
			break;
		}
		if (pdu.esm_class & 0x3C) /* SMSC delivery receipt or another notification */
			e->receipts++;
		else
			e->mo++;
		if (e->rec)
			gen_record(e->rec, (pdu.esm_class & 0x3C) ? "receipt" : "deliver_sm",
				   (struct smpp_view){NULL, 0}, &pdu);
		p = gen_conn_reserve(&c->io, SMPP_RESP_MAX);
		if (p &&
		    smpp_encode_msgid_resp(h.command_id, h.sequence_number, SMPP_ESME_ROK,
					   (struct smpp_view){NULL, 0}, (struct smpp_view){NULL, 0},
					   p, SMPP_RESP_MAX, &n) == SMPP_OK)
			gen_conn_commit(&c->io, n);
		break;
	case SMPP_CMD_ENQUIRE_LINK:
		gen_conn_send_empty(&c->io, SMPP_CMD_ENQUIRE_LINK_RESP, h.sequence_number,
				    SMPP_ESME_ROK);
		break;
	case SMPP_CMD_ENQUIRE_LINK_RESP:
		e->enq_answered++;
		break;
	case SMPP_CMD_UNBIND:
		gen_conn_send_empty(&c->io, SMPP_CMD_UNBIND_RESP, h.sequence_number, SMPP_ESME_ROK);
		c->state = ES_DONE;
		break;
	case SMPP_CMD_UNBIND_RESP:
		c->state = ES_DONE;
		break;
	default:
		if (!(h.command_id & SMPP_CMD_RESP_BIT))
			gen_conn_send_empty(&c->io, SMPP_CMD_GENERIC_NACK, h.sequence_number,
					    SMPP_ESME_RINVCMDID);
		break;
	}
}

/* Queue submits on @c while its window, the rate and the limit allow. */
static void esme_fill(struct esme *e, struct esme_conn *c, uint64_t now, uint64_t *budget)
{
	const struct gen_opts *o = e->o;

	while (*budget > 0 && c->outstanding < o->window) {
		const struct gen_part *part;
		struct slot *s;
		uint32_t seq;

		if (!c->msg) {
			if (e->sending_done)
				return;
			c->msg = &e->mix.msgs[e->cursor];
			e->cursor = e->cursor + 1 == e->mix.n ? 0 : e->cursor + 1;
			c->part = 0;
			c->ref = ++e->ref;
			e->msgs++;
			if (o->limit && e->msgs >= o->limit)
				e->sending_done = true; /* this one is the last */
		}
		part = &c->msg->parts[c->part];
		seq = gen_conn_peek_seq(&c->io);
		s = &c->slots[seq & c->mask];
		if (s->t != 0) {
			e->stalls++; /* an old submit is still unanswered in this slot */
			return;
		}
		if (!gen_conn_send_part(&c->io, part, c->ref))
			return;
		s->seq = seq;
		s->t = now;
		c->outstanding++;
		if (e->sent++ == 0)
			e->t_first = now;
		(*budget)--;
		if (++c->part == c->msg->n_parts)
			c->msg = NULL;
	}
}

static void esme_report(struct esme *e, uint64_t t_end)
{
	const struct gen_opts *o = e->o;
	double span = e->t_last > e->t_first ? (double)(e->t_last - e->t_first) / 1e9 : 0;
	double rate = span > 0 ? (double)e->answered / span : 0;
	double elapsed = (double)(t_end - e->t0) / 1e9;

	if (o->json) {
		json_t *j = json_pack(
		    "{s:s,s:s,s:i,s:i,s:f,s:f,s:I,"
		    "s:{s:I,s:I,s:I,s:f,s:o},s:o,"
		    "s:{s:I,s:I,s:I,s:I},s:{s:I,s:I},"
		    "s:{s:I,s:I,s:I,s:i}}",
		    "role", "esme", "target", o->addr, "connections", (int)o->connections, "window",
		    (int)o->window, "rate_target", o->rate, "elapsed_s", elapsed, "messages",
		    (json_int_t)e->msgs, "submit_sm", "sent", (json_int_t)e->sent, "answered",
		    (json_int_t)e->answered, "unanswered", (json_int_t)(e->sent - e->answered),
		    "per_second", rate, "status", gen_status_json(&e->st), "latency_us",
		    gen_hist_json(&e->lat), "deliver_sm", "received",
		    (json_int_t)(e->receipts + e->mo), "receipts", (json_int_t)e->receipts, "mo",
		    (json_int_t)e->mo, "decode_errors", (json_int_t)e->decode_errors,
		    "enquire_link", "sent", (json_int_t)e->enq_sent, "answered",
		    (json_int_t)e->enq_answered, "anomalies", "unexpected_responses",
		    (json_int_t)e->unexpected, "window_stalls", (json_int_t)e->stalls,
		    "connections_lost", (json_int_t)e->lost, "errors", e->errors);

		json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(j);
		return;
	}
	if (o->quiet)
		return;
	printf("smsfw-gen esme -> %s: %u connection(s), window %u, rate %s\n", o->addr,
	       o->connections, o->window, o->rate > 0 ? "limited" : "unlimited");
	if (o->rate > 0)
		printf("  %-12s %.0f submit_sm/s\n", "target", o->rate);
	printf("  %-12s %" PRIu64 " messages, %" PRIu64 " submit_sm sent, %" PRIu64
	       " answered in %.3f s\n",
	       "sent", e->msgs, e->sent, e->answered, elapsed);
	printf("  %-12s %.0f submit_sm/s (first submit to last response)\n", "rate", rate);
	gen_hist_print(stdout, "latency", &e->lat);
	gen_status_print(stdout, "status", &e->st);
	printf("  %-12s %" PRIu64 " received (%" PRIu64 " receipts, %" PRIu64 " MO)\n",
	       "deliver_sm", e->receipts + e->mo, e->receipts, e->mo);
	if (o->enquire > 0)
		printf("  %-12s %" PRIu64 " sent, %" PRIu64 " answered\n", "enquire_link",
		       e->enq_sent, e->enq_answered);
	if (e->unexpected || e->stalls || e->lost || e->decode_errors)
		printf("  %-12s %" PRIu64 " unexpected responses, %" PRIu64
		       " window stalls, %" PRIu64 " connections lost, %" PRIu64
		       " undecodable deliver_sm\n",
		       "anomalies", e->unexpected, e->stalls, e->lost, e->decode_errors);
}

static void esme_close(struct esme *e, struct esme_conn *c)
{
	if (c->closed)
		return;
	if (c->state != ES_DONE) {
		e->lost++;
		e->errors++;
		fprintf(stderr, "smsfw-gen: connection lost%s\n",
			c->io.eof ? " (peer closed)" : "");
	}
	gen_conn_close(&c->io, e->epfd);
	c->closed = true;
}

int gen_esme_run(const struct gen_opts *o)
{
	struct esme e;
	struct gen_mix_opts mo = {SMPP_CMD_SUBMIT_SM, o->dlr ? 1 : 0};
	char err[512];
	uint32_t nslots = 64;
	int rc = 1;
	unsigned i;
	struct epoll_event evs[64];

	memset(&e, 0, sizeof(e));
	e.o = o;
	e.epfd = -1;
	if ((o->mix_file ? gen_mix_load(o->mix_file, &mo, &e.mix, err, sizeof(err))
			 : gen_mix_one(&o->line, &mo, &e.mix, err, sizeof(err))) < 0) {
		fprintf(stderr, "smsfw-gen: %s\n", err);
		return 2;
	}
	if (o->record) {
		e.rec = fopen(o->record, "w");
		if (!e.rec) {
			fprintf(stderr, "smsfw-gen: %s: %s\n", o->record, strerror(errno));
			goto out;
		}
	}
	while (nslots < 2 * o->window)
		nslots *= 2;
	e.epfd = epoll_create1(EPOLL_CLOEXEC);
	e.c = calloc(o->connections, sizeof(*e.c));
	if (e.epfd < 0 || !e.c)
		goto out;
	e.t0 = gen_now_ns();
	for (i = 0; i < o->connections; i++) {
		struct esme_conn *c = &e.c[i];
		int fd = esme_connect(o, err, sizeof(err));
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		c->io.fd = -1;
		c->closed = true;
		if (fd < 0) {
			fprintf(stderr, "smsfw-gen: %s\n", err);
			goto out;
		}
		if (gen_conn_init(&c->io, fd) < 0) {
			close(fd);
			goto out;
		}
		e.nc = i + 1;
		c->closed = false;
		c->slots = calloc(nslots, sizeof(*c->slots));
		c->mask = nslots - 1;
		if (!c->slots || esme_send_bind(&e, c) < 0 ||
		    epoll_ctl(e.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			goto out;
	}
	e.t_tokens = gen_now_ns();

	for (;;) {
		uint64_t now = gen_now_ns(), budget;
		bool all_done = true, any_bound = false;
		uint64_t outstanding = 0;
		int n, timeout;

		for (i = 0; i < e.nc; i++) {
			if (!e.c[i].closed)
				all_done = false;
			if (e.c[i].state == ES_BOUND)
				any_bound = true;
			outstanding += e.c[i].outstanding;
		}
		if (all_done)
			break;
		if (!e.sending_done &&
		    (gen_stop || (o->duration > 0 && now - e.t0 >= (uint64_t)(o->duration * 1e9))))
			e.sending_done = true;
		if (e.sending_done && !e.t_stop)
			e.t_stop = now;
		for (i = 0; i < e.nc; i++)
			if (!e.c[i].closed && e.c[i].state == ES_BINDING &&
			    now - e.t0 > 10000000000u) {
				fprintf(stderr, "smsfw-gen: no bind_resp within 10 s\n");
				e.c[i].state = ES_DONE;
				e.errors++;
			}
		/* Everything sent and answered (receipts too, when asked): unbind. */
		if (e.t_stop && !e.t_unbind) {
			bool parts_pending = false;

			for (i = 0; i < e.nc; i++)
				if (e.c[i].msg && e.c[i].state == ES_BOUND)
					parts_pending = true;
			if ((!parts_pending && outstanding == 0 &&
			     (!o->dlr || e.receipts >= e.ok)) ||
			    now - e.t_stop >= (uint64_t)(o->drain * 1e9) || gen_stop > 1) {
				e.t_unbind = now;
				for (i = 0; i < e.nc; i++) {
					struct esme_conn *c = &e.c[i];

					if (c->closed || c->state != ES_BOUND)
						continue;
					gen_conn_send_empty(&c->io, SMPP_CMD_UNBIND,
							    gen_conn_next_seq(&c->io), 0);
					c->state = ES_UNBINDING;
				}
			}
		}
		if (e.t_unbind && now - e.t_unbind > 2000000000u) {
			for (i = 0; i < e.nc; i++)
				if (!e.c[i].closed && e.c[i].state != ES_DONE) {
					e.c[i].state = ES_DONE;
					fprintf(stderr, "smsfw-gen: no unbind_resp within 2 s\n");
					e.errors++;
				}
		}

		/* Send budget: a token bucket holding at most 10 ms of the rate. */
		if (o->rate > 0) {
			double cap = o->rate / 100 > 1 ? o->rate / 100 : 1;

			e.tokens += (double)(now - e.t_tokens) * o->rate / 1e9;
			if (e.tokens > cap)
				e.tokens = cap;
			e.t_tokens = now;
			budget = (uint64_t)e.tokens;
		} else {
			budget = UINT64_MAX;
		}
		if (any_bound) {
			uint64_t before = budget;

			for (i = 0; i < e.nc; i++) {
				struct esme_conn *c = &e.c[i];

				if (c->closed || c->state != ES_BOUND)
					continue;
				esme_fill(&e, c, now, &budget);
				if (o->enquire > 0 && now >= c->enquire_next) {
					gen_conn_send_empty(&c->io, SMPP_CMD_ENQUIRE_LINK,
							    gen_conn_next_seq(&c->io), 0);
					e.enq_sent++;
					c->enquire_next = now + (uint64_t)(o->enquire * 1e9);
				}
			}
			if (o->rate > 0)
				e.tokens -= (double)(before - budget);
		}
		for (i = 0; i < e.nc; i++) {
			struct esme_conn *c = &e.c[i];

			if (c->closed)
				continue;
			gen_conn_flush(&c->io);
			if (c->io.dead || (c->state == ES_DONE && c->io.wlen == 0))
				esme_close(&e, c);
			else
				gen_conn_poll_update(&c->io, e.epfd, c);
		}

		timeout = (o->rate > 0 && !e.sending_done) ? 1 : 10;
		n = epoll_wait(e.epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			break;
		now = gen_now_ns();
		for (int k = 0; k < n; k++) {
			struct esme_conn *c = evs[k].data.ptr;
			struct smpp_view v;

			if (c->closed)
				continue;
			if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				gen_conn_fill(&c->io);
				while (gen_conn_pop(&c->io, &v))
					esme_pdu(&e, c, v, now);
			}
			if (evs[k].events & EPOLLOUT)
				gen_conn_flush(&c->io);
			if (c->io.dead)
				esme_close(&e, c);
		}
	}
	esme_report(&e, gen_now_ns());
	rc = e.errors || e.answered != e.sent || (o->dlr && e.receipts < e.ok) ? 1 : 0;
out:
	for (i = 0; i < e.nc; i++) {
		if (!e.c[i].closed)
			close(e.c[i].io.fd);
		e.c[i].io.fd = -1;
		gen_conn_free(&e.c[i].io);
		free(e.c[i].slots);
	}
	free(e.c);
	if (e.epfd >= 0)
		close(e.epfd);
	if (e.rec)
		fclose(e.rec);
	gen_mix_free(&e.mix);
	return rc;
}
