"""``claster link``: enhancer–gene links from a perturbation effects table (SPEC §7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from claster.cli._app import app


@app.command("link")
def link(
    effects: Annotated[
        Path,
        typer.Option(
            "--effects",
            help="Effects table written by `claster perturb` (DIR/effects.tsv).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Links TSV to write (ABC/ENCODE-rE2G columns).", show_default=False),
    ],
    bedpe: Annotated[
        Path | None,
        typer.Option(
            "--bedpe", help="Also write the links as BEDPE (element, 1 bp at the TSS) for genome browsers."
        ),
    ] = None,
    min_delta: Annotated[
        float,
        typer.Option(
            "--min-delta",
            help="Drop links whose |Δ area| is below this (gene-area units), after scoring.",
            show_default=True,
        ),
    ] = 0.0,
    duplicates: Annotated[
        str,
        typer.Option(
            "--duplicates",
            help="A pair scored in several windows keeps the highest score ('max') or the row of the window "
            "centred on that gene ('reference').",
            show_default=True,
        ),
    ] = "max",
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Store of the scan: adds every candidate pair (elements the active filter skipped too) with "
            "distance, ABC.Score, activity and contact (see docs/linking.md). [default: model links only]",
        ),
    ] = None,
    elements: Annotated[
        Path | None,
        typer.Option(
            "--elements",
            help="With --store: the BED of all candidate elements given to `claster perturb`. [default: "
            "elements.tsv beside --effects, which lists scanned and skipped elements]",
        ),
    ] = None,
    candidate_distance_bp: Annotated[
        int,
        typer.Option(
            "--candidate-distance-bp",
            help="With --store: a pair is a candidate when |TSS - element midpoint| is at most this (bp).",
            show_default=True,
        ),
    ] = 200_000,
    genes: Annotated[
        Path | None,
        typer.Option("--genes", help="With --store: target genes of the candidate pairs, a GTF or BED6 "
                     "annotation with every gene type kept. [default: the store's genes]"),
    ] = None,
    abc_config: Annotated[
        Path | None,
        typer.Option("--abc-config", help="With --store: YAML with AbcConfig keys for the ABC features."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing output files.", show_default=True)
    ] = False,
) -> None:
    """Score element–gene pairs (Δ, ratio-to-max, z-score), mark primary and closest genes, write links."""
    from claster.link import links_table, read_effects, write_links_bedpe, write_links_tsv
    from claster.errors import InputError

    if duplicates not in ("max", "reference"):
        raise InputError(f"--duplicates must be 'max' or 'reference', got {duplicates!r}")
    for path in (out, bedpe):
        if path is not None and path.exists() and not force:
            raise InputError(f"{path} exists; pass --force to overwrite it or choose another path")
    links = links_table(read_effects(effects), min_delta=min_delta, duplicates=duplicates)  # type: ignore[arg-type]
    if elements is not None and store is None:
        raise InputError("--elements needs --store (the ABC features and candidate pairs come from the store)")
    if store is not None:
        links = _with_candidates(links, effects, store, elements, candidate_distance_bp, abc_config, genes)
    write_links_tsv(links, out)
    if bedpe is not None:
        write_links_bedpe(links, bedpe)
    n_el = links["name"].nunique()
    where = f"{out} and {bedpe}" if bedpe is not None else f"{out}"
    typer.echo(f"wrote {len(links):,} links for {n_el:,} elements to {where}")


def _with_candidates(links, effects: Path, store: Path, elements: Path | None, candidate_distance_bp: int,
                     abc_config: Path | None, genes: Path | None = None):
    """Join every candidate pair of the scanned chromosomes, with ABC features, to the model links."""
    import pandas as pd

    from claster.config import load_config
    from claster.config.link import AbcConfig
    from claster.errors import InputError
    from claster.link import store_candidate_links
    from claster.perturb import read_elements
    from claster.store import open_store

    scanned = None
    if elements is None:
        table = effects.parent / "elements.tsv"
        if not table.is_file():
            raise InputError(f"no --elements given and {table} does not exist; pass the BED given to claster perturb")
        els = pd.read_csv(table, sep="\t", dtype={"element_id": str, "chrom": str})
        if "is_active" in els.columns:
            scanned = set(els.loc[els["is_active"].astype(str).str.lower() == "true", "element_id"])
    else:
        els = read_elements(elements)
    cfg = load_config(AbcConfig, abc_config)
    gene_table = None
    if genes is not None:
        from claster.io import read_annotation

        gene_table = read_annotation(genes, gene_types=None)
    out = store_candidate_links(links, open_store(store), els, scanned=scanned, config=cfg, genes=gene_table,
                                candidate_distance_bp=candidate_distance_bp)
    s = out.attrs["summary"]
    typer.echo(f"added {s['n_added_candidates']:,} candidate pairs without a model effect "
               f"({s['n_elements_not_scanned']:,} elements not scanned)")
    return out
