/* pat_lookalike.h — private: the generated look-alike table (see gen/). */
#ifndef PAT_LOOKALIKE_H
#define PAT_LOOKALIKE_H

#include <stdint.h>

/* One code point and its ASCII replacement (len 0: the code point is removed). */
struct pat_lookalike {
	uint32_t cp;
	uint8_t len;
	char s[5];
};

/* Sorted by cp. */
extern const struct pat_lookalike pat_lookalike_table[];
extern const unsigned pat_lookalike_count;

#endif
