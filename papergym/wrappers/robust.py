"""Wrappers and evaluation for robust RL on parametric environments (see ``papergym.envs.robust``).

* :class:`FixedParams`: one transition model for every episode (a static RL problem).
* :class:`DomainRandomization`: a model drawn uniformly from the uncertainty set at each reset.
* :class:`DynamicAdversary`: an adversary changes the model at every step (the dynamic model).

Evaluation on models and grids (``evaluate_params``, ``evaluate_grid``) lives with the paper's agents in
:mod:`papergym.agents.robust`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from papergym.core.agent import Agent
from papergym.envs.robust.parametric import UncertaintySet, is_parametric

EnvSource = str | gym.Env | Callable[[], gym.Env]


def require_parametric(env: gym.Env) -> gym.Env:
    """``env`` itself if it follows the parametric-environment protocol, else ``ValueError``."""
    if not is_parametric(env):
        raise ValueError(f"env must be a parametric environment (set_params/get_params/uncertainty_set), "
                         f"got {env.unwrapped!r}")
    return env


def resolve_uncertainty_set(env: gym.Env, uncertainty_set: Any = None) -> UncertaintySet:
    """The given set (validated against the env's parameters) or the env's own default set."""
    if uncertainty_set is None:
        return env.unwrapped.uncertainty_set
    result = UncertaintySet.from_dict(uncertainty_set)
    known = env.unwrapped.get_params()
    unknown = set(result.names) - set(known)
    if unknown:
        raise ValueError(f"uncertainty_set names unknown parameters {sorted(unknown)}; "
                         f"the environment's parameters are {sorted(known)}")
    return result


def env_factory(env: EnvSource, **make_kwargs: Any) -> Callable[[], gym.Env]:
    """A zero-argument factory from an id (``gymnasium.make``), a factory, or an instance (deep-copied)."""
    if isinstance(env, str):
        return lambda: gym.make(env, **make_kwargs)
    if isinstance(env, gym.Env):
        return lambda: copy.deepcopy(env)
    if callable(env):
        return env
    raise ValueError(f"env must be an environment id, a gymnasium.Env or a factory, got {env!r}")


class FixedParams(gym.Wrapper):
    """Every episode runs on the model ``params`` (applied at each reset, whatever changed them since)."""

    def __init__(self, env: gym.Env, params: Mapping[str, float]):
        super().__init__(require_parametric(env))
        self.params = {name: float(value) for name, value in params.items()}
        env.unwrapped.set_params(**self.params)  # validates the names and values now

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self.env.reset(seed=seed, options={**(options or {}), **self.params})


class DomainRandomization(gym.Wrapper):
    """At each reset the model is drawn uniformly from the uncertainty set.

    The draw comes from the environment's own generator (``env.np_random``), which ``reset(seed=...)``
    seeds first, so a seeded sequence of episodes (models and initial states) is reproducible and
    independent of numpy's global state.
    """

    def __init__(self, env: gym.Env, uncertainty_set: Any = None):
        super().__init__(require_parametric(env))
        self.uncertainty_set = resolve_uncertainty_set(env, uncertainty_set)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self.np_random, _ = seeding.np_random(seed)
        params = self.uncertainty_set.sample(self.np_random)
        return self.env.reset(options={**(options or {}), **params})


def random_adversary(observation: np.ndarray, params: dict[str, float], uncertainty_set: UncertaintySet,
                     rng: np.random.Generator) -> dict[str, float]:
    """The default dynamic adversary: a fresh uniform draw from the set at every step."""
    return uncertainty_set.sample(rng)


class DynamicAdversary(gym.Wrapper):
    """The dynamic model of robust RL: before every step an adversary chooses the model's parameters.

    ``adversary`` is either a function ``(observation, params, uncertainty_set, rng) -> params`` (default:
    :func:`random_adversary`, drawing from the environment's generator) or an agent with SB3's
    ``predict`` whose actions in [-1, 1]^d map linearly onto the box of the uncertainty set (to train or
    plug in an adversarial policy). The chosen parameters are clipped to the set; ``info`` reports them.
    """

    def __init__(self, env: gym.Env, adversary: Callable[..., Mapping[str, float]] | Agent | None = None,
                 uncertainty_set: Any = None):
        super().__init__(require_parametric(env))
        self.uncertainty_set = resolve_uncertainty_set(env, uncertainty_set)
        self.adversary = random_adversary if adversary is None else adversary
        if not (callable(self.adversary) or hasattr(self.adversary, "predict")):
            raise ValueError(f"adversary must be a function or an agent with predict, got {adversary!r}")
        self._observation: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._observation, info = self.env.reset(seed=seed, options=options)
        return self._observation, info

    def step(self, action: Any):
        if self._observation is None:
            raise RuntimeError("call reset before step")
        params = self.uncertainty_set.clip(self._adversary_params())
        self.env.unwrapped.set_params(**params)
        self._observation, reward, terminated, truncated, info = self.env.step(action)
        return self._observation, reward, terminated, truncated, info

    def _adversary_params(self) -> Mapping[str, float]:
        if hasattr(self.adversary, "predict"):
            action, _ = self.adversary.predict(self._observation, deterministic=True)
            unit = (np.clip(np.ravel(action), -1.0, 1.0) + 1.0) / 2.0
            return self.uncertainty_set.from_unit(unit)
        current = {name: self.env.unwrapped.get_params()[name] for name in self.uncertainty_set.names}
        return self.adversary(self._observation, current, self.uncertainty_set, self.np_random)
