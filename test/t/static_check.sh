#!/usr/bin/env bash
# The static checks of the install script and the installed catalog (test/static/check.sh):
# no CREATE OR REPLACE / IF NOT EXISTS, no grant to PUBLIC, every SECURITY DEFINER function
# pinned and calling nothing unqualified outside pg_catalog.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/static/check.sh
