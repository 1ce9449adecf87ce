#!/usr/bin/python3
"""vzgen is safe by default: nothing a user types destroys data, hangs it, or leaves litter.

Each case runs the real binary and asserts the exit code, the words of the message and what is
left on disk: outputs that must not be replaced (an input granule, a device node, a FIFO, a file
that is not a store), links followed, consolidated stores kept consolidated, non-regular inputs
refused at once, numeric flags checked, every-granule-skipped runs reported, reports that
describe the run that happened, truncated files refused, verify judging each chunk alone, full
disks (a small tmpfs, when run as root), write errors on standard output, dates checked before
CMR is asked, and HTTP servers that stall or ignore ranges (loopback servers in this file).

Usage: safety.py --vzgen BUILD/src/vz/cli/vzgen [-k SUBSTRING]
Prints "N passed, M failed" and exits 1 if any case failed.
"""
import argparse
import hashlib
import http.server
import json
import os
import shutil
import socket
import socketserver
import stat
import subprocess
import sys
import tempfile
import threading
import time

import h5py
import numpy as np
from time_granules import fill_disk, make_time_granules

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "data", "fixtures")

VZGEN = ""
TMP = ""
RESULTS = []


def run(args, timeout=120, **kw):
    """(exit code, stdout, stderr) of vzgen with `args`; a hang is a failed case, not a hang."""
    try:
        p = subprocess.run([VZGEN] + args, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        return None, "", f"(no answer within {timeout} s)"
    return p.returncode, p.stdout, p.stderr


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check(label, ok, detail=""):
    RESULTS.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {label}" + (f": {detail}" if detail and not ok else ""))


def expect(label, result, code, words=(), absent=()):
    """The run ended with `code` and its standard error holds every one of `words`."""
    rc, _, err = result
    problems = []
    if rc != code:
        problems.append(f"exit {rc}, expected {code}")
    for w in words:
        if w.lower() not in err.lower():
            problems.append(f"stderr lacks {w!r}")
    for w in absent:
        if w.lower() in err.lower():
            problems.append(f"stderr has {w!r}")
    if "Sanitizer" in err or "runtime error" in err:
        problems.append("sanitizer report")
    check(label, not problems, "; ".join(problems) + f" | stderr: {err.strip()[-400:]}")
    return not problems


def make_granules(d, n):
    """n small granules along time, one variable v (1 x 40 x 60) holding the granule's index."""
    shape = (1, 40, 60)
    return make_time_granules(d, n, shape, (1, 20, 20), ["v"],
                              lambda i, _: np.full(shape, i, dtype="f4"))


# ---- outputs that must not be replaced

def outputs(g):
    d = os.path.join(TMP, "outputs")
    os.makedirs(d)
    a, b, c = g[:3]
    before = sha(a)
    # The shell expanded `-o d/*.nc`: the first granule became the output.
    expect("build -o <first of a glob> refuses to replace an HDF5 granule",
           run(["build", "-o", a, b, c]), 1, ["refusing to replace", a, "HDF5", "--force"])
    check("... and the granule is untouched", sha(a) == before)
    expect("build -o <one of the inputs> is refused, even with --force",
           run(["build", a, b, "-o", a, "--force"]), 1, ["one of the inputs", a])
    check("... and the granule is untouched", sha(a) == before)
    expect("scan g -o g is refused", run(["scan", a, "-o", a]), 1, ["one of the inputs"])
    check("... and the granule is untouched", sha(a) == before)
    text = os.path.join(d, "notes.json")
    with open(text, "w") as f:
        f.write('{"my": "notes"}\n')
    expect("build -o <a JSON file that is no store> is refused",
           run(["build", a, b, "-o", text]), 1, ["refusing to replace", "not a reference store"])
    check("... and it is untouched", open(text).read() == '{"my": "notes"}\n')
    expect("... and replaced with --force", run(["build", a, b, "-o", text, "--force"]), 0)
    check("... which then holds a store", '"refs"' in open(text).read())
    expect("a store is replaced without --force", run(["build", a, b, c, "-o", text]), 0)
    fifo = os.path.join(d, "fifo.json")
    os.mkfifo(fifo)
    expect("-o <a FIFO> is refused at once", run(["build", a, b, "-o", fifo], timeout=30), 1,
           ["FIFO"])
    check("... and it is still a FIFO", stat.S_ISFIFO(os.lstat(fifo).st_mode))
    expect("scan -o <a FIFO> is refused at once", run(["scan", a, "-o", fifo], timeout=30), 1,
           ["FIFO"])
    expect("-o <a directory> is refused", run(["build", a, b, "-o", d]), 1, ["a directory"])
    if os.geteuid() == 0:
        dev = os.path.join(d, "null-device")
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        expect("-o <a character device> is refused", run(["build", a, b, "-o", dev]), 1,
               ["character device"])
        check("... and it is still a device", stat.S_ISCHR(os.lstat(dev).st_mode))
    else:
        print("SKIP  -o <a character device>: not root, cannot make a device node")
    store = os.path.join(d, "real_store.json")
    link = os.path.join(d, "link.json")
    expect("build a store", run(["build", a, b, "-o", store]), 0)
    os.symlink("real_store.json", link)
    expect("build -o <a link to a store>", run(["build", a, b, c, "-o", link]), 0)
    check("... leaves the link in place", os.path.islink(link))
    check("... and updates the store it points to",
          len(json.load(open(store))["vzgen"]["granules"]) == 3)
    expect("append through a link", run(["append", link, g[3]]), 0)
    check("... leaves the link in place and updates the store",
          os.path.islink(link) and len(json.load(open(store))["vzgen"]["granules"]) == 4)
    report = os.path.join(d, "not_a_report.txt")
    with open(report, "w") as f:
        f.write("keep me\n")
    expect("--report <a file that is no report> is refused",
           run(["build", a, b, "-o", os.path.join(d, "s2.json"), "--report", report]), 1,
           ["refusing to replace", "run report"])
    check("... and it is untouched", open(report).read() == "keep me\n")


# ---- append keeps the layout

def consolidated(g):
    d = os.path.join(TMP, "consolidated")
    os.makedirs(d)
    store = os.path.join(d, "c.json")
    expect("build --consolidated", run(["build", g[0], g[1], "-o", store, "--consolidated"]), 0)
    expect("append to it", run(["append", store, g[2]]), 0)
    refs = json.load(open(store))["refs"]
    check("append keeps .zmetadata", ".zmetadata" in refs)
    def parsed(v):
        return json.loads(v) if isinstance(v, str) else v
    meta = parsed(refs.get(".zmetadata", {"metadata": {}}))
    check("... and it describes the appended store",
          parsed(meta["metadata"].get("v/.zarray", {})).get("shape", [0])[0] == 3)
    import xarray as xr
    ds = xr.open_dataset("reference://", engine="zarr",
                         backend_kwargs={"consolidated": True, "storage_options": {"fo": store}})
    check("... and xarray opens it with consolidated=True", ds["v"].shape == (3, 40, 60))
    ds.close()


# ---- inputs that are not files

def inputs(g):
    d = os.path.join(TMP, "inputs")
    os.makedirs(d)
    fifo = os.path.join(d, "granule.nc")
    os.mkfifo(fifo)
    out = os.path.join(d, "o.json")
    for cmd in (["scan", fifo, "-o", out], ["inspect", fifo], ["build", g[0], fifo, "-o", out]):
        expect(f"{cmd[0]} of a FIFO is refused at once", run(cmd, timeout=30), 1,
               ["granule.nc", "FIFO"])
    check("... and nothing was written", not os.path.exists(out))
    expect("scan of a directory exits 1", run(["scan", d, "-o", out]), 1, ["a directory"])
    expect("build with a directory among the inputs exits 1", run(["build", g[0], d, "-o", out]),
           1, ["a directory"])


# ---- flags

def flags(g):
    out = os.path.join(TMP, "flags.json")
    for args, word in [(["--inline-threshold", "-5"], "inline-threshold"),
                       (["--max-decoded-inline", "0"], "max-decoded-inline"),
                       (["--max-decoded-inline", "-1"], "max-decoded-inline"),
                       (["--first-read", "-1"], "first-read"),
                       (["--block-size", "0"], "block-size"),
                       (["-j", "0"], "jobs"),
                       (["--concurrency", "-3"], "concurrency"),
                       (["--timeout", "0"], "timeout"),
                       (["--timeout", "abc"], "timeout"),
                       (["--connect-timeout", "-2"], "connect-timeout")]:
        expect(f"build {' '.join(args)} is a usage error", run(["build", g[0], "-o", out] + args),
               2, [word])
    expect("scan --inline-threshold -5 is a usage error",
           run(["scan", g[0], "-o", out, "--inline-threshold", "-5"]), 2, ["inline-threshold"])
    expect("verify --samples 0 is a usage error", run(["verify", out, "--samples", "0"]), 2,
           ["samples"])
    expect("search --page-size 0 is a usage error",
           run(["search", "--collection", "X", "--page-size", "0"]), 2, ["page-size"])
    check("no output was written by any of them", not os.path.exists(out))
    expect("VZ_TIMEOUT=soon is a usage error",
           run(["scan", g[0], "-o", out], env=dict(os.environ, VZ_TIMEOUT="soon")), 2,
           ["VZ_TIMEOUT"])
    # Dates are checked before CMR is asked: port 9 (discard) would refuse the connection.
    expect("search --start 13-45-2022 is refused locally",
           run(["search", "--collection", "X", "--start", "13-45-2022", "--cmr-url",
                "http://127.0.0.1:9/search"]), 2, ["13-45-2022"], absent=["127.0.0.1:9"])
    expect("search --start with a field too large for a number is refused, not a crash",
           run(["search", "--collection", "X", "--start", "2022-0" + "2" * 30 + "-01",
                "--cmr-url", "http://127.0.0.1:9/search"]), 2, ["is neither"],
           absent=["internal error"])
    expect("build --collection --end 2022-02-30 is refused locally",
           run(["build", "--collection", "X", "--end", "2022-02-30", "--cmr-url",
                "http://127.0.0.1:9/search", "-o", TMP]), 2, ["2022-02-30"],
           absent=["127.0.0.1:9"])
    rc, out_text, _ = run(["--help"])
    check("the usage line says vzgen, not the binary's path",
          rc == 0 and "Usage: vzgen" in out_text and VZGEN not in out_text)
    rc, out_text, _ = run(["job", "--help"])
    check("job --help lists the environment it reads",
          rc == 0 and all(v in out_text for v in ("COLLECTION", "OUTPUT_BUCKET", "SSM_EDL_USERNAME",
                                                  "VZ_TIMEOUT")))
    expect("build -o - is refused, and says why", run(["build", g[0], "-o", "-"]), 2,
           ["-o - is not supported"])


# ---- runs where nothing or something was skipped, and their reports

def reports(g):
    d = os.path.join(TMP, "reports")
    os.makedirs(d)
    bad = []
    for i in range(3):
        p = os.path.join(d, f"bad{i}.nc")
        with open(p, "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n" + bytes(100 + i))
        bad.append(p)
    store = os.path.join(d, "s.json")
    res = run(["build", *bad, "-o", store, "--on-error", "skip", "-q"])
    expect("build --on-error skip with every granule bad exits 5 and prints each reason", res, 5,
           ["no granule could be used", "bad0.nc", "bad1.nc", "bad2.nc"])
    check("... writes no store", not os.path.exists(store))
    rep = store + ".report.json"
    ok = os.path.exists(rep)
    if ok:
        r = json.load(open(rep))
        ok = (len(r["granules_skipped"]) == 3 and r["granules_used"] == [] and r["inputs"] == 3
              and all(s["reason"] for s in r["granules_skipped"]))
    check("... and writes the report with the three reasons", ok)
    expect("build a store of two", run(["build", g[0], g[1], "-o", store]), 0)
    expect("append one new and two present", run(["append", store, g[0], g[1], g[2]]), 0)
    r = json.load(open(rep))
    check("the append report counts every input given", r["inputs"] == 3, f"inputs={r['inputs']}")
    check("... lists the granules already present",
          sorted(r["granules_already_present"]) == sorted([g[0], g[1]]),
          str(r["granules_already_present"]))
    check("... and the one used", r["granules_used"] == [g[2]] and r["command"] == "append")
    before = sha(store)
    expect("a no-op append", run(["append", store, g[1]]), 0)
    r = json.load(open(rep))
    check("... leaves the store byte for byte", sha(store) == before)
    check("... and writes its own report", r["inputs"] == 1 and r["granules_used"] == [] and
          r["granules_already_present"] == [g[1]], json.dumps(r)[:300])


# ---- truncated files: the same rule for both formats

def truncated(g):
    d = os.path.join(TMP, "truncated")
    os.makedirs(d)

    def cut_copy(src, name):
        # netCDF-3: the last 16 bytes; HDF5: the last quarter (its very end may be free space).
        data = open(src, "rb").read()
        drop = 16 if data[:3] == b"CDF" else len(data) // 4
        cut = os.path.join(d, name)
        with open(cut, "wb") as f:
            f.write(data[:len(data) - drop])
        return cut

    for name in ("nc3_classic.nc", "nc3_64bit_offset.nc", "nc3_cdf5.nc", "nc4_mur_like.nc",
                 "filters_basic.h5"):
        cut = cut_copy(os.path.join(FIXTURES, name), name)
        expect(f"scan of a truncated {name} is an error", run(["scan", cut, "-o", cut + ".json"]),
               1, [name, "end of the file"])
    cut = cut_copy(g[1], "g001-truncated.nc")
    out = os.path.join(d, "store.json")
    res = run(["build", g[0], cut, g[2], "-o", out, "--on-error", "skip"])
    expect("build --on-error skip skips the truncated granule, with the reason", res, 3,
           ["g001-truncated.nc", "end of the file"])


# ---- verify judges each chunk on its own

def verify_truncated():
    d = os.path.join(TMP, "verify")
    os.makedirs(d)
    p = os.path.join(d, "big.h5")
    with h5py.File(p, "w") as f:
        f.create_dataset("v", data=np.arange(100 * 1000, dtype="f8").reshape(100, 1000),
                         chunks=(10, 1000))
    store = os.path.join(d, "big.json")
    expect("scan", run(["scan", p, "-o", store, "--inline-threshold", "0"]), 0)
    refs = json.load(open(store))["refs"]
    offsets = sorted(refs[f"v/{i}.0"][1] for i in range(10))
    cut = offsets[7] + 100  # inside chunk 7: chunks 0-6 stay whole
    with open(p, "r+b") as f:
        f.truncate(cut)
    rc, out, err = run(["verify", store, "--samples", "10"])
    check("verify of a truncated file exits 1", rc == 1, f"exit {rc}")
    failed = [ln for ln in err.splitlines() if "verify failed" in ln]
    check("... only the chunks past the cut fail", len(failed) == 3, "\n".join(failed))
    check("... and the whole ones pass", out.count("ok v/") == 7, out[-500:])
    check("... each failure names its key, URL, offset and length",
          all(f"v/{k}.0" in " ".join(failed) for k in (7, 8, 9)) and
          all(p in ln and "offset" in ln and "bytes" in ln for ln in failed),
          "\n".join(failed))
    offs = {ln.split("offset ")[1].split(",")[0] for ln in failed if "offset " in ln}
    check("... at their own offsets", len(offs) == 3, str(offs))


# ---- full disks

def full_disk(g):
    if os.geteuid() != 0:
        print("SKIP  full disk: not root, cannot mount a small tmpfs")
        return
    mnt = os.path.join(TMP, "small-disk")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", mnt]).returncode != 0:
        print("SKIP  full disk: mount -t tmpfs failed here")
        return
    try:
        store = os.path.join(mnt, "s.json")
        expect("build a small store on a small disk", run(["build", g[0], "-o", store, "-q"]), 0)
        before = sha(store)
        fill_disk(mnt)
        for label, cmd in [("build", ["build", *g[:6], "-o", store]),
                           ("append", ["append", store, *g[1:6]]),
                           ("scan", ["scan", g[0], "-o", store])]:
            expect(f"{label} on a full disk names the path and the reason", run(cmd), 1,
                   [store, "No space left on device"])
            check(f"... and the previous store survives byte for byte ({label})",
                  sha(store) == before)
            check(f"... and no temporary file is left ({label})",
                  sorted(os.listdir(mnt)) == ["filler", "s.json", "s.json.report.json"],
                  str(os.listdir(mnt)))
        # The report alone does not fit: the store is written, the report's failure is said.
        outside = os.path.join(TMP, "outside.json")
        res = run(["build", g[0], "-o", outside, "--report", os.path.join(mnt, "r.json")])
        check("a report that does not fit is a warning naming it; the store is written",
              res[0] == 0 and "report not written" in res[2] and "r.json" in res[2] and
              "No space left on device" in res[2] and os.path.exists(outside),
              f"exit {res[0]}: {res[2][-300:]}")
        new_out = os.path.join(mnt, "new.json")
        res = run(["scan", g[0], "-o", new_out])
        check("nothing half-written is left after a failed write",
              res[0] == 1 and not os.path.exists(new_out)
              and not any(".tmp" in n for n in os.listdir(mnt)),
              str(os.listdir(mnt)))
    finally:
        subprocess.run(["umount", mnt])
    rc = subprocess.run(f"{VZGEN} inspect {g[0]} > /dev/full", shell=True,
                        capture_output=True, text=True, timeout=60)
    check("inspect > /dev/full exits 1 and says why",
          rc.returncode == 1 and "standard output" in rc.stderr and "No space" in rc.stderr,
          f"exit {rc.returncode}: {rc.stderr[-200:]}")
    rc = subprocess.run(f"{VZGEN} scan {g[0]} -o - > /dev/full", shell=True,
                        capture_output=True, text=True, timeout=60)
    check("scan -o - > /dev/full exits 1", rc.returncode == 1, f"exit {rc.returncode}")


# ---- HTTP servers that stall, or ignore ranges

class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0

    def add(self, what):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)


def stalling_server(counter, mode, body=b""):
    """A loopback server: 'accept' accepts and never answers; 'half' sends the headers and half
    of the body, then stalls. Returns (port, stop)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    stop = threading.Event()
    held = []

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            counter.add("connections")
            held.append(c)
            if mode == "half":
                threading.Thread(target=half, args=(c,), daemon=True).start()

    def half(c):
        try:
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    return
                data += chunk
            counter.add("requests")
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) +
                      body[:len(body) // 2])
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()

    def close():
        stop.set()
        for c in held:
            c.close()
        srv.close()
    return srv.getsockname()[1], close


class NoRangeHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 and the whole file, whatever Range says."""
    protocol_version = "HTTP/1.1"
    files = {}
    counter = None

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.counter.add("requests")
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def http_faults():
    granule = os.path.join(FIXTURES, "nc4_mur_like.nc")
    body = open(granule, "rb").read()
    out = os.path.join(TMP, "http.json")
    quick = ["--timeout", "1", "--connect-timeout", "2"]

    c = Counter()
    port, close = stalling_server(c, "accept")
    t0 = time.time()
    res = run(["scan", f"http://127.0.0.1:{port}/g.nc", "-o", out] + quick, timeout=90)
    took = time.time() - t0
    close()
    expect("a server that accepts and never answers: a clear error naming the URL", res, 1,
           [f"127.0.0.1:{port}/g.nc", "stalled", "attempts"])
    check("... after retries (more than one connection)", c.connections > 1,
          f"{c.connections} connections")
    print(f"      ({took:.1f} s, {c.connections} connections)")

    c = Counter()
    port, close = stalling_server(c, "half", body + bytes(4 << 20))
    res = run(["scan", f"http://127.0.0.1:{port}/g.nc", "-o", out] + quick, timeout=90)
    close()
    expect("a server that stalls after half the body: a clear error", res, 1,
           [f"127.0.0.1:{port}/g.nc", "stalled"])
    check("... retried", c.requests > 1, f"{c.requests} requests")

    c = Counter()
    NoRangeHandler.counter = c
    NoRangeHandler.files = {"/g.nc": body, "/big.nc": body[:8] + bytes(80 << 20)}
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), NoRangeHandler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    try:
        res = run(["scan", f"http://127.0.0.1:{port}/g.nc", "-o", out] + quick, timeout=90)
        expect("a server that ignores Range: a small granule is read once, whole", res, 0)
        local = os.path.join(TMP, "local.json")
        run(["scan", granule, "-o", local])
        same = False
        if res[0] == 0:
            a = json.load(open(out))["refs"]
            b = json.load(open(local))["refs"]
            same = a.keys() == b.keys() and all(
                (a[k][1:] == b[k][1:]) if isinstance(a[k], list) else a[k] == b[k] for k in a)
        check("... and gives the same references as the local file", same)
        check("... in at most two requests (the head and the tail)", c.requests <= 2,
              f"{c.requests} requests")
        c.requests = 0
        res = run(["scan", f"http://127.0.0.1:{port}/big.nc", "-o", out] + quick, timeout=90)
        expect("a server that ignores Range on a large granule: says so", res, 1,
               ["does not support range requests", f"127.0.0.1:{port}/big.nc"])
        check("... after the first request, not after retries", c.requests <= 2,
              f"{c.requests} requests")
    finally:
        srv.shutdown()
        srv.server_close()


def main():
    global VZGEN, TMP
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("-k", default="", help="run only the groups whose name contains this")
    args = ap.parse_args()
    VZGEN = os.path.abspath(args.vzgen)
    TMP = tempfile.mkdtemp(prefix="vz-safety-")
    try:
        g = make_granules(os.path.join(TMP, "granules"), 8)
        groups = [("outputs", lambda: outputs(g)), ("consolidated", lambda: consolidated(g)),
                  ("inputs", lambda: inputs(g)), ("flags", lambda: flags(g)),
                  ("reports", lambda: reports(g)), ("truncated", lambda: truncated(g)),
                  ("verify", verify_truncated), ("full_disk", lambda: full_disk(g)),
                  ("http", http_faults)]
        for name, fn in groups:
            if args.k and args.k not in name:
                continue
            print(f"== {name}")
            try:
                fn()
            except Exception as e:  # a broken case is a failure, and the rest still run
                check(f"{name}: ran to the end", False, f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
