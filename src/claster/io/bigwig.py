"""Reading bigWig tracks through pybigtools: open with clear errors, list chromosomes, bin a chromosome.

A chromosome is read in ``chunk_bp`` spans, one ``values(chrom, start, end, bins=N, summary=...,
exact=True)`` call per span (never one per gene); pybigtools (Rust) reduces the bases to bins. A
bin's value is the mean over its covered bases (``summary="mean"``: the bigWig "mean", pyBigWig's
``stats(type="mean", exact=True)``) or, with ``missing_as_zero``, the sum over its covered bases
divided by all of its bases (``summary="sum"`` / bin length: uncovered bases count as 0). Every call
passes ``fillna=NaN`` explicitly, so a bin without any covered base is NaN there, then stored as 0 and
counted in ``n_empty``. Several files summed per base (e.g. RNA-seq strands) under the covered mean
need the union of covered bases, so they are read per base (``values`` without ``bins``) and reduced
here.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from claster.errors import InputError

__all__ = [
    "BinnedTrack",
    "check_bigwig",
    "open_bigwig",
    "read_binned",
    "read_bigwig_chroms",
]

_BIGWIG_MAGIC = 0x888FFC26
_RTREE_HEADER_BYTES = 48  # the data index (an R-tree) starts with a 48-byte header
DEFAULT_CHUNK_BP = 4_000_000


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence native writes to file descriptor 2 (the bigWig library prints its own noise on bad files)."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_bigwig(path: str | os.PathLike, *, what: str = "bigWig") -> Path:
    """Check that ``path`` exists and is a whole bigWig; return it as a Path.

    Whole: it starts and ends with the bigWig magic number, and every section its header and zoom
    headers point to (chromosome tree, data, index) starts inside the file, so a truncated download
    is refused here, before any chromosome is read.

    Raises :class:`InputError` naming the file and what to do (``what`` names the option, e.g.
    ``"--track H3K27ac"``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file {path} does not exist; check the path")
    if not path.is_file():
        raise InputError(f"{what} path {path} is not a file; give the path of a .bigWig file")
    with open(path, "rb") as fh:
        head = fh.read(64)
        order = "<" if len(head) >= 4 and struct.unpack("<I", head[:4])[0] == _BIGWIG_MAGIC else ">"
        if len(head) < 4 or struct.unpack(f"{order}I", head[:4])[0] != _BIGWIG_MAGIC:
            raise InputError(
                f"{what} file {path} is not a bigWig (bad magic number; corrupt, truncated or another "
                "format such as bedGraph); convert it with bedGraphToBigWig or re-download it"
            )
        size = path.stat().st_size
        offsets: list[int] = []
        n_zooms = 0
        if len(head) == 64:
            n_zooms = struct.unpack(f"{order}H", head[6:8])[0]
            chrom_tree, data, index = struct.unpack(f"{order}QQQ", head[8:32])
            offsets = [chrom_tree, data, index + _RTREE_HEADER_BYTES]
            zooms = fh.read(24 * n_zooms)
            for z in range(len(zooms) // 24):
                offsets += list(struct.unpack(f"{order}QQ", zooms[24 * z + 8 : 24 * z + 24]))
        fh.seek(max(0, size - 4))
        tail = fh.read(4)  # a complete bigWig ends with the magic number again
        if (
            len(head) < 64
            or len(offsets) < 3 + 2 * n_zooms
            or max(offsets) > size
            or len(tail) < 4
            or struct.unpack(f"{order}I", tail)[0] != _BIGWIG_MAGIC
        ):
            raise InputError(
                f"{what} file {path} is truncated (its header points past the end of the file, "
                f"{size:,} bytes, or the closing magic number is missing); re-create or re-download it"
            )
    return path


@contextmanager
def open_bigwig(path: str | os.PathLike, *, what: str = "bigWig") -> Iterator[object]:
    """Open a bigWig for reading (a ``pybigtools`` reader), closing it on exit.

    Raises :class:`InputError` when the file is missing, not a bigWig, or its header is corrupt.
    """
    import pybigtools

    path = check_bigwig(path, what=what)
    try:
        with _quiet_stderr():
            bw = pybigtools.open(str(path))
    except (pybigtools.BBIReadError, OSError, ValueError) as e:
        raise InputError(
            f"{what} file {path} could not be opened (corrupt header); re-create or re-download it"
        ) from e
    try:
        if not bw.is_bigwig:
            raise InputError(f"{what} file {path} is a bigBed, not a bigWig; give a bigWig signal track")
        chroms = bw.chroms()
        if not chroms:
            raise InputError(f"{what} file {path} declares no chromosomes; re-create it")
        yield bw
    finally:
        bw.close()


def read_bigwig_chroms(path: str | os.PathLike, *, what: str = "bigWig") -> dict[str, int]:
    """Chromosome name -> length in bp, as declared in the bigWig header (file order)."""
    with open_bigwig(path, what=what) as bw:
        return {str(k): int(v) for k, v in bw.chroms().items()}


@dataclass(frozen=True)
class BinnedTrack:
    """One chromosome binned: ``values`` (n_bins,) float32 and ``n_empty`` bins without data (set to 0)."""

    values: np.ndarray
    n_empty: int


def _bin_reduce(
    vals: np.ndarray, covered: np.ndarray, bin_bp: int, missing_as_zero: bool, n_bases_last: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reduce per-base values (NaN-free, 0 where uncovered) of whole bins to per-bin means.

    ``vals``/``covered`` have length n*bin_bp (the last bin padded as uncovered); ``n_bases_last`` is
    the number of real bases of the last bin. Returns (means float32, empty mask).
    """
    sums = vals.reshape(-1, bin_bp).sum(axis=1, dtype=np.float64)
    n_cov = covered.reshape(-1, bin_bp).sum(axis=1)
    empty = n_cov == 0
    if missing_as_zero:
        denom = np.full(sums.shape, float(bin_bp))
        denom[-1] = float(n_bases_last)
    else:
        denom = np.maximum(n_cov, 1).astype(np.float64)
    out = (sums / denom).astype(np.float32)
    out[empty] = 0.0
    return out, empty


def _read_error(what: str, p, c: str, start: int, stop: int, e: Exception) -> InputError:
    return InputError(
        f"{what} file {p} could not be read at {c}:{start}-{stop} ({e}; corrupt or truncated data block); "
        "re-create or re-download it"
    )


def _binned_span(bw, c: str, start: int, stop: int, bin_bp: int, summary: str) -> np.ndarray:
    """Per-bin ``summary`` ("mean" or "sum") of covered bases over ``[start, stop)``, bins of ``bin_bp``
    from ``start`` (the last one may be shorter); float64, NaN where a bin has no covered base."""
    n_full = (stop - start) // bin_bp
    parts = []
    if n_full:
        parts.append(
            bw.values(c, start, start + n_full * bin_bp, bins=n_full, summary=summary, exact=True, fillna=np.nan)
        )
    if start + n_full * bin_bp < stop:
        parts.append(bw.values(c, start + n_full * bin_bp, stop, bins=1, summary=summary, exact=True, fillna=np.nan))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def read_binned(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    chrom: str | Sequence[str],
    bin_bp: int,
    *,
    length_bp: int | None = None,
    missing_as_zero: bool = False,
    chunk_bp: int = DEFAULT_CHUNK_BP,
    what: str = "bigWig",
) -> BinnedTrack:
    """Read one chromosome of one bigWig (or the per-base sum of several) into fixed bins.

    Parameters
    ----------
    paths
        A bigWig path, or several whose per-base values are summed (a base is covered when any of
        them covers it; an uncovered file contributes 0 there), e.g. RNA-seq plus and minus strands.
    chrom
        Chromosome name in the file(s): one name, or one name per path.
    bin_bp
        Bin size in bp; bin ``i`` is ``[i*bin_bp, (i+1)*bin_bp)``, the last bin may be partial.
    length_bp
        Chromosome length to bin over (default: the first file's declared length). Bases beyond a
        file's own declared length count as uncovered (files of different assemblies can disagree).
    missing_as_zero
        Average over all bases of a bin (uncovered = 0) instead of over covered bases only.
    chunk_bp
        Span read per ``values`` call, rounded down to a multiple of ``bin_bp``; bounds memory.

    Returns
    -------
    BinnedTrack
        ``values``: (ceil(length_bp / bin_bp),) float32, mean signal per bin; ``n_empty``: bins with
        no covered base (their value is 0).
    """
    import pybigtools

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    chroms = [chrom] * len(paths) if isinstance(chrom, str) else list(chrom)
    if len(chroms) != len(paths):
        raise ValueError("give one chromosome name per path")
    if bin_bp <= 0:
        raise InputError(f"bin size must be positive, got {bin_bp} bp")
    chunk_bp = max(bin_bp, (chunk_bp // bin_bp) * bin_bp)
    per_base = len(paths) > 1 and not missing_as_zero  # union of covered bases: reduce here
    errors = (pybigtools.BBIReadError, OSError, ValueError, RuntimeError)

    from contextlib import ExitStack

    with ExitStack() as stack:
        handles = [stack.enter_context(open_bigwig(p, what=what)) for p in paths]
        file_lens = []
        for bw, p, c in zip(handles, paths, chroms, strict=True):
            declared = bw.chroms()
            if c not in declared:
                raise InputError(
                    f"{what} file {p} has no chromosome {c!r} (it has {len(declared)}: "
                    f"{_preview(declared)}); give a bigWig covering {c} or leave {c} out of the store"
                )
            file_lens.append(int(declared[c]))
        total = int(length_bp) if length_bp is not None else file_lens[0]
        n_bins = -(-total // bin_bp)
        out = np.zeros(n_bins, dtype=np.float32)
        n_empty = 0
        for start in range(0, n_bins * bin_bp, chunk_bp):
            end = min(start + chunk_bp, n_bins * bin_bp)
            nb = (end - start) // bin_bp
            b0 = start // bin_bp
            if per_base:
                acc = None
                covered = None
                for bw, p, c, flen in zip(handles, paths, chroms, file_lens, strict=True):
                    stop = min(end, flen, total)
                    if stop <= start:
                        continue
                    try:
                        v = bw.values(c, start, stop, fillna=np.nan)
                    except errors as e:
                        raise _read_error(what, p, c, start, stop, e) from e
                    ok = np.isfinite(v)
                    if acc is None:
                        acc = np.zeros(end - start, dtype=np.float64)
                        covered = np.zeros(end - start, dtype=bool)
                    acc[: stop - start] += np.where(ok, v, 0.0)
                    covered[: stop - start] |= ok
                if acc is None:  # out is already 0 there
                    n_empty += nb
                    continue
                n_last = total - (n_bins - 1) * bin_bp if end == n_bins * bin_bp else bin_bp
                means, empty = _bin_reduce(acc, covered, bin_bp, False, n_last)
                out[b0 : b0 + nb] = means
                n_empty += int(empty.sum())
                continue
            summary = "sum" if missing_as_zero else "mean"
            agg = np.full(nb, np.nan)
            for bw, p, c, flen in zip(handles, paths, chroms, file_lens, strict=True):
                stop = min(end, flen, total)
                if stop <= start:
                    continue
                try:
                    v = _binned_span(bw, c, start, stop, bin_bp, summary)
                except errors as e:
                    raise _read_error(what, p, c, start, stop, e) from e
                seg = agg[: v.size]
                seg[:] = np.where(np.isnan(seg), v, seg + np.nan_to_num(v, nan=0.0))
            empty = np.isnan(agg)
            if missing_as_zero:  # sum of covered bases / all bases of the bin (the last may be partial)
                lengths = np.minimum((np.arange(b0, b0 + nb) + 1) * bin_bp, total) - np.arange(b0, b0 + nb) * bin_bp
                agg = agg / lengths
            out[b0 : b0 + nb] = np.where(empty, 0.0, agg).astype(np.float32)
            n_empty += int(empty.sum())
    return BinnedTrack(values=out, n_empty=n_empty)


def _preview(names, k: int = 5) -> str:
    names = list(names)
    shown = ", ".join(names[:k])
    return shown + (", ..." if len(names) > k else "")
