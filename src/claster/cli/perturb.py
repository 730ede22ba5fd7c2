"""``claster perturb``: in-silico enhancer scans and spec-driven perturbations (SPEC §6)."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app
from claster.cli.qc import match_scale_option


@app.command("perturb")
def perturb_cmd(
    run: Path = typer.Option(..., "--run", help="Run directory from `claster train`."),
    store: Path = typer.Option(..., "--store", help="Store directory from `claster prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (effects.tsv, summary.json, figures)."),
    elements: Path = typer.Option(None, "--elements", help="BED of elements (enhancers) to scan."),
    preset: str = typer.Option("P2", "--preset", help="P1: H3K27ac -> 0; P2: ATAC, H3K4me3, H3K27ac -> 0.", show_default=True),
    mode: str = typer.Option("gene-centric", "--mode", help="gene-centric or enhancer-centric.", show_default=True),
    chrom: str = typer.Option(None, "--chrom", help="Only this chromosome (e.g. the test chromosome chr4)."),
    genes: str = typer.Option(None, "--genes", help="Comma-separated reference genes (gene-centric, or with --spec)."),
    spec: Path = typer.Option(None, "--spec", help="Perturbation spec applied to the --genes windows: YAML (scale, flip, copy, ...) or a TSV/BED region table (one silence per row with --preset, or an op column)."),
    active_threshold: float = typer.Option(None, "--active-threshold", help="Perturb only elements whose mean --active-track signal over their bins exceeds this (track units), in every mode. [default: 10, or a YAML spec's active_filter]"),
    active_track: str = typer.Option(None, "--active-track", help="Track the active filter reads; must be in the store. [default: H3K27ac, or a YAML spec's active_filter]"),
    no_active_filter: bool = typer.Option(False, "--no-active-filter", help="Perturb every element, active or not (every mode; recorded in summary.json)."),
    area: str = typer.Option("body", "--area", help="Area whose change is the effect: 'body' (gene body, SPEC §5) or 'tss:-2000..3000' (bp around the TSS, upstream negative, strand-aware; SPEC §7 for POLR2A targets).", show_default=True),
    off_chromosome: str = typer.Option("pad", "--off-chromosome", help="Windows running off a chromosome end: 'pad' (zeros, warning, padded_fraction column) or 'skip' (left out, warning, counted in summary.json).", show_default=True),
    save_profiles: bool = typer.Option(False, "--save-profiles", help="Also write baseline and perturbed profiles (profiles.npz)."),
    device: str = typer.Option("cpu", "--device", help="Torch device for inference (single process).", show_default=True),
    accelerator: str = typer.Option(None, "--accelerator", help="Run the scan through Lightning, like `claster train`: auto, cpu, gpu."),
    devices: str = typer.Option(None, "--devices", help="Lightning devices (N or a list like 0,1); the windows are sharded across them."),
    strategy: str = typer.Option(None, "--strategy", help="Lightning strategy, e.g. ddp (several GPUs or nodes)."),
    num_nodes: int = typer.Option(None, "--num-nodes", help="Nodes for a multi-node scan."),
    precision: str = typer.Option(None, "--precision", help="Lightning precision, e.g. bf16-mixed."),
    batch_size: int = typer.Option(64, "--batch-size", help="Windows per forward pass.", show_default=True),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing effects.tsv in OUT."),
    match_scale: str = match_scale_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Perturb the chromatin in silico and write per (element, gene) effects."""
    from claster.predict import Predictor
    from claster.perturb import perturb_scan, perturb_with_spec, read_elements, write_scan
    from claster.errors import InputError
    from claster.store import open_store

    import os

    worker = int(os.environ.get("LOCAL_RANK", "0")) > 0 or int(os.environ.get("NODE_RANK", "0")) > 0
    if (out / "effects.tsv").exists() and not force and not worker:
        raise InputError(f"{out / 'effects.tsv'} exists; pass --force to overwrite it")
    st = open_store(store)
    predictor = Predictor(run, device=device, match_scale=match_scale)
    gene_list = [g.strip() for g in genes.split(",") if g.strip()] if genes else None
    if spec is not None:
        from claster.perturb import load_perturb_spec

        if not gene_list:
            raise InputError("--spec needs --genes: the windows to apply the perturbations to")
        from claster.config.perturb import ActiveFilter

        is_yaml = spec.suffix.lower() in (".yaml", ".yml")
        loaded = load_perturb_spec(spec, preset=None if is_yaml else preset)
        flt = loaded.active_filter
        if no_active_filter:
            flt = None
        elif active_threshold is not None or active_track is not None or flt is None:
            base = flt or ActiveFilter()
            flt = base.model_copy(update={k: v for k, v in (("threshold", active_threshold), ("track", active_track))
                                          if v is not None})
        loaded = loaded.model_copy(update={"active_filter": flt})
        if flt is not None and flt.track not in st.track_names:
            raise InputError(f"the active filter needs track {flt.track!r} but the store has "
                             f"{', '.join(st.track_names)}; name another with --active-track, or pass --no-active-filter")
        result = perturb_with_spec(predictor, st, loaded, gene_list, area=area, off_chromosome=off_chromosome,
                                   batch_size=batch_size, progress=not quiet)
    else:
        if elements is None:
            raise InputError("give --elements BED for a scan, or --spec YAML with --genes")
        lightning = None
        if any(v is not None for v in (accelerator, devices, strategy, num_nodes, precision)):
            dev = devices or "auto"
            lightning = {"accelerator": accelerator or "auto",
                         "devices": int(dev) if dev.isdigit() else ([int(d) for d in dev.split(",") if d]
                                                                    if "," in dev else dev),
                         "strategy": strategy or "auto", "num_nodes": num_nodes or 1,
                         "precision": precision or "32-true"}
        result = perturb_scan(
            predictor, st, read_elements(elements), chrom=chrom, mode=mode, preset=preset,
            active_threshold=None if no_active_filter else (10.0 if active_threshold is None else active_threshold),
            active_track=active_track or "H3K27ac", genes=gene_list, area=area, off_chromosome=off_chromosome,
            batch_size=batch_size, keep_profiles=True, progress=not quiet, lightning=lightning,
        )
        if result is None:  # a DDP worker: rank 0 writes
            return
    result.summary["input_check"] = predictor.input_check(st)  # the shift check and any --match-scale
    write_scan(result, out, save_profiles=save_profiles)
    s = result.summary
    typer.echo(f"{len(result.effects)} effect rows written to {out / 'effects.tsv'} ({s.get('wall_seconds')} s)")
