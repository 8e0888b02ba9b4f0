"""Agents for papergym/ThreeBody-v0 (Saz Ulibarrena & Portegies Zwart, 2025): fixed accuracy parameters,
a distance heuristic, and the paper's DQN on Stable-Baselines3 with the authors' settings.

The authors' DQN is hand-written; :func:`dqn_hyperparameters` gives SB3's DQN their settings where SB3
allows and says where it differs:

- network: their Q-network is a 200-wide input layer, then *one* 200-wide hidden layer applied 9 times
  with the same weights, then the output layer. SB3's MLP cannot tie weights; we use two 200-wide hidden
  layers (the same distinct parameters, without the 9-fold reuse).
- AdamW with learning rate 1e-3, Huber loss (SB3's DQN loss), gamma 0.99, replay buffer 10^4, batch 1000
  (the paper; their settings file has 128), soft target updates with tau = 0.005 after every step,
  learning from the first full batch.
- gradient clipping: theirs clips each gradient value at 100; SB3 clips the gradient norm at 100.
- exploration: epsilon from 0.9 to 0.05. Their decay ``0.05 + 0.85 exp(-steps / 1000)`` restarts every
  episode, so with at most 100 steps per episode their play stays 80-90 % random throughout training; ours
  decays once, linearly, over the first half of training (``exploration_fraction=0.5``), then stays at 0.05.
- training length: 1000 episodes of at most 100 steps, i.e. at most 10^5 environment steps.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.agents.training import algorithm_class
from papergym.core.agent import BaseAgent
from papergym.core.errors import PapergymError
from papergym.core.validation import require_positive

#: The authors' training length: 1000 episodes of at most 100 steps.
PAPER_EPISODES = 1000
PAPER_TIMESTEPS = PAPER_EPISODES * 100


def _action_values(env: gym.Env) -> np.ndarray:
    """The accuracy parameters the env's actions index; refuses an env that is not a three-body one."""
    values = getattr(env.unwrapped, "action_values", None)
    if values is None:
        raise PapergymError(f"three-body agents need papergym/ThreeBody-v0, got {env.unwrapped!r}")
    return np.asarray(values, dtype=np.float64)


def nearest_index(values: np.ndarray, target: float) -> int:
    """The index of the grid value closest to ``target`` in log scale."""
    return int(np.argmin(np.abs(np.log(values) - math.log(target))))


class FixedEta(BaseAgent):
    """Always the same action: the grid value nearest to ``eta`` (the paper's fixed-eta baselines)."""

    def __init__(self, observation_space, action_space, index: int):
        super().__init__(observation_space, action_space)
        if not 0 <= index < action_space.n:
            raise PapergymError(f"index must be in [0, {action_space.n - 1}], got {index}")
        self.index = int(index)

    @classmethod
    def from_env(cls, env: gym.Env, eta: float | None = None) -> FixedEta:
        """Fixed at ``eta`` (nearest grid value); without ``eta``, the middle of the grid."""
        values = _action_values(env)
        index = len(values) // 2 if eta is None else nearest_index(values, require_positive("eta", eta))
        return cls(env.observation_space, env.action_space, index)

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return np.full(len(observations), self.index, dtype=np.int64)


class DistanceHeuristic(BaseAgent):
    """Shrink the accuracy parameter as the closest pair approaches.

    With ``d`` the smallest pair distance (from the observation's positions, au), the target value is
    interpolated in log scale from ``eta_near`` (at ``d <= near_au``) to ``eta_far`` (at ``d >= far_au``) and
    the nearest grid value is taken. Defaults (set by hand, not tuned): 0.5 and 10 au (the initial
    separations are 5-25 au) and eta from 1e-3 to 1e-2, the knee of the fixed-eta error/work curve; over the
    whole grid (1e-4 to 1e-1) the rule spends most of its work in encounters and most of its error far from
    them. The Hermite step already shrinks with the closest pair's timescale, so this rule only adds accuracy
    on top of that where a chaotic encounter happens.
    """

    def __init__(self, observation_space, action_space, action_values: np.ndarray, near_au: float = 0.5,
                 far_au: float = 10.0, eta_near: float = 1e-3, eta_far: float = 1e-2):
        super().__init__(observation_space, action_space)
        self.action_values = np.asarray(action_values, dtype=np.float64)
        self.near_au = require_positive("near_au", near_au)
        self.far_au = require_positive("far_au", far_au)
        if self.far_au <= self.near_au:
            raise PapergymError(f"far_au must exceed near_au, got near_au={near_au}, far_au={far_au}")
        self.log_eta_near = math.log(require_positive("eta_near", eta_near))
        self.log_eta_far = math.log(require_positive("eta_far", eta_far))

    @classmethod
    def from_env(cls, env: gym.Env, **kwargs: float) -> DistanceHeuristic:
        return cls(env.observation_space, env.action_space, _action_values(env), **kwargs)

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return np.array([self._index(observation) for observation in observations], dtype=np.int64)

    def _index(self, observation: np.ndarray) -> int:
        positions = np.asarray(observation[:6], dtype=np.float64).reshape(3, 2) * 10.0
        closest = min(np.linalg.norm(positions[i] - positions[j]) for i, j in ((0, 1), (0, 2), (1, 2)))
        fraction = math.log(max(closest, 1e-12) / self.near_au) / math.log(self.far_au / self.near_au)
        fraction = min(max(fraction, 0.0), 1.0)
        target = self.log_eta_near + fraction * (self.log_eta_far - self.log_eta_near)
        return nearest_index(self.action_values, math.exp(target))


def dqn_hyperparameters(batch_size: int = 1000, buffer_size: int = 10_000, learning_rate: float = 1e-3,
                        width: int = 200, exploration_fraction: float = 0.5) -> dict[str, Any]:
    """SB3 ``DQN`` keyword arguments with the authors' settings (see the module docstring for differences)."""
    import torch

    return {
        "learning_rate": learning_rate,
        "buffer_size": buffer_size,
        "learning_starts": batch_size,
        "batch_size": batch_size,
        "tau": 0.005,
        "gamma": 0.99,
        "train_freq": 1,
        "gradient_steps": 1,
        "target_update_interval": 1,
        "exploration_initial_eps": 0.9,
        "exploration_final_eps": 0.05,
        "exploration_fraction": exploration_fraction,
        "max_grad_norm": 100.0,
        "policy_kwargs": {"net_arch": [width, width], "optimizer_class": torch.optim.AdamW},
    }


def make_dqn(env: gym.Env | str, seed: int, **overrides: Any):
    """An SB3 DQN on ``env`` with :func:`dqn_hyperparameters` (``overrides`` go to that function)."""
    return algorithm_class("dqn")("MlpPolicy", env, seed=seed, verbose=0, device="cpu",
                                  **dqn_hyperparameters(**overrides))


__all__ = ["PAPER_EPISODES", "PAPER_TIMESTEPS", "DistanceHeuristic", "FixedEta", "dqn_hyperparameters",
           "make_dqn", "nearest_index"]
