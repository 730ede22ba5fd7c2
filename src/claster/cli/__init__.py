"""The ``claster`` command line: one module per command, one error boundary.

Each command module registers itself on :data:`claster.cli._app.app`. A command body parses its
options, calls the library function of the same name, and writes the result. Library code raises
:class:`claster.errors.ClasterError` for anything a user can cause; :func:`main` prints it as one
line (``error: ...``) and exits 1. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from claster.cli._app import app

__all__ = ["app", "main"]

_COMMAND_MODULES = (
    "simulate",
    "prepare",
    "store",
    "export",
    "model",
    "train",
    "predict",
    "evaluate",
    "baseline",
    "perturb",
    "link",
    "abc",
    "fuse",
    "benchmark",
    "attribute",
    "report",
    "demo",
)

for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"claster.cli.{_name}") is not None:
        importlib.import_module(f"claster.cli.{_name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``claster`` script."""
    from claster.errors import ClasterError

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    if argv is not None:
        argv = [a for a in argv if a != "--debug"]
    else:
        sys.argv = [a for a in sys.argv if a != "--debug"]
    try:
        app(args=argv, prog_name="claster", standalone_mode=True)
    except ClasterError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
