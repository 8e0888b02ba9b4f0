"""The shared machinery: validation, the agent protocol, rollouts, statistics, the vector base, SB3 adapter."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from stable_baselines3.common.evaluation import evaluate_policy

import papergym  # noqa: F401
from papergym.agents import AGENTS, LQROptimal
from papergym.core import RandomAgent, evaluate, summarize
from papergym.core.validation import (
    require_choice,
    require_int,
    require_matrix,
    require_positive,
    validated_action,
)
from papergym.envs.lqg import LQGVectorEnv
from papergym.registration import env_ids


@pytest.mark.parametrize("call, fragment", [
    (lambda: require_positive("rate", 0.0), "rate must be > 0"),
    (lambda: require_positive("rate", float("nan")), "rate must be a finite"),
    (lambda: require_int("horizon", 2.5), "horizon must be an integer"),
    (lambda: require_int("horizon", 0, low=1), "horizon must be >= 1"),
    (lambda: require_choice("mode", "x", ["a", "b"]), "mode must be one of"),
    (lambda: require_matrix("A", [[1, 2]], shape=(2, 2)), "A must have shape 2x2"),
    (lambda: require_matrix("A", [[1, np.inf]]), "A must contain only finite"),
])
def test_validation_errors_name_the_argument(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


@pytest.mark.parametrize("action", [3, -1, 1.5, float("nan"), [0, 1], "a"])
def test_discrete_actions_outside_the_space_are_rejected(action):
    with pytest.raises(ValueError, match="action"):
        validated_action(spaces.Discrete(3), action)


def test_discrete_actions_accept_numpy_integers():
    assert validated_action(spaces.Discrete(3), np.int64(2)) == 2
    assert validated_action(spaces.Discrete(3), np.array([1])) == 1


def test_box_action_bounds_compare_in_the_space_dtype():
    space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    np.testing.assert_array_equal(validated_action(space, [1.0 + 1e-9, -1.0]), [1.0 + 1e-9, -1.0])
    with pytest.raises(ValueError, match="shape"):
        validated_action(space, [0.0, 0.0, 0.0])


@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=40))
def test_confidence_interval_matches_scipy(values):
    summary = summarize(values)
    if np.std(values) == 0:
        assert summary.ci_low == pytest.approx(summary.ci_high)
        return
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert summary.ci_low == pytest.approx(low, rel=1e-9, abs=1e-9)
    assert summary.ci_high == pytest.approx(high, rel=1e-9, abs=1e-9)


def test_evaluate_is_deterministic_and_collects_info_series():
    env = gym.make("papergym/LQG-v0")
    agent = RandomAgent(env.observation_space, env.action_space)
    first = evaluate(agent, env, 3, seed=4, info_keys=["state_cost"])
    again = evaluate(agent, "papergym/LQG-v0", 3, seed=4, info_keys=["state_cost"])
    np.testing.assert_array_equal(first.returns, again.returns)
    assert list(first.lengths) == [50, 50, 50]
    assert [len(series) for series in first.info_series["state_cost"]] == [50, 50, 50]
    with pytest.raises(KeyError, match="no key"):
        evaluate(agent, env, 1, info_keys=["regret"])


def _first_env_accepting(name: str) -> gym.Env:
    """Agents are built for the environments of their paper: find one whose factory accepts it."""
    for env_id in env_ids():
        env = gym.make(env_id, max_episode_steps=50)  # some papers' horizons are 10^6 rounds
        try:
            AGENTS[name](env)
        except ValueError:
            continue
        return env
    raise AssertionError(f"agent {name!r} accepts none of the registered environments")


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_sb3_evaluate_policy_accepts_every_registered_agent(name):
    env = _first_env_accepting(name)
    agent = AGENTS[name](env)
    mean, std = evaluate_policy(agent, env, n_eval_episodes=2, warn=False)
    assert np.isfinite(mean) and np.isfinite(std)


def test_predict_handles_single_and_batched_observations():
    env = gym.make("papergym/LQG2D-v0")
    agent = LQROptimal.from_env(env)
    single, state = agent.predict(np.array([0.1, -0.2], dtype=np.float32))
    batch, _ = agent.predict(np.array([[0.1, -0.2], [0.3, 0.0]], dtype=np.float32))
    assert single.shape == (1,) and batch.shape == (2, 1) and state is None
    np.testing.assert_array_equal(batch[0], single)


def test_vector_env_disabled_autoreset_resets_only_masked_envs():
    envs = LQGVectorEnv(num_envs=3, max_episode_steps=2, autoreset_mode="Disabled")
    envs.reset(seed=0)
    for _ in range(2):
        _, _, _, truncated, _ = envs.step(np.zeros((3, 1)))
    assert truncated.all()
    before = envs.states.copy()
    envs.reset(options={"reset_mask": np.array([True, False, False])})
    assert not np.array_equal(envs.states[0], before[0])
    np.testing.assert_array_equal(envs.states[1:], before[1:])
    assert list(envs.elapsed_steps) == [0, 2, 2]


def test_vector_env_rejects_a_bad_autoreset_mode_and_num_envs():
    with pytest.raises(ValueError, match="autoreset_mode"):
        LQGVectorEnv(num_envs=2, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="num_envs"):
        LQGVectorEnv(num_envs=0)


def test_sb3_vec_env_adapter_reports_terminal_observations_and_trains():
    from stable_baselines3 import PPO

    from papergym.wrappers.sb3 import SB3VecEnv

    envs = gym.make_vec("papergym/LQG-v0", num_envs=4, vectorization_mode="vector_entry_point",
                        max_episode_steps=5, autoreset_mode="SameStep")
    vec_env = SB3VecEnv(envs)
    vec_env.seed(0)
    vec_env.reset()
    for _ in range(5):
        _, rewards, dones, infos = vec_env.step(np.zeros((4, 1), dtype=np.float32))
    assert dones.all() and rewards.dtype == np.float32
    assert all(info["TimeLimit.truncated"] and info["terminal_observation"].shape == (1,) for info in infos)
    PPO("MlpPolicy", vec_env, n_steps=32, batch_size=32, seed=0).learn(64)


def test_sb3_vec_env_adapter_splits_masked_and_unmasked_info_keys():
    from papergym.wrappers.sb3 import _split_info

    info = {"cost": np.array([1, 2, 3]), "_cost": np.ones(3, dtype=bool), "final_obs": np.zeros((3, 1)),
            "episode": np.array([0.5, 0.0, 1.5]), "_episode": np.array([True, False, True])}
    infos = _split_info(info, 3)
    assert infos == [{"cost": 1, "episode": 0.5}, {"cost": 2}, {"cost": 3, "episode": 1.5}]
    assert all(type(entry["cost"]) is np.int64 for entry in infos)  # numpy scalars, as indexing gives


def test_sb3_vec_env_adapter_requires_same_step():
    from papergym.wrappers.sb3 import SB3VecEnv

    with pytest.raises(ValueError, match="SameStep"):
        SB3VecEnv(LQGVectorEnv(num_envs=2))


def test_a_nonnegative_quantity_gets_an_interval_that_stays_nonnegative():
    from papergym.core.stats import summarize

    clicks = [0, 0, 1, 0, 0, 2, 0, 0]
    t_interval = summarize(clicks)
    assert t_interval.ci_low < 0 and t_interval.method == "t"
    bounded = summarize(clicks, nonnegative=True)
    assert bounded.method == "bootstrap" and 0.0 <= bounded.ci_low < bounded.mean < bounded.ci_high <= 2.0
    assert summarize(clicks, nonnegative=True) == bounded  # deterministic
    assert summarize([5.0, 6.0, 7.0], nonnegative=True).method == "t"  # far from zero: the t interval
    assert summarize([3.0]).method == "none"
