"""The linear-quadratic Gaussian regulator as a Gymnasium environment and a native vector environment."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from papergym.core.validation import require_choice, validated_action
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

    * ``A`` (n x n), ``B`` (n x m), ``Q`` (n x n, PSD), ``R`` (m x m, PD), ``noise_cov`` (n x n, PSD):
      scalars mean the 1-D system (Q, R and noise_cov may also be scalars times the identity).
      Defaults: the 1-D system A = B = Q = R = 1 with noise variance 0.01.
    * ``init_state_bound`` (default 1), ``max_action`` (default 1), ``max_state`` (default 10).
    * ``render_mode``: ``"ansi"`` or None.

    The documented 2-D variant is the double integrator ``papergym.envs.lqg.DOUBLE_INTEGRATOR``, registered
    as ``papergym/LQG2D-v0`` and equal to ``gymnasium.make("papergym/LQG-v0", **DOUBLE_INTEGRATOR)``.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 30}

    def __init__(self, A: Any = 1.0, B: Any = 1.0, Q: Any = 1.0, R: Any = 1.0, noise_cov: Any = 0.01,
                 init_state_bound: float = 1.0, max_action: float = 1.0, max_state: float = 10.0,
                 render_mode: str | None = None):
        self.model = LQGModel.from_kwargs(A, B, Q, R, noise_cov, init_state_bound, max_action, max_state)
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.observation_space, self.action_space = _spaces(self.model)
        self.state = np.zeros(self.model.state_dim)
        self._last_action: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = self.model.initial_states(self.np_random, 1)[0]
        self._last_action = None
        return self._observation(), {}

    def step(self, action: Any):
        action = validated_action(self.action_space, action)
        states, actions = self.state[None], action[None]
        state_cost, action_cost = self.model.costs(states, actions)
        noise = self.model.noise(self.np_random, 1)
        self.state = self.model.next_states(states, actions, noise)[0]
        self._last_action = action
        info = {"state_cost": float(state_cost[0]), "action_cost": float(action_cost[0])}
        reward = -(state_cost[0] + action_cost[0])
        return self._observation(), float(reward), False, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        action = "-" if self._last_action is None else np.array2string(self._last_action, precision=3)
        return f"x={np.array2string(self.state, precision=3)} u={action}"

    def _observation(self) -> np.ndarray:
        return self.state.astype(np.float32)


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
