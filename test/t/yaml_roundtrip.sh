#!/usr/bin/env bash
# correlate.to_yaml round trip: the seed's NetworkPolicy, the fix plan's Kubernetes
# artifacts and documents full of YAML traps (booleans and numbers as strings, ": " and
# "#" in values, quotes, line breaks, empty strings and collections, unicode, deep
# nesting) parse back (PyYAML, YAML 1.1 rules, as kubectl's parser is strict about)
# to exactly the JSON they came from.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=corr_yaml_roundtrip
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*"; exit 1; }
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is needed (Debian python3-yaml)"

dropdb --if-exists $db
createdb $db
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION correlate;
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT * FROM correlate.derive_attack_edges();
SELECT * FROM correlate.correlate();
SQL
psql -X -q -A -t -v ON_ERROR_STOP=1 -d $db >"$work/pairs.jsonl" <<'SQL'
SELECT jsonb_build_object('json', d, 'yaml', correlate.to_yaml(d)) FROM (
	SELECT correlate.network_policy('legacy-webapp') AS d
	UNION ALL SELECT f.artifact FROM correlate.fix_plan(k => 12) f WHERE f.artifact IS NOT NULL
	UNION ALL SELECT '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "traps", "labels": {"a": "yes", "b": "no",
		"c": "on", "d": "off", "e": "true", "f": "null", "g": "~", "h": "1.0", "i": "0x1F", "j": "012", "k": "1e3", "l": ""}},
		"data": {"colon": "a: b", "hash": "a #b", "lead": " x", "trail": "x ", "quote": "it''s \"q\"", "nl": "l1\nl2",
		"tab": "a\tb", "dash": "- x", "star": "*x", "amp": "&x", "bang": "!x", "pct": "%x", "at": "@x", "tick": "`x",
		"brace": "{x}", "bracket": "[x]", "pipe": "|", "gt": ">", "q": "?", "comma": "a, b", "uni": "héllo ✓ 日本",
		"key with space": 1, "yes": true, "1": false, "": "empty key", "n": null, "num": -1.5e-3, "big": 12345678901234,
		"empty_list": [], "empty_map": {}, "nested": [[1, [2]], {"x": [{}]}, [], {}]}}'::jsonb
	UNION ALL SELECT '[1, "two", {"three": [3]}]'::jsonb
	UNION ALL SELECT '"just a string"'::jsonb
) x;
SQL
n=$(wc -l <"$work/pairs.jsonl")
[ "$n" -ge 5 ] || fail "only $n documents"
python3 - "$work/pairs.jsonl" <<'PY' || fail "a document does not round-trip"
import json, sys, yaml
bad = 0
for line in open(sys.argv[1]):
    p = json.loads(line)
    back = yaml.safe_load(p["yaml"])
    if back != p["json"]:
        bad += 1
        print("mismatch:\n" + p["yaml"] + "\nparsed as " + json.dumps(back) + "\nexpected " + json.dumps(p["json"]))
sys.exit(1 if bad else 0)
PY
echo "$n documents round-trip through YAML"
