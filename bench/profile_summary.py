#!/usr/bin/env python3
"""Where a profiled search step's time goes, per operation (issue 16).

Reads the Chrome trace that `bench_search_step --profile PATH` writes
(LibTorch's profiler around the timed steps) and prints, per operation name,
its self time (its duration less that of the operations it called), share of
the total, calls and mean self time, largest first. Self times add up to the
profiled time without double counting nested operations.

Usage: bench/profile_summary.py TRACE [--top N] [--steps S]
"""
import argparse
import collections
import json


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--steps", type=int, default=1, help="profiled steps, to print per-step milliseconds")
    a = p.parse_args()
    with open(a.trace) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    by_thread = collections.defaultdict(list)
    for e in spans:
        by_thread[(e.get("pid"), e.get("tid"))].append(e)
    self_us = collections.Counter()
    calls = collections.Counter()
    for thread in by_thread.values():
        thread.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, name, children's total]
        def close(item):
            end, name, children, dur = item
            self_us[name] += max(dur - children, 0.0)
            if stack:
                stack[-1][2] += dur
        for e in thread:
            ts, dur = float(e["ts"]), float(e["dur"])
            while stack and stack[-1][0] <= ts:
                close(stack.pop())
            stack.append([ts + dur, e["name"], 0.0, dur])
            calls[e["name"]] += 1
        while stack:
            close(stack.pop())
    total = sum(self_us.values())
    print(f"profiled: {total / 1e3 / a.steps:.1f} ms per step of self time over {a.steps} step(s), "
          f"{sum(calls.values())} operation calls")
    print("| operation | self ms/step | share | calls/step | mean self us |")
    print("|---|---|---|---|---|")
    for name, us in self_us.most_common(a.top):
        print(f"| {name} | {us / 1e3 / a.steps:.1f} | {us / total:.1%} | {calls[name] / a.steps:.0f} | {us / calls[name]:.0f} |")


if __name__ == "__main__":
    main()
