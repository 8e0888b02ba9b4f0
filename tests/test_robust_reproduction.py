"""``papergym reproduce robust`` on the reproduction contract, end to end on a miniature budget."""

from __future__ import annotations

import csv
import dataclasses

import pytest

from papergym.experiments import get_reproduction
from papergym.experiments import robust as experiment
from papergym.experiments.contract import SettingsError
from papergym.experiments.runner import rebuild_report, run_reproduction

REPRODUCTION = get_reproduction("robust")


def _tiny(**changes):
    tiny = {"seeds": 2, "envs": ("cartpole",), "timesteps": 64, "iterations": 1, "search_budget": 2,
            "search_episodes": 1, "grid_points": 2, "grid_episodes": 1}
    return REPRODUCTION.preset("quick").replace(**{**tiny, **changes})


def test_units_are_one_method_of_one_seed_and_user_agents_join_them():
    settings = _tiny(agents=("tests.test_robust_reproduction:make_push_right",))
    keys = [unit.key for unit in REPRODUCTION.units(settings)]
    assert len(keys) == 2 * (len(settings.methods) + 1) == len(set(keys))
    assert "env=cartpole,method=IWOCS,seed=1" in keys


def test_settings_are_validated_by_field():
    with pytest.raises(SettingsError, match="methods"):
        _tiny(methods=("nominal", "magic"))
    with pytest.raises(SettingsError, match="grid_points"):
        _tiny(grid_points=1)


class PushRight:
    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        return 1, state


def make_push_right(env):
    return PushRight()


def test_reproduction_writes_tables_trace_and_plots(tmp_path, monkeypatch):
    small_ppo = dataclasses.replace(experiment.ENVIRONMENTS["cartpole"], inner_kwargs={
        "n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}})
    monkeypatch.setitem(experiment.ENVIRONMENTS, "cartpole", small_ppo)
    settings = _tiny(methods=("nominal", "IWOCS"), agents=("tests.test_robust_reproduction:make_push_right",))
    records = run_reproduction(REPRODUCTION, settings, tmp_path, workers=1, progress=False, verbose=False)
    text = (tmp_path / "report.txt").read_text()
    assert "worst case over the grid" in text and "make_push_right" in text
    with (tmp_path / "robust_returns.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 3
    assert {row["method"] for row in rows} == {"nominal", "IWOCS", "make_push_right"}
    for row in rows:
        assert float(row["worst_case"]) <= float(row["average"])
    # Pushing right whatever happens falls within a few steps at every grid point.
    assert all(float(row["average"]) < 20 for row in rows if row["method"] == "make_push_right")
    trace = [r for r in records if r["kind"] == "trace" and r["seed"] == 0]
    assert [r["iteration"] for r in trace] == [0, 1]
    for name in ("robust_worst_vs_average.png", "robust_heatmaps.png", "iwocs_trace.png", "robust_grid.csv"):
        assert (tmp_path / name).stat().st_size > 0
    assert rebuild_report(tmp_path, verbose=False) == text.rstrip("\n")


def test_the_report_says_whether_iwocs_beats_its_baselines_paired_by_seed():
    from papergym.experiments.robust import _reading

    def rows(method, values):
        return [{"method": method, "seed": seed, "worst_case": value} for seed, value in enumerate(values)]

    better = _reading(rows("IWOCS", [10, 11, 12]) + rows("nominal", [5, 5.5, 6]) +
                      rows("domain randomisation", [4, 5, 6]), [])
    assert "IWOCS - nominal, worst case (paired by seed): +5.5" in better and "does not beat" not in better
    assert "beats nominal and domain randomisation" in better
    traces = [{"method": "IWOCS", "seed": seed, "iteration": iteration, "min_specialist_return": 100 * iteration + seed}
              for seed in range(3) for iteration in range(2)]
    worse = _reading(rows("IWOCS", [5, 5.5, 6]) + rows("nominal", [10, 11, 12]), traces)
    assert "-5.5" in worse and "does not beat both nominal and domain randomisation" in worse
    assert "per seed, is 100, 101, 102" in worse  # the last iteration's lowest specialist return
