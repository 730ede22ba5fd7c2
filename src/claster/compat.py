"""Load state dicts of the original framework (EIR 0.1.43, as used by the CLASTER paper).

The original names its parameters ``input_modules.<input>.feature_extractor.…``,
``fusion_modules.computed.fusion_modules.fusion.<i>.0.…`` and
``output_modules.<output>.multi_task_branches.<column>.{weight,bias}`` (one ``Linear(256, 1)`` per
output bin). :func:`eir_to_claster_state_dict` renames them to :class:`claster.model.ClasterNet`'s
names and stacks the per-bin heads (in the original's column order) into one ``Linear(256, n_bins)``;
:func:`load_eir_state_dict` also checks every name and shape and loads the result.

Input names: ``gene_expression`` is the landscape branch; any other input is the structure branch
(the model must have one, and only one other input may be present).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from claster.errors import CheckpointError

__all__ = ["LANDSCAPE_INPUT_NAME", "eir_to_claster_state_dict", "load_eir_state_dict"]

LANDSCAPE_INPUT_NAME = "gene_expression"

_INPUT = re.compile(r"^input_modules\.([^.]+)\.feature_extractor\.(.+)$")
_FUSION = re.compile(r"^fusion_modules\.computed\.fusion_modules\.fusion\.(\d+)\.0\.(.+)$")
_HEAD = re.compile(r"^output_modules\.([^.]+)\.multi_task_branches\.(.+)\.(weight|bias)$")

# within a branch (after "feature_extractor."); applied in order, first match wins
_BRANCH_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^pos_representation\.embedding$"), "pos_embedding"),
    (re.compile(r"^conv\.0\.conv_1\.(weight|bias)$"), r"conv.0.conv.\1"),
    (re.compile(r"^conv\.(\d+)\.act_1\.weight$"), r"conv.\1.act.beta"),
    (re.compile(r"^conv\.(\d+)\.norm_1\.(weight|bias)$"), r"conv.\1.norm.\2"),
    (re.compile(r"^conv\.(\d+)\.(conv_1|conv_2)\.(weight|bias)$"), r"conv.\1.\2.\3"),
    (re.compile(r"^conv\.(\d+)\.downsample_identity\.0\.(weight|bias)$"), r"conv.\1.shortcut.\2"),
    (re.compile(r"^conv\.(\d+)\.se_block\.conv_down\.(weight|bias)$"), r"conv.\1.se.down.\2"),
    (re.compile(r"^conv\.(\d+)\.se_block\.act_1\.weight$"), r"conv.\1.se.act.beta"),
    (re.compile(r"^conv\.(\d+)\.se_block\.conv_up\.(weight|bias)$"), r"conv.\1.se.up.\2"),
    (re.compile(r"^conv\.(\d+)\.encoder\.(.+)$"), r"conv.\1.encoder.\2"),
    (re.compile(r"^fc\.fc_1_norm_1\.(weight|bias)$"), r"fc.norm.\1"),
    (re.compile(r"^fc\.fc_1_act_1\.weight$"), "fc.act.beta"),
    (re.compile(r"^fc\.fc_1_linear_1\.(weight|bias)$"), r"fc.linear.\1"),
)

_FUSION_RULES: dict[str, str] = {
    "norm_1.weight": "norm.weight",
    "norm_1.bias": "norm.bias",
    "fc_1.weight": "fc_1.weight",
    "fc_1.bias": "fc_1.bias",
    "act_1.weight": "act.beta",
    "fc_2.weight": "fc_2.weight",
    "fc_2.bias": "fc_2.bias",
    "downsample_identity.weight": "shortcut.weight",
    "downsample_identity.bias": "shortcut.bias",
}

_CTRL = re.compile(r"^(-?\d+)_ctrl$")


def _read(path_or_state_dict: str | os.PathLike | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if isinstance(path_or_state_dict, Mapping):
        state = dict(path_or_state_dict)
        where = "the given state dict"
    else:
        path = Path(path_or_state_dict)
        where = str(path)
        if not path.is_file():
            raise CheckpointError(f"EIR state dict {path} does not exist; check the path")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
            raise CheckpointError(
                f"{path} is not a readable PyTorch state dict ({e.__class__.__name__}: {e}); "
                "pass a file written by torch.save(model.state_dict())"
            ) from e
        if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
            state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{where} is not a mapping of parameter names to tensors")
    return dict(state)


def eir_to_claster_state_dict(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename an EIR 0.1.43 state dict to ClasterNet names.

    Returns ``(renamed, unmapped)``: the renamed tensors (per-bin heads stacked into
    ``head.weight`` ``(n_bins, 256)`` and ``head.bias`` ``(n_bins,)`` in the original's column order,
    sorted by bin offset when every column is named ``<k>_ctrl``) and the names no rule recognised.
    """
    out: dict[str, torch.Tensor] = {}
    unmapped: list[str] = []
    structure_inputs: set[str] = set()
    heads: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in state.items():
        m = _INPUT.match(name)
        if m:
            input_name, rest = m.groups()
            branch = "landscape" if input_name == LANDSCAPE_INPUT_NAME else "structure"
            if branch == "structure":
                structure_inputs.add(input_name)
            for pattern, repl in _BRANCH_RULES:
                if pattern.match(rest):
                    out[f"{branch}.{pattern.sub(repl, rest)}"] = tensor
                    break
            else:
                unmapped.append(name)
            continue
        m = _FUSION.match(name)
        if m and m.group(2) in _FUSION_RULES:
            out[f"fusion.blocks.{m.group(1)}.{_FUSION_RULES[m.group(2)]}"] = tensor
            continue
        m = _HEAD.match(name)
        if m:
            heads.setdefault(m.group(2), {})[m.group(3)] = tensor
            continue
        unmapped.append(name)
    if len(structure_inputs) > 1:
        raise CheckpointError(
            f"the EIR state dict has {len(structure_inputs)} non-landscape inputs "
            f"({', '.join(sorted(structure_inputs))}); ClasterNet takes one contact-map branch"
        )
    if heads:
        columns = list(heads)
        if all(_CTRL.match(c) for c in columns):
            columns.sort(key=lambda c: int(_CTRL.match(c).group(1)))  # type: ignore[union-attr]
        incomplete = [c for c in columns if set(heads[c]) != {"weight", "bias"}]
        if incomplete:
            raise CheckpointError(f"output heads without both weight and bias: {', '.join(incomplete[:5])}")
        out["head.weight"] = torch.cat([heads[c]["weight"].reshape(1, -1) for c in columns], dim=0)
        out["head.bias"] = torch.cat([heads[c]["bias"].reshape(1) for c in columns], dim=0)
    return out, unmapped


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def load_eir_state_dict(
    model: nn.Module, path_or_state_dict: str | os.PathLike | Mapping[str, torch.Tensor]
) -> None:
    """Load an EIR 0.1.43 state dict (a path or a mapping) into ``model`` (a ClasterNet), in place.

    Every renamed tensor must match a parameter of ``model`` in name and shape, and every parameter
    of ``model`` must be supplied; otherwise raises :class:`CheckpointError` listing the missing,
    unexpected and mismatched names (and the config to use instead, when the sizes differ).
    """
    state = _read(path_or_state_dict)
    renamed, unmapped = eir_to_claster_state_dict(state)
    own = model.state_dict()
    missing = [k for k in own if k not in renamed]
    unexpected = unmapped + [k for k in renamed if k not in own]
    mismatched = [
        f"{k} {tuple(renamed[k].shape)} vs {tuple(own[k].shape)}"
        for k in renamed
        if k in own and renamed[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_listing(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_listing(unexpected)})")
        if mismatched:
            parts.append(
                f"{len(mismatched)} with other shapes (state dict vs model: {_listing(mismatched, 4)})"
            )
        raise CheckpointError(
            "the EIR state dict does not fit this model: "
            + "; ".join(parts)
            + "; build the model with the variant, tracks, context and output bins of the original run"
        )
    model.load_state_dict({k: v.to(dtype=own[k].dtype) for k, v in renamed.items()}, strict=True)
