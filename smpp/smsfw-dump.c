/*
 * smsfw-dump — the operator's SMPP view of a capture.
 *
 *   smsfw-dump [--json] [--gsm-packed] [--port N]... [--max-pdu N] FILE.pcap
 *
 * Reads a pcap with libpcap, follows every TCP connection per direction
 * (segments in order, out-of-order segments held, retransmissions and
 * overlaps counted once), finds SMPP on the configured ports (default 2775)
 * and elsewhere by a plausible first PDU header, and prints one line per PDU:
 * readable text, or with --json one JSON object per line. A malformed PDU
 * prints an "error" key and the dump goes on. Exit status: 0 whenever the
 * capture could be read; 1 when it could not; 2 on a usage error.
 *
 * This is a tool, not the fast path: it uses the heap freely, bounded per
 * connection (DUMP_MAX_BUFFER octets, DUMP_MAX_OOO held segments).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pcap/pcap.h>

#include "smpp.h"

#define DUMP_MAX_PORTS 32
#define DUMP_MAX_OOO 256
#define DUMP_MAX_BUFFER (4u << 20)
#define DUMP_BUCKETS 4096

struct opts {
	bool json;
	uint32_t text_flags;
	uint32_t max_pdu;
	uint16_t ports[DUMP_MAX_PORTS];
	unsigned n_ports;
};

struct seg {
	struct seg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

/* One direction of a connection: reassembly state and unconsumed bytes. */
struct half {
	bool seq_known;
	bool resync;          /* dropping bytes until a plausible header */
	uint32_t next_seq;
	uint8_t *buf;
	size_t len, cap;
	struct seg *ooo;      /* held out-of-order segments, sorted by seq */
	unsigned n_ooo;
};

struct endpoint {
	uint8_t ip[16];
	uint16_t port;
};

struct flow {
	struct flow *next;
	int af;
	struct endpoint a, b;  /* a: the initiator (client) */
	int smpp;              /* -1 undecided, 0 no, 1 yes */
	struct half h[2];      /* [0] a->b (c2s), [1] b->a (s2c) */
};

struct stats {
	uint64_t frames, tcp_segments, pdus, malformed, retransmitted, overlaps, gaps,
		dropped_ooo, resync_bytes;
};

struct dump {
	struct opts o;
	struct flow *buckets[DUMP_BUCKETS];
	struct stats st;
	uint64_t frame;
	int dlt;
};

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static char *hex_of(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		abort();
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = 0;
	return s;
}

static json_t *json_hex(const uint8_t *p, size_t n)
{
	char *s = hex_of(p, n);
	json_t *j = json_string(s);

	free(s);
	return j;
}

/* A wire string as JSON: UTF-8 when valid, else each octet as Latin-1. */
static json_t *json_wire_string(struct smpp_view v)
{
	json_t *j = json_stringn((const char *)v.p, v.len);
	char *s;
	size_t o = 0;

	if (j)
		return j;
	s = malloc(2 * (size_t)v.len + 1);
	if (!s)
		abort();
	for (uint32_t i = 0; i < v.len; i++) {
		if (v.p[i] < 0x80) {
			s[o++] = (char)v.p[i];
		} else {
			s[o++] = (char)(0xC0 | v.p[i] >> 6);
			s[o++] = (char)(0x80 | (v.p[i] & 0x3F));
		}
	}
	j = json_stringn(s, o);
	free(s);
	return j;
}

static void set(json_t *o, const char *k, json_t *v)
{
	json_object_set_new(o, k, v ? v : json_null());
}

struct visit_ctx {
	json_t *o;
	const struct smpp_pdu *pdu;
};

/* Mandatory fields under their SMPP 3.4 names, straight from the .def table. */
static void visit_field(void *vctx, const struct smpp_field *f)
{
	struct visit_ctx *c = vctx;
	struct smpp_list_iter it;

	switch (f->kind) {
	case SMPP_FIELD_U8:
		set(c->o, f->name, json_integer(f->u8));
		break;
	case SMPP_FIELD_CSTR:
		set(c->o, f->name, json_wire_string(f->v));
		break;
	case SMPP_FIELD_SM:
		set(c->o, "sm_length", json_integer(f->u8));
		set(c->o, "short_message_hex", json_hex(f->v.p, f->v.len));
		break;
	case SMPP_FIELD_DESTS: {
		json_t *arr = json_array();
		struct smpp_dest d;

		set(c->o, "number_of_dests", json_integer(f->u8));
		smpp_dest_iter_init(&it, c->pdu);
		while (smpp_dest_next(&it, &d)) {
			json_t *e = json_object();

			set(e, "dest_flag", json_integer(d.dest_flag));
			if (d.dest_flag == SMPP_DEST_SME) {
				set(e, "dest_addr_ton", json_integer(d.dest_addr_ton));
				set(e, "dest_addr_npi", json_integer(d.dest_addr_npi));
				set(e, "destination_addr", json_wire_string(d.destination_addr));
			} else {
				set(e, "dl_name", json_wire_string(d.dl_name));
			}
			json_array_append_new(arr, e);
		}
		set(c->o, "dest_address", arr);
		break;
	}
	case SMPP_FIELD_UNSUCC: {
		json_t *arr = json_array();
		struct smpp_unsuccess u;

		set(c->o, "no_unsuccess", json_integer(f->u8));
		smpp_unsuccess_iter_init(&it, c->pdu);
		while (smpp_unsuccess_next(&it, &u)) {
			json_t *e = json_object();

			set(e, "dest_addr_ton", json_integer(u.dest_addr_ton));
			set(e, "dest_addr_npi", json_integer(u.dest_addr_npi));
			set(e, "destination_addr", json_wire_string(u.destination_addr));
			set(e, "error_status_code", json_integer(u.error_status_code));
			json_array_append_new(arr, e);
		}
		set(c->o, "unsuccess_sme", arr);
		break;
	}
	}
}

/* Commands whose user data is a message text with a data_coding. */
static bool carries_text(uint32_t id)
{
	return id == SMPP_CMD_SUBMIT_SM || id == SMPP_CMD_DELIVER_SM || id == SMPP_CMD_SUBMIT_MULTI ||
	       id == SMPP_CMD_DATA_SM;
}

static void add_message(json_t *o, const struct smpp_pdu *pdu, uint32_t text_flags)
{
	struct smpp_view ud = smpp_pdu_user_data(pdu);
	struct smpp_concat cc;
	int rc;

	if (pdu->esm_class & SMPP_ESM_UDHI) {
		struct smpp_udh udh;

		if (smpp_udh_parse(ud.p, ud.len, &udh) == SMPP_OK) {
			struct smpp_udh_iter it;
			struct smpp_udh_ie ie;
			json_t *arr = json_array();

			smpp_udh_iter_init(&it, ud.p, ud.len);
			while (smpp_udh_next(&it, &ie)) {
				json_t *e = json_object();

				set(e, "iei", json_integer(ie.iei));
				set(e, "length", json_integer(ie.len));
				set(e, "hex", json_hex(ie.data, ie.len));
				json_array_append_new(arr, e);
			}
			set(o, "udh", arr);
		} else {
			set(o, "udh_error", json_string(smpp_strerror(SMPP_EUDH)));
		}
	}
	if (smpp_pdu_concat(pdu, &cc) == SMPP_OK && cc.present) {
		json_t *c = json_object();

		set(c, "ref", json_integer(cc.ref));
		set(c, "total", json_integer(cc.total));
		set(c, "seq", json_integer(cc.seq));
		set(c, "ref16", json_boolean(cc.ref16));
		set(c, "source", json_string(cc.from_sar ? "sar" : "udh"));
		set(o, "concat", c);
	}
	if (carries_text(pdu->hdr.command_id)) {
		size_t cap = SMPP_TEXT_UTF8_MAX(ud.len);
		uint8_t *txt = malloc(cap);
		struct smpp_text_info info;

		if (!txt)
			abort();
		rc = smpp_pdu_text(pdu, text_flags, txt, cap, &info);
		if (rc == SMPP_OK) {
			set(o, "text", json_stringn((const char *)txt, info.out_len));
			if (info.replaced)
				set(o, "text_replaced", json_integer(info.replaced));
		} else if (rc != SMPP_EBINARY) {
			set(o, "text_error", json_string(smpp_strerror(rc)));
		}
		free(txt);
	}
}

static void add_tlvs(json_t *o, const struct smpp_pdu *pdu)
{
	struct smpp_tlv_iter it;
	struct smpp_tlv t;
	json_t *arr = json_array();

	smpp_tlv_iter_init(&it, pdu);
	while (smpp_tlv_next(&it, &t)) {
		json_t *e = json_object();
		const char *name = smpp_tlv_name(t.tag);

		set(e, "tag", json_integer(t.tag));
		set(e, "name", name ? json_string(name) : json_null());
		set(e, "length", json_integer(t.len));
		set(e, "hex", json_hex(t.val, t.len));
		json_array_append_new(arr, e);
	}
	set(o, "tlvs", arr);
}

/* Print one record: a JSON line, or "key=value" text from the same object. */
static void emit(struct dump *d, json_t *o)
{
	if (d->o.json) {
		char *s = json_dumps(o, JSON_COMPACT);

		if (s) {
			puts(s);
			free(s);
		}
	} else {
		const char *k;
		json_t *v;
		bool first = true;

		json_object_foreach(o, k, v) {
			char *s = NULL;

			if (!first)
				putchar(' ');
			first = false;
			if (json_is_string(v))
				s = json_dumps(v, JSON_ENCODE_ANY);
			else
				s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			printf("%s=%s", k, s ? s : "?");
			free(s);
		}
		putchar('\n');
	}
	json_decref(o);
}

static json_t *record_head(struct dump *d, int dir, const struct flow *f)
{
	json_t *o = json_object();

	(void)f;
	set(o, "frame", json_integer((json_int_t)d->frame));
	set(o, "dir", json_string(dir == 0 ? "c2s" : "s2c"));
	return o;
}

static void emit_pdu(struct dump *d, const struct flow *f, int dir, const uint8_t *p, size_t len)
{
	struct smpp_decode_opts dopts = { .max_pdu = d->o.max_pdu, .flags = 0 };
	struct smpp_pdu pdu;
	json_t *o = record_head(d, dir, f);
	const char *name, *st;
	int rc = smpp_pdu_decode(p, len, &dopts, &pdu);

	/* The header is valid here: the stream cutter checked it. */
	if (rc != SMPP_OK && rc != SMPP_AGAIN) {
		struct smpp_hdr h;

		smpp_hdr_peek(p, len, d->o.max_pdu, &h);
		pdu.hdr = h;
	}
	name = smpp_cmd_name(pdu.hdr.command_id);
	st = smpp_esme_name(pdu.hdr.command_status);
	set(o, "command_length", json_integer(pdu.hdr.command_length));
	set(o, "command_id", json_integer(pdu.hdr.command_id));
	set(o, "command_name", name ? json_string(name) : json_null());
	set(o, "command_status", json_integer(pdu.hdr.command_status));
	if (pdu.hdr.command_status)
		set(o, "command_status_name", st ? json_string(st) : json_null());
	set(o, "sequence_number", json_integer(pdu.hdr.sequence_number));
	if (rc != SMPP_OK) {
		d->st.malformed++;
		set(o, "error", json_string(smpp_strerror(rc)));
		set(o, "error_code", json_integer(rc));
		set(o, "hex", json_hex(p, len));
		emit(d, o);
		return;
	}
	d->st.pdus++;
	if (pdu.body_absent) {
		set(o, "body_absent", json_true());
	} else {
		struct visit_ctx c = { .o = o, .pdu = &pdu };

		smpp_pdu_visit(&pdu, visit_field, &c);
	}
	add_message(o, &pdu, d->o.text_flags);
	add_tlvs(o, &pdu);
	emit(d, o);
}

/* ------------------------------------------------------------------------ */
/* Stream following                                                         */
/* ------------------------------------------------------------------------ */

static bool is_smpp_port(const struct opts *o, uint16_t port)
{
	for (unsigned i = 0; i < o->n_ports; i++)
		if (o->ports[i] == port)
			return true;
	return false;
}

static void consume(struct half *h, size_t n)
{
	memmove(h->buf, h->buf + n, h->len - n);
	h->len -= n;
}

/* Cut complete PDUs from the direction's buffer; resynchronise on garbage. */
static void cut_pdus(struct dump *d, struct flow *f, int dir)
{
	struct half *h = &f->h[dir];
	struct smpp_hdr hdr;

	while (h->len >= SMPP_HDR_LEN) {
		int rc = smpp_hdr_peek(h->buf, h->len, d->o.max_pdu, &hdr);

		if (rc != SMPP_OK) {
			size_t skip = 1;

			if (!h->resync) {
				json_t *o = record_head(d, dir, f);

				d->st.malformed++;
				set(o, "error", json_string(smpp_strerror(rc)));
				set(o, "error_code", json_integer(rc));
				set(o, "hex", json_hex(h->buf, SMPP_HDR_LEN));
				emit(d, o);
				h->resync = true;
			}
			while (skip + SMPP_HDR_LEN <= h->len &&
			       smpp_hdr_peek(h->buf + skip, h->len - skip, d->o.max_pdu, &hdr) != SMPP_OK)
				skip++;
			d->st.resync_bytes += skip;
			consume(h, skip);
			continue;
		}
		h->resync = false;
		if (h->len < hdr.command_length)
			break;
		emit_pdu(d, f, dir, h->buf, hdr.command_length);
		consume(h, hdr.command_length);
	}
}

static void append(struct dump *d, struct half *h, const uint8_t *p, size_t n)
{
	if (h->len + n > DUMP_MAX_BUFFER) {   /* bound: drop what we hold */
		d->st.gaps++;
		h->len = 0;
		h->resync = true;
	}
	if (h->len + n > h->cap) {
		size_t cap = h->cap ? h->cap : 4096;

		while (cap < h->len + n)
			cap *= 2;
		h->buf = realloc(h->buf, cap);
		if (!h->buf)
			abort();
		h->cap = cap;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
}

/*
 * Take in-order bytes: trim what was already seen (retransmission or
 * overlap, counted), append the rest.
 */
static void take(struct dump *d, struct half *h, uint32_t seq, const uint8_t *p, size_t n)
{
	int32_t off = (int32_t)(seq - h->next_seq);

	if (off < 0) {
		if ((size_t)-(int64_t)off >= n) {
			d->st.retransmitted++;
			return;
		}
		d->st.overlaps++;
		p += -(int64_t)off;
		n -= (size_t)-(int64_t)off;
	}
	append(d, h, p, n);
	h->next_seq += (uint32_t)n;
}

static void hold(struct dump *d, struct half *h, uint32_t seq, const uint8_t *p, size_t n)
{
	struct seg **pp = &h->ooo, *s;

	while (*pp && (int32_t)((*pp)->seq - seq) < 0)
		pp = &(*pp)->next;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= n) {
		d->st.retransmitted++;
		return;
	}
	if (h->n_ooo >= DUMP_MAX_OOO) {
		d->st.dropped_ooo++;
		return;
	}
	s = malloc(sizeof(*s) + n);
	if (!s)
		abort();
	s->seq = seq;
	s->len = (uint32_t)n;
	memcpy(s->data, p, n);
	s->next = *pp;
	*pp = s;
	h->n_ooo++;
}

static void drain(struct dump *d, struct half *h)
{
	while (h->ooo && (int32_t)(h->ooo->seq - h->next_seq) <= 0) {
		struct seg *s = h->ooo;

		h->ooo = s->next;
		h->n_ooo--;
		take(d, h, s->seq, s->data, s->len);
		free(s);
	}
}

/*
 * Give up on the bytes missing before the first held segment of one direction
 * (lost in the capture): count a gap, drop the partial PDU, and go on from the
 * held data, resynchronising on the next plausible PDU header.
 */
static void skip_hole(struct dump *d, struct flow *f, int dir)
{
	struct half *h = &f->h[dir];

	d->st.gaps++;
	h->len = 0;
	h->resync = true;
	h->next_seq = h->ooo->seq;
	drain(d, h);
	cut_pdus(d, f, dir);
}

static void segment(struct dump *d, struct flow *f, int dir, uint32_t seq, bool syn,
		    const uint8_t *p, size_t n)
{
	struct half *h = &f->h[dir];

	if (syn) {
		h->seq_known = true;
		h->next_seq = seq + 1;
		seq++;
	}
	if (n == 0)
		return;
	if (f->smpp < 0) {
		struct smpp_hdr hdr;

		f->smpp = smpp_hdr_peek(p, n, d->o.max_pdu, &hdr) == SMPP_OK;
	}
	if (!f->smpp)
		return;
	if (!h->seq_known) {    /* joined mid-stream */
		h->seq_known = true;
		h->next_seq = seq;
	}
	if ((int32_t)(seq - h->next_seq) > 0) {
		hold(d, h, seq, p, n);
		/* A hole that never fills stalls the direction: past the
		 * bound, give up on the missing bytes and resynchronise. */
		if (h->n_ooo >= DUMP_MAX_OOO)
			skip_hole(d, f, dir);
		return;
	}
	take(d, h, seq, p, n);
	drain(d, h);
	cut_pdus(d, f, dir);
}

/* ------------------------------------------------------------------------ */
/* Packets                                                                  */
/* ------------------------------------------------------------------------ */

static unsigned ep_hash(const struct endpoint *e, size_t iplen)
{
	unsigned h = 2166136261u;

	for (size_t i = 0; i < iplen; i++)
		h = (h ^ e->ip[i]) * 16777619u;
	return (h ^ e->port) * 16777619u;
}

static bool ep_eq(const struct endpoint *x, const struct endpoint *y, size_t iplen)
{
	return x->port == y->port && memcmp(x->ip, y->ip, iplen) == 0;
}

static struct flow *flow_get(struct dump *d, int af, const struct endpoint *src,
			     const struct endpoint *dst, bool syn, bool ack, int *dir)
{
	size_t iplen = af == 4 ? 4 : 16;
	unsigned b = (ep_hash(src, iplen) ^ ep_hash(dst, iplen)) % DUMP_BUCKETS;
	struct flow *f;

	for (f = d->buckets[b]; f; f = f->next) {
		if (f->af != af)
			continue;
		if (ep_eq(&f->a, src, iplen) && ep_eq(&f->b, dst, iplen)) {
			*dir = 0;
			return f;
		}
		if (ep_eq(&f->a, dst, iplen) && ep_eq(&f->b, src, iplen)) {
			*dir = 1;
			return f;
		}
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->af = af;
	/* The initiator sent the SYN; without one, the side not on an SMPP
	 * port; failing that, whoever spoke first. */
	if ((syn && ack) || (!syn && is_smpp_port(&d->o, src->port) &&
			     !is_smpp_port(&d->o, dst->port))) {
		f->a = *dst;
		f->b = *src;
		*dir = 1;
	} else {
		f->a = *src;
		f->b = *dst;
		*dir = 0;
	}
	f->smpp = (is_smpp_port(&d->o, src->port) || is_smpp_port(&d->o, dst->port)) ? 1 : -1;
	f->next = d->buckets[b];
	d->buckets[b] = f;
	return f;
}

static void tcp_packet(struct dump *d, int af, const uint8_t *sip, const uint8_t *dip,
		       const uint8_t *p, size_t n)
{
	struct endpoint src, dst;
	size_t iplen = af == 4 ? 4 : 16, off;
	uint8_t flags;
	struct flow *f;
	int dir;

	if (n < 20)
		return;
	off = (size_t)(p[12] >> 4) * 4;
	if (off < 20 || off > n)
		return;
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	memcpy(src.ip, sip, iplen);
	memcpy(dst.ip, dip, iplen);
	src.port = (uint16_t)(p[0] << 8 | p[1]);
	dst.port = (uint16_t)(p[2] << 8 | p[3]);
	flags = p[13];
	d->st.tcp_segments++;
	f = flow_get(d, af, &src, &dst, flags & 0x02, flags & 0x10, &dir);
	if (flags & 0x04)   /* RST: nothing more to follow */
		return;
	segment(d, f, dir, (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7],
		flags & 0x02, p + off, n - off);
}

static void ip_packet(struct dump *d, const uint8_t *p, size_t n)
{
	if (n < 1)
		return;
	if ((p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4, tot;

		if (n < 20 || ihl < 20 || ihl > n)
			return;
		tot = (size_t)(p[2] << 8 | p[3]);
		if (tot < ihl)
			return;
		if (tot < n)
			n = tot;          /* strip Ethernet padding */
		if ((p[6] & 0x3F) || p[7])
			return;           /* fragments are not reassembled */
		if (p[9] == 6)
			tcp_packet(d, 4, p + 12, p + 16, p + ihl, n - ihl);
	} else if ((p[0] >> 4) == 6) {
		size_t off = 40, plen;
		uint8_t nh;

		if (n < 40)
			return;
		plen = (size_t)(p[4] << 8 | p[5]);
		if (40 + plen < n)
			n = 40 + plen;
		nh = p[6];
		while (nh == 0 || nh == 43 || nh == 60) {   /* hop-by-hop, routing, dstopts */
			if (off + 8 > n)
				return;
			nh = p[off];
			off += (size_t)(p[off + 1] + 1) * 8;
		}
		if (nh == 6 && off <= n)
			tcp_packet(d, 6, p + 8, p + 24, p + off, n - off);
	}
}

static void on_frame(u_char *user, const struct pcap_pkthdr *ph, const u_char *p)
{
	struct dump *d = (struct dump *)user;
	size_t n = ph->caplen, off = 0;
	uint16_t et;

	d->frame++;
	d->st.frames++;
	switch (d->dlt) {
	case DLT_EN10MB:
		if (n < 14)
			return;
		et = (uint16_t)(p[12] << 8 | p[13]);
		off = 14;
		while ((et == 0x8100 || et == 0x88a8) && off + 4 <= n) {
			et = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
			off += 4;
		}
		if (et != 0x0800 && et != 0x86dd)
			return;
		break;
	case DLT_LINUX_SLL:
		off = 16;
		break;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		off = 20;
		break;
#endif
	case DLT_NULL:
	case DLT_LOOP:
		off = 4;
		break;
	default:   /* raw IP */
		off = 0;
		break;
	}
	if (off >= n)
		return;
	ip_packet(d, p + off, n - off);
}

/*
 * At the end of the capture, segments still held behind a hole will never be
 * completed: decode what follows each hole rather than drop it silently. The
 * PDUs found this way carry the capture's last frame number.
 */
static void flush_flows(struct dump *d)
{
	for (unsigned b = 0; b < DUMP_BUCKETS; b++)
		for (struct flow *f = d->buckets[b]; f; f = f->next)
			for (int i = 0; i < 2; i++)
				while (f->h[i].ooo)
					skip_hole(d, f, i);
}

static void free_flows(struct dump *d)
{
	for (unsigned b = 0; b < DUMP_BUCKETS; b++) {
		struct flow *f = d->buckets[b];

		while (f) {
			struct flow *nx = f->next;

			for (int i = 0; i < 2; i++) {
				while (f->h[i].ooo) {
					struct seg *s = f->h[i].ooo;

					f->h[i].ooo = s->next;
					free(s);
				}
				free(f->h[i].buf);
			}
			free(f);
			f = nx;
		}
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: smsfw-dump [--json] [--gsm-packed] [--port N]... [--max-pdu N] FILE.pcap\n"
		"  --json        one JSON object per PDU and line\n"
		"  --gsm-packed  data_coding 0 text is packed 7-bit (default: unpacked)\n"
		"  --port N      SMPP port (repeatable; default 2775); other ports are\n"
		"                recognised by a plausible first PDU header\n"
		"  --max-pdu N   largest command_length accepted (default 65536)\n");
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == 0 || *end != 0 || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "gsm-packed", no_argument, NULL, 'g' },
		{ "port", required_argument, NULL, 'p' },
		{ "max-pdu", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char errbuf[PCAP_ERRBUF_SIZE];
	struct dump *d;
	pcap_t *pc;
	int c, rc;

	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	d->o.max_pdu = SMPP_DEFAULT_MAX_PDU;
	while ((c = getopt_long(argc, argv, "jgp:m:h", lopts, NULL)) != -1) {
		uint32_t v;

		switch (c) {
		case 'j':
			d->o.json = true;
			break;
		case 'g':
			d->o.text_flags |= SMPP_TEXT_GSM_PACKED;
			break;
		case 'p':
			if (!parse_u32(optarg, 65535, &v) || d->o.n_ports >= DUMP_MAX_PORTS) {
				fprintf(stderr, "smsfw-dump: bad --port '%s'\n", optarg);
				goto usage_error;
			}
			d->o.ports[d->o.n_ports++] = (uint16_t)v;
			break;
		case 'm':
			if (!parse_u32(optarg, UINT32_MAX, &v) || v < SMPP_HDR_LEN) {
				fprintf(stderr, "smsfw-dump: bad --max-pdu '%s'\n", optarg);
				goto usage_error;
			}
			d->o.max_pdu = v;
			break;
		case 'h':
			usage(stdout);
			free(d);
			return 0;
		default:
			goto usage_error;
		}
	}
	if (optind != argc - 1)
		goto usage_error;
	if (d->o.n_ports == 0)
		d->o.ports[d->o.n_ports++] = 2775;
	pc = pcap_open_offline(argv[optind], errbuf);
	if (!pc) {
		fprintf(stderr, "smsfw-dump: %s\n", errbuf);
		free(d);
		return 1;
	}
	d->dlt = pcap_datalink(pc);
	rc = pcap_loop(pc, -1, on_frame, (u_char *)d);
	if (rc == -1)
		fprintf(stderr, "smsfw-dump: %s (output so far is complete)\n", pcap_geterr(pc));
	flush_flows(d);
	fflush(stdout);
	fprintf(stderr,
		"smsfw-dump: %" PRIu64 " frames, %" PRIu64 " TCP segments, %" PRIu64 " PDUs, %" PRIu64
		" malformed, %" PRIu64 " retransmitted, %" PRIu64 " overlapping, %" PRIu64
		" gaps, %" PRIu64 " resync octets\n",
		d->st.frames, d->st.tcp_segments, d->st.pdus, d->st.malformed, d->st.retransmitted,
		d->st.overlaps, d->st.gaps, d->st.resync_bytes);
	pcap_close(pc);
	free_flows(d);
	free(d);
	return 0;

usage_error:
	usage(stderr);
	free(d);
	return 2;
}
