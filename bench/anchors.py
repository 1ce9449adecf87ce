"""vzgen side by side with kerchunk and VirtualiZarr, in one run, on the collections `make bench`
generates. Run by the bench venv's python (tests/requirements/bench.txt):

  anchors.py --build-dir build/release --mur DIR --small DIR --l2 DIR --grace DIR [--sections ...]

Every Python tool runs in its own child process (so the peak RSS it reports is its own)
and every figure is printed next to vzgen's, with the ratio figure / vzgen's figure: on a shared
machine the noise of one run mostly cancels in the ratio, not in the absolute numbers.

Sections:
  scan    parse one granule and make its references, local files, warm page cache, in process
  build   365 granules into one store along time, end to end (a fresh process), peak RSS
  remote  per-granule references over loopback HTTP (nginx behind bench/delay_proxy) at 0, 20
          and 80 ms: requests, rounds and KiB per granule, granules/s at 1 and 64 in flight
  open    xarray (zarr 3 + fsspec ReferenceFileSystem) opening each tool's combined store, for
          365 granules and for the same store tiled to 10,000 granules

The child processes are this file again: `anchors.py child TASK JSON-ARGS` prints one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
LATENCIES_MS = (0, 20, 80)


# ---------------------------------------------------------------- children (run in the venv)


def _kerchunk_refs(src: str, storage_options: dict | None = None) -> dict:
    from kerchunk.hdf import SingleHdf5ToZarr

    return SingleHdf5ToZarr(src, storage_options=storage_options).translate()


def _vz_registry(url: str):
    """An obstore registry for `url`'s scheme and host, as VirtualiZarr 2.x's docs set one up."""
    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import HTTPStore, LocalStore

    if url.startswith("file://"):
        return ObjectStoreRegistry({"file://": LocalStore()})
    base = "/".join(url.split("/")[:3])
    store = HTTPStore.from_url(base, client_options={"allow_http": True})
    return ObjectStoreRegistry({base: store})


def _vz_open(url: str, registry, loadable: list[str] | None, tree: bool):
    from virtualizarr import open_virtual_dataset, open_virtual_datatree
    from virtualizarr.parsers import HDFParser

    opener = open_virtual_datatree if tree else open_virtual_dataset
    return opener(url, registry=registry, parser=HDFParser(), loadable_variables=loadable)


def child_scan(a: dict) -> dict:
    """Mean µs per granule over `iterations` passes over `files`, after one warm-up pass."""
    files, iterations, tool = a["files"], a["iterations"], a["tool"]
    urls = ["file://" + os.path.abspath(f) for f in files]
    if tool == "kerchunk":
        def one(i: int) -> Any:
            return _kerchunk_refs(files[i])
    else:
        registry = _vz_registry(urls[0])
        loadable = None if a.get("loadable") == "default" else []

        def one(i: int) -> Any:
            return _vz_open(urls[i], registry, loadable, a.get("tree", False))
    for i in range(len(files)):
        one(i)
    start = time.perf_counter()
    for _ in range(iterations):
        for i in range(len(files)):
            one(i)
    secs = time.perf_counter() - start
    return {"us": secs * 1e6 / (iterations * len(files))}


def _note_worker_rss(ds: Any) -> Any:
    """open_virtual_mfdataset's `preprocess`, run in each worker: records the worker's peak RSS
    (a file per process) and returns the dataset unchanged."""
    import resource

    path = os.path.join(os.environ["VZ_ANCHORS_RSS_DIR"], str(os.getpid()))
    with open(path, "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    return ds


def child_build(a: dict) -> dict:
    """One combined kerchunk JSON from `files` along time, the way each tool's docs do it."""
    files, out, tool = a["files"], a["out"], a["tool"]
    start = time.perf_counter()
    if tool == "kerchunk":
        from kerchunk.combine import MultiZarrToZarr

        refs = [_kerchunk_refs(f) for f in files]
        combined = MultiZarrToZarr(refs, concat_dims=["time"],
                                   identical_dims=["lat", "lon"]).translate()
        with open(out, "w") as f:
            json.dump(combined, f)
    else:
        from concurrent.futures import ProcessPoolExecutor

        from virtualizarr import open_virtual_mfdataset
        from virtualizarr.parsers import HDFParser

        urls = ["file://" + os.path.abspath(f) for f in files]
        pool = a["executor"] == "process"
        extra = {"parallel": ProcessPoolExecutor, "preprocess": _note_worker_rss} if pool else {}
        rss_dir = tempfile.mkdtemp(prefix="vz_anchors_rss_")
        os.environ["VZ_ANCHORS_RSS_DIR"] = rss_dir
        vds = open_virtual_mfdataset(urls, registry=_vz_registry(urls[0]), parser=HDFParser(),
                                     **extra)
        vds.vz.to_kerchunk(out, format="json")
        workers = []
        for name in os.listdir(rss_dir):
            with open(os.path.join(rss_dir, name)) as f:
                workers.append(int(f.read()))
        shutil.rmtree(rss_dir)
        return {"secs": time.perf_counter() - start, "workers": len(workers),
                "worker_rss_kib": max(workers, default=0)}
    return {"secs": time.perf_counter() - start}


def child_remote(a: dict) -> dict:
    """References for every URL, `threads` granules in flight (a thread pool)."""
    from concurrent.futures import ThreadPoolExecutor

    urls, threads, tool = a["urls"], a["threads"], a["tool"]
    if tool == "kerchunk":
        def one(url: str) -> Any:
            return _kerchunk_refs(url)
    else:
        registry = _vz_registry(urls[0])

        def one(url: str) -> Any:
            return _vz_open(url, registry, None, a.get("tree", False))
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, urls))
    return {"secs": time.perf_counter() - start}


def child_open(a: dict) -> dict:
    """Seconds and memory for xarray to open a kerchunk JSON (zarr 3, fsspec references)."""
    import resource

    import xarray as xr

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    ds = xr.open_dataset("reference://", engine="zarr",
                         backend_kwargs={"consolidated": False,
                                         "storage_options": {"fo": a["store"]}})
    secs = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"secs": secs, "time_len": int(ds.sizes["time"]), "added_kib": after - before,
            "vars": sorted(ds.data_vars)}


CHILDREN = {"scan": child_scan, "build": child_build, "remote": child_remote, "open": child_open}


# ---------------------------------------------------------------- driver


def run_child(task: str, args: dict, timeout: float = 900) -> dict:
    """Runs `anchors.py child TASK` in a fresh process and returns the JSON it prints."""
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "child", task,
                           json.dumps(args)], check=False, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
        return {"error": lines[-1] if lines else f"exit {p.returncode}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_timed(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command (vzgen), the RSS measured by /usr/bin/time:
    a child forked from this interpreter would count the interpreter's pages in its peak."""
    with tempfile.NamedTemporaryFile("r") as rss, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + argv, check=False,
                           stdout=subprocess.DEVNULL, stderr=err)
        secs = time.perf_counter() - start
        if p.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(argv[:2])} failed: {err.read().decode().strip()}")
        return secs, int(rss.read().split()[-1])


def vzgen_scan_us(scan_bench: str, files: list[str], iterations: int) -> float:
    out = subprocess.run([scan_bench, str(iterations)] + files, capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if line.startswith("us per granule"):
            return float(line.split()[-1])
    raise RuntimeError("scan_bench printed no 'us per granule'")


class Table:
    """Rows of (measure, vzgen figure, [(tool figure or error)...]) printed with ratios."""

    def __init__(self, title: str, tools: list[str], unit: str):
        self.title, self.tools, self.unit = title, tools, unit
        print(f"\n== {title}")
        head = f"{'':<44} {'vzgen':>8}"
        for t in tools:
            head += f" | {t:>22} {'ratio':>7}"
        print(head + f"   ({unit}; ratio = figure / vzgen's)", flush=True)

    def row(self, name: str, base: float | None, others: list[Any], fmt: str = "{:.1f}") -> None:
        line = f"{name:<44} {fmt.format(base) if base is not None else '-':>8}"
        for v in others:
            if isinstance(v, (int, float)):
                ratio = f"{v / base:.2f}" if base else "-"
                line += f" | {fmt.format(v):>22} {ratio:>7}"
            else:
                line += f" | {str(v)[:30]:>30}"
        print(line, flush=True)


def fig(r: dict, key: str, scale: float = 1.0) -> Any:
    return r[key] * scale if "error" not in r else "failed: " + r["error"]


def section_scan(a: argparse.Namespace, sets: dict[str, list[str]]) -> None:
    t = Table("scan: one granule's references, local, warm cache, in process", [
        "kerchunk", "VirtualiZarr", "VirtualiZarr no loads"], "µs per granule")
    for name, files in sets.items():
        it = a.iterations
        base = vzgen_scan_us(a.scan_bench, files, 50)
        tree = name.startswith("L2")
        k = run_child("scan", {"tool": "kerchunk", "files": files, "iterations": it})
        v = run_child("scan", {"tool": "virtualizarr", "files": files, "iterations": it,
                               "loadable": "default", "tree": tree})
        n = run_child("scan", {"tool": "virtualizarr", "files": files, "iterations": it,
                               "tree": tree})
        t.row(f"{name} ({len(files)} files)", base, [fig(k, "us"), fig(v, "us"), fig(n, "us")],
              "{:.0f}")


def section_build(a: argparse.Namespace, work: str) -> dict[str, str]:
    files = sorted(os.path.join(a.small, f) for f in os.listdir(a.small) if f.endswith(".nc"))
    stores = {t: os.path.join(work, f"build-{t}.json") for t in ("vzgen", "kerchunk", "vz")}
    t = Table(f"build: {len(files)} small MUR-like granules into one store, end to end",
              ["kerchunk", "VirtualiZarr serial", "VirtualiZarr processes"], "s")
    runs = {}
    for jobs in (2, 1, 2):  # the first run only warms the page cache for everyone
        runs[jobs] = run_timed([a.vzgen, "build", *files, "--loadable-vars", "lat,lon,time", "-o",
                                stores["vzgen"], "-q", "-j", str(jobs)])
    k = run_child("build", {"tool": "kerchunk", "files": files, "out": stores["kerchunk"]})
    v = run_child("build", {"tool": "virtualizarr", "files": files, "out": stores["vz"],
                            "executor": "serial"})
    p = run_child("build", {"tool": "virtualizarr", "files": files, "out": stores["vz"] + ".p",
                            "executor": "process"})
    base = runs[2][0]
    t.row("seconds (vzgen -j 2)", base, [fig(k, "secs"), fig(v, "secs"), fig(p, "secs")], "{:.2f}")
    t.row("seconds (vzgen -j 1)", runs[1][0], [fig(k, "secs"), fig(v, "secs"), fig(p, "secs")],
          "{:.2f}")
    mib = 1 / 1024
    t.row("peak RSS, MiB (vzgen -j 2)", runs[2][1] * mib,
          [fig(k, "rss_kib", mib), fig(v, "rss_kib", mib), fig(p, "rss_kib", mib)], "{:.0f}")
    if "error" not in p:
        print(f"(VirtualiZarr's process pool: {p['workers']} workers, the largest peaked at "
              f"{p['worker_rss_kib'] * mib:.0f} MiB besides the parent's "
              f"{p['rss_kib'] * mib:.0f} MiB)")
    print("(history: kerchunk 0.2.2, Debian 12's, took ~4.5 s for the same 365 granules)")
    return {k2: s for k2, s in stores.items() if os.path.exists(s)}


class Nginx:
    """nginx serving `root` with an access log, so every request and byte is counted the same
    way for every tool; a delay_proxy in front adds the latency."""

    def __init__(self, root: str, work: str):
        self.log = os.path.join(work, "access.log")
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "servers"))
        import loopback

        self.servers = loopback.Servers().__enter__()
        self.port = self.servers.nginx(root, access_log=self.log)

    def proxy(self, delay_proxy: str, latency: int) -> int:
        (port,) = self.servers.command([delay_proxy, str(self.port), str(latency)])
        return port

    def mark(self) -> int:
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def since(self, mark: int) -> tuple[int, int]:
        """Requests and body bytes logged after `mark`."""
        with open(self.log, "rb") as f:
            f.seek(mark)
            lines = f.read().decode().splitlines()
        return len(lines), sum(int(ln.split()[-1]) for ln in lines if ln.split()[-1].isdigit())

    def close(self) -> None:
        self.servers.__exit__(None, None, None)


def section_remote(a: argparse.Namespace, work: str, name: str, data: str, l2: bool) -> None:
    data = os.path.abspath(data)
    sources = sorted(os.path.join(data, n) for n in os.listdir(data) if n.endswith(".nc"))
    www = os.path.join(work, "www-" + name.split()[0])
    os.makedirs(www, exist_ok=True)
    n_many = a.remote_granules
    for i in range(n_many):
        os.symlink(sources[i % len(sources)], os.path.join(www, f"granule-{i:05d}.nc"))
    server = Nginx(www, work)
    tools = ["kerchunk", "VirtualiZarr"]
    same = "latitude,longitude" if l2 else "time,lat,lon"
    results: dict[tuple[int, int], dict[str, dict]] = {}
    try:
        for latency in LATENCIES_MS:
            proxy = server.proxy(a.delay_proxy, latency)
            for flight in (1, 64):
                n = n_many if flight > 1 else a.remote_serial
                urls = [f"http://127.0.0.1:{proxy}/granule-{i:05d}.nc" for i in range(n)]
                got: dict[str, dict] = {}
                listing = os.path.join(work, "urls.txt")
                with open(listing, "w") as f:
                    f.write("\n".join(urls) + "\n")
                mark = server.mark()
                secs, _ = run_timed([a.vzgen, "build", listing, "-o",
                                     os.path.join(work, "remote.json"), "-q", "-j", str(flight),
                                     "--new-dim", "granule", "--identical-vars", same])
                got["vzgen"] = {"secs": secs}
                got["vzgen"]["requests"], got["vzgen"]["bytes"] = server.since(mark)
                for tool in ("kerchunk", "virtualizarr"):
                    mark = server.mark()
                    r = run_child("remote", {"tool": tool, "urls": urls, "threads": flight,
                                             "tree": l2})
                    if "error" not in r:
                        r["requests"], r["bytes"] = server.since(mark)
                    got[tool] = r
                for r in got.values():
                    r["n"] = n
                results[(latency, flight)] = got
    finally:
        server.close()

    t = Table(f"remote: {name}, references per granule over loopback HTTP", tools,
              "per granule unless said")

    def per(r: dict, key: str, scale: float = 1.0) -> Any:
        return r[key] * scale / r["n"] if "error" not in r else "failed: " + r["error"]

    order = ("kerchunk", "virtualizarr")
    for latency in LATENCIES_MS:
        for flight in (1, 64):
            g = results[(latency, flight)]
            rate = {k: (g[k]["n"] / g[k]["secs"] if "error" not in g[k] else
                        "failed: " + g[k]["error"]) for k in g}
            t.row(f"{latency:>2} ms, {flight:>2} in flight: granules/s", rate["vzgen"],
                  [rate[k] for k in order])
    g = results[(0, 1)]
    t.row("requests (0 ms, 1 in flight)", per(g["vzgen"], "requests"),
          [per(g[k], "requests") for k in order], "{:.2f}")
    t.row("KiB read (0 ms, 1 in flight)", per(g["vzgen"], "bytes", 1 / 1024),
          [per(g[k], "bytes", 1 / 1024) for k in order], "{:.0f}")
    # Dependent rounds, measured the same way for every tool: the time one granule gains when
    # each request costs 80 ms more, at one granule in flight, in units of 80 ms.
    slow, fast = results[(80, 1)], results[(0, 1)]

    def rounds(k: str) -> Any:
        if "error" in slow[k] or "error" in fast[k]:
            return "failed"
        return (slow[k]["secs"] / slow[k]["n"] - fast[k]["secs"] / fast[k]["n"]) / 0.080

    t.row("dependent rounds ((t80 - t0) / 80 ms)", rounds("vzgen"), [rounds(k) for k in order],
          "{:.2f}")


def tile_store(src: str, n: int, dst: str) -> None:
    """`src` (a store along time, one granule per time step) repeated to `n` time steps, the way
    a tool would write an n-granule collection: chunk keys shifted along time, paths kept (the
    URLs repeat, which a reader cannot tell), and `time` rewritten as one raw int64 chunk."""
    with open(src) as f:
        store = json.load(f)
    refs = store["refs"]
    zarrays = {k[: -len("/.zarray")]: json.loads(v) for k, v in refs.items()
               if k.endswith("/.zarray")}
    dims = {k[: -len("/.zattrs")]: json.loads(v).get("_ARRAY_DIMENSIONS", [])
            for k, v in refs.items() if k.endswith("/.zattrs")}
    steps = zarrays["time"]["shape"][0]
    out: dict[str, Any] = {}
    for key, value in refs.items():
        var, _, chunk = key.rpartition("/")
        if var == "time" or var not in zarrays or chunk.startswith("."):
            if var != "time":
                out[key] = value
            continue
        if dims.get(var, [None])[:1] != ["time"]:
            out[key] = value
            continue
        first, _, rest = chunk.partition(".")
        for c in range(n // steps + 1):
            i = int(first) + c * steps
            if i < n:
                out[f"{var}/{i}.{rest}" if rest else f"{var}/{i}"] = value
    for var, za in zarrays.items():
        if dims.get(var, [None])[:1] == ["time"] and var != "time":
            za["shape"][0] = n
            out[f"{var}/.zarray"] = json.dumps(za)
    t = zarrays["time"]
    t.update(shape=[n], chunks=[n], dtype="<i8", compressor=None, filters=None, fill_value=None)
    out["time/.zarray"] = json.dumps(t)
    out["time/.zattrs"] = refs["time/.zattrs"]
    values = struct.pack(f"<{n}q", *range(1356998400, 1356998400 + n * 86400, 86400))
    out["time/0"] = "base64:" + base64.b64encode(values).decode()
    with open(dst, "w") as f:
        json.dump({"version": 1, "refs": out}, f)


def section_open(a: argparse.Namespace, work: str, stores: dict[str, str]) -> None:
    names = {"vzgen": "vzgen", "kerchunk": "kerchunk", "vz": "VirtualiZarr"}
    others = [k for k in ("kerchunk", "vz") if k in stores]
    t = Table("open: xarray.open_dataset('reference://', engine='zarr') of each tool's store",
              [names[k] for k in others], "s / MiB added over the import baseline")
    for n in (0, a.open_granules):
        use = stores
        if n:
            use = {}
            for k, s in stores.items():
                dst = s.replace(".json", f"-{n}.json")
                tile_store(s, n, dst)
                use[k] = dst
        res = {k: run_child("open", {"store": s}) for k, s in use.items()}
        label = f"{n:,} granules (tiled)" if n else "365 granules"
        base = res["vzgen"]
        t.row(f"{label}: seconds", base.get("secs"), [fig(res[k], "secs") for k in others],
              "{:.2f}")
        t.row(f"{label}: MiB added", fig(base, "added_kib", 1 / 1024),
              [fig(res[k], "added_kib", 1 / 1024) for k in others], "{:.0f}")
        t.row(f"{label}: store MiB on disk", os.path.getsize(use["vzgen"]) / 2**20,
              [os.path.getsize(use[k]) / 2**20 for k in others], "{:.1f}")
        for k, r in res.items():
            if "error" not in r and r["time_len"] != (n or 365):
                print(f"   ({names[k]}'s store opened with {r['time_len']} time steps)")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        import resource

        result = CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))
        # Peak RSS of this process (a process pool's workers report theirs themselves).
        result["rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps(result))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", required=True, help="release build (vzgen, scan_bench, ...)")
    ap.add_argument("--mur", required=True, help="MUR-like daily granules")
    ap.add_argument("--small", required=True, help="365 small MUR-like granules")
    ap.add_argument("--l2", required=True, help="Level-2-like swaths")
    ap.add_argument("--grace", required=True, help="GRACE-like monthly granules")
    ap.add_argument("--iterations", type=int, default=3,
                    help="scan passes for the Python tools (vzgen: 50)")
    ap.add_argument("--remote-granules", type=int, default=64,
                    help="granules per remote run with 64 in flight")
    ap.add_argument("--remote-serial", type=int, default=8,
                    help="granules per remote run with 1 in flight")
    ap.add_argument("--open-granules", type=int, default=10000)
    ap.add_argument("--sections", default="scan,build,remote,open")
    a = ap.parse_args()
    a.vzgen = os.path.join(a.build_dir, "src", "vz", "cli", "vzgen")
    a.scan_bench = os.path.join(a.build_dir, "bench", "scan_bench")
    a.delay_proxy = os.path.join(a.build_dir, "bench", "delay_proxy")
    sections = a.sections.split(",")

    # Versions without importing the tools: this process stays small, so the children it
    # forks (whose peak RSS counts the pages they start with) measure their own memory.
    from importlib.metadata import version

    print(f"anchors: kerchunk {version('kerchunk')}, VirtualiZarr {version('virtualizarr')}, "
          f"xarray {version('xarray')}, zarr {version('zarr')}, fsspec {version('fsspec')}, "
          f"h5py {version('h5py')}; the Python tools run {a.iterations} scan passes (vzgen 50)")

    def nc(d: str) -> list[str]:
        return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".nc"))

    with tempfile.TemporaryDirectory(prefix="vz_anchors_") as work:
        if "scan" in sections:
            section_scan(a, {"MUR-like 2.3 MB": nc(a.mur), "small MUR-like 110 KB":
                             nc(a.small)[:16], "GRACE-like monthly 0.8 MB": nc(a.grace),
                             "L2-like swath 1.2 MB": nc(a.l2)})
        stores: dict[str, str] = {}
        if "build" in sections or "open" in sections:
            stores = section_build(a, work)
        if "remote" in sections:
            section_remote(a, work, "MUR-like 2.3 MB", a.mur, False)
            section_remote(a, work, "L2-like swaths 1.2 MB (groups)", a.l2, True)
        if "open" in sections:
            section_open(a, work, stores)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
