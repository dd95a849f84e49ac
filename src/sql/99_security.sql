-- 99_security.sql: runs last.  Marks user-data tables for pg_dump and takes
-- every default privilege away from PUBLIC; each concern file grants its own
-- objects to the correlate_* roles.

SELECT pg_catalog.pg_extension_config_dump('correlate.resource', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.relationship', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.event_default', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.finding', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.ip_lease', '');
SELECT pg_catalog.pg_extension_config_dump('correlate.resource_kind', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.relationship_kind', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('correlate.tenant_access',
	$$WHERE NOT (tenant = 'default' AND role = 'correlate_reader')$$);

-- Identity sequences, so restored databases keep allocating fresh ids.
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.resource', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.relationship', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.event', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.finding', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('correlate.ip_lease', 'id')::regclass, '');

REVOKE ALL ON SCHEMA correlate FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA correlate FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA correlate FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA correlate FROM PUBLIC;
GRANT USAGE ON SCHEMA correlate TO correlate_reader;
