"""``claster export-eir STORE OUT``: the original one-.npy-per-sample layout (SPEC §10)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app


@app.command("export-eir")
def export_eir_cmd(
    store: Path = typer.Argument(..., help="Store directory from `claster prepare`."),
    out: Path = typer.Argument(..., help="Directory to write {id}_forward.npy / {id}_rev.npy and targets.csv into."),
    split: str = typer.Option(None, "--split", help="Export only this split: train, val or test. [default: all]"),
    genes: str = typer.Option(None, "--genes", help="Comma-separated gene ids to export. [default: all usable]"),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty OUT."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Export usable samples (forward and rev) in the original EIR layout."""
    from claster.export import export_eir

    gene_list = [g for g in genes.split(",") if g.strip()] if genes else None
    path = export_eir(store, out, split=split, genes=gene_list, force=force, progress=not quiet)
    typer.echo(f"exported to {path}")
