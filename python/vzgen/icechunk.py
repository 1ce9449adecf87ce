"""Icechunk repositories from vzgen stores, written with the icechunk library.

A repository holds the same Zarr hierarchy as vzgen's kerchunk store, in Zarr v3:

- every referenced chunk is an Icechunk *virtual reference* to the granule's bytes, carrying
  the granule's checksum as vzgen saw it when it scanned the granule (the ETag as an ``If-Match``
  condition, else its last-modified time), so Icechunk refuses to serve a chunk of a granule
  that changed after the store was made;
- arrays vzgen holds in memory (loadable variables, decoded arrays, strings) and embedded small
  chunks are written as native Icechunk chunks;
- one virtual chunk container per granule location (``s3://bucket/``, ``https://host/``, or the
  granules' local directory as ``file://``), saved in the repository's configuration. A reader
  authorises the containers it trusts when it opens the repository (docs/icechunk.md).

Icechunk picks a container by the URL each reference holds, and a container serves one
protocol, so one repository cannot point the same chunk at both ``s3://`` and ``https://``.
With ``https_twin`` a second repository, ``<target>_https``, holds the same snapshot with every
``s3://bucket/key`` written as ``<https_twin>bucket/key``.

Build and append are staged: the changes are committed on a private branch in parts of at most
`_PART` references (icechunk holds a session's changes in memory), then ``main`` is moved to
the last part in one conditional reset. A reader of ``main`` sees the old snapshot or the new
one, never a part; the previous snapshot stays readable by its id. If another writer moved
``main`` meanwhile, `IcechunkConflictError` is raised and ``main`` is left as that writer made
it. Manifests are split along the concat dimension (`_SPLIT` steps), so an append rewrites only
the splits its granules fall in, and reading one chunk loads one split.

Example::

    from vzgen.icechunk import write_icechunk
    write_icechunk(store, "./mur-icechunk")               # a new repository
    write_icechunk(more, "./mur-icechunk", append=True)   # a new commit
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

try:
    from vzgen import (
        Error as _VzError,  # the package's base error, when the package is built
    )
except ImportError:  # pragma: no cover - only before the extension package exists
    _VzError = RuntimeError  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    import icechunk as _ic

    from vzgen.store import ArrayRefs, Store

__all__ = [
    "IcechunkConflictError",
    "IcechunkError",
    "PendingAppend",
    "begin_append",
    "open_repository",
    "read_icechunk_meta",
    "write_icechunk",
]

#: How many virtual references are handed to icechunk per call (bounds the Python objects alive).
_BATCH = 1 << 18
#: How many references one commit of a staged write holds (icechunk keeps a session's changes
#: in memory, ~450 bytes a reference in icechunk 1.1).
_PART = int(os.environ.get("VZ_ICECHUNK_PART", str(1 << 20)))
#: Steps of the concat dimension per manifest split: MUR's 324 chunks a step make splits of
#: ~32 K references, which one chunk read loads in a few tens of ms.
_SPLIT = 100
#: Chunk references icechunk may cache while writing (its default, millions, is most of a
#: whole-collection build's memory; a staged write reads back little).
_WRITE_CACHE_REFS = 200_000
_BRANCH = "main"


class IcechunkError(_VzError):  # type: ignore[misc,valid-type]
    """An Icechunk repository could not be written or read; the message says what and where."""


class IcechunkConflictError(IcechunkError):
    """Another writer committed to the branch while this append ran; nothing was committed."""


def _import_icechunk() -> Any:
    try:
        import icechunk
    except ImportError as e:
        raise IcechunkError(
            "--format icechunk needs the Python package 'icechunk': pip install icechunk"
        ) from e
    return icechunk


# --- where the repository lives ----------------------------------------------------------


def _s3_options() -> dict[str, Any]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2"
    opts: dict[str, Any] = {"region": region}
    if endpoint:
        opts.update(endpoint_url=endpoint, allow_http=endpoint.startswith("http://"),
                    force_path_style=True)
    return opts


def _storage(ic: Any, target: str) -> Any:
    if target.startswith("s3://"):
        u = urlparse(target)
        if not u.netloc:
            raise IcechunkError(f"{target}: an s3:// target needs a bucket (s3://bucket/prefix/)")
        return ic.s3_storage(bucket=u.netloc, prefix=u.path.strip("/") or None, from_env=True,
                             **_s3_options())
    if "://" in target:
        raise IcechunkError(f"{target}: an Icechunk target is a local directory or s3://bucket/prefix/")
    return ic.local_filesystem_storage(os.path.abspath(target))


def _location(url: str) -> str:
    """The URL icechunk resolves: local absolute paths become file:// URLs."""
    if url.startswith("/"):
        return "file://" + url
    return url


def _container_prefix(location: str) -> str:
    u = urlparse(location)
    if u.scheme == "file":
        return "file://" + os.path.dirname(u.path).rstrip("/") + "/"
    if u.scheme in ("s3", "http", "https"):
        return f"{u.scheme}://{u.netloc}/"
    raise IcechunkError(f"{location}: Icechunk has no virtual chunk container for {u.scheme}:// URLs")


def _container_store(ic: Any, prefix: str) -> Any:
    scheme = prefix.split("://", 1)[0]
    if scheme == "file":
        return ic.local_filesystem_store(prefix[len("file://"):])
    if scheme == "s3":
        return ic.s3_store(**_s3_options())
    return ic.http_store()


def _credentials(ic: Any, prefixes: Iterable[str]) -> dict[str, Any]:
    """Authorises the repository's containers, S3 ones with the environment's credentials."""
    creds: dict[str, Any] = {}
    for p in prefixes:
        creds[p] = ic.s3_credentials(from_env=True) if p.startswith("s3://") else None
    return ic.containers_credentials(creds)


def open_repository(target: str, *, authorize: bool = True) -> _ic.Repository:
    """Opens an existing repository, authorising the virtual chunk containers it declares.

    ``target`` is a local directory or ``s3://bucket/prefix/`` (credentials and
    ``AWS_ENDPOINT_URL`` from the environment).

    Example::

        repo = open_repository("./mur-icechunk")
        ds = xarray.open_zarr(repo.readonly_session("main").store, consolidated=False)
    """
    ic = _import_icechunk()
    if "://" not in target and os.path.exists(target) and not os.path.isdir(target):
        raise IcechunkError(f"{target}: exists and is not an Icechunk repository (another format?)")
    storage = _storage(ic, target)
    if not ic.Repository.exists(storage):
        raise IcechunkError(f"{target}: no Icechunk repository there")
    config = ic.Repository.fetch_config(storage)
    prefixes = list(config.virtual_chunk_containers or {}) if config and authorize else []
    return ic.Repository.open(storage, authorize_virtual_chunk_access=_credentials(ic, prefixes)
                              if prefixes else None)


# --- zarr v2 metadata as zarr v3 ----------------------------------------------------------


def _codecs(zarray: dict, name: str) -> tuple[list, Any, list]:
    """(filters, serializer, compressors) of the v3 array equal to the v2 codec chain."""
    from zarr.abc.codec import ArrayArrayCodec, BytesBytesCodec
    from zarr.codecs import BytesCodec
    from zarr.registry import get_codec_class

    if zarray.get("order", "C") != "C":
        raise IcechunkError(f"array {name}: order {zarray['order']!r} is not supported in Icechunk")
    configs = list(zarray.get("filters") or [])
    if zarray.get("compressor"):
        configs.append(zarray["compressor"])
    filters: list = []
    compressors: list = []
    for cfg in configs:
        cfg = dict(cfg)
        cid = cfg.pop("id")
        try:
            codec = get_codec_class(f"numcodecs.{cid}")(**cfg)
        except Exception as e:  # zarr raises KeyError/TypeError for unknown codecs or options
            raise IcechunkError(f"array {name}: codec {cid!r} has no zarr v3 form ({e})") from e
        if isinstance(codec, ArrayArrayCodec):
            if compressors:
                raise IcechunkError(f"array {name}: codec {cid!r} follows a bytes codec")
            filters.append(codec)
        elif isinstance(codec, BytesBytesCodec):
            compressors.append(codec)
        else:
            raise IcechunkError(f"array {name}: codec {cid!r} cannot be expressed in zarr v3")
    dtype = np.dtype(zarray["dtype"]) if zarray["dtype"] != "|O" else None
    endian = None
    if dtype is not None and dtype.itemsize > 1 and dtype.kind in "iufcmM":
        endian = "big" if dtype.byteorder == ">" else "little"
    return filters, BytesCodec(endian=endian), compressors


def _fill_attr(value: Any, dtype: np.dtype) -> Any:
    """`_FillValue` as xarray reads it from a zarr v3 array's attributes (floats as base64)."""
    import base64
    import struct

    if dtype.kind == "f":
        f = float("nan") if value in ("NaN", "nan", None) else float(value)
        f = {"Infinity": float("inf"), "-Infinity": float("-inf")}.get(value, f)
        return base64.standard_b64encode(struct.pack("<d", f)).decode()
    if dtype.kind in "iu":
        return int(value)
    if dtype.kind == "b":
        return bool(value)
    return value


def _v3_fill(value: Any, dtype: np.dtype) -> Any:
    if value is None:
        return None
    if dtype.kind == "c" and isinstance(value, list):
        return complex(*(_v3_fill(v, np.dtype("f8")) for v in value))
    if dtype.kind == "f" and isinstance(value, str):
        return {"NaN": np.nan, "nan": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}[value]
    if dtype.kind == "S" and isinstance(value, str):
        import base64

        return base64.b64decode(value)
    return value


def _json_safe(value: Any) -> Any:
    """Attributes as icechunk's strict JSON holds them: NaN and infinities become the strings
    "NaN", "Infinity" and "-Infinity" (zarr v3's spelling of them in metadata)."""
    if isinstance(value, float) and not np.isfinite(value):
        return "NaN" if np.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def _create_array(root: Any, arr: ArrayRefs, overwrite: bool) -> Any:
    z = arr.zarray
    attrs = {k: _json_safe(v) for k, v in arr.zattrs.items() if k != "_ARRAY_DIMENSIONS"}
    dims = arr.zattrs.get("_ARRAY_DIMENSIONS")
    shape = tuple(z["shape"])
    chunks = tuple(z["chunks"]) if shape else ()
    if arr.strings is None and z["dtype"] == "|O" and not any(f.get("id") == "vlen-utf8" for f in z.get("filters") or []):
        raise IcechunkError(f"array {arr.name}: variable-length sequences (vlen-array) have no zarr "
                            "v3 form: Icechunk cannot hold this store (kerchunk JSON can)")
    if arr.strings is not None or z["dtype"] == "|O":
        a = root.create_array(arr.name, shape=shape, chunks=chunks or shape, dtype=str,
                              dimension_names=dims, attributes=attrs, overwrite=overwrite)
        return a
    if isinstance(z["dtype"], list):
        raise IcechunkError(f"array {arr.name}: compound dtype {z['dtype']} has no zarr v3 form "
                            "that xarray reads: Icechunk cannot hold this store (kerchunk JSON can)")
    dtype = np.dtype(z["dtype"])
    if dtype.fields is not None:
        raise IcechunkError(f"array {arr.name}: compound dtype {z['dtype']} has no zarr v3 form "
                            "that xarray reads: Icechunk cannot hold this store (kerchunk JSON can)")
    if arr.raw is not None:
        # Materialised: native chunks with zarr's default codecs.
        fill = _v3_fill(z.get("fill_value"), dtype)
        if fill is not None and "_FillValue" not in attrs:
            attrs["_FillValue"] = _fill_attr(z.get("fill_value"), dtype)
        return root.create_array(arr.name, shape=shape, chunks=shape or (), dtype=dtype.newbyteorder("="),
                                 fill_value=fill, dimension_names=dims, attributes=attrs,
                                 overwrite=overwrite)
    filters, serializer, compressors = _codecs(z, arr.name)
    fill = _v3_fill(z.get("fill_value"), dtype)
    if fill is not None and "_FillValue" not in attrs:
        # zarr v3 readers (xarray) mask by the attribute, where v2 readers used fill_value.
        attrs["_FillValue"] = _fill_attr(z.get("fill_value"), dtype)
    try:
        return root.create_array(arr.name, shape=shape, chunks=chunks, dtype=dtype.newbyteorder("="),
                                 filters=filters, serializer=serializer, compressors=compressors,
                                 fill_value=fill, dimension_names=dims, attributes=attrs,
                                 overwrite=overwrite, config={"write_empty_chunks": True})
    except (TypeError, ValueError) as e:
        raise IcechunkError(f"array {arr.name}: zarr v3 refuses its metadata ({e})") from e


def _chunk_key(arr: ArrayRefs, coord: Iterable[int]) -> str:
    c = "/".join(str(int(i)) for i in coord)
    return f"{arr.name}/c/{c}" if c else f"{arr.name}/c"


def _write_native(session_store: Any, zarr_array: Any, arr: ArrayRefs) -> None:
    """Loadable arrays and embedded chunks become native Icechunk chunks."""
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    if arr.strings is not None:
        zarr_array[...] = np.array([s or "" for s in arr.strings], dtype=object).reshape(zarr_array.shape)
        return
    if arr.raw is not None:
        dtype = np.dtype(arr.zarray["dtype"])
        data = np.frombuffer(arr.raw, dtype=dtype).reshape(tuple(arr.zarray["shape"]))
        zarr_array[...] = data.astype(dtype.newbyteorder("="), copy=False)
        return
    proto = default_buffer_prototype()
    for i, blob in arr.inline.items():
        key = _chunk_key(arr, arr.coords[i])
        sync(session_store.set(key, proto.buffer.from_bytes(blob)))


def _specs(ic: Any, store: Store, arr: ArrayRefs, locations: list[str], etags: list, stamps: list,
           index: np.ndarray) -> list:
    coords = arr.coords[index].tolist()
    pids = arr.path_ids[index].tolist()
    offs = arr.offsets[index].tolist()
    lens = arr.lengths[index].tolist()
    spec = ic.VirtualChunkSpec
    return [spec(c, locations[p], o, n, etags[p], stamps[p]) for c, p, o, n in zip(coords, pids, offs, lens)]


class _Stager:
    """Writes a store's changes as a chain of commits on a staging branch, so that the
    session icechunk keeps in memory never holds more than `_PART` references; the branch
    ``main`` is then moved to the last commit in one conditional reset (`finish`)."""

    def __init__(self, ic: Any, repo: Any, base: str, message: str, meta: dict) -> None:
        self.ic, self.repo, self.base, self.message, self.meta = ic, repo, base, message, meta
        self.branch = f"vzgen-staging-{uuid.uuid4().hex[:12]}"
        repo.create_branch(self.branch, base)
        self.session = repo.writable_session(self.branch)
        self.pending = 0
        self.parts = 0

    def flush(self, last: bool = False) -> str | None:
        if not last and self.pending < _PART:
            return None
        if last and not self.session.has_uncommitted_changes:
            # nothing at all to write (parts commit before adding, so a last part has changes)
            return self.repo.lookup_branch(self.branch)
        self.parts += 1
        final = last and self.parts == 1
        msg = self.message if final else f"{self.message} (part {self.parts})"
        snapshot = self.session.commit(msg, metadata={"vzgen": self.meta} if last else {})
        self.pending = 0
        if not last:
            self.session = self.repo.writable_session(self.branch)
        return snapshot

    def finish(self, target: str) -> str:
        """Moves ``main`` from the base snapshot to the staged one, or raises the conflict."""
        snapshot = self.flush(last=True)
        assert snapshot is not None
        try:
            self.repo.reset_branch(_BRANCH, snapshot, from_snapshot_id=self.base)
        except self.ic.IcechunkError as e:
            tip = self.repo.lookup_branch(_BRANCH)
            if tip == self.base:
                raise
            raise IcechunkConflictError(
                f"{target}: another writer committed to branch '{_BRANCH}' while this append "
                f"ran (it is now at snapshot {tip}, not {self.base}); nothing was committed: "
                "run the append again") from e
        finally:
            self.abandon()
        return snapshot

    def abandon(self) -> None:
        # icechunk's garbage collection removes the unreferenced snapshots of the branch
        try:
            self.repo.delete_branch(self.branch)
        except self.ic.IcechunkError:
            pass


def _write_virtual(ic: Any, stager: _Stager, store: Store, arr: ArrayRefs, locations: list[str],
                   etags: list, stamps: list) -> None:
    n = len(arr.path_ids)
    if n == 0:
        return
    virtual = np.ones(n, dtype=bool)
    if arr.inline:
        virtual[np.fromiter(arr.inline.keys(), dtype=np.int64, count=len(arr.inline))] = False
    index = np.flatnonzero(virtual)
    for start in range(0, len(index), _BATCH):
        part = index[start:start + _BATCH]
        # Every location has a container (made from these same locations), so icechunk's check
        # of each reference against them (~15% of the call) is left out.
        stager.flush()  # before adding: the last part always has changes to commit
        stager.session.store.set_virtual_refs(
            arr.name, _specs(ic, store, arr, locations, etags, stamps, part), validate_containers=False)
        stager.pending += len(part)


def _checksums(store: Store) -> tuple[list, list]:
    etags: list = []
    stamps: list = []
    for i in range(len(store.urls)):
        etag = store.checksums[i] if i < len(store.checksums) else None
        lm = store.last_modified[i] if i < len(store.last_modified) else None
        etags.append(etag or None)
        # Only one condition is kept per reference: the ETag when the server gave one. HTTP and
        # S3 dates have whole seconds; a local file's mtime has a fraction that the store's whole
        # seconds dropped, so its condition is the end of that second.
        if lm is not None and not etag:
            lm += 1 if _location(store.urls[i]).startswith("file://") else 0
            stamps.append(_dt.datetime.fromtimestamp(lm, tz=_dt.UTC))
        else:
            stamps.append(None)
    return etags, stamps


def _https_rewrite(urls: list[str], twin: str) -> list[str]:
    out = []
    for u in urls:
        if not u.startswith("s3://"):
            raise IcechunkError(f"{u}: an https twin needs s3:// granule URLs")
        out.append(twin.rstrip("/") + "/" + u[len("s3://"):])
    return out


def _twin_target(target: str) -> str:
    return target.rstrip("/") + "_https" + ("/" if target.endswith("/") else "")


def _write_hierarchy(ic: Any, stager: _Stager, store: Store, locations: list[str], append: bool,
                     existing: dict[str, tuple[int, ...]]) -> None:
    import zarr

    root = zarr.open_group(stager.session.store, mode="a", zarr_format=3)
    for name, attrs in store.groups:
        g = root if name == "" else root.require_group(name)
        if append:
            g.attrs.update(_json_safe(attrs))
        else:
            g.attrs.put(_json_safe(attrs))
    virtual = []
    for arr in store.arrays:
        shape = tuple(arr.zarray["shape"])
        holds_all = arr.raw is not None or arr.strings is not None
        if arr.name in existing:
            z = root[arr.name]
            old = existing[arr.name]
            if len(old) != len(shape) or (not holds_all and tuple(z.chunks) != tuple(arr.zarray["chunks"])):
                raise IcechunkError(f"array {arr.name}: shape {list(shape)} / chunks "
                                    f"{arr.zarray['chunks']} do not fit the repository's "
                                    f"{list(old)} / {list(z.chunks)}")
            new_shape = tuple(max(a, b) for a, b in zip(old, shape))
            if holds_all:
                z = _create_array(root, arr, overwrite=True)
            elif new_shape != old:
                z.resize(new_shape)
            if not holds_all:
                z.attrs.update({k: _json_safe(v) for k, v in arr.zattrs.items() if k != "_ARRAY_DIMENSIONS"})
        else:
            z = _create_array(root, arr, overwrite=False)
        if holds_all or arr.inline:
            _write_native(stager.session.store, z, arr)
        virtual.append(arr)
    etags, stamps = _checksums(store)
    for arr in virtual:  # after every array exists: a part's commit is a consistent hierarchy
        _write_virtual(ic, stager, store, arr, locations, etags, stamps)


def _existing_shapes(session: Any) -> dict[str, tuple[int, ...]]:
    import zarr
    from zarr.errors import GroupNotFoundError

    try:
        root = zarr.open_group(session.store, mode="r", zarr_format=3)
    except GroupNotFoundError:
        return {}  # an empty repository
    out: dict[str, tuple[int, ...]] = {}
    for path, node in root.members(max_depth=None):
        if isinstance(node, zarr.Array):
            out[path] = tuple(node.shape)
    return out


def _add_containers(ic: Any, repo: Any, locations: list[str]) -> tuple[Any, bool]:
    """Adds a container for every location prefix the repository does not cover yet."""
    config = repo.config
    have = list(config.virtual_chunk_containers or {})
    added = False
    for p in sorted({_container_prefix(loc) for loc in locations}):
        if not any(p.startswith(h) for h in have):
            config.set_virtual_chunk_container(ic.VirtualChunkContainer(p, _container_store(ic, p)))
            have.append(p)
            added = True
    return config, added


def _config(ic: Any, store: Store, locations: list[str]) -> Any:
    config = ic.RepositoryConfig.default()
    for p in sorted({_container_prefix(loc) for loc in locations}):
        config.set_virtual_chunk_container(ic.VirtualChunkContainer(p, _container_store(ic, p)))
    config.caching = ic.CachingConfig(num_chunk_refs=_WRITE_CACHE_REFS)
    concat = (store.meta or {}).get("concat_dim") or (store.meta or {}).get("new_dim")
    if concat:
        # Manifests split along the concat dimension: reading one chunk loads one split, and an
        # append rewrites only the splits its granules fall in.
        split = ic.ManifestSplittingConfig.from_dict(
            {ic.ManifestSplitCondition.AnyArray(): {ic.ManifestSplitDimCondition.DimensionName(
                f"^{concat}$"): _SPLIT}})
        config.manifest = ic.ManifestConfig(splitting=split)
    return config


def _write_one(store: Store, target: str, urls: list[str], append: bool, message: str | None) -> None:
    ic = _import_icechunk()
    locations = [_location(u) for u in urls]
    if append:
        begin_append(store, target, urls=urls, message=message).commit()
        return
    local = not target.startswith("s3://")
    if local and os.path.exists(target) and not os.path.isdir(target):
        raise IcechunkError(f"{target}: exists and is not an Icechunk repository (another format?); "
                            "give a new directory")
    # (icechunk's local storage makes the directory it is asked about: only ask when it exists)
    if (not local or os.path.isdir(target)) and ic.Repository.exists(_storage(ic, target)):
        raise IcechunkError(f"{target}: already an Icechunk repository; use `vzgen append` to add "
                            "granules, or remove it first")
    if local and os.path.isdir(target) and os.listdir(target):
        raise IcechunkError(f"{target}: exists and is not an Icechunk repository (another format?); "
                            "give a new directory")
    storage_target = target
    if local:
        # A reader never sees a half-written repository: it appears by rename when committed.
        full = os.path.abspath(target)
        storage_target = os.path.join(os.path.dirname(full),
                                      f".{os.path.basename(full)}.tmp-{uuid.uuid4().hex[:8]}")
    config = _config(ic, store, locations)
    prefixes = list(config.virtual_chunk_containers or {})
    try:
        repo = ic.Repository.create(_storage(ic, storage_target), config,
                                    authorize_virtual_chunk_access=_credentials(ic, prefixes)
                                    if prefixes else None)
        stager = _Stager(ic, repo, repo.lookup_branch(_BRANCH), message or "vzgen build", store.meta or {})
        try:
            _write_hierarchy(ic, stager, store, locations, False, {})
        except BaseException:
            stager.abandon()
            raise
        stager.finish(target)
        if local:
            if os.path.isdir(target):
                os.rmdir(target)  # the empty directory checked above
            os.rename(storage_target, target)
    except BaseException:
        if local:
            shutil.rmtree(storage_target, ignore_errors=True)
        raise


class PendingAppend:
    """An append staged in the repository but not on ``main`` yet (see `begin_append`)."""

    def __init__(self, target: str, stager: _Stager, repo: Any, save_config: bool) -> None:
        self._target, self._stager, self._repo, self._save_config = target, stager, repo, save_config

    def commit(self) -> str:
        """Moves ``main`` to the staged snapshot and returns its id. Raises
        `IcechunkConflictError`, with nothing committed, when another writer moved ``main``
        since `begin_append`."""
        if self._save_config:
            self._repo.save_config()  # new containers only widen what readers may authorise
        return self._stager.finish(self._target)

    def abandon(self) -> None:
        """Drops the staged commits; ``main`` never saw them."""
        self._stager.abandon()


def begin_append(store: Store, target: str, *, urls: list[str] | None = None,
                 message: str | None = None) -> PendingAppend:
    """Writes `store`'s changes as commits on a staging branch that starts at ``main``'s tip,
    and returns them pending; `PendingAppend.commit` moves ``main`` there in one step. Until
    then readers see the previous snapshot."""
    ic = _import_icechunk()
    locations = [_location(u) for u in (store.urls if urls is None else urls)]
    repo = open_repository(target)
    config, added = _add_containers(ic, repo, locations)
    if added:
        # The new prefixes must be authorised in this process, and the repository must keep them.
        repo = ic.Repository.open(_storage(ic, target), config=config,
                                  authorize_virtual_chunk_access=_credentials(
                                      ic, list(config.virtual_chunk_containers or {})))
    stager = _Stager(ic, repo, repo.lookup_branch(_BRANCH), message or "vzgen append", store.meta or {})
    try:
        existing = _existing_shapes(stager.session)
        _write_hierarchy(ic, stager, store, locations, True, existing)
    except BaseException:
        stager.abandon()
        raise
    return PendingAppend(target, stager, repo, added)


def write_icechunk(store: Store, target: str | _ic.Repository, *, append: bool = False,
                   https_twin: str | None = None, message: str | None = None) -> None:
    """Writes `store` as an Icechunk repository at `target`, or appends it as a new commit.

    ``target`` is a local directory, ``s3://bucket/prefix/`` (credentials, region and
    ``AWS_ENDPOINT_URL`` from the environment) or an ``icechunk.Repository`` (its ``main``
    branch gets the commit; its containers must cover the store's URLs). With ``append=True``
    the store holds only the new granules' references, already placed along the concat
    dimension, and the whole arrays to rewrite. ``https_twin`` writes ``<target>_https`` too,
    with ``s3://bucket/key`` URLs rewritten to ``<https_twin>bucket/key``.

    Example::

        write_icechunk(store, "s3://my-bucket/virtual_collections/MUR/",
                       https_twin="https://archive.podaac.earthdata.nasa.gov/")
    """
    if not isinstance(target, str):
        ic = _import_icechunk()
        locations = [_location(u) for u in store.urls]
        stager = _Stager(ic, target, target.lookup_branch(_BRANCH), message or "vzgen", store.meta or {})
        try:
            existing = _existing_shapes(stager.session)
            _write_hierarchy(ic, stager, store, locations, bool(existing), existing)
        except BaseException:
            stager.abandon()
            raise
        stager.finish("the repository")
        return
    _write_one(store, target, list(store.urls), append, message)
    if https_twin:
        _write_one(store, _twin_target(target), _https_rewrite(list(store.urls), https_twin), append, message)


def read_icechunk_meta(target: str) -> dict:
    """What `append` needs from a repository: the ``vzgen`` meta of its last commit and the
    shape of every array, as ``{"vzgen": {...}, "arrays": {"sst": [3, 1800, 3600]}, "snapshot": id}``.
    """
    repo = open_repository(target, authorize=False)
    ic = _import_icechunk()
    try:
        head = next(iter(repo.ancestry(branch=_BRANCH)))
    except ic.IcechunkError as e:
        raise IcechunkError(f"{target}: cannot read branch '{_BRANCH}' ({e})") from e
    session = repo.readonly_session(branch=_BRANCH)
    shapes = _existing_shapes(session)
    meta = (head.metadata or {}).get("vzgen") or {}
    return {"vzgen": meta, "arrays": {k: list(v) for k, v in shapes.items()}, "snapshot": head.id}
