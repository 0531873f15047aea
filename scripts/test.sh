#!/bin/sh
# Every test on a fresh Debian 12 machine: install what is missing, then build
# and run the whole suite through ctest twice, against Debian's LibTorch 1.13
# (./build) and against LibTorch 2.x with CUDA from PyPI's torch wheel
# (./build-torch2; its CUDA tests are skipped on a machine without a GPU).
# Fails when any test fails. Prints how long each part took. Both builds treat
# compiler warnings as errors.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
part() { echo "test.sh: $1 took $(( $(date +%s) - $2 )) s"; }

t=$(date +%s); ./scripts/install-deps.sh --torch pip; part "installing dependencies" "$t"
t=$(date +%s); ADARTS_CMAKE_ARGS=-DADARTS_WERROR=ON ./scripts/build.sh; part "building against LibTorch 1.13" "$t"
t=$(date +%s); (cd build && ctest --output-on-failure -j "$(nproc)"); part "ctest with LibTorch 1.13" "$t"
t=$(date +%s); ADARTS_CMAKE_ARGS=-DADARTS_WERROR=ON ./scripts/build.sh --torch pip; part "building against LibTorch 2.x" "$t"
t=$(date +%s); (cd build-torch2 && ctest --output-on-failure -j "$(nproc)"); part "ctest with LibTorch 2.x" "$t"
part "everything" "$start"
