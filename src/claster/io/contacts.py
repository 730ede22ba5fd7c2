"""Contact maps: open a ``.mcool``/``.cool`` URI or a text dump, and read a chromosome's diagonal band.

Balancing: the cooler's ``weight`` column when present (balanced = count * w_i * w_j, or
count / (w_i * w_j) for divisive weights); otherwise ICE is computed in memory with
``cooler.balance_cooler(clr, store=False)`` (cooler's defaults) and recorded as
``"ICE computed by claster"``, with a :class:`~claster.errors.ClasterWarning`.

A text dump (``start1 start2 count``, whitespace separated, optionally gzipped; 0-based bin starts in
bp, one chromosome) is loaded into a temporary ``.cool`` with ``cooler.create_cooler`` and then
treated like any cooler. cooler is imported inside functions so ``import claster.io`` stays light.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import ClasterWarning, InputError

__all__ = [
    "BALANCING_COOLER",
    "BALANCING_ICE",
    "ContactSource",
    "open_contacts",
    "parse_cool_uri",
    "read_band",
]

BALANCING_COOLER = "cooler weights"
BALANCING_ICE = "ICE computed by claster"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def parse_cool_uri(uri: str) -> tuple[Path, str | None]:
    """Split ``file.mcool::/resolutions/1600`` into (path, group); the group is None when absent."""
    if "::" in uri:
        path, group = uri.split("::", 1)
        group = "/" + group.strip("/")
        return Path(path), group
    return Path(uri), None


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(8) == _HDF5_MAGIC


@dataclass
class ContactSource:
    """An opened contact map: a cooler URI plus how it is balanced.

    Attributes: ``source`` (what the user gave), ``uri`` (the cooler read; a temporary one for text
    dumps), ``resolution_bp``, ``balancing`` (:data:`BALANCING_COOLER` or :data:`BALANCING_ICE`),
    ``chrom_sizes`` (name -> bp, the cooler's naming).
    """

    source: str
    uri: str
    resolution_bp: int
    balancing: str
    chrom_sizes: dict[str, int]
    bias: np.ndarray | None = None  # genome-wide ICE bias (multiplicative) when computed here
    divisive: bool = False
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def close(self) -> None:
        """Remove the temporary cooler of a text dump (if any)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ContactSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _resolve_cooler_uri(uri: str, what: str) -> str:
    import cooler

    path, group = parse_cool_uri(uri)
    if not path.exists():
        raise InputError(f"{what} file {path} does not exist; check the path")
    try:
        groups = cooler.fileops.list_coolers(str(path))
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{what} file {path} is not a readable .cool/.mcool (corrupt HDF5); re-create it") from e
    if not groups:
        raise InputError(f"{what} file {path} holds no cooler; give a .cool or .mcool file")
    resolutions = sorted(int(g.rsplit("/", 1)[1]) for g in groups if g.startswith("/resolutions/"))
    avail = ", ".join(str(r) for r in resolutions)
    if group is None:
        if len(groups) == 1:
            return f"{path}::{groups[0]}"
        raise InputError(
            f"{what} file {path} holds several resolutions ({avail} bp); pick one with "
            f"{path}::/resolutions/<bp>, e.g. {path}::/resolutions/{resolutions[0] if resolutions else 1600}"
        )
    if group not in groups:
        if resolutions:
            raise InputError(
                f"{what} file {path} has no resolution {group.rsplit('/', 1)[-1]} bp (group {group}); "
                f"available resolutions: {avail} bp; use {path}::/resolutions/<one of them>"
            )
        raise InputError(f"{what} file {path} has no cooler group {group}; available: {', '.join(groups)}")
    return f"{path}::{group}"


def _text_to_cool(
    path: Path, bin_bp: int, chrom: str, chrom_len: int, out_cool: Path, what: str
) -> None:
    import cooler

    try:
        df = pd.read_csv(path, sep=r"\s+", header=None, comment="#", compression="infer")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as e:
        raise InputError(f"{what} text dump {path} could not be parsed ({e}); expected 'start1 start2 count'") from e
    if df.shape[1] != 3:
        raise InputError(
            f"{what} text dump {path} has {df.shape[1]} columns; expected 3 (start1 start2 count, bp, one chromosome)"
        )
    s1 = df[0].to_numpy(np.int64)
    s2 = df[1].to_numpy(np.int64)
    count = df[2].to_numpy(np.float64)
    if ((s1 % bin_bp) != 0).any() or ((s2 % bin_bp) != 0).any():
        raise InputError(
            f"{what} text dump {path} has positions that are not multiples of {bin_bp} bp; "
            "set --contacts-bin-bp to the dump's bin size"
        )
    n_bins = -(-chrom_len // bin_bp)
    b1, b2 = s1 // bin_bp, s2 // bin_bp
    if (np.maximum(b1, b2) >= n_bins).any() or (np.minimum(b1, b2) < 0).any():
        raise InputError(
            f"{what} text dump {path} has contacts beyond {chrom} (length {chrom_len:,} bp); check "
            "--contacts-chrom and --chrom-sizes"
        )
    lo, hi = np.minimum(b1, b2), np.maximum(b1, b2)
    pix = pd.DataFrame({"bin1_id": lo, "bin2_id": hi, "count": count})
    pix = pix[pix["count"] != 0].groupby(["bin1_id", "bin2_id"], as_index=False, sort=True)["count"].sum()
    bins = cooler.binnify(pd.Series({chrom: chrom_len}), bin_bp)
    cooler.create_cooler(
        str(out_cool), bins, pix, dtypes={"count": np.float64}, ordered=True, symmetric_upper=True
    )


def _ice_arrays(
    b1: np.ndarray,
    b2: np.ndarray,
    count: np.ndarray,
    n_bins: int,
    chrom_offsets: np.ndarray,
    *,
    ignore_diags: int = 2,
    mad_max: float = 5,
    min_nnz: int = 10,
    tol: float = 1e-5,
    max_iters: int = 200,
) -> tuple[np.ndarray, bool]:
    """Genome-wide ICE on in-memory pixels, step for step as ``cooler.balance_cooler``'s defaults.

    Same filters (diagonals ``< ignore_diags`` zeroed, bins with fewer than ``min_nnz`` non-zero
    pixels dropped, MAD-max on per-chromosome median-normalised marginals), same iteration and
    stopping rule, same final rescaling of the marginals to 1. Returns (bias (n_bins,) float64 with
    NaN for dropped bins, converged). Tested against ``cooler.balance_cooler`` in tests/io.
    """
    import scipy.sparse as sp

    data = count.astype(np.float64).copy()
    data[np.abs(b1 - b2) < ignore_diags] = 0.0
    offdiag = b1 != b2

    def marginalize(v: np.ndarray) -> np.ndarray:
        return np.bincount(b1[offdiag], weights=v[offdiag], minlength=n_bins) + np.bincount(
            b2, weights=v, minlength=n_bins
        )

    # Symmetric matrix with the main diagonal once, as cooler's _marginalize counts it:
    # marginalize(bias[b1] * bias[b2] * data) == bias * (sym @ bias).
    nz = data != 0
    rows = np.concatenate([b1[nz], b2[nz & offdiag]])
    cols = np.concatenate([b2[nz], b1[nz & offdiag]])
    vals = np.concatenate([data[nz], data[nz & offdiag]])
    sym = sp.csr_matrix((vals, (rows, cols)), shape=(n_bins, n_bins))

    bias = np.ones(n_bins, dtype=np.float64)
    if min_nnz > 0:
        bias[marginalize((data != 0).astype(np.float64)) < min_nnz] = 0
    marg = marginalize(data)
    if mad_max > 0:
        for lo, hi in zip(chrom_offsets[:-1], chrom_offsets[1:], strict=True):
            c = marg[lo:hi]
            marg[lo:hi] = c / np.median(c[c > 0])
        log_nz = np.log(marg[marg > 0])
        med = np.median(log_nz)
        dev = np.median(np.abs(log_nz - med))
        bias[marg < np.exp(med - mad_max * dev)] = 0
    var = np.inf
    nzmarg = np.zeros(0)
    for _ in range(max_iters):
        marg = bias * (sym @ bias)
        nzmarg = marg[marg != 0]
        if not len(nzmarg):
            return np.full(n_bins, np.nan), False
        marg = marg / nzmarg.mean()
        marg[marg == 0] = 1
        bias /= marg
        var = nzmarg.var()
        if var < tol:
            break
    scale = nzmarg.mean()
    bias[bias == 0] = np.nan
    bias /= np.sqrt(scale)
    return bias, bool(var < tol)


IN_MEMORY_ICE_MAX_PIXELS = 50_000_000


def _ice(uri: str) -> np.ndarray:
    """ICE bias of a cooler with cooler's default parameters, without writing to the file.

    Up to :data:`IN_MEMORY_ICE_MAX_PIXELS` stored pixels the pixel table is loaded once and iterated
    in memory (:func:`_ice_arrays`, ~100x faster than re-reading the file every iteration); larger
    coolers go through ``cooler.balance_cooler(clr, store=False)``.
    """
    import cooler

    clr = cooler.Cooler(uri)
    nnz = int(clr.info["nnz"])
    if nnz <= IN_MEMORY_ICE_MAX_PIXELS:
        with clr.open("r") as h5:
            b1 = h5["pixels/bin1_id"][:].astype(np.int64)
            b2 = h5["pixels/bin2_id"][:].astype(np.int64)
            cnt = h5["pixels/count"][:]
            offsets = h5["indexes/chrom_offset"][:].astype(np.int64)
        bias, converged = _ice_arrays(b1, b2, cnt, int(clr.info["nbins"]), offsets)
    else:
        with warnings.catch_warnings():
            # cooler's ConvergenceWarning: reported below as a ClasterWarning instead.
            warnings.simplefilter("ignore")
            bias, stats = cooler.balance_cooler(clr, store=False)
        converged = bool(stats.get("converged", True))
    if not converged:
        warnings.warn(
            f"ICE balancing of {uri} did not converge in 200 iterations; balanced values may be imprecise",
            ClasterWarning,
            stacklevel=3,
        )
    return np.asarray(bias, dtype=np.float64)


def open_contacts(
    source: str,
    *,
    bin_bp: int | None = None,
    chrom: str | None = None,
    chrom_sizes: dict[str, int] | None = None,
    what: str = "--contacts",
) -> ContactSource:
    """Open a contact map and settle its balancing.

    Parameters
    ----------
    source
        ``file.mcool::/resolutions/N``, ``file.cool`` or a text dump ``start1 start2 count``.
    bin_bp, chrom, chrom_sizes
        For text dumps only: bin size in bp, the dump's chromosome and its length (``chrom_sizes``).

    Returns
    -------
    ContactSource
        Use as a context manager (a text dump's temporary cooler is removed on exit).
    """
    path, _ = parse_cool_uri(source)
    if not path.exists():
        raise InputError(f"{what} file {path} does not exist; check the path")
    tmp = None
    if _is_hdf5(path):
        uri = _resolve_cooler_uri(source, what)
    else:
        if "::" in source or path.suffix in (".cool", ".mcool"):
            raise InputError(f"{what} file {path} is not an HDF5 cooler (corrupt or truncated); re-create it")
        if bin_bp is None:
            raise InputError(f"{what} {path} is a text dump; give its bin size with --contacts-bin-bp")
        if not chrom_sizes:
            raise InputError(f"{what} {path} is a text dump; give chromosome lengths with --chrom-sizes")
        if chrom is None:
            guess = path.name.split(".")[0]
            if guess in chrom_sizes:
                chrom = guess
            elif len(chrom_sizes) == 1:
                chrom = next(iter(chrom_sizes))
            else:
                raise InputError(f"{what} {path} is a single-chromosome text dump; name it with --contacts-chrom")
        if chrom not in chrom_sizes:
            raise InputError(
                f"{what} chromosome {chrom!r} is not in the chromosome sizes; check --contacts-chrom/--chrom-sizes"
            )
        tmp = tempfile.TemporaryDirectory(prefix="claster-contacts-")
        uri = str(Path(tmp.name) / "contacts.cool")
    try:
        if tmp is not None:
            _text_to_cool(path, int(bin_bp), chrom, int(chrom_sizes[chrom]), Path(uri), what)
        return _settle_balancing(source, uri, tmp, what)
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise


def _settle_balancing(
    source: str, uri: str, tmp: tempfile.TemporaryDirectory | None, what: str
) -> ContactSource:
    import cooler

    clr = cooler.Cooler(uri)
    resolution = clr.binsize
    if resolution is None:
        raise InputError(f"{what} {source} has variable-size bins; give a fixed-resolution cooler")
    sizes = {str(k): int(v) for k, v in clr.chromsizes.items()}
    if "weight" in clr.bins().columns:
        with clr.open("r") as h5:
            divisive = bool(h5["bins/weight"].attrs.get("divisive_weights", False))
        return ContactSource(source, uri, int(resolution), BALANCING_COOLER, sizes, None, divisive, tmp)
    warnings.warn(
        f"contacts {source} have no balancing weights; ICE-balancing them in memory with cooler's "
        f"defaults (recorded in the manifest as '{BALANCING_ICE}')",
        ClasterWarning,
        stacklevel=3,
    )
    bias = _ice(uri)
    return ContactSource(source, uri, int(resolution), BALANCING_ICE, sizes, bias, False, tmp)


def read_band(
    src: ContactSource,
    chrom: str,
    band_bins: int,
    *,
    out: np.ndarray | None = None,
    chunk_rows: int = 4096,
    max_pixels: int = 4_000_000,
) -> np.ndarray:
    """Balanced contacts of one chromosome within ``band_bins`` of the diagonal.

    Reads the pixel table in row chunks (at most ``max_pixels`` pixels at a time), so memory stays
    bounded by the band itself. Returns ``band``: (n_bins, band_bins) float32 with
    ``band[i, d]`` = balanced contact of bins ``i`` and ``i + d`` of ``chrom``; NaN where no pixel is
    stored, where a bin's weight is NaN (filtered by balancing), or beyond the chromosome end.
    ``out`` may be a preallocated (e.g. memory-mapped) array of that shape.
    """
    import cooler

    clr = cooler.Cooler(src.uri)
    if chrom not in clr.chromnames:
        raise InputError(f"contacts {src.source} have no chromosome {chrom!r}; check --chrom-aliases")
    h5 = clr.open("r")
    try:
        ci = list(clr.chromnames).index(chrom)
        lo, hi = (int(x) for x in h5["indexes/chrom_offset"][ci : ci + 2])
        n = hi - lo
        if out is None:
            out = np.empty((n, band_bins), dtype=np.float32)
        elif out.shape != (n, band_bins):
            raise ValueError(f"out has shape {out.shape}, expected {(n, band_bins)}")
        out[...] = np.nan
        if src.bias is not None:
            w = src.bias[lo:hi].astype(np.float64)
        else:
            w = h5["bins/weight"][lo:hi].astype(np.float64)
            if src.divisive:
                w = 1.0 / w
        bin1_offset = h5["indexes/bin1_offset"]
        px_b1, px_b2, px_c = h5["pixels/bin1_id"], h5["pixels/bin2_id"], h5["pixels/count"]
        for r0 in range(lo, hi, chunk_rows):
            r1 = min(r0 + chunk_rows, hi)
            p0, p1 = int(bin1_offset[r0]), int(bin1_offset[r1])
            for q0 in range(p0, p1, max_pixels):
                q1 = min(q0 + max_pixels, p1)
                b1 = px_b1[q0:q1].astype(np.int64)
                b2 = px_b2[q0:q1].astype(np.int64)
                c = px_c[q0:q1].astype(np.float64)
                d = b2 - b1
                keep = (b2 < hi) & (d >= 0) & (d < band_bins)
                i = b1[keep] - lo
                j = b2[keep] - lo
                out[i, d[keep]] = (c[keep] * w[i] * w[j]).astype(np.float32)
    finally:
        h5.file.close()
    return out
