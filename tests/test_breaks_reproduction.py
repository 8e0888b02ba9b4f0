"""``papergym reproduce breaks`` end to end on tiny settings: units, records, tables, plots, resumption."""

from __future__ import annotations

import csv

import pytest

from papergym.experiments import get_reproduction
from papergym.experiments.contract import SettingsError
from papergym.experiments.runner import rebuild_report, run_reproduction

TINY = {"seeds": 2, "n_users": 300, "n_items": 300, "n_eval_users": 60, "ppo_seeds": 1, "ppo_steps": 256,
        "timing_users": 50, "agents": ("papergym.agents.breaks:NoBreaks.from_env",)}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    reproduction = get_reproduction("breaks")
    settings = reproduction.preset("quick").replace(**TINY)
    out = tmp_path_factory.mktemp("breaks")
    records = run_reproduction(reproduction, settings, out, workers=1, progress=False, verbose=False)
    return reproduction, settings, out, records


def test_every_paper_policy_and_agent_has_one_record_per_seed(finished):
    _, _, _, records = finished
    policies = [r for r in records if r["kind"] == "policy"]
    one_shot = {r["policy"] for r in policies if r["protocol"] == "one-shot"}
    assert {"LV policy", "best-of", "oracle (paper)", "oracle LV (true p*)", "rate limiter 16", "rate limiter 14",
            "adaptive LV (T0=0.5)", "adaptive LV (T0=5)", "adaptive LV (T0=50)"} == one_shot
    for name in one_shot:
        assert sorted(r["seed"] for r in policies if r["policy"] == name) == [0, 1]
    sequential = [r for r in policies if r["protocol"] == "sequential"]
    assert {r["policy"] for r in sequential} == {"PPO", "LV policy (sequential)", "oracle LV (sequential)",
                                                 "NoBreaks.from_env"}
    # the user's agent here is no breaks itself, played on the same users and seeds: no gain at all
    assert all(r["gain_pct"] == 0.0 for r in sequential if r["policy"] == "NoBreaks.from_env")
    # the oracle that knows each user's p* gains over no breaks in closed form
    assert all(r["closed_form_gain_pct"] > 0 for r in policies if r["policy"] == "oracle LV (true p*)")


def test_curve_records_match_the_closed_form_and_timing_is_recorded(finished):
    _, _, _, records = finished
    curve = [r for r in records if r["kind"] == "curve"]
    assert len({r["user"] for r in curve}) == 4 and len(curve) == 44
    for record in curve:
        if record["closed_form"] > 0:
            assert record["engagement"] == pytest.approx(record["closed_form"], rel=0.1)
    (timing,) = [r for r in records if r["kind"] == "timing"]
    assert timing["users"] == 50 and timing["events"] > 0


def test_report_files_and_rebuild_from_the_folder(finished):
    _, _, out, records = finished
    text = rebuild_report(out, verbose=False)
    assert "one-shot protocol" in text and "sequential protocol" in text and "paper %" in text
    with (out / "breaks_gains.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len([r for r in records if r["kind"] == "policy"])
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
