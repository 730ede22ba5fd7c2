"""Export a store to the original CLASTER/EIR layout: one ``.npy`` per sample and orientation.

Layout under ``out`` (SPEC §10: offered for compatibility with the original tools)::

    landscape/{gene_id}_forward.npy   (T, 10001) float32
    landscape/{gene_id}_rev.npy
    microc_rotated/{gene_id}_forward.npy   (rows, n) float32   (only when the store has contacts)
    promoter_capture/{gene_id}_forward.npy (201, 201) float32  (only when the store has pchic)
    targets.csv   ID,-200_ctrl,...,200_ctrl  (ID = {gene_id}_forward / {gene_id}_rev)

Without contact data the landscape files are written directly under ``out``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from claster.data.windows import cut_landscape, cut_pchic, cut_rotated, cut_target, reverse_window
from claster.errors import InputError
from claster.store import Store, open_store
from claster.units import TARGET_BINS

__all__ = ["export_eir", "target_columns"]


def target_columns(n_bins: int = TARGET_BINS) -> list[str]:
    """EIR target column names: ``-200_ctrl`` ... ``200_ctrl`` for 401 bins."""
    half = (n_bins - 1) // 2
    return [f"{k}_ctrl" for k in range(-half, half + 1)]


def export_eir(
    store: Store | str | os.PathLike,
    out: str | os.PathLike,
    split: str | None = None,
    genes: Sequence[str] | None = None,
    *,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the usable samples of ``store`` (optionally one split, or some gene ids) in EIR layout.

    Returns ``out``. Raises :class:`InputError` for an unknown split or gene id, when nothing is
    selected, or when ``out`` is a non-empty directory and ``force`` is False.
    """
    from tqdm.auto import tqdm

    if not isinstance(store, Store):
        store = open_store(store)
    out = Path(out)
    index = store.genes
    sel = index[index["usable"]]
    if split is not None:
        if split not in ("train", "val", "test"):
            raise InputError(f"unknown split {split!r}; use train, val or test")
        sel = sel[sel["split"] == split]
    if genes is not None:
        wanted = [g.strip() for g in genes if g.strip()]
        known = set(index["gene_id"])
        unknown = [g for g in wanted if g not in known]
        if unknown:
            raise InputError(
                f"{len(unknown)} gene id(s) not in store {store.path}: {', '.join(unknown[:5])}; use ids from genes.tsv"
            )
        unusable = [g for g in wanted if g not in set(index.loc[index["usable"], "gene_id"])]
        if unusable:
            raise InputError(
                f"gene(s) {', '.join(unusable[:5])} are not usable (see the reason column of genes.tsv); leave them out"
            )
        sel = sel[sel["gene_id"].isin(wanted)]
    if sel.empty:
        raise InputError(f"no usable gene selected in store {store.path} (split={split}, genes={genes}); widen the selection")
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(f"export directory {out} is not empty; choose another directory or pass --force")

    with_contacts = store.has("contacts")
    with_pchic = store.has("pchic")
    layout_sub = with_contacts or with_pchic
    land_dir = out / "landscape" if layout_sub else out
    land_dir.mkdir(parents=True, exist_ok=True)
    if with_contacts:
        (out / "microc_rotated").mkdir(exist_ok=True)
    if with_pchic:
        (out / "promoter_capture").mkdir(exist_ok=True)

    ids: list[str] = []
    rows: list[np.ndarray] = []
    for g in tqdm(sel.itertuples(index=False), total=len(sel), desc="export", unit="gene", disable=not progress):
        chrom, tss = g.chrom, int(g.tss_bp)
        land = cut_landscape(store, chrom, tss)
        np.save(land_dir / f"{g.gene_id}_forward.npy", land)
        np.save(land_dir / f"{g.gene_id}_rev.npy", reverse_window("landscape", land))
        if with_contacts:
            rot = cut_rotated(store, chrom, tss)
            np.save(out / "microc_rotated" / f"{g.gene_id}_forward.npy", rot)
            np.save(out / "microc_rotated" / f"{g.gene_id}_rev.npy", reverse_window("rotated", rot))
        if with_pchic:
            pc = cut_pchic(store, chrom, tss)
            np.save(out / "promoter_capture" / f"{g.gene_id}_forward.npy", pc)
            np.save(out / "promoter_capture" / f"{g.gene_id}_rev.npy", reverse_window("pchic", pc))
        y = cut_target(store, chrom, tss)
        ids += [f"{g.gene_id}_forward", f"{g.gene_id}_rev"]
        rows += [y, reverse_window("target", y)]

    table = pd.DataFrame(np.stack(rows), columns=target_columns(len(rows[0])))
    table.insert(0, "ID", ids)
    from claster.io.writers import atomic_path

    with atomic_path(out / "targets.csv") as tmp:  # honours the umask (mkstemp alone gives 0600)
        table.to_csv(tmp, index=False)
    return out
