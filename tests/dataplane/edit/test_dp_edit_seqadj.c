/* SPDX-License-Identifier: Apache-2.0 */
/* dp_edit_seqadj_*: the per-direction edit list, against a byte-level model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_edit.h"

/* Bases the tables run at: plain, near the 2^31 sign boundary, and edits
 * that straddle 2^32 (wraparound). */
static const uint32_t bases[] = {0u, 1000u, 0x7ffffff0u, 0xffffff00u, 0xffffffc0u, 0xfffffffeu};

/* ---- invalid and boundary input ---- */

static void test_add_invalid(void **state)
{
	(void)state;
	struct dp_edit_seqadj sa;
	dp_edit_seqadj_init(&sa);
	assert_int_equal(dp_edit_seqadj_add(&sa, 10, 0, 0), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_seqadj_add(&sa, 10, 1u << 30, 0), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_seqadj_add(&sa, 10, 0, 1u << 30), DP_EDIT_EINVAL);
	assert_int_equal(dp_edit_seqadj_add(&sa, 100, 20, 0), DP_EDIT_OK);
	/* Before the end of the last edit: refused, list unchanged. */
	assert_int_equal(dp_edit_seqadj_add(&sa, 119, 5, 0), DP_EDIT_EORDER);
	assert_int_equal(dp_edit_seqadj_add(&sa, 50, 5, 0), DP_EDIT_EORDER);
	assert_int_equal(sa.n, 1);
	/* Exactly at the end: merged with the previous removal. */
	assert_int_equal(dp_edit_seqadj_add(&sa, 120, 5, 0), DP_EDIT_OK);
	assert_int_equal(sa.n, 1);
	assert_int_equal(sa.ent[0].rm, 25);
	assert_int_equal(dp_edit_seqadj_map(&sa, 125), 100);
}

static void test_add_full(void **state)
{
	(void)state;
	struct dp_edit_seqadj sa;
	dp_edit_seqadj_init(&sa);
	for (uint32_t i = 0; i < DP_EDIT_MAX_EDITS; i++)
		assert_int_equal(dp_edit_seqadj_add(&sa, 100 * i, 10, 0), DP_EDIT_OK);
	assert_int_equal(dp_edit_seqadj_add(&sa, 100 * DP_EDIT_MAX_EDITS, 10, 0), DP_EDIT_EFULL);
	/* A removal adjacent to the last one still merges when full. */
	assert_int_equal(dp_edit_seqadj_add(&sa, 100 * (DP_EDIT_MAX_EDITS - 1) + 10, 10, 0),
			 DP_EDIT_OK);
	assert_int_equal(dp_edit_seqadj_map(&sa, 100 * DP_EDIT_MAX_EDITS),
			 100 * DP_EDIT_MAX_EDITS - 10 * (DP_EDIT_MAX_EDITS + 1));
}

static void test_empty_identity(void **state)
{
	(void)state;
	struct dp_edit_seqadj sa;
	dp_edit_seqadj_init(&sa);
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		assert_int_equal(dp_edit_seqadj_map(&sa, bases[b]), bases[b]);
		assert_int_equal(dp_edit_seqadj_unmap(&sa, bases[b]), bases[b]);
	}
}

/* ---- table: hand-computed mappings, run at every base ---- */

struct edit {
	uint32_t pos, rm, ins;
};
struct query {
	uint32_t x;	/* offset from base */
	uint32_t map;	/* expected forward map (offset from base) */
	uint32_t unmap; /* expected unmap of x (offset from base) */
};
struct table_case {
	const char *name;
	struct edit ed[4];
	unsigned ned;
	struct query q[12];
	unsigned nq;
};

static const struct table_case table[] = {
    {"one removal [100,150)",
     {{100, 50, 0}},
     1,
     /* bytes 100..149 collapse to 100; 150 -> 100; new 100 -> orig 150 */
     {{0, 0, 0},
      {99, 99, 99},
      {100, 100, 150},
      {120, 100, 170},
      {149, 100, 199},
      {150, 100, 200},
      {151, 101, 201},
      {1000, 950, 1050}},
     8},
    {"one insertion of 30 at 100",
     {{100, 0, 30}},
     1,
     /* new [100,130) are the inserted bytes: unmap to 100 */
     {{99, 99, 99},
      {100, 130, 100},
      {101, 131, 100},
      {129, 159, 100},
      {130, 160, 100},
      {131, 161, 101},
      {200, 230, 170}},
     7},
    {"two removals in one window",
     {{100, 50, 0}, {200, 20, 0}},
     2,
     /* new = orig - 50 after 150, - 70 after 220 */
     /* new 150 is where both removals collapse: unmaps past the second */
     {{150, 100, 220},
      {199, 149, 269},
      {200, 150, 270},
      {210, 150, 280},
      {220, 150, 290},
      {221, 151, 291},
      {149, 100, 199}},
     7},
    {"removal then insertion then removal",
     {{100, 40, 0}, {300, 0, 25}, {400, 10, 0}},
     3,
     /* delta -40 from 140; +25 at 300 (new 260..285 inserted, delta -15);
      * -10 at 400 (new 385, delta -25) */
     {{140, 100, 180},
      {299, 259, 314},
      {300, 285, 315},
      {260, 220, 300},
      {284, 244, 300},
      {285, 245, 300},
      {399, 384, 424},
      {400, 385, 425},
      {410, 385, 435},
      {411, 386, 436}},
     10},
    {"adjacent removals merge",
     {{100, 10, 0}, {110, 10, 0}, {120, 10, 0}},
     3,
     {{100, 100, 130}, {129, 100, 159}, {130, 100, 160}, {131, 101, 161}},
     4},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
		for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
			uint32_t base = bases[b];
			struct dp_edit_seqadj sa;
			dp_edit_seqadj_init(&sa);
			for (unsigned i = 0; i < table[t].ned; i++)
				assert_int_equal(dp_edit_seqadj_add(&sa, base + table[t].ed[i].pos,
								    table[t].ed[i].rm,
								    table[t].ed[i].ins),
						 DP_EDIT_OK);
			for (unsigned i = 0; i < table[t].nq; i++) {
				const struct query *q = &table[t].q[i];
				uint32_t m = dp_edit_seqadj_map(&sa, base + q->x);
				uint32_t u = dp_edit_seqadj_unmap(&sa, base + q->x);
				if (m != base + q->map || u != base + q->unmap)
					fail_msg(
					    "%s base %#x x %u: map %u (want %u) unmap %u (want %u)",
					    table[t].name, base, q->x, m - base, q->map, u - base,
					    q->unmap);
			}
		}
	}
}

/* ---- many edits in one window against a byte model ---- */

#define MODEL_LEN 4000

/* removed[x]: orig byte x removed; ins_before[x]: bytes inserted before x. */
struct model {
	uint8_t removed[MODEL_LEN];
	uint32_t ins_before[MODEL_LEN + 1];
};

static uint32_t model_map(const struct model *m, uint32_t x)
{
	/* New position of orig byte x: kept bytes before x plus inserted bytes
	 * up to and including those before x; a removed byte maps where the
	 * next kept byte would go, minus its own insertion. */
	uint32_t n = 0;
	for (uint32_t i = 0; i < x; i++)
		n += !m->removed[i] + m->ins_before[i];
	return n + m->ins_before[x];
}

static void build_random(struct model *m, struct dp_edit_seqadj *sa, uint32_t base, unsigned seed,
			 unsigned nedits, int kind)
{
	memset(m, 0, sizeof(*m));
	dp_edit_seqadj_init(sa);
	srand(seed);
	uint32_t pos = 10;
	for (unsigned i = 0; i < nedits && pos < MODEL_LEN - 200; i++) {
		pos += (uint32_t)(rand() % 150) + (kind == 1 ? 1 : 0);
		uint32_t rm = 0, ins = 0;
		if (kind == 0 || (kind == 2 && rand() % 2))
			rm = 1 + (uint32_t)(rand() % 120);
		else
			ins = 1 + (uint32_t)(rand() % 90);
		assert_int_equal(dp_edit_seqadj_add(sa, base + pos, rm, ins), DP_EDIT_OK);
		for (uint32_t k = 0; k < rm; k++)
			m->removed[pos + k] = 1;
		m->ins_before[pos] += ins;
		pos += rm;
	}
}

static void test_many_edits_model(void **state)
{
	(void)state;
	struct model *m = malloc(sizeof(*m));
	assert_non_null(m);
	for (int kind = 0; kind < 3; kind++) {
		for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
			struct dp_edit_seqadj sa;
			build_random(m, &sa, bases[b], 7 + (unsigned)kind, 20, kind);
			assert_true(sa.n >= 10);
			uint32_t prev = 0;
			for (uint32_t x = 0; x < MODEL_LEN; x++) {
				uint32_t want = model_map(m, x);
				uint32_t got = dp_edit_seqadj_map(&sa, bases[b] + x) - bases[b];
				if (!m->removed[x] || x == 0 || !m->removed[x - 1])
					if (got != want)
						fail_msg("kind %d base %#x x %u map %u want %u",
							 kind, bases[b], x, got, want);
				/* Monotonic in the new space. */
				assert_true(x == 0 || got >= prev);
				prev = got;
				/* A kept byte maps back to itself. */
				if (!m->removed[x] &&
				    dp_edit_seqadj_unmap(&sa, bases[b] + got) != bases[b] + x)
					fail_msg("kind %d unmap(map(%u)) != %u", kind, x, x);
			}
		}
	}
	free(m);
}

/* ---- pruning: later positions map the same after pruning ---- */

static void test_prune(void **state)
{
	(void)state;
	struct model *m = malloc(sizeof(*m));
	assert_non_null(m);
	for (int kind = 0; kind < 3; kind++) {
		for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
			uint32_t base = bases[b];
			struct dp_edit_seqadj sa, full;
			build_random(m, &sa, base, 11 + (unsigned)kind, 20, kind);
			full = sa;
			uint32_t n0 = sa.n, pruned = 0;
			/* Acks advance through the new space. */
			for (uint32_t a = 0; a < model_map(m, MODEL_LEN - 1); a += 37) {
				pruned += dp_edit_seqadj_prune(&sa, base + a);
				assert_int_equal(sa.n + pruned, n0);
				uint32_t orig = dp_edit_seqadj_unmap(&full, base + a);
				assert_int_equal(dp_edit_seqadj_unmap(&sa, base + a), orig);
				for (uint32_t x = orig - base; x < MODEL_LEN; x += 13)
					assert_int_equal(dp_edit_seqadj_map(&sa, base + x),
							 dp_edit_seqadj_map(&full, base + x));
				for (uint32_t y = a; y < a + 600; y += 7)
					assert_int_equal(dp_edit_seqadj_unmap(&sa, base + y),
							 dp_edit_seqadj_unmap(&full, base + y));
			}
			assert_true(pruned >= n0 - 1);
		}
	}
	free(m);
}

static void test_prune_keeps_partial_insert(void **state)
{
	(void)state;
	struct dp_edit_seqadj sa;
	dp_edit_seqadj_init(&sa);
	assert_int_equal(dp_edit_seqadj_add(&sa, 1000, 0, 40), DP_EDIT_OK);
	/* Receiver acked half of the inserted bytes: keep the entry. */
	assert_int_equal(dp_edit_seqadj_prune(&sa, 1020), 0);
	assert_int_equal(dp_edit_seqadj_unmap(&sa, 1020), 1000);
	assert_int_equal(dp_edit_seqadj_prune(&sa, 1040), 1);
	assert_int_equal(sa.n, 0);
	assert_int_equal(dp_edit_seqadj_map(&sa, 1001), 1041);
	assert_int_equal(dp_edit_seqadj_unmap(&sa, 1041), 1001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_invalid),
	    cmocka_unit_test(test_add_full),
	    cmocka_unit_test(test_empty_identity),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_many_edits_model),
	    cmocka_unit_test(test_prune),
	    cmocka_unit_test(test_prune_keeps_partial_insert),
	};
	return cmocka_run_group_tests_name("dp_edit_seqadj", tests, NULL, NULL);
}
