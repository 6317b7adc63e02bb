/*
 * strnum.c - checked number parsing; see strnum.h.
 */
#include "strnum.h"

#include <string.h>
#include <strings.h>

bool strnum_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool strnum_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (!strnum_u64(s, len, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool strnum_u64_str(const char *s, uint64_t max, uint64_t *out)
{
	return strnum_u64(s, strlen(s), max, out);
}

/* Split s into its digit prefix and a suffix; multiply by the suffix's
 * factor from the table, checking for overflow. */
static bool strnum_scaled(const char *s, uint64_t max, const char *const *suffixes,
			  const uint64_t *factors, size_t nsuffix, uint64_t *out)
{
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	uint64_t v;
	if (!strnum_u64(s, n, UINT64_MAX, &v))
		return false;
	const char *suffix = s + n;
	for (size_t i = 0; i < nsuffix; i++) {
		if (strcasecmp(suffix, suffixes[i]) != 0)
			continue;
		if (factors[i] != 0 && v > max / factors[i])
			return false;
		v *= factors[i];
		if (v > max)
			return false;
		*out = v;
		return true;
	}
	return false;
}

bool strnum_size(const char *s, uint64_t max, uint64_t *out)
{
	static const char *const sfx[] = {"", "b", "k", "kb", "m", "mb", "g", "gb"};
	static const uint64_t fac[] = {1, 1, 1024, 1024, 1024 * 1024, 1024 * 1024,
				       1024ULL * 1024 * 1024, 1024ULL * 1024 * 1024};
	return strnum_scaled(s, max, sfx, fac, sizeof(fac) / sizeof(fac[0]), out);
}

bool strnum_duration(const char *s, uint64_t max, uint64_t *seconds_r)
{
	static const char *const sfx[] = {"", "s", "m", "h", "d"};
	static const uint64_t fac[] = {1, 1, 60, 3600, 86400};
	return strnum_scaled(s, max, sfx, fac, sizeof(fac) / sizeof(fac[0]), seconds_r);
}
