"""Model-based reference controllers of the robust environments for known parameters (:class:`CartPoleLQR`,
:class:`PendulumSwingUp`; ``papergym.agents.lqg.LQROptimal`` for RobustLQG), used to show that every corner of
the default uncertainty sets is solvable, and as an exact inner solver of IWOCS
(``examples/iwocs_exact_cartpole.py``)."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from papergym.core.agent import BaseAgent
from papergym.core.errors import PapergymError


def _dare_gain(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Riccati gain K and the cost-to-go matrix P (the cost of state s is s'Ps) of a discrete system."""
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    return np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A), P


def _require_params(env, kind: str, names: tuple[str, ...]) -> dict[str, float]:
    unwrapped = env.unwrapped
    if not hasattr(unwrapped, "get_params"):
        raise PapergymError(f"{kind} needs a parametric environment (with get_params), got {unwrapped!r}")
    params = unwrapped.get_params()
    missing = [name for name in names if name not in params]
    if missing:
        raise PapergymError(f"{kind} needs the parameters {list(names)}; {unwrapped!r} lacks {missing}")
    return params


class CartPoleLQR(BaseAgent):
    """Bang-bang linear-quadratic controller of ``RobustCartPole`` for known parameters.

    The dynamics are linearised about the upright equilibrium (Gymnasium's equations, Euler step
    tau = 0.02 s); the Riccati gain K of the discretised system gives the desired force -K s, and the
    controller pushes in its direction. ``cost_to_go`` is the Riccati matrix P: -s'Ps is the linearised
    model's value of state s, usable as the controller's critic (see :meth:`IWOCS.add_member`).
    """

    def values(self, observations: np.ndarray) -> np.ndarray:
        """The linearised model's value -s'Ps of each observation of a batch."""
        states = np.asarray(observations, dtype=np.float64).reshape(-1, 4)
        return -np.einsum("ni,ij,nj->n", states, self.cost_to_go, states)

    def __init__(self, observation_space, action_space, masspole: float, length: float, masscart: float,
                 force_mag: float, gravity: float = 9.8, tau: float = 0.02):
        super().__init__(observation_space, action_space)
        total_mass = masspole + masscart
        denominator = length * (4.0 / 3.0 - masspole / total_mass)
        continuous_a = np.zeros((4, 4))
        continuous_a[0, 1] = continuous_a[2, 3] = 1.0
        continuous_a[3, 2] = gravity / denominator
        continuous_a[1, 2] = -masspole * length * gravity / (total_mass * denominator)
        continuous_b = np.array([0.0, 1.0 / total_mass + masspole * length / (total_mass**2 * denominator),
                                 0.0, -1.0 / (total_mass * denominator)])[:, None]
        self.transition, self.push = np.eye(4) + tau * continuous_a, tau * continuous_b[:, 0]
        self.force_mag = force_mag
        self.gain, self.cost_to_go = _dare_gain(self.transition, self.push[:, None],
                                                np.diag([1.0, 1.0, 10.0, 1.0]), np.array([[0.1]]))

    def action_values(self, observations: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The linearised model's value of pushing with each action: -s'Ps of the state it leads to."""
        states = np.asarray(observations, dtype=np.float64).reshape(-1, 4)
        forces = np.where(np.asarray(actions).reshape(-1) == 1, self.force_mag, -self.force_mag)
        return self.values(states @ self.transition.T + forces[:, None] * self.push)

    @classmethod
    def from_env(cls, env) -> CartPoleLQR:
        params = _require_params(env, "CartPoleLQR", ("masspole", "length", "masscart", "force_mag"))
        return cls(env.observation_space, env.action_space, params["masspole"], params["length"],
                   params["masscart"], params["force_mag"])

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        force = -np.asarray(observations, dtype=np.float64) @ self.gain.T
        return (force[:, 0] > 0.0).astype(np.int64)


class PendulumSwingUp(BaseAgent):
    """Energy-shaping swing-up and linear-quadratic balancing of ``RobustPendulum`` for known parameters.

    Far from upright the torque pumps energy towards that of the upright rest state (Astrom and
    Furuta, 2000): torque = clip(-k_E (E - E_top) theta_dot); within ``capture_angle`` of upright it
    switches to the Riccati gain of the model linearised about upright. Actions are normalised by the
    maximal torque, as the environment's action space is.
    """

    def __init__(self, observation_space, action_space, m: float, l: float, g: float,  # noqa: E741
                 max_torque: float = 2.0, dt: float = 0.05, capture_angle: float = 0.5,
                 energy_gain: float = 1.0):
        super().__init__(observation_space, action_space)
        self.m, self.l, self.g, self.max_torque = m, l, g, max_torque
        self.capture_angle, self.energy_gain = capture_angle, energy_gain
        inertia_inverse = 3.0 / (m * l**2)
        # Semi-implicit Euler of theta_ddot = 3 g / (2 l) theta + 3 / (m l^2) torque, state (theta, theta_dot).
        a = np.array([[1.0 + dt**2 * 1.5 * g / l, dt], [dt * 1.5 * g / l, 1.0]])
        b = np.array([[dt**2 * inertia_inverse], [dt * inertia_inverse]])
        self.gain, _ = _dare_gain(a, b, np.diag([1.0, 0.1]), np.array([[0.001]]))

    @classmethod
    def from_env(cls, env) -> PendulumSwingUp:
        params = _require_params(env, "PendulumSwingUp", ("m", "l", "g"))
        return cls(env.observation_space, env.action_space, params["m"], params["l"], params["g"])

    def act_batch(self, observations: np.ndarray, deterministic: bool = False) -> np.ndarray:
        observations = np.asarray(observations, dtype=np.float64)
        cos_theta, sin_theta, theta_dot = observations[:, 0], observations[:, 1], observations[:, 2]
        theta = np.arctan2(sin_theta, cos_theta)
        # Energy relative to the upright rest state: rotational (I = m l^2 / 3) plus potential.
        energy = self.m * self.l**2 / 6.0 * theta_dot**2 + self.m * self.g * self.l / 2.0 * (cos_theta - 1.0)
        pumping = -self.energy_gain * energy * np.sign(theta_dot + 1e-9) * self.max_torque
        balancing = -(np.stack([theta, theta_dot], axis=1) @ self.gain.T)[:, 0]
        torque = np.where(np.abs(theta) < self.capture_angle, balancing, pumping)
        return np.clip(torque / self.max_torque, -1.0, 1.0).astype(np.float32)[:, None]
