"""Robust-RL wrappers (fixed model, domain randomisation, dynamic adversary)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)
from papergym.agents.lqg import LQROptimal
from papergym.core.agent import BaseAgent
from papergym.wrappers.robust import DomainRandomization, EmbeddedAdversary, FixedParams


def _nominal_lqr(env_id: str = "papergym/RobustLQG-v0") -> LQROptimal:
    """A fixed linear policy: the Riccati gain of the nominal model, whatever model it then acts on."""
    return LQROptimal.from_env(gym.make(env_id))


def _episode_params(env: gym.Env, seed: int, episodes: int = 4) -> list[dict]:
    drawn = [env.reset(seed=seed)[1]]
    drawn += [env.reset()[1] for _ in range(episodes - 1)]
    return [{name: info[name] for name in env.unwrapped.uncertainty_set.names} for info in drawn]


def test_fixed_params_applies_its_model_at_every_reset():
    env = FixedParams(gym.make("papergym/RobustCartPole-v0"), {"masspole": 0.4, "length": 0.3})
    env.unwrapped.set_params(masspole=0.05)
    _, info = env.reset(seed=0)
    assert info["masspole"] == 0.4 and info["length"] == 0.3 and env.unwrapped.total_mass == pytest.approx(1.4)
    with pytest.raises(ValueError, match="masspole"):
        FixedParams(gym.make("papergym/RobustCartPole-v0"), {"masspole": -1.0})
    with pytest.raises(ValueError, match="parametric"):
        FixedParams(gym.make("CartPole-v1"), {"masspole": 0.2})


def test_domain_randomization_is_reproducible_and_ignores_the_global_generator():
    box = gym.make("papergym/RobustPendulum-v0").unwrapped.uncertainty_set
    saved = np.random.get_state()  # noqa: NPY002 (the test perturbs numpy's global generator on purpose)
    np.random.seed(1)  # noqa: NPY002
    first = _episode_params(DomainRandomization(gym.make("papergym/RobustPendulum-v0")), seed=7)
    np.random.seed(2)  # noqa: NPY002
    again = _episode_params(DomainRandomization(gym.make("papergym/RobustPendulum-v0")), seed=7)
    np.random.set_state(saved)  # noqa: NPY002
    other = _episode_params(DomainRandomization(gym.make("papergym/RobustPendulum-v0")), seed=8)
    assert first == again and first != other
    assert len({tuple(p.values()) for p in first}) == len(first)  # a new model every episode
    assert all(box.contains(params) for params in first + other)


def test_domain_randomization_initial_states_are_seeded_too():
    def observations(seed):
        env = DomainRandomization(gym.make("papergym/RobustCartPole-v0"))
        return [env.reset(seed=seed)[0], env.reset()[0]]

    np.testing.assert_array_equal(np.stack(observations(3)), np.stack(observations(3)))
    assert not np.array_equal(np.stack(observations(3)), np.stack(observations(4)))


def test_domain_randomization_over_a_subset_keeps_the_other_parameters():
    env = DomainRandomization(gym.make("papergym/RobustCartPole-v0"), {"masscart": (0.5, 2.0)})
    for params in _episode_params(env, seed=0):
        assert 0.5 <= params["masscart"] <= 2.0
    assert env.unwrapped.get_params()["masspole"] == 0.1
    with pytest.raises(ValueError, match="unknown parameters"):
        DomainRandomization(gym.make("papergym/RobustCartPole-v0"), {"gravity": (9.0, 10.0)})


def test_dynamic_adversary_changes_the_model_every_step_reproducibly():
    def trace(seed):
        env = EmbeddedAdversary(gym.make("papergym/RobustLQG-v0"))
        env.reset(seed=seed)
        return [env.step(np.array([0.1], dtype=np.float32))[4] for _ in range(5)]

    first, again, other = trace(0), trace(0), trace(1)
    assert first == again and first != other
    scales = [info["a_scale"] for info in first]
    assert len(set(scales)) == 5 and all(0.8 <= value <= 1.2 for value in scales)


def test_dynamic_adversary_maps_an_agents_actions_onto_the_box():
    class PushToUpperBound(BaseAgent):
        def act_batch(self, observations, deterministic=False):
            return np.ones((len(observations), 2), dtype=np.float32)

    env = gym.make("papergym/RobustLQG-v0")
    adversary = PushToUpperBound(env.observation_space, gym.spaces.Box(-1.0, 1.0, (2,)))
    wrapped = EmbeddedAdversary(env, adversary)
    wrapped.reset(seed=0)
    info = wrapped.step(np.array([0.0], dtype=np.float32))[4]
    assert info["a_scale"] == 1.2 and info["b_scale"] == 1.5


def test_dynamic_adversary_is_a_deprecated_name_of_embedded_adversary():
    from papergym.wrappers.robust import DynamicAdversarial, DynamicAdversary

    with pytest.warns(DeprecationWarning, match="EmbeddedAdversary"):
        wrapped = DynamicAdversary(gym.make("papergym/RobustLQG-v0"))
    assert isinstance(wrapped, EmbeddedAdversary) and not isinstance(wrapped, DynamicAdversarial)
    assert wrapped.action_space == gym.make("papergym/RobustLQG-v0").action_space
