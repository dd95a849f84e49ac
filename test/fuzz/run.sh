#!/usr/bin/env bash
# Mutation fuzzing of correlate's input parsers, inside the server (test/fuzz/fuzz.sql).
#
#   test/fuzz/run.sh                    # short run: ITERATIONS (default 60) inputs per target, seed 1
#                                       # (a third of that for iam_policy, twice for iam_pattern, half for sigma)
#   test/fuzz/run.sh --minutes 30       # long run: seeds 1, 2, ... per target until the time is up
#   test/fuzz/run.sh --iterations 500 --seed 7 --targets "falco iam_pattern"
#
# Runs against the cluster in the environment (PGHOST/PGPORT/PGUSER, as pg_virtualenv
# sets them) in a scratch database.  Targets: the nine ingest formats, iam_policy,
# iam_pattern and sigma, seeded from test/data/ (and the builtin Sigma pack) (files over 64 kB are skipped to keep executions
# fast).  Fails when an input raised an error of SQLSTATE class XX (printed with the input)
# or a backend crashed (the batch is replayed with every input printed, and the last one
# before the crash is shown).  Prints executions, accepted, rejected and executions per
# second for each target.  The same target, seed and iterations replay the same inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
minutes=0 iterations=${ITERATIONS:-60} seed=1 batch=${BATCH:-100}
targets="cloudtrail falco k8s_audit vpc_flow ocsf k8s_inventory aws_iam trivy grype iam_policy iam_pattern sigma"
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes N] [--iterations N] [--seed S] [--targets \"T ...\"]" >&2; exit 2 ;;
  esac
done
db=correlate_fuzz_$$
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
createdb "$db"
q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION correlate;
SQL
q -f test/fuzz/fuzz.sql >/dev/null

# Seeds: every sample of test/data/ up to 64 kB, by the format its folder holds.
target_of() {
  case $1 in
    test/data/seed/cloudtrail.json|test/data/cloudtrail/*) echo cloudtrail ;;
    test/data/seed/falco-alerts.jsonl|test/data/falco/*) echo falco ;;
    test/data/k8s-audit/*) echo k8s_audit ;;
    test/data/seed/vpc-flow.log|test/data/vpc-flow-logs/*) echo vpc_flow ;;
    test/data/ocsf/*.ocsf.json) echo ocsf ;;
    test/data/seed/k8s-inventory.json|test/data/k8s-inventory/*) echo k8s_inventory ;;
    test/data/seed/iam-authorization-details.json|test/data/iam-authorization-details/*) echo aws_iam ;;
    test/data/seed/trivy-webapp.json|test/data/trivy/*) echo trivy ;;
    test/data/grype/*) echo grype ;;
    test/data/sigma/*.yml) echo sigma ;;
  esac
}
{
  while read -r f; do
    t=$(target_of "$f")
    [ -n "$t" ] || continue
    echo "INSERT INTO fuzz.seed VALUES ('$t', '$f', pg_read_file('$root/$f'));"
  done < <(find test/data -type f -size -65k | LC_ALL=C sort)
  # IAM policy documents and the strings in them (patterns) from the aws_iam seeds.
  cat <<'SQL'
INSERT INTO fuzz.seed
SELECT DISTINCT 'iam_policy', md5(d::text), d::text FROM (
  SELECT CASE WHEN jsonb_typeof(x) = 'string' THEN (x #>> '{}')::jsonb ELSE x END AS d
  FROM fuzz.seed s, jsonb_path_query(s.body::jsonb, 'strict $.**.Document') x WHERE s.target = 'aws_iam'
  UNION ALL SELECT x FROM fuzz.seed s, jsonb_path_query(s.body::jsonb, 'strict $.**.PolicyDocument') x WHERE s.target = 'aws_iam'
  UNION ALL SELECT x FROM fuzz.seed s, jsonb_path_query(s.body::jsonb, 'strict $.**.AssumeRolePolicyDocument') x WHERE s.target = 'aws_iam'
) p WHERE jsonb_typeof(d) = 'object';
INSERT INTO fuzz.seed
SELECT 'iam_pattern', md5(v), v FROM (
  SELECT DISTINCT x #>> '{}' AS v FROM fuzz.seed s, jsonb_path_query(s.body::jsonb, 'strict $.** ? (@.type() == "string")') x
  WHERE s.target = 'iam_policy') p
WHERE v NOT IN ('Allow', 'Deny', '2012-10-17', '2008-10-17')
UNION SELECT 'iam_pattern', md5(v), v FROM unnest(ARRAY['*', 's3:Get*', 'arn:aws:s3:::bucket/*', 'iam:PassRole',
  'arn:aws:iam::123456789012:role/${aws:username}', 'ec2:*Instance?', 'arn:aws:*:*:*:*']) v;
-- Sigma: the rule files of test/data/sigma (above) and every rule of the builtin pack; the
-- seed events of three formats in tenant fuzz_sigma, for detect() to run the rules over.
INSERT INTO fuzz.seed
SELECT 'sigma', 'builtin ' || p.name || ' ' || d.n, d.doc
FROM correlate.detection_pack p, regexp_split_to_table(p.yaml, E'\n---\n') WITH ORDINALITY d(doc, n)
WHERE d.doc ~ 'detection:';
SET correlate.tenant = 'fuzz_sigma';
SELECT count(*) FROM fuzz.seed s, correlate.ingest(s.target, s.body, 'skip')
WHERE s.name IN ('test/data/seed/cloudtrail.json', 'test/data/seed/falco-alerts.jsonl')
   OR s.name = (SELECT min(name) FROM fuzz.seed WHERE target = 'k8s_audit');
RESET correlate.tenant;
SQL
} | q >/dev/null
echo "# seeds: $(q -c "SELECT string_agg(target || ' ' || n, ', ' ORDER BY target) FROM (SELECT target, count(*) n FROM fuzz.seed GROUP BY 1) s")"

# batch TARGET SEED N: one fuzz.run; prints its row, or fails after showing the crashing input.
batch() {
  local out
  if out=$(q -F ' ' -c "SET statement_timeout = '300s'" -c "SELECT * FROM fuzz.run('$1', $2, $3)" 2>&1); then
    echo "$out"
    return 0
  fi
  echo "FAIL  $1 seed $2: the batch did not finish: $(tail -3 <<<"$out")" >&2
  # Replay with every input printed; the last one before the failure is the culprit.
  q -c "SET statement_timeout = '300s'" -c "SELECT * FROM fuzz.run('$1', $2, $3, true)" 2>&1 \
    | grep -E '^(NOTICE|psql|server|FATAL|ERROR)' | tail -2 | cut -c1-4000 >&2 || true
  return 1
}

declare -A ex acc rej fnd secs mx sts
status=0
deadline=$(( $(date +%s) + minutes * 60 ))
round=$seed
while :; do
  for t in $targets; do
    n=$iterations
    [ "$minutes" -gt 0 ] && n=$batch
    # an iam_policy execution ingests, refreshes and evaluates (about 10x an ingest);
    # an iam_pattern one is a few function calls
    case $t in iam_policy) n=$(( (n + 2) / 3 )) ;; iam_pattern) n=$((n * 2)) ;; sigma) n=$(( (n + 1) / 2 )) ;; esac
    t0=$(date +%s.%N)
    row=$(batch "$t" "$round" "$n") || { status=1; break 2; }
    t1=$(date +%s.%N)
    read -r e a r f m s <<<"$row"
    ex[$t]=$(( ${ex[$t]:-0} + e )); acc[$t]=$(( ${acc[$t]:-0} + a )); rej[$t]=$(( ${rej[$t]:-0} + r ))
    fnd[$t]=$(( ${fnd[$t]:-0} + f ))
    secs[$t]=$(awk -v a="${secs[$t]:-0}" -v b="$t0" -v c="$t1" 'BEGIN {print a + c - b}')
    mx[$t]=$(awk -v a="${mx[$t]:-0}" -v b="$m" 'BEGIN {print (b > a) ? b : a}')
    sts[$t]="${sts[$t]:-} $s"
  done
  [ "$minutes" -gt 0 ] && [ "$(date +%s)" -lt "$deadline" ] || break
  round=$((round + 1))
done

total=0
printf '%-14s %8s %8s %8s %8s %9s %9s  %s\n' target execs accepted rejected findings "execs/s" "max ms" "SQLSTATEs (FZ000: accepted)"
for t in $targets; do
  [ -n "${ex[$t]:-}" ] || continue
  total=$((total + ex[$t]))
  printf '%-14s %8d %8d %8d %8d %9.1f %9s  %s\n' "$t" "${ex[$t]}" "${acc[$t]}" "${rej[$t]}" "${fnd[$t]}" \
    "$(awk -v e="${ex[$t]}" -v s="${secs[$t]}" 'BEGIN {print e / s}')" "${mx[$t]}" "$(tr ' ' '\n' <<<"${sts[$t]}" | awk -F= 'NF == 2 {c[$1] += $2} END {for (k in c) printf "%s=%d ", k, c[k]}' | tr ' ' '\n' | sort | tr '\n' ' ')"
done
echo "# $total executions in ${SECONDS}s, seeds $seed..$round"
if [ "$(q -c "SELECT count(*) FROM fuzz.finding")" -gt 0 ]; then
  echo "FAIL  inputs raised internal errors (SQLSTATE class XX) or broke an invariant:"
  q -c "SELECT target, seed, iter, sqlstate, message, left(input, 2000) FROM fuzz.finding ORDER BY target, seed, iter"
  status=1
fi
exit $status
