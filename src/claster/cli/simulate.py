"""``claster simulate OUT``: a synthetic genome with known truth, in real file formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from claster.cli._app import app

_PRESET_HELP = (
    "Genome size: 'small' (6 chromosomes, 48 Mbp, ~700 genes, < 1 min) or 'full' "
    "(20 chromosomes, 619 Mbp, ~9,000 genes, several minutes)."
)


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Argument(help="Output directory (must not exist unless --force).")],
    seed: Annotated[
        int,
        typer.Option("--seed", help="Random seed; the same seed gives the same files.", show_default=True),
    ] = 0,
    preset: Annotated[str, typer.Option("--preset", help=_PRESET_HELP, show_default=True)] = "small",
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing OUT.", show_default=True)
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.", show_default=True)
    ] = True,
) -> None:
    """Simulate bigWigs (4 marks + EU-seq, 20 bp), a GTF, enhancers, a balanced .mcool and truth tables."""
    from claster.simulate import simulate_genome

    path = simulate_genome(
        out, seed=seed, preset=preset, force=force, progress=progress  # type: ignore[arg-type]
    )
    typer.echo(f"wrote simulated genome to {path} (config for prepare: {path / 'prepare.yaml'})")
