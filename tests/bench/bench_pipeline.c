/* smsfw-bench pipeline — one worker's whole path on in-memory traffic.
 *
 * Prebuilt Ethernet/IPv4/TCP frames, one submit_sm each, are fed to
 * dp_engine_frame() (the function the worker calls for every mbuf): frame →
 * flow → stream → PDU → session → decode → text → normalise → match →
 * verdict → event. rx/tx through a PMD is not included (no NIC here; the
 * PMD's cost is the same with or without smsfw). Traffic: 1,000 flows,
 * submit_sm of 184-400 bytes, 20 % matching block rules, 10 % two-part
 * concatenated messages, 10 % UCS-2; rules: the shipped set plus 5,000
 * generated ones. Then, in the same run, bare hs_scan (block mode) of a
 * database of the same patterns over the same normalised texts.
 * The last line is `pdus_per_sec=N hs_ratio=R`.
 *
 * Options (for profiling one part of the path): --no-rules times the path
 * without a ruleset (no compile, no bare scan; hs_ratio is then "n/a"),
 * --monitor runs in monitor mode (no inline enforcement), --rounds N
 * overrides the number of timed rounds (as SMSFW_BENCH_ROUNDS does),
 * --bare-rounds N those of the same path without a ruleset afterwards (3).
 */
#include <errno.h>
#include <getopt.h>
#include <hs/hs.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dp.h"
#include "pat.h"
#include "smpp.h"
#include "../dataplane/dp_testkit.h"

#define FLOWS 1000
#define PER_FLOW 40      /* frames per flow per round */
#define ROUNDS_DEFAULT 5 /* SMSFW_BENCH_ROUNDS overrides (profiling) */
#define GEN_RULES 5000

static uint64_t rng = 0x5eed2026;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static const char *const words[] = {
	"meeting", "tomorrow", "dinner", "thanks", "see", "you", "later", "call", "me", "when",
	"home", "love", "the", "train", "is", "late", "again", "can", "pick", "up", "milk",
	"please", "ok", "sure", "running", "behind", "will", "be", "there", "soon", "happy",
	"birthday", "your", "parcel", "weekend", "plans", "great", "news", "sorry", "missed",
};

static const char *gen_token(unsigned i, char *buf, size_t cap)
{
	/* A distinct nonsense word per generated rule: "zq" + base-26 of i. */
	char t[8];
	unsigned v = i;
	for (int k = 0; k < 5; k++) {
		t[k] = (char)('a' + v % 26);
		v /= 26;
	}
	t[5] = 0;
	snprintf(buf, cap, "zq%s", t);
	return buf;
}

/* Find patterns/rules from the binary's location (build/tests/bench/...). */
static int shipped_rules_dir(char *out, size_t cap)
{
	const char *env = getenv("SMSFW_RULES");
	if (env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	char src[PATH_MAX];
	snprintf(src, sizeof(src), "%s", __FILE__);
	char *srcdir = dirname(src); /* .../tests/bench, maybe relative to the build dir */
	char *bdir = dirname(dirname(dirname(exe)));
	if (srcdir[0] == '/')
		snprintf(out, cap, "%s/../../patterns/rules", srcdir);
	else
		snprintf(out, cap, "%s/%s/../../patterns/rules", bdir, srcdir);
	struct stat st;
	return stat(out, &st) == 0 ? 0 : -1;
}

struct text {
	char utf8[200];
	size_t len;
	int block, ucs2;
};

/* UTF-8 (ASCII only here, plus look-alikes) to UCS-2 big-endian. */
static uint32_t to_ucs2(const char *s, size_t n, uint8_t *out)
{
	uint32_t o = 0;
	for (size_t i = 0; i < n; i++) {
		out[o++] = 0;
		out[o++] = (uint8_t)s[i];
	}
	return o;
}

/* Encode @p pdu with smpp/ into @p out (@p cap octets); the benchmark's
 * traffic is built by the codec the dataplane decodes it with. */
static uint32_t encode(struct smpp_pdu *pdu, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (smpp_pdu_encode(pdu, out, cap, &n) != SMPP_OK) {
		fprintf(stderr, "bench: cannot encode a %s\n", smpp_cmd_name(pdu->hdr.command_id));
		exit(1);
	}
	return (uint32_t)n;
}

static uint32_t mk_submit(uint8_t *p, size_t cap, uint32_t seq, const char *dst, uint8_t esm,
			  uint8_t dcs, const uint8_t *ud, uint32_t udlen)
{
	struct smpp_pdu pdu = {
		.hdr = { .command_id = SMPP_CMD_SUBMIT_SM, .sequence_number = seq },
		.source_addr_ton = 1,
		.source_addr_npi = 1,
		.source_addr = { (const uint8_t *)"447700900001", 12 },
		.dest_addr_ton = 1,
		.dest_addr_npi = 1,
		.destination_addr = { (const uint8_t *)dst, (uint32_t)strlen(dst) },
		.esm_class = esm,
		.registered_delivery = 1,
		.data_coding = dcs,
		.short_message = { ud, udlen },
	};

	return encode(&pdu, p, cap);
}

struct frame {
	uint8_t *b;
	uint32_t len;
	uint32_t flow;
};

static uint32_t mk_frame(uint8_t *b, uint32_t flow, uint32_t seq, uint8_t flags, const uint8_t *pl,
			 uint32_t plen, int reverse)
{
	memset(b, 0, 54);
	memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	uint8_t *ip = b + 14;
	ip[0] = 0x45;
	dp_tk_put16(ip + 2, (uint16_t)(40 + plen));
	ip[8] = 64;
	ip[9] = 6;
	uint8_t a[4] = { 198, 18, (uint8_t)(flow >> 8), (uint8_t)flow };
	uint8_t s[4] = { 198, 19, 0, 2 };
	memcpy(ip + (reverse ? 16 : 12), a, 4);
	memcpy(ip + (reverse ? 12 : 16), s, 4);
	uint8_t *t = ip + 20;
	dp_tk_put16(t + (reverse ? 2 : 0), (uint16_t)(20000 + flow));
	dp_tk_put16(t + (reverse ? 0 : 2), 2775);
	dp_tk_put32(t + 4, seq);
	t[12] = 0x50;
	t[13] = flags;
	dp_tk_put16(t + 14, 65535);
	if (plen > 0)
		memcpy(b + 54, pl, plen);
	return 54 + plen;
}

/* Inline enforcement: frames the engine sends instead of the received one
 * (rebuilt segments, injected responses). Counted; for the per-round ACKs
 * the bench remembers, per flow, how far each side has been sent to. */
static unsigned long long n_tx, n_tx_esme;
static uint32_t esme_next[FLOWS]; /* the ESME's next sequence number */
static uint32_t esme_base[FLOWS]; /* ... after the first round */
static uint32_t to_smsc_end[FLOWS], to_esme_end[FLOWS];
static void bench_tx(void *arg, unsigned pair, int to_smsc, const uint8_t *fr, uint32_t len)
{
	(void)arg;
	(void)pair;
	n_tx++;
	if (len < 54)
		return;
	const uint8_t *t = fr + 14 + 20;
	uint32_t plen = len - 54;
	uint16_t esme_port = to_smsc ? (uint16_t)(t[0] << 8 | t[1]) : (uint16_t)(t[2] << 8 | t[3]);
	uint32_t flow = (uint32_t)(esme_port - 20000);
	if (flow >= FLOWS)
		return;
	uint32_t end = ((uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7]) + plen;
	if (to_smsc) {
		if ((int32_t)(end - to_smsc_end[flow]) > 0)
			to_smsc_end[flow] = end;
	} else {
		n_tx_esme++;
		if ((int32_t)(end - to_esme_end[flow]) > 0)
			to_esme_end[flow] = end;
	}
}

/* Feed a frame as the worker does: the engine may rewrite it in place, so
 * the prebuilt frame is copied first (the copy stands for the rx mbuf). */
static uint8_t rxbuf[2048];
static void feed(struct dp_engine *e, const uint8_t *b, uint32_t len)
{
	memcpy(rxbuf, b, len);
	dp_engine_frame_rw(e, rxbuf, len);
}

/* A frame the loop reaches soon (the worker prefetches the next mbuf's
 * data the same way). */
static void prefetch_frame(const uint8_t *b, uint32_t len)
{
	for (uint32_t o = 0; o < len; o += 64)
		__builtin_prefetch(b + o);
}

static unsigned long long n_events, n_block;
static void sink(void *arg, const struct dp_event *ev)
{
	(void)arg;
	n_events++;
	if (ev->verdict != DP_VERDICT_PASS)
		n_block++;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned fl, void *c)
{
	(void)id; (void)from; (void)to; (void)fl;
	(*(unsigned long long *)c)++;
	return 0;
}

/* After a round (untimed): the SMSC acknowledges what it was sent, the ESMEs
 * what they were sent (their injected responses included), so edits are
 * pruned as on a live link. */
static void ack_round(struct dp_engine *e, uint32_t cseq0, const uint32_t *flow_bytes, int round)
{
	static uint8_t b[128];
	for (unsigned f = 0; f < FLOWS; f++) {
		uint32_t len = mk_frame(b, f, 7018, 0x10, NULL, 0, 1);
		dp_tk_put32(b + 14 + 20 + 8, to_smsc_end[f]);
		feed(e, b, len);
		(void)cseq0;
		esme_next[f] = esme_base[f] + (uint32_t)round * flow_bytes[f];
		len = mk_frame(b, f, esme_next[f], 0x10, NULL, 0, 0);
		dp_tk_put32(b + 14 + 20 + 8, to_esme_end[f]);
		feed(e, b, len);
	}
}

/* The shipped rules plus GEN_RULES generated ones, compiled. */
static int load_rules(struct pat_ruleset **rsp, double *t_compile)
{
	char shipped[PATH_MAX];
	if (shipped_rules_dir(shipped, sizeof(shipped)) != 0) {
		fprintf(stderr, "shipped rules not found (set SMSFW_RULES)\n");
		return -1;
	}
	/* Rules: the shipped directory's files plus the generated file. */
	char dir[] = "/tmp/smsfw-bench-rules.XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	char cmd[PATH_MAX * 2 + 64];
	snprintf(cmd, sizeof(cmd), "cp '%s'/* '%s'/", shipped, dir);
	if (system(cmd) != 0)
		return -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/zz-generated.rules", dir);
	FILE *g = fopen(path, "w");
	char tok[16];
	for (unsigned i = 0; i < GEN_RULES; i++)
		fprintf(g, "rule id=%u cat=spam target=norm action=block pat=/\\b%s\\b/ desc=\"generated %u\"\n",
			500000 + i, gen_token(i, tok, sizeof(tok)), i);
	fclose(g);
	struct pat_error perr;
	double t0 = now_s();
	int rc = pat_ruleset_compile_dir(dir, NULL, rsp, &perr);
	*t_compile = now_s() - t0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	if (rc != PAT_OK) {
		fprintf(stderr, "rules: %s %s:%u %s\n", pat_strerror(rc), perr.file, perr.line, perr.message);
		return -1;
	}

	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: smsfw-bench pipeline [--no-rules] [--monitor] [--rounds N] [--bare-rounds N]\n");
}

int main(int argc, char **argv)
{
	int no_rules = 0, monitor = 0, rounds_opt = 0, bare_rounds = 3;
	static const struct option lopts[] = {
		{ "no-rules", no_argument, NULL, 'n' },
		{ "monitor", no_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "bare-rounds", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	for (int o; (o = getopt_long(argc, argv, "nmr:b:h", lopts, NULL)) != -1;) {
		switch (o) {
		case 'n': no_rules = 1; break;
		case 'm': monitor = 1; break;
		case 'r': rounds_opt = atoi(optarg); break;
		case 'b': bare_rounds = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (dp_tk_eal_init("smsfw-bench-pipeline", "bench", "512") < 0)
		return 1;
	int ROUNDS = ROUNDS_DEFAULT;
	if (getenv("SMSFW_BENCH_ROUNDS"))
		ROUNDS = atoi(getenv("SMSFW_BENCH_ROUNDS")) > 0 ? atoi(getenv("SMSFW_BENCH_ROUNDS")) : 1;
	if (rounds_opt > 0)
		ROUNDS = rounds_opt;
	struct pat_ruleset *rs = NULL;
	double t_compile = 0;
	char tok[16];
	if (!no_rules && load_rules(&rs, &t_compile) != 0)
		return 1;

	/* Traffic. */
	static struct text texts[FLOWS * PER_FLOW];
	unsigned n_texts = FLOWS * PER_FLOW, n_block_t = 0, n_ucs2 = 0, n_concat = 0;
	for (unsigned i = 0; i < n_texts; i++) {
		struct text *t = &texts[i];
		size_t target = 128 + rnd(33);
		t->len = 0;
		t->block = rnd(100) < 20;
		t->ucs2 = rnd(100) < 10;
		int tokpos = t->block ? (int)rnd(8) : -1;
		for (int w = 0; t->len < target; w++) {
			const char *word = w == tokpos ? gen_token(rnd(GEN_RULES), tok, sizeof(tok))
						       : words[rnd(sizeof(words) / sizeof(words[0]))];
			int n = snprintf(t->utf8 + t->len, sizeof(t->utf8) - t->len, "%s%s",
					 t->len ? " " : "", word);
			t->len += (size_t)n;
		}
		if (t->len > 160)
			t->len = 160;
		n_block_t += (unsigned)t->block;
		n_ucs2 += (unsigned)t->ucs2;
	}
	/* Frames: per flow a handshake and a bind (not timed), then PER_FLOW
	 * submits, one PDU per frame; every tenth pair of a flow's submits is
	 * a two-part concatenated message. */
	static uint8_t setup_buf[FLOWS][3][160];
	static uint32_t setup_len[FLOWS][3];
	struct frame *fr = calloc(n_texts, sizeof(*fr));
	uint8_t *mem = malloc((size_t)n_texts * 520);
	uint32_t cseq0 = 1000;
	uint64_t bytes = 0;
	unsigned min_pdu = 100000, max_pdu = 0;
	uint32_t flow_bytes[FLOWS];
	for (unsigned f = 0; f < FLOWS; f++) {
		uint8_t pdu[128];
		char sid[16];
		snprintf(sid, sizeof(sid), "cust%u", f % 50);
		struct smpp_pdu bind = {
			.hdr = { .command_id = SMPP_CMD_BIND_TRANSCEIVER, .sequence_number = 1 },
			.system_id = { (const uint8_t *)sid, (uint32_t)strlen(sid) },
			.password = { (const uint8_t *)"pw", 2 },
			.interface_version = 0x34,
		};
		uint32_t o = encode(&bind, pdu, sizeof(pdu));
		setup_len[f][0] = mk_frame(setup_buf[f][0], f, cseq0 - 1, 0x02, NULL, 0, 0);
		uint8_t resp[32];
		dp_tk_put32(resp, 17); dp_tk_put32(resp + 4, 0x80000009); dp_tk_put32(resp + 8, 0); dp_tk_put32(resp + 12, 1);
		resp[16] = 0;
		setup_len[f][1] = mk_frame(setup_buf[f][1], f, 7000, 0x12, resp, 17, 1);
		setup_len[f][2] = mk_frame(setup_buf[f][2], f, cseq0, 0x18, pdu, o, 0);
		flow_bytes[f] = 0;
	}
	unsigned k = 0;
	uint32_t fseq[FLOWS];
	for (unsigned f = 0; f < FLOWS; f++)
		fseq[f] = cseq0 + (uint32_t)(setup_len[f][2] - 54);
	for (unsigned r = 0; r < PER_FLOW; r++) {
		for (unsigned f = 0; f < FLOWS; f++, k++) {
			struct text *t = &texts[k];
			uint8_t ud[400];
			uint32_t udlen = 0;
			uint8_t esm = 0;
			int concat = (r % 10 == 0 || r % 10 == 1) && (f % 2 == 0);
			if (concat) {
				uint8_t udh[6] = { 5, 0, 3, (uint8_t)(f + r / 10), 2, (uint8_t)(r % 10 + 1) };
				memcpy(ud, udh, 6);
				udlen = 6;
				esm = 0x40;
				n_concat++;
			}
			uint8_t dcs = t->ucs2 ? 8 : 1;
			size_t tl = t->len;
			if (t->ucs2 && tl > 120)
				tl = 120; /* 240 octets of short_message (SMPP allows 254) */
			if (udlen + (t->ucs2 ? 2 * tl : tl) > 254)
				tl = (254 - udlen) / (t->ucs2 ? 2 : 1);
			udlen += t->ucs2 ? to_ucs2(t->utf8, tl, ud + udlen) : (memcpy(ud + udlen, t->utf8, tl), (uint32_t)tl);
			char dst[24];
			snprintf(dst, sizeof(dst), "4477%07u", rnd(9000000));
			uint8_t pdu[520];
			uint32_t pl = mk_submit(pdu, sizeof(pdu), 2 + r, dst, esm, dcs, ud, udlen);
			if (pl < min_pdu) min_pdu = pl;
			if (pl > max_pdu) max_pdu = pl;
			fr[k].b = mem + (size_t)k * 520;
			fr[k].flow = f;
			fr[k].len = mk_frame(fr[k].b, f, fseq[f], 0x18, pdu, pl, 0);
			fseq[f] += pl;
			flow_bytes[f] += pl;
			bytes += fr[k].len;
		}
	}
	for (unsigned f = 0; f < FLOWS; f++)
		esme_base[f] = fseq[f];
	/* Interleave the flows as a NIC would deliver them: frame order is
	 * round-robin over flows already (r outer, f inner). */

	struct dp_settings set;
	dp_settings_default(&set);
	set.flows_max = 4096;
	set.concat_max = 4096;
	set.monitor = (uint8_t)monitor; /* inline: blocked PDUs are removed and answered */
	set.edit_flows = FLOWS + 24;
	struct dp_engine *e = dp_engine_create(0, &set, 0);
	dp_engine_set_tx(e, bench_tx, NULL);
	for (unsigned f = 0; f < FLOWS; f++)
		to_smsc_end[f] = cseq0, to_esme_end[f] = 7018;
	struct dp_rules rules = { .rs = rs };
	if (rs != NULL) {
		int rc = pat_scratch_alloc(rs, &rules.scratch[0]);
		if (rc != PAT_OK) {
			fprintf(stderr, "bench: scratch: %s\n", pat_strerror(rc));
			exit(1);
		}
		rules.stream_size = (pat_stream_size(rs) + 7) & ~(size_t)7;
		rules.concat_mem[0] = calloc(set.concat_max, rules.stream_size);
		if (rules.concat_mem[0] == NULL) {
			fprintf(stderr, "bench: out of memory for %u concatenation streams\n", set.concat_max);
			exit(1);
		}
	}
	struct dp_snapshot snap = { .generation = 1, .rules = rs ? &rules : NULL };
	dp_engine_set_snapshot(e, &snap);
	dp_engine_set_event_sink(e, sink, NULL);
	dp_engine_set_time(e, 1000);
	for (unsigned f = 0; f < FLOWS; f++)
		for (int s = 0; s < 3; s++)
			dp_engine_frame(e, setup_buf[f][s], setup_len[f][s]);

	printf("smsfw-bench pipeline\n");
	printf("  stages: frame parse, flow lookup, stream cut, session, decode, text, normalise,\n"
	       "          %sverdict, event, %s; frames copied and fed to\n"
	       "          dp_engine_frame_rw (no PMD rx/tx); untimed ACKs from both ends each round\n",
	       rs ? "Hyperscan match, " : "",
	       monitor ? "monitor mode (no enforcement)"
		       : "inline enforcement (remove blocked PDUs,\n"
			 "          inject responses, rewrite seq/ack)");
	printf("  traffic: %u flows, %u submit_sm per round x %d rounds, one PDU per frame,\n"
	       "           PDU %u-%u bytes, %.0f %% block-rule texts, %.0f %% concatenated parts, %.0f %% UCS-2\n",
	       FLOWS, n_texts, ROUNDS, min_pdu, max_pdu, 100.0 * n_block_t / n_texts,
	       100.0 * n_concat / n_texts, 100.0 * n_ucs2 / n_texts);
	if (rs != NULL)
		printf("  rules: %zu (shipped + %d generated), compiled in %.1f s\n",
		       pat_ruleset_rule_count(rs), GEN_RULES, t_compile);
	else
		printf("  rules: none (--no-rules: no matching, fail_no_ruleset=open)\n");
	fflush(stdout);

	double busy = 0;
	unsigned long long pdus = 0;
	uint64_t wire = 0;
	for (int round = 0; round < ROUNDS; round++) {
		if (round > 0) {
			/* Next round continues each flow's byte stream (untimed). */
			for (unsigned i = 0; i < n_texts; i++) {
				uint8_t *seqp = fr[i].b + 14 + 20 + 4;
				dp_tk_put32(seqp, dp_tk_get32(seqp) + flow_bytes[fr[i].flow]);
			}
		}
		dp_engine_set_time(e, 1000 + (uint64_t)round * 10);
		double a = now_s();
		for (unsigned i = 0; i < n_texts; i++) {
			/* As the worker does for the next mbuf of its burst. */
			if (i + 2 < n_texts)
				prefetch_frame(fr[i + 2].b, fr[i + 2].len);
			feed(e, fr[i].b, fr[i].len);
		}
		busy += now_s() - a;
		ack_round(e, cseq0, flow_bytes, round);
		pdus += n_texts;
		wire += bytes;
	}
	struct dp_counters *c = dp_engine_counters(e);
	double pps = (double)pdus / busy;
	printf("pipeline: %llu PDUs in %.3f s on one worker core: %.0f PDUs/s, %.2f Gbps of frames\n",
	       pdus, busy, pps, (double)wire * 8 / busy / 1e9);
	printf("  verdicts: pass %llu, block %llu, throttle %llu (content %llu, bulk %llu, velocity %llu); "
	       "stream resync %llu retrans %llu\n",
	       (unsigned long long)c->verdicts[0], (unsigned long long)c->verdicts[1],
	       (unsigned long long)c->verdicts[2], (unsigned long long)c->cat[DP_CAT_CONTENT],
	       (unsigned long long)c->cat[DP_CAT_BULK], (unsigned long long)c->cat[DP_CAT_VELOCITY],
	       (unsigned long long)c->stream.resync, (unsigned long long)c->stream.retrans);
	printf("  enforcement: %llu PDUs removed, %llu responses injected, %llu frames sent "
	       "(%llu toward ESMEs), edit slots %llu, flow resets %llu\n",
	       (unsigned long long)c->edit_pdus_removed, (unsigned long long)c->edit_resp_injected,
	       n_tx, n_tx_esme, (unsigned long long)c->edit_slots_alloc,
	       (unsigned long long)c->edit_resets);
	if (c->submits != pdus)
		printf("  WARNING: %llu submits judged for %llu frames\n", (unsigned long long)c->submits, pdus);

	if (rs == NULL) {
		printf("pdus_per_sec=%.0f hs_ratio=n/a\n", pps);
		dp_engine_free(e);
		free(fr);
		free(mem);
		dp_eal_cleanup();
		return 0;
	}
	/* The same path without a ruleset: what everything but matching costs. */
	struct dp_snapshot bare = { .generation = 2, .rules = NULL };
	dp_engine_set_snapshot(e, &bare);
	double nb = 0;
	for (int round = 0; round < bare_rounds; round++) {
		for (unsigned i = 0; i < n_texts; i++) {
			uint8_t *seqp = fr[i].b + 14 + 20 + 4;
			dp_tk_put32(seqp, dp_tk_get32(seqp) + flow_bytes[fr[i].flow]);
		}
		double a = now_s();
		for (unsigned i = 0; i < n_texts; i++) {
			if (i + 2 < n_texts)
				prefetch_frame(fr[i + 2].b, fr[i + 2].len);
			feed(e, fr[i].b, fr[i].len);
		}
		nb += now_s() - a;
		ack_round(e, cseq0, flow_bytes, ROUNDS + round);
	}
	printf("  without a ruleset (frame..verdict, no matching): %.0f PDUs/s\n",
	       (double)n_texts * bare_rounds / nb);
	dp_engine_set_snapshot(e, &snap);

	/* Bare hs_scan: the text rules' patterns in one block-mode database,
	 * over the same (normalised) texts. */
	size_t nr = pat_ruleset_rule_count(rs);
	const char **exprs = calloc(nr, sizeof(*exprs));
	unsigned *flags = calloc(nr, sizeof(*flags)), *ids = calloc(nr, sizeof(*ids));
	char **owned = calloc(nr, sizeof(*owned));
	unsigned ne = 0;
	for (uint32_t id = 0; id < 600000 && ne < nr; id++) {
		struct pat_rule_info ri;
		if (pat_rule_info(rs, id, &ri) != PAT_OK || ri.is_list || ri.pattern == NULL ||
		    ri.target == PAT_TARGET_SENDER || ri.target == PAT_TARGET_DEST)
			continue;
		const char *p = ri.pattern;
		const char *end = strrchr(p, '/');
		if (p[0] != '/' || end == NULL || end == p)
			continue;
		owned[ne] = strndup(p + 1, (size_t)(end - p - 1));
		unsigned fl = HS_FLAG_SINGLEMATCH;
		for (const char *q = end + 1; *q; q++)
			fl |= *q == 'i' ? HS_FLAG_CASELESS : *q == 's' ? HS_FLAG_DOTALL
			      : *q == 'm' ? HS_FLAG_MULTILINE : *q == 'u' ? (HS_FLAG_UTF8 | HS_FLAG_UCP) : 0;
		exprs[ne] = owned[ne];
		flags[ne] = fl;
		ids[ne] = id;
		ne++;
	}
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;
	if (hs_compile_multi(exprs, flags, ids, ne, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
		fprintf(stderr, "bare database: %s\n", ce ? ce->message : "?");
		return 1;
	}
	hs_scratch_t *scr = NULL;
	hs_alloc_scratch(db, &scr);
	char (*norm)[400] = malloc((size_t)n_texts * 400);
	size_t *nlen = malloc(n_texts * sizeof(*nlen));
	for (unsigned i = 0; i < n_texts; i++)
		nlen[i] = pat_normalise(texts[i].utf8, texts[i].len, norm[i], 400, 0);
	unsigned long long matches = 0;
	double hs_busy = 0;
	for (int round = 0; round < ROUNDS; round++) {
		double a = now_s();
		for (unsigned i = 0; i < n_texts; i++)
			hs_scan(db, norm[i], (unsigned)nlen[i], 0, scr, on_match, &matches);
		hs_busy += now_s() - a;
	}
	double hs_rate = (double)n_texts * ROUNDS / hs_busy;
	printf("bare hs_scan: %u patterns, block mode, %.0f texts/s (%llu matches)\n", ne, hs_rate,
	       matches);
	printf("pdus_per_sec=%.0f hs_ratio=%.3f\n", pps, pps / hs_rate);
	hs_free_scratch(scr);
	hs_free_database(db);
	dp_engine_free(e);
	pat_scratch_free(rules.scratch[0]);
	pat_ruleset_free(rs);
	free(fr);
	free(mem);
	free(rules.concat_mem[0]);
	free(norm);
	free(nlen);
	for (unsigned i = 0; i < ne; i++)
		free(owned[i]);
	free(owned);
	free(exprs);
	free(flags);
	free(ids);
	dp_eal_cleanup();
	return 0;
}
