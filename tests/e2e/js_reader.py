#!/usr/bin/python3
"""A second-language reader: zarrita (JavaScript, npm) opens a sample of the stores vzgen writes
through @zarrita/storage's ReferenceStore, and every array is compared, value by value, with what
h5py reads from the original files. This shows the output is plain kerchunk that a reader with
no fsspec in it understands.

The originals are served by nginx on 127.0.0.1 and vzgen scans and builds them over HTTP, so the
references hold http:// URLs that zarrita fetches itself, with Range requests. The sample: single
granules (a MUR-like grid, netCDF-4 and HDF5 groups, filters, fixed and variable-length strings,
compact layouts inlined), a build of three daily granules along `time`, and a build of three
Level-2 swaths along a new `granule` dimension. Raw stored values are compared (neither side
applies `scale_factor` or masks fill values).

Known differences (a reader gap, or a vzgen behaviour another reader disagrees with) are listed
in tests/js/expectations.tsv with their reason; any other difference, or a listed one that has
gone away, fails the test.

Usage: js_reader.py --vzgen BIN --js-dir DIR [--keep DIR]
  DIR holds check.mjs's node_modules (`make js-deps` installs them into build/js).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import loopback  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
from remote_bench import write_swath  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "data", "fixtures")
EXPECTATIONS = os.path.join(ROOT, "tests", "js", "expectations.tsv")
SINGLE = ["nc4_mur_like.nc", "nc4_groups.nc", "groups_latest.h5", "filters_basic.h5",
          "nc4_vlen_string.nc", "dtypes_strings.h5", "layouts_latest.h5", "dtypes_numeric.h5",
          "fillvalues.h5", "attrs.h5"]


def encode(values: np.ndarray) -> tuple:
    """(kind, flat list) for the JSON the node side reads."""
    kind = values.dtype.kind
    flat = values.reshape(-1)
    if kind == "f":
        return "f", [x if math.isfinite(x) else str(x).replace("nan", "NaN").replace(
            "inf", "Infinity") for x in flat.astype(np.float64).tolist()]
    if kind in "iu":
        return kind, [str(x) for x in flat.tolist()]
    if kind == "c":
        return "c", [str(x) for x in flat.tolist()]
    if kind == "b":
        return "b", [bool(x) for x in flat.tolist()]
    if kind == "S":
        # zarrita decodes fixed-size bytes as UTF-8 (TextDecoder, invalid bytes replaced)
        return "S", [x.decode("utf-8", errors="replace") for x in flat.tolist()]
    if kind == "O":
        return "O", [x.decode("utf-8") if isinstance(x, bytes) else str(x)
                     for x in flat.tolist()]
    raise ValueError(f"dtype {values.dtype} is not in the sample")


def array_paths(refs: dict) -> list:
    return sorted(k[: -len("/.zarray")] for k in refs if k.endswith("/.zarray"))


def dims_of(refs: dict, path: str) -> list:
    return json.loads(refs.get(path + "/.zattrs", "{}")).get("_ARRAY_DIMENSIONS", [])


def expected_single(original: str, refs: dict) -> tuple:
    out, skipped = {}, []
    with h5py.File(original, "r") as f:
        for path in array_paths(refs):
            obj = f.get(path)
            if not isinstance(obj, h5py.Dataset) or obj.dtype.kind not in "fiubcSO" or (
                    obj.dtype.kind == "O" and h5py.check_string_dtype(obj.dtype) is None):
                skipped.append(path)
                continue
            values = np.asarray(obj[()])
            kind, flat = encode(values)
            out[path] = {"shape": list(values.shape), "kind": kind, "values": flat}
    return out, skipped


def expected_combined(originals: list, refs: dict, dim: str, new_attr: str = "") -> tuple:
    """Concatenation along `dim` or, with `new_attr`, stacking along a new `dim` whose values
    are that global attribute of each original, of what h5py reads from each original. Which
    arrays carry `dim` is decided from the originals: along an existing dimension, those whose
    netCDF dimension 0 is `dim`; along a new one, every variable that is not a dimension
    coordinate."""
    new = bool(new_attr)
    out, skipped = {}, []
    files = [h5py.File(p, "r") for p in originals]
    try:
        for path in array_paths(refs):
            if new and path == dim:
                values = np.array([f.attrs[new_attr] for f in files], dtype=object)
                kind, flat = encode(values)
                out[path] = {"shape": [len(files)], "kind": kind, "values": flat}
                continue
            objs = [f.get(path) for f in files]
            if not all(isinstance(o, h5py.Dataset) for o in objs):
                skipped.append(path)
                continue
            first = objs[0]
            is_scale = first.attrs.get("CLASS") == b"DIMENSION_SCALE"
            if new:
                along = not is_scale
            else:
                names = ([os.path.basename(s.name) for s in first.dims[0].values()]
                         if first.ndim else [])
                along = dim in names or (is_scale and os.path.basename(path) == dim)
            if along:
                parts = [np.asarray(o[()]) for o in objs]
                values = np.stack(parts) if new else np.concatenate(parts)
            else:
                values = np.asarray(first[()])
            kind, flat = encode(values)
            out[path] = {"shape": list(values.shape), "kind": kind, "values": flat}
    finally:
        for f in files:
            f.close()
    return out, skipped


def read_expectations() -> dict:
    known = {}
    with open(EXPECTATIONS) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                case, path, reason = line.rstrip("\n").split("\t", 2)
                known[(case, path)] = reason
    return known


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--js-dir", required=True)
    ap.add_argument("--keep")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    if not os.path.isdir(os.path.join(args.js_dir, "node_modules", "zarrita")):
        print(f"zarrita is not installed in {args.js_dir}: run `make js-deps`")
        return 1
    # Node resolves "zarrita" from the script's own folder: run this checkout's copy there.
    check = os.path.join(args.js_dir, "check.mjs")
    shutil.copy(os.path.join(ROOT, "tests", "js", "check.mjs"), check)
    node = shutil.which("node")
    if not node:
        print("node is not installed (make deps installs Debian's nodejs)")
        return 1
    work = args.keep or tempfile.mkdtemp(prefix="vz_js_")
    os.makedirs(work, exist_ok=True)
    www = os.path.join(work, "www")
    os.makedirs(www, exist_ok=True)
    for name in SINGLE:
        shutil.copy(os.path.join(FIXTURES, name), www)
    subprocess.run([loopback.PYTHON, os.path.join(ROOT, "bench", "gen_granules.py"), "--small",
                    "--count", "3", "--out", os.path.join(www, "daily")], check=True,
                   stdout=subprocess.DEVNULL)
    daily = sorted(n for n in os.listdir(os.path.join(www, "daily")) if n.endswith(".nc"))
    os.makedirs(os.path.join(www, "l2"), exist_ok=True)
    swaths = []
    for k in range(3):
        swaths.append(f"swath_{k}.nc")
        write_swath(os.path.join(www, "l2", swaths[-1]), k)

    cases = []
    skipped_total = []
    with loopback.Servers() as servers:
        url = f"http://127.0.0.1:{servers.nginx(www)}"

        def run(argv):
            p = subprocess.run([vzgen] + argv + ["-q"], capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"vzgen {' '.join(argv)}: {p.stderr.strip()}")

        def add(name, store, expected, skipped):
            values = os.path.join(work, name + ".expected.json")
            with open(values, "w") as f:
                json.dump(expected, f)
            cases.append({"name": name, "refs": store, "expected": values})
            skipped_total.extend(f"{name} {p}" for p in skipped)

        for name in SINGLE:
            store = os.path.join(work, name + ".json")
            run(["scan", f"{url}/{name}", "-o", store])
            add(name, store, *expected_single(os.path.join(www, name),
                                              json.load(open(store))["refs"]))
        store = os.path.join(work, "daily.json")
        run(["build"] + [f"{url}/daily/{n}" for n in daily] +
            ["--loadable-vars", "lat,lon,time", "-o", store])
        add("build-time", store, *expected_combined(
            [os.path.join(www, "daily", n) for n in daily], json.load(open(store))["refs"],
            "time"))
        store = os.path.join(work, "l2.json")
        run(["build"] + [f"{url}/l2/{n}" for n in swaths] +
            ["--new-dim", "granule", "--granule-coord", "attr:time_coverage_start", "-o", store])
        add("build-granule", store, *expected_combined(
            [os.path.join(www, "l2", n) for n in swaths], json.load(open(store))["refs"],
            "granule", "time_coverage_start"))
        cases_file = os.path.join(work, "cases.json")
        with open(cases_file, "w") as f:
            json.dump(cases, f)
        p = subprocess.run([node, check, cases_file], capture_output=True, text=True,
                           timeout=600)
    print(p.stdout, end="")
    if p.returncode != 0:
        print(p.stderr)
        return 1
    if skipped_total:
        print(f"not compared (no h5py counterpart or a dtype outside the sample): "
              f"{', '.join(skipped_total)}")
    known = read_expectations()
    seen = set()
    failures = []
    for line in p.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        if tag not in ("DIFF", "ERROR"):
            continue
        case, _, path = rest.partition(" ")
        path = path.split(":", 1)[0]
        if (case, path) in known:
            seen.add((case, path))
        else:
            failures.append(line)
    compared = sum(1 for x in p.stdout.splitlines() if x.startswith(("OK ", "DIFF ", "ERROR ")))
    stale = sorted(set(known) - seen)
    for case, path in stale:
        failures.append(f"listed in tests/js/expectations.tsv but zarrita now reads it: "
                        f"{case} {path}")
    if compared < 40:
        failures.append(f"only {compared} arrays compared")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL", f)
    print(f"{len(failures)} unexpected" if failures else
          f"zarrita reads the sample as h5py does ({len(known)} known differences)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
