#!/usr/bin/env bash
# `make demo`: the main job on an embedded default. Generates a small sample of MUR-like daily
# granules, combines four of them into one virtual store with `vzgen build`, adds the fifth with
# `vzgen append`, shows the tree of one granule and opens the store with xarray.
# Usage: tools/demo.sh PATH_TO_VZGEN
set -euo pipefail
vzgen=$1
root=$(cd "$(dirname "$0")/.." && pwd)
out=${DEMO_OUT:-$root/out/demo}
mkdir -p "$out/granules"
if [ ! -f "$out/granules/.complete-5" ]; then
  rm -f "$out"/granules/*.nc
  /usr/bin/python3 "$root/bench/gen_granules.py" --small --count 5 --out "$out/granules"
  touch "$out/granules/.complete-5"
fi
granules=("$out"/granules/*.nc)
store="$out/mur_virtual.json"
rm -f "$store"

echo "== vzgen inspect (one granule)"
"$vzgen" inspect "${granules[0]}"
echo
echo "== vzgen scan (one granule -> its own references)"
"$vzgen" scan "${granules[0]}" -o "$out/one_granule.json"
echo "wrote $out/one_granule.json"
echo
echo "== vzgen build (four granules -> one store along time, lat/lon/time embedded)"
"$vzgen" build "${granules[@]:0:4}" --loadable-vars lat,lon,time -o "$store"
echo "wrote $store (run report: $store.report.json)"
echo
echo "== vzgen append (the fifth granule; granules already in the store are skipped)"
"$vzgen" append "$store" "${granules[@]}"
echo "appended to $store"
echo
cat <<MSG
Open the store in Python (xarray + zarr + fsspec):

  import xarray as xr
  ds = xr.open_dataset("reference://", engine="zarr",
                       backend_kwargs={"consolidated": False,
                                       "storage_options": {"fo": "$store"}})
MSG
# The readers of the "current" test environment (make venvs) when it is there.
reader=/usr/bin/python3
[ -x "$root/build/venv/current/bin/python" ] && reader="$root/build/venv/current/bin/python"
if "$reader" -c "import xarray, zarr, fsspec" 2>/dev/null; then
  echo
  echo "Opened with xarray:"
  "$reader" - "$store" <<'PY'
import sys, xarray as xr
ds = xr.open_dataset("reference://", engine="zarr",
                     backend_kwargs={"consolidated": False, "storage_options": {"fo": sys.argv[1]}})
print(ds)
point = ds["analysed_sst"].sel(lat=30.0, lon=-40.0, method="nearest")
print("analysed_sst at 30N 40W per day (K):", [round(float(v), 3) for v in point])
PY
fi
