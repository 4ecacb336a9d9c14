/* Scaffolding shared by the in-process dataplane tests and the pipeline
 * bench: big-endian field writers, the EAL start-up (no hugepages, no
 * PCI, one lcore, a per-program --file-prefix so parallel runs never share
 * runtime files) and the SMPP PDUs the tests send most (a transceiver bind,
 * a submit_sm), and a ruleset loaded for one worker. Header only, so tests/bench can include it as it is. */
#ifndef SMSFW_DP_TESTKIT_H
#define SMSFW_DP_TESTKIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dp.h"
#include "pat.h"
#include "smpp.h"

static inline void dp_tk_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dp_tk_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t dp_tk_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A test peer's received TCP stream: n payload bytes pl that arrived at
 * stream offset off land in rx (have marks the bytes received; both cap
 * bytes), a byte already there with another value counts in *conflicts,
 * and *rcv_len moves over what is now contiguous. Returns false, at the
 * first byte that falls at or past cap, if the stream overflows. */
static inline bool dp_tk_rx_place(uint8_t *rx, uint8_t *have, uint32_t cap, uint32_t off,
				  const uint8_t *pl, uint32_t n, uint32_t *conflicts,
				  uint32_t *rcv_len)
{
	for (uint32_t k = 0; k < n; k++) {
		uint32_t o = off + k;
		if (o >= cap)
			return false;
		if (have[o] && rx[o] != pl[k])
			(*conflicts)++;
		rx[o] = pl[k];
		have[o] = 1;
	}
	while (*rcv_len < cap && have[*rcv_len])
		(*rcv_len)++;
	return true;
}

/* Start the EAL for program `prog` with `mem_mb` MB of memory and the file
 * prefix `<tag><pid>`. Returns 0, or -1 (message on stderr) on failure. */
static inline int dp_tk_eal_init(const char *prog, const char *tag, const char *mem_mb)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s%d", tag, (int)getpid());
	char *eal[] = { (char *)prog, "--no-huge", "--no-shconf", "--no-pci", "-m", (char *)mem_mb,
			"-l", "0", "--no-telemetry", "--log-level=*:error", prefix, NULL };
	if (rte_eal_init(11, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return -1;
	}
	return 0;
}

/* The defaults with the small tables the in-process tests and fuzz
 * targets use: 64 flows, 64 pool chunks, 16 concatenations, 256 slots. */
static inline void dp_tk_settings(struct dp_settings *s)
{
	dp_settings_default(s);
	s->flows_max = 64;
	s->pool_chunks = 64;
	s->concat_max = 16;
	s->table_slots = 256;
}

/* A C-octet string (with its NUL) at p. Returns the bytes written. */
static inline uint32_t dp_tk_cstr(uint8_t *p, const char *s)
{
	size_t n = strlen(s) + 1;
	memcpy(p, s, n);
	return (uint32_t)n;
}

/* A view of the C string s, without its NUL, for an smpp_pdu field. */
static inline struct smpp_view dp_tk_sv(const char *s)
{
	return (struct smpp_view){ (const uint8_t *)s, (uint32_t)strlen(s) };
}

/* bind_transceiver (SMPP 3.4, empty system_type and address range) for
 * system_id `sid` with password `pw`. Returns its length. */
static inline uint32_t dp_tk_bind(uint8_t *p, uint32_t seq, const char *sid, const char *pw)
{
	uint32_t o = 16;
	o += dp_tk_cstr(p + o, sid);
	o += dp_tk_cstr(p + o, pw);
	o += dp_tk_cstr(p + o, "");
	p[o++] = 0x34;
	p[o++] = 0;
	p[o++] = 0;
	o += dp_tk_cstr(p + o, "");
	dp_tk_put32(p, o);
	dp_tk_put32(p + 4, 0x09);
	dp_tk_put32(p + 8, 0);
	dp_tk_put32(p + 12, seq);
	return o;
}

/* submit_sm 447700900001 → 447700900002, IA5 text, encoded by smpp/ into
 * p (cap bytes). Returns its length, 0 if it does not fit. */
static inline uint32_t dp_tk_submit(uint8_t *p, size_t cap, uint32_t seq, const char *text)
{
	struct smpp_pdu pdu = {
		.hdr = { .command_id = 0x04, .sequence_number = seq },
		.source_addr_ton = 1,
		.source_addr_npi = 1,
		.source_addr = { (const uint8_t *)"447700900001", 12 },
		.dest_addr_ton = 1,
		.dest_addr_npi = 1,
		.destination_addr = { (const uint8_t *)"447700900002", 12 },
		.data_coding = 1,
		.short_message = { (const uint8_t *)text, (uint32_t)strlen(text) },
	};
	size_t n = 0;
	if (smpp_pdu_encode(&pdu, p, cap, &n) != SMPP_OK)
		return 0;
	return (uint32_t)n;
}

/* Compile the rules text `src` (len bytes, file name `name`) into *rs and
 * lay it out in r for worker `id` as the snapshot builder does: its scratch
 * and concat_max stream slots. Returns PAT_OK or the pat_ error (err filled
 * by the compiler); on error nothing is left allocated. */
static inline int dp_tk_rules_load(struct dp_rules *r, struct pat_ruleset **rs, unsigned id,
				   uint32_t concat_max, const char *name, const char *src, size_t len,
				   struct pat_error *err)
{
	struct pat_source s = { name, src, len };
	int rc = pat_ruleset_compile_sources(&s, 1, NULL, rs, err);
	if (rc != PAT_OK)
		return rc;
	rc = pat_scratch_alloc(*rs, &r->scratch[id]);
	if (rc != PAT_OK) {
		pat_ruleset_free(*rs);
		*rs = NULL;
		return rc;
	}
	r->rs = *rs;
	r->stream_size = (pat_stream_size(*rs) + 7) & ~(size_t)7;
	r->concat_mem[id] = calloc(concat_max, r->stream_size);
	return PAT_OK;
}

/* Free what dp_tk_rules_load() made for worker `id`, and the ruleset rs. */
static inline void dp_tk_rules_free(struct dp_rules *r, struct pat_ruleset *rs, unsigned id)
{
	pat_scratch_free(r->scratch[id]);
	free(r->concat_mem[id]);
	pat_ruleset_free(rs);
}

#endif
