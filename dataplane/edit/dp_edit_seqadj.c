/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded list of sequence edits of one direction. Unlike netfilter's seqadj,
 * which keeps one correction point and so breaks when two edits fall in one
 * window, every edit is kept until the receiver has acknowledged past it, so
 * a retransmission of any byte still in flight maps exactly as the first copy.
 */
#include "dp_edit_priv.h"

#include <string.h>

void dp_edit_seqadj_init(struct dp_edit_seqadj *sa)
{
	memset(sa, 0, sizeof(*sa));
}

static uint32_t delta_before(const struct dp_edit_seqadj *sa, uint32_t i)
{
	return i == 0 ? sa->base_delta : sa->ent[i - 1].delta;
}

int dp_edit_seqadj_add(struct dp_edit_seqadj *sa, uint32_t pos, uint32_t rm, uint32_t ins)
{
	if (rm == 0 && ins == 0)
		return DP_EDIT_EINVAL;
	if (rm >= (1u << 30) || ins >= (1u << 30))
		return DP_EDIT_EINVAL;
	if (sa->n > 0) {
		struct dp_edit_ent *last = &sa->ent[sa->n - 1];
		uint32_t end = last->pos + last->rm;
		if (dp_edit_seq_lt(pos, end))
			return DP_EDIT_EORDER;
		/* Adjacent removals (consecutive blocked PDUs) become one. */
		if (ins == 0 && last->ins == 0 && pos == end) {
			last->rm += rm;
			last->delta -= rm;
			return DP_EDIT_OK;
		}
		/* Several responses inserted at one boundary become one. */
		if (rm == 0 && last->rm == 0 && pos == last->pos) {
			last->ins += ins;
			last->delta += ins;
			return DP_EDIT_OK;
		}
	}
	if (sa->n >= DP_EDIT_MAX_EDITS)
		return DP_EDIT_EFULL;
	struct dp_edit_ent *e = &sa->ent[sa->n];
	e->pos = pos;
	e->rm = rm;
	e->ins = ins;
	e->delta = delta_before(sa, sa->n) + ins - rm;
	sa->n++;
	return DP_EDIT_OK;
}

uint32_t dp_edit_seqadj_map(const struct dp_edit_seqadj *sa, uint32_t orig)
{
	for (uint32_t i = sa->n; i-- > 0;) {
		const struct dp_edit_ent *e = &sa->ent[i];
		if (dp_edit_seq_lt(orig, e->pos))
			continue;
		if (dp_edit_seq_lt(orig, e->pos + e->rm))
			return e->pos + delta_before(sa, i) + e->ins;
		return orig + e->delta;
	}
	return orig + sa->base_delta;
}

uint32_t dp_edit_seqadj_unmap(const struct dp_edit_seqadj *sa, uint32_t new_seq)
{
	for (uint32_t i = sa->n; i-- > 0;) {
		const struct dp_edit_ent *e = &sa->ent[i];
		uint32_t newpos = e->pos + delta_before(sa, i);
		if (dp_edit_seq_lt(new_seq, newpos))
			continue;
		if (dp_edit_seq_lt(new_seq, newpos + e->ins))
			return e->pos;
		return new_seq - e->delta;
	}
	return new_seq - sa->base_delta;
}

uint32_t dp_edit_seqadj_prune(struct dp_edit_seqadj *sa, uint32_t acked_new)
{
	uint32_t orig = dp_edit_seqadj_unmap(sa, acked_new);
	uint32_t k = 0;
	while (k < sa->n) {
		const struct dp_edit_ent *e = &sa->ent[k];
		uint32_t newpos = e->pos + delta_before(sa, k);
		if (dp_edit_seq_lt(acked_new, newpos + e->ins))
			break;
		if (dp_edit_seq_lt(orig, e->pos + e->rm))
			break;
		k++;
	}
	if (k == 0)
		return 0;
	sa->base_delta = sa->ent[k - 1].delta;
	memmove(&sa->ent[0], &sa->ent[k], (sa->n - k) * sizeof(sa->ent[0]));
	sa->n -= k;
	return k;
}
