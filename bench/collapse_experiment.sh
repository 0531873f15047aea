#!/usr/bin/env bash
# The collapse experiment (paper Figure 1 and section 4.1.1) with the fidelity
# probe: three searches with the amended estimator (central differences) at
# eta = 0 (first-order DARTS), 0.1 and 1, recording per epoch the collapse
# figures (mean weight of none, skip-connect share, parameter-free share) and
# the fidelity cosines (cos of g2', g2'' with the implicit g2; issue 7), then
# SVG plots per run (`adarts report`) and one summary table.
#
# Usage: bench/collapse_experiment.sh [cpu|gpu|smoke] [OUT_ROOT] [ETAS]
#   cpu   (default) Fashion-MNIST at a CPU scale: about an hour in total on 2 cores.
#   gpu   a CIFAR-10 scale for one GPU (--device cuda); CIFAR10_DIR names the
#         directory of the binary CIFAR-10 batches.
#   smoke a tiny run (about 2 minutes on 2 cores) that exercises every step.
# OUT_ROOT defaults to runs/collapse-<config>; ETAS to "0 0.1 1".
# ADARTS (default build/adarts) names the binary; THREADS (default 2) the CPU threads;
# EPOCHS overrides the configuration's epoch count (e.g. a shorter cpu run).
#
# The settings of each configuration, and why:
# cpu: C=4, 5 cells (3 normal, 2 reduction), batch 32, 28x28 Fashion-MNIST, the
#   first 1200 training images (600 train / 600 validation halves: 18 steps an
#   epoch), 16 epochs = 288 steps a run. Budget (2 idle cores): a step costs
#   about 1.3 s at eta = 0 and 3.5 s with the amended term at this width
#   (estimated from 2.5 s / 6-9 s measured at C=8, 5 cells; see bench/README.md),
#   so the steps take ~40 min for the three runs; a probe (5 CG steps on exact
#   HVPs plus the other terms, ~11 double-backward-sized passes) ~35 s, 6 a run,
#   ~10 min; in all about an hour. At the paper's alpha learning rate (3e-4)
#   288 Adam steps move an alpha by at most ~0.09, nowhere near convergence, so
#   the alpha learning rate is raised 20x to 6e-3 (an alpha can then move by
#   ~1.7, enough for the softmax weights to separate); the weights keep their
#   cosine schedule 0.025 -> 0.001. This is a compressed stand-in for the
#   paper's 500 epochs, not a reproduction of it.
# gpu: C=16, 8 cells, batch 64, the whole CIFAR-10 training set (25k/25k, 390
#   steps an epoch), 100 epochs at the paper's alpha learning rate, a probe every
#   390 steps (once an epoch) with 20 CG steps. Needs a CUDA build of LibTorch.
# smoke: C=4, 3 cells, 128 images (2 steps an epoch), 2 epochs, a probe every 2
#   steps with 2 CG steps: checks the pipeline, not the science.
set -euo pipefail

CONFIG="${1:-cpu}"
OUT_ROOT="${2:-runs/collapse-$CONFIG}"
ETAS="${3:-0 0.1 1}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ADARTS="${ADARTS:-$HERE/../build/adarts}"
THREADS="${THREADS:-2}"

case "$CONFIG" in
  cpu)
    SETTINGS="--dataset fashion-mnist --data-dir ${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
      --train-subset 1200 --channels 4 --layers 5 --batch-size 32 --epochs ${EPOCHS:-16} --arch-lr 6e-3
      --crop-padding 2 --horizontal-flip false --threads $THREADS --log-every 18
      --fidelity-every 48 --implicit-iterations 5 --implicit-damping 0.1 --implicit-tolerance 1e-2"
    ;;
  gpu)
    SETTINGS="--dataset cifar10 --data-dir ${CIFAR10_DIR:-/usr/share/datasets/cifar-10-batches-bin}
      --train-subset 0 --channels 16 --layers 8 --batch-size 64 --epochs ${EPOCHS:-100} --arch-lr 3e-4
      --device cuda --threads $THREADS --log-every 50
      --fidelity-every 390 --implicit-iterations 20 --implicit-damping 0.1 --implicit-tolerance 1e-2"
    ;;
  smoke)
    SETTINGS="--dataset fashion-mnist --data-dir ${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
      --train-subset 128 --channels 4 --layers 3 --batch-size 32 --epochs ${EPOCHS:-2} --arch-lr 6e-3
      --crop-padding 2 --horizontal-flip false --threads $THREADS --log-every 2
      --fidelity-every 2 --implicit-iterations 2 --implicit-damping 0.1 --implicit-tolerance 1e-2"
    ;;
  *)
    echo "usage: $0 [cpu|gpu|smoke] [OUT_ROOT] [ETAS]" >&2
    exit 2
    ;;
esac

if [ ! -x "$ADARTS" ]; then
  echo "no adarts binary at $ADARTS: build it first (cmake --build build --target adarts_cli) or set ADARTS" >&2
  exit 1
fi
mkdir -p "$OUT_ROOT"
echo "collapse experiment '$CONFIG' -> $OUT_ROOT (etas: $ETAS)"
echo "settings: $(echo $SETTINGS)"

HAVE_REPORT=1
# `adarts report` (plots) may be missing in this build; the subcommand list of --help tells.
if ! "$ADARTS" --help 2>/dev/null | grep -qE "^ +report( |$)"; then
  HAVE_REPORT=0
  echo "note: this adarts has no 'report' subcommand: the SVG plots are skipped (rerun with a build that has it:" \
       "adarts report RUN/metrics.jsonl --out RUN/plots)"
fi

RUNS=""
for eta in $ETAS; do
  run="$OUT_ROOT/eta-$eta"
  mkdir -p "$run"
  echo "== eta $eta -> $run ($(date -u +%H:%M:%S) UTC)"
  start=$(date +%s)
  # shellcheck disable=SC2086  # SETTINGS is a list of words on purpose
  "$ADARTS" search --preset quick $SETTINGS --estimator amended --hvp finite_difference --eta "$eta" \
    --overwrite --out "$run" 2>&1 | tee "$run/search.log"
  echo "eta $eta: $(( $(date +%s) - start )) s" | tee -a "$OUT_ROOT/timings.txt"
  if [ "$HAVE_REPORT" = 1 ]; then
    "$ADARTS" report "$run/metrics.jsonl" --out "$run/plots" || echo "adarts report failed for $run" >&2
  fi
  RUNS="$RUNS $run"
done

echo
echo "== summary ($CONFIG)"
# shellcheck disable=SC2086
python3 "$HERE/collapse_summary.py" $RUNS | tee "$OUT_ROOT/summary.md"
