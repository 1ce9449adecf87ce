"""Shared fixtures of the package tests: granules written by h5py, the programs under test."""

import os
import subprocess
import sys

import numpy as np
import pytest

SOURCE = os.environ["VZGEN_SOURCE"]
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))

from time_granules import make_time_granules

SHAPE = (1, 40, 50)
CHUNKS = (1, 20, 25)  # 2,000-byte chunks: references, not inline data


def values(i, name):
    rng = np.random.default_rng(i * 7 + len(name))
    return rng.standard_normal(SHAPE).astype("f4")


@pytest.fixture(scope="session")
def granules(tmp_path_factory):
    d = tmp_path_factory.mktemp("granules")
    return make_time_granules(str(d), 4, SHAPE, CHUNKS, ["sst", "ice"], values)


def run(cmd, ok=True):
    r = subprocess.run([str(c) for c in cmd], check=False, capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise AssertionError(f"{cmd} exited {r.returncode}: {r.stderr}")
    return r


@pytest.fixture(scope="session")
def native():
    return os.environ["VZGEN_NATIVE"]


@pytest.fixture(scope="session")
def console():
    return os.environ["VZGEN_CONSOLE"]
