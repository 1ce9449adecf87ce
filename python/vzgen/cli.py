"""The ``vzgen`` console command of the package: the core's command line, with every format."""

from __future__ import annotations

import sys

from . import _core, _formats


def main(argv: list[str] | None = None, *, handlers: bool = False) -> int:
    """Runs ``vzgen ARGV...`` (the same commands and exit codes as the vzgen program) and
    returns its exit code. ``handlers`` installs vzgen's SIGINT/SIGTERM handlers (the console
    command does; a library caller keeps Python's).

    Example: ``vzgen.main(["build", "a.nc", "b.nc", "--format", "parquet", "-o", "s.parq"])``
    """
    _formats.register()
    args = sys.argv[1:] if argv is None else list(argv)
    sys.stdout.flush()
    return int(_core.main(["vzgen", *args], handlers))


def run() -> None:
    """The console entry point."""
    sys.exit(main(handlers=True))
