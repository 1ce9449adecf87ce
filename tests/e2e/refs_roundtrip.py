"""Reads references written by vz_refs_test (RoundTrip.PythonZarrReadsTheValuesBack) through
fsspec's reference filesystem, zarr and xarray, opened as the oracle opens them (oracle.py
open_refs / open_refs_xarray), and checks every value. Exit 77 = skip."""
import json
import math
import os
import sys

try:
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import oracle
except ImportError as e:  # pragma: no cover
    print(f"skip: {e}")
    sys.exit(77)


def main(path):
    assert not oracle.strict_json_problems(path), oracle.strict_json_problems(path)
    with open(path) as f:
        refs = json.load(f)
    assert refs["version"] == 1
    keys = refs["refs"]
    assert "nv/.zarray" not in keys and "virtual/.zarray" not in keys, sorted(keys)
    assert keys["code/0"] == "abcde\u0000", keys["code/0"]
    assert keys["bytes/0"].startswith("base64:"), keys["bytes/0"]

    g = oracle.open_refs(path)
    np.testing.assert_array_equal(g["temp"][:], np.arange(-7, 13, dtype="i2").reshape(5, 4))
    sst = g["grp/sst"][:]
    np.testing.assert_array_equal(sst[:4], np.array([1.5, 2.5, 3.5, 4.5], dtype="f4"))
    assert np.isnan(sst[4:]).all(), sst
    assert [str(x) for x in g["names"][:]] == ["alpha", "", "\u00fcn\u00ef"], g["names"][:]
    assert list(g["code"][:]) == [b"abc", b"de"], g["code"][:]
    np.testing.assert_array_equal(g["bytes"][:], np.array([255, 1, 128], dtype="u1"))
    np.testing.assert_array_equal(g["masked"][:], np.array([10, 20, 30, -1], dtype=">i4"))
    np.testing.assert_array_equal(g["small"][:], np.array([[1, -1], [3, 4]], dtype="i1"))
    assert g["scalar"][()] == 273.15

    ds = oracle.open_refs_xarray(path)
    assert ds.attrs["title"] == "round trip"
    # Strict JSON has no NaN: the attribute reads back as zarr's string for it.
    assert ds.attrs["nan_attr"] == "NaN", ds.attrs["nan_attr"]
    assert math.isnan(float(ds.attrs["nan_attr"]))
    assert ds["temp"].dims == ("phony_dim_0", "phony_dim_1"), ds["temp"].dims
    assert ds["temp"].attrs["units"] == "K"
    assert list(ds["names"].values) == ["alpha", "", "\u00fcn\u00ef"]
    grp = oracle.open_refs_xarray(path, group="grp")
    assert grp.attrs["inf_attr"] == "-Infinity", grp.attrs["inf_attr"]
    assert float(grp.attrs["inf_attr"]) == -math.inf
    assert np.isnan(grp["sst"].values[4:]).all()
    assert grp["sst"][0].values == np.float32(1.5)
    print("refs round trip OK")


if __name__ == "__main__":
    main(sys.argv[1])
