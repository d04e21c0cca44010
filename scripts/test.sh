#!/usr/bin/env bash
# The whole test suite: C++ tests (ctest), Python training tests, the TypeScript tests (vitest)
# inside a virtual X server so real SDL windows can open, then the lint and format checks.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== C++ tests (ctest)"
ctest --test-dir build --output-on-failure -j 2

echo "== AArch64 NEON kernels: op and golden tests, cross-compiled, under qemu-user (scripts/test_arm.sh)"
bash scripts/test_arm.sh

if [ -d train/tests ]; then
  echo "== Python tests (train/)"
  /usr/bin/python3 -m unittest discover -s train/tests -t . -v 2>&1 | tail -n 40
  test "${PIPESTATUS[0]}" -eq 0
fi

echo "== TypeScript tests (vitest under xvfb-run)"
xvfb-run -a -s "-screen 0 1280x1024x24" npx vitest run "$@"

echo "== Lint (scripts/lint.sh: ESLint, clang-format, pyflakes)"
bash scripts/lint.sh
