"""The dynamical linear bandit: a stable linear system with a hidden state, driven by budget allocations.

x_{t+1} = A x_t + B u_t + eta_t,   y_t = C x_t + D u_t + eps_t,   reward r_t = 1'y_t,

with eta_t ~ N(0, sigma^2 I_n), eps_t ~ N(0, sigma^2 I_m), x_0 = 0 and spectral radius rho(A) < 1
(Mussi, Metelli & Restelli, "Dynamical Linear Bandits", ICML 2023). The action u_t is one of a finite set
of allocation vectors. Playing u forever yields, at steady state, the expected reward h'u with the
cumulative Markov parameter h' = 1'(D + C (I - A)^{-1} B); the optimal policy plays argmax_u h'u forever
and the paper's regret of a sequence of actions is sum_t (h'u* - h'u_t).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_choice, require_matrix, require_real

PRESETS_FILE = Path(__file__).with_name("presets.json")
DEFAULT_PRESET = "synthetic-0.01"
#: Largest magnitude accepted for an entry of A, B, C, D, an allocation and the noise std: beyond any
#: advertising system, and small enough that the reward bound and every step stay finite float64 numbers.
ENTRY_LIMIT = 1e6
#: Observation scale: the last reward is divided by (largest noiseless reward + this many noise stds).
REWARD_SCALE_STDS = 8.0


@cache
def _preset_table() -> dict[str, Any]:
    return json.loads(PRESETS_FILE.read_text())


def preset_names() -> list[str]:
    """The paper's cases: the synthetic system at three noise levels and the system fitted to real data."""
    return list(_preset_table()["presets"])


def preset_system(name: str) -> dict[str, Any]:
    """The matrices, budget and (for ``real``) expert spend of a preset, as stored in the package."""
    require_choice("preset", name, preset_names())
    table = _preset_table()
    return table["systems"][table["presets"][name]["system"]]


def preset_kwargs(name: str) -> dict[str, Any]:
    """The model arguments of a preset: ``A``, ``B``, ``C``, ``D``, ``noise_std`` and ``actions``."""
    system = preset_system(name)
    actions = budget_allocations(len(system["B"][0]), **system["budget"])
    return {key: np.array(system[key], dtype=np.float64) for key in "ABCD"} | {
        "noise_std": _preset_table()["presets"][name]["noise_std"], "actions": actions}


def budget_allocations(n_campaigns: int, total_budget: float, campaign_cap: float,
                       campaign_floor: float = 0.0) -> np.ndarray:
    """The paper's action set: every campaign gets ``campaign_floor``, then the rest of ``total_budget``
    fills the campaigns up to ``campaign_cap`` in every possible order; distinct allocations, sorted.

    For 3 campaigns, cap 1 and total 1.5 these are the six permutations of (1, 0.5, 0).
    """
    if n_campaigns * campaign_floor > total_budget or n_campaigns * campaign_cap < total_budget:
        raise PapergymError(f"total_budget must lie in [{n_campaigns} * campaign_floor, {n_campaigns} * "
                         f"campaign_cap], got {total_budget} with floor {campaign_floor}, cap {campaign_cap}")
    allocations = []
    for order in itertools.permutations(range(n_campaigns)):
        allocation = np.full(n_campaigns, float(campaign_floor))
        remaining = total_budget - n_campaigns * campaign_floor
        for campaign in order:
            added = min(remaining, campaign_cap - allocation[campaign])
            allocation[campaign] += added
            remaining -= added
        allocations.append(allocation)
    return np.unique(np.array(allocations), axis=0)


def expert_allocation(spend: Any, total_budget: float, campaign_cap: float,
                      campaign_floor: float = 0.0) -> np.ndarray:
    """The expert policy of the real-data case: the expert's spend as fixed proportions of the budget.

    Proportions outside [floor / cap, cap / total] are clipped to that range and the others rescaled so
    that the proportions still sum to one; the allocation is the proportions times ``total_budget``.
    """
    spend = require_matrix("spend", spend, shape=(None,))
    if np.any(spend < 0) or spend.sum() <= 0:
        raise PapergymError(f"spend must be non-negative with a positive total, got {spend.tolist()}")
    shares = spend / spend.sum()
    low, high = campaign_floor / campaign_cap, campaign_cap / total_budget
    clipped = (shares < low) | (shares > high)
    shares = np.clip(shares, low, high)
    free = ~clipped
    if free.any():
        shares[free] *= (1.0 - shares[clipped].sum()) / shares[free].sum()
    return shares * total_budget


def spectral_radius(A: np.ndarray) -> float:
    """rho(A): the largest modulus of the eigenvalues of A."""
    return float(np.max(np.abs(np.linalg.eigvals(A))))


def transient_constant(A: np.ndarray, rho: float, max_power: int = 1000) -> float:
    """Phi(A) = sup_{k >= 0} ||A^k||_2 / rho^k: how far the transient of A can rise above rho^k.

    Evaluated, as in the authors' experiments, over the powers up to ``max_power``; 1 for a normal
    matrix. ``rho`` may be any bound >= rho(A) (the larger, the smaller the constant).
    """
    if rho <= 0.0:
        return 1.0
    power, largest = np.eye(A.shape[0]), 1.0
    for k in range(1, max_power):
        power = power @ A
        norm = np.linalg.norm(power, 2)
        if norm == 0.0 or rho**k < 1e-300:
            break
        largest = max(largest, norm / rho**k)
    return float(largest)


@dataclass(frozen=True)
class DLBModel:
    """A validated dynamical linear bandit and the quantities that define its optimal policy and regret."""

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    noise_std: float
    actions: np.ndarray
    #: omega = C'1 and theta = D'1: the reward 1'y is omega'x + theta'u + 1'eps.
    omega: np.ndarray
    theta: np.ndarray
    #: h = theta + B'(I - A)^{-T} omega, the steady-state gain of a constant action.
    markov_gain: np.ndarray
    spectral_radius: float
    #: A, B, omega, theta and the actions as tuples of Python floats, for the single environment's step.
    scalars: dict[str, tuple] = field(init=False, repr=False, compare=False)
    #: h'u for every action, computed once (read-only): the vector environment's per-step lookup.
    values_array: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        as_tuples = {name: tuple(tuple(row) if isinstance(row, list) else row for row in getattr(self, name).tolist())
                     for name in ("A", "B", "omega", "theta", "actions")}
        values = self.steady_state_values
        values.flags.writeable = False
        as_tuples["steady_state_values"] = tuple(values.tolist())
        object.__setattr__(self, "scalars", as_tuples)
        object.__setattr__(self, "values_array", values)

    @classmethod
    def from_kwargs(cls, preset: str | None = DEFAULT_PRESET, A: Any = None, B: Any = None, C: Any = None,
                    D: Any = None, noise_std: float | None = None, actions: Any = None) -> DLBModel:
        """Build a model from a named preset, any of whose values an explicit argument replaces."""
        base = preset_kwargs(preset) if preset is not None else {}
        given = {"A": A, "B": B, "C": C, "D": D, "noise_std": noise_std, "actions": actions}
        values = base | {key: value for key, value in given.items() if value is not None}
        missing = [key for key in given if key not in values]
        if missing:
            raise PapergymError(f"without a preset, {', '.join(missing)} must be given (preset=None)")
        A = require_matrix("A", values["A"], shape=(None, None), bound=ENTRY_LIMIT)
        if A.shape[0] != A.shape[1]:
            raise PapergymError(f"A must be a square matrix, got shape {A.shape}")
        n = A.shape[0]
        B = require_matrix("B", values["B"], shape=(n, None), bound=ENTRY_LIMIT)
        p = B.shape[1]
        C = require_matrix("C", values["C"], shape=(None, n), bound=ENTRY_LIMIT)
        D = require_matrix("D", values["D"], shape=(C.shape[0], p), bound=ENTRY_LIMIT)
        rho = spectral_radius(A)
        if rho >= 1.0:
            raise PapergymError(f"A must be stable (spectral radius < 1), got spectral radius {rho:.6g}")
        noise_std = require_real("noise_std", values["noise_std"], low=0.0, high=ENTRY_LIMIT)
        actions = require_matrix("actions", values["actions"], shape=(None, p), bound=ENTRY_LIMIT)
        omega, theta = C.sum(axis=0), D.sum(axis=0)
        markov_gain = theta + B.T @ np.linalg.solve((np.eye(n) - A).T, omega)
        return cls(A, B, C, D, noise_std, actions, omega, theta, markov_gain, rho)

    @property
    def state_dim(self) -> int:
        return self.A.shape[0]

    @property
    def output_dim(self) -> int:
        return self.C.shape[0]

    @property
    def action_dim(self) -> int:
        return self.B.shape[1]

    @property
    def n_actions(self) -> int:
        return self.actions.shape[0]

    @property
    def steady_state_values(self) -> np.ndarray:
        """h'u for every action: the expected reward of playing it forever, once the transient has faded."""
        return self.actions @ self.markov_gain

    @property
    def optimal_action(self) -> int:
        return int(np.argmax(self.steady_state_values))

    @property
    def optimal_value(self) -> float:
        return float(self.values_array.max())

    def reward_scale(self) -> float:
        """A bound used to scale the observed reward into [-1, 1]: the largest noiseless reward any action
        sequence can give from x_0 = 0, plus ``REWARD_SCALE_STDS`` stationary standard deviations of the
        reward noise. Rewards beyond it (an 8-sigma event) are clipped in the observation only."""
        rho = self.spectral_radius
        phi = transient_constant(self.A, rho)
        action_norm = float(np.linalg.norm(self.actions, axis=1).max())
        state_bound = phi * np.linalg.norm(self.B, 2) * action_norm / (1.0 - rho)
        mean_bound = np.linalg.norm(self.omega) * state_bound + np.linalg.norm(self.theta) * action_norm
        noise = self.noise_std * np.sqrt(self.output_dim + (np.linalg.norm(self.omega) * phi) ** 2
                                         / (1.0 - rho**2))
        return float(max(mean_bound + REWARD_SCALE_STDS * noise, 1e-12))
