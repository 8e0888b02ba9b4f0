"""papergym/ThreeBody-v0: initial conditions, observation, rewards, termination/truncation, backends."""

from __future__ import annotations

import math
import pickle
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded

import papergym  # noqa: F401  (registers the ids)
from papergym.core.errors import PapergymError
from papergym.envs.threebody import PAPER_ACTIONS, PAPER_UNITS, ThreeBodyEnv, paper_initial_conditions
from papergym.envs.threebody.initial_conditions import VELOCITIES_KMS

ENV_ID = "papergym/ThreeBody-v0"


def test_initial_conditions_follow_the_paper_in_the_centre_of_mass_frame():
    positions, velocities, masses = paper_initial_conditions(np.random.default_rng(4))
    np.testing.assert_allclose(masses, 1 / 3)
    np.testing.assert_allclose(masses @ positions, 0.0, atol=1e-12)
    np.testing.assert_allclose(masses @ velocities, 0.0, atol=1e-12)
    relative = positions - positions[0]  # body 1 started at the origin
    assert 5 <= relative[1, 0] <= 20 and 0 <= relative[1, 1] <= 10
    assert -10 <= relative[2, 0] <= 0 and 5 <= relative[2, 1] <= 20
    np.testing.assert_allclose((velocities - velocities[2]) * PAPER_UNITS.velocity_kms, VELOCITIES_KMS, atol=1e-12)
    assert np.all(positions[:, 2] == 0.0)


def test_observation_is_the_authors_thirteen_values():
    env = ThreeBodyEnv()
    observation, _ = env.reset(seed=0)
    assert observation.shape == (13,) and observation in env.observation_space
    np.testing.assert_allclose(observation[:6], env.backend.positions[:, :2].ravel() / 10.0)
    np.testing.assert_allclose(observation[6:12], env.backend.velocities[:, :2].ravel())
    assert observation[12] == 16.0  # no energy error yet: the floor 1e-16
    observation, _, _, _, info = env.step(9)
    assert observation[12] == pytest.approx(-math.log10(info["energy_error"]))


def test_random_actions_never_produce_non_finite_values():
    for backend_kwargs in ({}, {"backend": "leapfrog"}):
        env = gym.make(ENV_ID, max_episode_steps=30, **backend_kwargs)
        env.action_space.seed(0)
        for seed in range(40):
            observation, _ = env.reset(seed=seed)
            terminated = truncated = False
            while not (terminated or truncated):
                observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
                assert np.all(np.isfinite(observation)) and observation in env.observation_space
                assert math.isfinite(reward)
                assert all(np.all(np.isfinite(value)) for key, value in info.items() if key != "energy_error")


def test_coincident_bodies_terminate_with_a_finite_observation():
    env = ThreeBodyEnv()
    positions = np.array([[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [5.0, 5.0, 0.0]])
    velocities = np.zeros((3, 3))
    env.reset(seed=0, options={"state": (positions, velocities, np.full(3, 1 / 3))})
    observation, reward, terminated, truncated, info = env.step(9)
    assert terminated and not truncated
    assert np.all(np.isfinite(observation)) and math.isfinite(reward)
    assert info["reward_failure"] == -100.0


def test_large_fixed_steps_blow_up_and_terminate():
    env = ThreeBodyEnv(backend="leapfrog")
    env.reset(seed=0)
    for _ in range(100):
        observation, reward, terminated, _, info = env.step(9)
        if terminated:
            break
    assert terminated and info["energy_error"] > 0.1 and observation[12] < -1.0
    assert info["reward_failure"] == -100.0 and math.isfinite(reward)


def test_registered_episode_truncates_at_100_steps():
    env = gym.make(ENV_ID)
    env.reset(seed=1)
    for step in range(1, 101):
        _, _, terminated, truncated, _ = env.step(6)
        assert not terminated
        assert truncated == (step == 100)


def test_evaluation_limit_truncates_the_episode():
    env = ThreeBodyEnv(max_evaluations=10)
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(0)
    assert truncated and not terminated and info["evaluation_limit"] and info["force_evaluations"] == 10


def test_smaller_eta_costs_more_work_and_conserves_energy_better():
    results = {}
    for action in (0, 3, 6, 9):
        env = ThreeBodyEnv()
        env.reset(seed=2)
        work = 0
        for _ in range(20):
            _, _, _, _, info = env.step(action)
            work += info["force_evaluations"]
        results[action] = (work, info["energy_error"])
    works = [results[action][0] for action in (0, 3, 6, 9)]
    errors = [results[action][1] for action in (3, 6, 9)]  # eta 1e-4 sits at round-off, as eta 1e-3
    assert works == sorted(works, reverse=True) and works[0] > 50 * works[-1]
    assert errors == sorted(errors)


def test_default_reward_terms():
    env = ThreeBodyEnv(target_error=1e-12)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(9)
    assert info["reward_work"] == pytest.approx(-math.log10(info["force_evaluations"]))
    assert info["reward_error"] == pytest.approx(-max(0.0, math.log10(info["energy_error"] / 1e-12)))
    assert reward == pytest.approx(info["reward_error"] + info["reward_work"] + info["reward_failure"])


def test_paper_reward_follows_the_authors_formula():
    env = ThreeBodyEnv(reward="paper")
    env.reset(seed=0)
    for step, action in enumerate((9, 5, 2), start=1):
        _, reward, _, _, info = env.step(action)
        log_error = math.log10(info["energy_error"])
        expected = -3500 * (log_error + 10) / (abs(log_error) ** 3 * step) + 4 / abs(math.log10(PAPER_ACTIONS[action]))
        assert reward == pytest.approx(0.0 if step == 1 else expected)  # the authors reward step 1 with 0


def test_work_is_deterministic_and_wall_time_optional():
    runs = []
    for _ in range(2):
        env = ThreeBodyEnv(record_wall_time=True)
        env.reset(seed=5)
        infos = [env.step(action)[4] for action in (4, 7, 1)]
        runs.append([info["force_evaluations"] for info in infos])
        assert all(info["wall_time"] > 0.0 for info in infos)
    assert runs[0] == runs[1]
    env = ThreeBodyEnv()
    env.reset(seed=5)
    assert "wall_time" not in env.step(0)[4]


def test_step_before_reset_and_invalid_actions_raise():
    env = ThreeBodyEnv()
    with pytest.raises(ResetNeeded, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for action in (10, -1, 0.5, float("nan")):
        with pytest.raises(ValueError, match="action"):
            env.step(action)


def test_custom_action_values_and_state_option_are_validated():
    with pytest.raises(PapergymError, match="action_values"):
        ThreeBodyEnv(action_values=[1e-2, 0.0])
    env = ThreeBodyEnv(action_values=[1e-2, 1e-1])
    assert env.action_space.n == 2
    with pytest.raises(PapergymError, match="masses"):
        env.reset(options={"state": (np.zeros((3, 3)), np.zeros((3, 3)), np.array([1.0, 0.0, 1.0]))})


def test_rgb_array_frame():
    env = ThreeBodyEnv(render_mode="rgb_array")
    env.reset(seed=0)
    env.step(9)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3


def test_importing_the_environment_loads_no_plotting_or_learning_library():
    import subprocess

    code = ("import sys, gymnasium, papergym; env = gymnasium.make('papergym/ThreeBody-v0'); env.reset(seed=0); "
            "env.step(0); print(sorted(m for m in ('matplotlib', 'torch', 'stable_baselines3', 'rebound') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_missing_rebound_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "rebound", None)
    with pytest.raises(PapergymError, match=r"papergym\[astro\]"):
        ThreeBodyEnv(backend="ias15")


class TestIAS15Backend:
    @pytest.fixture(autouse=True)
    def _needs_rebound(self):
        pytest.importorskip("rebound")

    def test_ias15_conserves_energy_and_counts_force_evaluations(self):
        env = ThreeBodyEnv(backend="ias15")
        env.reset(seed=0)
        for _ in range(10):
            _, _, terminated, _, info = env.step(0)
        assert not terminated and info["energy_error"] < 1e-7 and info["force_evaluations"] > 7

    def test_ias15_matches_hermite_on_the_same_initial_conditions(self):
        states = []
        for backend, action in (("ias15", 0), ("hermite", 2)):
            env = ThreeBodyEnv(backend=backend)
            env.reset(seed=3)
            for _ in range(5):
                env.step(action)
            states.append(env.backend.positions.copy())
        np.testing.assert_allclose(states[0], states[1], atol=1e-6)

    def test_ias15_pickles_mid_episode(self):
        env = ThreeBodyEnv(backend="ias15")
        env.reset(seed=1)
        env.step(3)
        clone = pickle.loads(pickle.dumps(env))
        first, second = env.step(3), clone.step(3)
        np.testing.assert_array_equal(first[0], second[0])
        assert first[4]["force_evaluations"] == second[4]["force_evaluations"] > 0

    def test_ias15_evaluation_limit(self):
        env = ThreeBodyEnv(backend="ias15", max_evaluations=5)
        env.reset(seed=0)
        _, _, terminated, truncated, info = env.step(0)
        assert truncated and not terminated and info["force_evaluations"] >= 5  # stops at the end of a step


@pytest.mark.parametrize("kwargs", [{"interval_yr": 1e308}, {"interval_yr": 0.0}, {"target_error": 2.0},
                                    {"max_energy_error": 1e300}, {"error_weight": 1e300}, {"paper_w1": -1.0}])
def test_every_numeric_kwarg_has_a_documented_range(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"{name} must be"):
        ThreeBodyEnv(**kwargs)


def test_paper_reward_is_zero_on_the_whole_first_step_and_scales_with_w1():
    rewards = {}
    for w1 in (3000.0, 3500.0):
        env = ThreeBodyEnv(reward="paper", paper_w1=w1)
        env.reset(seed=3)
        first = env.step(5)[1]
        rewards[w1] = env.step(5)[1]
        assert first == 0.0
    env = ThreeBodyEnv(reward="paper")
    env.reset(seed=3)
    env.step(5)
    info = env.step(5)[4]
    assert info["reward_work"] == pytest.approx(4.0 / abs(np.log10(env.action_values[5])))
    error_terms = {w1: reward - info["reward_work"] for w1, reward in rewards.items()}
    assert error_terms[3500.0] == pytest.approx(error_terms[3000.0] * 3500 / 3000)


def test_authors_initial_conditions_are_their_legacy_seeded_draws():
    from papergym.envs.threebody.initial_conditions import authors_initial_conditions

    u = np.random.RandomState(7).random_sample(4)
    positions, velocities, masses = authors_initial_conditions(7)
    relative = positions - positions[0]  # body 1 sits at the origin before the centre-of-mass shift
    np.testing.assert_allclose(relative[1, :2], [5 + 15 * u[0], 10 * u[1]])
    np.testing.assert_allclose(relative[2, :2], [-10 * u[2], 5 + 15 * u[3]])
    np.testing.assert_allclose(masses @ positions, 0.0, atol=1e-12)
    np.testing.assert_allclose(masses @ velocities, 0.0, atol=1e-12)
