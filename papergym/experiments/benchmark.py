"""Per-step cost of every environment against Gymnasium's CartPole, and native vector envs against
Gymnasium's SyncVectorEnv, measured side by side in one process.

A single environment's cost is the time of its raw ``step`` (the unwrapped environment, actions drawn
beforehand, resets included when episodes end), reported as the ratio to ``CartPole-v1``'s measured in the
same run; each repeat measures every id in turn (so slow drifts of the machine hit all of them alike) and
the table gives the median over repeats. A native vector env's throughput is compared with
``gymnasium.make_vec(id, vectorization_mode="sync")`` at the same number of environments.

Multi-agent (PettingZoo) ids are timed alike, per step of the parallel environment: one step of
``papergym/Auction-v0`` clears one auction for all its bidders, so its row is the cost of an auction. Its
native vector env (``AuctionVectorEnv``, ``num_envs`` auctions) is compared with SuperSuit's vector form of
the parallel environment at the same number of auctions (``pettingzoo_env_to_vec_env_v1`` +
``concat_vec_envs_v1``, what Stable-Baselines3 would get otherwise; skipped without the ``marl`` extra);
both throughputs count auctions per second.
"""

from __future__ import annotations

import csv
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from papergym.core.errors import PapergymError
from papergym.envs.auction import AuctionEnv, AuctionVectorEnv
from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS, entry

#: The reference environment of the per-step ratio.
REFERENCE_ID = "CartPole-v1"


@dataclass
class BenchResult:
    env_id: str
    #: Median over repeats of the single environment's step cost, in microseconds.
    step_us: float
    #: ``step_us`` divided by CartPole-v1's, measured in the same run.
    ratio_to_cartpole: float
    #: Native vector env and SyncVectorEnv throughput (env steps per second); None without a native one.
    vector_steps_per_s: float | None
    sync_steps_per_s: float | None
    num_envs: int
    #: What one step is: ``"step"``, or for a multi-agent id what its parallel step does ("auction, 3 bidders").
    step_unit: str = "step"
    #: What the native vector env is compared with.
    vector_baseline: str = "SyncVectorEnv"

    @property
    def vector_speedup(self) -> float | None:
        """Native vector env throughput over SyncVectorEnv's."""
        if self.vector_steps_per_s is None or not self.sync_steps_per_s:
            return None
        return self.vector_steps_per_s / self.sync_steps_per_s


def _pregenerated_actions(space: gym.Space, count: int, seed: int) -> list:
    space.seed(seed)
    return [space.sample() for _ in range(count)]


def single_step_seconds(env_id: str, steps: int, seed: int = 0) -> float:
    """Seconds per raw ``step`` of the unwrapped environment (resets at episode ends included)."""
    env = gym.make(env_id, disable_env_checker=True).unwrapped
    actions = _pregenerated_actions(env.action_space, min(steps, 1000), seed)
    env.reset(seed=seed)
    for action in actions[:5]:  # warm up: compiled code is loaded on the first call
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    env.reset(seed=seed)
    step, count = env.step, len(actions)
    start = time.process_time()
    for index in range(steps):
        _, _, terminated, truncated, _ = step(actions[index % count])
        if terminated or truncated:
            env.reset()
    elapsed = time.process_time() - start
    env.close()
    return elapsed / steps


def vector_steps_per_second(env_id: str, env_steps: int, num_envs: int, mode: str, seed: int = 0) -> float:
    """Environment steps per second of ``gym.make_vec(env_id, num_envs, vectorization_mode=mode)``."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    batches = [np.asarray(a) for a in _pregenerated_actions(envs.action_space, 50, seed)]
    return _vector_rate(envs, batches, env_steps, num_envs, seed)


def _vector_rate(envs: Any, batches: list[np.ndarray], steps: int, num_envs: int, seed: int) -> float:
    """Copies stepped per CPU second: ``steps // num_envs`` steps of ``envs`` on the cycled action batches,
    after a warm-up (compiled code is loaded on the first call); closes ``envs``."""
    envs.reset(seed=seed)
    for batch in batches[:5]:
        envs.step(batch)
    iterations = max(1, steps // num_envs)
    start = time.process_time()
    for index in range(iterations):
        envs.step(batches[index % len(batches)])
    elapsed = time.process_time() - start
    envs.close()
    return iterations * num_envs / elapsed


# --- multi-agent (PettingZoo) environments ----------------------------------------------------------

#: The multi-agent id the bench knows how to time (every registered one, today).
AUCTION_ID = "papergym/Auction-v0"


def _multi_agent_ids() -> list[str]:
    return [item.id for item in MULTI_AGENT_ENVIRONMENTS]


def parallel_step_seconds(env_id: str, steps: int, seed: int = 0) -> float:
    """Seconds per ``step`` of a PettingZoo parallel environment (one auction of every bidder for the
    auction; resets at episode ends included), with bids drawn beforehand."""
    _require_auction(env_id)
    env = AuctionEnv()
    env.reset(seed=seed)
    bids = np.random.default_rng(seed).integers(0, env.max_bid + 1, size=(min(steps, 1000), len(env.possible_agents)))
    actions = [dict(zip(env.possible_agents, row.tolist())) for row in bids]
    step, count = env.step, len(actions)
    for index in range(5):  # warm up
        step(actions[index])
    env.reset(seed=seed)
    start = time.process_time()
    for index in range(steps):
        if not env.agents:
            env.reset()
        step(actions[index % count])
    elapsed = time.process_time() - start
    env.close()
    return elapsed / steps


def _supersuit_auctions(num_envs: int):
    """SuperSuit's vector form of ``num_envs`` parallel auctions (one entry per bidder), or None without it."""
    try:
        import supersuit
    except ImportError:
        return None
    vector = supersuit.pettingzoo_env_to_vec_env_v1(AuctionEnv())
    return supersuit.concat_vec_envs_v1(vector, num_envs, num_cpus=0, base_class="gymnasium")


def multi_agent_steps_per_second(env_id: str, steps: int, num_envs: int, form: str, seed: int = 0) -> float | None:
    """Auctions per second of ``num_envs`` auctions in the native vector env (``form="native"``) or in
    SuperSuit's vector form (``"supersuit"``; None without SuperSuit)."""
    _require_auction(env_id)
    envs = AuctionVectorEnv(num_envs) if form == "native" else _supersuit_auctions(num_envs)
    if envs is None:
        return None
    auction = AuctionEnv()
    entries = num_envs * len(auction.possible_agents)
    batches = list(np.random.default_rng(seed).integers(0, auction.max_bid + 1, size=(50, entries)))
    return _vector_rate(envs, batches, steps, num_envs, seed)


def _require_auction(env_id: str) -> None:
    if env_id != AUCTION_ID:
        raise PapergymError(f"the bench times the multi-agent id {AUCTION_ID} only, got {env_id!r}")


def bench(env_ids: list[str] | None = None, steps: int = 20_000, repeats: int = 5,
          num_envs: int = 256, progress: bool = False) -> list[BenchResult]:
    """Measure every id (default: all registered ones, single- and multi-agent) and the CartPole reference,
    in one run."""
    for name, value in (("steps", steps), ("repeats", repeats), ("num_envs", num_envs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PapergymError(f"{name} must be an integer >= 1, got {value!r}")
    ids = list(env_ids or [e.id for e in ENVIRONMENTS] + _multi_agent_ids())
    multi_agent = set(_multi_agent_ids())
    timings: dict[str, list[float]] = {env_id: [] for env_id in [REFERENCE_ID, *ids]}
    from tqdm.auto import tqdm

    with tqdm(total=repeats * len(timings), desc="bench steps", unit="id", disable=not progress) as bar:
        for _ in range(repeats):
            for env_id in timings:
                bar.set_postfix_str(env_id)
                timing = parallel_step_seconds if env_id in multi_agent else single_step_seconds
                timings[env_id].append(timing(env_id, steps))
                bar.update()
    reference = statistics.median(timings[REFERENCE_ID])
    results = []
    for env_id in tqdm(ids, desc="bench vector envs", unit="id", disable=not progress):
        median = statistics.median(timings[env_id])
        if env_id in multi_agent:
            vector = multi_agent_steps_per_second(env_id, steps * 10, num_envs, "native")
            baseline = multi_agent_steps_per_second(env_id, steps, num_envs, "supersuit")
            bidders = len(AuctionEnv().possible_agents)
            results.append(BenchResult(env_id, median * 1e6, median / reference, vector, baseline, num_envs,
                                       f"auction, {bidders} bidders", "SuperSuit"))
            continue
        vector = sync = None
        if entry(env_id).vector_entry_point is not None:
            vector = vector_steps_per_second(env_id, steps * 10, num_envs, "vector_entry_point")
            sync = vector_steps_per_second(env_id, steps, num_envs, "sync")
        results.append(BenchResult(env_id, median * 1e6, median / reference, vector, sync, num_envs))
    return results


def reference_step_us(results: list[BenchResult]) -> float:
    """CartPole-v1's step cost in the run that produced ``results``."""
    first = results[0]
    return first.step_us / first.ratio_to_cartpole


def format_table(results: list[BenchResult]) -> str:
    """The benchmark as a Markdown table (the README's performance section)."""
    num_envs = results[0].num_envs if results else 0
    lines = [f"| environment | step (us) | vs CartPole | native vector steps/s ({num_envs} envs) | "
             "vs SyncVectorEnv |", "|---|---:|---:|---:|---:|",
             f"| {REFERENCE_ID} (reference) | {reference_step_us(results):.2f} | 1.00x | - | - |"]
    for result in results:
        vector = "-" if result.vector_steps_per_s is None else f"{result.vector_steps_per_s:,.0f}"
        speedup = "-" if result.vector_speedup is None else f"{result.vector_speedup:.0f}x"
        if result.vector_speedup is not None and result.vector_baseline != "SyncVectorEnv":
            speedup += f" (vs {result.vector_baseline})"
        name = result.env_id if result.step_unit == "step" else f"{result.env_id} (per {result.step_unit})"
        lines.append(f"| {name} | {result.step_us:.2f} | {result.ratio_to_cartpole:.2f}x | {vector} | "
                     f"{speedup} |")
    return "\n".join(lines)


def write_results(results: list[BenchResult], out_dir: Path) -> tuple[Path, Path]:
    """``bench.csv`` (one row per id, CartPole's cost in ``reference_step_us``) and ``bench.png``."""
    from papergym.experiments.plotting import pyplot, save_figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out_dir / "bench.csv", out_dir / "bench.png"
    reference = reference_step_us(results)
    with csv_path.open("w", newline="") as handle:
        fields = [*asdict(results[0]), "vector_speedup", "reference_step_us"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for result in results:
            writer.writerow(asdict(result) | {"vector_speedup": result.vector_speedup,
                                              "reference_step_us": reference})
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 0.45 * len(results) + 1.5))
    names = [result.env_id.removeprefix("papergym/") for result in results]
    axes.barh(names, [result.ratio_to_cartpole for result in results], color="tab:blue")
    axes.axvline(1.0, color="black", linewidth=1, label=f"{REFERENCE_ID} ({reference:.1f} us/step)")
    axes.axvline(1.5, color="tab:red", linestyle="--", linewidth=1, label="1.5x")
    axes.invert_yaxis()
    axes.set_xlabel("single-env step cost / CartPole-v1's (median of repeats)")
    axes.legend(loc="lower right")
    save_figure(figure, png_path)
    return csv_path, png_path


# --- the papers' own benchmarks (``papergym bench --papers``) ---------------------------------------


def benchmarks_folder() -> Path:
    """The repository's ``benchmarks/`` folder beside the package; a :class:`PapergymError` where papergym is
    installed without it (not a source checkout)."""
    import papergym

    folder = Path(papergym.__file__).resolve().parents[1] / "benchmarks"
    if not folder.is_dir():
        raise PapergymError(f"--papers runs the repository's benchmarks/bench_*.py scripts, but there is no {folder}: "
                            "this papergym is installed, not a source checkout; clone the repository and install it "
                            "with pip install -e . to run them")
    return folder


def run_paper_benchmarks(folder: Path, *, progress: bool = True) -> list[tuple[str, float]]:
    """Run every ``bench_*.py`` script of ``folder`` with its default arguments: its ``main([])`` where
    ``main`` takes an argument list, else the script as ``__main__``. Returns each script's name and
    seconds; a script that fails is reported (traceback printed) and the others still run."""
    import inspect
    import runpy
    import sys
    import traceback

    from tqdm.auto import tqdm

    scripts = sorted(Path(folder).glob("bench_*.py"))
    if not scripts:
        raise PapergymError(f"{folder} holds no bench_*.py script")
    timings, failed = [], []
    for script in tqdm(scripts, desc="paper benchmarks", unit="script", disable=not progress):
        print(f"== {script.stem}", flush=True)
        started = time.perf_counter()
        saved_argv = sys.argv
        try:
            namespace = runpy.run_path(str(script), run_name=f"papergym_bench_{script.stem}")
            main = namespace.get("main")
            if callable(main) and inspect.signature(main).parameters:
                main([])
            else:
                sys.argv = [str(script)]
                runpy.run_path(str(script), run_name="__main__")
        except Exception:
            traceback.print_exc()
            failed.append(script.name)
        finally:
            sys.argv = saved_argv
        timings.append((script.stem, time.perf_counter() - started))
    if failed:
        raise PapergymError(f"{len(failed)} of {len(scripts)} benchmark scripts failed ({', '.join(failed)}); "
                            "their tracebacks are above")
    return timings
