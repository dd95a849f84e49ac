#!/usr/bin/env bash
# A 200 MB JSON document through correlate.ingest_file: one record that large is refused
# (not parsed), the backend's peak memory stays bounded by the document-size limit, and
# the server keeps running.  Also 200 MB of nesting.  The files are generated here, not
# stored in git.  Needs the cluster in the environment (PGHOST/PGPORT) and a server on
# this machine (ingest_file reads server-side files).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
db=ingest_big_$$
createdb "$db"
trap 'rm -rf "$dir"; dropdb --if-exists "$db"' EXIT
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION correlate'

python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
mb = 200 * 1024 * 1024
with open(d + '/big_record.json', 'w') as f:          # one 200 MB CloudTrail record
    f.write('{"Records":[{"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"big","pad":"')
    chunk = 'x' * (1024 * 1024)
    for _ in range(200):
        f.write(chunk)
    f.write('"},{"eventTime":"2026-11-20T10:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"small"}]}\n')
with open(d + '/deep.json', 'w') as f:                 # 200 MB of '['
    chunk = '[' * (1024 * 1024)
    for _ in range(200):
        f.write(chunk)
PY
chmod 644 "$dir"/*

out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<SQL
SET correlate.ingest_max_document_size = '16MB';
SELECT events || ' ' || rejected FROM correlate.ingest_file('cloudtrail', '$dir/big_record.json', 'skip');
SELECT events || ' ' || rejected FROM correlate.ingest_file('falco', '$dir/deep.json', 'skip');
SELECT count(*) FROM correlate.event WHERE uid IN ('big', 'small');
SELECT max(length(raw)) <= 64 * 1024 + 100 FROM correlate.ingest_reject;
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+)'))[1]::bigint / 1024 < 400;
SQL
)
echo "$out"
expected=$'1 1\n0 1\n1\nt\nt'
if [ "$out" != "$expected" ]; then
  echo "unexpected output; expected:"; echo "$expected"; exit 1
fi
# the error mode names the record and the server is still up
if psql -X -q -d "$db" -c "SELECT * FROM correlate.ingest_file('cloudtrail', '$dir/big_record.json')" 2>"$dir/err"; then
  echo "expected an error"; exit 1
fi
grep -q 'cloudtrail record 1 is malformed: the record is 209715' "$dir/err" || { cat "$dir/err"; exit 1; }
psql -X -At -d "$db" -c 'SELECT 1' >/dev/null
echo ok
