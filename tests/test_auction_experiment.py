"""The auction tournament on the reproduction contract: a tiny run through the shared runner, resumed
from its folder, and the report's arithmetic on hand-made records."""

from __future__ import annotations

import json

import pytest

from papergym.experiments.auction import (
    MATCHES,
    REPRODUCTION,
    AuctionSettings,
    build_market,
    evaluate_user_agent,
    tournament_rows,
)
from papergym.experiments.contract import SettingsError, Unit
from papergym.experiments.runner import RECORDS_FILE, rebuild_report, run_reproduction

TINY = REPRODUCTION.preset("quick").replace(seeds=1, horizon=60, episodes=2, tune_episodes=2, ppo_timesteps=64,
                                            ppo_num_envs=1, ppo_n_steps=16)


def test_tiny_tournament_runs_through_the_runner(tmp_path):
    records = run_reproduction(REPRODUCTION, TINY, tmp_path, workers=1, progress=False, verbose=False)
    matches = {(record["match"], record["agent"]) for record in records}
    for kind in ("RLB", "Lin", "PPO"):
        assert {("alone", kind), ("self", kind), ("mixed", kind)} <= matches
    for record in records:
        assert 0 <= record["cost"] <= record["budget"] and record["impressions"] <= record["auctions"]
        assert record["auctions"] == (2 * 60 if record["match"] != "alone" else 120)
    text = (tmp_path / "report.txt").read_text()
    assert "mixed: PPO" in text and "eCPC" in text
    assert (tmp_path / "auction_tournament.png").stat().st_size > 0
    assert (tmp_path / "auction_tournament.csv").read_text().count("\n") == len(matches) + 1
    lines = (tmp_path / RECORDS_FILE).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["unit"] == "matches,seed=0"
    assert rebuild_report(tmp_path, verbose=False) == text.rstrip("\n")


def test_report_sums_seats_of_a_type_and_averages_over_seeds():
    def record(seed, match, agent, seat, clicks, cost):
        return {"seed": seed, "match": match, "agent": agent, "seat": seat, "note": "", "auctions": 100,
                "impressions": 10, "clicks": clicks, "cost": cost, "pctr": 0.5, "episodes": 2, "budget": 1000}

    records = [record(0, "self", "Lin", 0, 2, 300), record(0, "self", "Lin", 1, 0, 100),
               record(1, "self", "Lin", 0, 4, 500), record(1, "self", "Lin", 1, 2, 100)]
    (row,) = tournament_rows(records)
    # Per seed, clicks per bidder-episode: (2 + 0) / 4 and (4 + 2) / 4.
    assert row["clicks_per_episode"] == pytest.approx((0.5 + 1.5) / 2)
    assert row["ecpc"] == pytest.approx(1000 / 8) and row["win_rate"] == pytest.approx(0.1)
    assert row["cost_per_episode"] == pytest.approx(1000 / 8) and row["budget_spent"] == pytest.approx(0.25)


def test_settings_are_validated_and_user_agents_add_units():
    with pytest.raises(SettingsError, match="n_bidders"):
        AuctionSettings(seeds=1, n_bidders=1)
    with pytest.raises(SettingsError, match="auction"):
        AuctionSettings(seeds=1, auction="dutch")
    with pytest.raises(SettingsError, match="c0"):
        AuctionSettings(seeds=1, c0=0.0)
    with pytest.raises(SettingsError, match="data"):
        AuctionSettings(seeds=1, data="/no/such/folder")
    settings = TINY.replace(seeds=2, agents=("my_module:make_bidder",))
    assert [unit.key for unit in REPRODUCTION.all_units(settings)] == [
        "matches,seed=0", "matches,seed=1", "agent,seed=0,agent=my_module:make_bidder",
        "agent,seed=1,agent=my_module:make_bidder"]


def test_a_seeds_market_is_shared_by_the_paper_and_a_users_agent_and_differs_between_seeds():
    user = Unit("agent", 0, {"agent": "my_module:make_bidder"})
    paper, other = build_market(TINY, Unit(MATCHES, 0)), build_market(TINY, Unit(MATCHES, 1))
    assert build_market(TINY, user).recipe == paper.recipe != other.recipe
    assert build_market(TINY.replace(seed=1), Unit(MATCHES, 0)).recipe != paper.recipe


def test_a_users_agent_plays_alone_against_itself_and_with_rlb_and_lin(tmp_path, monkeypatch):
    (tmp_path / "my_bidders.py").write_text(
        "import numpy as np\n\n"
        "class Constant:\n"
        "    def predict(self, observation, state=None, episode_start=None, deterministic=False):\n"
        "        return np.int64(40), state\n\n"
        "def make_bidder(env):\n"
        "    return Constant()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    records = evaluate_user_agent(TINY, Unit("agent", 0, {"agent": "my_bidders:make_bidder"}))
    assert {(record["match"], record["agent"]) for record in records} == {
        ("alone", "make_bidder"), ("self", "make_bidder"), ("mixed make_bidder", "make_bidder"),
        ("mixed make_bidder", "RLB"), ("mixed make_bidder", "Lin")}
    alone = next(record for record in records if record["match"] == "alone")
    assert alone["auctions"] == 2 * 60 and alone["impressions"] > 0
