"""The reproduction contract: settings with named presets, independent units, and a report.

Every paper's reproduction is three small pieces, declared in one :class:`Reproduction`:

- **settings**: a frozen dataclass deriving from :class:`Settings`, with named presets (at least
  ``quick``, minutes on 2 cores, and ``paper``, the paper's own protocol); any field can be overridden
  from the command line (``--set field=value``) and every value is validated at construction;
- **units**: ``units(settings)`` lists the independent pieces of work (one seed of one method on one
  setting, or the paper's natural unit) and ``run_unit(settings, unit)`` runs one of them and returns plain
  records (flat dicts of str, int, float, bool). A unit depends only on the settings and its own
  parameters, never on another unit, so units run in any order, in a local process pool or as Ray Tune
  trials, with identical records;
- **report**: ``report(settings, records, out_dir)`` turns the records of every unit into the tables
  (mean, std, 95% CI, n) and plots, and returns the text it printed. It reads nothing but the records, so
  ``papergym report DIR`` rebuilds everything from a results folder.

A user's own agent joins a paper's table through ``Settings.agents`` (``--agent module:factory`` or a saved
SB3 ``.zip``): each reproduction's ``units`` adds units for it, evaluated on the paper's exact protocol.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papergym.core.errors import PapergymError

Record = dict[str, Any]


class SettingsError(PapergymError):
    """An invalid setting: the message names the field, the value and what is allowed."""


def require_setting_int(name: str, value: Any, low: int) -> int:
    """``value`` if it is an integer (not a bool) >= ``low``; a :class:`SettingsError` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SettingsError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Fields shared by every reproduction's settings; subclasses add the paper's own.

    ``seeds`` is the number of independent repetitions (seeds, paths, trials: the paper's word) and
    ``agents`` the user's own agents to add to the table. Subclasses are ``@dataclass(frozen=True,
    kw_only=True)`` and check their fields in :meth:`validate`, raising :class:`SettingsError`.
    """

    seeds: int
    agents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_setting_int("seeds", self.seeds, 1)
        for spec in self.agents:
            check_agent_spec(spec)
        self.validate()

    def validate(self) -> None:
        """Check the paper's own fields; raise :class:`SettingsError` naming the field."""

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
        return cls(**{name: _from_plain(value, hints[name]) for name, value in values.items()})

    def describe(self) -> str:
        """One ``field = value`` line per setting, for ``papergym reproduce NAME --show``."""
        width = max(len(item.name) for item in dataclasses.fields(self))
        return "\n".join(f"{item.name:<{width}} = {getattr(self, item.name)!r}" for item in dataclasses.fields(self))


@dataclass(frozen=True)
class Unit:
    """One independent piece of a reproduction: its parameters (JSON-ready) and a stable key."""

    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return ",".join(f"{name}={value}" for name, value in self.params.items())

    def __getitem__(self, name: str) -> Any:
        return self.params[name]


@dataclass(frozen=True)
class Reproduction:
    """A paper's comparison on the contract: presets, units, one unit's run, and the report.

    ``run_unit`` must be a module-level function (it is sent to worker processes by reference).
    """

    name: str
    paper: str
    description: str
    presets: Mapping[str, Settings]
    units: Callable[[Settings], list[Unit]]
    run_unit: Callable[[Settings, Unit], list[Record]]
    report: Callable[[Settings, list[Record], Path], str]

    def __post_init__(self) -> None:
        missing = {"quick", "paper"} - set(self.presets)
        if missing:
            raise TypeError(f"reproduction {self.name!r} lacks the preset(s) {sorted(missing)}")

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
        from papergym.experiments.training import load_model

        return load_model(Path(spec))
    module_name, _, attribute = spec.partition(":")
    module = _import_agent_module(spec, module_name)
    factory = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise SettingsError(f"agent {spec!r}: module {module_name!r} has no attribute {attribute!r}")
    agent = factory(env)
    if not callable(getattr(agent, "predict", None)):
        raise SettingsError(f"agent {spec!r}: the factory returned {type(agent).__name__}, which has no "
                            "predict(observation, state, episode_start, deterministic) method")
    return agent
