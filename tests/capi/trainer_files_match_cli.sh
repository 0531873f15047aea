#!/bin/sh
# A trainer driven through the C ABI writes the files `adarts train` writes,
# with the same contents: config.json (but out_dir), genotype.json,
# metrics.jsonl (but the timings), model.pt and the checkpoints.
#   trainer_files_match_cli.sh ADARTS_CLI TRAINER_FILES GENOTYPE_JSON WORK_DIR
set -eu
cli=$1 program=$2 genotype=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$cli" train --genotype "$genotype" --dataset synthetic --train-subset 32 --test-subset 16 --channels 4 \
  --layers 3 --epochs 2 --batch-size 16 --threads 1 --out "$work/cli" > /dev/null
# Every key of the CLI's run, written out by the CLI itself, with another out_dir.
sed "s#\"out_dir\":\"[^\"]*\"#\"out_dir\":\"$work/capi\"#" "$work/cli/config.json" > "$work/capi.json"
"$program" "$genotype" "$work/capi.json" 2
listing() { (cd "$1" && find . -type f ! -name '*.tmp' | sort); }
listing "$work/cli" > "$work/cli.files"
listing "$work/capi" > "$work/capi.files"
diff "$work/cli.files" "$work/capi.files" || { echo "FAIL: other files"; exit 1; }
cmp "$work/cli/genotype.json" "$work/capi/genotype.json" || { echo "FAIL: genotype.json differs"; exit 1; }
cmp "$work/capi.json" "$work/capi/config.json" || { echo "FAIL: config.json differs"; exit 1; }
untimed() { sed 's/"seconds":[^,}]*//' "$1"; }
untimed "$work/cli/metrics.jsonl" > "$work/cli.metrics"
untimed "$work/capi/metrics.jsonl" > "$work/capi.metrics"
diff "$work/cli.metrics" "$work/capi.metrics" || { echo "FAIL: metrics differ"; exit 1; }
[ "$(wc -l < "$work/capi.metrics")" -eq 2 ] && grep -q '"test_top1"' "$work/capi.metrics" || { echo "FAIL: metrics lines"; exit 1; }
echo "PASS: $(wc -l < "$work/capi.files") files alike"
