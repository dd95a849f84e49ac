-- gen_estate.sql: a synthetic but realistically shaped cloud estate for benchmarks.
--
--   psql -v n=100000 [-v seed=0.42] -f test/bench/gen_estate.sql
--
-- Loads n resources (ids 1..n, id 1 is `internet`) and about 9 n relationships into
-- the "default" tenant of a database where correlate is installed.  The shape follows
-- a Kubernetes + AWS estate: the internet exposes load balancers, ingresses, some
-- services and instances (the entry points); services expose pods; pods run on nodes,
-- run as service accounts, use images, mount secrets and talk to each other; service
-- accounts, nodes, instances and functions assume IAM roles; users and groups assume
-- roles and carry policies; roles reach data stores (buckets, databases, tables, keys,
-- secrets), about one in a hundred of which is a crown jewel (criticality 1).
--
-- Endpoints of the many-per-source kinds are drawn from power laws (a few roles can
-- read thousands of buckets, a few pods receive most connections), so degrees are
-- heavy-tailed; edges that would repeat (tenant, src, dst, kind) are dropped.
-- Likelihood is the kind's default scaled by a random factor in [0.6, 1), rounded to
-- two digits (so there are many equal-weight ties, as in real data).
--
-- This is a generator, not part of the extension: it writes straight into the tables
-- as a superuser with session_replication_role = replica (no per-row foreign-key
-- triggers; the ids it writes are valid by construction), then fires one empty
-- statement on each table so statement-level triggers (the graph version) run.
-- Deterministic for a given (n, seed).

\set ON_ERROR_STOP on
\if :{?seed}
\else
\set seed 0.42
\endif

CREATE SCHEMA IF NOT EXISTS correlate_bench;

-- Resource kinds in id order, with their share of n; network:ip takes the remainder.
CREATE OR REPLACE FUNCTION correlate_bench.estate_kinds()
RETURNS TABLE (ord int, kind text, share float8)
LANGUAGE sql IMMUTABLE AS $$
	VALUES
		( 1, 'aws:elb:load-balancer',     0.004),
		( 2, 'k8s:ingress',               0.002),
		( 3, 'k8s:service',               0.006),
		( 4, 'k8s:namespace',             0.005),
		( 5, 'k8s:pod',                   0.300),
		( 6, 'container',                 0.100),
		( 7, 'container:image',           0.040),
		( 8, 'k8s:node',                  0.020),
		( 9, 'aws:ec2:instance',          0.050),
		(10, 'aws:lambda:function',       0.020),
		(11, 'aws:ec2:security-group',    0.020),
		(12, 'k8s:serviceaccount',        0.060),
		(13, 'aws:iam:role',              0.060),
		(14, 'aws:iam:user',              0.020),
		(15, 'aws:iam:group',             0.003),
		(16, 'aws:iam:policy',            0.030),
		(17, 'k8s:secret',                0.060),
		(18, 'aws:s3:bucket',             0.050),
		(19, 'aws:rds:db',                0.020),
		(20, 'aws:dynamodb:table',        0.020),
		(21, 'aws:kms:key',               0.010),
		(22, 'aws:secretsmanager:secret', 0.030),
		(23, 'network:ip',                NULL)
$$;

-- Relationship rules.  mode:
--   each      every src gets one edge (with probability m) to a dst drawn from the dst kind
--   each_rev  every dst gets one edge (with probability m) from a src drawn from the src kind
--   rand      round(m * count(src)) edges, both ends drawn
--   reverse   the reverse of every existing edge of kind `of` from src kind to dst kind
-- src_a / dst_a skew the draw: index = floor(count * random()^a), 1 is uniform, 2 is a power law.
CREATE OR REPLACE FUNCTION correlate_bench.estate_rules()
RETURNS TABLE (ord int, kind text, src_kind text, dst_kind text, mode text, m float8,
			   src_a float8, dst_a float8, "of" text)
LANGUAGE sql IMMUTABLE AS $$
	VALUES
		( 1, 'exposes',         'internet',                  'aws:elb:load-balancer',     'each_rev', 1.0,  1.0, 1.0, NULL),
		( 2, 'exposes',         'internet',                  'k8s:ingress',               'each_rev', 1.0,  1.0, 1.0, NULL),
		( 3, 'exposes',         'internet',                  'k8s:service',               'each_rev', 0.3,  1.0, 1.0, NULL),
		( 4, 'exposes',         'internet',                  'aws:ec2:instance',          'each_rev', 0.1,  1.0, 1.0, NULL),
		( 5, 'routes_to',       'aws:elb:load-balancer',     'k8s:service',               'rand',     2.0,  1.0, 1.5, NULL),
		( 6, 'routes_to',       'k8s:ingress',               'k8s:service',               'rand',     3.0,  1.0, 1.5, NULL),
		( 7, 'exposes',         'k8s:service',               'k8s:pod',                   'rand',     8.0,  2.0, 1.0, NULL),
		( 8, 'routes_to',       'aws:elb:load-balancer',     'aws:ec2:instance',          'rand',     3.0,  1.5, 1.5, NULL),
		( 9, 'runs_on',         'k8s:pod',                   'k8s:node',                  'each',     1.0,  1.0, 1.5, NULL),
		(10, 'can_exec',        'k8s:node',                  'k8s:pod',                   'reverse',  NULL, NULL, NULL, 'runs_on'),
		(11, 'runs_as',         'k8s:pod',                   'k8s:serviceaccount',        'each',     1.0,  1.0, 2.0, NULL),
		(12, 'uses_image',      'k8s:pod',                   'container:image',           'each',     1.0,  1.0, 2.0, NULL),
		(13, 'contains',        'k8s:pod',                   'container',                 'each_rev', 1.0,  1.0, 1.0, NULL),
		(14, 'contains',        'k8s:namespace',             'k8s:pod',                   'each_rev', 1.0,  1.5, 1.0, NULL),
		(15, 'mounts',          'k8s:pod',                   'k8s:secret',                'rand',     1.0,  2.0, 1.5, NULL),
		(16, 'connects_to',     'k8s:pod',                   'k8s:pod',                   'rand',     3.0,  2.0, 2.0, NULL),
		(17, 'connects_to',     'k8s:pod',                   'k8s:service',               'rand',     1.5,  2.0, 2.0, NULL),
		(18, 'connects_to',     'k8s:pod',                   'aws:rds:db',                'rand',     0.5,  2.0, 2.0, NULL),
		(19, 'connects_to',     'k8s:pod',                   'network:ip',                'rand',     1.0,  2.0, 2.0, NULL),
		(20, 'assumes',         'k8s:serviceaccount',        'aws:iam:role',              'each',     0.5,  1.0, 1.5, NULL),
		(21, 'can_access',      'k8s:serviceaccount',        'k8s:secret',                'rand',     3.0,  2.0, 1.5, NULL),
		(22, 'can_exec',        'k8s:serviceaccount',        'k8s:pod',                   'rand',     1.0,  3.0, 1.0, NULL),
		(23, 'runs_as',         'k8s:node',                  'aws:iam:role',              'each',     1.0,  1.0, 2.0, NULL),
		(24, 'runs_as',         'aws:ec2:instance',          'aws:iam:role',              'each',     1.0,  1.0, 2.0, NULL),
		(25, 'connects_to',     'aws:ec2:instance',          'aws:rds:db',                'rand',     3.0,  2.0, 2.0, NULL),
		(26, 'member_of',       'aws:ec2:instance',          'aws:ec2:security-group',    'rand',     2.0,  1.0, 1.5, NULL),
		(27, 'runs_as',         'aws:lambda:function',       'aws:iam:role',              'each',     1.0,  1.0, 2.0, NULL),
		(28, 'can_access',      'aws:lambda:function',       'aws:dynamodb:table',        'rand',     3.0,  1.5, 1.5, NULL),
		(29, 'member_of',       'aws:iam:user',              'aws:iam:group',             'rand',     2.0,  1.0, 1.5, NULL),
		(30, 'assumes',         'aws:iam:user',              'aws:iam:role',              'rand',     3.0,  2.0, 2.0, NULL),
		(31, 'has_policy',      'aws:iam:user',              'aws:iam:policy',            'rand',     2.0,  1.0, 2.0, NULL),
		(32, 'has_policy',      'aws:iam:group',             'aws:iam:policy',            'rand',     3.0,  1.0, 2.0, NULL),
		(33, 'assumes',         'aws:iam:group',             'aws:iam:role',              'rand',     2.0,  1.0, 2.0, NULL),
		(34, 'has_policy',      'aws:iam:role',              'aws:iam:policy',            'rand',     3.0,  1.0, 2.0, NULL),
		(35, 'assumes',         'aws:iam:role',              'aws:iam:role',              'rand',     1.0,  2.0, 2.0, NULL),
		(36, 'can_escalate_to', 'aws:iam:role',              'aws:iam:role',              'rand',     0.3,  2.0, 1.0, NULL),
		(37, 'can_access',      'aws:iam:role',              'aws:s3:bucket',             'rand',     25.0, 2.0, 1.5, NULL),
		(38, 'can_access',      'aws:iam:role',              'aws:rds:db',                'rand',     10.0, 2.0, 1.5, NULL),
		(39, 'can_access',      'aws:iam:role',              'aws:dynamodb:table',        'rand',     10.0, 2.0, 1.5, NULL),
		(40, 'can_access',      'aws:iam:role',              'aws:kms:key',               'rand',     8.0,  2.0, 1.5, NULL),
		(41, 'can_access',      'aws:iam:role',              'aws:secretsmanager:secret', 'rand',     15.0, 2.0, 1.5, NULL),
		(42, 'assumes',         'k8s:secret',                'aws:iam:user',              'each',     0.05, 1.0, 1.0, NULL),
		(43, 'can_access',      'aws:secretsmanager:secret', 'aws:rds:db',                'each',     0.5,  1.0, 1.0, NULL)
$$;

CREATE OR REPLACE FUNCTION correlate_bench.gen_estate(n bigint, seed float8 DEFAULT 0.42)
RETURNS TABLE (item text, value text)
LANGUAGE plpgsql AS $fn$
DECLARE
	k record;
	r record;
	lo bigint := 2;
	c bigint;
	t0 timestamptz := clock_timestamp();
	t1 timestamptz;
	rels bigint;
	-- An index in [0, cnt) drawn with skew a, scattered by a multiplier so that the
	-- popular ends are not simply the lowest ids.
	pick constant text := '(%1$s + ((floor(%2$s * power(random(), %3$s))::bigint * 1000003) %% %2$s))';
	lk constant text := 'round((rk.default_likelihood * (0.6 + 0.4 * random()))::numeric, 2)::float8';
BEGIN
	IF n < 1000 OR n > 10000000 THEN
		RAISE EXCEPTION 'n must be between 1000 and 10000000, not %', n;
	END IF;
	IF EXISTS (SELECT 1 FROM correlate.resource WHERE tenant = 'default') THEN
		RAISE EXCEPTION 'tenant "default" already has resources; generate into an empty database';
	END IF;
	PERFORM setseed(seed);
	PERFORM set_config('session_replication_role', 'replica', true);
	PERFORM set_config('work_mem', '512MB', true);

	SET LOCAL client_min_messages = warning;
	DROP TABLE IF EXISTS pg_temp.gen_kind;
	RESET client_min_messages;
	CREATE TEMP TABLE gen_kind (kind text PRIMARY KEY, lo bigint, cnt bigint);
	INSERT INTO gen_kind VALUES ('internet', 1, 1);
	FOR k IN SELECT * FROM correlate_bench.estate_kinds() ORDER BY ord LOOP
		c := CASE WHEN k.share IS NULL THEN n - lo + 1 ELSE greatest(1, round(n * k.share)) END;
		INSERT INTO gen_kind VALUES (k.kind, lo, c);
		lo := lo + c;
	END LOOP;

	INSERT INTO correlate.resource (tenant, id, uid, kind, domain, name, account, region, cluster, namespace,
									criticality)
	OVERRIDING SYSTEM VALUE
	SELECT 'default', i,
		   CASE g.kind
			   WHEN 'internet' THEN 'internet'
			   WHEN 'aws:elb:load-balancer' THEN 'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/lb-' || i
			   WHEN 'aws:ec2:instance' THEN 'arn:aws:ec2:us-east-1:111122223333:instance/i-' || lpad(to_hex(i), 17, '0')
			   WHEN 'aws:lambda:function' THEN 'arn:aws:lambda:us-east-1:111122223333:function:fn-' || i
			   WHEN 'aws:ec2:security-group' THEN 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-' || lpad(to_hex(i), 17, '0')
			   WHEN 'aws:iam:role' THEN 'arn:aws:iam::111122223333:role/role-' || i
			   WHEN 'aws:iam:user' THEN 'arn:aws:iam::111122223333:user/user-' || i
			   WHEN 'aws:iam:group' THEN 'arn:aws:iam::111122223333:group/group-' || i
			   WHEN 'aws:iam:policy' THEN 'arn:aws:iam::111122223333:policy/policy-' || i
			   WHEN 'aws:s3:bucket' THEN 'arn:aws:s3:::bucket-' || i
			   WHEN 'aws:rds:db' THEN 'arn:aws:rds:us-east-1:111122223333:db:db-' || i
			   WHEN 'aws:dynamodb:table' THEN 'arn:aws:dynamodb:us-east-1:111122223333:table/table-' || i
			   WHEN 'aws:kms:key' THEN 'arn:aws:kms:us-east-1:111122223333:key/key-' || i
			   WHEN 'aws:secretsmanager:secret' THEN 'arn:aws:secretsmanager:us-east-1:111122223333:secret:secret-' || i
			   WHEN 'container' THEN 'container://' || lpad(to_hex(i), 12, '0')
			   WHEN 'container:image' THEN 'image://sha256:' || md5(i::text) || md5((-i)::text)
			   WHEN 'network:ip' THEN 'ip://198.18.' || ((i >> 8) & 255) || '.' || (i & 255) || '/' || i
			   WHEN 'k8s:namespace' THEN 'k8s://prod-eks/_/namespace/ns-' || i
			   WHEN 'k8s:node' THEN 'k8s://prod-eks/_/node/node-' || i
			   ELSE 'k8s://prod-eks/ns-' || (i % 500) || '/' || split_part(g.kind, ':', 2) || '/' || split_part(g.kind, ':', 2) || '-' || i
		   END,
		   g.kind, rk.domain,
		   split_part(g.kind, ':', -1) || '-' || i,
		   CASE WHEN g.kind LIKE 'aws:%' THEN '111122223333' END,
		   CASE WHEN g.kind LIKE 'aws:%' THEN 'us-east-1' END,
		   CASE WHEN g.kind LIKE 'k8s:%' OR g.kind LIKE 'container%' THEN 'prod-eks' END,
		   CASE WHEN g.kind IN ('k8s:pod', 'k8s:service', 'k8s:ingress', 'k8s:serviceaccount', 'k8s:secret')
				THEN 'ns-' || (i % 500) END,
		   CASE WHEN g.kind IN ('aws:s3:bucket', 'aws:rds:db', 'aws:dynamodb:table', 'aws:secretsmanager:secret', 'k8s:secret')
				THEN CASE WHEN i % 101 = 0 THEN 1.0 ELSE round((random() * 0.6)::numeric, 2) END
				ELSE 0 END
	FROM gen_kind g
	JOIN correlate.resource_kind rk ON rk.kind = g.kind,
	LATERAL generate_series(g.lo, g.lo + g.cnt - 1) AS i
	ORDER BY i;
	PERFORM setval(pg_get_serial_sequence('correlate.resource', 'id'), n);

	FOR r IN SELECT * FROM correlate_bench.estate_rules() ORDER BY ord LOOP
		IF r.mode = 'each' THEN
			EXECUTE format($q$
				INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, source)
				SELECT 'default', s.i, %s, %L, %s, 'gen_estate'
				FROM gen_kind sk, gen_kind dk, correlate.relationship_kind rk,
					 LATERAL generate_series(sk.lo, sk.lo + sk.cnt - 1) AS s(i)
				WHERE sk.kind = %L AND dk.kind = %L AND rk.kind = %L AND random() < %s
				ON CONFLICT DO NOTHING$q$,
				format(pick, 'dk.lo', 'dk.cnt', r.dst_a), r.kind, lk, r.src_kind, r.dst_kind, r.kind, r.m);
		ELSIF r.mode = 'each_rev' THEN
			EXECUTE format($q$
				INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, source)
				SELECT 'default', %s, d.i, %L, %s, 'gen_estate'
				FROM gen_kind sk, gen_kind dk, correlate.relationship_kind rk,
					 LATERAL generate_series(dk.lo, dk.lo + dk.cnt - 1) AS d(i)
				WHERE sk.kind = %L AND dk.kind = %L AND rk.kind = %L AND random() < %s
				ON CONFLICT DO NOTHING$q$,
				format(pick, 'sk.lo', 'sk.cnt', r.src_a), r.kind, lk, r.src_kind, r.dst_kind, r.kind, r.m);
		ELSIF r.mode = 'rand' THEN
			EXECUTE format($q$
				INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, source)
				SELECT 'default', %s, %s, %L, %s, 'gen_estate'
				FROM gen_kind sk, gen_kind dk, correlate.relationship_kind rk,
					 LATERAL generate_series(1, round(%s * sk.cnt)::bigint) AS e(j)
				WHERE sk.kind = %L AND dk.kind = %L AND rk.kind = %L
				ON CONFLICT DO NOTHING$q$,
				format(pick, 'sk.lo', 'sk.cnt', r.src_a), format(pick, 'dk.lo', 'dk.cnt', r.dst_a),
				r.kind, lk, r.m, r.src_kind, r.dst_kind, r.kind);
		ELSE
			EXECUTE format($q$
				INSERT INTO correlate.relationship (tenant, src, dst, kind, likelihood, source)
				SELECT 'default', x.dst, x.src, %L, %s, 'gen_estate'
				FROM correlate.relationship x, gen_kind sk, gen_kind dk, correlate.relationship_kind rk
				WHERE x.tenant = 'default' AND x.kind = %L
				  AND x.dst BETWEEN sk.lo AND sk.lo + sk.cnt - 1 AND x.src BETWEEN dk.lo AND dk.lo + dk.cnt - 1
				  AND sk.kind = %L AND dk.kind = %L AND rk.kind = %L
				ORDER BY x.id
				ON CONFLICT DO NOTHING$q$,
				r.kind, lk, r."of", r.src_kind, r.dst_kind, r.kind);
		END IF;
	END LOOP;

	-- Back to normal trigger firing; one empty statement per table runs the
	-- statement-level triggers (graph version bump) that replica mode skipped.
	PERFORM set_config('session_replication_role', 'origin', true);
	UPDATE correlate.resource SET criticality = criticality WHERE false;
	UPDATE correlate.relationship SET likelihood = likelihood WHERE false;
	t1 := clock_timestamp();

	SELECT count(*) INTO rels FROM correlate.relationship WHERE tenant = 'default';
	RETURN QUERY VALUES
		('resources', n::text),
		('relationships', rels::text),
		('mean out-degree', round(rels::numeric / n, 2)::text),
		('entry points', (SELECT count(*)::text FROM correlate.relationship WHERE tenant = 'default' AND src = 1)),
		('crown jewels', (SELECT count(*)::text FROM correlate.resource WHERE tenant = 'default' AND criticality >= 1)),
		('max out-degree', (SELECT max(d.deg)::text FROM (SELECT count(*) AS deg FROM correlate.relationship
													  WHERE tenant = 'default' GROUP BY src) d)),
		('max in-degree', (SELECT max(d.deg)::text FROM (SELECT count(*) AS deg FROM correlate.relationship
													 WHERE tenant = 'default' GROUP BY dst) d)),
		('load seconds', round(extract(epoch FROM t1 - t0)::numeric, 1)::text);
END
$fn$;

SELECT * FROM correlate_bench.gen_estate(:n, :seed);
