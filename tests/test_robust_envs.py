"""The parametric environments of the robust-MDP paper (IWOCS): protocol, physics, solvable corners."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import LQROptimal, finite_horizon_optimal_return, linear_policy_return
from papergym.agents.robust import CartPoleLQR, PendulumSwingUp
from papergym.core.rollout import evaluate
from papergym.envs.robust import RobustCartPoleEnv, RobustLQGEnv, RobustPendulumEnv, UncertaintySet

ROBUST_IDS = ["papergym/RobustCartPole-v0", "papergym/RobustPendulum-v0", "papergym/RobustLQG-v0"]


@pytest.mark.parametrize("env_id", ROBUST_IDS)
def test_protocol_set_get_reset_options_persistence_and_info(env_id):
    env = gym.make(env_id)
    unwrapped = env.unwrapped
    nominal = unwrapped.get_params()
    assert nominal == unwrapped.NOMINAL_PARAMS
    corner = unwrapped.uncertainty_set.corners()[-1]
    _, info = env.reset(seed=0, options=corner)
    assert unwrapped.get_params() == {**nominal, **corner}
    assert all(type(info[name]) is float and info[name] == value for name, value in corner.items())
    _, info = env.reset(seed=1)  # parameters persist across resets
    assert all(info[name] == value for name, value in corner.items())
    _, _, _, _, info = env.step(env.action_space.sample())
    assert all(info[name] == value for name, value in corner.items())
    first = next(iter(nominal))
    unwrapped.set_params(**{first: nominal[first]})
    assert unwrapped.get_params()[first] == nominal[first]
    assert env.reset(seed=2)[1][first] == nominal[first]


@pytest.mark.parametrize("env_id", ROBUST_IDS)
def test_protocol_rejects_bad_parameters_and_options(env_id):
    env = gym.make(env_id)
    name = next(iter(env.unwrapped.get_params()))
    with pytest.raises(ValueError, match="unknown parameters"):
        env.unwrapped.set_params(not_a_parameter=1.0)
    with pytest.raises(ValueError, match=name):
        env.unwrapped.set_params(**{name: -1.0})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(seed=0, options={"not_a_parameter": 1.0})
    with pytest.raises(ValueError, match=name):
        env.reset(seed=0, options={name: float("nan")})


def test_cartpole_recomputes_cached_masses_and_matches_gymnasium_physics():
    env = RobustCartPoleEnv()
    env.set_params(masspole=0.3, length=0.8, masscart=1.5, force_mag=7.0)
    assert env.total_mass == pytest.approx(1.8)
    assert env.polemass_length == pytest.approx(0.24)
    reference = CartPoleEnv()
    reference.masspole, reference.length, reference.masscart, reference.force_mag = 0.3, 0.8, 1.5, 7.0
    reference.total_mass, reference.polemass_length = 1.8, 0.24
    observation, _ = env.reset(seed=4)
    expected, _ = reference.reset(seed=4)
    np.testing.assert_array_equal(observation, expected)
    for action in [1, 1, 0, 1, 0, 0, 1]:
        np.testing.assert_array_equal(env.step(action)[0], reference.step(action)[0])
    # Reset options change the cached quantities too.
    env.reset(seed=0, options={"masspole": 0.05})
    assert env.total_mass == pytest.approx(1.55) and env.polemass_length == pytest.approx(0.04)


@pytest.mark.parametrize(("m", "l", "g"), [(1.0, 1.0, 10.0), (0.5, 0.75, 8.0), (1.5, 1.25, 12.0)])
def test_pendulum_angular_acceleration_follows_the_rod_equation(m, l, g):  # noqa: E741
    env = RobustPendulumEnv(m=m, l=l, g=g)
    theta = 0.7
    for action in (0.0, 0.5, -1.0):
        env.reset(seed=0, options={"x_init": 0.0, "y_init": 0.0})
        env.state = np.array([theta, 0.0])
        observation = env.step(np.array([action], dtype=np.float32))[0]
        acceleration = observation[2] / env.dt
        expected = 3.0 * g / (2.0 * l) * np.sin(theta) + 3.0 / (m * l**2) * (2.0 * action)
        assert acceleration == pytest.approx(expected, rel=1e-5)


def test_pendulum_normalised_action_matches_gymnasium_torque():
    env, reference = RobustPendulumEnv(), gym.make("Pendulum-v1").unwrapped
    env.reset(seed=3)
    reference.reset(seed=3)
    for action in (0.3, -1.0, 1.0, 0.0):
        ours = env.step(np.array([action], dtype=np.float32))
        theirs = reference.step(np.array([2.0 * action], dtype=np.float32))
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
        assert ours[1] == pytest.approx(float(theirs[1]), rel=1e-6)


def test_lqg_scales_the_foundation_model():
    env = RobustLQGEnv(A=[[1.0, 1.0], [0.0, 1.0]], B=[[0.5], [1.0]], Q=1.0, R=1.0, noise_cov=0.0,
                       init_state_bound=0.5)
    env.reset(seed=0, options={"a_scale": 0.9, "b_scale": 1.3})
    np.testing.assert_allclose(env.model.A, 0.9 * env.nominal_model.A)
    np.testing.assert_allclose(env.model.B, 1.3 * env.nominal_model.B)
    state = env.state.copy()
    observation = env.step(np.array([0.4], dtype=np.float32))[0]
    np.testing.assert_allclose(observation, (env.model.A @ state + env.model.B @ [0.4]).astype(np.float32))


def test_uncertainty_set_grid_includes_both_bounds_and_validates():
    box = UncertaintySet.from_dict({"a": (1.0, 2.0), "b": (0.5, 0.5)})
    grid = box.grid(3)
    assert [p["a"] for p in grid] == [1.0, 1.5, 2.0] and all(p["b"] == 0.5 for p in grid)
    assert box.corners() == [{"a": 1.0, "b": 0.5}, {"a": 2.0, "b": 0.5}]
    assert box.grid(1) == [{"a": 1.5, "b": 0.5}]
    assert box.from_unit([1.0, 0.0]) == {"a": 2.0, "b": 0.5}
    with pytest.raises(ValueError, match="low <= high"):
        UncertaintySet.from_dict({"a": (2.0, 1.0)})
    with pytest.raises(ValueError, match="points_per_dim"):
        box.grid(0)


def test_every_cartpole_corner_is_solvable():
    env = gym.make("papergym/RobustCartPole-v0")
    corners = env.unwrapped.uncertainty_set.corners()
    assert len(corners) == 16
    for corner in corners:
        env.unwrapped.set_params(**corner)
        result = evaluate(CartPoleLQR.from_env(env), env, n_episodes=2, seed=0)
        assert np.all(result.returns == 500.0), corner


def test_every_pendulum_corner_is_solvable():
    env = gym.make("papergym/RobustPendulum-v0")
    corners = env.unwrapped.uncertainty_set.corners()
    assert len(corners) == 8
    for corner in corners:
        env.unwrapped.set_params(**corner)
        controller = PendulumSwingUp.from_env(env)
        for seed in range(3):
            evaluate(controller, env, n_episodes=1, seed=seed)
            theta, theta_dot = env.unwrapped.state  # every episode ends upright and at rest
            assert np.cos(theta) > 0.99 and abs(theta_dot) < 0.1, (corner, seed)


def test_every_lqg_corner_is_stabilised_by_its_riccati_controller():
    env = gym.make("papergym/RobustLQG-v0")
    for corner in env.unwrapped.uncertainty_set.corners():
        env.unwrapped.set_params(**corner)
        model = env.unwrapped.model
        controller = LQROptimal.from_env(env)
        closed_loop = model.A - model.B @ controller.gain
        assert max(abs(np.linalg.eigvals(closed_loop))) < 1.0
        optimum = finite_horizon_optimal_return(model, 50)
        assert linear_policy_return(model, controller.gain, 50) == pytest.approx(optimum, rel=0.02)
