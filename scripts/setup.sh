#!/usr/bin/env bash
# Installs the system programs that the local API and the test suite run for real:
# PostgreSQL server binaries (embedded database, primary + streaming replica in tests)
# and redis-server. Does nothing when they are already there, so it is cheap to repeat.
set -euo pipefail

missing=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if ! command -v initdb >/dev/null 2>&1 && [ -z "$pg_bin" ]; then
  missing+=(postgresql)
elif [ -n "$pg_bin" ] && [ ! -x "$pg_bin/pg_basebackup" ] && ! command -v pg_basebackup >/dev/null 2>&1; then
  missing+=(postgresql-client)
fi
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: PostgreSQL and redis-server are installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: please install ${missing[*]} with your package manager (no apt-get here)" >&2
  exit 1
fi
echo "setup: installing ${missing[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged services; the project runs its own instances on free ports instead.
$sudo sh -c 'command -v service >/dev/null && { service redis-server stop; service postgresql stop; } >/dev/null 2>&1 || true'
echo "setup: installed ${missing[*]}"
