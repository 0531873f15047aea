#!/bin/sh
# Prints the install prefix of the LibTorch inside a torch wheel (the folder
# holding include/, lib/ and share/cmake/): the venv's of
# scripts/install-torch-pip.sh, or that of the python given as $1. Give it to
# CMake as CMAKE_PREFIX_PATH, so that its libraries are found before any
# system LibTorch (Debian's libtorch-dev in /usr/lib).
set -eu
. "$(dirname "$0")/torch-env.sh"
python="${1:-$ADARTS_TORCH_VENV/bin/python}"
"$python" -c "import os, torch; print(os.path.dirname(torch.__file__))" 2>/dev/null
