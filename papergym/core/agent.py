"""The agent protocol: every papergym agent predicts like a Stable-Baselines3 policy.

``predict(observation, state=None, episode_start=None, deterministic=False) -> (action, state)`` is the
interface of SB3's ``PolicyPredictor``, so :func:`stable_baselines3.common.evaluation.evaluate_policy`,
papergym's own :func:`papergym.core.rollout.evaluate` and user code treat paper agents, baselines and
trained SB3 models alike.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from gymnasium import spaces


@runtime_checkable
class Agent(Protocol):
    """What papergym needs of an agent: SB3's ``predict`` signature."""

    def predict(self, observation: Any, state: tuple[np.ndarray, ...] | None = None,
                episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        ...


class BaseAgent:
    """Convenience base: implement ``act_batch`` on a batch of observations; ``predict`` does the rest.

    ``predict`` accepts a single observation (returns a single action) or a batch stacked along a first
    axis, as a vectorised environment or SB3's ``evaluate_policy`` passes it (returns a batch).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, seed: int | None = None):
        self.observation_space = observation_space
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)

    def set_random_seed(self, seed: int | None = None) -> None:
        """Reseed the agent's own randomness (SB3 models offer the same method)."""
        self.rng = np.random.default_rng(seed)

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Return one action per row of ``observations``."""
        raise NotImplementedError

    def predict(self, observation: Any, state: tuple[np.ndarray, ...] | None = None,
                episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        observation = np.asarray(observation)
        single_shape = self.observation_space.shape or ()
        is_single = observation.shape == tuple(single_shape)
        batch = observation[None] if is_single else observation
        actions = self.act_batch(batch, deterministic=deterministic)
        return (actions[0] if is_single else actions), state


class RandomAgent(BaseAgent):
    """Uniformly random actions from the action space, drawn from the agent's own seeded generator."""

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        space = self.action_space
        n = len(observations)
        if isinstance(space, spaces.Discrete):
            return space.start + self.rng.integers(space.n, size=n)
        if isinstance(space, spaces.Box):
            low, high = np.broadcast_arrays(space.low, space.high)
            return self.rng.uniform(low, high, size=(n, *space.shape)).astype(space.dtype)
        if isinstance(space, spaces.MultiDiscrete):
            return space.start + self.rng.integers(space.nvec, size=(n, *space.nvec.shape))
        raise TypeError(f"RandomAgent does not support {type(space).__name__} action spaces")
