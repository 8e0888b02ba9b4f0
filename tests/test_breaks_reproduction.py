"""``papergym reproduce breaks`` end to end on tiny settings: units by kind, shared streams, records, tables,
plots, resumption."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from papergym.agents.breaks import LVBreakPolicy, NoBreaks, train_regressors
from papergym.experiments import get_reproduction
from papergym.experiments.breaks import (
    ONE_SHOT,
    SEQUENTIAL,
    WORLD,
    eval_env,
    evaluate_user_agent,
    experiment_seed,
    population_seed,
    rollout_engagement,
)
from papergym.experiments.contract import SettingsError, Unit
from papergym.experiments.runner import load_results, rebuild_report, run_reproduction

TINY = {"seeds": 2, "n_users": 300, "n_items": 300, "n_eval_users": 60, "ppo_seeds": 1, "ppo_steps": 256,
        "timing_users": 50, "agents": ("papergym.agents.breaks:NoBreaks.from_env",)}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    reproduction = get_reproduction("breaks")
    settings = reproduction.preset("quick").replace(**TINY)
    out = tmp_path_factory.mktemp("breaks")
    records = run_reproduction(reproduction, settings, out, workers=1, progress=False, verbose=False)
    return reproduction, settings, out, records


def test_units_are_typed_and_user_agents_join_every_seed(finished):
    reproduction, settings, _, _ = finished
    keys = [unit.key for unit in reproduction.all_units(settings)]
    assert keys == ["one-shot,seed=0", "one-shot,seed=1", "sequential,seed=0", "curve", "timing",
                    "agent,seed=0,agent=papergym.agents.breaks:NoBreaks.from_env",
                    "agent,seed=1,agent=papergym.agents.breaks:NoBreaks.from_env"]


def test_every_paper_policy_and_agent_has_one_record_per_seed(finished):
    _, _, out, _ = finished
    _, _, results = load_results(out)
    one_shot = {r["policy"] for r in results.of_kind(ONE_SHOT)}
    assert {"LV policy", "best-of", "oracle (paper)", "oracle LV (true p*)", "rate limiter 16", "rate limiter 14",
            "adaptive LV (T0=0.5)", "adaptive LV (T0=5)", "adaptive LV (T0=50)"} == one_shot
    for name in one_shot:
        assert sorted(r["seed"] for r in results.of_kind(ONE_SHOT) if r["policy"] == name) == [0, 1]
    assert {r["policy"] for r in results.of_kind(SEQUENTIAL)} == {"PPO", "LV policy (sequential)",
                                                                  "oracle LV (sequential)"}
    agent = results.of_kind("agent")
    assert sorted(r["seed"] for r in agent) == [0, 1] and {r["policy"] for r in agent} == {"NoBreaks.from_env"}
    # the user's agent here is no breaks itself, played on the same users and episode seed: no gain at all
    assert all(r["gain_pct"] == 0.0 and r["protocol"] == "sequential" for r in agent)
    # ... and its baseline is the paper units' baseline of that seed (the same users' events)
    sequential_baseline = {r["no_breaks_engagement"] for r in results.of_kind(SEQUENTIAL)}
    assert {r["no_breaks_engagement"] for r in agent if r["seed"] == 0} == sequential_baseline
    # the oracle that knows each user's p* gains over no breaks in closed form
    assert all(r["closed_form_gain_pct"] > 0 for r in results.of_kind(ONE_SHOT)
               if r["policy"] == "oracle LV (true p*)")


def test_curve_records_match_the_closed_form_and_timing_is_recorded(finished):
    _, _, out, _ = finished
    _, _, results = load_results(out)
    curve = results.of_kind("curve")
    assert len({r["user"] for r in curve}) == 4 and len(curve) == 44
    for record in curve:
        if record["closed_form"] > 0:
            assert record["engagement"] == pytest.approx(record["closed_form"], rel=0.1)
    (timing,) = results.of_kind("timing")
    assert timing["users"] == 50 and timing["events"] > 0


def test_a_seed_has_one_world_and_experiment_for_every_kind(finished):
    _, settings, _, _ = finished
    for seed in range(2):
        kinds = [Unit(ONE_SHOT, seed), Unit(SEQUENTIAL, seed), Unit("agent", seed, {"agent": "x:y"})]
        assert len({population_seed(settings, unit) for unit in kinds}) == 1
        assert len({experiment_seed(settings, unit) for unit in kinds}) == 1
    assert population_seed(settings, Unit(ONE_SHOT, 0)) != population_seed(settings, Unit(ONE_SHOT, 1))
    assert population_seed(settings, Unit("curve")) == Unit(WORLD, 0).stream_seed(settings, "population")
    assert population_seed(settings, Unit(ONE_SHOT, 0)) != experiment_seed(settings, Unit(ONE_SHOT, 0))


def test_the_lv_policy_of_both_protocols_learns_from_the_seeds_experiment(finished):
    _, settings, _, _ = finished
    unit = Unit(SEQUENTIAL, 1)
    env = eval_env(settings, unit)
    world = env.unwrapped.world
    sequential = LVBreakPolicy.from_env(env, seed=experiment_seed(settings, unit)).regressors
    one_shot = train_regressors(world, world.split_users("train", settings.n_eval_users),
                                np.random.default_rng(experiment_seed(settings, Unit(ONE_SHOT, 1))))
    for ours, theirs in zip(sequential.models, one_shot.models):
        assert np.array_equal(ours.coefficients, theirs.coefficients)


def test_sequential_evaluation_is_common_to_every_policy_of_a_seed(finished):
    _, settings, _, _ = finished
    paper, user = Unit(SEQUENTIAL, 1), Unit("agent", 1, {"agent": "papergym.agents.breaks:NoBreaks.from_env"})
    agent = NoBreaks.from_env(eval_env(settings, paper))
    first, _ = rollout_engagement(agent, settings, paper)
    second, _ = rollout_engagement(agent, settings, user)
    assert np.array_equal(first, second)
    (record,) = evaluate_user_agent(settings, user)
    assert record["no_breaks_engagement"] == pytest.approx(float(first.mean()))


def test_report_files_and_rebuild_from_the_folder(finished):
    _, _, out, _ = finished
    _, _, results = load_results(out)
    text = rebuild_report(out, verbose=False)
    assert "one-shot protocol" in text and "sequential protocol" in text and "paper %" in text
    assert text.startswith("Claims of") and "lv-beats-best-of" in text
    policies = results.of_kind(ONE_SHOT) + results.of_kind(SEQUENTIAL) + results.of_kind("agent")
    with (out / "breaks_gains.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(policies)
    for name in ("breaks_gains_one-shot.png", "breaks_gains_sequential.png", "breaks_engagement_vs_break_rate.png"):
        assert (out / name).stat().st_size > 0


def test_rerun_resumes_without_recomputing(finished):
    reproduction, settings, out, records = finished
    again = run_reproduction(reproduction, settings, out, workers=1, progress=False, verbose=False)
    assert again == records


def test_settings_name_the_bad_field():
    settings = get_reproduction("breaks").preset("quick")
    with pytest.raises(SettingsError, match="n_eval_users"):
        settings.replace(n_eval_users=6040)
    with pytest.raises(SettingsError, match="data"):
        settings.replace(data="no/such/ratings.dat")
    with pytest.raises(SettingsError, match="refit_times"):
        settings.replace(refit_times=(0.0,))
    with pytest.raises(SettingsError, match="dynamics"):
        settings.replace(dynamics="euler")
    with pytest.raises(SettingsError, match="rate_limits"):
        settings.replace(rate_limits=(-1.0,))


MOVIELENS_100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-100k" / "u.data"


@pytest.mark.skipif(not MOVIELENS_100K.is_file(), reason="MovieLens 100K is not in the shared data folder "
                                                         "(its terms do not allow shipping it with the project)")
def test_the_pipeline_runs_on_real_movielens_100k_users(tmp_path):
    reproduction = get_reproduction("breaks")
    settings = reproduction.preset("quick").replace(seeds=1, data=str(MOVIELENS_100K), ppo_steps=0,
                                                    timing_users=0, refit_times=(5.0,), rate_limits=(16.0,))
    run_reproduction(reproduction, settings, tmp_path, workers=1, progress=False, verbose=False)
    _, _, results = load_results(tmp_path)
    one_shot = results.of_kind(ONE_SHOT)
    # the paper's share of held-out users (1,000 of 6,040) of 943 users, less any that churn without breaks
    assert {r["users"] for r in one_shot} <= set(range(150, 158))
    assert {r["policy"] for r in one_shot} == {"LV policy", "best-of", "oracle (paper)", "oracle LV (true p*)",
                                               "rate limiter 16", "adaptive LV (T0=5)"}
    assert all(np.isfinite(r["gain_pct"]) for r in one_shot)
    oracle = next(r for r in one_shot if r["policy"] == "oracle LV (true p*)")
    assert oracle["closed_form_gain_pct"] > 0
    assert "MovieLens 100K" in rebuild_report(tmp_path, verbose=False)


def test_data_must_be_a_movielens_ratings_file(tmp_path):
    settings = get_reproduction("breaks").preset("quick")
    other = tmp_path / "ratings.csv"
    other.write_text("userId,movieId,rating,timestamp\n")
    with pytest.raises(SettingsError, match=r"data must be a MovieLens 1M ratings.dat or 100K u.data.*line 1"):
        settings.replace(data=str(other))
