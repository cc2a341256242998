#!/bin/bash
# The accelerator checks of bench/, in one call (a GPU machine whose python3 has JAX with
# CUDA and torch; pydantic & co. carried as wheels in .whl/ where missing):
#   1. bench/bptt.py with rnnlab on the GPU and torch on one CPU thread (issue 5's goals:
#      2x per epoch, 5x for 20 vmapped seeds) -> $OUT/bptt_gpu.json, $OUT/bench.log;
#   2. the temporal-tasks delay and size sweep cells at full size (20 networks per cell),
#      one worker (processes on one GPU take turns: 14 concurrent workers finished no
#      cell in 398 s on an H200, 2026-12-04) -> $OUT/cells.jsonl, $OUT/summary.json.
# Usage (repo root): OUT=dir [WORKERS=1] bash bench/device.sh [seconds for the whole script, 540]
set -u
start=$(date +%s)
budget=${1:-540}
OUT=${OUT:-/tmp/rnnlab-device}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD/src
else
    export PYTHONPATH=$PWD/src
fi
nvidia-smi -L
python3 -c "import jax, torch; print('jax', jax.__version__, jax.devices(), 'torch', torch.__version__)"
timeout 240 python3 bench/bptt.py --out "$OUT/bptt_gpu.json" > "$OUT/bench.log" 2>&1
echo "bench rc=$?"
tail -12 "$OUT/bench.log"
export XLA_PYTHON_CLIENT_PREALLOCATE=false
left=$((budget - ($(date +%s) - start) - 15))
echo "sweep cells: ${left} s"
timeout $((left + 10)) python3 bench/sweep_cells.py --workers "${WORKERS:-1}" --cores 2-15 \
    --deadline "$left" --out "$OUT/cells.jsonl" > "$OUT/sweep.log" 2>&1
echo "sweep rc=$?"
python3 bench/sweep_cells.py --summarise "$OUT/cells.jsonl" > "$OUT/summary.json" 2>&1
cat "$OUT/cells.jsonl"
echo "total $(($(date +%s) - start)) s"
