#!/usr/bin/env bash
# On a lent GPU machine, from the repo root: versions, install, the GPU tests, the GPU bench.
#
#   OUT=/where/results/go bash scripts/gpu_session.sh
#
# OUT      results: gpu_tests.log, gpu_bench.json, gpu_bench.md (default /tmp/stylecast-gpu)
# PYTHON   the interpreter with the CUDA build of torch (default python3; on the lent
#          machines that is the one that holds torch)
# WHEELS   folder of carried wheels for what that machine lacks (av, openvino, pyvirtualcam,
#          ...; default .whl), installed as they are; nothing is fetched from an index
# PYTEST_ARGS extra arguments for pytest (e.g. test paths)
# BENCH_ARGS  extra arguments for `stylecast bench --gpu` (e.g. "--seconds 5")
# Exits non-zero if the tests or the bench failed; the bench runs even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/stylecast-gpu}"
PY="${PYTHON:-python3}"
WHEELS="${WHEELS:-.whl}"
mkdir -p "$OUT"

echo "== versions"
"$PY" --version
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
  || echo "nvidia-smi: not available"
"$PY" -c 'import torch; print("torch", torch.__version__, "| CUDA", torch.version.cuda,
  "| cuDNN", torch.backends.cudnn.version(), "| GPU available:", torch.cuda.is_available())'

echo "== install"
# Offline by construction: carried wheels as they are, then stylecast itself without
# resolving dependencies (the machine's torch, triton, numpy ... stay), built with the
# setuptools already there.
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps "$WHEELS"/*.whl
fi
if ! "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e ".[gpu]"; then
  echo "editable install failed: running from the source tree (no stylecast.kernels)"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" -m stylecast --help >/dev/null \
  || echo "stylecast does not import: carry the missing packages as wheels in $WHEELS"

status=0
echo "== pytest -m gpu"
# A test module whose imports are missing here must not stop the GPU tests of the others.
# shellcheck disable=SC2086  # *_ARGS are lists of words on purpose
"$PY" -m pytest -m gpu -q -p no:cacheprovider --continue-on-collection-errors \
  ${PYTEST_ARGS:-} 2>&1 | tee "$OUT/gpu_tests.log" || status=$?

echo "== stylecast bench --gpu"
# shellcheck disable=SC2086
"$PY" -m stylecast bench --gpu --json "$OUT/gpu_bench.json" \
  --markdown "$OUT/gpu_bench.md" ${BENCH_ARGS:-} || status=$?

echo "== done (status $status); results in $OUT"
exit "$status"
