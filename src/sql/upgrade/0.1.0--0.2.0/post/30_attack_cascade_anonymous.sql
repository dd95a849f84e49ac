-- Issue 11 (derivation speed): the cascade of deleted resources and techniques to attack_edge.
CREATE TRIGGER attack_edge_cascade_delete AFTER DELETE ON correlate.resource
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();
CREATE TRIGGER attack_edge_cascade_truncate AFTER TRUNCATE ON correlate.resource
	FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();
CREATE TRIGGER attack_edge_cascade_delete AFTER DELETE ON correlate.attack_technique
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();
CREATE TRIGGER attack_edge_cascade_update AFTER UPDATE ON correlate.attack_technique
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION correlate._attack_edge_cascade();

-- Issue 11: the technique k8s_anonymous_access (system:unauthenticated).
INSERT INTO correlate.attack_technique (technique, attack_id, tactic, name, precondition, base_likelihood, reads, builtin) VALUES
	('k8s_anonymous_access', 'T1078.001', 'initial-access', 'Anonymous requests to the API server (system:unauthenticated)',
	 'internet -> the group system:unauthenticated of a cluster when it is an RBAC subject there (a k8s:group resource: something is bound to it): with anonymous authentication on (the Kubernetes default), every unauthenticated request to the API server is in that group and gets what is bound to it.',
	 0.9, ARRAY['resource k8s:group (name)', 'resource internet'], true)
ON CONFLICT (technique) DO NOTHING;
