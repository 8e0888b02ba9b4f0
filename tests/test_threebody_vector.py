"""The native vector ThreeBody env equals the single env on the same systems and actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.envs.threebody import ThreeBodyEnv, ThreeBodyVectorEnv

KEYS = ("energy_error", "force_evaluations", "total_force_evaluations", "action_value", "reward_error",
        "reward_work", "reward_failure")


def single_runs(seed, n_envs, actions, **kwargs):
    """The i-th system after reset(seed) and plain resets, stepped with actions[:, i]."""
    env = ThreeBodyEnv(**kwargs)
    runs = []
    for i in range(n_envs):
        observation, _ = env.reset(seed=seed) if i == 0 else env.reset()
        steps = [(observation, 0.0, {})]
        for action in actions[:, i]:
            observation, reward, terminated, _, info = env.step(int(action))
            steps.append((observation, reward, info))
            assert not terminated
        runs.append(steps)
    return runs


@pytest.mark.parametrize("reward", ["paper", "error_work"])
def test_vector_env_equals_the_single_env_on_the_same_systems(reward):
    n_envs, horizon = 4, 6
    actions = np.random.default_rng(1).integers(3, 10, size=(horizon, n_envs))
    vector = gym.make_vec("papergym/ThreeBody-v0", num_envs=n_envs, vectorization_mode="vector_entry_point",
                          reward=reward)
    assert isinstance(vector.unwrapped, ThreeBodyVectorEnv)
    runs = single_runs(7, n_envs, actions, reward=reward)
    observations, _ = vector.reset(seed=7)
    np.testing.assert_array_equal(observations, np.array([run[0][0] for run in runs]))
    for t in range(horizon):
        observations, rewards, terminated, truncated, info = vector.step(actions[t])
        assert not terminated.any() and not truncated.any()
        np.testing.assert_allclose(observations, np.array([run[t + 1][0] for run in runs]), rtol=1e-12, atol=0)
        np.testing.assert_allclose(rewards, [run[t + 1][1] for run in runs], rtol=1e-12, atol=1e-15)
        for key in KEYS:
            np.testing.assert_allclose(info[key], [run[t + 1][2][key] for run in runs], rtol=1e-12, atol=1e-15)
    assert (info["force_evaluations"] > 0).all()


def test_vector_env_truncates_at_the_time_limit_and_refuses_other_backends():
    vector = gym.make_vec("papergym/ThreeBody-v0", num_envs=2, vectorization_mode="vector_entry_point",
                          max_episode_steps=2)
    vector.reset(seed=0)
    assert not vector.step(np.array([9, 9]))[3].any()
    assert vector.step(np.array([9, 9]))[3].all()
    with pytest.raises(ValueError, match="hermite"):
        ThreeBodyVectorEnv(2, backend="leapfrog")
    with pytest.raises(ValueError, match="interval_yr"):
        ThreeBodyVectorEnv(2, interval_yr=1e308)
