"""Seeded, deterministic rollouts of any agent with SB3's ``predict`` on any Gymnasium environment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from papergym.core.agent import Agent
from papergym.core.errors import PapergymError
from papergym.core.stats import Summary, summarize

#: Episode length of training and evaluation from the command line for an environment registered without a
#: time limit (the bandit's episode is the paper's whole trial of 10^6 rounds): pass ``--max-episode-steps``
#: for another length, e.g. the paper's horizon.
DEFAULT_EPISODE_LIMIT = 1000


def episode_limit(env_id: str, requested: int | None = None) -> int | None:
    """The episode length to train and evaluate ``env_id`` with: ``requested`` if given, else None where the
    id is registered with ``max_episode_steps`` (its own limit applies), else ``DEFAULT_EPISODE_LIMIT``."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise PapergymError(f"max_episode_steps must be an integer >= 1, got {requested!r}")
        return requested
    return None if gym.spec(env_id).max_episode_steps is not None else DEFAULT_EPISODE_LIMIT


@dataclass
class EvaluationResult:
    """Per-episode returns and lengths, and the per-step series of the requested ``info`` keys."""

    returns: np.ndarray
    lengths: np.ndarray
    info_series: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def summary(self, confidence: float = 0.95) -> Summary:
        """Mean episode return with a confidence interval."""
        return summarize(self.returns, confidence)


EnvLike = gym.Env | str | Callable[[], gym.Env]


def make_env(env: EnvLike, **kwargs) -> gym.Env:
    """An environment from an instance, a registered id (``papergym/LQG-v0``) or a zero-argument factory."""
    if isinstance(env, gym.Env):
        return env
    if isinstance(env, str):
        return gym.make(env, **kwargs)
    if callable(env):
        return env()
    raise TypeError(f"env must be a gymnasium.Env, an environment id or a factory, got {env!r}")


def evaluate(agent: Agent, env: EnvLike, n_episodes: int = 10, *, seed: int = 0,
             deterministic: bool = True, info_keys: Sequence[str] = (),
             max_steps_per_episode: int | None = None) -> EvaluationResult:
    """Roll ``agent`` out for ``n_episodes`` episodes and collect returns, lengths and info series.

    Episode ``i`` is reset with seed ``seed + i`` (and the agent reseeded with ``seed`` once, if it
    offers ``set_random_seed``), so a result depends only on the seed and the number of episodes asked.
    ``max_steps_per_episode`` guards environments without a time limit.
    """
    if n_episodes < 1:
        raise PapergymError(f"n_episodes must be >= 1, got {n_episodes!r}")
    if max_steps_per_episode is not None and max_steps_per_episode < 1:
        raise PapergymError(f"max_steps_per_episode must be >= 1, got {max_steps_per_episode!r}")
    env = make_env(env)
    if hasattr(agent, "set_random_seed"):
        agent.set_random_seed(seed)
    returns, lengths = np.zeros(n_episodes), np.zeros(n_episodes, dtype=np.int64)
    series: dict[str, list[np.ndarray]] = {key: [] for key in info_keys}
    for episode in range(n_episodes):
        episode_return, length, episode_series = _run_episode(
            agent, env, seed + episode, deterministic, info_keys, max_steps_per_episode)
        returns[episode], lengths[episode] = episode_return, length
        for key in info_keys:
            series[key].append(np.asarray(episode_series[key]))
    return EvaluationResult(returns, lengths, series)


def _run_episode(agent: Agent, env: gym.Env, seed: int, deterministic: bool, info_keys: Sequence[str],
                 max_steps: int | None) -> tuple[float, int, dict[str, list]]:
    observation, _ = env.reset(seed=seed)
    state, episode_start = None, np.ones((1,), dtype=bool)
    total, length, series = 0.0, 0, {key: [] for key in info_keys}
    while True:
        action, state = agent.predict(observation, state=state, episode_start=episode_start,
                                      deterministic=deterministic)
        observation, reward, terminated, truncated, info = env.step(action)
        episode_start = np.zeros((1,), dtype=bool)
        total += float(reward)
        length += 1
        for key in info_keys:
            if key not in info:
                raise KeyError(f"info has no key {key!r}; it has {sorted(info)}")
            series[key].append(info[key])
        if terminated or truncated or (max_steps is not None and length >= max_steps):
            return total, length, series
