"""Real-time bidding (Cai et al., WSDM 2017): SS-MDP, Mcpc, Lin and RLB on each campaign's test episodes.

For each campaign (the iPinYou campaign folders under ``data``, or three synthetic campaigns) and each
budget level c0, every bidder replays the test log cut into episodes of T = 1000 auctions with the budget
B = int(CPM_train * c0 * T). Lin's base bid is tuned for the most clicks on the tuning episodes: a
campaign with a test log (2997) tunes on its 100 validation episodes and tests on the whole test log;
the others tune on their first 50 validation episodes and test on the last 50. The table gives auctions,
impressions, clicks (total, and per episode with a 95% CI over the test episodes), cost, win rate, CPM and
eCPC, and RLB's click gain over Lin with a paired 95% CI. A PPO bidder trained through the
``BidMultiplier`` wrapper is reported beside them on one campaign (2997 with the iPinYou data) at
c0 = 1/32.

    papergym reproduce rtb [--quick]                               (synthetic campaigns)
    python -m papergym.experiments.rtb --data path/to/ipinyou [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from papergym.agents.rtb import (
    RLB,
    RLBNN,
    RLBNN_MAPPINGS,
    SSMDP,
    LinearBidder,
    Mcpc,
    MultiplierPolicy,
    ReplayResult,
    evaluation_config,
    replay,
)
from papergym.core.stats import summarize
from papergym.envs.rtb import PAPER_C0, Campaign, SyntheticCampaign, read_campaign_folder
from papergym.experiments import LegacyReproduction as Reproduction
from papergym.experiments.reporting import CsvLog, bar_plot, summary_table, write_json

HORIZON = 1000
#: Large scale: T0 of the exact DP behind RLB-NN, and the synthetic episodes' length (full / quick).
LARGE_T0 = 1000
LARGE_HORIZONS = (100_000, 10_000)
#: Three synthetic campaigns spanning the iPinYou range: the median campaign, one with 2997's high CTR
#: and cheap prices, and one with the lowest CTR and 2259's prices (figures from the shared info files).
SYNTHETIC_CAMPAIGNS = (
    SyntheticCampaign(name="synthetic-median"),
    SyntheticCampaign(ctr=4.44e-3, price_log_mean=3.64, price_log_sd=1.09, seed=1, name="synthetic-high-ctr"),
    SyntheticCampaign(ctr=3.01e-4, price_log_mean=4.11, price_log_sd=1.04, seed=2, name="synthetic-low-ctr"),
)
TABLE_COLUMNS = ["campaign", "c0", "agent", "auctions", "impressions", "clicks", "clicks_per_episode",
                 "ci_low", "ci_high", "episodes", "cost", "win_rate", "cpm", "ecpc", "budget", "note"]
PPO_MAX_MULTIPLIER = 4.0


@dataclass(frozen=True)
class EvaluationSetup:
    """A campaign with the split Lin is tuned on and the split every bidder is tested on."""

    campaign: Campaign
    tune_split: str
    test_split: str
    protocol: str


def evaluation_setup(campaign: Campaign) -> EvaluationSetup:
    """The paper's protocol: test on the test log when there is one (tune on the validation episodes);
    otherwise tune on the first half of the validation episodes and test on the second half."""
    if "test" in campaign.logs and "validation" in campaign.logs:
        return EvaluationSetup(campaign, "validation", "test", "tune: validation episodes; test: test log")
    validation = campaign.log("validation")
    half = validation.n_segments // 2
    split = campaign.with_logs(tune=validation.select_segments(np.arange(half)),
                               test=validation.select_segments(np.arange(half, validation.n_segments)))
    return EvaluationSetup(split, "tune", "test",
                           f"tune: validation episodes 1-{half}; test: {half + 1}-{validation.n_segments}")


def find_campaigns(data: Path | None) -> list[Campaign]:
    """The campaign folders (those with an info.json) under ``data``, or the synthetic campaigns."""
    if data is None:
        return [recipe.build() for recipe in SYNTHETIC_CAMPAIGNS]
    folders = sorted(folder for folder in Path(data).iterdir() if (folder / "info.json").is_file())
    if not folders:
        raise ValueError(f"data must be a folder of campaign folders with info.json, got {str(data)!r}")
    return [read_campaign_folder(folder) for folder in folders]


def compare_bidders(setup: EvaluationSetup, c0: float) -> tuple[dict[str, ReplayResult], dict[str, str]]:
    """Replay SS-MDP, Mcpc, Lin (tuned) and RLB on the test episodes; results and notes by agent."""
    config = evaluation_config(setup.campaign, setup.test_split, HORIZON, c0)
    lin = LinearBidder.tune(setup.campaign, config.problem, setup.tune_split)
    bidders = {"SS-MDP": SSMDP(setup.campaign, config.problem), "Mcpc": Mcpc(setup.campaign, config.problem),
               "Lin": lin, "RLB": RLB(setup.campaign, config.problem)}
    results = {name: replay(bidder, config) for name, bidder in bidders.items()}
    return results, {"Lin": f"b0={lin.b0:g}"}


def train_ppo(setup: EvaluationSetup, c0: float, b0: float, timesteps: int, seed: int = 0):
    """PPO on BidMultiplier(RTB-v0) over random episodes of the tuning log, rewarded with the pCTR of won
    impressions (same expectation as clicks, less noise). Returns the model and the training seconds."""
    import torch
    from stable_baselines3 import PPO

    from papergym.envs.rtb import RTBEnv
    from papergym.wrappers.rtb import BidMultiplier

    env = BidMultiplier(RTBEnv(setup.campaign, setup.tune_split, HORIZON, c0, reward="pctr"), b0=b0,
                        max_multiplier=PPO_MAX_MULTIPLIER)
    model = PPO("MlpPolicy", env, gamma=1.0, n_steps=2000, batch_size=200, seed=seed, verbose=0, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: extra threads only contend for the cores
    started = time.perf_counter()
    try:
        model.learn(total_timesteps=timesteps)
    finally:
        torch.set_num_threads(threads)
    return model, time.perf_counter() - started


def _row(campaign: str, c0: float, agent: str, result: ReplayResult, budget: int, note: str = "") -> dict:
    per_episode = summarize(result.clicks)
    return {"campaign": campaign, "c0": c0, "agent": agent, **result.totals(),
            "clicks_per_episode": per_episode.mean, "ci_low": per_episode.ci_low,
            "ci_high": per_episode.ci_high, "episodes": len(result.clicks), "budget": budget, "note": note}


def _format_row(row: dict) -> str:
    return (f"{row['campaign']:<20} {_c0_text(row['c0']):>5} {row['agent']:<18} {row['auctions']:>8} "
            f"{row['impressions']:>7} {row['clicks']:>6} {row['clicks_per_episode']:>7.3f} "
            f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] {row['cost']:>9} {row['win_rate']:>7.2%} "
            f"{row['cpm']:>7.2f} {row['ecpc']:>9.1f}  {row['note']}")


def _c0_text(c0: float) -> str:
    return f"1/{round(1 / c0)}"


def _gain_text(clicks: dict[str, np.ndarray]) -> str:
    """RLB's click gain over Lin, from per-episode clicks of the same test episodes."""
    rlb, lin = clicks["RLB"], clicks["Lin"]
    gain = 100.0 * (rlb.sum() - lin.sum()) / lin.sum() if lin.sum() else float("inf")
    paired = summarize(rlb - lin)
    return (f"{gain:+.1f}% clicks; per episode {paired.mean:+.3f} "
            f"[{paired.ci_low:+.3f}, {paired.ci_high:+.3f}] (paired 95% CI)")


def clicks_plot(path: Path, rows: list[dict]) -> None:
    """Clicks vs c0 per agent, one panel per campaign."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    campaigns = list(dict.fromkeys(row["campaign"] for row in rows))
    columns = min(3, len(campaigns))
    lines = (len(campaigns) + columns - 1) // columns
    figure, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.2 * lines), squeeze=False)
    for axis, campaign in zip(axes.flat, campaigns):
        for agent in dict.fromkeys(row["agent"] for row in rows if row["campaign"] == campaign):
            points = sorted((row["c0"], row["clicks"]) for row in rows
                            if row["campaign"] == campaign and row["agent"] == agent)
            axis.plot(*zip(*points), marker="o", label=agent)
        axis.set_xscale("log", base=2)
        axis.set_title(campaign)
        axis.set_xlabel("c0 (budget / (CPM T))")
        axis.set_ylabel("clicks on the test episodes")
    for axis in list(axes.flat)[len(campaigns):]:
        axis.axis("off")
    axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run(out_dir: Path, quick: bool, data: Path | None = None) -> None:
    out_dir = Path(out_dir)
    c0_levels = (1 / 32,) if quick else PAPER_C0
    ppo_steps = 20_000 if quick else 100_000
    log = CsvLog(out_dir / "rtb_small_scale.csv", TABLE_COLUMNS)
    rows, gains = [], {}
    print(f"{'campaign':<20} {'c0':>5} {'agent':<18} {'auctions':>8} {'imps':>7} {'clicks':>6} "
          f"{'clk/ep':>7} {'95% CI':<16} {'cost':>9} {'win':>7} {'CPM':>7} {'eCPC':>9}")
    campaigns = find_campaigns(data)
    # PPO trains on one campaign only: the first with a real test log (2997 of iPinYou), else the first.
    ppo_campaign = next((c.name for c in campaigns if {"validation", "test"} <= set(c.logs)), campaigns[0].name)
    for campaign in campaigns:
        setup = evaluation_setup(campaign)
        print(f"-- {campaign.name}: {setup.protocol}")
        for c0 in c0_levels:
            results, notes = compare_bidders(setup, c0)
            budget = setup.campaign.budget(HORIZON, c0)
            for agent, result in results.items():
                rows.append(_row(campaign.name, c0, agent, result, budget, notes.get(agent, "")))
                log.append(rows[-1])
                print(_format_row(rows[-1]))
            gains[f"{campaign.name} c0={_c0_text(c0)}"] = _gain_text(
                {name: result.clicks for name, result in results.items()})
            print(f"   RLB vs Lin: {gains[f'{campaign.name} c0={_c0_text(c0)}']}")
            if campaign.name == ppo_campaign and c0 == 1 / 32:
                config = evaluation_config(setup.campaign, setup.test_split, HORIZON, c0)
                b0 = float(notes["Lin"].removeprefix("b0="))
                model, seconds = train_ppo(setup, c0, b0, ppo_steps)
                ppo = replay(MultiplierPolicy(model, config.problem, b0, PPO_MAX_MULTIPLIER), config)
                note = f"{ppo_steps} steps, {seconds:.0f} s on {setup.tune_split}"
                rows.append(_row(campaign.name, c0, "PPO (multiplier)", ppo, budget, note))
                log.append(rows[-1])
                print(_format_row(rows[-1]))
    write_json(out_dir / "rtb_small_scale.json", {"horizon": HORIZON, "rows": rows, "rlb_vs_lin": gains})
    clicks_plot(out_dir / "rtb_clicks_vs_c0.png", rows)
    large_scale(out_dir, quick)
    print(f"wrote {out_dir}/rtb_small_scale.csv, rtb_small_scale.json, rtb_clicks_vs_c0.png, "
          f"rtb_large_scale.csv, rtb_large_scale.png")


def large_scale(out_dir: Path, quick: bool, c0: float = 1 / 32) -> None:
    """RLB-NN with its three mappings vs Lin on synthetic episodes of T = 100,000 (10,000 quick)."""
    horizon = LARGE_HORIZONS[1] if quick else LARGE_HORIZONS[0]
    episodes = 5 if quick else 10
    campaign = SyntheticCampaign(n_validation_episodes=episodes, validation_episode_length=horizon,
                                 n_test=episodes * horizon, name=f"synthetic T={horizon}").build()
    config = evaluation_config(campaign, "test", horizon, c0)
    started = time.perf_counter()
    network = RLBNN(campaign, config.problem, T0=LARGE_T0)
    build_seconds = time.perf_counter() - started
    lin = LinearBidder.tune(campaign, config.problem, "validation")
    bidders = {"Lin": lin, **{f"RLB-NN {name}": network.with_mapping(name) for name in RLBNN_MAPPINGS}}
    log = CsvLog(out_dir / "rtb_large_scale.csv", TABLE_COLUMNS)
    print(f"\n-- large scale: {campaign.name}, {episodes} test episodes, c0 = {_c0_text(c0)}, "
          f"B = {config.problem.budget}; RLB-NN: DP at T0 = {LARGE_T0}, network built in {build_seconds:.0f} s, "
          f"bid agreement with the exact DP {network.bid_agreement:.1%}, mean |bid error| "
          f"{network.mean_bid_error:.2f}")
    clicks = {}
    for name, bidder in bidders.items():
        result = replay(bidder, config)
        note = f"b0={lin.b0:g}" if name == "Lin" else f"T0={LARGE_T0}"
        row = _row(campaign.name, c0, name, result, config.problem.budget, note)
        log.append(row)
        print(_format_row(row))
        clicks[name] = result.clicks
    for name in bidders:
        if name != "Lin":
            print(f"   {name} vs Lin: {_gain_text({'RLB': clicks[name], 'Lin': clicks['Lin']})}")
    bar_plot(out_dir / "rtb_large_scale.png", summary_table(clicks), "clicks per test episode",
             f"T = {horizon}, c0 = {_c0_text(c0)}: RLB-NN mappings vs Lin")


REPRODUCTION = Reproduction(
    name="rtb",
    paper="Real-Time Bidding by Reinforcement Learning in Display Advertising (Cai et al., WSDM 2017)",
    description="SS-MDP, Mcpc, Lin and RLB (and PPO) clicks on test episodes per campaign and budget c0",
    run=run,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=REPRODUCTION.description)
    parser.add_argument("--data", type=Path, help="folder of iPinYou campaign folders (default: synthetic)")
    parser.add_argument("--quick", action="store_true", help="c0 = 1/32 only and a short PPO run")
    parser.add_argument("--out", type=Path, help="output folder (default results/rtb[-quick])")
    args = parser.parse_args(argv)
    out_dir = args.out or Path(f"results/rtb{'-quick' if args.quick else ''}")
    out_dir.mkdir(parents=True, exist_ok=True)
    run(out_dir, args.quick, args.data)


if __name__ == "__main__":
    main()
