"""Shared fixtures of the package tests: the vzgen binary, granules written by h5py, and
Stores loaded from `vzgen build` output (kerchunk_store.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "data", "fixtures")

sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(ROOT, "tests", "e2e"))  # time_granules.py
try:  # the installed package when there is one, else the source tree
    import vzgen.store
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "python"))


def vzgen_binary() -> str:
    """The native vzgen the tests compare with: $VZGEN, else the dev build of this checkout."""
    for p in (os.environ.get("VZGEN"), os.path.join(ROOT, "build", "dev", "src", "vz", "cli", "vzgen"),
              os.path.join(ROOT, "build", "asan", "src", "vz", "cli", "vzgen")):
        if p and os.access(p, os.X_OK):
            return p
    pytest.skip("no vzgen binary: set VZGEN or build the dev preset")
    raise AssertionError  # not reached


def run_vzgen(*args: str) -> None:
    r = subprocess.run([vzgen_binary(), *args], capture_output=True, text=True, check=False)
    assert r.returncode == 0, f"vzgen {' '.join(args)}: {r.stderr}"


@pytest.fixture
def vzgen() -> str:
    return vzgen_binary()
