"""A native vector form of the auction: ``num_envs`` independent auctions, one vector entry per bidder.

Entry k is bidder k % N of auction (copy) k // N, so one array step clears ``num_envs`` auctions at once
and a policy shared by every bidder (parameter sharing) sees ``num_envs * N`` observations per step, as with SuperSuit's
``pettingzoo_env_to_vec_env_v1`` + ``concat_vec_envs_v1`` but without a Python loop over auctions or bidders.
The bidders of a copy share its episode: they all end at the same step, and a reset (also a partial one,
by ``reset_mask``) restarts whole copies. Exhausted bidders stay in the auction with their bids capped at
0 (``drop_exhausted`` is the parallel environment's only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from papergym.core.errors import PapergymError
from papergym.core.validation import renamed_argument, require_int
from papergym.core.vector import ArrayVectorEnv
from papergym.envs.auction.auction import AuctionEnv, pctr_features


def clear_auctions(bids: np.ndarray, market_prices: np.ndarray, reserve_price: int, first_price: bool,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clear one auction per row of ``bids`` (rows, bidders); the rule of :func:`clear_auction`.

    Returns (has_winner, winner index, clearing price: the price paid, or the market price without a
    winner). Ties are broken by uniform draws, one per bidder and row.
    """
    thresholds, top, candidates = auction_candidates(bids, market_prices, reserve_price)
    winners = np.argmax(np.where(candidates, rng.random(bids.shape), -1.0), axis=1)
    has_winner = candidates.any(axis=1)
    return has_winner, winners, clearing_prices(bids, has_winner, winners, top, thresholds, market_prices,
                                                first_price)


def auction_candidates(bids: np.ndarray, market_prices: np.ndarray,
                       reserve_price: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``bids`` (rows, bidders): the threshold a bid must reach (market price and reserve), the
    highest eligible bid (-1 without one) and the mask of the bidders tied at it, among whom the winner is
    drawn."""
    thresholds = np.maximum(market_prices, reserve_price)
    eligible = bids >= thresholds[:, None]
    top = np.where(eligible, bids, -1).max(axis=1)
    return thresholds, top, eligible & (bids == top[:, None])


def clearing_prices(bids: np.ndarray, has_winner: np.ndarray, winners: np.ndarray, top: np.ndarray,
                    thresholds: np.ndarray, market_prices: np.ndarray, first_price: bool) -> np.ndarray:
    """The price of each row's auction: the winner's bid (first price) or the highest of the other bids and
    the threshold (second price); the market price where nobody won (``winners`` is ignored there)."""
    if first_price:
        prices = top
    else:
        others = bids.copy()
        others[np.arange(len(bids)), winners] = -1
        prices = np.maximum(others.max(axis=1), thresholds)
    return np.where(has_winner, prices, market_prices)


def num_envs_argument(num_envs: int | None, copies: int | None, default: int = 1) -> int:
    """The number of auctions from ``num_envs``, or from the deprecated ``copies`` (with a warning)."""
    return require_int("num_envs", renamed_argument("num_envs", num_envs, "copies", copies, default), low=1)


class AuctionVectorEnv(ArrayVectorEnv):
    """``num_envs`` auctions of :class:`AuctionEnv` (same arguments, but ``drop_exhausted`` and
    ``render_mode``), flattened to ``num_envs * N`` entries of one bidder each.

    ``num_envs`` counts auctions (copies of the parallel environment), as ``num_envs`` counts environments
    in every papergym vector env; the vector's own ``num_envs`` attribute (Gymnasium's) counts its entries,
    ``num_envs * N``, and ``copies`` holds the number of auctions. ``copies=`` is the argument's deprecated
    name. With ``episode_order="sequential"`` copy c replays the split's episodes c, c + num_envs, ...
    """

    metadata = {"render_modes": []}

    def __init__(self, num_envs: int | None = None, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, copies: int | None = None,
                 **env_kwargs: Any):
        if env_kwargs.get("drop_exhausted"):
            raise PapergymError("drop_exhausted must be False in the vector form (its entries never leave)")
        auctions = num_envs_argument(num_envs, copies)
        self.auction = AuctionEnv(**env_kwargs)  # validates the arguments and holds the market
        self.copies = auctions
        self.n_bidders = len(self.auction.possible_agents)
        auction = self.auction
        super().__init__(self.copies * self.n_bidders, auction.observation_space(auction.possible_agents[0]),
                         auction.action_space(auction.possible_agents[0]), max_episode_steps=max_episode_steps,
                         autoreset_mode=autoreset_mode)
        self._prices, self._pctrs, self._clicks = auction.market.streams(auction.split)
        self._features = pctr_features(self._pctrs, auction.theta_avgs)
        zeros = np.zeros(self.copies, dtype=np.int64)
        self.positions, self.ends, self.auctions_left, self.last_prices = (zeros.copy() for _ in range(4))
        self.budget_left = np.zeros((self.copies, self.n_bidders), dtype=np.int64)
        self._cursor = np.arange(self.copies, dtype=np.int64)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_prices", "_pctrs", "_clicks", "_features"):
            del state[key]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        auction = self.auction
        self._prices, self._pctrs, self._clicks = auction.market.streams(auction.split)
        self._features = pctr_features(self._pctrs, auction.theta_avgs)

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if options is None or "reset_mask" not in options:
            self._cursor = np.arange(self.copies, dtype=np.int64)
        return super().reset(seed=seed, options=options)

    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        copies = mask.reshape(self.copies, self.n_bidders).any(axis=1)
        if not copies.any():
            return
        auction = self.auction
        if auction.episode_order == "sequential":
            episodes = self._cursor[copies] % auction.n_episodes
            starts, ends = auction._episode_starts[episodes], auction._episode_ends[episodes]
            self._cursor[copies] += self.copies
        else:
            starts, ends = auction.market.log(auction.split).random_episodes(self.np_random, auction.horizon,
                                                                             int(copies.sum()))
        self.positions[copies], self.ends[copies] = starts, ends
        self.auctions_left[copies] = auction.horizon
        self.budget_left[copies] = auction.budgets
        self.last_prices[copies] = 0

    def _running(self) -> np.ndarray:
        return (self.auctions_left > 0) & (self.positions < self.ends)

    def current_pctrs(self) -> np.ndarray:
        """Each entry's pCTR of the request up for auction (its bidder's theta_avg once the episode is over)."""
        index = np.minimum(self.positions, len(self._prices) - 1)
        pctrs = self._pctrs[:, index].T
        return np.where(self._running()[:, None], pctrs, self.auction.theta_avgs).ravel()

    def _observe(self) -> np.ndarray:
        auction = self.auction
        running = self._running()
        index = np.minimum(self.positions, len(self._prices) - 1)
        observations = np.empty((self.copies, self.n_bidders, auction._observation_width), dtype=np.float32)
        observations[..., 0] = (self.auctions_left / auction.horizon)[:, None]
        observations[..., 1] = self.budget_left / auction.budgets
        observations[..., 2] = np.where(running[:, None], self._features[:, index].T, 0.0)
        if auction.observe_price:
            observations[..., 3] = (self.last_prices / auction.max_bid)[:, None]
        return observations.reshape(self.num_envs, -1)

    def _transition(self, actions: np.ndarray):
        auction = self.auction
        running = self._running()
        index = np.minimum(self.positions, len(self._prices) - 1)
        bids = np.minimum(actions.reshape(self.copies, self.n_bidders), self.budget_left)
        market_prices = self._prices[index]
        # A finished copy holds no auction: its bids are below any threshold.
        has_winner, winners, prices = clear_auctions(np.where(running[:, None], bids, -1), market_prices,
                                                     auction.reserve_price, auction.auction == "first",
                                                     self.np_random)
        wins = np.zeros((self.copies, self.n_bidders), dtype=bool)
        wins[np.flatnonzero(has_winner), winners[has_winner]] = True
        costs = np.where(wins, prices[:, None], 0)
        pctrs = self._pctrs[:, index].T
        clicks = np.where(wins, self._clicks[:, index].T, 0)
        if auction.reward == "click":
            rewards = clicks.astype(np.float64)
        elif auction.reward == "pctr":
            rewards = np.where(wins, pctrs, 0.0)
        else:
            rewards = np.where(wins, auction.click_values * clicks - costs, 0.0)
        self.budget_left -= costs
        self.auctions_left -= running
        self.positions += running
        self.last_prices = np.where(running, prices, self.last_prices)
        terminated = running & ~self._running()

        def per_entry(values: np.ndarray) -> np.ndarray:
            return np.broadcast_to(values[:, None], (self.copies, self.n_bidders)).ravel().copy()

        info = {"bid": bids.ravel(), "win": wins.ravel().astype(np.int64), "cost": costs.ravel(),
                "click": clicks.ravel(), "pctr": pctrs.ravel(), "market_price": per_entry(market_prices),
                "clearing_price": per_entry(prices), "remaining_budget": self.budget_left.ravel().copy(),
                "auctions_left": per_entry(self.auctions_left)}
        return rewards.ravel(), per_entry(terminated), info
