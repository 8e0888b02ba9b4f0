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
            "search_episodes": 1, "grid_points": 2, "grid_episodes": 1, "exact_seeds": 0}
    return REPRODUCTION.preset("quick").replace(**{**tiny, **changes})


def test_units_are_one_method_of_one_seed_and_user_agents_join_them():
    settings = _tiny(agents=("tests.test_robust_reproduction:make_push_right",))
    units = REPRODUCTION.all_units(settings)
    keys = [unit.key for unit in units]
    assert len(keys) == 2 * (len(settings.methods) + 1) == len(set(keys))
    assert "iwocs,seed=1,env=cartpole" in keys
    assert "agent,seed=1,agent=tests.test_robust_reproduction:make_push_right,env=cartpole" in keys
    assert {unit.kind for unit in units} == {experiment.METHOD_KINDS[m] for m in settings.methods} | {"agent"}


def test_every_method_and_user_agent_of_a_seed_share_the_grid_episodes_and_seeds_differ():
    settings = _tiny(agents=("tests.test_robust_reproduction:make_push_right",))
    grid_seeds = {}
    for unit in REPRODUCTION.all_units(settings):
        grid_seeds.setdefault(unit.seed, set()).add(unit.stream_seed(settings, "grid", kind=experiment.EVALUATION))
    assert all(len(seeds) == 1 for seeds in grid_seeds.values()) and grid_seeds[0] != grid_seeds[1]
    nominal, corner = (experiment.units(settings.replace(methods=(m,)))[0] for m in ("nominal", "worst corner"))
    # The worst-corner unit retrains the nominal unit's agent: the same training stream.
    assert corner.stream_seed(settings, "training", kind="nominal") == nominal.stream_seed(settings, "training")
    assert corner.stream_seed(settings, "training") != nominal.stream_seed(settings, "training")


def test_settings_are_validated_by_field():
    with pytest.raises(SettingsError, match="methods"):
        _tiny(methods=("nominal", "magic"))
    with pytest.raises(SettingsError, match="grid_points"):
        _tiny(grid_points=1)
    with pytest.raises(SettingsError, match="envs"):
        _tiny(envs=())
    with pytest.raises(SettingsError, match="budget"):
        _tiny(budget="huge")


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
    assert "lowest specialist return" in text and "iwocs-beats-nominal" in text
    assert [r["iteration"] for r in trace] == [0, 1]
    for name in ("robust_worst_vs_average.png", "robust_heatmaps.png", "iwocs_trace.png", "robust_grid.csv"):
        assert (tmp_path / name).stat().st_size > 0
    assert rebuild_report(tmp_path, verbose=False) == text.rstrip("\n")


def test_the_exact_solver_unit_gives_its_records_and_table(tmp_path):
    settings = _tiny(methods=("nominal",), seeds=1, timesteps=64, exact_seeds=1, exact_iterations=1)
    exact = [unit for unit in REPRODUCTION.all_units(settings) if unit.kind == experiment.EXACT]
    assert [unit.key for unit in exact] == ["iwocs_exact,seed=0,env=cartpole"]
    nominal, iwocs = experiment.run_iwocs_exact(settings, exact[0])
    assert (nominal["method"], iwocs["method"]) == experiment.EXACT_METHODS
    assert iwocs["models"].startswith("(0.50, 10.0)") and iwocs["models"].count("(") == 2
    # The Riccati controller of the nominal model balances the nominal pole (500 steps) but drops a corner's.
    assert nominal["worst_case"] < 500 and nominal["worst_case"] <= nominal["average"] <= 500
    assert iwocs["worst_case"] >= nominal["worst_case"]
    text = experiment._exact_text(settings, [nominal, iwocs])
    assert "exact inner solvers" in text and f"seed 0: {nominal['worst_case']:.0f} -> " in text
