"""The robust reproduction's claims, checked on small hand-made records: each verdict each check can give."""

from __future__ import annotations

import pickle

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

#: The paper's claims that IWOCS is above a baseline (trained with IWOCS's whole budget), on two of their
#: environments.
ABOVE_CLAIMS = [("iwocs-beats-nominal", "nominal (equal total)", ("hopper", "walker2d")),
                ("iwocs-beats-domain-randomisation-equal-total", "domain randomisation (equal total)",
                 ("hopper", "walker2d"))]


def test_every_claim_has_its_source_and_pickles():
    for claim in experiment.CLAIMS:
        assert pickle.loads(pickle.dumps(claim.check)).keywords == claim.check.keywords
        if not claim.ours:
            assert "Table 1" in claim.source and "2410.06212" in claim.source
    assert "not read" not in " ".join(claim.paper + claim.source for claim in experiment.CLAIMS)


@pytest.mark.parametrize("claim_id, baseline, envs", ABOVE_CLAIMS)
def test_iwocs_above_a_baseline_per_environment_paired_by_seed(claim_id, baseline, envs):
    first, second = envs
    both = {first: {"IWOCS": ABOVE, baseline: BELOW}, second: {"IWOCS": ABOVE, baseline: BELOW}}
    finding = _evaluate(claim_id, both)
    assert finding.verdict is Verdict.REPRODUCED and second in finding.reason
    # One environment where the interval includes zero: not shown, whatever the others say.
    finding = _evaluate(claim_id, {**both, second: {"IWOCS": MIXED, baseline: [6.0] * 4}})
    assert finding.verdict is Verdict.NOT_SHOWN and finding.reason.startswith(second)
    # One environment where the baseline is better, at the paper's protocol: contradicted.
    reversed_ = {**both, "inverted_pendulum_2d": {"IWOCS": BELOW, baseline: ABOVE}}
    finding = _evaluate(claim_id, reversed_)
    assert finding.verdict is Verdict.CONTRADICTED and finding.reason.startswith("inverted_pendulum_2d")
    assert finding.measured.mean < 0 and finding.measured.n == 4
    # The same records at the quick preset's settings: not shown, with why.
    finding = _evaluate(claim_id, reversed_, settings=QUICK, preset="quick")
    assert finding.verdict is Verdict.NOT_SHOWN and "not the paper's MuJoCo sets" in finding.reason
    # Seeds pair: a baseline run on other seeds, or no IWOCS, is missing.
    assert _evaluate(claim_id, {first: {"IWOCS": ABOVE}}).verdict is Verdict.NOT_SHOWN
    assert "no records" in _evaluate(claim_id, {first: {baseline: BELOW}}).reason
    assert _evaluate(claim_id, {first: {"IWOCS": ABOVE[:1], baseline: BELOW[:1]}}).verdict is Verdict.NOT_SHOWN


@pytest.mark.parametrize("claim_id, baseline, envs", ABOVE_CLAIMS)
def test_records_of_other_environments_are_measured_but_not_shown(claim_id, baseline, envs):
    # The quick preset's environments: even a clear win there does not show the paper's claim.
    finding = _evaluate(claim_id, {"pendulum": {"IWOCS": ABOVE, baseline: BELOW}}, settings=QUICK, preset="quick")
    assert finding.verdict is Verdict.NOT_SHOWN and finding.measured.mean > 0
    assert "no records of" in finding.reason and "not the paper's MuJoCo sets" in finding.reason
    # The quick preset runs no equal-total nominal agent: not shown, with why.
    finding = _evaluate(claim_id, {"pendulum": {"IWOCS": ABOVE}}, settings=QUICK, preset="quick")
    assert finding.verdict is Verdict.NOT_SHOWN and "not the paper's MuJoCo sets" in finding.reason


def test_iwocs_above_dr_leaves_out_the_environments_where_the_paper_has_dr_higher():
    baseline = "domain randomisation (equal total)"
    records = {"hopper": {"IWOCS": ABOVE, baseline: BELOW}, "halfcheetah": {"IWOCS": BELOW, baseline: ABOVE},
               "ant": {"IWOCS": BELOW, baseline: ABOVE}}
    finding = _evaluate("iwocs-beats-domain-randomisation-equal-total", records)
    assert finding.verdict is Verdict.REPRODUCED and "halfcheetah" not in finding.reason
    # A paper run of HalfCheetah alone: the claim's environments are absent, so not shown.
    finding = _evaluate("iwocs-beats-domain-randomisation-equal-total", {"halfcheetah": records["halfcheetah"]})
    assert finding.verdict is Verdict.NOT_SHOWN and "no records of hopper" in finding.reason


def test_dr_above_iwocs_on_halfcheetah():
    claim_id = "domain-randomisation-equal-total-beats-iwocs-on-halfcheetah"
    baseline = "domain randomisation (equal total)"
    finding = _evaluate(claim_id, {"halfcheetah": {"IWOCS": BELOW, baseline: ABOVE},
                                   "hopper": {"IWOCS": ABOVE, baseline: BELOW}})
    assert finding.verdict is Verdict.REPRODUCED and finding.measured.mean < 0 and "hopper" not in finding.reason
    finding = _evaluate(claim_id, {"halfcheetah": {"IWOCS": ABOVE, baseline: BELOW}})
    assert finding.verdict is Verdict.CONTRADICTED and finding.measured.mean > 0
    assert _evaluate(claim_id, {"halfcheetah": {"IWOCS": MIXED, baseline: [6.0] * 4}}).verdict is Verdict.NOT_SHOWN
    finding = _evaluate(claim_id, {"halfcheetah": {"IWOCS": ABOVE, baseline: BELOW}}, settings=QUICK, preset="quick")
    assert finding.verdict is Verdict.NOT_SHOWN and "not the paper's MuJoCo sets" in finding.reason


@pytest.mark.parametrize("claim_id, baseline", [("iwocs-beats-domain-randomisation", "domain randomisation"),
                                                ("iwocs-beats-nominal-per-problem", "nominal")])
def test_the_per_problem_budget_comparisons_are_ours(claim_id, baseline):
    for values in (BELOW, ABOVE):
        for settings, preset in ((QUICK, "quick"), (PAPER, "paper")):
            finding = _evaluate(claim_id, {"pendulum": {"IWOCS": ABOVE, baseline: values},
                                           "hopper": {"IWOCS": ABOVE, baseline: values}}, settings, preset)
            assert finding.verdict is Verdict.NO_PAPER_FIGURE and finding.measured is not None


def test_the_quick_preset_is_short_of_the_paper_and_the_paper_preset_is_not():
    assert experiment._short_of_paper(PAPER) == ""
    short = experiment._short_of_paper(QUICK)
    assert "budget" in short and "2 IWOCS iterations" in short and "5 seeds, not the paper's 10" in short


def test_seeds_whose_specialists_did_not_solve_their_models_are_a_reason():
    trace = [{"kind": "trace", "env": "cartpole", "seed": seed, "iteration": iteration, "min_specialist_return": value}
             for seed, values in enumerate(([500.0, 500.0], [500.0, 120.0], [30.0, 480.0])) for iteration, value
             in enumerate(values)]
    assert experiment._unsolved_seeds(trace, "cartpole") == [1]  # the last iteration counts; 475 solves
    assert experiment._unsolved_seeds(trace, "pendulum") == []  # no threshold: never a reason
    assert "seeds 1 (lowest specialist return below 475" in experiment._short_of_paper(QUICK, trace, "cartpole")


def _exact_results(nominal: list[float], iwocs: list[float]) -> Results:
    finished = []
    for seed, values in enumerate(zip(nominal, iwocs)):
        records = [{"kind": "exact", "env": "cartpole", "method": method, "seed": seed, "worst_case": value,
                    "average": value, "worst_params": "", "models": ""}
                   for method, value in zip(experiment.EXACT_METHODS, values)]
        finished.append(FinishedUnit(Unit(experiment.EXACT, seed, {"env": "cartpole"}), records, 1.0))
    return Results(finished, "quick")


def test_the_exact_solver_claim_is_ours_and_its_check_gives_each_verdict():
    claim = CLAIMS["iwocs-exact-beats-nominal"]
    assert claim.ours
    assert claim.check(QUICK, _exact_results(BELOW, ABOVE)).verdict is Verdict.REPRODUCED
    assert claim.check(QUICK, _exact_results(ABOVE, BELOW)).verdict is Verdict.CONTRADICTED
    assert claim.check(QUICK, _exact_results([6.0] * 4, MIXED)).verdict is Verdict.NOT_SHOWN
    assert claim.check(QUICK, _exact_results([], [])).verdict is Verdict.NOT_SHOWN
    assert claim.evaluate(QUICK, _exact_results(BELOW, ABOVE)).verdict is Verdict.NO_PAPER_FIGURE
    assert set(experiment.PAPER_ROWS) == set(PAPER.envs) and set(experiment.IWOCS_ABOVE_DR) <= set(PAPER.envs)
