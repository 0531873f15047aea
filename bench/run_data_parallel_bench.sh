#!/bin/sh
# Data-parallel search on one CPU host (issue 15): 2 ranks x 1 thread against
# 1 rank x 2 threads, the same global batch, per estimator, interleaved over
# ROUNDS rounds in one run (the host is shared and noisy: compare within a
# round, quote medians and ratios). Each rank is its own process, so each peak
# RSS is that rank's. Prints every bench line, then a table of medians.
# Usage: bench/run_data_parallel_bench.sh [config] [repeats] [rounds] [estimators]
set -eu
BIN="${BIN:-$(dirname "$0")/../build/bench_search_step}"
CONFIG="${1:-B}"
REPEATS="${2:-5}"
ROUNDS="${3:-2}"
ESTIMATORS="${4:-first_order second_order amended implicit}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for est in $ESTIMATORS; do
    common="--config $CONFIG --estimator $est --repeats $REPEATS --warmup 1"
    # The result is the last line (an estimator may log warnings before it).
    line=$("$BIN" $common --threads 2 | tail -n 1)
    echo "round $round one-rank $line"
    rdv="file://$work/rdv-$round-$est"
    "$BIN" $common --threads 1 --world-size 2 --rank 1 --rendezvous "$rdv" > "$work/rank1" &
    pid=$!
    line=$("$BIN" $common --threads 1 --world-size 2 --rank 0 --rendezvous "$rdv" | tail -n 1)
    wait "$pid"
    echo "round $round two-ranks $line"
    echo "round $round two-ranks $(tail -n 1 "$work/rank1")"
  done
done | tee "$work/lines"
python3 - "$work/lines" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.search(r"^round (\d+) (\S+) .*estimator (\S+).*median\s+([\d.]+) s/step.*peak RSS\s+(\d+) MiB", line)
    if not m:
        continue
    rnd, mode, est, sec, rss = m.groups()
    rank = re.search(r"rank (\d+)/", line)
    key = (est, mode)
    r = rows.setdefault(key, {"s": [], "rss": [], "mb": [], "share": [], "calls": []})
    if mode == "one-rank" or (rank and rank.group(1) == "0"):
        r["s"].append(float(sec))
    r["rss"].append(int(rss))
    c = re.search(r"all-reduced ([\d.]+) MB/step in (\d+) calls, [\d.]+ s/step in collectives \((\d+)%\)", line)
    if c:
        r["mb"].append(float(c.group(1))); r["calls"].append(int(c.group(2))); r["share"].append(int(c.group(3)))
print()
print("| estimator | 1 rank x 2 threads, s/step | 2 ranks x 1 thread, s/step | time ratio (2 ranks / 1 rank) | peak RSS MiB, 1 rank -> each of 2 ranks | MB all-reduced per step | collectives per step | share of step in collectives |")
print("|---|---|---|---|---|---|---|---|")
for est in dict.fromkeys(k[0] for k in rows):
    one, two = rows.get((est, "one-rank")), rows.get((est, "two-ranks"))
    if not one or not two:
        continue
    s1, s2 = statistics.median(one["s"]), statistics.median(two["s"])
    print(f"| {est} | {s1:.3f} | {s2:.3f} | {s2 / s1:.2f} | {statistics.median(one['rss']):.0f} -> {statistics.median(two['rss']):.0f} "
          f"| {statistics.median(two['mb']):.3f} | {statistics.median(two['calls']):.0f} | {statistics.median(two['share']):.0f}% |")
PY
