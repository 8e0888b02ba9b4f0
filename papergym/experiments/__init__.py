"""Reproductions of the papers' comparisons, run by ``papergym reproduce <name>``.

Each module of this package that defines ``REPRODUCTION = Reproduction(...)`` is one reproduction; it is
found by name, so adding a paper's reproduction touches no shared file. Modules import their heavy
dependencies (torch, SB3) inside ``run`` so that listing reproductions stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Reproduction:
    """A paper's comparison: ``run(out_dir, quick)`` prints its table and writes CSV/JSON and plots."""

    name: str
    paper: str
    description: str
    run: Callable[[Path, bool], None]


def reproductions() -> dict[str, Reproduction]:
    """All reproductions by name, discovered from the modules of this package."""
    found: dict[str, Reproduction] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        reproduction = getattr(module, "REPRODUCTION", None)
        if isinstance(reproduction, Reproduction):
            found[reproduction.name] = reproduction
    return dict(sorted(found.items()))


def get_reproduction(name: str) -> Reproduction:
    """The reproduction called ``name``; ``ValueError`` lists the known names otherwise."""
    available = reproductions()
    if name not in available:
        raise ValueError(f"unknown reproduction {name!r}; available: {', '.join(available)}")
    return available[name]
