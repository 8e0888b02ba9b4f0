"""Budget-constrained bidders competing in real-time auctions: a PettingZoo parallel environment.

    from papergym.envs import auction
    env = auction.parallel_env()          # or pettingzoo.make("parallel", "papergym/Auction-v0")
    aec = auction.env()                   # the AEC form, by PettingZoo's conversion
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from papergym.core.errors import PapergymError
from papergym.core.validation import require_choice, require_int, require_positive, require_real, validated_action
from papergym.envs.auction.market import (
    DEFAULT_VALUE_CORRELATION,
    AuctionMarket,
    SyntheticMarket,
    market_from_campaigns,
)
from papergym.envs.rtb import Campaign
from papergym.envs.rtb.campaign import MAX_PRICE

AUCTIONS = ("second", "first")
REWARDS = ("click", "pctr", "surplus")
EPISODE_ORDERS = ("random", "sequential")
#: The pCTR feature of the observation, as in papergym/RTB-v0: log(pctr / theta_avg) / log(1000), clipped.
PCTR_LOG_RANGE = math.log(1000.0)
PCTR_FLOOR = 1e-12
NO_WINNER = -1
#: Action types checked by a fast path (anything else goes through the full validation).
_INTEGER_TYPES = (int, np.int64, np.int32)


def clear_auction(bids: Sequence[int], live: Sequence[bool], market_price: int, reserve_price: int,
                  first_price: bool, rng: np.random.Generator) -> tuple[int, int]:
    """(winner index or -1, price paid; the market price when no bidder wins) of one auction.

    A live bidder is eligible when its bid is at least the phantom market price and the reserve price (a
    tie with the phantom goes to the bidder, as in papergym/RTB-v0). The highest eligible bid wins, ties
    drawn uniformly with ``rng``; the winner pays its bid (first price) or the highest of the other live
    bids, the market price and the reserve (second price).
    """
    # Plain Python over a handful of bidders: several times faster than numpy calls on tiny arrays.
    threshold = max(market_price, reserve_price)
    top, candidates = -1, []
    for index, (bid, is_live) in enumerate(zip(bids, live)):
        if not is_live or bid < threshold:
            continue
        if bid > top:
            top, candidates = bid, [index]
        elif bid == top:
            candidates.append(index)
    if not candidates:
        return NO_WINNER, int(market_price)
    winner = candidates[0] if len(candidates) == 1 else candidates[int(rng.integers(len(candidates)))]
    if first_price:
        return winner, int(top)
    runner_up = max((bid for index, (bid, is_live) in enumerate(zip(bids, live)) if is_live and index != winner),
                    default=0)
    return winner, int(max(runner_up, threshold))


def pctr_features(pctrs: np.ndarray, theta_avgs: np.ndarray) -> np.ndarray:
    """The observation's pCTR entry of every request (bidders, n): clip(log(pctr / theta_avg) / log 1000)."""
    features = np.log(np.maximum(pctrs, PCTR_FLOOR) / theta_avgs[:, None]) / PCTR_LOG_RANGE
    return np.clip(features, -1.0, 1.0).astype(np.float32)


class AuctionEnv(ParallelEnv):
    """
    ## Description

    The multi-bidder counterpart of ``papergym/RTB-v0`` (Cai et al., "Real-Time Bidding by Reinforcement
    Learning in Display Advertising", WSDM 2017): N advertisers ("bidder_0", ...), each with its own
    campaign value model and its own budget B_i for an episode of T requests, bid for the same stream of
    ad requests. The rest of the market is a phantom bidder whose bid is the logged (or synthetic) market
    price. Each step one request arrives; every live bidder submits an integer bid, capped at its remaining
    budget. The highest bid wins if it reaches the market price and the reserve price (ties between
    bidders broken uniformly at random with the environment's generator; a bidder tied with the phantom
    wins, as in RTB-v0). The winner pays the second price (the highest of the other bidders' bids, the
    market price and the reserve) or, with ``auction="first"``, its bid. With one bidder and no reserve
    this is exactly RTB-v0.

    ## Action Space

    Per bidder ``Discrete(max_bid + 1)``: the integer bid (price units of the logs; ``max_bid`` = 300). The
    executed bid is min(a, b_i).

    ## Observation Space

    Per bidder ``Box(float32)`` as in RTB-v0: auctions left t / T, own budget left b_i / B_i and
    clip(log(pctr_i / theta_avg_i) / log(1000), -1, 1) with the bidder's own pCTR of the request and its
    campaign's training CTR; with ``observe_price=True`` a fourth entry, the last clearing price / max_bid
    (what the winner paid, or the market price when no bidder won: what a bidder learns after an auction).
    ``bidding_state()`` returns the exact (t, b, pCTR) of every bidder.

    ## Rewards

    For the winner: its click (``reward="click"``, default), its pCTR (``"pctr"``), or
    ``value_i * click - price`` (``"surplus"``, with ``click_values``, default each campaign's training
    cost per click); 0 for the others. Each bidder's ``info`` holds ``bid`` (executed), ``win``, ``cost``,
    ``click``, ``pctr``, ``market_price``, ``clearing_price``, ``winner`` (index, -1 for the phantom),
    ``remaining_budget`` and ``auctions_left`` as plain numbers.

    ## Starting State

    t = T and b_i = B_i = int(CPM_i * c0_i * T) (or ``budgets``) at the first request of an episode.
    Episodes start at a random request of the split (``episode_order="random"``) or replay the split cut
    into consecutive episodes (``"sequential"``; ``reset(options={"episode": k})`` jumps to episode k).

    ## Episode End

    Every bidder terminates after T requests (or when the split's segment ends). With
    ``drop_exhausted=True`` a bidder whose budget reaches 0 terminates at once and leaves the auction;
    by default it stays with its bids capped at 0, so the number of agents never changes (as SuperSuit's
    vectorisation needs). ``max_cycles`` truncates the episode after that many steps.

    ## Arguments

    * ``campaigns``: ``"synthetic"`` (default: ``n_agents`` bidders of the default synthetic campaign over a
      shared stream, ``value_correlation`` the correlation of two bidders' log-pCTRs of a request), a
      ``SyntheticMarket``, an ``AuctionMarket``, or a list of campaigns (``Campaign`` objects or iPinYou
      folders; the first one's market prices are the shared stream).
    * ``n_agents`` (default 3), ``value_correlation`` (default 0.5): of the default synthetic market.
    * ``split``: ``"train"``, ``"validation"``, ``"test"``; default train, else validation, else test.
    * ``T`` (default 1000); ``c0`` (default 1/32, one value or one per bidder) or ``budgets``.
    * ``auction``: ``"second"`` (default) or ``"first"``; ``reserve_price`` (default 0).
    * ``reward``: ``"click"`` (default), ``"pctr"`` or ``"surplus"``; ``click_values`` for the surplus.
    * ``observe_price`` (default False), ``drop_exhausted`` (default False).
    * ``episode_order``: ``"random"`` (default) or ``"sequential"``; ``max_bid`` (default 300);
      ``max_cycles`` (default None); ``render_mode``: ``"ansi"``, ``"rgb_array"`` or None.

    ## Version History

    * v0: initial version.
    """

    metadata = {"name": "papergym_auction_v0", "render_modes": ["ansi", "rgb_array"], "render_fps": 4,
                "is_parallelizable": True}

    def __init__(self, campaigns: str | SyntheticMarket | AuctionMarket | Sequence[str | Path | Campaign]
                 = "synthetic", n_agents: int = 3, value_correlation: float = DEFAULT_VALUE_CORRELATION,
                 split: str | None = None, T: int = 1000, c0: float | Sequence[float] = 1 / 32,
                 budgets: Sequence[int] | None = None, auction: str = "second", reserve_price: int = 0,
                 reward: str = "click", click_values: Sequence[float] | None = None, observe_price: bool = False,
                 drop_exhausted: bool = False, episode_order: str = "random", max_bid: int = MAX_PRICE,
                 max_cycles: int | None = None, render_mode: str | None = None):
        self.market = _build_market(campaigns, n_agents, value_correlation)
        n = self.market.n_bidders
        self.split = self.market.default_split() if split is None else require_choice("split", split,
                                                                                       self.market.splits)
        self.horizon = require_int("T", T, low=1)
        self.max_bid = require_int("max_bid", max_bid, low=1, high=MAX_PRICE)
        self.budgets = self._budgets(c0, budgets)
        self.auction = require_choice("auction", auction, AUCTIONS)
        self.reserve_price = require_int("reserve_price", reserve_price, low=0, high=MAX_PRICE)
        self.reward = require_choice("reward", reward, REWARDS)
        self.click_values = self._click_values(click_values)
        self.observe_price = _require_bool("observe_price", observe_price)
        self.drop_exhausted = _require_bool("drop_exhausted", drop_exhausted)
        self.episode_order = require_choice("episode_order", episode_order, EPISODE_ORDERS)
        self.max_cycles = None if max_cycles is None else require_int("max_cycles", max_cycles, low=1)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode

        self.theta_avgs = np.array([campaign.theta_avg for campaign in self.market.campaigns])
        self.possible_agents = [f"bidder_{index}" for index in range(n)]
        self.agents: list[str] = []
        self._index = {agent: index for index, agent in enumerate(self.possible_agents)}
        width = self._observation_width = 4 if self.observe_price else 3
        self._pctr_features = pctr_features(self.market.streams(self.split)[1], self.theta_avgs)
        low = np.array([0.0, 0.0, -1.0, 0.0][:width], dtype=np.float32)
        self._observation_spaces = {agent: spaces.Box(low, np.ones(width, dtype=np.float32), dtype=np.float32)
                                    for agent in self.possible_agents}
        self._action_spaces = {agent: spaces.Discrete(self.max_bid + 1) for agent in self.possible_agents}
        self._episode_starts, self._episode_ends = self.market.log(self.split).episodes(self.horizon)
        self.np_random, self.np_random_seed = seeding.np_random()
        self._next_episode = 0
        self.episode = 0
        self._started = False
        self._position = self._end = self._cycles = 0
        self._auctions_left = self.horizon
        self._budget_left = self.budgets.copy()
        self._live = np.zeros(n, dtype=bool)
        self._last_price = 0
        self._last: dict[str, dict[str, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_pctr_features"]  # derived from the market, which pickles as its recipe
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pctr_features = pctr_features(self.market.streams(self.split)[1], self.theta_avgs)

    # --- construction helpers ------------------------------------------------------------------------

    def _budgets(self, c0: Any, budgets: Any) -> np.ndarray:
        n = self.market.n_bidders
        if budgets is not None:
            values = _per_bidder("budgets", budgets, n)
            return np.array([require_int("budgets", value, low=1) for value in values], dtype=np.int64)
        levels = [require_positive("c0", value) for value in _per_bidder("c0", c0, n)]
        result = np.array([campaign.budget(self.horizon, level)
                           for campaign, level in zip(self.market.campaigns, levels)], dtype=np.int64)
        if np.any(result < 1):
            raise PapergymError(f"c0 = {c0!r} gives the budgets {result.tolist()}; c0 must make every B_i >= 1")
        return result

    def _click_values(self, click_values: Any) -> np.ndarray:
        if click_values is None:
            return np.array([campaign.cpc for campaign in self.market.campaigns])
        values = _per_bidder("click_values", click_values, self.market.n_bidders)
        return np.array([require_real("click_values", value, low=0.0) for value in values])

    # --- PettingZoo API ------------------------------------------------------------------------------

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[agent]

    @property
    def campaigns(self) -> tuple[Campaign, ...]:
        return self.market.campaigns

    @property
    def n_episodes(self) -> int:
        """Number of consecutive episodes of the split (``episode_order="sequential"``)."""
        return len(self._episode_starts)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None or not self._started:
            self.np_random, self.np_random_seed = seeding.np_random(seed)
        options = options or {}
        if "episode" in options:
            self._next_episode = require_int("episode", options["episode"], low=0, high=self.n_episodes - 1)
        self.episode = self._next_episode
        self._next_episode = (self.episode + 1) % self.n_episodes
        if self.episode_order == "sequential":
            self._position, self._end = int(self._episode_starts[self.episode]), int(self._episode_ends[self.episode])
        else:
            starts, ends = self.market.log(self.split).random_episodes(self.np_random, self.horizon, 1)
            self._position, self._end = int(starts[0]), int(ends[0])
        self._started = True
        self._cycles = 0
        self._auctions_left = self.horizon
        self._budget_left = self.budgets.copy()
        self._live = np.ones(len(self.possible_agents), dtype=bool)
        self._last_price = 0
        self._last = {}
        self.agents = self.possible_agents[:]
        observations = self._observations()
        pctrs = self._current_pctrs()
        infos = {agent: {"remaining_budget": int(self._budget_left[i]), "auctions_left": self._auctions_left,
                         "pctr": float(pctrs[i]), "episode_length": self._end - self._position}
                 for i, agent in enumerate(self.possible_agents)}
        return observations, infos

    def step(self, actions: dict[str, Any]):
        if not self._started:
            raise PapergymError("step() called before reset(); call reset() first")
        if not self.agents:
            return {}, {}, {}, {}, {}
        acting = self.agents
        bids = self._validated_bids(actions)
        prices, pctrs, clicks = self.market.streams(self.split)
        position = self._position
        market_price = int(prices[position])
        winner, price = clear_auction(bids, self._live.tolist(), market_price, self.reserve_price,
                                      self.auction == "first", self.np_random)
        rewards = [0.0] * len(self.possible_agents)
        click = 0
        if winner != NO_WINNER:
            click = int(clicks[winner, position])
            rewards[winner] = self._reward(winner, click, float(pctrs[winner, position]), price)
            self._budget_left[winner] -= price
        self._last_price = price
        self._auctions_left -= 1
        self._position += 1
        self._cycles += 1
        episode_over = self._auctions_left == 0 or self._position >= self._end
        truncated = not episode_over and self.max_cycles is not None and self._cycles >= self.max_cycles
        budgets_left = self._budget_left.tolist()
        own_pctrs = pctrs[:, position].tolist()
        infos, terminations, truncations = {}, {}, {}
        for agent in acting:
            i = self._index[agent]
            won = i == winner
            infos[agent] = {"bid": bids[i], "win": int(won), "cost": price if won else 0,
                            "click": click if won else 0, "pctr": own_pctrs[i], "market_price": market_price,
                            "clearing_price": price, "winner": winner, "remaining_budget": budgets_left[i],
                            "auctions_left": self._auctions_left}
            terminations[agent] = episode_over or (self.drop_exhausted and budgets_left[i] == 0)
            truncations[agent] = truncated and not terminations[agent]
        observations = self._observations(acting)
        self.agents = [agent for agent in acting if not (terminations[agent] or truncations[agent])]
        if len(self.agents) != len(acting):
            self._live[:] = False
            self._live[[self._index[agent] for agent in self.agents]] = True
        self._last = infos
        return (observations, {agent: rewards[self._index[agent]] for agent in acting}, terminations, truncations,
                infos)

    # --- state ---------------------------------------------------------------------------------------

    def _validated_bids(self, actions: dict[str, Any]) -> np.ndarray:
        if not isinstance(actions, dict):
            raise PapergymError(f"actions must be a dict of one bid per live agent, got {type(actions).__name__}")
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise PapergymError(f"actions lacks the live agents {missing}; got actions for {sorted(actions)}")
        bids = [0] * len(self.possible_agents)
        for agent in self.agents:
            action = actions[agent]
            index = self._index[agent]
            if type(action) in _INTEGER_TYPES and 0 <= action <= self.max_bid:
                bid = int(action)
            else:
                try:
                    bid = validated_action(self._action_spaces[agent], action)
                except ValueError as error:
                    raise PapergymError(f"{agent}: {error}") from None
            bids[index] = min(bid, int(self._budget_left[index]))
        return bids

    def _reward(self, winner: int, click: int, pctr: float, price: int) -> float:
        if self.reward == "click":
            return float(click)
        if self.reward == "pctr":
            return pctr
        return float(self.click_values[winner] * click - price)

    def _running(self) -> bool:
        return self._auctions_left > 0 and self._position < self._end

    def _current_pctrs(self) -> np.ndarray:
        """Each bidder's pCTR of the request up for auction (its theta_avg once the episode is over)."""
        if not self._running():
            return self.theta_avgs.copy()
        return self.market.streams(self.split)[1][:, self._position]

    def bidding_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact (auctions left, budget left, pCTR) of every bidder (arrays over ``possible_agents``)."""
        n = len(self.possible_agents)
        return np.full(n, self._auctions_left, dtype=np.int64), self._budget_left.copy(), self._current_pctrs()

    def _observations(self, agents: list[str] | None = None) -> dict[str, np.ndarray]:
        matrix = np.empty((len(self.possible_agents), self._observation_width), dtype=np.float32)
        matrix[:, 0] = self._auctions_left / self.horizon
        matrix[:, 1] = self._budget_left / self.budgets
        matrix[:, 2] = self._pctr_features[:, self._position] if self._running() else 0.0
        if self.observe_price:
            matrix[:, 3] = self._last_price / self.max_bid
        return {agent: matrix[self._index[agent]] for agent in (self.possible_agents if agents is None else agents)}

    # --- rendering -----------------------------------------------------------------------------------

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self._render_text()
        if self.render_mode == "rgb_array":
            return self._render_bars()
        return None

    def _render_text(self) -> str:
        lines = [f"t={self._auctions_left}/{self.horizon} last clearing price={self._last_price}"]
        for i, agent in enumerate(self.possible_agents):
            last = self._last.get(agent, {})
            outcome = f" bid {last['bid']}{' WON at ' + str(last['cost']) if last['win'] else ''}" if last else ""
            lines.append(f"{agent}: b={self._budget_left[i]}/{self.budgets[i]}{outcome}")
        return "\n".join(lines)

    def _render_bars(self) -> np.ndarray:
        """One bar per bidder: its remaining budget share (blue), the winner of the last auction in red."""
        height, bar_width = 64, 16
        image = np.full((height, bar_width * len(self.possible_agents), 3), 255, dtype=np.uint8)
        winner = next((last["winner"] for last in self._last.values()), NO_WINNER)
        for i in range(len(self.possible_agents)):
            filled = round(height * float(self._budget_left[i]) / float(self.budgets[i]))
            colour = (200, 40, 40) if i == winner else (40, 90, 200)
            image[height - filled:, i * bar_width + 2:(i + 1) * bar_width - 2] = colour
        return image

    def close(self) -> None:
        pass


def _per_bidder(name: str, value: Any, n: int) -> list[Any]:
    """A scalar for every bidder, or one value per bidder."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(value)
        if len(values) != n:
            raise PapergymError(f"{name} must hold one value per bidder ({n}), got {len(values)}: {value!r}")
        return values
    return [value] * n


def _require_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise PapergymError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _build_market(campaigns: Any, n_agents: int, value_correlation: float) -> AuctionMarket:
    if isinstance(campaigns, AuctionMarket):
        return campaigns
    if isinstance(campaigns, SyntheticMarket):
        return campaigns.build()
    if isinstance(campaigns, str) and campaigns == "synthetic":
        value_correlation = require_real("value_correlation", value_correlation, low=0.0, high=1.0)
        return SyntheticMarket.symmetric(n_agents, value_correlation=value_correlation).build()
    if isinstance(campaigns, (list, tuple)):
        return market_from_campaigns(campaigns)
    raise PapergymError(f"campaigns must be 'synthetic', a SyntheticMarket, an AuctionMarket or a list of "
                        f"campaigns (Campaign objects or folders), got {campaigns!r}")


def parallel_env(**kwargs: Any) -> AuctionEnv:
    """The parallel environment (the entry point of ``papergym/Auction-v0``)."""
    return AuctionEnv(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The AEC form: bidders act one after the other, the auction clears when all have bid."""
    return parallel_to_aec(parallel_env(**kwargs))


raw_env = AuctionEnv
