#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time, starting from the checked-in corpus.
# Usage: fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for target in hdf5 netcdf3 dmrpp refstore catalog; do
  work=$(mktemp -d)
  cp -r "$here/corpus/$target/." "$work/" 2>/dev/null || true
  echo "fuzzing $target for ${seconds}s"
  if ! "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$build/fuzz/crash-$target-" -print_final_stats=1 "$work" \
      >"$build/fuzz/$target.log" 2>&1; then
    echo "fuzz target $target found a failure:"; tail -40 "$build/fuzz/$target.log"; status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/fuzz/$target.log" | tail -2
  fi
  rm -rf "$work"
done
exit $status
