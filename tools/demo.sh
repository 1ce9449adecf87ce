#!/usr/bin/env bash
# `make demo`: generates a small sample of MUR-like daily granules, scans each one into kerchunk
# references, shows the tree of one, and prints how to open the result in xarray.
# Usage: tools/demo.sh PATH_TO_VZGEN
set -euo pipefail
vzgen=$1
root=$(cd "$(dirname "$0")/.." && pwd)
out=${DEMO_OUT:-$root/out/demo}
mkdir -p "$out/granules" "$out/refs"
if [ ! -f "$out/granules/.complete" ]; then
  /usr/bin/python3 "$root/bench/gen_granules.py" --small --count 3 --out "$out/granules"
  touch "$out/granules/.complete"
fi
first=""
for f in "$out"/granules/*.nc; do
  name=$(basename "$f" .nc)
  "$vzgen" scan "$f" -o "$out/refs/$name.json"
  echo "scanned $f -> $out/refs/$name.json"
  [ -n "$first" ] || first="$out/refs/$name.json"
done
echo
"$vzgen" inspect "$(ls "$out"/granules/*.nc | head -1)"
echo
cat <<MSG
References written to $out/refs/. Open one in Python (xarray + zarr + fsspec):

  import xarray as xr
  ds = xr.open_dataset("reference://", engine="zarr",
                       backend_kwargs={"consolidated": False,
                                       "storage_options": {"fo": "$first"}})
MSG
if /usr/bin/python3 -c "import xarray, zarr, fsspec" 2>/dev/null; then
  echo
  echo "Opened with xarray:"
  /usr/bin/python3 - "$first" <<'PY'
import sys, xarray as xr
ds = xr.open_dataset("reference://", engine="zarr",
                     backend_kwargs={"consolidated": False, "storage_options": {"fo": sys.argv[1]}})
print(ds)
print("analysed_sst mean:", float(ds["analysed_sst"].mean()))
PY
fi
