"""The formats the package adds to the core's registry (kerchunk Parquet, Icechunk), so that the
same command-line code writes them. Writers return one line on failure, which the core reports
as its error."""

from __future__ import annotations

from . import _core
from .store import Error, Store, _missing

_registered = False


def _write_parquet(store: Store, target: str, append: bool, consolidated: bool) -> str | None:
    try:
        from . import parquet

        parquet.write_parquet(store, target, append=append)
    except ModuleNotFoundError as e:
        return _missing(e, "--format parquet", "parquet")
    except (Error, OSError, ValueError) as e:
        return str(e)
    return None


def _read_parquet(target: str) -> Store | str:
    try:
        from . import parquet

        return parquet.read_parquet(target)
    except ModuleNotFoundError as e:
        return _missing(e, "--format parquet", "parquet")
    except (Error, OSError, ValueError, KeyError) as e:
        return f"{target}: not a readable kerchunk Parquet store: {e}"


def _write_icechunk(store: Store, target: str, append: bool, consolidated: bool) -> str | None:
    try:
        from . import icechunk as ic
    except ModuleNotFoundError as e:
        return _missing(e, "--format icechunk", "icechunk")
    try:
        ic.write_icechunk(store, target, append=append)
    except ModuleNotFoundError as e:
        return _missing(e, "--format icechunk", "icechunk")
    except Exception as e:  # noqa: BLE001 (icechunk raises its own types; the line is the error)
        return str(e)
    return None


def register() -> None:
    """Registers the package's formats with the core (once)."""
    global _registered
    if _registered:
        return
    _core.register_format("parquet", _write_parquet, _read_parquet)
    _core.register_format("icechunk", _write_icechunk, None)
    _registered = True
