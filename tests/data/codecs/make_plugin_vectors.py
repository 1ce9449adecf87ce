#!/usr/bin/env python3
"""Adds the codec vectors of filters only HDF5 plugins write (bitshuffle, 32008) and of h5py's
lzf (32000) to vectors.json: chunks of tests/data/fixtures/filters_bitshuffle.h5 and
filters_lzf.h5, decoded by HDF5 through h5py (+ hdf5plugin).

Usage: build/venv/current/bin/python make_plugin_vectors.py
Run after make_vectors.py (which rewrites vectors.json without these); entries named
bitshuffle_* and lzf_* are replaced, every other one is kept as it is.
"""
import json
import os

import hdf5plugin  # noqa: F401 - registers the bitshuffle filter with HDF5
from make_vectors import HERE, chunk_vector, vectors

FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures"))
PREFIXES = ("bitshuffle_", "lzf_")


def main():
    path = os.path.join(HERE, "vectors.json")
    with open(path) as f:
        kept = [v for v in json.load(f) if not v["name"].startswith(PREFIXES)]
    bs = os.path.join(FIXTURES, "filters_bitshuffle.h5")
    for name, dset, index in (("bitshuffle_plain_i4", "plain_i4", 0),
                              ("bitshuffle_lz4_f8", "lz4_f8", 1),
                              ("bitshuffle_lz4_blocks_u2be", "lz4_blocks_u2be", 2),
                              ("bitshuffle_zstd_i4", "zstd_i4_edge", 1),
                              ("bitshuffle_plain_u1_blocks", "plain_u1_edge", 0)):
        chunk_vector(name, bs, "tests/data/fixtures/filters_bitshuffle.h5 " + dset, dset, index)
    lzf = os.path.join(FIXTURES, "filters_lzf.h5")
    chunk_vector("lzf_h5py_i4", lzf, "tests/data/fixtures/filters_lzf.h5 lzf_compressed",
                 "lzf_compressed", 0)
    chunk_vector("lzf_shuffle_i2be", lzf, "tests/data/fixtures/filters_lzf.h5 shuffle_lzf",
                 "shuffle_lzf", 1)
    with open(path, "w") as f:
        json.dump(kept + vectors, f, indent=1)
    print(len(vectors), "plugin vectors added;", len(kept) + len(vectors), "in all")


if __name__ == "__main__":
    main()
