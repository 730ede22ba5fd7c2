"""A new store against the training store: shift scores, warnings and scale matching.

Shift score per track (both from :func:`claster.qc.track_distribution` of the new store over all its
chromosomes and usable genes, against the model's ``input_stats`` from its training split):

- ``promoter_ratio`` = new promoter median / training promoter median (promoters: TSS +- 1 kbp);
- ``qq_distance`` = mean over the quantile levels 50 % ... 99.9 % (every percent from 50, then
  99.5, 99.8, 99.9) of ``|log2(new quantile / training quantile)|``, over the levels where both are
  > 0 (a pure scale change by a factor f gives ``|log2 f|``).

A track is **shifted** when ``promoter_ratio`` is outside ``[1 / RATIO_LIMIT, RATIO_LIMIT]`` or
``qq_distance > log2(RATIO_LIMIT)``, with :data:`RATIO_LIMIT` = 1.5. Chromosome-to-chromosome
variation in one sample stays well inside it (about 1.0-1.15 on the simulated genome); a 2x
sequencing-depth change is outside.

Scale matching (``--match-scale``), applied to each input track of the new store before the
model's standardisation:

- ``none``: nothing;
- ``promoter-median``: multiply track t by ``training promoter median / new promoter median``;
- ``quantile``: map each value through the new store's quantile curve onto the training one
  (monotone, piecewise linear; above the top level the last factor is used).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from claster.errors import ClasterWarning, InputError

__all__ = [
    "MATCH_SCALE_METHODS",
    "RATIO_LIMIT",
    "ScaleMatch",
    "compare_to_training",
    "match_scale",
    "shift_warning",
    "warn_shifts",
]

MATCH_SCALE_METHODS: tuple[str, ...] = ("none", "promoter-median", "quantile")
#: A track is shifted when its promoter-median ratio or quantile distance exceeds this factor.
RATIO_LIMIT = 1.5
_QQ_MIN_LEVEL = 0.5
_QQ_MAX_LEVEL = 0.999


def _qq_distance(levels, new_q, train_q) -> float | None:
    lv = np.asarray(levels, dtype=np.float64)
    a = np.asarray([np.nan if x is None else x for x in new_q], dtype=np.float64)
    b = np.asarray([np.nan if x is None else x for x in train_q], dtype=np.float64)
    sel = (lv >= _QQ_MIN_LEVEL) & (lv <= _QQ_MAX_LEVEL) & (a > 0) & (b > 0)
    if not sel.any():
        return None
    return float(np.mean(np.abs(np.log2(a[sel] / b[sel]))))


def compare_to_training(store_dist: dict, training: dict) -> list[dict]:
    """One row per track: promoter medians, ratio, quantile distance, ``shifted`` and a reason.

    ``store_dist`` and ``training`` are :func:`claster.qc.track_distribution` results (the model's
    ``input_stats``). Tracks missing from either side are reported with ``shifted`` None.
    """
    if list(store_dist["levels"]) != list(training["levels"]):
        raise InputError(
            "the store statistics and the model's training statistics use different quantile "
            "levels; recompute them with the same claster version"
        )
    rows = []
    for name, tr in training["tracks"].items():
        new = store_dist["tracks"].get(name)
        row = {
            "track": name,
            "train_promoter_median": tr.get("promoter_median"),
            "store_promoter_median": None if new is None else new.get("promoter_median"),
            "promoter_ratio": None,
            "qq_distance": None,
            "shifted": None,
            "reason": "",
        }
        if new is None:
            row["reason"] = "track absent from the store"
            rows.append(row)
            continue
        a, b = new.get("promoter_median"), tr.get("promoter_median")
        if a is not None and b is not None and a > 0 and b > 0:
            row["promoter_ratio"] = a / b
        row["qq_distance"] = _qq_distance(training["levels"], new["quantiles"], tr["quantiles"])
        reasons = []
        r = row["promoter_ratio"]
        if r is not None and not (1 / RATIO_LIMIT <= r <= RATIO_LIMIT):
            reasons.append(f"promoter median {r:.2f}x training")
        q = row["qq_distance"]
        if q is not None and q > math.log2(RATIO_LIMIT):
            reasons.append(f"quantile distance {q:.2f} (log2 units)")
        if r is None and q is None:
            row["reason"] = "no positive values to compare"
        else:
            row["shifted"] = bool(reasons)
            row["reason"] = "; ".join(reasons)
        rows.append(row)
    return rows


def shift_warning(row: dict, store_label: str) -> str:
    """The one-line warning for a shifted track (``row`` from :func:`compare_to_training`)."""
    r, q = row.get("promoter_ratio"), row.get("qq_distance")
    if r is not None and not (1 / RATIO_LIMIT <= r <= RATIO_LIMIT):
        what = (
            f"{r:.2g}x the training scale at promoters"
            if r >= 0.095
            else f"{r:.1e}x the training scale at promoters"
        )
    else:
        what = (
            f"{2**q:.2g}x off the training distribution (quantile distance)" if q is not None else "shifted"
        )
    return (
        f"{row['track']} in {store_label} is {what}; predictions may be biased; "
        "see claster qc, or pass --match-scale"
    )


def warn_shifts(rows: list[dict], store_label: str) -> list[str]:
    """Issue one :class:`ClasterWarning` per shifted track; returns the messages."""
    msgs = [shift_warning(r, store_label) for r in rows if r.get("shifted")]
    for m in msgs:
        warnings.warn(m, ClasterWarning, stacklevel=3)
    return msgs


@dataclass
class ScaleMatch:
    """A per-track rescaling of a store's inputs onto the training distribution.

    ``method``: one of :data:`MATCH_SCALE_METHODS`; ``factors``: track -> multiplier
    (promoter-median); ``maps``: track -> (source values, target values) knots of the monotone
    quantile map. :meth:`apply` rescales a (T, N) array of raw track values (track order
    ``track_names``) in place.
    """

    method: str
    track_names: list[str]
    factors: dict[str, float] = field(default_factory=dict)
    maps: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def apply_track(self, name: str, values: np.ndarray) -> np.ndarray:
        """Rescaled copy of one track's raw values (float32)."""
        v = np.asarray(values, dtype=np.float32)
        if self.method == "promoter-median" and name in self.factors:
            return v * np.float32(self.factors[name])
        if self.method == "quantile" and name in self.maps:
            src, dst = (np.asarray(x, dtype=np.float64) for x in self.maps[name])
            out = np.interp(v, src, dst)
            top = v > src[-1]
            if top.any():  # beyond the last knot: the last ratio (a scale change keeps its shape)
                out[top] = v[top] * (dst[-1] / src[-1] if src[-1] > 0 else 1.0)
            return out.astype(np.float32)
        return v

    def apply(self, tracks: np.ndarray) -> np.ndarray:
        """(T, N) raw values -> (T, N) float32 rescaled (rows in ``track_names`` order)."""
        if self.method == "none":
            return np.asarray(tracks, dtype=np.float32)
        out = np.empty(np.shape(tracks), dtype=np.float32)
        for t, name in enumerate(self.track_names):
            out[t] = self.apply_track(name, tracks[t])
        return out

    def summary(self) -> dict:
        """JSON-safe record of what was applied (goes into every output's summary)."""
        d: dict = {"method": self.method}
        if self.method == "promoter-median":
            d["factors"] = {k: round(float(v), 6) for k, v in self.factors.items()}
        if self.method == "quantile":
            d["n_knots"] = {k: len(v[0]) for k, v in self.maps.items()}
        if self.notes:
            d["notes"] = list(self.notes)
        return d


def _quantile_knots(levels, src_q, dst_q) -> tuple[list[float], list[float]]:
    """Strictly increasing source knots; tied source quantiles map to the mid level of their block."""
    lv = np.asarray(levels, dtype=np.float64)
    s = np.asarray(src_q, dtype=np.float64)
    d = np.asarray(dst_q, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(d)
    lv, s, d = lv[ok], s[ok], d[ok]
    xs, ys = [], []
    for u in np.unique(s):
        block = lv[s == u]
        mid = 0.5 * (block.min() + block.max())
        xs.append(float(u))
        ys.append(float(np.interp(mid, lv, d)))
    ys = list(np.maximum.accumulate(ys))  # monotone
    return xs, ys


def match_scale(
    store_dist: dict, training: dict, method: str, track_names: list[str] | None = None
) -> ScaleMatch:
    """The :class:`ScaleMatch` that maps a new store's tracks onto the training distribution.

    Parameters
    ----------
    store_dist
        :func:`claster.qc.track_distribution` of the new store (all chromosomes, usable genes).
    training
        The model's training statistics (``Predictor.input_stats``).
    method
        ``none``, ``promoter-median`` (one factor per track: training / new promoter median) or
        ``quantile`` (per-track quantile mapping).
    """
    if method not in MATCH_SCALE_METHODS:
        raise InputError(
            f"--match-scale {method!r} is not known; use one of {', '.join(MATCH_SCALE_METHODS)}"
        )
    names = list(track_names or training["tracks"])
    sm = ScaleMatch(method, names)
    if method == "none":
        return sm
    for name in names:
        tr, new = training["tracks"].get(name), store_dist["tracks"].get(name)
        if tr is None or new is None:
            sm.notes.append(f"{name}: no statistics on one side; left unscaled")
            continue
        if method == "promoter-median":
            a, b = new.get("promoter_median"), tr.get("promoter_median")
            if a is None or b is None or a <= 0 or b <= 0:
                sm.notes.append(f"{name}: promoter median is 0 in the store or in training; left unscaled")
                continue
            sm.factors[name] = b / a
        else:
            xs, ys = _quantile_knots(training["levels"], new["quantiles"], tr["quantiles"])
            if len(xs) < 2:
                sm.notes.append(f"{name}: constant in the store; left unscaled")
                continue
            sm.maps[name] = (xs, ys)
    for n in sm.notes:
        warnings.warn(f"match-scale {method}: {n}", ClasterWarning, stacklevel=2)
    return sm
