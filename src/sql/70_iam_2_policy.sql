-- 70_iam_2_policy.sql: the policy store.  Policy documents live in resource
-- props (written by the aws_iam ingest or by anyone through the write API);
-- correlate.refresh_policies() turns them into rows the evaluator can index:
--
--   iam_policy          one row per document (managed default version, inline,
--                       role trust policy, resource-based policy)
--   iam_statement       one row per statement, with its Action / Resource /
--                       Principal lists as correlate.iam_pattern[] (GIN indexed)
--   iam_attachment      which user or role each identity policy applies to, and
--                       how (inline, managed, through a group, as a boundary)
--   iam_policy_problem  statements and attachments that could not be used, and why
--
-- These tables are derived and rebuildable, not user data: everything in them
-- comes from correlate.resource and correlate.relationship, so they are not
-- marked for pg_dump (a restore runs correlate.refresh_policies() again) and a
-- refresh replaces the tenant's rows wholesale.  Dumping them would only store
-- a second copy of the documents that can disagree with the first.
--
-- Where documents are read from:
--   aws:iam:policy     props.document (the default version)
--   aws:iam:user/group/role  props.inline_policies [{name, document}],
--                      props.managed_policies [ARN], props.permissions_boundary (ARN)
--   aws:iam:role       props.trust_policy
--   any other resource props.policy, props.bucket_policy, props.key_policy or
--                      props.resource_policy (an object, or JSON text)
--   group membership   user -member_of-> group relationships

CREATE TABLE correlate.iam_policy (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	id       bigint GENERATED ALWAYS AS IDENTITY,
	holder   bigint NOT NULL,
	kind     text NOT NULL CHECK (kind IN ('managed', 'inline', 'trust', 'resource')),
	name     text NOT NULL,
	document jsonb NOT NULL,
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, holder) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
CREATE INDEX iam_policy_holder_idx ON correlate.iam_policy (tenant, holder);
COMMENT ON TABLE correlate.iam_policy IS 'Policy documents found in resource props (derived; rebuilt by correlate.refresh_policies()).';
COMMENT ON COLUMN correlate.iam_policy.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_policy.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.iam_policy.holder IS 'Resource whose props hold the document: the managed policy, the principal of an inline policy, the role of a trust policy, the bucket or key of a resource policy.';
COMMENT ON COLUMN correlate.iam_policy.kind IS 'managed, inline, trust (role trust policy) or resource (bucket, key or other resource-based policy).';
COMMENT ON COLUMN correlate.iam_policy.name IS 'Managed: the policy ARN; inline: the policy name; trust: trust_policy; resource: the props key it came from.';
COMMENT ON COLUMN correlate.iam_policy.document IS 'The policy document.';

CREATE TABLE correlate.iam_statement (
	tenant         text NOT NULL DEFAULT correlate.current_tenant(),
	id             bigint GENERATED ALWAYS AS IDENTITY,
	policy         bigint NOT NULL,
	holder         bigint NOT NULL,
	source         text NOT NULL CHECK (source IN ('identity', 'trust', 'resource')),
	position       integer NOT NULL CHECK (position > 0),
	sid            text,
	effect         text NOT NULL CHECK (effect IN ('Allow', 'Deny')),
	actions        correlate.iam_pattern[],
	not_actions    correlate.iam_pattern[],
	resources      correlate.iam_pattern[],
	not_resources  correlate.iam_pattern[],
	principals     correlate.iam_pattern[],
	not_principals correlate.iam_pattern[],
	conditions     jsonb,
	conditional    boolean NOT NULL,
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, policy) REFERENCES correlate.iam_policy (tenant, id) ON DELETE CASCADE,
	CHECK ((actions IS NULL) <> (not_actions IS NULL)),
	CHECK ((resources IS NULL) <> (not_resources IS NULL)),
	CHECK (source = 'identity' OR (principals IS NULL) <> (not_principals IS NULL))
);
-- One GIN index over (actions, resources): it serves a condition on either column and,
-- for both, intersects them inside the index (GIN skips through the dense "*" resources
-- instead of building a bitmap of them, as ANDing two separate indexes would).
-- fastupdate off: a refresh writes the table in one go and then it is only read, and
-- every search would otherwise scan the whole pending list until the next vacuum.
CREATE INDEX iam_statement_patterns_idx ON correlate.iam_statement USING gin (actions, resources) WITH (fastupdate = off);
CREATE INDEX iam_statement_principals_idx ON correlate.iam_statement USING gin (principals) WITH (fastupdate = off);
CREATE INDEX iam_statement_policy_idx ON correlate.iam_statement (tenant, policy);
CREATE INDEX iam_statement_not_actions_idx ON correlate.iam_statement (tenant) WHERE not_actions IS NOT NULL;
CREATE INDEX iam_statement_not_resources_idx ON correlate.iam_statement (tenant) WHERE not_resources IS NOT NULL;
COMMENT ON TABLE correlate.iam_statement IS 'One row per policy statement, its lists as IAM patterns indexed with GIN (derived; rebuilt by correlate.refresh_policies()).';
COMMENT ON COLUMN correlate.iam_statement.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_statement.id IS 'Surrogate id; who_can and what_can name the deciding statement by it.';
COMMENT ON COLUMN correlate.iam_statement.policy IS 'The correlate.iam_policy the statement belongs to.';
COMMENT ON COLUMN correlate.iam_statement.holder IS 'Resource holding the document (copied from the policy).';
COMMENT ON COLUMN correlate.iam_statement.source IS 'identity (managed or inline policy), trust (role trust policy) or resource (resource-based policy).';
COMMENT ON COLUMN correlate.iam_statement.position IS '1-based position of the statement in its document.';
COMMENT ON COLUMN correlate.iam_statement.sid IS 'The statement''s Sid, if any.';
COMMENT ON COLUMN correlate.iam_statement.effect IS 'Allow or Deny.';
COMMENT ON COLUMN correlate.iam_statement.actions IS 'Action patterns (NULL when the statement uses NotAction).';
COMMENT ON COLUMN correlate.iam_statement.not_actions IS 'NotAction patterns: the statement applies to every other action.';
COMMENT ON COLUMN correlate.iam_statement.resources IS 'Resource patterns; policy variables such as ${aws:username} are widened to * (and the statement marked conditional). A trust statement''s resource is its role.';
COMMENT ON COLUMN correlate.iam_statement.not_resources IS 'NotResource patterns: the statement applies to every other resource.';
COMMENT ON COLUMN correlate.iam_statement.principals IS 'Principal of a resource-based or trust statement: ARNs (an account id becomes arn:aws:iam::ID:root), service names, federated providers, or *.';
COMMENT ON COLUMN correlate.iam_statement.not_principals IS 'NotPrincipal patterns.';
COMMENT ON COLUMN correlate.iam_statement.conditions IS 'The Condition block, recorded as given; it is not evaluated.';
COMMENT ON COLUMN correlate.iam_statement.conditional IS 'True when the statement has conditions or widened policy variables: answers that depend on it are reported as conditional.';

CREATE TABLE correlate.iam_attachment (
	tenant    text NOT NULL DEFAULT correlate.current_tenant(),
	id        bigint GENERATED ALWAYS AS IDENTITY,
	principal bigint NOT NULL,
	policy    bigint NOT NULL,
	via       bigint,
	how       text NOT NULL CHECK (how IN ('inline', 'managed', 'group_inline', 'group_managed', 'boundary')),
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, principal) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant, policy) REFERENCES correlate.iam_policy (tenant, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX iam_attachment_key ON correlate.iam_attachment (tenant, policy, principal, how, COALESCE(via, 0));
CREATE INDEX iam_attachment_principal_idx ON correlate.iam_attachment (tenant, principal);
CREATE INDEX iam_attachment_boundary_idx ON correlate.iam_attachment (tenant, principal) WHERE how = 'boundary';
COMMENT ON TABLE correlate.iam_attachment IS 'Which user or role each identity policy applies to, and how (derived; rebuilt by correlate.refresh_policies()).';
COMMENT ON COLUMN correlate.iam_attachment.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_attachment.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.iam_attachment.principal IS 'The user or role the policy applies to.';
COMMENT ON COLUMN correlate.iam_attachment.policy IS 'The correlate.iam_policy.';
COMMENT ON COLUMN correlate.iam_attachment.via IS 'The group the policy is inherited through, else NULL.';
COMMENT ON COLUMN correlate.iam_attachment.how IS 'inline, managed, group_inline, group_managed, or boundary (a permissions boundary: it limits, never grants).';

CREATE TABLE correlate.iam_policy_problem (
	tenant   text NOT NULL DEFAULT correlate.current_tenant(),
	id       bigint GENERATED ALWAYS AS IDENTITY,
	holder   bigint NOT NULL,
	policy   text NOT NULL,
	position integer,
	reason   text NOT NULL,
	PRIMARY KEY (tenant, id),
	FOREIGN KEY (tenant, holder) REFERENCES correlate.resource (tenant, id) ON DELETE CASCADE
);
COMMENT ON TABLE correlate.iam_policy_problem IS 'Documents, statements and attachments correlate.refresh_policies() could not use, and why (derived).';
COMMENT ON COLUMN correlate.iam_policy_problem.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.iam_policy_problem.id IS 'Surrogate id.';
COMMENT ON COLUMN correlate.iam_policy_problem.holder IS 'Resource whose props hold (or refer to) the document.';
COMMENT ON COLUMN correlate.iam_policy_problem.policy IS 'Which document: the policy ARN, the inline policy name, trust_policy, or the props key.';
COMMENT ON COLUMN correlate.iam_policy_problem.position IS '1-based statement position, NULL when the whole document is affected.';
COMMENT ON COLUMN correlate.iam_policy_problem.reason IS 'What is wrong.';

SELECT correlate._isolate_tenants('correlate.iam_policy', 'correlate.iam_statement', 'correlate.iam_attachment', 'correlate.iam_policy_problem');

-- ---- statement parsing helpers (C, src/iam/iam_policy.c) ---------------------------

CREATE FUNCTION correlate._iam_list(v jsonb) RETURNS text[]
AS 'MODULE_PATHNAME', 'iam_list_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_patterns(v jsonb) RETURNS correlate.iam_pattern[]
AS 'MODULE_PATHNAME', 'iam_patterns_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_principals(v jsonb) RETURNS correlate.iam_pattern[]
AS 'MODULE_PATHNAME', 'iam_principals_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION correlate._iam_statement_problem(st jsonb, kind text) RETURNS text
AS 'MODULE_PATHNAME', 'iam_statement_problem_sql' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- A props value holding a policy: an object, or JSON text of one; NULL otherwise.
CREATE FUNCTION correlate._iam_document(v jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d jsonb;
BEGIN
	IF jsonb_typeof(v) = 'object' THEN
		RETURN v;
	ELSIF jsonb_typeof(v) = 'string' THEN
		BEGIN
			d := (v #>> '{}')::jsonb;
		EXCEPTION WHEN invalid_text_representation THEN
			RETURN NULL;
		END;
		IF jsonb_typeof(d) = 'object' THEN
			RETURN d;
		END IF;
	END IF;
	RETURN NULL;
END
$$;

-- ---- refresh ----------------------------------------------------------------------

-- Fresh statistics for the tables a refresh reads (inputs: an ingest may just have
-- grown them) and for the ones it rebuilds, so its joins and the evaluator's are
-- planned on real sizes.  SECURITY DEFINER because ANALYZE needs the table owner; it
-- takes no arguments and touches only these tables.
CREATE FUNCTION correlate._iam_analyze(inputs boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET client_min_messages = error
AS $$
BEGIN
	-- SKIP_LOCKED: inside a transaction ANALYZE keeps its lock until commit, and a
	-- concurrent refresh or ingest must not wait for that (or deadlock with it).
	IF inputs THEN
		ANALYZE (SKIP_LOCKED) correlate.resource, correlate.relationship;
	ELSE
		ANALYZE (SKIP_LOCKED) correlate.iam_policy, correlate.iam_statement, correlate.iam_attachment;
	END IF;
END
$$;

CREATE FUNCTION correlate.refresh_policies(derive_edges boolean DEFAULT true)
RETURNS TABLE (policies bigint, statements bigint, attachments bigint, problems bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := (SELECT correlate.current_tenant());
	-- rows of the tenant in iam_policy, iam_statement, iam_attachment before and after
	was bigint[] := '{0,0,0}';
	now_ bigint[] := '{0,0,0}';
	n bigint;
BEGIN
	-- One refresh of a tenant at a time; readers keep seeing the old rows until commit.
	PERFORM correlate._work_lock(t, 'refresh_policies');

	IF (SELECT count(*) FROM correlate.resource r WHERE r.tenant = t) >
	   COALESCE((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'correlate.resource'::regclass), 0) * 1.2 + 1000 THEN
		PERFORM correlate._iam_analyze(true);
	END IF;

	DELETE FROM correlate.iam_policy_problem p WHERE p.tenant = t;
	DELETE FROM correlate.iam_attachment a WHERE a.tenant = t;
	GET DIAGNOSTICS n = ROW_COUNT;
	was[3] := n;
	DELETE FROM correlate.iam_statement s WHERE s.tenant = t;
	GET DIAGNOSTICS n = ROW_COUNT;
	was[2] := n;
	DELETE FROM correlate.iam_policy p WHERE p.tenant = t;
	GET DIAGNOSTICS n = ROW_COUNT;
	was[1] := n;

	-- Documents.
	INSERT INTO correlate.iam_policy (tenant, holder, kind, name, document)
	SELECT t, d.* FROM (
		SELECT r.id, 'managed', r.uid, r.props->'document'
		FROM correlate.resource r
		WHERE r.tenant = t AND r.kind = 'aws:iam:policy' AND jsonb_typeof(r.props->'document') = 'object'
		UNION ALL
		SELECT r.id, 'inline', ip->>'name', ip->'document'
		FROM correlate.resource r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.props->'inline_policies') = 'array'
															 THEN r.props->'inline_policies' ELSE '[]' END) ip
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role')
		  AND jsonb_typeof(ip->'name') = 'string' AND jsonb_typeof(ip->'document') = 'object'
		UNION ALL
		SELECT r.id, 'trust', 'trust_policy', r.props->'trust_policy'
		FROM correlate.resource r
		WHERE r.tenant = t AND r.kind = 'aws:iam:role' AND jsonb_typeof(r.props->'trust_policy') = 'object'
		UNION ALL
		SELECT r.id, 'resource', k.key, correlate._iam_document(r.props->k.key)
		FROM correlate.resource r, unnest(ARRAY['policy', 'bucket_policy', 'key_policy', 'resource_policy']) k(key)
		WHERE r.tenant = t AND r.kind NOT IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role', 'aws:iam:policy')
		  AND r.props ? k.key AND correlate._iam_document(r.props->k.key) IS NOT NULL
	) d;
	GET DIAGNOSTICS n = ROW_COUNT;
	now_[1] := n;

	-- Documents that are present but unusable.
	INSERT INTO correlate.iam_policy_problem (tenant, holder, policy, reason)
	SELECT t, d.* FROM (
		SELECT r.id, COALESCE(ip->>'name', '(unnamed)'), 'inline policy has no name or its document is not a JSON object'
		FROM correlate.resource r, jsonb_array_elements(CASE WHEN jsonb_typeof(r.props->'inline_policies') = 'array'
															 THEN r.props->'inline_policies' ELSE '[]' END) ip
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role')
		  AND (jsonb_typeof(ip->'name') IS DISTINCT FROM 'string' OR jsonb_typeof(ip->'document') IS DISTINCT FROM 'object')
		UNION ALL
		SELECT r.id, k.key, 'the resource-based policy is not a JSON object or JSON text of one'
		FROM correlate.resource r, unnest(ARRAY['policy', 'bucket_policy', 'key_policy', 'resource_policy']) k(key)
		WHERE r.tenant = t AND r.kind NOT IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role', 'aws:iam:policy')
		  AND r.props ? k.key AND correlate._iam_document(r.props->k.key) IS NULL
		UNION ALL
		SELECT p.holder, p.name, 'the document has no Statement (a statement object or a non-empty array of them)'
		FROM correlate.iam_policy p
		WHERE p.tenant = t AND jsonb_typeof(p.document->'Statement') IS DISTINCT FROM 'object'
		  AND NOT (jsonb_typeof(p.document->'Statement') = 'array' AND jsonb_array_length(p.document->'Statement') > 0)
	) d;

	-- Statements, and the ones that cannot be used (one statement, so the problem check runs once).
	WITH x AS MATERIALIZED (
		SELECT p.id AS policy, p.holder, p.kind, p.name, s.pos::integer AS pos, s.st,
			   correlate._iam_statement_problem(s.st, p.kind) AS problem
		FROM correlate.iam_policy p,
			 LATERAL jsonb_array_elements(CASE jsonb_typeof(p.document->'Statement')
											  WHEN 'array' THEN p.document->'Statement'
											  WHEN 'object' THEN jsonb_build_array(p.document->'Statement')
											  ELSE '[]' END) WITH ORDINALITY s(st, pos)
		WHERE p.tenant = t
	), bad AS (
		INSERT INTO correlate.iam_policy_problem (tenant, holder, policy, position, reason)
		SELECT t, x.holder, x.name, x.pos, x.problem FROM x WHERE x.problem IS NOT NULL
	)
	INSERT INTO correlate.iam_statement (tenant, policy, holder, source, position, sid, effect, actions, not_actions,
										 resources, not_resources, principals, not_principals, conditions, conditional)
	SELECT t, x.policy, x.holder,
		   CASE x.kind WHEN 'trust' THEN 'trust' WHEN 'resource' THEN 'resource' ELSE 'identity' END,
		   x.pos, x.st->>'Sid', x.st->>'Effect',
		   correlate._iam_patterns(x.st->'Action'), correlate._iam_patterns(x.st->'NotAction'),
		   CASE WHEN x.kind = 'trust' THEN ARRAY[correlate.iam_pattern(h.uid)]
				ELSE correlate._iam_patterns(x.st->'Resource') END,
		   CASE WHEN x.kind = 'trust' THEN NULL ELSE correlate._iam_patterns(x.st->'NotResource') END,
		   CASE WHEN x.kind IN ('trust', 'resource') THEN correlate._iam_principals(x.st->'Principal') END,
		   CASE WHEN x.kind IN ('trust', 'resource') THEN correlate._iam_principals(x.st->'NotPrincipal') END,
		   NULLIF(x.st->'Condition', '{}'),
		   (x.st ? 'Condition' AND x.st->'Condition' <> '{}')
			 OR (x.kind <> 'trust' AND COALESCE(x.st->'Resource', x.st->'NotResource')::text ~ '\$\{[^}]*:[^}]*\}')
	FROM x JOIN correlate.resource h ON h.tenant = t AND h.id = x.holder
	WHERE x.problem IS NULL
	ORDER BY x.policy, x.pos;
	GET DIAGNOSTICS n = ROW_COUNT;
	now_[2] := n;

	-- Attachments: a principal's own inline policies, its managed policies and boundary,
	-- and those of the groups it is a member of.
	INSERT INTO correlate.iam_attachment (tenant, principal, policy, via, how)
	SELECT t, d.* FROM (
		SELECT p.holder, p.id, NULL::bigint, 'inline'
		FROM correlate.iam_policy p JOIN correlate.resource r ON r.tenant = t AND r.id = p.holder
		WHERE p.tenant = t AND p.kind = 'inline' AND r.kind IN ('aws:iam:user', 'aws:iam:role')
		UNION
		SELECT r.id, p.id, NULL, 'managed'
		FROM correlate.resource r
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.props->'managed_policies') = 'array'
														  THEN r.props->'managed_policies' ELSE '[]' END) m(arn)
		JOIN correlate.resource pr ON pr.tenant = t AND pr.uid = m.arn
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id AND p.kind = 'managed'
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:role')
		UNION
		SELECT r.id, p.id, NULL, 'boundary'
		FROM correlate.resource r
		JOIN correlate.resource pr ON pr.tenant = t AND pr.uid = r.props->>'permissions_boundary'
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id AND p.kind = 'managed'
		WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:role')
		UNION
		SELECT m.src, p.id, g.id, 'group_inline'
		FROM correlate.relationship m
		JOIN correlate.resource g ON g.tenant = t AND g.id = m.dst AND g.kind = 'aws:iam:group'
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = g.id AND p.kind = 'inline'
		WHERE m.tenant = t AND m.kind = 'member_of'
		UNION
		SELECT m.src, p.id, g.id, 'group_managed'
		FROM correlate.relationship m
		JOIN correlate.resource g ON g.tenant = t AND g.id = m.dst AND g.kind = 'aws:iam:group'
		CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(g.props->'managed_policies') = 'array'
														  THEN g.props->'managed_policies' ELSE '[]' END) mp(arn)
		JOIN correlate.resource pr ON pr.tenant = t AND pr.uid = mp.arn
		JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id AND p.kind = 'managed'
		WHERE m.tenant = t AND m.kind = 'member_of'
	) d;
	GET DIAGNOSTICS n = ROW_COUNT;
	now_[3] := n;

	-- Attached managed policies whose document is not known: the answers miss their grants.
	INSERT INTO correlate.iam_policy_problem (tenant, holder, policy, reason)
	SELECT DISTINCT t, r.id, m.arn, 'the attached managed policy''s document is not in the data (its permissions are not counted)'
	FROM correlate.resource r
	CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.props->'managed_policies') = 'array'
													  THEN r.props->'managed_policies' ELSE '[]' END
												 || CASE WHEN jsonb_typeof(r.props->'permissions_boundary') = 'string'
														 THEN jsonb_build_array(r.props->'permissions_boundary') ELSE '[]' END) m(arn)
	WHERE r.tenant = t AND r.kind IN ('aws:iam:user', 'aws:iam:group', 'aws:iam:role')
	  AND NOT EXISTS (SELECT 1 FROM correlate.resource pr JOIN correlate.iam_policy p ON p.tenant = t AND p.holder = pr.id
					  WHERE pr.tenant = t AND pr.uid = m.arn AND p.kind = 'managed');

	-- Statistics are refreshed when a table never had any or its size moved by more than a
	-- tenth: a refresh that rewrites the same rows (the usual scheduled one) skips the
	-- sampling of 45,000 rows (a tenth of its time without the edges at 5,000 roles).
	IF EXISTS (SELECT 1 FROM unnest(ARRAY['correlate.iam_policy'::regclass, 'correlate.iam_statement'::regclass,
										  'correlate.iam_attachment'::regclass], was, now_) v(rel, was, now_)
			   JOIN pg_class c ON c.oid = v.rel
			   WHERE c.reltuples < 0 OR abs(v.now_ - v.was) > 0.1 * c.reltuples + 100) THEN
		PERFORM correlate._iam_analyze(false);
	END IF;

	IF derive_edges THEN
		PERFORM correlate.refresh_iam_edges();
	END IF;

	RETURN QUERY SELECT
		(SELECT count(*) FROM correlate.iam_policy p WHERE p.tenant = t),
		(SELECT count(*) FROM correlate.iam_statement s WHERE s.tenant = t),
		(SELECT count(*) FROM correlate.iam_attachment a WHERE a.tenant = t),
		(SELECT count(*) FROM correlate.iam_policy_problem p WHERE p.tenant = t);
END
$$;
COMMENT ON FUNCTION correlate.refresh_policies(boolean)
	IS 'Rebuilds the tenant''s policy store (iam_policy, iam_statement, iam_attachment, iam_policy_problem) from resource props; with derive_edges, also the assumes / can_access / can_escalate_to edges and admin crown jewels (correlate.refresh_iam_edges()).';

GRANT SELECT ON correlate.iam_policy, correlate.iam_statement, correlate.iam_attachment,
	correlate.iam_policy_problem TO correlate_reader;
GRANT INSERT, UPDATE, DELETE ON correlate.iam_policy, correlate.iam_statement, correlate.iam_attachment,
	correlate.iam_policy_problem TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate._iam_list(jsonb), correlate._iam_patterns(jsonb),
	correlate._iam_principals(jsonb), correlate._iam_statement_problem(jsonb, text),
	correlate._iam_document(jsonb) TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.refresh_policies(boolean), correlate._iam_analyze(boolean) TO correlate_writer;

-- Internal functions: what each is for.
COMMENT ON FUNCTION correlate._iam_list(jsonb)
	IS 'Internal: a policy element that is a string or an array of strings, as text[].';
COMMENT ON FUNCTION correlate._iam_patterns(jsonb)
	IS 'Internal: a policy element (Action, Resource...) as iam_pattern[]; invalid patterns raise.';
COMMENT ON FUNCTION correlate._iam_principals(jsonb)
	IS 'Internal: a statement''s Principal or NotPrincipal as iam_pattern[] ("*", AWS, Service, Federated).';
COMMENT ON FUNCTION correlate._iam_statement_problem(jsonb, text)
	IS 'Internal: why a policy statement cannot be evaluated, or NULL (recorded in iam_policy_problem by refresh_policies).';
COMMENT ON FUNCTION correlate._iam_document(jsonb)
	IS 'Internal: a props value holding a policy document (an object, or JSON text of one) as an object; NULL otherwise.';
COMMENT ON FUNCTION correlate._iam_analyze(boolean)
	IS 'Internal: refreshes planner statistics of the tables refresh_policies reads (inputs) or rebuilds; SECURITY DEFINER for ANALYZE.';
