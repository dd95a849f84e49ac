/*
 * iam.h
 *		The iam module: the IAM wildcard-pattern type (correlate.iam_pattern),
 *		its matcher, its btree/hash/GIN operator classes, and the helpers the
 *		policy engine calls.
 *
 * A pattern is stored as a varlena whose payload is one flags byte followed by
 * the pattern text exactly as given (server encoding, no terminator).  The
 * flavour is inferred from the text when it is read: a pattern that starts
 * with "arn:" is an ARN pattern and matches case-sensitively; anything else
 * (actions such as "s3:Get*", service principals, "*") is an action pattern
 * and matches ignoring ASCII case, as AWS evaluates them.
 *
 * Prototypes are grouped by the file that defines them.
 */
#ifndef CORRELATE_IAM_H
#define CORRELATE_IAM_H

#include "postgres.h"

#include "fmgr.h"

/* Flags byte of a stored pattern. */
#define IAMPAT_CI		0x01	/* action flavour: ignore ASCII case */
#define IAMPAT_WILD		0x02	/* contains '*' or '?' */
#define IAMPAT_KNOWN_FLAGS	(IAMPAT_CI | IAMPAT_WILD)

/* Wildcard tokens after decoding; real code points are far below these. */
#define IAM_TOK_STAR	((uint32) 0xFFFFFFF0)
#define IAM_TOK_ONE		((uint32) 0xFFFFFFF1)

/* Accessors on a detoasted (possibly short-header) pattern. */
#define IAMPAT_FLAGS(p)		(*(const uint8 *) VARDATA_ANY(p))
#define IAMPAT_TEXT(p)		((const char *) VARDATA_ANY(p) + 1)
#define IAMPAT_TEXTLEN(p)	((int) VARSIZE_ANY_EXHDR(p) - 1)

#define DatumGetIamPatternP(d)	((struct varlena *) PG_DETOAST_DATUM_PACKED(d))
#define PG_GETARG_IAMPAT(n)		DatumGetIamPatternP(PG_GETARG_DATUM(n))

/* Longest literal prefix or suffix (in characters) that a GIN key covers. */
#define IAM_GIN_KEY_CHARS	64

/* iam_guc.c */
extern int	iam_pattern_max_length;

/* iam_pattern.c: type input/output and validation */
extern const char *iam_pattern_problem(const char *s, int len);
extern uint8 iam_pattern_infer_flags(const char *s, int len);
extern char *iam_pattern_show(const char *s, int len);
extern struct varlena *iam_pattern_make(const char *s, int len, const char *context);

/* iam_match.c: the matcher (linear in the string's length) */
extern bool iam_match(const char *pat, int patlen, bool ci, const char *str, int len);
extern bool iam_covers(const char *outer, int outerlen, uint8 outerflags,
					   const char *inner, int innerlen, uint8 innerflags);
extern bool iam_pattern_matches(const struct varlena *pat, const char *str, int len);

/* iam_gin.c: key extraction (one or two int4 keys per pattern) shared by both operator classes */
extern int	iam_gin_pattern_keys(const struct varlena *pat, int32 *keys);

#endif							/* CORRELATE_IAM_H */
