"""Record schemas: every unit kind of every reproduction declares the fields of its records, and a schema
tells in one short line which record and field do not fit."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from papergym.experiments import REPRODUCTIONS, get_reproduction
from papergym.experiments.contract import AGENT_KIND, RecordSchema, Value

LQG = get_reproduction("lqg")


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
