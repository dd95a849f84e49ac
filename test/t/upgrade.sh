#!/usr/bin/env bash
# ALTER EXTENSION correlate UPDATE from every released version (src/sql/released/correlate--V.sql)
# to the current default_version, through the installed upgrade scripts (docs/development.md,
# "Versions and upgrades").  For each release V:
#   1. schema: install V, update, and compare a normalised dump of the extension's catalog
#      (members; tables, columns in order, defaults, constraints, indexes, triggers, policies, RLS
#      flags, ACLs, comments, sequences, types, operators, casts, function definitions, the
#      extension's config tables, and the rows the extension itself ships) with a fresh install;
#   2. data: install V, load the seed scenario (test/data/seed/load.sql) and derive its answers,
#      update, and check the stored answers survived and the queries give the same answers;
#      the schema of that database must equal a fresh install too.
# Fails when no release older than the current version exists, when there is no update path,
# or on any difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" correlate.control)
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d /tmp/correlate-upgrade.XXXXXX)
trap 'dropdb --if-exists corr_fresh; dropdb --if-exists corr_up; dropdb --if-exists corr_seed; rm -rf "$tmp"' EXIT

shape() {  # shape DB [rows]: the extension's catalog, one sorted line per fact; "rows" adds built-in rows
  psql -X -A -t -q -v ON_ERROR_STOP=1 -v rows="${2:-}" -d "$1" <<'SQL'
SET client_min_messages = warning;
CREATE TEMP VIEW m AS  -- the extension's member objects
SELECT d.classid, d.objid, d.objsubid FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'correlate');
CREATE TEMP VIEW rel AS SELECT c.* , c.oid AS reloid FROM pg_class c JOIN m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid;
CREATE FUNCTION pg_temp.acl(aclitem[]) RETURNS text LANGUAGE sql AS
  $$SELECT COALESCE(string_agg(x::text, ',' ORDER BY x::text), '-') FROM unnest($1) x$$;
SELECT x FROM (
  SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM m
  UNION ALL
  SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ': ' || d.description
  FROM pg_description d
  WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM m)
     OR (d.classoid = 'pg_constraint'::regclass AND d.objoid IN (SELECT oid FROM pg_constraint WHERE conrelid IN (SELECT reloid FROM rel)))
     OR (d.classoid = 'pg_trigger'::regclass AND d.objoid IN (SELECT oid FROM pg_trigger WHERE tgrelid IN (SELECT reloid FROM rel)))
     OR (d.classoid = 'pg_policy'::regclass AND d.objoid IN (SELECT oid FROM pg_policy WHERE polrelid IN (SELECT reloid FROM rel)))
  UNION ALL
  SELECT 'schema ' || nspname || ' acl=' || pg_temp.acl(nspacl) FROM pg_namespace WHERE nspname = 'correlate'
  UNION ALL
  SELECT 'relation ' || reloid::regclass || ' kind=' || relkind::text || ' persistence=' || relpersistence::text
         || ' rls=' || relrowsecurity || '/' || relforcerowsecurity || ' options=' || COALESCE(reloptions::text, '-')
         || ' acl=' || pg_temp.acl(relacl) || ' partkey=' || COALESCE(pg_get_partkeydef(reloid), '-')
         || ' bound=' || COALESCE(pg_get_expr(relpartbound, reloid), '-')
         || CASE WHEN relkind IN ('v', 'm') THEN ' view=' || pg_get_viewdef(reloid) ELSE '' END
  FROM rel
  UNION ALL
  SELECT 'column ' || r.reloid::regclass || ' #' || lpad((row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))::text, 4, '0')
         || ' ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || COALESCE(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
         || CASE a.attidentity WHEN '' THEN '' ELSE ' identity ' || a.attidentity::text END
         || CASE a.attgenerated WHEN '' THEN '' ELSE ' generated ' || a.attgenerated::text END
         || CASE WHEN a.attcollation <> 0 THEN ' collate ' || a.attcollation::regcollation ELSE '' END
         || ' storage=' || a.attstorage::text || ' acl=' || pg_temp.acl(a.attacl)
  FROM rel r JOIN pg_attribute a ON a.attrelid = r.reloid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  UNION ALL
  SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL) || ' start=' || s.seqstart
         || ' inc=' || s.seqincrement || ' min=' || s.seqmin || ' max=' || s.seqmax || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle
  FROM pg_sequence s JOIN rel ON rel.reloid = s.seqrelid
  UNION ALL
  SELECT 'constraint ' || COALESCE(NULLIF(c.conrelid, 0)::regclass::text, c.contypid::regtype::text) || ' ' || c.conname
         || ' ' || pg_get_constraintdef(c.oid) || ' deferrable=' || c.condeferrable || '/' || c.condeferred
  FROM pg_constraint c
  WHERE c.conrelid IN (SELECT reloid FROM rel) OR c.contypid IN (SELECT objid FROM m WHERE classid = 'pg_type'::regclass)
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid)
         || CASE WHEN i.indisclustered THEN ' clustered' ELSE '' END
  FROM pg_index i WHERE i.indrelid IN (SELECT reloid FROM rel)
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  FROM pg_trigger t WHERE t.tgrelid IN (SELECT reloid FROM rel) AND NOT t.tgisinternal
  UNION ALL
  SELECT 'policy ' || p.polrelid::regclass || ' ' || p.polname || ' cmd=' || p.polcmd::text || ' permissive=' || p.polpermissive
         || ' roles=' || (SELECT string_agg(CASE r WHEN 0 THEN 'public' ELSE r::regrole::text END, ',' ORDER BY 1) FROM unnest(p.polroles) r)
         || ' using=' || COALESCE(pg_get_expr(p.polqual, p.polrelid), '-')
         || ' check=' || COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), '-')
  FROM pg_policy p WHERE p.polrelid IN (SELECT reloid FROM rel)
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure || ' acl=' || pg_temp.acl(p.proacl) || ' '
         || CASE WHEN p.prokind = 'a' THEN
              (SELECT 'aggregate sfunc=' || a.aggtransfn || ' stype=' || format_type(a.aggtranstype, NULL)
                      || ' final=' || a.aggfinalfn || ' combine=' || a.aggcombinefn || ' init=' || COALESCE(a.agginitval, '-')
                      || ' parallel=' || p.proparallel::text
               FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
            ELSE pg_get_functiondef(p.oid) END
  FROM pg_proc p JOIN m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
  UNION ALL
  SELECT 'type ' || t.oid::regtype || ' ' || t.typtype::text || ' len=' || t.typlen || ' byval=' || t.typbyval
         || ' align=' || t.typalign::text || ' storage=' || t.typstorage::text || ' in=' || t.typinput || ' out=' || t.typoutput
         || ' recv=' || t.typreceive || ' send=' || t.typsend || ' category=' || t.typcategory::text
         || COALESCE(' labels=' || (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), '')
         || ' acl=' || pg_temp.acl(t.typacl)
  FROM pg_type t JOIN m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
  UNION ALL
  SELECT 'operator ' || o.oid::regoperator || ' code=' || o.oprcode || ' com=' || o.oprcom::regoperator
         || ' neg=' || o.oprnegate::regoperator || ' restrict=' || o.oprrest || ' join=' || o.oprjoin
         || ' hashes=' || o.oprcanhash || ' merges=' || o.oprcanmerge
  FROM pg_operator o JOIN m ON m.classid = 'pg_operator'::regclass AND m.objid = o.oid
  UNION ALL
  SELECT 'opfamily member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
  FROM pg_depend d JOIN m ON m.classid = 'pg_opfamily'::regclass AND d.refclassid = m.classid AND d.refobjid = m.objid
  WHERE d.classid IN ('pg_amop'::regclass, 'pg_amproc'::regclass)
  UNION ALL
  SELECT 'cast ' || c.castsource::regtype || ' -> ' || c.casttarget::regtype || ' via ' || c.castfunc::regprocedure
         || ' context=' || c.castcontext::text || ' method=' || c.castmethod::text
  FROM pg_cast c JOIN m ON m.classid = 'pg_cast'::regclass AND m.objid = c.oid
  UNION ALL
  SELECT 'config ' || t::regclass || ' ' || COALESCE(NULLIF(cond, ''), '(all rows)')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) u(t, cond) WHERE e.extname = 'correlate'
) s(x) ORDER BY x COLLATE "C";
-- The rows the extension ships: every row of a member table that is not user data (a table in
-- extconfig keeps the rows its condition excludes; a table outside extconfig keeps all rows).
SELECT format('SELECT x FROM (SELECT %L || '' '' || to_jsonb(t)::text FROM %s t %s) s(x) ORDER BY x COLLATE "C"',
              r.reloid::regclass, r.reloid::regclass,
              CASE WHEN c.cond IS NULL THEN '' ELSE 'WHERE NOT COALESCE((' || regexp_replace(c.cond, '^\s*WHERE\s+', '', 'i') || '), false)' END)
FROM rel r LEFT JOIN (SELECT t, cond FROM pg_extension e, unnest(e.extconfig, e.extcondition) u(t, cond)
                      WHERE e.extname = 'correlate') c ON c.t = r.reloid
WHERE :'rows' = 'rows' AND r.relkind IN ('r') AND COALESCE(c.cond, 'x') <> ''
ORDER BY r.reloid::regclass::text COLLATE "C" \gexec
SQL
}

# The seed's answers: what the data says (stored by 0.x when it was loaded) and what the queries
# answer; resources are named, never identified by id.
answers() {
  psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SET TIME ZONE 'UTC';
SELECT 'resources ' || domain || ' ' || kind || ' ' || count(*) FROM correlate.resource GROUP BY domain, kind ORDER BY 1;
SELECT 'edge ' || s.uid || ' -' || r.kind || '-> ' || d.uid FROM correlate.relationship r
  JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst ORDER BY 1;
SELECT 'events ' || source || ' ' || count(*) || ' ' || min(ts) || ' ' || max(ts) FROM correlate.event GROUP BY source ORDER BY 1;
SELECT 'finding ' || r.uid || ' ' || f.kind || ' ' || f.check_id || ' ' || f.severity || ' ' || f.known_exploited
  FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource ORDER BY 1;
SELECT 'attack edge ' || a.technique || ' ' || s.name || ' -> ' || d.name || ' ' || a.likelihood FROM correlate.attack_edge a
  JOIN correlate.resource s ON s.id = a.src JOIN correlate.resource d ON d.id = a.dst ORDER BY 1;
SELECT 'path ' || p.path_rank || '.' || p.hop || ' ' || r.name || ' ' || round(p.path_likelihood::numeric, 6)
  FROM correlate.attack_paths() p JOIN correlate.resource r ON r.id = p.resource_id ORDER BY p.path_rank, p.hop;
SELECT 'who_can ' || w.principal_uid || ' ' || w.decision FROM correlate.who_can('s3:GetObject',
  'arn:aws:s3:::acme-customer-pii/exports/customers-2026-11.csv') w ORDER BY 1;
SELECT 'incident ' || i.rule || ' ' || i.title || ' ' || i.severity || ' ' || i.first_ts || ' ' || i.last_ts
       || ' events=' || (SELECT count(*) FROM correlate.incident_event ie WHERE ie.incident = i.id)
  FROM correlate.incident i ORDER BY 1;
SELECT 'correlate again ' || count(*) FILTER (WHERE created) FROM correlate.correlate();
SELECT 'risk ' || r.uid || ' ' || s.score FROM correlate.risk_score s JOIN correlate.resource r ON r.id = s.resource_id
  WHERE s.score >= 30 ORDER BY 1;
SQL
}

mapfile -t releases < <(for f in src/sql/released/correlate--*.sql; do
  [ -e "$f" ] && v=$(basename "$f" .sql) && echo "${v#correlate--}"; done | grep -vxF "$current" || true)
[ ${#releases[@]} -gt 0 ] || fail "no released version older than $current in src/sql/released/: nothing to upgrade from"

dropdb --if-exists corr_fresh; createdb corr_fresh
psql -X -q -v ON_ERROR_STOP=1 -d corr_fresh -c "CREATE EXTENSION correlate"
shape corr_fresh rows >"$tmp/fresh"
shape corr_fresh >"$tmp/fresh-schema"
[ "$(grep -c '^function ' "$tmp/fresh")" -gt 100 ] || fail "the catalog dump of a fresh install lists too few functions"

for v in "${releases[@]}"; do
  path=$(psql -X -A -t -d corr_fresh -c "SELECT path FROM pg_extension_update_paths('correlate')
                                         WHERE source = '$v' AND target = '$current'")
  [ -n "$path" ] || fail "no update path from $v to $current (src/sql/upgrade/, make install)"
  echo "update path $path"

  # 1. schema (and shipped rows) after the update equal a fresh install
  dropdb --if-exists corr_up; createdb corr_up
  psql -X -q -v ON_ERROR_STOP=1 -d corr_up -c "SET client_min_messages = warning" \
       -c "CREATE EXTENSION correlate VERSION '$v'" -c "ALTER EXTENSION correlate UPDATE"
  got=$(psql -X -A -t -d corr_up -c "SELECT extversion FROM pg_extension WHERE extname = 'correlate'")
  [ "$got" = "$current" ] || fail "update from $v reached $got, not $current"
  shape corr_up rows >"$tmp/up-$v"
  diff -u "$tmp/fresh" "$tmp/up-$v" >"$tmp/diff" || { head -c 20000 "$tmp/diff";
    fail "$v updated to $current differs from a fresh $current install (- fresh, + updated)"; }
  echo "schema: $v -> $current equals a fresh install ($(wc -l <"$tmp/fresh") catalog lines, $(grep -c '^correlate\.' "$tmp/fresh") shipped rows)"

  # 2. the seed loaded under v keeps its answers across the update
  dropdb --if-exists corr_seed; createdb corr_seed
  psql -X -q -v ON_ERROR_STOP=1 -d corr_seed -c "SET client_min_messages = warning" \
       -c "CREATE EXTENSION correlate VERSION '$v'" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d corr_seed -f test/data/seed/load.sql >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d corr_seed >/dev/null <<'SQL'
SELECT correlate.refresh_policies();
SELECT correlate.derive_attack_edges();
SELECT correlate.correlate();
SELECT correlate.rescore(as_of => '2026-11-21');
SQL
  answers corr_seed >"$tmp/before-$v"
  [ "$(grep -c '^path ' "$tmp/before-$v")" -gt 0 ] && [ "$(grep -c '^incident ' "$tmp/before-$v")" -gt 0 ] \
    || fail "the seed loaded under $v gave no attack path or no incident"
  psql -X -q -v ON_ERROR_STOP=1 -d corr_seed -c "ALTER EXTENSION correlate UPDATE"
  answers corr_seed >"$tmp/after-$v"
  diff -u "$tmp/before-$v" "$tmp/after-$v" || fail "the seed's answers changed across the update from $v"
  shape corr_seed >"$tmp/seed-$v"
  diff -u "$tmp/fresh-schema" "$tmp/seed-$v" | head -200 || true
  cmp -s "$tmp/fresh-schema" "$tmp/seed-$v" || fail "with the seed loaded, $v updated to $current differs from a fresh install"
  echo "data: the seed loaded under $v gives the same $(wc -l <"$tmp/after-$v") answer lines after the update"
done
echo "${#releases[@]} upgrade path(s) to $current checked"
