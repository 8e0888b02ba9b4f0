"""Advertising campaigns for the bidding environment: bid logs, training statistics and their loaders.

A campaign is what the paper's bidder knows before the test period (the training statistics: number of
impressions, clicks and total cost, and the histogram of market prices) plus one or more *bid logs*:
sequences of auction requests ``(click, market_price, pctr)`` in time order. A log is made of
*segments*, contiguous pieces of time (the whole test log is one segment; each block of a validation
file is one), and episodes never straddle two segments.

Two file formats of the iPinYou campaigns, as pre-processed for the paper, are read:

* ``episodes-<T>.txt``: a header line ``<dim>\\t<T>``, then blocks of a line with the episode number
  (1, 2, ...) and T lines ``<click>\\t<market_price>\\t<pctr>``;
* ``test.theta.txt``: the whole test log, lines ``<click> <market_price> <pctr>``.

A campaign folder holds ``info.json`` (the training statistics) and either or both log files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from papergym.core.errors import PapergymError

#: Highest market price and bid of the iPinYou logs (the price unit is the CNY fen per mille).
MAX_PRICE = 300

INFO_FILE = "info.json"
TEST_LOG_FILE = "test.theta.txt"
VALIDATION_FILE_PATTERN = "episodes-*.txt"


@dataclass(frozen=True, eq=False)
class BidLog:
    """Auction requests in time order, cut into contiguous segments.

    ``clicks`` (0/1), ``prices`` (integer market prices) and ``pctrs`` have one entry per request;
    ``segment_starts`` holds the index of each segment's first request (the first is 0).
    """

    clicks: np.ndarray
    prices: np.ndarray
    pctrs: np.ndarray
    segment_starts: np.ndarray

    def __post_init__(self) -> None:
        size = len(self.prices)
        if size == 0:
            raise PapergymError("a bid log needs at least one request, got an empty log")
        if len(self.clicks) != size or len(self.pctrs) != size:
            raise PapergymError(f"clicks, prices and pctrs must have equal lengths, got {len(self.clicks)}, "
                             f"{size} and {len(self.pctrs)}")
        starts = self.segment_starts
        if len(starts) == 0 or starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= size:
            raise PapergymError(f"segment_starts must increase strictly from 0 and stay below {size}, "
                             f"got {starts.tolist()}")

    @classmethod
    def from_arrays(cls, clicks: Any, prices: Any, pctrs: Any, segment_starts: Any = (0,)) -> BidLog:
        """A log from array-likes (validated: clicks in {0, 1}, prices >= 0 integers, pctrs in [0, 1])."""
        clicks = np.asarray(clicks)
        prices = np.asarray(prices)
        pctrs = np.asarray(pctrs, dtype=np.float64)
        if clicks.ndim != 1 or not np.all((clicks == 0) | (clicks == 1)):
            raise PapergymError("clicks must be a 1-D array of 0/1 values")
        if prices.ndim != 1 or not np.all(np.isfinite(prices)) or np.any(prices < 0) \
                or np.any(prices != np.round(prices)):
            raise PapergymError("prices must be a 1-D array of non-negative integers")
        if pctrs.ndim != 1 or not np.all((pctrs >= 0.0) & (pctrs <= 1.0)):
            raise PapergymError("pctrs must be a 1-D array of probabilities in [0, 1]")
        return cls(clicks.astype(np.int8), prices.astype(np.int64), pctrs,
                   np.asarray(segment_starts, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.prices)

    @property
    def segment_ends(self) -> np.ndarray:
        return np.append(self.segment_starts[1:], len(self))

    @property
    def n_segments(self) -> int:
        return len(self.segment_starts)

    def episodes(self, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """The paper's evaluation episodes: each segment cut into consecutive pieces of ``horizon`` requests.

        Returns ``(starts, ends)``; a segment's last piece may be shorter than ``horizon``.
        """
        starts, ends = [], []
        for first, end in zip(self.segment_starts, self.segment_ends):
            piece_starts = np.arange(first, end, horizon)
            starts.append(piece_starts)
            ends.append(np.minimum(piece_starts + horizon, end))
        return np.concatenate(starts), np.concatenate(ends)

    def random_episodes(self, rng: np.random.Generator, horizon: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` training episodes starting uniformly at random among the starts that keep a whole
        episode inside one segment (a segment shorter than ``horizon`` offers its first request only)."""
        lengths = self.segment_ends - self.segment_starts
        choices = np.maximum(lengths - horizon, 0) + 1
        draws = rng.integers(int(choices.sum()), size=count)
        segment = np.searchsorted(np.cumsum(choices), draws, side="right")
        offsets = draws - (np.cumsum(choices) - choices)[segment]
        starts = self.segment_starts[segment] + offsets
        return starts, np.minimum(starts + horizon, self.segment_ends[segment])

    def select_segments(self, indices: Any) -> BidLog:
        """A new log made of the given segments (in the given order), e.g. some validation episodes."""
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size == 0 or np.any(indices < 0) or np.any(indices >= self.n_segments):
            raise PapergymError(f"segment indices must lie in [0, {self.n_segments - 1}], got {indices.tolist()}")
        pieces = [np.arange(self.segment_starts[i], self.segment_ends[i]) for i in indices]
        rows = np.concatenate(pieces)
        starts = np.cumsum([0] + [len(piece) for piece in pieces[:-1]])
        return BidLog(self.clicks[rows], self.prices[rows], self.pctrs[rows], starts.astype(np.int64))


@dataclass(frozen=True, eq=False)
class Campaign:
    """A campaign's training statistics and its bid logs by split name (``"train"``, ``"validation"``,
    ``"test"``...).

    The quantities the paper derives from the training log are properties: ``cpm`` (average market price
    of a won impression, cost_train / imp_train), ``theta_avg`` (clk_train / imp_train), ``cpc``
    (cost_train / clk_train) and ``market_price_pdf`` (the add-one-smoothed price histogram).
    """

    name: str
    imp_train: int
    clk_train: int
    cost_train: int
    price_counter_train: np.ndarray
    logs: dict[str, BidLog] = field(default_factory=dict)
    #: For a synthetic campaign, how to rebuild it (pickles stay small); None for logged data.
    recipe: Any = None

    def __post_init__(self) -> None:
        counts = np.asarray(self.price_counter_train)
        if counts.shape != (MAX_PRICE + 1,) or np.any(counts < 0):
            raise PapergymError(f"price_counter_train must hold {MAX_PRICE + 1} non-negative counts, "
                             f"got shape {counts.shape}")
        for key in ("imp_train", "clk_train", "cost_train"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise PapergymError(f"{key} must be a non-negative integer, got {value!r}")
        if self.imp_train == 0 or self.clk_train == 0:
            raise PapergymError(f"imp_train and clk_train must be positive, got {self.imp_train} and "
                             f"{self.clk_train}")

    def __reduce_ex__(self, protocol):
        if self.recipe is not None:
            return (self.recipe.build, ())
        return super().__reduce_ex__(protocol)

    @property
    def cpm(self) -> float:
        return self.cost_train / self.imp_train

    @property
    def theta_avg(self) -> float:
        return self.clk_train / self.imp_train

    @property
    def cpc(self) -> float:
        return self.cost_train / self.clk_train

    @property
    def market_price_pdf(self) -> np.ndarray:
        """m(delta) = (n_delta + 1) / (sum(n) + 301) for delta = 0..300."""
        counts = np.asarray(self.price_counter_train, dtype=np.float64)
        return (counts + 1.0) / (counts.sum() + counts.size)

    def budget(self, horizon: int, c0: float) -> int:
        """The paper's episode budget B = int(cost_train / imp_train * c0 * T)."""
        return int(self.cpm * c0 * horizon)

    def log(self, split: str) -> BidLog:
        if split not in self.logs:
            raise PapergymError(f"split must be one of the campaign's logs {sorted(self.logs)}, got {split!r}")
        return self.logs[split]

    def default_split(self) -> str:
        """The log an environment plays unless told: train, else validation, else test."""
        for split in ("train", "validation", "test"):
            if split in self.logs:
                return split
        raise PapergymError(f"campaign {self.name!r} has no bid log")

    def with_logs(self, **logs: BidLog) -> Campaign:
        """The same statistics with other logs (e.g. validation episodes split into tune/test halves)."""
        return replace(self, logs=dict(logs), recipe=None)


# --- loaders -----------------------------------------------------------------------------------------

def load_campaign(source: str | Path | Campaign) -> Campaign:
    """``"synthetic"`` (the built-in campaign), a ``Campaign``, or the path of an iPinYou campaign folder."""
    if isinstance(source, Campaign):
        return source
    if isinstance(source, str) and source == "synthetic":
        from papergym.envs.rtb.synthetic import default_synthetic_campaign

        return default_synthetic_campaign()
    if isinstance(source, (str, Path)):
        return read_campaign_folder(Path(source))
    raise PapergymError(f"campaign must be 'synthetic', a Campaign or a folder path, got {source!r}")


def read_campaign_folder(folder: Path) -> Campaign:
    """A campaign from a folder with ``info.json`` and ``episodes-<T>.txt`` and/or ``test.theta.txt``."""
    folder = Path(folder)
    if not (folder / INFO_FILE).is_file():
        raise PapergymError(f"campaign folder {str(folder)!r} has no {INFO_FILE}")
    info = read_info(folder / INFO_FILE)
    logs: dict[str, BidLog] = {}
    validation_files = sorted(folder.glob(VALIDATION_FILE_PATTERN))
    if validation_files:
        logs["validation"] = read_episodes_file(validation_files[0])
    if (folder / TEST_LOG_FILE).is_file():
        logs["test"] = read_theta_log(folder / TEST_LOG_FILE)
    if not logs:
        raise PapergymError(f"campaign folder {str(folder)!r} has neither {VALIDATION_FILE_PATTERN} nor "
                         f"{TEST_LOG_FILE}")
    return Campaign(name=folder.name, logs=logs, **info)


def read_info(path: Path) -> dict[str, Any]:
    """The training statistics of ``info.json`` (imp/clk/cost_train and price_counter_train)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise PapergymError(f"{path}: not valid JSON ({error})") from None
    keys = ("imp_train", "clk_train", "cost_train", "price_counter_train")
    missing = [key for key in keys if key not in data]
    if missing:
        raise PapergymError(f"{path}: missing keys {missing}")
    counts = data["price_counter_train"]
    if not isinstance(counts, list) or len(counts) != MAX_PRICE + 1 \
            or not all(isinstance(c, int) and c >= 0 for c in counts):
        raise PapergymError(f"{path}: price_counter_train must be {MAX_PRICE + 1} non-negative integers")
    for key in keys[:3]:
        if not isinstance(data[key], int) or data[key] < 0:
            raise PapergymError(f"{path}: {key} must be a non-negative integer, got {data[key]!r}")
    return {"imp_train": data["imp_train"], "clk_train": data["clk_train"], "cost_train": data["cost_train"],
            "price_counter_train": np.asarray(counts, dtype=np.int64)}


def _parse_record(path: Path, number: int, line: str) -> tuple[int, int, float]:
    """One ``click price pctr`` line; ``PapergymError`` naming the file and line otherwise."""
    fields = line.split()
    where = f"{path}, line {number}"
    if len(fields) != 3:
        raise PapergymError(f"{where}: expected '<click> <market_price> <pctr>', got {line!r}")
    click, price, pctr = fields
    if click not in ("0", "1"):
        raise PapergymError(f"{where}: click must be 0 or 1, got {click!r}")
    if not price.isdigit():
        raise PapergymError(f"{where}: market price must be a non-negative integer, got {price!r}")
    try:
        probability = float(pctr)
    except ValueError:
        raise PapergymError(f"{where}: pctr must be a number, got {pctr!r}") from None
    if not 0.0 <= probability <= 1.0:  # also rejects nan
        raise PapergymError(f"{where}: pctr must be a probability in [0, 1], got {pctr!r}")
    return int(click), int(price), probability


def _as_log(path: Path, records: list[tuple[int, int, float]], segment_starts: list[int]) -> BidLog:
    if not records:
        raise PapergymError(f"{path}: no auction records")
    clicks, prices, pctrs = zip(*records)
    return BidLog(np.array(clicks, dtype=np.int8), np.array(prices, dtype=np.int64),
                  np.array(pctrs, dtype=np.float64), np.array(segment_starts, dtype=np.int64))


def read_theta_log(path: Path) -> BidLog:
    """A whole log in time order, lines ``<click> <market_price> <pctr>`` (one segment)."""
    path = Path(path)
    with path.open() as handle:
        records = [_parse_record(path, number, line) for number, line in enumerate(handle, start=1)
                   if line.strip()]
    return _as_log(path, records, [0])


def read_episodes_file(path: Path) -> BidLog:
    """Validation episodes: header ``<dim>\\t<T>``, then blocks of an episode number and T records.

    Each block is one segment of the returned log.
    """
    path = Path(path)
    with path.open() as handle:
        lines = handle.read().splitlines()
    header = lines[0].split() if lines else []
    if len(header) != 2 or not all(part.isdigit() for part in header) or int(header[1]) < 1:
        raise PapergymError(f"{path}, line 1: expected the header '<dim>\\t<T>' with integers, got "
                         f"{lines[0] if lines else ''!r}")
    horizon = int(header[1])
    records: list[tuple[int, int, float]] = []
    segment_starts: list[int] = []
    number = 1
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.strip():
            continue
        expected = len(segment_starts) + 1
        if line.strip() != str(expected):
            raise PapergymError(f"{path}, line {number}: expected the episode number {expected}, got {line!r}")
        block = lines[number:number + horizon]
        if len(block) < horizon:
            raise PapergymError(f"{path}, line {number}: episode {expected} has {len(block)} records, "
                             f"the header says T = {horizon}")
        segment_starts.append(len(records))
        records.extend(_parse_record(path, number + 1 + offset, text) for offset, text in enumerate(block))
        number += horizon
    return _as_log(path, records, segment_starts)


def price_counts(prices: np.ndarray) -> np.ndarray:
    """The histogram of won market prices over 0..300 (prices above 300 are counted at 300)."""
    return np.bincount(np.minimum(prices, MAX_PRICE), minlength=MAX_PRICE + 1).astype(np.int64)


def statistics_from_log(log: BidLog) -> dict[str, Any]:
    """The training statistics of a log in which every request was won (as iPinYou's training logs)."""
    return {"imp_train": len(log), "clk_train": int(log.clicks.sum()),
            "cost_train": int(log.prices.sum()), "price_counter_train": price_counts(log.prices)}

