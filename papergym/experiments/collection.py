"""Every reproduction into one folder, read as one report: ``papergym reproduce all``.

``DIR/NAME`` is each reproduction's own results folder (resumable as any, see
:mod:`papergym.experiments.runner`), and ``DIR/README.md`` the report of them all: for each paper its
claims table (paper vs ours vs verdict) and its plots as relative image links, so the folder reads as a
report on GitHub or in any Markdown viewer. ``DIR/claims-summary.md`` counts the verdicts per paper.
Both are rebuilt from the records alone by ``papergym report DIR``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from papergym.core.errors import PapergymError
from papergym.experiments import REPRODUCTIONS, get_reproduction
from papergym.experiments.claims import Verdict, evaluate_claims, markdown_claims, verdict_counts
from papergym.experiments.runner import (
    SETTINGS_FILE,
    check_output_folder,
    load_results,
    rebuild_report,
    run_reproduction,
)

README_FILE = "README.md"
SUMMARY_FILE = "claims-summary.md"


def selected(skip: Sequence[str] = ()) -> list[str]:
    """The reproductions to run, in the registry's order, less ``skip`` (unknown names are refused)."""
    unknown = sorted(set(skip) - set(REPRODUCTIONS))
    if unknown:
        raise PapergymError(f"--skip {', '.join(unknown)}: unknown reproduction(s); available: "
                            f"{', '.join(REPRODUCTIONS)}")
    names = [name for name in REPRODUCTIONS if name not in skip]
    if not names:
        raise PapergymError("--skip leaves no reproduction to run")
    return names


def run_all(out_dir: Path, *, preset: str = "quick", skip: Sequence[str] = (), seeds: int | None = None,
            workers: int | None = None, progress: bool = True, verbose: bool = True) -> str:
    """Run each selected reproduction's ``preset`` into ``out_dir/NAME``, then write the folder's README.

    Every preset and setting is checked before the first unit runs; each reproduction resumes on a rerun.
    """
    out_dir = Path(out_dir)
    plans = []
    for name in selected(skip):
        reproduction = get_reproduction(name)
        settings = reproduction.preset(preset)
        plans.append((reproduction, settings.replace(seeds=seeds) if seeds is not None else settings))
    check_output_folder(out_dir)
    for reproduction, settings in plans:
        if verbose:
            print(f"== {reproduction.name}: {reproduction.paper} (preset {preset}) into {out_dir / reproduction.name}")
        run_reproduction(reproduction, settings, out_dir / reproduction.name, preset=preset, workers=workers,
                         progress=progress, verbose=verbose)
    return write_collection(out_dir)


def is_collection(path: Path) -> bool:
    """Whether ``path`` is a folder of reproductions' results folders (``reproduce all``'s output)."""
    path = Path(path)
    return path.is_dir() and not (path / SETTINGS_FILE).exists() and bool(_members(path))


def _members(path: Path) -> list[Path]:
    return sorted((child for child in Path(path).iterdir() if (child / SETTINGS_FILE).is_file()),
                  key=lambda child: list(REPRODUCTIONS).index(child.name) if child.name in REPRODUCTIONS else 99)


def rebuild_collection(out_dir: Path, *, verbose: bool = True) -> str:
    """``papergym report DIR`` on a ``reproduce all`` folder: every member's report, then the README."""
    for member in _members(out_dir):
        rebuild_report(member, verbose=verbose)
    return write_collection(out_dir)


def write_collection(out_dir: Path) -> str:
    """Write ``README.md`` and ``claims-summary.md`` of a folder of results folders; return the summary."""
    out_dir = Path(out_dir)
    sections, summary_rows = [], []
    for member in _members(out_dir):
        reproduction, settings, results = load_results(member)
        findings = evaluate_claims(reproduction.claims, settings, results)
        counts = verdict_counts(findings)
        summary_rows.append(f"| {reproduction.name} | {results.preset} | "
                            + " | ".join(str(counts[verdict]) for verdict in Verdict) + " |")
        images = "\n\n".join(f"![{image.stem}]({member.name}/{image.name})" for image in sorted(member.glob("*.png")))
        sections.append("\n\n".join(filter(None, [
            f"## {reproduction.name}: {reproduction.paper}",
            f"{reproduction.description}. Preset `{results.preset}`; full report: "
            f"[{member.name}/report.txt]({member.name}/report.txt).",
            markdown_claims(findings) if findings else "No claims declared.",
            images,
        ])))
    summary = "\n".join(["| reproduction | preset | " + " | ".join(str(verdict) for verdict in Verdict) + " |",
                         "|---|---|" + "---:|" * len(Verdict), *summary_rows])
    (out_dir / SUMMARY_FILE).write_text(summary + "\n")
    readme = "\n\n".join(["# papergym reproductions", "Verdicts per paper, from the records of each folder:",
                          summary, *sections])
    (out_dir / README_FILE).write_text(readme + "\n")
    return summary
