"""The examples run as shipped (with a short training budget)."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_evaluate_custom_agent(capsys):
    runpy.run_path(str(EXAMPLES / "evaluate_custom_agent.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "papergym evaluate: mean return" in out and "SB3 evaluate_policy" in out


def test_train_sb3(capsys):
    namespace = runpy.run_path(str(EXAMPLES / "train_sb3.py"))
    namespace["main"]("papergym/LQG-v0", 64)
    out = capsys.readouterr().out
    assert "PPO" in out and "Riccati optimum" in out


def test_my_agent_joins_a_reproduction_table(capsys, tmp_path):
    from papergym import cli

    spec = f"{EXAMPLES / 'my_agent.py'}:make_agent"
    code = cli.main(["reproduce", "lqg", "--quick", "--seeds", "2", "--set", "episodes=2", "--workers", "1",
                     "--agent", spec, "--out", str(tmp_path), "--no-progress"])
    assert code == 0 and "make_agent" in capsys.readouterr().out


def test_iwocs_exact_cartpole(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["iwocs_exact_cartpole.py", "--seeds", "1", "--iterations", "1",
                                     "--grid-points", "2"])
    runpy.run_path(str(EXAMPLES / "iwocs_exact_cartpole.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith("seed 0: nominal worst") and "IWOCS worst" in out and "(0.50, 10.0)" in out


def test_iwocs_selection_rules_cartpole_study(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["iwocs_selection_rules.py", "--study", "cartpole", "--grid-points", "2"])
    runpy.run_path(str(EXAMPLES / "iwocs_selection_rules.py"), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 15 and all(line.startswith("cartpole members") for line in lines)
    # Exact members: the combined policy balances the pole on both members' models at ratio 2.
    assert "ratio 2: " in lines[2] and "on the members' models [500.0, 500.0]" in lines[2]
