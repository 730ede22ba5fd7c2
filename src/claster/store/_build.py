"""Building a store from input files (``claster prepare``), one chromosome at a time.

Each bigWig is read once per chromosome (chunked, never per gene), each result written to a
temporary sibling and moved into place with ``os.replace``. The manifest lists finished
chromosomes in ``complete_chroms``; a rerun with the same configuration and sources skips them.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import ClasterWarning, ConfigError, InputError, StoreError
from claster.io.annotation import read_annotation
from claster.io.bigwig import read_bigwig_chroms, read_binned
from claster.io.chroms import alias_candidates, map_chroms, read_chrom_sizes
from claster.io.writers import atomic_path, write_tsv
from claster.store._index import (
    build_gene_index,
    contact_window_bins,
    contact_window_start,
)
from claster.store._store import log10_floor, read_manifest, square_from_band
from claster.units import (
    CONTACT_LOG_FLOOR,
    LANDSCAPE_BIN_BP,
    STORE_FORMAT,
    STORE_FORMAT_VERSION,
    TARGET_BIN_BP,
    TARGET_RAW_BIN_BP,
    TARGET_SMOOTH_SIGMA_BP,
)

__all__ = ["build_store", "process_target", "sha256_file"]


# ---------------------------------------------------------------------------------------------
# helpers


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _source(path: str | os.PathLike) -> dict:
    p = Path(path)
    return {"path": str(p.resolve()), "sha256": sha256_file(p), "size_bytes": p.stat().st_size}


def _natural_key(name: str) -> tuple:
    bare = name[3:] if name.startswith("chr") else name
    return (0, int(bare), "") if bare.isdigit() else (1, 0, bare)


def _atomic_json(obj: dict, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as fh:  # honours the umask (mkstemp alone gives 0600)
        json.dump(obj, fh, indent=2, default=str)


def _atomic_tsv(df: pd.DataFrame, path: Path) -> None:
    write_tsv(df, path)


def _tmp_npy(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp.npy")


def process_target(
    raw_20bp: np.ndarray, clip: float | None = None, raw_bin_bp: int = TARGET_RAW_BIN_BP
) -> np.ndarray:
    """SPEC §2 target processing of one chromosome, with §10's fixes.

    ``raw_20bp``: (n,) mean signal per 20 bp. Non-finite -> 0, clip to >= 0 (and <= ``clip``),
    Gaussian smoothing with sigma = 1 kbp (50 bins, ``mode='constant'``: zeros beyond the
    chromosome ends, no wrap-around), then a centred 1 kbp (50-bin) running mean, also
    ``mode='constant'``. Returns (n,) float32; the 1 kbp target bin k of a gene is
    ``out[(tss_bp + 1000 * k) // 20]``, the mean over [TSS + k kbp - 500, TSS + k kbp + 500).
    """
    from scipy.ndimage import gaussian_filter1d, uniform_filter1d

    x = np.nan_to_num(np.asarray(raw_20bp, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    x = np.clip(x, 0.0, clip if clip is not None else None)
    sigma = TARGET_SMOOTH_SIGMA_BP / raw_bin_bp
    box = TARGET_BIN_BP // raw_bin_bp
    out = np.zeros(x.shape, dtype=np.float32)
    nz = np.flatnonzero(x)
    if nz.size == 0:
        return out
    # Filter only around the data: beyond `reach` bins of any non-zero value both filters give
    # exactly 0, so segments separated by more than 2 * reach zeros are processed independently.
    reach = int(4.0 * sigma + 0.5) + box // 2 + 2
    breaks = np.flatnonzero(np.diff(nz) > 2 * reach)
    seg_first = np.concatenate([[nz[0]], nz[breaks + 1]])
    seg_last = np.concatenate([nz[breaks], [nz[-1]]])
    for a, b in zip(seg_first, seg_last, strict=True):
        lo, hi = max(0, int(a) - reach), min(x.size, int(b) + reach + 1)
        seg = gaussian_filter1d(x[lo:hi], sigma=sigma, mode="constant", cval=0.0, truncate=4.0)
        out[lo:hi] = uniform_filter1d(seg, size=box, mode="constant", cval=0.0)
    return out


# ---------------------------------------------------------------------------------------------
# planning: validate every input before writing anything


@dataclass
class _Plan:
    track_names: list[str]
    track_paths: list[str | None]
    track_chrom: list[dict[str, str]]  # per track: store chrom -> name in file ({} when missing)
    target_paths: list[str]
    target_chrom: list[dict[str, str]]
    chrom_sizes: dict[str, int]
    chroms: list[str]
    genes: pd.DataFrame  # store chromosome naming
    sizes_from: str
    length_notes: list[str] = field(default_factory=list)
    identity: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    test_chroms: list[str] = field(default_factory=list)
    val_chroms: list[str] = field(default_factory=list)


def _map_split(names: list[str], store_chroms: list[str], mode) -> list[str]:
    """Split chromosome names in store naming (a name the store lacks is kept as given)."""
    avail = set(store_chroms)
    out = []
    for n in names:
        if isinstance(mode, dict):
            cands = [mode.get(n, n), n]
        elif mode == "auto":
            cands = alias_candidates(n)
        else:
            cands = [n]
        out.append(next((c for c in cands if c in avail), n))
    return out


def _safe_map(names, available, mode, names_desc, available_desc) -> dict[str, str | None]:
    return map_chroms(names, available, mode, names_desc=names_desc, available_desc=available_desc)


def _plan(config) -> _Plan:
    mode = config.chrom_aliases
    track_names = list(config.tracks)
    track_paths = [config.tracks[n] for n in track_names]
    if any(t in ("", "none", "None") for t in track_paths if isinstance(t, str)):
        track_paths = [None if t in ("", "none", "None") else t for t in track_paths]
    present = [(n, p) for n, p in zip(track_names, track_paths, strict=True) if p is not None]
    if not present:
        raise ConfigError("every input track is declared missing; give at least one bigWig")
    overlap = set(config.test_chroms) & set(config.val_chroms)
    if overlap:
        raise ConfigError(
            f"chromosomes {sorted(overlap)} are in both test_chroms and val_chroms; give each to one split"
        )

    # headers (also validates existence / corruption of every bigWig)
    headers: dict[str, dict[str, int]] = {}
    for n, p in present:
        headers[p] = read_bigwig_chroms(p, what=f"--track {n}")
    for p in config.target:
        headers[p] = read_bigwig_chroms(p, what="--target")

    first_name, first_path = present[0]
    canonical = headers[first_path]
    if config.chrom_sizes:
        file_sizes = read_chrom_sizes(config.chrom_sizes)
        m = _safe_map(list(canonical), list(file_sizes), mode, f"--track {first_name}", f"--chrom-sizes {config.chrom_sizes}")
        sizes_all = {c: int(file_sizes[v]) for c, v in m.items() if v is not None}
        sizes_from = f"--chrom-sizes {config.chrom_sizes}"
    else:
        sizes_all = dict(canonical)
        sizes_from = f"the header of --track {first_name} ({first_path})"

    genes = read_annotation(config.annotation, config.gene_types, config.exclude_chroms)
    ann_chroms = list(dict.fromkeys(genes["chrom"]))
    amap = _safe_map(ann_chroms, list(canonical), mode, f"annotation {config.annotation}", f"--track {first_name} ({first_path})")
    lacking = [c for c, v in amap.items() if v is None]
    if config.chroms is not None:
        wanted = _safe_map(list(config.chroms), list(canonical), mode, "--chroms", f"--track {first_name}")
        bad = [c for c, v in wanted.items() if v is None]
        if bad:
            raise InputError(f"--chroms {', '.join(bad)} not in --track {first_name} ({first_path}); check the names")
        keep = set(wanted.values())
        lacking = [c for c in lacking if c in set(config.chroms)]
    else:
        keep = None
    if lacking:
        n_genes = int(genes["chrom"].isin(lacking).sum())
        raise InputError(
            f"bigWig {first_path} (--track {first_name}) lacks chromosome(s) {', '.join(lacking[:5])} that the "
            f"annotation has ({n_genes} genes); give a bigWig covering them or restrict the store with --chroms"
        )
    genes = genes.assign(chrom=genes["chrom"].map(amap))
    genes = genes[genes["chrom"].notna()]
    if keep is not None:
        genes = genes[genes["chrom"].isin(keep)]
    if genes.empty:
        raise InputError(f"no gene of annotation {config.annotation} lies on the chromosomes chosen with --chroms")
    chroms = sorted(set(genes["chrom"]), key=_natural_key)
    missing_size = [c for c in chroms if c not in sizes_all]
    if missing_size:
        raise InputError(f"{sizes_from} has no length for {', '.join(missing_size[:5])}; add it")
    chrom_sizes = {c: int(sizes_all[c]) for c in chroms}

    notes: list[str] = []

    def chrom_map(path: str, what: str) -> dict[str, str]:
        m = _safe_map(chroms, list(headers[path]), mode, "the store (annotation)", f"{what} ({path})")
        lack = [c for c, v in m.items() if v is None]
        if lack:
            n_genes = int(genes["chrom"].isin(lack).sum())
            raise InputError(
                f"bigWig {path} ({what}) lacks chromosome(s) {', '.join(lack[:5])} that the annotation has "
                f"({n_genes} genes); give a bigWig covering them or restrict the store with --chroms"
            )
        diff = [c for c in chroms if headers[path][m[c]] != chrom_sizes[c]]
        if diff:
            c = diff[0]
            note = (
                f"{what} ({Path(path).name}) declares {m[c]} as {headers[path][m[c]]:,} bp but the store uses "
                f"{chrom_sizes[c]:,} bp from {sizes_from}"
                + (f" (and {len(diff) - 1} more chromosomes)" if len(diff) > 1 else "")
                + "; bases beyond a file's own length count as no data (check that all files share one assembly)"
            )
            notes.append(note)
        return {c: str(m[c]) for c in chroms}

    track_chrom = [chrom_map(p, f"--track {n}") if p is not None else {} for n, p in zip(track_names, track_paths, strict=True)]
    target_chrom = [chrom_map(p, "--target") for p in config.target]

    store_chroms = list(canonical)
    test_chroms = _map_split(list(config.test_chroms), store_chroms, mode)
    val_chroms = _map_split(list(config.val_chroms), store_chroms, mode)
    for key, names, mapped in (("test_chroms", config.test_chroms, test_chroms),
                               ("val_chroms", config.val_chroms, val_chroms)):
        # A split named by the user must exist, or its genes would silently land in training. The
        # defaults (chr4, chr17) may be absent: a store of other chromosomes then has no such split,
        # which the manifest's splits and counts show.
        absent = [n for n, m in zip(names, mapped, strict=True) if m not in chroms]
        if absent and key in config.model_fields_set:
            flag = "--" + key.replace("_", "-")
            raise InputError(
                f"{flag} {', '.join(absent)}: not a chromosome with genes in both the annotation and the "
                f"tracks{' (and --chroms)' if config.chroms is not None else ''}; available: {', '.join(chroms)}"
            )
    plan = _Plan(
        track_names=track_names,
        track_paths=track_paths,
        track_chrom=track_chrom,
        target_paths=list(config.target),
        target_chrom=target_chrom,
        chrom_sizes=chrom_sizes,
        chroms=chroms,
        genes=genes.reset_index(drop=True),
        sizes_from=sizes_from,
        length_notes=notes,
        test_chroms=test_chroms,
        val_chroms=val_chroms,
    )
    return plan


def _contact_sources(config) -> dict[str, dict]:
    """Checksummed files of the contact inputs (for the store identity)."""
    from claster.io.contacts import parse_cool_uri

    out = {}
    for kind in ("contacts", "pchic"):
        uri = getattr(config, kind)
        if uri is not None:
            path, _ = parse_cool_uri(uri)
            if not path.exists():
                raise InputError(f"--{kind} file {path} does not exist; check the path")
            out[kind] = _source(path)
    return out


# ---------------------------------------------------------------------------------------------
# out directory: fresh, resume, or refuse


def _prepare_out(out: Path, identity: dict, force: bool) -> dict | None:
    """Return the existing manifest to resume from, or None for a fresh build (dir made empty)."""
    if out.exists() and not out.is_dir():
        raise StoreError(f"--out {out} is a file, not a directory; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():
            raise StoreError(
                f"--out {out} is a non-empty directory that is not a claster store; choose another --out"
            )
        try:
            old = read_manifest(out)
        except StoreError:
            old = None
        if old is not None and old.get("identity") == identity:
            return old
        if not force:
            raise StoreError(
                f"--out {out} already holds a different store (other options or input files); choose another "
                "--out or pass --force to replace it"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return None


# ---------------------------------------------------------------------------------------------
# per chromosome


def _write_tracks(plan: _Plan, chrom: str, path: Path, dtype: str, missing_as_zero: bool) -> dict[str, int]:
    length = plan.chrom_sizes[chrom]
    n_bins = -(-length // LANDSCAPE_BIN_BP)
    tmp = _tmp_npy(path)
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(plan.track_names), n_bins))
    fills: dict[str, int] = {}
    for t, (name, p) in enumerate(zip(plan.track_names, plan.track_paths, strict=True)):
        if p is None:
            arr[t] = 0
            fills[name] = n_bins
            continue
        bt = read_binned(
            p, plan.track_chrom[t][chrom], LANDSCAPE_BIN_BP, length_bp=length,
            missing_as_zero=missing_as_zero, what=f"--track {name}",
        )
        arr[t] = np.maximum(bt.values, 0.0)  # negatives clipped to 0 (SPEC §2)
        fills[name] = bt.n_empty
    arr.flush()
    del arr
    os.replace(tmp, path)
    return fills


def _write_target(plan: _Plan, chrom: str, path: Path, clip: float | None, missing_as_zero: bool) -> int:
    length = plan.chrom_sizes[chrom]
    bt = read_binned(
        plan.target_paths, [m[chrom] for m in plan.target_chrom], TARGET_RAW_BIN_BP, length_bp=length,
        missing_as_zero=missing_as_zero, what="--target",
    )
    out = process_target(bt.values, clip)
    tmp = _tmp_npy(path)
    np.save(tmp, out)
    os.replace(tmp, path)
    return bt.n_empty


def _write_band(src, chrom_in_file: str, path: Path, band_bins: int) -> int:
    from claster.io.contacts import read_band

    n = src.n_bins(chrom_in_file)
    tmp = _tmp_npy(path)
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, band_bins))
    read_band(src, chrom_in_file, band_bins, out=arr)
    arr.flush()
    del arr
    os.replace(tmp, path)
    return n


# ---------------------------------------------------------------------------------------------
# main entry


def build_store(config, out: str | os.PathLike, *, force: bool = False, progress: bool = True) -> Path:
    """Prepare input files into a genome-wide store (SPEC §2; format in the store contract).

    Parameters
    ----------
    config : claster.config.prepare.PrepareConfig
    out
        Store directory. An existing store built from the same configuration and sources is
        resumed (finished chromosomes are skipped); a different one raises :class:`StoreError`
        unless ``force`` (then it is replaced).
    progress
        Show tqdm progress bars over chromosomes (and over rotated windows).

    Returns
    -------
    Path
        ``out``.
    """
    from tqdm.auto import tqdm

    from claster import __version__

    out = Path(out)
    plan = _plan(config)
    sources = {
        "tracks": {n: (_source(p) if p is not None else None) for n, p in zip(plan.track_names, plan.track_paths, strict=True)},
        "target": [_source(p) for p in plan.target_paths],
        "annotation": _source(config.annotation),
        **({"chrom_sizes": _source(config.chrom_sizes)} if config.chrom_sizes else {}),
        **_contact_sources(config),
    }
    # a store's identity: the configuration and the checksums of its inputs
    identity = {"config": config.model_dump(mode="json"), "sha256": _checksums(sources)}
    with ExitStack() as stack:
        # contacts are opened (resolution, normalisation checked) before --out is touched, so that a bad
        # contact option leaves no half-made directory behind
        contact_srcs = {}
        contact_meta: dict[str, dict | None] = {"contacts": None, "pchic": None}
        for kind in ("contacts", "pchic"):
            uri = getattr(config, kind)
            if uri is None:
                continue
            contact_srcs[kind] = src = stack.enter_context(_open_contact(config, kind, plan))
            w = contact_window_bins(src.resolution_bp)
            cmap = map_chroms(plan.chroms, list(src.chrom_sizes), config.chrom_aliases,
                              names_desc="the store (annotation)", available_desc=f"--{kind} {uri}")
            contact_meta[kind] = {
                **src.describe(),  # source, file, format, resolution_bp, zoom_level, normalization, balancing
                "window_bins": w,
                "band_bins": w,
                "log_floor": CONTACT_LOG_FLOOR,
                "rotated_cache": False,
                "chroms": [c for c in plan.chroms if cmap[c] is not None],
                "chrom_names_in_file": {c: v for c, v in cmap.items() if v is not None},
                "n_bins": {},
            }

        old = _prepare_out(out, identity, force)
        for note in plan.length_notes:
            warnings.warn(note, ClasterWarning, stacklevel=2)
        for sub in ("tracks", "target", *contact_srcs):
            (out / sub).mkdir(exist_ok=True)

        manifest = old or {
            "format": STORE_FORMAT,
            "format_version": STORE_FORMAT_VERSION,
            "claster_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "identity": identity,
            "track_names": plan.track_names,
            "tracks": [
                {"name": n, "sources": [sources["tracks"][n]] if sources["tracks"][n] else [], "missing": p is None}
                for n, p in zip(plan.track_names, plan.track_paths, strict=True)
            ],
            "track_bin_bp": LANDSCAPE_BIN_BP,
            "track_dtype": config.dtype,
            "track_units": "mean signal per 100 bp bin (bigWig units), negatives clipped to 0",
            "missing_as_zero": config.missing_as_zero,
            "target": {
                "name": "target",
                "sources": sources["target"],
                "clip": config.target_clip,
                "raw_bin_bp": TARGET_RAW_BIN_BP,
                "smooth_sigma_bp": TARGET_SMOOTH_SIGMA_BP,
                "box_bp": TARGET_BIN_BP,
                "units": "mean signal (bigWig units), Gaussian sigma 1 kbp then centred 1 kbp mean, per 20 bp",
            },
            "contacts": contact_meta["contacts"],
            "pchic": contact_meta["pchic"],
            "chrom_sizes": plan.chrom_sizes,
            "chrom_sizes_from": plan.sizes_from,
            "notes": plan.length_notes,
            "chroms": plan.chroms,
            "splits": {"test": plan.test_chroms, "val": plan.val_chroms},
            "complete_chroms": [],
            "complete": False,
            "fills": {"tracks_empty_bins": {n: {} for n in plan.track_names}, "target_empty_bins": {}},
            "annotation": sources["annotation"],
            "config": config.model_dump(mode="json"),
        }
        # contact metadata may be re-derived on resume (same sources -> same values)
        for kind, meta in contact_meta.items():
            if meta is not None and manifest.get(kind):
                meta["n_bins"] = manifest[kind].get("n_bins", {})
                meta["rotated_cache"] = manifest[kind].get("rotated_cache", False)
            manifest[kind] = meta
            for note in _contact_notes(kind, meta):
                if note not in manifest["notes"]:
                    manifest["notes"].append(note)
        _atomic_json(manifest, out / "manifest.json")

        done = set(manifest["complete_chroms"])
        todo = [c for c in plan.chroms if c not in done]
        for chrom in tqdm(todo, desc="chromosomes", unit="chrom", disable=not progress):
            fills = _write_tracks(plan, chrom, out / "tracks" / f"{chrom}.npy", config.dtype, config.missing_as_zero)
            n_target_empty = _write_target(
                plan, chrom, out / "target" / f"{chrom}.npy", config.target_clip, config.missing_as_zero
            )
            for kind, src in contact_srcs.items():
                meta = manifest[kind]
                if chrom in meta["chrom_names_in_file"]:
                    meta["n_bins"][chrom] = _write_band(
                        src, meta["chrom_names_in_file"][chrom], out / kind / f"{chrom}.npy", meta["band_bins"]
                    )
            for name, n in fills.items():
                manifest["fills"]["tracks_empty_bins"][name][chrom] = n
            manifest["fills"]["target_empty_bins"][chrom] = n_target_empty
            manifest["complete_chroms"].append(chrom)
            _atomic_json(manifest, out / "manifest.json")

        contact_rows = {k: manifest[k]["n_bins"] for k in ("contacts", "pchic") if manifest.get(k)}
        contact_bin = {k: manifest[k]["resolution_bp"] for k in contact_rows}
        index = build_gene_index(
            plan.genes, plan.chrom_sizes, test_chroms=plan.test_chroms, val_chroms=plan.val_chroms,
            contact_rows=contact_rows, contact_bin_bp=contact_bin,
        )
        _atomic_tsv(index, out / "genes.tsv")

        if manifest.get("contacts") and config.cache_rotated and not manifest["contacts"]["rotated_cache"]:
            _write_rotated_cache(out, manifest, index, progress)
            manifest["contacts"]["rotated_cache"] = True
        manifest["complete"] = True
        manifest["counts"] = _split_counts(index)
        _atomic_json(manifest, out / "manifest.json")
    return out


def _checksums(sources: dict) -> dict:
    def strip(v):
        if v is None:
            return None
        if isinstance(v, list):
            return [strip(x) for x in v]
        if isinstance(v, dict) and "sha256" in v:
            return v["sha256"]
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()}
        return v

    return strip(sources)


def _split_counts(index: pd.DataFrame) -> dict:
    out = {}
    for split in ("train", "val", "test"):
        sub = index[index["split"] == split]
        out[split] = {"genes": int(len(sub)), "usable": int(sub["usable"].sum())}
    return out


def _contact_notes(kind: str, meta: dict | None) -> list[str]:
    """Manifest notes on how a contact map was read: a legacy zoom level, ICE computed here."""
    if meta is None:
        return []
    from claster.io.contacts import BALANCING_ICE

    notes = []
    if meta.get("zoom_level"):
        notes.append(f"--{kind} {meta['source']}: legacy zoom level {meta['zoom_level']} = {meta['resolution_bp']} bp bins")
    if meta.get("normalization") == BALANCING_ICE:
        notes.append(
            f"--{kind} {meta['source']} has no normalization at {meta['resolution_bp']} bp; raw counts were "
            "ICE-balanced by claster (cooler's defaults)"
        )
    return notes


def _open_contact(config, kind: str, plan: _Plan):
    from claster.io.contacts import open_contacts

    uri = getattr(config, kind)
    sizes = None
    if config.chrom_sizes:
        sizes = read_chrom_sizes(config.chrom_sizes)
    else:
        sizes = dict(plan.chrom_sizes)
    chrom = config.contacts_chrom if kind == "contacts" else None
    if chrom is not None and sizes is not None and chrom not in sizes:
        m = map_chroms([chrom], list(sizes), config.chrom_aliases, names_desc="--contacts-chrom", available_desc="the chrom sizes")
        chrom = m[chrom] or chrom
    if kind == "contacts":
        return open_contacts(
            uri, resolution=config.contacts_resolution, normalization=config.contacts_normalization,
            bin_bp=config.contacts_bin_bp, chrom=chrom, chrom_sizes=sizes, what="--contacts",
        )
    return open_contacts(uri, chrom_sizes=sizes, what=f"--{kind}")


def _write_rotated_cache(out: Path, manifest: dict, index: pd.DataFrame, progress: bool) -> None:
    """contacts/rotated.npy (n_loci, rows, n) float32 + rotated_index.tsv (gene_id, row)."""
    from tqdm.auto import tqdm

    from claster.rotate import crop_rows, rotate_squares  # the rotation kernel, below store and data

    meta = manifest["contacts"]
    r, n = int(meta["resolution_bp"]), int(meta["window_bins"])
    start_row, stop_row = crop_rows(n)
    usable = index[index["usable"]]
    loci = list(dict.fromkeys(zip(usable["chrom"], usable["tss_bp"].astype(int), strict=True)))
    rank = {c: i for i, c in enumerate(dict.fromkeys(usable["chrom"]))}
    loci.sort(key=lambda locus: rank[locus[0]])  # one chromosome's band open at a time
    row_of = {locus: i for i, locus in enumerate(loci)}
    path = out / "contacts" / "rotated.npy"
    tmp = _tmp_npy(path)
    shape = (len(loci), stop_row - start_row, n)
    if not loci:  # nothing usable: an empty cache (a zero-length memmap cannot be created)
        np.save(tmp, np.zeros(shape, dtype=np.float32))
        os.replace(tmp, path)
        _atomic_tsv(pd.DataFrame({"gene_id": [], "row": []}), out / "contacts" / "rotated_index.tsv")
        return
    # Written with plain file writes, batch by batch: a writable memmap of the whole cache would keep
    # every written page mapped into this process, so its resident memory would grow with the genome
    # (gigabytes for a mouse genome) instead of staying bounded by one batch and one chromosome's band.
    batch_size = 64
    bands: dict[str, np.ndarray] = {}
    with open(tmp, "wb") as fh, tqdm(total=len(loci), desc="rotated windows", unit="win", disable=not progress) as bar:
        np.lib.format.write_array_header_2_0(
            fh, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False, "shape": shape}
        )
        for b0 in range(0, len(loci), batch_size):
            squares = np.empty((min(batch_size, len(loci) - b0), n, n), dtype=np.float32)
            for k, (chrom, tss) in enumerate(loci[b0 : b0 + batch_size]):
                band = bands.get(chrom)
                if band is None:
                    bands.clear()
                    band = bands[chrom] = np.load(out / "contacts" / f"{chrom}.npy", mmap_mode="r")
                sq = square_from_band(band, contact_window_start(tss, r, n), n)
                squares[k] = log10_floor(sq)
            fh.write(np.ascontiguousarray(rotate_squares(squares), dtype="<f4").tobytes())
            bar.update(len(squares))
    os.replace(tmp, path)
    rows = [row_of[(c, int(t))] for c, t in zip(usable["chrom"], usable["tss_bp"], strict=True)]
    _atomic_tsv(pd.DataFrame({"gene_id": usable["gene_id"].to_numpy(), "row": rows}), out / "contacts" / "rotated_index.tsv")

