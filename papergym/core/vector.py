"""Base class for native vector environments whose state is held as arrays over sub-environments.

A paper environment with a cheap step subclasses :class:`ArrayVectorEnv` and implements three methods
on whole arrays (no Python loop over environments):

* ``_reset_envs(mask, options)``: draw a new initial state for the environments selected by ``mask``;
* ``_observe()``: the observations of all environments, shape ``(num_envs, *obs_shape)``;
* ``_transition(actions)``: advance every environment by one step and return
  ``(rewards, terminated, info)`` with arrays of length ``num_envs``.

The base class handles seeding, action validation, truncation after ``max_episode_steps`` and the three
autoreset modes of Gymnasium:

* ``NEXT_STEP`` (Gymnasium's and RLlib's default): the step after an episode ends resets that
  environment and returns its first observation with reward 0;
* ``SAME_STEP`` (Stable-Baselines3's convention): an ending environment is reset in the same step; its
  last observation is in ``info["final_obs"]`` (rows selected by ``info["_final_obs"]``) and its last
  info in ``info["final_info"]``;
* ``DISABLED``: ended environments are reset by ``reset(options={"reset_mask": mask})``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from papergym.core.validation import require_choice, require_int

AUTORESET_MODES = {mode.value: mode for mode in AutoresetMode} | {mode.name: mode for mode in AutoresetMode}


def parse_autoreset_mode(value: Any) -> AutoresetMode:
    """Accept an ``AutoresetMode`` or its name/value (``"NextStep"``, ``"SAME_STEP"``...)."""
    if isinstance(value, AutoresetMode):
        return value
    return AUTORESET_MODES[require_choice("autoreset_mode", value, list(AUTORESET_MODES))]


class ArrayVectorEnv(VectorEnv):
    """Vector environment over ``num_envs`` independent copies held as arrays (see the module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, num_envs: int, single_observation_space: spaces.Space,
                 single_action_space: spaces.Space, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 render_mode: str | None = None):
        self.num_envs = require_int("num_envs", num_envs, low=1)
        if max_episode_steps is not None:
            max_episode_steps = require_int("max_episode_steps", max_episode_steps, low=1)
        self.max_episode_steps = max_episode_steps
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.single_observation_space = single_observation_space
        self.single_action_space = single_action_space
        self.observation_space = batch_space(single_observation_space, self.num_envs)
        self.action_space = batch_space(single_action_space, self.num_envs)
        self.elapsed_steps = np.zeros(self.num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._np_random, self._np_random_seed = seeding.np_random(None)

    # --- to implement -------------------------------------------------------------------------------
    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        raise NotImplementedError

    def _observe(self) -> np.ndarray:
        raise NotImplementedError

    def _transition(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError

    def _validated_actions(self, actions: Any) -> np.ndarray:
        """Check a batch of actions; NaN, inf and values outside the single action space are errors."""
        return validated_batch_action(self.single_action_space, actions, self.num_envs)

    # --- Gymnasium VectorEnv API --------------------------------------------------------------------
    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            seed = np.random.SeedSequence(seed).generate_state(1)[0] if isinstance(seed, list) else seed
            self._np_random, self._np_random_seed = seeding.np_random(int(seed))
        options = dict(options or {})
        mask = np.asarray(options.pop("reset_mask", np.ones(self.num_envs, dtype=bool)), dtype=bool)
        if mask.shape != (self.num_envs,):
            raise ValueError(f"reset_mask must be a boolean array of shape ({self.num_envs},), got {mask.shape}")
        self._reset_envs(mask, options)
        self.elapsed_steps[mask] = 0
        self._needs_reset[mask] = False
        return self._observe(), {}

    def step(self, actions: Any):
        actions = self._validated_actions(actions)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP and self._needs_reset.any():
            return self._step_with_pending_resets(actions)
        rewards, terminated, info = self._transition(actions)
        self.elapsed_steps += 1
        truncated = self._truncations(terminated)
        ended = terminated | truncated
        observations = self._observe()
        if self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            observations, info = self._reset_ended_same_step(observations, ended, info)
        elif self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._needs_reset = ended
        return observations, rewards.astype(np.float64), terminated, truncated, with_masks(info, self.num_envs)

    def _truncations(self, terminated: np.ndarray) -> np.ndarray:
        if self.max_episode_steps is None:
            return np.zeros(self.num_envs, dtype=bool)
        return (self.elapsed_steps >= self.max_episode_steps) & ~terminated

    def _step_with_pending_resets(self, actions: np.ndarray):
        """NEXT_STEP: environments that ended last step are reset; the others step as usual."""
        resetting = self._needs_reset.copy()
        stepping = ~resetting
        # All environments are advanced at once (array code); those being reset are then redrawn, so
        # ``_reset_envs`` must define the whole state of the environments it resets.
        rewards, terminated, info = self._transition(actions)
        self.elapsed_steps[stepping] += 1
        self._reset_envs(resetting, {})
        self.elapsed_steps[resetting] = 0
        rewards = np.where(resetting, 0.0, rewards)
        terminated = terminated & stepping
        truncated = self._truncations(terminated) & stepping
        self._needs_reset = terminated | truncated
        masked = with_masks(info, self.num_envs)
        for key in info:
            masked[f"_{key}"] = stepping.copy()
        return self._observe(), rewards.astype(np.float64), terminated, truncated, masked

    def _reset_ended_same_step(self, observations: np.ndarray, ended: np.ndarray, info: dict):
        final_obs = observations.copy()
        final_info = with_masks(info, self.num_envs)
        for key in info:
            final_info[f"_{key}"] = ended.copy()
        self._reset_envs(ended, {})
        self.elapsed_steps[ended] = 0
        info = dict(info)
        info["final_obs"] = final_obs
        info["final_info"] = final_info
        masked = with_masks(info, self.num_envs)
        masked["_final_obs"] = ended.copy()
        masked["_final_info"] = ended.copy()
        return self._observe(), masked


def with_masks(info: dict[str, Any], num_envs: int) -> dict[str, Any]:
    """Add Gymnasium's ``_key`` masks (all True) for every key of a vector info dict that lacks one."""
    masked = dict(info)
    for key in info:
        if not key.startswith("_") and f"_{key}" not in info:
            masked[f"_{key}"] = np.ones(num_envs, dtype=bool)
    return masked


def validated_batch_action(space: spaces.Space, actions: Any, num_envs: int) -> np.ndarray:
    """Check a batch of ``num_envs`` actions from ``space`` and return it as an array."""
    if isinstance(space, spaces.Discrete):
        array = np.asarray(actions)
        if array.shape != (num_envs,) or not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"actions must be {num_envs} integers, got {actions!r}")
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(f"actions must be integers in [{space.start}, {space.start + space.n - 1}], "
                             f"got {array.tolist()}")
        array = array.astype(np.int64)
        if np.any(array < space.start) or np.any(array >= space.start + space.n):
            raise ValueError(f"actions must be integers in [{space.start}, {space.start + space.n - 1}], "
                             f"got {array.tolist()}")
        return array
    if isinstance(space, spaces.Box):
        try:
            array = np.asarray(actions, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"actions must be numeric, got {actions!r}") from None
        expected = (num_envs, *space.shape)
        if array.shape != expected:
            raise ValueError(f"actions must have shape {expected}, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"actions must be finite, got {array.tolist()}")
        cast = array.astype(space.dtype)
        if np.any(cast < space.low) or np.any(cast > space.high):
            raise ValueError(f"actions must lie in [{space.low.tolist()}, {space.high.tolist()}], "
                             f"got {array.tolist()}")
        return array
    raise TypeError(f"validated_batch_action does not support {type(space).__name__} spaces")
