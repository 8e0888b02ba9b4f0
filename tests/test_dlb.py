"""The dynamical linear bandit environment: closed forms, the paper's cases, validation and consistency."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.envs.dlb import (
    DLBModel,
    DynamicalLinearBanditEnv,
    DynamicalLinearBanditVectorEnv,
    budget_allocations,
    expert_allocation,
    preset_kwargs,
    preset_system,
    transient_constant,
)

ENV_ID = "papergym/DynamicalLinearBandit-v0"
SHARED_DLB = Path(__file__).resolve().parents[2] / "shared" / "data" / "dlb"
SHARED_FILES = {"synthetic-0.001": "testcase_synt_sigma0dot001.json",
                "synthetic-0.01": "testcase_synt_sigma0dot01.json",
                "synthetic-0.1": "testcase_synt_sigma0dot1.json", "real": "testcase_realdata.json"}


@pytest.mark.parametrize("preset", ["synthetic-0.01", "real"])
def test_steady_state_gain_matches_a_long_noiseless_simulation(preset):
    env = DynamicalLinearBanditEnv(preset=preset, noise_std=0.0, horizon=500)
    model = env.model
    for action in range(model.n_actions):
        env.reset(seed=0)
        for _ in range(400):  # rho(A) <= 0.67: the transient is below 1e-60 after 400 rounds
            _, reward, _, _, info = env.step(action)
        assert reward == pytest.approx(model.steady_state_values[action], abs=1e-12)
        assert info["steady_state_value"] == pytest.approx(float(model.actions[action] @ model.markov_gain))
        assert info["regret"] == pytest.approx(model.optimal_value - model.steady_state_values[action])


def test_markov_gain_closed_form_and_optimal_action_on_the_synthetic_case():
    model = DLBModel.from_kwargs("synthetic-0.01")
    # h = theta + B'(I - A)^-T omega with omega = (1, 0, 0.1), theta = (0, 0.5, 0.1), A = diag(0.2, 0, 0.1).
    np.testing.assert_allclose(model.markov_gain, [0.45 / 0.8, 0.5, 0.1 + 0.01 / 0.9], rtol=1e-12)
    np.testing.assert_allclose(model.actions[model.optimal_action], [1.0, 0.5, 0.0])
    assert model.optimal_value == pytest.approx(0.8125)
    # The action with the best immediate reward 1'D u is another one: myopic learners are misled.
    myopic = int(np.argmax(model.actions @ model.theta))
    np.testing.assert_allclose(model.actions[myopic], [0.0, 1.0, 0.5])
    assert model.spectral_radius == pytest.approx(0.2)
    assert transient_constant(model.A, model.spectral_radius) == pytest.approx(1.0)


def test_real_case_is_stable_with_a_transient_above_one():
    model = DLBModel.from_kwargs("real")
    assert 0.6 < model.spectral_radius < 1.0
    assert transient_constant(model.A, model.spectral_radius) > 1.0
    np.testing.assert_allclose(model.actions[model.optimal_action], [1.0, 0.0, 0.5])


def test_budget_allocations_fill_campaigns_in_every_order():
    allocations = budget_allocations(3, total_budget=1.5, campaign_cap=1.0)
    expected = {tuple(p) for p in [(1.0, 0.5, 0.0), (1.0, 0.0, 0.5), (0.5, 1.0, 0.0), (0.5, 0.0, 1.0),
                                   (0.0, 1.0, 0.5), (0.0, 0.5, 1.0)]}
    assert {tuple(row) for row in allocations} == expected and len(allocations) == 6
    np.testing.assert_allclose(budget_allocations(2, 1.0, 1.0, 0.2), [[0.2, 0.8], [0.8, 0.2]])
    with pytest.raises(ValueError, match="total_budget"):
        budget_allocations(2, 3.0, 1.0)


def test_expert_allocation_clips_and_rescales_the_expert_shares():
    system = preset_system("real")
    allocation = expert_allocation(system["expert_spend"], **system["budget"])
    spend = np.array(system["expert_spend"])
    assert allocation.sum() == pytest.approx(1.5)
    assert allocation[2] == pytest.approx(1.0)  # the largest share is capped at cap / total
    assert allocation[0] / allocation[1] == pytest.approx(spend[0] / spend[1])
    with pytest.raises(ValueError, match="spend"):
        expert_allocation([-1.0, 2.0, 3.0], 1.5, 1.0)


@pytest.mark.parametrize("preset", list(SHARED_FILES))
def test_presets_equal_the_papers_configuration_files(preset):
    path = SHARED_DLB / SHARED_FILES[preset]
    if not path.exists():
        pytest.skip(f"{path.name} is not available")
    config = json.loads(path.read_text())
    kwargs = preset_kwargs(preset)
    for key in "ABCD":
        np.testing.assert_array_equal(kwargs[key], np.array(config[key]))
    assert kwargs["noise_std"] == config["noise_sigma"]
    expected = budget_allocations(config["p"], config["max_daily_budget"], config["max_camp_budget"],
                                  config["min_camp_budget"])
    np.testing.assert_array_equal(kwargs["actions"], expected)
    if config["expert"] != [-1]:
        assert preset_system(preset)["expert_spend"] == config["expert"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"A": [[1.01, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.1]]}, "spectral radius"),
    ({"A": [[0.5, 0.0], [0.0, 0.5], [0.0, 0.0]]}, "A must be a square"),
    ({"B": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]}, "B must have shape 3xany"),
    ({"C": [[1.0, 0.0]]}, "C must have shape anyx3"),
    ({"D": [[0.0, 1.0, 0.0]]}, "D must have shape 3x3"),
    ({"actions": [[1.0, 0.5]]}, "actions must have shape anyx3"),
    ({"actions": np.zeros((0, 3))}, "actions must not be empty"),
    ({"actions": [[np.nan, 0.5, 1.0]]}, "actions must contain only finite"),
    ({"noise_std": -0.01}, r"noise_std must be in \[0, 1e\+06\]"),
    ({"preset": "synthetic"}, "preset must be one of"),
    ({"preset": None, "A": [[0.5]]}, "B, C, D, noise_std, actions must be given"),
    ({"horizon": 0}, "horizon must be >= 1"),
])
def test_bad_configurations_raise_value_errors_naming_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DynamicalLinearBanditEnv(**kwargs)
    with pytest.raises(ValueError, match=message):
        DynamicalLinearBanditVectorEnv(2, **kwargs)


def test_custom_system_without_preset():
    env = DynamicalLinearBanditEnv(preset=None, A=[[0.5]], B=[[1.0, -1.0]], C=[[1.0]], D=[[0.0, 0.2]],
                                   noise_std=0.0, actions=[[1.0, 0.0], [0.0, 1.0]], horizon=10)
    np.testing.assert_allclose(env.model.markov_gain, [2.0, -2.0 + 0.2])
    assert env.action_space.n == 2 and env.model.optimal_action == 0


def test_observation_scales_the_last_reward_and_the_round_and_the_horizon_truncates():
    env = DynamicalLinearBanditEnv(preset="real", horizon=5)
    observation, _ = env.reset(seed=3)
    np.testing.assert_array_equal(observation, [0.0, 0.0])
    for round_index in range(1, 6):
        observation, reward, terminated, truncated, info = env.step(round_index % env.action_space.n)
        assert observation in env.observation_space
        assert observation[0] == pytest.approx(reward / env.reward_scale, rel=1e-6)
        assert observation[1] == pytest.approx(round_index / 5)
        assert not terminated and truncated == (round_index == 5)
        assert all(type(value) is float for key, value in info.items() if key != "allocation")
    np.testing.assert_allclose(info["allocation"], env.allocations[5 % env.action_space.n])


def test_mean_reward_is_the_noiseless_part_of_the_reward():
    env = DynamicalLinearBanditEnv(preset="synthetic-0.01")
    noiseless = DynamicalLinearBanditEnv(preset="synthetic-0.01", noise_std=0.0)
    env.reset(seed=0)
    noiseless.reset(seed=0)
    for action in [5, 5, 1, 3]:
        _, _, _, _, info = env.step(action)
        _, exact, _, _, _ = noiseless.step(action)
        assert abs(info["mean_reward"] - exact) < 0.1  # the state differs only by its own noise
    _, reward, _, _, info = noiseless.step(2)
    assert info["mean_reward"] == pytest.approx(reward)


def test_vector_env_rows_match_single_environments_with_the_same_draws():
    vector = DynamicalLinearBanditVectorEnv(1, preset="real", horizon=50)
    single = DynamicalLinearBanditEnv(preset="real", horizon=50)
    vector.reset(seed=11)
    single.reset(seed=11)
    actions = np.random.default_rng(0).integers(6, size=40)
    for action in actions:
        observations, rewards, _, _, infos = vector.step(np.array([action]))
        observation, reward, _, _, info = single.step(action)
        np.testing.assert_array_equal(observations[0], observation)
        assert rewards[0] == reward
        assert infos["regret"][0] == info["regret"]


def test_registered_id_and_native_vector_env():
    env = gym.make(ENV_ID, preset="synthetic-0.1", horizon=100)
    assert isinstance(env.unwrapped, DynamicalLinearBanditEnv) and env.unwrapped.model.noise_std == 0.1
    envs = gym.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point", horizon=3)
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (4, 2)
    for _ in range(3):
        _, _, _, truncated, info = envs.step(np.array([0, 1, 2, 3]))
    assert truncated.all()
    np.testing.assert_allclose(info["steady_state_value"], envs.unwrapped.model.steady_state_values[:4])
