"""Each three-body claim's check on small hand-made records gives every verdict it can give."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit
from papergym.experiments.threebody import CLAIMS, DQN, HEURISTIC, REPRODUCTION, fixed_front_gaps, front_at

QUICK, PAPER = REPRODUCTION.preset("quick"), REPRODUCTION.preset("paper")
CLAIM = {claim.id: claim for claim in CLAIMS}
SYSTEMS = 6


def record(policy, backend, system, work, log_error, seed=None):
    """One evaluation; its integrator wall time is proportional to its work (1 microsecond a force evaluation)."""
    return {"kind": "evaluation", "policy": policy, "backend": backend, "seed": seed, "initial_condition": system,
            "force_evaluations": work, "wall_time": work * 1e-6, "final_energy_error": 10.0 ** log_error,
            "log10_energy_error": log_error}


def fixed_front(backend="hermite"):
    """Two fixed values: a=2 (work 1000, error 1e-10) and a=8 (work 100, error 1e-4), 0.1 decades worse on
    odd systems."""
    return [record(f"fixed a={a}", backend, i, work, log_error + 0.1 * (i % 2))
            for a, work, log_error in ((2, 1000, -10.0), (8, 100, -4.0)) for i in range(SYSTEMS)]


def policy_rows(policy, backend, work, log_error, seeds=(0, 1)):
    return [record(policy, backend, i, work, log_error + 0.05 * i, seed) for seed in seeds for i in range(SYSTEMS)]


def results(records, preset="paper"):
    return Results([FinishedUnit(Unit("fixed"), records, 1.0)], preset)


def verdict(claim_id, records, preset="paper", settings=PAPER):
    return CLAIM[claim_id].evaluate(settings, results(records, preset))


def test_the_front_interpolates_in_log_work_and_never_rises_with_work():
    works, errors = np.array([1000.0, 100.0, 10_000.0]), np.array([-10.0, -4.0, -9.0])
    assert front_at(works, errors, 100) == -4.0
    assert front_at(works, errors, 10 ** 2.5) == pytest.approx(-7.0)  # half way in log work
    assert front_at(works, errors, 5000) == -10.0  # more work never makes the front worse
    assert front_at(works, errors, 10) == -4.0  # below every fixed value: the cheapest one
    # costs below 1 (wall-clock seconds) are not clamped: the same front in microseconds
    assert front_at(works * 1e-6, errors, 10 ** 2.5 * 1e-6) == pytest.approx(-7.0)


def test_gaps_are_the_front_at_the_policys_work_minus_its_error():
    records = fixed_front() + policy_rows(DQN, "hermite", work=10 ** 2.5, log_error=-8.0)
    gaps, cheaper = fixed_front_gaps(records, DQN, "hermite")
    assert gaps.size == 2 * SYSTEMS and cheaper == 0
    # system i: the front at half way is -7 + 0.1 (i odd), the DQN's error -8 + 0.05 i
    expected = [-7.0 + 0.1 * (i % 2) - (-8.0 + 0.05 * i) for i in range(SYSTEMS)] * 2
    assert gaps == pytest.approx(expected)
    records = fixed_front() + policy_rows(DQN, "hermite", work=50, log_error=-5.0)
    assert fixed_front_gaps(records, DQN, "hermite")[1] == 2 * SYSTEMS


@pytest.mark.parametrize("claim_id, policy, backend", [("dqn-below-fixed-front", DQN, "hermite"),
                                                       ("dqn-below-fixed-front-wall-time", DQN, "hermite"),
                                                       ("transfer-variable-step", DQN, "ias15")])
def test_below_the_fixed_front_gives_each_verdict(claim_id, policy, backend):
    below = fixed_front(backend) + policy_rows(policy, backend, work=500, log_error=-9.5)
    assert verdict(claim_id, below).verdict is Verdict.REPRODUCED
    dominated = fixed_front(backend) + policy_rows(policy, backend, work=500, log_error=-6.0)
    assert verdict(claim_id, dominated).verdict is Verdict.CONTRADICTED
    costly = fixed_front(backend) + policy_rows(policy, backend, work=1500, log_error=-9.5)
    assert verdict(claim_id, costly).verdict is Verdict.CONTRADICTED  # more work than a=2, larger error
    # at the quick preset (a short DQN), a contradiction is not shown, with the reason
    finding = verdict(claim_id, dominated, preset="quick", settings=QUICK)
    assert finding.verdict is Verdict.NOT_SHOWN and "the paper 100000" in finding.reason
    on_front = fixed_front(backend) + [record(policy, backend, i, 100, -4.0 + (1.0 if i % 2 else -1.0), seed=0)
                                       for i in range(SYSTEMS)]
    assert verdict(claim_id, on_front).verdict is Verdict.NOT_SHOWN
    cheapest = fixed_front(backend) + policy_rows(policy, backend, work=50, log_error=-6.0)
    finding = verdict(claim_id, cheapest)
    assert finding.verdict is Verdict.REPRODUCED and "12 of them cheaper than every fixed value" in finding.reason
    assert verdict(claim_id, fixed_front(backend)).verdict is Verdict.NOT_SHOWN  # no policy records
    no_fixed = policy_rows(policy, backend, work=500, log_error=-9.5)
    assert "fixed values" in verdict(claim_id, no_fixed).reason


def test_the_wall_time_claim_uses_wall_time_not_work():
    """Same errors, but the DQN's wall time is 3x its work's: 1500 us at 500 force evaluations lies past the
    a=2 value (1000 us, error 1e-10), so it is dominated on the wall-time axis while below the front in work."""
    rows = fixed_front() + [{**r, "wall_time": 3 * r["wall_time"]}
                            for r in policy_rows(DQN, "hermite", work=500, log_error=-9.5)]
    assert verdict("dqn-below-fixed-front", rows).verdict is Verdict.REPRODUCED
    assert verdict("dqn-below-fixed-front-wall-time", rows).verdict is Verdict.CONTRADICTED
    gaps, _ = fixed_front_gaps(rows, DQN, "hermite", cost="wall_time")
    assert gaps.size == 2 * SYSTEMS and (gaps < 0).all()
    no_wall = [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]
    finding = verdict("dqn-below-fixed-front-wall-time", no_wall)
    assert finding.verdict is Verdict.NOT_SHOWN and "wall times" in finding.reason


def test_fixed_step_transfer_gives_each_verdict():
    def rows(leapfrog, ias15, noise=0.0):
        return [record(DQN, backend, i, 100, value + noise * (-1) ** i, seed) for seed in (0, 1)
                for i in range(SYSTEMS) for backend, value in (("leapfrog", leapfrog), ("ias15", ias15))]

    assert verdict("transfer-fixed-step-worse", rows(-2.0, -6.0)).verdict is Verdict.REPRODUCED
    assert verdict("transfer-fixed-step-worse", rows(-6.0, -2.0)).verdict is Verdict.CONTRADICTED
    assert verdict("transfer-fixed-step-worse", rows(-4.0, -4.0, noise=1.0)).verdict is Verdict.NOT_SHOWN
    assert verdict("transfer-fixed-step-worse", rows(-6.0, -2.0), preset="quick",
                   settings=QUICK).verdict is Verdict.NOT_SHOWN  # short of the paper's DQN
    assert verdict("transfer-fixed-step-worse", []).verdict is Verdict.NOT_SHOWN


def test_the_heuristic_claim_is_ours():
    below = fixed_front() + policy_rows(HEURISTIC, "hermite", work=500, log_error=-9.5, seeds=(None,))
    finding = verdict("heuristic-below-fixed-front", below, preset="quick", settings=QUICK)
    assert finding.verdict is Verdict.NO_PAPER_FIGURE and "CI excludes 0" in finding.reason
    dominated = fixed_front() + policy_rows(HEURISTIC, "hermite", work=500, log_error=-6.0, seeds=(None,))
    finding = verdict("heuristic-below-fixed-front", dominated)
    assert finding.verdict is Verdict.NO_PAPER_FIGURE and "other side of 0" in finding.reason


def test_claims_name_their_source_and_presets():
    for claim in CLAIMS:
        assert claim.source and claim.presets
        if not claim.ours:  # the paper's results were not readable: every paper claim says no value was read
            assert "2502.12809" in claim.source and "583e67d32a45" in claim.source
            assert "no value read" in claim.paper
    assert CLAIM["heuristic-below-fixed-front"].ours
    assert not any(claim.ours for claim in CLAIMS if claim.id != "heuristic-below-fixed-front")


AUTHORS = REPRODUCTION.preset("authors")


@pytest.mark.parametrize("work, log_error, expected", [
    (2000, -9.0, Verdict.CONTRADICTED),  # more work and a worse error than fixed a=2: above the front
    (10 ** 2.5, -8.0, Verdict.REPRODUCED),  # below the front (the paper's words)
    (10 ** 2.5, -7.0, Verdict.NOT_SHOWN),  # on the front within the noise
])
def test_authors_policy_below_the_front_on_both_axes(work, log_error, expected):
    from papergym.experiments.threebody import AUTHORS_DQN

    rows = fixed_front() + [record(AUTHORS_DQN, "hermite", i, work, log_error + (0.01 if i % 2 else -0.01) * (
        expected is Verdict.NOT_SHOWN) * 10) for i in range(SYSTEMS)]
    finding = verdict("authors-policy-below-fixed-front", rows, preset="authors", settings=AUTHORS)
    assert finding.verdict is expected
    if expected is not Verdict.NOT_SHOWN:
        assert "wall time" in finding.reason and "median |dE/E0|" in finding.reason


def test_authors_policy_claim_needs_both_axes_and_the_policy():
    from papergym.experiments.threebody import AUTHORS_DQN

    rows = fixed_front() + [record(AUTHORS_DQN, "hermite", i, 2000, -9.0) for i in range(SYSTEMS)]
    for row in rows:
        del row["wall_time"]
    assert verdict("authors-policy-below-fixed-front", rows, "authors", AUTHORS).verdict is Verdict.NOT_SHOWN
    assert verdict("authors-policy-below-fixed-front", fixed_front(), "authors", AUTHORS).verdict is Verdict.NOT_SHOWN
