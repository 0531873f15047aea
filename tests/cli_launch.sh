#!/bin/sh
# `adarts launch`'s process handling, with tests/fixtures/launch_rank.sh as
# the rank program (--program): arguments, exit statuses, the messages naming
# the failing rank, the grace period, signal forwarding, the rendezvous
# directory's removal. Prints PASS when the case holds.
# Usage: cli_launch.sh ADARTS_BINARY RANK_SCRIPT WORK_DIR CASE
#   CASE: ok | fail | fail_alone | fail_stubborn | kill | exec_fails | sigterm | sigint | second_signal
set -eu
adarts=$1
rank_script=$2
work=$3
case_name=$4
rm -rf "$work"
mkdir -p "$work/ranks" "$work/tmp"
export LAUNCH_TEST_DIR="$work/ranks"
export TMPDIR="$work/tmp"

fail() { echo "FAIL: $*"; echo "--- launch's stderr:"; cat "$work/launch.err" 2>/dev/null || true; exit 1; }
# Whatever a failed case left running is killed, so that ctest is not kept waiting on its output.
cleanup() {
  [ -z "${pid:-}" ] || kill -KILL "$pid" 2>/dev/null || true
  for f in "$work"/ranks/rank*.pid; do
    if [ -e "$f" ]; then kill -KILL "$(cat "$f")" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT
# Waits (up to 10 s) until file $1 exists.
wait_for() {
  tries=0
  while [ ! -e "$1" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 200 ] || fail "no $1 after 10 s"
    sleep 0.05
  done
}
# launch with the rank script, for behaviour $1, then launch's options; sets $status.
launch() {
  behaviour=$1
  shift
  status=0
  LAUNCH_TEST=$behaviour "$adarts" launch --program "$rank_script" "$@" -- search --epochs 1 2> "$work/launch.err" || status=$?
}
expect_status() { [ "$status" -eq "$1" ] || fail "exit status $status, expected $1"; }
expect_log() { grep -q -- "$1" "$work/launch.err" || fail "no '$1' in launch's stderr"; }
expect_file() { [ -e "$work/ranks/$1" ] || fail "rank file $1 missing"; }
expect_no_file() { [ ! -e "$work/ranks/$1" ] || fail "rank file $1 exists"; }
# The ranks' pids are gone after launch (they were reaped, none left running).
expect_ranks_gone() {
  for r in "$@"; do
    ! kill -0 "$(cat "$work/ranks/rank$r.pid")" 2>/dev/null || fail "rank $r still runs after launch ended"
  done
}

case "$case_name" in
  ok)
    launch ok --nproc 3
    expect_status 0
    for r in 0 1 2; do
      grep -q "^search --epochs 1 --world-size 3 --rank $r --rendezvous file://$work/tmp/adarts-launch-[^/]*/rendezvous\$" \
        "$work/ranks/rank$r.args" || fail "rank $r got: $(cat "$work/ranks/rank$r.args")"
    done
    [ "$(sed 's/.*--rendezvous //' "$work/ranks/"rank*.args | sort -u | wc -l)" -eq 1 ] || fail "ranks got different rendezvous"
    [ -z "$(ls -A "$work/tmp")" ] || fail "the rendezvous directory was left: $(ls "$work/tmp")"
    expect_log "all 3 ranks exited with status 0"
    # A given rendezvous reaches the ranks unchanged.
    launch ok --nproc 2 --rendezvous tcp://127.0.0.1:29500
    expect_status 0
    grep -q -- "--rank 1 --rendezvous tcp://127.0.0.1:29500\$" "$work/ranks/rank1.args" || fail "rendezvous not passed"
    ;;
  fail)
    # Rank 1 exits 3; the others run on: after the 2 s grace launch ends them with SIGTERM.
    start=$(date +%s)
    launch fail --nproc 3 --grace 2
    elapsed=$(( $(date +%s) - start ))
    expect_status 3
    expect_log "rank 1 exited with status 3"
    expect_log "waiting up to 2 s for rank(s) 0, 2"
    expect_file rank0.TERM
    expect_file rank2.TERM
    [ "$elapsed" -ge 2 ] || fail "the others were ended before the grace ran out (${elapsed} s)"
    [ "$elapsed" -le 10 ] || fail "launch took ${elapsed} s"
    expect_ranks_gone 0 1 2
    ;;
  fail_alone)
    # Rank 1 exits 3, the others exit 1 by themselves within the grace: no SIGTERM, status 3 (the first failure).
    start=$(date +%s)
    launch fail_alone --nproc 3 --grace 30
    elapsed=$(( $(date +%s) - start ))
    expect_status 3
    expect_log "rank 1 exited with status 3"
    expect_log "rank 0 exited with status 1"
    ! grep -q "SIGTERM" "$work/launch.err" || fail "launch sent SIGTERM to ranks that ended by themselves"
    [ "$elapsed" -le 10 ] || fail "launch waited ${elapsed} s for ranks that had ended"
    ;;
  kill)
    launch kill --nproc 3 --grace 2
    expect_status 137
    expect_log "rank 1 was killed by signal 9 (SIGKILL)"
    expect_file rank0.TERM
    expect_file rank2.TERM
    expect_ranks_gone 0 1 2
    ;;
  fail_stubborn)
    # Rank 1 exits 3; the others ignore SIGTERM: launch kills them 5 s after it.
    launch fail_stubborn --nproc 3 --grace 1
    expect_status 3
    expect_log "ending rank(s) 0, 2 (SIGTERM)"
    expect_log "rank(s) 0, 2 still running 5 s after SIGTERM: SIGKILL"
    expect_file rank0.TERM
    expect_ranks_gone 0 1 2
    ;;
  exec_fails)
    # An executable that exec refuses (its interpreter is missing): named, status 127, nothing left running.
    printf '#!/no/such/interpreter\n' > "$work/bad_program"
    chmod +x "$work/bad_program"
    rank_script="$work/bad_program"
    launch ok --nproc 2
    expect_status 127
    expect_log "cannot start rank 0 ($work/bad_program): No such file or directory"
    [ -z "$(ls -A "$work/tmp")" ] || fail "the rendezvous directory was left"
    ;;
  sigterm | sigint)
    if [ "$case_name" = sigterm ]; then sig=TERM; else sig=INT; fi
    LAUNCH_TEST=signal "$adarts" launch --program "$rank_script" --nproc 3 -- search 2> "$work/launch.err" &
    pid=$!
    for r in 0 1 2; do wait_for "$work/ranks/rank$r.ready"; done
    kill -"$sig" "$pid"
    status=0
    wait "$pid" || status=$?
    if [ "$sig" = TERM ]; then expect_status 143; else expect_status 130; fi
    expect_log "SIG$sig forwarded to the running ranks"
    for r in 0 1 2; do expect_file "rank$r.$sig"; done
    # Ranks stopping on the forwarded signal are no failure.
    ! grep -q "\[error\]" "$work/launch.err" || fail "an error was logged"
    [ -z "$(ls -A "$work/tmp")" ] || fail "the rendezvous directory was left"
    ;;
  second_signal)
    # The ranks ignore the forwarded SIGTERM; a second one kills them.
    LAUNCH_TEST=stubborn "$adarts" launch --program "$rank_script" --nproc 2 -- search 2> "$work/launch.err" &
    pid=$!
    for r in 0 1; do wait_for "$work/ranks/rank$r.ready"; done
    kill -TERM "$pid"
    for r in 0 1; do wait_for "$work/ranks/rank$r.TERM"; done
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    expect_status 143
    expect_log "SIGTERM again: killing the running ranks (SIGKILL)"
    expect_ranks_gone 0 1
    ! grep -q "\[error\]" "$work/launch.err" || fail "the ranks launch killed were taken for a failure"
    ;;
  *) echo "cli_launch.sh: unknown case '$case_name'" >&2; exit 2 ;;
esac
echo PASS
