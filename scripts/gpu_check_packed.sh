#!/usr/bin/env bash
# scripts/gpu_check.sh for a remote machine whose results come back through a narrow channel (at
# most 8 files): runs the check in a scratch folder, then leaves in $OUT only
#   summary.txt  bench_summary.json  cuda_tests.log  gpu_check.tgz (every log and JSONL file)
# (gpu_check.sh alone writes ~20 files; the channel then drops all but 8, the test logs first.)
# Env as for gpu_check.sh (WL_GPU_BUDGET_S, WL_GPU_SKIP_BUILD, WL_GPU_BUILD_DIR, WL_GPU_COMPILE,
# PYTHON, CMAKE_CUDA_ARCHITECTURES); SCRATCH (/tmp/wl-gpu-check-out).
set -uo pipefail
cd "$(dirname "$0")/.."
FINAL=${OUT:?set OUT to the folder that comes back}
SCRATCH=${SCRATCH:-/tmp/wl-gpu-check-out}
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH" "$FINAL"
OUT="$SCRATCH" bash scripts/gpu_check.sh
rc=$?
cp "$SCRATCH/summary.txt" "$FINAL/" 2>/dev/null
cp "$SCRATCH/bench_summary.json" "$FINAL/" 2>/dev/null
cat "$SCRATCH/test_cuda_ops.log" "$SCRATCH/test_cuda_model.log" > "$FINAL/cuda_tests.log" 2>/dev/null
tar czf "$FINAL/gpu_check.tgz" -C "$SCRATCH" .
exit $rc
