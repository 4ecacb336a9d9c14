/*
 * gen_smsc.c — the SMSC role: listen, answer binds (optionally checking the
 * password), answer submit_sm / data_sm with message ids (every Nth one
 * refused when asked), send delivery receipts when the submit asks for one,
 * send MO messages (deliver_sm from a mix file) to every receiver or
 * transceiver session, answer enquire_link and unbind, report.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "gen.h"

#define SMSC_SLOTS 65536u

struct slot {
	uint32_t seq;
	uint64_t t;
};

struct sess {
	struct gen_conn io;
	struct sess *next;
	uint32_t bind_cmd; /* 0 until bound */
	bool unbinding, done, closed;
	uint8_t system_id[17];
	uint32_t system_id_len;
	uint64_t mo_sent;
	const struct gen_msg *mo_msg;
	unsigned mo_part;
	uint16_t mo_ref;
	uint32_t outstanding;
	struct slot *slots;
	uint64_t t_unbind;
};

struct smsc {
	const struct gen_opts *o;
	struct gen_mix mo;
	bool has_mo;
	int epfd, lfd;
	FILE *rec;
	struct sess *sessions;
	uint64_t t0, t_first, t_last, t_stop;
	uint64_t n_sessions, binds, binds_refused, submits, data_sm, msgid;
	uint64_t receipts, receipts_undeliverable, mo_sent, dlv_answered, enq_answered;
	uint64_t decode_errors, untracked, unexpected;
	unsigned mo_cursor;
	bool stopping;
	int errors;
	struct gen_status_count st, dlv_st;
	struct gen_hist lat;
};

static int smsc_listen(const struct gen_opts *o, char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	int fd = -1, one = 1, last = 0;

	res = gen_resolve(o->addr, "0.0.0.0", "[HOST:]PORT", AI_PASSIVE, err, errlen);
	if (!res)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "listen %s: %s", o->addr, strerror(last));
	return fd;
}

static int write_port_file(const char *path, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char tmp[4096];
	unsigned port;
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
	/* Written whole, then renamed: a reader never sees a partial number. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static bool can_receive(uint32_t bind_cmd)
{
	return bind_cmd == SMPP_CMD_BIND_TRANSCEIVER || bind_cmd == SMPP_CMD_BIND_RECEIVER;
}

/* Note a deliver_sm we send, for its latency; untracked when the slot is busy. */
static void track(struct smsc *s, struct sess *x, uint32_t seq, uint64_t now)
{
	struct slot *sl = &x->slots[seq & (SMSC_SLOTS - 1)];

	if (sl->t) {
		s->untracked++;
		return;
	}
	sl->seq = seq;
	sl->t = now;
	x->outstanding++;
}

static void send_receipt(struct smsc *s, struct sess *x, const struct smpp_pdu *sub,
			 const char *msgid, uint64_t now)
{
	char text[200], date[64];
	uint8_t tlv[96];
	size_t tl = 0, n;
	struct smpp_pdu d;
	time_t t = time(NULL);
	struct tm tm;
	uint8_t state = 2; /* DELIVERED */
	uint8_t *p;
	int len;

	gmtime_r(&t, &tm);
	/* SMPP 3.4 Appendix B: YYMMDDhhmm */
	snprintf(date, sizeof(date), "%02d%02d%02d%02d%02d", tm.tm_year % 100, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min);
	len = snprintf(
	    text, sizeof(text),
	    "id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:", msgid,
	    date, date);
	smpp_tlv_put(tlv, sizeof(tlv), &tl, SMPP_TLV_RECEIPTED_MESSAGE_ID, msgid,
		     (uint16_t)(strlen(msgid) + 1));
	smpp_tlv_put(tlv, sizeof(tlv), &tl, SMPP_TLV_MESSAGE_STATE, &state, 1);
	memset(&d, 0, sizeof(d));
	d.hdr.command_id = SMPP_CMD_DELIVER_SM;
	d.hdr.sequence_number = gen_conn_next_seq(&x->io);
	d.source_addr = sub->destination_addr;
	d.source_addr_ton = sub->dest_addr_ton;
	d.source_addr_npi = sub->dest_addr_npi;
	d.destination_addr = sub->source_addr;
	d.dest_addr_ton = sub->source_addr_ton;
	d.dest_addr_npi = sub->source_addr_npi;
	d.esm_class = 0x04;
	d.short_message = (struct smpp_view){(const uint8_t *)text, (uint32_t)len};
	d.tlvs = (struct smpp_view){tlv, (uint32_t)tl};
	p = gen_conn_reserve(&x->io, 512);
	if (!p || smpp_pdu_encode(&d, p, 512, &n) != SMPP_OK)
		return;
	gen_conn_commit(&x->io, n);
	track(s, x, d.hdr.sequence_number, now);
	s->receipts++;
}

static void smsc_submit(struct smsc *s, struct sess *x, struct smpp_view v,
			const struct smpp_hdr *h, uint64_t now)
{
	struct smpp_pdu pdu;
	uint32_t status = SMPP_ESME_ROK;
	char msgid[24];
	uint8_t *p;
	size_t n;
	int rc;

	rc = smpp_pdu_decode(v.p, v.len, NULL, &pdu);
	if (rc != SMPP_OK) {
		s->decode_errors++;
		status = rc == SMPP_ETRUNC || rc == SMPP_ESMLEN ? SMPP_ESME_RINVMSGLEN
								: SMPP_ESME_RSYSERR;
	} else if (!x->bind_cmd || x->bind_cmd == SMPP_CMD_BIND_RECEIVER) {
		status = SMPP_ESME_RINVBNDSTS;
	}
	if (h->command_id == SMPP_CMD_DATA_SM)
		s->data_sm++;
	else
		s->submits++;
	if (s->submits + s->data_sm == 1)
		s->t_first = now;
	s->t_last = now;
	if (status == SMPP_ESME_ROK && s->o->reject_every &&
	    (s->submits + s->data_sm) % s->o->reject_every == 0)
		status = s->o->reject_status;
	if (rc == SMPP_OK && s->rec)
		gen_record(s->rec, h->command_id == SMPP_CMD_DATA_SM ? "data_sm" : "submit_sm",
			   (struct smpp_view){x->system_id, x->system_id_len}, &pdu);
	snprintf(msgid, sizeof(msgid), "%" PRIx64, ++s->msgid);
	p = gen_conn_reserve(&x->io, SMPP_RESP_MAX);
	if (!p)
		return;
	if (smpp_encode_msgid_resp(
		h->command_id, h->sequence_number, status,
		(struct smpp_view){(const uint8_t *)msgid, (uint32_t)strlen(msgid)},
		(struct smpp_view){NULL, 0}, p, SMPP_RESP_MAX, &n) != SMPP_OK)
		return;
	gen_conn_commit(&x->io, n);
	gen_status_add(&s->st, status);
	if (status == SMPP_ESME_ROK && (pdu.registered_delivery & 0x03) && !s->o->no_receipts) {
		if (can_receive(x->bind_cmd))
			send_receipt(s, x, &pdu, msgid, now);
		else
			s->receipts_undeliverable++;
	}
}

static void smsc_bind(struct smsc *s, struct sess *x, struct smpp_view v, const struct smpp_hdr *h)
{
	struct smpp_pdu pdu;
	uint32_t status = s->o->bind_status;
	const char *sid = s->o->system_id;
	struct smpp_bind_resp_opts bo = {.sc_interface_version = SMPP_VERSION_34};
	uint8_t *p;
	size_t n;

	if (smpp_pdu_decode(v.p, v.len, NULL, &pdu) != SMPP_OK)
		status = SMPP_ESME_RBINDFAIL;
	else if (x->bind_cmd)
		status = SMPP_ESME_RALYBND;
	else if (s->o->password && (pdu.password.len != strlen(s->o->password) ||
				    memcmp(pdu.password.p, s->o->password, pdu.password.len) != 0))
		status = SMPP_ESME_RINVPASWD;
	if (status == SMPP_ESME_ROK) {
		x->bind_cmd = h->command_id;
		x->system_id_len = pdu.system_id.len < 16 ? pdu.system_id.len : 16;
		memcpy(x->system_id, pdu.system_id.p, x->system_id_len);
		s->binds++;
	} else {
		s->binds_refused++;
	}
	p = gen_conn_reserve(&x->io, SMPP_RESP_MAX);
	if (p &&
	    smpp_encode_bind_resp(h->command_id, h->sequence_number, status,
				  (struct smpp_view){(const uint8_t *)sid, (uint32_t)strlen(sid)},
				  &bo, p, SMPP_RESP_MAX, &n) == SMPP_OK)
		gen_conn_commit(&x->io, n);
}

static void smsc_pdu(struct smsc *s, struct sess *x, struct smpp_view v, uint64_t now)
{
	struct smpp_hdr h;
	struct slot *sl;

	if (smpp_hdr_peek(v.p, v.len, 0, &h) != SMPP_OK)
		return;
	switch (h.command_id) {
	case SMPP_CMD_BIND_TRANSMITTER:
	case SMPP_CMD_BIND_TRANSCEIVER:
	case SMPP_CMD_BIND_RECEIVER:
		smsc_bind(s, x, v, &h);
		break;
	case SMPP_CMD_SUBMIT_SM:
	case SMPP_CMD_DATA_SM:
		smsc_submit(s, x, v, &h, now);
		break;
	case SMPP_CMD_DELIVER_SM_RESP:
	case SMPP_CMD_GENERIC_NACK:
		sl = &x->slots[h.sequence_number & (SMSC_SLOTS - 1)];
		if (sl->t && sl->seq == h.sequence_number) {
			gen_hist_add(&s->lat, now - sl->t);
			sl->t = 0;
			x->outstanding--;
		} else if (h.command_id == SMPP_CMD_GENERIC_NACK) {
			s->unexpected++;
			break;
		}
		s->dlv_answered++;
		gen_status_add(&s->dlv_st, h.command_status);
		break;
	case SMPP_CMD_ENQUIRE_LINK:
		gen_conn_send_empty(&x->io, SMPP_CMD_ENQUIRE_LINK_RESP, h.sequence_number, 0);
		s->enq_answered++;
		break;
	case SMPP_CMD_ENQUIRE_LINK_RESP:
		break;
	case SMPP_CMD_UNBIND:
		gen_conn_send_empty(&x->io, SMPP_CMD_UNBIND_RESP, h.sequence_number, 0);
		x->done = true;
		break;
	case SMPP_CMD_UNBIND_RESP:
		x->done = true;
		break;
	default:
		if (!(h.command_id & SMPP_CMD_RESP_BIT))
			gen_conn_send_empty(&x->io, SMPP_CMD_GENERIC_NACK, h.sequence_number,
					    SMPP_ESME_RINVCMDID);
		break;
	}
}

/* Queue MO deliver_sm on a receiving session while its window allows. */
static void smsc_mo(struct smsc *s, struct sess *x, uint64_t now)
{
	uint64_t total = s->o->mo_count ? s->o->mo_count : s->mo.n;

	while (x->outstanding < s->o->window && (x->mo_msg || x->mo_sent < total)) {
		const struct gen_part *part;
		uint32_t seq;

		if (!x->mo_msg) {
			x->mo_msg = &s->mo.msgs[x->mo_sent % s->mo.n];
			x->mo_part = 0;
			x->mo_ref = (uint16_t)(x->mo_sent + 1);
			x->mo_sent++;
			s->mo_sent++;
		}
		part = &x->mo_msg->parts[x->mo_part];
		seq = gen_conn_peek_seq(&x->io);
		if (x->slots[seq & (SMSC_SLOTS - 1)].t)
			return;
		if (!gen_conn_send_part(&x->io, part, x->mo_ref))
			return;
		track(s, x, seq, now);
		if (++x->mo_part == x->mo_msg->n_parts)
			x->mo_msg = NULL;
	}
}

static void smsc_report(struct smsc *s, uint64_t t_end)
{
	const struct gen_opts *o = s->o;
	uint64_t got = s->submits + s->data_sm;
	double span = s->t_last > s->t_first ? (double)(s->t_last - s->t_first) / 1e9 : 0;
	double rate = span > 0 ? (double)got / span : 0;
	double elapsed = (double)(t_end - s->t0) / 1e9;

	if (o->json) {
		json_t *j = json_pack(
		    "{s:s,s:s,s:f,s:I,s:{s:I,s:I},"
		    "s:{s:I,s:I,s:f,s:o},"
		    "s:{s:I,s:I,s:I,s:I,s:o},s:o,s:{s:I},"
		    "s:{s:I,s:I,s:I},s:i}",
		    "role", "smsc", "listen", o->addr, "elapsed_s", elapsed, "sessions",
		    (json_int_t)s->n_sessions, "binds", "accepted", (json_int_t)s->binds, "refused",
		    (json_int_t)s->binds_refused, "submit_sm", "received", (json_int_t)s->submits,
		    "data_sm", (json_int_t)s->data_sm, "per_second", rate, "status",
		    gen_status_json(&s->st), "deliver_sm", "receipts", (json_int_t)s->receipts,
		    "receipts_undeliverable", (json_int_t)s->receipts_undeliverable, "mo",
		    (json_int_t)s->mo_sent, "answered", (json_int_t)s->dlv_answered, "status",
		    gen_status_json(&s->dlv_st), "latency_us", gen_hist_json(&s->lat),
		    "enquire_link", "answered", (json_int_t)s->enq_answered, "anomalies",
		    "decode_errors", (json_int_t)s->decode_errors, "untracked",
		    (json_int_t)s->untracked, "unexpected_responses", (json_int_t)s->unexpected,
		    "errors", s->errors);

		json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(j);
		return;
	}
	if (o->quiet)
		return;
	printf("smsfw-gen smsc on %s: %" PRIu64 " session(s), %" PRIu64
	       " bind(s) accepted, %" PRIu64 " refused, %.3f s\n",
	       o->addr, s->n_sessions, s->binds, s->binds_refused, elapsed);
	printf("  %-12s %" PRIu64 " submit_sm, %" PRIu64 " data_sm\n", "received", s->submits,
	       s->data_sm);
	printf("  %-12s %.0f submit_sm/s (first to last received)\n", "rate", rate);
	gen_status_print(stdout, "answered", &s->st);
	printf("  %-12s %" PRIu64 " receipts (%" PRIu64 " undeliverable), %" PRIu64 " MO, %" PRIu64
	       " answered\n",
	       "deliver_sm", s->receipts, s->receipts_undeliverable, s->mo_sent, s->dlv_answered);
	gen_status_print(stdout, "resp status", &s->dlv_st);
	gen_hist_print(stdout, "latency", &s->lat);
	if (s->decode_errors || s->untracked || s->unexpected)
		printf("  %-12s %" PRIu64 " undecodable, %" PRIu64 " untracked, %" PRIu64
		       " unexpected responses\n",
		       "anomalies", s->decode_errors, s->untracked, s->unexpected);
}

static void sess_close(struct smsc *s, struct sess *x)
{
	if (x->closed)
		return;
	gen_conn_close(&x->io, s->epfd);
	x->closed = true;
}

static void smsc_accept(struct smsc *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct sess *x;
		struct epoll_event ev = {.events = EPOLLIN};

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		x = calloc(1, sizeof(*x));
		if (!x || gen_conn_init(&x->io, fd) < 0 ||
		    !(x->slots = calloc(SMSC_SLOTS, sizeof(*x->slots)))) {
			if (x) {
				gen_conn_free(&x->io);
				free(x);
			} else {
				close(fd);
			}
			continue;
		}
		ev.data.ptr = x;
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
		x->next = s->sessions;
		s->sessions = x;
		s->n_sessions++;
	}
}

int gen_smsc_run(const struct gen_opts *o)
{
	struct smsc s;
	struct gen_mix_opts mo = {SMPP_CMD_DELIVER_SM, 0};
	char err[512];
	struct epoll_event ev = {.events = EPOLLIN}, evs[64];
	int rc = 1;
	bool served = false;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.epfd = s.lfd = -1;
	if (o->mo_file) {
		if (gen_mix_load(o->mo_file, &mo, &s.mo, err, sizeof(err)) < 0) {
			fprintf(stderr, "smsfw-gen: %s\n", err);
			return 2;
		}
		s.has_mo = true;
	}
	if (o->record) {
		s.rec = fopen(o->record, "w");
		if (!s.rec) {
			fprintf(stderr, "smsfw-gen: %s: %s\n", o->record, strerror(errno));
			goto out;
		}
	}
	s.lfd = smsc_listen(o, err, sizeof(err));
	if (s.lfd < 0) {
		fprintf(stderr, "smsfw-gen: %s\n", err);
		goto out;
	}
	if (o->port_file && write_port_file(o->port_file, s.lfd) < 0) {
		fprintf(stderr, "smsfw-gen: %s: %s\n", o->port_file, strerror(errno));
		goto out;
	}
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s.epfd < 0 || epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.lfd, &ev) < 0)
		goto out;
	s.t0 = gen_now_ns();

	for (;;) {
		uint64_t now = gen_now_ns();
		struct sess **pp, *x;
		int n;

		if (!s.stopping &&
		    (gen_stop || (o->duration > 0 && now - s.t0 >= (uint64_t)(o->duration * 1e9)) ||
		     (o->limit && s.submits + s.data_sm >= o->limit))) {
			s.stopping = true;
			s.t_stop = now;
			for (x = s.sessions; x; x = x->next)
				if (!x->closed && !x->done && x->bind_cmd && !x->unbinding) {
					gen_conn_send_empty(&x->io, SMPP_CMD_UNBIND,
							    gen_conn_next_seq(&x->io), 0);
					x->unbinding = true;
				} else if (!x->bind_cmd) {
					x->done = true;
				}
			if (s.lfd >= 0) {
				epoll_ctl(s.epfd, EPOLL_CTL_DEL, s.lfd, NULL);
				close(s.lfd);
				s.lfd = -1;
			}
		}
		for (pp = &s.sessions; (x = *pp);) {
			if (!x->closed && x->bind_cmd && can_receive(x->bind_cmd) && s.has_mo &&
			    !x->done && !x->unbinding)
				smsc_mo(&s, x, now);
			if (!x->closed) {
				gen_conn_flush(&x->io);
				if (s.stopping && now - s.t_stop > 2000000000u)
					x->done = true;
				if (x->io.dead || (x->done && x->io.wlen == 0))
					sess_close(&s, x);
				else
					gen_conn_poll_update(&x->io, s.epfd, x);
			}
			if (x->closed) {
				if (x->bind_cmd)
					served = true;
				*pp = x->next;
				gen_conn_free(&x->io);
				free(x->slots);
				free(x);
				continue;
			}
			pp = &x->next;
		}
		if ((s.stopping || (o->once && served)) && !s.sessions)
			break;
		if (o->once && served && !s.stopping) {
			s.stopping = true;
			s.t_stop = now;
			continue;
		}

		n = epoll_wait(s.epfd, evs, 64, 10);
		if (n < 0 && errno != EINTR)
			break;
		now = gen_now_ns();
		for (int k = 0; k < n; k++) {
			struct smpp_view v;

			x = evs[k].data.ptr;
			if (!x) {
				if (s.lfd >= 0)
					smsc_accept(&s);
				continue;
			}
			if (x->closed)
				continue;
			if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				gen_conn_fill(&x->io);
				while (gen_conn_pop(&x->io, &v))
					smsc_pdu(&s, x, v, now);
			}
			if (evs[k].events & EPOLLOUT)
				gen_conn_flush(&x->io);
		}
	}
	smsc_report(&s, gen_now_ns());
	rc = s.errors ? 1 : 0;
out:
	while (s.sessions) {
		struct sess *x = s.sessions;

		s.sessions = x->next;
		gen_conn_free(&x->io);
		free(x->slots);
		free(x);
	}
	if (s.lfd >= 0)
		close(s.lfd);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.rec)
		fclose(s.rec);
	if (s.has_mo)
		gen_mix_free(&s.mo);
	return rc;
}
