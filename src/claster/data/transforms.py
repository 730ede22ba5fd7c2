"""Standardisation of inputs and targets (SPEC §4), fitted on the training split only (SPEC §10).

- :class:`ScalarStandardizer`: one scalar mean and std for one input modality (landscape, contacts,
  rotated contacts, promoter capture), accumulated by streaming over windows.
- :class:`PerBinStandardizer`: a mean and std per output bin of the target (scikit-learn
  ``StandardScaler`` semantics: population std, constant bins scaled by 1).

Both accumulate in float64 with Chan's pairwise update of (count, mean, M2), so streaming over batches
gives the one-shot statistics to rounding. Both work on numpy arrays and torch tensors and return the
dtype they were given (floating dtypes; other dtypes come back as float32). ``to_dict`` / ``from_dict``
round-trip through JSON.

- :func:`value_transform` / :func:`inverse_value_transform`: an element-wise transform applied before
  standardisation (``"none"`` = SPEC §4, ``"log1p"``); :class:`TransformedStandardizer` chains the two,
  and :func:`normalisers_from_dict` rebuilds a run's normalisers from its saved ``normalisation``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from claster.errors import InputError

__all__ = [
    "ScalarStandardizer",
    "PerBinStandardizer",
    "TransformedStandardizer",
    "VALUE_TRANSFORMS",
    "value_transform",
    "inverse_value_transform",
    "normalisers_from_dict",
]

_EPS = float(np.finfo(np.float64).eps)


def _is_torch(x: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(x, torch.Tensor)


def _as_float64(x: Any, what: str) -> np.ndarray:
    """numpy float64 copy of an array or tensor (detached, on CPU), rejecting non-finite values."""
    if _is_torch(x):
        arr = x.detach().to("cpu").double().numpy()
    else:
        arr = np.asarray(x, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise InputError(f"{what} contains NaN or infinite values; fill them (e.g. with 0) before fitting")
    return arr


def _moments(arr: np.ndarray, axis: int | None) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, mean, M2 = sum of squared deviations) of arr along axis (None = all), float64."""
    count = arr.size if axis is None else arr.shape[axis]
    if count == 0:
        shape = () if axis is None else arr.shape[1:]
        return 0, np.zeros(shape), np.zeros(shape)
    mean = arr.mean(axis=axis)
    dev = arr - mean
    return count, mean, (dev * dev).sum(axis=axis)


def _combine(n_a: int, mean_a, m2_a, n_b: int, mean_b, m2_b):
    """Chan et al. pairwise update of (count, mean, M2)."""
    n = n_a + n_b
    if n_b == 0:
        return n_a, mean_a, m2_a
    if n_a == 0:
        return n_b, mean_b, m2_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / n)
    m2 = m2_a + m2_b + delta * delta * (n_a * n_b / n)
    return n, mean, m2


def _constant_mask(var: np.ndarray, mean: np.ndarray, count: int) -> np.ndarray:
    """Variances at the float64 rounding level of their mean count as 0 (scikit-learn's rule)."""
    upper = count * _EPS * var + (count * mean * _EPS) ** 2
    return var <= upper


def _apply(x: Any, shift: np.ndarray | float, scale: np.ndarray | float, inverse: bool) -> Any:
    """(x - shift) / scale, or x * scale + shift when inverse, in x's own dtype (numpy or torch)."""
    if _is_torch(x):
        import torch

        dtype = x.dtype if x.is_floating_point() else torch.float32
        xx = x.to(dtype)
        sh = torch.as_tensor(np.asarray(shift), dtype=dtype, device=x.device)
        sc = torch.as_tensor(np.asarray(scale), dtype=dtype, device=x.device)
        return xx * sc + sh if inverse else (xx - sh) / sc
    arr = np.asarray(x)
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float32)
    arr = arr.astype(dtype, copy=False)
    sh = np.asarray(shift, dtype=dtype)
    sc = np.asarray(scale, dtype=dtype)
    out = arr * sc + sh if inverse else (arr - sh) / sc
    return out.astype(dtype, copy=False)


class ScalarStandardizer:
    """One scalar mean and std for one input modality, fitted by streaming over training windows.

    Parameters
    ----------
    name : the modality (``"landscape"``, ``"contacts"``, ...); stored in :meth:`to_dict`.

    Use ``partial_fit(batch)`` on every training batch (any shape, all values count), then
    ``finalize()``; ``transform(x) = (x - mean) / std`` with the population std (ddof 0), std 1 when
    every value was the same.
    """

    kind = "scalar"

    def __init__(self, name: str = "") -> None:
        self.name = str(name)
        self._count = 0
        self._mean = 0.0
        self._m2 = 0.0
        self.mean: float | None = None
        self.std: float | None = None

    @property
    def count(self) -> int:
        """Number of values accumulated so far."""
        return self._count

    @property
    def is_fitted(self) -> bool:
        return self.mean is not None

    def partial_fit(self, batch: Any) -> ScalarStandardizer:
        """Accumulate the values of ``batch`` (numpy array or torch tensor, any shape) in float64."""
        arr = _as_float64(batch, f"a {self.name or 'modality'} batch")
        n_b, mean_b, m2_b = _moments(arr.ravel(), axis=None)
        self._count, mean, m2 = _combine(self._count, self._mean, self._m2, n_b, mean_b, m2_b)
        self._mean, self._m2 = float(mean), float(m2)
        self.mean = self.std = None
        return self

    def finalize(self) -> ScalarStandardizer:
        """Freeze mean and std from the accumulated values."""
        if self._count == 0:
            raise InputError(
                f"no values were accumulated for the {self.name or 'modality'} standardiser; "
                "check that the training split contains usable genes"
            )
        var = self._m2 / self._count
        const = bool(_constant_mask(np.asarray(var), np.asarray(self._mean), self._count))
        self.mean = float(self._mean)
        self.std = 1.0 if const else math.sqrt(var)
        return self

    def fit(self, data: Any) -> ScalarStandardizer:
        """One-shot fit: reset, ``partial_fit(data)``, ``finalize()``."""
        self._count, self._mean, self._m2 = 0, 0.0, 0.0
        return self.partial_fit(data).finalize()

    def _check(self) -> None:
        if not self.is_fitted:
            raise RuntimeError("ScalarStandardizer used before finalize(); call partial_fit(...) and finalize()")

    def transform(self, x: Any) -> Any:
        """(x - mean) / std, same type (numpy/torch) and floating dtype as ``x``."""
        self._check()
        return _apply(x, self.mean, self.std, inverse=False)

    def inverse_transform(self, x: Any) -> Any:
        """x * std + mean, same type and floating dtype as ``x``."""
        self._check()
        return _apply(x, self.mean, self.std, inverse=True)

    def to_dict(self) -> dict:
        """JSON-safe dict of the fitted statistics."""
        self._check()
        return {
            "kind": self.kind,
            "name": self.name,
            "count": int(self._count),
            "mean": self.mean,
            "std": self.std,
            "var": float(self._m2 / self._count),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ScalarStandardizer:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(d, dict) or d.get("kind") != cls.kind:
            raise InputError(
                f"not a scalar standardiser dict (kind {d.get('kind') if isinstance(d, dict) else type(d)!r}); "
                "pass the output of ScalarStandardizer.to_dict()"
            )
        try:
            mean, std, count = float(d["mean"]), float(d["std"]), int(d["count"])
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"scalar standardiser dict lacks a valid {e}; re-save it with to_dict()") from e
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise InputError(f"scalar standardiser has mean {mean} and std {std}; std must be finite and > 0")
        obj = cls(d.get("name", ""))
        var = float(d.get("var", std * std))
        obj._count, obj._mean, obj._m2 = count, mean, var * count
        obj.mean, obj.std = mean, std
        return obj

    def __repr__(self) -> str:
        return f"ScalarStandardizer(name={self.name!r}, mean={self.mean}, std={self.std}, count={self._count})"


class PerBinStandardizer:
    """Mean and std per output bin of the target, like scikit-learn's ``StandardScaler``.

    Fit on ``(N, n_bins)`` targets (401 bins of 1 kbp in CLASTER), at once with :meth:`fit` or streaming
    with :meth:`partial_fit` + :meth:`finalize`. Population std (ddof 0); bins whose variance is 0 (to
    float64 rounding) get std 1. :meth:`transform` and :meth:`inverse_transform` act on the last axis
    of any ``(..., n_bins)`` array or tensor.
    """

    kind = "per_bin"

    def __init__(self) -> None:
        self._count = 0
        self._mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @property
    def count(self) -> int:
        """Number of samples accumulated so far."""
        return self._count

    @property
    def n_bins(self) -> int | None:
        return None if self._mean is None else int(self._mean.shape[0])

    @property
    def is_fitted(self) -> bool:
        return self.mean is not None

    def partial_fit(self, y: Any) -> PerBinStandardizer:
        """Accumulate ``y``: (N, n_bins) numpy array or torch tensor of targets."""
        arr = _as_float64(y, "a target batch")
        if arr.ndim != 2:
            raise InputError(f"targets must be (N, n_bins), got shape {arr.shape}; stack one row per sample")
        if self._mean is not None and arr.shape[1] != self._mean.shape[0]:
            raise InputError(
                f"target batch has {arr.shape[1]} bins but earlier batches had {self._mean.shape[0]}; "
                "use one target length"
            )
        n_b, mean_b, m2_b = _moments(arr, axis=0)
        if self._mean is None:
            self._count, self._mean, self._m2 = n_b, mean_b, m2_b
        else:
            self._count, self._mean, self._m2 = _combine(self._count, self._mean, self._m2, n_b, mean_b, m2_b)
        self.mean = self.std = None
        return self

    def finalize(self) -> PerBinStandardizer:
        """Freeze per-bin mean and std from the accumulated samples."""
        if self._count == 0 or self._mean is None:
            raise InputError("no target samples were accumulated; check that the training split has usable genes")
        var = self._m2 / self._count
        std = np.sqrt(var)
        std[_constant_mask(var, self._mean, self._count)] = 1.0
        self.mean, self.std = self._mean.copy(), std
        return self

    def fit(self, y: Any) -> PerBinStandardizer:
        """One-shot fit on (N, n_bins) targets: reset, ``partial_fit(y)``, ``finalize()``."""
        self._count, self._mean, self._m2 = 0, None, None
        return self.partial_fit(y).finalize()

    def _check(self, x: Any) -> None:
        if not self.is_fitted:
            raise RuntimeError("PerBinStandardizer used before finalize(); call fit(...) first")
        if x.shape[-1] != self.mean.shape[0]:
            raise InputError(
                f"targets have {x.shape[-1]} bins on the last axis but the standardiser was fitted on "
                f"{self.mean.shape[0]}; use the same target length"
            )

    def transform(self, y: Any) -> Any:
        """(y - mean) / std per bin on the last axis, same type and floating dtype as ``y``."""
        self._check(y)
        return _apply(y, self.mean, self.std, inverse=False)

    def inverse_transform(self, y: Any) -> Any:
        """y * std + mean per bin on the last axis, same type and floating dtype as ``y``."""
        self._check(y)
        return _apply(y, self.mean, self.std, inverse=True)

    def to_dict(self) -> dict:
        """JSON-safe dict: per-bin mean and std as lists of floats."""
        if not self.is_fitted:
            raise RuntimeError("PerBinStandardizer used before finalize(); call fit(...) first")
        return {
            "kind": self.kind,
            "count": int(self._count),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "var": [float(v) for v in self._m2 / self._count],
        }

    @classmethod
    def from_dict(cls, d: dict) -> PerBinStandardizer:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(d, dict) or d.get("kind") != cls.kind:
            raise InputError(
                f"not a per-bin standardiser dict (kind {d.get('kind') if isinstance(d, dict) else type(d)!r}); "
                "pass the output of PerBinStandardizer.to_dict()"
            )
        try:
            mean = np.asarray(d["mean"], dtype=np.float64)
            std = np.asarray(d["std"], dtype=np.float64)
            count = int(d["count"])
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"per-bin standardiser dict lacks a valid {e}; re-save it with to_dict()") from e
        if mean.ndim != 1 or mean.shape != std.shape:
            raise InputError(
                f"per-bin standardiser has mean of shape {mean.shape} and std of shape {std.shape}; "
                "they must be equal-length lists"
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise InputError("per-bin standardiser has non-finite means or non-positive stds; re-fit it")
        obj = cls()
        var = np.asarray(d.get("var", std * std), dtype=np.float64)
        if var.shape != mean.shape:
            raise InputError(f"per-bin standardiser has var of shape {var.shape} for {mean.shape[0]} bins; re-fit it")
        obj._count, obj._mean, obj._m2 = count, mean.copy(), var * count
        obj.mean, obj.std = mean, std
        return obj

    def __repr__(self) -> str:
        return f"PerBinStandardizer(n_bins={self.n_bins}, count={self._count}, fitted={self.is_fitted})"


# --------------------------------------------------------------------------------------------------
# value transforms applied before standardisation (issue 10: heavy-tailed tracks)
# --------------------------------------------------------------------------------------------------

VALUE_TRANSFORMS = ("none", "log1p")


def _check_transform(name: str) -> str:
    if name not in VALUE_TRANSFORMS:
        raise InputError(f"unknown value transform {name!r}; choose one of {', '.join(VALUE_TRANSFORMS)}")
    return name


def value_transform(x: Any, name: str) -> Any:
    """Apply the named element-wise transform before standardisation, same type and dtype as ``x``.

    ``"none"``: identity. ``"log1p"``: ``log(1 + max(x, 0))`` (signals are clipped at 0 in the store,
    SPEC §2, so the clip only guards against rounding).
    """
    if _check_transform(name) == "none":
        return x
    if _is_torch(x):
        import torch

        xx = x if x.is_floating_point() else x.to(torch.float32)
        return torch.log1p(torch.clamp(xx, min=0))
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    return np.log1p(np.maximum(arr, 0))


def inverse_value_transform(y: Any, name: str) -> Any:
    """Inverse of :func:`value_transform`: identity, or ``expm1(y)`` for ``"log1p"``."""
    if _check_transform(name) == "none":
        return y
    if _is_torch(y):
        import torch

        yy = y if y.is_floating_point() else y.to(torch.float32)
        return torch.expm1(yy)
    arr = np.asarray(y)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    return np.expm1(arr)


class TransformedStandardizer:
    """A value transform followed by a standardiser: ``transform(x) = std.transform(f(x))``.

    ``inverse_transform(z) = f^-1(std.inverse_transform(z))``. With ``name="none"`` it is exactly the
    wrapped standardiser, so models trained before the transform existed load unchanged.
    Attributes ``mean`` and ``std`` are the wrapped standardiser's (on the transformed scale).
    """

    def __init__(self, standardizer: ScalarStandardizer | PerBinStandardizer, name: str = "none") -> None:
        self.standardizer = standardizer
        self.name = _check_transform(name)

    @property
    def mean(self):
        return self.standardizer.mean

    @property
    def std(self):
        return self.standardizer.std

    def transform(self, x: Any) -> Any:
        """Raw units -> standardised transformed units, same type (numpy/torch) as ``x``."""
        return self.standardizer.transform(value_transform(x, self.name))

    def inverse_transform(self, z: Any) -> Any:
        """Standardised transformed units -> raw units, same type (numpy/torch) as ``z``."""
        return inverse_value_transform(self.standardizer.inverse_transform(z), self.name)

    def __repr__(self) -> str:
        return f"TransformedStandardizer({self.name!r}, {self.standardizer!r})"


def normalisers_from_dict(normalisation: dict) -> dict[str, TransformedStandardizer | None]:
    """The fitted input/target normalisers of a run's ``normalisation`` dict (as saved with the model).

    Keys of the dict: ``landscape`` and ``target`` (standardiser dicts), ``structure`` (dict or None),
    and optionally ``transforms`` = ``{"landscape": name, "target": name}`` (absent = ``"none"``, the
    SPEC §4 recipe). Returns ``{"landscape": ..., "structure": ... or None, "target": ...}``.
    """
    names = normalisation.get("transforms") or {}
    s = normalisation.get("structure")
    return {
        "landscape": TransformedStandardizer(
            ScalarStandardizer.from_dict(normalisation["landscape"]), names.get("landscape", "none")
        ),
        "structure": TransformedStandardizer(ScalarStandardizer.from_dict(s), "none") if s else None,
        "target": TransformedStandardizer(
            PerBinStandardizer.from_dict(normalisation["target"]), names.get("target", "none")
        ),
    }
