"""kerchunk Parquet references, written and read with pyarrow.

The layout is the one fsspec's ``LazyReferenceMapper`` reads (``fsspec.filesystem("reference",
fo=DIR)``): ``DIR/.zmetadata`` is JSON ``{"metadata": {key: object}, "record_size": N}`` with
every ``.zgroup``/``.zarray``/``.zattrs`` (and vzgen's build record under ``"vzgen"``), and each
array with chunks has ``DIR/<array>/refs.<k>.parq``: rows ``k*N .. k*N+N-1`` of the array's
chunks in row-major chunk-grid order, columns ``path`` (string, null for a missing chunk),
``offset``, ``size`` (int64) and ``raw`` (binary: the chunk itself when it is embedded). Every
file has N rows (the last one padded with missing chunks), as fsspec's own writer makes them.

A store is written into a temporary directory beside the target and swapped into place in one
rename, so a reader sees the old store or the new one (docs/build.md).
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
from typing import Any

import numpy as np

from . import _core
from .store import ArrayRefs, Error, Store

# References per Parquet file. fsspec reads one whole file to serve one chunk and keeps the
# last 128 files it read; a 2.6 M-chunk (MUR-like) variable is 26 files instead of the 261 of
# kerchunk's default. Not yet chosen from measurements (docs/output.md).
DEFAULT_RECORD_SIZE = 100_000


def _schema(pa: Any) -> Any:
    """The record files' schema, with the pandas metadata fsspec's reader (pandas + fastparquet)
    needs to give offset and size back as int64 (without it they come back as floats, which
    file systems refuse as offsets)."""
    import pandas as pd

    template = pd.DataFrame(
        {
            "path": pd.Series([], dtype=object),
            "offset": pd.Series([], dtype="int64"),
            "size": pd.Series([], dtype="int64"),
            "raw": pd.Series([], dtype=object),
        }
    )
    pandas_meta = pa.Schema.from_pandas(template, preserve_index=False).metadata
    return pa.schema(
        [
            pa.field("path", pa.string()),
            pa.field("offset", pa.int64(), nullable=False),
            pa.field("size", pa.int64(), nullable=False),
            pa.field("raw", pa.binary()),
        ],
        metadata=pandas_meta,
    )


def _grid(a: ArrayRefs) -> list[int]:
    return [math.ceil(s / c) if c else 0 for s, c in zip(a.shape, a.chunks)]


def _utf8(a: ArrayRefs) -> bool:
    filters = a.zarray.get("filters") or []
    return not (len(filters) == 1 and filters[0].get("id") == "vlen-array")


def _metadata(store: Store) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name, attrs in store.groups:
        prefix = f"{name}/" if name else ""
        meta[prefix + ".zgroup"] = {"zarr_format": 2}
        meta[prefix + ".zattrs"] = attrs
    for a in store.arrays:
        meta[f"{a.name}/.zarray"] = a.zarray
        meta[f"{a.name}/.zattrs"] = a.zattrs
    return meta


def _write_array(pa: Any, pq: Any, urls: Any, a: ArrayRefs, d: str, record_size: int) -> None:
    grid = _grid(a)
    total = int(np.prod(grid)) if grid else 1
    if total == 0:
        return
    inline: dict[int, bytes]
    if a.raw is not None or a.strings is not None:
        data = a.raw if a.raw is not None else _core.encode_vlen(a.strings, _utf8(a))
        if not data:
            return
        rows = np.zeros(0, dtype=np.int64)
        ids = np.zeros(0, dtype=np.int32)
        offsets = sizes = np.zeros(0, dtype=np.int64)
        inline = {0: data}
    else:
        n = len(a.offsets)
        if a.coords.shape[1] == 0:
            rows = np.zeros(n, dtype=np.int64)
        else:
            rows = np.ravel_multi_index(a.coords.T.astype(np.int64), grid).astype(np.int64)
        ids = a.path_ids.astype(np.int32)
        offsets = a.offsets.astype(np.int64)
        sizes = a.lengths.astype(np.int64)
        inline = {int(rows[i]): b for i, b in a.inline.items()}
        if inline:
            keep = np.ones(n, dtype=bool)
            keep[list(a.inline)] = False
            rows, ids, offsets, sizes = rows[keep], ids[keep], offsets[keep], sizes[keep]
    nrec = math.ceil(total / record_size)
    span = nrec * record_size
    path_idx = np.full(span, -1, dtype=np.int32)
    path_idx[rows] = ids
    col_offset = np.zeros(span, dtype=np.int64)
    col_offset[rows] = offsets
    col_size = np.zeros(span, dtype=np.int64)
    col_size[rows] = sizes
    os.makedirs(d, exist_ok=True)
    schema = _schema(pa)
    by_record: dict[int, dict[int, bytes]] = {}
    for row, b in inline.items():
        by_record.setdefault(row // record_size, {})[row % record_size] = b
    for r in range(nrec):
        lo, hi = r * record_size, (r + 1) * record_size
        idx = path_idx[lo:hi]
        path = urls.take(pa.array(idx, mask=idx < 0))
        raws = by_record.get(r)
        if raws:
            raw = pa.array([raws.get(i) for i in range(record_size)], type=pa.binary())
        else:
            raw = pa.nulls(record_size, type=pa.binary())
        table = pa.table(
            [path, pa.array(col_offset[lo:hi]), pa.array(col_size[lo:hi]), raw], schema=schema
        )
        pq.write_table(table, f"{d}/refs.{r}.parq", compression="zstd", write_statistics=False)


def _swap_into_place(tmp: str, target: str) -> None:
    """Puts the finished directory `tmp` at `target` in one rename (renameat2 RENAME_EXCHANGE
    when a store is already there), then removes what was there."""
    if not os.path.lexists(target):
        os.rename(tmp, target)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, rename_exchange = -100, 2
    fn = getattr(libc, "renameat2", None)
    if fn is not None and fn(at_fdcwd, os.fsencode(tmp), at_fdcwd, os.fsencode(target),
                             rename_exchange) == 0:
        shutil.rmtree(tmp)  # now the old store
        return
    old = tmp + ".old"
    os.rename(target, old)  # no exchange (an old kernel or file system): a short gap
    os.rename(tmp, target)
    shutil.rmtree(old)


def write_parquet(store: Store, target: str, *, record_size: int = DEFAULT_RECORD_SIZE,
                  append: bool = False) -> None:
    """Writes `store` as kerchunk Parquet references at the local directory `target`,
    replacing a Parquet store there atomically. `append` says the store replaces one it was
    combined with (the whole store is rewritten either way).

    Example: ``write_parquet(vzgen.build(files), "store.parq")``
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "://" in target:
        raise Error(f"{target}: Parquet stores are written to local directories only")
    if record_size < 1:
        raise ValueError("record_size must be at least 1")
    target = target.rstrip("/") or target
    parent, base = os.path.split(os.path.abspath(target))
    tmp = os.path.join(parent, f".{base}.tmp{os.getpid()}")
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    try:
        os.makedirs(tmp)
        urls = pa.array(store.urls, type=pa.string())
        for a in store.arrays:
            _write_array(pa, pq, urls, a, os.path.join(tmp, a.name), record_size)
        top: dict[str, Any] = {"metadata": _metadata(store), "record_size": record_size}
        if store.meta is not None:
            top["vzgen"] = store.meta
        with open(os.path.join(tmp, ".zmetadata"), "w", encoding="utf-8") as f:
            json.dump(top, f, separators=(",", ":"))
        for root, _, files in os.walk(tmp):
            for name in files:
                fd = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _column(table: Any, name: str) -> Any:
    return table.column(name) if name in table.column_names else None


def read_parquet(target: str) -> Store:
    """Reads kerchunk Parquet references (vzgen's, kerchunk's or VirtualiZarr's) into a Store.

    Example: ``vzgen.parquet.read_parquet("store.parq").array("sst").offsets``
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    with open(os.path.join(target, ".zmetadata"), encoding="utf-8") as f:
        top = json.load(f)
    record_size = int(top["record_size"])
    meta = {k: json.loads(v) if isinstance(v, str) else v for k, v in top["metadata"].items()}
    groups: list[tuple[str, dict[str, Any]]] = []
    names: list[str] = []
    for key in sorted(meta):
        prefix, _, base = key.rpartition("/")
        if base == ".zgroup":
            groups.append((prefix, meta.get(f"{prefix}/.zattrs" if prefix else ".zattrs", {})))
        elif base == ".zarray":
            names.append(prefix)
    if not groups or groups[0][0] != "":
        groups.insert(0, ("", meta.get(".zattrs", {})))
    urls: list[str] = []
    url_ids: dict[str, int] = {}
    arrays: list[ArrayRefs] = []
    for name in names:
        zarray = meta[f"{name}/.zarray"]
        shape, chunks = list(zarray["shape"]), list(zarray["chunks"])
        grid = [math.ceil(s / c) if c else 0 for s, c in zip(shape, chunks)]
        total = int(np.prod(grid)) if grid else 1
        rows, ids, offs, lens = [], [], [], []
        inline: dict[int, bytes] = {}
        for r in range(math.ceil(total / record_size)):
            path = os.path.join(target, name, f"refs.{r}.parq")
            if not os.path.exists(path):
                continue
            t = pq.read_table(path)
            n = min(t.num_rows, total - r * record_size)
            t = t.slice(0, n)
            base_row = r * record_size
            raw = _column(t, "raw")
            if raw is not None:
                for i in np.flatnonzero(raw.is_valid().to_numpy(zero_copy_only=False)):
                    inline[base_row + int(i)] = raw[int(i)].as_py()
            p = _column(t, "path")
            if p is None:
                continue
            p = p.combine_chunks()
            if not hasattr(p, "dictionary"):
                p = pc.dictionary_encode(p)
            valid = p.is_valid().to_numpy(zero_copy_only=False)
            if raw is not None:
                valid &= ~raw.is_valid().to_numpy(zero_copy_only=False)
            local = [url_ids.setdefault(u, len(url_ids)) for u in p.dictionary.to_pylist()]
            codes = p.indices.to_numpy(zero_copy_only=False)
            sel = np.flatnonzero(valid)
            rows.append(sel + base_row)
            ids.append(np.asarray(local, dtype=np.uint32)[codes[sel].astype(np.int64)]
                       if local else np.zeros(0, np.uint32))
            offs.append(t.column("offset").to_numpy()[sel])
            lens.append(t.column("size").to_numpy()[sel])
        urls = list(url_ids)
        all_rows = np.concatenate(rows + [np.asarray(sorted(inline), dtype=np.int64)]) \
            if rows or inline else np.zeros(0, np.int64)
        n_ref = sum(len(x) for x in rows)
        path_ids = np.concatenate(ids + [np.zeros(len(inline), np.uint32)]) \
            if rows or inline else np.zeros(0, np.uint32)
        offsets = np.concatenate(offs + [np.zeros(len(inline), np.int64)]) \
            if rows or inline else np.zeros(0, np.int64)
        lengths = np.concatenate(lens + [np.zeros(len(inline), np.int64)]) \
            if rows or inline else np.zeros(0, np.int64)
        order = np.argsort(all_rows, kind="stable")
        all_rows = all_rows[order]
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        inline_at = {int(position[n_ref + k]): inline[row] for k, row in enumerate(sorted(inline))}
        coords = (np.stack(np.unravel_index(all_rows, grid), axis=1).astype(np.uint32)
                  if grid else np.zeros((len(all_rows), 0), np.uint32))
        arrays.append(ArrayRefs(
            name=name, zarray=zarray, zattrs=meta.get(f"{name}/.zattrs", {}), coords=coords,
            path_ids=path_ids[order].astype(np.uint32), offsets=offsets[order].astype(np.uint64),
            lengths=lengths[order].astype(np.uint64), inline=inline_at, raw=None, strings=None))
    return Store(urls=urls, checksums=[None] * len(urls), last_modified=[None] * len(urls),
                 groups=groups, arrays=arrays, meta=top.get("vzgen"))
