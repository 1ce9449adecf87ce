"""The in-memory shape of a virtual store, as the core hands it to the Python writers.

Temporary stand-in with exactly the fields of the package's contract, so that the Icechunk
writer and the VirtualiZarr adapter can be built and tested before the extension lands; the
package's own definition replaces this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ArrayRefs:
    """One array: its zarr v2 metadata and its chunk references as parallel numpy columns."""

    name: str  # "var" or "grp/var"
    zarray: dict  # parsed zarr v2 .zarray
    zattrs: dict  # parsed .zattrs, with _ARRAY_DIMENSIONS
    coords: np.ndarray  # (n, rank) uint32: chunk grid index of each reference
    path_ids: np.ndarray  # (n,) uint32: index into Store.urls
    offsets: np.ndarray  # (n,) uint64
    lengths: np.ndarray  # (n,) uint64
    inline: dict[int, bytes] = field(default_factory=dict)  # entry index -> encoded chunk bytes
    raw: bytes | None = None  # whole array decoded, C order, zarray dtype
    strings: list[str | None] | None = None  # whole vlen-utf8 array


@dataclass
class Store:
    """A whole virtual store: the path table with per-granule checksums, groups and arrays."""

    urls: list[str]
    checksums: list[str | None]  # per url: ETag as the server sent it, None; "" unknown
    last_modified: list[int | None]  # per url: seconds since epoch, or None
    groups: list[tuple[str, dict]]  # (name, zattrs); "" is the root, first
    arrays: list[ArrayRefs]
    meta: dict | None = None  # the top-level "vzgen" key
