"""The Lotka-Volterra model of user engagement with breaks: parameters, closed forms and the ODE.

A user's consumption rate lambda (drive, the predator) and interest I (the prey) follow, when a fraction
a = 1 - p of the feed slots are items and p are breaks,

    d(lambda)/dt = lambda (-alpha + a beta I),        dI/dt = I (gamma (1 - I) - a delta lambda),

where beta is the user's effective reinforcement (the average of beta_r = 0.01 r^2 over the ratings r of
the items the recommender shows). Its interior fixed point and the best constant break rate are

    I* = alpha / (a beta),   lambda*(p) = (gamma / delta) (1 / (1-p)) (1 - (alpha / beta) / (1-p)),
    p* = max(0, 1 - 2 alpha / beta),   lambda*(p*) = gamma beta / (4 alpha delta)   (when p* > 0),

and the user churns (lambda* = 0) when (1 - p) beta <= alpha. Written as a curve in p,
lambda*(p) = theta2 / (1-p) - theta1 / (1-p)^2 with theta2 = gamma / delta and theta1 = theta2 alpha / beta,
so p* = 1 - 2 theta1 / theta2: the form the paper's LV policy fits to predicted engagements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_matrix, require_real

#: The LV parameters: drive decay alpha, interest recovery gamma, depletion delta per item. They are the authors'
#: current values (edensaig/suggest-breaks, run_experiments.ipynb at commit
#: 0985f03157a95924313b8fe0f6c62fe4a24633a1): with dt = 0.05, alpha = 1.3 dt, beta_r = dt r^2 / 5,
#: gamma = 0.4 dt, delta = 0.02 dt. Their first public commit (ff92973dc719540221bf8226e72839a40f25d055,
#: movielens_experiment.ipynb) had alpha = 1.3, beta_r = r^2 / 5, gamma = 0.2, delta = 0.01, unscaled: the same
#: alpha / beta (hence I* and p*) and the same gamma / delta (hence lambda*), but a 20x larger step per event.
PAPER_ALPHA = 0.065
PAPER_GAMMA = 0.02
PAPER_DELTA = 0.001
#: beta_r = 0.01 r^2 for ratings r = 1..5.
PAPER_BETA = tuple(0.01 * rating**2 for rating in range(1, 6))
#: The randomised treatments of the training users and the range of break rates a policy may choose.
PAPER_TREATMENTS = (0.0, 0.05, 0.10, 0.15)
MAX_BREAK_RATE = 0.5
PAPER_HORIZON = 100.0
PAPER_BATCH_SIZE = 10
PAPER_SOFTMAX_TEMPERATURE = 0.5
PAPER_KAPPA = 0.5
#: Initial state: the equilibrium of the evaluated break rate times (1 + INIT_NOISE * U(-1, 1)).
PAPER_INIT_NOISE = 0.1
N_RATINGS = 5
#: Upper bound of alpha, gamma, delta and each beta_r. The event simulation takes one unit Euler step per event,
#: so it follows the ODE only for rates well below 1 (the defaults); the ODE itself takes any of these.
MAX_LV_RATE = 10.0
#: The longest horizon (time units; the paper's is 100): the event simulation's cost grows with it.
MAX_HORIZON = 10_000.0


@dataclass(frozen=True)
class LVParams:
    """The behavioural parameters shared by all users (users differ by the ratings they are shown)."""

    alpha: float = PAPER_ALPHA
    beta: tuple[float, ...] = PAPER_BETA
    gamma: float = PAPER_GAMMA
    delta: float = PAPER_DELTA

    @classmethod
    def from_kwargs(cls, alpha: Any = PAPER_ALPHA, beta: Any = PAPER_BETA, gamma: Any = PAPER_GAMMA,
                    delta: Any = PAPER_DELTA) -> LVParams:
        """Validated parameters: rates in (0, MAX_LV_RATE], and one such beta per rating 1..5."""
        beta_array = require_matrix("beta", beta, shape=(N_RATINGS,))
        if np.any(beta_array <= 0) or np.any(beta_array > MAX_LV_RATE):
            raise PapergymError(f"beta must hold {N_RATINGS} numbers in (0, {MAX_LV_RATE:g}] (one per rating 1..5), "
                                f"got {beta_array.tolist()}")
        return cls(require_lv_rate("alpha", alpha), tuple(float(b) for b in beta_array),
                   require_lv_rate("gamma", gamma), require_lv_rate("delta", delta))

    @property
    def beta_array(self) -> np.ndarray:
        return np.asarray(self.beta, dtype=np.float64)


def require_lv_rate(name: str, value: Any) -> float:
    """An LV rate in (0, MAX_LV_RATE]."""
    return require_real(name, value, low=0.0, low_open=True, high=MAX_LV_RATE)


def require_break_rate(name: str, value: Any, high: float = 1.0) -> float:
    """A break probability in [0, high) (1 would mean no items at all, where the closed forms end)."""
    return require_real(name, value, low=0.0, high=high, high_open=high >= 1.0)


def equilibrium(p: Any, beta: Any, params: LVParams) -> tuple[np.ndarray, np.ndarray]:
    """The fixed point (lambda*, I*) at break rate ``p`` for effective reinforcement ``beta``.

    A churning user (``(1 - p) beta <= alpha``) has the fixed point (0, 1): no drive, full interest.
    """
    a = 1.0 - np.asarray(p, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    interest = params.alpha / (a * beta)
    alive = interest < 1.0
    rate = np.where(alive, (params.gamma / (params.delta * a)) * (1.0 - interest), 0.0)
    return rate, np.where(alive, interest, 1.0)


def equilibrium_rate(p: Any, beta: Any, params: LVParams) -> np.ndarray:
    """lambda*(p): the long-run engagement (events per time unit) at a constant break rate."""
    return equilibrium(p, beta, params)[0]


def churns(p: Any, beta: Any, params: LVParams) -> np.ndarray:
    """Whether the user's drive dies out at break rate ``p``: ``(1 - p) beta <= alpha``."""
    return (1.0 - np.asarray(p, dtype=np.float64)) * np.asarray(beta, dtype=np.float64) <= params.alpha


def optimal_break_rate(beta: Any, params: LVParams) -> np.ndarray:
    """p* = max(0, 1 - 2 alpha / beta), the constant break rate that maximises lambda*(p)."""
    return np.maximum(0.0, 1.0 - 2.0 * params.alpha / np.asarray(beta, dtype=np.float64))


def curve_coefficients(beta: Any, params: LVParams) -> tuple[np.ndarray, np.ndarray]:
    """(theta1, theta2) of lambda*(p) = theta2 / (1-p) - theta1 / (1-p)^2 (for non-churning p)."""
    theta2 = np.full(np.shape(beta), params.gamma / params.delta)
    return theta2 * params.alpha / np.asarray(beta, dtype=np.float64), theta2


def lv_rhs(state: np.ndarray, a: float, beta: float, params: LVParams) -> np.ndarray:
    """d(lambda, I)/dt at ``state`` with item fraction ``a``."""
    rate, interest = state[0], state[1]
    return np.array([rate * (-params.alpha + a * beta * interest),
                     interest * (params.gamma * (1.0 - interest) - a * params.delta * rate)])


def integrate_ode(state: Any, p: float, beta: float, params: LVParams, duration: float,
                  rtol: float = 1e-8, atol: float = 1e-10) -> tuple[np.ndarray, float]:
    """Integrate the LV ODE for ``duration`` time units (scipy's solve_ivp, RK45).

    Returns the final state and the expected number of events, the integral of lambda over the interval
    (integrated alongside the state, so it is as accurate as the trajectory).
    """
    from scipy.integrate import solve_ivp

    a = 1.0 - p

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        return np.append(lv_rhs(y, a, beta, params), y[0])

    start = np.array([state[0], state[1], 0.0], dtype=np.float64)
    if duration <= 0:
        return start[:2], 0.0
    solution = solve_ivp(rhs, (0.0, duration), start, method="RK45", rtol=rtol, atol=atol)
    if not solution.success:
        raise RuntimeError(f"the LV ODE integration failed: {solution.message}")
    final = solution.y[:, -1]
    return np.maximum(final[:2], 0.0), float(final[2])


def ode_engagement(p: float, beta: float, params: LVParams, horizon: float = PAPER_HORIZON,
                   initial_state: Any = None) -> float:
    """Engagement (expected events per time unit) of the ODE over ``horizon``, from the equilibrium of ``p``
    unless an initial state is given."""
    if initial_state is None:
        rate, interest = equilibrium(p, beta, params)
        initial_state = (float(rate), float(interest))
    _, events = integrate_ode(np.asarray(initial_state, dtype=np.float64), p, beta, params, horizon)
    return events / horizon
