#!/usr/bin/env bash
# The corpus oracle (tests/e2e/oracle.py) over kerchunk's and VirtualiZarr's own references for
# the same files as vzgen's, judged by the same comparison with h5py / netCDF4-python.
# Usage: bench/corpus_anchors.sh [ORACLE ARGS...]   (e.g. --only netcdf-c, or FILE...)
#   BENCH_PYTHON=python of the bench venv (default build/venv/bench/bin/python)
# Prints the oracle's table per tool, then one summary line per tool. About 25 minutes. The oracle's exit status
# (non-zero when a file is not in vzgen's expectations) is not this script's: the tools are not
# expected to match vzgen's list.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
py=${BENCH_PYTHON:-$repo/build/venv/bench/bin/python}
py=$(cd "$(dirname "$py")" && pwd)/$(basename "$py")
work=$(mktemp -d "${TMPDIR:-/tmp}/vz_corpus_anchors_XXXXXX")
trap 'rm -rf "$work"' EXIT
for tool in kerchunk virtualizarr; do
  printf '#!/bin/sh\nexec "%s" "%s" %s "$@"\n' "$py" "$here/anchor_scan.py" "$tool" > "$work/$tool"
  chmod +x "$work/$tool"
  echo "== oracle over $tool's references"
  /usr/bin/python3 "$repo/tests/e2e/oracle.py" --vzgen "$work/$tool" --expectations /dev/null \
    --timeout 120 "$@" | tee "$work/$tool.txt" || true
done
# One line per tool in the columns of docs/output.md: a mismatch whose first difference is a
# missing array or group counts as "arrays missing", any other as "differs"; a timeout or a
# signal is a crash or hang; "error" is the tool's exception (its first line is in the table).
for tool in kerchunk virtualizarr; do
  awk -v tool="$tool" '
    $1 ~ /^(corpus|tests)\// && $2 ~ /^(identical|error|mismatch|crash|unverified)$/ {
      s = $2
      if (s == "mismatch") s = ($4 ~ /^(array|group)$/ && $5 == "missing") ? "missing" : "differs"
      n[s]++; total++ }
    END { printf "%s: %d files: %d identical, %d error exit, %d arrays missing, %d differs, " \
          "%d crash or hang, %d unverified\n", tool, total, n["identical"], n["error"], \
          n["missing"], n["differs"], n["crash"], n["unverified"] }' "$work/$tool.txt"
done
