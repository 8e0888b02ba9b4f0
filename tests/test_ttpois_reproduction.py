"""The ``ttpois`` reproduction on tiny settings: width studies, estimator spread, curves, a user agent."""

import csv

import numpy as np
import pytest

from papergym.agents.lqg import LQROptimal, riccati_gain
from papergym.envs.lqg import LQGModel
from papergym.experiments import get_reproduction
from papergym.experiments.runner import run_reproduction
from papergym.experiments.ttpois import (
    PRESETS,
    TASKS,
    discounted_linear_return,
    discounted_riccati_gain,
    estimator_spread,
    width_study,
)


def riccati_agent(env):
    """A user agent for the tests: the Riccati regulator."""
    return LQROptimal.from_env(env)


def test_reproduction_is_on_the_contract():
    reproduction = get_reproduction("ttpois")
    assert set(reproduction.presets) >= {"quick", "paper"}
    assert PRESETS["paper"].seeds >= 10 and "lqg-long" in PRESETS["paper"].tasks


def test_settings_refuse_unknown_tasks():
    with pytest.raises(ValueError, match="tasks"):
        PRESETS["quick"].replace(tasks=("lqg", "nowhere"))


def test_truncation_narrows_the_interval_more_for_smaller_discount_and_longer_horizon():
    rows = {(row["gamma"], row["horizon"]): row for row in width_study((0.9, 0.99), (50, 200))}
    assert all(row["width_ratio"] < 1 for row in rows.values())
    assert rows[0.9, 50]["width_ratio"] < rows[0.99, 50]["width_ratio"]
    assert rows[0.99, 200]["width_ratio"] < rows[0.99, 50]["width_ratio"]
    for row in rows.values():
        assert row["effective_full_trajectories"] == pytest.approx(20 / row["width_ratio"] ** 2)


def test_the_long_horizon_task_spans_many_effective_horizons():
    assert TASKS["lqg-long"].effective_horizons >= 10 >= 5 * TASKS["lqg"].effective_horizons


def test_measured_spread_of_the_truncated_estimate_is_smaller_where_t_is_long():
    row = estimator_spread(TASKS["lqg-long"], batches=8, policy_seed=0, env_seed=0)
    assert row["std_truncated"] < row["std_full"]
    assert row["width_ratio"] < 0.5


def test_discounted_riccati_gain_is_the_best_stationary_gain_for_the_discounted_return():
    model = LQGModel.from_kwargs()
    assert discounted_riccati_gain(model, 1.0) == pytest.approx(riccati_gain(model)[0])
    gain = discounted_riccati_gain(model, 0.9)
    best = discounted_linear_return(model, gain, 400, 0.9)
    for factor in (0.9, 1.1):
        assert discounted_linear_return(model, factor * gain, 400, 0.9) < best


def test_tiny_run_through_the_runner_with_a_user_agent(tmp_path):
    settings = PRESETS["quick"].replace(tasks=("lqg",), seeds=2, iterations=2, estimator_batches=3,
                                        agents=("test_ttpois_reproduction:riccati_agent",))
    text = run_reproduction(get_reproduction("ttpois"), settings, tmp_path, workers=1, progress=False,
                            verbose=False) and (tmp_path / "report.txt").read_text()
    assert "riccati_agent" in text and "TT-POIS - POIS" in text and "K* = 0.6" in text
    with (tmp_path / "ttpois_curves.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    curve = [row for row in rows if row["algorithm"] == "TT-POIS" and row["seed"] == "0"]
    assert [int(row["transitions"]) for row in curve] == [0, 1000, 2000]
    assert all(np.isfinite(float(row["discounted"])) for row in curve)


def test_units_are_typed_and_pois_and_ttpois_of_a_seed_share_their_seed():
    from papergym.experiments.ttpois import CURVE, agent_units, units

    settings = PRESETS["quick"]
    found = units(settings)
    assert {unit.kind for unit in found} == {"widths", "estimator", "curve"}
    curves = [unit for unit in found if unit.kind == CURVE]
    assert len(curves) == len(settings.tasks) * settings.seeds * 2
    seed_of = {(unit["task"], unit["algorithm"], unit.seed): unit.stream_seed(settings, "algorithm", kind=CURVE)
               for unit in curves}
    assert seed_of["lqg-long", "POIS", 0] == seed_of["lqg-long", "TT-POIS", 0]
    assert seed_of["lqg-long", "POIS", 0] != seed_of["lqg-long", "POIS", 1]
    assert seed_of["lqg-long", "POIS", 0] != curves[0].stream_seed(settings.replace(seed=1), "algorithm")
    assert [cell["task"] for cell in agent_units(settings)] == list(settings.tasks)
