#!/usr/bin/env python3
"""The oracle: vzgen's references must read like the original file.

For every fixture (tests/data/fixtures) and every HDF5 / netCDF file of the shared corpus
(<repo>/../shared/corpus, listed in CATALOG.tsv) this runs `vzgen scan FILE -o OUT.json` and
classifies the outcome:

  crash      signal, timeout, or a sanitizer report on stderr
  error      clean non-zero exit (first stderr line recorded)
  identical  the references, opened with fsspec + zarr (and xarray), match h5py / netCDF4
  mismatch   any difference (one line per difference; the first is shown in the table)
  unverified vzgen succeeded but neither h5py nor netCDF4 can read the original

The run fails (exit 1) on a crash, and on an error or mismatch that the expectations file of
this reader generation (tests/e2e/expectations-current.tsv under zarr 3,
expectations-floor.tsv under zarr 2.18) does not list with that status. Listed entries that
now pass are reported as "fixed".

Usage:
  oracle.py --vzgen BUILD/src/vz/cli/vzgen [--expectations tests/e2e/expectations-GEN.tsv]
            [--jobs 2] [--timeout 30] [--only SUBSTRING] [--verbose] [--update] [FILE ...]
  --update writes a fresh expectations file (reason TODO) from this run's errors/mismatches.
  FILE arguments replace the default file list.
Run it with the python of a test environment (`make venvs`): build/venv/current/bin/python
(zarr 3) or build/venv/floor/bin/python (zarr 2.18); tests/requirements/ pins both.
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "data", "fixtures")
SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))

HIDDEN_ATTRS = {"REFERENCE_LIST", "CLASS", "DIMENSION_LIST", "NAME", "_Netcdf4Dimid",
                "_Netcdf4Coordinates", "_nc3_strict", "_NCProperties", "_FillValue"}
DIM_ONLY_NAME = "This is a netCDF dimension but not a netCDF variable"
NC4_NON_COORD = "_nc4_non_coord_"
TEXT_KINDS = "OSUT"
STATUSES = ("crash", "error", "mismatch", "unverified", "identical")


# =========================================================================== file discovery
def sniff(path):
    """'netcdf3', 'hdf5' or None from the magic bytes (HDF5 signature at 0, 512, 1024, ...).
    'hdf5' here means HDF5 or netCDF-4: compare_file() decides which from the content."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if head[:3] == b"CDF" and head[3:4] in (b"\x01", b"\x02", b"\x05"):
                return "netcdf3"
            size = os.fstat(fh.fileno()).st_size
            off = 0
            while off + 8 <= size:
                fh.seek(off)
                if fh.read(8) == b"\x89HDF\r\n\x1a\n":
                    return "hdf5"
                off = 512 if off == 0 else off * 2
    except OSError:
        return None
    return None


def sniffed_format(path):
    """Format hint for a file outside the catalogue: 'netcdf3' or 'unknown' (HDF5 / netCDF-4 /
    not a known format: compare_file() looks at the content)."""
    return "netcdf3" if sniff(path) == "netcdf3" else "unknown"


def display_name(path):
    """The name a file has in the table and in expectations.tsv: relative to the repository for
    fixtures, relative to the shared directory for corpus files (as in CATALOG.tsv)."""
    p = os.path.abspath(path)
    for base in (REPO, SHARED):
        if p.startswith(base + os.sep):
            return os.path.relpath(p, base)
    return p


def default_files(shared):
    """[(display name, absolute path, format hint)]; prints a loud line if the corpus is absent."""
    files = []
    for name in sorted(os.listdir(FIXTURES)):
        p = os.path.join(FIXTURES, name)
        if name.startswith(".") or name.endswith((".py", ".md")) or not os.path.isfile(p):
            continue
        files.append((os.path.relpath(p, REPO), p, sniffed_format(p)))
    catalog = os.path.join(shared, "corpus", "CATALOG.tsv")
    if not os.path.isfile(catalog):
        print("corpus: SKIPPED (../shared/corpus not found)", flush=True)
        return files
    with open(catalog, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            fmt = row.get("format", "")
            if fmt not in ("hdf5", "netcdf4") and not fmt.startswith("netcdf3"):
                continue
            p = os.path.join(shared, row["path"])
            if os.path.isfile(p):
                files.append((row["path"], p, "netcdf3" if fmt.startswith("netcdf3") else fmt))
            else:
                print(f"corpus: listed but missing: {row['path']}", flush=True)
    return files


# =========================================================================== normalisation
class _Skip:
    """Marks a value the oracle does not compare (object references)."""


SKIP = _Skip()


def norm(v):
    """JSON-like normal form: bytes->str, numpy->python, 1-element arrays->scalar, Empty->None."""
    import h5py
    import numpy as np
    if isinstance(v, h5py.Empty):
        return None
    if isinstance(v, (h5py.Reference, h5py.RegionReference)):
        return SKIP
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, str):
        return str(v)
    if isinstance(v, np.ndarray):
        if v.dtype.names is None and v.size == 1:
            return norm(v.reshape(())[()])
        if v.dtype.names is not None and v.size == 1:
            return norm(v.reshape(())[()])
        if v.dtype.kind == "V" and v.dtype.names is None:
            return [bytes(x).hex() for x in v.flat]
        return [norm(x) for x in v.tolist()]
    if isinstance(v, np.void):
        if v.dtype.names is not None:
            return [norm(v[n]) for n in v.dtype.names]
        return bytes(v).hex()
    if isinstance(v, np.generic):
        return norm(v.item())
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    return v


def nonfinite_text(v):
    """The JSON string vzgen writes for a non-finite float ("NaN", "Infinity", "-Infinity"; RFC
    8259 has no such numbers), None for any other value."""
    if not isinstance(v, float) or math.isfinite(v):
        return None
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def reject_constant(name):
    raise ValueError(f"bare {name} is not JSON (RFC 8259)")


def strict_loads(text):
    """json.loads that refuses NaN, Infinity and -Infinity, as strict parsers (JavaScript's
    JSON.parse, serde_json, GDAL) do."""
    return json.loads(text, parse_constant=reject_constant)


def strict_json_problems(json_path):
    """Why a reference file is not strict JSON, the document and every metadata document inside
    it (.zgroup/.zarray/.zattrs strings): a list of reasons, empty when it is."""
    try:
        with open(json_path, encoding="utf-8") as fh:
            doc = strict_loads(fh.read())
    except Exception as e:  # noqa: BLE001
        return [f"output is not strict JSON: {first_line(e)}"]
    out = []
    refs = doc.get("refs") if isinstance(doc, dict) else None
    for key, val in (refs or {}).items():
        if key.rsplit("/", 1)[-1] in (".zgroup", ".zarray", ".zattrs") and isinstance(val, str):
            try:
                strict_loads(val)
            except ValueError as e:
                out.append(f"{key}: invalid strict JSON: {e}")
    return out


def has_skip(v):
    return v is SKIP or (isinstance(v, list) and any(has_skip(x) for x in v))


def same(a, b):
    """Equality of normalised values: NaN == NaN, a JSON object equals the list of its values,
    null / "" / [] all stand for an empty (null-dataspace) attribute, and a non-finite float
    equals the string it is written as in strict JSON ("NaN", "Infinity", "-Infinity")."""
    if a is SKIP or b is SKIP:
        return True
    empty = (None, "", [])
    if (a is None or b is None) and a in empty and b in empty:
        return True
    if isinstance(a, list) and len(a) == 1 and not isinstance(b, list):
        a = a[0]  # a 1-element array attribute is a scalar
    if isinstance(b, list) and len(b) == 1 and not isinstance(a, list):
        b = b[0]
    if isinstance(a, dict) and isinstance(b, list):
        a = list(a.values())
    if isinstance(b, dict) and isinstance(a, list):
        b = list(b.values())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, bool) != isinstance(b, bool) and not (
            isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(b, str) and nonfinite_text(a) == b or \
            isinstance(a, str) and nonfinite_text(b) == a:
        return True  # a non-finite attribute value, written as zarr writes a fill_value
    if isinstance(a, str) != isinstance(b, str):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - any incomparable pair is a difference
        return False


def first_line(e):
    text = str(e)
    return text.splitlines()[0] if text else ""


def short(v, n=60):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


# =========================================================================== value comparison
def text_array(a):
    import numpy as np
    flat = [x.decode("utf-8", "replace") if isinstance(x, (bytes, np.bytes_)) else
            (None if x is None else str(x)) for x in a.ravel().tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(a.shape)


def compare_sequences(want, got, where):
    """Variable-length sequences: object arrays of 1-d arrays, compared element by element with
    their dtypes and NaN-aware values."""
    import numpy as np
    if got.dtype.kind != "O":
        return f"{where}: dtype {got.dtype} vs original variable-length {want.dtype}"
    for i, (w, g) in enumerate(zip(want.ravel().tolist(), got.ravel().tolist())):
        if not isinstance(g, np.ndarray):
            return f"{where}: element {i} read back as {type(g).__name__}, not an array"
        if w.dtype != g.dtype:
            return f"{where}: element {i} has dtype {g.dtype} vs original {w.dtype}"
        if w.shape != g.shape or not np.array_equal(w, g, equal_nan=w.dtype.kind in "fc"):
            return f"{where}: element {i} is {short(g)} vs original {short(w)}"
    return None


def compare_values(want, got, where):
    """Returns None if equal, else a one-line reason. `want` comes from h5py/netCDF4 (raw)."""
    import numpy as np
    want = np.asarray(want)
    got = np.asarray(got)
    if want.dtype.names is not None:
        if got.dtype.names is None:
            return f"{where}: compound read back as {got.dtype} (fields {want.dtype.names})"
        if tuple(got.dtype.names) != tuple(want.dtype.names):
            return f"{where}: compound fields {got.dtype.names} != {want.dtype.names}"
        for name in want.dtype.names:
            r = compare_values(want[name], got[name], f"{where}.{name}")
            if r:
                return r
        return None
    if want.dtype.kind == "c" and got.dtype.names is not None and len(got.dtype.names) == 2:
        r_, i_ = got.dtype.names
        got = got[r_] + 1j * got[i_]
    if want.shape != got.shape:
        return f"{where}: value shape {got.shape} != {want.shape}"
    if want.dtype.kind == "O" and any(isinstance(x, np.ndarray) for x in want.ravel().tolist()):
        return compare_sequences(want, got, where)
    # Text: bytes, str, object and numpy 2's StringDType (kind "T"), in which zarr 3 returns
    # vlen-utf8 arrays.
    if want.dtype.kind in TEXT_KINDS or got.dtype.kind in TEXT_KINDS:
        if want.dtype.kind not in TEXT_KINDS or got.dtype.kind not in TEXT_KINDS:
            return f"{where}: dtype {got.dtype} vs original {want.dtype}"
        w, g = text_array(want), text_array(got)
        bad = np.flatnonzero(w.ravel() != g.ravel())
        if bad.size:
            i = int(bad[0])
            return (f"{where}: {bad.size} string values differ, first at flat index {i}: "
                    f"{short(g.ravel()[i])} != {short(w.ravel()[i])}")
        return None
    if want.dtype.kind == "V" or got.dtype.kind == "V":
        if want.tobytes() != got.tobytes():
            return f"{where}: opaque bytes differ"
        return None
    if want.dtype.kind in "fc" or got.dtype.kind in "fc":
        eq = (want == got) | (np.isnan(want) & np.isnan(got))
    else:
        eq = want == got
    eq = np.asarray(eq)
    if not eq.all():
        idx = np.unravel_index(int(np.flatnonzero(~eq.ravel())[0]), want.shape) if want.ndim \
            else ()
        return (f"{where}: {int((~eq).sum())} of {want.size} values differ, first at {idx}: "
                f"{short(got[idx])} != {short(want[idx])}")
    return None


def float32_equal(a, b):
    import numpy as np
    with np.errstate(over="ignore"):
        return bool(np.float32(a) == np.float32(b))


def compare_attrs(want, got, where):
    """want/got: dict name -> raw value. Returns list of reasons."""
    out = []
    for k in sorted(want):
        w = norm(want[k])
        if w is SKIP:
            continue
        if k not in got and has_skip(w):
            continue  # an attribute holding object references may be left out
        if k not in got:
            out.append(f"{where}: attribute {k!r} missing (original {short(w)})")
        elif not same(w, norm(got[k])):
            g = norm(got[k])
            hint = ""
            if isinstance(w, float) and isinstance(g, float) and float32_equal(w, g):
                hint = " (equal only in float32: write the float32 value's exact double)"
            out.append(f"{where}: attribute {k!r} = {short(g)}, original {short(w)}{hint}")
    for k in sorted(set(got) - set(want)):
        out.append(f"{where}: unexpected attribute {k!r} = {short(got[k])}")
    return out


def visible(attrs):
    out = {}
    for k, v in attrs.items():
        if k in HIDDEN_ATTRS:
            continue
        if isinstance(v, (bytes, str)) and norm(v) == "DIMENSION_SCALE":
            continue
        out[k] = v
    return out


def read_h5_attrs(obj, notes, where):
    res = {}
    for k in obj.attrs.keys():
        try:
            res[k] = obj.attrs[k]
        except Exception as e:  # noqa: BLE001 - h5py cannot read some attribute types
            notes.append(f"{where}: h5py cannot read attribute {k!r} ({e}); not compared")
    return res


# =========================================================================== HDF5 / netCDF-4 walk
def walk_hdf5(f, max_paths=20000):
    """[(paths, obj, kind)] for every group and dataset reachable through hard links: one entry
    per object, with every hard-link path to it (also through aliased groups; a group already on
    the current path is not entered again, so hard-link cycles end). Soft and external links are
    not followed: their targets are checked where they really live."""
    import h5py
    entries = {}
    root_addr = h5py.h5o.get_info(f.id).addr
    entries[root_addr] = ([""], f, "group")
    budget = [max_paths]

    def rec(g, path, ancestors):
        for name in sorted(g.keys()):
            if budget[0] <= 0:
                return
            child = f"{path}/{name}" if path else name
            try:
                link = g.get(name, getlink=True)
            except Exception:  # noqa: BLE001
                continue
            if not isinstance(link, h5py.HardLink):
                continue
            budget[0] -= 1
            try:
                obj = g[name]
                addr = h5py.h5o.get_info(obj.id).addr
            except Exception:  # noqa: BLE001 - h5py cannot open it: nothing to compare with
                entries[("unreadable", child)] = ([child], None, "unreadable")
                continue
            if addr in entries:
                entries[addr][0].append(child)
            elif isinstance(obj, h5py.Group):
                entries[addr] = ([child], obj, "group")
            elif isinstance(obj, h5py.Dataset):
                entries[addr] = ([child], obj, "dataset")
            else:
                continue
            if isinstance(obj, h5py.Group) and addr not in ancestors:
                rec(obj, child, ancestors | {addr})

    rec(f, "", frozenset([root_addr]))
    return list(entries.values())


def zarr_major():
    """3 for the current reader generation (zarr-python 3), 2 for the floor (zarr 2.18)."""
    import zarr
    return int(zarr.__version__.split(".")[0])


def generation():
    """The reader generation this interpreter runs: 'current' or 'floor' (the expectations file
    and the table are per generation)."""
    return "current" if zarr_major() >= 3 else "floor"


def refs_storage_options(fo):
    """fsspec's options for "reference://": fo is the reference file's path or its JSON dict."""
    return {"fo": fo}


def open_refs(json_path):
    """The root group of the references, opened the way users open them, through the reader's
    normal batched read path (getitems / concurrent gets), never key by key:

      zarr 3:    zarr.open_group(store=FsspecStore.from_url("reference://", storage_options=
                 {"fo": ...}, read_only=True), mode="r", zarr_format=2)
      zarr 2.18: zarr.open_group(fsspec.get_mapper("reference://", fo=...), mode="r")
    """
    import zarr
    if zarr_major() >= 3:
        from zarr.storage import FsspecStore
        store = FsspecStore.from_url("reference://", read_only=True,
                                     storage_options=refs_storage_options(json_path))
        return zarr.open_group(store=store, mode="r", zarr_format=2)
    import fsspec
    return zarr.open_group(fsspec.get_mapper("reference://", **refs_storage_options(json_path)),
                           mode="r")


def open_refs_xarray(json_path, group=None, workaround=True):
    """xarray over the references, exactly as README.md tells users to open them."""
    import xarray as xr
    url = "reference://"
    if group and workaround and zarr_major() >= 3:
        # READER BUG WORKAROUND (zarr 3.1.6 with fsspec 2026.9; docs/output.md "Reader bugs"):
        # zarr's FsspecStore lists a group as f"{store.path}/{group}", which is "/grp" for the
        # empty path of "reference://", and ReferenceFileSystem knows no "/grp": with group="grp"
        # every subgroup opens as an empty Dataset. The group in the URL gives the store the path
        # "grp", which lists correctly. oracle_selftest checks that the bug is still there (so
        # this can go when it is fixed) and that the workaround reads the group.
        url, group = url + group.strip("/"), None
    return xr.open_dataset(url, engine="zarr", group=group,
                           backend_kwargs={"consolidated": False,
                                           "storage_options": refs_storage_options(json_path)})


def nc_var_for(nc, path):
    """netCDF4 Variable for an HDF5 dataset path, or None."""
    if nc is None:
        return None
    parts = path.split("/")
    g = nc
    for p in parts[:-1]:
        g = g.groups.get(p) if g.groups else None
        if g is None:
            return None
    name = parts[-1]
    if name.startswith(NC4_NON_COORD):
        name = name[len(NC4_NON_COORD):]
    return g.variables.get(name)


def zarr_get(root, path):
    """The zarr group/array at path, None if absent; other failures (bad .zarray) propagate."""
    try:
        return root[path] if path else root
    except KeyError:
        return None


def check_dims(z, ndim_ok, nc_var, where, reasons):
    dims = z.attrs.get("_ARRAY_DIMENSIONS")
    if dims is None:
        reasons.append(f"{where}: _ARRAY_DIMENSIONS missing")
        return
    if not isinstance(dims, list) or len(dims) not in ndim_ok:
        reasons.append(f"{where}: _ARRAY_DIMENSIONS {short(dims)} has wrong length "
                       f"(ndim {z.ndim})")
        return
    if nc_var is not None:
        want = list(nc_var.dimensions)
        if dims != want:
            reasons.append(f"{where}: _ARRAY_DIMENSIONS {dims} != netCDF dimensions {want}")


NON_COORD = "_nc4_non_coord_"


def netcdf_name(p):
    """netCDF readers show "_nc4_non_coord_X" (a variable whose name a dimension it does not use
    already takes) as "X"; so must the references."""
    head, _, base = p.rpartition("/")
    if base.startswith(NON_COORD):
        base = base[len(NON_COORD):]
    return f"{head}/{base}" if head else base


def check_hdf5(path, root, nc, reasons, notes):
    import h5py
    with h5py.File(path, "r") as f:
        for paths, obj, kind in walk_hdf5(f):
            if nc is not None:
                renamed = [netcdf_name(q) for q in paths]
                if renamed != paths:
                    paths = renamed
                elif kind != "group" and any(
                        (q.rpartition("/")[0] + "/" + NON_COORD + q.rpartition("/")[2]).lstrip("/")
                        in f for q in paths):
                    continue  # a dimension whose name the renamed variable now carries
            try:
                check_hdf5_object(paths, obj, kind, root, nc, reasons, notes)
            except Exception as e:  # noqa: BLE001 - e.g. invalid .zarray: one line, go on
                msg = str(e).splitlines()[0] if str(e) else ""
                reasons.append(f"/{paths[0]}: {type(e).__name__}: {msg}")


def read_dataset(ds):
    """The dataset's values as h5py reads them. h5py has no conversion for some opaque types
    (alone or as compound members: "no appropriate function for conversion path"); their bytes
    are then read as stored, with the file's own type as the memory type."""
    import numpy as np
    try:
        return ds[()]
    except (OSError, TypeError):
        if "V" not in ds.dtype.str and not (ds.dtype.names and any(
                ds.dtype[n].kind == "V" for n in ds.dtype.names)):
            raise
        import h5py
        out = np.empty(ds.shape, ds.dtype)
        if out.size:
            ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, out, mtype=ds.id.get_type())
        return out


def check_hdf5_object(paths, obj, kind, root, nc, reasons, notes):
    import h5py
    import numpy as np
    p = next((q for q in paths if zarr_get(root, q) is not None), paths[0])
    where = "/" + p
    if kind == "unreadable":
        notes.append(f"{where}: h5py cannot open the object; not compared")
        return
    if kind == "group":
        zg = zarr_get(root, p)
        if zg is None:
            reasons.append(f"{where}: group missing")
            return
        reasons += compare_attrs(visible(read_h5_attrs(obj, notes, where)),
                                 dict(zg.attrs), where)
        return
    ds = obj
    attrs = read_h5_attrs(ds, notes, where)
    z = zarr_get(root, p)
    is_dim_only = (norm(attrs.get("CLASS")) == "DIMENSION_SCALE"
                   and str(norm(attrs.get("NAME", ""))).startswith(DIM_ONLY_NAME))
    if is_dim_only:
        if z is not None:
            reasons.append(f"{where}: netCDF dimension-only scale must not be an array")
        return
    if h5py.check_dtype(ref=ds.dtype) is not None:
        if z is not None:
            try:
                z[...]
            except Exception as e:  # noqa: BLE001
                reasons.append(f"{where}: reference dataset present but unreadable "
                               f"({type(e).__name__}: {e})")
        return
    if ds.shape is None:
        # A null dataspace has no values: a scalar array that keeps the attributes (docs/output.md).
        if z is None or getattr(z, "shape", None) != ():
            reasons.append(f"{where}: null-dataspace dataset must be a scalar array")
            return
        zattrs = {k: v for k, v in z.attrs.items() if k != "_ARRAY_DIMENSIONS"}
        reasons += compare_attrs(visible(attrs), zattrs, where)
        return
    if z is None:
        reasons.append(f"{where}: array missing")
        return
    if not hasattr(z, "shape") or not hasattr(z, "dtype"):
        reasons.append(f"{where}: is a group in the references, a dataset in the file")
        return
    nc_var = nc_var_for(nc, p)
    sub = ds.dtype.subdtype[1] if ds.dtype.subdtype else ()
    want_shapes = [tuple(ds.shape), tuple(ds.shape) + tuple(sub)]
    nc_longer = nc_var is not None and tuple(nc_var.shape) != tuple(ds.shape)
    if nc_longer:
        # An unlimited dimension is as long as its longest variable: netCDF readers
        # (and xarray) see this variable padded with fill values to that length.
        want_shapes = [tuple(nc_var.shape)]
    if tuple(z.shape) not in want_shapes:
        reasons.append(f"{where}: shape {tuple(z.shape)} != {want_shapes[0]}"
                       + (" (netCDF unlimited-dimension length)" if nc_longer else ""))
        return
    if (ds.dtype.kind in "iuf" and z.dtype.kind in "iuf" and z.dtype != ds.dtype
            and not ds.dtype.subdtype):
        reasons.append(f"{where}: dtype {z.dtype.str} != {ds.dtype.str}")
    try:
        if nc_longer:
            nc_var.set_auto_maskandscale(False)
            nc_var.set_auto_chartostring(False)
            want = nc_var[...]
            want = want.data if hasattr(want, "mask") else want
        else:
            want = read_dataset(ds)
    except Exception as e:  # noqa: BLE001
        notes.append(f"{where}: h5py cannot read values ({e}); not compared")
        want = None
    if want is not None:
        try:
            got = z[...]
        except Exception as e:  # noqa: BLE001
            reasons.append(f"{where}: reading the references failed: "
                           f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            got = None
        if got is not None:
            if isinstance(want, h5py.Empty):
                want = None
            r = compare_values(np.asarray(want), got, where) if want is not None else None
            if r:
                reasons.append(r)
    ndim_ok = {z.ndim, len(ds.shape)}
    check_dims(z, ndim_ok, nc_var, where, reasons)
    zattrs = {k: v for k, v in z.attrs.items() if k != "_ARRAY_DIMENSIONS"}
    reasons += compare_attrs(visible(attrs), zattrs, where)
    if "_FillValue" in attrs:
        fv = norm(attrs["_FillValue"])
        zfv = norm(z.fill_value) if z.fill_value is not None else None
        if not same(fv, zfv) or zfv is None:
            reasons.append(f"{where}: fill_value {short(zfv)} != _FillValue {short(fv)}")


def check_netcdf3(path, root, reasons, notes):
    import netCDF4
    with netCDF4.Dataset(path, "r") as nc:
        nc.set_auto_maskandscale(False)
        nc.set_auto_chartostring(False)
        reasons += compare_attrs(visible({k: nc.getncattr(k) for k in nc.ncattrs()}),
                                 dict(root.attrs), "/")
        for name, var in nc.variables.items():
            try:
                check_netcdf3_var(name, var, root, reasons)
            except Exception as e:  # noqa: BLE001 - e.g. invalid .zarray: one line, go on
                reasons.append(f"/{name}: {type(e).__name__}: {first_line(e)}")


def check_netcdf3_var(name, var, root, reasons):
    where = "/" + name
    z = zarr_get(root, name)
    if z is None:
        reasons.append(f"{where}: array missing")
        return
    if tuple(z.shape) != tuple(var.shape):
        reasons.append(f"{where}: shape {tuple(z.shape)} != {tuple(var.shape)}")
        return
    import numpy as np
    want = var[...]
    if hasattr(want, "mask"):
        want = want.data
    want = np.asarray(want).reshape(var.shape)
    if var.dtype != str and z.dtype.kind in "iuf" and z.dtype.newbyteorder("=") != \
            var.dtype.newbyteorder("="):
        reasons.append(f"{where}: dtype {z.dtype.str} != {var.dtype.str}")
    try:
        got = z[...]
        r = compare_values(want, got, where)
        if r:
            reasons.append(r)
    except Exception as e:  # noqa: BLE001
        reasons.append(f"{where}: reading the references failed: {type(e).__name__}: {e}")
    check_dims(z, {z.ndim}, var, where, reasons)
    attrs = {k: var.getncattr(k) for k in var.ncattrs()}
    zattrs = {k: v for k, v in z.attrs.items() if k != "_ARRAY_DIMENSIONS"}
    reasons += compare_attrs(visible(attrs), zattrs, where)
    if "_FillValue" in attrs:
        fv = norm(attrs["_FillValue"])
        zfv = norm(z.fill_value) if z.fill_value is not None else None
        if not same(fv, zfv) or zfv is None:
            reasons.append(f"{where}: fill_value {short(zfv)} != _FillValue {short(fv)}")


def xr_visible(attrs):
    """xarray's zarr backend hides attributes named _nc* (any case); its netCDF4 backend not."""
    return {k: v for k, v in attrs.items() if not k.lower().startswith("_nc")}


def netcdf_groups(path):
    """Every netCDF group path below the root ("grp", "grp/sub", ...), in file order."""
    import netCDF4
    out = []

    def rec(g, prefix):
        for name, sub in (g.groups or {}).items():
            out.append(prefix + name)
            rec(sub, prefix + name + "/")
    with netCDF4.Dataset(path, "r") as nc:
        rec(nc, "")
    return out


def check_xarray(path, json_path, reasons, notes, groups=()):
    """User-level check: xarray over the references vs xarray (netCDF4 engine) on the file, for
    the root group and every group in `groups`."""
    import warnings

    import xarray as xr
    warnings.simplefilter("ignore")
    for group in [None] + list(groups):
        label = f"xarray {group}/" if group else "xarray "
        try:
            orig = xr.open_dataset(path, engine="netcdf4", group=group)
        except Exception as e:  # noqa: BLE001
            notes.append(f"{label}: xarray cannot open the original ({type(e).__name__}); "
                         "xarray check skipped")
            continue
        try:
            refs = open_refs_xarray(json_path, group=group)
        except Exception as e:  # noqa: BLE001
            reasons.append(f"{label}: cannot open the references: {type(e).__name__}: "
                           f"{first_line(e)}")
            orig.close()
            continue
        with orig, refs:
            compare_xarray(orig, refs, label, reasons, notes)


def compare_xarray(orig, refs, label, reasons, notes):
    """One group as xarray shows it (the root, or `group=` for a subgroup): the same data
    variables, coordinates and dimensions (names and sizes) as from the netCDF file."""
    kinds = (("data variables", orig.data_vars, refs.data_vars),
             ("coordinates", orig.coords, refs.coords))
    for kind, a, b in kinds:
        if set(a) != set(b):
            reasons.append(f"{label}: {kind} differ: missing {sorted(set(a) - set(b))}, "
                           f"extra {sorted(set(b) - set(a))}")
    sizes_o, sizes_r = dict(orig.sizes), dict(refs.sizes)
    if sizes_o != sizes_r:
        reasons.append(f"{label}: dims {sizes_r} != {sizes_o}")
    reasons += compare_attrs(xr_visible(orig.attrs), refs.attrs, label + "/")
    for name in orig.variables:
        if name not in refs.variables:
            continue
        vo = orig.variables[name]
        vr = refs.variables[name]
        where = f"{label}{name}"
        try:
            vo.load()
        except Exception as e:  # noqa: BLE001
            notes.append(f"{where}: xarray cannot read the original ({type(e).__name__}); "
                         "skipped")
            continue
        if vo.dims != vr.dims:
            reasons.append(f"{where}: dims {vr.dims} != {vo.dims}")
            continue
        try:
            vr.load()
        except Exception as e:  # noqa: BLE001
            reasons.append(f"{where}: reading the references failed: {type(e).__name__}: "
                           f"{first_line(e)}")
            continue
        if not vo.equals(vr):
            r = None
            try:
                r = compare_values(vo.values, vr.values, where)
            except Exception:  # noqa: BLE001
                pass
            reasons.append(r or f"{where}: values differ ({vr.dtype} vs {vo.dtype})")
        reasons += compare_attrs(xr_visible(vo.attrs), vr.attrs, where)


def is_netcdf4(path):
    import h5py
    try:
        with h5py.File(path, "r") as f:
            if "_NCProperties" in f.attrs:
                return True
            found = []

            def visit(_, o):
                if isinstance(o, h5py.Dataset) and ("_Netcdf4Dimid" in o.attrs or
                                                    "_Netcdf4Coordinates" in o.attrs):
                    found.append(1)
                    return True
                return None
            f.visititems(visit)
            return bool(found)
    except Exception:  # noqa: BLE001
        return False


def check_contract(path, json_path):
    """Structure of the JSON (KERCHUNK.md section 4.1): strict RFC 8259 JSON (no bare NaN or
    Infinity, in the document or in its metadata strings); version 1; .zgroup/.zarray/.zattrs
    values are JSON-encoded strings; a chunk is inline text, "base64:...", [url] or [url, offset,
    length] with the byte range inside the scanned file. Returns reasons."""
    import base64
    out = strict_json_problems(json_path)
    if out:
        return out
    with open(json_path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("refs"),
                                                                               dict):
        return ['output is not kerchunk JSON v1 ({"version": 1, "refs": {...}})']
    size = os.path.getsize(path)
    target = os.path.realpath(path)
    for key, val in doc["refs"].items():
        base = key.rsplit("/", 1)[-1]
        if base in (".zgroup", ".zarray", ".zattrs"):
            if not isinstance(val, str):
                out.append(f"{key}: metadata must be a JSON-encoded string, got "
                           f"{type(val).__name__}")
                continue
            continue
        if isinstance(val, str):
            if val.startswith("base64:"):
                try:
                    base64.b64decode(val[7:], validate=True)
                except ValueError:
                    out.append(f"{key}: invalid base64")
            continue
        if not isinstance(val, list) or len(val) not in (1, 3) or not isinstance(val[0], str):
            out.append(f"{key}: chunk reference must be [url] or [url, offset, length]")
            continue
        url = val[0]
        for name, text in (doc.get("templates") or {}).items():
            url = url.replace("{{" + name + "}}", str(text))
        url = url[7:] if url.startswith("file://") else url
        if os.path.realpath(url) != target:
            out.append(f"{key}: refers to {val[0]!r}, not the scanned file")
            continue
        if len(val) == 3:
            off, length = val[1], val[2]
            if not (isinstance(off, int) and isinstance(length, int)) or off < 0 or length < 0:
                out.append(f"{key}: bad byte range {val[1:]}")
            elif off + length > size:
                out.append(f"{key}: byte range {off:#x}+{length} ends past the end of the file "
                           f"({size:#x})")
        if len(out) > 20:
            break
    return out


def compare_file(path, fmt, json_path):
    """Returns (reasons, notes, verified)."""
    reasons, notes = [], []
    contract = check_contract(path, json_path)
    if contract:
        return contract, notes, True
    try:
        root = open_refs(json_path)
    except Exception as e:  # noqa: BLE001
        return [f"cannot open the references: {type(e).__name__}: {e}"], notes, True
    if fmt == "netcdf3":
        try:
            check_netcdf3(path, root, reasons, notes)
        except OSError as e:
            notes.append(f"netCDF4-python cannot open the original: {e}")
            return reasons, notes, False
        check_xarray(path, json_path, reasons, notes)
        return reasons, notes, True
    import h5py
    try:
        h5py.File(path, "r").close()
    except Exception as e:  # noqa: BLE001
        notes.append(f"h5py cannot open the original: {e}")
        return reasons, notes, False
    nc4 = fmt == "netcdf4" or (fmt != "hdf5" and is_netcdf4(path))
    nc = None
    if nc4:
        try:
            import netCDF4
            nc = netCDF4.Dataset(path, "r")
        except Exception as e:  # noqa: BLE001
            notes.append(f"netCDF4-python cannot open it ({e}); dimension names not checked")
    try:
        check_hdf5(path, root, nc, reasons, notes)
    finally:
        if nc is not None:
            nc.close()
    if nc is not None:
        check_xarray(path, json_path, reasons, notes, netcdf_groups(path))
    return reasons, notes, True


# =========================================================================== one file
def run_one(vzgen, path, fmt, timeout):
    """Runs vzgen on one file and compares; returns a dict (status, detail, reasons, notes)."""
    with tempfile.TemporaryDirectory(prefix="vz-oracle-") as tmp:
        out = os.path.join(tmp, "refs.json")
        try:
            p = subprocess.run([vzgen, "scan", path, "-o", out], capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"status": "crash", "detail": f"timeout after {timeout} s"}
        err = p.stderr.decode("utf-8", "replace")
        first = err.strip().splitlines()[0] if err.strip() else ""
        if p.returncode < 0:
            return {"status": "crash", "detail": f"signal {-p.returncode}: {first}"}
        if "Sanitizer" in err or "runtime error" in err:
            line = next(ln for ln in err.splitlines() if "Sanitizer" in ln or "runtime error" in ln)
            return {"status": "crash", "detail": line.strip()}
        if p.returncode != 0:
            return {"status": "error", "detail": first or f"exit {p.returncode}, no message"}
        if not os.path.isfile(out):
            return {"status": "mismatch", "detail": "exit 0 but no output file"}
        try:
            reasons, notes, verified = compare_file(path, fmt, out)
        except Exception as e:  # noqa: BLE001 - the references broke the comparison itself
            msg = str(e).splitlines()[0] if str(e) else ""
            reasons, notes, verified = [f"comparison failed: {type(e).__name__}: {msg}"], [], True
        if reasons:
            more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
            return {"status": "mismatch", "detail": reasons[0] + more, "reasons": reasons,
                    "notes": notes}
        if not verified:
            return {"status": "unverified", "detail": notes[0] if notes else "", "notes": notes}
        return {"status": "identical", "detail": "; ".join(notes)[:200], "notes": notes}


def versions():
    """'zarr 3.1.6, xarray ..., ...' for the table's header line."""
    import importlib.metadata as md
    out = []
    for dist in ("zarr", "xarray", "fsspec", "numcodecs", "numpy", "h5py", "hdf5plugin",
                 "netCDF4"):
        try:
            out.append(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            out.append(f"{dist} absent")
    return ", ".join(out)


def child_main(args):
    try:
        import hdf5plugin  # noqa: F401 - the truth side decodes blosc/zstd/lz4/bzip2 datasets
    except ImportError:
        pass
    res = run_one(args.vzgen, args.check_one, args.format, args.timeout)
    print("ORACLE-RESULT " + json.dumps(res))
    return 0


def run_child(args, name, path, fmt):
    cmd = [sys.executable, os.path.abspath(__file__), "--check-one", path, "--format", fmt,
           "--vzgen", args.vzgen, "--timeout", str(args.timeout)]
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=args.timeout + args.compare_timeout)
    except subprocess.TimeoutExpired:
        return name, {"status": "mismatch", "detail": "oracle comparison timed out"}, 0.0
    secs = time.monotonic() - start
    for line in reversed(p.stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith("ORACLE-RESULT "):
            return name, json.loads(line[len("ORACLE-RESULT "):]), secs
    tail = p.stderr.decode("utf-8", "replace").strip().splitlines()
    why = tail[-1] if tail else f"exit {p.returncode}"
    return name, {"status": "mismatch", "detail": "oracle failed: " + why}, secs


# =========================================================================== expectations
def load_expectations(path):
    exp = {}
    if not path or not os.path.isfile(path):
        return exp
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 2 or cols[1] not in ("error", "mismatch"):
                raise SystemExit(f"{path}:{n}: want file<TAB>error|mismatch<TAB>reason")
            exp[cols[0]] = (cols[1], cols[2] if len(cols) > 2 else "")
    return exp


def write_expectations(path, results):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# file\tstatus\treason  (status: error = deliberate refusal with a documented "
                 "message, mismatch = known bug)\n")
        for name in sorted(results):
            r = results[name]
            if r["status"] in ("error", "mismatch"):
                detail = r["detail"].replace("\t", " ")
                fh.write(f"{name}\t{r['status']}\tTODO: {detail}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vzgen", required=True, help="path of the vzgen binary")
    ap.add_argument("--expectations", default=None,
                    help="default: expectations-<generation>.tsv beside this script")
    ap.add_argument("--update", action="store_true",
                    help="write a fresh expectations skeleton from this run")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=30, help="seconds per vzgen run")
    ap.add_argument("--compare-timeout", type=int, default=240, help=argparse.SUPPRESS)
    ap.add_argument("--only", help="only files whose name contains this")
    ap.add_argument("--shared", default=SHARED,
                    help="the shared directory holding corpus/ (default: <repo>/../shared)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every reason and note")
    ap.add_argument("--check-one", help=argparse.SUPPRESS)
    ap.add_argument("--format", default="unknown", help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    args.vzgen = os.path.abspath(args.vzgen)
    if args.expectations is None:
        args.expectations = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         f"expectations-{generation()}.tsv")
    if args.check_one:
        return child_main(args)
    if not os.access(args.vzgen, os.X_OK):
        print(f"oracle: vzgen binary not found or not executable: {args.vzgen}")
        return 1
    if args.files:
        files = [(display_name(f), os.path.abspath(f), sniffed_format(f)) for f in args.files]
    else:
        files = default_files(os.path.abspath(args.shared))
    if args.only:
        files = [f for f in files if args.only in f[0]]
    exp = load_expectations(args.expectations)
    results = {}
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = [pool.submit(run_child, args, name, path, fmt) for name, path, fmt in files]
        for fut in concurrent.futures.as_completed(futs):
            name, res, secs = fut.result()
            results[name] = res
    width = max([len(n) for n in results] + [4])
    print(f"readers ({generation()}): {versions()}")
    print(f"{'file':<{width}}  {'status':<10}  detail")
    failures, fixed = [], []
    for name, _, _ in files:
        r = results[name]
        st = r["status"]
        mark = ""
        listed = exp.get(name)
        if st == "crash":
            failures.append(name)
            mark = " <- FAIL"
        elif st in ("error", "mismatch"):
            if not listed or listed[0] != st:
                failures.append(name)
                mark = " <- FAIL (not in expectations)" if not listed else \
                    f" <- FAIL (expected {listed[0]})"
        elif listed and st in ("identical",):
            fixed.append(name)
            mark = " <- fixed: remove from expectations"
        print(f"{name:<{width}}  {st:<10}  {r.get('detail', '')}{mark}")
        if args.verbose:
            for line in r.get("reasons", [])[1:]:
                print(f"{'':<{width}}  {'':<10}  {line}")
            for line in r.get("notes", []):
                print(f"{'':<{width}}  {'note':<10}  {line}")
    stale = sorted(set(exp) - set(results)) if not args.only and not args.files else []
    for name in stale:
        print(f"expectations: {name} is listed but was not run (file gone?)")
    counts = {s: sum(1 for r in results.values() if r["status"] == s) for s in STATUSES}
    print(f"\nsummary: {len(results)} files in {time.monotonic() - start:.0f} s: " +
          ", ".join(f"{counts[s]} {s}" for s in STATUSES) +
          f"; {len(failures)} unexpected, {len(fixed)} fixed")
    if args.update:
        write_expectations(args.expectations, results)
        print(f"wrote {args.expectations} (edit the TODO reasons)")
    if failures:
        print("FAILED: " + ", ".join(failures[:20]) + (" ..." if len(failures) > 20 else ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
