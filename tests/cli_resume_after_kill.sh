#!/bin/sh
# A search killed with SIGKILL at a random step, then resumed, ends with the
# same alphas (bit for bit, as alphas.json prints them exactly) and genotype as
# an uninterrupted run; a SIGINT stops a run with exit status 130 and a
# checkpoint that resumes to the same result.
# Usage: cli_resume_after_kill.sh ADARTS_BINARY WORK_DIR
set -eu
adarts=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
# exec: in a background subshell `( run ... ) &`, $! is then the adarts process itself.
run() {
  exec "$adarts" search --dataset synthetic --train-subset 96 --channels 4 --layers 2 --batch-size 8 --epochs 2 \
    --threads 1 --checkpoint-every 1 --checkpoint-keep 100 --log-every 100 "$@"
}
count_checkpoints() { ls "$1/checkpoints" 2>/dev/null | grep -c '\.pt$' || true; }
# Waits until $2 has at least $3 checkpoints while process $1 runs.
wait_for_checkpoints() {
  while [ "$(count_checkpoints "$2")" -lt "$3" ]; do
    if ! kill -0 "$1" 2>/dev/null; then echo "FAIL: the run ended before $3 checkpoints"; exit 1; fi
    sleep 0.05
  done
}

( run --out "$work/reference" ) > "$work/reference.log" 2>&1

# 12 steps (2 epochs x 6): kill after a random 1..10 checkpoints.
k=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 10 + 1 ))
echo "killing after $k checkpoints"
( run --out "$work/killed" ) > "$work/killed.log" 2>&1 &
pid=$!
wait_for_checkpoints "$pid" "$work/killed" "$k"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
"$adarts" search --resume "$work/killed" > "$work/resumed.log" 2>&1 || { cat "$work/resumed.log"; exit 1; }
grep -q "resumed from" "$work/resumed.log" || { echo "FAIL: no resume message"; exit 1; }
cmp "$work/reference/alphas.json" "$work/killed/alphas.json" || { echo "FAIL: alphas differ after SIGKILL + resume"; exit 1; }
cmp "$work/reference/genotype.json" "$work/killed/genotype.json" || { echo "FAIL: genotypes differ"; exit 1; }

# SIGINT: a clean stop with a checkpoint and exit status 130.
( run --out "$work/interrupted" ) > "$work/interrupted.log" 2>&1 &
pid=$!
wait_for_checkpoints "$pid" "$work/interrupted" 3
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 130 ] || { echo "FAIL: exit status $status after SIGINT (expected 130)"; cat "$work/interrupted.log"; exit 1; }
grep -q "SIGINT: stopped" "$work/interrupted.log" || { echo "FAIL: no stop message"; cat "$work/interrupted.log"; exit 1; }
"$adarts" search --resume "$work/interrupted" > "$work/resumed2.log" 2>&1 || { cat "$work/resumed2.log"; exit 1; }
cmp "$work/reference/alphas.json" "$work/interrupted/alphas.json" || { echo "FAIL: alphas differ after SIGINT + resume"; exit 1; }

# Resuming with a changed option is refused, naming it.
if "$adarts" search --resume "$work/killed" --eta 0.7 > "$work/refused.log" 2>&1; then
  echo "FAIL: a resume with another eta was accepted"; exit 1
fi
grep -q "eta: " "$work/refused.log" || { echo "FAIL: the refusal does not name eta"; cat "$work/refused.log"; exit 1; }
# A fresh run into a directory holding checkpoints is refused without --overwrite.
if ( run --out "$work/killed" ) > "$work/fresh.log" 2>&1; then echo "FAIL: overwrote a run"; exit 1; fi
grep -q -- "--resume" "$work/fresh.log" || { echo "FAIL: no hint to resume"; cat "$work/fresh.log"; exit 1; }
echo "PASS (killed after $k checkpoints)"
