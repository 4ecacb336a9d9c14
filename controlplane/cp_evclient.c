/*
 * cp_evclient.c — the dataplane's side of the event socket (cp_evclient.h).
 *
 * Spool file: a 32-byte header (magic "SFSPOOL1", instance id, base
 * sequence = everything at or below it was acknowledged, reserved) followed
 * by facts, each stored as a complete one-record batch (so each carries its
 * own CRC). A record torn by a crash in the middle of an append fails its
 * check on reload and is cut off with everything after it.
 * The unacknowledged facts are mirrored in memory (bounded by
 * spool_max_bytes), so resending never reads the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cp_evclient.h"

#define SPOOL_MAGIC "SFSPOOL1"
#define SPOOL_HDR   32
#define OB_CAP	    (4 * CP_EV_BATCH_MAX)

struct fact_rec {
	uint64_t seq;
	uint32_t off, len; /* in sp */
};

struct cp_evclient {
	char sock_path[108];
	char spool_path[256];
	uint64_t spool_max;
	uint32_t workers, reconnect_ms;
	int fd, sf;
	uint64_t next_attempt_ms;
	/* spool mirror */
	uint8_t *sp;
	size_t sp_len, sp_cap;
	struct fact_rec *recs;
	size_t n_recs, cap_recs, first, next_send;
	bool dirty;
	/* output */
	uint8_t ob[OB_CAP];
	size_t ob_len, ob_off;
	uint8_t obuf[CP_EV_BATCH_MAX];
	struct cp_ev_batch obatch;
	/* input */
	uint8_t rb[2 * CP_EV_BATCH_MAX];
	size_t rb_len;
	struct cp_evclient_stats st;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int write_header(struct cp_evclient *c)
{
	uint8_t h[SPOOL_HDR] = {0};

	memcpy(h, SPOOL_MAGIC, 8);
	put64(h + 8, c->st.instance);
	put64(h + 16, c->st.acked_seq);
	return pwrite(c->sf, h, sizeof(h), 0) == (ssize_t)sizeof(h) ? 0 : -1;
}

static int sp_append(struct cp_evclient *c, const uint8_t *rec, uint32_t len, uint64_t seq)
{
	if (c->sp_len + len > c->sp_cap) {
		size_t nc = c->sp_cap ? c->sp_cap * 2 : 65536;
		while (nc < c->sp_len + len)
			nc *= 2;
		uint8_t *n = realloc(c->sp, nc);
		if (!n)
			return CP_ERR_NOMEM;
		c->sp = n;
		c->sp_cap = nc;
	}
	if (c->n_recs == c->cap_recs) {
		size_t nc = c->cap_recs ? c->cap_recs * 2 : 256;
		struct fact_rec *n = realloc(c->recs, nc * sizeof(*n));
		if (!n)
			return CP_ERR_NOMEM;
		c->recs = n;
		c->cap_recs = nc;
	}
	memcpy(c->sp + c->sp_len, rec, len);
	c->recs[c->n_recs++] = (struct fact_rec){seq, (uint32_t)c->sp_len, len};
	c->sp_len += len;
	c->st.spool_bytes += len;
	return CP_OK;
}

/* Load the spool file; cut off a torn tail. */
static int spool_load(struct cp_evclient *c)
{
	struct stat stt;
	uint8_t h[SPOOL_HDR];
	uint8_t *all;
	size_t off = SPOOL_HDR;

	if (fstat(c->sf, &stt))
		return CP_ERR_IO;
	if (stt.st_size < SPOOL_HDR || pread(c->sf, h, SPOOL_HDR, 0) != SPOOL_HDR ||
	    memcmp(h, SPOOL_MAGIC, 8) != 0) {
		/* new (or unusable) spool: a fresh instance */
		uint64_t inst = 0;
		if (getrandom(&inst, sizeof(inst), 0) != sizeof(inst))
			inst = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		c->st.instance = inst ? inst : 1;
		c->st.acked_seq = 0;
		if (ftruncate(c->sf, 0) || write_header(c) || fsync(c->sf))
			return CP_ERR_IO;
		c->st.next_seq = 1;
		return CP_OK;
	}
	c->st.instance = get64(h + 8);
	c->st.acked_seq = get64(h + 16);
	c->st.next_seq = c->st.acked_seq + 1;
	all = malloc((size_t)stt.st_size);
	if (!all)
		return CP_ERR_NOMEM;
	if (pread(c->sf, all, (size_t)stt.st_size, 0) != stt.st_size) {
		free(all);
		return CP_ERR_IO;
	}
	while (off < (size_t)stt.st_size) {
		uint32_t total;
		struct cp_ev_iter it;
		struct cp_event ev;
		if (cp_ev_batch_check(all + off, (size_t)stt.st_size - off, &total) != CP_OK)
			break;
		cp_ev_iter_init(&it, all + off, total);
		if (cp_ev_iter_next(&it, &ev) != CP_OK || !cp_ev_is_fact(ev.type))
			break;
		if (ev.seq > c->st.acked_seq) {
			if (sp_append(c, all + off, total, ev.seq)) {
				free(all);
				return CP_ERR_NOMEM;
			}
			if (ev.seq >= c->st.next_seq)
				c->st.next_seq = ev.seq + 1;
		}
		off += total;
	}
	free(all);
	if (off < (size_t)stt.st_size && ftruncate(c->sf, (off_t)off))
		return CP_ERR_IO;
	return CP_OK;
}

int cp_evclient_open(const struct cp_evclient_cfg *cfg, struct cp_evclient **out)
{
	struct cp_evclient *c;
	int rc;

	if (!cfg || !out || !cfg->socket_path || !cfg->spool_path ||
	    strlen(cfg->socket_path) >= sizeof(c->sock_path) ||
	    strlen(cfg->spool_path) >= sizeof(c->spool_path))
		return CP_ERR_INVAL;
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return CP_ERR_NOMEM;
	memcpy(c->sock_path, cfg->socket_path, strlen(cfg->socket_path) + 1);
	memcpy(c->spool_path, cfg->spool_path, strlen(cfg->spool_path) + 1);
	c->spool_max = cfg->spool_max_bytes ? cfg->spool_max_bytes : (uint64_t)64 << 20;
	c->workers = cfg->workers;
	c->reconnect_ms = cfg->reconnect_ms ? cfg->reconnect_ms : 500;
	c->fd = -1;
	cp_ev_batch_init(&c->obatch, c->obuf, sizeof(c->obuf));
	c->sf = open(c->spool_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->sf < 0) {
		free(c);
		return CP_ERR_IO;
	}
	rc = spool_load(c);
	if (rc) {
		cp_evclient_close(c);
		return rc;
	}
	*out = c;
	return CP_OK;
}

static void disconnect(struct cp_evclient *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	c->st.connected = false;
	c->st.disconnects++;
	c->ob_len = c->ob_off = 0;
	c->rb_len = 0;
	c->next_attempt_ms = mono_ms() + c->reconnect_ms;
}

/* Room left at the end of the output buffer (compacting first). */
static size_t ob_room(struct cp_evclient *c)
{
	if (c->ob_off && c->ob_off == c->ob_len) {
		c->ob_off = c->ob_len = 0;
	} else if (c->ob_off > OB_CAP / 2) {
		memmove(c->ob, c->ob + c->ob_off, c->ob_len - c->ob_off);
		c->ob_len -= c->ob_off;
		c->ob_off = 0;
	}
	return OB_CAP - c->ob_len;
}

static void try_connect(struct cp_evclient *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (c->fd >= 0 || mono_ms() < c->next_attempt_ms)
		return;
	c->next_attempt_ms = mono_ms() + c->reconnect_ms;
	memcpy(sa.sun_path, c->sock_path, strlen(c->sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->st.connected = true;
	c->st.connects++;
	c->ob_len = c->ob_off = 0;
	/* HELLO first, then every unacknowledged fact again */
	struct cp_ev_batch b;
	struct cp_event ev = {.type = CP_EV_HELLO};
	ev.u.hello.instance = c->st.instance;
	ev.u.hello.pid = (uint32_t)getpid();
	ev.u.hello.workers = c->workers;
	cp_ev_batch_init(&b, c->ob, CP_EV_HDR_LEN + CP_EV_REC_HDR_LEN + 16);
	cp_ev_batch_add(&b, &ev);
	c->ob_len = cp_ev_batch_finish(&b);
	c->next_send = c->first;
}

static void on_ack(struct cp_evclient *c, uint64_t seq)
{
	/* controld acknowledges its committed sequence right after HELLO: if
	 * the spool lost its tail (power cut before the sync), never reuse
	 * sequence numbers controld has already taken. */
	if (seq >= c->st.next_seq)
		c->st.next_seq = seq + 1;
	if (seq <= c->st.acked_seq)
		return;
	c->st.acked_seq = seq;
	while (c->first < c->n_recs && c->recs[c->first].seq <= seq) {
		c->st.spool_bytes -= c->recs[c->first].len;
		c->st.facts_acked++;
		c->first++;
	}
	if (c->next_send < c->first)
		c->next_send = c->first;
	if (c->first == c->n_recs) {
		/* all acknowledged: the file is just a header again */
		c->n_recs = c->first = c->next_send = 0;
		c->sp_len = 0;
		if (ftruncate(c->sf, SPOOL_HDR) == 0)
			write_header(c);
		return;
	}
	if (c->first >= 1024 && c->first * 2 >= c->n_recs) {
		/* compact memory and rewrite the file with what is left */
		uint32_t cut = c->recs[c->first].off;
		memmove(c->sp, c->sp + cut, c->sp_len - cut);
		c->sp_len -= cut;
		for (size_t i = c->first; i < c->n_recs; i++) {
			c->recs[i - c->first] = c->recs[i];
			c->recs[i - c->first].off -= cut;
		}
		c->n_recs -= c->first;
		c->next_send -= c->first;
		c->first = 0;
		if (ftruncate(c->sf, SPOOL_HDR) == 0 && write_header(c) == 0 &&
		    pwrite(c->sf, c->sp, c->sp_len, SPOOL_HDR) == (ssize_t)c->sp_len)
			c->dirty = true;
	}
}

int cp_evclient_flush(struct cp_evclient *c)
{
	if (c->obatch.count) {
		uint32_t len = cp_ev_batch_finish(&c->obatch);
		if (c->fd >= 0 && ob_room(c) >= len) {
			memcpy(c->ob + c->ob_len, c->obuf, len);
			c->ob_len += len;
			c->st.obs_sent += c->obatch.count;
		} else {
			c->st.obs_dropped += c->obatch.count;
		}
		cp_ev_batch_init(&c->obatch, c->obuf, sizeof(c->obuf));
	}
	if (c->dirty) {
		/* Facts survive a dataplane crash once written; this makes them
		 * survive a power cut too, once per flush rather than per fact. */
		fdatasync(c->sf);
		c->dirty = false;
	}
	if (c->fd < 0)
		return CP_OK;
	while (c->next_send < c->n_recs && ob_room(c) >= c->recs[c->next_send].len) {
		const struct fact_rec *r = &c->recs[c->next_send++];
		memcpy(c->ob + c->ob_len, c->sp + r->off, r->len);
		c->ob_len += r->len;
	}
	while (c->ob_off < c->ob_len) {
		ssize_t n = send(c->fd, c->ob + c->ob_off, c->ob_len - c->ob_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0) {
			disconnect(c);
			break;
		}
		c->ob_off += (size_t)n;
	}
	return CP_OK;
}

int cp_evclient_poll(struct cp_evclient *c, uint64_t *generation)
{
	try_connect(c);
	while (c->fd >= 0) {
		ssize_t n = recv(c->fd, c->rb + c->rb_len, sizeof(c->rb) - c->rb_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0) {
			disconnect(c);
			break;
		}
		c->rb_len += (size_t)n;
		size_t off = 0;
		for (;;) {
			uint32_t total;
			int rc = cp_ev_batch_check(c->rb + off, c->rb_len - off, &total);
			if (rc == CP_AGAIN)
				break;
			if (rc) {
				disconnect(c);
				break;
			}
			struct cp_ev_iter it;
			struct cp_event ev;
			cp_ev_iter_init(&it, c->rb + off, total);
			while (cp_ev_iter_next(&it, &ev) == CP_OK) {
				if (ev.type == CP_EV_ACK)
					on_ack(c, ev.seq);
				else if (ev.type == CP_EV_GENERATION)
					c->st.generation = ev.seq;
			}
			off += total;
		}
		if (c->fd < 0)
			break;
		memmove(c->rb, c->rb + off, c->rb_len - off);
		c->rb_len -= off;
	}
	if (generation)
		*generation = c->st.generation;
	return cp_evclient_flush(c);
}

int cp_evclient_observe(struct cp_evclient *c, const struct cp_event *ev)
{
	int rc;

	if (ev->type != CP_EV_OBSERVATION && ev->type != CP_EV_STATS &&
	    ev->type != CP_EV_STATS_EXT)
		return CP_ERR_INVAL;
	if (c->fd < 0) {
		c->st.obs_dropped++;
		return CP_OK;
	}
	rc = cp_ev_batch_add(&c->obatch, ev);
	if (rc == CP_ERR_TOOBIG) {
		cp_evclient_flush(c);
		rc = cp_ev_batch_add(&c->obatch, ev);
	}
	return rc;
}

int cp_evclient_fact(struct cp_evclient *c, struct cp_event *ev)
{
	uint8_t buf[CP_EV_HDR_LEN + CP_EV_REC_HDR_LEN + 128 + CP_EV_TEXT_MAX];
	struct cp_ev_batch b;
	uint32_t len;
	int rc;

	if (!cp_ev_is_fact(ev->type))
		return CP_ERR_INVAL;
	ev->seq = c->st.next_seq;
	cp_ev_batch_init(&b, buf, sizeof(buf));
	rc = cp_ev_batch_add(&b, ev);
	if (rc)
		return rc == CP_ERR_TOOBIG ? CP_ERR_INVAL : rc;
	len = cp_ev_batch_finish(&b);
	if (c->st.spool_bytes + len > c->spool_max) {
		c->st.facts_refused++;
		return CP_ERR_TOOBIG;
	}
	if (pwrite(c->sf, buf, len, lseek(c->sf, 0, SEEK_END)) != (ssize_t)len)
		return CP_ERR_IO;
	rc = sp_append(c, buf, len, ev->seq);
	if (rc)
		return rc;
	c->st.next_seq++;
	c->st.facts_spooled++;
	c->dirty = true;
	return CP_OK;
}

int cp_evclient_fd(const struct cp_evclient *c)
{
	return c->fd;
}

int cp_evclient_timeout_ms(const struct cp_evclient *c)
{
	uint64_t now = mono_ms();

	if (c->fd >= 0)
		return c->ob_off < c->ob_len || c->next_send < c->n_recs ? 1 : -1;
	return c->next_attempt_ms > now ? (int)(c->next_attempt_ms - now) : 0;
}

void cp_evclient_stats(const struct cp_evclient *c, struct cp_evclient_stats *st)
{
	*st = c->st;
}

void cp_evclient_close(struct cp_evclient *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		cp_evclient_flush(c);
	if (c->fd >= 0)
		close(c->fd);
	if (c->sf >= 0) {
		fdatasync(c->sf);
		close(c->sf);
	}
	free(c->sp);
	free(c->recs);
	free(c);
}
