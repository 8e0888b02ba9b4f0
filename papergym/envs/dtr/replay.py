"""Replay of logged two-stage treatment data (e.g. STAR*D, which is restricted) by inverse-propensity resampling.

This is the evaluation the DTR bandit paper uses on STAR*D: patients of a logged sequentially randomised
trial are drawn with replacement with probability proportional to 1 / p, p = p1 p0 p2 with

* p1 = P(A1 | x1): the first-line propensity (logistic regression on x1);
* p0 = P(observed stage-2 participation | x1, a1, x2): dropout before stage 2 among the patients who did
  not remit (logistic regression on x1, a1, a1 * x1 and x2); 1 for patients who remitted;
* p2 = P(A2 | x2): the second-line propensity among the patients who had a choice at stage 2 (logistic
  regression on x2); 1 otherwise.

A learner then treats the drawn patients one by one (:func:`papergym.agents.dtr.replay`, which runs the
paper's one patient loop): a patient is *accepted* only if the learner's first-line arm, and its
second-line arm when there is one, equal the logged ones; the learner learns only from accepted patients;
the run stops after ``accept`` accepted patients or ``draws`` draws. The mean return of the accepted
patients estimates the value of the learner's policy. Patients who dropped out (no remission, no stage 2)
are never accepted; p0 reweights the others for it. This module holds the data side only (numpy): the
file format, the propensity models and the sampling weights.

The logged file is a CSV with columns ``x1_0 .. x1_{p1-1}``, ``a1``, ``r1``, ``x2_0 .. x2_{p2-1}``, ``a2``
(-1: no second-line treatment), ``r2`` (the stage-2 outcome; for a patient without stage 2 the fixed
remainder, e.g. 0 or the carried-over score), ``remitted`` (0/1). Arms are 0-based integers; each stage
has two arms (binary propensity models). ``allowed2`` (K1 x K2 booleans) says which second-line arms may
follow each first-line arm (the depression preset's: after a switch, only a switch).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_real

#: Draws and accepted patients of the paper's STAR*D replay (defaults of papergym.agents.dtr.replay).
PAPER_DRAWS, PAPER_ACCEPTED = 30_000, 5_000


@dataclass
class LoggedData:
    """Logged patients: features, arms, outcomes and remission flags (arrays over patients)."""

    x1: np.ndarray
    a1: np.ndarray
    r1: np.ndarray
    x2: np.ndarray
    a2: np.ndarray
    r2: np.ndarray
    remitted: np.ndarray
    allowed2: np.ndarray

    def __len__(self) -> int:
        return self.x1.shape[0]

    @property
    def dropped_out(self) -> np.ndarray:
        return ~self.remitted & (self.a2 < 0)

    def has_choice(self) -> np.ndarray:
        """Patients who reached stage 2 with more than one allowed arm."""
        return (self.a2 >= 0) & (self.allowed2[self.a1].sum(axis=1) > 1)


def load_logged(path: str | Path, allowed2: Any = ((True, True), (True, True))) -> LoggedData:
    """Read a logged-data CSV (see the module docstring); every problem is a ``PapergymError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise PapergymError(f"logged data: no such file {path}")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise PapergymError(f"logged data {path} has no rows")
    columns = list(rows[0])
    x1_names = sorted((c for c in columns if c.startswith("x1_")), key=lambda c: int(c[3:]))
    x2_names = sorted((c for c in columns if c.startswith("x2_")), key=lambda c: int(c[3:]))
    for required in ("a1", "r1", "a2", "r2", "remitted"):
        if required not in columns:
            raise PapergymError(f"logged data {path} lacks the column {required!r} (columns: {columns})")
    if not x1_names or not x2_names:
        raise PapergymError(f"logged data {path} needs feature columns x1_0.. and x2_0.. (columns: {columns})")

    def column(names: list[str]) -> np.ndarray:
        try:
            values = np.array([[float(row[name]) for name in names] for row in rows])
        except (TypeError, ValueError):
            raise PapergymError(f"logged data {path}: non-numeric value in columns {names}") from None
        if not np.all(np.isfinite(values)):
            raise PapergymError(f"logged data {path}: non-finite value in columns {names}")
        return values

    data = LoggedData(x1=column(x1_names), a1=column(["a1"])[:, 0].astype(np.int64), r1=column(["r1"])[:, 0],
                      x2=column(x2_names), a2=column(["a2"])[:, 0].astype(np.int64), r2=column(["r2"])[:, 0],
                      remitted=column(["remitted"])[:, 0] != 0, allowed2=np.asarray(allowed2, dtype=bool))
    _check_arms(data)
    return data


def _check_arms(data: LoggedData) -> None:
    k1, k2 = data.allowed2.shape
    if k1 != 2 or k2 != 2:
        raise PapergymError(f"allowed2 must be 2 x 2 (two arms per stage), got shape {data.allowed2.shape}")
    if np.any((data.a1 < 0) | (data.a1 >= k1)):
        raise PapergymError(f"a1 must hold arms in [0, {k1 - 1}], got {sorted(set(data.a1.tolist()))}")
    if np.any((data.a2 < -1) | (data.a2 >= k2)):
        raise PapergymError(f"a2 must hold arms in [-1, {k2 - 1}], got {sorted(set(data.a2.tolist()))}")
    treated = data.a2 >= 0
    if np.any(~data.allowed2[data.a1[treated], data.a2[treated]]):
        raise PapergymError("a2 holds second-line arms that allowed2 forbids after the logged a1")
    if np.any(data.remitted & treated):
        raise PapergymError("remitted patients must have a2 = -1 (no second-line treatment)")


def logistic_probability(features: np.ndarray, labels: np.ndarray, ridge: float = 1e-6,
                         iterations: int = 50) -> np.ndarray:
    """P(label = 1 | features) fitted by logistic regression with intercept (Newton's method)."""
    design = np.column_stack([np.ones(features.shape[0]), features])
    scale = np.maximum(np.abs(design).max(axis=0), 1e-12)
    design = design / scale
    weights = np.zeros(design.shape[1])
    for _ in range(iterations):
        probability = 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -35.0, 35.0)))
        gradient = design.T @ (labels - probability) - ridge * weights
        hessian = (design * (probability * (1.0 - probability))[:, None]).T @ design + ridge * np.eye(design.shape[1])
        step = np.linalg.solve(hessian, gradient)
        weights += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -35.0, 35.0)))


def propensities(data: LoggedData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p1, p0, p2) of every logged patient: the probabilities of what was logged (module docstring)."""
    first = logistic_probability(data.x1, (data.a1 == 1).astype(np.float64))
    p1 = np.where(data.a1 == 1, first, 1.0 - first)
    p0 = np.ones(len(data))
    at_risk = ~data.remitted
    if at_risk.any() and data.dropped_out.any():
        a1 = data.a1[:, None].astype(np.float64)
        features = np.column_stack([data.x1, a1, a1 * data.x1, data.x2])
        stays = logistic_probability(features[at_risk], (~data.dropped_out[at_risk]).astype(np.float64))
        p0[at_risk] = np.where(data.dropped_out[at_risk], 1.0 - stays, stays)
    p2 = np.ones(len(data))
    choice = data.has_choice()
    if choice.any():
        second = logistic_probability(data.x2[choice], (data.a2[choice] == 1).astype(np.float64))
        p2[choice] = np.where(data.a2[choice] == 1, second, 1.0 - second)
    return p1, p0, p2


def replay_weights(data: LoggedData, clip: float = 0.0) -> np.ndarray:
    """Sampling weights 1 / max(p1 p0 p2, clip)."""
    clip = require_real("clip", clip, low=0.0, high=1.0)
    p1, p0, p2 = propensities(data)
    return 1.0 / np.maximum(p1 * p0 * p2, max(clip, 1e-12))
