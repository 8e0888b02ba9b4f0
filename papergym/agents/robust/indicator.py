"""IWOCS's in-distribution indicator (:class:`TransitionModel`) and the exploring agent whose episodes
it is fitted on."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym
import numpy as np

from papergym.agents.robust.evaluation import Episode
from papergym.core.agent import Agent, BaseAgent
from papergym.core.errors import PapergymError
from papergym.core.validation import require_real


def _action_features(action_space: gym.Space, actions: np.ndarray, count: int) -> np.ndarray:
    """Actions as regression features: one-hot for a discrete space, the flattened vector otherwise."""
    if isinstance(action_space, gym.spaces.Discrete):
        indices = np.asarray(actions, dtype=np.int64).reshape(count) - int(action_space.start)
        return np.eye(int(action_space.n))[indices]
    return np.asarray(actions, dtype=np.float64).reshape(count, -1)


#: Regression features of IWOCS's indicator: (s, a, 1), or with every product of two entries of (s, a) too.
INDICATOR_FEATURES = ("linear", "quadratic")


class TransitionModel:
    """IWOCS's in-distribution indicator: does one model's data explain the transitions observed?

    The paper decides, per member, whether the current state lies in the distribution its critic was
    trained on, with a predictive-coding model. This indicator predicts the next observation: a ridge
    regression of s' - s on (s, a, 1) (``features="linear"``) or on (s, a, 1) and the products of every two
    entries of (s, a) (``"quadratic"``), fitted on the member's own transitions on its own model. The error
    of a transition (s, a, s') is the root mean square over dimensions of the prediction error divided by
    ``scale`` (by default the spread of s' - s in the data; IWOCS gives every member the same scale, so
    that members' errors are comparable); ``threshold`` is the ``quantile`` of the errors on held-out
    episodes (each episode predicted by a fit on the others). A transition of another model (other
    masses, lengths or frictions) has larger errors, so the indicator also tells which members' models are
    consistent with the dynamics being experienced.
    """

    def __init__(self, episodes: list[Episode], action_space: gym.Space, quantile: float = 0.95,
                 ridge: float = 1e-6, scale: np.ndarray | None = None, features: str = "linear"):
        if len(episodes) < 2:
            raise PapergymError(f"episodes must hold at least 2 episodes, got {len(episodes)}")
        if features not in INDICATOR_FEATURES:
            raise PapergymError(f"features must be one of {', '.join(INDICATOR_FEATURES)}, got {features!r}")
        self.action_space, self.feature_kind = action_space, features
        self.quantile = require_real("quantile", quantile, low=0.0, high=1.0)
        self.ridge = float(ridge)
        data = [self._arrays(episode) for episode in episodes]
        features = np.concatenate([x for x, _ in data])
        targets = np.concatenate([y for _, y in data])
        self.coef = self._fit(features, targets)
        if scale is None:
            spread = targets.std(axis=0)
            scale = np.maximum(spread, 1e-6 * (1e-9 + spread.max()))
        self.scale = np.asarray(scale, dtype=np.float64)
        held_out = []
        for i, (x, y) in enumerate(data):
            others = [j for j in range(len(data)) if j != i]
            coef = self._fit(np.concatenate([data[j][0] for j in others]), np.concatenate([data[j][1] for j in others]))
            held_out.append(self._scaled_error(x, y, coef))
        self.threshold = float(np.quantile(np.concatenate(held_out), self.quantile))

    def _arrays(self, episode: Episode) -> tuple[np.ndarray, np.ndarray]:
        observations = np.asarray(episode.observations, dtype=np.float64).reshape(len(episode.observations), -1)
        return (self.features(observations[:-1], episode.actions), observations[1:] - observations[:-1])

    def features(self, observations: np.ndarray, actions: np.ndarray) -> np.ndarray:
        count = len(observations)
        inputs = np.hstack([np.asarray(observations, dtype=np.float64).reshape(count, -1),
                            _action_features(self.action_space, actions, count)])
        if self.feature_kind == "quadratic":
            rows, columns = np.triu_indices(inputs.shape[1])
            inputs = np.hstack([inputs, inputs[:, rows] * inputs[:, columns]])
        return np.hstack([inputs, np.ones((count, 1))])

    def _fit(self, features: np.ndarray, targets: np.ndarray) -> np.ndarray:
        gram = features.T @ features + self.ridge * np.eye(features.shape[1])
        return np.linalg.solve(gram, features.T @ targets)

    def _scaled_error(self, features: np.ndarray, targets: np.ndarray, coef: np.ndarray) -> np.ndarray:
        return np.sqrt((((targets - features @ coef) / self.scale) ** 2).mean(axis=1))

    def errors(self, observations: np.ndarray, actions: np.ndarray, next_observations: np.ndarray) -> np.ndarray:
        """The scaled prediction error of each transition of a batch."""
        observations = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
        following = np.asarray(next_observations, dtype=np.float64).reshape(len(observations), -1)
        return self._scaled_error(self.features(observations, actions), following - observations, self.coef)

    def explains(self, observations: np.ndarray, actions: np.ndarray, next_observations: np.ndarray) -> np.ndarray:
        return self.errors(observations, actions, next_observations) <= self.threshold

    def state(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "scale": self.scale, "threshold": np.array(self.threshold),
                "quantile": np.array(self.quantile), "ridge": np.array(self.ridge),
                "features": np.array(self.feature_kind)}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], action_space: gym.Space) -> TransitionModel:
        model = cls.__new__(cls)
        model.action_space = action_space
        model.coef, model.scale = np.asarray(state["coef"]), np.asarray(state["scale"])
        model.threshold, model.quantile = float(state["threshold"]), float(state["quantile"])
        model.ridge = float(state["ridge"])
        model.feature_kind = str(state["features"]) if "features" in state else "linear"
        return model


class _Exploring(BaseAgent):
    """``agent``'s deterministic action, replaced with probability ``epsilon`` by a uniformly random one.

    The indicator's data: a specialist that controls its model well visits a small neighbourhood of its
    trajectory, too little to identify the dynamics; its inner learner's own data are exploratory too.
    """

    def __init__(self, agent: Agent, observation_space: gym.Space, action_space: gym.Space, epsilon: float,
                 seed: int):
        super().__init__(observation_space, action_space, seed)
        self.agent, self.epsilon = agent, float(epsilon)

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        actions = np.array(self.agent.predict(observations, deterministic=True)[0], copy=True)
        explore = self.rng.random(len(observations)) < self.epsilon
        if explore.any():
            actions[explore] = self._random(int(explore.sum())).reshape(actions[explore].shape)
        return actions

    def _random(self, count: int) -> np.ndarray:
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            return int(space.start) + self.rng.integers(int(space.n), size=count)
        if isinstance(space, gym.spaces.Box) and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)):
            return self.rng.uniform(space.low, space.high, size=(count, *space.shape)).astype(space.dtype)
        raise PapergymError(f"IWOCS's indicator explores with uniform random actions: it needs a Discrete or "
                         f"bounded Box action space, got {space}")
