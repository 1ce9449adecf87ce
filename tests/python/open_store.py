"""Opens a store (kerchunk JSON or Parquet) as users do and prints every array's values as JSON
lists, with the reader versions: run by the package tests under the current venv and under the
zarr 2.18 floor."""

import json
import sys

import fsspec
import numpy as np
import xarray as xr
import zarr


def main():
    fs = fsspec.filesystem("reference", fo=sys.argv[1], remote_protocol="file")
    kwargs = {"consolidated": False}
    if not zarr.__version__.startswith("2"):
        kwargs["zarr_format"] = 2
    ds = xr.open_dataset(fs.get_mapper(""), engine="zarr", mask_and_scale=False,
                         decode_times=False, **kwargs)
    out = {"zarr": zarr.__version__, "fsspec": fsspec.__version__, "arrays": {}}
    for name in list(ds.variables):
        out["arrays"][name] = np.asarray(ds[name].values).astype("f8").ravel().tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
