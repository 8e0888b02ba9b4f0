"""Property-based fuzzing of every registered environment: bad input gives a clear error, never NaN.

For every id (read from the registry, so new environments are covered when they are registered), constructor
arguments are drawn around and outside their ranges, and actions of every wrong type, shape and value. Each
draw must either raise a ``ValueError``/``TypeError`` (or Gymnasium's own error) whose message names the
argument, or give finite observations inside the observation space and finite rewards.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papergym.registration import ENVIRONMENTS

ENV_IDS = [entry.id for entry in ENVIRONMENTS]
EXPECTED_ERRORS = (ValueError, TypeError, gym.error.Error)
STEPS = 15
FUZZ_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
#: Values that are wrong for most numeric arguments: none of them may get through as NaN or a crash.
WILD_VALUES = [0, -1, 1e-320, 1e-200, 1e300, -1e300, 10**400, float("nan"), float("inf"), -float("inf"),
               1 + 0j, "1.0", True, [1.0, 2.0], object()]


def _env_class(env_id: str) -> type:
    module, name = gym.spec(env_id).entry_point.split(":")
    return getattr(importlib.import_module(module), name)


def _fuzzed_parameters(env_id: str) -> dict[str, list]:
    """Constructor arguments with a numeric or None default, and those the class's ``PARAMETER_RANGES`` or
    ``MODEL_PARAMETER_RANGES`` (numeric arguments taken as keywords) declares, with the values to try."""
    cls = _env_class(env_id)
    ranges = getattr(cls, "PARAMETER_RANGES", {}) | getattr(cls, "MODEL_PARAMETER_RANGES", {})
    parameters = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        default = parameter.default
        if name in ("self", "render_mode") or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if default is not None and (isinstance(default, bool) or not isinstance(default, (int, float))):
            continue
        near = []
        if isinstance(default, (int, float)):
            near = [default, 2 * default, default / 2, -default]
        if name in ranges:
            low, high = ranges[name]
            near += [low, high, low * 0.999, high * 1.001, low / 10, high * 10]
        parameters[name] = near + WILD_VALUES
    for name, (low, high) in ranges.items():  # numeric arguments taken as **keywords (e.g. a preset's model)
        parameters.setdefault(name, [low, high, low * 0.999, high * 1.001, low / 10, high * 10, *WILD_VALUES])
    return parameters


def _names_an_argument(error: BaseException, names) -> bool:
    message = str(error)
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", message) for name in names)


def _check_rollout(env: gym.Env, seed: int) -> None:
    observation, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    assert observation in env.observation_space and np.all(np.isfinite(observation))
    for _ in range(STEPS):
        observation, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert observation in env.observation_space, observation
        assert np.all(np.isfinite(observation)) and math.isfinite(reward)
        if terminated or truncated:
            env.reset()


@st.composite
def _kwargs(draw, env_id: str) -> dict:
    parameters = _fuzzed_parameters(env_id)
    names = draw(st.lists(st.sampled_from(sorted(parameters)), min_size=1, max_size=2, unique=True))
    return {name: draw(st.one_of(st.sampled_from(parameters[name]), st.floats())) for name in names}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzzed_constructor_arguments_fail_clearly_or_stay_finite(env_id):
    assert _fuzzed_parameters(env_id), f"{env_id} has no numeric constructor argument to fuzz"

    @FUZZ_SETTINGS
    @given(kwargs=_kwargs(env_id), seed=st.integers(0, 2**16))
    def check(kwargs, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                env = gym.make(env_id, disable_env_checker=True, **kwargs)
            except EXPECTED_ERRORS as error:
                assert _names_an_argument(error, kwargs), f"{kwargs}: {error}"
                return
            _check_rollout(env, seed)

    check()


@pytest.mark.parametrize("env_id", [e.id for e in ENVIRONMENTS if e.vector_entry_point is not None])
def test_fuzzed_vector_env_arguments_fail_clearly_or_stay_finite(env_id):
    """The native vector env takes the single env's arguments: the same rule holds for it."""

    @FUZZ_SETTINGS
    @given(kwargs=_kwargs(env_id), seed=st.integers(0, 2**16))
    def check(kwargs, seed):
        try:
            envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)
        except EXPECTED_ERRORS as error:
            assert _names_an_argument(error, kwargs), f"{kwargs}: {error}"
            return
        observations, _ = envs.reset(seed=seed)
        envs.action_space.seed(seed)
        for _ in range(STEPS):
            observations, rewards, *_ = envs.step(envs.action_space.sample())
            assert observations in envs.observation_space
            assert np.all(np.isfinite(observations)) and np.all(np.isfinite(rewards))

    check()


@pytest.mark.parametrize("env_id", [e.id for e in ENVIRONMENTS if getattr(_env_class(e.id), "PARAMETER_RANGES", {})])
def test_fuzzed_reset_options_and_set_params_fail_clearly_or_stay_finite(env_id):
    ranges = _env_class(env_id).PARAMETER_RANGES

    @FUZZ_SETTINGS
    @given(name=st.sampled_from(sorted(ranges)), data=st.data(), seed=st.integers(0, 2**16))
    def check(name, data, seed):
        value = data.draw(st.one_of(st.sampled_from(_fuzzed_parameters(env_id).get(name, WILD_VALUES)), st.floats()))
        env = gym.make(env_id, disable_env_checker=True)
        for apply in (lambda: env.reset(seed=seed, options={name: value}),
                      lambda: env.unwrapped.set_params(**{name: value})):
            try:
                apply()
            except EXPECTED_ERRORS as error:
                assert _names_an_argument(error, [name]), f"{name}={value!r}: {error}"
                low, high = ranges[name]
                assert f"[{low:g}, {high:g}]" in str(error), f"the range is not named: {error}"
                continue
            _check_rollout(env, seed)

    check()


def _quiet_array(values: list, dtype) -> np.ndarray:
    with np.errstate(over="ignore"):  # float16 overflows to inf: one of the cases wanted
        return np.array(values, dtype=dtype)


def _wrong_actions(space: gym.Space):
    shape = space.shape or ()
    generic = st.sampled_from([None, "0", "0.5", b"1", 1 + 0j, np.complex128(1), True, np.bool_(False), object(),
                               float("nan"), float("inf"), -float("inf"), 10**400, 1e300, -1e300, [], [[0]],
                               {"a": 1}, np.array(["a"]), np.ones(shape, dtype=bool), np.zeros((2, 3, 4)),
                               np.full(shape, np.nan), np.full(shape, np.inf), np.zeros(shape, dtype=np.complex64)])
    numeric = st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.floats(width=32))
    arrays = st.builds(_quiet_array,
                       st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=3),
                       st.sampled_from([np.float64, np.float32, np.float16]))
    return st.one_of(generic, numeric, arrays)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_fuzzed_actions_fail_clearly_or_stay_finite(env_id):
    env = gym.make(env_id, disable_env_checker=True).unwrapped

    @FUZZ_SETTINGS
    @given(action=_wrong_actions(env.action_space))
    def check(action):
        env.reset(seed=0)
        try:
            observation, reward, *_ = env.step(action)
        except EXPECTED_ERRORS as error:
            assert "action" in str(error), f"{action!r}: {error}"
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Box.contains warns about casting; the cast overflows for 1e300
            assert action in env.action_space or _is_castable_into(env.action_space, action), action
        assert observation in env.observation_space and np.all(np.isfinite(observation)) and math.isfinite(reward)

    check()


def _is_castable_into(space: gym.Space, action) -> bool:
    """A real number array that is in a Box once cast to its dtype (float64 for float32, a list...)."""
    try:
        array = np.asarray(action)
    except (TypeError, ValueError):
        return False
    return (isinstance(space, gym.spaces.Box) and array.dtype.kind in "iuf"
            and array.size == int(np.prod(space.shape))
            and array.astype(space.dtype).reshape(space.shape) in space)
