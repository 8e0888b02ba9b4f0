"""The shared runner: a reproduction's units in a local process pool, written as they finish, resumable.

A results folder holds ``reproduction.json`` (the reproduction's name, preset and settings),
``records.jsonl`` (one line per finished unit: its key, seconds and records, appended the moment the unit
finishes) and whatever the report writes (``report.txt``, CSV, PNG). Rerunning into the same folder with
the same settings skips the units already there, so an interrupted run loses only the units in flight;
:func:`rebuild_report` remakes the tables and plots from the folder alone.

Records are ordered by the reproduction's unit list, never by completion, so the report is the same
whatever the number of workers or the order in which units finished.

Workers are spawned processes, so a script that calls :func:`run_reproduction` with more than one worker
needs the usual ``if __name__ == "__main__":`` guard. Every unit runs with one compute thread
(:func:`limit_threads`); with ``workers=1`` that applies to the calling process too.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from papergym.core.errors import PapergymError
from papergym.experiments.contract import Record, Reproduction, Settings, Unit

SETTINGS_FILE = "reproduction.json"
RECORDS_FILE = "records.jsonl"
REPORT_FILE = "report.txt"


def limit_threads() -> None:
    """One compute thread per process: workers share the cores, so extra BLAS/torch threads only contend.

    The environment variables reach torch, numpy's BLAS and numba if they are imported later; torch is
    set directly when it is already loaded. This is the one place that sets torch threads.
    """
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[variable] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def execute_unit(run_unit: Callable[[Settings, Unit], list[Record]], settings: Settings,
                 unit: Unit) -> tuple[list[Record], float]:
    """Run one unit with one compute thread; its records (checked to be plain) and its seconds."""
    limit_threads()
    started = time.perf_counter()
    records = run_unit(settings, unit)
    seconds = time.perf_counter() - started
    return [_checked_record(record, unit) for record in records], seconds


def _checked_record(record: Any, unit: Unit) -> Record:
    if not isinstance(record, dict):
        raise TypeError(f"unit {unit.key}: a record must be a dict, got {type(record).__name__}")
    return json.loads(json.dumps(record, default=_to_builtin))


def _to_builtin(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"a record value must be a plain number, string or list, got {type(value).__name__}")


@dataclass
class ResultsFolder:
    """The files of one reproduction's results folder."""

    path: Path

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS_FILE

    @property
    def records_path(self) -> Path:
        return self.path / RECORDS_FILE

    def prepare(self, reproduction: Reproduction, preset: str, settings: Settings) -> None:
        """Create the folder (or check that it resumes the same settings) before any work starts."""
        check_output_folder(self.path)
        description = {"reproduction": reproduction.name, "preset": preset, "settings": settings.as_dict()}
        if self.settings_path.exists():
            previous = json.loads(self.settings_path.read_text())
            if (previous.get("reproduction"), previous.get("settings")) != (reproduction.name, description["settings"]):
                raise PapergymError(
                    f"--out {self.path} holds results of other settings ({previous.get('reproduction')}, "
                    f"preset {previous.get('preset')}); choose another folder or delete it to start again")
        else:
            self.settings_path.write_text(json.dumps(description, indent=2) + "\n")

    def finished(self) -> dict[str, list[Record]]:
        """Records of the finished units by key; a line cut short by an interruption is dropped."""
        if not self.records_path.exists():
            return {}
        done: dict[str, list[Record]] = {}
        lines = self.records_path.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    self._drop_partial_line(lines[:-1])
                    break
                raise PapergymError(f"{self.records_path}, line {number}: not a JSON record") from None
            done[entry["unit"]] = entry["records"]
        return done

    def _drop_partial_line(self, complete: list[str]) -> None:
        self.records_path.write_text("".join(line + "\n" for line in complete))

    def append(self, unit: Unit, records: list[Record], seconds: float) -> None:
        """Append one finished unit's records and flush them to disk at once."""
        line = json.dumps({"unit": unit.key, "seconds": round(seconds, 3), "records": records})
        with self.records_path.open("a") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def description(self) -> dict[str, Any]:
        if not self.settings_path.exists():
            raise PapergymError(f"{self.path} is not a results folder: it has no {SETTINGS_FILE}")
        return json.loads(self.settings_path.read_text())


def check_output_folder(path: Path) -> None:
    """Refuse an output path that is a file or cannot be written, before any work starts."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PapergymError(f"--out {path} is a file; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PapergymError(f"--out {path} cannot be created: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PapergymError(f"--out {path} is not writable")


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_reproduction(reproduction: Reproduction, settings: Settings, out_dir: Path, *, preset: str = "custom",
                     workers: int | None = None, progress: bool = True, verbose: bool = True) -> list[Record]:
    """Run every unit not yet in ``out_dir`` (``workers`` processes), then write and print the report.

    Returns every unit's records in the order of the unit list.
    """
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise PapergymError(f"workers must be an integer >= 1, got {workers!r}")
    folder = ResultsFolder(Path(out_dir))
    folder.prepare(reproduction, preset, settings)
    units = reproduction.units(settings)
    check_unique_keys(reproduction, units)
    done = folder.finished()
    pending = [unit for unit in units if unit.key not in done]
    if verbose and done:
        print(f"resuming: {len(units) - len(pending)} of {len(units)} units already in {folder.records_path}")
    for unit, records, seconds in _execute_all(reproduction, settings, pending, workers, progress, len(units)):
        folder.append(unit, records, seconds)
        done[unit.key] = records
    records = [record for unit in units for record in done[unit.key]]
    write_report(reproduction, settings, records, folder.path, verbose=verbose)
    return records


def check_unique_keys(reproduction: Reproduction, units: Sequence[Unit]) -> None:
    """Refuse a unit list with two units of the same key (records are stored by key)."""
    keys = [unit.key for unit in units]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"reproduction {reproduction.name!r} lists units with the same key")


def _execute_all(reproduction: Reproduction, settings: Settings, units: Sequence[Unit], workers: int,
                 progress: bool, total: int):
    """Yield (unit, records, seconds) as units finish; one bar over all units of the run."""
    from tqdm.auto import tqdm

    with tqdm(total=total, initial=total - len(units), desc=f"{reproduction.name} units", unit="unit",
              disable=not progress, dynamic_ncols=True) as bar:
        if workers == 1 or len(units) <= 1:
            for unit in units:
                records, seconds = execute_unit(reproduction.run_unit, settings, unit)
                bar.update()
                yield unit, records, seconds
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=context,
                                 initializer=limit_threads) as pool:
            futures = {pool.submit(execute_unit, reproduction.run_unit, settings, unit): unit for unit in units}
            remaining = set(futures)
            try:
                while remaining:
                    finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                    for future in finished:
                        records, seconds = future.result()
                        bar.update()
                        yield futures[future], records, seconds
            except BaseException:
                for future in remaining:
                    future.cancel()
                raise


def write_report(reproduction: Reproduction, settings: Settings, records: list[Record], out_dir: Path,
                 *, verbose: bool = True) -> str:
    """Run the reproduction's report on the records; save its text as report.txt and print it."""
    text = reproduction.report(settings, records, Path(out_dir))
    (Path(out_dir) / REPORT_FILE).write_text(text + "\n")
    if verbose:
        print(text)
        print(f"results in {out_dir}")
    return text


def load_results(out_dir: Path) -> tuple[Reproduction, Settings, list[Record]]:
    """The reproduction, settings and records (in unit order) saved in a results folder."""
    from papergym.experiments import get_reproduction

    folder = ResultsFolder(Path(out_dir))
    description = folder.description()
    reproduction = get_reproduction(description["reproduction"])
    settings = reproduction.settings_type.from_dict(description["settings"])
    done = folder.finished()
    units = reproduction.units(settings)
    missing = [unit.key for unit in units if unit.key not in done]
    if missing:
        print(f"note: {len(missing)} of {len(units)} units are not finished in {out_dir}; "
              "the report covers the finished ones", file=sys.stderr)
    records = [record for unit in units if unit.key in done for record in done[unit.key]]
    if not records:
        raise PapergymError(f"{out_dir} has no finished units to report")
    return reproduction, settings, records


def rebuild_report(out_dir: Path, *, verbose: bool = True) -> str:
    """Remake the tables and plots of a results folder from its records alone (``papergym report DIR``)."""
    reproduction, settings, records = load_results(Path(out_dir))
    return write_report(reproduction, settings, records, Path(out_dir), verbose=verbose)
