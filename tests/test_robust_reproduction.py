"""``papergym reproduce robust`` end to end on a miniature budget: files, table and trace are written."""

from __future__ import annotations

import csv
import dataclasses
import json

from papergym.experiments import get_reproduction
from papergym.experiments import robust as experiment


def test_reproduction_writes_tables_trace_and_plots(tmp_path, monkeypatch, capsys):
    tiny = experiment.Budget(seeds=2, iterations=1, search_budget=2, search_episodes=1, grid_points=2,
                             grid_episodes=1)
    monkeypatch.setattr(experiment, "QUICK", tiny)
    monkeypatch.setattr(experiment, "SETTINGS", {
        name: dataclasses.replace(setting, quick_timesteps=64, inner_kwargs={
            **setting.inner_kwargs, **({"n_steps": 32, "batch_size": 32} if setting.inner == "PPO" else {})})
        for name, setting in experiment.SETTINGS.items()})
    get_reproduction("robust").run(tmp_path, True)
    out = capsys.readouterr().out
    assert "worst case over the grid" in out and "IWOCS final bounds" in out
    with (tmp_path / "robust_returns.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 2 * len(experiment.METHODS)
    assert {row["method"] for row in rows} == set(experiment.METHODS)
    for row in rows:
        assert float(row["worst_case"]) <= float(row["average"])
    with (tmp_path / "iwocs_trace_cartpole.csv").open() as handle:
        trace = list(csv.DictReader(handle))
    assert [row["iteration"] for row in trace if row["seed"] == "0"] == ["0", "1"]
    summary = json.loads((tmp_path / "robust_summary.json").read_text())
    assert set(summary["settings"]) == {"cartpole", "pendulum"}
    for name in ("robust_worst_vs_average.png", "robust_heatmaps.png", "iwocs_trace.png",
                 "robust_grid_cartpole.csv", "robust_grid_pendulum.csv"):
        assert (tmp_path / name).stat().st_size > 0
