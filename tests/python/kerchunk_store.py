"""Loads a kerchunk JSON store (as `vzgen build` writes it) into the `vzgen.store.Store` shape.

The tests of the Python writers use it to make Stores from real builds before the extension
can hand them over; it reads the references exactly as fsspec's reference filesystem does
(`[url, offset, length]`, inline text or `base64:` bytes, `[url]` for a whole file).
"""

from __future__ import annotations

import base64
import json
import os
import re

import numpy as np
from vzgen.store import ArrayRefs, Store

_CHUNK_KEY = re.compile(r"^(?:(.*)/)?([0-9]+(?:\.[0-9]+)*)$")


def _inline_bytes(value: str) -> bytes:
    if value.startswith("base64:"):
        return base64.b64decode(value[len("base64:"):])
    return value.encode()


def load_kerchunk(path: str) -> Store:
    """The Store a kerchunk JSON file describes; local granules get their mtime as checksum."""
    with open(path, encoding="utf-8") as f:
        top = json.load(f)
    refs = top["refs"]
    groups: list[tuple[str, dict]] = []
    arrays: dict[str, dict] = {}
    for key, value in refs.items():
        base, _, leaf = key.rpartition("/")
        if leaf == ".zgroup":
            attrs = json.loads(refs.get(f"{base}/.zattrs" if base else ".zattrs", "{}"))
            groups.append((base, attrs))
        elif leaf == ".zarray":
            arrays[base] = {"zarray": json.loads(value), "chunks": []}
    for key, value in refs.items():
        m = _CHUNK_KEY.match(key)
        if m and (m.group(1) or "") in arrays:
            arrays[m.group(1) or ""]["chunks"].append((m.group(2), value))
    groups.sort(key=lambda g: (g[0] != "", g[0]))
    urls: list[str] = []
    url_ids: dict[str, int] = {}
    out = []
    for name, a in sorted(arrays.items()):
        zarray = a["zarray"]
        rank = len(zarray["shape"])
        n = len(a["chunks"])
        coords = np.zeros((n, rank), dtype=np.uint32)
        path_ids = np.zeros(n, dtype=np.uint32)
        offsets = np.zeros(n, dtype=np.uint64)
        lengths = np.zeros(n, dtype=np.uint64)
        inline: dict[int, bytes] = {}
        for i, (ckey, value) in enumerate(sorted(a["chunks"])):
            coords[i] = [int(c) for c in ckey.split(".")][:rank] if rank else []
            if isinstance(value, str):
                inline[i] = _inline_bytes(value)
                continue
            url = value[0]
            if url not in url_ids:
                url_ids[url] = len(urls)
                urls.append(url)
            path_ids[i] = url_ids[url]
            if len(value) == 3:
                offsets[i], lengths[i] = value[1], value[2]
            else:
                offsets[i], lengths[i] = 0, os.path.getsize(url)
        zattrs = json.loads(refs.get(f"{name}/.zattrs", "{}"))
        out.append(ArrayRefs(name=name, zarray=zarray, zattrs=zattrs, coords=coords,
                             path_ids=path_ids, offsets=offsets, lengths=lengths,
                             inline=inline, raw=None, strings=None))
    last_modified: list[int | None] = []
    for u in urls:
        local = u.removeprefix("file://")
        last_modified.append(int(os.stat(local).st_mtime) if os.path.isabs(local) else None)
    return Store(urls=urls, checksums=[None] * len(urls), last_modified=last_modified,
                 groups=groups, arrays=out, meta=top.get("vzgen"))


def materialise(store: Store, json_path: str) -> Store:
    """Arrays whose every chunk is embedded become whole in-memory arrays (`raw` / `strings`),
    as the core hands loadable and decoded variables over; values read through zarr."""
    import fsspec
    import zarr

    fs = fsspec.filesystem("reference", fo=json_path)
    group = zarr.open_group(fs.get_mapper(""), mode="r", zarr_format=2)  # type: ignore[arg-type]
    for arr in store.arrays:
        if len(arr.path_ids) == 0 or len(arr.inline) != len(arr.path_ids):
            continue
        if isinstance(arr.zarray["dtype"], list):
            continue  # compounds: left as embedded chunks
        codecs = {f.get("id") for f in arr.zarray.get("filters") or []}
        if arr.zarray["dtype"] == "|O" and "vlen-utf8" not in codecs:
            continue  # vlen sequences: no in-memory form in the Store, left embedded
        try:
            values = group[arr.name][...]
        except (ValueError, TypeError, KeyError):
            continue  # a dtype zarr cannot read (compounds): left as embedded chunks
        z = dict(arr.zarray, filters=None, compressor=None, chunks=list(arr.zarray["shape"]))
        if z["dtype"] == "|O":
            arr.strings = [None if v is None else str(v) for v in np.asarray(values).ravel().tolist()]
        else:
            arr.raw = np.ascontiguousarray(values, dtype=np.dtype(z["dtype"])).tobytes()
        arr.zarray = z
        empty = np.zeros(0, dtype=np.uint64)
        arr.coords = np.zeros((0, len(z["shape"])), dtype=np.uint32)
        arr.path_ids = np.zeros(0, dtype=np.uint32)
        arr.offsets, arr.lengths, arr.inline = empty, empty.copy(), {}
    return store


def load_store(json_path: str) -> Store:
    """`load_kerchunk` + `materialise`: the Store the core would hand over for this build."""
    return materialise(load_kerchunk(json_path), json_path)


def new_part(full: Store, old_shapes: dict[str, list[int]], concat_dim: str) -> Store:
    """What an append hands the writer: of `full` (a build of old + new granules) only the
    references past the old extent along `concat_dim`, and the whole in-memory arrays."""
    arrays = []
    for arr in full.arrays:
        if arr.raw is not None or arr.strings is not None:
            arrays.append(arr)
            continue
        dims = arr.zattrs.get("_ARRAY_DIMENSIONS", [])
        if concat_dim not in dims:
            continue
        k = dims.index(concat_dim)
        first = old_shapes[arr.name][k] // arr.zarray["chunks"][k]
        keep = np.flatnonzero(arr.coords[:, k] >= first)
        remap = {int(j): i for i, j in enumerate(keep)}
        arrays.append(ArrayRefs(
            name=arr.name, zarray=arr.zarray, zattrs=arr.zattrs, coords=arr.coords[keep],
            path_ids=arr.path_ids[keep], offsets=arr.offsets[keep], lengths=arr.lengths[keep],
            inline={remap[j]: b for j, b in arr.inline.items() if j in remap}, raw=None,
            strings=None))
    return Store(urls=full.urls, checksums=full.checksums, last_modified=full.last_modified,
                 groups=full.groups, arrays=arrays, meta=full.meta)
