#!/usr/bin/python3
"""Generates the small HDF5/netCDF-4 files of the hdf5 reader tests and records what h5py
sees in them (expected.json), plus corpus_expected.json for every HDF5/netCDF-4 corpus file
h5py opens. Run from anywhere: /usr/bin/python3 tests/data/hdf5_core/make_files.py"""
import json
import math
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CORPUS = os.path.join(os.path.dirname(REPO), "shared")


def jsonable(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        if v.size == 1 and v.dtype.kind not in "OV":
            return jsonable(v.reshape(-1)[0])
        return [jsonable(x) for x in v.tolist()] if v.dtype.kind != "O" else [jsonable(x) for x in v.tolist()]
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, str) or isinstance(v, int) or v is None:
        return v
    return None


def describe(path):
    out = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                attrs = {}
                for k in obj.attrs:
                    try:
                        attrs[k] = jsonable(obj.attrs[k])
                    except Exception:  # noqa: BLE001 - some attribute types h5py cannot read
                        attrs[k] = None
                # An HDF5 array element type is read as trailing axes of its base type.
                base, sub = obj.dtype.subdtype or (obj.dtype, ())
                out.append({"path": "/" + name, "shape": list(obj.shape) + list(sub),
                            "dtype": base.str, "attrs": attrs})
        f.visititems(visit)
        root_attrs = {}
        for k in f.attrs:
            try:
                root_attrs[k] = jsonable(f.attrs[k])
            except Exception:  # noqa: BLE001
                root_attrs[k] = None
    return {"datasets": out, "root_attrs": root_attrs}


def make_types(path, libver):
    with h5py.File(path, "w", libver=libver) as f:
        f["i1"] = np.arange(5, dtype="i1")
        f["u2be"] = np.arange(6, dtype=">u2").reshape(2, 3)
        f["i8"] = np.arange(4, dtype="<i8")
        f["f2"] = np.array([1.5, -2.0], dtype="f2")
        f["f4be"] = np.array([1.5, np.nan], dtype=">f4")
        f["f8"] = np.float64(3.25)
        f["s10"] = np.array([b"abc", b"defghij"], dtype="S10")
        f.create_dataset("vstr", data=np.array(["x", "hello", ""], dtype=object),
                         dtype=h5py.string_dtype())
        f.create_dataset("vstr_chunked", data=np.array(["a%d" % i for i in range(7)], dtype=object),
                         dtype=h5py.string_dtype(), chunks=(3,))
        f["bool"] = np.array([True, False, True])
        et = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 2}, basetype="i2")
        f.create_dataset("enum", data=np.array([0, 2], dtype="i2"), dtype=et)
        ct = np.dtype([("a", "<i4"), ("b", "<f8"), ("c", "S3")])
        f["compound"] = np.zeros(3, dtype=ct)
        f["array"] = np.zeros(2, dtype=np.dtype(("<i4", (2, 3))))
        f["opaque"] = np.zeros(2, dtype="V7")
        f["complex"] = np.array([1 + 2j], dtype="<c16")
        f.create_dataset("filled", shape=(4,), dtype="i4", fillvalue=-7, chunks=(2,),
                         compression="gzip", shuffle=True)
        f.create_dataset("unlimited", shape=(3, 4), maxshape=(None, 4), dtype="f4")
        f.create_dataset("compact", data=np.arange(4, dtype="i2"),
                         dcpl=None)
        g = f.create_group("grp")
        g["ref"] = np.array([f["i1"].ref], dtype=h5py.ref_dtype)
        a = f["i1"].attrs
        a["int"] = np.int32(-3)
        a["float"] = 2.5
        a["nan"] = np.float32("nan")
        a["list"] = np.array([1, 2, 3], dtype="u1")
        a["matrix"] = np.arange(4, dtype="i4").reshape(2, 2)
        a["one"] = np.array([7], dtype="i8")
        a["fixed"] = np.bytes_(b"fixed str")
        a["vlen"] = "vlen str"
        a["vlens"] = np.array(["p", "qq"], dtype=h5py.string_dtype())
        a["boolattr"] = np.bool_(True)
        a["empty"] = h5py.Empty("f4")
        f.attrs["root_attr"] = "root"
        f["named_type"] = np.dtype("<f8")
        f.create_dataset("uses_named", shape=(2,), dtype=f["named_type"])


def main():
    expected = {}
    make_types(os.path.join(HERE, "types_v0.h5"), "earliest")
    make_types(os.path.join(HERE, "types_latest.h5"), "latest")
    with h5py.File(os.path.join(HERE, "dense_latest.h5"), "w", libver="latest") as f:
        for i in range(40):
            f.create_group("g%02d" % i)
        d = f.create_dataset("d", data=np.arange(10, dtype="f4"), chunks=(3,))
        for i in range(30):
            d.attrs["a%02d" % i] = i
    with h5py.File(os.path.join(HERE, "cycle.h5"), "w") as f:
        g = f.create_group("g")
        g["data"] = np.arange(3, dtype="i4")
        g["loop"] = f["/"]
        f["alias"] = g["data"]
        f["soft"] = h5py.SoftLink("/g/data")
        f["ext"] = h5py.ExternalLink("other.h5", "/x")
    with h5py.File(os.path.join(HERE, "userblock.h5"), "w", userblock_size=512) as f:
        f["x"] = np.arange(4, dtype="i4")
    import netCDF4
    with netCDF4.Dataset(os.path.join(HERE, "dims.nc"), "w") as nc:
        nc.createDimension("time", None)
        nc.createDimension("lat", 3)
        nc.createDimension("nv", 2)
        lat = nc.createVariable("lat", "f4", ("lat",))
        lat[:] = [1, 2, 3]
        t = nc.createVariable("sst", "f4", ("time", "lat"), fill_value=-999.0)
        t[0:2, :] = 1.0
        t.units = "K"
        nc.createVariable("bounds", "f8", ("lat", "nv"))
    for name in sorted(os.listdir(HERE)):
        if name.endswith((".h5", ".nc")):
            expected[name] = describe(os.path.join(HERE, name))
    with open(os.path.join(HERE, "expected.json"), "w") as fp:
        json.dump(expected, fp, indent=1, sort_keys=True)

    corpus = {}
    catalog = os.path.join(CORPUS, "corpus", "CATALOG.tsv")
    if os.path.exists(catalog):
        with open(catalog) as fp:
            header = fp.readline().rstrip("\n").split("\t")
            for line in fp:
                row = dict(zip(header, line.rstrip("\n").split("\t")))
                if row.get("format") not in ("hdf5", "netcdf4"):
                    continue
                entry = {"h5py_opens": row.get("h5py_opens") == "yes"}
                if entry["h5py_opens"]:
                    try:
                        entry["datasets"] = [
                            {"path": d["path"], "shape": d["shape"], "dtype": d["dtype"]}
                            for d in describe(os.path.join(CORPUS, row["path"]))["datasets"]]
                    except Exception as e:  # noqa: BLE001
                        entry["h5py_error"] = str(e)
                corpus[row["path"]] = entry
        with open(os.path.join(HERE, "corpus_expected.json"), "w") as fp:
            json.dump(corpus, fp, indent=1, sort_keys=True)


if __name__ == "__main__":
    sys.exit(main())
