"""The installed package against the native vzgen, h5py and the readers users run."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import vzgen
from conftest import run

HERE = os.path.dirname(os.path.abspath(__file__))


def truth(granules):
    """What xarray's concatenation of the originals holds, read with h5py."""
    out = {}
    for name in ("sst", "ice", "time", "x", "y"):
        parts = []
        for g in granules:
            with h5py.File(g) as f:
                parts.append(f[name][...])
        out[name] = np.concatenate(parts) if name in ("sst", "ice", "time") else parts[0]
    return out


def opened(python, store):
    r = subprocess.run([python, os.path.join(HERE, "open_store.py"), str(store)],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def assert_same_values(got, want):
    for name, v in want.items():
        np.testing.assert_array_equal(np.asarray(got["arrays"][name]), v.astype("f8").ravel(),
                                      err_msg=f"{name} under zarr {got['zarr']}")


def test_not_imported_from_the_source_tree():
    assert not vzgen.__file__.startswith(os.path.join(os.environ["VZGEN_SOURCE"], "python"))
    assert "site-packages" in vzgen.__file__


def test_build_equals_the_cli(granules, native, console, tmp_path):
    store = vzgen.build(granules, loadable_vars=["x", "y"])
    store.to_kerchunk(str(tmp_path / "py.json"))
    run([native, "build", *granules, "--loadable-vars", "x,y", "-q", "-o", tmp_path / "cli.json"])
    run([console, "build", *granules, "--loadable-vars", "x,y", "-q", "-o", tmp_path / "c.json"])
    py = (tmp_path / "py.json").read_bytes()
    assert py == (tmp_path / "cli.json").read_bytes()
    assert py == (tmp_path / "c.json").read_bytes()


def test_columns_view_the_core_without_copies(granules):
    store = vzgen.build(granules)
    sst = store.array("sst")
    assert sst.offsets.dtype == np.uint64 and sst.path_ids.dtype == np.uint32
    assert sst.coords.shape == (len(granules) * 4, 3)
    assert not sst.offsets.flags.owndata and sst.offsets.base is not None
    assert not sst.offsets.flags.writeable
    assert store.checksums == [None] * len(store.urls)  # local files have no ETag
    assert [store.urls[i] for i in sst.path_ids[::4]] == [os.path.abspath(g) for g in granules]
    with h5py.File(granules[1]) as f:  # the first chunk of the second granule
        assert sst.offsets[4] == f["sst"].id.get_chunk_info(0).byte_offset


@pytest.mark.parametrize("writer", ["console", "python"])
def test_parquet_opens_like_the_originals(granules, console, tmp_path, writer):
    target = tmp_path / "s.parq"
    if writer == "console":
        run([console, "build", *granules, "--format", "parquet", "-q", "-o", target])
    else:
        vzgen.build(granules).to_kerchunk(str(target), format="parquet")
    meta = json.loads((target / ".zmetadata").read_text())
    assert meta["record_size"] > 0 and "sst/.zarray" in meta["metadata"]
    assert sorted(os.listdir(target / "sst")) == ["refs.0.parq"]
    want = truth(granules)
    assert_same_values(opened(sys.executable, target), want)
    assert_same_values(opened(os.environ["VZGEN_FLOOR_PYTHON"], target), want)


def test_parquet_record_files_split_in_chunk_order(granules, tmp_path):
    from vzgen.parquet import read_parquet, write_parquet

    store = vzgen.build(granules)
    write_parquet(store, str(tmp_path / "s.parq"), record_size=3)
    assert len(os.listdir(tmp_path / "s.parq" / "sst")) == 6  # 16 chunks, 3 a file
    assert len(read_parquet(str(tmp_path / "s.parq")).array("sst").offsets) == 16
    back = vzgen.read(str(tmp_path / "s.parq"))  # loaded variables held in memory again
    for a, b in zip(store.arrays, back.arrays):
        assert a.name == b.name and a.raw == b.raw and a.zarray == b.zarray
        np.testing.assert_array_equal(a.offsets, b.offsets)
        if len(a.offsets):  # arrays held in memory have no entries
            np.testing.assert_array_equal(a.coords, b.coords)
        assert [store.urls[i] for i in a.path_ids] == [back.urls[i] for i in b.path_ids]
    assert_same_values(opened(sys.executable, tmp_path / "s.parq"), truth(granules))


def test_append_to_parquet_equals_a_build(granules, console, tmp_path):
    target = tmp_path / "s.parq"
    run([console, "build", *granules[:2], "--format", "parquet", "-q", "-o", target])
    run([console, "append", target, *granules[2:], "-q"])
    assert_same_values(opened(sys.executable, target), truth(granules))
    run([console, "convert", target, "--format", "json", "-o", tmp_path / "appended.json"])
    run([console, "build", *granules, "-q", "-o", tmp_path / "built.json"])
    appended = json.loads((tmp_path / "appended.json").read_text())
    built = json.loads((tmp_path / "built.json").read_text())
    assert appended["refs"] == built["refs"]
    assert appended["vzgen"]["granules"] == built["vzgen"]["granules"]


def test_convert_another_tools_json_to_parquet(granules, console, tmp_path):
    from kerchunk.combine import MultiZarrToZarr
    from kerchunk.hdf import SingleHdf5ToZarr

    singles = [SingleHdf5ToZarr(g, inline_threshold=0).translate() for g in granules]
    combined = MultiZarrToZarr(singles, concat_dims=["time"], identical_dims=["x", "y"]).translate()
    (tmp_path / "kerchunk.json").write_text(json.dumps(combined))
    run([console, "convert", tmp_path / "kerchunk.json", "--format", "parquet",
         "-o", tmp_path / "k.parq"])
    want = truth(granules)
    assert_same_values(opened(sys.executable, tmp_path / "k.parq"), want)
    assert_same_values(opened(os.environ["VZGEN_FLOOR_PYTHON"], tmp_path / "k.parq"), want)
    # and back: Parquet to JSON keeps every reference
    run([console, "convert", tmp_path / "k.parq", "--format", "json", "-o", tmp_path / "k.json"])
    assert_same_values(opened(sys.executable, tmp_path / "k.json"), want)


def test_kerchunks_parquet_reads_in_vzgen_and_virtualizarr(granules, tmp_path):
    from kerchunk.df import refs_to_dataframe

    vzgen.build(granules).to_kerchunk(str(tmp_path / "s.json"))
    refs_to_dataframe(json.loads((tmp_path / "s.json").read_text()), str(tmp_path / "k.parq"))
    back = vzgen.read(str(tmp_path / "k.parq"))
    ours = vzgen.read(str(tmp_path / "s.json"))
    for a in ours.arrays:
        b = back.array(a.name)
        np.testing.assert_array_equal(a.offsets, b.offsets)
        np.testing.assert_array_equal(a.lengths, b.lengths)
    # VirtualiZarr's Parquet parser over vzgen's Parquet (it reads no inline chunks: a granule
    # as kerchunk references it with inline_threshold=0, converted by vzgen)
    from kerchunk.hdf import SingleHdf5ToZarr
    from obstore.store import LocalStore
    from virtualizarr import open_virtual_dataset
    from virtualizarr.parsers import KerchunkParquetParser
    from virtualizarr.registry import ObjectStoreRegistry

    single = SingleHdf5ToZarr(granules[0], inline_threshold=0).translate()
    (tmp_path / "one.json").write_text(json.dumps(single))
    run([os.environ["VZGEN_CONSOLE"], "convert", tmp_path / "one.json", "--format", "parquet",
         "-o", tmp_path / "v.parq"])
    registry = ObjectStoreRegistry({"file://": LocalStore()})
    vds = open_virtual_dataset(f"file://{tmp_path}/v.parq", parser=KerchunkParquetParser(),
                               registry=registry)
    manifest = vds["sst"].data.manifest
    assert manifest.shape_chunk_grid == (1, 2, 2)
    want = sorted(v[1] for k, v in single["refs"].items() if k.startswith("sst/0."))
    assert sorted(manifest._offsets.ravel().tolist()) == want


def test_existing_output_of_another_format_is_refused(granules, console, tmp_path):
    run([console, "build", *granules, "-q", "-o", tmp_path / "s.json"])
    run([console, "build", *granules, "--format", "parquet", "-q", "-o", tmp_path / "s.parq"])
    r = run([console, "build", *granules, "--format", "parquet", "-o", tmp_path / "s.json"],
            ok=False)
    assert r.returncode == 1
    assert "s.json is a kerchunk JSON store, not a kerchunk Parquet store" in r.stderr
    r = run([console, "build", *granules, "-o", tmp_path / "s.parq"], ok=False)
    assert r.returncode == 1 and "is a kerchunk Parquet store, not a kerchunk JSON" in r.stderr
    r = run([console, "append", tmp_path / "s.parq", granules[0], "--format", "json"], ok=False)
    assert r.returncode == 1 and "append keeps a store's format" in r.stderr
    with pytest.raises(vzgen.Error, match="is a kerchunk Parquet store"):
        vzgen.read(str(tmp_path / "s.parq")).to_kerchunk(str(tmp_path / "s.parq"))


def test_native_vzgen_names_what_to_install(granules, native, tmp_path):
    for fmt in ("parquet", "icechunk"):
        r = run([native, "build", *granules, "--format", fmt, "-o", tmp_path / "x"], ok=False)
        assert r.returncode == 2
        assert r.stderr.strip().splitlines() == [
            (f"vzgen: error: the {fmt} format needs the Python package: pip install . in a "
             "vzgen checkout (its vzgen command writes every format); this vzgen writes json "
             "only")]
    assert not (tmp_path / "x").exists()


def test_missing_pyarrow_is_one_line(granules, tmp_path):
    code = ("import sys; sys.modules['pyarrow'] = None; import vzgen; "
            f"sys.exit(vzgen.main(['build', *{granules!r}, '--format', 'parquet', '-q', '-o', "
            f"{str(tmp_path / 'x.parq')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "vzgen: error: --format parquet needs the pyarrow package: pip install pyarrow"]
    assert not (tmp_path / "x.parq").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".x.parq")]


def test_bad_input_is_a_vzgen_error(tmp_path):
    (tmp_path / "bad.nc").write_bytes(b"not a granule at all")
    with pytest.raises(vzgen.Error, match="bad.nc"):
        vzgen.build([str(tmp_path / "bad.nc")])
    with pytest.raises(vzgen.Error, match="cannot open the store"):
        vzgen.read(str(tmp_path / "none.json"))
    with pytest.raises(TypeError, match="unknown build options: loadable"):
        vzgen.build([str(tmp_path / "bad.nc")], loadable=["x"])


def test_the_job_publishes_parquet_twins(console):
    """tests/e2e/job.py with the package's vzgen: the whole job against the loopback servers,
    and VZ_FORMAT=json,parquet publishing ..._virtual_s3.parq/ and ..._virtual_https.parq/."""
    job = os.path.join(os.environ["VZGEN_SOURCE"], "tests", "e2e", "job.py")
    r = subprocess.run([sys.executable, job, "--vzgen", console, "--package"], check=False,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-1000:]
    assert "PASS VZ_FORMAT=json,parquet: JSON and Parquet twins published" in r.stdout
