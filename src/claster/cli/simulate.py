"""``claster simulate OUT``: a synthetic genome with known truth, in real file formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from claster.cli._app import app

_PRESET_HELP = (
    "Genome size of the default world: 'small' (6 chromosomes, 48 Mbp, ~700 genes, < 1 min) or 'full' "
    "(20 chromosomes, 619 Mbp, ~9,000 genes, several minutes)."
)
_WORLD_HELP = (
    "'default': the preset's parameters (the world claster was developed on). 'random': every parameter "
    "drawn with --seed from the wide ranges of docs/simulate.md (5-6 chromosomes, 43-58 Mbp, chr4 test, "
    "chr17 validation)."
)
_SET_HELP = (
    "Set one simulator parameter, KEY=VALUE (VALUE read as YAML: 10, 0.5, [600, 2000], false); "
    "repeatable, applied after --world and --params. Keys: the fields of claster.simulate.SimParams "
    "(docs/simulate.md)."
)


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Argument(help="Output directory (must not exist unless --force).")],
    seed: Annotated[
        int,
        typer.Option("--seed", help="Random seed of the genome (and of the --world random draw); the same "
                     "seed gives the same files.", show_default=True),
    ] = 0,
    preset: Annotated[str, typer.Option("--preset", help=_PRESET_HELP, show_default=True)] = "small",
    world: Annotated[str, typer.Option("--world", help=_WORLD_HELP, show_default=True)] = "default",
    params: Annotated[
        Path | None,
        typer.Option("--params", help="YAML mapping of simulator parameters (KEY: VALUE) applied on top "
                     "of the world's.", show_default=True),
    ] = None,
    overrides: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP, show_default=True)] = None,
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
        out, seed=seed, preset=preset, force=force, progress=progress, params=params,  # type: ignore[arg-type]
        world=world, overrides=overrides,  # type: ignore[arg-type]
    )
    typer.echo(f"wrote simulated genome to {path} (config for prepare: {path / 'prepare.yaml'})")
