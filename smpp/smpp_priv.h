/*
 * smpp_priv.h — helpers shared by the codec's .c files; not installed, not
 * included outside smpp/.
 */
#ifndef SMSFW_SMPP_PRIV_H
#define SMSFW_SMPP_PRIV_H

#include <stdint.h>
#include <string.h>

#include "smpp.h"

#define SMPP_LIKELY(x) __builtin_expect(!!(x), 1)
#define SMPP_UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline uint16_t smpp_rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t smpp_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void smpp_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void smpp_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* SMSFW_SMPP_PRIV_H */
