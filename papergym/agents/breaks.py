"""The break policies of "Learning to Suggest Breaks" (Saig & Rosenfeld, ICML 2023) and their baselines.

The paper's learning setting: training users are randomly assigned a break rate from the treatments
{0, 0.05, 0.10, 0.15} (70% / 10% / 10% / 10%) and their engagement is observed; one regressor per treatment
maps user features to engagement. For a new user,

* :class:`LVBreakPolicy` predicts the engagement at the four treatments, fits the LV equilibrium curve
  lambda(p) = theta2 / (1-p) - theta1 / (1-p)^2 to them by non-negative least squares and suggests
  p_hat = clip(1 - 2 theta1 / theta2, 0, 0.5), the maximiser of the fitted curve;
* :class:`BestOfTreatment` takes the treatment with the highest predicted engagement;
* :class:`NoBreaks` never suggests a break (the status quo the gains are measured against);
* :class:`SafetyRateLimiter`: when the rate over the last 10 events exceeds a threshold (16 or 14), every
  slot is a break until the next multiple of 0.5 time units (a per-event rule: the reproduction runs it
  inside the event simulation; on ``Breaks-v0`` it decides per period from the observed recent rate);
* :class:`PaperOracle` does the LV fit on each user's own simulated engagement at the four treatments,
  :class:`OracleLV` plays each user's true p* (the paper's upper bound);
* :class:`AdaptiveLVBreakPolicy` starts with the LV policy's rate and, from ``refit_time`` on, re-fits the
  user's reinforcement beta from the ratings of the items they consumed and plays 1 - 2 alpha / beta_hat.

Every agent reads the user's features from the first entries of the observation, so one agent serves both
``papergym/Breaks-v0`` and ``papergym/BreaksBandit-v0``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from scipy.optimize import nnls

from papergym.core.agent import BaseAgent
from papergym.core.errors import PapergymError
from papergym.core.validation import require_positive, require_real
from papergym.envs.breaks.breaks import ENGAGEMENT_FIELDS, FEATURE_BOUND
from papergym.envs.breaks.model import (
    MAX_BREAK_RATE,
    PAPER_TREATMENTS,
    LVParams,
    optimal_break_rate,
)
from papergym.envs.breaks.world import BreaksWorld

#: The paper's split of the training users across the treatments.
PAPER_TREATMENT_SHARES = (0.7, 0.1, 0.1, 0.1)
PAPER_RATE_LIMITS = (16.0, 14.0)
PAPER_REFIT_TIMES = (0.5, 5.0, 50.0)
_TRAINED: dict[tuple, TreatmentRegressors] = {}
_RECENT_RATE = ENGAGEMENT_FIELDS.index("recent_rate")
_TIME = ENGAGEMENT_FIELDS.index("time_elapsed")
_RATED = ENGAGEMENT_FIELDS.index("rated_1")


# --- the LV curve fit -----------------------------------------------------------------------------------------


def fit_equilibrium_curve(break_rates: Sequence[float], engagements: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per user (row of ``engagements``), the non-negative least-squares (theta1, theta2) of
    lambda(p) = theta2 / (1-p) - theta1 / (1-p)^2 through the points (break_rates[k], engagements[:, k])."""
    engagements = np.atleast_2d(np.asarray(engagements, dtype=np.float64))
    a = 1.0 - np.asarray(break_rates, dtype=np.float64)
    design = np.column_stack([-1.0 / a**2, 1.0 / a])
    thetas = np.array([nnls(design, row)[0] for row in engagements])
    return thetas[:, 0], thetas[:, 1]


def lv_break_rates(theta1: np.ndarray, theta2: np.ndarray, max_break_rate: float = MAX_BREAK_RATE) -> np.ndarray:
    """p_hat = clip(1 - 2 theta1 / theta2, 0, max_break_rate); no breaks where the fit is empty (theta2 = 0)."""
    theta1, theta2 = np.asarray(theta1, dtype=np.float64), np.asarray(theta2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(theta2 > 0, 1.0 - 2.0 * theta1 / theta2, 0.0)
    return np.clip(rates, 0.0, max_break_rate)


def refit_break_rates(histograms: np.ndarray, params: LVParams, max_break_rate: float = MAX_BREAK_RATE,
                      fallback: Any = 0.0) -> np.ndarray:
    """The adaptive re-fit: beta_hat = the mean beta_r of the observed ratings, p = clip(1 - 2 alpha / beta_hat).

    Users with no observed rating keep ``fallback``.
    """
    histograms = np.atleast_2d(np.asarray(histograms, dtype=np.float64))
    counts = histograms.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta_hat = histograms @ params.beta_array / counts
    refit = np.clip(optimal_break_rate(np.where(counts > 0, beta_hat, np.inf), params), 0.0, max_break_rate)
    return np.where(counts > 0, refit, np.broadcast_to(fallback, counts.shape))


# --- engagement predictors ------------------------------------------------------------------------------------


@dataclass
class LinearEngagementModel:
    """Ordinary least squares with an intercept, from user features to engagement (the paper's predictor)."""

    coefficients: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, engagement: np.ndarray) -> LinearEngagementModel:
        design = np.column_stack([np.ones(len(features)), features])
        return cls(np.linalg.lstsq(design, engagement, rcond=None)[0])

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.coefficients[0] + np.asarray(features, dtype=np.float64) @ self.coefficients[1:]


@dataclass
class TreatmentRegressors:
    """One engagement regressor per treatment (break rate)."""

    treatments: tuple[float, ...]
    models: tuple[LinearEngagementModel, ...]

    @classmethod
    def fit(cls, features: np.ndarray, assigned: np.ndarray, engagement: np.ndarray,
            treatments: Sequence[float] = PAPER_TREATMENTS) -> TreatmentRegressors:
        models = []
        for treatment in treatments:
            chosen = np.isclose(assigned, treatment)
            if chosen.sum() <= features.shape[1] + 1:
                raise PapergymError(f"treatment {treatment} has {int(chosen.sum())} training users; the regression "
                                 f"needs more than {features.shape[1] + 1}")
            models.append(LinearEngagementModel.fit(features[chosen], engagement[chosen]))
        return cls(tuple(float(t) for t in treatments), tuple(models))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted engagement, shape (users, treatments)."""
        return np.column_stack([model.predict(features) for model in self.models])


def randomised_experiment(world: BreaksWorld, users: np.ndarray, rng: np.random.Generator,
                          treatments: Sequence[float] = PAPER_TREATMENTS,
                          shares: Sequence[float] = PAPER_TREATMENT_SHARES) -> tuple[np.ndarray, np.ndarray]:
    """Assign each training user a treatment (in the given shares) and simulate their engagement under it."""
    users = np.asarray(users, dtype=np.int64)
    counts = np.floor(np.asarray(shares) * len(users)).astype(np.int64)
    counts[0] += len(users) - counts.sum()
    assigned = rng.permutation(np.repeat(np.asarray(treatments, dtype=np.float64), counts))
    return assigned, world.engagement(rng, users, assigned)


def train_regressors(world: BreaksWorld, users: np.ndarray, rng: np.random.Generator,
                     treatments: Sequence[float] = PAPER_TREATMENTS) -> TreatmentRegressors:
    """The paper's training: a randomised experiment on ``users``, then one regressor per treatment."""
    assigned, engagement = randomised_experiment(world, users, rng, treatments)
    return TreatmentRegressors.fit(world.features[users], assigned, engagement, treatments)


# --- agents ---------------------------------------------------------------------------------------------------


def _breaks_env(env: gym.Env) -> Any:
    unwrapped = getattr(env, "unwrapped", env)
    if not isinstance(getattr(unwrapped, "world", None), BreaksWorld):
        raise PapergymError(f"the break agents need a papergym Breaks environment, got {type(unwrapped).__name__}")
    return unwrapped


class BreakRateAgent(BaseAgent):
    """An agent that sets a break probability from the observation; subclasses implement ``break_rates``.

    On a discrete action space (``BreaksBandit-v0`` with ``discrete=True``) the nearest treatment is played.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, n_features: int,
                 treatments: Sequence[float] = PAPER_TREATMENTS, seed: int | None = None):
        super().__init__(observation_space, action_space, seed)
        self.n_features = int(n_features)
        self.treatments = np.asarray(treatments, dtype=np.float64)

    @classmethod
    def _env_spaces(cls, env: gym.Env) -> dict[str, Any]:
        unwrapped = _breaks_env(env)
        return {"observation_space": env.observation_space, "action_space": env.action_space,
                "n_features": unwrapped.world.population.n_features,
                "treatments": getattr(unwrapped, "treatments", PAPER_TREATMENTS)}

    def features(self, observations: np.ndarray) -> np.ndarray:
        return np.asarray(observations, dtype=np.float64)[:, :self.n_features]

    def break_rates(self, observations: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        rates = self.break_rates(np.asarray(observations))
        if isinstance(self.action_space, spaces.Discrete):
            return np.argmin(np.abs(rates[:, None] - self.treatments[None, :]), axis=1)
        high = float(self.action_space.high.reshape(-1)[0])
        return np.clip(rates, 0.0, high).astype(np.float32)[:, None]


class NoBreaks(BreakRateAgent):
    """p = 0 for every user: the status quo."""

    @classmethod
    def from_env(cls, env: gym.Env) -> NoBreaks:
        return cls(**cls._env_spaces(env))

    def break_rates(self, observations: np.ndarray) -> np.ndarray:
        return np.zeros(len(observations))


class _RegressorPolicy(BreakRateAgent):
    def __init__(self, regressors: TreatmentRegressors, **kwargs: Any):
        super().__init__(**kwargs)
        self.regressors = regressors

    @classmethod
    def from_env(cls, env: gym.Env, seed: int = 0, **kwargs: Any):
        """Train on the environment's population (its training users) with the paper's randomised experiment.

        The experiment of a (population, training users, seed) is run once per process and shared by every
        agent built from it.
        """
        unwrapped = _breaks_env(env)
        users = training_users(unwrapped)
        key = (repr(unwrapped.world.build_arguments), users.tobytes(), seed)
        if key not in _TRAINED or not unwrapped.world.build_arguments:
            _TRAINED[key] = train_regressors(unwrapped.world, users, np.random.default_rng(seed))
        return cls(_TRAINED[key], **cls._env_spaces(env), **kwargs)


class LVBreakPolicy(_RegressorPolicy):
    """The paper's policy: the LV equilibrium curve fitted (NNLS) to the predicted engagements, maximised."""

    def __init__(self, regressors: TreatmentRegressors, max_break_rate: float = MAX_BREAK_RATE, **kwargs: Any):
        super().__init__(regressors, **kwargs)
        self.max_break_rate = require_real("max_break_rate", max_break_rate, low=0.0, high=1.0)

    def break_rates(self, observations: np.ndarray) -> np.ndarray:
        predictions = self.regressors.predict(self.features(observations))
        return lv_break_rates(*fit_equilibrium_curve(self.regressors.treatments, predictions), self.max_break_rate)


class BestOfTreatment(_RegressorPolicy):
    """The treatment with the highest predicted engagement."""

    def break_rates(self, observations: np.ndarray) -> np.ndarray:
        predictions = self.regressors.predict(self.features(observations))
        return np.asarray(self.regressors.treatments)[np.argmax(predictions, axis=1)]


class SafetyRateLimiter(BreakRateAgent):
    """Every slot a break while the rate over the last 10 events exceeds ``threshold`` (16 or 14 in the paper).

    The paper's rule acts at the event that crosses the threshold and cools down until the next multiple of
    0.5 time units; ``rate_limit`` carries the threshold into the event simulation (as the reproduction runs
    it). On ``Breaks-v0`` it decides per period from the observed recent rate: p = 1 for the next period
    when that rate exceeds the threshold, else 0.
    """

    def __init__(self, threshold: float, rate_scale: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate_limit = require_positive("threshold", threshold)
        self.rate_scale = require_positive("rate_scale", rate_scale)

    @classmethod
    def from_env(cls, env: gym.Env, threshold: float = PAPER_RATE_LIMITS[0]) -> SafetyRateLimiter:
        params = _breaks_env(env).world.params
        return cls(threshold, params.gamma / params.delta, **cls._env_spaces(env))

    def break_rates(self, observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float64)
        if observations.shape[1] <= self.n_features + _RECENT_RATE:
            raise PapergymError("SafetyRateLimiter needs the observed recent rate (papergym/Breaks-v0 observations)")
        recent = observations[:, self.n_features + _RECENT_RATE] * self.rate_scale
        return np.where(recent > self.rate_limit, 1.0, 0.0)


class _PerUserPolicy(BreakRateAgent):
    """A policy that knows each user (an oracle): the user is recognised by their features.

    ``rates_for(users)`` gives the break rates of population users; each user's rate is computed the first
    time the user is seen and kept.
    """

    def __init__(self, rates_for: Callable[[np.ndarray], np.ndarray], user_features: np.ndarray, **kwargs: Any):
        super().__init__(**kwargs)
        self.rates_for = rates_for
        self._users = {_feature_key(row): user for user, row in enumerate(user_features)}
        self._known: dict[int, float] = {}

    def break_rates(self, observations: np.ndarray) -> np.ndarray:
        keys = [_feature_key(row) for row in self.features(observations)]
        missing = [index for index, key in enumerate(keys) if key not in self._users]
        if missing:
            raise PapergymError(f"observation {missing[0]} does not belong to a user this oracle knows")
        users = np.array([self._users[key] for key in keys], dtype=np.int64)
        new = np.unique(users[[user not in self._known for user in users]])
        if len(new):
            self._known.update(zip(new.tolist(), self.rates_for(new).tolist()))
        return np.array([self._known[user] for user in users])


def _feature_key(features: np.ndarray) -> bytes:
    return np.clip(np.asarray(features, dtype=np.float64), -FEATURE_BOUND, FEATURE_BOUND).astype(np.float32).tobytes()


class OracleLV(_PerUserPolicy):
    """Each user's true optimal constant break rate p* = max(0, 1 - 2 alpha / beta) (clipped to 0.5)."""

    @staticmethod
    def rates(world: BreaksWorld, users: np.ndarray, max_break_rate: float = MAX_BREAK_RATE) -> np.ndarray:
        return np.minimum(world.optimal_break_rates(users), max_break_rate)

    @classmethod
    def from_env(cls, env: gym.Env, max_break_rate: float = MAX_BREAK_RATE) -> OracleLV:
        world = _breaks_env(env).world
        return cls(lambda users: cls.rates(world, users, max_break_rate), world.features, **cls._env_spaces(env))


class PaperOracle(_PerUserPolicy):
    """The paper's oracle: the LV fit on each user's own simulated engagement at the four treatments."""

    @staticmethod
    def rates(world: BreaksWorld, users: np.ndarray, rng: np.random.Generator,
              treatments: Sequence[float] = PAPER_TREATMENTS, max_break_rate: float = MAX_BREAK_RATE) -> np.ndarray:
        engagements = np.column_stack([world.engagement(rng, users, p) for p in treatments])
        return lv_break_rates(*fit_equilibrium_curve(treatments, engagements), max_break_rate)

    @classmethod
    def from_env(cls, env: gym.Env, seed: int = 0) -> PaperOracle:
        world, rng = _breaks_env(env).world, np.random.default_rng(seed)
        return cls(lambda users: cls.rates(world, users, rng), world.features, **cls._env_spaces(env))


class AdaptiveLVBreakPolicy(BreakRateAgent):
    """The LV policy until ``refit_time``, then 1 - 2 alpha / beta_hat with beta_hat from observed ratings.

    The reproduction re-fits once at ``refit_time`` and continues the user from their current state (the
    authors' code restarts the second segment from the initial state). On ``Breaks-v0`` the re-fit uses the
    rating fractions in the observation at every period from ``refit_time`` on.
    """

    def __init__(self, base: LVBreakPolicy, refit_time: float, params: LVParams, horizon: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.base = base
        self.refit_time = require_real("refit_time", refit_time, low=0.0)
        self.params = params
        self.horizon = require_positive("horizon", horizon)

    @classmethod
    def from_env(cls, env: gym.Env, refit_time: float = PAPER_REFIT_TIMES[1], seed: int = 0) -> AdaptiveLVBreakPolicy:
        world = _breaks_env(env).world
        return cls(LVBreakPolicy.from_env(env, seed), refit_time, world.params, world.horizon, **cls._env_spaces(env))

    def break_rates(self, observations: np.ndarray) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float64)
        rates = self.base.break_rates(observations)
        if observations.shape[1] <= self.n_features + _RATED:
            return rates  # a bandit observation carries no feedback to re-fit from
        times = observations[:, self.n_features + _TIME] * self.horizon
        fractions = observations[:, self.n_features + _RATED:self.n_features + _RATED + 5]
        refit = refit_break_rates(fractions, self.params, self.base.max_break_rate, fallback=rates)
        return np.where(times >= self.refit_time, refit, rates)


def training_users(env: Any) -> np.ndarray:
    """The users an agent may learn from: the environment's training split (all users if it has none)."""
    pool = getattr(env, "training_users", None)
    return np.asarray(pool if pool is not None else env.world.viable_users(0.0), dtype=np.int64)


def play_users(agent: Any, envs: Any, users: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every user of ``users`` played once, all at once, on a native Breaks-v0 vector env of ``len(users)``
    environments reset with ``seed``: (engagement = events / horizon, mean break rate played) per user.

    The one evaluation loop of this paper, kept here rather than in :func:`papergym.core.rollout.evaluate`
    because its semantics differ: the paper evaluates a fixed set of held-out users (given in the reset
    options, one per environment, each played exactly once) and measures events per time unit and the break
    rate played, not episode returns of users drawn at random; and it steps 1,000 users in one compiled
    vector step instead of 1,000 single-environment episodes. Users who churn stop counting at that step.
    """
    users = np.asarray(users, dtype=np.int64)
    observations, _ = envs.reset(seed=seed, options={"users": users})
    events, break_sum, steps = np.zeros(len(users)), np.zeros(len(users)), np.zeros(len(users))
    running = np.ones(len(users), dtype=bool)
    while running.any():
        actions, _ = agent.predict(observations, deterministic=True)
        actions = np.clip(np.asarray(actions, dtype=np.float64).reshape(len(users), 1), 0.0, 1.0)
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        events += np.where(running, rewards, 0.0)
        break_sum += np.where(running, actions[:, 0], 0.0)
        steps += running
        running &= ~(terminated | truncated)
    return events / envs.world.horizon, break_sum / np.maximum(steps, 1)
