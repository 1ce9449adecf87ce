#!/usr/bin/env python3
"""The oracle for `vzgen build` and `vzgen append`: generated collections (MUR-like daily grids
given out of order, GRACE-like monthly files with per-file time units and time bounds, hourly
files of 24 records, Level-2 swaths with groups and no time axis) are combined by vzgen and
opened through fsspec's reference filesystem with xarray + zarr; the result must equal
xarray's own concatenation of the originals (netCDF4 engine):

    xr.concat(files, dim, data_vars="minimal", coords="minimal", compat="override",
              combine_attrs="drop_conflicts")

(variables, dimensions, coordinates, dtypes after decoding, values with NaN masks, variable
and global attributes), embedded variables must need no data request, and append must equal
build. Then every compatibility check is run with a deliberately bad granule: exit 1, one line
naming the granule and the variable, no output left behind.

Usage: build_oracle.py --vzgen BIN [--keep DIR]
"""
import argparse
import datetime as dt
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile

import netCDF4
import numpy as np
import xarray as xr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

FAILURES = []


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)
    if not ok:
        FAILURES.append(name)


# ---------------------------------------------------------------- generated collections

def mur(path, day, lat_shift=0.0, sst_dtype="i2", chunks=(1, 10, 20), shuffle=True,
        fill=-32768, scale=0.001, offset=298.15, nlat=20, time_value=None):
    with netCDF4.Dataset(path, "w") as d:
        d.title = "MUR-like"
        d.Conventions = "CF-1.7"
        d.date_created = f"2024-01-{day + 1:02d}"  # differs: dropped by drop_conflicts
        d.createDimension("time", None)
        d.createDimension("lat", nlat)
        d.createDimension("lon", 40)
        t = d.createVariable("time", "i4", ("time",))
        t.units = "seconds since 1981-01-01 00:00:00 UTC"
        t.standard_name = "time"
        t[:] = [time_value if time_value is not None else 1300000000 + day * 86400]
        la = d.createVariable("lat", "f4", ("lat",))
        la.units = "degrees_north"
        la[:] = np.linspace(-45, 45, nlat) + lat_shift
        lo = d.createVariable("lon", "f4", ("lon",))
        lo.units = "degrees_east"
        lo[:] = np.linspace(-90, 90, 40)
        s = d.createVariable("analysed_sst", sst_dtype, ("time", "lat", "lon"), zlib=True,
                             shuffle=shuffle, chunksizes=chunks, fill_value=fill)
        s.scale_factor = scale
        s.add_offset = offset
        s.units = "kelvin"
        raw = (np.arange(nlat * 40).reshape(1, nlat, 40) * 7 + day * 13) % 20000 - 5000
        raw = np.ma.masked_where((raw % 17) == 0, raw)
        s.set_auto_maskandscale(False)
        s[:] = np.ma.filled(raw, fill).astype(sst_dtype)
        m = d.createVariable("mask", "i1", ("time", "lat", "lon"), zlib=True,
                             chunksizes=(1, 10, 20))
        m[:] = ((np.arange(nlat * 40).reshape(1, nlat, 40) + day) % 3).astype("i1")


def grace(path, month):
    with netCDF4.Dataset(path, "w") as d:
        d.title = "GRACE-like"
        d.createDimension("time", None)
        d.createDimension("bnds", 2)
        d.createDimension("lat", 6)
        first = dt.date(2020, month, 1)
        nxt = dt.date(2020 + month // 12, month % 12 + 1, 1)
        t = d.createVariable("time", "f8", ("time",))
        t.units = f"days since {first.isoformat()}"  # differs per file
        t.bounds = "time_bounds"
        t[:] = [(nxt - first).days / 2.0]
        tb = d.createVariable("time_bounds", "f8", ("time", "bnds"))
        tb.units = t.units
        tb[:] = [[0.0, float((nxt - first).days)]]
        la = d.createVariable("lat", "f4", ("lat",))
        la[:] = np.arange(6) * 10.0
        v = d.createVariable("lwe_thickness", "f4", ("time", "lat"), zlib=True,
                             fill_value=-99999.0)
        v.units = "cm"
        vals = np.arange(6, dtype="f4") * month
        vals[month % 6] = -99999.0
        v[0, :] = vals


def hourly(path, day):
    with netCDF4.Dataset(path, "w") as d:
        d.title = "hourly"
        d.createDimension("time", 24)
        d.createDimension("x", 5)
        t = d.createVariable("time", "f8", ("time",))
        t.units = "hours since 2020-01-01"
        t[:] = np.arange(24) + 24 * day
        v = d.createVariable("temp", "f4", ("time", "x"), zlib=True, chunksizes=(24, 5))
        v[:] = np.arange(120, dtype="f4").reshape(24, 5) + day


def swath(path, k):
    with netCDF4.Dataset(path, "w") as d:
        d.title = "swath"
        d.time_coverage_start = f"2024-01-0{k + 1}T00:00:00Z"
        d.createDimension("num_lines", 4)
        d.createDimension("num_pixels", 3)
        lat = d.createVariable("latitude", "f4", ("num_lines", "num_pixels"))
        lat[:] = np.arange(12).reshape(4, 3) + k
        g = d.createGroup("data_01").createGroup("ku")
        s = g.createVariable("ssha", "i2", ("num_lines", "num_pixels"), zlib=True,
                             fill_value=-999)
        s.scale_factor = 0.01
        s.set_auto_maskandscale(False)
        s[:] = (np.arange(12).reshape(4, 3) * (k + 1)).astype("i2")


# ---------------------------------------------------------------- comparison

def open_store(store, group=None):
    """As users open it, with the oracle's marked workaround for zarr 3's subgroup listing; the
    store must be strict JSON (no bare NaN/Infinity) first."""
    problems = oracle.strict_json_problems(store)
    if problems:
        raise ValueError(f"{store}: {problems[0]}")
    return oracle.open_refs_xarray(store, group=group)


def expected(files, dim, group=None, new_dim_values=None, stack=False):
    dss = [xr.open_dataset(f, group=group) for f in files]
    if new_dim_values is not None:
        dss = [ds.expand_dims({dim: [v]}) for ds, v in zip(dss, new_dim_values)]
    elif stack:
        dss = [ds.expand_dims(dim) for ds in dss]
    return xr.concat(dss, dim=dim, data_vars="minimal", coords="minimal", compat="override",
                     combine_attrs="drop_conflicts")


def same_attrs(a, b):
    if set(a) != set(b):
        return False
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            if oracle.same(oracle.norm(a[k]), oracle.norm(b[k])):
                continue  # e.g. a NaN attribute, written as the string "NaN"
            if not (x.dtype.kind in "US" or y.dtype.kind in "US") or str(a[k]) != str(b[k]):
                return False
    return True


def as_text(a):
    """Object or StringDType (kind "T", no direct cast to "U") values as a "U" array."""
    return np.array(a.tolist(), dtype=object).astype(str)


def compare(name, got, want):
    problems = []
    if set(got.variables) != set(want.variables):
        problems.append(f"variables {sorted(got.variables)} != {sorted(want.variables)}")
    for v in set(got.variables) & set(want.variables):
        g, w = got[v], want[v]
        if g.dims != w.dims:
            problems.append(f"{v}: dims {g.dims} != {w.dims}")
            continue
        gv, wv = g.values, w.values
        # Text is text whatever its numpy kind: zarr 3 gives numpy 2's StringDType (kind "T").
        if gv.dtype != wv.dtype and not (gv.dtype.kind in "OUST" and wv.dtype.kind in "OUST"):
            problems.append(f"{v}: dtype {gv.dtype} != {wv.dtype}")
        elif gv.shape != wv.shape:
            problems.append(f"{v}: shape {gv.shape} != {wv.shape}")
        elif gv.dtype.kind in "fc":
            if not np.array_equal(gv, wv, equal_nan=True):
                problems.append(f"{v}: values differ")
        elif gv.dtype.kind == "M":
            if not np.array_equal(gv.astype("i8"), wv.astype("i8")):
                problems.append(f"{v}: times differ")
        elif not np.array_equal(as_text(gv) if gv.dtype.kind in "OT" else gv,
                                as_text(wv) if wv.dtype.kind in "OT" else wv):
            problems.append(f"{v}: values differ")
        if not same_attrs(g.attrs, w.attrs):
            problems.append(f"{v}: attributes {g.attrs} != {w.attrs}")
    if set(got.coords) != set(want.coords):
        problems.append(f"coordinates {sorted(got.coords)} != {sorted(want.coords)}")
    if not same_attrs(got.attrs, want.attrs):
        problems.append(f"global attributes {got.attrs} != {want.attrs}")
    check(name, not problems, "; ".join(problems[:4]))


def run(vzgen, args):
    p = subprocess.run([vzgen] + args, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stderr.strip()


def inline_only(store, names):
    with open(store) as f:
        refs = json.load(f)["refs"]
    for n in names:
        keys = [k for k in refs if k.startswith(n + "/") and not k.split("/")[-1].startswith(".")]
        if not keys or any(isinstance(refs[k], list) for k in keys):
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--keep")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    work = args.keep or tempfile.mkdtemp(prefix="vz_build_oracle_")
    os.makedirs(work, exist_ok=True)

    def d(*p):
        path = os.path.join(work, *p)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    murs = [d("mur", f"2024010{k + 1}-mur.nc") for k in range(5)]
    for k, p in enumerate(murs):
        mur(p, k)
    graces = [d("grace", f"GRACE_2020{m:02d}.nc") for m in range(1, 5)]
    for m, p in enumerate(graces, 1):
        grace(p, m)
    hours = [d("hourly", f"h{k}.nc") for k in range(3)]
    for k, p in enumerate(hours):
        hourly(p, k)
    swaths = [d("l2", f"SWATH_2024010{k + 1}.nc") for k in range(3)]
    for k, p in enumerate(swaths):
        swath(p, k)

    # MUR-like, given out of order: sorted by time, lat/lon/time embedded.
    store = d("out", "mur.json")
    shuffled = [murs[3], murs[0], murs[4], murs[2], murs[1]]
    rc, err = run(vzgen, ["build"] + shuffled + ["--loadable-vars", "lat,lon", "-o", store, "-q"])
    check("mur: build", rc == 0, err)
    if rc == 0:
        compare("mur: equals xarray's concatenation", open_store(store), expected(murs, "time"))
        check("mur: lat, lon and time are embedded", inline_only(store, ["lat", "lon", "time"]))
    # The same with nothing inlined but the loaded variables: every chunk is a reference.
    refs_store = d("out", "mur-refs.json")
    rc, err = run(vzgen, ["build"] + shuffled + ["--loadable-vars", "lat,lon", "--inline-threshold",
                                                 "0", "-o", refs_store, "-q"])
    check("mur (references only): build", rc == 0, err)
    if rc == 0:
        with open(refs_store) as f:
            n_refs = sum(isinstance(v, list) for v in json.load(f)["refs"].values())
        check("mur (references only): chunks are [url, offset, length]", n_refs == 5 * 4 * 2,
              f"{n_refs} references")
        compare("mur (references only): equals xarray's concatenation", open_store(refs_store),
                expected(murs, "time"))

    rc, err = run(vzgen, ["build"] + graces + ["-o", d("out", "grace.json"), "-q"])
    check("grace: build (per-file time units)", rc == 0, err)
    if rc == 0:
        compare("grace: equals xarray's concatenation", open_store(d("out", "grace.json")),
                expected(graces, "time"))

    rc, err = run(vzgen, ["build"] + hours + ["-o", d("out", "hourly.json"), "-q"])
    check("hourly: build (24 records per file)", rc == 0, err)
    if rc == 0:
        compare("hourly: equals xarray's concatenation", open_store(d("out", "hourly.json")),
                expected(hours, "time"))

    l2 = d("out", "l2.json")
    rc, err = run(vzgen, ["build"] + swaths + ["--new-dim", "granule", "--granule-coord",
                                               "attr:time_coverage_start", "-o", l2, "-q"])
    check("l2: build along a new dimension", rc == 0, err)
    if rc == 0:
        starts = [f"2024-01-0{k + 1}T00:00:00Z" for k in range(3)]
        compare("l2: root equals xarray's concatenation", open_store(l2),
                expected(swaths, "granule", new_dim_values=starts))
        compare("l2: group data_01/ku equals xarray's concatenation",
                open_store(l2, group="data_01/ku").drop_vars([], errors="ignore"),
                expected(swaths, "granule", group="data_01/ku", stack=True))

    # Append: build(A + B) == build(A) then append(B); appending again changes nothing.
    full = d("out", "full.json")
    part = d("out", "part.json")
    run(vzgen, ["build"] + murs + ["--loadable-vars", "lat,lon", "-o", full, "-q"])
    rc1, _ = run(vzgen, ["build"] + murs[:2] + ["--loadable-vars", "lat,lon", "-o", part, "-q"])
    rc2, err = run(vzgen, ["append", part] + murs[2:] + ["-q"])
    check("append: build(A) then append(B) equals build(A+B)",
          rc1 == 0 and rc2 == 0 and filecmp.cmp(full, part, shallow=False), err)
    before = open(part, "rb").read()
    rc, err = run(vzgen, ["append", part] + murs + ["-q"])
    check("append: appending the same granules again changes nothing",
          rc == 0 and open(part, "rb").read() == before, err)
    late = d("out", "late.json")
    run(vzgen, ["build", murs[0], murs[1], murs[3], murs[4], "--loadable-vars", "lat,lon", "-o",
                late, "-q"])
    rc, err = run(vzgen, ["append", late, murs[2], "-q"])
    check("append: a late granule among the store's rebuilds it in order",
          rc == 0 and filecmp.cmp(full, late, shallow=False), err)

    # Every compatibility check, with a deliberately bad granule.
    bad = [
        ("dtype", dict(sst_dtype="i4", fill=-32768), "analysed_sst"),
        ("shape", dict(nlat=24), "analysed_sst"),
        ("chunk shape", dict(chunks=(1, 5, 20)), "analysed_sst"),
        ("codecs", dict(shuffle=False), "analysed_sst"),
        ("fill value", dict(fill=-1), "analysed_sst"),
        ("scale_factor", dict(scale=0.01), "analysed_sst"),
        ("add_offset", dict(offset=273.15), "analysed_sst"),
        ("lat values", dict(lat_shift=0.5), "lat"),
        ("duplicate time", dict(time_value=1300000000), "time"),
    ]
    for what, kw, var in bad:
        path = d("bad", f"bad-{what.replace(' ', '_')}.nc")
        mur(path, 7, **kw)
        out = d("out", f"bad-{what.replace(' ', '_')}.json")
        rc, err = run(vzgen, ["build", murs[0], murs[1], path, "--loadable-vars", "lat,lon",
                              "-o", out])
        check(f"check {what}: exit 1 naming {os.path.basename(path)} and {var}",
              rc == 1 and os.path.basename(path) in err and var in err and
              len(err.splitlines()) == 1 and not os.path.exists(out), f"rc={rc} {err}")
    # Skip mode: the bad granule is left out, reported, exit 3.
    skipped = d("out", "skipped.json")
    badfile = d("bad", "bad-codecs.nc")
    rc, err = run(vzgen, ["build", murs[0], badfile, murs[1], "--loadable-vars", "lat,lon",
                          "--on-error", "skip", "-o", skipped, "-q"])
    report = json.load(open(skipped + ".report.json")) if os.path.exists(
        skipped + ".report.json") else {}
    listed = [s["path"] for s in report.get("granules_skipped", [])]
    check("skip: exit 3, the report lists the bad granule", rc == 3 and listed == [badfile],
          f"rc={rc} {listed}")
    # A failing append leaves the store byte-for-byte as it was.
    before = open(part, "rb").read()
    rc, err = run(vzgen, ["append", part, d("bad", "bad-scale_factor.nc")])
    check("append: a bad granule fails and leaves the store untouched",
          rc == 1 and open(part, "rb").read() == before, f"rc={rc} {err}")

    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILURES)} failed" if FAILURES else "build and append match xarray")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
