"""Reading a store: the manifest, the gene index and memory-mapped per-chromosome arrays.

See /work/notes/store_contract.md (the format) and :func:`claster.store.build_store` (the writer).
A :class:`Store` holds only its path and manifest plus lazily opened memmaps, so it pickles into
data-loader workers (the memmaps are reopened there).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import InputError, StoreError
from claster.units import CONTACT_LOG_FLOOR, STORE_FORMAT, STORE_FORMAT_VERSION

__all__ = ["CONTACT_KINDS", "RotatedCache", "Store", "log10_floor", "open_store", "square_from_band"]

CONTACT_KINDS: tuple[str, ...] = ("contacts", "pchic")


@dataclass(frozen=True)
class RotatedCache:
    """Precomputed forward rotated contact windows of the usable genes.

    ``windows``: (n_windows, rows, window_bins) float32 memmap (log10 scale, SPEC §2);
    ``row_of_gene``: gene_id -> row; ``row_of_locus``: (chrom, tss_bp) -> row.
    """

    windows: np.ndarray
    row_of_gene: dict[str, int]
    row_of_locus: dict[tuple[str, int], int]


@lru_cache(maxsize=8)
def _square_index(n: int) -> np.ndarray:
    """(n, n) int64 flat indices into an (n, n) band block: ``min(a, b) * n + |a - b|``."""
    a = np.arange(n)
    return np.minimum.outer(a, a) * n + np.abs(np.subtract.outer(a, a))


def log10_floor(m: np.ndarray) -> np.ndarray:
    """SPEC §2: NaN and values <= 0 -> 1e-14, then log10; float32 with missing exactly -14.0."""
    m = np.asarray(m, dtype=np.float32)
    missing = ~(m > 0)  # NaN > 0 is False
    out = np.log10(np.where(missing, np.float32(1), m), dtype=np.float32)
    out[missing] = np.float32(np.log10(CONTACT_LOG_FLOOR))
    return out


def square_from_band(band: np.ndarray, start_bin: int, n: int) -> np.ndarray:
    """Symmetric (n, n) float32 matrix of bins ``[start_bin, start_bin + n)`` from a diagonal band.

    ``band``: (n_bins, band_bins) with ``band[i, d]`` = contact of bins i and i + d (band_bins >= n).
    ``M[a, b] = band[start_bin + min(a, b), |a - b|]``; NaN stays NaN. The caller checks bounds.
    """
    block = np.ascontiguousarray(band[start_bin : start_bin + n, :n], dtype=np.float32)
    return np.take(block.ravel(), _square_index(n))


class Store:
    """An opened claster store (read-only).

    Attributes
    ----------
    path : Path
    manifest : dict
        The parsed manifest.json.
    track_names : list[str]
        Input tracks in model row order.
    chrom_sizes : dict[str, int]
        Chromosome lengths in bp (store naming).
    chroms : list[str]
        Chromosomes in the store.
    """

    def __init__(self, path: str | os.PathLike, manifest: dict) -> None:
        self.path = Path(path)
        self.manifest = manifest
        self.track_names: list[str] = list(manifest["track_names"])
        self.chrom_sizes: dict[str, int] = {k: int(v) for k, v in manifest["chrom_sizes"].items()}
        self.chroms: list[str] = list(manifest["chroms"])
        self._maps: dict[tuple[str, str], np.ndarray] = {}
        self._genes: pd.DataFrame | None = None
        self._rotated: RotatedCache | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "manifest": self.manifest}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["manifest"])

    def __repr__(self) -> str:
        kinds = [k for k in CONTACT_KINDS if self.has(k)]
        return (
            f"Store({str(self.path)!r}, tracks={self.track_names}, chroms={len(self.chroms)}, "
            f"contacts={kinds or None})"
        )

    # -- metadata ---------------------------------------------------------------------------
    @property
    def track_bin_bp(self) -> int:
        """Bin size of the input tracks in bp (100)."""
        return int(self.manifest["track_bin_bp"])

    @property
    def target_raw_bin_bp(self) -> int:
        """Bin size of the stored processed target in bp (20)."""
        return int(self.manifest["target"]["raw_bin_bp"])

    @property
    def genes(self) -> pd.DataFrame:
        """The sample index (genes.tsv): gene_id, gene_name, chrom, tss_bp, strand, start_bp, end_bp,
        gene_type, split, usable (bool), reason."""
        if self._genes is None:
            df = pd.read_csv(
                self.path / "genes.tsv",
                sep="\t",
                dtype={"gene_id": str, "gene_name": str, "chrom": str, "gene_type": str, "split": str, "reason": str},
                keep_default_na=False,
            )
            df["usable"] = df["usable"].astype(str).str.lower().eq("true")
            self._genes = df
        return self._genes

    def has(self, kind: str) -> bool:
        """Whether contact data of ``kind`` ('contacts' or 'pchic') is in the store."""
        return self.manifest.get(kind) is not None

    def contact_bin_bp(self, kind: str = "contacts") -> int:
        """Resolution in bp of the stored contact band of ``kind``."""
        return int(self._contact_meta(kind)["resolution_bp"])

    def contact_window_bins(self, kind: str = "contacts") -> int:
        """Side of the square window of ``kind`` in bins (626 at 1.6 kbp, 201 at 5 kbp)."""
        return int(self._contact_meta(kind)["window_bins"])

    def _contact_meta(self, kind: str) -> dict:
        if kind not in CONTACT_KINDS:
            raise InputError(f"unknown contact kind {kind!r}; use one of {', '.join(CONTACT_KINDS)}")
        meta = self.manifest.get(kind)
        if meta is None:
            flag = "--contacts" if kind == "contacts" else "--pchic"
            raise InputError(f"store {self.path} has no {kind} data; rebuild it with claster prepare {flag} ...")
        return meta

    def check_chrom(self, chrom: str) -> None:
        """Raise :class:`InputError` when ``chrom`` is not in the store."""
        if chrom not in self.chrom_sizes:
            shown = ", ".join(self.chroms[:6]) + (", ..." if len(self.chroms) > 6 else "")
            raise InputError(f"chromosome {chrom!r} is not in store {self.path} (it has {shown}); check the name")

    # -- arrays -----------------------------------------------------------------------------
    def _map(self, sub: str, chrom: str) -> np.ndarray:
        key = (sub, chrom)
        arr = self._maps.get(key)
        if arr is None:
            f = self.path / sub / f"{chrom}.npy"
            if not f.is_file():
                raise StoreError(f"store {self.path} lacks {sub}/{chrom}.npy; rerun claster prepare to complete it")
            arr = np.load(f, mmap_mode="r")
            self._maps[key] = arr
        return arr

    def tracks(self, chrom: str) -> np.ndarray:
        """(T, ceil(L / 100)) float32|float16 memmap: mean signal per 100 bp bin, T = len(track_names)."""
        self.check_chrom(chrom)
        return self._map("tracks", chrom)

    def target(self, chrom: str) -> np.ndarray:
        """(ceil(L / 20),) float32 memmap: the processed target (SPEC §2 with §10 fixes) per 20 bp."""
        self.check_chrom(chrom)
        return self._map("target", chrom)

    def contact_band(self, chrom: str, kind: str = "contacts") -> np.ndarray:
        """(n_bins, band_bins) float32 memmap: band[i, d] = balanced contact of bins i and i + d (NaN: none)."""
        self.check_chrom(chrom)
        meta = self._contact_meta(kind)
        if chrom not in meta.get("chroms", []):
            raise InputError(f"store {self.path} has no {kind} data for {chrom}; the contact file lacks it")
        return self._map(kind, chrom)

    def rotated_cache(self) -> RotatedCache | None:
        """The precomputed rotated windows, or None when the store has none."""
        meta = self.manifest.get("contacts")
        if not meta or not meta.get("rotated_cache"):
            return None
        if self._rotated is None:
            windows = np.load(self.path / "contacts" / "rotated.npy", mmap_mode="r")
            idx = pd.read_csv(self.path / "contacts" / "rotated_index.tsv", sep="\t", dtype={"gene_id": str})
            row_of_gene = dict(zip(idx["gene_id"], idx["row"].astype(int), strict=True))
            g = self.genes.set_index("gene_id")
            row_of_locus = {
                (str(g.at[gid, "chrom"]), int(g.at[gid, "tss_bp"])): r for gid, r in row_of_gene.items()
            }
            self._rotated = RotatedCache(windows, row_of_gene, row_of_locus)
        return self._rotated


def read_manifest(path: str | os.PathLike) -> dict:
    """Parse ``path/manifest.json``; :class:`StoreError` when absent, unreadable or of another format."""
    path = Path(path)
    f = path / "manifest.json"
    if not path.exists():
        raise StoreError(f"store {path} does not exist; build it with claster prepare --out {path}")
    if not f.is_file():
        raise StoreError(f"{path} is not a claster store (no manifest.json); build one with claster prepare")
    try:
        manifest = json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise StoreError(f"{f} is corrupt ({e}); rebuild the store with claster prepare --force") from e
    if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
        raise StoreError(f"{path} is not a claster store (manifest format is not {STORE_FORMAT!r})")
    if manifest.get("format_version") != STORE_FORMAT_VERSION:
        raise StoreError(
            f"store {path} has format version {manifest.get('format_version')}, this claster reads "
            f"{STORE_FORMAT_VERSION}; rebuild it with claster prepare --force"
        )
    return manifest


def open_store(path: str | os.PathLike) -> Store:
    """Open a complete store for reading.

    Raises :class:`StoreError` when the store is missing, of another format version, or incomplete
    (an interrupted ``claster prepare``: rerun it with the same options to resume).
    """
    path = Path(path)
    manifest = read_manifest(path)
    missing = [c for c in manifest["chroms"] if c not in set(manifest.get("complete_chroms", []))]
    if missing or not manifest.get("complete", False) or not (path / "genes.tsv").is_file():
        raise StoreError(
            f"store {path} is incomplete ({len(missing)} of {len(manifest['chroms'])} chromosomes missing, "
            "e.g. an interrupted claster prepare); rerun the same claster prepare command to resume"
        )
    return Store(path, manifest)
