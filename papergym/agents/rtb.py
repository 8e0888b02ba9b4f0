"""The bidders of Cai et al. (WSDM 2017) for ``papergym/RTB-v0``: RLB (dynamic programming), its neural
large-scale approximation RLB-NN, and the paper's baselines SS-MDP, Mcpc and Lin (plus constant and
random bids).

RLB solves the budget-constrained MDP with the paper's approximation m(delta | x) ~ m(delta): with
V(0, b) = 0,

    V(t, b) = V(t-1, b) + sum_{delta=0}^{a(t,b)} m(delta) (theta_avg + V(t-1, b-delta) - V(t-1, b)),

where a(t, b) is the largest delta <= min(b, max_bid) with theta_avg + V(t-1, b-delta) - V(t-1, b) >= 0
(the difference decreases in delta, so the sum stops at its first negative term). At state
(t, b, theta) RLB bids the largest delta <= min(b, max_bid) with theta + V(t-1, b-delta) - V(t-1, b) >= 0.
The solve is compiled with numba: O(T * B * a) cell work, well under a second for T = 1000, B ~ 2000.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from papergym.core.agent import BaseAgent
from papergym.core.errors import PapergymError
from papergym.core.validation import renamed_argument, require_choice, require_int, require_positive, require_real
from papergym.envs.rtb import MAX_PRICE, BiddingProblem, Campaign, RTBConfig, RTBVectorEnv
from papergym.envs.rtb.rtb import horizon_argument
from papergym.wrappers.rtb import multiplier_bids

#: The base-bid grid of the authors' tuned Lin models: b0 = 5, 10, ..., 300, the grid their stored tuning
#: curves cover (han-cai/rlb-dp, ``data/ipinyou-data/<campaign>/bid-model/lin-bid_1000_<c0>_clk_<value>.pickle``,
#: commit 1eeb9e475b7740567a4e6aa9813cb3700a1282bb), the most clicks winning and ties going to the larger b0.
LIN_BASE_BID_GRID = tuple(range(5, 301, 5))
#: The grid of the authors' first release (commit 0a7de7eb108fc7c74a4aee68c75822e92b8b093c, ``python/linear.py``:
#: b0 = 2, 8, ..., 296 tuned on the validation episodes, ties going to the smaller b0), which their README table of
#: that commit (Lin 63 clicks on 2997 at c0 = 1/32) comes from.
FIRST_RELEASE_LIN_BASE_BID_GRID = tuple(range(2, 297, 6))


# --- the dynamic programme ---------------------------------------------------------------------------

@numba.njit(cache=True)
def _value_row(pdf: np.ndarray, theta_avg: float, max_bid: int, previous: np.ndarray, current: np.ndarray) -> None:
    """One step of the recursion of the module docstring: V(t, .) into ``current`` from V(t - 1, .)."""
    for b in range(current.size):
        base = previous[b]
        total = 0.0
        for delta in range(min(b, max_bid) + 1):
            gain = theta_avg + previous[b - delta] - base
            if gain < 0.0:
                break
            total += pdf[delta] * gain
        current[b] = base + total


@numba.njit(cache=True)
def _value_iteration(pdf: np.ndarray, theta_avg: float, max_bid: int, values: np.ndarray) -> None:
    """Fill rows 1..T of ``values`` (row 0 = V(0, .) = 0) with the recursion of the module docstring."""
    for t in range(1, values.shape[0]):
        _value_row(pdf, theta_avg, max_bid, values[t - 1], values[t])


@numba.njit(cache=True)
def _bids_from_values(values: np.ndarray, auctions_left: np.ndarray, budget_left: np.ndarray,
                      pctrs: np.ndarray, max_bid: int) -> np.ndarray:
    """Largest delta <= min(b, max_bid) with theta + V(t-1, b-delta) - V(t-1, b) >= 0, per request."""
    bids = np.zeros(auctions_left.size, dtype=np.int64)
    for i in range(auctions_left.size):
        t, b = auctions_left[i], budget_left[i]
        if t < 1 or b < 0:
            continue
        row = values[min(t, values.shape[0]) - 1]
        b = min(b, row.size - 1)
        bid = 0
        for delta in range(1, min(b, max_bid) + 1):
            if pctrs[i] + row[b - delta] - row[b] < 0.0:
                break
            bid = delta
        bids[i] = bid
    return bids


def _budget_argument(budget: int | None, B: int | None) -> int:
    """``budget``, or the deprecated keyword ``B`` (with a DeprecationWarning); both given must agree."""
    return renamed_argument("budget", budget, "B", B)


def _check_dp_arguments(pdf: Any, theta_avg: float, horizon: int, budget: int, max_bid: int) -> np.ndarray:
    pdf = np.asarray(pdf, dtype=np.float64)
    if pdf.ndim != 1 or pdf.size < 1 or np.any(pdf < 0) or not np.all(np.isfinite(pdf)):
        raise PapergymError(f"pdf must be a 1-D array of non-negative probabilities, got {pdf!r}")
    require_positive("theta_avg", theta_avg)
    require_int("horizon", horizon, low=0)
    require_int("budget", budget, low=0)
    require_int("max_bid", max_bid, low=0)
    # Prices above the pdf's support have probability 0.
    return np.concatenate([pdf, np.zeros(max(0, max_bid + 1 - pdf.size))])


def solve_value_function(pdf: Any, theta_avg: float, horizon: int | None = None, budget: int | None = None,
                         max_bid: int = MAX_PRICE, *, T: int | None = None, B: int | None = None) -> np.ndarray:
    """V(t, b) for t = 0..T, b = 0..B (shape (T+1, B+1)) by the paper's recursion (numba-compiled), with
    T = ``horizon`` and B = ``budget`` (the keywords ``T`` and ``B`` are deprecated).

    ``pdf[delta]`` is the market-price probability m(delta), delta = 0..len(pdf)-1.
    """
    horizon, budget = horizon_argument(horizon, T), _budget_argument(budget, B)
    pdf = _check_dp_arguments(pdf, theta_avg, horizon, budget, max_bid)
    values = np.zeros((horizon + 1, budget + 1))
    _value_iteration(pdf, float(theta_avg), int(max_bid), values)
    return values


def solve_value_function_numpy(pdf: Any, theta_avg: float, horizon: int | None = None, budget: int | None = None,
                               max_bid: int = MAX_PRICE, *, T: int | None = None,
                               B: int | None = None) -> np.ndarray:
    """The same recursion in plain numpy (vectorised over b and delta, a Python loop over t): the
    reference of the DP benchmark and of the tests."""
    horizon, budget = horizon_argument(horizon, T), _budget_argument(budget, B)
    pdf = _check_dp_arguments(pdf, theta_avg, horizon, budget, max_bid)
    values = np.zeros((horizon + 1, budget + 1))
    budgets = np.arange(budget + 1)[:, None]
    deltas = np.arange(max_bid + 1)[None, :]
    feasible = deltas <= budgets
    lower = np.maximum(budgets - deltas, 0)
    weights = pdf[: max_bid + 1][None, :]
    for t in range(1, horizon + 1):
        previous = values[t - 1]
        gains = theta_avg + previous[lower] - previous[:, None]
        # Keep the terms up to the first negative one (a(t, b)), as the recursion prescribes.
        kept = np.logical_and.accumulate(feasible & (gains >= 0.0), axis=1)
        values[t] = previous + np.sum(np.where(kept, weights * gains, 0.0), axis=1)
    return values


def bids_from_value_function(values: np.ndarray, auctions_left: Any, budget_left: Any, pctrs: Any,
                             max_bid: int = MAX_PRICE) -> np.ndarray:
    """RLB's bids for a batch of states (t, b, theta) given V from :func:`solve_value_function`."""
    auctions_left = np.atleast_1d(np.asarray(auctions_left, dtype=np.int64))
    budget_left = np.atleast_1d(np.asarray(budget_left, dtype=np.int64))
    pctrs = np.atleast_1d(np.asarray(pctrs, dtype=np.float64))
    auctions_left, budget_left, pctrs = np.broadcast_arrays(auctions_left, budget_left, pctrs)
    return _bids_from_values(values, np.ascontiguousarray(auctions_left), np.ascontiguousarray(budget_left),
                             np.ascontiguousarray(pctrs), int(max_bid))


# --- agents ------------------------------------------------------------------------------------------

class Bidder(BaseAgent):
    """Base of the bidders: decodes the observation into (t, b, theta) and caps the bid at min(b, max_bid).

    Subclasses implement ``bids(auctions_left, budget_left, pctrs) -> integer bids``; ``predict`` follows
    SB3's interface, so ``evaluate_policy`` evaluates these agents as it does SB3 models.
    """

    def __init__(self, problem: BiddingProblem, seed: int | None = None):
        super().__init__(problem.observation_space(), spaces.Discrete(problem.max_bid + 1), seed)
        self.problem = problem

    @staticmethod
    def _env_parts(env: gym.Env | gym.vector.VectorEnv) -> tuple[Campaign, BiddingProblem]:
        config = getattr(env.unwrapped, "config", None)
        if not isinstance(config, RTBConfig):
            raise PapergymError(f"env must be a papergym/RTB-v0 environment, got {env!r}")
        return config.campaign, config.problem

    def bids(self, auctions_left: np.ndarray, budget_left: np.ndarray, pctrs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        auctions_left, budget_left, pctrs = self.problem.decode(observations)
        bids = self.bids(auctions_left, budget_left, pctrs)
        return np.clip(bids, 0, np.minimum(budget_left, self.problem.max_bid)).astype(np.int64)


class RLB(Bidder):
    """The paper's RLB: the exact DP value function V(t, b) and the bid rule of the module docstring."""

    def __init__(self, campaign: Campaign, problem: BiddingProblem):
        super().__init__(problem)
        self.theta_avg = campaign.theta_avg
        self.values = solve_value_function(campaign.market_price_pdf, campaign.theta_avg, problem.horizon,
                                           problem.budget, problem.max_bid)

    @classmethod
    def from_env(cls, env: gym.Env) -> RLB:
        return cls(*cls._env_parts(env))

    def bids(self, auctions_left, budget_left, pctrs):
        return bids_from_value_function(self.values, auctions_left, budget_left, pctrs, self.problem.max_bid)


class SSMDP(RLB):
    """SS-MDP: RLB's value function, bidding a(t, b) as if every request had the average CTR theta_avg."""

    def bids(self, auctions_left, budget_left, pctrs):
        return super().bids(auctions_left, budget_left, np.full(np.shape(pctrs), self.theta_avg))


class Mcpc(Bidder):
    """Bid the expected value of the request at the training cost per click: a = int(CPC_train * theta)."""

    def __init__(self, campaign: Campaign, problem: BiddingProblem):
        super().__init__(problem)
        self.cpc = campaign.cpc

    @classmethod
    def from_env(cls, env: gym.Env) -> Mcpc:
        return cls(*cls._env_parts(env))

    def bids(self, auctions_left, budget_left, pctrs):
        return np.floor(self.cpc * np.asarray(pctrs)).astype(np.int64)


class LinearBidder(Bidder):
    """Lin: a = int(b0 * theta / theta_avg), with the base bid b0 tuned for the most clicks (``tune``).

    ``b0`` may be an array with one base bid per environment of a vector env (used by ``tune`` to try
    the whole grid in one replay).
    """

    def __init__(self, campaign: Campaign, problem: BiddingProblem, b0: float | np.ndarray):
        super().__init__(problem)
        self.theta_avg = campaign.theta_avg
        self.b0 = b0 if isinstance(b0, np.ndarray) else require_real("b0", b0, low=0.0)

    @classmethod
    def from_env(cls, env: gym.Env) -> LinearBidder:
        """Lin tuned on the campaign's validation log (the env's own log if it has none)."""
        campaign, problem = cls._env_parts(env)
        split = "validation" if "validation" in campaign.logs else env.unwrapped.config.split
        return cls.tune(campaign, problem, split)

    @classmethod
    def tune(cls, campaign: Campaign, problem: BiddingProblem, split: str = "validation",
             grid: tuple[int, ...] = LIN_BASE_BID_GRID, ties: str = "larger") -> LinearBidder:
        """Lin with the b0 of ``grid`` that wins the most clicks over the episodes of ``split``; ``ties``
        (``"larger"``, the authors' later code, or ``"smaller"``, their first release) says which b0 wins a
        tie. The whole grid is replayed at once on a vector env; ``tuning_clicks`` keeps the curve."""
        require_choice("ties", ties, ("larger", "smaller"))
        grid_array = np.asarray(grid, dtype=np.float64)
        if grid_array.ndim != 1 or grid_array.size == 0 or np.any(grid_array < 0):
            raise PapergymError(f"grid must be a non-empty sequence of base bids >= 0, got {grid!r}")
        config = RTBConfig.build(campaign, split, problem.horizon, 1.0, problem.budget,
                                 episode_order="sequential", max_bid=problem.max_bid)
        n_episodes = config.n_episodes
        candidates = cls(campaign, problem, np.repeat(grid_array, n_episodes))
        clicks = replay(candidates, config, repeats=len(grid)).clicks.reshape(len(grid), n_episodes).sum(axis=1)
        best = len(grid) - 1 - int(np.argmax(clicks[::-1])) if ties == "larger" else int(np.argmax(clicks))
        bidder = cls(campaign, problem, float(grid_array[best]))
        bidder.tuning_clicks = dict(zip(grid_array.tolist(), clicks.tolist()))
        return bidder

    def bids(self, auctions_left, budget_left, pctrs):
        return np.floor(self.b0 * np.asarray(pctrs) / self.theta_avg).astype(np.int64)


class ConstantBidder(Bidder):
    """The same bid for every request."""

    def __init__(self, problem: BiddingProblem, bid: int):
        super().__init__(problem)
        self.bid = require_int("bid", bid, low=0, high=problem.max_bid)

    def bids(self, auctions_left, budget_left, pctrs):
        return np.full(np.shape(pctrs), self.bid, dtype=np.int64)


class RandomBidder(Bidder):
    """Bids drawn uniformly from the integers low..high with the agent's own seeded generator."""

    def __init__(self, problem: BiddingProblem, low: int = 0, high: int | None = None, seed: int | None = None):
        super().__init__(problem, seed)
        self.high = problem.max_bid if high is None else require_int("high", high, low=0, high=problem.max_bid)
        self.low = require_int("low", low, low=0, high=self.high)

    def bids(self, auctions_left, budget_left, pctrs):
        return self.rng.integers(self.low, self.high + 1, size=np.shape(pctrs))


# --- replaying the paper's evaluation ----------------------------------------------------------------

@dataclass
class ReplayResult:
    """Per-episode totals of a replay: auctions, impressions (wins), clicks and cost."""

    auctions: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    cost: np.ndarray

    def totals(self) -> dict[str, float]:
        """The paper's table row: totals, win rate, CPM (cost per impression) and eCPC (cost per click)."""
        auctions, impressions = int(self.auctions.sum()), int(self.impressions.sum())
        clicks, cost = int(self.clicks.sum()), int(self.cost.sum())
        return {"auctions": auctions, "impressions": impressions, "clicks": clicks, "cost": cost,
                "win_rate": impressions / auctions if auctions else 0.0,
                "cpm": cost / impressions if impressions else 0.0,
                "ecpc": cost / clicks if clicks else float("inf")}


def replay(agent: Any, config: RTBConfig, repeats: int = 1, seed: int = 0) -> ReplayResult:
    """Play every evaluation episode of ``config``'s log once (``repeats`` times side by side, for agents
    that differ per copy) with ``agent.predict`` on a sequential vector env; per-episode totals.

    This is the paper's evaluation loop, and the package's one loop for bidding: it is a log replay, every
    test episode played exactly once in parallel on one vector env (with resets of the ended sub-envs only),
    which :func:`papergym.core.rollout.evaluate`'s seeded episodes on a single env do not do. The log is
    replayed in order, so ``seed`` reaches only an agent's own randomness (``set_random_seed``, if it has
    one) and the vector env's generator, which sequential episodes never draw from.
    """
    if config.episode_order != "sequential":
        raise PapergymError(f"replay needs episode_order='sequential', got {config.episode_order!r}")
    envs = RTBVectorEnv(config.n_episodes * repeats, autoreset_mode=AutoresetMode.DISABLED,
                        campaign=config.campaign, split=config.split, horizon=config.problem.horizon,
                        budget=config.problem.budget, reward=config.reward, episode_order="sequential",
                        max_bid=config.problem.max_bid)
    observations, _ = envs.reset(seed=seed)
    if hasattr(agent, "set_random_seed"):
        agent.set_random_seed(seed)
    totals = {key: np.zeros(envs.num_envs, dtype=np.int64) for key in ("auctions", "win", "click", "cost")}
    running = np.ones(envs.num_envs, dtype=bool)
    while running.any():
        actions, _ = agent.predict(observations, deterministic=True)
        observations, _, terminated, _, info = envs.step(np.asarray(actions, dtype=np.int64))
        totals["auctions"] += running
        for key in ("win", "click", "cost"):
            totals[key] += np.where(running, info[key], 0)
        running &= ~terminated
        if terminated.any() and running.any():  # autoreset is disabled: ended episodes must be reset to step on
            observations, _ = envs.reset(options={"reset_mask": terminated})
    return ReplayResult(totals["auctions"], totals["win"], totals["click"], totals["cost"])


def evaluation_config(campaign: Campaign, split: str, horizon: int | None = None, c0: float = 1 / 32,
                      max_bid: int = MAX_PRICE, *, T: int | None = None) -> RTBConfig:
    """The paper's evaluation setting on a campaign's log: sequential episodes of ``horizon`` auctions
    (default 1000; the keyword ``T`` is deprecated), B = int(CPM c0 T)."""
    horizon = horizon_argument(horizon, T, default=1000)
    return RTBConfig.build(campaign, split, horizon, c0, episode_order="sequential", max_bid=max_bid)



class MultiplierPolicy(Bidder):
    """A policy trained on ``papergym.wrappers.rtb.BidMultiplier`` (e.g. an SB3 PPO model), bidding on the
    plain environment: its action a in [-1, 1] becomes the bid max_multiplier**a * b0 * theta / theta_avg."""

    def __init__(self, model: Any, problem: BiddingProblem, b0: float, max_multiplier: float):
        super().__init__(problem)
        self.model, self.b0, self.max_multiplier = model, b0, max_multiplier

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        actions, _ = self.model.predict(observations, deterministic=deterministic)
        _, budget_left, pctrs = self.problem.decode(observations)
        bids = multiplier_bids(actions, pctrs, self.b0, self.problem.theta_avg, self.max_multiplier,
                               self.problem.max_bid)
        return np.clip(bids, 0, budget_left).astype(np.int64)


# --- large scale: RLB-NN -----------------------------------------------------------------------------

RLBNN_MAPPINGS = ("MapD", "MapA", "Seg")
_MAPPING_CODES = {name: code for code, name in enumerate(RLBNN_MAPPINGS)}
#: States (and requests per evaluation chunk) of RLB-NN's bid check; budgets per held-out row of its error
#: (the authors sample 1,000 budgets per row too).
ACCURACY_STATES, ACCURACY_CHUNK, ACCURACY_BUDGETS = 10_000, 500, 1000
#: The authors' network (han-cai/rlb-dp, ``python/func_approx.py``, commit 1eeb9e47): two tanh layers of 30 and
#: 15 units; they report its error as RMSE / theta_avg over the DP's rows n > 50 and budgets b >= 800 with D != 0.
AUTHORS_HIDDEN = (30, 15)
AUTHORS_MIN_ROW, AUTHORS_MIN_BUDGET = 50, 800
#: Up to this T0 every row of the exact DP is kept for the fit; above it, about this many rows.
KEPT_ROWS = 128


@numba.njit(cache=True)
def _increment_rows(pdf: np.ndarray, theta_avg: float, max_bid: int, horizon: int, width: int,
                    kept_rows: np.ndarray) -> np.ndarray:
    """D(t, b) = V(t, b+1) - V(t, b), b = 0..width-1, at the ascending ``kept_rows`` of the recursion of
    :func:`_value_iteration` solved to ``horizon`` (same arithmetic), holding two rows of V, not the table."""
    kept = np.zeros((kept_rows.size, width))
    values = np.zeros((2, width + 1))
    k = 0
    while k < kept_rows.size and kept_rows[k] == 0:
        k += 1
    for t in range(1, horizon + 1):
        previous, current = values[(t - 1) % 2], values[t % 2]
        _value_row(pdf, theta_avg, max_bid, previous, current)
        while k < kept_rows.size and kept_rows[k] == t:
            for b in range(width):
                kept[k, b] = current[b + 1] - current[b]
            k += 1
    return kept


def solve_increment_rows(pdf: Any, theta_avg: float, horizon: int, width: int, rows: Any,
                         max_bid: int = MAX_PRICE) -> np.ndarray:
    """D(t, b) for the given rows t (0..``horizon``) and b = 0..``width`` - 1: the exact DP of
    :func:`solve_value_function` in O(``width``) memory, compiled with numba."""
    pdf = _check_dp_arguments(pdf, theta_avg, horizon, width, max_bid)
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 1 or np.any(np.diff(rows) <= 0) or (rows.size and (rows[0] < 0 or rows[-1] > horizon)):
        raise PapergymError(f"rows must increase strictly within [0, {horizon}], got {rows.tolist()}")
    require_int("width", width, low=1)
    return _increment_rows(pdf, float(theta_avg), int(max_bid), int(horizon), int(width), rows)


@numba.njit(cache=True)
def _network_increment(weights, biases, theta_avg: float, horizon: int, width: int, row: float, budget: float,
                       first: np.ndarray, second: np.ndarray) -> float:
    """theta_avg exp(f(row, budget)), f the tanh MLP on the features of :func:`_features` (buffers given)."""
    first[0] = row / horizon
    first[1] = budget / width
    first[2] = np.log1p(budget / max(row, 1.0)) / np.log1p(width)
    size = 3
    for layer in range(len(weights)):
        weight, bias = weights[layer], biases[layer]
        for j in range(weight.shape[1]):
            total = bias[j]
            for i in range(size):
                total += first[i] * weight[i, j]
            second[j] = total if layer == len(weights) - 1 else np.tanh(total)
        size = weight.shape[1]
        first, second = second, first
    return theta_avg * np.exp(first[0])


@numba.njit(cache=True)
def _network_increments(weights, biases, theta_avg: float, horizon: int, width: int, rows: np.ndarray,
                        budgets: np.ndarray, buffer_size: int) -> np.ndarray:
    first, second = np.empty(buffer_size), np.empty(buffer_size)
    out = np.empty(rows.size)
    for i in range(rows.size):
        out[i] = _network_increment(weights, biases, theta_avg, horizon, width, rows[i], budgets[i], first, second)
    return out


def _features(t: np.ndarray, b: np.ndarray, horizon: int, width: int) -> np.ndarray:
    """The network's input from (t, b): t / T0, b / width and the budget per auction log(1 + b / t), scaled."""
    t, b = np.ravel(t).astype(np.float64), np.ravel(b).astype(np.float64)
    per_auction = np.log1p(b / np.maximum(t, 1.0)) / np.log1p(width)
    return np.stack([t / horizon, b / width, per_auction], axis=1)


@dataclass(frozen=True)
class IncrementNetwork:
    """D(t, b) = V(t, b+1) - V(t, b) ~ theta_avg exp(f(t, b)), f a small tanh MLP (evaluated by a numba
    kernel, the same arithmetic in the agent and in :func:`replay_rlbnn`).

    ``horizon`` (T0) and ``width`` scale the inputs; budgets may be fractional (the MapD mapping).
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    theta_avg: float
    horizon: int
    width: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", tuple(np.ascontiguousarray(w, dtype=np.float64) for w in self.weights))
        object.__setattr__(self, "biases", tuple(np.ascontiguousarray(b, dtype=np.float64) for b in self.biases))

    @property
    def buffer_size(self) -> int:
        return max(3, *(weight.shape[1] for weight in self.weights))

    def __call__(self, t: np.ndarray, b: np.ndarray) -> np.ndarray:
        t, b = np.broadcast_arrays(np.asarray(t, dtype=np.float64), np.asarray(b, dtype=np.float64))
        values = _network_increments(self.weights, self.biases, self.theta_avg, self.horizon, self.width,
                                     np.ascontiguousarray(t.ravel()), np.ascontiguousarray(b.ravel()),
                                     self.buffer_size)
        return values.reshape(b.shape)

    @property
    def n_parameters(self) -> int:
        return int(sum(weight.size for weight in self.weights) + sum(bias.size for bias in self.biases))


@dataclass(frozen=True)
class TableIncrements:
    """D(t, b) read from a table (rows t, integer budgets), linearly interpolated at fractional budgets."""

    table: np.ndarray

    def __call__(self, t: np.ndarray, b: np.ndarray) -> np.ndarray:
        last = self.table.shape[1] - 1
        b = np.minimum(np.asarray(b, dtype=np.float64), last)
        low = np.floor(b).astype(np.int64)
        high = np.minimum(low + 1, last)
        rows = np.broadcast_to(t, np.shape(b))
        return (1.0 - (b - low)) * self.table[rows, low] + (b - low) * self.table[rows, high]


def bids_from_increments(increments: Any, rows: np.ndarray, budgets: np.ndarray, scales: np.ndarray,
                         pctrs: np.ndarray, max_bid: int) -> np.ndarray:
    """Largest delta <= min(b, max_bid) with theta - sum_{k=b-delta}^{b-1} D(row, k * scale) >= 0.

    ``increments(rows, budgets)`` gives D; row 0 is V(0, .) = 0, so D = 0 there (bid everything allowed).
    """
    rows, budgets = np.asarray(rows, dtype=np.int64), np.asarray(budgets, dtype=np.int64)
    caps = np.minimum(budgets, max_bid)
    width = int(caps.max()) if caps.size else 0
    if width <= 0:
        return np.zeros(rows.size, dtype=np.int64)
    deltas = np.arange(1, width + 1)
    points = np.maximum(budgets[:, None] - deltas[None, :], 0) * np.asarray(scales, dtype=np.float64)[:, None]
    increments_at = np.where(rows[:, None] > 0, increments(rows[:, None], points), 0.0)
    remaining = np.asarray(pctrs, dtype=np.float64)[:, None] - np.cumsum(increments_at, axis=1)
    allowed = (remaining >= 0.0) & (deltas[None, :] <= caps[:, None])
    return np.logical_and.accumulate(allowed, axis=1).sum(axis=1).astype(np.int64)


def fit_increment_network(increments: np.ndarray, rows: np.ndarray, theta_avg: float, horizon: int,
                          hidden: tuple[int, ...] = AUTHORS_HIDDEN, steps: int = 4000,
                          seed: int = 0) -> IncrementNetwork:
    """Fit log(D(t, b) / theta_avg) on the exact DP's increments (``increments[k]`` is row ``rows[k]``, all
    budgets) with a tanh MLP of the ``hidden`` widths (torch, Adam, minibatches of 4096 (row, budget) cells
    drawn uniformly); the result is evaluated by numba."""
    import torch

    torch.manual_seed(seed)
    width = increments.shape[1]
    floor = 1e-9 * theta_avg
    rng = np.random.default_rng(seed)
    sizes = (3, *hidden, 1)
    layers = []
    for index, (size_in, size_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(size_in, size_out))
        if index < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    network = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        which, budgets = rng.integers(len(rows), size=4096), rng.integers(width, size=4096)
        inputs = torch.tensor(_features(rows[which], budgets, horizon, width), dtype=torch.float32)
        targets = torch.tensor(np.log(np.maximum(increments[which, budgets], floor) / theta_avg),
                               dtype=torch.float32)[:, None]
        loss = torch.nn.functional.mse_loss(network(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    linear = [layer for layer in network if isinstance(layer, torch.nn.Linear)]
    return IncrementNetwork(tuple(layer.weight.detach().double().numpy().T.copy() for layer in linear),
                            tuple(layer.bias.detach().double().numpy().copy() for layer in linear),
                            float(theta_avg), horizon, width)


def kept_dp_rows(T0: int) -> np.ndarray:
    """The rows of the exact DP kept for the fit: all of 1..T0 up to T0 = KEPT_ROWS, else the first 50 and
    about KEPT_ROWS - 50 evenly spaced above, with T0 - 1 and T0 (the rows the mappings read) always in."""
    if T0 <= KEPT_ROWS:
        return np.arange(1, T0 + 1)
    spread = np.linspace(AUTHORS_MIN_ROW + 1, T0, KEPT_ROWS - AUTHORS_MIN_ROW).astype(np.int64)
    return np.unique(np.concatenate([np.arange(1, AUTHORS_MIN_ROW + 1), spread, [T0 - 1, T0]]))


class RLBNN(Bidder):
    """RLB-NN (Cai et al., 2017, large scale): RLB's bid rule on a neural approximation of
    D(t, b) = V(t, b+1) - V(t, b), for episodes whose exact DP is out of reach (T >> T0).

    The exact DP is solved to T0 (the authors solve it to N = 5,000) for budgets up to ``budget_cap`` B0
    (+ max_bid), B0 = B T0 / T the budget at the same budget per auction, keeping the rows of
    :func:`kept_dp_rows`; a tanh network over (t, b) (the authors' layer widths by default) is fitted to
    log D on every other block of those rows (the rows in between are held out) and bids from then on: only
    its parameters are kept. For t - 1 > T0 the state is mapped as in the paper:

    * ``"MapD"``: D(t, b) ~ NN(T0, b T0 / t) (the bid sums these increments over the actual budget);
    * ``"MapA"``: a(t, b, x) ~ a(T0, floor(b T0 / t), x) (RLB's bid at the mapped state, the authors'
      ``RLB_DP_FA.bid``);
    * ``"Seg"``: the episode is cut into sub-episodes of T0 auctions (counted from its end); each starts
      with the remaining budget spread evenly over the remaining sub-episodes and is played as an episode
      of T0 (this mapping keeps the budget of the current sub-episode per environment row, so call it on
      the same batch order every step).

    For t <= T0 all three bid from NN(t - 1, b) as RLB does from V. ``accuracy`` measures the fit on the
    held-out rows: the RMSE of D against the exact DP over budgets 0..B0 (1,000 drawn per row; absolute,
    relative to the mean exact D, and over theta_avg), the authors' figure (RMSE / theta_avg over rows n > 50, budgets
    b >= 800 with D != 0; nan when the table has no such cell), and on 10,000 held-out states (t, b <= B0,
    pCTR drawn from the campaign's log) the share of bids equal to the exact DP's and the mean absolute
    bid difference (price units). :func:`replay_rlbnn` replays a log with it in compiled code.
    """

    def __init__(self, campaign: Campaign, problem: BiddingProblem, T0: int = 1000, mapping: str = "MapD",
                 hidden: int | tuple[int, ...] = AUTHORS_HIDDEN, train_steps: int = 4000, budget_cap: float = 4.0,
                 seed: int = 0):
        super().__init__(problem)
        self.T0 = require_int("T0", T0, low=4)
        self.mapping = require_choice("mapping", mapping, RLBNN_MAPPINGS)
        hidden = (hidden, hidden) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
        if not hidden:
            raise PapergymError("hidden must name at least one layer width, got ()")
        for size in hidden:
            require_int("hidden", size, low=1)
        require_int("train_steps", train_steps, low=1)
        budget_cap = require_real("budget_cap", budget_cap, low=1.0)
        self.B0 = max(1, int(problem.budget * self.T0 / problem.horizon))
        width = int(budget_cap * self.B0) + problem.max_bid
        rows = kept_dp_rows(self.T0)
        increments = solve_increment_rows(campaign.market_price_pdf, campaign.theta_avg, self.T0, width, rows,
                                          problem.max_bid)
        block = max(1, len(rows) // 100)
        held_out = ((np.arange(len(rows)) // block) % 2 == 1) & (rows < self.T0 - 1)
        train = np.flatnonzero(~held_out)
        self.network = fit_increment_network(increments[train], rows[train], campaign.theta_avg, self.T0, hidden,
                                             train_steps, seed)
        self.exact_table_size = int(self.T0 * width)
        self.accuracy = self._accuracy(increments, rows, np.flatnonzero(held_out), campaign, seed)
        self._segment_budget: np.ndarray | None = None
        self._segment_start_budget: np.ndarray | None = None

    @classmethod
    def from_env(cls, env: gym.Env, **kwargs: Any) -> RLBNN:
        """RLB-NN for an RTB environment, with a light fit (T0 = min(200, T), 1000 training steps: seconds)
        unless told otherwise; the reproduction's large scale uses T0 = 5000."""
        campaign, problem = cls._env_parts(env)
        return cls(campaign, problem, **{"T0": min(200, problem.horizon), "train_steps": 1000, **kwargs})

    @property
    def bid_agreement(self) -> float:
        return self.accuracy["bid_agreement"]

    @property
    def mean_bid_error(self) -> float:
        return self.accuracy["mean_bid_error"]

    def with_mapping(self, mapping: str) -> RLBNN:
        """The same network with another mapping (no refit)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.mapping = require_choice("mapping", mapping, RLBNN_MAPPINGS)
        clone._segment_budget = clone._segment_start_budget = None
        return clone

    def _accuracy(self, increments: np.ndarray, rows: np.ndarray, held_out: np.ndarray, campaign: Campaign,
                  seed: int) -> dict[str, float]:
        """The fit on the held-out rows (``held_out`` indexes ``rows`` and ``increments``)."""
        theta_avg, rng = campaign.theta_avg, np.random.default_rng(seed)
        # Our error: every held-out row at ACCURACY_BUDGETS budgets drawn from 0..B0 (all of them if fewer).
        positions, budgets = self._sampled_cells(rng, held_out, 0, self.B0 + 1)
        exact = increments[positions, budgets]
        rmse = float(np.sqrt(np.mean((self.network(rows[positions], budgets) - exact) ** 2)))
        # The authors' error: held-out rows n > 50, budgets b >= 800 (sampled the same way), cells with D != 0.
        authors_rmse = float("nan")
        authors_rows = held_out[rows[held_out] > AUTHORS_MIN_ROW]
        if authors_rows.size and increments.shape[1] > AUTHORS_MIN_BUDGET:
            at_rows, at_budgets = self._sampled_cells(rng, authors_rows, AUTHORS_MIN_BUDGET, increments.shape[1])
            labels = increments[at_rows, at_budgets]
            nonzero = labels != 0.0
            if nonzero.any():
                errors = self.network(rows[at_rows][nonzero], at_budgets[nonzero]) - labels[nonzero]
                authors_rmse = float(np.sqrt(np.mean(errors**2)) / theta_avg)
        positions = rng.choice(held_out, ACCURACY_STATES)  # the bid at t reads row t - 1 = rows[position]
        b = rng.integers(0, self.B0 + 1, ACCURACY_STATES)
        pctrs = rng.choice(campaign.log(campaign.default_split()).pctrs, ACCURACY_STATES)
        exact_table, ones = TableIncrements(increments), np.ones(ACCURACY_STATES)
        chunks = range(0, ACCURACY_STATES, ACCURACY_CHUNK)
        exact_bids = np.concatenate([
            bids_from_increments(exact_table, positions[i:i + ACCURACY_CHUNK], b[i:i + ACCURACY_CHUNK],
                                 ones[i:i + ACCURACY_CHUNK], pctrs[i:i + ACCURACY_CHUNK], self.problem.max_bid)
            for i in chunks])
        network_bids = np.concatenate([
            bids_from_increments(self.network, rows[positions[i:i + ACCURACY_CHUNK]], b[i:i + ACCURACY_CHUNK],
                                 ones[i:i + ACCURACY_CHUNK], pctrs[i:i + ACCURACY_CHUNK], self.problem.max_bid)
            for i in chunks])
        return {"increment_rmse": rmse, "relative_rmse": rmse / float(np.mean(exact)),
                "rmse_over_theta": rmse / theta_avg, "authors_rmse_over_theta": authors_rmse,
                "bid_agreement": float(np.mean(exact_bids == network_bids)),
                "mean_bid_error": float(np.mean(np.abs(exact_bids - network_bids))),
                "parameters": self.network.n_parameters, "exact_table_size": self.exact_table_size,
                "T0": self.T0, "dp_width": int(increments.shape[1])}

    @staticmethod
    def _sampled_cells(rng: np.random.Generator, positions: np.ndarray, low: int,
                       high: int) -> tuple[np.ndarray, np.ndarray]:
        """(row position, budget) cells: each position with ACCURACY_BUDGETS budgets drawn from low..high-1,
        or every budget there if fewer."""
        if high - low <= ACCURACY_BUDGETS:
            return tuple(grid.ravel() for grid in np.meshgrid(positions, np.arange(low, high), indexing="ij"))
        return np.repeat(positions, ACCURACY_BUDGETS), rng.integers(low, high, positions.size * ACCURACY_BUDGETS)

    def bids(self, auctions_left, budget_left, pctrs):
        t = np.maximum(np.asarray(auctions_left, dtype=np.int64), 1)
        b = np.maximum(np.asarray(budget_left, dtype=np.int64), 0)
        rows, scales = np.minimum(t - 1, self.T0), np.ones(t.size)
        late = t - 1 > self.T0
        if self.mapping == "MapD":
            scales = np.where(late, self.T0 / np.maximum(t - 1, 1), 1.0)
        elif self.mapping == "MapA":
            rows = np.where(t > self.T0, self.T0 - 1, t - 1)
            b = np.where(t > self.T0, b * self.T0 // t, b)
        else:
            rows, b = self._segment_state(t, b)
        return bids_from_increments(self.network, rows, b, scales, pctrs, self.problem.max_bid)

    def _segment_state(self, t: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seg: (row of D, budget left in the current sub-episode) per request."""
        t_sub = (t - 1) % self.T0 + 1
        if self._segment_budget is None or len(self._segment_budget) != len(t):
            self._segment_budget = np.zeros(len(t), dtype=np.int64)
            self._segment_start_budget = np.zeros(len(t), dtype=np.int64)
            starting = np.ones(len(t), dtype=bool)
        else:
            starting = (t_sub == self.T0) | (t == self.problem.horizon)
        remaining_segments = (t + self.T0 - 1) // self.T0
        self._segment_budget[starting] = b[starting] // remaining_segments[starting]
        self._segment_start_budget[starting] = b[starting]
        left = self._segment_budget - (self._segment_start_budget - b)
        return t_sub - 1, np.clip(left, 0, b)


@numba.njit(cache=True)
def _network_bid(weights, biases, theta_avg: float, net_horizon: int, net_width: int, row: int, budget: int,
                 scale: float, pctr: float, cap: int, first: np.ndarray, second: np.ndarray) -> int:
    """:func:`bids_from_increments` for one request on the network (the same sums in the same order)."""
    if row <= 0:
        return cap if pctr >= 0.0 else 0
    total, bid = 0.0, 0
    for delta in range(1, cap + 1):
        total += _network_increment(weights, biases, theta_avg, net_horizon, net_width, float(row),
                                    max(budget - delta, 0) * scale, first, second)
        if pctr - total < 0.0:
            break
        bid = delta
    return bid


@numba.njit(cache=True)
def _settle(episode_totals: np.ndarray, bid: int, price: int, click: int, budget_left: int) -> int:
    """One second-price auction of a replay: count it (auctions, wins, clicks, cost) and return the budget left."""
    episode_totals[0] += 1
    if bid >= price:
        episode_totals[1] += 1
        episode_totals[2] += click
        episode_totals[3] += price
        return budget_left - price
    return budget_left


@numba.njit(cache=True)
def _replay_network(weights, biases, theta_avg: float, net_horizon: int, net_width: int, buffer_size: int,
                    T0: int, mapping: int, horizon: int, budget: int, max_bid: int, clicks: np.ndarray,
                    prices: np.ndarray, pctrs: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """RLB-NN's replay of each episode [starts[e], ends[e]): per-episode auctions, wins, clicks and cost."""
    first, second = np.empty(buffer_size), np.empty(buffer_size)
    totals = np.zeros((starts.size, 4), dtype=np.int64)
    for episode in range(starts.size):
        t, b = horizon, budget
        segment_budget, segment_start = 0, 0
        for i in range(starts[episode], ends[episode]):
            tt, bb = max(t, 1), max(b, 0)
            row, mapped, scale = min(tt - 1, T0), bb, 1.0
            if mapping == 0 and tt - 1 > T0:
                scale = T0 / max(tt - 1, 1)
            elif mapping == 1 and tt > T0:
                row, mapped = T0 - 1, bb * T0 // tt
            elif mapping == 2:
                t_sub = (tt - 1) % T0 + 1
                if i == starts[episode] or t_sub == T0 or tt == horizon:
                    segment_budget = bb // ((tt + T0 - 1) // T0)
                    segment_start = bb
                mapped = min(max(segment_budget - (segment_start - bb), 0), bb)
                row = t_sub - 1
            bid = _network_bid(weights, biases, theta_avg, net_horizon, net_width, row, mapped, scale, pctrs[i],
                               min(mapped, max_bid), first, second)
            b = _settle(totals[episode], min(bid, b, max_bid), prices[i], clicks[i], b)
            t -= 1
    return totals


def replay_rlbnn(bidder: RLBNN, config: RTBConfig) -> ReplayResult:
    """:func:`replay` of an RLB-NN bidder in compiled code: the same bids (the network is evaluated by the
    same kernel), thousands of times faster on episodes of 10^5 auctions."""
    if config.episode_order != "sequential":
        raise PapergymError(f"replay needs episode_order='sequential', got {config.episode_order!r}")
    network, problem, log = bidder.network, config.problem, config.log
    totals = _replay_network(network.weights, network.biases, network.theta_avg, network.horizon, network.width,
                             network.buffer_size, bidder.T0, _MAPPING_CODES[bidder.mapping], problem.horizon,
                             problem.budget, problem.max_bid, log.clicks.astype(np.int64), log.prices, log.pctrs,
                             config.episode_starts, config.episode_ends)
    return ReplayResult(*(totals[:, column].copy() for column in range(4)))


@numba.njit(cache=True)
def _replay_linear(multiplier: float, divisor: float, horizon: int, budget: int, max_bid: int, clicks: np.ndarray,
                   prices: np.ndarray, pctrs: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Bids floor(multiplier * pctr / divisor) replayed per episode: auctions, wins, clicks and cost."""
    totals = np.zeros((starts.size, 4), dtype=np.int64)
    for episode in range(starts.size):
        b = budget
        for i in range(starts[episode], min(ends[episode], starts[episode] + horizon)):
            b = _settle(totals[episode], min(max(int(np.floor(multiplier * pctrs[i] / divisor)), 0), b, max_bid),
                        prices[i], clicks[i], b)
    return totals


def replay_linear(bidder: LinearBidder | Mcpc, config: RTBConfig) -> ReplayResult:
    """:func:`replay` of Lin (b0 theta / theta_avg) or Mcpc (CPC theta) in compiled code, the same bids."""
    if config.episode_order != "sequential":
        raise PapergymError(f"replay needs episode_order='sequential', got {config.episode_order!r}")
    if isinstance(bidder, LinearBidder) and not isinstance(bidder.b0, np.ndarray):
        multiplier, divisor = float(bidder.b0), bidder.theta_avg
    elif isinstance(bidder, Mcpc):
        multiplier, divisor = bidder.cpc, 1.0
    else:
        raise PapergymError(f"bidder must be a LinearBidder with one b0 or an Mcpc, got {bidder!r}")
    problem, log = config.problem, config.log
    totals = _replay_linear(multiplier, divisor, problem.horizon, problem.budget, problem.max_bid,
                            log.clicks.astype(np.int64), log.prices, log.pctrs, config.episode_starts,
                            config.episode_ends)
    return ReplayResult(*(totals[:, column].copy() for column in range(4)))
