#!/bin/sh
# Clean-build time of one or more revisions, one after the other, the same
# way (Release, everything, -j JOBS); prints seconds and the core's
# translation units. Run it on an otherwise idle machine.
#   bench/build_time.sh 8a9147d HEAD        (JOBS=2 by default)
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for rev in "$@"; do
  src="$work/src-$rev"
  git -C "$repo" worktree add -q --detach "$src" "$rev"
  cmake -S "$src" -B "$work/build-$rev" -DCMAKE_BUILD_TYPE=Release > /dev/null
  start=$(date +%s)
  cmake --build "$work/build-$rev" -j "${JOBS:-2}" > "$work/build-$rev.log" 2>&1 || { echo "$rev: build failed"; tail "$work/build-$rev.log"; }
  end=$(date +%s)
  units=$(grep -c "Building CXX object CMakeFiles/adarts_core.dir/src" "$work/build-$rev.log" || true)
  echo "$rev: $((end - start)) s clean build, $units adarts_core translation units"
  git -C "$repo" worktree remove --force "$src"
done
