"""``claster model summary VARIANT``: the network's blocks, output shapes and parameter count."""

from __future__ import annotations

import typer

from claster.cli._app import app

model_app = typer.Typer(help="Inspect the CLASTER networks (SPEC §3).", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("summary")
def summary(
    variant: str = typer.Argument(
        ..., help="landscape, landscape_attention, microc_rotated, microc_square or promchic"
    ),
    tracks: int = typer.Option(4, "--tracks", help="landscape tracks (rows)", show_default=True),
    context_bins: int = typer.Option(
        10_001, "--context-bins", help="landscape bins of 100 bp", show_default=True
    ),
    output_bins: int = typer.Option(
        401, "--output-bins", help="predicted bins (1 kbp each)", show_default=True
    ),
    landscape_layers: str = typer.Option(
        "4,4",
        "--landscape-layers",
        help="residual blocks per layer group, comma-separated",
        show_default=True,
    ),
    fusion_blocks: int = typer.Option(
        2, "--fusion-blocks", help="residual MLP fusion blocks", show_default=True
    ),
) -> None:
    """Print the module tree briefly, each block's output shape, and `trainable parameters: N`."""
    from claster.config.model import ModelConfig
    from claster.errors import InputError
    from claster.model.net import model_summary

    try:
        layers = tuple(int(v) for v in landscape_layers.split(","))
    except ValueError as e:
        raise InputError(
            f"--landscape-layers must be comma-separated integers such as 4,4; got {landscape_layers!r}"
        ) from e
    config = ModelConfig.for_variant(
        variant,
        n_tracks=tracks,
        context_bins=context_bins,
        output_bins=output_bins,
        landscape_layers=layers,
        fusion_blocks=fusion_blocks,
    )
    typer.echo(model_summary(config))
