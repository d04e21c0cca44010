#!/usr/bin/env bash
# Installs everything worldloop needs on Debian/Ubuntu and builds it:
#   Debian packages (only those missing), npm packages, the native build (core, C++ tests,
#   benchmarks, addon) and the TypeScript build (with the browser page, dist/web). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(cmake g++ make pkg-config libsdl2-dev xvfb xauth ffmpeg python3 python3-numpy python3-torch
              clang-format python3-pyflakes g++-aarch64-linux-gnu qemu-user chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "setup: npm packages"
# onnxruntime-node (the CPU baseline in `npm run bench`) ships its CPU binaries in the package; its
# install script only downloads optional GPU providers, which needs a network we may not have.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

echo "setup: native build (cmake-js) and TypeScript"
npm run build
echo "setup: done"
