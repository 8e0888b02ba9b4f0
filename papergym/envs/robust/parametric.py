"""Uncertainty sets and the parametric-environment protocol of the Robust RL Suite (RRLS).

A parametric environment exposes the physical parameters of its transition model:

* ``set_params(**params)`` changes some of them (the others keep their values);
* ``get_params()`` returns all of them as a ``dict`` of plain floats;
* ``reset(options=params)`` applies ``params`` before drawing the initial state;
* parameters persist across resets until they are changed again;
* ``info`` of every ``reset`` and ``step`` holds the current value of every parameter.

Each environment also carries an :class:`UncertaintySet`, a box of parameter values (its default is
documented in the environment's docstring), which the robust wrappers and agents search or sample.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium.error import DependencyNotInstalled

from papergym.core.errors import PapergymError
from papergym.core.validation import require_int, require_real


@dataclass(frozen=True)
class UncertaintySet:
    """A box of transition-model parameters: ``name -> (low, high)``, ``low <= high``.

    Vectors follow the order of ``names``. A dimension with ``low == high`` is allowed (a fixed value).
    """

    bounds: tuple[tuple[str, float, float], ...]

    def __post_init__(self) -> None:
        if not self.bounds:
            raise PapergymError("uncertainty_set must name at least one parameter, got an empty set")
        names = [name for name, _, _ in self.bounds]
        if len(set(names)) != len(names):
            raise PapergymError(f"uncertainty_set names a parameter twice: {names}")
        for name, low, high in self.bounds:
            require_real(f"uncertainty_set[{name!r}] lower bound", low)
            require_real(f"uncertainty_set[{name!r}] upper bound", high)
            if low > high:
                raise PapergymError(f"uncertainty_set[{name!r}] must have low <= high, got ({low}, {high})")

    @classmethod
    def from_dict(cls, bounds: Mapping[str, tuple[float, float]] | UncertaintySet) -> UncertaintySet:
        """Build a set from ``{"name": (low, high), ...}`` (an ``UncertaintySet`` is returned as is)."""
        if isinstance(bounds, UncertaintySet):
            return bounds
        if not isinstance(bounds, Mapping):
            raise PapergymError(f"uncertainty_set must be a mapping name -> (low, high), got {bounds!r}")
        entries = []
        for name, pair in bounds.items():
            if np.ndim(pair) != 1 or len(pair) != 2:
                raise PapergymError(f"uncertainty_set[{name!r}] must be a pair (low, high), got {pair!r}")
            low = require_real(f"uncertainty_set[{name!r}] lower bound", pair[0])
            entries.append((str(name), low, require_real(f"uncertainty_set[{name!r}] upper bound", pair[1])))
        return cls(tuple(entries))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.bounds)

    @property
    def low(self) -> np.ndarray:
        return np.array([low for _, low, _ in self.bounds])

    @property
    def high(self) -> np.ndarray:
        return np.array([high for _, _, high in self.bounds])

    @property
    def dim(self) -> int:
        return len(self.bounds)

    def as_dict(self) -> dict[str, tuple[float, float]]:
        return {name: (low, high) for name, low, high in self.bounds}

    def to_params(self, vector: Iterable[float]) -> dict[str, float]:
        """Parameters (plain floats) from a vector in the order of ``names``."""
        vector = np.asarray(list(vector), dtype=np.float64)
        if vector.shape != (self.dim,):
            raise PapergymError(f"a parameter vector of {self.names} must have shape ({self.dim},), got {vector.shape}")
        return {name: float(value) for name, value in zip(self.names, vector)}

    def to_vector(self, params: Mapping[str, float]) -> np.ndarray:
        missing = set(self.names) - set(params)
        if missing:
            raise PapergymError(f"params lack the parameters {sorted(missing)} of the uncertainty set")
        return np.array([float(params[name]) for name in self.names])

    def from_unit(self, unit: Iterable[float]) -> dict[str, float]:
        """Parameters from coordinates in [0, 1]^dim (0 = lower bound, 1 = upper bound)."""
        unit = np.clip(np.asarray(list(unit), dtype=np.float64), 0.0, 1.0)
        return self.to_params(self.low + unit * (self.high - self.low))

    def contains(self, params: Mapping[str, float]) -> bool:
        vector = self.to_vector(params)
        return bool(np.all(vector >= self.low) and np.all(vector <= self.high))

    def clip(self, params: Mapping[str, float]) -> dict[str, float]:
        return self.to_params(np.clip(self.to_vector(params), self.low, self.high))

    def sample(self, rng: np.random.Generator) -> dict[str, float]:
        """A uniform draw from the box, from the given generator (one draw per dimension)."""
        return self.to_params(rng.uniform(self.low, self.high))

    def corners(self) -> list[dict[str, float]]:
        """The 2^dim corners of the box (duplicates removed for fixed dimensions)."""
        return self.grid(2)

    def grid(self, points_per_dim: int = 5) -> list[dict[str, float]]:
        """A regular grid of ``points_per_dim`` values per dimension, both bounds included.

        Values are ``numpy.linspace(low, high, points_per_dim)``; with ``points_per_dim = 1`` the grid is
        the centre of the box. A fixed dimension (``low == high``) contributes one value.
        """
        points_per_dim = require_int("points_per_dim", points_per_dim, low=1)
        axes = []
        for _, low, high in self.bounds:
            if points_per_dim == 1:
                axes.append([(low + high) / 2.0])
            else:
                axes.append(list(dict.fromkeys(np.linspace(low, high, points_per_dim).tolist())))
        return [self.to_params(point) for point in itertools.product(*axes)]

    def subset(self, names: Iterable[str]) -> UncertaintySet:
        """The set restricted to some of its parameters (the others are left to the environment)."""
        names = list(names)
        unknown = set(names) - set(self.names)
        if unknown:
            raise PapergymError(f"names must be among {list(self.names)}, got {sorted(unknown)}")
        return UncertaintySet(tuple(entry for entry in self.bounds if entry[0] in names))


class ParametricEnv:
    """Mixin implementing the parametric-environment protocol for a ``gymnasium.Env``.

    A subclass defines ``NOMINAL_PARAMS`` (name -> nominal value, also the order of the parameters),
    ``PARAMETER_RANGES`` (name -> (low, high): the closed range of physically meaningful values, in which
    the model's numbers stay finite; enforced here, at construction, ``set_params`` and ``reset(options=...)``
    alike, and by the bounds of an uncertainty set), ``DEFAULT_UNCERTAINTY_SET``,
    ``PASSTHROUGH_RESET_OPTIONS`` (reset options of the base environment that are still accepted) and
    ``_apply_params(params)``, which installs a complete, validated set of parameters in the model
    (recomputing whatever the model derives from them).
    """

    NOMINAL_PARAMS: ClassVar[dict[str, float]] = {}
    PARAMETER_RANGES: ClassVar[dict[str, tuple[float, float]]] = {}
    DEFAULT_UNCERTAINTY_SET: ClassVar[dict[str, tuple[float, float]]] = {}
    PASSTHROUGH_RESET_OPTIONS: ClassVar[tuple[str, ...]] = ()

    _params: dict[str, float]
    uncertainty_set: UncertaintySet

    def _init_params(self, params: Mapping[str, Any], uncertainty_set: Any) -> None:
        """Validate and install the constructor's parameters and uncertainty set."""
        if uncertainty_set is None:
            uncertainty_set = self.DEFAULT_UNCERTAINTY_SET
        try:
            self.uncertainty_set = UncertaintySet.from_dict(uncertainty_set)
        except ValueError as error:
            raise PapergymError(f"uncertainty_set is invalid: {error}") from None
        unknown = set(self.uncertainty_set.names) - set(self.NOMINAL_PARAMS)
        if unknown:
            raise PapergymError(f"uncertainty_set names unknown parameters {sorted(unknown)}; "
                             f"the parameters are {list(self.NOMINAL_PARAMS)}")
        for name, low, high in self.uncertainty_set.bounds:
            allowed_low, allowed_high = self.PARAMETER_RANGES[name]
            require_real(f"uncertainty_set[{name!r}] lower bound", low, low=allowed_low, high=allowed_high)
            require_real(f"uncertainty_set[{name!r}] upper bound", high, low=allowed_low, high=allowed_high)
        self._params = dict(self.NOMINAL_PARAMS)
        self.set_params(**params)

    def get_params(self) -> dict[str, float]:
        """The current value of every parameter (plain floats)."""
        return dict(self._params)

    @property
    def params_bound(self) -> dict[str, tuple[float, float]]:
        """The uncertainty set as RRLS names it: ``{name: (low, high)}``."""
        return self.uncertainty_set.as_dict()

    def set_params(self, **params: float) -> None:
        """Change some parameters; they stay in force (across resets) until changed again.

        Every value must be a finite number in the parameter's range (``PARAMETER_RANGES``, documented in
        the environment's docstring); otherwise ``ValueError`` names the parameter, the value and the range.
        ``None`` leaves a parameter as it is, as in RRLS. Values outside the uncertainty set are accepted (to
        evaluate a policy beyond it); the robust wrappers and agents stay inside it.
        """
        params = {name: value for name, value in params.items() if value is not None}  # RRLS: None keeps it
        unknown = set(params) - set(self.NOMINAL_PARAMS)
        if unknown:
            raise PapergymError(f"unknown parameters {sorted(unknown)}; the parameters are {list(self.NOMINAL_PARAMS)}")
        updated = dict(self._params)
        for name, value in params.items():
            low, high = self.PARAMETER_RANGES[name]
            updated[name] = require_real(name, value, low=low, high=high)
        self._params = updated
        self._apply_params(updated)

    def _apply_params(self, params: dict[str, float]) -> None:
        raise NotImplementedError

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Apply the parameters in ``options``, then reset the base environment (with its own options)."""
        base_options = self._split_reset_options(options)
        observation, info = super().reset(seed=seed, options=base_options)  # type: ignore[misc]
        return observation, self._with_params(info)

    def _split_reset_options(self, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """Apply the parameters found in ``options``; return the base environment's own options."""
        if options is None:
            return None
        allowed = set(self.NOMINAL_PARAMS) | set(self.PASSTHROUGH_RESET_OPTIONS)
        unknown = set(options) - allowed
        if unknown:
            raise PapergymError(f"unknown reset options {sorted(unknown)}; allowed: {sorted(allowed)}")
        params = {key: value for key, value in options.items() if key in self.NOMINAL_PARAMS}
        if params:
            self.set_params(**params)
        return {key: value for key, value in options.items() if key in self.PASSTHROUGH_RESET_OPTIONS}

    def _with_params(self, info: dict[str, Any]) -> dict[str, Any]:
        info.update(self._params)
        return info


def is_parametric(env: Any) -> bool:
    """Whether ``env`` (or the environment it wraps) follows the parametric-environment protocol."""
    unwrapped = getattr(env, "unwrapped", env)
    return all(hasattr(unwrapped, name) for name in ("set_params", "get_params", "uncertainty_set"))


def require_pygame(env: Any) -> None:
    """Gymnasium's drawing of CartPole and Pendulum needs pygame, an optional dependency: say how to get it."""
    if importlib.util.find_spec("pygame") is None:
        raise DependencyNotInstalled(
            f"{type(env).__name__} draws render_mode={env.render_mode!r} with pygame, which is not installed; "
            'install it with `pip install "papergym[render]"` (or use render_mode="ansi")')
