#!/usr/bin/env bash
# Installs the Debian packages Vigil needs to build, test and run its demo.
# Idempotent: it only calls apt-get when a package is missing.
set -euo pipefail

PACKAGES=(
  make gcc clang llvm pkg-config
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libnng-dev libsqlite3-dev sqlite3 libzstd-dev
  libprotobuf-c-dev protobuf-c-compiler
  libjson-c-dev libconfig-dev libvirt-dev libvirt-clients libxml2-dev libcsv-dev
  libcmocka-dev libclang-rt-14-dev liburing-dev
  procps iproute2
  python3 jq  # the integration tests read vigilctl's JSON
  libvirt-daemon-system qemu-system-x86 qemu-utils busybox-static cpio
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'sudo make deps' (needs root for apt-get)" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
