/*
 * cp_export.c — events out for SIEM pipelines (see cp_export.h).
 *
 * One field list per notice (notice_fields) feeds both encoders, so the
 * syslog structured data and the JSON keys always carry the same facts.
 * Customer ids, sender ids and actor names may come from the wire or from
 * an operator: every string is made valid UTF-8 without control characters
 * before either encoder sees it, and the syslog encoder escapes '"', '\'
 * and ']' in SD-PARAM values as RFC 5424 section 6.3.3 requires.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cp_export.h"

#define SYSLOG_MAX  4096	/* bytes of one syslog message */
#define SOCK_BUF    (256 * 1024) /* JSON lines waiting for a slow socket reader */
#define FIELDS_MAX  16
#define RETRY_MS    1000
#define SL_QUEUE    8192 /* syslog messages waiting for a full receive queue */

enum dest { D_OFF, D_UNIX_DGRAM, D_UDP, D_FILE, D_UNIX_STREAM };

struct cp_export {
	/* syslog */
	enum dest sl_kind;
	int sl_fd;
	int facility;
	char sl_path[108];
	struct sockaddr_storage sl_addr;
	socklen_t sl_addrlen;
	uint64_t sl_retry_ms;
	/* A Unix datagram receiver queues only a few messages (max_dgram_qlen):
	 * a burst waits here, in order, and is sent as the receiver drains. */
	struct {
		char *p;
		size_t len;
	} q[SL_QUEUE];
	unsigned q_head, q_n;
	/* JSON */
	enum dest js_kind;
	int js_fd;
	char js_path[256];
	uint8_t *js_buf;
	size_t js_len;
	uint64_t js_retry_ms;
	/* common */
	unsigned kinds; /* bit (1 << enum cp_notice_kind) */
	char host[256];
	struct cp_export_stats st;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *cp_notice_kind_name(unsigned kind)
{
	static const char *const names[] = {"unknown",	 "standing", "violation", "complaint",
					    "optout",	 "optin",    "rules"};
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

/* ------------------------------------------------------------------------- */
/* Text hygiene                                                              */
/* ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (NUL-terminated), 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char b = p[0];

	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		return (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (b >= 0xE0 && b <= 0xEF) {
		unsigned char lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (b >= 0xF0 && b <= 0xF4) {
		unsigned char lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
			       (p[3] & 0xC0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

/* Copy @p in as valid UTF-8 without control characters: an invalid byte
 * or a control character becomes '?'. Never splits a sequence. */
static void clean(const char *in, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F))) {
			if (o + 1 >= cap)
				break;
			out[o++] = '?';
			p++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = 0;
}

/* ------------------------------------------------------------------------- */
/* One description of a notice                                               */
/* ------------------------------------------------------------------------- */

enum kv_type { KV_STR, KV_INT, KV_BOOL };

struct kv {
	const char *k;
	enum kv_type t;
	const char *s;
	uint64_t i;
};

static const char *src_name(unsigned s)
{
	switch (s) {
	case CP_SRC_DATAPLANE:
		return "dataplane";
	case CP_SRC_OPERATOR:
		return "operator";
	case CP_SRC_POLICY:
		return "policy";
	default:
		return "unknown";
	}
}

static const char *verdict_name(unsigned v)
{
	static const char *const n[] = {"pass", "block", "monitor", "throttle"};
	return v < 4 ? n[v] : "unknown";
}

#define S(key, val) (f[k++] = (struct kv){key, KV_STR, val, 0})
#define I(key, val) (f[k++] = (struct kv){key, KV_INT, NULL, (uint64_t)(val)})
#define B(key, val) (f[k++] = (struct kv){key, KV_BOOL, NULL, (val) ? 1u : 0u})

/* The facts of @p n as key/value pairs (strings point into @p n). */
static size_t notice_fields(const struct cp_notice *n, struct kv f[FIELDS_MAX])
{
	size_t k = 0;

	switch (n->kind) {
	case CP_NOTICE_STANDING:
		I("id", n->id);
		S("customer", n->customer);
		S("from", cp_standing_name(n->from));
		S("to", cp_standing_name(n->to));
		S("source", src_name(n->source));
		B("pending_review", n->pending);
		if (n->category)
			S("category", cp_category_name(n->category));
		if (n->n_facts) {
			I("facts", n->n_facts);
			I("first_violation", n->first_fact);
			I("last_violation", n->last_fact);
		}
		S("actor", n->actor);
		S("reason", n->reason);
		break;
	case CP_NOTICE_VIOLATION:
		I("id", n->id);
		S("customer", n->customer);
		S("category", cp_category_name(n->category));
		I("rule", n->rule_id);
		S("source", src_name(n->source));
		S("verdict", verdict_name(n->verdict));
		B("exempt", n->exempt);
		if (n->message_id)
			I("message_id", n->message_id);
		if (n->sender[0])
			S("sender", n->sender);
		if (n->subscriber[0])
			S("destination", n->subscriber);
		break;
	case CP_NOTICE_COMPLAINT:
		I("id", n->id);
		S("customer", n->customer);
		S("msisdn", n->subscriber);
		S("source", n->actor);
		if (n->message_id)
			I("message_id", n->message_id);
		break;
	case CP_NOTICE_OPTOUT:
	case CP_NOTICE_OPTIN:
		S("customer", n->customer);
		S("subscriber", n->subscriber);
		if (n->sender[0])
			S("sender", n->sender);
		S("source", src_name(n->source));
		break;
	case CP_NOTICE_RULES:
		S("action", n->rollback ? "rollback" : "publish");
		I("version", n->version);
		I("previous", n->previous);
		I("rules", n->n_rules);
		S("signer", n->signer[0] ? n->signer : "(unsigned)");
		S("sha256", n->sha256);
		S("actor", n->actor);
		S("reason", n->reason);
		break;
	default:
		break;
	}
	return k;
}

#undef S
#undef I
#undef B

/* A sentence for people reading the log. */
static void notice_text(const struct cp_notice *n, char *out, size_t cap)
{
	char cust[64], a[160], b[160];

	clean(n->customer, cust, sizeof(cust));
	switch (n->kind) {
	case CP_NOTICE_STANDING:
		clean(n->actor, a, sizeof(a));
		clean(n->reason, b, sizeof(b));
		snprintf(out, cap, "customer %s: %s -> %s%s by %s: %s", cust,
			 cp_standing_name(n->from), cp_standing_name(n->to),
			 n->pending ? " proposed for review" : "", a, b);
		break;
	case CP_NOTICE_VIOLATION:
		snprintf(out, cap, "violation %llu by customer %s: %s, rule %u%s", (unsigned long long)n->id,
			 cust, cp_category_name(n->category), n->rule_id,
			 n->exempt ? " (exempt)" : "");
		break;
	case CP_NOTICE_COMPLAINT:
		clean(n->subscriber, a, sizeof(a));
		snprintf(out, cap, "complaint %llu about customer %s from %s",
			 (unsigned long long)n->id, cust, a);
		break;
	case CP_NOTICE_OPTOUT:
	case CP_NOTICE_OPTIN:
		clean(n->subscriber, a, sizeof(a));
		snprintf(out, cap, "%s: subscriber %s for customer %s",
			 n->kind == CP_NOTICE_OPTOUT ? "opt-out" : "opt-in", a, cust);
		break;
	case CP_NOTICE_RULES:
		clean(n->actor, a, sizeof(a));
		snprintf(out, cap, "ruleset %llu %s by %s (was %llu)", (unsigned long long)n->version,
			 n->rollback ? "rolled back to" : "published", a,
			 (unsigned long long)n->previous);
		break;
	default:
		snprintf(out, cap, "notice");
	}
}

/* Syslog severity of a notice. */
static int notice_severity(const struct cp_notice *n)
{
	switch (n->kind) {
	case CP_NOTICE_STANDING:
		return n->to >= CP_STANDING_SUSPENDED ? 4 /* warning */
		       : n->to == CP_STANDING_WARNED  ? 5 /* notice */
						      : 6;
	case CP_NOTICE_OPTOUT:
	case CP_NOTICE_OPTIN:
		return 6; /* informational */
	default:
		return 5;
	}
}

static void rfc3339(uint64_t ms, char out[64])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

/* ------------------------------------------------------------------------- */
/* Encoders                                                                  */
/* ------------------------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n >= o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

static void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

int cp_export_syslog_format(const struct cp_notice *n, int facility, const char *host, int pid,
			    char *buf, size_t cap)
{
	struct kv f[FIELDS_MAX];
	size_t nf = notice_fields(n, f);
	struct out o = {buf, 0, cap, cap == 0};
	char tmp[512], ts[64], h[256];
	size_t hl = 0;

	/* HOSTNAME is PRINTUSASCII (33..126), at most 255 octets */
	for (const char *p = host; p && *p && hl < sizeof(h) - 1; p++)
		if (*p >= 33 && *p <= 126)
			h[hl++] = *p;
	h[hl] = 0;
	rfc3339(n->time_ms, ts);
	snprintf(tmp, sizeof(tmp), "<%d>1 %s %s %s %d %s [" CP_EXPORT_SD_ID,
		 facility * 8 + notice_severity(n), ts, hl ? h : "-", CP_EXPORT_APP, pid,
		 cp_notice_kind_name(n->kind));
	out_str(&o, tmp);
	for (size_t i = 0; i < nf; i++) {
		out_add(&o, " ", 1);
		out_str(&o, f[i].k);
		out_add(&o, "=\"", 2);
		if (f[i].t == KV_STR) {
			clean(f[i].s, tmp, sizeof(tmp));
			for (const char *p = tmp; *p; p++) {
				if (*p == '"' || *p == '\\' || *p == ']')
					out_add(&o, "\\", 1);
				out_add(&o, p, 1);
			}
		} else if (f[i].t == KV_BOOL) {
			out_str(&o, f[i].i ? "true" : "false");
		} else {
			snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)f[i].i);
			out_str(&o, tmp);
		}
		out_add(&o, "\"", 1);
	}
	out_add(&o, "] \xEF\xBB\xBF", 5); /* MSG is UTF-8, so it starts with a BOM */
	notice_text(n, tmp, sizeof(tmp));
	out_str(&o, tmp);
	return o.full ? -1 : (int)o.len;
}

char *cp_export_json_format(const struct cp_notice *n, const char *host)
{
	struct kv f[FIELDS_MAX];
	size_t nf = notice_fields(n, f);
	json_t *o = json_object();
	char ts[64], tmp[512];
	char *line = NULL, *text;

	if (!o)
		return NULL;
	rfc3339(n->time_ms, ts);
	clean(host ? host : "", tmp, sizeof(tmp));
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "time_ms", json_integer((json_int_t)n->time_ms));
	json_object_set_new(o, "host", json_string(tmp));
	json_object_set_new(o, "app", json_string(CP_EXPORT_APP));
	json_object_set_new(o, "type", json_string(cp_notice_kind_name(n->kind)));
	for (size_t i = 0; i < nf; i++) {
		json_t *v;
		if (f[i].t == KV_STR) {
			clean(f[i].s, tmp, sizeof(tmp));
			v = json_string(tmp);
		} else if (f[i].t == KV_BOOL) {
			v = json_boolean(f[i].i);
		} else {
			v = json_integer((json_int_t)f[i].i);
		}
		json_object_set_new(o, f[i].k, v);
	}
	notice_text(n, tmp, sizeof(tmp));
	json_object_set_new(o, "message", json_string(tmp));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text) {
		size_t l = strlen(text);
		line = malloc(l + 2);
		if (line) {
			memcpy(line, text, l);
			line[l] = '\n';
			line[l + 1] = 0;
		}
		free(text);
	}
	return line;
}

/* ------------------------------------------------------------------------- */
/* Destinations                                                              */
/* ------------------------------------------------------------------------- */

static int unix_connect(const char *path, int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void syslog_connect(struct cp_export *x)
{
	uint64_t now = mono_ms();

	if (x->sl_fd >= 0 || now < x->sl_retry_ms)
		return;
	x->sl_retry_ms = now + RETRY_MS;
	if (x->sl_kind == D_UNIX_DGRAM) {
		x->sl_fd = unix_connect(x->sl_path, SOCK_DGRAM);
	} else if (x->sl_kind == D_UDP) {
		int fd = socket(x->sl_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&x->sl_addr, x->sl_addrlen)) {
			close(fd);
			fd = -1;
		}
		x->sl_fd = fd;
	}
}

static void json_connect(struct cp_export *x)
{
	uint64_t now = mono_ms();

	if (x->js_fd >= 0 || now < x->js_retry_ms)
		return;
	x->js_retry_ms = now + RETRY_MS;
	if (x->js_kind == D_FILE) {
		x->js_fd = open(x->js_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	} else if (x->js_kind == D_UNIX_STREAM) {
		x->js_fd = unix_connect(x->js_path, SOCK_STREAM);
		if (x->js_fd < 0 && errno == EPROTOTYPE)
			x->js_fd = unix_connect(x->js_path, SOCK_DGRAM);
		x->js_len = 0; /* a new connection starts on a line boundary */
	}
}

static void json_drop_conn(struct cp_export *x)
{
	if (x->js_fd >= 0)
		close(x->js_fd);
	x->js_fd = -1;
	x->js_len = 0;
}

/* Push what the socket takes now; false when the connection is gone. */
static bool json_sock_flush(struct cp_export *x)
{
	while (x->js_len) {
		ssize_t w = send(x->js_fd, x->js_buf, x->js_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		memmove(x->js_buf, x->js_buf + w, x->js_len - (size_t)w);
		x->js_len -= (size_t)w;
	}
	return true;
}

static void json_emit(struct cp_export *x, const char *line)
{
	size_t l = strlen(line);

	json_connect(x);
	if (x->js_fd < 0) {
		x->st.json_dropped++;
		return;
	}
	if (x->js_kind == D_FILE) {
		/* One write per line with O_APPEND: concurrent appenders never
		 * interleave inside a line. */
		if (write(x->js_fd, line, l) == (ssize_t)l) {
			x->st.json_sent++;
		} else {
			x->st.json_dropped++;
			close(x->js_fd);
			x->js_fd = -1;
		}
		return;
	}
	if (!json_sock_flush(x)) {
		json_drop_conn(x);
		x->st.json_dropped++;
		return;
	}
	if (x->js_len + l > SOCK_BUF) {
		x->st.json_dropped++; /* the reader is slow: drop whole lines only */
		return;
	}
	memcpy(x->js_buf + x->js_len, line, l);
	x->js_len += l;
	x->st.json_sent++;
	if (!json_sock_flush(x))
		json_drop_conn(x);
}

/* Send queued syslog messages while the receiver takes them. */
static void syslog_flush(struct cp_export *x)
{
	while (x->q_n) {
		unsigned i = x->q_head;
		syslog_connect(x);
		if (x->sl_fd < 0)
			return; /* retried after RETRY_MS; the queue keeps them */
		ssize_t w = send(x->sl_fd, x->q[i].p, x->q[i].len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			return;
		if (w < 0 && errno != EMSGSIZE) {
			close(x->sl_fd); /* receiver gone or restarted: reconnect later */
			x->sl_fd = -1;
			return;
		}
		if (w < 0)
			x->st.syslog_dropped++;
		else
			x->st.syslog_sent++;
		free(x->q[i].p);
		x->q_head = (x->q_head + 1) % SL_QUEUE;
		x->q_n--;
	}
}

static void syslog_emit(struct cp_export *x, const struct cp_notice *n)
{
	char buf[SYSLOG_MAX];
	/* getpid() each time: controld may have forked into the background
	 * after the exporter was opened. */
	int len = cp_export_syslog_format(n, x->facility, x->host, (int)getpid(), buf, sizeof(buf));
	char *copy;

	if (len < 0 || x->q_n == SL_QUEUE || !(copy = malloc((size_t)len))) {
		x->st.syslog_dropped++;
		return;
	}
	memcpy(copy, buf, (size_t)len);
	unsigned tail = (x->q_head + x->q_n) % SL_QUEUE;
	x->q[tail].p = copy;
	x->q[tail].len = (size_t)len;
	x->q_n++;
	syslog_flush(x);
}

bool cp_export_pending(const struct cp_export *x)
{
	/* Only a connected receiver that is draining is worth a short poll;
	 * an absent one is retried once a second by the main loop anyway. */
	return x && ((x->q_n && x->sl_fd >= 0) ||
		     (x->js_kind == D_UNIX_STREAM && x->js_len && x->js_fd >= 0));
}

void cp_export_flush(struct cp_export *x)
{
	if (!x)
		return;
	if (x->q_n)
		syslog_flush(x);
	if (x->js_kind == D_UNIX_STREAM && x->js_fd >= 0 && x->js_len && !json_sock_flush(x))
		json_drop_conn(x);
}

void cp_export_notice(struct cp_export *x, const struct cp_notice *n)
{
	if (!x || n->kind >= 32 || !(x->kinds & (1u << n->kind)))
		return;
	if (x->sl_kind != D_OFF)
		syslog_emit(x, n);
	if (x->js_kind != D_OFF) {
		char *line = cp_export_json_format(n, x->host);
		if (line)
			json_emit(x, line);
		else
			x->st.json_dropped++;
		free(line);
	}
}

void cp_export_reopen(struct cp_export *x)
{
	if (!x || x->js_kind != D_FILE)
		return;
	if (x->js_fd >= 0)
		close(x->js_fd);
	x->js_fd = -1;
	x->js_retry_ms = 0;
	json_connect(x);
}

void cp_export_get_stats(const struct cp_export *x, struct cp_export_stats *st)
{
	if (x)
		*st = x->st;
	else
		memset(st, 0, sizeof(*st));
}

void cp_export_close(struct cp_export *x)
{
	if (!x)
		return;
	syslog_flush(x); /* what the receiver takes now; the rest is lost */
	x->st.syslog_dropped += x->q_n;
	while (x->q_n) {
		free(x->q[x->q_head].p);
		x->q_head = (x->q_head + 1) % SL_QUEUE;
		x->q_n--;
	}
	if (x->sl_fd >= 0)
		close(x->sl_fd);
	if (x->js_fd >= 0) {
		if (x->js_kind == D_UNIX_STREAM)
			json_sock_flush(x);
		close(x->js_fd);
	}
	free(x->js_buf);
	free(x);
}

/* "udp:HOST:PORT" or "udp:[V6]:PORT" */
static int parse_udp(struct cp_export *x, const char *spec, char *err, size_t errlen)
{
	char host[256], port[16];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	size_t hl;
	int rc;

	if (!colon || colon == spec || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port))
		goto bad;
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, spec, hl);
	host[hl] = 0;
	snprintf(port, sizeof(port), "%s", colon + 1);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc || !res) {
		snprintf(err, errlen, "events_syslog: cannot resolve %s port %s: %s", host, port,
			 gai_strerror(rc));
		return CP_ERR_INVAL;
	}
	memcpy(&x->sl_addr, res->ai_addr, res->ai_addrlen);
	x->sl_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return CP_OK;
bad:
	snprintf(err, errlen, "events_syslog: '%s' is not udp:HOST:PORT", spec);
	return CP_ERR_INVAL;
}

int cp_export_open(const struct smsfw_conf *c, struct cp_export **out, char *err, size_t errlen)
{
	static const int facilities[] = {3, 1, 4, 10, 16, 17, 18, 19, 20, 21, 22, 23};
	static const char *const kind_names[] = {"standing", "violation", "complaint", "optout",
						 "rules"};
	struct cp_export *x = calloc(1, sizeof(*x));
	const char *sl = smsfw_conf_str(c, SMSFW_CONF_controld_events_syslog);
	const char *js = smsfw_conf_str(c, SMSFW_CONF_controld_events_json);
	int fac = smsfw_conf_enum(c, SMSFW_CONF_controld_events_syslog_facility);

	*out = NULL;
	if (!x)
		return CP_ERR_NOMEM;
	x->sl_fd = x->js_fd = -1;
	if (gethostname(x->host, sizeof(x->host) - 1))
		snprintf(x->host, sizeof(x->host), "-");
	x->facility = fac >= 0 && fac < (int)(sizeof(facilities) / sizeof(facilities[0]))
			  ? facilities[fac]
			  : 3;
	for (size_t i = 0; i < smsfw_conf_list_len(c, SMSFW_CONF_controld_events_kinds); i++) {
		const char *k = smsfw_conf_list_item(c, SMSFW_CONF_controld_events_kinds, i);
		size_t j;
		for (j = 0; j < sizeof(kind_names) / sizeof(kind_names[0]); j++)
			if (strcmp(k, kind_names[j]) == 0)
				break;
		switch (j) {
		case 0:
			x->kinds |= 1u << CP_NOTICE_STANDING;
			break;
		case 1:
			x->kinds |= 1u << CP_NOTICE_VIOLATION;
			break;
		case 2:
			x->kinds |= 1u << CP_NOTICE_COMPLAINT;
			break;
		case 3:
			x->kinds |= 1u << CP_NOTICE_OPTOUT | 1u << CP_NOTICE_OPTIN;
			break;
		case 4:
			x->kinds |= 1u << CP_NOTICE_RULES;
			break;
		default:
			snprintf(err, errlen,
				 "events_kinds: unknown kind '%s' (standing, violation, complaint, "
				 "optout, rules)",
				 k);
			free(x);
			return CP_ERR_INVAL;
		}
	}
	if (!*sl) {
		x->sl_kind = D_OFF;
	} else if (strcmp(sl, "local") == 0) {
		x->sl_kind = D_UNIX_DGRAM;
		snprintf(x->sl_path, sizeof(x->sl_path), "/dev/log");
	} else if (strncmp(sl, "unix:", 5) == 0 && sl[5] &&
		   strlen(sl + 5) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
		x->sl_kind = D_UNIX_DGRAM;
		snprintf(x->sl_path, sizeof(x->sl_path), "%s", sl + 5);
	} else if (strncmp(sl, "udp:", 4) == 0) {
		x->sl_kind = D_UDP;
		if (parse_udp(x, sl + 4, err, errlen)) {
			free(x);
			return CP_ERR_INVAL;
		}
	} else {
		snprintf(err, errlen,
			 "events_syslog: '%s' is not local, unix:PATH or udp:HOST:PORT", sl);
		free(x);
		return CP_ERR_INVAL;
	}
	if (!*js) {
		x->js_kind = D_OFF;
	} else if (strncmp(js, "unix:", 5) == 0) {
		if (!js[5] || strlen(js + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "events_json: bad socket path '%s'", js);
			free(x);
			return CP_ERR_INVAL;
		}
		x->js_kind = D_UNIX_STREAM;
		snprintf(x->js_path, sizeof(x->js_path), "%s", js + 5);
		x->js_buf = malloc(SOCK_BUF);
		if (!x->js_buf) {
			free(x);
			return CP_ERR_NOMEM;
		}
	} else {
		if (strlen(js) >= sizeof(x->js_path)) {
			snprintf(err, errlen, "events_json: path too long");
			free(x);
			return CP_ERR_INVAL;
		}
		x->js_kind = D_FILE;
		snprintf(x->js_path, sizeof(x->js_path), "%s", js);
		json_connect(x);
		if (x->js_fd < 0) {
			snprintf(err, errlen, "events_json: cannot open %s: %s", js,
				 strerror(errno));
			free(x);
			return CP_ERR_IO;
		}
	}
	syslog_connect(x);
	json_connect(x);
	*out = x;
	return CP_OK;
}
