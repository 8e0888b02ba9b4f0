"""Summary statistics with confidence intervals, for tables of results over episodes or seeds."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from papergym.core.errors import PapergymError


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and a Student-t confidence interval of the mean."""

    mean: float
    std: float
    ci_low: float
    ci_high: float
    n: int
    confidence: float

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


def summarize(values, confidence: float = 0.95) -> Summary:
    """Summarise a sample; with a single value the interval collapses to the point (no spread known)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise PapergymError("summarize needs at least one value, got an empty sample")
    if not 0.0 < confidence < 1.0:
        raise PapergymError(f"confidence must be in (0, 1), got {confidence!r}")
    mean = float(values.mean())
    if values.size == 1:
        return Summary(mean, 0.0, mean, mean, 1, confidence)
    from scipy import stats  # loaded on first use: importing papergym stays light

    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2.0, values.size - 1) * std / np.sqrt(values.size))
    return Summary(mean, std, mean - half, mean + half, int(values.size), confidence)
