#!/bin/sh
# Installs the Debian 12 packages that building, testing and the default job
# need. Idempotent: when everything is present it returns at once without
# touching the network.
set -eu

PACKAGES="build-essential cmake pkg-config libtorch-dev libboost-json1.81-dev zlib1g-dev \
libgtest-dev libcli11-dev libspdlog-dev libfmt-dev libopenblas0-openmp dataset-fashion-mnist \
swig openjdk-17-jdk-headless junit4 mono-mcs mono-runtime python3-dev"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing$missing"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
