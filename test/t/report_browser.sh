#!/usr/bin/env bash
# The incident report in a real browser: headless Debian chromium, no network (every
# request goes to a dead proxy), loads the seed's report page and dumps the DOM and a
# screenshot. The page must render without console errors (no script errors, no
# blocked fetches), keep a hostile resource name as text, and its SVG must hold the
# incident's resources. Then the escaper on bytes that are not UTF-8, in a SQL_ASCII
# database (a UTF-8 database never holds them): the picture stays well-formed XML.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v chromium >/dev/null || { echo "FAIL: chromium is not installed (scripts/setup.sh installs it)"; exit 1; }
db=corr_report_browser
dba=corr_report_ascii
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1 || true; dropdb --if-exists $dba >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*"; exit 1; }

dropdb --if-exists $db
createdb $db
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION correlate;
\i test/data/seed/load.sql
SELECT correlate.refresh_policies();
SELECT * FROM correlate.derive_attack_edges();
SELECT * FROM correlate.correlate();
SELECT * FROM correlate.rescore(as_of => '2026-11-21');
-- Attacker-controlled names: markup that would run script if it were not escaped.
UPDATE correlate.resource SET name = 'webapp-sa<img src=x onerror="document.title=1">'
WHERE uid LIKE '%/serviceaccount/webapp-sa';
SELECT correlate.incident_report(i.id) FROM correlate.incident i
WHERE i.rule = 'workload-compromise-to-data-access' \g (format=unaligned tuples_only=on) $work/report.html
SQL
[ -s "$work/report.html" ] || fail "no report written"

browse() {  # browse OUTPUT-ARGS...: chromium on the report, offline, console on stderr
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>' --enable-logging=stderr --v=0 \
    --user-data-dir="$work/profile" --hide-scrollbars "$@" "file://$work/report.html"
}
browse --dump-dom >"$work/dom.html" 2>"$work/console.log" || fail "chromium --dump-dom failed: $(tail -5 "$work/console.log")"
browse --window-size=1440,1600 --screenshot="$work/report.png" >/dev/null 2>>"$work/console.log" || fail "chromium --screenshot failed"

# No script errors, no refused fetches, nothing logged by the page.
if grep -E 'CONSOLE|Uncaught|Refused to|ERR_' "$work/console.log" | grep -v -E 'dbus|Fontconfig|gpu|GPU|sandbox|Slow network is detected' ; then
  fail "the page logged errors (above)"
fi
grep -q '<svg[^>]*class="correlate-attack-graph"' "$work/dom.html" || fail "no attack-graph SVG in the DOM"
nodes=$(grep -o 'class="cg-node"' "$work/dom.html" | wc -l)
[ "$nodes" -eq 6 ] || fail "the SVG holds $nodes resources, expected 6"
for name in internet webapp-7d4b9c6f5-x2x9k legacy-webapp-role acme-customer-pii; do
  grep -q "<title>$name (" "$work/dom.html" || fail "resource $name missing from the SVG"
done
for section in summary timeline attack-graph risk fix-plan; do
  grep -q "id=\"$section\"" "$work/dom.html" || fail "section $section missing"
done
grep -q '<img' "$work/dom.html" && fail "a resource name became an element"
grep -q 'webapp-sa&lt;img src=x onerror=' "$work/dom.html" || fail "the hostile name is not shown as text"
grep -q '<script' "$work/dom.html" && fail "the page holds a script"
size=$(stat -c %s "$work/report.png")
[ "$size" -gt 50000 ] || fail "the screenshot is nearly blank ($size bytes)"
echo "report: 6 resources drawn, 5 sections, screenshot $size bytes, no console errors"

# Bytes that are not UTF-8 (a SQL_ASCII database stores them as given).
dropdb --if-exists $dba
createdb -E SQL_ASCII -T template0 --locale=C $dba
hex=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d $dba <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION correlate;
SELECT encode(correlate.xml_escape(E'\xff<ok\xc3\x28')::bytea, 'hex');
SQL
)
[ "$hex" = "efbfbd266c743b6f6befbfbd28" ] || fail "xml_escape on invalid UTF-8 gave $hex"
psql -X -q -A -t -v ON_ERROR_STOP=1 -d $dba >"$work/ascii.svg" <<'SQL'
SELECT correlate._render_graph('svg', E'bad \xfe title', '{1,2}', ARRAY[E'pod-\xc0\xaf', E'\xed\xa0\x80<b>'], '{k8s:pod,aws:s3:bucket}',
	'{workload,data}', ARRAY[E'uid-\xff', NULL], '{1,2}', '{1}', '{2}', ARRAY[E'tech\xf8'], '{T1}', '{0.5}', '{t}');
SQL
python3 -c 'import sys, xml.dom.minidom; d = xml.dom.minidom.parse(sys.argv[1]); assert len([g for g in d.getElementsByTagName("g") if g.getAttribute("class") == "cg-node"]) == 2' "$work/ascii.svg" \
  || fail "the picture of invalid UTF-8 names is not well-formed XML"
echo "invalid UTF-8: replaced, picture well-formed"
