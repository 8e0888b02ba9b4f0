"""Campaign logs and their loaders for papergym/RTB-v0 (small files written here, and the real iPinYou
campaign 2997 when the shared data folder is present)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from papergym.envs.rtb import (
    BidLog,
    Campaign,
    SyntheticCampaign,
    load_campaign,
    read_campaign_folder,
    read_episodes_file,
    read_info,
    read_theta_log,
)

IPINYOU = Path(__file__).resolve().parents[2] / "shared" / "data" / "ipinyou"


def _write_campaign(folder: Path, episodes: str | None = None, test: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    counts = [0] * 301
    counts[5], counts[20] = 3, 1
    (folder / "info.json").write_text(json.dumps({"imp_train": 4, "clk_train": 1, "cost_train": 35,
                                                  "price_counter_train": counts, "dim": 10}))
    if episodes is not None:
        (folder / "episodes-3.txt").write_text(episodes)
    if test is not None:
        (folder / "test.theta.txt").write_text(test)
    return folder


EPISODES = "10\t3\n1\n0\t5\t0.01\n1\t20\t0.2\n0\t0\t0.001\n2\n0\t7\t0.02\n0\t300\t0.5\n1\t1\t0.03\n"
THETA = "0 5 0.01\n1 20 0.2\n0 0 0.001\n"


def test_episodes_file_is_read_as_one_segment_per_episode(tmp_path):
    log = read_episodes_file(_write_campaign(tmp_path, EPISODES) / "episodes-3.txt")
    assert log.segment_starts.tolist() == [0, 3]
    assert log.clicks.tolist() == [0, 1, 0, 0, 0, 1]
    assert log.prices.tolist() == [5, 20, 0, 7, 300, 1]
    np.testing.assert_allclose(log.pctrs, [0.01, 0.2, 0.001, 0.02, 0.5, 0.03])


def test_theta_log_is_one_segment(tmp_path):
    log = read_theta_log(_write_campaign(tmp_path, test=THETA) / "test.theta.txt")
    assert log.segment_starts.tolist() == [0]
    assert log.prices.tolist() == [5, 20, 0]


@pytest.mark.parametrize("text, line", [
    ("10 3 4\n1\n", 1),                                  # header with three fields
    ("10\t3\n2\n0\t5\t0.1\n0\t5\t0.1\n0\t5\t0.1\n", 2),  # episodes must be numbered from 1
    ("10\t3\n1\n0\t5\t0.1\n0\t5\t0.1\n", 2),             # a block shorter than T
    ("10\t3\n1\n0\t5\t0.1\n0\t5\n0\t5\t0.1\n", 4),       # two fields
    ("10\t3\n1\n0\t5\t0.1\n2\t5\t0.1\n0\t5\t0.1\n", 4),  # click not 0/1
    ("10\t3\n1\n0\t5\t0.1\n0\t-5\t0.1\n0\t5\t0.1\n", 4),  # negative price
    ("10\t3\n1\n0\t5\t0.1\n0\t5.5\t0.1\n0\t5\t0.1\n", 4),  # fractional price
    ("10\t3\n1\n0\t5\t0.1\n0\t5\tabc\n0\t5\t0.1\n", 4),  # pctr not a number
    ("10\t3\n1\n0\t5\t0.1\n0\t5\t1.5\n0\t5\t0.1\n", 4),  # pctr above 1
    ("10\t3\n1\n0\t5\t0.1\n0\t5\tnan\n0\t5\t0.1\n", 4),  # pctr nan
])
def test_malformed_episodes_file_names_file_and_line(tmp_path, text, line):
    path = tmp_path / "episodes-3.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"episodes-3\.txt, line {line}:"):
        read_episodes_file(path)


@pytest.mark.parametrize("text, line", [("0 5 0.1\n0 5\n", 2), ("0 5 0.1\n0 5 0.1\n1 x 0.1\n", 3),
                                        ("0 5 -0.1\n", 1), ("yes 5 0.1\n", 1)])
def test_malformed_theta_log_names_file_and_line(tmp_path, text, line):
    path = tmp_path / "test.theta.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"test\.theta\.txt, line {line}:"):
        read_theta_log(path)


def test_empty_log_and_bad_info_are_rejected(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(ValueError, match=r"empty\.txt: no auction records"):
        read_theta_log(empty)
    info = tmp_path / "info.json"
    info.write_text(json.dumps({"imp_train": 4, "clk_train": 1, "cost_train": 35}))
    with pytest.raises(ValueError, match="price_counter_train"):
        read_info(info)
    info.write_text(json.dumps({"imp_train": 4, "clk_train": 1, "cost_train": 35, "price_counter_train": [1]}))
    with pytest.raises(ValueError, match="301"):
        read_info(info)
    info.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_info(info)


def test_campaign_folder_reads_both_formats_and_the_statistics(tmp_path):
    campaign = read_campaign_folder(_write_campaign(tmp_path / "camp", EPISODES, THETA))
    assert sorted(campaign.logs) == ["test", "validation"]
    assert campaign.name == "camp"
    assert campaign.cpm == 35 / 4 and campaign.theta_avg == 1 / 4 and campaign.cpc == 35.0
    pdf = campaign.market_price_pdf
    assert pdf.shape == (301,) and pdf.sum() == pytest.approx(1.0)
    assert pdf[5] == pytest.approx(4 / (4 + 301)) and pdf[0] == pytest.approx(1 / (4 + 301))
    assert campaign.budget(1000, 1 / 32) == int(35 / 4 / 32 * 1000)
    assert load_campaign(tmp_path / "camp").logs["test"].prices.tolist() == [5, 20, 0]


def test_campaign_folder_errors(tmp_path):
    with pytest.raises(ValueError, match=r"info\.json"):
        read_campaign_folder(tmp_path)
    with pytest.raises(ValueError, match="neither"):
        read_campaign_folder(_write_campaign(tmp_path / "bare"))
    with pytest.raises(ValueError, match="campaign"):
        load_campaign(3.5)


def _log(lengths: list[int]) -> BidLog:
    size = sum(lengths)
    return BidLog.from_arrays(np.zeros(size), np.arange(size) % 301, np.full(size, 0.01),
                              np.cumsum([0, *lengths[:-1]]))


def test_evaluation_episodes_cut_each_segment_and_keep_the_short_rest():
    starts, ends = _log([25, 7]).episodes(10)
    assert starts.tolist() == [0, 10, 20, 25]
    assert ends.tolist() == [10, 20, 25, 32]


def test_random_episodes_stay_inside_one_segment():
    log = _log([25, 7, 40])
    starts, ends = log.random_episodes(np.random.default_rng(0), 10, 2000)
    segment_of_start = np.searchsorted(log.segment_starts, starts, side="right") - 1
    assert np.all(ends <= log.segment_ends[segment_of_start])
    assert np.all(ends - starts == np.where(segment_of_start == 1, 7, 10))
    assert set(starts.tolist()) == set(range(0, 16)) | {25} | set(range(32, 63))


def test_select_segments_and_bad_arrays():
    log = _log([3, 4, 5]).select_segments([2, 0])
    assert log.segment_starts.tolist() == [0, 5] and log.prices.tolist() == [7, 8, 9, 10, 11, 0, 1, 2]
    with pytest.raises(ValueError, match="segment indices"):
        _log([3]).select_segments([1])
    with pytest.raises(ValueError, match="clicks"):
        BidLog.from_arrays([2], [1], [0.1])
    with pytest.raises(ValueError, match="prices"):
        BidLog.from_arrays([0], [1.5], [0.1])
    with pytest.raises(ValueError, match="pctrs"):
        BidLog.from_arrays([0], [1], [1.1])
    with pytest.raises(ValueError, match="segment_starts"):
        BidLog.from_arrays([0, 1], [1, 2], [0.1, 0.2], [1])


def test_synthetic_campaign_is_deterministic_realistic_and_pickles_as_its_recipe():
    recipe = SyntheticCampaign(n_train=50_000, n_validation_episodes=5, n_test=20_000, seed=3)
    campaign = recipe.build()
    again = SyntheticCampaign(n_train=50_000, n_validation_episodes=5, n_test=20_000, seed=3).build()
    np.testing.assert_array_equal(campaign.logs["test"].prices, again.logs["test"].prices)
    assert 63 <= campaign.cpm <= 93  # the nine iPinYou campaigns' range of CPM
    test = campaign.logs["test"]
    assert np.corrcoef(np.log(test.pctrs), np.log(np.maximum(test.prices, 1)))[0, 1] > 0.05
    assert campaign.logs["validation"].n_segments == 5
    blob = pickle.dumps(campaign)
    assert len(blob) < 2000
    np.testing.assert_array_equal(pickle.loads(blob).logs["train"].pctrs, campaign.logs["train"].pctrs)
    with pytest.raises(ValueError, match="price_pctr_correlation"):
        SyntheticCampaign(price_pctr_correlation=1.5)


def test_campaign_rejects_bad_statistics():
    with pytest.raises(ValueError, match="price_counter_train"):
        Campaign("x", 1, 1, 1, np.zeros(5))
    with pytest.raises(ValueError, match="clk_train"):
        Campaign("x", 10, 0, 1, np.zeros(301))


@pytest.mark.skipif(not (IPINYOU / "2997").is_dir(), reason="shared iPinYou data not present")
def test_real_campaign_2997_loads_with_its_documented_sizes():
    campaign = read_campaign_folder(IPINYOU / "2997")
    info = json.loads((IPINYOU / "2997" / "info.json").read_text())
    assert campaign.imp_train == info["imp_train"] == 312437
    assert len(campaign.logs["test"]) == info["imp_test"] == 156063
    assert int(campaign.logs["test"].clicks.sum()) == info["clk_test"]
    assert int(campaign.logs["test"].prices.sum()) == info["cost_test"]
    assert campaign.logs["validation"].n_segments == 100 and len(campaign.logs["validation"]) == 100_000
    starts, ends = campaign.logs["test"].episodes(1000)
    assert len(starts) == 157 and ends[-1] - starts[-1] == 63
    assert campaign.budget(1000, 1 / 32) == int(19689072 / 312437 / 32 * 1000)
