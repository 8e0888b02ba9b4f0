"""The discrete-time linear-quadratic Gaussian regulator: validated parameters and the batched dynamics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_matrix, require_real, require_symmetric_psd

#: The documented two-dimensional variant: a double integrator (position, velocity) pushed by a force,
#: sampled with a unit time step. Its Riccati gain keeps |u| < 1 from every start in [-0.5, 0.5]^2,
#: so the bounded action never saturates under the optimal policy.
DOUBLE_INTEGRATOR: dict[str, Any] = {
    "A": [[1.0, 1.0], [0.0, 1.0]],
    "B": [[0.5], [1.0]],
    "Q": [[1.0, 0.0], [0.0, 1.0]],
    "R": [[1.0]],
    "noise_cov": [[0.01, 0.0], [0.0, 0.01]],
    "init_state_bound": 0.5,
}

#: Largest magnitude accepted for a matrix entry, ``max_state`` and ``max_action``: far beyond any physical
#: system, and small enough that every cost x'Qx + u'Ru of a clipped state stays a finite float64.
ENTRY_LIMIT = 1e6


def _as_square(name: str, value: Any, size: int | None = None) -> np.ndarray:
    """A scalar means a 1x1 matrix (or ``value * I`` when ``size`` is known)."""
    array = np.asarray(value, dtype=object)
    if array.ndim == 0:
        scalar = require_real(name, value, low=-ENTRY_LIMIT, high=ENTRY_LIMIT)
        return scalar * np.eye(size or 1)
    matrix = require_matrix(name, value, shape=(size, size), bound=ENTRY_LIMIT)
    if matrix.shape[0] != matrix.shape[1]:
        raise PapergymError(f"{name} must be a square matrix, got shape {matrix.shape}")
    return matrix


@dataclass(frozen=True)
class LQGModel:
    """x' = clip(A x + B u + w, ±max_state), w ~ N(0, noise_cov); cost x'Qx + u'Ru; x0 ~ U[-b, b]^n."""

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    noise_cov: np.ndarray
    init_state_bound: float
    max_action: float
    max_state: float
    noise_sqrt: np.ndarray
    #: The matrices as nested tuples of Python floats, for the scalar step of small systems.
    _rows: dict[str, tuple] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = {name: tuple(tuple(row) for row in getattr(self, name).tolist())
                for name in ("A", "B", "Q", "R", "noise_sqrt")}
        object.__setattr__(self, "_rows", rows)

    @classmethod
    def from_kwargs(cls, A: Any = 1.0, B: Any = 1.0, Q: Any = 1.0, R: Any = 1.0, noise_cov: Any = 0.01,
                    init_state_bound: float = 1.0, max_action: float = 1.0,
                    max_state: float = 10.0) -> LQGModel:
        A = _as_square("A", A)
        n = A.shape[0]
        try:
            B = require_matrix("B", [[B]] if np.ndim(B) == 0 else B, shape=(n, None), bound=ENTRY_LIMIT)
        except PapergymError as error:
            raise PapergymError(f"{error} (A is {n}x{n}, so B needs {n} rows)") from None
        m = B.shape[1]
        shapes = f"(A is {n}x{n} and B is {n}x{m})"
        try:
            Q = require_symmetric_psd("Q", _as_square("Q", Q, n))
            R = require_symmetric_psd("R", _as_square("R", R, m), strict=True)
            noise_cov = require_symmetric_psd("noise_cov", _as_square("noise_cov", noise_cov, n))
        except PapergymError as error:
            raise PapergymError(f"{error} {shapes}") from None
        init_state_bound = require_real("init_state_bound", init_state_bound, low=0.0, high=ENTRY_LIMIT)
        max_action = require_real("max_action", max_action, low=0.0, low_open=True, high=ENTRY_LIMIT)
        max_state = require_real("max_state", max_state, low=0.0, low_open=True, high=ENTRY_LIMIT)
        if init_state_bound > max_state:
            raise PapergymError(f"init_state_bound must be <= max_state={max_state}, got {init_state_bound}")
        return cls(A, B, Q, R, noise_cov, init_state_bound, max_action, max_state, _psd_sqrt(noise_cov))

    @property
    def state_dim(self) -> int:
        return self.A.shape[0]

    @property
    def action_dim(self) -> int:
        return self.B.shape[1]

    def initial_states(self, rng: np.random.Generator, count: int) -> np.ndarray:
        bound = self.init_state_bound
        return rng.uniform(-bound, bound, size=(count, self.state_dim))

    def noise(self, rng: np.random.Generator, count: int) -> np.ndarray:
        # A fixed number of draws per step (count x n standard normals) keeps rollouts reproducible.
        standard = rng.standard_normal(size=(count, self.state_dim))
        return standard @ self.noise_sqrt.T

    def costs(self, states: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row state cost x'Qx and action cost u'Ru."""
        state_cost = np.einsum("bi,ij,bj->b", states, self.Q, states)
        action_cost = np.einsum("bi,ij,bj->b", actions, self.R, actions)
        return state_cost, action_cost

    def scalar_step(self, state: list[float], action: list[float],
                    standard_normals: list[float]) -> tuple[list[float], float, float]:
        """One system's step on Python floats: (next state, x'Qx, u'Ru), without array overhead (the single
        environment's step). Products associate as x_i (Q_ij x_j) and sums run left to right."""
        rows = self._rows
        if len(state) == 1 and len(action) == 1:  # the 1-D system: a handful of float operations
            (x,), (u,), (z,) = state, action, standard_normals
            state_cost, action_cost = x * (rows["Q"][0][0] * x), u * (rows["R"][0][0] * u)
            raw = rows["A"][0][0] * x + rows["B"][0][0] * u + rows["noise_sqrt"][0][0] * z
            return [max(-self.max_state, min(self.max_state, raw))], state_cost, action_cost
        state_cost = _quadratic_form(rows["Q"], state)
        action_cost = _quadratic_form(rows["R"], action)
        bound = self.max_state
        next_state = []
        for a_row, b_row, s_row in zip(rows["A"], rows["B"], rows["noise_sqrt"]):
            value = _dot(a_row, state) + _dot(b_row, action) + _dot(s_row, standard_normals)
            next_state.append(max(-bound, min(bound, value)))
        return next_state, state_cost, action_cost

    def next_states(self, states: np.ndarray, actions: np.ndarray, noise: np.ndarray) -> np.ndarray:
        raw = states @ self.A.T + actions @ self.B.T + noise
        return np.clip(raw, -self.max_state, self.max_state)


def _dot(row: tuple[float, ...], vector: list[float]) -> float:
    total = 0.0
    for coefficient, value in zip(row, vector):
        total += coefficient * value
    return total


def _quadratic_form(matrix: tuple[tuple[float, ...], ...], vector: list[float]) -> float:
    """vector' matrix vector, as sum_i v_i (sum_j M_ij v_j)."""
    total = 0.0
    for value, row in zip(vector, matrix):
        total += value * _dot(row, vector)
    return total


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """A square root S with S S' = matrix, valid for singular covariances too."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))
