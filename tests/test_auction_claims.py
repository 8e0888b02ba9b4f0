"""The auction's claims on small hand-made records: every verdict each check can give, and the contract's
'no paper figure' for claims of ours."""

from __future__ import annotations

import pytest

from papergym.experiments.auction import (
    CLAIMS,
    MATCHES,
    PRESETS,
    REPRODUCTION,
    _competition_costs_clicks,
    _rlb_beats_lin_alone,
    _rlb_leads_mixed,
)
from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit

QUICK = PRESETS["quick"]
PAPER = PRESETS["paper"]


def record(seed: int, match: str, agent: str, pctr: float, seat: int = 0) -> dict:
    """One seat's totals over 10 episodes with ``pctr`` expected clicks per episode."""
    return {"seed": seed, "match": match, "agent": agent, "seat": seat, "auctions": 1000, "impressions": 50,
            "clicks": 1, "cost": 2000, "pctr": 10 * pctr, "episodes": 10, "budget": 25_000}


def results(rows: list[tuple[int, str, str, float]], preset: str = "quick") -> Results:
    """Results of one ``matches`` unit per seed holding the given (seed, match, agent, pctr) rows."""
    seeds = sorted({row[0] for row in rows})
    return Results([FinishedUnit(Unit(MATCHES, seed), [record(*row) for row in rows if row[0] == seed], 1.0)
                    for seed in seeds], preset)


def alone(rlb: list[float], lin: list[float]) -> Results:
    return results([(seed, "alone", "RLB", value) for seed, value in enumerate(rlb)]
                   + [(seed, "alone", "Lin", value) for seed, value in enumerate(lin)])


def test_rlb_beats_lin_alone_gives_each_verdict():
    assert _rlb_beats_lin_alone(QUICK, alone([0.16, 0.17, 0.15], [0.11, 0.12, 0.12])).verdict is Verdict.REPRODUCED
    assert _rlb_beats_lin_alone(QUICK, alone([0.16, 0.10, 0.13], [0.11, 0.15, 0.12])).verdict is Verdict.NOT_SHOWN
    assert _rlb_beats_lin_alone(QUICK, alone([0.10, 0.11, 0.10], [0.15, 0.16, 0.16])).verdict is Verdict.CONTRADICTED
    assert _rlb_beats_lin_alone(QUICK, alone([0.16], [0.11])).verdict is Verdict.NOT_SHOWN  # one seed
    assert _rlb_beats_lin_alone(QUICK, alone([0.16, 0.17], [])).verdict is Verdict.NOT_SHOWN  # Lin missing


def alone_and_self(drops: dict[str, list[float]]) -> Results:
    rows = []
    for kind, values in drops.items():
        for seed, drop in enumerate(values):
            rows += [(seed, "alone", kind, 0.2), (seed, "self", kind, 0.2 - drop)]
    return results(rows)


def test_competition_costs_clicks_judges_the_weakest_type():
    clear = {"RLB": [0.03, 0.04, 0.03], "Lin": [0.02, 0.01, 0.015], "PPO": [0.01, 0.012, 0.011]}
    finding = _competition_costs_clicks(QUICK, alone_and_self(clear))
    assert finding.verdict is Verdict.REPRODUCED and "PPO" in finding.reason
    noisy = {**clear, "Lin": [0.02, -0.02, 0.001]}
    finding = _competition_costs_clicks(QUICK, alone_and_self(noisy))
    assert finding.verdict is Verdict.NOT_SHOWN and "Lin" in finding.reason
    gains = {**clear, "PPO": [-0.01, -0.012, -0.011]}
    assert _competition_costs_clicks(QUICK, alone_and_self(gains)).verdict is Verdict.CONTRADICTED
    without_ppo = {kind: values for kind, values in clear.items() if kind != "PPO"}
    assert _competition_costs_clicks(QUICK, alone_and_self(without_ppo)).verdict is Verdict.NOT_SHOWN


def mixed(lin: list[float], ppo: list[float], rlb: float = 0.14) -> Results:
    rows = []
    for seed, (lin_value, ppo_value) in enumerate(zip(lin, ppo)):
        rows += [(seed, "mixed", "RLB", rlb), (seed, "mixed", "Lin", lin_value), (seed, "mixed", "PPO", ppo_value)]
    return results(rows)


def test_rlb_leads_mixed_compares_with_the_closest_type():
    finding = _rlb_leads_mixed(PAPER, mixed([0.11, 0.10, 0.12], [0.10, 0.09, 0.095]))
    assert finding.verdict is Verdict.REPRODUCED and "Lin" in finding.reason
    assert _rlb_leads_mixed(PAPER, mixed([0.15, 0.12, 0.14], [0.10, 0.09, 0.09])).verdict is Verdict.NOT_SHOWN
    behind = mixed([0.11, 0.10, 0.12], [0.17, 0.18, 0.17])
    assert _rlb_leads_mixed(PAPER, behind).verdict is Verdict.CONTRADICTED
    # Behind a PPO bidder trained for fewer steps than the paper preset's: not shown, and why.
    finding = _rlb_leads_mixed(QUICK, behind)
    assert finding.verdict is Verdict.NOT_SHOWN and "bidder-steps" in finding.reason
    assert _rlb_leads_mixed(QUICK, alone([0.16], [0.11])).verdict is Verdict.NOT_SHOWN  # no mixed match


@pytest.mark.parametrize("claim", CLAIMS, ids=[claim.id for claim in CLAIMS])
def test_claims_of_ours_have_no_paper_figure(claim):
    assert claim.ours and set(claim.presets) <= set(REPRODUCTION.presets)
    data = results([(seed, match, kind, 0.1) for seed in range(3) for match in ("alone", "self", "mixed")
                    for kind in ("RLB", "Lin", "PPO")])
    assert claim.evaluate(QUICK, data).verdict is Verdict.NO_PAPER_FIGURE


def test_checks_read_only_the_paper_units():
    data = alone([0.16, 0.17, 0.15], [0.11, 0.12, 0.12])
    user = FinishedUnit(Unit("agent", 0, {"agent": "m:f"}), [record(0, "alone", "Lin", 0.9)], 1.0)
    assert _rlb_beats_lin_alone(QUICK, Results([*data.finished, user], "quick")).measured.n == 3
