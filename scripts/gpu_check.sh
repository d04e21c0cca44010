#!/usr/bin/env bash
# One run on a GPU machine for the CUDA backend: build (plain CMake, no Node, no SDL), the CUDA op
# tests and goldens, then the benchmarks — the engine (bench_cuda) and PyTorch (train/bench_torch.py)
# on the same exported weights — with everything written under $OUT:
#   summary.txt            what ran, exit codes, seconds, and the engine-vs-PyTorch table
#   steps.jsonl            one line per step: {"step","rc","seconds","limit_s"}
#   env.txt                GPU (nvidia-smi), nvcc / cmake / g++ / torch versions
#   <step>.log             full output of each step
#   bench_cuda.jsonl       engine JSON lines;   bench_torch.jsonl   PyTorch JSON lines
#   bench_profile.jsonl    engine time per op kind (events around every op, graphs off)
#   bench_summary.json     speedups and targets per model and batch
# Every step runs under `timeout`, capped by what is left of the total budget
# (WL_GPU_BUDGET_S, default 300 s), so a hang cannot eat the GPU time.
#
#   OUT=/some/dir bash scripts/gpu_check.sh
#   DRY_RUN=1 WL_GPU_BUILD_DIR=/tmp/build-cuda bash scripts/gpu_check.sh   (no GPU: checks the
#       script itself with tiny settings; the GPU binaries print "skipped")
# Knobs: PYTHON (default python3, needs torch + numpy), WL_GPU_BUILD_DIR, WL_GPU_COMPILE=0 to skip
# the torch.compile baseline, CMAKE_CUDA_ARCHITECTURES (default 90), WL_GPU_SKIP_BUILD=1 to run
# binaries built elsewhere (copy tests/test_cuda_ops, tests/test_cuda_model, bench/bench_cuda of a
# CUDA build into WL_GPU_BUILD_DIR; they link the CUDA runtime statically).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

OUT=${OUT:-/tmp/wl-gpu-check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DRY_RUN=${DRY_RUN:-0}
BUDGET=${WL_GPU_BUDGET_S:-300}
BUILD=${WL_GPU_BUILD_DIR:-/tmp/wl-gpu-build}
PY=${PYTHON:-python3}
ARCH=${CMAKE_CUDA_ARCHITECTURES:-90}
JOBS=$(nproc 2>/dev/null || echo 4)
MODELS=$BUILD/bench-models
START=$(date +%s)

if [ "$DRY_RUN" = 1 ]; then
  FRAMES=3; WARMUP=1; TFRAMES=2; COMPILE=0
else
  FRAMES=200; WARMUP=20; TFRAMES=100; COMPILE=${WL_GPU_COMPILE:-1}
fi

: > "$OUT/summary.txt"
: > "$OUT/steps.jsonl"
elapsed() { echo $(( $(date +%s) - START )); }
log() { echo "[gpu_check +$(elapsed)s] $*" | tee -a "$OUT/summary.txt"; }

# step NAME LIMIT_S CMD... — runs CMD under timeout min(LIMIT_S, budget left), output in
# $OUT/NAME.log; returns CMD's status (124/137 = timed out).
step() {
  local name=$1 limit=$2
  shift 2
  # Every step but the final summary leaves 15 s of the budget for it.
  local reserve=15
  [ "$name" = bench_summary ] && reserve=0
  local left=$(( BUDGET - $(elapsed) - reserve ))
  if (( left < 5 )); then
    log "SKIP $name: total budget of ${BUDGET}s spent"
    echo "{\"step\":\"$name\",\"rc\":null,\"skipped\":true}" >> "$OUT/steps.jsonl"
    return 99
  fi
  (( limit > left )) && limit=$left
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=5 "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  local dt=$(( $(date +%s) - t0 ))
  local verdict=ok
  (( rc != 0 )) && verdict=FAILED
  (( rc == 124 || rc == 137 )) && verdict=TIMEOUT
  log "$verdict $name (rc=$rc, ${dt}s, limit ${limit}s)"
  tail -n 4 "$OUT/$name.log" | sed 's/^/    /' | tee -a "$OUT/summary.txt"
  echo "{\"step\":\"$name\",\"rc\":$rc,\"seconds\":$dt,\"limit_s\":$limit}" >> "$OUT/steps.jsonl"
  return $rc
}

log "start: dry_run=$DRY_RUN budget=${BUDGET}s build=$BUILD out=$OUT python=$PY arch=$ARCH jobs=$JOBS"

# ---- environment ----
{
  echo "== nvidia-smi"; timeout 20 nvidia-smi 2>&1 || echo "(nvidia-smi unavailable)"
  echo "== nvcc"; nvcc --version 2>&1 | tail -n 2
  echo "== cmake"; cmake --version 2>&1 | head -n 1
  echo "== c++"; c++ --version 2>&1 | head -n 1
  echo "== torch"; timeout 60 "$PY" -c 'import torch, numpy; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "numpy", numpy.__version__)' 2>&1
  echo "== git"; git -C "$ROOT" log --oneline -1 2>&1
} > "$OUT/env.txt" 2>&1
sed 's/^/    /' "$OUT/env.txt" | grep -E "NVIDIA|H100|H200|release|version|torch|cuda|^    [0-9a-f]{7}" | head -n 12 | tee -a "$OUT/summary.txt"

# ---- benchmark weights: exported while the engine builds (same files for engine and PyTorch) ----
mkdir -p "$MODELS"
(
  cd "$ROOT" &&
  timeout 120 "$PY" -m train.bench_torch export --config default --out "$MODELS/default.safetensors" &&
  timeout 120 "$PY" -m train.bench_torch export --config large --out "$MODELS/large.safetensors"
) > "$OUT/export_models.log" 2>&1 &
EXPORT_PID=$!

# ---- build (or, with WL_GPU_SKIP_BUILD=1, use binaries already in $BUILD/tests and $BUILD/bench) ----
if [ "${WL_GPU_SKIP_BUILD:-0}" = 1 ]; then
  BUILD_RC=0
  for b in tests/test_cuda_ops tests/test_cuda_model bench/bench_cuda; do
    if [ ! -x "$BUILD/$b" ]; then log "missing prebuilt $BUILD/$b"; BUILD_RC=1; fi
  done
  log "build skipped (WL_GPU_SKIP_BUILD=1): prebuilt binaries in $BUILD, rc=$BUILD_RC"
else
  GEN=()
  if command -v ninja > /dev/null 2>&1 && [ ! -f "$BUILD/Makefile" ]; then GEN=(-G Ninja); fi
  step configure 90 cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DWL_SDL=OFF \
    -DCMAKE_CUDA_ARCHITECTURES="$ARCH"
  grep -E "worldloop: CUDA backend" "$OUT/configure.log" | sed 's/^/    /' | tee -a "$OUT/summary.txt"
  step build 240 cmake --build "$BUILD" -j "$JOBS" --target test_cuda_ops test_cuda_model bench_cuda test_goldens
  BUILD_RC=$?
  if (( BUILD_RC != 0 )); then
    grep -E "error|Error" "$OUT/build.log" | head -n 20 | sed 's/^/    /' | tee -a "$OUT/summary.txt"
    # The CPU goldens test belongs to another part of the tree; do not let it block the CUDA run.
    step build_cuda_only 120 cmake --build "$BUILD" -j "$JOBS" --target test_cuda_ops test_cuda_model bench_cuda
    BUILD_RC=$?
  fi
fi

wait "$EXPORT_PID"
EXPORT_RC=$?
log "export_models rc=$EXPORT_RC: $(grep -c '"out"' "$OUT/export_models.log") model files"
tail -n 2 "$OUT/export_models.log" | sed 's/^/    /' | tee -a "$OUT/summary.txt"
echo "{\"step\":\"export_models\",\"rc\":$EXPORT_RC}" >> "$OUT/steps.jsonl"

# ---- correctness ----
if (( BUILD_RC == 0 )); then
  step test_cuda_ops 120 "$BUILD/tests/test_cuda_ops"
  grep -E "^(FAIL|  )" "$OUT/test_cuda_ops.log" | head -n 20 | sed 's/^/    /' | tee -a "$OUT/summary.txt"
  step test_cuda_model 120 env WL_FIXTURES="$ROOT/native/tests/fixtures" "$BUILD/tests/test_cuda_model"
  grep -E "normalised err|mean \|diff\||^FAIL" "$OUT/test_cuda_model.log" | head -n 30 | sed 's/^/    /' | tee -a "$OUT/summary.txt"
  if [ -x "$BUILD/tests/test_goldens" ]; then
    step test_goldens_cpu 90 env WL_FIXTURES="$ROOT/native/tests/fixtures" "$BUILD/tests/test_goldens"
  fi
fi

# ---- benchmarks: engine, then PyTorch, same weights ----
: > "$OUT/bench_cuda.jsonl"
: > "$OUT/bench_torch.jsonl"
if (( BUILD_RC == 0 && EXPORT_RC == 0 )); then
  step bench_cuda_default 100 "$BUILD/bench/bench_cuda" --model "$MODELS/default.safetensors" \
    --name default --batches 1,32 --frames "$FRAMES" --warmup "$WARMUP" \
    --variants bf16-graphs,bf16-eager,f32-graphs
  grep '^{' "$OUT/bench_cuda_default.log" >> "$OUT/bench_cuda.jsonl"
  step bench_cuda_large 80 "$BUILD/bench/bench_cuda" --model "$MODELS/large.safetensors" \
    --name large --batches 1,32 --frames "$FRAMES" --warmup "$WARMUP" --variants bf16-graphs,bf16-eager
  grep '^{' "$OUT/bench_cuda_large.log" >> "$OUT/bench_cuda.jsonl"
fi
if (( EXPORT_RC == 0 )); then
  if [ "$DRY_RUN" = 1 ]; then
    step torch_dry_run 60 "$PY" -m train.bench_torch dry-run --model "$MODELS/default.safetensors"
  fi
  step bench_torch 150 "$PY" -m train.bench_torch run --model default="$MODELS/default.safetensors" \
    --model large="$MODELS/large.safetensors" --batches 1,32 --modes eager,graph \
    --frames "$TFRAMES" --warmup "$WARMUP" --out "$OUT/bench_torch.jsonl"
fi
if (( BUILD_RC == 0 && EXPORT_RC == 0 )); then
  # Where the time goes: every op timed with events, one line per op kind (launched one by one,
  # so these frame times are not benchmarks; the lines go to bench_profile.jsonl only).
  : > "$OUT/bench_profile.jsonl"
  for cfg in default:1 default:32 large:1 large:32; do
    m=${cfg%%:*}; b=${cfg##*:}
    step "profile_${m}_b${b}" 40 "$BUILD/bench/bench_cuda" --model "$MODELS/$m.safetensors" \
      --name "$m" --batches "$b" --frames "$(( FRAMES < 30 ? FRAMES : 30 ))" --warmup "$WARMUP" \
      --variants bf16-profile
    grep '^{' "$OUT/profile_${m}_b${b}.log" >> "$OUT/bench_profile.jsonl"
  done
  grep cuda_op_profile "$OUT/bench_profile.jsonl" | cut -c1-600 | sed 's/^/    /' | tee -a "$OUT/summary.txt"
fi
if (( EXPORT_RC == 0 )); then
  if [ "$COMPILE" = 1 ]; then
    step bench_torch_compile 120 "$PY" -m train.bench_torch run \
      --model default="$MODELS/default.safetensors" --batches 1,32 --modes compile \
      --frames "$TFRAMES" --warmup "$WARMUP" --out "$OUT/bench_torch.jsonl"
  fi
fi

# ---- engine vs PyTorch ----
step bench_summary 30 "$PY" -m train.bench_torch summary "$OUT/bench_cuda.jsonl" \
  "$OUT/bench_torch.jsonl" --out "$OUT/bench_summary.json"
sed 's/^/    /' "$OUT/bench_summary.log" | tee -a "$OUT/summary.txt"
log "done in $(elapsed)s"
