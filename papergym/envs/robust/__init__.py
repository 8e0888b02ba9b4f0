"""Robust MDPs as a sequence of static problems (IWOCS; Zouitine, Geist & Rachelson, 2024).

Parametric environments (the protocol of the Robust RL Suite: ``set_params``, ``get_params``,
``reset(options=params)``) with their default uncertainty sets.
"""

from papergym.envs.robust.cartpole import RobustCartPoleEnv
from papergym.envs.robust.lqg import RobustLQGEnv
from papergym.envs.robust.parametric import ParametricEnv, UncertaintySet, is_parametric
from papergym.envs.robust.pendulum import RobustPendulumEnv

__all__ = ["ParametricEnv", "RobustCartPoleEnv", "RobustLQGEnv", "RobustPendulumEnv", "UncertaintySet",
           "is_parametric"]
