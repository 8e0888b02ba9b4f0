"""The shared request stream of a multi-bidder auction: one campaign view per bidder over the same requests.

Every bidder sees the same auction requests in the same order, with the same *phantom* market price (the
highest bid of the rest of the market), but values them with its own campaign model: its own pCTR and its
own click. A market is therefore a tuple of :class:`~papergym.envs.rtb.Campaign` objects, one per bidder,
whose logs of each split share the market prices and the segment structure; bidder i's log of a split is
exactly the single-bidder ``papergym/RTB-v0`` log it would face alone.

Two sources:

* :class:`SyntheticMarket`: each request has a latent quality z ~ N(0, 1) common to all bidders; bidder
  i's own quality is q_i = sqrt(c) z + sqrt(1 - c) u_i (u_i ~ N(0, 1) independent), so two bidders'
  qualities have correlation c = ``value_correlation``. Bidder i's pCTR and click follow the
  single-bidder synthetic model of :mod:`papergym.envs.rtb.synthetic` with q_i in place of its quality;
  the phantom price follows it with z (so each bidder's pCTR-price correlation is that model's times
  sqrt(c));
* :func:`market_from_campaigns`: real campaigns (e.g. iPinYou folders); the market prices and segments of
  the first campaign's log are the phantom stream, and each bidder keeps its own campaign's pCTR and click
  columns over it (truncated to the shortest log).

A bidder's training statistics (CPM, average CTR, market-price histogram: what RLB and Lin are built
from) are those of its own campaign: for a synthetic market, of its view of the ``train`` split.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError
from papergym.core.validation import require_int, require_real
from papergym.envs.rtb import BidLog, Campaign, SyntheticCampaign, load_campaign
from papergym.envs.rtb.campaign import MAX_PRICE, statistics_from_log

#: Correlation of two bidders' request qualities in the default synthetic market.
DEFAULT_VALUE_CORRELATION = 0.5


@dataclass(frozen=True, eq=False)
class AuctionMarket:
    """One campaign per bidder; for every split they share their market prices and segment starts.

    Stacked arrays of split ``s`` (``streams(s)``): ``prices`` (n,), ``pctrs`` and ``clicks`` (bidders, n).
    """

    campaigns: tuple[Campaign, ...]
    #: How to rebuild a synthetic market (pickles stay small); None for logged data.
    recipe: Any = None
    _stacked: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.campaigns) < 1:
            raise PapergymError("campaigns must hold at least one campaign, got none")
        first = self.campaigns[0]
        for campaign in self.campaigns[1:]:
            if set(campaign.logs) != set(first.logs):
                raise PapergymError(f"campaigns must have the same splits, got {sorted(first.logs)} and "
                                    f"{sorted(campaign.logs)}")
            for split, log in campaign.logs.items():
                reference = first.logs[split]
                if not (np.array_equal(log.prices, reference.prices)
                        and np.array_equal(log.segment_starts, reference.segment_starts)):
                    raise PapergymError(f"campaign {campaign.name!r}: its {split!r} log must share the market "
                                        "prices and segments of the first campaign's")

    def __reduce__(self):
        if self.recipe is not None:
            return (self.recipe.build, ())
        return (AuctionMarket, (self.campaigns,))

    @property
    def n_bidders(self) -> int:
        return len(self.campaigns)

    @property
    def splits(self) -> list[str]:
        return sorted(self.campaigns[0].logs)

    def default_split(self) -> str:
        return self.campaigns[0].default_split()

    def log(self, split: str) -> BidLog:
        """The first bidder's log of ``split`` (its prices and segments are everyone's)."""
        return self.campaigns[0].log(split)

    def streams(self, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(prices (n,), pctrs (bidders, n), clicks (bidders, n)) of ``split``, stacked once and cached."""
        if split not in self._stacked:
            logs = [campaign.log(split) for campaign in self.campaigns]
            self._stacked[split] = (logs[0].prices, np.stack([log.pctrs for log in logs]),
                                    np.stack([log.clicks for log in logs]).astype(np.int64))
        return self._stacked[split]


def market_from_campaigns(sources: Sequence[str | Path | Campaign]) -> AuctionMarket:
    """Campaigns (``"synthetic"``, ``Campaign`` objects or campaign folders) over the first one's market.

    For each split that every campaign has, bidder i keeps the pCTR and click columns of its own log, cut to
    the shortest log, over the first campaign's market prices and segments.
    """
    campaigns = [load_campaign(source) for source in sources]
    if not campaigns:
        raise PapergymError("campaigns must list at least one campaign, got none")
    shared = set(campaigns[0].logs).intersection(*(campaign.logs for campaign in campaigns[1:]))
    if not shared:
        raise PapergymError(f"campaigns must share a split; they have {[sorted(c.logs) for c in campaigns]}")
    views: list[dict[str, BidLog]] = [{} for _ in campaigns]
    for split in sorted(shared):
        market = campaigns[0].log(split)
        length = min(len(campaign.log(split)) for campaign in campaigns)
        starts = market.segment_starts[market.segment_starts < length]
        for view, campaign in zip(views, campaigns):
            own = campaign.log(split)
            view[split] = BidLog(own.clicks[:length], market.prices[:length], own.pctrs[:length], starts)
    return AuctionMarket(tuple(campaign.with_logs(**view) for campaign, view in zip(campaigns, views)))


@dataclass(frozen=True)
class SyntheticMarket:
    """The recipe of a synthetic market; ``build()`` draws it (cached, deterministic in ``seed``).

    ``bidders`` are the single-bidder synthetic models (CTR, pCTR spread) of each bidder; the phantom price
    follows the first one's price model. Splits: ``train`` (``n_train`` requests, the source of each
    bidder's training statistics), ``validation`` (``n_validation_episodes`` blocks of
    ``validation_episode_length``) and ``test`` (``n_test`` consecutive requests).
    """

    bidders: tuple[SyntheticCampaign, ...] = (SyntheticCampaign(),) * 3
    value_correlation: float = DEFAULT_VALUE_CORRELATION
    n_train: int = 200_000
    n_validation_episodes: int = 50
    validation_episode_length: int = 1000
    n_test: int = 100_000
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.bidders or not all(isinstance(b, SyntheticCampaign) for b in self.bidders):
            raise PapergymError(f"bidders must be a non-empty tuple of SyntheticCampaign, got {self.bidders!r}")
        require_real("value_correlation", self.value_correlation, low=0.0, high=1.0)
        for name in ("n_train", "n_validation_episodes", "validation_episode_length", "n_test"):
            require_int(name, getattr(self, name), low=1)
        require_int("seed", self.seed, low=0)

    @classmethod
    def symmetric(cls, n_bidders: int = 3, **kwargs: Any) -> SyntheticMarket:
        """``n_bidders`` bidders with the default synthetic campaign model."""
        n_bidders = require_int("n_agents", n_bidders, low=1)
        return cls(bidders=(SyntheticCampaign(),) * n_bidders, **kwargs)

    def build(self) -> AuctionMarket:
        return _build_market(self)

    def draw(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``size`` requests: phantom prices (size,), pctrs and clicks (bidders, size)."""
        common = rng.standard_normal(size)
        price_noise = rng.standard_normal(size)
        own = rng.standard_normal((len(self.bidders), size))
        shared = self.value_correlation
        quality = np.sqrt(shared) * common + np.sqrt(1.0 - shared) * own
        sigmas = np.array([bidder.pctr_log_sd for bidder in self.bidders])[:, None]
        ctrs = np.array([bidder.ctr for bidder in self.bidders])[:, None]
        pctrs = np.minimum(1.0, ctrs * np.exp(sigmas * quality - 0.5 * sigmas**2))
        market = self.bidders[0]
        correlation = market.price_pctr_correlation
        log_prices = market.price_log_mean + market.price_log_sd * (
            correlation * common + np.sqrt(1.0 - correlation**2) * price_noise)
        prices = np.minimum(MAX_PRICE, np.floor(np.exp(log_prices))).astype(np.int64)
        clicks = (rng.random(pctrs.shape) < pctrs).astype(np.int8)
        return prices, pctrs, clicks


@functools.lru_cache(maxsize=8)
def _build_market(recipe: SyntheticMarket) -> AuctionMarket:
    generators = [np.random.default_rng(stream) for stream in np.random.SeedSequence(recipe.seed).spawn(3)]
    length = recipe.validation_episode_length
    sizes = {"train": recipe.n_train, "validation": recipe.n_validation_episodes * length, "test": recipe.n_test}
    starts = {"train": np.zeros(1, dtype=np.int64), "test": np.zeros(1, dtype=np.int64),
              "validation": np.arange(recipe.n_validation_episodes, dtype=np.int64) * length}
    views: list[dict[str, BidLog]] = [{} for _ in recipe.bidders]
    for generator, split in zip(generators, ("train", "validation", "test")):
        prices, pctrs, clicks = recipe.draw(generator, sizes[split])
        for index, view in enumerate(views):
            view[split] = BidLog(clicks[index], prices, pctrs[index], starts[split])
    campaigns = tuple(
        Campaign(name=f"{bidder.name}-{index}", logs=view, **statistics_from_log(view["train"]))
        for index, (bidder, view) in enumerate(zip(recipe.bidders, views)))
    return AuctionMarket(campaigns, recipe=recipe)
