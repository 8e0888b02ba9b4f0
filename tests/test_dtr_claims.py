"""The dtr claims' checks on small hand-made records: every verdict each check can give."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit
from papergym.experiments.dtr import (
    AUTHORS_LINEAR_GAUSSIAN_DTR,
    CLAIMS,
    MAIN,
    PRESETS,
    SENSITIVITY,
    check_authors_regret,
    check_logarithmic,
    check_ordering,
    doubling_points,
    doubling_ratios,
)

PAPER = PRESETS["paper"]
QUICK = PRESETS["quick"]
PATHS = 6


def results(curves: dict[str, list[dict[int, float]]], settings=PAPER, preset: str = "beta-mixture",
            run_preset: str = "paper") -> Results:
    """Records of the main kind: per agent, one {patients: regret} dict per path (expected = realised)."""
    finished = []
    for agent, paths in curves.items():
        for path, regret in enumerate(paths):
            records = [{"preset": preset, "agent": agent, "path": path, "patients": t, "expected_regret": value,
                        "realised_regret": value} for t, value in regret.items()]
            finished.append(FinishedUnit(Unit(MAIN, path, {"preset": preset, "agent": agent}), records, 1.0))
    return Results(finished, run_preset)


def final(values, settings=PAPER) -> list[dict[int, float]]:
    return [{settings.horizon: float(value)} for value in values]


def growth(shape, settings=PAPER, noise=0.0, preset="beta-mixture") -> list[dict[int, float]]:
    """Regret curves shape(t) * (1 + noise * path-dependent factor) at the preset's doubling points."""
    points = doubling_points(settings, preset)
    return [{t: shape(t) * (1.0 + noise * math.sin(path + 1.0)) for t in points} for path in range(PATHS)]


def by_id(claim_id):
    return next(claim for claim in CLAIMS if claim.id == claim_id)


# --- the ordering claim -----------------------------------------------------------------------------


def test_ordering_reproduced_when_the_dtr_bandit_beats_both_rivals_on_every_path():
    dtr = np.linspace(100, 120, PATHS)
    curves = {"DTR bandit": final(dtr), "greedy": final(dtr + 50), "epsilon-greedy": final(dtr + 400)}
    found = check_ordering(PAPER, results(curves), preset="beta-mixture")
    assert found.verdict is Verdict.REPRODUCED
    assert found.measured.mean == pytest.approx(-50.0)  # the closer rival: greedy
    assert "epsilon-greedy" in found.reason


def test_ordering_contradicted_at_the_paper_protocol_and_not_shown_short_of_it():
    dtr = np.linspace(100, 120, PATHS)
    curves = {"DTR bandit": final(dtr), "greedy": final(dtr - 60), "epsilon-greedy": final(dtr + 400)}
    assert check_ordering(PAPER, results(curves), preset="beta-mixture").verdict is Verdict.CONTRADICTED
    assert by_id("beats-greedy-beta-mixture").evaluate(PAPER, results(curves)).verdict is Verdict.CONTRADICTED
    short = {name: [{QUICK.horizon: regret[PAPER.horizon]} for regret in paths] for name, paths in curves.items()}
    found = check_ordering(QUICK, results(short, QUICK, run_preset="quick"), preset="beta-mixture")
    assert found.verdict is Verdict.NOT_SHOWN and "paper: 10,000" in found.reason


def test_ordering_not_shown_when_the_interval_contains_zero():
    dtr = np.array([100.0, 110, 120, 130, 140, 150])
    greedy = dtr + np.array([-40.0, 40, -30, 30, -20, 20])
    found = check_ordering(PAPER, results({"DTR bandit": final(dtr), "greedy": final(greedy)}), preset="beta-mixture")
    assert found.verdict is Verdict.NOT_SHOWN and "includes 0" in found.reason


def test_ordering_missing_without_records_and_ours_on_depression():
    assert check_ordering(PAPER, results({"DTR bandit": final([1.0] * PATHS)}), preset="beta-mixture").verdict \
        is Verdict.NOT_SHOWN
    dtr = np.linspace(100, 120, PATHS)
    curves = {"DTR bandit": final(dtr), "greedy": final(dtr + 50)}
    assert by_id("beats-greedy-depression").evaluate(PAPER, results(curves, preset="depression")).verdict \
        is Verdict.NO_PAPER_FIGURE


def test_linear_gaussian_ordering_is_against_greedy_only():
    """The earlier version's linear-Gaussian study had no epsilon-greedy: a worse epsilon-greedy cannot help."""
    dtr = np.linspace(100, 120, PATHS)
    claim = by_id("beats-greedy-linear-gaussian")
    better = {"DTR bandit": final(dtr), "greedy": final(dtr + 50), "epsilon-greedy": final(dtr - 80)}
    found = claim.evaluate(PAPER, results(better, preset="linear-gaussian"))
    assert found.verdict is Verdict.REPRODUCED and "epsilon-greedy" not in found.reason
    worse = {"DTR bandit": final(dtr), "greedy": final(dtr - 50), "epsilon-greedy": final(dtr + 400)}
    assert claim.evaluate(PAPER, results(worse, preset="linear-gaussian")).verdict is Verdict.CONTRADICTED
    only_eps = {"DTR bandit": final(dtr), "epsilon-greedy": final(dtr + 400)}
    found = claim.evaluate(PAPER, results(only_eps, preset="linear-gaussian"))
    assert found.verdict is Verdict.NOT_SHOWN and "no records" in found.reason


# --- the authors' saved linear-Gaussian regret ----------------------------------------------------------


def authors(values, settings=PAPER, run_preset="paper"):
    return results({"DTR bandit": final(values, settings)}, settings, preset="linear-gaussian",
                   run_preset=run_preset)


def test_authors_regret_reproduced_within_tolerance():
    target = AUTHORS_LINEAR_GAUSSIAN_DTR[PAPER.horizon]
    assert target == pytest.approx(1120.6)
    found = by_id("regret-linear-gaussian").evaluate(PAPER, authors(target * np.linspace(1.05, 1.15, PATHS)))
    assert found.verdict is Verdict.REPRODUCED


def test_authors_regret_contradicted_at_the_paper_protocol_and_not_shown_short_of_it():
    target = AUTHORS_LINEAR_GAUSSIAN_DTR[PAPER.horizon]
    doubled = 2 * target * np.linspace(0.97, 1.03, PATHS)
    assert by_id("regret-linear-gaussian").evaluate(PAPER, authors(doubled)).verdict is Verdict.CONTRADICTED
    quick = 2 * AUTHORS_LINEAR_GAUSSIAN_DTR[QUICK.horizon] * np.linspace(0.97, 1.03, PATHS)
    found = check_authors_regret(QUICK, authors(quick, QUICK, "quick"), preset="linear-gaussian",
                                 targets=AUTHORS_LINEAR_GAUSSIAN_DTR)
    assert found.verdict is Verdict.NOT_SHOWN and "976.5" in found.reason and "paper: 10,000" in found.reason


def test_authors_regret_not_shown_off_the_read_horizons_or_without_records():
    other = PAPER.replace(horizon=7_000)
    found = check_authors_regret(other, authors([1000.0] * PATHS, other), preset="linear-gaussian",
                                 targets=AUTHORS_LINEAR_GAUSSIAN_DTR)
    assert found.verdict is Verdict.NOT_SHOWN and "read at T" in found.reason
    greedy_only = results({"greedy": final([1120.6] * PATHS)}, preset="linear-gaussian")
    found = check_authors_regret(PAPER, greedy_only, preset="linear-gaussian", targets=AUTHORS_LINEAR_GAUSSIAN_DTR)
    assert found.verdict is Verdict.NOT_SHOWN and "no records" in found.reason


# --- the logarithmic-growth claim ---------------------------------------------------------------------


def test_doubling_ratio_of_log_sqrt_and_linear_growth():
    for shape, ratio in ((lambda t: 5 * math.log(t), 1.0), (math.sqrt, math.sqrt(2)), (lambda t: 0.1 * t, 2.0)):
        ratios = doubling_ratios(results({"DTR bandit": growth(shape)}).records, "beta-mixture", "DTR bandit",
                                 doubling_points(PAPER, "beta-mixture"))
        assert ratios.size == PATHS and ratios == pytest.approx(ratio, rel=0.02)


def test_doubling_points_are_the_forced_block_starts():
    """(2^n - 1) K q with K = 4 sequences and q = 5 on beta-mixture: ..., 1260, 2540, 5100 <= 10,000."""
    assert doubling_points(PAPER, "beta-mixture") == (1260, 2540, 5100)
    assert doubling_points(PAPER, "beta-mixture", q=10) == (1240, 2520, 5080)
    assert doubling_points(PAPER.replace(horizon=50), "beta-mixture") == ()


def test_logarithmic_growth_reproduced():
    curves = {"DTR bandit": growth(lambda t: 20 * math.log(t), noise=0.1)}
    found = check_logarithmic(PAPER, results(curves), preset="beta-mixture")
    assert found.verdict is Verdict.REPRODUCED and found.measured.mean == pytest.approx(1.0, rel=0.02)


def test_linear_growth_contradicts_at_the_paper_protocol_and_is_not_shown_short_of_it():
    curves = {"DTR bandit": growth(lambda t: 0.1 * t)}
    assert check_logarithmic(PAPER, results(curves), preset="beta-mixture").verdict is Verdict.CONTRADICTED
    assert by_id("logarithmic-beta-mixture").evaluate(PAPER, results(curves)).verdict is Verdict.CONTRADICTED
    short = {"DTR bandit": growth(lambda t: 0.1 * t, QUICK)}
    assert doubling_points(QUICK, "beta-mixture") == (620, 1260, 2540)
    found = check_logarithmic(QUICK, results(short, QUICK, run_preset="quick"), preset="beta-mixture")
    assert found.verdict is Verdict.NOT_SHOWN and "paper: 10,000" in found.reason


def test_logarithmic_growth_not_shown_when_the_interval_contains_sqrt_2():
    first, middle, last = doubling_points(PAPER, "beta-mixture")
    paths = [{first: 0.0, middle: 10.0, last: 10.0 + late} for late in (5.0, 25.0, 10.0, 20.0, 12.0, 18.0)]
    found = check_logarithmic(PAPER, results({"DTR bandit": paths}), preset="beta-mixture")
    assert found.verdict is Verdict.NOT_SHOWN and "contains sqrt 2" in found.reason


def test_logarithmic_growth_missing_and_ours_on_depression():
    found = check_logarithmic(PAPER, results({"greedy": growth(math.log)}), preset="beta-mixture")
    assert found.verdict is Verdict.NOT_SHOWN and "no records" in found.reason
    curves = {"DTR bandit": growth(lambda t: 0.1 * t, preset="depression")}
    assert by_id("logarithmic-depression").check(PAPER, results(curves, preset="depression")).verdict \
        is Verdict.CONTRADICTED
    assert by_id("logarithmic-depression").evaluate(PAPER, results(curves, preset="depression")).verdict \
        is Verdict.NO_PAPER_FIGURE


def test_claims_pickle_for_worker_processes():
    for claim in CLAIMS:
        assert pickle.loads(pickle.dumps(claim)).id == claim.id


def test_claims_read_only_the_main_records():
    """Sensitivity units of the same preset do not enter the claims."""
    curves = results({"DTR bandit": growth(lambda t: 0.1 * t)})
    extra = FinishedUnit(Unit(SENSITIVITY, 0, {"preset": "beta-mixture", "q": 3, "h": 0.5}),
                         [{"preset": "beta-mixture", "agent": "DTR bandit", "path": 0, "patients": PAPER.horizon,
                           "expected_regret": 0.0, "realised_regret": 0.0, "q": 3, "h": 0.5}], 1.0)
    mixed = Results([*curves.finished, extra], "paper")
    measured = check_logarithmic(PAPER, mixed, preset="beta-mixture").measured
    assert measured.n == PATHS and measured.mean == pytest.approx(2.0, rel=0.02)
