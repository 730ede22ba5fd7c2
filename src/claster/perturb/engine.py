"""The one perturbation engine: baselines and perturbed windows predicted in device batches (SPEC §6).

Every mode goes through :class:`PerturbationEngine`: the gene- and enhancer-centric scans, ``--spec``
runs and the Python API. Windows are cut from the device-resident store tracks
(:class:`claster.data.genome.GenomeWindows`); a perturbed row is a window index plus either

* a **fill** (one ``silence``: tracks set to a value over bins ``[lo, hi)``), applied to a whole
  batch with one masked ``where`` (the P1/P2 presets, BED region tables), or
* a list of resolved **operations** (scale, flip, copy, several silences, ...), applied per row with
  the same kernel as :func:`claster.perturb.operations.apply_operations`.

Job ``j < n_windows`` is window ``j``'s unperturbed baseline; job ``n_windows + r`` is perturbed row
``r``. Batches mix baselines and rows of different windows so every forward pass is full. All
perturbations act on genomic-order windows; the :class:`~claster.predict.Predictor` presents each
window in the orientation the model was trained in and returns profiles in genomic order.

The effects of a run are one table (:data:`EFFECTS_COLUMNS`), built by :func:`effects_table` for
every mode: the change of each gene's predicted area (gene body, or the TSS region for POLR2A-like
targets, SPEC §7) between the baseline and the perturbed profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from claster.config.perturb import Perturbation
from claster.errors import InputError
from claster.perturb.operations import _Action, _execute_, _ops_of, _resolve_actions
from claster.perturb.regions import element_gene_geometry
from claster.units import LANDSCAPE_BIN_BP, TARGET_BIN_BP

__all__ = [
    "EFFECTS_COLUMNS",
    "EFFECTS_COLUMN_DOCS",
    "PerturbationEngine",
    "parse_area",
    "area_bins",
    "effects_table",
]

#: Columns of the per (element, gene) effects table written by ``claster perturb`` (``effects.tsv``).
EFFECTS_COLUMN_DOCS: dict[str, str] = {
    "element_id": "unique element id: the BED name, chrom:start-end when the name is missing or '.', "
    "repeated names suffixed _2, _3, ...; a spec's perturbation name",
    "element_chrom": "chromosome of the element",
    "element_start_bp": "element start, 0-based, bp",
    "element_end_bp": "element end, exclusive, bp",
    "element_name": "the element's name as given in the BED (or the perturbation name)",
    "gene_id": "affected gene's id",
    "gene_name": "affected gene's name",
    "gene_chrom": "affected gene's chromosome",
    "gene_tss_bp": "affected gene's TSS, 0-based, bp",
    "gene_strand": "'+' or '-'",
    "distance_bp": "|gene_tss_bp - element midpoint|, midpoint = (start + end) // 2, bp",
    "baseline_area": "predicted area (Simpson over the `area` bins, SPEC §5; signal x 1 kbp bins) "
    "without the perturbation",
    "perturbed_area": "predicted area with the perturbation (same unit)",
    "delta_area": "perturbed_area - baseline_area",
    "rel_change": "delta_area / baseline_area (NaN when baseline_area is 0)",
    "abs_delta": "|delta_area|",
    "window_id": "the reference gene (gene-centric, spec) or element (enhancer-centric) the window is centred on",
    "mode": "'gene-centric', 'enhancer-centric' or 'spec'",
    "proximity_rank": "1 = the gene whose TSS is closest to the element midpoint (ties share the lower rank)",
    "genes_between": "number of TSSs strictly between the element midpoint and this gene's TSS",
    "area": "what the areas measure: 'body' (gene body, SPEC §5) or 'tss:-2000..3000' (TSS region, bp, "
    "upstream negative, strand-aware; SPEC §7 for POLR2A targets)",
    "padded_fraction": "fraction of the window's landscape bins off the chromosome (zero-filled)",
}
EFFECTS_COLUMNS: tuple[str, ...] = tuple(EFFECTS_COLUMN_DOCS)

_AREA_RE = re.compile(r"^\s*tss\s*:\s*([+-]?\d+)\s*\.\.\s*([+-]?\d+)\s*$")


def parse_area(area: str) -> tuple[str, int | None, int | None]:
    """``(label, up_bp, down_bp)`` of an area: ``body`` -> ("body", None, None); ``tss:-2000..3000`` ->
    ("tss:-2000..3000", -2000, 3000) (bp relative to the TSS along the gene; upstream negative)."""
    if str(area).strip() == "body":
        return "body", None, None
    m = _AREA_RE.match(str(area))
    if not m or int(m[2]) <= int(m[1]):
        raise InputError(
            f"cannot read area {area!r}; use 'body' (gene body) or 'tss:START..END' in bp around the TSS, "
            "upstream negative, START < END (SPEC §7 POLR2A: tss:-2000..3000)"
        )
    up, down = int(m[1]), int(m[2])
    return f"tss:{up}..{down}", up, down


def area_bins(genes: pd.DataFrame, center_bp: np.ndarray, n_bins: int, area: str = "body"
              ) -> tuple[np.ndarray, np.ndarray]:
    """First and last output bin (offsets from the centre) of each gene's ``area`` (see :func:`parse_area`).

    ``body``: :func:`claster.data.body.gene_body_bins`. ``tss:U..D``: the interval [TSS + U, TSS + D)
    on the plus strand and [TSS − D, TSS − U) on the minus strand (strand-aware), binned the same way.
    """
    from claster.data.body import gene_body_bins

    _, up, down = parse_area(area)
    if up is None:
        return gene_body_bins(genes, center_bp=center_bp, n_bins=n_bins)
    tss = genes["tss_bp"].to_numpy(np.int64)
    minus = genes["strand"].astype(str).to_numpy() == "-"
    start = np.where(minus, tss - down, tss + up)
    end = np.where(minus, tss - up, tss + down)
    frame = pd.DataFrame({"start_bp": start, "end_bp": end})
    return gene_body_bins(frame, center_bp=center_bp, n_bins=n_bins)


# ---------------------------------------------------------------------------------------------- engine


class PerturbationEngine:
    """Baselines and perturbed variants of a fixed set of windows, predicted in full device batches.

    Parameters
    ----------
    predictor
        A :class:`claster.predict.Predictor` (its device, orientation and normalisation are used).
    windows
        :class:`claster.data.genome.GenomeWindows` of the windows (on the predictor's device), built with
        ``predictor.windows(store, windows_df)``.
    windows_df
        One row per window: ``chrom``, ``tss_bp`` (the centre, bp) and ``strand``.
    track_names
        The landscape tracks, in the store's order.

    Rows are queued with :meth:`add_fills` (vectorised, any number at once) and
    :meth:`add_operations` (one perturbation of one window); :meth:`run` predicts every job.
    """

    def __init__(self, predictor, windows, windows_df: pd.DataFrame, track_names: Sequence[str]) -> None:
        self.predictor, self.gw = predictor, windows
        self.track_names = list(track_names)
        self.n_windows = len(windows_df)
        self.n_bins = int(predictor.context_bins)
        tss = windows_df["tss_bp"].to_numpy(np.int64)
        #: genome position (bp) of bin 0 of each window
        self.window_start_bp = (tss // LANDSCAPE_BIN_BP - self.n_bins // 2) * LANDSCAPE_BIN_BP
        self.chroms = windows_df["chrom"].astype(str).to_numpy()
        self.flip = np.array(predictor.orientation_flags(windows_df), dtype=bool)
        self._win: list[np.ndarray] = []
        self._lo: list[np.ndarray] = []
        self._hi: list[np.ndarray] = []
        self._val: list[np.ndarray] = []
        self._tracks: list[np.ndarray] = []  # (R, T) bool
        self._general: dict[int, list[_Action]] = {}
        self._n_rows = 0
        self._dev: dict[str, torch.Tensor] | None = None

    def __len__(self) -> int:
        """Number of jobs: one baseline per window plus every perturbed row."""
        return self.n_windows + self._n_rows

    @property
    def n_rows(self) -> int:
        return self._n_rows

    def _append(self, win, lo, hi, val, tracks) -> np.ndarray:
        n = len(win)
        ids = np.arange(self._n_rows, self._n_rows + n, dtype=np.int64)
        self._win.append(np.asarray(win, np.int64))
        self._lo.append(np.asarray(lo, np.int64))
        self._hi.append(np.asarray(hi, np.int64))
        self._val.append(np.asarray(val, np.float32))
        self._tracks.append(np.asarray(tracks, bool).reshape(n, len(self.track_names)))
        self._n_rows += n
        self._dev = None
        return ids

    def add_fills(self, window: Any, lo: Any, hi: Any, tracks: Sequence[int], value: float = 0.0) -> np.ndarray:
        """Queue rows that set ``tracks`` to ``value`` over window bins ``[lo, hi)`` (clipped to the window).

        ``window``, ``lo``, ``hi``: ``(R,)`` int arrays (window index, bin bounds). Returns the row ids.
        """
        window = np.asarray(window, np.int64).reshape(-1)
        n = len(window)
        lo = np.clip(np.asarray(lo, np.int64).reshape(-1), 0, self.n_bins)
        hi = np.clip(np.asarray(hi, np.int64).reshape(-1), 0, self.n_bins)
        mask = np.zeros((n, len(self.track_names)), dtype=bool)
        mask[:, list(tracks)] = True
        return self._append(window, lo, np.maximum(hi, lo), np.full(n, value, np.float32), mask)

    def add_operations(
        self,
        window: int,
        perturbation: Perturbation | Sequence[Any],
        *,
        genes: pd.DataFrame | None = None,
        source_tracks: Mapping[str, Any] | Callable[[str], Any] | None = None,
    ) -> int:
        """Queue one perturbation (its operations in order) of window ``window``; returns the row id.

        A single ``silence`` runs as a batched fill; anything else runs per row with
        :func:`claster.perturb.operations.apply_operations`'s kernel.
        """
        acts = _resolve_actions(
            _ops_of(perturbation), self.track_names, int(self.window_start_bp[window]), str(self.chroms[window]),
            genes, source_tracks, self.n_bins, LANDSCAPE_BIN_BP,
        )
        if len(acts) == 1 and acts[0].kind == "set":
            a = acts[0]
            return int(self.add_fills([window], [a.lo], [a.hi], a.tracks, float(a.value))[0])
        row = int(self._append([window], [0], [0], [0.0], np.zeros((1, len(self.track_names)), bool))[0])
        self._general[row] = acts
        return row

    # ------------------------------------------------------------------ prediction
    def _device_tables(self, device: torch.device) -> dict[str, torch.Tensor]:
        if self._dev is None or self._dev["win"].device != device:
            def cat(parts, empty):
                return torch.from_numpy(np.concatenate(parts) if parts else empty).to(device)

            t = len(self.track_names)
            self._dev = {
                "win": cat(self._win, np.zeros(0, np.int64)),
                "lo": cat(self._lo, np.zeros(0, np.int64)),
                "hi": cat(self._hi, np.zeros(0, np.int64)),
                "val": cat(self._val, np.zeros(0, np.float32)),
                "tracks": cat(self._tracks, np.zeros((0, t), bool)),
                "flip": torch.from_numpy(self.flip).to(device),
            }
        return self._dev

    @torch.no_grad()
    def predict_jobs(self, jobs: torch.Tensor) -> torch.Tensor:
        """``(B, output_bins)`` predictions, genomic order, for jobs ``jobs`` (see the module doc)."""
        gw = self.gw
        dev = gw.device
        tab = self._device_tables(dev)
        jobs = jobs.to(dev)
        is_row = jobs >= self.n_windows
        row = torch.where(is_row, jobs - self.n_windows, torch.zeros_like(jobs))
        win = torch.where(is_row, tab["win"][row] if self._n_rows else jobs, jobs)
        x = gw.landscape(win)  # (B, T, W) genomic order, raw units
        if self._n_rows:
            pos = torch.arange(x.shape[-1], device=dev)
            lo = torch.where(is_row, tab["lo"][row], torch.zeros_like(row))
            hi = torch.where(is_row, tab["hi"][row], torch.zeros_like(row))
            inside = (pos[None, :] >= lo[:, None]) & (pos[None, :] < hi[:, None])  # (B, W)
            mask = tab["tracks"][row] & is_row[:, None]  # (B, T)
            mask = mask[:, :, None] & inside[:, None, :]
            x = torch.where(mask, tab["val"][row].to(x.dtype)[:, None, None], x)
            if self._general:
                rows_cpu = (jobs - self.n_windows).cpu().numpy()
                for b, r in enumerate(rows_cpu):
                    acts = self._general.get(int(r)) if r >= 0 else None
                    if acts is not None:
                        _execute_(x[b], acts, self.n_bins)
        return self.predictor.predict_raw(x, gw.structure(win), flip=tab["flip"][win])

    def run(self, *, batch_size: int = 64, progress: bool = False, desc: str = "perturb"
            ) -> tuple[np.ndarray, np.ndarray]:
        """Predict every job on the predictor's device.

        Returns
        -------
        baseline ``(n_windows, output_bins)`` and perturbed ``(n_rows, output_bins)`` float32 profiles in
        genomic order, track units.
        """
        from tqdm.auto import tqdm

        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(self), self.predictor.output_bins), dtype=np.float32)
        for lo in tqdm(range(0, len(self), batch_size), disable=not progress, desc=desc, unit="batch"):
            jobs = torch.arange(lo, min(len(self), lo + batch_size))
            out[lo : lo + len(jobs)] = self.predict_jobs(jobs).float().cpu().numpy()
        return out[: self.n_windows], out[self.n_windows :]


# ---------------------------------------------------------------------------------------------- effects


def _areas(profiles: np.ndarray, genes: pd.DataFrame, center_bp: np.ndarray, area: str) -> np.ndarray:
    from claster.data.body import body_simpson

    lo, hi = area_bins(genes, center_bp, profiles.shape[1], area)
    return body_simpson(profiles, lo, hi, mean=False)


def genes_in_window(genes: pd.DataFrame, centre_bp: int, half_bp: int, mode: str) -> pd.DataFrame:
    """The genes a window scores: TSS within the output (gene-centric, spec) or body fully inside
    (enhancer-centric), with half a 1 kbp bin of slack at each end."""
    slack = TARGET_BIN_BP // 2
    if mode == "enhancer-centric":
        return genes[(genes["start_bp"] >= centre_bp - half_bp - slack) & (genes["end_bp"] <= centre_bp + half_bp + slack)]
    return genes[(genes["tss_bp"] - centre_bp).abs() <= half_bp + slack]


def effects_table(
    windows_df: pd.DataFrame,
    rows: pd.DataFrame,
    baseline: np.ndarray,
    perturbed: np.ndarray,
    all_genes: pd.DataFrame,
    *,
    mode: str,
    half_bp: int,
    area: str = "body",
    padded_fraction: np.ndarray | None = None,
) -> pd.DataFrame:
    """The effects table (:data:`EFFECTS_COLUMNS`) of a run, one row per (perturbed row, gene in its window).

    ``rows``: one per perturbed row ``r`` (aligned with ``perturbed[r]``), columns ``window`` (index into
    ``windows_df``), ``element_id``, ``element_name``, ``chrom``, ``start_bp``, ``end_bp``.
    ``windows_df``: ``window_id``, ``chrom``, ``tss_bp`` (centre). ``baseline``: ``(n_windows, n_out)``.
    """
    label = parse_area(area)[0]
    out = []
    by_chrom = {c: g.reset_index(drop=True) for c, g in all_genes.groupby("chrom", sort=False)}
    sorted_tss = {c: np.sort(g["tss_bp"].to_numpy(np.int64)) for c, g in by_chrom.items()}
    centres = windows_df["tss_bp"].to_numpy(np.int64)
    wchrom = windows_df["chrom"].astype(str).to_numpy()
    wid = windows_df["window_id"].astype(str).to_numpy()
    pad = np.zeros(len(windows_df)) if padded_fraction is None else np.asarray(padded_fraction, float)
    base_cache: dict[int, tuple[pd.DataFrame, np.ndarray]] = {}
    for k, r in enumerate(rows.itertuples(index=False)):
        w = int(r.window)
        g = by_chrom.get(wchrom[w])
        if g is None:
            continue
        if w not in base_cache:
            inside = genes_in_window(g, int(centres[w]), half_bp, mode)
            cen = np.full(len(inside), centres[w], dtype=np.int64)
            a_b = _areas(np.repeat(baseline[w][None], len(inside), 0), inside, cen, label) if len(inside) else None
            base_cache[w] = (inside, a_b)
        inside, a_b = base_cache[w]
        if inside.empty:
            continue
        cen = np.full(len(inside), centres[w], dtype=np.int64)
        a_p = _areas(np.repeat(perturbed[k][None], len(inside), 0), inside, cen, label)
        tss = inside["tss_bp"].to_numpy(np.int64)
        s, e = int(r.start_bp), int(r.end_bp)
        dist, rank, _ = element_gene_geometry(s, e, tss)
        mid, st = (s + e) // 2, sorted_tss[wchrom[w]]  # TSSs strictly between, over the whole chromosome
        lo, hi = np.minimum(tss, mid), np.maximum(tss, mid)
        between = np.maximum(np.searchsorted(st, hi, side="left") - np.searchsorted(st, lo, side="right"), 0)
        delta = a_p - a_b
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(a_b > 0, delta / np.where(a_b > 0, a_b, 1), np.nan)
        out.append(pd.DataFrame({
            "element_id": r.element_id, "element_name": r.element_name, "element_chrom": r.chrom,
            "element_start_bp": s, "element_end_bp": e, "gene_id": inside["gene_id"].to_numpy(),
            "gene_name": inside["gene_name"].to_numpy(), "gene_chrom": wchrom[w], "gene_tss_bp": tss,
            "gene_strand": inside["strand"].to_numpy(), "distance_bp": dist, "baseline_area": a_b,
            "perturbed_area": a_p, "delta_area": delta, "rel_change": rel, "abs_delta": np.abs(delta),
            "window_id": wid[w], "mode": mode, "proximity_rank": rank, "genes_between": between,
            "area": label, "padded_fraction": pad[w],
        }))
    if not out:
        return pd.DataFrame(columns=list(EFFECTS_COLUMNS))
    return pd.concat(out, ignore_index=True)[list(EFFECTS_COLUMNS)]
