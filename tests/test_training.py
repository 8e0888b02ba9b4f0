"""papergym train as SB3 and rl-zoo3 users expect: --hyperparams in rl-zoo3's syntax, the reproductions'
hyperparameters in rl-zoo3 YAML files, --n-envs, --eval-freq, --threads, and progress a pipe can show."""

import json

import numpy as np
import pytest

from papergym.agents.training import (
    hyperparameter_ids,
    model_kwargs,
    paper_hyperparameters,
    parse_hyperparameters,
    zoo_hyperparameters,
)
from papergym.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_hyperparams_are_read_as_rl_zoo3_reads_them():
    parsed = parse_hyperparameters(["learning_rate:1e-3", "n_steps=64", "policy_kwargs:dict(net_arch=[8, 8])",
                                    "normalize_advantage:False", "policy:'MlpPolicy'"])
    assert parsed == {"learning_rate": 1e-3, "n_steps": 64, "policy_kwargs": {"net_arch": [8, 8]},
                      "normalize_advantage": False, "policy": "MlpPolicy"}
    import torch

    assert parse_hyperparameters(["policy_kwargs:dict(activation_fn=nn.ReLU)"])["policy_kwargs"] == {
        "activation_fn": torch.nn.ReLU}
    for bad, message in ((["lr"], "takes key:value"), (["lr:__import__('os')"], "cannot read"),
                         (["normalize:True"], "not offered by papergym train")):
        with pytest.raises(ValueError, match=message):
            parse_hyperparameters(bad)


def test_the_yaml_holds_the_reproductions_own_hyperparameters():
    from papergym.agents.threebody import dqn_hyperparameters
    from papergym.experiments.robust import ENVIRONMENTS, PPO_CARTPOLE_KWARGS, TD3_PAPER_KWARGS

    assert paper_hyperparameters("papergym/RobustCartPole-v0", "ppo") == PPO_CARTPOLE_KWARGS
    pendulum = ENVIRONMENTS["pendulum"]
    assert paper_hyperparameters(pendulum.env_id, "sac") == pendulum.inner_kwargs
    dqn = paper_hyperparameters("papergym/ThreeBody-v0", "dqn")
    assert dqn == dqn_hyperparameters()
    for env_id in hyperparameter_ids("td3"):
        td3 = paper_hyperparameters(env_id, "td3")
        noise = td3.pop("action_noise")
        expected = {key: value for key, value in TD3_PAPER_KWARGS.items() if key != "exploration_noise"}
        assert td3 == expected, env_id
        assert np.allclose(noise._sigma, TD3_PAPER_KWARGS["exploration_noise"])
    assert zoo_hyperparameters("papergym/Breaks-v0", "ppo")["n_envs"] == 16
    assert paper_hyperparameters("papergym/LQG-v0", "ppo") == {}


def test_an_rl_zoo3_entry_becomes_sb3_keyword_arguments():
    kwargs = model_kwargs({"policy": "MlpPolicy", "n_timesteps": 10, "n_envs": 2, "train_freq": [1, "episode"]})
    assert kwargs == {"train_freq": (1, "episode")}
    with pytest.raises(ValueError, match="frame_stack"):
        model_kwargs({"frame_stack": 4})


def test_train_takes_hyperparams_n_envs_and_eval_freq(capsys, tmp_path):
    code, out, err = run(capsys, "train", "papergym/LQG-v0", "--steps", "256", "--n-envs", "4", "--hyperparams",
                         "n_steps:32", "batch_size:64", "learning_rate:1e-3", "--eval-freq", "128",
                         "--eval-episodes", "2", "--out", str(tmp_path), "--no-progress")
    assert code == 0, err
    metadata = json.loads((tmp_path / "papergym.json").read_text())
    assert metadata["n_envs"] == 4 and metadata["steps"] == 256
    assert metadata["hyperparameters"] == {"n_steps": 32, "batch_size": 64, "learning_rate": 1e-3}
    evaluations = np.load(tmp_path / "evaluations.npz")
    assert evaluations["timesteps"].tolist() == [128, 256] and evaluations["results"].shape == (2, 2)
    assert "4 environments (--n-envs)" in out


def test_train_says_what_it_trained_beyond_the_steps_asked_and_why(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "papergym/LQG-v0", "--steps", "300", "--hyperparams", "n_steps:128",
                       "--eval-episodes", "1", "--out", str(tmp_path), "--no-progress")
    assert code == 0
    assert ("for 384 steps (300 asked: PPO checks the budget after each collection of 128 steps, so it trains "
            "whole collections)") in out


def test_train_progress_is_printed_as_lines_when_output_is_not_a_terminal(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "papergym/LQG-v0", "--algo", "a2c", "--steps", "200", "--eval-episodes",
                       "1", "--out", str(tmp_path))  # capsys: stdout is not a terminal
    lines = [line for line in out.splitlines() if "/200 steps (" in line]
    assert code == 0 and len(lines) == 10 and lines[-1].startswith("  200/200 steps (100%)")


def test_train_uses_the_requested_torch_threads(capsys, tmp_path):
    import torch

    code, _, _ = run(capsys, "train", "papergym/LQG-v0", "--algo", "a2c", "--steps", "10", "--threads", "2",
                     "--eval-episodes", "1", "--out", str(tmp_path), "--no-progress")
    assert code == 0 and torch.get_num_threads() == 2
    run(capsys, "train", "papergym/LQG-v0", "--algo", "a2c", "--steps", "10", "--eval-episodes", "1", "--out",
        str(tmp_path), "--no-progress")
    assert torch.get_num_threads() == 1


def test_train_refuses_what_it_cannot_do_before_any_work(capsys, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    code, _, err = run(capsys, "train", "papergym/LQG-v0", "--tensorboard-log", str(tmp_path / "tb"), "--out",
                       str(tmp_path / "run"))
    assert code == 2 and "pip install tensorboard" in err
    code, _, err = run(capsys, "train", "papergym/LQG-v0", "--hyperparams", "not_a_ppo_argument:1", "--steps", "8",
                       "--out", str(tmp_path / "run"))
    assert code == 2 and "not_a_ppo_argument" in err
    code, _, err = run(capsys, "train", "papergym/LQG-v0", "--n-envs", "0")
    assert code == 2 and "--n-envs must be >= 1" in err
