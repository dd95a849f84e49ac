-- The seed scenario (docs/../notes SEED): built with the write API, the
-- default attack_paths() puts internet -> service webapp-lb -> pod ->
-- serviceaccount webapp-sa -> role legacy-webapp-role -> bucket
-- acme-customer-pii first, and min_cut() names what to remove.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;
-- The graph engine on the fact graph as stored (the attack graph has its own tests).
SET correlate.graph_layer = facts;

CREATE TEMP TABLE seed (name text PRIMARY KEY, id bigint);
INSERT INTO seed VALUES
	('internet', correlate.internet()),
	('service webapp-lb', correlate.upsert_resource(correlate.k8s_uid('prod-eks', 'legacy-webapp', 'service', 'webapp-lb'),
		'k8s:service', name => 'webapp-lb', cluster => 'prod-eks', namespace => 'legacy-webapp',
		props => '{"type": "LoadBalancer", "hostname": "a1b2c3d4e5f6-1234567890.us-east-1.elb.amazonaws.com"}')),
	('pod webapp', correlate.upsert_resource(correlate.k8s_uid('prod-eks', 'legacy-webapp', 'pod', 'webapp-7d4b9c6f5-x2x9k'),
		'k8s:pod', name => 'webapp-7d4b9c6f5-x2x9k', cluster => 'prod-eks', namespace => 'legacy-webapp',
		labels => '{"app": "webapp"}', props => '{"privileged": true, "runAsUser": 0}')),
	('serviceaccount webapp-sa', correlate.upsert_resource(correlate.k8s_uid('prod-eks', 'legacy-webapp', 'serviceaccount', 'webapp-sa'),
		'k8s:serviceaccount', name => 'webapp-sa', cluster => 'prod-eks', namespace => 'legacy-webapp')),
	('role legacy-webapp-role', correlate.upsert_resource('arn:aws:iam::111122223333:role/legacy-webapp-role',
		'aws:iam:role', name => 'legacy-webapp-role', account => '111122223333')),
	('bucket acme-customer-pii', correlate.upsert_resource('arn:aws:s3:::acme-customer-pii',
		'aws:s3:bucket', name => 'acme-customer-pii', account => '111122223333', criticality => 1.0)),
	('node ip-10-0-1-23', correlate.upsert_resource(correlate.k8s_uid('prod-eks', NULL, 'node', 'ip-10-0-1-23.ec2.internal'),
		'k8s:node', name => 'ip-10-0-1-23.ec2.internal', cluster => 'prod-eks')),
	('role eks-node-role', correlate.upsert_resource('arn:aws:iam::111122223333:role/eks-node-role',
		'aws:iam:role', name => 'eks-node-role', account => '111122223333')),
	('image webapp:1.4.2', correlate.upsert_resource(
		correlate.image_uid('registry.example.com/legacy/webapp:1.4.2@sha256:3f1c9b2a7d5e4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8'),
		'container:image', name => 'registry.example.com/legacy/webapp:1.4.2')),
	('bucket app-logs', correlate.upsert_resource('arn:aws:s3:::acme-app-logs', 'aws:s3:bucket', name => 'acme-app-logs',
		criticality => 0.3));

-- Relationships with their kinds' default likelihoods, plus a weaker second
-- route: escape to the node, use the node's instance role.
CREATE FUNCTION pg_temp.link(a text, b text, kind text, l float8 DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
	SELECT correlate.link((SELECT s.id FROM seed s WHERE s.name = a), (SELECT s.id FROM seed s WHERE s.name = b),
						  kind, l, source => 'seed')
$$;
SELECT pg_temp.link('internet', 'service webapp-lb', 'exposes') > 0,
	   pg_temp.link('service webapp-lb', 'pod webapp', 'exposes') > 0,
	   pg_temp.link('pod webapp', 'serviceaccount webapp-sa', 'runs_as') > 0,
	   pg_temp.link('serviceaccount webapp-sa', 'role legacy-webapp-role', 'assumes') > 0,
	   pg_temp.link('role legacy-webapp-role', 'bucket acme-customer-pii', 'can_access') > 0,
	   pg_temp.link('role legacy-webapp-role', 'bucket app-logs', 'can_access') > 0,
	   pg_temp.link('pod webapp', 'node ip-10-0-1-23', 'runs_on') > 0,
	   pg_temp.link('pod webapp', 'image webapp:1.4.2', 'uses_image') > 0,
	   pg_temp.link('node ip-10-0-1-23', 'role eks-node-role', 'runs_as') > 0,
	   pg_temp.link('role eks-node-role', 'bucket acme-customer-pii', 'can_access', 0.2) > 0;

CREATE FUNCTION pg_temp.name(id bigint) RETURNS text
LANGUAGE sql AS $$ SELECT s.name FROM seed s WHERE s.id = $1 $$;
CREATE FUNCTION pg_temp.rel(id bigint) RETURNS text
LANGUAGE sql AS $$
	SELECT pg_temp.name(r.src) || ' -' || r.kind || '-> ' || pg_temp.name(r.dst) FROM correlate.relationship r WHERE r.id = $1
$$;

-- The attack paths, defaults: internet to crown jewels, most likely first.
SELECT p.path_rank, p.hop, pg_temp.name(p.resource_id) AS resource, r.kind AS via_kind,
	   p.likelihood, round(p.path_likelihood::numeric, 6) AS path_likelihood
FROM correlate.attack_paths() p LEFT JOIN correlate.relationship r ON r.id = p.relationship_id
ORDER BY p.path_rank, p.hop;

-- What to remove: one relationship (unit cost), or one resource.
SELECT pg_temp.rel(relationship_id) AS remove, cost FROM correlate.min_cut() ORDER BY 1;
SELECT pg_temp.name(resource_id) AS isolate, cost FROM correlate.min_node_cut() ORDER BY 1;
-- If the load balancer must stay public, the cut moves inside.
UPDATE correlate.relationship SET props = props || '{"fix_cost": 100}'
WHERE src = (SELECT id FROM seed WHERE name = 'internet');
SELECT pg_temp.rel(relationship_id) AS remove, cost FROM correlate.min_cut(cost => 'fix_cost') ORDER BY 1;
-- Where the paths converge.
SELECT coalesce(pg_temp.name(resource_id), pg_temp.rel(relationship_id)) AS chokepoint, paths_through,
	   round(likelihood_share::numeric, 4) AS share
FROM correlate.chokepoints(k => 3) ORDER BY share DESC, paths_through DESC, chokepoint;
-- What the pod can reach, and who can reach the bucket.
SELECT pg_temp.name(resource_id) AS resource, hops, round(likelihood::numeric, 4) AS likelihood, pg_temp.name(via) AS via
FROM correlate.blast_radius(ARRAY[(SELECT id FROM seed WHERE name = 'pod webapp')]) ORDER BY likelihood DESC, resource;
SELECT pg_temp.name(resource_id) AS resource, hops, round(likelihood::numeric, 4) AS likelihood, pg_temp.name(via) AS next
FROM correlate.exposure(ARRAY[(SELECT id FROM seed WHERE name = 'bucket acme-customer-pii')]) ORDER BY likelihood DESC, resource;
-- Only identity relationships: the role's reach.
SELECT pg_temp.name(resource_id) AS resource, hops
FROM correlate.blast_radius(ARRAY[(SELECT id FROM seed WHERE name = 'serviceaccount webapp-sa')],
							kinds => ARRAY['assumes', 'can_access']) ORDER BY hops, resource;

DROP EXTENSION correlate CASCADE;
