"""Base model and YAML loading shared by every stage's config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from claster.errors import ConfigError, InputError

__all__ = ["StrictModel", "load_yaml", "load_config", "write_config_json"]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config: unknown keys are an error, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping from ``path``; raise :class:`ConfigError` naming the file on any problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file {path} does not exist; check the path given to --config")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        where = f"{path}{_yaml_where(e)}"
        raise ConfigError(f"{where}: not valid YAML ({_yaml_problem(e)}); fix the syntax") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of option: value at the top level, got {type(data).__name__}")
    return data


def _yaml_where(e: yaml.YAMLError) -> str:
    """``:LINE:COLUMN`` (1-based) of a YAML error, or ``""`` when the parser gave no position."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def _yaml_problem(e: yaml.YAMLError) -> str:
    """The parser's problem in a few words (``"mapping values are not allowed here"``), on one line."""
    problem = getattr(e, "problem", None) or getattr(e, "context", None) or e.__class__.__name__
    return " ".join(str(problem).split())


def load_config(model: type[M], path: str | os.PathLike | None = None, **overrides: Any) -> M:
    """Build ``model`` from a YAML file and keyword overrides (overrides win; ``None`` means unset).

    Raises :class:`ConfigError` naming the file and the dotted key of the first invalid value.
    """
    data: dict[str, Any] = load_yaml(path) if path is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return model.model_validate(data)
    except ValidationError as e:
        where = f"{path}" if path is not None else "the options given"
        problems = []
        for err in e.errors():
            key = ".".join(str(p) for p in err["loc"]) or "<top level>"
            problems.append(f"{key}: {err['msg']}")
        raise ConfigError(f"invalid configuration in {where}: " + "; ".join(problems)) from e


def write_config_json(config: BaseModel | dict, path: str | os.PathLike) -> None:
    """Write a resolved config as JSON next to an output, atomically."""
    path = Path(path)
    payload = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    path.parent.mkdir(parents=True, exist_ok=True)
    from claster.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as fh:  # honours the umask (mkstemp alone gives 0600)
        json.dump(payload, fh, indent=2, default=str)
