"""Real-time bidding (Cai et al., WSDM 2017): SS-MDP, Mcpc, Lin and RLB on each campaign's test episodes.

For each campaign (the iPinYou campaign folders under the ``data`` setting, or three synthetic campaigns)
and each budget level c0, every bidder replays the test log cut into episodes of T = 1000 auctions with the
budget B = int(CPM_train * c0 * T). Lin's base bid is tuned for the most clicks on the tuning episodes: a
campaign with a test log (2997) tunes on its 100 validation episodes and tests on the whole test log; the
others tune on their first 50 validation episodes and test on the last 50. The table gives auctions,
impressions, clicks (total, and per episode with a 95% CI over the test episodes), cost, the share of the
budget spent, win rate, CPM and eCPC, and RLB's click gain over Lin with a paired 95% CI. A PPO bidder
trained through the ``BidMultiplier`` wrapper is reported beside them on one campaign (2997 with the
iPinYou data) at c0 = 1/32, and RLB-NN at large scale on synthetic episodes.

Units: one per (campaign, c0) replaying every paper bidder on the same test episodes (the paper's
natural unit), one per PPO seed, one for the large scale, and one per (campaign, c0, user agent).

On 2997 the validation episodes' CTR is about twice the test log's, so Lin's b0 tuned on them overbids
less than needed on the test log and leaves much of its budget unspent: read RLB's gain over Lin there
beside the budget share column.
"""

from __future__ import annotations

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
from papergym.experiments.contract import (
    Record,
    Reproduction,
    Settings,
    SettingsError,
    Unit,
    agent_label,
    require_setting_int,
)
from papergym.experiments.plotting import pyplot, save_figure
from papergym.experiments.reporting import CsvLog, bar_plot, summary_table

HORIZON = 1000
#: Three synthetic campaigns spanning the iPinYou range: the median campaign, one with 2997's high CTR
#: and cheap prices, and one with the lowest CTR and 2259's prices (figures from the shared info files).
SYNTHETIC_CAMPAIGNS = (
    SyntheticCampaign(name="synthetic-median"),
    SyntheticCampaign(ctr=4.44e-3, price_log_mean=3.64, price_log_sd=1.09, seed=1, name="synthetic-high-ctr"),
    SyntheticCampaign(ctr=3.01e-4, price_log_mean=4.11, price_log_sd=1.04, seed=2, name="synthetic-low-ctr"),
)
TABLE_COLUMNS = ["campaign", "c0", "agent", "auctions", "impressions", "clicks", "clicks_per_episode",
                 "ci_low", "ci_high", "episodes", "cost", "budget_spent", "win_rate", "cpm", "ecpc", "budget",
                 "note"]
PPO_MAX_MULTIPLIER = 4.0
#: The budget level of the PPO bidder and of the large-scale comparison.
PPO_C0 = LARGE_C0 = 1 / 32


@dataclass(frozen=True, kw_only=True)
class RTBSettings(Settings):
    """``data``: a folder of iPinYou campaign folders (None: the synthetic campaigns); ``c0``: budget levels;
    ``seeds``: PPO seeds (0 skips PPO); ``ppo_steps``: its training steps; ``large_horizon``,
    ``large_episodes``, ``large_t0``, ``large_train_steps``: RLB-NN's episodes of T auctions, the T0 of its
    exact DP and the network's training steps."""

    seeds: int = 1
    data: str | None = None
    c0: tuple[float, ...] = PAPER_C0
    ppo_steps: int = 100_000
    large_horizon: int = 100_000
    large_episodes: int = 10
    large_t0: int = 1000
    large_train_steps: int = 4000

    def validate(self) -> None:
        if self.data is not None:
            campaign_folders(self.data)
        if not self.c0 or any(not 0.0 < c0 <= 1.0 for c0 in self.c0):
            raise SettingsError(f"c0 must be a non-empty list of budget levels in (0, 1], got {self.c0!r}")
        for name, low in (("ppo_steps", 0), ("large_horizon", 2), ("large_episodes", 1), ("large_t0", 4),
                          ("large_train_steps", 1)):
            require_setting_int(name, getattr(self, name), low)
        if self.large_t0 > self.large_horizon:
            raise SettingsError(f"large_t0 must be <= large_horizon {self.large_horizon}, got {self.large_t0}")


PRESETS = {
    "quick": RTBSettings(c0=(1 / 32,), ppo_steps=20_000, large_horizon=10_000, large_episodes=5),
    "paper": RTBSettings(),
}


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


def campaign_folders(data: str | Path) -> list[Path]:
    """The campaign folders (those with an info.json) under ``data``; :class:`SettingsError` otherwise."""
    folder = Path(data)
    folders = sorted(item for item in folder.iterdir() if (item / "info.json").is_file()) if folder.is_dir() else []
    if not folders:
        raise SettingsError(f"data must be a folder of campaign folders with info.json, got {str(data)!r}")
    return folders


def campaign_names(data: str | None) -> list[str]:
    if data is None:
        return [recipe.name for recipe in SYNTHETIC_CAMPAIGNS]
    return [folder.name for folder in campaign_folders(data)]


def load_campaign_named(data: str | None, name: str) -> Campaign:
    if data is None:
        return next(recipe for recipe in SYNTHETIC_CAMPAIGNS if recipe.name == name).build()
    return read_campaign_folder(Path(data) / name)


def ppo_campaign(data: str | None) -> str:
    """The campaign PPO trains on: 2997 (the one iPinYou campaign with a test log) if present, else the first."""
    names = campaign_names(data)
    return "2997" if "2997" in names else names[0]


# --- units ----------------------------------------------------------------------------------------


def units(settings: RTBSettings) -> list[Unit]:
    found = []
    for campaign in campaign_names(settings.data):
        for c0 in settings.c0:
            found.append(Unit({"part": "bidders", "campaign": campaign, "c0": c0}))
            found += [Unit({"part": "agent", "campaign": campaign, "c0": c0, "agent": spec})
                      for spec in settings.agents]
    if settings.ppo_steps > 0:
        found += [Unit({"part": "ppo", "campaign": ppo_campaign(settings.data), "c0": PPO_C0, "seed": seed})
                  for seed in range(settings.seeds)]
    found.append(Unit({"part": "large"}))
    return found


def run_unit(settings: RTBSettings, unit: Unit) -> list[Record]:
    if unit["part"] == "large":
        return large_scale(settings)
    setup = evaluation_setup(load_campaign_named(settings.data, unit["campaign"]))
    c0 = unit["c0"]
    config = evaluation_config(setup.campaign, setup.test_split, HORIZON, c0)
    lin = LinearBidder.tune(setup.campaign, config.problem, setup.tune_split)
    if unit["part"] == "bidders":
        bidders = {"SS-MDP": SSMDP(setup.campaign, config.problem), "Mcpc": Mcpc(setup.campaign, config.problem),
                   "Lin": lin, "RLB": RLB(setup.campaign, config.problem)}
        ctrs = {f"{split}_ctr": float(setup.campaign.log(split).clicks.mean())
                for split in (setup.tune_split, setup.test_split)}
        return [_record(unit["campaign"], c0, name, replay(bidder, config), config.problem.budget,
                        f"b0={lin.b0:g}" if name == "Lin" else "", protocol=setup.protocol,
                        tune_ctr=ctrs[f"{setup.tune_split}_ctr"], test_ctr=ctrs[f"{setup.test_split}_ctr"])
                for name, bidder in bidders.items()]
    if unit["part"] == "agent":
        from papergym.envs.rtb import RTBEnv
        from papergym.experiments.contract import load_agent

        env = RTBEnv(setup.campaign, setup.test_split, HORIZON, c0, episode_order="sequential")
        agent = load_agent(unit["agent"], env)
        return [_record(unit["campaign"], c0, agent_label(unit["agent"]), replay(agent, config),
                        config.problem.budget, "user agent", protocol=setup.protocol)]
    model, seconds = train_ppo(setup, c0, lin.b0, settings.ppo_steps, unit["seed"])
    ppo = replay(MultiplierPolicy(model, config.problem, lin.b0, PPO_MAX_MULTIPLIER), config)
    note = f"seed {unit['seed']}, {settings.ppo_steps} steps, {seconds:.0f} s on {setup.tune_split}"
    return [_record(unit["campaign"], c0, "PPO (multiplier)", ppo, config.problem.budget, note,
                    protocol=setup.protocol)]


def train_ppo(setup: EvaluationSetup, c0: float, b0: float, timesteps: int, seed: int = 0):
    """PPO on BidMultiplier(RTB-v0) over random episodes of the tuning log, rewarded with the pCTR of won
    impressions (same expectation as clicks, less noise). Returns the model and the training seconds."""
    from stable_baselines3 import PPO

    from papergym.envs.rtb import RTBEnv
    from papergym.wrappers.rtb import BidMultiplier

    env = BidMultiplier(RTBEnv(setup.campaign, setup.tune_split, HORIZON, c0, reward="pctr"), b0=b0,
                        max_multiplier=PPO_MAX_MULTIPLIER)
    model = PPO("MlpPolicy", env, gamma=1.0, n_steps=2000, batch_size=200, seed=seed, verbose=0, device="cpu")
    started = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    return model, time.perf_counter() - started


def _record(campaign: str, c0: float, agent: str, result: ReplayResult, budget: int, note: str = "",
            **extra) -> Record:
    per_episode = summarize(result.clicks)
    totals = result.totals()
    return {"part": "table", "campaign": campaign, "c0": c0, "agent": agent, **totals,
            "clicks_per_episode": per_episode.mean, "ci_low": per_episode.ci_low, "ci_high": per_episode.ci_high,
            "episodes": len(result.clicks), "budget": budget,
            "budget_spent": totals["cost"] / (budget * len(result.clicks)), "note": note,
            "episode_clicks": result.clicks, **extra}


# --- report ---------------------------------------------------------------------------------------


def _format_row(row: Record) -> str:
    return (f"{row['campaign']:<20} {_c0_text(row['c0']):>5} {row['agent']:<18} {row['auctions']:>8} "
            f"{row['impressions']:>7} {row['clicks']:>6} {row['clicks_per_episode']:>7.3f} "
            f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] {row['cost']:>9} {row['budget_spent']:>6.1%} "
            f"{row['win_rate']:>7.2%} {row['cpm']:>7.2f} {row['ecpc']:>9.1f}  {row['note']}")


HEADER = (f"{'campaign':<20} {'c0':>5} {'agent':<18} {'auctions':>8} {'imps':>7} {'clicks':>6} "
          f"{'clk/ep':>7} {'95% CI':<16} {'cost':>9} {'spent':>6} {'win':>7} {'CPM':>7} {'eCPC':>9}")


def _c0_text(c0: float) -> str:
    return f"1/{round(1 / c0)}"


def _gain_text(bidder: np.ndarray, lin: np.ndarray) -> str:
    """A bidder's click gain over Lin, from per-episode clicks of the same test episodes."""
    bidder, lin = np.asarray(bidder), np.asarray(lin)
    gain = 100.0 * (bidder.sum() - lin.sum()) / lin.sum() if lin.sum() else float("inf")
    paired = summarize(bidder - lin)
    return (f"{gain:+.1f}% clicks; per episode {paired.mean:+.3f} "
            f"[{paired.ci_low:+.3f}, {paired.ci_high:+.3f}] (paired 95% CI)")


def _ctr_mismatch_note(row: Record) -> list[str]:
    """A warning when the tuning episodes' CTR differs from the test log's by more than a factor 1.5."""
    tune, test = row.get("tune_ctr"), row.get("test_ctr")
    if not tune or not test or 2 / 3 <= tune / test <= 1.5:
        return []
    return [f"   note: the tuning episodes' CTR ({tune:.2e}) is {tune / test:.2f} x the test log's ({test:.2e}); "
            "Lin's b0 is tuned where clicks are denser than where it is tested, so it leaves budget unspent "
            "(column 'spent'): RLB's gain over Lin here is partly this mismatch"]


def report(settings: RTBSettings, records: list[Record], out_dir: Path) -> str:
    out_dir = Path(out_dir)
    rows = [row for row in records if row["part"] == "table"]
    log = CsvLog(out_dir / "rtb_small_scale.csv", TABLE_COLUMNS)
    for row in rows:
        log.append(row)
    lines = [HEADER]
    for campaign in dict.fromkeys(row["campaign"] for row in rows):
        mine = [row for row in rows if row["campaign"] == campaign]
        lines.append(f"-- {campaign}: {mine[0]['protocol']}")
        lines += _ctr_mismatch_note(mine[0])
        for c0 in dict.fromkeys(row["c0"] for row in mine):
            level = {row["agent"]: row for row in mine if row["c0"] == c0}
            lines += [_format_row(row) for row in level.values()]
            if "RLB" in level and "Lin" in level:
                lines.append("   RLB vs Lin: " + _gain_text(level["RLB"]["episode_clicks"],
                                                            level["Lin"]["episode_clicks"]))
    if rows:
        clicks_plot(out_dir / "rtb_clicks_vs_c0.png", rows)
    large = [row for row in records if row["part"] == "large"]
    if large:
        lines += ["", _large_text(large, settings)]
        bar_plot(out_dir / "rtb_large_scale.png",
                 summary_table({row["agent"]: row["episode_clicks"] for row in large}), "clicks per test episode",
                 f"T = {settings.large_horizon}, c0 = {_c0_text(LARGE_C0)}: RLB-NN mappings vs Lin")
        large_log = CsvLog(out_dir / "rtb_large_scale.csv", TABLE_COLUMNS)
        for row in large:
            large_log.append(row)
    return "\n".join(lines)


def clicks_plot(path: Path, rows: list[Record]) -> None:
    """Clicks vs c0 per agent, one panel per campaign."""
    plt = pyplot()
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
    save_figure(figure, path)


# --- large scale ----------------------------------------------------------------------------------


def large_scale(settings: RTBSettings) -> list[Record]:
    """RLB-NN with its three mappings vs Lin on synthetic episodes of ``large_horizon`` auctions."""
    horizon, episodes = settings.large_horizon, settings.large_episodes
    campaign = SyntheticCampaign(n_validation_episodes=episodes, validation_episode_length=horizon,
                                 n_test=episodes * horizon, name=f"synthetic T={horizon}").build()
    config = evaluation_config(campaign, "test", horizon, LARGE_C0)
    started = time.perf_counter()
    network = RLBNN(campaign, config.problem, T0=settings.large_t0, train_steps=settings.large_train_steps)
    build_seconds = time.perf_counter() - started
    lin = LinearBidder.tune(campaign, config.problem, "validation")
    bidders = {"Lin": lin, **{f"RLB-NN {name}": network.with_mapping(name) for name in RLBNN_MAPPINGS}}
    accuracy = {"build_seconds": build_seconds, **network.accuracy}
    records = []
    for name, bidder in bidders.items():
        note = f"b0={lin.b0:g}" if name == "Lin" else f"T0={settings.large_t0}"
        record = _record(campaign.name, LARGE_C0, name, replay(bidder, config), config.problem.budget, note,
                         protocol=f"{episodes} synthetic test episodes, Lin tuned on {episodes} others",
                         **accuracy)
        records.append({**record, "part": "large"})
    return records


def _large_text(rows: list[Record], settings: RTBSettings) -> str:
    first = rows[0]
    lines = [f"-- large scale: {first['campaign']}, {first['episodes']} test episodes, c0 = {_c0_text(LARGE_C0)}, "
             f"B = {first['budget']} (exact DP out of reach)",
             f"   RLB-NN: exact DP at T0 = {settings.large_t0}, network of {first['parameters']} parameters for "
             f"{first['exact_table_size']} DP cells, built in {first['build_seconds']:.0f} s; on held-out rows: "
             f"RMSE of D {first['increment_rmse']:.3g} ({first['relative_rmse']:.1%} of its mean), bids equal "
             f"to the exact DP's {first['bid_agreement']:.1%}, mean |bid error| {first['mean_bid_error']:.2f}",
             HEADER]
    lines += [_format_row(row) for row in rows]
    lin = next(row for row in rows if row["agent"] == "Lin")
    lines += [f"   {row['agent']} vs Lin: {_gain_text(row['episode_clicks'], lin['episode_clicks'])}"
              for row in rows if row["agent"] != "Lin"]
    return "\n".join(lines)


REPRODUCTION = Reproduction(
    name="rtb",
    paper="Real-Time Bidding by Reinforcement Learning in Display Advertising (Cai et al., WSDM 2017)",
    description="SS-MDP, Mcpc, Lin and RLB (and PPO) clicks on test episodes per campaign and budget c0; "
                "RLB-NN at large scale",
    presets=PRESETS,
    units=units,
    run_unit=run_unit,
    report=report,
)
