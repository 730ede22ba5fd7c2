"""``claster qc``: input QC of a store, on its own and against a trained model (calls :func:`claster.qc.qc`).

Also the ``--match-scale`` option shared by ``predict``, ``evaluate``, ``perturb`` and ``attribute``.
Warnings print as one ``warning:`` line through :func:`claster.cli.main`, like every command's.
"""

from __future__ import annotations

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

    result = qc(store, run=run, out=out)
    for line in result["verdict"]["actions"]:
        typer.echo(f"action: {line}")
    typer.echo(f"{result['verdict']['line']}; report in {out / 'qc.json'}")
