"""The ``ttpois`` reproduction's parts on tiny settings: width studies and one learning-curve run."""

import csv

import numpy as np
import pytest

from papergym.experiments import get_reproduction
from papergym.experiments.reporting import CsvLog
from papergym.experiments.ttpois import Task, measured_width_study, run_curve, width_study


def test_reproduction_is_discovered():
    assert get_reproduction("ttpois").name == "ttpois"


def test_truncation_narrows_the_interval_more_for_smaller_discount_and_longer_horizon():
    rows = {(row["gamma"], row["horizon"]): row for row in width_study((0.9, 0.99), (50, 200))}
    assert all(row["width_ratio"] < 1 for row in rows.values())
    assert rows[0.9, 50]["width_ratio"] < rows[0.99, 50]["width_ratio"]
    assert rows[0.99, 200]["width_ratio"] < rows[0.99, 50]["width_ratio"]
    for row in rows.values():
        assert row["effective_full_trajectories"] == pytest.approx(20 / row["width_ratio"] ** 2)


def test_measured_spread_of_the_truncated_estimate_is_smaller_on_lqg():
    (row,) = measured_width_study(gammas=(0.9,), horizons=(50,), batches=60)
    assert row["std_truncated"] < row["std_full"]


def test_one_curve_logs_every_iteration_with_the_exact_lqg_return(tmp_path):
    task = Task("papergym/LQG-v0", 50, 4, 2, policy_kwargs={"with_bias": False})  # 2 x 200 transitions
    log = CsvLog(tmp_path / "curve.csv", ["task", "algorithm", "seed", "iteration", "transitions", "return",
                                          "gain"])
    rows = run_curve(task, "TT-POIS", 0, log)
    assert [row["iteration"] for row in rows] == [0, 1, 2]
    assert [row["transitions"] for row in rows] == [0, 200, 400]
    assert rows[0]["gain"] == 0.0 and np.isfinite(rows[-1]["return"])
    with (tmp_path / "curve.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3
