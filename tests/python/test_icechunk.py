"""The Icechunk writer (vzgen.icechunk) judged by h5py / netCDF4-python and by xarray + icechunk.

Stores come from real `vzgen scan` / `vzgen build` runs (kerchunk_store.py loads them into the
Store shape the core hands over); the repositories are written and read by the icechunk library.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import xarray as xr
from conftest import FIXTURES, ROOT, run_vzgen
from kerchunk_store import load_store, new_part
from time_granules import make_time_granules

ic = pytest.importorskip("icechunk", reason="icechunk is not installed (pip install icechunk)")
import zarr
from vzgen.icechunk import (
    IcechunkConflictError,
    IcechunkError,
    begin_append,
    open_repository,
    read_icechunk_meta,
    write_icechunk,
)

# Fixtures whose arrays zarr v3 cannot hold the way xarray reads them (compound/opaque dtypes):
# the writer must refuse them with a line naming the array, checked in test_refuses_compound.
V3_REFUSED = {"dtypes_compound.h5", "dtypes_compound_padded.h5", "dtypes_vlen.h5",
              "vlen_bigendian.h5"}


def _truth(path: str, name: str) -> np.ndarray | None:
    """The original's values of `name` (raw: no masking or scaling), or None if it has none.
    netCDF files are read by netCDF4-python (netCDF's shapes and names), HDF5 ones by h5py."""
    if path.endswith(".nc"):
        import netCDF4

        with netCDF4.Dataset(path) as nc:
            g = nc
            *groups, leaf = name.split("/")
            for part in groups:
                g = g.groups[part]
            if leaf not in g.variables:
                return None
            v = g.variables[leaf]
            v.set_auto_maskandscale(False)
            if v.dtype is str:
                return np.asarray(v[...], dtype=object)
            return np.asarray(v[...])
    with h5py.File(path, "r") as f:
        try:
            obj = f[name]
        except KeyError as e:
            if "Unable to synchronously open object" in str(e):
                pytest.skip(f"h5py cannot open {name}: {e}")  # libhdf5's checks (nbit, 12 of 32 bits)
            return None
        if not isinstance(obj, h5py.Dataset) or obj.shape is None:
            return None
        if obj.dtype.kind == "O" and h5py.check_string_dtype(obj.dtype):
            return np.asarray(obj.asstr()[()], dtype=object)
        return np.asarray(obj[()])


def _session_group(target: str, snapshot: str | None = None) -> zarr.Group:
    repo = open_repository(target)
    session = (repo.readonly_session(snapshot_id=snapshot) if snapshot
               else repo.readonly_session(branch="main"))
    return zarr.open_group(session.store, mode="r", zarr_format=3)


def _open_xr(target: str, snapshot: str | None = None, **kw: object) -> xr.Dataset:
    repo = open_repository(target)
    session = (repo.readonly_session(snapshot_id=snapshot) if snapshot
               else repo.readonly_session(branch="main"))
    return xr.open_zarr(session.store, consolidated=False, zarr_format=3, **kw)


def _fixture_files() -> list[str]:
    files = sorted(glob.glob(os.path.join(FIXTURES, "*.h5")) + glob.glob(os.path.join(FIXTURES, "*.nc")))
    return [f for f in files if os.path.basename(f) not in V3_REFUSED]


@pytest.mark.parametrize("path", _fixture_files(), ids=os.path.basename)
def test_fixture_values_equal_the_original(path: str, tmp_path) -> None:
    """Every array of the repository holds the original's values (virtual and native chunks)."""
    out = str(tmp_path / "s.json")
    r = subprocess.run([_vz(), "scan", "-o", out, path], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        pytest.skip(f"vzgen refuses it: {r.stderr.strip()}")
    store = load_store(out)
    write_icechunk(store, str(tmp_path / "repo"))
    group = _session_group(str(tmp_path / "repo"))
    compared = 0
    for arr in store.arrays:
        want = _truth(path, arr.name)
        if want is None:
            continue
        got = np.asarray(group[arr.name][...])
        assert got.shape == want.shape, arr.name
        if want.dtype.kind in "fc":
            np.testing.assert_array_equal(got, want, err_msg=arr.name)
        elif want.dtype == object:
            assert [str(x) for x in np.ravel(got)] == [str(x) for x in np.ravel(want)], arr.name
        else:
            np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=arr.name)
        compared += 1
    assert compared, f"no array of {path} compared"


def _vz() -> str:
    from conftest import vzgen_binary

    return vzgen_binary()


@pytest.mark.parametrize("name,words", [
    ("dtypes_compound.h5", r"array \S+: compound dtype .* has no zarr v3 form"),
    ("dtypes_vlen.h5", r"array \S+: variable-length sequences \(vlen-array\) have no zarr v3 form"),
])
def test_refuses_what_zarr_v3_cannot_hold(name: str, words: str, tmp_path) -> None:
    out = str(tmp_path / "s.json")
    run_vzgen("scan", "-o", out, os.path.join(FIXTURES, name))
    with pytest.raises(IcechunkError, match=words):
        write_icechunk(load_store(out), str(tmp_path / "repo"))
    assert not os.path.exists(tmp_path / "repo"), "a failed build leaves nothing behind"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".repo.tmp")]


def _granules(d: str, n: int) -> list[str]:
    def data(i: int, name: str) -> np.ndarray:
        rng = np.random.default_rng(i * 7 + len(name))
        return (rng.random((1, 40, 60)) * 30).astype("f4")

    return make_time_granules(d, n, (1, 40, 60), (1, 20, 30), ["sst", "ice"], data)


@pytest.fixture
def granules(tmp_path) -> list[str]:
    return _granules(str(tmp_path / "g"), 4)


def _build(paths: list[str], out: str, *extra: str) -> None:
    run_vzgen("build", "-q", "-o", out, *extra, *paths)


def test_xarray_opens_the_collection_like_the_granules(granules, tmp_path) -> None:
    """xarray over icechunk equals xarray over the original granules (netCDF4 engine)."""
    _build(granules[:3], str(tmp_path / "a.json"))
    write_icechunk(load_store(str(tmp_path / "a.json")), str(tmp_path / "repo"))
    ds = _open_xr(str(tmp_path / "repo")).load()
    want = xr.concat([xr.open_dataset(p, engine="netcdf4").load() for p in granules[:3]], "time",
                     data_vars="minimal", coords="minimal", compat="override")
    for name in ("sst", "ice", "time"):
        np.testing.assert_array_equal(ds[name].values, want[name].values, err_msg=name)
    # x and y have no netCDF attributes (h5py wrote them): kerchunk's rule gives them the HDF5
    # fill value 0, which xarray masks; their raw values are the granule's
    raw = _open_xr(str(tmp_path / "repo"), mask_and_scale=False)
    with h5py.File(granules[0]) as f:
        np.testing.assert_array_equal(raw.x.values, f["x"][()])
        np.testing.assert_array_equal(raw.y.values, f["y"][()])
    assert ds.sst.dims == ("time", "y", "x")
    # and the same as the kerchunk store vzgen wrote, attributes included
    ref = xr.open_dataset("reference://", engine="zarr", consolidated=False,
                          backend_kwargs={"storage_options": {"fo": str(tmp_path / "a.json")}}).load()
    xr.testing.assert_identical(ds, ref)


def test_loadable_variables_are_native_chunks(granules, tmp_path) -> None:
    _build(granules[:3], str(tmp_path / "a.json"), "--loadable-vars", "x,y")
    store = load_store(str(tmp_path / "a.json"))
    assert {a.name for a in store.arrays if a.raw is not None} >= {"x", "y", "time"}
    write_icechunk(store, str(tmp_path / "repo"))
    repo = open_repository(str(tmp_path / "repo"))
    locations = repo.readonly_session(branch="main").all_virtual_chunk_locations()
    assert set(locations) == {"file://" + p for p in granules[:3]}
    # the native arrays read without access to the granules' container
    plain = ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "repo")))
    g = zarr.open_group(plain.readonly_session(branch="main").store, mode="r", zarr_format=3)
    with h5py.File(granules[0]) as f:
        np.testing.assert_array_equal(g["x"][...], f["x"][()])
    np.testing.assert_array_equal(g["time"][...], [0, 86400, 2 * 86400])


def test_append_is_a_commit_and_the_old_snapshot_stays(granules, tmp_path) -> None:
    repo_dir = str(tmp_path / "repo")
    _build(granules[:3], str(tmp_path / "a.json"))
    write_icechunk(load_store(str(tmp_path / "a.json")), repo_dir)
    before = read_icechunk_meta(repo_dir)
    assert before["arrays"]["sst"] == [3, 40, 60]
    assert before["vzgen"]["granules"] == granules[:3]

    _build(granules, str(tmp_path / "b.json"))
    part = new_part(load_store(str(tmp_path / "b.json")), before["arrays"], "time")
    assert all(len(a.path_ids) < 8 for a in part.arrays if a.name == "sst"), "only the new refs"
    write_icechunk(part, repo_dir, append=True)

    after = read_icechunk_meta(repo_dir)
    assert after["arrays"]["sst"] == [4, 40, 60]
    assert after["vzgen"]["granules"] == granules
    assert after["snapshot"] != before["snapshot"]
    # the new head equals a build of all four granules; the old snapshot still reads three
    ref = xr.open_dataset("reference://", engine="zarr", consolidated=False,
                          backend_kwargs={"storage_options": {"fo": str(tmp_path / "b.json")}}).load()
    xr.testing.assert_identical(_open_xr(repo_dir).load(), ref)
    old = _open_xr(repo_dir, snapshot=before["snapshot"]).load()
    assert old.sizes["time"] == 3
    with h5py.File(granules[2]) as f:
        np.testing.assert_array_equal(old.sst.values[2], f["sst"][0])
    history = [s.message for s in open_repository(repo_dir).ancestry(branch="main")]
    assert history[:2] == ["vzgen append", "vzgen build"]


def test_a_write_in_parts_is_one_step_on_main(granules, tmp_path, monkeypatch) -> None:
    """Large writes are committed in parts on a staging branch; main moves once, at the end."""
    import vzgen.icechunk as vic

    monkeypatch.setattr(vic, "_PART", 10)  # sst's 12 references make part 1; ice's, the last
    repo_dir = str(tmp_path / "repo")
    _build(granules[:3], str(tmp_path / "a.json"))
    write_icechunk(load_store(str(tmp_path / "a.json")), repo_dir)
    repo = open_repository(repo_dir)
    assert list(repo.list_branches()) == ["main"], "the staging branch is removed"
    history = [s.message for s in repo.ancestry(branch="main")]
    assert history == ["vzgen build (part 2)", "vzgen build (part 1)", "Repository initialized"]
    ref = xr.open_dataset("reference://", engine="zarr", consolidated=False,
                          backend_kwargs={"storage_options": {"fo": str(tmp_path / "a.json")}}).load()
    xr.testing.assert_identical(_open_xr(repo_dir).load(), ref)
    # an append staged in parts, with main moved by another writer before it finishes
    shapes = read_icechunk_meta(repo_dir)["arrays"]
    _build(granules, str(tmp_path / "b.json"))
    part = new_part(load_store(str(tmp_path / "b.json")), shapes, "time")
    slow = begin_append(part, repo_dir)
    write_icechunk(part, repo_dir, append=True)
    head = read_icechunk_meta(repo_dir)
    with pytest.raises(IcechunkConflictError, match="nothing was committed"):
        slow.commit()
    assert read_icechunk_meta(repo_dir) == head
    assert list(open_repository(repo_dir).list_branches()) == ["main"]


def test_changed_granule_is_refused(granules, tmp_path) -> None:
    """A granule modified after the build: icechunk refuses its chunks, others still read."""
    _build(granules[:3], str(tmp_path / "a.json"))
    write_icechunk(load_store(str(tmp_path / "a.json")), str(tmp_path / "repo"))
    time.sleep(1.1)
    with h5py.File(granules[1], "r+") as f:
        f["sst"][0, 0, 0] = -5.0
    group = _session_group(str(tmp_path / "repo"))
    with h5py.File(granules[0]) as f:
        np.testing.assert_array_equal(group["sst"][0], f["sst"][0])
    with pytest.raises(ic.IcechunkError, match="checksum of the object owning the virtual chunk has changed"):
        group["sst"][1]


def test_touched_granule_is_refused(granules, tmp_path) -> None:
    _build(granules[:2], str(tmp_path / "a.json"))
    write_icechunk(load_store(str(tmp_path / "a.json")), str(tmp_path / "repo"))
    st = os.stat(granules[0])
    os.utime(granules[0], (st.st_atime + 10, st.st_mtime + 10))
    with pytest.raises(ic.IcechunkError, match="has changed"):
        _session_group(str(tmp_path / "repo"))["ice"][0]


def test_conflicting_append_commits_nothing(granules, tmp_path) -> None:
    repo_dir = str(tmp_path / "repo")
    _build(granules[:2], str(tmp_path / "a.json"))
    write_icechunk(load_store(str(tmp_path / "a.json")), repo_dir)
    shapes = read_icechunk_meta(repo_dir)["arrays"]
    _build(granules[:3], str(tmp_path / "b.json"))
    _build(granules, str(tmp_path / "c.json"))
    slow = begin_append(new_part(load_store(str(tmp_path / "c.json")), shapes, "time"), repo_dir)
    write_icechunk(new_part(load_store(str(tmp_path / "b.json")), shapes, "time"), repo_dir, append=True)
    head = read_icechunk_meta(repo_dir)
    with pytest.raises(IcechunkConflictError, match=r"another writer committed to branch 'main'.*"
                       r"nothing was committed: run the append again"):
        slow.commit()
    assert read_icechunk_meta(repo_dir) == head
    assert _open_xr(repo_dir).sizes["time"] == 3


def test_existing_output_of_another_format(granules, tmp_path) -> None:
    _build(granules[:1], str(tmp_path / "a.json"))
    store = load_store(str(tmp_path / "a.json"))
    with pytest.raises(IcechunkError, match=r"a\.json: exists and is not an Icechunk repository"):
        write_icechunk(store, str(tmp_path / "a.json"))
    write_icechunk(store, str(tmp_path / "repo"))
    with pytest.raises(IcechunkError, match="already an Icechunk repository; use `vzgen append`"):
        write_icechunk(store, str(tmp_path / "repo"))
    with pytest.raises(IcechunkError, match="no Icechunk repository there"):
        write_icechunk(store, str(tmp_path / "nothing"), append=True)


def test_https_twin_is_a_second_repository(granules, tmp_path) -> None:
    _build(granules[:2], str(tmp_path / "a.json"))
    store = load_store(str(tmp_path / "a.json"))
    store.urls = ["s3://podaac-bucket/MUR/" + os.path.basename(u) for u in store.urls]
    store.checksums = ['"abc123"'] * len(store.urls)
    write_icechunk(store, str(tmp_path / "repo"), https_twin="https://archive.example.org/")
    s3 = ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "repo")))
    web = ic.Repository.open(ic.local_filesystem_storage(str(tmp_path / "repo_https")))
    assert list(s3.config.virtual_chunk_containers) == ["s3://podaac-bucket/"]
    assert list(web.config.virtual_chunk_containers) == ["https://archive.example.org/"]
    assert set(web.readonly_session(branch="main").all_virtual_chunk_locations()) == {
        "https://archive.example.org/podaac-bucket/MUR/g000.nc",
        "https://archive.example.org/podaac-bucket/MUR/g001.nc"}
    assert set(s3.readonly_session(branch="main").all_virtual_chunk_locations()) == {
        "s3://podaac-bucket/MUR/g000.nc", "s3://podaac-bucket/MUR/g001.nc"}


# --- S3: moto in server mode (the peers venv), granules and repository in its buckets --------

PEERS_PYTHON = os.path.join(ROOT, "build", "venv", "peers", "bin", "python")


@pytest.fixture
def moto(monkeypatch):
    if not os.access(PEERS_PYTHON, os.X_OK):
        pytest.skip("no peers venv (build/venv/peers) with moto")
    proc = subprocess.Popen([PEERS_PYTHON, os.path.join(ROOT, "tests", "servers", "moto_server.py")],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("PORT "), line
        endpoint = f"http://127.0.0.1:{line.split()[1]}"
        for k, v in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                     "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _s3(endpoint: str, bucket: str):
    from obstore.store import S3Store

    return S3Store(bucket, endpoint=endpoint, access_key_id="testing", secret_access_key="testing",
                   region="us-east-1", client_options={"allow_http": True}, virtual_hosted_style_request=False)


def _make_bucket(endpoint: str, bucket: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"), timeout=10)


def test_s3_repository_with_etags(moto, granules, tmp_path) -> None:
    import obstore

    _make_bucket(moto, "data")
    _make_bucket(moto, "out")
    data = _s3(moto, "data")
    etags = {}
    for p in granules[:3]:
        with open(p, "rb") as f:
            res = obstore.put(data, "mur/" + os.path.basename(p), f.read())
        etags[p] = res["e_tag"]
    _build(granules[:3], str(tmp_path / "a.json"))
    store = load_store(str(tmp_path / "a.json"))
    store.checksums = [etags[u] for u in store.urls]
    store.urls = ["s3://data/mur/" + os.path.basename(u) for u in store.urls]
    write_icechunk(store, "s3://out/collections/MUR/")
    assert read_icechunk_meta("s3://out/collections/MUR/")["arrays"]["sst"] == [3, 40, 60]
    ds = _open_xr("s3://out/collections/MUR/").load()
    for i, p in enumerate(granules[:3]):
        with h5py.File(p) as f:
            np.testing.assert_array_equal(ds.sst.values[i], f["sst"][0])
    # the granule replaced in the bucket (new ETag): its chunks are refused
    with open(granules[3], "rb") as f:
        obstore.put(data, "mur/g001.nc", f.read())
    group = _session_group("s3://out/collections/MUR/")
    group["sst"][0]
    with pytest.raises(ic.IcechunkError, match="has changed"):
        group["sst"][1]


def test_missing_icechunk_names_the_package(tmp_path) -> None:
    """Without the icechunk package the writer says in one line what to install."""
    code = ("import sys; sys.modules['icechunk'] = None\n"
            "from vzgen.icechunk import write_icechunk, IcechunkError\n"
            "from vzgen.store import Store\n"
            "try:\n    write_icechunk(Store([], [], [], [('', {})], [], None), sys.argv[1])\n"
            "except IcechunkError as e:\n    print(e)\n")
    # The same vzgen the tests import (the installed wheel, else the source tree: conftest.py).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r")], capture_output=True,
                       text=True, env=env, check=False)
    assert r.stdout.strip() == "--format icechunk needs the Python package 'icechunk': pip install icechunk"
    shutil.rmtree(tmp_path / "r", ignore_errors=True)


def test_into_a_users_repository(granules, tmp_path) -> None:
    """A Repository the user made (their containers, their storage) gets one step on main."""
    prefix = "file://" + os.path.dirname(granules[0]) + "/"
    config = ic.RepositoryConfig.default()
    config.set_virtual_chunk_container(ic.VirtualChunkContainer(prefix, ic.local_filesystem_store(prefix[7:])))
    repo = ic.Repository.create(ic.local_filesystem_storage(str(tmp_path / "mine")), config,
                                authorize_virtual_chunk_access={prefix: None})
    _build(granules[:2], str(tmp_path / "a.json"))
    write_icechunk(load_store(str(tmp_path / "a.json")), repo, message="from vzgen")
    assert next(s.message for s in repo.ancestry(branch="main")) == "from vzgen"
    ds = xr.open_zarr(repo.readonly_session(branch="main").store, consolidated=False, zarr_format=3)
    with h5py.File(granules[1]) as f:
        np.testing.assert_array_equal(ds.sst.values[1], f["sst"][0])
