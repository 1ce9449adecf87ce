#!/usr/bin/python3
"""Records, for chunked datasets of a few corpus files (../shared/corpus relative to the repo),
where each Data Layout message is and a digest of H5Dget_chunk_info's answer, into corpus.json.

Run with /usr/bin/python3 from this directory. The digests (count, sums of addresses, sizes,
masks and of offsets) keep the file small while still pinning every chunk. HDF5 1.10 reports
wrong offsets for extensible arrays whose unlimited axis is not the first, so for those the
offset digest is left out ("offsets_trusted": false).
"""
import json
import os

import h5py

import make_index_files as m

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "..", "shared", "corpus")
FILES = [
    "jamesmudd+jhdf/jhdf/src/test/resources/hdf5/chunked_v4_datasets.hdf5",
    "jamesmudd+jhdf/jhdf/src/test/resources/hdf5/fixed_array_paged_datasets.hdf5",
    "jamesmudd+jhdf/jhdf/src/test/resources/hdf5/implicit_index_datasets.hdf5",
    "jamesmudd+jhdf/jhdf/src/test/resources/hdf5/test_odd_datasets_latest.hdf5",
    "NCAS-CMS+pyfive/tests/data/btreev2.hdf5",
    "NCAS-CMS+pyfive/tests/data/h5netcdf_test.hdf5",
]


def main():
    out = {}
    for rel in FILES:
        path = os.path.join(CORPUS, rel)
        buf = open(path, "rb").read()
        entries = {}
        with h5py.File(path, "r") as f:
            names = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            for name in names:
                ds = f[name]
                if ds.chunks is None:
                    continue
                d = m.describe(f, buf, name)
                rank = len(d["dims"])
                chunks = d.pop("chunks")
                unlimited = [i for i, v in enumerate(d["maxdims"]) if v == -1]
                d["offsets_trusted"] = not (len(unlimited) == 1 and unlimited[0] != 0)
                d["count"] = len(chunks)
                d["sum_address"] = sum(c[rank] for c in chunks)
                d["sum_size"] = sum(c[rank + 1] for c in chunks)
                d["sum_mask"] = sum(c[rank + 2] for c in chunks)
                d["sum_offsets"] = sum(sum((k + 1) * c[k] for k in range(rank)) for c in chunks)
                entries[name] = d
        out[rel] = entries
    with open(os.path.join(HERE, "corpus.json"), "w") as fp:
        json.dump(out, fp, separators=(",", ":"))
        fp.write("\n")


if __name__ == "__main__":
    main()
