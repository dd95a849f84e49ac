#!/usr/bin/env bash
# Static checks of the extension's SQL (pgspot-like; pgspot itself is not packaged for
# Debian 12).  Prints every finding and exits non-zero if there is any.
#
#   test/static/check.sh            # text checks of the generated install script, and,
#                                   # when a server is reachable (PGHOST/PGPORT), catalog
#                                   # checks of the installed extension in a scratch database
#   CPPCHECK=1 test/static/check.sh # also cppcheck over src/ (slow: ~2.5 min; findings are
#                                   # printed, not counted: see docs/reliability.md)
#
# Text checks (correlate--VERSION.sql, and upgrade scripts if any), CVE-2022-2625 and friends:
#   - no CREATE OR REPLACE and no IF NOT EXISTS (an attacker's object of the same name
#     would be adopted); upgrade scripts may CREATE OR REPLACE the extension's functions
#   - no GRANT ... TO PUBLIC
# Catalog checks (what the script really created):
#   - every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp
#   - every SQL and PL/pgSQL function of the extension pins search_path
#   - inside SECURITY DEFINER functions no unqualified call of a function outside
#     pg_catalog (it would resolve through the pinned path only by luck)
#   - PUBLIC holds no privilege on the schema, its functions, tables or sequences
#   - no SQL or PL/pgSQL function creates a temporary table (catalog churn under pg_cron)
set -uo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
findings=0
finding() { echo "FINDING  $*"; findings=$((findings + 1)); }

make -s PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1 || true
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" correlate.control)
scripts=("correlate--$version.sql")
[ -d src/sql/upgrade ] && while read -r f; do scripts+=("$f"); done < <(find src/sql/upgrade -name '*.sql' | sort)
for f in correlate--*--"$version".sql; do [ -e "$f" ] && scripts+=("$f"); done
for s in "${scripts[@]}"; do
  [ -r "$s" ] || { finding "$s: missing (run make)"; continue; }
  # An upgrade script re-runs every function of the install script as CREATE OR REPLACE
  # (scripts/sql_functions.pl): PostgreSQL 15 refuses to replace, from an extension script, a
  # function that is not already a member of the extension, so no outsider's function is adopted.
  replace_ok='^$'
  case "$s" in *--*--*) replace_ok='^[0-9]+:CREATE OR REPLACE (FUNCTION|PROCEDURE|AGGREGATE) correlate\.' ;; esac
  while IFS=: read -r line text; do
    finding "$s:$line: ${text:0:120}"
  done < <(grep -n -i -E 'CREATE[[:space:]]+OR[[:space:]]+REPLACE|IF[[:space:]]+NOT[[:space:]]+EXISTS[[:space:]]+[^([:space:]]|TO[[:space:]]+PUBLIC' "$s" | grep -v -E '^[0-9]+:[[:space:]]*--' | grep -v -E "$replace_ok")
done
echo "text checks: ${scripts[*]}"

if psql -X -At -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
  db=correlate_static_$$
  trap 'dropdb --if-exists "$db" >/dev/null 2>&1 || true' EXIT
  createdb "$db"
  psql -X -q -d "$db" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION correlate' >/dev/null
  if ! out=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<'SQL'
WITH f AS (
  SELECT p.oid, p.oid::regprocedure::text AS fn, p.prosecdef, l.lanname, p.prosrc, p.proconfig, p.proacl, p.proowner
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'correlate'
),
kw(w) AS (SELECT unnest(string_to_array(
  'if,in,exists,values,coalesce,greatest,least,nullif,cast,array,any,all,some,row,and,or,not,over,filter,with,as,'
  'from,using,on,select,case,when,then,else,returning,extract,position,substring,trim,overlay,analyze,into,where,'
  'join,by,set,update,insert,delete,loop,elsif,return,raise,perform,grouping,window,partition,lateral,distinct,'
  'interval,timestamp,timestamptz,numeric,decimal,varchar,char,character,bit,time,date,float,double,precision,'
  'real,int,integer,bigint,smallint,boolean,text,jsonb,json,inet,cidr,bytea,xid8,regclass,oid,name,uuid,'
  'for,foreach,while,exit,continue,execute,format,declare,begin,end,skip_locked,nowait,of,is,null,'
  'current_date,current_time,current_timestamp,localtimestamp,localtime,collate,like,ilike,similar,between', ',')))
SELECT DISTINCT x FROM (
  SELECT 'SECURITY DEFINER function ' || fn || ' does not pin search_path to pg_catalog, pg_temp' AS x
  FROM f WHERE prosecdef AND NOT COALESCE('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)
  UNION ALL
  SELECT lanname || ' function ' || fn || ' does not pin search_path'
  FROM f WHERE lanname IN ('sql', 'plpgsql') AND NOT EXISTS (SELECT 1 FROM unnest(proconfig) c WHERE c LIKE 'search_path=%')
  UNION ALL
  SELECT 'SECURITY DEFINER function ' || fn || ' calls ' || m[1] || '() unqualified, and it is not in pg_catalog'
  FROM f, regexp_matches(regexp_replace(regexp_replace(prosrc, '--[^\n]*', '', 'g'), '''([^'']|'''')*''', '''''', 'g'),
                         '(?:^|[^.\w"])([a-zA-Z_][a-zA-Z0-9_$]*)\s*\(', 'g') m
  WHERE prosecdef AND lanname IN ('sql', 'plpgsql')
    AND lower(m[1]) NOT IN (SELECT w FROM kw)
    AND NOT EXISTS (SELECT 1 FROM pg_proc c WHERE c.pronamespace = 'pg_catalog'::regnamespace AND c.proname = lower(m[1]))
  UNION ALL
  -- a temporary table per call churns the catalog (pg_attribute, pg_class, pg_type) under pg_cron;
  -- the one left (issue 17) is named here: correlate() (unlogged work tables were measured
  -- 1.9-2.9x slower: it waits for a C engine)
  SELECT lanname || ' function ' || fn || ' creates a temporary table on every call'
  FROM f WHERE lanname IN ('sql', 'plpgsql')
    AND regexp_replace(prosrc, '--[^\n]*', '', 'g') ~* '\mCREATE\s+((GLOBAL|LOCAL)\s+)?TEMP(ORARY)?\s+TABLE'
    AND fn NOT IN ('correlate.correlate(timestamp with time zone,timestamp with time zone)')
  UNION ALL
  SELECT 'PUBLIC may ' || a.privilege_type || ' function ' || fn
  FROM f, aclexplode(COALESCE(f.proacl, acldefault('f'::"char", f.proowner))) a WHERE a.grantee = 0
  UNION ALL
  SELECT 'PUBLIC may ' || a.privilege_type || ' ' || c.oid::regclass::text
  FROM pg_class c, aclexplode(COALESCE(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
  WHERE c.relnamespace = 'correlate'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND a.grantee = 0
  UNION ALL
  SELECT 'PUBLIC may ' || a.privilege_type || ' schema correlate'
  FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n'::"char", n.nspowner))) a
  WHERE n.nspname = 'correlate' AND a.grantee = 0
) s ORDER BY 1;
SQL
); then
    finding "the catalog checks failed to run: $out"
  fi
  while IFS= read -r f; do
    [ -n "$f" ] && finding "$f"
  done <<<"$out"
  echo "catalog checks: $(psql -X -At -d "$db" -c "SELECT count(*) FILTER (WHERE p.prosecdef) || ' SECURITY DEFINER functions of ' || count(*)
    FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'correlate'")"
else
  echo "catalog checks skipped: no server reachable"
fi

if [ -n "${CPPCHECK:-}" ] && command -v cppcheck >/dev/null; then
  echo "cppcheck (findings listed, not counted):"
  cppcheck --enable=warning,portability,performance --inline-suppr --quiet --std=c99 -D__GNUC__ \
    -I src -I "$("$PG_CONFIG" --includedir-server)" --suppress=missingIncludeSystem src 2>&1 | grep -E '^src/' || echo "  none"
fi

echo "$findings findings"
[ "$findings" -eq 0 ]
