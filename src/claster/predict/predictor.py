"""Load a trained run and predict transcription profiles from raw windows (no Lightning needed).

A :class:`Predictor` holds the network, the normalisation fitted at training time, and the window
geometry the network expects. Prediction, evaluation, perturbation and attribution all go through it,
so standardisation and the inverse transform happen in exactly one place.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from claster.errors import CheckpointError, ClasterWarning, InputError

__all__ = ["Predictor", "resolve_model_dir"]


def resolve_model_dir(run: str | Path) -> Path:
    """The exported model directory of a run (``RUN/model``), or ``run`` itself if it is one."""
    run = Path(run)
    if (run / "model" / "model.pt").is_file():
        return run / "model"
    if (run / "model.pt").is_file():
        return run
    if not run.exists():
        raise InputError(f"run directory {run} does not exist; pass the --out of `claster train`")
    raise CheckpointError(
        f"{run} holds no exported model (model/model.pt); the training run may not have finished — "
        "resume it with `claster train --resume` or pick another run"
    )


class Predictor:
    """A trained network with its normalisation, on one device.

    Parameters
    ----------
    run
        A run directory from ``claster train`` (or its ``model/`` sub-directory).
    device
        Torch device for inference ("cpu", "cuda", "cuda:1").
    match_scale
        Rescale each input track of a store onto the training distribution before standardisation:
        "none", "promoter-median" or "quantile" (see :func:`claster.qc.match_scale`).
    """

    def __init__(self, run: str | Path, device: str | torch.device = "cpu", match_scale: str = "none") -> None:
        from claster.data.transforms import normalisers_from_dict
        from claster.qc import MATCH_SCALE_METHODS
        from claster.model.checkpoint import load_model

        self.model_dir = resolve_model_dir(run)
        self.device = torch.device(device)
        model, meta = load_model(self.model_dir, map_location=self.device)
        extra = meta.get("extra", meta)
        try:
            self.normalisation = extra["normalisation"]
            self.track_names = list(extra["track_names"])
            tc = extra["train_config"]
        except KeyError as e:
            raise CheckpointError(
                f"{self.model_dir} lacks {e.args[0]!r} in its metadata; it was not written by `claster train`"
            ) from e
        self.model = model.to(self.device).eval()
        self.variant = tc["variant"]
        self.context_bins = int(tc["context_bins"])
        self.output_bins = int(tc["output_bins"])
        self.structure = extra.get("structure")
        #: True when the model was trained with minus-strand genes reversed (``--strand-oriented``):
        #: every prediction then presents a minus-strand window reversed and flips the output back.
        self.strand_oriented = bool(tc.get("strand_oriented", False))
        self.store_checksum = extra.get("store_manifest_sha256")
        self.meta = meta
        # value transform (e.g. log1p, saved with the model) + standardisation, and their inverse
        norms = normalisers_from_dict(self.normalisation)
        self.norm_landscape, self.norm_structure, self.norm_target = (
            norms["landscape"], norms["structure"], norms["target"])
        if match_scale not in MATCH_SCALE_METHODS:
            raise InputError(f"--match-scale {match_scale!r} is not known; use one of {', '.join(MATCH_SCALE_METHODS)}")
        self.match_scale = match_scale
        self.input_stats = extra.get("input_stats")  # training-split distributions (None: an older run)
        self._input_checks: dict[str, dict] = {}  # store path -> record of the shift check
        self._scales: dict[str, object] = {}  # store path -> claster.qc.ScaleMatch

    # ------------------------------------------------------------------ checks
    def check_store(self, store) -> None:
        """Raise :class:`InputError` when ``store`` cannot feed this model (tracks, contacts)."""
        names = list(store.track_names)
        if names != self.track_names:
            raise InputError(
                f"the model was trained on tracks {self.track_names} but the store {store.path} has {names}; "
                "prepare the store with the same --track roles in the same order"
            )
        if self.structure is not None:
            kind = "pchic" if self.structure == "pchic" else "contacts"
            if store.manifest.get(kind) is None:
                raise InputError(
                    f"the {self.variant} model needs {kind} but the store {store.path} has none; "
                    f"prepare it with --{kind}"
                )
        from claster.train import store_checksum

        if self.store_checksum and store_checksum(store) != self.store_checksum:
            warnings.warn(
                f"the store {store.path} differs from the one the model was trained on (manifest checksum); "
                "predictions are valid only if its tracks are processed the same way",
                ClasterWarning,
                stacklevel=2,
            )
        self.input_check(store)

    def input_check(self, store) -> dict:
        """Compare ``store``'s input distributions with the training ones (once per store).

        Warns (:class:`ClasterWarning`, one line per track) for each shifted track when no scale
        matching is asked, or once that the check is unavailable for a run without training
        statistics. With ``match_scale`` the per-track rescaling is fitted here and applied by
        :meth:`windows`. Returns the JSON-safe record that goes into every output's summary.
        """
        from claster.qc import compare_to_training, match_scale, store_distribution, unavailable_message, warn_shifts

        key = str(store.path)
        if key in self._input_checks:
            return self._input_checks[key]
        rec: dict = {"store": key, "available": self.input_stats is not None, "shifted_tracks": [],
                     "match_scale": {"method": self.match_scale}}
        if self.input_stats is None:
            if self.match_scale != "none":
                raise InputError(
                    f"--match-scale {self.match_scale} needs the training statistics, which the run "
                    f"{self.model_dir} lacks (it predates them); retrain it, or pass --match-scale none"
                )
            warnings.warn(unavailable_message(self.model_dir), ClasterWarning, stacklevel=3)
        else:
            dist = store_distribution(store)
            rows = compare_to_training(dist, self.input_stats)
            rec["tracks"] = rows
            rec["shifted_tracks"] = [r["track"] for r in rows if r.get("shifted")]
            if self.match_scale == "none":
                rec["warnings"] = warn_shifts(rows, key)
            else:
                sm = match_scale(dist, self.input_stats, self.match_scale, self.track_names)
                self._scales[key] = sm
                rec["match_scale"] = sm.summary()
        self._input_checks[key] = rec
        return rec

    def windows(self, store, samples: pd.DataFrame, *, with_target: bool = False):
        """A :class:`GenomeWindows` for ``samples`` with this model's geometry, on this device.

        Raises :class:`InputError` when the store's contact windows do not have the shape the model
        was trained on (another contact resolution).
        """
        from claster.data.genome import GenomeWindows

        w = GenomeWindows(
            store, samples, context_bins=self.context_bins, output_bins=self.output_bins,
            structure=self.structure, with_target=with_target,
        )
        self.input_check(store)
        scale = self._scales.get(str(store.path))
        if scale is not None:  # --match-scale: rescale the raw tracks once, before any standardisation
            tracks = w._tracks  # (T, N) raw track values of the selected chromosomes (zero pads included)
            tracks.data = torch.from_numpy(scale.apply(tracks.data.cpu().numpy()))
        want = getattr(getattr(self.model, "config", None), "structure_shape", None)
        if want is not None and w.structure_shape is not None and tuple(want) != tuple(w.structure_shape):
            raise InputError(
                f"the model reads contact windows of shape {tuple(want)} but the store {store.path} gives "
                f"{tuple(w.structure_shape)} (another contact resolution); prepare the store at the "
                "resolution the model was trained on"
            )
        return w.to(self.device)

    def store_tracks(self, store, chrom: str) -> np.ndarray:
        """(T, n_bins) float32 raw tracks of ``chrom`` as this model sees them (after any --match-scale)."""
        self.input_check(store)
        arr = np.asarray(store.tracks(chrom), dtype=np.float32)
        scale = self._scales.get(str(store.path))
        return scale.apply(arr) if scale is not None else arr

    # ------------------------------------------------------------------ prediction
    def orientation_flags(self, samples: pd.DataFrame) -> np.ndarray:
        """``(N,)`` bool: which windows the model reads reversed (minus-strand genes of a strand-oriented
        model; windows without a ``strand`` column, BED loci and tiles (strand '+') are never reversed)."""
        if not self.strand_oriented or "strand" not in samples.columns:
            return np.zeros(len(samples), dtype=bool)
        return (samples["strand"].astype(str) == "-").to_numpy()

    def _flip_inputs(self, landscape: torch.Tensor, structure: torch.Tensor | None, flip: torch.Tensor):
        shape = (-1, 1, 1)
        landscape = torch.where(flip.view(shape), torch.flip(landscape, dims=(-1,)), landscape)
        if structure is not None:
            dims = (-1,) if self.structure == "rotated" else (-2, -1)
            structure = torch.where(flip.view(shape), torch.flip(structure, dims=dims), structure)
        return landscape, structure

    @torch.no_grad()
    def predict_raw(
        self, landscape: torch.Tensor, structure: torch.Tensor | None = None, flip: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Predict from raw (unstandardised) windows.

        landscape: (B, T, context_bins) float32 mean signal per 100 bp; structure: (B, H, W) log10
        contacts or None. ``flip``: optional (B,) bool; those windows (given in genomic order) are
        reversed before the network (landscape along the genome; rotated contacts along their width,
        square maps along both axes) and their profiles reversed back, so input and output are in
        genomic order. Returns (B, output_bins) float32 EU-seq in track units, clipped at 0 (SPEC §3).
        """
        landscape = landscape.to(self.device, torch.float32)
        if structure is not None:
            structure = structure.to(self.device, torch.float32)
        if flip is not None:
            flip = flip.to(self.device, torch.bool)
            if bool(flip.any()):
                landscape, structure = self._flip_inputs(landscape, structure, flip)
            else:
                flip = None
        x = self.norm_landscape.transform(landscape)
        s = None
        if structure is not None:
            s = structure
            if self.norm_structure is not None:
                s = self.norm_structure.transform(s)
        pred = torch.relu(self.norm_target.inverse_transform(self.model(x, s).float()))
        if flip is not None:
            pred = torch.where(flip.view(-1, 1), torch.flip(pred, dims=(-1,)), pred)
        return pred

    def predict_samples(
        self, windows, *, rev: bool = False, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Predict every window of a :class:`GenomeWindows`: (N, output_bins) float32, track units, genomic order.

        Each window is presented in the model's training orientation (:meth:`orientation_flags`); with
        ``rev`` every window is additionally reversed. Profiles are always returned in genomic order.
        """
        from tqdm.auto import tqdm

        n = len(windows)
        out = np.empty((n, self.output_bins), dtype=np.float32)
        flags = torch.from_numpy(np.array(self.orientation_flags(windows.samples) ^ bool(rev), dtype=bool)).to(windows.device)
        for lo in tqdm(range(0, n, batch_size), disable=not progress, desc="predict", unit="batch"):
            idx = torch.arange(lo, min(n, lo + batch_size), device=windows.device)
            pred = self.predict_raw(windows.landscape(idx), windows.structure(idx), flip=flags[idx])
            out[lo : lo + len(idx)] = pred.cpu().numpy()
        return out

    def summary(self) -> dict:
        """A JSON-safe description of the model (variant, geometry, tracks)."""
        return {
            "model_dir": str(self.model_dir),
            "variant": self.variant,
            "track_names": self.track_names,
            "context_bins": self.context_bins,
            "output_bins": self.output_bins,
            "structure": self.structure,
            "match_scale": self.match_scale,
            "has_input_stats": self.input_stats is not None,
            "strand_oriented": self.strand_oriented,
        }


