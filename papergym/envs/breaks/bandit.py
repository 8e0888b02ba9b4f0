"""BreaksBandit-v0: the paper's one-shot setting, one break rate per user for the whole horizon."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from papergym.core.lifecycle import step_before_reset
from papergym.core.render import draw_chart
from papergym.core.validation import require_choice, validated_action
from papergym.envs.breaks.breaks import FEATURE_BOUND, choose_user, user_pool
from papergym.envs.breaks.model import MAX_BREAK_RATE, PAPER_TREATMENTS, equilibrium_rate, require_break_rate
from papergym.envs.breaks.world import BreaksWorld, validated_break_rates

#: Points of the engagement curve drawn by ``render_mode="rgb_array"``.
RENDER_POINTS = 120


class BreaksBanditEnv(gym.Env[np.ndarray, Any]):
    """
    ## Description

    The one-shot (contextual bandit) form of suggesting breaks (Saig & Rosenfeld, ICML 2023): each step is a
    new user, described by features; the agent picks one break probability for the user's whole horizon and
    receives the user's engagement, the number of interactions over the horizon divided by its length. The
    user starts at the equilibrium of the chosen break rate (times 1 + 0.1 U(-1, 1)), as in the paper's
    protocol, and is simulated by the event simulation of :class:`papergym.envs.breaks.BreaksEnv` (or its
    ODE with ``dynamics="ode"``).

    ## Action Space

    ``Box(0, max_break_rate, (1,), float32)`` (default [0, 0.5]), or with ``discrete=True``
    ``Discrete(len(treatments))``: an index into ``treatments`` (default the paper's {0, 0.05, 0.10, 0.15}).
    NaN, inf and values outside the space raise ``PapergymError`` (a ``ValueError``).

    ## Observation Space

    ``Box(-10, 10, (n_features,), float32)``: the user's features (latent factors, user bias, softmax-average
    predicted rating).

    ## Rewards

    The user's engagement (events per time unit). ``info`` holds the user, the break rate, the closed-form
    equilibrium engagement at that rate and without breaks, the optimal constant break rate p* and
    lambda*(p*), and the user's effective beta.

    ## Starting State

    A user drawn uniformly from those whose drive survives without breaks (``options={"user": i}``
    chooses one).

    ## Episode End

    Terminated after the single step.

    ## Arguments

    Those of ``BreaksEnv`` (population, LV parameters, simulation settings, ``user_split`` and
    ``n_eval_users``; not ``period`` nor ``initial_break_rate``), and ``max_break_rate`` (0.5), ``discrete``
    (False), ``treatments``, ``render_mode`` (``"ansi"``, ``"rgb_array"`` or None).

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, *, max_break_rate: float = MAX_BREAK_RATE, discrete: bool = False,
                 treatments: Any = PAPER_TREATMENTS, user_split: str = "all", n_eval_users: int | None = None,
                 render_mode: str | None = None, **world_kwargs: Any):
        self.world = BreaksWorld.build(**world_kwargs)
        self.max_break_rate = require_break_rate("max_break_rate", max_break_rate)
        self.discrete = bool(require_choice("discrete", discrete, (True, False)))
        self.treatments = validated_break_rates("treatments", treatments)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.users = user_pool(self.world, user_split, n_eval_users, 0.0)
        self.training_users = self.world.split_users("train", n_eval_users)
        n_features = self.world.population.n_features
        self.observation_space = spaces.Box(-FEATURE_BOUND, FEATURE_BOUND, (n_features,), dtype=np.float32)
        if self.discrete:
            self.action_space = spaces.Discrete(len(self.treatments))
        else:
            self.action_space = spaces.Box(np.zeros(1, dtype=np.float32),
                                           np.full(1, self.max_break_rate, dtype=np.float32), dtype=np.float32)
        self.user, self.last = -1, None

    def break_rate(self, action: Any) -> float:
        """The break probability an action stands for."""
        action = validated_action(self.action_space, action)
        return self.treatments[action] if self.discrete else float(action[0])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.user = choose_user(self.world, self.users, options, self.np_random)
        self.last = None
        features = np.clip(self.world.features[self.user], -FEATURE_BOUND, FEATURE_BOUND)
        return features.astype(np.float32), {}

    def step(self, action: Any):
        if self.user < 0:
            raise step_before_reset(self)
        p = self.break_rate(action)
        users = np.array([self.user])
        engagement = float(self.world.engagement(self.np_random, users, p)[0])
        optimal = self.world.optimal_break_rates(users)
        info = {"user": self.user, "break_rate": p, "engagement": engagement,
                "equilibrium_rate": float(self.world.equilibrium_rates(users, p)[0]),
                "no_breaks_rate": float(self.world.equilibrium_rates(users, 0.0)[0]),
                "optimal_break_rate": float(optimal[0]),
                "optimal_rate": float(self.world.equilibrium_rates(users, optimal)[0]),
                "effective_beta": float(self.world.beta[self.user])}
        self.last = (p, engagement)
        observation = np.clip(self.world.features[self.user], -FEATURE_BOUND, FEATURE_BOUND).astype(np.float32)
        return observation, engagement, True, False, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            if self.last is None:
                return f"user {self.user}: no break rate chosen yet"
            return f"user {self.user}: break rate {self.last[0]:.3f}, engagement {self.last[1]:.3f} events/unit"
        if self.render_mode == "rgb_array":
            return self._render_curve()
        return None

    def _render_curve(self) -> np.ndarray:
        """The current user's closed-form engagement lambda*(p) over the allowed break rates, and, once a
        rate has been played, the engagement it reached as a flat second line."""
        rates = np.linspace(0.0, float(self.action_space.high[0]) if not self.discrete else max(self.treatments),
                            RENDER_POINTS)
        curve = equilibrium_rate(rates, self.world.beta[max(self.user, 0)], self.world.params)
        reached = np.full(RENDER_POINTS, np.nan if self.last is None else self.last[1])
        return draw_chart([np.vstack([curve, reached])])
