#!/usr/bin/python3
"""Checks that the oracle itself can fail: runs oracle.py with fake_vzgen.py (an h5py-based
stand-in for vzgen) on a few fixtures, first as is (must pass), then broken on purpose (wrong
byte offsets / data, an extra attribute, a segfault): each broken run must be reported.

Usage: oracle_selftest.py      (no vzgen needed; prints "N passed, M failed")
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FILES = ["tests/data/fixtures/sb0_default.h5", "tests/data/fixtures/layouts_latest.h5",
         "tests/data/fixtures/nc4_groups.nc", "tests/data/fixtures/nc4_vlen_string.nc",
         "tests/data/fixtures/nc3_classic.nc", "tests/data/fixtures/links.h5"]
# mode -> status every file must get
CASES = {"": "identical", "offset": "mismatch", "attr": "mismatch", "crash": "crash"}


def sequence_cases():
    """compare_values on variable-length sequences: (want, got, must differ)."""
    import numpy as np

    def seq(*items):
        out = np.empty(len(items), dtype=object)
        out[:] = [np.array(x, dtype=d) for x, d in items]
        return out
    same = seq(([1, 2], "<i4"), ([], "<i4"))
    nan = seq(([np.nan, 1.5], "<f8"),)
    return [("equal", same, seq(([1, 2], "<i4"), ([], "<i4")), False),
            ("NaN equal", nan, seq(([np.nan, 1.5], "<f8"),), False),
            ("one value", same, seq(([1, 3], "<i4"), ([], "<i4")), True),
            ("length", same, seq(([1, 2, 0], "<i4"), ([], "<i4")), True),
            ("dtype", same, seq(([1, 2], "<i8"), ([], "<i8")), True),
            ("as text", same, np.array(["[1 2]", "[]"], dtype=object), True)]


def main():
    passed = failed = 0
    sys.path.insert(0, HERE)
    import oracle
    for name, want, got, differs in sequence_cases():
        reason = oracle.compare_values(want, got, "/seq")
        ok = (reason is not None) == differs
        print(f"{'PASS' if ok else 'FAIL'}  sequences {name}: {reason or 'equal'}")
        passed += ok
        failed += not ok
    for mode, want in CASES.items():
        env = dict(os.environ, FAKE_VZGEN_BREAK=mode)
        p = subprocess.run([sys.executable, os.path.join(HERE, "oracle.py"), "--vzgen",
                            os.path.join(HERE, "fake_vzgen.py"), "--expectations", os.devnull]
                           + [os.path.join(REPO, f) for f in FILES],
                           capture_output=True, text=True, env=env, timeout=600)
        for f in FILES:
            line = next((ln for ln in p.stdout.splitlines() if ln.startswith(f + " ")), "")
            got = line[len(f):].split()[0] if line.strip() else "missing"
            ok = got == want
            print(f"{'PASS' if ok else 'FAIL'}  break={mode or 'none'} {f}: {got} "
                  f"(want {want})" + ("" if ok else f"\n      {line[:200]}"))
            passed += ok
            failed += not ok
        want_rc = 0 if want == "identical" else 1
        if p.returncode != want_rc:
            print(f"FAIL  break={mode or 'none'}: oracle exit {p.returncode}, want {want_rc}")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
