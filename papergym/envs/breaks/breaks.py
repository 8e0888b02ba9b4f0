"""Breaks-v0: choose a user's break rate period by period; a native vector environment beside it."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import step_before_reset
from papergym.core.validation import require_choice, require_real, validated_action
from papergym.core.vector import ArrayVectorEnv
from papergym.envs.breaks.model import N_RATINGS, require_break_rate
from papergym.envs.breaks.simulation import (
    INTEREST_SLOT,
    RATE_SLOT,
    rating_histograms,
    recent_rates,
)
from papergym.envs.breaks.world import BreaksWorld

#: Features are clipped to [-FEATURE_BOUND, FEATURE_BOUND]; rates (in units of gamma / delta) to [0, RATE_BOUND].
FEATURE_BOUND = 10.0
RATE_BOUND = 10.0
#: Observation layout after the user's features.
ENGAGEMENT_FIELDS = ("recent_rate", "time_elapsed", "last_period_events", *(f"rated_{r}" for r in range(1, 6)))
RENDER_SIZE = (64, 128)
#: The shortest decision period (time units): users have about 10-20 events per time unit.
MIN_PERIOD = 0.01


def breaks_spaces(world: BreaksWorld) -> tuple[spaces.Box, spaces.Box]:
    """The observation space (features, engagement observed so far) and the action space ([0, 1])."""
    n_features = world.population.n_features
    low = np.concatenate([np.full(n_features, -FEATURE_BOUND), np.zeros(len(ENGAGEMENT_FIELDS))])
    high = np.concatenate([np.full(n_features, FEATURE_BOUND), [RATE_BOUND, 1.0, RATE_BOUND], np.ones(N_RATINGS)])
    observation_space = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
    action_space = spaces.Box(np.zeros(1, dtype=np.float32), np.ones(1, dtype=np.float32), dtype=np.float32)
    return observation_space, action_space


def observe(world: BreaksWorld, users: np.ndarray, states: np.ndarray, times: np.ndarray,
            last_events: np.ndarray, period: float) -> np.ndarray:
    """Observations of users at ``times``: features, then the engagement seen so far (see ENGAGEMENT_FIELDS)."""
    rate_scale = world.params.gamma / world.params.delta
    features = np.clip(world.features[users], -FEATURE_BOUND, FEATURE_BOUND)
    rates = states[:, RATE_SLOT] if world.dynamics == "ode" else recent_rates(states)
    histograms = rating_histograms(states)
    fractions = histograms / np.maximum(histograms.sum(axis=1, keepdims=True), 1.0)
    engagement = np.column_stack([np.clip(rates / rate_scale, 0.0, RATE_BOUND),
                                  np.clip(times / world.horizon, 0.0, 1.0),
                                  np.clip(last_events / (rate_scale * period), 0.0, RATE_BOUND), fractions])
    return np.hstack([features, engagement]).astype(np.float32)


def step_info(world: BreaksWorld, users: np.ndarray, states: np.ndarray, p: np.ndarray, times: np.ndarray,
              events: np.ndarray) -> dict[str, np.ndarray]:
    """What a user needs to judge a break policy, every step (arrays over users)."""
    return {"user": users.astype(np.int64), "rate": states[:, RATE_SLOT].copy(),
            "interest": states[:, INTEREST_SLOT].copy(), "time": times.astype(np.float64),
            "events": events.astype(np.float64), "break_rate": p.astype(np.float64),
            "effective_beta": world.beta[users].copy(),
            "equilibrium_rate": world.equilibrium_rates(users, np.minimum(p, 1.0 - 1e-12)),
            "optimal_break_rate": world.optimal_break_rates(users),
            "optimal_rate": world.equilibrium_rates(users, world.optimal_break_rates(users))}


def user_pool(world: BreaksWorld, split: str, n_eval_users: int | None, initial_break_rate: float) -> np.ndarray:
    """The users an environment draws from: the split's users that survive at the initial break rate."""
    users = world.split_users(split, n_eval_users)
    users = users[world.equilibrium_rates(users, initial_break_rate) > 0]
    if len(users) == 0:
        raise PapergymError(f"no user of the {split!r} split survives at initial_break_rate {initial_break_rate}; "
                         "lower alpha or initial_break_rate")
    return users


def _churned(world: BreaksWorld, states: np.ndarray) -> np.ndarray:
    if world.dynamics == "ode":  # the ODE's drive decays towards zero but never reaches it
        return np.zeros(len(states), dtype=bool)
    return (states[:, RATE_SLOT] <= 0.0) | (states[:, INTEREST_SLOT] <= 0.0)


class BreaksEnv(gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    Suggesting breaks in a recommendation feed (Saig & Rosenfeld, "Learning to Suggest Breaks: Sustainable
    Optimization of Long-Term User Engagement", ICML 2023). A user's consumption rate lambda (drive) and
    interest I follow Lotka-Volterra dynamics in which the items shown reinforce drive and deplete
    interest; a break slot does neither. Pushing consumption without breaks can exhaust interest and lower
    long-run engagement, or make the user churn; the right break rate depends on the user.

    One episode is one user drawn from the population, over the paper's horizon (100 time units) cut into
    periods (default 1 time unit). At each period the agent sets the break probability p: at every
    interaction the user sees a batch of 10 items drawn by softmax(r_hat / 0.5) from their catalogue, each
    slot a break with probability p, and the state takes one Euler step per event; the next event comes
    after 1 / lambda (see :mod:`papergym.envs.breaks.simulation`). ``dynamics="ode"`` integrates the LV ODE
    instead (scipy's solve_ivp) and the reward is the expected number of events.

    ## Action Space

    ``Box(0, 1, (1,), float32)``: the break probability for the next period (1 = every slot a break, as a
    rate limiter's cool-down). NaN, inf or values outside [0, 1] raise ``PapergymError`` (a ``ValueError``).

    ## Observation Space

    ``Box(float32)`` of the user's features (the factorisation's latent factors, the user bias and the
    softmax-average predicted rating, clipped to [-10, 10]) followed by the engagement observed so far: the
    rate over the last 10 events and the events of the last period, both in units of gamma / delta and
    clipped to [0, 10] (with ODE dynamics the recent rate is lambda itself); the time elapsed / horizon;
    and the fractions of consumed items rated 1..5 (the platform's rating feedback).

    ## Rewards

    The number of events (interactions) in the period; their sum over an episode divided by the horizon
    is the paper's engagement. ``info`` holds, every step, the user's index, lambda, I, the time, the
    events, the break rate, the user's effective beta, the closed-form equilibrium rate lambda*(p) at the
    chosen p, the optimal constant break rate p* = max(0, 1 - 2 alpha / beta) and lambda*(p*).

    ## Starting State

    A user drawn uniformly from those whose drive survives without breaks (``options={"user": i}``
    chooses one), at the equilibrium of ``initial_break_rate`` (default 0: the platform's status quo)
    times one factor 1 + 0.1 U(-1, 1) for both components.

    ## Episode End

    Terminated when the user churns (lambda <= 0; the ODE never reaches zero). Truncated by the
    environment itself when the horizon is reached (100 periods by default).

    ## Arguments

    * ``ratings_file``: a MovieLens 1M ``ratings.dat`` (``user::item::rating::timestamp``) or MovieLens 100K
      ``u.data`` (tab-separated), or None (default) for the synthetic low-rank population of ``n_users`` x
      ``n_items`` (default MovieLens 1M's 6040 x 3706, drawn with ``population_seed``).
    * ``kappa``: weight of the predicted rating in the rating that drives beta (default 0.5, the paper's).
    * ``n_users``, ``n_items``: in [2, 100000]; ``population_seed``: an integer >= 0 (default 0).
    * ``softmax_temperature`` (0.5, in [0.01, 100]), ``batch_size`` (10, in [1, 1000]), ``horizon`` (100, in
      (0, 10000]), ``period`` (1, in [0.01, horizon]), ``init_noise`` (0.1, in [0, 1)).
    * ``alpha`` (0.065), ``beta`` (0.01 r^2 for r = 1..5), ``gamma`` (0.02), ``delta`` (0.001): each in
      (0, 10] (the authors' values, run_experiments.ipynb; the event simulation takes one unit Euler step per
      event, so it follows the ODE only for rates well below 1).
    * ``dynamics``: ``"event"`` (default) or ``"ode"``.
    * ``initial_break_rate``: the break rate whose equilibrium the user starts at, in [0, 1).
    * ``user_split``: draw users from ``"all"`` (default), ``"train"`` or ``"eval"``: the last
      ``n_eval_users`` users of the population (default min(1000, n_users / 6), the paper's 1,000 of 6,040)
      are the held-out evaluation users. ``training_users`` lists the others.
    * ``render_mode``: ``"ansi"``, ``"rgb_array"`` or None.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, *, period: float = 1.0, initial_break_rate: float = 0.0, user_split: str = "all",
                 n_eval_users: int | None = None, render_mode: str | None = None, **world_kwargs: Any):
        self.world = BreaksWorld.build(**world_kwargs)
        self.period = validated_period(period, self.world.horizon)
        self.initial_break_rate = require_break_rate("initial_break_rate", initial_break_rate)
        self.n_periods = math.ceil(self.world.horizon / self.period - 1e-9)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.users = user_pool(self.world, user_split, n_eval_users, self.initial_break_rate)
        self.training_users = self.world.split_users("train", n_eval_users)
        self.observation_space, self.action_space = breaks_spaces(self.world)
        self.user, self.states, self.period_index, self.last_events = -1, None, 0, 0.0
        self.history: list[tuple[float, float]] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.user = choose_user(self.world, self.users, options, self.np_random)
        self.states = self.world.start(np.array([self.user]), self.initial_break_rate, self.np_random)
        self.period_index, self.last_events, self.history = 0, 0.0, []
        return self._observation(), {}

    def step(self, action: Any):
        if self.states is None:
            raise step_before_reset(self)
        p = float(validated_action(self.action_space, action)[0])
        t_end = min((self.period_index + 1) * self.period, self.world.horizon)
        users = np.array([self.user])
        events = self.world.advance(self.np_random, self.states, users, p, t_end)
        self.period_index += 1
        self.last_events = float(events[0])
        self.history.append((p, self.last_events))
        terminated = bool(_churned(self.world, self.states)[0])
        truncated = self.period_index >= self.n_periods and not terminated
        info = step_info(self.world, users, self.states, np.array([p]), np.array([t_end]), events)
        info = {key: (int(value[0]) if key == "user" else float(value[0])) for key, value in info.items()}
        return self._observation(), float(self.last_events), terminated, bool(truncated), info

    def _observation(self) -> np.ndarray:
        time = min(self.period_index * self.period, self.world.horizon)
        return observe(self.world, np.array([self.user]), self.states, np.array([time]),
                       np.array([self.last_events]), self.period)[0]

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self._render_text()
        if self.render_mode == "rgb_array":
            return render_events_chart([events for _, events in self.history], [p for p, _ in self.history],
                                       self.n_periods)
        return None

    def _render_text(self) -> str:
        if self.states is None:
            return "not reset"
        time = min(self.period_index * self.period, self.world.horizon)
        p = self.history[-1][0] if self.history else float("nan")
        return (f"user {self.user} t={time:.1f}: lambda={self.states[0, RATE_SLOT]:.3f} "
                f"I={self.states[0, INTEREST_SLOT]:.3f} break rate={p:.3f} last period events={self.last_events:g}")


def validated_period(period: Any, horizon: float) -> float:
    """The decision period, in [MIN_PERIOD, horizon]."""
    return require_real("period", period, low=MIN_PERIOD, high=horizon)


def choose_user(world: BreaksWorld, users: np.ndarray, options: dict[str, Any] | None,
                rng: np.random.Generator) -> int:
    """The user of a new episode: ``options["user"]`` if given (validated), else one drawn from ``users``."""
    options = options or {}
    if "user" not in options:
        return int(users[rng.integers(len(users))])
    user = int(options["user"])
    if not 0 <= user < world.n_users:
        raise PapergymError(f"options['user'] must be in [0, {world.n_users}), got {options['user']!r}")
    return user


def render_events_chart(events: list[float], break_rates: list[float], n_periods: int) -> np.ndarray:
    """A small RGB chart: events per period as blue columns, the break rate as a red line (numpy only)."""
    height, width = RENDER_SIZE
    frame = np.full((height, width, 3), 255, dtype=np.uint8)
    if not events:
        return frame
    columns = np.minimum((np.arange(len(events)) * width) // max(n_periods, 1), width - 1)
    scale = max(max(events), 1e-9)
    for column, count, p in zip(columns, events, break_rates):
        bar = round((height - 1) * count / scale)
        frame[height - bar:, column] = (60, 110, 200)
        frame[round((height - 1) * (1.0 - min(p, 1.0))), column] = (220, 40, 40)
    return frame


class BreaksVectorEnv(ArrayVectorEnv):
    """``num_envs`` independent users of :class:`BreaksEnv` advanced together (one compiled call per step).

    Same arguments as the single environment; ``max_episode_steps`` (if given) shortens the episode.
    ``reset(options={"users": array})`` plays the given users (one per environment), for evaluation.
    """

    metadata = {"render_modes": []}

    def __init__(self, num_envs: int = 1, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, render_mode: str | None = None,
                 period: float = 1.0, initial_break_rate: float = 0.0, user_split: str = "all",
                 n_eval_users: int | None = None, **world_kwargs: Any):
        self.world = BreaksWorld.build(**world_kwargs)
        self.period = validated_period(period, self.world.horizon)
        self.initial_break_rate = require_break_rate("initial_break_rate", initial_break_rate)
        n_periods = math.ceil(self.world.horizon / self.period - 1e-9)
        self.users_pool = user_pool(self.world, user_split, n_eval_users, self.initial_break_rate)
        self.training_users = self.world.split_users("train", n_eval_users)
        observation_space, action_space = breaks_spaces(self.world)
        steps = n_periods if max_episode_steps is None else min(max_episode_steps, n_periods)
        super().__init__(num_envs, observation_space, action_space, max_episode_steps=steps,
                         autoreset_mode=autoreset_mode, render_mode=render_mode)
        self.users = np.zeros(self.num_envs, dtype=np.int64)
        self.states = self.world.start(self.users, 0.0, self._np_random)
        self.last_events = np.zeros(self.num_envs)

    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        count = int(mask.sum())
        if "users" in options:  # evaluation: play given users (one per environment)
            users = np.asarray(options["users"], dtype=np.int64)
            if users.shape != (self.num_envs,) or users.min() < 0 or users.max() >= self.world.n_users:
                raise PapergymError(f"options['users'] must be {self.num_envs} user indices in "
                                 f"[0, {self.world.n_users}), got {options['users']!r}")
            self.users[mask] = users[mask]
        else:
            self.users[mask] = self.users_pool[self.np_random.integers(len(self.users_pool), size=count)]
        self.states[mask] = self.world.start(self.users[mask], self.initial_break_rate, self.np_random)
        self.last_events[mask] = 0.0

    def _times(self) -> np.ndarray:
        return np.minimum(self.elapsed_steps * self.period, self.world.horizon)

    def _observe(self) -> np.ndarray:
        return observe(self.world, self.users, self.states, self._times(), self.last_events, self.period)

    def _transition(self, actions: np.ndarray):
        p = actions[:, 0].astype(np.float64)
        t_end = np.minimum((self.elapsed_steps + 1) * self.period, self.world.horizon)
        events = self.world.advance(self.np_random, self.states, self.users, p, t_end)
        self.last_events = events
        info = step_info(self.world, self.users, self.states, p, t_end, events)
        return events, _churned(self.world, self.states), info
