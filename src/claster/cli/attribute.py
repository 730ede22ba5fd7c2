"""``claster attribute``: integrated gradients, locality curves and structure maps (SPEC §8)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app
from claster.cli.qc import match_scale_option


@app.command("attribute")
def attribute_cmd(
    run: Path = typer.Option(..., "--run", help="Run directory from `claster train`."),
    store: Path = typer.Option(..., "--store", help="Store directory from `claster prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (locality.tsv, maps, figures)."),
    config: Path = typer.Option(None, "--config", help="YAML with AttributionConfig keys; flags override it."),
    split: str = typer.Option(None, "--split", help="Split whose genes are attributed. [default: test]"),
    genes: str = typer.Option(None, "--genes", help="Comma-separated genes to attribute instead of a split."),
    max_samples: int = typer.Option(None, "--max-samples", help="At most N genes (seeded random subset)."),
    output_bins: str = typer.Option(None, "--output-bins", help="'all', a range 'start:stop[:step]' of output indices (200 = TSS), or a comma list. [default: all]"),
    n_steps: int = typer.Option(None, "--n-steps", help="IG integration steps. [default: 64]"),
    n_baseline: int = typer.Option(None, "--n-baseline", help="Training windows averaged into the IG baseline. [default: 256]"),
    engine: str = typer.Option(None, "--engine", help="batched (default) or captum."),
    batch_size: int = typer.Option(None, "--batch-size", help="Interpolated inputs per forward pass; halved on out-of-memory. [default: 64]"),
    jitter: str = typer.Option(None, "--jitter", help="seeded (paper), average (deterministic smoothing) or none. [default: seeded]"),
    bigwig_genes: str = typer.Option(None, "--bigwig-genes", help="Comma-separated genes whose attribution tracks are written as bigWig."),
    seed: int = typer.Option(None, "--seed", help="Seed of the subsets and the jitter. [default: 0]"),
    device: str = typer.Option("cpu", "--device", help="Torch device.", show_default=True),
    match_scale: str = match_scale_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Attribute a trained model's predictions to its inputs (integrated gradients, SPEC §8)."""
    from claster.attribute import attribute
    from claster.config import load_config
    from claster.config.attribution import AttributionConfig

    bins = output_bins
    if bins is not None and "," in bins:
        bins = [int(b) for b in bins.split(",") if b.strip()]
    cfg = load_config(
        AttributionConfig, config, split=split, genes=genes.split(",") if genes else None,
        max_samples=max_samples, output_bins=bins, n_steps=n_steps, n_baseline=n_baseline, engine=engine,
        batch_size=batch_size, jitter=jitter, seed=seed,
        bigwig_genes=bigwig_genes.split(",") if bigwig_genes else None,
    )
    summary = attribute(run, store, cfg, out=out, device=device, progress=not quiet,
                        match_scale=match_scale)
    typer.echo(f"attributed {summary['n_samples']} windows x {summary['n_output_bins']} output bins; "
               f"locality in {out / 'locality.tsv'}")
