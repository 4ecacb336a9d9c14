/* dp_frame.c — Ethernet / 802.1Q / QinQ / IPv4 / IPv6 / TCP header parsing.
 *
 * Works on a (pointer, length) view of one frame, never reads past it, and
 * never writes. Everything it cannot classify as a TCP segment is reported as
 * OTHER (forwarded untouched by the bridge), FRAG or BAD (both counted and
 * handled by policy in the worker).
 */
#include <string.h>

#include "dp_priv.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

#define IPPROTO_TCP_ 6
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AH 51
#define IP6_DSTOPTS 60
#define IP6_MOBILITY 135
#define IP6_NONE 59
#define IP6_MAX_EXT 8 /**< more extension headers than this: BAD (evasion) */

/* Parses the TCP header at off; len is the end of the IP payload (not of the
 * frame, which may carry Ethernet padding). */
static enum dp_frame_kind parse_tcp(const uint8_t *p, uint32_t off, uint32_t end,
				    struct dp_frame *f)
{
	if (end < off || end - off < 20)
		return DP_FRAME_BAD;
	const uint8_t *t = p + off;
	uint32_t doff = (uint32_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > end - off)
		return DP_FRAME_BAD;
	f->l4_off = (uint16_t)off;
	f->sport = dp_rd16(t);
	f->dport = dp_rd16(t + 2);
	f->seq = dp_rd32(t + 4);
	f->ack = dp_rd32(t + 8);
	f->tcp_flags = t[13];
	f->payload = t + doff;
	f->payload_len = end - off - doff;
	return DP_FRAME_TCP;
}

static enum dp_frame_kind parse_ipv4(const uint8_t *p, uint32_t off, uint32_t len,
				     struct dp_frame *f)
{
	if (len - off < 20)
		return DP_FRAME_BAD;
	const uint8_t *ip = p + off;
	if ((ip[0] >> 4) != 4)
		return DP_FRAME_BAD;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	uint32_t tot = dp_rd16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > len - off)
		return DP_FRAME_BAD;
	f->family = 4;
	f->l3_off = (uint16_t)off;
	f->l4proto = ip[9];
	memcpy(f->saddr, ip + 12, 4);
	memcpy(f->daddr, ip + 16, 4);
	uint16_t frag = dp_rd16(ip + 6);
	if (frag & 0x3fff) { /* MF set or a non-zero offset */
		f->frag_id = dp_rd16(ip + 4);
		f->frag_first = (frag & 0x1fff) == 0;
		f->frag_more = (frag & 0x2000) != 0;
		f->frag_off = (uint32_t)(frag & 0x1fff) * 8;
		f->frag_data_off = (uint16_t)(off + ihl);
		f->frag_data_len = (uint16_t)(tot - ihl);
		f->frag_hdr_off = (uint16_t)off;
		if (f->frag_first && f->l4proto == IPPROTO_TCP_ && tot - ihl >= 4) {
			f->sport = dp_rd16(ip + ihl);
			f->dport = dp_rd16(ip + ihl + 2);
		}
		return DP_FRAME_FRAG;
	}
	if (f->l4proto != IPPROTO_TCP_)
		return DP_FRAME_OTHER;
	return parse_tcp(p, off + ihl, off + tot, f);
}

static enum dp_frame_kind parse_ipv6(const uint8_t *p, uint32_t off, uint32_t len,
				     struct dp_frame *f)
{
	if (len - off < 40)
		return DP_FRAME_BAD;
	const uint8_t *ip = p + off;
	if ((ip[0] >> 4) != 6)
		return DP_FRAME_BAD;
	uint32_t plen = dp_rd16(ip + 4);
	if (plen > len - off - 40)
		return DP_FRAME_BAD; /* jumbograms (plen 0 + option) are not supported: BAD */
	uint32_t end = off + 40 + plen;
	f->family = 6;
	f->l3_off = (uint16_t)off;
	memcpy(f->saddr, ip + 8, 16);
	memcpy(f->daddr, ip + 24, 16);
	uint8_t nh = ip[6];
	uint32_t cur = off + 40;
	uint32_t nh_at = off + 6; /* the byte that holds nh */
	for (int i = 0; i <= IP6_MAX_EXT; i++) {
		switch (nh) {
		case IPPROTO_TCP_:
			f->l4proto = nh;
			return parse_tcp(p, cur, end, f);
		case IP6_HOPOPTS:
		case IP6_ROUTING:
		case IP6_DSTOPTS:
		case IP6_MOBILITY: {
			if (end - cur < 8)
				return DP_FRAME_BAD;
			uint32_t elen = ((uint32_t)p[cur + 1] + 1) * 8;
			if (elen > end - cur)
				return DP_FRAME_BAD;
			nh_at = cur;
			nh = p[cur];
			cur += elen;
			break;
		}
		case IP6_AH: {
			if (end - cur < 8)
				return DP_FRAME_BAD;
			uint32_t elen = ((uint32_t)p[cur + 1] + 2) * 4;
			if (elen > end - cur)
				return DP_FRAME_BAD;
			nh_at = cur;
			nh = p[cur];
			cur += elen;
			break;
		}
		case IP6_FRAGMENT:
			if (end - cur < 8)
				return DP_FRAME_BAD;
			f->l4proto = p[cur];
			/* An atomic fragment (offset 0, M clear) is a whole packet. */
			if ((dp_rd16(p + cur + 2) & 0xfff9) != 0) {
				f->frag_id = dp_rd32(p + cur + 4);
				f->frag_first = (dp_rd16(p + cur + 2) & 0xfff8) == 0;
				f->frag_more = (p[cur + 3] & 1) != 0;
				f->frag_off = dp_rd16(p + cur + 2) & 0xfff8u;
				f->frag_data_off = (uint16_t)(cur + 8);
				f->frag_data_len = (uint16_t)(end - cur - 8);
				f->frag_hdr_off = (uint16_t)cur;
				f->frag_nh_off = (uint16_t)nh_at;
				if (f->frag_first && f->l4proto == IPPROTO_TCP_ && end - cur - 8 >= 4) {
					f->sport = dp_rd16(p + cur + 8);
					f->dport = dp_rd16(p + cur + 10);
				}
				return DP_FRAME_FRAG;
			}
			nh_at = cur;
			nh = p[cur];
			cur += 8;
			break;
		default:
			f->l4proto = nh;
			return DP_FRAME_OTHER;
		}
	}
	return DP_FRAME_BAD;
}

enum dp_frame_kind dp_frame_parse(const uint8_t *p, uint32_t len, struct dp_frame *f)
{
	memset(f, 0, offsetof(struct dp_frame, saddr));
	if (p == NULL || len < ETH_HLEN)
		return DP_FRAME_BAD;
	uint32_t off = 12;
	uint16_t et = dp_rd16(p + off);
	while (et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ || et == ETHERTYPE_QINQ_OLD) {
		if (f->n_vlan == DP_MAX_VLAN || len - off < 6)
			return f->n_vlan == DP_MAX_VLAN ? DP_FRAME_OTHER : DP_FRAME_BAD;
		f->vlan[f->n_vlan++] = dp_rd16(p + off + 2);
		off += 4;
		et = dp_rd16(p + off);
	}
	off += 2;
	if (et == ETHERTYPE_IPV4)
		return parse_ipv4(p, off, len, f);
	if (et == ETHERTYPE_IPV6)
		return parse_ipv6(p, off, len, f);
	return DP_FRAME_OTHER;
}

enum dp_dir dp_flow_key_make(const struct dp_frame *f, struct dp_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	const uint8_t *lo, *hi;
	enum dp_dir d;
	if (f->family != 6) {
		/* memcmp's order: the addresses as big-endian numbers. */
		uint32_t sa = dp_rd32(f->saddr), da = dp_rd32(f->daddr);
		d = (sa < da || (sa == da && f->sport <= f->dport)) ? DP_DIR_LO : DP_DIR_HI;
		lo = d == DP_DIR_LO ? f->saddr : f->daddr;
		hi = d == DP_DIR_LO ? f->daddr : f->saddr;
		memcpy(k->lo_addr, lo, 4);
		memcpy(k->hi_addr, hi, 4);
	} else {
		int c = memcmp(f->saddr, f->daddr, 16);
		d = (c < 0 || (c == 0 && f->sport <= f->dport)) ? DP_DIR_LO : DP_DIR_HI;
		lo = d == DP_DIR_LO ? f->saddr : f->daddr;
		hi = d == DP_DIR_LO ? f->daddr : f->saddr;
		memcpy(k->lo_addr, lo, 16);
		memcpy(k->hi_addr, hi, 16);
	}
	k->lo_port = d == DP_DIR_LO ? f->sport : f->dport;
	k->hi_port = d == DP_DIR_LO ? f->dport : f->sport;
	k->family = f->family;
	k->proto = f->l4proto;
	k->vlan = dp_frame_vlan(f);
	return d;
}
