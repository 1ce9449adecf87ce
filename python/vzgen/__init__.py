"""vzgen: HDF5/netCDF granules to virtual Zarr stores, from Python.

The C++ core scans and combines; this package hands its columnar results to pyarrow (kerchunk
Parquet) and icechunk.

Example::

    import vzgen
    store = vzgen.build(["a.nc", "b.nc"], loadable_vars=["lat", "lon", "time"])
    store.to_kerchunk("store.parq", format="parquet")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _core, _formats
from .cli import main
from .store import ArrayRefs, Error, Store

__all__ = ["ArrayRefs", "Error", "Store", "build", "main", "read"]
__version__: str = _core.__version__

_BUILD_OPTIONS = {
    "concat_dim",
    "new_dim",
    "granule_coord",
    "loadable_vars",
    "identical_vars",
    "inline_threshold",
    "jobs",
    "on_error",
}


def build(inputs: Sequence[str], **options: Any) -> Store:
    """Scans and combines granules (paths or URLs) into one store in memory, as ``vzgen build``
    does, and returns it. Options are the command's, with underscores: ``concat_dim``,
    ``new_dim``, ``granule_coord``, ``loadable_vars``, ``identical_vars`` (lists of names),
    ``inline_threshold``, ``jobs``, ``on_error`` ("fail" or "skip").

    Example: ``vzgen.build(["a.nc", "b.nc"], loadable_vars=["lat", "lon"])``
    """
    unknown = sorted(set(options) - _BUILD_OPTIONS)
    if unknown:
        raise TypeError(f"unknown build options: {', '.join(unknown)}")
    for k in ("loadable_vars", "identical_vars"):
        if isinstance(options.get(k), str):
            options[k] = [v.strip() for v in options[k].split(",") if v.strip()]
    return _core.build([str(i) for i in inputs], options)


def read(path: str) -> Store:
    """Reads a store: kerchunk JSON (vzgen's or another tool's; a path or URL) or a kerchunk
    Parquet directory.

    Example: ``vzgen.read("store.parq").array("sst").offsets``
    """
    _formats.register()
    return _core.read(str(path))


_formats.register()
