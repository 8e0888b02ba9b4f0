"""LQG against its closed forms: the Riccati gain, the exact return of linear policies, the dynamics."""

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import (
    LQROptimal,
    finite_horizon_optimal_return,
    linear_policy_return,
    riccati_gain,
)
from papergym.envs.lqg import DOUBLE_INTEGRATOR, LQGEnv, LQGModel, LQGVectorEnv

HORIZON = 50


def test_scalar_riccati_gain_is_the_golden_ratio_solution():
    # A = B = Q = R = 1: P solves P^2 = P + 1, so P = (1 + sqrt 5)/2 and K = P / (1 + P).
    K, P = riccati_gain(LQGModel.from_kwargs())
    golden = (1 + np.sqrt(5)) / 2
    assert P[0, 0] == pytest.approx(golden)
    assert K[0, 0] == pytest.approx(golden / (1 + golden))


@pytest.mark.parametrize("kwargs", [{}, DOUBLE_INTEGRATOR])
@pytest.mark.parametrize("scale", [0.5, 0.8, 0.9, 1.1, 1.2, 2.0])
def test_riccati_gain_beats_scaled_gains_exactly(kwargs, scale):
    model = LQGModel.from_kwargs(**kwargs)
    K, _ = riccati_gain(model)
    assert linear_policy_return(model, K, HORIZON) > linear_policy_return(model, scale * K, HORIZON)


@pytest.mark.parametrize("kwargs", [{}, DOUBLE_INTEGRATOR])
def test_riccati_gain_is_within_a_percent_of_the_finite_horizon_optimum(kwargs):
    model = LQGModel.from_kwargs(**kwargs)
    K, _ = riccati_gain(model)
    stationary, optimum = linear_policy_return(model, K, HORIZON), finite_horizon_optimal_return(model, HORIZON)
    assert optimum >= stationary
    assert stationary > optimum * 1.01  # returns are negative: within 1% of the optimum


def _vector_returns(gain: np.ndarray, kwargs: dict, episodes: int, seed: int) -> np.ndarray:
    """Returns of u = -K x over ``episodes`` parallel episodes of the native vector env."""
    envs = LQGVectorEnv(num_envs=episodes, max_episode_steps=HORIZON, autoreset_mode="Disabled", **kwargs)
    observations, _ = envs.reset(seed=seed)
    returns = np.zeros(episodes)
    for _ in range(HORIZON):
        actions = np.clip(-observations.astype(np.float64) @ gain.T, -1.0, 1.0)
        observations, rewards, _, _, _ = envs.step(actions)
        returns += rewards
    return returns


@pytest.mark.parametrize("kwargs", [{}, DOUBLE_INTEGRATOR])
def test_simulated_return_matches_the_closed_form(kwargs):
    model = LQGModel.from_kwargs(**kwargs)
    K, _ = riccati_gain(model)
    returns = _vector_returns(K, kwargs, episodes=20_000, seed=0)
    standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
    assert abs(returns.mean() - linear_policy_return(model, K, HORIZON)) < 4 * standard_error


@pytest.mark.parametrize("scale", [0.7, 1.3])
def test_perturbed_gain_does_worse_in_simulation(scale):
    # Common random numbers (same seed) make the paired difference precise.
    K, _ = riccati_gain(LQGModel.from_kwargs())
    difference = _vector_returns(K, {}, 20_000, seed=1) - _vector_returns(scale * K, {}, 20_000, seed=1)
    standard_error = difference.std(ddof=1) / np.sqrt(difference.size)
    assert difference.mean() > 4 * standard_error


def test_step_follows_the_dynamics_and_splits_the_reward():
    env = LQGEnv(A=[[0.9, 0.1], [0.0, 0.8]], B=[[0.0], [1.0]], Q=2.0, R=0.5, noise_cov=0.0)
    env.reset(seed=0)
    x = env.state.copy()
    u = np.array([0.3])
    observation, reward, terminated, truncated, info = env.step(u)
    expected = np.array([[0.9, 0.1], [0.0, 0.8]]) @ x + np.array([0.0, 0.3])
    np.testing.assert_allclose(env.state, expected)
    np.testing.assert_allclose(observation, expected.astype(np.float32))
    assert info["state_cost"] == pytest.approx(2.0 * x @ x)
    assert info["action_cost"] == pytest.approx(0.5 * 0.09)
    assert reward == pytest.approx(-(info["state_cost"] + info["action_cost"]))
    assert not terminated and not truncated


def test_state_is_clipped_to_max_state():
    env = LQGEnv(A=3.0, noise_cov=0.0, max_state=2.0)
    env.reset(seed=0)
    for _ in range(10):
        observation, *_ = env.step(np.array([1.0]))
    assert observation[0] == pytest.approx(2.0)


def test_vector_env_with_one_copy_reproduces_the_single_env():
    single, vector = LQGEnv(), LQGVectorEnv(num_envs=1)
    observation, _ = single.reset(seed=7)
    observations, _ = vector.reset(seed=7)
    np.testing.assert_array_equal(observations[0], observation)
    for u in np.linspace(-1, 1, 20):
        observation, reward, *_ = single.step(np.array([u]))
        observations, rewards, *_ = vector.step(np.array([[u]]))
        np.testing.assert_array_equal(observations[0], observation)
        assert rewards[0] == reward


def test_registered_2d_variant_is_the_double_integrator():
    env = gym.make("papergym/LQG2D-v0")
    np.testing.assert_array_equal(env.unwrapped.model.A, np.array(DOUBLE_INTEGRATOR["A"]))
    assert env.observation_space.shape == (2,) and env.action_space.shape == (1,)


def test_optimal_agent_never_saturates_on_the_default_systems():
    for env_id in ("papergym/LQG-v0", "papergym/LQG2D-v0"):
        env = gym.make(env_id)
        agent = LQROptimal.from_env(env)
        corners = np.array(np.meshgrid(*[[-1, 1]] * env.observation_space.shape[0])).reshape(
            env.observation_space.shape[0], -1).T * env.unwrapped.model.init_state_bound
        assert np.all(np.abs(corners @ agent.gain.T) < 1.0)


def test_lqr_agent_refuses_other_environments():
    with pytest.raises(ValueError, match="LQG environment"):
        LQROptimal.from_env(gym.make("CartPole-v1"))
