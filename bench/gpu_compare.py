#!/usr/bin/env python3
"""Runs our search-step benchmark (bench_search_step) and the original DARTS
step (bench/reference/darts_step.py) side by side, interleaved, one process per
case and round, and prints a Markdown table with the ratios of issue 13 (GPU)
or issue 16 (CPU, --size A or B).

  python3 bench/gpu_compare.py --bench build-gpu/bench_search_step \\
      --darts .deps/darts/cnn --device cuda
  python3 bench/gpu_compare.py --python /usr/bin/python3 --device cpu --threads 2 --size B \\
      --time-target 0.30 --mem-target 0.35

Each process prints '# measure begin' / '# measure end' around its timed steps
and then one JSON line; between the two markers the GPU utilisation is sampled
(nvidia-smi -lms 100, else pynvml, else n/a). Standard library only.
"""
import argparse
import collections
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Our cases: (config, estimator, hvp, precision, cuda_graph, recompute_edges).
# Config "G" means the size chosen with --size (G, A, B or tiny).
ADARTS_CASES = collections.OrderedDict([
    ("adarts-first",         ("G", "first_order",  "finite_difference", "fp32", 0, 0)),
    ("adarts-second",        ("G", "second_order", "finite_difference", "fp32", 0, 0)),
    ("adarts-amended-fd",    ("G", "amended",      "finite_difference", "fp32", 0, 0)),
    ("adarts-amended-exact", ("G", "amended",      "exact",             "fp32", 0, 0)),
    ("adarts-first-recompute",         ("G", "first_order",  "finite_difference", "fp32", 0, 1)),
    ("adarts-second-recompute",        ("G", "second_order", "finite_difference", "fp32", 0, 1)),
    ("adarts-amended-fd-recompute",    ("G", "amended",      "finite_difference", "fp32", 0, 1)),
    ("adarts-amended-exact-recompute", ("G", "amended",      "exact",             "fp32", 0, 1)),
    ("adarts-first-graph",   ("G", "first_order",  "finite_difference", "fp32", 1, 0)),
    ("adarts-amended-graph", ("G", "amended",      "finite_difference", "fp32", 1, 0)),
    ("adarts-first-bf16",    ("G", "first_order",  "finite_difference", "bf16", 0, 0)),
    ("adarts-amended-bf16",  ("G", "amended",      "finite_difference", "bf16", 0, 0)),
    ("paper-epoch",          ("P", "amended",      "finite_difference", "fp32", 0, 0)),
])
REF_CASES = collections.OrderedDict([
    ("ref-first", "first"),
    ("ref-second", "second"),
])
ALL_CASES = list(ADARTS_CASES) + list(REF_CASES)
# Without --cases: the GPU comparison of issue 13 (no recomputed edges).
DEFAULT_CASES = [c for c in ALL_CASES if "recompute" not in c]

# Configs G (the GPU comparison of issue 13), A and B (the CPU comparison of
# issue 16) of bench_search_step; the reference is given the same numbers
# explicitly. tiny is a dry run.
SIZES = {"G": {"channels": 16, "layers": 8, "batch": 64, "image": 32},
         "A": {"channels": 16, "layers": 8, "batch": 32, "image": 32},
         "B": {"channels": 8, "layers": 5, "batch": 32, "image": 32},
         "tiny": {"channels": 4, "layers": 3, "batch": 8, "image": 16}}

# (ours, reference, time target, note)
RATIOS = [
    ("adarts-first", "ref-first", ""),
    ("adarts-amended-fd", "ref-second", ""),
    ("adarts-first-graph", "ref-first", "CUDA graph"),
    ("adarts-amended-graph", "ref-second", "CUDA graph"),
    ("adarts-second", "ref-second", "same estimator"),
    ("adarts-first-bf16", "ref-first", "bf16 vs fp32"),
    ("adarts-amended-bf16", "ref-second", "bf16 vs fp32"),
    ("adarts-first-recompute", "ref-first", "recomputed edges"),
    ("adarts-second-recompute", "ref-second", "recomputed edges"),
    ("adarts-amended-fd-recompute", "ref-second", "recomputed edges"),
    ("adarts-amended-exact-recompute", "ref-second", "recomputed edges"),
]
# Ours against ours (issue 16): (numerator, denominator, time and memory target).
INTERNAL_RATIOS = [
    ("adarts-amended-fd", "adarts-second", 1.10),
    ("adarts-amended-exact", "adarts-amended-fd", 1.5),
    ("adarts-amended-exact-recompute", "adarts-amended-fd-recompute", 1.5),
]

PAPER_EPOCH_MIN = 29.0    # the paper: 0.02 GPU-days on a V100
EPOCH_TRAIN_IMAGES = 25000


def log(*a):
    print("[gpu_compare]", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- GPU sampler

class GpuSampler:
    """Samples utilization.gpu of one GPU every 100 ms between start() and stop()."""

    def __init__(self, index):
        self.index = index
        self.samples = []
        self.source = None
        self._proc = None
        self._thread = None
        self._stop = threading.Event()
        self._nvml = None
        if shutil.which("nvidia-smi"):
            self.source = "nvidia-smi"
        else:
            try:
                import pynvml  # noqa: F401
                pynvml.nvmlInit()
                self._nvml = pynvml
                self.source = "pynvml"
            except Exception:
                self.source = None

    def start(self):
        self.samples = []
        self._stop.clear()
        if self.source == "nvidia-smi":
            self._proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                 "-lms", "100", "-i", str(self.index)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self._thread = threading.Thread(target=self._read_smi, daemon=True)
            self._thread.start()
        elif self.source == "pynvml":
            self._thread = threading.Thread(target=self._poll_nvml, daemon=True)
            self._thread.start()

    def _read_smi(self):
        for line in self._proc.stdout:
            try:
                self.samples.append(float(line.strip()))
            except ValueError:
                pass

    def _poll_nvml(self):
        try:
            h = self._nvml.nvmlDeviceGetHandleByIndex(int(self.index))
        except Exception:
            return
        while not self._stop.is_set():
            try:
                self.samples.append(float(self._nvml.nvmlDeviceGetUtilizationRates(h).gpu))
            except Exception:
                pass
            self._stop.wait(0.1)

    def stop(self):
        self._stop.set()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        return self.mean()

    def mean(self):
        return statistics.mean(self.samples) if self.samples else None


def gpu_index(device):
    """nvidia-smi's -i for a torch device string (honours CUDA_VISIBLE_DEVICES)."""
    n = int(device.split(":", 1)[1]) if ":" in device else 0
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return visible[n] if n < len(visible) else str(n)


# ---------------------------------------------------------------- one process

def run_process(cmd, timeout, sampler, verbose):
    """Runs cmd, samples the GPU between the markers, returns a record."""
    rec = {"cmd": cmd, "rc": None, "result": None, "gpu_util_mean": None,
           "gpu_util_samples": 0, "timed_out": False, "error": None}
    t0 = time.time()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                bufsize=1, start_new_session=True, cwd=REPO)
    except OSError as e:
        rec["error"] = "cannot start: %s" % e
        rec["stderr_tail"] = ""
        return rec
    err_tail = collections.deque(maxlen=40)

    def drain():
        for line in proc.stderr:
            err_tail.append(line.rstrip("\n"))
            if verbose:
                print("    | " + line.rstrip("\n"), file=sys.stderr, flush=True)
    t_err = threading.Thread(target=drain, daemon=True)
    t_err.start()

    def kill():
        rec["timed_out"] = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    watchdog = threading.Timer(timeout, kill)
    watchdog.start()

    out_lines = []
    sampling = False
    try:
        for line in proc.stdout:
            s = line.strip()
            if s == "# measure begin":
                if sampler is not None:
                    sampler.start()
                    sampling = True
            elif s == "# measure end":
                if sampling:
                    rec["gpu_util_mean"] = sampler.stop()
                    rec["gpu_util_samples"] = len(sampler.samples)
                    sampling = False
            elif s:
                out_lines.append(s)
        proc.wait()
    except BaseException:          # Ctrl-C: do not leave the case running
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        raise
    finally:
        watchdog.cancel()
        if sampling:
            sampler.stop()
    t_err.join(timeout=5)
    rec["rc"] = proc.returncode
    rec["wall_s"] = time.time() - t0
    rec["stderr_tail"] = "\n".join(list(err_tail)[-20:])
    for s in reversed(out_lines):
        if s.startswith("{"):
            try:
                rec["result"] = json.loads(s)
            except ValueError as e:
                rec["error"] = "bad JSON line: %s" % e
            break
    if rec["timed_out"]:
        rec["error"] = "timed out after %d s" % timeout
    elif rec["rc"] != 0:
        rec["error"] = "exit status %s" % rec["rc"]
    elif rec["result"] is None and rec["error"] is None:
        rec["error"] = "no JSON line on stdout"
    return rec


# ---------------------------------------------------------------- commands

def size_args(cfg):
    return ["--channels", str(cfg["channels"]), "--layers", str(cfg["layers"]),
            "--batch", str(cfg["batch"]), "--image", str(cfg["image"])]


def case_command(name, a):
    if name in ADARTS_CASES:
        config, est, hvp, prec, graph, recompute = ADARTS_CASES[name]
        if config == "G" and a.size != "tiny":
            config = a.size
        cmd = [a.bench, "--device", a.device, "--config", config, "--estimator", est,
               "--hvp", hvp, "--repeats", str(a.steps), "--warmup", str(a.warmup),
               "--precision", prec, "--cuda-graph", str(graph), "--json", "1"]
        if recompute:
            cmd += ["--recompute", "1"]
        if a.size == "tiny":
            cmd += size_args(SIZES["tiny"])
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        return cmd + a.bench_arg
    order = REF_CASES[name]
    cmd = [a.python, a.ref_script, "--darts", a.darts, "--device", a.device, "--order", order,
           "--warmup", str(a.warmup), "--steps", str(a.steps), "--seed", str(a.seed)]
    cmd += size_args(SIZES[a.size])
    if a.threads:
        cmd += ["--threads", str(a.threads)]
    return cmd


def interleaved(cases, round_index):
    """Ours and the reference alternately; every other round reversed."""
    ours = [c for c in cases if c in ADARTS_CASES]
    refs = [c for c in cases if c in REF_CASES]
    order = []
    while ours or refs:
        if ours:
            order.append(ours.pop(0))
        if refs:
            order.append(refs.pop(0))
    return order[::-1] if round_index % 2 else order


# ---------------------------------------------------------------- summary

def summarize(name, records):
    ok = [r for r in records if r["error"] is None]
    s = {"case": name, "runs": len(records), "ok": len(ok)}
    if not ok:
        s["status"] = "failed"
        last = records[-1] if records else {}
        s["error"] = last.get("error")
        s["stderr_tail"] = last.get("stderr_tail", "")
        return s
    s["status"] = "ok" if len(ok) == len(records) else "partly failed"
    res = [r["result"] for r in ok]
    s["round_median_s"] = [x["median_s"] for x in res]
    s["median_s"] = statistics.median(s["round_median_s"])
    s["min_s"] = min(x["min_s"] for x in res)
    mems = [x.get("peak_mem_mib") for x in res if x.get("peak_mem_mib") is not None]
    resv = [x.get("peak_reserved_mib") for x in res if x.get("peak_reserved_mib") is not None]
    s["peak_mem_mib"] = max(mems) if mems else None
    s["peak_reserved_mib"] = max(resv) if resv else None
    faults = [x["minor_faults_per_step"] for x in res if x.get("minor_faults_per_step") is not None]
    s["minor_faults_per_step"] = statistics.median(faults) if faults else None
    flops = [x["model_gflops"] for x in res if x.get("model_gflops") is not None]
    s["model_gflops"] = statistics.median(flops) if flops else None
    utils = [r["gpu_util_mean"] for r in ok if r["gpu_util_mean"] is not None]
    s["gpu_util_mean"] = statistics.mean(utils) if utils else None
    first = res[0]
    for k in ("impl", "device", "config", "estimator", "hvp", "precision", "cuda_graph", "steps",
              "torch", "shims"):
        if k in first:
            s[k] = first[k]
    if s["status"] != "ok":
        bad = [r for r in records if r["error"] is not None][-1]
        s["error"] = bad["error"]
        s["stderr_tail"] = bad["stderr_tail"]
    return s


def fmt(x, spec="%.1f", none="n/a"):
    return none if x is None else spec % x


def ms(x):
    return fmt(None if x is None else 1e3 * x, "%.2f")


def config_str(c):
    if not c:
        return "?"
    return "C=%s L=%s b=%s %spx" % (c.get("channels"), c.get("layers"), c.get("batch"), c.get("image"))


def same_config(a, b):
    keys = ("channels", "layers", "batch", "image")
    return all((a.get("config") or {}).get(k) == (b.get("config") or {}).get(k) for k in keys)


def markdown(summary, ratios, internal, paper, meta):
    out = []
    out.append("## Search step: adarts vs original DARTS (%s)" % meta["device"])
    out.append("")
    out.append("rounds: %d, timed steps per process: %d after %d warm-up; darts commit %s; reference torch %s"
               % (meta["rounds"], meta["steps"], meta["warmup"], meta.get("darts_commit") or "?",
                  meta.get("ref_torch") or "?"))
    out.append("")
    out.append("| case | status | config | median ms/step | round medians (ms) | min ms | peak alloc MiB "
               "| peak reserved MiB | GPU util % | minor faults/step | model GFLOP/s |")
    out.append("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for s in summary:
        if s["ok"] == 0:
            out.append("| %s | failed: %s | | | | | | | | | |" % (s["case"], s.get("error")))
            continue
        label = s["case"]
        extra = []
        if s.get("precision") and s["precision"] != "fp32":
            extra.append(s["precision"])
        if s.get("cuda_graph"):
            extra.append("graph")
        out.append("| %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, s["status"], config_str(s.get("config")),
            (" " + ",".join(extra)) if extra else "",
            ms(s["median_s"]), ", ".join(ms(x) for x in s["round_median_s"]), ms(s["min_s"]),
            fmt(s["peak_mem_mib"]), fmt(s["peak_reserved_mib"]), fmt(s["gpu_util_mean"]),
            fmt(s.get("minor_faults_per_step"), "%.0f"), fmt(s.get("model_gflops"))))
    out.append("")
    if ratios:
        out.append("### Ratios (ours / reference; target: time <= %.2fx, peak memory <= %.2fx)"
                   % (meta["time_target"], meta["mem_target"]))
        out.append("")
        out.append("| ours / reference | time | time target | peak alloc | memory target | peak reserved | note |")
        out.append("|---|---:|---|---:|---|---:|---|")
        for r in ratios:
            out.append("| %s / %s | %s | %s | %s | %s | %s | %s |" % (
                r["ours"], r["reference"], fmt(r["time_ratio"], "%.3fx"),
                r["time_target"], fmt(r["mem_ratio"], "%.3fx"), r["mem_target"],
                fmt(r["reserved_ratio"], "%.3fx"), r["note"]))
        out.append("")
    if internal:
        out.append("### Ours against ours (time and peak memory, target each)")
        out.append("")
        out.append("| ratio | time | peak memory | target | time target | memory target |")
        out.append("|---|---:|---:|---:|---|---|")
        for r in internal:
            out.append("| %s / %s | %s | %s | <= %.2fx | %s | %s |" % (
                r["numerator"], r["denominator"], fmt(r["time_ratio"], "%.3fx"), fmt(r["mem_ratio"], "%.3fx"),
                r["target"], r["time_target"], r["mem_target"]))
        out.append("")
    if paper:
        out.append("### Epoch time at the paper's setting (paper-epoch)")
        out.append("")
        out.append("%s: ceil(%d/%d) = %d steps x %s ms = **%.1f min/epoch** (search steps only: "
                   "excludes the validation pass and data loading); paper: %.0f min "
                   "(0.02 GPU-days on a V100)."
                   % (config_str(paper["config"]), EPOCH_TRAIN_IMAGES, paper["config"]["batch"],
                      paper["steps_per_epoch"], ms(paper["median_s"]), paper["minutes_per_epoch"],
                      PAPER_EPOCH_MIN))
        out.append("")
    failed = [s for s in summary if s.get("error")]
    for s in failed:
        out.append("### %s: %s (%s)" % (s["case"], s["status"], s["error"]))
        out.append("")
        out.append("```")
        out.append(s.get("stderr_tail") or "(no stderr)")
        out.append("```")
        out.append("")
    return "\n".join(out)


def compute_internal_ratios(by_name):
    out = []
    for num, den, target in INTERNAL_RATIOS:
        a, b = by_name.get(num), by_name.get(den)
        if not a or not b or not a.get("ok") or not b.get("ok"):
            continue
        tr = a["median_s"] / b["median_s"] if b["median_s"] else None
        mr = (a["peak_mem_mib"] / b["peak_mem_mib"]
              if a.get("peak_mem_mib") is not None and b.get("peak_mem_mib") else None)
        out.append({"numerator": num, "denominator": den, "time_ratio": tr, "mem_ratio": mr,
                    "target": target,
                    "time_target": "n/a" if tr is None else ("met" if tr <= target else "not met"),
                    "mem_target": "n/a" if mr is None else ("met" if mr <= target else "not met")})
    return out


def compute_ratios(by_name, time_target, mem_target):
    ratios = []
    for ours, ref, note in RATIOS:
        a, b = by_name.get(ours), by_name.get(ref)
        if not a or not b or not a.get("ok") or not b.get("ok"):
            continue
        tr = a["median_s"] / b["median_s"] if b["median_s"] else None

        def ratio(key):
            if a.get(key) is None or not b.get(key):
                return None
            return a[key] / b[key]
        mr = ratio("peak_mem_mib")
        rr = ratio("peak_reserved_mib")
        n = note
        if not same_config(a, b):
            n = (n + "; " if n else "") + "CONFIGS DIFFER: %s vs %s" % (
                config_str(a.get("config")), config_str(b.get("config")))
        ratios.append({
            "ours": ours, "reference": ref, "time_ratio": tr, "mem_ratio": mr, "reserved_ratio": rr,
            "time_target": "n/a" if tr is None else ("met" if tr <= time_target else "not met"),
            "mem_target": "n/a" if mr is None else ("met" if mr <= mem_target else "not met"),
            "note": n})
    return ratios


# ---------------------------------------------------------------- main

def default_bench(device):
    for d in (("build-gpu", "build") if device.startswith("cuda") else ("build", "build-gpu")):
        p = os.path.join(REPO, d, "bench_search_step")
        if os.path.exists(p):
            return p
    return os.path.join(REPO, "build-gpu", "bench_search_step")


def environment(a):
    env = {"driver_python": sys.version.split()[0], "host": platform.node(),
           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    commit_file = os.path.join(os.path.dirname(os.path.abspath(a.darts)), "COMMIT")
    if os.path.exists(commit_file):
        env["darts_commit"] = open(commit_file).read().strip()
    if shutil.which("nvidia-smi"):
        try:
            env["nvidia_smi"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                 "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception as e:
            env["nvidia_smi"] = "error: %s" % e
    return env


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default=None, help="our bench_search_step (default: build-gpu/, then build/; on --device cpu the other way round)")
    p.add_argument("--python", default=sys.executable, help="Python with torch for the reference")
    p.add_argument("--darts", default=os.path.join(REPO, ".deps", "darts", "cnn"),
                   help="the quark0/darts cnn folder")
    p.add_argument("--ref-script", default=os.path.join(HERE, "reference", "darts_step.py"))
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--cases", default=",".join(DEFAULT_CASES),
                   help="comma list among: " + ", ".join(ALL_CASES))
    p.add_argument("--out", default=None, help="write everything as JSON here")
    p.add_argument("--timeout", type=int, default=600, help="seconds per process")
    p.add_argument("--threads", type=int, default=0, help="passed to both as --threads (0: not passed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true",
                   help="dry run: channels 4, layers 3, batch 8, image 16 for both implementations (--size tiny)")
    p.add_argument("--size", choices=sorted(SIZES), default="G",
                   help="G (GPU, issue 13), A or B (CPU, issue 16): channels, cells, batch, image for both")
    p.add_argument("--time-target", type=float, default=0.25,
                   help="ours / reference time target (issue 13: 0.25; issue 16 on CPU: 0.30)")
    p.add_argument("--mem-target", type=float, default=1.0,
                   help="ours / reference peak memory target (issue 13: 1.0; issue 16 on CPU: 0.35)")
    p.add_argument("--bench-arg", action="append", default=[],
                   help="extra argument for bench_search_step (repeatable)")
    p.add_argument("--verbose", action="store_true", help="echo the processes' stderr")
    a = p.parse_args()
    if a.tiny:
        a.size = "tiny"
    if a.bench is None:
        a.bench = default_bench(a.device)

    cases = []
    for c in (x.strip() for x in a.cases.split(",")):
        if not c:
            continue
        if c not in ALL_CASES:
            log("unknown case %r skipped (known: %s)" % (c, ", ".join(ALL_CASES)))
            continue
        if c not in cases:
            cases.append(c)
    if not cases:
        log("no cases to run")
        return 2
    if any(c in ADARTS_CASES for c in cases) and not os.path.exists(a.bench):
        log("warning: %s does not exist; our cases will fail" % a.bench)
    if any(c in REF_CASES for c in cases) and not os.path.isdir(a.darts):
        log("warning: %s is not a directory (see bench/fetch_darts.md); ref cases will fail" % a.darts)

    sampler = None
    if a.device.startswith("cuda"):
        sampler = GpuSampler(gpu_index(a.device))
        if sampler.source is None:
            log("no nvidia-smi and no pynvml: GPU utilisation n/a")
            sampler = None
    records = {c: [] for c in cases}
    runs = []
    for r in range(a.rounds):
        for c in interleaved(cases, r):
            cmd = case_command(c, a)
            log("round %d/%d %s: %s" % (r + 1, a.rounds, c, " ".join(cmd)))
            rec = run_process(cmd, a.timeout, sampler, a.verbose)
            rec["case"] = c
            rec["round"] = r
            records[c].append(rec)
            runs.append(rec)
            if rec["error"]:
                log("  %s FAILED: %s\n%s" % (c, rec["error"], rec["stderr_tail"]))
            else:
                res = rec["result"]
                log("  %s: median %s ms, min %s ms, peak %s MiB, GPU util %s%% (%.0f s)" % (
                    c, ms(res.get("median_s")), ms(res.get("min_s")), fmt(res.get("peak_mem_mib")),
                    fmt(rec["gpu_util_mean"]), rec["wall_s"]))

    summary = [summarize(c, records[c]) for c in cases]
    by_name = {s["case"]: s for s in summary}
    ratios = compute_ratios(by_name, a.time_target, a.mem_target)
    internal = compute_internal_ratios(by_name)
    paper = None
    pe = by_name.get("paper-epoch")
    if pe and pe.get("ok") and pe.get("config"):
        steps = math.ceil(EPOCH_TRAIN_IMAGES / pe["config"]["batch"])
        paper = {"config": pe["config"], "steps_per_epoch": steps, "median_s": pe["median_s"],
                 "minutes_per_epoch": steps * pe["median_s"] / 60.0,
                 "paper_minutes_per_epoch": PAPER_EPOCH_MIN,
                 "note": "search steps only; excludes the validation pass and data loading"}
    meta = {"device": a.device, "rounds": a.rounds, "steps": a.steps, "warmup": a.warmup,
            "cases": cases, "size": a.size, "tiny": a.size == "tiny",
            "time_target": a.time_target, "mem_target": a.mem_target, "bench": a.bench, "python": a.python, "darts": a.darts,
            "gpu_util_source": sampler.source if sampler else None}
    meta.update(environment(a))
    refs = [s for s in summary if s["case"] in REF_CASES and s.get("torch")]
    if refs:
        meta["ref_torch"] = refs[0]["torch"]
    print(markdown(summary, ratios, internal, paper, meta), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"meta": meta, "summary": summary, "ratios": ratios, "internal_ratios": internal,
                       "paper_epoch": paper,
                       "runs": runs}, f, indent=1)
        log("wrote %s" % a.out)
    return 0 if all(s["status"] == "ok" for s in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
