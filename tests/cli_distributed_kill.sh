#!/bin/sh
# A 2-rank data-parallel search (docs/distributed.md), each rank started by
# this script as a host would: when rank 1 is killed with SIGKILL at a random
# checkpoint, rank 0 stops with a communication error well within
# --dist-timeout; resuming both ranks (on a fresh rendezvous file) ends with
# the same alphas, bit for bit, and genotype as an uninterrupted 2-rank run.
# Then `adarts launch` runs the same search and prints its genotype once.
# Usage: cli_distributed_kill.sh ADARTS_BINARY WORK_DIR
set -eu
adarts=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
timeout_s=60

# rank RANK OUT RENDEZVOUS [more options]: one rank of the search, exec'd so that $! is adarts itself.
rank() {
  r=$1; out=$2; rdv=$3; shift 3
  exec "$adarts" search --dataset synthetic --train-subset 96 --channels 4 --layers 2 --batch-size 8 --epochs 2 \
    --threads 1 --checkpoint-every 1 --checkpoint-keep 100 --log-every 100 --world-size 2 \
    --dist-timeout "$timeout_s" --out "$out" --rank "$r" --rendezvous "file://$rdv" "$@"
}
resume_rank() {
  r=$1; out=$2; rdv=$3
  exec "$adarts" search --resume "$out" --rank "$r" --rendezvous "file://$rdv"
}
count_checkpoints() { ls "$1/checkpoints" 2>/dev/null | grep -c '\.pt$' || true; }
fail() { echo "FAIL: $1"; for f in "$work"/*.log; do echo "== $f"; cat "$f"; done; exit 1; }

# The uninterrupted reference.
( rank 0 "$work/reference" "$work/rdv-reference" ) > "$work/reference0.log" 2>"$work/reference0.err" &
p0=$!
( rank 1 "$work/reference" "$work/rdv-reference" ) > "$work/reference1.log" 2>"$work/reference1.err" &
p1=$!
wait "$p0" || fail "rank 0 of the reference failed: $(cat "$work/reference0.err")"
wait "$p1" || fail "rank 1 of the reference failed"
[ -s "$work/reference0.log" ] || fail "rank 0 printed no genotype"
[ ! -s "$work/reference1.log" ] || fail "rank 1 printed on stdout: $(cat "$work/reference1.log")"

# 12 steps (2 epochs x 6): kill rank 1 after a random 1..10 checkpoints.
k=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 10 + 1 ))
echo "killing rank 1 after $k checkpoints"
( rank 0 "$work/killed" "$work/rdv-killed" ) > "$work/killed0.log" 2>&1 &
p0=$!
( rank 1 "$work/killed" "$work/rdv-killed" ) > "$work/killed1.log" 2>&1 &
p1=$!
while [ "$(count_checkpoints "$work/killed")" -lt "$k" ]; do
  kill -0 "$p0" 2>/dev/null || fail "rank 0 ended before $k checkpoints"
  sleep 0.05
done
kill -KILL "$p1"
killed_at=$(date +%s)
status=0
wait "$p0" || status=$?
waited=$(( $(date +%s) - killed_at ))
[ "$status" -ne 0 ] || fail "rank 0 ended with status 0 after rank 1 was killed (before it finished?)"
[ "$waited" -lt "$timeout_s" ] || fail "rank 0 took ${waited} s to stop (dist_timeout ${timeout_s} s)"
grep -q "failed" "$work/killed0.log" || fail "rank 0's error does not say what failed"
echo "rank 0 stopped ${waited} s after rank 1 was killed, status $status"

# Both ranks resume from rank 0's newest checkpoint.
( resume_rank 0 "$work/killed" "$work/rdv-resumed" ) > "$work/resumed0.log" 2>&1 &
p0=$!
( resume_rank 1 "$work/killed" "$work/rdv-resumed" ) > "$work/resumed1.log" 2>&1 &
p1=$!
wait "$p0" || fail "rank 0 of the resumed run failed"
wait "$p1" || fail "rank 1 of the resumed run failed"
grep -q "resumed from" "$work/resumed0.log" || fail "no resume message"
cmp "$work/reference/alphas.json" "$work/killed/alphas.json" || fail "alphas differ after SIGKILL + resume"
cmp "$work/reference/genotype.json" "$work/killed/genotype.json" || fail "genotypes differ after SIGKILL + resume"

# A resume with another world size that the batch does not split over is refused, naming both.
if "$adarts" search --resume "$work/killed" --world-size 3 --rendezvous "file://$work/rdv-3" > "$work/refused.log" 2>&1; then
  fail "a resume over 3 ranks of batch 8 was accepted"
fi
grep -q "batch_size 8 does not split evenly over 3 ranks" "$work/refused.log" || fail "the refusal does not say why"

# `adarts launch` starts both ranks itself: the same genotype, printed once.
"$adarts" launch --nproc 2 -- search --dataset synthetic --train-subset 96 --channels 4 --layers 2 --batch-size 8 \
  --epochs 2 --threads 1 --checkpoint-every 1 --checkpoint-keep 100 --log-every 100 --dist-timeout "$timeout_s" \
  --out "$work/launched" > "$work/launched.log" 2>"$work/launched.err" || fail "launch failed: $(cat "$work/launched.err")"
cmp "$work/reference/genotype.json" "$work/launched/genotype.json" || fail "launch gave another genotype"
cmp "$work/reference0.log" "$work/launched.log" || fail "launch printed other results than rank 0 alone"
# Re-training over 2 ranks: the test figures of the sharded evaluation (rank 0
# prints them once) are those of the saved model evaluated in one process.
"$adarts" launch --nproc 2 -- train --genotype "$(dirname "$0")/fixtures/genotypes/darts_v2.json" --dataset synthetic \
  --train-subset 64 --test-subset 30 --channels 4 --layers 3 --epochs 1 --batch-size 16 --threads 1 \
  --dist-timeout "$timeout_s" --out "$work/trained" > "$work/trained.log" 2>"$work/trained.err" \
  || fail "launch train failed: $(cat "$work/trained.err")"
[ "$(grep -c "top-1" "$work/trained.log")" -eq 1 ] || fail "the test line is not printed once"
"$adarts" evaluate "$work/trained/model.pt" > "$work/evaluated.log" 2>&1 || fail "evaluate failed"
accuracy() { grep -o "top-1 .*" "$1"; }  # top-1, top-5 and the count: no float rounding in them
[ "$(accuracy "$work/trained.log")" = "$(accuracy "$work/evaluated.log")" ] \
  || fail "sharded test figures $(accuracy "$work/trained.log") differ from one process's $(accuracy "$work/evaluated.log")"
echo "PASS (rank 1 killed after $k checkpoints)"
