/*
 * test_gen_stats.c — smsfw-gen's latency histogram and status counts: the
 * percentiles it reports are within the documented 1.6 % of the exact ones,
 * the maximum is exact, and command_status counts keep every value seen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* xorshift64*, fixed seed: the same samples every run */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static void empty_histogram(void **state)
{
	struct gen_hist *h = calloc(1, sizeof(*h));

	(void)state;
	assert_int_equal(gen_hist_quantile(h, 0.5), 0);
	assert_int_equal(gen_hist_quantile(h, 0.99), 0);
	free(h);
}

static void small_values_exact(void **state)
{
	struct gen_hist *h = calloc(1, sizeof(*h));

	(void)state;
	for (uint64_t v = 1; v <= 63; v++)
		gen_hist_add(h, v);
	assert_int_equal(gen_hist_quantile(h, 0.5), 32);
	assert_int_equal(gen_hist_quantile(h, 1.0), 63);
	assert_int_equal(h->max, 63);
	free(h);
}

/* Latencies spread over five decades (1 µs .. 100 ms), log-uniform. */
static void percentiles_within_bound(void **state)
{
	enum { N = 200000 };
	struct gen_hist *h = calloc(1, sizeof(*h));
	uint64_t *v = malloc(N * sizeof(*v)), seed = 0x5eed1234u;
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };

	(void)state;
	for (int i = 0; i < N; i++) {
		double e = 3.0 + 5.0 * (double)(rnd(&seed) >> 11) / 9007199254740992.0;

		v[i] = (uint64_t)pow(10.0, e);
		gen_hist_add(h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t exact = v[(size_t)(qs[k] * N) - 1];
		uint64_t got = gen_hist_quantile(h, qs[k]);
		double err = ((double)got - (double)exact) / (double)exact;

		if (err < 0)
			err = -err;
		if (err > 0.016)
			fail_msg("q %.3f: histogram %llu, exact %llu (%.2f %%)", qs[k],
				 (unsigned long long)got, (unsigned long long)exact, err * 100);
	}
	assert_int_equal(h->max, v[N - 1]);
	assert_int_equal(gen_hist_quantile(h, 1.0), v[N - 1]);
	assert_int_equal(h->n, N);
	free(v);
	free(h);
}

static void status_counts(void **state)
{
	struct gen_status_count *s = calloc(1, sizeof(*s));

	(void)state;
	for (int i = 0; i < 10; i++)
		gen_status_add(s, i % 5 == 4 ? SMPP_ESME_RTHROTTLED : SMPP_ESME_ROK);
	assert_int_equal(s->n, 2);
	assert_int_equal(s->v[0].status, SMPP_ESME_ROK);
	assert_int_equal(s->v[0].count, 8);
	assert_int_equal(s->v[1].status, SMPP_ESME_RTHROTTLED);
	assert_int_equal(s->v[1].count, 2);
	/* more distinct values than the table holds: counted, not lost */
	for (uint32_t st = 0x1000; st < 0x1000 + GEN_MAX_STATUS + 3; st++)
		gen_status_add(s, st);
	assert_int_equal(s->n, GEN_MAX_STATUS);
	assert_int_equal(s->other, 5);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_histogram),
		cmocka_unit_test(small_values_exact),
		cmocka_unit_test(percentiles_within_bound),
		cmocka_unit_test(status_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
