"""``claster evaluate``: SPEC §5 metrics, per-gene table and figures (calls :func:`claster.evaluate.evaluation.evaluate`)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app
from claster.cli.qc import match_scale_option


@app.command("evaluate")
def evaluate_cmd(
    run: Path = typer.Option(..., "--run", help="Run directory from `claster train`."),
    store: Path = typer.Option(..., "--store", help="Store directory from `claster prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (metrics.json, per_gene.tsv, figures)."),
    split: str = typer.Option("test", "--split", help="Split to evaluate: test, val or train.", show_default=True),
    device: str = typer.Option("cpu", "--device", help="Torch device for inference.", show_default=True),
    batch_size: int = typer.Option(64, "--batch-size", help="Windows per forward pass.", show_default=True),
    plot_genes: str = typer.Option(None, "--plot-genes", help="Comma-separated genes for the profile figure (default: chosen by expression)."),
    compare: list[Path] = typer.Option(None, "--compare", help="Other evaluation directories to compare in a bar chart (repeatable)."),
    match_scale: str = match_scale_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Evaluate a trained run: bin-wise and gene-level Pearson/Spearman (SPEC §5)."""
    from claster.evaluate import compare_runs, evaluate

    metrics = evaluate(run, store, split=split, out=out, device=device, batch_size=batch_size,
                       plot_genes=plot_genes.split(",") if plot_genes else None, progress=not quiet,
                       match_scale=match_scale)
    if compare:
        compare_runs([out, *compare], out / "comparison.png")
    typer.echo(
        f"{split}: bin-wise Pearson {metrics['binwise_pearson']:.4f}, Spearman {metrics['binwise_spearman']:.4f}; "
        f"gene-level Pearson {metrics['gene_pearson']:.4f}, Spearman {metrics['gene_spearman']:.4f} "
        f"({metrics['n_samples']} genes)"
    )
