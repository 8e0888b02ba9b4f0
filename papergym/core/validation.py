"""Argument and action validation shared by every papergym environment and agent.

Every check raises a :class:`~papergym.core.errors.PapergymError` (a ``ValueError``) that names the
argument, the value received and what is allowed, so that a bad configuration fails at construction with
a message a user can act on.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
from gymnasium import spaces

from papergym.core.errors import PapergymError


def require_real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float within the given bounds, or raise naming the value and the range."""
    allowed = _range_text(low, high, low_open, high_open)
    not_real = f"{name} must be a finite real number{' ' + allowed if allowed else ''}, got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise PapergymError(not_real)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise PapergymError(not_real)
    if (low is not None and (number < low or (low_open and number == low))) or (
            high is not None and (number > high or (high_open and number == high))):
        raise PapergymError(f"{name} must be {allowed}, got {value!r}")
    return number


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if high is None:
        return "" if low is None else f"{'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def require_positive(name: str, value: Any) -> float:
    """Return ``value`` as a finite float > 0, or raise ``ValueError``."""
    return require_real(name, value, low=0.0, low_open=True)


def require_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int within ``[low, high]``, or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise PapergymError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    allowed = f" (allowed: [{low}, {high}])" if low is not None and high is not None else ""
    if low is not None and value < low:
        raise PapergymError(f"{name} must be >= {low}{allowed}, got {value!r}")
    if high is not None and value > high:
        raise PapergymError(f"{name} must be <= {high}{allowed}, got {value!r}")
    return value


def renamed_argument(name: str, value: Any, old_name: str, old_value: Any, default: Any = None) -> Any:
    """The value of an argument that was renamed: ``value``, or the deprecated ``old_value`` (with a
    DeprecationWarning that names both); giving both is refused. Without either, ``default`` (a TypeError
    when there is none)."""
    if old_value is not None:
        warnings.warn(f"the keyword {old_name} is deprecated; use {name}", DeprecationWarning, stacklevel=4)
        if value is not None:
            raise PapergymError(f"give {name} or its deprecated name {old_name}, not both ({name}={value!r}, "
                                f"{old_name}={old_value!r})")
        return old_value
    if value is None:
        if default is None:
            raise TypeError(f"missing the argument {name}")
        return default
    return value


def require_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, or raise ``ValueError`` listing them."""
    choices = list(choices)
    try:
        found = any(isinstance(value, type(choice)) and value == choice for choice in choices)
    except (TypeError, ValueError):  # an array compared element by element
        found = False
    if not found:
        raise PapergymError(f"{name} must be one of {choices}, got {value!r}")
    return value


def require_matrix(name: str, value: Any, *, shape: tuple[int | None, ...] | None = None,
                   bound: float | None = None) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given shape (None = any size), or raise.

    With ``bound``, every entry must also satisfy ``|entry| <= bound``.
    """
    if isinstance(value, (str, bytes)) or (np.ndim(value) == 0 and not isinstance(value, numbers.Real)):
        raise PapergymError(f"{name} must be a numeric array, got {value!r}")
    try:
        array = np.array(value)
    except (TypeError, ValueError):
        raise PapergymError(f"{name} must be a numeric array, got {value!r}") from None
    if array.dtype.kind not in "iuf":
        raise PapergymError(f"{name} must be a real numeric array, got {value!r}")
    array = array.astype(np.float64)
    if shape is not None and not _shape_matches(array.shape, shape):
        expected = "x".join("any" if s is None else str(s) for s in shape)
        raise PapergymError(f"{name} must have shape {expected}, got shape {array.shape}")
    if array.size == 0:
        raise PapergymError(f"{name} must not be empty, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise PapergymError(f"{name} must contain only finite numbers, got {array.tolist()}")
    if bound is not None and np.abs(array).max() > bound:
        raise PapergymError(f"{name} must have entries in [-{bound:g}, {bound:g}], got {array.tolist()}")
    return array


def _shape_matches(actual: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(actual) == len(expected) and all(e is None or e == a for a, e in zip(actual, expected))


def require_symmetric_psd(name: str, matrix: np.ndarray, *, strict: bool = False) -> np.ndarray:
    """Check that a square matrix is symmetric positive semi-definite (definite if ``strict``)."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise PapergymError(f"{name} must be a square matrix, got shape {matrix.shape}")
    if not np.allclose(matrix, matrix.T, atol=1e-10):
        raise PapergymError(f"{name} must be symmetric, got {matrix.tolist()}")
    smallest = float(np.linalg.eigvalsh(matrix).min())
    if smallest < -1e-12 or (strict and smallest <= 0.0):
        kind = "positive definite" if strict else "positive semi-definite"
        raise PapergymError(f"{name} must be {kind}; its smallest eigenvalue is {smallest:.3g}")
    return matrix


def validated_action(space: spaces.Space, action: Any) -> Any:
    """Return ``action`` converted to the space's dtype, or raise ``ValueError`` if it is not in ``space``.

    NaN and infinite values are invalid in every space, and so are complex, boolean, string and object
    values. Box actions are returned as float64 arrays of the space's shape; Discrete actions as a
    Python int. An action that already has the space's exact type, dtype and shape takes a fast path.
    """
    if isinstance(space, spaces.Discrete):
        return _validated_discrete(space, action)
    if isinstance(space, spaces.Box):
        return np.array(validated_box_floats(space, action), dtype=np.float64).reshape(space.shape)
    if not space.contains(action):
        raise PapergymError(f"action {action!r} is not in the action space {space}")
    return action


def validated_box_floats(space: spaces.Box, action: Any) -> list[float]:
    """The action of a Box space as a flat list of Python floats, validated as :func:`validated_action`.

    Environments whose model is a few scalar operations use it to skip array arithmetic altogether.
    """
    if type(action) is np.ndarray and action.dtype == space.dtype and action.shape == space.shape:
        if action.size == 1:  # the common scalar control; x - x == 0 is False for NaN and inf
            value = action.item()
            if space.low.item() <= value <= space.high.item() and value - value == 0.0:
                return [value]
        values = action.ravel().tolist()
        # NaN fails both comparisons; inf fails them against finite bounds and the isfinite check otherwise.
        if all(low <= value <= high and math.isfinite(value)
               for value, low, high in zip(values, space.low.flat, space.high.flat)):
            return values
    return _validated_box(space, action).ravel().tolist()


def _validated_discrete(space: spaces.Discrete, action: Any) -> int:
    start, n = int(space.start), int(space.n)
    if type(action) is int or isinstance(action, np.integer):
        if start <= action < start + n:
            return int(action)
        raise PapergymError(f"action must be an integer in [{start}, {start + n - 1}], got {action!r}")
    array = np.asarray(action) if isinstance(action, (np.ndarray, list, tuple)) else None
    if array is None or array.shape not in ((), (1,)) or not np.issubdtype(array.dtype, np.integer):
        raise PapergymError(f"action must be an integer in [{start}, {start + n - 1}] (a Python or numpy "
                            f"integer, or an integer array of shape () or (1,)), got {action!r} "
                            f"of type {type(action).__name__}")
    return _validated_discrete(space, array.reshape(()).item())


def _validated_box(space: spaces.Box, action: Any) -> np.ndarray:
    expected = f"a real numeric array of shape {space.shape}"
    if isinstance(action, (str, bytes, bool, np.bool_)) or action is None:
        raise PapergymError(f"action must be {expected}, got {action!r} of type {type(action).__name__}")
    try:
        array = np.asarray(action)
    except (TypeError, ValueError):
        raise PapergymError(f"action must be {expected}, got {action!r}") from None
    if array.dtype.kind not in "iuf":
        raise PapergymError(f"action must be {expected}, got {action!r} of dtype {array.dtype}")
    array = array.astype(np.float64)
    if array.shape != space.shape:
        if array.size == int(np.prod(space.shape)):
            array = array.reshape(space.shape)
        else:
            raise PapergymError(f"action must have shape {space.shape}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise PapergymError(f"action must be finite, got {array.tolist()}")
    # Compare in the space's dtype, as Box.contains does, so float32 rounding of a bound is accepted.
    cast = array.astype(space.dtype)
    if np.any(cast < space.low) or np.any(cast > space.high):
        raise PapergymError(
            f"action must lie in [{space.low.tolist()}, {space.high.tolist()}], got {array.tolist()}"
        )
    return array
