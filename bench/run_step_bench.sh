#!/bin/sh
# Runs bench_search_step for every estimator on configs A and B, one process
# each (so each peak RSS is its own). Usage: bench/run_step_bench.sh [threads] [repeats] [configs]
set -eu
BIN="$(dirname "$0")/../build/bench_search_step"
THREADS="${1:-2}"
REPEATS="${2:-3}"
CONFIGS="${3:-B A}"
for config in $CONFIGS; do
  for case in "first_order finite_difference" "second_order finite_difference" \
              "amended finite_difference" "amended exact"; do
    set -- $case
    "$BIN" --config "$config" --estimator "$1" --hvp "$2" --threads "$THREADS" --repeats "$REPEATS"
  done
done
