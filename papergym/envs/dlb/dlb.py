"""The dynamical linear bandit as a Gymnasium environment and a native vector environment."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from papergym.core.lifecycle import nonfinite_step, step_before_reset
from papergym.core.render import ChartHistory, draw_chart
from papergym.core.validation import require_choice, require_int, validated_action
from papergym.core.vector import ArrayVectorEnv
from papergym.envs.dlb.dynamics import advance_system_scalar, advance_systems
from papergym.envs.dlb.model import DEFAULT_PRESET, DLBModel

#: The paper's horizon T (rounds per trial), and the largest accepted (round counters stay exact int64).
PAPER_HORIZON = 1_000_000
MAX_HORIZON = 10**12


def dlb_spaces(model: DLBModel) -> tuple[spaces.Box, spaces.Discrete]:
    """The observation space (scaled last reward, scaled round) and the action space (Discrete(K))."""
    observation_space = spaces.Box(low=np.array([-1.0, 0.0], dtype=np.float32),
                                   high=np.array([1.0, 1.0], dtype=np.float32), dtype=np.float32)
    return observation_space, spaces.Discrete(model.n_actions)


def _observation(last_rewards: np.ndarray, rounds: np.ndarray, reward_scale: float,
                 horizon: int) -> np.ndarray:
    observations = np.empty((len(last_rewards), 2), dtype=np.float32)
    observations[:, 0] = np.clip(last_rewards / reward_scale, -1.0, 1.0)
    observations[:, 1] = np.minimum(rounds / horizon, 1.0)
    return observations


def _step_info(model: DLBModel, allocations: np.ndarray, actions: np.ndarray,
               mean_rewards: np.ndarray) -> dict[str, np.ndarray]:
    values = model.values_array[actions]
    optimal = np.full(len(actions), model.optimal_value)
    return {"allocation": allocations, "mean_reward": mean_rewards, "steady_state_value": values,
            "optimal_steady_state_value": optimal, "regret": optimal - values}


class DynamicalLinearBanditEnv(gym.Env[np.ndarray, np.int64]):
    """
    ## Description

    The dynamical linear bandit of Mussi, Metelli & Restelli ("Dynamical Linear Bandits", ICML 2023):
    an advertiser splits a daily budget over campaigns; spending raises a hidden awareness state that
    converts into reward later. With x_0 = 0,

        x_{t+1} = A x_t + B u_t + eta_t,    y_t = C x_t + D u_t + eps_t,    r_t = 1'y_t,

    eta_t ~ N(0, sigma^2 I_n), eps_t ~ N(0, sigma^2 I_m), rho(A) < 1. The best policy plays forever
    u* = argmax_u h'u with the cumulative Markov parameter h' = 1'(D + C (I - A)^{-1} B), which can
    differ from the action with the best immediate reward 1'D u: learners that ignore the dynamics
    converge to the wrong allocation.

    ## Action Space

    ``Discrete(K)``: an index into the action set, the K allocation vectors in ``env.allocations``
    (shape K x p; by default the paper's budget allocations). ``info["allocation"]`` repeats the vector
    played. Indices outside [0, K), NaN or non-integers raise ``PapergymError`` (a ``ValueError``).

    ## Observation Space

    ``Box([-1, 0], [1, 1], (2,), float32)``: the last reward divided by ``env.reward_scale`` (clipped to
    [-1, 1]; the scale is the largest noiseless reward plus 8 noise standard deviations, so clipping is an
    8-sigma event) and the round index divided by ``horizon``. The state x is hidden: that is the problem.

    ## Rewards

    r_t = 1'y_t, unscaled. ``info`` holds, every step, ``steady_state_value`` (h'u_t, the paper's value
    of the action), ``optimal_steady_state_value`` (h'u*), ``regret`` (their difference: the paper's
    regret is its sum), ``mean_reward`` (the noiseless reward given the hidden state) and ``allocation``.

    ## Starting State

    x_0 = 0, last reward 0, round 0.

    ## Episode End

    One episode is one trial of ``horizon`` rounds; the environment truncates itself at the horizon.

    ## Arguments

    * ``preset``: one of the paper's cases, ``"synthetic-0.001"``, ``"synthetic-0.01"`` (default),
      ``"synthetic-0.1"`` (the synthetic system at three noise levels) or ``"real"`` (the system fitted
      to an advertising company's data), or None to give every matrix.
    * ``A`` (n x n, rho(A) < 1), ``B`` (n x p), ``C`` (m x n), ``D`` (m x p), ``noise_std`` (sigma in
      [0, 1e6]), ``actions`` (K x p allocation vectors): each replaces the preset's value. Every entry is a
      finite number in [-1e6, 1e6].
    * ``horizon``: rounds per episode, an integer in [1, 10^12], default 1,000,000 (the paper's T). Evaluation
      loops without their own step limit (``papergym evaluate``) play this many rounds.
    * ``render_mode``: ``"ansi"`` (one line of text), ``"rgb_array"`` (a 240 x 320 x 3 uint8 chart of the
      last 200 rounds: the allocation played, one line per campaign, and the cumulative regret) or None.

    Every argument is checked at construction with a ``PapergymError`` (a ``ValueError``) naming it.
    ``step`` before ``reset`` raises ``ResetNeeded``; a reward that is not finite (only possible at the edge
    of the ranges) ends the episode with ``info["termination_reason"]``.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}

    def __init__(self, preset: str | None = DEFAULT_PRESET, A: Any = None, B: Any = None, C: Any = None,
                 D: Any = None, noise_std: float | None = None, actions: Any = None,
                 horizon: int = PAPER_HORIZON, render_mode: str | None = None):
        self.model = DLBModel.from_kwargs(preset, A, B, C, D, noise_std, actions)
        self.horizon = require_int("horizon", horizon, low=1, high=MAX_HORIZON)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.reward_scale = self.model.reward_scale()
        self._optimal_value = self.model.optimal_value
        self.observation_space, self.action_space = dlb_spaces(self.model)
        self._x: list[float] | None = None
        self.round, self.last_reward, self._last_action = 0, 0.0, -1
        self._regret_so_far = 0.0
        self._history = ChartHistory(self.model.action_dim + 1)

    @property
    def state(self) -> np.ndarray:
        """The hidden state x (float64); zeros before the first reset."""
        return np.array(self._x if self._x is not None else [0.0] * self.model.state_dim)

    @property
    def allocations(self) -> np.ndarray:
        """The action set: row k is the allocation vector of action k."""
        return self.model.actions

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._x = [0.0] * self.model.state_dim
        self.round, self.last_reward, self._last_action = 0, 0.0, -1
        self._regret_so_far = 0.0
        self._history.clear()
        return self._observation(), {}

    def step(self, action: Any):
        if self._x is None:
            raise step_before_reset(self)
        action = validated_action(self.action_space, action)
        model = self.model
        scalars = model.scalars
        allocation = scalars["actions"][action]
        noise = self.np_random.standard_normal(model.state_dim + model.output_dim).tolist()
        reward, mean_reward, self._x = advance_system_scalar(self._x, allocation, noise, scalars["A"], scalars["B"],
                                                scalars["omega"], scalars["theta"], model.noise_std)
        self.round += 1
        self.last_reward, self._last_action = reward, action
        value, optimal = scalars["steady_state_values"][action], self._optimal_value
        info = {"allocation": model.actions[action].copy(), "mean_reward": mean_reward, "steady_state_value": value,
                "optimal_steady_state_value": optimal, "regret": optimal - value}
        observation = self._observation()
        if not math.isfinite(reward + sum(self._x)):
            return nonfinite_step(self.observation_space, observation, reward, info, "hidden state or reward")
        if self.render_mode is not None:
            self._regret_so_far += info["regret"]
            self._history.append(*allocation, self._regret_so_far)
        return observation, reward, False, self.round >= self.horizon, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "rgb_array":
            series = self._history.series()
            return draw_chart([series[:-1], series[-1:]])
        if self.render_mode != "ansi":
            return None
        if self._last_action < 0:
            return f"round 0: no action yet, x={np.array2string(self.state, precision=3)}"
        allocation = np.array2string(self.model.actions[self._last_action], precision=3)
        return (f"round {self.round}: action {self._last_action} u={allocation} reward={self.last_reward:.4f} "
                f"x={np.array2string(self.state, precision=3)}")

    def _observation(self) -> np.ndarray:
        # The scalar form of the vector env's observation (same float64 operations, then float32).
        scaled_reward = min(1.0, max(-1.0, self.last_reward / self.reward_scale))
        return np.array([scaled_reward, min(self.round / self.horizon, 1.0)], dtype=np.float32)


class DynamicalLinearBanditVectorEnv(ArrayVectorEnv):
    """``num_envs`` independent trials of :class:`DynamicalLinearBanditEnv` stepped as arrays.

    Same arguments as the single environment; ``max_episode_steps`` (if given) shortens the horizon.
    """

    metadata = {"render_modes": []}

    def __init__(self, num_envs: int = 1, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 render_mode: str | None = None, preset: str | None = DEFAULT_PRESET, A: Any = None,
                 B: Any = None, C: Any = None, D: Any = None, noise_std: float | None = None,
                 actions: Any = None, horizon: int = PAPER_HORIZON):
        self.model = DLBModel.from_kwargs(preset, A, B, C, D, noise_std, actions)
        self.horizon = require_int("horizon", horizon, low=1, high=MAX_HORIZON)
        if max_episode_steps is not None:
            max_episode_steps = min(require_int("max_episode_steps", max_episode_steps, low=1), self.horizon)
        self.reward_scale = self.model.reward_scale()
        observation_space, action_space = dlb_spaces(self.model)
        super().__init__(num_envs, observation_space, action_space,
                         max_episode_steps=max_episode_steps or self.horizon,
                         autoreset_mode=autoreset_mode, render_mode=render_mode)
        self.states = np.zeros((self.num_envs, self.model.state_dim))
        self.last_rewards = np.zeros(self.num_envs)

    @property
    def allocations(self) -> np.ndarray:
        return self.model.actions

    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        self.states[mask] = 0.0
        self.last_rewards[mask] = 0.0

    def _observe(self) -> np.ndarray:
        return _observation(self.last_rewards, self.elapsed_steps, self.reward_scale, self.horizon)

    def _transition(self, actions: np.ndarray):
        model = self.model
        allocations = model.actions[actions]
        mean_rewards = self.states @ model.omega + allocations @ model.theta
        noise = self.np_random.standard_normal((self.num_envs, model.state_dim + model.output_dim))
        rewards = advance_systems(self.states, allocations, noise, model.A, model.B, model.omega,
                                  model.theta, model.noise_std)
        self.last_rewards = rewards
        info = _step_info(model, allocations, actions, mean_rewards)
        return rewards, np.zeros(self.num_envs, dtype=bool), info
