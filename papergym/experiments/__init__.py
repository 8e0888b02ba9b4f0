"""Reproductions of the papers' comparisons, run by ``papergym reproduce <name>``.

Each reproduction is one module defining ``REPRODUCTION = Reproduction(...)`` (see
:mod:`papergym.experiments.contract`), listed by name in :data:`REPRODUCTIONS`, so that running one
imports that module alone. A new paper's reproduction is a module and one line here.
"""

from __future__ import annotations

import importlib

from papergym.core.errors import PapergymError
from papergym.experiments.contract import Reproduction, Settings, Unit

__all__ = ["REPRODUCTIONS", "Reproduction", "Settings", "Unit", "get_reproduction", "reproductions"]

#: Every reproduction's name and the module that defines it.
REPRODUCTIONS = {
    "lqg": "papergym.experiments.lqg",
    "dlb": "papergym.experiments.dlb",
    "ttpois": "papergym.experiments.ttpois",
    "dtr": "papergym.experiments.dtr",
    "breaks": "papergym.experiments.breaks",
    "threebody": "papergym.experiments.threebody",
    "auction": "papergym.experiments.auction",
    "rtb": "papergym.experiments.rtb",
    "robust": "papergym.experiments.robust",
}


def get_reproduction(name: str) -> Reproduction:
    """The reproduction called ``name`` (importing its module alone); :class:`PapergymError` lists the
    known names otherwise."""
    if name not in REPRODUCTIONS:
        raise PapergymError(f"unknown reproduction {name!r}; available: {', '.join(REPRODUCTIONS)}")
    reproduction = importlib.import_module(REPRODUCTIONS[name]).REPRODUCTION
    if reproduction.name != name:
        raise RuntimeError(f"{REPRODUCTIONS[name]} defines reproduction {reproduction.name!r}, listed as {name!r}")
    return reproduction


def reproductions() -> dict[str, Reproduction]:
    """All reproductions by name (imports every reproduction module)."""
    return {name: get_reproduction(name) for name in REPRODUCTIONS}
