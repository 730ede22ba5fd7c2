"""Input QC of a store, on its own and against a trained model; distribution-shift checks and scale matching.

- :func:`store_qc`: per track and chromosome coverage, gaps, zeros, quantiles and promoter values;
  the target and its near-zero genes; contact missing pixels and the distance-decay curve.
- :func:`training_stats`: what a model carries from its training split (``input_stats``).
- :func:`compare_to_training`, :func:`warn_shifts`: the shift score per track and its warning.
- :func:`match_scale`: rescale a new store's tracks onto the training distribution.
- :func:`qc`: the ``claster qc`` command (qc.json, qc.tsv, figures).

This package reads stores only (it sits between ``store`` and ``data`` in the layer order).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from claster.qc._shift import (
    MATCH_SCALE_METHODS,
    RATIO_LIMIT,
    ScaleMatch,
    compare_to_training,
    match_scale,
    shift_warning,
    warn_shifts,
)
from claster.qc._stats import (
    CURVE_LEVELS,
    GAP_MIN_BINS,
    NEAR_ZERO_FRACTION,
    PROMOTER_FLANK_BP,
    QC_LEVELS,
    contact_qc,
    promoter_means,
    target_qc,
    track_distribution,
    track_qc,
    training_stats,
    zero_runs,
)

__all__ = [
    "CURVE_LEVELS",
    "GAP_MIN_BINS",
    "MATCH_SCALE_METHODS",
    "NEAR_ZERO_FRACTION",
    "PROMOTER_FLANK_BP",
    "QC_LEVELS",
    "RATIO_LIMIT",
    "ScaleMatch",
    "compare_to_training",
    "contact_qc",
    "match_scale",
    "promoter_means",
    "qc",
    "shift_warning",
    "store_distribution",
    "store_qc",
    "target_qc",
    "track_distribution",
    "track_qc",
    "training_stats",
    "unavailable_message",
    "warn_shifts",
    "zero_runs",
]

_DIST_CACHE: dict[tuple[str, str], dict] = {}


def store_distribution(store) -> dict:
    """:func:`track_distribution` of a whole store (all chromosomes, usable genes), cached per store.

    The cache key is the store path and its manifest checksum, so a rebuilt store is re-read.
    """
    import hashlib

    key = (
        str(Path(store.path).resolve()),
        hashlib.sha256((Path(store.path) / "manifest.json").read_bytes()).hexdigest(),
    )
    if key not in _DIST_CACHE:
        genes = store.genes[store.genes["usable"].astype(bool)]
        _DIST_CACHE[key] = track_distribution(store, store.chroms, genes)
    return _DIST_CACHE[key]


def store_qc(store, input_stats: dict | None = None) -> dict:
    """The full QC of an open store; with a model's ``input_stats``, also the shift per track.

    Returns a JSON-safe dict: ``tracks`` (rows per track and chromosome, see :func:`track_qc`),
    ``target`` (:func:`target_qc`), ``contacts`` (per kind: rows per chromosome with the decay curve),
    ``distribution`` (:func:`store_distribution`), and with ``input_stats``: ``shift`` (rows of
    :func:`compare_to_training`), ``training`` (the model's statistics) and ``verdict``.
    """
    genes = store.genes
    usable = genes[genes["usable"].astype(bool)]
    out: dict = {
        "store": str(store.path),
        "track_names": list(store.track_names),
        "chroms": list(store.chroms),
        "thresholds": {
            "gap_min_bp": GAP_MIN_BINS * store.track_bin_bp,
            "promoter_flank_bp": PROMOTER_FLANK_BP,
            "near_zero_fraction_of_q99": NEAR_ZERO_FRACTION,
            "shift_ratio_limit": RATIO_LIMIT,
        },
    }
    out["tracks"] = track_qc(store, usable)
    out["target"] = target_qc(store, genes)
    out["contacts"] = {}
    for kind in ("contacts", "pchic"):
        if store.has(kind):
            out["contacts"][kind] = [
                contact_qc(store, c, kind) for c in store.manifest[kind].get("chroms", [])
            ]
    out["distribution"] = store_distribution(store)
    if input_stats is not None:
        out["shift"] = compare_to_training(out["distribution"], input_stats)
        out["training"] = input_stats
    out["verdict"] = verdict(out)
    return out


def verdict(q: dict) -> dict:
    """One-line verdict and the notes that need action, from a :func:`store_qc` result."""
    actions = []
    for r in q.get("shift", []):
        if r.get("shifted"):
            actions.append(shift_warning(r, "the store"))
    low = [r for r in q.get("tracks", []) if r.get("coverage") is not None and r["coverage"] < 0.5]
    for r in low:
        actions.append(
            f"{r['track']} on {r['chrom']} has data in only {r['coverage']:.0%} of bins; "
            "check the input bigWig"
        )
    nz = q.get("target", {}).get("near_zero_fraction")
    if nz is not None and nz > 0.5:
        actions.append(f"{nz:.0%} of usable genes have a near-zero target profile; check the target track")
    for kind, rows in q.get("contacts", {}).items():
        for r in rows:
            if r.get("missing_fraction") is not None and r["missing_fraction"] > 0.5:
                actions.append(
                    f"{kind} on {r['chrom']}: {r['missing_fraction']:.0%} of window pixels are missing"
                )
    if "shift" not in q:
        line = "inputs look usable" if not actions else f"{len(actions)} issue(s) need attention"
        line += " (no model given: distribution shift not checked)"
    else:
        line = (
            "inputs match the training distribution"
            if not actions
            else f"{len(actions)} issue(s) need attention"
        )
    return {"line": line, "actions": actions, "ok": not actions}


def qc_table(q: dict) -> pd.DataFrame:
    """Long table of a :func:`store_qc` result: one row per (kind, track, chrom) with its numbers."""
    rows = [{"kind": "track", **r} for r in q["tracks"]]
    rows += [{"kind": "target", **r} for r in q["target"]["chroms"]]
    for kind, crow in q.get("contacts", {}).items():
        rows += [
            {
                "kind": kind,
                "track": kind,
                "chrom": r["chrom"],
                "missing_fraction": r["missing_fraction"],
                "decay_slope": r["slope"],
            }
            for r in crow
        ]
    for r in q.get("shift", []):
        rows.append(
            {
                "kind": "shift",
                "track": r["track"],
                "chrom": "all",
                **{k: v for k, v in r.items() if k != "track"},
            }
        )
    return pd.DataFrame(rows)


def qc(store_path, *, run=None, out) -> dict:
    """``claster qc``: write ``out/qc.json``, ``out/qc.tsv`` and the figures; returns the QC dict.

    With ``run``, the store is compared with the model's training statistics; a run saved before
    they existed gives a warning and the store-only QC.
    """
    from claster.io.writers import atomic_path, write_tsv
    from claster.store import open_store

    store = open_store(store_path)
    stats = None
    if run is not None:
        stats = load_input_stats(run)
    q = store_qc(store, stats)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(qc_table(q), out / "qc.tsv")
    q["figures"] = _figures(q, out)
    with atomic_path(out / "qc.json") as tmp:
        Path(tmp).write_text(json.dumps(q, indent=1, default=str))
    return q


def load_input_stats(run) -> dict | None:
    """The training statistics saved with a run's model, or None (with a warning) for an older run.

    ``run``: a ``claster train`` run directory or its ``model/``. Reads ``model.pt``'s metadata.
    """
    import warnings

    import torch

    from claster.errors import CheckpointError, ClasterWarning, InputError

    run = Path(run)
    file = next((p for p in (run / "model" / "model.pt", run / "model.pt") if p.is_file()), None)
    if file is None:
        if not run.exists():
            raise InputError(f"run directory {run} does not exist; pass the --out of `claster train`")
        raise CheckpointError(f"{run} holds no exported model (model/model.pt); pass a finished training run")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise CheckpointError(f"{file} is not a readable claster checkpoint ({e.__class__.__name__})") from e
    stats = (payload.get("extra") or {}).get("input_stats") if isinstance(payload, dict) else None
    if stats is None:
        warnings.warn(unavailable_message(run), ClasterWarning, stacklevel=2)
    return stats


def unavailable_message(run) -> str:
    """The warning for a run without training statistics (an older run)."""
    return (
        f"the run {run} carries no training-input statistics (it predates them); the "
        "distribution-shift check is unavailable; retrain with this claster to enable it"
    )


def _figures(q: dict, out: Path) -> list[str]:
    from claster.plots import save_figure
    from claster.plots.qc import plot_decay_curves, plot_track_quantiles

    paths = []
    dist = q["distribution"]
    train = q.get("training")
    curves = {
        name: {
            "store": d["quantiles"],
            **({"training": train["tracks"][name]["quantiles"]} if train and name in train["tracks"] else {}),
        }
        for name, d in dist["tracks"].items()
    }
    save_figure(plot_track_quantiles(dist["levels"], curves), out / "track_quantiles.png")
    paths.append(str(out / "track_quantiles.png"))
    for kind, rows in q.get("contacts", {}).items():
        if not rows:
            continue
        sep = rows[0]["separation_bp"]
        lines = {f"store {r['chrom']}": r["decay"] for r in rows}
        if train and kind in train.get("contacts", {}):
            lines["training (mean)"] = train["contacts"][kind]["decay"]
        save_figure(plot_decay_curves(sep, lines), out / f"decay_{kind}.png")
        paths.append(str(out / f"decay_{kind}.png"))
    return paths
