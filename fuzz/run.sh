#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one at a time, at low priority.
#
#   fuzz/run.sh [SECONDS] [target…]      default 60 s; targets: fuzz/targets/*.swift
#
# Each target starts from its committed seeds (fuzz/seeds/TARGET) and keeps what it learns in fuzz/corpus/TARGET
# (not committed). A crash, leak or timeout is saved as fuzz/artifacts/TARGET-crash-… ; turn it into a regression
# test in Tests/CairnKitTests/FuzzRegressionTests.swift. Prints one summary line per target and exits 1 if any failed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-60}"; shift || true
"$here/build.sh" "$@" || exit 1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in "$here"/targets/*.swift; do targets+=("$(basename "$t" .swift)"); done
fi
mkdir -p "$here/artifacts" "$here/logs"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$here/corpus/$t"
  log="$here/logs/$t.log"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: over 2 GB is unbounded memory.
  SWIFT_BACKTRACE=enable=no nice -n 10 "$here/.build/bin/$t" "$here/corpus/$t" "$here/seeds/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$here/artifacts/$t-" >"$log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  if [ $status -eq 0 ]; then
    echo "$t: ok, ${seconds}s, $runs inputs, coverage $cov, corpus $(ls "$here/corpus/$t" | wc -l) files"
  else
    failed=1
    echo "$t: FAILED (exit $status) after $runs inputs; see $log and fuzz/artifacts/$t-*"
    grep -m3 -E "ERROR|==[0-9]+==|Fatal error|deadly signal" "$log" | sed 's/^/    /'
  fi
done
exit $failed
