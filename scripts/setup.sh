#!/usr/bin/env bash
# Prepares this machine for the test suite and the local API, then prints the PATH to run them with:
#
#   PATH="$(./scripts/setup.sh)" && npm ci && npm test
#
# 1. Node: the major that .nvmrc names (the CI jobs, the image and `engines` use the same one). When
#    `node` is another major, the official build of that major is installed from the npm registry
#    (the node-<os>-<arch> packages carry nodejs.org's binaries) into a cache folder, and the printed
#    PATH starts with it. npm itself stays the machine's one; it runs on whichever node is first.
# 2. The programs the local API and the tests run for real: PostgreSQL server binaries (primary +
#    streaming replica in tests) and redis-server, installed with apt-get only when missing.
# Cheap to repeat: nothing is downloaded when everything is there. Messages go to stderr, stdout
# carries only the PATH; on failure that is the unchanged PATH, so the caller's shell keeps working.
set -euo pipefail
cd "$(dirname "$0")/.."

exec 3>&1 1>&2
path_for_caller=$PATH
download=""
trap 'printf "%s\n" "$path_for_caller" >&3; [ -z "$download" ] || rm -rf "$download"' EXIT

node_major=$(tr -d ' \nv' < .nvmrc)
major_of() { "$1" --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }

case "$(uname -s)" in
  Linux) node_os=linux ;;
  Darwin) node_os=darwin ;;
  *) echo "setup: no Node build on the npm registry for $(uname -s); install Node ${node_major}" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) node_arch=x64 ;;
  aarch64 | arm64) node_arch=arm64 ;;
  *) echo "setup: no Node build on the npm registry for $(uname -m); install Node ${node_major}" >&2; exit 1 ;;
esac
node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/items-api/node-${node_major}-${node_os}-${node_arch}"

node_source=""
if [ "$(major_of node)" = "$node_major" ]; then
  echo "setup: Node $(node --version) is on PATH"
elif [ "$(major_of "$node_dir/bin/node")" = "$node_major" ]; then
  node_source=cached
else
  node_source=registry
fi

missing=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if ! command -v initdb >/dev/null 2>&1 && [ -z "$pg_bin" ]; then
  missing+=(postgresql)
elif [ -n "$pg_bin" ] && [ ! -x "$pg_bin/pg_basebackup" ] && ! command -v pg_basebackup >/dev/null 2>&1; then
  missing+=(postgresql-client)
fi
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Linux builds of Node 26 and later link libatomic.so.1, which slim Debian images lack.
if [ "$node_os" = linux ] && [ -n "$node_source" ] && ! ldconfig -p 2>/dev/null | grep -q 'libatomic\.so\.1 '; then
  missing+=(libatomic1)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: PostgreSQL and redis-server are installed"
else
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
fi

if [ "$node_source" = registry ]; then
  package="node-${node_os}-${node_arch}@${node_major}"
  echo "setup: node is $(node --version 2>/dev/null || echo missing), .nvmrc asks for ${node_major}: installing ${package} into ${node_dir}"
  download=$(mktemp -d)
  tarball=$(cd "$download" && npm pack "$package" --loglevel=error)
  tar -xzf "$download/$tarball" -C "$download"
  rm -rf "$node_dir"
  mkdir -p "$(dirname "$node_dir")"
  mv "$download/package" "$node_dir"
fi
if [ -n "$node_source" ]; then
  [ "$(major_of "$node_dir/bin/node")" = "$node_major" ] || {
    echo "setup: $node_dir/bin/node does not run as Node ${node_major}" >&2
    exit 1
  }
  echo "setup: Node $("$node_dir/bin/node" --version) from ${node_dir} comes first on the printed PATH"
  path_for_caller="$node_dir/bin:$PATH"
fi
