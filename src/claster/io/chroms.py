"""Chromosome naming: reconcile 'chr1' vs '1' (and 'chrM' vs 'MT') between files.

Modes (``PrepareConfig.chrom_aliases``):

- ``"auto"`` (default): a name missing from the other file is matched after adding or stripping a
  ``chr`` prefix (``chrM`` <-> ``MT`` too);
- ``"none"``: names must be identical;
- a mapping ``{name: other_name}``: explicit renames, other names are kept as they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from claster.errors import InputError

__all__ = ["alias_candidates", "map_chroms", "read_chrom_sizes"]

AliasMode = str | Mapping[str, str]


def alias_candidates(name: str) -> list[str]:
    """Names that ``auto`` mode treats as the same chromosome as ``name`` (``name`` itself first)."""
    out = [name]
    if name.startswith("chr"):
        bare = name[3:]
        out.append(bare)
        if bare == "M":
            out.append("MT")
    else:
        out.append("chr" + name)
        if name == "MT":
            out.append("chrM")
    return out


def _style(names: Iterable[str]) -> str:
    names = list(names)
    n_chr = sum(n.startswith("chr") for n in names)
    ex = ", ".join(repr(n) for n in names[:3])
    return f"{'chr-prefixed' if n_chr * 2 >= len(names) else 'bare'} names ({ex}{', ...' if len(names) > 3 else ''})"


def map_chroms(
    names: Iterable[str],
    available: Iterable[str],
    mode: AliasMode = "auto",
    *,
    names_desc: str = "the annotation",
    available_desc: str = "the track",
) -> dict[str, str | None]:
    """Map each of ``names`` to its name in ``available`` (``None`` when it has none).

    Raises :class:`InputError` when no name matches at all but the naming styles differ (``chr1``
    vs ``1``), naming both styles and the ``--chrom-aliases`` option that fixes it.
    """
    names = list(dict.fromkeys(names))
    avail = list(available)
    avail_set = set(avail)
    if isinstance(mode, Mapping):
        result = {n: (mode.get(n, n) if mode.get(n, n) in avail_set else None) for n in names}
    elif mode == "none":
        result = {n: (n if n in avail_set else None) for n in names}
    elif mode == "auto":
        result = {}
        for n in names:
            result[n] = next((c for c in alias_candidates(n) if c in avail_set), None)
    else:
        raise InputError(f"chrom_aliases must be 'auto', 'none' or a mapping, got {mode!r}")
    if names and avail and all(v is None for v in result.values()):
        auto_would = any(c in avail_set for n in names for c in alias_candidates(n)[1:])
        if auto_would:
            raise InputError(
                f"chromosome names differ: {names_desc} uses {_style(names)} but {available_desc} uses "
                f"{_style(avail)}; use --chrom-aliases auto (chrom_aliases: auto in the YAML) or a mapping "
                "to reconcile them"
            )
        raise InputError(
            f"no chromosome of {names_desc} ({_style(names)}) is in {available_desc} ({_style(avail)}); "
            "check that both files are for the same assembly, or map names with chrom_aliases in the YAML"
        )
    return result


def read_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Read a two-column chrom sizes file (name, length in bp; tab or space separated; '#' comments)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"chrom sizes file {path} does not exist; check the path given to --chrom-sizes")
    sizes: dict[str, int] = {}
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            sizes[parts[0]] = int(parts[1])
        except (IndexError, ValueError) as e:
            raise InputError(
                f"{path} line {i} is not 'name<TAB>length_bp' ({line[:60]!r}); fix the chrom sizes file"
            ) from e
    if not sizes:
        raise InputError(f"chrom sizes file {path} is empty; give one 'name<TAB>length_bp' line per chromosome")
    return sizes
