"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="claster",
    help=(
        "Model nascent transcription from the chromatin landscape and its 3D structure (CLASTER).\n\n"
        "Add --debug anywhere to see the full traceback of an error."
    ),
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[default: 120]" must not be read as markup
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
