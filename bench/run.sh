#!/usr/bin/env bash
# `make bench`: generates MUR-like daily granules (once) and measures the scan, the build, the
# remote build and, last, vzgen side by side with kerchunk and VirtualiZarr (bench/anchors.py, in
# the bench venv that `make bench` makes from tests/requirements/bench.txt).
# Usage: bench/run.sh BUILD_DIR   (a release build)
#   BENCH_PYTHON=python of the bench venv (default build/venv/bench/bin/python); BENCH_ANCHORS=0
#   leaves the side-by-side part out.
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

echo "== vzgen build: 365 small MUR-like daily granules (1x180x360, 4 variables) into one store"
small=${BENCH_SMALL_DATA:-$build/bench-data-small}
if [ ! -f "$small/.complete-365" ]; then
  echo "generating 365 small MUR-like granules in $small"
  rm -rf "$small"; mkdir -p "$small"
  /usr/bin/python3 "$here/gen_granules.py" --count 365 --small --out "$small" >/dev/null
  touch "$small/.complete-365"
fi
for jobs in 1 2; do
  /usr/bin/time -f "%e %M" -o "$build/bench-build.txt" "$build/src/vz/cli/vzgen" build \
    "$small"/*.nc --loadable-vars lat,lon,time -o "$build/bench-store.json" -q -j $jobs
  read -r secs rss < "$build/bench-build.txt"
  echo "build -j $jobs: $secs s for 365 granules ($(echo "365 / $secs" | bc -l | cut -c1-7) granules/s), peak RSS $rss KiB"
done
echo "(history: kerchunk 0.2.2, Debian 12's, took ~4.5 s for SingleHdf5ToZarr + MultiZarrToZarr on"
echo " 365 such granules; the current releases are measured side by side at the end)"
rm -f "$build/bench-build.txt"

echo "== combine scale: 10,000 granules x 4 variables x 300 chunks = 12 M references"
"$build/bench/combine_scale" 10000 4 300 "$build/bench-scale.json"
rm -f "$build/bench-scale.json"

echo "== remote: vzgen build over loopback HTTP with injected latency (nginx behind bench/delay_proxy)"
remote=(/usr/bin/python3 "$here/remote_bench.py" --vzgen "$build/src/vz/cli/vzgen" --delay-proxy "$build/bench/delay_proxy")
"${remote[@]}" --data "$data" --granules 1024
echo "-- the same with a 4 MiB first read (each 2.3 MB granule whole, in one round)"
"${remote[@]}" --data "$data" --granules 1024 --first-read 4194304
echo "-- the same through each granule's DMR++ sidecar (--metadata dmrpp; bench/make_dmrpp.py writes them)"
"${remote[@]}" --data "$data" --granules 1024 --metadata dmrpp
echo "-- small MUR-like granules (110 KB)"
"${remote[@]}" --data "$small" --granules 512
echo "-- Level-2-like swaths (groups, no time axis; 1.2 MB each), stacked along a new dimension"
"${remote[@]}" --l2 --granules 256

if [ "${BENCH_ANCHORS:-1}" = 0 ]; then exit 0; fi
echo "== anchors: vzgen, kerchunk and VirtualiZarr side by side (bench/anchors.py)"
l2=${BENCH_L2_DATA:-$build/bench-data-l2}
if [ ! -f "$l2/.complete-4" ]; then
  rm -rf "$l2"; mkdir -p "$l2"
  /usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import remote_bench
for k in range(4): remote_bench.write_swath(f"{sys.argv[2]}/SWATH_L2_{k:03d}.nc", k)' "$here" "$l2"
  touch "$l2/.complete-4"
fi
grace=${BENCH_GRACE_DATA:-$build/bench-data-grace}
if [ ! -f "$grace/.complete-12" ]; then
  rm -rf "$grace"; mkdir -p "$grace"
  /usr/bin/python3 "$here/gen_granules.py" --count 12 --grace --out "$grace" >/dev/null
  touch "$grace/.complete-12"
fi
py=${BENCH_PYTHON:-$here/../build/venv/bench/bin/python}
PYTHONWARNINGS=ignore "$py" "$here/anchors.py" --build-dir "$build" --mur "$data" --small "$small" --l2 "$l2" \
  --grace "$grace"

echo "== a MUR-like collection: BENCH_COLLECTION_GRANULES (default 2,000; 8,000 is whole MUR, 10.4 M references) x 4 variables x 324 chunks"
echo "   as kerchunk JSON, Parquet and Icechunk, beside VirtualiZarr's writers (bench/collection_bench.py)"
PYTHONWARNINGS=ignore "$py" "$here/collection_bench.py" --work "$build/bench-collection" \
  --granules "${BENCH_COLLECTION_GRANULES:-2000}" --anchor-granules "${BENCH_ANCHOR_GRANULES:-800}"
rm -rf "$build/bench-collection"
