#!/usr/bin/env bash
# Sets everything up, then runs every test (pg_regress, isolation, shell/TAP) on a
# throwaway PostgreSQL 15 cluster with pg_cron preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec pg_virtualenv -v 15 -o shared_preload_libraries=pg_cron -o cron.use_background_workers=on -o max_worker_processes=32 \
  bash test/run_all.sh
