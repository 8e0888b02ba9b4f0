"""Bidders for ``papergym/Auction-v0``: the RTB bidders of Cai et al. (RLB, Lin, Mcpc, SS-MDP) seated at
a multi-bidder auction, a PPO bidder trained with parameter sharing, and :func:`play`, the loop that
evaluates one policy per seat.

Each RTB bidder is built from its own seat's campaign and budget, exactly as it would be for RTB-v0
alone (RLB's value function from the campaign's market-price histogram, Lin's base bid tuned on the
campaign's validation episodes against the market alone), and bids from the exact state (t, b, pCTR) of
its seat (``AuctionEnv.bidding_state``). The other bidders are part of the market it did not model.

The PPO bidder acts through :class:`MultiplierBids`: its action a in [-1, 1] scales its seat's linear bid
b0_i * pctr / theta_avg_i by max_multiplier**a (the ``BidMultiplier`` formulation of RTB-v0). One policy
is shared by every seat (parameter sharing): the native vector form (or SuperSuit's conversion of the
parallel environment) has one entry per bidder and auction, which Stable-Baselines3 trains on.

    model = train_shared_ppo(dict(T=1000), timesteps=100_000, b0=lin.b0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorActionWrapper
from gymnasium.vector.utils import batch_space
from pettingzoo.utils.wrappers import BaseParallelWrapper

from papergym.agents.rtb import RLB, SSMDP, Bidder, LinearBidder, Mcpc
from papergym.agents.training import fit
from papergym.core.errors import PapergymError
from papergym.core.validation import require_choice, require_real, validated_action
from papergym.core.vector import validated_batch_action
from papergym.envs.auction import AuctionEnv, AuctionVectorEnv
from papergym.envs.auction.auction import NO_WINNER, pctr_features
from papergym.envs.auction.vector import auction_candidates, clearing_prices, num_envs_argument
from papergym.envs.rtb import BiddingProblem
from papergym.wrappers.rtb import UNIT_BOX, multiplier_bids

RTB_BIDDERS = ("RLB", "Lin", "Mcpc", "SS-MDP")
#: Range of the PPO bidder's multiplier of the linear bid (as the RTB reproduction's PPO bidder).
DEFAULT_MAX_MULTIPLIER = 4.0


def _auction(env: Any) -> AuctionEnv:
    base = getattr(env, "unwrapped", env)
    if not isinstance(base, AuctionEnv):
        raise PapergymError(f"env must be a papergym/Auction-v0 environment, got {env!r}")
    return base


def seat_problem(env: Any, seat: int) -> BiddingProblem:
    """The single-bidder problem of a seat: T, its budget B_i, the bid cap and its campaign's CTR."""
    base = _auction(env)
    return BiddingProblem(base.horizon, int(base.budgets[seat]), base.max_bid, base.campaigns[seat].theta_avg)


def rtb_bidder(name: str, env: Any, seat: int, tune_split: str = "validation") -> Bidder:
    """An RTB bidder (``"RLB"``, ``"Lin"``, ``"Mcpc"``, ``"SS-MDP"``) for one seat of the auction."""
    require_choice("bidder", name, RTB_BIDDERS)
    base = _auction(env)
    campaign, problem = base.campaigns[seat], seat_problem(base, seat)
    if name == "RLB":
        return RLB(campaign, problem)
    if name == "SS-MDP":
        return SSMDP(campaign, problem)
    if name == "Mcpc":
        return Mcpc(campaign, problem)
    return LinearBidder.tune(campaign, problem, tune_split)


#: A seat's policy: (observation, auctions left, budget left, exact pCTR) -> integer bid. A policy may also offer
#: ``batch(observations, auctions_left, budget_left, pctrs) -> bids`` over arrays of states (one row per
#: state) with the same bid for every row as the call would give: :func:`play` then plays every episode at once.
SeatPolicy = Callable[[np.ndarray, int, int, float], int]


class BidderPolicy:
    """An RTB bidder as a seat policy: its ``bids`` on the exact state, capped at min(b, max_bid)."""

    def __init__(self, bidder: Bidder):
        self.bidder = bidder

    def __call__(self, observation: np.ndarray, auctions_left: int, budget_left: int, pctr: float) -> int:
        bid = self.bidder.bids(np.array([auctions_left]), np.array([budget_left]), np.array([pctr]))[0]
        return int(min(max(bid, 0), budget_left, self.bidder.problem.max_bid))

    def batch(self, observations: np.ndarray, auctions_left: np.ndarray, budget_left: np.ndarray,
              pctrs: np.ndarray) -> np.ndarray:
        """The bids of a batch of states: element by element what the call gives."""
        bids = np.asarray(self.bidder.bids(auctions_left, budget_left, pctrs), dtype=np.int64)
        return np.minimum(np.minimum(np.maximum(bids, 0), budget_left), self.bidder.problem.max_bid)


def bidder_policy(bidder: Bidder) -> SeatPolicy:
    """An RTB bidder as a seat policy: its ``bids`` on the exact state, capped at min(b, max_bid)."""
    return BidderPolicy(bidder)


def predictor_policy(agent: Any, max_bid: int) -> SeatPolicy:
    """Any agent with SB3's ``predict`` (a user's agent, a model trained on the bid actions) as a seat policy."""
    def policy(observation: np.ndarray, auctions_left: int, budget_left: int, pctr: float) -> int:
        action, _ = agent.predict(observation, deterministic=True)
        return int(min(max(int(np.asarray(action).reshape(-1)[0]), 0), budget_left, max_bid))

    return policy


# --- the PPO bidder ----------------------------------------------------------------------------------


class MultiplierBids(BaseParallelWrapper):
    """Each bidder's action a in [-1, 1] -> bid min(max_bid, floor(max_multiplier**a * b0_i * pctr / theta_avg_i)).

    ``b0``: one base bid for every seat or one per seat (default: each seat's campaign CPM).
    """

    def __init__(self, env: Any, b0: float | Sequence[float] | None = None,
                 max_multiplier: float = DEFAULT_MAX_MULTIPLIER):
        super().__init__(env)
        base = _auction(env)
        n = len(base.possible_agents)
        if b0 is None:
            self.b0 = np.array([campaign.cpm for campaign in base.campaigns])
        else:
            values = list(b0) if isinstance(b0, (list, tuple, np.ndarray)) else [b0] * n
            if len(values) != n:
                raise PapergymError(f"b0 must hold one base bid per bidder ({n}), got {len(values)}")
            self.b0 = np.array([require_real("b0", value, low=0.0) for value in values])
        self.max_multiplier = require_real("max_multiplier", max_multiplier, low=1.0)
        self.possible_agents = base.possible_agents
        self.metadata = base.metadata
        self._action_spaces = {agent: UNIT_BOX for agent in base.possible_agents}

    @property
    def agents(self) -> list[str]:
        return self.env.agents

    def action_space(self, agent: str) -> spaces.Box:
        return self._action_spaces[agent]

    def bids(self, actions: dict[str, Any]) -> dict[str, int]:
        base = self.env.unwrapped
        agents = list(actions)
        seats = [base.possible_agents.index(agent) for agent in agents]
        try:
            multipliers = np.array([np.asarray(actions[agent], dtype=np.float64).reshape(-1) for agent in agents])
        except (TypeError, ValueError):
            multipliers = None
        if multipliers is None or multipliers.shape != (len(agents), 1) or not np.all(np.abs(multipliers) <= 1.0):
            for agent in agents:  # the slow check, which raises a ValueError naming the bad action
                validated_action(UNIT_BOX, actions[agent])
        bids = multiplier_bids(multipliers, base.bidding_state()[2][seats], self.b0[seats], base.theta_avgs[seats],
                               self.max_multiplier, base.max_bid)
        return dict(zip(agents, bids.tolist()))

    def step(self, actions: dict[str, Any]):
        return self.env.step(self.bids(actions))


#: How far (in action units) a batched forward pass of a policy network may be from the one-row pass for
#: :class:`MultiplierPolicy` to keep the batched bid: float32 sums in another order differ by a few units in
#: the last place (about 1e-7), so 1e-4 leaves a margin of about a thousand.
BATCH_ACTION_TOLERANCE = 1e-4


class MultiplierPolicy:
    """A model trained on :class:`MultiplierBids` (e.g. the shared PPO policy) as one seat's policy.

    The call predicts one observation, as the model was always asked. ``batch`` predicts all rows in one
    forward pass, which can differ from the one-row pass in the last float32 place (the sums run in another
    order); a row whose bid would change with its action moved by :data:`BATCH_ACTION_TOLERANCE` either
    way is predicted again alone, so every bid is the call's bid.
    """

    def __init__(self, model: Any, b0: float, theta_avg: float, max_bid: int,
                 max_multiplier: float = DEFAULT_MAX_MULTIPLIER):
        self.model, self.b0, self.theta_avg, self.max_bid = model, b0, theta_avg, max_bid
        self.max_multiplier = max_multiplier

    def _bids(self, actions: Any, pctrs: Any) -> np.ndarray:
        return multiplier_bids(actions, pctrs, self.b0, self.theta_avg, self.max_multiplier, self.max_bid)

    def __call__(self, observation: np.ndarray, auctions_left: int, budget_left: int, pctr: float) -> int:
        action, _ = self.model.predict(observation, deterministic=True)
        return int(min(self._bids(action, pctr)[0], budget_left))

    def batch(self, observations: np.ndarray, auctions_left: np.ndarray, budget_left: np.ndarray,
              pctrs: np.ndarray) -> np.ndarray:
        """The bids of a batch of states: element by element what the call gives."""
        actions, _ = self.model.predict(observations, deterministic=True)
        actions = np.asarray(actions, dtype=np.float64).reshape(len(observations))
        bids = self._bids(actions, pctrs)
        low = self._bids(np.clip(actions - BATCH_ACTION_TOLERANCE, -1.0, 1.0), pctrs)
        high = self._bids(np.clip(actions + BATCH_ACTION_TOLERANCE, -1.0, 1.0), pctrs)
        for row in np.flatnonzero(low != high):  # near a step of floor(): the one-row pass decides
            action, _ = self.model.predict(observations[row], deterministic=True)
            bids[row] = self._bids(action, pctrs[row])[0]
        return np.minimum(bids, budget_left)


def multiplier_policy(model: Any, b0: float, theta_avg: float, max_bid: int,
                      max_multiplier: float = DEFAULT_MAX_MULTIPLIER) -> SeatPolicy:
    """A model trained on :class:`MultiplierBids` (e.g. the shared PPO policy) as one seat's policy."""
    return MultiplierPolicy(model, b0, theta_avg, max_bid, max_multiplier)


def supersuit_vec_env(env: Any, num_envs: int | None = None, *, copies: int | None = None) -> Any:
    """Stable-Baselines3's view of ``num_envs`` copies of a parallel env, one vector entry per bidder
    (``copies`` is the deprecated name of ``num_envs``).

    SuperSuit's ``pettingzoo_env_to_vec_env_v1`` + ``concat_vec_envs_v1``; the result also takes SB3's
    ``seed`` (SuperSuit's wrapper forwards it to a vector env that has none): the seed applies at the next
    reset, as SuperSuit seeds its copies (the first one with the seed, the next ones with the following seeds).
    """
    num_envs = num_envs_argument(num_envs, copies)
    import supersuit
    from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper

    class SeededSB3VecEnv(SB3VecEnvWrapper):
        def __init__(self, venv):
            super().__init__(venv)
            self._seed: int | None = None

        def seed(self, seed: int | None = None):
            self._seed = seed
            return [None] * self.num_envs

        def reset(self, seed: int | None = None, options: dict | None = None):
            seed = self._seed if seed is None else seed
            self._seed = None
            observations, self.reset_infos = self.venv.reset(seed=seed, options=options)
            return observations

    vector = supersuit.pettingzoo_env_to_vec_env_v1(env)
    concatenated = supersuit.concat_vec_envs_v1(vector, num_envs, num_cpus=0, base_class="gymnasium")
    return SeededSB3VecEnv(concatenated)


class VectorMultiplierBids(VectorActionWrapper):
    """:class:`MultiplierBids` for the native vector form: entry k's action scales its seat's linear bid."""

    def __init__(self, env: AuctionVectorEnv, b0: float | Sequence[float] | None = None,
                 max_multiplier: float = DEFAULT_MAX_MULTIPLIER):
        super().__init__(env)
        per_seat = MultiplierBids(env.auction, b0, max_multiplier)  # validates b0 and max_multiplier
        self.b0, self.max_multiplier = per_seat.b0, per_seat.max_multiplier
        self._entry_b0 = np.tile(self.b0, env.copies)
        self._entry_theta = np.tile(env.auction.theta_avgs, env.copies)
        self.single_action_space = UNIT_BOX
        self.action_space = batch_space(UNIT_BOX, env.num_envs)

    def actions(self, actions: Any) -> np.ndarray:
        actions = validated_batch_action(UNIT_BOX, actions, self.num_envs)
        return multiplier_bids(actions, self.env.current_pctrs(), self._entry_b0, self._entry_theta,
                               self.max_multiplier, self.env.auction.max_bid)


@dataclass
class TrainedBidder:
    """A shared PPO policy trained on :class:`MultiplierBids` and how to bid with it at any seat."""

    model: Any
    b0: np.ndarray
    max_multiplier: float

    def policy(self, env: Any, seat: int) -> SeatPolicy:
        base = _auction(env)
        return multiplier_policy(self.model, float(self.b0[seat]), float(base.theta_avgs[seat]), base.max_bid,
                                 self.max_multiplier)


VECTORIZATIONS = ("native", "supersuit")


def shared_vec_env(env_kwargs: dict[str, Any], num_envs: int | None = None,
                   b0: float | Sequence[float] | None = None, max_multiplier: float = DEFAULT_MAX_MULTIPLIER,
                   vectorization: str = "native", *, copies: int | None = None) -> Any:
    """SB3's vector env over ``num_envs`` auctions with multiplier actions, one entry per bidder and auction:
    the native vector form (``"native"``) or SuperSuit's conversion of the parallel env (``"supersuit"``).
    ``copies`` is the deprecated name of ``num_envs``."""
    require_choice("vectorization", vectorization, VECTORIZATIONS)
    num_envs = num_envs_argument(num_envs, copies)
    if vectorization == "supersuit":
        return supersuit_vec_env(MultiplierBids(AuctionEnv(**env_kwargs), b0, max_multiplier), num_envs)
    from papergym.wrappers.sb3 import SB3VecEnv  # loads Stable-Baselines3 (torch)

    vector = AuctionVectorEnv(num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **env_kwargs)
    return SB3VecEnv(VectorMultiplierBids(vector, b0, max_multiplier))


#: PPO's settings for the shared bidder (any of them can be overridden through ``train_shared_ppo``).
#: A narrow initial policy (std 0.22 on a in [-1, 1], about +-35% on the bid): with SB3's default std of 1
#: the sampled multipliers 4**a average 2.6 times the mean action's, so the mean action PPO learns (and
#: bids with when deterministic) lies far below what it trained with; measured on the quick setting, it
#: then spent 3% of its budget for 0.016 expected clicks per episode against Lin's 0.145.
PPO_SETTINGS = {"gamma": 1.0, "n_steps": 512, "batch_size": 256, "learning_rate": 3e-4, "ent_coef": 0.0,
                "policy_kwargs": {"log_std_init": -1.5}}


def train_shared_ppo(env_kwargs: dict[str, Any], timesteps: int, b0: float | Sequence[float] | None = None,
                     seed: int = 0, num_envs: int | None = None, max_multiplier: float = DEFAULT_MAX_MULTIPLIER,
                     vectorization: str = "native", *, copies: int | None = None,
                     **ppo_kwargs: Any) -> TrainedBidder:
    """PPO with one policy shared by every bidder (self-play), on ``num_envs`` auctions (default 4;
    ``copies`` is the deprecated name), built and trained by :func:`papergym.agents.training.fit`.

    Trained on random episodes with the pCTR of won impressions as reward (the click's expectation, less
    noise); ``timesteps`` counts bidder-steps (one auction gives one per bidder). ``vectorization``: see
    :func:`shared_vec_env` (the same auctions; their random draws differ, and the native form is several
    times faster).
    """
    num_envs = num_envs_argument(num_envs, copies, default=4)
    kwargs = {**env_kwargs, "reward": "pctr", "episode_order": "random"}
    venv = shared_vec_env(kwargs, num_envs, b0, max_multiplier, vectorization)
    model = fit("ppo", venv, timesteps, seed=seed, **{**PPO_SETTINGS, **ppo_kwargs})
    base_b0 = MultiplierBids(AuctionEnv(**kwargs), b0, max_multiplier).b0
    return TrainedBidder(model, base_b0, max_multiplier)


# --- evaluation --------------------------------------------------------------------------------------


def play(env: AuctionEnv, policies: Sequence[SeatPolicy], episodes: int, seed: int) -> dict[str, np.ndarray]:
    """The first ``episodes`` episodes of ``env``'s split (in order) with one policy per seat; per-seat totals
    of auctions, impressions, clicks, cost and expected clicks (``pctr``: the sum of the won impressions'
    pCTR, a low-variance view of clicks), with the episodes played and the budget they held.

    Episode ``i`` is reset with seed ``seed + i`` (the tie-breaking draws), as in
    :func:`papergym.core.rollout.evaluate`. This is the auction's one evaluation loop, separate from
    ``evaluate`` because the environment is a PettingZoo parallel one: every step takes one action per live
    seat, each seat's policy bids from its exact state (auctions left, budget left, pCTR:
    ``AuctionEnv.bidding_state``), and the figures are per seat, not one return per episode.

    When every policy offers ``batch`` (the RTB bidders' and the PPO bidder's do) and no bidder can leave
    the auction early (``drop_exhausted`` and ``max_cycles`` unset), all the episodes are played at once,
    one array step per auction of every episode, with the same totals as episode after episode
    (:func:`play_sequential`): each episode keeps its own tie-breaking generator, and the expected clicks are
    summed in the same order.
    """
    base = _auction(env)
    n = len(base.possible_agents)
    if len(policies) != n:
        raise PapergymError(f"policies must hold one policy per seat ({n}), got {len(policies)}")
    if (all(callable(getattr(policy, "batch", None)) for policy in policies) and not base.drop_exhausted
            and base.max_cycles is None):
        return _play_batched(base, policies, min(episodes, base.n_episodes), seed)
    return play_sequential(base, policies, episodes, seed)


def play_sequential(env: AuctionEnv, policies: Sequence[SeatPolicy], episodes: int,
                    seed: int) -> dict[str, np.ndarray]:
    """:func:`play` episode after episode through the parallel environment's ``reset`` and ``step``: the
    reference of the batched loop, and the loop of policies without ``batch``."""
    base = _auction(env)
    episodes = min(episodes, base.n_episodes)
    n = len(base.possible_agents)
    if len(policies) != n:
        raise PapergymError(f"policies must hold one policy per seat ({n}), got {len(policies)}")
    totals = {key: np.zeros(n, dtype=np.int64) for key in ("auctions", "impressions", "clicks", "cost")}
    totals["pctr"] = np.zeros(n)
    for episode in range(episodes):
        observations, _ = base.reset(seed=seed + episode, options={"episode": episode})
        while base.agents:
            auctions_left, budget_left, pctrs = base.bidding_state()
            actions = {agent: policies[seat](observations[agent], int(auctions_left[seat]), int(budget_left[seat]),
                                             float(pctrs[seat]))
                       for seat, agent in enumerate(base.possible_agents) if agent in base.agents}
            observations, _, _, _, infos = base.step(actions)
            for agent, info in infos.items():
                seat = base.possible_agents.index(agent)
                totals["auctions"][seat] += 1
                totals["impressions"][seat] += info["win"]
                totals["clicks"][seat] += info["click"]
                totals["cost"][seat] += info["cost"]
                totals["pctr"][seat] += info["pctr"] * info["win"]
    totals["episodes"] = np.full(n, episodes)
    totals["budget"] = base.budgets * episodes
    return totals


def _play_batched(base: AuctionEnv, policies: Sequence[SeatPolicy], episodes: int,
                  seed: int) -> dict[str, np.ndarray]:
    """:func:`play` with every episode at once: the auction rule of ``AuctionEnv.step`` on arrays over
    episodes (every bidder stays live), ties drawn with episode ``i``'s generator seeded ``seed + i``."""
    n = len(base.possible_agents)
    prices, pctr_stream, click_stream = base.market.streams(base.split)
    features = pctr_features(pctr_stream, base.theta_avgs)
    starts, ends = base.market.log(base.split).episodes(base.horizon)
    positions, ends = starts[:episodes].astype(np.int64), ends[:episodes].astype(np.int64)
    generators = [seeding.np_random(seed + episode)[0] for episode in range(episodes)]
    auctions_left = np.full(episodes, base.horizon, dtype=np.int64)
    budget_left = np.tile(base.budgets, (episodes, 1))
    last_price = np.zeros(episodes, dtype=np.int64)
    steps = int(np.max(np.minimum(ends - positions, base.horizon), initial=0))
    # Expected clicks won at every (episode, step, seat), summed at the end in the sequential loop's order.
    won_pctrs = np.zeros((episodes, steps, n))
    totals = {key: np.zeros(n, dtype=np.int64) for key in ("auctions", "impressions", "clicks", "cost")}
    first_price, width = base.auction == "first", base._observation_width
    observations = np.empty((episodes, width), dtype=np.float32)
    while True:
        rows = np.flatnonzero((auctions_left > 0) & (positions < ends))
        if not rows.size:
            break
        index = positions[rows]
        pctrs = pctr_stream[:, index].T
        observations = observations[: rows.size]
        bids = np.empty((rows.size, n), dtype=np.int64)
        for seat, policy in enumerate(policies):
            observations[:, 0] = auctions_left[rows] / base.horizon
            observations[:, 1] = budget_left[rows, seat] / base.budgets[seat]
            observations[:, 2] = features[seat, index]
            if base.observe_price:
                observations[:, 3] = last_price[rows] / base.max_bid
            seat_bids = np.asarray(policy.batch(observations.copy(), auctions_left[rows], budget_left[rows, seat],
                                                pctrs[:, seat].copy()))
            if (seat_bids.shape != (rows.size,) or seat_bids.dtype.kind not in "iu"
                    or not np.all((seat_bids >= 0) & (seat_bids <= base.max_bid))):
                raise PapergymError(f"{base.possible_agents[seat]}: a policy's batch must return {rows.size} "
                                    f"integer bids in [0, {base.max_bid}], got {seat_bids!r}")
            bids[:, seat] = seat_bids
        bids = np.minimum(bids, budget_left[rows])
        market_prices = prices[index].astype(np.int64)
        thresholds, top, candidates = auction_candidates(bids, market_prices, base.reserve_price)
        counts = candidates.sum(axis=1)
        winners = np.where(counts > 0, np.argmax(candidates, axis=1), NO_WINNER)
        for row in np.flatnonzero(counts > 1):  # a tie: the episode's generator, as clear_auction draws it
            tied = np.flatnonzero(candidates[row])
            winners[row] = tied[int(generators[rows[row]].integers(len(tied)))]
        won = winners != NO_WINNER
        clearing = clearing_prices(bids, won, winners, top, thresholds, market_prices, first_price)
        win_rows, win_seats = np.flatnonzero(won), winners[won]
        step = base.horizon - auctions_left[rows]
        budget_left[rows[win_rows], win_seats] -= clearing[win_rows]
        totals["auctions"] += rows.size
        np.add.at(totals["impressions"], win_seats, 1)
        np.add.at(totals["clicks"], win_seats, click_stream[win_seats, index[win_rows]])
        np.add.at(totals["cost"], win_seats, clearing[win_rows])
        won_pctrs[rows[win_rows], step[win_rows], win_seats] = pctrs[win_rows, win_seats]
        last_price[rows] = clearing
        auctions_left[rows] -= 1
        positions[rows] += 1
    # np.cumsum adds one term after the other: the sequential loop's sum (episode by episode, step by step).
    totals["pctr"] = np.array([np.cumsum(won_pctrs[:, :, seat].ravel())[-1] if won_pctrs.size else 0.0
                               for seat in range(n)])
    totals["episodes"] = np.full(n, episodes)
    totals["budget"] = base.budgets * episodes
    return totals
