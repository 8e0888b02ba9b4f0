"""Bidders at the auction: RTB bidders per seat, the multiplier action view, and PPO with parameter
sharing trained through SuperSuit + Stable-Baselines3 (a smoke run)."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.agents.auction import (
    MultiplierBids,
    bidder_policy,
    play,
    rtb_bidder,
    seat_problem,
    shared_vec_env,
    supersuit_vec_env,
    train_shared_ppo,
)
from papergym.agents.rtb import RLB
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
