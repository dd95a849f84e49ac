\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS correlate CASCADE;
CREATE EXTENSION correlate;
RESET client_min_messages;

-- trivy: Trivy JSON (SchemaVersion 2) and `trivy k8s` cluster reports into findings.
SET correlate.default_cluster = 'test';
SET timezone = 'UTC';
-- Scanned file trees and repositories are resources of kind artifact (see docs/formats/trivy.md).

CREATE TEMP VIEW findings AS
SELECT r.uid, r.kind AS rkind, f.kind, f.check_id, f.package, f.severity, f.cvss, f.installed_version,
	   f.fixed_version, f.known_exploited, f.title, f.props, f.first_seen
FROM correlate.finding f JOIN correlate.resource r ON r.id = f.resource;

-- 1. Every real sample ingests with no reject.
\set f `cat test/data/trivy/trivy-integration-testdata/alpine-310.json.golden`
SELECT 'alpine-310' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/trivy-integration-testdata/amazon-2.json.golden`
SELECT 'amazon-2' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/trivy-integration-testdata/centos-7.json.golden`
SELECT 'centos-7' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/trivy-integration-testdata/debian-buster.json.golden`
SELECT 'debian-buster' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/trivy-integration-testdata/gomod.json.golden`
SELECT 'gomod' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/trivy-integration-testdata/npm.json.golden`
SELECT 'npm' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/trivy-integration-testdata/pip.json.golden`
SELECT 'pip' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/defectdojo-unittests/all_statuses.json`
SELECT 'all_statuses' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/defectdojo-unittests/issue_10991.json`
SELECT 'issue_10991 (cluster)' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/defectdojo-unittests/misconfigurations_and_secrets.json`
SELECT 'misconfigurations_and_secrets' AS sample, rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/defectdojo-unittests/scheme_2_many_vulns.json`
SELECT 'scheme_2_many_vulns' AS sample, rejected FROM correlate.ingest('trivy', :'f');

SELECT uid, kind, name, namespace, cluster FROM correlate.resource ORDER BY uid;
-- Findings per resource and kind.
SELECT uid, kind, count(*), string_agg(DISTINCT severity, ',' ORDER BY severity) AS severities
FROM findings GROUP BY uid, kind ORDER BY uid, kind;
-- A vulnerability in full: CVSS prefers NVD's v3 score; the scan time is when it was seen.
SELECT check_id, package, severity, cvss, installed_version, fixed_version, known_exploited, title,
	   props->>'cvss_source' AS cvss_source, props->>'target' AS target, first_seen
FROM findings WHERE uid LIKE 'image://sha256:c2c03a29%' ORDER BY check_id;
-- Without an NVD v3 score the severity source's vendor v3 score is used, else NVD's v2; else none.
SELECT check_id, cvss, props->>'cvss_source' AS cvss_source FROM findings
WHERE kind = 'vulnerability' AND props->>'cvss_source' IS DISTINCT FROM 'nvd' ORDER BY check_id, package;
-- Misconfigurations and secrets of a filesystem scan: the file is the "package".
SELECT kind, check_id, package, severity, title, props->>'match' AS match FROM findings
WHERE uid = 'artifact://filesystem/.' AND kind <> 'vulnerability' ORDER BY kind, check_id, package;
-- Cluster report: misconfigurations on the Kubernetes objects; a workload whose Metadata names its
-- image gets a uses_image edge (vulnerabilities of such a resource go on the image).
SELECT uid, check_id, severity FROM findings WHERE uid LIKE 'k8s://%' AND check_id IN ('KSV001', 'KSV110', 'KSV041') ORDER BY uid, check_id;
SELECT s.uid, r.kind, d.uid FROM correlate.relationship r
JOIN correlate.resource s ON s.id = r.src JOIN correlate.resource d ON d.id = r.dst ORDER BY 1, 2, 3;

-- Ingesting the same reports again changes nothing.
SELECT count(*) AS findings FROM correlate.finding;
\set f `cat test/data/trivy/defectdojo-unittests/issue_10991.json`
SELECT rejected FROM correlate.ingest('trivy', :'f');
\set f `cat test/data/trivy/trivy-integration-testdata/alpine-310.json.golden`
SELECT rejected FROM correlate.ingest('trivy', :'f');
SELECT count(*) AS findings FROM correlate.finding;
\set p `pwd`/test/data/trivy/trivy-integration-testdata/alpine-310.json.golden
SELECT rejected FROM correlate.ingest_file('trivy', :'p');
SELECT count(*) AS findings FROM correlate.finding;

-- 2. The seed scenario's image: the digest Trivy reports is the one a pod's status shows.
\set f `cat test/data/seed/trivy-webapp.json`
SELECT rejected FROM correlate.ingest('trivy', :'f');
SELECT uid, check_id, package, severity, cvss, installed_version, fixed_version, known_exploited
FROM findings WHERE check_id = 'CVE-2021-44228';
SELECT correlate.image_uid('registry.example.com/legacy/webapp@sha256:3f1c9b2a7d5e4f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8')
	= (SELECT uid FROM findings WHERE check_id = 'CVE-2021-44228') AS same_image;

-- 3. Bad input: one bad entry is one reject; the rest of the report goes in.
SET client_min_messages = warning;
TRUNCATE correlate.resource CASCADE;
RESET client_min_messages;
TRUNCATE correlate.ingest_reject;
SELECT rejected FROM correlate.ingest('trivy', $json$
{"SchemaVersion": 2, "ArtifactName": "example/app:1", "ArtifactType": "container_image",
 "CreatedAt": "2026-02-03T04:05:06.123456789Z",
 "Metadata": {"RepoDigests": ["", "example/app@sha256:not-a-digest", "example/app@sha256:0000000000000000000000000000000000000000000000000000000000000001"]},
 "Results": [
  {"Target": "example/app:1 (alpine 3.19)", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": [
    {"VulnerabilityID": "CVE-2024-0001", "PkgName": "libfoo", "InstalledVersion": "1.0", "FixedVersion": "", "Severity": "HIGH",
     "CVSS": {"nvd": {"V2Score": 7.5}}},
    {"PkgName": "libbar", "Severity": "LOW"},
    {"VulnerabilityID": "CVE-2024-0003", "PkgName": "libbaz", "Severity": 3},
    {"VulnerabilityID": "CVE-2024-0004", "PkgName": "libqux", "CVSS": {"nvd": {"V3Score": "9.8"}}},
    {"VulnerabilityID": "CVE-2024-0005", "PkgName": "libquux", "CVSS": {"nvd": {"V3Score": 11}}},
    {"VulnerabilityID": "CVE-2024-0006", "PkgName": "libnul\u0000"},
    "not an object",
    {"VulnerabilityID": "CVE-2024-0008", "PkgName": "libok", "Severity": "SUPER", "Title": "unknown severities read as unknown"}]},
  {"Target": "Dockerfile", "Class": "config", "Misconfigurations": [
    {"ID": "DS001", "Status": "PASS", "Title": "passed checks are not findings"},
    {"ID": "DS002", "Status": "FAIL", "Severity": "HIGH", "Title": "Image user should not be 'root'"},
    {"Status": "FAIL", "Title": "no id"}]},
  {"Target": "secret.txt", "Class": "secret", "Secrets": [{"Category": "AWS"}, {"RuleID": "aws-access-key-id", "Severity": "CRITICAL", "StartLine": 1, "Match": "AKIA****************"}]},
  {"Target": "bad", "Vulnerabilities": {"VulnerabilityID": "CVE-1"}},
  7
 ]}
$json$, on_error => 'skip');
SELECT recno, reason FROM correlate.ingest_reject ORDER BY recno;
SELECT uid, kind, check_id, package, severity, cvss, fixed_version FROM findings ORDER BY kind, check_id;

TRUNCATE correlate.ingest_reject;
SELECT rejected FROM correlate.ingest('trivy', 'not json', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion": 2, "ArtifactName": "x"', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '[{"Target": "old", "Vulnerabilities": []}]', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion": 1, "ArtifactName": "x", "Results": []}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion": 2, "ArtifactType": "filesystem", "Results": []}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion": 2, "ArtifactType": "container_image", "ArtifactName": "", "Metadata": {"RepoDigests": [""]}}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion": 2, "ArtifactName": "x", "CreatedAt": "soon", "Results": []}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion": 2, "ArtifactName": "x", "Results": {}}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"ClusterName": "c", "Resources": [{"Namespace": "n", "Name": "no-kind"}, {"Kind": "Pod", "Name": "a/b", "Namespace": "n"}, {"Kind": "Deployment", "Name": "ok", "Namespace": "n", "Results": []}]}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"SchemaVersion": 2, "ArtifactName": "x"} {"SchemaVersion": 2}', on_error => 'skip');
SELECT rejected FROM correlate.ingest('trivy', '{"a":' || repeat('[', 5000) || repeat(']', 5000) || '}', on_error => 'skip');
SET correlate.ingest_max_document_size = '1kB';
\set f `cat test/data/trivy/trivy-integration-testdata/npm.json.golden`
SELECT rejected FROM correlate.ingest('trivy', :'f', on_error => 'skip');
RESET correlate.ingest_max_document_size;
SELECT recno, reason FROM correlate.ingest_reject ORDER BY id;
SELECT uid, kind, cluster FROM correlate.resource WHERE uid LIKE 'k8s://%' ORDER BY uid;

-- The default on_error => 'error' names the record and rolls back.
SELECT * FROM correlate.ingest('trivy', '{"SchemaVersion": 2, "ArtifactName": "y:1", "Results": [{"Target": "t", "Vulnerabilities": [{"PkgName": "p"}]}]}');
SELECT count(*) FROM correlate.resource WHERE name = 'y:1';
