/*
 * output_escape.c
 *		Escapers for every string the output module writes.
 *
 * Resource names, kinds and techniques are attacker-controlled text.  The
 * escapers walk the bytes themselves rather than trusting the database
 * encoding: a sequence that is not well-formed UTF-8 (possible in a
 * SQL_ASCII database) becomes U+FFFD, as do the control characters XML 1.0
 * forbids and U+FFFE/U+FFFF; in DOT, tabs and line breaks become spaces.  A
 * maximum length in characters truncates with an ellipsis, never inside a
 * character.
 */
#include "postgres.h"

#include "output/output.h"

#define REPLACEMENT "\xEF\xBF\xBD"
#define ELLIPSIS	"\xE2\x80\xA6"

/*
 * Length of the well-formed UTF-8 sequence at s (at most avail bytes), its
 * code point in *cp; 0 when the bytes there are not well-formed.
 */
static int
utf8_next(const unsigned char *s, size_t avail, uint32 *cp)
{
	unsigned char c = s[0];
	int			len;
	uint32		v;
	uint32		min;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		len = 2;
		v = c & 0x1F;
		min = 0x80;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		len = 3;
		v = c & 0x0F;
		min = 0x800;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	}
	else
		return 0;
	if ((size_t) len > avail)
		return 0;
	for (int i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/*
 * Appends s escaped: quote selects the DOT escaper (backslash and double
 * quote) over the XML one (& < > " ').
 */
static void
append_escaped(StringInfo buf, const char *s, int maxchars, bool dot)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		remaining;
	int			total;
	int			chars = 0;

	if (s == NULL)
		return;
	remaining = strlen(s);
	total = (maxchars > 0) ? output_text_chars(s, 0) : 0;

	while (remaining > 0)
	{
		uint32		cp;
		int			len = utf8_next(p, remaining, &cp);

		if (maxchars > 0 && total > maxchars && chars == maxchars - 1)
		{
			appendStringInfoString(buf, ELLIPSIS);
			return;
		}
		chars++;
		if (len == 0)
		{
			appendStringInfoString(buf, REPLACEMENT);
			p++;
			remaining--;
			continue;
		}
		if (cp == '\t' || cp == '\n' || cp == '\r')
			appendStringInfoChar(buf, dot ? ' ' : (char) cp);
		else if (cp < 0x20 || cp == 0x7F || cp == 0xFFFE || cp == 0xFFFF)
			appendStringInfoString(buf, REPLACEMENT);
		else if (dot && cp == '"')
			appendStringInfoString(buf, "\\\"");
		else if (dot && cp == '\\')
			appendStringInfoString(buf, "\\\\");
		else if (!dot && cp == '&')
			appendStringInfoString(buf, "&amp;");
		else if (!dot && cp == '<')
			appendStringInfoString(buf, "&lt;");
		else if (!dot && cp == '>')
			appendStringInfoString(buf, "&gt;");
		else if (!dot && cp == '"')
			appendStringInfoString(buf, "&quot;");
		else if (!dot && cp == '\'')
			appendStringInfoString(buf, "&#39;");
		else
			appendBinaryStringInfo(buf, (const char *) p, len);
		p += len;
		remaining -= len;
	}
}

/* Appends s for XML or HTML text and attribute values. */
void
output_append_xml(StringInfo buf, const char *s, int maxchars)
{
	append_escaped(buf, s, maxchars, false);
}

/* Appends s for the inside of a double-quoted DOT string. */
void
output_append_dot(StringInfo buf, const char *s, int maxchars)
{
	append_escaped(buf, s, maxchars, true);
}

/*
 * Characters s shows as once escaped and truncated to maxchars (0: no
 * limit); an ill-formed byte counts as one character.
 */
int
output_text_chars(const char *s, int maxchars)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		remaining;
	int			chars = 0;

	if (s == NULL)
		return 0;
	remaining = strlen(s);
	while (remaining > 0)
	{
		uint32		cp;
		int			len = utf8_next(p, remaining, &cp);

		if (len == 0)
			len = 1;
		p += len;
		remaining -= len;
		chars++;
	}
	if (maxchars > 0 && chars > maxchars)
		return maxchars;
	return chars;
}
