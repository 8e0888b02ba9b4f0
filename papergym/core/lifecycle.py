"""Lifecycle errors and the non-finite guard shared by the papergym environments.

* Stepping an environment before ``reset`` raises Gymnasium's :class:`~gymnasium.error.ResetNeeded`
  (the error its ``OrderEnforcing`` wrapper raises) with a message naming the environment, also when the
  unwrapped environment is stepped directly.
* An environment never returns a non-finite observation or reward. If its state becomes non-finite
  anyway (parameters at the edge of their range, a model pushed beyond its numerical limits), the step
  terminates the episode with :func:`nonfinite_step`: a finite observation inside the space, reward 0,
  and ``info["termination_reason"]`` saying what was not finite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

#: ``info`` key of a step that ended an episode because a quantity became non-finite.
TERMINATION_REASON = "termination_reason"


def step_before_reset(env: Any) -> ResetNeeded:
    """The error of a ``step`` before the first ``reset`` (raise it: ``raise step_before_reset(self)``)."""
    return ResetNeeded(f"{type(env).__name__}.step() was called before reset(); call reset() first")


def is_finite_step(observation: np.ndarray, reward: float) -> bool:
    """Whether a step's observation and reward are all finite."""
    return math.isfinite(reward) and bool(np.isfinite(observation).all())


def finite_observation(space: spaces.Box, observation: Any) -> np.ndarray:
    """``observation`` made finite and clipped into ``space`` (NaN -> 0, infinities -> the space's bounds)."""
    array = np.asarray(observation, dtype=np.float64).reshape(space.shape)
    limit = float(np.finfo(space.dtype).max)
    array = np.nan_to_num(array, nan=0.0, posinf=limit, neginf=-limit)
    return np.clip(array, np.maximum(space.low, -limit), np.minimum(space.high, limit)).astype(space.dtype)


def nonfinite_step(space: spaces.Box, observation: Any, reward: float, info: dict[str, Any],
                   what: str) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
    """The terminating step returned when ``what`` (e.g. "state") became non-finite."""
    info = dict(info)
    info[TERMINATION_REASON] = (f"non-finite {what}: the episode was terminated because the model's numbers "
                                "left the floating-point range")
    return finite_observation(space, observation), float(reward) if math.isfinite(reward) else 0.0, True, False, info
