"""The ``claster`` command line: one module per command, one error boundary.

Each command module registers itself on :data:`claster.cli._app.app`. A command body parses its
options, calls the library function of the same name, and writes the result. Library code raises
:class:`claster.errors.ClasterError` for anything a user can cause; :func:`main` prints it as one
line (``error: ...``) and exits with its ``exit_code`` (1; 143/130 for a training stopped by SIGTERM/SIGINT).
Warnings print as one line (``warning: ...``). Any other exception is a bug and keeps its traceback.
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
    "qc",
    "report",
    "demo",
)

for _name in _COMMAND_MODULES:
    if importlib.util.find_spec(f"claster.cli.{_name}") is not None:
        importlib.import_module(f"claster.cli.{_name}")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """``warnings.showwarning`` of the CLI: one line per warning, like errors.

    A :class:`ClasterWarning` prints as ``warning: <message>``; any other warning (a library's) as
    ``warning: <Category>: <message> (<module file>:<line>)`` so its origin stays findable.
    """
    from claster.errors import ClasterWarning

    if issubclass(category, ClasterWarning):
        text = f"warning: {_one_line(message)}"
    else:
        text = f"warning: {category.__name__}: {_one_line(message)} ({filename}:{lineno})"
    stream = file if file is not None else sys.stderr
    try:
        stream.write(text + "\n")
    except (OSError, ValueError):  # a closed or broken stream: the warning is lost, like Python's own
        pass


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``claster`` script.

    Errors a user can cause print as one line ``error: ...`` (exit ``exit_code``, 1); warnings as one line
    ``warning: ...`` (:func:`show_warning`). ``--debug`` keeps Python's tracebacks and warning format.
    """
    import warnings

    from claster.errors import ClasterError, ClasterWarning

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    if argv is not None:
        argv = [a for a in argv if a != "--debug"]
    else:
        sys.argv = [a for a in sys.argv if a != "--debug"]
    with warnings.catch_warnings():
        # Every ClasterWarning reaches the user (each names a different fill, skip or drop).
        warnings.simplefilter("always", ClasterWarning)
        if not debug:
            warnings.showwarning = show_warning
        try:
            app(args=argv, prog_name="claster", standalone_mode=True)
        except ClasterError as e:
            if debug:
                raise
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)
