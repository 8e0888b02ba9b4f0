"""Training SB3 algorithms on papergym environments, with a learning curve written as it grows."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.core.agent import RandomAgent
from papergym.core.rollout import evaluate
from papergym.core.stats import Summary
from papergym.experiments.reporting import CsvLog

ALGORITHMS = ("ppo", "a2c", "dqn", "sac", "td3", "pois", "ttpois")
#: POIS and TT-POIS (papergym.agents.ttpois) train their action-based policy; SB3's algorithms an MLP.
POLICIES = {"pois": "ActionPolicy", "ttpois": "ActionPolicy"}
CONTINUOUS_ONLY = {"sac", "td3"}
DISCRETE_ONLY = {"dqn"}
METADATA_FILE = "papergym.json"


@dataclass
class TrainingResult:
    model_path: Path
    curve_path: Path
    trained: Summary
    random: Summary


def algorithm_class(name: str):
    """The SB3 class for ``name`` (one of ALGORITHMS)."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    if name in POLICIES:
        from papergym.agents import ttpois

        return getattr(ttpois, name.upper())
    import stable_baselines3

    return getattr(stable_baselines3, name.upper())


def check_compatible(name: str, action_space: gym.Space) -> None:
    """Refuse algorithm/action-space pairs SB3 does not support, with the reason."""
    discrete = isinstance(action_space, gym.spaces.Discrete)
    if name in CONTINUOUS_ONLY and discrete:
        raise ValueError(f"{name} needs a continuous (Box) action space; this environment's is {action_space}")
    if name in DISCRETE_ONLY and not discrete:
        raise ValueError(f"{name} needs a Discrete action space; this environment's is {action_space}")


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
          eval_episodes: int = 20, env_kwargs: dict[str, Any] | None = None) -> TrainingResult:
    """Train ``algo`` on ``env_id``; save the model, its metadata, the learning curve (CSV and PNG)."""
    from stable_baselines3.common.monitor import Monitor

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    algorithm = algorithm_class(algo)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = Monitor(gym.make(env_id, **(env_kwargs or {})))
    check_compatible(algo, env.action_space)
    env.reset(seed=seed)
    model = algorithm(POLICIES.get(algo, "MlpPolicy"), env, seed=seed, verbose=0)
    curve = CsvLog(out_dir / "learning_curve.csv", ["timestep", "return", "length"])
    model.learn(total_timesteps=steps, callback=_learning_curve_callback(curve), progress_bar=progress_bar)
    model_path = out_dir / "model.zip"
    model.save(model_path)
    (out_dir / METADATA_FILE).write_text(json.dumps(
        {"env_id": env_id, "algo": algo, "steps": steps, "seed": seed, "env_kwargs": env_kwargs or {}},
        indent=2) + "\n")
    plot_learning_curve(curve.path, out_dir / "learning_curve.png", f"{algo.upper()} on {env_id}")
    eval_seed = seed + 10_000  # evaluation episodes never seen in training
    trained = evaluate(model, env_id, eval_episodes, seed=eval_seed).summary()
    random_env = gym.make(env_id, **(env_kwargs or {}))
    random = evaluate(RandomAgent(random_env.observation_space, random_env.action_space, seed),
                      random_env, eval_episodes, seed=eval_seed).summary()
    return TrainingResult(model_path, curve.path, trained, random)


def plot_learning_curve(csv_path: Path, png_path: Path, title: str, window: int = 20) -> None:
    """Episode returns against timesteps with a moving average."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    figure.tight_layout()
    figure.savefig(png_path, dpi=120)
    plt.close(figure)


def load_model(path: Path, algo: str | None = None):
    """Load a saved SB3 model; the algorithm comes from ``algo``, the metadata beside it, or a trial."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no saved model at {path}")
    metadata = path.parent / METADATA_FILE
    if algo is None and metadata.exists():
        algo = json.loads(metadata.read_text()).get("algo")
    candidates = [algo] if algo else list(ALGORITHMS)
    for name in candidates:
        try:
            return algorithm_class(name).load(path, device="cpu")
        except (KeyError, ValueError, TypeError, AttributeError, RuntimeError):
            continue
    raise ValueError(f"could not load {path} as any of {', '.join(candidates)}")
