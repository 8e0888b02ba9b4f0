"""IWOCS's worst-case search over the box of an uncertainty set: the vertices, then CMA-ES with restarts
(:func:`cma_worst_case`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from papergym.core.seeding import stream_rng, stream_seed
from papergym.core.validation import require_int
from papergym.envs.robust.parametric import UncertaintySet


@dataclass
class SearchResult:
    """The lowest value found by a worst-case search, where, and every evaluation made (in order)."""

    params: dict[str, float]
    value: float
    evaluations: int
    history: list[tuple[dict[str, float], float]] = field(default_factory=list)
    restarts: int = 0


def cma_worst_case(objective: Callable[[list[dict[str, float]]], np.ndarray], uncertainty_set: UncertaintySet,
                   budget: int = 40, *, seed: int = 0, sigma0: float = 0.3, popsize: int | None = None,
                   candidates: list[dict[str, float]] | None = None, vertices: bool = True) -> SearchResult:
    """Minimise ``objective`` over the box of ``uncertainty_set``: the vertices, then CMA-ES with restarts.

    ``objective`` maps a list of parameter dicts to their values (a whole population at once).
    ``candidates`` (e.g. the models already solved) are evaluated first, in addition to the budget. Worst
    cases of physical parameter boxes often sit at a vertex, so the 2^d vertices are evaluated next (with
    ``vertices``; counted in the budget). CMA-ES (the ``cma`` package, in [0, 1]^d with its bound handling)
    then starts from the worst vertex (the centre without vertices) with step ``sigma0``; whenever it stops
    (a flat objective, e.g. a capped return, stops it after one generation) it restarts, from the next
    vertex in order of value and then from uniform random points, until ``budget`` evaluations are spent.
    The best point ever evaluated is returned (the first one among equal values). CMA-ES needs d >= 2: a
    1-D set is searched with a second, ignored coordinate.
    """
    import cma

    budget = require_int("budget", budget, low=2)
    seed = require_int("seed", seed, low=0)
    dim = uncertainty_set.dim
    history: list[tuple[dict[str, float], float]] = []

    def evaluate_points(points: list[dict[str, float]]) -> np.ndarray:
        values = np.asarray(objective(points), dtype=np.float64)
        history.extend(zip(points, values.tolist()))
        return values

    if candidates:
        evaluate_points([dict(point) for point in candidates])
    limit = len(history) + budget
    starts: list[np.ndarray] = []
    if vertices:
        corners = uncertainty_set.corners()[:budget]
        corner_values = evaluate_points(corners)
        starts = [_to_unit(uncertainty_set, corners[i]) for i in np.argsort(corner_values, kind="stable")]
    else:
        starts = [np.full(dim, 0.5)]
    rng = stream_rng(seed, "cma", 0, "restart-points")
    restarts = 0
    while len(history) < limit:
        x0 = np.full(max(dim, 2), 0.5)
        x0[:dim] = starts[restarts] if restarts < len(starts) else rng.uniform(0.0, 1.0, dim)
        options = {"bounds": [0.0, 1.0], "seed": stream_seed(seed, "cma", restarts, "cma") or 1, "verbose": -9,
                   "maxfevals": limit - len(history)}
        if popsize is not None:
            options["popsize"] = require_int("popsize", popsize, low=2)
        # (cma takes a seed of 0 for a time-based one, hence "or 1" above.)
        strategy = cma.CMAEvolutionStrategy(x0.tolist(), sigma0, options)
        while not strategy.stop() and len(history) < limit:
            population = strategy.ask()[: limit - len(history)]
            values = evaluate_points([uncertainty_set.from_unit(np.asarray(x)[:dim]) for x in population])
            if len(population) == strategy.popsize:
                strategy.tell(population, values.tolist())
        restarts += 1
    best = int(np.argmin([value for _, value in history]))
    return SearchResult(dict(history[best][0]), float(history[best][1]), len(history), history, restarts)


def _span(uncertainty_set: UncertaintySet) -> np.ndarray:
    return np.where(uncertainty_set.high > uncertainty_set.low, uncertainty_set.high - uncertainty_set.low, 1.0)


def _to_unit(uncertainty_set: UncertaintySet, params: Mapping[str, float]) -> np.ndarray:
    """Coordinates of ``params`` in [0, 1]^d (0 = lower bound, 1 = upper bound)."""
    return np.clip((uncertainty_set.to_vector(params) - uncertainty_set.low) / _span(uncertainty_set), 0.0, 1.0)
