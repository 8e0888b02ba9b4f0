"""The baselines of the IWOCS comparison: SB3 agents trained on one fixed model (:func:`train_on_params`:
the nominal agent, or the worst corner found by :func:`worst_corner`) or with domain randomisation
(:func:`train_domain_randomization`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from papergym.agents.robust.evaluation import evaluate_params
from papergym.core.agent import Agent
from papergym.core.errors import PapergymError
from papergym.core.validation import require_int
from papergym.wrappers.robust import (
    DomainRandomization,
    EnvSource,
    FixedParams,
    env_factory,
    get_params,
    require_parametric,
    resolve_uncertainty_set,
)

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm


def _require_inner(inner: Any) -> type:
    from stable_baselines3.common.base_class import BaseAlgorithm

    if not (isinstance(inner, type) and issubclass(inner, BaseAlgorithm)):
        raise PapergymError(f"inner must be a Stable-Baselines3 algorithm class (PPO, SAC, DQN...), got {inner!r}")
    return inner


def _make_inner(inner: type, policy: Any, env: Any, seed: int, inner_kwargs: Mapping[str, Any] | None):
    """The inner SB3 algorithm; ``exploration_noise`` (a std, TD3's Gaussian noise) becomes its action noise."""
    _require_inner(inner)
    kwargs = {"verbose": 0, **(inner_kwargs or {})}
    noise = kwargs.pop("exploration_noise", None)
    if noise is not None:
        from stable_baselines3.common.noise import NormalActionNoise

        size = int(np.prod(env.action_space.shape))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(size), np.full(size, float(noise)))
    return inner(policy, env, seed=seed, **kwargs)


def train_on_params(inner: type, env: EnvSource, params: Mapping[str, float] | None,
                    total_timesteps: int, *, policy: Any = "MlpPolicy", seed: int = 0,
                    inner_kwargs: Mapping[str, Any] | None = None, callback: Any = None,
                    progress_bar: bool = False) -> BaseAlgorithm:
    """An SB3 agent trained on one fixed model: the nominal agent (``params=None`` keeps the environment's
    nominal parameters) or, with the worst corner, the worst-corner baseline."""
    instance = env_factory(env)()
    params = get_params(instance) if params is None else params
    model = _make_inner(inner, policy, FixedParams(instance, params), seed, inner_kwargs)
    return _learn(model, total_timesteps, callback, progress_bar)


def _learn(model: BaseAlgorithm, total_timesteps: int, callback: Any, progress_bar: bool) -> BaseAlgorithm:
    return model.learn(require_int("total_timesteps", total_timesteps, low=1), callback=callback,
                       progress_bar=progress_bar)


def train_domain_randomization(inner: type, env: EnvSource, total_timesteps: int, *,
                               uncertainty_set: Any = None, policy: Any = "MlpPolicy", seed: int = 0,
                               inner_kwargs: Mapping[str, Any] | None = None, callback: Any = None,
                               progress_bar: bool = False) -> BaseAlgorithm:
    """An SB3 agent trained with the model drawn uniformly from the uncertainty set at every episode."""
    instance = env_factory(env)()
    model = _make_inner(inner, policy, DomainRandomization(instance, uncertainty_set), seed, inner_kwargs)
    return _learn(model, total_timesteps, callback, progress_bar)


def worst_corner(agent: Agent, env: EnvSource, uncertainty_set: Any = None, n_episodes: int = 5,
                 seed: int = 0) -> dict[str, float]:
    """The corner of the uncertainty set where ``agent`` has its lowest mean return."""
    probe = require_parametric(env_factory(env)(), uncertainty_set)
    corners = resolve_uncertainty_set(probe, uncertainty_set).corners()
    returns = evaluate_params(agent, env, corners, n_episodes, seed=seed).mean(axis=1)
    return dict(corners[int(np.argmin(returns))])
