"""The MuJoCo uncertainty sets (papergym[mujoco]): construction, the parameters' effect, short rollouts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)

pytest.importorskip("mujoco")

from papergym.envs.robust.mujoco import MODELS
from papergym.wrappers.robust import get_params, set_params

NAMES = list(MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_sets_names_and_a_few_hundred_steps(name):
    env = gym.make(f"papergym/Robust{name}-v0")
    for key, bounds in MODELS[name].sets.items():
        box = gym.make(f"papergym/Robust{name}-v0", uncertainty_set=key).get_wrapper_attr("uncertainty_set")
        assert box.as_dict() == bounds and box.dim == int(key[0])
    observation, info = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    assert set(get_params(env)) <= set(info)
    for _ in range(300):
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert isinstance(reward, float) and np.all(np.isfinite(observation))
        if terminated or truncated:
            env.reset()


def test_the_parameters_reach_the_mujoco_model_and_follow_rrls_names():
    env = gym.make("papergym/RobustHopper-v0", torsomass=2.0)
    model = env.unwrapped._task.unwrapped.model
    assert model.body_mass[1] == 2.0 and get_params(env)["torsomass"] == 2.0
    assert get_params(env)["worldfriction"] == 0.7 == model.geom_friction[0, 0]  # RRLS's nominal friction
    set_params(env, worldfriction=2.5, thighmass=None)  # None keeps a parameter, as in RRLS
    assert model.geom_friction[0, 0] == 2.5 and get_params(env)["thighmass"] == pytest.approx(4.0578905)
    env.reset(seed=0, options={"thighmass": 1.0})
    assert model.body_mass[2] == 1.0
    cheetah = gym.make("papergym/RobustHalfCheetah-v0", worldfriction=1.5)
    assert np.all(cheetah.unwrapped._task.unwrapped.model.geom_friction[:, 0] == 1.5)


def _after_a_push(**params: float) -> np.ndarray:
    env = gym.make("papergym/RobustInvertedPendulum-v0", **params)
    env.reset(seed=0)
    for _ in range(5):
        observation, *_ = env.step(np.array([3.0], dtype=np.float32))
    return observation


def test_the_same_push_moves_a_heavier_cart_less_and_the_pole_mass_changes_the_motion():
    light, heavy = _after_a_push(cartmass=1.0)[0], _after_a_push(cartmass=11.0)[0]
    assert light > heavy > 0.0  # the cart's position after 0.2 s of the same force
    assert not np.allclose(_after_a_push(polemass=1.0), _after_a_push(polemass=31.0))


def test_seeded_resets_are_reproducible_and_the_env_pickles():
    import pickle

    env = gym.make("papergym/RobustWalker2d-v0", uncertainty_set="1d")
    first, _ = env.reset(seed=3)
    second, _ = env.reset(seed=3)
    np.testing.assert_array_equal(first, second)
    copy = pickle.loads(pickle.dumps(env.unwrapped))
    assert copy.get_params() == env.unwrapped.get_params()
    np.testing.assert_array_equal(copy._task.unwrapped.data.qpos, env.unwrapped._task.unwrapped.data.qpos)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="uncertainty_set"):
        gym.make("papergym/RobustInvertedPendulum-v0", uncertainty_set="3d")
    with pytest.raises(ValueError, match="torsomass"):
        gym.make("papergym/RobustAnt-v0", torsomass=-1.0)


def test_a_clear_error_names_the_extra_when_mujoco_is_missing(monkeypatch):
    import importlib.util

    from papergym.envs.robust import mujoco as module

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mujoco" else real(name, *a))
    with pytest.raises(ValueError, match=r"papergym\[mujoco\]"):
        module.RobustHopperEnv()
