#!/usr/bin/env bash
# AArch64 (NEON) check on an x86 machine: cross-compiles the core library and the op, golden and
# reprojection tests with Debian's aarch64 cross compiler, then runs them under qemu-user (user-mode
# emulation: correctness only, its timings say nothing about ARM hardware). Skips, saying why,
# when the cross tools are missing (scripts/setup.sh installs them). Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

CXX_CROSS=aarch64-linux-gnu-g++
CC_CROSS=aarch64-linux-gnu-gcc
QEMU=qemu-aarch64
SYSROOT=/usr/aarch64-linux-gnu
if [ "$(uname -m)" = aarch64 ]; then
  echo "arm: native AArch64 machine: the main ctest run already covers the NEON kernels"
  exit 0
fi
missing=()
command -v "$CXX_CROSS" >/dev/null || missing+=("$CXX_CROSS (package g++-aarch64-linux-gnu)")
command -v "$QEMU" >/dev/null || missing+=("$QEMU (package qemu-user)")
if ((${#missing[@]})); then
  echo "arm: SKIPPED: the AArch64 NEON tests need ${missing[*]}; install with scripts/setup.sh"
  exit 0
fi

BUILD=${WL_ARM_BUILD:-build-aarch64}
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
    -DCMAKE_C_COMPILER="$CC_CROSS" -DCMAKE_CXX_COMPILER="$CXX_CROSS" \
    -DCMAKE_FIND_ROOT_PATH="$SYSROOT" -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
    -DWL_CUDA=OFF -DWL_SDL=OFF -DWL_BENCH=OFF >/dev/null
fi
cmake --build "$BUILD" -j 2 --target test_ops test_goldens test_reproject

export QEMU_LD_PREFIX=$SYSROOT
for t in test_ops test_goldens; do
  echo "arm: $t under $QEMU"
  "$QEMU" "$BUILD/tests/$t"
done
# The reprojection ops' fast and ref must stay bit-identical where the compiler may fuse
# multiply-adds (AArch64 has FMA in its baseline; the files are built with -ffp-contract=off).
echo "arm: test_reproject (fast vs ref) under $QEMU"
"$QEMU" "$BUILD/tests/test_reproject" bit_identical
