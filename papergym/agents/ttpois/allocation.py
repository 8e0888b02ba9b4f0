"""A-priori allocation of an interaction budget over trajectories of different lengths.

A data-collection strategy spends a budget of ``Lambda`` transitions on ``m_h`` trajectories of length
``h`` (``1 <= h <= T``, ``sum_h h m_h = Lambda``). Writing ``n_t = sum_{h > t} m_h`` for the number of
trajectories that reach step ``t``, the truncated Monte-Carlo estimate of the discounted return

    J_hat = sum_{t < T} gamma^t (1 / n_t) sum_{i : h_i > t} r_t^(i)

is unbiased as soon as every ``n_t >= 1``. Trajectories are independent, and trajectory ``i`` contributes
``X_i = sum_{t < h_i} gamma^t r_t^(i) / n_t``, which lies in an interval of width
``R * A_{h_i}`` with ``A_h = sum_{t < h} gamma^t / n_t`` when rewards lie in an interval of width ``R``.
Hoeffding's inequality then gives, with probability at least ``1 - delta``,

    |J_hat - J| <= R sqrt(log(2 / delta) / 2 * sum_i A_{h_i}^2).

Summing by parts (``m_h = n_{h-1} - n_h``, ``n_T = 0``) turns the sum of squares into a separable one,

    sum_i A_{h_i}^2 = sum_{t < T} c_t / n_t,   c_t = G_t^2 - G_{t+1}^2 = gamma^{2t} + 2 gamma^t G_{t+1},

with ``G_t = sum_{l=t}^{T-1} gamma^l`` the discounted weight of the steps from ``t`` on. Since
``sum_t n_t = sum_h h m_h = Lambda``, the width is minimised by minimising ``sum_t c_t / n_t`` subject to
``sum_t n_t = Lambda``; the continuous solution is ``n_t = Lambda sqrt(c_t) / sum_s sqrt(c_s)``.
:func:`robust_schedule` solves the integer problem exactly (``n_t >= 1``, the whole budget spent) by
marginal allocation: each term is convex and decreasing in ``n_t``, so taking the largest marginal
decreases ``c_t / (n_t (n_t + 1))`` first is optimal, and because ``c_t`` decreases with ``t`` the result
is non-increasing in ``t``, i.e. a valid strategy with ``m_h = n_{h-1} - n_h >= 0``.

The schedule depends on ``gamma``, ``T`` and ``Lambda`` only, so it can drive any Monte-Carlo estimator
that averages per-step quantities over the trajectories that reach each step.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_int, require_real


def discounted_tail_weights(gamma: float, horizon: int) -> np.ndarray:
    """``G_t = sum_{l=t}^{T-1} gamma^l`` for ``t = 0..T`` (``G_T = 0``)."""
    powers = gamma ** np.arange(horizon, dtype=np.float64)
    return np.append(np.cumsum(powers[::-1])[::-1], 0.0)


def hoeffding_coefficients(gamma: float, horizon: int) -> np.ndarray:
    """``c_t = G_t^2 - G_{t+1}^2``: the weight of ``1 / n_t`` in the squared confidence width."""
    tail = discounted_tail_weights(gamma, horizon)
    return tail[:-1] ** 2 - tail[1:] ** 2


@dataclass(frozen=True)
class TruncationSchedule:
    """A data-collection strategy: how many trajectories reach each step, and their lengths.

    ``reach[t]`` is ``n_t`` (non-increasing, ``>= 1``); ``lengths`` lists one assigned length per
    trajectory, longest first; ``counts[h - 1]`` is ``m_h``.
    """

    reach: np.ndarray
    gamma: float

    @classmethod
    def from_lengths(cls, lengths, horizon: int, gamma: float) -> TruncationSchedule:
        """The schedule that collects trajectories of the given lengths (each in ``1..horizon``)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.size == 0 or lengths.min() < 1 or lengths.max() > horizon:
            raise PapergymError(f"lengths must be a non-empty list of integers in [1, {horizon}], "
                             f"got {lengths.tolist()}")
        reach = (lengths[:, None] > np.arange(horizon)[None, :]).sum(axis=0)
        return cls(reach, gamma)

    def __post_init__(self):
        reach = np.asarray(self.reach, dtype=np.int64)
        if reach.ndim != 1 or reach.size == 0 or reach.min() < 1 or np.any(np.diff(reach) > 0):
            raise PapergymError(f"reach must be a non-increasing sequence of integers >= 1, got {reach.tolist()}")
        object.__setattr__(self, "reach", reach)

    @property
    def horizon(self) -> int:
        return int(self.reach.size)

    @property
    def budget(self) -> int:
        """Transitions the schedule spends: ``sum_t n_t = sum_h h m_h``."""
        return int(self.reach.sum())

    @property
    def counts(self) -> np.ndarray:
        """``m_h`` for ``h = 1..T``."""
        return self.reach - np.append(self.reach[1:], 0)

    @property
    def lengths(self) -> np.ndarray:
        """One assigned length per trajectory, longest first."""
        horizons = np.arange(self.horizon, 0, -1)
        return np.repeat(horizons, self.counts[::-1])

    @property
    def step_weights(self) -> np.ndarray:
        """``a_t = gamma^t / n_t``: the weight of one reward at step ``t`` in the estimate."""
        return self.gamma ** np.arange(self.horizon) / self.reach

    def squared_width_factor(self) -> float:
        """``sum_t c_t / n_t``; the Hoeffding half-width is ``R sqrt(log(2/delta)/2 * this)``."""
        return float(np.sum(hoeffding_coefficients(self.gamma, self.horizon) / self.reach))

    def effective_full_trajectories(self) -> float:
        """The number of full-length trajectories whose confidence interval is as narrow as this one's."""
        return float(discounted_tail_weights(self.gamma, self.horizon)[0] ** 2 / self.squared_width_factor())

    def confidence_width(self, reward_range: float = 1.0, delta: float = 0.05) -> float:
        """Hoeffding half-width of the truncated estimate's ``1 - delta`` confidence interval."""
        reward_range = require_real("reward_range", reward_range, low=0.0)
        delta = require_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
        return reward_range * float(np.sqrt(np.log(2.0 / delta) / 2.0 * self.squared_width_factor()))

    def estimate(self, rewards: np.ndarray, lengths: np.ndarray) -> float:
        """The truncated estimate of the discounted return from trajectories collected by this schedule.

        ``rewards`` is ``(N, T)``, zero-padded after each trajectory; ``lengths`` the assigned lengths
        (a trajectory that terminated earlier keeps its assigned length: its later rewards are 0).
        """
        return truncated_return_estimate(rewards, lengths, self.gamma)


def truncated_return_estimate(rewards: np.ndarray, lengths: np.ndarray, gamma: float) -> float:
    """``sum_t gamma^t mean_{i : h_i > t} r_t^(i)`` over trajectories of assigned lengths ``h_i``."""
    rewards = np.asarray(rewards, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if rewards.ndim != 2 or lengths.shape != (rewards.shape[0],):
        raise PapergymError(f"rewards must be (N, T) and lengths (N,), got {rewards.shape} and {lengths.shape}")
    reaches = lengths[:, None] > np.arange(rewards.shape[1])[None, :]
    reach = reaches.sum(axis=0)
    if np.any(reach == 0):
        raise PapergymError(f"every step needs at least one trajectory reaching it; reach = {reach.tolist()}")
    per_step = (rewards * reaches).sum(axis=0) / reach
    return float(np.sum(gamma ** np.arange(rewards.shape[1]) * per_step))


def full_length_schedule(budget: int, horizon: int, gamma: float) -> TruncationSchedule:
    """The usual strategy: ``budget // horizon`` trajectories of length ``horizon``."""
    budget, horizon = _check_budget(budget, horizon)
    return TruncationSchedule(np.full(horizon, budget // horizon), _check_gamma(gamma))


def robust_schedule(budget: int, horizon: int, gamma: float) -> TruncationSchedule:
    """The strategy that minimises the Hoeffding width of the truncated estimate for ``budget`` transitions.

    Exact integer optimum of ``min sum_t c_t / n_t`` s.t. ``sum_t n_t = budget``, ``n_t >= 1`` integer.
    """
    budget, horizon = _check_budget(budget, horizon)
    coefficients = hoeffding_coefficients(_check_gamma(gamma), horizon)
    reach = _reach_above_threshold(coefficients, budget)
    _spend_greedily(reach, coefficients, budget - int(reach.sum()))
    return TruncationSchedule(reach, gamma)


def continuous_robust_reach(budget: int, horizon: int, gamma: float) -> np.ndarray:
    """The continuous relaxation's optimum ``n_t = budget sqrt(c_t) / sum_s sqrt(c_s)`` (not integer)."""
    budget, horizon = _check_budget(budget, horizon)
    root = np.sqrt(hoeffding_coefficients(_check_gamma(gamma), horizon))
    return budget * root / root.sum()


def _reach_above_threshold(coefficients: np.ndarray, budget: int) -> np.ndarray:
    """Counts that take every marginal decrease above a threshold, spending at most ``budget``.

    With threshold ``lam``, step ``t`` takes its ``k``-th extra trajectory iff
    ``c_t / (k (k + 1)) > lam``, i.e. ``k < (sqrt(1 + 4 c_t / lam) - 1) / 2``. Bisection on ``lam`` finds
    the largest spend not above the budget; the few units left are placed greedily.
    """

    def reach_for(threshold: float) -> np.ndarray:
        bound = (np.sqrt(1.0 + 4.0 * coefficients / threshold) - 1.0) / 2.0
        return 1 + np.maximum(np.ceil(bound) - 1, 0).astype(np.int64)

    high = float(coefficients.max())  # reach_for(high) is all ones, at most the budget
    low = high / (2.0 * budget * (budget + 1.0))  # gives the largest c_t more than the budget alone
    for _ in range(200):
        middle = np.sqrt(low * high)
        if reach_for(middle).sum() > budget:
            low = middle
        else:
            high = middle
        if high / low < 1 + 1e-12:
            break
    return reach_for(high)


def _spend_greedily(reach: np.ndarray, coefficients: np.ndarray, remaining: int) -> None:
    """Give ``remaining`` more trajectories one at a time where ``c_t / n_t`` drops most (ties: earliest t)."""
    heap = [(-c / (n * (n + 1.0)), t) for t, (c, n) in enumerate(zip(coefficients, reach))]
    heapq.heapify(heap)
    for _ in range(remaining):
        _, t = heapq.heappop(heap)
        reach[t] += 1
        n = reach[t]
        heapq.heappush(heap, (-coefficients[t] / (n * (n + 1.0)), t))


def _check_budget(budget: int, horizon: int) -> tuple[int, int]:
    horizon = require_int("horizon", horizon, low=1)
    budget = require_int("budget", budget, low=horizon)
    return budget, horizon


def _check_gamma(gamma: float) -> float:
    return require_real("gamma", gamma, low=0.0, high=1.0, low_open=True)
