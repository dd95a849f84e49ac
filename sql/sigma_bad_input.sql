\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- Bad Sigma input: a clear error each, nothing loaded, no crash.  Rules written for this test.
CREATE FUNCTION pg_temp.rule(det text, cond text DEFAULT 'sel', ls text DEFAULT '{product: aws, service: cloudtrail}')
RETURNS text LANGUAGE sql AS $$
	SELECT E'title: bad rule\nid: 00000000-0000-0000-0000-0000000000bd\nlogsource: ' || ls || E'\ndetection:\n'
		|| det || E'\n  condition: ' || cond
$$;

-- malformed YAML
SELECT * FROM correlate.load_sigma(E'title: [unclosed\nid: x');
SELECT * FROM correlate.load_sigma(E'title: a\n  bad indent: b\n c: d');
SELECT * FROM correlate.load_sigma('');
SELECT * FROM correlate.load_sigma(NULL);
SELECT * FROM correlate.load_sigma(E'- just\n- a list');
-- aliases (billion laughs) and deep nesting are refused before they cost anything
SELECT * FROM correlate.load_sigma(E'a: &x [1, 2]\nb: [*x, *x]');
SELECT * FROM correlate.load_sigma(repeat('[', 100) || repeat(']', 100));
-- missing parts
SELECT * FROM correlate.load_sigma(E'title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {a: b}, condition: sel}');
SELECT * FROM correlate.load_sigma(E'title: t\nid: x\nlogsource: {product: aws, service: cloudtrail}');
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', ''));
-- unknown and unsupported modifiers
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    eventName|containz: x'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    eventName|wide|base64: x'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    eventName|contains|startswith: x'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    eventName|contains|base64: x'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    eventName||contains: x'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    count|gt: many'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    ip|cidr: 10.0.0.0/33'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a|exists: maybe'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a:\n      nested: map'));
-- conditions
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', 'sel | count() > 5'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', 'sel and nothere'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', '(sel'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', 'sel)'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', '2 of sel*'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', '1 of filter*'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', 'sel and'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b\n  timeframe: 5m'));
SELECT * FROM correlate.load_sigma(E'title: c\nid: x\ncorrelation: {type: event_count, rules: [a], timespan: 1h}');
-- unknown logsources and levels
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', 'sel', '{product: windows, category: process_creation}'));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b', 'sel', '{category: firewall}'));
SELECT * FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), 'title: bad rule', E'title: bad rule\nlevel: severe'));
-- regular expressions: invalid, back-references, Python named groups, too long
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a|re: ''(unclosed'''));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a|re: ''(a*)*\\1'''));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a|re: ''(?P<n>x)'''));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a|re: ''' || repeat('a', 1001) || ''''));
-- a catastrophic pattern for backtracking engines runs in bounded time here
SELECT correlate.sigma_matches(pg_temp.rule(E'  sel:\n    a|re: ''^(a+)+$'''), jsonb_build_object('a', repeat('a', 50000) || '!')) AS evil_regex,
	   correlate.sigma_matches(pg_temp.rule(E'  sel:\n    a|re: ''^(a|a?)+$'''), jsonb_build_object('a', repeat('a', 5000) || 'b')) AS evil_regex_2;
-- 10 MB rule text, and 10 MB in a comment of an otherwise valid rule
SELECT * FROM correlate.load_sigma(repeat('x', 10 * 1024 * 1024));
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b') || E'\n#' || repeat('x', 10 * 1024 * 1024));
-- NUL-free but invalid: a rule whose value list is too long
SET correlate.sigma_max_values = 3;
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: [1, 2, 3, 4]'));
RESET correlate.sigma_max_values;
-- two rules with the same id in one text
SELECT * FROM correlate.load_sigma(pg_temp.rule(E'  sel:\n    a: b') || E'\n---\n' || pg_temp.rule(E'  sel:\n    a: c'));

-- Title and id within detection_rule's limits, refused with the rule's name (found by the Sigma fuzz target)
SELECT * FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), 'title: bad rule', 'title: ""'));
SELECT * FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), 'id: 00000000-0000-0000-0000-0000000000bd', 'id: ""'));
SELECT * FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), 'id: 00000000-0000-0000-0000-0000000000bd', 'id: ' || repeat('x', 201)));
SELECT * FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), 'title: bad rule', 'title: ' || repeat('é', 1001)));
SELECT count(*) AS title_at_limit FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), 'title: bad rule', 'title: ' || repeat('é', 1000)));
DELETE FROM correlate.detection_rule;

-- Nothing half-loaded: a good rule followed by a bad one leaves nothing; the good one alone loads.
SELECT * FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), '0bd', '0aa') || E'\n---\n' || pg_temp.rule(E'  sel:\n    a|nope: c'));
SELECT count(*) AS rules_after_failures FROM correlate.detection_rule;
SELECT * FROM correlate.load_sigma(replace(pg_temp.rule(E'  sel:\n    a: b'), '0bd', '0aa'));
SELECT count(*) AS rules FROM correlate.detection_rule;

-- Files: relative paths, missing files, a file whose second document is bad (nothing loaded)
SELECT * FROM correlate.load_sigma_file('relative/path.yml');
SELECT * FROM correlate.load_sigma_file('/nonexistent/rules.yml');
\set d `pwd`
SELECT * FROM correlate.load_sigma_file(:'d' || '/test/data/sigma/bad/second-document-bad.yml');
SELECT count(*) AS rules FROM correlate.detection_rule;

-- detect(): unknown rule names
SELECT * FROM correlate.detect(NULL, NULL, ARRAY['no such rule']);

-- sigma_matches takes one rule
SELECT correlate.sigma_matches(pg_temp.rule(E'  sel:\n    a: b') || E'\n---\n' || pg_temp.rule(E'  sel:\n    a: b'), '{}');
-- and survives records of any shape
SELECT correlate.sigma_matches(pg_temp.rule(E'  sel:\n    a.b.c: x'), j) AS m
FROM (VALUES ('1'::jsonb), ('"x"'), ('null'), ('[]'), ('[{"a": [{"b": [{"c": "x"}]}]}]'), ('{"a": {"b": {"c": null}}}')) v(j)
ORDER BY 1;
-- Wildcards and long literals against long values: bounded, and cancellable.
SET statement_timeout = '20s';
SELECT correlate.sigma_matches(pg_temp.rule(E'  sel:\n    a: ''' || repeat('*a', 200) || E'*b''' ), jsonb_build_object('a', repeat('a', 200000))) AS many_stars,
	   correlate.sigma_matches(pg_temp.rule(E'  sel:\n    a|contains: ''' || repeat('a', 2000) || E'b''' ), jsonb_build_object('a', repeat('a', 200000))) AS long_literal;
-- a pathological one (a 100k literal searched in a 10 MB value) stops at statement_timeout
SET statement_timeout = '1s';
SELECT correlate.sigma_matches(pg_temp.rule(E'  sel:\n    a|contains: ''' || repeat('a', 100000) || E'b''' ), jsonb_build_object('a', repeat('a', 10000000)));
RESET statement_timeout;
