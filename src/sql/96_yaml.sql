-- 96_yaml.sql: YAML text where users apply YAML (kubectl apply -f), and the fix
-- plan's artifacts as the files a user would apply: Kubernetes objects as YAML, IAM
-- policies as JSON documents for aws iam create-policy-version.

-- One scalar: plain when it cannot be misread (no YAML 1.1 booleans, nulls or
-- numbers, no indicator characters), else a JSON string literal, which YAML reads as
-- a double-quoted scalar with the same escapes.
CREATE FUNCTION correlate._yaml_scalar(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN jsonb_typeof(v) = 'string'
		 AND (v #>> '{}') ~ '^[A-Za-z_/][A-Za-z0-9_./-]*$'
		 AND lower(v #>> '{}') NOT IN ('y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null')
		THEN v #>> '{}'
	ELSE v::text
END;
COMMENT ON FUNCTION correlate._yaml_scalar(jsonb) IS 'Internal: a JSON scalar as a YAML scalar (plain when safe, else double-quoted).';

CREATE FUNCTION correlate._yaml_key(k text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN correlate._yaml_scalar(to_jsonb(k));
COMMENT ON FUNCTION correlate._yaml_key(text) IS 'Internal: a mapping key as YAML.';

-- A block (lines indented by ind spaces, no final newline) for a non-empty object or array.
CREATE FUNCTION correlate._yaml_block(v jsonb, ind integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pad text := repeat(' ', ind);
	lines text[] := '{}';
	r record;
	blk text;
BEGIN
	IF jsonb_typeof(v) = 'object' THEN
		FOR r IN SELECT e.key, e.value FROM jsonb_each(v) WITH ORDINALITY AS e(key, value, o)
				 ORDER BY array_position(ARRAY['apiVersion', 'kind', 'metadata', 'spec', 'Version', 'Statement'], e.key) NULLS LAST, e.o
		LOOP
			IF jsonb_typeof(r.value) = 'object' AND r.value <> '{}' THEN
				lines := lines || (pad || correlate._yaml_key(r.key) || E':\n' || correlate._yaml_block(r.value, ind + 2));
			ELSIF jsonb_typeof(r.value) = 'array' AND r.value <> '[]' THEN
				lines := lines || (pad || correlate._yaml_key(r.key) || E':\n' || correlate._yaml_block(r.value, ind));
			ELSE
				lines := lines || (pad || correlate._yaml_key(r.key) || ': ' || correlate._yaml_scalar(r.value));
			END IF;
		END LOOP;
	ELSE
		FOR r IN SELECT e.value FROM jsonb_array_elements(v) WITH ORDINALITY AS e(value, o) ORDER BY e.o LOOP
			IF jsonb_typeof(r.value) = 'object' AND r.value <> '{}' THEN
				blk := correlate._yaml_block(r.value, ind + 2);
				lines := lines || (pad || '- ' || substr(blk, ind + 3));
			ELSIF jsonb_typeof(r.value) = 'array' AND r.value <> '[]' THEN
				lines := lines || (pad || E'-\n' || correlate._yaml_block(r.value, ind + 2));
			ELSE
				lines := lines || (pad || '- ' || correlate._yaml_scalar(r.value));
			END IF;
		END LOOP;
	END IF;
	RETURN array_to_string(lines, E'\n');
END
$$;
COMMENT ON FUNCTION correlate._yaml_block(jsonb, integer) IS 'Internal: a non-empty JSON object or array as an indented YAML block.';

CREATE FUNCTION correlate.to_yaml(doc jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN jsonb_typeof(doc) IN ('object', 'array') AND doc NOT IN ('{}', '[]')
			THEN correlate._yaml_block(doc, 0) ELSE correlate._yaml_scalar(doc) END || E'\n';
COMMENT ON FUNCTION correlate.to_yaml(jsonb)
	IS 'The JSON document as block-style YAML (Kubernetes key order: apiVersion, kind, metadata, spec first); strings that could be misread are double-quoted, so parsing it gives the same document back.';

CREATE FUNCTION correlate.network_policy_yaml(namespace text, cluster text DEFAULT NULL) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN correlate.to_yaml(correlate.network_policy(namespace, cluster));
COMMENT ON FUNCTION correlate.network_policy_yaml(text, text)
	IS 'network_policy(namespace, cluster) as YAML, ready for kubectl apply -f.';

CREATE FUNCTION correlate.fix_plan_artifacts(sources bigint[] DEFAULT NULL, targets bigint[] DEFAULT NULL, k integer DEFAULT 10)
RETURNS TABLE (rank integer, kind text, target text, media_type text, filename text, apply text, content text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT f.rank, f.kind, f.target,
		   CASE WHEN f.artifact ? 'apiVersion' THEN 'application/yaml' ELSE 'application/json' END,
		   CASE WHEN f.artifact ? 'apiVersion'
				THEN lower(COALESCE(f.artifact ->> 'kind', 'object')) || '-'
					 || regexp_replace(COALESCE(f.artifact #>> '{metadata,name}', 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.yaml'
				ELSE 'policy-' || regexp_replace(COALESCE(f.target, 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.json' END,
		   CASE WHEN f.artifact ? 'apiVersion'
				THEN 'kubectl apply -f ' || lower(COALESCE(f.artifact ->> 'kind', 'object')) || '-'
					 || regexp_replace(COALESCE(f.artifact #>> '{metadata,name}', 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.yaml'
				ELSE 'aws iam create-policy-version --policy-arn POLICY_ARN --set-as-default --policy-document file://policy-'
					 || regexp_replace(COALESCE(f.target, 'unnamed'), '[^A-Za-z0-9_.-]', '_', 'g') || '.json' END,
		   CASE WHEN f.artifact ? 'apiVersion' THEN correlate.to_yaml(f.artifact)
				ELSE jsonb_pretty(f.artifact) || E'\n' END
	FROM correlate.fix_plan(sources, targets, k) f
	WHERE f.artifact IS NOT NULL
	ORDER BY f.rank;
END;
COMMENT ON FUNCTION correlate.fix_plan_artifacts(bigint[], bigint[], integer)
	IS 'The fix plan''s artifacts as files: Kubernetes objects as YAML (kubectl apply -f), IAM policies as JSON documents (aws iam create-policy-version), each with a file name and the command that applies it.';

GRANT EXECUTE ON FUNCTION correlate._yaml_scalar(jsonb), correlate._yaml_key(text), correlate._yaml_block(jsonb, integer),
	correlate.to_yaml(jsonb), correlate.network_policy_yaml(text, text),
	correlate.fix_plan_artifacts(bigint[], bigint[], integer)
	TO correlate_reader;
