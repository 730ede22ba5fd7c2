"""``claster qc``: input QC of a store, on its own and against a trained model (calls :func:`claster.qc.qc`).

Also the shared pieces of the model-vs-store check on ``predict``, ``evaluate``, ``perturb`` and
``attribute``: the ``--match-scale`` option and :func:`warnings_as_lines`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from claster.cli._app import app

MATCH_SCALE_HELP = (
    "Rescale each input track of the store onto the training distribution before standardisation: "
    "none, promoter-median (one factor per track: training / store median at promoters, TSS +-1 kbp) "
    "or quantile (per-track quantile mapping). Recorded in the output's summary."
)


def match_scale_option():
    """The ``--match-scale`` option shared by predict, evaluate, perturb and attribute."""
    return typer.Option("none", "--match-scale", help=MATCH_SCALE_HELP, show_default=True)


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Print every :class:`ClasterWarning` raised inside as one line ``warning: <message>`` on stderr."""
    from claster.errors import ClasterWarning

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ClasterWarning):
            print(f"warning: {message}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("default", ClasterWarning)
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous


def warning_lines(command):
    """Decorator of a command: its :class:`ClasterWarning` s print as ``warning: <message>`` lines."""
    import functools

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        with warnings_as_lines():
            return command(*args, **kwargs)

    return wrapped


@app.command("qc")
def qc_cmd(
    store: Path = typer.Argument(..., help="Store directory from `claster prepare`."),
    run: Path = typer.Option(
        None, "--run", help="Run directory from `claster train`: compare the store with its training inputs."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (qc.json, qc.tsv, figures)."),
) -> None:
    """Input QC of a store: coverage, gaps, quantiles, promoters, target, contacts; shift against a model."""
    from claster.qc import qc

    with warnings_as_lines():
        result = qc(store, run=run, out=out)
    for line in result["verdict"]["actions"]:
        typer.echo(f"action: {line}")
    typer.echo(f"{result['verdict']['line']}; report in {out / 'qc.json'}")
