"""The optimal linear regulator for ``papergym/LQG-v0`` and the closed forms that certify it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import scipy.linalg

from papergym.core.agent import BaseAgent
from papergym.core.errors import PapergymError
from papergym.envs.lqg.model import LQGModel


def riccati_gain(model: LQGModel) -> tuple[np.ndarray, np.ndarray]:
    """The infinite-horizon optimal gain K (u = -K x) and cost-to-go matrix P of the DARE."""
    P = scipy.linalg.solve_discrete_are(model.A, model.B, model.Q, model.R)
    K = np.linalg.solve(model.R + model.B.T @ P @ model.B, model.B.T @ P @ model.A)
    return K, P


def initial_state_covariance(model: LQGModel) -> np.ndarray:
    """E[x0 x0'] for x0 uniform on [-b, b]^n: b^2/3 on the diagonal."""
    return np.eye(model.state_dim) * model.init_state_bound**2 / 3.0


def linear_policy_return(model: LQGModel, K: np.ndarray, horizon: int) -> float:
    """Exact expected return of u = -K x over ``horizon`` steps (no saturation or state clipping).

    The state covariance evolves as S' = (A - BK) S (A - BK)' + W and the expected cost of a step is
    tr((Q + K'RK) S).
    """
    closed_loop = model.A - model.B @ K
    step_cost = model.Q + K.T @ model.R @ K
    covariance, total = initial_state_covariance(model), 0.0
    for _ in range(horizon):
        total += float(np.trace(step_cost @ covariance))
        covariance = closed_loop @ covariance @ closed_loop.T + model.noise_cov
    return -total


def finite_horizon_optimal_return(model: LQGModel, horizon: int) -> float:
    """The optimal expected return over ``horizon`` steps (time-varying Riccati recursion, P_H = 0)."""
    P = np.zeros_like(model.A)
    noise_terms = 0.0
    for _ in range(horizon):
        noise_terms += float(np.trace(P @ model.noise_cov))
        gain = np.linalg.solve(model.R + model.B.T @ P @ model.B, model.B.T @ P @ model.A)
        P = model.Q + model.A.T @ P @ (model.A - model.B @ gain)
    return -(float(np.trace(P @ initial_state_covariance(model))) + noise_terms)


class LinearFeedback(BaseAgent):
    """u = -K x for a given gain K, clipped to the action bound ``max_action``."""

    def __init__(self, gain: np.ndarray, max_action: float, observation_space: gym.Space,
                 action_space: gym.Space):
        super().__init__(observation_space, action_space)
        self.gain = np.atleast_2d(np.asarray(gain, dtype=np.float64))
        self.max_action = max_action

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        actions = -np.asarray(observations, dtype=np.float64) @ self.gain.T
        return np.clip(actions, -self.max_action, self.max_action).astype(np.float32)


class LQROptimal(LinearFeedback):
    """u = -K x with K from the discrete algebraic Riccati equation, clipped to the action bound.

    Optimal among stationary policies for the infinite horizon; on a finite horizon H the exact optimum
    is time-varying, and ``finite_horizon_optimal_return`` measures the (small) difference.
    """

    def __init__(self, model: LQGModel, observation_space: gym.Space, action_space: gym.Space):
        gain, self.cost_to_go = riccati_gain(model)
        super().__init__(gain, model.max_action, observation_space, action_space)
        self.model = model

    @classmethod
    def from_env(cls, env: gym.Env) -> LQROptimal:
        return cls(lqg_model(env), env.observation_space, env.action_space)


def lqg_model(env: gym.Env) -> LQGModel:
    """The LQG model behind an environment (through any wrappers), or ``PapergymError``."""
    model = getattr(env.unwrapped, "model", None)
    if not isinstance(model, LQGModel):
        raise PapergymError(f"an LQG environment is needed, got {env.unwrapped!r}")
    return model
