#!/usr/bin/env bash
# Compiled Sigma regular expressions are freed with their rule: PostgreSQL 15's regex
# engine allocates with malloc, outside every memory context, so a rule compiled per call
# (sigma_matches over many rows) or recompiled after a rule change leaked about 6 kB per
# compile (500 MB after 80,000 calls) until the backend ended.  Here 40,000 compiles must
# leave the backend's anonymous memory within 64 MB of where it started.  Needs the
# cluster in the environment (PGHOST/PGPORT) and a server on this machine (/proc).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=sigma_regex_memory_$$
createdb "$db"
trap 'dropdb --if-exists "$db"' EXIT
out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION correlate;
CREATE FUNCTION pg_temp.rss_kb() RETURNS int LANGUAGE sql AS
$$ SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1]::int $$;
SELECT pg_temp.rss_kb() AS before \gset
SELECT count(*) FILTER (WHERE correlate.sigma_matches(
	E'title: r\nid: 1\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    a|re: ''^(foo|bar)[0-9]+baz.*$''\n  condition: sel',
	'{"a": "foo1baz"}')) AS matched
FROM generate_series(1, 40000) \gset
SELECT :matched, pg_temp.rss_kb() - :before;
SQL
)
read -r matched grew <<<"$(tr '|' ' ' <<<"$out")"
echo "# 40000 compiles and matches: $matched matched, anonymous memory grew by ${grew} kB"
[ "$matched" = 40000 ] || { echo "FAIL: expected 40000 matches"; exit 1; }
[ "$grew" -lt 65536 ] || { echo "FAIL: the backend grew by ${grew} kB (compiled regexes not freed?)"; exit 1; }
echo "ok"
