/*
 * detect_guc.c
 *		Limits of the detection module as GUCs.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "detect/detect.h"

int			detect_max_rule_bytes = 1024 * 1024;
int			detect_max_regex_chars = 1000;
int			detect_max_values = 10000;
bool		detect_compiling_stored = false;

void
detect_define_gucs(void)
{
	DefineCustomIntVariable("correlate.sigma_max_rule_bytes",
							"Largest Sigma rule text (one call or one file) accepted, in bytes.",
							NULL, &detect_max_rule_bytes, 1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("correlate.sigma_max_regex_chars",
							"Longest regular expression (|re) accepted in a Sigma rule, in characters.",
							NULL, &detect_max_regex_chars, 1000, 1, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("correlate.sigma_max_values",
							"Most values accepted for one field of a Sigma selection.",
							NULL, &detect_max_values, 10000, 1, 1000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
}
