#!/usr/bin/env python3
"""A stand-in for `vzgen scan` built on h5py, used only to test the oracle itself.

  fake_vzgen.py scan FILE -o OUT.json

Writes kerchunk-like references for HDF5 files (contiguous, compact (inlined), chunked with
gzip/shuffle; vlen strings embedded), following kerchunk's fill/attribute rules. Anything else
ends with exit 2 and one error line. FAKE_VZGEN_BREAK=offset shifts every byte offset by 8 (wrong
data), FAKE_VZGEN_BREAK=attr alters one attribute, FAKE_VZGEN_BREAK=nan writes a bare NaN (not
RFC 8259 JSON) into the root's .zattrs, FAKE_VZGEN_BREAK=crash kills itself with SIGSEGV: the
oracle must report each of these. Non-finite attribute values are written as vzgen writes them
("NaN", "Infinity", "-Infinity"), dimension names as netCDF readers show them.
"""
import base64
import json
import os
import signal
import sys

import h5py
import numcodecs
import numpy as np

HIDDEN = {"REFERENCE_LIST", "CLASS", "DIMENSION_LIST", "NAME", "_Netcdf4Dimid",
          "_Netcdf4Coordinates", "_nc3_strict", "_NCProperties", "_FillValue"}
BREAK = os.environ.get("FAKE_VZGEN_BREAK", "")


def jsonable(v):
    if isinstance(v, h5py.Empty):
        return ""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return jsonable(v.reshape(())[()])
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return jsonable(v.item())
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, (h5py.Reference, h5py.RegionReference)):
        return None
    return v


def fill_json(v, dtype):
    if v is None:
        return None
    v = np.asarray(v).reshape(())[()]
    if dtype.kind == "f":
        f = float(v)
        return "NaN" if f != f else ("Infinity" if f == np.inf else
                                     "-Infinity" if f == -np.inf else f)
    if dtype.kind in "SV":
        return base64.b64encode(bytes(v)).decode()
    return jsonable(v)


def attrs_of(obj):
    out = {}
    for k in obj.attrs:
        if k in HIDDEN:
            continue
        v = jsonable(obj.attrs[k])
        if v == "DIMENSION_SCALE":
            continue
        out[k] = v
    return out


def netcdf3(path, out):
    """netCDF-3: every variable inlined (raw values through netCDF4-python), no byte ranges."""
    import netCDF4
    nc = netCDF4.Dataset(path)
    nc.set_auto_maskandscale(False)
    nc.set_auto_chartostring(False)
    root_attrs = {k: jsonable(nc.getncattr(k)) for k in nc.ncattrs()}
    if BREAK == "attr":
        root_attrs["vzgen_injected"] = 1
    if BREAK == "nan":
        root_attrs["vzgen_injected"] = float("nan")
    refs = {".zgroup": json.dumps({"zarr_format": 2}), ".zattrs": json.dumps(root_attrs)}
    for name, var in nc.variables.items():
        data = np.array(np.asarray(var[...]).reshape(var.shape), order="C")
        if BREAK == "offset" and data.size and data.dtype.kind in "iuf":
            data.flat[0] += 1  # wrong data
        attrs = {k: jsonable(var.getncattr(k)) for k in var.ncattrs() if k != "_FillValue"}
        attrs["_ARRAY_DIMENSIONS"] = list(var.dimensions)
        fill = var.getncattr("_FillValue") if "_FillValue" in var.ncattrs() else None
        refs[name + "/.zattrs"] = json.dumps(attrs)
        refs[name + "/.zarray"] = json.dumps({
            "zarr_format": 2, "shape": list(data.shape), "chunks": list(data.shape),
            "dtype": data.dtype.str, "fill_value": fill_json(fill, data.dtype), "order": "C",
            "compressor": None, "filters": None})
        key = ".".join(["0"] * (data.ndim or 1))
        if data.size:
            refs[name + "/" + key] = "base64:" + base64.b64encode(data.tobytes()).decode()
    with open(out, "w") as fh:
        json.dump({"version": 1, "refs": refs}, fh)
    return 0


def main():
    if len(sys.argv) != 5 or sys.argv[1] != "scan" or sys.argv[3] != "-o":
        print("usage: fake_vzgen.py scan FILE -o OUT", file=sys.stderr)
        return 2
    path, out = os.path.abspath(sys.argv[2]), sys.argv[4]
    if BREAK == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    with open(path, "rb") as fh:
        if fh.read(3) == b"CDF":
            return netcdf3(path, out)
    try:
        f = h5py.File(path, "r")
    except Exception as e:  # noqa: BLE001
        print(f"{path}: not an HDF5 file ({e})", file=sys.stderr)
        return 2
    shift = 8 if BREAK == "offset" else 0
    nc_shapes = {}
    if "_NCProperties" in f.attrs:  # netCDF-4: unlimited dims are as long as the longest var
        import netCDF4
        with netCDF4.Dataset(path) as nc:
            def walk(g, prefix):
                for vname, var in g.variables.items():
                    nc_shapes[prefix + vname] = list(var.shape)
                for gname, sub in g.groups.items():
                    walk(sub, prefix + gname + "/")
            walk(nc, "")
    refs = {".zgroup": json.dumps({"zarr_format": 2}), ".zattrs": json.dumps(attrs_of(f))}
    if BREAK == "attr":
        a = attrs_of(f)
        a["vzgen_injected"] = 1
        refs[".zattrs"] = json.dumps(a)
    if BREAK == "nan":
        a = attrs_of(f)
        a["vzgen_injected"] = float("nan")
        refs[".zattrs"] = json.dumps(a)

    def visit(name, obj):
        if isinstance(obj, h5py.Group):
            refs[name + "/.zgroup"] = json.dumps({"zarr_format": 2})
            refs[name + "/.zattrs"] = json.dumps(attrs_of(obj))
            return
        ds = obj
        if ds.shape is None or h5py.check_dtype(ref=ds.dtype) is not None:
            return
        cls = ds.attrs.get("CLASS")
        if cls == b"DIMENSION_SCALE" and ds.id.get_storage_size() == 0 and \
                str(ds.attrs.get("NAME", b"")).find("not a netCDF variable") >= 0:
            return
        filters = []
        for fname, opts in ds._filters.items():
            if fname == "shuffle":
                filters.append({"id": "shuffle", "elementsize": ds.dtype.itemsize})
            elif fname == "gzip":
                filters.append({"id": "zlib", "level": opts})
            else:
                raise SystemExit(f"{path}: {name}: unsupported filter {fname}")
        vlen = h5py.check_string_dtype(ds.dtype) is not None and \
            h5py.check_string_dtype(ds.dtype).length is None
        if ds.dtype.names or ds.dtype.subdtype or ds.dtype.kind == "c":
            raise SystemExit(f"{path}: {name}: unsupported type {ds.dtype}")
        dtype = "|O" if vlen else ds.dtype.str
        shape = nc_shapes.get(name, list(ds.shape))
        chunks = list(ds.chunks or ds.shape)
        if any(c == 0 for c in chunks):
            chunks = [max(c, 1) for c in chunks]
        fill = None if vlen else ds.fillvalue
        nc = any("_Netcdf4" in k for k in ds.attrs) or "since" in str(ds.attrs.get("units", ""))
        if nc:
            fill = None
        if "_FillValue" in ds.attrs:
            fill = ds.attrs["_FillValue"]
        zattrs = attrs_of(ds)
        dims = []
        if cls == b"DIMENSION_SCALE" and len(shape) == 1:
            dims = [name.rsplit("/", 1)[-1]]
        else:
            dims = None
        try:
            if dims:
                raise StopIteration
            dims = []
            for i, d in enumerate(ds.dims):
                dims.append(d[0].name.rsplit("/", 1)[-1] if len(d) else f"phony_dim_{i}")
        except StopIteration:
            pass
        except Exception:  # noqa: BLE001
            dims = [f"phony_dim_{i}" for i in range(len(shape))]
        zattrs["_ARRAY_DIMENSIONS"] = dims
        refs[name + "/.zattrs"] = json.dumps(zattrs)
        key0 = ".".join(["0"] * (len(shape) or 1))
        if vlen:
            data = ds[()]
            arr = np.array([x.decode() if isinstance(x, bytes) else x
                            for x in np.asarray(data).ravel()], dtype=object)
            filters = [{"id": "vlen-utf8"}]
            chunks = shape
            enc = numcodecs.VLenUTF8().encode(arr)
            refs[name + "/" + key0] = "base64:" + base64.b64encode(enc).decode()
        elif ds.chunks is None:
            off = ds.id.get_offset()
            if off is None and ds.id.get_storage_size() > 0:  # compact: inline the bytes
                refs[name + "/" + key0] = "base64:" + base64.b64encode(
                    np.ascontiguousarray(ds[()]).tobytes()).decode()
            elif off is not None:
                refs[name + "/" + key0] = [path, off + shift, ds.id.get_storage_size()]
        else:
            for i in range(ds.id.get_num_chunks()):
                info = ds.id.get_chunk_info(i)
                if info.filter_mask:
                    raise SystemExit(f"{path}: {name}: filter mask not supported")
                key = ".".join(str(o // c) for o, c in zip(info.chunk_offset, ds.chunks))
                refs[name + "/" + key] = [path, info.byte_offset + f.userblock_size + shift,
                                          info.size]
        refs[name + "/.zarray"] = json.dumps({
            "zarr_format": 2, "shape": shape, "chunks": chunks, "dtype": dtype,
            "fill_value": fill_json(fill, ds.dtype) if not vlen else None, "order": "C",
            "compressor": None, "filters": filters or None})

    try:
        f.visititems(visit)
    except SystemExit as e:
        print(str(e), file=sys.stderr)
        return 2
    with open(out, "w") as fh:
        json.dump({"version": 1, "refs": refs}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
