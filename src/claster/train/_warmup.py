"""Say so, once and early, when a run's budget ends before its learning-rate warm-up does.

The paper's recipe warms the learning rate up over 2,000 steps (SPEC §4); a 12-minute CPU run does a
few hundred, so it would train at a fraction of the intended learning rate and stop — silently,
before this check existed (issue 10).
"""

from __future__ import annotations

import time
import warnings

from lightning.pytorch.callbacks import Callback

from claster.errors import ClasterWarning

__all__ = ["warmup_budget_message", "WarmupBudgetCheck"]

# optimiser steps timed before the --max-minutes budget is turned into a number of steps
_TIMED_STEPS = 5


def warmup_budget_message(
    warmup_steps: int,
    *,
    max_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    max_minutes: float | None = None,
    seconds_per_step: float | None = None,
    start_step: int = 0,
) -> str | None:
    """One line when the run's last step comes before ``warmup_steps``, else None.

    The last step is the smallest of ``max_steps``, ``epochs * steps_per_epoch`` and (when
    ``max_minutes`` and a measured ``seconds_per_step`` are given) ``start_step`` plus the steps that fit
    in ``max_minutes``. Steps are optimiser steps.
    """
    if warmup_steps <= 0 or start_step >= warmup_steps:
        return None
    limits: list[tuple[int, str]] = []
    if max_steps is not None:
        limits.append((int(max_steps), f"--max-steps {max_steps}"))
    if epochs is not None and steps_per_epoch:
        limits.append((int(epochs) * int(steps_per_epoch), f"{epochs} epochs of {steps_per_epoch} steps"))
    if max_minutes is not None and seconds_per_step:
        n = start_step + int(max_minutes * 60 / seconds_per_step)
        limits.append((n, f"the --max-minutes budget: about {n:,} steps at {seconds_per_step:.2f} s/step"))
    if not limits:
        return None
    last, why = min(limits)
    if last >= warmup_steps:
        return None
    return (
        f"the run ends at step {last:,} ({why}), before the {warmup_steps:,}-step learning-rate warm-up does: "
        f"the learning rate reaches only {last / warmup_steps:.0%} of --lr; lower --warmup-steps or use "
        "--recipe cpu"
    )


class WarmupBudgetCheck(Callback):
    """Warn (:class:`ClasterWarning`, one line) when the budget ends before the warm-up.

    Step and epoch limits are checked when training starts; a ``max_minutes`` limit after the first
    few steps have been timed (the first step is excluded: it pays for one-off set-up).
    """

    def __init__(self, config, steps_per_epoch: int) -> None:
        self.warmup = int(config.warmup_steps)
        self.max_steps = config.max_steps
        self.epochs = config.epochs
        self.max_minutes = config.max_minutes
        self.steps_per_epoch = int(steps_per_epoch)
        self.warned = False
        self._t0: float | None = None
        self._s0 = 0
        self._started_at = 0.0
        self._start_step = 0

    def _warn(self, message: str | None) -> None:
        if message and not self.warned:
            self.warned = True
            warnings.warn(message, ClasterWarning, stacklevel=2)

    def on_train_start(self, trainer, pl_module) -> None:
        self._start_step = int(trainer.global_step)
        self._started_at = time.monotonic()
        if trainer.global_rank == 0:
            self._warn(warmup_budget_message(self.warmup, max_steps=self.max_steps, epochs=self.epochs,
                                             steps_per_epoch=self.steps_per_epoch, start_step=self._start_step))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.warned or self.max_minutes is None or trainer.global_rank != 0:
            return
        step = int(trainer.global_step)
        if self._t0 is None:
            self._t0, self._s0 = time.monotonic(), step
            return
        if step - self._s0 < _TIMED_STEPS:
            return
        per_step = (time.monotonic() - self._t0) / (step - self._s0)
        left_s = self.max_minutes * 60 - (time.monotonic() - self._started_at)
        self._warn(warmup_budget_message(self.warmup, max_minutes=max(left_s, 0) / 60, seconds_per_step=per_step,
                                         start_step=step))
        self.max_minutes = None  # checked once
