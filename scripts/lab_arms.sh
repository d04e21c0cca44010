#!/usr/bin/env bash
# The proxy lab's standard comparison (docs/lab.md): builds the set if missing, trains each arm
# from scratch for the same number of steps, micro-evals it, and prints the table.
#   STEPS=3000 ARMS="base residual residual_sampled sampled" SEEDS_BASE="0 1" bash scripts/lab_arms.sh
# The baseline runs once per seed in SEEDS_BASE: the spread between those runs is the noise floor
# below which a difference between arms decides nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
SET=${SET:-runs/lab/set}
OUT=${OUT:-runs/lab/arms}
STEPS=${STEPS:-3000}
ARMS=${ARMS:-"base residual residual_sampled sampled"}
SEEDS_BASE=${SEEDS_BASE:-"0 1"}
[ -f "$SET/meta.json" ] || $PY -m train lab-build --out "$SET"
for arm in $ARMS; do
  if [ "$arm" = base ]; then
    for s in $SEEDS_BASE; do
      $PY -m train lab-train --arm base --seed "$s" --steps "$STEPS" --set-dir "$SET" --out "$OUT/base_s$s"
    done
  else
    $PY -m train lab-train --arm "$arm" --steps "$STEPS" --set-dir "$SET" --out "$OUT/$arm"
  fi
done
$PY -m train lab-compare "$OUT"/* --json "$OUT/compare.json"
