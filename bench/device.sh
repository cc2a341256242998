#!/bin/bash
# The accelerator checks of bench/ and the temporal-tasks size sweep, in one call (a GPU
# machine whose python3 has JAX with CUDA and torch; pydantic & co. carried as wheels in
# .whl/ where missing):
#   bench  bench/bptt.py with rnnlab on the GPU and torch on one CPU thread (issue 5's
#          goals: 2x per epoch, 5x for 20 vmapped seeds) -> $OUT/bptt_gpu.json, bench.log;
#   sizes  the size sweep at full size (22 sizes to N = 500, 20 networks each, 150 ms), its
#          cells stacked by sweep_stacking=auto into 5 trainings -> $OUT/sizes_metrics.json;
#   cells  the delay and size cells as separate invocations, one worker (processes on one
#          GPU take turns: 14 concurrent workers finished no cell in 398 s on an H200,
#          2026-12-04) -> $OUT/cells.jsonl, $OUT/summary.json.
# Usage (repo root): OUT=dir bash bench/device.sh [seconds, 540] [steps, "bench sizes"]
# SIZES_SET adds --set options to the size sweep, e.g. the size-scaled learning rate
#   SIZES_SET="--set size_sweep_learning_rate=3e-4 --set size_sweep_rate_exponent=0.5"
set -u
start=$(date +%s)
budget=${1:-540}
steps=${2:-bench sizes}
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
left() { # seconds left for a step (at least 1: timeout refuses 0)
    local n=$((budget - ($(date +%s) - start) - 15))
    echo $((n > 0 ? n : 1))
}
nvidia-smi -L
python3 -c "import jax, torch; print('jax', jax.__version__, jax.devices(), 'torch', torch.__version__)"
for step in $steps; do
    case $step in
    bench)
        timeout 240 python3 bench/bptt.py --out "$OUT/bptt_gpu.json" > "$OUT/bench.log" 2>&1
        echo "bench rc=$?"
        tail -12 "$OUT/bench.log"
        ;;
    sizes)
        echo "size sweep: $(left) s"
        timeout "$(left)" python3 -m rnnlab.cli reproduce temporal-tasks --seed 0 \
            --set 'tasks=["and"]' --set members_per_init=1 --set inits=orthogonal \
            --set fixed_point_networks=0 --set 'delays=[]' ${SIZES_SET:-} -v --out "/tmp/sizes-$start" \
            > "$OUT/sizes.log" 2>&1
        echo "sizes rc=$?"
        cp "/tmp/sizes-$start/metrics.json" "$OUT/sizes_metrics.json" 2>/dev/null
        grep -E "size\.|epoch 20/|converged" "$OUT/sizes.log" | tail -20
        ;;
    cells)
        export XLA_PYTHON_CLIENT_PREALLOCATE=false
        echo "sweep cells: $(left) s"
        python3 bench/sweep_cells.py --workers "${WORKERS:-1}" --cores "1-$(($(nproc) - 1))" \
            --deadline "$(left)" --out "$OUT/cells.jsonl" > "$OUT/sweep.log" 2>&1
        echo "cells rc=$?"
        python3 bench/sweep_cells.py --summarise "$OUT/cells.jsonl" > "$OUT/summary.json" 2>&1
        cat "$OUT/cells.jsonl"
        ;;
    esac
done
echo "total $(($(date +%s) - start)) s"
