"""A paper's claims as data, checked from a reproduction's records alone.

A :class:`Claim` is declared beside a reproduction's settings: an id, the claim in one sentence, the
paper's figure(s) in words and where they come from (a table or figure of the paper; where the paper's
text was not read, the authors' public code or saved results with repository, file and commit), the
presets at which it is meant to hold, and a check. The check reads the :class:`~papergym.experiments.
contract.Results` (never the runner's seconds, which differ between machines) and returns a
:class:`Finding`: a :class:`Verdict`, the measured value with its 95% CI and n, and one line of reason.
So ``papergym report DIR`` gives the same verdicts on any machine.

Verdicts:

- ``reproduced``: our measurement shows the claim (e.g. the 95% CI of a paired difference lies on the
  paper's side of zero);
- ``not shown at this preset``: our measurement neither shows nor contradicts it (CI across zero, a
  horizon or budget below the paper's, too few seeds), with why;
- ``contradicted``: our measurement shows the opposite at a preset where the claim is meant to hold (a
  contradiction at any other preset is reported as not shown, with the evidence in the reason);
- ``no paper figure``: a claim of ours that the paper does not make (e.g. the multi-agent auction's).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from papergym.core.stats import Summary, summarize
from papergym.experiments.contract import Record, Results, Settings


class Verdict(str, enum.Enum):
    REPRODUCED = "reproduced"
    NOT_SHOWN = "not shown at this preset"
    CONTRADICTED = "contradicted"
    NO_PAPER_FIGURE = "no paper figure"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finding:
    """A claim's verdict on some records: the verdict, the measured value (mean, 95% CI, n) and why."""

    verdict: Verdict
    reason: str
    measured: Summary | None = None

    def measured_text(self) -> str:
        if self.measured is None:
            return "-"
        summary = self.measured
        if summary.n < 2:
            return f"{summary.mean:.4g} (n={summary.n})"
        return f"{summary.mean:.4g} [{summary.ci_low:.4g}, {summary.ci_high:.4g}] (n={summary.n})"


Check = Callable[[Settings, Results], Finding]


@dataclass(frozen=True)
class Claim:
    """One claim of a paper (or of ours, with ``paper=""``), its source, and the check over the records.

    ``paper`` is the paper's figure in words ("71 clicks", "lowest regret of all learners"), ``source``
    where it comes from ("Table 3", "Figure 2 (top)", or "authors' code: owner/repo, path, commit ..."),
    ``presets`` the presets at which it is meant to hold. ``check`` must be a module-level function (or a
    ``functools.partial`` of one): claims travel with their reproduction to worker processes.
    """

    id: str
    sentence: str
    paper: str
    source: str
    presets: tuple[str, ...]
    check: Check
    #: The fewest independent samples (seeds, paths) from which a verdict is stated.
    min_n: int = 2

    def __post_init__(self) -> None:
        for name in ("id", "sentence", "source"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise TypeError(f"claim {self.id!r}: {name} must be a non-empty string")
        if not self.presets:
            raise TypeError(f"claim {self.id!r}: name the presets at which it is meant to hold")

    @property
    def ours(self) -> bool:
        """A claim the paper does not make: its verdict is always ``no paper figure``."""
        return not self.paper.strip()

    def evaluate(self, settings: Settings, results: Results) -> Finding:
        """The check's finding, with the contract's rules on claims of ours and on presets applied."""
        finding = self.check(settings, results)
        if self.ours:
            return Finding(Verdict.NO_PAPER_FIGURE, finding.reason, finding.measured)
        decisive = finding.verdict in (Verdict.REPRODUCED, Verdict.CONTRADICTED)
        if decisive and finding.measured is not None and finding.measured.n < self.min_n:
            reason = (f"n = {finding.measured.n}, fewer than the {self.min_n} samples this claim needs for a "
                      f"verdict (run more seeds): {finding.reason}")
            return Finding(Verdict.NOT_SHOWN, reason, finding.measured)
        if finding.verdict is Verdict.CONTRADICTED and results.preset not in self.presets:
            reason = f"preset {results.preset}, not one of {', '.join(self.presets)}: {finding.reason}"
            return Finding(Verdict.NOT_SHOWN, reason, finding.measured)
        return finding


def evaluate_claims(claims: Iterable[Claim], settings: Settings, results: Results) -> list[tuple[Claim, Finding]]:
    """Every claim with its finding on these results."""
    return [(claim, claim.evaluate(settings, results)) for claim in claims]


# --- building findings ------------------------------------------------------------------------------


def missing(what: str) -> Finding:
    """The finding of a claim whose records are not in the results (e.g. a case left out by --set)."""
    return Finding(Verdict.NOT_SHOWN, f"no records of {what} in these results")


def sign_test(samples: Sequence[float], *, claimed: str, what: str, short_of_paper: str = "") -> Finding:
    """The verdict on a claimed sign of a mean (``claimed`` is ``"positive"`` or ``"negative"``).

    Reproduced when the 95% CI lies on the claimed side of zero, contradicted when it lies on the other,
    not shown otherwise. ``short_of_paper`` says why this run is not the paper's (horizon, budget, seeds):
    a non-reproduced verdict carries it, and a contradiction with it is reported as not shown.
    """
    if claimed not in ("positive", "negative"):
        raise TypeError(f"claimed must be 'positive' or 'negative', got {claimed!r}")
    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        return missing(what)
    summary = summarize(values)
    sign = 1.0 if claimed == "positive" else -1.0
    low, high = sorted((sign * summary.ci_low, sign * summary.ci_high))
    side = ">" if claimed == "positive" else "<"
    if summary.n < 2:
        return Finding(Verdict.NOT_SHOWN, f"{what}: one sample, no interval{_why(short_of_paper)}", summary)
    if low > 0:
        return Finding(Verdict.REPRODUCED, f"{what} {side} 0: the 95% CI excludes 0", summary)
    if high < 0:
        verdict = Verdict.NOT_SHOWN if short_of_paper else Verdict.CONTRADICTED
        return Finding(verdict, f"{what} is on the other side of 0 (95% CI){_why(short_of_paper)}", summary)
    return Finding(Verdict.NOT_SHOWN, f"{what}: the 95% CI includes 0{_why(short_of_paper)}", summary)


def matches(samples: Sequence[float], target: float, *, tolerance: float, what: str,
            short_of_paper: str = "") -> Finding:
    """The verdict on a claimed value: reproduced when the 95% CI meets [target - tolerance, target +
    tolerance], contradicted when the whole CI is outside it, with ``short_of_paper`` as in :func:`sign_test`."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        return missing(what)
    summary = summarize(values)
    if summary.n < 2:
        return Finding(Verdict.NOT_SHOWN, f"{what}: one sample, no interval{_why(short_of_paper)}", summary)
    low, high = target - tolerance, target + tolerance
    if summary.ci_high >= low and summary.ci_low <= high:
        return Finding(Verdict.REPRODUCED, f"{what} within {tolerance:.3g} of the claimed {target:.4g}", summary)
    verdict = Verdict.NOT_SHOWN if short_of_paper else Verdict.CONTRADICTED
    return Finding(verdict, f"{what} differs from the claimed {target:.4g} by more than {tolerance:.3g}"
                   f"{_why(short_of_paper)}", summary)


def _why(short_of_paper: str) -> str:
    return f" ({short_of_paper})" if short_of_paper else ""


def paired(records: Sequence[Record], value: str, *, by: str, first: Any, second: Any,
           pair_on: str | Sequence[str] = "seed", where: Mapping[str, Any] | None = None) -> np.ndarray:
    """``value`` of ``by == first`` minus that of ``by == second``, paired on ``pair_on`` (e.g. the seed),
    over the records matching ``where``; pairs with one side missing are dropped."""
    keys = [pair_on] if isinstance(pair_on, str) else list(pair_on)
    where = dict(where or {})
    sides: dict[Any, dict[Any, float]] = {first: {}, second: {}}
    for record in records:
        if record.get(by) in sides and all(record.get(name) == wanted for name, wanted in where.items()):
            sides[record[by]][tuple(record[key] for key in keys)] = float(record[value])
    common = [key for key in sides[first] if key in sides[second]]
    return np.array([sides[first][key] - sides[second][key] for key in common], dtype=np.float64)


def values(records: Sequence[Record], value: str, **where: Any) -> np.ndarray:
    """``value`` of the records whose fields equal ``where``."""
    return np.array([float(record[value]) for record in records
                     if all(record.get(name) == wanted for name, wanted in where.items())], dtype=np.float64)


# --- presenting ----------------------------------------------------------------------------------

COLUMNS = ("claim", "paper", "ours [95% CI] (n)", "verdict", "reason")


def claim_rows(findings: Sequence[tuple[Claim, Finding]]) -> list[list[str]]:
    return [[f"{claim.id}: {claim.sentence}", f"{claim.paper or '-'} ({claim.source})", finding.measured_text(),
             str(finding.verdict), finding.reason] for claim, finding in findings]


def format_claims(findings: Sequence[tuple[Claim, Finding]], title: str = "Claims") -> str:
    """A plain-text claims table: one block per claim (the cells are too long for one line each)."""
    if not findings:
        return f"{title}: none declared"
    lines = [title]
    for row in claim_rows(findings):
        lines.append(f"- [{row[3]}] {row[0]}")
        lines.append(f"    paper: {row[1]}")
        lines.append(f"    ours:  {row[2]}")
        lines.append(f"    why:   {row[4]}")
    return "\n".join(lines)


def markdown_claims(findings: Sequence[tuple[Claim, Finding]]) -> str:
    """The claims table in Markdown (for a results folder's README)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in claim_rows(findings):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def verdict_counts(findings: Sequence[tuple[Claim, Finding]]) -> dict[Verdict, int]:
    counts = dict.fromkeys(Verdict, 0)
    for _, finding in findings:
        counts[finding.verdict] += 1
    return counts
