"""The ttpois claims on small hand-made records: each check gives every verdict it can give."""

import pytest

from papergym.experiments.claims import Verdict
from papergym.experiments.contract import FinishedUnit, Results, Unit
from papergym.experiments.ttpois import CLAIMS, CURVE, ESTIMATOR, PRESETS, TASKS, WIDTHS, width_study

CLAIM = {claim.id: claim for claim in CLAIMS}
PAPER, QUICK = PRESETS["paper"], PRESETS["quick"]


def curve_results(task: str, finals: dict[str, list[float]], settings=PAPER, preset: str = "paper") -> Results:
    """Curve units of ``task`` whose controllers end at ``finals[algorithm][seed]`` after the run's budget
    (a later, out-of-budget row must be ignored)."""
    total = settings.iterations * TASKS[task].budget
    finished = []
    for algorithm, values in finals.items():
        for seed, value in enumerate(values):
            rows = [{"task": task, "algorithm": algorithm, "seed": seed, "iteration": iteration,
                     "transitions": transitions, "return": value, "discounted": value, "gain": 0.5}
                    for iteration, (transitions, value) in enumerate(
                        [(0, -10.0), (total, value), (total + 1, 1e9)])]
            finished.append(FinishedUnit(Unit(CURVE, seed, {"task": task, "algorithm": algorithm}), rows, 1.0))
    return Results(finished, preset)


def widths_results(rows, preset: str = "quick") -> Results:
    return Results([FinishedUnit(Unit(WIDTHS), rows, 1.0)], preset)


BETTER = {"POIS": [-1.0, -1.2, -0.9, -1.1], "TT-POIS": [-0.8, -1.0, -0.7, -0.85]}
WORSE = {"POIS": BETTER["TT-POIS"], "TT-POIS": BETTER["POIS"]}
LEVEL = {"POIS": [-1.0, -1.2, -0.9, -1.1], "TT-POIS": [-0.9, -1.3, -0.8, -1.2]}


@pytest.mark.parametrize("claim_id, task", [("ttpois-beats-pois-long", "lqg-long"),
                                             ("ttpois-learns-faster-long", "lqg-long"),
                                             ("ttpois-beats-pois-cartpole-long", "cartpole-long")])
def test_ttpois_beats_pois_gives_every_verdict(claim_id, task):
    claim = CLAIM[claim_id]
    assert claim.evaluate(PAPER, curve_results(task, BETTER)).verdict is Verdict.REPRODUCED
    assert claim.evaluate(PAPER, curve_results(task, WORSE)).verdict is Verdict.CONTRADICTED
    assert claim.evaluate(PAPER, curve_results(task, LEVEL)).verdict is Verdict.NOT_SHOWN
    short = claim.evaluate(QUICK, curve_results(task, WORSE, QUICK, "quick"))
    assert short.verdict is Verdict.NOT_SHOWN and "seeds" in short.reason
    assert claim.evaluate(PAPER, curve_results("lqg", BETTER)).verdict is Verdict.NOT_SHOWN  # another task
    finding = claim.evaluate(PAPER, curve_results(task, BETTER))
    # the final controller's value; the area weighs it 1 / 60 of the grid (the initial one holds before)
    expected = 0.2125 if "beats" in claim_id else 0.2125 / 60
    assert finding.measured.n == 4 and finding.measured.mean == pytest.approx(expected)


def test_no_difference_on_the_short_task_gives_every_verdict():
    claim = CLAIM["no-difference-short"]
    assert claim.evaluate(PAPER, curve_results("lqg", LEVEL)).verdict is Verdict.REPRODUCED
    assert claim.evaluate(QUICK, curve_results("lqg", LEVEL, QUICK, "quick")).verdict is Verdict.REPRODUCED
    contradicted = claim.evaluate(PAPER, curve_results("lqg", BETTER))
    assert contradicted.verdict is Verdict.CONTRADICTED and "TT-POIS is better" in contradicted.reason
    assert claim.evaluate(QUICK, curve_results("lqg", WORSE, QUICK, "quick")).verdict is Verdict.NOT_SHOWN
    assert claim.evaluate(PAPER, curve_results("lqg-long", LEVEL)).verdict is Verdict.NOT_SHOWN  # missing
    one = {"POIS": [-1.0], "TT-POIS": [-0.9]}
    assert claim.evaluate(PAPER, curve_results("lqg", one)).verdict is Verdict.NOT_SHOWN


def test_width_ratio_gives_every_verdict():
    claim = CLAIM["width-ratio"]
    rows = width_study()
    finding = claim.evaluate(QUICK, widths_results(rows))
    assert finding.verdict is Verdict.REPRODUCED
    assert finding.measured.mean == pytest.approx(max(row["width_ratio"] for row in rows))
    wider = [dict(row, width_ratio=1.02) if row["gamma"] == 0.999 and row["horizon"] == 50 else row
             for row in rows]
    contradicted = claim.evaluate(QUICK, widths_results(wider))
    assert contradicted.verdict is Verdict.CONTRADICTED and contradicted.measured.mean == pytest.approx(1.02)
    # a ratio of exactly 1 (no gain, no loss) and a trend that does not fall are not this claim's concern
    level = [dict(row, width_ratio=1.0) if row["gamma"] == 0.999 else row for row in rows]
    assert claim.evaluate(QUICK, widths_results(level)).verdict is Verdict.REPRODUCED
    rising = [dict(row, width_ratio=0.9) if row["gamma"] == 0.95 and row["horizon"] == 500 else row
              for row in rows]
    assert claim.evaluate(QUICK, widths_results(rising)).verdict is Verdict.REPRODUCED
    assert claim.evaluate(QUICK, widths_results([])).verdict is Verdict.NOT_SHOWN


def test_width_ratio_trend_gives_every_verdict_and_is_ours():
    claim = CLAIM["width-ratio-trend"]
    assert claim.ours
    rows = width_study()
    finding = claim.check(QUICK, widths_results(rows))
    assert finding.verdict is Verdict.REPRODUCED
    longest = max(rows, key=lambda row: row["horizon"] * (1 - row["gamma"]))
    assert finding.measured.mean == pytest.approx(longest["width_ratio"])
    wider = [dict(row, width_ratio=1.02) if row["gamma"] == 0.999 and row["horizon"] == 50 else row
             for row in rows]
    assert claim.check(QUICK, widths_results(wider)).verdict is Verdict.CONTRADICTED
    rising = [dict(row, width_ratio=0.9) if row["gamma"] == 0.95 and row["horizon"] == 500 else row
              for row in rows]
    assert claim.check(QUICK, widths_results(rising)).verdict is Verdict.CONTRADICTED
    assert claim.check(QUICK, widths_results([])).verdict is Verdict.NOT_SHOWN
    assert claim.evaluate(QUICK, widths_results(rows)).verdict is Verdict.NO_PAPER_FIGURE


def estimator_results(std_ratio: float, batches: int = 60, task: str = "lqg-long") -> Results:
    row = {"task": task, "gamma": 0.9, "horizon": 200, "budget": 4000, "batches": batches, "std_full": 30.0,
           "std_truncated": 30.0 * std_ratio, "std_ratio": std_ratio, "width_ratio": 0.313}
    return Results([FinishedUnit(Unit(ESTIMATOR, None, {"task": task}), [row], 1.0)], "quick")


def test_estimator_spread_gives_every_verdict_and_is_ours():
    claim = CLAIM["estimator-spread-long"]
    assert claim.ours
    assert claim.check(QUICK, estimator_results(0.575)).verdict is Verdict.REPRODUCED
    assert claim.check(QUICK, estimator_results(1.9)).verdict is Verdict.CONTRADICTED
    assert claim.check(QUICK, estimator_results(0.9)).verdict is Verdict.NOT_SHOWN
    assert claim.check(QUICK, estimator_results(0.575, task="lqg")).verdict is Verdict.NOT_SHOWN  # missing
    finding = claim.evaluate(QUICK, estimator_results(0.575))
    assert finding.verdict is Verdict.NO_PAPER_FIGURE
    assert finding.measured.ci_low < 0.575 < finding.measured.ci_high < 1


def test_claims_name_their_sources_and_presets():
    for claim in CLAIMS:
        # only the abstract was read: every paper claim cites it and says what was not read
        assert claim.ours or ("not read" in claim.paper and "Poiani" in claim.source
                              and "abstract" in claim.source and "2305.04361" in claim.source)
        assert claim.ours or claim.paper.startswith(("abstract", "the abstract"))
        assert "paper" in claim.presets


def test_claims_pickle():
    import pickle

    for claim in CLAIMS:
        assert pickle.loads(pickle.dumps(claim.check)) is not None
