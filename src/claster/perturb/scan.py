"""``claster perturb``: in-silico enhancer scans with a trained model (SPEC §6).

Two modes:

- **gene-centric**: one window per reference gene (centred on its TSS); every element fully inside
  TSS ± (output half-width) is perturbed in that window; the effect on every gene whose TSS lies in
  the window is the change of its predicted gene-body area (Simpson, SPEC §5).
- **enhancer-centric**: one window per element, centred on its midpoint; the effect on every gene
  whose body lies fully inside the predicted region.

Each baseline is predicted once; perturbed windows are built on the fly on the model's device from
the same device-resident tracks (no perturbed array is written to disk), in batches that mix
windows so every forward pass is full. The presets (P1, P2, or any silence) run as one masked fill
per batch; a YAML/TSV spec with other operations (scale, flip, copy, ...) runs through
:func:`claster.perturb.perturbation.apply_operations`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from claster.errors import InputError
from claster.units import LANDSCAPE_BIN_BP, TARGET_BIN_BP

__all__ = ["ScanResult", "read_elements", "perturb_scan", "perturb_with_spec", "write_scan", "PRESET_TRACKS"]

#: Tracks set to 0 by each preset (SPEC §6).
PRESET_TRACKS = {"P1": ("H3K27ac",), "P2": ("ATAC", "H3K4me3", "H3K27ac")}


@dataclass
class ScanResult:
    """Effects table (``claster.perturb.perturbation.EFFECTS_COLUMNS``) plus what is needed for figures."""

    effects: pd.DataFrame
    elements: pd.DataFrame  # the elements scanned, with active_signal / is_active
    summary: dict
    profiles: dict = field(default_factory=dict)  # (window_id, element_id) -> (baseline, perturbed) (n_out,)
    window_centres: dict = field(default_factory=dict)  # window_id -> centre bp


def read_elements(path: str | Path) -> pd.DataFrame:
    """Read a BED of elements: chrom, start_bp, end_bp, element_id (name or chrom:start-end)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"elements file {path} does not exist; pass a BED of enhancers (chrom, start, end, name)")
    try:
        df = pd.read_csv(path, sep="\t", header=None, comment="#", dtype={0: str})
    except pd.errors.EmptyDataError as e:
        raise InputError(f"elements file {path} is empty; give at least one BED interval") from e
    if df.shape[1] < 3 or not (pd.api.types.is_integer_dtype(df[1]) and pd.api.types.is_integer_dtype(df[2])):
        raise InputError(f"{path} is not a BED file: it needs integer start and end in columns 2 and 3")
    df = df.rename(columns={0: "chrom", 1: "start_bp", 2: "end_bp", 3: "element_id"})
    if "element_id" not in df:
        df["element_id"] = [f"{c}:{s}-{e}" for c, s, e in zip(df.chrom, df.start_bp, df.end_bp, strict=True)]
    df["element_id"] = df["element_id"].astype(str)
    bad = int((df["end_bp"] <= df["start_bp"]).sum())
    if bad:
        raise InputError(f"{bad} element(s) in {path} have end <= start; fix the BED intervals")
    return df[["chrom", "start_bp", "end_bp", "element_id"]].reset_index(drop=True)


def _body_areas(profiles: np.ndarray, genes: pd.DataFrame, center_bp: np.ndarray) -> np.ndarray:
    """Simpson area of each gene's body in the profile of a window centred at ``center_bp`` (SPEC §5)."""
    from claster.data.body import body_simpson, gene_body_bins

    lo, hi = gene_body_bins(genes, center_bp=center_bp, n_bins=profiles.shape[1])
    return body_simpson(profiles, lo, hi, mean=False)


def perturb_scan(
    predictor,
    store,
    elements: pd.DataFrame,
    *,
    chrom: str | None = None,
    mode: str = "gene-centric",
    preset: str = "P2",
    active_threshold: float | None = 10.0,
    genes: list[str] | None = None,
    batch_size: int = 64,
    keep_profiles: bool = False,
    progress: bool = True,
    lightning: dict | None = None,
) -> ScanResult | None:
    """Scan every active element with ``preset`` and return per (element, gene) effects.

    Parameters
    ----------
    predictor
        A :class:`claster.predict.predictor.Predictor`.
    store
        The open store the model reads.
    elements
        chrom, start_bp, end_bp, element_id (0-based half-open).
    chrom
        Restrict to one chromosome (e.g. the test chromosome).
    mode
        ``gene-centric`` or ``enhancer-centric``.
    preset
        ``P1`` (H3K27ac -> 0) or ``P2`` (ATAC, H3K4me3, H3K27ac -> 0; H3K27me3 kept).
    active_threshold
        Keep elements whose mean H3K27ac over their bins exceeds this (track units; SPEC §6: 10);
        None scans every element.
    genes
        Gene-centric only: restrict the reference genes (ids or names).
    lightning
        Run the forward passes through a Lightning ``Trainer.predict`` with these trainer options
        (``accelerator``, ``devices``, ``strategy``, ``num_nodes``, ``precision``), the same options as
        ``claster train``: a genome-wide scan then spreads over several GPUs or nodes. The windows are
        sharded across processes; rank 0 gathers the predictions and returns the result, the other
        ranks return None. Without it, one process runs every batch on the predictor's device.
    """
    from tqdm.auto import tqdm

    from claster.perturb.perturbation import select_active_elements

    if mode not in ("gene-centric", "enhancer-centric"):
        raise InputError(f"mode must be gene-centric or enhancer-centric, got {mode!r}")
    if preset not in PRESET_TRACKS:
        raise InputError(f"unknown preset {preset!r}; choose one of {sorted(PRESET_TRACKS)}")
    names = list(store.track_names)
    zero_tracks = [names.index(t) for t in PRESET_TRACKS[preset] if t in names]
    if not zero_tracks:
        raise InputError(f"the store has none of the tracks {PRESET_TRACKS[preset]} that {preset} silences")
    predictor.check_store(store)
    started = time.perf_counter()

    els = elements if chrom is None else elements[elements["chrom"] == chrom]
    els = els[els["chrom"].isin(list(store.chrom_sizes))].reset_index(drop=True)
    if els.empty:
        raise InputError(f"no element on {chrom or 'the store chromosomes'}; check the BED and --chrom")
    if "H3K27ac" in names and active_threshold is not None:
        tracks = {c: np.asarray(store.tracks(c)) for c in els["chrom"].unique()}
        scanned = select_active_elements(els, tracks, names, threshold=active_threshold, keep_inactive=True)
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
        pairs = []  # (window row, element row)
        for w, row in enumerate(windows_df.itertuples()):
            e = active[(active["chrom"] == row.chrom) & (active["start_bp"] >= row.tss_bp - half_bp)
                       & (active["end_bp"] <= row.tss_bp + half_bp)]
            pairs.extend((w, i) for i in e.index)
    else:
        mids = ((active["start_bp"] + active["end_bp"]) // 2).astype(np.int64)
        windows_df = pd.DataFrame({"window_id": active["element_id"], "gene_name": active["element_id"],
                                   "chrom": active["chrom"], "tss_bp": mids, "strand": "+",
                                   "start_bp": active["start_bp"], "end_bp": active["end_bp"]})
        pairs = [(i, i) for i in range(len(active))]
    if windows_df.empty:
        raise InputError("no window to scan: no usable reference gene (or element) matched the selection")

    samples = windows_df.rename(columns={"window_id": "gene_id"})
    gw = predictor.windows(store, samples, with_target=False)

    jobs = _ScanJobs(predictor, gw, windows_df, active, np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
                     zero_tracks)
    if lightning is not None:
        preds = _run_with_lightning(jobs, batch_size=batch_size, progress=progress, **lightning)
        if preds is None:  # a DDP worker process: rank 0 writes the results
            return None
        baseline, perturbed = preds
    else:
        baseline = predictor.predict_samples(gw, batch_size=batch_size, progress=False)
        perturbed = np.empty((len(jobs.pairs), predictor.output_bins), dtype=np.float32)
        for lo in tqdm(range(0, len(jobs.pairs), batch_size), disable=not progress, desc=f"{preset} scan",
                       unit="batch"):
            chunk = torch.arange(lo, min(len(jobs.pairs), lo + batch_size))
            perturbed[lo : lo + len(chunk)] = jobs.predict(chunk).cpu().numpy()
    pair_arr = jobs.pairs

    effects = _effects_table(windows_df, active, pair_arr, baseline, perturbed, all_genes, mode, half_bp)
    profiles = {}
    if keep_profiles:
        for k, (w, i) in enumerate(pair_arr):
            profiles[(windows_df.at[w, "window_id"], active.at[i, "element_id"])] = (baseline[w], perturbed[k])
    wall = time.perf_counter() - started
    n_windows = len(windows_df) + len(pairs)
    summary = {
        "mode": mode, "preset": preset, "chrom": chrom, "active_threshold": active_threshold,
        "n_elements": int(len(scanned)), "n_active_elements": int(len(active)),
        "n_reference_windows": int(len(windows_df)), "n_perturbed_windows": int(len(pairs)),
        "n_effect_rows": int(len(effects)), "wall_seconds": round(wall, 3),
        "windows_per_second": round(n_windows / wall, 1) if wall > 0 else None,
    }
    centres = dict(zip(windows_df["window_id"], windows_df["tss_bp"].astype(int), strict=True))
    return ScanResult(effects=effects, elements=scanned, summary=summary, profiles=profiles,
                      window_centres=centres)


class _ScanJobs:
    """The forward passes of a scan: job ``j < n_windows`` is window j's baseline, job
    ``n_windows + k`` is pair k (window, element) with the preset's tracks zeroed over the element."""

    def __init__(self, predictor, gw, windows_df, active, pairs: np.ndarray, zero_tracks: list[int]) -> None:
        self.predictor, self.gw, self.pairs = predictor, gw, pairs
        self.n_windows = len(windows_df)
        n = predictor.context_bins
        self.start_bin = torch.from_numpy((windows_df["tss_bp"].to_numpy(np.int64) // LANDSCAPE_BIN_BP) - n // 2)
        self.el_lo = torch.from_numpy(active["start_bp"].to_numpy(np.int64) // LANDSCAPE_BIN_BP)
        self.el_hi = torch.from_numpy(active["end_bp"].to_numpy(np.int64) // LANDSCAPE_BIN_BP)  # inclusive
        self.zero_tracks = zero_tracks

    def __len__(self) -> int:
        return self.n_windows + len(self.pairs)

    def predict(self, pair_idx: torch.Tensor) -> torch.Tensor:
        """(B, output_bins) predictions for pairs ``pair_idx`` (on the windows' device)."""
        gw, dev = self.gw, self.gw.device
        p = torch.from_numpy(self.pairs[pair_idx.cpu().numpy()])
        w_idx, e_idx = p[:, 0], p[:, 1]
        x = gw.landscape(w_idx.to(dev))
        a = (self.el_lo[e_idx] - self.start_bin[w_idx]).to(dev)
        b = (self.el_hi[e_idx] - self.start_bin[w_idx]).to(dev)
        pos = torch.arange(x.shape[-1], device=dev)
        mask = ((pos[None, :] >= a[:, None]) & (pos[None, :] <= b[:, None]))[:, None, :]  # (B, 1, W)
        zt = torch.tensor(self.zero_tracks, device=dev)
        x[:, zt, :] = torch.where(mask, torch.zeros((), dtype=x.dtype, device=dev), x[:, zt, :])
        return self.predictor.predict_raw(x, gw.structure(w_idx.to(dev)))

    def predict_jobs(self, jobs: torch.Tensor) -> torch.Tensor:
        """Predictions for a mix of baseline and pair jobs, in the order of ``jobs``."""
        out = torch.empty((len(jobs), self.predictor.output_bins), device=self.gw.device)
        base = jobs < self.n_windows
        if bool(base.any()):
            idx = jobs[base].to(self.gw.device)
            out[base.to(out.device)] = self.predictor.predict_raw(self.gw.landscape(idx), self.gw.structure(idx))
        if bool((~base).any()):
            out[(~base).to(out.device)] = self.predict(jobs[~base] - self.n_windows)
        return out


def _run_with_lightning(jobs: _ScanJobs, *, batch_size: int, progress: bool, accelerator: str = "auto",
                        devices="auto", strategy: str = "auto", num_nodes: int = 1,
                        precision: str = "32-true") -> tuple[np.ndarray, np.ndarray] | None:
    """Run every job through ``Trainer.predict`` (sharded across processes); rank 0 gathers."""
    import lightning as L

    predictor = jobs.predictor

    class ScanModule(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = predictor.model
            self.ids, self.preds = [], []

        def on_predict_start(self) -> None:
            predictor.device = self.device
            if jobs.gw.device != self.device:
                jobs.gw.to(self.device)

        def predict_step(self, batch, batch_idx):
            (job,) = batch
            self.ids.append(job.cpu())
            self.preds.append(jobs.predict_jobs(job).float().cpu())

    trainer = L.Trainer(accelerator=accelerator, devices=devices, strategy=strategy, num_nodes=num_nodes,
                        precision=precision, logger=False, enable_progress_bar=progress,
                        enable_model_summary=False, enable_checkpointing=False)
    module = ScanModule()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(len(jobs))),
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
    allp = np.empty((len(jobs), predictor.output_bins), dtype=np.float32)
    seen = np.zeros(len(jobs), dtype=bool)
    allp[ids] = preds
    seen[ids] = True
    if not seen.all():
        raise RuntimeError(f"scan lost {int((~seen).sum())} of {len(jobs)} jobs while gathering")
    return allp[: jobs.n_windows], allp[jobs.n_windows :]


def _gene_effects(element: dict, inside: pd.DataFrame, centre_bp: int, base: np.ndarray, pert: np.ndarray,
                  *, window_id: str, mode: str, chrom_tss_bp: np.ndarray | None = None) -> pd.DataFrame:
    """Effects rows of one perturbed window on the genes ``inside`` it (EFFECTS_COLUMNS order).

    ``element``: element_id, chrom, start_bp, end_bp; ``base``/``pert``: (output_bins,) profiles of the
    window centred at ``centre_bp``; ``chrom_tss_bp``: every TSS of the chromosome, sorted, for
    genes_between (default: the genes inside).
    """
    from claster.perturb.perturbation import EFFECTS_COLUMNS, element_gene_geometry

    centre = np.full(len(inside), centre_bp, dtype=np.int64)
    a_b = _body_areas(np.repeat(base[None], len(inside), 0), inside, centre)
    a_p = _body_areas(np.repeat(pert[None], len(inside), 0), inside, centre)
    tss = inside["tss_bp"].to_numpy(np.int64)
    s, e = int(element["start_bp"]), int(element["end_bp"])
    dist, rank, between = element_gene_geometry(s, e, tss)
    if chrom_tss_bp is not None:  # TSSs strictly between, counted over the whole chromosome
        mid, st = (s + e) // 2, chrom_tss_bp
        lo, hi = np.minimum(tss, mid), np.maximum(tss, mid)
        between = np.maximum(np.searchsorted(st, hi, side="left") - np.searchsorted(st, lo, side="right"), 0)
    delta = a_p - a_b
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(a_b > 0, delta / np.where(a_b > 0, a_b, 1), np.nan)
    df = pd.DataFrame({
        "element_id": element["element_id"], "element_chrom": element["chrom"], "element_start_bp": s,
        "element_end_bp": e, "gene_id": inside["gene_id"].to_numpy(), "gene_name": inside["gene_name"].to_numpy(),
        "gene_chrom": element["chrom"], "gene_tss_bp": tss, "gene_strand": inside["strand"].to_numpy(),
        "distance_bp": dist, "baseline_area": a_b, "perturbed_area": a_p, "delta_area": delta, "rel_change": rel,
        "abs_delta": np.abs(delta), "window_id": window_id, "mode": mode, "proximity_rank": rank,
        "genes_between": between,
    })
    return df[list(EFFECTS_COLUMNS)]


def _effects_table(windows_df, active, pair_arr, baseline, perturbed, all_genes, mode, half_bp) -> pd.DataFrame:
    """Rows per (window, element, gene in window) with areas, deltas and geometry."""
    from claster.perturb.perturbation import EFFECTS_COLUMNS

    rows = []
    by_chrom = {c: g.reset_index(drop=True) for c, g in all_genes.groupby("chrom", sort=False)}
    sorted_tss = {c: np.sort(g["tss_bp"].to_numpy(np.int64)) for c, g in by_chrom.items()}
    for k, (w, i) in enumerate(pair_arr):
        win = windows_df.iloc[w]
        g = by_chrom.get(win.chrom)
        if g is None:
            continue
        if mode == "gene-centric":
            inside = g[(g["tss_bp"] - win.tss_bp).abs() <= half_bp + TARGET_BIN_BP // 2]
        else:
            inside = g[(g["start_bp"] >= win.tss_bp - half_bp - TARGET_BIN_BP // 2)
                       & (g["end_bp"] <= win.tss_bp + half_bp + TARGET_BIN_BP // 2)]
        if inside.empty:
            continue
        rows.append(_gene_effects(active.iloc[i].to_dict(), inside, int(win.tss_bp), baseline[w], perturbed[k],
                                  window_id=win.window_id, mode=mode, chrom_tss_bp=sorted_tss[win.chrom]))
    if not rows:
        return pd.DataFrame(columns=list(EFFECTS_COLUMNS))
    return pd.concat(rows, ignore_index=True)


def perturb_with_spec(
    predictor,
    store,
    spec,
    genes: list[str],
    *,
    batch_size: int = 64,
) -> ScanResult:
    """Apply each perturbation of a :class:`PerturbSpec` to the windows of ``genes`` (SPEC §6 logic).

    Used for the regulatory-logic experiments (scale, flip or copy a promoter, transplant an
    enhancer). Returns effects on every gene in each window (``element_id`` = perturbation name) and,
    in ``profiles``, the baseline and perturbed profiles per (gene, perturbation).
    """
    from claster.perturb.perturbation import EFFECTS_COLUMNS, apply_operations, check_tracks

    names = list(store.track_names)
    check_tracks(spec, names)
    predictor.check_store(store)
    idx = store.genes
    sel = idx[idx["gene_id"].isin(genes) | idx["gene_name"].isin(genes)].drop_duplicates("gene_id")
    unknown = sorted(set(genes) - set(sel["gene_id"]) - set(sel["gene_name"]))
    if unknown:
        raise InputError(f"gene(s) not in the store: {', '.join(unknown)}; use names or ids from genes.tsv")
    sel = sel.reset_index(drop=True)
    gw = predictor.windows(store, sel, with_target=False)
    n = predictor.context_bins
    half_bp = (predictor.output_bins // 2) * TARGET_BIN_BP
    rows, profiles = [], {}
    source = {c: predictor.store_tracks(store, c) for c in sel["chrom"].unique()}  # --match-scale applied
    started = time.perf_counter()
    for w, g in enumerate(sel.itertuples()):
        i = torch.tensor([w], device=gw.device)
        base_x = gw.landscape(i)[0].cpu().numpy()
        struct = gw.structure(i)
        start_bp = (int(g.tss_bp) // LANDSCAPE_BIN_BP - n // 2) * LANDSCAPE_BIN_BP
        variants = [base_x] + [
            apply_operations(base_x, p, names, start_bp, chrom=g.chrom, genes=idx, source_tracks=source)
            for p in spec.perturbations
        ]
        xs = torch.from_numpy(np.stack(variants))
        preds = []
        for lo in range(0, len(xs), batch_size):
            s = None if struct is None else struct.expand(len(xs[lo : lo + batch_size]), *struct.shape[1:])
            preds.append(predictor.predict_raw(xs[lo : lo + batch_size], s).cpu().numpy())
        preds = np.concatenate(preds)
        inside = idx[(idx["chrom"] == g.chrom) & ((idx["tss_bp"] - g.tss_bp).abs() <= half_bp + 500)]
        for p, pred in zip(spec.perturbations, preds[1:], strict=True):
            profiles[(g.gene_id, p.name)] = (preds[0], pred)
            element = {"element_id": p.name, "chrom": g.chrom, "start_bp": int(g.tss_bp), "end_bp": int(g.tss_bp) + 1}
            rows.append(_gene_effects(element, inside, int(g.tss_bp), preds[0], pred, window_id=g.gene_id,
                                      mode="spec"))
    effects = pd.concat(rows, ignore_index=True)[list(EFFECTS_COLUMNS)] if rows else pd.DataFrame(
        columns=list(EFFECTS_COLUMNS))
    summary = {"mode": "spec", "n_windows": len(sel), "n_perturbations": len(spec.perturbations),
               "wall_seconds": round(time.perf_counter() - started, 3)}
    centres = dict(zip(sel["gene_id"], sel["tss_bp"].astype(int), strict=True))
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
