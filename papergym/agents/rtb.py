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

#: The base-bid grid of the paper's linear bidder (2, 8, 14, ..., 296).
LIN_BASE_BID_GRID = tuple(range(2, 297, 6))


# --- the dynamic programme ---------------------------------------------------------------------------

@numba.njit(cache=True)
def _value_iteration(pdf: np.ndarray, theta_avg: float, max_bid: int, values: np.ndarray) -> None:
    """Fill rows 1..T of ``values`` (row 0 = V(0, .) = 0) with the recursion of the module docstring."""
    horizon, budget = values.shape[0] - 1, values.shape[1] - 1
    for t in range(1, horizon + 1):
        previous, current = values[t - 1], values[t]
        for b in range(budget + 1):
            base = previous[b]
            total = 0.0
            for delta in range(min(b, max_bid) + 1):
                gain = theta_avg + previous[b - delta] - base
                if gain < 0.0:
                    break
                total += pdf[delta] * gain
            current[b] = base + total


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
             grid: tuple[int, ...] = LIN_BASE_BID_GRID) -> LinearBidder:
        """Lin with the b0 of ``grid`` that wins the most clicks over the episodes of ``split`` (ties go to
        the larger b0). The whole grid is replayed at once on a vector env."""
        grid_array = np.asarray(grid, dtype=np.float64)
        if grid_array.ndim != 1 or grid_array.size == 0 or np.any(grid_array < 0):
            raise PapergymError(f"grid must be a non-empty sequence of base bids >= 0, got {grid!r}")
        config = RTBConfig.build(campaign, split, problem.horizon, 1.0, problem.budget,
                                 episode_order="sequential", max_bid=problem.max_bid)
        n_episodes = config.n_episodes
        candidates = cls(campaign, problem, np.repeat(grid_array, n_episodes))
        clicks = replay(candidates, config, repeats=len(grid)).clicks.reshape(len(grid), n_episodes).sum(axis=1)
        best = len(grid) - 1 - int(np.argmax(clicks[::-1]))
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
#: States (and requests per evaluation chunk) of RLB-NN's approximation check.
ACCURACY_STATES, ACCURACY_CHUNK = 20_000, 500


def _features(t: np.ndarray, b: np.ndarray, horizon: int, width: int) -> np.ndarray:
    """The network's input from (t, b): t / T0, b / width and the budget per auction log(1 + b / t), scaled."""
    t, b = np.ravel(t).astype(np.float64), np.ravel(b).astype(np.float64)
    per_auction = np.log1p(b / np.maximum(t, 1.0)) / np.log1p(width)
    return np.stack([t / horizon, b / width, per_auction], axis=1)


@dataclass(frozen=True)
class IncrementNetwork:
    """D(t, b) = V(t, b+1) - V(t, b) ~ theta_avg exp(f(t, b)), f a small tanh MLP evaluated in numpy.

    ``horizon`` (T0) and ``width`` scale the inputs; budgets may be fractional (the MapD mapping).
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    theta_avg: float
    horizon: int
    width: int

    def __call__(self, t: np.ndarray, b: np.ndarray) -> np.ndarray:
        shape = np.shape(b)
        hidden = _features(np.broadcast_to(t, shape), b, self.horizon, self.width)
        for weight, bias in zip(self.weights[:-1], self.biases[:-1]):
            hidden = np.tanh(hidden @ weight + bias)
        log_ratio = hidden @ self.weights[-1] + self.biases[-1]
        return (self.theta_avg * np.exp(log_ratio)).reshape(shape)

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


def fit_increment_network(increments: np.ndarray, theta_avg: float, rows: np.ndarray, hidden: int = 64,
                          steps: int = 4000, seed: int = 0) -> IncrementNetwork:
    """Fit log(D(t, b) / theta_avg) on the given rows of the exact DP's increments (all budgets) with a
    two-hidden-layer tanh MLP (torch, Adam, minibatches of 4096); the result is evaluated in numpy."""
    import torch

    torch.manual_seed(seed)
    horizon, width = increments.shape[0] - 1, increments.shape[1]
    t_grid, b_grid = np.meshgrid(rows, np.arange(width), indexing="ij")
    inputs = torch.tensor(_features(t_grid, b_grid, horizon, width), dtype=torch.float32)
    floor = 1e-9 * theta_avg
    targets = torch.tensor(np.log(np.maximum(increments[rows].ravel(), floor) / theta_avg),
                           dtype=torch.float32)[:, None]
    network = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden),
                                  torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        batch = torch.randint(len(inputs), (4096,), generator=generator)
        loss = torch.nn.functional.mse_loss(network(inputs[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    layers = [layer for layer in network if isinstance(layer, torch.nn.Linear)]
    return IncrementNetwork(tuple(layer.weight.detach().double().numpy().T.copy() for layer in layers),
                            tuple(layer.bias.detach().double().numpy().copy() for layer in layers),
                            float(theta_avg), horizon, width)


class RLBNN(Bidder):
    """RLB-NN (Cai et al., 2017, large scale): RLB's bid rule on a neural approximation of
    D(t, b) = V(t, b+1) - V(t, b), for episodes whose exact DP is out of reach (T >> T0).

    The exact DP is solved at T0 with the same budget per auction (B0 = B T0 / T), for budgets up to
    ``budget_cap`` B0 (+ max_bid); a small network over (t, b) is fitted to D on every other block of rows
    (the rows in between are held out) and bids from then on: only its parameters are kept. For t - 1 > T0
    the state is mapped as in the paper:

    * ``"MapD"``: D(t, b) ~ NN(T0, b T0 / t) (the bid sums these increments over the actual budget);
    * ``"MapA"``: a(t, b, x) ~ a(T0, b T0 / t, x) (RLB's bid at the mapped state);
    * ``"Seg"``: the episode is cut into sub-episodes of T0 auctions (counted from its end); each starts
      with the remaining budget spread evenly over the remaining sub-episodes and is played as an episode
      of T0 (this mapping keeps the budget of the current sub-episode per environment row, so call it on
      the same batch order every step).

    For t <= T0 all three bid from NN(t - 1, b) as RLB does from V. ``accuracy`` measures the fit on the
    held-out rows, as the paper reports it: the RMSE of D against the exact DP (absolute, and relative to
    the mean exact D) over the held-out grid (budgets 0..B0), and on 20,000 held-out states (t, b <= B0,
    pCTR drawn from the campaign's log) the share of bids equal to the exact DP's and the mean absolute
    bid difference (price units).
    """

    def __init__(self, campaign: Campaign, problem: BiddingProblem, T0: int = 1000, mapping: str = "MapD",
                 hidden: int = 64, train_steps: int = 4000, budget_cap: float = 4.0, seed: int = 0):
        super().__init__(problem)
        self.T0 = require_int("T0", T0, low=4)
        self.mapping = require_choice("mapping", mapping, RLBNN_MAPPINGS)
        require_int("hidden", hidden, low=1)
        require_int("train_steps", train_steps, low=1)
        budget_cap = require_real("budget_cap", budget_cap, low=1.0)
        self.B0 = max(1, int(problem.budget * self.T0 / problem.horizon))
        width = int(budget_cap * self.B0) + problem.max_bid
        values = solve_value_function(campaign.market_price_pdf, campaign.theta_avg, self.T0, width,
                                      problem.max_bid)
        increments = np.diff(values, axis=1)
        block = max(1, self.T0 // 100)
        rows = np.arange(1, self.T0 + 1)
        held_out = (rows // block) % 2 == 1
        self.network = fit_increment_network(increments, campaign.theta_avg, rows[~held_out], hidden,
                                             train_steps, seed)
        self.exact_table_size = int(increments[1:].size)
        self.accuracy = self._accuracy(values, increments, rows[held_out], campaign, seed)
        self._segment_budget: np.ndarray | None = None
        self._segment_start_budget: np.ndarray | None = None

    @classmethod
    def from_env(cls, env: gym.Env, **kwargs: Any) -> RLBNN:
        """RLB-NN for an RTB environment, with a light fit (T0 = min(200, T), 1000 training steps: seconds)
        unless told otherwise; the reproduction's large scale uses T0 = 1000 and 4000 steps."""
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

    def _accuracy(self, values: np.ndarray, increments: np.ndarray, held_out_rows: np.ndarray,
                  campaign: Campaign, seed: int) -> dict[str, float]:
        grid_rows, grid_budgets = np.meshgrid(held_out_rows, np.arange(self.B0 + 1), indexing="ij")
        exact = increments[grid_rows, grid_budgets]
        errors = self.network(grid_rows, grid_budgets) - exact
        rmse = float(np.sqrt(np.mean(errors**2)))
        rng = np.random.default_rng(seed)
        t = rng.choice(held_out_rows, ACCURACY_STATES) + 1  # the bid at t reads row t - 1
        b = rng.integers(0, self.B0 + 1, ACCURACY_STATES)
        pctrs = rng.choice(campaign.log(campaign.default_split()).pctrs, ACCURACY_STATES)
        exact_bids = bids_from_value_function(values, t, b, pctrs, self.problem.max_bid)
        network_bids = np.concatenate([
            bids_from_increments(self.network, t[i:i + ACCURACY_CHUNK] - 1, b[i:i + ACCURACY_CHUNK],
                                 np.ones(len(t[i:i + ACCURACY_CHUNK])), pctrs[i:i + ACCURACY_CHUNK],
                                 self.problem.max_bid)
            for i in range(0, ACCURACY_STATES, ACCURACY_CHUNK)])
        return {"increment_rmse": rmse, "relative_rmse": rmse / float(np.mean(exact)),
                "bid_agreement": float(np.mean(exact_bids == network_bids)),
                "mean_bid_error": float(np.mean(np.abs(exact_bids - network_bids))),
                "parameters": self.network.n_parameters, "exact_table_size": self.exact_table_size}

    def bids(self, auctions_left, budget_left, pctrs):
        t = np.maximum(np.asarray(auctions_left, dtype=np.int64), 1)
        b = np.maximum(np.asarray(budget_left, dtype=np.int64), 0)
        rows, scales = np.minimum(t - 1, self.T0), np.ones(t.size)
        late = t - 1 > self.T0
        if self.mapping == "MapD":
            scales = np.where(late, self.T0 / np.maximum(t - 1, 1), 1.0)
        elif self.mapping == "MapA":
            rows = np.where(t > self.T0, self.T0 - 1, t - 1)
            b = np.where(t > self.T0, np.rint(b * self.T0 / t).astype(np.int64), b)
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
