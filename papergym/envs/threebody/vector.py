"""A native vector version of ThreeBody-v0 on the Hermite backend: every system's state held in arrays and all
intervals of one step integrated in one compiled call, so training with many environments is not bound by the
per-environment Python overhead of the single environment."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode
from numba import njit

from papergym.core.errors import PapergymError
from papergym.core.vector import ArrayVectorEnv
from papergym.envs.threebody import integrators
from papergym.envs.threebody.env import (
    ERROR_FLOOR,
    LOG_ERROR_HIGH,
    LOG_ERROR_LOW,
    PAPER_ERROR_REFERENCE,
    PAPER_W3,
    POSITION_BOUND,
    POSITION_SCALE_AU,
    VELOCITY_BOUND,
    ThreeBodyEnv,
)
from papergym.envs.threebody.initial_conditions import paper_initial_conditions


@njit(cache=True)
def hermite_intervals(positions, velocities, accelerations, jerks, masses, etas, duration, max_steps, status, steps,
                      energies):
    """One interval of every system (arrays over systems first); fills status, force evaluations and energies."""
    for e in range(positions.shape[0]):
        code, done, _ = integrators.hermite_interval(positions[e], velocities[e], accelerations[e], jerks[e],
                                                     masses[e], 1.0, etas[e], duration, max_steps)
        status[e] = code
        steps[e] = done
        energies[e] = integrators.total_energy(positions[e], velocities[e], masses[e], 1.0)


class ThreeBodyVectorEnv(ArrayVectorEnv):
    """``num_envs`` three-body systems on the Hermite backend, stepped together; the same arguments as
    :class:`~papergym.envs.threebody.ThreeBodyEnv` (``backend`` must be ``"hermite"``; rendering and
    ``record_wall_time`` are not offered).

    Seeding: ``reset(seed=s)`` seeds one generator, and systems are drawn from it in order of environment
    index (then in order of autoreset), so environment ``i``'s first system is the ``i``-th system a single
    environment draws after ``reset(seed=s)`` followed by plain ``reset()`` calls. Given the same systems and
    actions, every observation, reward and info value equals the single environment's. An interval that
    needs more than ``max_evaluations`` force evaluations truncates its environment, as in the single one.
    """

    metadata = {"render_modes": []}

    def __init__(self, num_envs: int = 1, *, max_episode_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, render_mode: str | None = None,
                 **kwargs: Any):
        if kwargs.get("backend", "hermite") != "hermite" or "render_mode" in kwargs or kwargs.get("record_wall_time"):
            raise PapergymError(f"ThreeBodyVectorEnv runs the hermite backend without rendering or wall times, got "
                                f"{kwargs}; use gymnasium.make_vec(..., vectorization_mode='sync') for the others")
        self.model = ThreeBodyEnv(**kwargs)  # validates every argument and holds the reward settings
        super().__init__(num_envs, self.model.observation_space, self.model.action_space,
                         max_episode_steps=max_episode_steps, autoreset_mode=autoreset_mode, render_mode=render_mode)
        n = self.num_envs
        self.positions, self.velocities = np.zeros((n, 3, 3)), np.zeros((n, 3, 3))
        self.accelerations, self.jerks = np.zeros((n, 3, 3)), np.zeros((n, 3, 3))
        self.masses = np.ones((n, 3))
        self.initial_energy = np.ones(n)
        self.energy_error = np.zeros(n)
        self.steps = np.zeros(n, dtype=np.int64)
        self.total_evaluations = np.zeros(n, dtype=np.int64)
        self._limit = np.zeros(n, dtype=bool)

    def _reset_envs(self, mask: np.ndarray, options: dict[str, Any]) -> None:
        for e in np.flatnonzero(mask):
            positions, velocities, masses = paper_initial_conditions(self.np_random)
            self.positions[e], self.velocities[e], self.masses[e] = positions, velocities, masses
            integrators.accelerations_and_jerks(self.positions[e], self.velocities[e], self.masses[e], 1.0,
                                                self.accelerations[e], self.jerks[e])
            self.initial_energy[e] = integrators.total_energy(self.positions[e], self.velocities[e], self.masses[e],
                                                              1.0)
        self.energy_error[mask], self.steps[mask], self.total_evaluations[mask] = 0.0, 0, 1
        self._limit[mask] = False

    def _observe(self) -> np.ndarray:
        positions = np.clip(self.positions[:, :, :2].reshape(self.num_envs, 6) / POSITION_SCALE_AU,
                            -POSITION_BOUND, POSITION_BOUND)
        velocities = np.clip(self.velocities[:, :, :2].reshape(self.num_envs, 6), -VELOCITY_BOUND, VELOCITY_BOUND)
        finite = np.isfinite(self.energy_error)
        log_error = np.where(finite, -np.log10(np.maximum(np.where(finite, self.energy_error, 1.0), ERROR_FLOOR)),
                             LOG_ERROR_LOW)
        energy = np.clip(log_error, LOG_ERROR_LOW, LOG_ERROR_HIGH)
        return np.concatenate([positions, velocities, energy[:, None]], axis=1)

    def _transition(self, actions: np.ndarray):
        model = self.model
        values = model.action_values[actions]
        before = (self.positions.copy(), self.velocities.copy())
        status = np.zeros(self.num_envs, dtype=np.int64)
        evaluations = np.zeros(self.num_envs, dtype=np.int64)
        energies = np.zeros(self.num_envs)
        hermite_intervals(self.positions, self.velocities, self.accelerations, self.jerks, self.masses, values,
                          model.interval, model.max_evaluations, status, evaluations, energies)
        failed = status == integrators.NON_FINITE
        self.positions[failed], self.velocities[failed] = before[0][failed], before[1][failed]
        self.steps += 1
        self.total_evaluations += evaluations
        with np.errstate(invalid="ignore", over="ignore"):
            error = np.abs((energies - self.initial_energy) / self.initial_energy)
        error = np.where(failed | ~np.isfinite(error), np.inf, error)
        self.energy_error = error
        terminated = failed | (error > model.max_energy_error)
        self._limit = (status == integrators.STEP_LIMIT) & ~terminated
        terms = self._reward_terms(error, evaluations, values, terminated)
        info = {"energy_error": np.minimum(error, np.finfo(float).max), "force_evaluations": evaluations,
                "total_force_evaluations": self.total_evaluations.copy(), "action_value": values,
                "integration_failed": failed, "evaluation_limit": self._limit.copy(), **terms}
        return terms["reward_error"] + terms["reward_work"] + terms["reward_failure"], terminated, info

    def _reward_terms(self, error, evaluations, values, terminated) -> dict[str, np.ndarray]:
        """The single environment's reward terms (see :class:`ThreeBodyEnv`), on arrays."""
        model = self.model
        log_error = np.log10(np.clip(error, ERROR_FLOOR, 10.0 ** -LOG_ERROR_LOW))
        if model.reward_name == "paper":
            first = self.steps == 1
            denominator = np.maximum(np.abs(log_error), 1.0) ** 3 * self.steps
            error_term = -model.paper_w1 * (log_error - np.log10(PAPER_ERROR_REFERENCE)) / denominator
            work_term = PAPER_W3 / np.abs(np.log10(values))
            zero = np.zeros(self.num_envs)
            return {"reward_error": np.where(first, 0.0, error_term), "reward_work": np.where(first, 0.0, work_term),
                    "reward_failure": zero}
        error_term = -model.error_weight * np.maximum(0.0, log_error - np.log10(model.target_error))
        work_term = -model.work_weight * np.log10(np.maximum(evaluations, 1))
        return {"reward_error": error_term, "reward_work": work_term,
                "reward_failure": np.where(terminated, -model.failure_penalty, 0.0)}

    def _truncations(self, terminated: np.ndarray) -> np.ndarray:
        return super()._truncations(terminated) | (self._limit & ~terminated)
