"""The two-stage treatment models of the DTR bandit (Hu & Kallus, "DTR Bandit", arXiv 2005.02791).

A patient arrives with features x1; a first-line treatment a1 gives a stage-1 reward r1 and intermediate
features x2; a second-line treatment a2 gives a stage-2 reward r2. With Q2(x2, a2) = E[r2 | x2, a2] and
Q1(x1, a1) = E[r1 + max_{a2 allowed} Q2(X2, a2) | x1, a1], the optimal regime plays argmax Q1 then
argmax Q2 and is worth V*(x1) = max_a1 Q1(x1, a1).

Every model draws *potential outcomes* for a batch of patients (:class:`Patients`): X2 under each a1, r1
under each a1, r2 under each (a1, a2). Any two policies evaluated on the same draws see the same noise
(common random numbers), which is how the realised regret against a noise-matched oracle is measured.
Q1 is computed exactly (piecewise integration of the piecewise-linear continuation value) for every
preset, except the linear-Gaussian model with d > 1, which uses a fixed product midpoint rule.

Three presets:

* ``beta-mixture`` (the paper's current synthetic experiment): X1 ~ U(0, 1); X2 | a1 is a mixture of
  two Beta laws with weight X1; Y = theta_{a2}'(X2, 1) + N(0, 1); no stage-1 reward; A1* = 1 iff
  X1 > 5/14 (paper's labels; arm index 0 here).
* ``linear-gaussian`` (the earlier version): X1 ~ N(0, I_d), r1 = beta_{a1,1}'X1 + N(0, sigma^2),
  X2 = B_{a1} X1 + U(-w, w)^d, r2 = beta_{a2,2}'X2 + N(0, sigma^2).
* ``depression``: a synthetic simulator shaped like the STAR*D trial (see :class:`DepressionModel`);
  its parameters are invented to give a plausible shape, not fitted to STAR*D.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_choice, require_int, require_positive, require_real
from papergym.core.validation import require_matrix as _require_any_matrix

#: Largest magnitude of a coefficient, a noise scale or a feature: beyond it rewards overflow float64.
MAX_MAGNITUDE = 1e6

PRESETS = ("beta-mixture", "linear-gaussian", "depression")
DEFAULT_PRESET = "beta-mixture"
#: Gauss-Legendre nodes per piece: exact for polynomial densities of degree < 2 * 16 - 1.
GAUSS_NODES = 16
#: Points per dimension of the midpoint rule for E over U(-w, w)^d when d > 1 (capped at 2^16 in all).
MIDPOINT_BUDGET = 1 << 16


@dataclass
class Patients:
    """Potential outcomes of n patients (arrays over patients first).

    ``x1`` (n, p1); ``x2`` (n, K1, p2): intermediate features under each first-line arm; ``r1`` (n, K1);
    ``r2`` (n, K1, K2): stage-2 reward of each sequence; ``remitted`` (n, K1): no stage-2 decision after
    a1 (the stage-2 reward is then fixed, stored in ``r2[:, a1, :]`` for every a2).
    """

    x1: np.ndarray
    x2: np.ndarray
    r1: np.ndarray
    r2: np.ndarray
    remitted: np.ndarray

    def __len__(self) -> int:
        return self.x1.shape[0]

    def take(self, index: Any) -> Patients:
        return Patients(self.x1[index], self.x2[index], self.r1[index], self.r2[index], self.remitted[index])


@dataclass
class DTRModel:
    """Common interface of the presets: sizes, allowed sequences, potential outcomes and exact Q-values."""

    name: str
    n_actions1: int
    n_actions2: int
    dim1: int
    dim2: int
    allowed2: np.ndarray = field(default=None)  # (K1, K2) bool: a2 allowed after a1

    def __post_init__(self) -> None:
        if self.allowed2 is None:
            self.allowed2 = np.ones((self.n_actions1, self.n_actions2), dtype=bool)

    # --- to implement ----------------------------------------------------------------------------
    def draw(self, rng: np.random.Generator, n: int, x1: np.ndarray | None = None) -> Patients:
        """Potential outcomes of n new patients (of the patients with features ``x1`` if given)."""
        raise NotImplementedError

    def q1(self, x1: np.ndarray) -> np.ndarray:
        """Q1(x1, a1) for each row of ``x1`` (n, p1): shape (n, K1)."""
        raise NotImplementedError

    def q2(self, x2: np.ndarray) -> np.ndarray:
        """Q2(x2, a2) = E[r2 | x2, a2] for each row of ``x2`` (n, p2): shape (n, K2)."""
        raise NotImplementedError

    # --- derived ---------------------------------------------------------------------------------
    @property
    def sequences(self) -> np.ndarray:
        """The allowed action sequences (a1, a2), in lexicographic order: shape (K, 2)."""
        return np.argwhere(self.allowed2).astype(np.int64)

    @property
    def observation_bounds(self) -> tuple[float, float]:
        return -np.inf, np.inf

    def v1(self, x1: np.ndarray) -> np.ndarray:
        """V*(x1) = max_a1 Q1(x1, a1)."""
        return self.q1(x1).max(axis=1)

    def q2_allowed(self, x2: np.ndarray, a1: np.ndarray) -> np.ndarray:
        """Q2 with the arms not allowed after ``a1`` set to -inf: shape (n, K2)."""
        return np.where(self.allowed2[np.asarray(a1)], self.q2(x2), -np.inf)

    def optimal_first(self, x1: np.ndarray) -> np.ndarray:
        """The optimal first-line arm of each row of ``x1`` (ties within 1e-9: the lowest index)."""
        return first_best(self.q1(x1))

    def optimal_second(self, x2: np.ndarray, a1: np.ndarray) -> np.ndarray:
        """The optimal allowed second-line arm (ties within 1e-9: the lowest index)."""
        return first_best(self.q2_allowed(x2, a1))

    def optimal_actions(self, patients: Patients) -> tuple[np.ndarray, np.ndarray]:
        """The optimal regime's (a1, a2) on each patient (a2 is -1 when the patient remitted)."""
        rows = np.arange(len(patients))
        a1 = self.optimal_first(patients.x1)
        a2 = self.optimal_second(patients.x2[rows, a1], a1)
        return a1, np.where(patients.remitted[rows, a1], -1, a2)

    def realised_return(self, patients: Patients, a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
        """r1 + r2 of each patient under the sequence (a1, a2); a2 is ignored for remitted patients."""
        rows = np.arange(len(patients))
        a2 = np.where(a2 < 0, self.allowed2[a1].argmax(axis=1), a2)
        return patients.r1[rows, a1] + patients.r2[rows, a1, a2]

    def expected_regret(self, patients: Patients, a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
        """Per patient: V*(x1) - Q1(x1, a1) + [max_allowed Q2(x2, .) - Q2(x2, a2)] on the realised x2.

        Its expectation over X2 is V*(x1) minus the value of the sequence played; the outcome noise is
        removed. Remitted patients have no stage-2 term.
        """
        rows = np.arange(len(patients))
        q1 = self.q1(patients.x1)
        x2 = patients.x2[rows, a1]
        q2 = self.q2_allowed(x2, a1)
        stage2 = q2.max(axis=1) - q2[rows, np.maximum(a2, 0)]
        stage2 = np.where(patients.remitted[rows, a1] | (a2 < 0), 0.0, stage2)
        return q1.max(axis=1) - q1[rows, a1] + stage2


def first_best(values: np.ndarray) -> np.ndarray:
    """Row-wise argmax that treats values within 1e-9 (relative) of the maximum as tied and takes the first,
    so that float32 observations and float64 potential outcomes agree on exact ties."""
    best = values.max(axis=1, keepdims=True)
    return np.argmax(values >= best - 1e-9 * (1.0 + np.abs(best)), axis=1)


# --- one-dimensional integration of piecewise-linear functions ------------------------------------


def _upper_envelope_breaks(intercepts: np.ndarray, slopes: np.ndarray, low: float, high: float) -> np.ndarray:
    """Sorted points of [low, high] (ends included) between which max_k (c_k + s_k x) is linear."""
    points = [low, high]
    for i in range(len(slopes)):
        for j in range(i + 1, len(slopes)):
            if slopes[i] != slopes[j]:
                crossing = (intercepts[j] - intercepts[i]) / (slopes[i] - slopes[j])
                if low < crossing < high:
                    points.append(float(crossing))
    return np.unique(np.array(points))


def expected_max_linear(intercepts: np.ndarray, slopes: np.ndarray, density, low: float, high: float) -> float:
    """E[max_k (c_k + s_k X)] for X with a polynomial density on [low, high] (exact: Gauss-Legendre
    on each piece where the maximum is linear)."""
    nodes, weights = np.polynomial.legendre.leggauss(GAUSS_NODES)
    breaks = _upper_envelope_breaks(intercepts, slopes, low, high)
    total = 0.0
    for left, right in itertools.pairwise(breaks):
        x = 0.5 * (right - left) * nodes + 0.5 * (right + left)
        values = np.max(intercepts[:, None] + slopes[:, None] * x[None], axis=0)
        total += 0.5 * (right - left) * float(np.sum(weights * values * density(x)))
    return total


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gaussian_piecewise_linear_mean(mean: np.ndarray, std: float, breaks: np.ndarray, intercepts: np.ndarray,
                                   slopes: np.ndarray) -> np.ndarray:
    """E[f(S)] for S ~ N(mean, std^2), row by row: f(s) = c_j + s_j s on (breaks[j-1], breaks[j]].

    ``mean`` (n,), ``breaks`` (n, B) sorted in each row, ``intercepts`` and ``slopes`` (n, B + 1).
    Closed form with the normal cdf and density (no integration error).
    """
    mean = np.asarray(mean, dtype=np.float64)
    n = mean.shape[0]
    edges = np.concatenate([np.full((n, 1), -np.inf), breaks, np.full((n, 1), np.inf)], axis=1)
    z = (edges - mean[:, None]) / std
    cdf = _normal_cdf(z)
    pdf = np.exp(-0.5 * np.where(np.isfinite(z), z, 0.0) ** 2) * np.isfinite(z) / math.sqrt(2.0 * math.pi)
    mass = cdf[:, 1:] - cdf[:, :-1]
    partial = mean[:, None] * mass + std * (pdf[:, :-1] - pdf[:, 1:])  # E[S 1{S in piece}]
    return np.sum(intercepts * mass + slopes * partial, axis=1)


def uniform_piecewise_linear_mean(low: np.ndarray, high: np.ndarray, breaks: np.ndarray, intercepts: np.ndarray,
                                  slopes: np.ndarray) -> np.ndarray:
    """E[f(Y)] for Y ~ U(low, high) row by row, f piecewise linear with the same breaks for every row."""
    edges = np.concatenate([[-np.inf], breaks, [np.inf]])
    total = np.zeros_like(low)
    for j in range(len(intercepts)):
        left = np.clip(edges[j], low, high)
        right = np.clip(edges[j + 1], low, high)
        total += intercepts[j] * (right - left) + 0.5 * slopes[j] * (right ** 2 - left ** 2)
    return total / (high - low)


# --- beta-mixture (the paper's current synthetic experiment) --------------------------------------


def _beta_density(a: int, b: int):
    norm = math.gamma(a + b) / (math.gamma(a) * math.gamma(b))
    return lambda x: norm * x ** (a - 1) * (1.0 - x) ** (b - 1)


@dataclass
class BetaMixtureModel(DTRModel):
    """X1 ~ U(0,1); X2 | a1 ~ X1 * Beta(high[a1]) + (1 - X1) * Beta(low[a1]); Y = theta_{a2}'(X2, 1) + N(0, s^2).

    Defaults (the paper's): high = ((4, 1), (1, 4)), low = ((1, 2), (2, 1)), theta = ((1, 1), (3, 0)),
    noise_std = 1. The law of X2 is linear in (X1, 1 - X1), so Q1 is linear in X1.
    """

    beta_high: np.ndarray = None
    beta_low: np.ndarray = None
    theta: np.ndarray = None
    noise_std: float = 1.0

    @classmethod
    def create(cls, beta_high: Any = ((4, 1), (1, 4)), beta_low: Any = ((1, 2), (2, 1)),
               theta: Any = ((1.0, 1.0), (3.0, 0.0)), noise_std: float = 1.0) -> BetaMixtureModel:
        high = _beta_parameters("beta_high", beta_high)
        low = _beta_parameters("beta_low", beta_low)
        if high.shape != low.shape:
            raise _shape_error("beta_low", low, high.shape)
        theta = require_matrix("theta", theta, shape=(None, 2))
        if high.shape[0] < 2 or theta.shape[0] < 2:
            raise _value_error("theta" if theta.shape[0] < 2 else "beta_high", theta.tolist(), "two rows or more")
        model = cls(name="beta-mixture", n_actions1=high.shape[0], n_actions2=theta.shape[0], dim1=1, dim2=1,
                    beta_high=high, beta_low=low, theta=theta,
                    noise_std=require_scale("noise_std", noise_std))
        model._component_means = np.array([[_beta_expected_max(theta, *high[a]), _beta_expected_max(theta, *low[a])]
                                           for a in range(high.shape[0])])
        return model

    @property
    def observation_bounds(self) -> tuple[float, float]:
        return 0.0, 1.0

    def draw(self, rng: np.random.Generator, n: int, x1: np.ndarray | None = None) -> Patients:
        k1, k2 = self.n_actions1, self.n_actions2
        x1 = rng.random(n) if x1 is None else np.asarray(x1, dtype=np.float64)[:, 0]
        high = rng.random((n, k1)) < x1[:, None]
        parameters = np.where(high[..., None], self.beta_high[None], self.beta_low[None])
        x2 = rng.beta(parameters[..., 0], parameters[..., 1])
        noise = rng.standard_normal((n, k1, k2))
        r2 = x2[..., None] * self.theta[:, 0] + self.theta[:, 1] + self.noise_std * noise
        return Patients(x1[:, None], x2[..., None], np.zeros((n, k1)), r2, np.zeros((n, k1), dtype=bool))

    def q1(self, x1: np.ndarray) -> np.ndarray:
        weight = np.asarray(x1, dtype=np.float64)[:, :1]
        return weight * self._component_means[:, 0] + (1.0 - weight) * self._component_means[:, 1]

    def q2(self, x2: np.ndarray) -> np.ndarray:
        return np.asarray(x2, dtype=np.float64)[:, :1] * self.theta[:, 0] + self.theta[:, 1]

    def crossing_point(self) -> float:
        """The X1 where Q1(., 0) = Q1(., 1) (two first-line arms): 5/14 for the paper's defaults."""
        difference = self._component_means[0] - self._component_means[1]  # (high, low) parts
        return float(-difference[1] / (difference[0] - difference[1]))


def _beta_parameters(name: str, value: Any) -> np.ndarray:
    array = require_matrix(name, value, shape=(None, 2))
    if np.any(array < 1) or np.any(array != np.round(array)):
        raise _value_error(name, array.tolist(), "integers >= 1 (Beta parameters; Q1 is then exact)")
    return array.astype(np.int64)


def _beta_expected_max(theta: np.ndarray, a: int, b: int) -> float:
    return expected_max_linear(theta[:, 1], theta[:, 0], _beta_density(int(a), int(b)), 0.0, 1.0)


# --- linear-Gaussian (the earlier version) --------------------------------------------------------


@dataclass
class LinearGaussianModel(DTRModel):
    """X1 ~ N(0, I_d); r1 = beta1[a1]'X1 + N(0, s^2); X2 = B[a1] X1 + U(-w, w)^d; r2 = beta2[a2]'X2 + N(0, s^2).

    Defaults (the earlier experiment): d = 1, beta1 = (5, 0), B = (1, 2), beta2 = (1, 5), s = 0.1, w = 1.
    """

    beta1: np.ndarray = None
    transition: np.ndarray = None
    beta2: np.ndarray = None
    noise_std: float = 0.1
    transition_noise: float = 1.0

    @classmethod
    def create(cls, dim: int = 1, n_actions1: int = 2, n_actions2: int = 2, beta1: Any = None,
               transition: Any = None, beta2: Any = None, noise_std: float = 0.1,
               transition_noise: float = 1.0) -> LinearGaussianModel:
        dim = require_int("dim", dim, low=1, high=8)
        k1 = require_int("n_actions1", n_actions1, low=2, high=16)
        k2 = require_int("n_actions2", n_actions2, low=2, high=16)
        beta1 = _default_arms(beta1, k1, dim, (5.0, 0.0))
        beta2 = _default_arms(beta2, k2, dim, (1.0, 5.0))
        if transition is None:
            scales = [1.0 + a for a in range(k1)]
            transition = np.stack([scale * np.eye(dim) for scale in scales])
        model = cls(name="linear-gaussian", n_actions1=k1, n_actions2=k2, dim1=dim, dim2=dim,
                    beta1=require_matrix("beta1", beta1, shape=(k1, dim)),
                    transition=require_matrix("transition", transition, shape=(k1, dim, dim)),
                    beta2=require_matrix("beta2", beta2, shape=(k2, dim)),
                    noise_std=require_scale("noise_std", noise_std),
                    transition_noise=require_scale("transition_noise", transition_noise, positive=True))
        model._noise_grid = _midpoint_grid(dim, model.transition_noise)
        return model

    def draw(self, rng: np.random.Generator, n: int, x1: np.ndarray | None = None) -> Patients:
        k1, k2, d = self.n_actions1, self.n_actions2, self.dim1
        x1 = rng.standard_normal((n, d)) if x1 is None else np.asarray(x1, dtype=np.float64)
        r1 = x1 @ self.beta1.T + self.noise_std * rng.standard_normal((n, k1))
        u = rng.uniform(-self.transition_noise, self.transition_noise, (n, k1, d))
        x2 = np.einsum("kij,nj->nki", self.transition, x1) + u
        r2 = np.einsum("nki,ai->nka", x2, self.beta2) + self.noise_std * rng.standard_normal((n, k1, k2))
        return Patients(x1, x2, r1, r2, np.zeros((n, k1), dtype=bool))

    def q2(self, x2: np.ndarray) -> np.ndarray:
        return np.asarray(x2, dtype=np.float64) @ self.beta2.T

    def q1(self, x1: np.ndarray) -> np.ndarray:
        x1 = np.atleast_2d(np.asarray(x1, dtype=np.float64))
        values = x1 @ self.beta1.T
        for a in range(self.n_actions1):
            means = x1 @ self.transition[a].T  # E[X2 | x1, a] (n, d)
            values[:, a] += self._expected_max_continuation(means)
        return values

    def _expected_max_continuation(self, means: np.ndarray) -> np.ndarray:
        """E over U(-w, w)^d of max_a2 beta2[a2]'(mean + U), for each row of ``means``."""
        w = self.transition_noise
        if self.dim2 == 1:
            breaks, intercepts, slopes = _envelope_pieces(np.zeros(self.n_actions2), self.beta2[:, 0])
            return uniform_piecewise_linear_mean(means[:, 0] - w, means[:, 0] + w, breaks, intercepts, slopes)
        shifted = means @ self.beta2.T  # (n, K2)
        noise = self._noise_grid @ self.beta2.T  # (m, K2)
        return np.array([np.max(row[None] + noise, axis=1).mean() for row in shifted])


def _default_arms(value: Any, arms: int, dim: int, first_two: tuple[float, float]) -> Any:
    if value is not None:
        return value
    coefficients = [first_two[0], first_two[1]] + [0.5 * (first_two[0] + first_two[1])] * (arms - 2)
    return np.array([[c] * dim for c in coefficients])


def _midpoint_grid(dim: int, half_width: float) -> np.ndarray:
    per_axis = max(2, int(MIDPOINT_BUDGET ** (1.0 / dim)))
    axis = (np.arange(per_axis) + 0.5) / per_axis * 2.0 * half_width - half_width
    return np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1).reshape(-1, dim)


# --- depression: a synthetic STAR*D-shaped simulator ----------------------------------------------

SWITCH, AUGMENT = 0, 1


@dataclass
class DepressionModel(DTRModel):
    """A synthetic simulator shaped like STAR*D (levels 2 and 3); **illustrative, not fitted to STAR*D**.

    Scores are on a continuous QIDS-SR-like scale (0 = no symptoms, remission at <= 5), not clipped.
    Stage 1 (level 2): x1 = (s0, slope1, pref1): start score s0 ~ N(14, 4^2), its weekly slope during level
    1 slope1 ~ N(-0.3, 0.25^2), preference for augmentation pref1 ~ Bernoulli(1/2). Arm 0 = switch,
    1 = augment. End-of-level score s1 = s0 + delta1[a1]'(1, s0 - 14, slope1, pref1) + N(0, sd1^2).
    Remission (s1 <= 5) ends treatment: no level 3, its end score is the level-3 start score s1.
    Stage 2 (level 3): x2 = (s1, slope2, pref2) with slope2 = (s1 - s0) / weeks and pref2 = pref1 with
    probability ``pref_persistence``; after a switch only a switch is allowed (the three sequences
    switch-switch, augment-switch, augment-augment); s2 = s1 + delta2[a2]'(1, s1 - 12, slope2, pref2) +
    N(0, sd2^2). Rewards: r1 = -s1 / 2 and r2 = -s2 / 2 (minus the sum of end-of-level scores, halved).

    The default coefficients make augmentation better for patients who improved during the previous level
    and who prefer it, switching better otherwise, so that the optimal regime differs across patients
    (about 55% augment first; about 12% remit at level 2).
    """

    delta1: np.ndarray = None
    delta2: np.ndarray = None
    noise1: float = 3.0
    noise2: float = 3.0
    weeks: float = 12.0
    pref_persistence: float = 0.8
    remission_score: float = 5.0

    @classmethod
    def create(cls, delta1: Any = ((-4.0, -0.10, 0.0, 1.5), (-0.7, -0.10, 6.0, -1.5)),
               delta2: Any = ((-3.0, -0.15, 0.0, 1.5), (0.0, -0.05, 6.0, -1.5)), noise1: float = 3.0,
               noise2: float = 3.0, weeks: float = 12.0, pref_persistence: float = 0.8,
               remission_score: float = 5.0) -> DepressionModel:
        allowed = np.array([[True, False], [True, True]])
        return cls(name="depression", n_actions1=2, n_actions2=2, dim1=3, dim2=3, allowed2=allowed,
                   delta1=require_matrix("delta1", delta1, shape=(2, 4)),
                   delta2=require_matrix("delta2", delta2, shape=(2, 4)),
                   noise1=require_scale("noise1", noise1, positive=True),
                   noise2=require_scale("noise2", noise2, positive=True),
                   weeks=require_positive("weeks", weeks),
                   pref_persistence=require_real("pref_persistence", pref_persistence, low=0.0, high=1.0),
                   remission_score=require_real("remission_score", remission_score))

    def _stage1_mean(self, x1: np.ndarray) -> np.ndarray:
        s0, slope, pref = x1[:, 0], x1[:, 1], x1[:, 2]
        design = np.stack([np.ones_like(s0), s0 - 14.0, slope, pref], axis=1)
        return s0[:, None] + design @ self.delta1.T  # (n, K1)

    def _stage2_change(self, x2: np.ndarray) -> np.ndarray:
        s1, slope, pref = x2[:, 0], x2[:, 1], x2[:, 2]
        design = np.stack([np.ones_like(s1), s1 - 12.0, slope, pref], axis=1)
        return design @ self.delta2.T  # (n, K2)

    def draw(self, rng: np.random.Generator, n: int, x1: np.ndarray | None = None) -> Patients:
        if x1 is None:
            s0 = 14.0 + 4.0 * rng.standard_normal(n)
            slope1 = -0.3 + 0.25 * rng.standard_normal(n)
            pref1 = (rng.random(n) < 0.5).astype(np.float64)
            x1 = np.stack([s0, slope1, pref1], axis=1)
        x1 = np.asarray(x1, dtype=np.float64)
        s0, pref1 = x1[:, 0], x1[:, 2]
        s1 = self._stage1_mean(x1) + self.noise1 * rng.standard_normal((n, 2))
        keep = rng.random((n, 2)) < self.pref_persistence
        pref2 = np.where(keep, pref1[:, None], 1.0 - pref1[:, None])
        x2 = np.stack([s1, (s1 - s0[:, None]) / self.weeks, pref2], axis=2)  # (n, K1, 3)
        remitted = s1 <= self.remission_score
        change = self._stage2_change(x2.reshape(-1, 3)).reshape(n, 2, 2)
        s2 = s1[..., None] + change + self.noise2 * rng.standard_normal((n, 2, 2))
        s2 = np.where(remitted[..., None], s1[..., None], s2)
        return Patients(x1, x2, -0.5 * s1, -0.5 * s2, remitted)

    def q2(self, x2: np.ndarray) -> np.ndarray:
        x2 = np.asarray(x2, dtype=np.float64)
        return -0.5 * (x2[:, :1] + self._stage2_change(x2))

    def q1(self, x1: np.ndarray) -> np.ndarray:
        """Exact: given x1, a1 and pref2 the value is piecewise linear in s1 ~ N(mean, noise1^2)."""
        x1 = np.atleast_2d(np.asarray(x1, dtype=np.float64))
        means = self._stage1_mean(x1)
        values = np.zeros((x1.shape[0], 2))
        for a1 in range(2):
            for flip, weight in ((False, self.pref_persistence), (True, 1.0 - self.pref_persistence)):
                if weight > 0.0:
                    pref2 = 1.0 - x1[:, 2] if flip else x1[:, 2]
                    values[:, a1] += weight * self._value_given_pref2(x1[:, 0], pref2, a1, means[:, a1])
        return values

    def _value_given_pref2(self, s0: np.ndarray, pref2: np.ndarray, a1: int, mean: np.ndarray) -> np.ndarray:
        """E[r1 + continuation | x1, a1, pref2]: -s1 below the remission score, else -s1/2 + max_a2 Q2."""
        arms = np.flatnonzero(self.allowed2[a1])
        c0, c1, c2, c3 = (self.delta2[arms, i] for i in range(4))
        # Q2 of each allowed arm as a line in s1 (slope2 = (s1 - s0) / weeks): intercept (n, k), slope (k,)
        line_slope = -0.5 * (1.0 + c1 + c2 / self.weeks)
        line_intercept = -0.5 * (c0 - 12.0 * c1 - np.outer(s0, c2) / self.weeks + np.outer(pref2, c3))
        crossings = [(line_intercept[:, j] - line_intercept[:, i]) / (line_slope[i] - line_slope[j])
                     for i in range(arms.size) for j in range(i + 1, arms.size) if line_slope[i] != line_slope[j]]
        remission = np.full(s0.shape, self.remission_score)
        points = np.column_stack([remission] + [np.maximum(c, remission) for c in crossings])
        points.sort(axis=1)
        # On each piece the function is linear: find its line at a probe point inside the piece.
        left = np.concatenate([points[:, :1] - 1.0, points], axis=1)
        right = np.concatenate([points, points[:, -1:] + 1.0], axis=1)
        probe = 0.5 * (left + right)
        lines = line_intercept[:, None, :] + probe[..., None] * line_slope  # (n, pieces, k)
        best = lines.argmax(axis=2)
        stacked = line_intercept[:, None, :].repeat(probe.shape[1], 1)
        intercepts = np.take_along_axis(stacked, best[..., None], 2)[..., 0]
        slopes = line_slope[best] - 0.5
        intercepts[:, 0], slopes[:, 0] = 0.0, -1.0  # below the remission score
        return gaussian_piecewise_linear_mean(mean, self.noise1, points, intercepts, slopes)


def _envelope_pieces(intercepts: np.ndarray, slopes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """max_k (c_k + s_k x) over the real line as breaks and the (c, s) of each piece (left to right)."""
    crossings = [(intercepts[j] - intercepts[i]) / (slopes[i] - slopes[j])
                 for i in range(len(slopes)) for j in range(i + 1, len(slopes)) if slopes[i] != slopes[j]]
    breaks = np.unique(np.array(crossings, dtype=np.float64))
    probes = np.concatenate([[breaks[0] - 1.0] if breaks.size else [0.0],
                             0.5 * (breaks[1:] + breaks[:-1]), [breaks[-1] + 1.0] if breaks.size else []])
    best = [int(np.argmax(intercepts + slopes * x)) for x in probes]
    return breaks, intercepts[best], slopes[best]


# --- construction ---------------------------------------------------------------------------------

PRESET_ARGUMENTS = {
    "beta-mixture": ("beta_high", "beta_low", "theta", "noise_std"),
    "linear-gaussian": ("dim", "n_actions1", "n_actions2", "beta1", "transition", "beta2", "noise_std",
                        "transition_noise"),
    "depression": ("delta1", "delta2", "noise1", "noise2", "weeks", "pref_persistence", "remission_score"),
}
_FACTORIES = {"beta-mixture": BetaMixtureModel.create, "linear-gaussian": LinearGaussianModel.create,
              "depression": DepressionModel.create}


def require_matrix(name: str, value: Any, *, shape: tuple[int | None, ...]) -> np.ndarray:
    """A finite coefficient array of the given shape with every entry within +-MAX_MAGNITUDE."""
    array = _require_any_matrix(name, value, shape=shape)
    if np.abs(array).max() > MAX_MAGNITUDE:
        raise _value_error(name, array.tolist(), f"an array with entries in [-{MAX_MAGNITUDE:g}, {MAX_MAGNITUDE:g}]")
    return array


def require_scale(name: str, value: Any, *, positive: bool = False) -> float:
    """A noise scale in [0, MAX_MAGNITUDE] (or (0, MAX_MAGNITUDE] when ``positive``)."""
    return require_real(name, value, low=0.0, low_open=positive, high=MAX_MAGNITUDE)


def make_model(preset: str = DEFAULT_PRESET, **parameters: Any) -> DTRModel:
    """The preset's model with some parameters replaced; an argument the preset does not take is an error."""
    require_choice("preset", preset, PRESETS)
    unknown = sorted(set(parameters) - set(PRESET_ARGUMENTS[preset]))
    if unknown:
        raise _value_error(unknown[0], parameters[unknown[0]],
                           f"absent: it is not a parameter of preset {preset!r}, whose parameters are "
                           f"{', '.join(PRESET_ARGUMENTS[preset])}")
    return _FACTORIES[preset](**parameters)


def _value_error(name: str, value: Any, allowed: str):
    return PapergymError(f"{name} must be {allowed}, got {value!r}")


def _shape_error(name: str, value: np.ndarray, shape: tuple[int, ...]):
    return _value_error(name, value.tolist(), f"of shape {shape}")
