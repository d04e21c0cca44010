#!/usr/bin/env bash
# Lint and format checks, run by scripts/test.sh before the tests (and on their own: bash scripts/lint.sh).
#   ESLint (eslint.config.js: typescript-eslint's recommended rules, no `any`, no stale
#     eslint-disable comments) over src/, bench/, test/, bin/.
#   No import cycles in src/ (scripts/import_cycles.js; type-only imports count too).
#   clang-format (.clang-format) over native/: every C++/CUDA file except the ones listed in
#     scripts/clang-format-legacy.txt, which predate the config.
#   pyflakes over train/ (unused imports and variables, undefined names). Debian has no ruff
#     package, so pyflakes stands in for it; it checks no formatting.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

echo "== lint: ESLint"
npx eslint --max-warnings 0 . || fail=1

echo "== lint: TypeScript of the page (tsconfig.web.json: DOM + @webgpu/types, src/web/)"
npx tsc -p tsconfig.web.json || fail=1

echo "== lint: import cycles (src/)"
node scripts/import_cycles.js src || fail=1

echo "== lint: clang-format (native/)"
if command -v clang-format >/dev/null; then
  legacy=scripts/clang-format-legacy.txt
  bad=()
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    if grep -qxF "$f" "$legacy"; then continue; fi
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then bad+=("$f"); fi
  done < <(git ls-files --cached --others --exclude-standard -- 'native/*.cc' 'native/*.h' 'native/*.cu' 'native/*.cuh')
  if ((${#bad[@]})); then
    echo "not clang-formatted (fix with: clang-format -i ${bad[*]}):"
    printf '  %s\n' "${bad[@]}"
    fail=1
  fi
else
  echo "clang-format is not installed (Debian package clang-format; scripts/setup.sh installs it)"
  fail=1
fi

echo "== lint: pyflakes (train/)"
if /usr/bin/python3 -c 'import pyflakes' 2>/dev/null; then
  /usr/bin/python3 -m pyflakes train || fail=1
else
  echo "pyflakes is not installed (Debian package python3-pyflakes; scripts/setup.sh installs it)"
  fail=1
fi

exit $fail
