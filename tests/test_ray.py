"""Ray: every id in RLlib (native vector env, PettingZoo with parameter sharing), RLlib training and
reproductions as Tune trials, on a real ``ray start --head`` cluster reached with ``--address`` and on a
private local instance.

Ray's processes import this module (its PettingZoo environment and its small reproduction) through
``PYTHONPATH``, as a user's own code on a cluster must be importable on its nodes.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'papergym[ray]')")

from gymnasium import spaces  # noqa: E402
from pettingzoo import ParallelEnv  # noqa: E402
from ray.rllib.core import ALL_MODULES  # noqa: E402
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv  # noqa: E402

from papergym.cli import main  # noqa: E402
from papergym.core.rollout import DEFAULT_EPISODE_LIMIT  # noqa: E402
from papergym.experiments import get_reproduction  # noqa: E402
from papergym.experiments.contract import RecordSchema, Reproduction, Results, Settings, Unit, Value  # noqa: E402
from papergym.experiments.reporting import format_table, summary_table  # noqa: E402
from papergym.experiments.runner import ResultsFolder, run_reproduction  # noqa: E402
from papergym.integrations import ray as ray_integration  # noqa: E402
from papergym.integrations.ray import (  # noqa: E402
    SHARED_POLICY,
    algorithm_config,
    bounded_env_config,
    make_multi_agent_env,
    make_single_agent_env,
    ray_session,
    register_multi_agent_env,
    sweep,
)
from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS, EnvEntry  # noqa: E402

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
#: Ray's own settings for every process of a test cluster: small, quiet, offline.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}


# --- a small PettingZoo parallel environment ---------------------------------------------------


class MatchingPenniesEnv(ParallelEnv):
    """Two players pick 0 or 1 each round; the matcher wins (+1/-1) when both picks agree.

    Observation: both players' previous picks (0/1, -1 before the first round). ``max_cycles`` rounds.
    """

    metadata = {"name": "matching_pennies_v0", "render_modes": ["ansi"]}

    def __init__(self, max_cycles: int = 10, render_mode: str | None = None):
        self.possible_agents = ["matcher", "mismatcher"]
        self.max_cycles = max_cycles
        self.render_mode = render_mode
        self._last = np.array([-1.0, -1.0], dtype=np.float32)

    def observation_space(self, agent: str) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def action_space(self, agent: str) -> spaces.Discrete:
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.rounds = 0
        self._last = np.array([-1.0, -1.0], dtype=np.float32)
        return {agent: self._last.copy() for agent in self.agents}, {agent: {} for agent in self.agents}

    def step(self, actions):
        picks = [int(actions[agent]) for agent in self.possible_agents]
        self._last = np.array(picks, dtype=np.float32)
        self.rounds += 1
        payoff = 1.0 if picks[0] == picks[1] else -1.0
        rewards = {"matcher": payoff, "mismatcher": -payoff}
        truncated = self.rounds >= self.max_cycles
        observations = {agent: self._last.copy() for agent in self.agents}
        terminations = {agent: False for agent in self.agents}
        truncations = {agent: truncated for agent in self.agents}
        infos = {agent: {} for agent in self.agents}
        if truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self):
        return f"round {self.rounds}: picks {self._last.tolist()}"


PENNIES = EnvEntry(id="papergymtest/MatchingPennies-v0", entry_point=f"{__name__}:MatchingPenniesEnv",
                   paper="(test)", controls="a pick of 0 or 1", max_episode_steps=10)
MULTI_AGENT_ENTRIES = [PENNIES, *MULTI_AGENT_ENVIRONMENTS]


# --- a reproduction of two units, one of which can fail ------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CoinSettings(Settings):
    """``seeds`` units; the units of the seeds in ``fail_once`` raise on their first attempt; each attempt
    is a line in ``marker_dir/attempts-<seed>``."""

    flips: int = 20
    marker_dir: str = ""
    fail_once: tuple[int, ...] = ()


def coin_units(settings: CoinSettings) -> list[Unit]:
    return [Unit("flips", seed) for seed in range(settings.seeds)]


def coin_run_unit(settings: CoinSettings, unit: Unit) -> list[dict]:
    seed = unit.seed
    attempts = _attempts_file(settings, seed)
    first_attempt = not attempts.exists()
    with attempts.open("a") as handle:
        handle.write("attempt\n")
    if seed in settings.fail_once and first_attempt:
        raise RuntimeError(f"unit seed={seed} fails on purpose")
    heads = int(unit.rng(settings, "coin").integers(0, 2, size=settings.flips).sum())
    return [{"seed": seed, "heads": heads}]


def _attempts_file(settings: CoinSettings, seed: int) -> Path:
    return Path(settings.marker_dir) / f"attempts-{seed}"


def coin_report(settings: CoinSettings, results: Results, out_dir: Path) -> str:
    return format_table("heads", summary_table({"coin": [record["heads"] for record in results.records]}), "heads")


COINS = Reproduction(name="coins", paper="(test)", description="coin flips", units=coin_units,
                     kinds={"flips": coin_run_unit}, report=coin_report,
                     record_schemas={"flips": RecordSchema({"seed": Value.INTEGER, "heads": Value.INTEGER})},
                     presets={"quick": CoinSettings(seeds=2), "paper": CoinSettings(seeds=2)})


# --- a real local cluster ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _python_path() -> str:
    return os.pathsep.join(filter(None, [str(TESTS), str(ROOT), os.environ.get("PYTHONPATH")]))


@dataclass(frozen=True)
class Cluster:
    """A running ``ray start --head``: its address and the environment its drivers need."""

    address: str
    env: dict[str, str]

    def papergym(self, *arguments: str) -> subprocess.CompletedProcess:
        """``python -m papergym.cli ARGUMENTS --address ADDRESS``: a separate driver, as a user runs it."""
        command = [sys.executable, "-m", "papergym.cli", *arguments, "--address", self.address, "--no-progress"]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def ray_head():
    """``ray start --head`` on 127.0.0.1 (2 CPUs, a small object store), stopped when the module ends.

    The cluster checks a token of its own, given to its processes and to the drivers that connect to it.
    """
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="pgray")  # short: Ray's socket paths must fit in 107 characters
    log_path = Path(temp_dir) / "head.log"
    env = {**os.environ, **RAY_ENV, "PYTHONPATH": _python_path(), "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--node-ip-address=127.0.0.1",
               f"--port={port}", "--num-cpus=2", "--object-store-memory=100000000", "--include-dashboard=false",
               "--disable-usage-stats", f"--temp-dir={temp_dir}", "--block"]
    with log_path.open("w") as log:
        head = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for_head(head, log_path)
        yield Cluster(f"127.0.0.1:{port}", env)
    finally:
        _stop(head)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM: `ray start --block` drains the node, then stops the processes it started."""
    for _ in range(3):  # a SIGTERM that arrives while the node is still draining may go unheard
        head.terminate()
        try:
            head.wait(timeout=60)
            return
        except subprocess.TimeoutExpired:
            continue
    head.kill()
    head.wait()


def _wait_for_head(head: subprocess.Popen, log_path: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while "Ray runtime started" not in log_path.read_text():
        if head.poll() is not None or time.monotonic() > deadline:
            head.terminate()
            pytest.fail(f"ray start --head did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def local_ray():
    """A private local Ray instance (2 CPUs) opened by this process; its workers import this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", _python_path())
        for name, value in RAY_ENV.items():
            patch.setenv(name, value)
        with ray_session(num_cpus=2):  # the functions under test reuse it
            yield


# --- environments (no Ray processes) -------------------------------------------------------------


def test_every_id_has_a_creator_with_its_native_vector_env():
    for entry in ENVIRONMENTS:
        single = make_single_agent_env(entry.id, {})
        vector = make_single_agent_env(entry.id, {"num_envs": 3})
        assert single.spec.id == entry.id
        assert vector.num_envs == 3
        if entry.vector_entry_point:
            assert vector.unwrapped.__class__.__name__ == entry.vector_entry_point.rpartition(":")[2]
            assert vector.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
        else:
            assert isinstance(vector, gym.vector.SyncVectorEnv)
        assert vector.single_observation_space == single.observation_space


def test_single_agent_episodes_are_bounded_as_for_sb3_training(monkeypatch):
    bandit = "papergym/DynamicalLinearBandit-v0"  # no registered limit: its episode is a trial of 10^6 rounds
    assert bounded_env_config(bandit, {}, None) == ({"max_episode_steps": DEFAULT_EPISODE_LIMIT},
                                                     DEFAULT_EPISODE_LIMIT)
    assert bounded_env_config("papergym/LQG-v0", {"render_mode": "ansi"}, None) == ({"render_mode": "ansi"}, None)
    config, limit = bounded_env_config(bandit, {}, 7)
    vector = make_single_agent_env(bandit, {**config, "num_envs": 2})
    vector.reset(seed=0)
    for _ in range(limit):
        *_, terminated, truncated, _ = vector.step(vector.action_space.sample())
    assert truncated.all() and not terminated.any()
    monkeypatch.setattr(ray_integration, "MULTI_AGENT_ENVIRONMENTS", (PENNIES,))
    assert bounded_env_config(PENNIES.id, {}, None) == ({}, None)
    with pytest.raises(ValueError, match="its episodes last its max_cycles"):
        bounded_env_config(PENNIES.id, {}, 7)


def test_env_runner_steps_the_native_vector_env_of_an_id():
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    config = algorithm_config("papergym/LQG-v0", workers=0, envs_per_worker=4)
    runner = SingleAgentEnvRunner(config=config)
    try:
        assert type(runner.env.unwrapped).__name__ == "LQGVectorEnv"
        episodes = runner.sample(num_timesteps=120, random_actions=True)
    finally:
        runner.stop()
    assert sum(len(episode) for episode in episodes) == 120


@pytest.mark.parametrize("entry", MULTI_AGENT_ENTRIES, ids=lambda entry: entry.id)
def test_rllib_pettingzoo_wrapper_renders(entry):
    render_modes = make_multi_agent_env(entry, {}).par_env.metadata["render_modes"]
    assert render_modes, f"{entry.id} declares no render mode"
    for mode in render_modes:
        env = make_multi_agent_env(entry, {"render_mode": mode})
        env.reset(seed=0)
        with pytest.raises(TypeError):  # RLlib's own wrapper passes the mode to PettingZoo's render()
            ParallelPettingZooEnv.render(env)
        frame = env.render()
        assert isinstance(frame, str) if mode == "ansi" else isinstance(frame, np.ndarray)


def test_agents_with_different_spaces_cannot_share_a_policy(monkeypatch):
    monkeypatch.setattr(MatchingPenniesEnv, "action_space",
                        lambda self, agent: spaces.Discrete(2 if agent == "matcher" else 3))
    with pytest.raises(ValueError, match="cannot share one policy"):
        make_multi_agent_env(PENNIES, {})


# --- RLlib on a real cluster ---------------------------------------------------------------------


@pytest.mark.parametrize("entry", MULTI_AGENT_ENTRIES, ids=lambda entry: entry.id)
def test_multi_agent_iteration_shares_one_policy(local_ray, entry):
    register_multi_agent_env(entry)
    config = (algorithm_config(entry.id, workers=1, train_batch_size=100, multi_agent=True)
              .training(minibatch_size=50, num_epochs=1))
    algorithm = config.build_algo()  # one remote env runner, which imports the entry point
    try:
        result = algorithm.train()
    finally:
        algorithm.stop()
    assert set(result["learners"]) - {ALL_MODULES} == {SHARED_POLICY}  # one module learns for all agents
    runners = result["env_runners"]
    agent_steps = runners["num_agent_steps_sampled_lifetime"]
    assert set(agent_steps) == set(make_multi_agent_env(entry, {}).possible_agents)
    assert runners["num_module_steps_sampled_lifetime"][SHARED_POLICY] == sum(agent_steps.values())


#: One small PPO iteration: a local env runner (no remote process to start), a batch of 64 steps, one epoch.
SMALL_ITERATION = {"minibatch_size": 32, "num_epochs": 1}


@pytest.mark.parametrize("entry", ENVIRONMENTS, ids=lambda entry: entry.id)
def test_every_id_trains_one_rllib_ppo_iteration_and_its_policy_acts(local_ray, entry, tmp_path):
    """Training, the checkpoint and the evaluation of the trained policy, on every single-agent id: float64
    observations (RTB, ThreeBody, MuJoCo) reach the float32 module as RLlib's env runners give them."""
    result = ray_integration.train(entry.id, tmp_path, workers=0, envs_per_worker=2, steps=1, train_batch_size=64,
                                   hyperparameters=SMALL_ITERATION, eval_episodes=2, max_episode_steps=8,
                                   progress=False)
    assert result.iterations == 1 and result.env_steps >= 64
    assert result.trained.n == result.random.n == 2 and math.isfinite(result.trained.mean)
    assert (tmp_path / "checkpoint").is_dir()


def test_rllib_policy_acts_on_float64_observations_within_the_action_space(local_ray, tmp_path):
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    env = gym.make("papergym/RobustInvertedPendulum-v0")  # float64 observations, actions in [-3, 3]
    assert env.observation_space.dtype == np.float64
    config = algorithm_config(env.spec.id, workers=0)
    module = RLModuleSpec(module_class=config.get_default_rl_module_spec().module_class,
                          observation_space=env.observation_space, action_space=env.action_space,
                          model_config=config.model_config).build()
    policy = ray_integration.RLlibPolicy(module, env.observation_space, env.action_space)
    observations = np.stack([env.reset(seed=seed)[0] for seed in range(4)])
    actions = policy.act_batch(observations, deterministic=True)
    assert actions.shape == (4, 1) and actions.dtype == np.float32
    assert all(env.action_space.contains(action) for action in actions)


#: Each algorithm `train --backend rllib` names, on an id whose actions it takes, with a batch it fits.
ALGORITHM_CASES = {"PPO": "papergym/LQG-v0", "APPO": "papergym/LQG-v0", "IMPALA": "papergym/LQG-v0",
                   "DQN": "papergym/DTRBandit-v0", "SAC": "papergym/LQG-v0"}
#: PPO's default mini-batch (128) exceeds the test's batch of 100: RLlib refuses such a config.
ALGORITHM_HYPERPARAMS = {"PPO": ["--hyperparams", "minibatch_size:50", "num_epochs:1"]}


def test_every_rllib_algorithm_the_cli_names_is_tested():
    assert tuple(ALGORITHM_CASES) == ray_integration.RLLIB_ALGORITHMS


@pytest.mark.parametrize(("algo", "env_id"), ALGORITHM_CASES.items())
def test_every_rllib_algorithm_the_cli_names_trains(local_ray, algo, env_id, capsys, tmp_path):
    code = main(["train", env_id, "--backend", "rllib", "--rllib-algo", algo, "--workers", "1", "--steps", "200",
                 "--train-batch", "100", "--eval-episodes", "2", "--max-episode-steps", "10", "--out",
                 str(tmp_path), "--no-progress", *ALGORITHM_HYPERPARAMS.get(algo, [])])
    out = capsys.readouterr().out
    assert code == 0, out
    steps = int(out.split(f"trained RLlib {algo} on {env_id}: ")[1].split()[0])
    assert steps >= 200 and f"trained {algo}" in out and (tmp_path / "checkpoint").is_dir()


#: The issue's report: RLlib's own config on a papergym id, remote env runners; the import is all it takes.
RLLIB_CONFIG_SCRIPT = """
import sys
import ray
from ray.rllib.algorithms.ppo import PPOConfig
import papergym.integrations.ray

ray.init(address=sys.argv[1])
config = (PPOConfig().environment("papergym/LQG-v0")
          .env_runners(num_env_runners=1, num_envs_per_env_runner=2, gym_env_vectorize_mode="vector_entry_point")
          .training(train_batch_size_per_learner=100, minibatch_size=50, num_epochs=1))
algorithm = config.build_algo()
print(int(algorithm.train()["env_runners"]["num_env_steps_sampled_lifetime"]))
print(*algorithm.env_runner_group.foreach_env_runner(lambda runner: type(runner.env.unwrapped).__name__,
                                                     local_env_runner=False))
algorithm.stop()
"""


def test_rllib_config_on_a_papergym_id_runs_on_remote_env_runners(ray_head):
    done = subprocess.run([sys.executable, "-c", RLLIB_CONFIG_SCRIPT, ray_head.address], env=ray_head.env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["100", "LQGVectorEnv"]


def test_cli_trains_rllib_ppo_with_a_remote_env_runner_on_the_cluster(ray_head, tmp_path):
    out = tmp_path / "run"
    done = ray_head.papergym("train", "papergym/LQG-v0", "--backend", "rllib", "--workers", "1", "--steps", "400",
                             "--train-batch", "200", "--eval-episodes", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"on the Ray cluster at {ray_head.address}" in done.stdout
    assert "trained PPO" in done.stdout and "random" in done.stdout and "95% CI" in done.stdout
    rows = (out / "learning_curve.csv").read_text().splitlines()
    assert rows[0] == "iteration,timestep,return,length"
    assert len(rows) >= 2 and math.isfinite(float(rows[1].split(",")[2]))
    assert (out / "learning_curve.png").exists() and (out / "checkpoint").is_dir()


def test_a_driver_without_the_clusters_token_gets_rays_reason_and_the_setting_it_needs(ray_head, tmp_path):
    env = {key: value for key, value in ray_head.env.items() if key not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    env["RAY_gcs_server_port_wait_time_s"] = "2"  # Ray retries a rejected connection for ~20 s by default
    cases = {"no token": env, "a wrong token": {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 32}}
    for case, driver_env in cases.items():
        done = subprocess.run([sys.executable, "-m", "papergym.cli", "train", "papergym/LQG-v0", "--backend", "rllib",
                               "--address", ray_head.address, "--out", str(tmp_path / "run"), "--no-progress"],
                              env=driver_env, capture_output=True, text=True, timeout=300, check=False)
        error = done.stderr.strip().splitlines()[-1]
        assert done.returncode == 2, (case, done.stderr[-2000:])
        assert "run with RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN" in error, case
        assert "InvalidAuthToken: Authentication token is missing or incorrect" in error, case
        assert "no Ray cluster answers there" not in error


def test_cli_refuses_unknown_ids_algorithms_and_ray_client_before_any_work(tmp_path, capsys, monkeypatch):
    def no_ray(*args, **kwargs):
        raise AssertionError("a refused command must not start or join Ray")

    monkeypatch.setattr(ray_integration, "ray_session", no_ray)
    out = tmp_path / "run"
    assert main(["train", "papergym/Nope-v0", "--backend", "rllib", "--out", str(out)]) == 2
    assert "unknown environment id" in capsys.readouterr().err
    assert main(["train", "papergym/LQG-v0", "--backend", "rllib", "--rllib-algo", "NOPE", "--out", str(out)]) == 2
    assert "unknown RLlib algorithm 'NOPE'" in capsys.readouterr().err
    assert main(["sweep", "lqg", "--preset", "quick", "--address", "ray://head:10001", "--out", str(out)]) == 2
    assert "cannot run through Ray Client" in capsys.readouterr().err
    assert main(["train", "papergym/LQG-v0", "--backend", "rllib", "--steps", "0", "--out", str(out)]) == 2
    assert "--steps must be >= 1, got 0" in capsys.readouterr().err
    assert main(["train", "papergym/LQG-v0", "--workers", "2", "--out", str(out)]) == 2
    assert "--workers: only with --backend rllib" in capsys.readouterr().err
    assert not out.exists()


# --- reproductions as Tune trials ----------------------------------------------------------------


@pytest.mark.parametrize("agent, message", [
    ("no_such_module_xyz:make_agent", "cannot import module 'no_such_module_xyz'"),
    ("bad_agents:raising_factory", "the factory raised RuntimeError: no weights found"),
    ("bad_agents:failing_predict_factory", "predict on the environment's first observation raised IndexError"),
])
def test_sweep_checks_every_agent_before_ray_starts_and_leaves_no_folder(agent, message, tmp_path, capsys,
                                                                         monkeypatch):
    def no_ray(*args, **kwargs):
        raise AssertionError("a bad agent must be refused before Ray starts")

    monkeypatch.setattr(ray_integration, "ray_session", no_ray)
    out = tmp_path / "swept"
    code = main(["sweep", "lqg", "--preset", "quick", "--seeds", "2", "--set", "episodes=2", "--agent", agent,
                 "--out", str(out), "--no-progress"])
    error = capsys.readouterr().err
    assert code == 2 and message in error and error.count("\n") == 1
    assert not out.exists()


def test_sweep_on_the_cluster_gives_the_local_runs_records_and_table(ray_head, tmp_path):
    lqg = get_reproduction("lqg")
    settings = lqg.preset("quick").replace(seeds=1, episodes=2)
    local = run_reproduction(lqg, settings, tmp_path / "local", preset="quick", workers=1, progress=False,
                             verbose=False)
    done = ray_head.papergym("sweep", "lqg", "--preset", "quick", "--seeds", "1", "--set", "episodes=2",
                             "--out", str(tmp_path / "swept"))
    assert done.returncode == 0, done.stderr[-3000:]
    swept_folder = ResultsFolder(tmp_path / "swept")
    units = lqg.units(settings)
    assert set(swept_folder.finished()) == {unit.key for unit in units}  # one trial per unit
    swept = [record for unit in units for record in swept_folder.finished()[unit.key][0]]
    assert swept == local
    table = (tmp_path / "local" / "report.txt").read_text()
    assert (tmp_path / "swept" / "report.txt").read_text() == table
    assert table.strip() in done.stdout
    description = json.loads((tmp_path / "swept" / "reproduction.json").read_text())
    assert description == json.loads((tmp_path / "local" / "reproduction.json").read_text())
    # a rerun skips the finished units: no trial runs, no record is appended again
    lines = swept_folder.records_path.read_text()
    assert sweep(lqg, settings, tmp_path / "swept", preset="quick", progress=False, verbose=False) == local
    assert swept_folder.records_path.read_text() == lines


def test_failed_trials_are_retried_then_reported_and_a_rerun_runs_only_them(local_ray, tmp_path):
    def settings(name: str, **failures) -> CoinSettings:
        (tmp_path / name).mkdir()
        return COINS.preset("quick").replace(marker_dir=str(tmp_path / name), **failures)

    def attempts(settings: CoinSettings) -> list[int]:
        return [len(_attempts_file(settings, seed).read_text().splitlines()) for seed in range(settings.seeds)]

    direct = settings("direct")
    expected = [record for unit in coin_units(direct) for record in coin_run_unit(direct, unit)]
    retried = settings("retried", fail_once=(1,))
    assert sweep(COINS, retried, tmp_path / "retried-out", retries=1, progress=False, verbose=False) == expected
    assert attempts(retried) == [1, 2]  # unit 1 failed, was retried and succeeded
    reported = settings("reported", fail_once=(0,))
    with pytest.raises(ValueError, match=r"1 of 2 units did not finish: flips,seed=0"):
        sweep(COINS, reported, tmp_path / "reported-out", retries=0, progress=False, verbose=False)
    assert set(ResultsFolder(tmp_path / "reported-out").finished()) == {"flips,seed=1"}  # kept, not dropped
    assert sweep(COINS, reported, tmp_path / "reported-out", retries=0, progress=False, verbose=False) == expected
    assert attempts(reported) == [2, 1]  # the rerun ran only the failed unit
