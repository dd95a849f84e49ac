#!/usr/bin/env bash
# Regenerates the pictures under docs/img/ from the seed scenario, on a throwaway
# PostgreSQL 15 cluster (the extension must be installed: scripts/setup.sh).
# With chromium installed it also screenshots the incident report page.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/img
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
pg_virtualenv -v 15 -o shared_preload_libraries=pg_cron,correlate \
  psql -X -q -v ON_ERROR_STOP=1 -v out="$out" -v tmp="$tmp" -f scripts/pictures.sql
if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1440,1500 \
    --screenshot="$out/seed-incident-report.png" "file://$tmp/seed-incident-report.html" >/dev/null 2>&1
fi
ls -1 "$out"/seed-*
