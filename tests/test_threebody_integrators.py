"""The three-body integrators: Hermite's 4th order against the analytic Kepler orbit, leapfrog's 2nd order,
exact interval ends, determinism, the numpy reference step, the time-step criterion and the units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from papergym.envs.threebody import integrators
from papergym.envs.threebody.units import PAPER_UNITS

ECCENTRICITY = 0.5
DURATION = 0.37 * 2 * math.pi  # an unremarkable point of the orbit (period 2 pi for a = 1, G M = 1)


def kepler_pair(eccentricity: float = ECCENTRICITY):
    """Two bodies of mass 1/2 (G M = 1, a = 1) at pericentre, centre of mass at rest at the origin."""
    separation = 1.0 - eccentricity
    speed = math.sqrt((1.0 + eccentricity) / separation)
    positions = np.array([[-separation / 2, 0.0, 0.0], [separation / 2, 0.0, 0.0]])
    velocities = np.array([[0.0, -speed / 2, 0.0], [0.0, speed / 2, 0.0]])
    return positions, velocities, np.array([0.5, 0.5])


def analytic_positions(t: float, eccentricity: float = ECCENTRICITY) -> np.ndarray:
    """Kepler's equation solved by Newton's method: the two bodies' positions at time t."""
    mean_anomaly = t  # mean motion 1
    anomaly = mean_anomaly
    for _ in range(50):
        anomaly -= (anomaly - eccentricity * math.sin(anomaly) - mean_anomaly) / (1 - eccentricity * math.cos(anomaly))
    relative = np.array([math.cos(anomaly) - eccentricity, math.sqrt(1 - eccentricity ** 2) * math.sin(anomaly), 0.0])
    return np.array([-relative / 2, relative / 2])


def hermite_run(eta: float, duration: float = DURATION):
    positions, velocities, masses = kepler_pair()
    accelerations, jerks = np.zeros_like(positions), np.zeros_like(positions)
    integrators.accelerations_and_jerks(positions, velocities, masses, 1.0, accelerations, jerks)
    status, steps, elapsed = integrators.hermite_interval(positions, velocities, accelerations, jerks, masses, 1.0,
                                                          eta, duration, 10 ** 7)
    return positions, velocities, status, steps, elapsed


def leapfrog_run(dt: float, duration: float = DURATION):
    positions, velocities, masses = kepler_pair()
    accelerations = np.zeros_like(positions)
    integrators.accelerations_only(positions, masses, 1.0, accelerations)
    status, steps, elapsed = integrators.leapfrog_interval(positions, velocities, accelerations, masses, 1.0, dt,
                                                           duration, 10 ** 7)
    return positions, velocities, status, steps, elapsed


def observed_order(errors: list[float], factor: float = 2.0) -> np.ndarray:
    return np.log(np.array(errors[:-1]) / np.array(errors[1:])) / math.log(factor)


def test_hermite_is_fourth_order_on_the_kepler_orbit():
    etas = [0.04, 0.02, 0.01, 0.005]
    errors = [np.abs(hermite_run(eta)[0] - analytic_positions(DURATION)).max() for eta in etas]
    assert errors[-1] < 1e-8
    np.testing.assert_allclose(observed_order(errors), 4.0, atol=0.25)


def test_hermite_energy_error_shrinks_at_fourth_order():
    positions0, velocities0, masses = kepler_pair()
    energy0 = integrators.total_energy(positions0, velocities0, masses, 1.0)
    errors = []
    for eta in [0.04, 0.02, 0.01]:
        positions, velocities, *_ = hermite_run(eta, duration=2 * math.pi)
        errors.append(abs(integrators.total_energy(positions, velocities, masses, 1.0) / energy0 - 1.0))
    assert np.all(observed_order(errors) > 3.5)


def test_leapfrog_is_second_order():
    errors = [np.abs(leapfrog_run(dt)[0] - analytic_positions(DURATION)).max() for dt in [4e-3, 2e-3, 1e-3]]
    np.testing.assert_allclose(observed_order(errors), 2.0, atol=0.15)


@pytest.mark.parametrize("duration", [0.1, 1.0, DURATION, 1.0 / 3.0])
def test_intervals_end_exactly(duration):
    for run, parameter in ((hermite_run, 0.03), (leapfrog_run, 0.013)):
        *_, status, steps, elapsed = run(parameter, duration)
        assert status == integrators.COMPLETED and elapsed == duration and steps >= 1


def test_splitting_an_interval_matches_the_analytic_orbit_at_its_end():
    positions, velocities, masses = kepler_pair()
    accelerations, jerks = np.zeros_like(positions), np.zeros_like(positions)
    integrators.accelerations_and_jerks(positions, velocities, masses, 1.0, accelerations, jerks)
    for _ in range(7):  # seven intervals of DURATION / 7, each ending exactly
        integrators.hermite_interval(positions, velocities, accelerations, jerks, masses, 1.0, 0.005, DURATION / 7,
                                     10 ** 7)
    np.testing.assert_allclose(positions, analytic_positions(DURATION), atol=1e-8)


def test_runs_are_bitwise_deterministic():
    first, again = hermite_run(0.01), hermite_run(0.01)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_step_limit_stops_the_interval():
    positions, velocities, masses = kepler_pair()
    accelerations, jerks = np.zeros_like(positions), np.zeros_like(positions)
    integrators.accelerations_and_jerks(positions, velocities, masses, 1.0, accelerations, jerks)
    status, steps, elapsed = integrators.hermite_interval(positions, velocities, accelerations, jerks, masses, 1.0,
                                                          1e-3, 10.0, 25)
    assert status == integrators.STEP_LIMIT and steps == 25 and elapsed < 10.0


def test_numba_step_matches_the_numpy_step():
    rng = np.random.default_rng(0)
    positions, velocities, masses = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.uniform(0.1, 1.0, 3)
    accelerations, jerks = integrators.accelerations_and_jerks_numpy(positions, velocities, masses, 1.0)
    expected = integrators.hermite_step_numpy(positions, velocities, accelerations, jerks, masses, 1.0, 1e-2)
    compiled = [positions.copy(), velocities.copy(), np.zeros((3, 3)), np.zeros((3, 3))]
    integrators.accelerations_and_jerks(compiled[0], compiled[1], masses, 1.0, compiled[2], compiled[3])
    np.testing.assert_allclose(compiled[2], accelerations, rtol=1e-12)
    np.testing.assert_allclose(compiled[3], jerks, rtol=1e-12)
    integrators.hermite_step(*compiled[:4], masses, 1.0, 1e-2, np.empty((4, 3, 3)))
    for got, want in zip(compiled, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_shared_timestep_is_eta_times_the_smallest_pair_timescale():
    positions = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    velocities = np.array([[0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]])
    masses = np.array([0.5, 0.25, 0.25])
    candidates = []
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        r = np.linalg.norm(positions[j] - positions[i])
        v = np.linalg.norm(velocities[j] - velocities[i])
        candidates += [r / v if v > 0 else np.inf, math.sqrt(r ** 3 / (masses[i] + masses[j]))]
    timestep = integrators.shared_timestep(positions, velocities, masses, 1.0, 0.01)
    assert timestep == pytest.approx(0.01 * min(candidates))


def test_paper_units():
    assert PAPER_UNITS.time_yr == pytest.approx(0.0919, abs=2e-4)
    assert PAPER_UNITS.velocity_kms == pytest.approx(51.6, abs=0.1)
    assert PAPER_UNITS.velocity(PAPER_UNITS.velocity_kms) == pytest.approx(1.0)
    assert PAPER_UNITS.time(PAPER_UNITS.time_yr) == pytest.approx(1.0)
