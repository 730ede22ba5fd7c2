"""``claster prepare``: input files (bigWig, GTF/BED, contacts) -> a genome-wide store (SPEC §2)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app


def _parse_tracks(items: list[str]) -> dict[str, str | None]:
    from claster.errors import InputError

    tracks: dict[str, str | None] = {}
    for item in items:
        role, sep, path = item.partition("=")
        if not sep or not role or not path:
            raise InputError(f"--track {item!r} is not ROLE=PATH; write e.g. --track H3K27ac=k27ac.bw (or ATAC=none)")
        if role in tracks:
            raise InputError(f"--track role {role} is given twice; give each role once")
        tracks[role] = None if path.lower() == "none" else path
    return tracks


@app.command("prepare")
def prepare_cmd(
    track: list[str] = typer.Option(
        None, "--track", help="Input track ROLE=PATH (bigWig), repeated in model row order; ROLE=none declares a "
        "role missing (stored as zeros). [default from --config; the paper: ATAC, H3K4me3, H3K27ac, H3K27me3]"
    ),
    target: list[str] = typer.Option(None, "--target", help="Target bigWig; repeat to sum several per base (e.g. + and - strands)."),
    target_clip: float = typer.Option(None, "--target-clip", help="Clip the 20 bp target at this value (signal units). [default: none]"),
    annotation: str = typer.Option(None, "--annotation", help="Genes: GTF (1-based) or BED6 (0-based)."),
    gene_type: list[str] = typer.Option(None, "--gene-type", help="Keep genes of this gene_type (repeatable). [default: protein_coding]"),
    chroms: str = typer.Option(None, "--chroms", help="Comma-separated chromosomes to restrict the store to. [default: all annotated]"),
    contacts: str = typer.Option(None, "--contacts", help="Contacts: FILE.hic, FILE.mcool::/resolutions/1600 (legacy zoom levels: FILE.mcool::/13), FILE.cool, or a text dump 'start1 start2 count'."),
    contacts_resolution: int = typer.Option(None, "--contacts-resolution", help="Resolution in bp to read from a multi-resolution .hic/.mcool (e.g. 1600). [default: the file's only one]"),
    contacts_normalization: str = typer.Option(None, "--contacts-normalization", help="'auto' (first available of weight, ICE, SCALE, KR, VC_SQRT, VC; else ICE computed by claster), 'none' (raw counts) or a name in the file (e.g. KR). [default: auto]"),
    contacts_bin_bp: int = typer.Option(None, "--contacts-bin-bp", help="Bin size in bp of a text contact dump."),
    contacts_chrom: str = typer.Option(None, "--contacts-chrom", help="Chromosome of a single-chromosome text dump. [default: from the file name]"),
    chrom_sizes: str = typer.Option(None, "--chrom-sizes", help="Chrom sizes file (name, length in bp). [default: the first track's header]"),
    pchic: str = typer.Option(None, "--pchic", help="Promoter-capture Hi-C at 5 kbp: FILE.mcool::/resolutions/5000."),
    test_chroms: str = typer.Option(None, "--test-chroms", help="Comma-separated test chromosomes. [default: chr4]"),
    val_chroms: str = typer.Option(None, "--val-chroms", help="Comma-separated validation chromosomes. [default: chr17]"),
    dtype: str = typer.Option(None, "--dtype", help="Storage type of the 100 bp tracks: float32 or float16. [default: float32]"),
    chrom_aliases: str = typer.Option(None, "--chrom-aliases", help="'auto' (add/strip 'chr'), 'none' (identical names) or a mapping ann=track,... (e.g. 1=chr1). [default: auto]"),
    missing_as_zero: bool = typer.Option(None, "--missing-as-zero/--covered-mean", help="Average each bin over all its bases (no data = 0) instead of over covered bases. [default: covered mean]"),
    cache_rotated: bool = typer.Option(None, "--cache-rotated/--no-cache-rotated", help="Precompute rotated contact windows of usable genes. [default: on]"),
    config: Path = typer.Option(None, "--config", help="YAML with PrepareConfig keys; flags override it."),
    out: Path = typer.Option(..., "--out", "-o", help="Store directory to write (resumed when it holds the same store)."),
    force: bool = typer.Option(False, "--force", help="Replace a different store already in --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Prepare bigWigs, a gene annotation and optional contacts (.hic, .mcool, .cool) into a store."""
    from claster.config import load_config
    from claster.config.prepare import PrepareConfig
    from claster.store import build_store, open_store

    aliases: str | dict[str, str] | None = chrom_aliases
    if chrom_aliases is not None and "=" in chrom_aliases:
        aliases = dict(pair.split("=", 1) for pair in chrom_aliases.split(",") if "=" in pair)

    def csv(v: str | None) -> list[str] | None:
        return [x.strip() for x in v.split(",") if x.strip()] if v is not None else None

    cfg = load_config(
        PrepareConfig, config,
        tracks=_parse_tracks(track) if track else None, target=list(target) if target else None,
        target_clip=target_clip, annotation=annotation, gene_types=list(gene_type) if gene_type else None,
        chroms=csv(chroms), contacts=contacts, contacts_resolution=contacts_resolution,
        contacts_normalization=contacts_normalization, contacts_bin_bp=contacts_bin_bp, contacts_chrom=contacts_chrom,
        chrom_sizes=chrom_sizes, pchic=pchic, test_chroms=csv(test_chroms), val_chroms=csv(val_chroms),
        dtype=dtype, chrom_aliases=aliases, missing_as_zero=missing_as_zero, cache_rotated=cache_rotated,
    )
    path = build_store(cfg, out, force=force, progress=not quiet)
    store = open_store(path)
    counts = store.manifest.get("counts", {})
    usable = sum(c["usable"] for c in counts.values())
    total = sum(c["genes"] for c in counts.values())
    typer.echo(f"store written to {path}: {len(store.chroms)} chromosomes, {usable} of {total} genes usable")
