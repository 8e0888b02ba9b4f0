"""Command-line arguments are checked before any work; episodes stay bounded; training reports its steps."""

import csv
import json

import pytest

from papergym.cli import main
from papergym.core.rollout import DEFAULT_EPISODE_LIMIT

DLB = "papergym/DynamicalLinearBandit-v0"


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv, fragment", [
    (["train", "papergym/LQG-v0", "--steps", "0"], "--steps must be >= 1, got 0"),
    (["train", "papergym/LQG-v0", "--steps", "-3"], "--steps must be >= 1, got -3"),
    (["train", "papergym/LQG-v0", "--eval-episodes", "0"], "--eval-episodes must be >= 1, got 0"),
    (["train", "papergym/LQG-v0", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["train", DLB, "--max-episode-steps", "0"], "--max-episode-steps must be >= 1, got 0"),
    (["train", "papergym/LQG-v0", "--out", "a_file"], "--out a_file must be a folder, but a file is there"),
    (["evaluate", "papergym/LQG-v0", "--agent", "random", "--seed", "-2"], "--seed must be >= 0, got -2"),
    (["evaluate", "papergym/LQG-v0", "--agent", "random", "--max-episode-steps", "-1"],
     "--max-episode-steps must be >= 1"),
    (["evaluate", "papergym/LQG-v0", "--agent", "random", "--out", "a_folder"],
     "--out a_folder must be a file, but a folder is there"),
    (["bench", "papergym/LQG-v0", "--steps", "0"], "--steps must be >= 1, got 0"),
    (["bench", "papergym/LQG-v0", "--steps", "-3"], "--steps must be >= 1, got -3"),
    (["bench", "papergym/LQG-v0", "--repeats", "0"], "--repeats must be >= 1, got 0"),
    (["bench", "papergym/LQG-v0", "--num-envs", "0"], "--num-envs must be >= 1, got 0"),
    (["bench", "papergym/Nope-v0"], "unknown environment id"),
])
def test_bad_arguments_fail_before_any_work(capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")
    (tmp_path / "a_folder").mkdir()
    code, out, err = run(capsys, *argv)
    assert code == 2 and fragment in err and err.count("\n") == 1 and "Traceback" not in err
    assert out == ""  # nothing started
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_file", "a_folder"]  # nothing written


def test_bandit_training_and_evaluation_episodes_are_bounded(capsys, tmp_path):
    code, out, _ = run(capsys, "train", DLB, "--algo", "dqn", "--steps", "200", "--max-episode-steps", "50",
                       "--eval-episodes", "2", "--out", str(tmp_path), "--no-progress")
    assert code == 0 and "for 200 steps" in out and "at most 50 steps" in out
    with (tmp_path / "learning_curve.csv").open() as handle:
        lengths = [int(row["length"]) for row in csv.DictReader(handle)]
    assert lengths == [50, 50, 50, 50]  # four whole episodes: the curve is no longer empty
    assert json.loads((tmp_path / "papergym.json").read_text())["max_episode_steps"] == 50


def test_evaluate_bounds_an_id_without_a_time_limit_by_default(capsys):
    code, out, _ = run(capsys, "evaluate", DLB, "--agent", "random", "--episodes", "1")
    assert code == 0 and f"mean length {DEFAULT_EPISODE_LIMIT:.1f}" in out


def test_train_says_why_the_learning_curve_is_empty(capsys, tmp_path):
    code, out, _ = run(capsys, "train", DLB, "--algo", "dqn", "--steps", "100", "--eval-episodes", "1",
                       "--max-episode-steps", "200", "--out", str(tmp_path), "--no-progress")
    assert code == 0 and "no training episode ended within 100 steps" in out


def test_ppo_trains_exactly_the_steps_asked(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "papergym/LQG-v0", "--algo", "ppo", "--steps", "100", "--eval-episodes",
                       "1", "--out", str(tmp_path), "--no-progress")
    assert code == 0 and "for 100 steps (seed 0)" in out
    metadata = json.loads((tmp_path / "papergym.json").read_text())
    assert metadata["steps"] == metadata["steps_asked"] == 100


def test_bench_writes_the_table_csv_and_plot(capsys, tmp_path):
    code, out, _ = run(capsys, "bench", "papergym/LQG-v0", "--steps", "200", "--repeats", "2", "--num-envs", "4",
                       "--out", str(tmp_path))
    assert code == 0 and "CartPole-v1 (reference)" in out and "| papergym/LQG-v0 |" in out
    with (tmp_path / "bench.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["env_id"] for row in rows] == ["papergym/LQG-v0"]
    assert float(rows[0]["ratio_to_cartpole"]) > 0 and float(rows[0]["vector_speedup"]) > 0
    assert (tmp_path / "bench.png").stat().st_size > 0
