"""The authors' planar three-body initial conditions, in N-body units and the centre-of-mass frame."""

from __future__ import annotations

import numpy as np

from papergym.envs.threebody.units import PAPER_UNITS, NBodyUnits

#: Each star's mass [solar masses].
STAR_MASS_MSUN = 1.0
#: Ranges [au] of the random coordinates: body 2 at (x2, y2, 0), body 3 at (x3, y3, 0).
X2_RANGE_AU = (5.0, 20.0)
Y2_RANGE_AU = (0.0, 10.0)
X3_RANGE_AU = (-10.0, 0.0)
Y3_RANGE_AU = (5.0, 20.0)
#: Fixed velocities [km/s]: body 1 moves along +y, body 2 along -x, body 3 starts at rest.
VELOCITIES_KMS = np.array([[0.0, 10.0, 0.0], [-10.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def paper_initial_conditions(rng: np.random.Generator, units: NBodyUnits = PAPER_UNITS
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, velocities, masses) of one draw: body 1 at the origin, bodies 2 and 3 uniform in their
    boxes, then shifted to the centre-of-mass frame (positions and velocities)."""
    x2, y2 = rng.uniform(*X2_RANGE_AU), rng.uniform(*Y2_RANGE_AU)
    x3, y3 = rng.uniform(*X3_RANGE_AU), rng.uniform(*Y3_RANGE_AU)
    positions_au = np.array([[0.0, 0.0, 0.0], [x2, y2, 0.0], [x3, y3, 0.0]])
    masses = np.full(3, units.mass(STAR_MASS_MSUN))
    positions = units.length(positions_au)
    velocities = units.velocity(VELOCITIES_KMS)
    return to_centre_of_mass(positions, masses), to_centre_of_mass(velocities, masses), masses


def to_centre_of_mass(vectors: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Subtract the mass-weighted mean (positions or velocities of shape (N, 3))."""
    return vectors - masses @ vectors / masses.sum()


#: The authors' coordinate ranges [au] in their draw order (x2, y2, x3, y3), as (low, high) pairs: x3 is drawn
#: as ``uniform(0, -10)``, i.e. 0 - 10 u, not -10 + 10 u (their settings_integration_3BP.json).
AUTHORS_RANGES_AU = ((5.0, 20.0), (0.0, 10.0), (0.0, -10.0), (5.0, 20.0))


def authors_initial_conditions(seed: int, units: NBodyUnits = PAPER_UNITS
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The system the authors' environment builds for its settings seed ``seed``: their generator seeds
    NumPy's legacy global generator with ``seed`` and draws the four coordinates in one ``uniform`` call; a
    local ``RandomState(seed)`` gives the same numbers without touching the global state."""
    low, high = np.array(AUTHORS_RANGES_AU).T
    x2, y2, x3, y3 = np.random.RandomState(seed).uniform(low=low, high=high)
    positions_au = np.array([[0.0, 0.0, 0.0], [x2, y2, 0.0], [x3, y3, 0.0]])
    masses = np.full(3, units.mass(STAR_MASS_MSUN))
    velocities = units.velocity(VELOCITIES_KMS)
    return (to_centre_of_mass(units.length(positions_au), masses), to_centre_of_mass(velocities, masses), masses)
