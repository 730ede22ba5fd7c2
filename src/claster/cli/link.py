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
    write_links_tsv(links, out)
    if bedpe is not None:
        write_links_bedpe(links, bedpe)
    n_el = links["name"].nunique()
    where = f"{out} and {bedpe}" if bedpe is not None else f"{out}"
    typer.echo(f"wrote {len(links):,} links for {n_el:,} elements to {where}")
