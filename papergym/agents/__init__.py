"""The papers' agents and baselines, one module per paper, all with SB3's ``predict`` interface.

``AGENTS`` maps the names accepted by ``papergym evaluate --agent NAME`` to a factory that builds the
agent for a given environment. The learning algorithms POIS and TT-POIS (SB3 algorithms, so torch) are
exported lazily: ``from papergym.agents import TTPOIS`` imports them on first use.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

from papergym.agents.dlb import (
    AR2,
    UCB1,
    BatchExp3,
    Clairvoyant,
    DLinUCB,
    DynLinUCB,
    Exp3,
    Expert,
    LinUCB,
    LinUCBUnitNoise,
)
from papergym.agents.lqg import LQROptimal
from papergym.agents.robust import IWOCS, CartPoleLQR, PendulumSwingUp
from papergym.agents.rtb import RLB, RLBNN, SSMDP, LinearBidder, Mcpc
from papergym.core.agent import Agent, BaseAgent, RandomAgent


def _random(env: gym.Env) -> RandomAgent:
    return RandomAgent(env.observation_space, env.action_space)


AGENTS: dict[str, Callable[[gym.Env], Agent]] = {
    "random": _random,
    "lqr-optimal": LQROptimal.from_env,
    "cartpole-lqr": CartPoleLQR.from_env,
    "pendulum-swingup": PendulumSwingUp.from_env,
    "rlb": RLB.from_env,
    "rlb-nn": RLBNN.from_env,
    "ss-mdp": SSMDP.from_env,
    "mcpc": Mcpc.from_env,
    "lin": LinearBidder.from_env,
    "dynlin-ucb": DynLinUCB.from_env,
    "dlb-linucb": LinUCB.from_env,
    "dlb-linucb-unit-noise": LinUCBUnitNoise.from_env,
    "dlb-d-linucb": DLinUCB.from_env,
    "dlb-ar2": AR2.from_env,
    "dlb-exp3": Exp3.from_env,
    "dlb-batch-exp3": BatchExp3.from_env,
    "dlb-ucb1": UCB1.from_env,
    "dlb-clairvoyant": Clairvoyant.from_env,
}

_LAZY = {"POIS": "papergym.agents.ttpois", "TTPOIS": "papergym.agents.ttpois"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGENTS",
    "AR2",
    "IWOCS",
    "POIS",
    "RLB",
    "RLBNN",
    "SSMDP",
    "TTPOIS",
    "UCB1",
    "Agent",
    "BaseAgent",
    "BatchExp3",
    "CartPoleLQR",
    "Clairvoyant",
    "DLinUCB",
    "DynLinUCB",
    "Exp3",
    "Expert",
    "LQROptimal",
    "LinUCB",
    "LinUCBUnitNoise",
    "LinearBidder",
    "Mcpc",
    "PendulumSwingUp",
    "RandomAgent",
]
