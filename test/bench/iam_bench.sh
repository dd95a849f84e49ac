#!/usr/bin/env bash
# iam_bench.sh: the IAM figures of issue 4, each next to its baseline measured in the same run.
#
#   test/bench/iam_bench.sh [STATEMENTS [ROLES [RUNS]]]      defaults 1000000 5000 7
#
#   match_1M       "which statements match s3:GetObject on arn:aws:s3:::bucket-42/key" over
#                  STATEMENTS statements (1-2 action patterns and 1 resource pattern each):
#                  GIN indexes on both pattern columns vs a sequential scan (target >= 100x)
#   who_can        median latency of correlate.who_can over an account of ROLES roles and
#                  4 x ROLES statements, 40 varied requests x 3; baseline: the same calls with
#                  index scans disabled
#   also: GIN build time, refresh_policies and refresh_iam_edges times on that account
#   edges_*        refresh_iam_edges(), and refresh_policies() with edges on, against the
#                  implementation as of IAM_BASE (git; default 4ba87b3), alternated RUNS times,
#                  wall and backend CPU medians; edges_compare: every edge of both, row by row,
#                  on that account and on every fixture of test/data/iam-escalation and
#                  test/data/iam-authorization-details (any difference fails the bench)
#
# Times are medians, measured inside the server (clock_timestamp around the query).  The
# run uses a private copy of PostgreSQL 15 in /tmp with this tree installed (DESTDIR), so
# engineers reinstalling the shared extension directory meanwhile cannot disturb it; the
# cluster is removed at the end (KEEP=1 keeps it).  PORT picks its port (default 55491).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
STATEMENTS=${1:-1000000}
ROLES=${2:-5000}
RUNS=${3:-7}
PORT=${PORT:-55491}
PG_SYS_BIN=${PG_SYS_BIN:-/usr/lib/postgresql/15/bin}
DIR=$(mktemp -d /tmp/iam_bench.XXXXXX)
PG=$DIR/usr/lib/postgresql/15/bin

as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
	as_owner "$PG/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	if [ "${KEEP:-0}" != 1 ]; then rm -rf "$DIR"; else echo "cluster kept in $DIR (port $PORT)"; fi
}
trap cleanup EXIT

echo "== private PostgreSQL in $DIR"
mkdir -p "$DIR/usr/lib/postgresql" "$DIR/usr/share/postgresql"
cp -a "$(dirname "$PG_SYS_BIN")" "$DIR/usr/lib/postgresql/"
cp -a "$("$PG_SYS_BIN/pg_config" --sharedir)" "$DIR/usr/share/postgresql/"
make -s -C "$SRC" PG_CONFIG="$PG_SYS_BIN/pg_config" >/dev/null
make -s -C "$SRC" PG_CONFIG="$PG_SYS_BIN/pg_config" install DESTDIR="$DIR" >/dev/null
if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$DIR"; fi
as_owner "$PG/initdb" -D "$DIR/data" -A trust -U postgres --no-sync >/dev/null
cat >>"$DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$DIR'
shared_preload_libraries = 'pg_cron'
shared_buffers = '1GB'
work_mem = '64MB'
maintenance_work_mem = '1GB'
max_wal_size = '10GB'
fsync = off
synchronous_commit = off
full_page_writes = off
max_parallel_workers_per_gather = 0
jit = off
EOF
as_owner "$PG/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null

# The baseline of the edge refresh: _iam_evaluate and refresh_iam_edges as of IAM_BASE (the
# commit before they were made set-based), loaded into schema iam_old next to this tree's.
IAM_BASE=${IAM_BASE:-4ba87b3}
have_old=false
if git -C "$SRC" cat-file -e "$IAM_BASE" 2>/dev/null; then
	{
		echo "CREATE SCHEMA iam_old;"
		git -C "$SRC" show "$IAM_BASE:src/sql/70_iam_3_eval.sql" | awk '/^CREATE FUNCTION correlate\._iam_evaluate\(/,/^\$\$;/'
		git -C "$SRC" show "$IAM_BASE:src/sql/70_iam_4_edges.sql" | awk '/^CREATE FUNCTION correlate\.refresh_iam_edges\(/,/^\$\$;/'
	} | sed 's/correlate\._iam_evaluate(/iam_old._iam_evaluate(/g; s/CREATE FUNCTION correlate\.refresh_iam_edges(/CREATE FUNCTION iam_old.refresh_iam_edges(/' >"$DIR/old.sql"
	have_old=true
else
	echo "(no git commit $IAM_BASE here: the edge refresh is measured without its baseline)"
fi
fixtures=$(ls "$SRC"/test/data/iam-escalation/*.json "$SRC"/test/data/iam-authorization-details/*/*.json | tr '\n' ' ')
if [ "$(id -u)" -eq 0 ]; then chown postgres "$DIR/old.sql" 2>/dev/null || true; fi

echo "== generating $STATEMENTS statements and an account of $ROLES roles (takes a few minutes)"
"$PG/psql" -X -q -h "$DIR" -p "$PORT" -U postgres -d postgres \
	-v statements="$STATEMENTS" -v roles="$ROLES" -v runs="$RUNS" \
	-v have_old="$have_old" -v old_sql="$DIR/old.sql" -v fixtures="$fixtures" \
	-f "$HERE/iam_bench.sql" >"$DIR/raw.txt"

fig() { awk -F'\t' -v k="$1" -v c="$2" '$1 == k { print $c }' "$DIR/raw.txt" | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.0fx", b / a; else print "n/a" }'; }

echo
echo "IAM benchmark: medians, ms, measured inside the server ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
printf '%-34s %12s %12s %8s  %s\n' figure ours baseline ratio note
for k in match_1M who_can_median; do
	o=$(fig "$k" 2); b=$(fig "$k" 3); n=$(fig "$k" 4)
	printf '%-34s %12s %12s %8s  %s\n' "$k" "$o" "$b" "$(ratio "$o" "$b")" "$n"
done
for k in gin_build_ms refresh_policies_ms refresh_iam_edges_ms; do
	printf '%-34s %12s %12s %8s  %s\n' "$k" "$(fig "$k" 2)" "" "" "$(fig "$k" 4)"
done
# the edge refresh (and refresh_policies() with it) against the baseline: ours, old, old/ours
for k in edges_edges_wall edges_edges_cpu edges_policies_wall edges_policies_cpu; do
	o=$(fig "$k" 2); b=$(fig "$k" 3); [ -n "$o" ] || continue
	printf '%-34s %12s %12s %8s  %s\n' "$k" "$o" "$b" "$(awk -v a="$o" -v b="$b" 'BEGIN { if (a > 0) printf "%.1fx", b / a }')" "$(fig "$k" 4)"
done
if [ -n "$(fig edges_compare 2)" ]; then
	printf '%-34s %12s %12s %8s  %s\n' edges_compare "$(fig edges_compare 2)" "$(fig edges_compare 3)" "" "$(fig edges_compare 4)"
fi
if grep -q MISMATCH "$DIR/raw.txt"; then
	echo "ERROR: answers differ:"; grep MISMATCH "$DIR/raw.txt"; exit 1
fi
echo
echo "Plan of the indexed match query:"
sed -n '/QUERY PLAN/,/rows)/p' "$DIR/raw.txt"
