"""`vzgen scan FILE -o OUT` done by kerchunk or VirtualiZarr instead, so that the oracle
(tests/e2e/oracle.py --vzgen) can judge their references by the same rules as vzgen's:

  anchor_scan.py kerchunk|virtualizarr scan FILE -o OUT.json

kerchunk: SingleHdf5ToZarr (HDF5, netCDF-4) or NetCDF3ToZarr (netCDF-3), defaults, translate().
VirtualiZarr: HDFParser / NetCDF3Parser through open_virtual_dataset, then
`.vz.to_kerchunk(OUT, format="json")`. That is the root group only: VirtualiZarr 2.5's DataTree
accessor writes Icechunk but has no to_kerchunk, so arrays in groups are missing from its output.

Exit 0 with OUT written; otherwise exit 2 with one stderr line "EXCEPTION-TYPE: message" (the
tool's own words), which the oracle records as the tool's refusal.
"""

from __future__ import annotations

import json
import os
import sys
import warnings


def is_netcdf3(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    return head[:3] == b"CDF" and head[3:4] in (b"\x01", b"\x02", b"\x05")


def kerchunk_scan(path: str, out: str) -> None:
    if is_netcdf3(path):
        from kerchunk.netCDF3 import NetCDF3ToZarr

        refs = NetCDF3ToZarr(path).translate()
    else:
        from kerchunk.hdf import SingleHdf5ToZarr

        refs = SingleHdf5ToZarr(path).translate()
    with open(out, "w") as f:
        json.dump(refs, f)


def virtualizarr_scan(path: str, out: str) -> None:
    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import LocalStore
    from virtualizarr import open_virtual_dataset
    from virtualizarr.parsers import HDFParser, NetCDF3Parser

    url = "file://" + os.path.abspath(path)
    registry = ObjectStoreRegistry({"file://": LocalStore()})
    parser = NetCDF3Parser() if is_netcdf3(path) else HDFParser()
    vds = open_virtual_dataset(url, registry=registry, parser=parser)
    vds.vz.to_kerchunk(out, format="json")


def main() -> int:
    if len(sys.argv) != 6 or sys.argv[2] != "scan" or sys.argv[4] != "-o":
        print("usage: anchor_scan.py kerchunk|virtualizarr scan FILE -o OUT", file=sys.stderr)
        return 2
    tool, path, out = sys.argv[1], sys.argv[3], sys.argv[5]
    warnings.simplefilter("ignore")
    try:
        (kerchunk_scan if tool == "kerchunk" else virtualizarr_scan)(path, out)
    except Exception as e:  # noqa: BLE001 - any failure of the tool is its answer for this file
        msg = " ".join(str(e).split())[:300]
        print(f"{type(e).__name__}: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
