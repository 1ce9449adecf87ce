#!/usr/bin/python3
"""Interrupting `vzgen build` and `vzgen append` never loses or half-writes a store.

Generates granules of a few hundred MB in all (with many chunks, so that a store takes a while
to write), then, for a seeded series of trials, starts `build` (over an existing store) or
`append`, sends SIGKILL, SIGTERM or SIGINT at a random moment, and checks:
  - the store is byte-identical to what it was before, or to the finished result;
  - SIGINT/SIGTERM exit 130/143 with one line saying whether the store is unchanged, and leave
    no temporary file; after SIGKILL, the next run on the same store removes the one left;
  - a second, uninterrupted run gives the same bytes as an uninterrupted build.

Usage: interrupt.py --vzgen BUILD/src/vz/cli/vzgen [--trials 24] [--seed N]
Prints the seed, one line per trial, and "N passed, M failed".
"""
import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
from time_granules import make_time_granules

GRANULES = 24
FIRST = 16  # granules in the store before an append


def make_granules(d):
    """24 granules of four 1 x 400 x 1000 float32 variables in 1 x 20 x 20 chunks (1,600 bytes:
    referenced, not inlined): 6.4 MB and 4,000 chunks each, so a store of them holds some
    96,000 references."""
    rng = np.random.default_rng(7)
    return make_time_granules(d, GRANULES, (1, 400, 1000), (1, 20, 20), ["a", "b", "c", "d"],
                              lambda i, name: rng.random((1, 400, 1000), dtype="f4"))


def digest(path):
    if not os.path.exists(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temporaries(d):
    return sorted(n for n in os.listdir(d) if ".tmp" in n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    print(f"seed {args.seed} (rerun with --seed {args.seed})")
    rnd = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="vz-interrupt-")
    passed = failed = 0

    def check(label, ok, detail=""):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}" + (f": {detail}" if detail and not ok else ""))

    try:
        g = make_granules(os.path.join(tmp, "granules"))
        size = sum(os.path.getsize(p) for p in g) >> 20
        work = os.path.join(tmp, "work")
        os.makedirs(work)
        store = os.path.join(work, "store.json")
        # The reference results, uninterrupted.
        base = os.path.join(tmp, "base.json")
        full = os.path.join(tmp, "full.json")
        appended = os.path.join(tmp, "appended.json")
        for cmd in (["build", *g[:FIRST], "-o", base, "-q"], ["build", *g, "-o", full, "-q"]):
            subprocess.run([vzgen] + cmd, check=True, capture_output=True)
        shutil.copy(base, appended)
        t0 = time.time()
        subprocess.run([vzgen, "append", appended, *g[FIRST:], "-q"], check=True,
                       capture_output=True)
        append_secs = time.time() - t0
        t0 = time.time()
        subprocess.run([vzgen, "build", *g, "-o", os.path.join(tmp, "timing.json"), "-q"],
                       check=True, capture_output=True)
        build_secs = time.time() - t0
        print(f"{GRANULES} granules, {size} MB; store {os.path.getsize(full) >> 20} MB; "
              f"build {build_secs:.1f} s, append {append_secs:.1f} s")
        expected = {"build": digest(full), "append": digest(appended)}
        check("an append gives the same store as a build of all the granules",
              expected["build"] == expected["append"])
        sigs = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
        for trial in range(args.trials):
            mode = "build" if trial % 2 == 0 else "append"
            sig = sigs[(trial // 2) % 3]
            secs = build_secs if mode == "build" else append_secs
            delay = rnd.uniform(0.0, secs * 1.1)
            shutil.copy(base, store)
            before = digest(store)
            cmd = ([vzgen, "build", *g, "-o", store, "-q"] if mode == "build"
                   else [vzgen, "append", store, *g[FIRST:], "-q"])
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(delay)
            p.send_signal(sig)
            _, err = p.communicate(timeout=300)
            after = digest(store)
            name = signal.Signals(sig).name
            label = f"trial {trial:2d}: {mode} {name} after {delay:.2f} s"
            state = "unchanged" if after == before else (
                "finished" if after == expected[mode] else "CORRUPT")
            problems = []
            if state == "CORRUPT":
                problems.append("the store is neither the old one nor the finished one")
            # A signal that comes before main() has installed its handlers ends the process the
            # default way (the shell shows the same 130/143); nothing can have been written yet.
            early = p.returncode == -int(sig) and state == "unchanged"
            if sig != signal.SIGKILL and p.returncode != 0 and not early:
                want = 128 + int(sig)
                if p.returncode != want:
                    problems.append(f"exit {p.returncode}, expected {want}")
                lines = [ln for ln in err.splitlines() if ln.strip()]
                # Before the arguments are parsed the store is not known yet: the line says
                # only that nothing was written.
                named = "store.json" in err or (
                    state == "unchanged" and "nothing was written" in err)
                if len(lines) != 1 or not named:
                    problems.append(f"expected one line naming the store: {err.strip()[-300:]}")
                elif state == "unchanged" and "unchanged" not in err:
                    problems.append(f"the message does not say the store is unchanged: {err}")
                if temporaries(work):
                    problems.append(f"temporary files left: {temporaries(work)}")
            outcome = "exit 0" if p.returncode == 0 else f"exit {p.returncode}"
            if early and sig != signal.SIGKILL:
                outcome += ", before vzgen started"
                if temporaries(work):
                    problems.append(f"temporary files left: {temporaries(work)}")
            # A second run, uninterrupted: it removes what a killed one left, and ends where an
            # uninterrupted build ends.
            again = subprocess.run(cmd, capture_output=True, text=True)
            if again.returncode != 0:
                problems.append(f"the second run failed: {again.stderr[-300:]}")
            if temporaries(work):
                problems.append(f"temporary files left after a second run: {temporaries(work)}")
            if digest(store) != expected[mode]:
                problems.append("after a second run the store differs from an uninterrupted one")
            check(f"{label} ({outcome}, store {state})", not problems, "; ".join(problems))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
