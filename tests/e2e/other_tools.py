#!/usr/bin/env python3
"""kerchunk's and VirtualiZarr's own output, judged by the same oracle as vzgen's.

  other_tools.py scan FILE -o OUT.json      (TOOL=kerchunk or TOOL=virtualizarr)

A stand-in for `vzgen scan` that writes the references the other tool makes for FILE with its
defaults, the way its documentation shows: kerchunk `SingleHdf5ToZarr(path).translate()`
(`NetCDF3ToZarr` for netCDF-3), VirtualiZarr `open_virtual_dataset(url, registry, parser=
HDFParser())` (`NetCDF3Parser` for netCDF-3) then `.vz.to_kerchunk(OUT, format="json")`.
An exception the tool raises ends with exit 1 and one line `ExceptionType: message` (the
oracle's "error"); a signal is its "crash".

  other_tools.py table [--only SUBSTRING]   runs oracle.py over every fixture and corpus file for
                                            both tools and prints the table of docs/output.md

Needs the "current" test environment (build/venv/current: kerchunk and VirtualiZarr pinned).
"""
import argparse
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = ("kerchunk", "virtualizarr")


def is_netcdf3(path: str) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4)
    return head[:3] == b"CDF" and head[3:4] in (b"\x01", b"\x02", b"\x05")


def kerchunk_refs(path: str) -> dict:
    if is_netcdf3(path):
        from kerchunk.netCDF3 import NetCDF3ToZarr
        return NetCDF3ToZarr(path).translate()
    from kerchunk.hdf import SingleHdf5ToZarr
    with open(path, "rb") as fh:
        return SingleHdf5ToZarr(fh, url=path).translate()


def virtualizarr_write(path: str, out: str) -> None:
    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import LocalStore
    from virtualizarr import open_virtual_dataset
    from virtualizarr.parsers import HDFParser, NetCDF3Parser
    registry = ObjectStoreRegistry({"file://": LocalStore()})
    parser = NetCDF3Parser() if is_netcdf3(path) else HDFParser()
    vds = open_virtual_dataset(url="file://" + os.path.abspath(path), registry=registry,
                               parser=parser)
    vds.vz.to_kerchunk(out, format="json")


def scan(tool: str, path: str, out: str) -> int:
    import warnings
    warnings.simplefilter("ignore")
    try:
        if tool == "kerchunk":
            refs = kerchunk_refs(path)
            with open(out, "w", encoding="utf-8") as fh:
                json.dump(refs, fh)
        else:
            virtualizarr_write(path, out)
    except Exception as e:  # noqa: BLE001 - whatever the tool raises is its answer
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"{type(e).__name__}: {msg}", file=sys.stderr)
        return 1
    return 0


def table(only: str | None, jobs: int) -> int:
    """Runs the oracle for each tool; prints per-tool counts and the per-file statuses."""
    import concurrent.futures

    def run(tool: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, os.path.join(HERE, "oracle.py"), "--vzgen", os.path.abspath(
            __file__), "--expectations", os.devnull, "--jobs", str(jobs), "--timeout", "120"]
        if only:
            cmd += ["--only", only]
        env = dict(os.environ, TOOL=tool,
                   PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)

    with concurrent.futures.ThreadPoolExecutor(len(TOOLS)) as pool:
        done = dict(zip(TOOLS, pool.map(run, TOOLS), strict=True))
    per_tool = {}
    for tool in TOOLS:
        p = done[tool]
        with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"oracle-{tool}.txt"), "w",
                  encoding="utf-8") as fh:
            fh.write(p.stdout + p.stderr)
        rows = {}
        started = False
        for line in p.stdout.splitlines():
            if line.startswith("file "):
                started = True
                continue
            if not started or not line.strip() or line.startswith("summary:"):
                if line.startswith("summary:"):
                    break
                continue
            parts = line.split(None, 2)
            if len(parts) >= 2:
                rows[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
        per_tool[tool] = rows
        print(f"== {tool}: {p.stdout.splitlines()[0] if p.stdout else ''}")
        for line in p.stdout.splitlines():
            if line.startswith("summary:"):
                print(f"   {line}")
    print()
    print("| tool | files | identical | clear refusal (error) | wrong values or metadata "
          "(mismatch) | crash | unverified |")
    print("|---|---|---|---|---|---|---|")
    for tool, rows in per_tool.items():
        c = collections.Counter(st for st, _ in rows.values())
        print(f"| {tool} | {len(rows)} | {c['identical']} | {c['error']} | {c['mismatch']} | "
              f"{c['crash']} | {c['unverified']} |")
    print()
    for tool, rows in per_tool.items():
        errs = collections.Counter(d.split(":")[0] for st, d in rows.values() if st == "error")
        print(f"{tool}: exception types of the errors: {dict(errs.most_common(8))}")
    return 0


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "scan":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("file")
        ap.add_argument("-o", required=True)
        args = ap.parse_args()
        tool = os.environ.get("TOOL", "kerchunk")
        if tool not in TOOLS:
            print(f"TOOL must be one of {TOOLS}", file=sys.stderr)
            return 2
        return scan(tool, args.file, args.o)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmd", choices=["table"])
    ap.add_argument("--only")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    return table(args.only, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
