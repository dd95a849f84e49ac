-- In-server mutation fuzzer for correlate's input parsers (written for this repo).
--
-- Loaded by test/fuzz/run.sh into a scratch database that has correlate installed.
-- Targets: the nine ingest formats (correlate.ingest), IAM policy documents
-- (statement helpers, then an aws_iam ingest, refresh_policies and who_can on a
-- document carrying the mutated policy) and IAM patterns (the text input of
-- correlate.iam_pattern, matching, covering, overlap) and Sigma rules (load_sigma of a
-- mutated YAML text, then detect() runs what loaded over a few events).  Seeds come from test/data/
-- (fuzz.seed, filled by run.sh).  Every execution runs in a subtransaction that is
-- always rolled back (a successful one by raising FZ000), so the database does not
-- grow and executions stay independent.  An error with SQLSTATE class XX (internal
-- error: an elog() or a failed check where the input should have got a real code)
-- is recorded in fuzz.finding with its input; a crash ends the run (run.sh reruns
-- the batch verbosely to print the input).  random() is seeded with setseed(), so
-- a (target, seed, iterations) triple replays the same inputs.

CREATE SCHEMA fuzz;

CREATE TABLE fuzz.seed (target text NOT NULL, name text NOT NULL, body text NOT NULL, PRIMARY KEY (target, name));
CREATE TABLE fuzz.finding (target text, seed integer, iter integer, sqlstate text, message text, input text);

-- A random integer in [0, n).
CREATE FUNCTION fuzz.ri(n integer) RETURNS integer LANGUAGE sql AS $$ SELECT floor(random() * n)::integer $$;

-- Tokens spliced into text: JSON syntax, escapes, edge numbers, odd Unicode,
-- IAM and ARN syntax, timestamps and addresses that are almost right.
CREATE FUNCTION fuzz.token() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t text[] := ARRAY['{', '}', '[', ']', '"', ':', ',', '\', '\u', '\ud800', '\u0000', '\"', 'null', 'true', 'false',
		'-', '0', '-0', '1e999', '-1e999', '18446744073709551616', '9223372036854775807', '-9223372036854775809',
		'2147483648', '0.0000001', E'\n', E'\r\n', E'\t', ' ', 'é', '𝄞', '""', '{}', '[]', '*', '?', '**', '*?*',
		'$', '${aws:username}', '${', 'arn:', ':::', 'arn:aws:iam::*:role/*', '//', '/../', '%', '%00', 'T', 'Z',
		'2026-02-30T25:00:00Z', '0000-00-00T00:00:00Z', '99999-01-01T00:00:00Z', '1969-12-31T23:59:59.999999999-14:00',
		'999.1.1.1', '10.0.0.0/33', '::ffff:10.0.0.1', 'fe80::1%eth0', '-1', 'NaN', 'Infinity',
		repeat('A', 5000), repeat('[', 300), repeat('{"a":', 200), repeat('*', 200), repeat('?*', 100)];
BEGIN
	RETURN t[1 + fuzz.ri(array_length(t, 1))];
END
$$;

-- JSON values put in place of a value.
CREATE FUNCTION fuzz.jvalue() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	v text[] := ARRAY['null', 'true', 'false', '0', '-1', '2147483648', '-9223372036854775809', '18446744073709551616',
		'1e308', '-1e-308', '1.5', '""', '" "', '"*"', '"?"', '[]', '{}', '[null]', '{"": null}', '[[]]', '[{}]',
		'"1970-01-01T00:00:00Z"', '"9999-12-31T23:59:59Z"', '"0000-00-00T00:00:00Z"', '"2026-11-01T10:00:00.123456789+99:00"',
		'"2026-11-01"', '"1733000000"', '1733000000', '1733000000000', '"999.999.1.1"', '"::1"', '"10.0.0.0/8"',
		'"arn:aws:iam::123456789012:role/*"', '"arn:aws:s3:::*"', '"arn"', '"arn:aws"', '"*:*"', '"s3:*Object*"',
		'"${aws:username}"', '"k8s://x/y/z"', '"é𝄞"', '"-1"', '"abc"', '[1, 2, 3]', '["*"]', '{"Statement": []}',
		'{"Effect": "Allow", "Action": "*", "Resource": "*"}', '{"AWS": "*"}', '"Allow"', '"Deny"'];
	r integer := fuzz.ri(array_length(v, 1) + 3);
	n integer;
BEGIN
	IF r = array_length(v, 1) THEN
		RETURN to_jsonb(repeat('A', 1 + fuzz.ri(20000)));
	ELSIF r = array_length(v, 1) + 1 THEN
		n := 1 + fuzz.ri(400);
		RETURN (repeat('[', n) || '1' || repeat(']', n))::jsonb;
	ELSIF r = array_length(v, 1) + 2 THEN
		RETURN to_jsonb(fuzz.token());
	END IF;
	RETURN v[1 + r]::jsonb;
END
$$;

-- One text mutation: delete, duplicate, insert a token, replace a character,
-- truncate, or splice with another seed of the target.
CREATE FUNCTION fuzz.tmut(s text, other text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n integer := length(s);
	a integer := fuzz.ri(n + 1);
	b integer := a + fuzz.ri(LEAST(n - a, 64) + 1);
	op integer := fuzz.ri(7);
BEGIN
	CASE op
	WHEN 0 THEN RETURN left(s, a) || substr(s, b + 1);
	WHEN 1 THEN RETURN left(s, b) || substr(s, a + 1, b - a) || substr(s, b + 1);
	WHEN 2 THEN RETURN left(s, a) || fuzz.token() || substr(s, a + 1);
	WHEN 3 THEN RETURN left(s, a) || fuzz.token() || substr(s, a + 2);
	WHEN 4 THEN RETURN left(s, a);
	WHEN 5 THEN RETURN left(s, a) || substr(other, fuzz.ri(length(other) + 1) + 1);
	ELSE RETURN left(s, a) || chr(1 + fuzz.ri(126)) || substr(s, a + 1);
	END CASE;
END
$$;

-- One structural mutation somewhere inside a JSON value: replace a value, drop a
-- key or element, add or repeat members, wrap, change the type, mutate a string.
CREATE FUNCTION fuzz.jmut(j jsonb, depth integer DEFAULT 0) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	t text := jsonb_typeof(j);
	k text;
	n integer;
	i integer;
BEGIN
	IF depth < 12 AND random() < 0.8 THEN
		IF t = 'object' AND j <> '{}' THEN
			SELECT x INTO k FROM jsonb_object_keys(j) x ORDER BY x OFFSET fuzz.ri((SELECT count(*)::integer FROM jsonb_object_keys(j))) LIMIT 1;
			RETURN jsonb_set(j, ARRAY[k], fuzz.jmut(j -> k, depth + 1));
		ELSIF t = 'array' AND jsonb_array_length(j) > 0 THEN
			i := fuzz.ri(jsonb_array_length(j));
			RETURN jsonb_set(j, ARRAY[i::text], fuzz.jmut(j -> i, depth + 1));
		END IF;
	END IF;
	CASE fuzz.ri(8)
	WHEN 0, 1 THEN RETURN fuzz.jvalue();
	WHEN 2 THEN
		IF t = 'object' AND j <> '{}' THEN
			SELECT x INTO k FROM jsonb_object_keys(j) x ORDER BY x OFFSET fuzz.ri((SELECT count(*)::integer FROM jsonb_object_keys(j))) LIMIT 1;
			RETURN j - k;
		ELSIF t = 'array' AND jsonb_array_length(j) > 0 THEN
			RETURN j - fuzz.ri(jsonb_array_length(j));
		END IF;
		RETURN 'null';
	WHEN 3 THEN
		IF t = 'array' AND jsonb_array_length(j) > 0 THEN
			n := 1 + fuzz.ri(60);
			RETURN j || (SELECT jsonb_agg(j -> fuzz.ri(jsonb_array_length(j))) FROM generate_series(1, n));
		ELSIF t = 'object' THEN
			RETURN j || jsonb_build_object(fuzz.token(), fuzz.jvalue());
		END IF;
		RETURN jsonb_build_array(j, j);
	WHEN 4 THEN RETURN jsonb_build_array(j);
	WHEN 5 THEN RETURN jsonb_build_object('x', j);
	WHEN 6 THEN
		IF t = 'string' THEN
			RETURN to_jsonb(fuzz.tmut(j #>> '{}', fuzz.token()));
		END IF;
		RETURN to_jsonb(j::text);
	ELSE
		IF t = 'string' THEN
			RETURN to_jsonb((j #>> '{}') || fuzz.token());
		ELSIF t = 'number' THEN
			RETURN (ARRAY['0', '-1', '1e308', '2147483648', '-2147483649', '0.5', '9223372036854775808'])[1 + fuzz.ri(7)]::jsonb;
		END IF;
		RETURN fuzz.jvalue();
	END CASE;
END
$$;

-- A mutated input: 1-4 stacked mutations, each structural with probability
-- structural when the input (or a line of it) is JSON, else textual; YAML-aware
-- (fuzz.ymut) when structural is negative; capped at 512 kB.
CREATE FUNCTION fuzz.mutate(s text, other text, structural float8 DEFAULT 0.6) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	j jsonb;
	lines text[];
	i integer;
BEGIN
	FOR m IN 1 .. 1 + fuzz.ri(4) LOOP
		IF structural < 0 THEN
			s := fuzz.ymut(s, other);   -- YAML (Sigma)
		ELSIF random() < structural THEN
			BEGIN
				j := s::jsonb;
			EXCEPTION WHEN OTHERS THEN
				j := NULL;
			END;
			IF j IS NOT NULL THEN
				s := fuzz.jmut(j)::text;
			ELSE
				lines := string_to_array(s, E'\n');
				i := 1 + fuzz.ri(COALESCE(array_length(lines, 1), 1));
				BEGIN
					lines[i] := fuzz.jmut(lines[i]::jsonb)::text;
					s := array_to_string(lines, E'\n');
				EXCEPTION WHEN OTHERS THEN
					s := fuzz.tmut(s, other);
				END;
			END IF;
		ELSE
			s := fuzz.tmut(s, other);
		END IF;
		IF length(s) > 524288 THEN
			s := left(s, 524288);
		END IF;
	END LOOP;
	RETURN s;
END
$$;

-- Sigma tokens: YAML syntax (anchors and aliases included), Sigma modifiers, condition
-- operators, keys that change a rule's kind, regular-expression traps.
CREATE FUNCTION fuzz.ytoken() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t text[] := ARRAY['---', '...', '- ', ': ', ':', '|', '>', '&a ', '*a', '!!str ', '!!binary ', '!!map ', '!!seq ',
		'%YAML 1.1', '%TAG ! tag:x:', '? ', '{', '}', '[', ']', '{a: b}', '[1, 2]', '"', '''', '#', E'\t', '~', 'null', '""',
		'|contains', '|contains|all', '|startswith', '|endswith', '|re', '|re|i', '|base64', '|base64offset|contains', '|cidr',
		'|windash', '|exists', '|gt', '|gte', '|lt', '|all', '|expand', '|fieldref', '|utf16le', '|wide', '|nosuchmodifier',
		' and ', ' or ', ' not ', 'not not ', '1 of ', 'all of ', '3 of ', ' them', 'selection*', 'filter_*', '(', ')',
		' | count() > 5', ' | near x', 'near', '*', '?', '\', '\*', '.*', '(?i)', '[a-', '(((', repeat('(', 300),
		repeat('not ', 300), repeat('x and ', 500), '(a+)+$', '0x10', '-1', '1e999', '18446744073709551616',
		repeat('A', 5000), 'condition: ', 'detection:', 'logsource:', 'correlation:', 'timeframe: 5m', 'timespan: 0s',
		'timespan: 31d', 'timespan: 9999999999w', 'type: event_count', 'type: temporal_ordered', 'group-by:', 'rules:',
		'product: aws', 'service: cloudtrail', 'category: process_creation', 'level: critical', 'status: deprecated',
		'id: ', 'tags:', 'é𝄞', E'\u0001', '%00', '${x}'];
BEGIN
	RETURN t[1 + fuzz.ri(array_length(t, 1))];
END
$$;

-- One YAML-aware mutation of a Sigma text: a token at a line start, after the key of a
-- line or in place of its value; a line indented, dedented, repeated, dropped or swapped
-- with another; many sibling keys, a long list or deep nesting; or a textual mutation.
CREATE FUNCTION fuzz.ymut(s text, other text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	lines text[] := string_to_array(s, E'\n');
	n integer := COALESCE(array_length(lines, 1), 0);
	i integer := 1 + fuzz.ri(GREATEST(n, 1));
	j integer := 1 + fuzz.ri(GREATEST(n, 1));
	l text;
	ind text;
	k integer;
BEGIN
	IF n = 0 THEN
		RETURN fuzz.ytoken();
	END IF;
	l := COALESCE(lines[i], '');
	ind := repeat(' ', length(l) - length(ltrim(l)));
	k := position(':' IN l);
	CASE fuzz.ri(10)
	WHEN 0 THEN lines[i] := fuzz.ytoken() || l;
	WHEN 1 THEN lines[i] := CASE WHEN k > 0 THEN left(l, k - 1) || fuzz.ytoken() || substr(l, k) ELSE l || fuzz.ytoken() END;
	WHEN 2 THEN lines[i] := CASE WHEN k > 0 THEN left(l, k) || ' ' || fuzz.ytoken() ELSE fuzz.ytoken() END;
	WHEN 3 THEN lines[i] := repeat(' ', 2 * (1 + fuzz.ri(3))) || l;
	WHEN 4 THEN lines[i] := ltrim(l);
	WHEN 5 THEN lines := lines[1:i] || lines[i:n];
	WHEN 6 THEN lines := lines[1:i - 1] || lines[i + 1:n];
	WHEN 7 THEN l := lines[i]; lines[i] := lines[j]; lines[j] := l;
	WHEN 8 THEN
		lines[i] := l || E'\n' || CASE fuzz.ri(3)
			WHEN 0 THEN (SELECT string_agg(ind || 'f' || g || '|contains: x' || g, E'\n') FROM generate_series(1, 1 + fuzz.ri(3000)) g)
			WHEN 1 THEN (SELECT string_agg(ind || '  - v' || g, E'\n') FROM generate_series(1, 1 + fuzz.ri(3000)) g)
			ELSE (SELECT string_agg(ind || repeat(' ', 2 * g) || 'k' || g || ':', E'\n') FROM generate_series(1, 1 + fuzz.ri(400)) g) END;
	ELSE
		RETURN fuzz.tmut(s, other);
	END CASE;
	RETURN array_to_string(lines, E'\n');
END
$$;

-- The role whose inline, managed and trust policies carry the fuzzed document.
CREATE FUNCTION fuzz.iam_envelope(d jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN jsonb_build_object(
		'UserDetailList', '[]'::jsonb, 'GroupDetailList', '[]'::jsonb,
		'RoleDetailList', jsonb_build_array(jsonb_build_object(
			'RoleName', 'fz', 'Arn', 'arn:aws:iam::111122223333:role/fz', 'Path', '/',
			'AssumeRolePolicyDocument', CASE WHEN random() < 0.3 THEN d
				ELSE '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}' END,
			'RolePolicyList', jsonb_build_array(jsonb_build_object('PolicyName', 'fz-inline', 'PolicyDocument', d)),
			'AttachedManagedPolicies', jsonb_build_array(jsonb_build_object('PolicyName', 'fz-managed',
				'PolicyArn', 'arn:aws:iam::111122223333:policy/fz-managed')))),
		'Policies', jsonb_build_array(jsonb_build_object(
			'PolicyName', 'fz-managed', 'Arn', 'arn:aws:iam::111122223333:policy/fz-managed', 'DefaultVersionId', 'v1',
			'PolicyVersionList', jsonb_build_array(jsonb_build_object('VersionId', 'v1', 'IsDefaultVersion', true,
				'Document', CASE WHEN random() < 0.5 THEN d ELSE to_jsonb(d::text) END)))))::text;
END
$$;

-- One execution of a target on an input; raises whatever the code under test raises.
CREATE FUNCTION fuzz.exec(target text, input text, other text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	d jsonb;
	st jsonb;
	p correlate.iam_pattern;
	q correlate.iam_pattern;
	act text;
	state text;
BEGIN
	IF target = 'iam_policy' THEN
		d := input::jsonb;
		-- the statement helpers one by one; a rejected statement does not stop the rest
		FOR st IN SELECT x FROM jsonb_array_elements(CASE jsonb_typeof(d -> 'Statement') WHEN 'array' THEN d -> 'Statement'
				ELSE jsonb_build_array(COALESCE(d -> 'Statement', 'null')) END) x LOOP
			BEGIN
				PERFORM correlate._iam_statement_problem(st, (ARRAY['managed', 'inline', 'trust', 'resource'])[1 + fuzz.ri(4)]);
				IF st ? 'Action' THEN PERFORM correlate._iam_patterns(st -> 'Action'), correlate._iam_list(st -> 'Action'); END IF;
				IF st ? 'NotAction' THEN PERFORM correlate._iam_patterns(st -> 'NotAction'); END IF;
				IF st ? 'Resource' THEN PERFORM correlate._iam_patterns(st -> 'Resource'); END IF;
				IF st ? 'NotResource' THEN PERFORM correlate._iam_patterns(st -> 'NotResource'); END IF;
				IF st ? 'Principal' THEN PERFORM correlate._iam_principals(st -> 'Principal'); END IF;
				IF st ? 'NotPrincipal' THEN PERFORM correlate._iam_principals(st -> 'NotPrincipal'); END IF;
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
				IF state LIKE 'XX%' THEN
					RAISE;
				END IF;
			END;
		END LOOP;
		PERFORM correlate._iam_document(d);
		PERFORM * FROM correlate.ingest('aws_iam', fuzz.iam_envelope(d));
		PERFORM * FROM correlate.refresh_policies(random() < 0.5);
		act := COALESCE(jsonb_path_query_first(d, 'strict $.**.Action ? (@.type() == "string")') #>> '{}', 's3:GetObject');
		PERFORM count(*) FROM correlate.who_can(act, 'arn:aws:s3:::fz/object', random() < 0.5);
		PERFORM count(*) FROM correlate.what_can('arn:aws:iam::111122223333:role/fz');
	ELSIF target = 'iam_pattern' THEN
		PERFORM correlate.iam_pattern_check(input);
		p := correlate.iam_pattern(input);
		PERFORM correlate.iam_pattern_flavour(p);
		IF p::text::correlate.iam_pattern::text IS DISTINCT FROM p::text THEN
			RAISE EXCEPTION 'iam_pattern text round trip changed % into %', p::text, p::text::correlate.iam_pattern::text
				USING ERRCODE = 'FZ001';
		END IF;
		PERFORM correlate.iam_match(p, other), correlate.iam_match(p, input), correlate.iam_match(ARRAY[p, NULL], other);
		PERFORM correlate.iam_first_match(ARRAY[p], input);
		BEGIN
			q := correlate.iam_pattern(other);
		EXCEPTION WHEN invalid_text_representation OR invalid_parameter_value OR program_limit_exceeded THEN
			q := correlate.iam_pattern('*');
		END;
		PERFORM correlate.iam_pattern_covers(p, q), correlate.iam_pattern_covers(q, p);
		PERFORM correlate.iam_patterns_cover(ARRAY[p, q], ARRAY[q]), correlate.iam_patterns_overlap(ARRAY[p], ARRAY[q]);
		IF correlate.iam_pattern_covers(p, q) AND NOT correlate.iam_match(p, q::text) AND position('*' IN q::text) = 0
		   AND position('?' IN q::text) = 0 AND position('$' IN q::text) = 0 THEN
			RAISE EXCEPTION 'pattern % covers % but does not match it', p::text, q::text USING ERRCODE = 'FZ002';
		END IF;
	ELSIF target = 'sigma' THEN
		-- in the tenant run.sh loaded a few events into, so detect() runs what loaded
		PERFORM set_config('correlate.tenant', 'fuzz_sigma', true);
		PERFORM * FROM correlate.load_sigma(input);
		PERFORM * FROM correlate.detect(NULL, NULL);
	ELSE
		PERFORM * FROM correlate.ingest(target, input, CASE WHEN random() < 0.5 THEN 'skip' ELSE 'error' END);
	END IF;
END
$$;

-- Runs iterations executions of target from seed; one row of counts.
-- show_inputs prints every input first (NOTICE), to find the one that crashes a backend.
CREATE FUNCTION fuzz.run(target text, seed integer, iterations integer, show_inputs boolean DEFAULT false)
RETURNS TABLE (execs integer, accepted integer, rejected integer, findings integer, max_ms numeric, states text)
LANGUAGE plpgsql AS $$
DECLARE
	seeds text[];
	input text;
	other text;
	st text;
	msg text;
	t0 timestamptz;
	ms numeric;
	counts jsonb := '{}';
BEGIN
	seeds := ARRAY(SELECT s.body FROM fuzz.seed s WHERE s.target = run.target ORDER BY s.name);
	IF coalesce(array_length(seeds, 1), 0) = 0 THEN
		RAISE EXCEPTION 'no seeds for target %', target;
	END IF;
	PERFORM setseed(((seed::bigint * 7919) % 1000003) / 1000003.0);
	execs := 0; accepted := 0; rejected := 0; findings := 0; max_ms := 0;
	FOR i IN 1 .. iterations LOOP
		input := seeds[1 + fuzz.ri(array_length(seeds, 1))];
		other := seeds[1 + fuzz.ri(array_length(seeds, 1))];
		IF target = 'iam_pattern' AND random() < 0.5 THEN
			other := fuzz.mutate(other, input);
		END IF;
		input := fuzz.mutate(input, other, CASE target WHEN 'iam_policy' THEN 0.9 WHEN 'sigma' THEN -1 ELSE 0.6 END);
		IF show_inputs THEN
			RAISE NOTICE 'fuzz % seed % iteration %: %', target, seed, i, input;
		END IF;
		t0 := clock_timestamp();
		BEGIN
			PERFORM fuzz.exec(target, input, other);
			RAISE SQLSTATE 'FZ000';
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		max_ms := GREATEST(max_ms, round(ms, 1));
		execs := execs + 1;
		IF st = 'FZ000' THEN
			accepted := accepted + 1;
		ELSE
			rejected := rejected + 1;
		END IF;
		counts := jsonb_set(counts, ARRAY[st], to_jsonb(COALESCE((counts ->> st)::integer, 0) + 1));
		IF st LIKE 'XX%' OR st IN ('FZ001', 'FZ002') THEN
			findings := findings + 1;
			INSERT INTO fuzz.finding VALUES (target, seed, i, st, msg, input);
		END IF;
	END LOOP;
	SELECT string_agg(key || '=' || value, ' ' ORDER BY key) INTO states FROM jsonb_each_text(counts);
	RETURN NEXT;
END
$$;
