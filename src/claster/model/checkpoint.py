"""Self-describing model checkpoints: ``model.pt`` (CPU tensors) and ``config.json``.

``model.pt`` holds a plain dict readable with ``torch.load(..., weights_only=True)``::

    {"format": "claster-model", "format_version": 1, "class": "ClasterNet",
     "claster_version": str, "torch_version": str,
     "config": ModelConfig as a JSON-able dict, "state_dict": {name: CPU tensor},
     "extra": caller's JSON-able dict (normalisation statistics, track order, metrics, ...)}

``config.json`` repeats the config (for people and tools that do not read torch files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from claster.config.model import ModelConfig
from claster.errors import CheckpointError

__all__ = [
    "MODEL_FILE",
    "CONFIG_FILE",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "save_model",
    "load_model",
]

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
CHECKPOINT_FORMAT = "claster-model"
CHECKPOINT_FORMAT_VERSION = 1


def _version() -> str:
    try:
        return metadata.version("claster")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _atomic_write(path: Path, write: Any) -> None:
    from claster.atomic import atomic_path

    with atomic_path(path) as tmp:  # honours the umask (mkstemp alone gives 0600)
        write(tmp)


def save_model(
    directory: str | os.PathLike,
    model: torch.nn.Module,
    config: ModelConfig,
    extra: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``directory/model.pt`` and ``directory/config.json`` atomically; return the model path.

    ``extra`` must be JSON-able plain data (str, numbers, bools, None, lists, dicts with str keys):
    normalisation statistics, track order, metrics. Tensors are copied to CPU. Raises
    :class:`CheckpointError` if the files exist and ``overwrite`` is False.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_path, config_path = directory / MODEL_FILE, directory / CONFIG_FILE
    if not overwrite and (model_path.exists() or config_path.exists()):
        raise CheckpointError(
            f"{directory} already holds a model; pass overwrite=True (or --force) to replace it"
        )
    extra = dict(extra or {})
    try:
        json.dumps(extra)
    except (TypeError, ValueError) as e:
        raise CheckpointError(
            f"extra must be JSON-able plain data ({e}); convert arrays with .tolist()"
        ) from e
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "class": type(model).__name__,
        "claster_version": _version(),
        "torch_version": str(torch.__version__),
        "config": config.model_dump(mode="json"),
        "state_dict": {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()},
        "extra": extra,
    }
    _atomic_write(model_path, lambda tmp: torch.save(payload, tmp))
    _atomic_write(config_path, lambda tmp: Path(tmp).write_text(json.dumps(payload["config"], indent=2)))
    return model_path


def load_model(
    path: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    *,
    expected_tracks: Sequence[str] | None = None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_model` (a directory or its ``model.pt``).

    Returns ``(model, meta)``: the :class:`claster.model.ClasterNet` in eval mode on ``map_location``,
    and ``meta`` = the payload without the state dict (``config`` as a :class:`ModelConfig`).
    With ``expected_tracks``, ``meta["extra"]["tracks"]`` must list the same tracks in the same order.
    Raises :class:`CheckpointError` on a missing file or a wrong format, class, version, config,
    track order or parameter shape.
    """
    from claster.model.net import ClasterNet

    path = Path(path)
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file():
        raise CheckpointError(
            f"no model checkpoint at {file}; pass a directory written by save_model or its {MODEL_FILE}"
        )
    try:
        payload = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise CheckpointError(
            f"{file} is not a readable claster checkpoint ({e.__class__.__name__}: {e})"
        ) from e
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        hint = (
            " (an original EIR state dict? load it with claster.compat.load_eir_state_dict)"
            if isinstance(payload, dict)
            else ""
        )
        raise CheckpointError(f"{file} is not a claster model checkpoint{hint}")
    if payload.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{file} has checkpoint format version {payload.get('format_version')}, this claster reads "
            f"{CHECKPOINT_FORMAT_VERSION}; use the claster version that wrote it "
            f"({payload.get('claster_version')})"
        )
    if payload.get("class") != ClasterNet.__name__:
        raise CheckpointError(f"{file} holds a {payload.get('class')!r}, not a {ClasterNet.__name__}")
    try:
        config = ModelConfig.model_validate(payload["config"])
    except (ValidationError, KeyError) as e:
        raise CheckpointError(
            f"{file} has an invalid model config ({e}); it was written by another version"
        ) from e
    extra = payload.get("extra") or {}
    if expected_tracks is not None:
        saved = extra.get("tracks")
        if saved is None or list(saved) != list(expected_tracks):
            raise CheckpointError(
                f"{file} was trained on tracks {saved} but the input has {list(expected_tracks)}; "
                "use a store with the same tracks in the same order"
            )
    model = ClasterNet(config)
    state = payload.get("state_dict") or {}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        raise CheckpointError(
            f"{file} does not match its config: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"other shapes {mismatched[:5]}"
        )
    model.load_state_dict(state, strict=True)
    model.to(map_location)
    model.eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    meta["config"] = config
    return model, meta
