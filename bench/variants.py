#!/usr/bin/env python3
"""Measures one lever: bench_search_step with a common set of arguments and
two or more variants of a few more, interleaved round by round (A B A B ...,
every other round reversed), one process per run. Prints per variant the
median of the round medians, the peak RSS and the minor faults per step, and
per round the ratio of each variant to the first (the pair ran back to back,
so the ratio is what the noisy host leaves comparable).

  python3 bench/variants.py --common "--config A --estimator first_order --repeats 3" \\
      --variant "--fused-sum 0" --variant "--fused-sum 1" --rounds 3

A variant may name another binary: "BIN=/tmp/old/bench_search_step --hvp exact".
Standard library only.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(binary, args):
    cmd = [binary] + args + ["--json", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (out.returncode, " ".join(cmd), out.stderr[-2000:]))
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    sys.exit("no JSON line from: " + " ".join(cmd))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default=os.path.join(REPO, "build", "bench_search_step"))
    p.add_argument("--common", default="", help="arguments every run gets")
    p.add_argument("--variant", action="append", required=True, help="extra arguments of one variant (repeat)")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()

    variants = []
    for v in a.variant:
        words = shlex.split(v)
        binary = a.bench
        if words and words[0].startswith("BIN="):
            binary = words.pop(0)[4:]
        variants.append((v, binary, words))
    results = {v[0]: [] for v in variants}
    for r in range(a.rounds):
        order = variants if r % 2 == 0 else variants[::-1]
        for label, binary, words in order:
            res = run(binary, shlex.split(a.common) + words)
            results[label].append(res)
            print("round %d  %-40s median %.3f s/step, peak RSS %.0f MiB, %s minor faults/step"
                  % (r + 1, label, res["median_s"], res["peak_rss_mib"], res.get("minor_faults_per_step")),
                  file=sys.stderr, flush=True)

    first = variants[0][0]
    print("common: `%s`, %d rounds (interleaved)" % (a.common, a.rounds))
    print()
    print("| variant | median of round medians, s/step | round medians | peak RSS MiB | minor faults/step "
          "| ratio to `%s`, per round | median ratio |" % first)
    print("|---|---:|---|---:|---:|---|---:|")
    for label, _, _ in variants:
        res = results[label]
        medians = [x["median_s"] for x in res]
        ratios = [x["median_s"] / y["median_s"] for x, y in zip(res, results[first])]
        faults = [x.get("minor_faults_per_step") for x in res if x.get("minor_faults_per_step") is not None]
        print("| `%s` | %.3f | %s | %.0f | %s | %s | %.3f |" % (
            label, statistics.median(medians), ", ".join("%.3f" % m for m in medians),
            max(x["peak_rss_mib"] for x in res), "%.0f" % statistics.median(faults) if faults else "n/a",
            ", ".join("%.3f" % q for q in ratios), statistics.median(ratios)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
