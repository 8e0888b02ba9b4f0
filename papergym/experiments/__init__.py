"""Reproductions of the papers' comparisons, run by ``papergym reproduce <name>``.

Each module of this package that defines ``REPRODUCTION = Reproduction(...)`` (see
:mod:`papergym.experiments.contract`: settings presets, units, a report) is one reproduction; it is found
by name, so adding a paper's reproduction touches no shared file. Modules import their heavy dependencies
(torch, SB3, matplotlib) inside their units and reports so that listing reproductions stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

from papergym.core.errors import PapergymError
from papergym.experiments.contract import Reproduction, Settings, Unit

__all__ = ["Reproduction", "Settings", "Unit", "get_reproduction", "reproductions"]


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
    """The reproduction called ``name``; :class:`PapergymError` lists the known names otherwise."""
    available = reproductions()
    if name not in available:
        raise PapergymError(f"unknown reproduction {name!r}; available: {', '.join(available)}")
    return available[name]
