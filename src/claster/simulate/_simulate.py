"""``simulate_genome``: draw a synthetic genome with known truth and write it in real file formats."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from claster.errors import InputError
from claster.atomic import current_umask
from claster.io.writers import atomic_path, write_bigwig, write_tsv
from claster.simulate._genome import Layout, layout_genome
from claster.simulate._params import (
    PRESETS,
    SimParams,
    apply_overrides,
    parse_set_options,
    preset_params,
    read_params_file,
)

__all__ = ["simulate_genome", "resolve_params", "MARK_TRACKS", "TEST_CHROM", "VAL_CHROM"]

MARK_TRACKS: tuple[str, ...] = ("ATAC", "H3K4me3", "H3K27ac", "H3K27me3")
TEST_CHROM = "chr4"
VAL_CHROM = "chr17"


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _gtf_text(genes: pd.DataFrame, chrom_order: list[str]) -> str:
    """GENCODE-style GTF: one ``gene`` and one ``transcript`` row per gene, 1-based inclusive."""
    lines = [
        "##description: claster simulated genome (GENCODE-style)",
        "##provider: claster",
        "##format: gtf",
    ]
    g = genes.assign(_c=genes["chrom"].map(chrom_order.index)).sort_values(["_c", "start_bp"])
    for k, row in enumerate(g.itertuples(index=False)):
        tx_id = f"ENSMUST{100_000 + 17 * k:011d}.1"
        gene_attr = (
            f'gene_id "{row.gene_id}"; gene_type "{row.gene_type}"; gene_name "{row.gene_name}"; level 2;'
        )
        tx_attr = (
            f'gene_id "{row.gene_id}"; transcript_id "{tx_id}"; gene_type "{row.gene_type}"; '
            f'gene_name "{row.gene_name}"; transcript_type "{row.gene_type}"; '
            f'transcript_name "{row.gene_name}-201"; level 2;'
        )
        common = f"{row.chrom}\tclaster_sim\t{{}}\t{row.start_bp + 1}\t{row.end_bp}\t.\t{row.strand}\t.\t"
        lines.append(common.format("gene") + gene_attr)
        lines.append(common.format("transcript") + tx_attr)
    return "\n".join(lines) + "\n"


def _bed_text(enh: pd.DataFrame) -> str:
    """BED6 of the enhancers: chrom, start, end, enhancer_id, activity score, '.' (no strand)."""
    lines = [
        f"{r.chrom}\t{r.start_bp}\t{r.end_bp}\t{r.enhancer_id}\t{r.activity:.4f}\t."
        for r in enh.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"


def _summary(layout: Layout, params: SimParams) -> dict:
    genes = layout.genes
    half = 500_050
    window_ok = (genes["tss_bp"] - half >= 0) & (
        genes["tss_bp"] + half <= genes["chrom"].map(params.chrom_sizes)
    )
    return {
        "n_genes": int(len(genes)),
        "n_genes_by_chrom": {c: int((genes["chrom"] == c).sum()) for c in params.chrom_sizes},
        "n_protein_coding": int((genes["gene_type"] == "protein_coding").sum()),
        "n_silent": int(genes["silent"].sum()),
        "n_genes_with_full_1mbp_window": int(window_ok.sum()),
        "n_protein_coding_with_full_1mbp_window": int(
            (window_ok & (genes["gene_type"] == "protein_coding")).sum()
        ),
        "n_enhancers": int(len(layout.enhancers)),
        "n_active_enhancers": int(layout.enhancers["active"].sum()),
        "n_pairs": int(len(layout.pairs)),
        "n_regulated_pairs": int(layout.pairs["regulated"].sum()),
        "n_bivalent": int(genes["bivalent"].sum()),
        "n_polycomb": int(genes["polycomb"].sum()),
        "n_head_to_head": int(genes["head_to_head"].sum()),
        "n_loops": int(len(layout.loops)),
        "gaps": [
            {"chrom": r.chrom, "start_bp": int(r.start_bp), "end_bp": int(r.end_bp)}
            for r in layout.gaps.itertuples(index=False)
        ],
    }


def resolve_params(
    *,
    seed: int = 0,
    preset: str = "small",
    world: str = "default",
    params: SimParams | str | os.PathLike | Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | list[str] | tuple[str, ...] | None = None,
) -> SimParams:
    """The parameters ``simulate_genome`` uses: the world's, then ``params`` (a file or mapping), then
    ``overrides``."""
    from claster.simulate.worlds import world_params

    if isinstance(params, SimParams):
        base = params
    else:
        base = preset_params(preset) if world == "default" else world_params(world, seed, preset)
        if params is not None:
            mapping = params if isinstance(params, Mapping) else read_params_file(params)
            source = "params" if isinstance(params, Mapping) else str(params)
            base = apply_overrides(base, mapping, source=source)
    if overrides:
        if not isinstance(overrides, Mapping):
            overrides = parse_set_options(overrides)
        base = apply_overrides(base, overrides, source="--set")
    return base


def simulate_genome(
    out: str | os.PathLike,
    *,
    seed: int = 0,
    preset: Literal["small", "full"] = "small",
    force: bool = False,
    progress: bool = True,
    params: SimParams | str | os.PathLike | Mapping[str, Any] | None = None,
    world: Literal["default", "random"] = "default",
    overrides: Mapping[str, Any] | list[str] | tuple[str, ...] | None = None,
) -> Path:
    """Simulate a genome with known regulatory truth and write it in real formats under ``out``.

    Writes ``chrom.sizes``, ``tracks/{ATAC,H3K4me3,H3K27ac,H3K27me3}.bw`` and ``EUseq.bw`` (20 bp
    fixed-step bigWigs, mean signal per bin in arbitrary units ~0-100, no data inside gaps),
    ``genes.gtf`` (GENCODE-style, 1-based), ``enhancers.bed`` (BED6, score = activity),
    ``contacts.mcool`` (1,600 and 5,000 bp, balanced), ``truth/genes.tsv``, ``truth/pairs.tsv``,
    ``prepare.yaml`` (a config for ``claster prepare`` with absolute paths) and ``simulation.json``.
    The generative model is described by :class:`claster.simulate.SimParams`.

    Parameters
    ----------
    out
        Output directory; it must not exist unless ``force``. It is built in a temporary sibling
        directory and moved into place at the end.
    seed
        Seed of ``np.random.default_rng``, the only source of randomness: the same seed gives
        identical files.
    preset
        ``small`` (6 chromosomes, 48 Mbp, ~700 genes; well under a minute) or ``full`` (20
        chromosomes of 21-40 Mbp, ~9,000 genes; several minutes).
    force
        Replace an existing ``out``.
    progress
        Show a progress bar over the writing steps.
    params
        A complete :class:`SimParams` (replaces the world's), or a YAML file / mapping of some of its
        fields applied on top of the world's (CLI ``--params FILE.yaml``). The chromosomes should include
        ``chr4`` and ``chr17`` for the default split.
    world
        ``default``: the preset's parameters; ``random``: every parameter drawn from the documented
        ranges of :data:`claster.simulate.worlds.RANDOM_RANGES` with ``seed``
        (:func:`~claster.simulate.worlds.random_world_params`).
    overrides
        Fields to set last, as ``{KEY: VALUE}`` or ``["KEY=VALUE", ...]`` (CLI ``--set``; values read
        as YAML); validated, an unknown key is an error listing the valid keys.

    Returns
    -------
    The output directory.
    """
    from tqdm.auto import tqdm

    from claster import __version__
    from claster.simulate._contacts import simulate_bands, write_mcool
    from claster.simulate._tracks import simulate_tracks

    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    params = resolve_params(seed=int(seed), preset=preset, world=world, params=params, overrides=overrides)
    missing = [c for c in (TEST_CHROM, VAL_CHROM) if c not in params.chrom_sizes]
    if missing:
        raise InputError(
            f"chrom_sizes lacks {', '.join(missing)}: the simulated genome's split needs {TEST_CHROM} (test) "
            f"and {VAL_CHROM} (validation); add them to chrom_sizes"
        )
    out = Path(out).absolute()
    if out.exists() and not force:
        raise InputError(
            f"output directory {out} already exists; choose another path or pass --force to replace it"
        )
    if not out.parent.is_dir():
        raise InputError(f"parent directory {out.parent} does not exist; create it first")

    rng = np.random.default_rng(int(seed))
    chrom_order = list(params.chrom_sizes)
    steps = ["layout", "tracks", "bigwigs", "contacts", "tables"]
    bar = tqdm(total=len(steps), desc=f"simulate {preset if world == 'default' else world}", unit="step",
               disable=not progress)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    tmp.chmod(0o777 & ~current_umask())  # mkdtemp creates 0700
    try:
        layout = layout_genome(params, rng)
        bar.update()
        tracks = simulate_tracks(params, rng, layout.genes, layout.enhancers, layout.gaps)
        bar.update()
        (tmp / "tracks").mkdir()
        for name, by_chrom in tracks.items():
            dest = tmp / ("EUseq.bw" if name == "EUseq" else f"tracks/{name}.bw")
            values = {c: (v, params.signal_bin_bp) for c, v in by_chrom.items()}
            write_bigwig(dest, params.chrom_sizes, values)
        del tracks
        bar.update()
        bands = {
            res: simulate_bands(params, rng, layout.domains, layout.gaps, res, loops=layout.loops)
            for res in params.contact_resolutions_bp
        }
        meta = {"seed": int(seed), "preset": preset, "world": world}
        write_mcool(tmp / "contacts.mcool", params.chrom_sizes, bands, metadata=meta)
        del bands
        bar.update()
        _write_text(tmp / "chrom.sizes", "".join(f"{c}\t{s}\n" for c, s in params.chrom_sizes.items()))
        _write_text(tmp / "genes.gtf", _gtf_text(layout.genes, chrom_order))
        _write_text(tmp / "enhancers.bed", _bed_text(layout.enhancers))
        (tmp / "truth").mkdir()
        write_tsv(layout.genes, tmp / "truth" / "genes.tsv", float_format="%.6g")
        write_tsv(layout.pairs, tmp / "truth" / "pairs.tsv", float_format="%.6g")
        write_tsv(layout.domains, tmp / "truth" / "domains.tsv")
        write_tsv(layout.enhancers, tmp / "truth" / "enhancers.tsv", float_format="%.6g")
        write_tsv(layout.loops, tmp / "truth" / "loops.tsv", float_format="%.6g")
        prepare = {
            "tracks": {name: str(out / "tracks" / f"{name}.bw") for name in MARK_TRACKS},
            "target": [str(out / "EUseq.bw")],
            "annotation": str(out / "genes.gtf"),
            "contacts": f"{out / 'contacts.mcool'}::/resolutions/1600",
            "test_chroms": [TEST_CHROM],
            "val_chroms": [VAL_CHROM],
        }
        _write_text(tmp / "prepare.yaml", yaml.safe_dump(prepare, sort_keys=False))
        info = {
            "seed": int(seed),
            "preset": preset,
            "world": world,
            "claster_version": __version__,
            "parameters": params.to_json(),
            "summary": _summary(layout, params),
            "track_units": "mean signal per 20 bp bin, arbitrary units (~0-100); no data inside gaps",
            "effect_definition": "rate without the enhancer / rate with it - 1 (0 for silent genes)",
        }
        _write_text(tmp / "simulation.json", json.dumps(info, indent=2) + "\n")
        bar.update()
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        bar.close()
        if tmp.exists():
            shutil.rmtree(tmp)
    return out
