"""TT-POIS building blocks against brute force, closed forms and Monte Carlo: the budget allocation, the
truncated estimator, the Rényi divergences and the truncated-rollout collector."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.vec_env import DummyVecEnv

from papergym.agents.ttpois import (
    TruncationSchedule,
    categorical_log_d2,
    continuous_robust_reach,
    full_length_schedule,
    gaussian_log_d2,
    hoeffding_coefficients,
    robust_schedule,
    truncated_return_estimate,
)
from papergym.agents.ttpois.collection import TruncatedRollouts


def _all_strategies(budget: int, horizon: int):
    """Every (m_1..m_T) with sum_h h m_h <= budget and at least one full-length trajectory."""

    def counts(h: int, remaining: int):
        if h == 0:
            yield []
            return
        for m in range(remaining // h + 1):
            for rest in counts(h - 1, remaining - h * m):
                yield [*rest, m]

    for m in counts(horizon, budget):
        if m[-1] >= 1:
            yield np.array(m)


def _reach(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts[::-1])[::-1]


def _hoeffding_sum_of_squares(lengths: np.ndarray, gamma: float) -> float:
    """sum_i A_{h_i}^2 computed directly from the trajectories' ranges."""
    horizon = lengths.max()
    reach = (lengths[:, None] > np.arange(horizon)).sum(axis=0)
    step = gamma ** np.arange(horizon) / reach
    return float(sum(step[:h].sum() ** 2 for h in lengths))


@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0])
@pytest.mark.parametrize("horizon", [1, 2, 3, 4, 5])
def test_robust_schedule_beats_every_strategy_by_brute_force(horizon, gamma):
    for budget in range(horizon, 3 * horizon + 3):
        schedule = robust_schedule(budget, horizon, gamma)
        assert schedule.budget == budget
        best = min(TruncationSchedule(_reach(m), gamma).squared_width_factor()
                   for m in _all_strategies(budget, horizon))
        assert schedule.squared_width_factor() <= best + 1e-12


@pytest.mark.parametrize("gamma", [0.3, 0.9, 1.0])
def test_separable_width_equals_the_hoeffding_sum_of_squared_ranges(gamma):
    rng = np.random.default_rng(0)
    for _ in range(20):
        lengths = np.append(rng.integers(1, 8, size=rng.integers(1, 10)), 8)
        schedule = TruncationSchedule.from_lengths(lengths, 8, gamma)
        assert schedule.squared_width_factor() == pytest.approx(_hoeffding_sum_of_squares(lengths, gamma))
        np.testing.assert_array_equal(np.sort(schedule.lengths), np.sort(lengths))


def test_confidence_width_is_hoeffdings_formula_and_full_length_is_the_classic_one():
    gamma, horizon, n = 0.95, 30, 40
    full = full_length_schedule(n * horizon, horizon, gamma)
    discounted_horizon = (1 - gamma**horizon) / (1 - gamma)
    expected = 2.0 * discounted_horizon * np.sqrt(np.log(2 / 0.1) / (2 * n))
    assert full.confidence_width(reward_range=2.0, delta=0.1) == pytest.approx(expected)
    assert full.effective_full_trajectories() == pytest.approx(n)


@pytest.mark.parametrize("gamma, horizon", [(0.9, 50), (0.99, 100), (0.999, 200), (1.0, 40)])
def test_robust_schedule_is_narrower_than_full_length_and_close_to_the_continuous_optimum(gamma, horizon):
    budget = 20 * horizon
    robust, full = robust_schedule(budget, horizon, gamma), full_length_schedule(budget, horizon, gamma)
    assert robust.confidence_width() < full.confidence_width()
    assert np.all(np.diff(robust.reach) <= 0) and robust.reach.min() >= 1
    continuous = continuous_robust_reach(budget, horizon, gamma)
    interior = continuous >= 2
    assert np.max(np.abs(robust.reach[interior] - continuous[interior])) <= 1.5


def test_smaller_discount_truncates_more():
    horizon, budget = 100, 5_000
    short = robust_schedule(budget, horizon, 0.9).lengths.mean()
    long = robust_schedule(budget, horizon, 0.999).lengths.mean()
    assert short < long <= horizon


def test_hoeffding_coefficients_telescope_to_the_squared_discounted_horizon():
    c = hoeffding_coefficients(0.8, 12)
    assert c.sum() == pytest.approx(((1 - 0.8**12) / (1 - 0.8)) ** 2)
    assert np.all(np.diff(c) < 0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(budget=5, horizon=10, gamma=0.9), "budget"),
    (dict(budget=50, horizon=0, gamma=0.9), "horizon"),
    (dict(budget=50, horizon=10, gamma=1.5), "gamma"),
    (dict(budget=50, horizon=10, gamma=0.0), "gamma"),
    (dict(budget=50.5, horizon=10, gamma=0.9), "budget"),
])
def test_schedule_arguments_are_validated(kwargs, name):
    with pytest.raises(ValueError, match=name):
        robust_schedule(**kwargs)


def test_schedule_rejects_increasing_reach_and_bad_lengths():
    with pytest.raises(ValueError, match="reach"):
        TruncationSchedule(np.array([2, 3]), 0.9)
    with pytest.raises(ValueError, match="lengths"):
        TruncationSchedule.from_lengths([0, 3], 3, 0.9)


def test_truncated_estimator_is_unbiased_on_a_known_chain():
    # Three-state chain, reward depends on the state; J = sum_t gamma^t mu_0 P^t r exactly.
    P = np.array([[0.5, 0.5, 0.0], [0.1, 0.6, 0.3], [0.4, 0.0, 0.6]])
    r = np.array([1.0, -0.5, 2.0])
    mu0 = np.array([0.2, 0.5, 0.3])
    gamma, horizon = 0.9, 15
    exact = sum(gamma**t * mu0 @ np.linalg.matrix_power(P, t) @ r for t in range(horizon))

    schedule = robust_schedule(60, horizon, gamma)
    lengths = schedule.lengths
    rng = np.random.default_rng(1)
    n_batches = 4_000
    cumulative = np.cumsum(P, axis=1)
    states = rng.choice(3, p=mu0, size=(n_batches, len(lengths)))
    rewards = np.zeros((n_batches, len(lengths), horizon))
    for t in range(horizon):
        rewards[:, :, t] = r[states] * (t < lengths)
        states = (rng.random(states.shape)[..., None] > cumulative[states]).sum(axis=-1)
    estimates = np.array([truncated_return_estimate(batch, lengths, gamma) for batch in rewards])
    standard_error = estimates.std(ddof=1) / np.sqrt(n_batches)
    assert abs(estimates.mean() - exact) < 4 * standard_error
    assert schedule.estimate(rewards[0], lengths) == pytest.approx(estimates[0])


def test_estimator_needs_every_step_reached():
    with pytest.raises(ValueError, match="every step"):
        truncated_return_estimate(np.zeros((2, 3)), np.array([1, 2]), 0.9)


def test_gaussian_d2_matches_monte_carlo():
    generator = th.Generator().manual_seed(0)
    mean_p, std_p = th.tensor([0.3, -0.2], dtype=th.float64), th.tensor([0.9, 1.1], dtype=th.float64)
    mean_q, std_q = th.tensor([0.0, 0.1], dtype=th.float64), th.tensor([1.0, 1.2], dtype=th.float64)
    samples = mean_q + std_q * th.randn(400_000, 2, generator=generator, dtype=th.float64)
    normal_p, normal_q = th.distributions.Normal(mean_p, std_p), th.distributions.Normal(mean_q, std_q)
    ratio = th.exp((normal_p.log_prob(samples) - normal_q.log_prob(samples)).sum(-1))
    monte_carlo = (ratio**2).mean()
    assert float(th.exp(gaussian_log_d2(mean_p, std_p, mean_q, std_q))) == pytest.approx(float(monte_carlo),
                                                                                         rel=0.02)
    assert float(gaussian_log_d2(mean_q, std_q, mean_q, std_q)) == pytest.approx(0.0, abs=1e-12)


def test_gaussian_d2_is_infinite_when_the_target_is_too_wide():
    one = th.ones(1, dtype=th.float64)
    assert th.isinf(gaussian_log_d2(0 * one, 1.5 * one, 0 * one, one))


def test_categorical_d2_matches_monte_carlo():
    p = th.tensor([0.2, 0.5, 0.3], dtype=th.float64)
    q = th.tensor([0.4, 0.4, 0.2], dtype=th.float64)
    generator = th.Generator().manual_seed(1)
    draws = th.multinomial(q, 200_000, replacement=True, generator=generator)
    monte_carlo = ((p[draws] / q[draws]) ** 2).mean()
    exact = th.exp(categorical_log_d2(p.log(), q.log()))
    assert float(exact) == pytest.approx(float((p**2 / q).sum()))
    assert float(exact) == pytest.approx(float(monte_carlo), rel=0.02)


def _cartpole_vec(n_envs: int, max_episode_steps: int = 500) -> DummyVecEnv:
    env = DummyVecEnv([lambda: gym.make("CartPole-v1", max_episode_steps=max_episode_steps)] * n_envs)
    env.seed(0)
    return env


@pytest.mark.parametrize("n_envs", [1, 3])
def test_collector_follows_the_schedule(n_envs):
    lengths = [30, 5, 12, 1, 30, 7]
    collector = TruncatedRollouts(_cartpole_vec(n_envs), lengths)
    rng = np.random.default_rng(0)
    batch = collector.collect(lambda obs, trajectories: rng.integers(2, size=len(obs)))
    np.testing.assert_array_equal(batch.lengths, lengths)
    assert np.all(batch.steps <= batch.lengths) and np.all(batch.steps >= 1)
    # CartPole gives reward 1 per step taken, 0 in the absorbing state after termination.
    np.testing.assert_array_equal(batch.rewards, batch.step_mask.astype(float))
    assert batch.n_transitions == batch.steps.sum() <= batch.env_steps
    assert np.all(batch.observations[~batch.step_mask] == 0)
    assert np.all(batch.observations[:, 0] != 0)


def test_collector_rejects_lengths_beyond_the_time_limit():
    collector = TruncatedRollouts(_cartpole_vec(1, max_episode_steps=5), [8])
    with pytest.raises(ValueError, match="prescribed length"):
        collector.collect(lambda obs, trajectories: np.ones(len(obs), dtype=np.int64))


def test_collector_validates_lengths():
    with pytest.raises(ValueError, match="lengths"):
        TruncatedRollouts(_cartpole_vec(1), [3, 0])
