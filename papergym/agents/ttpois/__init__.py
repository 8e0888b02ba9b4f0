"""Truncating trajectories in Monte-Carlo RL (Poiani, Metelli & Restelli, ICML 2023) and POIS
(Metelli, Papini, Faccio & Restelli, NeurIPS 2018).

* :mod:`~papergym.agents.ttpois.allocation`: the budget allocation (``robust_schedule``) that minimises
  the confidence width of the truncated return estimate, and that estimate.
* :class:`POIS` and :class:`TTPOIS`: Stable-Baselines3 algorithms, action-based (``"ActionPolicy"``) or
  parameter-based (``"HyperPolicy"``).
* :class:`~papergym.agents.ttpois.collection.TruncatedRollouts` collects trajectories of prescribed lengths.

    model = TTPOIS("HyperPolicy", "papergym/LQG-v0", budget=2_000, gamma=0.99, seed=0)
    model.learn(40_000)
"""

from papergym.agents.ttpois.algorithms import POIS, TTPOIS
from papergym.agents.ttpois.allocation import (
    TruncationSchedule,
    continuous_robust_reach,
    full_length_schedule,
    hoeffding_coefficients,
    robust_schedule,
    truncated_return_estimate,
)
from papergym.agents.ttpois.collection import TrajectoryBatch, TruncatedRollouts
from papergym.agents.ttpois.divergence import categorical_log_d2, gaussian_log_d2
from papergym.agents.ttpois.policies import ActionPolicy, Controller, HyperPolicy

__all__ = [
    "POIS",
    "TTPOIS",
    "ActionPolicy",
    "Controller",
    "HyperPolicy",
    "TrajectoryBatch",
    "TruncatedRollouts",
    "TruncationSchedule",
    "categorical_log_d2",
    "continuous_robust_reach",
    "full_length_schedule",
    "gaussian_log_d2",
    "hoeffding_coefficients",
    "robust_schedule",
    "truncated_return_estimate",
]
