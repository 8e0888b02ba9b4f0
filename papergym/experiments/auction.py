"""Multi-agent auctions: a tournament of RLB, Lin and a PPO bidder on ``papergym/Auction-v0``.

The bidders of Cai et al. (WSDM 2017) were built for a market that does not react: RLB's dynamic programme
and Lin's base bid both come from the market-price distribution of the campaign's own log. Here three
budget-constrained bidders share one request stream, so each one's market is also the other bidders. For
every seed (a fresh synthetic market, or the iPinYou campaigns) and every bidder type, the table reports
clicks and cost per episode, eCPC and win rate on the test episodes:

* ``alone``: the bidder against the market only (RTB-v0's setting, on seat 0's campaign);
* ``self``: three copies of the bidder (self-play);
* ``mixed``: RLB, Lin and PPO at one auction (seat i gets type i).

Every RTB bidder is built from its seat's campaign and budget as for RTB-v0; Lin's base bid is tuned on
the seat's validation episodes against the market alone. The PPO bidder is one policy shared by all seats
(parameter sharing), trained in self-play on the native vector form (SuperSuit's conversion is the
alternative path) on the multiplier of Lin's bid, with the pCTR as reward.

At c0 = 1/32 a bidder wins a fraction of a click per episode, so realised clicks are very noisy over a few
seeds; the table also gives the expected clicks (the sum of the won impressions' pCTR, whose expectation
the clicks share), the measure to compare types with. The synthetic market is symmetric (every seat has
the same campaign model); with ``data`` the seats hold different campaigns, and ``alone`` is seat 0's.

    python -m papergym.experiments.auction --preset quick --out results/auction-quick
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from papergym.agents.auction import (
    SeatPolicy,
    TrainedBidder,
    bidder_policy,
    predictor_policy,
    rtb_bidder,
    train_shared_ppo,
)
from papergym.envs.auction import AUCTIONS, AuctionEnv, AuctionMarket, SyntheticMarket, market_from_campaigns
from papergym.envs.rtb import read_campaign_folder
from papergym.experiments.contract import (
    Record,
    Reproduction,
    Settings,
    SettingsError,
    Unit,
    agent_label,
    load_agent,
    require_setting_int,
)
from papergym.experiments.reporting import CsvLog, format_table, summary_table

BUILTIN_TYPES = ("RLB", "Lin", "PPO")
MATCH_ORDER = ("alone", "self", "mixed")
TABLE_COLUMNS = ["match", "agent", "seeds", "clicks_per_episode", "ci_low", "ci_high",
                 "expected_clicks_per_episode", "cost_per_episode", "ecpc", "win_rate", "budget_spent"]


@dataclass(frozen=True, kw_only=True)
class AuctionSettings(Settings):
    """The tournament: bidders, market, budgets, evaluation episodes and the PPO bidder's training."""

    n_bidders: int = 3
    T: int = 1000
    c0: float = 1 / 32
    auction: str = "second"
    value_correlation: float = 0.5
    #: Test episodes per match (consecutive episodes of T requests of the test split).
    episodes: int = 50
    #: Validation episodes Lin is tuned on (synthetic markets).
    tune_episodes: int = 50
    ppo_timesteps: int = 300_000
    ppo_copies: int = 4
    #: PPO's rollout length per vector entry (one entry per bidder and copy).
    ppo_n_steps: int = 512
    #: A folder of iPinYou campaign folders (the first ``n_bidders`` are seated); None: synthetic markets.
    data: str | None = None

    def validate(self) -> None:
        checks = {"n_bidders": 2, "T": 1, "episodes": 1, "tune_episodes": 1, "ppo_timesteps": 1, "ppo_copies": 1,
                  "ppo_n_steps": 2}
        for name, low in checks.items():
            require_setting_int(name, getattr(self, name), low)
        if not isinstance(self.c0, (int, float)) or not self.c0 > 0:
            raise SettingsError(f"c0 must be a number > 0, got {self.c0!r}")
        if self.auction not in AUCTIONS:
            raise SettingsError(f"auction must be one of {list(AUCTIONS)}, got {self.auction!r}")
        if not isinstance(self.value_correlation, (int, float)) or not 0.0 <= self.value_correlation <= 1.0:
            raise SettingsError(f"value_correlation must lie in [0, 1], got {self.value_correlation!r}")
        if self.data is not None and not Path(self.data).is_dir():
            raise SettingsError(f"data must be a folder of campaign folders, got {self.data!r}")


PRESETS = {
    "quick": AuctionSettings(seeds=3, episodes=20, tune_episodes=20, ppo_timesteps=98_304),
    "paper": AuctionSettings(seeds=10, episodes=100, tune_episodes=50, ppo_timesteps=1_000_000),
}


# --- markets -----------------------------------------------------------------------------------------


def build_market(settings: AuctionSettings, seed: int) -> AuctionMarket:
    """Seed ``seed``'s market: a synthetic one with ``episodes`` test and ``tune_episodes`` validation
    episodes; or the iPinYou campaigns, whose validation episodes are split in halves (tune / test)."""
    if settings.data is None:
        return SyntheticMarket.symmetric(settings.n_bidders, value_correlation=settings.value_correlation,
                                         n_validation_episodes=settings.tune_episodes,
                                         validation_episode_length=settings.T, n_test=settings.episodes * settings.T,
                                         seed=seed).build()
    folders = sorted(folder for folder in Path(settings.data).iterdir() if (folder / "info.json").is_file())
    if len(folders) < settings.n_bidders:
        raise SettingsError(f"data holds {len(folders)} campaign folders; n_bidders = {settings.n_bidders}")
    campaigns = []
    for folder in folders[: settings.n_bidders]:
        campaign = read_campaign_folder(folder)
        episodes = campaign.log("validation")
        half = episodes.n_segments // 2
        campaigns.append(campaign.with_logs(validation=episodes.select_segments(np.arange(half)),
                                            test=episodes.select_segments(np.arange(half, episodes.n_segments))))
    return market_from_campaigns(campaigns)


def tournament_env(settings: AuctionSettings, market: AuctionMarket) -> AuctionEnv:
    return AuctionEnv(campaigns=market, split="test", T=settings.T, c0=settings.c0, auction=settings.auction,
                      episode_order="sequential")


def alone_env(settings: AuctionSettings, market: AuctionMarket) -> AuctionEnv:
    """Seat 0's campaign against the market only (RTB-v0's setting)."""
    return AuctionEnv(campaigns=[market.campaigns[0]], split="test", T=settings.T, c0=settings.c0,
                      auction=settings.auction, episode_order="sequential")


# --- playing matches ---------------------------------------------------------------------------------


def play(env: AuctionEnv, policies: list[SeatPolicy], episodes: int, seed: int) -> dict[str, np.ndarray]:
    """The first ``episodes`` test episodes with one policy per seat; per-seat totals."""
    episodes = min(episodes, env.n_episodes)
    n = len(env.possible_agents)
    totals = {key: np.zeros(n, dtype=np.int64) for key in ("auctions", "impressions", "clicks", "cost")}
    totals["pctr"] = np.zeros(n)  # expected clicks of the won impressions: a low-variance view of clicks
    for episode in range(episodes):
        observations, _ = env.reset(seed=seed * 100_003 + episode, options={"episode": episode})
        while env.agents:
            auctions_left, budget_left, pctrs = env.bidding_state()
            actions = {agent: policies[seat](observations[agent], int(auctions_left[seat]), int(budget_left[seat]),
                                             float(pctrs[seat]))
                       for seat, agent in enumerate(env.possible_agents) if agent in env.agents}
            observations, _, _, _, infos = env.step(actions)
            for agent, info in infos.items():
                seat = env.possible_agents.index(agent)
                totals["auctions"][seat] += 1
                totals["impressions"][seat] += info["win"]
                totals["clicks"][seat] += info["click"]
                totals["cost"][seat] += info["cost"]
                totals["pctr"][seat] += info["pctr"] * info["win"]
    totals["episodes"] = np.full(n, episodes)
    totals["budget"] = env.budgets * episodes
    return totals


def _records(seed: int, match: str, labels: list[str], totals: dict[str, np.ndarray], note: str = "") -> list[Record]:
    return [{"seed": seed, "match": match, "agent": label, "seat": seat, "note": note,
             **{key: values[seat].item() for key, values in totals.items()}}
            for seat, label in enumerate(labels)]


class SeatPolicies:
    """Each bidder type's policy for any seat. RTB bidders are built once per (type, seat): seat i of the
    tournament and of the alone match have the same campaign and budget."""

    def __init__(self, ppo: TrainedBidder | None = None):
        self.ppo = ppo
        self._bidders: dict[tuple[str, int], Any] = {}

    def bidder(self, kind: str, env: AuctionEnv, seat: int) -> Any:
        if (kind, seat) not in self._bidders:
            self._bidders[kind, seat] = rtb_bidder(kind, env, seat, "validation")
        return self._bidders[kind, seat]

    def policy(self, kind: str, env: AuctionEnv, seat: int) -> SeatPolicy:
        if kind == "PPO":
            return self.ppo.policy(env, seat)
        return bidder_policy(self.bidder(kind, env, seat))


def _seat_types(types: tuple[str, ...], n: int) -> list[str]:
    return [types[seat % len(types)] for seat in range(n)]


def run_unit(settings: AuctionSettings, unit: Unit) -> list[Record]:
    seed = unit["seed"]
    market = build_market(settings, seed)
    env, alone = tournament_env(settings, market), alone_env(settings, market)
    n = settings.n_bidders
    if "agent" in unit.params:
        return _user_matches(settings, unit["agent"], env, alone, seed)
    seats = SeatPolicies()
    lin_b0 = [seats.bidder("Lin", env, seat).b0 for seat in range(n)]
    train_kwargs = {"campaigns": market, "split": "validation" if settings.data else "train", "T": settings.T,
                    "c0": settings.c0, "auction": settings.auction}
    seats.ppo = train_shared_ppo(train_kwargs, settings.ppo_timesteps, b0=lin_b0, seed=seed,
                                 copies=settings.ppo_copies, n_steps=settings.ppo_n_steps,
                                 batch_size=min(256, settings.ppo_n_steps * settings.ppo_copies * settings.n_bidders))
    note = f"PPO: {settings.ppo_timesteps} bidder-steps, {seats.ppo.seconds:.0f} s"
    records = []
    for kind in BUILTIN_TYPES:
        records += _records(seed, "alone", [kind], play(alone, [seats.policy(kind, alone, 0)], settings.episodes, seed))
        policies = [seats.policy(kind, env, seat) for seat in range(n)]
        records += _records(seed, "self", [kind] * n, play(env, policies, settings.episodes, seed))
    kinds = _seat_types(BUILTIN_TYPES, n)
    policies = [seats.policy(kind, env, seat) for seat, kind in enumerate(kinds)]
    records += _records(seed, "mixed", kinds, play(env, policies, settings.episodes, seed), note)
    return records


def _user_matches(settings: AuctionSettings, spec: str, env: AuctionEnv, alone: AuctionEnv,
                  seed: int) -> list[Record]:
    """A user's agent alone, against copies of itself, and seated with RLB and Lin."""
    label, n = agent_label(spec), settings.n_bidders
    seats = SeatPolicies()

    def user_policy(target: AuctionEnv) -> SeatPolicy:
        return predictor_policy(load_agent(spec, target), target.max_bid)

    records = _records(seed, "alone", [label], play(alone, [user_policy(alone)], settings.episodes, seed))
    records += _records(seed, "self", [label] * n, play(env, [user_policy(env)] * n, settings.episodes, seed))
    kinds = _seat_types((label, "RLB", "Lin"), n)
    policies = [user_policy(env) if kind == label else seats.policy(kind, env, seat) for seat, kind in enumerate(kinds)]
    records += _records(seed, f"mixed {label}", kinds, play(env, policies, settings.episodes, seed))
    return records


def units(settings: AuctionSettings) -> list[Unit]:
    builtin = [Unit({"seed": seed}) for seed in range(settings.seeds)]
    return builtin + [Unit({"seed": seed, "agent": spec}) for spec in settings.agents for seed in range(settings.seeds)]


# --- report ------------------------------------------------------------------------------------------


def _per_seed(records: list[Record]) -> dict[tuple[str, str], dict[int, dict[str, float]]]:
    """Totals per (match, agent type) and seed, summed over the seats of that type."""
    grouped: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for record in records:
        seeds = grouped.setdefault((record["match"], record["agent"]), {})
        totals = seeds.setdefault(record["seed"], {"seats": 0, "clicks": 0, "cost": 0, "impressions": 0,
                                                   "auctions": 0, "budget": 0, "episodes": 0, "pctr": 0.0})
        totals["seats"] += 1
        for key in ("clicks", "cost", "impressions", "auctions", "budget", "episodes", "pctr"):
            totals[key] += record[key]
    return grouped


def _match_rank(match: str) -> int:
    kind = match.split()[0]
    return MATCH_ORDER.index(kind) if kind in MATCH_ORDER else len(MATCH_ORDER)


def tournament_rows(records: list[Record]) -> list[dict[str, Any]]:
    """One row per (match, agent type): clicks per bidder-episode over seeds (mean, 95% CI) and totals."""
    rows = []
    grouped = _per_seed(records)
    for (match, agent), seeds in sorted(grouped.items(), key=lambda item: (_match_rank(item[0][0]), item[0][0])):
        summaries = summary_table({
            "clicks": [totals["clicks"] / totals["episodes"] for totals in seeds.values()],
            "expected": [totals["pctr"] / totals["episodes"] for totals in seeds.values()]})
        summary = summaries["clicks"]
        clicks = sum(t["clicks"] for t in seeds.values())
        cost = sum(t["cost"] for t in seeds.values())
        episodes = sum(t["episodes"] for t in seeds.values())
        impressions = sum(t["impressions"] for t in seeds.values())
        rows.append({"match": match, "agent": agent, "seeds": len(seeds), "clicks_per_episode": summary.mean,
                     "ci_low": summary.ci_low, "ci_high": summary.ci_high, "summary": summary,
                     "expected_clicks_per_episode": summaries["expected"].mean,
                     "expected_summary": summaries["expected"],
                     "cost_per_episode": cost / episodes, "ecpc": cost / clicks if clicks else float("inf"),
                     "win_rate": impressions / sum(t["auctions"] for t in seeds.values()),
                     "budget_spent": cost / sum(t["budget"] for t in seeds.values())})
    return rows


def report(settings: AuctionSettings, records: list[Record], out_dir: Path) -> str:
    rows = tournament_rows(records)
    out_dir = Path(out_dir)
    log = CsvLog(out_dir / "auction_tournament.csv", TABLE_COLUMNS)
    for row in rows:
        log.append(row)
    summaries = {f"{row['match']}: {row['agent']}": row["summary"] for row in rows}
    extra = {"E[clicks]/ep": {}, "cost/ep": {}, "eCPC": {}, "win rate": {}, "budget spent": {}}
    for name, row in zip(summaries, rows):
        extra["E[clicks]/ep"][name] = f"{row['expected_clicks_per_episode']:.3f}"
        extra["cost/ep"][name] = f"{row['cost_per_episode']:.0f}"
        extra["eCPC"][name] = f"{row['ecpc']:.0f}"
        extra["win rate"][name] = f"{row['win_rate']:.2%}"
        extra["budget spent"][name] = f"{row['budget_spent']:.0%}"
    market = "synthetic markets" if settings.data is None else f"iPinYou campaigns of {settings.data}"
    title = (f"papergym/Auction-v0 tournament: {settings.n_bidders} bidders, {settings.auction}-price, "
             f"T = {settings.T}, c0 = {settings.c0:g}, {settings.episodes} test episodes x {settings.seeds} seeds "
             f"({market}); clicks per bidder and episode (E[clicks]: sum of the won impressions' pCTR)")
    text = format_table(title, summaries, "clicks/ep", extra)
    notes = sorted({record["note"] for record in records if record.get("note")})
    if notes:
        text += "\n" + "\n".join(notes)
    tournament_plot(out_dir / "auction_tournament.png", rows)
    return text


def tournament_plot(path: Path, rows: list[dict[str, Any]]) -> None:
    """Clicks and expected clicks per bidder-episode of each type: alone, against copies of itself, mixed."""
    from papergym.experiments.plotting import pyplot, save_figure

    plt = pyplot()
    agents = list(dict.fromkeys(row["agent"] for row in rows))
    matches = list(dict.fromkeys(row["match"] for row in rows))
    width = 0.8 / len(matches)
    figure, axes = plt.subplots(1, 2, figsize=(2.0 + 3.2 * len(agents), 4.0))
    panels = (("summary", "clicks per bidder and episode"), ("expected_summary", "expected clicks (sum of pCTR)"))
    for axis, (key, label) in zip(axes, panels):
        for offset, match in enumerate(matches):
            chosen = {row["agent"]: row for row in rows if row["match"] == match}
            present = [agent for agent in agents if agent in chosen]
            positions = [agents.index(agent) + (offset - (len(matches) - 1) / 2) * width for agent in present]
            means = [chosen[agent][key].mean for agent in present]
            errors = [chosen[agent][key].half_width for agent in present]
            axis.bar(positions, means, width, yerr=errors, capsize=3, label=match)
        axis.set_xticks(range(len(agents)), agents)
        axis.set_ylabel(label)
    axes[0].set_title("Auction-v0: alone, against copies of itself, mixed")
    axes[0].legend(fontsize=8)
    save_figure(figure, path)


# --- speed ------------------------------------------------------------------------------------------


def bench(steps: int = 20_000, copies: int = 64) -> list[tuple[str, float, float]]:
    """Auctions and bidder-steps per second: the parallel env, SuperSuit's vector form of it (what SB3 gets),
    and the native vector form (constant bids; 3 bidders, T = 1000)."""
    import time

    from papergym.agents.auction import supersuit_vec_env
    from papergym.envs.auction import AuctionVectorEnv

    results = []
    env = AuctionEnv()
    env.reset(seed=0)
    bids = dict.fromkeys(env.possible_agents, 60)
    started = time.perf_counter()
    for _ in range(steps):
        if not env.agents:
            env.reset()
        env.step(bids)
    per_auction = (time.perf_counter() - started) / steps
    results.append(("parallel env", 1 / per_auction, len(bids) / per_auction))
    vector_forms = {"SuperSuit vector env": supersuit_vec_env(AuctionEnv(), copies),
                    "native vector env": AuctionVectorEnv(copies, autoreset_mode="SameStep")}
    for name, vector in vector_forms.items():
        actions = np.full(vector.num_envs, 60)
        if hasattr(vector, "step_async"):  # SB3's VecEnv: seeded, then reset
            vector.seed(0)
            vector.reset()
        else:
            vector.reset(seed=0)
        iterations = max(1, steps // copies)
        started = time.perf_counter()
        for _ in range(iterations):
            vector.step(actions)
        seconds = time.perf_counter() - started
        results.append((name, iterations * copies / seconds, iterations * vector.num_envs / seconds))
    return results


REPRODUCTION = Reproduction(
    name="auction",
    paper="Multi-agent real-time bidding with the bidders of Cai et al. (WSDM 2017)",
    description="RLB, Lin and a shared-policy PPO bidder alone, in self-play and together on papergym/Auction-v0",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)


def main(argv: list[str] | None = None) -> None:
    from papergym.experiments.runner import run_reproduction

    parser = argparse.ArgumentParser(description=REPRODUCTION.description)
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    parser.add_argument("--out", type=Path, help="output folder (default results/auction-<preset>)")
    parser.add_argument("--workers", type=int, help="worker processes (default: the cores)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a setting")
    parser.add_argument("--bench", action="store_true", help="measure the environment's speed instead")
    args = parser.parse_args(argv)
    if args.bench:
        print(f"{'Auction-v0 form':<24} {'auctions/s':>12} {'bidder-steps/s':>15} {'us/bidder-step':>15}")
        for name, auctions, bidder_steps in bench():
            print(f"{name:<24} {auctions:>12,.0f} {bidder_steps:>15,.0f} {1e6 / bidder_steps:>15.2f}")
        return
    overrides = dict(item.split("=", 1) for item in args.set)
    settings = REPRODUCTION.preset(args.preset).with_overrides(overrides)
    run_reproduction(REPRODUCTION, settings, args.out or Path(f"results/auction-{args.preset}"),
                     preset=args.preset, workers=args.workers)


if __name__ == "__main__":
    main()
