"""Training SB3 algorithms on papergym environments, with a learning curve written as it grows.

:func:`train` is ``papergym train``: the reproductions' hyperparameters for the id and algorithm (the rl-zoo3
YAML files of :mod:`papergym.agents.training`) updated with the user's, ``n_envs`` environments (the id's
native vector env through :class:`~papergym.wrappers.sb3.SB3VecEnv` where it has one, ``SubprocVecEnv``
otherwise), optional periodic evaluations (SB3's ``EvalCallback``) and a TensorBoard log, torch limited to
``threads`` compute threads through the runner's :func:`~papergym.experiments.runner.limit_threads`.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.agents.training import (
    METADATA_FILE,
    POLICIES,
    algorithm_class,
    check_compatible,
    model_kwargs,
    zoo_hyperparameters,
)
from papergym.core.agent import RandomAgent
from papergym.core.errors import PapergymError
from papergym.core.rollout import episode_limit, evaluate
from papergym.core.stats import Summary
from papergym.core.validation import require_int
from papergym.experiments.reporting import CsvLog
from papergym.experiments.runner import limit_threads

#: Rollout length of SB3's on-policy algorithms (their default n_steps), shortened for shorter runs.
ON_POLICY_ROLLOUT = {"ppo": 2048, "a2c": 5}
#: How ``train`` shows its progress: SB3's progress bar (a terminal), a line per tenth of the budget (a log
#: file or a pipe, where a bar shows nothing), or nothing; "auto" picks the bar on a terminal, else lines.
PROGRESS_MODES = ("auto", "bar", "lines", "none")


@dataclass
class TrainingResult:
    model_path: Path
    curve_path: Path
    trained: Summary
    random: Summary
    #: Environment steps SB3 actually took: it checks the budget only between collections (a rollout of
    #: ``n_steps`` per environment for PPO/A2C, ``train_freq`` steps per environment off-policy), so this is
    #: the steps asked rounded up to whole collections (``steps_per_collection``).
    steps_trained: int
    #: Episode length used for training and evaluation (None: the environment's registered limit).
    max_episode_steps: int | None
    #: Training episodes that ended (rows of the learning curve).
    episodes_trained: int
    steps_per_collection: int = 1
    n_envs: int = 1
    #: The hyperparameters used (the reproductions' entry updated with the user's), as given.
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    #: SB3's ``evaluations.npz`` (``eval_freq``), or None.
    evaluations_path: Path | None = None


def _callbacks(curve: CsvLog, steps: int, progress: str):
    from stable_baselines3.common.callbacks import BaseCallback

    class LearningCurve(BaseCallback):
        """Append (timestep, episode return, length) for every finished episode (VecMonitor's info); with
        ``lines``, print one line per tenth of the budget (flushed, so a pipe or log file shows it)."""

        def __init__(self) -> None:
            super().__init__()
            self.episodes = 0
            self.recent: deque[float] = deque(maxlen=20)
            self.next_line = max(steps // 10, 1)
            self.started = time.perf_counter()

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                episode = info.get("episode")
                if episode is not None:
                    self.episodes += 1
                    self.recent.append(float(episode["r"]))
                    curve.append({"timestep": self.num_timesteps, "return": float(episode["r"]),
                                  "length": int(episode["l"])})
            if progress == "lines" and self.num_timesteps >= self.next_line:
                self._print_line()
                while self.next_line <= self.num_timesteps:
                    self.next_line += max(steps // 10, 1)
            return True

        def _print_line(self) -> None:
            recent = (f", mean return of the last {len(self.recent)} episodes {np.mean(self.recent):.4g}"
                      if self.recent else ", no episode ended yet")
            print(f"  {self.num_timesteps:,}/{steps:,} steps ({100 * self.num_timesteps / steps:.0f}%), "
                  f"{time.perf_counter() - self.started:.0f} s{recent}", flush=True)

    return LearningCurve()


def _make_env(env_id: str, kwargs: dict[str, Any]) -> gym.Env:
    """One environment; module-level, so a ``SubprocVecEnv`` worker that unpickles it imports papergym."""
    return gym.make(env_id, **kwargs)


def training_env(env_id: str, n_envs: int, make_kwargs: dict[str, Any]):
    """SB3's ``VecEnv`` of ``n_envs`` copies, with ``VecMonitor``'s episode statistics: the id's native vector
    env (autoreset ``SameStep``) where it has one, else one process per copy (one copy: in this process)."""
    from functools import partial

    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

    if n_envs > 1 and gym.spec(env_id).vector_entry_point is not None:
        from papergym.wrappers.sb3 import SB3VecEnv

        envs = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                            autoreset_mode="SameStep", **make_kwargs)
        return VecMonitor(SB3VecEnv(envs))
    factories = [partial(_make_env, env_id, make_kwargs)] * n_envs
    return VecMonitor(SubprocVecEnv(factories) if n_envs > 1 else DummyVecEnv(factories))


def resolve_progress(progress: str) -> str:
    if progress not in PROGRESS_MODES:
        raise PapergymError(f"progress must be one of {', '.join(PROGRESS_MODES)}, got {progress!r}")
    if progress == "auto":
        import sys

        return "bar" if sys.stdout.isatty() else "lines"
    return progress


def train(env_id: str, algo: str, steps: int, seed: int, out_dir: Path, *, progress: str = "auto",
          eval_episodes: int = 20, env_kwargs: dict[str, Any] | None = None, max_episode_steps: int | None = None,
          n_envs: int | None = None, hyperparameters: dict[str, Any] | None = None,
          tensorboard_log: Path | None = None, eval_freq: int | None = None, threads: int = 1) -> TrainingResult:
    """Train ``algo`` on ``env_id``; save the model, its metadata, the learning curve (CSV and PNG).

    Hyperparameters: the reproductions' rl-zoo3 entry for (``env_id``, ``algo``) if there is one, updated
    with ``hyperparameters`` (rl-zoo3 keys: the model's keyword arguments, ``policy``, ``n_envs``,
    ``noise_type``/``noise_std``). ``n_envs`` (default: the entry's, else 1) copies collect in parallel.
    Episodes last ``max_episode_steps`` (default: the id's registered limit, or
    :data:`papergym.core.rollout.DEFAULT_EPISODE_LIMIT` for an id registered without one), in training
    and in the evaluation of the trained and the random policy alike. PPO and A2C shorten their rollouts
    when fewer steps are asked than one default rollout; otherwise SB3 trains whole rollouts, so the steps
    taken (reported) are the steps asked rounded up to a whole collection. ``eval_freq``: evaluate the
    policy on ``eval_episodes`` episodes every ``eval_freq`` steps into ``out_dir/evaluations.npz``.
    """
    require_int("steps", steps, low=1)
    require_int("eval_episodes", eval_episodes, low=1)
    require_int("threads", threads, low=1)
    if eval_freq is not None:
        require_int("eval_freq", eval_freq, low=1)
    progress = resolve_progress(progress)
    if tensorboard_log is not None and importlib.util.find_spec("tensorboard") is None:
        raise PapergymError("--tensorboard-log needs TensorBoard: pip install tensorboard")
    limit_threads(threads)  # before SB3 imports torch: its default pool contends for busy cores
    algorithm = algorithm_class(algo)
    limit = episode_limit(env_id, max_episode_steps)
    make_kwargs = dict(env_kwargs or {}) | ({"max_episode_steps": limit} if limit is not None else {})
    probe = gym.make(env_id, **make_kwargs)
    check_compatible(algo, probe.action_space)
    used = zoo_hyperparameters(env_id, algo) | dict(hyperparameters or {})
    n_envs = int(used.get("n_envs", 1)) if n_envs is None else n_envs
    require_int("n_envs", n_envs, low=1)
    kwargs = model_kwargs(used, action_space=probe.action_space)
    kwargs = _rollout_kwargs(algo, steps, n_envs, kwargs) | kwargs
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = training_env(env_id, n_envs, make_kwargs)
    try:
        model = algorithm(used.get("policy", POLICIES.get(algo, "MlpPolicy")), env, seed=seed, verbose=0,
                          device="cpu", tensorboard_log=None if tensorboard_log is None else str(tensorboard_log),
                          **kwargs)
    except TypeError as error:  # a hyperparameter the algorithm does not take
        raise PapergymError(f"{algo.upper()} hyperparameters {_printable(used)}: {error}") from None
    curve = CsvLog(out_dir / "learning_curve.csv", ["timestep", "return", "length"])
    callbacks = [_callbacks(curve, steps, progress)]
    evaluations = None
    if eval_freq is not None:
        callbacks.append(_eval_callback(env_id, make_kwargs, eval_freq, n_envs, eval_episodes, seed, out_dir,
                                        verbose=progress != "none"))
        evaluations = out_dir / "evaluations.npz"
    model.learn(total_timesteps=steps, callback=callbacks, progress_bar=progress == "bar")
    env.close()
    model_path = out_dir / "model.zip"
    model.save(model_path)
    (out_dir / METADATA_FILE).write_text(json.dumps(
        {"env_id": env_id, "algo": algo, "steps": int(model.num_timesteps), "steps_asked": steps, "seed": seed,
         "env_kwargs": env_kwargs or {}, "max_episode_steps": limit, "n_envs": n_envs,
         "hyperparameters": _printable(used)}, indent=2) + "\n")
    plot_learning_curve(curve.path, out_dir / "learning_curve.png", f"{algo.upper()} on {env_id}")
    eval_seed = seed + 10_000  # evaluation episodes never seen in training
    trained = evaluate(model, gym.make(env_id, **make_kwargs), eval_episodes, seed=eval_seed).summary()
    random_env = gym.make(env_id, **make_kwargs)
    random = evaluate(RandomAgent(random_env.observation_space, random_env.action_space, seed),
                      random_env, eval_episodes, seed=eval_seed).summary()
    return TrainingResult(model_path, curve.path, trained, random, int(model.num_timesteps), limit,
                          callbacks[0].episodes, steps_per_collection(model), n_envs, used, evaluations)


def _printable(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    return {key: value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)
            for key, value in hyperparameters.items()}


def steps_per_collection(model: Any) -> int:
    """Environment steps SB3 collects between two checks of the budget: a rollout of ``n_steps`` per
    environment on-policy, ``train_freq`` steps per environment off-policy (1 for a per-episode
    ``train_freq``: the budget is checked at every step of an episode)."""
    from stable_baselines3.common.type_aliases import TrainFrequencyUnit

    if hasattr(model, "n_steps"):
        return int(model.n_steps) * model.n_envs
    train_freq = getattr(model, "train_freq", None)
    if train_freq is not None and train_freq.unit == TrainFrequencyUnit.STEP:
        return int(train_freq.frequency) * model.n_envs
    return model.n_envs


def _eval_callback(env_id: str, make_kwargs: dict[str, Any], eval_freq: int, n_envs: int, episodes: int,
                   seed: int, out_dir: Path, verbose: bool):
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.monitor import Monitor

    eval_env = Monitor(gym.make(env_id, **make_kwargs))
    eval_env.reset(seed=seed + 20_000)  # episodes apart from training's and the final evaluation's
    # EvalCallback counts calls (one per step of all n_envs copies), as rl-zoo3 does: eval_freq // n_envs.
    return EvalCallback(eval_env, eval_freq=max(eval_freq // n_envs, 1), n_eval_episodes=episodes,
                        log_path=str(out_dir), deterministic=True, verbose=int(verbose))


def _rollout_kwargs(algo: str, steps: int, n_envs: int, chosen: dict[str, Any]) -> dict[str, int]:
    """Shorter rollouts for on-policy algorithms when fewer steps are asked than one default rollout of the
    ``n_envs`` copies (unless the hyperparameters set ``n_steps``)."""
    default = ON_POLICY_ROLLOUT.get(algo)
    per_env = steps // n_envs
    if default is None or "n_steps" in chosen or per_env >= default or per_env * n_envs < 2:
        return {}
    if algo == "ppo":  # mini-batches that split the rollout evenly (at most SB3's default 64)
        rollout = per_env * n_envs
        return {"n_steps": per_env, "batch_size": max((d for d in range(2, 65) if rollout % d == 0), default=rollout)}
    return {"n_steps": per_env}


def plot_learning_curve(csv_path: Path, png_path: Path, title: str, window: int = 20) -> None:
    """Episode returns against timesteps with a moving average."""
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    with Path(csv_path).open() as handle:
        rows = list(csv.DictReader(handle))
    timesteps = np.array([float(row["timestep"]) for row in rows])
    returns = np.array([float(row["return"]) for row in rows])
    figure, axes = plt.subplots(figsize=(6, 4))
    if rows:
        axes.plot(timesteps, returns, ".", alpha=0.3, label="episode return")
        if len(rows) >= window:
            smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
            axes.plot(timesteps[window - 1:], smooth, label=f"moving average ({window})")
        axes.legend()
    axes.set_xlabel("timestep")
    axes.set_ylabel("episode return")
    axes.set_title(title)
    save_figure(figure, png_path)
