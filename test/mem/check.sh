#!/usr/bin/env bash
# Memory checking of correlate's C code, one command each (make asan-check / valgrind-check):
#
#   test/mem/check.sh asan [TEST...]      # ASan+UBSan build of the extension (clang): the whole
#                                         # suite, or these pg_regress tests
#   test/mem/check.sh valgrind [TEST...]  # pg_regress tests with every server process under
#                                         # valgrind memcheck (default: VALGRIND_TESTS below)
#
# Runs from a copy of the tree the server can read (like scripts/test.sh), on a throwaway
# cluster (pg_virtualenv).  The asan run installs an instrumented correlate.so and puts the
# normal build back at the end.  See test/mem/run.sh for what counts as a finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
mode=${1:-}; shift || true
# The default valgrind set: the parsers with the most code (and the bad-input test that
# feeds all nine), the IAM matcher and evaluator, the graph snapshot and its algorithms,
# Sigma compile and match.  The whole suite under
# valgrind takes hours on two CPUs; `test/mem/check.sh valgrind $(ls sql | sed 's/\.sql$//')`
# runs it all.
VALGRIND_TESTS=${VALGRIND_TESTS:-"ingest_bad_input ingest_cloudtrail ingest_k8s_audit ingest_ocsf ingest_inventory ingest_iam
  ingest_trivy iam_pattern iam_policy graph_basic graph_paths sigma_syntax sigma_bad_input"}
stage=$(mktemp -d /tmp/correlate-mem.XXXXXX)
chmod 755 "$stage"
tar --exclude=./.git -cf - . | tar -xf - -C "$stage"
cd "$stage"
case $mode in
asan)
  # The extension only; the server is the packaged one.  -O1 keeps stacks readable.
  make -s clean
  make -s -j2 CC=clang with_llvm=no \
    CFLAGS="-g -O1 -fno-omit-frame-pointer -fwrapv -fno-strict-aliasing -fsanitize=address,undefined -shared-libasan" \
    PG_CFLAGS="-Wall -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Wno-unknown-warning-option -Wno-ignored-attributes"
  make -s with_llvm=no install
  [ "$(nm -D correlate.so | grep -c __asan_report)" -gt 0 ] || { echo "correlate.so is not instrumented" >&2; exit 1; }
  set +e
  nice -n 10 pg_virtualenv -v 15 -o shared_preload_libraries=pg_cron,correlate -o cron.use_background_workers=on \
    -o max_worker_processes=32 bash test/mem/run.sh asan "$@"
  status=$?
  set -e
  (cd "$root" && make -s && make -s install)   # the normal build back
  ;;
valgrind)
  [ $# -gt 0 ] || set -- $VALGRIND_TESTS
  make -s && make -s install
  set +e
  pg_virtualenv -v 15 -o shared_preload_libraries=pg_cron,correlate -o cron.use_background_workers=on \
    -o max_worker_processes=32 bash test/mem/run.sh valgrind "$@"
  status=$?
  set -e
  ;;
*) echo "usage: $0 asan | valgrind [TEST...]" >&2; exit 2 ;;
esac
[ $status -eq 0 ] && { cd /; rm -rf "$stage"; } || echo "outputs kept in $stage"
exit $status
