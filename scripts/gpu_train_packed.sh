#!/usr/bin/env bash
# scripts/gpu_train.sh for a remote machine whose results come back through a narrow channel (at
# most 8 files of at most 16 MiB each): trains in a scratch folder, then leaves in $OUT only
#   console.log  model.part.00 model.part.01 ...  model.sha256  eval.json  contact_sheet.png
#   logs.tgz (every log, metrics.jsonl, profile_dyn.txt, collapse_strip.png)
#   throughput.jsonl (with THROUGHPUT_VARIANTS: the trainer's step timed per variant)
# Reassemble on the other side:
#   cat model.part.* > models/default.safetensors && sha256sum -c model.sha256 (run in that folder)
# Env as for gpu_train.sh (CONFIG, BUDGET, DEADLINE, RESUME_FROM, PYTHON, JOBS, EVAL); SCRATCH (/tmp/g).
set -uo pipefail
cd "$(dirname "$0")/.."
FINAL=${OUT:?set OUT to the folder that comes back}
SCRATCH=${SCRATCH:-/tmp/g}
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH" "$FINAL"
export PYTHONUNBUFFERED=1 PYTHONFAULTHANDLER=1
OUT="$SCRATCH" bash scripts/gpu_train.sh > "$FINAL/console.log" 2>&1
cd "$SCRATCH"
if [ -f default.safetensors ]; then
  split -b 15000000 -d default.safetensors "$FINAL/model.part."
  sha256sum default.safetensors > "$FINAL/model.sha256"
fi
cp eval/eval.json eval/contact_sheet.png throughput.jsonl "$FINAL/" 2>/dev/null
tar czf "$FINAL/logs.tgz" ./*.log metrics.jsonl machine.txt profile_dyn.txt eval/collapse_strip.png 2>/dev/null
tail -n 30 "$FINAL/console.log"
