"""``claster perturb``: in-silico enhancer scans and spec-driven perturbations with a trained model (SPEC §6).

Three modes, one engine (:class:`claster.perturb.engine.PerturbationEngine`), one active filter
(:func:`claster.perturb.regions.select_active_elements` on the store's tracks), one bin rule and one
effects table (:func:`claster.perturb.engine.effects_table`):

- **gene-centric**: one window per reference gene (centred on its TSS); every active element fully
  inside TSS ± (output half-width) is silenced in that window; the effect on every gene whose TSS lies
  in the window is the change of its predicted area (gene body or TSS region, SPEC §5/§7).
- **enhancer-centric**: one window per active element, centred on its midpoint; the effect on every
  gene whose body lies fully inside the predicted region.
- **spec**: each perturbation of a YAML spec or region table applied to the windows of ``genes``.

Perturbed windows are built on the model's device from the device-resident tracks, in batches that
mix windows so every forward pass is full.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from claster.errors import ClasterWarning, InputError
from claster.units import LANDSCAPE_BIN_BP, TARGET_BIN_BP

__all__ = ["ScanResult", "read_elements", "perturb_scan", "perturb_with_spec", "write_scan", "PRESET_TRACKS"]

#: Tracks set to 0 by each preset (SPEC §6).
PRESET_TRACKS = {"P1": ("H3K27ac",), "P2": ("ATAC", "H3K4me3", "H3K27ac")}


@dataclass
class ScanResult:
    """Effects table (``claster.perturb.EFFECTS_COLUMNS``) plus what is needed for figures."""

    effects: pd.DataFrame
    elements: pd.DataFrame  # the elements scanned, with active_signal / is_active
    summary: dict
    profiles: dict = field(default_factory=dict)  # (window_id, element_id) -> (baseline, perturbed) (n_out,)
    window_centres: dict = field(default_factory=dict)  # window_id -> centre bp


def read_elements(path: str | Path) -> pd.DataFrame:
    """Read a BED of elements: chrom, start_bp, end_bp, element_id (unique), element_name (as given).

    ``element_id`` is the name column; ``chrom:start-end`` when there is no name or it is ``.`` or
    empty; a name (or locus) seen before gets ``_2``, ``_3``, ... so every element keeps its own id.
    ``element_name`` keeps the name column as written (``.`` included).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"elements file {path} does not exist; pass a BED of enhancers (chrom, start, end, name)")
    try:
        df = pd.read_csv(path, sep="\t", header=None, comment="#", dtype={0: str, 3: str}, keep_default_na=False)
    except pd.errors.EmptyDataError as e:
        raise InputError(f"elements file {path} is empty; give at least one BED interval") from e
    if df.shape[1] < 3 or not (pd.api.types.is_integer_dtype(df[1]) and pd.api.types.is_integer_dtype(df[2])):
        raise InputError(f"{path} is not a BED file: it needs integer start and end in columns 2 and 3")
    df = df.rename(columns={0: "chrom", 1: "start_bp", 2: "end_bp", 3: "element_name"})
    loci = [f"{c}:{s}-{e}" for c, s, e in zip(df.chrom, df.start_bp, df.end_bp, strict=True)]
    if "element_name" not in df:
        df["element_name"] = loci
    df["element_name"] = df["element_name"].astype(str)
    bad = int((df["end_bp"] <= df["start_bp"]).sum())
    if bad:
        raise InputError(f"{bad} element(s) in {path} have end <= start; fix the BED intervals")
    base = [n.strip() if n.strip() not in ("", ".") else locus for n, locus in zip(df["element_name"], loci, strict=True)]
    df["element_id"] = unique_ids(base)
    return df[["chrom", "start_bp", "end_bp", "element_id", "element_name"]].reset_index(drop=True)


def unique_ids(names: list[str]) -> list[str]:
    """``names`` with repeats suffixed ``_2``, ``_3``, ... (skipping suffixes already taken)."""
    taken = set(names)
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0) + 1
        seen[n] = k
        if k == 1:
            out.append(n)
            continue
        while f"{n}_{k}" in taken:
            k += 1
        seen[n] = k
        taken.add(f"{n}_{k}")
        out.append(f"{n}_{k}")
    return out


def _off_chromosome(store, windows_df: pd.DataFrame, context_bins: int, policy: str, what: str
                    ) -> tuple[np.ndarray, np.ndarray, dict]:
    from claster.predict import off_chromosome_windows

    return off_chromosome_windows(store, windows_df, context_bins, policy, id_column="window_id", what=what)


def _check_track(names: list[str], track: str, what: str, fix: str) -> int:
    if track not in names:
        raise InputError(f"{what} needs track {track!r} but the store has {', '.join(names)}; {fix}")
    return names.index(track)


def perturb_scan(
    predictor,
    store,
    elements: pd.DataFrame,
    *,
    chrom: str | None = None,
    mode: str = "gene-centric",
    preset: str = "P2",
    active_threshold: float | None = 10.0,
    active_track: str = "H3K27ac",
    genes: list[str] | None = None,
    area: str = "body",
    off_chromosome: str = "pad",
    batch_size: int = 64,
    keep_profiles: bool = False,
    progress: bool = True,
    lightning: dict | None = None,
) -> ScanResult | None:
    """Scan every active element with ``preset`` and return per (element, gene) effects.

    Parameters
    ----------
    predictor
        A :class:`claster.predict.Predictor`.
    store
        The open store the model reads.
    elements
        chrom, start_bp, end_bp, element_id (unique; 0-based half-open), optionally element_name.
    chrom
        Restrict to one chromosome (e.g. the test chromosome).
    mode
        ``gene-centric`` or ``enhancer-centric``.
    preset
        ``P1`` (H3K27ac -> 0) or ``P2`` (ATAC, H3K4me3, H3K27ac -> 0; H3K27me3 kept). Every track of the
        preset must be in the store (:class:`InputError` naming the store's tracks otherwise).
    active_threshold
        Keep elements whose mean ``active_track`` over their bins exceeds this (track units; SPEC §6:
        10); None scans every element.
    active_track
        The track the active filter reads (SPEC §6: H3K27ac); must be in the store unless the filter is off.
    genes
        Gene-centric only: restrict the reference genes (ids or names).
    area
        ``body`` (gene body, SPEC §5) or ``tss:U..D`` (bp around the TSS, upstream negative,
        strand-aware; SPEC §7 for POLR2A: ``tss:-2000..3000``).
    off_chromosome
        Windows that run off a chromosome end: ``pad`` (zeros, with a warning and the
        ``padded_fraction`` column) or ``skip`` (left out, with a warning; counted in the summary).
    lightning
        Run the forward passes through a Lightning ``Trainer.predict`` with these trainer options
        (``accelerator``, ``devices``, ``strategy``, ``num_nodes``, ``precision``), the same options as
        ``claster train``: a genome-wide scan then spreads over several GPUs or nodes. The windows are
        sharded across processes; rank 0 gathers the predictions and returns the result, the other
        ranks return None. Without it, one process runs every batch on the predictor's device.
    """
    from claster.perturb.engine import PerturbationEngine, effects_table, parse_area
    from claster.perturb.regions import bin_ranges, select_active_elements

    if mode not in ("gene-centric", "enhancer-centric"):
        raise InputError(f"mode must be gene-centric or enhancer-centric, got {mode!r}")
    if preset not in PRESET_TRACKS:
        raise InputError(f"unknown preset {preset!r}; choose one of {sorted(PRESET_TRACKS)}")
    area = parse_area(area)[0]
    names = list(store.track_names)
    zero_tracks = [_check_track(names, t, f"preset {preset}", "use a --spec with the tracks to silence")
                   for t in PRESET_TRACKS[preset]]
    if active_threshold is not None:
        _check_track(names, active_track, "the active filter",
                     "name another with --active-track, or pass --no-active-filter to scan every element")
    predictor.check_store(store)
    started = time.perf_counter()

    els = elements if chrom is None else elements[elements["chrom"] == chrom]
    els = els[els["chrom"].isin(list(store.chrom_sizes))].reset_index(drop=True)
    if "element_name" not in els.columns:
        els = els.assign(element_name=els["element_id"].astype(str))
    if els.empty:
        raise InputError(f"no element on {chrom or 'the store chromosomes'}; check the BED and --chrom")
    dup = els["element_id"].astype(str).duplicated()
    if dup.any():
        raise InputError(f"{int(dup.sum())} element ids are repeated ({els.loc[dup, 'element_id'].iloc[0]!r}); "
                         "read the BED with read_elements(), which makes every id unique")
    if active_threshold is not None:
        tracks = {c: np.asarray(store.tracks(c)) for c in els["chrom"].unique()}
        scanned = select_active_elements(els, tracks, names, threshold=active_threshold, track=active_track,
                                         keep_inactive=True)
    else:
        scanned = els.assign(active_signal=np.nan, is_active=True)
    active = scanned[scanned["is_active"]].reset_index(drop=True)

    all_genes = store.genes
    half_bp = (predictor.output_bins // 2) * TARGET_BIN_BP
    if mode == "gene-centric":
        ref = all_genes[all_genes["usable"].astype(bool)]
        if chrom is not None:
            ref = ref[ref["chrom"] == chrom]
        if genes:
            ref = ref[ref["gene_id"].isin(genes) | ref["gene_name"].isin(genes)]
        windows_df = ref[["gene_id", "gene_name", "chrom", "tss_bp", "strand", "start_bp", "end_bp"]]
        windows_df = windows_df.rename(columns={"gene_id": "window_id"}).reset_index(drop=True)
    else:
        mids = ((active["start_bp"] + active["end_bp"]) // 2).astype(np.int64)
        windows_df = pd.DataFrame({"window_id": active["element_id"], "gene_name": active["element_id"],
                                   "chrom": active["chrom"], "tss_bp": mids, "strand": "+",
                                   "start_bp": active["start_bp"], "end_bp": active["end_bp"]})
    frac, keep, off_summary = _off_chromosome(store, windows_df, predictor.context_bins, off_chromosome, mode)
    windows_df, frac = windows_df[keep].reset_index(drop=True), frac[keep]
    if windows_df.empty:
        raise InputError("no window to scan: no usable reference gene (or element) matched the selection")
    if mode == "gene-centric":
        pairs = []  # (window row, element row)
        by_chrom = {c: g for c, g in active.groupby("chrom", sort=False)}
        for w, row in enumerate(windows_df.itertuples()):
            e = by_chrom.get(row.chrom)
            if e is None:
                continue
            e = e[(e["start_bp"] >= row.tss_bp - half_bp) & (e["end_bp"] <= row.tss_bp + half_bp)]
            pairs.extend((w, i) for i in e.index)
    else:
        pos = pd.Series(np.arange(len(active)), index=active["element_id"].astype(str))
        pairs = [(w, int(pos[i])) for w, i in enumerate(windows_df["window_id"].astype(str))]
    pair_arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)

    gw = predictor.windows(store, windows_df.rename(columns={"window_id": "gene_id"}), with_target=False)
    engine = PerturbationEngine(predictor, gw, windows_df, names)
    w_idx, e_idx = pair_arr[:, 0], pair_arr[:, 1]
    start = engine.window_start_bp[w_idx]
    lo, hi = bin_ranges(active["start_bp"].to_numpy(np.int64)[e_idx] - start,
                        active["end_bp"].to_numpy(np.int64)[e_idx] - start, "element")
    engine.add_fills(w_idx, lo, hi, zero_tracks, 0.0)
    if lightning is not None:
        preds = _run_with_lightning(engine, batch_size=batch_size, progress=progress, **lightning)
        if preds is None:  # a DDP worker process: rank 0 writes the results
            return None
        baseline, perturbed = preds
    else:
        baseline, perturbed = engine.run(batch_size=batch_size, progress=progress, desc=f"{preset} scan")

    rows = pd.DataFrame({"window": w_idx, "element_id": active["element_id"].to_numpy()[e_idx],
                         "element_name": active["element_name"].to_numpy()[e_idx],
                         "chrom": active["chrom"].to_numpy()[e_idx],
                         "start_bp": active["start_bp"].to_numpy(np.int64)[e_idx],
                         "end_bp": active["end_bp"].to_numpy(np.int64)[e_idx]})
    effects = effects_table(windows_df, rows, baseline, perturbed, all_genes, mode=mode, half_bp=half_bp,
                            area=area, padded_fraction=frac)
    profiles = {}
    if keep_profiles:
        for k, (w, i) in enumerate(pair_arr):
            profiles[(windows_df.at[w, "window_id"], active.at[i, "element_id"])] = (baseline[w], perturbed[k])
    wall = time.perf_counter() - started
    n_windows = len(engine)
    summary = {
        "mode": mode, "preset": preset, "chrom": chrom, "area": area,
        "active_filter": None if active_threshold is None else {"track": active_track, "threshold": active_threshold,
                                                                "bin_rule": "element"},
        "active_threshold": active_threshold, "active_track": None if active_threshold is None else active_track,
        "n_elements": int(len(scanned)), "n_active_elements": int(len(active)),
        "n_reference_windows": int(len(windows_df)), "n_perturbed_windows": int(len(pair_arr)),
        "n_effect_rows": int(len(effects)), **off_summary, "wall_seconds": round(wall, 3),
        "windows_per_second": round(n_windows / wall, 1) if wall > 0 else None,
        "strand_oriented_model": bool(getattr(predictor, "strand_oriented", False)),
    }
    centres = dict(zip(windows_df["window_id"], windows_df["tss_bp"].astype(int), strict=True))
    return ScanResult(effects=effects, elements=scanned, summary=summary, profiles=profiles,
                      window_centres=centres)


def _run_with_lightning(engine, *, batch_size: int, progress: bool, accelerator: str = "auto",
                        devices="auto", strategy: str = "auto", num_nodes: int = 1,
                        precision: str = "32-true") -> tuple[np.ndarray, np.ndarray] | None:
    """Run every job of the engine through ``Trainer.predict`` (sharded across processes); rank 0 gathers."""
    import lightning as L

    predictor = engine.predictor

    class ScanModule(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = predictor.model
            self.ids, self.preds = [], []

        def on_predict_start(self) -> None:
            predictor.device = self.device
            if engine.gw.device != self.device:
                engine.gw.to(self.device)

        def predict_step(self, batch, batch_idx):
            (job,) = batch
            self.ids.append(job.cpu())
            self.preds.append(engine.predict_jobs(job).float().cpu())

    trainer = L.Trainer(accelerator=accelerator, devices=devices, strategy=strategy, num_nodes=num_nodes,
                        precision=precision, logger=False, enable_progress_bar=progress,
                        enable_model_summary=False, enable_checkpointing=False)
    module = ScanModule()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(len(engine))),
                                         batch_size=batch_size, shuffle=False)
    trainer.predict(module, loader, return_predictions=False)
    # Lightning's distributed sampler gives every rank the same number of jobs (padding by repeats),
    # so one all_gather collects them; duplicates from the padding carry identical predictions.
    ids = torch.cat(module.ids) if module.ids else torch.empty(0, dtype=torch.long)
    preds = torch.cat(module.preds) if module.preds else torch.empty((0, predictor.output_bins))
    ids = trainer.strategy.all_gather(ids.to(module.device)).reshape(-1).cpu().numpy()
    preds = trainer.strategy.all_gather(preds.to(module.device)).reshape(-1, predictor.output_bins).cpu().numpy()
    if trainer.global_rank != 0:
        return None
    allp = np.empty((len(engine), predictor.output_bins), dtype=np.float32)
    seen = np.zeros(len(engine), dtype=bool)
    allp[ids] = preds
    seen[ids] = True
    if not seen.all():
        raise RuntimeError(f"scan lost {int((~seen).sum())} of {len(engine)} jobs while gathering")
    return allp[: engine.n_windows], allp[engine.n_windows :]


def perturb_with_spec(
    predictor,
    store,
    spec,
    genes: list[str],
    *,
    area: str = "body",
    off_chromosome: str = "pad",
    batch_size: int = 64,
    progress: bool = False,
) -> ScanResult:
    """Apply each perturbation of a :class:`PerturbSpec` to the windows of ``genes`` (SPEC §6 logic).

    Used for the regulatory-logic experiments (scale, flip or copy a promoter, transplant an
    enhancer) and for region tables (one silence per row). The spec's ``active_filter`` applies to every
    perturbation with an ``element`` (tested on the store's tracks, as in a scan); the perturbations it
    leaves out are listed in the summary (``skipped_inactive``). Returns effects on every gene in each
    window (``element_id`` = perturbation name) and, in ``profiles``, the baseline and perturbed profiles
    per (gene, perturbation).
    """
    from claster.perturb.engine import PerturbationEngine, effects_table, parse_area
    from claster.perturb.regions import resolve_region, select_active_elements
    from claster.perturb.spec import check_tracks

    area = parse_area(area)[0]
    names = list(store.track_names)
    check_tracks(spec, names)
    predictor.check_store(store)
    idx = store.genes
    sel = idx[idx["gene_id"].isin(genes) | idx["gene_name"].isin(genes)].drop_duplicates("gene_id")
    unknown = sorted(set(genes) - set(sel["gene_id"]) - set(sel["gene_name"]))
    if unknown:
        raise InputError(f"gene(s) not in the store: {', '.join(unknown)}; use names or ids from genes.tsv")
    windows_df = sel.rename(columns={"gene_id": "window_id"}).reset_index(drop=True)
    frac, keep, off_summary = _off_chromosome(store, windows_df, predictor.context_bins, off_chromosome, "spec")
    windows_df, frac = windows_df[keep].reset_index(drop=True), frac[keep]
    if windows_df.empty:
        raise InputError("no window left to perturb: every gene's window runs off its chromosome")
    started = time.perf_counter()
    gw = predictor.windows(store, windows_df.rename(columns={"window_id": "gene_id"}), with_target=False)
    engine = PerturbationEngine(predictor, gw, windows_df, names)
    n = predictor.context_bins
    cand = []  # (window, perturbation index, element chrom, start, end)
    for w in range(len(windows_df)):
        c, tss = str(windows_df.at[w, "chrom"]), int(windows_df.at[w, "tss_bp"])
        centre_bp = int(engine.window_start_bp[w]) + (n // 2) * LANDSCAPE_BIN_BP
        for j, p in enumerate(spec.perturbations):
            if p.element is not None:
                s, e = resolve_region(p.element, window_start_bp=int(engine.window_start_bp[w]), chrom=c,
                                      genes=idx, n_bins=n)
                cand.append((w, j, c, centre_bp + s, centre_bp + e, True))
            else:
                cand.append((w, j, c, tss, tss + 1, False))
    cand_df = pd.DataFrame(cand, columns=["window", "perturbation", "chrom", "start_bp", "end_bp", "has_element"])
    f = spec.active_filter
    cand_df["active_signal"], cand_df["is_active"] = np.nan, True
    tested = cand_df["has_element"].to_numpy()
    if f is not None and tested.any():
        tracks = {c: np.asarray(store.tracks(c)) for c in cand_df.loc[tested, "chrom"].unique()}
        act = select_active_elements(cand_df[tested], tracks, names, threshold=f.threshold, track=f.track,
                                     bin_rule=f.bin_rule, keep_inactive=True)
        cand_df.loc[tested, "active_signal"] = act["active_signal"].to_numpy()
        cand_df.loc[tested, "is_active"] = act["is_active"].to_numpy()
    skipped = cand_df[~cand_df["is_active"].astype(bool)]
    run_df = cand_df[cand_df["is_active"].astype(bool)].reset_index(drop=True)
    # copy/transplant sources come from the same (--match-scale rescaled) tracks the windows are cut from
    source = {c: predictor.store_tracks(store, c) for c in windows_df["chrom"].unique()}
    for r in run_df.itertuples():
        engine.add_operations(int(r.window), spec.perturbations[int(r.perturbation)], genes=idx,
                              source_tracks=lambda c: source[c] if c in source else predictor.store_tracks(store, c))
    baseline, perturbed = engine.run(batch_size=batch_size, progress=progress, desc="spec")
    pnames = [p.name for p in spec.perturbations]
    rows = run_df.assign(element_id=[pnames[j] for j in run_df["perturbation"]])
    rows["element_name"] = rows["element_id"]
    half_bp = (predictor.output_bins // 2) * TARGET_BIN_BP
    effects = effects_table(windows_df, rows[["window", "element_id", "element_name", "chrom", "start_bp", "end_bp"]],
                            baseline, perturbed, idx, mode="spec", half_bp=half_bp, area=area, padded_fraction=frac)
    profiles = {(windows_df.at[int(r.window), "window_id"], pnames[int(r.perturbation)]): (baseline[int(r.window)], perturbed[k])
                for k, r in enumerate(run_df.itertuples())}
    if len(skipped):
        warnings.warn(f"{len(skipped)} of {len(cand_df)} (window, perturbation) pairs left out: the element is "
                      f"not active ({f.track} mean <= {f.threshold}; listed in summary.json skipped_inactive)",
                      ClasterWarning, stacklevel=2)
    summary = {
        "mode": "spec", "area": area, "n_windows": len(windows_df), "n_perturbations": len(spec.perturbations),
        "active_filter": None if f is None else f.model_dump(mode="json"),
        "active_threshold": None if f is None else f.threshold, "active_track": None if f is None else f.track,
        "n_perturbed_windows": int(len(run_df)), "n_skipped_inactive": int(len(skipped)),
        "skipped_inactive": [
            {"window_id": str(windows_df.at[int(r.window), "window_id"]), "perturbation": pnames[int(r.perturbation)],
             "active_signal": None if pd.isna(r.active_signal) else float(r.active_signal)}
            for r in skipped.itertuples()
        ],
        **off_summary, "wall_seconds": round(time.perf_counter() - started, 3),
        "strand_oriented_model": bool(getattr(predictor, "strand_oriented", False)),
    }
    centres = dict(zip(windows_df["window_id"], windows_df["tss_bp"].astype(int), strict=True))
    return ScanResult(effects=effects, elements=pd.DataFrame(), summary=summary, profiles=profiles,
                      window_centres=centres)


def write_scan(result: ScanResult, out: str | Path, *, n_overlays: int = 3, save_profiles: bool = False) -> None:
    """Write ``effects.tsv``, ``summary.json``, ``elements.tsv``, the figures, and ``profiles.npz`` when asked."""
    import json

    from claster.io.writers import write_tsv
    from claster.plots import save_figure
    from claster.plots.perturbation import (
        plot_distance_effect,
        plot_profile_overlay,
        plot_proximity_rank_hist,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    eff = result.effects
    write_tsv(eff, out / "effects.tsv")
    if not result.elements.empty:
        write_tsv(result.elements, out / "elements.tsv")
    summary = dict(result.summary)
    if not eff.empty and result.summary.get("mode") != "spec":
        from claster.plots.perturbation import most_affected_ranks

        ranks = most_affected_ranks(eff)
        summary["n_scored_element_windows"] = int(len(ranks))
        summary["fraction_most_affected_is_closest"] = float((ranks == 1).mean()) if len(ranks) else None
        save_figure(plot_distance_effect(eff), out / "distance_effect.png")
        save_figure(plot_proximity_rank_hist(eff), out / "rank_histogram.png")
    if result.profiles and save_profiles:
        keys = list(result.profiles)
        np.savez_compressed(
            out / "profiles.npz",
            window_id=np.array([k[0] for k in keys], dtype=str), element_id=np.array([k[1] for k in keys], dtype=str),
            baseline=np.stack([v[0] for v in result.profiles.values()]),
            perturbed=np.stack([v[1] for v in result.profiles.values()]),
        )
    if result.profiles and not eff.empty:
        top = eff.sort_values("abs_delta", ascending=False).drop_duplicates(["window_id", "element_id"])
        for j, r in enumerate(top.head(n_overlays).itertuples()):
            key = (r.window_id, r.element_id)
            if key not in result.profiles:
                continue
            b, p = result.profiles[key]
            centre = result.window_centres.get(r.window_id)
            el = None if centre is None else (int(r.element_start_bp) - centre, int(r.element_end_bp) - centre)
            fig = plot_profile_overlay(b, p, element_rel_bp=el, title=f"{r.element_id} in window {r.window_id}")
            save_figure(fig, out / f"profile_overlay{'' if j == 0 else f'_{j + 1}'}.png")
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=str))
    tmp.replace(out / "summary.json")
