"""The robust reproduction's claims, checked on small hand-made records: each verdict each check can give."""

from __future__ import annotations

import pytest

from papergym.experiments import robust as experiment
from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit

CLAIMS = {claim.id: claim for claim in experiment.CLAIMS}
PAPER = experiment.PRESETS["paper"]
QUICK = experiment.PRESETS["quick"]


def _results(worst_cases: dict[str, dict[str, list[float]]], preset: str) -> Results:
    """Summary records: ``worst_cases[env][method][seed]``, one unit per (env, method, seed)."""
    finished = []
    for env, methods in worst_cases.items():
        for method, values in methods.items():
            for seed, value in enumerate(values):
                record = {"kind": "summary", "env": env, "method": method, "seed": seed, "worst_case": value,
                          "average": value + 10.0, "timesteps": 1, "worst_params": ""}
                unit = Unit(experiment.METHOD_KINDS[method], seed, {"env": env})
                finished.append(FinishedUnit(unit, [record], 1.0))
    return Results(finished, preset)


def _evaluate(claim_id: str, worst_cases, settings=PAPER, preset: str = "paper"):
    return CLAIMS[claim_id].evaluate(settings, _results(worst_cases, preset))


ABOVE = [10.0, 11.0, 12.0, 10.5]
BELOW = [1.0, 2.0, 1.5, 2.5]
MIXED = [12.0, 0.0, 11.0, 1.0]


@pytest.mark.parametrize("claim_id, baseline", [("iwocs-beats-nominal", "nominal"),
                                                ("iwocs-beats-domain-randomisation", "domain randomisation")])
def test_iwocs_beats_a_baseline_per_environment_paired_by_seed(claim_id, baseline):
    both = {"hopper": {"IWOCS": ABOVE, baseline: BELOW}, "walker2d": {"IWOCS": ABOVE, baseline: BELOW}}
    finding = _evaluate(claim_id, both)
    assert finding.verdict is Verdict.REPRODUCED and "walker2d" in finding.reason
    # One environment where the interval includes zero: not shown, whatever the others say.
    finding = _evaluate(claim_id, {**both, "walker2d": {"IWOCS": MIXED, baseline: [6.0] * 4}})
    assert finding.verdict is Verdict.NOT_SHOWN and finding.reason.startswith("walker2d")
    # One environment where the baseline is better, at the paper's protocol: contradicted.
    reversed_ = {**both, "ant": {"IWOCS": BELOW, baseline: ABOVE}}
    finding = _evaluate(claim_id, reversed_)
    assert finding.verdict is Verdict.CONTRADICTED and finding.reason.startswith("ant")
    assert finding.measured.mean < 0 and finding.measured.n == 4
    # The same records at the quick preset's settings: not shown, with why.
    finding = _evaluate(claim_id, reversed_, settings=QUICK, preset="quick")
    assert finding.verdict is Verdict.NOT_SHOWN and "not the paper's MuJoCo sets" in finding.reason
    # Seeds pair: a baseline run on other seeds, or no IWOCS, is missing.
    assert _evaluate(claim_id, {"hopper": {"IWOCS": ABOVE}}).verdict is Verdict.NOT_SHOWN
    assert "no records" in _evaluate(claim_id, {"hopper": {baseline: BELOW}}).reason
    assert _evaluate(claim_id, {"hopper": {"IWOCS": ABOVE[:1], baseline: BELOW[:1]}}).verdict is Verdict.NOT_SHOWN


def test_the_equal_total_comparison_is_ours():
    baseline = "domain randomisation (equal total)"
    for values in (BELOW, ABOVE):
        finding = _evaluate("iwocs-beats-domain-randomisation-equal-total", {"hopper": {"IWOCS": ABOVE,
                                                                                        baseline: values}})
        assert finding.verdict is Verdict.NO_PAPER_FIGURE and finding.measured is not None


def test_the_quick_preset_is_short_of_the_paper_and_the_paper_preset_is_not():
    assert experiment._short_of_paper(PAPER) == ""
    assert "budget" in experiment._short_of_paper(QUICK) and "2 IWOCS iterations" in experiment._short_of_paper(QUICK)
