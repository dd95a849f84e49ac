-- test/data/seed/load.sql: loads the seed scenario (test/data/seed/README.md)
-- through correlate.ingest, one real-format file per source, in the order the
-- correlation needs: the inventory first (it names the pod, its IP and its
-- service account), then what refers to it.
--
-- Run from the repository root, in a database with the extension:
--     psql -X -v ON_ERROR_STOP=1 -f test/data/seed/load.sql

-- The inventory does not name its cluster (kubectl never does); Falco does not either.
SET correlate.default_cluster = 'prod-eks';

\set x `cat test/data/seed/k8s-inventory.json`
SELECT 'k8s_inventory' AS format, * FROM correlate.ingest('k8s_inventory', :'x');

\set x `cat test/data/seed/trivy-webapp.json`
SELECT 'trivy' AS format, * FROM correlate.ingest('trivy', :'x');

\set x `cat test/data/seed/iam-authorization-details.json`
SELECT 'aws_iam' AS format, * FROM correlate.ingest('aws_iam', :'x');

\set x `cat test/data/seed/vpc-flow.log`
SELECT 'vpc_flow' AS format, * FROM correlate.ingest('vpc_flow', :'x');

\set x `cat test/data/seed/falco-alerts.jsonl`
SELECT 'falco' AS format, * FROM correlate.ingest('falco', :'x');

\set x `cat test/data/seed/cloudtrail.json`
SELECT 'cloudtrail' AS format, * FROM correlate.ingest('cloudtrail', :'x');

\unset x

-- What no telemetry file says, and a person decides: the bucket of customer
-- data is the crown jewel.
SELECT correlate.upsert_resource('arn:aws:s3:::acme-customer-pii', 'aws:s3:bucket',
								 name => 'acme-customer-pii', account => '111122223333',
								 region => 'us-east-1', criticality => 1.0) IS NOT NULL AS crown_jewel;

-- Trivy reports no known-exploited flag; CVE-2021-44228 is in the CISA KEV catalog.
UPDATE correlate.finding SET known_exploited = true
WHERE kind = 'vulnerability' AND check_id = 'CVE-2021-44228';
