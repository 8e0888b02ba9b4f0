"""The protocol of ``papergym reproduce rtb``: which episodes tune Lin and which test the bidders."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.agents.rtb import RLB
from papergym.envs.rtb import SyntheticCampaign
from papergym.experiments import get_reproduction
from papergym.experiments.contract import AGENT_KIND, FinishedUnit, Results, SettingsError, Unit
from papergym.experiments.rtb import (
    BIDDERS,
    PRESETS,
    agent_units,
    evaluate_user_agent,
    evaluation_setup,
    report,
    run_bidders,
    units,
)

TINY = SyntheticCampaign(n_train=20_000, n_validation_episodes=4, validation_episode_length=1000, n_test=3_500,
                         name="tiny")


def rlb_agent(env):
    """A user agent for the tests: RLB built from the environment alone."""
    return RLB.from_env(env)


@pytest.fixture
def tiny_campaigns(monkeypatch):
    monkeypatch.setattr("papergym.experiments.rtb.SYNTHETIC_CAMPAIGNS", (TINY,))


def test_campaign_without_test_log_tunes_on_the_first_half_and_tests_on_the_second():
    campaign = SyntheticCampaign(n_train=20_000, n_validation_episodes=6, validation_episode_length=100,
                                 n_test=100).build()
    validation = campaign.logs["validation"]
    setup = evaluation_setup(campaign.with_logs(validation=validation))
    assert (setup.tune_split, setup.test_split) == ("tune", "test")
    np.testing.assert_array_equal(setup.campaign.logs["tune"].prices, validation.prices[:300])
    np.testing.assert_array_equal(setup.campaign.logs["test"].prices, validation.prices[300:])
    assert setup.campaign.logs["test"].n_segments == 3
    with_test = evaluation_setup(campaign)
    assert (with_test.tune_split, with_test.test_split) == ("validation", "test")


def test_bidders_unit_replays_every_bidder_on_the_same_test_episodes(tiny_campaigns, tmp_path):
    settings = PRESETS["quick"].replace(c0=(1 / 8,), agents=("test_rtb_experiment:rlb_agent",))
    cell = Unit(BIDDERS, None, {"campaign": "tiny", "c0": 1 / 8})
    bidders = run_bidders(settings, cell)
    assert [row["agent"] for row in bidders] == ["SS-MDP", "Mcpc", "Lin", "RLB"]
    assert all(row["episodes"] == 4 and row["auctions"] == 3_500 for row in bidders)
    assert all(0.0 <= row["budget_spent"] <= 1.0 for row in bidders)
    assert agent_units(settings) == [cell]
    agent_unit = Unit(AGENT_KIND, None, {"agent": "test_rtb_experiment:rlb_agent", **cell.params})
    (user,) = evaluate_user_agent(settings, agent_unit)
    rlb = bidders[-1]
    assert user["agent"] == "rlb_agent"
    assert (user["clicks"], user["impressions"], user["cost"]) == (rlb["clicks"], rlb["impressions"], rlb["cost"])
    results = Results([FinishedUnit(cell, bidders, 1.0), FinishedUnit(agent_unit, [user], 1.0)], "quick")
    text = report(settings, results, tmp_path)
    assert "RLB vs Lin" in text and "rlb_agent" in text and "spent" in text
    assert (tmp_path / "rtb_small_scale.csv").stat().st_size > 0


def test_units_are_typed_and_seeds_repeat_only_ppo(tiny_campaigns):
    settings = PRESETS["quick"].replace(c0=(1 / 8, 1 / 4), seeds=3)
    kinds = [unit.kind for unit in units(settings)]
    assert kinds == ["bidders", "bidders", "ppo", "ppo", "ppo", "large"]
    assert [unit.seed for unit in units(settings) if unit.kind == "ppo"] == [0, 1, 2]
    assert "ppo" not in [unit.kind for unit in units(settings.replace(ppo_steps=0))]


def test_data_is_a_validated_setting(tmp_path):
    assert get_reproduction("rtb").takes("data")
    with pytest.raises(SettingsError, match="data"):
        PRESETS["quick"].replace(data=str(tmp_path))
    with pytest.raises(SettingsError, match="c0"):
        PRESETS["quick"].replace(c0=(0.0,))


def test_tiny_run_through_the_runner(tiny_campaigns, tmp_path):
    from papergym.experiments.runner import run_reproduction

    settings = PRESETS["quick"].replace(c0=(1 / 8,), ppo_steps=0, large_horizon=400, large_episodes=2,
                                        large_t0=40, large_train_steps=20)
    records = run_reproduction(get_reproduction("rtb"), settings, tmp_path, workers=1, progress=False,
                               verbose=False)
    large = [row for row in records if row["scale"] == "large"]
    assert [row["agent"] for row in large] == ["Lin", "Mcpc", "RLB-NN MapD", "RLB-NN MapA", "RLB-NN Seg"]
    assert all(row["cost"] <= row["budget"] * row["episodes"] for row in large)
    text = (tmp_path / "report.txt").read_text()
    assert "row-2997" in text and "rlb-beats-lin" in text
    assert "RMSE / theta_avg" in text and "bids equal to the exact DP's" in text and "RLB vs Lin" in text
