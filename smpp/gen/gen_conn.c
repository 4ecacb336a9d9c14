/*
 * gen_conn.c — one SMPP connection: non-blocking socket, a framer over a
 * bounded read buffer, a growable write buffer; address parsing, the clock,
 * and the record file.
 */
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

volatile sig_atomic_t gen_stop;

uint64_t gen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int gen_conn_init(struct gen_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->rbuf = malloc(GEN_RBUF);
	c->wcap = 1u << 16;
	c->wbuf = malloc(c->wcap);
	if (!c->rbuf || !c->wbuf) {
		free(c->rbuf);
		free(c->wbuf);
		return -1;
	}
	smpp_framer_init(&c->fr, c->rbuf, GEN_RBUF, 0);
	return 0;
}

void gen_conn_free(struct gen_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->rbuf);
	free(c->wbuf);
	c->rbuf = c->wbuf = NULL;
}

uint8_t *gen_conn_reserve(struct gen_conn *c, size_t n)
{
	if (c->wlen + n > c->wcap) {
		size_t cap = c->wcap;
		uint8_t *b;

		while (cap < c->wlen + n)
			cap *= 2;
		b = realloc(c->wbuf, cap);
		if (!b)
			return NULL;
		c->wbuf = b;
		c->wcap = cap;
	}
	return c->wbuf + c->wlen;
}

int gen_conn_flush(struct gen_conn *c)
{
	size_t off = 0;

	while (off < c->wlen) {
		ssize_t n = write(c->fd, c->wbuf + off, c->wlen - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		c->dead = true;
		return -1;
	}
	if (off > 0) {
		memmove(c->wbuf, c->wbuf + off, c->wlen - off);
		c->wlen -= off;
	}
	return 0;
}

int gen_conn_fill(struct gen_conn *c)
{
	uint8_t buf[1u << 16];
	ssize_t n;
	size_t taken;

	if (smpp_framer_pending(&c->fr) + sizeof(buf) > GEN_RBUF)
		return 0; /* pop first */
	n = read(c->fd, buf, sizeof(buf));
	if (n == 0) {
		c->eof = true;
		c->dead = true;
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		c->dead = true;
		return -1;
	}
	taken = smpp_framer_push(&c->fr, buf, (size_t)n);
	if (taken != (size_t)n) {
		/* Only after a framing error: the stream is not SMPP any more. */
		c->dead = true;
		return -1;
	}
	return (int)n;
}

bool gen_conn_pop(struct gen_conn *c, struct smpp_view *v)
{
	int r = smpp_framer_pop(&c->fr, v);

	if (r == SMPP_OK)
		return true;
	if (r != SMPP_AGAIN) {
		fprintf(stderr, "smsfw-gen: framing error: %s\n", smpp_strerror(r));
		c->dead = true;
	}
	return false;
}

void gen_conn_close(struct gen_conn *c, int epfd)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

bool gen_conn_send_part(struct gen_conn *c, const struct gen_part *part, uint16_t ref)
{
	uint8_t *p = gen_conn_reserve(c, part->len);

	if (!p)
		return false;
	gen_part_emit(part, gen_conn_next_seq(c), ref, p);
	gen_conn_commit(c, part->len);
	return true;
}

int gen_conn_send_empty(struct gen_conn *c, uint32_t cmd, uint32_t seq, uint32_t status)
{
	uint8_t *p = gen_conn_reserve(c, SMPP_HDR_LEN);
	size_t n;

	if (!p || smpp_encode_empty(cmd, seq, status, p, SMPP_HDR_LEN, &n) != SMPP_OK)
		return -1;
	gen_conn_commit(c, n);
	return 0;
}

void gen_conn_poll_update(struct gen_conn *c, int epfd, void *ptr)
{
	bool want = c->wlen > 0;
	struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = ptr};

	if (want == c->pollout || c->fd < 0)
		return;
	c->pollout = want;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

int gen_parse_addr(const char *s, const char *defhost, char *host, size_t hostlen, char *port,
		   size_t portlen)
{
	const char *colon;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= hostlen)
			return -1;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(host, hostlen, "%s", defhost);
			colon = s - 1;
		} else {
			if ((size_t)(colon - s) >= hostlen)
				return -1;
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = '\0';
			if (!host[0])
				snprintf(host, hostlen, "%s", defhost);
		}
	}
	if (!colon[1] || strlen(colon + 1) >= portlen)
		return -1;
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

static void put_field(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (p[i]) {
		case '\t':
			fputs("\\t", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		default:
			fputc(p[i] < 0x20 ? '?' : p[i], f);
			break;
		}
	}
}

void gen_record(FILE *f, const char *kind, struct smpp_view system_id, const struct smpp_pdu *pdu)
{
	uint8_t text[SMPP_TEXT_UTF8_MAX(SMPP_DEFAULT_MAX_PDU)];
	struct smpp_text_info info;
	struct smpp_concat cc;
	int rc;

	fprintf(f, "%s\t", kind);
	if (system_id.len)
		put_field(f, system_id.p, system_id.len);
	else
		fputc('-', f);
	fputc('\t', f);
	put_field(f, pdu->source_addr.p, pdu->source_addr.len);
	fputc('\t', f);
	put_field(f, pdu->destination_addr.p, pdu->destination_addr.len);
	fprintf(f, "\t%u\t", pdu->data_coding);
	if (smpp_pdu_concat(pdu, &cc) == SMPP_OK && cc.present)
		fprintf(f, "%u:%u/%u", cc.ref, cc.seq, cc.total);
	else
		fputc('-', f);
	fputc('\t', f);
	rc = smpp_pdu_text(pdu, 0, text, sizeof(text), &info);
	if (rc == SMPP_OK || rc == SMPP_ENOSPACE)
		put_field(f, text, info.out_len);
	else
		fprintf(f, "<%s>", smpp_strerror(rc));
	fputc('\n', f);
}

struct addrinfo *gen_resolve(const char *addr, const char *defhost, const char *form, int flags,
			     char *err, size_t errlen)
{
	char host[256], port[16];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = flags}, *res;
	int rc;

	if (gen_parse_addr(addr, defhost, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "bad address '%s' (%s)", addr, form);
		return NULL;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
		return NULL;
	}
	return res;
}
