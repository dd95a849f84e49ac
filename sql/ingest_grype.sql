\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- grype: `grype -o json` reports into image / artifact resources and vulnerability findings.
SET timezone = 'UTC';
-- Scanned directories are resources of kind artifact (see docs/formats/grype.md).

CREATE TEMP VIEW findings AS
SELECT r.uid, f.kind, f.check_id, f.package, f.severity, f.cvss, f.epss, f.known_exploited,
	   f.installed_version, f.fixed_version, f.title, f.props, f.first_seen
FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource;

-- 1. Every real sample ingests with no reject.
\set f `cat test/data/grype/defectdojo-unittests/check_all_fields.json`
SELECT 'check_all_fields' AS sample, rejected FROM correlate.ingest('grype', :'f');
\set f `cat test/data/grype/defectdojo-unittests/many_vulns4.json`
SELECT 'many_vulns4' AS sample, rejected FROM correlate.ingest('grype', :'f');
\set f `cat test/data/grype/grype-explain-testdata/chainguard-ruby-test.json`
SELECT 'chainguard-ruby' AS sample, rejected FROM correlate.ingest('grype', :'f');
\set f `cat test/data/grype/grype-explain-testdata/ghsa-test.json`
SELECT 'ghsa-test' AS sample, rejected FROM correlate.ingest('grype', :'f');
\set f `cat test/data/grype/grype-explain-testdata/keycloak-test.json`
SELECT 'keycloak' AS sample, rejected FROM correlate.ingest('grype', :'f');

-- Images are named by the digest the user pulled (repoDigests / userInput), else the manifest digest.
SELECT uid, kind, name, props->>'scanner_version' AS grype FROM correlate.resource ORDER BY uid;
SELECT uid, check_id, package, severity, cvss, installed_version, fixed_version,
	   props->>'advisory' AS advisory, props->>'fix_state' AS fix_state
FROM findings ORDER BY uid, check_id, package;
-- The scan time is when a finding was seen (reports before Grype 0.4x have no timestamp: now()).
SELECT DISTINCT uid, first_seen FROM findings WHERE first_seen < now() - interval '1 day' ORDER BY uid;

-- Ingesting the same reports again changes nothing.
\set f `cat test/data/grype/grype-explain-testdata/keycloak-test.json`
SELECT rejected FROM correlate.ingest('grype', :'f');
SELECT count(*) FROM correlate.finding;

-- 2. Newer Grype: EPSS and CISA KEV (knownExploited), a GHSA recorded under its one CVE.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
SELECT rejected FROM correlate.ingest('grype', $json$
{"matches": [
  {"vulnerability": {"id": "GHSA-jfh8-c2jp-5v3q", "dataSource": "https://github.com/advisories/GHSA-jfh8-c2jp-5v3q",
     "namespace": "github:language:java", "severity": "Critical",
     "cvss": [{"source": "github", "type": "Secondary", "version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "metrics": {"baseScore": 10}}],
     "epss": [{"cve": "CVE-2021-44228", "epss": 0.94358, "percentile": 0.99966, "date": "2026-11-19"}],
     "knownExploited": [{"cve": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2", "dateAdded": "2021-12-10"}],
     "fix": {"versions": ["2.15.0"], "state": "fixed"}},
   "relatedVulnerabilities": [{"id": "CVE-2021-44228", "namespace": "nvd:cpe",
     "cvss": [{"source": "nvd@nist.gov", "type": "Primary", "version": "3.1", "metrics": {"baseScore": 10}},
              {"source": "nvd@nist.gov", "type": "Primary", "version": "2.0", "metrics": {"baseScore": 9.3}}]}],
   "artifact": {"name": "log4j-core", "version": "2.14.1", "type": "java-archive",
     "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "locations": [{"path": "/app/lib/log4j-core-2.14.1.jar"}]}},
  {"vulnerability": {"id": "CVE-2020-0001", "severity": "Negligible", "fix": {"versions": [], "state": "not-fixed"},
     "cvss": [{"version": "2.0", "metrics": {"baseScore": 4.3}}]},
   "artifact": {"name": "libc6", "version": "2.31-13"}}],
 "source": {"type": "image", "target": {"userInput": "registry.example.com/legacy/webapp:1.4.2",
   "imageID": "sha256:b7e4c1a9d3f5e2b8c6a4f1d9e7b5c3a1f8d6e4c2b9a7f5e3d1c8b6a4f2e9d7c5",
   "manifestDigest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
   "repoDigests": ["registry.example.com/legacy/webapp@sha256:3f1c9b2a7d5e4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"],
   "tags": ["registry.example.com/legacy/webapp:1.4.2"]}},
 "distro": {"name": "debian", "version": "11"},
 "descriptor": {"name": "grype", "version": "0.87.0", "timestamp": "2026-11-18T02:10:00.5+01:00"}}
$json$);
SELECT uid, check_id, package, severity, cvss, epss, known_exploited, fixed_version, first_seen,
	   props->>'advisory' AS advisory, props->'aliases' AS aliases
FROM findings ORDER BY check_id;

-- 3. Bad input.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
SELECT rejected FROM correlate.ingest('grype', $json$
{"matches": [
  {"vulnerability": {"id": "CVE-2024-1", "severity": "High"}, "artifact": {"name": "ok", "version": "1"}},
  {"vulnerability": {"severity": "High"}, "artifact": {"name": "no-id"}},
  {"vulnerability": {"id": "CVE-2024-3"}},
  {"vulnerability": {"id": "CVE-2024-4", "cvss": [{"version": "3.1", "metrics": {"baseScore": "high"}}]}, "artifact": {"name": "x"}},
  {"vulnerability": {"id": "CVE-2024-5", "epss": [{"cve": "CVE-2024-5", "epss": 2}]}, "artifact": {"name": "x"}},
  {"vulnerability": {"id": "CVE-2024-6", "fix": {"versions": [1], "state": "fixed"}}, "artifact": {"name": "x"}},
  {"vulnerability": "CVE-2024-7", "artifact": {"name": "x"}},
  [],
  {"vulnerability": {"id": "CVE-2024-9", "severity": "Medium"}, "artifact": {"name": "also-ok"}}],
 "source": {"type": "directory", "target": "/src"}}
$json$, on_error => 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY recno;
SELECT uid, check_id, package, severity FROM findings ORDER BY check_id;

TRUNCATE correlate.ingest_reject;
SELECT rejected FROM correlate.ingest('grype', 'not json', on_error => 'skip');
SELECT rejected FROM correlate.ingest('grype', '[]', on_error => 'skip');
SELECT rejected FROM correlate.ingest('grype', '{"matches": []}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('grype', '{"matches": {}, "source": {"type": "directory", "target": "."}}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('grype', '{"matches": [], "source": {"type": "image", "target": {"userInput": "bad image"}}}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('grype', '{"matches": [], "source": {"type": "directory", "target": ""}}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('grype', '{"matches": [], "source": {"type": "directory", "target": "."}, "descriptor": {"timestamp": "later"}}', on_error => 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY id;

-- The default on_error => 'error' names the record and rolls back.
SELECT * FROM correlate.ingest('grype', '{"matches": [{"vulnerability": {"id": "CVE-1"}, "artifact": {"name": "a"}}, {"artifact": {"name": "b"}}], "source": {"type": "directory", "target": "/x"}}');
SELECT count(*) FROM correlate.resource WHERE uid = 'artifact://directory//x';
