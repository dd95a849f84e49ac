-- iam_bench.sql: the figures of test/bench/iam_bench.sh (run by it with psql variables
-- statements, roles, runs).  Prints one tab-separated line per figure:
--   figure <TAB> ours_ms <TAB> baseline_ms <TAB> note
\set ON_ERROR_STOP on
\pset tuples_only on
\pset format unaligned
\pset fieldsep '\t'
SET client_min_messages = warning;
LOAD 'correlate';
CREATE EXTENSION IF NOT EXISTS correlate;
SET search_path = correlate, public;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

-- Median wall time (ms) of runs executions of a query, measured inside the server.
CREATE FUNCTION bench_median(q text, runs integer, OUT ms float8, OUT n bigint) LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	times float8[] := '{}';
BEGIN
	FOR i IN 1..runs LOOP
		t0 := clock_timestamp();
		EXECUTE q INTO n;
		times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO ms FROM unnest(times) x;
END
$$;

-- ---- 1. "which statements match s3:GetObject on arn:aws:s3:::bucket/key" -----------------
-- Statements shaped like real ones: 100 services (the common AWS ones first), 50 actions each;
-- 1 or 2 action patterns per statement: exact (81%), Verb-prefix* (15%), service:* (4%), * (0.02%);
-- one resource pattern: a specific ARN or ARN prefix (70%), a service-wide ARN pattern (20%), or
-- * (10%).  Indexed the way correlate.iam_statement is: one GIN index over (actions, resources).
SELECT setseed(0.31);
CREATE TABLE bench_svc AS
SELECT row_number() OVER () AS i, s FROM unnest(ARRAY[
	's3', 'ec2', 'iam', 'dynamodb', 'lambda', 'kms', 'sqs', 'sns', 'logs', 'rds', 'sts', 'ecr', 'ecs', 'eks',
	'cloudwatch', 'cloudformation', 'ssm', 'secretsmanager', 'glue', 'athena', 'kinesis', 'firehose', 'es',
	'elasticache', 'route53', 'acm', 'apigateway', 'cognito-idp', 'codebuild', 'codecommit', 'codepipeline',
	'events', 'states', 'sagemaker', 'redshift', 'backup', 'organizations', 'config', 'guardduty', 'xray']
	|| ARRAY(SELECT 'svc' || g FROM generate_series(41, 100) g)) s;
CREATE TABLE bench_verb AS
SELECT row_number() OVER (ORDER BY v, n) AS i, v || n AS a FROM
	unnest(ARRAY['Get', 'Put', 'List', 'Describe', 'Create', 'Delete', 'Update', 'Tag', 'Untag', 'Start']) v,
	unnest(ARRAY['Object', 'Bucket', 'Item', 'Table', 'Policy']) n;

CREATE TABLE bench_stmt (id bigint GENERATED ALWAYS AS IDENTITY, actions iam_pattern[], resources iam_pattern[]);
INSERT INTO bench_stmt (actions, resources)
SELECT ARRAY(SELECT CASE WHEN r < 0.0002 THEN '*'
						 WHEN r < 0.0402 THEN s.s || ':*'
						 WHEN r < 0.1902 THEN s.s || ':' || left(v.a, 3 + (g % 3)) || '*'
						 ELSE s.s || ':' || v.a END::iam_pattern
			 FROM (SELECT random() AS r, 1 + floor(random() * 100)::int AS si, 1 + floor(random() * 50)::int AS vi, g
				   FROM generate_series(1, 1 + (x.id % 2)) g WHERE x.id > 0) q
			 JOIN bench_svc s ON s.i = q.si JOIN bench_verb v ON v.i = q.vi),
	   ARRAY[(SELECT CASE WHEN r < 0.10 THEN '*'
						  WHEN r < 0.30 THEN CASE WHEN s.s = 's3' THEN 'arn:aws:s3:::*' ELSE 'arn:aws:' || s.s || ':*' END
						  WHEN s.s = 's3' THEN 'arn:aws:s3:::bucket-' || (x.id % 5000) || CASE WHEN r < 0.65 THEN '/*' ELSE '' END
						  ELSE 'arn:aws:' || s.s || ':us-east-1:' || (100000000000 + x.id % 700) || ':res/' || (x.id % 9000) END
			  FROM (SELECT random() AS r, 1 + floor(random() * 100)::int AS si WHERE x.id > 0) q JOIN bench_svc s ON s.i = q.si)::iam_pattern]
FROM generate_series(1, :statements) x(id);

CREATE TEMP TABLE bq AS SELECT format('SELECT count(*) FROM bench_stmt WHERE actions OPERATOR(correlate.~~>) %L '
										'AND resources OPERATOR(correlate.~~>) %L', 's3:GetObject', 'arn:aws:s3:::bucket-42/key') AS q;
SET enable_bitmapscan = off; SET enable_indexscan = off;
SELECT 'seqscan_warm', 0, 0, '' FROM bq, bench_median(bq.q, 1);
CREATE TEMP TABLE r1 AS SELECT b.* FROM bq, bench_median(bq.q, greatest(:runs / 2, 3)) b;
RESET enable_bitmapscan; RESET enable_indexscan;

CREATE TEMP TABLE build AS SELECT clock_timestamp() AS t0;
CREATE INDEX bench_stmt_patterns ON bench_stmt USING gin (actions, resources);
SELECT 'gin_build_ms', round(extract(epoch FROM clock_timestamp() - t0) * 1000), 0, '' FROM build;
ANALYZE bench_stmt;
SELECT 'index_warm', 0, 0, '' FROM bq, bench_median(bq.q, 3);
CREATE TEMP TABLE r2 AS SELECT b.* FROM bq, bench_median(bq.q, :runs) b;
SELECT 'match_1M', round(r2.ms::numeric, 2), round(r1.ms::numeric, 2),
	   format('%s statements, %s patterns; %s match the action, %s both; index %s MB, table %s MB',
			  :statements, (SELECT sum(cardinality(actions) + cardinality(resources)) FROM bench_stmt),
			  (SELECT count(*) FROM bench_stmt WHERE actions OPERATOR(correlate.~~>) 's3:GetObject'), r2.n,
			  round(pg_relation_size('bench_stmt_patterns') / 1048576.0),
			  round(pg_relation_size('bench_stmt') / 1048576.0))
FROM r1, r2 WHERE r1.n = r2.n;
SELECT 'match_1M_MISMATCH', r2.n, r1.n, 'index and seqscan disagree!' FROM r1, r2 WHERE r1.n <> r2.n;
\pset tuples_only off
\pset format aligned
EXPLAIN (COSTS OFF) SELECT count(*) FROM bench_stmt
WHERE actions OPERATOR(correlate.~~>) 's3:GetObject' AND resources OPERATOR(correlate.~~>) 'arn:aws:s3:::bucket-42/key';
\pset tuples_only on
\pset format unaligned
DROP TABLE bench_stmt;

-- ---- 2. who_can over an account with :roles roles and 4 x :roles statements ----------------
-- Shaped like a real account: roles belong to apps (10 roles per app) and mostly reach their
-- app's bucket, table, queue, key and secret; read-only actions go on "*"; one statement in
-- 200 is broad (s3:*, iam:PassRole, ... on *).  Per role: a trust policy (1 statement), an inline policy (2), and two
-- of :roles/20 managed policies (20 statements each): 3 * :roles + :roles = 4 * :roles.
SELECT setseed(0.47);
CREATE FUNCTION bench_app_stmt(app integer, r float8, r2 float8) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('Effect', 'Allow',
		'Action', (ARRAY[jsonb_build_array('s3:GetObject', 's3:ListBucket'), jsonb_build_array('s3:PutObject', 's3:GetObject'),
						 jsonb_build_array('dynamodb:Query', 'dynamodb:GetItem'), jsonb_build_array('dynamodb:PutItem'),
						 jsonb_build_array('sqs:SendMessage', 'sqs:ReceiveMessage'), jsonb_build_array('kms:Decrypt'),
						 jsonb_build_array('secretsmanager:GetSecretValue'), jsonb_build_array('ssm:GetParameter*')])[1 + floor(r * 8)::int],
		'Resource', (ARRAY['arn:aws:s3:::app-' || app || '/*', 'arn:aws:s3:::app-' || app,
						   'arn:aws:dynamodb:us-east-1:111122223333:table/app-' || app,
						   'arn:aws:sqs:us-east-1:111122223333:app-' || app,
						   'arn:aws:kms:us-east-1:111122223333:key/app-' || app,
						   'arn:aws:secretsmanager:us-east-1:111122223333:secret:app-' || app || '-*',
						   'arn:aws:ssm:us-east-1:111122223333:parameter/app-' || app || '/*'])[1 + floor(r2 * 7)::int])
$$;
CREATE FUNCTION bench_shared_stmt(k integer, r float8, r2 float8) RETURNS jsonb LANGUAGE sql AS $$
	SELECT CASE
		WHEN r < 0.40 THEN jsonb_build_object('Effect', 'Allow', 'Resource', '*', 'Action',
			(ARRAY['ec2:Describe*', 'logs:*', 'cloudwatch:PutMetricData', 'xray:PutTraceSegments', 's3:ListAllMyBuckets',
				   'iam:Get*', 'ecr:GetAuthorizationToken', 'sts:GetCallerIdentity'])[1 + floor(r2 * 8)::int])
		WHEN r < 0.93 THEN bench_app_stmt(k, r2, (r - 0.4) / 0.53)
		WHEN r < 0.935 THEN jsonb_build_object('Effect', 'Allow', 'Resource', '*', 'Action',
			(ARRAY['s3:*', 'dynamodb:*', 'iam:PassRole', 'ec2:RunInstances', 'lambda:*', 'sts:AssumeRole'])[1 + floor(r2 * 6)::int])
		WHEN r < 0.96 THEN jsonb_build_object('Effect', 'Deny', 'Resource', '*', 'Action', 's3:DeleteBucket')
		ELSE bench_app_stmt(k, r2, 0.1) || '{"Condition": {"Bool": {"aws:SecureTransport": "true"}}}' END
$$;
SELECT count(*) > 0 FROM correlate.upsert_resources(
	ARRAY(SELECT 'arn:aws:iam::111122223333:policy/shared-' || i FROM generate_series(1, :roles / 20) i),
	array_fill('aws:iam:policy'::text, ARRAY[:roles / 20]),
	accounts => array_fill('111122223333'::text, ARRAY[:roles / 20]),
	props => ARRAY(SELECT jsonb_build_object('document', jsonb_build_object('Statement',
				(SELECT jsonb_agg(bench_shared_stmt((i * 7 + j) % (:roles / 10), random(), random()))
				 FROM generate_series(1, 20) j WHERE i > 0)))
				   FROM generate_series(1, :roles / 20) i));
SELECT count(*) > 0 FROM correlate.upsert_resources(
	ARRAY(SELECT 'arn:aws:iam::111122223333:role/app-' || i FROM generate_series(0, :roles - 1) i),
	array_fill('aws:iam:role'::text, ARRAY[:roles]),
	accounts => array_fill('111122223333'::text, ARRAY[:roles]),
	props => ARRAY(SELECT jsonb_build_object(
				'trust_policy', jsonb_build_object('Statement', jsonb_build_array(jsonb_build_object(
					'Effect', 'Allow', 'Action', 'sts:AssumeRole',
					'Principal', CASE WHEN i % 10 < 4 THEN jsonb_build_object('Service', 'ec2.amazonaws.com')
									  WHEN i % 10 < 7 THEN jsonb_build_object('Service', 'lambda.amazonaws.com')
									  WHEN i % 10 < 9 THEN jsonb_build_object('Service', 'ecs-tasks.amazonaws.com')
									  ELSE jsonb_build_object('AWS', 'arn:aws:iam::111122223333:role/app-' || ((i * 7) % :roles)) END))),
				'inline_policies', jsonb_build_array(jsonb_build_object('name', 'own', 'document', jsonb_build_object('Statement',
					jsonb_build_array(bench_app_stmt(i / 10, random(), random()), bench_app_stmt(i / 10, random(), random()))))),
				'managed_policies', jsonb_build_array('arn:aws:iam::111122223333:policy/shared-' || (1 + (i * 13) % (:roles / 20)),
													  'arn:aws:iam::111122223333:policy/shared-' || (1 + (i * 17 + 5) % (:roles / 20))))
				   FROM generate_series(0, :roles - 1) i));
SELECT count(*) > 0 FROM correlate.upsert_resources(
	ARRAY(SELECT 'arn:aws:s3:::app-' || i FROM generate_series(0, 199) i), array_fill('aws:s3:bucket'::text, ARRAY[200]),
	accounts => array_fill('111122223333'::text, ARRAY[200]));
SELECT count(*) > 0 FROM correlate.upsert_resources(
	ARRAY(SELECT 'arn:aws:dynamodb:us-east-1:111122223333:table/app-' || i FROM generate_series(0, 99) i),
	array_fill('aws:dynamodb:table'::text, ARRAY[100]), accounts => array_fill('111122223333'::text, ARRAY[100]));

CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t0;
CREATE TEMP TABLE refreshed AS SELECT * FROM correlate.refresh_policies(derive_edges => false);
SELECT 'refresh_policies_ms', round(extract(epoch FROM clock_timestamp() - t0) * 1000), 0,
	   format('%s policies, %s statements, %s attachments', policies, statements, attachments) FROM t0, refreshed;

-- Requests: a fixed, varied list (objects, tables, roles, keys, queues, *).
CREATE TABLE req AS
SELECT i,
	   (ARRAY['s3:GetObject', 'dynamodb:Query', 'sts:AssumeRole', 'iam:PassRole', 'kms:Decrypt',
			  'sqs:SendMessage', 'ec2:DescribeInstances', 'ec2:RunInstances'])[1 + i % 8] AS action,
	   (ARRAY['arn:aws:s3:::app-' || (i * 37 % (:roles / 10)) || '/data/key',
			  'arn:aws:dynamodb:us-east-1:111122223333:table/app-' || (i * 37 % (:roles / 10)),
			  'arn:aws:iam::111122223333:role/app-' || (i * 113 % :roles),
			  'arn:aws:iam::111122223333:role/app-' || (i * 71 % :roles),
			  'arn:aws:kms:us-east-1:111122223333:key/app-' || (i * 37 % (:roles / 10)),
			  'arn:aws:sqs:us-east-1:111122223333:app-' || (i * 37 % (:roles / 10)),
			  '*', '*'])[1 + i % 8] AS res
FROM generate_series(1, 40) i;

CREATE FUNCTION bench_who_can(runs integer, OUT ms float8, OUT p90 float8, OUT answers bigint) LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	times float8[] := '{}';
	n bigint;
	r record;
BEGIN
	answers := 0;
	FOR k IN 1..runs LOOP
		FOR r IN SELECT * FROM req ORDER BY i LOOP
			t0 := clock_timestamp();
			SELECT count(*) INTO n FROM correlate.who_can(r.action, r.res);
			times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000);
			IF k = 1 THEN answers := answers + n; END IF;
		END LOOP;
	END LOOP;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x), percentile_cont(0.9) WITHIN GROUP (ORDER BY x)
	INTO ms, p90 FROM unnest(times) x;
END
$$;
-- Each measurement in a fresh session: cached plans would otherwise carry over the
-- planner settings of the previous one.
\connect
SET search_path = correlate, public;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SELECT 'who_can_warm', 0, 0, '' FROM bench_who_can(1);
CREATE TABLE w1 AS SELECT * FROM bench_who_can(3);
\connect
SET search_path = correlate, public;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET enable_bitmapscan = off; SET enable_indexscan = off;
CREATE TABLE w0 AS SELECT * FROM bench_who_can(1);
\connect
SET search_path = correlate, public;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SELECT 'who_can_median', round(w1.ms::numeric, 2), round(w0.ms::numeric, 2),
	   format('%s roles, %s statements; 40 requests x 3; p90 %s ms (baseline p90 %s ms); %s answers',
			  :roles, (SELECT count(*) FROM correlate.iam_statement), round(w1.p90::numeric, 2), round(w0.p90::numeric, 2), w1.answers)
FROM w1, w0;
SELECT 'who_can_MISMATCH', w1.answers, w0.answers, 'index and seqscan disagree!' FROM w1, w0 WHERE w1.answers <> w0.answers;

CREATE TEMP TABLE t1 AS SELECT clock_timestamp() AS t0;
CREATE TEMP TABLE edges AS SELECT * FROM correlate.refresh_iam_edges();
SELECT 'refresh_iam_edges_ms', round(extract(epoch FROM clock_timestamp() - t0) * 1000), 0,
	   (SELECT string_agg(kind || ' ' || edges, ', ' ORDER BY kind) FROM edges) FROM t1;

-- ---- 3. the edge refresh against the implementation it replaced ----------------------------
-- iam_bench.sh loads the baseline's _iam_evaluate and refresh_iam_edges (from git, IAM_BASE)
-- into schema iam_old.  Both run on the same estate, alternated, :runs times each; CPU is the
-- backend's own (utime + stime), which a loaded machine disturbs less than wall time.
\if :have_old
\i :old_sql
CREATE FUNCTION bench_cpu() RETURNS float8 LANGUAGE sql AS $$
	SELECT (split_part(s, ' ', 14)::float8 + split_part(s, ' ', 15)::float8) * 10
	FROM (SELECT regexp_replace(pg_read_file('/proc/self/stat'), '^.*\) ', 'x x ') AS s) x
$$;
CREATE TABLE bench_edge_times (impl text, what text, wall_ms float8, cpu_ms float8);
CREATE FUNCTION bench_edges(runs integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	c0 float8;
BEGIN
	FOR i IN 1..runs LOOP
		t0 := clock_timestamp(); c0 := bench_cpu();
		PERFORM iam_old.refresh_iam_edges();
		INSERT INTO bench_edge_times VALUES ('old', 'edges', extract(epoch FROM clock_timestamp() - t0) * 1000, bench_cpu() - c0);
		t0 := clock_timestamp(); c0 := bench_cpu();
		PERFORM correlate.refresh_iam_edges();
		INSERT INTO bench_edge_times VALUES ('new', 'edges', extract(epoch FROM clock_timestamp() - t0) * 1000, bench_cpu() - c0);
		-- refresh_policies() with the edges on; the old one is the policies then the old edges
		t0 := clock_timestamp(); c0 := bench_cpu();
		PERFORM correlate.refresh_policies(derive_edges => false);
		PERFORM iam_old.refresh_iam_edges();
		INSERT INTO bench_edge_times VALUES ('old', 'policies', extract(epoch FROM clock_timestamp() - t0) * 1000, bench_cpu() - c0);
		t0 := clock_timestamp(); c0 := bench_cpu();
		PERFORM correlate.refresh_policies();
		INSERT INTO bench_edge_times VALUES ('new', 'policies', extract(epoch FROM clock_timestamp() - t0) * 1000, bench_cpu() - c0);
	END LOOP;
END
$$;
SELECT bench_edges(:runs);
SELECT 'edges_' || n.what || '_wall',
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY n.wall_ms)::numeric),
	   (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY o.wall_ms)::numeric) FROM bench_edge_times o WHERE o.impl = 'old' AND o.what = n.what),
	   format('%s runs each, alternated', count(*))
FROM bench_edge_times n WHERE n.impl = 'new' GROUP BY n.what;
SELECT 'edges_' || n.what || '_cpu',
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY n.cpu_ms)::numeric),
	   (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY o.cpu_ms)::numeric) FROM bench_edge_times o WHERE o.impl = 'old' AND o.what = n.what),
	   'backend CPU'
FROM bench_edge_times n WHERE n.impl = 'new' GROUP BY n.what;

-- Row by row: every edge (ends, kind, likelihood, props with its technique lists and
-- decision, source) of the old and the new refresh, each run from no edges, on this estate
-- and on every authorization-details fixture of test/data (one tenant each).
CREATE TABLE bench_edges_out (impl text, tenant text, src text, dst text, kind text, likelihood float8, props jsonb, source text);
CREATE FUNCTION bench_edges_of(impl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM correlate.relationship r WHERE r.tenant = correlate.current_tenant() AND r.source = 'iam_policy'
	  AND r.kind IN ('assumes', 'can_access', 'can_escalate_to', 'runs_as');
	IF impl = 'old' THEN PERFORM iam_old.refresh_iam_edges(); ELSE PERFORM correlate.refresh_iam_edges(); END IF;
	INSERT INTO bench_edges_out
	SELECT impl, r.tenant, s.uid, d.uid, r.kind, r.likelihood, r.props, r.source
	FROM correlate.relationship r JOIN correlate.resource s ON s.tenant = r.tenant AND s.id = r.src
	JOIN correlate.resource d ON d.tenant = r.tenant AND d.id = r.dst
	WHERE r.tenant = correlate.current_tenant() AND r.kind IN ('assumes', 'can_access', 'can_escalate_to', 'runs_as');
END
$$;
SELECT bench_edges_of('old'), bench_edges_of('new');
CREATE FUNCTION bench_fixture(path text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('correlate.tenant',
					   'cmp-' || regexp_replace(regexp_replace(path, '^.*/test/data/|\.json$', '', 'g'), '[^A-Za-z0-9]+', '-', 'g'), true);
	PERFORM correlate.ingest('aws_iam', pg_read_file(path));
	PERFORM correlate.refresh_policies(derive_edges => false);
	PERFORM bench_edges_of('old');
	PERFORM bench_edges_of('new');
END
$$;
SELECT count(*) FROM (SELECT bench_fixture(f) FROM unnest(string_to_array(trim(:'fixtures'), ' ')) f) x \gset fix_
SELECT 'edges_compare', (SELECT count(*) FROM bench_edges_out WHERE impl = 'new'), (SELECT count(*) FROM bench_edges_out WHERE impl = 'old'),
	   format('edges of the bench estate and %s fixtures (%s tenants with edges), new vs old: %s only new, %s only old',
			  :fix_count, (SELECT count(DISTINCT tenant) FROM bench_edges_out),
			  (SELECT count(*) FROM (SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'new'
									 EXCEPT ALL SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'old') x),
			  (SELECT count(*) FROM (SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'old'
									 EXCEPT ALL SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'new') x));
SELECT 'edges_MISMATCH', n.tenant, n.src || ' -[' || n.kind || ']-> ' || n.dst, 'only in ' || n.impl
FROM (SELECT 'new' AS impl, * FROM (SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'new'
				  EXCEPT ALL SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'old') a
	  UNION ALL
	  SELECT 'old', * FROM (SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'old'
				  EXCEPT ALL SELECT tenant, src, dst, kind, likelihood, props, source FROM bench_edges_out WHERE impl = 'new') b) n
ORDER BY 2, 3 LIMIT 20;
\endif
