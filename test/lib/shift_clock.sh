# Sourced by test/run_all.sh when CORRELATE_TEST_CLOCK is set: restarts the test cluster
# (the one pg_virtualenv made, at $PGPORT) with its clock moved to that time, so every
# server process (backends, pg_cron's scheduler and workers) runs years ahead while the
# clock still ticks. Date bombs (answers that hold only near the day a test was written)
# then fail the day they are written.
#
# How: libfaketime (Debian `faketime`) preloaded into the postmaster with a *relative*
# offset in seconds. pg_ctlcluster starts the server with an environment made only of the
# cluster's `environment` file, so that is where LD_PRELOAD and FAKETIME go (variables
# exported to pg_virtualenv never reach the server). An absolute FAKETIME (a frozen
# clock) is not used: timeouts and waits never elapse under it.
. test/lib/cluster.sh
shift_clock() {
  local target=$1 lib offset conf year want
  lib=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime\.so\.1$') \
    || { echo "libfaketime is not installed (apt-get install faketime)" >&2; return 1; }
  offset=$(( $(date -u -d "$target" +%s) - $(date -u +%s) ))
  conf=${PG_CLUSTER_CONF_ROOT:-/etc/postgresql}/$CLUSTER_VERSION/$CLUSTER_NAME
  pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" stop -m fast
  sed -i '/^LD_PRELOAD\|^FAKETIME\|^FAKETIME_/d' "$conf/environment"
  printf "LD_PRELOAD = '%s'\nFAKETIME = '%+d'\nFAKETIME_DONT_FAKE_MONOTONIC = '1'\n" "$lib" "$offset" >>"$conf/environment"
  pg_ctlcluster "$CLUSTER_VERSION" "$CLUSTER_NAME" start
  # Prove the server's clock moved: the run means nothing otherwise.
  want=$(date -u -d "$target" +%Y)
  year=$(psql -X -A -t -d postgres -c "SELECT extract(year FROM now() AT TIME ZONE 'UTC')::int")
  [ "$year" = "$want" ] || { echo "server clock did not move to $target (server says year $year)" >&2; return 1; }
  echo "server clock moved to $(psql -X -A -t -d postgres -c "SELECT now() AT TIME ZONE 'UTC'") UTC (offset ${offset}s)"
}
