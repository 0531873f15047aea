#!/bin/sh
# Installs what building, testing and the default job need on Debian 12.
# Idempotent: when everything is present it returns at once without touching
# the network.
#
#   scripts/install-deps.sh              Debian's packages (LibTorch 1.13, CPU)
#   scripts/install-deps.sh --torch pip  the same, plus LibTorch 2.x with CUDA
#                                        from PyPI's torch wheel, in a venv
#
# The venv lives in $ADARTS_TORCH_VENV (default ~/.cache/adarts/torch-VERSION)
# and holds torch $ADARTS_TORCH_VERSION (default below, the version of the GPU
# machines this project is measured on). `scripts/torch-prefix.sh` prints the
# CMake prefix path of that LibTorch.
set -eu

torch=debian
while [ $# -gt 0 ]; do
  case "$1" in
    --torch) torch="${2:?--torch needs debian or pip}"; shift 2 ;;
    --torch=*) torch="${1#--torch=}"; shift ;;
    *) echo "install-deps: unknown option '$1' (expected --torch debian|pip)" >&2; exit 2 ;;
  esac
done
case "$torch" in debian|pip) ;; *) echo "install-deps: --torch must be debian or pip, got '$torch'" >&2; exit 2 ;; esac

PACKAGES="build-essential cmake pkg-config libtorch-dev libgloo-dev libboost-json1.81-dev zlib1g-dev \
libgtest-dev libcli11-dev libspdlog-dev libfmt-dev libopenblas0-openmp dataset-fashion-mnist \
swig openjdk-17-jdk-headless junit4 mono-mcs mono-runtime python3-dev python3-torch file"
if [ "$torch" = pip ]; then PACKAGES="$PACKAGES python3-venv"; fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing$missing"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
fi

if [ "$torch" = pip ]; then
  "$(dirname "$0")/install-torch-pip.sh"
fi
