"""Evaluation of an agent on given models and on a grid over the uncertainty set (bounds included)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import LQROptimal
from papergym.agents.robust import CartPoleLQR, Episode, evaluate_grid, evaluate_params
from papergym.core.rollout import evaluate
from papergym.experiments.plotting import pyplot, save_figure
from papergym.experiments.robust import heatmap
from papergym.wrappers.robust import FixedParams

LQG = "papergym/RobustLQG-v0"


def _nominal_lqr() -> LQROptimal:
    """A fixed linear policy: the Riccati gain of the nominal model, whatever model it then acts on."""
    return LQROptimal.from_env(gym.make(LQG))


def test_evaluate_params_matches_rollouts_on_each_model_and_records_the_visited_states():
    agent = _nominal_lqr()
    points = [{"a_scale": 0.8, "b_scale": 1.5}, {"a_scale": 1.2, "b_scale": 0.5}]
    episodes: list[Episode] = []
    returns = evaluate_params(agent, LQG, points, n_episodes=3, seed=5, episodes=episodes)
    assert returns.shape == (2, 3)
    for row, point in zip(returns, points):
        sequential = evaluate(agent, FixedParams(gym.make(LQG), point), 3, seed=5)
        np.testing.assert_allclose(row, sequential.returns, rtol=1e-12)
    # One record per episode: the 50 observations the agent acted on (the first one the seeded reset), the
    # final observation, and the 50 actions.
    assert len(episodes) == 6
    assert all(e.visited.shape == (50, 1) and e.observations.shape == (51, 1) for e in episodes)
    assert all(e.actions.shape == (50, 1) for e in episodes)
    first, _ = FixedParams(gym.make(LQG), points[0]).reset(seed=5)
    np.testing.assert_array_equal(episodes[0].observations[0], first)
    np.testing.assert_allclose(episodes[0].actions[0], agent.predict(first, deterministic=True)[0])


def test_grid_includes_the_bounds_and_its_worst_case_is_the_true_minimum():
    agent = _nominal_lqr()
    grid = evaluate_grid(agent, LQG, points_per_dim=3, n_episodes=2, seed=0)
    assert len(grid.points) == 9
    assert {p["a_scale"] for p in grid.points} == {0.8, 1.0, 1.2}
    assert {p["b_scale"] for p in grid.points} == {0.5, 1.0, 1.5}
    brute_force = [evaluate(agent, FixedParams(gym.make(LQG), point), 2, seed=0).returns.mean()
                   for point in grid.points]
    assert grid.worst_case == pytest.approx(min(brute_force))
    assert grid.average == pytest.approx(np.mean(brute_force))
    assert grid.worst_params == grid.points[int(np.argmin(brute_force))]
    # The nominal gain is weakest where A is largest and B smallest.
    assert grid.worst_params == {"a_scale": 1.2, "b_scale": 0.5}


def test_heatmap_of_a_two_dimensional_grid(tmp_path):
    grid = evaluate_grid(_nominal_lqr(), LQG, points_per_dim=2, n_episodes=1)
    figure, axes = pyplot().subplots()
    image = heatmap(axes, grid.rows(), "a_scale", "b_scale", "LQG")
    np.testing.assert_allclose(np.sort(image.get_array().ravel()), np.sort(grid.mean_returns))
    save_figure(figure, tmp_path / "heat.png")
    assert (tmp_path / "heat.png").stat().st_size > 0
    cartpole = gym.make("papergym/RobustCartPole-v0")
    grid = evaluate_grid(CartPoleLQR.from_env(cartpole), "papergym/RobustCartPole-v0",
                         {"masspole": (0.05, 0.5), "length": (0.25, 1.0), "masscart": (0.5, 2.0)},
                         points_per_dim=2, n_episodes=1)
    assert len(grid.rows()) == 8 and "mean_return" in grid.rows()[0]
