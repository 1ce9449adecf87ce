"""The in-memory shape of a reference store, as vzgen's core hands it to Python.

The reference columns are numpy arrays that view the core's memory (no copy), so a store of
millions of references reaches pyarrow or icechunk without a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray


class Error(Exception):
    """An error of vzgen's core or of one of its writers; the message names what and where."""


@dataclass
class ArrayRefs:
    """One array: its zarr v2 metadata and its chunk references, columnar.

    Entries whose index is in ``inline`` carry their chunk bytes there (already encoded by the
    array's codecs); their path_ids/offsets/lengths mean nothing. An array held in memory has
    ``raw`` (decoded, C order, in the dtype of ``zarray``) or ``strings`` (vlen-utf8) set, one
    chunk covering the whole array and no entries.
    """

    name: str
    zarray: dict[str, Any]
    zattrs: dict[str, Any]
    coords: np.ndarray
    path_ids: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    inline: dict[int, bytes] = field(default_factory=dict)
    raw: bytes | None = None
    strings: list[str | None] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.zarray["shape"])

    @property
    def chunks(self) -> tuple[int, ...]:
        return tuple(self.zarray["chunks"])


@dataclass
class Store:
    """A virtual Zarr store: the URL table, the groups and the arrays.

    Example::

        store = vzgen.build(["a.nc", "b.nc"], loadable_vars=["lat", "lon", "time"])
        store.to_kerchunk("store.parq", format="parquet")
    """

    urls: list[str]
    checksums: list[str | None]
    last_modified: list[int | None]
    groups: list[tuple[str, dict[str, Any]]]
    arrays: list[ArrayRefs]
    meta: dict[str, Any] | None = None

    def array(self, name: str) -> ArrayRefs:
        """The array called ``name`` ("var" or "grp/var")."""
        for a in self.arrays:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def references(self) -> int:
        """The number of chunk entries (references and inline chunks) of every array."""
        return sum(len(a.offsets) for a in self.arrays)

    def to_kerchunk(self, path: str, format: str = "json", *, consolidated: bool = False) -> None:
        """Writes the store as kerchunk references: ``format`` "json" (one file, the same bytes
        as ``vzgen build``) or "parquet" (a directory fsspec opens lazily). The target is
        replaced atomically; an existing store of another format is refused.

        Example: ``store.to_kerchunk("mur.parq", format="parquet")``
        """
        from . import _core, _formats

        _formats.register()
        if format not in ("json", "parquet"):
            raise ValueError(f"format must be 'json' or 'parquet', not {format!r}")
        _core.write(self, path, format, consolidated)

    def to_icechunk(self, repo: Any, **kwargs: Any) -> None:
        """Writes the store into an Icechunk repository (an ``icechunk.Repository``, a local
        directory or ``s3://bucket/prefix/``) through the icechunk library."""
        try:
            from . import icechunk as ic
        except ModuleNotFoundError as e:
            raise Error(_missing(e, "to_icechunk()", "icechunk")) from None
        ic.write_icechunk(self, repo, **kwargs)

    def to_virtualizarr(self) -> xarray.Dataset:
        """The store as an xarray.Dataset of VirtualiZarr ManifestArrays."""
        try:
            from . import virtualizarr as vz
        except ModuleNotFoundError as e:
            raise Error(_missing(e, "to_virtualizarr()", "virtualizarr")) from None
        return vz.to_virtualizarr(self)


def _missing(e: ModuleNotFoundError, what: str, module: str) -> str:
    """One line naming what to install for a missing module."""
    name = (e.name or module).split(".")[0]
    if name == "vzgen":
        return f"{what} needs vzgen.{module}, which this vzgen package does not have"
    return f"{what} needs the {name} package: pip install {name}"
