#!/usr/bin/python3
"""Writes the byte-flip sample of the fuzz corpora: copies of small fixtures with a few bytes
changed, so that the corpus replay in ctest (fuzz_replay.*) runs the parsers over damaged files
the way the byte-flip experiment did (none of its files crashed or hung vzgen; these keep it so).

  fuzz/make_flips.py   (rewrites fuzz/corpus/{hdf5,netcdf3}/flip-*; deterministic)
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "data", "fixtures")
PLAN = {
    "hdf5": ["sb0_default.h5", "sb2_v108.h5", "sb3_latest.h5", "dtypes_vlen.h5",
             "dtypes_compound.h5", "fillvalues_latest.h5", "links_latest.h5",
             "filter_mask_latest.h5", "nc4_vlen_string.nc", "shapes.h5"],
    "netcdf3": ["nc3_classic.nc", "nc3_64bit_offset.nc", "nc3_cdf5.nc"],
}
PER_FILE = {"hdf5": 3, "netcdf3": 4}


def main():
    rnd = random.Random(20261204)
    for corpus, names in PLAN.items():
        out_dir = os.path.join(HERE, "corpus", corpus)
        for old in os.listdir(out_dir):
            if old.startswith("flip-"):
                os.remove(os.path.join(out_dir, old))
        for name in names:
            data = open(os.path.join(FIXTURES, name), "rb").read()
            for k in range(PER_FILE[corpus]):
                b = bytearray(data)
                # Metadata sits mostly in the first 4 KiB: flip there most of the time.
                for _ in range(rnd.randint(1, 8)):
                    span = min(len(b), 4096) if rnd.random() < 0.8 else len(b)
                    b[rnd.randrange(span)] ^= 1 << rnd.randrange(8)
                stem = name.rsplit(".", 1)[0]
                with open(os.path.join(out_dir, f"flip-{stem}-{k}"), "wb") as f:
                    f.write(bytes(b))


if __name__ == "__main__":
    main()
