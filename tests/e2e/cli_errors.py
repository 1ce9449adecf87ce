#!/usr/bin/env python3
"""vzgen on bad input: every case must end with a clean error, never a crash.

For each case `vzgen scan INPUT -o OUT.json` must exit non-zero (a positive code: no signal), in
time, with exactly one line on stderr that names the input file (for corrupt files also a byte
offset such as 0x1f4), and no sanitizer report.

Usage: cli_errors.py --vzgen BUILD/src/vz/cli/vzgen [--verbose]
Prints "N passed, M failed" and exits 1 if any case failed.
"""
import argparse
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import h5py

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "data", "fixtures")
OFFSET_RE = re.compile(r"0x[0-9a-fA-F]+")


def object_header_addrs(path):
    """Addresses (absolute: userblock-free fixtures) of every object header, in file order."""
    addrs = set()
    with h5py.File(path, "r") as f:
        addrs.add(h5py.h5o.get_info(f.id).addr)

        def visit(_, obj):
            addrs.add(h5py.h5o.get_info(obj.id).addr)
        f.visititems(visit)
    return sorted(addrs)


def v2_header_checksum_pos(data, start):
    """Offset of the checksum that closes chunk 0 of the version-2 object header at `start`."""
    assert data[start:start + 4] == b"OHDR" and data[start + 4] == 2, "not a v2 object header"
    flags = data[start + 5]
    pos = start + 6
    if flags & 0x20:
        pos += 16  # access/modification/change/birth times
    if flags & 0x10:
        pos += 4  # attribute phase-change values
    width = 1 << (flags & 3)
    size = int.from_bytes(data[pos:pos + width], "little")
    return pos + width + size


def make_cases(tmp):
    """[(label, argv-after-binary, must_contain, need_offset)]"""
    cases = []
    missing = os.path.join(tmp, "no_such_file.h5")
    cases.append(("nonexistent file", ["scan", missing], ["no_such_file.h5"], False))
    d = os.path.join(tmp, "a_directory.h5")
    os.mkdir(d)
    cases.append(("directory", ["scan", d], ["a_directory.h5"], False))
    empty = os.path.join(tmp, "empty.h5")
    open(empty, "wb").close()
    cases.append(("empty file", ["scan", empty], ["empty.h5"], False))
    rnd = os.path.join(tmp, "random.bin")
    with open(rnd, "wb") as fh:
        fh.write(random.Random(1234).randbytes(8192))
    cases.append(("random bytes", ["scan", rnd], ["random.bin"], False))
    text = os.path.join(tmp, "text.nc")
    with open(text, "w") as fh:
        fh.write("CDF is not enough\n" * 10)
    cases.append(("text starting with CDF", ["scan", text], ["text.nc"], False))
    hdf4 = os.path.join(tmp, "MOD02QKM.A2000055.0005.061.hdf")
    with open(hdf4, "wb") as fh:  # HDF4's signature, then a data descriptor block header
        fh.write(b"\x0e\x03\x13\x01" + b"\x00\xc8" + bytes(4090))
    cases.append(("an HDF4 file named .hdf", ["scan", hdf4],
                  ["MOD02QKM.A2000055.0005.061.hdf", "an HDF4 file"], False))

    # Truncated copies: inside the signature, inside the superblock, inside the root object
    # header, inside the last object header (a dataset's: needed for its references).
    for fixture in ("sb0_default.h5", "sb3_latest.h5", "layouts_latest.h5"):
        src = os.path.join(FIXTURES, fixture)
        data = open(src, "rb").read()
        heads = object_header_addrs(src)
        cuts = {"signature": 4, "superblock": 30, "root-header": heads[0] + 10,
                "last-header": heads[-1] + 10}
        for what, cut in cuts.items():
            name = f"trunc_{what}_{fixture}"
            p = os.path.join(tmp, name)
            with open(p, "wb") as fh:
                fh.write(data[:cut])
            cases.append((f"{fixture} truncated at {cut} ({what})", ["scan", p], [name],
                          what not in ("signature",)))
    # netCDF-3 truncated inside the header, inside the variable list, and inside the last record
    # (the header promises more bytes than the file has: references would point past the end).
    nc3_size = os.path.getsize(os.path.join(FIXTURES, "nc3_classic.nc"))
    for fixture, cut in (("nc3_classic.nc", 20), ("nc3_classic.nc", 200),
                         ("nc3_cdf5.nc", 300), ("nc3_classic.nc", nc3_size - 10)):
        data = open(os.path.join(FIXTURES, fixture), "rb").read()
        name = f"trunc_{cut}_{fixture}"
        p = os.path.join(tmp, name)
        with open(p, "wb") as fh:
            fh.write(data[:cut])
        cases.append((f"{fixture} truncated at {cut}", ["scan", p], [name], True))

    # Flipped byte in the checksum of v2 object headers (root group and a dataset) and of the
    # version-3 superblock.
    src = os.path.join(FIXTURES, "sb3_latest.h5")
    data = open(src, "rb").read()
    heads = object_header_addrs(src)
    for what, start in (("root", heads[0]), ("dataset", heads[-1])):
        pos = v2_header_checksum_pos(data, start)
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        name = f"badsum_{what}_ohdr.h5"
        p = os.path.join(tmp, name)
        with open(p, "wb") as fh:
            fh.write(bad)
        cases.append((f"flipped checksum byte of the {what} object header at {pos:#x}",
                      ["scan", p], [name], True))
    bad = bytearray(data)
    assert bad[8] == 3
    bad[44] ^= 0xFF  # superblock v2/3 with 8-byte offsets: checksum at 44..47
    p = os.path.join(tmp, "badsum_superblock.h5")
    with open(p, "wb") as fh:
        fh.write(bad)
    cases.append(("flipped checksum byte of the superblock", ["scan", p],
                  ["badsum_superblock.h5"], True))
    # A garbage root object header address in a version-0 superblock.
    src = os.path.join(FIXTURES, "sb0_default.h5")
    bad = bytearray(open(src, "rb").read())
    # sb0: 8 sig + 16 version/sizes/K + 4 flags + 4*8 addresses = 56, then the root symbol
    # table entry: link name offset (8), object header address (8).
    struct.pack_into("<Q", bad, 64, 0x7FFFFFFF0000)
    p = os.path.join(tmp, "bad_root_addr.h5")
    with open(p, "wb") as fh:
        fh.write(bad)
    cases.append(("root object header address beyond EOF", ["scan", p], ["bad_root_addr.h5"],
                  True))

    good = os.path.join(FIXTURES, "sb0_default.h5")
    cases.append(("unknown flag", ["scan", good, "--no-such-flag"], ["--no-such-flag"], False))
    cases.append(("unknown subcommand", ["frobnicate", good], ["frobnicate"], False))
    return cases


def run_case(vzgen, tmp, label, argv, must_contain, need_offset, verbose):
    out = os.path.join(tmp, "out.json")
    if os.path.exists(out):
        os.remove(out)
    cmd = [vzgen] + argv + ["-o", out]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False, "timeout after 30 s"
    err = p.stderr.decode("utf-8", "replace")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    problems = []
    if p.returncode < 0:
        problems.append(f"killed by signal {-p.returncode}")
    elif p.returncode == 0:
        problems.append("exit 0")
    if "Sanitizer" in err or "runtime error" in err:
        problems.append("sanitizer report")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr")
    for s in must_contain:
        if s not in err:
            problems.append(f"stderr does not name {s!r}")
    if need_offset and not OFFSET_RE.search(err):
        problems.append("no byte offset (0x...) in the message")
    if os.path.exists(out) and p.returncode != 0:
        problems.append("left an output file behind after failing")
    first = lines[0] if lines else ""
    if verbose or problems:
        print(f"    stderr: {first[:200]}" + (f" (+{len(lines) - 1} lines)" if len(lines) > 1
                                               else ""))
    return not problems, "; ".join(problems) or f"exit {p.returncode}"


def libcurl_loaded_only_for_http(vzgen, tmp):
    """libcurl is loaded on the first HTTP request, not at start (it drags in some thirty
    libraries): a local scan must not load it, a URL must, and both must end cleanly."""
    env = dict(os.environ, LD_DEBUG="files")
    out = os.path.join(tmp, "lazy.json")
    local = subprocess.run([vzgen, "scan", os.path.join(FIXTURES, "sb0_default.h5"), "-o", out],
                           capture_output=True, text=True, env=env, timeout=120)
    if local.returncode != 0:
        return False, f"local scan failed: {local.stderr.strip()[-300:]}"
    if "libcurl.so" in local.stderr:
        return False, "a local scan loaded libcurl"
    remote = subprocess.run([vzgen, "scan", "http://127.0.0.1:9/none.h5", "-o", out],
                            capture_output=True, text=True, env=env, timeout=120)
    if remote.returncode <= 0 or "libcurl.so" not in remote.stderr:
        return False, f"a URL did not load libcurl or did not fail cleanly (exit {remote.returncode})"
    last = [ln for ln in remote.stderr.splitlines() if ln.startswith("vzgen:")]
    if not last or "127.0.0.1:9" not in last[-1]:
        return False, f"the connection error does not name the URL: {last[-1:] or remote.stderr[-200:]}"
    return True, "not loaded by a local scan; loaded by a URL, whose error names it"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    if not os.access(vzgen, os.X_OK):
        print(f"cli_errors: vzgen binary not found or not executable: {vzgen}")
        return 1
    tmp = tempfile.mkdtemp(prefix="vz-cli-errors-")
    try:
        passed = failed = 0
        for label, argv, must, need_offset in make_cases(tmp):
            ok, why = run_case(vzgen, tmp, label, argv, must, need_offset, args.verbose)
            print(f"{'PASS' if ok else 'FAIL'}  {label}: {why}")
            passed += ok
            failed += not ok
        ok, why = libcurl_loaded_only_for_http(vzgen, tmp)
        print(f"{'PASS' if ok else 'FAIL'}  libcurl loaded lazily: {why}")
        passed += ok
        failed += not ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
