"""The reproduction contract: settings with named presets, typed units, claims, and a report.

Every paper's reproduction is a few small pieces, declared in one :class:`Reproduction`:

- **settings**: a frozen dataclass deriving from :class:`Settings`, with named presets (at least
  ``quick``, minutes on 2 cores, and ``paper``, the paper's own protocol). Constraints are declared on the
  fields with :func:`setting` (bounds, choices, non-empty) and checked by the contract at construction;
  any field can be overridden from the command line (``--set field=value``, parsed by the field's type).
- **units**: ``units(settings)`` lists the independent pieces of work as :class:`Unit` s (a kind, a seed
  index and parameters), and ``kinds`` maps each kind to the function that runs one unit of it and returns
  plain records (flat dicts of str, int, float, bool and lists). A unit depends only on the settings and
  itself, never on another unit, so units run in any order, in a local process pool or as Ray Tune
  trials, with identical records.
- **user agents**: ``agent_units(settings)`` lists where a user's own agent is evaluated (one unit per
  cell of the paper's protocol, e.g. per case and trial) and ``evaluate_agent(settings, unit)`` evaluates
  the agent named by ``unit.agent`` there. The contract adds one such unit of kind ``"agent"`` per agent
  of ``Settings.agents`` and cell; no reproduction lists them itself.
- **record schemas**: ``record_schemas`` maps every unit kind (and ``"agent"`` where user agents are
  taken) to a :class:`RecordSchema`: the fields the report and the claims read from each record of that
  kind, with the kind of value each holds. The runner checks every unit's records against it when the
  unit finishes (a record that does not fit is a bug of the reproduction) and again when it reads a
  results folder (a damaged line is a one-line error naming the file, the line, the unit, the record and
  the field), so a report never reads a field that is missing or of another kind.
- **claims**: the paper's claims as data (:mod:`papergym.experiments.claims`), each checked from the
  records alone.
- **report**: ``report(settings, results, out_dir)`` turns the :class:`Results` (every unit's records and
  the runner's timing of it) into tables (mean, std, 95% CI, n) and plots, and returns the text it
  printed. It reads nothing but the results, so ``papergym report DIR`` rebuilds everything from a
  results folder.

What ``seeds`` means, everywhere: the number of independent repetitions of the paper's protocol (seeds,
trials, paths: the paper's word), i.e. the seed indices 0 .. ``seeds`` - 1 of the units that repeat.
Every random stream of a unit comes from (``settings.seed``, unit kind, unit seed index, stream name)
through :mod:`papergym.core.seeding`: call :meth:`Unit.stream_seed` or :meth:`Unit.rng`. Other counts
(episodes, systems, users) have their own named fields.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.util
import math
import numbers
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.seeding import stream_rng, stream_seed

if TYPE_CHECKING:
    from papergym.experiments.claims import Claim

Record = dict[str, Any]
#: The unit kind the contract gives to a user agent's units.
AGENT_KIND = "agent"


class SettingsError(PapergymError):
    """An invalid setting: the message names the field, the value and what is allowed."""


# --- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """What a setting allows beyond its type: bounds (numbers), choices (scalars or each tuple element),
    and whether a tuple may be empty."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[Any, ...] | None = None
    nonempty: bool = False

    def check(self, name: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, tuple):
            if self.nonempty and not value:
                raise SettingsError(f"{name} must not be empty{self._choices_text()}")
            for item in value:
                self._check_scalar(name, item, of_list=True)
            return
        self._check_scalar(name, value, of_list=False)

    def _check_scalar(self, name: str, value: Any, *, of_list: bool) -> None:
        if self.choices is not None and value not in self.choices:
            what = "each of " if of_list else ""
            raise SettingsError(f"{what}{name} must be one of {', '.join(map(str, self.choices))}, got {value!r}")
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            too_low = self.low is not None and (value < self.low or (self.low_open and value == self.low))
            too_high = self.high is not None and value > self.high
            if too_low or too_high:
                raise SettingsError(f"{name} must be {self.range_text()}, got {value!r}")

    def range_text(self) -> str:
        low = None if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        high = None if self.high is None else f"<= {self.high:g}"
        if low and high:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return low or high or "valid"

    def _choices_text(self) -> str:
        return f" (choices: {', '.join(map(str, self.choices))})" if self.choices else ""


def setting(default: Any = dataclasses.MISSING, *, low: float | None = None, high: float | None = None,
            above: float | None = None, choices: Sequence[Any] | None = None, nonempty: bool = False,
            help: str = "") -> Any:
    """A settings field with its constraints, checked by :class:`Settings` at construction.

    ``low``/``high`` are inclusive bounds, ``above`` an exclusive lower bound; ``choices`` applies to the
    value or to each element of a tuple; ``nonempty`` refuses an empty tuple.
    """
    constraint = Constraint(low=above if above is not None else low, high=high, low_open=above is not None,
                            choices=tuple(choices) if choices is not None else None, nonempty=nonempty)
    return field(default=default, metadata={"constraint": constraint, "help": help})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Fields shared by every reproduction's settings; subclasses add the paper's own.

    ``seeds`` is the number of independent repetitions (see the module docstring), ``seed`` the base seed
    every random stream derives from, and ``agents`` the user's own agents to add to the table. Subclasses
    are ``@dataclass(frozen=True, kw_only=True)`` and declare constraints with :func:`setting`; each field's
    type (int, float, bool, str, tuples of them, ``X | None``) is checked too. :meth:`validate` is for
    constraints between fields only.
    """

    seeds: int = setting(low=1, help="independent repetitions (seeds, trials, paths)")
    seed: int = setting(0, low=0, help="base seed of every random stream")
    agents: tuple[str, ...] = setting((), help="your own agents: module:factory or a saved SB3 model (.zip)")

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            _check_type(item.name, value, hints[item.name])
            constraint = item.metadata.get("constraint")
            if constraint is not None:
                constraint.check(item.name, value)
        for spec in self.agents:
            check_agent_spec(spec)
        self.validate()

    def validate(self) -> None:
        """Constraints between fields; raise :class:`SettingsError` naming the fields."""

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (tuples become lists)."""
        return {item.name: _plain(getattr(self, item.name)) for item in dataclasses.fields(self)}

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again); unknown fields are a :class:`SettingsError`."""
        names = {item.name for item in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; "
                                f"the settings are: {', '.join(sorted(names))}")
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: Mapping[str, str]) -> Settings:
        """A copy with fields set from command-line strings (``--set field=value``), parsed by field type."""
        hints = typing.get_type_hints(type(self))
        names = {item.name for item in dataclasses.fields(self)}
        changes = {}
        for name, text in overrides.items():
            if name not in names:
                raise SettingsError(f"unknown setting {name!r}; the settings are: {', '.join(sorted(names))}")
            changes[name] = parse_value(name, text, hints[name])
        return self.replace(**changes)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from :meth:`as_dict`'s output (lists become tuples where the field is a tuple)."""
        hints = typing.get_type_hints(cls)
        names = {item.name for item in dataclasses.fields(cls)}
        return cls(**{name: _from_plain(value, hints[name]) for name, value in values.items() if name in names})

    def describe(self) -> str:
        """One ``field = value`` line per setting (with its description and constraint, where declared), for
        ``papergym reproduce NAME --show``."""
        fields = dataclasses.fields(self)
        width = max(len(item.name) for item in fields)
        values = [f"{item.name:<{width}} = {getattr(self, item.name)!r}" for item in fields]
        value_width = min(40, max(len(value) for value in values))
        return "\n".join(f"{value:<{value_width}}  # {_field_note(item)}".rstrip(" #") for value, item in
                         zip(values, fields))


def _field_note(item: dataclasses.Field) -> str:
    """A field's description and its bounds or choices, as declared with :func:`setting`."""
    constraint = item.metadata.get("constraint")
    notes = [item.metadata.get("help", "")]
    if constraint is not None and constraint.choices is not None:
        notes.append(f"choices: {', '.join(map(str, constraint.choices))}")
    elif constraint is not None and (constraint.low is not None or constraint.high is not None):
        notes.append(constraint.range_text())
    return "; ".join(note for note in notes if note)


def _check_type(name: str, value: Any, annotation: Any) -> None:
    """Refuse a value whose type is not the field's (ints are accepted for floats, never bools for numbers)."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return
        choices = [argument for argument in arguments if argument is not type(None)]
        for choice in choices:
            try:
                _check_type(name, value, choice)
                return
            except SettingsError:
                continue
        allowed = [_type_text(choice) for choice in choices] + (["None"] if type(None) in arguments else [])
        raise SettingsError(f"{name} must be {' or '.join(allowed)}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, tuple):
            raise SettingsError(f"{name} must be {_type_text(annotation)}, got {value!r}")
        element = arguments[0] if arguments else Any
        for item in value:
            _check_type(name, item, element)
        return
    if annotation is bool and not isinstance(value, bool):
        raise SettingsError(f"{name} must be true or false, got {value!r}")
    if annotation is int and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise SettingsError(f"{name} must be an integer, got {value!r}")
    if annotation is float and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                or not math.isfinite(value)):
        raise SettingsError(f"{name} must be a finite number, got {value!r}")
    if annotation is str and not isinstance(value, str):
        raise SettingsError(f"{name} must be a string, got {value!r}")


def _type_text(annotation: Any) -> str:
    if typing.get_origin(annotation) is tuple:
        element = typing.get_args(annotation)[0] if typing.get_args(annotation) else Any
        return f"a list of {_type_text(element)}"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))


# --- units ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One independent piece of a reproduction: its kind, its seed index (None when it does not repeat)
    and its parameters (JSON-ready). ``key`` names it in a results folder."""

    kind: str
    seed: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        parts = [self.kind] + ([f"seed={self.seed}"] if self.seed is not None else [])
        return ",".join(parts + [f"{name}={value}" for name, value in self.params.items()])

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @property
    def agent(self) -> str:
        """The user agent's spec of an ``"agent"`` unit."""
        return self.params["agent"]

    def stream_seed(self, settings: Settings, stream: str, *, kind: str | None = None) -> int:
        """This unit's integer seed for the named stream (see :mod:`papergym.core.seeding`).

        ``kind`` replaces the unit's own kind in the derivation, for streams shared on purpose by units
        of several kinds (common random numbers).
        """
        return stream_seed(settings.seed, kind or self.kind, self.seed or 0, stream)

    def rng(self, settings: Settings, stream: str, *, kind: str | None = None) -> np.random.Generator:
        """This unit's numpy generator for the named stream."""
        return stream_rng(settings.seed, kind or self.kind, self.seed or 0, stream)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seed": self.seed, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Unit:
        return cls(values["kind"], values.get("seed"), dict(values.get("params", {})))


@dataclass(frozen=True)
class FinishedUnit:
    """A unit, its records and the seconds the runner measured for it."""

    unit: Unit
    records: list[Record]
    seconds: float


@dataclass(frozen=True)
class Results:
    """What a report reads: every finished unit in the order of the unit list, and the preset's name."""

    finished: list[FinishedUnit]
    preset: str = "custom"

    @property
    def records(self) -> list[Record]:
        return [record for item in self.finished for record in item.records]

    def of_kind(self, kind: str) -> list[Record]:
        """The records of the units of one kind."""
        return [record for item in self.finished if item.unit.kind == kind for record in item.records]

    def seconds(self, kind: str | None = None) -> float:
        """The runner's seconds summed over the units (of one kind, if given)."""
        return sum(item.seconds for item in self.finished if kind is None or item.unit.kind == kind)


# --- records ---------------------------------------------------------------------------------------


class Value(enum.Enum):
    """What a record field holds, as JSON gives it back; the member's value says it in an error message.

    A number is an int or a float, never a boolean; NaN and the infinities are numbers (a summary of one
    sample has a NaN interval, a cost per click without clicks is infinite), and JSON keeps them.
    """

    NUMBER = "a number"
    INTEGER = "an integer"
    STRING = "a string"
    BOOL = "true or false"
    NUMBERS = "a list of numbers"
    NUMBER_OR_NULL = "a number or null"
    INTEGER_OR_NULL = "an integer or null"

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self in (Value.NUMBER_OR_NULL, Value.INTEGER_OR_NULL)
        if self in (Value.NUMBER, Value.NUMBER_OR_NULL):
            return _is_number(value)
        if self in (Value.INTEGER, Value.INTEGER_OR_NULL):
            return isinstance(value, int) and not isinstance(value, bool)
        if self is Value.NUMBERS:
            return isinstance(value, list) and all(_is_number(item) for item in value)
        if self is Value.STRING:
            return isinstance(value, str)
        return isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class RecordSchema:
    """The fields every record of one unit kind must have, and what each holds: those its report and claims
    read without a guard. Records may carry more fields.

    Where one kind's records come in several shapes (a training record beside evaluation records), the string
    field ``by`` names each record's shape and ``shapes`` maps every allowed name to that shape's own fields,
    required besides ``fields``. ``RecordSchema()`` asks only that each record be an object.
    """

    fields: Mapping[str, Value] = field(default_factory=dict)
    by: str | None = None
    shapes: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.by is None) != (not self.shapes):
            raise TypeError("a record schema gives both 'by' and 'shapes', or neither")

    def problem(self, records: Sequence[Any]) -> str | None:
        """What is wrong with a unit's records, in words naming the record (counted from 1) and the field;
        None when every record fits."""
        for number, record in enumerate(records, start=1):
            problem = self._record_problem(record)
            if problem is not None:
                return f"record {number}: {problem}"
        return None

    def _record_problem(self, record: Any) -> str | None:
        if not isinstance(record, dict):
            return f"not an object but {_shown(record)}"
        problem = _fields_problem(record, self.fields)
        if problem is not None or self.by is None:
            return problem
        if self.by not in record:
            return f"{self.by!r} is missing"
        shape = record[self.by]
        if not isinstance(shape, str) or shape not in self.shapes:
            return f"{self.by!r} must be one of {', '.join(map(repr, self.shapes))}, got {_shown(shape)}"
        return _fields_problem(record, self.shapes[shape])


def _fields_problem(record: Mapping[str, Any], fields: Mapping[str, Value]) -> str | None:
    for name, value in fields.items():
        if name not in record:
            return f"{name!r} is missing"
        if not value.accepts(record[name]):
            return f"{name!r} must be {value.value}, got {_shown(record[name])}"
    return None


def _shown(value: Any) -> str:
    """A value as an error message shows it: its repr (one line), cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- the reproduction -----------------------------------------------------------------------------

UnitFunction = Callable[[Settings, Unit], list[Record]]


@dataclass(frozen=True)
class Reproduction:
    """A paper's comparison on the contract: presets, units by kind, user agents, claims, and the report.

    The functions must be module-level (they are sent to worker processes by reference).
    """

    name: str
    paper: str
    description: str
    presets: Mapping[str, Settings]
    units: Callable[[Settings], list[Unit]]
    kinds: Mapping[str, UnitFunction]
    report: Callable[[Settings, Results, Path], str]
    record_schemas: Mapping[str, RecordSchema]
    agent_units: Callable[[Settings], list[Unit]] | None = None
    evaluate_agent: UnitFunction | None = None
    claims: tuple[Claim, ...] = ()

    def __post_init__(self) -> None:
        missing = {"quick", "paper"} - set(self.presets)
        if missing:
            raise TypeError(f"reproduction {self.name!r} lacks the preset(s) {sorted(missing)}")
        if AGENT_KIND in self.kinds:
            raise TypeError(f"reproduction {self.name!r}: the unit kind {AGENT_KIND!r} is the contract's")
        if (self.agent_units is None) != (self.evaluate_agent is None):
            raise TypeError(f"reproduction {self.name!r}: give both agent_units and evaluate_agent, or neither")
        kinds = sorted({*self.kinds, *([AGENT_KIND] if self.evaluate_agent is not None else [])})
        if sorted(self.record_schemas) != kinds:
            raise TypeError(f"reproduction {self.name!r}: record_schemas must name the unit kinds {kinds}, "
                            f"got {sorted(self.record_schemas)}")
        ids = [claim.id for claim in self.claims]
        if len(set(ids)) != len(ids):
            raise TypeError(f"reproduction {self.name!r} declares two claims with the same id")
        for claim in self.claims:
            unknown = set(claim.presets) - set(self.presets)
            if unknown:
                raise TypeError(f"reproduction {self.name!r}, claim {claim.id!r}: unknown preset(s) {sorted(unknown)}")

    @property
    def settings_type(self) -> type[Settings]:
        return type(self.presets["quick"])

    def preset(self, name: str) -> Settings:
        """The named preset; :class:`SettingsError` lists the presets otherwise."""
        if name not in self.presets:
            raise SettingsError(f"unknown preset {name!r} for {self.name}; presets: {', '.join(self.presets)}")
        return self.presets[name]

    def takes(self, field_name: str) -> bool:
        """Whether this reproduction's settings have the field (e.g. ``data``)."""
        return any(item.name == field_name for item in dataclasses.fields(self.settings_type))

    def all_units(self, settings: Settings) -> list[Unit]:
        """The paper's units, then one unit per user agent and cell of :attr:`agent_units`; keys unique."""
        found = list(self.units(settings))
        if settings.agents:
            if self.agent_units is None:
                raise SettingsError(f"reproduction {self.name!r} takes no user agents")
            cells = self.agent_units(settings)
            found += [Unit(AGENT_KIND, cell.seed, {"agent": spec, **cell.params})
                      for spec in settings.agents for cell in cells]
        unknown = sorted({unit.kind for unit in found} - set(self.kinds) - {AGENT_KIND})
        if unknown:
            raise TypeError(f"reproduction {self.name!r} lists units of unknown kind(s) {unknown}")
        keys = [unit.key for unit in found]
        if len(set(keys)) != len(keys):
            raise TypeError(f"reproduction {self.name!r} lists units with the same key")
        return found

    def run(self, settings: Settings, unit: Unit) -> list[Record]:
        """Run one unit with the function of its kind."""
        if unit.kind == AGENT_KIND:
            return self.evaluate_agent(settings, unit)
        return self.kinds[unit.kind](settings, unit)


# --- parsing settings from the command line -------------------------------------------------------


def parse_value(name: str, text: str, annotation: Any) -> Any:
    """Parse a command-line string into a value of the field's type (int, float, bool, str, tuples, None)."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "") and type(None) in arguments:
            return None
        choices = [argument for argument in arguments if argument is not type(None)]
        for choice in choices:
            try:
                return parse_value(name, text, choice)
            except SettingsError:
                continue
        raise SettingsError(f"setting {name} must be a {' or '.join(_type_name(c) for c in choices)}, got {text!r}")
    if origin is tuple:
        element = arguments[0] if arguments else str
        parts = [part.strip() for part in text.split(",") if part.strip()]
        return tuple(parse_value(name, part, element) for part in parts)
    if annotation is bool:
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise SettingsError(f"setting {name} must be true or false, got {text!r}")
    if annotation in (int, float):
        try:
            return annotation(text)
        except ValueError:
            kind = "an integer" if annotation is int else "a number"
            raise SettingsError(f"setting {name} must be {kind}, got {text!r}") from None
    if annotation is str or annotation is Any:
        return text
    raise SettingsError(f"setting {name} of type {annotation!r} cannot be set from the command line")


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _from_plain(value: Any, annotation: Any) -> Any:
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(value, list):
        if origin in (typing.Union, types.UnionType):
            annotation = next(argument for argument in arguments if typing.get_origin(argument) is tuple)
            arguments = typing.get_args(annotation)
        element = arguments[0] if arguments else Any
        return tuple(_from_plain(item, element) for item in value)
    return value


# --- the user's own agents ------------------------------------------------------------------------


def check_agent_spec(spec: str) -> None:
    """Refuse an agent spec that is neither ``module:factory`` nor a saved SB3 model (``.zip``)."""
    if not isinstance(spec, str) or not spec:
        raise SettingsError(f"agents must be 'module:factory' or a saved SB3 model (.zip), got {spec!r}")
    if spec.endswith(".zip"):
        if not Path(spec).is_file():
            raise SettingsError(f"agent {spec!r}: no saved SB3 model at that path")
        return
    module, _, attribute = spec.partition(":")
    if not module or not attribute:
        raise SettingsError(f"agent {spec!r} must be 'module:factory' (e.g. my_package.agents:make_agent or "
                            "path/to/file.py:make_agent) or a saved SB3 model (.zip)")
    if module.endswith(".py") and not Path(module).is_file():
        raise SettingsError(f"agent {spec!r}: no such file {module}")


def agent_label(spec: str) -> str:
    """The table's row name of a user agent: the factory's name, or the model file's stem."""
    if spec.endswith(".zip"):
        return Path(spec).stem
    return spec.partition(":")[2]


def _import_agent_module(spec: str, module_name: str) -> types.ModuleType:
    """A module by dotted name, or a Python file by path (``path/to/file.py``)."""
    try:
        if module_name.endswith(".py"):
            location = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            module = importlib.util.module_from_spec(location)
            location.loader.exec_module(module)
            return module
        return importlib.import_module(module_name)
    except ImportError as error:
        raise SettingsError(f"agent {spec!r}: cannot import module {module_name!r} ({error})") from None


def load_agent(spec: str, env: Any) -> Any:
    """Build a user agent: ``module:factory`` (a dotted module or a ``.py`` file) is called with the
    environment; a ``.zip`` is a saved SB3 model.

    The result must offer SB3's ``predict``; :class:`SettingsError` says what went wrong otherwise.
    """
    check_agent_spec(spec)
    if spec.endswith(".zip"):
        from papergym.agents.training import load_model

        return load_model(Path(spec))
    module_name, _, attribute = spec.partition(":")
    module = _import_agent_module(spec, module_name)
    factory = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise SettingsError(f"agent {spec!r}: module {module_name!r} has no attribute {attribute!r}")
    try:
        agent = factory(env)
    except Exception as error:  # the user's code: any failure is theirs to fix, said in one line
        raise SettingsError(f"agent {spec!r}: the factory raised {type(error).__name__}: {error}") from None
    if not callable(getattr(agent, "predict", None)):
        raise SettingsError(f"agent {spec!r}: the factory returned {type(agent).__name__}, which has no "
                            "predict(observation, state, episode_start, deterministic) method")
    if _checking_agents:
        _predict_once(spec, agent, env)
    return agent


# --- checking user agents before any unit runs ------------------------------------------------------

_checking_agents = False


class _AgentChecked(Exception):
    """Raised by :func:`load_agent` during :func:`check_agents` once the agent has answered: the unit stops."""


def _predict_once(spec: str, agent: Any, env: Any) -> None:
    """Ask the agent for one action on the environment's first observation; stop the unit there."""
    try:
        observation = env.reset(seed=0)[0]
    except Exception:  # not a Gymnasium env (e.g. a market): a sample of its observation space
        observation = env.observation_space.sample()
    try:
        agent.predict(observation, deterministic=True)
    except Exception as error:
        raise SettingsError(f"agent {spec!r}: predict on the environment's first observation raised "
                            f"{type(error).__name__}: {error}") from None
    raise _AgentChecked


def check_agents(reproduction: Reproduction, settings: Settings) -> None:
    """Build every user agent where its first unit would (import, factory call on that unit's environment)
    and ask it for one action, before any unit runs: a :class:`SettingsError` in one line otherwise.

    Each reproduction's ``evaluate_agent`` builds its agent with :func:`load_agent`, which stops the unit
    right after the agent's first answer while this check runs, so the check costs what precedes it.
    """
    global _checking_agents
    agent_units = [unit for unit in reproduction.all_units(settings) if unit.kind == AGENT_KIND]
    firsts = {unit.agent: unit for unit in reversed(agent_units)}
    for unit in firsts.values():
        _checking_agents = True
        try:
            reproduction.run(settings, unit)
        except _AgentChecked:
            pass
        finally:
            _checking_agents = False
