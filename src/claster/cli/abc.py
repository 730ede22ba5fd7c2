"""``claster abc``: the Activity-by-Contact score of every element–gene pair from a store."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from claster.cli._app import app


@app.command("abc")
def abc(
    store: Path = typer.Option(..., "--store", help="Store directory from `claster prepare` (tracks, genes, contacts)."),
    elements: Path = typer.Option(..., "--elements", help="BED of candidate elements (chrom, start, end, name; 0-based)."),
    out: Path = typer.Option(..., "--out", "-o", help="ABC TSV to write (chr start end name class TargetGene TargetGeneTSS distance activity contact ABC.Score, then details); a SUMMARY.json goes beside it (OUT with suffix .summary.json)."),
    bedpe: Path = typer.Option(None, "--bedpe", help="Also write the pairs as BEDPE (element, 1 bp at the TSS, ABC score)."),
    genes: Path = typer.Option(None, "--genes", help="Target genes: a GTF or BED6 annotation, every gene type kept. [default: the store's genes (protein-coding unless prepared otherwise)]"),
    chroms: str = typer.Option(None, "--chroms", help="Comma-separated chromosomes. [default: every store chromosome with an element]"),
    max_distance_bp: int = typer.Option(None, "--max-distance-bp", help="Candidate window: element midpoint within this distance of the TSS (bp). [default: 5000000]"),
    activity: str = typer.Option(None, "--activity", help="Track signal over an element: sum over its bases (signal x bp) or mean per base. [default: sum]"),
    accessibility_track: str = typer.Option(None, "--accessibility-track", help="Store track used as accessibility. [default: the first of ATAC, DNase, DHS]"),
    include_promoters: bool = typer.Option(None, "--promoters/--no-promoters", help="Add a TSS +-250 bp element for genes whose TSS no element covers (ABC's include list). [default: on]"),
    fit_powerlaw: bool = typer.Option(None, "--fit-powerlaw/--abc-powerlaw", help="Fit the power law to the store's map, or use ABC's K562 gamma 1.024 and scale 5.959. [default: fit]"),
    config: Path = typer.Option(None, "--config", help="YAML with AbcConfig keys (docs/config.md); flags override it."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """ABC score (Fulco et al. 2019): activity = sqrt(accessibility x H3K27ac) over each element, contact =
    the store's balanced contact (power law where the map has none), normalised over each gene's
    candidates within 5 Mbp."""
    from claster.config import load_config
    from claster.config.link import AbcConfig
    from claster.errors import InputError
    from claster.io.writers import atomic_path
    from claster.link import abc_links, write_abc_bedpe, write_abc_tsv
    from claster.perturb import read_elements
    from claster.store import open_store

    summary_path = out.with_suffix(".summary.json")
    for path in (out, bedpe, summary_path):
        if path is not None and path.exists() and not force:
            raise InputError(f"{path} exists; pass --force to overwrite it or choose another --out")
    cfg = load_config(AbcConfig, config, max_distance_bp=max_distance_bp, activity=activity,
                      accessibility_track=accessibility_track, include_promoters=include_promoters,
                      fit_powerlaw=fit_powerlaw)
    chrom_list = [c.strip() for c in chroms.split(",") if c.strip()] if chroms else None
    gene_table = None
    if genes is not None:
        from claster.io import read_annotation

        gene_table = read_annotation(genes, gene_types=None)
    result = abc_links(open_store(store), read_elements(elements), chroms=chrom_list, config=cfg, genes=gene_table)
    write_abc_tsv(result.table, out)
    if bedpe is not None:
        write_abc_bedpe(result.table, bedpe)
    with atomic_path(summary_path) as tmp:
        tmp.write_text(json.dumps(result.summary, indent=2, default=str) + "\n")
    t = result.table
    typer.echo(f"wrote ABC scores of {len(t):,} pairs ({t['name'].nunique():,} elements, "
               f"{t['TargetGeneEnsemblID'].nunique():,} genes) to {out}")
