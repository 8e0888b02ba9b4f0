"""DTRBandit-v0: exact Q-values against brute-force Monte Carlo, the 5/14 crossing, info, determinism, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded

import papergym  # noqa: F401
from papergym.envs.dtr import PRESETS, DTRBanditEnv, DTRBanditVectorEnv, make_model

ENV_ID = "papergym/DTRBandit-v0"


def monte_carlo_q1(model, x1: np.ndarray, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of r1 + r2 under each first-line arm followed by the optimal second line."""
    rng = np.random.default_rng(seed)
    patients = model.draw(rng, draws, np.repeat(x1[None], draws, axis=0))
    rows = np.arange(draws)
    means, errors = [], []
    for a1 in range(model.n_actions1):
        arm = np.full(draws, a1)
        x2 = patients.x2[:, a1]
        a2 = model.q2_allowed(x2, arm).argmax(axis=1)
        a2 = np.where(patients.remitted[:, a1], -1, a2)
        total = model.realised_return(patients, arm, a2)
        means.append(total.mean())
        errors.append(total.std() / np.sqrt(draws))
    del rows
    return np.array(means), np.array(errors)


CASES = [
    ("beta-mixture", {}, [[0.1], [5 / 14], [0.8]]),
    ("linear-gaussian", {}, [[-1.2], [0.3], [0.9], [1.5]]),
    ("linear-gaussian", {"dim": 2, "n_actions1": 3, "n_actions2": 3}, [[0.4, -0.3], [-1.0, 0.8]]),
    ("depression", {}, [[14.0, -0.3, 1.0], [9.0, -0.6, 0.0], [20.0, 0.1, 1.0], [7.0, -0.2, 0.0]]),
]


@pytest.mark.parametrize("preset,parameters,points", CASES)
def test_q1_matches_brute_force_monte_carlo(preset, parameters, points):
    model = make_model(preset, **parameters)
    exact = model.q1(np.array(points, dtype=np.float64))
    for row, x1 in enumerate(np.array(points, dtype=np.float64)):
        estimate, error = monte_carlo_q1(model, x1, 200_000, seed=row)
        # d > 1 uses a midpoint rule (error ~1e-4); otherwise exact: only Monte Carlo error is allowed.
        assert np.all(np.abs(exact[row] - estimate) < 4.5 * error + 2e-3), (x1, exact[row], estimate, error)


def test_beta_mixture_first_line_crossing_is_5_over_14():
    model = make_model("beta-mixture")
    assert model.crossing_point() == pytest.approx(5 / 14, abs=1e-12)
    x1 = np.array([[5 / 14 - 1e-6], [5 / 14], [5 / 14 + 1e-6]])
    q1 = model.q1(x1)
    assert q1[0, 1] > q1[0, 0] and q1[2, 0] > q1[2, 1]
    assert q1[1, 0] == pytest.approx(q1[1, 1], abs=1e-12)
    # Q1 is linear in x1: Q1(x, 0) - Q1(x, 1) = (28/15) x - 2/3 from the Beta moments.
    grid = np.linspace(0.0, 1.0, 11)[:, None]
    q = model.q1(grid)
    assert np.allclose(q[:, 0] - q[:, 1], 28 / 15 * grid[:, 0] - 2 / 3, atol=1e-12)


def test_optimal_second_line_threshold_is_one_half():
    model = make_model("beta-mixture")
    q2 = model.q2(np.array([[0.49], [0.51]]))
    assert q2[0].argmax() == 0 and q2[1].argmax() == 1


def test_info_regret_is_zero_for_the_optimal_regime_and_positive_otherwise():
    env = gym.make(ENV_ID)
    model = env.unwrapped.model
    for episode in range(50):
        first, _ = env.reset(seed=episode)
        a1 = int(model.q1(first[None, 1:2]).argmax())
        observation, reward, terminated, _, info = env.step(a1)
        assert info["regret"] == pytest.approx(0.0) and not terminated
        assert info["v_star"] == pytest.approx(model.v1(first[None, 1:2].astype(np.float64))[0], rel=1e-6)
        a2 = int(model.q2(observation[None, 1:2]).argmax())
        _, _, terminated, _, info = env.step(1 - a2)
        assert terminated and info["regret"] > 0.0
        assert info["realised_regret"] == pytest.approx(info["oracle_return"] - (reward + _last_reward(env)))


def _last_reward(env) -> float:
    return env.unwrapped._last[2]


def test_oracle_return_uses_the_same_noise():
    env = DTRBanditEnv()
    model = env.model
    env.reset(seed=3)
    patient = env.patient
    a1 = int(model.q1(patient.x1).argmax())
    a2 = int(model.q2(patient.x2[:, a1]).argmax())
    _, r1, _, _, _ = env.step(a1)
    _, r2, terminated, _, info = env.step(a2)
    assert terminated
    assert info["oracle_return"] == pytest.approx(r1 + r2)
    assert info["realised_regret"] == pytest.approx(0.0)


def test_depression_switch_ends_after_one_decision_and_remission_skips_stage_two():
    env = DTRBanditEnv(preset="depression")
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(0)  # switch: only a switch may follow
    assert terminated and info["auto_action2"] == 0.0
    model = make_model("depression")
    patients = model.draw(np.random.default_rng(0), 5000)
    remitted = patients.remitted
    assert 0.05 < remitted.mean() < 0.3
    assert np.allclose(patients.r2[remitted[:, 1], 1, 0], patients.r1[remitted[:, 1], 1])
    sequences = model.sequences.tolist()
    assert sequences == [[0, 0], [1, 0], [1, 1]]


@pytest.mark.parametrize("preset", PRESETS)
def test_rollouts_are_deterministic_per_seed(preset):
    def rollout(seed):
        env = DTRBanditEnv(preset=preset)
        trace = []
        for episode in range(20):
            observation, _ = env.reset(seed=seed + episode)
            terminated = False
            while not terminated:
                observation, reward, terminated, _, info = env.step(0)
                trace.append((reward, info["regret"], *observation))
        return np.array(trace)

    assert np.array_equal(rollout(1), rollout(1))
    assert not np.array_equal(rollout(1), rollout(2))


def test_vector_env_matches_the_single_env_law():
    env = DTRBanditVectorEnv(num_envs=2000, preset="beta-mixture")
    observations, _ = env.reset(seed=0)
    assert observations.shape == (2000, 2) and np.all(observations[:, 0] == 0)
    _, rewards, terminated, _, info = env.step(np.zeros(2000, dtype=np.int64))
    assert not terminated.any() and np.all(rewards == 0.0)
    assert np.allclose(info["regret"], info["v_star"] - info["q_value"])
    _, rewards, terminated, _, info = env.step(np.zeros(2000, dtype=np.int64))
    assert terminated.all()
    assert np.all(info["regret"] >= 0.0)


def test_stepping_before_reset_and_invalid_actions_raise():
    env = DTRBanditEnv()
    with pytest.raises(ResetNeeded, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (2, -1, 0.5, float("nan"), np.array([0, 1])):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)
    dep = DTRBanditEnv(preset="depression")
    dep.reset(seed=0)
    dep.step(1)
    if dep.patient is not None:
        dep.step(1)  # augment-augment is allowed


@pytest.mark.parametrize("kwargs,field", [
    ({"preset": "stard"}, "preset"),
    ({"noise_std": -1.0}, "noise_std"),
    ({"theta": [[1.0, 1.0]]}, "theta"),
    ({"beta_low": [[1, 2]]}, "beta_low"),
    ({"preset": "linear-gaussian", "dim": 0}, "dim"),
    ({"preset": "linear-gaussian", "dim": 2, "transition": np.eye(3)[None].repeat(2, 0)}, "transition"),
    ({"preset": "linear-gaussian", "n_actions2": 3, "beta2": [[1.0], [5.0]]}, "beta2"),
    ({"preset": "depression", "pref_persistence": 1.5}, "pref_persistence"),
    ({"preset": "depression", "dim": 2}, "dim"),
])
def test_bad_configurations_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        DTRBanditEnv(**kwargs)
