// SPDX-License-Identifier: GPL-2.0
/* Size and duration parsing: pure helpers, unit-tested. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

static int unit_parse_fraction(const char *s, struct bb_size *out,
			       const char **why)
{
	char *end;
	unsigned long num, den;

	errno = 0;
	num = strtoul(s, &end, 10);
	if (errno || end == s || *end != '/') {
		*why = "expected a fraction like 7/8";
		return -EINVAL;
	}
	s = end + 1;
	den = strtoul(s, &end, 10);
	if (errno || end == s || *end) {
		*why = "expected a fraction like 7/8";
		return -EINVAL;
	}
	if (den == 0 || num == 0 || num > den || den > 1u << 20) {
		*why = "fraction must be between 0 and 1, e.g. 7/8";
		return -EINVAL;
	}
	out->bytes = 0;
	out->num = num;
	out->den = den;
	return 0;
}

static int unit_parse_percent(double v, struct bb_size *out,
			      const char **why)
{
	if (v <= 0 || v > 100) {
		*why = "percentage must be in (0, 100]";
		return -EINVAL;
	}
	out->bytes = 0;
	out->num = (uint32_t)llround(v * 100);
	out->den = 10000;
	return 0;
}

static int unit_shift(const char *suffix, unsigned *shift)
{
	static const struct {
		const char *name;
		unsigned shift;
	} units[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};
	unsigned i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcasecmp(suffix, units[i].name)) {
			*shift = units[i].shift;
			return 0;
		}
	}
	return -EINVAL;
}

int unit_parse_size(const char *s, int allow_frac, struct bb_size *out,
		    const char **why)
{
	char *end;
	double v;
	unsigned shift;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		*why = "empty size";
		return -EINVAL;
	}
	if (strchr(s, '/')) {
		if (!allow_frac) {
			*why = "a fraction of guest RAM is not allowed here";
			return -EINVAL;
		}
		return unit_parse_fraction(s, out, why);
	}
	if (s[0] == '-') {
		*why = "size must not be negative";
		return -EINVAL;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v)) {
		*why = "not a size (examples: 512M, 1G, 7/8)";
		return -EINVAL;
	}
	if (*end == '%') {
		if (!allow_frac || end[1]) {
			*why = "a percentage of guest RAM is not allowed here";
			return -EINVAL;
		}
		return unit_parse_percent(v, out, why);
	}
	if (unit_shift(end, &shift)) {
		*why = "unknown unit (use K, M, G or T)";
		return -EINVAL;
	}
	v = ldexp(v, (int)shift);
	if (v >= 18446744073709551615.0) {
		*why = "size too large";
		return -EINVAL;
	}
	if (v != floor(v)) {
		*why = "size is not a whole number of bytes";
		return -EINVAL;
	}
	out->bytes = (uint64_t)v;
	return 0;
}

uint64_t unit_size_bytes(const struct bb_size *sz, uint64_t ram_bytes)
{
	if (sz->den == 0)
		return sz->bytes;
	/* ram_bytes < 2^44 in practice, num <= den <= 2^20: no overflow. */
	return ram_bytes / sz->den * sz->num +
	       ram_bytes % sz->den * sz->num / sz->den;
}

int unit_parse_duration_ms(const char *s, uint64_t *ms, const char **why)
{
	char *end;
	double v, scale = 1000;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0) {
		*why = "not a duration (examples: 30s, 500ms, 2m)";
		return -EINVAL;
	}
	if (!strcmp(end, "ms"))
		scale = 1;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		scale = 60000;
	else if (*end && strcmp(end, "s")) {
		*why = "unknown unit (use ms, s or m)";
		return -EINVAL;
	}
	*ms = (uint64_t)llround(v * scale);
	return 0;
}

const char *unit_fmt_size(uint64_t bytes, char *buf, unsigned long len)
{
	static const char sfx[] = "KMGT";
	double v = (double)bytes;
	int i = -1;

	while (v >= 1024 && i < 3) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
	else if (v == floor(v))
		snprintf(buf, len, "%.0f%c", v, sfx[i]);
	else
		snprintf(buf, len, "%.2f%c", v, sfx[i]);
	return buf;
}
