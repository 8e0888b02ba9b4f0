"""Argument and action validation shared by every papergym environment and agent.

Every check raises a :class:`~papergym.core.errors.PapergymError` (a ``ValueError``) that names the
argument, the value received and what is allowed, so that a bad configuration fails at construction with
a message a user can act on.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
from gymnasium import spaces

from papergym.core.errors import PapergymError


def require_real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float within the given bounds, or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise PapergymError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise PapergymError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise PapergymError(f"{name} must be {'<' if high_open else '<='} {high}, got {value!r}")
    return value


def require_positive(name: str, value: Any) -> float:
    """Return ``value`` as a finite float > 0, or raise ``ValueError``."""
    return require_real(name, value, low=0.0, low_open=True)


def require_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int within ``[low, high]``, or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise PapergymError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise PapergymError(f"{name} must be >= {low}, got {value!r}")
    if high is not None and value > high:
        raise PapergymError(f"{name} must be <= {high}, got {value!r}")
    return value


def require_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, or raise ``ValueError`` listing them."""
    choices = list(choices)
    if value not in choices:
        raise PapergymError(f"{name} must be one of {choices}, got {value!r}")
    return value


def require_matrix(name: str, value: Any, *, shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given shape (None = any size), or raise."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PapergymError(f"{name} must be a numeric array, got {value!r}") from None
    if shape is not None and not _shape_matches(array.shape, shape):
        expected = "x".join("any" if s is None else str(s) for s in shape)
        raise PapergymError(f"{name} must have shape {expected}, got shape {array.shape}")
    if array.size == 0:
        raise PapergymError(f"{name} must not be empty, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise PapergymError(f"{name} must contain only finite numbers, got {array.tolist()}")
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

    NaN and infinite values are invalid in every space. Box actions are returned as float64 arrays of the
    space's shape; Discrete actions as a Python int.
    """
    if isinstance(space, spaces.Discrete):
        return _validated_discrete(space, action)
    if isinstance(space, spaces.Box):
        return _validated_box(space, action)
    if not space.contains(action):
        raise PapergymError(f"action {action!r} is not in the action space {space}")
    return action


def _validated_discrete(space: spaces.Discrete, action: Any) -> int:
    array = np.asarray(action)
    allowed = f"an integer in [{int(space.start)}, {int(space.start + space.n - 1)}]"
    if array.shape not in ((), (1,)) or not np.issubdtype(array.dtype, np.number):
        raise PapergymError(f"action must be {allowed}, got {action!r}")
    value = array.reshape(()).item()
    if not np.isfinite(value) or value != int(value):
        raise PapergymError(f"action must be {allowed}, got {action!r}")
    value = int(value)
    if not space.start <= value < space.start + space.n:
        raise PapergymError(f"action must be {allowed}, got {value}")
    return value


def _validated_box(space: spaces.Box, action: Any) -> np.ndarray:
    try:
        array = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        raise PapergymError(f"action must be a numeric array of shape {space.shape}, got {action!r}") from None
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
