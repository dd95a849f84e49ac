/*
 * values.c
 *		Small value parsers shared by every format: ISO 8601 and epoch times,
 *		IP addresses, content hashes, and the text / JSON checks that decide
 *		whether a record can be stored at all.
 *
 * These run once or more per record, so they are written for speed: no
 * catalog lookups, no calls through fmgr, no allocation except the results.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>

#include "common/hashfn.h"
#include "mb/pg_wchar.h"

#include "ingest/ingest.h"
#include "ingest/ingest_int.h"

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64
days_from_civil(int y, int m, int d)
{
	int			era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64) era * 146097 + (int64) doe - 719468;
}

static bool
digits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		char		c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

#define UNIX_EPOCH_DAYS_FROM_PG INT64CONST(10957)	/* 1970-01-01 .. 2000-01-01 */

bool
ingest_parse_time(const char *s, TimestampTz *out)
{
	const char *p = s;
	int			y,
				mo,
				d,
				h = 0,
				mi = 0,
				sec = 0;
	int64		frac = 0;
	int			offset = 0;		/* minutes east of UTC */
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64		usec;

	if (s == NULL)
		return false;
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
		(mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
		return false;
	if (*p == 'T' || *p == 't' || *p == ' ')
	{
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return false;
		if (*p == ':')
		{
			p++;
			if (!digits(&p, 2, &sec))
				return false;
			if (*p == '.' || *p == ',')
			{
				int			n = 0;

				p++;
				if (*p < '0' || *p > '9')
					return false;
				while (*p >= '0' && *p <= '9')
				{
					if (n < 6)
						frac = frac * 10 + (*p - '0');
					n++;
					p++;
				}
				for (; n < 6; n++)
					frac *= 10;
			}
		}
		if (h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec || frac)))
			return false;
		if (sec == 60)
			sec = 59, frac = 999999;	/* a leap second stays in its minute */
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-')
		{
			int			sign = (*p == '-') ? -1 : 1;
			int			oh,
						om = 0;

			p++;
			if (!digits(&p, 2, &oh))
				return false;
			if (*p == ':')
				p++;
			if (*p >= '0' && *p <= '9' && !digits(&p, 2, &om))
				return false;
			if (oh > 18 || om > 59)
				return false;
			offset = sign * (oh * 60 + om);
		}
	}
	if (*p != '\0')
		return false;

	usec = ((((days_from_civil(y, mo, d) - UNIX_EPOCH_DAYS_FROM_PG) * 24 + h) * 60 + mi - offset) * 60 + sec)
		* USECS_PER_SEC + frac;
	if (usec < INGEST_MIN_TS || usec > INGEST_MAX_TS)
		return false;
	*out = usec;
	return true;
}

bool
ingest_epoch_to_ts(double secs, TimestampTz *out)
{
	double		us;

	if (isnan(secs) || isinf(secs))
		return false;
	us = (secs - (double) UNIX_EPOCH_DAYS_FROM_PG * SECS_PER_DAY) * USECS_PER_SEC;
	if (us < (double) INGEST_MIN_TS || us > (double) INGEST_MAX_TS)
		return false;
	*out = (TimestampTz) llround(us);
	return true;
}

bool
ingest_epoch_ns_to_ts(int64 ns, TimestampTz *out)
{
	int64		us = ns / 1000 - UNIX_EPOCH_DAYS_FROM_PG * SECS_PER_DAY * USECS_PER_SEC;

	if (us < INGEST_MIN_TS || us > INGEST_MAX_TS)
		return false;
	*out = us;
	return true;
}

bool
ingest_parse_ip(const char *s, char *buf)
{
	unsigned char addr[sizeof(struct in6_addr)];
	size_t		len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len == 0 || len >= INGEST_IP_BUFLEN)
		return false;
	if (strchr(s, ':') == NULL)
	{
		/* dotted decimal; leading zeros are decimal, not octal */
		const char *p = s;

		for (int i = 0; i < 4; i++)
		{
			int			v = 0,
						n = 0;

			while (*p >= '0' && *p <= '9' && n < 4)
			{
				v = v * 10 + (*p++ - '0');
				n++;
			}
			if (n == 0 || n > 3 || v > 255)
				return false;
			addr[i] = (unsigned char) v;
			if (i < 3 && *p++ != '.')
				return false;
		}
		if (*p != '\0')
			return false;
		snprintf(buf, INGEST_IP_BUFLEN, "%d.%d.%d.%d", addr[0], addr[1], addr[2], addr[3]);
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) != 1 || inet_ntop(AF_INET6, addr, buf, INGEST_IP_BUFLEN) == NULL)
		return false;
	return true;
}

static bool
v4_is_public(const unsigned char *a)
{
	if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224)
		return false;
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return false;			/* 100.64.0.0/10 CGNAT */
	if (a[0] == 169 && a[1] == 254)
		return false;
	if (a[0] == 172 && (a[1] & 0xf0) == 16)
		return false;
	if (a[0] == 192 && a[1] == 168)
		return false;
	return true;
}

bool
ingest_ip_is_public(const char *ip)
{
	unsigned char a[sizeof(struct in6_addr)];

	if (ip == NULL)
		return false;
	if (strchr(ip, ':') == NULL)
		return inet_pton(AF_INET, ip, a) == 1 && v4_is_public(a);
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	/* ::ffff:a.b.c.d */
	{
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(a, mapped, 12) == 0)
			return v4_is_public(a + 12);
	}
	if ((a[0] & 0xfe) == 0xfc)
		return false;			/* fc00::/7 unique local */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return false;			/* fe80::/10 link local */
	if (a[0] == 0xff)
		return false;			/* multicast */
	for (int i = 0; i < 15; i++)
		if (a[i] != 0)
			return true;
	return false;				/* :: and ::1 */
}

char *
ingest_content_hash(const char *data, size_t len)
{
	int			n = (int) Min(len, (size_t) INT_MAX);
	uint64		h1 = hash_bytes_extended((const unsigned char *) data, n, UINT64CONST(0x5bd1e995));
	uint64		h2 = hash_bytes_extended((const unsigned char *) data, n, UINT64CONST(0x9e3779b97f4a7c15));

	return psprintf("%016llx%016llx", (unsigned long long) h1, (unsigned long long) h2);
}

bool
ingest_text_ok(const char *text, size_t len, const char **why)
{
	int			valid;

	if (len > (size_t) INT_MAX)
	{
		*why = "it is larger than 2 GB";
		return false;
	}
	valid = pg_encoding_verifymbstr(PG_UTF8, text, (int) len);
	if (valid < (int) len)
	{
		*why = text[valid] == '\0'
			? psprintf("it contains a NUL byte at byte %d", valid + 1)
			: psprintf("it is not valid UTF-8 at byte %d", valid + 1);
		return false;
	}
	return true;
}

static int
hex4(const char *p)
{
	int			v = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

bool
ingest_jsonb_safe(const char *json, size_t len, const char **why)
{
	const char *p = json;
	const char *end = json + len;

	while ((p = memchr(p, '\\', end - p)) != NULL)
	{
		int			u;

		if (p + 1 >= end)
			break;
		if (p[1] != 'u')
		{
			p += 2;				/* \\, \", \n ... */
			continue;
		}
		if (end - p < 6 || (u = hex4(p + 2)) < 0)
		{
			*why = "it has a malformed \\u escape";
			return false;
		}
		if (u == 0)
		{
			*why = "it contains \\u0000, which PostgreSQL cannot store in text or jsonb";
			return false;
		}
		if (u >= 0xD800 && u <= 0xDBFF)
		{
			int			lo;

			if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0xDC00 || lo > 0xDFFF)
			{
				*why = "it contains an unpaired UTF-16 surrogate escape";
				return false;
			}
			p += 12;
			continue;
		}
		if (u >= 0xDC00 && u <= 0xDFFF)
		{
			*why = "it contains an unpaired UTF-16 surrogate escape";
			return false;
		}
		p += 6;
	}
	return true;
}
