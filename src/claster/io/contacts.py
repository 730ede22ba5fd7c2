"""Contact maps: open a ``.hic``, ``.mcool``/``.cool`` or a text dump, and read a chromosome's diagonal band.

One reader, hictkpy, serves ``.hic`` (Juicer, v6-v9) and cooler files (``.cool``, ``.mcool`` with
``/resolutions/N`` groups, and legacy ``.mcool`` files with numbered zoom levels ``/0``, ``/1``, ...).

Resolution: ``FILE.mcool::/resolutions/N``, ``FILE.mcool::/13`` (a legacy zoom level, resolved to its
bin size), or ``resolution=N`` (``--contacts-resolution``) for ``.hic`` and ``.mcool`` files. A file
holding one resolution needs neither.

Normalisation (``normalization=``): ``"auto"`` takes the first of :data:`AUTO_NORMALIZATIONS`
available at the chosen resolution (a normalisation can exist at some resolutions only); a name
takes that one (error naming the available ones when absent); ``"none"`` keeps raw counts. Weights
are applied by hictkpy, which knows divisive (Juicer ``KR``/``VC``/``VC_SQRT``, also as hic2cool
columns) from multiplicative (cooler ``weight``) vectors. When ``"auto"`` finds none, raw counts are
ICE-balanced here with cooler's defaults and recorded as :data:`BALANCING_ICE`, with a
:class:`~claster.errors.ClasterWarning`.

A text dump (``start1 start2 count``, whitespace separated, optionally gzipped; 0-based bin starts in
bp, one chromosome) is loaded into a temporary ``.cool`` and then treated like any cooler. cooler is
used only to ICE-balance coolers too large for the in-memory ICE. hictkpy and cooler are imported
inside functions so ``import claster.io`` stays light.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import ClasterWarning, InputError

__all__ = [
    "AUTO_NORMALIZATIONS",
    "BALANCING_ICE",
    "BALANCING_NONE",
    "ContactSource",
    "contact_format",
    "open_contacts",
    "parse_cool_uri",
    "read_band",
]

#: ``normalization="auto"`` takes the first of these that the file holds at the chosen resolution.
AUTO_NORMALIZATIONS: tuple[str, ...] = ("weight", "ICE", "SCALE", "KR", "VC_SQRT", "VC")
BALANCING_ICE = "ICE computed by claster"
BALANCING_NONE = "none (raw counts)"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_HIC_MAGIC = b"HIC\x00"


def parse_cool_uri(uri: str) -> tuple[Path, str | None]:
    """Split ``file.mcool::/resolutions/1600`` into (path, group); the group is None when absent."""
    if "::" in uri:
        path, group = uri.split("::", 1)
        group = "/" + group.strip("/")
        return Path(path), group
    return Path(uri), None


def contact_format(path: str | Path) -> str:
    """``"hic"``, ``"cooler"`` (HDF5: .cool/.mcool) or ``"text"``, from the file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == _HDF5_MAGIC:
        return "cooler"
    if head[:4] == _HIC_MAGIC:
        return "hic"
    return "text"


@dataclass
class ContactSource:
    """An opened contact map: what is read, at which resolution, and how it is balanced.

    Attributes: ``source`` (what the user gave), ``uri`` (what hictkpy opens: ``file.hic``,
    ``file.mcool::/resolutions/N``, a legacy ``file.mcool::/13`` or a temporary ``.cool`` for a text
    dump), ``resolution_bp``, ``balancing`` (``"<name> from the file"``, :data:`BALANCING_ICE` or
    :data:`BALANCING_NONE`), ``chrom_sizes`` (name -> bp, the file's naming), ``normalization`` (the
    normalisation used: a name in the file, :data:`BALANCING_ICE` or ``"none"``),
    ``requested_normalization`` (what was asked: ``"auto"``, ``"none"`` or a name), ``file_format``
    (``"hic"``, ``"mcool"``, ``"cool"`` or ``"text dump"``) and ``zoom_level`` (the legacy group, e.g.
    ``"/13"``, else None).
    """

    source: str
    uri: str
    resolution_bp: int
    balancing: str
    chrom_sizes: dict[str, int]
    normalization: str = "none"
    requested_normalization: str = "auto"
    file_format: str = "cool"
    zoom_level: str | None = None
    bias: np.ndarray | None = None  # genome-wide ICE bias (multiplicative) when computed here
    _hictk_resolution: int | None = field(default=None, repr=False)  # passed to hictkpy.File (.hic only)
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)
    _handle: object | None = field(default=None, repr=False)

    @property
    def file_normalization(self) -> str:
        """The name to fetch with from hictkpy: the file's vector, or ``"NONE"`` (raw counts)."""
        if self.normalization in ("none", BALANCING_ICE):
            return "NONE"
        return self.normalization

    def n_bins(self, chrom: str) -> int:
        """Number of bins of ``chrom`` (the last may be partial)."""
        return -(-int(self.chrom_sizes[chrom]) // int(self.resolution_bp))

    def chrom_offset(self, chrom: str) -> int:
        """Genome-wide index of ``chrom``'s first bin (chromosomes in file order)."""
        off = 0
        for c in self.chrom_sizes:
            if c == chrom:
                return off
            off += self.n_bins(c)
        raise KeyError(chrom)

    def handle(self):
        """The open ``hictkpy.File`` (opened once, closed by :meth:`close`)."""
        if self._handle is None:
            self._handle = _hictk_open(self.uri, self._hictk_resolution)
        return self._handle

    def describe(self) -> dict:
        """Manifest fields: file, format, resolution, legacy zoom level and the normalisation used."""
        path, _ = parse_cool_uri(self.source)
        return {
            "source": self.source,
            "file": str(path.resolve()),
            "format": self.file_format,
            "resolution_bp": int(self.resolution_bp),
            "zoom_level": self.zoom_level,
            "normalization": self.normalization,
            "normalization_requested": self.requested_normalization,
            "balancing": self.balancing,
        }

    def close(self) -> None:
        """Close the file and remove the temporary cooler of a text dump (if any)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ContactSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _hictk_open(uri: str, resolution: int | None):
    import hictkpy

    return hictkpy.File(uri, resolution) if resolution is not None else hictkpy.File(uri)


# ---------------------------------------------------------------------------------------------
# resolution


def _cooler_groups(path: Path, what: str) -> dict[str, int | None]:
    """Cooler groups of a .cool/.mcool -> bin size in bp (None for variable bins)."""
    import cooler
    import h5py

    try:
        groups = cooler.fileops.list_coolers(str(path))
        sizes: dict[str, int | None] = {}
        with h5py.File(path, "r") as h5:
            for g in groups:
                b = h5[g].attrs.get("bin-size")
                sizes[g] = int(b) if b is not None and np.ndim(b) == 0 else None
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{what} file {path} is not a readable .cool/.mcool (corrupt HDF5); re-create it") from e
    if not sizes:
        raise InputError(f"{what} file {path} holds no cooler; give a .hic, .cool or .mcool file")
    return sizes


def _describe_groups(groups: dict[str, int | None]) -> str:
    res = sorted(int(g.rsplit("/", 1)[1]) for g in groups if g.startswith("/resolutions/"))
    if res:
        return ", ".join(str(r) for r in res) + " bp"
    return ", ".join(f"{g} = {b} bp" for g, b in sorted(groups.items(), key=lambda kv: kv[1] or 0))


def _resolve_cooler(source: str, resolution: int | None, what: str) -> tuple[str, str | None]:
    """(cooler URI, legacy zoom level or None) for a .cool/.mcool source and an optional resolution."""
    path, group = parse_cool_uri(source)
    groups = _cooler_groups(path, what)
    avail = _describe_groups(groups)
    if group is not None:
        if group not in groups:
            if group.startswith("/resolutions/"):
                raise InputError(
                    f"{what} file {path} has no resolution {group.rsplit('/', 1)[-1]} bp (group {group}); "
                    f"available resolutions: {avail}; use {path}::/resolutions/<one of them>"
                )
            raise InputError(f"{what} file {path} has no cooler group {group}; available: {avail}")
        if resolution is not None and groups[group] != resolution:
            raise InputError(
                f"{what} {source} is at {groups[group]} bp but --contacts-resolution is {resolution}; "
                "give one of them"
            )
        legacy = None if group.startswith("/resolutions/") or len(groups) == 1 else group
        return f"{path}::{group}", legacy
    if resolution is not None:
        if f"/resolutions/{resolution}" in groups:
            return f"{path}::/resolutions/{resolution}", None
        match = [g for g, b in groups.items() if b == resolution]
        if match:
            g = match[0]
            return f"{path}::{g}", (None if len(groups) == 1 else g)
        raise InputError(
            f"{what} file {path} has no resolution {resolution} bp; available resolutions: {avail}; "
            "pass --contacts-resolution <one of them>"
        )
    if len(groups) == 1:
        return f"{path}::{next(iter(groups))}", None
    raise InputError(
        f"{what} file {path} holds several resolutions ({avail}); pick one with --contacts-resolution <bp> "
        f"or {path}::/resolutions/<bp>"
    )


def _resolve_hic(source: str, resolution: int | None, what: str) -> int:
    import hictkpy

    path, group = parse_cool_uri(source)
    if group is not None:
        if not group.startswith("/resolutions/") or not group.rsplit("/", 1)[1].isdigit():
            raise InputError(
                f"{what} {source}: a .hic file takes ::/resolutions/<bp> or --contacts-resolution, not {group}"
            )
        in_uri = int(group.rsplit("/", 1)[1])
        if resolution is not None and resolution != in_uri:
            raise InputError(
                f"{what} {source} names {in_uri} bp but --contacts-resolution is {resolution}; give one of them"
            )
        resolution = in_uri
    try:
        avail = [int(r) for r in hictkpy.MultiResFile(str(path)).resolutions()]
    except RuntimeError as e:
        raise InputError(f"{what} file {path} is not a readable .hic file ({e}); re-create or re-download it") from e
    listed = ", ".join(str(r) for r in sorted(avail))
    if resolution is None:
        if len(avail) == 1:
            return avail[0]
        raise InputError(
            f"{what} file {path} holds several resolutions ({listed} bp); pick one with --contacts-resolution <bp>"
        )
    if resolution not in avail:
        raise InputError(
            f"{what} file {path} has no resolution {resolution} bp; available resolutions: {listed} bp; "
            "pass --contacts-resolution <one of them>"
        )
    return resolution


# ---------------------------------------------------------------------------------------------
# normalisation


def available_normalizations(f) -> list[str]:
    """Normalisations of an open ``hictkpy.File`` with a usable vector at its resolution.

    A name the file lists is kept when its weights can be read at this resolution and hold at least
    one finite value (a ``.hic`` can list a normalisation computed at other resolutions only).
    """
    out = []
    for name in f.avail_normalizations():
        try:
            w = f.weights(name)
        except RuntimeError:
            continue
        if w is not None and np.isfinite(np.asarray(w, dtype=np.float64)).any():
            out.append(str(name))
    return out


def _choose_normalization(f, requested: str, source: str, resolution: int, what: str) -> str | None:
    """The file normalisation to use, ``"none"``, or None when ``auto`` finds none (-> ICE here)."""
    if requested.lower() == "none":
        return "none"
    avail = available_normalizations(f)
    if requested.lower() == "auto":
        return next((n for n in AUTO_NORMALIZATIONS if n in avail), None)
    if requested in avail:
        return requested
    folded = [n for n in avail if n.lower() == requested.lower()]
    if len(folded) == 1:
        return folded[0]
    raise InputError(
        f"{what} {source} has no normalization {requested!r} at {resolution} bp; available there: "
        f"{', '.join(avail) if avail else 'none'}; pass --contacts-normalization with one of them, 'auto' "
        "(ICE computed by claster when the file has none) or 'none' (raw counts)"
    )


# ---------------------------------------------------------------------------------------------
# text dumps


def _text_to_cool(
    path: Path, bin_bp: int, chrom: str, chrom_len: int, out_cool: Path, what: str
) -> None:
    import hictkpy

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
    writer = hictkpy.cooler.FileWriter(str(out_cool), {chrom: int(chrom_len)}, int(bin_bp), tmpdir=str(out_cool.parent))
    if len(pix):
        writer.add_pixels(pix)
    writer.finalize()


# ---------------------------------------------------------------------------------------------
# ICE


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


def _warn_not_converged(source: str) -> None:
    warnings.warn(
        f"ICE balancing of {source} did not converge in 200 iterations; balanced values may be imprecise",
        ClasterWarning,
        stacklevel=4,
    )


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
        _warn_not_converged(uri)
    return np.asarray(bias, dtype=np.float64)


def _ice_hictk(src: ContactSource, what: str) -> np.ndarray:
    """ICE bias of a ``.hic`` (raw counts read through hictkpy, every chromosome pair) as :func:`_ice`."""
    f = src.handle()
    chroms = list(src.chrom_sizes)
    offsets = np.cumsum([0] + [src.n_bins(c) for c in chroms]).astype(np.int64)
    parts: list[pd.DataFrame] = []
    total = 0
    for i, c1 in enumerate(chroms):
        for c2 in chroms[i:]:
            df = f.fetch(c1, c2, normalization="NONE", count_type="float").to_df()
            total += len(df)
            if total > IN_MEMORY_ICE_MAX_PIXELS:
                raise InputError(
                    f"{what} {src.source} has no normalization at {src.resolution_bp} bp and more than "
                    f"{IN_MEMORY_ICE_MAX_PIXELS:,} pixels to ICE-balance in memory; add one with `hictk balance "
                    "ice`, or pass --contacts-normalization none for raw counts"
                )
            if len(df):
                parts.append(df[["bin1_id", "bin2_id", "count"]])
    pix = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"bin1_id": [], "bin2_id": [], "count": []})
    bias, converged = _ice_arrays(
        pix["bin1_id"].to_numpy(np.int64), pix["bin2_id"].to_numpy(np.int64), pix["count"].to_numpy(np.float64),
        int(offsets[-1]), offsets,
    )
    if not converged:
        _warn_not_converged(src.source)
    return bias


# ---------------------------------------------------------------------------------------------
# opening


def open_contacts(
    source: str,
    *,
    resolution: int | None = None,
    normalization: str = "auto",
    bin_bp: int | None = None,
    chrom: str | None = None,
    chrom_sizes: dict[str, int] | None = None,
    what: str = "--contacts",
) -> ContactSource:
    """Open a contact map, settle its resolution and its normalisation.

    Parameters
    ----------
    source
        ``file.hic``, ``file.mcool::/resolutions/N``, a legacy ``file.mcool::/13``, ``file.cool``, or a
        text dump ``start1 start2 count``.
    resolution
        Bin size in bp (``--contacts-resolution``), for ``.hic``/``.mcool`` files given without a group.
    normalization
        ``"auto"`` (first available of :data:`AUTO_NORMALIZATIONS`, else ICE computed here),
        ``"none"`` (raw counts) or the name of a normalisation in the file.
    bin_bp, chrom, chrom_sizes
        For text dumps only: bin size in bp, the dump's chromosome and its length (``chrom_sizes``).

    Returns
    -------
    ContactSource
        Use as a context manager (closes the file; a text dump's temporary cooler is removed).
    """
    path, _ = parse_cool_uri(source)
    if not path.exists():
        raise InputError(f"{what} file {path} does not exist; check the path")
    if not path.is_file():
        raise InputError(f"{what} path {path} is not a file; give a .hic, .mcool or .cool file")
    kind = contact_format(path)
    tmp = None
    zoom = None
    hic_res = None
    if kind == "cooler":
        uri, zoom = _resolve_cooler(source, resolution, what)
        fmt = "mcool" if uri.split("::", 1)[1] != "/" else "cool"
    elif kind == "hic":
        hic_res = _resolve_hic(source, resolution, what)
        uri, fmt = str(path), "hic"
    else:
        if "::" in source or path.suffix in (".cool", ".mcool", ".hic"):
            raise InputError(
                f"{what} file {path} is neither an HDF5 cooler nor a .hic file (corrupt or truncated); re-create it"
            )
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
        fmt = "text dump"
    src = None
    try:
        if tmp is not None:
            _text_to_cool(path, int(bin_bp), chrom, int(chrom_sizes[chrom]), Path(uri), what)
        try:
            f = _hictk_open(uri, hic_res)
        except RuntimeError as e:
            raise InputError(f"{what} {source} could not be opened ({e}); re-create or re-download it") from e
        res = int(f.resolution())
        if res <= 0:
            f.close()
            raise InputError(f"{what} {source} has variable-size bins; give a fixed-resolution file")
        sizes = {str(k): int(v) for k, v in f.chromosomes().items()}
        src = ContactSource(
            source, uri, res, "", sizes, requested_normalization=normalization, file_format=fmt, zoom_level=zoom,
            _hictk_resolution=hic_res, _tmp=tmp, _handle=f,
        )
        _settle_balancing(src, f, what)  # bad input raises before any warning is given
        if zoom is not None:
            warnings.warn(
                f"{what} {source}: legacy zoom level {zoom} of {path.name} is {res} bp bins "
                "(recorded in the manifest)",
                ClasterWarning,
                stacklevel=2,
            )
        return src
    except BaseException:
        if src is not None:
            src.close()
        elif tmp is not None:
            tmp.cleanup()
        raise


def _settle_balancing(src: ContactSource, f, what: str) -> None:
    name = _choose_normalization(f, src.requested_normalization, src.source, src.resolution_bp, what)
    if name == "none":
        src.normalization, src.balancing = "none", BALANCING_NONE
        return
    if name is not None:
        src.normalization, src.balancing = name, f"{name} from the file"
        return
    warnings.warn(
        f"contacts {src.source} have no normalization at {src.resolution_bp} bp (looked for "
        f"{', '.join(AUTO_NORMALIZATIONS)}); ICE-balancing them in memory with cooler's defaults "
        f"(recorded in the manifest as '{BALANCING_ICE}')",
        ClasterWarning,
        stacklevel=3,
    )
    src.normalization = src.balancing = BALANCING_ICE
    src.bias = _ice_hictk(src, what) if src.file_format == "hic" else _ice(src.uri)


# ---------------------------------------------------------------------------------------------
# reading


def read_band(
    src: ContactSource,
    chrom: str,
    band_bins: int,
    *,
    out: np.ndarray | None = None,
    dtype: type = np.float32,
    chunk_rows: int = 4096,
) -> np.ndarray:
    """Balanced contacts of one chromosome within ``band_bins`` of the diagonal.

    Fetches ``chunk_rows`` rows at a time through hictkpy (rows ``[r0, r1)`` against columns
    ``[r0, r1 + band_bins - 1)``), so memory stays bounded by the band itself. Returns ``band``:
    (n_bins, band_bins) ``dtype`` (float32 by default) with ``band[i, d]`` = balanced contact of bins ``i`` and ``i + d`` of
    ``chrom``; NaN where no pixel is stored, where a bin's weight is NaN (filtered by balancing), or
    beyond the chromosome end. ``out`` may be a preallocated (e.g. memory-mapped) array of that shape.
    """
    if chrom not in src.chrom_sizes:
        raise InputError(f"contacts {src.source} have no chromosome {chrom!r}; check --chrom-aliases")
    f = src.handle()
    r = int(src.resolution_bp)
    length = int(src.chrom_sizes[chrom])
    n = src.n_bins(chrom)
    lo = src.chrom_offset(chrom)
    if out is None:
        out = np.empty((n, band_bins), dtype=dtype)
    elif out.shape != (n, band_bins):
        raise ValueError(f"out has shape {out.shape}, expected {(n, band_bins)}")
    out[...] = np.nan
    w = src.bias[lo : lo + n] if src.bias is not None else None
    norm = src.file_normalization
    for r0 in range(0, n, chunk_rows):
        r1 = min(r0 + chunk_rows, n)
        q1 = f"{chrom}\t{r0 * r}\t{min(length, r1 * r)}"
        q2 = f"{chrom}\t{r0 * r}\t{min(length, (r1 + band_bins - 1) * r)}"
        df = f.fetch(q1, q2, normalization=norm, count_type="float", query_type="BED").to_df()
        i = df["bin1_id"].to_numpy(np.int64) - lo
        j = df["bin2_id"].to_numpy(np.int64) - lo
        d = j - i
        keep = (d >= 0) & (d < band_bins) & (i >= r0) & (i < r1)
        i, j, d = i[keep], j[keep], d[keep]
        v = df["count"].to_numpy(np.float64)[keep]
        if w is not None:
            v = v * w[i] * w[j]
        out[i, d] = v  # balanced in float64, cast once to out's dtype
    return out
