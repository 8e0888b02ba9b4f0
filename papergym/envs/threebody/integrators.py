"""Direct N-body integrators compiled with numba: 4th-order Hermite with a shared adaptive step, leapfrog.

State arrays: positions and velocities of shape (N, 3), masses of shape (N,), in N-body units (G is an
argument; the environment uses G = 1). Every integrator advances the system over an interval of given
length and ends *exactly* at the interval's end: the last sub-step is shortened to land on it.

Work is counted in force evaluations: one evaluation computes every body's acceleration (and, for Hermite,
its jerk) from all pairs, so it costs N(N-1)/2 pair interactions.

Hermite (Makino & Aarseth 1992) is the predictor-evaluator-corrector scheme: predict positions and
velocities to third order in dt from the acceleration ``a`` and jerk ``j``, evaluate ``a`` and ``j`` at the
prediction, then correct with the time-symmetric (4th-order) formulas

    v1 = v0 + (a0 + a1) dt / 2 + (j0 - j1) dt^2 / 12
    x1 = x0 + (v0 + v1) dt / 2 + (a0 - a1) dt^2 / 12

The evaluation at the predicted state is carried to the next step (one force evaluation per step), as in
the usual Hermite codes. The shared step is ``dt = eta * min over pairs of min(r_ij / v_ij,
sqrt(r_ij^3 / (G (m_i + m_j))))``: the crossing time and the free-fall time of the closest pair.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Status codes returned by the interval integrators.
COMPLETED = 0
NON_FINITE = 1
STEP_LIMIT = 2


@njit(cache=True)
def accelerations_and_jerks(positions, velocities, masses, G, accelerations, jerks):
    """Fill ``accelerations`` and ``jerks`` (N, 3) from all pairs: one force evaluation."""
    n = positions.shape[0]
    accelerations[:] = 0.0
    jerks[:] = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = positions[j, 0] - positions[i, 0]
            dy = positions[j, 1] - positions[i, 1]
            dz = positions[j, 2] - positions[i, 2]
            dvx = velocities[j, 0] - velocities[i, 0]
            dvy = velocities[j, 1] - velocities[i, 1]
            dvz = velocities[j, 2] - velocities[i, 2]
            r2 = dx * dx + dy * dy + dz * dz
            inv_r = 1.0 / math.sqrt(r2)
            inv_r3 = inv_r / r2
            rv = 3.0 * (dx * dvx + dy * dvy + dz * dvz) / r2
            mj = G * masses[j] * inv_r3
            mi = G * masses[i] * inv_r3
            accelerations[i, 0] += mj * dx
            accelerations[i, 1] += mj * dy
            accelerations[i, 2] += mj * dz
            accelerations[j, 0] -= mi * dx
            accelerations[j, 1] -= mi * dy
            accelerations[j, 2] -= mi * dz
            jx = dvx - rv * dx
            jy = dvy - rv * dy
            jz = dvz - rv * dz
            jerks[i, 0] += mj * jx
            jerks[i, 1] += mj * jy
            jerks[i, 2] += mj * jz
            jerks[j, 0] -= mi * jx
            jerks[j, 1] -= mi * jy
            jerks[j, 2] -= mi * jz


@njit(cache=True)
def accelerations_only(positions, masses, G, accelerations):
    """Fill ``accelerations`` (N, 3) from all pairs: one force evaluation without jerks (leapfrog)."""
    n = positions.shape[0]
    accelerations[:] = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = positions[j, 0] - positions[i, 0]
            dy = positions[j, 1] - positions[i, 1]
            dz = positions[j, 2] - positions[i, 2]
            r2 = dx * dx + dy * dy + dz * dz
            inv_r3 = 1.0 / (r2 * math.sqrt(r2))
            for k, d in enumerate((dx, dy, dz)):
                accelerations[i, k] += G * masses[j] * inv_r3 * d
                accelerations[j, k] -= G * masses[i] * inv_r3 * d


@njit(cache=True)
def shared_timestep(positions, velocities, masses, G, eta):
    """``eta`` times the smallest crossing or free-fall time over all pairs."""
    n = positions.shape[0]
    smallest = np.inf
    for i in range(n):
        for j in range(i + 1, n):
            r2 = 0.0
            v2 = 0.0
            for k in range(3):
                d = positions[j, k] - positions[i, k]
                dv = velocities[j, k] - velocities[i, k]
                r2 += d * d
                v2 += dv * dv
            r = math.sqrt(r2)
            free_fall = math.sqrt(r2 * r / (G * (masses[i] + masses[j])))
            crossing = r / math.sqrt(v2) if v2 > 0.0 else np.inf
            smallest = min(smallest, crossing, free_fall)
    return eta * smallest


@njit(cache=True)
def hermite_step(positions, velocities, accelerations, jerks, masses, G, dt, scratch):
    """One Hermite step of length ``dt`` in place; ``accelerations``/``jerks`` are updated to the new state.

    ``scratch`` is a (4, N, 3) work array (predicted positions, velocities, new accelerations, jerks). The
    updates are explicit loops: array expressions would allocate temporaries on every step.
    """
    predicted_x, predicted_v, new_a, new_j = scratch[0], scratch[1], scratch[2], scratch[3]
    half, sixth, twelfth = dt * dt / 2.0, dt * dt * dt / 6.0, dt * dt / 12.0
    n = positions.shape[0]
    for i in range(n):
        for k in range(3):
            predicted_x[i, k] = (positions[i, k] + velocities[i, k] * dt + accelerations[i, k] * half
                                 + jerks[i, k] * sixth)
            predicted_v[i, k] = velocities[i, k] + accelerations[i, k] * dt + jerks[i, k] * half
    accelerations_and_jerks(predicted_x, predicted_v, masses, G, new_a, new_j)
    for i in range(n):
        for k in range(3):
            new_velocity = (velocities[i, k] + (accelerations[i, k] + new_a[i, k]) * (dt / 2.0)
                            + (jerks[i, k] - new_j[i, k]) * twelfth)
            positions[i, k] += ((velocities[i, k] + new_velocity) * (dt / 2.0)
                                + (accelerations[i, k] - new_a[i, k]) * twelfth)
            velocities[i, k] = new_velocity
            accelerations[i, k] = new_a[i, k]
            jerks[i, k] = new_j[i, k]


@njit(cache=True)
def _finite(array):
    for value in array.flat:  # noqa: SIM110  (an explicit loop: no temporary array in numba)
        if not math.isfinite(value):
            return False
    return True


@njit(cache=True)
def hermite_interval(positions, velocities, accelerations, jerks, masses, G, eta, duration, max_steps):
    """Advance by exactly ``duration`` with shared steps ``eta * timescale``; (status, steps, time done).

    ``accelerations`` and ``jerks`` must hold the values at the current state (from
    :func:`accelerations_and_jerks`) and are left at the final state's. ``status`` is COMPLETED, NON_FINITE
    (the state or the step stopped being finite) or STEP_LIMIT (``max_steps`` steps did not reach the end).
    """
    scratch = np.empty((4, positions.shape[0], 3))
    elapsed = 0.0
    steps = 0
    while elapsed < duration:
        if steps >= max_steps:
            return STEP_LIMIT, steps, elapsed
        dt = shared_timestep(positions, velocities, masses, G, eta)
        if not (math.isfinite(dt) and dt > 0.0):
            return NON_FINITE, steps, elapsed
        last = elapsed + dt >= duration
        if last:
            dt = duration - elapsed
        hermite_step(positions, velocities, accelerations, jerks, masses, G, dt, scratch)
        steps += 1
        elapsed = duration if last else elapsed + dt
        if not (_finite(positions) and _finite(velocities)):
            return NON_FINITE, steps, elapsed
    return COMPLETED, steps, elapsed


@njit(cache=True)
def leapfrog_interval(positions, velocities, accelerations, masses, G, dt, duration, max_steps):
    """Kick-drift-kick leapfrog with fixed step ``dt``, the last step shortened to end at ``duration``.

    ``accelerations`` must hold the current state's values and are left at the final state's. Returns
    (status, steps, time done) like :func:`hermite_interval`.
    """
    elapsed = 0.0
    steps = 0
    while elapsed < duration:
        if steps >= max_steps:
            return STEP_LIMIT, steps, elapsed
        step = dt
        last = elapsed + step >= duration
        if last:
            step = duration - elapsed
        velocities += accelerations * (step / 2.0)
        positions += velocities * step
        accelerations_only(positions, masses, G, accelerations)
        velocities += accelerations * (step / 2.0)
        steps += 1
        elapsed = duration if last else elapsed + step
        if not (_finite(positions) and _finite(velocities)):
            return NON_FINITE, steps, elapsed
    return COMPLETED, steps, elapsed


@njit(cache=True)
def total_energy(positions, velocities, masses, G):
    """Kinetic plus potential energy of the system."""
    n = positions.shape[0]
    kinetic = 0.0
    potential = 0.0
    for i in range(n):
        kinetic += 0.5 * masses[i] * (velocities[i, 0] ** 2 + velocities[i, 1] ** 2 + velocities[i, 2] ** 2)
        for j in range(i + 1, n):
            r = math.sqrt((positions[j, 0] - positions[i, 0]) ** 2 + (positions[j, 1] - positions[i, 1]) ** 2
                          + (positions[j, 2] - positions[i, 2]) ** 2)
            potential -= G * masses[i] * masses[j] / r
    return kinetic + potential


@njit(cache=True)
def pair_distances(positions):
    """Distances of all pairs (i < j), in the order (0,1), (0,2), ..., (1,2), ..."""
    n = positions.shape[0]
    out = np.empty(n * (n - 1) // 2)
    index = 0
    for i in range(n):
        for j in range(i + 1, n):
            out[index] = math.sqrt((positions[j, 0] - positions[i, 0]) ** 2 + (positions[j, 1] - positions[i, 1]) ** 2
                                   + (positions[j, 2] - positions[i, 2]) ** 2)
            index += 1
    return out


# --- the same Hermite step in plain numpy (the benchmark's reference and a cross-check in the tests) ----


def accelerations_and_jerks_numpy(positions, velocities, masses, G):
    """Accelerations and jerks (N, 3) with array operations over all ordered pairs."""
    separation = positions[None, :, :] - positions[:, None, :]          # x_j - x_i, shape (N, N, 3)
    relative_velocity = velocities[None, :, :] - velocities[:, None, :]
    r2 = np.einsum("ijk,ijk->ij", separation, separation)
    np.fill_diagonal(r2, 1.0)
    inv_r3 = r2 ** -1.5
    np.fill_diagonal(inv_r3, 0.0)
    weight = G * masses[None, :] * inv_r3
    rv = 3.0 * np.einsum("ijk,ijk->ij", separation, relative_velocity) / r2
    accelerations = np.einsum("ij,ijk->ik", weight, separation)
    jerks = np.einsum("ij,ijk->ik", weight, relative_velocity - rv[:, :, None] * separation)
    return accelerations, jerks


def hermite_step_numpy(positions, velocities, accelerations, jerks, masses, G, dt):
    """The Hermite step of :func:`hermite_step` in numpy; returns new (positions, velocities, acc, jerk)."""
    predicted_x = positions + velocities * dt + accelerations * dt ** 2 / 2 + jerks * dt ** 3 / 6
    predicted_v = velocities + accelerations * dt + jerks * dt ** 2 / 2
    new_a, new_j = accelerations_and_jerks_numpy(predicted_x, predicted_v, masses, G)
    new_v = velocities + (accelerations + new_a) * dt / 2 + (jerks - new_j) * dt ** 2 / 12
    new_x = positions + (velocities + new_v) * dt / 2 + (accelerations - new_a) * dt ** 2 / 12
    return new_x, new_v, new_a, new_j
