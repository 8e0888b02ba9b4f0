"""Choosing the accuracy of an N-body integrator in the chaotic three-body problem
(Saz Ulibarrena & Portegies Zwart, 2025, arXiv 2502.12809) as a Gymnasium environment."""

from __future__ import annotations

import math
import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from papergym.core.errors import PapergymError
from papergym.core.lifecycle import step_before_reset
from papergym.core.validation import require_choice, require_int, require_matrix, require_real, validated_action
from papergym.envs.threebody import integrators, rendering
from papergym.envs.threebody.backends import ACTION_MEANING, BACKENDS, import_rebound, make_backend
from papergym.envs.threebody.initial_conditions import paper_initial_conditions
from papergym.envs.threebody.units import PAPER_UNITS

#: The paper's 10 values of eta, log-spaced from 1e-4 to 1e-1 (also the default epsilon and dt grids).
PAPER_ACTIONS = tuple(float(value) for value in np.logspace(-4.0, -1.0, 10))
REWARDS = ("error_work", "paper")
#: The paper's reward weights: W1 = 3500 (their final settings), W3 = 4.
PAPER_W1 = 3500.0
PAPER_W3 = 4.0
#: Largest accepted interval [yr] and reward weight: far beyond the paper's values (0.1 yr; weights <= 3500).
INTERVAL_YR_MAX = 1000.0
WEIGHT_MAX = 1e6
#: The paper's reward measures the energy error against 1e-10.
PAPER_ERROR_REFERENCE = 1e-10
#: Observation bounds: positions / 10 au within +-100 (1000 au), velocities within +-100 N-body units
#: (5160 km/s), -log10 |dE/E0| within [-10, 16]; values beyond are clipped (see the class docstring).
POSITION_SCALE_AU = 10.0
POSITION_BOUND = 100.0
VELOCITY_BOUND = 100.0
LOG_ERROR_LOW, LOG_ERROR_HIGH = -10.0, 16.0
#: Relative energy errors are floored here (an error of exactly 0 would have an infinite logarithm).
ERROR_FLOOR = 10.0 ** -LOG_ERROR_HIGH


class ThreeBodyEnv(gym.Env):
    """Pick the integrator's accuracy parameter for each interval of a three-body integration.

    ## Description

    Three stars of one solar mass move in a plane under their mutual gravity, a chaotic system with close
    encounters. Every environment step integrates a fixed interval of simulated time (0.1 yr) with the
    accuracy parameter the agent chooses; small values spend many force evaluations and keep the energy
    error small, large values are cheap and lose accuracy. A good policy takes small steps through close
    encounters and large ones elsewhere (Saz Ulibarrena & Portegies Zwart, 2025).

    The default integrator is a 4th-order Hermite predictor-corrector compiled with numba, with a shared
    step ``dt = eta * min over pairs of min(r_ij / v_ij, sqrt(r_ij^3 / (G (m_i + m_j))))``. The interval
    ends exactly (the last sub-step is shortened); the authors' integrator (AMUSE's Hermite) overshoots it
    slightly. Other backends: ``"ias15"`` (rebound's IAS15, the action is its ``epsilon``; a variable-step
    integrator, as the paper's Huayno) and ``"leapfrog"`` (fixed step, the action is ``dt`` in N-body time
    units; as the paper's fixed-step Symple). Far from encounters IAS15's own step is longer than the 0.1-yr
    interval, so on that backend the work of an interval is set mostly by the interval, not by epsilon.

    Units are N-body units (G = 1; mass unit 3 solar masses, length unit 1 au, so the time unit is 0.0919 yr
    and the velocity unit 51.6 km/s): see :mod:`papergym.envs.threebody.units`.

    ## Action Space

    ``Discrete(10)``: index ``k`` selects ``action_values[k]``, by default the paper's ``eta`` values
    ``logspace(-4, -1, 10)`` (the same numbers serve as IAS15's ``epsilon`` and as leapfrog's ``dt``).

    ## Observation Space

    ``Box(13,)`` float64, the authors' state: ``x/10, y/10`` [au] of bodies 1-3, then ``vx, vy`` [N-body
    units] of bodies 1-3, then ``-log10 |dE/E0|`` (the relative energy error, floored at 1e-16). The authors'
    observation is unbounded; here positions/10 are clipped to [-100, 100] (1000 au, far beyond an ejected
    star's reach in 300 steps), velocities to [-100, 100] (5160 km/s; only a pair closer than ~1e-4 au moves
    faster) and the energy term to [-10, 16]. ``info["energy_error"]`` holds the unclipped error and
    ``env.unwrapped.backend.positions`` / ``.velocities`` the unclipped state (N-body units, 3-D).

    ## Rewards

    ``reward="error_work"`` (default): ``-error_weight * max(0, log10(|dE/E0| / target_error))
    - work_weight * log10(force evaluations of the step) - failure_penalty`` (the penalty only on the step
    that terminates for a blown-up integration, so that ending early never pays). Each decade of energy
    error above the target costs as much as a tenfold increase in work.

    ``reward="paper"``: the authors' ``R_t = -W1 log10(|dE_t|/1e-10) / (|log10 |dE_t||^3 t) + W3 / |log10
    eta_t|`` with ``W1 = paper_w1`` (3500), ``W3 = 4``, and 0 on the whole first step as in the authors'
    environment, ``t`` the step number and ``dE_t`` the
    relative energy error; ``|log10 |dE_t||`` is floored at 1 (it is >= 1 on every non-terminal step) so
    the reward stays finite when the error is near 1.

    ``info`` carries every term (``reward_error``, ``reward_work``, ``reward_failure``), ``energy_error``,
    ``force_evaluations`` (this step, deterministic; Hermite and leapfrog make one per sub-step, IAS15
    several), ``total_force_evaluations`` (including the one at reset for Hermite and leapfrog),
    ``action_value``, ``time`` (N-body units), ``min_distance`` and, with ``record_wall_time=True``,
    ``wall_time`` (seconds spent integrating this step; off by default because it differs between runs).

    ## Starting State

    The authors' initial conditions: body 1 at the origin moving at (0, 10) km/s, body 2 at (U[5, 20],
    U[0, 10]) au moving at (-10, 0) km/s, body 3 at rest at (U[-10, 0], U[5, 20]) au; shifted to the
    centre-of-mass frame. ``options={"state": (positions, velocities, masses)}`` starts from a given state
    (N-body units, shapes (3, 3), (3, 3), (3,)).

    ## Episode End

    Terminated when ``|dE/E0| > max_energy_error`` (0.1: the integration blew up) or a value stops being
    finite (the last finite state is shown). Truncated by the registered time limit (100 steps for
    training; pass ``max_episode_steps=300`` for the paper's evaluation), and when one interval needs more
    than ``max_evaluations`` force evaluations (the state shown is where the integration stopped). The
    authors flag step 100 as terminal, which teaches their value function that the episode ends there;
    here it is a truncation and value targets bootstrap through it.

    ## Arguments

    * ``backend``: ``"hermite"`` (default), ``"ias15"`` (needs ``papergym[astro]``) or ``"leapfrog"``.
    * ``action_values``: 10 (or any number >= 2) positive accuracy parameters; default the paper's grid.
    * ``interval_yr``: simulated time per step in years, in (0, 1000] (0.1).
    * ``reward``: ``"error_work"`` or ``"paper"``; ``target_error`` in (0, 1] (1e-8), ``error_weight`` (1),
      ``work_weight`` (1), ``failure_penalty`` (100), each in (0, 10^6], shape the default reward.
    * ``paper_w1``: W1 of the paper reward, in (0, 10^6] (3500, the authors' root settings file; the settings
      released with their Hermite network say 3000).
    * ``max_energy_error``: the relative energy error that ends the episode, in (0, 1] (0.1).
    * ``max_evaluations``: force evaluations allowed in one interval, >= 1 (10^6).
    * ``record_wall_time``: add ``wall_time`` to ``info``.
    * ``render_mode``: ``"ansi"``, ``"rgb_array"`` or ``"human"``.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 4}

    def __init__(self, backend: str = "hermite", action_values: Any = PAPER_ACTIONS, interval_yr: float = 0.1,
                 reward: str = "error_work", target_error: float = 1e-8, error_weight: float = 1.0,
                 work_weight: float = 1.0, failure_penalty: float = 100.0, max_energy_error: float = 0.1,
                 max_evaluations: int = 1_000_000, record_wall_time: bool = False, paper_w1: float = PAPER_W1,
                 render_mode: str | None = None):
        self.backend_name = require_choice("backend", backend, BACKENDS)
        if backend == "ias15":
            import_rebound()
        values = require_matrix("action_values", action_values, shape=(None,))
        if len(values) < 2 or np.any(values <= 0.0):
            raise PapergymError(f"action_values must be at least 2 positive numbers, got {values.tolist()}")
        self.action_values = values
        self.interval = PAPER_UNITS.time(require_real("interval_yr", interval_yr, low=0.0, high=INTERVAL_YR_MAX,
                                                      low_open=True))
        self.reward_name = require_choice("reward", reward, REWARDS)
        self.target_error = require_real("target_error", target_error, low=0.0, high=1.0, low_open=True)
        self.error_weight = require_real("error_weight", error_weight, low=0.0, high=WEIGHT_MAX, low_open=True)
        self.work_weight = require_real("work_weight", work_weight, low=0.0, high=WEIGHT_MAX, low_open=True)
        self.failure_penalty = require_real("failure_penalty", failure_penalty, low=0.0, high=WEIGHT_MAX,
                                            low_open=True)
        self.max_energy_error = require_real("max_energy_error", max_energy_error, low=0.0, high=1.0, low_open=True)
        self.paper_w1 = require_real("paper_w1", paper_w1, low=0.0, high=WEIGHT_MAX, low_open=True)
        self.max_evaluations = require_int("max_evaluations", max_evaluations, low=1)
        self.record_wall_time = bool(require_choice("record_wall_time", record_wall_time, (True, False)))
        if render_mode is not None:
            require_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(len(values))
        self.observation_space = observation_space()
        self.backend = make_backend(backend, self.max_evaluations)
        self._initial_energy = math.nan
        self._steps = -1  # -1: not reset yet
        self._time = 0.0
        self._total_evaluations = 0
        self._energy_error = 0.0
        self._history: list[np.ndarray] = []
        self._errors: list[float] = []
        self._figure = None

    # --- Gymnasium API ---------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        state = (options or {}).get("state")
        positions, velocities, masses = (paper_initial_conditions(self.np_random) if state is None
                                         else _checked_state(state))
        self._total_evaluations = self.backend.reset(positions, velocities, masses)
        self._initial_energy = self.backend.energy()
        self._steps, self._time, self._energy_error = 0, 0.0, 0.0
        self._history = [self.backend.positions[:, :2].copy()]
        self._errors = [ERROR_FLOOR]
        if self.render_mode == "human":
            self.render()
        return self._observation(), {"energy_error": 0.0, "total_force_evaluations": self._total_evaluations,
                                     "time": 0.0, "min_distance": self._min_distance()}

    def step(self, action: Any):
        if self._steps < 0:
            raise step_before_reset(self)
        index = validated_action(self.action_space, action)
        value = float(self.action_values[index])
        last_finite = (self.backend.positions.copy(), self.backend.velocities.copy())
        started = time.perf_counter()
        status, evaluations = self.backend.advance(value, self.interval)
        wall_time = time.perf_counter() - started
        if status == integrators.NON_FINITE:
            self.backend.positions[:], self.backend.velocities[:] = last_finite
        self._steps += 1
        self._time += self.interval
        self._total_evaluations += evaluations
        error = self._relative_energy_error() if status != integrators.NON_FINITE else math.inf
        self._energy_error = error
        terminated = status == integrators.NON_FINITE or error > self.max_energy_error
        truncated = status == integrators.STEP_LIMIT and not terminated
        terms = self._reward_terms(error, evaluations, value, terminated)
        self._history.append(self.backend.positions[:, :2].copy())
        self._errors.append(min(max(error, ERROR_FLOOR), 10.0 ** -LOG_ERROR_LOW))
        info = {"energy_error": float(min(error, np.finfo(float).max)), "force_evaluations": int(evaluations),
                "total_force_evaluations": int(self._total_evaluations),
                "action_value": value, "time": float(self._time), "min_distance": self._min_distance(),
                "integration_failed": bool(status == integrators.NON_FINITE),
                "evaluation_limit": bool(status == integrators.STEP_LIMIT), **terms}
        if self.record_wall_time:
            info["wall_time"] = float(wall_time)
        if self.render_mode == "human":
            self.render()
        reward = terms["reward_error"] + terms["reward_work"] + terms["reward_failure"]
        return self._observation(), float(reward), bool(terminated), bool(truncated), info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to make()")
            return None
        if self.render_mode == "ansi":
            return self._ansi()
        if self.render_mode == "rgb_array":
            return rendering.draw_frame(np.array(self._history), np.array(self._errors), self.interval)
        self._figure = rendering.show(self._figure, np.array(self._history), np.array(self._errors), self.interval)
        return None

    def close(self) -> None:
        if self._figure is not None:
            rendering.close(self._figure)
            self._figure = None

    # --- internals -------------------------------------------------------------------------------

    def _relative_energy_error(self) -> float:
        energy = self.backend.energy()
        if not math.isfinite(energy):
            return math.inf
        return abs((energy - self._initial_energy) / self._initial_energy)

    def _reward_terms(self, error: float, evaluations: int, value: float, terminated: bool) -> dict[str, float]:
        log_error = math.log10(min(max(error, ERROR_FLOOR), 10.0 ** -LOG_ERROR_LOW))
        if self.reward_name == "paper":
            if self._steps == 1:  # the authors' environment rewards the first step with 0
                return {"reward_error": 0.0, "reward_work": 0.0, "reward_failure": 0.0}
            denominator = max(abs(log_error), 1.0) ** 3 * self._steps
            error_term = -self.paper_w1 * (log_error - math.log10(PAPER_ERROR_REFERENCE)) / denominator
            work_term = PAPER_W3 / abs(math.log10(value))
            return {"reward_error": error_term, "reward_work": work_term, "reward_failure": 0.0}
        error_term = -self.error_weight * max(0.0, log_error - math.log10(self.target_error))
        work_term = -self.work_weight * math.log10(max(evaluations, 1))
        return {"reward_error": error_term, "reward_work": work_term,
                "reward_failure": -self.failure_penalty if terminated else 0.0}

    def _observation(self) -> np.ndarray:
        positions = np.clip(self.backend.positions[:, :2].ravel() / POSITION_SCALE_AU, -POSITION_BOUND,
                            POSITION_BOUND)
        velocities = np.clip(self.backend.velocities[:, :2].ravel(), -VELOCITY_BOUND, VELOCITY_BOUND)
        log_error = -math.log10(max(self._energy_error, ERROR_FLOOR)) if math.isfinite(self._energy_error) \
            else LOG_ERROR_LOW
        energy = np.clip(log_error, LOG_ERROR_LOW, LOG_ERROR_HIGH)
        return np.concatenate([positions, velocities, [energy]]).astype(np.float64)

    def _min_distance(self) -> float:
        return float(integrators.pair_distances(self.backend.positions).min())

    def _ansi(self) -> str:
        positions = " ".join(f"({x:.2f}, {y:.2f})" for x, y in self.backend.positions[:, :2])
        return (f"step {self._steps} t={self._time * PAPER_UNITS.time_yr:.2f} yr |dE/E0|={self._energy_error:.3g} "
                f"force evaluations={self._total_evaluations} positions [au]: {positions}")


def observation_space() -> spaces.Box:
    """The 13-value observation's bounds (see :class:`ThreeBodyEnv`)."""
    low = np.concatenate([np.full(6, -POSITION_BOUND), np.full(6, -VELOCITY_BOUND), [LOG_ERROR_LOW]])
    high = np.concatenate([np.full(6, POSITION_BOUND), np.full(6, VELOCITY_BOUND), [LOG_ERROR_HIGH]])
    return spaces.Box(low=low, high=high, dtype=np.float64)


def _checked_state(state: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    positions, velocities, masses = state
    positions = require_matrix("options['state'] positions", positions, shape=(3, 3))
    velocities = require_matrix("options['state'] velocities", velocities, shape=(3, 3))
    masses = require_matrix("options['state'] masses", masses, shape=(3,))
    if np.any(masses <= 0.0):
        raise PapergymError(f"options['state'] masses must be positive, got {masses.tolist()}")
    return positions, velocities, masses


__all__ = ["ACTION_MEANING", "PAPER_ACTIONS", "REWARDS", "ThreeBodyEnv", "observation_space"]
