// SPDX-License-Identifier: GPL-2.0
/* Row order per repetition: Fisher-Yates over a splitmix64 stream. */
#include <time.h>
#include <unistd.h>

#include "order.h"

/* splitmix64: one 64-bit state, good enough spread for a shuffle. */
static uint64_t order_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t order_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 40);
}

void order_permute(int *idx, int n, uint64_t seed, int rep)
{
	uint64_t s = seed ^ ((uint64_t)rep * 0xd1b54a32d192ed03ULL);
	int i, j, t;

	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = (int)(order_next(&s) % (uint64_t)(i + 1));
		t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}
