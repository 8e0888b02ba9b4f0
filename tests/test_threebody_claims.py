"""Each three-body claim's check on small hand-made records gives every verdict it can give."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit
from papergym.experiments.threebody import CLAIMS, DQN, HEURISTIC, REPRODUCTION, fixed_front_gaps

QUICK, PAPER = REPRODUCTION.preset("quick"), REPRODUCTION.preset("paper")
CLAIM = {claim.id: claim for claim in CLAIMS}
SYSTEMS = 6


def record(policy, backend, system, work, log_error, seed=None):
    return {"kind": "evaluation", "policy": policy, "backend": backend, "seed": seed, "initial_condition": system,
            "force_evaluations": work, "final_energy_error": 10.0 ** log_error, "log10_energy_error": log_error}


def fixed_front(backend="hermite"):
    """Two fixed values: a=2 (work 1000, error 1e-10) and a=8 (work 100, error 1e-4), a little noise."""
    return [record(f"fixed a={a}", backend, i, work, log_error + 0.1 * (i % 2))
            for a, work, log_error in ((2, 1000, -10.0), (8, 100, -4.0)) for i in range(SYSTEMS)]


def policy_rows(policy, backend, work, log_error, seeds=(0, 1)):
    return [record(policy, backend, i, work, log_error + 0.05 * i, seed) for seed in seeds for i in range(SYSTEMS)]


def results(records, preset="paper"):
    return Results([FinishedUnit(Unit("fixed"), records, 1.0)], preset)


def verdict(claim_id, records, preset="paper", settings=PAPER):
    return CLAIM[claim_id].evaluate(settings, results(records, preset))


def test_gaps_compare_with_the_best_fixed_value_at_no_more_work():
    records = fixed_front() + policy_rows(DQN, "hermite", work=500, log_error=-6.0)
    gaps, comparators = fixed_front_gaps(records, DQN, "hermite")
    assert comparators == ["fixed a=8", "fixed a=8"]  # a=2 does more work than the DQN
    assert gaps.size == 2 * SYSTEMS and np.all(gaps > 0)  # -4 (fixed) minus about -6 (DQN)
    records = fixed_front() + policy_rows(DQN, "hermite", work=1000, log_error=-6.0)
    gaps, comparators = fixed_front_gaps(records, DQN, "hermite")
    assert comparators == ["fixed a=2", "fixed a=2"] and np.all(gaps < 0)


@pytest.mark.parametrize("claim_id, policy, backend", [("dqn-below-fixed-front", DQN, "hermite"),
                                                       ("transfer-variable-step", DQN, "ias15")])
def test_below_the_fixed_front_gives_each_verdict(claim_id, policy, backend):
    below = fixed_front(backend) + policy_rows(policy, backend, work=500, log_error=-6.0)
    assert verdict(claim_id, below).verdict is Verdict.REPRODUCED
    dominated = fixed_front(backend) + policy_rows(policy, backend, work=1500, log_error=-6.0)
    assert verdict(claim_id, dominated).verdict is Verdict.CONTRADICTED
    # at the quick preset (a short DQN), a contradiction is not shown, with the reason
    finding = verdict(claim_id, dominated, preset="quick", settings=QUICK)
    assert finding.verdict is Verdict.NOT_SHOWN and "the paper 100000" in finding.reason
    mixed = fixed_front(backend) + [record(policy, backend, i, 500, -4.0 + (1.0 if i % 2 else -1.0), seed=0)
                                    for i in range(SYSTEMS)]
    assert verdict(claim_id, mixed).verdict is Verdict.NOT_SHOWN
    cheapest = fixed_front(backend) + policy_rows(policy, backend, work=50, log_error=-6.0)
    assert "less median work than every fixed value" in verdict(claim_id, cheapest).reason
    assert verdict(claim_id, fixed_front(backend)).verdict is Verdict.NOT_SHOWN  # no policy records


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
    below = fixed_front() + policy_rows(HEURISTIC, "hermite", work=500, log_error=-6.0, seeds=(None,))
    finding = verdict("heuristic-below-fixed-front", below, preset="quick", settings=QUICK)
    assert finding.verdict is Verdict.NO_PAPER_FIGURE and "CI excludes 0" in finding.reason
    dominated = fixed_front() + policy_rows(HEURISTIC, "hermite", work=1500, log_error=-6.0, seeds=(None,))
    finding = verdict("heuristic-below-fixed-front", dominated)
    assert finding.verdict is Verdict.NO_PAPER_FIGURE and "other side of 0" in finding.reason


def test_claims_name_their_source_and_presets():
    for claim in CLAIMS:
        assert claim.source and claim.presets
    assert CLAIM["heuristic-below-fixed-front"].ours
    assert not any(claim.ours for claim in CLAIMS if claim.id != "heuristic-below-fixed-front")
