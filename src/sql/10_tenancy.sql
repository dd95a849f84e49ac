-- 10_tenancy.sql: roles, tenant grants and the function every row-level policy calls.
--
-- A tenant is a label on every row.  The GUC correlate.tenant picks the tenant a
-- session works in; correlate.current_tenant() returns it only if the current
-- role has been granted that tenant in correlate.tenant_access, so setting the
-- GUC alone never opens another tenant's rows.  Policies call it through a
-- scalar subquery, so it runs once per statement, not once per row.
--
-- Roles are cluster-wide and outlive DROP EXTENSION, so they are created only
-- when missing (the one place this script tolerates existing objects).

DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'correlate_reader') THEN
		CREATE ROLE correlate_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'correlate_writer') THEN
		CREATE ROLE correlate_writer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'correlate_admin') THEN
		CREATE ROLE correlate_admin NOLOGIN;
	END IF;
END
$roles$;

GRANT correlate_reader TO correlate_writer;
GRANT correlate_writer TO correlate_admin;

CREATE TABLE correlate.tenant_access (
	tenant text NOT NULL CHECK (tenant ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$'),
	role   name NOT NULL,
	PRIMARY KEY (tenant, role)
);
COMMENT ON TABLE correlate.tenant_access IS 'Which roles (and their members) may work in which tenant.';
COMMENT ON COLUMN correlate.tenant_access.tenant IS 'Tenant label (organisation, account, region...).';
COMMENT ON COLUMN correlate.tenant_access.role IS 'Role granted the tenant; members of the role inherit it.';

-- No tenant is granted by default, not even 'default': in a multi-tenant install a
-- shared tenant would let every correlate role read (and writers write) the same rows.
-- A single-tenant install grants it once: SELECT correlate.grant_tenant('default',
-- 'correlate_reader');  (docs/concepts.md).  Superusers and BYPASSRLS roles need no grant.

ALTER TABLE correlate.tenant_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_access_own ON correlate.tenant_access FOR SELECT
	USING (pg_catalog.pg_has_role(CURRENT_USER, role, 'MEMBER')
		   OR pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'));
CREATE POLICY tenant_access_admin ON correlate.tenant_access FOR ALL
	USING (pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(CURRENT_USER, 'correlate_admin', 'MEMBER'));

CREATE FUNCTION correlate.current_tenant() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t text := COALESCE(NULLIF(current_setting('correlate.tenant', true), ''), 'default');
BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
	   OR EXISTS (SELECT 1 FROM correlate.tenant_access a
				  WHERE a.tenant = t AND pg_has_role(CURRENT_USER, a.role, 'MEMBER')) THEN
		RETURN t;
	END IF;
	RAISE EXCEPTION 'permission denied for tenant "%"', t
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = format('Role "%s" has no grant for tenant "%s" in correlate.tenant_access.', CURRENT_USER, t),
			  HINT = 'Ask a correlate_admin to run correlate.grant_tenant(), or SET correlate.tenant to a tenant you were granted.';
END
$$;
COMMENT ON FUNCTION correlate.current_tenant() IS 'The session''s tenant (GUC correlate.tenant, default ''default''), checked against correlate.tenant_access.';

CREATE FUNCTION correlate.grant_tenant(tenant text, role name) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grant_tenant.role) THEN
		RAISE EXCEPTION 'role "%" does not exist', grant_tenant.role
			USING ERRCODE = 'undefined_object';
	END IF;
	INSERT INTO correlate.tenant_access AS a (tenant, role)
	VALUES (grant_tenant.tenant, grant_tenant.role)
	ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION correlate.grant_tenant(text, name) IS 'Lets role (and its members) work in tenant; correlate_admin only.';

CREATE FUNCTION correlate.revoke_tenant(tenant text, role name) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	DELETE FROM correlate.tenant_access a WHERE a.tenant = revoke_tenant.tenant AND a.role = revoke_tenant.role;
$$;
COMMENT ON FUNCTION correlate.revoke_tenant(text, name) IS 'Withdraws a tenant grant; correlate_admin only.';

-- The one definition of tenant isolation: each table with a tenant column gets
-- row level security and this policy (the script calls it as each concern
-- creates its tables).  Internal; no role may call it.
CREATE FUNCTION correlate._isolate_tenants(VARIADIC tables regclass[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t regclass;
BEGIN
	FOREACH t IN ARRAY tables LOOP
		EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON %s
						USING (tenant = (SELECT correlate.current_tenant()))
						WITH CHECK (tenant = (SELECT correlate.current_tenant()))', t);
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate._isolate_tenants(regclass[])
	IS 'Internal to the extension script: enables row level security on each table with the policy tenant = current_tenant().';

-- Work that must run one at a time per tenant (an ingest of one source, a rescore,
-- a correlation run, a policy refresh, the leases of one address) serialises on a
-- row of this table, locked FOR UPDATE until the transaction ends.  Advisory locks
-- were used before, but their keys are open to every role: anyone who can log in
-- could hold a tenant's key and stall its work.  A row here can only be locked by a
-- role with UPDATE on the table (correlate_writer), and row level security limits
-- it to the tenants it was granted.
CREATE TABLE correlate.work_lock (
	tenant text NOT NULL DEFAULT correlate.current_tenant(),
	work   text NOT NULL,
	PRIMARY KEY (tenant, work)
);
COMMENT ON TABLE correlate.work_lock IS 'One row per tenant and kind of work that runs one at a time; writers lock it FOR UPDATE until commit (see correlate._work_lock).';
COMMENT ON COLUMN correlate.work_lock.tenant IS 'Owning tenant.';
COMMENT ON COLUMN correlate.work_lock.work IS 'What the lock serialises, e.g. ingest/cloudtrail, rescore, correlate, refresh_policies, ip/17.';
SELECT correlate._isolate_tenants('correlate.work_lock');

CREATE FUNCTION correlate._work_lock(tenant text, VARIADIC works text[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	w text;
BEGIN
	-- In name order, so two transactions taking several never wait on each other in a circle.
	FOR w IN SELECT DISTINCT x.w FROM unnest(works) AS x(w) WHERE x.w IS NOT NULL ORDER BY 1 LOOP
		PERFORM 1 FROM correlate.work_lock l WHERE l.tenant = _work_lock.tenant AND l.work = w FOR UPDATE;
		IF NOT FOUND THEN
			INSERT INTO correlate.work_lock AS l (tenant, work) VALUES (_work_lock.tenant, w) ON CONFLICT DO NOTHING;
			PERFORM 1 FROM correlate.work_lock l WHERE l.tenant = _work_lock.tenant AND l.work = w FOR UPDATE;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'could not lock % in tenant "%"', w, _work_lock.tenant
					USING ERRCODE = 'insufficient_privilege',
						  DETAIL = 'The row that serialises this work is not visible to the role.';
			END IF;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION correlate._work_lock(text, text[])
	IS 'Internal: waits for and holds, until the transaction ends, the work_lock rows of tenant named by works (created on first use).';

GRANT EXECUTE ON FUNCTION correlate.current_tenant() TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.grant_tenant(text, name), correlate.revoke_tenant(text, name) TO correlate_admin;
GRANT SELECT ON correlate.tenant_access TO correlate_reader;
GRANT SELECT, INSERT, UPDATE ON correlate.work_lock TO correlate_writer;
GRANT EXECUTE ON FUNCTION correlate._work_lock(text, text[]) TO correlate_writer;
GRANT INSERT, UPDATE, DELETE ON correlate.tenant_access TO correlate_admin;
