"""The break policies: the NNLS curve fit, the paper's training, and each agent on the environments."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.breaks import (
    AdaptiveLVBreakPolicy,
    BestOfTreatment,
    LVBreakPolicy,
    NoBreaks,
    OracleLV,
    PaperOracle,
    SafetyRateLimiter,
    TreatmentRegressors,
    fit_equilibrium_curve,
    lv_break_rates,
    randomised_experiment,
    refit_break_rates,
)
from papergym.envs.breaks import PAPER_TREATMENTS, LVParams, curve_coefficients, equilibrium_rate, optimal_break_rate

SMALL = {"n_users": 300, "n_items": 400, "population_seed": 1}
PARAMS = LVParams()


@pytest.mark.parametrize("beta", [0.1, 0.16, 0.25])
def test_nnls_recovers_theta_from_noiseless_equilibrium_points(beta):
    rates = equilibrium_rate(np.array(PAPER_TREATMENTS), beta, PARAMS)
    theta1, theta2 = fit_equilibrium_curve(PAPER_TREATMENTS, rates[None])
    true1, true2 = curve_coefficients(beta, PARAMS)
    assert theta1[0] == pytest.approx(float(true1), rel=1e-8) and theta2[0] == pytest.approx(float(true2), rel=1e-8)
    assert lv_break_rates(theta1, theta2)[0] == pytest.approx(min(0.5, float(optimal_break_rate(beta, PARAMS))))


def test_lv_break_rate_is_clipped_and_empty_fits_suggest_no_breaks():
    assert np.allclose(lv_break_rates(np.array([0.0, 20.0, 1.0]), np.array([0.0, 20.0, 20.0])), [0.0, 0.0, 0.5])


def test_refit_from_observed_ratings_gives_the_true_optimum_for_the_true_histogram():
    histogram = np.array([[0, 0, 10, 30, 60]])  # mean beta_r = 0.01 (0.1*9 + 0.3*16 + 0.6*25) = 0.207
    beta_hat = float((histogram @ PARAMS.beta_array)[0] / histogram.sum())
    assert refit_break_rates(histogram, PARAMS)[0] == pytest.approx(1 - 2 * PARAMS.alpha / beta_hat)
    assert refit_break_rates(np.zeros((1, 5)), PARAMS, fallback=0.1)[0] == 0.1


def test_randomised_experiment_splits_70_10_10_10_and_regressors_fit():
    env = gym.make("papergym/BreaksBandit-v0", **SMALL).unwrapped
    users = env.training_users
    assigned, engagement = randomised_experiment(env.world, users, np.random.default_rng(0))
    counts = [int(np.isclose(assigned, p).sum()) for p in PAPER_TREATMENTS]
    assert sum(counts) == len(users) and counts[1] == counts[2] == counts[3] == int(0.1 * len(users))
    regressors = TreatmentRegressors.fit(env.world.features[users], assigned, engagement)
    predictions = regressors.predict(env.world.features[users])
    control = np.isclose(assigned, 0.0)
    assert np.corrcoef(predictions[control, 0], engagement[control])[0, 1] > 0.5


@pytest.fixture(scope="module")
def bandit():
    return gym.make("papergym/BreaksBandit-v0", **SMALL)


@pytest.mark.parametrize("agent_type", [LVBreakPolicy, BestOfTreatment, NoBreaks, OracleLV, PaperOracle])
def test_one_shot_agents_play_the_bandit(bandit, agent_type):
    agent = agent_type.from_env(bandit)
    observation, _ = bandit.reset(seed=0)
    action, state = agent.predict(observation)
    assert action in bandit.action_space and state is None
    _, reward, terminated, _, info = bandit.step(action)
    assert terminated and reward > 0
    if agent_type is OracleLV:
        assert info["break_rate"] == pytest.approx(min(0.5, info["optimal_break_rate"]), abs=1e-6)
    if agent_type is BestOfTreatment:
        assert min(abs(info["break_rate"] - p) for p in PAPER_TREATMENTS) < 1e-6  # float32 actions


def test_agents_play_the_nearest_treatment_on_the_discrete_bandit():
    env = gym.make("papergym/BreaksBandit-v0", **SMALL, discrete=True)
    agent = OracleLV.from_env(env)
    observation, _ = env.reset(seed=1)
    action, _ = agent.predict(observation)
    _, _, _, _, info = env.step(action)
    assert info["break_rate"] == min(PAPER_TREATMENTS, key=lambda p: abs(p - min(0.5, info["optimal_break_rate"])))


def test_rate_limiter_and_adaptive_policy_on_breaks_env():
    env = gym.make("papergym/Breaks-v0", **SMALL)
    limiter = SafetyRateLimiter.from_env(env, threshold=1.0)  # any observed rate exceeds it
    adaptive = AdaptiveLVBreakPolicy.from_env(env, refit_time=5.0)
    observation, _ = env.reset(seed=0)
    assert limiter.predict(observation)[0][0] == 0.0  # nothing observed yet
    rates = []
    for _ in range(10):
        observation, _, _, _, info = env.step(adaptive.predict(observation)[0])
        rates.append(float(adaptive.predict(observation)[0][0]))
    assert limiter.predict(observation)[0][0] == 1.0
    # from t = 5 on the re-fit is 1 - 2 alpha / beta_hat with beta_hat from the consumed items' ratings
    assert abs(rates[-1] - min(0.5, info["optimal_break_rate"])) < 0.05
    assert rates[0] == pytest.approx(float(adaptive.base.predict(observation)[0][0]), abs=1e-6)


def test_lv_policy_gains_over_no_breaks_in_closed_form():
    env = gym.make("papergym/BreaksBandit-v0", **SMALL).unwrapped
    agent = LVBreakPolicy.from_env(env)
    users = env.world.split_users("eval")
    rates = agent.break_rates(env.world.features[users])
    gain = env.world.equilibrium_rates(users, rates).mean() / env.world.equilibrium_rates(users, 0.0).mean()
    assert gain > 1.0
