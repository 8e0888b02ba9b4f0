"""The ``papergym`` command line: list, info, train, evaluate, reproduce, report, claims, bench.

Errors a user can cause (an unknown id, algorithm, agent, reproduction or setting; a bad argument or
data file) raise :class:`~papergym.core.errors.PapergymError` and print one line on stderr with exit
status 2. Any other exception is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from pathlib import Path

import gymnasium as gym

import papergym
from papergym.core.errors import PapergymError
from papergym.registration import ENVIRONMENTS, MULTI_AGENT_ENVIRONMENTS

EXIT_USAGE = 2
EPISODE_LIMIT_HELP = ("episode length (default: the id's registered limit; 1000 for ids without one, such as the "
                      "bandit, whose own episode is the paper's trial of 10^6 rounds)")


class CliError(PapergymError):
    """A user error found by the command line itself, reported as one line."""


def _require_env_id(env_id: str) -> None:
    try:
        gym.spec(env_id)
    except gym.error.Error:
        known = ", ".join(entry.id for entry in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS)
        raise CliError(f"unknown environment id {env_id!r}; papergym ids: {known}") from None


def _space_text(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Box):
        return f"Box{space.shape}"
    return str(space)


def cmd_list(args: argparse.Namespace) -> None:
    for entry in ENVIRONMENTS:
        env = gym.make(entry.id, disable_env_checker=True)
        print(f"{entry.id:<40} {_space_text(env.observation_space):<16} {_space_text(env.action_space):<16} "
              f"{entry.paper}")
        env.close()
    for entry in MULTI_AGENT_ENVIRONMENTS:
        print(f"{entry.id:<40} {'(PettingZoo)':<33} {entry.paper}")


def cmd_info(args: argparse.Namespace) -> None:
    multi_agent = {entry.id: entry for entry in MULTI_AGENT_ENVIRONMENTS}
    if args.env_id in multi_agent:
        _multi_agent_info(multi_agent[args.env_id])
        return
    _require_env_id(args.env_id)
    env = gym.make(args.env_id, disable_env_checker=True)
    spec = env.spec
    print(spec.id)
    print(f"  entry point:        {spec.entry_point}")
    print(f"  vector entry point: {spec.vector_entry_point}")
    print(f"  max_episode_steps:  {spec.max_episode_steps}")
    print(f"  observation space:  {env.observation_space}")
    print(f"  action space:       {env.action_space}")
    print(inspect.cleandoc(type(env.unwrapped).__doc__ or "(no documentation)"))


def _multi_agent_info(entry) -> None:
    import pettingzoo

    env = pettingzoo.make("parallel", entry.id)
    print(f"{entry.id} (PettingZoo parallel environment)")
    print(f"  entry point:        {entry.entry_point}")
    print(f"  max_cycles:         {entry.max_episode_steps}")
    print(f"  agents:             {', '.join(env.possible_agents)}")
    first = env.possible_agents[0]
    print(f"  observation space:  {env.observation_space(first)} (per agent)")
    print(f"  action space:       {env.action_space(first)} (per agent)")
    print(inspect.cleandoc(type(env.unwrapped).__doc__ or "(no documentation)"))


def _require_at_least(args: argparse.Namespace, low: int, *names: str) -> None:
    """Numeric options checked before any work: ``--steps 0`` fails at once, not after training."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value < low:
            raise PapergymError(f"--{name.replace('_', '-')} must be >= {low}, got {value}")


def _require_writable(option: str, path: str | None, *, folder: bool) -> None:
    """An output path that can be created: not a folder where a file goes (or the reverse), under a
    writable folder."""
    if path is None:
        return
    target = Path(path)
    if target.exists() and target.is_dir() != folder:
        raise PapergymError(f"{option} {path} must be a {'folder' if folder else 'file'}, "
                            f"but a {'file' if folder else 'folder'} is there")
    parent = target if folder else target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise PapergymError(f"{option} {path} cannot be written: {parent} is not a writable folder")


def _train_hyperparameters(args: argparse.Namespace) -> dict:
    from papergym.agents.training import parse_hyperparameters

    return parse_hyperparameters(args.hyperparams or [])


def cmd_train(args: argparse.Namespace) -> None:
    _require_env_id(args.env_id)
    _require_at_least(args, 1, "steps", "eval_episodes", "max_episode_steps", "n_envs", "eval_freq", "threads")
    _require_at_least(args, 0, "seed")
    hyperparameters = _train_hyperparameters(args)
    out_dir = Path(args.out or f"runs/{args.env_id.replace('/', '_')}-{args.algo}-seed{args.seed}")
    _require_writable("--out", str(out_dir), folder=True)
    _require_writable("--tensorboard-log", args.tensorboard_log, folder=True)
    from papergym.experiments.training import train

    result = train(args.env_id, args.algo, args.steps, args.seed, out_dir,
                   progress="none" if args.no_progress else "auto", eval_episodes=args.eval_episodes,
                   max_episode_steps=args.max_episode_steps, n_envs=args.n_envs, hyperparameters=hyperparameters,
                   tensorboard_log=args.tensorboard_log, eval_freq=args.eval_freq, threads=args.threads)
    algo = args.algo.upper()
    collected = "" if result.steps_trained == args.steps else (
        f" ({args.steps} asked: {algo} checks the budget after each collection of "
        f"{result.steps_per_collection} steps, so it trains whole collections)")
    print(f"trained {algo} on {args.env_id} for {result.steps_trained} steps{collected} (seed {args.seed})")
    print(f"  {result.n_envs} environment{'s' if result.n_envs > 1 else ''} (--n-envs), {args.threads} torch "
          f"thread{'s' if args.threads > 1 else ''} (--threads)")
    if result.hyperparameters:
        print(f"  hyperparameters: {', '.join(f'{key}={value}' for key, value in result.hyperparameters.items())}")
    if result.max_episode_steps is not None:
        print(f"  episodes of at most {result.max_episode_steps} steps (--max-episode-steps)")
    print(f"  trained policy: mean return {result.trained.mean:.4g}, 95% CI "
          f"[{result.trained.ci_low:.4g}, {result.trained.ci_high:.4g}] over {result.trained.n} episodes")
    print(f"  random policy:  mean return {result.random.mean:.4g}, 95% CI "
          f"[{result.random.ci_low:.4g}, {result.random.ci_high:.4g}]")
    print(f"  model: {result.model_path}  learning curve: {result.curve_path} (.png beside it)")
    if result.evaluations_path is not None:
        print(f"  evaluations every {args.eval_freq:,} steps: {result.evaluations_path}")
    if args.tensorboard_log:
        print(f"  TensorBoard log: {args.tensorboard_log} (tensorboard --logdir {args.tensorboard_log})")
    if result.episodes_trained == 0:
        print(f"  no training episode ended within {result.steps_trained} steps, so the learning curve is empty: "
              "train longer or pass a shorter --max-episode-steps")


def _build_agent(spec: str, env: gym.Env, algo: str | None):
    """A named papergym agent, a saved SB3 model (.zip) or a user's ``module:factory``."""
    from papergym.agents import AGENTS
    from papergym.agents.training import load_model
    from papergym.experiments.contract import load_agent

    if spec in AGENTS:
        return AGENTS[spec](env)
    if spec.endswith(".zip") or Path(spec).exists():
        return load_model(Path(spec), algo)
    if ":" in spec:
        return load_agent(spec, env)
    raise CliError(f"unknown agent {spec!r}; give a saved SB3 model (.zip), a module:factory, or one of: "
                   f"{', '.join(AGENTS)}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from papergym.core.rollout import episode_limit, evaluate
    from papergym.experiments.reporting import CsvLog

    _require_env_id(args.env_id)
    _require_at_least(args, 1, "episodes", "max_episode_steps")
    _require_at_least(args, 0, "seed")
    _require_writable("--out", args.out, folder=False)
    limit = episode_limit(args.env_id, args.max_episode_steps)
    env = gym.make(args.env_id, **({"max_episode_steps": limit} if limit is not None else {}))
    agent = _build_agent(args.agent, env, args.algo)
    result = evaluate(agent, env, args.episodes, seed=args.seed, deterministic=not args.stochastic)
    summary = result.summary()
    print(f"{args.agent} on {args.env_id}: {summary.n} episodes, mean return {summary.mean:.4g}, "
          f"std {summary.std:.4g}, 95% CI [{summary.ci_low:.4g}, {summary.ci_high:.4g}], "
          f"mean length {result.lengths.mean():.1f}")
    if args.out:
        log = CsvLog(Path(args.out), ["episode", "seed", "return", "length"])
        for episode, (episode_return, length) in enumerate(zip(result.returns, result.lengths)):
            log.append({"episode": episode, "seed": args.seed + episode, "return": float(episode_return),
                        "length": int(length)})
        print(f"wrote {args.out}")


def cmd_reproduce(args: argparse.Namespace) -> None:
    from papergym.experiments import get_reproduction, reproductions

    if args.paper is None:
        for name, reproduction in reproductions().items():
            presets = ", ".join(reproduction.presets)
            print(f"{name:<10} [{presets}] {reproduction.paper}: {reproduction.description}")
        return
    preset = "quick" if args.quick else args.preset
    if args.paper == "all":
        _reproduce_all(args, preset)
        return
    if args.skip:
        raise CliError("--skip goes with reproduce all")
    reproduction = get_reproduction(args.paper)
    settings = _reproduction_settings(reproduction, preset, args)
    if args.show:
        print(f"{reproduction.name}, preset {preset}:")
        print(settings.describe())
        return
    from papergym.experiments.runner import run_reproduction

    out_dir = Path(args.out or default_out(reproduction, preset, settings))
    print(f"reproducing {reproduction.paper} (preset {preset}) into {out_dir}")
    run_reproduction(reproduction, settings, out_dir, preset=preset, workers=args.workers,
                     progress=not args.no_progress)


def default_out(reproduction, preset: str, settings) -> str:
    """``results/<paper>-<preset>``, with a short hash of the settings where they differ from the preset's,
    so runs of other settings never meet in one folder."""
    from papergym.experiments.runner import settings_fingerprint

    if settings == reproduction.preset(preset):
        return f"results/{reproduction.name}-{preset}"
    return f"results/{reproduction.name}-{preset}-{settings_fingerprint(settings.as_dict())}"


def _reproduction_settings(reproduction, preset: str, args: argparse.Namespace):
    """The preset with the command line's changes: --seeds, --data, --agent and every --set key=value."""
    settings = reproduction.preset(preset)
    overrides: dict[str, str] = {}
    for assignment in args.set or []:
        key, separator, value = assignment.partition("=")
        if not separator or not key:
            raise CliError(f"--set takes key=value, got {assignment!r}")
        overrides[key.strip()] = value.strip()
    settings = settings.with_overrides(overrides)
    changes = {}
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    if args.data is not None:
        if not reproduction.takes("data"):
            raise CliError(f"reproduction {reproduction.name!r} takes no --data (it runs on built-in models)")
        changes["data"] = args.data
    if args.agent:
        changes["agents"] = (*settings.agents, *args.agent)
    return settings.replace(**changes) if changes else settings


def _reproduce_all(args: argparse.Namespace, preset: str) -> None:
    """``reproduce all``: every reproduction (less --skip) into OUT/NAME, and OUT/README.md."""
    from papergym.experiments.collection import run_all

    refused = [flag for flag, value in (("--set", args.set), ("--agent", args.agent), ("--data", args.data),
                                        ("--show", args.show)) if value]
    if refused:
        raise CliError(f"{', '.join(refused)}: give a reproduction's name, not all")
    _require_at_least(args, 1, "seeds", "workers")
    out_dir = Path(args.out or f"results/all-{preset}")
    summary = run_all(out_dir, preset=preset, skip=args.skip or (), seeds=args.seeds, workers=args.workers,
                      progress=not args.no_progress)
    print(summary)
    print(f"report of every reproduction: {out_dir / 'README.md'}")


def cmd_report(args: argparse.Namespace) -> None:
    from papergym.experiments.collection import is_collection, rebuild_collection
    from papergym.experiments.runner import rebuild_report

    if is_collection(Path(args.results)):
        print(rebuild_collection(Path(args.results), verbose=False))
        print(f"rebuilt {Path(args.results) / 'README.md'}")
        return
    rebuild_report(Path(args.results))


def cmd_claims(args: argparse.Namespace) -> None:
    """The declared claims and their sources, without running anything."""
    from papergym.experiments import REPRODUCTIONS, get_reproduction

    for name in [args.paper] if args.paper else list(REPRODUCTIONS):
        reproduction = get_reproduction(name)
        print(f"{name}: {reproduction.paper}")
        for claim in reproduction.claims:
            print(f"  {claim.id} [presets: {', '.join(claim.presets)}]")
            print(f"    {claim.sentence}")
            print(f"    paper: {claim.paper or '(a claim of ours: no paper figure)'}")
            print(f"    source: {claim.source}")


def cmd_bench(args: argparse.Namespace) -> None:
    if args.papers:
        _bench_papers(args)
        return
    multi_agent = {entry.id for entry in MULTI_AGENT_ENVIRONMENTS}
    for env_id in args.env_ids:
        if env_id not in multi_agent:
            _require_env_id(env_id)
    _require_at_least(args, 1, "steps", "repeats", "num_envs")
    _require_writable("--out", args.out, folder=True)
    from papergym.experiments.benchmark import bench, format_table, write_results

    count = len(args.env_ids) or len(ENVIRONMENTS) + len(MULTI_AGENT_ENVIRONMENTS)
    print(f"timing {count} environments and CartPole-v1: {args.repeats} repeats "
          f"of {args.steps:,} steps each, vector envs at {args.num_envs} copies")
    results = bench(args.env_ids or None, steps=args.steps, repeats=args.repeats, num_envs=args.num_envs,
                    progress=not args.no_progress)
    print(format_table(results))
    csv_path, png_path = write_results(results, Path(args.out))
    print(f"wrote {csv_path} and {png_path}")


def _bench_papers(args: argparse.Namespace) -> None:
    """``bench --papers``: every repository benchmarks/bench_*.py script with its default arguments."""
    from papergym.experiments.benchmark import benchmarks_folder, run_paper_benchmarks

    if args.env_ids:
        raise CliError("--papers runs the papers' own benchmarks; give no environment ids with it")
    timings = run_paper_benchmarks(benchmarks_folder(), progress=not args.no_progress)
    print("\n".join(f"{name}: {seconds:.1f} s" for name, seconds in timings))


# --- Ray: RLlib training and Tune sweeps (the `ray` extra) --------------------------------------


RLLIB_DEFAULT_WORKERS = 2


def _ray_integration():
    try:
        from papergym.integrations import ray as integration
    except ImportError as error:
        raise CliError(str(error)) from None
    return integration


def _train_with_backend(args: argparse.Namespace) -> None:
    if args.backend == "rllib":
        sb3_only = [flag for flag, value in (("--tensorboard-log", args.tensorboard_log),
                                             ("--eval-freq", args.eval_freq)) if value is not None]
        if sb3_only:
            raise CliError(f"{', '.join(sb3_only)}: only with --backend sb3 (RLlib logs to its checkpoint folder)")
        cmd_train_rllib(args)
        return
    rllib_only = [flag for flag, value in (("--workers", args.workers), ("--rllib-algo", args.rllib_algo),
                                           ("--train-batch", args.train_batch), ("--address", args.address))
                  if value is not None]
    if rllib_only:
        raise CliError(f"{', '.join(rllib_only)}: only with --backend rllib")
    cmd_train(args)


def cmd_train_rllib(args: argparse.Namespace) -> None:
    from papergym.experiments.reporting import format_table

    integration = _ray_integration()
    known = [entry.id for entry in ENVIRONMENTS + MULTI_AGENT_ENVIRONMENTS]
    if args.env_id not in known:
        raise CliError(f"unknown environment id {args.env_id!r}; papergym ids: {', '.join(known)}")
    _require_at_least(args, 1, "steps", "eval_episodes", "max_episode_steps", "train_batch", "n_envs", "threads")
    _require_at_least(args, 0, "seed", "workers")
    hyperparameters = _train_hyperparameters(args)
    algo = (args.rllib_algo or args.algo).upper()
    workers = RLLIB_DEFAULT_WORKERS if args.workers is None else args.workers
    out_dir = Path(args.out or f"runs/{args.env_id.replace('/', '_')}-rllib-{algo.lower()}-seed{args.seed}")
    _require_writable("--out", str(out_dir), folder=True)
    where = f"the Ray cluster at {args.address}" if args.address else "a local Ray instance"
    print(f"training RLlib {algo} on {args.env_id}: {workers} env runner(s) on {where}")
    result = integration.train(args.env_id, out_dir, algo=algo, workers=workers, steps=args.steps,
                               seed=args.seed, address=args.address, eval_episodes=args.eval_episodes,
                               train_batch_size=args.train_batch, max_episode_steps=args.max_episode_steps,
                               progress=not args.no_progress, hyperparameters=hyperparameters,
                               envs_per_worker=args.n_envs or integration.DEFAULT_ENVS_PER_WORKER,
                               threads=args.threads)
    print(f"trained RLlib {algo} on {args.env_id}: {result.env_steps} env steps in {result.iterations} "
          f"iterations (seed {args.seed})")
    if result.max_episode_steps is not None:
        print(f"  episodes of at most {result.max_episode_steps} steps (--max-episode-steps)")
    if result.trained is not None:
        print(format_table(f"return on {args.eval_episodes} held-out episodes (seeds {args.seed + 10_000}...)",
                           {f"trained {algo}": result.trained, "random": result.random}, "return"))
    print(f"  checkpoint: {result.checkpoint}  learning curve: {result.curve_path} (.png beside it)")


def cmd_sweep(args: argparse.Namespace) -> None:
    from papergym.experiments import get_reproduction

    reproduction = get_reproduction(args.paper)
    settings = _reproduction_settings(reproduction, args.preset, args)
    integration = _ray_integration()
    out_dir = Path(args.out or f"results/{reproduction.name}-{args.preset}")
    where = f"the Ray cluster at {args.address}" if args.address else "a local Ray instance"
    print(f"sweeping {reproduction.paper} (preset {args.preset}) as Ray Tune trials on {where} into {out_dir}")
    integration.sweep(reproduction, settings, out_dir, preset=args.preset, address=args.address,
                      workers=args.workers, retries=args.retries, progress=not args.no_progress)


def _add_ray_commands(commands: argparse._SubParsersAction, train: argparse.ArgumentParser) -> None:
    """``train --backend rllib`` and ``sweep``: RLlib training and reproductions as Ray Tune trials."""
    train.add_argument("--backend", choices=("sb3", "rllib"), default="sb3",
                       help="sb3 (default) or rllib: RLlib with --workers remote env runners")
    train.add_argument("--workers", type=int,
                       help=f"RLlib env runners (--backend rllib; default {RLLIB_DEFAULT_WORKERS})")
    train.add_argument("--rllib-algo", metavar="NAME",
                       help="an RLlib algorithm: PPO (default), APPO, IMPALA, DQN or SAC (each tested), or any "
                            "other RLlib name")
    train.add_argument("--train-batch", type=int, help="env steps per RLlib iteration (default: the algorithm's)")
    train.add_argument("--address", help="a running Ray cluster's head, host:port or auto (default: a private local "
                                         "instance); a cluster with token authentication needs its token in "
                                         "RAY_AUTH_TOKEN (see the README)")
    train.set_defaults(func=_train_with_backend)

    sweep = commands.add_parser("sweep", help="run a reproduction's units as Ray Tune trials, locally or on a cluster")
    sweep.add_argument("paper")
    sweep.add_argument("--preset", default="paper", help="named settings: quick or paper (default)")
    sweep.add_argument("--seeds", type=int, help="number of seeds (trials, paths) instead of the preset's")
    sweep.add_argument("--set", action="append", metavar="KEY=VALUE", help="change one setting (repeatable)")
    sweep.add_argument("--agent", action="append", metavar="MODULE:FACTORY|MODEL.zip",
                       help="add your own agent to the table, on the paper's protocol (repeatable)")
    sweep.add_argument("--data", help="real data for reproductions that take it (rtb: an iPinYou folder)")
    sweep.add_argument("--out", help="results folder (default results/<paper>-<preset>, as reproduce); rerun to resume")
    sweep.add_argument("--address", help="a running Ray cluster's head, host:port or auto (default: a local instance)")
    sweep.add_argument("--workers", type=int, help="concurrent trials at most (default: one per CPU)")
    sweep.add_argument("--retries", type=int, default=2, help="retries of a failed trial (default 2)")
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sweep.set_defaults(func=cmd_sweep)


def _add_reproduction_commands(commands: argparse._SubParsersAction) -> None:
    """``reproduce``, ``report`` and ``claims``: the papers' comparisons and their claims."""
    reproduce = commands.add_parser("reproduce", help="run a paper's comparison (no name: list them; all: every one)")
    reproduce.add_argument("paper", nargs="?", help="a reproduction's name, or all (into OUT/NAME, with OUT/README.md)")
    reproduce.add_argument("--skip", action="append", metavar="NAME", help="with all: leave this one out (repeatable)")
    reproduce.add_argument("--preset", default="paper",
                           help="named settings: quick (minutes on 2 cores) or paper (the paper's protocol)")
    reproduce.add_argument("--quick", action="store_true", help="alias of --preset quick")
    reproduce.add_argument("--seeds", type=int, help="number of seeds (trials, paths) instead of the preset's")
    reproduce.add_argument("--workers", type=int, default=None, help="worker processes (default: the cores)")
    reproduce.add_argument("--out", help="results folder (default results/<paper>-<preset>, plus a short hash of "
                                         "the settings when --seeds/--set/--data/--agent change them); rerun to resume")
    reproduce.add_argument("--data", help="real data for reproductions that take it (rtb: an iPinYou folder)")
    reproduce.add_argument("--set", action="append", metavar="KEY=VALUE", help="change one setting (repeatable)")
    reproduce.add_argument("--agent", action="append", metavar="MODULE:FACTORY|MODEL.zip",
                           help="add your own agent to the table, on the paper's protocol (repeatable)")
    reproduce.add_argument("--show", action="store_true", help="print the settings and stop")
    reproduce.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    reproduce.set_defaults(func=cmd_reproduce)

    report = commands.add_parser("report", help="rebuild a reproduction's tables and plots from its results folder")
    report.add_argument("results", help="a folder written by papergym reproduce (or reproduce all)")
    report.set_defaults(func=cmd_report)

    claims = commands.add_parser("claims", help="list each paper's claims and their sources (runs nothing)")
    claims.add_argument("paper", nargs="?", help="one reproduction's name (default: every one)")
    claims.set_defaults(func=cmd_claims)


def build_parser() -> argparse.ArgumentParser:
    from papergym.agents.training import ALGORITHMS

    parser = argparse.ArgumentParser(prog="papergym", description=papergym.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"papergym {papergym.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="the registered environments, one line each").set_defaults(func=cmd_list)

    info = commands.add_parser("info", help="an environment's documentation and spaces")
    info.add_argument("env_id")
    info.set_defaults(func=cmd_info)

    train = commands.add_parser("train", help="train an SB3 algorithm (or an RLlib one) on an environment")
    train.add_argument("env_id", help="a registered id (papergym list)")
    train.add_argument("--algo", choices=ALGORITHMS, default="ppo", help="the SB3 (or papergym) algorithm")
    train.add_argument("--steps", type=int, default=20_000,
                       help="environment steps to train (default 20000); SB3 trains whole rollouts, so PPO "
                            "trains the steps rounded up to a multiple of n_steps x n_envs, and says so")
    train.add_argument("--seed", type=int, default=0, help="seed of the model and the environments (default 0)")
    train.add_argument("--out", help="output folder (default runs/<id>-<algo>-seed<seed>)")
    train.add_argument("--eval-episodes", type=int, default=20,
                       help="held-out episodes of the final comparison with a random policy, and of each "
                            "--eval-freq evaluation (default 20)")
    train.add_argument("--max-episode-steps", type=int, help=EPISODE_LIMIT_HELP)
    train.add_argument("--hyperparams", nargs="+", metavar="KEY:VALUE",
                       help="hyperparameters as rl-zoo3 takes them (key:value or key=value, values Python "
                            "expressions: learning_rate:1e-3 policy_kwargs:\"dict(net_arch=[64, 64])\"); they "
                            "update the reproductions' settings for the id (papergym/agents/hyperparams/<algo>.yml)")
    train.add_argument("--n-envs", type=int,
                       help="environments collecting in parallel (default: the YAML's n_envs, else 1): the id's "
                            "native vector env where it has one, else one process each; with --backend rllib, "
                            "environments per env runner")
    train.add_argument("--tensorboard-log", metavar="DIR", help="write SB3's TensorBoard log there (needs tensorboard)")
    train.add_argument("--eval-freq", type=int, metavar="N",
                       help="evaluate the policy every N steps on --eval-episodes episodes (SB3's EvalCallback; "
                            "OUT/evaluations.npz)")
    train.add_argument("--threads", type=int, default=1,
                       help="torch compute threads (default 1: small networks gain nothing from more, and on a "
                            "busy machine extra threads only contend)")
    train.add_argument("--no-progress", action="store_true",
                       help="hide the progress (a bar on a terminal, a line per tenth of the steps otherwise)")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a papergym agent or a saved SB3 model")
    evaluate.add_argument("env_id", help="a registered id (papergym list)")
    evaluate.add_argument("--agent", required=True,
                          help="an agent name (see papergym.agents.AGENTS), a saved SB3 model (.zip) or "
                               "module:factory (a function taking the environment, returning an agent)")
    evaluate.add_argument("--algo", choices=ALGORITHMS, help="algorithm of a saved model (default: detected)")
    evaluate.add_argument("--episodes", type=int, default=100, help="episodes to play (default 100)")
    evaluate.add_argument("--seed", type=int, default=0,
                          help="seed of the first episode; episode i uses seed + i (default 0)")
    evaluate.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    evaluate.add_argument("--out", help="CSV file for the per-episode returns")
    evaluate.add_argument("--max-episode-steps", type=int, help=EPISODE_LIMIT_HELP)
    evaluate.set_defaults(func=cmd_evaluate)

    _add_reproduction_commands(commands)

    bench = commands.add_parser("bench", help="per-step cost vs CartPole-v1; native vector env vs SyncVectorEnv")
    bench.add_argument("env_ids", nargs="*", help="ids to time (default: every registered one)")
    bench.add_argument("--steps", type=int, default=20_000, help="single-env steps per repeat")
    bench.add_argument("--repeats", type=int, default=5, help="repeats; the table gives their median")
    bench.add_argument("--num-envs", type=int, default=256, help="copies in the vector env comparison")
    bench.add_argument("--out", default="results/bench", help="folder for bench.csv and bench.png")
    bench.add_argument("--papers", action="store_true",
                       help="run each paper's own benchmark (the repository's benchmarks/bench_*.py scripts)")
    bench.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    bench.set_defaults(func=cmd_bench)
    _add_ray_commands(commands, train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except PapergymError as error:
        print(f"papergym: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("papergym: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
