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

Lifecycle, as Gymnasium's own vector environments: ``step`` before ``reset`` raises
:class:`~gymnasium.error.ResetNeeded`, and so does stepping an ended environment with autoreset
disabled. On the NEXT_STEP autoreset step the rows of the environments being reset carry no step values
(their ``_key`` masks are False and their values zero): their info is the reset info, which is empty.
A row whose observation or reward is not finite terminates with reward 0, a finite observation and
``info["nonfinite"]`` True (see :mod:`papergym.core.lifecycle`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import finite_observation
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
        self._reset_called = False
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
            raise PapergymError(f"reset_mask must be a boolean array of shape ({self.num_envs},), got {mask.shape}")
        if not self._reset_called and not mask.all():
            raise ResetNeeded(f"the first reset of {type(self).__name__} must reset every environment "
                              "(no reset_mask, or an all-True one)")
        self._reset_envs(mask, options)
        self.elapsed_steps[mask] = 0
        self._needs_reset[mask] = False
        self._reset_called = True
        return self._observe(), {}

    def step(self, actions: Any):
        if not self._reset_called:
            raise ResetNeeded(f"{type(self).__name__}.step() was called before reset(); call reset() first")
        if self.autoreset_mode == AutoresetMode.DISABLED and self._needs_reset.any():
            raise ResetNeeded(f"environments {np.flatnonzero(self._needs_reset).tolist()} have ended and "
                              "autoreset_mode is Disabled: reset them with "
                              "reset(options={'reset_mask': mask}) before stepping again")
        actions = self._validated_actions(actions)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP and self._needs_reset.any():
            return self._step_with_pending_resets(actions)
        rewards, terminated, info = self._transition(actions)
        self.elapsed_steps += 1
        observations, rewards, terminated, info = self._guard_nonfinite(self._observe(), rewards, terminated, info)
        truncated = self._truncations(terminated)
        ended = terminated | truncated
        if self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            observations, info = self._reset_ended_same_step(observations, ended, info)
        else:
            self._needs_reset = ended
        return observations, rewards.astype(np.float64), terminated, truncated, with_masks(info, self.num_envs)

    def _guard_nonfinite(self, observations: np.ndarray, rewards: np.ndarray, terminated: np.ndarray,
                         info: dict[str, Any]):
        """Terminate the rows whose observation or reward is not finite (reward 0, a finite observation)."""
        if np.isfinite(rewards).all() and np.isfinite(observations).all():
            return observations, rewards, terminated, info
        finite = np.isfinite(rewards) & np.isfinite(observations.reshape(self.num_envs, -1)).all(axis=1)
        broken = ~finite
        for row in np.flatnonzero(broken):
            observations[row] = finite_observation(self.single_observation_space, observations[row])
        info = {**info, "nonfinite": broken}
        return observations, np.where(broken, 0.0, rewards), terminated | broken, info

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
        observations, rewards, terminated, info = self._guard_nonfinite(self._observe(), rewards, terminated, info)
        self._reset_envs(resetting, {})
        self.elapsed_steps[resetting] = 0
        observations[resetting] = self._observe()[resetting]
        rewards = np.where(resetting, 0.0, rewards)
        terminated = terminated & stepping
        truncated = self._truncations(terminated) & stepping
        self._needs_reset = terminated | truncated
        # The rows being reset carry the (empty) reset info only: their step values are cleared.
        masked = {}
        for key, value in info.items():
            value = np.array(value, copy=True)
            value[resetting] = 0
            masked[key], masked[f"_{key}"] = value, stepping.copy()
        return observations, rewards.astype(np.float64), terminated, truncated, masked

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
    """Check a batch of ``num_envs`` actions from ``space`` and return it as an array.

    Discrete batches must hold integers (any integer dtype); Box batches real numbers (integer or float
    dtype): boolean, complex, string and object arrays are refused, as NaN, inf and out-of-range values.
    """
    try:
        array = np.asarray(actions)
    except (TypeError, ValueError):
        raise PapergymError(f"actions must be a numeric array, got {actions!r}") from None
    if isinstance(space, spaces.Discrete):
        allowed = f"integers in [{space.start}, {space.start + space.n - 1}]"
        if array.shape != (num_envs,) or array.dtype.kind not in "iu":
            raise PapergymError(f"actions must be an integer array of shape ({num_envs},) holding {allowed}, "
                                f"got {actions!r}")
        array = array.astype(np.int64)
        if np.any(array < space.start) or np.any(array >= space.start + space.n):
            raise PapergymError(f"actions must be {allowed}, got {array.tolist()}")
        return array
    if isinstance(space, spaces.Box):
        if array.dtype.kind not in "iuf":
            raise PapergymError(f"actions must be a real numeric array, got {actions!r} of dtype {array.dtype}")
        array = array.astype(np.float64)
        expected = (num_envs, *space.shape)
        if array.shape != expected:
            raise PapergymError(f"actions must have shape {expected}, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise PapergymError(f"actions must be finite, got {array.tolist()}")
        cast = array.astype(space.dtype)
        if np.any(cast < space.low) or np.any(cast > space.high):
            raise PapergymError(f"actions must lie in [{space.low.tolist()}, {space.high.tolist()}], "
                                f"got {array.tolist()}")
        return array
    raise TypeError(f"validated_batch_action does not support {type(space).__name__} spaces")
