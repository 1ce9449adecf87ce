#!/usr/bin/python3
"""Remote benchmark: `vzgen build` over loopback HTTP (nginx behind a proxy that adds a fixed
latency to every request) for MUR-like granules, at 0, 20 and 80 ms and 1 and 64 granules in
flight. Reports granules/s and, per granule, requests, dependent rounds and bytes read (from the
run report, which counts every read, metadata included).

  remote_bench.py --vzgen BIN --data DIR [--granules N] [--first-read BYTES] [--delay-proxy BIN]
  remote_bench.py --vzgen BIN --l2 [--granules N]     (generated Level-2-like swaths instead)
  remote_bench.py ... --metadata dmrpp   (each granule's DMR++ sidecar instead of its metadata;
                                          bench/make_dmrpp.py writes the missing sidecars)

DIR holds the MUR-like granules of `make bench`; they are served under many names (symlinks) so
that N granules can be read without generating N files. Each name is a distinct URL; the
granules share a time value, so the build stacks them along a new dimension.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "servers"))
import loopback  # noqa: E402


def write_swath(path, k):
    """A Level-2-like swath: 3000 lines x 70 pixels, lat/lon at the root and six variables in
    two groups, deflate-compressed in 500-line chunks (the shape of an altimetry L2 file)."""
    import netCDF4
    import numpy as np
    with netCDF4.Dataset(path, "w") as d:
        d.title = "Level-2-like swath"
        d.time_coverage_start = f"2024-01-01T{k:02d}:00:00Z"
        d.createDimension("num_lines", 3000)
        d.createDimension("num_pixels", 70)
        lines = np.arange(3000, dtype="f8")[:, None]
        pixels = np.arange(70, dtype="f8")[None, :]
        for name, field in (("latitude", -60 + lines * 0.04 + pixels * 0.001),
                            ("longitude", k * 10.0 + pixels * 0.05 + lines * 0.002)):
            v = d.createVariable(name, "f8", ("num_lines", "num_pixels"), zlib=True,
                                 chunksizes=(500, 70))
            v[:] = field
        for group in ("data_01", "data_02"):
            g = d.createGroup(group)
            for i, name in enumerate(("ssha", "swh", "wind_speed")):
                v = g.createVariable(name, "i2", ("num_lines", "num_pixels"), zlib=True,
                                     chunksizes=(500, 70), fill_value=-32768)
                v.scale_factor = 0.001
                v[:] = np.sin(lines / 50.0 + i + k) * np.cos(pixels / 7.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--data")
    ap.add_argument("--l2", action="store_true",
                    help="generate Level-2-like swath granules (groups, no time axis)")
    ap.add_argument("--granules", type=int, default=256)
    ap.add_argument("--first-read", type=int, default=0)
    ap.add_argument("--concurrency", type=int, default=0,
                    help="vzgen --concurrency (HTTP requests in flight; default vzgen's)")
    ap.add_argument("--metadata", default="granule", choices=("granule", "dmrpp"),
                    help="vzgen --metadata: read the granules, or their .dmrpp sidecars")
    ap.add_argument("--delay-proxy",
                    help="bench/delay_proxy binary to inject the latency (default: the Python "
                         "fault proxy, which copies every byte through the interpreter)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vz_remote_bench_") as work:
        if args.l2:
            data = os.path.join(work, "l2")
            os.makedirs(data)
            for k in range(4):
                write_swath(os.path.join(data, f"SWATH_L2_{k:03d}.nc"), k)
        elif args.data:
            data = os.path.abspath(args.data)
        else:
            sys.exit("give --data DIR or --l2")
        sources = sorted(os.path.join(data, n) for n in os.listdir(data) if n.endswith(".nc"))
        if not sources:
            sys.exit(f"no granules in {data}")
        if args.metadata == "dmrpp":
            missing = [p for p in sources if not os.path.exists(p + ".dmrpp")]
            if missing:
                subprocess.run([sys.executable, os.path.join(HERE, "make_dmrpp.py")] + missing,
                               check=True)
        www = os.path.join(work, "www")
        os.makedirs(www)
        for i in range(args.granules):
            src = sources[i % len(sources)]
            os.symlink(src, os.path.join(www, f"granule-{i:05d}.nc"))
            if args.metadata == "dmrpp":
                os.symlink(src + ".dmrpp", os.path.join(www, f"granule-{i:05d}.nc.dmrpp"))
        extra = ["--first-read", str(args.first_read)] if args.first_read else []
        extra += ["--metadata", args.metadata]
        extra += ["--concurrency", str(args.concurrency)] if args.concurrency else []
        print(f"{'latency':>8} {'in flight':>9} {'granules':>8} {'granules/s':>10} "
              f"{'requests':>8} {'rounds':>6} {'KiB read':>8}   (per granule)")
        with loopback.Servers() as servers:
            nginx = servers.nginx(www)
            for latency in (0, 20, 80):
                if args.delay_proxy:
                    (proxy,) = servers.command([args.delay_proxy, str(nginx), str(latency)])
                else:
                    (proxy,) = servers.python("fault_proxy.py", [
                        "--upstream", f"http://127.0.0.1:{nginx}", "--latency-ms", str(latency)])
                for jobs in (1, 64):
                    n = args.granules if jobs > 1 else min(args.granules, 32 if latency else 128)
                    urls = [f"http://127.0.0.1:{proxy}/granule-{i:05d}.nc" for i in range(n)]
                    listing = os.path.join(work, "urls.txt")
                    with open(listing, "w") as f:
                        f.write("\n".join(urls) + "\n")
                    out = os.path.join(work, "store.json")
                    start = time.time()
                    same = "latitude,longitude" if args.l2 else "time,lat,lon"
                    p = subprocess.run([args.vzgen, "build", listing, "-o", out, "-q", "-j",
                                        str(jobs), "--new-dim", "granule", "--identical-vars",
                                        same] + extra, capture_output=True, text=True)
                    wall = time.time() - start
                    if p.returncode != 0:
                        sys.exit(f"build failed: {p.stderr.strip()}")
                    with open(out + ".report.json") as f:
                        rep = json.load(f)
                    used = len(rep["granules_used"])
                    print(f"{latency:>6}ms {jobs:>9} {used:>8} {used / wall:>10.1f} "
                          f"{rep['requests'] / used:>8.2f} {rep['rounds'] / used:>6.2f} "
                          f"{rep['bytes_read'] / used / 1024:>8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
