"""papergym/Auction-v0: the auction rule against brute force, the accounting of whole episodes, the
reduction to RTB-v0 with one bidder, the options, the PettingZoo forms and the iPinYou campaigns."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import numpy as np
import pytest

from papergym.envs import auction
from papergym.envs.auction import (
    AuctionEnv,
    AuctionVectorEnv,
    SyntheticMarket,
    clear_auction,
    clear_auctions,
    market_from_campaigns,
)
from papergym.envs.rtb import RTBEnv, SyntheticCampaign

IPINYOU = Path(__file__).resolve().parents[2] / "shared" / "data" / "ipinyou"
#: A small market: quick to build, enough requests for a few episodes of T = 200.
SMALL = SyntheticMarket.symmetric(3, n_train=20_000, n_validation_episodes=4, validation_episode_length=200,
                                  n_test=2_000, seed=7)


def _small_env(**kwargs) -> AuctionEnv:
    return auction.parallel_env(**{"campaigns": SMALL, "T": 200, **kwargs})


def _random_bids(env: AuctionEnv, rng: np.random.Generator, high: int = 120) -> dict[str, int]:
    return {agent: int(rng.integers(high)) for agent in env.agents}


# --- the auction rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("first_price", [False, True])
def test_clear_auction_matches_brute_force(first_price):
    rng = np.random.default_rng(0)
    for bids in itertools.product([0, 3, 5], repeat=3):
        bids = np.array(bids)
        for live in itertools.product([False, True], repeat=3):
            live = np.array(live)
            for market_price, reserve in itertools.product([0, 3, 4, 6], [0, 4]):
                winner, price = clear_auction(bids, live, market_price, reserve, first_price, rng)
                threshold = max(market_price, reserve)
                contenders = [i for i in range(3) if live[i] and bids[i] >= threshold]
                if not contenders:
                    assert (winner, price) == (-1, market_price)
                    continue
                assert winner in contenders and bids[winner] == max(bids[i] for i in contenders)
                others = [bids[i] for i in range(3) if live[i] and i != winner]
                expected = bids[winner] if first_price else max([threshold, *others])
                assert price == expected and threshold <= price <= bids[winner]


def test_ties_are_drawn_uniformly_from_the_generator():
    bids, live = np.array([7, 7, 2]), np.ones(3, dtype=bool)
    winners = [clear_auction(bids, live, 1, 0, False, np.random.default_rng(seed))[0] for seed in range(400)]
    counts = np.bincount(winners, minlength=3)
    assert counts[2] == 0 and 150 < counts[0] < 250 and counts[0] + counts[1] == 400
    assert all(clear_auction(bids, live, 1, 0, False, np.random.default_rng(5))[0] == winners[5] for _ in range(3))


# --- accounting over whole episodes ----------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"auction": "first"}, {"reserve_price": 40}, {"drop_exhausted": True}])
def test_episode_accounting(kwargs):
    env = _small_env(episode_order="sequential", **kwargs)
    rng = np.random.default_rng(1)
    for episode in range(2):
        env.reset(seed=episode, options={"episode": episode})
        spent = np.zeros(3, dtype=np.int64)
        clearing_total = contested = 0
        while env.agents:
            prices, _, _ = env.market.streams(env.split)
            market_price = int(prices[env._position])
            bids_before = _random_bids(env, rng)
            budgets_before = env.bidding_state()[1]
            _, rewards, _, _, infos = env.step(bids_before)
            executed = {agent: min(bid, budgets_before[env._index[agent]]) for agent, bid in bids_before.items()}
            winners = [agent for agent, info in infos.items() if info["win"]]
            threshold = max(market_price, env.reserve_price)
            assert len(winners) == (1 if max(executed.values()) >= threshold else 0)
            for agent, info in infos.items():
                assert info["bid"] == executed[agent] and info["remaining_budget"] >= 0
                spent[env._index[agent]] += info["cost"]
            if winners:
                contested += 1
                info = infos[winners[0]]
                clearing_total += info["clearing_price"]
                assert info["cost"] == info["clearing_price"] <= info["bid"]
                assert info["bid"] == max(executed.values())
                if env.auction == "first":
                    assert info["cost"] == info["bid"]
                assert rewards[winners[0]] == info["click"]
            assert all(rewards[agent] == 0.0 for agent in rewards if agent not in winners)
        state_budgets = env.bidding_state()[1]
        assert np.all(state_budgets >= 0)
        np.testing.assert_array_equal(env.budgets - state_budgets, spent)
        assert spent.sum() == clearing_total and contested > 0


def test_drop_exhausted_removes_bidders_whose_budget_runs_out():
    # First price: bidder_0 bids its whole budget and spends it at its first win.
    env = _small_env(budgets=[30, 10_000, 10_000], auction="first", drop_exhausted=True)
    env.reset(seed=0)
    steps = 0
    while "bidder_0" in env.agents:
        _, _, terminations, _, infos = env.step({agent: 300 if agent == "bidder_0" else 0 for agent in env.agents})
        steps += 1
    assert infos["bidder_0"]["remaining_budget"] == 0 and terminations["bidder_0"]
    assert env.agents == ["bidder_1", "bidder_2"] and steps < env.horizon
    kept = _small_env(budgets=[30, 10_000, 10_000], auction="first")
    kept.reset(seed=0)
    for _ in range(steps + 5):
        kept.step({agent: 300 if agent == "bidder_0" else 0 for agent in kept.agents})
    assert kept.agents == kept.possible_agents and kept.bidding_state()[1][0] == 0


def test_episode_ends_for_every_bidder_after_T_requests():
    env = _small_env(T=25)
    env.reset(seed=4)
    for step in range(1, 26):
        _, _, terminations, truncations, _ = env.step({agent: 1 for agent in env.agents})
        assert all(terminations[a] == (step == 25) for a in terminations) and not any(truncations.values())
    assert env.agents == [] and env.step({}) == ({}, {}, {}, {}, {})


def test_max_cycles_truncates():
    env = _small_env(max_cycles=4)
    env.reset(seed=0)
    for step in range(1, 5):
        _, _, terminations, truncations, _ = env.step({agent: 1 for agent in env.agents})
        assert not any(terminations.values()) and all(t == (step == 4) for t in truncations.values())
    assert env.agents == []


def test_one_bidder_is_rtb():
    campaign = SyntheticCampaign(n_validation_episodes=3, validation_episode_length=300, n_test=1000).build()
    single = RTBEnv(campaign, "validation", horizon=300, episode_order="sequential")
    multi = auction.parallel_env(campaigns=[campaign], split="validation", T=300, episode_order="sequential")
    rng = np.random.default_rng(2)
    for episode in range(3):
        single.reset(seed=0, options={"episode": episode})
        multi.reset(seed=0, options={"episode": episode})
        while multi.agents:
            bid = int(rng.integers(150))
            # The auctions, not the observations: RTB-v0's observation may change independently.
            _, reward, terminated, _, info = single.step(bid)
            _, rewards, terminations, _, infos = multi.step({"bidder_0": bid})
            assert (rewards["bidder_0"], terminations["bidder_0"]) == (reward, terminated)
            for key in ("bid", "win", "cost", "click", "remaining_budget", "auctions_left"):
                assert infos["bidder_0"][key] == info[key], key


def test_rewards_pctr_and_surplus():
    for reward in ("pctr", "surplus"):
        env = _small_env(reward=reward, click_values=[500.0, 600.0, 700.0])
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(100):
            _, rewards, _, _, infos = env.step(_random_bids(env, rng, high=200))
            for agent, info in infos.items():
                if not info["win"]:
                    assert rewards[agent] == 0.0
                elif reward == "pctr":
                    assert rewards[agent] == info["pctr"]
                else:
                    value = env.click_values[env._index[agent]]
                    assert rewards[agent] == pytest.approx(value * info["click"] - info["cost"])


def test_observation_shows_the_last_clearing_price():
    env = _small_env(observe_price=True)
    observations, _ = env.reset(seed=0)
    assert all(observation.shape == (4,) and observation[3] == 0.0 for observation in observations.values())
    rng = np.random.default_rng(0)
    for _ in range(20):
        observations, _, _, _, infos = env.step(_random_bids(env, rng))
        for agent, observation in observations.items():
            assert observation[3] == np.float32(infos[agent]["clearing_price"] / 300)
            assert observation in env.observation_space(agent)


def test_seed_decides_ties_and_episodes_over_50_steps():
    def winners(seed: int) -> list[int]:
        env = _small_env()
        env.reset(seed=seed)
        return [env.step({agent: 250 for agent in env.agents})[4]["bidder_0"]["winner"] for _ in range(50)]

    assert winners(3) == winners(3) and winners(3) != winners(4)


def test_spaces_are_the_same_objects_and_budgets_follow_c0():
    env = _small_env(c0=[1 / 32, 1 / 16, 1 / 8])
    assert env.observation_space("bidder_1") is env.observation_space("bidder_1")
    assert env.action_space("bidder_1") is env.action_space("bidder_1")
    expected = [campaign.budget(200, c0) for campaign, c0 in zip(env.campaigns, [1 / 32, 1 / 16, 1 / 8])]
    assert env.budgets.tolist() == expected


# --- the market ------------------------------------------------------------------------------------


def test_synthetic_market_shares_prices_and_correlates_values():
    market = SMALL.build()
    prices, pctrs, clicks = market.streams("train")
    for campaign in market.campaigns:
        np.testing.assert_array_equal(campaign.log("train").prices, prices)
    correlation = np.corrcoef(np.log(pctrs))
    assert np.all(np.abs(correlation[np.triu_indices(3, 1)] - 0.5) < 0.05)
    assert 0.4 < clicks.mean() / pctrs.mean() < 1.6
    independent = SyntheticMarket.symmetric(2, n_train=20_000, n_validation_episodes=1, n_test=10,
                                            value_correlation=0.0).build()
    assert abs(np.corrcoef(np.log(independent.streams("train")[1]))[0, 1]) < 0.05


def test_pickles_are_small_and_continue_identically():
    env = auction.parallel_env()
    assert len(pickle.dumps(env)) < 50_000
    env.reset(seed=0)
    clone = pickle.loads(pickle.dumps(env))
    bids = {agent: 90 for agent in env.agents}
    np.testing.assert_array_equal(env.step(bids)[0]["bidder_2"], clone.step(bids)[0]["bidder_2"])


def test_registered_with_pettingzoo_and_aec_form_passes_api_test():
    import pettingzoo
    from pettingzoo.test import api_test

    import papergym  # noqa: F401  (registers the ids)

    assert isinstance(pettingzoo.make("parallel", "papergym/Auction-v0"), AuctionEnv)
    api_test(auction.env(campaigns=SMALL, T=200), num_cycles=60)


@pytest.mark.skipif(not IPINYOU.is_dir(), reason="the iPinYou campaigns are not in the shared data folder")
def test_ipinyou_campaigns_over_one_market():
    folders = [IPINYOU / name for name in ("1458", "3386")]
    market = market_from_campaigns(folders)
    assert market.splits == ["validation"]
    prices, pctrs, _ = market.streams("validation")
    first = market.campaigns[0].log("validation")
    assert len(prices) == 100_000 and market.log("validation").n_segments == 100
    np.testing.assert_array_equal(prices, first.prices)
    assert not np.array_equal(pctrs[0], pctrs[1])
    env = auction.parallel_env(campaigns=market, episode_order="sequential")
    assert env.n_episodes == 100
    env.reset(seed=0, options={"episode": 99})
    rng = np.random.default_rng(0)
    total_cost = 0
    while env.agents:
        infos = env.step(_random_bids(env, rng))[4]
        total_cost += sum(info["cost"] for info in infos.values())
    assert total_cost == int((env.budgets - env.bidding_state()[1]).sum()) > 0


# --- the native vector form ------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, {"auction": "first"}, {"reserve_price": 50, "observe_price": True},
                                    {"reward": "surplus"}])
def test_vector_form_clears_as_the_parallel_env(kwargs):
    # Large budgets and distinct bids: no tie, so the tie-breaking draws cannot differ.
    setup = {"campaigns": SMALL, "T": 200, "split": "test", "episode_order": "sequential",
             "budgets": [100_000] * 3, **kwargs}
    vector = AuctionVectorEnv(3, autoreset_mode="Disabled", **setup)
    envs = [auction.parallel_env(**setup) for _ in range(3)]
    agents = envs[0].possible_agents
    vector_observations, _ = vector.reset(seed=0)
    observations = [env.reset(seed=0, options={"episode": copy})[0] for copy, env in enumerate(envs)]
    rng = np.random.default_rng(0)
    for _ in range(200):
        expected = np.concatenate([np.stack([per_copy[agent] for agent in agents]) for per_copy in observations])
        np.testing.assert_array_equal(vector_observations, expected)
        bids = rng.integers(0, 99, size=(3, 3)) * 3 + np.arange(3)
        vector_observations, rewards, terminated, _, info = vector.step(bids.ravel())
        results = [env.step(dict(zip(agents, row.tolist()))) for env, row in zip(envs, bids)]
        observations = [result[0] for result in results]
        np.testing.assert_array_equal(rewards, [result[1][agent] for result in results for agent in agents])
        for key in ("bid", "win", "cost", "click", "clearing_price", "remaining_budget", "market_price"):
            np.testing.assert_array_equal(info[key], [result[4][agent][key] for result in results for agent in agents])
    assert terminated.all()


def test_clear_auctions_matches_clear_auction():
    rng = np.random.default_rng(0)
    bids = rng.integers(0, 6, size=(500, 3))
    prices = rng.integers(0, 6, size=500)
    for first_price in (False, True):
        has_winner, winners, cleared = clear_auctions(bids, prices, 2, first_price, np.random.default_rng(1))
        for row in range(500):
            winner, price = clear_auction(bids[row].tolist(), [True] * 3, int(prices[row]), 2, first_price, rng)
            assert has_winner[row] == (winner != -1) and cleared[row] == price
            if winner != -1:
                assert bids[row, winners[row]] == bids[row, winner]


def test_vector_form_resets_whole_copies_and_pickles():
    vector = AuctionVectorEnv(2, autoreset_mode="SameStep", campaigns=SMALL, T=5)
    observations, _ = vector.reset(seed=0)
    assert observations.shape == (6, 3) and vector.single_action_space.n == 301
    for _ in range(5):
        observations, _, terminated, _, info = vector.step(np.full(6, 10))
    assert terminated.all() and info["_final_obs"].all() and np.all(observations[:, 0] == 1.0)
    clone = pickle.loads(pickle.dumps(vector))
    np.testing.assert_array_equal(vector.step(np.full(6, 99))[0], clone.step(np.full(6, 99))[0])
    with pytest.raises(ValueError, match="drop_exhausted"):
        AuctionVectorEnv(2, drop_exhausted=True)


def test_vector_form_takes_num_envs_and_copies_with_a_deprecation_warning():
    vector = AuctionVectorEnv(num_envs=2, campaigns=SMALL, T=5)
    assert vector.copies == 2 and vector.num_envs == 6
    with pytest.warns(DeprecationWarning, match="num_envs"):
        old = AuctionVectorEnv(copies=2, campaigns=SMALL, T=5)
    assert old.copies == 2 and old.num_envs == 6
    with pytest.raises(ValueError, match="not both"):
        AuctionVectorEnv(2, copies=2, campaigns=SMALL, T=5)
    with pytest.raises(ValueError, match="num_envs"):
        AuctionVectorEnv(0, campaigns=SMALL, T=5)


def test_papergym_bench_times_the_auction_and_its_vector_forms():
    from papergym.experiments.benchmark import bench, format_table

    (result,) = bench(["papergym/Auction-v0"], steps=200, repeats=1, num_envs=4)
    assert result.step_us > 0 and result.step_unit == "auction, 3 bidders" and result.vector_steps_per_s > 0
    assert result.vector_baseline == "SuperSuit" and result.sync_steps_per_s > 0
    assert "papergym/Auction-v0 (per auction, 3 bidders)" in format_table([result])
