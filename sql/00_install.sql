-- The install script: runs cleanly, defends itself against search_path traps,
-- grants nothing to PUBLIC, pins search_path on every SQL function, comments
-- every table and column, and DROP EXTENSION removes everything it made.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
RESET client_min_messages;

-- A hostile schema first on the search_path must not capture anything the script calls.
CREATE SCHEMA trap;
CREATE FUNCTION trap.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'object' $$;
CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
SET search_path = trap, public;
CREATE EXTENSION correlate;
RESET search_path;
DROP SCHEMA trap CASCADE;

SELECT extversion FROM pg_extension WHERE extname = 'correlate';
SELECT (correlate.build_info()->>'json_c') IS NOT NULL AS links_json_c;

-- Nothing is granted to PUBLIC.
SELECT count(*) AS public_grants
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
WHERE n.nspname = 'correlate' AND a.grantee = 0;
SELECT count(*) AS public_function_grants
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a
WHERE n.nspname = 'correlate' AND a.grantee = 0;
SELECT count(*) AS functions_with_default_acl
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'correlate' AND p.proacl IS NULL;

-- Every SQL or PL/pgSQL function pins its search_path.
SELECT p.oid::regprocedure AS unpinned
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = 'correlate' AND l.lanname IN ('sql', 'plpgsql') AND p.prokind = 'f'
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
ORDER BY 1::text;

-- Every table, column and function is documented.
SELECT c.relname AS uncommented_table
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'correlate' AND c.relkind IN ('r', 'p') AND obj_description(c.oid, 'pg_class') IS NULL
ORDER BY 1;
SELECT c.relname || '.' || a.attname AS uncommented_column
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = 'correlate' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relname NOT LIKE 'event\_%' AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1;
SELECT p.oid::regprocedure AS uncommented_function
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'correlate' AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1::text;

-- Row level security is on for every table with a tenant column (a table with no policy denies all
-- but its owner); a table that roles may read has the tenant policy.
SELECT c.relname AS tenant_table_without_rls
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = 'correlate' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attname = 'tenant'
  AND (NOT c.relrowsecurity
	   OR (EXISTS (SELECT 1 FROM aclexplode(c.relacl) g WHERE g.grantee <> c.relowner)
		   AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)))
ORDER BY 1;
SELECT count(*) >= 6 AS has_tenant_tables
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = 'correlate' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attname = 'tenant';

-- The three roles exist and nest.
SELECT r.rolname, pg_has_role('correlate_admin', r.oid, 'MEMBER') AS admin_has
FROM pg_roles r WHERE r.rolname LIKE 'correlate\_%' ORDER BY 1;

-- DROP ... CASCADE leaves nothing behind; a second CREATE works.
SELECT correlate.internet() IS NOT NULL AS has_internet;
DROP EXTENSION correlate CASCADE;
SELECT count(*) AS leftover_schema FROM pg_namespace WHERE nspname = 'correlate';
CREATE EXTENSION correlate;
SELECT count(*) AS fresh_resources FROM correlate.resource;
DROP EXTENSION correlate;
