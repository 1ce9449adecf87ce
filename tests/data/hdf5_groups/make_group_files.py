#!/usr/bin/python3
"""Generates the small HDF5 files the vz_hdf5 group/heap tests read, and expected.json with
what h5py reports about them. Run with the system python (h5py 3.x):
    /usr/bin/python3 make_group_files.py
"""
import json
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def links_of(group):
    out = {}
    for name in group:
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.SoftLink):
            out[name] = {"type": "soft", "target": link.path}
        elif isinstance(link, h5py.ExternalLink):
            out[name] = {"type": "external", "file": link.filename, "path": link.path}
        else:
            out[name] = {"type": "hard", "addr": h5py.h5o.get_info(group.id, name.encode()).addr}
    return out


expected = {}

# Old-style group with enough members for a multi-level v1 B-tree (K=16 internal, 4 leaf):
# 600 members need ~75+ symbol nodes, more than one B-tree node holds.
with h5py.File(path("old_style.h5"), "w") as f:
    f.create_dataset("data", data=np.arange(4, dtype="i4"))
    big = f.create_group("big")
    for i in range(600):  # hard links to one dataset keep the file small; every 10th is soft
        big[f"m{i:04d}"] = h5py.SoftLink(f"/target/{i}") if i % 10 == 0 else f["data"]
    f["soft"] = h5py.SoftLink("/big/m0001")
    f["ext"] = h5py.ExternalLink("other.h5", "/some/path")
with h5py.File(path("old_style.h5"), "r") as f:
    expected["old_style.h5"] = {"root": links_of(f), "big_count": len(f["big"]),
                                "big_soft_count": sum(isinstance(f["big"].get(n, getlink=True),
                                                                 h5py.SoftLink) for n in f["big"])}

# New-style groups: compact (link messages), dense (fractal heap + v2 B-tree), with creation
# order tracked, and a dataset with dense attributes including a huge one.
with h5py.File(path("new_style.h5"), "w", libver="latest") as f:
    compact = f.create_group("compact")
    compact.create_group("a")
    compact["s"] = h5py.SoftLink("/compact/a")
    compact["e"] = h5py.ExternalLink("ext.h5", "/x/y")
    dense = f.create_group("dense")
    for i in range(40):
        dense.create_group(f"g{i:02d}")
    dense["soft_link"] = h5py.SoftLink("/dense/g00")
    dense["ext_link"] = h5py.ExternalLink("far_away_file.h5", "/deep/object/path")
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    gid = h5py.h5g.create(f.id, b"ordered", gcpl=gcpl)
    ordered = h5py.Group(gid)
    for name in ["zeta", "alpha", "mid", "beta", "omega", "gamma", "delta", "eps", "eta", "iota"]:
        ordered.create_group(name)
    ds = f.create_dataset("attrs", data=np.arange(3, dtype="f8"))
    for i in range(20):
        ds.attrs[f"attr{i:02d}"] = np.int32(i * 7)
    ds.attrs["long_attr"] = np.arange(20000, dtype="i4")  # 80000 bytes: a huge heap object
    ds.attrs["text"] = "hello dense attributes"
with h5py.File(path("new_style.h5"), "r") as f:
    e = {}
    for g in ["compact", "dense", "ordered"]:
        e[g] = links_of(f[g])
    e["ordered_creation"] = list(f["ordered"].keys())  # h5py lists by creation order when indexed
    e["attrs"] = sorted(f["attrs"].attrs.keys())
    e["attrs_addr"] = h5py.h5o.get_info(f["attrs"].id).addr
    expected["new_style.h5"] = e

with open(path("expected.json"), "w") as fh:
    json.dump(expected, fh, indent=1, sort_keys=True)
