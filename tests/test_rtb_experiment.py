"""The protocol of ``papergym reproduce rtb``: which episodes tune Lin and which test the bidders."""

from __future__ import annotations

import numpy as np
import pytest

from papergym.envs.rtb import SyntheticCampaign
from papergym.experiments import get_reproduction
from papergym.experiments.rtb import compare_bidders, evaluation_setup, find_campaigns


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


def test_compare_bidders_replays_every_bidder_on_the_same_test_episodes():
    campaign = SyntheticCampaign(n_train=20_000, n_validation_episodes=4, validation_episode_length=1000,
                                 n_test=3_500).build()
    results, notes = compare_bidders(evaluation_setup(campaign), 1 / 8)
    assert list(results) == ["SS-MDP", "Mcpc", "Lin", "RLB"] and notes["Lin"].startswith("b0=")
    for result in results.values():
        assert result.auctions.tolist() == [1000, 1000, 1000, 500]


def test_reproduction_is_registered_and_rejects_an_empty_data_folder(tmp_path):
    assert get_reproduction("rtb").name == "rtb"
    with pytest.raises(ValueError, match="data"):
        find_campaigns(tmp_path)
