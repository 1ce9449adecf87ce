#!/usr/bin/python3
"""Writes the codec test vectors: stored chunk bytes (NAME.stored), the decoded chunk that
HDF5 (through h5py) or an independent Python codec gives (NAME.expected), and vectors.json with
each vector's filter pipeline, filter mask, dtype and chunk shape.

Usage: /usr/bin/python3 make_vectors.py [CORPUS_DIR]
CORPUS_DIR defaults to ../shared/corpus next to the repository root. Chunks are taken from
real files in the corpus where they exist, and from files written here with h5py otherwise.
"""
import bz2
import json
import os
import struct
import sys
import tempfile
import zlib

import h5py
import numcodecs
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CORPUS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "corpus")
vectors = []


def dtype_json(dt):
    dt = np.dtype(dt)
    order = dt.byteorder
    if order == "=":
        order = "<" if sys.byteorder == "little" else ">"
    out = {"kind": dt.kind, "size": dt.itemsize, "order": order}
    if dt.fields:
        out["fields"] = [dict(dtype_json(ft), name=n, offset=off)
                         for n, (ft, off) in dt.fields.items()]
    return out


def pipeline_of(dset, path):
    pl = dset.id.get_create_plist()
    out = []
    for i in range(pl.get_nfilters()):
        fid, flags, cd, name = pl.get_filter(i)
        if len(cd) > 16:
            # h5py copies at most 16 client data values (the rest is unrelated memory): take the
            # full list from the filter pipeline message in the file, found by its first 16.
            with open(path, "rb") as fh:
                raw = fh.read()
            at = raw.find(struct.pack("<16I", *cd[:16]))
            assert at >= 0 and raw.find(struct.pack("<16I", *cd[:16]), at + 1) < 0, path
            cd = struct.unpack_from("<%dI" % len(cd), raw, at)
        out.append({"id": fid, "flags": flags, "client_data": list(cd),
                    "name": name.decode("latin-1")})
    return out


def add(name, source, pipeline, mask, dtype, chunk_shape, stored, expected):
    assert len(stored) < 50_000 and len(expected) < 50_000, name
    with open(os.path.join(HERE, name + ".stored"), "wb") as f:
        f.write(stored)
    with open(os.path.join(HERE, name + ".expected"), "wb") as f:
        f.write(expected)
    vectors.append({"name": name, "source": source, "pipeline": pipeline, "filter_mask": mask,
                    "dtype": dtype_json(dtype), "chunk_shape": list(chunk_shape)})


def chunk_vector(name, path, source, dset_name, index=0, decoder=None):
    """One chunk of a dataset; expected bytes from h5py, or from `decoder(stored)`."""
    with h5py.File(path, "r") as f:
        d = f[dset_name]
        info = d.id.get_chunk_info(index)
        mask, stored = d.id.read_direct_chunk(info.chunk_offset)
        if decoder is None:
            sel = tuple(slice(o, o + c) for o, c in zip(info.chunk_offset, d.chunks))
            part = d[sel]
            assert part.shape == d.chunks, f"{name}: pick a full chunk"
            expected = part.tobytes()
        else:
            expected = decoder(stored)
        add(name, source, pipeline_of(d, path), mask, d.dtype, d.chunks, stored, expected)


def main():
    def corpus(rel):
        return os.path.join(CORPUS, rel)


    # --- chunks from real files ---------------------------------------------------------------
    H5EX = "HDFGroup+hdf5-json/data/hdf5/"
    PLUG = "HDFGroup+hdf5_plugins/config/cmake/binex/example/testfiles/"
    JHDF = "jamesmudd+jhdf/jhdf/src/test/resources/hdf5/"
    BES = "OPENDAP+bes/modules/dmrpp_module/data/dmrpp/"
    real = [
        ("fletcher32_h5ex", H5EX + "h5ex_d_checksum.h5", "DS1", 5, None),
        ("fletcher32_int8_odd", JHDF + "fletcher32_datasets_latest.hdf5", "int/int8", 0, None),
        ("fletcher32_float64", JHDF + "fletcher32_datasets_latest.hdf5", "float/float64", 0, None),
        ("nbit_h5ex_i32_p16_o5", H5EX + "h5ex_d_nbit.h5", "DS1", 3, None),
        ("scaleoffset_h5ex_f64", H5EX + "h5ex_d_sofloat.h5", "DS1", 7, None),
        ("scaleoffset_h5ex_i32", H5EX + "h5ex_d_soint.h5", "DS1", 9, None),
        ("scaleoffset_jhdf_i8", JHDF + "test_scale_offset_datasets_earliest.hdf5", "int/int8_3", 0,
         None),
        ("scaleoffset_jhdf_i16", JHDF + "test_scale_offset_datasets_earliest.hdf5", "int/int16", 4,
         None),
        ("scaleoffset_jhdf_i32", JHDF + "test_scale_offset_datasets_earliest.hdf5",
         "int_simple/int32_3", 2, None),
        ("szip_h5ex_i32", H5EX + "h5ex_d_szip.h5", "DS1", 10, None),
        ("szip_netcdf_i32", "Unidata+netcdf-c/nc_test4/ref_szip.h5", "dset_szip", 3, None),
        ("shuffle_deflate_f32", BES + "chunked_shufzip_twoD.h5", "d_4_shufzip_chunks", 1, None),
        ("fletcher_shuffle_deflate_i8", BES + "FletcherShuffle.nc4", "Y", 0, None),
        # Plugin filters h5py cannot run here: decoded by independent Python codecs.
        ("bzip2_h5ex_i32", PLUG + "h5ex_d_bzip2.h5", "DS1", 2, bz2.decompress),
        ("bzip2_netcdf_f32", "Unidata+netcdf-c/examples/C/hdf5plugins/bzip2.nc", "var", 0,
         bz2.decompress),
        ("blosc_h5ex_i32", PLUG + "h5ex_d_blosc.h5", "DS1", 1, numcodecs.blosc.decompress),
        ("blosc_lz4_bitshuffle_i64", "fsspec+kerchunk/tests/hdf5_compression_blosc_lz4_bitshuffle.h5",
         "data", 0, numcodecs.blosc.decompress),
        ("zstd_kerchunk_i32", "fsspec+kerchunk/tests/hdf5_mali_chunk.h5", "data", 0,
         numcodecs.Zstd().decode),
        # The edge chunk of this file was stored with the zstd filter skipped (filter mask 1).
        ("zstd_kerchunk_masked", "fsspec+kerchunk/tests/hdf5_mali_chunk.h5", "data", 1,
         lambda s: s),
    ]
    for name, rel, dset, index, decoder in real:
        chunk_vector(name, corpus(rel), "corpus/" + rel, dset, index,
                     None if decoder is None else (lambda s, dec=decoder: bytes(dec(s))))

    # --- chunks from the shared test fixtures (tests/data/fixtures/make_fixtures.py) -------------
    FIX = os.path.join(REPO, "tests", "data", "fixtures")
    fixtures = [
        ("fixture_szip_skipped_f32", "filters_szip.h5", "szip_ec", 3),  # szip gave up: mask 1
        ("fixture_szip_nn_i32", "filters_szip.h5", "szip_nn", 1),
        ("fixture_nbit_i32_p12", "filters_nbit.h5", "nbit", 2),
        ("fixture_scaleoffset_f32", "filters_scaleoffset.h5", "so_float", 1),
        ("fixture_scaleoffset_i32", "filters_scaleoffset.h5", "so_int", 3),
        ("fixture_shuffle_deflate_fletcher_f32", "filters_basic.h5", "fletcher32_shuffle_gzip", 5),
        ("fixture_deflate_be_i32", "filters_basic.h5", "gzip_be", 4),
        ("fixture_shuffle_be_f64", "filters_basic.h5", "shuffle_only", 1),
        ("fixture_masked_i32", "filter_mask.h5", "masked", 1),
        ("fixture_masked_shuffle_i16", "filter_mask.h5", "masked_shuffle", 1),
    ]
    for name, fname, dset, index in fixtures:
        path = os.path.join(FIX, fname)
        if os.path.exists(path):
            chunk_vector(name, path, "tests/data/fixtures/" + fname, dset, index)

    # --- chunks from files written here with h5py ----------------------------------------------
    tmp = tempfile.mkdtemp()
    gen = os.path.join(tmp, "gen.h5")
    rng = np.random.default_rng(7)
    with h5py.File(gen, "w") as f:
        f.create_dataset("so_f32", data=(rng.standard_normal((16, 12)) * 100).astype("<f4"),
                         chunks=(8, 12), scaleoffset=3)
        f.create_dataset("so_u16_be", data=rng.integers(1000, 1400, (40,)).astype(">u2"),
                         chunks=(20,), scaleoffset=0)
        f.create_dataset("so_i32_full", data=rng.integers(-2**31, 2**31 - 1, (30,)).astype("<i4"),
                         chunks=(30,), scaleoffset=0)
        f.create_dataset("szip_nn_i16_be", data=(np.arange(240).reshape(6, 40) * 3 - 300).astype(">i2"),
                         chunks=(6, 40), compression="szip", compression_opts=("nn", 16))
        f.create_dataset("szip_ec_f64", data=(np.arange(64) * 0.5).astype("<f8"), chunks=(64,),
                         compression="szip", compression_opts=("ec", 8))
        # 10 pixels per scanline with 8-pixel blocks: libaec pads every scanline to 16 pixels.
        f.create_dataset("szip_pad_u8", data=(np.arange(90).reshape(9, 10) // 4).astype("u1"),
                         chunks=(9, 10), compression="szip", compression_opts=("nn", 8))
        # 25 pixels per scanline, 16-pixel blocks and 32-bit pixels: padding and byte planes.
        f.create_dataset("szip_pad_planes_f32",
                         data=(np.arange(500).reshape(20, 25) * 0.25).astype("<f4"), chunks=(20, 25),
                         compression="szip", compression_opts=("ec", 16))
        f.create_dataset("shuffle_i16", data=rng.integers(0, 3000, (50,)).astype("<i2"),
                         chunks=(50,), shuffle=True)

        # N-bit through the low-level API: reduced-precision types.
        def nbit_dataset(name, tid, data, chunks):
            space = h5py.h5s.create_simple(data.shape)
            plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            plist.set_chunk(chunks)
            plist.set_filter(h5py.h5z.FILTER_NBIT, h5py.h5z.FLAG_OPTIONAL)
            dsid = h5py.h5d.create(f.id, name.encode(), tid, space, plist)
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)

        t = h5py.h5t.STD_U16BE.copy()
        t.set_precision(10)
        t.set_offset(3)
        nbit_dataset("nbit_u16_be", t, rng.integers(0, 1024, (33,)).astype(">u2"), (33,))
        t = h5py.h5t.STD_I32LE.copy()
        t.set_precision(13)
        t.set_offset(0)
        nbit_dataset("nbit_i32_neg", t, rng.integers(-4096, 4096, (25,)).astype("<i4"), (25,))
        # A compound of a 12-bit integer and a full double (a no-op member for the filter).
        ti = h5py.h5t.STD_I16LE.copy()
        ti.set_precision(12)
        ti.set_offset(2)
        tc = h5py.h5t.create(h5py.h5t.COMPOUND, 10)
        tc.insert(b"a", 0, ti)
        tc.insert(b"b", 2, h5py.h5t.IEEE_F64LE)
        cdt = np.dtype([("a", "<i2"), ("b", "<f8")])
        cdata = np.zeros((7,), cdt)
        cdata["a"] = rng.integers(-2048, 2048, 7)
        cdata["b"] = rng.standard_normal(7)
        nbit_dataset("nbit_compound", tc, cdata, (7,))

    for name in ["so_f32", "so_u16_be", "so_i32_full", "szip_nn_i16_be", "szip_ec_f64",
                 "szip_pad_u8", "szip_pad_planes_f32", "shuffle_i16", "nbit_u16_be", "nbit_i32_neg", "nbit_compound"]:
        chunk_vector("gen_" + name, gen, "generated by make_vectors.py", name)
        assert vectors[-1]["filter_mask"] == 0, name + ": the filter gave up; use smoother data"

    # --- codecs no HDF5 library here runs: framing built by hand -------------------------------
    raw = np.arange(3000, dtype="<i4") // 7
    rawb = raw.tobytes()


    def hdf5_lz4(data, block):
        out = struct.pack(">QI", len(data), block)
        for i in range(0, len(data), block):
            piece = data[i:i + block]
            comp = numcodecs.lz4.compress(piece)[4:]  # numcodecs prefixes a u32le size
            if len(comp) >= len(piece):
                comp = piece  # the plugin stores a block raw when compression does not help
            out += struct.pack(">I", len(comp)) + comp
        return out


    lz4_pipeline = [{"id": 32004, "flags": 1, "client_data": [0], "name": "lz4"}]
    # Two compressible blocks and a short last block of random (incompressible) bytes.
    mixed = rawb[:8000] + rng.integers(0, 256, 4000, dtype="u1").tobytes()
    add("lz4_hdf5_framing", "hand-built HDF5 lz4 framing", lz4_pipeline, 0, "<i4", [3000],
        hdf5_lz4(mixed, 4096), mixed)
    add("zstd_numcodecs", "numcodecs Zstd", [{"id": 32015, "flags": 1, "client_data": [5],
                                              "name": "zstd"}], 0, "<i4", [3000],
        numcodecs.Zstd(5).encode(rawb), rawb)
    add("deflate_skipped_by_mask", "zlib, filter 0 (shuffle) marked skipped in the mask",
        [{"id": 2, "flags": 1, "client_data": [4], "name": "shuffle"},
         {"id": 1, "flags": 1, "client_data": [4], "name": "deflate"}], 1, "<i4", [3000],
        zlib.compress(rawb, 4), rawb)

    with open(os.path.join(HERE, "vectors.json"), "w") as f:
        json.dump(vectors, f, indent=1)
    print(len(vectors), "vectors")


if __name__ == "__main__":
    main()
