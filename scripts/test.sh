#!/bin/sh
# Every test on a fresh Debian 12 machine: install what is missing, build, and
# run the whole suite through ctest. Fails when any test fails.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)"
