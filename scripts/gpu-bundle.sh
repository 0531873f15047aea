#!/bin/sh
# Prepares, on a Debian 12 machine with network, what scripts/gpu-check.sh
# needs on a GPU machine that has CUDA, PyTorch 2.x, CMake and ninja but no
# network and none of our other dependencies: Debian's packages of Boost.JSON,
# {fmt}, spdlog, CLI11, GoogleTest and zlib's headers, as .deb files (about
# 15 MB) in .deps/gpu/debs. gpu-check.sh unpacks them in a scratch folder.
# The original DARTS code for the comparison goes in .deps/darts (see
# bench/fetch_darts.md). Carry .deps/gpu and .deps/darts to the GPU machine.
set -eu
cd "$(dirname "$0")/.."
PACKAGES="libboost1.81-dev libboost-json1.81-dev libboost-json1.81.0 libboost-container1.81-dev \
libboost-container1.81.0 libboost-system1.81-dev libboost-system1.81.0 libfmt-dev libfmt9 libspdlog-dev \
libspdlog1.10 libcli11-dev libgtest-dev googletest zlib1g-dev"
dir=.deps/gpu/debs
rm -rf "$dir"
mkdir -p "$dir"
(cd "$dir" && apt-get download $PACKAGES)
du -sh "$dir"
if [ ! -d .deps/darts/cnn ]; then
  echo "gpu-bundle: .deps/darts/cnn is missing: the comparison with the original DARTS needs it (bench/fetch_darts.md)" >&2
fi
