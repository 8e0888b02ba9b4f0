"""Record schemas: every record a unit writes fits the schema its reproduction declares for the unit's kind,
and ``papergym report`` refuses a damaged record in one line naming the file, the line, the unit, the record
and the field, without reading it."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from papergym import cli
from papergym.core.errors import PapergymError
from papergym.experiments import REPRODUCTIONS, get_reproduction
from papergym.experiments.contract import AGENT_KIND, RecordSchema, Value
from papergym.experiments.lqg import run_evaluation
from papergym.experiments.runner import RECORDS_FILE, run_reproduction

LQG = get_reproduction("lqg")
LQG_TINY = LQG.preset("quick").replace(seeds=2, episodes=1)
THREEBODY = get_reproduction("threebody")
#: Two evaluation units (a fixed eta and the heuristic) of two systems each on one backend, no DQN.
THREEBODY_TINY = THREEBODY.preset("quick").replace(initial_conditions=2, eval_steps=4, fixed_actions=(5,),
                                                   train_timesteps=0, backends=("hermite",))


def _run(reproduction, settings, out: Path) -> Path:
    run_reproduction(reproduction, settings, out, workers=1, progress=False, verbose=False)
    return out


@pytest.fixture(scope="module")
def lqg_folder(tmp_path_factory) -> Path:
    return _run(LQG, LQG_TINY, tmp_path_factory.mktemp("lqg"))


@pytest.fixture(scope="module")
def threebody_folder(tmp_path_factory) -> Path:
    return _run(THREEBODY, THREEBODY_TINY, tmp_path_factory.mktemp("threebody"))


def _damaged_copy(folder: Path, out: Path, line: int, damage: Callable[[list], None]) -> str:
    """A copy of ``folder`` at ``out`` whose records.jsonl line ``line`` has its records changed by ``damage``;
    the unit key of that line."""
    shutil.copytree(folder, out)
    path = out / RECORDS_FILE
    lines = path.read_text().splitlines()
    entry = json.loads(lines[line - 1])
    damage(entry["records"])
    lines[line - 1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    return entry["unit"]


def _without(field: str, index: int = 0) -> Callable[[list], None]:
    return lambda records: records[index].pop(field)


def _set(field: str, value, index: int = 0) -> Callable[[list], None]:
    return lambda records: records[index].update({field: value})


def _replace_record(value, index: int = 0) -> Callable[[list], None]:
    return lambda records: records.__setitem__(index, value)


@pytest.mark.parametrize("folder, damage, problem", [
    ("lqg_folder", _without("mean_return"), "record 1: 'mean_return' is missing"),
    ("lqg_folder", _set("mean_return", "abc"), "record 1: 'mean_return' must be a number, got 'abc'"),
    ("lqg_folder", _set("seed", None), "record 1: 'seed' must be an integer, got None"),
    ("lqg_folder", _replace_record(5), "record 1: not an object but 5"),
    ("threebody_folder", _without("log10_energy_error", 1), "record 2: 'log10_energy_error' is missing"),
    ("threebody_folder", _set("force_evaluations", "many", 1),
     "record 2: 'force_evaluations' must be an integer, got 'many'"),
    ("threebody_folder", _set("blew_up", 0), "record 1: 'blew_up' must be true or false, got 0"),
    ("threebody_folder", _set("kind", "trained"), "record 1: 'kind' must be one of 'evaluation', got 'trained'"),
    ("threebody_folder", _replace_record([1, 2], 1), "record 2: not an object but [1, 2]"),
])
def test_report_refuses_a_damaged_record_in_one_line_naming_file_line_unit_record_and_field(
        folder, damage, problem, request, tmp_path, capsys):
    damaged = tmp_path / "damaged"
    key = _damaged_copy(request.getfixturevalue(folder), damaged, 2, damage)
    before = (damaged / RECORDS_FILE).read_bytes()
    assert cli.main(["report", str(damaged)]) == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert error == f"papergym: error: {damaged / RECORDS_FILE}, line 2: unit {key}: {problem}\n"
    assert (damaged / RECORDS_FILE).read_bytes() == before


def test_a_damaged_record_stops_a_resumed_run_before_any_unit(lqg_folder, tmp_path):
    damaged = tmp_path / "damaged"
    key = _damaged_copy(lqg_folder, damaged, 3, _set("agent", 7))
    with pytest.raises(PapergymError, match=re.escape(f"line 3: unit {key}: record 1: 'agent' must be a string, "
                                                      "got 7")):
        run_reproduction(LQG, LQG_TINY, damaged, workers=1, progress=False, verbose=False)


def evaluation_without_return(settings, unit):
    """LQG's evaluation unit with a bug: its record lacks the mean return the report reads."""
    return [{name: value for name, value in record.items() if name != "mean_return"}
            for record in run_evaluation(settings, unit)]


def test_a_unit_whose_records_do_not_fit_its_kinds_schema_fails_the_run_naming_kind_and_field(tmp_path):
    broken = dataclasses.replace(LQG, kinds={"evaluation": evaluation_without_return})
    message = "record 1: 'mean_return' is missing (the record schema of kind 'evaluation')"
    with pytest.raises(TypeError, match=re.escape(message)):
        run_reproduction(broken, LQG_TINY, tmp_path, workers=1, progress=False, verbose=False)
    assert not (tmp_path / RECORDS_FILE).exists()  # refused before the unit was written


@pytest.mark.parametrize("name", list(REPRODUCTIONS))
def test_every_kind_a_reproduction_runs_has_a_record_schema(name):
    reproduction = get_reproduction(name)
    takes_agents = reproduction.evaluate_agent is not None
    assert set(reproduction.record_schemas) == set(reproduction.kinds) | ({AGENT_KIND} if takes_agents else set())
    for preset, settings in reproduction.presets.items():
        if takes_agents:
            settings = settings.replace(agents=("my_agents:make_agent",))
        kinds = {unit.kind for unit in reproduction.all_units(settings)}
        assert kinds <= set(reproduction.record_schemas), (preset, kinds)


def test_a_reproduction_declares_the_record_schema_of_every_kind_and_of_its_agents():
    evaluation = LQG.record_schemas["evaluation"]
    with pytest.raises(TypeError, match=re.escape("record_schemas must name the unit kinds ['agent', 'evaluation'], "
                                                  "got ['evaluation']")):
        dataclasses.replace(LQG, record_schemas={"evaluation": evaluation})
    with pytest.raises(TypeError, match=re.escape("must name the unit kinds ['evaluation'], got ['agent', "
                                                  "'evaluation']")):
        dataclasses.replace(LQG, agent_units=None, evaluate_agent=None)


@pytest.mark.parametrize("value, accepted, refused", [
    (Value.NUMBER, [0, -2, 1.5, math.nan, math.inf], [True, "1", None, [1.0]]),
    (Value.INTEGER, [0, 3, -4], [3.0, False, "3", None]),
    (Value.STRING, ["", "a"], [1, None, ["a"]]),
    (Value.BOOL, [True, False], [0, 1, "true", None]),
    (Value.NUMBERS, [[], [1, 2.5, math.nan]], [[1, "2"], [True], 1.0, None]),
    (Value.NUMBER_OR_NULL, [None, 1, 2.5], ["x", False]),
    (Value.INTEGER_OR_NULL, [None, 2], [2.5, True]),
])
def test_field_values(value, accepted, refused):
    assert all(value.accepts(item) for item in accepted)
    assert not any(value.accepts(item) for item in refused)


def test_records_of_several_shapes_are_told_apart_by_a_field():
    schema = RecordSchema({"env": Value.STRING}, by="kind",
                          shapes={"summary": {"worst": Value.NUMBER}, "trace": {"iteration": Value.INTEGER}})
    good = [{"env": "a", "kind": "summary", "worst": 1.0}, {"env": "a", "kind": "trace", "iteration": 2}]
    assert schema.problem(good) is None
    assert schema.problem([*good, {"env": "a"}]) == "record 3: 'kind' is missing"
    assert schema.problem([{"env": "a", "kind": "grid"}]) == \
        "record 1: 'kind' must be one of 'summary', 'trace', got 'grid'"
    assert schema.problem([{"env": "a", "kind": "trace", "worst": 1.0}]) == "record 1: 'iteration' is missing"
    assert schema.problem([{"kind": "trace", "iteration": 2}]) == "record 1: 'env' is missing"
    with pytest.raises(TypeError, match="both 'by' and 'shapes'"):
        RecordSchema(by="kind")


def test_a_problem_is_one_short_line_whatever_the_value():
    problem = RecordSchema({"seed": Value.INTEGER}).problem([{"seed": "line one\nline two" * 20}])
    assert "\n" not in problem and problem.endswith("...") and len(problem) < 100
