"""Bidders at the auction: RTB bidders per seat, the multiplier action view, and PPO with parameter
sharing trained through SuperSuit + Stable-Baselines3 (a smoke run)."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.agents.auction import (
    BATCH_ACTION_TOLERANCE,
    MultiplierBids,
    bidder_policy,
    multiplier_policy,
    play,
    play_sequential,
    rtb_bidder,
    seat_problem,
    shared_vec_env,
    supersuit_vec_env,
    train_shared_ppo,
)
from papergym.agents.rtb import RLB, ConstantBidder
from papergym.envs.auction import AuctionEnv, SyntheticMarket

SMALL = SyntheticMarket.symmetric(3, n_train=20_000, n_validation_episodes=3, validation_episode_length=100,
                                  n_test=300, seed=3)


def test_rtb_bidders_are_built_from_their_seat():
    env = AuctionEnv(campaigns=SMALL, T=100, c0=[1 / 32, 1 / 16, 1 / 8])
    rlb = rtb_bidder("RLB", env, 2)
    assert isinstance(rlb, RLB) and rlb.problem == seat_problem(env, 2)
    assert rlb.problem.budget == env.budgets[2] and rlb.problem.theta_avg == env.campaigns[2].theta_avg
    lin = rtb_bidder("Lin", env, 1)
    assert lin.b0 in lin.tuning_clicks
    policy = bidder_policy(rtb_bidder("Mcpc", env, 0))
    assert policy(np.zeros(3, dtype=np.float32), 100, 7, 0.5) == 7  # capped at the budget left
    with pytest.raises(ValueError, match="bidder"):
        rtb_bidder("Oracle", env, 0)


def test_multiplier_bids_scale_the_linear_bid():
    env = MultiplierBids(AuctionEnv(campaigns=SMALL, T=100), b0=[50.0, 60.0, 70.0], max_multiplier=4.0)
    env.reset(seed=0)
    base = env.unwrapped
    pctrs = base.bidding_state()[2]
    actions = {"bidder_0": np.array([0.0], dtype=np.float32), "bidder_1": np.array([1.0], dtype=np.float32),
               "bidder_2": np.array([-0.5], dtype=np.float32)}
    expected = [np.floor(m * b0 * p / t) for m, b0, p, t in zip([1.0, 4.0, 0.5], [50, 60, 70], pctrs, base.theta_avgs)]
    bids = env.bids(actions)
    assert [bids[agent] for agent in base.possible_agents] == [min(300, int(value)) for value in expected]
    infos = env.step(actions)[4]
    assert all(infos[agent]["bid"] == min(bids[agent], base.budgets[i]) for i, agent in enumerate(base.possible_agents))
    for bad in (np.array([np.nan], dtype=np.float32), np.array([1.5], dtype=np.float32), np.zeros(2), "x"):
        with pytest.raises(ValueError, match="action"):
            env.step({**actions, "bidder_1": bad})


def test_supersuit_vec_env_has_one_entry_per_bidder_and_copy():
    venv = supersuit_vec_env(MultiplierBids(AuctionEnv(campaigns=SMALL, T=100)), num_envs=2)
    venv.seed(5)
    first = venv.reset()
    venv.seed(5)
    np.testing.assert_array_equal(venv.reset(), first)
    assert first.shape == (6, 3)
    venv.step_async(np.zeros((6, 1), dtype=np.float32))
    observations, rewards, dones, infos = venv.step_wait()
    assert dones.shape == (6,) and not dones.any()
    assert observations.shape == (6, 3) and rewards.shape == (6,) and len(infos) == 6


@pytest.mark.parametrize("vectorization", ["supersuit", "native"])
def test_shared_ppo_trains_and_is_seeded(vectorization):
    import torch

    kwargs = {"campaigns": SMALL, "T": 100}
    settings = {"timesteps": 96, "seed": 1, "num_envs": 1, "n_steps": 32, "batch_size": 48, "n_epochs": 2,
                "vectorization": vectorization}
    first = train_shared_ppo(kwargs, **settings)
    again = train_shared_ppo(kwargs, **settings)
    assert first.model.num_timesteps == 96 and first.model.get_env().num_envs == 3
    for left, right in zip(first.model.policy.parameters(), again.model.policy.parameters()):
        assert torch.equal(left, right)
    env = AuctionEnv(campaigns=SMALL, T=100)
    observations, _ = env.reset(seed=0)
    bid = first.policy(env, 1)(observations["bidder_1"], 100, int(env.budgets[1]), 0.01)
    assert 0 <= bid <= env.max_bid


def test_native_multiplier_entries_bid_as_the_parallel_wrapper():
    venv = shared_vec_env({"campaigns": SMALL, "T": 100}, num_envs=2, b0=[50.0, 60.0, 70.0])
    venv.seed(0)
    venv.reset()
    vector = venv.vector_env
    actions = np.linspace(-1, 1, 6, dtype=np.float32)[:, None]
    pctrs = vector.env.current_pctrs()
    theta = np.tile(vector.env.auction.theta_avgs, 2)
    expected = np.minimum(300, np.floor(4.0 ** actions[:, 0] * np.tile([50.0, 60.0, 70.0], 2) * pctrs / theta))
    np.testing.assert_array_equal(vector.actions(actions), expected)
    with pytest.raises(ValueError, match="actions"):
        vector.actions(np.full((6, 1), np.nan))


def test_copies_is_a_deprecated_name_of_num_envs():
    with pytest.warns(DeprecationWarning, match="num_envs"):
        venv = shared_vec_env({"campaigns": SMALL, "T": 100}, copies=2)
    assert venv.num_envs == 6
    with pytest.warns(DeprecationWarning, match="num_envs"):
        venv = supersuit_vec_env(MultiplierBids(AuctionEnv(campaigns=SMALL, T=100)), copies=2)
    assert venv.num_envs == 6


def test_play_totals_each_seat_and_is_seeded():
    env = AuctionEnv(campaigns=SMALL, split="test", T=100, episode_order="sequential")
    policies = [bidder_policy(rtb_bidder("Lin", env, seat)) for seat in range(3)]
    totals = play(env, policies, 2, seed=7)
    assert totals["auctions"].tolist() == [200, 200, 200] and totals["episodes"].tolist() == [2, 2, 2]
    assert np.all(totals["cost"] <= totals["budget"]) and np.all(totals["impressions"] <= totals["auctions"])
    again = play(env, policies, 2, seed=7)
    for key, values in totals.items():
        np.testing.assert_array_equal(values, again[key])
    with pytest.raises(ValueError, match="one policy per seat"):
        play(env, policies[:2], 1, seed=0)


@pytest.fixture(scope="module")
def tiny_ppo():
    return train_shared_ppo({"campaigns": SMALL, "T": 100}, 96, seed=1, num_envs=1, n_steps=32, batch_size=48,
                            n_epochs=2)


def _assert_same_totals(first, second):
    assert first.keys() == second.keys()
    for key, values in first.items():
        np.testing.assert_array_equal(values, second[key], err_msg=key)


@pytest.mark.parametrize("env_kwargs", [{}, {"auction": "first", "reserve_price": 5, "observe_price": True},
                                        {"c0": [1 / 8, 1 / 32, 1 / 4]}])
def test_batched_play_gives_the_sequential_totals(env_kwargs, tiny_ppo):
    # T = 120 on 300 test requests: the third episode is shorter than T. Lin in self-play ties often.
    env = AuctionEnv(campaigns=SMALL, split="test", T=120, episode_order="sequential", **env_kwargs)
    lin = [bidder_policy(rtb_bidder("Lin", env, seat)) for seat in range(3)]
    rlb = [bidder_policy(rtb_bidder("RLB", env, seat)) for seat in range(3)]
    ppo = [tiny_ppo.policy(env, seat) for seat in range(3)]
    matches = [lin, rlb] + ([ppo, [rlb[0], lin[1], ppo[2]]] if not env.observe_price else [])  # PPO saw 3 entries
    for policies in matches:
        _assert_same_totals(play(env, policies, 3, seed=11), play_sequential(env, policies, 3, seed=11))
    alone = AuctionEnv(campaigns=[SMALL.build().campaigns[0]], split="test", T=120, episode_order="sequential")
    policy = [bidder_policy(rtb_bidder("RLB", alone, 0))]
    _assert_same_totals(play(alone, policy, 5, seed=2), play_sequential(alone, policy, 5, seed=2))


def test_batched_play_draws_ties_from_each_episodes_generator():
    env = AuctionEnv(campaigns=SMALL, split="test", T=100, episode_order="sequential")
    constant = [bidder_policy(ConstantBidder(seat_problem(env, seat), 40)) for seat in range(3)]
    totals = play(env, constant, 3, seed=5)
    _assert_same_totals(totals, play_sequential(env, constant, 3, seed=5))
    assert np.all(totals["impressions"] > 0)  # every seat wins some of the three-way ties
    assert not np.array_equal(totals["impressions"], play(env, constant, 3, seed=6)["impressions"])


def test_policies_without_batch_play_episode_after_episode():
    env = AuctionEnv(campaigns=SMALL, split="test", T=100, episode_order="sequential")
    lin = [bidder_policy(rtb_bidder("Lin", env, seat)) for seat in range(3)]
    plain = [lambda observation, t, b, pctr, policy=policy: policy(observation, t, b, pctr) for policy in lin]
    _assert_same_totals(play(env, plain, 2, seed=3), play(env, lin, 2, seed=3))


def test_multiplier_policy_batch_bids_as_one_row_at_a_time(tiny_ppo):
    env = AuctionEnv(campaigns=SMALL, T=100)
    policy = multiplier_policy(tiny_ppo.model, 40.0, float(env.theta_avgs[0]), env.max_bid)
    rng = np.random.default_rng(0)
    observations = np.column_stack([rng.random(2000), rng.random(2000), rng.uniform(-1, 1, 2000)]).astype(np.float32)
    pctrs = rng.uniform(0.0, 8 * env.theta_avgs[0], 2000)
    budget_left = rng.integers(0, 400, 2000)
    batch = policy.batch(observations, np.full(2000, 50), budget_left, pctrs)
    single = [policy(observation, 50, int(budget), float(pctr))
              for observation, budget, pctr in zip(observations, budget_left, pctrs)]
    np.testing.assert_array_equal(batch, single)
    # A pCTR that puts the linear bid exactly on a step of floor() is predicted again alone.
    action = float(np.asarray(tiny_ppo.model.predict(observations[0], deterministic=True)[0]).reshape(-1)[0])
    on_step = 37.0 / (4.0 ** action * 40.0 / env.theta_avgs[0])
    low, high = (policy._bids(np.array([action + step]), np.array([on_step]))[0]
                 for step in (-BATCH_ACTION_TOLERANCE, BATCH_ACTION_TOLERANCE))
    assert low != high  # the batch cannot decide this row: the one-row pass does
    assert policy.batch(observations[:1], np.array([50]), np.array([400]), np.array([on_step]))[0] == policy(
        observations[0], 50, 400, on_step)
