-- Issue 11 (derivation speed): attack_edge loses its three foreign keys; statement triggers
-- (post/30) do what ON DELETE CASCADE did, once per statement.
ALTER TABLE correlate.attack_edge DROP CONSTRAINT attack_edge_technique_fkey,
	DROP CONSTRAINT attack_edge_tenant_src_fkey, DROP CONSTRAINT attack_edge_tenant_dst_fkey;
