"""The command line: every command once, and every user error as one line with exit status 2."""

import subprocess
import sys

import pytest

from papergym.cli import main
from papergym.core.errors import PapergymError


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_every_id(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "papergym/LQG-v0" in out and "papergym/LQG2D-v0" in out


def test_info_prints_the_docstring_sections(capsys):
    code, out, _ = run(capsys, "info", "papergym/LQG-v0")
    assert code == 0
    for section in ("## Description", "## Action Space", "## Observation Space", "## Rewards", "## Arguments"):
        assert section in out


def test_evaluate_a_named_agent_writes_csv(capsys, tmp_path):
    code, out, _ = run(capsys, "evaluate", "papergym/LQG-v0", "--agent", "lqr-optimal", "--episodes", "5",
                       "--out", str(tmp_path / "returns.csv"))
    assert code == 0 and "95% CI" in out
    assert len((tmp_path / "returns.csv").read_text().splitlines()) == 6


def test_train_then_evaluate_the_saved_model(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "papergym/LQG-v0", "--algo", "a2c", "--steps", "200", "--out",
                       str(tmp_path), "--no-progress", "--eval-episodes", "2")
    assert code == 0 and "trained policy" in out
    for name in ("model.zip", "learning_curve.csv", "learning_curve.png", "papergym.json"):
        assert (tmp_path / name).exists()
    code, out, _ = run(capsys, "evaluate", "papergym/LQG-v0", "--agent", str(tmp_path / "model.zip"),
                       "--episodes", "2")
    assert code == 0 and "mean return" in out


def test_reproduce_lqg_quick_writes_table_and_files(capsys, tmp_path):
    code, out, _ = run(capsys, "reproduce", "lqg", "--quick", "--out", str(tmp_path))
    assert code == 0 and "riccati K" in out and "95% CI" in out
    for name in ("lqg_returns.csv", "lqg_returns.png", "report.txt", "records.jsonl", "reproduction.json"):
        assert (tmp_path / name).exists()


def test_reproduce_without_a_name_lists_reproductions(capsys):
    from papergym.experiments import REPRODUCTIONS

    code, out, _ = run(capsys, "reproduce")
    lines = out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == list(REPRODUCTIONS)
    assert all("[quick, paper" in line for line in lines)


def test_bench_prints_the_vector_ratio(capsys, tmp_path):
    code, out, _ = run(capsys, "bench", "papergym/LQG-v0", "--steps", "200", "--num-envs", "4", "--repeats", "1",
                       "--out", str(tmp_path))
    row = next(line for line in out.splitlines() if line.startswith("| papergym/LQG-v0 "))
    _, step_us, ratio, vector, speedup = [cell.strip() for cell in row.strip("|").split("|")]
    assert code == 0 and float(step_us) > 0 and float(ratio.removesuffix("x")) > 0
    assert float(vector.replace(",", "")) > 0 and float(speedup.removesuffix("x")) >= 0  # printed to 0 decimals
    assert (tmp_path / "bench.csv").exists() and (tmp_path / "bench.png").exists()


@pytest.mark.parametrize("argv, fragment", [
    (["info", "papergym/Nope-v0"], "unknown environment id 'papergym/Nope-v0'"),
    (["evaluate", "papergym/LQG-v0", "--agent", "nobody"], "unknown agent 'nobody'"),
    (["evaluate", "papergym/LQG-v0", "--agent", "random", "--episodes", "0"], "--episodes must be >= 1"),
    (["reproduce", "nothing"], "unknown reproduction 'nothing'"),
    (["reproduce", "lqg", "--data", "."], "reproduction 'lqg' takes no --data"),
    (["train", "papergym/LQG-v0", "--algo", "dqn", "--steps", "10", "--no-progress"], "dqn needs a Discrete"),
    (["evaluate", "papergym/LQG-v0", "--agent", "missing.zip"], "no saved model"),
])
def test_user_errors_are_one_line_with_status_2(capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_unknown_algorithm_is_rejected_by_the_parser():
    result = subprocess.run([sys.executable, "-m", "papergym.cli", "train", "papergym/LQG-v0", "--algo", "xyz"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'xyz'" in result.stderr
    assert "Traceback" not in result.stderr


def test_info_describes_a_multi_agent_id(capsys):
    code, out, _ = run(capsys, "info", "papergym/Auction-v0")
    assert code == 0 and "PettingZoo" in out and "bidder_0" in out and "per agent" in out


def test_bench_papers_runs_every_script_main_or_as_a_script(tmp_path, capsys):
    from papergym.experiments.benchmark import run_paper_benchmarks

    (tmp_path / "bench_a.py").write_text("def main(argv=None):\n    print('a main', argv)\n")
    script = "import sys\nif __name__ == '__main__':\n    print('b script', sys.argv[1:])\n"
    (tmp_path / "bench_b.py").write_text(script)
    (tmp_path / "helper.py").write_text("raise SystemExit('not a benchmark')\n")
    timings = run_paper_benchmarks(tmp_path, progress=False)
    out = capsys.readouterr().out
    assert [name for name, _ in timings] == ["bench_a", "bench_b"] and all(s >= 0 for _, s in timings)
    assert "a main []" in out and "b script []" in out
    (tmp_path / "bench_c.py").write_text("raise RuntimeError('broken')\n")
    with pytest.raises(PapergymError, match=r"1 of 3 benchmark scripts failed \(bench_c.py\)"):
        run_paper_benchmarks(tmp_path, progress=False)


def test_bench_papers_outside_a_source_checkout_is_one_line(capsys, monkeypatch, tmp_path):
    import papergym

    monkeypatch.setattr(papergym, "__file__", str(tmp_path / "site-packages" / "papergym" / "__init__.py"))
    code, _, err = run(capsys, "bench", "--papers")
    assert code == 2 and "not a source checkout" in err and err.count("\n") == 1
