"""The papers' agents and baselines, one module per paper, all with SB3's ``predict`` interface.

``AGENTS`` maps the names accepted by ``papergym evaluate --agent NAME`` to a factory that builds the
agent for a given environment. The learning algorithms POIS and TT-POIS (SB3 algorithms, so torch) are
exported lazily: ``from papergym.agents import TTPOIS`` imports them on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import gymnasium as gym
import numpy as np

from papergym.agents.breaks import (
    AdaptiveLVBreakPolicy,
    BestOfTreatment,
    LVBreakPolicy,
    NoBreaks,
    OracleLV,
    PaperOracle,
    SafetyRateLimiter,
)
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
    UndiscountedDLinUCB,
)
from papergym.agents.dtr import LSVIUCB, DTRBandit, EpsilonGreedy, ExploreThenCommit, Greedy, OptimalRegime
from papergym.agents.lqg import LQROptimal
from papergym.agents.robust import IWOCS, CartPoleLQR, PendulumSwingUp
from papergym.agents.rtb import RLB, RLBNN, SSMDP, LinearBidder, Mcpc
from papergym.agents.threebody import DistanceHeuristic, FixedEta
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
    "dlb-undiscounted-d-linucb": UndiscountedDLinUCB.from_env,
    "dlb-ar2": AR2.from_env,
    "dlb-exp3": Exp3.from_env,
    "dlb-batch-exp3": BatchExp3.from_env,
    "dlb-ucb1": UCB1.from_env,
    "dlb-clairvoyant": Clairvoyant.from_env,
    # three-body time-stepping: the distance heuristic and one fixed-eta baseline per grid value
    "threebody-distance": DistanceHeuristic.from_env,
    **{f"threebody-eta-{eta:.0e}": partial(FixedEta.from_env, eta=eta) for eta in np.logspace(-4.0, -1.0, 10)},
    "breaks-lv": LVBreakPolicy.from_env,
    "breaks-best-of": BestOfTreatment.from_env,
    "breaks-no-breaks": NoBreaks.from_env,
    "breaks-rate-limiter": SafetyRateLimiter.from_env,
    "breaks-oracle": PaperOracle.from_env,
    "breaks-oracle-lv": OracleLV.from_env,
    "breaks-adaptive-lv": AdaptiveLVBreakPolicy.from_env,
    "dtr-bandit": DTRBandit.from_env,
    "dtr-greedy": Greedy.from_env,
    "dtr-epsilon-greedy": EpsilonGreedy.from_env,
    "dtr-lsvi-ucb": LSVIUCB.from_env,
    "dtr-etc": ExploreThenCommit.from_env,
    "dtr-optimal": OptimalRegime.from_env,
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
    "LSVIUCB",
    "POIS",
    "RLB",
    "RLBNN",
    "SSMDP",
    "TTPOIS",
    "UCB1",
    "AdaptiveLVBreakPolicy",
    "Agent",
    "BaseAgent",
    "BatchExp3",
    "BestOfTreatment",
    "CartPoleLQR",
    "Clairvoyant",
    "DLinUCB",
    "DTRBandit",
    "DistanceHeuristic",
    "DynLinUCB",
    "EpsilonGreedy",
    "Exp3",
    "Expert",
    "ExploreThenCommit",
    "FixedEta",
    "Greedy",
    "LQROptimal",
    "LVBreakPolicy",
    "LinUCB",
    "LinUCBUnitNoise",
    "LinearBidder",
    "Mcpc",
    "NoBreaks",
    "OptimalRegime",
    "OracleLV",
    "PaperOracle",
    "PendulumSwingUp",
    "RandomAgent",
    "SafetyRateLimiter",
    "UndiscountedDLinUCB",
]
