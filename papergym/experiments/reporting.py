"""Tables with confidence intervals, CSV written as results arrive, and plot helpers."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from papergym.core.stats import Summary, summarize


class CsvLog:
    """Append rows to a CSV file as they are produced, so a long run loses nothing if it stops."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="") as handle:
            csv.writer(handle).writerow(self.columns)

    def append(self, row: Mapping[str, Any]) -> None:
        missing = set(self.columns) - set(row)
        if missing:
            raise TypeError(f"row lacks the columns {sorted(missing)}")
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow([row[column] for column in self.columns])


def write_csv(path: Path, records: Sequence[Mapping[str, Any]]) -> Path:
    """Write records (flat dicts) as a CSV file, columns in order of first appearance."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(column for record in records for column in record))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    return path


def group_values(records: Sequence[Mapping[str, Any]], by: str | Sequence[str], value: str) -> dict[Any, list[float]]:
    """The ``value`` of every record grouped by the ``by`` column(s), groups in order of first appearance."""
    columns = [by] if isinstance(by, str) else list(by)
    groups: dict[Any, list[float]] = {}
    for record in records:
        key = record[columns[0]] if len(columns) == 1 else tuple(record[column] for column in columns)
        groups.setdefault(key, []).append(float(record[value]))
    return groups


def summary_table(samples: Mapping[str, Sequence[float]], confidence: float = 0.95, *,
                  nonnegative: bool = False) -> dict[str, Summary]:
    """Summarise each named sample (e.g. one value per seed) with a confidence interval; ``nonnegative`` for
    quantities that cannot be negative (see :func:`~papergym.core.stats.summarize`)."""
    return {name: summarize(values, confidence, nonnegative=nonnegative) for name, values in samples.items()}


def format_table(title: str, summaries: Mapping[str, Summary], value_name: str = "mean",
                 extra_columns: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A plain-text table: one row per entry with mean, std, confidence interval and n."""
    extra_columns = extra_columns or {}
    header = ["", value_name, "std", f"{int(100 * _confidence(summaries))}% CI", "n", *extra_columns]
    rows = [header]
    for name, summary in summaries.items():
        rows.append([name, f"{summary.mean:.4g}", *_spread_cells(summary), str(summary.n),
                     *(column.get(name, "") for column in extra_columns.values())])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    if any(summary.n < 2 for summary in summaries.values()):
        title += "\n(n = 1: one sample has no spread, so no std or interval is printed; run more seeds)"
    if any(summary.method == "bootstrap" for summary in summaries.values()):
        title += "\n(a non-negative quantity whose t interval would cross 0: percentile bootstrap interval)"
    lines = [title, "  ".join(cell.ljust(width) for cell, width in zip(rows[0], widths))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows[1:]]
    return "\n".join(lines)


def _spread_cells(summary: Summary) -> tuple[str, str]:
    """The std and interval cells: none for n < 2; spread below the mean's rounding noise printed as 0."""
    if summary.n < 2:
        return "-", "-"
    scale = max(abs(summary.mean), abs(summary.ci_low), abs(summary.ci_high))
    std = 0.0 if summary.std <= 1e-12 * scale else summary.std
    return f"{std:.3g}", f"[{summary.ci_low:.4g}, {summary.ci_high:.4g}]"


def _confidence(summaries: Mapping[str, Summary]) -> float:
    return next(iter(summaries.values())).confidence if summaries else 0.95


def off_scale(means: Sequence[float], factor: float = 50.0) -> list[bool]:
    """Which bars would hide the others: a mean more than ``factor`` times the median magnitude of all."""
    magnitudes = sorted(abs(mean) for mean in means)
    median = magnitudes[len(magnitudes) // 2] if magnitudes else 0.0
    return [median > 0 and abs(mean) > factor * median for mean in means]


def bar_plot(path: Path, summaries: Mapping[str, Summary], ylabel: str, title: str) -> None:
    """A bar chart of means with confidence-interval error bars, saved as PNG.

    A bar off the others' scale (:func:`off_scale`) is cut at the axis edge and labelled with its mean, so
    the other bars stay readable."""
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    names = list(summaries)
    means = [summaries[name].mean for name in names]
    errors = [0.0 if summaries[name].n < 2 else summaries[name].half_width for name in names]
    cut = off_scale(means)
    figure, axes = plt.subplots(figsize=(1.5 + 1.2 * len(names), 4))
    axes.bar(names, means, yerr=[0.0 if c else e for c, e in zip(cut, errors)], capsize=4, color="tab:blue",
             alpha=0.8)
    if any(cut):
        kept = [(m - e, m + e) for m, e, c in zip(means, errors, cut) if not c]
        low, high = min(0.0, *(k[0] for k in kept)), max(0.0, *(k[1] for k in kept))
        margin = 0.15 * (high - low or 1.0)
        axes.set_ylim(low - margin, high + margin)
        for index, (mean, c) in enumerate(zip(means, cut)):
            if c:
                edge = low - margin / 2 if mean < 0 else high + margin / 2
                axes.text(index, edge, f"{mean:.4g} (off scale)", ha="center", va="center", fontsize=8,
                          bbox={"facecolor": "white", "edgecolor": "none"})
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    figure.autofmt_xdate(rotation=20)
    save_figure(figure, path)
