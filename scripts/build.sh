#!/bin/sh
# Configures and builds everything (Release).
#
#   scripts/build.sh              ./build, against Debian's LibTorch 1.13 (CPU)
#   scripts/build.sh --torch pip  ./build-torch2, against LibTorch 2.x with CUDA
#                                 from the torch wheel of scripts/install-torch-pip.sh
#
# Any other LibTorch: cmake -S . -B build-mine -DCMAKE_PREFIX_PATH=/path/to/libtorch
# (README, "Building against your own LibTorch").
#
# ADARTS_CMAKE_ARGS: more cmake configure arguments, split at spaces
# (e.g. ADARTS_CMAKE_ARGS=-DADARTS_WERROR=ON, as scripts/test.sh does).
set -eu
cd "$(dirname "$0")/.."
torch=debian
case "${1:-}" in
  "") ;;
  --torch) torch="${2:?--torch needs debian or pip}" ;;
  --torch=*) torch="${1#--torch=}" ;;
  *) echo "build: unknown option '$1' (expected --torch debian|pip)" >&2; exit 2 ;;
esac
case "$torch" in
  debian)
    # shellcheck disable=SC2086 # split on purpose
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${ADARTS_CMAKE_ARGS:-}
    cmake --build build -j "$(nproc)" ;;
  pip)
    prefix="$(./scripts/torch-prefix.sh)" || {
      echo "build: no torch venv; run scripts/install-deps.sh --torch pip first" >&2; exit 1; }
    # shellcheck disable=SC2086 # split on purpose
    cmake -S . -B build-torch2 -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" ${ADARTS_CMAKE_ARGS:-}
    cmake --build build-torch2 -j "$(nproc)" ;;
  *) echo "build: --torch must be debian or pip, got '$torch'" >&2; exit 2 ;;
esac
