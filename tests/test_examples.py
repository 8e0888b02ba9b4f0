"""The examples run as shipped (with a short training budget)."""

import re
import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_evaluate_custom_agent_gives_the_same_return_through_both_harnesses(capsys):
    runpy.run_path(str(EXAMPLES / "evaluate_custom_agent.py"), run_name="__main__")
    out = capsys.readouterr().out
    ours = re.search(r"papergym evaluate: mean return (\S+), 95% CI \[(\S+), (\S+)\]", out)
    sb3 = re.search(r"SB3 evaluate_policy: mean return (\S+) ", out)
    assert ours and sb3, out
    mean, low, high = map(float, ours.groups())
    assert low < mean < high < 0
    # two independent 200-episode means of the same policy: their gap is within ~2.5 half-widths (p < 1%)
    assert abs(float(sb3.group(1)) - mean) < 2.5 * (high - low) / 2


def test_train_sb3(capsys):
    namespace = runpy.run_path(str(EXAMPLES / "train_sb3.py"))
    namespace["main"]("papergym/LQG-v0", 64)
    rows = {}
    for line in capsys.readouterr().out.splitlines():  # "name: mean return M  95% CI [low, high]"
        name, found, rest = line.partition(": mean return ")
        if not found:  # the progress bar's lines
            continue
        mean, _, interval = rest.partition("95% CI [")
        low, high = (float(value) for value in interval.rstrip("]").split(","))
        rows[name.strip()] = (float(mean), low, high)
    assert set(rows) == {"PPO", "random", "Riccati optimum"}
    assert all(low <= mean <= high for mean, low, high in rows.values())
    # The Riccati controller is optimal for LQG: on the same 100 evaluation seeds neither a 64-step PPO nor a
    # random policy beats it, and it beats random by far (the random policy's cost is several times larger).
    optimum = rows["Riccati optimum"][0]
    assert optimum >= rows["PPO"][0] and optimum >= rows["random"][0]
    assert rows["random"][0] < 2 * optimum  # returns are negative costs


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
