"""CartPole with a parametric transition model (pole mass, pole length, cart mass, push force)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from papergym.core.lifecycle import nonfinite_step, step_before_reset
from papergym.core.validation import require_choice, validated_action
from papergym.envs.robust.parametric import ParametricEnv, require_pygame

_cartpole_step = CartPoleEnv.step
_isfinite = math.isfinite


class RobustCartPoleEnv(ParametricEnv, CartPoleEnv):
    """
    ## Description

    Gymnasium's CartPole (Barto, Sutton and Anderson, 1983; ``CartPole-v1``) whose physical parameters
    form the transition model of a robust MDP, for the static model of robust RL studied by IWOCS
    (Zouitine, Geist & Rachelson, 2024): the parameters are drawn from an uncertainty set and held
    fixed for an episode. Dynamics, reward and termination are Gymnasium's, parameter for parameter.

    ## Parameters (the parametric-environment protocol)

    | name        | meaning                                   | nominal | range         | default uncertainty set |
    |-------------|-------------------------------------------|---------|---------------|-------------------------|
    | masspole    | pole mass (kg)                            | 0.1     | [0.001, 10]   | [0.05, 0.5]             |
    | length      | HALF the pole length (m), as in Gymnasium | 0.5     | [0.01, 10]    | [0.25, 2.0]             |
    | masscart    | cart mass (kg)                            | 1.0     | [0.01, 100]   | [0.5, 2.0]              |
    | force_mag   | magnitude of the push (N)                 | 10.0    | [0.01, 1000]  | [3.0, 15.0]             |

    The range is enforced at construction, by ``set_params`` and by ``reset(options=...)``, and bounds the
    uncertainty sets; a value outside it raises ``ValueError`` naming the parameter, the value and the range.

    ``set_params(**params)``, ``get_params()``, ``reset(options=params)``; parameters persist across
    resets and are reported in ``info``. The derived quantities that Gymnasium caches (``total_mass``,
    ``polemass_length``) are recomputed whenever a parameter changes. Every corner of the default set
    stays solvable: the linear-quadratic controller of ``papergym.agents.robust.CartPoleLQR``, computed
    for the corner's parameters, balances the pole for the full 500 steps at each of the 16 corners
    (``tests/test_robust_envs.py`` checks it), while a PPO agent trained on the nominal model falls
    within a few dozen steps on long poles (``papergym reproduce robust``).

    ## Action Space

    ``Discrete(2)``: 0 pushes the cart left, 1 pushes it right, with force ``force_mag``. Anything else
    (including NaN) raises ``ValueError``.

    ## Observation Space

    ``Box(4,)`` float32: cart position, cart velocity, pole angle, pole angular velocity; the velocity
    bounds are infinite, as in Gymnasium (the physics puts no bound on them). Position and angle are
    bounded by twice their termination thresholds; on the terminating step of an extreme model (a light,
    short pole pushed hard) they can jump beyond in one step, and the observation is clipped to the bounds.

    ## Rewards

    +1 per step, including the terminating step (Gymnasium's default).

    ## Starting State

    Every state variable uniform in [-0.05, 0.05] (``options={"low": ..., "high": ...}`` changes it, as
    in Gymnasium).

    ## Episode End

    Termination when |angle| > 12 degrees or |position| > 2.4; truncation at 500 steps in the registered
    ``papergym/RobustCartPole-v0``.

    ## Arguments

    * ``masspole``, ``length``, ``masscart``, ``force_mag``: initial parameters (default: nominal), in the
      ranges above.
    * ``uncertainty_set``: ``{name: (low, high)}`` over some of the parameters (default above).
    * ``render_mode``: ``"ansi"`` (one line of text), or Gymnasium's own drawing: ``"rgb_array"`` (a
      400 x 600 x 3 uint8 frame) and ``"human"`` (a window). Both need pygame, an optional dependency
      (``pip install "papergym[render]"``); without it ``render()`` raises ``DependencyNotInstalled``.

    ``step`` before ``reset`` raises ``ResetNeeded``. A state that becomes non-finite (impossible within
    the ranges, guarded all the same) terminates the episode with ``info["termination_reason"]``.

    ## Version History

    * v0: initial version.
    """

    NOMINAL_PARAMS = {"masspole": 0.1, "length": 0.5, "masscart": 1.0, "force_mag": 10.0}
    PARAMETER_RANGES = {"masspole": (0.001, 10.0), "length": (0.01, 10.0), "masscart": (0.01, 100.0),
                        "force_mag": (0.01, 1000.0)}
    DEFAULT_UNCERTAINTY_SET = {"masspole": (0.05, 0.5), "length": (0.25, 2.0), "masscart": (0.5, 2.0),
                               "force_mag": (3.0, 15.0)}
    PASSTHROUGH_RESET_OPTIONS = ("low", "high")
    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 50}

    def __init__(self, masspole: float = 0.1, length: float = 0.5, masscart: float = 1.0,
                 force_mag: float = 10.0, uncertainty_set: Any = None, render_mode: str | None = None):
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        super().__init__(render_mode=None if render_mode == "ansi" else render_mode)
        self.render_mode = render_mode
        self._init_params({"masspole": masspole, "length": length, "masscart": masscart,
                           "force_mag": force_mag}, uncertainty_set)

    def _apply_params(self, params: dict[str, float]) -> None:
        self.masspole = params["masspole"]
        self.length = params["length"]
        self.masscart = params["masscart"]
        self.force_mag = params["force_mag"]
        self.total_mass = self.masspole + self.masscart
        self.polemass_length = self.masspole * self.length

    def step(self, action: Any):
        if self.state is None:
            raise step_before_reset(self)
        if type(action) is not int or not 0 <= action <= 1:  # plain 0 and 1 need no further check
            action = validated_action(self.action_space, action)
        observation, reward, terminated, truncated, info = _cartpole_step(self, action)  # no super(): hot path
        info.update(self._params)
        if not _isfinite(sum(self.state.tolist())):  # NaN or inf anywhere (finite values cannot overflow)
            return nonfinite_step(self.observation_space, observation, reward, info, "cart-pole state")
        if terminated:  # an extreme model can cross twice the thresholds in one step: keep the space's bounds
            observation = np.clip(observation, self.observation_space.low, self.observation_space.high)
        return observation, reward, terminated, truncated, info  # Gymnasium gives float, bool, bool already

    def render(self) -> Any:
        if self.render_mode == "ansi":
            x, x_dot, theta, theta_dot = (float(v) for v in np.asarray(self.state))
            return (f"x={x:+.3f} x_dot={x_dot:+.3f} theta={theta:+.3f} theta_dot={theta_dot:+.3f} "
                    + " ".join(f"{name}={value:g}" for name, value in self._params.items()))
        require_pygame(self)
        return super().render()
