/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two fuzzers (nl_fuzz_test, dev_fuzz_test) share: a per-thread
 * xorshift PRNG (seeded, so QKD_FUZZ_SEED repeats a run's choices) and
 * numeric environment knobs.
 */
#ifndef QKD_FUZZ_UTIL_H
#define QKD_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>

static __thread uint64_t rs = 0x9e3779b97f4a7c15ULL;

static inline uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545f4914f6cdd1dULL;
}

/* uniform-ish in [0, n); 0 for n == 0 */
static inline uint32_t rn(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static inline long env_num(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

#endif
