#!/usr/bin/env bash
# correlate.export_ocsf against the OCSF 1.2.0 schema (test/data/ocsf-schema, validated by
# test/lib/ocsf_validate.py: required attributes, unknown attributes, types, enums,
# object constraints). The seed's incident, toxic combinations and risky resources, plus
# Sigma detections through a correlate.detection table shaped as the detection module
# makes it. Then the validator must reject broken events, so the check can fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=corr_ocsf_export
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*"; exit 1; }

dropdb --if-exists $db
createdb $db
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION correlate;
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT * FROM correlate.derive_attack_edges();
SELECT * FROM correlate.correlate();
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
SQL
psql -X -q -A -t -v ON_ERROR_STOP=1 -d $db -c \
  "SELECT finding FROM correlate.export_ocsf('-infinity', 'infinity', min_risk => 0) ORDER BY class_uid, finding_uid" >"$work/seed.jsonl"
n=$(wc -l <"$work/seed.jsonl")
[ "$n" -ge 10 ] || fail "only $n findings exported"
python3 test/lib/ocsf_validate.py test/data/ocsf-schema <"$work/seed.jsonl" || fail "exported findings do not validate"

# Detections: a Sigma rule (its title needs escaping) over the seed's two outbound-connection alerts.
psql -X -q -A -t -v ON_ERROR_STOP=1 -d $db >"$work/detection.jsonl" <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM correlate.load_sigma($y$
title: 'Shell <in> "container"'
id: 3f54e98c-cb33-5bac-9010-e71ead7a7d7b
status: test
level: high
tags:
  - attack.execution
  - attack.t1059
logsource:
  product: falco
detection:
  sel:
    rule: 'Unexpected outbound connection destination'
  condition: sel
$y$) \g /dev/null
SELECT count(*) FROM correlate.detect('2026-11-01', '2026-12-01') \g /dev/null
SELECT finding FROM correlate.export_ocsf('2026-11-01', '2026-12-01', ARRAY['detection']) ORDER BY finding_uid;
SQL
[ "$(wc -l <"$work/detection.jsonl")" -eq 2 ] || fail "expected 2 detection findings"
python3 test/lib/ocsf_validate.py test/data/ocsf-schema <"$work/detection.jsonl" || fail "detection findings do not validate"

# The validator catches what is wrong: a missing required object, a bad enum, a wrong type, an unknown attribute.
head -1 "$work/seed.jsonl" | python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
bad = []
x = dict(e); x.pop("metadata"); bad.append(x)
x = dict(e); x["severity_id"] = 42; bad.append(x)
x = dict(e); x["time"] = "yesterday"; bad.append(x)
x = dict(e); x["colour"] = "red"; bad.append(x)
for b in bad: print(json.dumps(b))' >"$work/bad.jsonl"
if out=$(python3 test/lib/ocsf_validate.py test/data/ocsf-schema <"$work/bad.jsonl"); then
  fail "the validator accepted broken events"
fi
for want in "required attribute metadata is missing" "42 is not in the enum" "'yesterday' is not of type timestamp_t" "unknown attribute colour"; do
  grep -qF "$want" <<<"$out" || fail "the validator missed: $want"
done
echo "$n seed findings and 2 detections valid OCSF 1.2.0; broken events rejected"
