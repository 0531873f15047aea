#!/bin/bash
# The GPU check, in one go, on a machine with an NVIDIA GPU, the CUDA toolkit,
# a CUDA PyTorch 2.x, CMake and ninja, and no network:
#   1. builds the core, CLI, C ABI, tests and benchmark against that torch's
#      LibTorch (our other dependencies come from .deps/gpu/debs, made by
#      scripts/gpu-bundle.sh, when the machine lacks them);
#   2. runs ctest (the CUDA tests run where a GPU is found, and are reported
#      as skipped elsewhere);
#   3. runs bench/gpu_compare.py: our step against the original DARTS
#      (.deps/darts/cnn, bench/fetch_darts.md) on the GPU, and prints the table.
# Without a GPU it stops after step 2, saying so, with exit status 3.
#
#   scripts/gpu-check.sh [--quick]      (--quick: 1 round of 10 steps)
#
# Environment: PYTHON (default python3: the one holding torch), OUT (a folder
# for the logs and the JSON results; default $BUILD_DIR/check), JOBS,
# BUILD_DIR (default build-gpu), ADARTS_USE_BUNDLE=1 (use .deps/gpu/debs even
# where the system has the packages).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start )) s"; }
say() { echo "gpu-check [$(elapsed)]: $*"; }

PYTHON="${PYTHON:-python3}"
BUILD_DIR="${BUILD_DIR:-build-gpu}"
OUT="${OUT:-$BUILD_DIR/check}"
JOBS="${JOBS:-$(nproc)}"
ROUNDS=2
STEPS=20
[ "${1:-}" = "--quick" ] && { ROUNDS=1; STEPS=10; }
mkdir -p "$OUT"

torch_prefix=$("$PYTHON" -c "import os, torch; print(os.path.dirname(torch.__file__))") || {
  say "no torch importable by $PYTHON (set PYTHON)"; exit 2; }
"$PYTHON" -c "import torch; print('gpu-check: torch', torch.__version__, 'CUDA', torch.version.cuda, 'GPU:',
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# --- dependencies: the system's, else the carried Debian packages -----------
prefix_path="$torch_prefix"
extra=()
have_system_deps() {
  [ -z "${ADARTS_USE_BUNDLE:-}" ] && [ -f /usr/include/boost/json.hpp ] && [ -f /usr/include/spdlog/spdlog.h ] &&
    [ -f /usr/include/CLI/CLI.hpp ] && [ -f /usr/include/gtest/gtest.h ] && [ -f /usr/include/zlib.h ]
}
if have_system_deps; then
  say "using the system's Boost, fmt, spdlog, CLI11, GoogleTest and zlib"
else
  [ -d .deps/gpu/debs ] || { say ".deps/gpu/debs is missing: run scripts/gpu-bundle.sh where there is network"; exit 2; }
  sysroot="$(pwd)/$BUILD_DIR-sysroot"
  rm -rf "$sysroot"
  mkdir -p "$sysroot"
  for deb in .deps/gpu/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  prefix_path="$prefix_path;$sysroot/usr"
  # zlib: Debian's headers with this machine's libz (the .deb's libz.so points at /lib/...1.2.13).
  libz=""
  for candidate in /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/lib64/libz.so.1; do
    if [ -z "$libz" ] && [ -e "$candidate" ]; then libz="$candidate"; fi
  done
  [ -n "$libz" ] && extra+=("-DZLIB_LIBRARY=$libz")
  [ -f /usr/include/zlib.h ] || extra+=("-DZLIB_INCLUDE_DIR=$sysroot/usr/include")
  export LD_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "dependencies unpacked from .deps/gpu/debs into $sysroot"
fi

# --- 1. build ----------------------------------------------------------------
generator=()
# Ninja where present, unless the build folder was made with another generator.
command -v ninja >/dev/null && [ ! -f "$BUILD_DIR/CMakeCache.txt" ] && generator=(-G Ninja)
say "configuring $BUILD_DIR"
cmake "${generator[@]}" -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix_path" \
  -DADARTS_JAVA=OFF -DADARTS_CSHARP=OFF -DADARTS_PYTHON=OFF "${extra[@]}" > "$OUT/configure.log" 2>&1 ||
  { tail -40 "$OUT/configure.log"; exit 1; }
grep 'adarts:' "$OUT/configure.log" || true
say "building with $JOBS jobs"
cmake --build "$BUILD_DIR" -j "$JOBS" > "$OUT/build.log" 2>&1 || { grep -E 'error|Error' -A5 "$OUT/build.log" | head -60; exit 1; }
say "built"

# --- 2. tests ----------------------------------------------------------------
set +e
(cd "$BUILD_DIR" && ctest -j "$JOBS" --timeout 300 --output-on-failure) > "$OUT/ctest.log" 2>&1
tests_status=$?
set -e
# (Informational greps: no match, or head closing the pipe, must not stop the script.)
grep -E 'tests passed|tests failed|Total Test time|\*\*\*Failed|\*\*\*Timeout|Not Run' "$OUT/ctest.log" | head -40 || true
grep -E '^\s*[0-9]+/[0-9]+ Test.*Cuda\.|capi_c_cuda' "$OUT/ctest.log" | sed 's/^ *//' | head -20 || true
# The figures the CUDA tests print (agreement with the CPU, bf16, memory).
(cd "$BUILD_DIR" && ./tests/adarts_tests --gtest_filter='Cuda.*' 2>&1 | grep -E '^    |SKIPPED|PASSED|FAILED' | head -40) || true
say "tests done (ctest status $tests_status)"

if ! "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  say "NO GPU FOUND: the CUDA tests were skipped and the GPU benchmark was not run"
  exit 3
fi

# --- 3. benchmark ------------------------------------------------------------
[ -d .deps/darts/cnn ] || say "warning: .deps/darts/cnn is missing; the reference cases will fail (bench/fetch_darts.md)"
say "benchmark: $ROUNDS round(s) of $STEPS steps per case"
"$PYTHON" bench/gpu_compare.py --bench "$BUILD_DIR/bench_search_step" --darts .deps/darts/cnn --device cuda \
  --python "$PYTHON" --steps "$STEPS" --warmup 3 --rounds "$ROUNDS" --timeout 240 \
  --cases adarts-first,adarts-second,adarts-amended-fd,adarts-amended-exact,adarts-first-bf16,adarts-amended-bf16,ref-first,ref-second,paper-epoch \
  --out "$OUT/gpu_compare.json" | tee "$OUT/gpu_compare.md"
say "done"
exit "$tests_status"
