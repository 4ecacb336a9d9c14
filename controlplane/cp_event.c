/*
 * cp_event.c — the event wire format between smsfw-dataplane and
 * smsfw-controld (see cp.h for the layout). Every field is encoded and
 * decoded byte by byte in little-endian order; lengths are checked against
 * both the record and the field's bound before any byte is read.
 */
#include <stddef.h>
#include <string.h>

#include "cp.h"

#define SYSID_MAX (CP_SYSTEM_ID_MAX - 1)
#define ADDR_MAX  20

/* CRC-32C, reflected polynomial 0x82F63B78, table built on first use.
 * The table is built before any thread can race on it in practice; the
 * build is idempotent, so a duplicated build is harmless. */
static uint32_t crc_table[256];
static volatile int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t cp_crc32c(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = 0xFFFFFFFFu;

	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init();
	while (len--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

int cp_ev_batch_init(struct cp_ev_batch *b, uint8_t *buf, uint32_t cap)
{
	if (!b || !buf || cap < CP_EV_HDR_LEN || cap > CP_EV_BATCH_MAX)
		return CP_ERR_INVAL;
	b->buf = buf;
	b->cap = cap;
	b->len = CP_EV_HDR_LEN;
	b->count = 0;
	return CP_OK;
}

/* Body size of a record, or -1 when a view exceeds its bound. */
static int body_size(const struct cp_event *ev)
{
	switch (ev->type) {
	case CP_EV_HELLO:
		return 16;
	case CP_EV_OBSERVATION:
	case CP_EV_VIOLATION: {
		const struct cp_ev_message *m = &ev->u.msg;
		if (m->customer.len > SYSID_MAX || m->sender.len > ADDR_MAX ||
		    m->destination.len > ADDR_MAX || m->text.len > CP_EV_TEXT_MAX)
			return -1;
		return 28 + 1 + m->customer.len + 1 + m->sender.len + 1 + m->destination.len + 2 +
		       m->text.len;
	}
	case CP_EV_OPTOUT:
	case CP_EV_OPTIN: {
		const struct cp_ev_optout *o = &ev->u.optout;
		if (o->customer.len > SYSID_MAX || o->subscriber.len > ADDR_MAX ||
		    o->sender.len > ADDR_MAX)
			return -1;
		return 8 + 3 + o->customer.len + o->subscriber.len + o->sender.len;
	}
	case CP_EV_STATS:
		return 64;
	case CP_EV_STATS_EXT:
		if (ev->u.ext.count > CP_EV_STATS_EXT_MAX ||
		    (ev->u.ext.count && !ev->u.ext.entries))
			return -1;
		return 8 + CP_EV_STAT_LEN * ev->u.ext.count;
	case CP_EV_ACK:
	case CP_EV_GENERATION:
		return 0;
	default:
		return -1;
	}
}

static uint8_t *put_str(uint8_t *p, struct cp_view v)
{
	*p++ = (uint8_t)v.len;
	if (v.len)
		memcpy(p, v.p, v.len);
	return p + v.len;
}

int cp_ev_batch_add(struct cp_ev_batch *b, const struct cp_event *ev)
{
	int body;
	uint32_t rlen;
	uint8_t *p;

	if (!b || !ev)
		return CP_ERR_INVAL;
	body = body_size(ev);
	if (body < 0)
		return CP_ERR_INVAL;
	rlen = CP_EV_REC_HDR_LEN + (uint32_t)body;
	if (rlen > b->cap - b->len)
		return CP_ERR_TOOBIG;
	p = b->buf + b->len;
	put16(p, ev->type);
	put16(p + 2, (uint16_t)rlen);
	put64(p + 4, ev->seq);
	p += CP_EV_REC_HDR_LEN;
	switch (ev->type) {
	case CP_EV_HELLO:
		put64(p, ev->u.hello.instance);
		put32(p + 8, ev->u.hello.pid);
		put32(p + 12, ev->u.hello.workers);
		break;
	case CP_EV_OBSERVATION:
	case CP_EV_VIOLATION: {
		const struct cp_ev_message *m = &ev->u.msg;
		put64(p, m->time_ms);
		put64(p + 8, m->content_hash);
		put32(p + 16, m->rule_id);
		put32(p + 20, m->command_status);
		p[24] = m->verdict;
		p[25] = m->category;
		p[26] = m->data_coding;
		p[27] = m->parts;
		p = put_str(p + 28, m->customer);
		p = put_str(p, m->sender);
		p = put_str(p, m->destination);
		put16(p, m->text.len);
		if (m->text.len)
			memcpy(p + 2, m->text.p, m->text.len);
		break;
	}
	case CP_EV_OPTOUT:
	case CP_EV_OPTIN:
		put64(p, ev->u.optout.time_ms);
		p = put_str(p + 8, ev->u.optout.customer);
		p = put_str(p, ev->u.optout.subscriber);
		put_str(p, ev->u.optout.sender);
		break;
	case CP_EV_STATS: {
		const struct cp_ev_stats *s = &ev->u.stats;
		const uint64_t v[8] = {s->rx_pdus,   s->passed,	     s->blocked, s->monitored,
				       s->throttled, s->obs_dropped, s->flows,	 s->errors};
		for (int i = 0; i < 8; i++)
			put64(p + 8 * i, v[i]);
		break;
	}
	case CP_EV_STATS_EXT: {
		const struct cp_ev_stats_ext *x = &ev->u.ext;
		put16(p, CP_EV_STATS_EXT_VERSION);
		put16(p + 2, x->count);
		put32(p + 4, 0);
		p += 8;
		for (unsigned i = 0; i < x->count; i++, p += CP_EV_STAT_LEN) {
			put16(p, x->entries[i].id);
			put16(p + 2, x->entries[i].index);
			put32(p + 4, 0);
			put64(p + 8, x->entries[i].value);
		}
		break;
	}
	default:
		break;
	}
	b->len += rlen;
	b->count++;
	return CP_OK;
}

uint32_t cp_ev_batch_finish(struct cp_ev_batch *b)
{
	uint8_t *h = b->buf;

	put32(h, CP_EV_MAGIC);
	put16(h + 4, CP_EV_VERSION);
	put16(h + 6, 0);
	put32(h + 8, b->len);
	put32(h + 12, b->count);
	put32(h + 16, cp_crc32c(h + CP_EV_HDR_LEN, b->len - CP_EV_HDR_LEN));
	put32(h + 20, 0);
	return b->len;
}

int cp_ev_batch_check(const uint8_t *buf, size_t len, uint32_t *total)
{
	uint32_t t;

	if (total)
		*total = 0;
	if (len < 8)
		return len >= 4 && get32(buf) != CP_EV_MAGIC ? CP_ERR_FORMAT : CP_AGAIN;
	if (get32(buf) != CP_EV_MAGIC)
		return CP_ERR_FORMAT;
	if (get16(buf + 4) != CP_EV_VERSION)
		return CP_ERR_VERSION;
	if (len < CP_EV_HDR_LEN)
		return CP_AGAIN;
	t = get32(buf + 8);
	if (t < CP_EV_HDR_LEN || t > CP_EV_BATCH_MAX)
		return CP_ERR_FORMAT;
	if (total)
		*total = t;
	if (len < t)
		return CP_AGAIN;
	if (cp_crc32c(buf + CP_EV_HDR_LEN, t - CP_EV_HDR_LEN) != get32(buf + 16))
		return CP_ERR_CHECKSUM;
	return CP_OK;
}

void cp_ev_iter_init(struct cp_ev_iter *it, const uint8_t *batch, uint32_t total)
{
	it->p = batch + CP_EV_HDR_LEN;
	it->left = total - CP_EV_HDR_LEN;
	it->count = get32(batch + 12);
}

/* Take a u8-length string within [*p, end) whose length is at most max. */
static int get_str(const uint8_t **p, const uint8_t *end, unsigned max, struct cp_view *v)
{
	unsigned n;

	if (*p >= end)
		return -1;
	n = **p;
	if (n > max || (size_t)(end - (*p + 1)) < n)
		return -1;
	v->p = *p + 1;
	v->len = (uint16_t)n;
	*p += 1 + n;
	return 0;
}

int cp_ev_iter_next(struct cp_ev_iter *it, struct cp_event *ev)
{
	uint16_t rlen;
	const uint8_t *p, *end;

	if (it->count == 0)
		return it->left == 0 ? CP_AGAIN : CP_ERR_FORMAT;
	if (it->left < CP_EV_REC_HDR_LEN)
		return CP_ERR_FORMAT;
	rlen = get16(it->p + 2);
	if (rlen < CP_EV_REC_HDR_LEN || rlen > it->left)
		return CP_ERR_FORMAT;
	memset(ev, 0, sizeof(*ev));
	ev->type = get16(it->p);
	ev->seq = get64(it->p + 4);
	p = it->p + CP_EV_REC_HDR_LEN;
	end = it->p + rlen;

	switch (ev->type) {
	case CP_EV_HELLO:
		if (end - p != 16)
			return CP_ERR_FORMAT;
		ev->u.hello.instance = get64(p);
		ev->u.hello.pid = get32(p + 8);
		ev->u.hello.workers = get32(p + 12);
		break;
	case CP_EV_OBSERVATION:
	case CP_EV_VIOLATION: {
		struct cp_ev_message *m = &ev->u.msg;
		uint16_t tl;
		if (end - p < 28)
			return CP_ERR_FORMAT;
		m->time_ms = get64(p);
		m->content_hash = get64(p + 8);
		m->rule_id = get32(p + 16);
		m->command_status = get32(p + 20);
		m->verdict = p[24];
		m->category = p[25];
		m->data_coding = p[26];
		m->parts = p[27];
		p += 28;
		if (get_str(&p, end, SYSID_MAX, &m->customer) ||
		    get_str(&p, end, ADDR_MAX, &m->sender) ||
		    get_str(&p, end, ADDR_MAX, &m->destination))
			return CP_ERR_FORMAT;
		if (end - p < 2)
			return CP_ERR_FORMAT;
		tl = get16(p);
		if (tl > CP_EV_TEXT_MAX || end - (p + 2) != tl)
			return CP_ERR_FORMAT;
		m->text.p = p + 2;
		m->text.len = tl;
		break;
	}
	case CP_EV_OPTOUT:
	case CP_EV_OPTIN: {
		struct cp_ev_optout *o = &ev->u.optout;
		if (end - p < 8)
			return CP_ERR_FORMAT;
		o->time_ms = get64(p);
		p += 8;
		if (get_str(&p, end, SYSID_MAX, &o->customer) ||
		    get_str(&p, end, ADDR_MAX, &o->subscriber) ||
		    get_str(&p, end, ADDR_MAX, &o->sender) || p != end)
			return CP_ERR_FORMAT;
		break;
	}
	case CP_EV_STATS: {
		uint64_t v[8];
		if (end - p != 64)
			return CP_ERR_FORMAT;
		for (int i = 0; i < 8; i++)
			v[i] = get64(p + 8 * i);
		ev->u.stats = (struct cp_ev_stats){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
		break;
	}
	case CP_EV_STATS_EXT: {
		struct cp_ev_stats_ext *x = &ev->u.ext;
		if (end - p < 8)
			return CP_ERR_FORMAT;
		x->version = get16(p);
		if (x->version != CP_EV_STATS_EXT_VERSION)
			break; /* a layout this build does not know: no entries */
		x->count = get16(p + 2);
		if (x->count > CP_EV_STATS_EXT_MAX ||
		    end - (p + 8) != (ptrdiff_t)x->count * CP_EV_STAT_LEN)
			return CP_ERR_FORMAT;
		x->raw = p + 8;
		break;
	}
	case CP_EV_ACK:
	case CP_EV_GENERATION:
		if (p != end)
			return CP_ERR_FORMAT;
		break;
	default:
		break; /* unknown: type and seq only, caller skips */
	}
	it->p += rlen;
	it->left -= rlen;
	it->count--;
	return CP_OK;
}

int cp_ev_stat_get(const struct cp_event *ev, unsigned i, struct cp_stat *out)
{
	const uint8_t *p;

	if (!ev || !out || ev->type != CP_EV_STATS_EXT || !ev->u.ext.raw || i >= ev->u.ext.count)
		return CP_ERR_INVAL;
	p = ev->u.ext.raw + (size_t)i * CP_EV_STAT_LEN;
	out->id = get16(p);
	out->index = get16(p + 2);
	out->value = get64(p + 8);
	return CP_OK;
}
