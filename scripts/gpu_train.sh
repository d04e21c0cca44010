#!/usr/bin/env bash
# The real training run on one CUDA GPU, inside ~9.5 minutes of wall time on a bare machine
# (CMake, a C++ compiler, Python with PyTorch + numpy; no Node, SDL or network):
#   1. build the C++ core + libworldloop.so (ground-truth world for data, engine for parity)
#   2. python3 -m train all --config $CONFIG --time-budget $BUDGET  (autoencoder, then denoiser)
#   3. export $OUT/default.safetensors (BF16 weights)
#   4. a quick eval against held-out worlds if time remains, then re-export with its numbers
# Every stage runs under `timeout`; training stops cleanly on SIGTERM (final checkpoint), so
# $OUT always keeps the checkpoints, metrics.jsonl and logs even when something overruns.
#
# Env: OUT (default ./gpu-out), CONFIG (gpu), BUDGET (training seconds, default 400),
#      DEADLINE (seconds for the whole script, default 560), PYTHON (python3), JOBS (16),
#      RESUME_FROM (continue from a model file such as models/default.safetensors, or from a
#      previous run's resume/ directory; the autoencoder is kept, the denoiser trains on),
#      RESUME_AE_ONLY (1 = from a RESUME_FROM model file take the autoencoder only and train a
#      fresh denoiser in the config's shape, e.g. TRAIN_SET="--set dyn.predicts=residual"),
#      TRAIN_SET (extra config overrides for every train command, e.g. "--set dyn.lr=2e-4"),
#      PROFILE_STEPS (denoiser steps profiled into run/profile_dyn.txt; default 0 = off: on the
#      H200 run 5, 20 profiled steps cost ~65 s of the training budget, mostly the report),
#      EVAL (1 = eval on the GPU when time remains; 0 = skip it and give that time to training,
#      then evaluate the returned model elsewhere),
#      THROUGHPUT_VARIANTS (e.g. "eager,nhwc,compile+nhwc,graphs+nhwc": before training, time the
#      trainer's step in each variant, `train bench-step`, one process and at most
#      THROUGHPUT_TIMEOUT seconds (90) each, THROUGHPUT_SECONDS (8) timed; results in
#      throughput.jsonl; the fastest variant's overrides join TRAIN_SET and the training budget
#      shrinks to what the deadline leaves).
# Smoke test on a CPU machine:
#   CONFIG=smoke BUDGET=20 OUT=/tmp/out-train PYTHON=/usr/bin/python3 bash scripts/gpu_train.sh
set -uo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
OUT=${OUT:-$PWD/gpu-out}
CONFIG=${CONFIG:-gpu}
BUDGET=${BUDGET:-400}
DEADLINE=${DEADLINE:-560}
PYTHON=${PYTHON:-python3}
JOBS=${JOBS:-16}
PROFILE_STEPS=${PROFILE_STEPS:-0}
EVAL=${EVAL:-1}
read -r -a SET_ARGS <<< "${TRAIN_SET:-}"
BUILD=${BUILD:-build-gpu}
mkdir -p "$OUT/run"
LOG="$OUT/gpu_train.log"
exec > >(tee -a "$LOG") 2>&1

elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( DEADLINE - $(elapsed) )); }
say() { echo "[gpu_train $(elapsed)s] $*"; }

say "config=$CONFIG budget=${BUDGET}s deadline=${DEADLINE}s out=$OUT"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
  "$PYTHON" -c 'import torch,sys; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-"); print("python", sys.version.split()[0])'
  nproc; } | tee "$OUT/machine.txt"

# 1. Native build: only the shared library (world + engine); no SDL, CUDA, tests or benches.
# The library must use the system libstdc++ that PyTorch's process already has loaded: a compiler
# that links its own libstdc++ statically (seen: CXX=/opt/gcc/bin/g++ on the GPU image) gives a .so
# whose iostreams crash once torch is imported. So prefer the system compiler when there is one.
if [ -x /usr/bin/g++ ] && [ -x /usr/bin/gcc ]; then export CXX=/usr/bin/g++ CC=/usr/bin/gcc; fi
unset LDFLAGS CXXFLAGS CFLAGS
say "building libworldloop.so"
if ! timeout 240 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWL_SDL=OFF -DWL_CUDA=OFF \
      -DWL_TESTS=OFF -DWL_BENCH=OFF > "$OUT/build.log" 2>&1 ||
   ! timeout 300 cmake --build "$BUILD" -j "$JOBS" --target worldloop >> "$OUT/build.log" 2>&1; then
  say "native build FAILED (see build.log)"; tail -n 30 "$OUT/build.log"; exit 1
fi
LIB=$(find "$BUILD" -name 'libworldloop.so' | head -n 1)
export WL_LIB="$(realpath "$LIB")"
say "built $WL_LIB"

# 1b. Throughput check: which trainer path is fastest on this card (issue 17, must-have 5).
if [ -n "${THROUGHPUT_VARIANTS:-}" ]; then
  IFS=, read -r -a VARIANTS <<< "$THROUGHPUT_VARIANTS"
  for v in "${VARIANTS[@]}"; do
    say "throughput check: $v"
    timeout -s TERM -k 5 "${THROUGHPUT_TIMEOUT:-90}" "$PYTHON" -m train bench-step \
      --config "$CONFIG" "${SET_ARGS[@]}" --variants "$v" --rounds 1 \
      --seconds "${THROUGHPUT_SECONDS:-8}" --out "$OUT/throughput.jsonl" >> "$OUT/throughput.log" 2>&1 \
      || say "variant $v failed or ran out of time (throughput.log)"
  done
  if PICKED=$("$PYTHON" -m train bench-step --pick "$OUT/throughput.jsonl" 2>> "$OUT/throughput.log"); then
    tail -n 1 "$OUT/throughput.log"
    read -r -a PICKED_ARGS <<< "$PICKED"
    SET_ARGS+=("${PICKED_ARGS[@]}")
    say "training with: ${SET_ARGS[*]}"
  else
    say "no variant measured; training on the default path"
  fi
  # An allowance, not a measurement: the training's start-up (pool fill; compilation in the
  # compile variants), the final checkpoint, export and packing. Run 5, without compilation,
  # spent 46 s of its 516 s call outside its training budget.
  FIT=$(( $(left) - 150 ))
  if (( BUDGET > FIT )); then BUDGET=$FIT; say "training budget now ${BUDGET}s"; fi
fi

# Continue from an earlier run: a model file (e.g. models/default.safetensors, weights only) or a
# run/resume directory with ckpt/*-latest.pt. The autoencoder is then kept and the whole budget
# goes to the denoiser.
if [ -n "${RESUME_FROM:-}" ]; then
  if [ -f "$RESUME_FROM" ]; then
    say "continuing from model file $RESUME_FROM"
    AE_ONLY=()
    if [ "${RESUME_AE_ONLY:-0}" = 1 ]; then AE_ONLY=(--autoencoder-only); fi
    timeout 120 "$PYTHON" -m train import-model --config "$CONFIG" "${SET_ARGS[@]}" \
      --out "$OUT/run" --model "$RESUME_FROM" --force "${AE_ONLY[@]}" || { say "import FAILED"; exit 1; }
  elif [ -d "$RESUME_FROM/ckpt" ]; then
    say "resuming from $RESUME_FROM"
    mkdir -p "$OUT/run/ckpt"
    for f in "$RESUME_FROM"/ckpt/*-latest.pt; do
      [ -e "$OUT/run/ckpt/$(basename "$f")" ] || cp "$f" "$OUT/run/ckpt/"
    done
  else
    say "RESUME_FROM=$RESUME_FROM is neither a model file nor a directory with ckpt/"; exit 1
  fi
fi

# 2. Training. The budget is the training loop's own clock; the timeout adds room for start-up
#    (CUDA init, first pool fill) and the final checkpoint, and never passes the deadline.
T_TRAIN=$(( BUDGET + 60 ))
if (( T_TRAIN > $(left) - 40 )); then T_TRAIN=$(( $(left) - 40 )); fi
say "training for ${BUDGET}s (timeout ${T_TRAIN}s)"
EXTRA=("${SET_ARGS[@]}")
if [ -n "${RESUME_FROM:-}" ]; then EXTRA+=(--skip-ae-if-trained); fi
if (( PROFILE_STEPS > 0 )); then EXTRA+=(--profile-steps "$PROFILE_STEPS"); fi
timeout -s TERM -k 30 "$T_TRAIN" "$PYTHON" -m train all --config "$CONFIG" \
  --time-budget "$BUDGET" --out "$OUT/run" "${EXTRA[@]}" > "$OUT/train.log" 2>&1
rc=$?
tail -n 5 "$OUT/train.log"
say "training exit code $rc"
cp "$OUT/run/metrics.jsonl" "$OUT/metrics.jsonl" 2>/dev/null || true
cp "$OUT/run/profile_dyn.txt" "$OUT/profile_dyn.txt" 2>/dev/null && head -n 12 "$OUT/profile_dyn.txt"

# 3. Export whatever the run has (EMA denoiser + autoencoder), BF16.
say "exporting"
timeout 120 "$PYTHON" -m train export --config "$CONFIG" "${SET_ARGS[@]}" --out "$OUT/run" \
  --model "$OUT/default.safetensors" --dtype BF16 > "$OUT/export.log" 2>&1 \
  || { say "export FAILED"; cat "$OUT/export.log"; exit 1; }
cat "$OUT/export.log"

# 4. Quick eval when time remains (GPU, engine parity through the freshly built library).
if [ "$EVAL" = 0 ]; then
  say "eval skipped (EVAL=0)"
elif (( $(left) > 45 )); then
  T_EVAL=$(( $(left) - 20 ))
  # The full eval (2,000-frame collapse check) takes ~2 minutes on an H100; quick otherwise.
  QUICK=--quick
  if (( $(left) > 200 )); then QUICK=""; fi
  say "eval ${QUICK:-(full)} (timeout ${T_EVAL}s)"
  if timeout -s TERM -k 5 "$T_EVAL" "$PYTHON" -m train eval --config "$CONFIG" "${SET_ARGS[@]}" \
       --model "$OUT/default.safetensors" --out "$OUT/eval" $QUICK --engine-lib "$WL_LIB" \
       > "$OUT/eval.log" 2>&1; then
    tail -n 12 "$OUT/eval.log"
    timeout 60 "$PYTHON" -m train export --config "$CONFIG" "${SET_ARGS[@]}" --out "$OUT/run" \
      --model "$OUT/default.safetensors" --dtype BF16 --eval-json "$OUT/eval/eval.json" \
      >> "$OUT/export.log" 2>&1 && say "re-exported with eval numbers"
  else
    say "eval did not finish (see eval.log)"; tail -n 5 "$OUT/eval.log"
  fi
else
  say "no time left for eval"
fi
# Slim resume state for the next GPU session: one copy of the weights (the denoiser's EMA), no
# optimiser moments — small enough to carry to a fresh machine; resuming re-warms the optimiser.
"$PYTHON" - "$OUT/run" "$OUT/resume" <<'EOF' || true
import os, sys, torch
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(dst, "ckpt"), exist_ok=True)
for st in ("ae", "dyn"):
    p = os.path.join(src, "ckpt", f"{st}-latest.pt")
    if os.path.isfile(p):
        s = torch.load(p, map_location="cpu")
        s["optimizer"] = None
        if s.get("ema") is not None:
            s["model"], s["ema"] = s["ema"], None
        torch.save(s, os.path.join(dst, "ckpt", f"{st}-latest.pt"))
EOF
ls -la "$OUT" "$OUT/resume/ckpt" 2>/dev/null
say "done"
