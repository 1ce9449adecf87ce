"""vzgen for VirtualiZarr 2.x users: a parser, and vzgen stores as virtual datasets.

- `Parser` is a VirtualiZarr parser: ``open_virtual_dataset(url, parser=Parser(),
  registry=registry)`` and ``open_virtual_mfdataset`` parse each granule with vzgen's native
  core (``vzgen._core.build``) instead of h5py.
- `to_virtualizarr` turns a `vzgen.store.Store` (what ``vzgen.build`` returns) into an
  ``xarray.Dataset`` of VirtualiZarr ``ManifestArray`` s, so ``ds.vz.to_kerchunk()`` and
  ``ds.vz.to_icechunk()`` work on it.

The manifests are built from the Store's numpy columns with ``ChunkManifest.from_arrays``
(one fancy-indexing pass per array, no Python loop per reference). VirtualiZarr's manifests
hold byte ranges only, so what vzgen holds in memory (loadable variables, arrays it decoded,
strings, embedded chunks) is served to VirtualiZarr from an obstore ``MemoryStore`` registered
in the registry under ``memory://vzgen-<id>/``, and `to_virtualizarr` loads those arrays into
numpy. The parser asks the core not to embed small chunks (``inline_threshold=0``), so only
data that exists nowhere else is held in memory.

Example::

    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import LocalStore
    from virtualizarr import open_virtual_mfdataset
    import vzgen.virtualizarr

    registry = ObjectStoreRegistry({"file://": LocalStore()})
    vds = open_virtual_mfdataset(urls, registry=registry, parser=vzgen.virtualizarr.Parser(),
                                 combine="nested", concat_dim="time")
    vds.vz.to_kerchunk("store.json", format="json")
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    from vzgen import _core  # the native core, when the package is built
except ImportError:
    _core = None

try:
    from vzgen import Error as _VzError
except ImportError:  # pragma: no cover - only before the extension package exists
    _VzError = RuntimeError  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    import xarray as xr
    from obspec_utils.registry import ObjectStoreRegistry
    from virtualizarr.manifests import ManifestStore

    from vzgen.store import ArrayRefs, Store

__all__ = ["Parser", "VirtualiZarrError", "in_memory_variables", "manifest_store", "to_virtualizarr"]

_ids = itertools.count()


class VirtualiZarrError(_VzError):  # type: ignore[misc,valid-type]
    """A vzgen store cannot be expressed as VirtualiZarr manifests; the message says which array."""


def _import_virtualizarr() -> Any:
    try:
        import virtualizarr
    except ImportError as e:
        raise VirtualiZarrError("vzgen.virtualizarr needs the Python package 'virtualizarr': "
                                "pip install virtualizarr") from e
    return virtualizarr


def _uri(url: str) -> str:
    return "file://" + url if url.startswith("/") else url


def _path_of(url: str) -> str:
    """What the core opens: file:// URLs as local paths, other URLs as they are."""
    return url.removeprefix("file://")


def in_memory_variables(store: Store) -> list[str]:
    """Arrays of `store` whose bytes vzgen holds in memory (loaded, decoded, strings, embedded
    chunks): VirtualiZarr must load them (``loadable_variables``) before writing references."""
    return [a.name for a in store.arrays if a.raw is not None or a.strings is not None or a.inline]


def _fill_attr(value: Any, dtype: np.dtype) -> Any:
    from xarray.backends.zarr import FillValueCoder

    if dtype.kind == "f" and isinstance(value, str):
        value = {"NaN": np.nan, "nan": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}[value]
    return FillValueCoder.encode(value, dtype)


def _metadata(arr: ArrayRefs, zarray: dict) -> Any:
    """VirtualiZarr's ArrayV3Metadata for a v2 .zarray, through its own kerchunk translator;
    `_FillValue` goes back into the attributes (xarray masks zarr v3 arrays by it), as
    VirtualiZarr's HDF parser does."""
    from virtualizarr.parsers.kerchunk.translator import from_kerchunk_refs

    attrs = {k: v for k, v in arr.zattrs.items() if k != "_ARRAY_DIMENSIONS"}
    dims = list(arr.zattrs.get("_ARRAY_DIMENSIONS", []))
    if isinstance(zarray["dtype"], list):
        raise VirtualiZarrError(f"array {arr.name}: compound dtypes have no VirtualiZarr form")
    dtype = np.dtype(zarray["dtype"]) if zarray["dtype"] != "|O" else np.dtype(object)
    if zarray.get("fill_value") is not None and "_FillValue" not in attrs and dtype.kind in "biuf":
        attrs["_FillValue"] = _fill_attr(zarray["fill_value"], dtype)
    if zarray["dtype"] == "|O":
        if not any(f.get("id") == "vlen-utf8" for f in zarray.get("filters") or []):
            raise VirtualiZarrError(f"array {arr.name}: variable-length sequences have no "
                                    "VirtualiZarr form")
        if zarray.get("compressor") or len(zarray.get("filters") or []) > 1:
            raise VirtualiZarrError(f"array {arr.name}: compressed strings have no VirtualiZarr form")
        from virtualizarr.manifests.utils import create_v3_array_metadata

        # zarr v3's vlen-utf8 serializer reads the same bytes as numcodecs' VLenUTF8
        return create_v3_array_metadata(shape=tuple(zarray["shape"]), data_type=np.dtypes.StringDType(),
                                        chunk_shape=tuple(zarray["chunks"]) or (),
                                        codecs=[{"name": "vlen-utf8", "configuration": {}}],
                                        fill_value="", dimension_names=dims, attributes=attrs)
    z = dict(zarray, dimension_names=dims)
    if not z["shape"]:
        z["chunks"] = []
    try:
        return from_kerchunk_refs(z, attrs)
    except (ValueError, TypeError, KeyError) as e:
        raise VirtualiZarrError(f"array {arr.name}: VirtualiZarr refuses its metadata ({e})") from e


def _grid(zarray: dict) -> tuple[int, ...]:
    return tuple(-(-s // c) if c else 0 for s, c in zip(zarray["shape"], zarray["chunks"]))


def _manifest(arr: ArrayRefs, zarray: dict, paths: np.ndarray, mem_prefix: str,
              mem: dict[str, bytes]) -> Any:
    """The ChunkManifest of `arr`, scattered into the chunk grid with numpy (no loop per ref)."""
    from virtualizarr.manifests import ChunkManifest

    grid = _grid(zarray)
    out_paths = np.full(grid, "", dtype=np.dtypes.StringDType())
    out_offsets = np.zeros(grid, dtype=np.uint64)
    out_lengths = np.zeros(grid, dtype=np.uint64)
    n = len(arr.path_ids)
    if n:
        where = tuple(arr.coords[:, k].astype(np.intp) for k in range(len(grid)))
        out_paths[where] = paths[arr.path_ids]
        out_offsets[where] = arr.offsets
        out_lengths[where] = arr.lengths
    for i, blob in arr.inline.items():  # embedded chunks: few, served from memory
        key = f"{arr.name}/inline/{i}"
        mem[key] = blob
        at = tuple(int(c) for c in arr.coords[i])
        out_paths[at] = mem_prefix + key
        out_offsets[at] = 0
        out_lengths[at] = len(blob)
    return ChunkManifest.from_arrays(paths=out_paths, offsets=out_offsets, lengths=out_lengths,
                                     validate_paths=False)


def _in_memory(arr: ArrayRefs, mem_prefix: str, mem: dict[str, bytes]) -> tuple[dict, Any]:
    """A whole in-memory array as one chunk in the memory store: (zarray, manifest)."""
    from virtualizarr.manifests import ChunkManifest

    shape = list(arr.zarray["shape"])
    if arr.strings is not None:
        import numcodecs

        blob = numcodecs.VLenUTF8().encode(np.array([s or "" for s in arr.strings], dtype=object))
        zarray = dict(arr.zarray, chunks=shape, filters=[{"id": "vlen-utf8"}], compressor=None)
    else:
        blob = arr.raw or b""
        zarray = dict(arr.zarray, chunks=shape, filters=None, compressor=None)
    key = f"{arr.name}/whole"
    mem[key] = bytes(blob)
    grid = tuple(1 for _ in shape)
    manifest = ChunkManifest.from_arrays(
        paths=np.full(grid, mem_prefix + key, dtype=np.dtypes.StringDType()),
        offsets=np.zeros(grid, dtype=np.uint64),
        lengths=np.full(grid, len(blob), dtype=np.uint64), validate_paths=False)
    return zarray, manifest


def manifest_store(store: Store, registry: ObjectStoreRegistry | None = None) -> ManifestStore:
    """`store` as a VirtualiZarr ``ManifestStore`` (groups become nested ``ManifestGroup`` s).

    In-memory data is put in an obstore ``MemoryStore`` registered in `registry` (a new
    registry when none is given, with a ``LocalStore`` for ``file://`` granules)."""
    _import_virtualizarr()
    from obspec_utils.registry import ObjectStoreRegistry
    from obstore.store import LocalStore, MemoryStore
    from virtualizarr.manifests import ManifestArray, ManifestGroup, ManifestStore

    if registry is None:
        registry = ObjectStoreRegistry({"file://": LocalStore()} if any(
            u.startswith(("/", "file://")) for u in store.urls) else {})
    mem_prefix = f"memory://vzgen-{os.getpid()}-{next(_ids)}/"
    mem: dict[str, bytes] = {}
    paths = np.array([_uri(u) for u in store.urls] or [""], dtype=np.dtypes.StringDType())

    groups: dict[str, dict] = {name: {"attrs": attrs, "arrays": {}} for name, attrs in store.groups}
    groups.setdefault("", {"attrs": {}, "arrays": {}})
    for arr in store.arrays:
        parent, _, leaf = arr.name.rpartition("/")
        if arr.raw is not None or arr.strings is not None:
            zarray, manifest = _in_memory(arr, mem_prefix, mem)
        else:
            zarray, manifest = arr.zarray, None
        metadata = _metadata(arr, zarray)
        if manifest is None:
            manifest = _manifest(arr, zarray, paths, mem_prefix, mem)
        groups.setdefault(parent, {"attrs": {}, "arrays": {}})["arrays"][leaf] = ManifestArray(
            metadata=metadata, chunkmanifest=manifest)

    def build(name: str) -> Any:
        children = {g.rpartition("/")[2]: build(g) for g in groups
                    if g and g.rpartition("/")[0] == name and g != name}
        return ManifestGroup(arrays=groups[name]["arrays"], groups=children,
                             attributes=groups[name]["attrs"])

    if mem:
        memory = MemoryStore()
        for key, blob in mem.items():
            memory.put(key, blob)
        registry.register(mem_prefix, memory)
    return ManifestStore(group=build(""), registry=registry)


def to_virtualizarr(store: Store, *, registry: ObjectStoreRegistry | None = None,
                    loadable_variables: Iterable[str] | None = None, group: str = "",
                    decode_times: bool | None = None) -> xr.Dataset:
    """An ``xarray.Dataset`` of VirtualiZarr ``ManifestArray`` s for `store` (one group).

    The arrays vzgen holds in memory are always loaded (numpy, decoded as xarray decodes them);
    `loadable_variables` adds others, read through `registry`.

    Example::

        vds = to_virtualizarr(vzgen.build(["a.nc", "b.nc"], loadable_vars=["lat", "lon"]))
        vds.vz.to_kerchunk("store.parq", format="parquet")
    """
    prefix = f"{group}/" if group else ""
    loaded = [n[len(prefix):] for n in in_memory_variables(store)
              if n.startswith(prefix) and "/" not in n[len(prefix):]]
    wanted = list(dict.fromkeys([*loaded, *(loadable_variables or [])]))
    ms = manifest_store(store, registry)
    return ms.to_virtual_dataset(group=group, loadable_variables=wanted, decode_times=decode_times)


class Parser:
    """A VirtualiZarr parser that reads granules with vzgen's native core.

    Keyword arguments are ``vzgen.build``'s options (``loadable_vars``, ``drop_vars``, ...);
    small chunks are not embedded (``inline_threshold=0``) unless asked.

    Example::

        vds = virtualizarr.open_virtual_dataset("file:///data/g.nc", registry=registry,
                                                parser=vzgen.virtualizarr.Parser())
    """

    def __init__(self, **build_options: Any) -> None:
        self.build_options = {"inline_threshold": 0, **build_options}

    def build(self, urls: Sequence[str]) -> Store:
        """The Store of `urls` from the core (override to take Stores from elsewhere)."""
        if _core is None:
            raise VirtualiZarrError("vzgen.virtualizarr.Parser needs vzgen's native extension "
                                    "(vzgen._core): install the package with pip install <checkout>")
        import vzgen

        return vzgen.build([_path_of(u) for u in urls], **self.build_options)

    def __call__(self, url: str, registry: ObjectStoreRegistry) -> ManifestStore:
        return manifest_store(self.build([url]), registry)
