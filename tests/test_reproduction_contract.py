"""The reproduction contract and its runner: presets, overrides, resume, worker-count independence, report
rebuild, a user's agent in the table, the CLI's one-line errors, and a light ``import papergym``."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import gymnasium as gym
import numpy as np
import pytest

from papergym import cli
from papergym.core.errors import PapergymError
from papergym.experiments import get_reproduction, reproductions
from papergym.experiments.contract import (
    AGENT_KIND,
    RecordSchema,
    Reproduction,
    Results,
    Settings,
    SettingsError,
    Unit,
    Value,
    agent_label,
    load_agent,
    parse_value,
    setting,
)
from papergym.experiments.runner import (
    RECORDS_FILE,
    REPORT_FILE,
    LocalExecutor,
    RunningUnits,
    run_reproduction,
)
from papergym.registration import ENVIRONMENTS

LQG = get_reproduction("lqg")
TINY = LQG.preset("quick").replace(seeds=2, episodes=3)


def zero_force_agent(env: gym.Env):
    """A user's agent for the tests: always pushes with zero force."""

    class ZeroForce:
        def predict(self, observation, state=None, episode_start=None, deterministic=False):
            return np.zeros(env.action_space.shape, dtype=env.action_space.dtype), state

    return ZeroForce()


def _records(folder: Path) -> list[dict]:
    lines = (folder / RECORDS_FILE).read_text().splitlines()
    return sorted((json.loads(line)["unit"], json.loads(line)["records"]) for line in lines)


def test_every_reproduction_has_quick_and_paper_presets():
    for name, reproduction in reproductions().items():
        if isinstance(reproduction, Reproduction):
            assert {"quick", "paper"} <= set(reproduction.presets), name
            for settings in reproduction.presets.values():
                assert isinstance(settings, Settings)
                assert type(settings).from_dict(settings.as_dict()) == settings


def test_settings_are_validated_and_overridable_by_field_type():
    assert TINY.with_overrides({"episodes": "7", "seeds": "3"}).episodes == 7
    with pytest.raises(SettingsError, match="episodes"):
        TINY.replace(episodes=0)
    with pytest.raises(SettingsError, match="seeds"):
        TINY.replace(seeds=0)
    with pytest.raises(SettingsError, match="unknown setting 'horizon'"):
        TINY.with_overrides({"horizon": "3"})
    with pytest.raises(SettingsError, match="episodes must be an integer"):
        TINY.with_overrides({"episodes": "many"})
    with pytest.raises(SettingsError, match="unknown preset"):
        LQG.preset("huge")
    assert parse_value("x", "1, 2.5", tuple[float, ...]) == (1.0, 2.5)
    assert parse_value("x", "none", str | None) is None
    assert parse_value("x", "false", bool) is False


def test_workers_one_and_two_give_identical_records_and_report(tmp_path):
    one = run_reproduction(LQG, TINY, tmp_path / "one", workers=1, progress=False, verbose=False)
    two = run_reproduction(LQG, TINY, tmp_path / "two", workers=2, progress=False, verbose=False)
    assert one == two
    assert (tmp_path / "one" / REPORT_FILE).read_text() == (tmp_path / "two" / REPORT_FILE).read_text()


def test_interrupted_run_resumes_to_the_same_table(tmp_path):
    complete = run_reproduction(LQG, TINY, tmp_path / "complete", workers=1, progress=False, verbose=False)
    interrupted = tmp_path / "interrupted"
    run_reproduction(LQG, TINY, interrupted, workers=1, progress=False, verbose=False)
    lines = (interrupted / RECORDS_FILE).read_text().splitlines()
    # Keep four finished units and half of a fifth line, as a kill during a write leaves it.
    (interrupted / RECORDS_FILE).write_text("\n".join(lines[:4]) + "\n" + lines[4][: len(lines[4]) // 2])
    resumed = run_reproduction(LQG, TINY, interrupted, workers=2, progress=False, verbose=False)
    assert resumed == complete
    assert len((interrupted / RECORDS_FILE).read_text().splitlines()) == len(lines)
    assert (interrupted / REPORT_FILE).read_text() == (tmp_path / "complete" / REPORT_FILE).read_text()


def test_resume_refuses_a_folder_of_other_settings(tmp_path):
    run_reproduction(LQG, TINY, tmp_path, workers=1, progress=False, verbose=False)
    with pytest.raises(PapergymError, match="other settings"):
        run_reproduction(LQG, TINY.replace(episodes=4), tmp_path, workers=1, progress=False, verbose=False)


def test_report_rebuilds_the_same_tables_from_the_folder_alone(tmp_path):
    run_reproduction(LQG, TINY, tmp_path, workers=1, progress=False, verbose=False)
    original = (tmp_path / REPORT_FILE).read_text()
    (tmp_path / REPORT_FILE).unlink()
    (tmp_path / "lqg_returns.png").unlink()
    assert cli.main(["report", str(tmp_path)]) == 0
    assert (tmp_path / REPORT_FILE).read_text() == original
    assert (tmp_path / "lqg_returns.png").is_file()


def test_user_agent_joins_the_table_on_the_paper_protocol(tmp_path, capsys):
    spec = f"{__name__}:zero_force_agent"
    code = cli.main(["reproduce", "lqg", "--preset", "quick", "--seeds", "2", "--set", "episodes=3",
                     "--workers", "1", "--agent", spec, "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    table = capsys.readouterr().out
    assert "zero_force_agent" in table
    records = [record for _, unit_records in _records(tmp_path) for record in unit_records]
    user = [record for record in records if record["agent"] == agent_label(spec)]
    control = [record for record in records if record["agent"] == "no control (K=0)"]
    # u = 0 is the K = 0 linear policy: on the same seeds the two rows are the same numbers.
    assert [r["mean_return"] for r in user] == [r["mean_return"] for r in control]


def test_user_agent_errors_name_the_problem():
    env = gym.make("papergym/LQG-v0")
    with pytest.raises(SettingsError, match="cannot import module"):
        load_agent("no_such_module_xyz:make", env)
    with pytest.raises(SettingsError, match="has no attribute"):
        load_agent(f"{__name__}:no_such_factory", env)
    with pytest.raises(SettingsError, match="module:factory"):
        TINY.replace(agents=("just-a-name",))


def test_evaluate_takes_a_module_factory(capsys):
    code = cli.main(["evaluate", "papergym/LQG-v0", "--agent", f"{__name__}:zero_force_agent", "--episodes", "2"])
    assert code == 0
    assert "zero_force_agent" in capsys.readouterr().out


def test_show_prints_the_settings(capsys):
    assert cli.main(["reproduce", "lqg", "--quick", "--show"]) == 0
    out = capsys.readouterr().out
    assert "episodes" in out and "seeds" in out


@pytest.mark.parametrize("arguments, message", [
    (["reproduce", "lqg", "--preset", "huge"], "unknown preset"),
    (["reproduce", "lqg", "--data", "."], "takes no --data"),
    (["reproduce", "lqg", "--set", "episodes"], "key=value"),
    (["reproduce", "lqg", "--set", "nope=1"], "unknown setting"),
    (["reproduce", "lqg", "--seeds", "0"], "seeds"),
    (["reproduce", "nope"], "unknown reproduction"),
    (["report", "."], "not a results folder"),
])
def test_cli_reports_user_errors_in_one_line(arguments, message, capsys):
    assert cli.main(arguments) == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1


def test_an_unwritable_or_file_shaped_out_is_refused_before_any_work(tmp_path, capsys):
    file = tmp_path / "a-file"
    file.write_text("")
    assert cli.main(["reproduce", "lqg", "--quick", "--out", str(file)]) == cli.EXIT_USAGE
    assert "is a file" in capsys.readouterr().err
    assert file.read_text() == "" and sorted(tmp_path.iterdir()) == [file]  # nothing was written
    # A folder that cannot be created (its parent is a file), refused before any work as well.
    assert cli.main(["reproduce", "lqg", "--quick", "--out", str(file / "run")]) == cli.EXIT_USAGE
    assert "cannot be created" in capsys.readouterr().err


def test_a_bug_is_not_dressed_as_a_user_error(monkeypatch):
    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "cmd_list", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["list"])


def test_import_papergym_and_make_load_no_heavy_module():
    ids = [entry.id for entry in ENVIRONMENTS]
    code = ("import sys, gymnasium, papergym\n"
            f"for env_id in {ids!r}:\n"
            "    gymnasium.make(env_id).reset(seed=0)\n"
            "heavy = ('torch', 'stable_baselines3', 'matplotlib', 'scipy.stats')\n"
            "print(','.join(name for name in heavy if name in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


# --- the contract's typed units, seeds, constraints and orchestration --------------------------------


def test_stream_seeds_derive_from_settings_seed_kind_unit_seed_and_stream_alone():
    from papergym.core.seeding import stream_seed

    base = stream_seed(0, "evaluation", 3, "episodes")
    assert base == stream_seed(0, "evaluation", 3, "episodes") and 0 <= base < 2**32
    changed = [stream_seed(1, "evaluation", 3, "episodes"), stream_seed(0, "train", 3, "episodes"),
               stream_seed(0, "evaluation", 4, "episodes"), stream_seed(0, "evaluation", 3, "policy")]
    assert len({base, *changed}) == 5
    unit = Unit("evaluation", 3, {"agent": "x"})
    assert unit.stream_seed(TINY, "episodes") == base
    assert unit.stream_seed(TINY.replace(seed=1), "episodes") == changed[0]
    assert Unit("agent", 3).stream_seed(TINY, "episodes", kind="evaluation") == base  # shared on purpose
    first, second = unit.rng(TINY, "noise").random(3), unit.rng(TINY, "noise").random(3)
    assert np.array_equal(first, second)


def test_unit_keys_name_kind_seed_and_params():
    assert Unit("trial", 2, {"case": "real"}).key == "trial,seed=2,case=real"
    assert Unit("curve").key == "curve"
    assert Unit.from_dict(Unit("trial", 2, {"case": "real"}).as_dict()) == Unit("trial", 2, {"case": "real"})


@dataclass(frozen=True, kw_only=True)
class ToySettings(Settings):
    rate: float = setting(0.5, above=0.0, high=1.0)
    cases: tuple[str, ...] = setting(("a", "b"), choices=("a", "b", "c"), nonempty=True)
    mode: str = setting("fast", choices=("fast", "slow"))
    limit: int | None = setting(None, low=1)


def toy_units(settings: ToySettings) -> list[Unit]:
    return [Unit("draw", seed, {"case": case}) for case in settings.cases for seed in range(settings.seeds)]


def toy_draw(settings: ToySettings, unit: Unit) -> list[dict]:
    time.sleep(0.02)  # a duration the runner's timing must see
    return [{"case": unit["case"], "seed": unit.seed, "value": float(unit.rng(settings, "value").random())}]


def toy_agent_cells(settings: ToySettings) -> list[Unit]:
    return [Unit("draw", seed, {"case": "a"}) for seed in range(settings.seeds)]


def toy_evaluate_agent(settings: ToySettings, unit: Unit) -> list[dict]:
    return [{"case": unit["case"], "seed": unit.seed, "value": -1.0, "agent": agent_label(unit.agent)}]


def toy_report(settings: ToySettings, results: Results, out_dir: Path) -> str:
    return f"{len(results.records)} records; draw units took {results.seconds('draw'):.3f} s"


DRAW_RECORD = RecordSchema({"case": Value.STRING, "value": Value.NUMBER})
TOY = Reproduction(name="toy", paper="(test)", description="draws", units=toy_units, kinds={"draw": toy_draw},
                   report=toy_report, record_schemas={"draw": DRAW_RECORD, AGENT_KIND: DRAW_RECORD},
                   agent_units=toy_agent_cells, evaluate_agent=toy_evaluate_agent,
                   presets={"quick": ToySettings(seeds=2), "paper": ToySettings(seeds=3)})


@pytest.mark.parametrize("changes, message", [
    ({"rate": 0.0}, "rate must be in (0, 1]"),
    ({"rate": 2}, "rate must be in (0, 1]"),
    ({"rate": "x"}, "rate must be a finite number"),
    ({"rate": float("nan")}, "rate must be a finite number"),
    ({"cases": ()}, "cases must not be empty"),
    ({"cases": ("a", "z")}, "each of cases must be one of a, b, c"),
    ({"cases": "a"}, "cases must be a list of a string"),
    ({"mode": "medium"}, "mode must be one of fast, slow"),
    ({"limit": 0}, "limit must be >= 1"),
    ({"limit": 2.5}, "limit must be an integer or None"),
    ({"seeds": True}, "seeds must be an integer"),
    ({"seed": -1}, "seed must be >= 0"),
])
def test_settings_constraints_declared_on_fields_are_checked(changes, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        TOY.preset("quick").replace(**changes)


def test_contract_adds_user_agent_units_and_runs_units_by_kind(tmp_path):
    settings = TOY.preset("quick").replace(agents=(f"{__name__}:zero_force_agent",))
    units = TOY.all_units(settings)
    assert [unit.kind for unit in units] == ["draw"] * 4 + [AGENT_KIND] * 2
    assert units[-1].key == f"agent,seed=1,agent={__name__}:zero_force_agent,case=a"
    records = run_reproduction(TOY, settings, tmp_path, workers=1, progress=False, verbose=False)
    assert [record["value"] for record in records[-2:]] == [-1.0, -1.0]
    lines = [json.loads(line) for line in (tmp_path / RECORDS_FILE).read_text().splitlines()]
    assert {line["kind"] for line in lines} == {"draw", "agent"} and all(line["seconds"] >= 0 for line in lines)
    # The runner's seconds reach the report: the draw units' seconds summed (the folder rounds each to 1 ms).
    reported = re.search(r"6 records; draw units took ([0-9.]+) s", (tmp_path / REPORT_FILE).read_text())
    draw_seconds = sum(line["seconds"] for line in lines if line["kind"] == "draw")
    assert draw_seconds >= 4 * 0.02 and reported and abs(float(reported.group(1)) - draw_seconds) <= 0.003


def test_a_unit_of_unknown_kind_or_a_repeated_key_is_a_bug():
    other_kind = {"kinds": {"other": toy_draw}, "record_schemas": {"other": DRAW_RECORD, AGENT_KIND: DRAW_RECORD}}
    with pytest.raises(TypeError, match="unknown kind"):
        dataclasses.replace(TOY, **other_kind).all_units(TOY.preset("quick"))
    with pytest.raises(TypeError, match="same key"):
        dataclasses.replace(TOY, units=lambda settings: toy_units(settings) * 2).all_units(TOY.preset("quick"))
    with pytest.raises(TypeError, match="'agent' is the contract's"):
        dataclasses.replace(TOY, kinds={"agent": toy_draw})


def test_running_a_reproduction_imports_its_module_alone():
    code = ("import sys\nfrom papergym.experiments import get_reproduction\nget_reproduction('lqg')\n"
            "others = [name for name in ('dlb', 'dtr', 'breaks', 'threebody', 'auction', 'rtb', 'robust', 'ttpois')\n"
            "          if f'papergym.experiments.{name}' in sys.modules]\n"
            "print(','.join(others + [name for name in ('torch', 'stable_baselines3') if name in sys.modules]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_registry_lists_every_reproduction_module():
    import pkgutil

    import papergym.experiments as experiments
    from papergym.experiments import REPRODUCTIONS

    defining = set()
    for module_info in pkgutil.iter_modules(experiments.__path__):
        source = (Path(experiments.__path__[0]) / f"{module_info.name}.py").read_text()
        if "\nREPRODUCTION = Reproduction(" in source:
            defining.add(f"papergym.experiments.{module_info.name}")
    assert defining == set(REPRODUCTIONS.values())


# --- damaged folders, locks, default folders, n < 2 (issue 25 items 7-10) -------------------------------


def _lqg_folder(tmp_path):
    from papergym.experiments import get_reproduction
    from papergym.experiments.runner import run_reproduction

    reproduction = get_reproduction("lqg")
    settings = reproduction.preset("quick").replace(seeds=2, episodes=1)
    run_reproduction(reproduction, settings, tmp_path, preset="quick", workers=1, progress=False, verbose=False)
    return tmp_path


def _report_error(path):
    from papergym.experiments.runner import rebuild_report

    with pytest.raises(PapergymError) as caught:
        rebuild_report(path, verbose=False)
    return str(caught.value)


def test_damaged_records_are_one_line_errors_naming_file_and_line(tmp_path):
    folder = _lqg_folder(tmp_path)
    records = folder / "records.jsonl"
    lines = records.read_text().splitlines()
    records.write_text("\n".join([lines[0], "[1, 2]", *lines[1:]]) + "\n")
    assert "records.jsonl, line 2: expected an object" in _report_error(folder)
    changed = json.loads(lines[0])
    changed["records"][0]["mean_return"] = 123.0
    records.write_text("\n".join([*lines, json.dumps(changed)]) + "\n")
    assert f"line {len(lines) + 1}: unit {changed['unit']} appears twice with different records" in \
        _report_error(folder)
    changed = json.loads(lines[0]) | {"unit": "evaluation,seed=7,agent=riccati K"}
    records.write_text("\n".join([*lines[1:], json.dumps(changed)]) + "\n")
    assert "is not one of this reproduction's units" in _report_error(folder)


def test_edited_settings_and_invalid_reproduction_json_are_refused(tmp_path):
    folder = _lqg_folder(tmp_path)
    path = folder / "reproduction.json"
    description = json.loads(path.read_text())
    path.write_text(json.dumps(description | {"settings": description["settings"] | {"seeds": 1}}))
    assert "were edited after the run" in _report_error(folder)
    path.write_text("{not json")
    assert "reproduction.json: not valid JSON" in _report_error(folder)


def test_report_never_rewrites_records_and_names_the_line_it_skips(tmp_path, capsys):
    from papergym.experiments.runner import rebuild_report

    folder = _lqg_folder(tmp_path)
    records = folder / "records.jsonl"
    lines = len(records.read_text().splitlines())
    records.write_text(records.read_text() + '{"unit": "cut sho')
    before = records.read_bytes()
    capsys.readouterr()
    rebuild_report(folder, verbose=False)
    assert records.read_bytes() == before
    assert f"records.jsonl, line {lines + 1} is cut short" in capsys.readouterr().err


def test_a_second_run_into_a_locked_folder_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    from papergym.experiments.runner import LOCK_FILE, ResultsFolder

    folder = ResultsFolder(tmp_path)
    with folder.lock():
        assert (tmp_path / LOCK_FILE).read_text() == str(os.getpid())
        with pytest.raises(PapergymError, match="in use by another run"), ResultsFolder(tmp_path).lock():
            pass
    assert not (tmp_path / LOCK_FILE).exists()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True)
    (tmp_path / LOCK_FILE).write_text(finished.stdout.strip())  # its holder has exited
    with folder.lock():
        assert (tmp_path / LOCK_FILE).read_text() == str(os.getpid())


def test_default_out_depends_on_the_settings():
    from papergym.cli import default_out
    from papergym.experiments import get_reproduction

    reproduction = get_reproduction("lqg")
    quick = reproduction.preset("quick")
    assert default_out(reproduction, "quick", quick) == "results/lqg-quick"
    three, other = quick.replace(seeds=3), quick.replace(seeds=4)
    assert default_out(reproduction, "quick", three) == default_out(reproduction, "quick", quick.replace(seeds=3))
    assert len({default_out(reproduction, "quick", s) for s in (quick, three, other)}) == 3


def test_one_sample_prints_no_interval_and_states_no_verdict():
    from papergym.core.stats import summarize
    from papergym.experiments.claims import Claim, Finding, Verdict
    from papergym.experiments.contract import Results
    from papergym.experiments.reporting import format_table

    table = format_table("t", {"a": summarize([1.245]), "b": summarize([1.0, 1.0 + 1e-16, 1.0])})
    row_a, row_b = table.splitlines()[-2:]
    assert row_a.split()[1:] == ["1.245", "-", "-", "1"] and "no std or interval" in table
    assert row_b.split()[2] == "0"

    def check(settings, results):
        return Finding(Verdict.REPRODUCED, "because", summarize([2.0]))

    claim = Claim("c", "s", "p", "Table 1", ("quick",), check)
    finding = claim.evaluate(None, Results([], "quick"))
    assert finding.verdict is Verdict.NOT_SHOWN and "n = 1, fewer than the 2 samples" in finding.reason


@pytest.mark.parametrize("factory, message", [
    ("raising_factory", "the factory raised RuntimeError: no weights found"),
    ("failing_predict_factory", "predict on the environment's first observation raised IndexError"),
    ("no_such_factory", "has no attribute 'no_such_factory'"),
])
def test_a_bad_agent_fails_in_one_line_before_any_unit_and_leaves_no_folder(factory, message, capsys, tmp_path):
    out = tmp_path / "results"
    code = cli.main(["reproduce", "lqg", "--quick", "--seeds", "2", "--set", "episodes=2", "--workers", "1",
                     "--agent", f"bad_agents:{factory}", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_bar_far_off_the_others_scale_is_cut_and_the_others_stay_readable():
    from papergym.experiments.reporting import off_scale

    # The lqg table: the random row's -437 would flatten the linear gains' returns.
    assert off_scale([-1.37, -1.76, -1.59, -29.1, -482.0]) == [False, False, False, False, True]
    assert off_scale([-1.25, -1.4, -3.9]) == [False, False, False]


def test_limit_threads_after_a_parallel_numba_kernel_leaves_numba_compiling():
    """A unit run in this process after a parallel kernel (breaks' simulation) must not make numba refuse to
    compile: numba forbids a new NUMBA_NUM_THREADS once its pool runs, so the limit goes through its API."""
    script = (
        "import numba\n"
        "@numba.njit(parallel=True)\n"
        "def total(n):\n"
        "    s = 0.0\n"
        "    for i in numba.prange(n):\n"
        "        s += i\n"
        "    return s\n"
        "total(10)\n"
        "from papergym.experiments.runner import limit_threads\n"
        "limit_threads()\n"
        "@numba.njit\n"
        "def plus_one(x):\n"
        "    return x + 1\n"
        "print(plus_one(1), numba.get_num_threads())\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split() == ["2", "1"]


def test_running_units_are_shown_with_the_time_they_have_run():
    running = RunningUnits(types.SimpleNamespace(disable=True))
    assert running.text() == ""
    with mock.patch("time.monotonic", return_value=100.0):
        running.started(Unit("trial", 0))
    with mock.patch("time.monotonic", return_value=105.0):
        running.started(Unit("trial", 1))
    assert running.text(now=165.0) == "running 2: trial,seed=0 1m05s, +1"
    running.finished(Unit("trial", 0))
    assert running.text(now=3700.0 + 105.0) == "running 1: trial,seed=1 1h01m40s"


def test_the_local_pool_says_when_each_unit_starts_before_it_finishes():
    events: list[tuple[str, str]] = []
    units = LQG.all_units(TINY)
    LocalExecutor(workers=2).run(LQG, TINY, units, lambda unit, records, seconds: events.append(("end", unit.key)),
                                 lambda unit: events.append(("start", unit.key)))
    assert sorted(key for what, key in events if what == "start") == sorted(unit.key for unit in units)
    for unit in units:
        assert events.index(("start", unit.key)) < events.index(("end", unit.key))


def slow_draw(settings: ToySettings, unit: Unit) -> list[dict]:
    time.sleep(2.3)
    return toy_draw(settings, unit)


def test_the_progress_bar_shows_a_long_unit_while_it_runs(tmp_path, capsys):
    slow = dataclasses.replace(TOY, kinds={"draw": slow_draw})
    run_reproduction(slow, TOY.preset("quick").replace(seeds=1, cases=("a",)), tmp_path, workers=1, verbose=False)
    shown = capsys.readouterr().err
    assert "running 1: draw,seed=0,case=a 0m01s" in shown and "running 1: draw,seed=0,case=a 0m02s" in shown


SLEEPY_UNITS = '''
import dataclasses, os, time
from pathlib import Path
from papergym.experiments import get_reproduction

def sleepy(settings, unit):
    Path(os.environ["PAPERGYM_TEST_PIDS"], str(os.getpid())).touch()
    time.sleep(120)
    return []

LQG = get_reproduction("lqg")
SLEEPY = dataclasses.replace(LQG, kinds={kind: sleepy for kind in LQG.kinds})
'''
SLEEPY_DRIVER = '''
from papergym.experiments.runner import LocalExecutor
from sleepy_units import LQG, SLEEPY
settings = LQG.preset("quick").replace(seeds=2)
LocalExecutor(workers=2).run(SLEEPY, settings, LQG.all_units(settings), lambda *finished: None)
'''


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process states from /proc")
def test_pool_workers_end_when_their_driver_is_killed(tmp_path):
    (tmp_path / "sleepy_units.py").write_text(SLEEPY_UNITS)
    pids = tmp_path / "pids"
    pids.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(tmp_path), "PAPERGYM_TEST_PIDS": str(pids)}
    driver = subprocess.Popen([sys.executable, "-c", SLEEPY_DRIVER], env=environment, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(path.name) for path in pids.iterdir()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        driver.kill()
        driver.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
