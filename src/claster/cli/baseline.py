"""``claster baseline``: reference models evaluated like a trained run."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app

baseline_app = typer.Typer(help="Baselines evaluated with the same metrics as `claster evaluate`.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("linear")
def linear_cmd(
    store: Path = typer.Option(..., "--store", help="Store directory from `claster prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (metrics.json, per_gene.tsv)."),
    split: str = typer.Option("test", "--split", help="Split to evaluate.", show_default=True),
    alpha: float = typer.Option(1.0, "--alpha", help="Ridge penalty.", show_default=True),
) -> None:
    """Ridge regression from promoter marks (TSS +-1 and +-5 kbp) to the 401-bin profile."""
    from claster.evaluate import linear_baseline

    m = linear_baseline(store, out=out, split=split, alpha=alpha)
    typer.echo(f"linear baseline on {split}: bin-wise Pearson {m['binwise_pearson']:.4f}, "
               f"Spearman {m['binwise_spearman']:.4f}; gene-level Pearson {m['gene_pearson']:.4f}")
