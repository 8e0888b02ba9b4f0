"""The ``dtr`` reproduction on a tiny setting through the shared runner; settings validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from papergym.experiments import get_reproduction
from papergym.experiments.contract import SettingsError, Unit
from papergym.experiments.dtr import (
    MAIN,
    REPRODUCTION,
    SENSITIVITY,
    checkpoints,
    doubling_points,
    draw_path,
    growth_exponent,
    reference_regime_gap,
    units,
)
from papergym.experiments.runner import rebuild_report, run_reproduction


def tiny():
    return REPRODUCTION.preset("quick").replace(seeds=2, horizon=300, presets=("beta-mixture", "depression"),
                                                methods=("DTR bandit", "greedy", "optimal"), sensitivity_paths=2,
                                                q_grid=(3,), h_grid=(0.5, 1.0), curve_points=5)


def test_reproduction_is_discovered_with_both_presets():
    assert get_reproduction("dtr") is REPRODUCTION
    assert REPRODUCTION.preset("paper").horizon == 10_000 and REPRODUCTION.preset("paper").seeds == 40


def test_tiny_run_through_the_runner(tmp_path):
    settings = tiny()
    records = run_reproduction(REPRODUCTION, settings, tmp_path, workers=1, progress=False, verbose=False)
    assert len(units(settings)) == 2 * 3 * 2 + 2 * 2
    assert {unit.kind for unit in units(settings)} == {MAIN, SENSITIVITY}
    final = [r for r in records if r["patients"] == 300 and "q" not in r]
    assert {r["agent"] for r in final} == {"DTR bandit", "greedy", "optimal"}
    for record in final:
        if record["agent"] == "optimal":
            assert record["expected_regret"] == pytest.approx(0.0, abs=1e-9)
            assert record["realised_regret"] == pytest.approx(0.0, abs=1e-9)
    # Common random numbers: the same path gives the same patients, so reruns are identical.
    again = run_reproduction(REPRODUCTION, settings, tmp_path / "again", workers=1, progress=False, verbose=False)
    assert records == again
    text = rebuild_report(tmp_path, verbose=False)
    assert "beta-mixture: realised regret at T" in text and "sensitivity" in text and "illustrative" in text
    for name in ("dtr_regret.png", "dtr_regret_log_t.png", "dtr_sensitivity.png", "dtr_final_regret.csv"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "reproduction.json").read_text())["reproduction"] == "dtr"


def test_user_agent_joins_the_table(tmp_path):
    settings = tiny().replace(presets=("beta-mixture",), methods=("optimal",), q_grid=(), seeds=1,
                              agents=("papergym.agents.dtr:OptimalRegime.from_env",))
    records = run_reproduction(REPRODUCTION, settings, tmp_path, workers=1, progress=False, verbose=False)
    mine = [r for r in records if r["agent"] == "OptimalRegime.from_env"]
    assert mine and all(r["realised_regret"] == pytest.approx(0.0, abs=1e-9) for r in mine)


def test_every_unit_of_a_path_treats_the_same_patients():
    settings = tiny()
    first = draw_path(settings, Unit(MAIN, 1, {"preset": "depression", "agent": "greedy"}), "depression")[1]
    for unit in (Unit(MAIN, 1, {"preset": "depression", "agent": "DTR bandit"}),
                 Unit(SENSITIVITY, 1, {"preset": "depression", "q": 3, "h": 0.5}),
                 Unit("agent", 1, {"preset": "depression", "agent": "my.module:factory"})):
        other = draw_path(settings, unit, "depression")[1]
        assert np.array_equal(first.x1, other.x1) and np.array_equal(first.r2, other.r2)
    assert not np.array_equal(first.x1, draw_path(settings, Unit(MAIN, 0, {}), "depression")[1].x1)
    assert not np.array_equal(first.x1, draw_path(settings.replace(seed=1), Unit(MAIN, 1, {}), "depression")[1].x1)


def test_checkpoints_and_growth_exponent():
    points = checkpoints(10_000, 20)
    assert points[0] == 10 and points[-1] == 10_000 and np.all(np.diff(points) > 0)
    settings = REPRODUCTION.preset("paper")
    extra = doubling_points(settings, "linear-gaussian")
    # (2^n - 1) K q with q = 20: the main table's DTR bandit is the authors', K = 2 forced sequences (their
    # blocks start at 1,240, 2,520, 5,080); the sensitivity study's (ours) forces all K = 4.
    assert extra == (1240, 2520, 5080)
    assert doubling_points(settings, "linear-gaussian", q=20) == (1200, 2480, 5040)
    assert set(extra) <= set(checkpoints(10_000, 20, extra).tolist())
    t = np.arange(1, 10_001)
    assert growth_exponent(t, 3.0 * t) == pytest.approx(1.0)
    assert growth_exponent(t, np.log(t)) == pytest.approx(np.log(np.log(10_000) / np.log(5_000)) / np.log(2))
    # the optimal regime's regret is rounding error: no exponent (it was fitted to 1e-13 noise)
    assert np.isnan(growth_exponent(t, 1e-13 * np.sqrt(t)))


def test_linear_gaussian_runs_the_authors_methods_and_labels_ours():
    settings = REPRODUCTION.preset("quick").replace(presets=("linear-gaussian",), q_grid=())
    agents = [unit["agent"] for unit in units(settings) if unit.seed == 0]
    assert agents[:4] == ["DTR bandit", "greedy", "static", "recourse"]
    assert "epsilon-greedy" not in agents and all("(ours)" in a for a in agents[4:-1]) and agents[-1] == "optimal"
    paper = REPRODUCTION.preset("paper-linear-gaussian")
    assert (paper.horizon, paper.seeds) == (50_000, 192)
    assert all(unit["preset"] == "linear-gaussian" and unit.kind == "main" for unit in units(paper))


def test_reference_regime_gap_is_the_closed_form():
    # on 2/3 < x < 1 the reference regime loses (1 - x)^2 (uniform transition noise of half-width 1), else 0
    x = np.linspace(2.0 / 3.0, 1.0, 100_001)
    closed = np.trapezoid((1.0 - x) ** 2 * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi), x)
    assert reference_regime_gap() == pytest.approx(closed, rel=1e-3)  # the trapezoid rule at step 1e-4


@pytest.mark.parametrize("changes,field", [
    ({"beta_mixture_q": -1}, "beta_mixture_q"),
    ({"beta_mixture_h": 0.0}, "beta_mixture_h"),
    ({"h_grid": (0.5, -1.0)}, "h_grid"),
    ({"q_grid": (0,)}, "q_grid"),
    ({"presets": ("stard",)}, "presets"),
    ({"methods": ("thompson",)}, "methods"),
    ({"horizon": 5}, "horizon"),
    ({"seeds": 0}, "seeds"),
    ({"epsilon": 1.5}, "epsilon"),
    ({"sensitivity_preset": "stard"}, "sensitivity_preset"),
    ({"sensitivity_paths": 0}, "sensitivity_paths"),
])
def test_bad_settings_name_the_field(changes, field):
    with pytest.raises(SettingsError, match=field):
        REPRODUCTION.preset("quick").replace(**changes)
