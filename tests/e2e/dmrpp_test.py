#!/usr/bin/env python3
"""DMR++ sidecars as vzgen's input, against the granules they describe.

For every .dmrpp of ../shared/corpus that has its HDF5/netCDF-4 granule beside it:
  * `vzgen scan GRANULE.dmrpp` and `vzgen scan GRANULE --metadata dmrpp` write the same bytes;
  * their references equal `vzgen scan GRANULE`'s, key by key, apart from the differences
    tests/e2e/dmrpp-differences.tsv lists with a reason (kind "refs");
  * the oracle (tests/e2e/oracle.py: fsspec + zarr + xarray against h5py / netCDF4-python
    reading the granule) passes on the sidecar's references, apart from the listed "oracle"
    lines;
  * `--metadata auto` gives the sidecar's references, or the granule's with a warning when the
    sidecar cannot express something;
  * a pair listed "refused" (a sidecar that does not describe its granule) fails with the
    listed words.
Then: a sidecar that does not describe its granule (chunks past the end) is refused naming both;
a sidecar whose granule is absent still scans (nothing embedded, a warning); malformed XML names
the line; --metadata dmrpp without a sidecar fails and auto falls back; over HTTP (nginx) a
sidecar scan is one request when no chunk needs embedding.

Usage: dmrpp_test.py --vzgen BUILD/src/vz/cli/vzgen [--shared ../shared] [--verbose]
Run with build/venv/current/bin/python.
"""
import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import loopback
import oracle

DIFFERENCES = os.path.join(HERE, "dmrpp-differences.tsv")
FAILURES: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        FAILURES.append(name)


def run(vzgen: str, args: list[str]) -> tuple[int, str]:
    p = subprocess.run([vzgen] + args, check=False, capture_output=True, timeout=120)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def pairs(shared: str) -> list[tuple[str, str]]:
    corpus = os.path.join(shared, "corpus")
    out = []
    for d, _, files in os.walk(corpus):
        for f in files:
            if f.endswith(".dmrpp") and os.path.isfile(os.path.join(d, f[: -len(".dmrpp")])):
                out.append((os.path.join(d, f[: -len(".dmrpp")]), os.path.join(d, f)))
    return sorted(out)


def load_refs(path: str) -> dict:
    with open(path) as f:
        return json.load(f)["refs"]


def differences(granule: dict, sidecar: dict) -> list[str]:
    """'KEY: granule's != sidecar's' for every key whose value differs (metadata member by
    member)."""
    out = []
    for key in sorted(set(granule) | set(sidecar)):
        a, b = granule.get(key), sidecar.get(key)
        if key.endswith((".zarray", ".zattrs", ".zgroup")):
            a = json.loads(a) if a is not None else None
            b = json.loads(b) if b is not None else None
            if isinstance(a, dict) and isinstance(b, dict):
                for m in sorted(set(a) | set(b)):
                    if a.get(m) != b.get(m):
                        out.append(f"{key}[{m}]: {str(a.get(m))[:60]} != {str(b.get(m))[:60]}")
                continue
        if a != b:
            out.append(f"{key}: {'absent' if a is None else str(a)[:60]} != "
                       f"{'absent' if b is None else str(b)[:60]}")
    return out


def load_listed() -> list[dict]:
    with open(DIFFERENCES, newline="") as f:
        rows = [r for r in csv.DictReader((ln for ln in f if not ln.startswith("#")),
                                          delimiter="\t")]
    for r in rows:
        r["re"] = re.compile(r["pattern"])
        r["used"] = False
    return rows


def unlisted(name: str, kind: str, found: list[str], listed: list[dict]) -> list[str]:
    out = []
    for d in found:
        hit = [r for r in listed if r["pair"] == name and r["kind"] == kind and r["re"].search(d)]
        for r in hit:
            r["used"] = True
        if not hit:
            out.append(d)
    return out


def compare_pairs(vzgen: str, shared: str, work: str, verbose: bool) -> None:
    listed = load_listed()
    found_pairs = pairs(shared)
    check("corpus has .h5/.dmrpp pairs", len(found_pairs) >= 10, str(len(found_pairs)))
    for granule, sidecar in found_pairs:
        name = os.path.relpath(sidecar, shared)
        base = os.path.join(work, os.path.basename(granule))
        g, s, s2, a = (base + x for x in (".g.json", ".s.json", ".s2.json", ".a.json"))
        rc, err = run(vzgen, ["scan", granule, "-o", g])
        check(f"{name}: granule scans", rc == 0, err)
        rc, err = run(vzgen, ["scan", sidecar, "-o", s])
        refused = [r for r in listed if r["pair"] == name and r["kind"] == "refused"]
        if refused:
            for r in refused:
                r["used"] = True
            check(f"{name}: the sidecar is refused ({refused[0]['reason'][:60]}...)",
                  rc == 1 and all(r["re"].search(err) for r in refused), err)
            continue
        check(f"{name}: sidecar scans", rc == 0, err)
        rc2, err2 = run(vzgen, ["scan", granule, "--metadata", "dmrpp", "-o", s2])
        check(f"{name}: --metadata dmrpp scans", rc2 == 0, err2)
        if rc != 0 or rc2 != 0:
            continue
        with open(s, "rb") as f1, open(s2, "rb") as f2:
            check(f"{name}: scan X.dmrpp and scan X --metadata dmrpp write the same bytes",
                  f1.read() == f2.read())
        rc, err_auto = run(vzgen, ["scan", granule, "--metadata", "auto", "-o", a])
        check(f"{name}: --metadata auto scans", rc == 0, err_auto)
        fell_back = "cannot express" in err_auto
        with open(a, "rb") as fa, open(g if fell_back else s, "rb") as fw:
            check(f"{name}: auto gives the {'granule' if fell_back else 'sidecar'}'s references",
                  fa.read() == fw.read())
        diffs = differences(load_refs(g), load_refs(s))
        bad = unlisted(name, "refs", diffs, listed)
        check(f"{name}: sidecar references equal the granule's ({len(diffs)} listed "
              f"differences)", not bad, "; ".join(bad[:5]))
        if verbose:
            for d in diffs:
                print(f"      {d}")
        reasons, _notes, _ = oracle.compare_file(granule, "unknown", s)
        bad = unlisted(name, "oracle", reasons, listed)
        check(f"{name}: oracle on the sidecar's references ({len(reasons)} listed)", not bad,
              "; ".join(bad[:5]))
        if verbose:
            for r in reasons:
                print(f"      oracle: {r}")
    stale = [f"{r['pair']} {r['kind']} {r['pattern']}" for r in listed if not r["used"]]
    check("every listed difference still occurs (else remove it)", not stale, "; ".join(stale))


def disagreements(vzgen: str, shared: str, work: str) -> None:
    src = os.path.join(shared, "corpus", "OPENDAP+bes", "modules", "dmrpp_module", "data",
                       "deflate_twice", "cmprss_big_1.h5")
    d = os.path.join(work, "cut")
    os.makedirs(d)
    granule = os.path.join(d, "cmprss_big_1.h5")
    shutil.copy(src + ".dmrpp", granule + ".dmrpp")
    with open(src, "rb") as f:
        head = f.read(5000)
    with open(granule, "wb") as f:
        f.write(head)  # the last chunks of the sidecar lie past this end
    rc, err = run(vzgen, ["scan", granule + ".dmrpp", "-o", os.path.join(d, "out.json")])
    check("a sidecar whose chunks lie past the granule's end is refused, naming both",
          rc == 1 and "does not describe the granule" in err and granule + ".dmrpp" in err
          and "5000 bytes" in err and not os.path.exists(os.path.join(d, "out.json")), err)

    alone = os.path.join(work, "alone")
    os.makedirs(alone)
    only = os.path.join(alone, "cmprss_big_1.h5.dmrpp")
    shutil.copy(src + ".dmrpp", only)
    out = os.path.join(alone, "out.json")
    rc, err = run(vzgen, ["scan", only, "-o", out])
    refs = load_refs(out) if rc == 0 else {}
    check("a sidecar without its granule scans, saying so, with every chunk referenced",
          rc == 0 and "is not there" in err
          and all(isinstance(v, list) for k, v in refs.items() if not k.split("/")[-1]
                  .startswith(".")), err)

    bad = os.path.join(alone, "bad.h5.dmrpp")
    with open(bad, "w") as f:
        f.write('<?xml version="1.0"?>\n<Dataset name="x">\n  <Int32 name="a">\n</Dataset>\n')
    rc, err = run(vzgen, ["scan", bad, "-o", os.path.join(alone, "bad.json")])
    check("malformed XML names the sidecar and the line",
          rc == 1 and f"{bad} line 4: malformed XML" in err, err)

    nosidecar = os.path.join(alone, "plain.h5")
    shutil.copy(src, nosidecar)
    rc, err = run(vzgen, ["scan", nosidecar, "--metadata", "dmrpp", "-o",
                          os.path.join(alone, "x.json")])
    check("--metadata dmrpp without a sidecar fails naming it",
          rc == 1 and f"no DMR++ sidecar at {nosidecar}.dmrpp" in err, err)
    rc, err = run(vzgen, ["scan", nosidecar, "--metadata", "auto", "-o",
                          os.path.join(alone, "auto.json")])
    rc2, _ = run(vzgen, ["scan", nosidecar, "-o", os.path.join(alone, "granule.json")])
    with open(os.path.join(alone, "auto.json"), "rb") as f1, \
            open(os.path.join(alone, "granule.json"), "rb") as f2:
        check("--metadata auto without a sidecar reads the granule",
              rc == 0 and rc2 == 0 and f1.read() == f2.read(), err)
    rc, err = run(vzgen, ["scan", nosidecar, "--metadata", "sometimes", "-o", "x.json"])
    check("--metadata takes auto, dmrpp or granule", rc == 2 and "--metadata" in err, err)


def build_and_append(vzgen: str, shared: str, work: str) -> None:
    """build and append through sidecars make the store the granules make."""
    src = os.path.join(shared, "corpus", "OPENDAP+bes", "modules", "dmrpp_module", "data",
                       "dmrpp", "chunked_shufzip_twoD.h5")
    d = os.path.join(work, "build")
    os.makedirs(d)
    names = []
    for n in ("a", "b", "c"):
        for suffix in ("", ".dmrpp"):
            shutil.copy(src + suffix, os.path.join(d, f"{n}.h5{suffix}"))
        names.append(os.path.join(d, f"{n}.h5"))
    stores = {}
    for how in ("granule", "dmrpp"):
        out = os.path.join(d, f"{how}.json")
        rc, err = run(vzgen, ["build"] + names[:2] + ["--new-dim", "granule", "--metadata", how,
                                                      "-q", "-o", out])
        check(f"build --metadata {how}", rc == 0, err)
        rc, err = run(vzgen, ["append", out, names[2], "--metadata", how, "-q"])
        check(f"append --metadata {how}", rc == 0, err)
        with open(out, "rb") as f:
            stores[how] = f.read()
        with open(out + ".report.json") as f:
            stores[how + " report"] = json.load(f)
    check("build and append through sidecars give the granules' store byte for byte",
          stores["granule"] == stores["dmrpp"])
    g, s = stores["granule report"], stores["dmrpp report"]
    check("the report counts the sidecar's request (and nothing of the granule)",
          s.get("requests") == 1 and s.get("bytes_read") == os.path.getsize(src + ".dmrpp"),
          f"granule path: {g.get('requests')} requests {g.get('bytes_read')} bytes; sidecar "
          f"path: {s.get('requests')} requests {s.get('bytes_read')} bytes")


def over_http(vzgen: str, shared: str, work: str) -> None:
    src = os.path.join(shared, "corpus", "OPENDAP+bes", "modules", "dmrpp_module", "data",
                       "dmrpp", "chunked_shufzip_twoD.h5")
    root = os.path.join(work, "www")
    os.makedirs(root)
    for suffix in ("", ".dmrpp"):
        shutil.copy(src + suffix, os.path.join(root, "g.h5" + suffix))
    local = os.path.join(work, "local.json")
    rc, err = run(vzgen, ["scan", os.path.join(root, "g.h5.dmrpp"), "-o", local])
    check("http: local sidecar scan", rc == 0, err)
    log = os.path.join(work, "access.log")
    with loopback.Servers() as servers:
        port = servers.nginx(root, access_log=log)
        url = f"http://127.0.0.1:{port}/g.h5"
        out = os.path.join(work, "http.json")
        rc, err = run(vzgen, ["scan", url, "--metadata", "dmrpp", "-o", out])
        check("http: scan --metadata dmrpp", rc == 0, err)
        with open(log) as f:
            lines = [ln.split() for ln in f if ln.strip()]
        size = os.path.getsize(src + ".dmrpp")
        check("http: the sidecar is one request, and the granule is never read (all its chunks "
              "are referenced)", len(lines) == 1 and int(lines[0][1]) == size, str(lines))
        if rc == 0:
            want = {k: (v if not isinstance(v, list) else [url] + v[1:])
                    for k, v in load_refs(local).items()}
            check("http: the same references as the local sidecar, pointing at the granule URL",
                  load_refs(out) == want)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--shared", default=oracle.SHARED)
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    if not os.path.isdir(os.path.join(args.shared, "corpus")):
        print(f"SKIPPED: no corpus at {args.shared}/corpus")
        return 0
    with tempfile.TemporaryDirectory(prefix="vz_dmrpp_") as work:
        compare_pairs(vzgen, args.shared, work, args.verbose)
        disagreements(vzgen, args.shared, work)
        build_and_append(vzgen, args.shared, work)
        over_http(vzgen, args.shared, work)
    print(f"{len(FAILURES)} failures")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
