"""Figures of aggregated attributions (SPEC §8): locality profiles (Fig. 3b), structure and square maps.

Every function takes arrays (as :mod:`claster.attribute.ig` returns them, or as read back
from the TSV/NPZ an analysis wrote) and returns a :class:`matplotlib.figure.Figure`; no pyplot state
is used, so they work under any backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from claster.errors import InputError

__all__ = ["plot_locality_profile", "plot_structure_map", "plot_square_map"]


def _figure(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        fig = ax.figure
        assert isinstance(fig, Figure)
        return fig, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def plot_locality_profile(
    locality_map: np.ndarray,
    track_names: Sequence[str] | None = None,
    *,
    bin_bp: int = 100,
    signed: bool = False,
    xlim_kbp: float | None = 50.0,
    inset: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Attribution per input track against distance to the predicted locus (the paper's Fig. 3b).

    Parameters
    ----------
    locality_map
        ``(T, W)`` centred map (``landscape_locality_map``): column ``W // 2`` is the predicted locus,
        columns ``bin_bp`` bp apart; mean |attribution| scaled by its maximum, or signed.
    track_names
        Names of the T rows (legend).
    signed
        The map is the signed variant: the y label says so and a zero line is drawn.
    xlim_kbp
        Half-width of the main panel in kbp (``None``: the whole window).
    inset
        Add an inset with the profile symmetrised over both sides (mean of ``|d|`` and ``-|d|``)
        against ``|distance|`` on a log axis (from one bin to the window edge).

    Returns
    -------
    The figure (one axes, plus the inset).
    """
    m = np.asarray(locality_map, dtype=np.float64)
    if m.ndim != 2:
        raise InputError(f"a locality map must be (T, W), got shape {m.shape}")
    t, w = m.shape
    names = list(track_names) if track_names is not None else [f"track{i}" for i in range(t)]
    if len(names) != t:
        raise InputError(f"{len(names)} track names for a map with {t} tracks; give one per row")
    fig, ax = _figure(ax, (7.0, 4.0))
    c = w // 2
    dist_kbp = (np.arange(w) - c) * bin_bp / 1000.0
    lines = []
    for row, name in zip(m, names):
        (ln,) = ax.plot(dist_kbp, row, lw=1.0, label=name)
        lines.append(ln)
    if xlim_kbp is not None:
        ax.set_xlim(-xlim_kbp, xlim_kbp)
    if signed:
        ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xlabel("distance to the predicted locus (kbp)")
    ax.set_ylabel("mean signed attribution (scaled)" if signed else "mean |attribution| (scaled)")
    ax.legend(frameon=False, fontsize="small", loc="upper left")
    if inset:
        ins = ax.inset_axes((0.64, 0.55, 0.34, 0.4))
        n_d = min(c, w - 1 - c)
        d_kbp = np.arange(1, n_d + 1) * bin_bp / 1000.0
        for row, ln in zip(m, lines):
            sym = 0.5 * (row[c + 1 : c + 1 + n_d] + row[c - 1 :: -1][:n_d])
            ins.plot(d_kbp, sym, lw=0.8, color=ln.get_color())
        ins.set_xscale("log")
        ins.set_xlabel("|distance| (kbp)", fontsize="x-small")
        ins.tick_params(labelsize="x-small")
        if signed:
            ins.axhline(0.0, color="0.5", lw=0.5)
    return fig


def _diverging_norm(a: np.ndarray) -> TwoSlopeNorm:
    lim = float(np.nanmax(np.abs(a))) if np.isfinite(a).any() else 0.0
    lim = lim if lim > 0 else 1.0
    return TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)


def _edges(centres: np.ndarray) -> tuple[float, float]:
    c = np.asarray(centres, dtype=np.float64)
    step = (c[-1] - c[0]) / (len(c) - 1) if len(c) > 1 else 1.0
    return float(c[0] - step / 2), float(c[-1] + step / 2)


def plot_structure_map(
    attr_map: np.ndarray,
    separation_kbp: np.ndarray,
    position_kbp: np.ndarray,
    *,
    signed: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A rotated contact-branch attribution map (``structure_map``) with the diagonal on top.

    Parameters
    ----------
    attr_map
        ``(rows, cols)`` map, row 0 on the diagonal (``ContactAttributionMap.abs_map`` or
        ``.signed_map``).
    separation_kbp
        ``(rows,)`` separation of the linked loci in kbp (``row_kbp``; ``2 r / lambda``).
    position_kbp
        ``(cols,)`` position along the genome relative to the predicted locus in kbp (``col_kbp``).
    signed
        Diverging colour map centred at 0 (``RdBu_r``) instead of a sequential one.
    """
    a = np.asarray(attr_map, dtype=np.float64)
    if a.ndim != 2 or a.shape != (len(separation_kbp), len(position_kbp)):
        raise InputError(
            f"the map has shape {a.shape} but the axes {len(separation_kbp)} x {len(position_kbp)}; "
            "pass the map's own row_kbp and col_kbp"
        )
    fig, ax = _figure(ax, (7.0, 3.6))
    x0, x1 = _edges(position_kbp)
    y0, y1 = _edges(separation_kbp)
    kw = {"cmap": "RdBu_r", "norm": _diverging_norm(a)} if signed else {"cmap": "magma"}
    im = ax.imshow(a, aspect="auto", origin="upper", extent=(x0, x1, y1, y0), interpolation="nearest", **kw)
    ax.set_xlabel("position relative to the predicted locus (kbp)")
    ax.set_ylabel("separation (kbp)")
    ax.set_title(title or ("mean signed attribution" if signed else "mean |attribution|"), fontsize="medium")
    fig.colorbar(im, ax=ax, shrink=0.85, label="attribution")
    return fig


def plot_square_map(
    attr_map: np.ndarray,
    position_kbp: np.ndarray,
    *,
    signed: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A square (Micro-C or promoter-capture) attribution map (``square_map``), centred on the locus.

    Parameters
    ----------
    attr_map
        ``(n, n)`` map (``ContactAttributionMap.abs_map`` or ``.signed_map``).
    position_kbp
        ``(n,)`` bin positions relative to the predicted locus in kbp (both axes).
    signed
        Diverging colour map centred at 0.
    """
    a = np.asarray(attr_map, dtype=np.float64)
    if a.ndim != 2 or a.shape != (len(position_kbp), len(position_kbp)):
        raise InputError(
            f"the map has shape {a.shape} but the axis has {len(position_kbp)} bins; pass the map's own axis"
        )
    fig, ax = _figure(ax, (5.0, 4.4))
    p0, p1 = _edges(position_kbp)
    kw = {"cmap": "RdBu_r", "norm": _diverging_norm(a)} if signed else {"cmap": "magma"}
    im = ax.imshow(a, origin="upper", extent=(p0, p1, p1, p0), interpolation="nearest", **kw)
    ax.set_xlabel("position relative to the predicted locus (kbp)")
    ax.set_ylabel("position relative to the predicted locus (kbp)")
    ax.set_title(title or ("mean signed attribution" if signed else "mean |attribution|"), fontsize="medium")
    fig.colorbar(im, ax=ax, shrink=0.85, label="attribution")
    return fig
