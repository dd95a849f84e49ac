#!/usr/bin/env bash
# Pseudonymisation benchmark (one command; not a test).
#
#   pg_virtualenv -v 15 test/bench/privacy_bench.sh     # or PGHOST/PGPORT of a server with correlate installed
#
# Ingests the same generated CloudTrail file (gen_cloudtrail.py) with correlate.ingest_file
# into two tenants, one without and one with a pseudonymisation policy (userName and
# principalId hashed, the ARN's tail hashed, sourceIPAddress as a keyed address: four
# HMAC-SHA256 per record, nothing dropped so both store the same amount), alternating
# the two in each of RUNS rounds on emptied tables, and prints the median backend CPU
# seconds (user + system, from /proc) and wall seconds of each, and the ratio.
#   realistic   the generator's records: a few users and ~1,000 addresses repeat, so most
#               pseudonyms come from the per-call memo
#   unique      the same records with a distinct user and (public) address in every record:
#               every field costs an HMAC and misses the memo (the worst case)
# Target (issue 20): pseudonymised / plain <= 1.10 by CPU.
#
# Environment: RUNS (5), CT_N (50000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-5}
CT_N=${CT_N:-50000}
dir=$(mktemp -d /tmp/privacy_bench.XXXXXX)
chmod 755 "$dir"
db=privacy_bench_$$
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
createdb "$db"
export PGDATABASE=$db
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q >/dev/null <<'SQL'
CREATE EXTENSION correlate;
SELECT count(*) FROM correlate.create_event_partitions(1, '2026-11-01');
CREATE SCHEMA bench;
CREATE FUNCTION bench.cpu() RETURNS float8 LANGUAGE sql AS $$
  SELECT (f[12]::float8 + f[13]::float8) / 100.0
  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s $$;
SET correlate.tenant = 'pseudo';
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity.userName', 'hash');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity.principalId', 'hash');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'userIdentity.arn', 'hash_tail');
SELECT correlate.set_pseudonym_rule('cloudtrail', 'sourceIPAddress', 'ip', category => 'online_identifier');
SQL
echo "# $(q -c "SELECT version()" | cut -d, -f1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); $CT_N records, $RUNS rounds"
python3 "$here/gen_cloudtrail.py" "$CT_N" >"$dir/realistic.jsonl"
# Distinct names and addresses in no particular order, as real ones are (sequential
# ones would favour the plain run: its index inserts would all land at the right edge).
python3 - "$dir/realistic.jsonl" >"$dir/unique.jsonl" <<'PY'
import hashlib, json, sys
for i, line in enumerate(open(sys.argv[1])):
    r = json.loads(line)
    h = hashlib.sha1(str(i).encode()).digest()
    u = "u" + h[:6].hex()
    r["userIdentity"] = {"type": "IAMUser", "principalId": "AIDA" + h[6:12].hex().upper(),
                         "arn": "arn:aws:iam::111122223333:user/" + u, "accountId": "111122223333", "userName": u}
    r["sourceIPAddress"] = "%d.%d.%d.%d" % (11 + h[12] % 100, h[13], h[14], h[15])
    print(json.dumps(r))
PY
chmod 644 "$dir"/*

# run TENANT FILE: "cpu wall" seconds of one ingest into an emptied tenant
run() {
  q <<SQL | tail -1
SET client_min_messages = warning;
TRUNCATE correlate.event, correlate.resource, correlate.relationship, correlate.ingest_reject CASCADE;
SET correlate.tenant = '$1';
SELECT bench.cpu() AS c0, extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT events FROM correlate.ingest_file('cloudtrail', '$2');
SELECT round((bench.cpu() - :c0)::numeric, 2) || ' ' || round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

printf '%-10s %12s %12s %12s %12s %8s %8s\n' input plain_cpu_s pseudo_cpu_s plain_wall_s pseudo_wall_s cpu_x wall_x
for input in realistic unique; do
  : >"$dir/plain" ; : >"$dir/pseudo"
  for _ in $(seq 1 "$RUNS"); do
    run plain "$dir/$input.jsonl" >>"$dir/plain"
    run pseudo "$dir/$input.jsonl" >>"$dir/pseudo"
  done
  pc=$(cut -d' ' -f1 "$dir/plain" | median); sc=$(cut -d' ' -f1 "$dir/pseudo" | median)
  pw=$(cut -d' ' -f2 "$dir/plain" | median); sw=$(cut -d' ' -f2 "$dir/pseudo" | median)
  printf '%-10s %12s %12s %12s %12s %8s %8s\n' "$input" "$pc" "$sc" "$pw" "$sw" \
    "$(awk -v a="$sc" -v b="$pc" 'BEGIN {printf "%.3f", a / b}')" "$(awk -v a="$sw" -v b="$pw" 'BEGIN {printf "%.3f", a / b}')"
done
# what the last pseudonymised run stored: no clear user name or address
q -c "SELECT 'check: ' || count(*) || ' events, ' || count(*) FILTER (WHERE raw #>> '{userIdentity,userName}' LIKE 'ps\_%') || ' with a pseudonymous userName, '
             || count(*) FILTER (WHERE src_ip << '2001:db8::/32' OR src_ip << 'fd00::/8') || ' with a pseudonymous address'
      FROM correlate.event WHERE tenant = 'pseudo'"
