/*
 * jsonc_parse.c: the json-c share of an ingest, measured alone (benchmark helper,
 * built and run by ingest_bench.sh; not part of the extension).
 *
 *	 jsonc_parse FILE	 FILE holds one JSON record per line
 *
 * Parses every line the way the ingest path does (one json_tokener, strict mode,
 * depth limit correlate.ingest_max_depth + 1, reset per record), frees the tree,
 * and prints the CPU seconds of that loop alone: what any json-c based ingest
 * pays before it has normalised or stored anything.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
cpu_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	long		n;
	char	   *buf,
			   *p;
	struct json_tokener *tok;
	long		records = 0,
				failed = 0;
	double		t0;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL)
	{
		fprintf(stderr, "usage: jsonc_parse FILE (one JSON record per line)\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	if (buf == NULL || fread(buf, 1, n, f) != (size_t) n)
	{
		fprintf(stderr, "jsonc_parse: cannot read %s\n", argv[1]);
		return 2;
	}
	buf[n] = '\0';
	fclose(f);

	tok = json_tokener_new_ex(256 + 1);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	t0 = cpu_seconds();
	for (p = buf; *p;)
	{
		char	   *end = strchr(p, '\n');
		struct json_object *obj;

		if (end == NULL)
			end = p + strlen(p);
		if (end > p)
		{
			json_tokener_reset(tok);
			obj = json_tokener_parse_ex(tok, p, (int) (end - p));
			if (obj == NULL)
				failed++;
			json_object_put(obj);
			records++;
		}
		p = *end ? end + 1 : end;
	}
	printf("%.3f %ld %ld\n", cpu_seconds() - t0, records, failed);
	json_tokener_free(tok);
	free(buf);
	return failed ? 1 : 0;
}
