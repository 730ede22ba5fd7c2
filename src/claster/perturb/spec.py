"""Perturbation specs: YAML specs and region tables (TSV/BED) read into a :class:`PerturbSpec`, and the
check that every track a spec names is in the store (SPEC §6).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from claster.config._base import load_config
from claster.config.perturb import (
    OP_NAMES,
    PRESETS,
    ActiveFilter,
    BedRegion,
    Perturbation,
    PerturbSpec,
)
from claster.errors import InputError
from claster.perturb.regions import _track_index

__all__ = ["check_tracks", "load_perturb_spec", "spec_from_table"]

_TABLE_OPS = ("silence", "scale", "flip")


def check_tracks(spec: PerturbSpec | Perturbation | Sequence[Any], track_names: Sequence[str]) -> None:
    """Raise :class:`InputError` when an operation names a track that is not in ``track_names``.

    Also checks the active filter's track. The message lists the valid track names.
    """
    perts = (
        spec.perturbations
        if isinstance(spec, PerturbSpec)
        else [spec]
        if isinstance(spec, Perturbation)
        else [Perturbation(name="operations", operations=list(spec))]
    )
    for p in perts:
        for i, op_name, t in p.tracks_used(track_names):
            _track_index(track_names, [t], f"perturbation {p.name!r}, operation {i + 1} ({op_name})")
    if isinstance(spec, PerturbSpec) and spec.active_filter is not None:
        _track_index(track_names, [spec.active_filter.track], "the active filter")


# ---------------------------------------------------------------------------------------------- specs


def _read_table(path: Path) -> pd.DataFrame:
    """Read a BED or TSV region table; a first line starting with '#' or with a non-integer second
    field is a header; ``track``/``browser`` lines and blank lines are skipped."""
    import csv
    import gzip
    import io

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:  # type: ignore[operator]
            lines = [ln for ln in fh if ln.strip() and not ln.startswith(("track", "browser"))]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path} as text ({e}); give a BED/TSV file, optionally gzipped") from e
    if not lines:
        raise InputError(
            f"{path} holds no regions; give one region per line (chrom, start, end[, name, ...])"
        )
    fields = lines[0].lstrip("#").rstrip("\n").split("\t")
    header = lines[0].startswith("#") or not (len(fields) > 1 and fields[1].strip().lstrip("-").isdigit())
    if header:
        lines = [lines[0].lstrip("#")] + [ln for ln in lines[1:] if not ln.startswith("#")]
    else:
        lines = [ln for ln in lines if not ln.startswith("#")]
    kw: dict[str, Any] = {"sep": "\t", "dtype": str, "keep_default_na": False, "quoting": csv.QUOTE_NONE}
    try:
        if header:
            df = pd.read_csv(io.StringIO("".join(lines)), **kw)
            df.columns = [str(c).strip() for c in df.columns]
        else:
            width = max(len(ln.split("\t")) for ln in lines)
            df = pd.read_csv(io.StringIO("".join(lines)), header=None, names=list(range(width)), **kw)
            names = ["chrom", "start", "end", "name"][: df.shape[1]]
            df = df.iloc[:, : len(names)]
            df.columns = names
    except pd.errors.ParserError as e:
        raise InputError(f"{path} is not a tab-separated region table ({e}); use one region per line") from e
    return df


def spec_from_table(
    table: pd.DataFrame,
    *,
    preset: str | None = None,
    op: str | None = None,
    active_filter: ActiveFilter | None = ActiveFilter(),  # noqa: B008 - frozen pydantic model
    source: str = "the table",
) -> PerturbSpec:
    """One perturbation per row of a region table (BED-like columns chrom, start, end[, name]).

    Optional columns: ``op`` (silence, scale, flip), ``preset`` (P1, P2), ``tracks`` (comma-separated),
    ``value`` (silence), ``factor`` (scale). A row without ``op`` uses ``op``, or ``silence`` when a
    preset is given. Each row's interval is also its ``element`` (tested by the active filter). Names
    come from the ``name`` column or ``chrom:start-end``; repeated names get ``_2``, ``_3``, ...
    """
    df = table.rename(columns={"start_bp": "start", "end_bp": "end", "chr": "chrom"})
    missing = [c for c in ("chrom", "start", "end") if c not in df.columns]
    if missing:
        raise InputError(
            f"{source} lacks column(s) {', '.join(missing)}; give BED columns chrom, start, end "
            f"(columns found: {', '.join(map(str, df.columns))})"
        )
    if preset is not None and preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    seen: dict[str, int] = {}
    perts = []
    for k, row in enumerate(df.to_dict("records")):
        where = f"row {k + 1} of {source}"
        row_op = str(row.get("op") or "").strip() or op
        row_preset = str(row.get("preset") or "").strip() or preset
        if row_op is None:
            if row_preset is None:
                raise InputError(
                    f"{where} has no op; add an 'op' column or give a preset (P1, P2) for all rows"
                )
            row_op = "silence"
        if row_op not in _TABLE_OPS:
            extra = [o for o in OP_NAMES if o not in _TABLE_OPS]
            raise InputError(
                f"{where}: unknown op {row_op!r}; valid ops in a table: {', '.join(_TABLE_OPS)} "
                f"({', '.join(extra)} need a YAML spec)"
            )
        try:
            start, end = int(str(row["start"]).replace(",", "")), int(str(row["end"]).replace(",", ""))
            region = BedRegion(chrom=str(row["chrom"]), start_bp=start, end_bp=end)
            d: dict[str, Any] = {"op": row_op, "region": region}
            tracks = [t.strip() for t in str(row.get("tracks") or "").split(",") if t.strip()]
            if row_op == "silence":
                if row_preset is not None and not tracks:
                    d["preset"] = row_preset
                if tracks:
                    d["tracks"] = tracks
                if str(row.get("value") or "").strip():
                    d["value"] = float(row["value"])
            elif row_op == "scale":
                d["factor"] = float(row["factor"]) if str(row.get("factor") or "").strip() else None
                if tracks:
                    d["tracks"] = tracks
            elif tracks:
                d["tracks"] = tracks
            name = str(row.get("name") or "").strip() or f"{region.chrom}:{start}-{end}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name}_{seen[name]}"
            perts.append(Perturbation(name=name, operations=[d], element=region))
        except (ValidationError, ValueError) as e:
            msg = (
                "; ".join(f"{'.'.join(map(str, er['loc']))}: {er['msg']}" for er in e.errors())
                if isinstance(e, ValidationError)
                else str(e)
            )
            raise InputError(f"{where} is invalid: {msg}") from e
    if not perts:
        raise InputError(f"{source} holds no regions; give one region per row")
    return PerturbSpec(perturbations=perts, active_filter=active_filter)


def load_perturb_spec(
    path: str | os.PathLike,
    *,
    preset: str | None = None,
    op: str | None = None,
    track_names: Sequence[str] | None = None,
    active_filter: ActiveFilter | None | str = "default",
) -> PerturbSpec:
    """Load a perturbation spec from YAML (``.yaml``/``.yml``) or a region table (TSV/BED, ``.gz`` ok).

    For tables, ``preset``/``op`` apply to rows without their own ``op`` column (see
    :func:`spec_from_table`). ``active_filter`` overrides the spec's filter (``None`` disables it; the
    default keeps the YAML's, or SPEC §6's H3K27ac > 10 for tables). When ``track_names`` is given,
    every track named is checked against it (:class:`InputError` listing the valid names).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"perturbation spec {path} does not exist; check the path")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".yaml", ".yml"):
        spec = load_config(PerturbSpec, path)
        if preset is not None or op is not None:
            raise InputError(f"{path} is a YAML spec; preset/op apply to TSV/BED region tables only")
    else:
        spec = spec_from_table(_read_table(path), preset=preset, op=op, source=str(path))
    if active_filter != "default":
        spec = spec.model_copy(update={"active_filter": active_filter})
    if track_names is not None:
        check_tracks(spec, track_names)
    return spec
