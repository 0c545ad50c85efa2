#!/usr/bin/env bash
# Installs the Debian 12 packages that factum needs to build, test and run its
# examples, and to fuzz it (clang with libFuzzer). Idempotent: when every
# package is installed it changes nothing and runs no apt-get at all;
# otherwise `apt-get update` once, then installs only the missing ones.
# Run as root (or as a user who may use sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libsqlite3-dev sqlite3 libspdlog-dev libfmt-dev
  catch2 libboost-dev libbenchmark-dev e2fsprogs python3 python3-prometheus-client
  libpq-dev postgresql-15
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

as_root=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || {
    echo "install-deps: missing ${missing[*]}; run me as root" >&2
    exit 1
  }
  as_root=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
