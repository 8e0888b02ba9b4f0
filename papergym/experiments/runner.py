"""The one orchestrator: a reproduction's units run by an executor, written as they finish, resumable.

A results folder holds ``reproduction.json`` (the reproduction's name, preset and settings),
``records.jsonl`` (one line per finished unit: its key, kind, seed, parameters, seconds and records,
appended the moment the unit finishes) and what the report writes (``report.txt`` led by the claims table,
``claims.csv``, CSV, PNG). Rerunning into the same folder with the same settings skips the units already
there, so an interrupted run loses only the units in flight; :func:`rebuild_report` remakes the tables and
plots from the folder alone.

Where units run is the executor's business alone: :class:`LocalExecutor` (a process pool on this machine,
``papergym reproduce``) or the Ray Tune executor of :mod:`papergym.integrations.ray` (``papergym sweep``).
Both call back :func:`run_reproduction`'s writer as each unit finishes, so the two give the same folder.

Records are ordered by the reproduction's unit list, never by completion, so the report is the same
whatever the number of workers or the order in which units finished.

Local workers are spawned processes, so a script that calls :func:`run_reproduction` with more than one
worker needs the usual ``if __name__ == "__main__":`` guard. Every unit runs with one compute thread
(:func:`limit_threads`); with ``workers=1`` that applies to the calling process too.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from papergym.core.errors import PapergymError
from papergym.experiments.contract import (
    FinishedUnit,
    Record,
    RecordSchema,
    Reproduction,
    Results,
    Settings,
    Unit,
    check_agents,
)

SETTINGS_FILE = "reproduction.json"
RECORDS_FILE = "records.jsonl"
REPORT_FILE = "report.txt"
CLAIMS_FILE = "claims.csv"
LOCK_FILE = ".lock"

#: Called by an executor for each unit that finished: the unit, its records and its seconds.
OnFinished = Callable[[Unit, list[Record], float], None]
#: Called by an executor when a unit starts running, so the progress bar can show how long it has run.
OnStarted = Callable[[Unit], None]


def limit_threads(threads: int = 1) -> None:
    """``threads`` compute threads per process: workers share the cores, so extra BLAS/torch threads only
    contend.

    The environment variables reach torch, numpy's BLAS and numba if they are imported later; torch is
    set directly when it is already loaded. This is the one place that sets torch threads.
    """
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    else:  # numba refuses a new NUMBA_NUM_THREADS once its pool runs (e.g. after a parallel kernel in this process)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def execute_unit(reproduction: Reproduction, settings: Settings, unit: Unit) -> tuple[list[Record], float]:
    """Run one unit with one compute thread; its records (plain, and checked against the record schema of
    its kind) and its seconds."""
    limit_threads()
    started = time.perf_counter()
    records = reproduction.run(settings, unit)
    seconds = time.perf_counter() - started
    return _checked_records(reproduction, unit, records), seconds


def _checked_records(reproduction: Reproduction, unit: Unit, records: list[Any]) -> list[Record]:
    """The records as JSON gives them back, as they will be read from the folder; a record that does not fit
    the record schema of the unit's kind is a bug of the reproduction, raised before the unit is written."""
    plain = [_plain_record(record, unit) for record in records]
    problem = reproduction.record_schemas[unit.kind].problem(plain)
    if problem is not None:
        raise TypeError(f"unit {unit.key}: {problem} (the record schema of kind {unit.kind!r})")
    return plain


def _plain_record(record: Any, unit: Unit) -> Record:
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


# --- executors -------------------------------------------------------------------------------------


class Executor(Protocol):
    """Runs units and calls ``on_finished`` for each one that finished (in any order, on this thread), and
    ``on_started`` (when given) as each one starts.

    A unit that fails may stop the run (the local pool re-raises its error) or be left out (Ray Tune
    retries it, then carries on); the runner names the units left unfinished.
    """

    def run(self, reproduction: Reproduction, settings: Settings, units: Sequence[Unit],
            on_finished: OnFinished, on_started: OnStarted | None = None) -> None: ...


@dataclass(frozen=True)
class LocalExecutor:
    """Units in ``workers`` spawned processes of this machine (in this process when ``workers`` is 1)."""

    workers: int | None = None

    def __post_init__(self) -> None:
        workers = self.workers
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise PapergymError(f"workers must be an integer >= 1, got {workers!r}")

    def run(self, reproduction: Reproduction, settings: Settings, units: Sequence[Unit],
            on_finished: OnFinished, on_started: OnStarted | None = None) -> None:
        workers = default_workers() if self.workers is None else self.workers
        if workers == 1 or len(units) <= 1:
            for unit in units:
                if on_started is not None:
                    on_started(unit)
                on_finished(unit, *execute_unit(reproduction, settings, unit))
            return
        context = multiprocessing.get_context("spawn")
        started = context.Queue()
        announce = _Announcer({unit.key: unit for unit in units}, on_started)
        with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=context,
                                 initializer=_start_worker, initargs=(started,)) as pool:
            futures = {pool.submit(_execute_announced, reproduction, settings, unit): unit for unit in units}
            remaining = set(futures)
            try:
                while remaining:
                    finished, remaining = wait(remaining, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                    announce.drain(started)
                    for future in finished:
                        announce(futures[future].key)  # its start may still be on its way
                        on_finished(futures[future], *future.result())
            except BaseException:
                for future in remaining:
                    future.cancel()
                raise


#: How often the local pool looks for units that started (and the bar redraws their running times).
_POLL_SECONDS = 0.5
#: In a pool worker: the queue on which it announces each unit it starts.
_started_queue: Any = None


def _start_worker(started: Any) -> None:
    global _started_queue
    _started_queue = started
    limit_threads()
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()


def _exit_when_orphaned(driver: int) -> None:
    """End this pool worker once its driver is gone (killed, so the pool could not stop it): nobody is left to
    write its unit's records, and it would hold a core until the unit ends."""
    while os.getppid() == driver:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


def _execute_announced(reproduction: Reproduction, settings: Settings, unit: Unit) -> tuple[list[Record], float]:
    _started_queue.put(unit.key)
    return execute_unit(reproduction, settings, unit)


@dataclass
class _Announcer:
    """Passes each unit's start on once, in order before its end (a worker's start message can arrive
    after its result)."""

    by_key: dict[str, Unit]
    on_started: OnStarted | None
    announced: set[str] = field(default_factory=set)

    def __call__(self, key: str) -> None:
        if key not in self.announced:
            self.announced.add(key)
            if self.on_started is not None:
                self.on_started(self.by_key[key])

    def drain(self, started: Any) -> None:
        while True:
            try:
                self(started.get_nowait())
            except queue.Empty:
                return


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- the results folder ----------------------------------------------------------------------------


@dataclass
class ResultsFolder:
    """The files of one reproduction's results folder; with ``reproduction``, the records read from it are
    checked against its record schemas."""

    path: Path
    reproduction: Reproduction | None = None

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS_FILE

    @property
    def records_path(self) -> Path:
        return self.path / RECORDS_FILE

    def prepare(self, reproduction: Reproduction, preset: str, settings: Settings) -> None:
        """Create the folder (or check that it resumes the same settings) before any work starts."""
        check_output_folder(self.path)
        description = {"reproduction": reproduction.name, "preset": preset, "settings": settings.as_dict(),
                       "fingerprint": settings_fingerprint(settings.as_dict())}
        if self.settings_path.exists():
            previous = self.description()
            if (previous.get("reproduction"), previous.get("settings")) != (reproduction.name, description["settings"]):
                raise PapergymError(
                    f"--out {self.path} holds results of other settings ({previous.get('reproduction')}, "
                    f"preset {previous.get('preset')}); choose another folder or delete it to start again")
        else:
            self.settings_path.write_text(json.dumps(description, indent=2) + "\n")

    def finished(self, units: Sequence[Unit] | None = None, *, repair: bool = True
                 ) -> dict[str, tuple[list[Record], float]]:
        """Records and seconds of the finished units by key, each line checked (one-line errors naming file
        and line). A last line cut short by an interruption is dropped: removed from the file when
        ``repair`` (before a run appends), only skipped with a note on stderr otherwise (``papergym report``
        never writes).
        With ``units``, every line must be one of them, and its records fit the record schema of the unit's
        kind (given the folder's reproduction); two lines of one unit must agree."""
        if not self.records_path.exists():
            return {}
        known = None if units is None else {unit.key: unit for unit in units}
        done: dict[str, tuple[list[Record], float]] = {}
        lines = self.records_path.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            where = f"{self.records_path}, line {number}"
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    if repair:
                        self._drop_partial_line(lines[:-1])
                    else:
                        print(f"note: {where} is cut short (a run stopped while writing it); it is skipped, and "
                              "rerunning the reproduction removes it and runs its unit again", file=sys.stderr)
                    break
                raise PapergymError(f"{where}: not a JSON record") from None
            key, records, seconds = _checked_entry(where, entry, known, self.reproduction)
            if key in done and done[key][0] != records:
                raise PapergymError(f"{where}: unit {key} appears twice with different records; "
                                    "keep one of the two lines")
            done[key] = (records, seconds)
        return done

    def _drop_partial_line(self, complete: list[str]) -> None:
        self.records_path.write_text("".join(line + "\n" for line in complete))

    def append(self, unit: Unit, records: list[Record], seconds: float) -> None:
        """Append one finished unit's records and flush them to disk at once."""
        line = json.dumps({"unit": unit.key, **unit.as_dict(), "seconds": round(seconds, 3), "records": records})
        with self.records_path.open("a") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def description(self) -> dict[str, Any]:
        if not self.settings_path.exists():
            raise PapergymError(f"{self.path} is not a results folder: it has no {SETTINGS_FILE}")
        try:
            description = json.loads(self.settings_path.read_text())
        except json.JSONDecodeError as error:
            raise PapergymError(f"{self.settings_path}: not valid JSON ({error})") from None
        if not isinstance(description, dict) or not isinstance(description.get("settings"), dict) \
                or not isinstance(description.get("reproduction"), str):
            raise PapergymError(f"{self.settings_path}: expected an object with 'reproduction' and 'settings'")
        fingerprint = description.get("fingerprint")
        if fingerprint is not None and fingerprint != settings_fingerprint(description["settings"]):
            raise PapergymError(f"{self.settings_path}: its settings were edited after the run (they no longer "
                                "match their fingerprint); the records belong to the original settings")
        return description

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's lock file (this process's pid) while a run writes into it; a second run is
        refused, and a lock whose holder no longer exists is taken over."""
        path = self.path / LOCK_FILE
        for _ in range(2):
            try:
                handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = _lock_holder(path)
                if holder is not None and _alive(holder):
                    raise PapergymError(f"--out {self.path} is in use by another run (pid {holder}, {path}); "
                                        "wait for it or choose another folder") from None
                path.unlink(missing_ok=True)  # stale: its holder has exited
                continue
            os.write(handle, str(os.getpid()).encode())
            os.close(handle)
            break
        else:
            raise PapergymError(f"--out {self.path}: cannot take the lock {path}")
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _lock_holder(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """A short hash of settings as saved (``as_dict``), to detect edits and to name default folders."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _checked_entry(where: str, entry: Any, known: dict[str, Unit] | None,
                   reproduction: Reproduction | None) -> tuple[str, list[Record], float]:
    """A records.jsonl line's unit key, records and seconds, checked for shape (and against ``known`` and the
    reproduction's record schemas)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("unit"), str):
        raise PapergymError(f"{where}: expected an object with 'unit', 'kind', 'seed', 'params', 'seconds' and "
                            "'records'")
    key, records, seconds = entry["unit"], entry.get("records"), entry.get("seconds", 0.0)
    if not isinstance(records, list):
        raise PapergymError(f"{where}: 'records' must be a list of objects")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise PapergymError(f"{where}: 'seconds' must be a number, got {seconds!r}")
    schema = RecordSchema()  # objects of any fields, where the unit's kind or the reproduction is not known
    if known is not None:
        if key not in known:
            raise PapergymError(f"{where}: unit {key} is not one of this reproduction's units for the settings "
                                "in reproduction.json")
        unit = known[key]
        if (entry.get("kind"), entry.get("seed"), entry.get("params")) != (unit.kind, unit.seed, dict(unit.params)):
            raise PapergymError(f"{where}: its kind, seed or params do not match its unit key {key}")
        if reproduction is not None:
            schema = reproduction.record_schemas[unit.kind]
    problem = schema.problem(records)
    if problem is not None:
        raise PapergymError(f"{where}: unit {key}: {problem}")
    return key, records, float(seconds)


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


# --- running and reporting -------------------------------------------------------------------------


def run_reproduction(reproduction: Reproduction, settings: Settings, out_dir: Path, *, preset: str = "custom",
                     workers: int | None = None, executor: Executor | None = None, progress: bool = True,
                     verbose: bool = True) -> list[Record]:
    """Run every unit not yet in ``out_dir`` with ``executor`` (default: ``workers`` local processes), then
    write and print the report. Returns every unit's records in the order of the unit list.

    A lock file in ``out_dir`` (:meth:`ResultsFolder.lock`) refuses a second run into the same folder."""
    executor = executor or LocalExecutor(workers)
    folder = ResultsFolder(Path(out_dir), reproduction)
    units = reproduction.all_units(settings)
    check_agents(reproduction, settings)  # before the folder exists: a bad agent leaves nothing behind
    folder.prepare(reproduction, preset, settings)
    with folder.lock():
        return _run_locked(reproduction, settings, folder, units, preset, executor, progress, verbose)


def _run_locked(reproduction: Reproduction, settings: Settings, folder: ResultsFolder, units: list[Unit],
                preset: str, executor: Executor, progress: bool, verbose: bool) -> list[Record]:
    from tqdm.auto import tqdm

    done = folder.finished(units)
    pending = [unit for unit in units if unit.key not in done]
    if verbose and done:
        print(f"resuming: {len(units) - len(pending)} of {len(units)} units already in {folder.records_path}")
    with tqdm(total=len(units), initial=len(units) - len(pending), desc=f"{reproduction.name} units",
              unit="unit", disable=not progress, dynamic_ncols=True) as bar, RunningUnits(bar) as running:
        def on_finished(unit: Unit, records: list[Record], seconds: float) -> None:
            folder.append(unit, records, seconds)
            done[unit.key] = (records, seconds)
            running.finished(unit)
            bar.update()

        if pending:
            executor.run(reproduction, settings, pending, on_finished, running.started)
    failed = [unit.key for unit in pending if unit.key not in done]
    if failed:
        raise PapergymError(f"{len(failed)} of {len(units)} units did not finish: {'; '.join(failed)}. Their "
                            f"errors are above; the other units' records are in {folder.records_path}, and "
                            "rerunning the same command runs only the unfinished ones")
    results = Results([FinishedUnit(unit, *done[unit.key]) for unit in units], preset)
    write_report(reproduction, settings, results, folder.path, verbose=verbose)
    return results.records


class RunningUnits:
    """The units running now and since when, shown after the progress bar and redrawn every second, so a
    long unit is never a silent bar: ``running 2: large,campaign=2997,c0=0.25 3m05s, +1``. (A unit run in this
    process by a compiled kernel that holds the interpreter's lock shows its time when the kernel returns.)"""

    def __init__(self, bar: Any, every: float = 1.0):
        self.bar, self.every = bar, every
        self.since: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="papergym-progress", daemon=True)

    def __enter__(self) -> RunningUnits:
        if not self.bar.disable:
            self.ticker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.ticker.is_alive():
            self.ticker.join()

    def started(self, unit: Unit) -> None:
        with self.lock:
            self.since[unit.key] = time.monotonic()
        self._show()

    def finished(self, unit: Unit) -> None:
        with self.lock:
            self.since.pop(unit.key, None)
        self._show()

    def text(self, now: float | None = None) -> str:
        """The longest-running unit and its time, and how many others run."""
        now = time.monotonic() if now is None else now
        with self.lock:
            if not self.since:
                return ""
            key, since = min(self.since.items(), key=lambda item: item[1])
            others = len(self.since) - 1
        return f"running {others + 1}: {key} {_duration(now - since)}" + (f", +{others}" if others else "")

    def _tick(self) -> None:
        while not self.stop.wait(self.every):
            self._show()

    def _show(self) -> None:
        if not self.bar.disable:
            self.bar.set_postfix_str(self.text(), refresh=True)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


def write_report(reproduction: Reproduction, settings: Settings, results: Results, out_dir: Path,
                 *, verbose: bool = True) -> str:
    """The claims table, then the reproduction's own report, from the results; saved as report.txt
    (and claims.csv) and printed."""
    from papergym.experiments.claims import claim_rows, evaluate_claims, format_claims
    from papergym.experiments.reporting import write_csv

    findings = evaluate_claims(reproduction.claims, settings, results)
    own = reproduction.report(settings, results, Path(out_dir))
    text = format_claims(findings, f"Claims of {reproduction.paper} (preset {results.preset})") + "\n\n" + own
    columns = ("claim", "paper", "ours", "verdict", "reason")
    write_csv(Path(out_dir) / CLAIMS_FILE, [dict(zip(columns, row)) for row in claim_rows(findings)])
    (Path(out_dir) / REPORT_FILE).write_text(text + "\n")
    if verbose:
        print(text)
        print(f"results in {out_dir}")
    return text


def load_results(out_dir: Path) -> tuple[Reproduction, Settings, Results]:
    """The reproduction, settings and results (in unit order) saved in a results folder."""
    from papergym.experiments import get_reproduction

    description = ResultsFolder(Path(out_dir)).description()
    reproduction = get_reproduction(description["reproduction"])
    folder = ResultsFolder(Path(out_dir), reproduction)
    settings = reproduction.settings_type.from_dict(description["settings"])
    units = reproduction.all_units(settings)
    done = folder.finished(units, repair=False)
    missing = [unit.key for unit in units if unit.key not in done]
    if missing:
        print(f"note: {len(missing)} of {len(units)} units are not finished in {out_dir}; "
              "the report covers the finished ones", file=sys.stderr)
    finished = [FinishedUnit(unit, *done[unit.key]) for unit in units if unit.key in done]
    if not any(item.records for item in finished):
        raise PapergymError(f"{out_dir} has no finished units to report")
    return reproduction, settings, Results(finished, description.get("preset", "custom"))


def rebuild_report(out_dir: Path, *, verbose: bool = True) -> str:
    """Remake the tables and plots of a results folder from its records alone (``papergym report DIR``)."""
    reproduction, settings, results = load_results(Path(out_dir))
    return write_report(reproduction, settings, results, Path(out_dir), verbose=verbose)
