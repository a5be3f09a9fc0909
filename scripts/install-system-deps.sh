#!/usr/bin/env bash
# Installs the Debian packages Alza needs, only those that are missing: the C libraries it links (libsodium,
# liblz4 with lz4frame.h), the lz4 command (interop tests and benchmarks), pkg-config (SwiftPM finds the C
# libraries through it) and iproute2 (network-namespace testnets). Uses sudo when not root.
set -euo pipefail
packages=(libsodium-dev liblz4-dev lz4 pkg-config iproute2)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing missing packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
