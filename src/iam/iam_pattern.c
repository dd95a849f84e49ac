/*
 * iam_pattern.c
 *		correlate.iam_pattern: input, output, binary send/receive, validation
 *		and the small SQL helpers that describe a pattern.
 *
 * Every path that creates a pattern (text input, binary input, the cast from
 * text, the policy engine's bulk conversion) goes through iam_pattern_make(),
 * so the rules live in one place: not empty, at most
 * correlate.iam_pattern_max_length bytes, valid in the server encoding, no
 * control characters.  The flavour flag is derived from the text, never taken
 * from the client, so a value always means what its text says.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "iam/iam.h"

PG_FUNCTION_INFO_V1(iam_pattern_in);
PG_FUNCTION_INFO_V1(iam_pattern_out);
PG_FUNCTION_INFO_V1(iam_pattern_recv);
PG_FUNCTION_INFO_V1(iam_pattern_send);
PG_FUNCTION_INFO_V1(iam_pattern_from_text);
PG_FUNCTION_INFO_V1(iam_pattern_to_text);
PG_FUNCTION_INFO_V1(iam_pattern_flavour);
PG_FUNCTION_INFO_V1(iam_pattern_check);

#define IAMPAT_SEND_VERSION 1

/*
 * Returns NULL when s[0..len) is an acceptable pattern, else a sentence
 * fragment saying why not (for errdetail).
 */
const char *
iam_pattern_problem(const char *s, int len)
{
	if (len <= 0)
		return "an IAM pattern must not be empty";
	if (len > iam_pattern_max_length)
		return psprintf("it is %d bytes long and correlate.iam_pattern_max_length is %d",
						len, iam_pattern_max_length);
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == 0)
			return "it contains a NUL byte";
		if (c < 0x20 || c == 0x7f)
			return psprintf("it contains the control character 0x%02x at byte %d", c, i + 1);
	}
	if (!pg_verify_mbstr(GetDatabaseEncoding(), s, len, true))
		return psprintf("it is not valid %s", GetDatabaseEncodingName());
	return NULL;
}

/* The flags a pattern's text implies. */
uint8
iam_pattern_infer_flags(const char *s, int len)
{
	uint8		flags = 0;

	if (!(len >= 4 && memcmp(s, "arn:", 4) == 0))
		flags |= IAMPAT_CI;
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '*' || s[i] == '?')
		{
			flags |= IAMPAT_WILD;
			break;
		}
	}
	return flags;
}

/*
 * A printable excerpt of possibly bad input for error messages: at most 64
 * bytes, control characters and bytes of invalid text shown as \xNN.
 */
char *
iam_pattern_show(const char *s, int len)
{
	StringInfoData buf;
	int			shown = Min(len, 64);
	bool		valid = pg_verify_mbstr(GetDatabaseEncoding(), s, len, true);

	if (valid)
		shown = pg_mbcliplen(s, len, shown);
	initStringInfo(&buf);
	for (int i = 0; i < shown; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f || (!valid && c >= 0x80))
			appendStringInfo(&buf, "\\x%02x", c);
		else
			appendStringInfoChar(&buf, (char) c);
	}
	if (shown < len)
		appendStringInfoString(&buf, "...");
	return buf.data;
}

/*
 * Validates s[0..len) and builds a pattern value, or raises an error;
 * context (may be NULL) names where the text came from.
 */
struct varlena *
iam_pattern_make(const char *s, int len, const char *context)
{
	const char *why = iam_pattern_problem(s, len);
	struct varlena *result;

	if (why != NULL)
	{
		bool		toolong = len > iam_pattern_max_length;

		ereport(ERROR,
				(errcode(toolong ? ERRCODE_PROGRAM_LIMIT_EXCEEDED : ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid IAM pattern%s%s", context ? " in " : "", context ? context : ""),
				 errdetail("The pattern \"%s\" is not accepted because %s.",
						   iam_pattern_show(s, len), why),
				 toolong ? errhint("Raise correlate.iam_pattern_max_length if such patterns are legitimate.") :
				 errhint("An IAM pattern is an action such as \"s3:Get*\" or an ARN such as \"arn:aws:s3:::bucket/*\".")));
	}

	result = (struct varlena *) palloc(VARHDRSZ + 1 + len);
	SET_VARSIZE(result, VARHDRSZ + 1 + len);
	*(uint8 *) VARDATA(result) = iam_pattern_infer_flags(s, len);
	memcpy(VARDATA(result) + 1, s, len);
	return result;
}

Datum
iam_pattern_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(iam_pattern_make(s, (int) strlen(s), NULL));
}

Datum
iam_pattern_out(PG_FUNCTION_ARGS)
{
	struct varlena *p = PG_GETARG_IAMPAT(0);

	PG_RETURN_CSTRING(pnstrdup(IAMPAT_TEXT(p), IAMPAT_TEXTLEN(p)));
}

/* Binary form: a version byte, then the text in the client encoding. */
Datum
iam_pattern_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgint(buf, 1);
	char	   *s;
	int			nbytes;

	if (version != IAMPAT_SEND_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported binary format version %d of correlate.iam_pattern", version),
				 errdetail("This server reads version %d.", IAMPAT_SEND_VERSION)));
	s = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	PG_RETURN_POINTER(iam_pattern_make(s, nbytes, "binary input"));
}

Datum
iam_pattern_send(PG_FUNCTION_ARGS)
{
	struct varlena *p = PG_GETARG_IAMPAT(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint8(&buf, IAMPAT_SEND_VERSION);
	pq_sendtext(&buf, IAMPAT_TEXT(p), IAMPAT_TEXTLEN(p));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
iam_pattern_from_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_POINTER(iam_pattern_make(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), NULL));
}

Datum
iam_pattern_to_text(PG_FUNCTION_ARGS)
{
	struct varlena *p = PG_GETARG_IAMPAT(0);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(IAMPAT_TEXT(p), IAMPAT_TEXTLEN(p)));
}

/* 'arn' (case-sensitive) or 'action' (ASCII case ignored). */
Datum
iam_pattern_flavour(PG_FUNCTION_ARGS)
{
	struct varlena *p = PG_GETARG_IAMPAT(0);

	PG_RETURN_TEXT_P(cstring_to_text((IAMPAT_FLAGS(p) & IAMPAT_CI) ? "action" : "arn"));
}

/* NULL when the text is a valid pattern, else the reason it is not. */
Datum
iam_pattern_check(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *why = iam_pattern_problem(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

	if (why == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}
