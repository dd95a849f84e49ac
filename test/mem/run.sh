#!/usr/bin/env bash
# Runs tests with the server under a memory checker; called by test/mem/check.sh inside
# pg_virtualenv (the cluster at $PGPORT), from a copy of the tree the server can read.
#
#   test/mem/run.sh asan [T1 T2 ...]     # the whole suite (test/run_all.sh), or these
#                                        # pg_regress tests; the installed correlate.so must
#                                        # be the ASan/UBSan build
#   test/mem/run.sh valgrind T1 T2 ...   # these pg_regress tests, every server process
#                                        # under valgrind memcheck
#
# asan: the server itself is not instrumented, so the ASan runtime is preloaded into the
# postmaster through the cluster's `environment` file (as test/lib/shift_clock.sh does for
# libfaketime); every backend inherits it.  An ASan error aborts the backend (the suite's
# crash check then fails); UBSan reports go to log files.  test/mem/asan_init_first.c
# says why a second library is preloaded.  valgrind: the postmaster is
# started by hand under valgrind (pg_ctlcluster has no wrapper hook); each process writes
# its own log.  Both then keep only reports with a frame in correlate.so: PostgreSQL's own
# allocations (memory contexts live until exit) and libraries outside our reach are not
# ours to fix.  Exit status 0 when no report has a frame in our code.
set -uo pipefail
cd "$(dirname "$0")/../.."
mode=$1; shift
. test/lib/cluster.sh
conf=${PG_CLUSTER_CONF_ROOT:-/etc/postgresql}/$CLUSTER_VERSION/$CLUSTER_NAME
logs=$(mktemp -d /tmp/correlate-mem.XXXXXX)
chmod 777 "$logs"
status=0

case $mode in
asan)
  rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
  [ -f "$rt" ] || { echo "no ASan runtime ($rt)" >&2; exit 1; }
  clang -shared -fPIC -Wl,-z,initfirst -o "$logs/asan_init_first.so" test/mem/asan_init_first.c
  chmod 755 "$logs/asan_init_first.so"
  pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" stop -m fast
  sed -i '/^LD_PRELOAD\|^ASAN_OPTIONS\|^UBSAN_OPTIONS/d' "$conf/environment"
  # detect_leaks=0: LeakSanitizer would report every backend's memory contexts at exit.
  cat >>"$conf/environment" <<ENV
LD_PRELOAD = '$rt $logs/asan_init_first.so'
ASAN_OPTIONS = 'detect_leaks=0:abort_on_error=1:disable_coredump=1:log_path=$logs/asan:print_suppressions=0'
UBSAN_OPTIONS = 'print_stacktrace=1:halt_on_error=0:log_path=$logs/ubsan'
ENV
  pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" start
  pid=$(head -1 "$(psql -X -At -d postgres -c 'SHOW data_directory')/postmaster.pid")
  grep -q asan "/proc/$pid/maps" || { echo "the ASan runtime is not loaded in the postmaster" >&2; exit 1; }
  psql -X -At -d postgres -c "CREATE EXTENSION correlate; DROP EXTENSION correlate" >/dev/null
  if [ $# -gt 0 ]; then
    make -s installcheck REGRESS="$*" 2>&1 | tee "$logs/installcheck.log"
    status=${PIPESTATUS[0]}
  else
    bash test/run_all.sh; status=$?
  fi
  ;;
valgrind)
  datadir=$(psql -X -At -d postgres -c 'SHOW data_directory')
  pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" stop -m fast
  # --error-limit=no: keep counting; --show-leak-kinds=definite: memory contexts are
  # "still reachable" from TopMemoryContext at exit and are not leaks.
  runuser -u postgres -- nice -n 10 valgrind --quiet --trace-children=yes --track-origins=yes \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-limit=no \
    --num-callers=30 --read-var-info=no --suppressions="$PWD/test/mem/valgrind.supp" \
    --log-file="$logs/vg.%p" \
    "/usr/lib/postgresql/$CLUSTER_VERSION/bin/postgres" -D "$conf" >"$logs/server.log" 2>&1 &
  for _ in $(seq 1 300); do pg_isready -q -d postgres && break; sleep 1; done
  pg_isready -d postgres || { cat "$logs/server.log"; exit 1; }
  t0=$SECONDS
  make -s installcheck REGRESS="$*" 2>&1 | tee "$logs/installcheck.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { status=1; [ -f regression.diffs ] && head -100 regression.diffs; }
  echo "# $# tests under valgrind in $((SECONDS - t0)) s: $*"
  runuser -u postgres -- "/usr/lib/postgresql/$CLUSTER_VERSION/bin/pg_ctl" -D "$datadir" -m fast -w -t 600 stop >/dev/null
  sleep 2   # the last processes write their leak summaries at exit
  pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" start
  ;;
*) echo "usage: $0 asan | valgrind TEST..." >&2; exit 2 ;;
esac

# Reports that name our code.  A valgrind log holds one record per error, separated by
# blank lines ("==PID== " prefixes); ASan/UBSan logs likewise.
# A frame of ours names correlate.so (unsymbolised), a path under src/ (ASan, UBSan) or
# one of our source files (valgrind prints "fn (file.c:LINE)").
ours=$logs/ours.txt
: >"$ours"
files=$(find src -name '*.c' -printf '%f\n' | sed 's/\./\\./' | paste -sd'|')
for f in "$logs"/vg.* "$logs"/asan.* "$logs"/ubsan.*; do
  [ -s "$f" ] || continue
  re="correlate\\.so|src/[a-z_/]+\\.[ch]:|\\(($files):[0-9]+\\)" awk -v RS='' -v f="$(basename "$f")" \
    '$0 ~ ENVIRON["re"] {print "== " f; print; print ""}' \
    <(sed -E 's/^==[0-9]+== ?//; s/^[0-9]+: ?//' "$f") >>"$ours"
done
procs=$(ls "$logs" | grep -c '^vg\.\|^asan\.\|^ubsan\.' || true)
all=$(cat "$logs"/vg.* "$logs"/asan.* "$logs"/ubsan.* 2>/dev/null | grep -cE '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Source and dest|Mismatched)|definitely lost in|ERROR: AddressSanitizer|runtime error:' || true)
n=$(grep -c '^== ' "$ours" || true)
echo "# $mode: $procs process logs, $all reports in all, $n in our code (logs in $logs)"
if [ "$n" -gt 0 ]; then
  head -400 "$ours"
  status=1
fi
exit $status
