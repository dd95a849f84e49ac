#!/usr/bin/env bash
# ALTER EXTENSION correlate UPDATE from every released version: installs each frozen
# release script (src/sql/released/), updates to the current default_version through
# the committed upgrade scripts, and checks the result matches a fresh install.
set -euo pipefail
cd "$(dirname "$0")/../.."
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" correlate.control)
shape() {  # the catalog shape of the extension's objects, independent of creation order
  psql -X -A -t -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'correlate') ORDER BY 1;
SELECT p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) FROM pg_proc p
WHERE p.pronamespace = 'correlate'::regnamespace AND p.prokind IN ('f', 'p') ORDER BY 1;
SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = 'correlate'::regnamespace AND a.attnum > 0
  AND NOT a.attisdropped AND c.relkind IN ('r', 'p') ORDER BY 1;
SQL
}
createdb corr_fresh; trap 'dropdb --if-exists corr_fresh; dropdb --if-exists corr_up 2>/dev/null' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d corr_fresh -c "CREATE EXTENSION correlate"
fresh=$(shape corr_fresh)
n=0
for f in src/sql/released/correlate--*.sql; do
  [ -e "$f" ] || continue
  v=$(basename "$f" .sql); v=${v#correlate--}
  [ "$v" = "$current" ] && continue
  dropdb --if-exists corr_up; createdb corr_up
  psql -X -q -v ON_ERROR_STOP=1 -d corr_up -c "CREATE EXTENSION correlate VERSION '$v'" \
       -c "ALTER EXTENSION correlate UPDATE"
  got=$(psql -X -A -t -d corr_up -c "SELECT extversion FROM pg_extension WHERE extname = 'correlate'")
  [ "$got" = "$current" ] || { echo "update from $v reached $got, not $current"; exit 1; }
  diff <(echo "$fresh") <(shape corr_up) || { echo "update from $v differs from a fresh $current install"; exit 1; }
  echo "upgrade $v -> $current matches a fresh install"; n=$((n + 1))
done
echo "$n upgrade path(s) to $current checked"
[ $n -gt 0 ] || echo "(no release before $current: the check becomes active when src/sql/released/ gets its first frozen script)"
