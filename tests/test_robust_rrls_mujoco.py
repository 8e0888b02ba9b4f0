"""RRLS's own checks (its test folder), rewritten against our ids; parity with Gymnasium's v5 tasks.

Each RRLS test is rewritten as the same check on ``papergym/<RRLS id>`` (and, for the parameter tests, on
``papergym/Robust<Name>-v0`` too): parameters reach ``env.unwrapped.model`` on what ``gymnasium.make``
returns; adversarial, domain-randomisation and probabilistic action-robust ids run and apply what they
say; copies replay the same trajectory; every parameter of every set changes the dynamics, or is one
of the inert parameters the environments' docstrings document. Episodes are cut short
(``time_limit``) to keep the suite fast.
"""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest

import papergym  # noqa: F401  (registers the ids)

pytest.importorskip("mujoco")

from papergym.envs.robust.mujoco import MODELS, RARL_SETS, RRLS_NAMES, ForceMujocoEnv, make_rrls
from papergym.registration import RRLS_IDS

SHORT = {"time_limit": 25}
OURS = {rrls: ours for rrls, ours in RRLS_NAMES.items()}
RRLS_OF = {ours: rrls for rrls, ours in RRLS_NAMES.items()}
PLANAR = {"Hopper", "HalfCheetah", "Walker2d", "InvertedPendulum"}

# RRLS's per-environment tests: three parameters set at once, checked in the MuJoCo model and get_params.
CHANGES = {
    "hopper": ({"worldfriction": 3.0, "torsomass": 4.0, "thighmass": 5.0}, {"torsomass": 1, "thighmass": 2}),
    "halfcheetah": ({"worldfriction": 3.0, "torsomass": 4.0, "backthighmass": 5.0},
                    {"torsomass": 1, "backthighmass": 2}),
    "walker": ({"worldfriction": 3.0, "torsomass": 4.0, "thighmass": 5.0}, {"torsomass": 1, "thighmass": 2}),
    "ant": ({"torsomass": 3.0, "frontleftlegmass": 4.0, "frontrightlegmass": 5.0},
            {"torsomass": 1, "frontleftlegmass": 2, "frontrightlegmass": 5}),
    "humanoidstandup": ({"torsomass": 3.0, "leftthighmass": 4.0, "rightfootmass": 5.0},
                        {"torsomass": 1, "leftthighmass": 7, "rightfootmass": 6}),
    "invertedpendulum": ({"polemass": 3.0, "cartmass": 4.0}, {"cartmass": 1, "polemass": 2}),
}
FLOOR_FRICTION = {  # geom_friction[:, 0] after worldfriction = 3.0 (RRLS's expectations)
    "hopper": [3.0, 0.9, 0.9, 0.9, 2.0],
    "halfcheetah": [3.0] * 9,
    "walker": [3.0, 0.9, 0.9, 0.9, 1.9, 0.9, 0.9, 1.9],
}


@pytest.mark.parametrize("name", list(CHANGES))
@pytest.mark.parametrize("prefix", ["robust-{name}-v0", "Robust{Name}-v0"])
def test_set_params_on_what_make_returns_reaches_the_mujoco_model(name, prefix):
    env = gym.make("papergym/" + prefix.format(name=name, Name=OURS[name]))
    wanted, bodies = CHANGES[name]
    env.set_params(**wanted)  # on the made env itself, as RRLS users call it
    for param, body in bodies.items():
        assert env.unwrapped.model.body_mass[body] == wanted[param]
    if name in FLOOR_FRICTION:
        np.testing.assert_array_equal(env.get_wrapper_attr("model").geom_friction[:, 0], FLOOR_FRICTION[name])
    assert {key: value for key, value in env.get_params().items() if key in wanted} == wanted
    assert env.unwrapped.data.qpos.shape == (env.unwrapped.model.nq,)


def test_every_rrls_id_has_its_counterpart():
    assert len(RRLS_IDS) == 58 and all(env_id in gym.registry for env_id in RRLS_IDS)
    families = {key.split("-")[0] for key in (env_id.removeprefix("papergym/") for env_id in RRLS_IDS)}
    assert families == {"robust", "force", "probabilistic"}


def _episode(env: gym.Env, seed: int = 0):
    env.reset(seed=seed)
    env.action_space.seed(seed)
    while True:
        action = env.action_space.sample()
        *_, terminated, truncated, info = env.step(action)
        yield action, info
        if terminated or truncated:
            return


def _rrls_unnormalised(bounds: dict[str, tuple[float, float]], nature: np.ndarray) -> dict[str, float]:
    """RRLS's mapping of nature's action, written out for float32 scalars (its Box's dtype)."""
    return {name: low + ((value - (-1)) * (high - low)) / 2 for (name, (low, high)), value in zip(bounds.items(),
                                                                                                   nature)}


ADVERSARIAL = sorted(env_id for env_id in RRLS_IDS if "adversarial" in env_id)


@pytest.mark.parametrize("env_id", ADVERSARIAL)
def test_adversarial_ids_apply_natures_action_as_rrls(env_id):
    env = gym.make(env_id, **SHORT)
    bounds = env.get_wrapper_attr("params_bound")
    steps = 0
    for (_, nature), info in _episode(env):
        expected = _rrls_unnormalised(bounds, nature)
        params = env.get_params()
        assert {name: params[name] for name in expected} == expected  # to the last bit
        assert {name: info[name] for name in expected} == expected and "adversarial_reward" in info
        steps += 1
    assert 1 <= steps <= SHORT["time_limit"]
    env.reset()
    assert {name: env.get_params()[name] for name in bounds} == {name: env.unwrapped.get_params()[name]
                                                                  for name in bounds}


DOMAIN_RANDOMIZATION = sorted(env_id for env_id in RRLS_IDS if "domain-randomization" in env_id)


@pytest.mark.parametrize("env_id", DOMAIN_RANDOMIZATION)
def test_domain_randomization_ids_draw_inside_the_set_and_apply_it(env_id):
    env = gym.make(env_id, **SHORT)
    bounds = env.get_wrapper_attr("params_bound")
    for seed in (0, 1):
        info = list(_episode(env, seed))[-1][1]
        drawn = env.get_params()
        assert set(drawn) == set(bounds)  # RRLS: the drawn subset
        assert all(low <= drawn[name] <= high for name, (low, high) in bounds.items())
        assert {name: env.unwrapped.get_params()[name] for name in bounds} == drawn
        assert {name: info[name] for name in bounds} == drawn


PROBABILISTIC = sorted(env_id for env_id in RRLS_IDS if "probabilistic" in env_id)


@pytest.mark.parametrize("env_id", PROBABILISTIC)
def test_probabilistic_action_robust_ids_run_and_report_both_actions(env_id):
    env = gym.make(env_id, **SHORT)
    assert env.get_wrapper_attr("alpha") == 0.1
    for (agent, adversary), info in _episode(env):
        assert info["agent action"] is agent and info["adversarial action"] is adversary


def test_probabilistic_action_robust_applies_the_blend_in_float32():
    env, reference = gym.make("papergym/probabilistic-action-robust-hopper-v0"), gym.make("papergym/robust-hopper-v0")
    env.reset(seed=4)
    reference.reset(seed=4)
    agent, adversary = np.full(3, 0.3, np.float32), np.full(3, -0.9, np.float32)
    blended = np.float32(0.9) * agent + np.float32(0.1) * adversary
    assert blended.dtype == np.float32
    np.testing.assert_array_equal(env.step((agent, adversary))[0], reference.step(blended)[0])


COPIED = ["papergym/robust-ant-v0", "papergym/robust-walker-v0", "papergym/force-hopper-v0",
          "papergym/force-invertedpendulum-v0"]


@pytest.mark.parametrize("env_id", COPIED)
def test_a_deep_copy_replays_the_same_trajectory(env_id):
    env = gym.make(env_id, **SHORT)
    env.set_params(**{name: (low + high) / 2 for name, (low, high) in env.get_wrapper_attr("params_bound").items()})
    first, _ = env.reset(seed=0)
    twin = copy.deepcopy(env)
    again, _ = twin.reset(seed=0)
    np.testing.assert_array_equal(first, again)
    env.action_space.seed(0)
    for _ in range(SHORT["time_limit"]):
        action = env.action_space.sample()
        original, copied = env.step(action), twin.step(action)
        np.testing.assert_array_equal(original[0], copied[0])
        assert original[1:4] == copied[1:4]
        if original[2] or original[3]:
            break


def _trajectory(env, params: dict[str, float], steps: int = 20) -> np.ndarray:
    env.set_params(**params)
    env.reset(seed=0)
    states = []
    for _ in range(steps):  # RRLS's probe: full torque on every joint
        observation, _, terminated, *_ = env.step(env.action_space.high)
        states.append(observation)
        if terminated:
            break
    return np.concatenate(states)


def _inert(name: str, param: str, value: float, env) -> bool:
    """The documented inert values (see the environments' docstrings)."""
    if param == "worldfriction" and MODELS[name].friction == "floor" and not env.contact_friction:
        return value <= float(np.max(env.model.geom_friction[1:, 0]))  # at most the feet's own friction
    return isinstance(env, ForceMujocoEnv) and name in PLANAR and param.endswith("force_y")


def _set_ranges(env) -> dict[str, tuple[float, float]]:
    ranges: dict[str, tuple[float, float]] = {}
    for bounds in env._parameters()[2].values():
        for param, (low, high) in bounds.items():
            old = ranges.get(param, (low, high))
            ranges[param] = (min(old[0], low), max(old[1], high))
    return ranges


CASES = [(name, family, False) for name in MODELS for family in ("Robust", "Force")]
CASES += [(name, "Robust", True) for name in ("Hopper", "Walker2d")]


@pytest.mark.parametrize(("name", "family", "contact"), CASES)
def test_every_parameter_changes_the_dynamics_over_its_range_or_is_documented_inert(name, family, contact):
    env = gym.make(f"papergym/{family}{name}-v0" if family == "Robust" else f"papergym/force-{RRLS_OF[name]}-v0",
                   **({"contact_friction": True} if contact else {}))
    env = env.unwrapped
    nominal = env.get_params()
    for param, (low, high) in _set_ranges(env).items():
        values = np.linspace(low, high, 5).tolist()
        trajectories = [_trajectory(env, {**nominal, param: value}) for value in values]
        acting = [trajectory for value, trajectory in zip(values, trajectories) if not _inert(name, param, value, env)]
        inert = [trajectory for value, trajectory in zip(values, trajectories) if _inert(name, param, value, env)]
        for index, first in enumerate(acting):  # every acting value gives its own dynamics
            for second in acting[index + 1:] + inert[:1]:
                assert first.shape != second.shape or not np.array_equal(first, second), (param, values)
        for other in inert[1:]:  # the inert values all give one trajectory
            np.testing.assert_array_equal(inert[0], other)
    if family == "Force":
        assert set(env.uncertainty_set.names) == {f"{body}force_{axis}" for body in RARL_SETS[name]
                                                  for axis in "xy"}
    env.set_params(**nominal)


def test_friction_inert_range_is_as_documented():
    hopper = make_rrls("hopper")
    inert = [value for value in np.round(np.arange(0.1, 3.01, 0.3), 1)
             if np.array_equal(_trajectory(hopper, {"worldfriction": value}),
                               _trajectory(hopper, {"worldfriction": 0.1}))]
    assert inert == [0.1, 0.4, 0.7, 1.0, 1.3, 1.6, 1.9]  # up to the foot's 2.0; 2.2, 2.5 and 2.8 act


@pytest.mark.parametrize("name", list(MODELS))
def test_same_seed_and_actions_give_gymnasium_v5_exactly(name):
    ours = gym.make(f"papergym/Robust{name}-v0")
    reference = gym.make(f"{name}-v5").unwrapped
    if name == "Hopper":
        ours.set_params(worldfriction=1.0)  # RRLS's nominal 0.7; Gymnasium's floor has 1.0
    for field in ("body_mass", "body_inertia", "geom_friction", "dof_armature"):
        np.testing.assert_array_equal(getattr(ours.unwrapped.model, field), getattr(reference.model, field))
    first, _ = ours.reset(seed=42)
    expected, _ = reference.reset(seed=42)
    np.testing.assert_array_equal(first, expected)
    actions = np.random.default_rng(0).uniform(reference.action_space.low, reference.action_space.high,
                                                (60, *reference.action_space.shape)).astype(np.float32)
    for action in actions:
        observation, reward, terminated, _, _ = ours.step(action)
        expected, expected_reward, expected_terminated, _, _ = reference.step(action)
        np.testing.assert_array_equal(observation, expected)
        assert reward == expected_reward and terminated == expected_terminated
        if terminated:
            break


def test_make_returns_the_environment_itself_and_it_truncates_its_episodes():
    env = gym.make("papergym/RobustInvertedPendulum-v0", time_limit=3)
    assert env.get_params()["cartmass"] == pytest.approx(10.47197551)  # the model's nominal masses
    assert env.spec.max_episode_steps is None  # the limit is the environment's own
    env.reset(seed=0)
    assert [env.step(np.zeros(1, np.float32))[3] for _ in range(3)] == [False, False, True]
    rrls = gym.make("papergym/robust-invertedpendulum-v0")
    assert rrls.get_params() == {"cartmass": env.get_params()["polemass"], "polemass": env.get_params()["cartmass"]}
    with pytest.raises(ValueError, match="time_limit"):
        gym.make("papergym/RobustHopper-v0", time_limit=0)
    with pytest.raises(ValueError, match="contact_friction"):
        gym.make("papergym/RobustAnt-v0", contact_friction=True)


def test_forces_persist_across_resets_and_reach_xfrc_applied():
    env = gym.make("papergym/force-walker-v0")
    env.set_params(leftfootforce_x=2.5)
    env.reset(seed=0)
    assert env.unwrapped.data.xfrc_applied[7, 0] == 2.5 and env.get_params()["leftfootforce_x"] == 2.5
    env.set_params(legforce_z=-1.0)
    assert env.get_params()["leftfootforce_x"] == 2.5  # a force not given keeps its value
    assert set(env.get_params()) == set(MODELS["Walker2d"].force_names())


def test_half_cheetah_builds_without_the_deprecated_settotalmass(capfd):
    make_rrls("halfcheetah")
    assert "settotalmass" not in capfd.readouterr().err
