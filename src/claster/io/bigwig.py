"""Reading bigWig tracks: open with clear errors, list chromosomes, bin a chromosome in chunks.

A chromosome is read in ``chunk_bp`` spans with ``bw.values(..., numpy=True)`` (one call per span,
never one per gene) and reduced to fixed bins. Bases without data are NaN in ``values``; a bin's
value is the mean over its covered bases (pyBigWig ``stats(type="mean", exact=True)`` semantics) or,
with ``missing_as_zero``, over all of its bases. Bins without any covered base are 0 and counted.
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
DEFAULT_CHUNK_BP = 4_000_000


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C-level writes to file descriptor 2 (libBigWig prints its own noise on bad files)."""
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
    """Check that ``path`` exists and starts with the bigWig magic number; return it as a Path.

    Raises :class:`InputError` naming the file and what to do (``what`` names the option, e.g.
    ``"--track H3K27ac"``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file {path} does not exist; check the path")
    if not path.is_file():
        raise InputError(f"{what} path {path} is not a file; give the path of a .bigWig file")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if len(head) < 4 or (
        struct.unpack("<I", head)[0] != _BIGWIG_MAGIC and struct.unpack(">I", head)[0] != _BIGWIG_MAGIC
    ):
        raise InputError(
            f"{what} file {path} is not a bigWig (bad magic number; corrupt, truncated or another "
            "format such as bedGraph); convert it with bedGraphToBigWig or re-download it"
        )
    return path


@contextmanager
def open_bigwig(path: str | os.PathLike, *, what: str = "bigWig") -> Iterator[object]:
    """Open a bigWig for reading (a pyBigWig handle), closing it on exit.

    Raises :class:`InputError` when the file is missing, not a bigWig, or its header is corrupt.
    """
    import pyBigWig

    path = check_bigwig(path, what=what)
    try:
        with _quiet_stderr():
            bw = pyBigWig.open(str(path))
    except RuntimeError as e:
        raise InputError(
            f"{what} file {path} could not be opened (corrupt header); re-create or re-download it"
        ) from e
    try:
        if not bw.isBigWig():
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
        return dict(bw.chroms())


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
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    chroms = [chrom] * len(paths) if isinstance(chrom, str) else list(chrom)
    if len(chroms) != len(paths):
        raise ValueError("give one chromosome name per path")
    if bin_bp <= 0:
        raise InputError(f"bin size must be positive, got {bin_bp} bp")
    chunk_bp = max(bin_bp, (chunk_bp // bin_bp) * bin_bp)

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
            span = end - start
            acc = None
            covered = None
            for bw, p, c, flen in zip(handles, paths, chroms, file_lens, strict=True):
                stop = min(end, flen, total)
                if stop <= start:
                    continue
                try:
                    if not bw.intervals(c, start, stop):  # no data in this span: skip the per-base read
                        continue
                    v = bw.values(c, start, stop, numpy=True)
                except RuntimeError as e:
                    raise InputError(
                        f"{what} file {p} could not be read at {c}:{start}-{stop} (corrupt or truncated "
                        "data block); re-create or re-download it"
                    ) from e
                ok = np.isfinite(v)
                if acc is None:
                    acc = np.zeros(span, dtype=np.float64)
                    covered = np.zeros(span, dtype=bool)
                acc[: stop - start] += np.where(ok, v, 0.0)
                covered[: stop - start] |= ok
            if acc is None:  # out is already 0 there
                n_empty += span // bin_bp
                continue
            n_last = total - (n_bins - 1) * bin_bp if end == n_bins * bin_bp else bin_bp
            means, empty = _bin_reduce(acc, covered, bin_bp, missing_as_zero, n_last)
            out[start // bin_bp : end // bin_bp] = means
            n_empty += int(empty.sum())
    return BinnedTrack(values=out, n_empty=n_empty)


def _preview(names, k: int = 5) -> str:
    names = list(names)
    shown = ", ".join(names[:k])
    return shown + (", ..." if len(names) > k else "")
