#!/usr/bin/env bash
# The corpus oracle (tests/e2e/oracle.py) over kerchunk's and VirtualiZarr's own references for
# the same files as vzgen's, judged by the same comparison with h5py / netCDF4-python.
# Usage: bench/corpus_anchors.sh [ORACLE ARGS...]   (e.g. --only netcdf-c, or FILE...)
#   BENCH_PYTHON=python of the bench venv (default build/venv/bench/bin/python)
# Prints the oracle's table per tool, then one summary line per tool. The oracle's exit status
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
for tool in kerchunk virtualizarr; do
  echo "$tool: $(grep '^summary:' "$work/$tool.txt" || echo 'no summary')"
done
