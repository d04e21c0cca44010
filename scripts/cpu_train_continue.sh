#!/usr/bin/env bash
# Continue training a model (by default the shipped one) on this machine's CPUs, e.g. in the
# background of a work session. Measured: every continuation of the shipped model (run 5) at batch 16 has
# cost ~2 dB at horizon 128 (docs/training.md), so use it for experiments you measure, not to move
# the shipped model on.
#   1. import MODEL into $OUT/run once (later calls resume from $OUT/run's checkpoints)
#   2. train the denoiser (STAGE=dyn, the default) or the autoencoder's decoder alone (STAGE=decoder:
#      the encoder, the latent space and so the denoiser stay as they are) for BUDGET seconds
#      with CPU-sized batches (clean stop on SIGTERM)
#   3. export $OUT/model.safetensors (BF16) and run a quick eval into $OUT/eval
# models/ is never written: compare $OUT/eval/eval.json with models/default_eval.json (or run the
# full `train eval`) and copy the model over by hand when it is better.
#
# Env: OUT (runs/cpu-continue), BUDGET (training seconds, 3600), MODEL (models/default.safetensors),
#      CONFIG (the config MODEL was trained with: gpu), PYTHON (/usr/bin/python3: Debian's PyTorch),
#      TRAIN_SET (extra overrides, applied last, e.g. "--set dyn.lr=1e-4"), EVAL (1; 0 = skip),
#      STAGE (dyn | decoder).
# A memory model (denoiser.memory in its manifest) trains on with its slots and 96-tick chunks.
# lr 1e-4, EMA 0.998 and no memory-reliant samples: the CPU hour that hurt an H100 model least
# (docs/training.md, run 4: a trade, not shipped); lr 2e-4 / EMA 0.995 with memory-reliant samples
# hurt it twice. TRAIN_SET can put memory-reliant samples back (--set dyn.memory_ctx_noise_prob=0.3).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/cpu-continue}
BUDGET=${BUDGET:-3600}
MODEL=${MODEL:-models/default.safetensors}
CONFIG=${CONFIG:-gpu}
PYTHON=${PYTHON:-/usr/bin/python3}
EVAL=${EVAL:-1}
STAGE=${STAGE:-dyn}
case "$STAGE" in
  dyn|decoder) ;;
  *) echo "cpu_train_continue: STAGE must be dyn or decoder, got '$STAGE'" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
say() { echo "[cpu_train_continue $(date +%H:%M:%S)] $*"; }

# The model's memory slots decide part of the architecture, so they come from its manifest.
SLOTS=$("$PYTHON" -c 'import sys; from train import export
m = export.load_model(sys.argv[1])[0]
print((m["denoiser"].get("memory") or {}).get("slots", 0))' "$MODEL")
SETS=(--set data.worlds=16 --set data.threads=1 --set data.pool_frames=12288
      --set data.dyn_pull_every=64 --set dyn.batch=16 --set dyn.warmup_steps=20
      --set dyn.lr=1e-4 --set dyn.ema=0.998 --set dyn.memory_ctx_noise_prob=0
      --set log_every=10 --set ckpt_every=50)
# Decoder stage: lr 2e-4 at batch 16 (the autoencoder was last trained at 6e-4, batch 64).
if [ "$STAGE" = decoder ]; then
  SETS+=(--set ae.batch=16 --set ae.warmup_steps=20 --set ae.lr=2e-4 --set ae.decoder_only=true)
fi
if (( SLOTS > 0 )); then SETS+=(--set "dyn.memory_slots=$SLOTS" --set data.chunk=96); fi
read -r -a EXTRA <<< "${TRAIN_SET:-}"
SETS+=("${EXTRA[@]}")

if [ ! -f "$OUT/run/ckpt/dyn-latest.pt" ]; then
  say "importing $MODEL (config $CONFIG, memory slots $SLOTS)"
  "$PYTHON" -m train import-model --config "$CONFIG" "${SETS[@]}" --out "$OUT/run" \
    --model "$MODEL" --device cpu
else
  say "resuming from $OUT/run"
fi
if [ "$STAGE" = decoder ]; then
  say "training the decoder (encoder frozen) for ${BUDGET}s (log: $OUT/train.log)"
  "$PYTHON" -m train ae --config "$CONFIG" "${SETS[@]}" --device cpu --out "$OUT/run" \
    --time-budget "$BUDGET" 2>&1 | tee -a "$OUT/train.log" | grep -E "resumed|done|step [0-9]*00 "
else
  say "training the denoiser for ${BUDGET}s (log: $OUT/train.log)"
  "$PYTHON" -m train dyn --config "$CONFIG" "${SETS[@]}" --device cpu --out "$OUT/run" \
    --time-budget "$BUDGET" 2>&1 | tee -a "$OUT/train.log" | grep -E "resumed|done|step [0-9]*0 "
fi
say "exporting $OUT/model.safetensors"
"$PYTHON" -m train export --config "$CONFIG" "${SETS[@]}" --out "$OUT/run" \
  --model "$OUT/model.safetensors" --dtype BF16
if [ "$EVAL" = 1 ]; then
  say "quick eval into $OUT/eval"
  "$PYTHON" -m train eval --config "$CONFIG" "${SETS[@]}" --device cpu \
    --model "$OUT/model.safetensors" --out "$OUT/eval" --quick
fi
say "done"
