"""The DLB reproduction's claims on small hand-made records: every verdict each check can give."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.envs.dlb import PAPER_HORIZON
from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit
from papergym.experiments.dlb import CLAIMS, DYNLIN, PRESETS, TRIAL

CASE = "synthetic-0.01"
CLAIM = {claim.id: claim for claim in CLAIMS}
LOWEST, SUBLINEAR = CLAIM[f"dynlin-lowest-{CASE}"], CLAIM[f"dynlin-sublinear-{CASE}"]


def settings(horizon: int = 1000):
    return PRESETS["quick"].replace(seeds=4, horizon=horizon, cases=(CASE,), curve_points=3)


def results(final: dict[str, list[float]], *, horizon: int = 1000, preset: str = "paper",
            halves: dict[str, list[float]] | None = None, user_agent: float | None = None,
            case: str = CASE) -> Results:
    """Trial units of ``CASE`` with the final regret of each agent per trial; ``halves`` gives an agent's
    regret at mid-horizon (default: half its final regret). A user agent's records are of kind "agent"."""
    finished = []
    for trial in range(len(next(iter(final.values())))):
        records = []
        for agent, regrets in final.items():
            middle = (halves or {}).get(agent, [value / 2 for value in regrets])[trial]
            records.append({"case": case, "agent": agent, "trial": trial, "regret": regrets[trial],
                            "curve": [0.0, middle, regrets[trial]]})
        finished.append(FinishedUnit(Unit(TRIAL, trial, {"case": case}), records, 1.0))
        if user_agent is not None:
            record = {"case": CASE, "agent": "mine", "trial": trial, "regret": user_agent,
                      "curve": [0.0, user_agent / 2, user_agent]}
            finished.append(FinishedUnit(Unit("agent", trial, {"agent": "m:mine", "case": CASE}), [record], 1.0))
    return Results(finished, preset)


def test_every_case_has_its_two_claims_and_the_checkpoints_split_the_horizon():
    assert len(CLAIMS) == 9 and {claim.id for claim in CLAIMS} >= {"dynlin-lowest-real", "dynlin-sublinear-real"}
    assert LOWEST.presets == ("paper",) and SUBLINEAR.presets == ("quick", "paper")
    np.testing.assert_array_equal(settings().checkpoints, [1, 500, 1000])


def test_lowest_reproduced_at_the_paper_horizon_whatever_a_user_agent_scores():
    found = LOWEST.evaluate(settings(PAPER_HORIZON), results(
        {DYNLIN: [10, 11, 12, 10], "LinUCB (lambda=1)": [20, 22, 21, 25], "UCB1": [40, 41, 39, 40],
         "Clairvoyant": [0, 0, 0, 0]}, user_agent=1.0))
    assert found.verdict is Verdict.REPRODUCED
    assert "LinUCB (lambda=1)" in found.reason and found.measured.n == 4 and found.measured.mean < 0


def test_lowest_contradicted_at_the_paper_horizon_and_at_sigma_0_1_points_to_the_authors_order():
    behind = {DYNLIN: [10, 11, 12, 10], "D-LinUCB (lambda=1)": [5, 6, 5, 4], "UCB1": [40, 41, 39, 40]}
    found = LOWEST.evaluate(settings(PAPER_HORIZON), results(behind))
    assert found.verdict is Verdict.CONTRADICTED
    assert "D-LinUCB (lambda=1)" in found.reason and "authors' own agent classes" not in found.reason
    noisy = CLAIM["dynlin-lowest-synthetic-0.1"].evaluate(
        settings(PAPER_HORIZON).replace(cases=("synthetic-0.1",)), results(behind, case="synthetic-0.1"))
    assert noisy.verdict is Verdict.CONTRADICTED and "dynlin-behind-synthetic-0.1" in noisy.reason


BEHIND = CLAIM["dynlin-behind-synthetic-0.1"]
RIVALS = ("D-LinUCB (lambda=1)", "LinUCB (lambda=log T)", "D-LinUCB (lambda=log T)", "LinUCB (lambda=1)")


@pytest.mark.parametrize(("last_rival", "verdict"), [
    ([5, 6, 5, 4], Verdict.REPRODUCED),       # every rival below DynLin-UCB, as in the authors' code
    ([20, 21, 22, 23], Verdict.CONTRADICTED),  # one rival above it
    ([12, 9, 13, 9], Verdict.NOT_SHOWN),       # one rival level with it
])
def test_behind_at_sigma_0_1_verdicts(last_rival, verdict):
    final = {DYNLIN: [10, 11, 12, 10], **{rival: [5, 6, 5, 4] for rival in RIVALS[:-1]}, RIVALS[-1]: last_rival}
    found = BEHIND.evaluate(settings().replace(cases=("synthetic-0.1",)), results(final, case="synthetic-0.1"))
    assert found.verdict is verdict and found.measured.n == 4
    if verdict is not Verdict.REPRODUCED:
        assert RIVALS[-1] in found.reason


def test_behind_at_sigma_0_1_without_every_rival_is_missing_and_cites_the_side_by_side_run():
    final = {DYNLIN: [10, 11, 12, 10], "LinUCB (lambda=1)": [5, 6, 5, 4]}
    found = BEHIND.evaluate(settings(), results(final, case="synthetic-0.1"))
    assert found.verdict is Verdict.NOT_SHOWN and "no records" in found.reason
    assert "2,631.1" in BEHIND.paper and "agents.py" in BEHIND.source


def test_lowest_not_shown_below_the_paper_horizon_or_when_the_interval_includes_zero():
    behind = results({DYNLIN: [10, 11, 12, 10], "D-LinUCB (lambda=1)": [5, 6, 5, 4]}, preset="quick")
    found = LOWEST.evaluate(settings(100_000), behind)
    assert found.verdict is Verdict.NOT_SHOWN and "shorter than the paper's 10^6" in found.reason
    tied = LOWEST.evaluate(settings(PAPER_HORIZON), results({DYNLIN: [10, 11, 12, 10], "AR2": [12, 9, 13, 9]}))
    assert tied.verdict is Verdict.NOT_SHOWN and "includes 0" in tied.reason


def test_lowest_leaves_out_ucb1_which_the_authors_do_not_run():
    """UCB1 below DynLin-UCB is no contradiction (the authors' script never runs it); AR2 below it is."""
    ucb1_below = {DYNLIN: [10, 11, 12, 10], "UCB1": [1, 2, 1, 2], "Exp3": [30, 31, 32, 30]}
    found = LOWEST.evaluate(settings(PAPER_HORIZON), results(ucb1_below))
    assert found.verdict is Verdict.REPRODUCED and "1 other learners" in found.reason and "UCB1" not in found.reason
    only_ucb1 = LOWEST.evaluate(settings(PAPER_HORIZON), results({DYNLIN: [10, 11, 12, 10], "UCB1": [1, 2, 1, 2]}))
    assert only_ucb1.verdict is Verdict.NOT_SHOWN and "no records" in only_ucb1.reason
    ar2_below = LOWEST.evaluate(settings(PAPER_HORIZON), results({DYNLIN: [10, 11, 12, 10], "AR2": [1, 2, 1, 2]}))
    assert ar2_below.verdict is Verdict.CONTRADICTED and "AR2" in ar2_below.reason


def test_claims_cite_the_authors_code_and_say_what_was_not_read():
    for claim in CLAIMS:
        assert "7fb103ece322779626e09f937c73c538c90258f9" in claim.source
        assert "config/testcase_" in claim.source or claim is BEHIND
        assert "(values not read)" not in claim.paper
    assert LOWEST.paper.startswith("not read") and "sqrt(T)" in SUBLINEAR.paper


def test_lowest_without_the_records_is_missing():
    found = LOWEST.evaluate(settings(PAPER_HORIZON), results({DYNLIN: [10, 11], "Clairvoyant": [0, 0]}))
    assert found.verdict is Verdict.NOT_SHOWN and "no records" in found.reason


@pytest.mark.parametrize(("middle", "verdict"), [
    ([8, 8.5, 9, 8.2], Verdict.REPRODUCED),      # most of the regret in the first half: sublinear
    ([3, 2.5, 2, 3.1], Verdict.CONTRADICTED),    # most of it in the second half: accelerating
    ([5.5, 4.5, 6, 4.2], Verdict.NOT_SHOWN),     # about linear
])
def test_sublinear_verdicts(middle, verdict):
    found = SUBLINEAR.evaluate(settings(), results({DYNLIN: [10, 10, 10, 10]}, preset="quick",
                                                   halves={DYNLIN: middle}))
    assert found.verdict is verdict and found.measured.n == 4


def test_sublinear_without_the_records_is_missing():
    found = SUBLINEAR.evaluate(settings(), results({"UCB1": [10, 10]}, preset="quick"))
    assert found.verdict is Verdict.NOT_SHOWN and "no records" in found.reason
