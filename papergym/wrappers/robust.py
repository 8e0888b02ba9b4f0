"""Wrappers and evaluation for robust RL on parametric environments (see ``papergym.envs.robust``).

* :class:`FixedParams`: one transition model for every episode (a static RL problem).
* :class:`DomainRandomization`: a model drawn uniformly from the uncertainty set at each reset.
* :class:`DynamicAdversary`: an adversary changes the model at every step (the dynamic model).
* :func:`evaluate_params` / :func:`evaluate_grid`: returns of an agent on given models or on a grid over
  the uncertainty set, with the worst case, the average and a heat map for 2-D sets.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from papergym.core.agent import Agent
from papergym.core.validation import require_int
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


def evaluate_params(agent: Agent, env: EnvSource, params_list: Sequence[Mapping[str, float]],
                    n_episodes: int = 5, *, seed: int = 0, deterministic: bool = True,
                    visited: list[np.ndarray] | None = None) -> np.ndarray:
    """Returns of ``agent`` on each model of ``params_list``: an array (len(params_list), n_episodes).

    Episode ``e`` of every model starts from ``reset(seed=seed + e)``, so all models share the same
    initial-state draws (common random numbers: differences between models are due to the models).
    All episodes run side by side and the agent is queried once per step on the batch of the
    observations of the running episodes, which is what makes grids and CMA-ES searches affordable.
    ``visited``, when given, receives one array per episode (models in order, then episodes) of the
    observations the agent acted on.
    """
    n_episodes = require_int("n_episodes", n_episodes, low=1)
    if len(params_list) == 0:
        raise ValueError("params_list must hold at least one set of parameters, got an empty list")
    make = env_factory(env)
    envs, observations = [], []
    for params in params_list:
        for episode in range(n_episodes):
            instance = FixedParams(make(), params)
            observation, _ = instance.reset(seed=seed + episode)
            envs.append(instance)
            observations.append(observation)
    returns = np.zeros(len(envs))
    running = np.ones(len(envs), dtype=bool)
    observations = np.stack(observations)
    trajectories: list[list[np.ndarray]] = [[] for _ in envs]
    while running.any():
        indices = np.flatnonzero(running)
        if visited is not None:
            for index in indices:
                trajectories[index].append(observations[index].copy())
        actions, _ = agent.predict(observations[indices], deterministic=deterministic)
        for index, action in zip(indices, actions):
            observation, reward, terminated, truncated, _ = envs[index].step(action)
            observations[index] = observation
            returns[index] += float(reward)
            running[index] = not (terminated or truncated)
    for instance in envs:
        instance.close()
    if visited is not None:
        visited.extend(np.stack(trajectory) for trajectory in trajectories)
    return returns.reshape(len(params_list), n_episodes)


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

    def heatmap(self, path: Path | None = None, *, x: str | None = None, y: str | None = None,
                title: str = "", axes: Any = None) -> Any:
        """Mean return over two varying parameters (the set's two, or ``x``/``y``) as a heat map.

        With more than two parameters, the others must be fixed in the grid; when ``path`` is given the
        figure is saved there as PNG. Returns the matplotlib image.
        """
        x, y = self._heatmap_axes(x, y)
        xs = sorted({point[x] for point in self.points})
        ys = sorted({point[y] for point in self.points})
        table = np.full((len(ys), len(xs)), np.nan)
        for point, value in zip(self.points, self.mean_returns):
            table[ys.index(point[y]), xs.index(point[x])] = value
        import matplotlib

        if axes is None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure = None
        if axes is None:
            figure, axes = plt.subplots(figsize=(5, 4))
        image = axes.pcolormesh(xs, ys, table, shading="nearest", cmap="viridis")
        axes.set_xlabel(x)
        axes.set_ylabel(y)
        axes.set_title(title or f"mean return (worst {self.worst_case:.4g})")
        axes.figure.colorbar(image, ax=axes)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            axes.figure.tight_layout()
            axes.figure.savefig(path, dpi=120)
        if figure is not None and path is not None:
            plt.close(figure)
        return image

    def _heatmap_axes(self, x: str | None, y: str | None) -> tuple[str, str]:
        varying = [name for name in self.uncertainty_set.names if len({p[name] for p in self.points}) > 1]
        if x is None and y is None:
            if len(varying) != 2:
                raise ValueError(f"a heat map needs exactly two varying parameters (or x and y), got {varying}")
            return varying[0], varying[1]
        if x not in varying or y not in varying or x == y:
            raise ValueError(f"x and y must be two distinct varying parameters among {varying}, got {x!r}, {y!r}")
        others = [name for name in varying if name not in (x, y)]
        if others:
            raise ValueError(f"the parameters {others} also vary in the grid; fix them for a heat map")
        return x, y


def evaluate_grid(agent: Agent, env: EnvSource, uncertainty_set: Any = None, points_per_dim: int = 5,
                  n_episodes: int = 5, *, seed: int = 0, deterministic: bool = True) -> GridEvaluation:
    """Evaluate ``agent`` at every point of a grid over the uncertainty set (bounds included).

    The grid is :meth:`UncertaintySet.grid` (``points_per_dim`` values per parameter from the lower to
    the upper bound, both included); the default set is the environment's. Episodes are seeded as in
    :func:`evaluate_params`.
    """
    probe = env_factory(env)()
    uncertainty_set = resolve_uncertainty_set(require_parametric(probe), uncertainty_set)
    probe.close()
    points = uncertainty_set.grid(points_per_dim)
    returns = evaluate_params(agent, env, points, n_episodes, seed=seed, deterministic=deterministic)
    return GridEvaluation(uncertainty_set, points, returns)
