#!/usr/bin/python3
"""Makes the small HDF5 files the chunk-index / v2 B-tree unit tests read, and one <file>.json each.

Run with the Debian python (h5py 3.7 on HDF5 1.10):  /usr/bin/python3 make_index_files.py
For every dataset, The json records where its Data Layout message sits in the file (found
by walking the object header here, so the C++ tests need no object-header reader), its
dataspace, and the ground truth for every allocated chunk from H5Dget_chunk_info. For the
dense-storage groups it records the address of the name-index v2 B-tree and the names.
"""
import json
import os
import struct

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
O = 8  # size of offsets in every file made here
L = 8


def ohdr_messages(buf, addr):
    """Yields (type, body_offset, body_size) of every message of the object header at addr."""
    if buf[addr:addr + 4] == b"OHDR":
        flags = buf[addr + 5]
        p = addr + 6
        if flags & 0x20:
            p += 16
        if flags & 0x10:
            p += 4
        width = 1 << (flags & 3)
        size = int.from_bytes(buf[p:p + width], "little")
        p += width
        chunks = [(p, p + size)]
        while chunks:
            start, end = chunks.pop(0)
            q = start
            while q + 4 <= end:
                mtype = buf[q]
                msize = int.from_bytes(buf[q + 1:q + 3], "little")
                mflags = buf[q + 3]
                q += 4
                if flags & 0x04:
                    q += 2
                yield mtype, q, msize
                if mtype == 0x10:
                    caddr, clen = struct.unpack_from("<QQ", buf, q)
                    assert buf[caddr:caddr + 4] == b"OCHK"
                    chunks.append((caddr + 4, caddr + clen - 4))
                q += msize
    else:
        assert buf[addr] == 1, "object header version"
        nmsgs = int.from_bytes(buf[addr + 2:addr + 4], "little")
        size = int.from_bytes(buf[addr + 8:addr + 12], "little")
        chunks = [(addr + 16, addr + 16 + size)]
        seen = 0
        while chunks and seen < nmsgs:
            start, end = chunks.pop(0)
            q = start
            while q + 8 <= end and seen < nmsgs:
                mtype, msize = struct.unpack_from("<HH", buf, q)
                q += 8
                seen += 1
                yield mtype, q, msize
                if mtype == 0x10:
                    caddr, clen = struct.unpack_from("<QQ", buf, q)
                    chunks.append((caddr, caddr + clen))
                q += msize


def find_message(buf, addr, wanted):
    for mtype, off, size in ohdr_messages(buf, addr):
        if mtype == wanted:
            return off, size
    raise KeyError(wanted)


VALUE_ADDRESSED = {"ea_2d", "ea_grow"}


def describe(f, buf, name):
    ds = f[name]
    dsid = ds.id
    addr = h5py.h5o.get_info(dsid).addr
    off, size = find_message(buf, addr, 0x08)
    space = dsid.get_space()
    dims = list(space.shape)
    maxdims = [-1 if m is None else m for m in (ds.maxshape or ())]
    chunks = []
    if ds.chunks is not None:
        for i in range(dsid.get_num_chunks()):
            info = dsid.get_chunk_info(i)
            if info.byte_offset is None:
                continue
            # [offset..., address, size, filter mask], compact to keep the file small.
            chunks.append(list(info.chunk_offset) + [info.byte_offset, info.size,
                                                     info.filter_mask])
    if name in VALUE_ADDRESSED:
        # HDF5 1.10's H5Dget_chunk_info reports wrong offsets for extensible arrays whose
        # unlimited axis is not the first (it does not undo the axis swap of the index). These
        # datasets hold arange values, so the chunk's first value says where it really starts.
        ncols = dims[1]
        for c in chunks:
            first = int(np.frombuffer(buf[c[2]:c[2] + 8], ds.dtype)[0])
            c[0], c[1] = first // ncols, first % ncols
    chunks.sort()
    return {"name": name, "layout_offset": off, "layout_size": size, "dims": dims,
            "maxdims": maxdims, "filtered": bool(ds.compression or ds.shuffle or ds.fletcher32),
            "chunk_shape": list(ds.chunks) if ds.chunks else None,
            "element_size": ds.dtype.itemsize, "chunks": chunks}


def low_level_dataset(f, name, shape, chunk, maxshape=None, early=False, compact=False,
                      data=None, dtype=h5py.h5t.NATIVE_INT32):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    if compact:
        dcpl.set_layout(h5py.h5d.COMPACT)
    elif chunk is not None:
        dcpl.set_chunk(chunk)
    if early:
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    space = h5py.h5s.create_simple(shape, maxshape or shape)
    dsid = h5py.h5d.create(f.id, name.encode(), dtype, space, dcpl=dcpl)
    if data is not None:
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def set_dont_filter_partial_chunks(dcpl):
    """H5Pset_chunk_opts(H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS), which h5py does not wrap."""
    import ctypes
    import ctypes.util
    # The same shared library h5py is linked to (dlopen returns the loaded instance).
    lib = ctypes.CDLL(ctypes.util.find_library("hdf5_serial") or ctypes.util.find_library("hdf5"))
    lib.H5Pset_chunk_opts.argtypes = [ctypes.c_int64, ctypes.c_uint]
    assert lib.H5Pset_chunk_opts(dcpl.id, 2) >= 0


def make_latest(path):
    with h5py.File(path, "w", libver="latest") as f:
        a = np.arange(20 * 30, dtype="<i4").reshape(20, 30)
        # Fixed array, unfiltered and filtered (edge chunks partial), one chunk left unwritten.
        d = f.create_dataset("fa", shape=(20, 30), chunks=(4, 7), dtype="<i4")
        d[:16, :] = a[:16, :]
        f.create_dataset("fa_deflate", data=a, chunks=(4, 7), compression="gzip")
        # Fixed array with max dims larger than dims (indexes over the max chunk grid).
        d = f.create_dataset("fa_grow", shape=(5, 6), maxshape=(9, 12), chunks=(2, 4), dtype="<i2")
        d[...] = np.arange(30).reshape(5, 6)
        # Paged fixed arrays: 1100 chunks > 1024 elements per page.
        page_data = (np.arange(1100) % 256).astype("u1").reshape(44, 25)
        f.create_dataset("fa_paged", data=page_data, chunks=(1, 1))
        f.create_dataset("fa_paged_deflate", data=page_data, chunks=(1, 1), compression="gzip",
                         compression_opts=1)
        # Extensible arrays: one unlimited dim. 600 chunks need super blocks 4 and 5.
        d = f.create_dataset("ea", shape=(600,), maxshape=(None,), chunks=(1,), dtype="u1")
        d[...] = np.arange(600) % 251
        d = f.create_dataset("ea_sparse", shape=(0,), maxshape=(None,), chunks=(10,), dtype="<f4")
        d.resize((700,))
        d[0:10] = 1
        d[300:320] = 2
        d[690:700] = 3
        # Unlimited dim not the first: the linear index puts it slowest.
        d = f.create_dataset("ea_2d", shape=(6, 50), maxshape=(6, None), chunks=(4, 3),
                             dtype="<i8")
        d[...] = np.arange(300).reshape(6, 50)
        d = f.create_dataset("ea_grow", shape=(5, 20), maxshape=(9, None), chunks=(2, 3),
                             dtype="<i4")
        d[...] = np.arange(100).reshape(5, 20)
        f.create_dataset("ea_deflate", data=np.arange(400, dtype="<i4"), maxshape=(None,),
                         chunks=(7,), compression="gzip", shuffle=True)
        # v2 B-tree: two unlimited dims.
        d = f.create_dataset("bt2", shape=(30, 40), maxshape=(None, None), chunks=(3, 4),
                             dtype="<i4")
        d[...] = np.arange(1200).reshape(30, 40)
        d = f.create_dataset("bt2_deflate", shape=(30, 40), maxshape=(None, None), chunks=(3, 4),
                             dtype="<i4", compression="gzip")
        d[:, :20] = np.arange(600).reshape(30, 20)
        # Single chunk, plain and filtered.
        f.create_dataset("single", data=a, chunks=(20, 30))
        f.create_dataset("single_deflate", data=a, chunks=(20, 30), compression="gzip")
        # Implicit index: early allocation, no filters.
        low_level_dataset(f, "implicit", (10, 12), (4, 5), early=True, data=a[:10, :12].copy())
        low_level_dataset(f, "implicit_grow", (5, 5), (2, 2), maxshape=(8, 8), early=True,
                          data=np.zeros((5, 5), "<i4"))
        # Partial edge chunks stored without filters (layout flag bit 0).
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((4, 4))
        dcpl.set_deflate(6)
        set_dont_filter_partial_chunks(dcpl)
        dsid = h5py.h5d.create(f.id, b"fa_partial_raw", h5py.h5t.NATIVE_INT32,
                               h5py.h5s.create_simple((10, 10)), dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(100, dtype="<i4").reshape(10, 10))
        # Compact and contiguous (layout version 4 as well).
        low_level_dataset(f, "compact", (3, 4), None, compact=True,
                          data=np.arange(12, dtype="<i4").reshape(3, 4))
        f.create_dataset("contiguous", data=a)
        f.create_dataset("contiguous_empty", shape=(4,), dtype="<f8")


def make_v1btree(path):
    with h5py.File(path, "w") as f:  # default libver: layout version 3, v1 B-tree index
        a = np.arange(100 * 100, dtype="u1").reshape(100, 100)
        f.create_dataset("btree1", data=a, chunks=(5, 5))  # 400 chunks: a two-level tree
        d = f.create_dataset("btree1_deflate", shape=(30, 7, 11), chunks=(4, 3, 5), dtype="<f4",
                             compression="gzip", shuffle=True)
        d[:20] = 1.5
        f.create_dataset("contiguous", data=a[:4])
        low_level_dataset(f, "compact", (2, 3), None, compact=True,
                          data=np.arange(6, dtype="<i4").reshape(2, 3))


def make_dense(path):
    with h5py.File(path, "w", libver="latest") as f:
        g = f.create_group("many_attrs")
        for i in range(600):  # more than one level of internal nodes in the name index
            g.attrs[f"attribute_{i:04d}"] = np.int16(i)
        g = f.create_group("many_links")
        for i in range(200):
            g.create_group(f"link_{i:03d}")


def dense_info(f, buf, name, msg_type):
    addr = h5py.h5o.get_info(f[name].id).addr
    off, size = find_message(buf, addr, msg_type)
    version, flags = buf[off], buf[off + 1]
    p = off + 2
    if flags & 1:
        p += 2 if msg_type == 0x15 else 8
    heap, name_bt2 = struct.unpack_from("<QQ", buf, p)
    return heap, name_bt2


def dump(expected, fname):
    with open(os.path.join(HERE, fname), "w") as out:
        json.dump(expected, out, separators=(",", ":"))
        out.write("\n")


def main():
    for fname, maker in [("latest.h5", make_latest), ("v1btree.h5", make_v1btree)]:
        path = os.path.join(HERE, fname)
        maker(path)
        buf = open(path, "rb").read()
        with h5py.File(path, "r") as f:
            dump({name: describe(f, buf, name) for name in f}, fname.replace(".h5", ".json"))
    path = os.path.join(HERE, "dense.h5")
    make_dense(path)
    buf = open(path, "rb").read()
    with h5py.File(path, "r") as f:
        _, attr_bt2 = dense_info(f, buf, "many_attrs", 0x15)
        _, link_bt2 = dense_info(f, buf, "many_links", 0x02)
        dump({
            "attr_name_btree": attr_bt2,
            "attr_names": sorted(f["many_attrs"].attrs.keys()),
            "link_name_btree": link_bt2,
            "link_names": sorted(f["many_links"].keys()),
        }, "dense.json")


if __name__ == "__main__":
    main()
