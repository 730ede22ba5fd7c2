"""``claster store info STORE``: the manifest summary and split counts of a store."""

from __future__ import annotations

from pathlib import Path

import typer

from claster.cli._app import app

store_app = typer.Typer(help="Inspect a store written by `claster prepare`.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("info")
def info_cmd(store: Path = typer.Argument(..., help="Store directory.")) -> None:
    """Print the store's sources, resolutions and per-split gene counts (all and usable)."""
    from claster.store import open_store

    s = open_store(store)
    m = s.manifest
    lines = [
        f"store      {s.path}",
        f"format     {m['format']} v{m['format_version']} (claster {m.get('claster_version')}, created {m.get('created')})",
        f"tracks     {m['track_bin_bp']} bp bins, {m['track_dtype']}",
    ]
    for t in m["tracks"]:
        src = "missing (zeros)" if t["missing"] else t["sources"][0]["path"]
        lines.append(f"  {t['name']:<10} {src}")
    tgt = m["target"]
    lines.append(
        f"target     {', '.join(x['path'] for x in tgt['sources'])} (clip {tgt['clip']}, {tgt['raw_bin_bp']} bp, "
        f"sigma {tgt['smooth_sigma_bp']} bp, box {tgt['box_bp']} bp)"
    )
    for kind in ("contacts", "pchic"):
        c = m.get(kind)
        if c:
            fmt = f" ({c['format']})" if c.get("format") else ""
            zoom = f" (zoom level {c['zoom_level']})" if c.get("zoom_level") else ""
            norm = c.get("normalization", c["balancing"])
            asked = c.get("normalization_requested")
            lines.append(
                f"{kind:<10} {c.get('file', c['source'])}{fmt} at {c['resolution_bp']} bp{zoom}, window "
                f"{c['window_bins']} bins, normalization: {norm}"
                + (f" (requested {asked})" if asked and asked != norm else "")
                + f", rotated cache: {c.get('rotated_cache', False)}"
            )
    lines.append(f"chroms     {len(s.chroms)} ({', '.join(s.chroms[:8])}{', ...' if len(s.chroms) > 8 else ''})")
    lines.append(f"splits     test {m['splits']['test']}, val {m['splits']['val']}, train: the rest")
    genes = s.genes
    lines.append("split      genes  usable")
    for split in ("train", "val", "test"):
        sub = genes[genes["split"] == split]
        lines.append(f"  {split:<8} {len(sub):>6}  {int(sub['usable'].sum()):>6}")
    lines.append(f"  {'all':<8} {len(genes):>6}  {int(genes['usable'].sum()):>6}")
    reasons = genes.loc[~genes["usable"], "reason"].value_counts()
    for reason, n in reasons.items():
        lines.append(f"  unusable: {n} x {reason}")
    for note in m.get("notes", []):
        lines.append(f"note       {note}")
    typer.echo("\n".join(lines))
