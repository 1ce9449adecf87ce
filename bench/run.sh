#!/usr/bin/env bash
# `make bench`: generates MUR-like daily granules (once) and measures the scan.
# Usage: bench/run.sh BUILD_DIR   (a release build)
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
data=${BENCH_DATA:-$build/bench-data}
count=${BENCH_GRANULES:-8}
if [ ! -f "$data/.complete-$count" ]; then
  echo "generating $count MUR-like granules (1x1800x3600 int16 + 3 variables) in $data"
  rm -rf "$data"; mkdir -p "$data"
  /usr/bin/python3 "$here/gen_granules.py" --count "$count" --out "$data"
  touch "$data/.complete-$count"
fi
files=("$data"/*.nc)
echo "== scan: parse + references, ${#files[@]} granules x 50 iterations (warm page cache)"
"$build/bench/scan_bench" 50 "${files[@]}"
echo "== one CLI run per granule (process start, parse, write JSON), peak memory"
start=$(date +%s.%N)
for f in "${files[@]}"; do
  /usr/bin/time -f "%M" -o "$build/bench-rss.txt" -a "$build/src/vz/cli/vzgen" scan "$f" -o "$build/bench-out.json"
done
end=$(date +%s.%N)
echo "cli ms per granule  $(echo "($end - $start) * 1000 / ${#files[@]}" | bc -l | cut -c1-6)"
echo "peak RSS (KiB)      $(sort -n "$build/bench-rss.txt" | tail -1)"
rm -f "$build/bench-rss.txt"
