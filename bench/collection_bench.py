"""A whole-MUR-like collection (8,000 granules x 4 variables x 324 chunks = 10.4 M references)
written and opened as kerchunk JSON, kerchunk Parquet and Icechunk, beside VirtualiZarr's
writers on the same references.

The references are synthetic (written directly as a vzgen Store: MUR's grid, 17999 x 36000 in
1 x 1023 x 2047 chunks, shuffle + zlib int16/int8 variables, lat/lon/time held in memory);
only granule 0 exists on disk, holding the one chunk the "read" step decodes. Each measurement
runs in a fresh child process and reports its own wall time and peak RSS (getrusage), so one
format's memory never counts against another's.

Usage: python collection_bench.py [--granules 8000] [--work DIR] [--anchor-granules N]
Prints one table; `make bench` runs it (bench/run.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

LAT, LON, CHUNK = 17999, 36000, (1, 1023, 2047)
APPEND = 30  # granules appended to the built Icechunk repository
VARS = [("analysed_sst", "<i2", -32768), ("analysis_error", "<i2", -32768), ("mask", "|i1", -128),
        ("sea_ice_fraction", "|i1", -128)]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process (its threads too): steadier than wall time on a shared
    machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def granule_chunk() -> bytes:
    """One encoded chunk of analysed_sst (shuffle + zlib of int16 values), as MUR's are."""
    import numcodecs

    values = (np.arange(CHUNK[1] * CHUNK[2]) % 3000).astype("<i2").reshape(CHUNK)
    return zlib.compress(numcodecs.Shuffle(elementsize=2).encode(values.tobytes()), 4)


def synthetic_store(n: int, data_dir: str):
    """The Store of n MUR-like granules: columns made with numpy, no loop per reference."""
    from vzgen.store import ArrayRefs, Store

    gy, gx = -(-LAT // CHUNK[1]), -(-LON // CHUNK[2])
    per = gy * gx
    t = np.repeat(np.arange(n, dtype=np.uint32), per)
    yx = np.tile(np.indices((gy, gx), dtype=np.uint32).reshape(2, -1).T, (n, 1))
    coords = np.column_stack([t, yx])
    urls = [os.path.join(data_dir, f"{20020601 + i:08d}090000-JPL-L4_GHRSST-SSTfnd-MUR-GLOB-v02.0-fv04.1.nc")
            for i in range(n)]
    first = len(granule_chunk())
    arrays = []
    for k, (name, dtype, fill) in enumerate(VARS):
        lengths = np.full(n * per, first, dtype=np.uint64)
        offsets = (np.tile(np.arange(per, dtype=np.uint64), n) + np.uint64(k * per)) * np.uint64(first)
        esize = np.dtype(dtype).itemsize
        zarray = {"shape": [n, LAT, LON], "chunks": list(CHUNK), "dtype": dtype, "fill_value": fill,
                  "filters": ([{"id": "shuffle", "elementsize": esize}] if esize > 1 else [])
                  + [{"id": "zlib", "level": 4}], "compressor": None, "order": "C", "zarr_format": 2}
        zattrs = {"_ARRAY_DIMENSIONS": ["time", "lat", "lon"], "long_name": name, "units": "kelvin",
                  "scale_factor": 0.001, "add_offset": 298.15}
        arrays.append(ArrayRefs(name=name, zarray=zarray, zattrs=zattrs, coords=coords, path_ids=t,
                                offsets=offsets, lengths=lengths, inline={}, raw=None, strings=None))
    for name, values, attrs in [
        ("lat", np.linspace(-89.99, 89.99, LAT, dtype="<f4"), {"units": "degrees_north"}),
        ("lon", np.linspace(-179.99, 180.0, LON, dtype="<f4"), {"units": "degrees_east"}),
        ("time", (np.arange(n, dtype="<i4") * 86400 + 649_000_000),
         {"units": "seconds since 1981-01-01 00:00:00 UTC"}),
    ]:
        zarray = {"shape": [len(values)], "chunks": [len(values)], "dtype": values.dtype.str,
                  "fill_value": None, "filters": None, "compressor": None, "order": "C", "zarr_format": 2}
        arrays.append(ArrayRefs(name=name, zarray=zarray, zattrs={"_ARRAY_DIMENSIONS": [name], **attrs},
                                coords=np.zeros((0, 1), np.uint32), path_ids=np.zeros(0, np.uint32),
                                offsets=np.zeros(0, np.uint64), lengths=np.zeros(0, np.uint64),
                                inline={}, raw=values.tobytes(), strings=None))
    meta = {"concat_dim": "time", "loadable_vars": ["lat", "lon", "time"], "granules": urls}
    return Store(urls=urls, checksums=[None] * n, last_modified=[None] * n,
                 groups=[("", {"title": "MUR-like synthetic collection"})], arrays=arrays, meta=meta)


def make_granule0(data_dir: str, store) -> None:
    os.makedirs(data_dir, exist_ok=True)
    with open(store.urls[0], "wb") as f:
        f.write(granule_chunk())


# --- the stores --------------------------------------------------------------------------


def _chunk_key(name: str, c: np.ndarray) -> str:
    return f"{name}/{c[0]}.{c[1]}.{c[2]}"


def write_json(store, path: str) -> None:
    """kerchunk JSON of the store (the input of the JSON open; vzgen's C++ writer is measured by
    combine_scale)."""
    with open(path, "w") as f:
        f.write('{"version":1,"refs":{".zgroup":"{\\"zarr_format\\":2}",\n')
        f.write(f'".zattrs":{json.dumps(json.dumps(store.groups[0][1]))}')
        for a in store.arrays:
            f.write(f',\n"{a.name}/.zarray":{json.dumps(json.dumps(a.zarray))}')
            f.write(f',\n"{a.name}/.zattrs":{json.dumps(json.dumps(a.zattrs))}')
            if a.raw is not None:
                import base64

                f.write(f',\n"{a.name}/0":"base64:{base64.b64encode(a.raw).decode()}"')
                continue
            coords, pids = a.coords.tolist(), a.path_ids.tolist()
            offs, lens = a.offsets.tolist(), a.lengths.tolist()
            urls = [json.dumps(u) for u in store.urls]
            name = a.name
            f.writelines(f',\n"{name}/{c[0]}.{c[1]}.{c[2]}":[{urls[p]},{o},{n}]'
                         for c, p, o, n in zip(coords, pids, offs, lens))
        f.write("}}\n")


def write_parquet_fsspec(store, path: str, record_size: int) -> None:
    """kerchunk Parquet through fsspec's own writer (LazyReferenceMapper)."""
    import base64

    from fsspec.implementations.reference import LazyReferenceMapper

    shutil.rmtree(path, ignore_errors=True)
    m = LazyReferenceMapper.create(path, record_size=record_size)
    m[".zgroup"] = json.dumps({"zarr_format": 2}).encode()
    m[".zattrs"] = json.dumps(store.groups[0][1]).encode()
    for a in store.arrays:
        m[f"{a.name}/.zarray"] = json.dumps(a.zarray).encode()
        m[f"{a.name}/.zattrs"] = json.dumps(a.zattrs).encode()
    for a in store.arrays:
        if a.raw is not None:
            m[f"{a.name}/0"] = b"base64:" + base64.b64encode(a.raw)
            continue
        coords, pids = a.coords.tolist(), a.path_ids.tolist()
        offs, lens = a.offsets.tolist(), a.lengths.tolist()
        for c, p, o, n in zip(coords, pids, offs, lens):
            m[f"{a.name}/{c[0]}.{c[1]}.{c[2]}"] = [store.urls[p], o, n]
    m.flush()


def write_parquet(store, path: str, record_size: int) -> str:
    try:
        from vzgen.parquet import write_parquet as vz_write_parquet
    except ImportError:
        write_parquet_fsspec(store, path, record_size)
        return "fsspec LazyReferenceMapper"
    shutil.rmtree(path, ignore_errors=True)
    vz_write_parquet(store, path, record_size=record_size)
    return "vzgen.parquet"


# --- children ----------------------------------------------------------------------------


def child(args: argparse.Namespace) -> dict:
    out: dict = {}
    # imports first: the figures are the work, not the interpreter starting (~1.5 s here)
    import fsspec  # noqa: F401
    import xarray  # noqa: F401
    import zarr  # noqa: F401

    if "icechunk" in args.step:
        import icechunk  # noqa: F401
    if args.step.startswith("vz-"):
        import virtualizarr  # noqa: F401
    out["import_rss_mib"] = _rss_mib()
    t0 = time.perf_counter()
    c0 = _cpu_s()
    if args.step.startswith(("build", "vz-")):
        store = synthetic_store(args.granules, args.data)
        out["store_s"] = time.perf_counter() - t0
        out["store_rss_mib"] = _rss_mib()
        t0 = time.perf_counter()
        c0 = _cpu_s()
    if args.step == "build-json":
        write_json(store, args.target)
    elif args.step == "build-parquet":
        out["writer"] = write_parquet(store, args.target, args.record_size)
    elif args.step == "build-icechunk":
        from vzgen.icechunk import write_icechunk

        shutil.rmtree(args.target, ignore_errors=True)
        write_icechunk(store, args.target)
    elif args.step == "append-icechunk":
        # 30 more granules after the collection's: only their references, the whole time axis
        from vzgen.icechunk import write_icechunk

        more = synthetic_store(APPEND, args.data)
        n = args.granules
        for a in more.arrays:
            if a.raw is None:
                a.coords = a.coords.copy()
                a.coords[:, 0] += n
                a.zarray = dict(a.zarray, shape=[n + APPEND, *a.zarray["shape"][1:]])
                a.path_ids = a.path_ids + np.uint32(0)
        more.urls = [u.replace(".nc", "-appended.nc") for u in more.urls]
        t = next(a for a in more.arrays if a.name == "time")
        values = np.arange(n + APPEND, dtype="<i4") * 86400 + 649_000_000
        t.raw, t.zarray = values.tobytes(), dict(t.zarray, shape=[n + APPEND], chunks=[n + APPEND])
        out["store_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        c0 = _cpu_s()
        write_icechunk(more, args.target, append=True)
    elif args.step in ("vz-parquet", "vz-icechunk"):
        from vzgen.virtualizarr import to_virtualizarr

        vds = to_virtualizarr(store, decode_times=False)
        out["to_virtualizarr_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        c0 = _cpu_s()
        shutil.rmtree(args.target, ignore_errors=True)
        if args.step == "vz-parquet":
            vds.vz.to_kerchunk(args.target, format="parquet", record_size=args.record_size)
        else:
            import icechunk as ic

            prefix = "file://" + args.data.rstrip("/") + "/"
            config = ic.RepositoryConfig.default()
            config.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix, ic.local_filesystem_store(args.data)))
            repo = ic.Repository.create(ic.local_filesystem_storage(args.target), config,
                                        authorize_virtual_chunk_access={prefix: None})
            session = repo.writable_session("main")
            vds.vz.to_icechunk(session.store)
            session.commit("virtualizarr")
    elif args.step.startswith("open-"):
        import xarray as xr

        fmt = args.step[len("open-"):]
        if fmt == "icechunk":
            from vzgen.icechunk import open_repository

            repo = open_repository(args.target)
            ds = xr.open_zarr(repo.readonly_session(branch="main").store, consolidated=False,
                              zarr_format=3, chunks=None)
        else:
            ds = xr.open_dataset("reference://", engine="zarr", chunks=None,
                                 backend_kwargs={"consolidated": False, "storage_options": {
                                     "fo": args.target, "remote_protocol": "file", "lazy": True}})
        repr(ds)
        out["open_s"] = time.perf_counter() - t0
        out["open_cpu_s"] = _cpu_s() - c0
        out["open_rss_mib"] = _rss_mib()
        t0 = time.perf_counter()
        values = ds["analysed_sst"].isel(time=0, lat=slice(0, CHUNK[1]), lon=slice(0, CHUNK[2])).values
        out["read_s"] = time.perf_counter() - t0
        want = (np.arange(CHUNK[1] * CHUNK[2]) % 3000).reshape(CHUNK[1:]) * 0.001 + 298.15
        out["read_ok"] = bool(np.allclose(values, want))
    out["s"] = time.perf_counter() - t0
    out["cpu_s"] = _cpu_s() - c0
    out["rss_mib"] = _rss_mib()
    return out


def run_child(step: str, target: str, args: argparse.Namespace, granules: int) -> dict:
    cmd = [sys.executable, __file__, "--child", step, "--target", target, "--data", args.data,
           "--granules", str(granules), "--record-size", str(args.record_size)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       env=dict(os.environ, PYTHONWARNINGS="ignore", RUST_LOG="error"))
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def du_mib(path: str) -> float:
    if os.path.isfile(path):
        return os.path.getsize(path) / 2**20
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--granules", type=int, default=8000)
    ap.add_argument("--anchor-granules", type=int, default=None,
                    help="granules for VirtualiZarr's writers (default: --granules)")
    ap.add_argument("--work", default=os.path.join(HERE, "..", "build", "bench-collection"))
    ap.add_argument("--record-size", type=int, default=100_000)
    ap.add_argument("--skip", default="", help="comma-separated: json,parquet,icechunk,anchors")
    ap.add_argument("--child")
    ap.add_argument("--target")
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.child:
        args.step = args.child
        print(json.dumps(child(args)))
        return 0

    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    args.data = os.path.join(work, "granules")
    skip = set(filter(None, args.skip.split(",")))
    n = args.granules
    refs = n * 4 * 324
    store = synthetic_store(1, args.data)
    make_granule0(args.data, store)
    print(f"collection: {n} granules x 4 variables x 324 chunks = {refs / 1e6:.2f} M references "
          f"(record_size {args.record_size})")
    rows = []
    built: dict[str, dict] = {}
    for fmt in ("json", "parquet", "icechunk"):
        if fmt in skip:
            continue
        target = os.path.join(work, {"json": "mur.json", "parquet": "mur.parq", "icechunk": "mur-icechunk"}[fmt])
        b = run_child(f"build-{fmt}", target, args, n)
        built[fmt] = b
        o = run_child(f"open-{fmt}", target, args, n) if "error" not in b else {"error": "not built"}
        size = du_mib(target) if os.path.exists(target) else float("nan")
        rows.append((fmt, b, o, size))
    print(f"{'format':10} {'build s':>8} {'cpu s':>7} {'build MiB':>9} {'size MiB':>9} {'open s':>7} "
          f"{'open MiB':>8} {'read s':>7}  writer")
    for fmt, b, o, size in rows:
        if "error" in b or "error" in o:
            print(f"{fmt:10} error: {b.get('error') or o.get('error')}")
            continue
        assert o["read_ok"], f"{fmt}: the chunk read back is wrong"
        print(f"{fmt:10} {b['s']:8.1f} {b['cpu_s']:7.1f} {b['rss_mib']:9.0f} {size:9.1f} {o['open_s']:7.2f} "
              f"{o['open_rss_mib']:8.0f} {o['read_s']:7.3f}  {b.get('writer', 'vzgen' if fmt != 'json' else 'bench (Python)')}")
    if "icechunk" not in skip and "error" not in built.get("icechunk", {"error": 1}):
        a = run_child("append-icechunk", os.path.join(work, "mur-icechunk"), args, n)
        if "error" in a:
            print(f"append {APPEND} granules to icechunk: error: {a['error']}")
        else:
            print(f"append {APPEND} granules ({APPEND * 4 * 324} references) to the Icechunk repository: "
                  f"{a['s']:.1f} s ({a['cpu_s']:.1f} CPU s), peak RSS {a['rss_mib']:.0f} MiB")
    print(f"(build s excludes making the in-memory Store: {rows[0][1].get('store_s', 0):.1f} s, "
          f"{rows[0][1].get('store_rss_mib', 0):.0f} MiB peak with the interpreter)" if rows else "")
    if "anchors" in skip:
        return 0
    na = args.anchor_granules or n
    print(f"VirtualiZarr 2.5.1's writers on the same references ({na} granules, "
          f"{na * 4 * 324 / 1e6:.2f} M; its to_virtualizarr() input made by vzgen.virtualizarr):")
    print(f"{'writer':34} {'s':>7} {'cpu s':>7} {'MiB':>7} {'vzgen s':>8} {'cpu s':>7} {'vzgen MiB':>9} "
          f"{'ratio cpu':>9} {'ratio MiB':>9}")
    for step, fmt, label in (("vz-parquet", "parquet", "to_kerchunk(format='parquet')"),
                             ("vz-icechunk", "icechunk", "to_icechunk()")):
        if fmt in skip:
            continue
        ours = built.get(fmt, {})
        if na != n:
            ours = run_child(f"build-{fmt}", os.path.join(work, f"ours-{na}.{fmt}"), args, na)
        v = run_child(step, os.path.join(work, f"vz-{na}.{fmt}"), args, na)
        if "error" in v or "error" in ours:
            print(f"{label:34} error: {v.get('error') or ours.get('error')}")
            continue
        print(f"{label:34} {v['s']:7.1f} {v['cpu_s']:7.1f} {v['rss_mib']:7.0f} {ours['s']:8.1f} "
              f"{ours['cpu_s']:7.1f} {ours['rss_mib']:9.0f} {v['cpu_s'] / ours['cpu_s']:9.1f} "
              f"{v['rss_mib'] / ours['rss_mib']:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
