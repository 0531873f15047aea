#!/bin/sh
# Recomputed mixed edges (recompute_edges, issue 16) against stored ones:
# s/step and peak RSS per estimator, the two modes interleaved, one process
# per line (each peak RSS its own). Usage: bench/run_recompute_bench.sh [configs] [repeats] [threads]
set -eu
BIN="${BIN:-$(dirname "$0")/../build/bench_search_step}"
CONFIGS="${1:-B A}"
REPEATS="${2:-3}"
THREADS="${3:-2}"
for config in $CONFIGS; do
  for case in "first_order finite_difference" "second_order finite_difference" \
              "amended finite_difference" "amended exact"; do
    set -- $case
    for recompute in 0 1; do
      "$BIN" --config "$config" --estimator "$1" --hvp "$2" --threads "$THREADS" --repeats "$REPEATS" \
        --recompute "$recompute" | tail -n 1
    done
  done
done
