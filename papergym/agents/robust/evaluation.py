"""Evaluation of an agent on given models (:func:`evaluate_params`) and on a grid over the uncertainty set
(:func:`evaluate_grid`), through :func:`papergym.core.rollout.evaluate`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.core.agent import Agent
from papergym.core.errors import PapergymError
from papergym.core.rollout import evaluate
from papergym.core.validation import require_int
from papergym.envs.robust.parametric import UncertaintySet
from papergym.wrappers.robust import EnvSource, FixedParams, env_factory, require_parametric, resolve_uncertainty_set


class _TransitionRecorder(gym.Wrapper):
    """Keeps, per episode, every observation (the last one included) and every action taken."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.episodes: list[tuple[list[np.ndarray], list[np.ndarray]]] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self.episodes.append(([np.array(observation, copy=True)], []))
        return observation, info

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = self.env.step(action)
        observations, actions = self.episodes[-1]
        observations.append(np.array(observation, copy=True))
        actions.append(np.array(action, copy=True))
        return observation, reward, terminated, truncated, info


@dataclass
class Episode:
    """One recorded episode: ``observations`` (T + 1 of them, the last one after the final step), ``actions`` (T)."""

    observations: np.ndarray
    actions: np.ndarray

    @property
    def visited(self) -> np.ndarray:
        """The observations the agent acted on."""
        return self.observations[:-1]


def evaluate_params(agent: Agent, env: EnvSource, params_list: Sequence[Mapping[str, float]],
                    n_episodes: int = 5, *, seed: int = 0, deterministic: bool = True,
                    episodes: list[Episode] | None = None) -> np.ndarray:
    """Returns of ``agent`` on each model of ``params_list``: an array (len(params_list), n_episodes).

    Each model is evaluated by :func:`papergym.core.rollout.evaluate`: episode ``e`` of every model starts
    from ``reset(seed=seed + e)``, so all models share the same initial-state draws (common random numbers:
    differences between models are due to the models). ``episodes``, when given, receives every episode's
    observations and actions (models in order, then episodes).
    """
    n_episodes = require_int("n_episodes", n_episodes, low=1)
    if len(params_list) == 0:
        raise PapergymError("params_list must hold at least one set of parameters, got an empty list")
    make = env_factory(env)
    returns = np.zeros((len(params_list), n_episodes))
    for row, params in enumerate(params_list):
        instance = _TransitionRecorder(FixedParams(make(), params))
        returns[row] = evaluate(agent, instance, n_episodes, seed=seed, deterministic=deterministic).returns
        instance.close()
        if episodes is not None:
            episodes.extend(Episode(np.stack(observations), np.stack(actions))
                            for observations, actions in instance.episodes)
    return returns


@dataclass
class GridEvaluation:
    """Returns of an agent on a grid over an uncertainty set (``points[i]`` -> ``returns[i, episode]``)."""

    uncertainty_set: UncertaintySet
    points: list[dict[str, float]]
    returns: np.ndarray

    @property
    def mean_returns(self) -> np.ndarray:
        """The mean return at each grid point."""
        return self.returns.mean(axis=1)

    @property
    def worst_case(self) -> float:
        """The lowest mean return over the grid points."""
        return float(self.mean_returns.min())

    @property
    def worst_params(self) -> dict[str, float]:
        return dict(self.points[int(np.argmin(self.mean_returns))])

    @property
    def average(self) -> float:
        """The mean return over the grid points (the uniform average over the set)."""
        return float(self.mean_returns.mean())

    def rows(self) -> list[dict[str, float]]:
        """One row per grid point: its parameters and mean return (for a CSV file)."""
        return [{**point, "mean_return": float(value)} for point, value in zip(self.points, self.mean_returns)]


def evaluate_grid(agent: Agent, env: EnvSource, uncertainty_set: Any = None, points_per_dim: int = 5,
                  n_episodes: int = 5, *, seed: int = 0, deterministic: bool = True) -> GridEvaluation:
    """Evaluate ``agent`` at every point of a grid over the uncertainty set (bounds included).

    The grid is :meth:`UncertaintySet.grid` (``points_per_dim`` values per parameter from the lower to
    the upper bound, both included); the default set is the environment's. Episodes are seeded as in
    :func:`evaluate_params`.
    """
    probe = env_factory(env)()
    uncertainty_set = resolve_uncertainty_set(require_parametric(probe, uncertainty_set), uncertainty_set)
    probe.close()
    points = uncertainty_set.grid(points_per_dim)
    returns = evaluate_params(agent, env, points, n_episodes, seed=seed, deterministic=deterministic)
    return GridEvaluation(uncertainty_set, points, returns)
