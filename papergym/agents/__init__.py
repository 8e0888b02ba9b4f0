"""The papers' agents and baselines, one module per paper, all with SB3's ``predict`` interface.

``AGENTS`` maps the names accepted by ``papergym evaluate --agent NAME`` to a factory that builds the
agent for a given environment.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

from papergym.agents.lqg import LQROptimal
from papergym.core.agent import Agent, BaseAgent, RandomAgent


def _random(env: gym.Env) -> RandomAgent:
    return RandomAgent(env.observation_space, env.action_space)


AGENTS: dict[str, Callable[[gym.Env], Agent]] = {
    "random": _random,
    "lqr-optimal": LQROptimal.from_env,
}

__all__ = ["AGENTS", "Agent", "BaseAgent", "LQROptimal", "RandomAgent"]
