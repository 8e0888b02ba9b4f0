"""papergym/RTB-v0: second-price semantics, budget accounting, log replay and the SB3 action wrappers."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import papergym  # noqa: F401  (registers the ids)
from papergym.envs.rtb import BidLog, Campaign, RTBEnv, RTBVectorEnv
from papergym.wrappers.rtb import BidMultiplier, ContinuousBid

PRICES = [5, 20, 0, 7, 300, 1, 12, 12, 3, 40, 9, 2]
CLICKS = [0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0]
PCTRS = [0.01, 0.2, 0.001, 0.02, 0.5, 0.03, 0.05, 0.08, 0.002, 0.004, 0.3, 0.01]


def _campaign(segment_starts=(0,)) -> Campaign:
    counts = np.zeros(301, dtype=np.int64)
    counts[[5, 10, 20]] = [50, 30, 20]
    log = BidLog.from_arrays(CLICKS, PRICES, PCTRS, segment_starts)
    return Campaign("tiny", imp_train=100, clk_train=2, cost_train=1150, price_counter_train=counts,
                    logs={"test": log})


def _replay_env(**kwargs) -> RTBEnv:
    return RTBEnv(_campaign(), episode_order="sequential", **{"horizon": 5, "budget": 30, **kwargs})


def test_second_price_win_pays_the_market_price_and_loss_changes_only_t():
    env = _replay_env()
    observation, info = env.reset(seed=0)
    assert info["remaining_budget"] == 30 and info["auctions_left"] == 5
    np.testing.assert_allclose(observation[:2], [1.0, 1.0])
    _, reward, *_, info = env.step(5)          # bid == price wins (ties go to the bidder)
    assert (info["win"], info["cost"], info["remaining_budget"], reward) == (1, 5, 25, 0.0)
    _, reward, *_, info = env.step(19)         # bid below the price loses
    assert (info["win"], info["cost"], info["remaining_budget"], info["auctions_left"]) == (0, 0, 25, 3)
    assert reward == 0.0 and info["click"] == 0 and info["market_price"] == 20
    _, reward, *_, info = env.step(0)          # a zero bid wins a zero price for free
    assert (info["win"], info["cost"]) == (1, 0)


def test_a_won_click_is_the_reward_and_pctr_reward_option():
    env = _replay_env()
    env.reset(seed=0)
    env.step(0)
    _, reward, *_, info = env.step(300)        # pays 20, the second price, not the bid
    assert reward == 1.0 and info["click"] == 1 and info["cost"] == 20 and info["remaining_budget"] == 10
    env = _replay_env(reward="pctr")
    env.reset(seed=0)
    env.step(0)
    _, reward, *_ = env.step(300)
    assert reward == pytest.approx(0.2)


def test_bid_is_capped_by_the_remaining_budget_and_budget_never_goes_negative():
    env = _replay_env(budget=6)
    env.reset(seed=0)
    _, _, _, _, info = env.step(300)
    assert info["bid"] == 6 and info["cost"] == 5 and info["remaining_budget"] == 1
    _, _, _, _, info = env.step(300)           # 1 left: cannot pay 20
    assert info["bid"] == 1 and info["win"] == 0
    env = gym.make("papergym/RTB-v0", horizon=200, c0=1 / 4)
    env.reset(seed=1)
    budget, spent = env.unwrapped.problem.budget, 0
    for _ in range(200):
        _, _, terminated, _, info = env.step(300)
        spent += info["cost"]
        assert info["remaining_budget"] >= 0 and info["remaining_budget"] == budget - spent
        assert info["win"] == int(info["bid"] >= info["market_price"])
        if terminated:
            break
    assert terminated and spent <= budget


def test_sequential_replay_cuts_the_log_into_episodes_of_T_with_a_short_last_one():
    env = _replay_env()
    assert env.n_episodes == 3
    lengths, first_prices = [], []
    for episode in range(4):
        observation, info = env.reset()
        assert observation[0] == 1.0 and info["episode"] == episode % 3
        steps, terminated = 0, False
        while not terminated:
            _, _, terminated, truncated, info = env.step(0)
            first_prices.append(info["market_price"]) if steps == 0 else None
            steps += 1
            assert not truncated
        lengths.append(steps)
        assert info["auctions_left"] == 5 - steps
    assert lengths == [5, 5, 2, 5] and first_prices == [5, 1, 9, 5]
    env.reset(options={"episode": 2})
    assert env.step(0)[4]["market_price"] == 9
    with pytest.raises(ValueError, match="episode"):
        env.reset(options={"episode": 3})


def test_segments_are_never_straddled():
    env = RTBEnv(_campaign(segment_starts=(0, 4)), horizon=5, budget=30, episode_order="sequential")
    assert env.n_episodes == 3  # [0, 4), [4, 9), [9, 12)
    lengths = []
    for _ in range(3):
        env.reset()
        steps = 0
        while not env.step(0)[2]:
            steps += 1
        lengths.append(steps + 1)
    assert lengths == [4, 5, 3]


def test_random_starts_are_seeded():
    env = gym.make("papergym/RTB-v0")
    _, first = env.reset(seed=4)
    _, again = env.reset(seed=4)
    _, other = env.reset(seed=5)
    assert first["pctr"] == again["pctr"] and first["pctr"] != other["pctr"]


def test_observation_decodes_to_the_raw_state():
    env = gym.make("papergym/RTB-v0", horizon=100_000, c0=1 / 2)
    observation, info = env.reset(seed=0)
    problem = env.unwrapped.problem
    for _ in range(3):
        observation, _, _, _, info = env.step(80)
    t, b, pctr = problem.decode(observation)
    assert t[0] == info["auctions_left"] == 99_997 and b[0] == info["remaining_budget"]
    assert pctr[0] == pytest.approx(env.unwrapped.current_pctr, rel=1e-5)


def test_vector_env_matches_single_envs_on_the_same_episodes():
    vector = RTBVectorEnv(3, campaign=_campaign(), horizon=5, budget=30, episode_order="sequential",
                          autoreset_mode=AutoresetMode.DISABLED)
    singles = [_replay_env() for _ in range(3)]
    observations, _ = vector.reset(seed=0)
    stacked = np.stack([env.reset(options={"episode": k})[0] for k, env in enumerate(singles)])
    np.testing.assert_array_equal(observations, stacked)
    rng = np.random.default_rng(0)
    third_ended_at = None
    for step in range(5):
        bids = rng.integers(0, 25, size=3)
        observations, rewards, terminated, _, info = vector.step(bids)
        results = [env.step(int(bid)) for env, bid in zip(singles, bids)]
        compared = 3 if third_ended_at is None else 2
        np.testing.assert_array_equal(observations[:compared], np.stack([r[0] for r in results[:compared]]))
        np.testing.assert_array_equal(rewards[:compared], [r[1] for r in results[:compared]])
        np.testing.assert_array_equal(info["remaining_budget"][:compared],
                                      [r[4]["remaining_budget"] for r in results[:compared]])
        if terminated[2]:  # autoreset is disabled: the ended episode must be reset before stepping on
            if third_ended_at is None:
                third_ended_at = step
                with pytest.raises(ResetNeeded, match="reset_mask"):
                    vector.step(bids)
            vector.reset(options={"reset_mask": np.array([False, False, True])})
    assert third_ended_at == 1  # the third episode has 2 auctions
    assert terminated.tolist()[:2] == [True, True]


def test_vector_env_sequential_cycles_through_the_episodes():
    vector = RTBVectorEnv(2, campaign=_campaign(), horizon=5, budget=30, episode_order="sequential")
    vector.reset(seed=0)
    seen = []
    for _ in range(12):
        seen.append(vector.episodes.copy())
        vector.step(np.zeros(2, dtype=np.int64))
    for env_index, expected in ((0, [0, 2, 1]), (1, [1, 0])):
        played = [int(row[env_index]) for row in seen]
        collapsed = [e for i, e in enumerate(played) if i == 0 or played[i - 1] != e]
        assert collapsed == expected


def test_continuous_bid_wrapper_maps_the_unit_interval_onto_bids():
    env = ContinuousBid(_replay_env())
    env.reset(seed=0)
    assert env.action(np.array([-1.0], dtype=np.float32)) == 0
    assert env.action(np.array([1.0], dtype=np.float32)) == 300
    assert env.action(np.array([0.0], dtype=np.float32)) == 150
    with pytest.raises(ValueError, match="action"):
        env.step(np.array([1.5], dtype=np.float32))


def test_bid_multiplier_wrapper_scales_the_linear_bid():
    base = _replay_env()
    env = BidMultiplier(base, b0=10.0, max_multiplier=4.0)
    env.reset(seed=0)
    theta_avg = base.campaign.theta_avg
    assert env.action(np.zeros(1, dtype=np.float32)) == int(10.0 * 0.01 / theta_avg)
    assert env.action(np.ones(1, dtype=np.float32)) == int(40.0 * 0.01 / theta_avg)
    assert env.action(-np.ones(1, dtype=np.float32)) == int(2.5 * 0.01 / theta_avg)
    with pytest.raises(ValueError, match="action"):
        env.step(np.array([np.nan], dtype=np.float32))
    with pytest.raises(ValueError, match="max_multiplier"):
        BidMultiplier(base, max_multiplier=0.5)
    with pytest.raises(ValueError, match="RTB"):
        BidMultiplier(gym.make("papergym/LQG-v0"))


@pytest.mark.parametrize("wrapper", [ContinuousBid, BidMultiplier])
def test_wrappers_pass_sb3_check_env_without_warnings(wrapper):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(wrapper(gym.make("papergym/RTB-v0")), warn=True)


def test_horizon_is_the_episode_length_and_T_its_deprecated_name():
    from papergym.agents.rtb import evaluation_config, solve_value_function

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gym.make("papergym/RTB-v0", horizon=50).unwrapped.problem.horizon == 50
    with pytest.warns(DeprecationWarning, match="horizon"):
        assert gym.make("papergym/RTB-v0", T=50).unwrapped.problem.horizon == 50
    with pytest.warns(DeprecationWarning, match="horizon"):
        assert RTBVectorEnv(2, campaign=_campaign(), T=5, budget=30).problem.horizon == 5
    with pytest.warns(DeprecationWarning, match="horizon"):
        assert evaluation_config(_campaign(), "test", T=5, c0=1.0).problem.horizon == 5
    with pytest.warns(DeprecationWarning, match="horizon"), pytest.warns(DeprecationWarning, match="budget"):
        assert solve_value_function([0.5, 0.5], 0.1, T=3, B=4).shape == (4, 5)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="T"):
        RTBEnv(_campaign(), T=0, budget=30)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="not both"):
        RTBEnv(_campaign(), horizon=5, T=6, budget=30)
