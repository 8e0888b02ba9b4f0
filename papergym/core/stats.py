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
    #: How the interval was made: "t" (Student t), "bootstrap" (percentile, for a non-negative quantity
    #: whose t interval crosses zero) or "none" (n = 1).
    method: str = "t"

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


def summarize(values, confidence: float = 0.95, *, nonnegative: bool = False) -> Summary:
    """Summarise a sample with a Student-t interval of the mean; with a single value there is no spread and
    no interval (``method="none"``; tables print none).

    ``nonnegative`` declares a quantity that cannot be negative (clicks, counts, costs): where its t interval
    would reach below zero, a percentile bootstrap interval (deterministic, 9,999 resamples) is used, which
    stays within the sample's range."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise PapergymError("summarize needs at least one value, got an empty sample")
    if not 0.0 < confidence < 1.0:
        raise PapergymError(f"confidence must be in (0, 1), got {confidence!r}")
    mean = float(values.mean())
    if values.size == 1:
        return Summary(mean, 0.0, mean, mean, 1, confidence, "none")
    from scipy import stats  # loaded on first use: importing papergym stays light

    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2.0, values.size - 1) * std / np.sqrt(values.size))
    if nonnegative and mean - half < 0.0 and std > 0.0:
        result = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=9_999,
                                 method="percentile", random_state=np.random.default_rng(0))
        interval = result.confidence_interval
        return Summary(mean, std, float(interval.low), float(interval.high), int(values.size), confidence,
                       "bootstrap")
    return Summary(mean, std, mean - half, mean + half, int(values.size), confidence)
