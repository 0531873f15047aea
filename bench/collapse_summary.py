#!/usr/bin/env python3
"""Summary table of collapse-experiment runs (standard library only).

Usage: bench/collapse_summary.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR holds the metrics.jsonl and config.json of one `adarts search`.
Per run: eta, epochs, the last epoch's validation accuracy and collapse
figures (mean softmax weight of none over the normal edges; skip share: normal
edges whose strongest op other than none is skip_connect; parameter-free share
of the kept genotype edges, normal and reduce), and the
fidelity cosines averaged over every probe of the run (each epoch's mean
weighted by its number of probes).
"""
import json
import os
import sys

COSINES = [
    ("cos_amended_fd", "cos(g2' fd, g2)"),
    ("cos_amended_exact", "cos(g2' exact, g2)"),
    ("cos_second_order", "cos(g2'', g2)"),
    ("cos_full_amended_fd", "cos(g1+g2', g)"),
    ("cos_full_second_order", "cos(g1+g2'', g)"),
    ("cos_full_first_order", "cos(g1, g)"),
]


def read_run(run_dir):
    lines = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                lines.append(json.loads(line))
    config = {}
    config_path = os.path.join(run_dir, "config.json")
    if os.path.exists(config_path):
        with open(config_path) as f:
            config = json.load(f)
    return config, lines


def fidelity_means(lines):
    sums, probes = {}, 0
    for line in lines:
        fid = line.get("fidelity") or {}
        n = fid.get("probes", 0) or 0
        if n == 0:
            continue
        probes += n
        for key, value in fid.items():
            if key != "probes" and isinstance(value, (int, float)):
                sums[key] = sums.get(key, 0.0) + value * n
    return {k: v / probes for k, v in sums.items()}, probes


def fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    header = ["run", "eta", "epochs", "val acc", "none weight", "skip share", "param-free share", "probes"]
    header += [label for _, label in COSINES]
    rows = []
    for run_dir in argv[1:]:
        try:
            config, lines = read_run(run_dir)
        except (OSError, ValueError) as e:
            print(f"{run_dir}: cannot read metrics ({e})", file=sys.stderr)
            continue
        if not lines:
            print(f"{run_dir}: no epochs recorded", file=sys.stderr)
            continue
        last = lines[-1]
        collapse = last.get("collapse", {})
        fid, probes = fidelity_means(lines)
        row = [os.path.basename(os.path.normpath(run_dir)), str(config.get("eta", "?")), str(last.get("epoch")),
               fmt(last.get("val_accuracy")), fmt(collapse.get("none_weight_mean")), fmt(collapse.get("skip_share"), 2),
               fmt(collapse.get("parameter_free_share"), 2), str(probes)]
        row += [fmt(fid.get(key)) for key, _ in COSINES]
        rows.append(row)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
