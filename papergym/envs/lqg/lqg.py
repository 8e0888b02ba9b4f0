"""The linear-quadratic Gaussian regulator as a Gymnasium environment and a native vector environment."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import nonfinite_step, step_before_reset
from papergym.core.render import ChartHistory, draw_chart
from papergym.core.validation import require_choice, validated_box_floats
from papergym.core.vector import ArrayVectorEnv
from papergym.envs.lqg.model import LQGModel


def _spaces(model: LQGModel) -> tuple[spaces.Box, spaces.Box]:
    observation_space = spaces.Box(-model.max_state, model.max_state, shape=(model.state_dim,),
                                   dtype=np.float32)
    action_space = spaces.Box(-model.max_action, model.max_action, shape=(model.action_dim,),
                              dtype=np.float32)
    return observation_space, action_space


class LQGEnv(gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    The discrete-time linear-quadratic Gaussian regulator: drive a linear system with Gaussian noise to
    the origin at a quadratic cost. It is the benchmark of the policy-gradient papers in this package
    (POIS, TT-POIS) because its optimal policy is known in closed form: the linear feedback u = -K x
    with K from the discrete algebraic Riccati equation (see ``papergym.agents.LQROptimal``).

    ## Action Space

    ``Box(-max_action, max_action, (m,), float32)``: the control u. With the default ``max_action = 1``
    the space is the normalised [-1, 1] that SB3 recommends. Actions outside it, NaN or inf raise
    ``ValueError``.

    ## Observation Space

    ``Box(-max_state, max_state, (n,), float32)``: the state x, fully observed.

    ## Transition

    x' = clip(A x + B u + w, -max_state, max_state) with w ~ N(0, noise_cov). The clip only keeps the
    state bounded under bad policies; the optimal policy of the default systems never reaches it.

    ## Rewards

    r = -(x'Qx + u'Ru) on the state before the transition and the action taken. ``info`` splits it into
    ``state_cost`` and ``action_cost``.

    ## Starting State

    Each coordinate of x0 uniform in [-init_state_bound, init_state_bound].

    ## Episode End

    No terminal state. The registered ids truncate after H steps (``max_episode_steps``, default 50).

    ## Arguments

    Every argument is checked at construction; a value outside its range raises ``ValueError`` naming it.

    * ``A`` (n x n), ``B`` (n x m), ``Q`` (n x n, symmetric PSD), ``R`` (m x m, symmetric PD),
      ``noise_cov`` (n x n, symmetric PSD): finite entries in [-1e6, 1e6]. Scalars mean the 1-D system
      (Q, R and noise_cov may also be scalars times the identity). Defaults: the 1-D system
      A = B = Q = R = 1 with noise variance 0.01.
    * ``init_state_bound`` in [0, max_state] (default 1), ``max_action`` in (0, 1e6] (default 1),
      ``max_state`` in (0, 1e6] (default 10). Within these ranges every cost is a finite float64.
    * ``render_mode``: ``"ansi"`` (one line of text) or ``"rgb_array"`` (a 240 x 320 x 3 uint8 chart of the
      last 200 steps: the state coordinates, the actions and the cost, one panel each), or None.

    If a quantity becomes non-finite anyway, the step terminates the episode with a finite observation,
    reward 0 and ``info["termination_reason"]``. ``step`` before ``reset`` raises ``ResetNeeded``.

    The documented 2-D variant is the double integrator ``papergym.envs.lqg.DOUBLE_INTEGRATOR``, registered
    as ``papergym/LQG2D-v0`` and equal to ``gymnasium.make("papergym/LQG-v0", **DOUBLE_INTEGRATOR)``.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}

    def __init__(self, A: Any = 1.0, B: Any = 1.0, Q: Any = 1.0, R: Any = 1.0, noise_cov: Any = 0.01,
                 init_state_bound: float = 1.0, max_action: float = 1.0, max_state: float = 10.0,
                 render_mode: str | None = None):
        self.model = LQGModel.from_kwargs(A, B, Q, R, noise_cov, init_state_bound, max_action, max_state)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.observation_space, self.action_space = _spaces(self.model)
        self._x: list[float] | None = None
        self._last_action: list[float] | None = None
        self._history = ChartHistory(self.model.state_dim + self.model.action_dim + 1)

    @property
    def state(self) -> np.ndarray:
        """The state x (float64); zeros before the first reset."""
        return np.array(self._x if self._x is not None else [0.0] * self.model.state_dim)

    @state.setter
    def state(self, value: Any) -> None:
        self._x = np.asarray(value, dtype=np.float64).reshape(self.model.state_dim).tolist()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options:
            raise PapergymError(f"{type(self).__name__}.reset takes no options, got {sorted(options)}")
        self._x = self.model.initial_states(self.np_random, 1)[0].tolist()
        self._last_action = None
        self._history.clear()
        return self._observation(), {}

    def step(self, action: Any):
        if self._x is None:
            raise step_before_reset(self)
        action = validated_box_floats(self.action_space, action)
        rng = self.np_random
        standard_normals = [rng.standard_normal() for _ in range(self.model.state_dim)]
        self._x, state_cost, action_cost = self.model.scalar_step(self._x, action, standard_normals)
        self._last_action = action
        info = {"state_cost": state_cost, "action_cost": action_cost}
        reward = -(state_cost + action_cost)
        observation = self._observation()
        if not math.isfinite(reward + sum(self._x)):
            return nonfinite_step(self.observation_space, observation, reward, info, "state or cost")
        if self.render_mode is not None:
            self._history.append(*self._x, *action, -reward)
        return observation, reward, False, False, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "rgb_array":
            series = self._history.series()
            n, m = self.model.state_dim, self.model.action_dim
            return draw_chart([series[:n], series[n:n + m], series[n + m:]])
        if self.render_mode != "ansi":
            return None
        action = "-" if self._last_action is None else np.array2string(np.array(self._last_action), precision=3)
        return f"x={np.array2string(self.state, precision=3)} u={action}"

    def _observation(self) -> np.ndarray:
        return np.array(self._x, dtype=np.float32)


class LQGVectorEnv(ArrayVectorEnv):
    """``num_envs`` independent LQG systems stepped as arrays; same arguments as :class:`LQGEnv`."""

    metadata = {"render_modes": []}

    def __init__(self, num_envs: int = 1, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 render_mode: str | None = None, **model_kwargs: Any):
        self.model = LQGModel.from_kwargs(**model_kwargs)
        observation_space, action_space = _spaces(self.model)
        super().__init__(num_envs, observation_space, action_space, max_episode_steps=max_episode_steps,
                         autoreset_mode=autoreset_mode, render_mode=render_mode)
        self.states = np.zeros((self.num_envs, self.model.state_dim))

    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        self.states[mask] = self.model.initial_states(self.np_random, int(mask.sum()))

    def _observe(self) -> np.ndarray:
        return self.states.astype(np.float32)

    def _transition(self, actions: np.ndarray):
        state_cost, action_cost = self.model.costs(self.states, actions)
        noise = self.model.noise(self.np_random, self.num_envs)
        self.states = self.model.next_states(self.states, actions, noise)
        info = {"state_cost": state_cost, "action_cost": action_cost}
        return -(state_cost + action_cost), np.zeros(self.num_envs, dtype=bool), info
