#!/bin/sh
# Programs using an installed adarts (`cmake --install` or an unpacked .deb),
# each built and run against the files under PREFIX only (ctest:
# tests/install_tests.cmake):
#
#   install_consumers.sh install_prefix BUILD PREFIX   cmake --install BUILD into an emptied PREFIX
#   install_consumers.sh CONSUMER PREFIX SCRATCH
#     check_layout  SONAME libadarts.so.0, no run path into the build tree, the schema
#     c_cmake       examples/c built out of tree with find_package(adarts)
#     c_pkgconfig   examples/c built with cc $(pkg-config --cflags --libs adarts)
#     java_example  examples/java against the installed jar and JNI library
#     csharp_example examples/csharp against the installed Adarts.dll
#     python_example examples/python with PYTHONPATH the installed package folder
#   install_consumers.sh deb_package BUILD SCRATCH   cpack -G DEB, unpack, run adarts and the C consumer
#
# The layout of the prefix (relative folders, as CMake's GNUInstallDirs gives
# them) and the tools come from the environment: ADARTS_LIBDIR (lib),
# ADARTS_DATADIR (share), ADARTS_PYTHON_DIR, ADARTS_BUILD_DIR (for check_layout),
# CMAKE, CPACK, CC, JAVAC, JAVA, MCS, MONO, PYTHON (default: the one on PATH).
set -eu

src="$(cd "$(dirname "$0")/.." && pwd)"
libdir_rel="${ADARTS_LIBDIR:-lib}"
datadir_rel="${ADARTS_DATADIR:-share}"
CMAKE="${CMAKE:-cmake}"
CC="${CC:-cc}"

# No path from the build tree (or anywhere else) to find libraries, classes or modules by.
unset LD_LIBRARY_PATH LD_PRELOAD PYTHONPATH CLASSPATH MONO_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run_expect PATTERN COMMAND...: runs COMMAND in the current folder, shows its
# output, fails when it fails or when no line of its output matches PATTERN
# (grep -E). A run still going after ADARTS_CONSUMER_WATCHDOG seconds (default
# 200, below the ctest timeout) is shown as it stands (the output so far, and
# every thread's stack when gdb is there), then killed: a hang says where it hangs.
run_expect() {
  pattern="$1"
  shift
  log="$(mktemp)"
  status=0
  # Line-buffered stdout (C stdio through stdbuf), so that a killed run still shows its lines.
  stdbuf -oL "$@" >"$log" 2>&1 &
  pid=$!
  waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "${ADARTS_CONSUMER_WATCHDOG:-200}" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run_expect: $* still running after $waited s; its output so far:" >&2
    cat "$log"
    if command -v gdb >/dev/null 2>&1; then
      gdb -batch -p "$pid" -ex "thread apply all bt" 2>&1 | grep -E '^(Thread|#)' | head -200
    else
      for t in /proc/"$pid"/task/*; do echo "$t: $(cat "$t/wchan" 2>/dev/null)"; done
    fi
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$log"
    fail "$* hung (killed after $waited s)"
  fi
  wait "$pid" || status=$?
  cat "$log"
  if [ "$status" -ne 0 ]; then rm -f "$log"; fail "$* exited with $status"; fi
  if ! grep -Eq "$pattern" "$log"; then rm -f "$log"; fail "no line of the output of $* matches '$pattern'"; fi
  rm -f "$log"
}

fresh_dir() {
  rm -rf "$1"
  mkdir -p "$1"
}

# Each step below runs in a subshell: its variables are its own.

install_prefix() (
  build="$1" prefix="$2"
  rm -rf "$prefix"
  "$CMAKE" --install "$build" --prefix "$prefix"
)

check_layout() (
  prefix="$1"
  lib="$prefix/$libdir_rel/libadarts.so"
  readelf -d "$lib" | grep -q 'Library soname: \[libadarts\.so\.0\]' || fail "$lib: SONAME is not libadarts.so.0"
  [ -f "$prefix/$datadir_rel/adarts/schemas/genotype.schema.json" ] || fail "no schemas/genotype.schema.json"
  # Every installed ELF file: its run path (if any) must not lead into the build tree.
  find "$prefix" -type f | while read -r f; do
    if readelf -h "$f" >/dev/null 2>&1; then
      runpath="$(readelf -d "$f" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p')"
      echo "$f: run path '$runpath'"
      case "$runpath" in
        *"${ADARTS_BUILD_DIR:?ADARTS_BUILD_DIR: the build tree}"*) fail "$f has a run path into the build tree" ;;
      esac
    fi
  done
  echo "check_layout: ok"
)

# build_c_cmake PREFIX SCRATCH: examples/c configured and built out of tree,
# finding adarts in PREFIX only.
build_c_cmake() (
  prefix="$1" scratch="$2"
  fresh_dir "$scratch"
  # The package's interface is the C header and libadarts: no LibTorch in it.
  if grep -il torch "$prefix/$libdir_rel/cmake/adarts/"*.cmake; then fail "LibTorch in the CMake package"; fi
  "$CMAKE" -S "$src/examples/c" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$prefix"
  grep -q "^adarts_DIR:PATH=$prefix/" "$scratch/build/CMakeCache.txt" || fail "find_package(adarts) did not find $prefix"
  "$CMAKE" --build "$scratch/build"
)

c_cmake() (
  build_c_cmake "$1" "$2"
  # The example writes its out dirs into the current folder: its own, not ctest's (shared by every test).
  cd "$2" && run_expect 'test: .*top1' "$2/build/search_and_train" --tiny
)

c_pkgconfig() (
  prefix="$1" scratch="$2"
  fresh_dir "$scratch"
  pc_path="$prefix/$libdir_rel/pkgconfig"
  env PKG_CONFIG_PATH="$pc_path" pkg-config --exists 'adarts >= 0.3' || fail "pkg-config: no adarts >= 0.3 in $pc_path"
  flags="$(env PKG_CONFIG_PATH="$pc_path" pkg-config --cflags --libs adarts)"
  echo "pkg-config --cflags --libs adarts: $flags"
  # Only the prefix's own folders and -ladarts: any other word naming torch is
  # LibTorch leaking in (the prefix itself may contain "torch", as build-torch2 does).
  case "$(echo "$flags" | sed "s|$prefix/[^ ]*||g")" in *torch*) fail "LibTorch in adarts.pc" ;; esac
  # The installed library is outside the loader's folders: a run path to it.
  # shellcheck disable=SC2086 # split on purpose
  "$CC" -std=c99 -Wall -Wextra -Werror -o "$scratch/search_and_train" "$src/examples/c/search_and_train.c" \
    $flags -Wl,-rpath,"$(env PKG_CONFIG_PATH="$pc_path" pkg-config --variable=libdir adarts)"
  cd "$scratch" && run_expect 'test: .*top1' "$scratch/search_and_train" --tiny
)

java_example() (
  prefix="$1" scratch="$2"
  fresh_dir "$scratch"
  jar="$prefix/$datadir_rel/java/adarts.jar"
  "${JAVAC:-javac}" --release 11 -encoding UTF-8 -Xlint:all -cp "$jar" -d "$scratch/classes" \
    "$src/examples/java/SearchExample.java"
  run_expect 'round trip: ok' "${JAVA:-java}" -Djava.library.path="$prefix/$libdir_rel/jni" \
    -cp "$jar:$scratch/classes" SearchExample "$scratch/out"
)

csharp_example() (
  prefix="$1" scratch="$2"
  fresh_dir "$scratch"
  assemblies="$prefix/$libdir_rel/adarts/csharp"
  "${MCS:-mcs}" -nologo -warn:4 -r:"$assemblies/Adarts.dll" -out:"$scratch/SearchExample.exe" \
    "$src/examples/csharp/SearchExample.cs"
  # mono loads Adarts.dll from MONO_PATH, and its glue library from beside it.
  run_expect 'round trip: ok' env MONO_PATH="$assemblies" "${MONO:-mono}" --debug "$scratch/SearchExample.exe" "$scratch/out"
)

python_example() (
  prefix="$1" scratch="$2"
  fresh_dir "$scratch"
  # -S: no site folders, so `import adarts` can only come from PYTHONPATH.
  run_expect 'round trip: ok' env PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH="$prefix/${ADARTS_PYTHON_DIR:?ADARTS_PYTHON_DIR: the Python package folder under the prefix}" \
    "${PYTHON:-python3}" -S \
    "$src/examples/python/search_example.py" "$scratch/out"
)

deb_package() (
  build="$1" scratch="$2"
  fresh_dir "$scratch"
  # cpack installs the build tree into its own folder under $scratch.
  "${CPACK:-cpack}" -G DEB --config "$build/CPackConfig.cmake" -B "$scratch"
  set -- "$scratch"/adarts_*.deb
  [ -f "$1" ] || fail "cpack wrote no adarts_*.deb"
  package="$1"
  dpkg-deb -I "$package"
  # The libraries we link are declared (dpkg-shlibdeps), not shipped.
  dpkg-deb -f "$package" Depends | grep -q libtorch || fail "Depends names no libtorch package"
  if dpkg-deb -c "$package" | grep -E 'libtorch|libc10'; then fail "LibTorch inside the package"; fi
  dpkg-deb -x "$package" "$scratch/root"
  root="$scratch/root/usr"
  run_expect '^adarts [0-9]+\.[0-9]+\.[0-9]+$' env LD_LIBRARY_PATH="$root/$libdir_rel" "$root/bin/adarts" --version
  c_pkgconfig "$root" "$scratch/c_pkgconfig"
  # The CMake package is relocatable too (built only: the run above took the time).
  build_c_cmake "$root" "$scratch/c_cmake"
)

case "${1:-}" in
  install_prefix | deb_package)
    [ $# -eq 3 ] || fail "usage: $0 $1 BUILD PREFIX|SCRATCH"
    "$@" ;;
  check_layout | c_cmake | c_pkgconfig | java_example | csharp_example | python_example)
    [ $# -eq 3 ] || fail "usage: $0 $1 PREFIX SCRATCH"
    "$@" ;;
  *) fail "usage: $0 install_prefix|check_layout|c_cmake|c_pkgconfig|java_example|csharp_example|python_example|deb_package ..." ;;
esac
