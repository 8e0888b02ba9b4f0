"""Pendulum swing-up with a parametric transition model (mass, length, gravity)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.pendulum import PendulumEnv, angle_normalize

from papergym.core.lifecycle import nonfinite_step, step_before_reset
from papergym.core.validation import require_choice, validated_box_floats
from papergym.envs.robust.parametric import ParametricEnv, require_pygame


class RobustPendulumEnv(ParametricEnv, PendulumEnv):
    """
    ## Description

    Gymnasium's inverted-pendulum swing-up (``Pendulum-v1``) whose mass, length and gravity form the
    transition model of a robust MDP (static model: fixed during an episode). The pendulum is a rod of
    mass m and length l hinged at one end:

        theta_dot' = clip(theta_dot + (3 g / (2 l) sin(theta) + 3 / (m l^2) torque) dt, -8, 8)
        theta'     = theta + theta_dot' dt,        dt = 0.05 s,  theta = 0 upright,

    exactly Gymnasium's update.

    ## Parameters (the parametric-environment protocol)

    | name | meaning              | nominal | range         | default uncertainty set |
    |------|----------------------|---------|---------------|-------------------------|
    | m    | rod mass (kg)        | 1.0     | [0.01, 100]   | [0.5, 1.5]              |
    | l    | rod length (m)       | 1.0     | [0.01, 100]   | [0.75, 1.25]            |
    | g    | gravity (m/s^2)      | 10.0    | [0.01, 100]   | [8.0, 12.0]             |

    The range is enforced at construction, by ``set_params`` and by ``reset(options=...)``, and bounds the
    uncertainty sets; a value outside it raises ``ValueError`` naming the parameter, the value and the range.

    ``set_params(**params)``, ``get_params()``, ``reset(options=params)``; parameters persist across
    resets and are reported in ``info``. Every corner of the default set stays solvable: the energy-
    shaping swing-up with linear-quadratic balancing of ``papergym.agents.robust.PendulumSwingUp``,
    computed for the corner's parameters, brings the pendulum upright and holds it at each of the 8
    corners (``tests/test_robust_envs.py`` checks it).

    ## Action Space

    ``Box(-1, 1, (1,), float32)``: the torque as a fraction of the maximal torque 2 N m, i.e.
    torque = 2 a. Gymnasium's Pendulum takes the torque itself in [-2, 2]; the action is normalised
    here so that SB3's algorithms (which assume [-1, 1]) work without a rescaling wrapper. Actions
    outside [-1, 1], NaN or inf raise ``ValueError``.

    ## Observation Space

    ``Box([-1, -1, -8], [1, 1, 8], (3,), float32)``: cos(theta), sin(theta), theta_dot.

    ## Rewards

    -(theta^2 + 0.1 theta_dot^2 + 0.001 torque^2) with theta normalised to [-pi, pi] (Gymnasium's, on
    the torque in N m).

    ## Starting State

    theta uniform in [-pi, pi], theta_dot uniform in [-1, 1] (``options={"x_init": ..., "y_init": ...}``
    changes the ranges, as in Gymnasium).

    ## Episode End

    No terminal state; truncation at 200 steps in the registered ``papergym/RobustPendulum-v0``.

    ## Arguments

    * ``m``, ``l``, ``g``: initial parameters (default: nominal), in the ranges above.
    * ``uncertainty_set``: ``{name: (low, high)}`` over some of the parameters (default above).
    * ``render_mode``: ``"ansi"`` (one line of text), or Gymnasium's own drawing: ``"rgb_array"`` (a
      500 x 500 x 3 uint8 frame) and ``"human"`` (a window). Both need pygame, an optional dependency
      (``pip install "papergym[render]"``); without it ``render()`` raises ``DependencyNotInstalled``.

    ``step`` before ``reset`` raises ``ResetNeeded``. A state that becomes non-finite (impossible within
    the ranges, guarded all the same) terminates the episode with ``info["termination_reason"]``.

    ## Version History

    * v0: initial version.
    """

    NOMINAL_PARAMS = {"m": 1.0, "l": 1.0, "g": 10.0}
    PARAMETER_RANGES = {"m": (0.01, 100.0), "l": (0.01, 100.0), "g": (0.01, 100.0)}
    DEFAULT_UNCERTAINTY_SET = {"m": (0.5, 1.5), "l": (0.75, 1.25), "g": (8.0, 12.0)}
    PASSTHROUGH_RESET_OPTIONS = ("x_init", "y_init")
    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 30}

    def __init__(self, m: float = 1.0, l: float = 1.0, g: float = 10.0,  # noqa: E741 (Gymnasium's name)
                 uncertainty_set: Any = None, render_mode: str | None = None):
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        super().__init__(render_mode=None if render_mode == "ansi" else render_mode)
        self.render_mode = render_mode
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.state: np.ndarray | None = None
        self._init_params({"m": m, "l": l, "g": g}, uncertainty_set)

    def _apply_params(self, params: dict[str, float]) -> None:
        self.m, self.l, self.g = params["m"], params["l"], params["g"]

    def step(self, action: Any):
        if self.state is None:
            raise step_before_reset(self)
        torque = validated_box_floats(self.action_space, action)[0] * self.max_torque
        theta, theta_dot = float(self.state[0]), float(self.state[1])
        cost = angle_normalize(theta) ** 2 + 0.1 * theta_dot**2 + 0.001 * torque**2
        self.last_u = torque
        theta_dot = theta_dot + (3.0 * self.g / (2.0 * self.l) * math.sin(theta)
                                 + 3.0 / (self.m * self.l**2) * torque) * self.dt
        theta_dot = min(self.max_speed, max(-self.max_speed, theta_dot))
        theta = theta + theta_dot * self.dt
        self.state = np.array([theta, theta_dot])
        if self.render_mode == "human":
            self.render()
        observation = np.array([math.cos(theta), math.sin(theta), theta_dot], dtype=np.float32)
        info = self._with_params({})
        if not math.isfinite(theta + cost):
            return nonfinite_step(self.observation_space, observation, -cost, info, "pendulum state")
        return observation, -cost, False, False, info

    def render(self) -> Any:
        if self.render_mode == "ansi":
            theta, theta_dot = (float(v) for v in self.state)
            return (f"theta={angle_normalize(theta):+.3f} theta_dot={theta_dot:+.3f} "
                    + " ".join(f"{name}={value:g}" for name, value in self._params.items()))
        require_pygame(self)
        return super().render()
