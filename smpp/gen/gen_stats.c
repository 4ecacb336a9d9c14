/*
 * gen_stats.c — latency histogram and command_status counts, and how they
 * print (text and JSON).
 */
#include <inttypes.h>
#include <string.h>

#include <jansson.h>

#include "gen.h"

/* Values below GEN_HIST_SUB ns are exact; above, 64 buckets per octave. */
static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < GEN_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* v >= 64: e >= 6 */
	if (e > 38)
		return GEN_HIST_BUCKETS - 1;
	return (e - 5) * GEN_HIST_SUB + (unsigned)((v >> (e - 6)) & (GEN_HIST_SUB - 1));
}

/* The upper bound of bucket @i (the value reported for a quantile). */
static uint64_t hist_value(unsigned i)
{
	unsigned e, sub;

	if (i < GEN_HIST_SUB)
		return i;
	e = i / GEN_HIST_SUB + 5;
	sub = i % GEN_HIST_SUB;
	return ((uint64_t)(GEN_HIST_SUB + sub + 1) << (e - 6)) - 1;
}

void gen_hist_add(struct gen_hist *h, uint64_t ns)
{
	h->b[hist_index(ns)]++;
	h->n++;
	h->sum += ns;
	if (ns > h->max)
		h->max = ns;
}

uint64_t gen_hist_quantile(const struct gen_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.5);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < GEN_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = hist_value(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

void gen_status_add(struct gen_status_count *s, uint32_t status)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->v[i].status == status) {
			s->v[i].count++;
			return;
		}
	if (s->n == GEN_MAX_STATUS) {
		s->other++;
		return;
	}
	s->v[s->n].status = status;
	s->v[s->n].count = 1;
	s->n++;
}

static void status_name(uint32_t status, char *buf, size_t len)
{
	const char *n = smpp_esme_name(status);

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "0x%08" PRIx32, status);
}

json_t *gen_status_json(const struct gen_status_count *s)
{
	json_t *o = json_object();
	char name[40];

	for (uint32_t i = 0; i < s->n; i++) {
		status_name(s->v[i].status, name, sizeof(name));
		json_object_set_new(o, name, json_integer((json_int_t)s->v[i].count));
	}
	if (s->other)
		json_object_set_new(o, "other", json_integer((json_int_t)s->other));
	return o;
}

json_t *gen_hist_json(const struct gen_hist *h)
{
	return json_pack(
	    "{s:f,s:f,s:f,s:f,s:f,s:I}", "p50", (double)gen_hist_quantile(h, 0.50) / 1e3, "p90",
	    (double)gen_hist_quantile(h, 0.90) / 1e3, "p99",
	    (double)gen_hist_quantile(h, 0.99) / 1e3, "max", (double)h->max / 1e3, "mean",
	    h->n ? (double)h->sum / (double)h->n / 1e3 : 0.0, "samples", (json_int_t)h->n);
}

void gen_status_print(FILE *f, const char *label, const struct gen_status_count *s)
{
	char name[40];

	for (uint32_t i = 0; i < s->n; i++) {
		status_name(s->v[i].status, name, sizeof(name));
		fprintf(f, "  %-12s %-20s %" PRIu64 "\n", i == 0 ? label : "", name, s->v[i].count);
	}
	if (s->other)
		fprintf(f, "  %-12s %-20s %" PRIu64 "\n", s->n ? "" : label, "other", s->other);
}

void gen_hist_print(FILE *f, const char *label, const struct gen_hist *h)
{
	if (h->n == 0) {
		fprintf(f, "  %-12s no samples\n", label);
		return;
	}
	fprintf(f,
		"  %-12s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  (%" PRIu64
		" samples)\n",
		label, (double)gen_hist_quantile(h, 0.50) / 1e6,
		(double)gen_hist_quantile(h, 0.90) / 1e6, (double)gen_hist_quantile(h, 0.99) / 1e6,
		(double)h->max / 1e6, h->n);
}
