#!/usr/bin/env bash
# Sets everything up, then runs the seed-scenario demo on a throwaway PostgreSQL 15 cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec pg_virtualenv -v 15 -o shared_preload_libraries=pg_cron,correlate \
  psql -X -q -v ON_ERROR_STOP=1 -f scripts/demo.sql
