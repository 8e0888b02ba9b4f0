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

:class:`AuthorsDQN` runs the network the authors released (their ``models/model_weights88.pth``, with its
settings file) from files the user gives; the network's shape and the number of times its hidden layer is
applied come from those files (authors' repository veronicasaz/ThreeBodyProblem_astronomy at commit
583e67d32a45, ``TrainRL.py`` class ``DQN`` and ``TestEnvironment.py`` ``run_trajectory``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
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


#: The observation's energy term that the authors' environment shows at reset: their reset passes an energy
#: error of 1 to the state, so the term is -log10(1) = 0 (ours shows 16, the floor of a zero error).
AUTHORS_RESET_ENERGY_TERM = 0.0


class AuthorsDQN(BaseAgent):
    """The authors' released Q-network, acting greedily (their evaluation picks the arg-max action).

    Their network (``TrainRL.py``, class ``DQN``): ``relu(layer1(x))``, then ``relu(layer2(.))`` applied
    ``hidden_layers`` times with the *same* weights, then ``layer3`` over the actions; ``hidden_layers`` and
    the width come from the settings file released with the weights (``Training.hidden_layers`` = 9 and
    ``Training.neurons`` = 200 in ``settings_integration_3BP_hermite.json``; their root settings file says 5).
    Observations go in as float32, as in their ``run_trajectory``.

    Their environment's first observation carries an energy term of 0 (see
    :data:`AUTHORS_RESET_ENERGY_TERM`); ours carries 16. With ``authors_reset_observation`` (default) the
    term is replaced by 0 where ``episode_start`` is set, so the network sees at reset what it was trained on;
    every later observation is the same as theirs up to our clipping (positions and velocities beyond
    +-100, errors below 1e-16), which their trajectories do not reach.
    """

    def __init__(self, observation_space, action_space, action_values: np.ndarray, weights: str | Path,
                 settings: str | Path | None = None, authors_reset_observation: bool = True):
        super().__init__(observation_space, action_space)
        self.weights_path = Path(weights)
        self.settings_path = (Path(settings) if settings is not None
                              else self.weights_path.with_name("settings_integration_3BP_hermite.json"))
        self.settings = load_authors_settings(self.settings_path)
        self.hidden_layers = self.settings["hidden_layers"]
        _check_action_grid(self.settings, np.asarray(action_values, dtype=np.float64), self.settings_path)
        self.network = authors_network(self.weights_path, self.hidden_layers, observation_space.shape[0],
                                       action_space.n)
        self.authors_reset_observation = bool(authors_reset_observation)

    @classmethod
    def from_env(cls, env: gym.Env, weights: str | Path, settings: str | Path | None = None,
                 **kwargs: Any) -> AuthorsDQN:
        """The released network for ``env`` (whose action grid must be the one the network was trained on)."""
        return cls(env.observation_space, env.action_space, _action_values(env), weights, settings, **kwargs)

    def predict(self, observation: Any, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False):
        observation = np.array(observation, dtype=np.float64)
        if self.authors_reset_observation and episode_start is not None:
            batch = observation.reshape(-1, observation.shape[-1])
            batch[np.asarray(episode_start, dtype=bool).reshape(-1), -1] = AUTHORS_RESET_ENERGY_TERM
        return super().predict(observation, state, episode_start, deterministic)

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """The network's action values for a batch of observations, shape (batch, actions)."""
        import torch

        with torch.no_grad():
            return self.network(torch.as_tensor(np.asarray(observations), dtype=torch.float32)).numpy()

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return np.argmax(self.q_values(observations), axis=1).astype(np.int64)


def load_authors_settings(path: Path) -> dict[str, Any]:
    """What :class:`AuthorsDQN` needs of the authors' settings JSON: the network's width and repetitions,
    their integrator's action range, the number of actions and the reward weights."""
    if not path.is_file():
        raise PapergymError(f"the authors' settings file {str(path)!r} does not exist; it is "
                            "models/settings_integration_3BP_hermite.json in veronicasaz/ThreeBodyProblem_astronomy")
    try:
        data = json.loads(path.read_text())
        training, rl = data["Training"], data["RL"]
        found = {"hidden_layers": training["hidden_layers"], "neurons": training["neurons"],
                 "number_actions": rl["number_actions"], "range_action": rl["range_action"]["Hermite"],
                 "weights": rl["weights"]}
    except (ValueError, KeyError, TypeError) as error:
        raise PapergymError(f"{str(path)!r} is not the authors' settings file (Training.hidden_layers, "
                            f"Training.neurons, RL.number_actions, RL.range_action.Hermite, RL.weights): "
                            f"{type(error).__name__}: {error}") from None
    for key in ("hidden_layers", "neurons", "number_actions"):
        if isinstance(found[key], bool) or not isinstance(found[key], int) or found[key] < (key != "hidden_layers"):
            raise PapergymError(f"{str(path)!r}: {key} must be a non-negative integer, got {found[key]!r}")
    return found


def _check_action_grid(settings: dict[str, Any], action_values: np.ndarray, path: Path) -> None:
    low, high = settings["range_action"]
    grid = np.logspace(np.log10(low), np.log10(high), settings["number_actions"])
    if grid.shape != action_values.shape or not np.allclose(grid, action_values, rtol=1e-9):
        raise PapergymError(f"{str(path)!r}: the network was trained on {settings['number_actions']} eta values "
                            f"log-spaced in [{low:g}, {high:g}], the environment's actions are "
                            f"{action_values.tolist()}")


def authors_network(path: Path, hidden_layers: int, observations: int, actions: int):
    """The authors' Q-network (a ``torch.nn.Module``) with the state dict at ``path`` loaded."""
    import torch

    if not path.is_file():
        raise PapergymError(f"the authors' network weights {str(path)!r} do not exist; they are "
                            "models/model_weights88.pth in veronicasaz/ThreeBodyProblem_astronomy")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a file that is not a state dict
        raise PapergymError(f"{str(path)!r} is not a PyTorch state dict: {type(error).__name__}: {error}") from None
    shapes = {key: tuple(value.shape) for key, value in state.items()} if isinstance(state, dict) else {}
    width = shapes.get("layer1.weight", (0,))[0]
    expected = {"layer1.weight": (width, observations), "layer1.bias": (width,), "layer2.weight": (width, width),
                "layer2.bias": (width,), "layer3.weight": (actions, width), "layer3.bias": (actions,)}
    if shapes != expected:
        raise PapergymError(f"{str(path)!r} does not hold the authors' network for {observations} observations and "
                            f"{actions} actions (layer1, layer2, layer3); it holds {shapes}")
    network = _authors_module(width, hidden_layers, observations, actions)
    network.load_state_dict(state)
    return network.eval()


def _authors_module(width: int, hidden_layers: int, observations: int, actions: int):
    import torch

    class RepeatedHiddenLayerNetwork(torch.nn.Module):
        """One input layer, one hidden layer applied ``hidden_layers`` times, one output layer (ReLU)."""

        def __init__(self):
            super().__init__()
            self.layer1 = torch.nn.Linear(observations, width)
            self.layer2 = torch.nn.Linear(width, width)
            self.layer3 = torch.nn.Linear(width, actions)

        def forward(self, x):
            x = torch.relu(self.layer1(x))
            for _ in range(hidden_layers):
                x = torch.relu(self.layer2(x))
            return self.layer3(x)

    return RepeatedHiddenLayerNetwork()


__all__ = ["AUTHORS_RESET_ENERGY_TERM", "PAPER_EPISODES", "PAPER_TIMESTEPS", "AuthorsDQN", "DistanceHeuristic",
           "FixedEta", "dqn_hyperparameters", "make_dqn", "nearest_index"]
