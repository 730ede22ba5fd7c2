"""``claster predict``: predicted profiles, gene-body means and a bigWig (calls :func:`claster.predict.profiles.predict`)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app
from claster.cli.qc import match_scale_option


@app.command("predict")
def predict_cmd(
    run: Path = typer.Option(..., "--run", help="Run directory from `claster train` (or its model/)."),
    store: Path = typer.Option(..., "--store", help="Store directory from `claster prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    genes: str = typer.Option(None, "--genes", help="Comma-separated gene ids or names."),
    chrom: str = typer.Option(None, "--chrom", help="Every gene of this chromosome (or its tiling with --tile-bp)."),
    regions: Path = typer.Option(None, "--regions", help="BED of loci; windows centred on each midpoint."),
    tile_bp: int = typer.Option(None, "--tile-bp", help="Tile the genome (or --chrom) with window centres every N bp."),
    all_genes: bool = typer.Option(False, "--all-genes", help="Every gene of the store (genome-wide), one chromosome at a time."),
    device: str = typer.Option("cpu", "--device", help="Torch device for inference: cpu, cuda, cuda:1.", show_default=True),
    batch_size: int = typer.Option(64, "--batch-size", help="Windows per forward pass.", show_default=True),
    off_chromosome: str = typer.Option("pad", "--off-chromosome", help="Windows running off a chromosome end: 'pad' (zeros beyond the end; a warning and the padded_fraction column) or 'skip' (left out, with a warning).", show_default=True),
    no_bigwig: bool = typer.Option(False, "--no-bigwig", help="Skip the predicted-signal bigWig."),
    match_scale: str = match_scale_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Predict nascent transcription profiles (401 x 1 kbp) and write TSV + bigWig."""
    from claster.predict import predict

    summary = predict(
        run, store, genes=genes.split(",") if genes else None, chrom=chrom, regions=regions, tile_bp=tile_bp,
        all_genes=all_genes, out=out, device=device, batch_size=batch_size, bigwig=not no_bigwig, progress=not quiet,
        match_scale=match_scale, off_chromosome=off_chromosome,
    )
    typer.echo(f"{summary['n_windows']} windows predicted; profiles in {out / 'profiles.tsv'}")
