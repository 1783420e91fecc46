/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_UNITS_H
#define BB_UNITS_H

#include <stdint.h>

/*
 * A size as written in a scenario: either absolute bytes, or a fraction
 * num/den of the guest's RAM that is resolved once the RAM size is known.
 */
struct bb_size {
	uint64_t bytes;	/* absolute size, bytes; 0 when relative */
	uint32_t num;	/* numerator of a fraction of guest RAM; 0 if absolute */
	uint32_t den;	/* denominator of that fraction */
};

/*
 * Parse "512M", "1G", "1.5G", "4096", "64KiB" or, when allow_frac,
 * "7/8" or "50%".  Returns 0, or -EINVAL with *why set to a static reason.
 */
int unit_parse_size(const char *s, int allow_frac, struct bb_size *out,
		    const char **why);

/* Resolve a possibly relative size against the guest RAM size, bytes. */
uint64_t unit_size_bytes(const struct bb_size *sz, uint64_t ram_bytes);

/* Parse "30", "30s", "500ms", "2m" into milliseconds. */
int unit_parse_duration_ms(const char *s, uint64_t *ms, const char **why);

/* Format bytes as "512M", "1.5G": buf of at least 32 bytes. */
const char *unit_fmt_size(uint64_t bytes, char *buf, unsigned long len);

#endif
