#!/usr/bin/env bash
# Installs what correlate needs on Debian 12 (as root), then builds and installs the extension.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-contrib libjson-c-dev libyaml-dev postgresql-15-cron
          postgresql-15-pgrouting libipc-run-perl faketime make gcc chromium python3-yaml"

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh installs Debian packages and must run as root" >&2
  exit 1
fi
# CORRELATE_SKIP_APT=1 (development only): the packages are known to be there; build and install.
if [ -z "${CORRELATE_SKIP_APT:-}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null
fi

make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config install >/dev/null
echo "correlate built and installed into $(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)"
