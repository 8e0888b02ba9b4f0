"""Ray: every papergym id in RLlib, RLlib training on a laptop or a cluster, reproductions as Tune trials.

Needs the ``ray`` extra (``pip install 'papergym[ray]'``; Ray RLlib pins gymnasium 1.2.2, which papergym
supports). Importing this module registers every papergym id with Ray's registry, so
``PPOConfig().environment("papergym/LQG-v0")`` works with any number of remote env runners: the env
creators live in this module, so a worker that unpickles one imports papergym (and registers its ids)
first. Ray's own ``gym.make`` in a worker does not, which is why an unregistered id fails there.

- Single-agent ids use their native vector environment (RLlib's ``vector_entry_point`` mode, autoreset
  ``NextStep`` as RLlib expects) where one exists, Gymnasium's ``SyncVectorEnv`` otherwise.
- Multi-agent ids (PettingZoo parallel environments, ``MULTI_AGENT_ENVIRONMENTS``) go through RLlib's
  PettingZoo wrapper, with one policy shared by every agent (parameter sharing).
- :func:`train` runs an RLlib algorithm (PPO by default) with ``workers`` remote env runners and compares
  the trained policy with a random one on held-out seeds, as ``papergym train`` does for SB3.
- :class:`RayExecutor` is the runner's executor on Ray Tune (one trial per unit of the contract, see
  :mod:`papergym.experiments.runner`), and :func:`sweep` the runner with it: the same orchestration as
  ``papergym reproduce``, so both write the same results folder and identical records for the same settings.

Without ``address`` a private local Ray instance is started (never someone else's running cluster);
with it, the driver connects to an existing cluster (``host:port`` of the head started by
``ray start --head``, or ``auto`` on a node of the cluster) whose nodes have papergym installed. The
driver runs where the command is typed and writes the results there, so run it on a node of the cluster
(or submit it with ``ray job submit``); a Ray Client (``ray://``) driver is refused by :func:`sweep`,
because Tune would then run the driver, and write the results folder, on the head node.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

try:
    import ray
    from ray import tune
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env
except ImportError as error:  # pragma: no cover - exercised only where Ray is missing
    raise ImportError("papergym.integrations.ray needs Ray RLlib and Tune: pip install 'papergym[ray]'") from error

from papergym.core.agent import BaseAgent, RandomAgent
from papergym.core.errors import PapergymError
from papergym.core.rollout import episode_limit, evaluate
from papergym.core.stats import Summary
from papergym.core.validation import require_int
from papergym.experiments.contract import Record, Reproduction, Settings, Unit
from papergym.experiments.reporting import CsvLog
from papergym.experiments.runner import (
    OnFinished,
    OnStarted,
    default_workers,
    execute_unit,
    limit_threads,
    run_reproduction,
)
from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS, EnvEntry

#: Object store of a local instance: small, the units and rollouts exchange little data (Ray's minimum is 75 MiB).
LOCAL_OBJECT_STORE_BYTES = 200 * 1024**2
#: The one policy of a multi-agent id: every agent maps to it (parameter sharing).
SHARED_POLICY = "shared"
#: Environments per env runner (a vector env of that many copies), unless ``--n-envs`` says otherwise.
DEFAULT_ENVS_PER_WORKER = 8
#: The RLlib algorithms ``papergym train --backend rllib --rllib-algo`` names; the tests train each once.
RLLIB_ALGORITHMS = ("PPO", "APPO", "IMPALA", "DQN", "SAC")


# --- a Ray session ------------------------------------------------------------------------------


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[None]:
    """Connect to the cluster at ``address``, or start a private local instance of ``num_cpus`` CPUs.

    Disconnects (and stops the local instance) on exit. A session the caller already opened with
    ``ray.init`` is used as it is and left open.
    """
    if ray.is_initialized():
        register_environments()
        yield
        return
    if address:
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except ConnectionError as error:
            raise PapergymError(f"--address {address}: {connection_failure(error)}") from None
    else:
        # "local" starts a new instance even when another `ray start` cluster runs on this machine.
        ray.init(address="local", num_cpus=num_cpus or default_workers(), include_dashboard=False,
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES, logging_level=logging.WARNING)
    try:
        register_environments()
        yield
    finally:
        ray.shutdown()


#: What a driver needs to join a cluster that checks tokens (``ray start`` enables them by default since Ray 2.5x).
TOKEN_HELP = ("the cluster checks an authentication token: run with RAY_AUTH_MODE=token and the cluster's token "
              "in RAY_AUTH_TOKEN, in the file RAY_AUTH_TOKEN_PATH names, or in ~/.ray/auth_token "
              "(ray get-auth-token on the head prints it)")


def connection_failure(error: BaseException) -> str:
    """Ray's own reason a connection failed, found in the chain under ``ray.init``'s ConnectionError.

    ``ray.init`` reports only "Failed to connect to Ray cluster at ..."; the cause it wraps ends with the
    GCS client's last error (a rejected token, a refused connection), which is what a user needs.
    """
    reason = str(error)
    cause = error.__cause__ or error.__context__
    while cause is not None:
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        if lines:
            reason = lines[-1]
        cause = cause.__cause__ or cause.__context__
    if "InvalidAuthToken" in reason or "AuthenticationError" in reason:
        return f"{TOKEN_HELP} (Ray: {reason.split('. Ensure')[0]})"
    return f"no Ray cluster answers there (Ray: {reason})"


def require_cpus(needed: int, what: str) -> None:
    """Refuse work the cluster cannot schedule (Ray would wait for the CPUs forever)."""
    available = int(ray.cluster_resources().get("CPU", 0))
    if available < needed:
        raise PapergymError(f"{what} needs {needed} CPUs but the Ray cluster has {available}")


# --- environments -------------------------------------------------------------------------------


def make_single_agent_env(env_id: str, config: Mapping[str, Any]) -> gym.Env | gym.vector.VectorEnv:
    """RLlib's env creator for a single-agent id; ``config["num_envs"]`` asks for a vector environment.

    RLlib's ``vector_entry_point`` mode calls this with ``num_envs``: the id's native vector environment
    (autoreset ``NextStep``) where it has one, a ``SyncVectorEnv`` of single environments otherwise.
    """
    kwargs = dict(config)
    num_envs = kwargs.pop("num_envs", None)
    if num_envs is None:
        return gym.make(env_id, **kwargs)
    mode = "vector_entry_point" if gym.spec(env_id).vector_entry_point is not None else "sync"
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **kwargs)


class PettingZooMultiAgentEnv(ParallelPettingZooEnv):
    """RLlib's wrapper of a PettingZoo parallel environment, with a render that works.

    RLlib's ``ParallelPettingZooEnv.render`` calls ``render(self.render_mode)``, but PettingZoo's
    ``render()`` takes no argument (the mode is chosen at construction), so it raises a ``TypeError``.
    """

    def __init__(self, env: Any):
        super().__init__(env)
        self.render_mode = getattr(env, "render_mode", None)
        self.metadata = getattr(env, "metadata", {})

    def render(self) -> Any:
        return self.par_env.render()


def make_multi_agent_env(entry: EnvEntry, config: Mapping[str, Any]) -> PettingZooMultiAgentEnv:
    """RLlib's env creator for a PettingZoo parallel id, checked to allow one policy for all agents."""
    import pettingzoo
    from pettingzoo.env_registry.spec import EnvSpec

    spec = EnvSpec(id=entry.id, entry_point=entry.entry_point, kwargs=dict(entry.kwargs),
                   max_cycles=entry.max_episode_steps)
    env = PettingZooMultiAgentEnv(pettingzoo.make("parallel", spec, **dict(config)))
    _check_shared_spaces(entry.id, env)
    return env


def _check_shared_spaces(env_id: str, env: PettingZooMultiAgentEnv) -> None:
    agents = sorted(env.possible_agents)
    first = agents[0]
    for agent in agents[1:]:
        if (env.get_observation_space(agent) != env.get_observation_space(first)
                or env.get_action_space(agent) != env.get_action_space(first)):
            raise PapergymError(f"{env_id}: agents {first!r} and {agent!r} have different spaces, so they "
                                "cannot share one policy")


def register_multi_agent_env(entry: EnvEntry) -> None:
    """Register one PettingZoo parallel environment with RLlib (its entry point importable in workers)."""
    register_env(entry.id, partial(make_multi_agent_env, entry))


def register_environments() -> None:
    """Register every papergym id with Ray's registry (idempotent; workers get the creators)."""
    for entry in ENVIRONMENTS:
        register_env(entry.id, partial(make_single_agent_env, entry.id))
    for entry in MULTI_AGENT_ENVIRONMENTS:
        register_multi_agent_env(entry)


register_environments()  # importing this module is enough: `PPOConfig().environment("papergym/LQG-v0")`


def is_multi_agent(env_id: str) -> bool:
    return any(entry.id == env_id for entry in MULTI_AGENT_ENVIRONMENTS)


def _shared_policy(agent_id: Any, episode: Any, **kwargs: Any) -> str:
    return SHARED_POLICY


def algorithm_config(env_id: str, algo: str = "PPO", *, workers: int = 2,
                     envs_per_worker: int = DEFAULT_ENVS_PER_WORKER, seed: int = 0,
                     train_batch_size: int | None = None, env_config: Mapping[str, Any] | None = None,
                     multi_agent: bool | None = None, hyperparameters: Mapping[str, Any] | None = None):
    """An RLlib ``AlgorithmConfig`` for a papergym id: ``workers`` remote env runners, one local learner.

    ``algo`` is any RLlib algorithm name (:data:`RLLIB_ALGORITHMS` are tested on every release). A
    multi-agent id (or ``multi_agent=True`` for a PettingZoo id registered with
    :func:`register_multi_agent_env`) gets one policy shared by every agent. ``hyperparameters`` are
    keyword arguments of the algorithm's ``config.training(...)`` (``lr``, ``gamma``, ``minibatch_size``...).
    """
    from ray.tune.error import TuneError
    from ray.tune.registry import get_trainable_cls

    register_environments()
    try:
        config = get_trainable_cls(algo.upper()).get_default_config()
    except TuneError:
        raise PapergymError(f"unknown RLlib algorithm {algo!r}; try {', '.join(RLLIB_ALGORITHMS)}") from None
    multi_agent = is_multi_agent(env_id) if multi_agent is None else multi_agent
    config = (config.environment(env_id, env_config=dict(env_config or {}))
              .env_runners(num_env_runners=workers, num_cpus_per_env_runner=1,
                           num_envs_per_env_runner=1 if multi_agent else envs_per_worker)
              .learners(num_learners=0)
              .debugging(seed=seed, log_level="WARN"))
    if train_batch_size is not None:
        config = config.training(train_batch_size_per_learner=train_batch_size)
    if hyperparameters:
        try:
            config = config.training(**hyperparameters)
        except TypeError as error:  # an argument the algorithm's training() does not take
            raise PapergymError(f"RLlib {algo.upper()} hyperparameters {dict(hyperparameters)}: {error}") from None
    if multi_agent:
        from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
        from ray.rllib.core.rl_module.rl_module import RLModuleSpec

        config = (config.multi_agent(policies={SHARED_POLICY}, policy_mapping_fn=_shared_policy)
                  .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={SHARED_POLICY: RLModuleSpec()})))
    else:
        config = config.env_runners(gym_env_vectorize_mode="vector_entry_point")
    return config


# --- RLlib training -----------------------------------------------------------------------------


class RLlibPolicy(BaseAgent):
    """A trained RLlib module as a papergym agent (SB3's ``predict``), acting as RLlib's env runners do.

    The module's action distribution gives the action (its mode when ``deterministic``); continuous
    actions are mapped from RLlib's normalised [-1, 1] range onto the environment's bounds
    (``normalize_actions``, RLlib's default) or clipped to them (``clip_actions``). Sampling uses torch's
    generator, seeded by :meth:`set_random_seed` as SB3's models do.
    """

    def __init__(self, module: Any, observation_space: gym.Space, action_space: gym.Space, *,
                 normalize_actions: bool = True, clip_actions: bool = False):
        super().__init__(observation_space, action_space)
        self.module = module
        self.normalize_actions = normalize_actions
        self.clip_actions = clip_actions

    def set_random_seed(self, seed: int | None = None) -> None:
        import torch

        super().set_random_seed(seed)
        if seed is not None:
            torch.manual_seed(seed)

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        import torch
        from ray.rllib.core.columns import Columns
        from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action
        from ray.rllib.utils.torch_utils import convert_to_torch_tensor

        # RLlib's own conversion, as its env runners feed the module: float64 observations (RTB, ThreeBody,
        # MuJoCo) become float32, the dtype of the module's weights.
        observations = np.asarray(observations, dtype=self.observation_space.dtype)
        batch = {Columns.OBS: convert_to_torch_tensor(observations)}
        with torch.no_grad():
            output = self.module.forward_inference(batch)
        if Columns.ACTION_DIST_INPUTS in output:
            distribution = self.module.get_inference_action_dist_cls().from_logits(output[Columns.ACTION_DIST_INPUTS])
            if deterministic:
                distribution = distribution.to_deterministic()
            actions = distribution.sample().numpy()
        else:  # DQN's module gives its greedy actions, not a distribution's inputs
            actions = output[Columns.ACTIONS].numpy()
        if self.normalize_actions:
            actions = unsquash_action(actions, self.action_space)
        elif self.clip_actions:
            actions = clip_action(actions, self.action_space)
        return np.asarray(actions, dtype=self.action_space.dtype)


@dataclass
class RLlibTrainingResult:
    """What :func:`train` leaves behind; the evaluations are ``None`` for a multi-agent id."""

    checkpoint: Path
    curve_path: Path
    iterations: int
    env_steps: int
    max_episode_steps: int | None
    trained: Summary | None
    random: Summary | None


def train(env_id: str, out_dir: Path, *, algo: str = "PPO", workers: int = 2, steps: int = 20_000, seed: int = 0,
          address: str | None = None, eval_episodes: int = 20, envs_per_worker: int = DEFAULT_ENVS_PER_WORKER,
          train_batch_size: int | None = None, env_config: Mapping[str, Any] | None = None,
          max_episode_steps: int | None = None, progress: bool = True,
          hyperparameters: Mapping[str, Any] | None = None, threads: int = 1) -> RLlibTrainingResult:
    """Train an RLlib algorithm on a papergym id for at least ``steps`` environment steps.

    Episodes of a single-agent id last ``max_episode_steps`` (default: the id's registered limit, or
    ``DEFAULT_EPISODE_LIMIT`` for ids without one, as ``papergym train``); a PettingZoo id's last its
    ``max_cycles``. The learner runs in this process with ``threads`` compute threads; the env runners
    sample in parallel. ``hyperparameters`` go to the algorithm's ``config.training(...)``. Saves
    an RLlib checkpoint, a learning curve (mean episode return per iteration, CSV and PNG) and, for
    a single-agent id, compares the trained policy with a random one on ``eval_episodes`` held-out
    seeds (``seed + 10000`` onwards), as ``papergym train`` does with SB3.
    """

    require_int("workers", workers, low=0)
    require_int("steps", steps, low=1)
    env_config, limit = bounded_env_config(env_id, env_config, max_episode_steps)
    config = algorithm_config(env_id, algo, workers=workers, envs_per_worker=envs_per_worker, seed=seed,
                              train_batch_size=train_batch_size, env_config=env_config,
                              hyperparameters=hyperparameters)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The learner runs in this process: one compute thread, as the runner's units. With more, torch's
    # thread pool spins against the env runners for the same cores (60x slower updates on 2 busy cores).
    limit_threads(threads)
    with ray_session(address, num_cpus=max(workers, default_workers())):
        require_cpus(workers, f"{workers} env runner(s)")
        try:
            algorithm = config.build_algo()
        except ValueError as error:  # RLlib's validation of the settings given (a mini-batch above the batch...)
            raise PapergymError(f"RLlib {algo.upper()}: {str(error).splitlines()[0]}") from None
        try:
            curve, iterations, env_steps = _train_until(algorithm, steps, out_dir, progress)
            checkpoint = Path(algorithm.save_to_path(str((out_dir / "checkpoint").resolve())))
            trained = random = None
            if not is_multi_agent(env_id):
                trained, random = _evaluate_against_random(algorithm, config, env_id, eval_episodes, seed,
                                                           env_config)
        finally:
            algorithm.stop()
    from papergym.experiments.training import plot_learning_curve

    plot_learning_curve(curve.path, out_dir / "learning_curve.png", f"{algo.upper()} (RLlib) on {env_id}",
                        window=5)
    return RLlibTrainingResult(checkpoint, curve.path, iterations, env_steps, limit, trained, random)


def bounded_env_config(env_id: str, env_config: Mapping[str, Any] | None,
                        max_episode_steps: int | None) -> tuple[dict[str, Any], int | None]:
    """The env config with the episode limit of a single-agent id (as SB3's ``train``), and that limit."""
    env_config = dict(env_config or {})
    if is_multi_agent(env_id):
        if max_episode_steps is not None:
            raise PapergymError(f"max_episode_steps: {env_id} is a PettingZoo environment; its episodes last its "
                                "max_cycles")
        return env_config, None
    limit = episode_limit(env_id, max_episode_steps)
    if limit is not None:
        env_config["max_episode_steps"] = limit
    return env_config, limit


def _train_until(algorithm: Any, steps: int, out_dir: Path, progress: bool) -> tuple[CsvLog, int, int]:
    """Iterate until ``steps`` env steps are sampled; one curve row per iteration that ended episodes."""
    from ray.rllib.utils.metrics import (
        ENV_RUNNER_RESULTS,
        EPISODE_LEN_MEAN,
        EPISODE_RETURN_MEAN,
        NUM_ENV_STEPS_SAMPLED_LIFETIME,
    )
    from tqdm.auto import tqdm

    curve = CsvLog(out_dir / "learning_curve.csv", ["iteration", "timestep", "return", "length"])
    iterations = env_steps = 0
    with tqdm(total=steps, desc="env steps", unit="step", disable=not progress, dynamic_ncols=True) as bar:
        while env_steps < steps:
            result = algorithm.train()
            iterations += 1
            runners = result[ENV_RUNNER_RESULTS]
            # The top-level count: asynchronous algorithms (APPO, IMPALA) leave the env runners' results
            # without it in iterations that received no samples.
            sampled = int(result[NUM_ENV_STEPS_SAMPLED_LIFETIME])
            bar.update(min(sampled, steps) - min(env_steps, steps))
            env_steps = sampled
            episode_return = runners.get(EPISODE_RETURN_MEAN, math.nan)
            if math.isfinite(episode_return):
                curve.append({"iteration": iterations, "timestep": env_steps, "return": float(episode_return),
                              "length": float(runners.get(EPISODE_LEN_MEAN, math.nan))})
                bar.set_postfix(mean_return=f"{episode_return:.4g}")
    return curve, iterations, env_steps


def _evaluate_against_random(algorithm: Any, config: Any, env_id: str, episodes: int, seed: int,
                             env_config: Mapping[str, Any] | None) -> tuple[Summary, Summary]:
    env = gym.make(env_id, **dict(env_config or {}))
    policy = RLlibPolicy(algorithm.get_module(), env.observation_space, env.action_space,
                         normalize_actions=config.normalize_actions, clip_actions=config.clip_actions)
    eval_seed = seed + 10_000  # episodes never seen in training, as for SB3's train
    trained = evaluate(policy, env, episodes, seed=eval_seed).summary()
    random = evaluate(RandomAgent(env.observation_space, env.action_space, seed), env, episodes,
                      seed=eval_seed).summary()
    return trained, random


# --- reproductions as Tune trials ---------------------------------------------------------------


def run_unit_trial(config: Mapping[str, Any], *, reproduction: Reproduction, settings: Settings,
                   units: Mapping[str, Unit]) -> None:
    """A Tune trial: one unit of the contract, run exactly as the local executor runs it."""
    unit = units[config["unit"]]
    records, seconds = execute_unit(reproduction, settings, unit)
    tune.report({"unit": unit.key, "seconds": seconds, "records": json.dumps(records)})


class _ReportFinishedUnits(tune.Callback):
    """On the driver: say when each trial starts, hand each finished trial's records to the runner at once;
    say what failed."""

    def __init__(self, units: Mapping[str, Unit], on_finished: OnFinished, on_started: OnStarted | None = None):
        self.units, self.on_finished, self.on_started = units, on_finished, on_started

    def __getstate__(self) -> dict[str, Any]:
        # Tune saves its callbacks with the experiment's state; the runner's callbacks live on this driver only
        # (they hold the results folder's writer and the progress bar's thread), so they are not saved.
        return {"units": self.units, "on_finished": None, "on_started": None}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self.on_started is not None:
            self.on_started(self.units[trial.config["unit"]])

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self.on_finished(self.units[result["unit"]], json.loads(result["records"]), float(result["seconds"]))

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        print(f"unit {trial.config['unit']} failed; retrying ({_last_error_line(trial)})")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        print(f"unit {trial.config['unit']} failed after its retries ({_last_error_line(trial)})")


def _last_error_line(trial: Any) -> str:
    error_file = getattr(trial, "error_file", None)
    if error_file and Path(error_file).exists():
        lines = [line for line in Path(error_file).read_text().splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
    return "see the trial's error file"


@dataclass(frozen=True)
class RayExecutor:
    """The runner's executor on Ray Tune: one trial per unit, on a private local instance or a cluster.

    A failing trial is retried ``retries`` times (Tune's ``FailureConfig``); units that still fail are left
    out and named by the runner after the others finished, and a rerun retries only them. ``workers`` caps
    concurrent trials (default: one per CPU). Tune's own files go under ``storage`` (the results folder's
    ``tune/`` for :func:`sweep`).
    """

    storage: Path
    address: str | None = None
    workers: int | None = None
    retries: int = 2

    def __post_init__(self) -> None:
        require_int("retries", self.retries, low=0)
        if self.workers is not None:
            require_int("workers", self.workers, low=1)
        if self.address and self.address.startswith("ray://"):
            raise PapergymError(f"--address {self.address}: a sweep cannot run through Ray Client (Tune would "
                                "write the results on the head node); run it on a node of the cluster with "
                                "--address host:port or auto, or submit it with ray job submit")

    def run(self, reproduction: Reproduction, settings: Settings, units: Sequence[Unit],
            on_finished: OnFinished, on_started: OnStarted | None = None) -> None:
        pending = {unit.key: unit for unit in units}
        trainable = tune.with_resources(
            tune.with_parameters(run_unit_trial, reproduction=reproduction, settings=settings, units=pending),
            {"cpu": 1})
        with ray_session(self.address, num_cpus=self.workers):
            tune.Tuner(
                trainable,
                param_space={"unit": tune.grid_search(list(pending))},
                tune_config=tune.TuneConfig(max_concurrent_trials=self.workers, reuse_actors=True),
                run_config=tune.RunConfig(
                    name=f"{reproduction.name}-sweep",
                    storage_path=str(Path(self.storage).resolve()),
                    failure_config=tune.FailureConfig(max_failures=self.retries),
                    callbacks=[_ReportFinishedUnits(pending, on_finished, on_started)],
                    verbose=0,
                ),
            ).fit()


def sweep(reproduction: Reproduction, settings: Settings, out_dir: Path, *, preset: str = "custom",
          address: str | None = None, workers: int | None = None, retries: int = 2, progress: bool = True,
          verbose: bool = True) -> list[Record]:
    """``papergym sweep``: the runner's :func:`~papergym.experiments.runner.run_reproduction` with the
    :class:`RayExecutor`, so a sweep and ``papergym reproduce`` of the same settings write the same results
    folder (and can continue each other's)."""
    executor = RayExecutor(Path(out_dir) / "tune", address=address, workers=workers, retries=retries)
    return run_reproduction(reproduction, settings, out_dir, preset=preset, executor=executor,
                            progress=progress, verbose=verbose)
