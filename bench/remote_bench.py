#!/usr/bin/python3
"""Remote benchmark: `vzgen build` over loopback HTTP (nginx behind a proxy that adds a fixed
latency to every request) for MUR-like granules, at 0, 20 and 80 ms and 1 and 64 granules in
flight. Reports granules/s and, per granule, requests, dependent rounds and bytes read (from the
run report, which counts every read, metadata included).

  remote_bench.py --vzgen BIN --data DIR [--granules N] [--first-read BYTES]

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--granules", type=int, default=256)
    ap.add_argument("--first-read", type=int, default=0)
    args = ap.parse_args()
    data = os.path.abspath(args.data)
    sources = sorted(os.path.join(data, n) for n in os.listdir(data) if n.endswith(".nc"))
    if not sources:
        sys.exit(f"no granules in {args.data}")
    with tempfile.TemporaryDirectory(prefix="vz_remote_bench_") as work:
        www = os.path.join(work, "www")
        os.makedirs(www)
        for i in range(args.granules):
            os.symlink(sources[i % len(sources)], os.path.join(www, f"granule-{i:05d}.nc"))
        extra = ["--first-read", str(args.first_read)] if args.first_read else []
        print(f"{'latency':>8} {'in flight':>9} {'granules':>8} {'granules/s':>10} "
              f"{'requests':>8} {'rounds':>6} {'KiB read':>8}   (per granule)")
        with loopback.Servers() as servers:
            nginx = servers.nginx(www)
            for latency in (0, 20, 80):
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
                    p = subprocess.run([args.vzgen, "build", listing, "-o", out, "-q", "-j",
                                        str(jobs), "--new-dim", "granule", "--identical-vars",
                                        "time,lat,lon"] + extra, capture_output=True, text=True)
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
