"""Training SB3 algorithms on papergym environments, with a learning curve written as it grows."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.agents.training import (
    METADATA_FILE,
    POLICIES,
    algorithm_class,
    check_compatible,
    paper_hyperparameters,
)
from papergym.core.agent import RandomAgent
from papergym.core.errors import PapergymError
from papergym.core.rollout import episode_limit, evaluate
from papergym.core.stats import Summary
from papergym.experiments.reporting import CsvLog

#: Rollout length of SB3's on-policy algorithms (their default n_steps), shortened for shorter runs.
ON_POLICY_ROLLOUT = {"ppo": 2048, "a2c": 5}


@dataclass
class TrainingResult:
    model_path: Path
    curve_path: Path
    trained: Summary
    random: Summary
    #: Environment steps SB3 actually took: on-policy algorithms collect whole rollouts, off-policy ones
    #: whole ``train_freq`` chunks, so this can exceed the steps asked (never by more than one rollout).
    steps_trained: int
    #: Episode length used for training and evaluation (None: the environment's registered limit).
    max_episode_steps: int | None
    #: Training episodes that ended (rows of the learning curve).
    episodes_trained: int


def _learning_curve_callback(curve: CsvLog):
    from stable_baselines3.common.callbacks import BaseCallback

    class LearningCurve(BaseCallback):
        """Append (timestep, episode return, length) for every finished episode (Monitor's info)."""

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                episode = info.get("episode")
                if episode is not None:
                    curve.append({"timestep": self.num_timesteps, "return": float(episode["r"]),
                                  "length": int(episode["l"])})
            return True

    return LearningCurve()


def train(env_id: str, algo: str, steps: int, seed: int, out_dir: Path, *, progress_bar: bool = True,
          eval_episodes: int = 20, env_kwargs: dict[str, Any] | None = None,
          max_episode_steps: int | None = None) -> TrainingResult:
    """Train ``algo`` on ``env_id``; save the model, its metadata, the learning curve (CSV and PNG).

    Episodes last ``max_episode_steps`` (default: the id's registered limit, or
    :data:`papergym.core.rollout.DEFAULT_EPISODE_LIMIT` for an id registered without one), in training
    and in the evaluation of the trained and the random policy alike. PPO and A2C collect rollouts of at
    most ``steps`` steps, so a short run trains exactly ``steps``; the steps actually taken are reported.
    """
    from stable_baselines3.common.monitor import Monitor

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise PapergymError(f"steps must be an integer >= 1, got {steps!r}")
    if eval_episodes < 1:
        raise PapergymError(f"eval_episodes must be >= 1, got {eval_episodes!r}")
    algorithm = algorithm_class(algo)
    limit = episode_limit(env_id, max_episode_steps)
    make_kwargs = dict(env_kwargs or {}) | ({"max_episode_steps": limit} if limit is not None else {})
    env = Monitor(gym.make(env_id, **make_kwargs))
    check_compatible(algo, env.action_space)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env.reset(seed=seed)
    model = algorithm(POLICIES.get(algo, "MlpPolicy"), env, seed=seed, verbose=0,
                      **(_rollout_kwargs(algo, steps) | paper_hyperparameters(env_id, algo)))
    curve = CsvLog(out_dir / "learning_curve.csv", ["timestep", "return", "length"])
    model.learn(total_timesteps=steps, callback=_learning_curve_callback(curve), progress_bar=progress_bar)
    model_path = out_dir / "model.zip"
    model.save(model_path)
    (out_dir / METADATA_FILE).write_text(json.dumps(
        {"env_id": env_id, "algo": algo, "steps": int(model.num_timesteps), "steps_asked": steps, "seed": seed,
         "env_kwargs": env_kwargs or {}, "max_episode_steps": limit}, indent=2) + "\n")
    plot_learning_curve(curve.path, out_dir / "learning_curve.png", f"{algo.upper()} on {env_id}")
    eval_seed = seed + 10_000  # evaluation episodes never seen in training
    trained = evaluate(model, gym.make(env_id, **make_kwargs), eval_episodes, seed=eval_seed).summary()
    random_env = gym.make(env_id, **make_kwargs)
    random = evaluate(RandomAgent(random_env.observation_space, random_env.action_space, seed),
                      random_env, eval_episodes, seed=eval_seed).summary()
    episodes = len(env.get_episode_rewards())
    return TrainingResult(model_path, curve.path, trained, random, int(model.num_timesteps), limit, episodes)


def _rollout_kwargs(algo: str, steps: int) -> dict[str, int]:
    """Shorter rollouts for on-policy algorithms when fewer steps are asked than one default rollout."""
    default = ON_POLICY_ROLLOUT.get(algo)
    if default is None or steps >= default or steps < 2:
        return {}
    if algo == "ppo":  # mini-batches that split the rollout evenly (at most SB3's default 64)
        return {"n_steps": steps, "batch_size": max((d for d in range(2, 65) if steps % d == 0), default=steps)}
    return {"n_steps": steps}


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
