"""The linear-quadratic Gaussian regulator with uncertain dynamics: A and B scaled by parameters."""

from __future__ import annotations

import dataclasses
from typing import Any

from papergym.envs.lqg import LQGEnv, LQGModel
from papergym.envs.robust.parametric import ParametricEnv


class RobustLQGEnv(ParametricEnv, LQGEnv):
    """
    ## Description

    ``papergym/LQG-v0`` (see :class:`papergym.envs.lqg.LQGEnv`) with an uncertain transition model: the
    nominal matrices A0 and B0 are scaled, A = a_scale A0 and B = b_scale B0. Its value is that every
    quantity of the robust problem has a closed form: for a linear policy u = -K x the expected return
    on any model is ``papergym.agents.lqg.linear_policy_return`` and the optimal return of each model
    follows from its Riccati equation, so worst-case searches can be checked exactly.

    ## Parameters (the parametric-environment protocol)

    | name    | meaning                  | nominal | range        | default uncertainty set |
    |---------|--------------------------|---------|--------------|-------------------------|
    | a_scale | factor on the matrix A   | 1.0     | [0.001, 100] | [0.8, 1.2]              |
    | b_scale | factor on the matrix B   | 1.0     | [0.001, 100] | [0.5, 1.5]              |

    The range is enforced at construction, by ``set_params`` and by ``reset(options=...)``, and bounds the
    uncertainty sets; a value outside it raises ``ValueError`` naming the parameter, the value and the range.
    The state is clipped to ``max_state``, so every cost stays finite for any scale in range.

    ``set_params(**params)``, ``get_params()``, ``reset(options=params)``; parameters persist across
    resets and are reported in ``info``. With b_scale > 0 every model of the set is controllable; the
    Riccati controller of each corner stabilises it (``tests/test_robust_envs.py`` computes the
    corners' optimal returns).

    ## Action Space, Observation Space, Rewards, Starting State, Episode End

    As :class:`papergym.envs.lqg.LQGEnv`: u in [-max_action, max_action], the state fully observed,
    reward -(x'Qx + u'Ru), x0 uniform in [-init_state_bound, init_state_bound]^n, truncation after 50 steps
    in the registered ``papergym/RobustLQG-v0``.

    ## Arguments

    * ``a_scale``, ``b_scale``: initial parameters (default 1), in the ranges above.
    * ``uncertainty_set``: ``{name: (low, high)}`` over some of the parameters (default above).
    * every argument of :class:`papergym.envs.lqg.LQGEnv` (``A``, ``B``, ``Q``, ``R``, ``noise_cov``, ...),
      which defines the nominal model (default: the 1-D system A = B = Q = R = 1).

    ## Version History

    * v0: initial version.
    """

    NOMINAL_PARAMS = {"a_scale": 1.0, "b_scale": 1.0}
    PARAMETER_RANGES = {"a_scale": (0.001, 100.0), "b_scale": (0.001, 100.0)}
    DEFAULT_UNCERTAINTY_SET = {"a_scale": (0.8, 1.2), "b_scale": (0.5, 1.5)}

    def __init__(self, a_scale: float = 1.0, b_scale: float = 1.0, uncertainty_set: Any = None,
                 **lqg_kwargs: Any):
        super().__init__(**lqg_kwargs)
        self.nominal_model: LQGModel = self.model
        self._init_params({"a_scale": a_scale, "b_scale": b_scale}, uncertainty_set)

    def _apply_params(self, params: dict[str, float]) -> None:
        self.model = dataclasses.replace(self.nominal_model, A=params["a_scale"] * self.nominal_model.A,
                                         B=params["b_scale"] * self.nominal_model.B)

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = super().step(action)
        return observation, reward, terminated, truncated, self._with_params(info)
