"""Shared fixtures of the package tests: the programs under test (the native vzgen, the
installed package's console command), granules written by h5py, and Stores loaded from
`vzgen build` output (kerchunk_store.py).

package_test.py runs these tests on the installed wheel and sets VZGEN_SOURCE, VZGEN_NATIVE and
VZGEN_CONSOLE; run by hand, the source tree and its dev build are used instead."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("VZGEN_SOURCE") or os.path.dirname(os.path.dirname(HERE))
ROOT = SOURCE
FIXTURES = os.path.join(ROOT, "tests", "data", "fixtures")

sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(ROOT, "tests", "e2e"))  # time_granules.py
try:  # the installed package when there is one, else the source tree
    import vzgen.store
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "python"))

from time_granules import make_time_granules

SHAPE = (1, 40, 50)
CHUNKS = (1, 20, 25)  # 2,000-byte chunks: references, not inline data


def vzgen_binary() -> str:
    """The native vzgen the tests compare with: $VZGEN_NATIVE or $VZGEN, else a build of this
    checkout."""
    for p in (os.environ.get("VZGEN_NATIVE"), os.environ.get("VZGEN"),
              os.path.join(ROOT, "build", "dev", "src", "vz", "cli", "vzgen"),
              os.path.join(ROOT, "build", "asan", "src", "vz", "cli", "vzgen")):
        if p and os.access(p, os.X_OK):
            return p
    pytest.skip("no vzgen binary: set VZGEN or build the dev preset")
    raise AssertionError  # not reached


def run_vzgen(*args: str) -> None:
    r = subprocess.run([vzgen_binary(), *args], capture_output=True, text=True, check=False)
    assert r.returncode == 0, f"vzgen {' '.join(args)}: {r.stderr}"


def values(i, name):
    rng = np.random.default_rng(i * 7 + len(name))
    return rng.standard_normal(SHAPE).astype("f4")


def run(cmd, ok=True):
    r = subprocess.run([str(c) for c in cmd], check=False, capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise AssertionError(f"{cmd} exited {r.returncode}: {r.stderr}")
    return r


@pytest.fixture
def vzgen() -> str:
    return vzgen_binary()


@pytest.fixture(scope="session")
def granules(tmp_path_factory):
    d = tmp_path_factory.mktemp("granules")
    return make_time_granules(str(d), 4, SHAPE, CHUNKS, ["sst", "ice"], values)


@pytest.fixture(scope="session")
def native():
    return vzgen_binary()


@pytest.fixture(scope="session")
def console():
    c = os.environ.get("VZGEN_CONSOLE")
    if not c:
        pytest.skip("no installed package console: run through package_test.py")
    return c
