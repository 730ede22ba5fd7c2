"""Integrated-gradients attribution (SPEC §8); the aggregated maps are in :mod:`claster.attribute.maps`.

Pipeline::

    baselines = baseline_from_windows(train_windows, n=256, rng=rng)      # mean standardised window
    attr = integrated_gradients(model, {"landscape": x}, baselines)      # (B, 401, T, W) per modality
    mean, n = mean_attributions(model, batches, baselines)                # signed mean over samples
    lmap = landscape_locality_map(mean["landscape"], rng=seed)            # (T, W), max-scaled
    stats = locality_stats(lmap, track_names=names)                       # per-track distances
    smap = structure_map(mean["structure"])                               # rotated contact branch

Integrated gradients (Sundararajan et al. 2017) with multiply-by-inputs: for output bin ``j``,
``IG_j(x) = (x - x0) * sum_k w_k dF_j/dx (x0 + a_k (x - x0))`` with the ``n_steps`` nodes ``a_k`` and
weights ``w_k`` of captum's approximation methods (Gauss–Legendre by default). By completeness the
attributions of a sample sum to ``F_j(x) - F_j(x0)``.

Two engines give the same numbers:

* ``"captum"``: ``captum.attr.IntegratedGradients`` called once per output bin (a forward and a
  backward pass over all interpolated inputs per bin) — the reference;
* ``"batched"`` (default): one forward pass over a batch of interpolated inputs, then one backward pass
  per output bin through the retained graph (optionally ``grad_chunk`` bins at once with a vmapped
  backward). The forward is shared by all output bins. When the model ends in a linear ``head``
  (ClasterNet: ``Linear(256, 401)``) and more bins than its 256 inputs are asked for, the 256 hidden
  units are backpropagated instead and combined with the head's weights (exact, by linearity), so
  all 401 bins cost one forward and 256 backward passes instead of captum's 401 of each.

Both lower the batch size and retry when the device runs out of memory.

Windows are in genomic orientation (SPEC §2). The model is called as ``model(landscape)`` or
``model(landscape, structure)`` and must return ``(B, n_out)``; it is put in eval mode for the call.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from claster.errors import ClasterWarning, InputError

if TYPE_CHECKING:
    import torch

__all__ = [
    "MODALITIES",
    "baseline_from_windows",
    "integrated_gradients",
    "mean_attributions",
    "is_out_of_memory",
]

#: Input modalities, in the order the model's forward takes them.
MODALITIES: tuple[str, ...] = ("landscape", "structure")


# ---------------------------------------------------------------------------------------------------
# Baseline
# ---------------------------------------------------------------------------------------------------
def baseline_from_windows(
    windows: Iterable[Mapping[str, Any]],
    n: int = 256,
    *,
    rng: np.random.Generator | int | None = None,
    modalities: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """The IG baseline: the mean of ``n`` training windows per modality (SPEC §8).

    Parameters
    ----------
    windows
        Standardised input windows, each a mapping ``modality -> array`` (numpy or CPU torch), e.g.
        ``{"landscape": (T, W) float32, "structure": (H, W2) float32}``; other keys (targets, ids) are
        ignored. A sequence (``len`` and indexing, e.g. a Dataset) is sampled at ``n`` random indices
        without replacement; any other iterable is reservoir-sampled in one pass.
    n
        Number of windows averaged; all of them when fewer are available.
    rng
        Generator or seed of the random choice (default seed 0).
    modalities
        Keys to average; default every key of :data:`MODALITIES` present in the first window.

    Returns
    -------
    ``{modality: array}``, each the per-position mean, float32, the shape of one window.
    """
    if n < 1:
        raise InputError(f"the baseline needs at least one window, got n={n}; pass n >= 1")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    chosen: list[Mapping[str, Any]]
    if hasattr(windows, "__len__") and hasattr(windows, "__getitem__"):
        total = len(windows)  # type: ignore[arg-type]
        idx = np.sort(rng.choice(total, size=min(n, total), replace=False)) if total else []
        chosen = [windows[int(i)] for i in idx]  # type: ignore[index]
    else:
        chosen = []
        for seen, w in enumerate(windows):
            if seen < n:
                chosen.append(w)
            else:
                j = int(rng.integers(0, seen + 1))
                if j < n:
                    chosen[j] = w
    if not chosen:
        raise InputError("no windows to build the attribution baseline from; check the training split")
    keys = list(modalities) if modalities is not None else [m for m in MODALITIES if m in chosen[0]]
    if not keys:
        raise InputError(
            f"the windows hold none of the modalities {list(MODALITIES)} (keys: {list(chosen[0])}); "
            "pass modalities=[...]"
        )
    out: dict[str, np.ndarray] = {}
    for key in keys:
        acc: np.ndarray | None = None
        for w in chosen:
            if key not in w or w[key] is None:
                raise InputError(f"a window lacks the {key!r} modality; give windows with the same keys")
            a = _to_numpy(w[key]).astype(np.float64)
            if acc is None:
                acc = a.copy()
            elif a.shape != acc.shape:
                raise InputError(f"{key} windows differ in shape ({a.shape} vs {acc.shape}); cut them alike")
            else:
                acc += a
        assert acc is not None
        out[key] = (acc / len(chosen)).astype(np.float32)
    return out


def _to_numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


# ---------------------------------------------------------------------------------------------------
# Integrated gradients
# ---------------------------------------------------------------------------------------------------
def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a device out-of-memory error (CUDA, MPS or CPU allocator)."""
    import torch

    if isinstance(err, getattr(torch, "OutOfMemoryError", ())) or isinstance(
        err, getattr(torch.cuda, "OutOfMemoryError", ())
    ):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _release_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _quadrature(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """Captum's (step sizes, alphas) for ``method`` with ``n_steps`` nodes."""
    from captum.attr._utils.approximation_methods import SUPPORTED_METHODS, approximation_parameters

    if method not in SUPPORTED_METHODS:
        raise InputError(f"IG method must be one of {', '.join(SUPPORTED_METHODS)}; got {method!r}")
    if n_steps < 2:
        raise InputError(f"IG needs at least 2 steps, got n_steps={n_steps}; SPEC §8 uses 64")
    step_sizes_fn, alphas_fn = approximation_parameters(method)
    return list(step_sizes_fn(n_steps)), list(alphas_fn(n_steps))


def _prepare_inputs(
    model: torch.nn.Module, inputs: Mapping[str, Any], baselines: Mapping[str, Any]
) -> tuple[list[str], list[torch.Tensor], list[torch.Tensor], torch.device]:
    import torch

    unknown = [k for k in inputs if k not in MODALITIES]
    if unknown:
        raise InputError(f"unknown input modalities {unknown}; use {list(MODALITIES)}")
    if "landscape" not in inputs or inputs["landscape"] is None:
        raise InputError("integrated gradients needs the 'landscape' input; pass inputs={'landscape': x, ...}")
    keys = [m for m in MODALITIES if inputs.get(m) is not None]
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    xs, bs = [], []
    n = None
    for k in keys:
        x = torch.as_tensor(_to_numpy(inputs[k]) if not hasattr(inputs[k], "detach") else inputs[k])
        x = x.detach().to(device=device, dtype=torch.float32)
        if n is None:
            n = x.shape[0]
        elif x.shape[0] != n:
            raise InputError(f"inputs differ in batch size ({k}: {x.shape[0]}, landscape: {n}); pair them up")
        if k not in baselines or baselines[k] is None:
            raise InputError(f"no baseline for the {k!r} input; build one with baseline_from_windows")
        b = baselines[k]
        b = torch.as_tensor(_to_numpy(b)).to(device=device, dtype=torch.float32)
        if b.shape == x.shape[1:]:
            b = b.unsqueeze(0)
        if b.shape[1:] != x.shape[1:] or b.shape[0] not in (1, x.shape[0]):
            raise InputError(
                f"the {k} baseline has shape {tuple(b.shape)} but the inputs {tuple(x.shape)}; "
                "give one window's shape or the batch's"
            )
        xs.append(x)
        bs.append(b.expand_as(x))
    return keys, xs, bs, device


def integrated_gradients(
    model: torch.nn.Module,
    inputs: Mapping[str, Any],
    baselines: Mapping[str, Any],
    output_bins: Sequence[int] | None = None,
    *,
    n_steps: int = 64,
    batch_size: int = 64,
    method: str = "gausslegendre",
    engine: Literal["batched", "captum"] = "batched",
    grad_chunk: int = 1,
    head_basis: bool | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Integrated gradients of each selected output bin w.r.t. each input modality (SPEC §8).

    Parameters
    ----------
    model
        ``nn.Module`` with ``forward(landscape, structure=None) -> (B, n_out)``; evaluated in eval mode
        (its mode is restored afterwards) on the device of its parameters.
    inputs
        ``{"landscape": (B, T, W) float32, "structure": (B, H, W2) float32 (optional)}``, standardised
        as the model sees them; numpy arrays or tensors.
    baselines
        Same keys; each one window's shape (broadcast over the batch) or the batch's shape.
    output_bins
        Model output indices to attribute, each separately (``None``: all ``n_out``).
    n_steps, method
        Integration nodes and captum approximation method (SPEC §8: 64, ``"gausslegendre"``).
    batch_size
        Interpolated inputs per forward pass (samples × steps). On an out-of-memory error it is
        halved and the current group of samples is redone (a :class:`ClasterWarning` says so).
    engine
        ``"batched"`` (shared forward, one backward per output bin) or ``"captum"`` (captum's
        ``IntegratedGradients``, one forward and backward per output bin); equal up to rounding.
    grad_chunk
        ``"batched"`` only: output bins per vmapped backward pass (more memory; on the CPU slower
        than the default 1).
    head_basis
        ``"batched"`` only: for a model whose output is ``model.head(h)`` with ``head`` an
        ``nn.Linear`` (ClasterNet), backpropagate the ``hidden`` units of ``h`` (256) instead of the
        output bins and combine them with the head's weights — exact, and fewer backward passes when
        more bins than hidden units are asked for. ``None`` (default) uses it exactly then.
    progress
        Show a tqdm bar counted in (sample, output bin) pairs.

    Returns
    -------
    ``{modality: (B, n_selected, *input_shape) float32}`` attributions (multiply-by-inputs), on the
    CPU, in the order of ``output_bins``. For each sample and bin, the sum over a modality's
    positions, summed over modalities, approximates ``F_j(x) - F_j(baseline)``.
    """
    import torch

    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if grad_chunk < 1:
        raise InputError(f"grad_chunk must be >= 1, got {grad_chunk}")
    if engine not in ("batched", "captum"):
        raise InputError(f"engine must be 'batched' or 'captum'; got {engine!r}")
    step_sizes, alphas = _quadrature(method, n_steps)
    keys, xs, bs, device = _prepare_inputs(model, inputs, baselines)
    n_samples = xs[0].shape[0]

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            probe = _forward(model, [x[:1] for x in xs])
        if probe.ndim != 2:
            raise InputError(f"the model must return (B, n_out), got shape {tuple(probe.shape)}")
        n_out = probe.shape[1]
        bins = list(range(n_out)) if output_bins is None else [int(b) for b in output_bins]
        bad = [b for b in bins if not 0 <= b < n_out]
        if bad or not bins:
            raise InputError(
                f"output bins must be model output indices 0..{n_out - 1}; got {bad[:5] or 'none'}"
            )
        out = {k: np.zeros((n_samples, len(bins), *x.shape[1:]), dtype=np.float32) for k, x in zip(keys, xs)}
        run = _ig_group_batched if engine == "batched" else _ig_group_captum
        from tqdm.auto import tqdm

        with tqdm(
            total=n_samples * len(bins), disable=not progress, desc="integrated gradients", unit="output"
        ) as pbar:
            s0 = 0
            while s0 < n_samples:
                per_group = max(1, batch_size // n_steps)
                s1 = min(n_samples, s0 + per_group)
                done_before = pbar.n
                try:
                    group = run(
                        model, [x[s0:s1] for x in xs], [b[s0:s1] for b in bs], bins, alphas, step_sizes,
                        batch_size=batch_size, grad_chunk=grad_chunk, pbar=pbar, head_basis=head_basis,
                    )
                except (RuntimeError, MemoryError) as e:
                    if not (is_out_of_memory(e) or isinstance(e, MemoryError)):
                        raise
                    _release_memory()
                    pbar.n = done_before
                    pbar.refresh()
                    if grad_chunk > 1:
                        grad_chunk //= 2
                        what = f"grad_chunk to {grad_chunk}"
                    elif batch_size > 1:
                        batch_size //= 2
                        what = f"batch_size to {batch_size}"
                    else:
                        raise InputError(
                            f"out of memory on {device} even at batch_size 1; free device memory, use a "
                            "smaller model, or run on the CPU"
                        ) from e
                    warnings.warn(
                        f"integrated gradients ran out of memory on {device}; lowered {what} and retrying",
                        ClasterWarning,
                        stacklevel=2,
                    )
                    continue
                for k, g in zip(keys, group):
                    out[k][s0:s1] = g
                pbar.n = done_before + (s1 - s0) * len(bins)
                pbar.refresh()
                s0 = s1
    finally:
        model.train(was_training)
    return out


def _forward(model: torch.nn.Module, xs: Sequence[torch.Tensor]) -> torch.Tensor:
    return model(*xs)


def _linear_head(model: torch.nn.Module) -> torch.nn.Linear | None:
    """The model's final ``nn.Linear`` named ``head`` (ClasterNet, SPEC §3), if it has one."""
    import torch

    head = getattr(model, "head", None)
    return head if isinstance(head, torch.nn.Linear) else None


def _ig_group_batched(
    model: torch.nn.Module,
    xs: list[torch.Tensor],
    bs: list[torch.Tensor],
    bins: list[int],
    alphas: list[float],
    step_sizes: list[float],
    *,
    batch_size: int,
    grad_chunk: int,
    pbar: Any,
    head_basis: bool | None = None,
) -> list[np.ndarray]:
    """IG of a group of samples: shared forward per step chunk, one backward per output bin (chunk).

    Head basis: when the model's output is ``model.head(h)`` with ``head`` an ``nn.Linear`` of
    ``hidden < n_bins`` input features, ``dF_j/dx = W[j] @ dh/dx``, and ``W`` does not depend on the
    step, so ``sum_k w_k dF_j/dx(x_k) = W[j] @ sum_k w_k dh/dx(x_k)``: ``hidden`` backward passes (one
    per hidden unit) then a matrix product replace ``n_bins`` backward passes. It is used when
    ``head_basis`` is True, or None (auto) and it saves passes; it is checked at run time that the
    forward returns the head's output unchanged, and the per-bin loop is used otherwise.
    """
    import torch

    n_s = xs[0].shape[0]
    n_steps = len(alphas)
    n_bins = len(bins)
    dev = xs[0].device
    alpha_t = torch.tensor(alphas, dtype=torch.float32, device=dev)
    # captum casts the step sizes to float32 as well
    w_t = torch.tensor(step_sizes, dtype=torch.float32, device=dev)
    diffs = [x - b for x, b in zip(xs, bs)]
    head = _linear_head(model)
    use_basis = head is not None and (head_basis or (head_basis is None and head.in_features < n_bins))
    n_vec = head.in_features if use_basis else n_bins  # type: ignore[union-attr]
    total = [torch.zeros((n_s, n_vec, *x.shape[1:]), dtype=torch.float32, device=dev) for x in xs]
    k_per = max(1, min(n_steps, batch_size // n_s))
    for k0 in range(0, n_steps, k_per):
        k1 = min(n_steps, k0 + k_per)
        n_k = k1 - k0
        # zero leaves, one per sample: the gradient w.r.t. them is the weighted sum over steps
        zs = [torch.zeros_like(x, requires_grad=True) for x in xs]
        captured: dict[str, torch.Tensor] = {}
        hook = None
        if use_basis:
            hook = head.register_forward_hook(  # type: ignore[union-attr]
                lambda _m, inp, outp: captured.update(h=inp[0], y=outp)
            )
        try:
            with torch.enable_grad():
                rows = []
                for b, d, z in zip(bs, diffs, zs):
                    shape = (1, n_k) + (1,) * (d.ndim - 1)
                    r = b.unsqueeze(1) + alpha_t[k0:k1].view(shape) * d.unsqueeze(1) + z.unsqueeze(1)
                    rows.append(r.reshape(n_s * n_k, *d.shape[1:]))
                out = _forward(model, rows)
        finally:
            if hook is not None:
                hook.remove()
        if use_basis and not (captured.get("y") is out and captured["h"].ndim == 2):
            if head_basis:
                raise InputError(
                    "head_basis=True needs a model whose forward returns model.head(h) unchanged; "
                    "use head_basis=None"
                )
            use_basis, n_vec = False, n_bins
            total = [torch.zeros((n_s, n_bins, *x.shape[1:]), dtype=torch.float32, device=dev) for x in xs]
        target = captured["h"] if use_basis else out
        cols = list(range(n_vec)) if use_basis else bins
        cols_t = torch.tensor(cols, device=dev)
        w_rows = w_t[k0:k1].repeat(n_s)  # rows are sample-major: (s, k) -> s * n_k + k
        with torch.enable_grad():
            for c0 in range(0, n_vec, grad_chunk):
                c1 = min(n_vec, c0 + grad_chunk)
                g_n = c1 - c0
                go = torch.zeros((g_n, n_s * n_k, target.shape[1]), dtype=target.dtype, device=dev)
                go[torch.arange(g_n, device=dev), :, cols_t[c0:c1]] = w_rows
                last = c1 == n_vec
                if g_n == 1:
                    grads = torch.autograd.grad(
                        target, zs, go[0], retain_graph=not last, allow_unused=True, materialize_grads=True
                    )
                    grads = [g.unsqueeze(1) for g in grads]
                else:
                    grads = torch.autograd.grad(
                        target, zs, go, retain_graph=not last, is_grads_batched=True, allow_unused=True,
                        materialize_grads=True,
                    )
                    grads = [g.transpose(0, 1) for g in grads]
                for t, g in zip(total, grads):
                    t[:, c0:c1] += g
                pbar.update(n_s * n_bins * (g_n / n_vec) * n_k / n_steps)
        del out, rows, zs, captured, target
    if use_basis:
        weight = head.weight.detach()[torch.tensor(bins, device=dev)].to(torch.float32)  # type: ignore[union-attr]
        total = [torch.einsum("jm,sm...->sj...", weight, t) for t in total]
    return [(t * d.unsqueeze(1)).cpu().numpy() for t, d in zip(total, diffs)]


def _ig_group_captum(
    model: torch.nn.Module,
    xs: list[torch.Tensor],
    bs: list[torch.Tensor],
    bins: list[int],
    alphas: list[float],
    step_sizes: list[float],
    *,
    batch_size: int,
    grad_chunk: int,
    pbar: Any,
    head_basis: bool | None = None,
) -> list[np.ndarray]:
    """IG of a group of samples with captum's IntegratedGradients, one call per output bin."""
    from captum.attr import IntegratedGradients

    n_s = xs[0].shape[0]
    n_steps = len(alphas)
    method = _method_of(alphas, step_sizes)
    ig = IntegratedGradients(lambda *a: _forward(model, a), multiply_by_inputs=True)
    per_bin = []
    internal = max(batch_size, n_s) if batch_size < n_s * n_steps else None
    for j in bins:
        attr = ig.attribute(
            tuple(xs), baselines=tuple(bs), target=j, n_steps=n_steps, method=method,
            internal_batch_size=internal,
        )
        per_bin.append([a.detach() for a in attr])
        pbar.update(n_s)
    import torch

    return [torch.stack([pb[m] for pb in per_bin], dim=1).cpu().numpy() for m in range(len(xs))]


def _method_of(alphas: list[float], step_sizes: list[float]) -> str:
    """Recover the captum method name from its nodes (kept so both engines share one signature)."""
    from captum.attr._utils.approximation_methods import SUPPORTED_METHODS, approximation_parameters

    n = len(alphas)
    for m in SUPPORTED_METHODS:
        s_fn, a_fn = approximation_parameters(m)
        if np.allclose(a_fn(n), alphas) and np.allclose(s_fn(n), step_sizes):
            return m
    raise AssertionError("unknown quadrature")  # pragma: no cover - internal invariant


def mean_attributions(
    model: torch.nn.Module,
    batches: Iterable[Mapping[str, Any]],
    baselines: Mapping[str, Any],
    output_bins: Sequence[int] | None = None,
    **ig_kwargs: Any,
) -> tuple[dict[str, np.ndarray], int]:
    """Signed attributions averaged over samples (SPEC §8), streamed batch by batch.

    ``batches`` yields input mappings as :func:`integrated_gradients` takes them (other keys are
    ignored); ``ig_kwargs`` go to it (``n_steps``, ``batch_size``, ``method``, ``engine``, ...).
    Returns ``({modality: (n_selected, *input_shape) float32}, n_samples)``.
    """
    sums: dict[str, np.ndarray] = {}
    n = 0
    for batch in batches:
        inputs = {k: batch[k] for k in MODALITIES if k in batch and batch[k] is not None}
        attr = integrated_gradients(model, inputs, baselines, output_bins, **ig_kwargs)
        for k, a in attr.items():
            s = a.sum(axis=0, dtype=np.float64)
            sums[k] = s if k not in sums else sums[k] + s
        n += next(iter(attr.values())).shape[0]
    if n == 0:
        raise InputError("no samples to attribute; check the split and --max-samples")
    return {k: (v / n).astype(np.float32) for k, v in sums.items()}, n
