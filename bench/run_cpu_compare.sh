#!/bin/sh
# Issue 16's CPU protocol: our search step beside the original DARTS code
# (.deps/darts/cnn, bench/fetch_darts.md) under Debian's python3-torch 1.13,
# interleaved, 2 threads each, configs B then A; every estimator stored and
# with recomputed edges. Markdown on stdout, JSON in runs/.
#   apt-get install python3-torch      # the reference's PyTorch (same oneDNN and BLAS as libtorch-dev)
#   bench/run_cpu_compare.sh [sizes] [rounds] [steps]
set -eu
cd "$(dirname "$0")/.."
PY="${PYTHON:-/usr/bin/python3}"
SIZES="${1:-B A}"
ROUNDS="${2:-2}"
STEPS="${3:-3}"
CASES=adarts-first,adarts-second,adarts-amended-fd,adarts-amended-exact
CASES=$CASES,adarts-first-recompute,adarts-second-recompute,adarts-amended-fd-recompute,adarts-amended-exact-recompute
CASES=$CASES,ref-first,ref-second
mkdir -p runs
for size in $SIZES; do
  "$PY" bench/gpu_compare.py --python "$PY" --bench build/bench_search_step --device cpu --threads 2 \
      --size "$size" --steps "$STEPS" --warmup 1 --rounds "$ROUNDS" --time-target 0.30 --mem-target 0.35 \
      --cases "$CASES" --out "runs/cpu_compare_$size.json"
done
