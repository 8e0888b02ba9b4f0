"""Linear-quadratic Gaussian regulator (the closed-form benchmark of the policy-gradient papers)."""

from papergym.envs.lqg.lqg import LQGEnv, LQGVectorEnv
from papergym.envs.lqg.model import DOUBLE_INTEGRATOR, LQGModel

__all__ = ["DOUBLE_INTEGRATOR", "LQGEnv", "LQGModel", "LQGVectorEnv"]
