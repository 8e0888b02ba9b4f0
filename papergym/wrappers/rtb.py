"""Continuous-action views of ``papergym/RTB-v0`` for Stable-Baselines3 (SAC, TD3, PPO with a Box policy).

* :class:`ContinuousBid`: the action in [-1, 1] is the bid itself, scaled onto 0..max_bid.
* :class:`BidMultiplier`: the action in [-1, 1] scales the linear bid b0 * theta / theta_avg by a
  factor in [1 / max_multiplier, max_multiplier] (log scale; 0 means the linear bid). This is the common
  deep-RL bidding formulation: the policy adjusts a bid multiplier over time while the pCTR-proportional
  linear bid carries the value of each request.

    env = BidMultiplier(gymnasium.make("papergym/RTB-v0"))
    model = stable_baselines3.PPO("MlpPolicy", env)
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from papergym.core.errors import PapergymError
from papergym.core.validation import require_real, validated_action

UNIT_BOX = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)


def _bidding_env(env: gym.Env) -> Any:
    base = env.unwrapped
    if not hasattr(base, "problem") or not hasattr(base, "current_pctr"):
        raise PapergymError(f"env must be a papergym/RTB-v0 environment, got {env!r}")
    return base


class ContinuousBid(gym.ActionWrapper):
    """Action a in [-1, 1] -> bid round((a + 1) / 2 * max_bid)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.max_bid = _bidding_env(env).problem.max_bid
        self.action_space = UNIT_BOX

    def action(self, action: Any) -> int:
        value = float(validated_action(self.action_space, action)[0])
        return round((value + 1.0) / 2.0 * self.max_bid)


def multiplier_bids(actions: Any, pctrs: Any, b0: float, theta_avg: float, max_multiplier: float,
                    max_bid: int) -> np.ndarray:
    """Bids min(max_bid, floor(max_multiplier**a * b0 * theta / theta_avg)) for arrays of actions a."""
    multipliers = np.exp(math.log(max_multiplier) * np.asarray(actions, dtype=np.float64).reshape(-1))
    linear_bids = b0 * np.asarray(pctrs, dtype=np.float64).reshape(-1) / theta_avg
    return np.minimum(max_bid, np.floor(multipliers * linear_bids)).astype(np.int64)


class BidMultiplier(gym.ActionWrapper):
    """Action a in [-1, 1] -> bid min(max_bid, int(max_multiplier**a * b0 * theta / theta_avg)).

    ``b0`` is the base bid of the linear bidder (default: the campaign's training CPM, the average price
    of a won impression; pass a tuned ``LinearBidder.b0`` to start from Lin).
    """

    def __init__(self, env: gym.Env, b0: float | None = None, max_multiplier: float = 8.0):
        super().__init__(env)
        base = _bidding_env(env)
        self.max_bid = base.problem.max_bid
        self.theta_avg = base.problem.theta_avg
        self.b0 = base.campaign.cpm if b0 is None else require_real("b0", b0, low=0.0)
        self.max_multiplier = require_real("max_multiplier", max_multiplier, low=1.0)
        self.action_space = UNIT_BOX

    def action(self, action: Any) -> int:
        action = validated_action(self.action_space, action)
        return int(multiplier_bids(action, self.env.unwrapped.current_pctr, self.b0, self.theta_avg,
                                   self.max_multiplier, self.max_bid)[0])
