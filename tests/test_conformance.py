"""Conformance of every registered papergym environment (the model is Minigrid's tests/test_envs.py).

Parametrised over the registry: an environment is covered the moment it is registered. What cannot be
derived from the registry (invalid constructor arguments, intended warnings) is in conformance_cases.py.
"""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from conformance_cases import ALLOWED_WARNINGS, INVALID_KWARGS
from gymnasium import spaces
from gymnasium.error import DependencyNotInstalled, ResetNeeded
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import papergym
from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS

ENV_IDS = [entry.id for entry in ENVIRONMENTS]
VECTOR_IDS = [entry.id for entry in ENVIRONMENTS if entry.vector_entry_point is not None]
MULTI_AGENT_IDS = [entry.id for entry in MULTI_AGENT_ENVIRONMENTS]
ROLLOUT_STEPS = 50


def _unexpected_warnings(env_id: str, caught: list[warnings.WarningMessage]) -> list[str]:
    allowed = ALLOWED_WARNINGS.get(env_id, {})
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return [m for m in messages if not any(fragment in m for fragment in allowed)]


def _rollout(env: gym.Env, seed: int, steps: int = ROLLOUT_STEPS) -> list:
    """Observations, rewards and flags of ``steps`` steps with actions drawn from a seeded space."""
    observation, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    trace = [observation]
    for _ in range(steps):
        observation, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        trace.append((observation, reward, terminated, truncated))
        if terminated or truncated:
            observation, _ = env.reset()
            trace.append(observation)
    return trace


def _flatten(trace) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(item, dtype=np.float64))
                           for step in trace for item in (step if isinstance(step, tuple) else (step,))])


def test_registry_is_idempotent_and_namespaced():
    papergym.register_all()
    papergym.register_all()
    for env_id in ENV_IDS:
        assert env_id.startswith("papergym/")
        assert gym.spec(env_id).entry_point
    if MULTI_AGENT_IDS:
        import pettingzoo

        for env_id in MULTI_AGENT_IDS:
            assert env_id.startswith("papergym/")
            assert pettingzoo.spec("parallel", env_id).entry_point


def test_make_with_module_prefix_imports_papergym():
    # A fresh interpreter: this test module has already imported papergym.
    code = 'import gymnasium; print(gymnasium.make("papergym:papergym/LQG-v0").spec.id)'
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "papergym/LQG-v0"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make(env_id)
        gymnasium_check_env(env.unwrapped, skip_render_check=False)
    assert _unexpected_warnings(env_id, caught) == []


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make(env_id), warn=True)
    assert _unexpected_warnings(env_id, caught) == []


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_returns_python_types_and_plain_info(env_id):
    env = gym.make(env_id)
    observation, info = env.reset(seed=0)
    assert observation in env.observation_space
    _, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
    for key, value in info.items():
        assert isinstance(value, (int, float, bool, str, np.ndarray, np.number, np.bool_)), (key, type(value))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rollout_is_deterministic_for_a_seed(env_id):
    first = _flatten(_rollout(gym.make(env_id), seed=1))
    again = _flatten(_rollout(gym.make(env_id), seed=1))
    other = _flatten(_rollout(gym.make(env_id), seed=2))
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_mid_episode_continues_identically(env_id):
    env = gym.make(env_id)
    env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(5):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    clone = pickle.loads(pickle.dumps(env))
    actions = [env.action_space.sample() for _ in range(10)]
    for action in actions:
        original, copied = env.step(action), clone.step(action)
        np.testing.assert_array_equal(_flatten([original[:4]]), _flatten([copied[:4]]))
        if original[2] or original[3]:
            break


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_max_episode_steps_truncates(env_id):
    env = gym.make(env_id, max_episode_steps=7)
    env.reset(seed=0)
    for step in range(1, 8):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated:
            return
        assert truncated == (step == 7)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_wrapper_modes(env_id, mode):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode)
    try:
        observations, _ = envs.reset(seed=0)
        assert observations in envs.observation_space
        for _ in range(3):
            observations, rewards, *_ = envs.step(envs.action_space.sample())
        assert observations in envs.observation_space and rewards.shape == (2,)
    finally:
        envs.close()


def _vector_rollout(env_id: str, mode: AutoresetMode, seed: int, steps: int = 12):
    envs = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point",
                        max_episode_steps=5, autoreset_mode=mode)
    envs.action_space.seed(seed)
    observations, _ = envs.reset(seed=seed)
    trace = [(observations, None, None, None, {})]
    for _ in range(steps):
        trace.append(envs.step(envs.action_space.sample()))
    return envs, trace


@pytest.mark.parametrize("env_id", VECTOR_IDS)
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_entry_point_is_deterministic_and_in_space(env_id, mode):
    envs, trace = _vector_rollout(env_id, mode, seed=5)
    _, again = _vector_rollout(env_id, mode, seed=5)
    assert envs.metadata["autoreset_mode"] == mode
    for step, repeat in zip(trace, again):
        assert step[0] in envs.observation_space
        np.testing.assert_array_equal(step[0], repeat[0])
        if step[1] is not None:
            assert step[1].dtype == np.float64 and step[2].dtype == bool and step[3].dtype == bool
            np.testing.assert_array_equal(step[1], repeat[1])


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_next_step_autoreset(env_id):
    _, trace = _vector_rollout(env_id, AutoresetMode.NEXT_STEP, seed=0)
    for index in range(1, len(trace) - 1):
        ended = trace[index][2] | trace[index][3]
        following = trace[index + 1]
        # The step after an episode ends is a reset: reward 0, no termination or truncation.
        assert np.all(following[1][ended] == 0.0)
        assert not np.any(following[2][ended] | following[3][ended])
    assert np.any(trace[5][3] | trace[5][2]), "max_episode_steps=5 must end episodes by step 5"


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_same_step_autoreset(env_id):
    envs, trace = _vector_rollout(env_id, AutoresetMode.SAME_STEP, seed=0)
    for observations, _, terminated, truncated, info in trace[1:]:
        ended = terminated | truncated
        if ended.any():
            assert np.array_equal(info["_final_obs"], ended)
            final = np.asarray(info["final_obs"])
            assert all(final[i] in envs.single_observation_space for i in np.flatnonzero(ended))
        assert observations in envs.observation_space


def _frame_after_steps(env_id: str, render_mode: str, steps: int = 3):
    env = gym.make(env_id, render_mode=render_mode)
    try:
        env.reset(seed=0)
        env.action_space.seed(0)
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        return env.render()
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_modes_return_the_documented_types_and_shapes(env_id):
    modes = gym.make(env_id).metadata.get("render_modes", [])
    assert {"ansi", "rgb_array"} <= set(modes), f"{env_id} must offer ansi and rgb_array, has {modes}"
    for render_mode in set(modes) - {"human"}:  # "human" opens a window
        try:
            frame = _frame_after_steps(env_id, render_mode)
        except DependencyNotInstalled as error:  # an optional drawing library: the error says how to get it
            assert "papergym[render]" in str(error)
            continue
        if render_mode == "ansi":
            assert isinstance(frame, str) and frame
        else:
            assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
            assert frame.ndim == 3 and frame.shape[2] == 3 and min(frame.shape[:2]) >= 64
            assert frame.min() < frame.max(), "an rgb_array frame must draw something"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_record_video_writes_a_file(env_id, tmp_path):
    pytest.importorskip("moviepy", reason="RecordVideo needs moviepy (a video encoder)")
    from gymnasium.wrappers import RecordVideo
    from moviepy import VideoFileClip

    env = RecordVideo(gym.make(env_id, render_mode="rgb_array"), str(tmp_path / "videos"),
                      episode_trigger=lambda _: True, disable_logger=True)
    env.reset(seed=0)
    env.action_space.seed(0)
    steps = 0
    while steps < 5:  # at most 5 steps, never past the episode's end (DTRBandit's lasts 2)
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            break
    env.close()
    [video] = (tmp_path / "videos").glob("*.mp4")
    with VideoFileClip(str(video)) as clip:
        frames = list(clip.iter_frames())
    # the reset frame and one per step; the decoder may drop the last of a clip this short
    assert steps <= len(frames) <= steps + 1
    assert frames[0].shape == _frame_after_steps(env_id, "rgb_array").shape


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_invalid_constructor_kwargs_name_the_argument(env_id):
    cases = INVALID_KWARGS.get(env_id)
    assert cases, f"add invalid-kwargs cases for {env_id} to tests/conformance_cases.py"
    for kwargs, argument in cases:
        with warnings.catch_warnings(), pytest.raises(ValueError, match=argument):
            warnings.simplefilter("ignore")  # gymnasium warns about an unknown render_mode before we raise
            gym.make(env_id, **kwargs)


def _invalid_actions(space: spaces.Space) -> list:
    if isinstance(space, spaces.Discrete):
        return [int(space.start + space.n), int(space.start) - 1, float("nan"), 0.5]
    if isinstance(space, spaces.Box):
        too_high = np.where(np.isfinite(space.high), space.high + 1.0, 0.0).astype(space.dtype)
        return [too_high, np.full(space.shape, np.nan, dtype=space.dtype),
                np.full(space.shape, np.inf, dtype=space.dtype)]
    if isinstance(space, spaces.MultiDiscrete):
        return [space.nvec + space.start, np.full(space.shape, -1) + space.start]
    raise AssertionError(f"no invalid actions defined for {type(space).__name__}")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_invalid_actions_raise_value_error(env_id):
    env = gym.make(env_id, disable_env_checker=True)
    env.reset(seed=0)
    for action in _invalid_actions(env.action_space):
        if isinstance(action, np.ndarray) and action in env.action_space:
            continue  # an unbounded Box has no out-of-range value
        with pytest.raises(ValueError, match="action"):
            env.step(action)


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_invalid_actions_raise_value_error(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    for action in _invalid_actions(envs.single_action_space):
        batch = np.stack([np.asarray(action)] * 2)
        with pytest.raises(ValueError, match="action"):
            envs.step(batch)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("vec_env", ["dummy", "subproc"])
def test_sb3_make_vec_env_trains_ppo(env_id, vec_env):
    """SB3's usual entry point (it asks for render_mode="rgb_array") trains PPO for a few hundred steps."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    options = {"vec_env_cls": DummyVecEnv} if vec_env == "dummy" else {
        "vec_env_cls": SubprocVecEnv, "vec_env_kwargs": {"start_method": "fork"}}
    envs = make_vec_env(env_id, n_envs=2, seed=0, **options)
    try:
        model = PPO("MlpPolicy", envs, n_steps=128, batch_size=64, n_epochs=1, seed=0)
        model.learn(total_timesteps=256)
        assert model.num_timesteps == 256
        frames = envs.get_images()
        assert len(frames) == 2 and all(f.ndim == 3 and f.shape[2] == 3 for f in frames)
        action, _ = model.predict(envs.reset(), deterministic=True)
        assert action.shape[0] == 2
    finally:
        envs.close()


# --- lifecycle ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_before_reset_is_a_clear_error(env_id):
    env = gym.make(env_id, disable_env_checker=True).unwrapped  # no OrderEnforcing wrapper in the way
    with pytest.raises(ResetNeeded, match="reset"):
        env.step(env.action_space.sample())


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_step_before_reset_is_a_clear_error(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ResetNeeded, match="reset"):
        envs.step(envs.action_space.sample())


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_disabled_autoreset_refuses_an_ended_env_until_it_is_reset(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", max_episode_steps=2,
                        autoreset_mode=AutoresetMode.DISABLED)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    ended = np.zeros(2, dtype=bool)
    for _ in range(2):
        _, _, terminated, truncated, _ = envs.step(envs.action_space.sample())
        ended |= terminated | truncated
        if ended.any():
            break
    assert ended.any()
    with pytest.raises(ResetNeeded, match="reset_mask"):
        envs.step(envs.action_space.sample())
    envs.reset(options={"reset_mask": ended})
    envs.step(envs.action_space.sample())


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_vector_autoreset_step_carries_only_the_reset_info(env_id):
    _, trace = _vector_rollout(env_id, AutoresetMode.NEXT_STEP, seed=0)
    checked = 0
    for previous, current in itertools.pairwise(trace[1:]):
        resetting = previous[2] | previous[3]
        if not resetting.any():
            continue
        info = current[4]
        for key, value in info.items():
            if key.startswith("_"):
                continue
            assert not np.any(info[f"_{key}"][resetting]), f"info[{key!r}] is marked valid on a reset row"
            assert np.all(np.asarray(value)[resetting] == 0), f"info[{key!r}] keeps a stale value on a reset row"
        checked += 1
    assert checked > 0


# --- PettingZoo ------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", MULTI_AGENT_IDS)
def test_pettingzoo_parallel_api(env_id):
    import pettingzoo
    from pettingzoo.test import parallel_api_test

    parallel_api_test(pettingzoo.make("parallel", env_id), num_cycles=50)


def _parallel_rollout(env_id: str, seed: int, steps: int = ROLLOUT_STEPS) -> list:
    """Observations, rewards and flags of every agent over ``steps`` steps with seeded random actions."""
    import pettingzoo

    env = pettingzoo.make("parallel", env_id)
    observations, _ = env.reset(seed=seed)
    # A stable seed per agent (str hashes change between interpreters).
    for index, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed * 1000 + index)
    trace = [observations]
    for _ in range(steps):
        if not env.agents:
            observations, _ = env.reset()
            trace.append(observations)
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        trace.append(env.step(actions)[:4])
    return trace


def _flatten_parallel(trace: list) -> np.ndarray:
    """Every number of a parallel-env trace, agents in sorted order."""
    values = []
    for item in trace:
        for per_agent in (item if isinstance(item, tuple) else (item,)):
            for agent in sorted(per_agent):
                values.append(np.ravel(np.asarray(per_agent[agent], dtype=np.float64)))
    return np.concatenate(values)


@pytest.mark.parametrize("env_id", MULTI_AGENT_IDS)
def test_pettingzoo_rollout_is_deterministic(env_id):
    first = _flatten_parallel(_parallel_rollout(env_id, seed=1))
    again = _flatten_parallel(_parallel_rollout(env_id, seed=1))
    other = _flatten_parallel(_parallel_rollout(env_id, seed=2))
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)


@pytest.mark.parametrize("env_id", MULTI_AGENT_IDS)
def test_pettingzoo_step_returns_python_types_and_plain_info(env_id):
    import pettingzoo

    env = pettingzoo.make("parallel", env_id)
    observations, infos = env.reset(seed=0)
    assert set(observations) == set(infos) == set(env.agents) == set(env.possible_agents)
    for agent, observation in observations.items():
        assert observation in env.observation_space(agent)
    results = env.step({agent: env.action_space(agent).sample() for agent in env.agents})
    observations, rewards, terminations, truncations, infos = results
    for agent in rewards:
        assert observations[agent] in env.observation_space(agent)
        assert type(rewards[agent]) is float and np.isfinite(rewards[agent])
        assert type(terminations[agent]) is bool and type(truncations[agent]) is bool
        for key, value in infos[agent].items():
            assert isinstance(value, (int, float, bool, str, np.ndarray, np.number, np.bool_)), (key, type(value))


@pytest.mark.parametrize("env_id", MULTI_AGENT_IDS)
def test_pettingzoo_pickle_mid_episode_continues_identically(env_id):
    import pettingzoo

    env = pettingzoo.make("parallel", env_id)
    env.reset(seed=3)
    rng = np.random.default_rng(3)

    def actions(agents):
        return {agent: int(rng.integers(env.action_space(agent).n)) for agent in agents}

    for _ in range(5):
        env.step(actions(env.agents))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(10):
        if not env.agents:
            break
        chosen = actions(env.agents)
        original, copied = env.step(chosen), clone.step(chosen)
        np.testing.assert_array_equal(_flatten_parallel([original[:4]]), _flatten_parallel([copied[:4]]))


@pytest.mark.parametrize("env_id", MULTI_AGENT_IDS)
def test_pettingzoo_invalid_constructor_kwargs_name_the_argument(env_id):
    import pettingzoo

    cases = INVALID_KWARGS.get(env_id)
    assert cases, f"add invalid-kwargs cases for {env_id} to tests/conformance_cases.py"
    for kwargs, argument in cases:
        with pytest.raises(ValueError, match=argument):
            pettingzoo.make("parallel", env_id, **kwargs)


@pytest.mark.parametrize("env_id", MULTI_AGENT_IDS)
def test_pettingzoo_invalid_actions_raise_value_error(env_id):
    import pettingzoo

    env = pettingzoo.make("parallel", env_id)
    with pytest.raises(ValueError, match="reset"):
        env.step({agent: env.action_space(agent).sample() for agent in env.possible_agents})
    env.reset(seed=0)
    agent = env.agents[0]
    valid = {other: env.action_space(other).sample() for other in env.agents}
    for action in _invalid_actions(env.action_space(agent)):
        with pytest.raises(ValueError, match="action"):
            env.step({**valid, agent: action})


@pytest.mark.parametrize("env_id", MULTI_AGENT_IDS)
def test_pettingzoo_render_modes(env_id):
    import pettingzoo

    for render_mode in pettingzoo.make("parallel", env_id).metadata.get("render_modes", []):
        env = pettingzoo.make("parallel", env_id, render_mode=render_mode)
        env.reset(seed=0)
        env.step({agent: env.action_space(agent).sample() for agent in env.agents})
        frame = env.render()
        if render_mode == "ansi":
            assert isinstance(frame, str) and frame
        elif render_mode == "rgb_array":
            assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
        env.close()
