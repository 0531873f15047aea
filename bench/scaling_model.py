#!/usr/bin/env python3
"""Paper scaling model of a data-parallel search step (docs/distributed.md).

Inputs: the bytes and collectives one rank all-reduces per step (measured by
bench_search_step as a rank: device-independent), the compute time of one
step on one device at the global batch, T_c(B), and the floor below which a
smaller per-rank batch stops making the step faster (kernel-launch bound on a
GPU), and the all-reduce bus bandwidth and per-call latency of the target
interconnect (published nccl-tests figures, or measured ones).

    t_comm(N) = 2 (N-1)/N * S / busbw + calls * latency        (ring all-reduce, no overlap)
    T(N)      = max(T_c(B) / N, floor) + t_comm(N)
    speedup   = T_c(B) / T(N)

Prints a Markdown table for N = 1, 2, 4, 8.
"""
import argparse


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bytes", type=float, required=True, help="bytes all-reduced per step by one rank")
    p.add_argument("--calls", type=float, required=True, help="collectives per step")
    p.add_argument("--step-seconds", type=float, required=True, help="T_c(B): one step on one device")
    p.add_argument("--floor-seconds", type=float, default=0.0, help="the step time no smaller batch goes below")
    p.add_argument("--busbw-gbs", type=float, required=True, help="all-reduce bus bandwidth, GB/s")
    p.add_argument("--latency-us", type=float, required=True, help="per-collective latency, microseconds")
    p.add_argument("--label", default="", help="a name for the row group")
    a = p.parse_args()
    print(f"| {a.label} N | compute s | communication s | step s | speedup | efficiency |")
    print("|---|---|---|---|---|---|")
    for n in (1, 2, 4, 8):
        compute = max(a.step_seconds / n, a.floor_seconds) if n > 1 else a.step_seconds
        comm = 0.0 if n == 1 else 2 * (n - 1) / n * a.bytes / (a.busbw_gbs * 1e9) + a.calls * a.latency_us * 1e-6
        step = compute + comm
        speedup = a.step_seconds / step
        print(f"| {n} | {compute:.4f} | {comm:.4f} | {step:.4f} | {speedup:.2f} | {speedup / n:.0%} |")


if __name__ == "__main__":
    main()
