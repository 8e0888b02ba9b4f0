"""The integrators an episode can run on, each advancing a system by one interval for one action value.

- ``hermite``: the 4th-order Hermite scheme with shared step ``eta * timescale`` (the paper's integrator);
  the action value is ``eta``.
- ``ias15``: rebound's IAS15 (15th-order, adaptive; the role of the paper's variable-step Huayno); the
  action value is IAS15's accuracy parameter ``epsilon``. Needs the optional ``rebound`` package.
- ``leapfrog``: kick-drift-kick leapfrog with a fixed step (the role of the paper's fixed-step symplectic
  Symple); the action value is the step ``dt`` in N-body time units.

Each backend holds only numpy arrays between intervals (IAS15 builds a fresh rebound simulation for every
interval), so environments pickle and copy. ``advance`` returns the status code of
:mod:`papergym.envs.threebody.integrators` and the number of force evaluations it spent.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np

from papergym.core.errors import PapergymError
from papergym.envs.threebody import integrators

BACKENDS = ("hermite", "ias15", "leapfrog")
#: What the action value means on each backend.
ACTION_MEANING = {"hermite": "eta", "ias15": "epsilon", "leapfrog": "dt"}


class Backend:
    """A system of point masses (N-body units, G = 1) advanced one interval at a time."""

    name = ""

    def __init__(self, max_evaluations: int):
        self.max_evaluations = max_evaluations
        self.positions = np.zeros((0, 3))
        self.velocities = np.zeros((0, 3))
        self.masses = np.zeros(0)

    def reset(self, positions: np.ndarray, velocities: np.ndarray, masses: np.ndarray) -> int:
        """Load a state; return the force evaluations spent preparing it."""
        self.positions = np.array(positions, dtype=np.float64)
        self.velocities = np.array(velocities, dtype=np.float64)
        self.masses = np.array(masses, dtype=np.float64)
        return 0

    def advance(self, value: float, duration: float) -> tuple[int, int]:
        """Integrate ``duration`` time units with the action ``value``; (status, force evaluations)."""
        raise NotImplementedError

    def energy(self) -> float:
        return float(integrators.total_energy(self.positions, self.velocities, self.masses, 1.0))


class HermiteBackend(Backend):
    """Hermite with ``dt = eta * timescale``: one force evaluation per step, plus one at the start."""

    name = "hermite"

    def reset(self, positions, velocities, masses) -> int:
        super().reset(positions, velocities, masses)
        self.accelerations = np.zeros_like(self.positions)
        self.jerks = np.zeros_like(self.positions)
        integrators.accelerations_and_jerks(self.positions, self.velocities, self.masses, 1.0,
                                            self.accelerations, self.jerks)
        return 1

    def advance(self, value: float, duration: float) -> tuple[int, int]:
        status, steps, _ = integrators.hermite_interval(self.positions, self.velocities, self.accelerations,
                                                        self.jerks, self.masses, 1.0, value, duration,
                                                        self.max_evaluations)
        return int(status), int(steps)


class LeapfrogBackend(Backend):
    """Kick-drift-kick leapfrog with the fixed step ``dt``: one force evaluation per step, plus one at start."""

    name = "leapfrog"

    def reset(self, positions, velocities, masses) -> int:
        super().reset(positions, velocities, masses)
        self.accelerations = np.zeros_like(self.positions)
        integrators.accelerations_only(self.positions, self.masses, 1.0, self.accelerations)
        return 1

    def advance(self, value: float, duration: float) -> tuple[int, int]:
        status, steps, _ = integrators.leapfrog_interval(self.positions, self.velocities, self.accelerations,
                                                         self.masses, 1.0, value, duration, self.max_evaluations)
        return int(status), int(steps)


def import_rebound():
    """The ``rebound`` module, or a :class:`PapergymError` saying how to install it."""
    try:
        import rebound
    except ImportError:
        raise PapergymError("backend 'ias15' needs the rebound package: pip install 'papergym[astro]'") from None
    return rebound


class IAS15Backend(Backend):
    """rebound's IAS15 with accuracy parameter ``epsilon``; force evaluations counted by a force callback.

    One rebound simulation carries the episode from interval to interval (IAS15 keeps its step and its
    predictor between them) and is pickled whole, so a copy continues identically. rebound calls
    ``additional_forces`` once per evaluation of the gravitational accelerations, so a callback that adds
    nothing counts them exactly, and stops the simulation at the end of the IAS15 step in which one
    interval reaches ``max_evaluations``.
    Intervals end exactly (``exact_finish_time``).
    """

    name = "ias15"

    def __init__(self, max_evaluations: int):
        super().__init__(max_evaluations)
        import_rebound()
        self._simulation = None
        self._evaluations = 0

    def reset(self, positions, velocities, masses) -> int:
        super().reset(positions, velocities, masses)
        self._simulation = None
        return 0

    def advance(self, value: float, duration: float) -> tuple[int, int]:
        simulation = self._simulation if self._simulation is not None else self._build()
        simulation.integrator.epsilon = float(value)
        self._evaluations = 0
        status = self._integrate(simulation, simulation.t + duration)
        for index, particle in enumerate(simulation.particles):
            self.positions[index] = particle.xyz
            self.velocities[index] = particle.vxyz
        if not (np.isfinite(self.positions).all() and np.isfinite(self.velocities).all()):
            status = integrators.NON_FINITE
        return status, self._evaluations

    def _build(self):
        rebound = import_rebound()
        simulation = rebound.Simulation()
        simulation.G = 1.0
        for mass, position, velocity in zip(self.masses, self.positions, self.velocities):
            simulation.add(m=float(mass), x=position[0], y=position[1], z=position[2],
                           vx=velocity[0], vy=velocity[1], vz=velocity[2])
        simulation.integrator = "ias15"
        simulation.additional_forces = self._count
        self._simulation = simulation
        return simulation

    def _count(self, pointer) -> None:
        self._evaluations += 1
        if self._evaluations >= self.max_evaluations:
            pointer.contents.stop()

    def _integrate(self, simulation, end: float) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # IAS15's "predictor corrector did not converge"
            try:
                simulation.integrate(end, exact_finish_time=1)
            except RuntimeError:  # rebound refuses a state it cannot integrate (e.g. non-finite)
                return integrators.NON_FINITE
        return integrators.COMPLETED if simulation.t >= end else integrators.STEP_LIMIT

    def __getstate__(self):
        state = dict(self.__dict__)
        if self._simulation is not None:  # rebound pickles the whole simulation, IAS15's state included
            state["_simulation"] = pickle.dumps(self._simulation)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if isinstance(self._simulation, bytes):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # "reset function pointers": done next line
                self._simulation = pickle.loads(self._simulation)
            self._simulation.additional_forces = self._count


def make_backend(name: str, max_evaluations: int) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`)."""
    classes = {"hermite": HermiteBackend, "ias15": IAS15Backend, "leapfrog": LeapfrogBackend}
    return classes[name](max_evaluations)
