/* SPDX-License-Identifier: Apache-2.0 */
/* Private helpers of the stream-editing library: not for other components. */
#ifndef DP_EDIT_PRIV_H
#define DP_EDIT_PRIV_H

#include "dp_edit.h"

/* Half (direction) flags. */
#define DP_EDIT_HF_SYNCED    0x0001 /* dp_edit_dir_start() called */
#define DP_EDIT_HF_ACK_VALID 0x0002 /* rcv_ack holds a receiver ack */
#define DP_EDIT_HF_MID	     0x0004 /* release point inside a PASS PDU */
#define DP_EDIT_HF_FIN	     0x0008 /* sender's FIN forwarded (fin_seq) */
#define DP_EDIT_HF_FWD_ACK   0x0010 /* fwd_ack valid */
#define DP_EDIT_HF_SENT	     0x0020 /* snd_nxt_new / snd_max valid */
#define DP_EDIT_HF_FIN_ACKED 0x0040 /* receiver acknowledged the FIN */
#define DP_EDIT_HF_FIN_HELD  0x0080 /* sender's FIN seen after undecided bytes (fin_seq) */

/* Flow flags. */
#define DP_EDIT_FF_RST	   0x0001 /* a RST passed: flow is over */
#define DP_EDIT_FF_RESET   0x0002 /* fail-closed: reset toward both ends */
#define DP_EDIT_FF_DUPACK  0x0004 /* dup ACK threshold reached: resend now */
#define DP_EDIT_FF_EXHAUST 0x0008 /* resend_exhausted counted */

/* Sequence number comparisons modulo 2^32. */
static inline int dp_edit_seq_cmp(uint32_t a, uint32_t b)
{
	int32_t d = (int32_t)(a - b);
	return (d > 0) - (d < 0);
}
static inline bool dp_edit_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool dp_edit_seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline uint32_t dp_edit_seq_max(uint32_t a, uint32_t b)
{
	return dp_edit_seq_lt(a, b) ? b : a;
}
static inline uint32_t dp_edit_seq_min(uint32_t a, uint32_t b)
{
	return dp_edit_seq_lt(a, b) ? a : b;
}

/* Ack field to put on a segment travelling in `dir` (acknowledging the other
 * direction's data, in that direction's sender space). */
uint32_t dp_edit_ack_for(const struct dp_edit_flow *f, enum dp_edit_dir dir, bool *valid);

#endif /* DP_EDIT_PRIV_H */
