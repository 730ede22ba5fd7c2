"""Pydantic-validated configuration for every stage, and the one YAML loader.

One module per stage (``prepare``, ``model``, ``train``, ...) so each stage's options live next to
each other; all models derive from :class:`StrictModel` (unknown keys are errors, not silent
defaults). ``load_config`` is the only YAML reader.
"""

from claster.config._base import StrictModel, load_config, load_yaml, write_config_json

__all__ = ["StrictModel", "load_config", "load_yaml", "write_config_json"]
