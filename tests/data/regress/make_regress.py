#!/usr/bin/python3
"""Writes the damaged files of tests/data/regress/ from the fixtures (deterministic). Each file
has a line in expectations.tsv: the error code vzgen must give and words its message must hold
(unit.app's Regress test checks them). Files that once crashed or hung vzgen are added here,
by hand or by this script, and never removed.

  tests/data/regress/make_regress.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures")


def cut(name, n, out):
    data = open(os.path.join(FIX, name), "rb").read()
    with open(os.path.join(HERE, out), "wb") as f:
        f.write(data[:n] if n >= 0 else data[:len(data) + n])


def flip(name, offset, out, mask=0xFF):
    data = bytearray(open(os.path.join(FIX, name), "rb").read())
    data[offset] ^= mask
    with open(os.path.join(HERE, out), "wb") as f:
        f.write(bytes(data))


def main():
    cut("sb0_default.h5", 6, "hdf5-cut-in-signature.h5")
    cut("sb0_default.h5", 40, "hdf5-cut-in-superblock-v0.h5")
    cut("sb3_latest.h5", 30, "hdf5-cut-in-superblock-v3.h5")
    cut("sb3_latest.h5", 200, "hdf5-cut-in-root-header.h5")
    cut("filters_basic.h5", -(64380 // 4), "hdf5-chunks-past-end.h5")
    flip("sb3_latest.h5", 20, "hdf5-superblock-v3-checksum.h5", 0x01)
    cut("nc3_classic.nc", 20, "nc3-cut-in-header.nc")
    cut("nc3_classic.nc", -16, "nc3-data-past-end.nc")
    cut("nc3_cdf5.nc", -16, "cdf5-data-past-end.nc")
    with open(os.path.join(HERE, "hdf4-signature.hdf"), "wb") as f:
        f.write(b"\x0e\x03\x13\x01" + b"\x00\xc8" + bytes(250))
    with open(os.path.join(HERE, "empty.nc"), "wb"):
        pass


if __name__ == "__main__":
    main()
