#!/usr/bin/python3
"""Writes small netCDF-3 files (CDF-1, CDF-2, CDF-5) with netCDF4-python and expected.json:
what netCDF4-python reads from them and from the other netCDF-3 files the reader tests use
(the shared fixtures and, when present, corpus files). Each variable's data is summarised as
its big-endian bytes (length and FNV-1a 64 hash) so the C++ test can check every reference.

Usage: /usr/bin/python3 make_netcdf3.py [CORPUS_DIR]
"""
import json
import math
import os
import sys

import netCDF4
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CORPUS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "corpus")


def write_main(path, fmt):
    cdf5 = fmt == "NETCDF3_64BIT_DATA"
    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.createDimension("time", None)
        ds.createDimension("x", 3)
        ds.createDimension("y", 5)
        ds.createDimension("strlen", 7)
        # Global attributes of every classic type, single and multi-valued.
        ds.title = "netCDF-3 reader test"
        ds.setncattr("g_byte", np.int8(-7))
        ds.setncattr("g_bytes", np.array([1, -2, 3], "i1"))
        ds.setncattr("g_short", np.int16(-300))
        ds.setncattr("g_int", np.int32(123456789))
        ds.setncattr("g_ints", np.array([1, 2, 3, 4], "i4"))
        ds.setncattr("g_float", np.float32(0.1))
        ds.setncattr("g_nan", np.float32("nan"))
        ds.setncattr("g_double", np.float64(-1.5e300))
        ds.setncattr("g_doubles", np.array([0.25, 1e-10], "f8"))
        ds.setncattr("g_empty_text", "")
        if cdf5:
            ds.setncattr("g_ubyte", np.uint8(250))
            ds.setncattr("g_ushort", np.uint16(65000))
            ds.setncattr("g_uint", np.uint32(4000000000))
            ds.setncattr("g_int64", np.int64(-9007199254740993))
            ds.setncattr("g_uint64", np.array([18446744073709551615, 1], "u8"))

        # Record variables (sizes 12, 2 -> padded 4, 5 -> 8, 7 -> 8, 8).
        rtemp = ds.createVariable("rtemp", "f4", ("time", "x"), fill_value=np.float32(-999))
        rtemp.units = "K"
        rtemp.valid_range = np.array([100, 400], "f4")
        rshort = ds.createVariable("rshort", "i2", ("time",))
        rshort.scale_factor = np.float32(0.5)
        rshort.add_offset = np.float64(10)
        rbyte = ds.createVariable("rbyte", "i1", ("time", "y"), fill_value=np.int8(-1))
        rchar = ds.createVariable("rchar", "S1", ("time", "strlen"))
        rdouble = ds.createVariable("rdouble", "f8", ("time",), fill_value=np.float64("nan"))
        # Fixed variables of every type.
        b = ds.createVariable("b", "i1", ("y",))
        s = ds.createVariable("s", "i2", ("x",))
        s.valid_range = np.array([-5, 5], "i2")
        i = ds.createVariable("i", "i4", ("x", "y"), fill_value=np.int32(-2147483647))
        f = ds.createVariable("f", "f4", ("y",))
        d = ds.createVariable("d", "f8", ("x",))
        c = ds.createVariable("c", "S1", ("x", "strlen"))
        c.long_name = "names\0"  # a C writer counting the NUL
        scalar = ds.createVariable("scalar", "f8", ())
        scalar.comment = "a scalar"
        b[:] = [-128, -1, 0, 1, 127]
        s[:] = [-5, 0, 5]
        i[:] = np.arange(15, dtype="i4").reshape(3, 5) * 1000 - 7000
        f[:] = [0.5, -1.25, 3e38, 1e-38, 0]
        d[:] = [math.pi, -math.e, 1e308]
        c[:] = netCDF4.stringtochar(np.array(["alpha", "beta", "gamma77"], "S7"))
        scalar[...] = 42.5
        for r in range(4):
            rtemp[r, :] = [270 + r, 280 + r, 290.5 + r]
            rshort[r] = -r * 100
            rbyte[r, :] = np.arange(5, dtype="i1") - r
            rchar[r, :] = netCDF4.stringtochar(np.array(["rec%d" % r], "S7"))
            rdouble[r] = r / 3
        if cdf5:
            ub = ds.createVariable("ub", "u1", ("x",))
            us = ds.createVariable("us", "u2", ("x",))
            ui = ds.createVariable("ui", "u4", ("x",))
            i64 = ds.createVariable("i64", "i8", ("x",), fill_value=np.int64(-2))
            u64 = ds.createVariable("u64", "u8", ("x",))
            ri64 = ds.createVariable("ri64", "i8", ("time",))
            ub[:] = [0, 128, 255]
            us[:] = [1, 40000, 65535]
            ui[:] = [7, 3000000000, 4294967295]
            i64[:] = [-(2**62), 0, 2**62]
            u64[:] = [2**63, 1, 2**64 - 1]
            ri64[:] = [-(2**40), 2**41, 3, 4]


def write_onerec(path):
    # A lone record variable of 3 bytes per record: records are not padded to 4.
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as ds:
        ds.createDimension("t", None)
        ds.createDimension("n", 3)
        v = ds.createVariable("v", "i1", ("t", "n"))
        w = ds.createVariable("w", "i2", ("n",))
        w[:] = [1, 2, 3]
        for r in range(5):
            v[r, :] = [r, r + 10, r + 20]


def write_norec(path):
    # A record dimension with no records written.
    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as ds:
        ds.createDimension("t", None)
        ds.createDimension("n", 2)
        ds.createVariable("v", "f4", ("t", "n"))
        w = ds.createVariable("w", "i4", ("n",))
        w[:] = [5, 6]


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def jsonable(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("latin-1")
    a = np.asarray(v)
    if a.dtype.kind == "f":
        vals = ["NaN" if math.isnan(x) else float(x) for x in a.ravel()]
    else:
        vals = [int(x) for x in a.ravel()]
    return vals[0] if a.size == 1 else vals


def describe(path, label):
    out = {"file": label, "vars": [], "global_attrs": {}}
    with netCDF4.Dataset(path) as ds:
        out["format"] = {"NETCDF3_CLASSIC": "netcdf3-classic",
                         "NETCDF3_64BIT_OFFSET": "netcdf3-64bit",
                         "NETCDF3_64BIT_DATA": "netcdf3-cdf5"}[ds.data_model]
        for name in ds.ncattrs():
            out["global_attrs"][name] = jsonable(ds.getncattr(name))
        for name, var in ds.variables.items():
            var.set_auto_maskandscale(False)
            var.set_always_mask(False)
            dt = np.dtype(var.dtype)
            if dt.itemsize > 1:
                dt = dt.newbyteorder(">")
            data = np.ascontiguousarray(var[...]).astype(dt)
            raw = data.tobytes()
            attrs = {a: jsonable(var.getncattr(a)) for a in var.ncattrs()}
            out["vars"].append({
                "name": name, "dims": list(var.dimensions), "shape": list(var.shape),
                "dtype": dt.str, "nbytes": len(raw), "fnv": fnv1a64(raw), "attrs": attrs,
                "unlimited": [ds.dimensions[dn].isunlimited() for dn in var.dimensions],
            })
    return out


files = []
for name, fmt in [("classic.nc", "NETCDF3_CLASSIC"), ("offset64.nc", "NETCDF3_64BIT_OFFSET"),
                  ("cdf5.nc", "NETCDF3_64BIT_DATA")]:
    write_main(os.path.join(HERE, name), fmt)
    files.append((os.path.join(HERE, name), "netcdf3/" + name))
write_onerec(os.path.join(HERE, "onerec.nc"))
files.append((os.path.join(HERE, "onerec.nc"), "netcdf3/onerec.nc"))
write_norec(os.path.join(HERE, "norec.nc"))
files.append((os.path.join(HERE, "norec.nc"), "netcdf3/norec.nc"))
for name in ["nc3_classic.nc", "nc3_64bit_offset.nc", "nc3_cdf5.nc"]:
    p = os.path.join(HERE, "..", "fixtures", name)
    if os.path.exists(p):
        files.append((p, "fixtures/" + name))
corpus_files = [
    "Parallel-NetCDF+PnetCDF/test/C/pres_temp_4D.nc",
    "Unidata+netcdf-c/nctest/ref_nctest_64bit_offset.nc",
    "Unidata+netcdf-c/nctest/ref_nctest_classic.nc",
    "Unidata+netcdf4-python/test/CRM032_test1.nc",
    "nasa+harmony-regridding-service/tests/unit/fixtures/empty-MERRA2.nc",
    "nasa+podaacpy/podaac/tests/ascat_20130719_230600_metopa_35024_eps_o_250_2200_ovw.l2_subsetted_.nc",
    "OPENDAP+bes/retired/modules/w10n_handler/data/coads_climatology.nc",
    "pydata+xarray-data/eraint_uvz.nc",
]
for rel in corpus_files:
    p = os.path.join(CORPUS, rel)
    if os.path.exists(p):
        files.append((p, "corpus/" + rel))

expected = [describe(p, label) for p, label in files]
with open(os.path.join(HERE, "expected.json"), "w") as fh:
    json.dump(expected, fh, indent=1)
print(len(expected), "files")
