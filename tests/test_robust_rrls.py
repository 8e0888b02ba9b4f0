"""RRLS compatibility: set/get_params through every wrapper, RRLS's wrappers and names, bound checks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.robust import IWOCS, CartPoleLQR, evaluate_grid
from papergym.wrappers.robust import (
    DomainRandomization,
    DynamicAdversarial,
    EmbeddedAdversary,
    FixedParams,
    ProbabilisticActionRobust,
    get_params,
    set_params,
)

CARTPOLE, LQG = "papergym/RobustCartPole-v0", "papergym/RobustLQG-v0"


def test_set_and_get_params_reach_through_gym_make_and_every_wrapper():
    made = gym.make(CARTPOLE)
    assert made.get_wrapper_attr("get_params")()["length"] == 0.5
    set_params(made, length=1.5)
    assert made.unwrapped.get_params()["length"] == 1.5
    for wrapper in (FixedParams(gym.make(CARTPOLE), {"length": 1.0}),
                    DomainRandomization(gym.make(CARTPOLE), params_bound={"length": (0.5, 1.0)}),
                    EmbeddedAdversary(gym.make(CARTPOLE)),
                    DynamicAdversarial(gym.make(CARTPOLE), {"length": (0.5, 1.0)})):
        wrapper.set_params(masscart=1.7)
        assert wrapper.get_params()["masscart"] == 1.7 == get_params(gym.wrappers.RecordEpisodeStatistics(wrapper))[
            "masscart"]
        assert wrapper.uncertainty_set is not None and wrapper.params_bound is not None
        if not isinstance(wrapper, DomainRandomization):  # which returns what it drew or was given (RRLS)
            assert set(wrapper.params_bound) <= set(wrapper.get_params())


def test_bad_bounds_fail_when_the_wrapper_is_built_naming_the_parameter():
    for bounds, message in (({}, "at least one parameter"), ({"length": (2.0, 1.0)}, "length"),
                            ({"masspole": (0.0, 0.5)}, "masspole"), ({"force_mag": (-3.0, 15.0)}, "force_mag"),
                            ({"gravity": (9.0, 10.0)}, "gravity")):
        for build in (lambda b: DomainRandomization(gym.make(CARTPOLE), params_bound=b),
                      lambda b: DynamicAdversarial(gym.make(CARTPOLE), b),
                      lambda b: EmbeddedAdversary(gym.make(CARTPOLE), uncertainty_set=b)):
            with pytest.raises(ValueError, match=message):
                build(bounds)
    env = gym.make(CARTPOLE)
    with pytest.raises(ValueError, match="masspole"):
        DomainRandomization(env, params_bound={"masspole": (0.0, 0.5)})
    assert get_params(env)["masspole"] == 0.1  # the check restores the parameters


def test_dynamic_adversarial_follows_rrls_semantics():
    env = DynamicAdversarial(gym.make(CARTPOLE), {"length": (0.5, 1.5), "force_mag": (5.0, 15.0)})
    assert isinstance(env.action_space, gym.spaces.Tuple) and env.action_space[1].shape == (2,)
    env.reset(seed=0)
    _, reward, _, _, info = env.step((1, np.array([-1.0, 1.0], dtype=np.float32)))
    assert info["length"] == 0.5 and info["force_mag"] == 15.0 and info["adversarial_reward"] == -reward
    env.step((0, np.array([0.0, 0.0], dtype=np.float32)))
    assert get_params(env)["length"] == 1.0
    env.reset()
    assert get_params(env)["length"] == 0.5 and get_params(env)["force_mag"] == 10.0  # defaults restored
    with pytest.raises(ValueError, match="adversary"):
        env.step((0, np.array([2.0, 0.0], dtype=np.float32)))


def test_probabilistic_action_robust_blends_the_actions():
    env = ProbabilisticActionRobust(gym.make("papergym/RobustPendulum-v0"), alpha=0.25)
    env.reset(seed=0)
    reference = gym.make("papergym/RobustPendulum-v0")
    reference.reset(seed=0)
    observation, reward, *_, info = env.step((np.array([1.0], np.float32), np.array([-1.0], np.float32)))
    expected, expected_reward, *_ = reference.step(np.array([0.5], np.float32))
    np.testing.assert_allclose(observation, expected)
    assert reward == expected_reward and info["adversarial_reward"] == -reward
    with pytest.raises(ValueError, match="alpha"):
        ProbabilisticActionRobust(gym.make("papergym/RobustPendulum-v0"), alpha=1.5)


class RRLSStyleCartPole(CartPoleEnv):
    """An environment that only has RRLS's set_params/get_params (no uncertainty set, not a papergym env)."""

    def set_params(self, length=None, force_mag=None):
        self.length = self.length if length is None else length
        self.force_mag = self.force_mag if force_mag is None else force_mag
        self.polemass_length = self.masspole * self.length

    def get_params(self):
        return {"length": self.length, "force_mag": self.force_mag}


def rrls_style_cartpole():
    return gym.wrappers.TimeLimit(RRLSStyleCartPole(), 200)


def test_an_environment_with_only_set_and_get_params_works_with_iwocs_and_the_grid():
    box = {"length": (0.25, 2.0), "force_mag": (3.0, 15.0)}
    with pytest.raises(ValueError, match="uncertainty"):
        IWOCS(None, rrls_style_cartpole)
    iwocs = IWOCS(None, rrls_style_cartpole, params_bound=box, value_episodes=2)
    specialist = CartPoleLQR.from_env(gym.make(CARTPOLE))
    iwocs.add_member({"length": 0.5, "force_mag": 10.0}, specialist, specialist.values)
    search = iwocs.worst_case(budget=4)
    corners = [dict(zip(box, values)) for values in ((0.25, 3.0), (0.25, 15.0), (2.0, 3.0), (2.0, 15.0))]
    assert search.evaluations == 5 and search.params in corners
    assert search.value < 200  # the nominal controller drops some corner's pole
    grid = evaluate_grid(iwocs, rrls_style_cartpole, box, points_per_dim=2, n_episodes=1)
    assert len(grid.points) == 4 and grid.worst_params == search.params and grid.worst_case < 200
