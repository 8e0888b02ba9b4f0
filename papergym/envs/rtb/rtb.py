"""Budget-constrained bidding in second-price auctions (Cai et al., WSDM 2017) as a Gymnasium environment
and a native vector environment."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import step_before_reset
from papergym.core.render import ChartHistory, draw_chart
from papergym.core.validation import renamed_argument, require_choice, require_int, require_real, validated_action
from papergym.core.vector import ArrayVectorEnv
from papergym.envs.rtb.campaign import MAX_PRICE, BidLog, Campaign, load_campaign

#: The paper's budget levels c0 (B = CPM_train * c0 * T).
PAPER_C0 = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)
REWARDS = ("click", "pctr")
EPISODE_ORDERS = ("random", "sequential")
#: The pCTR feature of the observation: log(pctr / theta_avg) / log(1000), clipped to [-1, 1] (one unit per
#: factor 1000 around the campaign's average CTR), a well-scaled input for learning agents; the exact pCTR
#: follows it.
PCTR_LOG_RANGE = math.log(1000.0)
#: Upper ends of the argument ranges: far beyond the paper's settings (T = 1000, c0 <= 1/2), and small
#: enough that counts and budgets stay exact 64-bit integers in the vector environment.
MAX_AUCTIONS, MAX_C0, MAX_BUDGET = 10**9, 1e6, 10**15
#: Smallest pCTR the feature distinguishes (avoids log(0) for a zero pCTR); the exact pCTR has no floor.
PCTR_FLOOR = 1e-12


@dataclass(frozen=True)
class BiddingProblem:
    """The numbers that define an episode: T auctions, budget B, bid cap and the campaign's average CTR.

    It also maps the raw state (auctions left t, budget left b, pCTR) to the float64 observation
    ``[t / T, b / B, clip(log(pctr / theta_avg) / log(1000), -1, 1), pctr]`` and back: t and b are recovered
    exactly and the pCTR bit for bit, so a bidder acting on the observation bids exactly as one given the
    log's pCTR.
    """

    horizon: int
    budget: int
    max_bid: int
    theta_avg: float

    def observation_space(self) -> spaces.Box:
        return spaces.Box(low=np.array([0.0, 0.0, -1.0, 0.0]), high=np.array([1.0, 1.0, 1.0, 1.0]),
                          dtype=np.float64)

    def encode(self, auctions_left: np.ndarray, budget_left: np.ndarray, pctrs: np.ndarray) -> np.ndarray:
        pctrs = np.asarray(pctrs, dtype=np.float64)
        return np.stack([np.asarray(auctions_left, dtype=np.float64) / self.horizon,
                         np.asarray(budget_left, dtype=np.float64) / self.budget,
                         np.clip(pctr_feature(pctrs, self.theta_avg), -1.0, 1.0), pctrs], axis=-1)

    def decode(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw (auctions left, budget left, pCTR) of a batch of observations, shape (n, 4)."""
        observations = np.asarray(observations, dtype=np.float64).reshape(-1, 4)
        auctions_left = np.rint(observations[:, 0] * self.horizon).astype(np.int64)
        budget_left = np.rint(observations[:, 1] * self.budget).astype(np.int64)
        return auctions_left, budget_left, observations[:, 3].copy()


def horizon_argument(horizon: int | None, T: int | None, default: int | None = None) -> int:
    """``horizon``, or the deprecated keyword ``T`` (with a DeprecationWarning); both given must agree.

    ``T`` is the paper's letter and these functions' old keyword; papergym names the episode length
    ``horizon`` everywhere. Returns ``default`` when neither is given (a TypeError if there is none).
    """
    return renamed_argument("horizon", horizon, "T", T, default)


def pctr_feature(pctrs: np.ndarray | float, theta_avg: float) -> np.ndarray:
    """log(pctr / theta_avg) / log(1000), unclipped."""
    return np.log(np.maximum(pctrs, PCTR_FLOOR) / theta_avg) / PCTR_LOG_RANGE


@dataclass(frozen=True, eq=False)
class RTBConfig:
    """A validated environment configuration (shared by the single and the vector environment)."""

    campaign: Campaign
    split: str
    log: BidLog
    problem: BiddingProblem
    reward: str
    episode_order: str
    episode_starts: np.ndarray
    episode_ends: np.ndarray

    @classmethod
    def build(cls, campaign: str | Path | Campaign = "synthetic", split: str | None = None,
              horizon: int | None = None, c0: float = 1 / 32, budget: int | None = None, reward: str = "click",
              episode_order: str = "random", max_bid: int = MAX_PRICE, *, T: int | None = None) -> RTBConfig:
        """The configuration of :class:`RTBEnv`'s arguments (``horizon`` defaults to 1000; ``T`` is its
        deprecated name, still accepted with a DeprecationWarning and checked under that name)."""
        name = "T" if T is not None else "horizon"
        horizon = horizon_argument(horizon, T, default=1000)
        campaign = load_campaign(campaign)
        split = campaign.default_split() if split is None else require_choice("split", split, sorted(campaign.logs))
        log = campaign.log(split)
        horizon = require_int(name, horizon, low=1, high=MAX_AUCTIONS)
        max_bid = require_int("max_bid", max_bid, low=1, high=MAX_PRICE)
        c0 = require_real("c0", c0, low=0.0, low_open=True, high=MAX_C0)
        if budget is None:
            budget = campaign.budget(horizon, c0)
            if budget < 1:
                raise PapergymError(f"c0 = {c0!r} gives the budget B = int({campaign.cpm:.4g} * c0 * {horizon}) = "
                                 f"{budget}; c0 must make B >= 1")
        budget = require_int("budget", budget, low=1, high=MAX_BUDGET)
        require_choice("reward", reward, REWARDS)
        require_choice("episode_order", episode_order, EPISODE_ORDERS)
        problem = BiddingProblem(horizon, budget, max_bid, campaign.theta_avg)
        starts, ends = log.episodes(horizon)
        return cls(campaign, split, log, problem, reward, episode_order, starts, ends)

    def __reduce__(self):
        # Rebuilt from the campaign (a synthetic one pickles as its recipe) instead of copying the log.
        problem = self.problem
        return (RTBConfig.build, (self.campaign, self.split, problem.horizon, 1.0, problem.budget, self.reward,
                                  self.episode_order, problem.max_bid))

    @property
    def n_episodes(self) -> int:
        """Number of evaluation episodes of the log (the last may be shorter than T)."""
        return len(self.episode_starts)

    def episode_bounds(self, rng: np.random.Generator, episodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) request indices: the given evaluation episodes, or random starts in random order."""
        if self.episode_order == "sequential":
            episodes = np.asarray(episodes) % self.n_episodes
            return self.episode_starts[episodes], self.episode_ends[episodes]
        return self.log.random_episodes(rng, self.problem.horizon, len(episodes))


class RTBEnv(gym.Env[np.ndarray, np.int64]):
    """
    ## Description

    Real-time bidding with a budget (Cai et al., "Real-Time Bidding by Reinforcement Learning in Display
    Advertising", WSDM 2017). An advertiser takes part in a stream of T second-price auctions with a
    budget B for the whole episode. For each ad request it sees the predicted click-through rate (pCTR)
    and bids; it wins when its bid is at least the market price (the highest competing bid), then pays
    the market price and receives the click, if the user clicks. The budget links every bid to the
    future: spending now leaves less for better requests later.

    The auction requests are replayed from a campaign's bid log: the built-in synthetic campaign
    (default, see ``papergym.envs.rtb.synthetic``) or the iPinYou logs of the paper
    (``campaign="path/to/campaign_folder"``).

    ## Action Space

    ``Discrete(max_bid + 1)``: the integer bid a (price units, CNY fen per mille; ``max_bid`` = 300).
    The executed bid is min(a, b). For continuous-action agents (SAC, TD3, PPO with a Box policy) use
    ``papergym.wrappers.rtb.ContinuousBid`` or ``BidMultiplier``.

    ## Observation Space

    ``Box([0, 0, -1, 0], [1, 1, 1, 1], (4,), float64)``: auctions left t / T, budget left b / B,
    clip(log(pctr / theta_avg) / log(1000), -1, 1) (a well-scaled feature for learners; theta_avg is the
    campaign's training CTR) and the request's pCTR itself, exact. ``BiddingProblem.decode`` recovers
    (t, b, pctr) without loss, so bidders acting through the environment bid as on the log.

    ## Rewards

    The click (0 or 1) of a won impression, or with ``reward="pctr"`` its pCTR; 0 when the auction is
    lost. ``info`` holds ``bid`` (executed), ``market_price``, ``win``, ``cost``, ``click``, ``pctr``,
    ``remaining_budget`` and ``auctions_left`` as plain numbers.

    ## Starting State

    t = T and b = B at the first request of an episode. With ``episode_order="random"`` (training) the
    episode starts at a uniformly random request of the log (keeping T requests within one segment of the
    log); with ``"sequential"`` (the paper's evaluation) the log is cut into consecutive episodes of T
    requests, replayed in order (``reset(options={"episode": k})`` jumps to episode k); the last,
    shorter episode of a segment is played as it is, still starting at t = T.

    ## Episode End

    Terminates after T auctions, or when the episode's requests run out (the last, shorter episode of
    the log). The budget may reach 0 before: the bidder can then only win auctions priced 0.

    ## Arguments

    * ``campaign``: ``"synthetic"`` (default), a ``Campaign``, or an iPinYou campaign folder path
      (``info.json`` with ``episodes-<T>.txt`` and/or ``test.theta.txt``).
    * ``split``: which log to play (``"train"``, ``"validation"``, ``"test"``); default train, else
      validation, else test.
    * ``horizon`` (T, default 1000), ``c0`` (default 1/32): B = int(cost_train / imp_train * c0 * T); or
      ``budget`` to give B directly. ``T=`` is the deprecated name of ``horizon`` (still accepted, with a
      DeprecationWarning).
    * ``reward``: ``"click"`` (default) or ``"pctr"``.
    * ``episode_order``: ``"random"`` (default) or ``"sequential"``.
    * ``max_bid`` (default 300).
    * ``render_mode``: ``"ansi"`` (one line of text), ``"rgb_array"`` (a 240 x 320 x 3 uint8 chart over the
      episode's last 200 auctions: budget left b / B and auctions left t / T in the top panel, clicks won so
      far in the bottom one) or None.

    Every argument is checked at construction, with a ``PapergymError`` (a ``ValueError``) naming it, its
    value and its range: horizon in [1, 10^9], c0 in (0, 10^6] with B >= 1, budget in [1, 10^15], max_bid
    in [1, 300]. ``step`` before ``reset`` raises ``ResetNeeded``.

    ## Version History

    * v0: initial version (observation: four float64 entries, the last the exact pCTR); the episode length
      argument ``T`` renamed ``horizon`` (``T`` still accepted, deprecated).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, campaign: str | Path | Campaign = "synthetic", split: str | None = None,
                 horizon: int | None = None, c0: float = 1 / 32, budget: int | None = None, reward: str = "click",
                 episode_order: str = "random", max_bid: int = MAX_PRICE, render_mode: str | None = None, *,
                 T: int | None = None):
        self.config = RTBConfig.build(campaign, split, horizon, c0, budget, reward, episode_order, max_bid, T=T)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.problem = self.config.problem
        self.observation_space = self.problem.observation_space()
        self.action_space = spaces.Discrete(self.problem.max_bid + 1)
        self._cache_log()
        self._next_episode = 0
        self.episode = 0
        self._position = self._end = 0
        self._auctions_left, self._budget_left = self.problem.horizon, self.problem.budget
        self._last: dict[str, float] = {}
        self._started = False
        self._clicks_won = 0
        self._history = ChartHistory(3)

    @property
    def campaign(self) -> Campaign:
        return self.config.campaign

    @property
    def n_episodes(self) -> int:
        return self.config.n_episodes

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_clicks", "_prices", "_pctrs"):
            del state[key]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache_log()

    def _cache_log(self) -> None:
        # Python lists: indexing them is several times faster than indexing numpy arrays one item at a time.
        log = self.config.log
        self._clicks, self._prices, self._pctrs = log.clicks.tolist(), log.prices.tolist(), log.pctrs.tolist()

    @property
    def current_pctr(self) -> float:
        """pCTR of the request being auctioned (the campaign's theta_avg once the episode is over)."""
        return self._pctrs[self._position] if self._running() else self.problem.theta_avg

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "episode" in options:
            self._next_episode = require_int("episode", options["episode"], low=0,
                                             high=self.config.n_episodes - 1)
        self.episode = self._next_episode
        starts, ends = self.config.episode_bounds(self.np_random, np.array([self.episode]))
        self._next_episode = (self.episode + 1) % self.config.n_episodes
        self._position, self._end = int(starts[0]), int(ends[0])
        self._auctions_left, self._budget_left = self.problem.horizon, self.problem.budget
        self._last = {}
        self._started = True
        self._clicks_won = 0
        self._history.clear()
        info = {"remaining_budget": self._budget_left, "auctions_left": self._auctions_left,
                "pctr": self.current_pctr, "episode": self.episode if self.config.episode_order == "sequential"
                else -1, "episode_length": self._end - self._position}
        return self._observation(), info

    def step(self, action: Any):
        if not self._started:
            raise step_before_reset(self)
        bid = min(validated_action(self.action_space, action), self._budget_left)
        if not self._running():
            info = self._info(bid, 0, False, 0, 0.0)
            return self._observation(), 0.0, True, False, info
        position = self._position
        price, pctr = self._prices[position], self._pctrs[position]
        win = bid >= price
        cost = price if win else 0
        click = self._clicks[position] if win else 0
        reward = (click if self.config.reward == "click" else pctr) if win else 0
        self._budget_left -= cost
        self._auctions_left -= 1
        self._position += 1
        info = self._info(bid, price, win, click, pctr)
        self._last = info
        if self.render_mode is not None:
            self._clicks_won += click
            self._history.append(self._budget_left / self.problem.budget, self._auctions_left / self.problem.horizon,
                                 self._clicks_won)
        return self._observation(), float(reward), not self._running(), False, info

    def _running(self) -> bool:
        return self._auctions_left > 0 and self._position < self._end

    def _info(self, bid: int, price: int, win: bool, click: int, pctr: float) -> dict[str, Any]:
        return {"bid": bid, "market_price": price, "win": int(win), "cost": price if win else 0,
                "click": click, "pctr": pctr, "remaining_budget": self._budget_left,
                "auctions_left": self._auctions_left}

    def _observation(self) -> np.ndarray:
        # The scalar form of BiddingProblem.encode (a step is too cheap for array overhead).
        problem, pctr = self.problem, self.current_pctr
        feature = math.log(max(pctr, PCTR_FLOOR) / problem.theta_avg) / PCTR_LOG_RANGE
        return np.array([self._auctions_left / problem.horizon, self._budget_left / problem.budget,
                         min(1.0, max(-1.0, feature)), pctr])

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "rgb_array":
            series = self._history.series()
            return draw_chart([series[:2], series[2:]])
        if self.render_mode != "ansi":
            return None
        state = f"t={self._auctions_left}/{self.problem.horizon} b={self._budget_left}/{self.problem.budget}"
        if not self._last:
            return f"{state} next pctr={self.current_pctr:.3g}"
        last = self._last
        outcome = f"won at {last['cost']}" if last["win"] else f"lost to {last['market_price']}"
        return f"{state} bid {last['bid']} {outcome} click={last['click']} next pctr={self.current_pctr:.3g}"


class RTBVectorEnv(ArrayVectorEnv):
    """``num_envs`` bidders stepped as arrays; same arguments as :class:`RTBEnv`.

    With ``episode_order="sequential"`` sub-environment k replays the log's episodes k, k + num_envs,
    k + 2 num_envs, ... (modulo the number of episodes), restarting from k at every full ``reset``;
    so ``num_envs = n_episodes`` with ``autoreset_mode="Disabled"`` plays each evaluation episode once.
    """

    metadata = {"render_modes": []}

    def __init__(self, num_envs: int = 1, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, render_mode: str | None = None,
                 **config_kwargs: Any):
        self.config = RTBConfig.build(**config_kwargs)
        self.problem = self.config.problem
        super().__init__(num_envs, self.problem.observation_space(), spaces.Discrete(self.problem.max_bid + 1),
                         max_episode_steps=max_episode_steps, autoreset_mode=autoreset_mode,
                         render_mode=render_mode)
        zeros = np.zeros(self.num_envs, dtype=np.int64)
        self.auctions_left, self.budget_left = zeros.copy(), zeros.copy()
        self.positions, self.ends, self.episodes = zeros.copy(), zeros.copy(), zeros.copy()
        self._cursor = np.arange(self.num_envs, dtype=np.int64)

    @property
    def campaign(self) -> Campaign:
        return self.config.campaign

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if options is None or "reset_mask" not in options:
            self._cursor = np.arange(self.num_envs, dtype=np.int64)
        return super().reset(seed=seed, options=options)

    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        if not mask.any():
            return
        episodes = self._cursor[mask] % self.config.n_episodes
        starts, ends = self.config.episode_bounds(self.np_random, episodes)
        self._cursor[mask] += self.num_envs
        self.episodes[mask] = episodes
        self.positions[mask], self.ends[mask] = starts, ends
        self.auctions_left[mask] = self.problem.horizon
        self.budget_left[mask] = self.problem.budget

    def _running(self) -> np.ndarray:
        return (self.auctions_left > 0) & (self.positions < self.ends)

    def _current_pctrs(self) -> np.ndarray:
        pctrs = self.config.log.pctrs[np.minimum(self.positions, len(self.config.log) - 1)]
        return np.where(self._running(), pctrs, self.problem.theta_avg)

    def _observe(self) -> np.ndarray:
        return self.problem.encode(self.auctions_left, self.budget_left, self._current_pctrs())

    def _transition(self, actions: np.ndarray):
        log = self.config.log
        running = self._running()
        index = np.minimum(self.positions, len(log) - 1)
        bids = np.minimum(actions, self.budget_left)
        prices, pctrs = log.prices[index], log.pctrs[index]
        wins = running & (bids >= prices)
        costs = np.where(wins, prices, 0)
        clicks = np.where(wins, log.clicks[index], 0).astype(np.int64)
        rewards = clicks.astype(np.float64) if self.config.reward == "click" else np.where(wins, pctrs, 0.0)
        self.budget_left -= costs
        self.auctions_left -= running
        self.positions += running
        terminated = running & ~self._running()
        info = {"bid": bids, "market_price": np.where(running, prices, 0), "win": wins.astype(np.int64),
                "cost": costs, "click": clicks, "pctr": pctrs, "remaining_budget": self.budget_left.copy(),
                "auctions_left": self.auctions_left.copy()}
        return rewards, terminated, info
