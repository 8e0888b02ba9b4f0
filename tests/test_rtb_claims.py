"""The rtb claims' checks on small hand-made records: every verdict each check can give."""

from __future__ import annotations

import pytest

from papergym.envs.rtb import PAPER_C0
from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit
from papergym.experiments.rtb import BIDDERS, CLAIMS, LARGE, PRESETS

AUTHORS_ROW, ROW, HEADLINE, LARGE_CLAIM = CLAIMS
QUICK, PAPER = PRESETS["quick"], PRESETS["paper"]


def _row(campaign: str, c0: float, agent: str, episode_clicks: list[int]) -> dict:
    return {"scale": "small", "campaign": campaign, "c0": c0, "agent": agent, "clicks": sum(episode_clicks),
            "episode_clicks": episode_clicks, "budget_spent": 0.9, "note": "b0=20" if agent == "Lin" else ""}


def _results(cells: dict[tuple[str, float], tuple[list[int], list[int]]], preset: str) -> Results:
    """One bidders unit per (campaign, c0) with RLB's and Lin's per-episode clicks."""
    finished = []
    for (campaign, c0), (rlb, lin) in cells.items():
        unit = Unit(BIDDERS, None, {"campaign": campaign, "c0": c0})
        finished.append(FinishedUnit(unit, [_row(campaign, c0, "Lin", lin), _row(campaign, c0, "RLB", rlb)], 1.0))
    return Results(finished, preset)


def test_claims_name_their_sources_and_presets():
    assert [claim.id for claim in CLAIMS] == ["authors-row-2997", "row-2997", "rlb-beats-lin",
                                              "large-rlbnn-beats-lin"]
    assert all(claim.source and claim.paper for claim in CLAIMS)
    assert "han-cai/rlb-dp" in AUTHORS_ROW.source and "not read" in HEADLINE.paper


@pytest.mark.parametrize(("clicks", "verdict"), [
    ({"SS-MDP": 80, "Mcpc": 48, "Lin": 71, "RLB": 78}, Verdict.REPRODUCED),
    ({"SS-MDP": 80, "Mcpc": 49, "Lin": 70, "RLB": 78}, Verdict.REPRODUCED),
    ({"SS-MDP": 80, "Mcpc": 48, "Lin": 63, "RLB": 78}, Verdict.CONTRADICTED),  # the first release's b0 = 8
])
def test_authors_row_2997_compares_every_bidders_total_clicks(clicks, verdict):
    rows = [{**_row("2997", 1 / 32, name, [total]), "agent": name} for name, total in clicks.items()]
    results = Results([FinishedUnit(Unit(BIDDERS, None, {"campaign": "2997", "c0": 1 / 32}), rows, 1.0)], "paper")
    finding = AUTHORS_ROW.evaluate(PAPER, results)
    assert finding.verdict is verdict and "Lin" in finding.reason
    assert AUTHORS_ROW.evaluate(QUICK, _results({("synthetic-median", 1 / 32): ([3], [1])}, "quick")).verdict \
        is Verdict.NOT_SHOWN


@pytest.mark.parametrize(("rlb", "lin", "verdict"), [
    ([3, 4, 5, 4, 3], [1, 2, 2, 1, 2], Verdict.REPRODUCED),
    ([1, 2, 2, 1, 2], [3, 4, 5, 4, 3], Verdict.CONTRADICTED),
    ([1, 3, 2, 2, 1], [2, 2, 2, 1, 2], Verdict.NOT_SHOWN),
])
def test_row_2997_compares_rlb_and_lin_per_test_episode(rlb, lin, verdict):
    results = _results({("2997", 1 / 32): (rlb, lin), ("1458", 1 / 32): (lin, rlb)}, "quick")
    finding = ROW.evaluate(QUICK, results)
    assert finding.verdict is verdict
    assert finding.measured.n == 5 and "totals RLB" in finding.reason


def test_row_2997_is_missing_without_the_test_log():
    finding = ROW.evaluate(QUICK, _results({("synthetic-median", 1 / 32): ([3, 4], [1, 2])}, "quick"))
    assert finding.verdict is Verdict.NOT_SHOWN
    assert "no records" in finding.reason and "--data" in finding.reason
    other_level = _results({("2997", 1 / 8): ([3, 4], [1, 2])}, "quick")
    assert ROW.evaluate(QUICK, other_level).verdict is Verdict.NOT_SHOWN


def _cells(gaps: list[int]) -> dict:
    """(campaign, c0) cells over the paper's budget levels with the given RLB - Lin click gaps."""
    keys = [(f"c{i // len(PAPER_C0)}", PAPER_C0[i % len(PAPER_C0)]) for i in range(len(gaps))]
    return {key: ([10 + gap], [10]) for key, gap in zip(keys, gaps)}


def test_headline_pairs_rlb_and_lin_by_campaign_and_c0():
    reproduced = HEADLINE.evaluate(PAPER, _results(_cells([3, 5, 4, 6, 2, 4, 5, 3, 4, 5]), "paper"))
    assert reproduced.verdict is Verdict.REPRODUCED and reproduced.measured.n == 10
    contradicted = HEADLINE.evaluate(PAPER, _results(_cells([-3, -5, -4, -6, -2, -4, -5, -3, -4, -5]), "paper"))
    assert contradicted.verdict is Verdict.CONTRADICTED
    across_zero = HEADLINE.evaluate(PAPER, _results(_cells([3, -5, 4, -6, 2, -4, 5, -3, 4, -1]), "paper"))
    assert across_zero.verdict is Verdict.NOT_SHOWN
    assert HEADLINE.evaluate(PAPER, Results([], "paper")).verdict is Verdict.NOT_SHOWN


def test_headline_on_one_budget_level_is_short_of_the_paper():
    cells = {(name, 1 / 32): ([10], [10 + gap]) for name, gap in (("a", 3), ("b", 4), ("c", 5), ("d", 4))}
    finding = HEADLINE.evaluate(QUICK, _results(cells, "paper"))  # RLB below Lin, but on 1 of the 5 levels
    assert finding.verdict is Verdict.NOT_SHOWN
    assert "1 budget level(s) per campaign, the paper's 5" in finding.reason


def _large(gaps: list[int], levels=PAPER_C0) -> Results:
    """Large-scale units on 2997: Lin with 50 clicks, the three RLB-NN mappings 50 + gap each, per c0."""
    finished = []
    for c0, gap in zip(levels, gaps):
        rows = [{"scale": "large", "campaign": "2997", "c0": c0, "agent": "Lin", "clicks": 50}]
        rows += [{"scale": "large", "campaign": "2997", "c0": c0, "agent": f"RLB-NN {m}", "clicks": 50 + gap}
                 for m in ("MapD", "MapA", "Seg")]
        finished.append(FinishedUnit(Unit(LARGE, None, {"c0": c0}), rows, 1.0))
    return Results(finished, "paper")


def test_large_claim_pairs_each_mapping_with_lin_per_c0():
    assert LARGE_CLAIM.evaluate(PAPER, _large([3, 5, 4, 6, 2])).verdict is Verdict.REPRODUCED
    assert LARGE_CLAIM.evaluate(PAPER, _large([-3, -5, -4, -6, -2])).verdict is Verdict.CONTRADICTED
    short = LARGE_CLAIM.evaluate(PAPER, _large([-3], (1 / 32,)))
    assert short.verdict is Verdict.NOT_SHOWN and "1 of the paper's 5" in short.reason
    assert LARGE_CLAIM.evaluate(PAPER, Results([], "paper")).verdict is Verdict.NOT_SHOWN


def test_large_claim_is_not_shown_when_a_c0_has_no_mapping_above_lin():
    """A positive pooled gap does not make 'at every c0' (2997: behind at 1/4 and 1/2)."""
    finding = LARGE_CLAIM.evaluate(PAPER, _large([30, 40, 50, 0, -1]))
    assert finding.measured.ci_low > 0
    assert finding.verdict is Verdict.NOT_SHOWN and "c0 = 0.25, c0 = 0.5" in finding.reason
