"""IWOCS and the robust baselines on tiny budgets: bookkeeping, closed-form worst cases, persistence."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import DQN, PPO, SAC

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import LQROptimal, linear_policy_return
from papergym.agents.robust import (
    IWOCS,
    StateCoverage,
    cma_worst_case,
    critic_values,
    evaluate_params,
    train_domain_randomization,
    train_on_params,
    worst_corner,
)
from papergym.envs.robust import RobustLQGEnv

LQG = "papergym/RobustLQG-v0"
TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _closed_form_objective(gain: np.ndarray):
    env = RobustLQGEnv()

    def objective(points):
        values = []
        for params in points:
            env.set_params(**params)
            values.append(linear_policy_return(env.model, gain, 50))
        return np.array(values)

    return objective


def test_cma_finds_the_closed_form_worst_case_of_a_fixed_linear_policy():
    env = RobustLQGEnv()
    gain = LQROptimal.from_env(env).gain
    objective = _closed_form_objective(gain)
    box = env.uncertainty_set
    dense = box.grid(41)
    brute_force = objective(dense)
    result = cma_worst_case(objective, box, budget=150, seed=0)
    assert result.evaluations == 150 == len(result.history)
    assert result.value == pytest.approx(brute_force.min(), rel=1e-3)  # the grid holds the corner
    assert result.params["a_scale"] == pytest.approx(1.2, abs=0.02)
    assert result.params["b_scale"] == pytest.approx(0.5, abs=0.02)
    assert result.value == min(value for _, value in result.history)


def test_cma_searches_one_dimensional_sets_and_counts_candidates():
    box = RobustLQGEnv(uncertainty_set={"a_scale": (0.8, 1.2)}).uncertainty_set

    def objective(points):
        return np.array([(p["a_scale"] - 0.9) ** 2 for p in points])

    result = cma_worst_case(objective, box, budget=30, seed=1, candidates=[{"a_scale": 1.2}])
    assert result.evaluations == 31 and result.history[0] == ({"a_scale": 1.2}, pytest.approx(0.09))
    assert result.params["a_scale"] == pytest.approx(0.9, abs=0.02)


def test_critic_values_for_value_q_and_actor_critic_agents():
    observations = np.zeros((5, 1), dtype=np.float32)
    for model in (PPO("MlpPolicy", gym.make(LQG), n_steps=32, batch_size=32),
                  SAC("MlpPolicy", gym.make(LQG), buffer_size=100)):
        assert critic_values(model, observations).shape == (5,)
    dqn = DQN("MlpPolicy", gym.make("papergym/RobustCartPole-v0"), buffer_size=100)
    values = critic_values(dqn, np.zeros((3, 4), dtype=np.float32))
    q_values = dqn.q_net(dqn.policy.obs_to_tensor(np.zeros((3, 4), dtype=np.float32))[0]).detach().numpy()
    np.testing.assert_allclose(values, q_values.max(axis=1), rtol=1e-6)


def test_state_coverage_covers_its_data_and_not_far_states():
    rng = np.random.default_rng(0)
    # Trajectory-like data: slow random walks, whose consecutive states are near-duplicates.
    episodes = [np.cumsum(rng.normal(scale=0.05, size=(200, 2)), axis=0) for _ in range(6)]
    coverage = StateCoverage(episodes, quantile=0.95)
    new_episode = np.cumsum(rng.normal(scale=0.05, size=(200, 2)), axis=0)
    inside = new_episode[np.abs(new_episode).max(axis=1) < 0.5]
    assert coverage.covers(inside).mean() > 0.8  # a new trajectory through the same region is covered
    assert not coverage.covers(np.array([[10.0, 10.0], [-8.0, 0.0]])).any()
    with pytest.raises(ValueError, match="quantile"):
        StateCoverage(episodes, quantile=1.5)
    with pytest.raises(ValueError, match="at least 2 episodes"):
        StateCoverage(episodes[:1])


def test_iwocs_loop_bookkeeping_and_monotone_upper_bound():
    records = []
    agent = IWOCS(PPO, LQG, inner_kwargs=TINY_PPO, max_iterations=2, tolerance=None, search_budget=6,
                  search_episodes=2, value_episodes=2, seed=3)
    agent.learn(192, on_iteration=records.append)
    assert records == agent.trace and [r.iteration for r in records] == [0, 1, 2]
    assert [r.n_models for r in records] == [1, 2, 3] and len(agent.members) == 3
    assert [r.timesteps for r in records] == [64, 128, 192] and agent.num_timesteps == 192
    assert agent.members[0].params == {"a_scale": 1.0, "b_scale": 1.0}
    for record, added in zip(records, agent.members[1:]):
        assert added.params == record.worst_params  # the worst model found is the next one solved
    box = agent.uncertainty_set
    for index, record in enumerate(records):
        assert box.contains(record.worst_params)
        assert record.upper_bound == min(member.value for member in agent.members[: index + 1])
        assert record.search_evaluations == 6 + record.n_models  # CMA-ES budget + the set's models
    uppers = [r.upper_bound for r in records]
    assert all(later <= earlier for earlier, later in itertools.pairwise(uppers))
    # The lower bound is the minimum over everything the search evaluated, the set's models included.
    own_models = evaluate_params(agent, LQG, [m.params for m in agent.members], 2, seed=agent._episode_seed)
    assert records[-1].lower_bound <= own_models.mean(axis=1).min() + 1e-9


def test_iwocs_acts_with_the_lowest_critic_among_covering_agents():
    agent = IWOCS(PPO, LQG, inner_kwargs=TINY_PPO, max_iterations=1, tolerance=None, search_budget=4,
                  search_episodes=1, value_episodes=2)
    agent.learn(64)
    observations = np.linspace(-1.0, 1.0, 7, dtype=np.float32)[:, None]
    values = np.stack([critic_values(m.agent, observations) for m in agent.members])
    covered = np.stack([m.coverage.covers(observations) for m in agent.members])
    covered[:, ~covered.any(axis=0)] = True
    expected = np.argmin(np.where(covered, values, np.inf), axis=0)
    np.testing.assert_array_equal(agent.selected_members(observations), expected)
    actions, _ = agent.predict(observations, deterministic=True)
    own = np.stack([m.agent.predict(observations, deterministic=True)[0] for m in agent.members])
    np.testing.assert_array_equal(actions, own[expected, np.arange(7)])
    assert agent.predict(observations[0])[0].shape == (1,)


def test_iwocs_stops_when_the_gap_closes():
    agent = IWOCS(PPO, LQG, inner_kwargs=TINY_PPO, max_iterations=3, tolerance=1e9, search_budget=4,
                  search_episodes=1, value_episodes=2)
    agent.learn(128)
    assert len(agent.trace) == 1 and len(agent.members) == 1


def test_iwocs_save_load_round_trip(tmp_path):
    agent = IWOCS(PPO, LQG, inner_kwargs=TINY_PPO, max_iterations=1, tolerance=None, search_budget=4,
                  search_episodes=1, value_episodes=2)
    agent.learn(64)
    agent.save(tmp_path / "iwocs.zip")
    loaded = IWOCS.load(tmp_path / "iwocs.zip")
    observations = np.linspace(-2.0, 2.0, 9, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0],
                                  agent.predict(observations, deterministic=True)[0])
    assert loaded.trace == agent.trace and loaded.num_timesteps == agent.num_timesteps
    assert [m.params for m in loaded.members] == [m.params for m in agent.members]
    assert loaded.uncertainty_set == agent.uncertainty_set


def test_iwocs_validates_its_arguments():
    with pytest.raises(ValueError, match="inner"):
        IWOCS(LQROptimal, LQG)
    with pytest.raises(ValueError, match="parametric"):
        IWOCS(PPO, "papergym/LQG-v0")
    with pytest.raises(ValueError, match="search_budget"):
        IWOCS(PPO, LQG, search_budget=1)
    with pytest.raises(ValueError, match="unknown parameters"):
        IWOCS(PPO, LQG, uncertainty_set={"c_scale": (0.5, 1.0)})


def test_baselines_train_on_their_models():
    nominal = train_on_params(PPO, LQG, None, 32, inner_kwargs=TINY_PPO)
    assert nominal.get_env().get_attr("params")[0] == {"a_scale": 1.0, "b_scale": 1.0}
    randomized = train_domain_randomization(PPO, LQG, 32, inner_kwargs=TINY_PPO, seed=1)
    assert randomized.num_timesteps == 32
    corner = worst_corner(LQROptimal.from_env(gym.make(LQG)), LQG, n_episodes=2)
    assert corner == {"a_scale": 1.2, "b_scale": 0.5}
