/* libFuzzer target: IP fragment reassembly (dataplane/dp_frag.c) through the
 * engine. The input describes one TCP segment (IPv4 or IPv6, optional
 * 802.1Q, to the SMPP port or to port 80, payload from the input; IPv6: a
 * destination options header after the fragment header, later fragments
 * naming UDP in their fragment header) and a
 * script of fragments cut from it: offset, length, more-fragments flag,
 * altered bytes (overlaps that differ), one of four fragment ids. They are
 * fed in script order in inline or monitor mode. Checked: no out-of-bounds
 * access (exact-size copies, ASan), every frame the engine sends parses and
 * fits a frame, and once the clock passes the reassembly timeout nothing
 * stays held: a fresh two-fragment SMPP packet is reassembled (the tables'
 * room and held bytes came back).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dp.h"
#include "../dataplane/dp_testkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_engine *eng;
static struct dp_settings eset;

static void tx_check(void *arg, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len)
{
	(void)arg;
	(void)pair;
	(void)to_smsc;
	if (len < 14 || len > 2048)
		abort();
	uint8_t *copy = malloc(len);
	memcpy(copy, fr, len);
	struct dp_frame f;
	if (dp_frame_parse(copy, len, &f) == DP_FRAME_BAD)
		abort();
	free(copy);
}

static void engine_init(void)
{
	if (dp_tk_eal_init("fuzz_dp_frag", "fzfr", "128") < 0)
		abort();
	dp_tk_settings(&eset);
	eset.edit_flows = 8;
	eset.frag_packets = 4;
	eset.frag_bytes = 8192;
	eng = dp_engine_create(0, &eset, 0);
	if (eng == NULL)
		abort();
	dp_engine_set_tx(eng, tx_check, NULL);
}

struct seg_shape {
	int v6, vlan;
	uint16_t dport;
	int dstopt, udp_later; /* IPv6 only */
};

/* The frame's headers up to the IP payload; @return their length, *l3 set. */
static uint32_t mk_hdr(uint8_t *f, const struct seg_shape *s, uint32_t *l3)
{
	memset(f, 0, 64);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	uint32_t o = 12;
	if (s->vlan) {
		dp_tk_put16(f + o, 0x8100);
		dp_tk_put16(f + o + 2, 7);
		o += 4;
	}
	dp_tk_put16(f + o, s->v6 ? 0x86dd : 0x0800);
	o += 2;
	*l3 = o;
	if (!s->v6) {
		f[o] = 0x45;
		f[o + 8] = 64;
		f[o + 9] = 6;
		memcpy(f + o + 12, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8);
		return o + 20;
	}
	f[o] = 0x60;
	f[o + 6] = 44;
	f[o + 7] = 64;
	f[o + 23] = 1;
	f[o + 39] = 2;
	return o + 40 + 8; /* the fragment header follows */
}

/* One fragment of the IP payload w[0..wlen): [off, off+n). */
static void feed_frag(const struct seg_shape *s, const uint8_t *w, uint32_t off, uint32_t n,
		      bool more, uint32_t id)
{
	uint8_t f[2048];
	uint32_t l3;
	uint32_t h = mk_hdr(f, s, &l3);
	if (!s->v6) {
		dp_tk_put16(f + l3 + 2, 20 + n);
		dp_tk_put16(f + l3 + 4, id);
		dp_tk_put16(f + l3 + 6, (more ? 0x2000u : 0) | (off / 8));
	} else {
		dp_tk_put16(f + l3 + 4, 8 + n);
		f[h - 8] = off != 0 && s->udp_later ? 17 : s->dstopt ? 60 : 6;
		dp_tk_put16(f + h - 6, off | (more ? 1u : 0));
		dp_tk_put32(f + h - 4, id);
	}
	memcpy(f + h, w + off, n);
	uint32_t len = h + n < 60 ? 60 : h + n;
	uint8_t *copy = malloc(len); /* exact size: over-reads fault */
	memcpy(copy, f, len);
	dp_engine_set_rx(eng, 0, 0);
	dp_engine_frame_rw(eng, copy, len);
	free(copy);
}

/* A TCP segment's IP payload: header + payload. */
static uint32_t mk_tcp(uint8_t *w, uint16_t dport, uint32_t seq, const uint8_t *pl, uint32_t n)
{
	memset(w, 0, 20);
	dp_tk_put16(w, 40000);
	dp_tk_put16(w + 2, dport);
	dp_tk_put32(w + 4, seq);
	w[12] = 0x50;
	w[13] = 0x18;
	dp_tk_put16(w + 14, 65535);
	memcpy(w + 20, pl, n);
	return 20 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (eng == NULL)
		engine_init();
	if (size < 2)
		return 0;
	static uint64_t now = 1000;
	now += 10000;
	dp_engine_set_time(eng, now);
	uint8_t *in = malloc(size);
	memcpy(in, data, size);
	struct seg_shape s = { in[0] & 1, (in[0] >> 3) & 1, (in[0] & 4) ? 2775 : 80,
			       (in[0] & 1) && (in[0] & 0x10), (in[0] & 1) && (in[0] & 0x20) };
	dp_engine_set_monitor(eng, (in[0] & 2) != 0);
	uint32_t pl = in[1] * 4u;
	if (pl > size - 2)
		pl = (uint32_t)(size - 2);
	static uint8_t w[1200], alt[1200];
	uint32_t wlen = 0;
	if (s.dstopt) { /* next: TCP; PadN of 4 bytes */
		memcpy(w, "\x06\x00\x01\x04\x00\x00\x00\x00", 8);
		wlen = 8;
	}
	wlen += mk_tcp(w + wlen, s.dport, (uint32_t)now, in + 2, pl);
	const uint8_t *ops = in + 2 + pl;
	size_t n_ops = (size - 2 - pl) / 4;
	for (size_t i = 0; i < n_ops; i++) {
		const uint8_t *op = ops + 4 * i;
		uint32_t off = (uint32_t)op[0] * 8, n = (uint32_t)op[1] * 8 + (op[2] & 7);
		if (off >= wlen)
			continue;
		if (n > wlen - off || n == 0)
			n = wlen - off;
		const uint8_t *src = w;
		if (op[2] & 0x40) {
			memcpy(alt, w, wlen);
			for (uint32_t k = off; k < off + n; k += 5)
				alt[k] ^= 0xa5;
			src = alt;
		}
		feed_frag(&s, src, off, n, (op[2] & 0x80) != 0, 0x100u + (op[3] & 3));
	}
	/* Past the timeout nothing stays held. */
	now += eset.frag_timeout_ms;
	dp_engine_set_time(eng, now);
	dp_engine_expire(eng, 64);
	struct dp_counters *c = dp_engine_counters(eng);
	uint64_t before = c->frag_reassembled;
	struct seg_shape probe = { 0, 0, 2775 };
	static const uint8_t sub[16] = { 0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 9 };
	uint8_t pw[64];
	uint32_t plen = mk_tcp(pw, 2775, 77, sub, 16);
	feed_frag(&probe, pw, 0, 24, true, 0xfeed);
	feed_frag(&probe, pw, 24, plen - 24, false, 0xfeed);
	if (c->frag_reassembled != before + 1)
		abort();
	free(in);
	return 0;
}
