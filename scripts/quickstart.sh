#!/bin/sh
# The main job on a fresh Debian 12 machine: install what is missing, build,
# and run a search with the built-in defaults (a small supernet on a subset of
# Fashion-MNIST; a few minutes on 2 cores). Extra arguments go to `adarts search`.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
# --overwrite: a second run replaces the first one (fresh runs otherwise refuse
# an out dir holding an earlier run's checkpoints).
./build/adarts search --overwrite --out runs/quickstart "$@"
